//! Tests of the lifecycle: the transition table per role, preconditions, messages, and
//! the derivation of the state from concurrent records.

use super::*;
use crate::api::Role;
use crate::id_number::Date;
use crate::ids::UserId;
use LifecycleState as S;
use Transition as T;

const ROLES: [Role; 4] = [Role::Verifier, Role::Supervisor, Role::Bureau, Role::Admin];

fn d(y: u16, m: u8, day: u8) -> Date {
    Date::new(y, m, day).unwrap()
}

/// Facts under which every precondition holds.
fn all_met() -> Preconditions {
    Preconditions {
        today: d(2026, 3, 20),
        investigation_signed: true,
        neighbour_visits_signed: 2,
        deliberation_recorded: true,
        unresolved_conflicts: 0,
        notice_start: Some(d(2026, 3, 1)),
        notice_days: 7,
        open_objections: 0,
        recheck_signed: true,
        comment: "依据调查结果".to_string(),
    }
}

/// The procedure as DOMAIN.md describes it, written out independently of the code's
/// table: (transition, from states, target, roles).
fn expected_table() -> Vec<(Transition, Vec<LifecycleState>, LifecycleState, Vec<Role>)> {
    use Role::{Bureau as B, Supervisor as Sup, Verifier as V};
    vec![
        (T::Accept, vec![S::Applied], S::Accepted, vec![Sup]),
        (
            T::GrantUrgentAid,
            vec![S::Applied, S::Accepted],
            S::UrgentAid,
            vec![Sup, B],
        ),
        (
            T::StartInvestigation,
            vec![S::Accepted, S::UrgentAid],
            S::Investigation,
            vec![V, Sup],
        ),
        (
            T::CompleteInvestigation,
            vec![S::Investigation],
            S::NeighbourVisits,
            vec![V],
        ),
        (
            T::CompleteNeighbourVisits,
            vec![S::NeighbourVisits],
            S::Deliberation,
            vec![V],
        ),
        (
            T::CompleteDeliberation,
            vec![S::Deliberation],
            S::StreetReview,
            vec![V, Sup],
        ),
        (
            T::StreetApprove,
            vec![S::StreetReview],
            S::PublicNotice,
            vec![Sup],
        ),
        (
            T::ReturnToInvestigation,
            vec![
                S::NeighbourVisits,
                S::Deliberation,
                S::StreetReview,
                S::PublicNotice,
            ],
            S::Investigation,
            vec![Sup],
        ),
        (
            T::CloseNotice,
            vec![S::PublicNotice],
            S::BureauDecision,
            vec![Sup],
        ),
        (T::Approve, vec![S::BureauDecision], S::Active, vec![B]),
        (T::Reject, vec![S::BureauDecision], S::Rejected, vec![B]),
        (
            T::BureauReturn,
            vec![S::BureauDecision],
            S::Investigation,
            vec![B],
        ),
        (
            T::StartRecheck,
            vec![S::Active, S::Adjusted],
            S::Recheck,
            vec![V, Sup],
        ),
        (
            T::ConfirmUnchanged,
            vec![S::Recheck],
            S::Active,
            vec![Sup, B],
        ),
        (T::Adjust, vec![S::Recheck], S::Adjusted, vec![B]),
        (
            T::Exit,
            vec![S::Active, S::Recheck, S::Adjusted],
            S::Exited,
            vec![B],
        ),
    ]
}

#[test]
fn every_state_transition_and_role_is_allowed_or_refused_as_the_procedure_says() {
    let table = expected_table();
    assert_eq!(table.len(), Transition::ALL.len());
    let facts = all_met();
    let mut allowed = 0;
    for state in LifecycleState::ALL {
        for (t, froms, target, roles) in &table {
            for role in ROLES {
                let got = transition(state, *t, role, &facts);
                if !froms.contains(&state) {
                    assert_eq!(
                        got,
                        Err(TransitionError::InvalidFromState {
                            state,
                            transition: *t
                        }),
                        "{state:?} {t:?} {role:?}"
                    );
                } else if !roles.contains(&role) {
                    assert_eq!(
                        got,
                        Err(TransitionError::RoleNotAllowed {
                            role,
                            transition: *t
                        }),
                        "{state:?} {t:?} {role:?}"
                    );
                } else {
                    assert_eq!(got, Ok(*target), "{state:?} {t:?} {role:?}");
                    allowed += 1;
                }
            }
        }
    }
    // Sum over the table of |from states| × |roles|.
    assert_eq!(
        allowed,
        1 + 4 + 4 + 1 + 1 + 2 + 1 + 4 + 1 + 1 + 1 + 1 + 4 + 2 + 1 + 3
    );
}

