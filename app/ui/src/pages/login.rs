//! The enrol / login page, shown while this device has no session: connects the device
//! to the district's server with a verifier's account.

use hecha_shared::app_api::EnrolRequest;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::ipc;
use crate::state::AppState;

#[component]
pub fn LoginPage() -> impl IntoView {
    let state = expect_context::<AppState>();
    let server_url = RwSignal::new(String::new());
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let req = EnrolRequest {
            server_url: server_url.get_untracked(),
            username: username.get_untracked(),
            password: password.get_untracked(),
            code: None,
        };
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            match ipc::enrol(&req).await {
                Ok(session) => state.logged_in(session),
                Err(e) => error.set(Some(e.message)),
            }
            busy.set(false);
        });
    };

    view! {
        <main class="login-page">
            <form class="login-card" novalidate=true on:submit=submit>
                <h1 class="brand">"核查"</h1>
                <p class="subtitle">"社会救助家庭经济状况核查 · 登录本设备"</p>
                <label class="field">
                    <span class="field-label">"服务器地址"</span>
                    <input
                        id="server-url"
                        type="text"
                        inputmode="url"
                        autocomplete="url"
                        placeholder="例如 http://192.168.1.10:8080"
                        bind:value=server_url
                        on:change=move |ev| server_url.set(event_target_value(&ev))
                    />
                </label>
                <label class="field">
                    <span class="field-label">"用户名"</span>
                    <input id="username" type="text" autocomplete="username" bind:value=username
                        on:change=move |ev| username.set(event_target_value(&ev)) />
                </label>
                <label class="field">
                    <span class="field-label">"密码"</span>
                    <input
                        id="password"
                        type="password"
                        autocomplete="current-password"
                        bind:value=password
                        on:change=move |ev| password.set(event_target_value(&ev))
                    />
                </label>
                {move || error.get().map(|msg| view! { <p id="login-error" class="error-text" role="alert">{msg}</p> })}
                <button id="login" type="submit" class="primary wide" disabled=move || busy.get()>
                    "登录"
                </button>
                {move || busy.get().then(|| view! { <p class="hint">"正在连接服务器…"</p> })}
            </form>
        </main>
    }
}
