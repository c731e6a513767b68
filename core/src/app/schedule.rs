//! The schedule as the app shows it: the active profile's encrypted cache, opened once per
//! session (the key comes from the keychain), a background sync that keeps it fresh, and the
//! day view read from the cache, so it works offline and says how old it is.
//!
//! The sync runs in its own task for as long as the clinician is signed in; sign-out stops
//! it and closes the cache. On a shared PC sign-out also deletes the cache and its key: the
//! next clinician finds nothing of the last one's schedule.

use super::Core;
use crate::auth::{Account, KeychainTokens};
use crate::error::CoreError;
use crate::net::Credential;
use crate::schedule::{
    Cache, CacheOpen, NetSource, SyncMode, SyncOptions, SyncProgress, Syncer, TokenSource as _,
    Unreadable, Visit, fhir_base,
};
use crate::vault::{ItemKind, Vault};
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// One day of the schedule, with the state of the sync (for the status line).
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct DayView {
    pub visits: Vec<Visit>,
    pub sync: SyncProgress,
    /// Something the clinician should know about the saved schedule (it was set aside).
    pub notice: Option<String>,
}

/// The schedule of the signed-in profile, while signed in.
pub(super) struct Running {
    profile: String,
    syncer: Arc<Syncer>,
    stop: watch::Sender<bool>,
    practitioner: Option<String>,
    notice: Option<String>,
}

fn recovered_words(reason: &Unreadable) -> String {
    let why = match reason {
        Unreadable::NoKey | Unreadable::WrongKeyOrHeader => "could not be unlocked",
        Unreadable::Damaged => "was damaged",
        Unreadable::NewerVersion => "was made by a newer version of Rounds",
    };
    format!(
        "The schedule saved on this computer {why}, so Rounds set it aside and is downloading \
         your schedule again. Nothing on the clinic's server is affected."
    )
}

impl Core {
    /// The clinician's own FHIR id (`fhirUser` from userinfo), to show their visits only.
    /// Remembered per profile (a staff id, not PHI) so the offline view filters the same way.
    async fn practitioner(&self, acct: &Account, tokens: &KeychainTokens) -> Option<String> {
        let profile = &acct.profile;
        let known = self
            .config
            .read()
            .ok()
            .and_then(|c| c.fhir_users.get(profile).cloned());
        let lookup = async {
            let token = tokens.token().await.ok()?;
            let url = tokens.userinfo_endpoint().await?;
            let cred = Credential::bearer(&url, token);
            let v = self.net.get_json_with(&url, Some(&cred)).await.ok()?;
            let r = v.get("fhirUser")?.as_str()?;
            let id = r.rsplit('/').next()?.to_string();
            (!id.is_empty() && id.len() <= 64).then_some(id)
        };
        match tokio::time::timeout(Duration::from_secs(5), lookup).await {
            Ok(Some(id)) => {
                // Written only when it changed (update_config skips an unchanged file).
                let _ = self.update_config(|c| {
                    c.fhir_users.insert(profile.clone(), id.clone());
                });
                Some(id)
            }
            _ => known,
        }
    }

