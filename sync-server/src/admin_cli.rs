//! The `admin users`, `admin units` and `admin devices` subcommands of `hecha-server`:
//! accounts (list, add, set-unit, disable, read-only), units (list) and devices (list,
//! enrol with a one-time code shown as a QR code, revoke with a reason).

use std::error::Error;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use hecha_server::{enrol, AppState, NewUser, ServerConfig};
use hecha_shared::api::Role;
use hecha_shared::{DeviceId, UnitId};

type CliResult = Result<(), Box<dyn Error>>;

fn open(data_dir: Option<PathBuf>) -> Result<AppState, Box<dyn Error>> {
    let dir = data_dir.ok_or("--data-dir (or HECHA_DATA_DIR) is required")?;
    Ok(AppState::open(ServerConfig::new(dir))?)
}

/// `admin users [list|add|set-unit|disable|read-only]` (no subcommand: list).
#[derive(Args)]
pub struct UsersCmd {
    #[arg(long, env = "HECHA_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    action: Option<UsersAction>,
}

#[derive(Subcommand)]
enum UsersAction {
    /// List the accounts.
    List,
    /// Create an account (prints a generated password unless --password is given).
    Add {
        #[arg(long)]
        username: String,
        /// The person's name as shown in case histories.
        #[arg(long)]
        name: String,
        /// verifier, supervisor, bureau or admin.
        #[arg(long)]
        role: String,
        /// The unit's code (see `admin units`).
        #[arg(long)]
        unit: UnitId,
        #[arg(long)]
        password: Option<String>,
        /// May read but never change cases (auditors, observers).
        #[arg(long)]
        read_only: bool,
    },
    /// Move an account to another unit: its devices drop the old unit's cases and
    /// receive the new unit's at their next sync.
    SetUnit { username: String, unit: UnitId },
    /// Disable an account: no more logins; every device of it is revoked.
    Disable {
        username: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Make an account read-only (`true`) or writable again (`false`).
    ReadOnly {
        username: String,
        #[arg(action = clap::ArgAction::Set)]
        read_only: bool,
    },
}

pub fn users(cmd: UsersCmd, random_password: impl Fn() -> String) -> CliResult {
    let state = open(cmd.data_dir)?;
    match cmd.action.unwrap_or(UsersAction::List) {
        UsersAction::List => {
            for user in state.list_users()? {
                let u = &user.info;
                println!(
                    "{:<18} {:<12} {:<16} {:<20} {}{}",
                    u.username,
                    u.role.code(),
                    u.unit_name,
                    u.display_name,
                    u.user_id,
                    if u.read_only { "  read-only" } else { "" }
                );
            }
        }
        UsersAction::Add {
            username,
            name,
            role,
            unit,
            password,
            read_only,
        } => {
            let role = Role::from_code(&role)
                .ok_or("role must be verifier, supervisor, bureau or admin")?;
            let generated = password.is_none();
            let password = password.unwrap_or_else(random_password);
            let user = NewUser {
                username: username.clone(),
                display_name: name,
                role,
                unit,
            };
            let id = state.add_user(&user, &password)?;
            if read_only {
                state.set_user_read_only(&username, true)?;
            }
            println!("user {username} created ({id})");
            if generated {
                println!("password: {password}");
            }
        }
        UsersAction::SetUnit { username, unit } => {
            state.set_user_unit(&username, &unit)?;
            println!("user {username} now belongs to {unit}");
        }
        UsersAction::Disable { username, reason } => {
            let revoked = state.disable_user(&username, reason.as_deref())?;
            println!("user {username} disabled; {revoked} device(s) revoked");
        }
        UsersAction::ReadOnly {
            username,
            read_only,
        } => {
            state.set_user_read_only(&username, read_only)?;
            println!(
                "user {username} is {}",
                if read_only { "read-only" } else { "writable" }
            );
        }
    }
    Ok(())
}

/// `admin units [list]`.
#[derive(Args)]
pub struct UnitsCmd {
    #[arg(long, env = "HECHA_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    action: Option<UnitsAction>,
}

#[derive(Subcommand)]
enum UnitsAction {
    /// List the units with their numbers of accounts and cases.
    List,
}

pub fn units(cmd: UnitsCmd) -> CliResult {
    let state = open(cmd.data_dir)?;
    match cmd.action.unwrap_or(UnitsAction::List) {
        UnitsAction::List => {
            println!(
                "{:<12} {:<16} {:>6} {:>8}",
                "code", "name", "users", "cases"
            );
            for u in state.list_units()? {
                println!(
                    "{:<12} {:<16} {:>6} {:>8}",
                    u.unit, u.name, u.users, u.cases
                );
            }
        }
    }
    Ok(())
}

/// `admin devices [list|enrol|revoke]`.
#[derive(Args)]
pub struct DevicesCmd {
    #[arg(long, env = "HECHA_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    action: Option<DevicesAction>,
}

#[derive(Subcommand)]
enum DevicesAction {
    /// List the enrolled devices.
    List,
    /// Make a one-time enrolment code for a user's new device (shown as a QR code too).
    Enrol {
        #[arg(long)]
        user: String,
        /// Minutes the code stays valid.
        #[arg(long, default_value_t = enrol::DEFAULT_VALID_MINUTES)]
        valid_minutes: u32,
        /// The address phones reach this server at (put in the QR code).
        #[arg(long, env = "HECHA_PUBLIC_URL", default_value = "")]
        server_url: String,
    },
    /// Revoke a device: its token stops working at once; the device is told the reason
    /// and wipes its case data once its user has read it.
    Revoke {
        device_id: DeviceId,
        #[arg(long)]
        reason: Option<String>,
    },
}

pub fn devices(cmd: DevicesCmd) -> CliResult {
    let state = open(cmd.data_dir)?;
    match cmd.action.unwrap_or(DevicesAction::List) {
        DevicesAction::List => {
            for d in state.list_devices()? {
                let status = match (&d.revoked_at_ms, &d.revoke_reason) {
                    (None, _) => "active".to_string(),
                    (Some(_), Some(reason)) => format!("REVOKED ({reason})"),
                    (Some(_), None) => "REVOKED".to_string(),
                };
                println!(
                    "{}  {:<18} {:<20} actor {}  {}",
                    d.device_id, d.username, d.device_name, d.actor_id, status
                );
            }
        }
        DevicesAction::Enrol {
            user,
            valid_minutes,
            server_url,
        } => {
            let code = state.create_enrol_code(&user, valid_minutes, &server_url)?;
            println!(
                "enrolment code for {} ({}): {}",
                code.username, code.display_name, code.code
            );
            println!("valid for {valid_minutes} minutes, once");
            println!("{}", enrol::qr_text(&code.qr_payload));
            println!("{}", code.qr_payload);
        }
        DevicesAction::Revoke { device_id, reason } => {
            if state.revoke_device_with_reason(device_id, reason.as_deref())? {
                println!("device {device_id} revoked");
            } else {
                return Err(format!("no active device {device_id}").into());
            }
        }
    }
    Ok(())
}
