//! `GET /api/v1/export/cases.{csv,xlsx}`: the case ledger of the caller's scope as a
//! file, with the filters and order of `GET /api/v1/cases` (without `limit`, every
//! matching case up to [`MAX_EXPORT_ROWS`]); `GET /api/v1/export/stats/assistance.{csv,xlsx}`
//! and `…/stats/visits.{csv,xlsx}`: the statistics of `GET /api/v1/stats/…` as files.
//! ID numbers in full for bureau staff only (see `crate::export`). Each export is written to
//! the audit log (with `?why=`) before it is answered. `X-Total-Count` says how many
//! cases matched, `X-Exported-Rows` how many the file holds.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, RawQuery, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::HeaderName;
use axum::response::{IntoResponse, Response};

use hecha_shared::api::Role;

use super::cases::{beijing_ymd, parse_filter_with, query_error, RawCaseQuery};
use crate::audit::{self, WhyQuery};
use crate::auth::Caller;
use crate::db::audit::AuditAction;
use crate::db::cases;
use crate::error::ApiError;
use crate::export;
use crate::AppState;

/// Most rows one export holds.
pub(crate) const MAX_EXPORT_ROWS: u32 = 100_000;

pub(crate) const CSV_CONTENT_TYPE: &str = "text/csv; charset=utf-8";
pub(crate) const XLSX_CONTENT_TYPE: &str =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

#[derive(Debug, Clone, Copy)]
enum Format {
    Csv,
    Xlsx,
}

impl Format {
    fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }
}

/// One handler per export route (the router lists literal paths, which the OpenAPI check
/// reads): each only names its table and format.
macro_rules! export_handlers {
    ($($name:ident => $table:expr, $format:expr;)*) => {$(
        pub(crate) async fn $name(
            state: State<AppState>,
            caller: Caller,
            raw: RawQuery,
            query: Result<Query<RawCaseQuery>, QueryRejection>,
            why: Result<Query<WhyQuery>, QueryRejection>,
        ) -> Result<Response, ApiError> {
            export(state, caller, raw, query, why, $table, $format).await
        }
    )*};
}

export_handlers! {
    cases_csv => Table::Ledger, Format::Csv;
    cases_xlsx => Table::Ledger, Format::Xlsx;
    assistance_csv => Table::Assistance, Format::Csv;
    assistance_xlsx => Table::Assistance, Format::Xlsx;
    visits_csv => Table::Visits, Format::Csv;
    visits_xlsx => Table::Visits, Format::Xlsx;
}

/// What an export holds.
#[derive(Debug, Clone, Copy)]
enum Table {
    /// The case ledger (台账).
    Ledger,
    /// Counts and amounts by unit × assistance type × status.
    Assistance,
    /// Visits per verifier per month.
    Visits,
}

impl Table {
    /// The audit target's and file's name.
    fn name(self) -> &'static str {
        match self {
            Table::Ledger => "cases",
            Table::Assistance => "stats-assistance",
            Table::Visits => "stats-visits",
        }
    }

    /// The Chinese file name, percent-encoded for `filename*`.
    fn name_zh(self) -> &'static str {
        match self {
            // 案件台账
            Table::Ledger => "%E6%A1%88%E4%BB%B6%E5%8F%B0%E8%B4%A6",
            // 救助统计
            Table::Assistance => "%E6%95%91%E5%8A%A9%E7%BB%9F%E8%AE%A1",
            // 入户统计
            Table::Visits => "%E5%85%A5%E6%88%B7%E7%BB%9F%E8%AE%A1",
        }
    }
}

