//! Visit readiness and the renewal question (issue 18): only translations to the core.

use crate::error::UiError;
use rounds_core::Core;
use rounds_core::readiness::ReadinessView;
use rounds_core::readiness::renewal::RenewPrompt;
use tauri::State;

/// The readiness of the day's video visits that start within 10 minutes, as last checked;
/// stale ones are checked again in the background (`embedded_media`: this webview has WebRTC).
#[tauri::command]
#[specta::specta]
pub async fn readiness_day(
    core: State<'_, Core>,
    from: u32,
    to: u32,
    embedded_media: bool,
) -> Result<Vec<ReadinessView>, UiError> {
    Ok(core
        .readiness_day(from.into(), to.into(), embedded_media)
        .await?)
}

/// Checks one visit now (the readiness panel's "Check again").
#[tauri::command]
#[specta::specta]
pub async fn visit_readiness(
    core: State<'_, Core>,
    appointment_id: String,
    embedded_media: bool,
) -> Result<ReadinessView, UiError> {
    Ok(core
        .visit_readiness(&appointment_id, embedded_media)
        .await?)
}

/// Whether to ask for a fresh sign-in now, so the session lasts through the next visit.
#[tauri::command]
#[specta::specta]
pub async fn renew_prompt(core: State<'_, Core>) -> Result<Option<RenewPrompt>, UiError> {
    Ok(core.renew_prompt().await?)
}
