//! Sign-in, enrollment, renewal and sign-out for the app and the CLI (issue 7).
//!
//! Every method returns [`SessionState`] (plain data) or nothing; tokens stay in the keychain
//! and the enrollment secret is handed out once, as [`Secret`]s, by [`Core::take_enrollment`].
//! Needs two lines in `app/mod.rs`: `mod session;` and a field
//! `sign_in: std::sync::Arc<crate::auth::SignInMemory>` on `Core` (`Default::default()` in
//! `load`).

use super::Core;
use crate::auth::{
    Account, AuthError, Authenticator, Enrollment, KeychainTokens, SessionState, SignInMethod,
    SignInOutcome, SignInRequest, SignedIn,
};
use crate::error::CoreError;
use crate::secret::Secret;
use crate::vault::items::unix_now;
use crate::vault::{ItemInfo, Vault};
use url::Url;

/// Profile id used when IT's policy names the server and the user has no profile yet.
const MANAGED_PROFILE: &str = "managed";

/// Network and keychain errors go out as themselves, so the shell maps them in one place.
pub(super) fn flat(e: AuthError) -> CoreError {
    match e {
        AuthError::Net(n) => CoreError::Net(n),
        AuthError::Vault(v) => CoreError::Vault(v),
        other => CoreError::Auth(other),
    }
}

impl Core {
    /// The account to sign in to: the server in force (policy or profile) and the profile id
    /// its keychain items live under.
    pub(super) fn account(&self, username: Option<&str>) -> Result<Account, CoreError> {
        let s = self.server().ok_or(CoreError::NoServer)?;
        let server = Url::parse(&s.origin).map_err(|e| CoreError::Internal(e.to_string()))?;
        let profile = self
            .config
            .read()
            .ok()
            .and_then(|c| c.active().map(|p| p.id.clone()))
            .unwrap_or_else(|| MANAGED_PROFILE.into());
        let remembered = self
            .config
            .read()
            .ok()
            .and_then(|c| c.last_users.get(&profile).cloned());
        let username = username
            .map(str::to_string)
            .or(s.username)
            .or(remembered)
            .unwrap_or_default();
        Ok(Account {
            profile,
            server,
            site: s.site,
            username,
        })
    }

    /// Shared hospital PC (IT policy `session.shared_pc`): no refresh token is kept.
    pub(super) fn shared_pc(&self) -> bool {
        self.effective().session.shared_pc
    }

