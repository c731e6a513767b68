//! The stock clinic (tests/interop/stock-clinic.mjs): oidc-provider and Medplum's FHIR router,
//! servers nobody here wrote, as a child process on loopback TLS; and a stand-in for the
//! clinician's browser on oidc-provider's login interaction (a cookie-keeping HTTP client that
//! follows the provider's redirects on its own origin and stops at Rounds' loopback callback).

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;
use url::Url;

use crate::auth_support::{base32_decode, totp_at};
use crate::clinic_page::Consent;

/// The ready line the server prints (tests/interop/README.md).
#[derive(Debug, Clone)]
pub struct Ready {
    pub base_url: String,
    pub ca_pem: PathBuf,
    pub admin_token: String,
    pub username: String,
    pub password: String,
    pub totp_secret: String,
    /// The seeded clinician's Practitioner id.
    pub practitioner: String,
}

/// A running stock clinic; killed when dropped.
pub struct StockClinic {
    child: Child,
    pub ready: Ready,
    pub state_dir: PathBuf,
    http: reqwest::Client,
}

impl Drop for StockClinic {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../interop")
}

impl StockClinic {
    /// `node tests/interop/stock-clinic.mjs` on a free port, with `extra` generated
    /// appointments over the sync window besides the seed (today's).
    pub fn start(extra: usize) -> Self {
        let dir = interop_dir();
        assert!(
            dir.join("node_modules/oidc-provider").is_dir()
                && dir.join("node_modules/@medplum/fhir-router").is_dir(),
            "tests/interop/node_modules is missing: `make test` installs it \
             (or `npm ci --prefix tests/interop --no-audit --no-fund`)"
        );
        let state_dir = crate::temp_dir("stock-clinic");
        let log = std::fs::File::create(state_dir.join("stock-clinic.log")).expect("log file");
        let mut child = Command::new("node")
            .arg(dir.join("stock-clinic.mjs"))
            .args(["--port", "0", "--exit-with-stdin", "--appointments"])
            .arg(extra.to_string())
            .arg("--state-dir")
            .arg(&state_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("node runs (Node.js >= 20.19 on PATH)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("ready line");
        let v: Value = serde_json::from_str(line.trim()).unwrap_or_else(|e| {
            let log =
                std::fs::read_to_string(state_dir.join("stock-clinic.log")).unwrap_or_default();
            panic!("the stock clinic printed no ready line ({e}): {line:?}\n{log}")
        });
        let s = |k: &str| {
            v[k].as_str()
                .unwrap_or_else(|| panic!("ready line lacks {k}: {v}"))
                .to_string()
        };
        let ready = Ready {
            base_url: s("base_url"),
            ca_pem: PathBuf::from(s("ca_pem")),
            admin_token: s("admin_token"),
            username: s("username"),
            password: s("password"),
            totp_secret: s("totp_secret"),
            practitioner: s("practitioner"),
        };
        let pem = std::fs::read(&ready.ca_pem).expect("ca pem");
        let http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .tls_certs_only([reqwest::Certificate::from_pem(&pem).expect("pem")])
            .build()
            .expect("client");
        Self {
            child,
            ready,
            state_dir,
            http,
        }
    }

    pub fn base(&self) -> Url {
        Url::parse(&self.ready.base_url).expect("base url")
    }

    pub fn ca_pem(&self) -> &Path {
        &self.ready.ca_pem
    }

    /// An HTTP client trusting only the clinic's CA, following no redirects.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The server's log so far (for assertion messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.state_dir.join("stock-clinic.log")).unwrap_or_default()
    }

    /// One FHIR REST call with the admin token: (status, body).
    pub async fn fhir(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let url = format!("{}/apis/default/fhir/{path}", self.ready.base_url);
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self
            .http
            .request(m, url)
            .bearer_auth(&self.ready.admin_token)
            .header("accept", "application/fhir+json");
        if let Some(b) = body {
            req = req
                .header("content-type", "application/fhir+json")
                .body(b.to_string());
        }
        let r = req.send().await.expect("FHIR call");
        let status = r.status().as_u16();
        let text = r.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Every resource of `type` (admin token, one page), by id.
    pub async fn all(&self, resource_type: &str) -> BTreeMap<String, Value> {
        let (st, b) = self
            .fhir("GET", &format!("{resource_type}?_count=1000"), None)
            .await;
        assert_eq!(st, 200, "{b}");
        b["entry"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| {
                        (
                            e["resource"]["id"].as_str().unwrap_or_default().to_string(),
                            e["resource"].clone(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The clinician's TOTP codes to try, best first (now, next step, previous step): the
    /// provider refuses a code whose step was already used.
    pub fn codes(&self) -> Vec<String> {
        let key = base32_decode(&self.ready.totp_secret).expect("base32 secret");
        let now = rounds_core::vault::items::unix_now();
        [now, now + 30, now - 30]
            .iter()
            .map(|t| totp_at(&key, *t))
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// The browser on the provider's pages.

/// A tiny cookie jar: name → value for the clinic's origin (oidc-provider's cookies are
/// path-scoped; sending them everywhere on the origin is what matters for the test).
#[derive(Default)]
struct Jar(BTreeMap<String, String>);

impl Jar {
    fn take(&mut self, r: &reqwest::Response) {
        for h in r.headers().get_all("set-cookie") {
            let Ok(h) = h.to_str() else { continue };
            let pair = h.split(';').next().unwrap_or_default();
            if let Some((k, v)) = pair.split_once('=') {
                if v.is_empty() || h.to_ascii_lowercase().contains("expires=thu, 01 jan 1970") {
                    self.0.remove(k.trim());
                } else {
                    self.0.insert(k.trim().to_string(), v.to_string());
                }
            }
        }
    }

    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

fn form_action(html: &str, form_id: &str) -> Option<String> {
    let start = html.find(&format!("id=\"{form_id}\""))?;
    let rest = &html[start..];
    let key = "action=\"";
    let a = rest.find(key)? + key.len();
    let len = rest[a..].find('"')?;
    Some(rest[a..a + len].replace("&#38;", "&"))
}

/// Where the browser ended: Rounds' loopback callback (the `Location` the provider sent it to,
/// not yet followed), or a page of the provider's it could not get past.
#[derive(Debug)]
pub enum Landing {
    Callback(String),
    Page(u16, String),
}

/// Drives the provider's pages as a browser: GET the authorization URL, follow same-origin
/// redirects with cookies, fill user name + password, then a TOTP code (retrying the next
/// candidate when the page says the code was wrong), then answer consent.
pub async fn sign_in(
    sc: &StockClinic,
    authorize_url: &Url,
    user: &str,
    password: &str,
    consent: Consent,
) -> Landing {
    let http = sc.http();
    let origin = sc.base().origin();
    let mut jar = Jar::default();
    let mut codes = sc.codes().into_iter();
    // (method, url, form)
    let mut next: (reqwest::Method, String, Vec<(String, String)>) =
        (reqwest::Method::GET, authorize_url.to_string(), vec![]);
    for _ in 0..20 {
        let (m, url, form) =
            std::mem::replace(&mut next, (reqwest::Method::GET, String::new(), vec![]));
        let mut req = http.request(m, &url).header("cookie", jar.header());
        if !form.is_empty() {
            req = req.form(&form);
        }
        let r = req.send().await.expect("provider page");
        jar.take(&r);
        let status = r.status().as_u16();
        if (300..400).contains(&status) {
            let loc = r
                .headers()
                .get("location")
                .and_then(|l| l.to_str().ok())
                .expect("redirect location");
            let to = Url::parse(&url).expect("url").join(loc).expect("location");
            if to.origin() != origin {
                return Landing::Callback(to.to_string());
            }
            next = (reqwest::Method::GET, to.to_string(), vec![]);
            continue;
        }
        let html = r.text().await.unwrap_or_default();
        let hidden = |html: &str| {
            let key = "name=\"auth_request\" value=\"";
            html.find(key).map(|s| {
                let rest = &html[s + key.len()..];
                rest[..rest.find('"').unwrap_or(0)].to_string()
            })
        };
        let mut fields = vec![];
        if let Some(h) = hidden(&html) {
            fields.push(("auth_request".to_string(), h));
        }
        let action;
        if html.contains("id=\"username\"") {
            if html.contains("id=\"error\"") {
                return Landing::Page(status, html);
            }
            action = form_action(&html, "login");
            fields.push(("username".into(), user.into()));
            fields.push(("password".into(), password.into()));
        } else if html.contains("id=\"mfa_code\"") {
            let Some(c) = codes.next() else {
                return Landing::Page(status, html);
            };
            action = form_action(&html, "otp");
            fields.push(("mfa_code".into(), c));
        } else if html.contains("id=\"authorize\"") {
            action = form_action(&html, "authorize");
            let choice = match consent {
                Consent::Allow => "allow",
                Consent::Deny => "deny",
            };
            fields.push(("consent".into(), choice.into()));
        } else {
            return Landing::Page(status, html);
        }
        let Some(action) = action else {
            return Landing::Page(status, html);
        };
        next = (reqwest::Method::POST, action, fields);
    }
    panic!("the provider's pages did not end in a redirect to Rounds")
}

// ---------------------------------------------------------------------------------------------
// A bearer token for the FHIR tests, got the standard way by test code (not Rounds'): register
// a native client, authorization code + PKCE through the provider's pages, code exchange.

impl StockClinic {
    /// An access token the provider issued to the clinician (scope: what Rounds asks for).
    pub async fn access_token(&self) -> String {
        let oauth = format!("{}/oauth2/default", self.ready.base_url);
        let d: Value = self
            .http
            .get(format!("{oauth}/.well-known/openid-configuration"))
            .send()
            .await
            .expect("discovery")
            .json()
            .await
            .expect("json");
        let ep = |k: &str| d[k].as_str().expect(k).to_string();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("port")
            .local_addr()
            .expect("addr")
            .port();
        let redirect = format!("http://127.0.0.1:{port}/callback");
        let scope = TEST_SCOPE;
        let reg: Value = self
            .http
            .post(ep("registration_endpoint"))
            .json(&serde_json::json!({
                "application_type": "native", "client_name": "interop test",
                "redirect_uris": [redirect], "grant_types": ["authorization_code", "refresh_token"],
                "token_endpoint_auth_method": "client_secret_post", "scope": scope,
            }))
            .send()
            .await
            .expect("register")
            .json()
            .await
            .expect("json");
        let id = reg["client_id"].as_str().expect("client_id");
        let secret = reg["client_secret"].as_str().expect("client_secret");
        let verifier = b64url(&rand_bytes());
        let challenge = b64url(
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes()).as_ref(),
        );
        let mut url = Url::parse(&ep("authorization_endpoint")).expect("url");
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", id)
            .append_pair("redirect_uri", &redirect)
            .append_pair("scope", scope)
            .append_pair("prompt", "consent")
            .append_pair("state", "interop-state")
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        let loc = match sign_in(
            self,
            &url,
            &self.ready.username,
            &self.ready.password,
            Consent::Allow,
        )
        .await
        {
            Landing::Callback(l) => Url::parse(&l).expect("callback url"),
            Landing::Page(st, html) => panic!("stuck on the provider's page ({st}): {html}"),
        };
        let code = loc
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_else(|| panic!("no code in {loc}"));
        let t: Value = self
            .http
            .post(ep("token_endpoint"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", &redirect),
                ("code_verifier", &verifier),
                ("client_id", id),
                ("client_secret", secret),
            ])
            .send()
            .await
            .expect("token")
            .json()
            .await
            .expect("json");
        t["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no access token: {t}"))
            .to_string()
    }
}

/// What Rounds asks for (clinic-api.md §1.2) plus `profile`, written here on its own.
const TEST_SCOPE: &str = "openid offline_access profile fhirUser api:oemr api:fhir \
    user/Appointment.read user/Patient.read user/Practitioner.read user/Location.read";

/// RFC 4648 §5 base64url without padding (RFC 7636 §4.2).
fn b64url(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = c
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=c.len() {
            out.push(char::from(A[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

fn rand_bytes() -> [u8; 32] {
    let mut b = [0u8; 32];
    aws_lc_rs::rand::fill(&mut b).expect("random");
    b
}
