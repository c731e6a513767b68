//! The sign-in exchange with the clinic (clinic-api.md §1) and where its results live.
//!
//! Password grant → `403 mfa_required` (+ `mfa_token`, `mfa_enrolled`) → MFA-OTP grant with the
//! code → tokens. A user who is not enrolled gets `/mfa/associate` first: the secret and the
//! `otpauth:` URI go to the caller once, as [`Secret`]s, and the first code confirms it. Tokens
//! go straight into the keychain (`<profile>/refresh`, `<profile>/session`, each with its expiry)
//! and nowhere else; what callers get back is [`SignedIn`] (a user name and a time).
//!
//! Refresh tokens rotate: the new refresh token is written to the keychain *before* the new
//! access token is stored or used, so a crash in between leaves a usable refresh token, never
//! a dead one.

use super::AuthError;
use super::SignInRequest;
use super::session::SessionState;
use super::transport::{Param, Reply, Transport};
use crate::secret::Secret;
use crate::vault::items::unix_now;
use crate::vault::{ItemKind, Vault};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use url::Url;

/// The grant type of the MFA step (Auth0 pattern, sandbox extension D1).
pub const MFA_OTP_GRANT: &str = "http://auth0.com/oauth/grant-type/mfa-otp";
/// The app's scope string (clinic-api.md §1.2).
pub const SCOPE: &str = "openid offline_access fhirUser api:oemr api:fhir user/Appointment.read user/Patient.read user/Practitioner.read user/Location.read";
/// Asked for as well when discovery's `scopes_supported` lists it: `preferred_username` is a
/// `profile` claim (OIDC Core §5.4), and a server that rejects scopes it does not know still
/// gets only [`SCOPE`].
pub const PROFILE_SCOPE: &str = "profile";
/// The loopback redirect registered with the client (RFC 8252; used by the browser flow).
pub const REDIRECT_URI: &str = "http://127.0.0.1:8765/callback";
/// Refresh tokens live 90 days on OpenEMR; the server does not say, so the keychain item does.
pub const REFRESH_LIFETIME_SECS: i64 = 90 * 24 * 3600;
/// Renew when less than this is left of the access token (clinic-api.md §1.3).
pub const RENEW_MARGIN_SECS: i64 = 120;

/// One clinic account: the non-secret profile facts the flow needs.
#[derive(Debug, Clone)]
pub struct Account {
    /// Profile id (`[a-z0-9-]`): the keychain account prefix.
    pub profile: String,
    pub server: Url,
    pub site: String,
    pub username: String,
}

/// The result of a sign-in attempt.
#[derive(Debug)]
pub enum SignInOutcome {
    SignedIn(SignedIn),
    /// The password was right but the user has no authenticator yet: show the QR / secret
    /// once, then call [`Authenticator::confirm_enrollment`] with the first code.
    NeedsEnrollment(Enrollment),
}

/// What a successful sign-in or renewal yields to callers: no token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    pub user: String,
    /// Unix seconds when the access token ends.
    pub until: i64,
    pub timing: Timing,
}

/// Where the time of the last step went (benchmarks): the server's round trips and Rounds'
/// own keychain writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timing {
    pub server: Duration,
    pub keychain: Duration,
}

/// An authenticator to enroll. Shown once; never logged, stored or sent to the webview as text
/// (the core renders the QR for the UI). Dropping it zeroes the secret.
#[derive(Debug)]
pub struct Enrollment {
    pub user: String,
    /// `otpauth://totp/...` for the QR code.
    pub otpauth_uri: Secret,
    /// The base32 secret, for typing into an authenticator by hand.
    pub secret: Secret,
}

/// What discovery tells us.
#[derive(Debug, Clone)]
pub struct Discovery {
    /// `issuer` (OIDC Discovery §3), for the `iss` of an authorization response (RFC 9207).
    pub issuer: Option<String>,
    /// `authorization_response_iss_parameter_supported`: then an answer without `iss` is
    /// refused (RFC 9207 §2.4), so a mix-up attacker cannot simply leave it out.
    pub iss_required: bool,
    pub token_endpoint: Url,
    /// The clinic's own login page (browser sign-in, §1.5).
    pub authorization_endpoint: Option<Url>,
    pub userinfo_endpoint: Option<Url>,
    pub registration_endpoint: Option<Url>,
    pub mfa_associate_endpoint: Url,
    pub mfa_otp: bool,
    pub password_grant: bool,
    /// `scopes_supported` (empty when the server does not say).
    pub scopes_supported: Vec<String>,
}

