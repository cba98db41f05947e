//! The case lifecycle: the social-assistance procedure as a typed state machine, and its
//! history as append-only records that merge offline without corruption.
//!
//! # The procedure
//!
//! ```text
//! 申请/代办 ─受理→ 受理 ─开始入户调查→ 入户调查 ─完成(签字)→ 邻里访问 ─完成→ 群众评议
//!   │               │                    ↑  ↑ 退回补充调查 (街道, from 邻里访问 … 公示)
//!   └─急难先行救助─┴→ 急难先行救助 ─────┘  └ 民政局退回 (from 民政局审批)
//! 群众评议 ─完成→ 街道审核 ─通过→ 公示 ─期满报批→ 民政局审批 ─通过→ 在保 / ─驳回→ 驳回
//! 在保/已调整 ─开始动态复核→ 动态复核 ─无变化→ 在保 / ─调整→ 已调整
//! 在保/动态复核/已调整 ─退出→ 退出
//! ```
//!
//! [`Transition`] lists every step with the states it starts from, its target state and
//! the roles allowed to make it (DOMAIN.md: verifiers investigate and assist, the street's
//! supervisor accepts, reviews and runs the notice, the bureau decides; IT admins make no
//! step). [`transition`] checks one step against state, role and the case's facts
//! ([`Preconditions`]) and says which rule failed ([`TransitionError::message_zh`]).
//! An application made on the household's behalf (委托代办) is an ordinary application
//! (state 申请); who applied is part of the case, not a separate state.
//!
//! **Urgent hardship (急难)**: from an application (accepted or not) a supervisor or the
//! bureau may grant temporary assistance at once (`GrantUrgentAid`, reason required). The
//! formalities follow: the only way on from 急难先行救助 is `StartInvestigation`, then the
//! regular path (investigation, neighbour visits, deliberation, review, notice, decision).
//! A later rejection does not undo the aid already given; the history shows both.
//!
//! # History records and the derived state (offline concurrency)
//!
//! The document keeps a map of [`LifecycleRecord`]s keyed by their [`RecordId`] (random,
//! so two devices never write the same key): each record is written once and never
//! changed or deleted, so Automerge merges the maps of two devices by union, without
//! conflict. The case's state is **derived** by a pure fold, [`derive`]. Each
//! [`TransitionRecord`] names its `prev`, the last record of the history its author's
//! device derived (`None` for the first), so the records form a tree rooted at the start.
//! The rule:
//!
//! 1. Records are taken as a set keyed by id. Two *different* records under one id are
//!    both set aside (`DuplicateId`).
//! 2. A transition record whose transition cannot lead from its `from` to its `to`, or
//!    whose role may not make it, is set aside; so is a resolution by a role other than
//!    supervisor or bureau. (Facts-based preconditions cannot be re-judged later: the
//!    server checks each record with [`transition`] when it arrives and flags failures.)
//! 3. The fold starts at 申请 with the frontier {start}. At each step the candidates are
//!    the records whose `prev` is in the frontier (`None` for the start). A candidate whose
//!    `from` is not the current state is set aside (`WrongFrom`). The rest are grouped by
//!    their target state:
//!    - no candidate: the fold ends;
//!    - one group: those records are applied (they agree: e.g. two people both accepted
//!      the case offline), the state becomes their target, the frontier becomes the group
//!      (later records may follow any of them), `head` its first record by (time, id);
//!    - several groups: a **fork**. Its resolutions are the [`ResolutionRecord`]s whose
//!      `chosen` is one of the candidates (when an option is a bureau-only transition,
//!      only the bureau's count; the others are set aside). A resolution listed in another
//!      one's `overrides` is dropped. If the rest all choose the same group, that group is
//!      applied and the other groups' records are set aside (`NotChosen`). Otherwise
//!      (nobody resolved it, or resolutions disagree) the fold stops: the state stays the
//!      fork's `from` and the fork is reported as a [`LifecycleConflict`].
//! 4. Every other record is set aside as `Unreached` (behind an unresolved fork, after a
//!    record that lost or was set aside).
//!
//! The result depends only on the set of records: inputs are sorted (by id; candidates by
//! time, then id), never taken in insertion order. Device clocks only order records of one
//! step; they never decide a fork. A record arriving late from an offline device either
//! extends the history or forks it, it never rewrites what others see without a person's
//! resolution. While a fork is open, [`propose`] refuses new transitions (they would only
//! add a branch) and [`resolve`] records a supervisor's or the bureau's choice.
//!
//! # Storing it in the case document
//!
//! [`crate::case::lifecycle_doc`] keeps the records in the case document's root map
//! `lifecycle`, each under its id as a map of scalars, written once and never edited
//! (read as the union of every concurrent value of the key, so two devices creating the
//! map at once lose nothing). The document's `status` field only caches
//! `derive(..).state` for lists; readers that matter (the app's lifecycle view, the
//! server's check) derive. The server checks each new record with [`transition`] and the
//! case's facts at the change that wrote it, and flags, never drops, one that fails
//! (`sync-server/src/lifecycle_check.rs`).

mod history;
mod rules;
mod state;

#[cfg(test)]
mod tests;

pub use history::{
    derive, propose, resolve, Actor, ConflictOption, Derived, LifecycleConflict, LifecycleRecord,
    ProposeError, RecordId, ResolutionRecord, ResolveError, SetAside, SetAsideReason,
    TransitionRecord,
};
pub use rules::{transition, Preconditions, TransitionError, Unmet, DEFAULT_NOTICE_DAYS};
pub use state::{LifecycleState, Transition};
