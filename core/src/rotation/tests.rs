//! The rotation rules pinned day by day (reminder days, local midnight, snoozes, the server's
//! JSON): long enough to keep out of the rules' own file.

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
