//! Hecha's app core: every user action of the field app, the device's local store and the
//! sync client, behind one [`Core`] handle. The Tauri shell only wraps these methods.
//!
//! Architecture invariants: no tauri dependency (the core is tested natively); the app
//! works with no server at all (capture, list, edit), sync is an add-on that brings the
//! local store and the server in line; every error a caller sees is an
//! [`AppError`](hecha_shared::app_api::AppError) with a Chinese message.

mod actions;
mod docs;
mod error;
mod lifecycle;
pub mod photos;
pub mod signatures;
mod store;
mod sync_client;
mod visit;

pub use store::blobs;

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use automerge::ActorId;
use hecha_shared::app_api::{
    AppError, CaseSummary, CaseView, EnrolRequest, ResolveRequest, SessionInfo, SyncReport,
    SyncStatus,
};
use hecha_shared::case::CaseForm;
use hecha_shared::CaseId;
use tokio::sync::Notify;

use crate::error::{CoreError, CoreResult};
use crate::store::Store;
use crate::sync_client::backoff::{self, Outcome};

/// The name of the database file inside the data directory.
pub const DB_FILE: &str = "hecha.db";

/// Where the core reads the time (tests pass a fixed one).
pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;
}

/// The machine's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }
}

/// The app core of one device: cheap to clone, `Send + Sync`.
#[derive(Clone)]
pub struct Core {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    store: Mutex<Store>,
    pub(crate) clock: Arc<dyn Clock>,
    /// The Automerge actor every local change is written with (renewed only when another
    /// account takes the device over: the server attributes each actor to one person).
    actor: RwLock<ActorId>,
    pub(crate) http: reqwest::Client,
    /// One sync run at a time.
    pub(crate) sync_gate: tokio::sync::Mutex<()>,
    pub(crate) syncing: AtomicBool,
    /// Wakes the background loop (a nudge, or this core going away).
    wake: Arc<Notify>,
    /// The content-addressed photo files (`<data_dir>/blobs`).
    pub(crate) blobs: blobs::BlobStore,
    /// The data directory (the store and the photo blobs live in it).
    pub(crate) data_dir: std::path::PathBuf,
}

impl Inner {
    /// Runs `f` with the store locked. Never held across an `.await`.
    pub(crate) fn with_store<T>(
        &self,
        f: impl FnOnce(&mut Store) -> CoreResult<T>,
    ) -> CoreResult<T> {
        let mut store = self.store.lock().map_err(|_| CoreError::Poisoned)?;
        f(&mut store)
    }

    /// The device's current actor id.
    pub(crate) fn actor(&self) -> CoreResult<ActorId> {
        Ok(self.actor.read().map_err(|_| CoreError::Poisoned)?.clone())
    }

    /// Switches to a new actor id (already stored by the caller).
    pub(crate) fn set_actor(&self, actor: ActorId) -> CoreResult<()> {
        *self.actor.write().map_err(|_| CoreError::Poisoned)? = actor;
        Ok(())
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Lets a background loop notice that its core is gone.
        self.wake.notify_one();
    }
}

impl Core {
    /// Opens (creating) the store `<data_dir>/hecha.db` and the device identity (the
    /// device's Automerge actor id is generated once and kept in the store).
    pub fn open(data_dir: &Path, clock: Arc<dyn Clock>) -> Result<Core, AppError> {
        Ok(Self::open_inner(data_dir, clock)?)
    }

    fn open_inner(data_dir: &Path, clock: Arc<dyn Clock>) -> CoreResult<Core> {
        std::fs::create_dir_all(data_dir)?;
        let mut store = Store::open(&data_dir.join(DB_FILE))?;
        let tx = store.transaction()?;
        let actor = store::device::get_or_create(&tx, rand::random(), clock.now_ms())?;
        tx.commit()?;
        Ok(Core {
            inner: Arc::new(Inner {
                store: Mutex::new(store),
                clock,
                actor: RwLock::new(actor),
                http: sync_client::http::client()?,
                sync_gate: tokio::sync::Mutex::new(()),
                syncing: AtomicBool::new(false),
                wake: Arc::new(Notify::new()),
                blobs: blobs::BlobStore::new(data_dir),
                data_dir: data_dir.to_path_buf(),
            }),
        })
    }

