//! When to ask for a fresh sign-in so the session does not end during a visit.
//!
//! A sign-in ends at a fixed time (the refresh token's end: policy `mfa.session_hours` after
//! the password and code were given; on a shared PC the access token's). If that time falls
//! before the end of the next visit, Rounds asks for password and code *before* the visit, at
//! a quiet moment: never while a call has someone in it, and not in the last
//! [`QUIET_BEFORE_SECS`] before a visit starts (the clinician is getting ready to join). The
//! question is asked only for a visit starting within [`LOOK_AHEAD_SECS`], so it comes when it
//! matters, not hours early.

use serde::Serialize;

/// No prompt in the last 3 minutes before a visit starts.
pub const QUIET_BEFORE_SECS: i64 = 3 * 60;
/// Visits starting within the next hour are looked at.
pub const LOOK_AHEAD_SECS: i64 = 60 * 60;

/// A visit of the day, as the decision needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub start: i64,
    pub end: i64,
}

/// The question to ask now, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct RenewPrompt {
    /// When the sign-in ends (unix seconds).
    #[specta(type = u32)]
    pub session_end: i64,
    /// The visit it would end during (or before).
    #[specta(type = u32)]
    pub visit_start: i64,
    #[specta(type = u32)]
    pub visit_end: i64,
    /// Plain words for the card.
    pub says: String,
}

/// Why no question now (for the log and the tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// The session outlasts the next visit (or there is none soon).
    NotNeeded,
    /// A call has someone in it.
    InCall,
    /// The next visit starts in less than [`QUIET_BEFORE_SECS`].
    AboutToStart,
    /// Nobody is signed in, or the session already ended (the sign-in screen asks).
    NoSession,
}

/// `slots` need not be sorted; cancelled visits must already be left out.
pub fn decide(
    now: i64,
    session_end: Option<i64>,
    slots: &[Slot],
    in_call: bool,
    utc_offset_secs: i32,
) -> Result<RenewPrompt, Hold> {
    let end = match session_end {
        Some(e) if e > now => e,
        _ => return Err(Hold::NoSession),
    };
    let mut soon: Vec<&Slot> = slots
        .iter()
        .filter(|s| s.start >= now && s.start - now <= LOOK_AHEAD_SECS)
        .collect();
    soon.sort_by_key(|s| s.start);
    // The first visit the session would not last through; asked for before the visits
    // ahead of it too, since a gap between them may never come.
    let Some(next) = soon.iter().find(|s| end < s.end) else {
        return Err(Hold::NotNeeded);
    };
    if in_call {
        return Err(Hold::InCall);
    }
    if soon
        .first()
        .is_some_and(|s| s.start - now < QUIET_BEFORE_SECS)
    {
        return Err(Hold::AboutToStart);
    }
    let at = |t| super::clock_time(t, utc_offset_secs);
    let says = if end <= next.start {
        format!(
            "Your sign-in ends at {}, before your {} visit. Sign in again now (password and code) so it lasts through the visit.",
            at(end),
            at(next.start)
        )
    } else {
        format!(
            "Your sign-in ends at {}, during your {}\u{2013}{} visit. Sign in again now (password and code) so it lasts through the visit.",
            at(end),
            at(next.start),
            at(next.end)
        )
    };
    Ok(RenewPrompt {
        session_end: end,
        visit_start: next.start,
        visit_end: next.end,
        says,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_900_000_000;
    const MIN: i64 = 60;

    fn visit(start_in_min: i64, len_min: i64) -> Slot {
        Slot {
            start: NOW + start_in_min * MIN,
            end: NOW + (start_in_min + len_min) * MIN,
        }
    }

    #[test]
    fn asks_when_the_session_ends_during_the_next_visit() {
        let p = decide(NOW, Some(NOW + 25 * MIN), &[visit(20, 30)], false, 0).expect("asks");
        assert_eq!(p.visit_start, NOW + 20 * MIN);
        assert!(p.says.contains("during your"), "{}", p.says);
    }

    #[test]
    fn asks_when_it_ends_between_now_and_the_visit() {
        let p = decide(NOW, Some(NOW + 10 * MIN), &[visit(20, 30)], false, 0).expect("asks");
        assert!(p.says.contains("before your"), "{}", p.says);
    }

    #[test]
    fn never_during_a_call() {
        let r = decide(NOW, Some(NOW + 25 * MIN), &[visit(20, 30)], true, 0);
        assert_eq!(r, Err(Hold::InCall));
    }

    #[test]
    fn not_in_the_last_minutes_before_a_visit() {
        let r = decide(NOW, Some(NOW + 25 * MIN), &[visit(2, 30)], false, 0);
        assert_eq!(r, Err(Hold::AboutToStart));
        assert!(decide(NOW, Some(NOW + 25 * MIN), &[visit(3, 30)], false, 0).is_ok());
    }

    #[test]
    fn not_when_the_session_outlasts_the_visit_or_it_is_far_off() {
        assert_eq!(
            decide(NOW, Some(NOW + 120 * MIN), &[visit(20, 30)], false, 0),
            Err(Hold::NotNeeded)
        );
        assert_eq!(
            decide(NOW, Some(NOW + 61 * MIN), &[visit(61, 30)], false, 0),
            Err(Hold::NotNeeded),
            "more than an hour ahead"
        );
        assert_eq!(
            decide(NOW, Some(NOW + MIN), &[], false, 0),
            Err(Hold::NotNeeded)
        );
        assert_eq!(
            decide(NOW, Some(NOW - 1), &[visit(20, 30)], false, 0),
            Err(Hold::NoSession)
        );
    }

    #[test]
    fn asks_before_earlier_visits_for_a_later_one_it_would_cut() {
        // The visit in 10 min ends before the session does; the one at 40 min does not.
        let p = decide(
            NOW,
            Some(NOW + 50 * MIN),
            &[visit(40, 30), visit(10, 20)],
            false,
            0,
        )
        .expect("asks");
        assert_eq!(p.visit_start, NOW + 40 * MIN);
        // …but not while the first of them is about to start.
        let r = decide(
            NOW,
            Some(NOW + 50 * MIN),
            &[visit(40, 30), visit(1, 20)],
            false,
            0,
        );
        assert_eq!(r, Err(Hold::AboutToStart));
    }
}
