//! `pesquisa migrate`: apply pending migrations and list what was applied.

use crate::config::Settings;
use crate::db::{DbPool, migrations};

#[derive(Debug, clap::Args)]
pub struct Opts {
    /// Only list pending migrations; change nothing.
    #[arg(long)]
    pub pending: bool,
    /// Make a new empty embedded database if none exists at database.url (refused
    /// otherwise, so a study is never started in the wrong directory).
    #[arg(long, conflicts_with = "pending")]
    pub create: bool,
}

pub async fn run(settings: Settings, opts: Opts) -> anyhow::Result<()> {
    if !opts.create {
        super::database_must_exist(&settings, Some("--create"))?;
    }
    let pool = DbPool::connect(&settings.database).await?;
    if opts.pending {
        let pending = migrations::pending(&pool).await?;
        if pending.is_empty() {
            println!("no pending migrations");
        }
        for name in pending {
            println!("pending {name}");
        }
        return Ok(());
    }
    let applied = migrations::run_pending(&pool).await?;
    if applied.is_empty() {
        println!("database is up to date ({} backend)", pool.backend_name());
    }
    for name in applied {
        println!("applied {name}");
    }
    Ok(())
}
