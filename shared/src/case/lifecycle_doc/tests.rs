//! Tests of the lifecycle stored in real case documents: every transition per role through
//! a document, preconditions read from the document's content, sections, offline forks
//! merged into a conflict a supervisor resolves, and concurrently created maps.

use std::collections::VecDeque;

use automerge::{ActorId, Automerge, ObjType, ROOT};

use super::*;
use crate::case::{create_document, read_case, write_case, CaseDoc, ChangeNote, NeighbourVisit};
use crate::ids::{CaseId, UnitId, UserId};
use crate::lifecycle::{Actor, LifecycleState as S, Transition as T};
use crate::signature::{attest_hash, attested_content, insert_record, to_hex, SignatureMark};

const DAY: i64 = 86_400_000;
/// 2026-03-01 10:00 Beijing time.
const T0: i64 = 1_772_330_400_000;

fn note(who: &str) -> ChangeNote {
    ChangeNote {
        action: "lifecycle".into(),
        author: who.into(),
        device: format!("dev-{who}"),
    }
}

fn user(n: u8) -> UserId {
    UserId::from_random_bytes([n; 16])
}

fn rid(n: u64) -> RecordId {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&n.to_be_bytes());
    b[8] = 0x80;
    RecordId::from_random_bytes(b)
}

fn actor(n: u64, role: Role, at_ms: i64) -> Actor {
    let u = match role {
        Role::Verifier => 1,
        Role::Supervisor => 2,
        Role::Bureau => 3,
        Role::Admin => 4,
    };
    Actor {
        id: rid(n),
        user: user(u),
        role,
        at_ms,
    }
}

fn new_case() -> (Automerge, CaseDoc) {
    let mut case = CaseDoc::new_case(
        CaseId::from_random_bytes([7; 16]),
        &UnitId::new("chaoyang").unwrap(),
        T0,
    );
    case.applicant.name = "王秀兰".into();
    case.applicant.id_number = "11010519491231002X".into();
    let doc = create_document(ActorId::from(vec![1u8; 16]), &case, &note("v"), T0).unwrap();
    (doc, case)
}

/// Facts under which every precondition holds.
fn all_met(today: Date) -> Preconditions {
    Preconditions {
        today,
        investigation_signed: true,
        neighbour_visits_signed: 1,
        deliberation_recorded: true,
        unresolved_conflicts: 0,
        notice_start: Some(Date::new(2000, 1, 1).unwrap()),
        notice_days: 7,
        open_objections: 0,
        recheck_signed: true,
        comment: "理由".into(),
    }
}

/// The shortest sequence of transitions from 申请 to `target` (breadth-first over the
/// table).
fn path_to(target: S) -> Vec<T> {
    let mut queue = VecDeque::from([(S::INITIAL, Vec::new())]);
    let mut seen = BTreeSet::from([S::INITIAL]);
    while let Some((state, path)) = queue.pop_front() {
        if state == target {
            return path;
        }
        for t in state.transitions() {
            if seen.insert(t.target()) {
                let mut p = path.clone();
                p.push(t);
                queue.push_back((t.target(), p));
            }
        }
    }
    panic!("{target:?} unreachable");
}

/// A document whose lifecycle has reached `state` (each step by a role allowed to make it).
fn doc_at(state: S) -> Automerge {
    let (mut doc, _) = new_case();
    for (i, t) in path_to(state).into_iter().enumerate() {
        let role = t.allowed_roles()[0];
        let a = actor(1000 + i as u64, role, T0 + i as i64 * 1000);
        write_transition(
            &mut doc,
            t,
            &a,
            "某人",
            &all_met(date_of_ms(T0)),
            &note("x"),
            T0,
        )
        .unwrap();
    }
    doc
}

fn status(doc: &Automerge) -> String {
    read_case(doc).unwrap().status
}

