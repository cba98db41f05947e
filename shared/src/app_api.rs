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
    /// An urgent discovery report (急难): listed first and marked.
    #[serde(default)]
    pub urgent: bool,
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
    /// Per-capita income against the cached 低保 standard of the case's area and year (a
    /// hint, never a decision); `None` while this device has no standards.
    #[serde(default)]
    pub hint: Option<crate::standards::Hint>,
    /// Every signature, oldest first, each with whether it still holds.
    #[serde(default)]
    pub signatures: Vec<SignatureView>,
    /// `SignerRole` codes of the signatures a complete record still lacks (counting only
    /// valid ones), e.g. `["investigator2", "applicant"]`.
    #[serde(default)]
    pub missing_signatures: Vec<String>,
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
    /// A lifecycle step or record was refused (role, state, precondition): see `message`.
    Lifecycle,
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

// ---------------------------------------------------------------------------------------
// Case lifecycle (issue 5): transitions, deliberation, public notice, spot checks,
// re-checks. Codes are those of `crate::lifecycle` and `crate::case::lifecycle_doc`.

/// `transition_case`: make one step of the procedure as the session's user and role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransitionRequest {
    pub case_id: CaseId,
    /// A `lifecycle::Transition` code, e.g. `accept`, `street_approve`.
    pub transition: String,
    /// The comment; the reason where the step needs one.
    #[serde(default)]
    pub comment: String,
}

/// One lifecycle record as the history shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleEntryView {
    pub record_id: String,
    /// `transition` or `resolution`.
    pub kind: String,
    /// The transition's code and label (a resolution: the chosen record's).
    pub transition: String,
    pub transition_label: String,
    pub from: String,
    pub from_label: String,
    pub to: String,
    pub to_label: String,
    pub by_user: String,
    pub by_name: String,
    pub role: String,
    pub role_label: String,
    pub at_ms: i64,
    pub comment: String,
    /// `applied`, `in_conflict` or `set_aside`.
    pub status: String,
    /// Why it is set aside (zh-CN), when it is.
    pub set_aside_reason: Option<String>,
}

/// A step the session's role may take from the current state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransitionOption {
    pub transition: String,
    pub label: String,
    pub to: String,
    pub to_label: String,
    /// A comment (reason) is required.
    pub needs_reason: bool,
    /// Why it cannot be taken now (an unmet precondition, zh-CN); `None`: it can.
    pub blocked: Option<String>,
}

/// One way out of a lifecycle conflict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleConflictOptionView {
    pub to: String,
    pub to_label: String,
    /// The competing records leading there (choose one of their `record_id`s).
    pub records: Vec<LifecycleEntryView>,
}

/// Concurrent incompatible transitions made offline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleConflictView {
    pub from: String,
    pub from_label: String,
    pub options: Vec<LifecycleConflictOptionView>,
    /// Earlier resolutions that disagree.
    pub resolutions: Vec<LifecycleEntryView>,
    /// Only the bureau may resolve it.
    pub bureau_only: bool,
    /// The session's role may resolve it.
    pub can_resolve: bool,
}

/// Objection to a public notice, with its handling once recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectionView {
    pub objection: crate::case::lifecycle_doc::Objection,
    pub handling: Option<crate::case::lifecycle_doc::ObjectionHandling>,
}

/// The public notice in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeView {
    /// `YYYY-MM-DD`.
    pub start: String,
    pub days: u32,
    /// `YYYY-MM-DD`: the first day the notice may close.
    pub end: String,
    /// Recorded explicitly (`false`: derived from the street approval's day).
    pub recorded: bool,
    pub place: String,
}

/// Re-check category and dates of a recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecheckView {
    pub category: Option<String>,
    pub category_label: Option<String>,
    pub last_check: Option<String>,
    pub next_due: Option<String>,
    /// `upcoming`, `due_today`, `overdue` (None: no due date yet).
    pub due: Option<String>,
    pub due_label: Option<String>,
}

/// `case_lifecycle`: where a case stands and what the session's user may do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleView {
    pub case_id: CaseId,
    pub state: String,
    pub label: String,
    /// The applied history in order; a resolution follows the step it chose.
    pub history: Vec<LifecycleEntryView>,
    /// Records not part of the history (set aside), with the reason.
    pub set_aside: Vec<LifecycleEntryView>,
    pub allowed: Vec<TransitionOption>,
    pub conflicts: Vec<LifecycleConflictView>,
    pub deliberations: Vec<crate::case::lifecycle_doc::Deliberation>,
    pub notice: Option<NoticeView>,
    pub objections: Vec<ObjectionView>,
    pub spot_checks: Vec<crate::case::lifecycle_doc::SpotCheck>,
    pub recheck: Option<RecheckView>,
}

