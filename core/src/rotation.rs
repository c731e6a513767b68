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
mod tests {
    use super::*;
    use time::macros::{date, datetime, offset};

    const UTC: UtcOffset = UtcOffset::UTC;

    fn policy(rotation_days: u16) -> PasswordEffective {
        PasswordEffective {
            rotation_days,
            ..PasswordEffective::default()
        }
    }

    /// Last changed 2026-06-01 08:00Z, server expiry after `server_days` (None = never).
    fn status(server_days: Option<i64>, state: ServerState) -> ServerStatus {
        let last = datetime!(2026-06-01 08:00 UTC);
        ServerStatus {
            policy: ServerPolicy {
                min_length: 9,
                max_length: 72,
                require_strong: true,
                history_count: 5,
                expiration_days: server_days.unwrap_or(0) as u32,
                grace_days: 30,
                max_failed_logins: Some(20),
            },
            last_changed_at: last,
            expires_at: server_days.map(|d| last + Duration::days(d)),
            grace_ends_at: server_days.map(|d| last + Duration::days(d + 30)),
            state,
            mfa_enrolled: true,
        }
    }

    /// Due 2026-11-28 08:00Z (180 days after 2026-06-01 08:00Z).
    const DUE: Date = date!(2026 - 11 - 28);

    fn at_days_left(n: i64) -> OffsetDateTime {
        // Noon UTC, `n` calendar days before the due date.
        (DUE - Duration::days(n))
            .with_hms(12, 0, 0)
            .expect("time")
            .assume_utc()
    }

    fn run(n: i64) -> Rotation {
        assess(
            at_days_left(n),
            &status(Some(180), ServerState::Ok),
            &policy(180),
            None,
            UTC,
        )
    }

    #[test]
    fn reminders_exactly_on_the_right_days() {
        let r = run(15);
        assert_eq!(
            (r.state, r.days_left, r.stage, r.remind),
            (RotationState::Ok, Some(15), None, false)
        );
        assert_eq!(r.due_on.as_deref(), Some("2026-11-28"));
        assert_eq!(r.grace_ends_on.as_deref(), Some("2026-12-28"));
        for (left, stage) in [
            (14, 14),
            (8, 14),
            (7, 7),
            (5, 7),
            (4, 7),
            (3, 3),
            (2, 3),
            (1, 1),
        ] {
            let r = run(left);
            assert_eq!(r.state, RotationState::Reminder, "{left}");
            assert_eq!(r.days_left, Some(left as i32));
            assert_eq!(r.stage, Some(stage), "{left} days left");
            assert!(r.remind, "{left}");
        }
        for left in [0, -1, -40] {
            let r = run(left);
            assert_eq!(r.state, RotationState::Expired, "{left}");
            assert_eq!((r.stage, r.remind), (None, false));
        }
    }

    #[test]
    fn snooze_lasts_for_today_only() {
        let now = at_days_left(5);
        let today = now.date();
        let st = status(Some(180), ServerState::Expiring);
        let r = assess(now, &st, &policy(180), Some(today), UTC);
        assert_eq!((r.state, r.remind), (RotationState::Reminder, false));
        let yesterday = today - Duration::days(1);
        let r = assess(now, &st, &policy(180), Some(yesterday), UTC);
        assert!(r.remind);
        // A snooze from today is over at the next local midnight.
        let next_morning = (today + Duration::days(1)).midnight().assume_utc();
        assert!(assess(next_morning, &st, &policy(180), Some(today), UTC).remind);
    }

    #[test]
    fn expired_cannot_be_snoozed() {
        let now = at_days_left(0);
        let st = status(Some(180), ServerState::Ok);
        let r = assess(now, &st, &policy(180), Some(now.date()), UTC);
        assert_eq!(r.state, RotationState::Expired);
        // The server's grace state wins even when the local dates say otherwise (skewed clock).
        let r = assess(
            at_days_left(3),
            &status(Some(180), ServerState::Grace),
            &policy(180),
            Some(at_days_left(3).date()),
            UTC,
        );
        assert_eq!(r.state, RotationState::Expired);
        assert!(!r.remind);
    }

    #[test]
    fn rotation_off_in_policy_uses_the_server_expiry() {
        let r = assess(
            at_days_left(7),
            &status(Some(180), ServerState::Expiring),
            &policy(0),
            None,
            UTC,
        );
        assert_eq!(
            (r.state, r.stage, r.due_on.as_deref()),
            (RotationState::Reminder, Some(7), Some("2026-11-28"))
        );
        // Neither policy nor server expire it: never due.
        let r = assess(
            at_days_left(7),
            &status(None, ServerState::Ok),
            &policy(0),
            None,
            UTC,
        );
        assert_eq!(
            (r.state, r.due_on, r.days_left, r.remind),
            (RotationState::Ok, None, None, false)
        );
        // Server never expires it; policy does (180 days).
        let r = assess(
            at_days_left(3),
            &status(None, ServerState::Ok),
            &policy(180),
            None,
            UTC,
        );
        assert_eq!((r.state, r.stage), (RotationState::Reminder, Some(3)));
    }

