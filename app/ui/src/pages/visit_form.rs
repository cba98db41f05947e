//! The household investigation form (入户调查表): every section of the record, in
//! collapsible sections, saved through the core (which validates and answers per-field
//! messages), kept as a draft after every edit, with the case's photos, neighbour visits,
//! signatures and conflicts. Derived values are computed by `hecha_shared`, never typed.

use hecha_shared::app_api::{CaseView, ConflictView, ErrorCode, PhotoView, ResolveRequest};
use hecha_shared::case::{derive, CaseDoc};
use hecha_shared::case::{
    Area, AssistanceType, CaseForm, ConclusionOpinion, DisabilityGrade, FieldErrors, HardshipCause,
    HealthStatus, HousingCondition, HousingKind, IncomeCategory, IncomeForm, IncomePeriod, Labour,
    Marital, MemberForm, NeighbourVisitForm, Relation, Schooling,
};
use hecha_shared::id_number::Date;
use hecha_shared::standards::{hint, Hint, Standards};
use hecha_shared::CaseId;
use hecha_shared::{MemberId, UnitId};
use leptos::prelude::*;

use crate::components::conflicts::Conflicts;
use crate::components::header::Header;
use crate::components::inputs::{
    checkbox_set, code_select, datetime_input, derived, number_input, text_area, text_input,
    FormData, NumberKind, Options, Spec, TextKind,
};
use crate::components::photos::Photos;
use crate::components::signatures::{SignTarget, Signatures};
use crate::format::{degrees, local_time, now_ms, today};
use crate::ipc;
use crate::state::{AppState, Page, PageScope};

/// How long typing must pause before the draft is written.
const DRAFT_DELAY_MS: u64 = 500;

/// `(code, label)` for every value of a code list.
macro_rules! options {
    ($list:ty) => {
        <$list>::ALL
            .iter()
            .map(|v| (v.code(), v.label_zh()))
            .collect::<Options>()
    };
}

