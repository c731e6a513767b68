//! The sync engine (clinic-api.md §3.4).
//!
//! - A **window run** asks for `date=ge{today-back}&date=le{today+ahead}&_count=100` and
//!   follows `next` links verbatim (same origin only). When its last page commits, every cached
//!   appointment it did not see is dropped (OpenEMR hard-deletes rows and has no tombstones),
//!   but only when the Bundle's `total` equals the entries received: a page with no total, or
//!   offset paging that shifted under concurrent edits, deletes nothing.
//! - An **incremental run** asks for `_lastUpdated=gt{W-60s}` (only if `/metadata` lists
//!   `_lastUpdated` for Appointment; else every run is a window run).
//! - Each page is one transaction with the run's cursor; a failed page leaves the cache as it
//!   was and the next sync resumes at the stored cursor.
//! - `W` is taken from the **server's** clock (entries' `meta.lastUpdated`, capped by the
//!   server time of the run's first page so changes made during the run are asked for again),
//!   and is stored only in the run's last page's transaction: a skewed client clock cannot
//!   make Rounds miss a change, and a failed run never advances `W`.
//! - One run at a time: a second `sync_once` gets [`ScheduleError::AlreadyRunning`] at once
//!   (it does not queue); callers watch [`Syncer::progress`] instead.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, watch};
use url::Url;

use super::cache::{Cache, Finish, PageWrite, Run, RunKind};
use super::fhir::{Appointment, parse_bundle};
use super::instant::unix_now;
use super::resources::parse_patients;
use super::source::FhirSource;
use super::{ScheduleError, SyncPhase, SyncProgress};

mod options;
mod query;

pub use options::{SyncMode, SyncOptions, SyncSummary};

struct Memory {
    last_updated_supported: Option<bool>,
}

/// Syncs one profile's schedule into its cache. Share it behind an `Arc`.
pub struct Syncer {
    cache: Cache,
    source: Arc<dyn FhirSource>,
    base: Url,
    opts: SyncOptions,
    running: Mutex<Memory>,
    progress: watch::Sender<SyncProgress>,
    clock: fn() -> i64,
}

fn same_origin(base: &Url, u: &Url) -> bool {
    u.origin() == base.origin() && crate::net::check_url_allowed(u).is_ok()
}

/// How often an offline app tries the clinic again.
pub const RECONNECT_EVERY: Duration = Duration::from_secs(15);

/// 2^n s, at most 5 min (clinic-api §3.4 step 5).
pub fn backoff(failures: u32) -> Duration {
    Duration::from_secs(1u64 << failures.min(9)).min(Duration::from_secs(300))
}

impl Syncer {
    /// `fhir_base` as made by [`super::fhir_base`]; the `next` links must share its origin.
    pub fn new(
        cache: Cache,
        source: Arc<dyn FhirSource>,
        fhir_base: Url,
        opts: SyncOptions,
    ) -> Self {
        Self {
            cache,
            source,
            base: fhir_base,
            opts,
            running: Mutex::new(Memory {
                last_updated_supported: None,
            }),
            progress: watch::channel(SyncProgress::default()).0,
            clock: unix_now,
        }
    }

    /// Another clock for "today" and `last_synced` (tests).
    pub fn with_clock(mut self, clock: fn() -> i64) -> Self {
        self.clock = clock;
        self
    }

    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    /// Progress of the running (or last) sync.
    pub fn progress(&self) -> watch::Receiver<SyncProgress> {
        self.progress.subscribe()
    }

