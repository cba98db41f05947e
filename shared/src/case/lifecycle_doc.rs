//! The case lifecycle stored in the case document: transition and resolution records,
//! community deliberation (群众评议), public notice (公示) with objections, spot-check
//! records (抽查复核) and the re-check category (动态管理), plus the preconditions of the
//! rules read from the document.
//!
//! # Storage (merge-safe)
//!
//! Everything lives in ONE map at the root key `lifecycle`: each entry is a map under a
//! fresh random id, with a `kind` scalar (`transition`, `resolution`, `deliberation`,
//! `notice`, `objection`, `objection_handling`, `spot_check`, `recheck_category`) and
//! scalar fields (strings, integers, booleans; lists of scalars or of small maps inside
//! the entry, written with it). Entries are written once and never edited or deleted, so
//! two devices' maps merge by union. A later decision is a new entry (an objection's
//! handling, a new notice after a return, a new re-check category), never an edit.
//!
//! The `lifecycle` map itself is created by the first write on a document that lacks it.
//! Two devices doing that concurrently put two maps under the same key; Automerge keeps
//! both (a conflict at the key), and [`read`] takes the union of EVERY value of the key
//! (`get_all`), so no entry is lost either way. Writers add to the map `get` shows.
//!
//! The document's `status` field caches the derived state ([`lifecycle::derive`]) for
//! lists; it is rewritten in the same commit as every transition and resolution. Readers
//! that matter derive from the records.

use std::collections::{BTreeMap, BTreeSet};

use automerge::transaction::Transactable;
use automerge::{Automerge, ObjId, ObjType, ReadDoc, ScalarValue, Value, ROOT};
use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

use super::doc::commit_options;
use super::{CaseDoc, ChangeNote, FieldErrors};
use crate::api::Role;
use crate::calendar::{add_days, civil_from_days};
use crate::id_number::Date;
use crate::lifecycle::{
    self, Actor, Derived, LifecycleRecord, LifecycleState, Preconditions, ProposeError, RecordId,
    ResolutionRecord, ResolveError, Transition, TransitionRecord, DEFAULT_NOTICE_DAYS,
};
use crate::recheck::{due_status, DueStatus, RecheckPolicy};
use crate::signature::{
    attested_content_of, check, missing_signatures, read_signatures, SignatureCheck,
    SignatureRecord, SignerRole,
};

/// The root key of the lifecycle map.
pub const LIFECYCLE_KEY: &str = "lifecycle";

