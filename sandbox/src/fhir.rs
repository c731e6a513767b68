//! FHIR R4 endpoints as OpenEMR serves them (§3): `metadata`, Appointment search/read and the
//! few resources appointments point at (Patient, Practitioner, Person, Location).
//! Sandbox deviations D5 (searchset + `_count`/`_offset` paging) and D8 apply.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};
use time::{Date, OffsetDateTime};

use crate::oauth::{Grant, grant_from_headers};
use crate::state::AppState;
use crate::store::Appt;
use crate::util::{self, fhir_error, fhir_response};

/// Resource types served besides Appointment.
const OTHER_TYPES: [&str; 4] = ["Patient", "Practitioner", "Person", "Location"];

/// `GET /apis/{site}/fhir/metadata` (no auth): a minimal CapabilityStatement that lists the
/// Appointment search parameters, so clients can decide on `_lastUpdated` (§3.1).
pub async fn metadata(State(st): State<Arc<AppState>>) -> Response {
    let o = st.oauth_base();
    let sp = |name: &str, ty: &str| json!({"name": name, "type": ty});
    let simple = |t: &str| {
        json!({"type": t, "interaction": [{"code": "read"}, {"code": "search-type"}],
               "searchParam": [sp("_id", "token")]})
    };
    let mut resources = vec![json!({
        "type": "Appointment",
        "interaction": [{"code": "read"}, {"code": "search-type"}],
        "searchParam": [sp("_id", "token"), sp("patient", "reference"), sp("date", "date"),
                        sp("_lastUpdated", "date")]
    })];
    resources.extend(OTHER_TYPES.iter().map(|t| simple(t)));
    let body = json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": util::rfc3339_z(st.now()),
        "kind": "instance",
        "software": {"name": "Rounds sandbox clinic (OpenEMR stand-in)", "version": env!("CARGO_PKG_VERSION")},
        "implementation": {"description": "Sandbox clinic", "url": st.fhir_base()},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json"],
        "rest": [{
            "mode": "server",
            "security": {
                "service": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                          "code": "SMART-on-FHIR"}]}],
                "extension": [{"url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                               "extension": [{"url": "token", "valueUri": format!("{o}/token")},
                                             {"url": "authorize", "valueUri": format!("{o}/authorize")},
                                             {"url": "register", "valueUri": format!("{o}/registration")}]}]
            },
            "resource": resources
        }]
    });
    fhir_response(StatusCode::OK, body.to_string())
}

