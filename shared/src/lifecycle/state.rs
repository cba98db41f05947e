//! The lifecycle's states and transitions: codes (stored in documents), Chinese labels,
//! and the static table of which transition leads from which states to which state and
//! which roles may make it.

use serde::{Deserialize, Serialize};

use crate::api::Role;

/// Where a case stands in the procedure. The code is what documents and the server's
/// ledger store; the label is what people read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LifecycleState {
    /// 申请/代办: the application is recorded (by the household or, on its behalf, by a
    /// verifier). Every case starts here.
    Applied,
    /// 受理: the street office accepted the application.
    Accepted,
    /// 急难先行救助: urgent hardship; temporary assistance granted first, the regular
    /// formalities (investigation onward) follow.
    UrgentAid,
    /// 入户调查: the household investigation is under way.
    Investigation,
    /// 邻里访问: the investigation is signed; neighbour visits are under way.
    NeighbourVisits,
    /// 群众评议: waiting for / holding the community deliberation.
    Deliberation,
    /// 街道审核: the street office reviews the file.
    StreetReview,
    /// 公示: the public notice is posted.
    PublicNotice,
    /// 民政局审批: waiting for the bureau's decision.
    BureauDecision,
    /// 在保: an active recipient.
    Active,
    /// 动态复核: a periodic (or change-triggered) re-check is under way.
    Recheck,
    /// 调整: an active recipient whose assistance the last re-check adjusted.
    Adjusted,
    /// 退出: assistance ended. Final.
    Exited,
    /// 驳回: the bureau rejected the application. Final (a new application is a new case).
    Rejected,
}

impl LifecycleState {
    pub const ALL: [LifecycleState; 14] = [
        LifecycleState::Applied,
        LifecycleState::Accepted,
        LifecycleState::UrgentAid,
        LifecycleState::Investigation,
        LifecycleState::NeighbourVisits,
        LifecycleState::Deliberation,
        LifecycleState::StreetReview,
        LifecycleState::PublicNotice,
        LifecycleState::BureauDecision,
        LifecycleState::Active,
        LifecycleState::Recheck,
        LifecycleState::Adjusted,
        LifecycleState::Exited,
        LifecycleState::Rejected,
    ];

    /// The state every case starts in.
    pub const INITIAL: LifecycleState = LifecycleState::Applied;

    pub fn code(self) -> &'static str {
        match self {
            LifecycleState::Applied => "applied",
            LifecycleState::Accepted => "accepted",
            LifecycleState::UrgentAid => "urgent_aid",
            LifecycleState::Investigation => "investigation",
            LifecycleState::NeighbourVisits => "neighbour_visits",
            LifecycleState::Deliberation => "deliberation",
            LifecycleState::StreetReview => "street_review",
            LifecycleState::PublicNotice => "public_notice",
            LifecycleState::BureauDecision => "bureau_decision",
            LifecycleState::Active => "active",
            LifecycleState::Recheck => "recheck",
            LifecycleState::Adjusted => "adjusted",
            LifecycleState::Exited => "exited",
            LifecycleState::Rejected => "rejected",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            LifecycleState::Applied => "申请",
            LifecycleState::Accepted => "受理",
            LifecycleState::UrgentAid => "急难先行救助",
            LifecycleState::Investigation => "入户调查",
            LifecycleState::NeighbourVisits => "邻里访问",
            LifecycleState::Deliberation => "群众评议",
            LifecycleState::StreetReview => "街道审核",
            LifecycleState::PublicNotice => "公示",
            LifecycleState::BureauDecision => "民政局审批",
            LifecycleState::Active => "在保",
            LifecycleState::Recheck => "动态复核",
            LifecycleState::Adjusted => "已调整",
            LifecycleState::Exited => "退出",
            LifecycleState::Rejected => "驳回",
        }
    }

    /// No transition leaves this state.
    pub fn is_final(self) -> bool {
        Transition::ALL
            .iter()
            .all(|t| !t.from_states().contains(&self))
    }

    /// The household receives regular assistance in this state (在保, incl. during a
    /// re-check and after an adjustment).
    pub fn is_recipient(self) -> bool {
        matches!(
            self,
            LifecycleState::Active | LifecycleState::Recheck | LifecycleState::Adjusted
        )
    }

    /// The transitions that leave this state (whoever may make them).
    pub fn transitions(self) -> Vec<Transition> {
        Transition::ALL
            .into_iter()
            .filter(|t| t.from_states().contains(&self))
            .collect()
    }
}

