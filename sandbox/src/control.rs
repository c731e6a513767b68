//! Control API for tests and the demo: plain HTTP on its own loopback port, clearly apart
//! from the clinic API. Nothing here exists in OpenEMR or Jitsi.
//!
//! See README.md for the list; every route is under `/control/`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{delete, get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::faults::FaultRule;
use crate::state::AppState;
use crate::tls::LeafKind;
use crate::users::{Mfa, User};
use crate::util::{self, json_response};

/// All control routes.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/control/info", get(info))
        .route("/control/requests", get(requests).delete(clear_requests))
        .route(
            "/control/connections",
            get(connections).delete(clear_connections),
        )
        .route(
            "/control/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/control/faults/{id}", delete(delete_fault))
        .route("/control/time", get(get_time).post(set_time))
        .route("/control/config", get(get_config).post(set_config))
        .route("/control/users", get(list_users).post(add_user))
        .route("/control/users/{name}/totp", get(user_totp))
        .route("/control/users/{name}/unlock", post(unlock_user))
        .route("/control/tokens/expire", post(expire_tokens))
        .route(
            "/control/appointments",
            post(add_appointments).delete(clear_appointments),
        )
        .route("/control/appointments/generate", post(generate))
        .route(
            "/control/appointments/{id}",
            delete(delete_appointment).patch(edit_appointment),
        )
        .route("/control/appointments/{id}/status", post(set_status))
        .route("/control/resources", post(add_resource))
        .route("/control/tls-listeners", post(add_listener))
        .route("/control/jitsi/rooms", get(list_rooms))
        .route("/control/jitsi/appointment/{id}", get(room_for_appointment))
        .route("/control/jitsi/rooms/{room}", get(get_room))
        .route("/control/jitsi/rooms/{room}/events", post(push_event))
        .route(
            "/control/jitsi/rooms/{room}/patient-link",
            post(crate::jitsi_media::patient_link),
        )
        .route(
            "/control/jitsi/rooms/{room}/host-link",
            post(crate::jitsi_media::host_link),
        )
        .route("/control/jitsi/rooms/{room}/{action}", post(room_action))
        .fallback(|| async { err(StatusCode::NOT_FOUND, "no such control endpoint") })
        .with_state(state)
}

fn err(status: StatusCode, msg: &str) -> Response {
    json_response(status, &json!({"error": msg}))
}

fn ok(v: Value) -> Response {
    json_response(StatusCode::OK, &v)
}

fn parse_json(body: &[u8]) -> Result<Value, Response> {
    if body.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(body)
        .map_err(|e| err(StatusCode::BAD_REQUEST, &format!("bad JSON: {e}")))
}

async fn info(State(st): State<Arc<AppState>>) -> Response {
    ok(json!({
        "base_url": st.base_url, "site": st.site, "state_dir": st.state_dir,
        "now": util::rfc3339_z(st.now()), "clock_offset_seconds": st.clock.offset(),
        "appointments": st.store.read().expect("store lock").len(),
        "users": st.users.lock().expect("users lock").by_name.len(),
    }))
}

#[derive(Deserialize)]
struct Since {
    since: Option<u64>,
}

async fn requests(State(st): State<Arc<AppState>>, Query(q): Query<Since>) -> Response {
    let log = st.requests.lock().expect("request log lock");
    let since = q.since.unwrap_or(0);
    let v: Vec<_> = log.iter().filter(|r| r.seq > since).cloned().collect();
    ok(json!({"requests": v}))
}

async fn clear_requests(State(st): State<Arc<AppState>>) -> Response {
    st.requests.lock().expect("request log lock").clear();
    ok(json!({"cleared": true}))
}

async fn connections(State(st): State<Arc<AppState>>) -> Response {
    ok(json!({"connections": *st.conns.lock().expect("conn log lock")}))
}

async fn clear_connections(State(st): State<Arc<AppState>>) -> Response {
    st.conns.lock().expect("conn log lock").clear();
    ok(json!({"cleared": true}))
}

async fn list_faults(State(st): State<Arc<AppState>>) -> Response {
    ok(json!({"faults": crate::faults::list(&st)}))
}

async fn add_fault(State(st): State<Arc<AppState>>, body: Bytes) -> Response {
    let rule: FaultRule = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return err(StatusCode::BAD_REQUEST, &format!("bad fault rule: {e}")),
    };
    const KINDS: [&str; 7] = [
        "status",
        "delay",
        "drop",
        "stall",
        "malformed_json",
        "hostile_json",
        "body",
    ];
    if !KINDS.contains(&rule.kind.as_str()) {
        return err(
            StatusCode::BAD_REQUEST,
            &format!("kind must be one of {KINDS:?}"),
        );
    }
    let id = st.faults.lock().expect("faults lock").add(rule);
    ok(json!({"id": id}))
}

