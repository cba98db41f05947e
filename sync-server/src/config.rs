//! The server's settings for `hecha-server serve`: built-in district defaults, then a TOML
//! file (`--config FILE` or `HECHA_CONFIG`), then `HECHA_*` environment variables, then
//! command-line flags — each later source overrides the earlier ones. The documented example
//! is `sync-server/hecha-server.example.toml`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::standards::Standards;
use crate::ServerConfig;

/// Where the server listens unless told otherwise: loopback only, so a fresh install is
/// not on the network until IT says so.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// The data directory unless told otherwise.
pub const DEFAULT_DATA_DIR: &str = "/var/lib/hecha";

/// A settings problem, named precisely enough for IT to fix it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("environment variable {name}={value:?}: {message}")]
    Env {
        name: &'static str,
        value: String,
        message: String,
    },
    #[error("{0}")]
    Invalid(String),
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line (for journald/Loki/ELK).
    Json,
}

/// The certificate chain and private key (PEM files) for serving HTTPS directly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Everything `serve` needs, resolved from all sources.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub log_format: LogFormat,
    /// None: plain HTTP (behind a reverse proxy that terminates TLS).
    pub tls: Option<TlsFiles>,
    pub max_sync_body_bytes: usize,
    pub max_json_body_bytes: usize,
    /// A device token stops working this many days after its login (0: never).
    pub token_lifetime_days: u32,
    /// Length of the 公示 (public notice) period.
    pub public_notice_days: u32,
    /// The bearer token Prometheus presents at `GET /metrics`; None: the endpoint is off.
    pub metrics_token: Option<String>,
    pub standards: Standards,
}

/// Values given on the command line (None: not given).
#[derive(Debug, Clone, Default)]
pub struct CliOverrides {
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub log_format: Option<LogFormat>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
}

/// The TOML file's shape. Every key is optional; unknown keys are errors (a typo must not
/// silently fall back to a default).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    server: ServerSection,
    #[serde(default)]
    limits: LimitsSection,
    #[serde(default)]
    policy: PolicySection,
    standards: Option<Standards>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerSection {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    log_format: Option<LogFormat>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    metrics_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsSection {
    max_sync_body_bytes: Option<usize>,
    max_json_body_bytes: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicySection {
    token_lifetime_days: Option<u32>,
    public_notice_days: Option<u32>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)), // DEFAULT_LISTEN
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            log_format: LogFormat::Text,
            tls: None,
            max_sync_body_bytes: ServerConfig::DEFAULT_MAX_SYNC_BODY_BYTES,
            max_json_body_bytes: ServerConfig::DEFAULT_MAX_JSON_BODY_BYTES,
            token_lifetime_days: ServerConfig::DEFAULT_TOKEN_LIFETIME_DAYS,
            public_notice_days: ServerConfig::DEFAULT_PUBLIC_NOTICE_DAYS,
            metrics_token: None,
            standards: crate::standards::district_default(),
        }
    }
}

