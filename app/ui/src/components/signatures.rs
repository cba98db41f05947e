//! The signatures of a case: who signed, when, the core's PNG of each, whether the content
//! changed after it was signed (内容在签字后被修改, who and when), which signatures are still
//! missing, and the pad to sign (or re-sign, an explicit act) the saved record.

use hecha_shared::app_api::{AppError, PhotoView, SignRequest, SignatureView};
use hecha_shared::signature::{Point, SignerRole};
use hecha_shared::CaseId;
use leptos::prelude::*;

use crate::components::signature_pad::SignaturePad;
use crate::format::local_time;
use crate::ipc;
use crate::state::{AppState, PageScope};

/// Who is about to sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignTarget {
    /// A `SignerRole` code.
    pub role: String,
    pub signer_name: String,
    /// The neighbour visit a neighbour signs.
    pub neighbour_visit: Option<String>,
}

fn role_label(code: &str) -> &str {
    SignerRole::from_code(code)
        .map(SignerRole::label_zh)
        .unwrap_or(code)
}

/// The roles a person can start signing from here (a neighbour signs from their visit).
const ROLES: [SignerRole; 4] = [
    SignerRole::Investigator1,
    SignerRole::Investigator2,
    SignerRole::Applicant,
    SignerRole::Witness,
];

#[component]
pub fn Signatures(
    #[prop(into)] case_id: Signal<Option<CaseId>>,
    /// The case's photos: an applicant who cannot write leaves a fingerprint mark, photographed.
    photos: RwSignal<Vec<PhotoView>>,
    signatures: RwSignal<Vec<SignatureView>>,
    missing: RwSignal<Vec<String>>,
    /// The form has edits not saved yet: what would be signed is not what is shown.
    #[prop(into)]
    dirty: Signal<bool>,
    signing: RwSignal<Option<SignTarget>>,
    #[prop(into)] applicant_name: Signal<String>,
    on_signed: Callback<()>,
    on_refused: Callback<AppError>,
    /// Asks the page to read the case again (the still-missing list comes with it).
    on_reload: Callback<()>,
) -> impl IntoView {
    let state = expect_context::<AppState>();
    let scope = PageScope::current();
    let fp_scope = scope.clone();
    let busy = RwSignal::new(false);
    let name = RwSignal::new(String::new());

    let open = move |role: SignerRole| {
        let default_name = match role {
            SignerRole::Investigator1 => state
                .session
                .with_untracked(|s| s.as_ref().map(|s| s.display_name.clone()))
                .unwrap_or_default(),
            SignerRole::Applicant => applicant_name.get_untracked(),
            _ => String::new(),
        };
        signing.set(Some(SignTarget {
            role: role.code().to_string(),
            signer_name: default_name,
            neighbour_visit: None,
        }));
    };
    // The name field follows whoever is about to sign.
    Effect::new(move |_| {
        if let Some(t) = signing.get() {
            name.set(t.signer_name);
        }
    });

    let confirm = Callback::new(move |strokes: Vec<Vec<Point>>| {
        let (Some(case_id), Some(target)) = (case_id.get_untracked(), signing.get_untracked())
        else {
            return;
        };
        let req = SignRequest {
            case_id,
            role: target.role,
            signer_name: name.get_untracked().trim().to_string(),
            neighbour_visit: target.neighbour_visit,
            strokes,
            fingerprint_photo: None,
        };
        busy.set(true);
        scope.spawn(async move {
            match ipc::sign_case(&req).await {
                Ok(list) => {
                    signatures.set(list);
                    signing.set(None);
                    on_signed.run(());
                    on_reload.run(());
                }
                Err(e) => on_refused.run(e),
            }
            busy.set(false);
            state.refresh_sync();
        });
    });

    // An applicant who cannot write: a photo of their fingerprint mark stands for the
    // signature (the photo is added in the photos section first).
    let fingerprint_open = RwSignal::new(false);
    let fingerprint_sha = RwSignal::new(String::new());
    let sign_fingerprint = move |_| {
        let Some(case_id) = case_id.get_untracked() else {
            return;
        };
        let sha = fingerprint_sha.get_untracked();
        if sha.is_empty() {
            return;
        }
        let req = SignRequest {
            case_id,
            role: SignerRole::Applicant.code().to_string(),
            signer_name: applicant_name.get_untracked(),
            neighbour_visit: None,
            strokes: Vec::new(),
            fingerprint_photo: Some(sha),
        };
        busy.set(true);
        fp_scope.spawn(async move {
            match ipc::sign_case(&req).await {
                Ok(list) => {
                    signatures.set(list);
                    fingerprint_open.set(false);
                    on_signed.run(());
                    on_reload.run(());
                }
                Err(e) => on_refused.run(e),
            }
            busy.set(false);
            state.refresh_sync();
        });
    };

    let blocked = move || {
        if case_id.with(Option::is_none) {
            Some("请先保存个案，再签字")
        } else if dirty.get() {
            Some("有未保存的修改：请先保存，再签字（签字确认的是已保存的内容）")
        } else {
            None
        }
    };

    view! {
        <div class="signatures">
            {move || {
                let m = missing.get();
                (!m.is_empty())
                    .then(|| {
                        let text = m.iter().map(|r| role_label(r).to_string()).collect::<Vec<_>>().join("、");
                        view! { <p id="signatures-missing" class="notice">{format!("尚缺签字：{text}")}</p> }
                    })
            }}
            <ul id="signature-list" class="signature-list">
                {move || {
                    signatures
                        .get()
                        .into_iter()
                        .map(|s| signature_item(s, signing))
                        .collect_view()
                }}
            </ul>
            {move || blocked().map(|why| view! { <p id="sign-blocked" class="hint">{why}</p> })}
            <div class="sign-buttons">
                {ROLES
                    .into_iter()
                    .map(|role| {
                        view! {
                            <button
                                type="button"
                                class="secondary sign-role"
                                id=format!("sign-{}", role.code())
                                disabled=move || blocked().is_some() || busy.get()
                                on:click=move |_| open(role)
                            >
                                {format!("{}签字", role.label_zh())}
                            </button>
                        }
                    })
                    .collect_view()}
                <button
                    type="button"
                    class="secondary"
                    id="sign-fingerprint"
                    disabled=move || blocked().is_some() || busy.get()
                    on:click=move |_| fingerprint_open.update(|o| *o = !*o)
                >
                    "申请人按手印（照片）"
                </button>
            </div>
            {move || {
                fingerprint_open
                    .get()
                    .then(|| {
                        let choices = photos.get();
                        let sign_fingerprint = sign_fingerprint.clone();
                        view! {
                            <div id="fingerprint-panel" class="signature-panel">
                                <p class="hint">
                                    "申请人无法书写时，可按手印并拍照：先在“照片”中添加手印照片，再在此选择。"
                                </p>
                                <label class="field">
                                    <span class="field-label">"手印照片"</span>
                                    <select
                                        id="fingerprint-photo"
                                        prop:value=move || fingerprint_sha.get()
                                        on:change=move |ev| fingerprint_sha.set(event_target_value(&ev))
                                    >
                                        <option value="">"请选择"</option>
                                        {choices
                                            .into_iter()
                                            .map(|p| {
                                                let label = format!(
                                                    "{} · {}",
                                                    p.kind_label_zh,
                                                    local_time(p.taken_at_ms)
                                                );
                                                view! { <option value=p.sha256>{label}</option> }
                                            })
                                            .collect_view()}
                                    </select>
                                </label>
                                <button
                                    id="fingerprint-confirm"
                                    type="button"
                                    class="primary"
                                    disabled=move || busy.get() || fingerprint_sha.with(String::is_empty)
                                    on:click=sign_fingerprint
                                >
                                    "以手印照片确认"
                                </button>
                            </div>
                        }
                    })
            }}
            {move || {
                signing
                    .get()
                    .filter(|_| blocked().is_none())
                    .map(|t| {
                        view! {
                            <div id="signature-panel" class="signature-panel" data-role=t.role.clone()>
                                <h4>{format!("{}签字", role_label(&t.role))}</h4>
                                <label class="field">
                                    <span class="field-label">"签字人姓名"</span>
                                    <input
                                        id="signer-name"
                                        type="text"
                                        autocomplete="off"
                                        prop:value=move || name.get()
                                        on:input=move |ev| name.set(event_target_value(&ev))
                                        on:change=move |ev| name.set(event_target_value(&ev))
                                    />
                                </label>
                                <SignaturePad
                                    on_confirm=confirm
                                    on_cancel=Callback::new(move |_| signing.set(None))
                                    busy=busy
                                />
                            </div>
                        }
                    })
            }}
        </div>
    }
}

