//! "Patient waiting" on the schedule rows, for every visit of the day, not only the open one.
//!
//! Jitsi tells about lobby knocks only inside a room Rounds has joined, so for the other
//! visits Rounds uses what the clinic tells: the Appointment's `status` `arrived` /
//! `checked-in` (OpenEMR's `@`/`~`/`<`/`+`, set e.g. by a patient portal check-in). The cache
//! keeps the time of the first copy seen in that status (its `meta.lastUpdated`, never later
//! than this computer's clock; cache/write.rs), so a later unrelated edit (a comment, a room)
//! does not restart the wait. It is as fresh as the schedule sync (incremental every
//! `sync.interval_seconds`; push is issue 19) and the day view's poll.
//!
//! On top of that, the open visit's own lobby: a knock there makes (or keeps) the row waiting
//! since the earliest knock. Plain function over the day's rows, tested below.

use crate::schedule::Visit;
use crate::video::{VisitPhase, VisitView};

/// After the visit's end plus the join window's 30 min (clinic-api §4.1) a stale "arrived"
/// (the clinic never checked the patient out) is not someone waiting any more.
const STALE_AFTER_END_SECS: i64 = 30 * 60;

/// Sets or clears each visit's `waiting_since` from the cached arrival and the open visit.
pub(super) fn apply(visits: &mut [Visit], open: Option<&VisitView>, now: i64) {
    for v in visits.iter_mut() {
        if !v.video || !v.status.is_waiting() || now > v.end + STALE_AFTER_END_SECS {
            v.waiting_since = None;
        }
        let Some(o) = open.filter(|o| o.appointment_id == v.id) else {
            continue;
        };
        let knocked = o.knocking.iter().map(|k| k.since).min();
        // With the clinician: in the call with someone, or the visit was done.
        let seen = (o.phase == VisitPhase::Joined && o.participants > 0)
            || o.badge.as_deref() == Some("done");
        v.waiting_since = match (knocked, seen) {
            (Some(k), _) => Some(v.waiting_since.map_or(k, |a| a.min(k))),
            (None, true) => None,
            (None, false) => v.waiting_since,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::AppointmentStatus;
    use crate::video::{E2ee, Knock};

    fn visit(id: &str, status: AppointmentStatus, since: Option<i64>) -> Visit {
        Visit {
            id: id.into(),
            start: 1_000,
            end: 2_800,
            patient: None,
            visit_type: None,
            status,
            video: true,
            comment: None,
            link: None,
            waiting_since: since,
        }
    }

    fn open(id: &str, phase: VisitPhase, participants: u32, knocks: &[i64]) -> VisitView {
        VisitView {
            appointment_id: id.into(),
            phase,
            moderator: true,
            can_host: true,
            participants,
            knocking: knocks
                .iter()
                .map(|t| Knock {
                    id: format!("k{t}"),
                    name: "x".into(),
                    since: *t,
                })
                .collect(),
            e2ee: E2ee::Unknown,
            lobby: true,
            password_required: false,
            failure: None,
            media_unsupported: false,
            started_at: None,
            ended_at: None,
            badge: None,
        }
    }

    #[test]
    fn arrived_visits_wait_from_the_cached_time_until_stale() {
        let mut v = [
            visit("a", AppointmentStatus::Arrived, Some(900)),
            visit("b", AppointmentStatus::Booked, Some(900)),
            visit("c", AppointmentStatus::CheckedIn, Some(950)),
        ];
        apply(&mut v, None, 1_200);
        let got: Vec<_> = v.iter().map(|v| v.waiting_since).collect();
        assert_eq!(got, [Some(900), None, Some(950)]);
        apply(&mut v, None, 2_800 + STALE_AFTER_END_SECS + 1);
        assert!(v.iter().all(|v| v.waiting_since.is_none()));
    }

    #[test]
    fn the_open_visit_waits_from_its_first_knock_and_stops_once_admitted() {
        let mut v = [visit("a", AppointmentStatus::Booked, None)];
        let o = open("a", VisitPhase::Joined, 0, &[1_100, 1_050]);
        apply(&mut v, Some(&o), 1_200);
        assert_eq!(v[0].waiting_since, Some(1_050));
        let mut v = [visit("a", AppointmentStatus::Arrived, Some(1_000))];
        apply(&mut v, Some(&o), 1_200);
        assert_eq!(v[0].waiting_since, Some(1_000), "the earlier of the two");
        let admitted = open("a", VisitPhase::Joined, 1, &[]);
        apply(&mut v, Some(&admitted), 1_300);
        assert_eq!(v[0].waiting_since, None);
        let mut other = [visit("b", AppointmentStatus::Arrived, Some(1_000))];
        apply(&mut other, Some(&admitted), 1_300);
        assert_eq!(
            other[0].waiting_since,
            Some(1_000),
            "another visit still waits"
        );
    }
}
