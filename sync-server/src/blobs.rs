//! The content-addressed blob store: photo files (full images and thumbnails) received in
//! chunks, verified by SHA-256 before they are kept, and served to callers whose scope
//! holds a case naming them. The protocol is in `hecha_shared::blob`.
//!
//! Files live under `<data_dir>/blobs`: a complete blob at `<first 2 hex>/<sha256>`
//! (present only once its whole content hashed to its name), an upload in progress at
//! `partial/<sha256>.part`. The partial file's length is the upload's offset; the
//! `blobs` table only mirrors it for people (progress, who sent it, when). Chunks of
//! one blob are serialised by a striped lock, so two devices sending the same photo at
//! once cannot interleave their bytes.
//!
//! Who may touch a blob: a caller whose scope holds a case whose document names it
//! (`blob_refs`, written at each document store); everyone else, IT admin always, gets
//! the one answer `unavailable`, whether the blob exists or not.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use hecha_shared::blob::{
    is_sha256_hex, BlobStatus, ContentRange, MAX_BLOB_BYTES, MAX_CHUNK_BYTES,
};
use sha2::{Digest, Sha256};

use crate::auth::{Caller, Scope};
use crate::db;
use crate::error::ApiError;
use crate::AppState;

/// The blob directory inside the data directory.
pub const BLOBS_DIR: &str = "blobs";
const PARTIAL_DIR: &str = "partial";

/// Locks serialising the chunks of one blob (striped by the hash's first byte).
static LOCKS: [Mutex<()>; 64] = [const { Mutex::new(()) }; 64];

fn lock_for(sha256: &str) -> MutexGuard<'static, ()> {
    let stripe = u8::from_str_radix(sha256.get(..2).unwrap_or("00"), 16).unwrap_or(0) as usize;
    LOCKS[stripe % LOCKS.len()]
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A blob name from a request path: 64 lowercase hex digits, else 400.
pub(crate) fn parse_name(raw: &str) -> Result<String, ApiError> {
    if is_sha256_hex(raw) {
        Ok(raw.to_string())
    } else {
        Err(ApiError::BadRequest(
            "照片编号应为64位小写十六进制的 SHA-256".to_string(),
        ))
    }
}

fn root(state: &AppState) -> PathBuf {
    state.config().data_dir.join(BLOBS_DIR)
}

fn complete_path(root: &Path, sha256: &str) -> PathBuf {
    root.join(&sha256[..2]).join(sha256)
}

fn partial_path(root: &Path, sha256: &str) -> PathBuf {
    root.join(PARTIAL_DIR).join(format!("{sha256}.part"))
}

fn io_error(what: &str, e: io::Error) -> ApiError {
    ApiError::internal(format!("blob store, {what}: {e}"))
}

