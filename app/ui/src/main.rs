//! Hecha's field-app user interface: a Leptos CSR app running in the Tauri web view.
//! It only shows what the app core returns and sends people's input back through
//! `ipc`; every rule (validation, merging, syncing) lives in the core.

mod components;
mod format;
mod ipc;
mod pages;
mod state;

use leptos::prelude::*;

use crate::pages::{
    case_list::CaseListPage, discovery::DiscoveryPage, login::LoginPage, visit_form::VisitFormPage,
};
use crate::state::{AppState, Page};

fn main() {
    // The static page shows a "loading" note until the wasm module has started.
    if let Some(boot) = document().get_element_by_id("boot") {
        boot.remove();
    }
    mount_to_body(App);
}

#[component]
fn App() -> impl IntoView {
    let state = AppState::new();
    provide_context(state);
    state.start();

    view! {
        <div class="app">
            {move || match state.page.get() {
                Page::Starting => view! { <p class="boot">"正在加载…"</p> }.into_any(),
                Page::Login => view! { <LoginPage /> }.into_any(),
                Page::Cases => view! { <CaseListPage /> }.into_any(),
                Page::Case(id) => view! { <VisitFormPage case_id=id /> }.into_any(),
                Page::Discovery => view! { <DiscoveryPage /> }.into_any(),
            }}
        </div>
    }
}
