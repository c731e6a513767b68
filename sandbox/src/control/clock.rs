//! `/control/time` and `/control/config`: the shifted server clock and the switches of
//! [`crate::state::Config`].

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::state::AppState;
use crate::util::{self};

use super::{err, ok, parse_json};

pub(super) async fn get_time(State(st): State<Arc<AppState>>) -> Response {
    ok(json!({"now": util::rfc3339_z(st.now()), "offset_seconds": st.clock.offset()}))
}

/// `{"offset_seconds": N}` sets the offset; `{"advance_seconds": N}` adds to it.
pub(super) async fn set_time(State(st): State<Arc<AppState>>, body: Bytes) -> Response {
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

pub(super) async fn get_config(State(st): State<Arc<AppState>>) -> Response {
    ok(json!(st.config()))
}

pub(super) async fn set_config(State(st): State<Arc<AppState>>, body: Bytes) -> Response {
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
