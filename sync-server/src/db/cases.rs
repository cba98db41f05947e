//! Tables `cases` and `case_docs`: the case ledger (台账) and each case's Automerge
//! document. `cases` holds the unit the server placed the case in, the change sequence
//! number of its last write, and the columns materialised from the document at that write
//! (see `crate::ledger`), so queries, statistics and exports never load a document;
//! `case_docs` holds the document bytes, apart, so a scan of the ledger reads small rows.
//! `case_codes` lists each case's chosen assistance types and hardship causes, one row
//! per code, for filtering and grouping.
//!
//! The `(unit, seq, case_id)` and `(seq, case_id)` indexes answer "what changed since
//! cursor N" as one range scan that does not touch the table.

use hecha_shared::api::{AssistanceCount, CaseRow, StatusCount, VisitCount};
use hecha_shared::id_number::Date;
use hecha_shared::{CaseId, UnitId, UserId};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};

use super::users::parse_col;
use crate::ledger::{CaseColumns, DERIVE_VERSION};

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

/// Ledger v2 (case schema v2): the documents move to `case_docs`; the ledger gains the
/// schema-2 columns (filled by re-deriving every case from its document when the server
/// opens: `derived` = 0 < [`DERIVE_VERSION`]) and `case_codes`.
pub(crate) const MIGRATION_LEDGER_V2: &str = "
CREATE TABLE case_docs (
    case_id TEXT PRIMARY KEY NOT NULL,
    doc BLOB NOT NULL
);
INSERT INTO case_docs (case_id, doc) SELECT case_id, doc FROM cases;
CREATE TABLE cases_v2 (
    case_id TEXT PRIMARY KEY NOT NULL,
    unit TEXT NOT NULL REFERENCES units(code),
    seq INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    derived INTEGER NOT NULL DEFAULT 0,
    verifier TEXT REFERENCES users(user_id),
    applicant_name TEXT NOT NULL DEFAULT '',
    id_number TEXT NOT NULL DEFAULT '',
    id_masked TEXT NOT NULL DEFAULT '',
    id_suffix TEXT NOT NULL DEFAULT '',
    sex TEXT NOT NULL DEFAULT '',
    birth_ymd INTEGER NOT NULL DEFAULT 0,
    community TEXT NOT NULL DEFAULT '',
    member_count INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT '',
    origin TEXT NOT NULL DEFAULT '',
    urgent INTEGER NOT NULL DEFAULT 0,
    area TEXT NOT NULL DEFAULT '',
    assistance TEXT NOT NULL DEFAULT '',
    hardship TEXT NOT NULL DEFAULT '',
    per_capita_fen INTEGER NOT NULL DEFAULT 0,
    annual_income_fen INTEGER NOT NULL DEFAULT 0,
    visit_at_ms INTEGER,
    signed_at_ms INTEGER,
    changed_after_signing INTEGER NOT NULL DEFAULT 0,
    open_conflicts INTEGER NOT NULL DEFAULT 0
);
INSERT INTO cases_v2 (case_id, unit, seq, created_at_ms, updated_at_ms, applicant_name,
                      id_masked, id_suffix, member_count, status)
    SELECT case_id, unit, seq, created_at_ms, updated_at_ms, applicant_name, id_masked,
           id_suffix, member_count, status FROM cases;
DROP TABLE cases;
ALTER TABLE cases_v2 RENAME TO cases;
CREATE INDEX cases_seq ON cases(seq, case_id);
CREATE INDEX cases_unit_seq ON cases(unit, seq, case_id);
CREATE INDEX cases_updated ON cases(updated_at_ms);
CREATE INDEX cases_unit_updated ON cases(unit, updated_at_ms);
CREATE INDEX cases_unit_status ON cases(unit, status);
CREATE INDEX cases_status ON cases(status);
CREATE INDEX cases_verifier_visit ON cases(verifier, visit_at_ms);
CREATE INDEX cases_id_suffix ON cases(id_suffix);
CREATE INDEX cases_derived ON cases(derived);
CREATE INDEX cases_flags ON cases(open_conflicts, changed_after_signing);
CREATE TABLE case_codes (
    kind TEXT NOT NULL CHECK (kind IN ('assistance', 'hardship')),
    code TEXT NOT NULL,
    case_id TEXT NOT NULL,
    PRIMARY KEY (kind, code, case_id)
) WITHOUT ROWID;
CREATE INDEX case_codes_case ON case_codes(case_id);
";

