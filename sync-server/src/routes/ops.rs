//! The operator's routes: `GET /api/v1/standards` (the bureau's 低保 standards from the
//! config, any logged-in caller), `GET /api/v1/openapi.json` (the API description, public)
//! and `GET /metrics` (Prometheus text; only with the configured metrics token).

use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use sha2::{Digest, Sha256};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::standards::Standards;
use crate::AppState;

/// The OpenAPI 3 description of every route (kept beside the crate's manifest; the
/// `openapi` test fails when it and the router disagree).
pub(crate) const OPENAPI_JSON: &str = include_str!("../../openapi.json");

pub(crate) async fn standards(State(state): State<AppState>, _caller: Caller) -> Json<Standards> {
    Json(state.config().standards.clone())
}

pub(crate) async fn openapi() -> Response {
    ([(CONTENT_TYPE, "application/json")], OPENAPI_JSON).into_response()
}

pub(crate) async fn metrics(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    // Off unless configured: the route then looks like any unknown path.
    let Some(expected) = state.config().metrics_token.as_deref() else {
        return Err(ApiError::NotFound);
    };
    let presented = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    // Compare digests, so the time taken says nothing about a prefix of the token.
    if Sha256::digest(presented.as_bytes()) != Sha256::digest(expected.as_bytes()) {
        return Err(ApiError::Unauthorized("metrics token"));
    }
    let gauges = state
        .blocking(|state| Ok(state.db().read(|conn| crate::metrics::gauges(conn))?))
        .await
        .ok();
    let text = state.metrics().render(gauges);
    Ok((
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        text,
    )
        .into_response())
}