/// Why a lifecycle entry could not be written.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleDocError {
    #[error(transparent)]
    Propose(#[from] ProposeError),
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    #[error("invalid entry")]
    Invalid(FieldErrors),
    #[error("document error: {0}")]
    Automerge(#[from] automerge::AutomergeError),
    #[error("document error: {0}")]
    Reconcile(#[from] autosurgeon::ReconcileError),
}

impl LifecycleDocError {
    /// The message a user reads (zh-CN).
    pub fn message_zh(&self) -> String {
        match self {
            LifecycleDocError::Propose(e) => e.message_zh(),
            LifecycleDocError::Resolve(e) => e.message_zh(),
            LifecycleDocError::Invalid(_) => "请检查填写的内容".to_string(),
            LifecycleDocError::Automerge(_) | LifecycleDocError::Reconcile(_) => {
                "案件文件无法写入".to_string()
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Sections

/// A point the deliberation assesses (评议事项).
pub const DELIBERATION_POINTS: [(&str, &str); 5] = [
    ("income", "申报收入"),
    ("property", "家庭财产"),
    ("objectivity", "入户调查的客观性"),
    ("truthfulness", "申报内容的真实性"),
    ("completeness", "材料的完整性"),
];

/// A representative's opinion (评议意见).
pub const OPINIONS: [(&str, &str); 3] = [
    ("agree", "同意"),
    ("disagree", "不同意"),
    ("abstain", "弃权"),
];

/// The deliberation's outcome (评议结果).
pub const DELIBERATION_OUTCOMES: [(&str, &str); 2] = [("pass", "评议通过"), ("fail", "评议未通过")];

/// The spot check's outcome (抽查结论).
pub const SPOT_CHECK_OUTCOMES: [(&str, &str); 2] = [
    ("consistent", "与原调查一致"),
    ("discrepancy", "与原调查不一致"),
];

/// The Chinese label of a code in one of the lists above (the code itself if unknown).
pub fn label_of<'a>(list: &[(&'a str, &'a str)], code: &'a str) -> &'a str {
    list.iter()
        .find(|(c, _)| *c == code)
        .map_or(code, |(_, l)| *l)
}

/// One representative at the deliberation and their opinion.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Representative {
    pub name: String,
    /// In which capacity (e.g. 村(居)民代表, 党员代表, 驻村干部); free text.
    pub capacity: String,
    /// An [`OPINIONS`] code.
    pub opinion: String,
    pub remark: String,
}

/// The community deliberation meeting (群众评议).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Deliberation {
    pub id: String,
    /// `YYYY-MM-DD`.
    pub held_on: String,
    pub place: String,
    pub representatives: Vec<Representative>,
    /// [`DELIBERATION_POINTS`] codes assessed.
    pub points: Vec<String>,
    /// A [`DELIBERATION_OUTCOMES`] code.
    pub outcome: String,
    /// The minutes' summary.
    pub summary: String,
    /// SHA-256 of the sign-in sheet photos (the case's photos).
    pub sign_in_photos: Vec<String>,
    pub by_user: String,
    pub by_name: String,
    pub at_ms: i64,
}

/// A public notice (公示). A later notice (e.g. after a return) replaces an earlier one.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Notice {
    pub id: String,
    /// First day, `YYYY-MM-DD`.
    pub start: String,
    /// Length in days (the notice may close `days` days after `start`).
    pub days: i64,
    pub place: String,
    pub by_user: String,
    pub by_name: String,
    pub at_ms: i64,
}

impl Notice {
    /// The day the notice may close: `start + days`.
    pub fn end(&self) -> Option<Date> {
        parse_date(&self.start).and_then(|s| add_days(s, self.days))
    }
}

/// An objection raised during the public notice (异议).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Objection {
    pub id: String,
    /// The notice it was raised against (its id; `""` if none was recorded).
    pub notice: String,
    /// Who raised it (may be anonymous: `""`).
    pub raised_by: String,
    pub content: String,
    /// `YYYY-MM-DD`.
    pub raised_on: String,
    pub by_user: String,
    pub by_name: String,
    pub at_ms: i64,
}

/// How an objection was handled (异议处理).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct ObjectionHandling {
    pub id: String,
    pub objection: String,
    pub handling: String,
    /// The objection was found to be justified.
    pub upheld: bool,
    pub by_user: String,
    pub by_name: String,
    pub at_ms: i64,
}

/// One compared figure of a spot check: the original investigation's value and the
/// re-visit's.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct SpotCheckItem {
    pub field: String,
    pub label: String,
    pub original: String,
    pub revisit: String,
}

impl SpotCheckItem {
    pub fn consistent(&self) -> bool {
        self.original.trim() == self.revisit.trim()
    }
}

/// A spot check's re-visit compared with the original investigation (抽查复核记录).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct SpotCheck {
    pub id: String,
    /// `YYYY-MM-DD`.
    pub revisit_on: String,
    pub items: Vec<SpotCheckItem>,
    pub findings: String,
    /// A [`SPOT_CHECK_OUTCOMES`] code.
    pub outcome: String,
    pub by_user: String,
    pub by_name: String,
    pub at_ms: i64,
}

/// The re-check category of an active case and the last check it counts from. The latest
/// entry (by time, then id) is in force.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct RecheckSetting {
    pub id: String,
    /// A [`RecheckPolicy`] category code.
    pub category: String,
    /// `YYYY-MM-DD`; `""`: count from the last decision recorded in the lifecycle.
    pub last_check: String,
    pub by_user: String,
    pub by_name: String,
    pub at_ms: i64,
}

