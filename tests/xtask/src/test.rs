//! `cargo xtask test`: everything CI checks, in order, with a summary of what passed, what
//! failed and how long each step took. Independent steps all run even after a failure, so
//! one run shows every problem.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::deps::{self, Profile, WASM_TARGET};
use crate::{build, cmd, human, output, run_cmd, step, target_dir, Error, Result};

pub fn run(root: &Path) -> Result<()> {
    let started = Instant::now();
    let mut report = Report::default();

    if report
        .step("setup", || deps::setup(root, Profile::Full))
        .is_none()
    {
        report.print(started.elapsed());
        return Err(Error::Check("setup failed; nothing else was run".into()));
    }
    report.step("invariant: hecha-shared builds for wasm32", || {
        step("invariant: hecha-shared builds for wasm32");
        run_cmd(cmd("cargo", root).args(["check", "-p", "hecha-shared", "--target", WASM_TARGET]))
            .map_err(|e| {
                Error::Check(format!(
                    "hecha-shared must stay pure and build for {WASM_TARGET} (the UI uses it): {e}"
                ))
            })
    });
    report.step("invariant: no tokio in hecha-shared", || {
        forbid_dependency(root, "hecha-shared", &["tokio"], "it must do no IO")
    });
    report.step("invariant: no tauri in hecha-core", || {
        forbid_dependency(
            root,
            "hecha-core",
            &["tauri"],
            "the app core is used without the Tauri shell (tests, the sync benchmark)",
        )
    });
    report.step("cargo fmt --check", || {
        step("cargo fmt --check");
        run_cmd(cmd("cargo", root).args(["fmt", "--all", "--", "--check"]))
            .map_err(|e| Error::Check(format!("{e}: run `cargo fmt --all`")))
    });
    let app = report.step("build-app", || build::app(root));
    report.step("cargo test (shared, core, server, tests, xtask)", || {
        step("cargo test (the workspace's default members)");
        // Plain `cargo test` in the root tests the default members; `--workspace` would also
        // take the wasm32-only UI crate and the Tauri shell, which `build-app` builds.
        run_cmd(cmd("cargo", root).arg("test"))
    });
    match app {
        Some(app) => {
            report.step("webview end-to-end tests", || webview_tests(root, &app));
        }
        None => report.skip("webview end-to-end tests", "the app did not build"),
    }

    report.print(started.elapsed());
    match report.failures() {
        0 => Ok(()),
        n => Err(Error::Check(format!("{n} step(s) failed"))),
    }
}

/// Fails when `package`'s normal dependency tree, for every target, contains one of
/// `forbidden` (a crate of that name or `name-*`).
fn forbid_dependency(root: &Path, package: &str, forbidden: &[&str], why: &str) -> Result<()> {
    step(&format!(
        "invariant: {package} depends on none of {}",
        forbidden.join(", ")
    ));
    let tree = output(cmd("cargo", root).args([
        "tree", "-p", package, "-e", "normal", "--target", "all", "--prefix", "none",
    ]))?;
    let found = forbidden_crates(&tree, forbidden);
    if found.is_empty() {
        println!("ok");
        Ok(())
    } else {
        Err(Error::Check(format!(
            "{package} must not depend on {} ({why}), but its tree has: {} \
             (see `cargo tree -p {package} -e normal -i <crate>`)",
            forbidden.join(", "),
            found.join(", ")
        )))
    }
}

/// The crates of a `cargo tree --prefix none` listing named one of `forbidden` or `<name>-*`.
fn forbidden_crates<'a>(tree: &'a str, forbidden: &[&str]) -> Vec<&'a str> {
    let mut found: Vec<&str> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| {
            forbidden
                .iter()
                .any(|f| name == f || name.starts_with(&format!("{f}-")))
        })
        .collect();
    found.sort_unstable();
    found.dedup();
    found
}

