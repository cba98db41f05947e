//! One household member in the case form: name, relation, ID number and 移除.

use hecha_shared::case::{FieldErrors, MemberForm};
use hecha_shared::MemberId;
use leptos::prelude::*;

use crate::components::field::{RelationField, TextField};

/// A member as the form edits it. `key` is local to this page (stable while editing);
/// `id` is the member's id in the case, `None` until the case is saved.
#[derive(Debug, Clone, Copy)]
pub struct MemberRow {
    pub key: u32,
    pub id: Option<MemberId>,
    pub name: RwSignal<String>,
    pub relation: RwSignal<String>,
    pub id_number: RwSignal<String>,
    /// Removal is a flag kept in the case, so a concurrent edit elsewhere is not lost.
    pub removed: RwSignal<bool>,
}

impl MemberRow {
    pub fn new(key: u32, form: MemberForm) -> Self {
        Self {
            key,
            id: form.id,
            name: RwSignal::new(form.name),
            relation: RwSignal::new(form.relation),
            id_number: RwSignal::new(form.id_number),
            removed: RwSignal::new(form.removed),
        }
    }

    pub fn to_form(self) -> MemberForm {
        MemberForm {
            id: self.id,
            name: self.name.get_untracked(),
            relation: self.relation.get_untracked(),
            id_number: self.id_number.get_untracked(),
            removed: self.removed.get_untracked(),
            ..Default::default()
        }
    }
}

/// `index` is the member's position in the form the core last validated (`members.<index>`
/// in error paths), `None` for a member added since.
#[component]
pub fn MemberRowView(
    row: MemberRow,
    #[prop(into)] index: Signal<Option<usize>>,
    errors: RwSignal<FieldErrors>,
    on_remove: Callback<u32>,
) -> impl IntoView {
    let path = move |field: &'static str| {
        Signal::derive(move || index.get().map(|i| format!("members.{i}.{field}")))
    };
    view! {
        <div class="member-row" data-member-id=row.id.map(|id| id.to_string())>
            <TextField label="姓名" name="member-name" value=row.name errors=errors path=path("name") />
            <RelationField value=row.relation errors=errors path=path("relation") />
            <TextField
                label="身份证号"
                name="member-id-number"
                value=row.id_number
                errors=errors
                path=path("id_number")
                placeholder="可不填"
            />
            <button
                type="button"
                class="member-remove danger"
                on:click=move |_| on_remove.run(row.key)
            >
                "移除"
            </button>
        </div>
    }
}