impl Discovery {
    /// The scope Rounds asks for at this server: [`SCOPE`], plus `profile` where offered.
    pub fn scope(&self) -> String {
        if self.scopes_supported.iter().any(|s| s == PROFILE_SCOPE) {
            format!("{SCOPE} {PROFILE_SCOPE}")
        } else {
            SCOPE.to_string()
        }
    }

    /// The grant types to register (RFC 7591 §2: left out, it means `authorization_code`
    /// only, and a server may then refuse the refresh grant): the code and refresh grants,
    /// and the password + MFA-OTP grants only where the server offers them.
    fn grant_types(&self) -> Vec<&'static str> {
        let mut g = vec!["authorization_code", "refresh_token"];
        if self.password_grant {
            g.push("password");
        }
        if self.mfa_otp {
            g.push(MFA_OTP_GRANT);
        }
        g
    }
}

struct Pending {
    profile: String,
    user: String,
    mfa_token: Secret,
    started: i64,
}

pub(super) struct ClientCreds {
    id: String,
    secret: Secret,
}

impl ClientCreds {
    pub(super) fn id(&self) -> &str {
        &self.id
    }

    /// `client_id` + `client_secret` for a token-endpoint form.
    pub(super) fn fields(&self) -> Vec<(&'static str, Param)> {
        vec![
            ("client_id", Param::Text(self.id.clone())),
            (
                "client_secret",
                Param::Secret(Secret::new(self.secret.expose().into())),
            ),
        ]
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    Password,
    Otp,
    Refresh,
}

/// What a sign-in remembers between calls, in memory only: the pending enrollment's
/// `mfa_token`, and salted hashes of codes the server accepted in the last 90 s (to name a
/// replay as such). Share one per app (`Authenticator::with_memory`).
pub struct SignInMemory {
    pending: Mutex<Option<Pending>>,
    /// The enrollment to show, until it is taken (once).
    shown: Mutex<Option<Enrollment>>,
    accepted: Mutex<Vec<([u8; 32], i64)>>,
    salt: [u8; 16],
    /// One refresh at a time: refresh tokens rotate, so two concurrent refreshes (the UI's
    /// timer and a sync's renew after a 401) would have the second one present a dead token
    /// and end the session. The second waits and then renews with the new token.
    refresh_lock: tokio::sync::Mutex<()>,
}

impl Default for SignInMemory {
    fn default() -> Self {
        let mut salt = [0u8; 16];
        // A failure leaves a zero salt: the hashes are then unsalted, still never the code.
        let _ = aws_lc_rs::rand::fill(&mut salt);
        Self {
            pending: Mutex::new(None),
            shown: Mutex::new(None),
            accepted: Mutex::new(Vec::new()),
            salt,
            refresh_lock: tokio::sync::Mutex::new(()),
        }
    }
}

impl SignInMemory {
    /// Keeps an enrollment until the UI layer takes it to show it.
    pub fn stash_enrollment(&self, e: Enrollment) {
        if let Ok(mut s) = self.shown.lock() {
            *s = Some(e);
        }
    }

    /// The enrollment to show, once: a second call gets `None`.
    pub fn take_enrollment(&self) -> Option<Enrollment> {
        self.shown.lock().ok()?.take()
    }

    fn forget_enrollment(&self) {
        if let Ok(mut s) = self.shown.lock() {
            *s = None;
        }
    }
}

/// Signs in, renews and signs out, with the keychain as the only store.
pub struct Authenticator<'v, T: Transport> {
    net: T,
    vault: &'v Vault,
    /// Keep the refresh token (false on shared PCs: nothing long-lived is kept).
    keep_refresh: bool,
    mem: Arc<SignInMemory>,
    clock: fn() -> i64,
    redirect: Url,
}

/// How a server signs clinicians in (the sign-in screen shows the matching form).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum SignInMethod {
    /// Rounds' own form: password, then the TOTP code (MFA-OTP grant).
    PasswordAndCode,
    /// The clinic's own page in the system browser (authorization code + PKCE).
    Browser,
}

