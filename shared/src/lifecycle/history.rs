//! The lifecycle as an append-only set of records, and the pure fold that derives the
//! case's state from it, surfacing concurrent incompatible transitions as conflicts.
//! The rule is stated in the module doc of [`crate::lifecycle`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::rules::{transition, Preconditions, TransitionError};
use super::state::{LifecycleState, Transition};
use crate::api::Role;
use crate::ids::UserId;

/// The unique id of a lifecycle record (its key in the document's record map).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RecordId(pub Uuid);

impl RecordId {
    /// A new id from caller-supplied randomness.
    pub fn from_random_bytes(bytes: [u8; 16]) -> Self {
        Self(uuid::Builder::from_random_bytes(bytes).into_uuid())
    }
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl FromStr for RecordId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(Self)
    }
}

/// One transition as made by a person: who, when, from which state to which, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransitionRecord {
    pub id: RecordId,
    /// The record this one follows: the `head` of the history its author's device derived
    /// when the transition was made; `None` for a case's first transition.
    pub prev: Option<RecordId>,
    pub from: LifecycleState,
    pub to: LifecycleState,
    pub transition: Transition,
    pub by_user: UserId,
    pub by_role: Role,
    /// When, in ms since the epoch (the device's clock; used to order, never to decide).
    pub at_ms: i64,
    /// The comment; the reason where the transition needs one.
    pub comment: String,
}

/// A person's choice among the competing transitions of a lifecycle conflict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolutionRecord {
    pub id: RecordId,
    /// One of the competing transition records; its option (target state) wins.
    pub chosen: RecordId,
    /// Earlier resolutions of the same conflict that this one replaces (the resolver saw
    /// them disagree).
    pub overrides: Vec<RecordId>,
    pub by_user: UserId,
    pub by_role: Role,
    pub at_ms: i64,
    pub comment: String,
}

/// What the document's record map holds under each record id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LifecycleRecord {
    Transition(TransitionRecord),
    Resolution(ResolutionRecord),
}

impl LifecycleRecord {
    pub fn id(&self) -> RecordId {
        match self {
            LifecycleRecord::Transition(r) => r.id,
            LifecycleRecord::Resolution(r) => r.id,
        }
    }
}

/// One way out of a conflict: the state some records lead to, and those records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConflictOption {
    pub to: LifecycleState,
    /// The competing records leading there, ordered by time then id.
    pub records: Vec<RecordId>,
}

/// Concurrent transitions from the same point of the history to different states.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleConflict {
    /// The state both sides started from (the case's derived state meanwhile).
    pub from: LifecycleState,
    /// The last record before the fork (`None`: the fork is the first transition).
    pub after: Option<RecordId>,
    /// At least two options, ordered by target state.
    pub options: Vec<ConflictOption>,
    /// Resolutions of this fork that disagree (none when nobody resolved it yet).
    pub resolutions: Vec<RecordId>,
    /// Only the bureau may resolve it (an option is a bureau-only transition);
    /// otherwise a supervisor or the bureau.
    pub bureau_only: bool,
}

/// Why a record is not part of the derived history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SetAsideReason {
    /// Two different records share its id.
    DuplicateId,
    /// Its transition cannot lead from its `from` to its `to`.
    InvalidTransition,
    /// Its role may not make its transition (or resolve this conflict).
    RoleNotAllowed,
    /// It follows its `prev` but claims a `from` other than the state there.
    WrongFrom,
    /// It lost a resolved conflict.
    NotChosen,
    /// Not reachable from the start: behind an unresolved conflict, after a record that
    /// lost or was set aside, or a resolution of no conflict on the path.
    Unreached,
}