impl Settings {
    /// Resolves the settings: defaults ← `file` (its text, if any) ← `env` ← `cli`.
    /// `env` looks up one variable (tests pass a map; `serve` passes `std::env::var`).
    pub fn resolve(
        file: Option<(&Path, &str)>,
        env: &dyn Fn(&str) -> Option<String>,
        cli: &CliOverrides,
    ) -> Result<Settings, ConfigError> {
        let mut s = Settings::default();
        let mut tls_cert = None;
        let mut tls_key = None;

        if let Some((path, text)) = file {
            let parsed: FileConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
            let FileConfig {
                server,
                limits,
                policy,
                standards,
            } = parsed;
            set(&mut s.listen, server.listen);
            set(&mut s.data_dir, server.data_dir);
            set(&mut s.log_format, server.log_format);
            tls_cert = server.tls_cert;
            tls_key = server.tls_key;
            s.metrics_token = server.metrics_token.or(s.metrics_token);
            set(&mut s.max_sync_body_bytes, limits.max_sync_body_bytes);
            set(&mut s.max_json_body_bytes, limits.max_json_body_bytes);
            set(&mut s.token_lifetime_days, policy.token_lifetime_days);
            set(&mut s.public_notice_days, policy.public_notice_days);
            set(&mut s.standards, standards);
        }

        set(&mut s.listen, env_parsed(env, "HECHA_LISTEN")?);
        set(
            &mut s.data_dir,
            env_value(env, "HECHA_DATA_DIR").map(PathBuf::from),
        );
        if let Some(raw) = env_value(env, "HECHA_LOG_FORMAT") {
            s.log_format = match raw.to_ascii_lowercase().as_str() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                _ => {
                    return Err(ConfigError::Env {
                        name: "HECHA_LOG_FORMAT",
                        value: raw,
                        message: "expected text or json".into(),
                    })
                }
            };
        }
        set(
            &mut tls_cert,
            env_value(env, "HECHA_TLS_CERT").map(|v| Some(v.into())),
        );
        set(
            &mut tls_key,
            env_value(env, "HECHA_TLS_KEY").map(|v| Some(v.into())),
        );
        if let Some(token) = env_value(env, "HECHA_METRICS_TOKEN") {
            s.metrics_token = Some(token);
        }
        set(
            &mut s.max_sync_body_bytes,
            env_parsed(env, "HECHA_MAX_SYNC_BODY_BYTES")?,
        );
        set(
            &mut s.max_json_body_bytes,
            env_parsed(env, "HECHA_MAX_JSON_BODY_BYTES")?,
        );
        set(
            &mut s.token_lifetime_days,
            env_parsed(env, "HECHA_TOKEN_LIFETIME_DAYS")?,
        );
        set(
            &mut s.public_notice_days,
            env_parsed(env, "HECHA_PUBLIC_NOTICE_DAYS")?,
        );

        set(&mut s.listen, cli.listen);
        set(&mut s.data_dir, cli.data_dir.clone());
        set(&mut s.log_format, cli.log_format);
        set(&mut tls_cert, cli.tls_cert.clone().map(Some));
        set(&mut tls_key, cli.tls_key.clone().map(Some));

        s.tls = match (tls_cert, tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            (None, None) => None,
            _ => {
                return Err(ConfigError::Invalid(
                    "tls_cert and tls_key must be given together".into(),
                ))
            }
        };
        if s.metrics_token
            .as_deref()
            .is_some_and(|t| t.trim().len() < 16)
        {
            return Err(ConfigError::Invalid(
                "metrics_token must have at least 16 characters".into(),
            ));
        }
        if s.max_sync_body_bytes < 1024 || s.max_json_body_bytes < 1024 {
            return Err(ConfigError::Invalid(
                "body limits below 1024 bytes would refuse every request".into(),
            ));
        }
        crate::standards::validate(&s.standards).map_err(ConfigError::Invalid)?;
        Ok(s)
    }

    /// Reads `path` (if given) and resolves with the process environment.
    pub fn load(path: Option<&Path>, cli: &CliOverrides) -> Result<Settings, ConfigError> {
        let text = match path {
            Some(path) => {
                Some(
                    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                        path: path.to_path_buf(),
                        source,
                    })?,
                )
            }
            None => None,
        };
        let file = path.zip(text.as_deref());
        Settings::resolve(file, &|name| std::env::var(name).ok(), cli)
    }

    /// The library configuration these settings describe.
    pub fn server_config(&self) -> ServerConfig {
        let mut config = ServerConfig::new(&self.data_dir);
        config.max_sync_body_bytes = self.max_sync_body_bytes;
        config.max_json_body_bytes = self.max_json_body_bytes;
        config.token_lifetime_days = self.token_lifetime_days;
        config.public_notice_days = self.public_notice_days;
        config.metrics_token = self.metrics_token.clone();
        config.standards = self.standards.clone();
        config
    }
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

fn env_value(env: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    env(name).filter(|v| !v.trim().is_empty())
}

fn env_parsed<T: std::str::FromStr>(
    env: &dyn Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<Option<T>, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match env_value(env, name) {
        None => Ok(None),
        Some(raw) => raw
            .trim()
            .parse()
            .map(Some)
            .map_err(|e: T::Err| ConfigError::Env {
                name,
                value: raw.clone(),
                message: e.to_string(),
            }),
    }
}