/// One entry to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Deliberation(Deliberation),
    Notice(Notice),
    Objection(Objection),
    ObjectionHandling(ObjectionHandling),
    SpotCheck(SpotCheck),
    Recheck(RecheckSetting),
}

impl Entry {
    fn kind(&self) -> &'static str {
        match self {
            Entry::Deliberation(_) => "deliberation",
            Entry::Notice(_) => "notice",
            Entry::Objection(_) => "objection",
            Entry::ObjectionHandling(_) => "objection_handling",
            Entry::SpotCheck(_) => "spot_check",
            Entry::Recheck(_) => "recheck_category",
        }
    }

    fn id(&self) -> &str {
        match self {
            Entry::Deliberation(e) => &e.id,
            Entry::Notice(e) => &e.id,
            Entry::Objection(e) => &e.id,
            Entry::ObjectionHandling(e) => &e.id,
            Entry::SpotCheck(e) => &e.id,
            Entry::Recheck(e) => &e.id,
        }
    }
}

// Stored forms of the lifecycle records (codes as text, ids hyphenated).

#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate)]
struct StoredTransition {
    prev: Option<String>,
    from: String,
    to: String,
    transition: String,
    by_user: String,
    by_role: String,
    by_name: String,
    at_ms: i64,
    comment: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate)]
struct StoredResolution {
    chosen: String,
    overrides: Vec<String>,
    by_user: String,
    by_role: String,
    by_name: String,
    at_ms: i64,
    comment: String,
}

impl StoredTransition {
    fn of(r: &TransitionRecord, by_name: &str) -> Self {
        Self {
            prev: r.prev.map(|p| p.to_string()),
            from: r.from.code().into(),
            to: r.to.code().into(),
            transition: r.transition.code().into(),
            by_user: r.by_user.to_string(),
            by_role: r.by_role.code().into(),
            by_name: by_name.into(),
            at_ms: r.at_ms,
            comment: r.comment.clone(),
        }
    }

    fn record(&self, id: RecordId) -> Option<TransitionRecord> {
        Some(TransitionRecord {
            id,
            prev: match &self.prev {
                Some(p) => Some(p.parse().ok()?),
                None => None,
            },
            from: LifecycleState::from_code(&self.from)?,
            to: LifecycleState::from_code(&self.to)?,
            transition: Transition::from_code(&self.transition)?,
            by_user: self.by_user.parse().ok()?,
            by_role: Role::from_code(&self.by_role)?,
            at_ms: self.at_ms,
            comment: self.comment.clone(),
        })
    }
}

impl StoredResolution {
    fn of(r: &ResolutionRecord, by_name: &str) -> Self {
        Self {
            chosen: r.chosen.to_string(),
            overrides: r.overrides.iter().map(|o| o.to_string()).collect(),
            by_user: r.by_user.to_string(),
            by_role: r.by_role.code().into(),
            by_name: by_name.into(),
            at_ms: r.at_ms,
            comment: r.comment.clone(),
        }
    }

    fn record(&self, id: RecordId) -> Option<ResolutionRecord> {
        Some(ResolutionRecord {
            id,
            chosen: self.chosen.parse().ok()?,
            overrides: self
                .overrides
                .iter()
                .map(|o| o.parse().ok())
                .collect::<Option<Vec<_>>>()?,
            by_user: self.by_user.parse().ok()?,
            by_role: Role::from_code(&self.by_role)?,
            at_ms: self.at_ms,
            comment: self.comment.clone(),
        })
    }
}

// ---------------------------------------------------------------------------------------
// Reading

