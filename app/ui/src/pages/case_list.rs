//! The case list (台账): the device's cases with search, their sync and conflict marks,
//! and the way into a new or existing case.

use std::cell::Cell;
use std::rc::Rc;

use hecha_shared::app_api::CaseSummary;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::components::header::Header;
use crate::ipc;
use crate::state::{AppState, Page};

#[component]
pub fn CaseListPage() -> impl IntoView {
    let state = expect_context::<AppState>();
    let search = RwSignal::new(String::new());
    let cases = RwSignal::new(Vec::<CaseSummary>::new());
    let loaded = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);

    // Reload when the search changes or when a sync may have changed the cases.
    let sync_news = Memo::new(move |_| {
        state.sync.with(|s| {
            s.as_ref()
                .map(|s| (s.state, s.unsynced_cases, s.last_synced_at_ms))
        })
    });
    // Answers can arrive out of order while typing: only the newest request counts.
    let latest = Rc::new(Cell::new(0u64));
    Effect::new(move |_| {
        let query = search.get();
        // `get`, not `track`: a memo nobody reads never recomputes, so never changes.
        let _ = sync_news.get();
        let seq = latest.get() + 1;
        latest.set(seq);
        let latest = latest.clone();
        spawn_local(async move {
            let result = ipc::list_cases(&query).await;
            if latest.get() != seq {
                return;
            }
            match result {
                Ok(list) => {
                    // The core lists urgent discovery reports first, then newest first.
                    cases.set(list);
                    error.set(None);
                }
                Err(e) => error.set(Some(e.message)),
            }
            loaded.set(true);
        });
    });

    let empty_text = move || {
        if search.with(|s| s.trim().is_empty()) {
            "暂无个案，点击“新建个案”开始录入"
        } else {
            "没有符合条件的个案"
        }
    };

    view! {
        <Header />
        <main class="page case-list-page">
            <div class="toolbar">
                <h2 class="page-title">"台账"</h2>
                <input
                    id="case-search"
                    class="search"
                    type="search"
                    placeholder="搜索姓名或身份证号后几位"
                    bind:value=search
                    on:change=move |ev| search.set(event_target_value(&ev))
                />
                <button
                    id="new-case"
                    type="button"
                    class="primary"
                    on:click=move |_| state.page.set(Page::Case(None))
                >
                    "新建个案"
                </button>
                <button
                    id="new-discovery"
                    type="button"
                    class="secondary"
                    on:click=move |_| state.page.set(Page::Discovery)
                >
                    "发现报告"
                </button>
            </div>
            {move || error.get().map(|msg| view! { <p class="error-text">{msg}</p> })}
            <ul id="case-list" class="case-list">
                <For
                    each=move || cases.get()
                    key=|c| {
                        (
                            c.urgent,
                            c.case_id,
                            c.updated_at_ms,
                            c.unsynced,
                            c.conflicts,
                            c.member_count,
                            c.applicant_name.clone(),
                            c.id_masked.clone(),
                            c.status_label.clone(),
                        )
                    }
                    children=move |c| {
                        let urgent = c.urgent;
                        view! { <CaseRow case=c urgent=urgent /> }
                    }
                />
            </ul>
            {move || {
                (loaded.get() && cases.with(Vec::is_empty))
                    .then(|| view! { <p class="empty">{empty_text}</p> })
            }}
        </main>
    }
}

#[component]
fn CaseRow(case: CaseSummary, urgent: bool) -> impl IntoView {
    let state = expect_context::<AppState>();
    let id = case.case_id;
    let open = move || state.page.set(Page::Case(Some(id)));
    let name = if case.applicant_name.trim().is_empty() {
        "（未填姓名）".to_string()
    } else {
        case.applicant_name.clone()
    };
    view! {
        <li
            class="case-row"
            class:urgent=urgent
            data-case-id=id.to_string()
            role="button"
            tabindex="0"
            on:click=move |_| open()
            on:keydown=move |ev| {
                if ev.key() == "Enter" {
                    open()
                }
            }
        >
            <div class="case-main">
                <span class="case-name">{name}</span>
                <span class="case-id">{case.id_masked.clone()}</span>
            </div>
            <div class="case-meta">
                {urgent.then(|| view! { <span class="badge badge-urgent">"急难"</span> })}
                <span class="case-members">{format!("家庭人口 {} 人", case.member_count)}</span>
                <span class="case-status">{case.status_label.clone()}</span>
                {case.unsynced.then(|| view! { <span class="badge badge-unsynced">"未同步"</span> })}
                {(case.conflicts > 0)
                    .then(|| view! { <span class="badge badge-conflict">"有冲突"</span> })}
            </div>
        </li>
    }
}
