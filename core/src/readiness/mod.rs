//! Visit readiness (issue 18): before each video visit, is everything there for the call?
//!
//! Five checks, each decided here from plain facts so they are tested without a window:
//! camera and microphone present and usable ([`devices`]), the path to the video server
//! ([`network`]: DNS, TCP round trip, TLS with Rounds' own rules and pins), the sign-in lasting
//! past the visit's end, and the window the visit would open in carrying media and E2EE. Each
//! check says what it found and, when it needs attention, what the clinician can do, in their
//! words (technical detail goes to the log only).
//!
//! Nothing here opens a camera or microphone: devices are found by their system entries
//! (sysfs, /proc, /dev) and media is only opened by the device check when the visit starts.
//! [`renewal`] decides when to ask for a fresh sign-in so the session outlasts the next visit.

pub mod devices;
pub mod network;
pub mod renewal;

use serde::Serialize;
use std::path::PathBuf;

/// How far ahead of a video visit the background check runs.
pub const AHEAD_SECS: i64 = 10 * 60;

/// What one check is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum CheckKind {
    Camera,
    Microphone,
    VideoServer,
    Session,
    Window,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum CheckStatus {
    Ok,
    /// Something the clinician (or IT) must do before the visit.
    Attention,
    /// Cannot be known ahead here; checked when the visit opens.
    NotChecked,
}

/// One line of the readiness panel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    pub kind: CheckKind,
    pub status: CheckStatus,
    /// What Rounds found, in plain words.
    pub says: String,
    /// What to do about it (only when it needs attention).
    pub todo: Option<String>,
}

impl Check {
    fn ok(kind: CheckKind, says: impl Into<String>) -> Self {
        Self {
            kind,
            status: CheckStatus::Ok,
            says: says.into(),
            todo: None,
        }
    }
    fn attention(kind: CheckKind, says: impl Into<String>, todo: impl Into<String>) -> Self {
        Self {
            kind,
            status: CheckStatus::Attention,
            says: says.into(),
            todo: Some(todo.into()),
        }
    }
    fn not_checked(kind: CheckKind, says: impl Into<String>) -> Self {
        Self {
            kind,
            status: CheckStatus::NotChecked,
            says: says.into(),
            todo: None,
        }
    }
}

/// The readiness of one video visit, for its row and its panel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ReadinessView {
    pub appointment_id: String,
    /// No check needs attention.
    pub ready: bool,
    pub checks: Vec<Check>,
    /// Unix seconds of the check.
    #[specta(type = u32)]
    pub checked_at: i64,
    /// The video server checked (`host[:port]`), when it is known before joining.
    pub domain: Option<String>,
    /// The network path's timings, when the server was reached.
    pub times: Option<network::Times>,
}

impl ReadinessView {
    /// The first thing to fix, for the row's short label.
    pub fn first_problem(&self) -> Option<&Check> {
        self.checks
            .iter()
            .find(|c| c.status == CheckStatus::Attention)
    }
}

/// Where the visit would open here, as `video::window` would choose it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WindowFacts {
    /// Rounds' own webview, which has WebRTC (WebView2, WKWebView). `e2ee`: insertable
    /// streams (Chromium's WebView2 has them; WKWebView is not claimed).
    Embedded { e2ee: bool },
    /// A Chromium-family app window (Linux). `policy_missing`: IT named a browser that is not
    /// there, so this one was found on PATH instead.
    AppWindow {
        browser: PathBuf,
        policy_missing: Option<PathBuf>,
    },
    /// The default browser: no Chromium-family browser was found, or IT chose it.
    SystemBrowser {
        by_policy: bool,
        policy_missing: Option<PathBuf>,
    },
}

/// Everything the decision needs, gathered by `app::Core` (or a test).
#[derive(Debug, Clone)]
pub struct Facts {
    pub appointment_id: String,
    pub now: i64,
    /// The visit's end (unix seconds).
    pub visit_end: i64,
    /// Devices found, or `None` where they cannot be listed without opening media.
    pub devices: Option<devices::Found>,
    pub network: network::Outcome,
    /// When the sign-in ends (refresh token, or the session on a shared PC); `None`: signed out.
    pub session_end: Option<i64>,
    pub window: WindowFacts,
    /// Policy `video.e2ee_required`.
    pub e2ee_required: bool,
    /// The computer's UTC offset, for the times in the words.
    pub utc_offset_secs: i32,
}

