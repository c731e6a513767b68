//! The security posture panel's one command (core/src/app/posture.rs decides everything).

use crate::error::UiError;
use rounds_core::Core;
use rounds_core::app::SecurityPosture;
use tauri::State;

/// TLS of the clinic and the video server, MFA age, keychain, cache encryption, policy
/// sources, E2EE here. `embedded_media`: whether this webview has WebRTC (the main window
/// tells, as for a visit). Nothing secret, no PHI, so it is answered while locked too.
#[tauri::command]
#[specta::specta]
pub async fn security_posture(
    core: State<'_, Core>,
    embedded_media: bool,
) -> Result<SecurityPosture, UiError> {
    Ok(core.security_posture(embedded_media).await)
}
