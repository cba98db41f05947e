//! The device lifecycle and case scope over HTTP: one-time enrolment codes
//! (`POST /api/v1/enrol-codes`, supervisors for users of their unit, IT for anyone) and
//! their redemption (`POST /api/v1/enrol`, no token: the code is the credential); case
//! assignments (`POST /api/v1/cases/{id}/assign`, `DELETE …/assign/{user}`,
//! `GET …/assignments`) and transfers between units (`POST /api/v1/cases/{id}/transfer`,
//! bureau staff). Every change is written to the audit log in its own transaction.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::header::HOST;
use axum::http::HeaderMap;
use axum::Json;
use hecha_shared::api::{
    AssignRequest, AssignmentList, EnrolCode, EnrolCodeRequest, EnrolRedeemRequest, LoginResponse,
    Role, TransferRequest, TransferResponse,
};
use hecha_shared::{CaseId, DeviceId, UnitId};

use crate::admin::{self, Actor};
use crate::auth::{issue_token, Caller};
use crate::case_read::parse_case_id;
use crate::db::audit::AuditAction;
use crate::db::scope::{self, ScopeEvent};
use crate::db::{cases, devices, meta, units, users};
use crate::enrol;
use crate::error::ApiError;
use crate::{AppState, ServerError};

/// Longest transfer reason (characters).
const MAX_REASON: usize = 200;

fn json<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    body.map(|Json(v)| v)
        .map_err(|e| super::body_error(e.status(), e.body_text()))
}

fn by(caller: &Caller) -> Actor {
    Actor {
        user: Some(caller.user.user_id),
        device: Some(caller.device_id),
    }
}

/// The server's address as the caller reached it (for the QR code): the proxy's
/// `X-Forwarded-Proto`/`X-Forwarded-Host` when present, else `http://<Host>`.
fn server_url(headers: &HeaderMap) -> String {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(',').next().unwrap_or("").trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let host = header("x-forwarded-host").or_else(|| header(HOST.as_str()));
    let proto = header("x-forwarded-proto").unwrap_or_else(|| "http".to_string());
    match host {
        Some(host) => format!("{proto}://{host}"),
        None => String::new(),
    }
}

/// `POST /api/v1/enrol-codes`: a one-time code for a user's new device.
pub(crate) async fn create_code(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Json<EnrolCodeRequest>, JsonRejection>,
) -> Result<Json<EnrolCode>, ApiError> {
    let request = json(body)?;
    if !matches!(caller.user.role, Role::Admin | Role::Supervisor) {
        return Err(ApiError::Forbidden(
            "only IT and supervisors make enrolment codes",
        ));
    }
    let url = server_url(&headers);
    let code = state
        .blocking(move |state| {
            let username = request.user.trim().to_string();
            let target = state
                .db()
                .read(|conn| scope::user_by_name(conn, &username))?;
            let Some((_, role, unit, disabled)) = target else {
                return Err(ApiError::BadRequest(format!("没有用户 {username}")));
            };
            if caller.user.role == Role::Supervisor
                && (unit != caller.user.unit
                    || role == Role::Admin.code()
                    || role == Role::Bureau.code())
            {
                return Err(ApiError::Forbidden(
                    "supervisors enrol devices of their unit's users",
                ));
            }
            if disabled {
                return Err(ApiError::BadRequest(format!("用户 {username} 已停用")));
            }
            state
                .make_enrol_code(&username, enrol::DEFAULT_VALID_MINUTES, &url, by(&caller))
                .map_err(|e| match e {
                    ServerError::Invalid(m) => ApiError::BadRequest(m),
                    other => ApiError::from(other),
                })
        })
        .await?;
    Ok(Json(code))
}

