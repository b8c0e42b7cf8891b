//! `pesquisa dev`: tools for development, benchmarks and demonstrations, never needed in
//! production. `generate-responses` fills the database with synthetic households
//! ([`crate::synthetic`]) so exports, reports and the dashboard can be measured at scale.

use std::time::Instant;

use clap::Subcommand;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::accounts::fields::Bairros;
use crate::config::Settings;
use crate::db::schema::responses;
use crate::db::{DbError, DbPool, migrations};
use crate::synthetic::{Generator, Household, insert};
use crate::with_conn;

/// Households generated and inserted at a time.
const INSERT_BATCH: usize = 1000;
/// Upper bound of `--count`: beyond it a mistake is likelier than a need.
const MAX_COUNT: u64 = 10_000_000;

#[derive(Debug, clap::Args)]
pub struct Opts {
    #[command(subcommand)]
    pub command: DevCommand,
}

#[derive(Debug, Subcommand)]
pub enum DevCommand {
    /// Insert synthetic responses (no accounts attached) for benchmarks and demos.
    GenerateResponses {
        /// How many responses to add (1 to 10,000,000).
        #[arg(long)]
        count: u64,
        /// Seed of the generator: the same seed gives the same answers.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Spread the responses over this many days before now.
        #[arg(long, default_value_t = 30)]
        days: i64,
        /// Add to a database that already has responses (refused otherwise, so real
        /// data is never mixed with synthetic by accident).
        #[arg(long)]
        append: bool,
        /// Make a new embedded database (migrated) if none exists at database.url.
        #[arg(long)]
        create: bool,
    },
}

pub async fn run(settings: Settings, opts: Opts) -> anyhow::Result<()> {
    match opts.command {
        DevCommand::GenerateResponses {
            count,
            seed,
            days,
            append,
            create,
        } => generate(&settings, count, seed, days, append, create).await,
    }
}

async fn generate(
    settings: &Settings,
    count: u64,
    seed: u64,
    days: i64,
    append: bool,
    create: bool,
) -> anyhow::Result<()> {
    if count == 0 || count > MAX_COUNT {
        anyhow::bail!("--count: expected 1 to {MAX_COUNT}, got {count}");
    }
    if !(1..=3650).contains(&days) {
        anyhow::bail!("--days: expected 1 to 3650, got {days}");
    }
    let def = settings.survey.load_definition()?;
    let bairros = Bairros::configured(settings.accounts.bairros_file.as_deref())?;
    if bairros.all().is_empty() {
        anyhow::bail!("accounts.bairros_file: the list of bairros is empty");
    }
    let missing = super::database_must_exist(settings, Some("--create")).err();
    if let (Some(e), false) = (&missing, create) {
        anyhow::bail!("{e}");
    }
    let pool = DbPool::connect(&settings.database).await?;
    if missing.is_some() {
        // Only a database this command made is migrated here; an existing one with
        // pending migrations is left to `pesquisa migrate`, as below.
        migrations::run_pending(&pool).await?;
    }
    let pending = migrations::pending(&pool).await?;
    if let [first, ..] = pending.as_slice() {
        anyhow::bail!(
            "the database has pending migrations (first: {first}); run `pesquisa migrate`"
        );
    }
    let existing = existing(&pool).await?;
    if existing > 0 && !append {
        anyhow::bail!(
            "the database already holds {existing} responses; add --append to add synthetic ones"
        );
    }
    let started = Instant::now();
    let generator = Generator::new(&def, bairros.all(), crate::db::users::now(), days);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut done = 0u64;
    let mut complete = 0u64;
    while done < count {
        let n = (count - done).min(INSERT_BATCH as u64);
        let households: Vec<Household> = (0..n).map(|_| generator.household(&mut rng)).collect();
        complete += households
            .iter()
            .filter(|h| h.submitted_at.is_some())
            .count() as u64;
        insert(&pool, &def, households).await?;
        done += n;
    }
    eprintln!(
        "generated {done} responses ({complete} complete) in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn existing(pool: &DbPool) -> Result<i64, DbError> {
    with_conn!(pool, |conn| {
        Ok(responses::table.count().get_result(conn).await?)
    })
}
