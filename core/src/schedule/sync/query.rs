//! What a run asks the server first: whether `_lastUpdated` is offered, and the window or
//! increment query. Apart from the run's paging and commits, which change more often.

use super::{Memory, Syncer};
use crate::schedule::cache::RunKind;
use crate::schedule::instant::{day_start, format_date, format_instant};
use crate::schedule::resources::supports_last_updated;
use url::Url;

impl Syncer {
    pub(super) async fn supports_last_updated(&self, mem: &mut Memory) -> bool {
        if let Some(s) = mem.last_updated_supported {
            return s;
        }
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map(|mut p| {
                p.push("metadata");
            })
            .ok();
        match self
            .source
            .get(&url)
            .await
            .map(|b| supports_last_updated(&b))
        {
            Ok(Ok(s)) => {
                mem.last_updated_supported = Some(s);
                s
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "unreadable /metadata; window sync only");
                false
            }
            Err(e) => {
                tracing::warn!(error = %e, "no /metadata; window sync only");
                false
            }
        }
    }

    pub(super) fn first_url(&self, kind: RunKind, watermark: Option<i64>) -> Url {
        let mut u = self.base.clone();
        if let Ok(mut p) = u.path_segments_mut() {
            p.push("Appointment");
        }
        {
            let mut q = u.query_pairs_mut();
            match (kind, watermark) {
                (RunKind::Incremental, Some(w)) => {
                    q.append_pair("_lastUpdated", &format!("gt{}", format_instant(w - 60)));
                }
                _ => {
                    let today = day_start((self.clock)());
                    let lo = today - i64::from(self.opts.days_back) * 86_400;
                    let hi = today + i64::from(self.opts.days_ahead) * 86_400;
                    q.append_pair("date", &format!("ge{}", format_date(lo)));
                    q.append_pair("date", &format!("le{}", format_date(hi)));
                }
            }
            q.append_pair("_count", &self.opts.page_size.to_string());
        }
        u
    }
}
