//! Visit readiness and the renewal question as the app runs them (decisions: `crate::readiness`).
//!
//! **Where the video server comes from before joining.** The clinic's telehealth service names
//! it only at join time, so ahead of a visit Rounds uses, in order: the domain in the
//! Appointment's own link (`virtualService`, or a text link where policy reads them); the
//! server the clinic's service named at this profile's last join (remembered in
//! `video-servers.json` in the data dir: a host name, not secret); the first exact entry of
//! policy `video.allowed_domains`. With none of these the check says it happens at join.
//!
//! **In the background.** The schedule's own poll asks [`Core::readiness_day`] (every 15 s);
//! it answers at once from memory and starts a check in a task of its own for each video visit
//! starting within [`readiness::AHEAD_SECS`] whose result is older than [`RECHECK_SECS`]. A
//! check costs one DNS lookup, one TCP connect and one small HTTPS GET, plus a few sysfs reads;
//! no camera or microphone is opened.

use super::Core;
use crate::error::CoreError;
use crate::policy::{Effective, LinuxWindowMode};
use crate::readiness::{self, Facts, ReadinessView, WindowFacts, devices, network, renewal};
use crate::schedule::link::LinkTarget;
use crate::schedule::{AppointmentStatus, Visit};
use crate::vault::items::unix_now;
use crate::vault::{ItemKind, Vault};
use crate::video::window;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// A result younger than this is shown as it is.
pub const RECHECK_SECS: i64 = 2 * 60;

/// What the background checks found, by appointment id.
#[derive(Default)]
pub(super) struct Memory {
    results: HashMap<String, ReadinessView>,
    running: std::collections::HashSet<String>,
    /// Tests (and debug builds, `ROUNDS_DEVICE_ROOT`) point device discovery elsewhere.
    device_roots: Option<devices::Roots>,
}

pub(super) type Shared = Arc<Mutex<Memory>>;

fn lock(m: &Shared) -> std::sync::MutexGuard<'_, Memory> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn live(v: &Visit) -> bool {
    v.video
        && matches!(
            v.status,
            AppointmentStatus::Booked | AppointmentStatus::Arrived | AppointmentStatus::CheckedIn
        )
}

fn offset_now() -> i32 {
    chrono::Local::now().offset().local_minus_utc()
}

/// The device roots: a test's, else (debug builds only) `ROUNDS_DEVICE_ROOT/{sys,dev,proc}`,
/// else the system's.
fn roots(mem: &Shared) -> devices::Roots {
    if let Some(r) = lock(mem).device_roots.clone() {
        return r;
    }
    match std::env::var_os("ROUNDS_DEVICE_ROOT").filter(|_| cfg!(debug_assertions)) {
        Some(root) => {
            let root = std::path::PathBuf::from(root);
            devices::Roots {
                sys: root.join("sys"),
                dev: root.join("dev"),
                proc: root.join("proc"),
            }
        }
        None => devices::Roots::system(),
    }
}

/// Where the visit would open, as `start_visit` decides it (the debug-only forced embedded
/// view of the e2e tests is not honoured: readiness says what this computer can do).
fn window_facts(embedded_media: bool, e: &Effective) -> WindowFacts {
    if embedded_media {
        // WebView2 is Chromium (insertable streams); WKWebView's support is not claimed.
        return WindowFacts::Embedded {
            e2ee: cfg!(target_os = "windows"),
        };
    }
    let policy_missing = e
        .video
        .browser_path
        .clone()
        .filter(|p| window::find_browser(Some(p), None).is_none());
    if e.video.linux_window == LinuxWindowMode::SystemBrowser {
        return WindowFacts::SystemBrowser {
            by_policy: true,
            policy_missing: None,
        };
    }
    let path = std::env::var_os("PATH");
    match window::find_browser(e.video.browser_path.as_deref(), path.as_deref()) {
        Some(browser) => WindowFacts::AppWindow {
            browser,
            policy_missing,
        },
        None => WindowFacts::SystemBrowser {
            by_policy: false,
            policy_missing,
        },
    }
}

fn servers_file(data_dir: &std::path::Path) -> std::path::PathBuf {
    data_dir.join("video-servers.json")
}

impl Core {
    /// Tests: find cameras and microphones under these roots instead of the system's.
    pub fn set_device_roots(&self, roots: devices::Roots) {
        lock(&self.readiness).device_roots = Some(roots);
    }

