//! A home for login secrets (passwords, TOTP codes, tokens) that cannot leak by accident.
//!
//! [`Secret`] zeroes its memory on drop, prints as `[redacted]` under `{:?}`, and deliberately
//! implements neither `Display`, `Serialize` nor `Clone`: a secret can come *in* from the UI
//! (deserialize) but the compiler refuses to send one back out, log it or copy it around.
//!
//! ```compile_fail
//! // A secret can never be serialized back to the webview.
//! let s = rounds_core::secret::Secret::new("hunter2".into());
//! serde_json::to_string(&s).unwrap();
//! ```
//!
//! ```compile_fail
//! // Nor formatted for display (and so never into a log line by `{}`).
//! let s = rounds_core::secret::Secret::new("hunter2".into());
//! let _ = format!("{}", s);
//! ```

use serde::{Deserialize, Deserializer};
use zeroize::Zeroizing;

/// A string secret held only for as long as a request needs it.
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(value: String) -> Self {
        Self(Zeroizing::new(value))
    }

    /// The one way to read the value; grep for `expose` to audit every use.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.chars().count()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::new("correct horse battery staple".into());
        let shown = format!("{s:?} {:#?}", s);
        assert!(!shown.contains("horse"), "{shown}");
        assert!(shown.contains("redacted"));
    }

    #[test]
    fn deserializes_from_ui_json() {
        #[derive(Deserialize, Debug)]
        struct Req {
            password: Secret,
        }
        let r: Req = serde_json::from_str(r#"{"password":"pw-123"}"#).expect("valid json");
        assert_eq!(r.password.expose(), "pw-123");
        assert!(!format!("{r:?}").contains("pw-123"));
    }
}