/// Getter and setter of a field of the form (`get!(applicant.name)`).
macro_rules! get {
    ($($p:ident).+) => { move |f: &CaseForm| f.$($p).+.clone() };
}
macro_rules! set {
    ($($p:ident).+) => { move |f: &mut CaseForm, v| f.$($p).+ = v };
}
/// Getter and setter of a field of the `i`th row of a list (`row_get!(members, i, name)`).
macro_rules! row_get {
    ($list:ident, $i:expr, $field:ident) => {
        move |f: &CaseForm| {
            f.$list
                .get($i)
                .map(|r| r.$field.clone())
                .unwrap_or_default()
        }
    };
}
macro_rules! row_set {
    ($list:ident, $i:expr, $field:ident) => {
        move |f: &mut CaseForm, v| {
            if let Some(r) = f.$list.get_mut($i) {
                r.$field = v;
            }
        }
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Ok,
    Error,
}

/// The page's state besides the form itself.
#[derive(Clone, Copy)]
struct VisitPage {
    form: FormData,
    case_id: RwSignal<Option<CaseId>>,
    conflicts: RwSignal<Vec<ConflictView>>,
    photos: RwSignal<Vec<PhotoView>>,
    signatures: RwSignal<Vec<hecha_shared::app_api::SignatureView>>,
    missing: RwSignal<Vec<String>>,
    hint: RwSignal<Option<Hint>>,
    /// The bureau's standards as last fetched by the core (for the live hint).
    standards: RwSignal<Option<Standards>>,
    unsynced: RwSignal<bool>,
    /// Edited since the last load or save (signing needs a saved record).
    dirty: RwSignal<bool>,
    restored: RwSignal<bool>,
    message: RwSignal<Option<(Tone, String)>>,
    busy: RwSignal<bool>,
    /// Who signs next, when the pad is open.
    signing: RwSignal<Option<SignTarget>>,
    gps: RwSignal<Option<String>>,
}

impl VisitPage {
    fn new(case_id: Option<CaseId>) -> Self {
        Self {
            form: FormData::new(),
            case_id: RwSignal::new(case_id),
            conflicts: RwSignal::new(Vec::new()),
            photos: RwSignal::new(Vec::new()),
            signatures: RwSignal::new(Vec::new()),
            missing: RwSignal::new(Vec::new()),
            hint: RwSignal::new(None),
            standards: RwSignal::new(None),
            unsynced: RwSignal::new(false),
            dirty: RwSignal::new(false),
            restored: RwSignal::new(false),
            message: RwSignal::new(None),
            busy: RwSignal::new(false),
            signing: RwSignal::new(None),
            gps: RwSignal::new(None),
        }
    }

    /// The key its draft is kept under.
    fn draft_key(self) -> String {
        self.case_id
            .get_untracked()
            .map(|id| id.to_string())
            .unwrap_or_else(|| "new".to_string())
    }

    /// Shows the case as the core has it now, dropping earlier field messages.
    fn load(self, view: CaseView) {
        self.case_id.set(view.form.case_id);
        self.form.data.set(view.form);
        self.form.errors.set(FieldErrors::default());
        self.conflicts.set(view.conflicts);
        self.photos.set(view.photos);
        self.signatures.set(view.signatures);
        self.missing.set(view.missing_signatures);
        self.hint.set(view.hint);
        self.unsynced.set(view.unsynced);
        self.dirty.set(false);
    }

    /// Reads the case again (after a signature: the still-missing list, the marks).
    fn reload(self, scope: PageScope) {
        let Some(id) = self.case_id.get_untracked() else {
            return;
        };
        scope.spawn(async move {
            if let Ok(view) = ipc::get_case(id).await {
                self.load(view);
            }
        });
    }

    /// Takes a kept draft in place of what was loaded.
    fn restore(self, draft: CaseForm) {
        self.form.data.set(draft);
        self.dirty.set(true);
        self.restored.set(true);
    }
}

#[component]
pub fn VisitFormPage(case_id: Option<CaseId>) -> impl IntoView {
    let state = expect_context::<AppState>();
    let scope = PageScope::current();
    let page = VisitPage::new(case_id);
    let form = page.form;
    let loading = RwSignal::new(true);
    let ready = RwSignal::new(false);

    // Read the case (if any), then any draft kept for it: the draft is what the person
    // last typed, so it wins.
    scope.spawn(async move {
        if let Some(id) = case_id {
            match ipc::get_case(id).await {
                Ok(view) => page.load(view),
                Err(e) => {
                    page.message.set(Some((Tone::Error, e.message)));
                    loading.set(false);
                    return;
                }
            }
        } else {
            form.data.update(|f| f.origin = "application".to_string());
        }
        if let Ok(standards) = ipc::standards().await {
            page.standards.set(standards);
        }
        if let Ok(Some(draft)) = ipc::load_draft(&page.draft_key()).await {
            if draft != form.data.get_untracked() {
                page.restore(draft);
            }
        }
        ready.set(true);
        loading.set(false);
    });

    // Draft autosave: after every edit, once typing pauses.
    let generation = StoredValue::new(0u64);
    Effect::new({
        let scope = scope.clone();
        move |_| {
            let edits = form.edits.get();
            if edits == 0 {
                return;
            }
            page.dirty.set(true);
            let mine = generation.get_value() + 1;
            generation.set_value(mine);
            let scope = scope.clone();
            set_timeout(
                move || {
                    if generation.get_value() != mine || !page.dirty.get_untracked() {
                        return;
                    }
                    let key = page.draft_key();
                    let data = form.data.get_untracked();
                    scope.spawn(async move {
                        if let Err(e) = ipc::save_draft(&key, &data).await {
                            page.message
                                .set(Some((Tone::Error, format!("草稿未能保存：{}", e.message))));
                        }
                    });
                },
                std::time::Duration::from_millis(DRAFT_DELAY_MS),
            );
        }
    });

    let save = {
        let scope = scope.clone();
        move || {
            if page.busy.get_untracked() {
                return;
            }
            // A pending draft write is now pointless.
            generation.update_value(|g| *g += 1);
            let sent = form.data.get_untracked();
            let was_new = sent.case_id.is_none();
            page.busy.set(true);
            page.message.set(None);
            scope.spawn(async move {
                match ipc::save_case(&sent).await {
                    Ok(id) => {
                        if was_new {
                            let _ = ipc::discard_draft("new").await;
                        }
                        let _ = ipc::discard_draft(&id.to_string()).await;
                        page.case_id.set(Some(id));
                        // Reload so new rows get their ids (a second save must not add
                        // them again) and the hint, marks and signatures are current.
                        if let Ok(view) = ipc::get_case(id).await {
                            page.load(view);
                        }
                        page.dirty.set(false);
                        page.restored.set(false);
                        page.message.set(Some((Tone::Ok, "已保存".to_string())));
                    }
                    Err(e) => {
                        if e.code == ErrorCode::Validation {
                            form.errors.set(e.fields);
                        }
                        page.message.set(Some((Tone::Error, e.message)));
                    }
                }
                page.busy.set(false);
                state.refresh_sync();
            });
        }
    };

    let choose = {
        let scope = scope.clone();
        Callback::new(move |(path, value): (Vec<String>, String)| {
            let Some(case_id) = page.case_id.get_untracked() else {
                return;
            };
            if page.busy.get_untracked() {
                return;
            }
            page.busy.set(true);
            page.message.set(None);
            let req = ResolveRequest {
                case_id,
                path,
                value,
            };
            scope.spawn(async move {
                match ipc::resolve_conflict(&req).await {
                    Ok(view) => {
                        page.load(view);
                        page.message
                            .set(Some((Tone::Ok, "已采用所选的值".to_string())));
                    }
                    Err(e) => page.message.set(Some((Tone::Error, e.message))),
                }
                page.busy.set(false);
                state.refresh_sync();
            });
        })
    };

    let title = move || {
        if page.case_id.with(Option::is_some) {
            "入户调查表"
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
                    page.unsynced.get().then(|| view! { <span class="badge badge-unsynced">"未同步"</span> })
                }}
            </div>
            {move || {
                page.restored.get().then(|| {
                    view! { <p id="draft-restored" class="notice">"已恢复未保存的草稿"</p> }
                })
            }}
            {move || {
                if ready.get() {
                    form_body(page, save.clone(), choose, scope.clone()).into_any()
                } else if loading.get() {
                    view! { <p class="hint">"正在读取…"</p> }.into_any()
                } else {
                    // The case could not be read: offer no form that could overwrite it.
                    message_view(page).into_any()
                }
            }}
        </main>
    }
}

