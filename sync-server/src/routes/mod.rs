//! The HTTP routes (all under `/api/v1`), each a thin handler over the modules below it:
//! `GET health`, `POST login`, `GET me`, `POST sync` (postcard), `GET cases`, and one
//! case's `history`, `document` and `document.automerge`, `GET audit`, and the ledger
//! exports `GET export/cases.csv` and `export/cases.xlsx`, and `GET stats`.

mod audit;
mod auth;
mod blobs;
mod case_read;
mod cases;
mod export;
mod health;
mod lifecycle;
mod ops;
mod spot_checks;
mod stats;
mod sync;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::error::ApiError;
use crate::AppState;

pub(crate) fn router(state: AppState) -> Router {
    let config = state.config();
    let sync_limit = DefaultBodyLimit::max(config.max_sync_body_bytes);
    let json_limit = DefaultBodyLimit::max(config.max_json_body_bytes);
    Router::new()
        .route("/api/v1/health", get(health::health))
        .route("/api/v1/standards", get(ops::standards))
        .route("/api/v1/openapi.json", get(ops::openapi))
        .route("/metrics", get(ops::metrics))
        .route("/api/v1/login", post(auth::login))
        .route("/api/v1/me", get(auth::me))
        .route("/api/v1/sync", post(sync::sync).layer(sync_limit))
        .route("/api/v1/cases", get(cases::list))
        .route("/api/v1/cases/{id}/history", get(case_read::history))
        .route(
            "/api/v1/spot-checks",
            post(spot_checks::draw).get(spot_checks::list_draws),
        )
        .route("/api/v1/spot-checks/{id}", get(spot_checks::get_draw))
        .route(
            "/api/v1/cases/{id}/lifecycle-flags",
            get(spot_checks::lifecycle_flags),
        )
        .route("/api/v1/stats/lifecycle-flags", get(spot_checks::flag_list))
        .route("/api/v1/cases/{id}/document", get(case_read::document))
        .route(
            "/api/v1/cases/{id}/document.automerge",
            get(case_read::document_raw),
        )
        .route("/api/v1/audit", get(audit::list))
        .route("/api/v1/export/cases.csv", get(export::cases_csv))
        .route("/api/v1/export/cases.xlsx", get(export::cases_xlsx))
        .route("/api/v1/stats", get(stats::stats))
        .route("/api/v1/enrol-codes", post(lifecycle::create_code))
        .route("/api/v1/enrol", post(lifecycle::redeem))
        .route("/api/v1/cases/{id}/assign", post(lifecycle::assign))
        .route(
            "/api/v1/cases/{id}/assign/{user}",
            axum::routing::delete(lifecycle::unassign),
        )
        .route(
            "/api/v1/cases/{id}/assignments",
            get(lifecycle::assignments),
        )
        .route("/api/v1/cases/{id}/transfer", post(lifecycle::transfer))
        .route("/api/v1/stats/assistance", get(stats::assistance))
        .route("/api/v1/stats/visits", get(stats::visits))
        .route("/api/v1/stats/conflicts", get(stats::conflicts))
        .route(
            "/api/v1/stats/changed-after-signing",
            get(stats::changed_after_signing),
        )
        .route(
            "/api/v1/export/stats/assistance.csv",
            get(export::assistance_csv),
        )
        .route(
            "/api/v1/export/stats/assistance.xlsx",
            get(export::assistance_xlsx),
        )
        .route("/api/v1/export/stats/visits.csv", get(export::visits_csv))
        .route("/api/v1/export/stats/visits.xlsx", get(export::visits_xlsx))
        .route(
            "/api/v1/blobs/{sha256}",
            get(blobs::download)
                .put(blobs::upload)
                .layer(DefaultBodyLimit::max(
                    hecha_shared::blob::MAX_CHUNK_BYTES as usize,
                )),
        )
        .route("/api/v1/blobs/{sha256}/status", get(blobs::status))
        .fallback(not_found)
        .layer(json_limit)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::metrics::track,
        ))
        .layer(axum::middleware::from_fn(ops::json_errors))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::NotFound
}

/// A request body that could not be read: too large (413) or broken (400).
fn body_error(status: axum::http::StatusCode, detail: String) -> ApiError {
    if status == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge
    } else {
        ApiError::BadRequest(detail)
    }
}