/// Which cases a query may see.
#[derive(Debug, Clone, Copy)]
pub(crate) enum CaseScope<'a> {
    /// The cases of one unit (tests, benchmarks).
    #[allow(dead_code)]
    Unit(&'a UnitId),
    /// A unit's cases plus those assigned to the user (street verifiers, supervisors).
    UnitOrAssigned(&'a UnitId, UserId),
    /// Only the cases assigned to the user (the bureau's verifiers).
    Assigned(UserId),
    All,
}

impl CaseScope<'_> {
    /// The condition on `cases c` that keeps a query within the scope, and its arguments
    /// (`None`: every case).
    pub(crate) fn sql(&self) -> Option<(&'static str, Vec<Value>)> {
        let text = |s: &str| Value::Text(s.to_owned());
        match self {
            CaseScope::Unit(unit) => Some(("c.unit = ?", vec![text(unit.as_str())])),
            CaseScope::UnitOrAssigned(unit, user) => Some((
                "(c.unit = ? OR c.case_id IN
                    (SELECT s.case_id FROM case_assignments s WHERE s.user_id = ?))",
                vec![text(unit.as_str()), text(&user.to_string())],
            )),
            CaseScope::Assigned(user) => Some((
                "c.case_id IN (SELECT s.case_id FROM case_assignments s WHERE s.user_id = ?)",
                vec![text(&user.to_string())],
            )),
            CaseScope::All => None,
        }
    }
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
        "SELECT c.unit, n.name, d.doc FROM cases c JOIN units n ON n.code = c.unit
         JOIN case_docs d ON d.case_id = c.case_id
         WHERE c.case_id = ?1",
        [case_id.to_string()],
        |r| Ok((parse_col(r, 0)?, r.get(1)?, r.get(2)?)),
    )
    .optional()
}

/// The bytes of a case's document.
pub(crate) fn load_doc(conn: &Connection, case_id: CaseId) -> rusqlite::Result<Option<Vec<u8>>> {
    conn.prepare_cached("SELECT doc FROM case_docs WHERE case_id = ?1")?
        .query_row([case_id.to_string()], |r| r.get(0))
        .optional()
}

/// Stores a case's document with its change sequence number and ledger columns. A new
/// case is placed in `unit` and credited to `verifier` (the user whose device brought
/// it); an existing case keeps its unit and verifier.
#[allow(clippy::too_many_arguments)]
pub(crate) fn save(
    conn: &Connection,
    case_id: CaseId,
    unit: &UnitId,
    verifier: Option<UserId>,
    doc: &[u8],
    seq: i64,
    columns: &CaseColumns,
    now_ms: i64,
) -> rusqlite::Result<()> {
    let id = case_id.to_string();
    conn.prepare_cached(
        "INSERT INTO cases (case_id, unit, seq, created_at_ms, updated_at_ms, verifier)
         VALUES (?1, ?2, ?3, ?4, ?4, ?5)
         ON CONFLICT(case_id) DO UPDATE SET seq = excluded.seq,
                                            updated_at_ms = excluded.updated_at_ms",
    )?
    .execute(params![
        id,
        unit.as_str(),
        seq,
        now_ms,
        verifier.map(|v| v.to_string())
    ])?;
    conn.prepare_cached(
        "INSERT INTO case_docs (case_id, doc) VALUES (?1, ?2)
         ON CONFLICT(case_id) DO UPDATE SET doc = excluded.doc",
    )?
    .execute(params![id, doc])?;
    put_columns(conn, case_id, columns)
}

