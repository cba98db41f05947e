//! Tests of the lifecycle actions of the app core, over a real SQLite file in a temp dir
//! and real case documents: role checks with Chinese refusals, the view's history and
//! allowed steps, an offline conflict resolved by a supervisor, sections and re-checks.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use automerge::ActorId;
use hecha_shared::api::Role;
use hecha_shared::app_api::{
    DeliberationRequest, ErrorCode, NoticeRequest, ObjectionHandlingRequest, ObjectionRequest,
    RecheckCategoryRequest, ResolveLifecycleRequest, SpotCheckRequest, TransitionRequest,
};
use hecha_shared::case::lifecycle_doc::{self as ld, Representative};
use hecha_shared::case::{ApplicantForm, CaseForm, ChangeNote};
use hecha_shared::lifecycle::{
    Actor, LifecycleRecord, LifecycleState as S, RecordId, Transition as T, TransitionRecord,
};
use hecha_shared::{CaseId, DeviceId, UnitId, UserId};

use crate::store::session::SessionRow;
use crate::{store, Clock, Core};

/// 2026-03-01 10:00 Beijing time.
const T0: i64 = 1_772_330_400_000;
const DAY: i64 = 86_400_000;

struct TestClock(AtomicI64);

impl Clock for TestClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

fn open(dir: &std::path::Path) -> (Core, Arc<TestClock>) {
    let clock = Arc::new(TestClock(AtomicI64::new(T0)));
    (Core::open(dir, clock.clone()).unwrap(), clock)
}

fn user_of(role: Role) -> UserId {
    UserId::from_random_bytes([role as u8 + 1; 16])
}

/// Logs this device in offline as a user of `role` (the server is not needed here).
fn login_as(core: &Core, role: Role, name: &str) {
    let row = SessionRow {
        server_url: "http://127.0.0.1:9".into(),
        token: "token".into(),
        user_id: user_of(role),
        username: name.into(),
        display_name: name.into(),
        role,
        unit: UnitId::new("chaoyang").unwrap(),
        unit_name: "朝阳街道".into(),
        device_id: DeviceId::from_random_bytes([2; 16]),
        cursor: Default::default(),
        last_sync_ms: None,
        last_state: None,
        last_error: None,
    };
    core.inner
        .with_store(|s| store::session::enrol(s.conn(), &row))
        .unwrap();
}

fn new_case(core: &Core) -> CaseId {
    core.save_case(CaseForm {
        applicant: ApplicantForm {
            name: "王秀兰".into(),
            id_number: "11010519491231002X".into(),
            phone: "13800000000".into(),
            address: "幸福里3号".into(),
            ..Default::default()
        },
        ..Default::default()
    })
    .unwrap()
}

fn step(core: &Core, id: CaseId, t: &str, comment: &str) -> Result<String, (ErrorCode, String)> {
    core.transition_case(TransitionRequest {
        case_id: id,
        transition: t.into(),
        comment: comment.into(),
    })
    .map(|v| v.state)
    .map_err(|e| (e.code, e.message))
}

/// Replaces the stored document by `f(doc)` (what a sync would bring in).
fn with_doc(core: &Core, id: CaseId, f: impl FnOnce(&mut automerge::Automerge)) {
    core.inner
        .with_store(|s| {
            let rec = store::cases::get(s.conn(), id)?.unwrap();
            let mut doc = crate::docs::load(&rec.doc, &ActorId::from(vec![0xee; 16]))?;
            f(&mut doc);
            let tx = s.transaction()?;
            store::cases::save_local(&tx, id, &doc.save(), &crate::docs::summarise(&doc, T0))?;
            tx.commit()?;
            Ok(())
        })
        .unwrap();
}

fn note() -> ChangeNote {
    ChangeNote {
        action: "test".into(),
        author: "另一台设备".into(),
        device: "other".into(),
    }
}

