//! The last report computed for `/admin/results`, kept per instance for [`REPORT_TTL`]:
//! the report reads every response, so concurrent visitors wait for one computation
//! instead of starting one each.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Report;

/// How long a computed report is shown before it is computed again.
pub const REPORT_TTL: Duration = Duration::from_secs(60);

/// The cached report and when it was computed.
#[derive(Default)]
pub struct ReportCache(tokio::sync::Mutex<Option<(Instant, Arc<Report>)>>);

impl ReportCache {
    /// The cached report while it is fresh, otherwise the one `build` computes (kept).
    pub async fn get_or_build<E, F>(&self, build: F) -> Result<Arc<Report>, E>
    where
        F: AsyncFnOnce() -> Result<Report, E>,
    {
        let mut slot = self.0.lock().await;
        if let Some((at, r)) = slot.as_ref()
            && at.elapsed() < REPORT_TTL
        {
            return Ok(r.clone());
        }
        let fresh = Arc::new(build().await?);
        *slot = Some((Instant::now(), fresh.clone()));
        Ok(fresh)
    }

    /// Forget the cached report: the next visit computes it again.
    pub async fn expire(&self) {
        *self.0.lock().await = None;
    }
}