/// Everything the document's lifecycle map holds, each list ordered by (time, id).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LifecycleDoc {
    pub records: Vec<LifecycleRecord>,
    /// Display names of the records' authors, by record id.
    pub names: BTreeMap<RecordId, String>,
    pub deliberations: Vec<Deliberation>,
    pub notices: Vec<Notice>,
    pub objections: Vec<Objection>,
    pub handlings: Vec<ObjectionHandling>,
    pub spot_checks: Vec<SpotCheck>,
    pub rechecks: Vec<RecheckSetting>,
    /// Keys of entries that could not be read (unknown kind, malformed fields).
    pub unreadable: Vec<String>,
}

/// Reads the lifecycle map (the union over every concurrent value of its key).
pub fn read(doc: &Automerge) -> LifecycleDoc {
    let mut out = LifecycleDoc::default();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let maps: Vec<ObjId> = doc
        .get_all(ROOT, LIFECYCLE_KEY)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(v, id)| matches!(v, Value::Object(ObjType::Map)).then_some(id))
        .collect();
    for map in &maps {
        for key in doc.keys(map).collect::<Vec<_>>() {
            if !seen.insert(key.clone()) {
                // The same key in two concurrent maps can only be the same entry written
                // twice (ids are random); read it once.
                continue;
            }
            if read_entry(doc, map, &key, &mut out).is_none() {
                out.unreadable.push(key);
            }
        }
    }
    out.records.sort_by_key(|r| r.id());
    out.deliberations
        .sort_by(|a, b| (a.at_ms, &a.id).cmp(&(b.at_ms, &b.id)));
    out.notices
        .sort_by(|a, b| (a.at_ms, &a.id).cmp(&(b.at_ms, &b.id)));
    out.objections
        .sort_by(|a, b| (a.at_ms, &a.id).cmp(&(b.at_ms, &b.id)));
    out.handlings
        .sort_by(|a, b| (a.at_ms, &a.id).cmp(&(b.at_ms, &b.id)));
    out.spot_checks
        .sort_by(|a, b| (a.at_ms, &a.id).cmp(&(b.at_ms, &b.id)));
    out.rechecks
        .sort_by(|a, b| (a.at_ms, &a.id).cmp(&(b.at_ms, &b.id)));
    out
}

fn read_entry(doc: &Automerge, map: &ObjId, key: &str, out: &mut LifecycleDoc) -> Option<()> {
    let obj = match doc.get(map, key).ok().flatten()? {
        (Value::Object(ObjType::Map), obj) => obj,
        _ => return None,
    };
    let kind = match doc.get(&obj, "kind").ok().flatten()? {
        (Value::Scalar(s), _) => match s.as_ref() {
            ScalarValue::Str(s) => s.to_string(),
            _ => return None,
        },
        _ => return None,
    };
    fn h<T: Hydrate>(doc: &Automerge, map: &ObjId, key: &str) -> Option<T> {
        autosurgeon::hydrate_prop(doc, map, key).ok()
    }
    match kind.as_str() {
        "transition" => {
            let id: RecordId = key.parse().ok()?;
            let s: StoredTransition = h(doc, map, key)?;
            out.names.insert(id, s.by_name.clone());
            out.records.push(LifecycleRecord::Transition(s.record(id)?));
        }
        "resolution" => {
            let id: RecordId = key.parse().ok()?;
            let s: StoredResolution = h(doc, map, key)?;
            out.names.insert(id, s.by_name.clone());
            out.records.push(LifecycleRecord::Resolution(s.record(id)?));
        }
        "deliberation" => out.deliberations.push(h(doc, map, key)?),
        "notice" => out.notices.push(h(doc, map, key)?),
        "objection" => out.objections.push(h(doc, map, key)?),
        "objection_handling" => out.handlings.push(h(doc, map, key)?),
        "spot_check" => out.spot_checks.push(h(doc, map, key)?),
        "recheck_category" => out.rechecks.push(h(doc, map, key)?),
        _ => return None,
    }
    Some(())
}

/// The signatures still valid for the case's current content (the schema's own check:
/// [`read_signatures`] and [`check`] against [`attested_content_of`]).
fn valid_signatures(doc: &Automerge, case: &CaseDoc) -> Vec<SignatureRecord> {
    let current = attested_content_of(case);
    read_signatures(doc)
        .into_iter()
        .map(|s| s.record)
        .filter(|r| check(r, &current) == SignatureCheck::Valid)
        .collect()
}