impl SetAsideReason {
    pub fn label_zh(self) -> &'static str {
        match self {
            SetAsideReason::DuplicateId => "记录编号重复",
            SetAsideReason::InvalidTransition => "流程步骤不合法",
            SetAsideReason::RoleNotAllowed => "操作人无此权限",
            SetAsideReason::WrongFrom => "与当时的案件状态不符",
            SetAsideReason::NotChosen => "冲突处理时未被采纳",
            SetAsideReason::Unreached => "待冲突处理或已失效",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetAside {
    pub id: RecordId,
    pub reason: SetAsideReason,
}

/// The result of the fold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Derived {
    pub state: LifecycleState,
    /// The record a new transition names as its `prev` (`None` before the first one).
    pub head: Option<RecordId>,
    /// The transition records applied, in order (records of one step that agree are
    /// all listed, by time then id).
    pub applied: Vec<RecordId>,
    /// The resolutions that decided conflicts on the path, in order.
    pub resolutions: Vec<RecordId>,
    /// The unresolved conflict the derivation stopped at (at most one: the history past
    /// a fork is unknown until it is resolved).
    pub conflicts: Vec<LifecycleConflict>,
    /// Every other record and why, ordered by id.
    pub set_aside: Vec<SetAside>,
}

impl Derived {
    pub fn has_conflict(&self) -> bool {
        !self.conflicts.is_empty()
    }
}

/// Folds a set of records into the case's lifecycle state (see the rule in the
/// [module doc](crate::lifecycle)). The result depends only on the set, not on the order
/// of `records`.
pub fn derive(records: &[LifecycleRecord]) -> Derived {
    let mut set_aside: BTreeMap<RecordId, SetAsideReason> = BTreeMap::new();

    // 1. One record per id; differing records under one id are all set aside.
    let mut by_id: BTreeMap<RecordId, &LifecycleRecord> = BTreeMap::new();
    for record in records {
        let id = record.id();
        if set_aside.contains_key(&id) {
            continue;
        }
        match by_id.get(&id) {
            Some(existing) if *existing != record => {
                by_id.remove(&id);
                set_aside.insert(id, SetAsideReason::DuplicateId);
            }
            _ => {
                by_id.insert(id, record);
            }
        }
    }

    // 2. Static validity of each record.
    let mut transitions: Vec<&TransitionRecord> = Vec::new();
    let mut resolutions: Vec<&ResolutionRecord> = Vec::new();
    for record in by_id.values() {
        match record {
            LifecycleRecord::Transition(t) => {
                if !t.transition.from_states().contains(&t.from) || t.transition.target() != t.to {
                    set_aside.insert(t.id, SetAsideReason::InvalidTransition);
                } else if !t.transition.allowed_roles().contains(&t.by_role) {
                    set_aside.insert(t.id, SetAsideReason::RoleNotAllowed);
                } else {
                    transitions.push(t);
                }
            }
            LifecycleRecord::Resolution(r) => {
                if matches!(r.by_role, Role::Supervisor | Role::Bureau) {
                    resolutions.push(r);
                } else {
                    set_aside.insert(r.id, SetAsideReason::RoleNotAllowed);
                }
            }
        }
    }
    let order =
        |a: &&TransitionRecord, b: &&TransitionRecord| (a.at_ms, a.id).cmp(&(b.at_ms, b.id));
    transitions.sort_by(order);

    // 3. The fold, step by step from the start.
    let mut state = LifecycleState::INITIAL;
    let mut frontier: BTreeSet<Option<RecordId>> = BTreeSet::from([None]);
    let mut head = None;
    let mut applied = Vec::new();
    let mut used_resolutions = Vec::new();
    let mut conflicts = Vec::new();
    let mut visited: BTreeSet<RecordId> = BTreeSet::new();
    loop {
        let mut groups: BTreeMap<LifecycleState, Vec<&TransitionRecord>> = BTreeMap::new();
        for t in &transitions {
            if frontier.contains(&t.prev) && !visited.contains(&t.id) {
                if t.from == state {
                    groups.entry(t.to).or_default().push(t);
                } else {
                    set_aside.insert(t.id, SetAsideReason::WrongFrom);
                }
            }
        }
        let step: Vec<&TransitionRecord> = match groups.len() {
            0 => break,
            1 => groups.into_values().next().unwrap_or_default(),
            _ => {
                let kids: BTreeMap<RecordId, LifecycleState> = groups
                    .iter()
                    .flat_map(|(to, rs)| rs.iter().map(move |r| (r.id, *to)))
                    .collect();
                let bureau_only = groups
                    .values()
                    .flatten()
                    .any(|r| r.transition.allowed_roles() == [Role::Bureau]);
                let here: Vec<&ResolutionRecord> = resolutions
                    .iter()
                    .copied()
                    .filter(|r| kids.contains_key(&r.chosen))
                    .collect();
                let (allowed, refused): (Vec<_>, Vec<_>) = here
                    .into_iter()
                    .partition(|r| !bureau_only || r.by_role == Role::Bureau);
                for r in refused {
                    set_aside.insert(r.id, SetAsideReason::RoleNotAllowed);
                }
                let overridden: BTreeSet<RecordId> = allowed
                    .iter()
                    .flat_map(|r| r.overrides.iter().copied())
                    .collect();
                let effective: Vec<&ResolutionRecord> = allowed
                    .iter()
                    .copied()
                    .filter(|r| !overridden.contains(&r.id))
                    .collect();
                let chosen: BTreeSet<LifecycleState> =
                    effective.iter().map(|r| kids[&r.chosen]).collect();
                if chosen.len() == 1 {
                    let winner = chosen.into_iter().next().unwrap_or(state);
                    let mut ordered: Vec<&ResolutionRecord> = effective;
                    ordered.sort_by_key(|r| (r.at_ms, r.id));
                    used_resolutions.extend(ordered.iter().map(|r| r.id));
                    let mut step = Vec::new();
                    for (to, rs) in groups {
                        if to == winner {
                            step = rs;
                        } else {
                            for r in rs {
                                set_aside.insert(r.id, SetAsideReason::NotChosen);
                            }
                        }
                    }
                    step
                } else {
                    let mut disagreeing: Vec<&ResolutionRecord> = effective;
                    disagreeing.sort_by_key(|r| (r.at_ms, r.id));
                    conflicts.push(LifecycleConflict {
                        from: state,
                        after: head,
                        options: groups
                            .into_iter()
                            .map(|(to, rs)| ConflictOption {
                                to,
                                records: rs.iter().map(|r| r.id).collect(),
                            })
                            .collect(),
                        resolutions: disagreeing.iter().map(|r| r.id).collect(),
                        bureau_only,
                    });
                    break;
                }
            }
        };
        let Some(first) = step.first() else { break };
        state = first.to;
        head = Some(first.id);
        frontier = step.iter().map(|r| Some(r.id)).collect();
        for r in step {
            visited.insert(r.id);
            applied.push(r.id);
        }
    }

    // 4. Everything else is unreached (records in a conflict's options stay unlisted:
    //    the conflict shows them).
    let in_conflict: BTreeSet<RecordId> = conflicts
        .iter()
        .flat_map(|c: &LifecycleConflict| {
            c.options
                .iter()
                .flat_map(|o| o.records.iter().copied())
                .chain(c.resolutions.iter().copied())
        })
        .collect();
    let used: BTreeSet<RecordId> = used_resolutions.iter().copied().collect();
    for id in by_id.keys() {
        if !visited.contains(id)
            && !used.contains(id)
            && !in_conflict.contains(id)
            && !set_aside.contains_key(id)
        {
            set_aside.insert(*id, SetAsideReason::Unreached);
        }
    }

    Derived {
        state,
        head,
        applied,
        resolutions: used_resolutions,
        conflicts,
        set_aside: set_aside
            .into_iter()
            .map(|(id, reason)| SetAside { id, reason })
            .collect(),
    }
}

/// Who makes a transition, when, with which comment, under which record id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub id: RecordId,
    pub user: UserId,
    pub role: Role,
    pub at_ms: i64,
}