/// `POST /api/v1/enrol`: redeems a code once, enrolling the device like a login.
pub(crate) async fn redeem(
    State(state): State<AppState>,
    body: Result<Json<EnrolRedeemRequest>, JsonRejection>,
) -> Result<Json<LoginResponse>, ApiError> {
    let request = json(body)?;
    let device_name = super::auth::device_name(&request.device_name)?;
    let actor_id = super::auth::actor_id(&request.actor_id)?;
    let normalised = enrol::normalise(&request.code).ok_or(ApiError::BadEnrolCode)?;
    let response = state
        .blocking(move |state| {
            let token = issue_token();
            let device_id = DeviceId::new_random();
            let now_ms = state.now_ms();
            let user = state.db().write(|conn| -> Result<_, ApiError> {
                let tx = conn.transaction()?;
                let user_id = scope::redeem_enrol_code(
                    &tx,
                    &enrol::hash(&normalised),
                    now_ms,
                    &device_id.to_string(),
                )?
                .ok_or(ApiError::BadEnrolCode)?;
                let flags = scope::user_flags(&tx, user_id)?.ok_or(ApiError::BadEnrolCode)?;
                if flags.disabled {
                    return Err(ApiError::BadEnrolCode);
                }
                if devices::actor_taken_by_other_user(&tx, &actor_id, user_id)? {
                    return Err(ApiError::ActorInUse);
                }
                devices::insert(
                    &tx,
                    &devices::NewDevice {
                        device_id,
                        user_id,
                        device_name: &device_name,
                        actor_id: &actor_id,
                        token_hash: &token.hash,
                        created_at_ms: now_ms,
                    },
                )?;
                let by = Actor {
                    user: Some(user_id),
                    device: Some(device_id),
                };
                admin::audit(
                    &tx,
                    by,
                    now_ms,
                    AuditAction::EnrolDevice,
                    &device_id.to_string(),
                    None,
                )?;
                let user = users::info(&tx, user_id)?
                    .ok_or_else(|| ApiError::internal("user vanished during enrolment"))?;
                tx.commit()?;
                Ok(user)
            })?;
            tracing::info!(username = %user.username, %device_id, "device enrolled with a code");
            Ok(LoginResponse {
                token: token.token,
                device_id,
                user,
            })
        })
        .await?;
    Ok(Json(response))
}

/// The case if the caller may see it (else `Unavailable`, as for a missing case): its unit.
fn visible_case(
    conn: &rusqlite::Connection,
    caller: &Caller,
    case_id: CaseId,
) -> Result<UnitId, ApiError> {
    let scope = caller.scope();
    match cases::unit_of(conn, case_id)? {
        Some(unit) if scope.allows(conn, case_id, &unit)? => Ok(unit),
        _ => Err(ApiError::Unavailable),
    }
}

/// Who may assign `case_unit`'s case to a verifier of `target_unit`: bureau staff any
/// verifier; a supervisor a verifier of their own unit, for a case of their unit.
fn may_assign(caller: &Caller, case_unit: &UnitId, target_unit: &UnitId) -> Result<(), ApiError> {
    match caller.user.role {
        Role::Bureau => Ok(()),
        Role::Supervisor if case_unit == &caller.user.unit && target_unit == &caller.user.unit => {
            Ok(())
        }
        Role::Supervisor => Err(ApiError::Forbidden(
            "supervisors assign their unit's cases to their unit's verifiers",
        )),
        _ => Err(ApiError::Forbidden(
            "only bureau staff and supervisors assign cases",
        )),
    }
}

fn target_verifier(
    conn: &rusqlite::Connection,
    username: &str,
) -> Result<(hecha_shared::UserId, UnitId), ApiError> {
    match scope::user_by_name(conn, username.trim())? {
        Some((user, role, unit, false)) if role == Role::Verifier.code() => Ok((user, unit)),
        Some(_) => Err(ApiError::BadRequest(format!(
            "{} 不是在岗的核查员",
            username.trim()
        ))),
        None => Err(ApiError::BadRequest(format!(
            "没有用户 {}",
            username.trim()
        ))),
    }
}

/// `POST /api/v1/cases/{id}/assign {user}`.
pub(crate) async fn assign(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Json<AssignRequest>, JsonRejection>,
) -> Result<Json<AssignmentList>, ApiError> {
    let case_id = parse_case_id(&id)?;
    let request = json(body)?;
    if !matches!(caller.user.role, Role::Bureau | Role::Supervisor) {
        return Err(ApiError::Forbidden(
            "only bureau staff and supervisors assign cases",
        ));
    }
    let list = state
        .blocking(move |state| {
            let now = state.now_ms();
            state.db().write(|conn| -> Result<_, ApiError> {
                let tx = conn.transaction()?;
                let case_unit = visible_case(&tx, &caller, case_id)?;
                let (user, user_unit) = target_verifier(&tx, &request.user)?;
                may_assign(&caller, &case_unit, &user_unit)?;
                if scope::assign(&tx, case_id, user, Some(caller.user.user_id), now)? {
                    // A new sequence number: the assignee's devices hear of the case.
                    let seq = meta::next_seq(&tx)?;
                    scope::touch_case(&tx, case_id, seq)?;
                    let target = format!("{case_id}:{}", request.user.trim());
                    admin::audit(
                        &tx,
                        by(&caller),
                        now,
                        AuditAction::AssignCase,
                        &target,
                        None,
                    )?;
                }
                let assignments = scope::assignments_of(&tx, case_id)?;
                tx.commit()?;
                Ok(AssignmentList { assignments })
            })
        })
        .await?;
    Ok(Json(list))
}

