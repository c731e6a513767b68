//! The video visit as the app runs it: ticket from the clinic, Rounds' own TLS checks on the
//! Jitsi origin, then the one-time loopback visit page (video/page.rs) that the app's visit
//! window (or the system browser) loads. The core follows the visit through that page and
//! keeps the audit log; the main window only ever sees [`VisitView`] (no token, no room).

use super::Core;
use crate::audit::AuditLog;
use crate::error::CoreError;
use crate::net::Url;
use crate::vault::items::unix_now;
use crate::video::{self, PageOptions, VideoError, VisitPage, VisitView};
use std::sync::Arc;

/// What the shell needs to show the visit page; never sent to the webview.
pub struct VisitOpen {
    /// The loopback page (one-time nonce in the path; no token).
    pub url: Url,
    /// The Jitsi host, and its leaf certificate (PEM) as Rounds verified it, so a webview
    /// that does not trust the hospital CA may trust exactly this certificate for this host.
    pub host: String,
    pub leaf_pem: Option<String>,
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

/// The running visit: one at a time.
pub(super) struct RunningVisit {
    page: VisitPage,
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
    ) -> Result<VisitOpen, CoreError> {
        self.ensure_unlocked()?;
        self.end_visit().await;
        let acct = self.account(None)?;
        let tokens = self.session_tokens(&acct)?;
        let now = unix_now();
        let t0 = std::time::Instant::now();
        let ticket =
            match video::join(&self.net, &tokens, &acct.server, &acct.site, appointment_id).await {
                Ok(t) => t,
                Err(e) => {
                    self.audit_all(&[e.audit_entry(appointment_id, now)]);
                    return Err(e.into());
                }
            };
        self.audit_all(&[ticket.audit_entry(now)]);
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
        let policy = self.effective();
        let content = policy.notifications.content;
        let opts = PageOptions {
            display_name: acct.username.clone(),
            lobby: true,
            e2ee_allowed: true,
            e2ee_required: policy.video.e2ee_required,
            // Policy `notifications.content`: none → no notification at all.
            on_knock: notify.filter(|_| content != crate::policy::NotificationContent::None),
            show_name: content == crate::policy::NotificationContent::PatientName,
        };
        let page = VisitPage::start(&ticket, opts, self.audit_log()).await?;
        let host = ticket
            .meeting_origin()
            .host_str()
            .unwrap_or_default()
            .to_string();
        let open = VisitOpen {
            url: page.url().clone(),
            host,
            leaf_pem: posture.leaf_der.as_deref().map(pem),
        };
        *self.visit.lock().await = Some(RunningVisit { page });
        // Benchmark split (issue note): the clinic's join answer, then Rounds' own work (TLS
        // check of the video origin, page start); the view's part is logged by the page.
        tracing::info!(
            appointment = appointment_id,
            server_ms,
            core_ms = t1.elapsed().as_millis(),
            "visit page started"
        );
        Ok(open)
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
        if let Some(v) = self.visit.lock().await.take() {
            v.page.stop();
            tracing::info!("visit page stopped");
        }
    }
}
