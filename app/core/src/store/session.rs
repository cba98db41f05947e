//! Table `session`: who this device is enrolled as, on which server, with which token,
//! and where its sync stands (cursor, last outcome). At most one row.

use hecha_shared::api::Role;
use hecha_shared::app_api::{SessionInfo, SyncState};
use hecha_shared::sync::Cursor;
use hecha_shared::{DeviceId, UnitId, UserId};
use rusqlite::{params, Connection, OptionalExtension};

use crate::error::{CoreError, CoreResult};

pub(crate) const MIGRATION_1: &str = "
CREATE TABLE session (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    server_url   TEXT    NOT NULL,
    token        TEXT    NOT NULL,
    user_id      TEXT    NOT NULL,
    username     TEXT    NOT NULL,
    display_name TEXT    NOT NULL,
    role         TEXT    NOT NULL,
    unit         TEXT    NOT NULL,
    unit_name    TEXT    NOT NULL,
    device_id    TEXT    NOT NULL,
    cursor       INTEGER NOT NULL DEFAULT 0,
    last_sync_ms INTEGER,
    last_state   TEXT,
    last_error   TEXT
);";

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SessionRow {
    pub server_url: String,
    pub token: String,
    pub user_id: UserId,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub unit: UnitId,
    pub unit_name: String,
    pub device_id: DeviceId,
    pub cursor: Cursor,
    /// When the last sync run completed.
    pub last_sync_ms: Option<i64>,
    /// How the last attempt ended (`Synced`, `Offline` or `Refused`); `None` before any.
    pub last_state: Option<SyncState>,
    pub last_error: Option<String>,
}

impl SessionRow {
    pub(crate) fn info(&self) -> SessionInfo {
        SessionInfo {
            server_url: self.server_url.clone(),
            username: self.username.clone(),
            display_name: self.display_name.clone(),
            role: self.role,
            unit: self.unit.clone(),
            unit_name: self.unit_name.clone(),
            device_id: self.device_id,
        }
    }
}

fn state_code(state: SyncState) -> &'static str {
    match state {
        SyncState::NotEnrolled => "not_enrolled",
        SyncState::Offline => "offline",
        SyncState::Syncing => "syncing",
        SyncState::Synced => "synced",
        SyncState::Refused => "refused",
        SyncState::Revoked => "revoked",
    }
}

fn state_from_code(code: &str) -> Option<SyncState> {
    [
        SyncState::NotEnrolled,
        SyncState::Offline,
        SyncState::Syncing,
        SyncState::Synced,
        SyncState::Refused,
        SyncState::Revoked,
    ]
    .into_iter()
    .find(|s| state_code(*s) == code)
}

fn corrupt(what: &str, value: &str) -> CoreError {
    CoreError::Corrupt(format!("session.{what} = {value:?}"))
}

/// The session, if this device is enrolled.
pub(crate) fn get(conn: &Connection) -> CoreResult<Option<SessionRow>> {
    let row = conn
        .query_row(
            "SELECT server_url, token, user_id, username, display_name, role, unit, unit_name,
                    device_id, cursor, last_sync_ms, last_state, last_error
             FROM session WHERE id = 1",
            [],
            |r| {
                Ok((
                    [
                        r.get::<_, String>(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                        r.get(7)?,
                        r.get(8)?,
                    ],
                    r.get::<_, i64>(9)?,
                    r.get::<_, Option<i64>>(10)?,
                    r.get::<_, Option<String>>(11)?,
                    r.get::<_, Option<String>>(12)?,
                ))
            },
        )
        .optional()?;
    let Some((t, cursor, last_sync_ms, last_state, last_error)) = row else {
        return Ok(None);
    };
    let [server_url, token, user_id, username, display_name, role, unit, unit_name, device_id] = t;
    Ok(Some(SessionRow {
        role: Role::from_code(&role).ok_or_else(|| corrupt("role", &role))?,
        user_id: user_id.parse().map_err(|_| corrupt("user_id", &user_id))?,
        unit: UnitId::new(unit.clone()).map_err(|_| corrupt("unit", &unit))?,
        device_id: device_id
            .parse()
            .map_err(|_| corrupt("device_id", &device_id))?,
        cursor: Cursor(u64::try_from(cursor).map_err(|_| corrupt("cursor", &cursor.to_string()))?),
        last_state: last_state.as_deref().and_then(state_from_code),
        server_url,
        token,
        username,
        display_name,
        unit_name,
        last_sync_ms,
        last_error,
    }))
}

/// Stores a fresh enrolment. The sync cursor is kept when the device logs in again to the
/// same server as the same user, and restarts from zero otherwise.
pub(crate) fn enrol(conn: &Connection, row: &SessionRow) -> CoreResult<()> {
    let keep_cursor = match get(conn)? {
        Some(old) => old.server_url == row.server_url && old.user_id == row.user_id,
        None => false,
    };
    let cursor: i64 = if keep_cursor {
        conn.query_row("SELECT cursor FROM session WHERE id = 1", [], |r| r.get(0))?
    } else {
        0
    };
    conn.execute(
        "INSERT OR REPLACE INTO session (id, server_url, token, user_id, username, display_name,
            role, unit, unit_name, device_id, cursor, last_sync_ms, last_state, last_error)
         VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, NULL, NULL, NULL)",
        params![
            row.server_url,
            row.token,
            row.user_id.to_string(),
            row.username,
            row.display_name,
            row.role.code(),
            row.unit.as_str(),
            row.unit_name,
            row.device_id.to_string(),
            cursor,
        ],
    )?;
    Ok(())
}