    fn read<T>(&self, f: impl FnOnce(&mut Store) -> CoreResult<T>) -> Result<T, AppError> {
        Ok(self.inner.with_store(f)?)
    }

    /// Logs in to a server and enrols this device (its own token). Replaces any session.
    pub async fn enrol(&self, req: EnrolRequest) -> Result<SessionInfo, AppError> {
        Ok(actions::enrol(&self.inner, req).await?)
    }

    pub fn session(&self) -> Result<Option<SessionInfo>, AppError> {
        self.read(|s| actions::session(s))
    }

    /// The case list (台账), newest first; `search` matches part of the applicant's name
    /// or the end of the ID number.
    pub fn list_cases(&self, search: &str) -> Result<Vec<CaseSummary>, AppError> {
        self.read(|s| actions::list_cases(s, search))
    }

    pub fn get_case(&self, id: CaseId) -> Result<CaseView, AppError> {
        let actor = self.inner.actor()?;
        let mut view = self.read(|s| actions::get_case(s, &actor, id))?;
        photos::attach::fill_local(&self.inner.blobs, &mut view.photos);
        Ok(view)
    }

    /// Validates (Err code Validation with per-field errors, nothing written), then one
    /// Automerge commit + dirty flag in one SQLite transaction. Returns the case id.
    pub fn save_case(&self, form: CaseForm) -> Result<CaseId, AppError> {
        let now = self.inner.clock.now_ms();
        let actor = self.inner.actor()?;
        self.read(|s| actions::save_case(s, &actor, now, form))
    }

    pub fn resolve_conflict(&self, req: ResolveRequest) -> Result<CaseView, AppError> {
        let now = self.inner.clock.now_ms();
        let actor = self.inner.actor()?;
        self.read(|s| actions::resolve_conflict(s, &actor, now, req))
    }

    /// One full sync run (several rounds), returns what it did.
    pub async fn sync_now(&self) -> Result<SyncReport, AppError> {
        actions::sync_now(&self.inner).await
    }

    /// After a revocation (`SyncStatus.state == Revoked`, which lists the unsynced cases
    /// that will be lost): wipes the local case data and photo files and forgets the
    /// session. Refused on a device that is not revoked.
    pub fn acknowledge_revocation(&self) -> Result<(), AppError> {
        Ok(actions::acknowledge_revocation(&self.inner)?)
    }

    pub fn sync_status(&self) -> Result<SyncStatus, AppError> {
        let syncing = self.inner.syncing.load(std::sync::atomic::Ordering::SeqCst);
        self.read(|s| {
            let mut status = actions::sync_status(s, syncing)?;
            status.photos_pending = store::photo_queue::pending_photo_count(s.conn())?;
            Ok(status)
        })
    }

    /// Adds a photo to a saved case: decoded (bounded), turned upright, scaled and
    /// re-encoded by the photo pipeline, kept in the blob area, referenced from the case in
    /// one commit and queued for upload. A bad file → `AppError` code `photo` with a
    /// Chinese message, and nothing is written.
    pub fn add_photo(
        &self,
        req: hecha_shared::app_api::AddPhotoRequest,
    ) -> Result<hecha_shared::app_api::PhotoView, AppError> {
        Ok(photos::attach::add_photo(&self.inner, req)?)
    }

    /// Marks a photo of a case removed (one commit; it stays in the case's history).
    pub fn remove_photo(&self, case_id: CaseId, sha256: &str) -> Result<(), AppError> {
        let now = self.inner.clock.now_ms();
        let actor = self.inner.actor()?;
        self.read(|s| photos::attach::remove_photo(s, &actor, now, case_id, sha256))
    }

    /// A thumbnail (or any photo blob) held on this device, as a `data:image/jpeg` URL;
    /// `None` when it is not here (yet).
    pub fn photo_thumbnail(&self, sha256: &str) -> Result<Option<String>, AppError> {
        Ok(photos::attach::local_data_url(&self.inner.blobs, sha256)?)
    }