impl<'v, T: Transport> Authenticator<'v, T> {
    pub fn new(net: T, vault: &'v Vault) -> Self {
        Self {
            net,
            vault,
            keep_refresh: true,
            mem: Arc::default(),
            clock: unix_now,
            redirect: Url::parse(REDIRECT_URI).expect("the redirect constant is a URL"),
        }
    }

    /// Uses memory shared with other calls (the app keeps one across commands).
    pub fn with_memory(mut self, mem: Arc<SignInMemory>) -> Self {
        self.mem = mem;
        self
    }

    /// Shared hospital PCs: do not keep a refresh token.
    pub fn keep_refresh(mut self, keep: bool) -> Self {
        self.keep_refresh = keep;
        self
    }

    /// For tests: a different clock for expiry decisions.
    pub fn with_clock(mut self, clock: fn() -> i64) -> Self {
        self.clock = clock;
        self
    }

    fn now(&self) -> i64 {
        (self.clock)()
    }

    /// Reads the discovery document (clinic-api.md §1.1); every endpoint must be on the
    /// server's own origin, or it is refused (credentials never go elsewhere).
    pub async fn discover(&self, acct: &Account) -> Result<Discovery, AuthError> {
        let url = join(
            &acct.server,
            &format!("oauth2/{}/.well-known/openid-configuration", acct.site),
        )?;
        let r = self.net.get_json(&url, None).await?;
        if !r.ok() {
            return Err(server_error(&r));
        }
        let ep = |key: &str| -> Result<Option<Url>, AuthError> {
            let Some(s) = r.str(key) else { return Ok(None) };
            let u = Url::parse(s).map_err(|_| bad_doc(key))?;
            if u.origin() != acct.server.origin() {
                return Err(bad_doc(key));
            }
            Ok(Some(u))
        };
        let token_endpoint = ep("token_endpoint")?.ok_or_else(|| bad_doc("token_endpoint"))?;
        let grants: Vec<&str> = r
            .body
            .get("grant_types_supported")
            .and_then(|v| v.as_array())
            .map(|a| a.iter().filter_map(|g| g.as_str()).collect())
            .unwrap_or_default();
        let scopes_supported = r
            .body
            .get("scopes_supported")
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let mfa_associate_endpoint = match ep("mfa_associate_endpoint")? {
            Some(u) => u,
            None => join(&acct.server, &format!("oauth2/{}/mfa/associate", acct.site))?,
        };
        Ok(Discovery {
            issuer: r.str("issuer").map(str::to_string),
            iss_required: r
                .body
                .get("authorization_response_iss_parameter_supported")
                .and_then(|v| v.as_bool())
                .unwrap_or(false),
            scopes_supported,
            registration_endpoint: ep("registration_endpoint")?,
            authorization_endpoint: ep("authorization_endpoint")?,
            userinfo_endpoint: ep("userinfo_endpoint")?,
            mfa_otp: grants.contains(&MFA_OTP_GRANT),
            password_grant: grants.contains(&"password"),
            token_endpoint,
            mfa_associate_endpoint,
        })
    }

    /// Stores a client IT provisioned (id + secret) for a profile, instead of registering one.
    pub fn set_client(&self, profile: &str, id: &str, secret: &Secret) -> Result<(), AuthError> {
        self.vault
            .put(profile, ItemKind::Client, secret, None, Some(id))?;
        Ok(())
    }

