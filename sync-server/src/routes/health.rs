//! `GET /api/v1/health`: 200 `{"status":"ok","db":"ok"}` while the server runs and its
//! database answers a query; 503 `{"status":"unavailable","db":"error"}` when it does not
//! (load balancers and monitoring take the server out of rotation).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use crate::AppState;

pub(crate) async fn health(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let db_ok = state
        .blocking(|state| {
            Ok(state
                .db()
                .read(|conn| conn.query_row("SELECT 1", [], |r| r.get::<_, i64>(0)))?)
        })
        .await
        .is_ok();
    if db_ok {
        (StatusCode::OK, Json(json!({ "status": "ok", "db": "ok" })))
    } else {
        tracing::error!("health check: the database does not answer");
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable", "db": "error" })),
        )
    }
}
