//! Automatic logoff (HIPAA §164.312(a)(2)(iii)) and the "Lock now" button.
//!
//! The core, not the page, decides: the UI reports input, the shell ticks, and while locked
//! every call that would hand PHI to a window (the day view, sync, visits) is refused here, so
//! a page that missed the lock still cannot show a patient. Unlocking is a full sign-in of the
//! same clinician against the clinic (password + code, or the clinic's page): the server, not a
//! local copy of the password, decides. On a shared PC an idle lock signs out instead (the
//! session and the schedule cache go), because the next person at the PC is someone else.
//!
//! A video call with someone else in it counts as activity: the clinician is talking to a
//! patient and the visit window's input (inside Jitsi's frame) is out of Rounds' sight.

use super::Core;
use crate::auth::{SessionState, SignInRequest};
use crate::error::CoreError;
use crate::policy::LockVideo;
use serde::Serialize;
use std::time::{Duration, Instant};
use url::Url;

/// What the lock view needs: never a patient, never a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct LockView {
    pub state: LockState,
    /// Who may unlock (the signed-in clinician's user name).
    pub user: Option<String>,
    /// The policy's idle minutes, for the words on the lock view.
    pub idle_minutes: u16,
    /// Why it is locked (`None` after a restart: the lock was kept, its cause not).
    pub reason: Option<LockReason>,
    /// Open and idle: seconds until the lock falls, from [`warn_window`] before it, so the UI
    /// can say so calmly and offer "Stay signed in" (which counts as use).
    pub warn_seconds: Option<u32>,
}

