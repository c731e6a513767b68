//! A stand-in for the clinician's browser on the clinic's own login page (§1.5): it follows
//! the authorization URL Rounds opened, fills user name, password and (when asked) the TOTP
//! code, answers the consent page, and then follows the redirect to Rounds' loopback address
//! the way a browser would. It reads the sandbox's pages by their stable element ids only.

use std::path::Path;

/// What the clinician does on the consent page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consent {
    Allow,
    Deny,
}

fn hidden(html: &str, name: &str) -> Option<String> {
    let key = format!("name=\"{name}\" value=\"");
    let start = html.find(&key)? + key.len();
    let len = html[start..].find('"')?;
    Some(html[start..start + len].to_string())
}

fn action(html: &str) -> Option<String> {
    let key = "action=\"";
    let start = html.find(key)? + key.len();
    let len = html[start..].find('"')?;
    Some(html[start..start + len].to_string())
}

/// Signs in on the clinic's page and returns the `Location` the clinic redirects to (Rounds'
/// loopback callback with `code` and `state`, or `error=access_denied`).
pub async fn sign_in(
    ca_pem: &Path,
    authorize_url: &str,
    user: &str,
    password: &str,
    code: impl AsyncFnOnce() -> String,
    consent: Consent,
) -> Result<String, String> {
    let pem = std::fs::read(ca_pem).map_err(|e| e.to_string())?;
    let http = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .tls_certs_only([reqwest::Certificate::from_pem(&pem).map_err(|e| e.to_string())?])
        .build()
        .map_err(|e| e.to_string())?;
    let page = |r: reqwest::Response| async move {
        let st = r.status();
        let t = r.text().await.map_err(|e| e.to_string())?;
        if st.is_success() {
            Ok(t)
        } else {
            Err(format!("{st}: {t}"))
        }
    };
    let mut html = page(
        http.get(authorize_url)
            .send()
            .await
            .map_err(|e| e.to_string())?,
    )
    .await?;
    let post = async |html: &str, fields: Vec<(&str, String)>| {
        let id = hidden(html, "auth_request").ok_or("no auth_request on the page")?;
        let to = action(html).ok_or("no form on the page")?;
        let mut form = vec![("auth_request", id)];
        form.extend(fields);
        http.post(to)
            .form(&form)
            .send()
            .await
            .map_err(|e| e.to_string())
    };
    html = page(
        post(
            &html,
            vec![("username", user.into()), ("password", password.into())],
        )
        .await?,
    )
    .await?;
    if html.contains("id=\"mfa_code\"") {
        let c = code().await;
        html = page(post(&html, vec![("mfa_code", c)]).await?).await?;
    }
    if !html.contains("id=\"authorize\"") {
        return Err(format!("expected the consent page, got: {html}"));
    }
    let choice = match consent {
        Consent::Allow => "allow",
        Consent::Deny => "deny",
    };
    let r = post(&html, vec![("consent", choice.into())]).await?;
    r.headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .map(str::to_string)
        .ok_or_else(|| format!("no redirect ({})", r.status()))
}

/// Follows the clinic's redirect to Rounds' loopback address, as the browser does; returns the
/// status and the page Rounds answers with.
pub async fn follow_callback(location: &str) -> Result<(u16, String), String> {
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .map_err(|e| e.to_string())?;
    let r = http.get(location).send().await.map_err(|e| e.to_string())?;
    let st = r.status().as_u16();
    Ok((st, r.text().await.map_err(|e| e.to_string())?))
}