#[test]
fn every_transition_per_role_through_a_document() {
    let roles = [Role::Verifier, Role::Supervisor, Role::Bureau, Role::Admin];
    for t in T::ALL {
        for &from in t.from_states() {
            let base = doc_at(from);
            assert_eq!(status(&base), from.code());
            for role in roles {
                let mut doc = base.clone();
                let a = actor(1, role, T0 + DAY);
                let result = write_transition(
                    &mut doc,
                    t,
                    &a,
                    "操作人",
                    &all_met(date_of_ms(T0)),
                    &note("x"),
                    T0 + DAY,
                );
                if t.allowed_roles().contains(&role) {
                    let (record, derived) = result.unwrap();
                    assert_eq!(derived.state, t.target());
                    assert_eq!(status(&doc), t.target().code(), "{t:?} by {role:?}");
                    // The record reads back exactly, with its author's name.
                    let read_back = read(&doc);
                    assert_eq!(read_back.transition(record.id), Some(&record));
                    assert_eq!(read_back.names[&record.id], "操作人");
                    // And survives a save/load round trip.
                    let loaded = Automerge::load(&doc.save()).unwrap();
                    assert_eq!(read(&loaded).derive().state, t.target());
                } else {
                    let err = result.unwrap_err();
                    let msg = err.message_zh();
                    assert!(msg.contains("无权执行"), "{t:?} by {role:?}: {msg}");
                    assert!(msg.contains(t.label_zh()), "{msg}");
                    // Nothing was written.
                    assert_eq!(doc.get_heads(), base.get_heads());
                    assert_eq!(status(&doc), from.code());
                }
            }
        }
    }
}

#[test]
fn a_transition_from_the_wrong_state_is_refused_with_the_current_state_named() {
    let mut doc = doc_at(S::Accepted);
    let err = write_transition(
        &mut doc,
        T::Approve,
        &actor(1, Role::Bureau, T0),
        "局",
        &all_met(date_of_ms(T0)),
        &note("b"),
        T0,
    )
    .unwrap_err();
    assert_eq!(err.message_zh(), "案件当前处于“受理”，不能执行“审批通过”");
}

fn sign(doc: &mut Automerge, role: SignerRole, who: Option<UserId>, at_ms: i64, key: &str) {
    let case = read_case(doc).unwrap();
    let hash = to_hex(&attest_hash(&attested_content(&case, &[])));
    let record = SignatureRecord {
        role,
        signer_name: "签字人".into(),
        signer_user: who,
        device: None,
        signed_at_ms: at_ms,
        content_hash_hex: hash,
        strokes: vec![1, 2, 3],
        mark: SignatureMark::Drawn,
    };
    let mut tx = doc.transaction();
    let map = match tx.get(ROOT, "signatures").unwrap() {
        Some((Value::Object(ObjType::Map), m)) => m,
        _ => tx.put_object(ROOT, "signatures", ObjType::Map).unwrap(),
    };
    insert_record(&mut tx, &map, key, &record).unwrap();
    tx.commit();
}

fn facts(doc: &Automerge, today: Date, comment: &str) -> Preconditions {
    let case = read_case(doc).unwrap();
    read(doc).preconditions(doc, &case, today, NOTICE_DAYS, comment)
}

fn try_t(doc: &mut Automerge, t: T, role: Role, n: u64, at_ms: i64) -> Result<S, String> {
    let f = facts(doc, date_of_ms(at_ms), "已核实");
    write_transition(
        doc,
        t,
        &actor(n, role, at_ms),
        "某人",
        &f,
        &note("x"),
        at_ms,
    )
    .map(|(_, d)| d.state)
    .map_err(|e| e.message_zh())
}