#[test]
fn roles_are_checked_and_refusals_are_in_chinese() {
    let dir = tempfile::tempdir().unwrap();
    let (core, _) = open(dir.path());
    login_as(&core, Role::Verifier, "核查员甲");
    let id = new_case(&core);

    let view = core.case_lifecycle(id).unwrap();
    assert_eq!(
        (view.state.as_str(), view.label.as_str()),
        ("applied", "申请")
    );
    // A verifier may not accept an application.
    assert!(view.allowed.is_empty(), "{:?}", view.allowed);
    let (code, msg) = step(&core, id, "accept", "").unwrap_err();
    assert_eq!(code, ErrorCode::Lifecycle);
    assert_eq!(msg, "核查员无权执行“受理”（仅限街道审核员）");
    let (code, _) = step(&core, id, "fly_to_the_moon", "").unwrap_err();
    assert_eq!(code, ErrorCode::Validation);

    login_as(&core, Role::Supervisor, "审核员乙");
    let view = core.case_lifecycle(id).unwrap();
    let offered: Vec<&str> = view.allowed.iter().map(|o| o.transition.as_str()).collect();
    assert_eq!(offered, vec!["accept", "grant_urgent_aid"]);
    assert!(view.allowed[1].needs_reason);
    // Urgent aid needs a reason.
    let (code, msg) = step(&core, id, "grant_urgent_aid", "  ").unwrap_err();
    assert_eq!(code, ErrorCode::Lifecycle);
    assert!(msg.contains("请填写理由"), "{msg}");
    assert_eq!(step(&core, id, "accept", "材料齐全"), Ok("accepted".into()));

    login_as(&core, Role::Verifier, "核查员甲");
    assert_eq!(
        step(&core, id, "start_investigation", ""),
        Ok("investigation".into())
    );
    let view = core.case_lifecycle(id).unwrap();
    // History: who, role, when, from, to, comment.
    let h: Vec<(&str, &str, &str, &str, &str)> = view
        .history
        .iter()
        .map(|e| {
            (
                e.by_name.as_str(),
                e.role_label.as_str(),
                e.from_label.as_str(),
                e.to_label.as_str(),
                e.comment.as_str(),
            )
        })
        .collect();
    assert_eq!(
        h,
        vec![
            ("审核员乙", "街道审核员", "申请", "受理", "材料齐全"),
            ("核查员甲", "核查员", "受理", "入户调查", ""),
        ]
    );
    // The next step is offered, but blocked until the investigation is signed.
    assert_eq!(view.allowed.len(), 1);
    assert_eq!(view.allowed[0].transition, "complete_investigation");
    assert!(view.allowed[0].blocked.as_deref().unwrap().contains("签字"));
    let (code, _) = step(&core, id, "complete_investigation", "").unwrap_err();
    assert_eq!(code, ErrorCode::Lifecycle);
    // The list shows the lifecycle's state.
    let listed = core.list_cases("").unwrap();
    assert_eq!(listed[0].status_label, "入户调查");
    assert!(core.get_case(id).unwrap().unsynced);
}

/// Puts the case in `state` by records another device made (as a sync would bring them).
fn reach(core: &Core, id: CaseId, path: &[T]) {
    with_doc(core, id, |doc| {
        for (i, t) in path.iter().enumerate() {
            let lc = ld::read(doc);
            let d = lc.derive();
            let record = TransitionRecord {
                id: RecordId::from_random_bytes(rand::random()),
                prev: d.head,
                from: d.state,
                to: t.target(),
                transition: *t,
                by_user: user_of(t.allowed_roles()[0]),
                by_role: t.allowed_roles()[0],
                at_ms: T0 - DAY + i as i64,
                comment: "理由".into(),
            };
            ld::write_raw_record(
                doc,
                &LifecycleRecord::Transition(record),
                "他人",
                &note(),
                T0,
            )
            .unwrap();
        }
    });
}

const TO_NEIGHBOUR_VISITS: [T; 3] = [T::Accept, T::StartInvestigation, T::CompleteInvestigation];

