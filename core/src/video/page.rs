//! The visit page: a one-time page on a random loopback port that runs Jitsi's IFrame API for
//! one visit and reports its events to the core (video-platforms.md: the path that works in
//! any browser, and the same page the app's own visit window loads).
//!
//! Why a loopback page and not the app's main window: the main window's CSP allows nothing
//! but the app itself; this page gets a CSP made for exactly one clinic Jitsi origin. Why not
//! a URL with the token: the token must not land in a command line, history or a log, so the
//! page fetches it once from this server (`/ticket` answers once, then 410).
//!
//! Everything is under `/visit/<nonce>/` (128 random bits); any other path is 404. The server
//! binds 127.0.0.1 only and stops with [`VisitPage::stop`] (or when dropped).

use super::{HostCommand, JoinTicket, VideoError, VisitEvent, VisitPhase, VisitState, VisitView};
use crate::audit::AuditLog;
use crate::loopback::respond;
use crate::secret::Secret;
use base64::Engine as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use url::Url;

const HTML: &str = include_str!("page/visit.html");
const JS: &str = include_str!("page/visit.js");
const CSS: &str = include_str!("page/visit.css");
const DEVICES_JS: &str = include_str!("page/devices.js");
const MAX_BODY: usize = 64 * 1024;

/// Called when someone knocks (lobby), with the text to show in a desktop notification; the
/// core has already applied the notification policy (no call at all when it says none).
#[derive(Clone)]
pub struct KnockNotice(pub Arc<dyn Fn(&str) + Send + Sync>);

impl std::fmt::Debug for KnockNotice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KnockNotice")
    }
}

/// What the page shows and asks Jitsi for, besides the ticket.
#[derive(Debug, Clone)]
pub struct PageOptions {
    /// The signed-in clinician's name, for Jitsi's `userInfo.displayName`.
    pub display_name: String,
    /// Lobby (waiting room) on when the host joins (policy; on by default).
    pub lobby: bool,
    /// E2EE allowed by policy (it is still turned on only where the browser supports it).
    pub e2ee_allowed: bool,
    /// Policy `video.e2ee_required`: where the browser cannot encrypt end to end, the page
    /// does not join at all.
    pub e2ee_required: bool,
    /// Desktop notification for "someone is waiting"; `show_name` per policy
    /// `notifications.content = patient_name`.
    pub on_knock: Option<KnockNotice>,
    pub show_name: bool,
    /// Where the device check's choices are remembered on this computer (not secret:
    /// device labels only); `None` = not remembered.
    pub devices_file: Option<PathBuf>,
    /// Told of every event the visit's state took in, so the main window follows the visit
    /// without asking (`None`: nobody follows, e.g. the CLI).
    pub changes: Option<crate::changes::Publisher>,
}

/// A running visit page. Dropping it stops the server.
pub struct VisitPage {
    url: Url,
    shared: Arc<Shared>,
    stop: Arc<Mutex<Option<tokio::sync::oneshot::Sender<()>>>>,
}

/// For the visit's window watcher: tells the page its window has gone.
#[derive(Clone)]
pub struct PageHandle {
    shared: Arc<Shared>,
    stop: Arc<Mutex<Option<tokio::sync::oneshot::Sender<()>>>>,
}

impl PageHandle {
    /// The window closed under the visit: the visit is over for this computer (as Jitsi's
    /// `readyToClose`; a failed load if it never fetched its ticket), and the page stops so the
    /// one-time ticket can never be fetched.
    pub fn window_closed(&self) {
        // Gone before the page even took its ticket (the browser would not start): the visit
        // failed to load, so the main window offers the default browser instead.
        let never_loaded = self
            .shared
            .ticket
            .lock()
            .map(|t| t.is_some())
            .unwrap_or(false);
        let ev = if never_loaded {
            tracing::warn!("visit window closed before the visit page loaded");
            VisitEvent::LoadFailed
        } else {
            VisitEvent::ReadyToClose
        };
        s_apply(&self.shared, ev);
        if let Some(s) = self.stop.lock().ok().and_then(|mut s| s.take()) {
            let _ = s.send(());
        }
    }
}

struct Shared {
    started: std::time::Instant,
    on_knock: Option<KnockNotice>,
    show_name: bool,
    prefix: String,
    csp: String,
    ticket: Mutex<Option<serde_json::Value>>,
    state: Arc<Mutex<VisitState>>,
    phase: tokio::sync::watch::Sender<VisitPhase>,
    audit: Option<Arc<AuditLog>>,
    devices_file: Option<PathBuf>,
    changes: Option<crate::changes::Publisher>,
}