#[test]
fn preconditions_come_from_the_document_content() {
    let mut doc = doc_at(S::Investigation);
    // Not signed: refused.
    let err = try_t(&mut doc, T::CompleteInvestigation, Role::Verifier, 1, T0).unwrap_err();
    assert!(err.contains("尚未由两名调查人员和申请人签字确认"), "{err}");
    sign(&mut doc, SignerRole::Investigator1, Some(user(1)), T0, "s1");
    // The same person signing as second investigator does not count.
    sign(&mut doc, SignerRole::Investigator2, Some(user(1)), T0, "s2");
    sign(&mut doc, SignerRole::Applicant, None, T0, "s3");
    assert!(try_t(&mut doc, T::CompleteInvestigation, Role::Verifier, 2, T0).is_err());
    sign(&mut doc, SignerRole::Investigator2, Some(user(9)), T0, "s4");
    assert_eq!(
        try_t(&mut doc, T::CompleteInvestigation, Role::Verifier, 3, T0),
        Ok(S::NeighbourVisits)
    );

    // Neighbour visits need a signed neighbour statement.
    let err = try_t(&mut doc, T::CompleteNeighbourVisits, Role::Verifier, 4, T0).unwrap_err();
    assert!(err.contains("邻里访问"), "{err}");
    sign(&mut doc, SignerRole::Neighbour, None, T0, "s5");
    assert_eq!(
        try_t(&mut doc, T::CompleteNeighbourVisits, Role::Verifier, 5, T0),
        Ok(S::Deliberation)
    );

    // Deliberation must be recorded.
    let err = try_t(&mut doc, T::CompleteDeliberation, Role::Verifier, 6, T0).unwrap_err();
    assert!(err.contains("尚未记录群众评议"), "{err}");
    let deliberation = Deliberation {
        id: "d1".into(),
        held_on: "2026-03-02".into(),
        place: "朝阳社区居委会".into(),
        representatives: vec![
            Representative {
                name: "赵六".into(),
                capacity: "居民代表".into(),
                opinion: "agree".into(),
                remark: String::new(),
            },
            Representative {
                name: "钱七".into(),
                capacity: "党员代表".into(),
                opinion: "abstain".into(),
                remark: "不了解情况".into(),
            },
        ],
        points: vec!["income".into(), "truthfulness".into()],
        outcome: "pass".into(),
        summary: "一致认为情况属实".into(),
        sign_in_photos: vec!["ab".repeat(32)],
        by_user: user(1).to_string(),
        by_name: "核查员".into(),
        at_ms: T0,
    };
    write_entry(
        &mut doc,
        &Entry::Deliberation(deliberation.clone()),
        &note("v"),
        T0,
    )
    .unwrap();
    assert_eq!(read(&doc).deliberations, vec![deliberation]);
    assert_eq!(
        try_t(&mut doc, T::CompleteDeliberation, Role::Verifier, 7, T0),
        Ok(S::StreetReview)
    );

    // Content edited after signing: the investigation no longer counts as signed.
    let mut edited = doc.clone();
    let mut c = read_case(&edited).unwrap();
    c.applicant.phone = "13800000000".into();
    write_case(&mut edited, &c, &note("v"), T0).unwrap();
    let err = try_t(&mut edited, T::StreetApprove, Role::Supervisor, 8, T0).unwrap_err();
    assert!(err.contains("签字"), "{err}");

    // Street approval posts the notice (default length) on its day.
    let approved_at = T0 + DAY;
    assert_eq!(
        try_t(&mut doc, T::StreetApprove, Role::Supervisor, 9, approved_at),
        Ok(S::PublicNotice)
    );
    let err = try_t(
        &mut doc,
        T::CloseNotice,
        Role::Supervisor,
        10,
        approved_at + 3 * DAY,
    )
    .unwrap_err();
    assert_eq!(
        err,
        "不能执行“公示期满报批”：公示期未满：已公示3天，须满7天"
    );
    // A recorded notice with its own length replaces the default.
    let notice = Notice {
        id: "n1".into(),
        start: date_of_ms(approved_at).to_string(),
        days: 5,
        place: "社区公示栏".into(),
        by_user: user(2).to_string(),
        by_name: "审核员".into(),
        at_ms: approved_at + 1000,
    };
    write_entry(
        &mut doc,
        &Entry::Notice(notice.clone()),
        &note("s"),
        approved_at,
    )
    .unwrap();
    assert_eq!(notice.end().unwrap().to_string(), "2026-03-07");
    // An objection blocks the close until handled.
    let objection = Objection {
        id: "o1".into(),
        notice: "n1".into(),
        raised_by: String::new(),
        content: "该户有车辆".into(),
        raised_on: "2026-03-04".into(),
        by_user: user(2).to_string(),
        by_name: "审核员".into(),
        at_ms: approved_at + 2 * DAY,
    };
    write_entry(
        &mut doc,
        &Entry::Objection(objection),
        &note("s"),
        approved_at,
    )
    .unwrap();
    let err = try_t(
        &mut doc,
        T::CloseNotice,
        Role::Supervisor,
        11,
        approved_at + 5 * DAY,
    )
    .unwrap_err();
    assert!(err.contains("1条异议尚未处理"), "{err}");
    let handling = ObjectionHandling {
        id: "h1".into(),
        objection: "o1".into(),
        handling: "经核实车辆已于去年报废".into(),
        upheld: false,
        by_user: user(2).to_string(),
        by_name: "审核员".into(),
        at_ms: approved_at + 3 * DAY,
    };
    write_entry(
        &mut doc,
        &Entry::ObjectionHandling(handling),
        &note("s"),
        approved_at,
    )
    .unwrap();
    assert_eq!(
        try_t(
            &mut doc,
            T::CloseNotice,
            Role::Supervisor,
            12,
            approved_at + 5 * DAY
        ),
        Ok(S::BureauDecision)
    );
    let decided_at = approved_at + 6 * DAY;
    assert_eq!(
        try_t(&mut doc, T::Approve, Role::Bureau, 13, decided_at),
        Ok(S::Active)
    );

    // Re-check: category set, due date from the approval's day.
    let policy = RecheckPolicy::default();
    let today = date_of_ms(decided_at);
    let lc = read(&doc);
    let info = lc.recheck(&lc.derive(), &policy, today).unwrap();
    assert_eq!(info.category, None);
    assert_eq!(info.next_due, None);
    let setting = RecheckSetting {
        id: "r1".into(),
        category: "working_age".into(),
        last_check: String::new(),
        by_user: user(2).to_string(),
        by_name: "审核员".into(),
        at_ms: decided_at,
    };
    write_entry(&mut doc, &Entry::Recheck(setting), &note("s"), decided_at).unwrap();
    let lc = read(&doc);
    let info = lc.recheck(&lc.derive(), &policy, today).unwrap();
    assert_eq!(info.last_check.unwrap().to_string(), "2026-03-08");
    assert_eq!(info.next_due.unwrap().to_string(), "2026-06-08");

    // A re-check must be signed after it started.
    let started = decided_at + 90 * DAY;
    assert_eq!(
        try_t(&mut doc, T::StartRecheck, Role::Verifier, 14, started),
        Ok(S::Recheck)
    );
    let err = try_t(&mut doc, T::ConfirmUnchanged, Role::Supervisor, 15, started).unwrap_err();
    assert!(err.contains("复核记录尚未签字确认"), "{err}");
    sign(
        &mut doc,
        SignerRole::Investigator1,
        Some(user(1)),
        started + 1,
        "s6",
    );
    assert_eq!(
        try_t(
            &mut doc,
            T::ConfirmUnchanged,
            Role::Supervisor,
            16,
            started + DAY
        ),
        Ok(S::Active)
    );
}

