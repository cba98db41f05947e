//! The device's content-addressed blob area: photo files (and later other binary evidence)
//! under `<data_dir>/blobs/<first 2 hex>/<sha256>`, named by the SHA-256 of their bytes.
//!
//! A blob is written to a temporary file in its directory, flushed to disk and renamed
//! into place, so a crash or a full disk never leaves a partial file under a real name:
//! a name that exists always holds exactly the bytes it names. `put` checks the hash
//! itself, so a caller's mistake cannot store bytes under the wrong name. Blobs are
//! immutable: storing the same bytes twice is a no-op.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The directory inside the data directory.
pub const BLOBS_DIR: &str = "blobs";

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("not a SHA-256 hex name: {0:?}")]
    InvalidName(String),
    #[error("the bytes hash to {actual}, not {expected}")]
    HashMismatch { expected: String, actual: String },
    #[error("blob store: {0}")]
    Io(#[from] io::Error),
}

/// The blob area of one data directory.
#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
}

impl BlobStore {
    /// The blob area of `data_dir` (created on first write).
    pub fn new(data_dir: &Path) -> BlobStore {
        BlobStore {
            root: data_dir.join(BLOBS_DIR),
        }
    }

    /// Where the blob named `sha256` lives (whether or not it exists).
    pub fn path(&self, sha256: &str) -> Result<PathBuf, BlobError> {
        if !is_sha256_hex(sha256) {
            return Err(BlobError::InvalidName(sha256.chars().take(80).collect()));
        }
        Ok(self.root.join(&sha256[..2]).join(sha256))
    }

    /// Stores `bytes` under `sha256` after checking that they hash to it.
    pub fn put(&self, sha256: &str, bytes: &[u8]) -> Result<(), BlobError> {
        let path = self.path(sha256)?;
        let actual = hex::encode(Sha256::digest(bytes));
        if actual != sha256 {
            return Err(BlobError::HashMismatch {
                expected: sha256.to_string(),
                actual,
            });
        }
        if path.exists() {
            return Ok(());
        }
        let dir = path.parent().unwrap_or(&self.root);
        fs::create_dir_all(dir)?;
        let tmp = dir.join(format!(".{sha256}.{:016x}.tmp", rand::random::<u64>()));
        let written = (|| {
            let mut file = fs::File::create(&tmp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            fs::rename(&tmp, &path)
        })();
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(e.into());
        }
        // Make the new name itself durable (best effort: not every platform can open a
        // directory for syncing).
        if let Ok(dir) = fs::File::open(dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    }

    /// Stores `bytes` under their own hash and returns it.
    pub fn put_bytes(&self, bytes: &[u8]) -> Result<String, BlobError> {
        let sha256 = hex::encode(Sha256::digest(bytes));
        self.put(&sha256, bytes)?;
        Ok(sha256)
    }

    /// The blob's bytes, or `None` if this device does not hold it.
    pub fn get(&self, sha256: &str) -> Result<Option<Vec<u8>>, BlobError> {
        match fs::read(self.path(sha256)?) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Whether this device holds the blob.
    pub fn has(&self, sha256: &str) -> Result<bool, BlobError> {
        Ok(self.path(sha256)?.is_file())
    }
}

/// 64 lowercase hex digits (the only names the store makes, so no path tricks).
pub fn is_sha256_hex(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blob_is_stored_under_its_hash_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(dir.path());
        let bytes = b"a photo's bytes".to_vec();
        let name = hex::encode(Sha256::digest(&bytes));
        assert!(!store.has(&name).unwrap());
        assert_eq!(store.get(&name).unwrap(), None);

        store.put(&name, &bytes).unwrap();
        assert!(store.has(&name).unwrap());
        assert_eq!(store.get(&name).unwrap(), Some(bytes.clone()));
        let on_disk = dir.path().join("blobs").join(&name[..2]).join(&name);
        assert_eq!(fs::read(on_disk).unwrap(), bytes);
        // Same bytes again: fine, nothing changes; no temporary file is left behind.
        assert_eq!(store.put_bytes(&bytes).unwrap(), name);
        let files: Vec<_> = fs::read_dir(dir.path().join("blobs").join(&name[..2]))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(files, vec![std::ffi::OsString::from(&name)]);
    }

    #[test]
    fn bytes_that_do_not_match_their_name_are_refused_and_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(dir.path());
        let name = hex::encode(Sha256::digest(b"the real photo"));
        let err = store.put(&name, b"something else").unwrap_err();
        assert!(matches!(err, BlobError::HashMismatch { .. }), "{err}");
        assert!(!store.has(&name).unwrap());
        assert!(!dir.path().join("blobs").exists());
    }

    #[test]
    fn names_that_are_not_sha256_hex_cannot_reach_the_file_system() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(dir.path());
        let upper = hex::encode(Sha256::digest(b"x")).to_uppercase();
        for name in [
            "../../etc/passwd",
            "",
            "ab",
            upper.as_str(),
            &"g".repeat(64),
        ] {
            assert!(matches!(store.get(name), Err(BlobError::InvalidName(_))));
            assert!(matches!(store.has(name), Err(BlobError::InvalidName(_))));
            assert!(matches!(
                store.put(name, b"x"),
                Err(BlobError::InvalidName(_))
            ));
        }
    }
}
