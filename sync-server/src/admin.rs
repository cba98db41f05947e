//! The device lifecycle and account administration on [`AppState`]: revoking a device
//! with a reason, moving an account to another unit, disabling and marking accounts
//! read-only, one-time enrolment codes, and the unit list. Used by the `admin` command
//! (IT, no HTTP user: audited with no user) and by the HTTP routes (audited with the
//! caller). Every change that narrows someone's scope is a scope event in the change
//! sequence, so their devices drop what they may no longer hold at their next sync.

use hecha_shared::api::{EnrolCode, Role};
use hecha_shared::{DeviceId, UnitId, UserId};
use rusqlite::Connection;

use crate::db::audit::{self, AuditAction, NewAuditEntry};
use crate::db::scope::{self, NewEnrolCode, ScopeEvent};
use crate::db::{devices, meta, units};
use crate::{enrol, AppState, ServerError};

/// A unit as `admin units` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitRecord {
    pub unit: UnitId,
    pub name: String,
    pub users: u32,
    pub cases: u32,
}

/// Who does an administrative action: IT at the command line, or a caller over HTTP.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Actor {
    pub user: Option<UserId>,
    pub device: Option<DeviceId>,
}

impl Actor {
    pub(crate) const IT: Actor = Actor {
        user: None,
        device: None,
    };
}

pub(crate) fn audit(
    conn: &Connection,
    by: Actor,
    at_ms: i64,
    action: AuditAction,
    target: &str,
    reason: Option<&str>,
) -> rusqlite::Result<()> {
    audit::insert(
        conn,
        &NewAuditEntry {
            at_ms,
            user_id: by.user,
            device_id: by.device,
            action,
            target,
            reason,
        },
    )
}

fn invalid(message: impl Into<String>) -> ServerError {
    ServerError::Invalid(message.into())
}

/// The account `username`: id, role, unit, disabled.
pub(crate) fn find_user(
    conn: &Connection,
    username: &str,
) -> Result<(UserId, Role, UnitId, bool), ServerError> {
    let (id, role, unit, disabled) = scope::user_by_name(conn, username)?
        .ok_or_else(|| invalid(format!("no user {username}")))?;
    let role = Role::from_code(&role).ok_or_else(|| invalid(format!("bad role {role}")))?;
    Ok((id, role, unit, disabled))
}

impl AppState {
    /// Creates an account (audited as IT's action).
    pub fn add_user(&self, user: &crate::NewUser, password: &str) -> Result<UserId, ServerError> {
        let id = self.create_user(user, password)?;
        let now = self.now_ms();
        self.db().write(|conn| {
            audit(
                conn,
                Actor::IT,
                now,
                AuditAction::AddUser,
                &user.username,
                None,
            )
        })?;
        Ok(id)
    }

    /// Revokes a device with the reason told to it at its next contact (403
    /// `device_revoked`). False if no such device exists or it was revoked before.
    pub fn revoke_device_with_reason(
        &self,
        device: DeviceId,
        reason: Option<&str>,
    ) -> Result<bool, ServerError> {
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        let now = self.now_ms();
        Ok(self.db().write(|conn| -> rusqlite::Result<bool> {
            let tx = conn.transaction()?;
            let revoked = devices::revoke(&tx, device, now, reason)?;
            if revoked {
                let by = Actor {
                    user: None,
                    device: Some(device),
                };
                audit(
                    &tx,
                    by,
                    now,
                    AuditAction::RevokeDevice,
                    &device.to_string(),
                    reason,
                )?;
            }
            tx.commit()?;
            Ok(revoked)
        })?)
    }

