//! Writing pages and the sync's state. Every page is one transaction that holds its
//! appointments, the patient names fetched for it, and the run's cursor: after a crash or a
//! dropped connection the cache is exactly "pages 1..k" and the cursor points at page k+1.

use serde::{Deserialize, Serialize};
use sqlx::{Connection as _, Row as _};

use super::{Cache, db_err};
use crate::schedule::ScheduleError;
use crate::schedule::fhir::Appointment;

/// Which query a run follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunKind {
    /// `date=ge…&date=le…`: the whole window; what it does not return is dropped at the end.
    Window,
    /// `_lastUpdated=gt{W-60s}`: changes only.
    Incremental,
}

/// A run in progress, persisted with every page so the next sync resumes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    pub id: i64,
    pub kind: RunKind,
    /// The next page: the first query, then each `next` link verbatim.
    pub cursor: String,
    /// Largest `meta.lastUpdated` seen so far in this run.
    pub max_last_updated: Option<i64>,
    /// The server's clock (Bundle `meta.lastUpdated`) on the run's first page.
    pub server_start: Option<i64>,
    pub pages: u32,
    pub appointments: u32,
    /// Entries seen, skipped ones included (compared with the Bundle's `total`).
    #[serde(default)]
    pub entries: u32,
    /// Consecutive failed attempts at `cursor`.
    pub failures: u32,
}

/// What the cache remembers about syncing (no PHI: times, a URL of dates and offsets).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncState {
    /// `W`: the next incremental run asks for `_lastUpdated=gt{W-60s}` (server clock).
    pub watermark: Option<i64>,
    /// When the last run completed (this computer's clock).
    pub last_synced: Option<i64>,
    /// When the last window run completed (this computer's clock).
    pub last_window: Option<i64>,
    pub last_run_id: i64,
    pub run: Option<Run>,
}

/// One page to commit.
#[derive(Debug)]
pub struct PageWrite<'a> {
    pub appointments: &'a [Appointment],
    /// Window runs stamp what they saw with their run id; incremental runs pass `None`.
    pub seen_run: Option<i64>,
    pub patients: &'a [(String, String)],
    /// The run after this page, when more pages follow.
    pub run: Option<&'a Run>,
    /// Set on a run's last page.
    pub finish: Option<Finish>,
}

