//! Tables `blobs` (each photo file the server has received, whole or in part: declared
//! size, bytes held, which device sent it, when) and `blob_refs` (which cases' documents
//! name which blobs — the basis of who may upload and read a blob).
//!
//! The files themselves live under `<data_dir>/blobs` (see `crate::blobs`); a row here
//! is bookkeeping, the file is the truth (a complete file exists only once verified).

use hecha_shared::{CaseId, DeviceId};
use rusqlite::{params, Connection, OptionalExtension};

use super::cases::CaseScope;
use super::users::parse_col;

pub(crate) const MIGRATION_BLOBS: &str = "
CREATE TABLE blobs (
    sha256 TEXT PRIMARY KEY NOT NULL,
    size INTEGER NOT NULL,
    received INTEGER NOT NULL DEFAULT 0,
    complete INTEGER NOT NULL DEFAULT 0,
    uploaded_by TEXT,
    started_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    completed_at_ms INTEGER
) WITHOUT ROWID;
CREATE TABLE blob_refs (
    sha256 TEXT NOT NULL,
    case_id TEXT NOT NULL,
    PRIMARY KEY (sha256, case_id)
) WITHOUT ROWID;
CREATE INDEX blob_refs_by_case ON blob_refs(case_id);
";

/// A blob's bookkeeping row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BlobRow {
    pub size: u64,
    pub received: u64,
    pub complete: bool,
    pub uploaded_by: Option<DeviceId>,
}

/// Records that `case_id`'s document names these blobs (never removed: a photo once in a
/// case stays part of its history).
pub(crate) fn add_refs<'a>(
    conn: &Connection,
    case_id: CaseId,
    hashes: impl IntoIterator<Item = &'a String>,
) -> rusqlite::Result<()> {
    let mut stmt =
        conn.prepare_cached("INSERT OR IGNORE INTO blob_refs (sha256, case_id) VALUES (?1, ?2)")?;
    let case = case_id.to_string();
    for hash in hashes {
        stmt.execute(params![hash, case])?;
    }
    Ok(())
}

/// Whether a case within `scope` names the blob.
pub(crate) fn referenced_in_scope(
    conn: &Connection,
    sha256: &str,
    scope: CaseScope<'_>,
) -> rusqlite::Result<bool> {
    match scope.sql() {
        None => conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM blob_refs WHERE sha256 = ?1)",
            [sha256],
            |r| r.get(0),
        ),
        // The scope's own condition on `cases c` (its unit, or the cases assigned to the
        // caller): see `CaseScope::sql`.
        Some((cond, scope_args)) => {
            let mut args = vec![rusqlite::types::Value::Text(sha256.to_owned())];
            args.extend(scope_args);
            conn.query_row(
                &format!(
                    "SELECT EXISTS (SELECT 1 FROM blob_refs r JOIN cases c ON c.case_id = r.case_id
                                    WHERE r.sha256 = ? AND {cond})"
                ),
                rusqlite::params_from_iter(args.iter()),
                |r| r.get(0),
            )
        }
    }
}

pub(crate) fn get(conn: &Connection, sha256: &str) -> rusqlite::Result<Option<BlobRow>> {
    conn.query_row(
        "SELECT size, received, complete, uploaded_by FROM blobs WHERE sha256 = ?1",
        [sha256],
        |r| {
            let by: Option<String> = r.get(3)?;
            Ok(BlobRow {
                size: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                received: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                complete: r.get(2)?,
                uploaded_by: match by {
                    Some(_) => Some(parse_col(r, 3)?),
                    None => None,
                },
            })
        },
    )
    .optional()
}

/// Records the progress of an upload (creating the row at its first chunk).
pub(crate) fn record_progress(
    conn: &Connection,
    sha256: &str,
    size: u64,
    received: u64,
    device: DeviceId,
    now_ms: i64,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO blobs (sha256, size, received, uploaded_by, started_at_ms, updated_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)
         ON CONFLICT (sha256) DO UPDATE SET
            size = excluded.size, received = excluded.received,
            uploaded_by = excluded.uploaded_by, updated_at_ms = excluded.updated_at_ms",
        params![
            sha256,
            i64::try_from(size).unwrap_or(i64::MAX),
            i64::try_from(received).unwrap_or(i64::MAX),
            device.to_string(),
            now_ms
        ],
    )?;
    Ok(())
}

/// Marks a blob complete (its file verified and in place).
pub(crate) fn mark_complete(
    conn: &Connection,
    sha256: &str,
    size: u64,
    device: DeviceId,
    now_ms: i64,
) -> rusqlite::Result<()> {
    record_progress(conn, sha256, size, size, device, now_ms)?;
    conn.execute(
        "UPDATE blobs SET complete = 1, completed_at_ms = ?2 WHERE sha256 = ?1",
        params![sha256, now_ms],
    )?;
    Ok(())
}

/// Forgets an upload (its partial file was discarded).
pub(crate) fn delete(conn: &Connection, sha256: &str) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM blobs WHERE sha256 = ?1", [sha256])?;
    Ok(())
}
