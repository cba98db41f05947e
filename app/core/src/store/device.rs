//! Table `device`: this installation's identity, the Automerge actor id every local
//! change is written with. Generated once, at the first open, and never changed.

use automerge::ActorId;
use rusqlite::{params, Connection, OptionalExtension};

use crate::error::CoreResult;

pub(crate) const MIGRATION_1: &str = "
CREATE TABLE device (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    actor         BLOB    NOT NULL,
    created_at_ms INTEGER NOT NULL
);";

/// The device's actor id; creates it from `random` (16 fresh random bytes) if the store
/// has none yet.
pub(crate) fn get_or_create(
    conn: &Connection,
    random: [u8; 16],
    now_ms: i64,
) -> CoreResult<ActorId> {
    let existing: Option<Vec<u8>> = conn
        .query_row("SELECT actor FROM device WHERE id = 1", [], |r| r.get(0))
        .optional()?;
    if let Some(bytes) = existing {
        return Ok(ActorId::from(bytes));
    }
    conn.execute(
        "INSERT INTO device (id, actor, created_at_ms) VALUES (1, ?1, ?2)",
        params![random.as_slice(), now_ms],
    )?;
    Ok(ActorId::from(random))
}

/// Replaces the actor id (another account takes the device over).
pub(crate) fn replace(conn: &Connection, actor: &ActorId, now_ms: i64) -> CoreResult<()> {
    conn.execute(
        "INSERT OR REPLACE INTO device (id, actor, created_at_ms) VALUES (1, ?1, ?2)",
        params![actor.to_bytes(), now_ms],
    )?;
    Ok(())
}
