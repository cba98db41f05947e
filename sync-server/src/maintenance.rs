//! IT's maintenance of a data directory (`hecha-server admin backup|restore|check`): a
//! consistent online backup (database snapshot with `VACUUM INTO`, then the complete
//! blobs), restore into a data directory, and the integrity check (SQLite's own, every
//! case's ledger row re-derived from its stored Automerge document and compared, every
//! blob's bytes against its SHA-256 name).
//!
//! A backup directory holds `hecha-server.db` and `blobs/` laid out as in the data
//! directory, plus `BACKUP.txt` (what was copied, when). The database is snapshotted
//! before the blobs are copied: a blob is stored before any case can refer to it, so every
//! blob the snapshot's documents name is already on disk when the copy starts.

use std::fmt;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use hecha_shared::blob::is_sha256_hex;
use rusqlite::{Connection, OpenFlags};
use sha2::{Digest, Sha256};

use crate::DB_FILE;

/// The blob directory inside a data directory.
pub const BLOBS_DIR: &str = "blobs";
/// The note a backup leaves beside its copy.
pub const BACKUP_NOTE: &str = "BACKUP.txt";

/// A maintenance command failed; nothing was left half-done unless it says so.
#[derive(Debug, thiserror::Error)]
pub enum MaintenanceError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("database {path}: {source}")]
    Db {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("{0}")]
    Refused(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> MaintenanceError + '_ {
    move |source| MaintenanceError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn db_err(path: &Path) -> impl FnOnce(rusqlite::Error) -> MaintenanceError + '_ {
    move |source| MaintenanceError::Db {
        path: path.to_path_buf(),
        source,
    }
}

/// What a backup wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    pub dir: PathBuf,
    pub db_bytes: u64,
    pub cases: i64,
    pub blobs: usize,
    pub blob_bytes: u64,
}

impl fmt::Display for BackupReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "backup written to {}", self.dir.display())?;
        writeln!(
            f,
            "  database: {} bytes, {} cases",
            self.db_bytes, self.cases
        )?;
        writeln!(f, "  blobs: {} ({} bytes)", self.blobs, self.blob_bytes)
    }
}

/// Backs up `data_dir` into `out` (created; must not exist, or be empty) — or, when `out`
/// is a directory that holds something, into a new `hecha-backup-<UTC time>` inside it.
/// Safe while the server runs: the snapshot is one read transaction.
pub fn backup(
    data_dir: &Path,
    out: &Path,
    now: SystemTime,
) -> Result<BackupReport, MaintenanceError> {
    let db_path = data_dir.join(DB_FILE);
    if !db_path.is_file() {
        return Err(MaintenanceError::Refused(format!(
            "{} has no database ({DB_FILE})",
            data_dir.display()
        )));
    }
    let dir = if is_nonempty_dir(out)? {
        out.join(format!("hecha-backup-{}", utc_stamp(now)))
    } else {
        out.to_path_buf()
    };
    if is_nonempty_dir(&dir)? {
        return Err(MaintenanceError::Refused(format!(
            "{} exists and is not empty",
            dir.display()
        )));
    }
    fs::create_dir_all(&dir).map_err(io(&dir))?;

    let target = dir.join(DB_FILE);
    snapshot_into(&db_path, &target)?;
    let snapshot = open_existing(&target, true)?;
    let cases: i64 = snapshot
        .query_row("SELECT count(*) FROM cases", [], |r| r.get(0))
        .map_err(db_err(&target))?;
    drop(snapshot);
    let db_bytes = fs::metadata(&target).map_err(io(&target))?.len();

    let (blobs, blob_bytes) = copy_blobs(&data_dir.join(BLOBS_DIR), &dir.join(BLOBS_DIR))?;
    let note = format!(
        "hecha-server backup\ncreated_utc = {}\nsource = {}\ndatabase_bytes = {db_bytes}\n\
         cases = {cases}\nblobs = {blobs}\nblob_bytes = {blob_bytes}\n\
         restore: hecha-server admin restore --from <this directory> --data-dir <dir>\n",
        utc_stamp(now),
        data_dir.display()
    );
    let note_path = dir.join(BACKUP_NOTE);
    fs::write(&note_path, note).map_err(io(&note_path))?;
    Ok(BackupReport {
        dir,
        db_bytes,
        cases,
        blobs,
        blob_bytes,
    })
}

/// What a restore wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreReport {
    pub data_dir: PathBuf,
    pub cases: i64,
    pub blobs: usize,
}

impl fmt::Display for RestoreReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "restored into {}: {} cases, {} blobs",
            self.data_dir.display(),
            self.cases,
            self.blobs
        )
    }
}

