//! The server's re-check of every lifecycle record a device brings (issue 5): the record
//! must name the sending device's user and role, that role must be allowed to make the
//! step (or resolve a conflict), and the case's facts at the change that wrote it must
//! meet the step's preconditions. A record that fails is FLAGGED, never dropped (the
//! Automerge history is immutable and other devices already hold it): one row in
//! `lifecycle_flags` with the reason in Chinese, listed with the case
//! (`GET /api/v1/cases/{id}/lifecycle-flags`) and listed for the caller's scope
//! (`GET /api/v1/stats/lifecycle-flags`).

use std::collections::BTreeSet;

use automerge::{Automerge, ChangeHash};
use hecha_shared::api::Role;
use hecha_shared::case::lifecycle_doc::{self as ld, date_of_ms, NOTICE_DAYS};
use hecha_shared::case::read_case;
use hecha_shared::lifecycle::{self, LifecycleRecord, RecordId, TransitionError};
use hecha_shared::{CaseId, DeviceId, UserId};
use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};

/// Schema: one row per flagged record.
pub(crate) const MIGRATION_LIFECYCLE_FLAGS: &str = "
CREATE TABLE lifecycle_flags (
    case_id TEXT NOT NULL,
    record_id TEXT NOT NULL,
    user_id TEXT,
    device_id TEXT,
    transition TEXT NOT NULL,
    reason TEXT NOT NULL,
    message TEXT NOT NULL,
    record_at_ms INTEGER NOT NULL,
    flagged_at_ms INTEGER NOT NULL,
    PRIMARY KEY (case_id, record_id)
) WITHOUT ROWID;
";

/// Schema: one row per spot-check draw (`routes::spot_checks`).
pub(crate) const MIGRATION_SPOT_CHECKS: &str = "
CREATE TABLE spot_check_draws (
    draw_id INTEGER PRIMARY KEY AUTOINCREMENT,
    period_from TEXT NOT NULL,
    period_to TEXT NOT NULL,
    share_permille INTEGER NOT NULL,
    seed TEXT NOT NULL,
    population TEXT NOT NULL,
    drawn TEXT NOT NULL,
    drawn_by TEXT NOT NULL,
    drawn_at_ms INTEGER NOT NULL
);
";

/// One flagged lifecycle record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleFlag {
    pub case_id: CaseId,
    pub record_id: String,
    /// The transition's code (`resolve` for a conflict resolution).
    pub transition: String,
    /// `user_mismatch`, `role_mismatch`, `role_not_allowed`, `precondition`.
    pub reason: String,
    /// Why, in Chinese.
    pub message: String,
    /// The sending device's user and device.
    pub user_id: Option<UserId>,
    pub device_id: Option<DeviceId>,
    /// When the record says it was made (device clock).
    pub record_at_ms: i64,
    pub flagged_at_ms: i64,
}

/// The ids of the lifecycle records `doc` holds (taken before a message is applied).
pub(crate) fn record_ids(doc: &Automerge) -> BTreeSet<RecordId> {
    ld::read(doc).records.iter().map(|r| r.id()).collect()
}

/// What a check found wrong with one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    pub record_id: RecordId,
    pub transition: String,
    pub reason: &'static str,
    pub message: String,
    pub at_ms: i64,
}

