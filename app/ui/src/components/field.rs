//! Form inputs with their label and, right after the input, the core's message for that
//! field (`.field-error[data-field=<path>]`). What the person typed is never cleared here.

use hecha_shared::case::{FieldErrors, Relation};
use leptos::prelude::*;

/// The message for `path` in the last save's errors, if any.
fn error_for(
    errors: RwSignal<FieldErrors>,
    path: Signal<Option<String>>,
) -> Signal<Option<String>> {
    Signal::derive(move || {
        let path = path.get()?;
        errors.with(|e| e.get(&path).map(str::to_string))
    })
}

fn error_view(path: Signal<Option<String>>, error: Signal<Option<String>>) -> impl IntoView {
    move || {
        error.get().map(|msg| {
            view! { <span class="field-error" data-field=move || path.get() role="alert">{msg}</span> }
        })
    }
}

/// A labelled text input. `path` is the field's path in [`FieldErrors`] (e.g.
/// `applicant.name`, `members.0.id_number`), `None` while it has none.
#[component]
pub fn TextField(
    label: &'static str,
    value: RwSignal<String>,
    errors: RwSignal<FieldErrors>,
    #[prop(into)] path: Signal<Option<String>>,
    #[prop(optional)] id: Option<&'static str>,
    #[prop(optional)] name: Option<&'static str>,
    #[prop(default = "text")] input_type: &'static str,
    #[prop(optional)] inputmode: Option<&'static str>,
    #[prop(optional)] placeholder: Option<&'static str>,
) -> impl IntoView {
    let error = error_for(errors, path);
    view! {
        <label class="field" class:has-error=move || error.with(Option::is_some)>
            <span class="field-label">{label}</span>
            <input
                id=id
                name=name
                type=input_type
                inputmode=inputmode
                placeholder=placeholder
                autocomplete="off"
                aria-invalid=move || if error.with(Option::is_some) { "true" } else { "false" }
                bind:value=value
                // WebDriver's "clear" and some IMEs only send `change`.
                on:change=move |ev| value.set(event_target_value(&ev))
            />
            {error_view(path, error)}
        </label>
    }
}

/// The household member's relation to the applicant: values are [`Relation`] codes,
/// labels Chinese; empty until chosen.
#[component]
pub fn RelationField(
    value: RwSignal<String>,
    errors: RwSignal<FieldErrors>,
    #[prop(into)] path: Signal<Option<String>>,
) -> impl IntoView {
    let error = error_for(errors, path);
    view! {
        <label class="field" class:has-error=move || error.with(Option::is_some)>
            <span class="field-label">"与申请人关系"</span>
            <select
                name="member-relation"
                aria-invalid=move || if error.with(Option::is_some) { "true" } else { "false" }
                prop:value=move || value.get()
                on:change=move |ev| value.set(event_target_value(&ev))
            >
                <option value="" selected=move || value.with(String::is_empty)>
                    "请选择"
                </option>
                {Relation::ALL
                    .into_iter()
                    .map(|r| {
                        view! {
                            <option value=r.code() selected=move || value.with(|v| v == r.code())>
                                {r.label_zh()}
                            </option>
                        }
                    })
                    .collect_view()}
            </select>
            {error_view(path, error)}
        </label>
    }
}
