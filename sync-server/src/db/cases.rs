//! Table `cases`: each case's Automerge document, the unit the server placed it in, the
//! change sequence number of its last write, and the ledger columns materialised from
//! the document at that write (for `GET /api/v1/cases` without loading documents).
//!
//! The document is the last column, so reading the ledger columns never walks the
//! document's overflow pages. The `(unit, seq, case_id)` and `(seq, case_id)` indexes
//! answer "what changed since cursor N" as one range scan that does not touch the table.

use hecha_shared::api::{CaseRow, StatusCount};
use hecha_shared::{CaseId, UnitId};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};

use super::users::parse_col;

pub(crate) const MIGRATION_1: &str = "
CREATE TABLE cases (
    case_id TEXT PRIMARY KEY NOT NULL,
    unit TEXT NOT NULL REFERENCES units(code),
    seq INTEGER NOT NULL,
    applicant_name TEXT NOT NULL DEFAULT '',
    id_masked TEXT NOT NULL DEFAULT '',
    id_suffix TEXT NOT NULL DEFAULT '',
    member_count INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT '',
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    doc BLOB NOT NULL
);
CREATE INDEX cases_seq ON cases(seq, case_id);
CREATE INDEX cases_unit_seq ON cases(unit, seq, case_id);
CREATE INDEX cases_updated ON cases(updated_at_ms);
CREATE INDEX cases_unit_updated ON cases(unit, updated_at_ms);
";

/// Which cases a query may see.
#[derive(Debug, Clone, Copy)]
pub(crate) enum CaseScope<'a> {
    Unit(&'a UnitId),
    All,
}

/// The ledger columns derived from a document (all empty when it could not be read).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LedgerColumns {
    pub applicant_name: String,
    pub id_masked: String,
    pub id_suffix: String,
    pub member_count: u32,
    pub status: String,
}

/// The unit of a case, without loading its document.
pub(crate) fn unit_of(conn: &Connection, case_id: CaseId) -> rusqlite::Result<Option<UnitId>> {
    conn.query_row(
        "SELECT unit FROM cases WHERE case_id = ?1",
        [case_id.to_string()],
        |r| parse_col(r, 0),
    )
    .optional()
}

/// A case's unit, the unit's name and the document bytes (one read).
pub(crate) fn load_with_unit(
    conn: &Connection,
    case_id: CaseId,
) -> rusqlite::Result<Option<(UnitId, String, Vec<u8>)>> {
    conn.query_row(
        "SELECT c.unit, n.name, c.doc FROM cases c JOIN units n ON n.code = c.unit
         WHERE c.case_id = ?1",
        [case_id.to_string()],
        |r| Ok((parse_col(r, 0)?, r.get(1)?, r.get(2)?)),
    )
    .optional()
}

/// The bytes of a case's document.
pub(crate) fn load_doc(conn: &Connection, case_id: CaseId) -> rusqlite::Result<Option<Vec<u8>>> {
    conn.query_row(
        "SELECT doc FROM cases WHERE case_id = ?1",
        [case_id.to_string()],
        |r| r.get(0),
    )
    .optional()
}

/// Stores a case's document with its change sequence number and ledger columns. A new
/// case is placed in `unit`; an existing case keeps its unit.
pub(crate) fn save(
    conn: &Connection,
    case_id: CaseId,
    unit: &UnitId,
    doc: &[u8],
    seq: i64,
    ledger: &LedgerColumns,
    now_ms: i64,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO cases (case_id, unit, seq, applicant_name, id_masked, id_suffix,
                            member_count, status, created_at_ms, updated_at_ms, doc)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10)
         ON CONFLICT(case_id) DO UPDATE SET
            seq = excluded.seq,
            applicant_name = excluded.applicant_name,
            id_masked = excluded.id_masked,
            id_suffix = excluded.id_suffix,
            member_count = excluded.member_count,
            status = excluded.status,
            updated_at_ms = excluded.updated_at_ms,
            doc = excluded.doc",
        params![
            case_id.to_string(),
            unit.as_str(),
            seq,
            ledger.applicant_name,
            ledger.id_masked,
            ledger.id_suffix,
            ledger.member_count,
            ledger.status,
            now_ms,
            doc
        ],
    )?;
    Ok(())
}

/// "Changed since" in one unit: a range scan of `cases_unit_seq`.
pub(crate) const CHANGED_IN_UNIT_SQL: &str =
    "SELECT case_id, seq FROM cases WHERE unit = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3";
/// "Changed since" in the whole district: a range scan of `cases_seq`.
pub(crate) const CHANGED_ALL_SQL: &str =
    "SELECT case_id, seq FROM cases WHERE seq > ?1 ORDER BY seq LIMIT ?2";

/// Cases in scope whose last write has a sequence number above `after`, in sequence
/// order, at most `limit`.
pub(crate) fn changed_since(
    conn: &Connection,
    scope: CaseScope<'_>,
    after: i64,
    limit: usize,
) -> rusqlite::Result<Vec<(CaseId, i64)>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let map = |r: &rusqlite::Row<'_>| Ok((parse_col(r, 0)?, r.get(1)?));
    match scope {
        CaseScope::Unit(unit) => {
            let mut stmt = conn.prepare_cached(CHANGED_IN_UNIT_SQL)?;
            let rows = stmt.query_map(params![unit.as_str(), after, limit], map)?;
            rows.collect()
        }
        CaseScope::All => {
            let mut stmt = conn.prepare_cached(CHANGED_ALL_SQL)?;
            let rows = stmt.query_map(params![after, limit], map)?;
            rows.collect()
        }
    }
}

