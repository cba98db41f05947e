//! The demo district: the units of the bureau's plan and one account per person the plan
//! staffs (verifiers `<unit>-v<n>`, supervisors `<unit>-sup`, `bureau-staff`,
//! `it-admin`), all with one password. Seeding again leaves existing accounts alone.

use std::fmt;

use hecha_shared::api::Role;
use hecha_shared::units::{BUREAU_UNIT, PLAN_UNITS};
use hecha_shared::UnitId;

use crate::{auth, db, AppState, NewUser, ServerError};

/// An account of the demo district.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoAccount {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub unit: UnitId,
    pub unit_name: String,
    /// False when the account existed before this seeding (its password was kept).
    pub created: bool,
}

/// What [`seed_demo`] set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoDistrict {
    pub accounts: Vec<DemoAccount>,
}

impl DemoDistrict {
    pub fn account(&self, username: &str) -> Option<&DemoAccount> {
        self.accounts.iter().find(|a| a.username == username)
    }
}

impl fmt::Display for DemoDistrict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for a in &self.accounts {
            writeln!(
                f,
                "{:<18} {:<12} {:<16} {}{}",
                a.username,
                a.role.code(),
                a.unit_name,
                a.display_name,
                if a.created {
                    ""
                } else {
                    "  (existed, unchanged)"
                }
            )?;
        }
        Ok(())
    }
}

/// The accounts the plan staffs, in a stable order.
fn demo_accounts() -> Vec<(NewUser, String)> {
    let mut accounts = Vec::new();
    let mut push = |username: String, display_name: String, role: Role, unit: &str| {
        if let Ok(unit) = UnitId::new(unit) {
            let unit_name = PLAN_UNITS
                .iter()
                .find(|(c, _, _)| unit.as_str() == *c)
                .map(|(_, n, _)| n.to_string())
                .unwrap_or_default();
            accounts.push((
                NewUser {
                    username,
                    display_name,
                    role,
                    unit,
                },
                unit_name,
            ));
        }
    };
    for (code, name, verifiers) in PLAN_UNITS {
        for n in 1..=*verifiers {
            push(
                format!("{code}-v{n}"),
                format!("{name}核查员{n}"),
                Role::Verifier,
                code,
            );
        }
    }
    for (code, name, _) in PLAN_UNITS.iter().filter(|(c, _, _)| *c != BUREAU_UNIT) {
        push(
            format!("{code}-sup"),
            format!("{name}民政专干"),
            Role::Supervisor,
            code,
        );
    }
    push(
        "bureau-staff".into(),
        "区民政局业务员".into(),
        Role::Bureau,
        BUREAU_UNIT,
    );
    push(
        "it-admin".into(),
        "民政局系统管理员".into(),
        Role::Admin,
        BUREAU_UNIT,
    );
    accounts
}

/// Creates the plan's units and the demo accounts with `password`. Accounts that exist
/// already are left as they are. Blocking (one Argon2 hash): call it off async threads.
///
/// All demo accounts share one password, so they share one hash (one Argon2 run instead
/// of thirty); real accounts are created one by one with their own salt.
pub fn seed_demo(state: &AppState, password: &str) -> Result<DemoDistrict, ServerError> {
    if password.is_empty() {
        return Err(ServerError::Invalid("the demo password is empty".into()));
    }
    for (code, name, _) in PLAN_UNITS {
        let unit = UnitId::new(*code).map_err(|e| ServerError::Invalid(e.to_string()))?;
        state.put_unit(&unit, name)?;
    }
    let planned = demo_accounts();
    let missing = state.db().read(|conn| -> Result<Vec<bool>, ServerError> {
        planned
            .iter()
            .map(|(user, _)| Ok(db::users::find_login(conn, &user.username)?.is_none()))
            .collect()
    })?;
    let hash = if missing.iter().any(|m| *m) {
        Some(auth::hash_password(password)?)
    } else {
        None
    };
    let mut accounts = Vec::with_capacity(planned.len());
    for ((user, unit_name), missing) in planned.into_iter().zip(missing) {
        if let (true, Some(hash)) = (missing, &hash) {
            state.insert_user(&user, hash)?;
        }
        accounts.push(DemoAccount {
            username: user.username,
            display_name: user.display_name,
            role: user.role,
            unit: user.unit,
            unit_name,
            created: missing,
        });
    }
    Ok(DemoDistrict { accounts })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ServerConfig;

    #[test]
    fn the_demo_district_has_the_plans_people_and_seeding_twice_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let state = AppState::open(ServerConfig::new(dir.path())).unwrap();
        let first = seed_demo(&state, "demo-pass").unwrap();
        let count = |role| first.accounts.iter().filter(|a| a.role == role).count();
        assert_eq!(count(Role::Verifier), 16);
        assert_eq!(count(Role::Supervisor), 11);
        assert_eq!(count(Role::Bureau), 1);
        assert_eq!(count(Role::Admin), 1);
        for name in [
            "bureau-v3",
            "xinghai-v2",
            "chaoyang-v1",
            "chaoyang-sup",
            "it-admin",
        ] {
            assert!(first.account(name).is_some(), "{name}");
        }
        assert!(first.account("bureau-sup").is_none());
        assert_eq!(first.account("chaoyang-v1").unwrap().unit_name, "朝阳街道");

        let second = seed_demo(&state, "another").unwrap();
        assert!(second.accounts.iter().all(|a| !a.created));
        assert_eq!(state.list_users().unwrap().len(), 29);
        let login = state
            .db()
            .read(|c| db::users::find_login(c, "chaoyang-v1"))
            .unwrap()
            .unwrap();
        assert!(auth::verify_password(
            "demo-pass",
            Some(&login.password_hash)
        ));
    }
}
