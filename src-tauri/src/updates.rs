//! Updates in the shell: the core decides and verifies (`rounds_core::update`: policy, version
//! rules, the manifest and the artifact fetched with the core's own TLS client, minisign);
//! tauri-plugin-updater only puts the verified artifact in place (`restore_update` rebuilds its
//! `Update` from the manifest the core judged, with no request; `install` verifies the bytes
//! again with the same key, then replaces the AppImage or runs `pkexec dpkg -i` / `rpm -U`, or
//! the MSI/NSIS installer on Windows). The plugin's HTTP client is never used, so no update
//! byte travels outside Rounds' network rules.
//!
//! Nothing here runs during a visit: no check, no install, no restart.

use crate::error::UiError;
use rounds_core::Core;
use rounds_core::update::{Installer, UpdateError, UpdateView, Updates, VerifiedUpdate};
use tauri::{AppHandle, Manager, State};
use tauri_plugin_updater::UpdaterExt;

/// First check a minute after start (sign-in first), then every six hours.
const FIRST_CHECK: std::time::Duration = std::time::Duration::from_secs(60);
const EVERY: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

/// The plugin's key and endpoints come from policy per install (see [`PluginInstaller`]).
pub fn plugin() -> tauri::plugin::TauriPlugin<tauri::Wry, tauri_plugin_updater::Config> {
    tauri_plugin_updater::Builder::new().build()
}

/// How this copy was packaged, in the manifest's words (Tauri marks the binary when bundling).
fn bundle() -> Option<&'static str> {
    use tauri::utils::config::BundleType as B;
    match tauri::utils::platform::bundle_type()? {
        B::Deb => Some("deb"),
        B::Rpm => Some("rpm"),
        B::AppImage => Some("appimage"),
        B::Msi => Some("msi"),
        B::Nsis => Some("nsis"),
        B::App | B::Dmg => Some("app"),
    }
}

struct PluginInstaller<'a> {
    app: &'a AppHandle,
}

impl Installer for PluginInstaller<'_> {
    fn install(&self, u: &VerifiedUpdate) -> Result<(), String> {
        // A copy not installed from a package (a development build) is not replaced: the
        // plugin would otherwise overwrite the running executable.
        if bundle().is_none() && self.app.env().appimage.is_none() {
            return Err("this copy of Rounds was not installed from a package".into());
        }
        // Never requested (restore_update makes no request); `build` wants one endpoint.
        let endpoint = u
            .manifest
            .pointer(&format!("/platforms/{}/url", u.target))
            .and_then(|v| v.as_str())
            .and_then(|s| s.parse().ok())
            .ok_or("the manifest has no artifact address")?;
        let updater = self
            .app
            .updater_builder()
            .pubkey(u.public_key.clone())
            .target(u.target.clone())
            .endpoints(vec![endpoint])
            .and_then(|b| b.build())
            .map_err(|e| e.to_string())?;
        let update = updater
            .restore_update(u.manifest.clone())
            .map_err(|e| e.to_string())?
            .ok_or("the plugin does not see a newer version")?;
        update.install(&u.bytes).map_err(|e| e.to_string())
    }
}

async fn context(core: &Core) -> rounds_core::update::UpdateContext {
    core.update_context(bundle()).await
}

/// Starts the background check (skipped by the core while a visit is open or policy says off).
pub fn start(app: &AppHandle) {
    let app = app.clone();
    std::thread::spawn(move || {
        std::thread::sleep(FIRST_CHECK);
        loop {
            tauri::async_runtime::block_on(async {
                let core = app.state::<Core>();
                let ctx = context(&core).await;
                app.state::<Updates>().check(&ctx).await;
            });
            crate::events::emit(&app, rounds_core::changes::Change::Update);
            std::thread::sleep(EVERY);
        }
    });
}

/// At close: the update the clinician chose to install "when I close Rounds".
pub fn at_exit(app: &AppHandle) {
    let core = app.state::<Core>();
    let ctx = tauri::async_runtime::block_on(context(&core));
    app.state::<Updates>()
        .finish_at_close(&ctx, &PluginInstaller { app });
}

/// Where updates stand (no request).
#[tauri::command]
#[specta::specta]
pub async fn update_view(
    core: State<'_, Core>,
    updates: State<'_, Updates>,
) -> Result<UpdateView, UiError> {
    Ok(updates.view(&context(&core).await))
}

/// Asks the update server now (policy and the visit rule still apply).
#[tauri::command]
#[specta::specta]
pub async fn check_update(
    core: State<'_, Core>,
    updates: State<'_, Updates>,
) -> Result<UpdateView, UiError> {
    Ok(updates.check(&context(&core).await).await)
}

/// "Install now": download, verify, install; the new version starts at the next start.
#[tauri::command]
#[specta::specta]
pub async fn install_update_now(
    app: AppHandle,
    core: State<'_, Core>,
    updates: State<'_, Updates>,
) -> Result<UpdateView, UiError> {
    let ctx = context(&core).await;
    let view = updates
        .install_now(&ctx, &PluginInstaller { app: &app })
        .await
        .map_err(rounds_core::CoreError::from)?;
    Ok(view)
}

/// "When I close Rounds": download and verify now, install when Rounds closes.
#[tauri::command]
#[specta::specta]
pub async fn install_update_at_close(
    core: State<'_, Core>,
    updates: State<'_, Updates>,
) -> Result<UpdateView, UiError> {
    let ctx = context(&core).await;
    Ok(updates
        .install_at_close(&ctx)
        .await
        .map_err(rounds_core::CoreError::from)?)
}

/// Restarts into the installed version; refused while a visit is open.
#[tauri::command]
#[specta::specta]
pub async fn restart_for_update(app: AppHandle, core: State<'_, Core>) -> Result<(), UiError> {
    if core.visit_open().await {
        return Err(rounds_core::CoreError::from(UpdateError::VisitOpen).into());
    }
    tracing::info!("restarting into the installed update");
    app.restart()
}
