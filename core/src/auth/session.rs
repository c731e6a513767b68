//! The session as the UI sees it: plain data, never a token.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase", tag = "state")]
pub enum SessionState {
    SignedOut,
    /// Password accepted; the user must enroll an authenticator (QR shown once) and confirm
    /// it with the first code before anything else.
    NeedsMfaEnrollment {
        user: String,
    },
    /// `until`: unix seconds when the current access token ends (it is renewed before that
    /// while a refresh token is kept).
    SignedIn {
        user: String,
        // Typed as a plain JS number for the UI (u32 seconds last until 2106).
        #[specta(type = u32)]
        until: i64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_as_plain_tagged_state() {
        let s = SessionState::SignedIn {
            user: "drsmith".into(),
            until: 1_900_000_000,
        };
        let j = serde_json::to_string(&s).expect("json");
        assert_eq!(
            j,
            r#"{"state":"signedIn","user":"drsmith","until":1900000000}"#
        );
        let j = serde_json::to_string(&SessionState::SignedOut).expect("json");
        assert_eq!(j, r#"{"state":"signedOut"}"#);
    }
}
