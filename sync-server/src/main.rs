//! The `hecha-server` command: `serve` runs the sync server; `admin …` seeds the demo
//! district and lists or revokes accounts and devices in a data directory.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

mod admin_cli;

use clap::{Parser, Subcommand};
use hecha_server::{demo, AppState, ServerConfig};
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
    /// Serve the HTTP API until Ctrl-C (or SIGTERM).
    Serve {
        #[arg(long, env = "HECHA_DATA_DIR")]
        data_dir: PathBuf,
        #[arg(long, env = "HECHA_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
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
    /// Revoke a device: its token stops working at once.
    RevokeDevice {
        #[arg(long, env = "HECHA_DATA_DIR")]
        data_dir: PathBuf,
        device_id: DeviceId,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn open(data_dir: PathBuf) -> Result<AppState, hecha_server::ServerError> {
    AppState::open(ServerConfig::new(data_dir))
}

fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    match cli.command {
        Command::Serve { data_dir, listen } => {
            let state = open(data_dir)?;
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind(listen).await?;
                tracing::info!(address = %listener.local_addr()?, "hecha-server listening");
                hecha_server::serve(listener, state, shutdown_signal()).await
            })?;
            tracing::info!("hecha-server stopped");
        }
        Command::Admin { command } => match command {
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
        },
    }
    Ok(())
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
