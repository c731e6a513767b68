//! §2.2–2.3 password status/change, §4.1–4.2 telehealth join + Jitsi JWT, and the Jitsi
//! stand-in endpoints (external_api.js, meeting page, event feed driven by the control API).

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

const C: &str = "/apis/default/clinic";

#[tokio::test]
async fn password_status_reports_policy_age_and_state() {
    let t = start().await;
    let (s, v) = t.get(&format!("{C}/password/status"), None).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_token"))
    );
    for (user, state) in [
        ("drsmith", "ok"),
        ("drold", "expiring"),
        ("drgrace", "grace"),
    ] {
        let at = t.access_token(user).await;
        let (s, v) = t.get(&format!("{C}/password/status"), Some(&at)).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["state"], state, "{user}");
        assert_eq!(
            v["policy"],
            json!({"min_length": 9, "max_length": 72, "require_strong": true, "history_count": 5,
                                       "expiration_days": 180, "grace_days": 30, "max_failed_logins": 20})
        );
        assert_eq!(v["mfa_enrolled"], true);
        let last =
            rounds_sandbox::util::parse_instant(v["last_changed_at"].as_str().expect("last"))
                .expect("t");
        let exp =
            rounds_sandbox::util::parse_instant(v["expires_at"].as_str().expect("exp")).expect("t");
        let grace =
            rounds_sandbox::util::parse_instant(v["grace_ends_at"].as_str().expect("grace"))
                .expect("t");
        assert_eq!(exp - last, time::Duration::days(180));
        assert_eq!(grace - exp, time::Duration::days(30));
    }
}

#[tokio::test]
async fn password_change_checks_in_spec_order_and_revokes_tokens() {
    let t = start().await;
    let login = t.login("drsmith").await;
    let at = login["access_token"].as_str().expect("at").to_string();
    let rt = login["refresh_token"].as_str().expect("rt").to_string();
    let change = |v: Value| {
        let (t, at) = (&t, at.clone());
        async move {
            t.post_json(&format!("{C}/password/change"), Some(&at), &v)
                .await
        }
    };
    let (s, v) = change(json!({"current_password": PASSWORD})).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    let (s, v) = change(json!({"current_password": "nope", "new_password": "x", "otp": "1"})).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("invalid_current_password"))
    );
    let (s, v) = change(json!({"current_password": PASSWORD, "new_password": "x"})).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("otp_required"))
    );
    let (s, v) =
        change(json!({"current_password": PASSWORD, "new_password": "x", "otp": "000000"})).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("invalid_otp"))
    );
    t.advance(30).await;
    let (s, v) = change(json!({"current_password": PASSWORD, "new_password": "short", "otp": t.code("drsmith").await})).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("password_too_weak"))
    );
    assert_eq!(v["violations"], json!(["min_length", "strength"]));
    t.advance(30).await;
    let (s, v) = change(json!({"current_password": PASSWORD, "new_password": PASSWORD, "otp": t.code("drsmith").await})).await;
    assert_eq!(
        (s, v["error"].as_str(), v["history_count"].as_u64()),
        (StatusCode::BAD_REQUEST, Some("password_reused"), Some(5))
    );
    t.advance(30).await;
    let new = "Brand-New-Passw0rd!";
    let (s, v) = change(
        json!({"current_password": PASSWORD, "new_password": new, "otp": t.code("drsmith").await}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["last_changed_at"].is_string() && v["expires_at"].is_string());
    // Tokens revoked; old password dead; new one works.
    let (s, _) = t.get(&format!("{C}/password/status"), Some(&at)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, v) = t
        .token(&[("grant_type", "refresh_token"), ("refresh_token", &rt)])
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let (s, _) = t.password_grant("drsmith", PASSWORD).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, v) = t.password_grant("drsmith", new).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("mfa_required"))
    );
}

