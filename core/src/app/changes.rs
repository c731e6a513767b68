//! Following the core without polling it: [`Core::changes`] hands out a receiver of
//! [`Change`]s, and [`Core::tick`] is the one clock the front end drives (every few seconds,
//! from the shell, never from the page): the idle lock and its warning, renewing the session
//! before it ends, the renewal question, and the readiness checks ahead of each visit. Each of
//! those is caused by time passing, not by an event; everything else publishes when it happens.

use super::Core;
use crate::auth::SessionState;
use crate::changes::Change;
use crate::error::CoreError;
use crate::vault::items::unix_now;
use std::time::{Duration, Instant};

pub use crate::changes::Publisher;

/// Renew this long before the session's access token ends (the UI's old timer did the same),
/// so a clinician mid-visit is never cut off.
const RENEW_BEFORE_SECS: i64 = 120;
/// After a renewal that failed for a reason other than a refusal (offline), try again after.
const RENEW_RETRY: Duration = Duration::from_secs(30);
/// How often the renewal question and the readiness of the next visits are looked at.
const LOOK_EVERY: Duration = Duration::from_secs(15);

/// What the clock remembers between ticks, to publish only when something changed.
#[derive(Debug, Default)]
pub(super) struct Clock {
    /// The session's end as last told (sign-in, renewal, state read); `None`: not signed in.
    until: Option<i64>,
    renew_failed_at: Option<Instant>,
    /// The clinic refused to renew this session: no more tries until the next sign-in.
    refused: bool,
    /// Whether the idle warning was showing at the last tick.
    warning: bool,
    /// The renewal question at the last look.
    asking: Option<crate::readiness::renewal::RenewPrompt>,
    looked_at: Option<Instant>,
    /// The page's answer to "does this webview carry WebRTC" (from its last readiness call).
    embedded_media: bool,
}

impl Core {
    /// Every change from now on (see [`Change`]). A receiver that falls behind gets `Lagged`
    /// and should refresh everything.
    pub fn changes(&self) -> tokio::sync::broadcast::Receiver<Change> {
        self.changes.subscribe()
    }

    pub(super) fn publish(&self, c: Change) {
        self.changes.publish(c);
    }

    fn clock(&self) -> std::sync::MutexGuard<'_, Clock> {
        self.ticks.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A session state came out of the core: remember its end for the renewal, and publish
    /// it when asked to (a plain read of the state does not publish).
    pub(super) fn note_session(&self, s: &SessionState, publish: bool) {
        let until = match s {
            SessionState::SignedIn { until, .. } => Some(*until),
            _ => None,
        };
        let now = unix_now();
        let changed = {
            let mut c = self.clock();
            // A refused session whose end has passed is over, whatever the keychain still
            // holds; told once (renew_if_due), not again on every read of the state.
            let until = until.filter(|u| !(c.refused && *u <= now));
            let changed = c.until != until;
            c.until = until;
            // A new end (a sign-in, a renewal) may be renewed again.
            if changed && until.is_some_and(|u| u > now) {
                c.renew_failed_at = None;
                c.refused = false;
            }
            changed
        };
        if publish || changed {
            self.publish(Change::Session);
        }
    }

    pub(super) fn note_embedded_media(&self, embedded: bool) {
        self.clock().embedded_media = embedded;
    }

    /// The shell's clock, every few seconds (also while the window is minimised). Returns
    /// what the idle lock asks of the windows, once.
    pub async fn tick(&self) -> Option<super::LockEvent> {
        // A lock that falls publishes itself (app/lock.rs); the warning has no event of its own.
        let fell = self.idle_tick().await;
        let warning = self.lock_view().warn_seconds.is_some();
        let flipped = std::mem::replace(&mut self.clock().warning, warning) != warning;
        if flipped && fell.is_none() {
            self.publish(Change::Lock);
        }
        if self.ensure_unlocked().is_err() {
            return fell;
        }
        self.renew_if_due().await;
        let look = {
            let mut c = self.clock();
            let due = c.until.is_some() && c.looked_at.is_none_or(|t| t.elapsed() >= LOOK_EVERY);
            if due {
                c.looked_at = Some(Instant::now());
            }
            due.then_some(c.embedded_media)
        };
        if let Some(embedded) = look {
            self.look_ahead(embedded).await;
        }
        fell
    }

    /// Renews the session shortly before its access token ends, so a visit is never cut off.
    /// A refusal (refresh token revoked, password changed, a shared PC's session) is not
    /// retried: the session runs to its end, and then the front end is told (see `tick`).
    /// Offline, it tries again shortly.
    async fn renew_if_due(&self) {
        let (until, failed, refused) = {
            let c = self.clock();
            (c.until, c.renew_failed_at, c.refused)
        };
        let Some(until) = until else { return };
        if until - unix_now() > RENEW_BEFORE_SECS {
            return;
        }
        if !refused && failed.is_none_or(|t| t.elapsed() >= RENEW_RETRY) {
            match self.renew_session().await {
                Ok(_) => return tracing::debug!("session renewed before its end"),
                Err(e @ CoreError::Auth(_)) => {
                    tracing::info!(error = %e, "the clinic refused the renewal");
                    self.clock().refused = true;
                    // A refused refresh token leaves the keychain; the front end is told now
                    // (signed out), or at the session's end if the session is still there.
                    // (reading the state publishes it when it changed).
                    let _ = self.session_state();
                }
                Err(e) => {
                    // Offline: the keychain's session goes on (the schedule shows offline).
                    tracing::warn!(error = %e, "session renewal failed; trying again shortly");
                    self.clock().renew_failed_at = Some(Instant::now());
                }
            }
        }
        if self.clock().refused && unix_now() >= until {
            self.clock().until = None;
            self.publish(Change::Session);
        }
    }

    /// The renewal question and the readiness checks of the visits about to start.
    async fn look_ahead(&self, embedded_media: bool) {
        let changed = match self.renew_prompt().await {
            Ok(asking) => {
                let mut c = self.clock();
                std::mem::replace(&mut c.asking, asking) != c.asking
            }
            Err(_) => false,
        };
        if changed {
            self.publish(Change::Renew);
        }
        let now = unix_now();
        // Starts the stale checks; each publishes `Readiness` when it finishes.
        let _ = self
            .readiness_day(now - 86_400, now + 86_400, embedded_media)
            .await;
    }
}
