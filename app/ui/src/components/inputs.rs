//! Inputs bound to one field of the case form held in a single signal ([`FormData`]): text,
//! long text, code selects, checkbox sets, money in 元, areas in m², counts and local
//! date-times. Each shows its label and, right after the input, the core's message for that
//! field (`.field-error[data-field=<path>]`). What the person typed is never cleared here.

use hecha_shared::case::{CaseForm, FieldErrors};
use leptos::prelude::*;

/// The form being edited: the whole [`CaseForm`] in one signal, a count of the person's
/// edits (the draft autosave follows it, not loads), and the core's last field messages.
#[derive(Clone, Copy)]
pub struct FormData {
    pub data: RwSignal<CaseForm>,
    pub edits: RwSignal<u64>,
    pub errors: RwSignal<FieldErrors>,
}

impl FormData {
    pub fn new() -> Self {
        Self {
            data: RwSignal::new(CaseForm::default()),
            edits: RwSignal::new(0),
            errors: RwSignal::new(FieldErrors::default()),
        }
    }

    /// A change the person made: applied, and counted for the autosave.
    pub fn edit(self, change: impl FnOnce(&mut CaseForm)) {
        self.data.update(change);
        self.edits.update(|n| *n += 1);
    }

    /// The core's message for `path`, if any.
    pub fn error(self, path: String) -> Signal<Option<String>> {
        let errors = self.errors;
        Signal::derive(move || errors.with(|e| e.get(&path).map(str::to_string)))
    }
}

/// `.field-error[data-field=path]`: the core's message, else a local one (e.g. an amount
/// that does not parse).
fn error_view(
    path: String,
    core: Signal<Option<String>>,
    local: Signal<Option<String>>,
) -> impl IntoView {
    move || {
        local.get().or_else(|| core.get()).map(|msg| {
            view! { <span class="field-error" data-field=path.clone() role="alert">{msg}</span> }
        })
    }
}

/// Options of a code list: `(code, Chinese label)`.
pub type Options = Vec<(&'static str, &'static str)>;

/// The common look of one labelled field.
pub struct Spec {
    pub label: &'static str,
    /// The field's path in [`FieldErrors`] (`applicant.name`, `members.0.health`…).
    pub path: String,
    pub id: Option<&'static str>,
    pub name: Option<&'static str>,
}

impl Spec {
    pub fn new(label: &'static str, path: impl Into<String>) -> Self {
        Self {
            label,
            path: path.into(),
            id: None,
            name: None,
        }
    }

    pub fn id(mut self, id: &'static str) -> Self {
        self.id = Some(id);
        self
    }

    pub fn name(mut self, name: &'static str) -> Self {
        self.name = Some(name);
        self
    }
}

/// What kind of text an input takes (keyboard and type on phones).
#[derive(Clone, Copy)]
pub enum TextKind {
    Plain,
    Tel,
    IdNumber,
}

/// A one-line text input.
pub fn text_input<G, S>(form: FormData, spec: Spec, kind: TextKind, get: G, set: S) -> impl IntoView
where
    G: Fn(&CaseForm) -> String + Send + Sync + 'static,
    S: Fn(&mut CaseForm, String) + Copy + Send + Sync + 'static,
{
    let core = form.error(spec.path.clone());
    let has_error = move || core.with(Option::is_some);
    let (input_type, inputmode, placeholder) = match kind {
        TextKind::Plain => ("text", None, None),
        TextKind::Tel => ("tel", Some("tel"), None),
        TextKind::IdNumber => ("text", None, Some("18位，末位可为X")),
    };
    view! {
        <label class="field" class:has-error=has_error>
            <span class="field-label">{spec.label}</span>
            <input
                id=spec.id
                name=spec.name
                type=input_type
                inputmode=inputmode
                placeholder=placeholder
                autocomplete="off"
                aria-invalid=move || if has_error() { "true" } else { "false" }
                prop:value=move || form.data.with(&get)
                on:input=move |ev| {
                    let v = event_target_value(&ev);
                    form.edit(|f| set(f, v));
                }
                // WebDriver's "clear" and some IMEs only send `change`.
                on:change=move |ev| {
                    let v = event_target_value(&ev);
                    form.edit(|f| set(f, v));
                }
            />
            {error_view(spec.path, core, Signal::stored(None))}
        </label>
    }
}