/// `#form-message`: the outcome of the last save or choice.
fn message_view(page: VisitPage) -> impl IntoView {
    move || {
        page.message.get().map(|(tone, text)| {
            let class = match tone {
                Tone::Ok => "form-message ok",
                Tone::Error => "form-message error",
            };
            view! { <p id="form-message" class=class role="status">{text}</p> }
        })
    }
}

/// A collapsible section with a big header to tap.
fn section(id: &'static str, title: &'static str, body: impl IntoView) -> impl IntoView {
    view! {
        <details id=id class="card section" open>
            <summary class="section-title">{title}</summary>
            <div class="section-body">{body}</div>
        </details>
    }
}

fn form_body(
    page: VisitPage,
    save: impl Fn() + Clone + 'static,
    choose: Callback<(Vec<String>, String)>,
    scope: PageScope,
) -> impl IntoView {
    let busy = Signal::derive(move || page.busy.get());
    let form = page.form;
    let save2 = save.clone();
    view! {
        <Conflicts conflicts=page.conflicts busy=busy on_choose=choose />
        {section("section-visit", "入户信息", visit_section(page, scope.clone()))}
        {section("section-applicant", "申请人", applicant_section(form))}
        {section("section-members", "家庭成员", members_section(form))}
        {section("section-income", "家庭收入", income_section(form))}
        {section("section-assets", "家庭财产", assets_section(form))}
        {section("section-expenses", "刚性支出", expenses_section(form))}
        {section("section-housing", "住房情况", housing_section(form))}
        {section("section-hardship", "致贫原因与申请救助", hardship_section(form))}
        {section("section-hint", "核算（参考提示）", hint_section(page))}
        {section("section-conclusion", "情况说明与调查结论", conclusion_section(form))}
        {section(
            "section-photos",
            "照片",
            view! { <Photos case_id=page.case_id photos=page.photos /> },
        )}
        {section("section-neighbours", "邻里访问", neighbours_section(page))}
        {section(
            "section-signatures",
            "签字确认",
            view! {
                <Signatures
                    case_id=page.case_id
                    photos=page.photos
                    signatures=page.signatures
                    missing=page.missing
                    dirty=page.dirty
                    signing=page.signing
                    applicant_name=Signal::derive(move || form.data.with(|f| f.applicant.name.clone()))
                    on_signed=Callback::new(move |_| {
                        page.message.set(Some((Tone::Ok, "已签字".to_string())));
                    })
                    on_refused=Callback::new(move |e: hecha_shared::app_api::AppError| {
                        if e.code == ErrorCode::Validation {
                            form.errors.set(e.fields.clone());
                        }
                        page.message.set(Some((Tone::Error, e.message)));
                    })
                    on_reload=Callback::new(move |_| page.reload(scope.clone()))
                />
            },
        )}
        <div class="form-actions">
            {message_view(page)}
            <button
                id="save-case"
                type="button"
                class="primary"
                disabled=move || page.busy.get()
                on:click=move |_| save2()
            >
                "保存"
            </button>
        </div>
    }
}