    /// The clinic's telehealth service named this server at a join: remembered per profile
    /// as the server to check before the next visits.
    pub(super) fn remember_video_domain(&self, domain: &str) {
        let Ok(profile) = self.account(None).map(|a| a.profile) else {
            return;
        };
        let file = servers_file(&self.env.paths.data_dir);
        let mut known: BTreeMap<String, String> = std::fs::read(&file)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        if known.get(&profile).map(String::as_str) == Some(domain) {
            return;
        }
        known.insert(profile, domain.to_string());
        let write = serde_json::to_vec_pretty(&known)
            .map_err(std::io::Error::other)
            .and_then(|b| std::fs::write(&file, b));
        if let Err(e) = write {
            tracing::warn!(error = %e, "could not remember the video server");
        }
    }

    /// The video server to check for a visit (module docs), or the outcome already known
    /// without a connection (not approved by policy, or named only at join).
    async fn video_domain(
        &self,
        appointment_id: &str,
        e: &Effective,
    ) -> Result<String, network::Outcome> {
        let link = match self.schedule().await {
            Ok((syncer, _, _)) => syncer
                .cache()
                .visit_link(appointment_id)
                .await
                .ok()
                .flatten(),
            Err(_) => None,
        };
        let from_link = link
            .filter(|(l, _)| !l.source.is_text() || e.video.links_in_text)
            .and_then(|(l, _)| match l.target {
                LinkTarget::Jitsi { domain, .. } => Some(domain),
                LinkTarget::Unusable { .. } => None,
            });
        if let Some(d) = from_link {
            if !crate::video::link::domain_allowed(&d, &e.video.allowed_domains) {
                return Err(network::Outcome::NotAllowed { domain: d });
            }
            return Ok(d);
        }
        let profile = self.account(None).map(|a| a.profile).unwrap_or_default();
        let remembered = std::fs::read(servers_file(&self.env.paths.data_dir))
            .ok()
            .and_then(|b| serde_json::from_slice::<BTreeMap<String, String>>(&b).ok())
            .and_then(|m| m.get(&profile).cloned());
        let from_policy = || {
            e.video
                .allowed_domains
                .iter()
                .find(|d| !d.starts_with("*."))
                .cloned()
        };
        match remembered.or_else(from_policy) {
            Some(d) => Ok(d),
            None => Err(network::Outcome::Unknown),
        }
    }

    /// When the sign-in ends, from the keychain's facts (no secret read): the refresh token's
    /// end, or on a shared PC (no refresh token kept) the session's.
    pub(super) fn session_end(&self) -> Option<i64> {
        let profile = self.account(None).ok()?.profile;
        let vault = Vault::open().ok()?;
        let kind = if self.shared_pc() {
            ItemKind::Session
        } else {
            ItemKind::Refresh
        };
        let end = vault.info(&profile, kind).ok()??.expires_at?;
        (end > unix_now()).then_some(end)
    }

    /// Checks one visit now (the panel's "Check again", and the background checks).
    pub async fn visit_readiness(
        &self,
        appointment_id: &str,
        embedded_media: bool,
    ) -> Result<ReadinessView, CoreError> {
        self.ensure_unlocked()?;
        let (syncer, practitioner, _) = self.schedule().await?;
        let now = unix_now();
        let visit = syncer
            .cache()
            .day(now - 86_400, now + 2 * 86_400, practitioner.as_deref())
            .await?
            .into_iter()
            .find(|v| v.id == appointment_id)
            .ok_or_else(|| CoreError::Internal("no such visit in the schedule".into()))?;
        let job = self.readiness_job(&visit, embedded_media).await;
        Ok(job.run().await)
    }

    async fn readiness_job(&self, v: &Visit, embedded_media: bool) -> Job {
        let e = self.effective();
        Job {
            appointment_id: v.id.clone(),
            visit_end: v.end,
            target: self.video_domain(&v.id, &e).await,
            session_end: self.session_end(),
            window: window_facts(embedded_media, &e),
            e2ee_required: e.video.e2ee_required,
            net: self.net.clone(),
            connect: self.net.limits().connect,
            roots: roots(&self.readiness),
            memory: self.readiness.clone(),
            changes: self.changes.clone(),
        }
    }

