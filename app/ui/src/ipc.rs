//! The typed bridge to the Tauri shell: one async function per command of the app core.
//! Nothing else in the UI names a command or touches `window.__TAURI__`.
//!
//! Arguments are passed as plain JSON-like objects whose keys are the shell's command
//! parameter names (snake_case); failures come back as [`AppError`].

use hecha_shared::app_api::{
    AddPhotoRequest, AppError, CaseSummary, CaseView, EnrolRequest, ErrorCode, GeoPosition,
    PhotoView, ResolveRequest, SessionInfo, SignRequest, SignatureView, SyncReport, SyncStatus,
};
use hecha_shared::case::CaseForm;
use hecha_shared::CaseId;
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// `window.__TAURI__.core.invoke` (present because `app.withGlobalTauri` is on).
    #[wasm_bindgen(js_namespace = ["window", "__TAURI__", "core"], js_name = invoke, catch)]
    async fn tauri_invoke(cmd: &str, args: JsValue) -> Result<JsValue, JsValue>;
}

/// A failure of the bridge itself (not reported by the core), shown like any other error.
fn bridge_error(detail: impl std::fmt::Display) -> AppError {
    AppError::new(ErrorCode::Storage, format!("应用内部错误：{detail}"))
}

fn describe(value: &JsValue) -> String {
    value
        .as_string()
        .or_else(|| {
            js_sys::JSON::stringify(value)
                .ok()
                .and_then(|s| s.as_string())
        })
        .unwrap_or_else(|| "未知错误".to_string())
}

async fn call<A: Serialize, T: DeserializeOwned>(cmd: &str, args: &A) -> Result<T, AppError> {
    // Plain objects (not JS `Map`s), as Tauri's JSON deserialiser expects.
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    let args = args.serialize(&serializer).map_err(bridge_error)?;
    match tauri_invoke(cmd, args).await {
        Ok(value) => serde_wasm_bindgen::from_value(value).map_err(bridge_error),
        Err(err) => Err(serde_wasm_bindgen::from_value::<AppError>(err.clone())
            .unwrap_or_else(|_| bridge_error(describe(&err)))),
    }
}

#[derive(Serialize)]
struct NoArgs {}

#[derive(Serialize)]
struct EnrolArgs<'a> {
    req: &'a EnrolRequest,
}

#[derive(Serialize)]
struct ListArgs<'a> {
    search: &'a str,
}

#[derive(Serialize)]
struct GetArgs {
    case_id: CaseId,
}

#[derive(Serialize)]
struct SaveArgs<'a> {
    form: &'a CaseForm,
}

#[derive(Serialize)]
struct ResolveArgs<'a> {
    req: &'a ResolveRequest,
}

/// Connects this device to a server and logs in.
pub async fn enrol(req: &EnrolRequest) -> Result<SessionInfo, AppError> {
    call("enrol", &EnrolArgs { req }).await
}

/// Who is using this device, or `None` before enrolment.
pub async fn session() -> Result<Option<SessionInfo>, AppError> {
    call("session", &NoArgs {}).await
}

/// The device's cases, filtered by applicant name or ID-number suffix. `T` is
/// The device's case list: urgent discovery reports first, then newest first.
pub async fn list_cases(search: &str) -> Result<Vec<CaseSummary>, AppError> {
    call("list_cases", &ListArgs { search }).await
}

pub async fn get_case(case_id: CaseId) -> Result<CaseView, AppError> {
    call("get_case", &GetArgs { case_id }).await
}

/// Validates and saves; a `Validation` error carries the per-field messages.
pub async fn save_case(form: &CaseForm) -> Result<CaseId, AppError> {
    call("save_case", &SaveArgs { form }).await
}

pub async fn resolve_conflict(req: &ResolveRequest) -> Result<CaseView, AppError> {
    call("resolve_conflict", &ResolveArgs { req }).await
}

/// One full sync run with the server.
pub async fn sync_now() -> Result<SyncReport, AppError> {
    call("sync_now", &NoArgs {}).await
}

pub async fn sync_status() -> Result<SyncStatus, AppError> {
    call("sync_status", &NoArgs {}).await
}

#[derive(Serialize)]
struct DraftArgs<'a> {
    key: &'a str,
}

#[derive(Serialize)]
struct SaveDraftArgs<'a> {
    key: &'a str,
    form: &'a CaseForm,
}

#[derive(Serialize)]
struct AddPhotoArgs<'a> {
    req: &'a AddPhotoRequest,
}

#[derive(Serialize)]
struct PhotoArgs<'a> {
    case_id: CaseId,
    sha256: &'a str,
}

#[derive(Serialize)]
struct SignArgs<'a> {
    req: &'a SignRequest,
}

/// Keeps the form as typed (no validation); `key` is the case id or `new`.
pub async fn save_draft(key: &str, form: &CaseForm) -> Result<(), AppError> {
    call("save_draft", &SaveDraftArgs { key, form }).await
}

/// The draft kept under `key`, if there is one.
pub async fn load_draft(key: &str) -> Result<Option<CaseForm>, AppError> {
    call("load_draft", &DraftArgs { key }).await
}

pub async fn discard_draft(key: &str) -> Result<(), AppError> {
    call("discard_draft", &DraftArgs { key }).await
}

/// Runs a photo file through the core's pipeline and adds it to the case.
pub async fn add_photo(req: &AddPhotoRequest) -> Result<PhotoView, AppError> {
    call("add_photo", &AddPhotoArgs { req }).await
}

pub async fn remove_photo(case_id: CaseId, sha256: &str) -> Result<(), AppError> {
    call("remove_photo", &PhotoArgs { case_id, sha256 }).await
}

/// Records a signature over the case's current content; returns the case's signatures.
pub async fn sign_case(req: &SignRequest) -> Result<Vec<SignatureView>, AppError> {
    call("sign_case", &SignArgs { req }).await
}

/// Where the device is (the visit's evidence); `unavailable` on a desktop.
pub async fn current_position() -> Result<GeoPosition, AppError> {
    call("current_position", &NoArgs {}).await
}

/// The bureau's 低保 standards as the core last fetched them (`None` before the first sync).
pub async fn standards() -> Result<Option<hecha_shared::standards::Standards>, AppError> {
    call("standards", &NoArgs {}).await
}

#[derive(Serialize)]
struct ShaArgs<'a> {
    sha256: &'a str,
}

/// A photo's full image as a data URL (fetched from the server when not on this device).
pub async fn photo_full(sha256: &str) -> Result<String, AppError> {
    call("photo_full", &ShaArgs { sha256 }).await
}
