//! Authentication and scope: Argon2 password hashes, per-device bearer tokens (32 random
//! bytes, base64url; only their SHA-256 is stored), the [`Caller`] extractor, and which
//! cases a caller may see.

use std::str::FromStr;
use std::sync::OnceLock;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use automerge::ActorId;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hecha_shared::api::{Role, UserInfo};
use hecha_shared::units::BUREAU_UNIT;
use hecha_shared::{CaseId, DeviceId, UnitId, UserId};
use sha2::{Digest, Sha256};

use crate::db::cases::CaseScope;
use crate::error::ApiError;
use crate::{AppState, ServerError};

/// Hashes a password with Argon2id (default parameters, random salt) into a PHC string.
/// Slow by design: call it off the async threads.
pub fn hash_password(password: &str) -> Result<String, ServerError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| ServerError::PasswordHash(e.to_string()))
}

/// Checks a password against a stored hash. With no hash (unknown user) it checks against
/// a throwaway hash, so an unknown username costs as long as a wrong password.
pub(crate) fn verify_password(password: &str, stored: Option<&str>) -> bool {
    static DUMMY: OnceLock<Option<String>> = OnceLock::new();
    let (hash, real) = match stored {
        Some(hash) => (Some(hash), true),
        None => (
            DUMMY
                .get_or_init(|| hash_password("no user has this password").ok())
                .as_deref(),
            false,
        ),
    };
    let Some(parsed) = hash.and_then(|h| PasswordHash::new(h).ok()) else {
        return false;
    };
    let matches = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    matches && real
}

/// A freshly issued bearer token: the text the device keeps, and the hash the server keeps.
pub(crate) struct IssuedToken {
    pub token: String,
    pub hash: [u8; 32],
}

pub(crate) fn issue_token() -> IssuedToken {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    IssuedToken {
        token: URL_SAFE_NO_PAD.encode(bytes),
        hash: Sha256::digest(bytes).into(),
    }
}

/// The stored hash of a presented token, or `None` if it cannot be one of ours.
pub(crate) fn token_hash(token: &str) -> Option<[u8; 32]> {
    let bytes = URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
    (bytes.len() == 32).then(|| Sha256::digest(&bytes).into())
}

/// The authenticated device making a request, and its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub device_id: DeviceId,
    /// The Automerge actor registered at the device's login: the only author whose new
    /// changes the server accepts from this device.
    pub actor: ActorId,
    pub user: UserInfo,
}

/// Which cases a caller may read and write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Street verifiers and supervisors: the cases of their own unit, plus any case
    /// assigned to them.
    Unit { unit: UnitId, user: UserId },
    /// The bureau's verifiers (unit `bureau`): only the cases assigned to them (spot
    /// checks; a case they create is assigned to them at creation).
    Assigned(UserId),
    /// Bureau staff: every unit.
    All,
    /// IT administrators: no case content at all.
    Nothing,
}

impl Scope {
    pub fn of(role: Role, unit: &UnitId, user: UserId) -> Scope {
        match role {
            Role::Verifier if unit.as_str() == BUREAU_UNIT => Scope::Assigned(user),
            Role::Verifier | Role::Supervisor => Scope::Unit {
                unit: unit.clone(),
                user,
            },
            Role::Bureau => Scope::All,
            Role::Admin => Scope::Nothing,
        }
    }

    /// Whether a case placed in `unit` is in scope by its unit alone (assignments aside).
    pub fn covers_unit(&self, unit: &UnitId) -> bool {
        match self {
            Scope::Unit { unit: own, .. } => own == unit,
            Scope::All => true,
            Scope::Assigned(_) | Scope::Nothing => false,
        }
    }

    /// Whether case `case_id`, placed in `unit`, is in scope (its unit, or assigned).
    pub(crate) fn allows(
        &self,
        conn: &rusqlite::Connection,
        case_id: CaseId,
        unit: &UnitId,
    ) -> rusqlite::Result<bool> {
        if self.covers_unit(unit) {
            return Ok(true);
        }
        match self {
            Scope::Unit { user, .. } | Scope::Assigned(user) => {
                crate::db::scope::is_assigned(conn, *user, case_id)
            }
            Scope::All | Scope::Nothing => Ok(false),
        }
    }

