//! Hecha's sync server: accounts and device enrolment, the stateless Automerge sync
//! endpoint (accepting from each device only changes of its own registered actor), the
//! case ledger (台账) materialised from the synced documents with its exports and
//! statistics, case history and documents for people, and the audit log of reads.
//!
//! Everything lives in one data directory: an SQLite database (`hecha-server.db`, WAL
//! mode). [`app`] builds the HTTP router over an [`AppState`]; [`serve`] runs it on a
//! listener until a shutdown future completes.

pub mod admin;
mod audit;
pub mod auth;
pub mod blobs;
mod case_read;
pub mod config;
mod db;
pub mod demo;
pub mod enrol;
mod error;
mod export;
mod import;
mod ledger;
mod ledger_check;
pub mod lifecycle_check;
pub mod maintenance;
mod metrics;
#[cfg(test)]
mod noop_sync_tests;
mod routes;
pub mod standards;
mod sync;
mod tls;

use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use hecha_shared::api::Role;
use hecha_shared::{DeviceId, UnitId, UserId};

pub use db::devices::DeviceRecord;
pub use db::users::UserRecord;
pub use error::ApiError;
pub use tls::{load_tls_config, serve_tls, TlsError};

/// Name of the SQLite database inside the data directory.
pub const DB_FILE: &str = "hecha-server.db";

/// Where the server reads the time; tests pass a fixed clock.
pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;
}

/// The machine's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }
}

/// How the server is set up. [`ServerConfig::new`] gives the defaults.
#[derive(Clone)]
pub struct ServerConfig {
    /// Holds the database; created if missing.
    pub data_dir: PathBuf,
    /// Largest `POST /api/v1/sync` body accepted (bigger: 413).
    pub max_sync_body_bytes: usize,
    /// Largest JSON body accepted by the other routes (bigger: 413).
    pub max_json_body_bytes: usize,
    /// A device token stops working this many days after its login (0: never).
    pub token_lifetime_days: u32,
    /// Length of the 公示 (public notice) period, days.
    pub public_notice_days: u32,
    /// Bearer token of `GET /metrics`; None: the endpoint answers 404.
    pub metrics_token: Option<String>,
    /// The 低保 standards served at `GET /api/v1/standards`.
    pub standards: standards::Standards,
    pub clock: Arc<dyn Clock>,
}

impl ServerConfig {
    pub const DEFAULT_MAX_SYNC_BODY_BYTES: usize = 32 * 1024 * 1024;
    pub const DEFAULT_MAX_JSON_BODY_BYTES: usize = 64 * 1024;
    pub const DEFAULT_TOKEN_LIFETIME_DAYS: u32 = 90;
    pub const DEFAULT_PUBLIC_NOTICE_DAYS: u32 = 7;

    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            max_sync_body_bytes: Self::DEFAULT_MAX_SYNC_BODY_BYTES,
            max_json_body_bytes: Self::DEFAULT_MAX_JSON_BODY_BYTES,
            token_lifetime_days: Self::DEFAULT_TOKEN_LIFETIME_DAYS,
            public_notice_days: Self::DEFAULT_PUBLIC_NOTICE_DAYS,
            metrics_token: None,
            standards: standards::district_default(),
            clock: Arc::new(SystemClock),
        }
    }

    /// The same configuration reading time from `clock`.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}

impl fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConfig")
            .field("data_dir", &self.data_dir)
            .field("max_sync_body_bytes", &self.max_sync_body_bytes)
            .field("max_json_body_bytes", &self.max_json_body_bytes)
            .field("token_lifetime_days", &self.token_lifetime_days)
            .field("public_notice_days", &self.public_notice_days)
            .finish_non_exhaustive()
    }
}

/// Failures of the library's own (non-HTTP) operations: opening, seeding, administration.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot use data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("database error: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("the database has schema version {found}; this server knows up to {known}")]
    SchemaTooNew { found: i64, known: i64 },
    #[error("password hashing failed: {0}")]
    PasswordHash(String),
    #[error("{0}")]
    Invalid(String),
}

/// A new account (administration and demo seeding).
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub unit: UnitId,
}

/// The server's shared state: configuration and database. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    config: ServerConfig,
    db: db::Db,
    /// Bounds the blocking work running at once (see [`AppState::blocking`]).
    blocking_gate: tokio::sync::Semaphore,
    metrics: metrics::Metrics,
}

