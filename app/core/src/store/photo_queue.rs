//! Tables `photo_uploads` (every blob of a photo taken on this device, full image and
//! thumbnail, until the server holds it) and `photo_fetches` (thumbnails of photos that
//! arrived in other devices' documents, to fetch at the next sync). The blob files live
//! in the blob area (`store::blobs`); these rows are only the to-do lists.

use hecha_shared::blob::PhotoBlobs;
use hecha_shared::CaseId;
use rusqlite::{params, Connection};

use crate::error::{CoreError, CoreResult};

pub(crate) const MIGRATION_PHOTOS: &str = "
CREATE TABLE photo_uploads (
    sha256          TEXT    PRIMARY KEY NOT NULL,
    -- the photo this blob belongs to: its full image's hash (= sha256 for the full image)
    photo           TEXT    NOT NULL,
    case_id         TEXT    NOT NULL,
    -- 'thumb' or 'full'
    role            TEXT    NOT NULL,
    size            INTEGER NOT NULL,
    queued_at_ms    INTEGER NOT NULL,
    -- set once the server holds the whole blob, verified
    uploaded_at_ms  INTEGER,
    last_error      TEXT
);
CREATE INDEX photo_uploads_pending ON photo_uploads (photo) WHERE uploaded_at_ms IS NULL;
CREATE TABLE photo_fetches (
    sha256       TEXT    PRIMARY KEY NOT NULL,
    photo        TEXT    NOT NULL,
    case_id      TEXT    NOT NULL,
    queued_at_ms INTEGER NOT NULL
);
CREATE TABLE cache (
    key           TEXT    PRIMARY KEY NOT NULL,
    value         TEXT    NOT NULL,
    fetched_at_ms INTEGER NOT NULL
);
";

/// Whether a blob is a photo's thumbnail or its full image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Thumb,
    Full,
}

impl Role {
    fn code(self) -> &'static str {
        match self {
            Role::Thumb => "thumb",
            Role::Full => "full",
        }
    }
}

/// A blob to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Upload {
    pub sha256: String,
    pub photo: String,
    pub case_id: CaseId,
}

/// A blob to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fetch {
    pub sha256: String,
    pub case_id: CaseId,
}

fn parse_case(text: &str) -> CoreResult<CaseId> {
    text.parse()
        .map_err(|_| CoreError::Corrupt(format!("photo queue case_id = {text:?}")))
}

/// Queues a blob of a photo taken here (nothing if it is queued or sent already).
pub(crate) fn queue_upload(
    conn: &Connection,
    sha256: &str,
    photo: &str,
    case_id: CaseId,
    role: Role,
    size: usize,
    now_ms: i64,
) -> CoreResult<()> {
    conn.execute(
        "INSERT OR IGNORE INTO photo_uploads (sha256, photo, case_id, role, size, queued_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            sha256,
            photo,
            case_id.to_string(),
            role.code(),
            i64::try_from(size).unwrap_or(i64::MAX),
            now_ms
        ],
    )?;
    Ok(())
}

/// Blobs still to send: thumbnails first (what other devices show first), oldest first.
pub(crate) fn pending_uploads(conn: &Connection) -> CoreResult<Vec<Upload>> {
    let mut stmt = conn.prepare(
        "SELECT sha256, photo, case_id FROM photo_uploads
         WHERE uploaded_at_ms IS NULL
         ORDER BY role = 'full', queued_at_ms, sha256",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (sha256, photo, case) = row?;
        out.push(Upload {
            sha256,
            photo,
            case_id: parse_case(&case)?,
        });
    }
    Ok(out)
}

pub(crate) fn mark_uploaded(conn: &Connection, sha256: &str, now_ms: i64) -> CoreResult<()> {
    conn.execute(
        "UPDATE photo_uploads SET uploaded_at_ms = ?2, last_error = NULL WHERE sha256 = ?1",
        params![sha256, now_ms],
    )?;
    Ok(())
}

pub(crate) fn set_upload_error(conn: &Connection, sha256: &str, error: &str) -> CoreResult<()> {
    conn.execute(
        "UPDATE photo_uploads SET last_error = ?2 WHERE sha256 = ?1",
        params![sha256, error],
    )?;
    Ok(())
}

/// Forgets a blob to send whose case is no longer on this device (it left the account's
/// scope): the server would never take it.
pub(crate) fn forget_upload(conn: &Connection, sha256: &str) -> CoreResult<()> {
    conn.execute("DELETE FROM photo_uploads WHERE sha256 = ?1", [sha256])?;
    Ok(())
}

/// Photos taken here with a blob the server does not hold yet.
pub(crate) fn pending_photo_count(conn: &Connection) -> CoreResult<u32> {
    Ok(conn.query_row(
        "SELECT COUNT(DISTINCT photo) FROM photo_uploads INDEXED BY photo_uploads_pending
         WHERE uploaded_at_ms IS NULL",
        [],
        |r| r.get(0),
    )?)
}