/// A step of the procedure. Each has a fixed target state, the states it may start
/// from, and the roles allowed to make it ([`Transition::allowed_roles`]); IT admins
/// make none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transition {
    /// 受理: the street accepts the application. Supervisor.
    Accept,
    /// 急难先行救助: urgent hardship; temporary assistance first. Supervisor or bureau,
    /// with a reason, from an application (accepted or not).
    GrantUrgentAid,
    /// 开始入户调查: from an accepted application, or after urgent aid (the formalities
    /// follow). Verifier or supervisor.
    StartInvestigation,
    /// 完成入户调查: the investigation is signed by two investigators and the applicant.
    /// Verifier.
    CompleteInvestigation,
    /// 完成邻里访问: at least one signed neighbour visit. Verifier.
    CompleteNeighbourVisits,
    /// 完成群众评议: the deliberation is recorded; the file goes to street review.
    /// Verifier or supervisor (the street organises, the verifier assists).
    CompleteDeliberation,
    /// 街道审核通过: the street approves and posts the public notice. Supervisor.
    StreetApprove,
    /// 退回补充调查: the street sends the file back to investigation, with a reason.
    /// Supervisor.
    ReturnToInvestigation,
    /// 公示期满报批: the notice lasted its days, objections are handled; the file goes to
    /// the bureau. Supervisor.
    CloseNotice,
    /// 审批通过: bureau.
    Approve,
    /// 审批驳回: bureau, with a reason.
    Reject,
    /// 民政局退回: the bureau sends the file back to investigation, with a reason.
    BureauReturn,
    /// 开始动态复核: verifier or supervisor.
    StartRecheck,
    /// 复核无变化: the signed re-check found no change. Supervisor or bureau.
    ConfirmUnchanged,
    /// 调整救助: the signed re-check found a change; assistance adjusted. Bureau, with a
    /// reason.
    Adjust,
    /// 退出: assistance ends. Bureau, with a reason.
    Exit,
}

use LifecycleState as S;

impl Transition {
    pub const ALL: [Transition; 16] = [
        Transition::Accept,
        Transition::GrantUrgentAid,
        Transition::StartInvestigation,
        Transition::CompleteInvestigation,
        Transition::CompleteNeighbourVisits,
        Transition::CompleteDeliberation,
        Transition::StreetApprove,
        Transition::ReturnToInvestigation,
        Transition::CloseNotice,
        Transition::Approve,
        Transition::Reject,
        Transition::BureauReturn,
        Transition::StartRecheck,
        Transition::ConfirmUnchanged,
        Transition::Adjust,
        Transition::Exit,
    ];

