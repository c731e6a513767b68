//! Where pages come from. The sync only needs "GET this URL with the session's token"; the
//! trait keeps it testable and keeps token handling (renew once on a 401) in one place.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use url::Url;

use super::ScheduleError;
use crate::auth::AuthError;
use crate::net::{Credential, NetClient, NetError, origin};
use crate::secret::Secret;

/// A boxed, sendable future: keeps the traits object-safe without `async_trait`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Fetches FHIR documents from the clinic server.
pub trait FhirSource: Send + Sync {
    /// The body of a 2xx answer to `GET url`; HTTP failures as [`ScheduleError`] classes.
    fn get<'a>(&'a self, url: &'a Url) -> BoxFuture<'a, Result<Vec<u8>, ScheduleError>>;
}

/// The session's access token. The app wires `Authenticator::access_token` (`token`) and
/// `Authenticator::refresh` + `access_token` (`renew`).
pub trait TokenSource: Send + Sync {
    /// A token with time left (may renew on its own when close to expiry).
    fn token(&self) -> BoxFuture<'_, Result<Secret, AuthError>>;
    /// A fresh token after the server refused the current one.
    fn renew(&self) -> BoxFuture<'_, Result<Secret, AuthError>>;
}

/// `{server origin}/apis/{site}/fhir` (clinic-api §3.1).
pub fn fhir_base(server: &Url, site: &str) -> Result<Url, ScheduleError> {
    let ok = !site.is_empty()
        && site.len() <= 64
        && site
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !ok {
        return Err(ScheduleError::Cache("the site id is not valid".into()));
    }
    Url::parse(&format!("{}/apis/{site}/fhir", origin(server)))
        .map_err(|e| ScheduleError::Cache(format!("bad server address: {e}")))
}

/// The real source: the core's one HTTP client, the token bound to the server's origin.
pub struct NetSource {
    net: NetClient,
    server: Url,
    tokens: Arc<dyn TokenSource>,
}

impl NetSource {
    pub fn new(net: NetClient, server: Url, tokens: Arc<dyn TokenSource>) -> Self {
        Self {
            net,
            server,
            tokens,
        }
    }
}

/// HTTP status → what the sync (and the UI) does about it (clinic-api §3.4 step 5).
pub(crate) fn from_net(e: NetError) -> ScheduleError {
    match e {
        NetError::Status { status: 401, .. } => ScheduleError::Unauthorized,
        NetError::Status { status: 403, .. } => ScheduleError::Forbidden,
        NetError::Status { status: 404, .. } => ScheduleError::NotFound,
        NetError::Status { status, .. } if status == 429 || status >= 500 => {
            ScheduleError::ServerBusy { status }
        }
        NetError::Status { status, .. } => ScheduleError::Http { status },
        NetError::CredentialOrigin { url, .. } | NetError::Redirect { to: url, .. } => {
            ScheduleError::ForeignLink { origin: url }
        }
        other => ScheduleError::Net(other),
    }
}

fn auth(e: AuthError) -> ScheduleError {
    match e {
        AuthError::Net(n) => from_net(n),
        AuthError::Vault(v) => ScheduleError::Vault(v),
        other => ScheduleError::Auth(Box::new(other)),
    }
}

impl FhirSource for NetSource {
    fn get<'a>(&'a self, url: &'a Url) -> BoxFuture<'a, Result<Vec<u8>, ScheduleError>> {
        Box::pin(async move {
            let token = self.tokens.token().await.map_err(auth)?;
            let cred = Credential::bearer(&self.server, token);
            match self.net.get_bytes_with(url, Some(&cred)).await {
                Err(NetError::Status { status: 401, .. }) => {
                    tracing::info!(host = %origin(url), "FHIR server refused the token; renewing once");
                    let token = self.tokens.renew().await.map_err(auth)?;
                    let cred = Credential::bearer(&self.server, token);
                    self.net
                        .get_bytes_with(url, Some(&cred))
                        .await
                        .map_err(from_net)
                }
                r => r.map_err(from_net),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_what_the_user_can_do() {
        let s = |status| NetError::Status {
            host: "https://h".into(),
            status,
        };
        assert!(matches!(from_net(s(401)), ScheduleError::Unauthorized));
        assert!(matches!(from_net(s(403)), ScheduleError::Forbidden));
        assert!(matches!(from_net(s(404)), ScheduleError::NotFound));
        assert!(matches!(
            from_net(s(429)),
            ScheduleError::ServerBusy { status: 429 }
        ));
        assert!(matches!(
            from_net(s(503)),
            ScheduleError::ServerBusy { status: 503 }
        ));
        assert!(matches!(
            from_net(s(400)),
            ScheduleError::Http { status: 400 }
        ));
    }

    #[test]
    fn fhir_base_is_origin_plus_site() {
        let u = Url::parse("https://emr.example.org:8443/whatever?x=1").expect("url");
        assert_eq!(
            fhir_base(&u, "default").expect("base").as_str(),
            "https://emr.example.org:8443/apis/default/fhir"
        );
        assert!(fhir_base(&u, "../x").is_err());
    }
}