#[test]
fn the_it_admin_makes_no_transition_and_final_states_have_none() {
    for t in Transition::ALL {
        assert!(!t.allowed_roles().contains(&Role::Admin), "{t:?}");
    }
    let finals: Vec<_> = LifecycleState::ALL
        .into_iter()
        .filter(|s| s.is_final())
        .collect();
    assert_eq!(finals, [S::Exited, S::Rejected]);
    assert_eq!(
        S::Recheck.transitions(),
        [T::ConfirmUnchanged, T::Adjust, T::Exit]
    );
    // Every state but the start is reachable.
    for s in LifecycleState::ALL {
        let reachable = s == S::INITIAL || Transition::ALL.iter().any(|t| t.target() == s);
        assert!(reachable, "{s:?}");
    }
}

#[test]
fn codes_and_labels_round_trip_and_are_unique() {
    let mut codes = std::collections::BTreeSet::new();
    let mut labels = std::collections::BTreeSet::new();
    for s in LifecycleState::ALL {
        assert_eq!(LifecycleState::from_code(s.code()), Some(s));
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            format!("\"{}\"", s.code())
        );
        assert!(codes.insert(s.code()));
        assert!(labels.insert(s.label_zh()));
    }
    for t in Transition::ALL {
        assert_eq!(Transition::from_code(t.code()), Some(t));
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            format!("\"{}\"", t.code())
        );
    }
    assert_eq!(LifecycleState::from_code("nonsense"), None);
}

#[test]
fn case_status_keeps_the_codes_existing_documents_hold() {
    use crate::case::CaseStatus;
    assert_eq!(CaseStatus::Applied.code(), "applied");
    assert_eq!(CaseStatus::from_code("applied"), Some(CaseStatus::Applied));
    assert_eq!(CaseStatus::Applied.label_zh(), "申请");
    assert_eq!(CaseStatus::INITIAL, CaseStatus::Applied);
    assert_eq!(
        CaseStatus::from_code("active").map(|s| s.label_zh()),
        Some("在保")
    );
}

fn refused(t: Transition, state: LifecycleState, role: Role, facts: &Preconditions) -> Unmet {
    match transition(state, t, role, facts) {
        Err(TransitionError::PreconditionUnmet { transition, unmet }) => {
            assert_eq!(transition, t);
            unmet
        }
        other => panic!("{t:?} from {state:?}: expected a precondition failure, got {other:?}"),
    }
}

#[test]
fn investigation_needs_signatures_and_neighbour_visits_need_one_visit() {
    let mut facts = all_met();
    facts.investigation_signed = false;
    assert_eq!(
        refused(
            T::CompleteInvestigation,
            S::Investigation,
            Role::Verifier,
            &facts
        ),
        Unmet::InvestigationNotSigned
    );
    facts.neighbour_visits_signed = 0;
    assert_eq!(
        refused(
            T::CompleteNeighbourVisits,
            S::NeighbourVisits,
            Role::Verifier,
            &facts
        ),
        Unmet::NoNeighbourVisit
    );
    facts.neighbour_visits_signed = 1;
    assert_eq!(
        transition(
            T::CompleteNeighbourVisits.from_states()[0],
            T::CompleteNeighbourVisits,
            Role::Verifier,
            &facts
        ),
        Ok(S::Deliberation)
    );
}