/// An environment for [`Settings::resolve`] from fixed pairs (tests, tools).
pub fn env_from(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect();
    move |name| map.get(name).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../hecha-server.example.toml");

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn the_documented_example_parses_and_matches_the_defaults_it_documents() {
        let s = Settings::resolve(
            Some((Path::new("example.toml"), EXAMPLE)),
            &no_env,
            &CliOverrides::default(),
        )
        .unwrap();
        let d = Settings::default();
        assert_eq!(s.max_sync_body_bytes, d.max_sync_body_bytes);
        assert_eq!(s.max_json_body_bytes, d.max_json_body_bytes);
        assert_eq!(s.token_lifetime_days, d.token_lifetime_days);
        assert_eq!(s.public_notice_days, 7);
        assert_eq!(s.standards, d.standards);
        assert!(s.tls.is_none());
    }

    #[test]
    fn cli_overrides_env_overrides_file() {
        let file = "[server]\nlisten = \"0.0.0.0:9000\"\ndata_dir = \"/srv/file\"\n\
                    [policy]\npublic_notice_days = 10\ntoken_lifetime_days = 30\n";
        let env = env_from(&[
            ("HECHA_LISTEN", "0.0.0.0:9001"),
            ("HECHA_DATA_DIR", "/srv/env"),
            ("HECHA_PUBLIC_NOTICE_DAYS", "5"),
            ("HECHA_LOG_FORMAT", "JSON"),
        ]);
        let cli = CliOverrides {
            listen: Some("127.0.0.1:9002".parse().unwrap()),
            ..Default::default()
        };
        let s = Settings::resolve(Some((Path::new("f.toml"), file)), &env, &cli).unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:9002");
        assert_eq!(s.data_dir, PathBuf::from("/srv/env"));
        assert_eq!(s.public_notice_days, 5);
        assert_eq!(s.token_lifetime_days, 30);
        assert_eq!(s.log_format, LogFormat::Json);
        let config = s.server_config();
        assert_eq!(config.public_notice_days, 5);
        assert_eq!(config.data_dir, PathBuf::from("/srv/env"));
    }

    #[test]
    fn mistakes_are_named() {
        let typo = Settings::resolve(
            Some((Path::new("f.toml"), "[server]\nlisen = \"0.0.0.0:1\"\n")),
            &no_env,
            &CliOverrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(typo.contains("f.toml") && typo.contains("lisen"), "{typo}");

        let env = env_from(&[("HECHA_MAX_JSON_BODY_BYTES", "lots")]);
        let bad = Settings::resolve(None, &env, &CliOverrides::default())
            .unwrap_err()
            .to_string();
        assert!(bad.contains("HECHA_MAX_JSON_BODY_BYTES"), "{bad}");

        let half_tls = CliOverrides {
            tls_cert: Some("/etc/cert.pem".into()),
            ..Default::default()
        };
        assert!(Settings::resolve(None, &no_env, &half_tls).is_err());

        let short = env_from(&[("HECHA_METRICS_TOKEN", "abc")]);
        assert!(Settings::resolve(None, &short, &CliOverrides::default()).is_err());
    }

    #[test]
    fn standards_come_from_the_file() {
        let file = "[standards.asset_rules]\nmax_houses = 2\n\n\
                    [[standards.dibao]]\nyear = 2027\narea = \"rural\"\nmonthly_fen = 80000\n";
        let s = Settings::resolve(
            Some((Path::new("f.toml"), file)),
            &no_env,
            &CliOverrides::default(),
        )
        .unwrap();
        assert_eq!(s.standards.dibao.len(), 1);
        assert_eq!(s.standards.dibao[0].year, 2027);
        assert_eq!(s.standards.dibao[0].monthly_fen, 80_000);
        assert_eq!(s.standards.asset_rules.max_houses, Some(2));
        assert_eq!(s.standards.asset_rules.max_vehicles, None);
    }
}
