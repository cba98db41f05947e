//! `GET /api/v1/cases/{id}/history`, `…/document` (JSON) and `…/document.automerge`
//! (the raw document bytes): one whole case, scope-checked like sync.

use axum::extract::{Path, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::Json;
use hecha_shared::api::{CaseDocument, CaseHistory};

use crate::auth::Caller;
use crate::case_read::{self, parse_case_id};
use crate::error::ApiError;
use crate::AppState;

/// The content type of a raw Automerge document.
pub(crate) const AUTOMERGE_CONTENT_TYPE: &str = "application/octet-stream";

pub(crate) async fn history(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<CaseHistory>, ApiError> {
    let case_id = parse_case_id(&id)?;
    let history = state
        .blocking(move |state| {
            let stored = case_read::load(state, &caller.scope(), case_id)?;
            case_read::history(state, &stored)
        })
        .await?;
    Ok(Json(history))
}

pub(crate) async fn document(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<CaseDocument>, ApiError> {
    let case_id = parse_case_id(&id)?;
    let view = state
        .blocking(move |state| {
            let stored = case_read::load(state, &caller.scope(), case_id)?;
            case_read::document_view(&stored)
        })
        .await?;
    Ok(Json(view))
}

pub(crate) async fn document_raw(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let case_id = parse_case_id(&id)?;
    let stored = state
        .blocking(move |state| case_read::load(state, &caller.scope(), case_id))
        .await?;
    let disposition = format!("attachment; filename=\"{case_id}.automerge\"");
    Ok((
        [
            (CONTENT_TYPE, AUTOMERGE_CONTENT_TYPE.to_string()),
            (CONTENT_DISPOSITION, disposition),
        ],
        stored.bytes,
    )
        .into_response())
}
