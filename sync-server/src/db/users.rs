//! Table `users`: accounts with their role, unit and Argon2 password hash.

use std::str::FromStr;

use hecha_shared::api::{Role, UserInfo};
use hecha_shared::{UnitId, UserId};
use rusqlite::types::Type;
use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::NewUser;

pub(crate) const MIGRATION_1: &str = "
CREATE TABLE users (
    user_id TEXT PRIMARY KEY NOT NULL,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('verifier', 'supervisor', 'bureau', 'admin')),
    unit TEXT NOT NULL REFERENCES units(code),
    password_hash TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
);
";

/// An account as the administration commands list it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub info: UserInfo,
    pub created_at_ms: i64,
}

/// What a login needs to check a password.
pub(crate) struct LoginRow {
    pub user_id: UserId,
    pub password_hash: String,
    /// Disabled accounts cannot log in (nor enrol a device with a code).
    pub disabled: bool,
}

pub(crate) fn insert(
    conn: &Connection,
    user_id: UserId,
    user: &NewUser,
    password_hash: &str,
    now_ms: i64,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO users (user_id, username, display_name, role, unit, password_hash, created_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            user_id.to_string(),
            user.username,
            user.display_name,
            user.role.code(),
            user.unit.as_str(),
            password_hash,
            now_ms
        ],
    )?;
    Ok(())
}

pub(crate) fn find_login(conn: &Connection, username: &str) -> rusqlite::Result<Option<LoginRow>> {
    conn.query_row(
        "SELECT user_id, password_hash, disabled_at_ms FROM users WHERE username = ?1",
        [username],
        |r| {
            Ok(LoginRow {
                user_id: parse_col(r, 0)?,
                password_hash: r.get(1)?,
                disabled: r.get::<_, Option<i64>>(2)?.is_some(),
            })
        },
    )
    .optional()
}

pub(crate) const INFO_COLUMNS: &str =
    "u.user_id, u.username, u.display_name, u.role, u.unit, n.name, u.read_only";

pub(crate) fn info(conn: &Connection, user_id: UserId) -> rusqlite::Result<Option<UserInfo>> {
    conn.query_row(
        &format!(
            "SELECT {INFO_COLUMNS} FROM users u JOIN units n ON n.code = u.unit
             WHERE u.user_id = ?1"
        ),
        [user_id.to_string()],
        |r| info_from_row(r, 0),
    )
    .optional()
}

pub(crate) fn list(conn: &Connection) -> rusqlite::Result<Vec<UserRecord>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {INFO_COLUMNS}, u.created_at_ms FROM users u JOIN units n ON n.code = u.unit
         ORDER BY u.unit, u.username"
    ))?;
    let rows = stmt.query_map([], |r| {
        Ok(UserRecord {
            info: info_from_row(r, 0)?,
            created_at_ms: r.get(7)?,
        })
    })?;
    rows.collect()
}

/// Reads the seven columns of [`INFO_COLUMNS`] starting at `first`.
pub(crate) fn info_from_row(r: &Row<'_>, first: usize) -> rusqlite::Result<UserInfo> {
    let role: String = r.get(first + 3)?;
    Ok(UserInfo {
        user_id: parse_col(r, first)?,
        username: r.get(first + 1)?,
        display_name: r.get(first + 2)?,
        role: Role::from_code(&role).ok_or_else(|| bad_column(first + 3, &role))?,
        unit: parse_col::<UnitId>(r, first + 4)?,
        unit_name: r.get(first + 5)?,
        read_only: r.get(first + 6)?,
    })
}

/// Parses a text column into a typed value; a bad value is a typed SQLite error.
pub(crate) fn parse_col<T: FromStr>(r: &Row<'_>, index: usize) -> rusqlite::Result<T> {
    let text: String = r.get(index)?;
    text.parse().map_err(|_| bad_column(index, &text))
}

fn bad_column(index: usize, text: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        index,
        Type::Text,
        format!("unexpected value {text:?}").into(),
    )
}