#[test]
fn no_street_review_without_deliberation_signed_investigation_and_resolved_conflicts() {
    let mut facts = all_met();
    facts.deliberation_recorded = false;
    assert_eq!(
        refused(
            T::CompleteDeliberation,
            S::Deliberation,
            Role::Verifier,
            &facts
        ),
        Unmet::DeliberationNotRecorded
    );
    let mut facts = all_met();
    facts.investigation_signed = false;
    assert_eq!(
        refused(
            T::CompleteDeliberation,
            S::Deliberation,
            Role::Supervisor,
            &facts
        ),
        Unmet::InvestigationNotSigned
    );
    assert_eq!(
        refused(T::StreetApprove, S::StreetReview, Role::Supervisor, &facts),
        Unmet::InvestigationNotSigned
    );
    let mut facts = all_met();
    facts.unresolved_conflicts = 2;
    assert_eq!(
        refused(
            T::CompleteDeliberation,
            S::Deliberation,
            Role::Verifier,
            &facts
        ),
        Unmet::UnresolvedConflicts { count: 2 }
    );
    assert_eq!(
        refused(T::StreetApprove, S::StreetReview, Role::Supervisor, &facts),
        Unmet::UnresolvedConflicts { count: 2 }
    );
    assert_eq!(
        refused(T::Approve, S::BureauDecision, Role::Bureau, &facts),
        Unmet::UnresolvedConflicts { count: 2 }
    );
    // Returning a case for more investigation is possible whatever the conflicts.
    assert_eq!(
        transition(
            S::StreetReview,
            T::ReturnToInvestigation,
            Role::Supervisor,
            &facts
        ),
        Ok(S::Investigation)
    );
}

#[test]
fn the_public_notice_must_last_its_configured_days_without_open_objections() {
    let mut facts = all_met();
    facts.notice_start = None;
    assert_eq!(
        refused(T::CloseNotice, S::PublicNotice, Role::Supervisor, &facts),
        Unmet::NoticeNotPosted
    );
    // Posted on 2026-03-01 for 7 days: 03-01 .. 03-07; the earliest close is 03-08.
    facts.notice_start = Some(d(2026, 3, 1));
    facts.today = d(2026, 3, 7);
    assert_eq!(
        refused(T::CloseNotice, S::PublicNotice, Role::Supervisor, &facts),
        Unmet::NoticeTooShort {
            elapsed: 6,
            required: 7
        }
    );
    assert_eq!(
        refused(T::Approve, S::BureauDecision, Role::Bureau, &facts),
        Unmet::NoticeTooShort {
            elapsed: 6,
            required: 7
        }
    );
    facts.today = d(2026, 3, 8);
    assert_eq!(
        transition(S::PublicNotice, T::CloseNotice, Role::Supervisor, &facts),
        Ok(S::BureauDecision)
    );
    // A configured 10-day notice across the end of February (2028 is a leap year).
    facts.notice_days = 10;
    facts.notice_start = Some(d(2028, 2, 25));
    facts.today = d(2028, 3, 5);
    assert_eq!(
        refused(T::CloseNotice, S::PublicNotice, Role::Supervisor, &facts),
        Unmet::NoticeTooShort {
            elapsed: 9,
            required: 10
        }
    );
    facts.today = d(2028, 3, 6);
    assert!(transition(S::PublicNotice, T::CloseNotice, Role::Supervisor, &facts).is_ok());
    // A notice dated in the future (wrong clock) has lasted 0 days, not a negative number.
    facts.today = d(2028, 2, 20);
    assert_eq!(
        refused(T::CloseNotice, S::PublicNotice, Role::Supervisor, &facts),
        Unmet::NoticeTooShort {
            elapsed: 0,
            required: 10
        }
    );
    let mut facts = all_met();
    facts.open_objections = 1;
    assert_eq!(
        refused(T::CloseNotice, S::PublicNotice, Role::Supervisor, &facts),
        Unmet::OpenObjections { count: 1 }
    );
}

#[test]
fn rejections_returns_exits_adjustments_and_urgent_aid_need_a_reason() {
    let mut facts = all_met();
    facts.comment = "  ".to_string();
    for t in Transition::ALL {
        let from = t.from_states()[0];
        let role = t.allowed_roles()[0];
        let got = transition(from, t, role, &facts);
        if t.needs_reason() {
            assert_eq!(
                got,
                Err(TransitionError::PreconditionUnmet {
                    transition: t,
                    unmet: Unmet::ReasonRequired
                }),
                "{t:?}"
            );
        } else {
            assert_eq!(got, Ok(t.target()), "{t:?}");
        }
    }
    assert_eq!(
        Transition::ALL.iter().filter(|t| t.needs_reason()).count(),
        6
    );
}

