//! The device's local SQLite store (`<data_dir>/hecha.db`): one file per table, each with
//! its migration, its row type and its reads and writes.
//!
//! Every multi-row change that must stay consistent (a saved document with its dirty flag
//! and summary; change notices with the cursor they come with) goes through one
//! [`rusqlite::Transaction`], so a crash leaves either all of it or none.

pub mod blobs;
pub(crate) mod cases;
pub(crate) mod device;
pub(crate) mod drafts;
pub(crate) mod photo_queue;
pub(crate) mod session;

use std::path::Path;

use rusqlite::{Connection, Transaction};

use crate::error::CoreResult;

/// Schema migrations, in order: migration `i` brings the schema to `user_version = i + 1`.
const MIGRATIONS: &[&[&str]] = &[
    &[
        device::MIGRATION_1,
        session::MIGRATION_1,
        cases::MIGRATION_1,
    ],
    &[photo_queue::MIGRATION_PHOTOS],
    &[drafts::MIGRATION_DRAFTS],
    &[cases::MIGRATION_URGENT],
];

/// The open store. Not `Sync`: the core keeps it behind a mutex.
pub(crate) struct Store {
    conn: Connection,
}

impl Store {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub(crate) fn open(path: &Path) -> CoreResult<Store> {
        let conn = Connection::open(path)?;
        // WAL keeps readers and the writer apart; FULL so an acknowledged save survives a
        // power cut (field phones run flat).
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        Self::with_connection(conn)
    }

    #[cfg(test)]
    pub(crate) fn open_in_memory() -> CoreResult<Store> {
        Self::with_connection(Connection::open_in_memory()?)
    }

    fn with_connection(mut conn: Connection) -> CoreResult<Store> {
        migrate(&mut conn)?;
        Ok(Store { conn })
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    pub(crate) fn transaction(&mut self) -> CoreResult<Transaction<'_>> {
        Ok(self.conn.transaction()?)
    }
}

fn migrate(conn: &mut Connection) -> CoreResult<()> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let tx = conn.transaction()?;
    for (i, steps) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
        for sql in *steps {
            tx.execute_batch(sql)?;
        }
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reopening_a_store_keeps_its_data_and_does_not_migrate_twice() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hecha.db");
        let actor = {
            let mut store = Store::open(&path).unwrap();
            let tx = store.transaction().unwrap();
            let actor = device::get_or_create(&tx, [7; 16], 1).unwrap();
            tx.commit().unwrap();
            actor
        };
        let mut store = Store::open(&path).unwrap();
        let tx = store.transaction().unwrap();
        assert_eq!(device::get_or_create(&tx, [9; 16], 2).unwrap(), actor);
        let version: i64 = tx
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len() as i64);
    }
}
