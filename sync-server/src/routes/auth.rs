//! `POST /api/v1/login` (enrols a device, returns its token) and `GET /api/v1/me`.

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::Json;
use hecha_shared::api::{LoginRequest, LoginResponse, UserInfo};
use hecha_shared::DeviceId;

use crate::auth::{issue_token, verify_password, Caller};
use crate::db::{audit, devices, users};
use crate::error::ApiError;
use crate::AppState;

/// Longest device name kept (characters).
const MAX_DEVICE_NAME: usize = 100;
/// An actor id is 16 bytes written as 32 hex digits (what the app generates and
/// `ActorId::to_hex_string` writes).
const ACTOR_HEX_LEN: usize = 32;
/// Longest password looked at (bytes); longer ones cannot be ours.
const MAX_PASSWORD: usize = 1024;

pub(crate) async fn login(
    State(state): State<AppState>,
    body: Result<Json<LoginRequest>, JsonRejection>,
) -> Result<Json<LoginResponse>, ApiError> {
    let Json(request) = body.map_err(|e| super::body_error(e.status(), e.body_text()))?;
    let device_name = device_name(&request.device_name)?;
    let actor_id = actor_id(&request.actor_id)?;
    if request.password.len() > MAX_PASSWORD {
        return Err(ApiError::BadCredentials);
    }
    let response = state
        .blocking(move |state| {
            let login = state
                .db()
                .read(|conn| users::find_login(conn, &request.username))?;
            // Argon2 runs for unknown users too, so both failures take as long.
            let verified = verify_password(
                &request.password,
                login.as_ref().map(|l| l.password_hash.as_str()),
            );
            // A disabled account answers like a wrong password.
            let Some(login) = login.filter(|l| verified && !l.disabled) else {
                return Err(ApiError::BadCredentials);
            };
            let token = issue_token();
            let device_id = DeviceId::new_random();
            let now_ms = state.now_ms();
            let user = state.db().write(|conn| -> Result<_, ApiError> {
                let tx = conn.transaction()?;
                // One actor, one person: otherwise a change could not be attributed.
                if devices::actor_taken_by_other_user(&tx, &actor_id, login.user_id)? {
                    return Err(ApiError::ActorInUse);
                }
                devices::insert(
                    &tx,
                    &devices::NewDevice {
                        device_id,
                        user_id: login.user_id,
                        device_name: &device_name,
                        actor_id: &actor_id,
                        token_hash: &token.hash,
                        created_at_ms: now_ms,
                    },
                )?;
                audit::insert(
                    &tx,
                    &audit::NewAuditEntry {
                        at_ms: now_ms,
                        user_id: Some(login.user_id),
                        device_id: Some(device_id),
                        action: audit::AuditAction::Login,
                        target: &device_id.to_string(),
                        reason: None,
                    },
                )?;
                let user = users::info(&tx, login.user_id)?
                    .ok_or_else(|| ApiError::internal("user vanished during login"))?;
                tx.commit()?;
                Ok(user)
            })?;
            tracing::info!(username = %user.username, %device_id, "device enrolled");
            Ok(LoginResponse {
                token: token.token,
                device_id,
                user,
            })
        })
        .await?;
    Ok(Json(response))
}

pub(crate) async fn me(caller: Caller) -> Json<UserInfo> {
    Json(caller.user)
}

pub(crate) fn device_name(raw: &str) -> Result<String, ApiError> {
    let name = raw.trim();
    if name.chars().count() > MAX_DEVICE_NAME {
        return Err(ApiError::BadRequest(format!(
            "设备名称最多{MAX_DEVICE_NAME}个字符"
        )));
    }
    Ok(if name.is_empty() {
        "未命名设备".to_string()
    } else {
        name.to_string()
    })
}

pub(crate) fn actor_id(raw: &str) -> Result<String, ApiError> {
    let hex = raw.trim().to_ascii_lowercase();
    let ok = hex.len() == ACTOR_HEX_LEN && hex.bytes().all(|b| b.is_ascii_hexdigit());
    if ok {
        Ok(hex)
    } else {
        Err(ApiError::BadRequest(format!(
            "actor_id 应为{ACTOR_HEX_LEN}位十六进制数字（16字节的 Automerge 参与者标识）"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_names_and_actor_ids_are_checked() {
        assert_eq!(device_name("  小米手机 ").unwrap(), "小米手机");
        assert_eq!(device_name("").unwrap(), "未命名设备");
        assert!(device_name(&"机".repeat(101)).is_err());
        assert_eq!(
            actor_id(" 0123456789ABCDEF0123456789abcdef ").unwrap(),
            "0123456789abcdef0123456789abcdef"
        );
        for bad in [
            "",
            "abcd01",
            "zz",
            &"a".repeat(30),
            &"a".repeat(34),
            &"g".repeat(32),
        ] {
            assert!(actor_id(bad).is_err(), "{bad}");
        }
    }
}
