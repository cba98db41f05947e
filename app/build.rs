//! Build script of the Tauri shell: reads `tauri.conf.json` (at the workspace root, beside
//! this package's manifest) and the capabilities in `app/capabilities/`, and generates
//! the code `tauri::generate_context!` embeds.

fn main() {
    println!("cargo:rerun-if-changed=app/capabilities");
    tauri_build::try_build(
        tauri_build::Attributes::new().capabilities_path_pattern("./app/capabilities/**/*"),
    )
    .expect("tauri-build failed: check tauri.conf.json and app/capabilities");
}
