//! `POST {server}/apis/{site}/clinic/telehealth/{appointment_id}/join` (clinic-api §4.1).

use serde_json::{Value, json};
use url::Url;

use super::VideoError;
use crate::audit::{AuditEntry, AuditKind, is_appointment_id};
use crate::auth::AuthError;
use crate::net::host::host_port as valid_domain;
use crate::net::{Credential, JsonReply, NetClient, NetError, origin};
use crate::schedule::TokenSource;
use crate::schedule::instant::parse_instant;
use crate::secret::Secret;

/// Longest JWT accepted (bytes).
pub const MAX_JWT_BYTES: usize = 8 * 1024;
/// Longest room name accepted.
pub const MAX_ROOM_CHARS: usize = 128;

/// What the view needs to open the meeting. The JWT lives only in a [`Secret`]: `{:?}` shows
/// neither it nor the room name.
pub struct JoinTicket {
    appointment_id: String,
    domain: String,
    room: String,
    jwt: Option<Secret>,
    expires_at: i64,
    moderator: bool,
}

impl JoinTicket {
    pub fn appointment_id(&self) -> &str {
        &self.appointment_id
    }

    /// `host` or `host:port`, lower-case, no scheme (`https://` is implied).
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// `[a-z0-9-]{1,128}`.
    pub fn room(&self) -> &str {
        &self.room
    }

    /// The Jitsi JWT, for the view's `JitsiMeetExternalAPI` options only; `None` for a visit
    /// opened from the Appointment's own link (a JWT only ever comes from the clinic's
    /// telehealth service, never from a link).
    pub fn jwt(&self) -> Option<&Secret> {
        self.jwt.as_ref()
    }

    /// A visit opened from the Appointment's own link (schedule::link), after policy allowed
    /// its domain: no token, and host controls only once Jitsi itself makes us moderator.
    pub fn from_link(appointment_id: &str, domain: &str, room: &str, expires_at: i64) -> Self {
        Self {
            appointment_id: appointment_id.to_string(),
            domain: domain.to_string(),
            room: room.to_string(),
            jwt: None,
            expires_at,
            moderator: false,
        }
    }

    /// Unix seconds after which the token no longer lets anyone join.
    pub fn expires_at(&self) -> i64 {
        self.expires_at
    }

    /// Whether the clinic made this user a moderator (host controls).
    pub fn moderator(&self) -> bool {
        self.moderator
    }

    /// `https://{domain}`: the origin the view may load from (CSP `frame-src`/`script-src`).
    pub fn meeting_origin(&self) -> Url {
        // The domain was validated by parsing exactly this URL.
        Url::parse(&format!("https://{}", self.domain))
            .unwrap_or_else(|_| Url::parse("https://invalid.invalid").expect("static url"))
    }

    /// `https://{domain}/external_api.js` (clinic-api §4.3: never bundled, always the
    /// deployment's own).
    pub fn external_api_url(&self) -> Url {
        let mut u = self.meeting_origin();
        u.set_path("/external_api.js");
        u
    }

    /// The audit line for the issued ticket (no room, no token).
    pub fn audit_entry(&self, now: i64) -> AuditEntry {
        AuditEntry::new(now, AuditKind::VisitTicket, &self.appointment_id)
            .flag("moderator", self.moderator)
    }
}

impl std::fmt::Debug for JoinTicket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinTicket")
            .field("appointment_id", &self.appointment_id)
            .field("domain", &self.domain)
            .field("room", &"[redacted]")
            .field("jwt", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .field("moderator", &self.moderator)
            .finish()
    }
}

/// `{server origin}/apis/{site}/clinic/telehealth/{id}/join`, after checking `site` and `id`.
pub fn join_url(server: &Url, site: &str, appointment_id: &str) -> Result<Url, VideoError> {
    let site_ok = !site.is_empty()
        && site.len() <= 64
        && site
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !site_ok {
        return Err(VideoError::Net(NetError::BadUrl {
            url: origin(server),
            detail: "the site id is not valid".into(),
        }));
    }
    if !is_appointment_id(appointment_id) {
        return Err(VideoError::BadAppointmentId);
    }
    Url::parse(&format!(
        "{}/apis/{site}/clinic/telehealth/{appointment_id}/join",
        origin(server)
    ))
    .map_err(|e| {
        VideoError::Net(NetError::BadUrl {
            url: origin(server),
            detail: e.to_string(),
        })
    })
}

fn from_auth(e: AuthError) -> VideoError {
    match e {
        AuthError::Net(n) => VideoError::Net(n),
        other => VideoError::Auth(Box::new(other)),
    }
}

