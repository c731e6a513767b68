//! The first screen's one keychain question, asked off the window's path (issue 19). The
//! sign-in screen cannot be drawn before Rounds knows whether a session is still in the
//! keychain, and on a fresh login the keychain may first have to start. So the question is
//! asked on a thread as soon as the app is set up, while WebKit starts its processes and loads
//! the page; the page's first `session_state` takes that answer. Every later call asks anew,
//! off the main thread, so a slow keychain never freezes the window.

use crate::error::UiError;
use rounds_core::Core;
use rounds_core::app::SessionState;
use std::sync::Mutex;
use tauri::{AppHandle, Manager, State};
use tokio::sync::oneshot;

type Answer = Result<SessionState, rounds_core::CoreError>;

/// The answer read at start, for the first call only.
pub struct FirstSession(Mutex<Option<oneshot::Receiver<Answer>>>);

pub fn prefetch(app: &AppHandle) {
    let (tx, rx) = oneshot::channel();
    let handle = app.clone();
    std::thread::spawn(move || {
        let t0 = std::time::Instant::now();
        let answer = handle.state::<Core>().session_state();
        tracing::info!(ms = t0.elapsed().as_millis(), "session state read at start");
        let _ = tx.send(answer);
    });
    app.manage(FirstSession(Mutex::new(Some(rx))));
}

/// What the keychain says about this profile's session (no secret is read).
#[tauri::command]
#[specta::specta]
pub async fn session_state(
    app: AppHandle,
    first: State<'_, FirstSession>,
) -> Result<SessionState, UiError> {
    let early = first.0.lock().ok().and_then(|mut f| f.take());
    if let Some(rx) = early
        && let Ok(answer) = rx.await
    {
        return Ok(answer?);
    }
    let answer = tauri::async_runtime::spawn_blocking(move || app.state::<Core>().session_state())
        .await
        .map_err(|e| rounds_core::CoreError::Internal(e.to_string()))?;
    Ok(answer?)
}