    /// A photo's full image as a `data:image/jpeg` URL, fetched from the server (checked
    /// against its hash, then kept) when it is not on this device.
    pub async fn photo_full(&self, sha256: &str) -> Result<String, AppError> {
        Ok(photos::attach::photo_full(&self.inner, sha256).await?)
    }

    /// Keeps the form as typed, unvalidated, under `key` (a case id, or `new` for a case
    /// not saved yet), so a form killed mid-entry comes back as left. `save_case` clears it.
    pub fn save_draft(&self, key: &str, form: CaseForm) -> Result<(), AppError> {
        let now = self.inner.clock.now_ms();
        self.read(|s| visit::save_draft(s, key, &form, now))
    }

    /// The draft kept under `key`, if any.
    pub fn load_draft(&self, key: &str) -> Result<Option<CaseForm>, AppError> {
        self.read(|s| visit::load_draft(s, key))
    }

    pub fn discard_draft(&self, key: &str) -> Result<(), AppError> {
        self.read(|s| visit::discard_draft(s, key))
    }

    /// Signs the case's saved content (one commit). Refused (code `validation`, Chinese
    /// per-field messages) while the record is not complete enough to sign. Returns every
    /// signature of the case with whether it still holds.
    pub fn sign_case(
        &self,
        req: hecha_shared::app_api::SignRequest,
    ) -> Result<Vec<hecha_shared::app_api::SignatureView>, AppError> {
        let now = self.inner.clock.now_ms();
        let actor = self.inner.actor()?;
        self.read(|s| visit::sign_case(s, &actor, now, req))
    }

    /// The bureau's 低保 standards as last fetched from the server (kept for offline use).
    pub fn standards(&self) -> Result<Option<hecha_shared::standards::Standards>, AppError> {
        self.read(|s| sync_client::standards::cached(s.conn()))
    }

    /// Background loop: sync now, then every `interval` and whenever [`Core::nudge_sync`]
    /// is called; on failure retry with exponential backoff (2 s .. 5 min). Runs until the
    /// Core is dropped or the returned handle is aborted. Spawned on the current tokio
    /// runtime.
    pub fn spawn_sync_loop(&self, interval: Duration) -> tokio::task::JoinHandle<()> {
        let weak = Arc::downgrade(&self.inner);
        let wake = Arc::clone(&self.inner.wake);
        tokio::spawn(sync_loop(weak, wake, interval))
    }

    /// One step of the case's lifecycle (`TransitionRequest.transition`: a
    /// `lifecycle::Transition` code) as the session's user and role; refused steps →
    /// `AppError` code `lifecycle` with the rule's Chinese message, nothing written.
    pub fn transition_case(
        &self,
        req: hecha_shared::app_api::TransitionRequest,
    ) -> Result<hecha_shared::app_api::LifecycleView, AppError> {
        let now = self.inner.clock.now_ms();
        let actor = self.inner.actor()?;
        self.read(|s| lifecycle::transition_case(s, &actor, now, req))
    }

    /// Where the case stands: state, history, the steps my role may take, conflicts,
    /// deliberation, notice, objections, spot checks, re-check dates.
    pub fn case_lifecycle(
        &self,
        id: CaseId,
    ) -> Result<hecha_shared::app_api::LifecycleView, AppError> {
        let now = self.inner.clock.now_ms();
        let actor = self.inner.actor()?;
        self.read(|s| lifecycle::case_lifecycle(s, &actor, now, id))
    }

    /// A supervisor's or the bureau's choice among competing offline transitions.
    pub fn resolve_lifecycle_conflict(
        &self,
        req: hecha_shared::app_api::ResolveLifecycleRequest,
    ) -> Result<hecha_shared::app_api::LifecycleView, AppError> {
        let now = self.inner.clock.now_ms();
        let actor = self.inner.actor()?;
        self.read(|s| lifecycle::resolve_lifecycle_conflict(s, &actor, now, req))
    }