/// Field conflicts a person must decide (differing concurrent values), leaving out the
/// `status` cache (the lifecycle shows its own conflicts) and the lifecycle and signature
/// maps (their entries are write-once; a concurrently created map is read as a union).
pub fn open_field_conflicts(doc: &Automerge) -> u32 {
    super::conflicts(doc)
        .into_iter()
        .filter(|f| {
            let first = f.path.first().map(String::as_str);
            !matches!(first, Some("status" | LIFECYCLE_KEY | "signatures"))
        })
        .filter(|f| f.values.iter().any(|v| v.value != f.values[0].value))
        .count() as u32
}

/// The calendar date (Beijing time, UTC+8) of a time in ms since the epoch.
pub fn date_of_ms(ms: i64) -> Date {
    let days = (ms.saturating_add(8 * 3_600_000)).div_euclid(86_400_000);
    civil_from_days(days).unwrap_or(Date {
        year: 1970,
        month: 1,
        day: 1,
    })
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Option<Date> {
    let mut parts = s.trim().splitn(3, '-');
    let y = parts.next()?.parse().ok()?;
    let m = parts.next()?.parse().ok()?;
    let d = parts.next()?.parse().ok()?;
    Date::new(y, m, d)
}

/// Where re-checks of an active case stand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecheckInfo {
    /// The category in force (`None`: none chosen yet).
    pub category: Option<String>,
    pub last_check: Option<Date>,
    pub next_due: Option<Date>,
    pub status: Option<DueStatus>,
}

impl LifecycleDoc {
    /// The derived lifecycle (state, history, conflicts).
    pub fn derive(&self) -> Derived {
        lifecycle::derive(&self.records)
    }

    pub fn transition(&self, id: RecordId) -> Option<&TransitionRecord> {
        self.records.iter().find_map(|r| match r {
            LifecycleRecord::Transition(t) if t.id == id => Some(t),
            _ => None,
        })
    }

    pub fn resolution(&self, id: RecordId) -> Option<&ResolutionRecord> {
        self.records.iter().find_map(|r| match r {
            LifecycleRecord::Resolution(t) if t.id == id => Some(t),
            _ => None,
        })
    }

