//! The sync indicator: 离线 / 同步中 / 已同步 (or 未登录 / 同步被拒绝), how many cases
//! are not yet on the server, how many photos are still to send, and the 立即同步 button.

use hecha_shared::app_api::SyncState;
use leptos::prelude::*;

use crate::format::local_time;
use crate::state::AppState;

#[component]
pub fn SyncIndicator() -> impl IntoView {
    let state = expect_context::<AppState>();
    let shown = move || state.shown_sync_state();
    let label = move || shown().map(|s| s.label_zh()).unwrap_or("正在读取…");
    let class = move || {
        let kind = match shown() {
            Some(s) => match s {
                SyncState::NotEnrolled => "not-enrolled",
                SyncState::Offline => "offline",
                SyncState::Syncing => "syncing",
                SyncState::Synced => "synced",
                SyncState::Refused => "refused",
                SyncState::Revoked => "revoked",
            },
            None => "unknown",
        };
        format!("sync-indicator sync-{kind}")
    };
    let unsynced = Memo::new(move |_| {
        state
            .sync
            .with(|s| s.as_ref().map(|s| s.unsynced_cases).unwrap_or(0))
    });
    let photos = Memo::new(move |_| {
        state
            .sync
            .with(|s| s.as_ref().map(|s| s.photos_pending).unwrap_or(0))
    });
    // Details on tap/hover: the last error, or when the last sync finished.
    let detail = move || {
        state.sync.with(|s| {
            s.as_ref().and_then(|s| {
                s.last_error.clone().or_else(|| {
                    s.last_synced_at_ms
                        .map(|ms| format!("上次同步：{}", local_time(ms)))
                })
            })
        })
    };

    view! {
        <div class="sync-bar">
            <span id="sync-indicator" class=class title=detail role="status">
                <span class="sync-dot"></span>
                {label}
            </span>
            <span class="unsynced" class:has-unsynced=move || { unsynced.get() > 0 }>
                "未同步 "
                <strong id="unsynced-count">{unsynced}</strong>
                " 件"
            </span>
            <span class="unsynced photos-pending" class:has-unsynced=move || { photos.get() > 0 }>
                "待传照片 "
                <strong id="photos-pending">{photos}</strong>
                " 张"
            </span>
            <button
                id="sync-now"
                type="button"
                class="secondary"
                disabled=move || state.sync_running.get()
                on:click=move |_| state.sync_now()
            >
                "立即同步"
            </button>
            {move || {
                state.sync_message.get().map(|msg| view! { <span id="sync-message" class="sync-message">{msg}</span> })
            }}
        </div>
    }
}