#[test]
fn recheck_outcomes_need_a_signed_recheck() {
    let mut facts = all_met();
    facts.recheck_signed = false;
    assert_eq!(
        refused(T::ConfirmUnchanged, S::Recheck, Role::Supervisor, &facts),
        Unmet::RecheckNotSigned
    );
    assert_eq!(
        refused(T::Adjust, S::Recheck, Role::Bureau, &facts),
        Unmet::RecheckNotSigned
    );
    // Exit needs only its reason (a recipient who died or moved away).
    assert_eq!(
        transition(S::Active, T::Exit, Role::Bureau, &facts),
        Ok(S::Exited)
    );
}

#[test]
fn errors_say_in_chinese_which_rule_failed() {
    let facts = all_met();
    let e = transition(S::Applied, T::Approve, Role::Bureau, &facts).unwrap_err();
    assert_eq!(e.message_zh(), "案件当前处于“申请”，不能执行“审批通过”");
    let e = transition(S::BureauDecision, T::Approve, Role::Supervisor, &facts).unwrap_err();
    assert_eq!(e.message_zh(), "街道审核员无权执行“审批通过”（仅限民政局）");
    let e = transition(
        S::Deliberation,
        T::CompleteDeliberation,
        Role::Admin,
        &facts,
    )
    .unwrap_err();
    assert_eq!(
        e.message_zh(),
        "系统管理员无权执行“完成群众评议”（仅限核查员、街道审核员）"
    );
    let mut facts = all_met();
    facts.today = d(2026, 3, 5);
    let e = transition(S::PublicNotice, T::CloseNotice, Role::Supervisor, &facts).unwrap_err();
    assert_eq!(
        e.message_zh(),
        "不能执行“公示期满报批”：公示期未满：已公示4天，须满7天"
    );
    facts.comment.clear();
    let e = transition(S::BureauDecision, T::Reject, Role::Bureau, &facts).unwrap_err();
    assert_eq!(e.message_zh(), "不能执行“审批驳回”：请填写理由");
    facts.unresolved_conflicts = 1;
    let e = transition(S::StreetReview, T::StreetApprove, Role::Supervisor, &facts).unwrap_err();
    assert_eq!(
        e.message_zh(),
        "不能执行“街道审核通过”：案件还有1处冲突未解决，请先处理冲突"
    );
}

// ---- history and derivation ----

fn user(n: u8) -> UserId {
    UserId::from_random_bytes([n; 16])
}

const VERIFIER: u8 = 1;
const SUPERVISOR: u8 = 2;
const BUREAU: u8 = 3;

fn actor(seq: u8, who: u8, at_ms: i64) -> Actor {
    let mut bytes = [seq; 16];
    bytes[0] = who;
    Actor {
        id: RecordId::from_random_bytes(bytes),
        user: user(who),
        role: match who {
            VERIFIER => Role::Verifier,
            SUPERVISOR => Role::Supervisor,
            BUREAU => Role::Bureau,
            _ => Role::Admin,
        },
        at_ms,
    }
}

/// A device's view: the records it holds, and a counter for record ids and times.
struct Device {
    records: Vec<LifecycleRecord>,
    seq: u8,
}

impl Device {
    fn new() -> Self {
        Self {
            records: Vec::new(),
            seq: 0,
        }
    }

    fn derived(&self) -> Derived {
        derive(&self.records)
    }

    fn make(&mut self, who: u8, t: Transition, facts: &Preconditions) -> RecordId {
        self.try_make(who, t, facts).unwrap()
    }

    fn try_make(
        &mut self,
        who: u8,
        t: Transition,
        facts: &Preconditions,
    ) -> Result<RecordId, ProposeError> {
        self.seq += 1;
        let a = actor(self.seq, who, 1_000 * i64::from(self.seq));
        let record = propose(&self.derived(), t, &a, facts)?;
        let id = record.id;
        self.records.push(LifecycleRecord::Transition(record));
        Ok(id)
    }

    /// Both devices now hold the union (what an Automerge merge of the record map gives).
    fn merge(&mut self, other: &Device) {
        for r in &other.records {
            if !self.records.contains(r) {
                self.records.push(r.clone());
            }
        }
        self.seq = self.seq.max(other.seq);
    }

    fn clone_device(&self, seq_offset: u8) -> Device {
        Device {
            records: self.records.clone(),
            seq: self.seq + seq_offset,
        }
    }
}