impl AppState {
    /// Opens (creating and migrating) the database in `config.data_dir`.
    pub fn open(config: ServerConfig) -> Result<AppState, ServerError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|source| ServerError::DataDir {
            path: config.data_dir.clone(),
            source,
        })?;
        let db = db::Db::open(config.data_dir.join(DB_FILE))?;
        let rederived = ledger::rederive_stale(&db)?;
        if rederived > 0 {
            tracing::info!(
                cases = rederived,
                "ledger columns re-derived from the documents"
            );
        }
        Ok(AppState {
            inner: Arc::new(Inner {
                config,
                db,
                metrics: metrics::Metrics::default(),
                blocking_gate: tokio::sync::Semaphore::new(blocking_permits()),
            }),
        })
    }

    pub fn config(&self) -> &ServerConfig {
        &self.inner.config
    }

    pub(crate) fn db(&self) -> &db::Db {
        &self.inner.db
    }

    pub(crate) fn metrics(&self) -> &metrics::Metrics {
        &self.inner.metrics
    }

    pub(crate) fn now_ms(&self) -> i64 {
        self.inner.config.clock.now_ms()
    }

    /// Runs blocking work (SQLite, Automerge, password hashing) off the async threads.
    pub(crate) async fn blocking<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&AppState) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        // At most a few jobs at once (about two per core): more only queue on the one writer
        // and open ever more SQLite reader connections, and each login's Argon2 takes 19 MiB.
        let _permit = self
            .inner
            .blocking_gate
            .acquire()
            .await
            .map_err(|e| ApiError::internal(format!("blocking gate closed: {e}")))?;
        let state = self.clone();
        tokio::task::spawn_blocking(move || work(&state))
            .await
            .map_err(|e| ApiError::internal(format!("blocking task failed: {e}")))?
    }

    /// Adds a unit, or renames it if its code exists.
    pub fn put_unit(&self, unit: &UnitId, name: &str) -> Result<(), ServerError> {
        self.db().write(|conn| db::units::put(conn, unit, name))?;
        Ok(())
    }

    /// Creates an account in an existing unit. Fails if the username is taken.
    pub fn create_user(&self, user: &NewUser, password: &str) -> Result<UserId, ServerError> {
        let hash = auth::hash_password(password)?;
        self.insert_user(user, &hash)
    }

    pub(crate) fn insert_user(
        &self,
        user: &NewUser,
        password_hash: &str,
    ) -> Result<UserId, ServerError> {
        validate_username(&user.username)?;
        let user_id = UserId::new_random();
        let now = self.now_ms();
        self.db().write(|conn| {
            if db::units::name_of(conn, &user.unit)?.is_none() {
                return Err(ServerError::Invalid(format!(
                    "unit {} does not exist",
                    user.unit
                )));
            }
            if db::users::find_login(conn, &user.username)?.is_some() {
                return Err(ServerError::Invalid(format!(
                    "username {} is taken",
                    user.username
                )));
            }
            db::users::insert(conn, user_id, user, password_hash, now)?;
            Ok(user_id)
        })
    }

    /// Every account, ordered by unit and username.
    pub fn list_users(&self) -> Result<Vec<UserRecord>, ServerError> {
        Ok(self.db().read(|conn| db::users::list(conn))?)
    }

    /// Every enrolled device, newest first.
    pub fn list_devices(&self) -> Result<Vec<DeviceRecord>, ServerError> {
        Ok(self.db().read(|conn| db::devices::list(conn))?)
    }

    /// Revokes a device's token: its next request gets 403 `device_revoked`. Returns
    /// false if no such device exists or it was revoked before.
    /// The revocation is written to the audit log (with no user: it is IT's command).
    pub fn revoke_device(&self, device: DeviceId) -> Result<bool, ServerError> {
        self.revoke_device_with_reason(device, None)
    }
}

/// How many blocking jobs run at once: two per core, at least four.
fn blocking_permits() -> usize {
    std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .saturating_mul(2)
        .max(4)
}

fn validate_username(name: &str) -> Result<(), ServerError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(ServerError::Invalid(format!(
            "invalid username {name:?}: expected 1-64 characters of a-z, 0-9, '-' and '_'"
        )))
    }
}

/// The HTTP API, every route of which is described in `openapi.json` (served at
/// `GET /api/v1/openapi.json`; a test checks it against the router). Errors are
/// `ErrorBody` JSON.
pub fn app(state: AppState) -> axum::Router {
    routes::router(state)
}

/// Serves [`app`] on `listener` until `shutdown` completes, then finishes the requests
/// in progress and returns.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
}
