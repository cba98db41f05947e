//! Form drafts: the visit form as typed, kept after every edit so a form killed mid-entry
//! (app closed, phone restarted) comes back exactly as left. Not validated, not synced;
//! one row per key (a case id, or `new` for a case not saved yet).

use hecha_shared::case::CaseForm;
use rusqlite::{params, Connection, OptionalExtension};

use crate::error::CoreResult;

pub(crate) const MIGRATION_DRAFTS: &str = "
CREATE TABLE drafts (
    key          TEXT PRIMARY KEY,
    form_json    TEXT NOT NULL,
    saved_at_ms  INTEGER NOT NULL
) STRICT;
";

/// Keeps `form` under `key`, replacing any earlier draft.
pub(crate) fn put(conn: &Connection, key: &str, form: &CaseForm, now_ms: i64) -> CoreResult<()> {
    let json = serde_json::to_string(form)
        .map_err(|e| crate::error::CoreError::Corrupt(format!("draft not representable: {e}")))?;
    conn.execute(
        "INSERT OR REPLACE INTO drafts (key, form_json, saved_at_ms) VALUES (?1, ?2, ?3)",
        params![key, json, now_ms],
    )?;
    Ok(())
}

/// The draft kept under `key`. A draft an older or newer build wrote that no longer parses
/// counts as none (it is left in place for a build that can read it).
pub(crate) fn get(conn: &Connection, key: &str) -> CoreResult<Option<CaseForm>> {
    let json: Option<String> = conn
        .query_row("SELECT form_json FROM drafts WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .optional()?;
    Ok(json.and_then(|j| {
        serde_json::from_str(&j)
            .map_err(|e| tracing::warn!(error = %e, key, "draft unreadable"))
            .ok()
    }))
}

pub(crate) fn delete(conn: &Connection, key: &str) -> CoreResult<()> {
    conn.execute("DELETE FROM drafts WHERE key = ?1", [key])?;
    Ok(())
}

/// Removes every draft (another account takes the device over).
pub(crate) fn delete_all(conn: &Connection) -> CoreResult<()> {
    conn.execute("DELETE FROM drafts", [])?;
    Ok(())
}
