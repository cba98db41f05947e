//! The Tauri shell around the app core: opens [`hecha_core::Core`] on the device's data
//! directory, keeps its background sync loop running, and exposes each core method to
//! the web view as one command (see `commands`). No business logic lives here.

mod commands;
mod position;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hecha_core::{Core, SystemClock};
use tauri::Manager;

/// Overrides the data directory (tests and demos run several devices on one machine).
pub const DATA_DIR_ENV: &str = "HECHA_DATA_DIR";

/// How often the background loop syncs when nothing nudges it.
const SYNC_INTERVAL: Duration = Duration::from_secs(30);

/// Builds and runs the app until its last window closes.
pub fn run() {
    init_tracing();
    let result = tauri::Builder::default()
        .setup(|app| {
            #[cfg(mobile)]
            app.handle().plugin(tauri_plugin_geolocation::init())?;
            let data_dir = data_dir(app.handle())?;
            std::fs::create_dir_all(&data_dir)?;
            tracing::info!(data_dir = %data_dir.display(), "opening the app core");
            let core = Core::open(&data_dir, Arc::new(SystemClock))?;
            let looping = core.clone();
            // `spawn_sync_loop` spawns on the current tokio runtime: enter Tauri's.
            tauri::async_runtime::spawn(async move {
                if let Err(e) = looping.spawn_sync_loop(SYNC_INTERVAL).await {
                    tracing::error!(error = %e, "the sync loop stopped");
                }
            });
            app.manage(core);
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::transition_case,
            commands::case_lifecycle,
            commands::resolve_lifecycle_conflict,
            commands::record_deliberation,
            commands::record_notice,
            commands::record_objection,
            commands::handle_objection,
            commands::set_recheck_category,
            commands::record_spot_check,
            commands::recheck_due,
            commands::enrol,
            commands::session,
            commands::list_cases,
            commands::get_case,
            commands::save_case,
            commands::resolve_conflict,
            commands::save_draft,
            commands::load_draft,
            commands::discard_draft,
            commands::sign_case,
            commands::sync_now,
            commands::sync_status,
            commands::acknowledge_revocation,
            commands::current_position,
            commands::add_photo,
            commands::remove_photo,
            commands::photo_thumbnail,
            commands::photo_full,
            commands::standards,
        ])
        .run(tauri::generate_context!());
    if let Err(e) = result {
        tracing::error!(error = %e, "the app failed");
        eprintln!("hecha: {e}");
        std::process::exit(1);
    }
}

/// `HECHA_DATA_DIR` if set, else the platform's app data directory for this app.
fn data_dir(app: &tauri::AppHandle) -> Result<PathBuf, tauri::Error> {
    match std::env::var_os(DATA_DIR_ENV) {
        Some(dir) if !dir.is_empty() => Ok(PathBuf::from(dir)),
        _ => app.path().app_data_dir(),
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // A second initialisation (e.g. in tests) is harmless: keep the first.
    let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
}
