//! Password rotation (issue 10): when the password is due, which reminder applies today, and
//! whether the change-password flow must come before anything else. Pure logic; the clock and
//! the local UTC offset are passed in, so tests pin any day. Rounds never rotates a password by
//! itself: this only tells the UI what to show.
//!
//! The rules:
//! - **Due instant** = the earlier of (server `last_changed_at` + policy `rotation_days`, when
//!   `rotation_days > 0`) and the server's `expires_at` (when present). Neither → never due.
//! - **days_left** = whole *local calendar days* from today's local date to the due instant's
//!   local date. The time of day does not matter: due at 2026-11-28 08:00 local, it is 1 on
//!   any time of 11-27 (00:00 to 23:59:59) and 0 from 11-28 00:00 local, i.e. the password is
//!   treated as expired for the whole of its due day.
//! - **Reminder** when `0 < days_left ≤ max(reminder_days)`; `stage` = the smallest reminder day
//!   `d` with `days_left ≤ d` (5 days left with `[14, 7, 3, 1]` → stage 7).
//! - **Expired** when `days_left ≤ 0` or the server says `grace`: never snoozable.
//! - `remind` = Reminder and not snoozed *today* (a snooze lasts until local midnight).

use serde::Serialize;
use time::{Date, Duration, OffsetDateTime, UtcOffset};

use crate::policy::PasswordEffective;

/// The server's password policy (§2.2 `policy`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerPolicy {
    pub min_length: u32,
    pub max_length: u32,
    /// OpenEMR `secure_password`: at least one digit, lower, upper and special character.
    pub require_strong: bool,
    pub history_count: u32,
    /// 0 = never expires.
    pub expiration_days: u32,
    pub grace_days: u32,
    pub max_failed_logins: Option<u32>,
}

/// The server's `state` (§2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerState {
    Ok,
    /// ≤ 14 days to `expires_at`.
    Expiring,
    /// Past `expires_at`, before `grace_ends_at`: sign-in still works, the change is due now.
    Grace,
}

/// `GET /apis/{site}/clinic/password/status`, parsed strictly ([`ServerStatus::from_json`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerStatus {
    pub policy: ServerPolicy,
    pub last_changed_at: OffsetDateTime,
    pub expires_at: Option<OffsetDateTime>,
    pub grace_ends_at: Option<OffsetDateTime>,
    pub state: ServerState,
    pub mfa_enrolled: bool,
}

#[derive(serde::Deserialize)]
struct RawPolicy {
    min_length: u32,
    max_length: u32,
    require_strong: bool,
    history_count: u32,
    expiration_days: u32,
    grace_days: u32,
    #[serde(default)]
    max_failed_logins: Option<u32>,
}

#[derive(serde::Deserialize)]
struct RawStatus {
    policy: RawPolicy,
    last_changed_at: String,
    expires_at: Option<String>,
    grace_ends_at: Option<String>,
    state: String,
    #[serde(default)]
    mfa_enrolled: bool,
}

fn instant(field: &str, s: &str) -> Result<OffsetDateTime, String> {
    crate::schedule::instant::parse_instant(s)
        .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
        .ok_or_else(|| format!("`{field}` is not an RFC 3339 time"))
}

impl ServerStatus {
    /// Strict: every member of §2.2 must be there with its type (unknown extra members are
    /// ignored, as §0 asks), times must be RFC 3339 and `state` one of the three words. The
    /// error text names the problem and never echoes server text.
    pub fn from_json(v: &serde_json::Value) -> Result<Self, String> {
        let raw = RawStatus::deserialize_value(v)?;
        let state = match raw.state.as_str() {
            "ok" => ServerState::Ok,
            "expiring" => ServerState::Expiring,
            "grace" => ServerState::Grace,
            _ => return Err("`state` is not ok, expiring or grace".into()),
        };
        let opt = |field: &str, s: &Option<String>| s.as_deref().map(|s| instant(field, s));
        Ok(Self {
            policy: ServerPolicy {
                min_length: raw.policy.min_length,
                max_length: raw.policy.max_length,
                require_strong: raw.policy.require_strong,
                history_count: raw.policy.history_count,
                expiration_days: raw.policy.expiration_days,
                grace_days: raw.policy.grace_days,
                max_failed_logins: raw.policy.max_failed_logins,
            },
            last_changed_at: instant("last_changed_at", &raw.last_changed_at)?,
            expires_at: opt("expires_at", &raw.expires_at).transpose()?,
            grace_ends_at: opt("grace_ends_at", &raw.grace_ends_at).transpose()?,
            state,
            mfa_enrolled: raw.mfa_enrolled,
        })
    }
}

