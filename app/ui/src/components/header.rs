//! The bar at the top of every page after login: who is working, for which unit, and
//! the sync indicator.

use leptos::prelude::*;

use crate::components::sync_indicator::SyncIndicator;
use crate::state::AppState;

#[component]
pub fn Header() -> impl IntoView {
    let state = expect_context::<AppState>();
    let who = move || {
        state.session.with(|s| {
            s.as_ref().map(|s| {
                (
                    s.display_name.clone(),
                    s.unit_name.clone(),
                    s.role.label_zh(),
                )
            })
        })
    };
    view! {
        <header class="topbar">
            <div class="who">
                <span class="app-name">"核查"</span>
                {move || {
                    who()
                        .map(|(name, unit, role)| {
                            view! {
                                <span id="user-name" class="user-name">{name}</span>
                                <span class="role">{role}</span>
                                <span id="unit-name" class="unit-name">{unit}</span>
                            }
                        })
                }}
            </div>
            <SyncIndicator />
        </header>
    }
}