/// A multi-line text (statements, narrative, notes).
pub fn text_area<G, S>(form: FormData, spec: Spec, get: G, set: S) -> impl IntoView
where
    G: Fn(&CaseForm) -> String + Send + Sync + 'static,
    S: Fn(&mut CaseForm, String) + Copy + Send + Sync + 'static,
{
    let core = form.error(spec.path.clone());
    let has_error = move || core.with(Option::is_some);
    view! {
        <label class="field field-wide" class:has-error=has_error>
            <span class="field-label">{spec.label}</span>
            <textarea
                id=spec.id
                name=spec.name
                rows="4"
                prop:value=move || form.data.with(&get)
                on:input=move |ev| {
                    let v = event_target_value(&ev);
                    form.edit(|f| set(f, v));
                }
                on:change=move |ev| {
                    let v = event_target_value(&ev);
                    form.edit(|f| set(f, v));
                }
            ></textarea>
            {error_view(spec.path, core, Signal::stored(None))}
        </label>
    }
}

/// A select of codes with Chinese labels; empty until chosen.
pub fn code_select<G, S>(
    form: FormData,
    spec: Spec,
    options: Options,
    get: G,
    set: S,
) -> impl IntoView
where
    G: Fn(&CaseForm) -> String + Copy + Send + Sync + 'static,
    S: Fn(&mut CaseForm, String) + Copy + Send + Sync + 'static,
{
    let core = form.error(spec.path.clone());
    let has_error = move || core.with(Option::is_some);
    let current = Memo::new(move |_| form.data.with(get));
    view! {
        <label class="field" class:has-error=has_error>
            <span class="field-label">{spec.label}</span>
            <select
                id=spec.id
                name=spec.name
                aria-invalid=move || if has_error() { "true" } else { "false" }
                prop:value=move || current.get()
                on:change=move |ev| {
                    let v = event_target_value(&ev);
                    form.edit(|f| set(f, v));
                }
            >
                <option value="" selected=move || current.with(String::is_empty)>
                    "请选择"
                </option>
                {options
                    .into_iter()
                    .map(|(code, label)| {
                        view! {
                            <option value=code selected=move || current.with(|v| v == code)>
                                {label}
                            </option>
                        }
                    })
                    .collect_view()}
            </select>
            {error_view(spec.path, core, Signal::stored(None))}
        </label>
    }
}

/// A set of checkboxes over a code list (hardship causes, assistance types): `get` gives
/// the chosen codes, `set` receives the new set in the list's order.
pub fn checkbox_set<G, S>(
    form: FormData,
    spec: Spec,
    options: Options,
    get: G,
    set: S,
) -> impl IntoView
where
    G: Fn(&CaseForm) -> Vec<String> + Copy + Send + Sync + 'static,
    S: Fn(&mut CaseForm, Vec<String>) + Copy + Send + Sync + 'static,
{
    let core = form.error(spec.path.clone());
    let has_error = move || core.with(Option::is_some);
    let chosen = Memo::new(move |_| form.data.with(get));
    let all: Vec<&'static str> = options.iter().map(|(c, _)| *c).collect();
    view! {
        <fieldset class="field field-wide checkbox-set" id=spec.id class:has-error=has_error>
            <legend class="field-label">{spec.label}</legend>
            <div class="checks">
                {options
                    .into_iter()
                    .map(|(code, label)| {
                        let all = all.clone();
                        view! {
                            <label class="check">
                                <input
                                    type="checkbox"
                                    name=spec.name
                                    value=code
                                    prop:checked=move || chosen.with(|c| c.iter().any(|x| x == code))
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        let mut now = chosen.get_untracked();
                                        now.retain(|x| x != code);
                                        if on {
                                            now.push(code.to_string());
                                        }
                                        // Keep the list's own order.
                                        now.sort_by_key(|x| all.iter().position(|c| c == x));
                                        form.edit(|f| set(f, now));
                                    }
                                />
                                <span>{label}</span>
                            </label>
                        }
                    })
                    .collect_view()}
            </div>
            {error_view(spec.path, core, Signal::stored(None))}
        </fieldset>
    }
}

/// How a number field reads and writes its text.
#[derive(Clone, Copy)]
pub enum NumberKind {
    /// 元 with up to two decimals, held as integer fen.
    Yuan,
    /// m² with up to two decimals, held as integer hundredths.
    SquareMetres,
    /// A whole count.
    Count,
}

