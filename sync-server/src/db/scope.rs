//! Tables of who may see which case beyond their unit, and of scope losses:
//! `case_assignments` (a case given to a verifier: the bureau's spot checks, or a
//! supervisor's within their unit) and `scope_events` (a case moved out of a unit, an
//! assignment withdrawn, a user moved to another unit), each numbered in the global change
//! sequence so a device's sync cursor says which of them it has not been told of yet.
//! Also the per-user and per-device columns of the device lifecycle (read-only and
//! disabled accounts, revocation reasons).

use hecha_shared::api::Assignment;
use hecha_shared::{CaseId, UnitId, UserId};
use rusqlite::{params, Connection, OptionalExtension};

use super::users::parse_col;

/// Schema: read-only and disabled accounts, revocation reasons, assignments, scope events,
/// one-time enrolment codes.
pub(crate) const MIGRATION_SCOPE: &str = "
ALTER TABLE users ADD COLUMN read_only INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN disabled_at_ms INTEGER;
ALTER TABLE devices ADD COLUMN revoke_reason TEXT;
CREATE TABLE case_assignments (
    user_id TEXT NOT NULL REFERENCES users(user_id),
    case_id TEXT NOT NULL,
    assigned_by TEXT REFERENCES users(user_id),
    assigned_at_ms INTEGER NOT NULL,
    PRIMARY KEY (user_id, case_id)
) WITHOUT ROWID;
CREATE INDEX case_assignments_case ON case_assignments(case_id);
CREATE TABLE scope_events (
    seq INTEGER PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('case_left_unit', 'unassigned', 'user_left_unit')),
    case_id TEXT,
    user_id TEXT,
    unit TEXT,
    at_ms INTEGER NOT NULL
);
CREATE TABLE enrol_codes (
    code_hash BLOB PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(user_id),
    created_by TEXT,
    created_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    used_at_ms INTEGER,
    device_id TEXT
) WITHOUT ROWID;
";

/// What took a case out of someone's scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ScopeEvent {
    /// A case was transferred out of `unit`.
    CaseLeftUnit { case_id: CaseId, unit: UnitId },
    /// A case's assignment to `user` was withdrawn.
    Unassigned { case_id: CaseId, user: UserId },
    /// `user` was moved out of `unit`.
    UserLeftUnit { user: UserId, unit: UnitId },
}

/// Records `event` under sequence number `seq` (handed out in the same transaction).
pub(crate) fn record(
    conn: &Connection,
    seq: i64,
    event: &ScopeEvent,
    at_ms: i64,
) -> rusqlite::Result<()> {
    let (kind, case_id, user, unit) = match event {
        ScopeEvent::CaseLeftUnit { case_id, unit } => {
            ("case_left_unit", Some(*case_id), None, Some(unit))
        }
        ScopeEvent::Unassigned { case_id, user } => {
            ("unassigned", Some(*case_id), Some(*user), None)
        }
        ScopeEvent::UserLeftUnit { user, unit } => {
            ("user_left_unit", None, Some(*user), Some(unit))
        }
    };
    conn.execute(
        "INSERT INTO scope_events (seq, kind, case_id, user_id, unit, at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            seq,
            kind,
            case_id.map(|c| c.to_string()),
            user.map(|u| u.to_string()),
            unit.map(|u| u.as_str().to_owned()),
            at_ms
        ],
    )?;
    Ok(())
}

/// The scope events after `after` that can concern `user`: every case transfer, and the
/// user's own withdrawn assignments and unit changes. In sequence order.
pub(crate) fn events_since(
    conn: &Connection,
    user: UserId,
    after: i64,
) -> rusqlite::Result<Vec<ScopeEvent>> {
    let mut stmt = conn.prepare_cached(
        "SELECT kind, case_id, user_id, unit FROM scope_events
         WHERE seq > ?1 AND (kind = 'case_left_unit' OR user_id = ?2)
         ORDER BY seq",
    )?;
    let rows = stmt.query_map(params![after, user.to_string()], |r| {
        let kind: String = r.get(0)?;
        Ok(match kind.as_str() {
            "case_left_unit" => Some(ScopeEvent::CaseLeftUnit {
                case_id: parse_col(r, 1)?,
                unit: parse_col(r, 3)?,
            }),
            "unassigned" => Some(ScopeEvent::Unassigned {
                case_id: parse_col(r, 1)?,
                user: parse_col(r, 2)?,
            }),
            "user_left_unit" => Some(ScopeEvent::UserLeftUnit {
                user: parse_col(r, 2)?,
                unit: parse_col(r, 3)?,
            }),
            _ => None,
        })
    })?;
    Ok(rows
        .collect::<rusqlite::Result<Vec<_>>>()?
        .into_iter()
        .flatten()
        .collect())
}

/// Every case now placed in `unit`.
pub(crate) fn cases_of_unit(conn: &Connection, unit: &UnitId) -> rusqlite::Result<Vec<CaseId>> {
    let mut stmt = conn.prepare_cached("SELECT case_id FROM cases WHERE unit = ?1")?;
    let rows = stmt.query_map([unit.as_str()], |r| parse_col(r, 0))?;
    rows.collect()
}

/// Whether `case_id` is assigned to `user`.
pub(crate) fn is_assigned(
    conn: &Connection,
    user: UserId,
    case_id: CaseId,
) -> rusqlite::Result<bool> {
    conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM case_assignments WHERE user_id = ?1 AND case_id = ?2)",
    )?
    .query_row(params![user.to_string(), case_id.to_string()], |r| r.get(0))
}