    /// The applied transitions of the derived history, in order.
    pub fn applied<'a>(&'a self, derived: &Derived) -> Vec<&'a TransitionRecord> {
        derived
            .applied
            .iter()
            .filter_map(|id| self.transition(*id))
            .collect()
    }

    /// The notice in force: the latest recorded one; else, if the street approved (the
    /// notice is posted on approval), one starting on the approval's day with `days_default`.
    pub fn current_notice(&self, derived: &Derived, days_default: u32) -> Option<(Date, u32)> {
        let approved = self
            .applied(derived)
            .into_iter()
            .rfind(|t| t.transition == Transition::StreetApprove);
        let recorded = self
            .notices
            .iter()
            .rev()
            .find(|n| approved.is_none_or(|a| n.at_ms >= a.at_ms))
            .and_then(|n| Some((parse_date(&n.start)?, u32::try_from(n.days).ok()?)));
        recorded.or_else(|| approved.map(|a| (date_of_ms(a.at_ms), days_default)))
    }

    /// Objections without a handling entry.
    pub fn open_objections(&self) -> Vec<&Objection> {
        let handled: BTreeSet<&str> = self
            .handlings
            .iter()
            .map(|h| h.objection.as_str())
            .collect();
        self.objections
            .iter()
            .filter(|o| !handled.contains(o.id.as_str()))
            .collect()
    }

    /// The facts the rules need, read from the document (`comment`: the actor's).
    pub fn preconditions(
        &self,
        doc: &Automerge,
        case: &CaseDoc,
        today: Date,
        notice_days_default: u32,
        comment: &str,
    ) -> Preconditions {
        let derived = self.derive();
        let valid = valid_signatures(doc, case);
        let investigation_signed = missing_signatures(&valid).is_empty();
        let neighbour_visits_signed = valid
            .iter()
            .filter(|r| r.role == SignerRole::Neighbour)
            .count() as u32;
        let notice = self.current_notice(&derived, notice_days_default);
        let recheck_started = self
            .applied(&derived)
            .into_iter()
            .rfind(|t| t.to == LifecycleState::Recheck)
            .map(|t| t.at_ms);
        let recheck_signed = investigation_signed
            && recheck_started.is_some_and(|start| valid.iter().any(|r| r.signed_at_ms >= start));
        Preconditions {
            today,
            investigation_signed,
            neighbour_visits_signed,
            deliberation_recorded: !self.deliberations.is_empty(),
            unresolved_conflicts: open_field_conflicts(doc) + derived.conflicts.len() as u32,
            notice_start: notice.map(|n| n.0),
            notice_days: notice.map_or(notice_days_default, |n| n.1),
            open_objections: self.open_objections().len() as u32,
            recheck_signed,
            comment: comment.to_string(),
        }
    }

    /// Re-check category, last check and next due date of a recipient (`None` for a case
    /// that is not (yet) a recipient). The last check is the later of the category entry's
    /// `last_check` and the last decision (approval, unchanged re-check, adjustment).
    pub fn recheck(
        &self,
        derived: &Derived,
        policy: &RecheckPolicy,
        today: Date,
    ) -> Option<RecheckInfo> {
        if !derived.state.is_recipient() {
            return None;
        }
        let setting = self.rechecks.last();
        let decided = self
            .applied(derived)
            .into_iter()
            .filter(|t| {
                matches!(
                    t.transition,
                    Transition::Approve | Transition::ConfirmUnchanged | Transition::Adjust
                )
            })
            .map(|t| date_of_ms(t.at_ms))
            .max();
        let set_last = setting.and_then(|s| parse_date(&s.last_check));
        let last_check = match (decided, set_last) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let category = setting.map(|s| s.category.clone());
        let next_due = match (&category, last_check) {
            (Some(c), Some(last)) => policy.next_due_for(c, last),
            _ => None,
        };
        Some(RecheckInfo {
            category,
            last_check,
            next_due,
            status: next_due.map(|d| due_status(d, today)),
        })
    }
}

// ---------------------------------------------------------------------------------------
// Writing

fn lifecycle_map<T: Transactable>(tx: &mut T) -> Result<ObjId, automerge::AutomergeError> {
    match tx.get(ROOT, LIFECYCLE_KEY)? {
        Some((Value::Object(ObjType::Map), obj)) => Ok(obj),
        _ => tx.put_object(ROOT, LIFECYCLE_KEY, ObjType::Map),
    }
}

/// Creates the (empty) lifecycle map if the document lacks it, as part of a case's
/// creation. Optional: [`read`] is merge-safe either way. Returns whether it wrote.
pub fn ensure_map(
    doc: &mut Automerge,
    note: &ChangeNote,
    now_ms: i64,
) -> Result<bool, LifecycleDocError> {
    if matches!(
        doc.get(ROOT, LIFECYCLE_KEY)?,
        Some((Value::Object(ObjType::Map), _))
    ) {
        return Ok(false);
    }
    let mut tx = doc.transaction();
    tx.put_object(ROOT, LIFECYCLE_KEY, ObjType::Map)?;
    tx.commit_with(commit_options(note, now_ms));
    Ok(true)
}

