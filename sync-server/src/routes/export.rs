//! `GET /api/v1/export/cases.csv` and `…/cases.xlsx`: the case ledger of the caller's
//! scope as a file, with the filters of `GET /api/v1/cases` (newest first; without
//! `limit`, every matching case up to [`MAX_EXPORT_ROWS`]). Each export is written to
//! the audit log (with `?why=`) before it is answered. `X-Total-Count` says how many
//! cases matched, `X-Exported-Rows` how many the file holds.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, RawQuery, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::HeaderName;
use axum::response::{IntoResponse, Response};

use super::cases::{parse_filter_with, RawCaseQuery};
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

pub(crate) async fn cases_csv(
    state: State<AppState>,
    caller: Caller,
    raw: RawQuery,
    query: Result<Query<RawCaseQuery>, QueryRejection>,
    why: Result<Query<WhyQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    ledger(state, caller, raw, query, why, Format::Csv).await
}

pub(crate) async fn cases_xlsx(
    state: State<AppState>,
    caller: Caller,
    raw: RawQuery,
    query: Result<Query<RawCaseQuery>, QueryRejection>,
    why: Result<Query<WhyQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    ledger(state, caller, raw, query, why, Format::Xlsx).await
}

async fn ledger(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
    query: Result<Query<RawCaseQuery>, QueryRejection>,
    why: Result<Query<WhyQuery>, QueryRejection>,
    format: Format,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let Query(why) = why.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let reason = why.reason()?;
    let filter = parse_filter_with(query, MAX_EXPORT_ROWS, MAX_EXPORT_ROWS)?;
    if caller.scope().cases().is_none() {
        return Err(ApiError::Forbidden("this role sees no case content"));
    }
    let target = match raw.as_deref().filter(|q| !q.is_empty()) {
        Some(q) => format!("cases.{}?{}", format.extension(), truncate(q, 500)),
        None => format!("cases.{}", format.extension()),
    };
    let (body, rows, total) = state
        .blocking(move |state| {
            let scope = caller.scope();
            let Some(scope) = scope.cases() else {
                return Err(ApiError::Forbidden("this role sees no case content"));
            };
            let (rows, total) = state.db().read(|conn| -> Result<_, ApiError> {
                let tx = conn.transaction()?;
                let page = cases::list(&tx, scope, &filter)?;
                tx.commit()?;
                Ok(page)
            })?;
            audit::record(
                state,
                &caller,
                AuditAction::Export,
                &target,
                reason.as_deref(),
            )?;
            let body = match format {
                Format::Csv => export::ledger_csv(&rows),
                Format::Xlsx => export::ledger_xlsx(&rows)
                    .map_err(|e| ApiError::internal(format!("xlsx export: {e}")))?,
            };
            Ok((body, rows.len(), total))
        })
        .await?;
    let content_type = match format {
        Format::Csv => CSV_CONTENT_TYPE,
        Format::Xlsx => XLSX_CONTENT_TYPE,
    };
    let disposition = format!(
        "attachment; filename=\"hecha-cases.{ext}\"; filename*=UTF-8''%E6%A1%88%E4%BB%B6%E5%8F%B0%E8%B4%A6.{ext}",
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

/// At most `max` bytes of `text`, cut at a character boundary.
fn truncate(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