    /// Opens the active profile's cache and starts its background sync, once per session.
    pub(super) async fn schedule(
        &self,
    ) -> Result<(Arc<Syncer>, Option<String>, Option<String>), CoreError> {
        let acct = self.account(None)?;
        let mut slot = self.schedule.lock().await;
        if let Some(r) = slot.as_ref().filter(|r| r.profile == acct.profile) {
            return Ok((r.syncer.clone(), r.practitioner.clone(), r.notice.clone()));
        }
        if let Some(old) = slot.take() {
            let _ = old.stop.send(true);
        }
        let vault = Vault::open()?;
        let dir = self.env.paths.cache_dir.clone();
        let (cache, how) = Cache::open(&dir, &acct.profile, &vault).await?;
        let notice = match &how {
            CacheOpen::Recovered { reason, .. } => {
                tracing::warn!(profile = %acct.profile, reason = %reason, "schedule cache set aside");
                Some(recovered_words(reason))
            }
            _ => None,
        };
        let tokens = self.session_tokens(&acct)?;
        let practitioner = self.practitioner(&acct, &tokens).await;
        let e = self.effective();
        let opts = SyncOptions {
            days_back: e.sync.days_back.into(),
            days_ahead: e.sync.days_ahead.into(),
            incremental_every: Duration::from_secs(e.sync.interval_seconds.into()),
            ..SyncOptions::default()
        };
        let source = NetSource::new(self.net.clone(), acct.server.clone(), Arc::new(tokens));
        let base = fhir_base(&acct.server, &acct.site)?;
        let syncer = Arc::new(Syncer::new(cache, Arc::new(source), base, opts));
        let (stop, stop_rx) = watch::channel(false);
        let bg = syncer.clone();
        tokio::spawn(async move {
            if let Err(e) = bg.run_until(stop_rx).await {
                tracing::warn!(error = %e, "schedule sync stopped; the clinician must act");
            }
        });
        // Each step of a sync (started, a page, done, failed) is a change the day view shows.
        let mut progress = syncer.progress();
        let changes = self.changes.clone();
        let mut stopped = stop.subscribe();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    moved = progress.changed() => match moved {
                        Ok(()) => changes.publish(crate::changes::Change::Schedule),
                        Err(_) => break,
                    },
                    _ = stopped.changed() => break,
                }
            }
        });
        tracing::info!(profile = %acct.profile, "schedule opened; background sync started");
        *slot = Some(Running {
            profile: acct.profile,
            syncer: syncer.clone(),
            stop,
            practitioner: practitioner.clone(),
            notice: notice.clone(),
        });
        Ok((syncer, practitioner, notice))
    }

    /// The visits of one local day (`[from, to)` in unix seconds, computed by the UI in the
    /// computer's time zone), from the cache: the same online and offline.
    pub async fn schedule_day(&self, from: i64, to: i64) -> Result<DayView, CoreError> {
        self.ensure_unlocked()?;
        if to <= from || to - from > 3 * 86_400 {
            return Err(CoreError::Internal(
                "a day is asked for as [start, end)".into(),
            ));
        }
        let (syncer, practitioner, notice) = self.schedule().await?;
        let mut visits = syncer
            .cache()
            .day(from, to, practitioner.as_deref())
            .await?;
        // A link typed into a note makes a video visit only where IT says the clinic does that.
        if self.effective().video.links_in_text {
            for v in visits
                .iter_mut()
                .filter(|v| v.link.is_some_and(|l| l.is_text()))
            {
                v.video = true;
            }
        }
        // Who is waiting: the clinic's arrivals and the open visit's lobby (app/waiting.rs).
        let open = self.visit_view_unguarded().await;
        super::waiting::apply(&mut visits, open.as_ref(), crate::vault::items::unix_now());
        let mut sync = syncer.progress().borrow().clone();
        if sync.last_synced.is_none() {
            sync.last_synced = syncer.cache().last_synced().await.ok().flatten();
        }
        Ok(DayView {
            visits,
            sync,
            notice,
        })
    }

    /// "Try now": a sync right away (unless one is running), without waiting for it.
    pub async fn sync_now(&self) -> Result<SyncProgress, CoreError> {
        self.ensure_unlocked()?;
        let (syncer, _, _) = self.schedule().await?;
        let bg = syncer.clone();
        tokio::spawn(async move {
            let _ = bg.sync_once(SyncMode::Auto).await;
        });
        tokio::task::yield_now().await;
        let p = syncer.progress().borrow().clone();
        Ok(p)
    }

    /// Sign-out: stop syncing and close the cache. On a shared PC (`forget`) the cache file
    /// and its key go too.
    pub(super) async fn close_schedule(&self, profile: &str, forget: bool) {
        if let Some(r) = self.schedule.lock().await.take() {
            let _ = r.stop.send(true);
            r.syncer.cache().close().await;
        }
        if forget {
            if let Err(e) = Cache::remove_files(&self.env.paths.cache_dir, profile) {
                tracing::warn!(error = %e, "could not delete the schedule cache");
            }
            if let Ok(v) = Vault::open() {
                let _ = v.delete(profile, ItemKind::CacheKey);
            }
            tracing::info!(profile, "shared PC: schedule cache and its key deleted");
        }
    }
}