    /// The authenticator every session operation uses: this core's network client, the
    /// process-wide sign-in memory, and the shared-PC rule for refresh tokens.
    fn authenticator<'v>(&self, vault: &'v Vault) -> Authenticator<'v, crate::net::NetClient> {
        Authenticator::new(self.net.clone(), vault)
            .keep_refresh(!self.shared_pc())
            .with_memory(self.sign_in.clone())
    }

    /// The session's access token for resource calls (schedule sync, video join), renewed
    /// with the same rules and sign-in memory as the UI's own renewals.
    pub(super) fn session_tokens(&self, acct: &Account) -> Result<KeychainTokens, CoreError> {
        Ok(KeychainTokens::new(
            self.net.clone(),
            Vault::open()?,
            acct.clone(),
            !self.shared_pc(),
            self.sign_in.clone(),
        ))
    }

    /// Password + code → signed in, or → enrollment (then [`Core::take_enrollment`] once and
    /// [`Core::confirm_enrollment`] with the first code).
    pub async fn sign_in_keychain(&self, req: SignInRequest) -> Result<SessionState, CoreError> {
        req.validate_credentials()?;
        let acct = self.account(Some(req.username.trim()))?;
        let vault = Vault::open()?;
        let auth = self.authenticator(&vault);
        match auth.sign_in(&acct, req).await.map_err(flat)? {
            SignInOutcome::SignedIn(s) => Ok(self.signed_in(&acct.profile, s)),
            SignInOutcome::NeedsEnrollment(e) => {
                let user = e.user.clone();
                self.sign_in.stash_enrollment(e);
                Ok(SessionState::NeedsMfaEnrollment { user })
            }
        }
    }

    /// The authenticator to enroll, once; `None` afterwards (the QR is shown once).
    pub fn take_enrollment(&self) -> Option<Enrollment> {
        self.sign_in.take_enrollment()
    }

    pub async fn confirm_enrollment(&self, code: Secret) -> Result<SessionState, CoreError> {
        let vault = Vault::open()?;
        let auth = self.authenticator(&vault);
        let user = auth.enrollment_pending(&self.account(None)?.profile);
        let acct = self.account(user.as_deref())?;
        let s = auth.confirm_enrollment(&acct, code).await.map_err(flat)?;
        Ok(self.signed_in(&acct.profile, s))
    }

    /// Which form the sign-in screen shows for the server in force: Rounds' own (password +
    /// code) or a button that opens the clinic's page in the browser.
    pub async fn sign_in_method(&self) -> Result<SignInMethod, CoreError> {
        let vault = Vault::open()?;
        let acct = self.account(None)?;
        self.authenticator(&vault).method(&acct).await.map_err(flat)
    }

    /// Signs in on the clinic's own page: `open` shows the page in the system browser; this
    /// then waits (up to 5 min, or until [`Core::cancel_browser_sign_in`]) for the browser to
    /// come back to the loopback address, and stores the tokens like any sign-in.
    pub async fn sign_in_browser(
        &self,
        open: impl FnOnce(&Url) -> Result<(), String>,
    ) -> Result<SessionState, CoreError> {
        let vault = Vault::open()?;
        let auth = self.authenticator(&vault);
        let acct = self.account(None)?;
        let login = auth.begin_browser(&acct).await.map_err(flat)?;
        open(login.url()).map_err(|detail| flat(AuthError::BrowserUnavailable { detail }))?;
        let cancel = self.browser_cancel.clone();
        let s = auth
            .finish_browser(&acct, login, async move { cancel.notified().await })
            .await
            .map_err(flat)?;
        Ok(self.signed_in(&acct.profile, s))
    }

    /// Stops waiting for the clinic's page (the "Cancel" button).
    pub fn cancel_browser_sign_in(&self) {
        self.browser_cancel.notify_waiters();
    }

    /// Remembers who signed in (not secret) and makes the UI's state.
    /// A full authentication: the lock (if any) opens and the idle clock restarts.
    fn signed_in(&self, profile: &str, s: SignedIn) -> SessionState {
        self.remember_user(profile, Some(&s.user));
        self.record_mfa(profile, Some(unix_now()));
        self.arm_lock(&s.user);
        let state = signed_in(s);
        self.note_session(&state, true);
        state
    }

    fn remember_user(&self, profile: &str, user: Option<&str>) {
        let changed = self.update_config(|c| match user.filter(|u| !u.is_empty()) {
            Some(u) => {
                c.last_users.insert(profile.to_string(), u.to_string());
            }
            None => {
                c.last_users.remove(profile);
            }
        });
        if let Err(e) = changed {
            tracing::warn!(error = %e, "could not remember the user name");
        }
    }

    /// Renews the session now (the core's clock before it ends, see app/changes.rs).
    pub async fn renew_session(&self) -> Result<SessionState, CoreError> {
        let vault = Vault::open()?;
        let auth = self.authenticator(&vault);
        let acct = self.account(None)?;
        let s = auth.refresh(&acct).await.map_err(flat)?;
        // A renewal is not an authentication: it never opens the lock.
        self.keep_lock(&s.user);
        let state = signed_in(s);
        self.note_session(&state, true);
        Ok(state)
    }

    /// What the UI shows, from the keychain's facts (no secret is read).
    pub fn session_state(&self) -> Result<SessionState, CoreError> {
        let vault = Vault::open()?;
        let auth = self.authenticator(&vault);
        let acct = match self.account(None) {
            Ok(a) => a,
            Err(CoreError::NoServer) => return Ok(SessionState::SignedOut),
            Err(e) => return Err(e),
        };
        let state = auth.state(&acct).map_err(flat)?;
        if let SessionState::SignedIn { user, .. } = &state {
            self.keep_lock(user);
        }
        // Remembers the end for the renewal clock; a plain read publishes nothing new.
        self.note_session(&state, false);
        Ok(state)
    }

    /// Sign-out: the session and refresh token leave the keychain; the schedule stops syncing
    /// and its cache closes (on a shared PC it is deleted, with its key).
    pub async fn sign_out(&self) -> Result<SessionState, CoreError> {
        // A shared PC does not say who used it last.
        self.end_session(self.shared_pc()).await
    }

    /// What sign-out does, for sign-out and after a password change (whose sign-in form
    /// pre-fills the user name, so `forget_user` is false there): the session and refresh
    /// token leave the keychain, the visit ends, the schedule stops syncing and its cache
    /// closes (deleted with its key on a shared PC).
    pub(super) async fn end_session(&self, forget_user: bool) -> Result<SessionState, CoreError> {
        let vault = Vault::open()?;
        let auth = self.authenticator(&vault);
        let profile = self.account(None)?.profile;
        auth.sign_out(&profile).map_err(flat)?;
        self.record_mfa(&profile, None);
        self.disarm_lock();
        self.end_visit().await;
        self.close_schedule(&profile, self.shared_pc()).await;
        if forget_user {
            self.remember_user(&profile, None);
        }
        self.note_session(&SessionState::SignedOut, true);
        Ok(SessionState::SignedOut)
    }

    /// At start and on a timer: deletes expired keychain items; returns what went.
    pub fn purge_expired_items(&self) -> Result<Vec<ItemInfo>, CoreError> {
        let known: Vec<String> = self
            .config
            .read()
            .map(|c| c.profiles.iter().map(|p| p.id.clone()).collect())
            .unwrap_or_default();
        let known: Vec<&str> = known.iter().map(String::as_str).collect();
        Ok(Vault::open()?.purge_expired(&known, unix_now())?)
    }
}

fn signed_in(s: SignedIn) -> SessionState {
    SessionState::SignedIn {
        user: s.user,
        until: s.until,
    }
}
