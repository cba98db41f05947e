//! `GET /api/v1/blobs/{sha256}/status`, `PUT /api/v1/blobs/{sha256}` (one chunk, with
//! `Content-Range`) and `GET /api/v1/blobs/{sha256}`: photo transfer. Thin handlers over
//! `crate::blobs`; the protocol is in `hecha_shared::blob`.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_RANGE, CONTENT_TYPE};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use hecha_shared::blob::{BlobStatus, ContentRange};

use crate::auth::Caller;
use crate::blobs;
use crate::error::ApiError;
use crate::AppState;

pub(crate) async fn status(
    State(state): State<AppState>,
    caller: Caller,
    Path(sha256): Path<String>,
) -> Result<Json<BlobStatus>, ApiError> {
    let sha256 = blobs::parse_name(&sha256)?;
    let status = state
        .blocking(move |state| blobs::status(state, &caller, &sha256))
        .await?;
    Ok(Json(status))
}

pub(crate) async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    Path(sha256): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<BlobStatus>, ApiError> {
    let sha256 = blobs::parse_name(&sha256)?;
    let header = headers
        .get(CONTENT_RANGE)
        .ok_or_else(|| ApiError::BadRequest("缺少 Content-Range".to_string()))?
        .to_str()
        .map_err(|_| ApiError::BadRequest("Content-Range 格式不正确".to_string()))?;
    let range = ContentRange::parse(header)
        .map_err(|e| ApiError::BadRequest(format!("Content-Range 格式不正确（{e}）")))?;
    let body = body.map_err(|e| super::body_error(e.status(), e.body_text()))?;
    let status = state
        .blocking(move |state| blobs::put_chunk(state, &caller, &sha256, range, &body))
        .await?;
    Ok(Json(status))
}

pub(crate) async fn download(
    State(state): State<AppState>,
    caller: Caller,
    Path(sha256): Path<String>,
) -> Result<Response, ApiError> {
    let sha256 = blobs::parse_name(&sha256)?;
    let bytes = state
        .blocking(move |state| blobs::read(state, &caller, &sha256))
        .await?;
    let content_type = if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        "image/jpeg"
    } else {
        "application/octet-stream"
    };
    Ok((
        [
            (CONTENT_TYPE, content_type),
            // Content-addressed: the bytes under a name never change.
            (CACHE_CONTROL, "private, max-age=31536000, immutable"),
        ],
        bytes,
    )
        .into_response())
}