/// Writes the ledger columns (and `case_codes`) of an existing case row.
pub(crate) fn put_columns(
    conn: &Connection,
    case_id: CaseId,
    c: &CaseColumns,
) -> rusqlite::Result<()> {
    let id = case_id.to_string();
    conn.prepare_cached(
        "UPDATE cases SET derived = ?2, applicant_name = ?3, id_number = ?4, id_masked = ?5,
            id_suffix = ?6, sex = ?7, birth_ymd = ?8, community = ?9, member_count = ?10,
            status = ?11, origin = ?12, urgent = ?13, area = ?14, assistance = ?15,
            hardship = ?16, per_capita_fen = ?17, annual_income_fen = ?18, visit_at_ms = ?19,
            signed_at_ms = ?20, changed_after_signing = ?21, open_conflicts = ?22
         WHERE case_id = ?1",
    )?
    .execute(params![
        id,
        DERIVE_VERSION,
        c.applicant_name,
        c.id_number,
        c.id_masked,
        c.id_suffix,
        c.sex,
        c.birth_ymd,
        c.community,
        c.member_count,
        c.status,
        c.origin,
        c.urgent,
        c.area,
        c.assistance.join(","),
        c.hardship.join(","),
        c.per_capita_fen,
        c.annual_income_fen,
        c.visit_at_ms,
        c.signed_at_ms,
        c.changed_after_signing,
        c.open_conflicts,
    ])?;
    conn.prepare_cached("DELETE FROM case_codes WHERE case_id = ?1")?
        .execute([&id])?;
    let mut insert =
        conn.prepare_cached("INSERT INTO case_codes (kind, code, case_id) VALUES (?1, ?2, ?3)")?;
    for (kind, codes) in [("assistance", &c.assistance), ("hardship", &c.hardship)] {
        for code in codes {
            insert.execute(params![kind, code, id])?;
        }
    }
    Ok(())
}

/// Cases whose columns were derived by an older derivation (at most `limit`).
pub(crate) fn stale(conn: &Connection, limit: usize) -> rusqlite::Result<Vec<CaseId>> {
    let mut stmt = conn.prepare("SELECT case_id FROM cases WHERE derived < ?1 LIMIT ?2")?;
    let rows = stmt.query_map(
        params![DERIVE_VERSION, i64::try_from(limit).unwrap_or(i64::MAX)],
        |r| parse_col(r, 0),
    )?;
    rows.collect()
}

/// Marks a case as derived by this version even though its document could not be read
/// (its columns stay as they were), so it is not retried at every start.
pub(crate) fn mark_derived(conn: &Connection, case_id: CaseId) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE cases SET derived = ?2 WHERE case_id = ?1",
        params![case_id.to_string(), DERIVE_VERSION],
    )?;
    Ok(())
}

/// Credits a case with no known verifier to `user` (re-derivation from the document's
/// first change).
pub(crate) fn fill_verifier(
    conn: &Connection,
    case_id: CaseId,
    user: UserId,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE cases SET verifier = ?2 WHERE case_id = ?1 AND verifier IS NULL",
        params![case_id.to_string(), user.to_string()],
    )?;
    Ok(())
}

/// "Changed since" in one unit: a range scan of `cases_unit_seq`.
pub(crate) const CHANGED_IN_UNIT_SQL: &str =
    "SELECT case_id, seq FROM cases WHERE unit = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3";
/// "Changed since" in the whole district: a range scan of `cases_seq`.
pub(crate) const CHANGED_ALL_SQL: &str =
    "SELECT case_id, seq FROM cases WHERE seq > ?1 ORDER BY seq LIMIT ?2";
/// "Changed since" in one unit plus the user's assigned cases: the unit's range scan and
/// the user's (few) assignments.
pub(crate) const CHANGED_IN_UNIT_OR_ASSIGNED_SQL: &str =
    "SELECT case_id, seq FROM cases WHERE unit = ?1 AND seq > ?2
     UNION
     SELECT c.case_id, c.seq FROM case_assignments a JOIN cases c ON c.case_id = a.case_id
     WHERE a.user_id = ?3 AND c.seq > ?2
     ORDER BY 2 LIMIT ?4";
/// "Changed since" among the user's assigned cases.
pub(crate) const CHANGED_ASSIGNED_SQL: &str =
    "SELECT c.case_id, c.seq FROM case_assignments a JOIN cases c ON c.case_id = a.case_id
     WHERE a.user_id = ?1 AND c.seq > ?2 ORDER BY c.seq LIMIT ?3";

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
        CaseScope::UnitOrAssigned(unit, user) => {
            let mut stmt = conn.prepare_cached(CHANGED_IN_UNIT_OR_ASSIGNED_SQL)?;
            let rows =
                stmt.query_map(params![unit.as_str(), after, user.to_string(), limit], map)?;
            rows.collect()
        }
        CaseScope::Assigned(user) => {
            let mut stmt = conn.prepare_cached(CHANGED_ASSIGNED_SQL)?;
            let rows = stmt.query_map(params![user.to_string(), after, limit], map)?;
            rows.collect()
        }
        CaseScope::All => {
            let mut stmt = conn.prepare_cached(CHANGED_ALL_SQL)?;
            let rows = stmt.query_map(params![after, limit], map)?;
            rows.collect()
        }
    }
}

