//! What changed in the core, published for front ends that follow it instead of polling it
//! (issue 19). A change names *what* moved, never carries it: the front end asks the core's
//! guarded accessors for the new state (`session_state`, `lock_view`, `visit_view`, the day
//! view), so the lock's "no PHI on screen" rule stays in one place and no event can hold a
//! patient's name while the screen is locked.
//!
//! A leaf module (no imports from the rest of the core), so the schedule, the visit page and
//! the readiness checks can publish without depending on `app`.

use serde::Serialize;
use tokio::sync::broadcast;

/// One kind of change. Several in a row may be coalesced by a receiver that lags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum Change {
    /// Signed in, renewed, signed out, or the sign-in ended.
    Session,
    /// A schedule sync started, moved on or finished (its progress and the cached visits).
    Schedule,
    /// The open visit: phase, who knocks, who is in the call; or a visit opened or ended.
    Visit,
    /// The lock fell or opened, or its one-minute warning came or went.
    Lock,
    /// A visit's readiness check finished.
    Readiness,
    /// The question "renew your sign-in before the next visit" appeared or went.
    Renew,
    /// An update was found, downloaded or installed (published by the shell's updater).
    Update,
}

impl Change {
    pub const ALL: [Change; 7] = [
        Change::Session,
        Change::Schedule,
        Change::Visit,
        Change::Lock,
        Change::Readiness,
        Change::Renew,
        Change::Update,
    ];
}

/// The sending side: cheap to clone into the tasks that publish.
#[derive(Debug, Clone)]
pub struct Publisher {
    tx: broadcast::Sender<Change>,
}

/// Room for bursts (a sync page, a run of Jitsi events); a receiver further behind gets
/// `Lagged` and should refresh everything (`Change::ALL`).
const CAPACITY: usize = 64;

impl Default for Publisher {
    fn default() -> Self {
        Self {
            tx: broadcast::channel(CAPACITY).0,
        }
    }
}

impl Publisher {
    /// Nobody listening is fine (the CLI, the tests without a window).
    pub fn publish(&self, c: Change) {
        let _ = self.tx.send(c);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.tx.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_subscriber_sees_each_change_in_order_and_a_laggard_is_told() {
        let p = Publisher::default();
        let mut a = p.subscribe();
        let mut b = p.subscribe();
        p.publish(Change::Session);
        p.publish(Change::Visit);
        for rx in [&mut a, &mut b] {
            assert_eq!(rx.recv().await.ok(), Some(Change::Session));
            assert_eq!(rx.recv().await.ok(), Some(Change::Visit));
        }
        for _ in 0..CAPACITY + 1 {
            p.publish(Change::Schedule);
        }
        assert!(matches!(
            a.recv().await,
            Err(broadcast::error::RecvError::Lagged(_))
        ));
    }
}