/// `DELETE /api/v1/cases/{id}/assign/{user}`: the assignee's devices drop the case at
/// their next sync (unless their unit holds it).
pub(crate) async fn unassign(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, username)): Path<(String, String)>,
) -> Result<Json<AssignmentList>, ApiError> {
    let case_id = parse_case_id(&id)?;
    if !matches!(caller.user.role, Role::Bureau | Role::Supervisor) {
        return Err(ApiError::Forbidden(
            "only bureau staff and supervisors assign cases",
        ));
    }
    let list = state
        .blocking(move |state| {
            let now = state.now_ms();
            state.db().write(|conn| -> Result<_, ApiError> {
                let tx = conn.transaction()?;
                let case_unit = visible_case(&tx, &caller, case_id)?;
                let (user, user_unit) = target_verifier(&tx, &username)?;
                may_assign(&caller, &case_unit, &user_unit)?;
                if scope::unassign(&tx, case_id, user)? {
                    let seq = meta::next_seq(&tx)?;
                    scope::record(&tx, seq, &ScopeEvent::Unassigned { case_id, user }, now)?;
                    let target = format!("{case_id}:{}", username.trim());
                    admin::audit(
                        &tx,
                        by(&caller),
                        now,
                        AuditAction::UnassignCase,
                        &target,
                        None,
                    )?;
                }
                let assignments = scope::assignments_of(&tx, case_id)?;
                tx.commit()?;
                Ok(AssignmentList { assignments })
            })
        })
        .await?;
    Ok(Json(list))
}

/// `GET /api/v1/cases/{id}/assignments`: who the case is assigned to (anyone who sees it).
pub(crate) async fn assignments(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<AssignmentList>, ApiError> {
    let case_id = parse_case_id(&id)?;
    let list = state
        .blocking(move |state| {
            state.db().read(|conn| -> Result<_, ApiError> {
                visible_case(conn, &caller, case_id)?;
                Ok(AssignmentList {
                    assignments: scope::assignments_of(conn, case_id)?,
                })
            })
        })
        .await?;
    Ok(Json(list))
}

/// `POST /api/v1/cases/{id}/transfer {unit, reason}` (bureau staff): the case moves to
/// another unit; the old unit's devices drop it, the new unit's receive it.
pub(crate) async fn transfer(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Json<TransferRequest>, JsonRejection>,
) -> Result<Json<TransferResponse>, ApiError> {
    let case_id = parse_case_id(&id)?;
    let request = json(body)?;
    if caller.user.role != Role::Bureau {
        return Err(ApiError::Forbidden("only bureau staff transfer cases"));
    }
    let reason = request.reason.trim().to_string();
    if reason.is_empty() || reason.chars().count() > MAX_REASON {
        return Err(ApiError::BadRequest(format!(
            "请填写移交原因（最多{MAX_REASON}个字符）"
        )));
    }
    let answer = state
        .blocking(move |state| {
            let now = state.now_ms();
            state.db().write(|conn| -> Result<_, ApiError> {
                let tx = conn.transaction()?;
                let from = visible_case(&tx, &caller, case_id)?;
                let unit_name = units::name_of(&tx, &request.unit)?
                    .ok_or_else(|| ApiError::BadRequest(format!("没有单位 {}", request.unit)))?;
                if from != request.unit {
                    let seq = meta::next_seq(&tx)?;
                    scope::move_case(&tx, case_id, &request.unit, seq)?;
                    let event = ScopeEvent::CaseLeftUnit {
                        case_id,
                        unit: from.clone(),
                    };
                    scope::record(&tx, seq, &event, now)?;
                    let target = format!("{case_id}:{from}->{}", request.unit);
                    admin::audit(
                        &tx,
                        by(&caller),
                        now,
                        AuditAction::TransferCase,
                        &target,
                        Some(&reason),
                    )?;
                }
                tx.commit()?;
                Ok(TransferResponse {
                    case_id,
                    from_unit: from,
                    unit: request.unit,
                    unit_name,
                })
            })
        })
        .await?;
    Ok(Json(answer))
}