/// Every case in scope with a sequence number at most `upto` (a device whose scope grew
/// must hear of the older cases it can now see).
pub(crate) fn in_scope_upto(
    conn: &Connection,
    scope: CaseScope<'_>,
    upto: i64,
) -> rusqlite::Result<Vec<CaseId>> {
    let (cond, mut args) = scope.sql().unwrap_or(("1", Vec::new()));
    args.push(Value::Integer(upto));
    let mut stmt = conn.prepare(&format!(
        "SELECT c.case_id FROM cases c WHERE {cond} AND c.seq <= ? ORDER BY c.seq"
    ))?;
    let rows = stmt.query_map(params_from_iter(args.iter()), |r| parse_col(r, 0))?;
    rows.collect()
}

/// How the ledger is ordered (ties: case id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum SortKey {
    #[default]
    Updated,
    Created,
    Name,
    PerCapitaIncome,
    Visit,
}

impl SortKey {
    pub(crate) const ALL: [SortKey; 5] = [
        SortKey::Updated,
        SortKey::Created,
        SortKey::Name,
        SortKey::PerCapitaIncome,
        SortKey::Visit,
    ];

    /// The `sort=` value.
    pub(crate) fn code(self) -> &'static str {
        match self {
            SortKey::Updated => "updated",
            SortKey::Created => "created",
            SortKey::Name => "name",
            SortKey::PerCapitaIncome => "per_capita_income",
            SortKey::Visit => "visit",
        }
    }

    pub(crate) fn from_code(code: &str) -> Option<SortKey> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    fn column(self) -> &'static str {
        match self {
            SortKey::Updated => "c.updated_at_ms",
            SortKey::Created => "c.created_at_ms",
            // Code-point order of the UTF-8 text (SQLite has no pinyin collation).
            SortKey::Name => "c.applicant_name",
            SortKey::PerCapitaIncome => "c.per_capita_fen",
            SortKey::Visit => "c.visit_at_ms",
        }
    }
}

/// A half-open time range `[from, before)` in ms; either end may be open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct TimeRange {
    pub from: Option<i64>,
    pub before: Option<i64>,
}

/// Filters, order and page of the case ledger, already validated.
#[derive(Debug, Clone, Default)]
pub(crate) struct CaseFilter {
    /// Only this unit (within the caller's scope).
    pub unit: Option<UnitId>,
    pub status: Option<String>,
    /// An assistance type code the case chose.
    pub assistance: Option<String>,
    /// A hardship cause code the case chose.
    pub hardship: Option<String>,
    pub verifier: Option<UserId>,
    pub origin: Option<String>,
    pub urgent: Option<bool>,
    pub open_conflicts: Option<bool>,
    pub changed_after_signing: Option<bool>,
    pub created: TimeRange,
    pub updated: TimeRange,
    pub visit: TimeRange,
    /// Part of the applicant's name.
    pub name: Option<String>,
    /// The last characters (at most four, upper-case) of the applicant's ID number.
    pub id_suffix: Option<String>,
    pub sort: SortKey,
    pub descending: bool,
    pub limit: u32,
    pub offset: u32,
}

