//! Sign-in through the clinic's own page: authorization code + PKCE, system browser, loopback
//! redirect (RFC 8252, RFC 7636; clinic-api.md §1.5).
//!
//! Why: a stock OpenEMR asks for the TOTP code only on its own login page; its password grant
//! has no second factor. When discovery does not offer the MFA-OTP grant, Rounds sends the
//! clinician to that page in the system browser (never an embedded view: the password must
//! not pass through Rounds), listens on the one registered loopback address, and exchanges the
//! code for tokens, which are stored exactly like those of the password + code sign-in.
//!
//! Defences: a fresh `state` (CSRF) and PKCE verifier per attempt; the listener binds
//! 127.0.0.1 only, answers only `GET /callback`, ignores a callback whose `state` is not ours
//! (and keeps waiting for the real one), and closes after the first good callback or when the
//! attempt times out or is cancelled. The code and verifier live in [`Secret`]s and go only
//! to the token endpoint (origin-bound form fields).

use super::AuthError;
use super::flow::{Account, Authenticator, SignedIn, bad_doc};
use super::transport::{Param, Transport};
use crate::secret::Secret;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use url::Url;

/// How long the clinician has to finish on the clinic's page.
pub const BROWSER_TIMEOUT: Duration = Duration::from_secs(300);

/// A browser sign-in that has started: open [`BrowserSignIn::url`] in the system browser,
/// then hand it to [`Authenticator::finish_browser`].
pub struct BrowserSignIn {
    url: Url,
    redirect: Url,
    listener: TcpListener,
    state: Secret,
    verifier: Secret,
    /// The issuer discovery named: an `iss` on the callback must be this one (RFC 9207).
    issuer: Option<String>,
    /// The server promised `iss` on every answer (RFC 9207 §2.4).
    iss_required: bool,
}

impl std::fmt::Debug for BrowserSignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrowserSignIn").finish_non_exhaustive()
    }
}

impl BrowserSignIn {
    /// The clinic's authorization page, with our `state` and PKCE challenge (neither is a
    /// secret by itself: the verifier never leaves until the token call).
    pub fn url(&self) -> &Url {
        &self.url
    }
}

fn random_b64(n: usize) -> Result<String, AuthError> {
    let mut b = vec![0u8; n];
    aws_lc_rs::rand::fill(&mut b).map_err(|_| AuthError::Server {
        status: 0,
        error: "no random numbers available".into(),
    })?;
    Ok(B64.encode(b))
}

fn challenge(verifier: &Secret) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.expose().as_bytes());
    B64.encode(d.as_ref())
}

impl<T: Transport> Authenticator<'_, T> {
    /// Discovers the endpoints, makes sure a client exists, binds the loopback listener and
    /// builds the authorization URL. Nothing secret has left the app yet.
    pub async fn begin_browser(&self, acct: &Account) -> Result<BrowserSignIn, AuthError> {
        let d = self.discover(acct).await?;
        let authorize = d
            .authorization_endpoint
            .clone()
            .ok_or_else(|| bad_doc("authorization_endpoint"))?;
        let client = self.client(acct, &d).await?;
        let redirect = self.redirect_uri();
        let addr: SocketAddr = format!(
            "{}:{}",
            redirect.host_str().unwrap_or("127.0.0.1"),
            redirect.port().unwrap_or(80)
        )
        .parse()
        .map_err(|_| bad_doc("redirect_uri"))?;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|_| AuthError::CallbackPortBusy { port: addr.port() })?;
        let state = Secret::new(random_b64(16)?);
        let verifier = Secret::new(random_b64(32)?);
        let mut url = authorize;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", client.id())
            .append_pair("redirect_uri", redirect.as_str())
            .append_pair("scope", &d.scope())
            // OIDC Core §11: asking for `offline_access` (a refresh token) needs
            // `prompt=consent`; without it a standard provider drops `offline_access`.
            .append_pair("prompt", "consent")
            .append_pair("state", state.expose())
            .append_pair(
                "aud",
                &format!(
                    "{}/apis/{}/fhir",
                    acct.server.as_str().trim_end_matches('/'),
                    acct.site
                ),
            )
            .append_pair("code_challenge", &challenge(&verifier))
            .append_pair("code_challenge_method", "S256");
        tracing::info!(profile = %acct.profile, "browser sign-in started");
        Ok(BrowserSignIn {
            url,
            redirect,
            listener,
            state,
            verifier,
            issuer: d.issuer,
            iss_required: d.iss_required,
        })
    }

    /// Waits for the clinic's page to send the browser back, then trades the code for tokens
    /// and stores them. Ends early when `cancel` completes or after [`BROWSER_TIMEOUT`].
    pub async fn finish_browser(
        &self,
        acct: &Account,
        login: BrowserSignIn,
        cancel: impl Future<Output = ()>,
    ) -> Result<SignedIn, AuthError> {
        let code = tokio::select! {
            r = wait_for_code(&login) => r?,
            () = tokio::time::sleep(BROWSER_TIMEOUT) => return Err(AuthError::SignInExpired),
            () = cancel => return Err(AuthError::BrowserCancelled),
        };
        drop(login.listener);
        let d = self.discover(acct).await?;
        let client = self.client(acct, &d).await?;
        let mut form = client.fields();
        form.extend([
            ("grant_type", Param::Text("authorization_code".into())),
            ("code", Param::Secret(code)),
            ("redirect_uri", Param::Text(login.redirect.to_string())),
            ("code_verifier", Param::Secret(login.verifier)),
        ]);
        let t0 = Instant::now();
        let r = self.net().post_form(&d.token_endpoint, form).await?;
        let server = t0.elapsed();
        if !r.ok() {
            return Err(match r.str("error") {
                // A code is good for one minute and one use.
                Some("invalid_grant") => AuthError::SignInExpired,
                _ => self.token_error_browser(acct, &r)?,
            });
        }
        let access = Secret::new(r.str("access_token").unwrap_or_default().into());
        let user = self.user_name(&d, access).await;
        let acct = Account {
            username: user.unwrap_or_else(|| acct.username.clone()),
            ..acct.clone()
        };
        let mut ok = self.store_tokens(&acct, &r)?;
        ok.timing.server = server;
        tracing::info!(profile = %acct.profile, "signed in through the clinic's page");
        Ok(ok)
    }

    /// The signed-in user's name from `userinfo` (`preferred_username`), if the server says.
    async fn user_name(&self, d: &super::flow::Discovery, access: Secret) -> Option<String> {
        let url = d.userinfo_endpoint.as_ref()?;
        let r = self.net().get_json(url, Some(access)).await.ok()?;
        r.str("preferred_username")
            .filter(|u| !u.is_empty() && u.len() <= 128 && !u.chars().any(char::is_control))
            .map(str::to_string)
    }
}

