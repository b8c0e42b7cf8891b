//! The reports last computed for `/admin/results`, one per choice of filters, kept per
//! instance for [`REPORT_TTL`]: a report reads every response, so concurrent visitors
//! wait for one computation instead of starting one each, and one lock means an
//! instance computes one report at a time however many analysts filter at once.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Report;

/// How long a computed report is shown before it is computed again.
pub const REPORT_TTL: Duration = Duration::from_secs(60);

/// Most reports kept: each is a few hundred kilobytes at most (aggregates only).
pub const MAX_KEPT: usize = 16;

/// The cached reports by key (the filters' text) and when each was computed.
#[derive(Default)]
pub struct ReportCache(tokio::sync::Mutex<HashMap<String, (Instant, Arc<Report>)>>);

impl ReportCache {
    /// The cached report of `key` while it is fresh, otherwise the one `build` computes
    /// (kept; the stalest entries make room beyond [`MAX_KEPT`]).
    pub async fn get_or_build<E, F>(&self, key: &str, build: F) -> Result<Arc<Report>, E>
    where
        F: AsyncFnOnce() -> Result<Report, E>,
    {
        let mut slots = self.0.lock().await;
        if let Some((at, r)) = slots.get(key)
            && at.elapsed() < REPORT_TTL
        {
            return Ok(r.clone());
        }
        let fresh = Arc::new(build().await?);
        slots.retain(|_, (at, _)| at.elapsed() < REPORT_TTL);
        while slots.len() >= MAX_KEPT {
            let Some(oldest) = slots
                .iter()
                .min_by_key(|(_, (at, _))| *at)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            slots.remove(&oldest);
        }
        slots.insert(key.to_string(), (Instant::now(), fresh.clone()));
        Ok(fresh)
    }

    /// Forget every cached report: the next visit computes it again.
    pub async fn expire(&self) {
        self.0.lock().await.clear();
    }
}
