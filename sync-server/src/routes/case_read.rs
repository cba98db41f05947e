//! `GET /api/v1/cases/{id}/history`, `…/document` (JSON) and `…/document.automerge`
//! (the raw document bytes): one whole case, scope-checked like sync. Each read is
//! written to the audit log (with the optional `?why=` reason) before it is answered.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::Json;
use hecha_shared::api::{CaseDocument, CaseHistory};
use hecha_shared::CaseId;

use crate::audit::{self, WhyQuery};
use crate::auth::Caller;
use crate::case_read::{self, parse_case_id, StoredCase};
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
    let (history, _) = read_audited(
        state,
        caller,
        &id,
        why,
        AuditAction::ReadHistory,
        "",
        |state, stored| case_read::history(state, &stored),
    )
    .await?;
    Ok(Json(history))
}

pub(crate) async fn document(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    why: Result<Query<WhyQuery>, QueryRejection>,
) -> Result<Json<CaseDocument>, ApiError> {
    let (view, _) = read_audited(
        state,
        caller,
        &id,
        why,
        AuditAction::ReadCase,
        "",
        |_, stored| case_read::document_view(&stored),
    )
    .await?;
    Ok(Json(view))
}

pub(crate) async fn document_raw(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    why: Result<Query<WhyQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let (bytes, case_id) = read_audited(
        state,
        caller,
        &id,
        why,
        AuditAction::ReadCase,
        ".automerge",
        |_, stored| Ok(stored.bytes),
    )
    .await?;
    let disposition = format!("attachment; filename=\"{case_id}.automerge\"");
    Ok((
        [
            (CONTENT_TYPE, AUTOMERGE_CONTENT_TYPE.to_string()),
            (CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}

/// The one path of every whole-case read: parse the id, load the case within the caller's
/// scope, write the audit entry (target: the case id plus `target_suffix`), then make the
/// answer with `answer` — all in one blocking task, so nothing is answered unaudited.
async fn read_audited<T: Send + 'static>(
    state: AppState,
    caller: Caller,
    id: &str,
    why: Result<Query<WhyQuery>, QueryRejection>,
    action: AuditAction,
    target_suffix: &'static str,
    answer: impl FnOnce(&AppState, StoredCase) -> Result<T, ApiError> + Send + 'static,
) -> Result<(T, CaseId), ApiError> {
    let case_id = parse_case_id(id)?;
    let reason = reason(why)?;
    let value = state
        .blocking(move |state| {
            let stored = case_read::load(state, &caller.scope(), case_id)?;
            let target = format!("{case_id}{target_suffix}");
            audit::record(state, &caller, action, &target, reason.as_deref())?;
            answer(state, stored)
        })
        .await?;
    Ok((value, case_id))
}

fn reason(why: Result<Query<WhyQuery>, QueryRejection>) -> Result<Option<String>, ApiError> {
    let Query(why) = why.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    why.reason()
}
