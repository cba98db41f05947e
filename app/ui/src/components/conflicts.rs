//! The conflicts section of a case: every field that two devices changed differently
//! while offline, each value with its author and time; a person picks the right one.

use hecha_shared::app_api::ConflictView;
use leptos::prelude::*;

use crate::format::{author, conflict_value, local_time};

/// `on_choose(path, value)` records the choice.
#[component]
pub fn Conflicts(
    conflicts: RwSignal<Vec<ConflictView>>,
    busy: Signal<bool>,
    on_choose: Callback<(Vec<String>, String)>,
) -> impl IntoView {
    move || {
        let list = conflicts.get();
        (!list.is_empty()).then(|| {
            view! {
                <section id="conflicts" class="card conflicts">
                    <h3>"需要处理的冲突"</h3>
                    <p class="hint">
                        "以下内容在不同设备上被改成了不同的值，请核实后选择正确的一项。"
                    </p>
                    {list
                        .into_iter()
                        .map(|c| conflict_view(c, busy, on_choose))
                        .collect_view()}
                </section>
            }
        })
    }
}

fn conflict_view(
    c: ConflictView,
    busy: Signal<bool>,
    on_choose: Callback<(Vec<String>, String)>,
) -> impl IntoView {
    let data_path = c.path.join(".");
    let values = c
        .values
        .into_iter()
        .map(|v| {
            let text = conflict_value(&c.path, &v.value);
            let meta = format!("{} · {}", author(&v.author), local_time(v.at_ms));
            let path = c.path.clone();
            let value = v.value.clone();
            view! {
                <button
                    type="button"
                    class="conflict-choose"
                    disabled=move || busy.get()
                    on:click=move |_| on_choose.run((path.clone(), value.clone()))
                >
                    <span class="conflict-value">{text}</span>
                    <span class="conflict-meta">{meta}</span>
                    {v.shown.then(|| view! { <span class="conflict-shown">"当前显示"</span> })}
                </button>
            }
        })
        .collect_view();
    view! {
        <div class="conflict" data-path=data_path>
            <div class="conflict-label">{c.label}</div>
            <div class="conflict-values">{values}</div>
        </div>
    }
}