/// Hours and minutes in the computer's time zone.
pub fn clock_time(unix: i64, offset_secs: i32) -> String {
    let local = unix + i64::from(offset_secs);
    let mins = local.div_euclid(60).rem_euclid(24 * 60);
    format!("{:02}:{:02}", mins / 60, mins % 60)
}

/// The one decision: every check from the facts.
pub fn assess(f: &Facts) -> ReadinessView {
    let mut checks = match &f.devices {
        Some(d) => vec![d.camera_check(), d.microphone_check()],
        None => vec![
            Check::not_checked(
                CheckKind::Camera,
                "The camera is checked when the visit opens (device check).",
            ),
            Check::not_checked(
                CheckKind::Microphone,
                "The microphone is checked when the visit opens (device check).",
            ),
        ],
    };
    checks.push(f.network.check());
    checks.push(session_check(f));
    checks.push(window_check(&f.window, f.e2ee_required));
    ReadinessView {
        appointment_id: f.appointment_id.clone(),
        ready: checks.iter().all(|c| c.status != CheckStatus::Attention),
        checks,
        checked_at: f.now,
        domain: f.network.domain().map(str::to_string),
        times: f.network.times(),
    }
}

fn session_check(f: &Facts) -> Check {
    let at = |t| clock_time(t, f.utc_offset_secs);
    match f.session_end {
        None => Check::attention(
            CheckKind::Session,
            "You are not signed in.",
            "Sign in with your password and code before the visit.",
        ),
        Some(end) if end < f.visit_end => Check::attention(
            CheckKind::Session,
            format!(
                "Your sign-in ends at {}, before this visit ends at {}.",
                at(end),
                at(f.visit_end)
            ),
            "Renew your sign-in now (password and code) so it lasts through the visit.",
        ),
        Some(end) => Check::ok(
            CheckKind::Session,
            format!(
                "Your sign-in lasts until {}, past the end of the visit.",
                at(end)
            ),
        ),
    }
}

fn window_check(w: &WindowFacts, e2ee_required: bool) -> Check {
    let k = CheckKind::Window;
    let it_path = |p: &PathBuf| {
        format!(
            "The browser your organisation set for video visits ({}) is not on this computer.",
            p.display()
        )
    };
    match w {
        WindowFacts::Embedded { e2ee: true } => Check::ok(
            k,
            "The visit opens in Rounds' own window, with camera, microphone and end-to-end encryption.",
        ),
        WindowFacts::Embedded { e2ee: false } if e2ee_required => Check::attention(
            k,
            "Your organisation requires end-to-end encryption, which the visit window on this computer cannot do, so the visit would be refused.",
            "Call IT before the visit.",
        ),
        WindowFacts::Embedded { e2ee: false } => Check::ok(
            k,
            "The visit opens in Rounds' own window, with camera and microphone (end-to-end encryption is not available in this window).",
        ),
        WindowFacts::AppWindow {
            browser,
            policy_missing: Some(p),
        } => Check::attention(
            k,
            format!(
                "{} Rounds would use {} instead.",
                it_path(p),
                browser.display()
            ),
            "Tell IT, so they can install it or change the setting.",
        ),
        WindowFacts::AppWindow { browser, .. } => Check::ok(
            k,
            format!(
                "The visit opens in a Rounds window of {}, with camera, microphone and end-to-end encryption.",
                browser.file_name().map_or_else(
                    || browser.display().to_string(),
                    |n| n.to_string_lossy().into_owned()
                )
            ),
        ),
        WindowFacts::SystemBrowser {
            policy_missing: Some(p),
            ..
        } => Check::attention(
            k,
            format!(
                "{} No Chrome, Chromium or Edge was found either, so the visit would open in your default browser.",
                it_path(p)
            ),
            "Call IT to install the browser for video visits, or use Open in browser when the visit starts.",
        ),
        WindowFacts::SystemBrowser {
            by_policy: true, ..
        } if !e2ee_required => Check::ok(
            k,
            "The visit opens in your default browser, as your organisation set.",
        ),
        WindowFacts::SystemBrowser { .. } => Check::attention(
            k,
            "This computer has no Chrome, Chromium or Edge for the visit window, so the visit would open in your default browser, where Rounds cannot check the camera or turn on end-to-end encryption.",
            "Call IT to install Chromium, or use Open in browser when the visit starts.",
        ),
    }
}

#[cfg(test)]
mod tests;