/// `resolve_lifecycle_conflict`: choose one of the competing records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolveLifecycleRequest {
    pub case_id: CaseId,
    pub chosen_record: String,
    #[serde(default)]
    pub comment: String,
}

/// `record_deliberation`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliberationRequest {
    pub case_id: Option<CaseId>,
    /// `YYYY-MM-DD`.
    pub held_on: String,
    pub place: String,
    pub representatives: Vec<crate::case::lifecycle_doc::Representative>,
    /// `lifecycle_doc::DELIBERATION_POINTS` codes.
    pub points: Vec<String>,
    /// `pass` or `fail`.
    pub outcome: String,
    pub summary: String,
    /// SHA-256 of the case's photos of the sign-in sheet.
    #[serde(default)]
    pub sign_in_photos: Vec<String>,
}

/// `record_notice`: post (or re-post) the public notice.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeRequest {
    pub case_id: Option<CaseId>,
    /// `YYYY-MM-DD`.
    pub start: String,
    /// None: the configured default (7).
    pub days: Option<u32>,
    pub place: String,
}

/// `record_objection`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectionRequest {
    pub case_id: Option<CaseId>,
    pub raised_by: String,
    pub content: String,
    /// `YYYY-MM-DD`.
    pub raised_on: String,
}

/// `handle_objection`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectionHandlingRequest {
    pub case_id: Option<CaseId>,
    pub objection_id: String,
    pub handling: String,
    pub upheld: bool,
}

/// `set_recheck_category`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecheckCategoryRequest {
    pub case_id: Option<CaseId>,
    /// A `recheck::RecheckPolicy` category code (`stable`, `unstable_income`, `working_age`).
    pub category: String,
    /// `YYYY-MM-DD` or `""` (count from the last decision).
    #[serde(default)]
    pub last_check: String,
}

/// `record_spot_check`: the re-visit's figures; the core compares them with the case.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpotCheckRequest {
    pub case_id: Option<CaseId>,
    /// `YYYY-MM-DD`.
    pub revisit_on: String,
    pub household_size: i64,
    pub annual_income_fen: i64,
    pub deposits_fen: i64,
    pub houses_count: i64,
    pub vehicles_count: i64,
    pub findings: String,
    /// `consistent` or `discrepancy`; `""`: derived from the comparison.
    #[serde(default)]
    pub outcome: String,
}

/// A row of `recheck_due`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecheckDueItem {
    pub case_id: CaseId,
    pub applicant_name: String,
    pub state: String,
    pub state_label: String,
    pub recheck: RecheckView,
}

// ---------------------------------------------------------------------------------------
// Signatures (issue 3): `sign_case` and how the case shows them.

/// `sign_case`: a signature over the case's saved content, drawn on the pad.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignRequest {
    pub case_id: CaseId,
    /// A `signature::SignerRole` code (`investigator1`, `investigator2`, `applicant`,
    /// `witness`, `neighbour`), or `investigator` for the next investigator still missing.
    pub role: String,
    pub signer_name: String,
    /// For `neighbour`: the id of the neighbour visit signed (required then).
    #[serde(default)]
    pub neighbour_visit: Option<String>,
    /// The pad's strokes (empty for a fingerprint mark).
    #[serde(default)]
    pub strokes: Vec<Vec<crate::signature::Point>>,
    /// For an applicant who cannot write: the SHA-256 of the case's photo of their
    /// fingerprint mark, instead of strokes.
    #[serde(default)]
    pub fingerprint_photo: Option<String>,
}

/// One signature as the signatures panel shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureView {
    pub id: String,
    /// A `signature::SignerRole` code.
    pub role: String,
    pub role_label_zh: String,
    pub signer_name: String,
    pub signed_at_ms: i64,
    /// Who was using the device when it was signed.
    #[serde(default)]
    pub by_display_name: String,
    /// The strokes as a PNG `data:` URL (`""` for a fingerprint mark).
    pub png_data_url: String,
    /// `drawn`, `fingerprint_photo` or `witness_for`.
    #[serde(default)]
    pub mark: String,
    /// For a fingerprint mark: the photo's SHA-256.
    #[serde(default)]
    pub fingerprint_photo: Option<String>,
    /// `valid` or `changed`.
    pub status: String,
    /// `签字有效` or `内容在签字后被修改`.
    #[serde(default)]
    pub status_label_zh: String,
    /// For `changed`: who changed the signed content first, and when (`""`/0 when the
    /// history cannot tell).
    #[serde(default)]
    pub changed_by_name: String,
    #[serde(default)]
    pub changed_at_ms: i64,
    /// For a neighbour's signature: the neighbour visit signed.
    #[serde(default)]
    pub neighbour_visit: Option<String>,
}
