//! The rules a single transition must pass: it starts from an allowed state, the actor's
//! role may make it, and the case's facts meet its preconditions. Pure: the caller reads
//! the facts (and today's date) from the case and passes them in.

use serde::{Deserialize, Serialize};

use super::state::{LifecycleState, Transition};
use crate::api::Role;
use crate::calendar::days_between;
use crate::id_number::Date;

/// The default length of a public notice (公示), in days.
pub const DEFAULT_NOTICE_DAYS: u32 = 7;

/// What the rules need to know about the case at the moment of the transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preconditions {
    /// Today's date (district time) where the transition is made.
    pub today: Date,
    /// The household investigation is signed by at least two investigators and the
    /// applicant.
    pub investigation_signed: bool,
    /// Signed neighbour visits recorded.
    pub neighbour_visits_signed: u32,
    /// The community deliberation is recorded (meeting, representatives, outcome).
    pub deliberation_recorded: bool,
    /// Unresolved conflicts in the case: fields with concurrent values plus lifecycle
    /// conflicts.
    pub unresolved_conflicts: u32,
    /// The day the public notice was posted, if it was.
    pub notice_start: Option<Date>,
    /// The configured length of the public notice in days.
    pub notice_days: u32,
    /// Objections to the public notice not yet handled.
    pub open_objections: u32,
    /// The current re-check visit is signed.
    pub recheck_signed: bool,
    /// The comment the actor entered with the transition; it is the reason where one is
    /// required.
    pub comment: String,
}

impl Preconditions {
    /// Nothing done yet, the default notice length, no comment.
    pub fn new(today: Date) -> Self {
        Self {
            today,
            investigation_signed: false,
            neighbour_visits_signed: 0,
            deliberation_recorded: false,
            unresolved_conflicts: 0,
            notice_start: None,
            notice_days: DEFAULT_NOTICE_DAYS,
            open_objections: 0,
            recheck_signed: false,
            comment: String::new(),
        }
    }

    /// Whole days the notice has been posted (0 on the day it was posted).
    pub fn notice_days_elapsed(&self) -> Option<i64> {
        self.notice_start.map(|s| days_between(s, self.today))
    }
}

/// A precondition that is not met.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Unmet {
    #[error("the investigation is not signed by two investigators and the applicant")]
    InvestigationNotSigned,
    #[error("no signed neighbour visit")]
    NoNeighbourVisit,
    #[error("the community deliberation is not recorded")]
    DeliberationNotRecorded,
    #[error("{count} unresolved conflict(s)")]
    UnresolvedConflicts { count: u32 },
    #[error("the public notice was never posted")]
    NoticeNotPosted,
    #[error("the public notice has lasted {elapsed} of {required} days")]
    NoticeTooShort { elapsed: i64, required: u32 },
    #[error("{count} objection(s) to the public notice not handled")]
    OpenObjections { count: u32 },
    #[error("the re-check visit is not signed")]
    RecheckNotSigned,
    #[error("a reason is required")]
    ReasonRequired,
}

impl Unmet {
    pub fn message_zh(&self) -> String {
        match self {
            Unmet::InvestigationNotSigned => {
                "入户调查尚未由两名调查人员和申请人签字确认".to_string()
            }
            Unmet::NoNeighbourVisit => "尚无签字确认的邻里访问记录".to_string(),
            Unmet::DeliberationNotRecorded => "尚未记录群众评议".to_string(),
            Unmet::UnresolvedConflicts { count } => {
                format!("案件还有{count}处冲突未解决，请先处理冲突")
            }
            Unmet::NoticeNotPosted => "尚未公示".to_string(),
            Unmet::NoticeTooShort { elapsed, required } => {
                format!("公示期未满：已公示{elapsed}天，须满{required}天")
            }
            Unmet::OpenObjections { count } => {
                format!("公示期间有{count}条异议尚未处理")
            }
            Unmet::RecheckNotSigned => "复核记录尚未签字确认".to_string(),
            Unmet::ReasonRequired => "请填写理由".to_string(),
        }
    }
}

/// Why a transition was refused: which rule failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum TransitionError {
    #[error("{} is not possible from state {}", transition.code(), state.code())]
    InvalidFromState {
        state: LifecycleState,
        transition: Transition,
    },
    #[error("role {} may not {}", role.code(), transition.code())]
    RoleNotAllowed { role: Role, transition: Transition },
    #[error("{} refused: {unmet}", transition.code())]
    PreconditionUnmet {
        transition: Transition,
        unmet: Unmet,
    },
}