/// Filters of the case ledger, already validated.
#[derive(Debug, Clone, Default)]
pub(crate) struct CaseFilter {
    /// Part of the applicant's name.
    pub name: Option<String>,
    /// The last characters (at most four, upper-case) of the applicant's ID number.
    pub id_suffix: Option<String>,
    pub updated_since_ms: Option<i64>,
    pub limit: u32,
    pub offset: u32,
}

/// One page of the ledger, newest first, and how many cases match in all. Run it in a
/// transaction so the page and the total agree.
pub(crate) fn list(
    conn: &Connection,
    scope: CaseScope<'_>,
    filter: &CaseFilter,
) -> rusqlite::Result<(Vec<CaseRow>, u64)> {
    let mut clauses: Vec<&str> = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    if let CaseScope::Unit(unit) = scope {
        clauses.push("c.unit = ?");
        args.push(Value::Text(unit.as_str().to_owned()));
    }
    if let Some(name) = &filter.name {
        clauses.push("instr(c.applicant_name, ?) > 0");
        args.push(Value::Text(name.clone()));
    }
    if let Some(suffix) = &filter.id_suffix {
        clauses.push("substr(c.id_suffix, -length(?)) = ?");
        args.push(Value::Text(suffix.clone()));
        args.push(Value::Text(suffix.clone()));
    }
    if let Some(since) = filter.updated_since_ms {
        clauses.push("c.updated_at_ms >= ?");
        args.push(Value::Integer(since));
    }
    let where_sql = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };

    let total: i64 = conn.query_row(
        &format!("SELECT count(*) FROM cases c {where_sql}"),
        params_from_iter(args.iter()),
        |r| r.get(0),
    )?;

    args.push(Value::Integer(i64::from(filter.limit)));
    args.push(Value::Integer(i64::from(filter.offset)));
    let mut stmt = conn.prepare(&format!(
        "SELECT c.case_id, c.unit, n.name, c.applicant_name, c.id_masked, c.member_count,
                c.status, c.updated_at_ms
         FROM cases c JOIN units n ON n.code = c.unit
         {where_sql}
         ORDER BY c.updated_at_ms DESC, c.case_id
         LIMIT ? OFFSET ?"
    ))?;
    let rows = stmt.query_map(params_from_iter(args.iter()), |r| {
        Ok(CaseRow {
            case_id: parse_col(r, 0)?,
            unit: parse_col(r, 1)?,
            unit_name: r.get(2)?,
            applicant_name: r.get(3)?,
            id_masked: r.get(4)?,
            member_count: r.get(5)?,
            status: r.get(6)?,
            updated_at_ms: r.get(7)?,
        })
    })?;
    let cases = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((cases, u64::try_from(total).unwrap_or(0)))
}

/// Case counts by unit and status in scope, ordered by unit code then status.
pub(crate) fn count_by_unit_and_status(
    conn: &Connection,
    scope: CaseScope<'_>,
) -> rusqlite::Result<Vec<StatusCount>> {
    let (where_sql, args): (&str, Vec<Value>) = match scope {
        CaseScope::Unit(unit) => (
            "WHERE c.unit = ?",
            vec![Value::Text(unit.as_str().to_owned())],
        ),
        CaseScope::All => ("", Vec::new()),
    };
    let mut stmt = conn.prepare(&format!(
        "SELECT c.unit, n.name, c.status, count(*)
         FROM cases c JOIN units n ON n.code = c.unit
         {where_sql}
         GROUP BY c.unit, c.status
         ORDER BY c.unit, c.status"
    ))?;
    let rows = stmt.query_map(params_from_iter(args.iter()), |r| {
        Ok(StatusCount {
            unit: parse_col(r, 0)?,
            unit_name: r.get(1)?,
            status: r.get(2)?,
            count: u64::try_from(r.get::<_, i64>(3)?).unwrap_or(0),
        })
    })?;
    rows.collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(conn: &Connection, sql: &str, args: impl rusqlite::Params) -> String {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let details: Vec<String> = stmt
            .query_map(args, |r| r.get(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        details.join(" | ")
    }

    #[test]
    fn changed_since_is_an_index_range_scan_without_sorting() {
        let dir = tempfile::tempdir().unwrap();
        let db = super::super::Db::open(dir.path().join("x.db")).unwrap();
        db.read(|conn| -> rusqlite::Result<()> {
            let unit = plan(conn, CHANGED_IN_UNIT_SQL, params!["chaoyang", 5, 10]);
            assert!(
                unit.contains(
                    "SEARCH cases USING COVERING INDEX cases_unit_seq (unit=? AND seq>?)"
                ),
                "{unit}"
            );
            let all = plan(conn, CHANGED_ALL_SQL, params![5, 10]);
            assert!(
                all.contains("SEARCH cases USING COVERING INDEX cases_seq (seq>?)"),
                "{all}"
            );
            for p in [unit, all] {
                assert!(!p.contains("SCAN") && !p.contains("TEMP B-TREE"), "{p}");
            }
            Ok(())
        })
        .unwrap();
    }
}