fn signature_item(s: SignatureView, signing: RwSignal<Option<SignTarget>>) -> impl IntoView {
    let changed = s.status == "changed";
    let resign = {
        let target = SignTarget {
            role: s.role.clone(),
            signer_name: s.signer_name.clone(),
            neighbour_visit: s.neighbour_visit.clone(),
        };
        move |_| signing.set(Some(target.clone()))
    };
    let who = format!(
        "{} · {} · {}",
        s.role_label_zh,
        s.signer_name,
        local_time(s.signed_at_ms)
    );
    let by = (!s.by_display_name.is_empty()).then(|| format!("记录人：{}", s.by_display_name));
    view! {
        <li class="signature" class:changed=changed data-role=s.role.clone() data-status=s.status.clone()>
            {if s.png_data_url.is_empty() {
                view! { <span class="signature-image signature-mark">"手印照片"</span> }.into_any()
            } else {
                view! {
                    <img class="signature-image" src=s.png_data_url.clone() alt=format!("{}的签名", s.signer_name) />
                }
                    .into_any()
            }}
            <div class="signature-meta">
                <span class="signature-who">{who}</span>
                {by.map(|b| view! { <span class="hint">{b}</span> })}
                {changed
                    .then(|| {
                        let detail = format!(
                            "内容在签字后被修改（{}，{}）",
                            if s.changed_by_name.is_empty() { "未知用户".to_string() } else { s.changed_by_name.clone() },
                            local_time(s.changed_at_ms)
                        );
                        view! {
                            <span class="signature-changed">{detail}</span>
                            <button type="button" class="signature-resign secondary" on:click=resign>
                                "重新签字"
                            </button>
                        }
                    })}
            </div>
        </li>
    }
}