/// 开始入户 / 结束入户: times and position, from the device (never typed).
fn visit_section(page: VisitPage, scope: PageScope) -> impl IntoView {
    let form = page.form;
    let visit = Memo::new(move |_| form.data.with(|f| f.visit.clone()));
    let mark = move |start: bool| {
        let scope = scope.clone();
        move |_| {
            let at = now_ms();
            scope.spawn(async move {
                let pos = ipc::current_position().await.ok();
                form.edit(|f| {
                    if start {
                        f.visit.started_at = at;
                    } else {
                        f.visit.ended_at = at;
                    }
                    if let Some(p) = &pos {
                        // The start's position is the evidence; the end's fills in only
                        // when the start had none.
                        if start || f.visit.gps_status != "ok" {
                            f.visit.gps_status = p.status.clone();
                            f.visit.lat_e6 = p.lat_e6;
                            f.visit.lon_e6 = p.lon_e6;
                            f.visit.accuracy_m = p.accuracy_m;
                        }
                    }
                });
                page.gps
                    .set(pos.map(|p| p.message).filter(|m| !m.is_empty()));
            });
        }
    };
    let gps_text = move || {
        let v = visit.get();
        match v.gps_status.as_str() {
            "ok" => format!(
                "纬度 {}，经度 {}（精度约 {} 米）",
                degrees(v.lat_e6),
                degrees(v.lon_e6),
                v.accuracy_m
            ),
            "unavailable" => page
                .gps
                .get()
                .unwrap_or_else(|| "定位不可用（桌面设备）".to_string()),
            "denied" => "未获得定位权限".to_string(),
            _ => "未记录".to_string(),
        }
    };
    view! {
        <div class="visit-actions">
            <button id="visit-start" type="button" class="primary" on:click=mark(true)>
                "开始入户"
            </button>
            <button id="visit-end" type="button" class="secondary" on:click=mark(false)>
                "结束入户"
            </button>
        </div>
        <dl class="facts">
            <dt>"开始时间"</dt>
            <dd id="visit-started">{move || show_time(visit.get().started_at)}</dd>
            <dt>"结束时间"</dt>
            <dd id="visit-ended">{move || show_time(visit.get().ended_at)}</dd>
            <dt>"位置"</dt>
            <dd id="visit-gps">{gps_text}</dd>
        </dl>
        {move || {
            form.errors
                .with(|e| e.get("visit.started_at").map(str::to_string))
                .map(|m| view! { <span class="field-error" data-field="visit.started_at">{m}</span> })
        }}
    }
}

fn show_time(ms: i64) -> String {
    if ms <= 0 {
        "未记录".to_string()
    } else {
        local_time(ms)
    }
}

/// Birth date, sex and age read from an ID number (`None` while it is not valid).
fn id_facts(id: &str) -> Option<(String, &'static str, String)> {
    let (y, m, d) = today();
    let today = Date::new(u16::try_from(y).ok()?, m as u8, d as u8)?;
    let f = derive::id_facts(id, today)?;
    Some((
        f.birth_date.to_string(),
        f.sex.label_zh(),
        format!("{} 岁", f.age),
    ))
}

fn id_derived(id: Signal<String>, prefix: &'static str) -> impl IntoView {
    let facts = Memo::new(move |_| id.with(|s| id_facts(s)));
    let pick = move |which: usize| {
        Signal::derive(move || {
            facts.with(|f| match (f, which) {
                (Some(f), 0) => f.0.clone(),
                (Some(f), 1) => f.1.to_string(),
                (Some(f), _) => f.2.clone(),
                (None, _) => "—".to_string(),
            })
        })
    };
    let ids: [Option<&'static str>; 3] = match prefix {
        "applicant" => [
            Some("applicant-birth-date"),
            Some("applicant-sex"),
            Some("applicant-age"),
        ],
        _ => [None, None, None],
    };
    view! {
        <div class="derived-row">
            {derived("出生日期", ids[0], pick(0))}
            {derived("性别", ids[1], pick(1))}
            {derived("年龄", ids[2], pick(2))}
        </div>
    }
}

