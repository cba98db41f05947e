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

mod codes;
mod conflicts;
pub mod derive;
pub(crate) mod doc;
mod form;
pub mod lifecycle_doc;
mod write;

use std::collections::BTreeMap;

use autosurgeon::Hydrate;
use serde::{Deserialize, Serialize};

pub use codes::{
    Area, AssistanceType, ConclusionOpinion, DisabilityGrade, DiscoveryKind, GpsStatus,
    HardshipCause, HealthStatus, HousingCondition, HousingKind, IncomeCategory, IncomePeriod,
    Labour, Marital, Origin, Schooling,
};
pub use conflicts::{
    conflicts, field_label_zh, relation_label, resolve_conflict, value_label_zh, ConflictValue,
    FieldConflict,
};
pub use doc::{
    create_document, is_empty, load_document, read_case, write_case, CaseDocError, ChangeNote,
};
pub use form::{
    validate_for_signing, validate_form, ApplicantForm, CaseForm, FieldErrors, IncomeForm,
    MemberForm, NeighbourVisitForm, MAX_AMOUNT_FEN,
};

use crate::ids::{CaseId, UnitId};
use crate::photo::PhotoRef;

/// Version of the document schema written into each case. Version 1 documents (applicant
/// name/ID/phone/address and members only) read with every later section at its default;
/// the first save writes the missing sections (see [`CaseDoc`]).
pub const SCHEMA_VERSION: i64 = 2;

/// One household's case as the Automerge document holds it (field names are the keys).
///
/// Every field added in schema 2 reads as its default when a version 1 document lacks it
/// (`#[autosurgeon(missing)]` and `#[serde(default)]`). Beside these fields the document's
/// root holds `signatures` (see [`crate::signature::put_record`]) and `lifecycle`, written
/// by their own modules, never through this struct.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Hydrate)]
pub struct CaseDoc {
    pub schema: i64,
    pub case_id: String,
    /// The unit the case was created in, as the creating device believed. The server's
    /// own envelope (not this field) decides the case's unit.
    pub unit: String,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    /// The lifecycle state's code (denormalised; see [`crate::lifecycle`]).
    pub status: String,
    /// An [`Origin`] code; `""` in version 1 documents (read as an application).
    #[serde(default)]
    #[autosurgeon(missing = "Default::default")]
    pub origin: String,
    pub applicant: Applicant,
    pub members: BTreeMap<String, Member>,
    /// Income items keyed by a fresh id; never deleted (`removed`).
    #[serde(default)]
    #[autosurgeon(missing = "Default::default")]
    pub income: BTreeMap<String, IncomeItem>,
    #[serde(default)]
    #[autosurgeon(missing = "Default::default")]
    pub assets: Assets,
    #[serde(default)]
    #[autosurgeon(missing = "Default::default")]
    pub expenses: Expenses,
    #[serde(default)]
    #[autosurgeon(missing = "Default::default")]
    pub housing: Housing,
    /// [`HardshipCause`] code → chosen (unchoosing writes `false`, so choices merge).
    #[serde(default)]
    #[autosurgeon(missing = "Default::default")]
    pub hardship: BTreeMap<String, bool>,
    /// [`AssistanceType`] code → chosen.
    #[serde(default)]
    #[autosurgeon(missing = "Default::default")]
    pub assistance: BTreeMap<String, bool>,
    /// The investigators' account of the household (家庭情况说明).
    #[serde(default)]
    #[autosurgeon(missing = "Default::default")]
    pub narrative: String,
    #[serde(default)]
    #[autosurgeon(missing = "Default::default")]
    pub conclusion: Conclusion,
    #[serde(default)]
    #[autosurgeon(missing = "Default::default")]
    pub visit: Visit,
    /// Used when `origin` is `discovery`.
    #[serde(default)]
    #[autosurgeon(missing = "Default::default")]
    pub discovery: Discovery,
    /// Photo references keyed by the full image's SHA-256; never deleted (`removed`).
    #[serde(default)]
    #[autosurgeon(missing = "Default::default")]
    pub photos: BTreeMap<String, PhotoRef>,
    /// Neighbour visits keyed by a fresh id; never deleted (`removed`).
    #[serde(default)]
    #[autosurgeon(missing = "Default::default")]
    pub neighbour_visits: BTreeMap<String, NeighbourVisit>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, Hydrate)]
