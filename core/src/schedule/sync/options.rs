//! The sync's knobs and its answer: plain data that callers and policy mapping use, kept out
//! of the engine's file so the engine reads on its own.

use std::time::Duration;

use crate::schedule::cache::RunKind;
/// Sync policy (IT policy will set the window; defaults from clinic-api §3.4).
#[derive(Debug, Clone)]
pub struct SyncOptions {
    pub days_back: u32,
    pub days_ahead: u32,
    /// `_count` sent with every first query (the contract says 100).
    pub page_size: u32,
    /// Patient ids per `Patient?_id=` request.
    pub patient_batch: usize,
    /// How often `Auto` turns into a window run (deletions are only seen by those).
    pub window_every: Duration,
    /// The background loop's pace between successful runs.
    pub incremental_every: Duration,
    /// Attempts at one unreadable page before its run is given up.
    pub max_page_failures: u32,
}

impl Default for SyncOptions {
    fn default() -> Self {
        Self {
            days_back: 30,
            days_ahead: 90,
            page_size: 100,
            patient_batch: 50,
            window_every: Duration::from_secs(15 * 60),
            incremental_every: Duration::from_secs(60),
            max_page_failures: 3,
        }
    }
}

/// Which run to start when none is pending (a pending run is always resumed first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    /// Window run when due (first sync, `window_every` elapsed, no `_lastUpdated`), else
    /// incremental.
    Auto,
    Window,
    /// Incremental when possible, else a window run.
    Incremental,
}

/// What one `sync_once` did (counts only: safe to log).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncSummary {
    pub kind: Option<RunKind>,
    /// A run interrupted earlier was continued from its stored cursor.
    pub resumed: bool,
    pub pages: u32,
    pub appointments: u32,
    pub skipped: u32,
    /// Entries older than the cached copy, not written.
    pub stale: u32,
    /// Dropped by the window reconcile.
    pub deleted: u32,
    /// Appointment page bytes downloaded (Patient lookups not included).
    pub bytes: u64,
    pub patient_requests: u32,
}
