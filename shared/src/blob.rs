//! Photo transfer, apart from the documents: the blob protocol's limits, its JSON status
//! type, the `Content-Range` header of a chunk, and which blobs a case document refers to.
//!
//! Protocol (server routes under `/api/v1/blobs/{sha256}`, `sha256` = 64 lowercase hex
//! digits of the blob's SHA-256):
//! - `GET …/status` → [`BlobStatus`]: how many bytes the server already holds (`received`)
//!   and whether the whole blob is there, verified (`complete`: "have it", send nothing).
//! - `PUT …` with `Content-Range: bytes START-END/TOTAL` and the chunk as body
//!   (`application/octet-stream`, at most [`MAX_CHUNK_BYTES`]): appended when `START`
//!   equals what the server holds (else 409 `offset_mismatch`: ask the status again). The
//!   chunk that completes the blob makes the server hash the whole: a mismatch is 400
//!   `hash_mismatch` and the partial upload is discarded. Answer: the new [`BlobStatus`].
//! - `GET …` → the bytes of a complete blob.
//!
//! Every route answers 404 `unavailable` unless a case in the caller's scope refers to the
//! blob (see [`photo_blobs`]), so devices upload a photo after the document naming it.

use std::collections::BTreeSet;
use std::fmt;

use automerge::{ObjType, ReadDoc, ScalarValue, Value};
use serde::{Deserialize, Serialize};

/// Largest blob the server accepts (a stored photo is ≈ 0.2–0.4 MB; room for a scan).
pub const MAX_BLOB_BYTES: u64 = 10 * 1024 * 1024;
/// Largest chunk (one `PUT` body) the server accepts.
pub const MAX_CHUNK_BYTES: u64 = 1024 * 1024;
/// The chunk size the app uploads with: small enough that a cut on a rural link loses
/// little, large enough that a photo takes one or two requests.
pub const CHUNK_BYTES: u64 = 256 * 1024;
/// The document key of a case's photo map (key = the full image's SHA-256).
pub const PHOTOS_KEY: &str = "photos";

/// What the server holds of one blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobStatus {
    pub sha256: String,
    /// The total size declared by the upload (0 before any chunk arrived).
    pub size: u64,
    /// Bytes held so far: the offset the next chunk must start at.
    pub received: u64,
    /// The whole blob is held and its hash verified.
    pub complete: bool,
}

/// 64 lowercase hex digits: the only blob names there are (so no path tricks).
pub fn is_sha256_hex(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The byte range of one chunk: `bytes START-END/TOTAL`, `END` inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentRange {
    pub start: u64,
    /// Inclusive.
    pub end: u64,
    pub total: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContentRangeError {
    #[error("expected `bytes START-END/TOTAL`")]
    Syntax,
    #[error("the range is empty, reversed or reaches past the total")]
    Bounds,
}

impl ContentRange {
    /// The range of `len` bytes from `start` of a blob of `total` bytes (`len` > 0).
    pub fn of(start: u64, len: u64, total: u64) -> ContentRange {
        ContentRange {
            start,
            end: start + len.max(1) - 1,
            total,
        }
    }

    /// Number of bytes in the range.
    pub fn len(&self) -> u64 {
        self.end - self.start + 1
    }

    /// Never true for a parsed range (kept for the `len` convention).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Whether this chunk ends the blob.
    pub fn is_last(&self) -> bool {
        self.end + 1 == self.total
    }

    /// Parses a header value strictly: decimal digits only, `START <= END < TOTAL`.
    pub fn parse(header: &str) -> Result<ContentRange, ContentRangeError> {
        let rest = header
            .trim()
            .strip_prefix("bytes ")
            .ok_or(ContentRangeError::Syntax)?;
        let (range, total) = rest.split_once('/').ok_or(ContentRangeError::Syntax)?;
        let (start, end) = range.split_once('-').ok_or(ContentRangeError::Syntax)?;
        let number = |s: &str| -> Result<u64, ContentRangeError> {
            if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ContentRangeError::Syntax);
            }
            s.parse().map_err(|_| ContentRangeError::Syntax)
        };
        let range = ContentRange {
            start: number(start)?,
            end: number(end)?,
            total: number(total)?,
        };
        if range.start > range.end || range.end >= range.total {
            return Err(ContentRangeError::Bounds);
        }
        Ok(range)
    }
}

impl fmt::Display for ContentRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bytes {}-{}/{}", self.start, self.end, self.total)
    }
}

/// One photo of a case as far as transfer cares: its two blobs, and whether it was removed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PhotoBlobs {
    pub sha256: String,
    /// Empty when the document names no (valid) thumbnail.
    pub thumb_sha256: String,
    pub removed: bool,
}

