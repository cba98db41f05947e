//! `cargo xtask setup`: checks, and installs when missing, everything the builds and tests
//! need on a Debian machine. Every check is quick when it is already satisfied; nothing is
//! downloaded except Debian packages and crates.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{cmd, output, run_cmd, step, Error, Result};

/// How much a command needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Building and running the sync server only.
    Server,
    /// Building and running the desktop app (and the server).
    App,
    /// Everything, including the tools of the end-to-end tests in the real webview.
    Full,
}

/// Build tools the server needs (rusqlite compiles SQLite with the C compiler).
const SERVER_PACKAGES: &[&str] = &["build-essential", "curl"];

/// What Tauri 2 on Linux (WebKitGTK 4.1) needs to build and show the app, plus CJK fonts
/// so Chinese text is drawn as glyphs instead of boxes.
const APP_PACKAGES: &[&str] = &[
    "libwebkit2gtk-4.1-dev",
    "build-essential",
    "curl",
    "wget",
    "file",
    "libxdo-dev",
    "libssl-dev",
    "libayatana-appindicator3-dev",
    "librsvg2-dev",
    "fonts-noto-cjk",
];

/// The webview tests: a virtual display and the WebDriver server of WebKitGTK.
const TEST_PACKAGES: &[&str] = &["xvfb", "xauth", "webkit2gtk-driver"];

pub const WASM_TARGET: &str = "wasm32-unknown-unknown";

pub fn setup(root: &Path, profile: Profile) -> Result<()> {
    let packages: Vec<&str> = match profile {
        Profile::Server => SERVER_PACKAGES.to_vec(),
        Profile::App => APP_PACKAGES.to_vec(),
        Profile::Full => [APP_PACKAGES, TEST_PACKAGES].concat(),
    };
    apt_packages(&packages)?;
    if profile == Profile::Server {
        return Ok(());
    }
    wasm_target(root)?;
    wasm_bindgen(root)?;
    if profile == Profile::Full {
        tauri_driver(root)?;
    }
    Ok(())
}

/// Installs the Debian packages that `dpkg-query` does not report as installed.
fn apt_packages(packages: &[&str]) -> Result<()> {
    step(&format!("Debian packages ({})", packages.len()));
    let query = Command::new("dpkg-query")
        .arg("-W")
        .arg("-f=${Package} ${Status}\n")
        .args(packages)
        .output()
        .map_err(|source| Error::Spawn {
            what: "dpkg-query".into(),
            source,
        })?;
    // dpkg-query exits 1 when some package is unknown; the lines it printed still count.
    let listing = String::from_utf8_lossy(&query.stdout);
    let installed: Vec<&str> = listing
        .lines()
        .filter(|l| l.ends_with(" install ok installed"))
        .filter_map(|l| l.split_whitespace().next())
        .map(|name| name.split(':').next().unwrap_or(name))
        .collect();
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|p| !installed.contains(p))
        .collect();
    if missing.is_empty() {
        println!("ok: all installed");
        return Ok(());
    }
    println!("missing: {}", missing.join(" "));

    let sudo: Option<&str> = if is_root() {
        None
    } else if which("sudo").is_some() {
        Some("sudo")
    } else {
        return Err(Error::Check(format!(
            "these Debian packages are missing and we are neither root nor have sudo: {}\n\
             install them as root: apt-get update && apt-get install -y {}",
            missing.join(" "),
            missing.join(" ")
        )));
    };
    let apt = |args: &[&str]| -> Command {
        let mut c = match sudo {
            Some(sudo) => {
                let mut c = Command::new(sudo);
                c.arg("env")
                    .arg("DEBIAN_FRONTEND=noninteractive")
                    .arg("apt-get");
                c
            }
            None => {
                let mut c = Command::new("apt-get");
                c.env("DEBIAN_FRONTEND", "noninteractive");
                c
            }
        };
        c.args(args);
        c
    };
    run_cmd(&mut apt(&["update"]))?;
    let mut install = apt(&["install", "-y"]);
    install.args(&missing);
    run_cmd(&mut install)
}

fn is_root() -> bool {
    // /proc/self/status: "Uid:\t<real>\t<effective>\t..."
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}

