//! The video visit as the app runs it: ticket from the clinic, Rounds' own TLS checks on the
//! Jitsi origin, then the one-time loopback visit page (video/page.rs) that the app's visit
//! window (or the system browser) loads. The core follows the visit through that page and
//! keeps the audit log; the main window only ever sees [`VisitView`] (no token, no room).

use super::Core;
use crate::audit::AuditLog;
use crate::error::CoreError;
use crate::net::Url;
use crate::vault::items::unix_now;
use crate::video::launch::AppWindow;
use crate::video::permissions::VisitOrigins;
use crate::video::window::{self, AppWindowSpec, LinuxWindow, WindowChoice};
use crate::video::{self, PageOptions, VideoError, VisitPage, VisitView};
use std::sync::Arc;

/// Which window the clinician asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VisitWindowRequest {
    /// The best window here: `embedded_media` is whether Rounds' own webview has WebRTC
    /// (the main window tells, it runs the same engine).
    Auto { embedded_media: bool },
    /// "Open in browser".
    SystemBrowser,
}

/// Where the visit opened, for the UI's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum VisitWindowKind {
    /// Rounds' own visit window.
    Embedded,
    /// A Chrome/Chromium/Edge app window on a throwaway profile (Linux).
    AppWindow,
    /// The default browser.
    SystemBrowser,
}

/// What the shell needs to show the visit page; never sent to the webview.
pub struct VisitOpen {
    /// The loopback page (one-time nonce in the path; no token).
    pub url: Url,
    /// The Jitsi host, and its leaf certificate (PEM) as Rounds verified it, so a webview
    /// that does not trust the hospital CA may trust exactly this certificate for this host.
    pub host: String,
    pub leaf_pem: Option<String>,
    /// Where it opened; for [`VisitWindowKind::AppWindow`] the core has already started it.
    pub window: VisitWindowKind,
    /// The two origins that may use camera and microphone (the embedded windows' grant).
    pub origins: Option<VisitOrigins>,
}

fn pem(der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        out += &String::from_utf8_lossy(line);
        out.push('\n');
    }
    out + "-----END CERTIFICATE-----\n"
}

/// Debug builds only: `ROUNDS_VISIT_WINDOW=embedded` keeps the visit in Rounds' own window
/// even where it cannot carry media, so the end-to-end tests still drive the IFrame API in the
/// embedded view (the path Windows and macOS run) on Linux. Release builds never read it.
fn embedded_forced() -> bool {
    cfg!(debug_assertions)
        && std::env::var_os("ROUNDS_VISIT_WINDOW").is_some_and(|v| v == "embedded")
}

/// The running visit: one at a time.
pub(super) struct RunningVisit {
    page: VisitPage,
    window: Option<AppWindow>,
}

impl Core {
    fn audit_log(&self) -> Option<Arc<AuditLog>> {
        let mut slot = self.audit.lock().ok()?;
        if slot.is_none() {
            match AuditLog::open(&self.env.paths.data_dir) {
                Ok(a) => *slot = Some(Arc::new(a)),
                Err(e) => tracing::warn!(error = %e, "audit log unavailable"),
            }
        }
        slot.clone()
    }

    fn audit_all(&self, entries: &[crate::audit::AuditEntry]) {
        if let Some(a) = self.audit_log()
            && let Err(e) = a.append_all(entries)
        {
            tracing::warn!(error = %e, "audit log write failed");
        }
    }

