//! Stand-ins for the signature IPC types the core's "schema" work is landing
//! (`hecha_shared::app_api::{SignRequest, SignatureView}` in /work/notes/core-api.md): the
//! same names and JSON shape, so the UI builds and is swapped over when they land.

use hecha_shared::signature::Point;
use hecha_shared::CaseId;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize)]
pub struct SignRequest {
    pub case_id: CaseId,
    pub role: String,
    pub signer_name: String,
    pub neighbour_visit: Option<String>,
    pub strokes: Vec<Vec<Point>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SignatureView {
    pub id: String,
    pub role: String,
    pub role_label_zh: String,
    pub signer_name: String,
    pub signed_at_ms: i64,
    #[serde(default)]
    pub by_display_name: String,
    pub png_data_url: String,
    pub status: String,
    #[serde(default)]
    pub changed_by_name: String,
    #[serde(default)]
    pub changed_at_ms: i64,
    #[serde(default)]
    pub neighbour_visit: Option<String>,
}
