//! `cargo xtask`: the project's developer commands (set-up, builds, the full test run, the
//! local demo), plus the small process helpers they share.

mod build;
mod deps;
mod run;
mod test;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "Hecha developer commands (run from the repo root)"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Install what is missing: Debian packages, the wasm32 target, wasm-bindgen-cli at the
    /// Cargo.lock version, tauri-driver. Idempotent.
    Setup,
    /// Build the Leptos UI to app/ui/dist (cargo + wasm-bindgen + static files).
    BuildUi,
    /// build-ui, then the desktop app target/debug/hecha with the UI embedded.
    BuildApp,
    /// Everything CI checks: setup, invariants, fmt, build-app, unit/integration tests and the
    /// end-to-end tests in the real webview.
    Test,
    /// Start a local demo: sync server with the demo district (and the desktop app if there is
    /// a display).
    Run,
    /// The benchmarks (release builds): they print figures and assert no speed. `sync`: no-op
    /// sync cost at 20 and 2,000 documents, push and initial sync; `photos`: the photo
    /// pipeline on a 12-megapixel JPEG. Without a name, both.
    Bench {
        #[arg(value_parser = ["sync", "server_load", "photos", "photos_upload"])]
        name: Option<String>,
    },
}

/// Why an xtask command failed; `main` prints it once.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("`{what}` failed ({status})")]
    Failed { what: String, status: ExitStatus },
    #[error("could not start `{what}`: {source}")]
    Spawn {
        what: String,
        source: std::io::Error,
    },
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Check(String),
}

pub type Result<T> = std::result::Result<T, Error>;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let root = repo_root();
    let result = match cli.command {
        Cmd::Setup => deps::setup(&root, deps::Profile::Full),
        Cmd::BuildUi => build::ui(&root),
        Cmd::BuildApp => build::app(&root).map(|_| ()),
        Cmd::Test => test::run(&root),
        Cmd::Run => run::run(&root),
        Cmd::Bench { name } => bench(&root, name.as_deref()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\nxtask: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The repository root: this package lives in `tests/xtask`.
fn repo_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = manifest_dir.join("../..");
    root.canonicalize().unwrap_or(root)
}

/// Cargo's target directory for host builds (honours `CARGO_TARGET_DIR`).
pub fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root.join(dir),
        _ => root.join("target"),
    }
}

/// A command run from the repo root.
pub fn cmd(program: impl AsRef<OsStr>, root: &Path) -> Command {
    let mut c = Command::new(program);
    c.current_dir(root);
    c
}

/// The command line as a person would type it, for messages.
pub fn describe(c: &Command) -> String {
    let mut s = c.get_program().to_string_lossy().into_owned();
    for arg in c.get_args() {
        s.push(' ');
        s.push_str(&arg.to_string_lossy());
    }
    s
}

/// Runs a command with its output streamed to ours; fails unless it exits 0.
pub fn run_cmd(c: &mut Command) -> Result<()> {
    let what = describe(c);
    println!("$ {what}");
    let status = c.status().map_err(|source| Error::Spawn {
        what: what.clone(),
        source,
    })?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::Failed { what, status })
    }
}

/// Runs a command quietly and returns its standard output; fails unless it exits 0.
pub fn output(c: &mut Command) -> Result<String> {
    let what = describe(c);
    let out = c
        .stderr(Stdio::inherit())
        .output()
        .map_err(|source| Error::Spawn {
            what: what.clone(),
            source,
        })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(Error::Failed {
            what,
            status: out.status,
        })
    }
}

/// Runs the named benchmark, or all of them.
fn bench(root: &Path, name: Option<&str>) -> Result<()> {
    let all = [
        ("sync", "hecha-e2e"),
        ("server_load", "hecha-e2e"),
        ("photos", "hecha-core"),
        ("photos_upload", "hecha-e2e"),
    ];
    for (bench, package) in all.iter().filter(|(b, _)| name.is_none_or(|n| n == *b)) {
        step(&format!("benchmark `{bench}`"));
        run_cmd(cmd("cargo", root).args(["bench", "-p", package, "--bench", bench]))?;
    }
    Ok(())
}

/// Prints a step header.
pub fn step(title: &str) {
    println!("\n==> {title}");
}

/// Formats a duration as people read it in a summary.
pub fn human(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        format!("{}m{:02}s", d.as_secs() / 60, d.as_secs() % 60)
    }
}

/// Stops a child we started: SIGTERM by its pid, then up to `grace` for it to exit, then
/// SIGKILL. Never signals a process group.
pub fn stop_child(child: &mut Child, grace: Duration) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    let pid = child.id() as i32;
    if pid > 1 {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        );
    }
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!("xtask: process {pid} ignored SIGTERM; killing it");
    let _ = child.kill();
    let _ = child.wait();
}