    /// Starts the visit of `appointment_id`: asks the clinic for the room and token, checks
    /// the video origin with Rounds' TLS rules (hospital CA, pins) before the token may go
    /// there, and starts the visit page. A visit already running is ended first.
    pub async fn start_visit(
        &self,
        appointment_id: &str,
        notify: Option<crate::video::KnockNotice>,
        request: VisitWindowRequest,
    ) -> Result<VisitOpen, CoreError> {
        self.ensure_unlocked()?;
        self.end_visit().await;
        let acct = self.account(None)?;
        let tokens = self.session_tokens(&acct)?;
        let now = unix_now();
        let t0 = std::time::Instant::now();
        let policy = self.effective();
        let joined = video::join(&self.net, &tokens, &acct.server, &acct.site, appointment_id)
            .await
            .and_then(|t| video::link::check_ticket(&t, &policy.video).map(|()| t));
        let ticket = match joined {
            Ok(t) => Ok(t),
            // No telehealth service (a stock FHIR server): the Appointment's own link. A 404
            // whatever its body (a stock server's "not_found" names its route, not the
            // appointment); with no link in the Appointment the server's answer stands.
            Err(e @ (VideoError::NotOffered | VideoError::NotFound)) => {
                match self.link_ticket(appointment_id, &policy).await {
                    Err(VideoError::NotOffered) => Err(e),
                    other => other,
                }
            }
            Err(e) => Err(e),
        };
        let ticket = match ticket {
            Ok(t) => t,
            Err(e) => {
                self.audit_all(&[e.audit_entry(appointment_id, now)]);
                return Err(e.into());
            }
        };
        self.audit_all(&[ticket.audit_entry(now)]);
        // The server to check before this profile's next visits (app/readiness.rs).
        self.remember_video_domain(ticket.domain());
        let server_ms = t0.elapsed().as_millis();
        let t1 = std::time::Instant::now();
        let posture =
            crate::net::probe::probe(&self.net_config(), &self.net, &ticket.external_api_url())
                .await;
        if !posture.accepted {
            let e = VideoError::Untrusted {
                detail: posture.detail.unwrap_or(posture.verdict),
            };
            self.audit_all(&[e.audit_entry(appointment_id, now)]);
            return Err(e.into());
        }
        self.note_video_server(&ticket.external_api_url());
        let content = policy.notifications.content;
        let opts = PageOptions {
            display_name: acct.username.clone(),
            lobby: true,
            e2ee_allowed: true,
            e2ee_required: policy.video.e2ee_required,
            // Policy `notifications.content`: none → no notification at all.
            on_knock: notify.filter(|_| content != crate::policy::NotificationContent::None),
            show_name: content == crate::policy::NotificationContent::PatientName,
            devices_file: Some(self.env.paths.data_dir.join("devices.json")),
            changes: Some(self.changes.clone()),
        };
        let page = VisitPage::start(&ticket, opts, self.audit_log()).await?;
        let host = ticket
            .meeting_origin()
            .host_str()
            .unwrap_or_default()
            .to_string();
        let origins = VisitOrigins::new(page.url(), &ticket.meeting_origin());
        let choice = match request {
            VisitWindowRequest::SystemBrowser => WindowChoice::SystemBrowser,
            VisitWindowRequest::Auto { embedded_media } => {
                let mode = match policy.video.linux_window {
                    crate::policy::LinuxWindowMode::AppWindow => LinuxWindow::AppWindow,
                    crate::policy::LinuxWindowMode::SystemBrowser => LinuxWindow::SystemBrowser,
                };
                let path = std::env::var_os("PATH");
                let browser =
                    window::find_browser(policy.video.browser_path.as_deref(), path.as_deref());
                window::choose(embedded_media || embedded_forced(), mode, browser)
            }
        };
        let t2 = std::time::Instant::now();
        let (kind, app_window) = match (&choice, &origins) {
            (WindowChoice::Embedded, _) => (VisitWindowKind::Embedded, None),
            (WindowChoice::AppWindow(browser), Some(o)) => {
                let spec = AppWindowSpec {
                    browser: browser.clone(),
                    page_url: page.url().clone(),
                    origins: o.clone(),
                    spki_sha256: posture.leaf_der.as_deref().map(|d| {
                        let cert = rustls::pki_types::CertificateDer::from(d);
                        let pin = crate::net::verify::cert_pin(&cert);
                        pin.trim_start_matches("sha256/").to_string()
                    }),
                    profile: window::profiles_root(&self.env.paths.data_dir).join(
                        page.url()
                            .path()
                            .trim_matches('/')
                            .rsplit('/')
                            .next()
                            .unwrap_or("visit"),
                    ),
                };
                let handle = page.handle();
                match AppWindow::launch(&spec, page.phases(), move || handle.window_closed()) {
                    Ok(w) => (VisitWindowKind::AppWindow, Some(w)),
                    Err(e) => {
                        // Said once in the log; the visit still opens, in the default browser.
                        tracing::warn!(error = %e, "visit window could not start; using the default browser");
                        (VisitWindowKind::SystemBrowser, None)
                    }
                }
            }
            _ => (VisitWindowKind::SystemBrowser, None),
        };
        let open = VisitOpen {
            url: page.url().clone(),
            host,
            leaf_pem: posture.leaf_der.as_deref().map(pem),
            window: kind,
            origins,
        };
        *self.visit.lock().await = Some(RunningVisit {
            page,
            window: app_window,
        });
        self.publish(crate::changes::Change::Visit);
        // Benchmark split (issue note): the clinic's join answer, then Rounds' own work (TLS
        // check of the video origin, page start); the view's part is logged by the page.
        tracing::info!(
            appointment = appointment_id,
            server_ms,
            core_ms = t1.elapsed().as_millis(),
            window_ms = t2.elapsed().as_millis(),
            window = ?kind,
            "visit page started"
        );
        Ok(open)
    }

    /// A ticket from the cached Appointment's link (video::link decides what policy allows).
    async fn link_ticket(
        &self,
        appointment_id: &str,
        policy: &crate::policy::Effective,
    ) -> Result<video::JoinTicket, VideoError> {
        let found = match self.schedule().await {
            Ok((syncer, _, _)) => syncer
                .cache()
                .visit_link(appointment_id)
                .await
                .ok()
                .flatten(),
            Err(_) => None,
        };
        let (link, end) = found.map_or((None, 0), |(l, e)| (Some(l), e));
        let t = video::link::ticket_from_link(appointment_id, link.as_ref(), end, &policy.video);
        if let Ok(t) = &t {
            tracing::info!(
                appointment = appointment_id,
                domain = t.domain(),
                "video visit from the appointment's own link"
            );
        }
        t
    }

    /// The running (or last) visit as the main window shows it; nothing while locked (the
    /// view names who is knocking).
    pub async fn visit_view(&self) -> Option<VisitView> {
        if self.ensure_unlocked().is_err() {
            return None;
        }
        self.visit_view_unguarded().await
    }

    pub(super) async fn visit_view_unguarded(&self) -> Option<VisitView> {
        self.visit.lock().await.as_ref().and_then(|v| v.page.view())
    }

    /// The visit window closed, sign-out, or a new visit: the page stops (its token is gone).
    pub async fn end_visit(&self) {
        let v = self.visit.lock().await.take();
        if let Some(v) = v {
            if let Some(w) = v.window {
                w.close().await;
            }
            v.page.stop();
            tracing::info!("visit page stopped");
            self.publish(crate::changes::Change::Visit);
        }
    }
}
