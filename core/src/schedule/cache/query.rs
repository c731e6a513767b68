//! What the UI reads: a day of visits, when the cache was last synced.

use sqlx::Row as _;

use super::{Cache, db_err};
use crate::schedule::fhir::{AppointmentStatus, valid_id};
use crate::schedule::link::VisitLink;
use crate::schedule::{ScheduleError, Visit};

/// Served by the index on `start`: a day is a range scan, not a table scan (≤ 20 ms at
/// 100,000 rows is the target; the benchmark measures it).
const DAY: &str = "SELECT a.id, a.start, a.ends, COALESCE(a.patient_display, p.name),
       a.visit_type, a.status, a.video, a.comment, a.link, a.arrived_at
  FROM appointments a LEFT JOIN patients p ON p.id = a.patient_id
 WHERE a.start >= ?1 AND a.start < ?2 AND a.status != 'entered-in-error'
   AND (?3 IS NULL OR instr(a.clinicians, ?3) > 0)
 ORDER BY a.start, a.id";

/// A stored link; one this build cannot read counts as none (never an error on the day view).
fn link_of(json: Option<String>) -> Option<VisitLink> {
    serde_json::from_str(json.as_deref()?).ok()
}

impl Cache {
    /// Visits starting in `[from, to)` (unix seconds; the UI computes its local day), sorted
    /// by start. With `practitioner` (the signed-in user's FHIR uuid), only visits where that
    /// uuid takes part, whatever its resource type; `None` shows everyone's. Entries marked
    /// `entered-in-error` are never shown.
    pub async fn day(
        &self,
        from: i64,
        to: i64,
        practitioner: Option<&str>,
    ) -> Result<Vec<Visit>, ScheduleError> {
        let needle = match practitioner {
            Some(p) if valid_id(p) => Some(format!("|{p}|")),
            // Not a FHIR id: it can match nobody (and must not match by substring).
            Some(_) => return Ok(Vec::new()),
            None => None,
        };
        let rows = sqlx::query(DAY)
            .bind(from)
            .bind(to)
            .bind(needle)
            .fetch_all(&mut *self.conn().await?)
            .await
            .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                let status: String = r.try_get(5).map_err(db_err)?;
                Ok(Visit {
                    id: r.try_get(0).map_err(db_err)?,
                    start: r.try_get(1).map_err(db_err)?,
                    end: r.try_get(2).map_err(db_err)?,
                    patient: r.try_get(3).map_err(db_err)?,
                    visit_type: r.try_get(4).map_err(db_err)?,
                    status: AppointmentStatus::parse(&status)
                        .ok_or_else(|| ScheduleError::Cache("unknown status in cache".into()))?,
                    video: r.try_get(6).map_err(db_err)?,
                    comment: r.try_get(7).map_err(db_err)?,
                    link: link_of(r.try_get(8).map_err(db_err)?).map(|l| l.source),
                    waiting_since: r.try_get(9).map_err(db_err)?,
                })
            })
            .collect()
    }

    /// The visit link the cached Appointment carries (schedule::link), with the visit's end.
    pub async fn visit_link(&self, id: &str) -> Result<Option<(VisitLink, i64)>, ScheduleError> {
        if !valid_id(id) {
            return Ok(None);
        }
        let row = sqlx::query("SELECT link, ends FROM appointments WHERE id = ?1")
            .bind(id)
            .fetch_optional(&mut *self.conn().await?)
            .await
            .map_err(db_err)?;
        let Some(r) = row else { return Ok(None) };
        let end: i64 = r.try_get(1).map_err(db_err)?;
        Ok(link_of(r.try_get(0).map_err(db_err)?).map(|l| (l, end)))
    }

    /// When the last sync run completed (this computer's clock), if ever.
    pub async fn last_synced(&self) -> Result<Option<i64>, ScheduleError> {
        let v: Option<String> =
            sqlx::query_scalar("SELECT value FROM sync_state WHERE key = 'last_synced'")
                .fetch_optional(&mut *self.conn().await?)
                .await
                .map_err(db_err)?;
        Ok(v.and_then(|v| v.parse().ok()))
    }

    /// Of these patient ids, the ones whose name the cache does not know yet.
    pub async fn unknown_patients(&self, ids: &[&str]) -> Result<Vec<String>, ScheduleError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = serde_json::to_string(ids).map_err(|e| ScheduleError::Cache(e.to_string()))?;
        sqlx::query_scalar(
            "SELECT DISTINCT value FROM json_each(?1)
              WHERE value NOT IN (SELECT id FROM patients)",
        )
        .bind(list)
        .fetch_all(&mut *self.conn().await?)
        .await
        .map_err(db_err)
    }
}
