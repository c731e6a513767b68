//! Rounds' own sign-in form: password grant, then the TOTP code or a first enrollment. Apart
//! from the keychain side so each step of the exchange reads on one page.

use super::{
    Account, Authenticator, ClientCreds, Discovery, Enrollment, MFA_OTP_GRANT, Pending,
    SignInOutcome, SignedIn, Step,
};
use super::{bad_doc, check_code, server_error};
use crate::auth::transport::{Param, Transport};
use crate::auth::{AuthError, SignInRequest};
use crate::secret::Secret;
use std::time::Instant;

impl<T: Transport> Authenticator<'_, T> {
    /// Step one, and step two when the user is enrolled and `req.totp` holds a code.
    pub async fn sign_in(
        &self,
        acct: &Account,
        req: SignInRequest,
    ) -> Result<SignInOutcome, AuthError> {
        req.validate_credentials()?;
        let d = self.discover(acct).await?;
        if !(d.mfa_otp && d.password_grant) {
            return Err(AuthError::BrowserSignInNeeded {
                detail: "the server does not offer the password grant with an MFA step".into(),
            });
        }
        let client = self.client(acct, &d).await?;
        let SignInRequest {
            username,
            password,
            totp,
        } = req;
        let username = username.trim().to_string();
        let mut form = Self::client_fields(&client);
        form.extend([
            ("grant_type", Param::Text("password".into())),
            ("user_role", Param::Text("users".into())),
            ("username", Param::Text(username.clone())),
            ("password", Param::Secret(password)),
            ("scope", Param::Text(d.scope())),
        ]);
        let r = self.net.post_form(&d.token_endpoint, form).await?;
        if r.ok() {
            // A server that hands out tokens on a password alone: MFA is never optional here.
            tracing::warn!(profile = %acct.profile, "server issued tokens without MFA; refused");
            return Err(AuthError::BrowserSignInNeeded {
                detail: "the server did not ask for a second factor".into(),
            });
        }
        if r.status != 403 || r.str("error") != Some("mfa_required") {
            return Err(self.token_error(acct, Step::Password, &r, None)?);
        }
        let mfa_token = Secret::new(
            r.str("mfa_token")
                .ok_or_else(|| bad_doc("mfa_token"))?
                .to_string(),
        );
        let enrolled = r.body.get("mfa_enrolled").and_then(|v| v.as_bool());
        if enrolled == Some(false) {
            return self.start_enrollment(acct, &d, &username, mfa_token).await;
        }
        if totp.is_empty() {
            return Err(AuthError::MfaRequired);
        }
        let ok = self.otp_step(acct, &d, &client, mfa_token, totp).await?;
        Ok(SignInOutcome::SignedIn(ok))
    }

    async fn start_enrollment(
        &self,
        acct: &Account,
        d: &Discovery,
        user: &str,
        mfa_token: Secret,
    ) -> Result<SignInOutcome, AuthError> {
        let body = serde_json::json!({ "authenticator_types": ["otp"] });
        let bearer = Secret::new(mfa_token.expose().into());
        let r = self
            .net
            .post_json(&d.mfa_associate_endpoint, &body, Some(bearer))
            .await?;
        if !r.ok() {
            return Err(match r.status {
                401 => AuthError::SignInExpired,
                _ => server_error(&r),
            });
        }
        let (Some(uri), Some(secret)) = (r.str("barcode_uri"), r.str("secret")) else {
            return Err(bad_doc("barcode_uri"));
        };
        let e = Enrollment {
            user: user.into(),
            otpauth_uri: Secret::new(uri.into()),
            secret: Secret::new(secret.into()),
        };
        drop(r);
        if let Ok(mut p) = self.mem.pending.lock() {
            *p = Some(Pending {
                profile: acct.profile.clone(),
                user: user.into(),
                mfa_token,
                started: self.now(),
            });
        }
        tracing::info!(profile = %acct.profile, "MFA enrollment started");
        Ok(SignInOutcome::NeedsEnrollment(e))
    }

    /// Confirms a pending enrollment with the first code from the new authenticator.
    pub async fn confirm_enrollment(
        &self,
        acct: &Account,
        code: Secret,
    ) -> Result<SignedIn, AuthError> {
        check_code(&code)?;
        let pending = self
            .mem
            .pending
            .lock()
            .ok()
            .and_then(|mut p| p.take())
            .filter(|p| p.profile == acct.profile)
            .ok_or(AuthError::NoEnrollment)?;
        if self.now() - pending.started > 300 {
            return Err(AuthError::SignInExpired);
        }
        let d = self.discover(acct).await?;
        let client = self.client(acct, &d).await?;
        let token = Secret::new(pending.mfa_token.expose().into());
        match self.otp_step(acct, &d, &client, token, code).await {
            // A wrong code keeps the enrollment pending (the mfa_token allows 5 tries).
            Err(e @ (AuthError::WrongCode | AuthError::CodeAlreadyUsed)) => {
                if let Ok(mut p) = self.mem.pending.lock() {
                    *p = Some(pending);
                }
                Err(e)
            }
            other => {
                self.mem.forget_enrollment();
                other
            }
        }
    }

    /// Whether an enrollment is waiting for its first code (for the UI state).
    pub fn enrollment_pending(&self, profile: &str) -> Option<String> {
        let p = self.mem.pending.lock().ok()?;
        p.as_ref()
            .filter(|p| p.profile == profile)
            .map(|p| p.user.clone())
    }

    async fn otp_step(
        &self,
        acct: &Account,
        d: &Discovery,
        client: &ClientCreds,
        mfa_token: Secret,
        code: Secret,
    ) -> Result<SignedIn, AuthError> {
        check_code(&code)?;
        let hash = self.code_hash(&acct.profile, &acct.username, &code);
        let mut form = Self::client_fields(client);
        form.extend([
            ("grant_type", Param::Text(MFA_OTP_GRANT.into())),
            ("mfa_token", Param::Secret(mfa_token)),
            ("otp", Param::Secret(code)),
        ]);
        let t0 = Instant::now();
        let r = self.net.post_form(&d.token_endpoint, form).await?;
        let server = t0.elapsed();
        if !r.ok() {
            return Err(self.token_error(acct, Step::Otp, &r, Some(hash))?);
        }
        if let Ok(mut a) = self.mem.accepted.lock() {
            let now = self.now();
            a.retain(|(_, t)| now - t < 90);
            a.push((hash, now));
        }
        let mut ok = self.store_tokens(acct, &r)?;
        ok.timing.server = server;
        tracing::info!(profile = %acct.profile, "signed in");
        Ok(ok)
    }

    fn code_hash(&self, profile: &str, user: &str, code: &Secret) -> [u8; 32] {
        let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
        ctx.update(&self.mem.salt);
        ctx.update(profile.as_bytes());
        ctx.update(b"\0");
        ctx.update(user.as_bytes());
        ctx.update(b"\0");
        ctx.update(code.expose().as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.finish().as_ref());
        out
    }
}
