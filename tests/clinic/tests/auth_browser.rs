//! Browser sign-in (authorization code + PKCE, loopback redirect; RFC 8252) against the sandbox
//! switched to stock-OpenEMR behaviour: discovery offers no MFA-OTP grant, so the TOTP code is
//! asked on the clinic's own page. Tokens land in the real Secret Service (throwaway
//! gnome-keyring; the binary re-runs itself under `dbus-run-session`).

use rounds_clinic_tests::auth_support::{
    self as s, Case, PASSWORD, TestTransport, account, control_post, request, secret_tool_accounts,
    secret_tool_lookup,
};
use rounds_clinic_tests::clinic_page::{self, Consent};
use rounds_clinic_tests::{case, sandbox};
use rounds_core::auth::{AuthError, Authenticator, SessionState, SignInMethod};
use url::Url;

fn main() {
    let cases: &[Case] = &[
        case!(stock_openemr_signs_in_on_the_clinic_page_with_totp),
        case!(password_is_never_sent_when_the_server_has_no_mfa_step),
        case!(a_forged_callback_is_ignored_and_the_real_one_wins),
        case!(deny_cancel_and_a_busy_port_are_named),
        case!(an_answer_without_its_issuer_or_from_another_is_refused),
    ];
    s::run(cases)
}

/// A loopback redirect on a free port (the app uses the fixed, registered 8765).
fn redirect() -> Url {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
    let port = l.local_addr().expect("addr").port();
    Url::parse(&format!("http://127.0.0.1:{port}/callback")).expect("url")
}

/// drsmith on the clinic's page in the browser (password, then the sandbox's current code,
/// then `consent`), and the browser following the redirect back to Rounds: (status, page).
async fn drsmith_in_browser(
    sb: &rounds_sandbox::Sandbox,
    url: &Url,
    consent: Consent,
) -> (u16, String) {
    let loc = clinic_page::sign_in(
        std::path::Path::new(&sb.ready.ca_pem),
        url.as_str(),
        "drsmith",
        PASSWORD,
        async || s::totp(sb, "drsmith", 0).await,
        consent,
    )
    .await
    .expect("clinic page");
    clinic_page::follow_callback(&loc).await.expect("callback")
}

async fn stock_openemr(sb: &rounds_sandbox::Sandbox) {
    control_post(
        sb,
        "/control/config",
        serde_json::json!({"mfa_grant_enabled": false}),
    )
    .await;
}

async fn stock_openemr_signs_in_on_the_clinic_page_with_totp() {
    let sb = sandbox().await;
    stock_openemr(&sb).await;
    let v = s::vault();
    let auth = Authenticator::new(TestTransport::new(&sb), &v).with_redirect(redirect());
    // No user name known beforehand: it must come from the server (userinfo).
    let acct = account(&sb, "stock-a", "");
    assert_eq!(
        auth.method(&acct).await.expect("method"),
        SignInMethod::Browser
    );

    let login = auth.begin_browser(&acct).await.expect("begin");
    let url = login.url().clone();
    let q = |k: &str| {
        url.query_pairs()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(q("code_challenge_method").as_deref(), Some("S256"));
    assert_eq!(q("code_challenge").map(|c| c.len()), Some(43));
    assert!(q("state").is_some_and(|s| s.len() >= 22));
    assert!(
        q("code_verifier").is_none(),
        "the verifier never leaves before the token call"
    );
    assert_eq!(
        url.origin(),
        Url::parse(&sb.ready.base_url).expect("base").origin()
    );

    let (signed, (status, page)) = tokio::join!(
        auth.finish_browser(&acct, login, std::future::pending()),
        drsmith_in_browser(&sb, &url, Consent::Allow)
    );
    let signed = signed.expect("signed in");
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("You are signed in"), "{page}");
    assert_eq!(signed.user, "drsmith", "the user name comes from userinfo");

    let mut items: Vec<String> = secret_tool_accounts()
        .into_iter()
        .filter(|a| a.starts_with("stock-a/"))
        .collect();
    items.sort();
    assert_eq!(
        items,
        ["stock-a/client", "stock-a/refresh", "stock-a/session"]
    );
    let access = secret_tool_lookup("stock-a/session").expect("access token");
    assert!(
        !page.contains(&access),
        "the browser tab never sees a token"
    );
    let acct = account(&sb, "stock-a", "drsmith");
    assert!(matches!(
        auth.state(&acct).expect("state"),
        SessionState::SignedIn { .. }
    ));
    // The stored refresh token renews like any other.
    auth.refresh(&acct)
        .await
        .expect("refresh after a browser sign-in");
    auth.sign_out("stock-a").expect("sign out");
}

async fn password_is_never_sent_when_the_server_has_no_mfa_step() {
    let sb = sandbox().await;
    stock_openemr(&sb).await;
    let v = s::vault();
    let auth = Authenticator::new(TestTransport::new(&sb), &v).with_redirect(redirect());
    let acct = account(&sb, "stock-b", "drnomfa");
    // drnomfa would get tokens on the password alone from a stock server: Rounds must refuse
    // before sending it, since MFA is never optional.
    let e = auth
        .sign_in(&acct, request("drnomfa", PASSWORD, "123456"))
        .await
        .expect_err("must not sign in without MFA");
    assert!(matches!(e, AuthError::BrowserSignInNeeded { .. }), "{e:?}");
    let token_posts = sb
        .state
        .requests
        .lock()
        .expect("log")
        .iter()
        .filter(|r| r.path.ends_with("/token") && r.has_password)
        .count();
    assert_eq!(token_posts, 0, "the password reached the server");
    assert!(
        secret_tool_accounts()
            .iter()
            .all(|a| !a.starts_with("stock-b/session"))
    );
}