pub struct Applicant {
    pub name: String,
    pub id_number: String,
    pub phone: String,
    /// 户籍地址 (schema 2).
    #[serde(default)]
    #[autosurgeon(missing = "Default::default")]
    pub registered_address: String,
    /// 现住址.
    pub address: String,
    /// 社区/村 (schema 2).
    #[serde(default)]
    #[autosurgeon(missing = "Default::default")]
    pub community: String,
    /// An [`Area`] code (schema 2).
    #[serde(default)]
    #[autosurgeon(missing = "Default::default")]
    pub area: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, Hydrate)]
pub struct Member {
    pub name: String,
    /// A [`Relation`] code.
    pub relation: String,
    pub id_number: String,
    /// A [`HealthStatus`] code (schema 2, as are the fields below up to `added_at`).
    #[serde(default)]
    #[autosurgeon(missing = "Default::default")]
    pub health: String,
    /// `""` or a [`DisabilityGrade`] code `"1"`..`"4"`.
    #[serde(default)]
    #[autosurgeon(missing = "Default::default")]
    pub disability_grade: String,
    /// A [`Labour`] code.
    #[serde(default)]
    #[autosurgeon(missing = "Default::default")]
    pub labour: String,
    /// Free text: where and what the member works.
    #[serde(default)]
    #[autosurgeon(missing = "Default::default")]
    pub employment: String,
    /// A [`Schooling`] code.
    #[serde(default)]
    #[autosurgeon(missing = "Default::default")]
    pub schooling: String,
    /// A [`Marital`] code.
    #[serde(default)]
    #[autosurgeon(missing = "Default::default")]
    pub marital: String,
    /// Milliseconds since the Unix epoch; orders members as they were added.
    pub added_at: i64,
    pub removed: bool,
}

/// One source of income (收入项).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, Hydrate)]
pub struct IncomeItem {
    /// An [`IncomeCategory`] code.
    pub category: String,
    /// An [`IncomePeriod`] code: the amount is per month or per year.
    pub period: String,
    /// Integer fen (分), never floating point.
    pub amount_fen: i64,
    /// The member's id, or `""` for the household as a whole (or the applicant).
    pub member: String,
    pub note: String,
    pub added_at: i64,
    pub removed: bool,
}

/// The household's assets (家庭财产). Money in fen, areas in 0.01 m².
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, Hydrate)]
pub struct Assets {
    pub deposits_fen: i64,
    pub houses_count: i64,
    pub houses_area_m2x100: i64,
    pub vehicles_count: i64,
    pub vehicles_value_fen: i64,
    pub securities_fen: i64,
    pub insurance_fen: i64,
    pub business_assets_fen: i64,
    pub note: String,
}

/// Rigid expenses per year (刚性支出), in fen.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, Hydrate)]
pub struct Expenses {
    pub medical_fen_annual: i64,
    pub education_fen_annual: i64,
    pub other_fen_annual: i64,
    pub note: String,
}

/// The dwelling (住房情况).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, Hydrate)]
pub struct Housing {
    /// A [`HousingKind`] code.
    pub kind: String,
    /// 0.01 m².
    pub area_m2x100: i64,
    /// A [`HousingCondition`] code.
    pub condition: String,
    pub note: String,
}

/// The investigators' conclusion (调查结论).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, Hydrate)]
pub struct Conclusion {
    /// A [`ConclusionOpinion`] code, or `""` while not chosen.
    pub opinion: String,
    pub text: String,
}

