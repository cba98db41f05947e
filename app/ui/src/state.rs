//! App-wide UI state: which page is shown, who is logged in, and the latest sync status
//! (polled from the core every few seconds and after every action).

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use hecha_shared::app_api::{SessionInfo, SyncState, SyncStatus};
use hecha_shared::CaseId;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::ipc;

/// How often the sync indicator asks the core for news.
const STATUS_POLL: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// Asking the core whether this device is enrolled.
    Starting,
    Login,
    /// The case list (台账).
    Cases,
    /// The case form; `None` for a new case.
    Case(Option<CaseId>),
    /// A new quick discovery report (发现报告).
    Discovery,
}

/// Shared by every page through context; all fields are signals, so it is `Copy`.
#[derive(Clone, Copy)]
pub struct AppState {
    pub page: RwSignal<Page>,
    pub session: RwSignal<Option<SessionInfo>>,
    pub sync: RwSignal<Option<SyncStatus>>,
    /// A "立即同步" run started here is in progress.
    pub sync_running: RwSignal<bool>,
    /// Outcome of the last "立即同步", in Chinese.
    pub sync_message: RwSignal<Option<String>>,
}

impl AppState {
    pub fn new() -> Self {
        Self {
            page: RwSignal::new(Page::Starting),
            session: RwSignal::new(None),
            sync: RwSignal::new(None),
            sync_running: RwSignal::new(false),
            sync_message: RwSignal::new(None),
        }
    }

    /// Loads the session, then keeps the sync status fresh for the app's lifetime.
    pub fn start(self) {
        spawn_local(async move {
            match ipc::session().await {
                Ok(Some(session)) => {
                    self.session.set(Some(session));
                    self.page.set(Page::Cases);
                }
                Ok(None) | Err(_) => self.page.set(Page::Login),
            }
        });
        self.refresh_sync();
        let in_flight = Rc::new(Cell::new(false));
        let poll = move || {
            if in_flight.replace(true) {
                return;
            }
            let in_flight = in_flight.clone();
            spawn_local(async move {
                if let Ok(status) = ipc::sync_status().await {
                    self.sync.set(Some(status));
                }
                in_flight.set(false);
            });
        };
        // The interval lives as long as the page, so its handle is never cleared.
        let _ = set_interval_with_handle(poll, STATUS_POLL);
    }

    /// Asks the core for the sync status now (after an action changed it).
    pub fn refresh_sync(self) {
        spawn_local(async move {
            if let Ok(status) = ipc::sync_status().await {
                self.sync.set(Some(status));
            }
        });
    }

    pub fn logged_in(self, session: SessionInfo) {
        self.session.set(Some(session));
        self.page.set(Page::Cases);
        self.refresh_sync();
    }

    /// Runs one sync now, reporting its outcome in `sync_message`.
    pub fn sync_now(self) {
        if self.sync_running.get_untracked() {
            return;
        }
        self.sync_running.set(true);
        self.sync_message.set(None);
        spawn_local(async move {
            let message = match ipc::sync_now().await {
                // `docs_sent` counts messages (a case takes two rounds to upload), so only
                // what arrived is worth a number here; the indicator shows what is left.
                Ok(report) if report.docs_received > 0 => {
                    format!("同步完成，收到 {} 件个案的更新", report.docs_received)
                }
                Ok(_) => "同步完成".to_string(),
                Err(e) => e.message,
            };
            self.sync_message.set(Some(message));
            self.sync_running.set(false);
            self.refresh_sync();
        });
    }

    /// The state the indicator shows: "同步中" while a run started here is going on.
    pub fn shown_sync_state(self) -> Option<SyncState> {
        if self.sync_running.get() {
            return Some(SyncState::Syncing);
        }
        self.sync.with(|s| s.as_ref().map(|s| s.state))
    }
}

/// Runs async work on behalf of one page: signals created by the work belong to the page,
/// and the work is cancelled when the page goes away (so it never touches a dead page).
#[derive(Clone)]
pub struct PageScope(Owner);

impl PageScope {
    /// The scope of the component being built.
    pub fn current() -> Self {
        Self(Owner::current().unwrap_or_default())
    }

    pub fn spawn(&self, work: impl std::future::Future<Output = ()> + 'static) {
        self.0
            .with(|| leptos::task::spawn_local_scoped_with_cancellation(work));
    }
}
