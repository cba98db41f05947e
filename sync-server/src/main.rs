//! The `hecha-server` command: `serve` runs the sync server (settings from a TOML file,
//! `HECHA_*` variables and flags; HTTPS when given a certificate); `admin …` seeds the demo
//! district, lists or revokes accounts and devices, and backs up, restores and checks a
//! data directory.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

mod admin_cli;

use clap::{Parser, Subcommand};
use hecha_server::config::{CliOverrides, LogFormat, Settings};
use hecha_server::{demo, maintenance, AppState, ServerConfig};
use hecha_shared::DeviceId;
use rand::distributions::Uniform;
use rand::Rng;

#[derive(Parser)]
#[command(name = "hecha-server", version, about = "Hecha 核查 sync server")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API until Ctrl-C (or SIGTERM). Settings: defaults < --config file <
    /// HECHA_* environment variables < these flags (see hecha-server.example.toml).
    Serve {
        /// TOML settings file.
        #[arg(long, env = "HECHA_CONFIG")]
        config: Option<PathBuf>,
        /// Data directory (database and blobs) [default: /var/lib/hecha].
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Address to listen on [default: 127.0.0.1:8080].
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Log lines as text or JSON [default: text].
        #[arg(long, value_enum)]
        log_format: Option<LogFormat>,
        /// PEM certificate chain: serve HTTPS (with --tls-key).
        #[arg(long)]
        tls_cert: Option<PathBuf>,
        /// PEM private key of --tls-cert.
        #[arg(long)]
        tls_key: Option<PathBuf>,
    },
    /// Administration of a data directory (run while the server is stopped or running).
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create the demo district's units and accounts (existing accounts are kept).
    SeedDemo {
        #[arg(long, env = "HECHA_DATA_DIR")]
        data_dir: PathBuf,
        /// The password of every demo account; a random one is generated if omitted.
        #[arg(long)]
        password: Option<String>,
    },
    /// Accounts: list (default), add, set-unit, disable, read-only.
    Users(admin_cli::UsersCmd),
    /// Units: list.
    Units(admin_cli::UnitsCmd),
    /// Devices: list (default), enrol (one-time code + QR code), revoke (with a reason).
    Devices(admin_cli::DevicesCmd),
    /// Copy the database (a consistent snapshot, safe while the server runs) and the
    /// blobs into a new directory: OUT itself if it does not exist, else a timestamped
    /// `hecha-backup-…` directory inside it.
    Backup {
        #[arg(long, env = "HECHA_DATA_DIR")]
        data_dir: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
    /// Restore a backup into a data directory (stop the server first). Refuses a data
    /// directory that holds anything unless --force.
    Restore {
        /// The backup directory (made by `admin backup`).
        #[arg(long)]
        from: PathBuf,
        #[arg(long, env = "HECHA_DATA_DIR")]
        data_dir: PathBuf,
        /// Replace the data directory's database and blobs.
        #[arg(long)]
        force: bool,
    },
    /// Check a data directory: SQLite integrity, every case's ledger row against its
    /// document, every blob against its hash. Exit status 1 if anything is wrong.
    Check {
        #[arg(long, env = "HECHA_DATA_DIR")]
        data_dir: PathBuf,
        /// Rewrite ledger rows that drifted from their documents.
        #[arg(long)]
        repair: bool,
    },
    /// Revoke a device: its token stops working at once.
    RevokeDevice {
        #[arg(long, env = "HECHA_DATA_DIR")]
        data_dir: PathBuf,
        device_id: DeviceId,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr; RUST_LOG sets the verbosity (default info).
fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,tower_http=info".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
    }
}

fn open(data_dir: PathBuf) -> Result<AppState, hecha_server::ServerError> {
    AppState::open(ServerConfig::new(data_dir))
}

fn run(cli: Cli) -> Result<ExitCode, Box<dyn std::error::Error>> {
    match cli.command {
        Command::Serve {
            config,
            data_dir,
            listen,
            log_format,
            tls_cert,
            tls_key,
        } => {
            let settings = Settings::load(
                config.as_deref(),
                &CliOverrides {
                    listen,
                    data_dir,
                    log_format,
                    tls_cert,
                    tls_key,
                },
            )?;
            init_logging(settings.log_format);
            // A bad certificate stops the start, before the port is taken.
            let tls = match &settings.tls {
                Some(files) => Some(hecha_server::load_tls_config(&files.cert, &files.key)?),
                None => None,
            };
            let state = AppState::open(settings.server_config())?;
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind(settings.listen).await?;
                let address = listener.local_addr()?;
                tracing::info!(
                    %address,
                    https = tls.is_some(),
                    data_dir = %settings.data_dir.display(),
                    metrics = settings.metrics_token.is_some(),
                    "hecha-server listening"
                );
                match tls {
                    Some(tls) => {
                        hecha_server::serve_tls(listener, state, tls, shutdown_signal()).await
                    }
                    None => hecha_server::serve(listener, state, shutdown_signal()).await,
                }
            })?;
            tracing::info!("hecha-server stopped");
        }
        Command::Admin { command } => {
            init_logging(LogFormat::Text);
            return admin_command(command);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn admin_command(command: AdminCommand) -> Result<ExitCode, Box<dyn std::error::Error>> {
    match command {
        AdminCommand::SeedDemo { data_dir, password } => {
            let state = open(data_dir)?;
            let password = password.unwrap_or_else(random_password);
            let district = demo::seed_demo(&state, &password)?;
            println!("demo password: {password}");
            print!("{district}");
        }
        AdminCommand::Users(cmd) => admin_cli::users(cmd, random_password)?,
        AdminCommand::Units(cmd) => admin_cli::units(cmd)?,
        AdminCommand::Devices(cmd) => admin_cli::devices(cmd)?,
        AdminCommand::RevokeDevice {
            data_dir,
            device_id,
        } => {
            if open(data_dir)?.revoke_device(device_id)? {
                println!("device {device_id} revoked");
            } else {
                return Err(format!("no active device {device_id}").into());
            }
        }
        AdminCommand::Backup { data_dir, out } => {
            let report = maintenance::backup(&data_dir, &out, std::time::SystemTime::now())?;
            print!("{report}");
        }
        AdminCommand::Restore {
            from,
            data_dir,
            force,
        } => {
            let report = maintenance::restore(&from, &data_dir, force)?;
            print!("{report}");
        }
        AdminCommand::Check { data_dir, repair } => {
            let report = maintenance::check(&data_dir, repair)?;
            print!("{report}");
            if !report.is_clean() {
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// 12 characters without look-alikes (no 0/O, 1/l/I).
fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rngs::OsRng;
    let pick = Uniform::from(0..ALPHABET.len());
    (0..12)
        .map(|_| char::from(ALPHABET[rng.sample(pick)]))
        .collect()
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