/// A case from application to the deliberation, as one device made it.
fn to_deliberation() -> Device {
    let facts = all_met();
    let mut dev = Device::new();
    dev.make(SUPERVISOR, T::Accept, &facts);
    dev.make(VERIFIER, T::StartInvestigation, &facts);
    dev.make(VERIFIER, T::CompleteInvestigation, &facts);
    dev.make(VERIFIER, T::CompleteNeighbourVisits, &facts);
    assert_eq!(dev.derived().state, S::Deliberation);
    dev
}

#[test]
fn a_case_goes_from_application_to_approval_and_through_rechecks_to_exit() {
    let facts = all_met();
    let mut dev = to_deliberation();
    dev.make(VERIFIER, T::CompleteDeliberation, &facts);
    dev.make(SUPERVISOR, T::StreetApprove, &facts);
    dev.make(SUPERVISOR, T::CloseNotice, &facts);
    dev.make(BUREAU, T::Approve, &facts);
    // Two re-check cycles: the same states repeat; `prev` keeps them apart.
    dev.make(VERIFIER, T::StartRecheck, &facts);
    dev.make(SUPERVISOR, T::ConfirmUnchanged, &facts);
    dev.make(VERIFIER, T::StartRecheck, &facts);
    dev.make(BUREAU, T::Adjust, &facts);
    dev.make(SUPERVISOR, T::StartRecheck, &facts);
    dev.make(BUREAU, T::Exit, &facts);
    let derived = dev.derived();
    assert_eq!(derived.state, S::Exited);
    assert_eq!(derived.applied.len(), 14);
    assert!(derived.conflicts.is_empty());
    assert!(derived.set_aside.is_empty());
    assert_eq!(derived.head, Some(derived.applied[13]));
    // Nothing follows an exit.
    let e = dev.try_make(VERIFIER, T::StartRecheck, &facts).unwrap_err();
    assert_eq!(e.message_zh(), "案件当前处于“退出”，不能执行“开始动态复核”");
}

#[test]
fn the_urgent_path_grants_aid_first_and_the_formalities_follow() {
    let facts = all_met();
    let mut dev = Device::new();
    let e = dev
        .try_make(VERIFIER, T::GrantUrgentAid, &facts)
        .unwrap_err();
    assert!(matches!(
        e,
        ProposeError::Refused(TransitionError::RoleNotAllowed { .. })
    ));
    dev.make(SUPERVISOR, T::GrantUrgentAid, &facts);
    assert_eq!(dev.derived().state, S::UrgentAid);
    // No shortcut to review or decision: only the investigation leads on.
    assert_eq!(S::UrgentAid.transitions(), [T::StartInvestigation]);
    dev.make(VERIFIER, T::StartInvestigation, &facts);
    dev.make(VERIFIER, T::CompleteInvestigation, &facts);
    dev.make(VERIFIER, T::CompleteNeighbourVisits, &facts);
    dev.make(SUPERVISOR, T::CompleteDeliberation, &facts);
    dev.make(SUPERVISOR, T::StreetApprove, &facts);
    dev.make(SUPERVISOR, T::CloseNotice, &facts);
    dev.make(BUREAU, T::Reject, &facts);
    let derived = dev.derived();
    assert_eq!(derived.state, S::Rejected);
    // The aid stays in the history.
    let first = &dev.records[0];
    assert!(matches!(first, LifecycleRecord::Transition(t) if t.transition == T::GrantUrgentAid));
    assert_eq!(derived.applied[0], first.id());
}

