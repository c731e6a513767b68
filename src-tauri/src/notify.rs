//! Desktop notifications: "someone is waiting" while the clinician may be in another window.
//! The core decides whether to notify and what the text says (policy `notifications.content`);
//! this only shows it. On Linux: the freedesktop Notifications service on the session bus.
//! The text may carry a patient's name (when policy allows), so it is never logged.

use rounds_core::video::KnockNotice;
use std::sync::Arc;

pub fn knock_notice() -> KnockNotice {
    KnockNotice(Arc::new(|text: &str| {
        let body = text.to_string();
        std::thread::spawn(move || {
            if let Err(e) = show("Rounds: patient waiting", &body) {
                tracing::info!(error = %e, "desktop notification not shown");
            }
        });
    }))
}

#[cfg(target_os = "linux")]
fn show(summary: &str, body: &str) -> Result<(), String> {
    use dbus::arg::PropMap;
    use dbus::blocking::Connection;
    let c = Connection::new_session().map_err(|e| e.to_string())?;
    let p = c.with_proxy(
        "org.freedesktop.Notifications",
        "/org/freedesktop/Notifications",
        std::time::Duration::from_secs(3),
    );
    let actions: Vec<&str> = Vec::new();
    let (_id,): (u32,) = p
        .method_call(
            "org.freedesktop.Notifications",
            "Notify",
            (
                "Rounds",
                0u32,
                "rounds",
                summary,
                body,
                actions,
                PropMap::new(),
                -1i32,
            ),
        )
        .map_err(|e| e.to_string())?;
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn show(_summary: &str, _body: &str) -> Result<(), String> {
    Err("desktop notifications are not wired on this platform yet".into())
}
