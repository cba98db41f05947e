//! `GET /api/v1/stats`: case counts by unit × status within the caller's scope (IT
//! administrators: 403, they see no case content).

use axum::extract::State;
use axum::Json;
use hecha_shared::api::CaseStats;

use crate::auth::Caller;
use crate::db::cases;
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