/// Records `t` made by `actor` (after checking it with the rules and `facts`), and the
/// new derived state into `status`, in one commit. Returns the record and the new
/// derivation.
#[allow(clippy::too_many_arguments)]
pub fn write_transition(
    doc: &mut Automerge,
    t: Transition,
    actor: &Actor,
    by_name: &str,
    facts: &Preconditions,
    note: &ChangeNote,
    now_ms: i64,
) -> Result<(TransitionRecord, Derived), LifecycleDocError> {
    let current = read(doc);
    let derived = current.derive();
    let record = lifecycle::propose(&derived, t, actor, facts)?;
    let stored = StoredTransition::of(&record, by_name);
    let mut records = current.records;
    records.push(LifecycleRecord::Transition(record.clone()));
    let after = lifecycle::derive(&records);
    write_record(
        doc,
        record.id,
        "transition",
        &stored,
        after.state,
        note,
        now_ms,
    )?;
    Ok((record, after))
}

/// Records a person's resolution of the open lifecycle conflict choosing `chosen`, and
/// the new derived state into `status`, in one commit.
pub fn write_resolution(
    doc: &mut Automerge,
    chosen: RecordId,
    actor: &Actor,
    by_name: &str,
    comment: &str,
    note: &ChangeNote,
    now_ms: i64,
) -> Result<(ResolutionRecord, Derived), LifecycleDocError> {
    let current = read(doc);
    let derived = current.derive();
    let record = lifecycle::resolve(&derived, chosen, actor, comment)?;
    let stored = StoredResolution::of(&record, by_name);
    let mut records = current.records;
    records.push(LifecycleRecord::Resolution(record.clone()));
    let after = lifecycle::derive(&records);
    write_record(
        doc,
        record.id,
        "resolution",
        &stored,
        after.state,
        note,
        now_ms,
    )?;
    Ok((record, after))
}

/// Writes a record exactly as given, unchecked (tests and tools that must reproduce what
/// a device did; apps use [`write_transition`]).
pub fn write_raw_record(
    doc: &mut Automerge,
    record: &LifecycleRecord,
    by_name: &str,
    note: &ChangeNote,
    now_ms: i64,
) -> Result<(), LifecycleDocError> {
    let mut records = read(doc).records;
    records.push(record.clone());
    let state = lifecycle::derive(&records).state;
    match record {
        LifecycleRecord::Transition(t) => write_record(
            doc,
            t.id,
            "transition",
            &StoredTransition::of(t, by_name),
            state,
            note,
            now_ms,
        ),
        LifecycleRecord::Resolution(r) => write_record(
            doc,
            r.id,
            "resolution",
            &StoredResolution::of(r, by_name),
            state,
            note,
            now_ms,
        ),
    }
}

fn write_record<R: Reconcile>(
    doc: &mut Automerge,
    id: RecordId,
    kind: &str,
    stored: &R,
    state: LifecycleState,
    note: &ChangeNote,
    now_ms: i64,
) -> Result<(), LifecycleDocError> {
    let mut tx = doc.transaction();
    let result = (|| -> Result<(), LifecycleDocError> {
        let map = lifecycle_map(&mut tx)?;
        let key = id.to_string();
        autosurgeon::reconcile_prop(&mut tx, &map, key.as_str(), stored)?;
        if let Some((_, obj)) = tx.get(&map, key.as_str())? {
            tx.put(&obj, "kind", kind)?;
        }
        tx.put(ROOT, "status", state.code())?;
        Ok(())
    })();
    match result {
        Ok(()) => {
            tx.commit_with(commit_options(note, now_ms));
            Ok(())
        }
        Err(e) => {
            tx.rollback();
            Err(e)
        }
    }
}

