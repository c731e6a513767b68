//! Signing in: password + TOTP at every new session (MFA is never optional).
//!
//! - [`SignInRequest`]: what the form sends, checked before anything goes over the network.
//! - [`flow`]: discovery, client registration, password grant → `mfa_required` → MFA-OTP grant,
//!   TOTP enrollment, refresh with rotation, sign-out; tokens only in the keychain ([`crate::vault`]).
//! - [`session`]: the plain state the UI sees (`signedOut | needsMfaEnrollment | signedIn`).
//! - [`transport`]: what the flow needs from the network.

pub mod browser;
pub mod flow;
mod net_transport;
pub mod session;
pub mod tokens;
pub mod transport;

pub use browser::BrowserSignIn;
pub use flow::{
    Account, Authenticator, Enrollment, SignInMemory, SignInMethod, SignInOutcome, SignedIn,
};
pub use session::SessionState;
pub use tokens::KeychainTokens;

use crate::net::NetError;
use crate::secret::Secret;
use crate::vault::VaultError;
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("{field}: {reason}")]
    InvalidInput { field: Field, reason: String },
    #[error("a second factor (TOTP code) is required")]
    MfaRequired,
    #[error("the session has expired")]
    SessionExpired,
    #[error("signing in is not available in this build yet")]
    NotAvailable,
    #[error("the user name or password is wrong")]
    WrongPassword,
    #[error("the code is wrong")]
    WrongCode,
    #[error("the code was already used; wait for the next one")]
    CodeAlreadyUsed,
    #[error("the account is locked: {detail}")]
    AccountLocked { detail: String },
    #[error("the password has expired and must be reset by an administrator")]
    PasswordExpired,
    /// The sign-in (or enrollment) took too long or too many codes were wrong: start again.
    #[error("the sign-in step expired; start again")]
    SignInExpired,
    /// The server does not offer the password + MFA-OTP grant: the browser flow is needed.
    #[error("this server needs the browser sign-in: {detail}")]
    BrowserSignInNeeded { detail: String },
    /// Another program holds the loopback port the clinic sends the browser back to.
    #[error("port {port} on this computer is in use by another program")]
    CallbackPortBusy { port: u16 },
    /// The clinician chose "Deny" (or the clinic refused) on the clinic's page.
    #[error("sign-in was declined on the clinic's page")]
    BrowserDenied,
    /// The clinician cancelled the browser sign-in in Rounds.
    #[error("the browser sign-in was cancelled")]
    BrowserCancelled,
    #[error("the system browser could not be opened: {detail}")]
    BrowserUnavailable { detail: String },
    /// The server refused this app's client id/secret (disabled or unknown client).
    #[error("the clinic server does not accept this app ({detail})")]
    ClientRejected { detail: String },
    #[error("the clinic server answered {status} `{error}`")]
    Server { status: u16, error: String },
    #[error("no enrollment is in progress")]
    NoEnrollment,
    #[error(transparent)]
    Net(#[from] NetError),
    #[error(transparent)]
    Vault(#[from] VaultError),
}

/// Which form field an input error belongs to, so the UI can put the message beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum Field {
    Username,
    Password,
    Totp,
    /// The change-password form's new password (the current one is `Password`).
    NewPassword,
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Username => "user name",
            Self::Password => "password",
            Self::Totp => "code",
            Self::NewPassword => "new password",
        })
    }
}

/// What the sign-in form sends. Secrets arrive in [`Secret`]s and are dropped (zeroed) after use.
#[derive(Debug, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct SignInRequest {
    pub username: String,
    #[specta(type = String)]
    pub password: Secret,
    #[specta(type = String)]
    pub totp: Secret,
}

impl SignInRequest {
    /// User name and password only (the first step, also for a user who must still enroll);
    /// a code, when given, must have the right shape.
    pub fn validate_credentials(&self) -> Result<(), AuthError> {
        match self.validate() {
            Err(AuthError::MfaRequired) => Ok(()),
            other => other,
        }
    }

    /// Checks the shape of the input before anything goes over the network.
    pub fn validate(&self) -> Result<(), AuthError> {
        let bad = |field, reason: &str| {
            Err(AuthError::InvalidInput {
                field,
                reason: reason.into(),
            })
        };
        let user = self.username.trim();
        if user.is_empty() {
            return bad(Field::Username, "Enter your user name.");
        }
        if user.len() > 128 || user.chars().any(char::is_control) {
            return bad(Field::Username, "That user name is not valid.");
        }
        if self.password.is_empty() {
            return bad(Field::Password, "Enter your password.");
        }
        let code = self.totp.expose();
        if code.is_empty() {
            return Err(AuthError::MfaRequired);
        }
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return bad(
                Field::Totp,
                "The code is the 6 digits shown in your authenticator app.",
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(u: &str, p: &str, t: &str) -> SignInRequest {
        SignInRequest {
            username: u.into(),
            password: Secret::new(p.into()),
            totp: Secret::new(t.into()),
        }
    }

    #[test]
    fn validation_names_the_field_and_never_echoes_secrets() {
        assert!(req("drsmith", "pw", "123456").validate().is_ok());
        let cases = [
            (req(" ", "pw", "123456"), Some(Field::Username)),
            (req("drsmith", "", "123456"), Some(Field::Password)),
            (req("drsmith", "pw", "12345"), Some(Field::Totp)),
            (req("drsmith", "pw", "12a456"), Some(Field::Totp)),
            (req("drsmith", "pw", ""), None),
        ];
        for (r, field) in cases {
            let e = r.validate().expect_err("must fail");
            match (field, &e) {
                (Some(f), AuthError::InvalidInput { field, .. }) => assert_eq!(*field, f),
                (None, AuthError::MfaRequired) => {}
                other => panic!("unexpected {other:?}"),
            }
            let text = format!("{e} {e:?}");
            assert!(!text.contains("pw\"") && !text.contains("12a456"), "{text}");
        }
    }
}
