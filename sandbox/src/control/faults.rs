//! `/control/faults`: add, list, delete the fault rules the clinic middleware applies.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use crate::faults::FaultRule;
use crate::state::AppState;

use super::{err, ok};

pub(super) async fn list_faults(State(st): State<Arc<AppState>>) -> Response {
    ok(json!({"faults": crate::faults::list(&st)}))
}

pub(super) async fn add_fault(State(st): State<Arc<AppState>>, body: Bytes) -> Response {
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

pub(super) async fn clear_faults(State(st): State<Arc<AppState>>) -> Response {
    st.faults.lock().expect("faults lock").rules.clear();
    ok(json!({"cleared": true}))
}

pub(super) async fn delete_fault(State(st): State<Arc<AppState>>, Path(id): Path<u64>) -> Response {
    st.faults
        .lock()
        .expect("faults lock")
        .rules
        .retain(|r| r.id != id);
    ok(json!({"deleted": id}))
}
