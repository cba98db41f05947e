//! `cargo xtask build-ui` and `build-app`: the Leptos UI to `app/ui/dist` (cargo for wasm32,
//! then wasm-bindgen, then the static files), and the desktop app with that UI embedded.

use std::path::{Path, PathBuf};

use crate::deps::{self, WASM_TARGET};
use crate::{cmd, run_cmd, step, target_dir, Error, Result};

/// Static files of the UI copied next to the generated JS and wasm, relative to `app/ui`.
/// Directories are copied whole, keeping their name.
const STATIC_ENTRIES: &[&str] = &["index.html", "style.css", "static", "assets", "public"];

pub fn ui(root: &Path) -> Result<()> {
    let wasm_bindgen = wasm_bindgen_matching_lock(root)?;

    step("build the UI (hecha-ui for wasm32, release)");
    let ui_target = root.join("target/ui");
    run_cmd(
        cmd("cargo", root)
            .args([
                "build",
                "-p",
                "hecha-ui",
                "--target",
                WASM_TARGET,
                "--release",
            ])
            .arg("--target-dir")
            .arg(&ui_target),
    )?;

    step("wasm-bindgen → app/ui/dist");
    let dist = root.join("app/ui/dist");
    if dist.exists() {
        std::fs::remove_dir_all(&dist).map_err(|source| Error::Io {
            context: format!("removing the old {}", dist.display()),
            source,
        })?;
    }
    let wasm = ui_target.join(WASM_TARGET).join("release/hecha_ui.wasm");
    run_cmd(
        cmd(&wasm_bindgen, root)
            .args(["--target", "web", "--no-typescript", "--out-dir"])
            .arg(&dist)
            .arg(&wasm),
    )?;

    step("static files → app/ui/dist");
    let ui_dir = root.join("app/ui");
    if !ui_dir.join("index.html").is_file() {
        return Err(Error::Check(format!(
            "{} is missing: the UI has no page to load",
            ui_dir.join("index.html").display()
        )));
    }
    for entry in STATIC_ENTRIES {
        let from = ui_dir.join(entry);
        if from.exists() {
            copy_recursive(&from, &dist.join(entry))?;
            println!("copied app/ui/{entry}");
        }
    }
    Ok(())
}

/// Builds the UI, then the app with the UI embedded; returns the app binary's path.
pub fn app(root: &Path) -> Result<PathBuf> {
    ui(root)?;
    step("build the desktop app (hecha, custom-protocol)");
    run_cmd(cmd("cargo", root).args(["build", "-p", "hecha", "--features", "custom-protocol"]))?;
    let bin = target_dir(root).join("debug/hecha");
    if !bin.is_file() {
        return Err(Error::Check(format!(
            "the build succeeded but {} is not there",
            bin.display()
        )));
    }
    println!("app binary: {}", bin.display());
    Ok(bin)
}

/// The wasm-bindgen CLI, checked to be the version Cargo.lock pins (a different one
/// refuses the wasm or, worse, produces JS that does not fit it).
fn wasm_bindgen_matching_lock(root: &Path) -> Result<PathBuf> {
    let wanted = deps::locked_wasm_bindgen_version(root)?;
    match (
        deps::which("wasm-bindgen"),
        deps::installed_wasm_bindgen_version(),
    ) {
        (Some(bin), Some(v)) if v == wanted => Ok(bin),
        (_, found) => Err(Error::Check(format!(
            "wasm-bindgen {wanted} is needed (Cargo.lock), found {}: run `cargo xtask setup`",
            found.as_deref().unwrap_or("none")
        ))),
    }
}

fn copy_recursive(from: &Path, to: &Path) -> Result<()> {
    let io = |context: String| move |source| Error::Io { context, source };
    if from.is_dir() {
        std::fs::create_dir_all(to).map_err(io(format!("creating {}", to.display())))?;
        for entry in std::fs::read_dir(from).map_err(io(format!("reading {}", from.display())))? {
            let entry = entry.map_err(io(format!("reading {}", from.display())))?;
            copy_recursive(&entry.path(), &to.join(entry.file_name()))?;
        }
        Ok(())
    } else {
        std::fs::copy(from, to).map(|_| ()).map_err(io(format!(
            "copying {} to {}",
            from.display(),
            to.display()
        )))
    }
}