    /// The readiness of the video visits in `[from, to)` that start within 10 minutes (or are
    /// on now), as last checked; stale ones are checked again in the background.
    pub async fn readiness_day(
        &self,
        from: i64,
        to: i64,
        embedded_media: bool,
    ) -> Result<Vec<ReadinessView>, CoreError> {
        self.ensure_unlocked()?;
        self.note_embedded_media(embedded_media);
        let (syncer, practitioner, _) = self.schedule().await?;
        let now = unix_now();
        let due: Vec<Visit> = syncer
            .cache()
            .day(from, to, practitioner.as_deref())
            .await?
            .into_iter()
            .filter(|v| live(v) && v.end > now && v.start - now <= readiness::AHEAD_SECS)
            .collect();
        let mut out = Vec::new();
        for v in &due {
            let (known, start) = {
                let mut m = lock(&self.readiness);
                let known = m.results.get(&v.id).cloned();
                let stale = known
                    .as_ref()
                    .is_none_or(|r| now - r.checked_at >= RECHECK_SECS);
                let start = stale && m.running.insert(v.id.clone());
                (known, start)
            };
            if start {
                let job = self.readiness_job(v, embedded_media).await;
                tokio::spawn(job.run());
            }
            out.extend(known);
        }
        Ok(out)
    }

    /// The renewal question to ask now, if the sign-in would end during a video visit that
    /// starts within the hour (and it is a quiet moment: no call, not just before a visit).
    pub async fn renew_prompt(&self) -> Result<Option<renewal::RenewPrompt>, CoreError> {
        self.ensure_unlocked()?;
        let (syncer, practitioner, _) = self.schedule().await?;
        let now = unix_now();
        let slots: Vec<renewal::Slot> = syncer
            .cache()
            .day(
                now,
                now + renewal::LOOK_AHEAD_SECS + 1,
                practitioner.as_deref(),
            )
            .await?
            .iter()
            .filter(|v| live(v))
            .map(|v| renewal::Slot {
                start: v.start,
                end: v.end,
            })
            .collect();
        let in_call = self
            .visit_view_unguarded()
            .await
            .is_some_and(|v| v.participants > 0 && v.ended_at.is_none());
        match renewal::decide(now, self.session_end(), &slots, in_call, offset_now()) {
            Ok(p) => Ok(Some(p)),
            Err(hold) => {
                if hold != renewal::Hold::NotNeeded && hold != renewal::Hold::NoSession {
                    tracing::debug!(?hold, "renewal question held back");
                }
                Ok(None)
            }
        }
    }
}

/// One check, with everything it needs, runnable in a task of its own.
struct Job {
    appointment_id: String,
    visit_end: i64,
    target: Result<String, network::Outcome>,
    session_end: Option<i64>,
    window: WindowFacts,
    e2ee_required: bool,
    net: crate::net::NetClient,
    connect: std::time::Duration,
    roots: devices::Roots,
    memory: Shared,
    changes: crate::changes::Publisher,
}

impl Job {
    async fn run(self) -> ReadinessView {
        let t0 = std::time::Instant::now();
        let network = match &self.target {
            Ok(domain) => network::check(&self.net, domain, self.connect).await,
            Err(known) => known.clone(),
        };
        let devices = if cfg!(target_os = "linux") {
            let roots = self.roots.clone();
            tokio::task::spawn_blocking(move || devices::discover(&roots))
                .await
                .ok()
        } else {
            None
        };
        let view = readiness::assess(&Facts {
            appointment_id: self.appointment_id.clone(),
            now: unix_now(),
            visit_end: self.visit_end,
            devices,
            network,
            session_end: self.session_end,
            window: self.window,
            e2ee_required: self.e2ee_required,
            utc_offset_secs: offset_now(),
        });
        tracing::info!(
            appointment = %self.appointment_id,
            ready = view.ready,
            problem = ?view.first_problem().map(|c| c.kind),
            dns_ms = view.times.map(|t| t.dns_ms),
            rtt_ms = view.times.map(|t| t.connect_ms),
            tls_ms = view.times.map(|t| t.tls_ms),
            total_ms = t0.elapsed().as_millis(),
            "visit readiness checked"
        );
        {
            let mut m = lock(&self.memory);
            m.running.remove(&self.appointment_id);
            m.results.insert(self.appointment_id.clone(), view.clone());
        }
        self.changes.publish(crate::changes::Change::Readiness);
        view
    }
}