/// Queues the thumbnails of a received document's photos (removed ones left out); the
/// download step skips those already here.
pub(crate) fn queue_thumbnails(
    conn: &Connection,
    case_id: CaseId,
    photos: &[PhotoBlobs],
    now_ms: i64,
) -> CoreResult<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT OR IGNORE INTO photo_fetches (sha256, photo, case_id, queued_at_ms)
         VALUES (?1, ?2, ?3, ?4)",
    )?;
    for p in photos
        .iter()
        .filter(|p| !p.removed && !p.thumb_sha256.is_empty())
    {
        stmt.execute(params![
            p.thumb_sha256,
            p.sha256,
            case_id.to_string(),
            now_ms
        ])?;
    }
    Ok(())
}

pub(crate) fn pending_fetches(conn: &Connection) -> CoreResult<Vec<Fetch>> {
    let mut stmt =
        conn.prepare("SELECT sha256, case_id FROM photo_fetches ORDER BY queued_at_ms, sha256")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (sha256, case) = row?;
        out.push(Fetch {
            sha256,
            case_id: parse_case(&case)?,
        });
    }
    Ok(out)
}

pub(crate) fn fetched(conn: &Connection, sha256: &str) -> CoreResult<()> {
    conn.execute("DELETE FROM photo_fetches WHERE sha256 = ?1", [sha256])?;
    Ok(())
}

/// A cached JSON value (e.g. the bureau's standards) and when it was fetched.
pub(crate) fn cached(conn: &Connection, key: &str) -> CoreResult<Option<(String, i64)>> {
    use rusqlite::OptionalExtension;
    Ok(conn
        .query_row(
            "SELECT value, fetched_at_ms FROM cache WHERE key = ?1",
            [key],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

pub(crate) fn put_cached(conn: &Connection, key: &str, value: &str, now_ms: i64) -> CoreResult<()> {
    conn.execute(
        "INSERT OR REPLACE INTO cache (key, value, fetched_at_ms) VALUES (?1, ?2, ?3)",
        params![key, value, now_ms],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn h(c: char) -> String {
        c.to_string().repeat(64)
    }

    #[test]
    fn a_photo_is_pending_until_both_its_blobs_are_sent_thumbnail_first() {
        let store = Store::open_in_memory().unwrap();
        let c = store.conn();
        let case = CaseId::from_random_bytes([1; 16]);
        queue_upload(c, &h('a'), &h('a'), case, Role::Full, 300_000, 10).unwrap();
        queue_upload(c, &h('b'), &h('a'), case, Role::Thumb, 15_000, 10).unwrap();
        queue_upload(c, &h('c'), &h('c'), case, Role::Full, 200_000, 20).unwrap();
        queue_upload(c, &h('a'), &h('a'), case, Role::Full, 300_000, 30).unwrap();
        assert_eq!(pending_photo_count(c).unwrap(), 2);
        let order: Vec<String> = pending_uploads(c)
            .unwrap()
            .into_iter()
            .map(|u| u.sha256)
            .collect();
        assert_eq!(order, vec![h('b'), h('a'), h('c')]);

        mark_uploaded(c, &h('b'), 40).unwrap();
        assert_eq!(
            pending_photo_count(c).unwrap(),
            2,
            "its full image is still to send"
        );
        mark_uploaded(c, &h('a'), 41).unwrap();
        assert_eq!(pending_photo_count(c).unwrap(), 1);
        // Queuing a sent blob again does not make it pending.
        queue_upload(c, &h('a'), &h('a'), case, Role::Full, 300_000, 50).unwrap();
        assert_eq!(pending_photo_count(c).unwrap(), 1);
    }

    #[test]
    fn thumbnails_of_received_photos_are_queued_once_and_removed_ones_not_at_all() {
        let store = Store::open_in_memory().unwrap();
        let c = store.conn();
        let case = CaseId::from_random_bytes([2; 16]);
        let photos = vec![
            PhotoBlobs {
                sha256: h('a'),
                thumb_sha256: h('b'),
                removed: false,
            },
            PhotoBlobs {
                sha256: h('c'),
                thumb_sha256: h('d'),
                removed: true,
            },
        ];
        queue_thumbnails(c, case, &photos, 1).unwrap();
        queue_thumbnails(c, case, &photos, 2).unwrap();
        let todo = pending_fetches(c).unwrap();
        assert_eq!(
            todo,
            vec![Fetch {
                sha256: h('b'),
                case_id: case
            }]
        );
        fetched(c, &h('b')).unwrap();
        assert!(pending_fetches(c).unwrap().is_empty());
    }
}