/// The `WHERE` clause of a ledger query over `cases c` and its arguments.
fn where_clause(scope: CaseScope<'_>, filter: &CaseFilter) -> (String, Vec<Value>) {
    let mut clauses: Vec<&str> = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    let text = |s: &str| Value::Text(s.to_owned());
    if let Some((cond, scope_args)) = scope.sql() {
        clauses.push(cond);
        args.extend(scope_args);
    }
    if let Some(unit) = &filter.unit {
        clauses.push("c.unit = ?");
        args.push(text(unit.as_str()));
    }
    if let Some(status) = &filter.status {
        clauses.push("c.status = ?");
        args.push(text(status));
    }
    for (kind, code) in [
        ("assistance", &filter.assistance),
        ("hardship", &filter.hardship),
    ] {
        if let Some(code) = code {
            clauses.push(
                "c.case_id IN (SELECT k.case_id FROM case_codes k WHERE k.kind = ? AND k.code = ?)",
            );
            args.push(text(kind));
            args.push(text(code));
        }
    }
    if let Some(verifier) = filter.verifier {
        clauses.push("c.verifier = ?");
        args.push(Value::Text(verifier.to_string()));
    }
    if let Some(origin) = &filter.origin {
        clauses.push("c.origin = ?");
        args.push(text(origin));
    }
    for (column, flag) in [
        ("c.urgent = ?", filter.urgent),
        ("c.open_conflicts = ?", filter.open_conflicts),
        ("c.changed_after_signing = ?", filter.changed_after_signing),
    ] {
        if let Some(flag) = flag {
            clauses.push(column);
            args.push(Value::Integer(i64::from(flag)));
        }
    }
    for (from_sql, before_sql, range) in [
        (
            "c.created_at_ms >= ?",
            "c.created_at_ms < ?",
            filter.created,
        ),
        (
            "c.updated_at_ms >= ?",
            "c.updated_at_ms < ?",
            filter.updated,
        ),
        ("c.visit_at_ms >= ?", "c.visit_at_ms < ?", filter.visit),
    ] {
        if let Some(from) = range.from {
            clauses.push(from_sql);
            args.push(Value::Integer(from));
        }
        if let Some(before) = range.before {
            clauses.push(before_sql);
            args.push(Value::Integer(before));
        }
    }
    if let Some(name) = &filter.name {
        clauses.push("instr(c.applicant_name, ?) > 0");
        args.push(text(name));
    }
    if let Some(suffix) = &filter.id_suffix {
        clauses.push("substr(c.id_suffix, -length(?)) = ?");
        args.push(text(suffix));
        args.push(text(suffix));
    }
    let sql = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    (sql, args)
}

/// A ledger row with what only some roles may see.
#[derive(Debug, Clone)]
pub(crate) struct LedgerRow {
    pub row: CaseRow,
    /// The applicant's full ID number (exports for bureau staff only).
    pub id_number: String,
}

fn split_codes(joined: String) -> Vec<String> {
    if joined.is_empty() {
        Vec::new()
    } else {
        joined.split(',').map(str::to_owned).collect()
    }
}

/// Age in whole years on `today` (both `YYYYMMDD`, as `hecha_shared::case::derive::age_on`
/// counts it); `None` without a birth date.
pub(crate) fn age_on(birth_ymd: i64, today_ymd: i64) -> Option<u32> {
    let date = |ymd: i64| {
        Date::new(
            u16::try_from(ymd / 10_000).ok()?,
            u8::try_from(ymd / 100 % 100).ok()?,
            u8::try_from(ymd % 100).ok()?,
        )
    };
    Some(hecha_shared::case::derive::age_on(
        date(birth_ymd)?,
        date(today_ymd)?,
    ))
}

