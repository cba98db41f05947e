//! Table `cases`: one row per case document held on this device: the Automerge bytes,
//! the sync flags, the persisted sync state with the server, and the summary columns the
//! case list (台账) is read from without opening documents.

use hecha_shared::app_api::CaseSummary;
use hecha_shared::case::CaseStatus;
use hecha_shared::id_number::mask_id_text;
use hecha_shared::CaseId;
use rusqlite::{params, Connection, OptionalExtension};

use crate::error::{CoreError, CoreResult};

pub(crate) const MIGRATION_1: &str = "
CREATE TABLE cases (
    case_id        TEXT    PRIMARY KEY NOT NULL,
    -- changed here, not yet known to be held by the server
    dirty          INTEGER NOT NULL DEFAULT 0,
    -- the server listed it as changed: bring it in line at the next sync
    pull           INTEGER NOT NULL DEFAULT 0,
    -- listed by the server but no content received yet: not shown in the list
    placeholder    INTEGER NOT NULL DEFAULT 0,
    applicant_name TEXT    NOT NULL DEFAULT '',
    id_number      TEXT    NOT NULL DEFAULT '',
    member_count   INTEGER NOT NULL DEFAULT 0,
    status         TEXT    NOT NULL DEFAULT '',
    conflicts      INTEGER NOT NULL DEFAULT 0,
    updated_at_ms  INTEGER NOT NULL DEFAULT 0,
    -- why the server last rejected this document, if it did
    sync_error     TEXT,
    -- The large values come last: SQLite reads a row's columns in order through its
    -- overflow pages, so a list or a count over the columns above never reads documents.
    -- automerge::sync::State::encode() with the server (the heads both hold)
    sync_state     BLOB,
    -- automerge::Automerge::save() of the whole document
    doc            BLOB    NOT NULL
);
CREATE INDEX cases_by_update ON cases (updated_at_ms DESC);
-- The sync planner's and the status indicator's look-ups touch only flagged rows.
CREATE INDEX cases_flagged ON cases (dirty, pull) WHERE dirty = 1 OR pull = 1;
CREATE INDEX cases_dirty ON cases (case_id) WHERE dirty = 1;
";

/// Adds `urgent` (an urgent discovery report). The table is rebuilt rather than altered so
/// the documents stay the last column (see `MIGRATION_1`); the flag is filled in when each
/// document is next summarised (a discovery report saved before this had none).
pub(crate) const MIGRATION_URGENT: &str = "
CREATE TABLE cases_v4 (
    case_id        TEXT    PRIMARY KEY NOT NULL,
    dirty          INTEGER NOT NULL DEFAULT 0,
    pull           INTEGER NOT NULL DEFAULT 0,
    placeholder    INTEGER NOT NULL DEFAULT 0,
    applicant_name TEXT    NOT NULL DEFAULT '',
    id_number      TEXT    NOT NULL DEFAULT '',
    member_count   INTEGER NOT NULL DEFAULT 0,
    status         TEXT    NOT NULL DEFAULT '',
    conflicts      INTEGER NOT NULL DEFAULT 0,
    updated_at_ms  INTEGER NOT NULL DEFAULT 0,
    sync_error     TEXT,
    urgent         INTEGER NOT NULL DEFAULT 0,
    sync_state     BLOB,
    doc            BLOB    NOT NULL
);
INSERT INTO cases_v4 (case_id, dirty, pull, placeholder, applicant_name, id_number,
                      member_count, status, conflicts, updated_at_ms, sync_error,
                      sync_state, doc)
    SELECT case_id, dirty, pull, placeholder, applicant_name, id_number, member_count,
           status, conflicts, updated_at_ms, sync_error, sync_state, doc FROM cases;
DROP TABLE cases;
ALTER TABLE cases_v4 RENAME TO cases;
CREATE INDEX cases_by_update ON cases (updated_at_ms DESC);
CREATE INDEX cases_flagged ON cases (dirty, pull) WHERE dirty = 1 OR pull = 1;
CREATE INDEX cases_dirty ON cases (case_id) WHERE dirty = 1;
";

