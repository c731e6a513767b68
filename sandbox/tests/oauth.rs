//! §1: discovery, registration, token endpoint (password + MFA, refresh rotation, errors),
//! enrollment, authorization code + PKCE with the login page.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn discovery_lists_endpoints_and_mfa_grant() {
    let t = start().await;
    let (s, v) = t
        .get("/oauth2/default/.well-known/openid-configuration", None)
        .await;
    assert_eq!(s, StatusCode::OK);
    for k in [
        "issuer",
        "authorization_endpoint",
        "token_endpoint",
        "registration_endpoint",
        "jwks_uri",
        "userinfo_endpoint",
        "introspection_endpoint",
        "end_session_endpoint",
        "grant_types_supported",
        "scopes_supported",
    ] {
        assert!(v.get(k).is_some(), "missing {k}");
    }
    assert_eq!(v["code_challenge_methods_supported"], json!(["S256"]));
    assert!(
        v["grant_types_supported"]
            .as_array()
            .expect("array")
            .contains(&json!(MFA_GRANT))
    );
    assert_eq!(
        v["token_endpoint"],
        json!(format!("{}/oauth2/default/token", t.base))
    );
    let (s, jwks) = t.get("/oauth2/default/jwk", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(jwks["keys"][0]["kty"], "EC");
}

#[tokio::test]
async fn registration_per_rfc7591_and_openemr_errors() {
    let t = start().await;
    let reg = |v: Value| {
        let t = &t;
        async move { t.post_json("/oauth2/default/registration", None, &v).await }
    };
    let (s, v) = reg(json!({"application_type": "private", "client_name": "Rounds", "redirect_uris": ["http://127.0.0.1:8765/callback"],
                            "token_endpoint_auth_method": "client_secret_post", "scope": rounds_sandbox::seed::APP_SCOPE})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    for k in [
        "client_id",
        "client_secret",
        "registration_access_token",
        "registration_client_uri",
        "client_id_issued_at",
    ] {
        assert!(v.get(k).is_some(), "missing {k}");
    }
    assert_eq!(v["client_secret_expires_at"], 0);
    assert_eq!(v["client_name"], "Rounds");
    // Auto-enabled (D7): the new client can use the password grant at once.
    let (id, secret) = (
        v["client_id"].as_str().expect("id"),
        v["client_secret"].as_str().expect("secret"),
    );
    let r = t
        .http
        .post(t.url("/oauth2/default/token"))
        .form(&[
            ("grant_type", "password"),
            ("client_id", id),
            ("client_secret", secret),
            ("user_role", "users"),
            ("username", "drnomfa"),
            ("password", PASSWORD),
            ("scope", "openid api:fhir"),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(r.status(), StatusCode::OK);

    let (s, v) =
        reg(json!({"application_type": "private", "client_name": "x", "scope": "openid"})).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_redirect_uri"))
    );
    let (s, v) = reg(json!({"application_type": "private", "redirect_uris": ["http://127.0.0.1/cb"], "scope": "openid bogus/scope"})).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_scope"))
    );
    let (s, v) = reg(json!({"application_type": "public", "redirect_uris": ["http://127.0.0.1/cb"], "scope": "openid user/Appointment.read"})).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_client_metadata"))
    );
    let r = t
        .http
        .post(t.url("/oauth2/default/registration"))
        .body("{}")
        .header("content-type", "text/plain")
        .send()
        .await
        .expect("reg");
    let (s, v) = body(r).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_client_metadata"))
    );
}

