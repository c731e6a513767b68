//! Signing in: password + TOTP at every new session (MFA is never optional).
//!
//! The skeleton validates what the sign-in form sends, so the UI's error handling is real from
//! day one; the OAuth2 + MFA exchange with the clinic server arrives with the sign-in issue.

use crate::secret::Secret;
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
}

/// Which form field an input error belongs to, so the UI can put the message beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum Field {
    Username,
    Password,
    Totp,
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Username => "user name",
            Self::Password => "password",
            Self::Totp => "code",
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