fn applicant_section(form: FormData) -> impl IntoView {
    let id = Signal::derive(move || form.data.with(|f| f.applicant.id_number.clone()));
    view! {
        <div class="grid">
            {text_input(form, Spec::new("姓名", "applicant.name").id("applicant-name"), TextKind::Plain, get!(applicant.name), set!(applicant.name))}
            {text_input(form, Spec::new("身份证号", "applicant.id_number").id("applicant-id-number"), TextKind::IdNumber, get!(applicant.id_number), set!(applicant.id_number))}
            {text_input(form, Spec::new("联系电话", "applicant.phone").id("applicant-phone"), TextKind::Tel, get!(applicant.phone), set!(applicant.phone))}
            {text_input(form, Spec::new("户籍地址", "applicant.registered_address").id("applicant-registered-address"), TextKind::Plain, get!(applicant.registered_address), set!(applicant.registered_address))}
            {text_input(form, Spec::new("现住址", "applicant.address").id("applicant-address"), TextKind::Plain, get!(applicant.address), set!(applicant.address))}
            {text_input(form, Spec::new("所在社区/村", "applicant.community").id("applicant-community"), TextKind::Plain, get!(applicant.community), set!(applicant.community))}
            {code_select(form, Spec::new("城乡类别", "applicant.area").id("applicant-area"), options!(Area), get!(applicant.area), set!(applicant.area))}
        </div>
        {id_derived(id, "applicant")}
    }
}

fn members_section(form: FormData) -> impl IntoView {
    // Re-render the rows only when which rows are shown changes, not on every keystroke.
    let shown = Memo::new(move |_| {
        form.data.with(|f| {
            f.members
                .iter()
                .enumerate()
                .filter(|(_, m)| !m.removed)
                .map(|(i, _)| i)
                .collect::<Vec<_>>()
        })
    });
    let size = Signal::derive(move || format!("{} 人", 1 + shown.with(Vec::len)));
    let add = move |_| {
        form.edit(|f| f.members.push(MemberForm::default()));
    };
    view! {
        <div class="members">
            {move || shown.get().into_iter().map(|i| member_row(form, i)).collect_view()}
        </div>
        <button id="add-member" type="button" class="secondary" on:click=add>
            "添加成员"
        </button>
        <div class="derived-row">{derived("家庭人口（含申请人）", Some("household-size"), size)}</div>
    }
}

fn member_row(form: FormData, i: usize) -> impl IntoView {
    let member_id = form
        .data
        .with_untracked(|f| f.members.get(i).and_then(|m| m.id).map(|id| id.to_string()));
    let remove = move |_| {
        // A member the case already has is flagged (a concurrent edit elsewhere is kept);
        // one added in this edit just goes.
        form.edit(|f| {
            let saved = f.members.get(i).map(|m| m.id.is_some()).unwrap_or(false);
            if saved {
                if let Some(m) = f.members.get_mut(i) {
                    m.removed = true;
                }
            } else if i < f.members.len() {
                f.members.remove(i);
            }
        });
        form.errors.set(FieldErrors::default());
    };
    let p = move |field: &str| format!("members.{i}.{field}");
    let relations: Options = Relation::ALL
        .into_iter()
        .map(|r| (r.code(), r.label_zh()))
        .collect();
    let id = Signal::derive(move || {
        form.data.with(|f| {
            f.members
                .get(i)
                .map(|m| m.id_number.clone())
                .unwrap_or_default()
        })
    });
    view! {
        <div class="member-row" data-member-id=member_id>
            <div class="grid">
                {text_input(form, Spec::new("姓名", p("name")).name("member-name"), TextKind::Plain, row_get!(members, i, name), row_set!(members, i, name))}
                {code_select(form, Spec::new("与申请人关系", p("relation")).name("member-relation"), relations, row_get!(members, i, relation), row_set!(members, i, relation))}
                {text_input(form, Spec::new("身份证号", p("id_number")).name("member-id-number"), TextKind::IdNumber, row_get!(members, i, id_number), row_set!(members, i, id_number))}
                {code_select(form, Spec::new("健康状况", p("health")).name("member-health"), options!(HealthStatus), row_get!(members, i, health), row_set!(members, i, health))}
                {code_select(form, Spec::new("残疾等级（如有）", p("disability_grade")).name("member-disability-grade"), options!(DisabilityGrade), row_get!(members, i, disability_grade), row_set!(members, i, disability_grade))}
                {code_select(form, Spec::new("劳动能力", p("labour")).name("member-labour"), options!(Labour), row_get!(members, i, labour), row_set!(members, i, labour))}
                {text_input(form, Spec::new("就业情况", p("employment")).name("member-employment"), TextKind::Plain, row_get!(members, i, employment), row_set!(members, i, employment))}
                {code_select(form, Spec::new("在学情况", p("schooling")).name("member-schooling"), options!(Schooling), row_get!(members, i, schooling), row_set!(members, i, schooling))}
                {code_select(form, Spec::new("婚姻状况", p("marital")).name("member-marital"), options!(Marital), row_get!(members, i, marital), row_set!(members, i, marital))}
            </div>
            {id_derived(id, "member")}
            <button type="button" class="member-remove danger" on:click=remove>
                "移除"
            </button>
        </div>
    }
}