#[test]
fn an_unresolved_field_conflict_blocks_street_approval() {
    let (base, _) = new_case();
    let mut a = base.fork().with_actor(ActorId::from(vec![2u8; 16]));
    let mut b = base.fork().with_actor(ActorId::from(vec![3u8; 16]));
    for (doc, phone) in [(&mut a, "13800000001"), (&mut b, "13800000002")] {
        let mut c = read_case(doc).unwrap();
        c.applicant.phone = phone.into();
        write_case(doc, &c, &note("v"), T0).unwrap();
    }
    a.merge(&mut b).unwrap();
    let f = facts(&a, date_of_ms(T0), "");
    assert_eq!(f.unresolved_conflicts, 1);
}

fn visits_doc() -> Automerge {
    let mut doc = doc_at(S::NeighbourVisits);
    sign(&mut doc, SignerRole::Neighbour, None, T0, "n");
    let mut c = read_case(&doc).unwrap();
    c.neighbour_visits.insert(
        "nv1".into(),
        NeighbourVisit {
            name: "邻居甲".into(),
            statement: "情况属实".into(),
            ..Default::default()
        },
    );
    write_case(&mut doc, &c, &note("v"), T0).unwrap();
    doc
}

#[test]
fn incompatible_offline_transitions_become_a_conflict_a_supervisor_resolves() {
    let base = visits_doc();
    // The verifier completes the neighbour visits while the supervisor, offline too,
    // returns the case to investigation.
    let mut verifier = base.fork().with_actor(ActorId::from(vec![0xa1; 16]));
    let mut supervisor = base.fork().with_actor(ActorId::from(vec![0xb2; 16]));
    assert_eq!(
        try_t(
            &mut verifier,
            T::CompleteNeighbourVisits,
            Role::Verifier,
            1,
            T0 + DAY
        ),
        Ok(S::Deliberation)
    );
    let f = facts(&supervisor, date_of_ms(T0), "邻里访问记录不全");
    let (returned, _) = write_transition(
        &mut supervisor,
        T::ReturnToInvestigation,
        &actor(2, Role::Supervisor, T0 + DAY + 5),
        "街道审核员",
        &f,
        &note("s"),
        T0 + DAY,
    )
    .unwrap();
    verifier.merge(&mut supervisor.clone()).unwrap();
    supervisor.merge(&mut verifier.clone()).unwrap();

    for doc in [&verifier, &supervisor] {
        let lc = read(doc);
        let derived = lc.derive();
        assert_eq!(
            derived.state,
            S::NeighbourVisits,
            "the state stays at the fork"
        );
        assert_eq!(derived.conflicts.len(), 1);
        let options: Vec<S> = derived.conflicts[0].options.iter().map(|o| o.to).collect();
        assert_eq!(options, vec![S::Investigation, S::Deliberation]);
        // The status cache conflicts too, but is not counted as a field to decide.
        assert_eq!(open_field_conflicts(doc), 0);
        assert_eq!(facts(doc, date_of_ms(T0), "").unresolved_conflicts, 1);
    }

    // Nobody may move on while the conflict is open.
    let err = try_t(
        &mut verifier,
        T::CompleteNeighbourVisits,
        Role::Verifier,
        3,
        T0 + 2 * DAY,
    )
    .unwrap_err();
    assert!(err.contains("冲突"), "{err}");
    // A verifier may not resolve it.
    let err = write_resolution(
        &mut verifier,
        rid(1),
        &actor(4, Role::Verifier, T0 + 2 * DAY),
        "核查员",
        "",
        &note("v"),
        T0 + 2 * DAY,
    )
    .unwrap_err();
    assert_eq!(err.message_zh(), "核查员无权处理此流程冲突");

    // The supervisor resolves it in favour of the return.
    let (resolution, derived) = write_resolution(
        &mut supervisor,
        returned.id,
        &actor(5, Role::Supervisor, T0 + 2 * DAY),
        "街道审核员",
        "先补充调查",
        &note("s"),
        T0 + 2 * DAY,
    )
    .unwrap();
    assert_eq!(derived.state, S::Investigation);
    assert!(!derived.has_conflict());
    assert_eq!(status(&supervisor), "investigation");
    // The status cache's concurrent values are replaced by the resolution's write.
    assert!(crate::case::conflicts(&supervisor)
        .iter()
        .all(|f| f.path != vec!["status".to_string()]));

    // The verifier's device receives it and continues from the chosen branch.
    verifier.merge(&mut supervisor).unwrap();
    let lc = read(&verifier);
    assert_eq!(lc.resolution(resolution.id), Some(&resolution));
    assert_eq!(lc.derive().state, S::Investigation);
    assert_eq!(status(&verifier), "investigation");
}