#[tokio::test]
async fn token_endpoint_errors_are_rfc6749_json() {
    let t = start().await;
    let (s, v) = t.password_grant("drsmith", "wrong").await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    assert!(
        v.get("reason").is_none() && v.get("mfa_token").is_none(),
        "wrong password reveals nothing: {v}"
    );
    assert!(v["error_description"].is_string());

    let r = t
        .http
        .post(t.url("/oauth2/default/token"))
        .form(&[
            ("grant_type", "password"),
            ("client_id", CLIENT_ID),
            ("client_secret", "nope"),
            ("user_role", "users"),
            ("username", "drsmith"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .expect("token");
    let (s, v) = body(r).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );

    // HTTP Basic works too.
    let r = t
        .http
        .post(t.url("/oauth2/default/token"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[
            ("grant_type", "password"),
            ("user_role", "users"),
            ("username", "drnomfa"),
            ("password", PASSWORD),
            ("scope", "openid"),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(r.status(), StatusCode::OK);

    let (s, v) = t
        .token(&[
            ("grant_type", "password"),
            ("user_role", "users"),
            ("username", "drsmith"),
        ])
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    let (s, v) = t
        .token(&[("grant_type", "password"), ("grant_type", "password")])
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    let (s, v) = t.token(&[("grant_type", "client_credentials")]).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unsupported_grant_type"))
    );
    let (s, v) = t
        .token(&[
            ("grant_type", "password"),
            ("user_role", "users"),
            ("username", "drnomfa"),
            ("password", PASSWORD),
            ("scope", "openid system/Patient.read"),
        ])
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_scope"))
    );

    // Password grant switched off, as in stock OpenEMR.
    t.ctl_post("/control/config", &json!({"password_grant_enabled": false}))
        .await;
    let (s, v) = t.password_grant("drnomfa", PASSWORD).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unsupported_grant_type"))
    );
}

#[tokio::test]
async fn mfa_challenge_then_otp_grant_issues_tokens() {
    let t = start().await;
    let (s, v) = t.password_grant("drsmith", PASSWORD).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(v["error"], "mfa_required");
    assert_eq!(
        v["error_description"],
        "Multifactor authentication required"
    );
    assert_eq!(v["mfa_enrolled"], true);
    let mfa = v["mfa_token"].as_str().expect("mfa_token").to_string();

    let (s, v) = t
        .token(&[
            ("grant_type", MFA_GRANT),
            ("mfa_token", &mfa),
            ("otp", "000000"),
        ])
        .await;
    assert_eq!(
        (s, v["error_description"].as_str()),
        (StatusCode::BAD_REQUEST, Some("Invalid otp code."))
    );
    let code = t.code("drsmith").await;
    let r = t
        .http
        .post(t.url("/oauth2/default/token"))
        .form(&[
            ("grant_type", MFA_GRANT),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("mfa_token", &mfa),
            ("otp", &code),
        ])
        .send()
        .await
        .expect("otp grant");
    assert_eq!(
        r.headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    let (s, v) = body(r).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 3600);
    assert!(
        v["refresh_token"].is_string()
            && v["id_token"].is_string()
            && v["access_token"].is_string()
    );
    let claims = rounds_sandbox::jwt::claims_unverified(v["id_token"].as_str().expect("id"))
        .expect("claims");
    assert!(
        claims["fhirUser"]
            .as_str()
            .expect("fhirUser")
            .starts_with("Practitioner/")
    );

    // mfa_token is single use.
    let (s, v) = t
        .token(&[
            ("grant_type", MFA_GRANT),
            ("mfa_token", &mfa),
            ("otp", &code),
        ])
        .await;
    assert_eq!(
        (s, v["error_description"].as_str()),
        (
            StatusCode::BAD_REQUEST,
            Some("mfa_token expired or invalid")
        )
    );
    // The same code cannot be replayed with a new mfa_token.
    let (_, v) = t.password_grant("drsmith", PASSWORD).await;
    let mfa2 = v["mfa_token"].as_str().expect("mfa_token").to_string();
    let (s, v) = t
        .token(&[
            ("grant_type", MFA_GRANT),
            ("mfa_token", &mfa2),
            ("otp", &code),
        ])
        .await;
    assert_eq!(
        (s, v["error_description"].as_str()),
        (StatusCode::BAD_REQUEST, Some("Invalid otp code."))
    );

    // userinfo with the access token.
    let at = t.access_token("drsmith").await;
    let (s, v) = t.get("/oauth2/default/userinfo", Some(&at)).await;
    assert_eq!(
        (s, v["preferred_username"].as_str()),
        (StatusCode::OK, Some("drsmith"))
    );
}

#[tokio::test]
async fn mfa_token_expires_after_300_seconds() {
    let t = start().await;
    let (_, v) = t.password_grant("drsmith", PASSWORD).await;
    let mfa = v["mfa_token"].as_str().expect("mfa_token").to_string();
    t.advance(301).await;
    let code = t.code("drsmith").await;
    let (s, v) = t
        .token(&[
            ("grant_type", MFA_GRANT),
            ("mfa_token", &mfa),
            ("otp", &code),
        ])
        .await;
    assert_eq!(
        (s, v["error_description"].as_str()),
        (
            StatusCode::BAD_REQUEST,
            Some("mfa_token expired or invalid")
        )
    );
}

#[tokio::test]
async fn five_wrong_codes_lock_the_account_and_say_so() {
    let t = start().await;
    let (_, v) = t.password_grant("drold", PASSWORD).await;
    let mfa = v["mfa_token"].as_str().expect("mfa_token").to_string();
    let good = t.code("drold").await;
    let bad = if good == "123456" { "654321" } else { "123456" };
    for _ in 0..4 {
        let (_, v) = t
            .token(&[("grant_type", MFA_GRANT), ("mfa_token", &mfa), ("otp", bad)])
            .await;
        assert_eq!(v["error_description"], "Invalid otp code.");
    }
    let (s, v) = t
        .token(&[("grant_type", MFA_GRANT), ("mfa_token", &mfa), ("otp", bad)])
        .await;
    assert_eq!(
        (s, v["error"].as_str(), v["reason"].as_str()),
        (
            StatusCode::BAD_REQUEST,
            Some("invalid_grant"),
            Some("account_locked")
        )
    );
    assert!(
        v["error_description"]
            .as_str()
            .expect("desc")
            .contains("locked"),
        "{v}"
    );
    // Even the right password is refused while locked.
    let (s, v) = t.password_grant("drold", PASSWORD).await;
    assert_eq!(
        (s, v["reason"].as_str()),
        (StatusCode::BAD_REQUEST, Some("account_locked"))
    );
    // Lock lasts "a while": 15 minutes later it is over.
    t.advance(16 * 60).await;
    assert!(t.login("drold").await["access_token"].is_string());
}

#[tokio::test]
async fn expired_password_is_refused_with_reason() {
    let t = start().await;
    let (s, v) = t.password_grant("drexpired", PASSWORD).await;
    assert_eq!(
        (s, v["error"].as_str(), v["reason"].as_str()),
        (
            StatusCode::BAD_REQUEST,
            Some("invalid_grant"),
            Some("password_expired")
        )
    );
    // In grace: still allowed.
    assert!(t.login("drgrace").await["access_token"].is_string());
}

#[tokio::test]
async fn refresh_tokens_rotate_and_die_after_use() {
    let t = start().await;
    let v = t.login("drnomfa").await;
    let rt1 = v["refresh_token"].as_str().expect("rt").to_string();
    let (s, v2) = t
        .token(&[("grant_type", "refresh_token"), ("refresh_token", &rt1)])
        .await;
    assert_eq!(s, StatusCode::OK, "{v2}");
    let rt2 = v2["refresh_token"].as_str().expect("rt2").to_string();
    assert_ne!(rt1, rt2);
    let (s, v) = t
        .token(&[("grant_type", "refresh_token"), ("refresh_token", &rt1)])
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    // Narrower scope allowed, wider refused.
    let (s, v) = t
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt2),
            ("scope", "offline_access api:fhir"),
        ])
        .await;
    assert_eq!(
        (s, v["scope"].as_str()),
        (StatusCode::OK, Some("offline_access api:fhir"))
    );
    let rt3 = v["refresh_token"].as_str().expect("rt3").to_string();
    let (s, v) = t
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt3),
            ("scope", "offline_access user/Location.read"),
        ])
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_scope"))
    );
    // No offline_access → no refresh token.
    let (s, v) = t
        .token(&[
            ("grant_type", "password"),
            ("user_role", "users"),
            ("username", "drnomfa"),
            ("password", PASSWORD),
            ("scope", "openid api:fhir"),
        ])
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(v.get("refresh_token").is_none());
}

