//! Camera and microphone for the visit window: each webview's permission request answered by
//! the core's one decision (`VisitOrigins::decide`); this file only translates.
//!
//! - **Windows (WebView2)**: `install` adds a `PermissionRequested` handler on the window's
//!   `ICoreWebView2`. WebView2 raises that event for requests from iframes too (the frame's own
//!   `PermissionRequested` fires first, and nothing here or in wry handles it there), so the
//!   meeting frame needs no `FrameCreated` handler. Every answer is for this request only
//!   (`SetSavesInProfile(false)`), and at install the saved camera/microphone state of the two
//!   origins is reset to the default, so no decision made before (e.g. by WebView2's own prompt)
//!   outlives it.
//! - **macOS (WKWebView)**: wry's `WKUIDelegate` answers
//!   `webView:requestMediaCapturePermissionForOrigin:initiatedByFrame:type:decisionHandler:`
//!   and, without a handler, grants every origin. Its only hook is the builder's
//!   `on_permission_request`, which is given the kind but not the requesting origin: `builder`
//!   sets it to decide on the window's current top-level URL (the visit page). Which frame
//!   asks is left to the page's CSP (`frame-src`) and the iframe's `allow` attribute.
//! - **Elsewhere**: nothing (Linux: `visit.rs` configures WebKitGTK).

use rounds_core::video::permissions::VisitOrigins;
use tauri::{Manager, Runtime, WebviewWindowBuilder};

/// Answers the visit window's camera/microphone requests with `origins.decide`. Call it right
/// after the window is built, before it navigates to the visit page. `Err` when the handler
/// could not be attached (then the window should not show the visit).
pub fn install(window: &tauri::WebviewWindow, origins: VisitOrigins) -> Result<(), String> {
    #[cfg(windows)]
    {
        let (tx, rx) = std::sync::mpsc::channel();
        window
            .with_webview(move |pv| {
                let _ = tx.send(webview2::attach(&pv.controller(), origins));
            })
            .map_err(|e| e.to_string())?;
        // Runs on the UI thread: inline when called there, else queued ahead of `navigate`.
        rx.recv()
            .map_err(|_| "visit window closed before its media handler was set".to_string())?
            .map_err(|e| format!("visit window media handler: {e}"))
    }
    #[cfg(not(windows))]
    {
        let _ = (window, origins);
        Ok(())
    }
}

/// Before `build()`: on macOS, replaces wry's grant-everything media answer with the core's
/// decision on the window's top-level URL. Unchanged builder elsewhere (Windows: `install`).
pub fn builder<'a, R: Runtime, M: Manager<R>>(
    builder: WebviewWindowBuilder<'a, R, M>,
    origins: &VisitOrigins,
) -> WebviewWindowBuilder<'a, R, M> {
    #[cfg(target_os = "macos")]
    {
        use rounds_core::video::permissions::{Grant, MediaKind};
        use tauri::webview::{PermissionKind, PermissionResponse};
        let origins = origins.clone();
        builder.on_permission_request(move |webview, kind| {
            let kind = match kind {
                PermissionKind::Camera => MediaKind::Camera,
                PermissionKind::Microphone => MediaKind::Microphone,
                _ => MediaKind::Other,
            };
            let top = webview.url().map(|u| u.to_string()).unwrap_or_default();
            match origins.decide(&top, kind) {
                Grant::Allow => PermissionResponse::Allow,
                Grant::Deny => PermissionResponse::Deny,
            }
        })
    }
    #[cfg(not(target_os = "macos"))]
    {
        let _ = origins;
        builder
    }
}