/// Evidence of the visit itself: when, and where the device was.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, Hydrate)]
pub struct Visit {
    /// ms since the Unix epoch; 0 = not set.
    pub started_at: i64,
    /// ms since the Unix epoch; 0 = not set.
    pub ended_at: i64,
    /// `""` (not tried) or a [`GpsStatus`] code.
    pub gps_status: String,
    /// Micro-degrees (WGS-84 as the device reports it); meaningful when `gps_status` is `ok`.
    pub lat_e6: i64,
    pub lon_e6: i64,
    /// Accuracy radius in metres.
    pub accuracy_m: i64,
}

/// A quick report of a household in sudden hardship (发现报告, 急难).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, Hydrate)]
pub struct Discovery {
    /// A [`DiscoveryKind`] code.
    pub kind: String,
    pub description: String,
    pub urgent: bool,
    pub reported_at: i64,
    /// The reporting user's id.
    pub reported_by: String,
}

/// A neighbour visit (邻里访问): who was asked, what they said, when, by whom.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, Hydrate)]
pub struct NeighbourVisit {
    pub name: String,
    pub relation_or_address: String,
    pub statement: String,
    pub visited_at: i64,
    /// The verifier's user id and display name.
    pub by_user: String,
    pub by_name: String,
    pub added_at: i64,
    pub removed: bool,
}

impl CaseDoc {
    /// A new, empty case with every nested object present (each created once, here, so
    /// two devices never create the same object concurrently).
    pub fn new_case(case_id: CaseId, unit: &UnitId, now_ms: i64) -> Self {
        Self {
            schema: SCHEMA_VERSION,
            case_id: case_id.to_string(),
            unit: unit.to_string(),
            created_at: now_ms,
            status: CaseStatus::Applied.code().to_string(),
            origin: Origin::Application.code().to_string(),
            applicant: Applicant::default(),
            members: BTreeMap::new(),
            income: BTreeMap::new(),
            assets: Assets::default(),
            expenses: Expenses::default(),
            housing: Housing::default(),
            hardship: BTreeMap::new(),
            assistance: BTreeMap::new(),
            narrative: String::new(),
            conclusion: Conclusion::default(),
            visit: Visit::default(),
            discovery: Discovery::default(),
            photos: BTreeMap::new(),
            neighbour_visits: BTreeMap::new(),
        }
    }

    /// Members not flagged as removed, in the order they were added.
    pub fn active_members(&self) -> Vec<(&String, &Member)> {
        let mut list: Vec<_> = self.members.iter().filter(|(_, m)| !m.removed).collect();
        list.sort_by(|a, b| a.1.added_at.cmp(&b.1.added_at).then(a.0.cmp(b.0)));
        list
    }

    /// Income items not removed, in the order they were added.
    pub fn active_income(&self) -> Vec<(&String, &IncomeItem)> {
        let mut list: Vec<_> = self.income.iter().filter(|(_, i)| !i.removed).collect();
        list.sort_by(|a, b| a.1.added_at.cmp(&b.1.added_at).then(a.0.cmp(b.0)));
        list
    }

    /// Neighbour visits not removed, in the order they were added.
    pub fn active_neighbour_visits(&self) -> Vec<(&String, &NeighbourVisit)> {
        let mut list: Vec<_> = self
            .neighbour_visits
            .iter()
            .filter(|(_, v)| !v.removed)
            .collect();
        list.sort_by(|a, b| a.1.added_at.cmp(&b.1.added_at).then(a.0.cmp(b.0)));
        list
    }

    /// Photos not removed, ordered by when they were added.
    pub fn active_photos(&self) -> Vec<&PhotoRef> {
        let mut list: Vec<_> = self.photos.values().filter(|p| !p.removed).collect();
        list.sort_by(|a, b| a.added_at.cmp(&b.added_at).then(a.sha256.cmp(&b.sha256)));
        list
    }

    /// The chosen codes of a set field (`hardship`, `assistance`), sorted.
    pub fn chosen(set: &BTreeMap<String, bool>) -> Vec<String> {
        set.iter()
            .filter(|(_, on)| **on)
            .map(|(k, _)| k.clone())
            .collect()
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