#[tokio::test]
async fn enrollment_issues_secret_once_and_first_code_activates_it() {
    let t = start().await;
    let (s, v) = t.password_grant("drjones", PASSWORD).await;
    assert_eq!(
        (s, v["mfa_enrolled"].as_bool()),
        (StatusCode::FORBIDDEN, Some(false))
    );
    let mfa = v["mfa_token"].as_str().expect("mfa").to_string();
    // OTP grant before associate has nothing to check against.
    let (s, _) = t
        .token(&[
            ("grant_type", MFA_GRANT),
            ("mfa_token", &mfa),
            ("otp", "123456"),
        ])
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    let (s, v) = t
        .post_json(
            "/oauth2/default/mfa/associate",
            Some("not-a-token"),
            &json!({"authenticator_types": ["otp"]}),
        )
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_token"))
    );
    let (s, v) = t
        .post_json(
            "/oauth2/default/mfa/associate",
            Some(&mfa),
            &json!({"authenticator_types": ["otp"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["authenticator_type"], "otp");
    let secret_b32 = v["secret"].as_str().expect("secret").to_string();
    let secret = rounds_sandbox::util::base32_decode(&secret_b32).expect("base32");
    assert_eq!(secret.len(), 20, "160-bit secret");
    assert!(!secret_b32.contains('='));
    let uri = v["barcode_uri"].as_str().expect("uri");
    assert!(
        uri.starts_with("otpauth://totp/Sandbox%20Clinic:drjones?secret=")
            && uri.contains("&period=30"),
        "{uri}"
    );
    let (s, v) = t
        .post_json(
            "/oauth2/default/mfa/associate",
            Some(&mfa),
            &json!({"authenticator_types": ["otp"]}),
        )
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::CONFLICT, Some("already_enrolled"))
    );

    let now = time::OffsetDateTime::now_utc().unix_timestamp() + t.sb.state.clock.offset();
    let code = rounds_sandbox::totp::code_now(&secret, now);
    let (s, v) = t
        .token(&[
            ("grant_type", MFA_GRANT),
            ("mfa_token", &mfa),
            ("otp", &code),
        ])
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Now enrolled.
    let (s, v) = t.password_grant("drjones", PASSWORD).await;
    assert_eq!(
        (s, v["mfa_enrolled"].as_bool()),
        (StatusCode::FORBIDDEN, Some(true))
    );
    let mfa = v["mfa_token"].as_str().expect("mfa").to_string();
    let (s, v) = t
        .post_json(
            "/oauth2/default/mfa/associate",
            Some(&mfa),
            &json!({"authenticator_types": ["otp"]}),
        )
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::CONFLICT, Some("already_enrolled"))
    );
}

