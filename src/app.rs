//! `AppState`: everything a request handler needs, built once at start-up and cloned
//! cheaply into every request through salvo's depot.

use std::sync::Arc;

use crate::config::Settings;
use crate::db::DbPool;
use crate::kv::Kv;

/// Shared application state.
#[derive(Clone)]
pub struct AppState {
    pub db: DbPool,
    pub kv: Kv,
    pub settings: Arc<Settings>,
}

impl AppState {
    /// Open the database and the session store named by `settings`.
    pub async fn connect(settings: Settings) -> anyhow::Result<AppState> {
        let db = DbPool::connect(&settings.database).await?;
        let kv = Kv::connect(&settings.redis).await?;
        Ok(AppState {
            db,
            kv,
            settings: Arc::new(settings),
        })
    }
}
