//! `cargo xtask run`: a local demo. Builds and starts the sync server on a data directory
//! seeded once with the demo district (password generated once and kept), prints how to
//! log in, and starts the desktop app when there is a display.

use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, ExitStatus};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

use crate::deps::{self, Profile};
use crate::{build, cmd, run_cmd, step, stop_child, target_dir, Error, Result};

const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
const DEMO_DIR: &str = ".hecha-demo";

pub fn run(root: &Path) -> Result<()> {
    let listen = std::env::var("HECHA_LISTEN").unwrap_or_else(|_| DEFAULT_LISTEN.to_string());
    let addr: SocketAddr = listen.parse().map_err(|e| {
        Error::Check(format!(
            "HECHA_LISTEN={listen} is not an address like 127.0.0.1:8080: {e}"
        ))
    })?;
    let reach = if addr.ip().is_unspecified() {
        SocketAddr::from(([127, 0, 0, 1], addr.port()))
    } else {
        addr
    };

    let gui = ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()));
    deps::setup(root, if gui { Profile::App } else { Profile::Server })?;

    step("build the sync server");
    run_cmd(cmd("cargo", root).args(["build", "-p", "hecha-server"]))?;
    let server_bin = target_dir(root).join("debug/hecha-server");
    let app_bin = if gui { Some(build::app(root)?) } else { None };

    let data = root.join(DEMO_DIR);
    let password = demo_password(root, &server_bin, &data)?;

    if TcpStream::connect_timeout(&reach, Duration::from_millis(300)).is_ok() {
        return Err(Error::Check(format!(
            "something already listens on {reach}: stop it, or choose another address with \
             HECHA_LISTEN (e.g. HECHA_LISTEN=127.0.0.1:8081 cargo xtask run)"
        )));
    }

    // From here on Ctrl-C or SIGTERM ends the demo cleanly: we stop what we started.
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [SIGINT, SIGTERM, SIGHUP] {
        signal_hook::flag::register(signal, stop.clone()).map_err(|source| Error::Io {
            context: "installing the signal handler".into(),
            source,
        })?;
    }

    step(&format!("start the sync server on {listen}"));
    let mut server = cmd(&server_bin, root)
        .arg("serve")
        .arg("--data-dir")
        .arg(&data)
        .args(["--listen", &listen])
        .spawn()
        .map_err(|source| Error::Spawn {
            what: server_bin.display().to_string(),
            source,
        })?;
    if let Err(e) = wait_until_listening(&mut server, reach, Duration::from_secs(30)) {
        stop_child(&mut server, Duration::from_secs(5));
        return Err(e);
    }
    print_instructions(reach, &password);

    let outcome = match app_bin {
        Some(app_bin) => {
            let app_data = data.join("app");
            step(&format!(
                "start the desktop app (HECHA_DATA_DIR={})",
                app_data.display()
            ));
            match cmd(&app_bin, root).env("HECHA_DATA_DIR", &app_data).spawn() {
                Ok(mut app) => {
                    let ended = supervise(&mut app, &stop);
                    stop_child(&mut app, Duration::from_secs(10));
                    match &ended {
                        Ok(Some(status)) => println!("the app has exited ({status})"),
                        Ok(None) => println!("the app was stopped"),
                        Err(_) => {}
                    }
                    ended.map(|_| ())
                }
                Err(source) => Err(Error::Spawn {
                    what: app_bin.display().to_string(),
                    source,
                }),
            }
        }
        None => {
            println!("no display (DISPLAY/WAYLAND_DISPLAY unset): the server runs until Ctrl-C");
            match supervise(&mut server, &stop) {
                Ok(Some(status)) if !status.success() => {
                    Err(Error::Check(format!("the server stopped: {status}")))
                }
                other => other.map(|_| ()),
            }
        }
    };
    println!("stopping the server");
    stop_child(&mut server, Duration::from_secs(10));
    outcome
}

/// Waits until `child` exits (its status) or a stop signal arrives (`None`).
fn supervise(child: &mut Child, stop: &AtomicBool) -> Result<Option<ExitStatus>> {
    loop {
        if let Some(status) = child.try_wait().map_err(|source| Error::Io {
            context: "waiting for a child process".into(),
            source,
        })? {
            return Ok(Some(status));
        }
        if stop.load(Ordering::SeqCst) {
            println!("\nstopping…");
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The demo password: generated and seeded on the first run, read back afterwards.
fn demo_password(root: &Path, server_bin: &Path, data: &Path) -> Result<String> {
    let file = data.join("demo-password.txt");
    if let Ok(saved) = std::fs::read_to_string(&file) {
        let saved = saved.trim().to_string();
        if !saved.is_empty() {
            println!("\ndemo district already seeded in {}", data.display());
            return Ok(saved);
        }
    }
    std::fs::create_dir_all(data).map_err(|source| Error::Io {
        context: format!("creating {}", data.display()),
        source,
    })?;
    let password = random_text(16, b"abcdefghjkmnpqrstuvwxyz23456789")?;
    step("seed the demo district (first run)");
    run_cmd(
        cmd(server_bin, root)
            .args(["admin", "seed-demo", "--data-dir"])
            .arg(data)
            .args(["--password", &password]),
    )?;
    std::fs::write(&file, format!("{password}\n")).map_err(|source| Error::Io {
        context: format!("writing {}", file.display()),
        source,
    })?;
    Ok(password)
}

/// Random text from the kernel's generator, drawn from `alphabet`.
fn random_text(len: usize, alphabet: &[u8]) -> Result<String> {
    let mut bytes = vec![0u8; len];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|source| Error::Io {
            context: "reading /dev/urandom".into(),
            source,
        })?;
    Ok(bytes
        .iter()
        .map(|b| alphabet[usize::from(*b) % alphabet.len()] as char)
        .collect())
}

fn wait_until_listening(server: &mut Child, addr: SocketAddr, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(status)) = server.try_wait() {
            return Err(Error::Check(format!(
                "the server exited before it listened ({status}); is {addr} already in use? \
                 (set HECHA_LISTEN to another address)"
            )));
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(Error::Check(format!(
                "the server did not listen on {addr} within {timeout:?}"
            )));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn print_instructions(addr: SocketAddr, password: &str) {
    let url = format!("http://{addr}");
    let actor: String = random_text(32, b"0123456789abcdef").unwrap_or_else(|_| "0".repeat(32));
    println!(
        r#"
============================== Hecha demo ==============================
sync server: {url}
password of every demo account: {password}
accounts to try:
  chaoyang-v1    核查员 (verifier) of 朝阳街道: captures cases on the app
  chaoyang-sup   街道审核员 (supervisor) of 朝阳街道: sees the unit's cases
  bureau-staff   民政局 (bureau): sees the whole district
In the app's login page: server {url}, one of the accounts above, the password.

Query the server as a supervisor (paste into a shell):
TOKEN=$(curl -s -X POST {url}/api/v1/login -H 'content-type: application/json' \
  -d '{{"username":"chaoyang-sup","password":"{password}","device_name":"curl","actor_id":"{actor}"}}' \
  | sed -E 's/.*"token":"([^"]+)".*/\1/')
curl -s -H "Authorization: Bearer $TOKEN" '{url}/api/v1/cases?limit=20'
========================================================================"#
    );
}