/// Restores the backup in `from` into `data_dir`. The backup is checked first (SQLite
/// integrity, blob hashes); a data directory holding anything is refused unless `force`,
/// which replaces its database and blobs. Stop the server before restoring.
pub fn restore(
    from: &Path,
    data_dir: &Path,
    force: bool,
) -> Result<RestoreReport, MaintenanceError> {
    let source_db = from.join(DB_FILE);
    if !source_db.is_file() {
        return Err(MaintenanceError::Refused(format!(
            "{} is not a backup: it has no {DB_FILE}",
            from.display()
        )));
    }
    let verified = check_integrity_only(from)?;
    if !verified.is_clean() {
        return Err(MaintenanceError::Refused(format!(
            "the backup in {} is damaged; nothing was restored:\n{verified}",
            from.display()
        )));
    }
    let replacing = is_nonempty_dir(data_dir)?;
    if replacing && !force {
        return Err(MaintenanceError::Refused(format!(
            "{} is not empty; pass --force to replace its database and blobs",
            data_dir.display()
        )));
    }
    fs::create_dir_all(data_dir).map_err(io(data_dir))?;
    // Copy under a temporary name first: the old database is removed only once the new one
    // is complete beside it, and a cut-short copy is never taken for a database.
    let partial = data_dir.join(format!("{DB_FILE}.restoring"));
    fs::copy(&source_db, &partial).map_err(io(&partial))?;
    if replacing {
        for name in [format!("{DB_FILE}-wal"), format!("{DB_FILE}-shm")] {
            let path = data_dir.join(name);
            if path.exists() {
                fs::remove_file(&path).map_err(io(&path))?;
            }
        }
        let blobs = data_dir.join(BLOBS_DIR);
        if blobs.exists() {
            fs::remove_dir_all(&blobs).map_err(io(&blobs))?;
        }
    }
    let target = data_dir.join(DB_FILE);
    fs::rename(&partial, &target).map_err(io(&target))?;
    let (blobs, _) = copy_blobs(&from.join(BLOBS_DIR), &data_dir.join(BLOBS_DIR))?;
    Ok(RestoreReport {
        data_dir: data_dir.to_path_buf(),
        cases: verified.cases,
        blobs,
    })
}

/// One case whose ledger row does not say what its document says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    pub case_id: String,
    /// `column: stored → derived` for each differing column.
    pub differences: Vec<String>,
}

/// The outcome of [`check`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// `PRAGMA integrity_check` lines other than `ok`.
    pub integrity_errors: Vec<String>,
    pub cases: i64,
    /// Cases whose stored bytes do not load as a case document.
    pub unreadable: Vec<String>,
    pub drift: Vec<Drift>,
    /// Rows rewritten (with `repair`).
    pub repaired: usize,
    pub blobs_ok: usize,
    /// Blob files whose bytes do not hash to their name.
    pub blobs_bad: Vec<String>,
}

impl CheckReport {
    /// Nothing wrong (repaired drift counts as fixed).
    pub fn is_clean(&self) -> bool {
        self.integrity_errors.is_empty()
            && self.blobs_bad.is_empty()
            && (self.drift.is_empty() || self.repaired == self.drift.len())
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.integrity_errors.is_empty() {
            writeln!(f, "sqlite integrity: ok")?;
        } else {
            writeln!(
                f,
                "sqlite integrity: {} problems",
                self.integrity_errors.len()
            )?;
            for e in &self.integrity_errors {
                writeln!(f, "  {e}")?;
            }
        }
        writeln!(
            f,
            "cases: {} checked, {} drifted, {} repaired",
            self.cases,
            self.drift.len(),
            self.repaired
        )?;
        for d in &self.drift {
            writeln!(f, "  drift {}: {}", d.case_id, d.differences.join("; "))?;
        }
        if !self.unreadable.is_empty() {
            writeln!(
                f,
                "  {} stored documents do not read as cases (ledger left empty): {}",
                self.unreadable.len(),
                self.unreadable.join(", ")
            )?;
        }
        writeln!(
            f,
            "blobs: {} ok, {} damaged",
            self.blobs_ok,
            self.blobs_bad.len()
        )?;
        for b in &self.blobs_bad {
            writeln!(f, "  damaged blob {b}")?;
        }
        writeln!(
            f,
            "{}",
            if self.is_clean() {
                "result: OK"
            } else {
                "result: PROBLEMS FOUND"
            }
        )
    }
}

