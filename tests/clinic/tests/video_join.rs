//! The telehealth join (clinic-api §4.1) against the sandbox over real loopback TLS: what the
//! clinician is told in each case, that a hostile answer never becomes a ticket, and that the
//! token, the room and people's names never reach the audit log.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use rounds_clinic_tests::{TokenEndpoint, control, hospital, temp_dir};
use rounds_core::audit::{AuditLog, MemoryAuditKeys, Rotation};
use rounds_core::auth::AuthError;
use rounds_core::net::{NetClient, Url};
use rounds_core::schedule::{BoxFuture, TokenSource};
use rounds_core::secret::Secret;
use rounds_core::video::{self, HostCommand, JoinTicket, VideoError, VisitEvent, VisitState};
use rounds_sandbox::{Options, Sandbox, Seed, util::uuid_from};
use serde_json::{Value, json};

/// drsmith's demo video visit, starting in 5 minutes (seed.rs `demo:now:0`).
fn smith_visit() -> String {
    uuid_from("demo:now:0")
}

/// drjones's demo video visit (drsmith is not a participant).
fn jones_visit() -> String {
    uuid_from("demo:now:1")
}

async fn clinic() -> Sandbox {
    let mut o = Options::new(temp_dir("video-sandbox"));
    o.seed = Seed::Demo;
    let sb = rounds_sandbox::start(o).await.expect("sandbox starts");
    // Stock-OpenEMR mode: the password grant issues tokens without the MFA step, so the test
    // can sign drsmith (enrolled in MFA) in with one request.
    control(
        &sb,
        "POST",
        "/control/config",
        json!({"mfa_grant_enabled": false}),
    )
    .await;
    sb
}

struct Tokens {
    endpoint: TokenEndpoint,
    user: &'static str,
    current: std::sync::Mutex<String>,
    renew_revoked: bool,
    renewals: AtomicU32,
}

impl Tokens {
    async fn signed_in(sb: &Sandbox, user: &'static str) -> Arc<Self> {
        Arc::new(Self {
            current: std::sync::Mutex::new(
                TokenEndpoint::of(sb).token_for(user).await.expect("token"),
            ),
            ..Self::blank(sb, user, false)
        })
    }

    fn revoked(sb: &Sandbox) -> Arc<Self> {
        Arc::new(Self::blank(sb, "drsmith", true))
    }

    fn blank(sb: &Sandbox, user: &'static str, renew_revoked: bool) -> Self {
        Self {
            endpoint: TokenEndpoint::of(sb),
            user,
            current: std::sync::Mutex::new("revoked-token-0".into()),
            renew_revoked,
            renewals: AtomicU32::new(0),
        }
    }
}

impl TokenSource for Tokens {
    fn token(&self) -> BoxFuture<'_, Result<Secret, AuthError>> {
        Box::pin(async move {
            let t = self
                .current
                .lock()
                .map_err(|_| AuthError::SessionExpired)?
                .clone();
            Ok(Secret::new(t))
        })
    }

    fn renew(&self) -> BoxFuture<'_, Result<Secret, AuthError>> {
        Box::pin(async move {
            let n = self.renewals.fetch_add(1, Ordering::SeqCst) + 1;
            let t = if self.renew_revoked {
                format!("revoked-token-{n}")
            } else {
                self.endpoint
                    .token_for(self.user)
                    .await
                    .map_err(|_| AuthError::SessionExpired)?
            };
            *self.current.lock().map_err(|_| AuthError::SessionExpired)? = t.clone();
            Ok(Secret::new(t))
        })
    }
}

fn net(sb: &Sandbox) -> NetClient {
    NetClient::new(&hospital(&sb.ready.ca_pem)).expect("net client")
}

fn server(sb: &Sandbox) -> Url {
    Url::parse(&sb.ready.base_url).expect("url")
}

async fn join_as(sb: &Sandbox, tokens: &Tokens, id: &str) -> Result<JoinTicket, VideoError> {
    video::join(&net(sb), tokens, &server(sb), &sb.ready.site, id).await
}

fn join_requests(sb: &Sandbox) -> usize {
    sb.state
        .requests
        .lock()
        .expect("requests")
        .iter()
        .filter(|r| r.path.contains("/clinic/telehealth/"))
        .count()
}

fn start_of(sb: &Sandbox, id: &str) -> (i64, i64) {
    let store = sb.state.store.read().expect("store");
    let a = store.get(id).expect("appointment");
    let start = a.start.expect("start").unix_timestamp();
    let end = a.end.expect("end").unix_timestamp();
    (start, end)
}