async fn export(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
    query: Result<Query<RawCaseQuery>, QueryRejection>,
    why: Result<Query<WhyQuery>, QueryRejection>,
    table: Table,
    format: Format,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(query_error)?;
    let Query(why) = why.map_err(query_error)?;
    let reason = why.reason()?;
    let filter = parse_filter_with(query, MAX_EXPORT_ROWS, MAX_EXPORT_ROWS)?;
    if caller.scope().cases().is_none() {
        return Err(ApiError::Forbidden("this role sees no case content"));
    }
    let name = format!("{}.{}", table.name(), format.extension());
    let target = match raw.as_deref().filter(|q| !q.is_empty()) {
        Some(q) => format!("{name}?{}", truncate(q, 500)),
        None => name,
    };
    // Bureau staff export full ID numbers; every other role the masked ones.
    let full_ids = caller.user.role == Role::Bureau;
    let (body, rows, total) = state
        .blocking(move |state| {
            let scope = caller.scope();
            let Some(scope) = scope.cases() else {
                return Err(ApiError::Forbidden("this role sees no case content"));
            };
            let today = beijing_ymd(state.now_ms());
            let xlsx_error =
                |e: rust_xlsxwriter::XlsxError| ApiError::internal(format!("xlsx export: {e}"));
            // Read first (nothing is written if the query fails), audit, then render.
            let content = state.db().read(|conn| -> Result<_, ApiError> {
                let tx = conn.transaction()?;
                let content = match table {
                    Table::Ledger => {
                        let (rows, total) = cases::list(&tx, scope, &filter, today)?;
                        Content::Ledger(rows, total)
                    }
                    Table::Assistance => {
                        let (cells, total) = cases::by_assistance(&tx, scope, &filter)?;
                        Content::Assistance(cells, total)
                    }
                    Table::Visits => {
                        Content::Visits(cases::visits_by_verifier(&tx, scope, &filter)?)
                    }
                };
                tx.commit()?;
                Ok(content)
            })?;
            audit::record(
                state,
                &caller,
                AuditAction::Export,
                &target,
                reason.as_deref(),
            )?;
            Ok(match (content, format) {
                (Content::Ledger(rows, total), Format::Csv) => {
                    (export::ledger_csv(&rows, full_ids), rows.len(), total)
                }
                (Content::Ledger(rows, total), Format::Xlsx) => (
                    export::ledger_xlsx(&rows, full_ids).map_err(xlsx_error)?,
                    rows.len(),
                    total,
                ),
                (Content::Assistance(cells, total), format) => {
                    let rows = cells.iter().map(export::assistance_cells);
                    let body = match format {
                        Format::Csv => export::csv(&export::ASSISTANCE_HEADERS, rows),
                        Format::Xlsx => export::xlsx(
                            export::ASSISTANCE_SHEET,
                            &export::ASSISTANCE_HEADERS,
                            &export::ASSISTANCE_WIDTHS,
                            rows,
                        )
                        .map_err(xlsx_error)?,
                    };
                    (body, cells.len(), total)
                }
                (Content::Visits(visits), format) => {
                    let rows = visits.iter().map(export::visit_cells);
                    let body = match format {
                        Format::Csv => export::csv(&export::VISIT_HEADERS, rows),
                        Format::Xlsx => export::xlsx(
                            export::VISIT_SHEET,
                            &export::VISIT_HEADERS,
                            &export::VISIT_WIDTHS,
                            rows,
                        )
                        .map_err(xlsx_error)?,
                    };
                    let total = visits.iter().map(|v| v.visits).sum();
                    (body, visits.len(), total)
                }
            })
        })
        .await?;
    let content_type = match format {
        Format::Csv => CSV_CONTENT_TYPE,
        Format::Xlsx => XLSX_CONTENT_TYPE,
    };
    let disposition = format!(
        "attachment; filename=\"hecha-{name}.{ext}\"; filename*=UTF-8''{zh}.{ext}",
        name = table.name(),
        zh = table.name_zh(),
        ext = format.extension()
    );
    Ok((
        [
            (CONTENT_TYPE, content_type.to_string()),
            (CONTENT_DISPOSITION, disposition),
            (HeaderName::from_static("x-total-count"), total.to_string()),
            (HeaderName::from_static("x-exported-rows"), rows.to_string()),
        ],
        body,
    )
        .into_response())
}

/// What was read for an export.
enum Content {
    Ledger(Vec<cases::LedgerRow>, u64),
    Assistance(Vec<hecha_shared::api::AssistanceCount>, u64),
    Visits(Vec<hecha_shared::api::VisitCount>),
}

/// At most `max` bytes of `text`, cut at a character boundary.
fn truncate(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
