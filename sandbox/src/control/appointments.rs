//! `/control/appointments` and `/control/resources`: the FHIR data the clinic serves
//! (add, generate, edit, cancel, delete).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::state::AppState;
use crate::util::{self};

use super::{err, ok, parse_json};

/// Body: one Appointment, an array of them, or a Bundle with `entry[].resource`.
pub(super) async fn add_appointments(State(st): State<Arc<AppState>>, body: Bytes) -> Response {
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

pub(super) async fn clear_appointments(State(st): State<Arc<AppState>>) -> Response {
    st.store.write().expect("store lock").clear_appointments();
    ok(json!({"cleared": true}))
}

pub(super) async fn generate(State(st): State<Arc<AppState>>, body: Bytes) -> Response {
    let v = match parse_json(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let n = v.get("count").and_then(Value::as_u64).unwrap_or(100) as usize;
    crate::seed::directory(&st, crate::seed::GENERATED_PATIENTS);
    crate::seed::generate(&st, n);
    ok(json!({"appointments": st.store.read().expect("store lock").len()}))
}

pub(super) async fn delete_appointment(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Response {
    let removed = st.store.write().expect("store lock").remove(&id);
    ok(json!({"deleted": removed}))
}

/// `{"status": "cancelled"}`: changes status and bumps `meta.lastUpdated` (like an edit in
/// OpenEMR's calendar).
pub(super) async fn set_status(
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
pub(super) async fn edit_appointment(
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
pub(super) async fn add_resource(State(st): State<Arc<AppState>>, body: Bytes) -> Response {
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