/// Why a transition cannot be recorded on the derived history.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProposeError {
    #[error("the lifecycle has an unresolved conflict")]
    Conflicted,
    #[error(transparent)]
    Refused(#[from] TransitionError),
}

impl ProposeError {
    pub fn message_zh(&self) -> String {
        match self {
            ProposeError::Conflicted => {
                "案件流程存在冲突，须先由街道审核员或民政局处理冲突".to_string()
            }
            ProposeError::Refused(e) => e.message_zh(),
        }
    }
}

/// The record of `transition` made now on the history `derived` describes, once the
/// rules (`transition`) pass with `facts`. Refused while a lifecycle conflict is open:
/// another transition from the fork point would only add a branch.
pub fn propose(
    derived: &Derived,
    t: Transition,
    actor: &Actor,
    facts: &Preconditions,
) -> Result<TransitionRecord, ProposeError> {
    if derived.has_conflict() {
        return Err(ProposeError::Conflicted);
    }
    let to = transition(derived.state, t, actor.role, facts)?;
    Ok(TransitionRecord {
        id: actor.id,
        prev: derived.head,
        from: derived.state,
        to,
        transition: t,
        by_user: actor.user,
        by_role: actor.role,
        at_ms: actor.at_ms,
        comment: facts.comment.trim().to_string(),
    })
}

/// Why a conflict cannot be resolved as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("the lifecycle has no conflict")]
    NoConflict,
    #[error("the chosen record is not one of the conflict's options")]
    NotAnOption,
    #[error("role {} may not resolve this conflict", .0.code())]
    RoleNotAllowed(Role),
}

impl ResolveError {
    pub fn message_zh(&self) -> String {
        match self {
            ResolveError::NoConflict => "案件流程没有需要处理的冲突".to_string(),
            ResolveError::NotAnOption => "所选记录不是该冲突的选项".to_string(),
            ResolveError::RoleNotAllowed(role) => {
                format!("{}无权处理此流程冲突", role.label_zh())
            }
        }
    }
}

/// The record of a person choosing `chosen` (one of the conflict's records) to resolve
/// the conflict `derived` shows. It overrides the disagreeing resolutions the resolver
/// sees.
pub fn resolve(
    derived: &Derived,
    chosen: RecordId,
    actor: &Actor,
    comment: &str,
) -> Result<ResolutionRecord, ResolveError> {
    let conflict = derived.conflicts.first().ok_or(ResolveError::NoConflict)?;
    let allowed = match actor.role {
        Role::Bureau => true,
        Role::Supervisor => !conflict.bureau_only,
        Role::Verifier | Role::Admin => false,
    };
    if !allowed {
        return Err(ResolveError::RoleNotAllowed(actor.role));
    }
    if !conflict.options.iter().any(|o| o.records.contains(&chosen)) {
        return Err(ResolveError::NotAnOption);
    }
    Ok(ResolutionRecord {
        id: actor.id,
        chosen,
        overrides: conflict.resolutions.clone(),
        by_user: actor.user,
        by_role: actor.role,
        at_ms: actor.at_ms,
        comment: comment.trim().to_string(),
    })
}