/// How long before the idle lock the clinician is warned: a minute, or half the time for a
/// lock shorter than two minutes (policy allows 1 minute, where a minute's warning would
/// show from the first second).
pub fn warn_window(limit: Duration) -> Duration {
    (limit / 2).min(Duration::from_secs(60))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum LockReason {
    /// The policy's minutes passed without input.
    Idle,
    /// The clinician chose Lock.
    Manual,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum LockState {
    /// Signed in and in use.
    Open,
    /// Idle or "Lock now": only a fresh sign-in of `user` opens it.
    Locked,
    /// Shared PC: the idle lock signed the clinician out.
    SignedOut,
    /// Nobody is signed in.
    Idle,
}

/// What the shell must do to its windows when the lock falls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockEvent {
    pub video: LockVideo,
    pub signed_out: bool,
}

/// The idle clock and the lock, pure (the caller passes `now`) so tests need no waiting.
#[derive(Debug)]
pub(super) struct Idle {
    last_input: Instant,
    /// The UI was told "signed in" (the lock only guards a session someone can see).
    armed_user: Option<String>,
    locked: bool,
    reason: Option<LockReason>,
    signed_out: bool,
}

impl Default for Idle {
    fn default() -> Self {
        Self {
            last_input: Instant::now(),
            armed_user: None,
            locked: false,
            reason: None,
            signed_out: false,
        }
    }
}

impl Idle {
    pub(super) fn arm(&mut self, user: &str, now: Instant) {
        self.armed_user = Some(user.to_string());
        self.locked = false;
        self.reason = None;
        self.signed_out = false;
        self.last_input = now;
    }

    pub(super) fn disarm(&mut self) {
        self.armed_user = None;
        self.locked = false;
    }

    pub(super) fn input(&mut self, now: Instant) {
        if !self.locked {
            self.last_input = now;
        }
    }

    /// True when the lock falls now: armed, open, and no input for `limit`.
    pub(super) fn due(&mut self, now: Instant, limit: Duration, in_conversation: bool) -> bool {
        if in_conversation {
            self.input(now);
        }
        if self.armed_user.is_none() || self.locked {
            return false;
        }
        if now.saturating_duration_since(self.last_input) >= limit {
            self.locked = true;
            self.reason = Some(LockReason::Idle);
            return true;
        }
        false
    }

    fn view(&self, idle_minutes: u16, now: Instant, limit: Duration) -> LockView {
        let state = match (&self.armed_user, self.locked, self.signed_out) {
            (_, _, true) => LockState::SignedOut,
            (None, _, _) => LockState::Idle,
            (Some(_), true, _) => LockState::Locked,
            (Some(_), false, _) => LockState::Open,
        };
        LockView {
            state,
            user: self.armed_user.clone(),
            idle_minutes,
            reason: if self.locked { self.reason } else { None },
            warn_seconds: self.warn_seconds(now, limit),
        }
    }

    fn warn_seconds(&self, now: Instant, limit: Duration) -> Option<u32> {
        if self.armed_user.is_none() || self.locked || self.signed_out {
            return None;
        }
        let left = limit.saturating_sub(now.saturating_duration_since(self.last_input));
        (left <= warn_window(limit)).then(|| u32::try_from(left.as_secs()).unwrap_or(u32::MAX))
    }
}

impl Core {
    fn idle(&self) -> std::sync::MutexGuard<'_, Idle> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn idle_limit(&self) -> (u16, Duration) {
        let m = self.effective().session.idle_lock_minutes.max(1);
        (m, Duration::from_secs(u64::from(m) * 60))
    }

    /// A full authentication of `user`: the lock opens and the idle clock restarts.
    pub(super) fn arm_lock(&self, user: &str) {
        self.idle().arm(user, Instant::now());
        self.persist_lock(false);
        self.publish(crate::changes::Change::Lock);
    }

    /// Remembers the lock across restarts (not secret: a profile id).
    fn persist_lock(&self, on: bool) {
        let Ok(profile) = self.account(None).map(|a| a.profile) else {
            return;
        };
        let r = self.update_config(|c| {
            if on {
                c.locked_profiles.insert(profile);
            } else {
                c.locked_profiles.remove(&profile);
            }
        });
        if let Err(e) = r {
            tracing::warn!(error = %e, "could not record the lock");
        }
    }

    fn lock_persisted(&self) -> bool {
        let Ok(profile) = self.account(None).map(|a| a.profile) else {
            return false;
        };
        self.config
            .read()
            .is_ok_and(|c| c.locked_profiles.contains(&profile))
    }

    /// The session is still (or again) there, e.g. after a restart or a renewal: starts the
    /// idle clock if it is not running for `user`, and never opens the lock.
    pub(super) fn keep_lock(&self, user: &str) {
        let persisted = self.lock_persisted();
        let mut idle = self.idle();
        if idle.armed_user.as_deref() != Some(user) {
            idle.arm(user, Instant::now());
            idle.locked = persisted;
        }
    }

    pub(super) fn disarm_lock(&self) {
        self.idle().disarm();
        self.persist_lock(false);
    }

    /// Refuses calls that would put PHI on a screen while the lock is on.
    pub(super) fn ensure_unlocked(&self) -> Result<(), CoreError> {
        if self.idle().locked {
            return Err(CoreError::Locked);
        }
        Ok(())
    }

    pub fn lock_view(&self) -> LockView {
        let (minutes, limit) = self.idle_limit();
        self.idle().view(minutes, Instant::now(), limit)
    }

    /// The UI saw keyboard, pointer or touch input.
    pub fn note_activity(&self) {
        self.idle().input(Instant::now());
    }

    /// Called by the clock ([`Core::tick`]) and on each UI report: locks when the policy's minutes have
    /// passed without input. Returns what the shell must do to its windows, once.
    pub async fn idle_tick(&self) -> Option<LockEvent> {
        let in_call = self.in_conversation().await;
        let due = self
            .idle()
            .due(Instant::now(), self.idle_limit().1, in_call);
        if !due {
            return None;
        }
        tracing::info!(minutes = self.idle_limit().0, "idle lock");
        Some(self.apply_lock().await)
    }

    /// "Lock now": the clinician steps away.
    pub async fn lock_now(&self) -> Option<LockEvent> {
        {
            let mut idle = self.idle();
            if idle.armed_user.is_none() || idle.locked {
                return None;
            }
            idle.locked = true;
            idle.reason = Some(LockReason::Manual);
        }
        tracing::info!("locked by the clinician");
        Some(self.apply_lock().await)
    }

    async fn apply_lock(&self) -> LockEvent {
        let video = self.effective().session.on_lock_video;
        let shared = self.shared_pc();
        if video == LockVideo::End || shared {
            self.end_visit().await;
        }
        if shared {
            if let Err(e) = self.sign_out().await {
                tracing::warn!(error = %e, "idle sign-out on a shared PC failed");
            }
            self.idle().signed_out = true;
        } else {
            self.persist_lock(true);
        }
        self.publish(crate::changes::Change::Lock);
        LockEvent {
            video: if shared { LockVideo::End } else { video },
            signed_out: shared,
        }
    }

    fn locked_user(&self) -> Result<String, CoreError> {
        let idle = self.idle();
        match (&idle.armed_user, idle.locked) {
            (Some(u), true) => Ok(u.clone()),
            _ => Err(CoreError::NotLocked),
        }
    }

    /// Unlocks with a full sign-in of the same clinician (password + code) at the clinic.
    pub async fn unlock(&self, req: SignInRequest) -> Result<SessionState, CoreError> {
        let user = self.locked_user()?;
        if !req.username.trim().eq_ignore_ascii_case(&user) {
            return Err(CoreError::LockedForOther { user });
        }
        let state = self.sign_in_keychain(req).await?;
        self.after_unlock(&user, state)
    }

    /// Unlocks on the clinic's own page (profiles whose server has no password + code grant).
    pub async fn unlock_browser(
        &self,
        open: impl FnOnce(&Url) -> Result<(), String>,
    ) -> Result<SessionState, CoreError> {
        let user = self.locked_user()?;
        let state = self.sign_in_browser(open).await?;
        self.after_unlock(&user, state)
    }

    fn after_unlock(&self, user: &str, state: SessionState) -> Result<SessionState, CoreError> {
        match &state {
            SessionState::SignedIn { user: who, .. } if who.eq_ignore_ascii_case(user) => {
                tracing::info!("unlocked");
                self.arm_lock(who);
                Ok(state)
            }
            SessionState::SignedIn { .. } => {
                // Someone else signed in on the clinic's page: the locked session is not theirs.
                // Their sign-in stands (tokens are theirs), the schedule reopens for them.
                tracing::warn!("a different clinician signed in at the lock");
                Err(CoreError::LockedForOther {
                    user: user.to_string(),
                })
            }
            _ => Err(CoreError::LockedForOther {
                user: user.to_string(),
            }),
        }
    }

    async fn in_conversation(&self) -> bool {
        self.visit_view_unguarded()
            .await
            .is_some_and(|v| v.participants > 0 && v.ended_at.is_none())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn locks_only_after_the_full_idle_time_without_input() {
        let t0 = Instant::now();
        let mut idle = Idle::default();
        assert!(!idle.due(t0 + 10 * MIN, MIN, false), "nobody signed in");
        idle.arm("drsmith", t0);
        assert!(!idle.due(t0 + MIN - Duration::from_secs(1), MIN, false));
        idle.input(t0 + Duration::from_secs(50));
        assert!(!idle.due(t0 + MIN + Duration::from_secs(5), MIN, false));
        assert!(idle.due(t0 + Duration::from_secs(111), MIN, false));
        assert_eq!(idle.view(1, t0, MIN).state, LockState::Locked);
        assert_eq!(idle.view(1, t0, MIN).reason, Some(LockReason::Idle));
        assert!(!idle.due(t0 + 5 * MIN, MIN, false), "falls once");
    }

    #[test]
    fn input_after_the_lock_does_not_open_it() {
        let t0 = Instant::now();
        let mut idle = Idle::default();
        idle.arm("drsmith", t0);
        assert!(idle.due(t0 + MIN, MIN, false));
        idle.input(t0 + MIN + Duration::from_secs(1));
        assert_eq!(idle.view(1, t0, MIN).state, LockState::Locked);
        idle.arm("drsmith", t0 + 2 * MIN);
        assert_eq!(idle.view(1, t0, MIN).state, LockState::Open);
    }

    #[test]
    fn a_call_with_someone_in_it_counts_as_activity() {
        let t0 = Instant::now();
        let mut idle = Idle::default();
        idle.arm("drsmith", t0);
        assert!(!idle.due(t0 + 30 * MIN, MIN, true));
        assert!(!idle.due(t0 + 30 * MIN + Duration::from_secs(59), MIN, false));
        assert!(idle.due(t0 + 31 * MIN, MIN, false));
    }

    #[test]
    fn warns_a_minute_before_and_input_takes_the_warning_away() {
        let t0 = Instant::now();
        let limit = 15 * MIN;
        let mut idle = Idle::default();
        idle.arm("drsmith", t0);
        assert_eq!(idle.view(15, t0 + 13 * MIN, limit).warn_seconds, None);
        assert_eq!(
            idle.view(15, t0 + 14 * MIN, limit).warn_seconds,
            Some(60),
            "a minute before"
        );
        idle.input(t0 + 14 * MIN + Duration::from_secs(10));
        assert_eq!(
            idle.view(15, t0 + 14 * MIN + Duration::from_secs(11), limit)
                .warn_seconds,
            None
        );
        // A one-minute lock warns for its second half.
        assert_eq!(warn_window(MIN), Duration::from_secs(30));
        idle.arm("drsmith", t0);
        assert_eq!(
            idle.view(1, t0 + Duration::from_secs(29), MIN).warn_seconds,
            None
        );
        assert_eq!(
            idle.view(1, t0 + Duration::from_secs(31), MIN).warn_seconds,
            Some(29)
        );
        assert!(idle.due(t0 + MIN, MIN, false));
        assert_eq!(
            idle.view(1, t0 + MIN, MIN).warn_seconds,
            None,
            "locked: no warning"
        );
    }

    #[test]
    fn sign_out_disarms() {
        let t0 = Instant::now();
        let mut idle = Idle::default();
        idle.arm("drsmith", t0);
        idle.disarm();
        assert!(!idle.due(t0 + 10 * MIN, MIN, false));
        assert_eq!(idle.view(1, t0, MIN).state, LockState::Idle);
    }
}