#[test]
fn lifecycle_maps_created_concurrently_keep_both_sides() {
    let (base, _) = new_case();
    assert!(doc_lacks_map(&base));
    let mut a = base.fork().with_actor(ActorId::from(vec![0xa1; 16]));
    let mut b = base.fork().with_actor(ActorId::from(vec![0xb2; 16]));
    // Two supervisors accept offline: both create the map.
    let (ra, _) = write_transition(
        &mut a,
        T::Accept,
        &actor(1, Role::Supervisor, T0),
        "甲",
        &all_met(date_of_ms(T0)),
        &note("a"),
        T0,
    )
    .unwrap();
    write_entry(
        &mut b,
        &Entry::Recheck(RecheckSetting {
            id: "r".into(),
            category: "stable".into(),
            ..Default::default()
        }),
        &note("b"),
        T0,
    )
    .unwrap();
    let (rb, _) = write_transition(
        &mut b,
        T::Accept,
        &actor(2, Role::Supervisor, T0 + 1),
        "乙",
        &all_met(date_of_ms(T0)),
        &note("b"),
        T0,
    )
    .unwrap();
    a.merge(&mut b).unwrap();
    let lc = read(&a);
    assert!(lc.transition(ra.id).is_some());
    assert!(lc.transition(rb.id).is_some());
    assert_eq!(lc.rechecks.len(), 1);
    // Both accepted: they agree, no conflict.
    let derived = lc.derive();
    assert_eq!(derived.state, S::Accepted);
    assert_eq!(derived.applied.len(), 2);
    // The next step is written into the map `get` shows and read with the rest.
    assert_eq!(
        try_t(&mut a, T::StartInvestigation, Role::Verifier, 3, T0 + DAY),
        Ok(S::Investigation)
    );
    assert_eq!(read(&a).records.len(), 3);
}