#[test]
fn offline_return_and_completion_surface_as_a_conflict_a_supervisor_resolves() {
    let facts = all_met();
    let shared = to_deliberation();
    // The verifier's phone and the supervisor's tablet go offline with the same history.
    let mut phone = shared.clone_device(0);
    let mut tablet = shared.clone_device(50);
    let completed = phone.make(VERIFIER, T::CompleteDeliberation, &facts);
    let returned = tablet.make(SUPERVISOR, T::ReturnToInvestigation, &facts);
    // The phone keeps working on what it believes.
    phone.make(SUPERVISOR, T::StreetApprove, &facts);
    assert_eq!(phone.derived().state, S::PublicNotice);

    phone.merge(&tablet);
    tablet.merge(&phone);
    let derived = phone.derived();
    assert_eq!(derived, tablet.derived());
    assert_eq!(derived.state, S::Deliberation);
    assert_eq!(derived.conflicts.len(), 1);
    let conflict = &derived.conflicts[0];
    assert_eq!(conflict.from, S::Deliberation);
    assert_eq!(conflict.after, shared.derived().head);
    assert!(!conflict.bureau_only);
    assert_eq!(
        conflict.options,
        [
            ConflictOption {
                to: S::Investigation,
                records: vec![returned]
            },
            ConflictOption {
                to: S::StreetReview,
                records: vec![completed]
            },
        ]
    );
    // The street approval made behind the fork waits.
    assert_eq!(derived.set_aside.len(), 1);
    assert_eq!(derived.set_aside[0].reason, SetAsideReason::Unreached);

    // Nobody moves the case on while the fork is open.
    let e = tablet
        .try_make(SUPERVISOR, T::StreetApprove, &facts)
        .unwrap_err();
    assert_eq!(e, ProposeError::Conflicted);
    assert_eq!(
        e.message_zh(),
        "案件流程存在冲突，须先由街道审核员或民政局处理冲突"
    );
    // A verifier may not resolve it; an unknown record is no option.
    let a = actor(200, VERIFIER, 99_000);
    assert_eq!(
        resolve(&derived, returned, &a, "").unwrap_err(),
        ResolveError::RoleNotAllowed(Role::Verifier)
    );
    let a = actor(201, SUPERVISOR, 99_000);
    assert_eq!(
        resolve(&derived, a.id, &a, "").unwrap_err(),
        ResolveError::NotAnOption
    );
    let resolution = resolve(&derived, returned, &a, "材料不全，退回").unwrap();
    tablet
        .records
        .push(LifecycleRecord::Resolution(resolution.clone()));
    let derived = tablet.derived();
    assert_eq!(derived.state, S::Investigation);
    assert!(derived.conflicts.is_empty());
    assert_eq!(derived.resolutions, [resolution.id]);
    assert_eq!(derived.head, Some(returned));
    let reasons: Vec<_> = derived.set_aside.iter().map(|s| (s.id, s.reason)).collect();
    assert!(reasons.contains(&(completed, SetAsideReason::NotChosen)));
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    // Work continues from the chosen branch.
    tablet.make(VERIFIER, T::CompleteInvestigation, &facts);
    assert_eq!(tablet.derived().state, S::NeighbourVisits);
    assert!(resolve(&tablet.derived(), returned, &a, "").is_err());
}

#[test]
fn agreeing_offline_transitions_are_no_conflict_and_both_lines_continue() {
    let facts = all_met();
    let base = Device::new();
    let mut a = base.clone_device(0);
    let mut b = base.clone_device(50);
    let accept_a = a.make(SUPERVISOR, T::Accept, &facts);
    let accept_b = b.make(SUPERVISOR, T::Accept, &facts);
    // Device b goes on from its own acceptance.
    b.make(VERIFIER, T::StartInvestigation, &facts);
    a.merge(&b);
    let derived = a.derived();
    assert!(derived.conflicts.is_empty());
    assert_eq!(derived.state, S::Investigation);
    assert_eq!(derived.applied.len(), 3);
    assert_eq!(derived.applied[..2], [accept_a, accept_b]);
    assert!(derived.set_aside.is_empty());
}

#[test]
fn disagreeing_resolutions_stay_a_conflict_until_one_overrides_them() {
    let facts = all_met();
    let shared = to_deliberation();
    let mut phone = shared.clone_device(0);
    let mut tablet = shared.clone_device(50);
    let completed = phone.make(VERIFIER, T::CompleteDeliberation, &facts);
    let returned = tablet.make(SUPERVISOR, T::ReturnToInvestigation, &facts);
    phone.merge(&tablet);
    let derived = phone.derived();
    // Two resolvers, offline from each other, choose differently.
    let r1 = resolve(&derived, completed, &actor(210, SUPERVISOR, 50_000), "").unwrap();
    let r2 = resolve(&derived, returned, &actor(211, BUREAU, 51_000), "").unwrap();
    let mut records = phone.records.clone();
    records.push(LifecycleRecord::Resolution(r1.clone()));
    records.push(LifecycleRecord::Resolution(r2.clone()));
    let derived = derive(&records);
    assert_eq!(derived.state, S::Deliberation);
    assert_eq!(derived.conflicts[0].resolutions, [r1.id, r2.id]);
    // A third resolution that saw both settles it.
    let r3 = resolve(
        &derived,
        completed,
        &actor(212, BUREAU, 52_000),
        "以评议结果为准",
    )
    .unwrap();
    assert_eq!(r3.overrides, [r1.id, r2.id]);
    records.push(LifecycleRecord::Resolution(r3.clone()));
    let derived = derive(&records);
    assert_eq!(derived.state, S::StreetReview);
    assert_eq!(derived.resolutions, [r3.id]);
    assert!(derived.conflicts.is_empty());
}

