//! Table `devices`: one row per login (enrolment) with the SHA-256 hash of the device's
//! bearer token, its Automerge actor id, and when it was revoked, if it was.

use hecha_shared::api::UserInfo;
use hecha_shared::{DeviceId, UserId};
use rusqlite::{params, Connection, OptionalExtension};

use super::users::{info_from_row, parse_col};

pub(crate) const MIGRATION_1: &str = "
CREATE TABLE devices (
    device_id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(user_id),
    device_name TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    token_hash BLOB NOT NULL UNIQUE,
    created_at_ms INTEGER NOT NULL,
    revoked_at_ms INTEGER
);
CREATE INDEX devices_user ON devices(user_id);
";

/// Schema 2: actor ids are looked up at every login (one actor belongs to one user) and
/// when a case's history is attributed.
pub(crate) const MIGRATION_2: &str = "
CREATE INDEX devices_actor ON devices(actor_id, created_at_ms);
";

/// A device as the administration commands list it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRecord {
    pub device_id: DeviceId,
    pub user_id: UserId,
    pub username: String,
    pub device_name: String,
    /// The Automerge actor id (hex) the device writes with.
    pub actor_id: String,
    pub created_at_ms: i64,
    /// When IT revoked the device's token; `None` while it is valid.
    pub revoked_at_ms: Option<i64>,
    /// Why it was revoked (told to the device at its next contact).
    pub revoke_reason: Option<String>,
}

pub(crate) struct NewDevice<'a> {
    pub device_id: DeviceId,
    pub user_id: UserId,
    pub device_name: &'a str,
    pub actor_id: &'a str,
    pub token_hash: &'a [u8; 32],
    pub created_at_ms: i64,
}

/// The device a token belongs to, with its user.
pub(crate) struct TokenOwner {
    pub device_id: DeviceId,
    /// The actor id (hex) registered at the device's login.
    pub actor_id: String,
    pub revoked: bool,
    pub revoke_reason: Option<String>,
    pub user: UserInfo,
    /// When the device logged in (its token's lifetime counts from here).
    pub created_at_ms: i64,
}

pub(crate) fn insert(conn: &Connection, device: &NewDevice<'_>) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO devices (device_id, user_id, device_name, actor_id, token_hash, created_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            device.device_id.to_string(),
            device.user_id.to_string(),
            device.device_name,
            device.actor_id,
            &device.token_hash[..],
            device.created_at_ms
        ],
    )?;
    Ok(())
}

pub(crate) fn find_by_token_hash(
    conn: &Connection,
    token_hash: &[u8; 32],
) -> rusqlite::Result<Option<TokenOwner>> {
    conn.query_row(
        "SELECT d.device_id, d.actor_id, d.revoked_at_ms, d.revoke_reason,
                u.user_id, u.username, u.display_name, u.role, u.unit, n.name, u.read_only,
                d.created_at_ms
         FROM devices d
         JOIN users u ON u.user_id = d.user_id
         JOIN units n ON n.code = u.unit
         WHERE d.token_hash = ?1",
        [&token_hash[..]],
        |r| {
            Ok(TokenOwner {
                device_id: parse_col(r, 0)?,
                actor_id: r.get(1)?,
                revoked: r.get::<_, Option<i64>>(2)?.is_some(),
                revoke_reason: r.get(3)?,
                user: info_from_row(r, 4)?,
                created_at_ms: r.get(11)?,
            })
        },
    )
    .optional()
}

/// Whether a device of a user other than `user` was ever enrolled with `actor_id`
/// (revoked devices count: their changes stay in the documents under that actor).
pub(crate) fn actor_taken_by_other_user(
    conn: &Connection,
    actor_id: &str,
    user: UserId,
) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM devices WHERE actor_id = ?1 AND user_id <> ?2)",
        params![actor_id, user.to_string()],
        |r| r.get(0),
    )
}

/// Who wrote with an actor: the first device enrolled with it and that device's user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ActorOwner {
    pub device_id: DeviceId,
    pub device_name: String,
    pub user_id: UserId,
    pub username: String,
    pub display_name: String,
}

pub(crate) fn owner_of_actor(
    conn: &Connection,
    actor_id: &str,
) -> rusqlite::Result<Option<ActorOwner>> {
    let mut stmt = conn.prepare_cached(
        "SELECT d.device_id, d.device_name, u.user_id, u.username, u.display_name
         FROM devices d JOIN users u ON u.user_id = d.user_id
         WHERE d.actor_id = ?1
         ORDER BY d.created_at_ms, d.device_id
         LIMIT 1",
    )?;
    stmt.query_row([actor_id], |r| {
        Ok(ActorOwner {
            device_id: parse_col(r, 0)?,
            device_name: r.get(1)?,
            user_id: parse_col(r, 2)?,
            username: r.get(3)?,
            display_name: r.get(4)?,
        })
    })
    .optional()
}

/// Marks the device revoked, with the reason told to it. False if it does not exist or
/// was revoked already.
pub(crate) fn revoke(
    conn: &Connection,
    device: DeviceId,
    now_ms: i64,
    reason: Option<&str>,
) -> rusqlite::Result<bool> {
    let n = conn.execute(
        "UPDATE devices SET revoked_at_ms = ?2, revoke_reason = ?3
         WHERE device_id = ?1 AND revoked_at_ms IS NULL",
        params![device.to_string(), now_ms, reason],
    )?;
    Ok(n == 1)
}

/// The devices of `user` not yet revoked.
pub(crate) fn active_of_user(conn: &Connection, user: UserId) -> rusqlite::Result<Vec<DeviceId>> {
    let mut stmt =
        conn.prepare("SELECT device_id FROM devices WHERE user_id = ?1 AND revoked_at_ms IS NULL")?;
    let rows = stmt.query_map([user.to_string()], |r| parse_col(r, 0))?;
    rows.collect()
}

pub(crate) fn list(conn: &Connection) -> rusqlite::Result<Vec<DeviceRecord>> {
    let mut stmt = conn.prepare(
        "SELECT d.device_id, d.user_id, u.username, d.device_name, d.actor_id,
                d.created_at_ms, d.revoked_at_ms, d.revoke_reason
         FROM devices d JOIN users u ON u.user_id = d.user_id
         ORDER BY d.created_at_ms DESC, d.device_id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(DeviceRecord {
            device_id: parse_col(r, 0)?,
            user_id: parse_col(r, 1)?,
            username: r.get(2)?,
            device_name: r.get(3)?,
            actor_id: r.get(4)?,
            created_at_ms: r.get(5)?,
            revoked_at_ms: r.get(6)?,
            revoke_reason: r.get(7)?,
        })
    })?;
    rows.collect()
}
