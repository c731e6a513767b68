//! The core's changes, forwarded to the UI as one typed event (generated into bindings.ts
//! like the commands). The event names what changed, never the state itself: the page asks
//! the guarded commands for it, so the lock's "no patient data on screen" rule holds for
//! events too.

use rounds_core::Core;
use rounds_core::changes::Change;
use serde::Serialize;
use tauri::{AppHandle, Manager};
use tauri_specta::Event as _;

/// Something in the core changed; the page re-reads that part.
#[derive(Debug, Clone, Serialize, specta::Type, tauri_specta::Event)]
#[serde(rename_all = "camelCase")]
pub struct CoreChanged {
    pub what: Change,
}

pub fn emit(app: &AppHandle, what: Change) {
    if let Err(e) = (CoreChanged { what }).emit(app) {
        tracing::debug!(error = %e, "could not tell the window of a change");
    }
}

/// Forwards every change for as long as the app runs. A burst (a sync's pages, a run of the
/// visit's events) goes out once per kind; a forwarder that fell behind tells everything.
pub fn start_forwarder(app: &AppHandle) {
    let app = app.clone();
    let mut rx = app.state::<Core>().changes();
    tauri::async_runtime::spawn(async move {
        use tokio::sync::broadcast::error::{RecvError, TryRecvError};
        loop {
            let mut batch: Vec<Change> = match rx.recv().await {
                Ok(c) => vec![c],
                Err(RecvError::Lagged(_)) => Change::ALL.to_vec(),
                Err(RecvError::Closed) => break,
            };
            loop {
                match rx.try_recv() {
                    Ok(c) if !batch.contains(&c) => batch.push(c),
                    Ok(_) => {}
                    Err(TryRecvError::Lagged(_)) => batch = Change::ALL.to_vec(),
                    Err(_) => break,
                }
            }
            for c in batch {
                emit(&app, c);
            }
        }
    });
}