impl RawStatus {
    fn deserialize_value(v: &serde_json::Value) -> Result<Self, String> {
        use serde::Deserialize as _;
        Self::deserialize(v).map_err(|e| {
            // serde_json's message names the member and the expected type, not the value.
            format!("password status: {e}")
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum RotationState {
    /// Nothing to show.
    Ok,
    /// Within the reminder days: a reminder at sign-in and a banner (snoozable for the day).
    Reminder,
    /// Due (or in the server's grace period): the change-password flow comes before anything
    /// else; never snoozable.
    Expired,
    /// The server has no password endpoint (plain OpenEMR): the UI shows nothing.
    Unknown,
}

/// What the UI shows about password age. Nothing secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Rotation {
    pub state: RotationState,
    /// Local date the password is due, `YYYY-MM-DD`.
    pub due_on: Option<String>,
    /// Whole local calendar days from today to `due_on` (≤ 0 once due).
    pub days_left: Option<i32>,
    /// Show the reminder now (Reminder and not snoozed today).
    pub remind: bool,
    /// The reminder day that applies (5 days left with 14/7/3/1 → 7).
    pub stage: Option<u16>,
    /// Local date after which the server refuses sign-in (an administrator must reset it).
    pub grace_ends_on: Option<String>,
}

impl Rotation {
    /// The server has no password status: nothing to show.
    pub fn unknown() -> Self {
        Self {
            state: RotationState::Unknown,
            due_on: None,
            days_left: None,
            remind: false,
            stage: None,
            grace_ends_on: None,
        }
    }
}

/// `YYYY-MM-DD`.
pub fn format_date(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// Parses `YYYY-MM-DD` (as [`format_date`] writes it); `None` for anything else.
pub fn parse_date(s: &str) -> Option<Date> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = s.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let y = i32::try_from(num(0..4)?).ok()?;
    let m = time::Month::try_from(u8::try_from(num(5..7)?).ok()?).ok()?;
    let d = u8::try_from(num(8..10)?).ok()?;
    Date::from_calendar_date(y, m, d).ok()
}

/// See the module doc for the rules. `local` is the computer's UTC offset now (dates are the
/// clinician's calendar dates).
pub fn assess(
    now: OffsetDateTime,
    status: &ServerStatus,
    policy: &PasswordEffective,
    snoozed_on: Option<Date>,
    local: UtcOffset,
) -> Rotation {
    let today = now.to_offset(local).date();
    let by_policy = (policy.rotation_days > 0)
        .then(|| status.last_changed_at + Duration::days(i64::from(policy.rotation_days)));
    let due = match (by_policy, status.expires_at) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let due_date = due.map(|t| t.to_offset(local).date());
    let days_left = due_date.map(|d| {
        let n = (d - today).whole_days();
        i32::try_from(n).unwrap_or(if n < 0 { i32::MIN } else { i32::MAX })
    });
    let widest = policy
        .reminder_days
        .iter()
        .copied()
        .filter(|d| *d > 0)
        .max();
    let stage = match (days_left, widest) {
        (Some(n), Some(w)) if n > 0 && n <= i32::from(w) => policy
            .reminder_days
            .iter()
            .copied()
            .filter(|d| *d > 0 && n <= i32::from(*d))
            .min(),
        _ => None,
    };
    let expired = status.state == ServerState::Grace || days_left.is_some_and(|n| n <= 0);
    let state = if expired {
        RotationState::Expired
    } else if stage.is_some() {
        RotationState::Reminder
    } else {
        RotationState::Ok
    };
    Rotation {
        state,
        due_on: due_date.map(format_date),
        days_left,
        remind: state == RotationState::Reminder && snoozed_on != Some(today),
        stage: if state == RotationState::Reminder {
            stage
        } else {
            None
        },
        grace_ends_on: status
            .grace_ends_at
            .map(|t| format_date(t.to_offset(local).date())),
    }
}

#[cfg(test)]
mod tests;
