//! The idle lock's effect on the windows: the core decides when; this hides or closes the
//! visit window per policy (`session.on_lock_video`) and shows it again after an unlock.

use rounds_core::Core;
use rounds_core::app::LockEvent;
use rounds_core::policy::LockVideo;
use tauri::{AppHandle, Manager};

/// The one clock-driven call (see ARCHITECTURE.md, "Push, not poll"): every 5 s the shell
/// lets time pass in the core (`Core::tick`: the idle lock and its warning, renewing the
/// session, the renewal question, readiness ahead of visits). It runs here, not in the page,
/// so it keeps going while the window is minimised or throttled, and costs no IPC.
const TICK: std::time::Duration = std::time::Duration::from_secs(5);

pub fn apply(app: &AppHandle, ev: LockEvent) {
    match ev.video {
        LockVideo::End => crate::visit::close(app),
        LockVideo::Hide => {
            if let Some(w) = app.get_webview_window(crate::visit::LABEL) {
                let _ = w.hide();
            }
        }
    }
}

/// After an unlock, a hidden visit comes back.
pub fn reveal(app: &AppHandle) {
    if let Some(w) = app.get_webview_window(crate::visit::LABEL) {
        let _ = w.show();
    }
}

pub fn start_ticker(app: &AppHandle) {
    let handle = app.clone();
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(TICK);
            let core = handle.state::<Core>();
            if let Some(ev) = tauri::async_runtime::block_on(core.tick()) {
                apply(&handle, ev);
            }
        }
    });
}