async fn smith_video_now(t: &T, at: &str) -> String {
    let (_, v) = t
        .get("/apis/default/fhir/Appointment?_count=200", Some(at))
        .await;
    v["entry"]
        .as_array()
        .expect("entry")
        .iter()
        .find(|e| e["resource"]["comment"] == "Video follow-up (joinable now)")
        .expect("joinable video visit")["resource"]["id"]
        .as_str()
        .expect("id")
        .to_string()
}

#[tokio::test]
async fn telehealth_join_mints_a_room_and_hs256_jwt() {
    let t = start().await;
    let at = t.access_token("drsmith").await;
    let id = smith_video_now(&t, &at).await;
    let (s, v) = t
        .post_json(&format!("{C}/telehealth/{id}/join"), Some(&at), &json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["domain"], json!(t.base.trim_start_matches("https://")));
    assert_eq!(v["moderator"], true);
    let room = v["room"].as_str().expect("room");
    assert!(
        room.starts_with("appt-")
            && room
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    );
    assert!(!room.contains(&id), "no appointment id in the room name");
    let jwt = v["jwt"].as_str().expect("jwt");
    let header: Value = serde_json::from_slice(
        &rounds_sandbox::util::b64url_decode(jwt.split('.').next().expect("h")).expect("b64"),
    )
    .expect("json");
    assert_eq!(header, json!({"alg": "HS256", "typ": "JWT"}));
    let c =
        rounds_sandbox::jwt::verify_hs256(jwt, &t.sb.state.keys.jitsi_secret).expect("signature");
    assert_eq!(c["room"], json!(room));
    assert_eq!(c["aud"], "jitsi");
    assert_eq!(c["sub"], v["domain"]);
    assert_eq!(c["moderator"], true);
    assert_eq!(c["context"]["user"]["affiliation"], "owner");
    for (k, val) in c["context"]["user"].as_object().expect("user") {
        assert!(val.is_string(), "context.user.{k} must be a string");
    }
    let exp =
        rounds_sandbox::util::parse_instant(v["expires_at"].as_str().expect("exp")).expect("t");
    assert_eq!(c["exp"].as_i64(), Some(exp.unix_timestamp()));
    // Same appointment → same room.
    let (_, v2) = t
        .post_json(&format!("{C}/telehealth/{id}/join"), Some(&at), &json!({}))
        .await;
    assert_eq!(v2["room"], v["room"]);
}

#[tokio::test]
async fn telehealth_join_errors() {
    let t = start().await;
    let at = t.access_token("drsmith").await;
    let (s, v) = t
        .post_json(&format!("{C}/telehealth/nope/join"), None, &json!({}))
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_token"))
    );
    let (s, v) = t
        .post_json(&format!("{C}/telehealth/nope/join"), Some(&at), &json!({}))
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (_, all) = t
        .get("/apis/default/fhir/Appointment?_count=200", Some(&at))
        .await;
    let entries = all["entry"].as_array().expect("entry");
    let jones = entries
        .iter()
        .find(|e| {
            e["resource"]["participant"][1]["actor"]["reference"]
                .as_str()
                .is_some_and(|r| r.starts_with("Person/"))
        })
        .expect("jones visit");
    let (s, v) = t
        .post_json(
            &format!(
                "{C}/telehealth/{}/join",
                jones["resource"]["id"].as_str().expect("id")
            ),
            Some(&at),
            &json!({}),
        )
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("not_a_participant"))
    );
    let smith_ref = t.ctl_get("/control/users").await["users"]
        .as_array()
        .expect("users")
        .iter()
        .find(|u| u["username"] == "drsmith")
        .expect("smith")["fhir_ref"]
        .clone();
    let cancelled = entries
        .iter()
        .find(|e| {
            e["resource"]["status"] == "cancelled"
                && e["resource"]["participant"][1]["actor"]["reference"] == smith_ref
        })
        .expect("cancelled");
    let (s, v) = t
        .post_json(
            &format!(
                "{C}/telehealth/{}/join",
                cancelled["resource"]["id"].as_str().expect("id")
            ),
            Some(&at),
            &json!({}),
        )
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::CONFLICT, Some("appointment_not_active"))
    );
    let id = smith_video_now(&t, &at).await;
    t.advance(-1800).await;
    let (s, v) = t
        .post_json(&format!("{C}/telehealth/{id}/join"), Some(&at), &json!({}))
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::CONFLICT, Some("outside_join_window"))
    );
    assert!(v["opens_at"].is_string() && v["closes_at"].is_string());
}