fn form_field(html: &str, name: &str) -> String {
    let key = format!("name=\"{name}\" value=\"");
    let i = html.find(&key).expect("field present") + key.len();
    html[i..].split('"').next().expect("value").to_string()
}

#[tokio::test]
async fn authorization_code_with_pkce_and_totp_login_page() {
    let t = start().await;
    let verifier = rounds_sandbox::util::b64url(&rounds_sandbox::util::random_bytes(32));
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    let challenge = rounds_sandbox::util::b64url(d.as_ref());
    let redirect = rounds_sandbox::seed::DEMO_REDIRECT_URI;
    let r = t
        .http
        .get(t.url("/oauth2/default/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", CLIENT_ID),
            ("redirect_uri", redirect),
            ("scope", "openid api:fhir user/Appointment.read"),
            ("state", "st4te"),
            ("aud", &format!("{}/apis/default/fhir", t.base)),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .expect("authorize");
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.expect("html");
    assert!(html.contains("id=\"username\"") && html.contains("id=\"password\""));
    let ar = form_field(&html, "auth_request");
    let login = t.url("/oauth2/default/provider/login");
    let html = t
        .http
        .post(&login)
        .form(&[
            ("auth_request", ar.as_str()),
            ("username", "drsmith"),
            ("password", "bad"),
        ])
        .send()
        .await
        .expect("login")
        .text()
        .await
        .expect("html");
    assert!(html.contains("id=\"error\""));
    let html = t
        .http
        .post(&login)
        .form(&[
            ("auth_request", ar.as_str()),
            ("username", "drsmith"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .expect("login")
        .text()
        .await
        .expect("html");
    assert!(
        html.contains("id=\"mfa_code\""),
        "TOTP asked after the password"
    );
    let code = t.code("drsmith").await;
    let html = t
        .http
        .post(&login)
        .form(&[("auth_request", ar.as_str()), ("mfa_code", code.as_str())])
        .send()
        .await
        .expect("otp")
        .text()
        .await
        .expect("html");
    assert!(html.contains("id=\"authorize\""), "consent page");
    let r = t
        .http
        .post(&login)
        .form(&[("auth_request", ar.as_str()), ("consent", "allow")])
        .send()
        .await
        .expect("consent");
    assert_eq!(r.status(), StatusCode::FOUND);
    let loc = reqwest::Url::parse(r.headers()["location"].to_str().expect("loc")).expect("url");
    assert!(loc.as_str().starts_with(redirect));
    let q: std::collections::HashMap<_, _> = loc.query_pairs().into_owned().collect();
    assert_eq!(q["state"], "st4te");
    // RFC 9207: the response names the issuer discovery gave.
    let (s, meta) = t
        .get("/oauth2/default/.well-known/openid-configuration", None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(meta["authorization_response_iss_parameter_supported"], true);
    assert_eq!(q["iss"], meta["issuer"].as_str().expect("issuer"));
    let (s, v) = t
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &q["code"]),
            ("redirect_uri", redirect),
            ("code_verifier", &verifier),
        ])
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["access_token"].is_string() && v["id_token"].is_string());
    // Codes are single use.
    let (s, v) = t
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &q["code"]),
            ("redirect_uri", redirect),
            ("code_verifier", &verifier),
        ])
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn authorization_code_rejects_wrong_verifier_and_unregistered_redirect() {
    let t = start().await;
    let r = t
        .http
        .get(t.url("/oauth2/default/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", CLIENT_ID),
            ("redirect_uri", "http://evil.example/cb"),
            ("scope", "openid"),
            ("state", "s"),
            ("code_challenge", "abc"),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .expect("authorize");
    assert_eq!(
        r.status(),
        StatusCode::BAD_REQUEST,
        "no redirect to an unregistered URI"
    );
    let redirect = rounds_sandbox::seed::DEMO_REDIRECT_URI;
    let challenge = rounds_sandbox::util::b64url(
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, b"right-verifier").as_ref(),
    );
    let html = t
        .http
        .get(t.url("/oauth2/default/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", CLIENT_ID),
            ("redirect_uri", redirect),
            ("scope", "openid"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .expect("authorize")
        .text()
        .await
        .expect("html");
    let ar = form_field(&html, "auth_request");
    let login = t.url("/oauth2/default/provider/login");
    // drnomfa has no TOTP: straight to consent.
    let html = t
        .http
        .post(&login)
        .form(&[
            ("auth_request", ar.as_str()),
            ("username", "drnomfa"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .expect("login")
        .text()
        .await
        .expect("html");
    assert!(html.contains("id=\"authorize\""));
    let r = t
        .http
        .post(&login)
        .form(&[("auth_request", ar.as_str()), ("consent", "allow")])
        .send()
        .await
        .expect("consent");
    let loc = reqwest::Url::parse(r.headers()["location"].to_str().expect("loc")).expect("url");
    let code = loc
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("code");
    let (s, v) = t
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", redirect),
            ("code_verifier", "wrong-verifier"),
        ])
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
}