/// What a completed run records, in its last page's transaction.
#[derive(Debug, Clone, Copy)]
pub struct Finish {
    pub watermark: Option<i64>,
    /// This computer's clock.
    pub now: i64,
    /// A window run: drop every appointment it did not see (hard deletes, moves out).
    pub reconcile_run: Option<i64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PageStats {
    pub written: u32,
    /// Entries older than the stored copy (by `meta.lastUpdated`), not written.
    pub stale: u32,
    pub deleted: u32,
}

/// Rows per INSERT statement (14 variables each; SQLite allows 32,766).
const ROWS_PER_STATEMENT: usize = 200;

/// A newer (or undated) copy replaces the cached one; an older one only marks itself seen.
const NEWER: &str = "(excluded.last_updated IS NULL OR appointments.last_updated IS NULL \
                     OR excluded.last_updated >= appointments.last_updated)";

/// One multi-row upsert: one round trip to SQLite's worker thread per statement instead of
/// one per row (that round trip dominated the page write).
fn upsert_sql(rows: usize) -> String {
    let mut s = String::from(
        "INSERT INTO appointments (id, start, ends, last_updated, status, visit_type, video, \
         comment, patient_id, patient_display, clinicians, link, seen_run, arrived_at) VALUES ",
    );
    for i in 0..rows {
        if i > 0 {
            s.push(',');
        }
        s.push_str("(?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    }
    s.push_str(" ON CONFLICT(id) DO UPDATE SET ");
    let cols = [
        "start",
        "ends",
        "last_updated",
        "status",
        "visit_type",
        "video",
        "comment",
        "patient_id",
        "patient_display",
        "clinicians",
        "link",
    ];
    for c in cols {
        s.push_str(&format!(
            "{c} = CASE WHEN {NEWER} THEN excluded.{c} ELSE appointments.{c} END, "
        ));
    }
    // Waiting since: the first arrival seen is kept while the patient stays arrived (an
    // unrelated edit bumps `meta.lastUpdated` but not the wait); any other status clears it.
    s.push_str(&format!(
        "arrived_at = CASE WHEN {NEWER} THEN (CASE WHEN excluded.arrived_at IS NULL THEN NULL \
         ELSE COALESCE(appointments.arrived_at, excluded.arrived_at) END) \
         ELSE appointments.arrived_at END, "
    ));
    s.push_str(
        "seen_run = CASE WHEN excluded.seen_run < 0 THEN appointments.seen_run \
         ELSE excluded.seen_run END",
    );
    s
}

/// When this copy says the patient arrived: its `meta.lastUpdated` (the server's time of the
/// status change, as far as this copy tells), never later than this computer's `now` (a
/// server clock ahead of ours must not make a negative wait); `now` when the copy is undated.
fn arrival(a: &Appointment, now: i64) -> Option<i64> {
    a.status
        .is_waiting()
        .then(|| a.last_updated.map_or(now, |t| t.min(now)))
}

/// How many of these (id, lastUpdated) pairs are older than the cached copy.
const STALE: &str = "SELECT count(*) FROM json_each(?1) j
  JOIN appointments a ON a.id = json_extract(j.value, '$[0]')
 WHERE json_extract(j.value, '$[1]') IS NOT NULL AND a.last_updated IS NOT NULL
   AND json_extract(j.value, '$[1]') < a.last_updated";

const PUT_STATE: &str = "INSERT INTO sync_state (key, value) VALUES (?1, ?2)
  ON CONFLICT(key) DO UPDATE SET value = excluded.value";

fn run_json(run: &Run) -> Result<String, ScheduleError> {
    serde_json::to_string(run).map_err(|e| ScheduleError::Cache(e.to_string()))
}

impl Cache {
    /// Commits one page atomically (see the module doc). Used by the syncer; public so crash
    /// tests can drive it directly.
    pub async fn commit_page(&self, w: PageWrite<'_>) -> Result<PageStats, ScheduleError> {
        let mut stats = PageStats::default();
        let seen = w.seen_run.unwrap_or(-1);
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await.map_err(db_err)?;
        if !w.appointments.is_empty() {
            let pairs: Vec<(&str, Option<i64>)> = w
                .appointments
                .iter()
                .map(|a| (a.id.as_str(), a.last_updated))
                .collect();
            let pairs =
                serde_json::to_string(&pairs).map_err(|e| ScheduleError::Cache(e.to_string()))?;
            let stale: i64 = sqlx::query_scalar(STALE)
                .bind(pairs)
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?;
            stats.stale = stale as u32;
            stats.written = w.appointments.len() as u32 - stats.stale;
        }
        let now = w.finish.map_or_else(super::unix_now, |f| f.now);
        for chunk in w.appointments.chunks(ROWS_PER_STATEMENT) {
            let sql = upsert_sql(chunk.len());
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for a in chunk {
                q = q
                    .bind(a.id.as_str())
                    .bind(a.start)
                    .bind(a.end)
                    .bind(a.last_updated)
                    .bind(a.status.as_str())
                    .bind(a.visit_type.as_deref())
                    .bind(a.video)
                    .bind(a.comment.as_deref())
                    .bind(a.patient_id.as_deref())
                    .bind(a.patient_display.as_deref())
                    .bind(format!("|{}|", a.clinicians.join("|")))
                    .bind(a.link.as_ref().and_then(|l| serde_json::to_string(l).ok()))
                    .bind(seen)
                    .bind(arrival(a, now));
            }
            q.execute(&mut *tx).await.map_err(db_err)?;
        }
        for (id, name) in w.patients {
            sqlx::query(
                "INSERT INTO patients (id, name, fetched_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT(id) DO UPDATE SET name = excluded.name, fetched_at = excluded.fetched_at",
            )
            .bind(id.as_str())
            .bind(name.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        if let Some(run) = w.run {
            put(&mut tx, "run", run_json(run)?).await?;
        }
        if let Some(f) = w.finish {
            if let Some(id) = f.reconcile_run {
                let r = sqlx::query("DELETE FROM appointments WHERE seen_run != ?1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                stats.deleted = r.rows_affected() as u32;
                sqlx::query(
                    "DELETE FROM patients WHERE id NOT IN
                       (SELECT patient_id FROM appointments WHERE patient_id IS NOT NULL)",
                )
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                put(&mut tx, "last_window", f.now.to_string()).await?;
            }
            if let Some(wm) = f.watermark {
                put(&mut tx, "watermark", wm.to_string()).await?;
            }
            put(&mut tx, "last_synced", f.now.to_string()).await?;
            if w.run.is_none() {
                sqlx::query("DELETE FROM sync_state WHERE key = 'run'")
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
            }
        }
        tx.commit().await.map_err(db_err)?;
        Ok(stats)
    }

    /// Records a new run (before its first page is fetched), or a run's new failure count.
    pub async fn save_run(&self, run: &Run) -> Result<(), ScheduleError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await.map_err(db_err)?;
        put(&mut tx, "run", run_json(run)?).await?;
        put(&mut tx, "last_run_id", run.id.to_string()).await?;
        tx.commit().await.map_err(db_err)
    }

    /// Gives up a run (its cursor no longer works); pages already committed stay.
    pub async fn abandon_run(&self) -> Result<(), ScheduleError> {
        sqlx::query("DELETE FROM sync_state WHERE key = 'run'")
            .execute(&mut *self.conn().await?)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    pub async fn sync_state(&self) -> Result<SyncState, ScheduleError> {
        let rows = sqlx::query("SELECT key, value FROM sync_state")
            .fetch_all(&mut *self.conn().await?)
            .await
            .map_err(db_err)?;
        let mut s = SyncState::default();
        for r in rows {
            let k: String = r.try_get(0).map_err(db_err)?;
            let v: String = r.try_get(1).map_err(db_err)?;
            let n = v.parse::<i64>().ok();
            match k.as_str() {
                "watermark" => s.watermark = n,
                "last_synced" => s.last_synced = n,
                "last_window" => s.last_window = n,
                "last_run_id" => s.last_run_id = n.unwrap_or(0),
                // A run this version cannot read is dropped: the next sync starts afresh.
                "run" => s.run = serde_json::from_str(&v).ok(),
                _ => {}
            }
        }
        Ok(s)
    }
}

async fn put(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    key: &'static str,
    value: String,
) -> Result<(), ScheduleError> {
    sqlx::query(PUT_STATE)
        .bind(key)
        .bind(value)
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
    Ok(())
}