/// Assigns `case_id` to `user`. False if it was assigned already.
pub(crate) fn assign(
    conn: &Connection,
    case_id: CaseId,
    user: UserId,
    by: Option<UserId>,
    at_ms: i64,
) -> rusqlite::Result<bool> {
    let n = conn.execute(
        "INSERT INTO case_assignments (user_id, case_id, assigned_by, assigned_at_ms)
         VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
        params![
            user.to_string(),
            case_id.to_string(),
            by.map(|b| b.to_string()),
            at_ms
        ],
    )?;
    Ok(n == 1)
}

/// Withdraws an assignment. False if there was none.
pub(crate) fn unassign(conn: &Connection, case_id: CaseId, user: UserId) -> rusqlite::Result<bool> {
    let n = conn.execute(
        "DELETE FROM case_assignments WHERE user_id = ?1 AND case_id = ?2",
        params![user.to_string(), case_id.to_string()],
    )?;
    Ok(n == 1)
}

/// A case's assignments, oldest first.
pub(crate) fn assignments_of(
    conn: &Connection,
    case_id: CaseId,
) -> rusqlite::Result<Vec<Assignment>> {
    let mut stmt = conn.prepare(
        "SELECT a.case_id, a.user_id, u.username, u.display_name, b.username, a.assigned_at_ms
         FROM case_assignments a
         JOIN users u ON u.user_id = a.user_id
         LEFT JOIN users b ON b.user_id = a.assigned_by
         WHERE a.case_id = ?1
         ORDER BY a.assigned_at_ms, u.username",
    )?;
    let rows = stmt.query_map([case_id.to_string()], |r| {
        Ok(Assignment {
            case_id: parse_col(r, 0)?,
            user_id: parse_col(r, 1)?,
            username: r.get(2)?,
            display_name: r.get(3)?,
            assigned_by: r.get(4)?,
            assigned_at_ms: r.get(5)?,
        })
    })?;
    rows.collect()
}

/// Moves a case to another unit, giving it sequence number `seq` (so the new unit's
/// devices hear of it). False if the case does not exist.
pub(crate) fn move_case(
    conn: &Connection,
    case_id: CaseId,
    unit: &UnitId,
    seq: i64,
) -> rusqlite::Result<bool> {
    let n = conn.execute(
        "UPDATE cases SET unit = ?2, seq = ?3 WHERE case_id = ?1",
        params![case_id.to_string(), unit.as_str(), seq],
    )?;
    Ok(n == 1)
}

/// Gives a case a new sequence number (its scope widened: its new readers hear of it).
pub(crate) fn touch_case(conn: &Connection, case_id: CaseId, seq: i64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE cases SET seq = ?2 WHERE case_id = ?1",
        params![case_id.to_string(), seq],
    )?;
    Ok(())
}

/// A one-time enrolment code to store (its hash only).
pub(crate) struct NewEnrolCode<'a> {
    pub code_hash: &'a [u8; 32],
    pub user_id: UserId,
    pub created_by: Option<UserId>,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
}

pub(crate) fn insert_enrol_code(
    conn: &Connection,
    code: &NewEnrolCode<'_>,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO enrol_codes (code_hash, user_id, created_by, created_at_ms, expires_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            &code.code_hash[..],
            code.user_id.to_string(),
            code.created_by.map(|u| u.to_string()),
            code.created_at_ms,
            code.expires_at_ms
        ],
    )?;
    Ok(())
}

/// Uses up a code: the user it enrols, if it exists, is unused and has not expired.
/// Call inside the transaction that enrols the device.
pub(crate) fn redeem_enrol_code(
    conn: &Connection,
    code_hash: &[u8; 32],
    now_ms: i64,
    device_id: &str,
) -> rusqlite::Result<Option<UserId>> {
    conn.query_row(
        "UPDATE enrol_codes SET used_at_ms = ?2, device_id = ?3
         WHERE code_hash = ?1 AND used_at_ms IS NULL AND expires_at_ms > ?2
         RETURNING user_id",
        params![&code_hash[..], now_ms, device_id],
        |r| parse_col(r, 0),
    )
    .optional()
}

/// An account's lifecycle flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UserFlags {
    pub read_only: bool,
    pub disabled: bool,
}

pub(crate) fn user_flags(conn: &Connection, user: UserId) -> rusqlite::Result<Option<UserFlags>> {
    conn.prepare_cached("SELECT read_only, disabled_at_ms FROM users WHERE user_id = ?1")?
        .query_row([user.to_string()], |r| {
            Ok(UserFlags {
                read_only: r.get(0)?,
                disabled: r.get::<_, Option<i64>>(1)?.is_some(),
            })
        })
        .optional()
}

/// The account named `username`: id, role code, unit, disabled.
pub(crate) fn user_by_name(
    conn: &Connection,
    username: &str,
) -> rusqlite::Result<Option<(UserId, String, UnitId, bool)>> {
    conn.query_row(
        "SELECT user_id, role, unit, disabled_at_ms FROM users WHERE username = ?1",
        [username],
        |r| {
            Ok((
                parse_col(r, 0)?,
                r.get(1)?,
                parse_col(r, 2)?,
                r.get::<_, Option<i64>>(3)?.is_some(),
            ))
        },
    )
    .optional()
}
