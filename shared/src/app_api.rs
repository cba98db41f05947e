//! The app's command interface: the types the Leptos UI sends to and receives from the
//! app core through Tauri commands. One struct per command argument or result.

use serde::{Deserialize, Serialize};

use crate::api::Role;
use crate::case::{CaseForm, FieldErrors};
use crate::ids::{CaseId, DeviceId, UnitId};

/// `enrol`: connect this device to a server and log in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolRequest {
    pub server_url: String,
    pub username: String,
    pub password: String,
    /// A one-time enrolment code (from IT or a supervisor, often scanned from a QR code):
    /// when given, `username` and `password` are not needed.
    #[serde(default)]
    pub code: Option<String>,
}

/// Who is using this device, once enrolled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub server_url: String,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub unit: UnitId,
    pub unit_name: String,
    pub device_id: DeviceId,
}

/// A row of the device's case list (台账).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseSummary {
    pub case_id: CaseId,
    pub applicant_name: String,
    pub id_masked: String,
    pub member_count: u32,
    pub status_label: String,
    pub updated_at_ms: i64,
    /// Changed here and not yet accepted by the server.
    pub unsynced: bool,
    /// Fields with concurrent values waiting for a person to choose.
    pub conflicts: u32,
}

/// A case opened for editing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseView {
    pub form: CaseForm,
    pub conflicts: Vec<ConflictView>,
    pub unsynced: bool,
    /// The case's photos (removed ones left out), oldest first.
    #[serde(default)]
    pub photos: Vec<PhotoView>,
}

/// `add_photo`: a photo file for a case, from the camera or picked from files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddPhotoRequest {
    pub case_id: CaseId,
    /// A `crate::photo::PhotoKind` code, e.g. `house_outside`.
    pub kind: String,
    /// The picked file's name (for messages only; may be empty).
    #[serde(default)]
    pub file_name: String,
    /// The file's bytes, standard base64 (a `data:` URL prefix is tolerated).
    pub data_base64: String,
}

/// One photo of a case as the UI shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoView {
    /// SHA-256 of the full image: the photo's identity (`photo_full`, `remove_photo`).
    pub sha256: String,
    pub thumb_sha256: String,
    pub kind: String,
    pub kind_label_zh: String,
    pub width: i64,
    pub height: i64,
    /// When it was added to the case on the device (ms since the epoch).
    pub taken_at_ms: i64,
    /// The camera's capture time as it recorded it, if any.
    pub captured_at: Option<String>,
    pub lat_e6: Option<i64>,
    pub lon_e6: Option<i64>,
    /// `data:image/jpeg;base64,…` when the thumbnail is on this device.
    pub thumb_data_url: Option<String>,
    /// Whether the full image is on this device (else `photo_full` fetches it).
    pub local_full: bool,
}

/// One conflicting field as the UI shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConflictView {
    pub path: Vec<String>,
    /// e.g. `申请人 · 姓名`.
    pub label: String,
    pub values: Vec<crate::case::ConflictValue>,
}

/// `resolve_conflict`: a person's choice for one conflicting field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolveRequest {
    pub case_id: CaseId,
    pub path: Vec<String>,
    pub value: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncState {
    /// No server configured yet.
    NotEnrolled,
    /// The last attempt could not reach the server (the normal case in the field).
    Offline,
    Syncing,
    /// The last sync completed; nothing left to send.
    Synced,
    /// The server refused (e.g. revoked device, wrong protocol): people must act.
    Refused,
    /// The bureau revoked this device: it syncs no more. `SyncStatus` says why and which
    /// cases held here were never synced; `acknowledge_revocation` wipes the local data.
    Revoked,
}

impl SyncState {
    pub fn label_zh(self) -> &'static str {
        match self {
            SyncState::NotEnrolled => "未登录",
            SyncState::Offline => "离线",
            SyncState::Syncing => "同步中",
            SyncState::Synced => "已同步",
            SyncState::Refused => "同步被拒绝",
            SyncState::Revoked => "设备已停用",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncStatus {
    pub state: SyncState,
    /// Cases changed here and not yet accepted by the server.
    pub unsynced_cases: u32,
    pub last_synced_at_ms: Option<i64>,
    /// Why the last attempt failed, in Chinese.
    pub last_error: Option<String>,
    /// State `Revoked`: the reason the bureau gave.
    #[serde(default)]
    pub revocation_reason: Option<String>,
    /// State `Revoked`: the applicants' names of the cases changed here and never synced
    /// (they are lost when the local data is wiped).
    #[serde(default)]
    pub unsynced_case_names: Vec<String>,
    /// Cases that left this account's scope (transferred, reassigned) while they had
    /// unsynced local edits: kept here, no longer synced; applicants' names.
    #[serde(default)]
    pub left_scope_unsynced: Vec<String>,
    /// Photos taken here whose files the server does not hold yet.
    #[serde(default)]
    pub photos_pending: u32,
}

/// What one sync run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncReport {
    /// Requests made.
    pub rounds: u32,
    /// Document sync messages sent, summed over rounds (a new case takes two).
    pub docs_sent: u32,
    /// Times a document changed here from what the server sent.
    pub docs_received: u32,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// Cases removed from this device because they left the account's scope.
    #[serde(default)]
    pub docs_dropped: u32,
}

/// Which kind of failure a command met: the UI branches on this, and shows `message`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Some fields are wrong: see `fields`.
    Validation,
    NotEnrolled,
    BadCredentials,
    /// The server could not be reached.
    Network,
    /// The server answered with an error.
    Server,
    /// This device was revoked by the bureau.
    Revoked,
    NotFound,
    /// The local store failed.
    Storage,
    /// A photo file could not be used (damaged, not an image, too large): see `message`.
    Photo,
}

/// The error every command returns: a code to branch on and a message in Chinese.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct AppError {
    pub code: ErrorCode,
    pub message: String,
    /// Per-field messages when `code` is `Validation`.
    #[serde(default)]
    pub fields: FieldErrors,
}

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            fields: FieldErrors::default(),
        }
    }

    pub fn validation(fields: FieldErrors) -> Self {
        Self {
            code: ErrorCode::Validation,
            message: "请按提示修改标红的内容".into(),
            fields,
        }
    }
}

/// `current_position`: where the device is now, for a visit's evidence. `status` uses the
/// codes of the case document's `visit.gps_status`: `ok` (position below), `unavailable`
/// (no positioning on this device, e.g. a desktop), `denied` (the person refused it).
/// No position is ever made up: the numbers are 0 unless `status` is `ok`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GeoPosition {
    pub status: String,
    /// Micro-degrees (WGS-84 as the device reports it).
    pub lat_e6: i64,
    pub lon_e6: i64,
    /// Metres, rounded.
    pub accuracy_m: i64,
    /// Why there is no position, in Chinese (empty when `status` is `ok`).
    pub message: String,
}
