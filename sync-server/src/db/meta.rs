//! Table `meta`: server-wide counters, above all the global change sequence that every
//! case write bumps and that devices' sync cursors point into.

use rusqlite::Connection;

pub(crate) const MIGRATION_1: &str = "
CREATE TABLE meta (
    key TEXT PRIMARY KEY NOT NULL,
    value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO meta (key, value) VALUES ('change_seq', 0);
";

/// The last change sequence number handed out (0: no case written yet).
pub(crate) fn current_seq(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT value FROM meta WHERE key = 'change_seq'", [], |r| {
        r.get(0)
    })
}

/// Hands out the next change sequence number. Call inside the write transaction that
/// stores the change, so the number and the change commit together.
pub(crate) fn next_seq(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row(
        "UPDATE meta SET value = value + 1 WHERE key = 'change_seq' RETURNING value",
        [],
        |r| r.get(0),
    )
}
