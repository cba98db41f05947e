//! The case form: a new or existing household's applicant and members, saved through
//! the core (which validates and returns per-field messages), plus the case's conflicts.

use hecha_shared::app_api::{CaseView, ConflictView, ErrorCode, ResolveRequest};
use hecha_shared::case::{ApplicantForm, CaseForm, FieldErrors, MemberForm};
use hecha_shared::CaseId;
use leptos::prelude::*;

use crate::components::conflicts::Conflicts;
use crate::components::field::TextField;
use crate::components::header::Header;
use crate::components::member_row::{MemberRow, MemberRowView};
use crate::ipc;
use crate::state::{AppState, Page, PageScope};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tone {
    Ok,
    Error,
}

/// Everything the form shows, as signals (so the struct is `Copy`).
#[derive(Clone, Copy)]
struct FormState {
    case_id: RwSignal<Option<CaseId>>,
    name: RwSignal<String>,
    id_number: RwSignal<String>,
    phone: RwSignal<String>,
    address: RwSignal<String>,
    members: RwSignal<Vec<MemberRow>>,
    next_key: StoredValue<u32>,
    /// Messages of the last save the core refused.
    errors: RwSignal<FieldErrors>,
    /// Row keys in the order they were sent with that save: `members.<i>` in error paths.
    validated_keys: RwSignal<Vec<u32>>,
    conflicts: RwSignal<Vec<ConflictView>>,
    unsynced: RwSignal<bool>,
    message: RwSignal<Option<(Tone, String)>>,
    busy: RwSignal<bool>,
}

impl FormState {
    fn new(case_id: Option<CaseId>) -> Self {
        Self {
            case_id: RwSignal::new(case_id),
            name: RwSignal::new(String::new()),
            id_number: RwSignal::new(String::new()),
            phone: RwSignal::new(String::new()),
            address: RwSignal::new(String::new()),
            members: RwSignal::new(Vec::new()),
            next_key: StoredValue::new(0),
            errors: RwSignal::new(FieldErrors::default()),
            validated_keys: RwSignal::new(Vec::new()),
            conflicts: RwSignal::new(Vec::new()),
            unsynced: RwSignal::new(false),
            message: RwSignal::new(None),
            busy: RwSignal::new(false),
        }
    }

    fn new_row(self, member: MemberForm) -> MemberRow {
        let key = self.next_key.get_value();
        self.next_key.set_value(key + 1);
        MemberRow::new(key, member)
    }

    /// Shows the case as the core has it now, dropping earlier field messages.
    fn load(self, view: CaseView) {
        let form = view.form;
        self.case_id.set(form.case_id);
        self.name.set(form.applicant.name);
        self.id_number.set(form.applicant.id_number);
        self.phone.set(form.applicant.phone);
        self.address.set(form.applicant.address);
        let rows = form.members.into_iter().map(|m| self.new_row(m)).collect();
        self.members.set(rows);
        self.errors.set(FieldErrors::default());
        self.validated_keys.set(Vec::new());
        self.conflicts.set(view.conflicts);
        self.unsynced.set(view.unsynced);
    }

    /// Rows sent to the core: every member it already knows (removed ones carry the
    /// flag) and every new one still on the form.
    fn rows_to_send(self) -> Vec<MemberRow> {
        self.members
            .get_untracked()
            .into_iter()
            .filter(|r| r.id.is_some() || !r.removed.get_untracked())
            .collect()
    }

    fn to_form(self, rows: &[MemberRow]) -> CaseForm {
        CaseForm {
            case_id: self.case_id.get_untracked(),
            applicant: ApplicantForm {
                name: self.name.get_untracked(),
                id_number: self.id_number.get_untracked(),
                phone: self.phone.get_untracked(),
                address: self.address.get_untracked(),
                ..Default::default()
            },
            members: rows.iter().map(|r| r.to_form()).collect(),
            ..Default::default()
        }
    }

    fn add_member(self) {
        let row = self.new_row(MemberForm::default());
        self.members.update(|v| v.push(row));
    }

    /// A member the case already has is flagged; one added in this edit just goes.
    fn remove_member(self, key: u32) {
        let Some(row) = self
            .members
            .with_untracked(|v| v.iter().find(|r| r.key == key).copied())
        else {
            return;
        };
        if row.id.is_some() {
            row.removed.set(true);
        } else {
            self.members.update(|v| v.retain(|r| r.key != key));
        }
    }

    fn applicant_path(field: &'static str) -> Signal<Option<String>> {
        Signal::derive(move || Some(format!("applicant.{field}")))
    }
}