    /// Every unit with its number of accounts and cases, by code.
    pub fn list_units(&self) -> Result<Vec<UnitRecord>, ServerError> {
        Ok(self.db().read(|conn| -> rusqlite::Result<_> {
            let mut stmt = conn.prepare(
                "SELECT n.code, n.name,
                        (SELECT count(*) FROM users u WHERE u.unit = n.code),
                        (SELECT count(*) FROM cases c WHERE c.unit = n.code)
                 FROM units n ORDER BY n.code",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(UnitRecord {
                    unit: crate::db::users::parse_col(r, 0)?,
                    name: r.get(1)?,
                    users: r.get(2)?,
                    cases: r.get(3)?,
                })
            })?;
            rows.collect()
        })?)
    }

    /// Moves an account to another unit. Its devices drop the old unit's cases (except
    /// those assigned to it) and receive the new unit's at their next sync.
    pub fn set_user_unit(&self, username: &str, unit: &UnitId) -> Result<(), ServerError> {
        let now = self.now_ms();
        self.db().write(|conn| -> Result<(), ServerError> {
            let tx = conn.transaction()?;
            let (user, _, from, _) = find_user(&tx, username)?;
            if units::name_of(&tx, unit)?.is_none() {
                return Err(invalid(format!("unit {unit} does not exist")));
            }
            if &from == unit {
                return Ok(());
            }
            tx.execute(
                "UPDATE users SET unit = ?2 WHERE user_id = ?1",
                rusqlite::params![user.to_string(), unit.as_str()],
            )?;
            let seq = meta::next_seq(&tx)?;
            scope::record(
                &tx,
                seq,
                &ScopeEvent::UserLeftUnit {
                    user,
                    unit: from.clone(),
                },
                now,
            )?;
            let target = format!("{username}:{from}->{unit}");
            audit(&tx, Actor::IT, now, AuditAction::SetUnit, &target, None)?;
            tx.commit()?;
            Ok(())
        })
    }

    /// Marks an account read-only (it reads its scope; its devices' changes are refused)
    /// or writable again.
    pub fn set_user_read_only(&self, username: &str, read_only: bool) -> Result<(), ServerError> {
        self.db().write(|conn| -> Result<(), ServerError> {
            let (user, ..) = find_user(conn, username)?;
            conn.execute(
                "UPDATE users SET read_only = ?2 WHERE user_id = ?1",
                rusqlite::params![user.to_string(), read_only],
            )?;
            Ok(())
        })
    }

    /// Disables an account: it can no longer log in or redeem codes, and every device of
    /// it is revoked with `reason`. Returns how many devices were revoked.
    pub fn disable_user(&self, username: &str, reason: Option<&str>) -> Result<usize, ServerError> {
        let now = self.now_ms();
        let reason = reason
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .unwrap_or("账号已停用");
        self.db().write(|conn| -> Result<usize, ServerError> {
            let tx = conn.transaction()?;
            let (user, ..) = find_user(&tx, username)?;
            tx.execute(
                "UPDATE users SET disabled_at_ms = COALESCE(disabled_at_ms, ?2) WHERE user_id = ?1",
                rusqlite::params![user.to_string(), now],
            )?;
            let active = devices::active_of_user(&tx, user)?;
            for device in &active {
                devices::revoke(&tx, *device, now, Some(reason))?;
                let by = Actor {
                    user: None,
                    device: Some(*device),
                };
                audit(
                    &tx,
                    by,
                    now,
                    AuditAction::RevokeDevice,
                    &device.to_string(),
                    Some(reason),
                )?;
            }
            audit(
                &tx,
                Actor::IT,
                now,
                AuditAction::DisableUser,
                username,
                Some(reason),
            )?;
            tx.commit()?;
            Ok(active.len())
        })
    }

    /// Creates a one-time enrolment code for `username` (IT at the command line).
    pub fn create_enrol_code(
        &self,
        username: &str,
        valid_minutes: u32,
        server_url: &str,
    ) -> Result<EnrolCode, ServerError> {
        self.make_enrol_code(username, valid_minutes, server_url, Actor::IT)
    }

    pub(crate) fn make_enrol_code(
        &self,
        username: &str,
        valid_minutes: u32,
        server_url: &str,
        by: Actor,
    ) -> Result<EnrolCode, ServerError> {
        if valid_minutes == 0 || valid_minutes > enrol::MAX_VALID_MINUTES {
            return Err(invalid(format!(
                "a code is valid for 1 to {} minutes",
                enrol::MAX_VALID_MINUTES
            )));
        }
        let now = self.now_ms();
        let code = enrol::generate_code();
        let normalised =
            enrol::normalise(&code).ok_or_else(|| invalid("generated an unusable code"))?;
        let expires_at_ms = now + i64::from(valid_minutes) * 60_000;
        let display_name = self.db().write(|conn| -> Result<String, ServerError> {
            let tx = conn.transaction()?;
            let (user, _, _, disabled) = find_user(&tx, username)?;
            if disabled {
                return Err(invalid(format!("user {username} is disabled")));
            }
            scope::insert_enrol_code(
                &tx,
                &NewEnrolCode {
                    code_hash: &enrol::hash(&normalised),
                    user_id: user,
                    created_by: by.user,
                    created_at_ms: now,
                    expires_at_ms,
                },
            )?;
            audit(&tx, by, now, AuditAction::CreateEnrolCode, username, None)?;
            let name: String = tx.query_row(
                "SELECT display_name FROM users WHERE user_id = ?1",
                [user.to_string()],
                |r| r.get(0),
            )?;
            tx.commit()?;
            Ok(name)
        })?;
        let qr_payload = enrol::qr_payload(server_url, &code);
        Ok(EnrolCode {
            qr_svg: enrol::qr_svg(&qr_payload),
            qr_payload,
            code,
            username: username.to_string(),
            display_name,
            expires_at_ms,
        })
    }
}
