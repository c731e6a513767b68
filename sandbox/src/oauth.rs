//! OAuth 2.0 / OIDC as OpenEMR does it (§1), one file per seam: [`store`] (the token store),
//! `discovery` (discovery, JWKS, userinfo, introspection, logout), `registration` (RFC 7591),
//! `token` (the endpoint, client auth, minting), `grants` (password + Auth0-style MFA challenge
//! D1, MFA-OTP, refresh with rotation, code + PKCE), `enroll` (`/mfa/associate`, D2).
//! The browser login page of §1.5 is in [`crate::login`]. Everything public is re-exported
//! here, so callers keep writing `oauth::token`, `oauth::Grant`.

mod discovery;
mod enroll;
mod grants;
mod registration;
pub mod store;
mod token;

pub use discovery::{discovery, grant_from_headers, introspect, jwks, logout, userinfo};
pub use enroll::mfa_associate;
pub use registration::{add_client, known_scope, register};
pub use store::{AuthCode, Client, Grant, MfaPending, OAuthStore, RefreshEntry};
pub use token::{authenticate_client, issue_tokens, parse_form, token};

use discovery::user_claims;

/// The MFA grant type of §1.6.
pub const MFA_OTP_GRANT: &str = "http://auth0.com/oauth/grant-type/mfa-otp";