#[test]
fn a_fork_over_a_bureau_decision_is_the_bureaus_to_resolve() {
    let facts = all_met();
    let mut dev = to_deliberation();
    dev.make(VERIFIER, T::CompleteDeliberation, &facts);
    dev.make(SUPERVISOR, T::StreetApprove, &facts);
    dev.make(SUPERVISOR, T::CloseNotice, &facts);
    let mut a = dev.clone_device(0);
    let mut b = dev.clone_device(50);
    let approved = a.make(BUREAU, T::Approve, &facts);
    b.make(BUREAU, T::Reject, &facts);
    a.merge(&b);
    let derived = a.derived();
    assert_eq!(derived.state, S::BureauDecision);
    assert!(derived.conflicts[0].bureau_only);
    let sup = actor(220, SUPERVISOR, 90_000);
    assert_eq!(
        resolve(&derived, approved, &sup, "").unwrap_err(),
        ResolveError::RoleNotAllowed(Role::Supervisor)
    );
    // A supervisor's resolution written anyway (e.g. by an old client) is set aside.
    let forged = ResolutionRecord {
        id: sup.id,
        chosen: approved,
        overrides: vec![],
        by_user: sup.user,
        by_role: Role::Supervisor,
        at_ms: 90_000,
        comment: String::new(),
    };
    a.records.push(LifecycleRecord::Resolution(forged));
    let derived = a.derived();
    assert_eq!(derived.state, S::BureauDecision);
    assert!(derived.set_aside.contains(&SetAside {
        id: sup.id,
        reason: SetAsideReason::RoleNotAllowed
    }));
    let bureau = actor(221, BUREAU, 91_000);
    let r = resolve(&derived, approved, &bureau, "").unwrap();
    a.records.push(LifecycleRecord::Resolution(r));
    assert_eq!(a.derived().state, S::Active);
}

#[test]
fn invalid_records_are_set_aside_with_their_reason() {
    let facts = all_met();
    let mut dev = Device::new();
    let accepted = dev.make(SUPERVISOR, T::Accept, &facts);
    let base = |seq: u8, t: Transition, from, to, role, prev| TransitionRecord {
        id: actor(seq, 9, 0).id,
        prev,
        from,
        to,
        transition: t,
        by_user: user(9),
        by_role: role,
        at_ms: 5_000,
        comment: String::new(),
    };
    // A verifier's "approval", a transition to the wrong state, a record claiming the
    // wrong `from`, a record after a set-aside one, and two different records sharing an id.
    let role = base(
        100,
        T::Approve,
        S::BureauDecision,
        S::Active,
        Role::Verifier,
        Some(accepted),
    );
    let bad_target = base(
        101,
        T::Accept,
        S::Applied,
        S::Active,
        Role::Supervisor,
        None,
    );
    let wrong_from = base(
        102,
        T::StartRecheck,
        S::Active,
        S::Recheck,
        Role::Verifier,
        Some(accepted),
    );
    let after_bad = base(
        103,
        T::StartInvestigation,
        S::Accepted,
        S::Investigation,
        Role::Verifier,
        Some(wrong_from.id),
    );
    let dup1 = base(
        104,
        T::StartInvestigation,
        S::Accepted,
        S::Investigation,
        Role::Verifier,
        Some(accepted),
    );
    let mut dup2 = dup1.clone();
    dup2.comment = "另一个".to_string();
    for r in [&role, &bad_target, &wrong_from, &after_bad, &dup1, &dup2] {
        dev.records.push(LifecycleRecord::Transition(r.clone()));
    }
    // The identical record twice is one record.
    dev.records.push(dev.records[0].clone());
    let derived = dev.derived();
    assert_eq!(derived.state, S::Accepted);
    assert_eq!(derived.applied, [accepted]);
    let mut expected = vec![
        SetAside {
            id: role.id,
            reason: SetAsideReason::RoleNotAllowed,
        },
        SetAside {
            id: bad_target.id,
            reason: SetAsideReason::InvalidTransition,
        },
        SetAside {
            id: wrong_from.id,
            reason: SetAsideReason::WrongFrom,
        },
        SetAside {
            id: after_bad.id,
            reason: SetAsideReason::Unreached,
        },
        SetAside {
            id: dup1.id,
            reason: SetAsideReason::DuplicateId,
        },
    ];
    expected.sort_by_key(|s| s.id);
    assert_eq!(derived.set_aside, expected);
    assert_eq!(SetAsideReason::NotChosen.label_zh(), "冲突处理时未被采纳");
}

