//! The OAuth token store: registered clients, live access/refresh tokens, MFA challenges,
//! authorization codes, browser sign-ins in progress. Plain data with no `AppState`, so
//! [`crate::state::AppState`] can hold it without the two modules importing each other.

use std::collections::{HashMap, HashSet};

use time::OffsetDateTime;

/// A registered client.
#[derive(Debug, Clone)]
pub struct Client {
    pub client_id: String,
    pub client_secret: Option<String>,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub scopes: HashSet<String>,
    pub enabled: bool,
}

/// What an access or refresh token stands for.
#[derive(Debug, Clone)]
pub struct Grant {
    pub username: String,
    pub client_id: String,
    pub scope: String,
    pub expires_at: OffsetDateTime,
}

impl Grant {
    /// Whether the grant's scope contains `s`.
    pub fn has_scope(&self, s: &str) -> bool {
        self.scope.split_whitespace().any(|x| x == s)
    }
}

/// A refresh token; `used` ones are kept so reuse can be reported as such.
#[derive(Debug, Clone)]
pub struct RefreshEntry {
    pub grant: Grant,
    pub used: bool,
}

/// An MFA challenge in progress (§1.6).
#[derive(Debug, Clone)]
pub struct MfaPending {
    pub username: String,
    pub client_id: String,
    pub scope: String,
    pub expires_at: OffsetDateTime,
    /// Enrollment secret issued by `/mfa/associate`, not yet confirmed.
    pub pending_secret: Option<Vec<u8>>,
    pub failures: u32,
}

/// An issued authorization code (§1.5).
#[derive(Debug, Clone)]
pub struct AuthCode {
    pub username: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub code_challenge: Option<String>,
    pub nonce: Option<String>,
    pub expires_at: OffsetDateTime,
}

/// All OAuth state.
#[derive(Debug, Default)]
pub struct OAuthStore {
    pub clients: HashMap<String, Client>,
    pub access: HashMap<String, Grant>,
    pub refresh: HashMap<String, RefreshEntry>,
    pub mfa: HashMap<String, MfaPending>,
    pub codes: HashMap<String, AuthCode>,
    /// Browser sign-ins in progress (§1.5).
    pub auth_requests: HashMap<String, AuthRequest>,
}

impl OAuthStore {
    /// Drops every token of a user (after a password change, §2.3).
    pub fn revoke_user(&mut self, username: &str) {
        self.access.retain(|_, g| g.username != username);
        self.refresh.retain(|_, r| r.grant.username != username);
    }
}

/// A browser sign-in in progress.
#[derive(Debug, Clone)]
pub struct AuthRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub nonce: Option<String>,
    /// Set once the password was right.
    pub username: Option<String>,
    /// Set once the TOTP (if any) was right.
    pub authenticated: bool,
    pub expires_at: OffsetDateTime,
}
