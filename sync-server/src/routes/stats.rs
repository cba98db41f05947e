//! The statistics, within the caller's scope (IT administrators: 403, they see no case
//! content): `GET /api/v1/stats` (counts by unit × status),
//! `GET /api/v1/stats/assistance` (counts and amounts by unit × assistance type × status),
//! `GET /api/v1/stats/visits` (visits per verifier per month), and the case lists
//! `GET /api/v1/stats/conflicts` (open conflicts) and
//! `GET /api/v1/stats/changed-after-signing`. All but the first take the ledger's
//! filters (`GET /api/v1/cases` query parameters).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use hecha_shared::api::{AssistanceStats, CaseList, CaseStats, VisitStats};

use super::cases::{list_cases, parse_filter, query_error, RawCaseQuery};
use crate::auth::Caller;
use crate::db::cases::{self, CaseFilter};
use crate::error::ApiError;
use crate::AppState;

pub(crate) async fn stats(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<CaseStats>, ApiError> {
    if caller.scope().cases().is_none() {
        return Err(ApiError::Forbidden("this role sees no case content"));
    }
    let stats = state
        .blocking(move |state| {
            let scope = caller.scope();
            let Some(scope) = scope.cases() else {
                return Err(ApiError::Forbidden("this role sees no case content"));
            };
            let counts = state
                .db()
                .read(|conn| cases::count_by_unit_and_status(conn, scope))?;
            let total = counts.iter().map(|c| c.count).sum();
            Ok(CaseStats { counts, total })
        })
        .await?;
    Ok(Json(stats))
}

/// Runs a statistics query over the caller's scope off the async threads.
async fn over_scope<T: Send + 'static>(
    state: AppState,
    caller: Caller,
    filter: CaseFilter,
    query: fn(&rusqlite::Connection, cases::CaseScope<'_>, &CaseFilter) -> rusqlite::Result<T>,
) -> Result<T, ApiError> {
    if caller.scope().cases().is_none() {
        return Err(ApiError::Forbidden("this role sees no case content"));
    }
    state
        .blocking(move |state| {
            let scope = caller.scope();
            let Some(scope) = scope.cases() else {
                return Err(ApiError::Forbidden("this role sees no case content"));
            };
            state.db().read(|conn| -> Result<T, ApiError> {
                let tx = conn.transaction()?;
                let out = query(&tx, scope, &filter)?;
                tx.commit()?;
                Ok(out)
            })
        })
        .await
}

pub(crate) async fn assistance(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<RawCaseQuery>, QueryRejection>,
) -> Result<Json<AssistanceStats>, ApiError> {
    let Query(raw) = query.map_err(query_error)?;
    let filter = parse_filter(raw)?;
    let (cells, total_households) = over_scope(state, caller, filter, cases::by_assistance).await?;
    Ok(Json(AssistanceStats {
        cells,
        total_households,
    }))
}

pub(crate) async fn visits(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<RawCaseQuery>, QueryRejection>,
) -> Result<Json<VisitStats>, ApiError> {
    let Query(raw) = query.map_err(query_error)?;
    let filter = parse_filter(raw)?;
    let rows = over_scope(state, caller, filter, cases::visits_by_verifier).await?;
    Ok(Json(VisitStats { rows }))
}

pub(crate) async fn conflicts(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<RawCaseQuery>, QueryRejection>,
) -> Result<Json<CaseList>, ApiError> {
    let Query(raw) = query.map_err(query_error)?;
    let mut filter = parse_filter(raw)?;
    filter.open_conflicts = Some(true);
    Ok(Json(list_cases(state, caller, filter).await?))
}

pub(crate) async fn changed_after_signing(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<RawCaseQuery>, QueryRejection>,
) -> Result<Json<CaseList>, ApiError> {
    let Query(raw) = query.map_err(query_error)?;
    let mut filter = parse_filter(raw)?;
    filter.changed_after_signing = Some(true);
    Ok(Json(list_cases(state, caller, filter).await?))
}
