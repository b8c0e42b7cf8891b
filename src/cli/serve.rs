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
    // New cells and changed targets of `[quotas]`, keeping the counts.
    crate::db::quotas::sync(&state.db, &state.quotas).await?;
    // Decompress the breached-password list now, not during the first sign-up.
    let passwords = crate::accounts::password::load_lists();
    tracing::debug!(passwords, "breached-password list loaded");
    server::serve(state).await
}