fn income_section(form: FormData) -> impl IntoView {
    let shown = Memo::new(move |_| {
        form.data.with(|f| {
            f.income
                .iter()
                .enumerate()
                .filter(|(_, m)| !m.removed)
                .map(|(i, _)| i)
                .collect::<Vec<_>>()
        })
    });
    let add = move |_| {
        form.edit(|f| {
            f.income.push(IncomeForm {
                period: "monthly".to_string(),
                ..IncomeForm::default()
            })
        });
    };
    view! {
        <div class="income-items">
            {move || shown.get().into_iter().map(|i| income_row(form, i)).collect_view()}
        </div>
        <button id="add-income" type="button" class="secondary" on:click=add>
            "添加收入"
        </button>
    }
}

fn income_row(form: FormData, i: usize) -> impl IntoView {
    let p = move |field: &str| format!("income.{i}.{field}");
    let remove = move |_| {
        form.edit(|f| {
            let saved = f.income.get(i).map(|m| m.id.is_some()).unwrap_or(false);
            if saved {
                if let Some(m) = f.income.get_mut(i) {
                    m.removed = true;
                }
            } else if i < f.income.len() {
                f.income.remove(i);
            }
        });
        form.errors.set(FieldErrors::default());
    };
    view! {
        <div class="income-row">
            <div class="grid">
                {code_select(form, Spec::new("收入类别", p("category")).name("income-category"), options!(IncomeCategory), row_get!(income, i, category), row_set!(income, i, category))}
                {code_select(form, Spec::new("计算周期", p("period")).name("income-period"), options!(IncomePeriod), row_get!(income, i, period), row_set!(income, i, period))}
                {number_input(form, Spec::new("金额", p("amount_fen")).name("income-amount"), NumberKind::Yuan, row_get!(income, i, amount_fen), row_set!(income, i, amount_fen))}
                {text_input(form, Spec::new("说明", p("note")).name("income-note"), TextKind::Plain, row_get!(income, i, note), row_set!(income, i, note))}
            </div>
            <button type="button" class="income-remove danger" on:click=remove>
                "移除"
            </button>
        </div>
    }
}

fn assets_section(form: FormData) -> impl IntoView {
    view! {
        <div class="grid">
            {number_input(form, Spec::new("存款", "assets.deposits_fen").id("assets-deposits"), NumberKind::Yuan, get!(assets.deposits_fen), set!(assets.deposits_fen))}
            {number_input(form, Spec::new("房产（套）", "assets.houses_count").id("assets-houses-count"), NumberKind::Count, get!(assets.houses_count), set!(assets.houses_count))}
            {number_input(form, Spec::new("房产总面积", "assets.houses_area_m2x100").id("assets-houses-area"), NumberKind::SquareMetres, get!(assets.houses_area_m2x100), set!(assets.houses_area_m2x100))}
            {number_input(form, Spec::new("车辆（辆）", "assets.vehicles_count").id("assets-vehicles-count"), NumberKind::Count, get!(assets.vehicles_count), set!(assets.vehicles_count))}
            {number_input(form, Spec::new("车辆价值", "assets.vehicles_value_fen").id("assets-vehicles-value"), NumberKind::Yuan, get!(assets.vehicles_value_fen), set!(assets.vehicles_value_fen))}
            {number_input(form, Spec::new("有价证券", "assets.securities_fen").id("assets-securities"), NumberKind::Yuan, get!(assets.securities_fen), set!(assets.securities_fen))}
            {number_input(form, Spec::new("商业保险", "assets.insurance_fen").id("assets-insurance"), NumberKind::Yuan, get!(assets.insurance_fen), set!(assets.insurance_fen))}
            {number_input(form, Spec::new("经营性资产", "assets.business_assets_fen").id("assets-business"), NumberKind::Yuan, get!(assets.business_assets_fen), set!(assets.business_assets_fen))}
            {text_input(form, Spec::new("财产说明", "assets.note").id("assets-note"), TextKind::Plain, get!(assets.note), set!(assets.note))}
        </div>
    }
}

fn expenses_section(form: FormData) -> impl IntoView {
    view! {
        <div class="grid">
            {number_input(form, Spec::new("医疗支出（每年）", "expenses.medical_fen_annual").id("expenses-medical"), NumberKind::Yuan, get!(expenses.medical_fen_annual), set!(expenses.medical_fen_annual))}
            {number_input(form, Spec::new("教育支出（每年）", "expenses.education_fen_annual").id("expenses-education"), NumberKind::Yuan, get!(expenses.education_fen_annual), set!(expenses.education_fen_annual))}
            {number_input(form, Spec::new("其他刚性支出（每年）", "expenses.other_fen_annual").id("expenses-other"), NumberKind::Yuan, get!(expenses.other_fen_annual), set!(expenses.other_fen_annual))}
            {text_input(form, Spec::new("支出说明", "expenses.note").id("expenses-note"), TextKind::Plain, get!(expenses.note), set!(expenses.note))}
        </div>
    }
}

