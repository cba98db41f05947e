//! JSON types of the server's HTTP API (everything but the sync body): login, case
//! queries, errors. Shared so the app's client and the server cannot drift apart.

use serde::{Deserialize, Serialize};

use crate::ids::{CaseId, DeviceId, UnitId, UserId};

/// What a user may do. The server decides scope from this and the user's unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 核查员: captures visits for the cases of their unit.
    Verifier,
    /// 街道/镇 民政专干: reviews the cases of their unit.
    Supervisor,
    /// 区民政局: district-wide queries and decisions.
    Bureau,
    /// 民政局 IT: users and devices, no case content.
    Admin,
}

impl Role {
    pub fn label_zh(self) -> &'static str {
        match self {
            Role::Verifier => "核查员",
            Role::Supervisor => "街道审核员",
            Role::Bureau => "民政局",
            Role::Admin => "系统管理员",
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Role::Verifier => "verifier",
            Role::Supervisor => "supervisor",
            Role::Bureau => "bureau",
            Role::Admin => "admin",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [Role::Verifier, Role::Supervisor, Role::Bureau, Role::Admin]
            .into_iter()
            .find(|r| r.code() == code)
    }
}

/// `POST /api/v1/login`: a device enrols by logging in; it gets its own token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    /// Shown to the bureau's IT in the device list.
    pub device_name: String,
    /// The Automerge actor id (hex) this device writes its changes with.
    pub actor_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginResponse {
    /// Bearer token for this device; the server keeps only its hash.
    pub token: String,
    pub device_id: DeviceId,
    pub user: UserInfo,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    pub user_id: UserId,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub unit: UnitId,
    pub unit_name: String,
    /// The account may read its scope but not change any case (auditors, observers):
    /// the server refuses its devices' changes.
    #[serde(default)]
    pub read_only: bool,
}

/// A row of the case ledger (台账) as the server materialises it. ID numbers are masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseRow {
    pub case_id: CaseId,
    pub unit: UnitId,
    pub unit_name: String,
    pub applicant_name: String,
    pub id_masked: String,
    pub member_count: u32,
    pub status: String,
    pub updated_at_ms: i64,
    // ---- schema v2 ledger columns (issue 4); absent from older servers' answers ----
    /// When the server first stored the case (ms).
    #[serde(default)]
    pub created_at_ms: i64,
    /// `male` / `female` from the ID number; empty when it is not a valid ID number.
    #[serde(default)]
    pub sex: String,
    /// Age in whole years today (Beijing time), from the ID number.
    #[serde(default)]
    pub age: Option<u32>,
    /// 社区/村.
    #[serde(default)]
    pub community: String,
    /// `application`, `on_behalf`, `discovery` (empty for schema-1 documents).
    #[serde(default)]
    pub origin: String,
    #[serde(default)]
    pub urgent: bool,
    /// `urban` / `rural` / empty.
    #[serde(default)]
    pub area: String,
    /// Chosen assistance type codes, sorted.
    #[serde(default)]
    pub assistance: Vec<String>,
    /// Chosen hardship cause codes, sorted.
    #[serde(default)]
    pub hardship: Vec<String>,
    /// Per-capita monthly household income, fen.
    #[serde(default)]
    pub per_capita_fen: i64,
    /// Annual household income, fen.
    #[serde(default)]
    pub annual_income_fen: i64,
    /// The verifier who created the case (the user whose device first brought it).
    #[serde(default)]
    pub verifier: Option<UserId>,
    #[serde(default)]
    pub verifier_name: Option<String>,
    /// When the home visit started (ms); `None`: no visit recorded.
    #[serde(default)]
    pub visit_at_ms: Option<i64>,
    /// The latest signature's time (ms); `None`: not signed.
    #[serde(default)]
    pub signed_at_ms: Option<i64>,
    /// Some signature no longer matches the content it attested.
    #[serde(default)]
    pub changed_after_signing: bool,
    /// Some field holds concurrent values nobody has resolved.
    #[serde(default)]
    pub open_conflicts: bool,
}

/// `GET /api/v1/cases` query parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseQuery {
    /// Part of the applicant's name.
    pub name: Option<String>,
    /// The last characters of the applicant's ID number (e.g. the last four).
    pub id_suffix: Option<String>,
    /// Only cases changed at or after this time (ms since the epoch).
    pub updated_since_ms: Option<i64>,
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseList {
    pub cases: Vec<CaseRow>,
    /// How many cases match in all (for paging).
    pub total: u64,
}

/// One change of a case's history (`GET /api/v1/cases/{id}/history`), attributed through
/// the server's device register: the change's Automerge actor is the actor a device
/// registered at login, and that device belongs to one user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseChange {
    /// The Automerge change hash (hex).
    pub hash: String,
    /// The Automerge actor id (hex) that wrote the change.
    pub actor: String,
    /// The actor's sequence number of this change (1, 2, ...).
    pub seq: u64,
    /// Hashes (hex) of the changes this one builds on.
    pub deps: Vec<String>,
    /// The first device enrolled with this actor; `None` if no device registered it.
    pub device_id: Option<DeviceId>,
    pub device_name: Option<String>,
    pub user_id: Option<UserId>,
    pub username: Option<String>,
    /// The person's name as the server knows it (not as the device claimed).
    pub display_name: Option<String>,
    /// When the device says it made the change (its own clock, second precision), ms.
    pub at_ms: i64,
    /// The `action` of the change's commit message (`ChangeNote`), e.g. `create`, `save`;
    /// empty when the message is not a `ChangeNote`.
    pub action: String,
}