/// Writes one section entry (validated with [`validate_entry`]) in one commit.
pub fn write_entry(
    doc: &mut Automerge,
    entry: &Entry,
    note: &ChangeNote,
    now_ms: i64,
) -> Result<(), LifecycleDocError> {
    let errors = validate_entry(entry);
    if !errors.is_empty() {
        return Err(LifecycleDocError::Invalid(errors));
    }
    let mut tx = doc.transaction();
    let result = (|| -> Result<(), LifecycleDocError> {
        let map = lifecycle_map(&mut tx)?;
        let key = entry.id();
        match entry {
            Entry::Deliberation(e) => autosurgeon::reconcile_prop(&mut tx, &map, key, e)?,
            Entry::Notice(e) => autosurgeon::reconcile_prop(&mut tx, &map, key, e)?,
            Entry::Objection(e) => autosurgeon::reconcile_prop(&mut tx, &map, key, e)?,
            Entry::ObjectionHandling(e) => autosurgeon::reconcile_prop(&mut tx, &map, key, e)?,
            Entry::SpotCheck(e) => autosurgeon::reconcile_prop(&mut tx, &map, key, e)?,
            Entry::Recheck(e) => autosurgeon::reconcile_prop(&mut tx, &map, key, e)?,
        }
        if let Some((_, obj)) = tx.get(&map, key)? {
            tx.put(&obj, "kind", entry.kind())?;
        }
        Ok(())
    })();
    match result {
        Ok(()) => {
            tx.commit_with(commit_options(note, now_ms));
            Ok(())
        }
        Err(e) => {
            tx.rollback();
            Err(e)
        }
    }
}

/// Per-field Chinese messages for an entry (paths like `representatives.0.name`).
pub fn validate_entry(entry: &Entry) -> FieldErrors {
    let mut e = FieldErrors::default();
    let mut put = |k: String, m: &str| {
        e.0.entry(k).or_insert_with(|| m.to_string());
    };
    let code_in = |list: &[(&str, &str)], c: &str| list.iter().any(|(k, _)| *k == c);
    match entry {
        Entry::Deliberation(d) => {
            if parse_date(&d.held_on).is_none() {
                put("held_on".into(), "请填写评议日期");
            }
            if d.place.trim().is_empty() {
                put("place".into(), "请填写评议地点");
            }
            if d.representatives.is_empty() {
                put("representatives".into(), "请至少登记一名参会代表");
            }
            for (i, r) in d.representatives.iter().enumerate() {
                if r.name.trim().is_empty() {
                    put(format!("representatives.{i}.name"), "请填写代表姓名");
                }
                if !code_in(&OPINIONS, &r.opinion) {
                    put(format!("representatives.{i}.opinion"), "请选择评议意见");
                }
            }
            if d.points.is_empty() {
                put("points".into(), "请选择评议事项");
            }
            if d.points.iter().any(|p| !code_in(&DELIBERATION_POINTS, p)) {
                put("points".into(), "评议事项不在可选范围内");
            }
            if !code_in(&DELIBERATION_OUTCOMES, &d.outcome) {
                put("outcome".into(), "请选择评议结果");
            }
        }
        Entry::Notice(n) => {
            if parse_date(&n.start).is_none() {
                put("start".into(), "请填写公示开始日期");
            }
            if !(1..=90).contains(&n.days) {
                put("days".into(), "公示天数应在1到90天之间");
            }
        }
        Entry::Objection(o) => {
            if o.content.trim().is_empty() {
                put("content".into(), "请填写异议内容");
            }
            if parse_date(&o.raised_on).is_none() {
                put("raised_on".into(), "请填写提出日期");
            }
        }
        Entry::ObjectionHandling(h) => {
            if h.objection.trim().is_empty() {
                put("objection".into(), "请选择要处理的异议");
            }
            if h.handling.trim().is_empty() {
                put("handling".into(), "请填写处理情况");
            }
        }
        Entry::SpotCheck(s) => {
            if parse_date(&s.revisit_on).is_none() {
                put("revisit_on".into(), "请填写复核日期");
            }
            if !code_in(&SPOT_CHECK_OUTCOMES, &s.outcome) {
                put("outcome".into(), "请选择抽查结论");
            }
        }
        Entry::Recheck(r) => {
            if r.category.trim().is_empty() {
                put("category".into(), "请选择复核类别");
            }
            if !r.last_check.is_empty() && parse_date(&r.last_check).is_none() {
                put("last_check".into(), "日期格式应为YYYY-MM-DD");
            }
        }
    }
    e
}

/// The default notice length when the configuration says nothing.
pub const NOTICE_DAYS: u32 = DEFAULT_NOTICE_DAYS;

#[cfg(test)]
mod tests;