/// The summary columns, as derived from the document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Summary {
    pub placeholder: bool,
    pub applicant_name: String,
    pub id_number: String,
    pub member_count: u32,
    pub status: String,
    pub conflicts: u32,
    pub updated_at_ms: i64,
    /// An urgent discovery report.
    pub urgent: bool,
}

/// A stored case document with its sync bookkeeping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CaseRecord {
    pub doc: Vec<u8>,
    pub dirty: bool,
    pub pull: bool,
    pub sync_state: Option<Vec<u8>>,
    pub placeholder: bool,
    pub updated_at_ms: i64,
}

/// A case that the next sync must bring in line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Flagged {
    pub case_id: CaseId,
    pub dirty: bool,
    pub pull: bool,
}

fn parse_id(text: &str) -> CoreResult<CaseId> {
    text.parse()
        .map_err(|_| CoreError::Corrupt(format!("cases.case_id = {text:?}")))
}

pub(crate) fn get(conn: &Connection, id: CaseId) -> CoreResult<Option<CaseRecord>> {
    Ok(conn
        .query_row(
            "SELECT doc, dirty, pull, sync_state, placeholder, updated_at_ms
             FROM cases WHERE case_id = ?1",
            [id.to_string()],
            |r| {
                Ok(CaseRecord {
                    doc: r.get(0)?,
                    dirty: r.get(1)?,
                    pull: r.get(2)?,
                    sync_state: r.get(3)?,
                    placeholder: r.get(4)?,
                    updated_at_ms: r.get(5)?,
                })
            },
        )
        .optional()?)
}

/// Stores a document changed on this device: bytes, summary and `dirty` together.
pub(crate) fn save_local(conn: &Connection, id: CaseId, doc: &[u8], s: &Summary) -> CoreResult<()> {
    conn.execute(
        "INSERT INTO cases (case_id, doc, dirty, placeholder, applicant_name, id_number,
                            member_count, status, conflicts, updated_at_ms, urgent)
         VALUES (?1, ?2, 1, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (case_id) DO UPDATE SET
            doc = excluded.doc, dirty = 1, placeholder = excluded.placeholder,
            applicant_name = excluded.applicant_name, id_number = excluded.id_number,
            member_count = excluded.member_count, status = excluded.status,
            conflicts = excluded.conflicts, updated_at_ms = excluded.updated_at_ms,
            urgent = excluded.urgent",
        params![
            id.to_string(),
            doc,
            s.placeholder,
            s.applicant_name,
            s.id_number,
            s.member_count,
            s.status,
            s.conflicts,
            s.updated_at_ms,
            s.urgent
        ],
    )?;
    Ok(())
}

/// Stores a document changed by a sync message (flags untouched).
pub(crate) fn store_received(
    conn: &Connection,
    id: CaseId,
    doc: &[u8],
    s: &Summary,
) -> CoreResult<()> {
    conn.execute(
        "UPDATE cases SET doc = ?2, placeholder = ?3, applicant_name = ?4, id_number = ?5,
                member_count = ?6, status = ?7, conflicts = ?8, updated_at_ms = ?9,
                urgent = ?10
         WHERE case_id = ?1",
        params![
            id.to_string(),
            doc,
            s.placeholder,
            s.applicant_name,
            s.id_number,
            s.member_count,
            s.status,
            s.conflicts,
            s.updated_at_ms,
            s.urgent
        ],
    )?;
    Ok(())
}

pub(crate) fn set_sync_state(conn: &Connection, id: CaseId, state: &[u8]) -> CoreResult<()> {
    conn.execute(
        "UPDATE cases SET sync_state = ?2 WHERE case_id = ?1",
        params![id.to_string(), state],
    )?;
    Ok(())
}