fn doc_lacks_map(doc: &Automerge) -> bool {
    doc.get(ROOT, LIFECYCLE_KEY).unwrap().is_none()
}

#[test]
fn a_form_save_leaves_the_lifecycle_alone() {
    let mut doc = doc_at(S::Investigation);
    let before = read(&doc);
    let mut c = read_case(&doc).unwrap();
    c.applicant.phone = "13900000000".into();
    write_case(&mut doc, &c, &note("v"), T0).unwrap();
    assert_eq!(read(&doc), before);
    assert_eq!(status(&doc), "investigation");
}

#[test]
fn invalid_sections_are_refused_per_field() {
    let (mut doc, _) = new_case();
    let bad = Deliberation {
        id: "d".into(),
        held_on: "2026-02-30".into(),
        representatives: vec![Representative::default()],
        points: vec!["weather".into()],
        ..Default::default()
    };
    let err = write_entry(&mut doc, &Entry::Deliberation(bad), &note("v"), T0).unwrap_err();
    let LifecycleDocError::Invalid(fields) = err else {
        panic!("expected field errors")
    };
    for key in [
        "held_on",
        "place",
        "representatives.0.name",
        "representatives.0.opinion",
        "points",
        "outcome",
    ] {
        assert!(fields.0.contains_key(key), "{key}: {fields:?}");
    }
    assert!(doc_lacks_map(&doc), "nothing written");
}

#[test]
fn dates_are_beijing_calendar_days() {
    // 2026-02-28 23:30 Beijing = 15:30 UTC.
    let ms = 1_772_292_600_000;
    assert_eq!(date_of_ms(ms).to_string(), "2026-02-28");
    assert_eq!(date_of_ms(ms + 3_600_000).to_string(), "2026-03-01");
    assert_eq!(parse_date("2024-02-29").unwrap().to_string(), "2024-02-29");
    assert!(parse_date("2023-02-29").is_none());
}