/// The photos a case document refers to, read from the raw document (the `photos` map,
/// keyed by the full image's hash, each item naming `sha256` and `thumb_sha256`), so it
/// works whatever else the case schema holds. Names that are not SHA-256 hex are left out.
pub fn photo_blobs<R: ReadDoc>(doc: &R) -> Vec<PhotoBlobs> {
    let Ok(Some((Value::Object(ObjType::Map), photos))) = doc.get(automerge::ROOT, PHOTOS_KEY)
    else {
        return Vec::new();
    };
    let text = |obj: &automerge::ObjId, key: &str| -> Option<String> {
        match doc.get(obj, key) {
            Ok(Some((Value::Scalar(s), _))) => match s.as_ref() {
                ScalarValue::Str(t) => Some(t.to_string()),
                _ => None,
            },
            _ => None,
        }
    };
    let mut out = Vec::new();
    for key in doc.keys(&photos) {
        let Ok(Some((Value::Object(ObjType::Map), item))) = doc.get(&photos, &key) else {
            continue;
        };
        let sha256 = text(&item, "sha256").unwrap_or_else(|| key.clone());
        if !is_sha256_hex(&sha256) {
            continue;
        }
        let thumb_sha256 = text(&item, "thumb_sha256")
            .filter(|t| is_sha256_hex(t))
            .unwrap_or_default();
        let removed = matches!(
            doc.get(&item, "removed"),
            Ok(Some((Value::Scalar(s), _))) if matches!(s.as_ref(), ScalarValue::Boolean(true))
        );
        out.push(PhotoBlobs {
            sha256,
            thumb_sha256,
            removed,
        });
    }
    out.sort();
    out
}

/// Every blob name a case document refers to (full images and thumbnails, removed photos
/// included: they stay evidence in the case's history).
pub fn referenced_blobs<R: ReadDoc>(doc: &R) -> BTreeSet<String> {
    photo_blobs(doc)
        .into_iter()
        .flat_map(|p| [p.sha256, p.thumb_sha256])
        .filter(|h| !h.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ROOT};

    fn hash(c: char) -> String {
        c.to_string().repeat(64)
    }

    #[test]
    fn content_ranges_parse_strictly_and_print_back() {
        let r = ContentRange::parse("bytes 0-262143/1000000").unwrap();
        assert_eq!(
            (r.start, r.end, r.total, r.len()),
            (0, 262_143, 1_000_000, 262_144)
        );
        assert!(!r.is_last());
        assert_eq!(r.to_string(), "bytes 0-262143/1000000");
        assert!(ContentRange::parse("bytes 999-999/1000").unwrap().is_last());
        assert_eq!(ContentRange::of(10, 5, 15).to_string(), "bytes 10-14/15");
        for bad in [
            "",
            "bytes",
            "bytes */100",
            "bytes 0-9",
            "items 0-9/10",
            "bytes -1-9/10",
            "bytes 0x1-9/10",
            "bytes 0-9/1e3",
            "bytes 1 -9/10",
            "bytes 0-99999999999999999999/100000000000000000000",
        ] {
            assert_eq!(
                ContentRange::parse(bad),
                Err(ContentRangeError::Syntax),
                "{bad:?}"
            );
        }
        for bad in ["bytes 5-4/10", "bytes 0-10/10", "bytes 0-0/0"] {
            assert_eq!(
                ContentRange::parse(bad),
                Err(ContentRangeError::Bounds),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn sha256_names_are_64_lowercase_hex_digits() {
        assert!(is_sha256_hex(&hash('a')));
        assert!(!is_sha256_hex(&hash('A')));
        assert!(!is_sha256_hex(&hash('g')));
        assert!(!is_sha256_hex("../etc/passwd"));
        assert!(!is_sha256_hex(&"a".repeat(63)));
    }

    #[test]
    fn the_photos_of_a_document_are_read_from_its_photo_map() {
        let mut doc = AutoCommit::new();
        assert!(photo_blobs(&doc).is_empty());
        let photos = doc.put_object(ROOT, PHOTOS_KEY, ObjType::Map).unwrap();
        let a = doc.put_object(&photos, hash('a'), ObjType::Map).unwrap();
        doc.put(&a, "sha256", hash('a')).unwrap();
        doc.put(&a, "thumb_sha256", hash('b')).unwrap();
        doc.put(&a, "removed", false).unwrap();
        let c = doc.put_object(&photos, hash('c'), ObjType::Map).unwrap();
        doc.put(&c, "sha256", hash('c')).unwrap();
        doc.put(&c, "thumb_sha256", "not a hash").unwrap();
        doc.put(&c, "removed", true).unwrap();
        // Nonsense is skipped, not trusted.
        let bad = doc.put_object(&photos, "x", ObjType::Map).unwrap();
        doc.put(&bad, "sha256", "../../etc/passwd").unwrap();
        doc.put(&photos, hash('d'), "not a map").unwrap();

        let blobs = photo_blobs(&doc);
        assert_eq!(
            blobs,
            vec![
                PhotoBlobs {
                    sha256: hash('a'),
                    thumb_sha256: hash('b'),
                    removed: false
                },
                PhotoBlobs {
                    sha256: hash('c'),
                    thumb_sha256: String::new(),
                    removed: true
                },
            ]
        );
        let names: Vec<String> = referenced_blobs(&doc).into_iter().collect();
        assert_eq!(names, vec![hash('a'), hash('b'), hash('c')]);
    }
}
