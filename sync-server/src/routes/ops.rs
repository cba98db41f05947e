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

/// Middleware: a 4xx answer that is not JSON (axum's own 405, a path or body the
/// extractors refused before a handler ran) becomes an `ErrorBody` like every other
/// refusal, so clients always get a code and a message they can show.
pub(crate) async fn json_errors(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !status.is_client_error() || is_json {
        return response;
    }
    let (code, message) = match status.as_u16() {
        405 => ("method_not_allowed", "此地址不支持该请求方法"),
        404 => ("not_found", "请求的地址不存在"),
        413 => ("payload_too_large", "请求数据过大，请分批同步"),
        415 => ("unsupported_media_type", "请求的内容类型不受支持"),
        401 => ("unauthorized", "登录已失效，请重新登录"),
        403 => ("forbidden", "当前账号无权访问此内容"),
        _ => ("bad_request", "请求有误"),
    };
    tracing::info!(
        status = status.as_u16(),
        code,
        "request refused before its handler"
    );
    let allow = response.headers().get(axum::http::header::ALLOW).cloned();
    let mut answer = (
        status,
        Json(serde_json::json!({ "error": code, "message": message })),
    )
        .into_response();
    if let Some(allow) = allow {
        answer
            .headers_mut()
            .insert(axum::http::header::ALLOW, allow);
    }
    answer
}