impl TransitionError {
    /// The message a user reads (zh-CN).
    pub fn message_zh(&self) -> String {
        match self {
            TransitionError::InvalidFromState { state, transition } => format!(
                "案件当前处于“{}”，不能执行“{}”",
                state.label_zh(),
                transition.label_zh()
            ),
            TransitionError::RoleNotAllowed { role, transition } => {
                let allowed: Vec<&str> = transition
                    .allowed_roles()
                    .iter()
                    .map(|r| r.label_zh())
                    .collect();
                format!(
                    "{}无权执行“{}”（仅限{}）",
                    role.label_zh(),
                    transition.label_zh(),
                    allowed.join("、")
                )
            }
            TransitionError::PreconditionUnmet { transition, unmet } => {
                format!(
                    "不能执行“{}”：{}",
                    transition.label_zh(),
                    unmet.message_zh()
                )
            }
        }
    }
}

/// Checks one transition and returns the state it leads to. Checked in this order: the
/// state it starts from, the actor's role, then every precondition (the first unmet one
/// is reported). Preconditions:
/// - a reason (non-blank comment) for [`Transition::needs_reason`] transitions;
/// - `CompleteInvestigation`: the investigation is signed;
/// - `CompleteNeighbourVisits`: at least one signed neighbour visit;
/// - `CompleteDeliberation` (entering street review) and `StreetApprove`: the
///   deliberation recorded (for the former), the investigation signed, no unresolved
///   conflict;
/// - `CloseNotice` and `Approve`: the notice was posted and has lasted its configured
///   days (`days_between(start, today) >= notice_days`: posted on the 1st for 7 days, the
///   earliest day is the 8th), no open objection; `Approve` also needs the investigation
///   signed and no unresolved conflict;
/// - `ConfirmUnchanged`, `Adjust`: the re-check visit is signed.
pub fn transition(
    state: LifecycleState,
    transition: Transition,
    actor_role: Role,
    facts: &Preconditions,
) -> Result<LifecycleState, TransitionError> {
    if !transition.from_states().contains(&state) {
        return Err(TransitionError::InvalidFromState { state, transition });
    }
    if !transition.allowed_roles().contains(&actor_role) {
        return Err(TransitionError::RoleNotAllowed {
            role: actor_role,
            transition,
        });
    }
    check_preconditions(transition, facts)
        .map_err(|unmet| TransitionError::PreconditionUnmet { transition, unmet })?;
    Ok(transition.target())
}

fn check_preconditions(transition: Transition, facts: &Preconditions) -> Result<(), Unmet> {
    if transition.needs_reason() && facts.comment.trim().is_empty() {
        return Err(Unmet::ReasonRequired);
    }
    let signed = || {
        if facts.investigation_signed {
            Ok(())
        } else {
            Err(Unmet::InvestigationNotSigned)
        }
    };
    let no_conflict = || match facts.unresolved_conflicts {
        0 => Ok(()),
        count => Err(Unmet::UnresolvedConflicts { count }),
    };
    let notice_over = || {
        let elapsed = facts.notice_days_elapsed().ok_or(Unmet::NoticeNotPosted)?;
        if elapsed < i64::from(facts.notice_days) {
            return Err(Unmet::NoticeTooShort {
                elapsed: elapsed.max(0),
                required: facts.notice_days,
            });
        }
        match facts.open_objections {
            0 => Ok(()),
            count => Err(Unmet::OpenObjections { count }),
        }
    };
    let recheck_signed = || {
        if facts.recheck_signed {
            Ok(())
        } else {
            Err(Unmet::RecheckNotSigned)
        }
    };
    match transition {
        Transition::CompleteInvestigation => signed(),
        Transition::CompleteNeighbourVisits => {
            if facts.neighbour_visits_signed == 0 {
                Err(Unmet::NoNeighbourVisit)
            } else {
                Ok(())
            }
        }
        Transition::CompleteDeliberation => {
            if !facts.deliberation_recorded {
                return Err(Unmet::DeliberationNotRecorded);
            }
            signed()?;
            no_conflict()
        }
        Transition::StreetApprove => {
            signed()?;
            no_conflict()
        }
        Transition::CloseNotice => notice_over(),
        Transition::Approve => {
            signed()?;
            no_conflict()?;
            notice_over()
        }
        Transition::ConfirmUnchanged | Transition::Adjust => recheck_signed(),
        Transition::Accept
        | Transition::GrantUrgentAid
        | Transition::StartInvestigation
        | Transition::ReturnToInvestigation
        | Transition::Reject
        | Transition::BureauReturn
        | Transition::StartRecheck
        | Transition::Exit => Ok(()),
    }
}