#[tokio::test]
async fn jitsi_stand_in_serves_api_page_and_relays_control_events() {
    let t = start().await;
    let r = t
        .http
        .get(t.url("/external_api.js"))
        .send()
        .await
        .expect("js");
    assert!(
        r.headers()["content-type"]
            .to_str()
            .expect("ct")
            .starts_with("application/javascript")
    );
    let js = r.text().await.expect("js");
    for needle in [
        "JitsiMeetExternalAPI",
        "executeCommand",
        "addListener",
        "dispose",
        "getRoomsInfo",
        "postMessage",
    ] {
        assert!(js.contains(needle), "{needle}");
    }
    let at = t.access_token("drsmith").await;
    let id = smith_video_now(&t, &at).await;
    let (_, j) = t
        .post_json(&format!("{C}/telehealth/{id}/join"), Some(&at), &json!({}))
        .await;
    let room = j["room"].as_str().expect("room").to_string();
    let html = t
        .http
        .get(t.url(&format!("/{room}")))
        .query(&[("jwt", j["jwt"].as_str().expect("jwt"))])
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(
        html.contains("\"error\":null") && html.contains("\"moderator\":true"),
        "valid token accepted"
    );
    let bad = t
        .http
        .get(t.url(&format!("/{room}")))
        .query(&[("jwt", "x.y.z")])
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(bad.contains("notAllowed"), "invalid token reported");

    // Control API: a lobby knock and a join appear in the room's event feed.
    let feed = t.url(&format!("/_sandbox/jitsi/{room}/events?since=0&wait_ms=0"));
    let waiting = {
        let http = t.http.clone();
        let url = t.url(&format!(
            "/_sandbox/jitsi/{room}/events?since=0&wait_ms=5000"
        ));
        tokio::spawn(async move { body(http.get(url).send().await.expect("poll")).await.1 })
    };
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let (s, _) = t
        .ctl_post(
            &format!("/control/jitsi/rooms/{room}/knock"),
            &json!({"id": "p1", "name": "Amelia Abernathy"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let early = waiting.await.expect("join");
    assert_eq!(
        early["events"][0]["name"], "knockingParticipant",
        "long-poll woke up: {early}"
    );
    assert_eq!(
        early["events"][0]["data"]["participant"],
        json!({"id": "p1", "name": "Amelia Abernathy"})
    );
    // The app admits the knocker (executeCommand forwarded by the meeting page).
    let r = t
        .http
        .post(t.url(&format!("/_sandbox/jitsi/{room}/commands")))
        .json(&json!({"name": "answerKnockingParticipant", "args": ["p1", true]}))
        .send()
        .await
        .expect("cmd");
    assert_eq!(r.status(), StatusCode::OK);
    t.ctl_post(
        &format!("/control/jitsi/rooms/{room}/leave"),
        &json!({"id": "p1"}),
    )
    .await;
    t.ctl_post(&format!("/control/jitsi/rooms/{room}/end"), &json!({}))
        .await;
    let (_, v) = body(t.http.get(&feed).send().await.expect("feed")).await;
    let names: Vec<&str> = v["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "knockingParticipant",
            "participantJoined",
            "participantLeft",
            "videoConferenceLeft",
            "readyToClose"
        ]
    );
    let summary = t.ctl_get(&format!("/control/jitsi/rooms/{room}")).await;
    assert_eq!(summary["joined"], true);
    assert_eq!(summary["ended"], true);
    assert_eq!(summary["commands"][0]["name"], "answerKnockingParticipant");
}
