//! The idle lock's effect on the windows: the core decides when; this hides or closes the
//! visit window per policy (`session.on_lock_video`) and shows it again after an unlock.

use rounds_core::Core;
use rounds_core::app::LockEvent;
use rounds_core::policy::LockVideo;
use tauri::{AppHandle, Manager};

/// How often the shell asks the core whether the idle time has run out. The UI also asks on
/// its own reports; this one keeps locking while the window is minimised or throttled.
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
            if let Some(ev) = tauri::async_runtime::block_on(core.idle_tick()) {
                apply(&handle, ev);
            }
        }
    });
}
