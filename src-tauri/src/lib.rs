//! The Rounds desktop shell: windows, plugins and the command table. Thin by design — every
//! decision lives in `rounds-core`, which is tested without a window.

mod browser;
mod commands;
mod error;
mod events;
mod lock;
mod media_grant;
mod notify;
mod posture;
mod readiness;
mod startup;
mod updates;
mod visit;

use rounds_core::Core;
use rounds_core::app::Environment;
use tauri::Manager;

pub use commands::specta_builder;

pub fn run() {
    let started = commands::Started(std::time::Instant::now());
    let started_at = started.0;
    let env = match Environment::from_os() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("Rounds cannot start: {e}");
            std::process::exit(1);
        }
    };
    // The log level is IT's to set: read the policy once, before anything else logs.
    let policy = env.load_policy();
    let level = policy.resolve(&Default::default()).effective.logging.level;
    let _log = rounds_core::logging::init(&env.paths.log_dir, level.as_str())
        .map_err(|e| eprintln!("Rounds: logging disabled: {e}"))
        .ok();
    tracing::info!(version = rounds_core::VERSION, "starting");
    // The core loads (user settings, trust store, network client) while the window and its
    // web processes start; setup waits for it, before the page can call anything.
    let loading = std::thread::spawn(move || {
        let core = Core::with_policy(env, policy);
        tracing::info!(ms = started_at.elapsed().as_millis(), "core loaded");
        core
    });
    let builder = specta_builder();
    let result = tauri::Builder::default()
        // First, so a second launch hands over before anything else starts.
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            if let Some(w) = app.get_webview_window("main") {
                let _ = w.unminimize();
                let _ = w.show();
                let _ = w.set_focus();
            }
        }))
        // Updates: only the installer step of the plugin is used (src/updates.rs).
        .plugin(updates::plugin())
        .manage(rounds_core::update::Updates::new())
        .manage(started)
        .invoke_handler(builder.invoke_handler())
        .setup(move |app| {
            tracing::info!(
                ms = started_at.elapsed().as_millis(),
                "window built; setting up"
            );
            match loading.join() {
                Ok(Ok(core)) => {
                    app.manage(core);
                }
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "core failed to load");
                    eprintln!("Rounds cannot start: {e}");
                    std::process::exit(1);
                }
                Err(_) => {
                    eprintln!("Rounds cannot start: the core failed to load");
                    std::process::exit(1);
                }
            }
            // First: the first screen waits for this answer (startup.rs).
            startup::prefetch(app.handle());
            builder.mount_events(app);
            events::start_forwarder(app.handle());
            // Expired keychain items go at start and every 10 minutes after, off the UI's path
            // (the keychain may need a moment to answer), so they never linger for the next
            // clinician.
            lock::start_ticker(app.handle());
            updates::start(app.handle());
            let handle = app.handle().clone();
            std::thread::spawn(move || {
                loop {
                    match handle.state::<Core>().purge_expired_items() {
                        Ok(gone) if !gone.is_empty() => {
                            tracing::info!(count = gone.len(), "purged expired keychain items")
                        }
                        Ok(_) => {}
                        Err(e) => {
                            tracing::warn!(error = %e, "could not purge expired keychain items")
                        }
                    }
                    std::thread::sleep(std::time::Duration::from_secs(600));
                }
            });
            Ok(())
        })
        .build(tauri::generate_context!())
        .map(|app| {
            app.run(|handle, event| {
                if let tauri::RunEvent::Exit = event {
                    updates::at_exit(handle);
                }
            })
        });
    if let Err(e) = result {
        tracing::error!(error = %e, "window system failed");
        eprintln!("Rounds could not open its window: {e}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod bindings_test {
    /// The UI's TypeScript types come from here. `make bindings` rewrites the file; this test
    /// fails when the committed file differs from what the Rust types say (drift).
    #[test]
    fn typescript_bindings_are_current() {
        let committed_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../ui/src/lib/bindings.ts");
        let fresh = std::env::temp_dir().join(format!("rounds-bindings-{}.ts", std::process::id()));
        super::specta_builder()
            .export(
                specta_typescript::Typescript::default().header("// Generated by src-tauri (tauri-specta) from the Rust types. Do not edit: run `make bindings`.\n"),
                &fresh,
            )
            .expect("export bindings");
        let fresh_text = std::fs::read_to_string(&fresh).expect("read fresh");
        let _ = std::fs::remove_file(&fresh);
        if std::env::var_os("UPDATE_BINDINGS").is_some() {
            std::fs::write(committed_path, &fresh_text).expect("write bindings");
            return;
        }
        let committed = std::fs::read_to_string(committed_path).unwrap_or_default();
        assert!(
            committed == fresh_text,
            "ui/src/lib/bindings.ts is stale: run `make bindings` and commit the result"
        );
    }
}