#[component]
pub fn CaseFormPage(case_id: Option<CaseId>) -> impl IntoView {
    let state = expect_context::<AppState>();
    let scope = PageScope::current();
    let form = FormState::new(case_id);
    let loading = RwSignal::new(case_id.is_some());
    // The form shows only once the case is loaded, so nothing typed is overwritten by it.
    let ready = RwSignal::new(case_id.is_none());

    if let Some(id) = case_id {
        scope.spawn(async move {
            match ipc::get_case(id).await {
                Ok(view) => {
                    form.load(view);
                    ready.set(true);
                }
                Err(e) => form.message.set(Some((Tone::Error, e.message))),
            }
            loading.set(false);
        });
    }

    let save = {
        let scope = scope.clone();
        move |_| {
            if form.busy.get_untracked() {
                return;
            }
            let rows = form.rows_to_send();
            let sent = form.to_form(&rows);
            let keys: Vec<u32> = rows.iter().map(|r| r.key).collect();
            form.busy.set(true);
            form.message.set(None);
            scope.spawn(async move {
                match ipc::save_case(&sent).await {
                    Ok(id) => {
                        // Reload so new members get their ids (a second save must not add
                        // them again) and the conflicts and marks are current.
                        match ipc::get_case(id).await {
                            Ok(view) => form.load(view),
                            Err(_) => form.case_id.set(Some(id)),
                        }
                        form.message.set(Some((Tone::Ok, "已保存".to_string())));
                    }
                    Err(e) => {
                        if e.code == ErrorCode::Validation {
                            form.errors.set(e.fields);
                            form.validated_keys.set(keys);
                        }
                        form.message.set(Some((Tone::Error, e.message)));
                    }
                }
                form.busy.set(false);
                state.refresh_sync();
            });
        }
    };

    let choose = {
        let scope = scope.clone();
        Callback::new(move |(path, value): (Vec<String>, String)| {
            let Some(case_id) = form.case_id.get_untracked() else {
                return;
            };
            if form.busy.get_untracked() {
                return;
            }
            form.busy.set(true);
            form.message.set(None);
            let req = ResolveRequest {
                case_id,
                path,
                value,
            };
            scope.spawn(async move {
                match ipc::resolve_conflict(&req).await {
                    Ok(view) => {
                        form.load(view);
                        form.message
                            .set(Some((Tone::Ok, "已采用所选的值".to_string())));
                    }
                    Err(e) => form.message.set(Some((Tone::Error, e.message))),
                }
                form.busy.set(false);
                state.refresh_sync();
            });
        })
    };

    let remove = Callback::new(move |key: u32| form.remove_member(key));
    let title = move || {
        if form.case_id.with(Option::is_some) {
            "个案信息"
        } else {
            "新建个案"
        }
    };

    view! {
        <Header />
        <main class="page case-form-page">
            <div class="toolbar">
                <button
                    id="back"
                    type="button"
                    class="secondary"
                    on:click=move |_| state.page.set(Page::Cases)
                >
                    "返回台账"
                </button>
                <h2 class="page-title">{title}</h2>
                {move || {
                    form.unsynced.get().then(|| view! { <span class="badge badge-unsynced">"未同步"</span> })
                }}
            </div>
            {move || {
                if ready.get() {
                    form_body(form, save.clone(), choose, remove).into_any()
                } else if loading.get() {
                    view! { <p class="hint">"正在读取…"</p> }.into_any()
                } else {
                    // The case could not be read: offer no form that could overwrite it.
                    message_view(form).into_any()
                }
            }}
        </main>
    }
}

/// `#form-message`: the outcome of the last save or choice (or why the case could not be read).
fn message_view(form: FormState) -> impl IntoView {
    move || {
        form.message.get().map(|(tone, text)| {
            let class = match tone {
                Tone::Ok => "form-message ok",
                Tone::Error => "form-message error",
            };
            view! { <p id="form-message" class=class role="status">{text}</p> }
        })
    }
}

/// The conflicts, the applicant, the members and the save button, once the case is shown.
fn form_body(
    form: FormState,
    save: impl Fn(leptos::ev::MouseEvent) + 'static,
    choose: Callback<(Vec<String>, String)>,
    remove: Callback<u32>,
) -> impl IntoView {
    let busy = Signal::derive(move || form.busy.get());
    view! {
        <Conflicts conflicts=form.conflicts busy=busy on_choose=choose />
        <section class="card">
            <h3>"申请人"</h3>
            <div class="grid">
                <TextField
                    label="姓名"
                    id="applicant-name"
                    value=form.name
                    errors=form.errors
                    path=FormState::applicant_path("name")
                />
                <TextField
                    label="身份证号"
                    id="applicant-id-number"
                    value=form.id_number
                    errors=form.errors
                    path=FormState::applicant_path("id_number")
                    placeholder="18位，末位可为X"
                />
                <TextField
                    label="联系电话"
                    id="applicant-phone"
                    value=form.phone
                    errors=form.errors
                    path=FormState::applicant_path("phone")
                    input_type="tel"
                    inputmode="tel"
                />
                <TextField
                    label="住址"
                    id="applicant-address"
                    value=form.address
                    errors=form.errors
                    path=FormState::applicant_path("address")
                />
            </div>
        </section>
        <section class="card">
            <h3>"家庭成员"</h3>
            <div class="members">
                <For
                    each=move || {
                        form.members
                            .get()
                            .into_iter()
                            .filter(|r| !r.removed.get())
                            .collect::<Vec<_>>()
                    }
                    key=|r| r.key
                    children=move |row| {
                        let key = row.key;
                        let index = Signal::derive(move || {
                            form.validated_keys.with(|k| k.iter().position(|&x| x == key))
                        });
                        view! {
                            <MemberRowView row=row index=index errors=form.errors on_remove=remove />
                        }
                    }
                />
            </div>
            <button
                id="add-member"
                type="button"
                class="secondary"
                on:click=move |_| form.add_member()
            >
                "添加成员"
            </button>
        </section>
        <div class="form-actions">
            {message_view(form)}
            <button
                id="save-case"
                type="button"
                class="primary"
                disabled=move || form.busy.get()
                on:click=save
            >
                "保存"
            </button>
        </div>
    }
}
