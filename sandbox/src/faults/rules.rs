//! Fault rules as data: what `POST /control/faults` stores and the middleware consults. No
//! `AppState` here, so [`crate::state::AppState`] can hold [`Faults`] without a cycle.

use serde::{Deserialize, Serialize};

/// One fault rule (JSON body of `POST /control/faults`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FaultRule {
    /// Set by the server.
    #[serde(default)]
    pub id: u64,
    /// Path prefix to match (e.g. `/apis/default/fhir/Appointment`); all paths when absent.
    #[serde(default)]
    pub path: Option<String>,
    /// HTTP method to match; any when absent.
    #[serde(default)]
    pub method: Option<String>,
    /// Listener name to match (`main`, `expired`, ...); any when absent.
    #[serde(default)]
    pub listener: Option<String>,
    /// How many requests it applies to; unlimited when absent.
    #[serde(default)]
    pub times: Option<u32>,
    /// `status` | `delay` | `drop` | `stall` | `malformed_json` | `hostile_json` | `body`.
    pub kind: String,
    /// For `status` / `body`: HTTP status (default 500 / 200).
    #[serde(default)]
    pub status: Option<u16>,
    /// For `delay` (before the response) and `stall` (how long to hold, default 600 000).
    #[serde(default)]
    pub ms: Option<u64>,
    /// For `drop` / `stall`: response bytes (headers included) sent before cutting/stalling.
    #[serde(default)]
    pub after_bytes: Option<usize>,
    /// For `hostile_json`: `deep_nesting` (default) | `huge_string` | `wrong_types` |
    /// `huge_number` | `duplicate_keys` | `invalid_utf8` | `control_chars` | `foreign_next_link`.
    #[serde(default)]
    pub variant: Option<String>,
    /// For `body`: raw response body and its content type.
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub content_type: Option<String>,
}

/// Active rules.
#[derive(Debug, Default)]
pub struct Faults {
    pub rules: Vec<FaultRule>,
    next_id: u64,
}

impl Faults {
    /// Adds a rule and returns its id.
    pub fn add(&mut self, mut r: FaultRule) -> u64 {
        self.next_id += 1;
        r.id = self.next_id;
        self.rules.push(r);
        self.next_id
    }

    /// Takes the first rule matching this request (decrementing `times`).
    pub(super) fn take(&mut self, method: &str, path: &str, listener: &str) -> Option<FaultRule> {
        let i = self.rules.iter().position(|r| {
            r.path.as_deref().is_none_or(|p| path.starts_with(p))
                && r.method
                    .as_deref()
                    .is_none_or(|m| m.eq_ignore_ascii_case(method))
                && r.listener.as_deref().is_none_or(|l| l == listener)
        })?;
        let rule = self.rules[i].clone();
        if let Some(t) = self.rules[i].times.as_mut() {
            *t = t.saturating_sub(1);
            if *t == 0 {
                self.rules.remove(i);
            }
        }
        Some(rule)
    }
}