    /// Records the community deliberation (群众评议) of a case in state 群众评议.
    pub fn record_deliberation(
        &self,
        req: hecha_shared::app_api::DeliberationRequest,
    ) -> Result<hecha_shared::app_api::LifecycleView, AppError> {
        let now = self.inner.clock.now_ms();
        let actor = self.inner.actor()?;
        self.read(|s| lifecycle::record_deliberation(s, &actor, now, req))
    }

    /// Records the public notice (公示) of a case in state 公示.
    pub fn record_notice(
        &self,
        req: hecha_shared::app_api::NoticeRequest,
    ) -> Result<hecha_shared::app_api::LifecycleView, AppError> {
        let now = self.inner.clock.now_ms();
        let actor = self.inner.actor()?;
        self.read(|s| lifecycle::record_notice(s, &actor, now, req))
    }

    /// Records an objection raised during the public notice.
    pub fn record_objection(
        &self,
        req: hecha_shared::app_api::ObjectionRequest,
    ) -> Result<hecha_shared::app_api::LifecycleView, AppError> {
        let now = self.inner.clock.now_ms();
        let actor = self.inner.actor()?;
        self.read(|s| lifecycle::record_objection(s, &actor, now, req))
    }

    /// Records how an objection was handled.
    pub fn handle_objection(
        &self,
        req: hecha_shared::app_api::ObjectionHandlingRequest,
    ) -> Result<hecha_shared::app_api::LifecycleView, AppError> {
        let now = self.inner.clock.now_ms();
        let actor = self.inner.actor()?;
        self.read(|s| lifecycle::handle_objection(s, &actor, now, req))
    }

    /// Sets the re-check category of a recipient.
    pub fn set_recheck_category(
        &self,
        req: hecha_shared::app_api::RecheckCategoryRequest,
    ) -> Result<hecha_shared::app_api::LifecycleView, AppError> {
        let now = self.inner.clock.now_ms();
        let actor = self.inner.actor()?;
        self.read(|s| lifecycle::set_recheck_category(s, &actor, now, req))
    }

    /// Records a spot check's re-visit, compared with the case's figures.
    pub fn record_spot_check(
        &self,
        req: hecha_shared::app_api::SpotCheckRequest,
    ) -> Result<hecha_shared::app_api::LifecycleView, AppError> {
        let now = self.inner.clock.now_ms();
        let actor = self.inner.actor()?;
        self.read(|s| lifecycle::record_spot_check(s, &actor, now, req))
    }

    /// Re-checks of the recipients held on this device (offline), overdue first.
    /// `today`: `YYYY-MM-DD`, or `None` for the clock's day (Beijing time).
    pub fn recheck_due(
        &self,
        today: Option<String>,
    ) -> Result<Vec<hecha_shared::app_api::RecheckDueItem>, AppError> {
        let now = self.inner.clock.now_ms();
        let actor = self.inner.actor()?;
        self.read(|s| {
            let today = lifecycle::today_or(now, today.as_deref())?;
            lifecycle::recheck_due(s, &actor, today)
        })
    }

    /// Asks the background loop to sync now (e.g. after a save, or when the network
    /// comes back). Does nothing without a loop.
    pub fn nudge_sync(&self) {
        self.inner.wake.notify_one();
    }
}

async fn sync_loop(weak: Weak<Inner>, wake: Arc<Notify>, interval: Duration) {
    let mut failures = 0u32;
    loop {
        // Hold the core only while syncing, so dropping it ends the loop.
        let Some(inner) = weak.upgrade() else { return };
        let outcome = match actions::sync_now(&inner).await {
            Ok(_) => {
                failures = 0;
                Outcome::Done
            }
            Err(e) => match e.code {
                hecha_shared::app_api::ErrorCode::NotEnrolled => Outcome::Done,
                hecha_shared::app_api::ErrorCode::Network
                | hecha_shared::app_api::ErrorCode::Server
                | hecha_shared::app_api::ErrorCode::Storage => {
                    failures = failures.saturating_add(1);
                    Outcome::Failed { failures }
                }
                _ => Outcome::Refused,
            },
        };
        drop(inner);
        let delay = backoff::next_delay(outcome, interval);
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = wake.notified() => {}
        }
    }
}

#[cfg(test)]
mod tests;
