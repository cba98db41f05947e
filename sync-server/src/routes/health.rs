//! `GET /api/v1/health`: answers while the server runs (no database access).

use axum::Json;
use serde_json::{json, Value};

pub(crate) async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}