/// Clears the flags named (a document in line: both; out of scope: both; pull only...).
pub(crate) fn clear_flags(
    conn: &Connection,
    id: CaseId,
    dirty: bool,
    pull: bool,
) -> CoreResult<()> {
    conn.execute(
        "UPDATE cases SET dirty = CASE WHEN ?2 THEN 0 ELSE dirty END,
                          pull  = CASE WHEN ?3 THEN 0 ELSE pull END
         WHERE case_id = ?1",
        params![id.to_string(), dirty, pull],
    )?;
    Ok(())
}

pub(crate) fn set_sync_error(
    conn: &Connection,
    id: CaseId,
    reason: Option<&str>,
) -> CoreResult<()> {
    conn.execute(
        "UPDATE cases SET sync_error = ?2 WHERE case_id = ?1",
        params![id.to_string(), reason],
    )?;
    Ok(())
}

/// Records the server's notice that `id` changed. A case not on this device yet gets a
/// placeholder row holding `empty_doc` (an empty document with the device's actor).
/// Returns whether a placeholder was created.
pub(crate) fn mark_pull(conn: &Connection, id: CaseId, empty_doc: &[u8]) -> CoreResult<bool> {
    let updated = conn.execute(
        "UPDATE cases SET pull = 1 WHERE case_id = ?1",
        [id.to_string()],
    )?;
    if updated > 0 {
        return Ok(false);
    }
    conn.execute(
        "INSERT INTO cases (case_id, doc, pull, placeholder) VALUES (?1, ?2, 1, 1)",
        params![id.to_string(), empty_doc],
    )?;
    Ok(true)
}

/// Drops a row that never received content (the server said it is not available).
#[cfg(test)]
pub(crate) fn delete_placeholder(conn: &Connection, id: CaseId) -> CoreResult<()> {
    conn.execute(
        "DELETE FROM cases WHERE case_id = ?1 AND placeholder = 1 AND dirty = 0",
        [id.to_string()],
    )?;
    Ok(())
}

/// Removes every case from the device (another account takes it over; everything was
/// synced before).
pub(crate) fn delete_all(conn: &Connection) -> CoreResult<()> {
    conn.execute("DELETE FROM cases", [])?;
    Ok(())
}

/// The mark a case gets when it left this account's scope with unsynced local edits: it
/// stays on the device (nothing silently dropped) but no longer syncs.
pub(crate) const LEFT_SCOPE: &str =
    "此个案已不在本账号的范围内（已移交或调整），本机的修改未能同步，请联系街道或民政局";

/// The server says `id` left this device's scope: a copy without unsynced edits is
/// deleted; one with unsynced edits is kept, marked [`LEFT_SCOPE`] and no longer synced.
/// Returns true if it was kept.
pub(crate) fn drop_gone(conn: &Connection, id: CaseId) -> CoreResult<bool> {
    let key = id.to_string();
    let kept = conn.execute(
        "UPDATE cases SET dirty = 0, pull = 0, sync_error = ?2
         WHERE case_id = ?1 AND dirty = 1 AND placeholder = 0",
        params![key, LEFT_SCOPE],
    )?;
    if kept == 0 {
        conn.execute(
            "DELETE FROM cases WHERE case_id = ?1 AND sync_error IS NOT ?2",
            params![key, LEFT_SCOPE],
        )?;
    }
    Ok(kept > 0)
}

/// Applicants' names of the cases with unsynced edits (names as the list shows them).
pub(crate) fn unsynced_names(conn: &Connection) -> CoreResult<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT applicant_name FROM cases WHERE dirty = 1 ORDER BY updated_at_ms DESC, case_id",
    )?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    Ok(rows
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .map(|n| {
            if n.trim().is_empty() {
                "（未填姓名）".to_string()
            } else {
                n
            }
        })
        .collect())
}