    /// The profile's client from the keychain, or a new one registered (RFC 7591) and stored.
    pub(super) async fn client(
        &self,
        acct: &Account,
        d: &Discovery,
    ) -> Result<ClientCreds, AuthError> {
        if let Some(s) = self
            .vault
            .get(&acct.profile, ItemKind::Client, self.now())?
        {
            if let Some(id) = s.info.client_id {
                return Ok(ClientCreds {
                    id,
                    secret: s.secret,
                });
            }
            self.vault.delete(&acct.profile, ItemKind::Client)?;
        }
        let url = d
            .registration_endpoint
            .clone()
            .ok_or_else(|| AuthError::ClientRejected {
                detail: "no client is set up and the server offers no registration".into(),
            })?;
        // OIDC Registration §2 knows `native` and `web`; a desktop app with a loopback redirect
        // is `native` (RFC 8252 §8.4), and standard servers allow loopback http redirects only
        // for native clients. OpenEMR knows only `private` (confidential) and `public`, and
        // answers `invalid_client_metadata` to anything else: then register as `private`.
        let mut body = serde_json::json!({
            "application_type": "native",
            "client_name": "Rounds",
            "redirect_uris": [self.redirect.as_str()],
            "response_types": ["code"],
            "grant_types": d.grant_types(),
            "token_endpoint_auth_method": "client_secret_post",
            "scope": d.scope(),
        });
        let mut r = self.net.post_json(&url, &body, None).await?;
        if r.status == 400 && r.str("error") == Some("invalid_client_metadata") {
            tracing::info!(profile = %acct.profile, "native client refused; registering as OpenEMR's `private`");
            body["application_type"] = serde_json::json!("private");
            r = self.net.post_json(&url, &body, None).await?;
        }
        if !r.ok() {
            return Err(AuthError::ClientRejected {
                detail: r.str("error").unwrap_or("registration refused").into(),
            });
        }
        let (Some(id), Some(secret)) = (r.str("client_id"), r.str("client_secret")) else {
            return Err(bad_doc("client_secret"));
        };
        let secret = Secret::new(secret.to_string());
        self.vault
            .put(&acct.profile, ItemKind::Client, &secret, None, Some(id))?;
        tracing::info!(profile = %acct.profile, "client registered; its secret is in the keychain");
        Ok(ClientCreds {
            id: id.to_string(),
            secret,
        })
    }

    fn client_fields(c: &ClientCreds) -> Vec<(&'static str, Param)> {
        c.fields()
    }

    pub(super) fn net(&self) -> &T {
        &self.net
    }

    /// The loopback address the clinic sends the browser back to (registered with the client).
    pub(super) fn redirect_uri(&self) -> Url {
        self.redirect.clone()
    }

    /// For tests that cannot use the fixed port: another loopback redirect.
    pub fn with_redirect(mut self, redirect: Url) -> Self {
        self.redirect = redirect;
        self
    }

    /// Which sign-in this server needs: password + code in Rounds' own form when it offers the
    /// MFA step (D1), else the clinic's own page in the browser (§1.4–1.5).
    pub async fn method(&self, acct: &Account) -> Result<SignInMethod, AuthError> {
        let d = self.discover(acct).await?;
        Ok(if d.mfa_otp && d.password_grant {
            SignInMethod::PasswordAndCode
        } else {
            SignInMethod::Browser
        })
    }

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

    /// Writes the tokens of a 200 token response: refresh token first, then the session.
    pub(super) fn store_tokens(&self, acct: &Account, r: &Reply) -> Result<SignedIn, AuthError> {
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

    /// Maps a token-endpoint error to what the clinician is told. `Err` only for keychain
    /// failures while cleaning up.
    /// A refused code exchange, mapped like any token-endpoint refusal.
    pub(super) fn token_error_browser(
        &self,
        acct: &Account,
        r: &Reply,
    ) -> Result<AuthError, AuthError> {
        self.token_error(acct, Step::Password, r, None)
    }

    fn token_error(
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

fn check_code(code: &Secret) -> Result<(), AuthError> {
    let c = code.expose();
    if c.is_empty() {
        return Err(AuthError::MfaRequired);
    }
    if c.len() != 6 || !c.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AuthError::InvalidInput {
            field: super::Field::Totp,
            reason: "The code is the 6 digits shown in your authenticator app.".into(),
        });
    }
    Ok(())
}

fn join(base: &Url, path: &str) -> Result<Url, AuthError> {
    base.join(path).map_err(|e| {
        AuthError::Net(crate::net::NetError::BadUrl {
            url: crate::net::origin(base),
            detail: e.to_string(),
        })
    })
}

pub(super) fn bad_doc(what: &str) -> AuthError {
    AuthError::Server {
        status: 200,
        error: format!("missing or foreign `{what}`"),
    }
}

fn server_error(r: &Reply) -> AuthError {
    AuthError::Server {
        status: r.status,
        error: r.str("error").unwrap_or("unexpected answer").to_string(),
    }
}
