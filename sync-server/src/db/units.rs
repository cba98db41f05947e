//! Table `units`: the bureau and the street/town offices, by code, with display names.

use hecha_shared::UnitId;
use rusqlite::{params, Connection, OptionalExtension};

pub(crate) const MIGRATION_1: &str = "
CREATE TABLE units (
    code TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL
) WITHOUT ROWID;
";

/// Inserts the unit or renames it.
pub(crate) fn put(conn: &Connection, unit: &UnitId, name: &str) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO units (code, name) VALUES (?1, ?2)
         ON CONFLICT(code) DO UPDATE SET name = excluded.name",
        params![unit.as_str(), name],
    )?;
    Ok(())
}

pub(crate) fn name_of(conn: &Connection, unit: &UnitId) -> rusqlite::Result<Option<String>> {
    conn.query_row(
        "SELECT name FROM units WHERE code = ?1",
        [unit.as_str()],
        |r| r.get(0),
    )
    .optional()
}