/// One page of the ledger in the filter's order, and how many cases match in all (ages
/// as of `today_ymd`). Run it in a transaction so the page and the total agree.
pub(crate) fn list(
    conn: &Connection,
    scope: CaseScope<'_>,
    filter: &CaseFilter,
    today_ymd: i64,
) -> rusqlite::Result<(Vec<LedgerRow>, u64)> {
    let (where_sql, mut args) = where_clause(scope, filter);
    let total: i64 = conn.query_row(
        &format!("SELECT count(*) FROM cases c {where_sql}"),
        params_from_iter(args.iter()),
        |r| r.get(0),
    )?;
    args.push(Value::Integer(i64::from(filter.limit)));
    args.push(Value::Integer(i64::from(filter.offset)));
    let direction = if filter.descending { "DESC" } else { "ASC" };
    let mut stmt = conn.prepare(&format!(
        "SELECT c.case_id, c.unit, n.name, c.applicant_name, c.id_masked, c.member_count,
                c.status, c.updated_at_ms, c.created_at_ms, c.sex, c.birth_ymd, c.community,
                c.origin, c.urgent, c.area, c.assistance, c.hardship, c.per_capita_fen,
                c.annual_income_fen, c.verifier, u.display_name, c.visit_at_ms,
                c.signed_at_ms, c.changed_after_signing, c.open_conflicts, c.id_number
         FROM cases c JOIN units n ON n.code = c.unit
         LEFT JOIN users u ON u.user_id = c.verifier
         {where_sql}
         ORDER BY {column} {direction}, c.case_id {direction}
         LIMIT ? OFFSET ?",
        column = filter.sort.column(),
    ))?;
    let rows = stmt.query_map(params_from_iter(args.iter()), |r| {
        let verifier: Option<String> = r.get(19)?;
        Ok(LedgerRow {
            row: CaseRow {
                case_id: parse_col(r, 0)?,
                unit: parse_col(r, 1)?,
                unit_name: r.get(2)?,
                applicant_name: r.get(3)?,
                id_masked: r.get(4)?,
                member_count: r.get(5)?,
                status: r.get(6)?,
                updated_at_ms: r.get(7)?,
                created_at_ms: r.get(8)?,
                sex: r.get(9)?,
                age: age_on(r.get(10)?, today_ymd),
                community: r.get(11)?,
                origin: r.get(12)?,
                urgent: r.get(13)?,
                area: r.get(14)?,
                assistance: split_codes(r.get(15)?),
                hardship: split_codes(r.get(16)?),
                per_capita_fen: r.get(17)?,
                annual_income_fen: r.get(18)?,
                verifier: verifier.and_then(|v| v.parse().ok()),
                verifier_name: r.get(20)?,
                visit_at_ms: r.get(21)?,
                signed_at_ms: r.get(22)?,
                changed_after_signing: r.get(23)?,
                open_conflicts: r.get(24)?,
            },
            id_number: r.get(25)?,
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
    let (where_sql, args) = where_clause(scope, &CaseFilter::default());
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

fn count(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<u64> {
    Ok(u64::try_from(r.get::<_, i64>(i)?).unwrap_or(0))
}

/// Counts and amounts by unit × assistance type × status of the cases matching `filter`
/// (its order and page are ignored), and how many distinct cases matched.
pub(crate) fn by_assistance(
    conn: &Connection,
    scope: CaseScope<'_>,
    filter: &CaseFilter,
) -> rusqlite::Result<(Vec<AssistanceCount>, u64)> {
    let (where_sql, args) = where_clause(scope, filter);
    let total: i64 = conn.query_row(
        &format!("SELECT count(*) FROM cases c {where_sql}"),
        params_from_iter(args.iter()),
        |r| r.get(0),
    )?;
    let mut stmt = conn.prepare(&format!(
        "SELECT c.unit, n.name, coalesce(k.code, '') AS assistance_code, c.status, count(*),
                sum(c.member_count), sum(c.annual_income_fen), sum(c.per_capita_fen)
         FROM cases c JOIN units n ON n.code = c.unit
         LEFT JOIN case_codes k ON k.case_id = c.case_id AND k.kind = 'assistance'
         {where_sql}
         GROUP BY c.unit, assistance_code, c.status
         ORDER BY c.unit, assistance_code, c.status"
    ))?;
    let rows = stmt.query_map(params_from_iter(args.iter()), |r| {
        Ok(AssistanceCount {
            unit: parse_col(r, 0)?,
            unit_name: r.get(1)?,
            assistance: r.get(2)?,
            status: r.get(3)?,
            households: count(r, 4)?,
            persons: count(r, 5)?,
            annual_income_fen: r.get(6)?,
            per_capita_fen_sum: r.get(7)?,
        })
    })?;
    let cells = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((cells, u64::try_from(total).unwrap_or(0)))
}

/// Home visits (cases with a visit start) per verifier and month (Beijing time) of the
/// cases matching `filter`, ordered by month, unit, username.
pub(crate) fn visits_by_verifier(
    conn: &Connection,
    scope: CaseScope<'_>,
    filter: &CaseFilter,
) -> rusqlite::Result<Vec<VisitCount>> {
    let (where_sql, args) = where_clause(scope, filter);
    let visited = if where_sql.is_empty() {
        "WHERE c.visit_at_ms IS NOT NULL".to_string()
    } else {
        format!("{where_sql} AND c.visit_at_ms IS NOT NULL")
    };
    let mut stmt = conn.prepare(&format!(
        "SELECT c.verifier, u.username, u.display_name, c.unit, n.name,
                strftime('%Y-%m', c.visit_at_ms / 1000 + 28800, 'unixepoch') AS month,
                count(*)
         FROM cases c JOIN units n ON n.code = c.unit
         LEFT JOIN users u ON u.user_id = c.verifier
         {visited}
         GROUP BY c.verifier, c.unit, month
         ORDER BY month, c.unit, u.username"
    ))?;
    let rows = stmt.query_map(params_from_iter(args.iter()), |r| {
        let verifier: Option<String> = r.get(0)?;
        Ok(VisitCount {
            verifier: verifier.and_then(|v| v.parse().ok()),
            username: r.get(1)?,
            display_name: r.get(2)?,
            unit: parse_col(r, 3)?,
            unit_name: r.get(4)?,
            month: r.get(5)?,
            visits: count(r, 6)?,
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