/// Applies an event, appends its audit lines and publishes the phase; returns the view and
/// whether the state accepted it (audit lines came out).
fn s_apply(s: &Shared, ev: VisitEvent) -> Option<(VisitView, bool)> {
    let (entries, view, phase) = {
        let mut st = s.state.lock().ok()?;
        let e = st.apply(ev, crate::vault::items::unix_now());
        (e, st.view(), st.phase())
    };
    if let Some(a) = &s.audit {
        let _ = a.append_all(&entries);
    }
    let moved = s.phase.send_if_modified(|p| {
        let changed = *p != phase;
        *p = phase;
        changed
    });
    let accepted = !entries.is_empty();
    if let Some(c) = &s.changes
        && (accepted || moved)
    {
        c.publish(crate::changes::Change::Visit);
    }
    Some((view, accepted))
}

impl VisitPage {
    /// Starts the page for `ticket`. The JWT moves into the one-time `/ticket` answer.
    pub async fn start(
        ticket: &JoinTicket,
        opts: PageOptions,
        audit: Option<Arc<AuditLog>>,
    ) -> Result<VisitPage, VideoError> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| VideoError::Page(e.to_string()))?;
        let port = listener
            .local_addr()
            .map_err(|e| VideoError::Page(e.to_string()))?
            .port();
        let mut nonce = [0u8; 16];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| VideoError::Page("no randomness".into()))?;
        let nonce = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(nonce);
        let prefix = format!("/visit/{nonce}/");
        let origin = ticket.meeting_origin();
        let origin = origin.as_str().trim_end_matches('/');
        let csp = format!(
            "default-src 'none'; script-src 'self' {origin}; frame-src {origin}; \
             style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
             form-action 'none'; frame-ancestors 'none'"
        );
        let state = VisitState::for_ticket(ticket);
        let (phase, _) = tokio::sync::watch::channel(state.phase());
        let state = Arc::new(Mutex::new(state));
        let ticket_json = serde_json::json!({
            "domain": ticket.domain(),
            "room": ticket.room(),
            "jwt": ticket.jwt().map(Secret::expose),
            "moderator": ticket.moderator(),
            "displayName": opts.display_name,
            "lobby": opts.lobby,
            "e2eeAllowed": opts.e2ee_allowed,
            "e2eeRequired": opts.e2ee_required,
        });
        let shared = Arc::new(Shared {
            started: std::time::Instant::now(),
            on_knock: opts.on_knock.clone(),
            show_name: opts.show_name,
            prefix: prefix.clone(),
            csp,
            ticket: Mutex::new(Some(ticket_json)),
            state,
            phase,
            audit,
            devices_file: opts.devices_file.clone(),
            changes: opts.changes.clone(),
        });
        let server = shared.clone();
        let (stop, mut stopped) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = &mut stopped => return,
                    a = listener.accept() => if let Ok((sock, _)) = a {
                        let s = server.clone();
                        tokio::spawn(async move { let _ = serve(sock, &s).await; });
                    }
                }
            }
        });
        let url = Url::parse(&format!("http://127.0.0.1:{port}{prefix}"))
            .map_err(|e| VideoError::Page(e.to_string()))?;
        Ok(VisitPage {
            url,
            shared,
            stop: Arc::new(Mutex::new(Some(stop))),
        })
    }

    /// The page's address (carries the nonce, never the token).
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The visit as the core follows it.
    pub fn view(&self) -> Option<VisitView> {
        self.shared.state.lock().ok().map(|s| s.view())
    }

    /// The visit's phase as it changes (the app window closes itself when it ends).
    pub fn phases(&self) -> tokio::sync::watch::Receiver<VisitPhase> {
        self.shared.phase.subscribe()
    }

    pub fn handle(&self) -> PageHandle {
        PageHandle {
            shared: self.shared.clone(),
            stop: self.stop.clone(),
        }
    }

    pub fn stop(self) {
        // Drop does it.
    }
}

impl Drop for VisitPage {
    fn drop(&mut self) {
        if let Some(s) = self.stop.lock().ok().and_then(|mut s| s.take()) {
            let _ = s.send(());
        }
    }
}

fn json(v: &impl serde::Serialize) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}