#[tokio::test(flavor = "multi_thread")]
async fn drsmith_joins_his_visit() {
    let sb = clinic().await;
    let tokens = Tokens::signed_in(&sb, "drsmith").await;
    let id = smith_visit();
    let t = join_as(&sb, &tokens, &id).await.expect("ticket");

    let base = server(&sb);
    let host_port = format!(
        "{}:{}",
        base.host_str().expect("host"),
        base.port().expect("port")
    );
    assert_eq!(t.domain(), host_port);
    assert_eq!(
        t.meeting_origin().as_str(),
        format!("{}/", sb.ready.base_url)
    );
    assert_eq!(
        t.external_api_url().as_str(),
        format!("{}/external_api.js", sb.ready.base_url)
    );
    assert!(t.moderator());
    assert_eq!(t.appointment_id(), id);
    let room = control(
        &sb,
        "GET",
        &format!("/control/jitsi/appointment/{id}"),
        json!({}),
    )
    .await;
    assert_eq!(room["room"].as_str(), Some(t.room()));
    assert!(t.room().starts_with("appt-"));
    let (_, end) = start_of(&sb, &id);
    assert_eq!(t.expires_at(), end + 30 * 60);
    assert!(
        t.jwt()
            .expect("a ticket from the telehealth service has a JWT")
            .expose()
            .split('.')
            .count()
            == 3
    );

    let shown = format!("{t:?} {t:#?}");
    assert!(
        !shown.contains(
            t.jwt()
                .expect("a ticket from the telehealth service has a JWT")
                .expose()
        ),
        "{shown}"
    );
    assert!(!shown.contains(t.room()), "{shown}");
    assert_eq!(tokens.renewals.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn another_clinicians_visit_is_refused() {
    let sb = clinic().await;
    let tokens = Tokens::signed_in(&sb, "drsmith").await;
    let e = join_as(&sb, &tokens, &jones_visit())
        .await
        .expect_err("not his");
    assert!(matches!(e, VideoError::NotAParticipant), "{e:?}");
    assert_eq!(e.to_string(), "you are not a participant of this visit");
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_and_malformed_appointments() {
    let sb = clinic().await;
    let tokens = Tokens::signed_in(&sb, "drsmith").await;
    let e = join_as(&sb, &tokens, "00000000-0000-4000-8000-000000000000")
        .await
        .expect_err("unknown");
    assert!(matches!(e, VideoError::NotFound), "{e:?}");
    let before = join_requests(&sb);
    for bad in ["../../oauth2/default/token", "a b", "x?y=1", ""] {
        let e = join_as(&sb, &tokens, bad).await.expect_err("bad id");
        assert!(matches!(e, VideoError::BadAppointmentId), "{bad}: {e:?}");
    }
    assert_eq!(join_requests(&sb), before, "nothing sent for a bad id");
}

#[tokio::test(flavor = "multi_thread")]
async fn too_early_says_when_it_opens() {
    let sb = clinic().await;
    let tokens = Tokens::signed_in(&sb, "drsmith").await;
    let id = smith_visit();
    let (start, end) = start_of(&sb, &id);
    // An hour earlier by the clinic's clock: the window (start − 15 min) is not open yet.
    control(
        &sb,
        "POST",
        "/control/time",
        json!({"offset_seconds": -3600}),
    )
    .await;
    let e = join_as(&sb, &tokens, &id).await.expect_err("too early");
    match e {
        VideoError::OutsideWindow {
            opens_at,
            closes_at,
        } => {
            assert_eq!(opens_at, Some(start - 15 * 60));
            assert_eq!(closes_at, Some(end + 30 * 60));
        }
        other => panic!("{other:?}"),
    }
    // And a day later it is over.
    control(
        &sb,
        "POST",
        "/control/time",
        json!({"offset_seconds": 86_400}),
    )
    .await;
    let e = join_as(&sb, &tokens, &id).await.expect_err("too late");
    assert!(matches!(e, VideoError::OutsideWindow { .. }), "{e:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cancelled_visit_is_not_active() {
    let sb = clinic().await;
    let tokens = Tokens::signed_in(&sb, "drsmith").await;
    let id = smith_visit();
    control(
        &sb,
        "POST",
        &format!("/control/appointments/{id}/status"),
        json!({"status": "cancelled"}),
    )
    .await;
    let e = join_as(&sb, &tokens, &id).await.expect_err("cancelled");
    assert!(matches!(e, VideoError::NotActive), "{e:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_token_is_renewed_once() {
    let sb = clinic().await;
    let tokens = Tokens::signed_in(&sb, "drsmith").await;
    control(
        &sb,
        "POST",
        "/control/tokens/expire",
        json!({"username": "drsmith"}),
    )
    .await;
    let t = join_as(&sb, &tokens, &smith_visit())
        .await
        .expect("ticket after renewing");
    assert!(t.moderator());
    assert_eq!(tokens.renewals.load(Ordering::SeqCst), 1);
    assert_eq!(join_requests(&sb), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_401_means_sign_in_again() {
    let sb = clinic().await;
    let tokens = Tokens::revoked(&sb);
    let e = join_as(&sb, &tokens, &smith_visit())
        .await
        .expect_err("refused twice");
    assert!(matches!(e, VideoError::SignInAgain), "{e:?}");
    assert_eq!(
        tokens.renewals.load(Ordering::SeqCst),
        1,
        "renewed once only"
    );
    assert_eq!(join_requests(&sb), 2, "one retry, no more");
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_answers_never_become_a_ticket() {
    let sb = clinic().await;
    let tokens = Tokens::signed_in(&sb, "drsmith").await;
    let id = smith_visit();
    let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJyb29tIjoiKiJ9.planted-jwt-value";
    let good = json!({"domain": "meet.example.org", "room": "appt-ok", "jwt": jwt,
                      "expires_at": "2030-01-01T00:00:00Z", "moderator": true});
    let cases: Vec<(Value, &str)> = vec![
        (json!({"domain": "https://evil.example/x"}), "domain"),
        (json!({"domain": "evil.example/external_api.js?"}), "domain"),
        (json!({"domain": "user@evil.example"}), "domain"),
        (json!({"room": "../../evil"}), "room"),
        (json!({"room": "Visit with Jane Doe"}), "room"),
        (json!({"jwt": ""}), "jwt"),
        (
            json!({"jwt": "a.b.c&config.prejoinPageEnabled=false"}),
            "jwt",
        ),
        (json!({"jwt": "x".repeat(9 * 1024)}), "jwt"),
        (json!({"expires_at": "next week"}), "expires_at"),
        (json!({"moderator": "yes"}), "moderator"),
    ];
    for (patch, field) in cases {
        let mut body = good.clone();
        for (k, v) in patch.as_object().expect("obj") {
            body[k] = v.clone();
        }
        control(
            &sb,
            "POST",
            "/control/faults",
            json!({"kind": "body", "path": "/apis/default/clinic/telehealth/", "status": 200,
                   "content_type": "application/json", "body": body.to_string(), "times": 1}),
        )
        .await;
        let e = join_as(&sb, &tokens, &id).await.expect_err("hostile");
        match &e {
            VideoError::BadAnswer { what } => assert_eq!(*what, field, "{body}"),
            other => panic!("{field}: {other:?}"),
        }
        let told = format!("{e} {e:?}");
        assert!(
            !told.contains("planted") && !told.contains("evil"),
            "{told}"
        );
    }
    // Not JSON at all, and a body far too large.
    for (ct, body) in [
        ("text/html", "<html>login</html>".to_string()),
        ("application/json", "[]".into()),
    ] {
        control(
            &sb,
            "POST",
            "/control/faults",
            json!({"kind": "body", "path": "/apis/default/clinic/telehealth/", "status": 200,
                   "content_type": ct, "body": body, "times": 1}),
        )
        .await;
        let e = join_as(&sb, &tokens, &id).await.expect_err("not a ticket");
        assert!(matches!(e, VideoError::BadAnswer { .. }), "{e:?}");
    }
    control(
        &sb,
        "POST",
        "/control/faults",
        json!({"kind": "hostile_json", "variant": "huge_string", "status": 200,
               "path": "/apis/default/clinic/telehealth/", "times": 1}),
    )
    .await;
    let e = join_as(&sb, &tokens, &id).await.expect_err("too large");
    assert!(matches!(e, VideoError::Net(_)), "{e:?}");
    // The real answer still works afterwards.
    join_as(&sb, &tokens, &id).await.expect("ticket");
}

/// The chained log with its key in memory: these tests must not touch a real keychain.
fn audit_log(dir: &std::path::Path) -> AuditLog {
    AuditLog::with_keys(
        dir,
        Arc::new(MemoryAuditKeys::default()),
        Rotation::default(),
    )
    .expect("audit log")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_audit_log_keeps_no_token_room_or_name() {
    let sb = clinic().await;
    let tokens = Tokens::signed_in(&sb, "drsmith").await;
    let id = smith_visit();
    let dir = temp_dir("video-audit");
    let log = audit_log(&dir);
    let now = 1_795_530_000;

    let refused = join_as(&sb, &tokens, &jones_visit())
        .await
        .expect_err("not his");
    log.append(&refused.audit_entry(&jones_visit(), now))
        .expect("append");
    let t = join_as(&sb, &tokens, &id).await.expect("ticket");
    log.append(&t.audit_entry(now)).expect("append");
    let jwt = t
        .jwt()
        .expect("a ticket from the telehealth service has a JWT")
        .expose()
        .to_string();
    let room = t.room().to_string();

    let mut visit = VisitState::for_ticket(&t);
    // The view forwards what the meeting says, including the room, names and (in a careless
    // error message) the token.
    let events = [
        json!({"event": "videoConferenceJoined",
               "data": {"roomName": room, "id": "local1", "displayName": "Dr. Alex Smith",
                        "avatarURL": format!("https://x/?jwt={jwt}")}}),
        json!({"event": "participantRoleChanged", "data": {"id": "local1", "role": "moderator"}}),
        json!({"event": "knockingParticipant",
               "data": {"participant": {"id": "p-42", "name": "Jane Q. Patient"}}}),
        json!({"event": "participantJoined", "data": {"id": "p-42", "displayName": "Jane Q. Patient"}}),
        json!({"event": "errorOccurred",
               "data": {"name": format!("conference.{room}"), "message": format!("bad jwt {jwt} for Jane Q. Patient"),
                        "type": "CONFERENCE", "isFatal": false}}),
        json!({"event": "e2ee", "data": {"state": "notSupported"}}),
        json!({"event": "participantLeft", "data": {"id": "p-42"}}),
        json!({"event": "videoConferenceLeft", "data": {"roomName": room}}),
        json!({"event": "readyToClose", "data": {}}),
    ];
    for (i, e) in events.iter().enumerate() {
        if i == 3 {
            let admit = HostCommand::Admit { id: "p-42".into() };
            assert!(admit.allowed(&visit));
            log.append_all(&visit.executed(&admit, now + 2))
                .expect("append");
        }
        let ev = VisitEvent::from_json(&e.to_string());
        log.append_all(&visit.apply(ev, now + i as i64))
            .expect("append");
    }
    assert_eq!(visit.schedule_badge(), Some("done"));
    let view = serde_json::to_string(&visit.view()).expect("view json");
    assert!(!view.contains(&jwt) && !view.contains(&room), "{view}");

    let text = std::fs::read_to_string(log.path()).expect("audit file");
    for planted in [
        jwt.as_str(),
        room.as_str(),
        "Jane",
        "Patient",
        "Alex",
        "Smith",
        "local1",
        "p-42",
    ] {
        assert!(!text.contains(planted), "`{planted}` leaked into:\n{text}");
    }
    let kinds: Vec<String> = log
        .read_recent(100)
        .expect("read")
        .into_iter()
        .map(|r| r.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            "audit.started",
            "visit.ticket_refused",
            "visit.ticket",
            "visit.joined",
            "visit.knock",
            "visit.host_command",
            "visit.participant_joined",
            "visit.error",
            "visit.e2ee",
            "visit.participant_left",
            "visit.left",
            "visit.ended",
        ]
    );
    // Every visit record names its appointment; the chain's own start record names none.
    let odd: Vec<&str> = text
        .lines()
        .filter(|l| !l.contains("\"kind\":\"audit.started\""))
        .filter(|l| {
            !l.contains(&format!("\"appointment\":\"{id}\"")) && !l.contains(&jones_visit())
        })
        .collect();
    assert!(odd.is_empty(), "records without their appointment: {odd:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The loopback visit page: strict CSP naming only the clinic's Jitsi origin, the token handed
/// out once (never in the page or its URL), unknown paths 404, events followed by the core, host
/// commands checked before the page may run them, nothing personal in the audit log.
#[tokio::test]
async fn the_visit_page_hands_the_token_once_and_follows_the_visit() {
    let sb = clinic().await;
    let tokens = Tokens::signed_in(&sb, "drsmith").await;
    let ticket = join_as(&sb, &tokens, &smith_visit()).await.expect("ticket");
    let jwt = ticket
        .jwt()
        .expect("a ticket from the telehealth service has a JWT")
        .expose()
        .to_string();
    let notices: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
    let dir = temp_dir("visit-page-audit");
    let audit = Arc::new(audit_log(&dir));
    let changes = rounds_core::changes::Publisher::default();
    let mut told = changes.subscribe();
    let page = video::VisitPage::start(
        &ticket,
        video::PageOptions {
            display_name: "Dr. Alex Smith".into(),
            lobby: true,
            e2ee_allowed: true,
            e2ee_required: false,
            on_knock: Some(video::KnockNotice(Arc::new({
                let n = notices.clone();
                move |t: &str| n.lock().expect("notices").push(t.to_string())
            }))),
            show_name: false,
            devices_file: Some(dir.join("devices.json")),
            changes: Some(changes.clone()),
        },
        Some(audit.clone()),
    )
    .await
    .expect("page");
    let base = page.url().clone();
    assert_eq!(base.host_str(), Some("127.0.0.1"));
    assert!(
        !base.as_str().contains(&jwt),
        "no token in the page's address"
    );
    let http = reqwest::Client::builder().no_proxy().build().expect("http");

    let r = http.get(base.clone()).send().await.expect("page");
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .to_string();
    let origin = format!("https://{}", ticket.domain());
    assert!(csp.contains(&format!("frame-src {origin};")), "{csp}");
    assert!(
        csp.contains(&format!("script-src 'self' {origin};")),
        "{csp}"
    );
    assert!(
        csp.contains("default-src 'none'") && !csp.contains('*'),
        "{csp}"
    );
    assert!(!r.text().await.expect("html").contains(&jwt));

    let t1 = http
        .get(base.join("ticket").expect("url"))
        .send()
        .await
        .expect("ticket");
    assert_eq!(t1.status(), 200);
    let t1: Value = t1.json().await.expect("json");
    assert_eq!(t1["jwt"], jwt.as_str());
    assert_eq!(t1["room"], ticket.room());
    let t2 = http
        .get(base.join("ticket").expect("url"))
        .send()
        .await
        .expect("again");
    assert_eq!(t2.status(), 410, "the token is handed out once");
    let mut other = base.clone();
    other.set_path("/visit/guess/ticket");
    assert_eq!(http.get(other).send().await.expect("guess").status(), 404);

    let event = |name: &str, data: Value| {
        let http = http.clone();
        let url = base.join("events").expect("url");
        let body = json!({"event": name, "data": data});
        async move {
            let r = http.post(url).json(&body).send().await.expect("event");
            r.json::<Value>().await.expect("view")
        }
    };
    assert!(
        told.try_recv().is_err(),
        "nothing happened yet, nothing told"
    );
    event(
        "videoConferenceJoined",
        json!({"roomName": ticket.room(), "id": "me", "displayName": "Dr. Alex Smith"}),
    )
    .await;
    // The main window follows the visit from this, without asking the page.
    assert_eq!(
        told.try_recv().ok(),
        Some(rounds_core::changes::Change::Visit)
    );
    event(
        "participantRoleChanged",
        json!({"id": "me", "role": "moderator"}),
    )
    .await;
    let v = event(
        "knockingParticipant",
        json!({"participant": {"id": "pat1", "name": "Pat Example"}}),
    )
    .await;
    assert_eq!(v["phase"], "joined");
    assert_eq!(v["knocking"][0]["id"], "pat1");
    // One desktop notice, without the name (policy default `generic`).
    assert_eq!(
        *notices.lock().expect("notices"),
        ["Someone is waiting to be let into your video visit."]
    );

    let cmd = |body: Value| {
        let http = http.clone();
        let url = base.join("command").expect("url");
        async move { http.post(url).json(&body).send().await.expect("command") }
    };
    let admit = cmd(json!({"admit": {"id": "pat1"}})).await;
    assert_eq!(admit.status(), 200);
    let admit: Value = admit.json().await.expect("json");
    assert_eq!(
        admit,
        json!({"name": "answerKnockingParticipant", "args": ["pat1", true]})
    );
    assert_eq!(
        cmd(json!({"kick": {"id": "nobody"}})).await.status(),
        403,
        "not in the call"
    );
    assert_eq!(
        cmd(json!({"shell": "rm -rf /"})).await.status(),
        403,
        "not a command"
    );
    event(
        "participantJoined",
        json!({"id": "pat1", "displayName": "Pat Example"}),
    )
    .await;
    let end = cmd(json!("endForAll")).await;
    assert_eq!(end.status(), 200);
    let v = event("readyToClose", json!({})).await;
    assert_eq!(v["phase"], "ended");
    assert_eq!(page.view().expect("view").phase, video::VisitPhase::Ended);

    let text = std::fs::read_to_string(audit.path()).expect("audit file");
    for secret in [
        jwt.as_str(),
        ticket.room(),
        "Pat Example",
        "Dr. Alex Smith",
        "pat1",
    ] {
        assert!(!text.contains(secret), "audit log holds {secret}");
    }
    assert!(text.contains("visit.joined"), "{text}");
    page.stop();
}
