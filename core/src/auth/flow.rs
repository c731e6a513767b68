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
use super::transport::{Param, Reply, Transport};
use crate::secret::Secret;
use crate::vault::Vault;
use crate::vault::items::unix_now;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use url::Url;

mod discovery;
mod keychain;
mod mfa;

pub use discovery::Discovery;

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