/// Length of a file, 0 if it does not exist.
fn file_len(path: &Path) -> Result<u64, ApiError> {
    match fs::metadata(path) {
        Ok(m) => Ok(m.len()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(io_error("stat", e)),
    }
}

/// Refuses unless a case in the caller's scope names the blob.
fn check_access(state: &AppState, scope: &Scope, sha256: &str) -> Result<(), ApiError> {
    let Some(cases) = scope.cases() else {
        return Err(ApiError::Unavailable);
    };
    let referenced = state
        .db()
        .read(|conn| db::blobs::referenced_in_scope(conn, sha256, cases))?;
    if referenced {
        Ok(())
    } else {
        Err(ApiError::Unavailable)
    }
}

/// What the server holds of a blob (the caller must be allowed to see it).
fn current_status(state: &AppState, sha256: &str) -> Result<BlobStatus, ApiError> {
    let root = root(state);
    let complete = file_len(&complete_path(&root, sha256))?;
    if complete > 0 {
        return Ok(BlobStatus {
            sha256: sha256.to_string(),
            size: complete,
            received: complete,
            complete: true,
        });
    }
    let row = state.db().read(|conn| db::blobs::get(conn, sha256))?;
    let received = file_len(&partial_path(&root, sha256))?;
    Ok(BlobStatus {
        sha256: sha256.to_string(),
        size: row.map_or(0, |r| r.size),
        received,
        complete: false,
    })
}

/// `GET /api/v1/blobs/{sha256}/status`.
pub(crate) fn status(
    state: &AppState,
    caller: &Caller,
    sha256: &str,
) -> Result<BlobStatus, ApiError> {
    check_access(state, &caller.scope(), sha256)?;
    current_status(state, sha256)
}

/// `PUT /api/v1/blobs/{sha256}`: one chunk. Appended when it starts where the held bytes
/// end; the last chunk makes the whole be verified and kept, or discarded.
pub(crate) fn put_chunk(
    state: &AppState,
    caller: &Caller,
    sha256: &str,
    range: ContentRange,
    chunk: &[u8],
) -> Result<BlobStatus, ApiError> {
    if range.total > MAX_BLOB_BYTES {
        return Err(ApiError::BlobTooLarge {
            size: range.total,
            max: MAX_BLOB_BYTES,
        });
    }
    if range.len() > MAX_CHUNK_BYTES {
        return Err(ApiError::PayloadTooLarge);
    }
    if range.len() != chunk.len() as u64 {
        return Err(ApiError::BadRequest(format!(
            "Content-Range 声明{}字节，实际收到{}字节",
            range.len(),
            chunk.len()
        )));
    }
    check_access(state, &caller.scope(), sha256)?;

    let _one_writer = lock_for(sha256);
    let current = current_status(state, sha256)?;
    if current.complete {
        // "Have it": the bytes are not needed again.
        return Ok(current);
    }
    let root = root(state);
    let partial = partial_path(&root, sha256);
    let mut held = current.received;
    if current.size != range.total {
        if held > 0 && current.size != 0 {
            return Err(ApiError::BadRequest(format!(
                "照片总大小与先前上传的不符（先前{}字节，本次{}字节）",
                current.size, range.total
            )));
        }
        // A partial file without its row (a crash between the two): start over.
        if held > 0 {
            fs::remove_file(&partial).map_err(|e| io_error("reset", e))?;
            held = 0;
        }
    }
    if range.start != held {
        return Err(ApiError::OffsetMismatch { received: held });
    }

    append(&root, &partial, chunk)?;
    held += chunk.len() as u64;
    let now = state.now_ms();
    if held < range.total {
        state.db().write(|conn| {
            db::blobs::record_progress(conn, sha256, range.total, held, caller.device_id, now)
        })?;
        return Ok(BlobStatus {
            sha256: sha256.to_string(),
            size: range.total,
            received: held,
            complete: false,
        });
    }

    let actual = hash_file(&partial)?;
    if actual != sha256 {
        let _ = fs::remove_file(&partial);
        state.db().write(|conn| db::blobs::delete(conn, sha256))?;
        tracing::warn!(
            sha256,
            actual,
            device_id = %caller.device_id,
            "uploaded blob does not hash to its name: discarded"
        );
        return Err(ApiError::HashMismatch);
    }
    let target = complete_path(&root, sha256);
    let dir = target.parent().unwrap_or(&root);
    fs::create_dir_all(dir).map_err(|e| io_error("create dir", e))?;
    fs::rename(&partial, &target).map_err(|e| io_error("rename", e))?;
    sync_dir(dir);
    state
        .db()
        .write(|conn| db::blobs::mark_complete(conn, sha256, range.total, caller.device_id, now))?;
    tracing::info!(sha256, size = range.total, device_id = %caller.device_id, "blob received");
    Ok(BlobStatus {
        sha256: sha256.to_string(),
        size: range.total,
        received: range.total,
        complete: true,
    })
}

fn append(root: &Path, partial: &Path, chunk: &[u8]) -> Result<(), ApiError> {
    fs::create_dir_all(root.join(PARTIAL_DIR)).map_err(|e| io_error("create dir", e))?;
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(partial)
        .map_err(|e| io_error("open partial", e))?;
    file.write_all(chunk)
        .and_then(|()| file.sync_data())
        .map_err(|e| io_error("append", e))
}

fn hash_file(path: &Path) -> Result<String, ApiError> {
    let mut file = File::open(path).map_err(|e| io_error("open for hashing", e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf).map_err(|e| io_error("read", e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex_lower(&hasher.finalize()))
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Makes a rename durable (best effort: not every platform can sync a directory).
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// `GET /api/v1/blobs/{sha256}`: a complete blob's bytes.
pub(crate) fn read(state: &AppState, caller: &Caller, sha256: &str) -> Result<Vec<u8>, ApiError> {
    check_access(state, &caller.scope(), sha256)?;
    match fs::read(complete_path(&root(state), sha256)) {
        Ok(bytes) => Ok(bytes),
        // Named by a case but not (completely) uploaded yet.
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(ApiError::Unavailable),
        Err(e) => Err(io_error("read", e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_are_not_sha256_hex_are_bad_requests() {
        assert!(parse_name(&"ab".repeat(32)).is_ok());
        for bad in ["", "../x", &"AB".repeat(32), &"a".repeat(65)] {
            assert!(
                matches!(parse_name(bad), Err(ApiError::BadRequest(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn every_hash_prefix_has_a_lock_stripe() {
        drop(lock_for("ff"));
        drop(lock_for("00"));
        drop(lock_for(""));
    }
}