fn housing_section(form: FormData) -> impl IntoView {
    view! {
        <div class="grid">
            {code_select(form, Spec::new("住房类型", "housing.kind").id("housing-kind"), options!(HousingKind), get!(housing.kind), set!(housing.kind))}
            {number_input(form, Spec::new("住房面积", "housing.area_m2x100").id("housing-area"), NumberKind::SquareMetres, get!(housing.area_m2x100), set!(housing.area_m2x100))}
            {code_select(form, Spec::new("房屋状况", "housing.condition").id("housing-condition"), options!(HousingCondition), get!(housing.condition), set!(housing.condition))}
            {text_input(form, Spec::new("住房说明", "housing.note").id("housing-note"), TextKind::Plain, get!(housing.note), set!(housing.note))}
        </div>
    }
}

fn hardship_section(form: FormData) -> impl IntoView {
    view! {
        {checkbox_set(form, Spec::new("致贫原因", "hardship").id("hardship").name("hardship"), options!(HardshipCause), get!(hardship), set!(hardship))}
        {checkbox_set(form, Spec::new("申请救助类型", "assistance").id("assistance").name("assistance"), options!(AssistanceType), get!(assistance), set!(assistance))}
    }
}

/// The record as a document, built from the form on this device only to compute derived
/// values with `hecha_shared` (nothing is stored from it).
fn live_doc(form: &CaseForm, unit: &UnitId) -> CaseDoc {
    let case_id = form
        .case_id
        .unwrap_or_else(|| CaseId::from_random_bytes([0; 16]));
    let mut doc = CaseDoc::new_case(case_id, unit, 0);
    let mut n: u64 = 0;
    form.apply_to(&mut doc, 0, || {
        n += 1;
        let mut bytes = [0u8; 16];
        bytes[8..].copy_from_slice(&n.to_be_bytes());
        MemberId::from_random_bytes(bytes)
    });
    doc
}

/// Per-capita income against the 低保 standard: computed live from the form with the
/// standards the core cached, else the core's hint at the last save. A hint with its
/// reasons, never a decision.
fn hint_section(page: VisitPage) -> impl IntoView {
    let state = expect_context::<AppState>();
    let form = page.form;
    let doc = Memo::new(move |_| {
        let unit = state.session.with(|s| s.as_ref().map(|s| s.unit.clone()))?;
        Some(form.data.with(|f| live_doc(f, &unit)))
    });
    let per_capita = Signal::derive(move || {
        doc.with(|d| match d {
            Some(d) => format!(
                "{} 元/月",
                hecha_shared::money::format_fen(derive::per_capita_monthly_income_fen(d))
            ),
            None => "—".to_string(),
        })
    });
    let shown = Memo::new(move |_| {
        let live = page.standards.with(|st| {
            let st = st.as_ref()?;
            doc.with(|d| {
                let d = d.as_ref()?;
                let when = if d.visit.started_at > 0 {
                    d.visit.started_at
                } else {
                    now_ms()
                };
                let year = derive::china_date_of_ms(when).map(|d| i32::from(d.year))?;
                Some(hint(d, st, year))
            })
        });
        live.or_else(|| page.hint.get())
    });
    view! {
        <div class="derived-row">{derived("家庭人均月收入", Some("per-capita-income"), per_capita)}</div>
        <div id="dibao-hint" class="hint-box">
            <p class="hint-label">"参考提示，非审批结论"</p>
            {move || match shown.get() {
                None => view! { <p class="hint">"暂无低保标准（同步后从服务器获取），无法比较。"</p> }.into_any(),
                Some(h) => {
                    let verdict = match h.below_standard {
                        Some(true) => "人均收入低于当地低保标准",
                        Some(false) => "人均收入不低于当地低保标准",
                        None => "无法比较（缺少标准或城乡类别）",
                    };
                    let standard = h.standard.as_ref().map(|s| {
                        format!(
                            "{}年{}低保标准：{} 元/月",
                            s.year,
                            s.area.label_zh(),
                            hecha_shared::money::format_fen(s.monthly_fen)
                        )
                    });
                    view! {
                        <p class="hint-verdict">{verdict}</p>
                        {standard.map(|s| view! { <p class="hint-standard">{s}</p> })}
                        <ul class="hint-reasons">
                            {h.reasons_zh.into_iter().map(|r| view! { <li>{r}</li> }).collect_view()}
                        </ul>
                    }
                        .into_any()
                }
            }}
        </div>
    }
}