/// Checks the records `doc` holds beyond `before` (ids) against the sender (`user`,
/// `role`) and the facts of the document just before the change that wrote each one.
/// `before_heads`: the document's heads before the message; `now_ms`: the server's time
/// (a record dated in the future is judged on the server's day).
pub(crate) fn check(
    doc: &Automerge,
    before: &BTreeSet<RecordId>,
    before_heads: &[ChangeHash],
    user: UserId,
    role: Role,
    now_ms: i64,
) -> Vec<Finding> {
    let after = ld::read(doc);
    let new: Vec<&LifecycleRecord> = after
        .records
        .iter()
        .filter(|r| !before.contains(&r.id()))
        .collect();
    if new.is_empty() {
        return Vec::new();
    }
    let mut findings = Vec::new();
    let mut facts_pending: BTreeSet<RecordId> = BTreeSet::new();
    for record in &new {
        let (id, by_user, by_role, at_ms, code) = match record {
            LifecycleRecord::Transition(t) => (
                t.id,
                t.by_user,
                t.by_role,
                t.at_ms,
                t.transition.code().to_string(),
            ),
            LifecycleRecord::Resolution(r) => {
                (r.id, r.by_user, r.by_role, r.at_ms, "resolve".to_string())
            }
        };
        let finding = |reason, message: String| Finding {
            record_id: id,
            transition: code.clone(),
            reason,
            message,
            at_ms,
        };
        if by_user != user {
            findings.push(finding(
                "user_mismatch",
                "流程记录的操作人与上传它的设备的账号不符".into(),
            ));
            continue;
        }
        if by_role != role {
            findings.push(finding(
                "role_mismatch",
                format!(
                    "流程记录自称“{}”，但操作人的账号是“{}”",
                    by_role.label_zh(),
                    role.label_zh()
                ),
            ));
            continue;
        }
        match record {
            LifecycleRecord::Transition(t) => {
                if !t.transition.allowed_roles().contains(&role) {
                    let e = TransitionError::RoleNotAllowed {
                        role,
                        transition: t.transition,
                    };
                    findings.push(finding("role_not_allowed", e.message_zh()));
                } else {
                    facts_pending.insert(t.id);
                }
            }
            LifecycleRecord::Resolution(_) => {
                if !matches!(role, Role::Supervisor | Role::Bureau) {
                    findings.push(finding(
                        "role_not_allowed",
                        format!("{}无权处理流程冲突", role.label_zh()),
                    ));
                }
            }
        }
    }
    if facts_pending.is_empty() {
        return findings;
    }
    // The facts at each record: the document as it stood just before the change that
    // wrote it (its dependencies).
    let today_server = date_of_ms(now_ms);
    for change in doc.get_changes(before_heads) {
        if facts_pending.is_empty() {
            break;
        }
        let (Ok(pre), Ok(post)) = (doc.fork_at(change.deps()), doc.fork_at(&[change.hash()]))
        else {
            continue;
        };
        let pre_lc = ld::read(&pre);
        let pre_ids: BTreeSet<RecordId> = pre_lc.records.iter().map(|r| r.id()).collect();
        let Ok(pre_case) = read_case(&pre) else {
            continue;
        };
        for record in ld::read(&post).records {
            let LifecycleRecord::Transition(t) = record else {
                continue;
            };
            if pre_ids.contains(&t.id) || !facts_pending.remove(&t.id) {
                continue;
            }
            let today = date_of_ms(t.at_ms).min(today_server);
            let facts = pre_lc.preconditions(&pre, &pre_case, today, NOTICE_DAYS, &t.comment);
            if let Err(e @ TransitionError::PreconditionUnmet { .. }) =
                lifecycle::transition(t.from, t.transition, role, &facts)
            {
                findings.push(Finding {
                    record_id: t.id,
                    transition: t.transition.code().into(),
                    reason: "precondition",
                    message: e.message_zh(),
                    at_ms: t.at_ms,
                });
            }
        }
    }
    findings
}

/// Stores the findings of one write (in its transaction).
pub(crate) fn store(
    conn: &Connection,
    case_id: CaseId,
    user: UserId,
    device: DeviceId,
    findings: &[Finding],
    now_ms: i64,
) -> rusqlite::Result<()> {
    for f in findings {
        tracing::warn!(%case_id, record = %f.record_id, reason = f.reason, "lifecycle record flagged");
        conn.execute(
            "INSERT INTO lifecycle_flags (case_id, record_id, user_id, device_id, transition,
                                          reason, message, record_at_ms, flagged_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT DO NOTHING",
            params![
                case_id.to_string(),
                f.record_id.to_string(),
                user.to_string(),
                device.to_string(),
                f.transition,
                f.reason,
                f.message,
                f.at_ms,
                now_ms
            ],
        )?;
    }
    Ok(())
}

