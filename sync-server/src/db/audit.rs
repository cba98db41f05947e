//! Table `audit_log`: who read a whole case or its history, who exported what, who
//! logged in and which device was revoked, when, and why if they said. Rows are only
//! ever added.

use hecha_shared::api::AuditEntry;
use hecha_shared::{DeviceId, UserId};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection};

use super::users::parse_col;

pub(crate) const MIGRATION_3: &str = "
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms INTEGER NOT NULL,
    user_id TEXT REFERENCES users(user_id),
    device_id TEXT,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    reason TEXT
);
CREATE INDEX audit_log_at ON audit_log(at_ms);
CREATE INDEX audit_log_user ON audit_log(user_id, id);
";

/// What was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuditAction {
    /// The whole document of a case (JSON or raw bytes).
    ReadCase,
    ReadHistory,
    /// A ledger export (CSV or XLSX).
    Export,
    Login,
    RevokeDevice,
    /// A case given to a verifier (target `<case id>:<username>`).
    AssignCase,
    /// An assignment withdrawn (target `<case id>:<username>`).
    UnassignCase,
    /// A case moved to another unit (target `<case id>:<from>-><to>`, reason given).
    TransferCase,
    /// A one-time enrolment code made for a user (target: username).
    CreateEnrolCode,
    /// A device enrolled by redeeming a code (target: the new device id).
    EnrolDevice,
    /// An account moved to another unit (target `<username>:<from>-><to>`).
    SetUnit,
    /// An account disabled, its devices revoked (target: username).
    DisableUser,
    /// An account created (target: username).
    AddUser,
}

impl AuditAction {
    pub(crate) fn code(self) -> &'static str {
        match self {
            AuditAction::ReadCase => "read_case",
            AuditAction::ReadHistory => "read_history",
            AuditAction::Export => "export",
            AuditAction::Login => "login",
            AuditAction::RevokeDevice => "revoke_device",
            AuditAction::AssignCase => "assign_case",
            AuditAction::UnassignCase => "unassign_case",
            AuditAction::TransferCase => "transfer_case",
            AuditAction::CreateEnrolCode => "create_enrol_code",
            AuditAction::EnrolDevice => "enrol_device",
            AuditAction::SetUnit => "set_unit",
            AuditAction::DisableUser => "disable_user",
            AuditAction::AddUser => "add_user",
        }
    }
}

/// One row to add. `user_id` is `None` for the server's own administration commands.
pub(crate) struct NewAuditEntry<'a> {
    pub at_ms: i64,
    pub user_id: Option<UserId>,
    pub device_id: Option<DeviceId>,
    pub action: AuditAction,
    pub target: &'a str,
    pub reason: Option<&'a str>,
}

pub(crate) fn insert(conn: &Connection, entry: &NewAuditEntry<'_>) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO audit_log (at_ms, user_id, device_id, action, target, reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            entry.at_ms,
            entry.user_id.map(|u| u.to_string()),
            entry.device_id.map(|d| d.to_string()),
            entry.action.code(),
            entry.target,
            entry.reason,
        ],
    )?;
    Ok(())
}

/// Filters of `GET /api/v1/audit`, already validated.
#[derive(Debug, Clone, Default)]
pub(crate) struct AuditFilter {
    pub since_ms: Option<i64>,
    pub username: Option<String>,
    pub limit: u32,
}

/// The newest entries matching `filter`, newest first.
pub(crate) fn list(conn: &Connection, filter: &AuditFilter) -> rusqlite::Result<Vec<AuditEntry>> {
    let mut clauses: Vec<&str> = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    if let Some(since) = filter.since_ms {
        clauses.push("a.at_ms >= ?");
        args.push(Value::Integer(since));
    }
    if let Some(username) = &filter.username {
        clauses.push("u.username = ?");
        args.push(Value::Text(username.clone()));
    }
    let where_sql = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    args.push(Value::Integer(i64::from(filter.limit)));
    let mut stmt = conn.prepare(&format!(
        "SELECT a.id, a.at_ms, a.user_id, u.username, u.display_name, a.device_id,
                a.action, a.target, a.reason
         FROM audit_log a LEFT JOIN users u ON u.user_id = a.user_id
         {where_sql}
         ORDER BY a.id DESC
         LIMIT ?"
    ))?;
    let rows = stmt.query_map(params_from_iter(args.iter()), |r| {
        let user_id: Option<String> = r.get(2)?;
        let device_id: Option<String> = r.get(5)?;
        Ok(AuditEntry {
            id: r.get(0)?,
            at_ms: r.get(1)?,
            user_id: match user_id {
                Some(_) => Some(parse_col(r, 2)?),
                None => None,
            },
            username: r.get(3)?,
            display_name: r.get(4)?,
            device_id: match device_id {
                Some(_) => Some(parse_col(r, 5)?),
                None => None,
            },
            action: r.get(6)?,
            target: r.get(7)?,
            reason: r.get(8)?,
        })
    })?;
    rows.collect()
}