fn conclusion_section(form: FormData) -> impl IntoView {
    view! {
        {text_area(form, Spec::new("家庭情况说明", "narrative").id("narrative"), get!(narrative), set!(narrative))}
        <div class="grid">
            {code_select(form, Spec::new("调查意见", "conclusion.opinion").id("conclusion-opinion"), options!(ConclusionOpinion), get!(conclusion.opinion), set!(conclusion.opinion))}
        </div>
        {text_area(form, Spec::new("调查结论", "conclusion.text").id("conclusion-text"), get!(conclusion.text), set!(conclusion.text))}
    }
}

fn neighbours_section(page: VisitPage) -> impl IntoView {
    let form = page.form;
    let shown = Memo::new(move |_| {
        form.data.with(|f| {
            f.neighbour_visits
                .iter()
                .enumerate()
                .filter(|(_, m)| !m.removed)
                .map(|(i, _)| i)
                .collect::<Vec<_>>()
        })
    });
    let add = move |_| {
        form.edit(|f| {
            f.neighbour_visits.push(NeighbourVisitForm {
                visited_at: now_ms(),
                ..NeighbourVisitForm::default()
            })
        });
    };
    view! {
        <div class="neighbour-visits">
            {move || shown.get().into_iter().map(|i| neighbour_row(page, i)).collect_view()}
        </div>
        <button id="add-neighbour-visit" type="button" class="secondary" on:click=add>
            "添加邻里访问"
        </button>
    }
}

fn neighbour_row(page: VisitPage, i: usize) -> impl IntoView {
    let form = page.form;
    let p = move |field: &str| format!("neighbour_visits.{i}.{field}");
    let visit_id = form.data.with_untracked(|f| {
        f.neighbour_visits
            .get(i)
            .and_then(|v| v.id)
            .map(|id| id.to_string())
    });
    let remove = move |_| {
        form.edit(|f| {
            let saved = f
                .neighbour_visits
                .get(i)
                .map(|m| m.id.is_some())
                .unwrap_or(false);
            if saved {
                if let Some(m) = f.neighbour_visits.get_mut(i) {
                    m.removed = true;
                }
            } else if i < f.neighbour_visits.len() {
                f.neighbour_visits.remove(i);
            }
        });
        form.errors.set(FieldErrors::default());
    };
    let sign = {
        let visit_id = visit_id.clone();
        move |_| {
            let name = form.data.with_untracked(|f| {
                f.neighbour_visits
                    .get(i)
                    .map(|v| v.name.clone())
                    .unwrap_or_default()
            });
            page.signing.set(Some(SignTarget {
                role: "neighbour".to_string(),
                signer_name: name,
                neighbour_visit: visit_id.clone(),
            }));
        }
    };
    let by = form.data.with_untracked(|f| {
        f.neighbour_visits
            .get(i)
            .map(|v| v.by_name.clone())
            .filter(|n| !n.is_empty())
    });
    let saved = visit_id.is_some();
    view! {
        <div class="neighbour-visit" data-visit-id=visit_id>
            <div class="grid">
                {text_input(form, Spec::new("邻居姓名", p("name")).name("neighbour-name"), TextKind::Plain, row_get!(neighbour_visits, i, name), row_set!(neighbour_visits, i, name))}
                {text_input(form, Spec::new("关系或住址", p("relation_or_address")).name("neighbour-relation"), TextKind::Plain, row_get!(neighbour_visits, i, relation_or_address), row_set!(neighbour_visits, i, relation_or_address))}
                {datetime_input(form, Spec::new("访问时间", p("visited_at")).name("neighbour-time"), row_get!(neighbour_visits, i, visited_at), row_set!(neighbour_visits, i, visited_at))}
            </div>
            {text_area(form, Spec::new("邻居陈述", p("statement")).name("neighbour-statement"), row_get!(neighbour_visits, i, statement), row_set!(neighbour_visits, i, statement))}
            {by.map(|n| view! { <p class="hint">{format!("访问人：{n}")}</p> })}
            <div class="row-actions">
                {if saved {
                    view! {
                        <button type="button" class="neighbour-sign secondary" on:click=sign>
                            "邻居签字"
                        </button>
                    }
                        .into_any()
                } else {
                    view! { <span class="hint">"保存后可请邻居签字"</span> }.into_any()
                }}
                <button type="button" class="neighbour-remove danger" on:click=remove>
                    "移除"
                </button>
            </div>
        </div>
    }
}