/// The flags of one case, oldest first.
pub(crate) fn flags_of(conn: &Connection, case_id: CaseId) -> rusqlite::Result<Vec<LifecycleFlag>> {
    let mut stmt = conn.prepare_cached(
        "SELECT record_id, transition, reason, message, user_id, device_id, record_at_ms,
                flagged_at_ms
         FROM lifecycle_flags WHERE case_id = ?1 ORDER BY flagged_at_ms, record_id",
    )?;
    let rows = stmt.query_map([case_id.to_string()], |r| {
        Ok(LifecycleFlag {
            case_id,
            record_id: r.get(0)?,
            transition: r.get(1)?,
            reason: r.get(2)?,
            message: r.get(3)?,
            user_id: r.get::<_, Option<String>>(4)?.and_then(|s| s.parse().ok()),
            device_id: r.get::<_, Option<String>>(5)?.and_then(|s| s.parse().ok()),
            record_at_ms: r.get(6)?,
            flagged_at_ms: r.get(7)?,
        })
    })?;
    rows.collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::ActorId;
    use hecha_shared::case::{create_document, CaseDoc, ChangeNote};
    use hecha_shared::lifecycle::{Actor, Preconditions, Transition};
    use hecha_shared::UnitId;

    const T0: i64 = 1_772_330_400_000;

    fn note() -> ChangeNote {
        ChangeNote {
            action: "t".into(),
            author: "x".into(),
            device: "d".into(),
        }
    }

    fn user(n: u8) -> UserId {
        UserId::from_random_bytes([n; 16])
    }

    fn rid(n: u8) -> RecordId {
        RecordId::from_random_bytes([n; 16])
    }

    fn doc() -> Automerge {
        let case = CaseDoc::new_case(
            CaseId::from_random_bytes([9; 16]),
            &UnitId::new("chaoyang").unwrap(),
            T0,
        );
        create_document(ActorId::from(vec![1u8; 16]), &case, &note(), T0).unwrap()
    }

    fn write(doc: &mut Automerge, t: Transition, who: UserId, role: Role, n: u8) {
        let lc = ld::read(doc);
        let d = lc.derive();
        let record = lifecycle::TransitionRecord {
            id: rid(n),
            prev: d.head,
            from: d.state,
            to: t.target(),
            transition: t,
            by_user: who,
            by_role: role,
            at_ms: T0,
            comment: String::new(),
        };
        ld::write_raw_record(doc, &LifecycleRecord::Transition(record), "x", &note(), T0).unwrap();
    }

    #[test]
    fn a_record_claiming_another_role_or_user_is_flagged() {
        let mut d = doc();
        let ids = record_ids(&d);
        let heads = d.get_heads();
        // A verifier's device writes an acceptance claiming to be a supervisor.
        write(&mut d, Transition::Accept, user(1), Role::Supervisor, 1);
        let found = check(&d, &ids, &heads, user(1), Role::Verifier, T0);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].reason, "role_mismatch");
        assert_eq!(
            found[0].message,
            "流程记录自称“街道审核员”，但操作人的账号是“核查员”"
        );
        // Someone else's name on it.
        let found = check(&d, &ids, &heads, user(2), Role::Supervisor, T0);
        assert_eq!(found[0].reason, "user_mismatch");
        // The true supervisor: fine.
        assert!(check(&d, &ids, &heads, user(1), Role::Supervisor, T0).is_empty());
    }

    #[test]
    fn a_step_whose_preconditions_the_document_does_not_meet_is_flagged() {
        let mut d = doc();
        write(&mut d, Transition::Accept, user(2), Role::Supervisor, 1);
        write(
            &mut d,
            Transition::StartInvestigation,
            user(1),
            Role::Verifier,
            2,
        );
        let ids = record_ids(&d);
        let heads = d.get_heads();
        // Completing an investigation nobody signed (an app that skipped the check).
        write(
            &mut d,
            Transition::CompleteInvestigation,
            user(1),
            Role::Verifier,
            3,
        );
        let found = check(&d, &ids, &heads, user(1), Role::Verifier, T0);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].reason, "precondition");
        assert!(found[0].message.contains("签字"), "{}", found[0].message);
        assert_eq!(found[0].record_id, rid(3));
    }

    #[test]
    fn a_step_the_rules_allow_passes() {
        let mut d = doc();
        let ids = record_ids(&d);
        let heads = d.get_heads();
        let facts = Preconditions::new(date_of_ms(T0));
        let actor = Actor {
            id: rid(1),
            user: user(2),
            role: Role::Supervisor,
            at_ms: T0,
        };
        ld::write_transition(
            &mut d,
            Transition::Accept,
            &actor,
            "审核员",
            &facts,
            &note(),
            T0,
        )
        .unwrap();
        assert!(check(&d, &ids, &heads, user(2), Role::Supervisor, T0).is_empty());
        // A verifier's role may not accept, even when the record says so honestly.
        let mut d2 = doc();
        write(&mut d2, Transition::Accept, user(1), Role::Verifier, 5);
        let found = check(&d2, &BTreeSet::new(), &[], user(1), Role::Verifier, T0);
        assert_eq!(found[0].reason, "role_not_allowed");
        assert_eq!(found[0].message, "核查员无权执行“受理”（仅限街道审核员）");
    }
}