impl NumberKind {
    fn parse(self, text: &str) -> Result<i64, String> {
        let t = text.trim();
        if t.is_empty() {
            return Ok(0);
        }
        match self {
            NumberKind::Yuan => hecha_shared::money::parse_yuan(t).map_err(|e| e.message_zh()),
            NumberKind::SquareMetres => hecha_shared::money::parse_m2(t)
                .map_err(|_| "面积格式不正确（如 65 或 65.5）".to_string()),
            NumberKind::Count => t.parse::<i64>().map_err(|_| "请填写整数".to_string()),
        }
    }

    fn format(self, value: i64) -> String {
        match (self, value) {
            (_, 0) => String::new(),
            (NumberKind::Yuan, v) => hecha_shared::money::format_fen(v),
            (NumberKind::SquareMetres, v) => hecha_shared::money::format_m2x100(v),
            (NumberKind::Count, v) => v.to_string(),
        }
    }

    fn unit(self) -> &'static str {
        match self {
            NumberKind::Yuan => "元",
            NumberKind::SquareMetres => "m²",
            NumberKind::Count => "",
        }
    }
}

/// A number typed as text (元, m², a count) and held as an integer: the text stays as
/// typed; a text that does not parse is explained and leaves the held value alone.
pub fn number_input<G, S>(
    form: FormData,
    spec: Spec,
    kind: NumberKind,
    get: G,
    set: S,
) -> impl IntoView
where
    G: Fn(&CaseForm) -> i64 + Copy + Send + Sync + 'static,
    S: Fn(&mut CaseForm, i64) + Copy + Send + Sync + 'static,
{
    let core = form.error(spec.path.clone());
    let held = Memo::new(move |_| form.data.with(get));
    let text = RwSignal::new(kind.format(held.get_untracked()));
    let local = RwSignal::new(None::<String>);
    // A value loaded from the core (or restored from a draft) replaces the text, unless
    // the text already means that value.
    Effect::new(move |_| {
        let value = held.get();
        if kind.parse(&text.get_untracked()) != Ok(value) {
            text.set(kind.format(value));
            local.set(None);
        }
    });
    let on_text = move |v: String| {
        match kind.parse(&v) {
            Ok(n) => {
                local.set(None);
                if n != held.get_untracked() {
                    form.edit(|f| set(f, n));
                }
            }
            Err(msg) => local.set(Some(msg)),
        }
        text.set(v);
    };
    let has_error = move || local.with(Option::is_some) || core.with(Option::is_some);
    let inputmode = match kind {
        NumberKind::Count => "numeric",
        _ => "decimal",
    };
    view! {
        <label class="field" class:has-error=has_error>
            <span class="field-label">{spec.label}</span>
            <span class="with-unit">
                <input
                    id=spec.id
                    name=spec.name
                    type="text"
                    inputmode=inputmode
                    autocomplete="off"
                    aria-invalid=move || if has_error() { "true" } else { "false" }
                    prop:value=move || text.get()
                    on:input=move |ev| on_text(event_target_value(&ev))
                    on:change=move |ev| on_text(event_target_value(&ev))
                />
                <span class="unit">{kind.unit()}</span>
            </span>
            {error_view(spec.path, core, local.into())}
        </label>
    }
}

/// A local date and time (`<input type=datetime-local>`), held as ms since the epoch
/// (0 = not set).
pub fn datetime_input<G, S>(form: FormData, spec: Spec, get: G, set: S) -> impl IntoView
where
    G: Fn(&CaseForm) -> i64 + Copy + Send + Sync + 'static,
    S: Fn(&mut CaseForm, i64) + Copy + Send + Sync + 'static,
{
    let core = form.error(spec.path.clone());
    let has_error = move || core.with(Option::is_some);
    view! {
        <label class="field" class:has-error=has_error>
            <span class="field-label">{spec.label}</span>
            <input
                id=spec.id
                name=spec.name
                type="datetime-local"
                prop:value=move || crate::format::datetime_local(form.data.with(get))
                on:change=move |ev| {
                    let ms = crate::format::parse_datetime_local(&event_target_value(&ev));
                    form.edit(|f| set(f, ms));
                }
            />
            {error_view(spec.path, core, Signal::stored(None))}
        </label>
    }
}

/// A read-only derived value (birth date from the ID number, household size…).
pub fn derived(
    label: &'static str,
    id: Option<&'static str>,
    value: Signal<String>,
) -> impl IntoView {
    view! {
        <div class="field derived">
            <span class="field-label">{label}</span>
            <output id=id class="derived-value">{move || value.get()}</output>
        </div>
    }
}
