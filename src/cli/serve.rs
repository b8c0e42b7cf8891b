//! `pesquisa serve`: open storage, check the schema, serve HTTP.

use crate::config::Settings;
use crate::web::state::AppState;
use crate::{server, telemetry};

#[derive(Debug, clap::Args)]
pub struct Opts {}

pub async fn run(mut settings: Settings, _opts: Opts) -> anyhow::Result<()> {
    telemetry::init(&settings.logging);
    settings.ensure_local_secret()?;
    let state = AppState::connect(settings).await?;
    server::ensure_schema(&state.db, &state.settings.database).await?;
    // Accounts made before the fingerprints existed get theirs in the background: the
    // site need not wait, and sign-ups meanwhile write their own.
    let (db, key) = (state.db.clone(), state.session_key.clone());
    tokio::spawn(async move {
        match crate::db::fingerprints::backfill(&db, &key).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(accounts = n, "duplicate fingerprints written"),
            Err(e) => tracing::warn!(error = %e, "duplicate fingerprints not written"),
        }
    });
    // New cells and changed targets of `[quotas]`, keeping the counts.
    crate::db::quotas::sync(&state.db, &state.quotas).await?;
    // Decompress the breached-password list now, not during the first sign-up.
    let passwords = crate::accounts::password::load_lists();
    tracing::debug!(passwords, "breached-password list loaded");
    server::serve(state).await
}
