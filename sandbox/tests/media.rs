//! Jitsi stand-in media plumbing over real loopback TLS: meeting links, the signalling relay,
//! media stats in the room summary, the E2EE flag, participant presence (lobby knock / admit /
//! deny). The browser side is checked by hand (`scripts/media-check.sh`).

mod common;

use common::{T, body, start};
use reqwest::StatusCode;
use serde_json::{Value, json};

const ROOM: &str = "appt-mediatest";

async fn post(t: &T, path: &str, v: &Value) -> (StatusCode, Value) {
    t.post_json(&format!("/_sandbox/jitsi/{ROOM}/{path}"), None, v)
        .await
}

async fn signals(t: &T, peer: &str, since: u64, wait: u64) -> Value {
    t.get(
        &format!("/_sandbox/jitsi/{ROOM}/signal?peer={peer}&since={since}&wait_ms={wait}"),
        None,
    )
    .await
    .1
}

#[tokio::test]
async fn patient_link_mints_a_member_token_for_that_room_only() {
    let t = start().await;
    let (s, v) = t
        .ctl_post(
            &format!("/control/jitsi/rooms/{ROOM}/patient-link"),
            &json!({"name": "Pat Patient"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let id = v["id"].as_str().expect("id");
    let url = v["url"].as_str().expect("url");
    let domain = t.base.trim_start_matches("https://");
    assert!(
        url.starts_with(&format!("https://{domain}/{ROOM}?jwt=")),
        "{url}"
    );
    let jwt = url
        .split("jwt=")
        .nth(1)
        .expect("jwt")
        .split('#')
        .next()
        .expect("jwt");
    let c = rounds_sandbox::jwt::verify_hs256(jwt, &t.sb.state.keys.jitsi_secret).expect("sig");
    assert_eq!(c["room"], ROOM);
    assert_eq!(c["moderator"], false);
    assert_eq!(c["aud"], "jitsi");
    assert_eq!(c["context"]["user"]["affiliation"], "member");
    assert_eq!(c["context"]["user"]["name"], "Pat Patient");
    assert_eq!(c["context"]["user"]["id"], id);
    // The page accepts it for this room, with the participant's id as its own.
    let html = t
        .http
        .get(url)
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(html.contains("\"error\":null") && html.contains("\"moderator\":false"));
    assert!(html.contains(&format!("\"localId\":\"{id}\"")));
    // ... and not for another room.
    let other = t
        .http
        .get(t.url(&format!("/appt-other?jwt={jwt}")))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(other.contains("token is for another room"));
    let (s, v) = t
        .post_json(
            "/_sandbox/jitsi/appt-other/presence",
            None,
            &json!({"jwt": jwt, "action": "enter"}),
        )
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("not_allowed"))
    );
    // The host link is a moderator (owner) token.
    let (_, h) = t
        .ctl_post(
            &format!("/control/jitsi/rooms/{ROOM}/host-link"),
            &json!({}),
        )
        .await;
    let c = rounds_sandbox::jwt::verify_hs256(
        h["jwt"].as_str().expect("jwt"),
        &t.sb.state.keys.jitsi_secret,
    )
    .expect("sig");
    assert_eq!(
        (
            c["moderator"].clone(),
            c["context"]["user"]["affiliation"].clone()
        ),
        (json!(true), json!("owner"))
    );
}

#[tokio::test]
async fn signal_relay_is_ordered_addressed_and_long_polls() {
    let t = start().await;
    let waiting = {
        let http = t.http.clone();
        let url = t.url(&format!(
            "/_sandbox/jitsi/{ROOM}/signal?peer=b&since=0&wait_ms=5000"
        ));
        tokio::spawn(async move { body(http.get(url).send().await.expect("poll")).await.1 })
    };
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    // Not for b: the poll keeps waiting.
    post(
        &t,
        "signal",
        &json!({"from": "a", "to": "c", "kind": "offer", "data": {"n": 0}}),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(!waiting.is_finished(), "a signal for c must not wake b");
    let t0 = std::time::Instant::now();
    for n in 1..=3 {
        let (s, _) = post(
            &t,
            "signal",
            &json!({"from": "a", "to": "b", "kind": "ice", "data": {"n": n}}),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
    }
    let early = waiting.await.expect("poll");
    assert!(t0.elapsed().as_millis() < 2000, "long-poll woke");
    assert_eq!(early["signals"][0]["data"]["n"], 1);
    let all = signals(&t, "b", 0, 0).await;
    let ns: Vec<i64> = all["signals"]
        .as_array()
        .expect("signals")
        .iter()
        .map(|s| s["data"]["n"].as_i64().unwrap_or(-1))
        .collect();
    assert_eq!(ns, [1, 2, 3], "in order, b's only: {all}");
    assert_eq!(all["signals"][0]["from"], "a");
    // Broadcasts reach everyone but the sender; `next` pages on.
    post(
        &t,
        "signal",
        &json!({"from": "b", "to": "*", "kind": "hello", "data": {}}),
    )
    .await;
    let next = all["next"].as_u64().expect("next");
    assert_eq!(signals(&t, "b", next - 1, 0).await["signals"], json!([]));
    assert_eq!(
        signals(&t, "a", next - 1, 0).await["signals"][0]["kind"],
        "hello"
    );
    // Bad requests.
    let (s, _) = post(
        &t,
        "signal",
        &json!({"from": "a", "to": "b", "kind": "nonsense"}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = post(
        &t,
        "signal",
        &json!({"from": "sandbox", "to": "b", "kind": "offer"}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn media_stats_and_e2ee_flag_show_in_the_summary() {
    let t = start().await;
    let stats = json!({"id": "p1", "moderator": false, "state": "connected", "iceState": "connected",
        "framesDecoded": 42, "framesReceived": 43, "totalSamplesReceived": 48000, "framesEncoded": 40,
        "e2ee": {"supported": true, "on": false, "encrypted": 0, "decrypted": 0, "failures": 0},
        "t": {"pageLoad": 1, "joined": 2, "admitted": 3, "iceConnected": 4, "firstFrame": 5}});
    let (s, _) = post(&t, "media", &stats).await;
    assert_eq!(s, StatusCode::OK);
    let sum = t.ctl_get(&format!("/control/jitsi/rooms/{ROOM}")).await;
    assert_eq!(sum["media"]["p1"]["framesDecoded"], 42);
    assert_eq!(sum["media"]["p1"]["t"]["firstFrame"], 5);
    assert!(
        sum["media"]["p1"]["received_at_ms"]
            .as_u64()
            .expect("received_at_ms")
            > 1_700_000_000_000
    );
    assert_eq!(sum["e2ee"], false);
    let (s, _) = post(&t, "media", &json!({"state": "x"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "id required");

    // A page's e2ee long-poll answers at once when the flag changes.
    let waiting = {
        let http = t.http.clone();
        let url = t.url(&format!(
            "/_sandbox/jitsi/{ROOM}/signal?peer=p1&since=0&wait_ms=5000&e2ee=0"
        ));
        tokio::spawn(async move { body(http.get(url).send().await.expect("poll")).await.1 })
    };
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    let (s, _) = post(
        &t,
        "commands",
        &json!({"name": "toggleE2EE", "args": [true]}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let woke = tokio::time::timeout(std::time::Duration::from_secs(2), waiting)
        .await
        .expect("woke at once")
        .expect("poll");
    assert_eq!(woke["e2ee"], true);
    let sum = t.ctl_get(&format!("/control/jitsi/rooms/{ROOM}")).await;
    assert_eq!(sum["e2ee"], true);
    assert_eq!(
        sum["commands"][0],
        json!({"name": "toggleE2EE", "args": [true]})
    );
    post(
        &t,
        "commands",
        &json!({"name": "toggleE2EE", "args": [false]}),
    )
    .await;
    assert_eq!(
        t.ctl_get(&format!("/control/jitsi/rooms/{ROOM}")).await["e2ee"],
        false
    );
}

#[tokio::test]
async fn patient_presence_knocks_in_the_lobby_and_learns_a_denial() {
    let t = start().await;
    let link = |name: &'static str| {
        let t = &t;
        async move {
            t.ctl_post(
                &format!("/control/jitsi/rooms/{ROOM}/patient-link"),
                &json!({"name": name}),
            )
            .await
            .1
        }
    };
    let (a, b) = (link("Ann").await, link("Bob").await);
    let enter = |v: &Value| json!({"jwt": v["jwt"], "action": "enter"});
    // Lobby off: straight in.
    let (_, v) = post(&t, "presence", &enter(&a)).await;
    assert_eq!(
        (v["state"].as_str(), v["id"].clone()),
        (Some("joined"), a["id"].clone())
    );
    // Lobby on: knock with the same id the page uses; admit → participantJoined.
    post(
        &t,
        "commands",
        &json!({"name": "toggleLobby", "args": [true]}),
    )
    .await;
    let (_, v) = post(&t, "presence", &enter(&b)).await;
    assert_eq!(v["state"], "knocking");
    let feed = t
        .get(
            &format!("/_sandbox/jitsi/{ROOM}/events?since=0&wait_ms=0"),
            None,
        )
        .await
        .1;
    let ev = &feed["events"];
    assert_eq!(ev[0]["data"], json!({"id": a["id"], "displayName": "Ann"}));
    assert_eq!(
        ev[1]["data"],
        json!({"participant": {"id": b["id"], "name": "Bob"}})
    );
    post(
        &t,
        "commands",
        &json!({"name": "answerKnockingParticipant", "args": [b["id"], false]}),
    )
    .await;
    let s = signals(&t, b["id"].as_str().expect("id"), 0, 0).await;
    assert_eq!(
        (
            s["signals"][0]["kind"].as_str(),
            s["signals"][0]["from"].as_str()
        ),
        (Some("denied"), Some("sandbox"))
    );
    let (_, v) = post(&t, "presence", &json!({"jwt": a["jwt"], "action": "leave"})).await;
    assert_eq!(v["state"], "left");
    let sum = t.ctl_get(&format!("/control/jitsi/rooms/{ROOM}")).await;
    assert_eq!(sum["participants"], json!([]));
    assert_eq!(
        sum["joined"], false,
        "only a moderator's page marks the room joined"
    );
    // Scripts the page loads are served from the sandbox origin.
    for p in ["/_sandbox/jitsi/media.js", "/_sandbox/jitsi/e2ee-worker.js"] {
        let r = t.http.get(t.url(p)).send().await.expect("js");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .expect("ct")
                .starts_with("application/javascript")
        );
    }
}
