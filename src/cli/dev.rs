//! `pesquisa dev`: tools for development, benchmarks and demonstrations, never needed in
//! production. `generate-responses` fills the database with synthetic households
//! ([`crate::synthetic`]) so exports, reports and the dashboard can be measured at scale.

use std::time::Instant;

use chrono::NaiveDateTime;
use clap::Subcommand;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::accounts::fields::Bairros;
use crate::config::Settings;
use crate::db::schema::responses;
use crate::db::{DbError, DbPool, migrations};
use crate::synthetic::{Generator, Household};
use crate::with_conn;

/// Rows per INSERT statement (and per transaction).
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
    },
}

#[derive(Insertable)]
// NULL rather than DEFAULT for None: SQLite's multi-row INSERT has no DEFAULT keyword.
#[diesel(table_name = responses, treat_none_as_default_value = false)]
struct NewRow {
    user_id: Option<i64>,
    definition_id: String,
    definition_version: i32,
    answers: String,
    bairro: String,
    current_page: i32,
    revision: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    submitted_at: Option<NaiveDateTime>,
}

pub async fn run(settings: Settings, opts: Opts) -> anyhow::Result<()> {
    match opts.command {
        DevCommand::GenerateResponses {
            count,
            seed,
            days,
            append,
        } => generate(&settings, count, seed, days, append).await,
    }
}

async fn generate(
    settings: &Settings,
    count: u64,
    seed: u64,
    days: i64,
    append: bool,
) -> anyhow::Result<()> {
    if count == 0 || count > MAX_COUNT {
        anyhow::bail!("--count: expected 1 to {MAX_COUNT}, got {count}");
    }
    if !(1..=3650).contains(&days) {
        anyhow::bail!("--days: expected 1 to 3650, got {days}");
    }
    let def = settings.survey.load_definition()?;
    let bairros = match &settings.accounts.bairros_file {
        Some(path) => Bairros::from_lines(&std::fs::read_to_string(path).map_err(|e| {
            anyhow::anyhow!("accounts.bairros_file: cannot read {}: {e}", path.display())
        })?),
        None => Bairros::embedded(),
    };
    if bairros.all().is_empty() {
        anyhow::bail!("accounts.bairros_file: the list of bairros is empty");
    }
    let pool = DbPool::connect(&settings.database).await?;
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
    let version = i32::try_from(def.version())?;
    let mut done = 0u64;
    let mut complete = 0u64;
    while done < count {
        let n = (count - done).min(INSERT_BATCH as u64);
        let rows: Vec<NewRow> = (0..n)
            .map(|_| {
                let h: Household = generator.household(&mut rng);
                complete += u64::from(h.submitted_at.is_some());
                NewRow {
                    user_id: None,
                    definition_id: def.id().to_string(),
                    definition_version: version,
                    answers: serde_json::to_string(&h.answers).unwrap_or_default(),
                    bairro: h.bairro,
                    current_page: i32::try_from(h.current_page).unwrap_or(0),
                    revision: 1,
                    created_at: h.created_at,
                    updated_at: h.updated_at,
                    submitted_at: h.submitted_at,
                }
            })
            .collect();
        insert(&pool, rows).await?;
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

/// One multi-row INSERT on MariaDB; on SQLite (whose async wrapper has no batch
/// insert in diesel) one INSERT per row, all in one transaction.
async fn insert(pool: &DbPool, rows: Vec<NewRow>) -> Result<(), DbError> {
    match pool {
        DbPool::Mysql(p) => {
            let mut conn = p.get().await.map_err(DbError::from)?;
            diesel::insert_into(responses::table)
                .values(rows)
                .execute(&mut *conn)
                .await?;
        }
        DbPool::Sqlite(p) => {
            let mut conn = p.get().await.map_err(DbError::from)?;
            conn.transaction(async |conn| {
                for row in &rows {
                    diesel::insert_into(responses::table)
                        .values(row)
                        .execute(conn)
                        .await?;
                }
                Ok::<_, DbError>(())
            })
            .await?;
        }
    }
    Ok(())
}