async fn serve(mut sock: TcpStream, s: &Shared) -> Option<()> {
    let req = tokio::time::timeout(
        Duration::from_secs(10),
        crate::loopback::read_request(&mut sock, MAX_BODY),
    )
    .await
    .ok()??;
    let Some(rest) = req.target.strip_prefix(&s.prefix) else {
        respond(&mut sock, 404, "text/plain", &[], b"not found").await;
        return Some(());
    };
    const JSON: &str = "application/json";
    match (req.method.as_str(), rest) {
        ("GET", "") => {
            respond(
                &mut sock,
                200,
                "text/html; charset=utf-8",
                &[("Content-Security-Policy", &s.csp)],
                HTML.as_bytes(),
            )
            .await
        }
        ("GET", "visit.js") => respond(&mut sock, 200, "text/javascript", &[], JS.as_bytes()).await,
        ("GET", "devices.js") => {
            respond(
                &mut sock,
                200,
                "text/javascript",
                &[],
                DEVICES_JS.as_bytes(),
            )
            .await
        }
        ("GET", "visit.css") => respond(&mut sock, 200, "text/css", &[], CSS.as_bytes()).await,
        ("GET", "ticket") => {
            let t = s.ticket.lock().ok().and_then(|mut t| t.take());
            match t {
                Some(t) => respond(&mut sock, 200, JSON, &[], &json(&t)).await,
                None => respond(&mut sock, 410, JSON, &[], b"{\"error\":\"used\"}").await,
            }
        }
        ("GET", "state") => {
            let v = s.state.lock().ok().map(|st| st.view());
            respond(&mut sock, 200, JSON, &[], &json(&v)).await;
        }
        ("POST", "events") => {
            let ev = VisitEvent::from_json(std::str::from_utf8(&req.body).unwrap_or(""));
            if matches!(ev, VisitEvent::ConferenceJoined { .. }) {
                // The view's part of "click → joined": page load, IFrame API, meeting join.
                tracing::info!(view_ms = s.started.elapsed().as_millis(), "visit joined");
            }
            let knock_name = match &ev {
                VisitEvent::Knocking { name, .. } => Some(name.clone()),
                _ => None,
            };
            let (view, accepted) = s_apply(s, ev)?;
            // Only a knock the state accepted (in the call, as host) makes a notification.
            if let (Some(name), Some(n)) = (knock_name, &s.on_knock)
                && accepted
            {
                let text = if s.show_name && !name.is_empty() {
                    format!("{name} is waiting to be let into your video visit.")
                } else {
                    "Someone is waiting to be let into your video visit.".to_string()
                };
                (n.0)(&text);
            }
            respond(&mut sock, 200, JSON, &[], &json(&view)).await;
        }
        ("GET", "devices") => {
            let d = s
                .devices_file
                .as_deref()
                .map(super::devices::load)
                .unwrap_or_default();
            respond(&mut sock, 200, JSON, &[], &json(&d)).await;
        }
        ("POST", "devices") => {
            let saved = serde_json::from_slice::<super::devices::DeviceChoice>(&req.body)
                .ok()
                .filter(super::devices::DeviceChoice::is_valid)
                .zip(s.devices_file.as_deref())
                .map(|(d, f)| super::devices::save(f, &d).is_ok());
            match saved {
                Some(true) => respond(&mut sock, 200, JSON, &[], b"{\"ok\":true}").await,
                _ => respond(&mut sock, 400, JSON, &[], b"{\"error\":\"not_saved\"}").await,
            }
        }
        ("POST", "command") => {
            let cmd: Option<HostCommand> = serde_json::from_slice(&req.body).ok();
            let out = cmd.and_then(|c| {
                let mut st = s.state.lock().ok()?;
                if !c.allowed(&st) {
                    return None;
                }
                let entries = st.executed(&c, crate::vault::items::unix_now());
                Some((c.to_iframe(), entries))
            });
            match out {
                Some(((name, args), entries)) => {
                    if let Some(a) = &s.audit {
                        let _ = a.append_all(&entries);
                    }
                    respond(
                        &mut sock,
                        200,
                        JSON,
                        &[],
                        &json(&serde_json::json!({"name": name, "args": args})),
                    )
                    .await;
                }
                None => respond(&mut sock, 403, JSON, &[], b"{\"error\":\"not_allowed\"}").await,
            }
        }
        _ => respond(&mut sock, 404, "text/plain", &[], b"not found").await,
    }
    Some(())
}