/// Applicants' names of the cases kept after leaving this account's scope.
pub(crate) fn left_scope_names(conn: &Connection) -> CoreResult<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT applicant_name FROM cases WHERE sync_error = ?1 ORDER BY updated_at_ms DESC",
    )?;
    let rows = stmt.query_map([LEFT_SCOPE], |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Every case the next sync must bring in line, in a stable order.
pub(crate) fn flagged(conn: &Connection) -> CoreResult<Vec<Flagged>> {
    let mut stmt = conn.prepare(FLAGGED_SQL)?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, bool>(1)?,
            r.get::<_, bool>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, dirty, pull) = row?;
        out.push(Flagged {
            case_id: parse_id(&id)?,
            dirty,
            pull,
        });
    }
    Ok(out)
}

// Both run on every sync and status poll, so their cost must not grow with the number of
// cases: `INDEXED BY` pins each to its partial index (SQLite refuses the statement rather
// than fall back to a table scan).
const FLAGGED_SQL: &str = "SELECT case_id, dirty, pull FROM cases INDEXED BY cases_flagged
     WHERE dirty = 1 OR pull = 1 ORDER BY case_id";
const UNSYNCED_COUNT_SQL: &str =
    "SELECT COUNT(*) FROM cases INDEXED BY cases_dirty WHERE dirty = 1";

/// Cases changed here and not yet held by the server.
pub(crate) fn unsynced_count(conn: &Connection) -> CoreResult<u32> {
    Ok(conn.query_row(UNSYNCED_COUNT_SQL, [], |r| r.get(0))?)
}

/// Whether a case was saved on this device at or after `since_ms` and is still unsynced:
/// a person kept editing while a sync ran. Runs only when a sync reaches its round limit.
pub(crate) fn edited_since(conn: &Connection, since_ms: i64) -> CoreResult<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM cases INDEXED BY cases_dirty
          WHERE dirty = 1 AND updated_at_ms >= ?1)",
        [since_ms],
        |r| r.get(0),
    )?)
}