fn wasm_target(root: &Path) -> Result<()> {
    step(&format!("Rust target {WASM_TARGET}"));
    if which("rustup").is_none() {
        // Without rustup (e.g. Debian's rustc) we can only check the sysroot.
        let sysroot = output(cmd("rustc", root).args(["--print", "sysroot"]))?;
        let dir = Path::new(sysroot.trim())
            .join("lib/rustlib")
            .join(WASM_TARGET);
        return if dir.is_dir() {
            println!("ok: {}", dir.display());
            Ok(())
        } else {
            Err(Error::Check(format!(
                "the Rust target {WASM_TARGET} is missing and rustup is not installed: \
                 install Rust with rustup (https://rustup.rs), then run `cargo xtask setup`"
            )))
        };
    }
    // Run in the repo root so rust-toolchain.toml picks the toolchain.
    let installed = output(cmd("rustup", root).args(["target", "list", "--installed"]))?;
    if installed.lines().any(|l| l.trim() == WASM_TARGET) {
        println!("ok: installed");
        return Ok(());
    }
    run_cmd(cmd("rustup", root).args(["target", "add", WASM_TARGET]))
}

/// The wasm-bindgen version Cargo.lock pins: the CLI must be exactly that version.
pub fn locked_wasm_bindgen_version(root: &Path) -> Result<String> {
    let path = root.join("Cargo.lock");
    let lock = std::fs::read_to_string(&path).map_err(|source| Error::Io {
        context: format!("reading {}", path.display()),
        source,
    })?;
    version_in_lock(&lock, "wasm-bindgen")
        .map(str::to_string)
        .ok_or_else(|| {
            Error::Check(format!(
                "no wasm-bindgen package in {}: does hecha-ui depend on wasm-bindgen?",
                path.display()
            ))
        })
}

/// The version of `package` in a Cargo.lock text (the first one, if there are several).
fn version_in_lock<'a>(lock: &'a str, package: &str) -> Option<&'a str> {
    let name_line = format!("name = \"{package}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == name_line {
            return lines
                .next()
                .and_then(|l| l.trim().strip_prefix("version = \""))
                .and_then(|v| v.strip_suffix('"'));
        }
    }
    None
}

/// The version of the installed `wasm-bindgen` CLI, if any.
pub fn installed_wasm_bindgen_version() -> Option<String> {
    let bin = which("wasm-bindgen")?;
    let out = Command::new(bin).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    // "wasm-bindgen 0.2.100"
    text.split_whitespace().nth(1).map(str::to_string)
}

fn wasm_bindgen(root: &Path) -> Result<()> {
    let wanted = locked_wasm_bindgen_version(root)?;
    step(&format!(
        "wasm-bindgen-cli {wanted} (the version in Cargo.lock)"
    ));
    match installed_wasm_bindgen_version() {
        Some(v) if v == wanted => {
            println!("ok: installed");
            return Ok(());
        }
        Some(v) => println!("installed is {v}: replacing it"),
        None => println!("not installed"),
    }
    // Not --locked: the CLI's own lock file may ask for a newer compiler than ours.
    run_cmd(cmd("cargo", root).args([
        "install",
        "wasm-bindgen-cli",
        "--version",
        &format!("={wanted}"),
    ]))
}

fn tauri_driver(root: &Path) -> Result<()> {
    step("tauri-driver 2");
    // tauri-driver has no --version flag; cargo's install list knows what it installed.
    let list = output(cmd("cargo", root).args(["install", "--list"]))?;
    if list.lines().any(|l| l.starts_with("tauri-driver v2.")) && which("tauri-driver").is_some() {
        println!("ok: installed");
        return Ok(());
    }
    run_cmd(cmd("cargo", root).args(["install", "tauri-driver", "--version", "^2", "--locked"]))
}

/// Finds a program on PATH, then in cargo's bin directory (where `cargo install` puts it
/// even when that directory is not on PATH).
pub fn which(name: &str) -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>());
    let cargo_bin = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .map(|home| home.join("bin"));
    on_path
        .chain(cargo_bin)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::version_in_lock;

    #[test]
    fn reads_the_exact_package_version_from_a_lock_file() {
        let lock = r#"
[[package]]
name = "wasm-bindgen-macro"
version = "0.2.99"

[[package]]
name = "wasm-bindgen"
version = "0.2.100"
source = "registry+https://github.com/rust-lang/crates.io-index"
"#;
        assert_eq!(version_in_lock(lock, "wasm-bindgen"), Some("0.2.100"));
        assert_eq!(version_in_lock(lock, "wasm-bindgen-macro"), Some("0.2.99"));
        assert_eq!(version_in_lock(lock, "leptos"), None);
    }
}
