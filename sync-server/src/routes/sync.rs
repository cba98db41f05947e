//! `POST /api/v1/sync`: decodes the postcard envelope, runs the sync off the async
//! threads, encodes the answer.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use hecha_shared::sync::{self as proto, SyncRequest, MAX_DOCS_PER_REQUEST};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::AppState;

pub(crate) async fn sync(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case(proto::CONTENT_TYPE) {
        return Err(ApiError::UnsupportedMediaType(content_type.to_string()));
    }
    let body = body.map_err(|e| super::body_error(e.status(), e.body_text()))?;
    let request = SyncRequest::decode(&body)?;
    let (docs_in, bytes_in) = (request.docs.len(), body.len());
    if request.docs.len() > MAX_DOCS_PER_REQUEST {
        return Err(ApiError::TooManyDocs {
            count: request.docs.len(),
            max: MAX_DOCS_PER_REQUEST,
        });
    }
    let response = state
        .blocking(move |state| crate::sync::run(state, &caller, request))
        .await?;
    let encoded = response.encode();
    let rejected = response
        .docs
        .iter()
        .filter(|d| matches!(d, proto::DocReply::Rejected { .. }))
        .count();
    let sent = response
        .docs
        .iter()
        .filter(|d| matches!(d, proto::DocReply::Message(_)))
        .count();
    state
        .metrics()
        .record_sync(docs_in, bytes_in, sent, rejected, encoded.len());
    Ok(([(CONTENT_TYPE, proto::CONTENT_TYPE)], encoded).into_response())
}