/// The case list (台账): urgent discovery reports first, then newest first. `search` matches part of the applicant's name or
/// the end of the ID number (case-insensitive for the `X` check character); empty: all.
pub(crate) fn list(conn: &Connection, search: &str) -> CoreResult<Vec<CaseSummary>> {
    let search = search.trim();
    let mut stmt = conn.prepare(
        "SELECT case_id, applicant_name, id_number, member_count, status, updated_at_ms,
                dirty, conflicts, urgent
         FROM cases
         WHERE placeholder = 0
           AND (?1 = ''
                OR instr(applicant_name, ?1) > 0
                OR (length(id_number) >= length(?1)
                    AND upper(substr(id_number, -length(?1))) = upper(?1)))
         ORDER BY urgent DESC, updated_at_ms DESC, case_id",
    )?;
    let rows = stmt.query_map([search], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, u32>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, i64>(5)?,
            r.get::<_, bool>(6)?,
            r.get::<_, u32>(7)?,
            r.get::<_, bool>(8)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, name, id_number, members, status, updated, dirty, conflicts, urgent) = row?;
        out.push(CaseSummary {
            case_id: parse_id(&id)?,
            applicant_name: name,
            id_masked: mask_id_text(&id_number),
            member_count: members,
            status_label: CaseStatus::from_code(&status)
                .map(|s| s.label_zh().to_string())
                .unwrap_or(status),
            updated_at_ms: updated,
            unsynced: dirty,
            conflicts,
            urgent,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn summary(name: &str, id_number: &str, at: i64) -> Summary {
        Summary {
            placeholder: false,
            applicant_name: name.into(),
            id_number: id_number.into(),
            member_count: 2,
            status: "applied".into(),
            conflicts: 0,
            updated_at_ms: at,
            urgent: false,
        }
    }

    #[test]
    fn urgent_discovery_reports_are_listed_first_whatever_their_age() {
        let store = Store::open_in_memory().unwrap();
        let c = store.conn();
        save_local(c, id(1), b"doc", &summary("新近住户", "", 3_000)).unwrap();
        let mut report = summary("急难住户", "", 1_000);
        report.urgent = true;
        save_local(c, id(2), b"doc", &report).unwrap();
        save_local(c, id(3), b"doc", &summary("较早住户", "", 2_000)).unwrap();
        let names: Vec<_> = list(c, "")
            .unwrap()
            .into_iter()
            .map(|s| (s.applicant_name, s.urgent))
            .collect();
        assert_eq!(
            names,
            [
                ("急难住户".to_string(), true),
                ("新近住户".to_string(), false),
                ("较早住户".to_string(), false)
            ]
        );
    }

    fn id(n: u8) -> CaseId {
        CaseId::from_random_bytes([n; 16])
    }

    #[test]
    fn flag_lookups_read_only_their_partial_indexes() {
        let store = Store::open_in_memory().unwrap();
        for sql in [FLAGGED_SQL, UNSYNCED_COUNT_SQL] {
            let mut stmt = store
                .conn()
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap();
            let plan: Vec<String> = stmt
                .query_map([], |r| r.get::<_, String>(3))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let plan = plan.join("; ");
            assert!(
                plan.contains("INDEX cases_flagged") || plan.contains("INDEX cases_dirty"),
                "{sql} does not use its partial index: {plan}"
            );
        }
    }

    #[test]
    fn the_list_searches_by_name_part_or_id_suffix_newest_first() {
        let store = Store::open_in_memory().unwrap();
        let c = store.conn();
        save_local(c, id(1), b"a", &summary("王秀兰", "11010519491231002X", 10)).unwrap();
        save_local(c, id(2), b"b", &summary("李建国", "110105194912310037", 30)).unwrap();
        save_local(c, id(3), b"c", &summary("王五", "", 20)).unwrap();
        mark_pull(c, id(4), b"empty").unwrap();

        let names = |s: &str| -> Vec<String> {
            list(c, s)
                .unwrap()
                .into_iter()
                .map(|x| x.applicant_name)
                .collect()
        };
        assert_eq!(names(""), ["李建国", "王五", "王秀兰"]);
        assert_eq!(names("王"), ["王五", "王秀兰"]);
        assert_eq!(names(" 002x "), ["王秀兰"]);
        assert_eq!(names("0037"), ["李建国"]);
        assert_eq!(names("1949"), Vec::<String>::new());
        assert_eq!(names("%"), Vec::<String>::new());
        let first = &list(c, "秀兰").unwrap()[0];
        assert_eq!(first.id_masked, "110105********002X");
        assert_eq!(first.status_label, "申请");
        assert!(first.unsynced);
    }

    #[test]
    fn flags_are_set_and_cleared_separately() {
        let store = Store::open_in_memory().unwrap();
        let c = store.conn();
        save_local(c, id(1), b"a", &summary("甲", "", 1)).unwrap();
        assert!(!mark_pull(c, id(1), b"empty").unwrap());
        assert!(mark_pull(c, id(2), b"empty").unwrap());
        assert_eq!(unsynced_count(c).unwrap(), 1);
        let f = flagged(c).unwrap();
        assert_eq!(f.len(), 2);
        assert!(f.iter().any(|x| x.case_id == id(1) && x.dirty && x.pull));
        clear_flags(c, id(1), false, true).unwrap();
        let rec = get(c, id(1)).unwrap().unwrap();
        assert!(rec.dirty && !rec.pull);
        clear_flags(c, id(1), true, false).unwrap();
        assert_eq!(unsynced_count(c).unwrap(), 0);
        delete_placeholder(c, id(2)).unwrap();
        assert_eq!(get(c, id(2)).unwrap(), None);
        delete_placeholder(c, id(1)).unwrap();
        assert!(
            get(c, id(1)).unwrap().is_some(),
            "only placeholders are deleted"
        );
    }
}