    #[test]
    fn the_earlier_of_policy_and_server_wins() {
        // Policy 90 days: due 2026-08-30, well before the server's 2026-11-28.
        let now = datetime!(2026-08-25 12:00 UTC);
        let r = assess(
            now,
            &status(Some(180), ServerState::Ok),
            &policy(90),
            None,
            UTC,
        );
        assert_eq!(r.due_on.as_deref(), Some("2026-08-30"));
        assert_eq!(
            (r.state, r.days_left, r.stage),
            (RotationState::Reminder, Some(5), Some(7))
        );
        // Server shorter than policy (policy 365): the server's date.
        let r = assess(
            at_days_left(2),
            &status(Some(180), ServerState::Expiring),
            &policy(365),
            None,
            UTC,
        );
        assert_eq!(
            (r.due_on.as_deref(), r.days_left),
            (Some("2026-11-28"), Some(2))
        );
    }

    #[test]
    fn local_midnight_is_the_boundary() {
        let st = status(Some(180), ServerState::Ok);
        // Due 2026-11-28 08:00Z. In UTC: 1 day left all of 11-27, 0 from 11-28 00:00.
        let last_second = datetime!(2026-11-27 23:59:59 UTC);
        let r = assess(last_second, &st, &policy(180), None, UTC);
        assert_eq!((r.days_left, r.state), (Some(1), RotationState::Reminder));
        let midnight = datetime!(2026-11-28 00:00 UTC);
        let r = assess(midnight, &st, &policy(180), None, UTC);
        assert_eq!((r.days_left, r.state), (Some(0), RotationState::Expired));
        // In UTC-10 the due instant is 2026-11-27 22:00 local: due *on the 27th* there, and
        // the count flips at local (not UTC) midnight.
        let hst = offset!(-10);
        let r = assess(
            datetime!(2026-11-26 23:59:59 -10),
            &st,
            &policy(180),
            None,
            hst,
        );
        assert_eq!(
            (r.due_on.as_deref(), r.days_left),
            (Some("2026-11-27"), Some(1))
        );
        let r = assess(
            datetime!(2026-11-27 00:00 -10),
            &st,
            &policy(180),
            None,
            hst,
        );
        assert_eq!((r.days_left, r.state), (Some(0), RotationState::Expired));
        // `now` given in another offset is converted first: same instant, same answer.
        let same = datetime!(2026-11-27 10:00 UTC);
        assert_eq!(
            assess(same, &st, &policy(180), None, hst),
            assess(same.to_offset(hst), &st, &policy(180), None, hst)
        );
        // A snooze is per local day too: 23:00 on the 26th in UTC-10 is already the 27th in
        // UTC, yet a snooze from the local 26th still holds.
        let snoozed = date!(2026 - 11 - 26);
        let before = datetime!(2026-11-26 23:00 -10);
        assert!(!assess(before, &st, &policy(180), Some(snoozed), hst).remind);
    }

    #[test]
    fn server_json_is_parsed_strictly() {
        let good = serde_json::json!({"policy":{"min_length":9,"max_length":72,"require_strong":true,
            "history_count":5,"expiration_days":180,"grace_days":30,"max_failed_logins":20},
            "last_changed_at":"2026-06-01T08:00:00Z","expires_at":"2026-11-28T08:00:00+00:00",
            "grace_ends_at":"2026-12-28T08:00:00Z","state":"expiring","mfa_enrolled":true,
            "something_new": 1});
        let s = ServerStatus::from_json(&good).expect("parses");
        assert_eq!(s.expires_at, Some(datetime!(2026-11-28 08:00 UTC)));
        assert_eq!(s.state, ServerState::Expiring);
        assert_eq!(s.policy.history_count, 5);
        let mut never = good.clone();
        never["expires_at"] = serde_json::Value::Null;
        never["grace_ends_at"] = serde_json::Value::Null;
        assert_eq!(
            ServerStatus::from_json(&never)
                .expect("null expiry")
                .expires_at,
            None
        );
        let bad = |k: &str, v: serde_json::Value| {
            let mut b = good.clone();
            b[k] = v;
            b
        };
        for (what, b) in [
            ("state", bad("state", "soon".into())),
            ("time", bad("last_changed_at", "yesterday".into())),
            ("no time", bad("expires_at", "2026-11-28".into())),
            ("type", bad("state", 3.into())),
            (
                "policy",
                bad("policy", serde_json::json!({"min_length": -1})),
            ),
            ("missing", serde_json::json!({"state": "ok"})),
            ("not object", serde_json::json!([1, 2])),
            ("null", serde_json::Value::Null),
        ] {
            assert!(ServerStatus::from_json(&b).is_err(), "{what} accepted");
        }
    }

    #[test]
    fn dates_round_trip() {
        assert_eq!(parse_date("2026-11-28"), Some(date!(2026 - 11 - 28)));
        assert_eq!(format_date(date!(2026 - 01 - 05)), "2026-01-05");
        for bad in [
            "",
            "2026-02-30",
            "2026-1-05",
            "20261128xx",
            "+026-11-28",
            "2026-11-2８",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }
}