    /// The scope as a case query takes it (`None`: the caller sees no cases).
    pub(crate) fn cases(&self) -> Option<CaseScope<'_>> {
        match self {
            Scope::Unit { unit, user } => Some(CaseScope::UnitOrAssigned(unit, *user)),
            Scope::Assigned(user) => Some(CaseScope::Assigned(*user)),
            Scope::All => Some(CaseScope::All),
            Scope::Nothing => None,
        }
    }
}

impl Caller {
    pub fn scope(&self) -> Scope {
        Scope::of(self.user.role, &self.user.unit, self.user.user_id)
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or(ApiError::Unauthorized("no Authorization header"))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token)
            .ok_or(ApiError::Unauthorized("not a bearer token"))?;
        let hash = token_hash(token).ok_or(ApiError::Unauthorized("malformed token"))?;
        let owner = state
            .blocking(move |state| {
                Ok(state
                    .db()
                    .read(|conn| crate::db::devices::find_by_token_hash(conn, &hash))?)
            })
            .await?
            .ok_or(ApiError::Unauthorized("unknown token"))?;
        if owner.revoked {
            return Err(ApiError::DeviceRevoked(owner.revoke_reason));
        }
        // A token lives `token_lifetime_days` from its login (0: for ever); then the
        // person logs in again.
        let lifetime_days = state.config().token_lifetime_days;
        if lifetime_days > 0
            && state.now_ms().saturating_sub(owner.created_at_ms)
                > i64::from(lifetime_days) * 86_400_000
        {
            return Err(ApiError::Unauthorized("token expired"));
        }
        let actor = ActorId::from_str(&owner.actor_id).map_err(|_| {
            ApiError::internal(format!("device {} has a bad actor id", owner.device_id))
        })?;
        Ok(Caller {
            device_id: owner.device_id,
            actor,
            user: owner.user,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_43_url_safe_characters_and_only_its_own_hash_matches() {
        let issued = issue_token();
        assert_eq!(issued.token.len(), 43);
        assert!(issued
            .token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(token_hash(&issued.token), Some(issued.hash));
        assert_ne!(token_hash(&issue_token().token), Some(issued.hash));
        assert_eq!(token_hash("short"), None);
        assert_eq!(token_hash("not base64 at all!"), None);
    }

    #[test]
    fn passwords_verify_only_against_their_own_hash() {
        let hash = hash_password("正确的密码").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("正确的密码", Some(&hash)));
        assert!(!verify_password("wrong", Some(&hash)));
        assert!(!verify_password("正确的密码", None));
        assert!(!verify_password("x", Some("not a phc string")));
    }

    #[test]
    fn scope_follows_role_and_unit() {
        let chaoyang = UnitId::new("chaoyang").unwrap();
        let xinghai = UnitId::new("xinghai").unwrap();
        let bureau = UnitId::new(BUREAU_UNIT).unwrap();
        let user = UserId::from_random_bytes([1; 16]);
        let verifier = Scope::of(Role::Verifier, &chaoyang, user);
        assert!(verifier.covers_unit(&chaoyang) && !verifier.covers_unit(&xinghai));
        assert!(Scope::of(Role::Supervisor, &xinghai, user).covers_unit(&xinghai));
        assert!(Scope::of(Role::Bureau, &bureau, user).covers_unit(&xinghai));
        assert!(!Scope::of(Role::Admin, &bureau, user).covers_unit(&bureau));
        // The bureau's verifiers see only what is assigned to them, not the bureau's unit.
        let spot_checker = Scope::of(Role::Verifier, &bureau, user);
        assert_eq!(spot_checker, Scope::Assigned(user));
        assert!(!spot_checker.covers_unit(&bureau));
    }
}
