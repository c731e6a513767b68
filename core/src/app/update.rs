//! The app's side of updates: policy mapped to [`UpdatePolicy`] (other modules never read
//! policy) and whether a visit is open (nothing about updates happens during one).

use super::Core;
use crate::policy::Origin;
use crate::update::{Platform, UpdateContext, UpdatePolicy};

impl Core {
    /// IT's update rules in force.
    pub fn update_policy(&self) -> UpdatePolicy {
        let r = self.resolved();
        let u = &r.effective.updates;
        UpdatePolicy {
            mode: u.mode,
            channel: u.channel,
            pinned_version: u.pinned_version.clone(),
            endpoint: u.endpoint.clone(),
            public_key: u.public_key.clone(),
            locked: r.origin("updates.mode").is_some_and(Origin::locked),
        }
    }

    /// A visit is open (joining, in the call, or left but not ended): updates wait.
    pub async fn visit_open(&self) -> bool {
        self.visit_view_unguarded().await.is_some_and(|v| {
            !matches!(
                v.phase,
                crate::video::VisitPhase::Ended | crate::video::VisitPhase::Failed
            )
        })
    }

    /// What an update check needs now; `bundle` is how this copy was packaged (the shell
    /// knows: `deb`, `appimage`, …).
    pub async fn update_context(&self, bundle: Option<&str>) -> UpdateContext {
        UpdateContext {
            policy: self.update_policy(),
            net: self.net_config(),
            running: semver::Version::parse(crate::VERSION)
                .unwrap_or_else(|_| semver::Version::new(0, 0, 0)),
            platform: Platform::current(bundle),
            visit_open: self.visit_open().await,
        }
    }
}
