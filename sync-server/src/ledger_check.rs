//! The ledger's drift check for `admin check`: each case's materialised row (and its
//! `case_codes`) is re-derived from the stored Automerge document by the same code the
//! sync path runs, and compared column by column with what was stored. Schema-agnostic:
//! every column of the row takes part except the bookkeeping ones ([`SKIPPED`]).

use hecha_shared::CaseId;
use rusqlite::types::Value;
use rusqlite::Connection;

use crate::db::cases;
use crate::maintenance::Drift;

/// Columns that are not derived from the document.
const SKIPPED: &[&str] = &["doc", "seq", "created_at_ms", "updated_at_ms", "derived"];

/// The drift found in a database.
#[derive(Debug, Default)]
pub(crate) struct Found {
    pub drift: Vec<Drift>,
    /// Cases whose stored bytes do not read as a case document.
    pub unreadable: Vec<String>,
}

/// Re-derives every case on `conn` inside a transaction that is rolled back: run it on a
/// snapshot (it takes the write lock while it runs).
pub(crate) fn drift(conn: &mut Connection) -> rusqlite::Result<Found> {
    let tx = conn.transaction()?;
    let ids: Vec<String> = {
        let mut stmt = tx.prepare("SELECT case_id FROM cases ORDER BY case_id")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let mut found = Found::default();
    for id in ids {
        let Ok(case_id) = id.parse::<CaseId>() else {
            found.unreadable.push(id);
            continue;
        };
        let before = snapshot(&tx, &id)?;
        if !rederive(&tx, case_id)? {
            found.unreadable.push(id);
            continue;
        }
        let after = snapshot(&tx, &id)?;
        let differences: Vec<String> = after
            .iter()
            .filter_map(|(column, derived)| {
                let stored = before
                    .iter()
                    .find(|(c, _)| c == column)
                    .map(|(_, v)| v.clone());
                (stored.as_ref() != Some(derived)).then(|| {
                    format!(
                        "{column}: {} → {}",
                        stored.as_ref().map(show).unwrap_or_else(|| "(none)".into()),
                        show(derived)
                    )
                })
            })
            .collect();
        if !differences.is_empty() {
            found.drift.push(Drift {
                case_id: id,
                differences,
            });
        }
    }
    tx.rollback()?;
    Ok(found)
}

/// Rewrites the rows of `ids` from their documents in one transaction; returns how many.
pub(crate) fn repair(conn: &mut Connection, ids: &[String]) -> rusqlite::Result<usize> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut done = 0;
    for id in ids {
        if let Ok(case_id) = id.parse::<CaseId>() {
            if rederive(&tx, case_id)? {
                done += 1;
            }
        }
    }
    tx.commit()?;
    Ok(done)
}

/// Writes the case's ledger columns as its stored document says; false if the document
/// does not read as a case.
fn rederive(conn: &Connection, case_id: CaseId) -> rusqlite::Result<bool> {
    let bytes = cases::load_doc(conn, case_id)?.unwrap_or_default();
    let Some(doc) = crate::sync::load_stored(case_id, &bytes) else {
        return Ok(false);
    };
    let Ok(case) = hecha_shared::case::read_case(&doc) else {
        return Ok(false);
    };
    cases::put_columns(conn, case_id, &crate::ledger::columns(&doc, &case))?;
    Ok(true)
}

/// The row's derived columns, and its `case_codes` (if that table exists) as one
/// pseudo-column of sorted `kind:code` pairs.
fn snapshot(conn: &Connection, id: &str) -> rusqlite::Result<Vec<(String, Value)>> {
    let mut stmt = conn.prepare_cached("SELECT * FROM cases WHERE case_id = ?1")?;
    let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
    let mut rows = stmt.query([id])?;
    let mut out = Vec::new();
    if let Some(row) = rows.next()? {
        for (i, name) in names.iter().enumerate() {
            if !SKIPPED.contains(&name.as_str()) {
                out.push((name.clone(), row.get::<_, Value>(i)?));
            }
        }
    }
    let has_codes: bool = conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'case_codes'",
        [],
        |r| r.get(0),
    )?;
    if has_codes {
        let mut stmt = conn.prepare_cached(
            "SELECT kind || ':' || code FROM case_codes WHERE case_id = ?1 ORDER BY 1",
        )?;
        let codes: Vec<String> = stmt
            .query_map([id], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        out.push(("case_codes".into(), Value::Text(codes.join(","))));
    }
    Ok(out)
}

fn show(value: &Value) -> String {
    match value {
        Value::Null => "NULL".into(),
        Value::Integer(i) => i.to_string(),
        Value::Real(r) => r.to_string(),
        Value::Text(t) => format!("{t:?}"),
        Value::Blob(b) => format!("<{} bytes>", b.len()),
    }
}