#[test]
fn an_offline_conflict_is_shown_and_resolved_by_a_supervisor() {
    let dir = tempfile::tempdir().unwrap();
    let (core, _) = open(dir.path());
    login_as(&core, Role::Verifier, "核查员甲");
    let id = new_case(&core);
    reach(&core, id, &TO_NEIGHBOUR_VISITS);
    // Meanwhile a supervisor, offline, returned the case (arrives by sync); the verifier
    // had already finished the neighbour visits on this device.
    let mut theirs = None;
    with_doc(&core, id, |doc| {
        let mut fork = doc.fork().with_actor(ActorId::from(vec![0x5u8; 16]));
        let facts = hecha_shared::lifecycle::Preconditions::new(ld::date_of_ms(T0));
        let mut facts = facts;
        facts.comment = "邻里访问记录不全".into();
        let actor = Actor {
            id: RecordId::from_random_bytes(rand::random()),
            user: user_of(Role::Supervisor),
            role: Role::Supervisor,
            at_ms: T0 + DAY,
        };
        let (r, _) = ld::write_transition(
            &mut fork,
            T::ReturnToInvestigation,
            &actor,
            "审核员乙",
            &facts,
            &note(),
            T0 + DAY,
        )
        .unwrap();
        theirs = Some((fork, r.id));
        // The verifier's own step, written directly (its signatures are not the point).
        let d = ld::read(doc).derive();
        let mine = TransitionRecord {
            id: RecordId::from_random_bytes(rand::random()),
            prev: d.head,
            from: S::NeighbourVisits,
            to: S::Deliberation,
            transition: T::CompleteNeighbourVisits,
            by_user: user_of(Role::Verifier),
            by_role: Role::Verifier,
            at_ms: T0 + DAY,
            comment: String::new(),
        };
        ld::write_raw_record(
            doc,
            &LifecycleRecord::Transition(mine),
            "核查员甲",
            &note(),
            T0,
        )
        .unwrap();
    });
    let (mut fork, returned) = theirs.unwrap();
    with_doc(&core, id, |doc| {
        doc.merge(&mut fork).unwrap();
    });

    let view = core.case_lifecycle(id).unwrap();
    assert_eq!(view.state, "neighbour_visits");
    assert_eq!(view.conflicts.len(), 1);
    let c = &view.conflicts[0];
    let labels: Vec<&str> = c.options.iter().map(|o| o.to_label.as_str()).collect();
    assert_eq!(labels, vec!["入户调查", "群众评议"]);
    assert_eq!(c.options[0].records[0].by_name, "审核员乙");
    assert_eq!(c.options[0].records[0].comment, "邻里访问记录不全");
    assert!(!c.can_resolve, "a verifier may not resolve it");
    // Everything is blocked while the conflict is open; the list counts it.
    assert!(view.allowed.iter().all(|o| o.blocked.is_some()));
    assert_eq!(core.list_cases("").unwrap()[0].conflicts, 1);
    let err = core
        .resolve_lifecycle_conflict(ResolveLifecycleRequest {
            case_id: id,
            chosen_record: returned.to_string(),
            comment: String::new(),
        })
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Lifecycle);
    assert_eq!(err.message, "核查员无权处理此流程冲突");

    login_as(&core, Role::Supervisor, "审核员乙");
    assert!(core.case_lifecycle(id).unwrap().conflicts[0].can_resolve);
    let view = core
        .resolve_lifecycle_conflict(ResolveLifecycleRequest {
            case_id: id,
            chosen_record: returned.to_string(),
            comment: "先补充调查".into(),
        })
        .unwrap();
    assert_eq!(view.state, "investigation");
    assert!(view.conflicts.is_empty());
    let last = view.history.last().unwrap();
    assert_eq!(last.kind, "resolution");
    assert_eq!(last.by_name, "审核员乙");
    assert_eq!(last.comment, "先补充调查");
    // The losing step stays visible, set aside with its reason.
    assert_eq!(view.set_aside.len(), 1);
    assert_eq!(view.set_aside[0].by_name, "核查员甲");
    assert_eq!(
        view.set_aside[0].set_aside_reason.as_deref(),
        Some("冲突处理时未被采纳")
    );
    let listed = &core.list_cases("").unwrap()[0];
    assert_eq!(
        (listed.status_label.as_str(), listed.conflicts),
        ("入户调查", 0)
    );
}