#[cfg(windows)]
#[allow(unsafe_code)] // WebView2 is COM: every call through webview2-com is `unsafe`.
mod webview2 {
    use rounds_core::video::permissions::{Grant, MediaKind, VisitOrigins};
    use webview2_com::Microsoft::Web::WebView2::Win32::{
        COREWEBVIEW2_PERMISSION_KIND, COREWEBVIEW2_PERMISSION_KIND_CAMERA,
        COREWEBVIEW2_PERMISSION_KIND_MICROPHONE, COREWEBVIEW2_PERMISSION_STATE_ALLOW,
        COREWEBVIEW2_PERMISSION_STATE_DEFAULT, COREWEBVIEW2_PERMISSION_STATE_DENY, ICoreWebView2,
        ICoreWebView2_13, ICoreWebView2Controller, ICoreWebView2PermissionRequestedEventArgs,
        ICoreWebView2PermissionRequestedEventArgs3, ICoreWebView2Profile4,
    };
    use webview2_com::{PermissionRequestedEventHandler, SetPermissionStateCompletedHandler};
    use windows_core::{HSTRING, Interface, PWSTR};

    pub fn attach(
        controller: &ICoreWebView2Controller,
        origins: VisitOrigins,
    ) -> windows_core::Result<()> {
        let webview = unsafe { controller.CoreWebView2()? };
        forget_saved(&webview, &origins);
        let handler =
            PermissionRequestedEventHandler::create(Box::new(move |_, args| match args {
                Some(args) => answer(&origins, &args),
                None => Ok(()),
            }));
        // Registered for the window's life (it goes with the webview), like wry's own.
        let mut token = 0i64;
        unsafe { webview.add_PermissionRequested(&handler, &mut token) }
    }

    fn answer(
        origins: &VisitOrigins,
        args: &ICoreWebView2PermissionRequestedEventArgs,
    ) -> windows_core::Result<()> {
        let mut uri = PWSTR::null();
        let mut kind = COREWEBVIEW2_PERMISSION_KIND::default();
        let read = unsafe { args.Uri(&mut uri).and(args.PermissionKind(&mut kind)) };
        // Frees the string WebView2 allocated, whatever `read` says.
        let uri = webview2_com::take_pwstr(uri);
        let grant = match read {
            Ok(()) => origins.decide(&uri, MediaKind::from_webview2(kind.0)),
            Err(_) => Grant::Deny,
        };
        // Runtime 1.0.1661.34+: keep the answer out of the profile.
        if let Ok(args3) = args.cast::<ICoreWebView2PermissionRequestedEventArgs3>() {
            let _ = unsafe { args3.SetSavesInProfile(false) };
        }
        let state = match grant {
            Grant::Allow => COREWEBVIEW2_PERMISSION_STATE_ALLOW,
            Grant::Deny => COREWEBVIEW2_PERMISSION_STATE_DENY,
        };
        unsafe { args.SetState(state) }
    }

    /// Resets any saved camera/microphone state of the two origins (`..._STATE_DEFAULT` erases
    /// it). Runtime 1.0.1661.34+; older runtimes keep what they saved and only log.
    fn forget_saved(webview: &ICoreWebView2, origins: &VisitOrigins) {
        let profile = webview
            .cast::<ICoreWebView2_13>()
            .and_then(|w| unsafe { w.Profile() })
            .and_then(|p| p.cast::<ICoreWebView2Profile4>());
        let profile = match profile {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "webview profile: saved media permissions not reset");
                return;
            }
        };
        for origin in [origins.page(), origins.meeting()] {
            for kind in [
                COREWEBVIEW2_PERMISSION_KIND_CAMERA,
                COREWEBVIEW2_PERMISSION_KIND_MICROPHONE,
            ] {
                let done = SetPermissionStateCompletedHandler::create(Box::new(|r| {
                    if let Err(e) = r {
                        tracing::warn!(error = %e, "saved media permission not reset");
                    }
                    Ok(())
                }));
                let origin = HSTRING::from(origin);
                let r = unsafe {
                    profile.SetPermissionState(
                        kind,
                        &origin,
                        COREWEBVIEW2_PERMISSION_STATE_DEFAULT,
                        &done,
                    )
                };
                if let Err(e) = r {
                    tracing::warn!(error = %e, "saved media permission not reset");
                }
            }
        }
    }
}