async fn clear_faults(State(st): State<Arc<AppState>>) -> Response {
    st.faults.lock().expect("faults lock").rules.clear();
    ok(json!({"cleared": true}))
}

async fn delete_fault(State(st): State<Arc<AppState>>, Path(id): Path<u64>) -> Response {
    st.faults
        .lock()
        .expect("faults lock")
        .rules
        .retain(|r| r.id != id);
    ok(json!({"deleted": id}))
}

async fn get_time(State(st): State<Arc<AppState>>) -> Response {
    ok(json!({"now": util::rfc3339_z(st.now()), "offset_seconds": st.clock.offset()}))
}

/// `{"offset_seconds": N}` sets the offset; `{"advance_seconds": N}` adds to it.
async fn set_time(State(st): State<Arc<AppState>>, body: Bytes) -> Response {
    let v = match parse_json(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    if let Some(o) = v.get("offset_seconds").and_then(Value::as_i64) {
        st.clock.set_offset(o);
    }
    if let Some(a) = v.get("advance_seconds").and_then(Value::as_i64) {
        st.clock.set_offset(st.clock.offset() + a);
    }
    get_time(State(st)).await
}

async fn get_config(State(st): State<Arc<AppState>>) -> Response {
    ok(json!(st.config()))
}

async fn set_config(State(st): State<Arc<AppState>>, body: Bytes) -> Response {
    let v = match parse_json(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut cur = json!(st.config());
    if let (Some(c), Some(n)) = (cur.as_object_mut(), v.as_object()) {
        for (k, val) in n {
            c.insert(k.clone(), val.clone());
        }
    }
    match serde_json::from_value(cur) {
        Ok(c) => {
            *st.config.lock().expect("config lock") = c;
            get_config(State(st)).await
        }
        Err(e) => err(StatusCode::BAD_REQUEST, &format!("bad config: {e}")),
    }
}

fn user_json(st: &AppState, u: &User) -> Value {
    let now = st.now();
    let users = st.users.lock().expect("users lock");
    let s = users.status(u, now);
    json!({
        "username": u.username, "display_name": u.display_name, "uuid": u.uuid, "fhir_ref": u.fhir_ref(),
        "mfa": match &u.mfa { Mfa::NotRequired => "not_required", Mfa::MustEnroll => "must_enroll", Mfa::Enrolled(_) => "enrolled" },
        "totp_secret": match &u.mfa { Mfa::Enrolled(s) => Some(util::base32_encode(s)), _ => None },
        "current_code": u.current_code(now),
        "password_state": s.state, "last_changed_at": s.last_changed_at, "expires_at": s.expires_at,
        "locked_until": u.locked_until.filter(|t| *t > now).map(util::rfc3339_z),
    })
}

async fn list_users(State(st): State<Arc<AppState>>) -> Response {
    let mut all: Vec<User> = st
        .users
        .lock()
        .expect("users lock")
        .by_name
        .values()
        .cloned()
        .collect();
    all.sort_by(|a, b| a.username.cmp(&b.username));
    ok(json!({"users": all.iter().map(|u| user_json(&st, u)).collect::<Vec<_>>()}))
}

/// `{"username", "password", "display_name"?, "password_age_days"?, "mfa": "none"|"must_enroll"|"enrolled", "totp_secret"? (base32), "has_npi"?}`
async fn add_user(State(st): State<Arc<AppState>>, body: Bytes) -> Response {
    let v = match parse_json(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let s = |k: &str| v.get(k).and_then(Value::as_str);
    let (Some(name), Some(pw)) = (s("username"), s("password")) else {
        return err(
            StatusCode::BAD_REQUEST,
            "username and password are required",
        );
    };
    let mfa = match s("mfa").unwrap_or("enrolled") {
        "none" | "not_required" => Mfa::NotRequired,
        "must_enroll" => Mfa::MustEnroll,
        _ => Mfa::Enrolled(match s("totp_secret") {
            Some(b) => match util::base32_decode(b) {
                Some(x) if !x.is_empty() => x,
                _ => return err(StatusCode::BAD_REQUEST, "totp_secret is not base32"),
            },
            None => util::random_bytes(20),
        }),
    };
    let age = v
        .get("password_age_days")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let mut u = User::new(
        name,
        s("display_name").unwrap_or(name),
        pw,
        age,
        mfa,
        st.now(),
    );
    u.has_npi = v.get("has_npi").and_then(Value::as_bool).unwrap_or(true);
    st.users.lock().expect("users lock").insert(u.clone());
    ok(user_json(&st, &u))
}

#[derive(Deserialize)]
struct TotpQuery {
    /// Code for `now + steps*30 s` (e.g. 1 = the next code, to test replay).
    steps: Option<i64>,
}

async fn user_totp(
    State(st): State<Arc<AppState>>,
    Path(name): Path<String>,
    Query(q): Query<TotpQuery>,
) -> Response {
    let u = st
        .users
        .lock()
        .expect("users lock")
        .by_name
        .get(&name)
        .cloned();
    let Some(u) = u else {
        return err(StatusCode::NOT_FOUND, "no such user");
    };
    let Mfa::Enrolled(secret) = &u.mfa else {
        return err(StatusCode::CONFLICT, "user is not enrolled");
    };
    let t = st.now().unix_timestamp() + 30 * q.steps.unwrap_or(0);
    ok(json!({
        "username": name, "code": crate::totp::code_now(secret, t), "secret": util::base32_encode(secret),
        "step": crate::totp::step(t, 30), "valid_for_seconds": 30 - t.rem_euclid(30),
    }))
}

async fn unlock_user(State(st): State<Arc<AppState>>, Path(name): Path<String>) -> Response {
    let mut users = st.users.lock().expect("users lock");
    let Some(u) = users.by_name.get_mut(&name) else {
        return err(StatusCode::NOT_FOUND, "no such user");
    };
    u.locked_until = None;
    u.failed_logins = 0;
    u.failed_otps = 0;
    ok(json!({"unlocked": name}))
}

/// Expires access tokens (all, or one user's) so the next resource call gets 401.
async fn expire_tokens(State(st): State<Arc<AppState>>, body: Bytes) -> Response {
    let v = match parse_json(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let who = v.get("username").and_then(Value::as_str);
    let past = st.now() - time::Duration::seconds(1);
    let mut o = st.oauth.lock().expect("oauth lock");
    let mut n = 0;
    for g in o
        .access
        .values_mut()
        .filter(|g| who.is_none_or(|w| g.username == w))
    {
        g.expires_at = past;
        n += 1;
    }
    if v.get("refresh").and_then(Value::as_bool).unwrap_or(false) {
        for r in o
            .refresh
            .values_mut()
            .filter(|r| who.is_none_or(|w| r.grant.username == w))
        {
            r.grant.expires_at = past;
        }
    }
    ok(json!({"expired": n}))
}

/// Body: one Appointment, an array of them, or a Bundle with `entry[].resource`.
async fn add_appointments(State(st): State<Arc<AppState>>, body: Bytes) -> Response {
    let v = match parse_json(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let items: Vec<Value> = match &v {
        Value::Array(a) => a.clone(),
        Value::Object(o) if o.get("resourceType") == Some(&json!("Bundle")) => o
            .get("entry")
            .and_then(Value::as_array)
            .map(|e| {
                e.iter()
                    .filter_map(|x| x.get("resource").cloned())
                    .collect()
            })
            .unwrap_or_default(),
        _ => vec![v.clone()],
    };
    let now = st.now();
    let mut store = st.store.write().expect("store lock");
    let mut ids = Vec::new();
    for it in items {
        match store.upsert(it, now) {
            Ok(id) => ids.push(id),
            Err(e) => return err(StatusCode::BAD_REQUEST, &e),
        }
    }
    ok(json!({"ids": ids}))
}

async fn clear_appointments(State(st): State<Arc<AppState>>) -> Response {
    st.store.write().expect("store lock").clear_appointments();
    ok(json!({"cleared": true}))
}

async fn generate(State(st): State<Arc<AppState>>, body: Bytes) -> Response {
    let v = match parse_json(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let n = v.get("count").and_then(Value::as_u64).unwrap_or(100) as usize;
    crate::seed::directory(&st, crate::seed::GENERATED_PATIENTS);
    crate::seed::generate(&st, n);
    ok(json!({"appointments": st.store.read().expect("store lock").len()}))
}

async fn delete_appointment(State(st): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    let removed = st.store.write().expect("store lock").remove(&id);
    ok(json!({"deleted": removed}))
}

/// `{"status": "cancelled"}`: changes status and bumps `meta.lastUpdated` (like an edit in
/// OpenEMR's calendar).
async fn set_status(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let v = match parse_json(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let status = v
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or("cancelled");
    let now = st.now();
    if st
        .store
        .write()
        .expect("store lock")
        .set_status(&id, status, now)
    {
        ok(json!({"id": id, "status": status, "lastUpdated": util::rfc3339_offset(now)}))
    } else {
        err(StatusCode::NOT_FOUND, "no such appointment")
    }
}

/// `PATCH {"comment": "…", …}`: an edit of the appointment's top-level fields that bumps
/// `meta.lastUpdated` (like any edit in OpenEMR's calendar), e.g. to check that a client keeps
/// the time a patient arrived across an unrelated edit.
async fn edit_appointment(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let fields = match parse_json(&body) {
        Ok(Value::Object(m)) => m,
        Ok(_) => return err(StatusCode::BAD_REQUEST, "the body must be a JSON object"),
        Err(r) => return r,
    };
    let now = st.now();
    if st
        .store
        .write()
        .expect("store lock")
        .patch(&id, &fields, now)
    {
        ok(json!({"id": id, "lastUpdated": util::rfc3339_offset(now)}))
    } else {
        err(StatusCode::NOT_FOUND, "no such appointment")
    }
}

/// Any other FHIR resource (Patient, Practitioner, Person, Location) by `resourceType`/`id`.
async fn add_resource(State(st): State<Arc<AppState>>, body: Bytes) -> Response {
    let v = match parse_json(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let (Some(t), Some(id)) = (
        v.get("resourceType").and_then(Value::as_str),
        v.get("id").and_then(Value::as_str),
    ) else {
        return err(StatusCode::BAD_REQUEST, "resourceType and id are required");
    };
    let key = format!("{t}/{id}");
    st.store
        .write()
        .expect("store lock")
        .others
        .insert(key.clone(), v.clone());
    ok(json!({"stored": key}))
}

/// `{"kind": "expired"|"wrong_host"|"self_signed"|"unknown_ca"|"tls1_2"|"tls1_1"|"tls1_0"}` → a new
/// listener on 127.0.0.1 serving the same clinic with that defect. `GET /control/requests`
/// and `/control/connections` show what (if anything) arrived on it (listener = kind).
async fn add_listener(State(st): State<Arc<AppState>>, body: Bytes) -> Response {
    let v = match parse_json(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let kind = v
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let leaf_kind = match kind.as_str() {
        "expired" => LeafKind::Expired,
        "wrong_host" => LeafKind::WrongHost,
        "self_signed" => LeafKind::SelfSigned,
        "unknown_ca" => LeafKind::UnknownCa,
        "tls1_2" => LeafKind::Good,
        "tls1_1" | "tls1_0" => return openssl_listener(&st, &kind).await,
        _ => {
            return err(
                StatusCode::BAD_REQUEST,
                "kind must be expired, wrong_host, self_signed, unknown_ca, tls1_2, tls1_1 or tls1_0",
            );
        }
    };
    let made = (|| -> Result<_, util::BoxError> {
        let leaf = st.ca.leaf(leaf_kind)?;
        if kind == "tls1_2" {
            // A good certificate on a server that speaks TLS 1.2 only (an older appliance).
            return Ok(TlsAcceptor::from(crate::tls::server_config_tls12(&leaf)?));
        }
        Ok(TlsAcceptor::from(crate::tls::server_config(&leaf)?))
    })();
    let acceptor = match made {
        Ok(a) => a,
        Err(e) => return err(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let listener = match TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await {
        Ok(l) => l,
        Err(e) => return err(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    let app = crate::clinic_router(st.clone());
    tokio::spawn(crate::server::serve_tls(
        listener,
        acceptor,
        app,
        st.clone(),
        kind.clone(),
    ));
    ok(json!({"kind": kind, "url": format!("https://127.0.0.1:{port}"), "port": port}))
}

/// TLS 1.0/1.1-only listener: rustls cannot speak those, so this runs the `openssl s_server`
/// CLI (no OpenSSL linked into the sandbox) with a valid CA-signed certificate, so the *only*
/// defect is the protocol version. It answers with openssl's `-www` status page.
async fn openssl_listener(st: &Arc<AppState>, kind: &str) -> Response {
    let leaf = match st.ca.leaf(LeafKind::Good) {
        Ok(l) => l,
        Err(e) => return err(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let port = match std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()) {
        Ok(a) => a.port(),
        Err(e) => return err(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let cert = st.state_dir.join(format!("{kind}-{port}-cert.pem"));
    let key = st.state_dir.join(format!("{kind}-{port}-key.pem"));
    let log = st.state_dir.join(format!("{kind}-{port}.log"));
    if std::fs::write(&cert, &leaf.chain_pem)
        .and_then(|_| std::fs::write(&key, &leaf.key_pem))
        .is_err()
    {
        return err(
            StatusCode::INTERNAL_SERVER_ERROR,
            "cannot write certificate files",
        );
    }
    let flag = if kind == "tls1_0" { "-tls1" } else { "-tls1_1" };
    let log_file = match std::fs::File::create(&log) {
        Ok(f) => f,
        Err(e) => {
            return err(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("cannot create log: {e}"),
            );
        }
    };
    let log_err = match log_file.try_clone() {
        Ok(f) => f,
        Err(e) => {
            return err(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("cannot create log: {e}"),
            );
        }
    };
    let child = tokio::process::Command::new("openssl")
        .args([
            "s_server",
            "-accept",
            &format!("127.0.0.1:{port}"),
            flag,
            "-cipher",
            "DEFAULT@SECLEVEL=0",
            "-www",
        ])
        .arg("-cert")
        .arg(&cert)
        .arg("-key")
        .arg(&key)
        .stdin(std::process::Stdio::null())
        .stdout(log_file)
        .stderr(log_err)
        .kill_on_drop(true)
        .spawn();
    let child = match child {
        Ok(c) => c,
        Err(e) => {
            return err(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("cannot run openssl: {e}"),
            );
        }
    };
    // Watchdog: ends s_server when the sandbox process goes away, even on SIGKILL.
    if let Some(pid) = child.id() {
        let me = std::process::id();
        let watchdog = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(format!("while kill -0 {me} 2>/dev/null && kill -0 {pid} 2>/dev/null; do sleep 1; done; kill {pid} 2>/dev/null"))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        if let Ok(mut w) = watchdog {
            // Reap it when it ends (no zombie).
            tokio::spawn(async move { w.wait().await });
        }
    }
    st.children.lock().expect("children lock").push(child);
    for _ in 0..50 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return ok(
                json!({"kind": kind, "url": format!("https://127.0.0.1:{port}"), "port": port,
                             "log": log.display().to_string()}),
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    err(
        StatusCode::INTERNAL_SERVER_ERROR,
        &format!("openssl s_server did not start; see {}", log.display()),
    )
}

async fn list_rooms(State(st): State<Arc<AppState>>) -> Response {
    let rooms = st.rooms.lock().expect("rooms lock");
    let mut names: Vec<&String> = rooms.rooms.keys().collect();
    names.sort();
    ok(json!({"rooms": names.iter().filter_map(|n| rooms.summary(n)).collect::<Vec<_>>()}))
}

async fn room_for_appointment(State(st): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    let room = crate::telehealth::room_name(&st, &id);
    ok(json!({"appointment_id": id, "room": room}))
}

async fn get_room(State(st): State<Arc<AppState>>, Path(room): Path<String>) -> Response {
    match st.rooms.lock().expect("rooms lock").summary(&room) {
        Some(v) => ok(v),
        None => err(StatusCode::NOT_FOUND, "no such room (join it first)"),
    }
}

/// Raw event: `{"name": "passwordRequired", "data": {...}}`.
async fn push_event(
    State(st): State<Arc<AppState>>,
    Path(room): Path<String>,
    body: Bytes,
) -> Response {
    let v = match parse_json(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(name) = v.get("name").and_then(Value::as_str) else {
        return err(StatusCode::BAD_REQUEST, "name is required");
    };
    let seq = st.rooms.lock().expect("rooms lock").push(
        &room,
        name,
        v.get("data").cloned().unwrap_or(json!({})),
    );
    ok(json!({"seq": seq}))
}

/// `knock` / `join` `{"id"?, "name"?}`, `leave` `{"id"}`, `end` `{}`.
async fn room_action(
    State(st): State<Arc<AppState>>,
    Path((room, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let v = match parse_json(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let args = [
        v.get("id").cloned().unwrap_or(Value::Null),
        v.get("name").cloned().unwrap_or(Value::Null),
    ];
    let mut rooms = st.rooms.lock().expect("rooms lock");
    match crate::jitsi::act(&mut rooms, &room, &action, &args) {
        Ok(()) => ok(rooms.summary(&room).unwrap_or(json!({}))),
        Err(e) => err(StatusCode::BAD_REQUEST, &e),
    }
}