/// Bearer check plus `user/<Type>.read|.rs` scope (401 / 403 as OperationOutcome).
fn authorize(st: &AppState, headers: &HeaderMap, ty: &str) -> Result<Grant, Response> {
    let Some(g) = grant_from_headers(st, headers) else {
        return Err(fhir_error(
            StatusCode::UNAUTHORIZED,
            "login",
            "Missing, invalid or expired access token",
        ));
    };
    let ok = [
        format!("user/{ty}.read"),
        format!("user/{ty}.rs"),
        format!("user/{ty}.*"),
        "user/*.read".to_string(),
        "user/*.rs".to_string(),
        "user/*.*".to_string(),
    ]
    .iter()
    .any(|s| g.has_scope(s));
    if !ok {
        return Err(fhir_error(
            StatusCode::FORBIDDEN,
            "forbidden",
            &format!("Scope user/{ty}.read is required"),
        ));
    }
    Ok(g)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Prefix {
    Eq,
    Gt,
    Ge,
    Lt,
    Le,
}

fn split_prefix(v: &str) -> (Prefix, &str) {
    for (p, x) in [
        ("eq", Prefix::Eq),
        ("gt", Prefix::Gt),
        ("ge", Prefix::Ge),
        ("lt", Prefix::Lt),
        ("le", Prefix::Le),
    ] {
        if let Some(rest) = v.strip_prefix(p) {
            return (x, rest);
        }
    }
    (Prefix::Eq, v)
}

fn cmp_ok<T: Ord>(p: Prefix, a: &T, b: &T) -> bool {
    match p {
        Prefix::Eq => a == b,
        Prefix::Gt => a > b,
        Prefix::Ge => a >= b,
        Prefix::Lt => a < b,
        Prefix::Le => a <= b,
    }
}

/// A `date` / `_lastUpdated` bound: a whole day or an instant.
#[derive(Clone, Debug)]
enum Bound {
    Day(Prefix, Date),
    Instant(Prefix, OffsetDateTime),
}

fn parse_bound(v: &str) -> Option<Bound> {
    let (p, rest) = split_prefix(v);
    if rest.len() == 10 {
        let fmt = time::macros::format_description!("[year]-[month]-[day]");
        return Date::parse(rest, &fmt).ok().map(|d| Bound::Day(p, d));
    }
    util::parse_instant(rest).map(|t| Bound::Instant(p, t))
}

fn bound_ok(b: &Bound, t: OffsetDateTime) -> bool {
    match b {
        Bound::Day(p, d) => cmp_ok(*p, &t.to_offset(time::UtcOffset::UTC).date(), d),
        Bound::Instant(p, i) => cmp_ok(*p, &t.replace_nanosecond(0).unwrap_or(t), i),
    }
}

/// Parsed Appointment search.
#[derive(Debug)]
struct Search {
    count: usize,
    offset: usize,
    date: Vec<Bound>,
    last_updated: Vec<Bound>,
    patient: Option<Vec<String>>,
    ids: Option<Vec<String>>,
    /// All pairs except `_offset`, in request order, for building `next` links.
    keep: Vec<(String, String)>,
}

fn parse_search(pairs: &[(String, String)]) -> Result<Search, String> {
    let mut s = Search {
        count: 50,
        offset: 0,
        date: vec![],
        last_updated: vec![],
        patient: None,
        ids: None,
        keep: vec![],
    };
    for (k, v) in pairs {
        if k != "_offset" {
            s.keep.push((k.clone(), v.clone()));
        }
        match k.as_str() {
            "_count" => {
                s.count = v
                    .parse::<usize>()
                    .map_err(|_| format!("Invalid _count: {v}"))?
                    .min(200)
            }
            "_offset" => s.offset = v.parse().map_err(|_| format!("Invalid _offset: {v}"))?,
            "date" => s
                .date
                .push(parse_bound(v).ok_or_else(|| format!("Invalid date: {v}"))?),
            "_lastUpdated" => s
                .last_updated
                .push(parse_bound(v).ok_or_else(|| format!("Invalid _lastUpdated: {v}"))?),
            "patient" => {
                let ids = v
                    .split(',')
                    .map(|x| x.trim_start_matches("Patient/").to_string());
                s.patient.get_or_insert_with(Vec::new).extend(ids);
            }
            "_id" => s
                .ids
                .get_or_insert_with(Vec::new)
                .extend(v.split(',').map(String::from)),
            _ => {} // unknown parameters are ignored (lenient handling)
        }
    }
    Ok(s)
}

fn matches(s: &Search, a: &Appt) -> bool {
    if let Some(ids) = &s.ids
        && !ids.contains(&a.id)
    {
        return false;
    }
    if let Some(pats) = &s.patient
        && !pats.iter().any(|p| {
            a.actors
                .iter()
                .any(|r| r.strip_prefix("Patient/") == Some(p.as_str()))
        })
    {
        return false;
    }
    if !s.date.is_empty() {
        let Some(start) = a.start else { return false };
        if !s.date.iter().all(|b| bound_ok(b, start)) {
            return false;
        }
    }
    s.last_updated.iter().all(|b| bound_ok(b, a.last_updated))
}

fn encode_pairs(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", util::query_encode(k), util::query_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// `GET /apis/{site}/fhir/Appointment?...`: searchset Bundle with `_count` paging.
pub async fn search_appointments(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    if let Err(r) = authorize(&st, &headers, "Appointment") {
        return r;
    }
    let q = q.unwrap_or_default();
    let pairs: Vec<(String, String)> = match serde_urlencoded::from_str(&q) {
        Ok(p) => p,
        Err(_) => return fhir_error(StatusCode::BAD_REQUEST, "invalid", "Malformed query string"),
    };
    let search = match parse_search(&pairs) {
        Ok(s) => s,
        Err(e) => return fhir_error(StatusCode::BAD_REQUEST, "invalid", &e),
    };
    let base = st.fhir_base();
    let store = st.store.read().expect("store lock");
    let hits: Vec<&Appt> = store.iter().filter(|a| matches(&search, a)).collect();
    let total = hits.len();
    let page = hits.iter().skip(search.offset).take(search.count);
    let self_url = if q.is_empty() {
        format!("{base}/Appointment")
    } else {
        format!("{base}/Appointment?{q}")
    };
    let mut links = vec![json!({"relation": "self", "url": self_url})];
    if search.count > 0 && search.offset + search.count < total {
        let mut next = search.keep.clone();
        if !next.iter().any(|(k, _)| k == "_count") {
            next.push(("_count".into(), search.count.to_string()));
        }
        next.push(("_offset".into(), (search.offset + search.count).to_string()));
        links.push(json!({"relation": "next", "url": format!("{base}/Appointment?{}", encode_pairs(&next))}));
    }
    let mut out = String::with_capacity(256 + search.count.min(total) * 1400);
    out.push_str(r#"{"resourceType":"Bundle","id":""#);
    out.push_str(&util::uuid_v4());
    out.push_str(r#"","meta":{"lastUpdated":""#);
    out.push_str(&util::rfc3339_z(st.now()));
    out.push_str(r#""},"type":"searchset","total":"#);
    out.push_str(&total.to_string());
    out.push_str(r#","link":"#);
    out.push_str(&Value::Array(links).to_string());
    out.push_str(r#","entry":["#);
    for (i, a) in page.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(r#"{"fullUrl":"#);
        out.push_str(&json!(format!("{base}/Appointment/{}", a.id)).to_string());
        out.push_str(r#","resource":"#);
        out.push_str(&a.json);
        out.push('}');
    }
    out.push_str("]}");
    fhir_response(StatusCode::OK, out)
}

/// `GET /apis/{site}/fhir/Appointment/{id}`.
pub async fn read_appointment(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = authorize(&st, &headers, "Appointment") {
        return r;
    }
    let store = st.store.read().expect("store lock");
    match store.get(&id) {
        Some(a) => fhir_response(StatusCode::OK, a.json.clone()),
        None => fhir_error(
            StatusCode::NOT_FOUND,
            "not-found",
            &format!("Appointment/{id} not found"),
        ),
    }
}

/// `GET /apis/{site}/fhir/{Patient|Practitioner|Person|Location}/{id}`.
pub async fn read_other(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path((ty, id)): Path<(String, String)>,
) -> Response {
    if !OTHER_TYPES.contains(&ty.as_str()) {
        return fhir_error(
            StatusCode::NOT_FOUND,
            "not-supported",
            &format!("Resource type {ty} is not served"),
        );
    }
    if let Err(r) = authorize(&st, &headers, &ty) {
        return r;
    }
    let store = st.store.read().expect("store lock");
    match store.others.get(&format!("{ty}/{id}")) {
        Some(v) => fhir_response(StatusCode::OK, v.to_string()),
        None => fhir_error(
            StatusCode::NOT_FOUND,
            "not-found",
            &format!("{ty}/{id} not found"),
        ),
    }
}

/// `GET /apis/{site}/fhir/{Patient|...}?_id=a,b` (no paging; these lists are small).
pub async fn search_other(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(ty): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    if !OTHER_TYPES.contains(&ty.as_str()) {
        return fhir_error(
            StatusCode::NOT_FOUND,
            "not-supported",
            &format!("Resource type {ty} is not served"),
        );
    }
    if let Err(r) = authorize(&st, &headers, &ty) {
        return r;
    }
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(q.as_deref().unwrap_or("")).unwrap_or_default();
    let ids: Option<Vec<String>> = pairs
        .iter()
        .filter(|(k, _)| k == "_id")
        .map(|(_, v)| v.split(',').map(String::from).collect::<Vec<_>>())
        .reduce(|mut a, b| {
            a.extend(b);
            a
        });
    let base = st.fhir_base();
    let store = st.store.read().expect("store lock");
    let prefix = format!("{ty}/");
    let mut entries: Vec<(&String, &Value)> = store
        .others
        .iter()
        .filter(|(k, _)| k.starts_with(&prefix))
        .filter(|(k, _)| {
            ids.as_ref()
                .is_none_or(|ids| ids.iter().any(|i| k[prefix.len()..] == **i))
        })
        .collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    let body = json!({
        "resourceType": "Bundle", "type": "searchset", "total": entries.len(),
        "meta": {"lastUpdated": util::rfc3339_z(st.now())},
        "link": [{"relation": "self", "url": format!("{base}/{ty}{}", q.map(|q| format!("?{q}")).unwrap_or_default())}],
        "entry": entries.iter().map(|(k, v)| json!({"fullUrl": format!("{base}/{k}"), "resource": v})).collect::<Vec<_>>()
    });
    fhir_response(StatusCode::OK, body.to_string())
}