#[test]
fn deliberation_notice_objections_and_rechecks() {
    let dir = tempfile::tempdir().unwrap();
    let (core, clock) = open(dir.path());
    login_as(&core, Role::Verifier, "核查员甲");
    let id = new_case(&core);
    let deliberation = |case_id| DeliberationRequest {
        case_id: Some(case_id),
        held_on: "2026-03-02".into(),
        place: "居委会会议室".into(),
        representatives: vec![Representative {
            name: "赵六".into(),
            capacity: "居民代表".into(),
            opinion: "agree".into(),
            remark: String::new(),
        }],
        points: vec!["income".into(), "property".into()],
        outcome: "pass".into(),
        summary: "情况属实".into(),
        sign_in_photos: vec![],
    };
    // Not yet at the deliberation stage.
    let err = core.record_deliberation(deliberation(id)).unwrap_err();
    assert_eq!(err.code, ErrorCode::Lifecycle);
    assert!(err.message.contains("须处于“群众评议”"), "{}", err.message);

    let mut path = TO_NEIGHBOUR_VISITS.to_vec();
    path.push(T::CompleteNeighbourVisits);
    reach(&core, id, &path);
    // Field errors name the field.
    let mut bad = deliberation(id);
    bad.representatives[0].opinion = String::new();
    let err = core.record_deliberation(bad).unwrap_err();
    assert_eq!(err.code, ErrorCode::Validation);
    assert!(err.fields.0.contains_key("representatives.0.opinion"));
    let view = core.record_deliberation(deliberation(id)).unwrap();
    assert_eq!(view.deliberations.len(), 1);
    assert_eq!(view.deliberations[0].by_name, "核查员甲");

    reach(&core, id, &[T::CompleteDeliberation, T::StreetApprove]);
    // A verifier may not post the notice.
    let notice = NoticeRequest {
        case_id: Some(id),
        start: "2026-03-03".into(),
        days: Some(7),
        place: "社区公示栏".into(),
    };
    let err = core.record_notice(notice.clone()).unwrap_err();
    assert!(
        err.message.starts_with("核查员无权登记公示"),
        "{}",
        err.message
    );
    login_as(&core, Role::Supervisor, "审核员乙");
    let view = core.record_notice(notice).unwrap();
    let n = view.notice.unwrap();
    assert_eq!(
        (n.start.as_str(), n.end.as_str(), n.recorded),
        ("2026-03-03", "2026-03-10", true)
    );
    let view = core
        .record_objection(ObjectionRequest {
            case_id: Some(id),
            raised_by: "匿名".into(),
            content: "家中有车".into(),
            raised_on: "2026-03-05".into(),
        })
        .unwrap();
    let objection_id = view.objections[0].objection.id.clone();
    clock.0.store(T0 + 10 * DAY, Ordering::SeqCst);
    let view = core.case_lifecycle(id).unwrap();
    let close = view
        .allowed
        .iter()
        .find(|o| o.transition == "close_notice")
        .unwrap();
    assert!(close
        .blocked
        .as_deref()
        .unwrap()
        .contains("1条异议尚未处理"));
    let view = core
        .handle_objection(ObjectionHandlingRequest {
            case_id: Some(id),
            objection_id,
            handling: "车辆已报废，异议不成立".into(),
            upheld: false,
        })
        .unwrap();
    assert!(view.objections[0].handling.is_some());
    assert_eq!(
        step(&core, id, "close_notice", ""),
        Ok("bureau_decision".into())
    );

    login_as(&core, Role::Bureau, "民政局丙");
    // Approve is blocked: the investigation was never signed on this device.
    let (code, msg) = step(&core, id, "approve", "").unwrap_err();
    assert_eq!(code, ErrorCode::Lifecycle);
    assert!(msg.contains("签字"), "{msg}");
    reach(&core, id, &[T::Approve]);
    let view = core
        .set_recheck_category(RecheckCategoryRequest {
            case_id: Some(id),
            category: "working_age".into(),
            last_check: "2026-03-12".into(),
        })
        .unwrap();
    assert_eq!(
        view.recheck.unwrap().next_due.as_deref(),
        Some("2026-06-12")
    );
    let due = core.recheck_due(Some("2026-06-20".into())).unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].applicant_name, "王秀兰");
    assert_eq!(due[0].recheck.due.as_deref(), Some("overdue"));
    assert_eq!(due[0].recheck.due_label.as_deref(), Some("已逾期8天"));
    let upcoming = core.recheck_due(Some("2026-06-01".into())).unwrap();
    assert_eq!(upcoming[0].recheck.due.as_deref(), Some("upcoming"));

    let view = core
        .record_spot_check(SpotCheckRequest {
            case_id: Some(id),
            revisit_on: "2026-04-01".into(),
            household_size: 2,
            annual_income_fen: 0,
            deposits_fen: 0,
            houses_count: 0,
            vehicles_count: 0,
            findings: "新增一名家庭成员".into(),
            outcome: String::new(),
        })
        .unwrap();
    let spot = &view.spot_checks[0];
    assert_eq!(spot.outcome, "discrepancy");
    let size = spot
        .items
        .iter()
        .find(|i| i.field == "household_size")
        .unwrap();
    assert_eq!((size.original.as_str(), size.revisit.as_str()), ("1", "2"));
}
