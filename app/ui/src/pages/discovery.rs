//! The quick discovery report (发现报告): a household in sudden hardship, in a few fields,
//! with an urgency flag and one photo. It is a case of origin `discovery`: it reaches the
//! street's supervisors at the next sync and stands out in their list when urgent.

use hecha_shared::app_api::{ErrorCode, PhotoView};
use hecha_shared::case::DiscoveryKind;
use hecha_shared::CaseId;
use leptos::prelude::*;

use crate::components::header::Header;
use crate::components::inputs::{
    code_select, text_area, text_input, FormData, Options, Spec, TextKind,
};
use crate::components::photos::Photos;
use crate::format::now_ms;
use crate::ipc;
use crate::state::{AppState, Page, PageScope};

#[component]
pub fn DiscoveryPage() -> impl IntoView {
    let state = expect_context::<AppState>();
    let scope = PageScope::current();
    let form = FormData::new();
    form.data.update(|f| {
        f.origin = "discovery".to_string();
        f.discovery.urgent = true;
    });
    let case_id = RwSignal::new(None::<CaseId>);
    let photos = RwSignal::new(Vec::<PhotoView>::new());
    let busy = RwSignal::new(false);
    let message = RwSignal::new(None::<(bool, String)>);

    let save = move |_| {
        if busy.get_untracked() {
            return;
        }
        form.data.update(|f| {
            if f.discovery.reported_at == 0 {
                f.discovery.reported_at = now_ms();
            }
        });
        let sent = form.data.get_untracked();
        busy.set(true);
        message.set(None);
        scope.spawn(async move {
            match ipc::save_case(&sent).await {
                Ok(id) => {
                    case_id.set(Some(id));
                    form.data.update(|f| f.case_id = Some(id));
                    form.errors.set(Default::default());
                    message.set(Some((true, "已保存，下次同步时报送街道".to_string())));
                }
                Err(e) => {
                    if e.code == ErrorCode::Validation {
                        form.errors.set(e.fields);
                    }
                    message.set(Some((false, e.message)));
                }
            }
            busy.set(false);
            state.refresh_sync();
        });
    };

    let kinds: Options = DiscoveryKind::ALL
        .iter()
        .map(|k| (k.code(), k.label_zh()))
        .collect();
    let urgent = Memo::new(move |_| form.data.with(|f| f.discovery.urgent));

    view! {
        <Header />
        <main class="page discovery-page">
            <div class="toolbar">
                <button
                    id="back"
                    type="button"
                    class="secondary"
                    on:click=move |_| state.page.set(Page::Cases)
                >
                    "返回台账"
                </button>
                <h2 class="page-title">"发现报告"</h2>
            </div>
            <section class="card">
                <div class="grid">
                    {text_input(form, Spec::new("当事人姓名", "applicant.name").id("discovery-name"), TextKind::Plain, |f| f.applicant.name.clone(), |f, v| f.applicant.name = v)}
                    {text_input(form, Spec::new("身份证号", "applicant.id_number").id("discovery-id-number"), TextKind::IdNumber, |f| f.applicant.id_number.clone(), |f, v| f.applicant.id_number = v)}
                    {text_input(form, Spec::new("住址", "applicant.address").id("discovery-address"), TextKind::Plain, |f| f.applicant.address.clone(), |f, v| f.applicant.address = v)}
                    {text_input(form, Spec::new("联系电话", "applicant.phone").id("discovery-phone"), TextKind::Tel, |f| f.applicant.phone.clone(), |f, v| f.applicant.phone = v)}
                    {code_select(form, Spec::new("困难类型", "discovery.kind").id("discovery-kind"), kinds, |f| f.discovery.kind.clone(), |f, v| f.discovery.kind = v)}
                </div>
                {text_area(form, Spec::new("情况描述", "discovery.description").id("discovery-description"), |f| f.discovery.description.clone(), |f, v| f.discovery.description = v)}
                <label class="check urgent-check">
                    <input
                        id="discovery-urgent"
                        type="checkbox"
                        prop:checked=move || urgent.get()
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            form.edit(|f| f.discovery.urgent = on);
                        }
                    />
                    <span>"急难情况，需尽快处理"</span>
                </label>
            </section>
            <section class="card">
                <h3>"现场照片"</h3>
                <Photos case_id=case_id photos=photos single=true />
            </section>
            <div class="form-actions">
                {move || {
                    message.get().map(|(ok, text)| {
                        let class = if ok { "form-message ok" } else { "form-message error" };
                        view! { <p id="form-message" class=class role="status">{text}</p> }
                    })
                }}
                <button
                    id="discovery-save"
                    type="button"
                    class="primary"
                    disabled=move || busy.get()
                    on:click=save
                >
                    "保存报告"
                </button>
            </div>
        </main>
    }
}
