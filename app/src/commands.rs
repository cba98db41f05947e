//! The commands the web view calls (`window.__TAURI__.core.invoke`): one per method of
//! [`Core`], each only forwarding to it. Parameter names are snake_case in the JSON
//! arguments (`{ "req": … }`, `{ "search": … }`, `{ "case_id": … }`, `{ "form": … }`).
//!
//! Blocking core methods (SQLite) run on the blocking pool so the window never stalls.

use hecha_core::Core;
use hecha_shared::app_api::{
    AppError, CaseSummary, CaseView, EnrolRequest, ErrorCode, ResolveRequest, SessionInfo,
    SyncReport, SyncStatus,
};
use hecha_shared::case::CaseForm;
use hecha_shared::CaseId;
use tauri::State;

/// Runs a blocking core call off the async runtime's worker threads.
async fn blocking<T, F>(core: &Core, call: F) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce(&Core) -> Result<T, AppError> + Send + 'static,
{
    let core = core.clone();
    tauri::async_runtime::spawn_blocking(move || call(&core))
        .await
        .map_err(|e| AppError::new(ErrorCode::Storage, format!("后台任务失败：{e}")))?
}

/// A new session wakes the background sync, so the unit's cases arrive at once.
#[tauri::command(rename_all = "snake_case")]
pub async fn enrol(core: State<'_, Core>, req: EnrolRequest) -> Result<SessionInfo, AppError> {
    let session = core.enrol(req).await?;
    core.nudge_sync();
    Ok(session)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn session(core: State<'_, Core>) -> Result<Option<SessionInfo>, AppError> {
    blocking(&core, |c| c.session()).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn list_cases(
    core: State<'_, Core>,
    search: String,
) -> Result<Vec<CaseSummary>, AppError> {
    blocking(&core, move |c| c.list_cases(&search)).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn get_case(core: State<'_, Core>, case_id: CaseId) -> Result<CaseView, AppError> {
    blocking(&core, move |c| c.get_case(case_id)).await
}

/// A saved change wakes the background sync, so it reaches the server as soon as it can.
#[tauri::command(rename_all = "snake_case")]
pub async fn save_case(core: State<'_, Core>, form: CaseForm) -> Result<CaseId, AppError> {
    let id = blocking(&core, move |c| c.save_case(form)).await?;
    core.nudge_sync();
    Ok(id)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn resolve_conflict(
    core: State<'_, Core>,
    req: ResolveRequest,
) -> Result<CaseView, AppError> {
    let view = blocking(&core, move |c| c.resolve_conflict(req)).await?;
    core.nudge_sync();
    Ok(view)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn sync_now(core: State<'_, Core>) -> Result<SyncReport, AppError> {
    core.sync_now().await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn sync_status(core: State<'_, Core>) -> Result<SyncStatus, AppError> {
    blocking(&core, |c| c.sync_status()).await
}

/// After the bureau revoked this device and the person has read which unsynced cases are
/// lost: wipes the local case data and photos (see `Core::acknowledge_revocation`).
#[tauri::command(rename_all = "snake_case")]
pub async fn acknowledge_revocation(core: State<'_, Core>) -> Result<(), AppError> {
    blocking(&core, |c| c.acknowledge_revocation()).await
}

/// Where the device is now, for the visit's start and end (Tauri's geolocation plugin on
/// phones and tablets). A desktop has no positioning: it answers `unavailable`, and the UI
/// says so; no position is ever made up.
#[tauri::command(rename_all = "snake_case")]
pub async fn current_position(
    #[allow(unused_variables)] app: tauri::AppHandle,
) -> Result<hecha_shared::app_api::GeoPosition, AppError> {
    Ok(crate::position::current(&app).await)
}

/// A photo file (base64) through the core's pipeline into the case; a new photo wakes the
/// background sync, which uploads it after the documents.
#[tauri::command(rename_all = "snake_case")]
pub async fn add_photo(
    core: State<'_, Core>,
    req: hecha_shared::app_api::AddPhotoRequest,
) -> Result<hecha_shared::app_api::PhotoView, AppError> {
    let view = blocking(&core, move |c| c.add_photo(req)).await?;
    core.nudge_sync();
    Ok(view)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn remove_photo(
    core: State<'_, Core>,
    case_id: CaseId,
    sha256: String,
) -> Result<(), AppError> {
    blocking(&core, move |c| c.remove_photo(case_id, &sha256)).await?;
    core.nudge_sync();
    Ok(())
}

#[tauri::command(rename_all = "snake_case")]
pub async fn photo_thumbnail(
    core: State<'_, Core>,
    sha256: String,
) -> Result<Option<String>, AppError> {
    blocking(&core, move |c| c.photo_thumbnail(&sha256)).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn photo_full(core: State<'_, Core>, sha256: String) -> Result<String, AppError> {
    core.photo_full(&sha256).await
}

/// The bureau's 低保 standards as the core last fetched them (for the form's live hint).
#[tauri::command(rename_all = "snake_case")]
pub async fn standards(
    core: State<'_, Core>,
) -> Result<Option<hecha_shared::standards::Standards>, AppError> {
    blocking(&core, |c| c.standards()).await
}

// ---------------------------------------------------------------------------------------
// Case lifecycle (issue 5). Each write wakes the background sync.

use hecha_shared::app_api as lc_api;

#[tauri::command(rename_all = "snake_case")]
pub async fn transition_case(
    core: State<'_, Core>,
    req: lc_api::TransitionRequest,
) -> Result<lc_api::LifecycleView, AppError> {
    let view = blocking(&core, move |c| c.transition_case(req)).await?;
    core.nudge_sync();
    Ok(view)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn case_lifecycle(
    core: State<'_, Core>,
    case_id: CaseId,
) -> Result<lc_api::LifecycleView, AppError> {
    blocking(&core, move |c| c.case_lifecycle(case_id)).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn resolve_lifecycle_conflict(
    core: State<'_, Core>,
    req: lc_api::ResolveLifecycleRequest,
) -> Result<lc_api::LifecycleView, AppError> {
    let view = blocking(&core, move |c| c.resolve_lifecycle_conflict(req)).await?;
    core.nudge_sync();
    Ok(view)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn record_deliberation(
    core: State<'_, Core>,
    req: lc_api::DeliberationRequest,
) -> Result<lc_api::LifecycleView, AppError> {
    let view = blocking(&core, move |c| c.record_deliberation(req)).await?;
    core.nudge_sync();
    Ok(view)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn record_notice(
    core: State<'_, Core>,
    req: lc_api::NoticeRequest,
) -> Result<lc_api::LifecycleView, AppError> {
    let view = blocking(&core, move |c| c.record_notice(req)).await?;
    core.nudge_sync();
    Ok(view)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn record_objection(
    core: State<'_, Core>,
    req: lc_api::ObjectionRequest,
) -> Result<lc_api::LifecycleView, AppError> {
    let view = blocking(&core, move |c| c.record_objection(req)).await?;
    core.nudge_sync();
    Ok(view)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn handle_objection(
    core: State<'_, Core>,
    req: lc_api::ObjectionHandlingRequest,
) -> Result<lc_api::LifecycleView, AppError> {
    let view = blocking(&core, move |c| c.handle_objection(req)).await?;
    core.nudge_sync();
    Ok(view)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn set_recheck_category(
    core: State<'_, Core>,
    req: lc_api::RecheckCategoryRequest,
) -> Result<lc_api::LifecycleView, AppError> {
    let view = blocking(&core, move |c| c.set_recheck_category(req)).await?;
    core.nudge_sync();
    Ok(view)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn record_spot_check(
    core: State<'_, Core>,
    req: lc_api::SpotCheckRequest,
) -> Result<lc_api::LifecycleView, AppError> {
    let view = blocking(&core, move |c| c.record_spot_check(req)).await?;
    core.nudge_sync();
    Ok(view)
}

/// `today`: `YYYY-MM-DD` or null (the device's day, Beijing time).
#[tauri::command(rename_all = "snake_case")]
pub async fn recheck_due(
    core: State<'_, Core>,
    today: Option<String>,
) -> Result<Vec<lc_api::RecheckDueItem>, AppError> {
    blocking(&core, move |c| c.recheck_due(today)).await
}

/// Keeps the visit form as typed (no validation) under `key`: a case id, or `new`.
#[tauri::command(rename_all = "snake_case")]
pub async fn save_draft(
    core: State<'_, Core>,
    key: String,
    form: CaseForm,
) -> Result<(), AppError> {
    blocking(&core, move |c| c.save_draft(&key, form)).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn load_draft(core: State<'_, Core>, key: String) -> Result<Option<CaseForm>, AppError> {
    blocking(&core, move |c| c.load_draft(&key)).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn discard_draft(core: State<'_, Core>, key: String) -> Result<(), AppError> {
    blocking(&core, move |c| c.discard_draft(&key)).await
}

/// A signature over the case's saved content; a new signature wakes the background sync.
#[tauri::command(rename_all = "snake_case")]
pub async fn sign_case(
    core: State<'_, Core>,
    req: hecha_shared::app_api::SignRequest,
) -> Result<Vec<hecha_shared::app_api::SignatureView>, AppError> {
    let list = blocking(&core, move |c| c.sign_case(req)).await?;
    core.nudge_sync();
    Ok(list)
}
