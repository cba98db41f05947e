//! The case document: one household's file, stored as one Automerge document.
//!
//! The Rust structs here are mapped onto Automerge with `autosurgeon`. Rules that keep
//! offline merges lossless (Architecture Invariants, tested below):
//! - every nested map is created once, when the case is created (`new_case`), so two
//!   devices never create the same object concurrently (one would silently win);
//! - household members live in a map keyed by their `MemberId` and are never deleted:
//!   removing one sets `removed`, so a concurrent edit of a removed member survives;
//! - free text is a scalar string, never Automerge `Text`: concurrent edits of one field
//!   then surface as a conflict instead of interleaving characters;
//! - a save writes only the fields that differ from what the document shows (`write`),
//!   so an untouched conflicting field keeps all its values;
//! - integers are `i64` (Automerge `Int`); money is integer fen.

mod conflicts;
mod doc;
mod form;
mod write;

use std::collections::BTreeMap;

use autosurgeon::Hydrate;
use serde::{Deserialize, Serialize};

pub use conflicts::{
    conflicts, field_label_zh, relation_label, resolve_conflict, ConflictValue, FieldConflict,
};
pub use doc::{
    create_document, is_empty, load_document, read_case, write_case, CaseDocError, ChangeNote,
};
pub use form::{validate_form, ApplicantForm, CaseForm, FieldErrors, MemberForm};

use crate::ids::{CaseId, UnitId};

/// Version of the document schema written into each case.
pub const SCHEMA_VERSION: i64 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Hydrate)]
pub struct CaseDoc {
    pub schema: i64,
    pub case_id: String,
    /// The unit the case was created in, as the creating device believed. The server's
    /// own envelope (not this field) decides the case's unit.
    pub unit: String,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    pub status: String,
    pub applicant: Applicant,
    pub members: BTreeMap<String, Member>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, Hydrate)]
pub struct Applicant {
    pub name: String,
    pub id_number: String,
    pub phone: String,
    pub address: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Hydrate)]
pub struct Member {
    pub name: String,
    /// A [`Relation`] code.
    pub relation: String,
    pub id_number: String,
    /// Milliseconds since the Unix epoch; orders members as they were added.
    pub added_at: i64,
    pub removed: bool,
}

impl CaseDoc {
    /// A new, empty case with every nested object present.
    pub fn new_case(case_id: CaseId, unit: &UnitId, now_ms: i64) -> Self {
        Self {
            schema: SCHEMA_VERSION,
            case_id: case_id.to_string(),
            unit: unit.to_string(),
            created_at: now_ms,
            status: CaseStatus::Applied.code().to_string(),
            applicant: Applicant::default(),
            members: BTreeMap::new(),
        }
    }

    /// Members not flagged as removed, in the order they were added.
    pub fn active_members(&self) -> Vec<(&String, &Member)> {
        let mut list: Vec<_> = self.members.iter().filter(|(_, m)| !m.removed).collect();
        list.sort_by(|a, b| a.1.added_at.cmp(&b.1.added_at).then(a.0.cmp(b.0)));
        list
    }

    /// Household size: the applicant plus every member not removed.
    pub fn household_size(&self) -> u32 {
        1 + self.members.values().filter(|m| !m.removed).count() as u32
    }
}

/// Where a case stands: the lifecycle's state (codes, Chinese labels and the rules live
/// in [`crate::lifecycle`]). The document's `status` field holds its code.
pub use crate::lifecycle::LifecycleState as CaseStatus;

/// A household member's relation to the applicant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Relation {
    Spouse,
    Child,
    Parent,
    Sibling,
    Grandchild,
    Grandparent,
    ChildInLaw,
    Other,
}

impl Relation {
    pub const ALL: [Relation; 8] = [
        Relation::Spouse,
        Relation::Child,
        Relation::Parent,
        Relation::Sibling,
        Relation::Grandchild,
        Relation::Grandparent,
        Relation::ChildInLaw,
        Relation::Other,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Relation::Spouse => "spouse",
            Relation::Child => "child",
            Relation::Parent => "parent",
            Relation::Sibling => "sibling",
            Relation::Grandchild => "grandchild",
            Relation::Grandparent => "grandparent",
            Relation::ChildInLaw => "child_in_law",
            Relation::Other => "other",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Relation::Spouse => "配偶",
            Relation::Child => "子女",
            Relation::Parent => "父母",
            Relation::Sibling => "兄弟姐妹",
            Relation::Grandchild => "孙子女",
            Relation::Grandparent => "祖父母",
            Relation::ChildInLaw => "儿媳/女婿",
            Relation::Other => "其他",
        }
    }
}