/// The scenarios in `tests/webview`, driving the built app through tauri-driver and
/// WebKitWebDriver on a virtual X display.
fn webview_tests(root: &Path, app: &Path) -> Result<()> {
    step("webview end-to-end tests (xvfb + tauri-driver + WebKitWebDriver)");
    let artifacts = target_dir(root).join("e2e-artifacts");
    if artifacts.exists() {
        std::fs::remove_dir_all(&artifacts).map_err(|source| Error::Io {
            context: format!("clearing {}", artifacts.display()),
            source,
        })?;
    }
    std::fs::create_dir_all(&artifacts).map_err(|source| Error::Io {
        context: format!("creating {}", artifacts.display()),
        source,
    })?;
    let xvfb_run = deps::which("xvfb-run")
        .ok_or_else(|| Error::Check("xvfb-run is missing: run `cargo xtask setup`".into()))?;
    // tauri-driver is found by the harness on PATH or in cargo's bin directory.
    let tauri_driver: PathBuf = deps::which("tauri-driver")
        .ok_or_else(|| Error::Check("tauri-driver is missing: run `cargo xtask setup`".into()))?;
    let result = run_cmd(
        cmd(xvfb_run, root)
            // A 24-bit screen: xvfb-run's default of 8 bits breaks WebKit's rendering.
            .args(["-a", "-s", "-screen 0 1280x1024x24"])
            .args(["cargo", "test", "-p", "hecha-e2e", "--features", "webview"])
            // --nocapture: the log then shows each WebDriver session and screenshot path.
            .args(["--test", "webview", "--", "--test-threads=1", "--nocapture"])
            .env("HECHA_APP_BIN", app)
            .env("HECHA_ARTIFACTS", &artifacts)
            .env("HECHA_TAURI_DRIVER", tauri_driver),
    );
    println!("screenshots and driver logs: {}", artifacts.display());
    result
}

/// How one step went.
enum Status {
    Passed,
    Failed(String),
    Skipped(String),
}

struct Outcome {
    name: String,
    took: Duration,
    status: Status,
}

#[derive(Default)]
struct Report {
    outcomes: Vec<Outcome>,
}

impl Report {
    /// Runs one step, records how it went; returns its value when it succeeded.
    fn step<T>(&mut self, name: &str, f: impl FnOnce() -> Result<T>) -> Option<T> {
        let started = Instant::now();
        let result = f();
        let took = started.elapsed();
        let (value, status) = match result {
            Ok(v) => (Some(v), Status::Passed),
            Err(e) => {
                eprintln!("\nxtask: step `{name}` failed: {e}");
                (None, Status::Failed(e.to_string()))
            }
        };
        self.outcomes.push(Outcome {
            name: name.to_string(),
            took,
            status,
        });
        value
    }

    fn skip(&mut self, name: &str, reason: &str) {
        self.outcomes.push(Outcome {
            name: name.to_string(),
            took: Duration::ZERO,
            status: Status::Skipped(reason.to_string()),
        });
    }

    fn count(&self, which: fn(&Status) -> bool) -> usize {
        self.outcomes.iter().filter(|o| which(&o.status)).count()
    }

    fn failures(&self) -> usize {
        self.count(|s| matches!(s, Status::Failed(_)))
    }

    fn print(&self, total: Duration) {
        println!("\n==================== cargo xtask test: summary ====================");
        for o in &self.outcomes {
            let (label, detail) = match &o.status {
                Status::Passed => ("PASS", None),
                Status::Failed(e) => ("FAIL", Some(e.clone())),
                Status::Skipped(why) => ("SKIP", Some(format!("({why})"))),
            };
            println!("{label:<5} {:>8}  {}", human(o.took), o.name);
            if let Some(detail) = detail {
                println!("                {detail}");
            }
        }
        println!("total {}", human(total));
        println!(
            "steps: {} passed, {} failed, {} skipped",
            self.count(|s| matches!(s, Status::Passed)),
            self.failures(),
            self.count(|s| matches!(s, Status::Skipped(_))),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::forbidden_crates;

    #[test]
    fn finds_forbidden_crates_and_their_family_but_not_lookalikes() {
        let tree = "hecha-core v0.1.0 (/work/app/core)\n\
                    tokio-macros v2.6.0 (proc-macro)\n\
                    tauri-utils v2.8.0\n\
                    tokio v1.48.0\n\
                    tokio v1.48.0 (*)\n\
                    tauritest v1.0.0\n";
        assert_eq!(
            forbidden_crates(tree, &["tokio"]),
            vec!["tokio", "tokio-macros"]
        );
        assert_eq!(forbidden_crates(tree, &["tauri"]), vec!["tauri-utils"]);
        assert!(forbidden_crates(tree, &["axum"]).is_empty());
    }
}