/// `GET /api/v1/cases/{id}/history`: every change, oldest first (causal order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseHistory {
    pub case_id: CaseId,
    pub changes: Vec<CaseChange>,
}

/// `GET /api/v1/cases/{id}/document`: the whole case document as JSON, as any Automerge
/// implementation would read it (concurrent values: the deterministic winner). Not
/// masked: reading it is written to the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseDocument {
    pub case_id: CaseId,
    pub unit: UnitId,
    pub unit_name: String,
    /// The document's heads (hex change hashes).
    pub heads: Vec<String>,
    pub document: serde_json::Value,
}

/// One row of the audit log (`GET /api/v1/audit`, bureau only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at_ms: i64,
    /// `None` for the server's own administration commands (e.g. a revocation by IT).
    pub user_id: Option<UserId>,
    pub username: Option<String>,
    pub display_name: Option<String>,
    pub device_id: Option<DeviceId>,
    /// `read_case`, `read_history`, `export`, `login`, `revoke_device`.
    pub action: String,
    /// What was read or done: a case id, an export's name and filters, a device id.
    pub target: String,
    /// The `why` the reader gave, if any.
    pub reason: Option<String>,
}

/// `GET /api/v1/audit`: newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditList {
    pub entries: Vec<AuditEntry>,
}

/// One cell of `GET /api/v1/stats`: how many cases of a unit are in a status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCount {
    pub unit: UnitId,
    pub unit_name: String,
    /// A `CaseStatus` code (as the document holds it).
    pub status: String,
    pub count: u64,
}

/// `GET /api/v1/stats`: case counts by unit × status within the caller's scope (cells
/// with no case are left out), ordered by unit code then status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseStats {
    pub counts: Vec<StatusCount>,
    pub total: u64,
}

/// One cell of `GET /api/v1/stats/assistance`: the cases of a unit in a status that
/// chose an assistance type (a case choosing two types counts in both).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssistanceCount {
    pub unit: UnitId,
    pub unit_name: String,
    /// An `AssistanceType` code; empty: cases with no assistance type chosen.
    pub assistance: String,
    pub status: String,
    /// Cases (households).
    pub households: u64,
    /// People in those households (applicant + members not removed).
    pub persons: u64,
    /// Sum of the households' annual income, fen.
    pub annual_income_fen: i64,
    /// Sum of the households' per-capita monthly income, fen (divide by `households`
    /// for the mean).
    pub per_capita_fen_sum: i64,
}

/// `GET /api/v1/stats/assistance`: counts and amounts by unit × assistance type × status
/// within the caller's scope, ordered by unit, assistance, status; empty cells left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssistanceStats {
    pub cells: Vec<AssistanceCount>,
    /// Distinct cases counted (a case is one household however many types it chose).
    pub total_households: u64,
}

/// One row of `GET /api/v1/stats/visits`: home visits a verifier started in a month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitCount {
    /// `None`: cases whose creator the server does not know.
    pub verifier: Option<UserId>,
    pub username: Option<String>,
    pub display_name: Option<String>,
    pub unit: UnitId,
    pub unit_name: String,
    /// `YYYY-MM`, Beijing time.
    pub month: String,
    pub visits: u64,
}

/// `GET /api/v1/stats/visits`: visits per verifier per month, ordered by month, unit,
/// username.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitStats {
    pub rows: Vec<VisitCount>,
}

/// The body of every error response: a stable code and a message for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
    pub message: String,
    /// The reason people gave, when there is one (e.g. why a device was revoked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `POST /api/v1/cases/{id}/assign`: give a verifier a case (bureau spot checks, or a
/// supervisor within their unit). `user` is a username.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignRequest {
    pub user: String,
}

/// One assignment of a case to a user (`GET /api/v1/cases/{id}/assignments`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    pub case_id: CaseId,
    pub user_id: UserId,
    pub username: String,
    pub display_name: String,
    /// Who assigned it (username); `None` for the server itself (a bureau verifier's own
    /// new case is assigned to them at creation).
    pub assigned_by: Option<String>,
    pub assigned_at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignmentList {
    pub assignments: Vec<Assignment>,
}

/// `POST /api/v1/cases/{id}/transfer` (bureau staff): move a case to another unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferRequest {
    pub unit: UnitId,
    pub reason: String,
}

/// The answer to a transfer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferResponse {
    pub case_id: CaseId,
    pub from_unit: UnitId,
    pub unit: UnitId,
    pub unit_name: String,
}

/// `POST /api/v1/enrol-codes`: a one-time enrolment code for a user's new device
/// (supervisors: users of their unit; IT admin: anyone). `user` is a username.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolCodeRequest {
    pub user: String,
}

/// A one-time enrolment code. Only its hash is stored; it works once, until `expires_at_ms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolCode {
    pub code: String,
    pub username: String,
    pub display_name: String,
    pub expires_at_ms: i64,
    /// What the QR code holds: `hecha-enrol:?server=<url>&code=<code>` (the server URL is
    /// empty when the server does not know its public address).
    pub qr_payload: String,
    /// The QR code of `qr_payload` as an SVG document.
    pub qr_svg: String,
}

/// `POST /api/v1/enrol`: a device redeems a one-time code (instead of a password) and is
/// bound to the code's user with its actor id. Answered like a login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolRedeemRequest {
    pub code: String,
    pub device_name: String,
    pub actor_id: String,
}