/// Asks the clinic for the appointment's room and token.
pub async fn join(
    net: &NetClient,
    tokens: &dyn TokenSource,
    server: &Url,
    site: &str,
    appointment_id: &str,
) -> Result<JoinTicket, VideoError> {
    let url = join_url(server, site, appointment_id)?;
    let out = request(net, tokens, server, &url)
        .await
        .and_then(|r| interpret(appointment_id, r));
    match &out {
        Ok(t) => tracing::info!(
            appointment = %appointment_id,
            moderator = t.moderator,
            "video join: ticket issued"
        ),
        Err(e) => tracing::warn!(
            appointment = %appointment_id,
            outcome = e.code(),
            "video join refused"
        ),
    }
    out
}

async fn request(
    net: &NetClient,
    tokens: &dyn TokenSource,
    server: &Url,
    url: &Url,
) -> Result<JsonReply, VideoError> {
    let body = json!({});
    let token = tokens.token().await.map_err(from_auth)?;
    let reply = net
        .post_json_reply(url, &body, Some(&Credential::bearer(server, token)))
        .await?;
    if reply.status != 401 {
        return Ok(reply);
    }
    tracing::info!(host = %origin(url), "telehealth join: token refused; renewing once");
    let token = tokens.renew().await.map_err(from_auth)?;
    let reply = net
        .post_json_reply(url, &body, Some(&Credential::bearer(server, token)))
        .await?;
    if reply.status == 401 {
        return Err(VideoError::SignInAgain);
    }
    Ok(reply)
}

/// The server's `error` code when it is a plain word (never arbitrary server text).
fn error_code(body: &Value) -> String {
    match body.get("error").and_then(Value::as_str) {
        Some(s)
            if (1..=64).contains(&s.len())
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') =>
        {
            s.to_string()
        }
        Some(_) => "unreadable".into(),
        None => "none".into(),
    }
}

fn interpret(appointment_id: &str, r: JsonReply) -> Result<JoinTicket, VideoError> {
    let code = error_code(&r.body);
    match (r.status, code.as_str()) {
        (200..=299, _) => ticket(appointment_id, &r.body),
        (403, "not_a_participant") => Err(VideoError::NotAParticipant),
        (404, "not_found") => Err(VideoError::NotFound),
        (404, _) => Err(VideoError::NotOffered),
        (409, "appointment_not_active") => Err(VideoError::NotActive),
        (409, "outside_join_window") => {
            let t = |k: &str| {
                r.body
                    .get(k)
                    .and_then(Value::as_str)
                    .and_then(parse_instant)
            };
            Err(VideoError::OutsideWindow {
                opens_at: t("opens_at"),
                closes_at: t("closes_at"),
            })
        }
        (s, _) if s == 429 || s >= 500 => Err(VideoError::ServerBusy { status: s }),
        (s, _) => Err(VideoError::Server {
            status: s,
            error: code,
        }),
    }
}

fn ticket(appointment_id: &str, body: &Value) -> Result<JoinTicket, VideoError> {
    let bad = |what| VideoError::BadAnswer { what };
    let obj = body.as_object().ok_or(bad("not a JSON object"))?;
    let s = |k: &'static str| obj.get(k).and_then(Value::as_str).ok_or(bad(k));
    let domain = valid_domain(s("domain")?).ok_or(bad("domain"))?;
    let room = s("room")?;
    if !valid_room(room) {
        return Err(bad("room"));
    }
    let jwt = s("jwt")?;
    if !valid_jwt(jwt) {
        return Err(bad("jwt"));
    }
    let expires_at = parse_instant(s("expires_at")?).ok_or(bad("expires_at"))?;
    let moderator = obj
        .get("moderator")
        .and_then(Value::as_bool)
        .ok_or(bad("moderator"))?;
    Ok(JoinTicket {
        appointment_id: appointment_id.to_string(),
        domain,
        room: room.to_string(),
        jwt: Some(Secret::new(jwt.to_string())),
        expires_at,
        moderator,
    })
}

