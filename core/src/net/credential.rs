//! Credentials bound to one origin. The auth layer is the only code that makes them; the client
//! attaches them only when the request's origin is exactly the one they were made for (scheme,
//! host and port), and never follows a redirect with them.

use url::{Origin, Url};

use crate::secret::Secret;

/// A bearer token for one server origin.
pub struct Credential {
    origin: Origin,
    token: Secret,
}

impl Credential {
    /// `server` is the configured clinic server (any URL on it; only its origin is kept).
    pub fn bearer(server: &Url, token: Secret) -> Self {
        Self {
            origin: server.origin(),
            token,
        }
    }

    pub(crate) fn allowed_for(&self, url: &Url) -> bool {
        self.origin.is_tuple() && url.origin() == self.origin
    }

    pub(crate) fn header_value(&self) -> Result<reqwest::header::HeaderValue, ()> {
        let mut v =
            reqwest::header::HeaderValue::from_str(&format!("Bearer {}", self.token.expose()))
                .map_err(|_| ())?;
        v.set_sensitive(true);
        Ok(v)
    }

    /// The origin it may be sent to (safe to log).
    pub fn origin(&self) -> String {
        self.origin.ascii_serialization()
    }
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credential(bearer for {}, [redacted])", self.origin())
    }
}

enum Value {
    Text(String),
    Secret(Secret),
}

/// An `application/x-www-form-urlencoded` body that may carry secrets (password, OTP, refresh
/// token, client secret); bound to one origin like [`Credential`].
pub struct Form {
    origin: Origin,
    fields: Vec<(String, Value)>,
}

impl Form {
    pub fn for_server(server: &Url) -> Self {
        Self {
            origin: server.origin(),
            fields: Vec::new(),
        }
    }

    pub fn text(mut self, key: &str, value: &str) -> Self {
        self.fields.push((key.into(), Value::Text(value.into())));
        self
    }

    pub fn secret(mut self, key: &str, value: Secret) -> Self {
        self.fields.push((key.into(), Value::Secret(value)));
        self
    }

    pub(crate) fn allowed_for(&self, url: &Url) -> bool {
        self.origin.is_tuple() && url.origin() == self.origin
    }

    pub(crate) fn has_secret(&self) -> bool {
        self.fields
            .iter()
            .any(|(_, v)| matches!(v, Value::Secret(_)))
    }

    pub(crate) fn encode(&self) -> zeroize::Zeroizing<String> {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.fields {
            match v {
                Value::Text(t) => s.append_pair(k, t),
                Value::Secret(x) => s.append_pair(k, x.expose()),
            };
        }
        zeroize::Zeroizing::new(s.finish())
    }
}

impl std::fmt::Debug for Form {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys: Vec<&str> = self.fields.iter().map(|(k, _)| k.as_str()).collect();
        write!(
            f,
            "Form(for {}, fields {keys:?})",
            self.origin.ascii_serialization()
        )
    }
}

/// A JSON object of plain text and secret string members (the password change: current and new
/// password, OTP): the same fields and origin binding as [`Form`], encoded as JSON. `{:?}`
/// shows the member names only, and the encoded bytes are zeroed when dropped.
pub struct SecretJson(Form);

impl SecretJson {
    pub fn for_server(server: &Url) -> Self {
        Self(Form::for_server(server))
    }

    pub fn text(self, key: &str, value: &str) -> Self {
        Self(self.0.text(key, value))
    }

    pub fn secret(self, key: &str, value: Secret) -> Self {
        Self(self.0.secret(key, value))
    }

    pub(crate) fn allowed_for(&self, url: &Url) -> bool {
        self.0.allowed_for(url)
    }

    /// The members are written straight into the output buffer (no intermediate
    /// `serde_json::Value` holding a copy of a secret).
    pub(crate) fn encode(&self) -> Result<zeroize::Zeroizing<Vec<u8>>, serde_json::Error> {
        use serde::ser::{SerializeMap as _, Serializer as _};
        let mut out = zeroize::Zeroizing::new(Vec::with_capacity(256));
        let mut ser = serde_json::Serializer::new(&mut *out);
        let mut map = ser.serialize_map(Some(self.0.fields.len()))?;
        for (k, v) in &self.0.fields {
            match v {
                Value::Text(t) => map.serialize_entry(k, t)?,
                Value::Secret(x) => map.serialize_entry(k, x.expose())?,
            }
        }
        map.end()?;
        Ok(out)
    }
}

impl std::fmt::Debug for SecretJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretJson{:?}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Url {
        Url::parse(s).expect("url")
    }

    #[test]
    fn bound_to_exact_origin() {
        let c = Credential::bearer(
            &u("https://emr.example.org/apis"),
            Secret::new("t0k".into()),
        );
        assert!(c.allowed_for(&u("https://emr.example.org/x?y")));
        assert!(c.allowed_for(&u("https://emr.example.org:443/x")));
        for other in [
            "http://emr.example.org/x",
            "https://emr.example.org:8443/x",
            "https://evil.example.org/x",
            "https://emr.example.org.evil.example/x",
        ] {
            assert!(!c.allowed_for(&u(other)), "{other}");
        }
        assert!(!format!("{c:?}").contains("t0k"));
    }

    #[test]
    fn form_debug_hides_values() {
        let f = Form::for_server(&u("https://emr.example.org"))
            .text("username", "drsmith")
            .secret("password", Secret::new("hunter2".into()));
        let d = format!("{f:?}");
        assert!(d.contains("password") && !d.contains("hunter2"), "{d}");
        assert!(f.has_secret());
        assert_eq!(f.encode().as_str(), "username=drsmith&password=hunter2");
    }

    #[test]
    fn secret_json_debug_hides_values_and_encodes_json() {
        let j = SecretJson::for_server(&u("https://emr.example.org"))
            .secret("current_password", Secret::new("hun\"ter2".into()))
            .text("note", "x");
        let d = format!("{j:?}");
        assert!(d.contains("current_password") && !d.contains("hun"), "{d}");
        let bytes = j.encode().expect("encode");
        let v: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
        assert_eq!(
            v,
            serde_json::json!({"current_password": "hun\"ter2", "note": "x"})
        );
        assert!(j.allowed_for(&u("https://emr.example.org/apis")));
        assert!(!j.allowed_for(&u("https://evil.example.org/apis")));
    }
}
