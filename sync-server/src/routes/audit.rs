//! `GET /api/v1/audit?since_ms=&user=&limit=`: the audit log, newest first, for bureau
//! staff only (everyone else: 403).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use hecha_shared::api::{AuditList, Role};
use serde::Deserialize;

use crate::auth::Caller;
use crate::db::audit::{self, AuditFilter};
use crate::error::ApiError;
use crate::AppState;

const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 1000;

/// The query string as sent (empty values are no filter).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawAuditQuery {
    since_ms: Option<String>,
    user: Option<String>,
    limit: Option<String>,
}

pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<RawAuditQuery>, QueryRejection>,
) -> Result<Json<AuditList>, ApiError> {
    if caller.user.role != Role::Bureau {
        return Err(ApiError::Forbidden("only bureau staff read the audit log"));
    }
    let Query(raw) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let filter = parse_filter(raw)?;
    let entries = state
        .blocking(move |state| Ok(state.db().read(|conn| audit::list(conn, &filter))?))
        .await?;
    Ok(Json(AuditList { entries }))
}

fn parse_filter(raw: RawAuditQuery) -> Result<AuditFilter, ApiError> {
    let text = |v: Option<String>| v.map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let since_ms = text(raw.since_ms)
        .map(|v| {
            v.parse::<i64>()
                .map_err(|_| ApiError::BadRequest("since_ms 应为毫秒时间戳".to_string()))
        })
        .transpose()?;
    let limit = text(raw.limit)
        .map(|v| {
            v.parse::<u32>()
                .map_err(|_| ApiError::BadRequest("limit 应为非负整数".to_string()))
        })
        .transpose()?
        .unwrap_or(DEFAULT_LIMIT)
        .min(MAX_LIMIT);
    let username = text(raw.user);
    if username.as_ref().is_some_and(|u| u.len() > 64) {
        return Err(ApiError::BadRequest("user 应为用户名".to_string()));
    }
    Ok(AuditFilter {
        since_ms,
        username,
        limit,
    })
}
