//! What the token endpoint's answers do to the keychain: tokens stored, renewed and dropped,
//! and refusals mapped (some of which must forget a token). The one place tokens are written.

use super::{
    Account, Authenticator, REFRESH_LIFETIME_SECS, RENEW_MARGIN_SECS, SignedIn, Step, Timing,
};
use super::{bad_doc, server_error};
use crate::auth::AuthError;
use crate::auth::session::SessionState;
use crate::auth::transport::{Param, Reply, Transport};
use crate::secret::Secret;
use crate::vault::ItemKind;
use std::time::{Duration, Instant};

impl<T: Transport> Authenticator<'_, T> {
    /// Writes the tokens of a 200 token response: refresh token first, then the session.
    pub(in crate::auth) fn store_tokens(
        &self,
        acct: &Account,
        r: &Reply,
    ) -> Result<SignedIn, AuthError> {
        let now = self.now();
        let access = r
            .str("access_token")
            .ok_or_else(|| bad_doc("access_token"))?;
        let life = r
            .body
            .get("expires_in")
            .and_then(|v| v.as_i64())
            .unwrap_or(3600)
            .clamp(1, 24 * 3600);
        let until = now + life;
        let t0 = Instant::now();
        match (self.keep_refresh, r.str("refresh_token")) {
            (true, Some(rt)) => {
                let rt = Secret::new(rt.into());
                self.vault.put(
                    &acct.profile,
                    ItemKind::Refresh,
                    &rt,
                    Some(now + REFRESH_LIFETIME_SECS),
                    None,
                )?;
            }
            _ => {
                self.vault.delete(&acct.profile, ItemKind::Refresh)?;
            }
        }
        let access = Secret::new(access.into());
        self.vault
            .put(&acct.profile, ItemKind::Session, &access, Some(until), None)?;
        Ok(SignedIn {
            user: acct.username.clone(),
            until,
            timing: Timing {
                server: Duration::ZERO,
                keychain: t0.elapsed(),
            },
        })
    }

    /// Renews the session with the refresh token (rotation: the new refresh token is stored
    /// before the new access token). A dead refresh token ends the session.
    pub async fn refresh(&self, acct: &Account) -> Result<SignedIn, AuthError> {
        let _one_at_a_time = self.mem.refresh_lock.lock().await;
        let Some(rt) = self
            .vault
            .get(&acct.profile, ItemKind::Refresh, self.now())?
        else {
            self.vault.delete(&acct.profile, ItemKind::Session)?;
            return Err(AuthError::SessionExpired);
        };
        let d = self.discover(acct).await?;
        let client = self.client(acct, &d).await?;
        let mut form = Self::client_fields(&client);
        form.extend([
            ("grant_type", Param::Text("refresh_token".into())),
            ("refresh_token", Param::Secret(rt.secret)),
        ]);
        let t0 = Instant::now();
        let r = self.net.post_form(&d.token_endpoint, form).await?;
        let server = t0.elapsed();
        if !r.ok() {
            return Err(self.token_error(acct, Step::Refresh, &r, None)?);
        }
        let mut ok = self.store_tokens(acct, &r)?;
        ok.timing.server = server;
        tracing::info!(profile = %acct.profile, "session renewed");
        Ok(ok)
    }

    /// A bearer token for a resource call: the stored one if it has more than the renewal
    /// margin left, else a renewed one. Never an expired token.
    pub async fn access_token(&self, acct: &Account) -> Result<Secret, AuthError> {
        let now = self.now();
        if let Some(i) = self.vault.info(&acct.profile, ItemKind::Session)?
            && i.expires_at.is_some_and(|t| t - now > RENEW_MARGIN_SECS)
            && let Some(s) = self.vault.get(&acct.profile, ItemKind::Session, now)?
        {
            return Ok(s.secret);
        }
        self.refresh(acct).await?;
        self.vault
            .get(&acct.profile, ItemKind::Session, self.now())?
            .map(|s| s.secret)
            .ok_or(AuthError::SessionExpired)
    }

    /// Sign-out: the session and the refresh token leave the keychain (the client stays).
    pub fn sign_out(&self, profile: &str) -> Result<(), AuthError> {
        self.vault.delete(profile, ItemKind::Session)?;
        self.vault.delete(profile, ItemKind::Refresh)?;
        if let Ok(mut p) = self.mem.pending.lock()
            && p.as_ref().is_some_and(|p| p.profile == profile)
        {
            *p = None;
        }
        self.mem.forget_enrollment();
        tracing::info!(profile, "signed out");
        Ok(())
    }

    /// The UI's view, from the keychain's facts only (no secret is read).
    pub fn state(&self, acct: &Account) -> Result<SessionState, AuthError> {
        if let Some(user) = self.enrollment_pending(&acct.profile) {
            return Ok(SessionState::NeedsMfaEnrollment { user });
        }
        let now = self.now();
        let session = self.vault.info(&acct.profile, ItemKind::Session)?;
        let refresh = self.vault.info(&acct.profile, ItemKind::Refresh)?;
        let live = |i: &crate::vault::ItemInfo| !i.expired(now);
        Ok(match session {
            // An access token past its time still counts while a live refresh token renews it.
            Some(s) if live(&s) || refresh.as_ref().is_some_and(live) => SessionState::SignedIn {
                user: acct.username.clone(),
                until: s.expires_at.unwrap_or(now),
            },
            _ => SessionState::SignedOut,
        })
    }

    /// Maps a token-endpoint error to what the clinician is told. `Err` only for keychain
    /// failures while cleaning up.
    /// A refused code exchange, mapped like any token-endpoint refusal.
    pub(in crate::auth) fn token_error_browser(
        &self,
        acct: &Account,
        r: &Reply,
    ) -> Result<AuthError, AuthError> {
        self.token_error(acct, Step::Password, r, None)
    }

    pub(super) fn token_error(
        &self,
        acct: &Account,
        step: Step,
        r: &Reply,
        code: Option<[u8; 32]>,
    ) -> Result<AuthError, AuthError> {
        let error = r.str("error").unwrap_or_default();
        let desc = r.str("error_description").unwrap_or_default();
        let reason = r.str("reason");
        tracing::info!(profile = %acct.profile, status = r.status, error, "token endpoint refused");
        Ok(match (error, reason, step) {
            (_, Some("account_locked"), _) => AuthError::AccountLocked {
                detail: desc.to_string(),
            },
            (_, Some("password_expired"), _) => AuthError::PasswordExpired,
            ("invalid_grant", _, Step::Password) => AuthError::WrongPassword,
            ("invalid_grant", _, Step::Otp) if desc.contains("mfa_token") => {
                AuthError::SignInExpired
            }
            ("invalid_grant", _, Step::Otp) => {
                let replay = code.is_some_and(|h| {
                    let now = self.now();
                    self.mem
                        .accepted
                        .lock()
                        .map(|a| a.iter().any(|(x, t)| *x == h && now - t < 90))
                        .unwrap_or(false)
                });
                if replay {
                    AuthError::CodeAlreadyUsed
                } else {
                    AuthError::WrongCode
                }
            }
            ("invalid_grant", _, Step::Refresh) => {
                // Revoked, reused or expired: this refresh token is dead; so is the session.
                self.vault.delete(&acct.profile, ItemKind::Refresh)?;
                self.vault.delete(&acct.profile, ItemKind::Session)?;
                AuthError::SessionExpired
            }
            ("invalid_client", _, _) => {
                // Forget the client: the next attempt registers a new one.
                self.vault.delete(&acct.profile, ItemKind::Client)?;
                AuthError::ClientRejected {
                    detail: "client id or secret refused".into(),
                }
            }
            ("unsupported_grant_type", _, _) => AuthError::BrowserSignInNeeded {
                detail: "the password grant is switched off on the server".into(),
            },
            _ => server_error(r),
        })
    }
}