async fn a_forged_callback_is_ignored_and_the_real_one_wins() {
    let sb = sandbox().await;
    stock_openemr(&sb).await;
    let v = s::vault();
    let r = redirect();
    let auth = Authenticator::new(TestTransport::new(&sb), &v).with_redirect(r.clone());
    let acct = account(&sb, "stock-c", "");
    let login = auth.begin_browser(&acct).await.expect("begin");
    let url = login.url().clone();
    let attacker_then_browser = async {
        // Another local page (or program) posts a code of its own choosing.
        let forged = format!("{r}?code=attacker-code&state=not-the-state");
        let (st, page) = clinic_page::follow_callback(&forged).await.expect("forged");
        let other =
            clinic_page::follow_callback(&format!("{}favicon.ico", r.join("/").expect("root")))
                .await
                .expect("other path");
        let real = drsmith_in_browser(&sb, &url, Consent::Allow).await;
        (st, page, other.0, real.0)
    };
    let (signed, (st, page, other, real)) = tokio::join!(
        auth.finish_browser(&acct, login, std::future::pending()),
        attacker_then_browser
    );
    assert_eq!(st, 400);
    assert!(page.contains("does not belong"), "{page}");
    assert_eq!(other, 404);
    assert_eq!(real, 200);
    assert_eq!(signed.expect("the real callback signs in").user, "drsmith");
    auth.sign_out("stock-c").expect("sign out");
}

async fn deny_cancel_and_a_busy_port_are_named() {
    let sb = sandbox().await;
    stock_openemr(&sb).await;
    let v = s::vault();
    let acct = account(&sb, "stock-d", "");

    // Deny on the consent page.
    let auth = Authenticator::new(TestTransport::new(&sb), &v).with_redirect(redirect());
    let login = auth.begin_browser(&acct).await.expect("begin");
    let url = login.url().clone();
    let (denied, _) = tokio::join!(
        auth.finish_browser(&acct, login, std::future::pending()),
        drsmith_in_browser(&sb, &url, Consent::Deny)
    );
    assert!(
        matches!(denied, Err(AuthError::BrowserDenied)),
        "{denied:?}"
    );

    // Cancel in Rounds while the page is open.
    let login = auth.begin_browser(&acct).await.expect("begin");
    let cancelled = auth.finish_browser(&acct, login, async {}).await;
    assert!(
        matches!(cancelled, Err(AuthError::BrowserCancelled)),
        "{cancelled:?}"
    );

    // Another program holds the callback port.
    let r = redirect();
    let _held = std::net::TcpListener::bind(("127.0.0.1", r.port().expect("port"))).expect("hold");
    let auth = Authenticator::new(TestTransport::new(&sb), &v).with_redirect(r.clone());
    let busy = auth.begin_browser(&acct).await;
    assert!(
        matches!(busy, Err(AuthError::CallbackPortBusy { port }) if Some(port) == r.port()),
        "{busy:?}"
    );
    assert!(
        secret_tool_accounts()
            .iter()
            .all(|a| a != "stock-d/session" && a != "stock-d/refresh")
    );
}

/// RFC 9207 mix-up defence: the sandbox advertises `iss` on every authorization response, so
/// the real answer with its `iss` dropped, or naming another issuer, is refused, not traded.
async fn an_answer_without_its_issuer_or_from_another_is_refused() {
    let sb = sandbox().await;
    stock_openemr(&sb).await;
    let v = s::vault();
    let auth = Authenticator::new(TestTransport::new(&sb), &v).with_redirect(redirect());
    let acct = account(&sb, "stock-e", "");
    for tamper in ["drop", "other"] {
        let login = auth.begin_browser(&acct).await.expect("begin");
        let url = login.url().clone();
        let browser = async {
            let loc = clinic_page::sign_in(
                std::path::Path::new(&sb.ready.ca_pem),
                url.as_str(),
                "drsmith",
                PASSWORD,
                // The next code for the second round (the first one's code is spent).
                async || s::totp(&sb, "drsmith", i64::from(tamper == "other")).await,
                Consent::Allow,
            )
            .await
            .expect("clinic page");
            let mut u = Url::parse(&loc).expect("location");
            let kept: Vec<(String, String)> = u
                .query_pairs()
                .into_owned()
                .filter(|(k, _)| k != "iss")
                .collect();
            assert!(
                kept.len() < u.query_pairs().count(),
                "the sandbox sent no iss: {loc}"
            );
            {
                let mut q = u.query_pairs_mut();
                q.clear().extend_pairs(kept);
                if tamper == "other" {
                    q.append_pair("iss", "https://evil.example/oauth2/default");
                }
            }
            clinic_page::follow_callback(u.as_str())
                .await
                .expect("callback")
        };
        let (signed, (status, page)) = tokio::join!(
            auth.finish_browser(&acct, login, std::future::pending()),
            browser
        );
        assert_eq!(status, 400, "{tamper}: {page}");
        assert!(page.contains("another server"), "{tamper}: {page}");
        assert!(
            matches!(signed, Err(AuthError::Server { status: 400, .. })),
            "{tamper}: {signed:?}"
        );
    }
    let stored = secret_tool_accounts();
    assert!(
        stored
            .iter()
            .all(|a| a != "stock-e/session" && a != "stock-e/refresh"),
        "no tokens stored: {stored:?}"
    );
}
