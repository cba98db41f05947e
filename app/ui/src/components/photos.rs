//! The case's photos: take one with the camera or pick files, each with a kind; the core
//! runs the pipeline (orientation, scaling, EXIF) and keeps it; thumbnails in a grid with
//! 删除. A bad file gets the core's Chinese message and nothing else on the page changes.

use base64::Engine;
use hecha_shared::app_api::{AddPhotoRequest, PhotoView};
use hecha_shared::photo::PhotoKind;
use hecha_shared::CaseId;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{File, HtmlInputElement};

use crate::ipc;
use crate::state::PageScope;

/// The files chosen in an `<input type=file>`, then empties it (so the same file can be
/// chosen again).
fn take_files(ev: &leptos::ev::Event) -> Vec<File> {
    let Some(input) = ev
        .target()
        .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
    else {
        return Vec::new();
    };
    let mut files = Vec::new();
    if let Some(list) = input.files() {
        for i in 0..list.length() {
            if let Some(f) = list.get(i) {
                files.push(f);
            }
        }
    }
    input.set_value("");
    files
}

async fn read_file(file: &File) -> Result<Vec<u8>, String> {
    let buffer = JsFuture::from(file.array_buffer())
        .await
        .map_err(|_| format!("无法读取文件“{}”", file.name()))?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// `photos` is the case's list as last read; `case_id` is `None` until the case is saved.
/// `single` offers one photo only (the discovery report).
#[component]
pub fn Photos(
    #[prop(into)] case_id: Signal<Option<CaseId>>,
    photos: RwSignal<Vec<PhotoView>>,
    #[prop(optional)] single: bool,
) -> impl IntoView {
    let scope = PageScope::current();
    let kind = RwSignal::new(PhotoKind::HouseOutside.code().to_string());
    let busy = RwSignal::new(false);
    let message = RwSignal::new(None::<(bool, String)>);

    let add_files = {
        let scope = scope.clone();
        move |files: Vec<File>| {
            let Some(case_id) = case_id.get_untracked() else {
                message.set(Some((false, "请先保存个案，再添加照片".to_string())));
                return;
            };
            if files.is_empty() || busy.get_untracked() {
                return;
            }
            busy.set(true);
            message.set(None);
            let kind = kind.get_untracked();
            scope.spawn(async move {
                let mut added = 0;
                let mut errors = Vec::new();
                for file in files {
                    let bytes = match read_file(&file).await {
                        Ok(b) => b,
                        Err(e) => {
                            errors.push(e);
                            continue;
                        }
                    };
                    let req = AddPhotoRequest {
                        case_id,
                        kind: kind.clone(),
                        file_name: file.name(),
                        data_base64: base64::engine::general_purpose::STANDARD.encode(&bytes),
                    };
                    match ipc::add_photo(&req).await {
                        Ok(view) => {
                            photos.update(|v| {
                                v.retain(|p| p.sha256 != view.sha256);
                                v.push(view);
                            });
                            added += 1;
                        }
                        Err(e) => errors.push(format!("“{}”：{}", file.name(), e.message)),
                    }
                }
                if errors.is_empty() {
                    message.set(Some((true, format!("已添加 {added} 张照片"))));
                } else {
                    message.set(Some((false, errors.join("；"))));
                }
                busy.set(false);
            });
        }
    };
    let on_camera = {
        let add = add_files.clone();
        move |ev: leptos::ev::Event| add(take_files(&ev))
    };
    let on_pick = move |ev: leptos::ev::Event| add_files(take_files(&ev));

    // The full image of a tapped thumbnail (`None`: the viewer is closed).
    let full = RwSignal::new(None::<String>);
    let open_full = {
        let scope = scope.clone();
        move |sha: String| {
            scope.spawn(async move {
                match ipc::photo_full(&sha).await {
                    Ok(url) => full.set(Some(url)),
                    Err(e) => message.set(Some((false, e.message))),
                }
            });
        }
    };

    let remove = move |sha: String| {
        let Some(case_id) = case_id.get_untracked() else {
            return;
        };
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        scope.spawn(async move {
            match ipc::remove_photo(case_id, &sha).await {
                Ok(()) => {
                    photos.update(|v| v.retain(|p| p.sha256 != sha));
                    message.set(Some((true, "已删除照片".to_string())));
                }
                Err(e) => message.set(Some((false, e.message))),
            }
            busy.set(false);
        });
    };

    let can_add =
        move || case_id.with(Option::is_some) && !(single && photos.with(|p| !p.is_empty()));

    view! {
        <div class="photos">
            <div class="photo-add">
                <label class="field">
                    <span class="field-label">"照片类别"</span>
                    <select
                        id="photo-kind"
                        prop:value=move || kind.get()
                        on:change=move |ev| kind.set(event_target_value(&ev))
                    >
                        {PhotoKind::ALL
                            .into_iter()
                            .map(|k| view! { <option value=k.code()>{k.label_zh()}</option> })
                            .collect_view()}
                    </select>
                </label>
                <label class="button primary file-button" class:disabled=move || !can_add()>
                    "拍照"
                    <input
                        id="photo-camera"
                        type="file"
                        accept="image/*"
                        capture="environment"
                        disabled=move || !can_add() || busy.get()
                        on:change=on_camera
                    />
                </label>
                <label class="button secondary file-button" class:disabled=move || !can_add()>
                    "从相册选择"
                    <input
                        id="photo-file"
                        type="file"
                        accept="image/*"
                        multiple=!single
                        disabled=move || !can_add() || busy.get()
                        on:change=on_pick
                    />
                </label>
            </div>
            {move || {
                case_id.with(Option::is_none).then(|| view! { <p class="hint">"保存个案后即可添加照片。"</p> })
            }}
            {move || busy.get().then(|| view! { <p class="hint">"正在处理照片…"</p> })}
            {move || {
                message.get().map(|(ok, text)| {
                    let class = if ok { "photo-message ok" } else { "photo-message error" };
                    view! { <p id="photo-message" class=class role="status">{text}</p> }
                })
            }}
            <ul id="photo-grid" class="photo-grid">
                <For
                    each=move || photos.get()
                    key=|p| p.sha256.clone()
                    children=move |p| {
                        let sha = p.sha256.clone();
                        let sha_full = p.sha256.clone();
                        let remove = remove.clone();
                        let open_full = open_full.clone();
                        view! {
                            <li class="photo-thumb" data-sha256=p.sha256.clone() data-kind=p.kind.clone()>
                                {match p.thumb_data_url.clone() {
                                    Some(url) => view! {
                                        <img
                                            src=url
                                            alt=p.kind_label_zh.clone()
                                            on:click=move |_| open_full(sha_full.clone())
                                        />
                                    }
                                        .into_any(),
                                    None => view! { <span class="no-thumb">"缩略图未下载"</span> }.into_any(),
                                }}
                                <span class="photo-kind">{p.kind_label_zh.clone()}</span>
                                <span class="photo-time">{crate::format::local_time(p.taken_at_ms)}</span>
                                <button
                                    type="button"
                                    class="photo-remove danger small"
                                    on:click=move |_| remove(sha.clone())
                                >
                                    "删除"
                                </button>
                            </li>
                        }
                    }
                />
            </ul>
            {move || {
                full.get().map(|url| {
                    view! {
                        <div id="photo-viewer" class="photo-viewer" on:click=move |_| full.set(None)>
                            <img src=url alt="照片原图" />
                            <p class="hint">"点击任意处关闭"</p>
                        </div>
                    }
                })
            }}
        </div>
    }
}