    /// One sync: resumes a pending run, else starts the run `mode` asks for.
    pub async fn sync_once(&self, mode: SyncMode) -> Result<SyncSummary, ScheduleError> {
        let Ok(mut mem) = self.running.try_lock() else {
            return Err(ScheduleError::AlreadyRunning);
        };
        let last = self.cache.last_synced().await.ok().flatten();
        self.progress.send_replace(SyncProgress {
            last_synced: last,
            ..SyncProgress::default()
        });
        let out = self.run(&mut mem, mode).await;
        match &out {
            Ok(s) => {
                tracing::info!(
                    kind = ?s.kind, resumed = s.resumed, pages = s.pages,
                    appointments = s.appointments, skipped = s.skipped, deleted = s.deleted,
                    "schedule sync done"
                );
                let last = self.cache.last_synced().await.ok().flatten();
                self.progress.send_modify(|p| {
                    p.phase = SyncPhase::Done;
                    p.last_synced = last;
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "schedule sync failed");
                self.progress.send_modify(|p| {
                    p.phase = SyncPhase::Failed;
                    p.error = Some(e.kind());
                });
            }
        }
        out
    }

    /// The background loop: `Auto` syncs every `incremental_every`, backing off 2^n s (max
    /// 5 min) after server failures and retrying every [`RECONNECT_EVERY`] while offline,
    /// until `stop` turns true. Returns the error that needs the user
    /// (sign in again, missing permission); everything else is retried.
    pub async fn run_until(&self, mut stop: watch::Receiver<bool>) -> Result<(), ScheduleError> {
        let mut failures = 0u32;
        loop {
            if *stop.borrow() {
                return Ok(());
            }
            let wait = match self.sync_once(SyncMode::Auto).await {
                Ok(_) | Err(ScheduleError::AlreadyRunning) => {
                    failures = 0;
                    self.opts.incremental_every
                }
                Err(e) if e.needs_user() => return Err(e),
                // Offline: no server to spare, so look again soon; the sync then runs within
                // RECONNECT_EVERY of the network coming back ("sync on reconnect").
                Err(ScheduleError::Net(
                    crate::net::NetError::Connect { .. } | crate::net::NetError::Timeout { .. },
                )) => RECONNECT_EVERY,
                Err(_) => {
                    failures += 1;
                    backoff(failures)
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                r = stop.changed() => if r.is_err() || *stop.borrow() { return Ok(()) },
            }
        }
    }

    async fn run(&self, mem: &mut Memory, mode: SyncMode) -> Result<SyncSummary, ScheduleError> {
        let state = self.cache.sync_state().await?;
        let mut summary = SyncSummary::default();
        let run = match state.run {
            Some(run) => {
                summary.resumed = true;
                tracing::info!(
                    run = run.id,
                    pages_done = run.pages,
                    "resuming schedule sync"
                );
                run
            }
            None => {
                let lu = self.supports_last_updated(mem).await;
                let now = (self.clock)();
                let window_due = state
                    .last_window
                    .is_none_or(|t| now - t >= self.opts.window_every.as_secs() as i64);
                let incremental_ok = lu && state.watermark.is_some();
                let kind = match mode {
                    SyncMode::Incremental if incremental_ok => RunKind::Incremental,
                    SyncMode::Auto if incremental_ok && !window_due => RunKind::Incremental,
                    _ => RunKind::Window,
                };
                let run = Run {
                    id: state.last_run_id + 1,
                    kind,
                    cursor: self.first_url(kind, state.watermark).to_string(),
                    max_last_updated: None,
                    server_start: None,
                    pages: 0,
                    appointments: 0,
                    entries: 0,
                    failures: 0,
                };
                self.cache.save_run(&run).await?;
                run
            }
        };
        summary.kind = Some(run.kind);
        self.progress.send_modify(|p| {
            p.phase = match run.kind {
                RunKind::Window => SyncPhase::Window,
                RunKind::Incremental => SyncPhase::Incremental,
            };
            p.pages = run.pages;
            p.appointments = run.appointments;
        });
        self.follow(run, state.watermark, &mut summary).await?;
        Ok(summary)
    }

    /// Called when fetching or reading the page at `run.cursor` failed. Transient failures
    /// keep the run for the next attempt; a cursor the server no longer understands, or a
    /// page that stays unreadable, ends the run (its committed pages stay).
    async fn failed(&self, mut run: Run, e: &ScheduleError) -> Result<(), ScheduleError> {
        let give_up = match e {
            ScheduleError::NotFound | ScheduleError::Http { .. } => true,
            ScheduleError::BadPage(_) | ScheduleError::ForeignLink { .. } => {
                run.failures += 1;
                run.failures >= self.opts.max_page_failures
            }
            _ => false,
        };
        if give_up {
            tracing::warn!(
                run = run.id,
                "schedule sync run given up; the next starts afresh"
            );
            self.cache.abandon_run().await
        } else if run.failures > 0 {
            self.cache.save_run(&run).await
        } else {
            Ok(())
        }
    }

    async fn follow(
        &self,
        mut run: Run,
        old_watermark: Option<i64>,
        summary: &mut SyncSummary,
    ) -> Result<(), ScheduleError> {
        // The next page is downloaded while this one is written (network and SQLCipher
        // overlap); it is only held in memory, so the cursor semantics do not change.
        let mut prefetched: Option<Result<Vec<u8>, ScheduleError>> = None;
        loop {
            let url = match Url::parse(&run.cursor) {
                Ok(u) if same_origin(&self.base, &u) => u,
                Ok(u) => {
                    let e = ScheduleError::ForeignLink {
                        origin: crate::net::origin(&u),
                    };
                    self.cache.abandon_run().await?;
                    return Err(e);
                }
                Err(_) => {
                    self.cache.abandon_run().await?;
                    return Err(ScheduleError::Cache("stored cursor unreadable".into()));
                }
            };
            let page = match self.page(&url, prefetched.take(), summary).await {
                Ok(p) => p,
                Err(e) => {
                    self.failed(run, &e).await?;
                    return Err(e);
                }
            };
            let (report, next, patients) = page;
            for s in &report.skipped {
                tracing::warn!(
                    entry = s.index,
                    id = s.id.as_deref().unwrap_or("-"),
                    reason = %s.reason,
                    "appointment skipped"
                );
            }
            let n = report.appointments.len() as u32;
            run.pages += 1;
            run.appointments += n;
            run.entries += n + report.skipped.len() as u32;
            run.failures = 0;
            if run.pages == 1 {
                run.server_start = report.server_time;
            }
            run.max_last_updated = report
                .appointments
                .iter()
                .filter_map(|a| a.last_updated)
                .chain(run.max_last_updated)
                .max();
            let seen_run = (run.kind == RunKind::Window).then_some(run.id);
            let last = next.is_none();
            let stats = match next {
                Some(next) => {
                    run.cursor = next.to_string();
                    let (stats, fetched) = tokio::join!(
                        self.cache.commit_page(PageWrite {
                            appointments: &report.appointments,
                            seen_run,
                            patients: &patients,
                            run: Some(&run),
                            finish: None,
                        }),
                        self.source.get(&next)
                    );
                    prefetched = Some(fetched);
                    stats?
                }
                None => {
                    let candidate = match (run.max_last_updated, run.server_start) {
                        (Some(m), Some(s)) => Some(m.min(s)),
                        (m, s) => m.or(s),
                    };
                    // Deletions need proof the window was seen whole: the server's total
                    // matches what the run received. Offset paging over rows that changed
                    // mid-run, or a page with no total, deletes nothing (the next window run
                    // will).
                    let complete = report.total == Some(u64::from(run.entries));
                    if seen_run.is_some() && !complete {
                        tracing::warn!(
                            run = run.id, total = ?report.total, received = run.entries,
                            "window run incomplete; nothing deleted this time"
                        );
                    }
                    let finish = Finish {
                        watermark: candidate.max(old_watermark),
                        now: (self.clock)(),
                        reconcile_run: seen_run.filter(|_| complete),
                    };
                    self.cache
                        .commit_page(PageWrite {
                            appointments: &report.appointments,
                            seen_run,
                            patients: &patients,
                            run: None,
                            finish: Some(finish),
                        })
                        .await?
                }
            };
            summary.pages += 1;
            summary.appointments += n;
            summary.skipped += report.skipped.len() as u32;
            summary.stale += stats.stale;
            summary.deleted += stats.deleted;
            self.progress.send_modify(|p| {
                p.pages = run.pages;
                p.appointments = run.appointments;
                p.skipped += report.skipped.len() as u32;
            });
            if last {
                return Ok(());
            }
        }
    }

    /// Fetches (unless prefetched) and reads one page, checks its `next` link, and looks up the patients whose
    /// names the cache lacks. Nothing is written here.
    async fn page(
        &self,
        url: &Url,
        prefetched: Option<Result<Vec<u8>, ScheduleError>>,
        summary: &mut SyncSummary,
    ) -> Result<(super::Report, Option<Url>, Vec<(String, String)>), ScheduleError> {
        let bytes = match prefetched {
            Some(b) => b?,
            None => self.source.get(url).await?,
        };
        summary.bytes += bytes.len() as u64;
        let report = parse_bundle(&bytes)?;
        drop(bytes);
        let next = match report.next.as_deref() {
            None => None,
            Some(n) => {
                let u = Url::parse(n).map_err(|_| {
                    ScheduleError::BadPage(super::ParseError::Malformed(
                        "the next link is not a URL".into(),
                    ))
                })?;
                if !same_origin(&self.base, &u) {
                    return Err(ScheduleError::ForeignLink {
                        origin: crate::net::origin(&u),
                    });
                }
                Some(u)
            }
        };
        let patients = self.patients(&report.appointments, summary).await?;
        Ok((report, next, patients))
    }

    /// Names of patients referenced without a display and not cached yet, ≤ `patient_batch`
    /// ids per request. Failures other than a refused sign-in leave names unknown for now.
    async fn patients(
        &self,
        appts: &[Appointment],
        summary: &mut SyncSummary,
    ) -> Result<Vec<(String, String)>, ScheduleError> {
        let mut ids: Vec<&str> = appts
            .iter()
            .filter(|a| a.patient_display.is_none())
            .filter_map(|a| a.patient_id.as_deref())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let unknown = self.cache.unknown_patients(&ids).await?;
        let mut out = Vec::new();
        for chunk in unknown.chunks(self.opts.patient_batch.max(1)) {
            let mut u = self.base.clone();
            if let Ok(mut p) = u.path_segments_mut() {
                p.push("Patient");
            }
            u.query_pairs_mut().append_pair("_id", &chunk.join(","));
            summary.patient_requests += 1;
            match self.source.get(&u).await {
                Ok(b) => match parse_patients(&b) {
                    Ok(names) => out.extend(names),
                    Err(e) => tracing::warn!(error = %e, "patient names unreadable"),
                },
                Err(e) if e.needs_user() && !matches!(e, ScheduleError::Forbidden) => {
                    return Err(e);
                }
                Err(e) => {
                    tracing::warn!(error = %e, ids = chunk.len(), "patient names not fetched");
                    break;
                }
            }
        }
        Ok(out)
    }
}