/// Accepts loopback connections until one carries our `state`; answers each with a short
/// page for the browser tab.
async fn wait_for_code(login: &BrowserSignIn) -> Result<Secret, AuthError> {
    loop {
        let Ok((mut sock, _)) = login.listener.accept().await else {
            continue;
        };
        let Some(target) = read_request_target(&mut sock).await else {
            respond(&mut sock, 400, "This is not a sign-in answer.").await;
            continue;
        };
        let Ok(url) = login.redirect.join(&target) else {
            respond(&mut sock, 400, "This is not a sign-in answer.").await;
            continue;
        };
        if url.path() != login.redirect.path() {
            respond(&mut sock, 404, "Not found.").await;
            continue;
        }
        let q = |k: &str| {
            url.query_pairs()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.into_owned())
        };
        if q("state").as_deref() != Some(login.state.expose()) {
            tracing::warn!("loopback callback with a state that is not ours; ignored");
            respond(
                &mut sock,
                400,
                "This sign-in answer does not belong to the sign-in Rounds started. Return to Rounds and try again.",
            )
            .await;
            continue;
        }
        // RFC 9207: a server that names itself in the answer must be the one we asked, and
        // one that promised to must not leave its name out.
        let wrong_issuer = match (q("iss"), login.issuer.as_deref()) {
            (Some(iss), Some(want)) => iss != want,
            (None, _) => login.iss_required,
            (Some(_), None) => false,
        };
        if wrong_issuer {
            tracing::warn!("loopback callback from another issuer; refused");
            respond(
                &mut sock,
                400,
                "This sign-in answer came from another server. Return to Rounds and try again.",
            )
            .await;
            return Err(AuthError::Server {
                status: 400,
                error: "the answer's issuer is not the clinic's".into(),
            });
        }
        if let Some(e) = q("error") {
            respond(
                &mut sock,
                200,
                "Sign-in was not completed. You can close this tab and return to Rounds.",
            )
            .await;
            return Err(if e == "access_denied" {
                AuthError::BrowserDenied
            } else {
                AuthError::Server {
                    status: 400,
                    error: e.chars().take(64).collect(),
                }
            });
        }
        let Some(code) = q("code").filter(|c| !c.is_empty() && c.len() <= 2048) else {
            respond(&mut sock, 400, "The sign-in answer carried no code.").await;
            continue;
        };
        respond(
            &mut sock,
            200,
            "You are signed in. You can close this tab and return to Rounds.",
        )
        .await;
        return Ok(Secret::new(code));
    }
}

/// The target of a `GET` (5 s at most; the shared loopback reader bounds the size).
async fn read_request_target(sock: &mut TcpStream) -> Option<String> {
    let r = tokio::time::timeout(
        Duration::from_secs(5),
        crate::loopback::read_request(sock, 64 * 1024),
    )
    .await
    .ok()??;
    (r.method == "GET" && r.target.starts_with('/')).then_some(r.target)
}

/// A short page for the browser tab.
async fn respond(sock: &mut TcpStream, status: u16, text: &str) {
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Rounds</title></head>\
         <body style=\"font:18px system-ui,sans-serif;max-width:32em;margin:4em auto\">\
         <h1>Rounds</h1><p id=\"message\">{text}</p></body></html>"
    );
    crate::loopback::respond(
        sock,
        status,
        "text/html; charset=utf-8",
        &[],
        body.as_bytes(),
    )
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_challenge_matches_rfc7636_appendix_b() {
        let v = Secret::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into());
        // RFC 7636 Appendix B's verifier and challenge.
        assert_eq!(challenge(&v), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }
}