/// Every permutation of `records` (up to 8 records: 40 320 orders) derives the same.
fn assert_order_independent(records: &[LifecycleRecord]) -> Derived {
    let expected = derive(records);
    let mut perm: Vec<LifecycleRecord> = records.to_vec();
    let n = perm.len();
    // Heap's algorithm.
    let mut c = vec![0usize; n];
    let mut i = 0;
    let mut count = 1;
    while i < n {
        if c[i] < i {
            if i % 2 == 0 {
                perm.swap(0, i);
            } else {
                perm.swap(c[i], i);
            }
            assert_eq!(derive(&perm), expected);
            count += 1;
            c[i] += 1;
            i = 0;
        } else {
            c[i] = 0;
            i += 1;
        }
    }
    assert_eq!(count, (1..=n).product::<usize>());
    expected
}

#[test]
fn the_same_records_in_any_order_derive_the_same_state() {
    let facts = all_met();
    // A straight history with an agreeing duplicate.
    let mut dev = to_deliberation();
    let mut other = Device::new();
    other.seq = 100;
    other.make(SUPERVISOR, T::Accept, &facts);
    dev.merge(&other);
    dev.make(VERIFIER, T::CompleteDeliberation, &facts);
    dev.make(SUPERVISOR, T::StreetApprove, &facts);
    let derived = assert_order_independent(&dev.records);
    assert_eq!(derived.state, S::PublicNotice);

    // A fork with work behind it, unresolved, then resolved.
    let shared = to_deliberation();
    let mut phone = shared.clone_device(0);
    let mut tablet = shared.clone_device(50);
    phone.make(VERIFIER, T::CompleteDeliberation, &facts);
    phone.make(SUPERVISOR, T::StreetApprove, &facts);
    let returned = tablet.make(SUPERVISOR, T::ReturnToInvestigation, &facts);
    phone.merge(&tablet);
    let derived = assert_order_independent(&phone.records);
    assert!(derived.has_conflict());
    let r = resolve(&derived, returned, &actor(230, SUPERVISOR, 70_000), "").unwrap();
    phone.records.push(LifecycleRecord::Resolution(r));
    let derived = assert_order_independent(&phone.records);
    assert_eq!(derived.state, S::Investigation);
}

#[test]
fn records_round_trip_through_json_with_their_kind() {
    let facts = all_met();
    let dev = to_deliberation();
    let record = &dev.records[0];
    let json = serde_json::to_value(record).unwrap();
    assert_eq!(json["kind"], "transition");
    assert_eq!(json["transition"], "accept");
    assert_eq!(json["from"], "applied");
    assert_eq!(json["to"], "accepted");
    assert_eq!(json["by_role"], "supervisor");
    assert_eq!(json["prev"], serde_json::Value::Null);
    let back: LifecycleRecord = serde_json::from_value(json).unwrap();
    assert_eq!(&back, record);

    let mut phone = dev.clone_device(0);
    let mut tablet = dev.clone_device(50);
    let chosen = phone.make(VERIFIER, T::CompleteDeliberation, &facts);
    tablet.make(SUPERVISOR, T::ReturnToInvestigation, &facts);
    phone.merge(&tablet);
    let r = resolve(&phone.derived(), chosen, &actor(240, BUREAU, 1), "同意").unwrap();
    let record = LifecycleRecord::Resolution(r);
    let text = serde_json::to_string(&record).unwrap();
    assert!(text.contains("\"kind\":\"resolution\""));
    assert_eq!(
        serde_json::from_str::<LifecycleRecord>(&text).unwrap(),
        record
    );
}
