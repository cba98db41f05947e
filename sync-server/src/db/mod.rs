//! The server's SQLite store: connection setup, versioned migrations (`PRAGMA
//! user_version`) and the connections handed to blocking work. One module per table.
//!
//! Writes go through the one writer connection behind a mutex, so at most one write
//! transaction runs at a time and the change sequence (`meta`) commits in order: a
//! reader that sees sequence number N also sees every change numbered below N. Reads
//! use a small pool of their own connections (WAL lets them run beside the writer).

pub(crate) mod audit;
pub(crate) mod blobs;
pub(crate) mod cases;
pub(crate) mod devices;
pub(crate) mod meta;
pub(crate) mod scope;
pub(crate) mod units;
pub(crate) mod users;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::Connection;

use crate::ServerError;

/// Each entry is one schema version: the statements that bring version `i` to `i + 1`.
const MIGRATIONS: &[&[&str]] = &[
    &[
        units::MIGRATION_1,
        users::MIGRATION_1,
        devices::MIGRATION_1,
        meta::MIGRATION_1,
        cases::MIGRATION_1,
    ],
    &[devices::MIGRATION_2],
    &[audit::MIGRATION_3],
    &[blobs::MIGRATION_BLOBS],
    &[cases::MIGRATION_LEDGER_V2],
    &[scope::MIGRATION_SCOPE],
    &[
        crate::lifecycle_check::MIGRATION_LIFECYCLE_FLAGS,
        crate::lifecycle_check::MIGRATION_SPOT_CHECKS,
    ],
];

/// Most idle reader connections kept open.
const MAX_IDLE_READERS: usize = 8;

pub(crate) struct Db {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

impl Db {
    pub(crate) fn open(path: PathBuf) -> Result<Db, ServerError> {
        let mut writer = open_connection(&path)?;
        migrate(&mut writer)?;
        Ok(Db {
            path,
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
        })
    }

    /// Runs `work` on the writer connection (callers open their own transaction).
    pub(crate) fn write<T, E>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<rusqlite::Error>,
    {
        let mut conn = lock(&self.writer);
        work(&mut conn)
    }

    /// Runs `work` on a reader connection.
    pub(crate) fn read<T, E>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<rusqlite::Error>,
    {
        let pooled = lock(&self.readers).pop();
        let mut conn = match pooled {
            Some(conn) => conn,
            None => open_connection(&self.path)?,
        };
        let result = work(&mut conn);
        // A connection left inside a transaction (a failed `work`) is not reused.
        if conn.is_autocommit() {
            let mut idle = lock(&self.readers);
            if idle.len() < MAX_IDLE_READERS {
                idle.push(conn);
            }
        }
        result
    }
}

#[cfg(test)]
impl Db {
    /// Calls `f` on the writer and on every idle reader (tests instrument connections).
    pub(crate) fn for_each_connection(&self, mut f: impl FnMut(ConnectionRole, &Connection)) {
        f(ConnectionRole::Writer, &lock(&self.writer));
        for conn in lock(&self.readers).iter() {
            f(ConnectionRole::Reader, conn);
        }
    }
}

#[cfg(test)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConnectionRole {
    Writer,
    Reader,
}

/// A poisoned lock only means another request panicked while holding it; the
/// connection itself is still sound (an open transaction rolled back when dropped).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn open_connection(path: &Path) -> Result<Connection, rusqlite::Error> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(%mode, "SQLite did not switch to WAL mode");
    }
    // In WAL mode NORMAL never corrupts the database; a power cut may lose the last
    // commits, which the devices then send again (the server's sync answer shows it lacks
    // them, and a device keeps its changes until the server holds them). FULL would fsync
    // at every commit, the sync write path's main cost.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> Result<(), ServerError> {
    let known = MIGRATIONS.len() as i64;
    let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if found > known {
        return Err(ServerError::SchemaTooNew { found, known });
    }
    for (version, statements) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction()?;
        for sql in *statements {
            tx.execute_batch(sql)?;
        }
        tx.pragma_update(None, "user_version", version as i64 + 1)?;
        tx.commit()?;
        tracing::info!(version = version + 1, "database migrated");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opening_twice_keeps_the_schema_and_a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.db");
        Db::open(path.clone()).unwrap();
        let db = Db::open(path.clone()).unwrap();
        let version: i64 = db
            .read(|c| c.pragma_query_value(None, "user_version", |r| r.get(0)))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len() as i64);
        db.write(|c| c.pragma_update(None, "user_version", 99))
            .unwrap();
        drop(db);
        assert!(matches!(
            Db::open(path),
            Err(ServerError::SchemaTooNew { found: 99, .. })
        ));
    }
}
