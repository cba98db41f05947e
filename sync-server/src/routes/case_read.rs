//! `GET /api/v1/cases/{id}/history`, `…/document` (JSON) and `…/document.automerge`
//! (the raw document bytes): one whole case, scope-checked like sync. Each read is
//! written to the audit log (with the optional `?why=` reason) before it is answered.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::Json;
use hecha_shared::api::{CaseDocument, CaseHistory};

use crate::audit::{self, WhyQuery};
use crate::auth::Caller;
use crate::case_read::{self, parse_case_id};
use crate::db::audit::AuditAction;
use crate::error::ApiError;
use crate::AppState;

/// The content type of a raw Automerge document.
pub(crate) const AUTOMERGE_CONTENT_TYPE: &str = "application/octet-stream";

pub(crate) async fn history(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    why: Result<Query<WhyQuery>, QueryRejection>,
) -> Result<Json<CaseHistory>, ApiError> {
    let case_id = parse_case_id(&id)?;
    let reason = reason(why)?;
    let history = state
        .blocking(move |state| {
            let stored = case_read::load(state, &caller.scope(), case_id)?;
            let target = case_id.to_string();
            audit::record(
                state,
                &caller,
                AuditAction::ReadHistory,
                &target,
                reason.as_deref(),
            )?;
            case_read::history(state, &stored)
        })
        .await?;
    Ok(Json(history))
}

pub(crate) async fn document(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    why: Result<Query<WhyQuery>, QueryRejection>,
) -> Result<Json<CaseDocument>, ApiError> {
    let case_id = parse_case_id(&id)?;
    let reason = reason(why)?;
    let view = state
        .blocking(move |state| {
            let stored = case_read::load(state, &caller.scope(), case_id)?;
            let target = case_id.to_string();
            audit::record(
                state,
                &caller,
                AuditAction::ReadCase,
                &target,
                reason.as_deref(),
            )?;
            case_read::document_view(&stored)
        })
        .await?;
    Ok(Json(view))
}

pub(crate) async fn document_raw(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    why: Result<Query<WhyQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let case_id = parse_case_id(&id)?;
    let reason = reason(why)?;
    let stored = state
        .blocking(move |state| {
            let stored = case_read::load(state, &caller.scope(), case_id)?;
            let target = format!("{case_id}.automerge");
            audit::record(
                state,
                &caller,
                AuditAction::ReadCase,
                &target,
                reason.as_deref(),
            )?;
            Ok(stored)
        })
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

fn reason(why: Result<Query<WhyQuery>, QueryRejection>) -> Result<Option<String>, ApiError> {
    let Query(why) = why.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    why.reason()
}