/// Checks `data_dir`: SQLite integrity, every case's ledger row against its document
/// (with `repair`, drifted rows are rewritten in one transaction), every blob's hash.
/// Safe while the server runs.
pub fn check(data_dir: &Path, repair: bool) -> Result<CheckReport, MaintenanceError> {
    let mut report = check_integrity_only(data_dir)?;
    let db_path = data_dir.join(DB_FILE);
    // The re-derivation writes (then rolls back): run it on a snapshot, so the live
    // database's writers are not held up.
    let scratch = std::env::temp_dir().join(format!(
        "hecha-check-{}-{}.db",
        std::process::id(),
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    let found = (|| {
        snapshot_into(&db_path, &scratch)?;
        let mut conn = open_existing(&scratch, false)?;
        crate::ledger_check::drift(&mut conn).map_err(db_err(&scratch))
    })();
    let _ = fs::remove_file(&scratch);
    let found = found?;
    report.unreadable = found.unreadable;
    report.drift = found.drift;
    if repair && !report.drift.is_empty() {
        let ids: Vec<String> = report.drift.iter().map(|d| d.case_id.clone()).collect();
        let mut conn = open_existing(&db_path, false)?;
        report.repaired = crate::ledger_check::repair(&mut conn, &ids).map_err(db_err(&db_path))?;
    }
    Ok(report)
}

/// A consistent copy of the database at `db_path` in the new file `target`.
fn snapshot_into(db_path: &Path, target: &Path) -> Result<(), MaintenanceError> {
    let source = open_existing(db_path, false)?;
    let target_text = target
        .to_str()
        .ok_or_else(|| MaintenanceError::Refused(format!("{} is not UTF-8", target.display())))?;
    source
        .execute("VACUUM INTO ?1", [target_text])
        .map_err(db_err(db_path))?;
    Ok(())
}

/// SQLite integrity, the number of cases and the blob hashes (no ledger work).
fn check_integrity_only(dir: &Path) -> Result<CheckReport, MaintenanceError> {
    let db_path = dir.join(DB_FILE);
    if !db_path.is_file() {
        return Err(MaintenanceError::Refused(format!(
            "{} has no database ({DB_FILE})",
            dir.display()
        )));
    }
    let conn = open_existing(&db_path, true)?;
    let mut report = CheckReport::default();
    {
        let mut stmt = conn
            .prepare("PRAGMA integrity_check")
            .map_err(db_err(&db_path))?;
        let lines = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(db_err(&db_path))?;
        report.integrity_errors = lines.into_iter().filter(|l| l != "ok").collect();
    }
    report.cases = conn
        .query_row("SELECT count(*) FROM cases", [], |r| r.get(0))
        .map_err(db_err(&db_path))?;
    let (ok, bad) = verify_blobs(&dir.join(BLOBS_DIR))?;
    report.blobs_ok = ok;
    report.blobs_bad = bad;
    Ok(report)
}

fn open_existing(path: &Path, read_only: bool) -> Result<Connection, MaintenanceError> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags).map_err(db_err(path))?;
    conn.busy_timeout(std::time::Duration::from_secs(30))
        .map_err(db_err(path))?;
    Ok(conn)
}

fn is_nonempty_dir(path: &Path) -> Result<bool, MaintenanceError> {
    match fs::read_dir(path) {
        Ok(mut entries) => Ok(entries.next().is_some()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => Err(MaintenanceError::Refused(
            format!("{} is a file, not a directory", path.display()),
        )),
        Err(e) => Err(io(path)(e)),
    }
}

/// Every complete blob under `dir`: files named by 64 hex digits (partial uploads and
/// anything else are left out), with their path relative to `dir`.
fn blob_files(dir: &Path) -> Result<Vec<(PathBuf, String)>, MaintenanceError> {
    let mut found = Vec::new();
    if !dir.is_dir() {
        return Ok(found);
    }
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in fs::read_dir(&current).map_err(io(&current))? {
            let entry = entry.map_err(io(&current))?;
            let path = entry.path();
            let kind = entry.file_type().map_err(io(&path))?;
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_file() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if is_sha256_hex(&name) {
                    let relative = path.strip_prefix(dir).unwrap_or(&path).to_path_buf();
                    found.push((relative, name));
                }
            }
        }
    }
    found.sort();
    Ok(found)
}

fn sha256_file(path: &Path) -> Result<String, MaintenanceError> {
    let mut file = fs::File::open(path).map_err(io(path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf).map_err(io(path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

fn verify_blobs(dir: &Path) -> Result<(usize, Vec<String>), MaintenanceError> {
    let mut ok = 0;
    let mut bad = Vec::new();
    for (relative, name) in blob_files(dir)? {
        if sha256_file(&dir.join(&relative))? == name {
            ok += 1;
        } else {
            bad.push(relative.display().to_string());
        }
    }
    Ok((ok, bad))
}

/// Copies the complete blobs of `from` into `to` (same layout). Returns how many and
/// their bytes.
fn copy_blobs(from: &Path, to: &Path) -> Result<(usize, u64), MaintenanceError> {
    let mut count = 0;
    let mut bytes = 0;
    for (relative, _) in blob_files(from)? {
        let target = to.join(&relative);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(io(parent))?;
        }
        bytes += fs::copy(from.join(&relative), &target).map_err(io(&target))?;
        count += 1;
    }
    Ok((count, bytes))
}

/// `YYYYMMDDTHHMMSSZ` (UTC) of `t`.
fn utc_stamp(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_utc_calendar_times() {
        let t = UNIX_EPOCH + std::time::Duration::from_secs(1_795_833_009);
        assert_eq!(utc_stamp(t), "20261128T023009Z");
        assert_eq!(utc_stamp(UNIX_EPOCH), "19700101T000000Z");
        let leap = UNIX_EPOCH + std::time::Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(utc_stamp(leap), "20000229T000000Z");
    }
}
