//! The visit window: a second webview on the core's one-time loopback visit page.
//!
//! It has no IPC at all (the capability file names only the main window): the page talks to
//! the core over its loopback HTTP only. On Linux the window turns on WebKitGTK's media-stream
//! and WebRTC settings (Debian's build still has no RTCPeerConnection: the page reports that
//! and the main window offers the system browser), and trusts exactly the video server's
//! certificate that Rounds itself verified (hospital CA, pins), for that host only.

use rounds_core::Core;
use rounds_core::app::{VisitOpen, VisitWindowKind};
use tauri::{AppHandle, Manager, WebviewUrl, WebviewWindowBuilder, WindowEvent};

pub const LABEL: &str = "visit";

/// Shows the started visit where the core chose: Rounds' visit window, the app window (the
/// core has already started it), or the default browser.
pub fn show(app: &AppHandle, visit: VisitOpen) -> Result<VisitWindowKind, String> {
    let kind = visit.window;
    match kind {
        VisitWindowKind::Embedded => open(app, visit)?,
        VisitWindowKind::AppWindow => {}
        VisitWindowKind::SystemBrowser => crate::browser::open(&visit.url)?,
    }
    Ok(kind)
}

fn open(app: &AppHandle, visit: VisitOpen) -> Result<(), String> {
    if let Some(w) = app.get_webview_window(LABEL) {
        let _ = w.destroy();
    }
    // Blank first: the settings and the certificate must be in place before the page loads.
    let blank = WebviewUrl::External("about:blank".parse().map_err(|e| format!("{e}"))?);
    // Camera and microphone only for the visit page and the verified Jitsi origin: no
    // origins (not what Rounds makes) means nothing is granted.
    let origins = visit
        .origins
        .clone()
        .ok_or("the visit page is not a loopback page")?;
    let b = WebviewWindowBuilder::new(app, LABEL, blank)
        .title("Rounds · video visit")
        .inner_size(1100.0, 760.0)
        .min_inner_size(640.0, 480.0);
    let w = crate::media_grant::builder(b, &origins)
        .build()
        .map_err(|e| e.to_string())?;
    crate::media_grant::install(&w, origins)?;
    #[cfg(target_os = "linux")]
    {
        let (host, pem) = (visit.host.clone(), visit.leaf_pem.clone());
        w.with_webview(move |pv| linux::prepare(&pv.inner(), &host, pem.as_deref()))
            .map_err(|e| e.to_string())?;
    }
    w.navigate(visit.url).map_err(|e| e.to_string())?;
    let handle = app.clone();
    w.on_window_event(move |e| {
        if matches!(e, WindowEvent::Destroyed) {
            let h = handle.clone();
            tauri::async_runtime::spawn(async move { h.state::<Core>().end_visit().await });
        }
    });
    Ok(())
}

pub fn close(app: &AppHandle) {
    if let Some(w) = app.get_webview_window(LABEL) {
        let _ = w.destroy();
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use webkit2gtk::gio;
    use webkit2gtk::{SettingsExt as _, WebContextExt as _, WebViewExt as _};

    pub fn prepare(view: &webkit2gtk::WebView, host: &str, leaf_pem: Option<&str>) {
        if let Some(s) = view.settings() {
            s.set_enable_media_stream(true);
            s.set_enable_webrtc(true);
        }
        if let (Some(pem), Some(ctx)) = (leaf_pem, view.context()) {
            match gio::TlsCertificate::from_pem(pem) {
                Ok(c) => ctx.allow_tls_certificate_for_host(&c, host),
                Err(e) => tracing::warn!(error = %e, "video server certificate not usable"),
            }
        }
    }
}