pub(crate) fn valid_room(r: &str) -> bool {
    (1..=MAX_ROOM_CHARS).contains(&r.len())
        && r.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Non-empty, ≤ 8 KiB, and JWS compact characters only (base64url and dots): the view puts it
/// into the meeting URL, so nothing that could end or extend that URL.
pub(crate) fn valid_jwt(j: &str) -> bool {
    (1..=MAX_JWT_BYTES).contains(&j.len())
        && j.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains() {
        for (ok, want) in [
            ("meet.example.org", "meet.example.org"),
            ("Meet.Example.org", "meet.example.org"),
            ("127.0.0.1:8443", "127.0.0.1:8443"),
            ("meet.example.org:443", "meet.example.org"),
            ("[::1]:9443", "[::1]:9443"),
            ("localhost", "localhost"),
        ] {
            assert_eq!(valid_domain(ok).as_deref(), Some(want), "{ok}");
        }
        for bad in [
            "",
            "https://evil.example/x",
            "evil.example/x",
            "user@evil.example",
            "evil.example?x",
            "evil.example#x",
            "evil example",
            "evil.example:99999",
            "evil.example:",
            "127.1",
            "-evil.example",
            "evil..example",
            "xn--%41.example",
            "evil.example:443:1",
        ] {
            assert_eq!(valid_domain(bad), None, "{bad}");
        }
    }

    #[test]
    fn rooms_and_tokens() {
        assert!(valid_room("appt-k7q2m9xd4pla3v8n"));
        for bad in ["", "Appt", "a b", "a/b", "a_b", &"a".repeat(129)] {
            assert!(!valid_room(bad), "{bad}");
        }
        assert!(valid_jwt("eyJhbGciOiJIUzI1NiJ9.eyJ4IjoxfQ.c2ln-_"));
        for bad in ["", "a b", "a&config.x=1", "a#b", &"a".repeat(8193)] {
            assert!(!valid_jwt(bad), "{}", &bad[..bad.len().min(20)]);
        }
    }

    #[test]
    fn join_url_checks_its_parts() {
        let s = Url::parse("https://emr.example.org:8443/anything?q").expect("url");
        assert_eq!(
            join_url(&s, "default", "3f2a-9c").expect("url").as_str(),
            "https://emr.example.org:8443/apis/default/clinic/telehealth/3f2a-9c/join"
        );
        for bad in ["", "../x", "a/b", "a?b", "a%2F", &"a".repeat(65)] {
            assert!(
                matches!(
                    join_url(&s, "default", bad),
                    Err(VideoError::BadAppointmentId)
                ),
                "{bad}"
            );
        }
        assert!(join_url(&s, "../x", "a").is_err());
    }

    fn reply(status: u16, body: Value) -> JsonReply {
        JsonReply { status, body }
    }

    fn good() -> Value {
        json!({"domain": "meet.example.org", "room": "appt-abc", "jwt": "aaa.bbb.ccc",
               "expires_at": "2026-11-24T15:00:00+00:00", "moderator": true, "extra": 1})
    }

    #[test]
    fn answers() {
        let t = interpret("a1", reply(200, good())).expect("ticket");
        assert_eq!(t.domain(), "meet.example.org");
        assert_eq!(t.room(), "appt-abc");
        assert_eq!(t.jwt().map(Secret::expose), Some("aaa.bbb.ccc"));
        assert_eq!(t.expires_at(), 1_795_532_400);
        assert!(t.moderator());
        assert_eq!(
            t.external_api_url().as_str(),
            "https://meet.example.org/external_api.js"
        );
        let dbg = format!("{t:?} {t:#?}");
        assert!(
            !dbg.contains("aaa.bbb") && !dbg.contains("appt-abc"),
            "{dbg}"
        );

        let e = |s, b| interpret("a1", reply(s, b)).expect_err("refused");
        assert!(matches!(
            e(403, json!({"error": "not_a_participant"})),
            VideoError::NotAParticipant
        ));
        assert!(matches!(
            e(404, json!({"error": "not_found"})),
            VideoError::NotFound
        ));
        assert!(matches!(e(404, Value::Null), VideoError::NotOffered));
        assert!(matches!(
            e(409, json!({"error": "appointment_not_active"})),
            VideoError::NotActive
        ));
        assert!(matches!(
            e(
                409,
                json!({"error": "outside_join_window", "opens_at": "2026-11-24T14:45:00Z",
                          "closes_at": "2026-11-24T15:30:00Z"})
            ),
            VideoError::OutsideWindow {
                opens_at: Some(1_795_531_500),
                closes_at: Some(1_795_534_200)
            }
        ));
        assert!(matches!(
            e(503, Value::Null),
            VideoError::ServerBusy { status: 503 }
        ));
        match e(400, json!({"error": "Bad <script>"})) {
            VideoError::Server { status: 400, error } => assert_eq!(error, "unreadable"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn hostile_answers_are_refused() {
        let with = |k: &str, v: Value| {
            let mut b = good();
            b[k] = v;
            interpret("a1", reply(200, b)).expect_err("refused")
        };
        let what = |e: VideoError| match e {
            VideoError::BadAnswer { what } => what,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            what(with("domain", json!("https://evil.example/x"))),
            "domain"
        );
        assert_eq!(what(with("domain", json!(5))), "domain");
        assert_eq!(what(with("room", json!("Room With PHI"))), "room");
        assert_eq!(what(with("jwt", json!(""))), "jwt");
        assert_eq!(what(with("jwt", json!("x".repeat(9000)))), "jwt");
        assert_eq!(what(with("expires_at", json!("tomorrow"))), "expires_at");
        assert_eq!(what(with("moderator", json!("true"))), "moderator");
        assert_eq!(
            what(interpret("a1", reply(200, json!([1]))).expect_err("x")),
            "not a JSON object"
        );
        let mut b = good();
        b.as_object_mut().expect("obj").remove("jwt");
        assert_eq!(what(interpret("a1", reply(200, b)).expect_err("x")), "jwt");
    }
}