/// Forgets the session (after a revocation is acknowledged: the device is wiped).
pub(crate) fn delete(conn: &Connection) -> CoreResult<()> {
    conn.execute("DELETE FROM session", [])?;
    Ok(())
}

/// Moves the cursor (always in the transaction that records the change notices it covers).
pub(crate) fn set_cursor(conn: &Connection, cursor: Cursor) -> CoreResult<()> {
    let value = i64::try_from(cursor.0)
        .map_err(|_| CoreError::Protocol(format!("cursor {} out of range", cursor.0)))?;
    conn.execute("UPDATE session SET cursor = ?1 WHERE id = 1", [value])?;
    Ok(())
}

/// Records how a sync attempt ended. `completed_at_ms` is set only for a completed run.
pub(crate) fn record_outcome(
    conn: &Connection,
    state: SyncState,
    error: Option<&str>,
    completed_at_ms: Option<i64>,
) -> CoreResult<()> {
    conn.execute(
        "UPDATE session SET last_state = ?1, last_error = ?2,
                last_sync_ms = COALESCE(?3, last_sync_ms)
         WHERE id = 1",
        params![state_code(state), error, completed_at_ms],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn row(user: u8) -> SessionRow {
        SessionRow {
            server_url: "http://127.0.0.1:1".into(),
            token: "t".into(),
            user_id: UserId::from_random_bytes([user; 16]),
            username: "chaoyang-v1".into(),
            display_name: "朝阳核查员1".into(),
            role: Role::Verifier,
            unit: UnitId::new("chaoyang").unwrap(),
            unit_name: "朝阳街道".into(),
            device_id: DeviceId::from_random_bytes([3; 16]),
            cursor: Cursor(0),
            last_sync_ms: None,
            last_state: None,
            last_error: None,
        }
    }

    #[test]
    fn a_session_round_trips_and_records_outcomes() {
        let store = Store::open_in_memory().unwrap();
        let conn = store.conn();
        assert_eq!(get(conn).unwrap(), None);
        enrol(conn, &row(1)).unwrap();
        set_cursor(conn, Cursor(42)).unwrap();
        record_outcome(conn, SyncState::Offline, Some("无法连接"), None).unwrap();
        let got = get(conn).unwrap().unwrap();
        assert_eq!(got.cursor, Cursor(42));
        assert_eq!(got.last_state, Some(SyncState::Offline));
        assert_eq!(got.last_sync_ms, None);
        record_outcome(conn, SyncState::Synced, None, Some(99)).unwrap();
        let got = get(conn).unwrap().unwrap();
        assert_eq!(
            (got.last_state, got.last_sync_ms),
            (Some(SyncState::Synced), Some(99))
        );
        assert_eq!(got.last_error, None);
        assert_eq!(got.info().unit_name, "朝阳街道");
    }

    #[test]
    fn the_cursor_survives_a_new_login_of_the_same_user_only() {
        let store = Store::open_in_memory().unwrap();
        let conn = store.conn();
        enrol(conn, &row(1)).unwrap();
        set_cursor(conn, Cursor(7)).unwrap();
        enrol(conn, &row(1)).unwrap();
        assert_eq!(get(conn).unwrap().unwrap().cursor, Cursor(7));
        enrol(conn, &row(2)).unwrap();
        assert_eq!(get(conn).unwrap().unwrap().cursor, Cursor(0));
    }
}