    /// The states this transition may start from.
    pub fn from_states(self) -> &'static [LifecycleState] {
        match self {
            Transition::Accept => &[S::Applied],
            Transition::GrantUrgentAid => &[S::Applied, S::Accepted],
            Transition::StartInvestigation => &[S::Accepted, S::UrgentAid],
            Transition::CompleteInvestigation => &[S::Investigation],
            Transition::CompleteNeighbourVisits => &[S::NeighbourVisits],
            Transition::CompleteDeliberation => &[S::Deliberation],
            Transition::StreetApprove => &[S::StreetReview],
            Transition::ReturnToInvestigation => &[
                S::NeighbourVisits,
                S::Deliberation,
                S::StreetReview,
                S::PublicNotice,
            ],
            Transition::CloseNotice => &[S::PublicNotice],
            Transition::Approve | Transition::Reject | Transition::BureauReturn => {
                &[S::BureauDecision]
            }
            Transition::StartRecheck => &[S::Active, S::Adjusted],
            Transition::ConfirmUnchanged | Transition::Adjust => &[S::Recheck],
            Transition::Exit => &[S::Active, S::Recheck, S::Adjusted],
        }
    }

    /// The state this transition leads to.
    pub fn target(self) -> LifecycleState {
        match self {
            Transition::Accept => S::Accepted,
            Transition::GrantUrgentAid => S::UrgentAid,
            Transition::StartInvestigation
            | Transition::ReturnToInvestigation
            | Transition::BureauReturn => S::Investigation,
            Transition::CompleteInvestigation => S::NeighbourVisits,
            Transition::CompleteNeighbourVisits => S::Deliberation,
            Transition::CompleteDeliberation => S::StreetReview,
            Transition::StreetApprove => S::PublicNotice,
            Transition::CloseNotice => S::BureauDecision,
            Transition::Approve | Transition::ConfirmUnchanged => S::Active,
            Transition::Reject => S::Rejected,
            Transition::StartRecheck => S::Recheck,
            Transition::Adjust => S::Adjusted,
            Transition::Exit => S::Exited,
        }
    }

    /// The roles allowed to make this transition (never the IT admin).
    pub fn allowed_roles(self) -> &'static [Role] {
        use Role::{Bureau, Supervisor, Verifier};
        match self {
            Transition::Accept
            | Transition::StreetApprove
            | Transition::ReturnToInvestigation
            | Transition::CloseNotice => &[Supervisor],
            Transition::GrantUrgentAid | Transition::ConfirmUnchanged => &[Supervisor, Bureau],
            Transition::StartInvestigation
            | Transition::CompleteDeliberation
            | Transition::StartRecheck => &[Verifier, Supervisor],
            Transition::CompleteInvestigation | Transition::CompleteNeighbourVisits => &[Verifier],
            Transition::Approve
            | Transition::Reject
            | Transition::BureauReturn
            | Transition::Adjust
            | Transition::Exit => &[Bureau],
        }
    }

    /// The actor must give a reason (a non-blank comment) with this transition.
    pub fn needs_reason(self) -> bool {
        matches!(
            self,
            Transition::GrantUrgentAid
                | Transition::ReturnToInvestigation
                | Transition::Reject
                | Transition::BureauReturn
                | Transition::Adjust
                | Transition::Exit
        )
    }

    pub fn code(self) -> &'static str {
        match self {
            Transition::Accept => "accept",
            Transition::GrantUrgentAid => "grant_urgent_aid",
            Transition::StartInvestigation => "start_investigation",
            Transition::CompleteInvestigation => "complete_investigation",
            Transition::CompleteNeighbourVisits => "complete_neighbour_visits",
            Transition::CompleteDeliberation => "complete_deliberation",
            Transition::StreetApprove => "street_approve",
            Transition::ReturnToInvestigation => "return_to_investigation",
            Transition::CloseNotice => "close_notice",
            Transition::Approve => "approve",
            Transition::Reject => "reject",
            Transition::BureauReturn => "bureau_return",
            Transition::StartRecheck => "start_recheck",
            Transition::ConfirmUnchanged => "confirm_unchanged",
            Transition::Adjust => "adjust",
            Transition::Exit => "exit",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.code() == code)
    }

    /// The button / history label (zh-CN).
    pub fn label_zh(self) -> &'static str {
        match self {
            Transition::Accept => "受理",
            Transition::GrantUrgentAid => "急难先行救助",
            Transition::StartInvestigation => "开始入户调查",
            Transition::CompleteInvestigation => "完成入户调查",
            Transition::CompleteNeighbourVisits => "完成邻里访问",
            Transition::CompleteDeliberation => "完成群众评议",
            Transition::StreetApprove => "街道审核通过",
            Transition::ReturnToInvestigation => "退回补充调查",
            Transition::CloseNotice => "公示期满报批",
            Transition::Approve => "审批通过",
            Transition::Reject => "审批驳回",
            Transition::BureauReturn => "民政局退回",
            Transition::StartRecheck => "开始动态复核",
            Transition::ConfirmUnchanged => "复核无变化",
            Transition::Adjust => "调整救助",
            Transition::Exit => "退出救助",
        }
    }
}
