//! `pesquisa dev`: tools for development, benchmarks and demonstrations, never needed in
//! production. `generate-responses` fills the database with synthetic households
//! ([`crate::synthetic`]) so exports, reports and the dashboard can be measured at scale;
//! `bench-raking` (hidden) times [`crate::stats::raking`] on synthetic margins.

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
use crate::synthetic::accounts::Accounts;
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
    /// Insert synthetic responses for benchmarks and demos (without accounts unless
    /// `--with-accounts`).
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
        /// Give each response an account (that cannot log in), page visits and duplicate
        /// fingerprints, as real respondents have: what the data-quality rules read.
        #[arg(long)]
        with_accounts: bool,
    },
    /// Time the raking of synthetic responses to three margins (bairro, sex, age band);
    /// no database. bench/raking.sh runs it.
    #[command(hide = true)]
    BenchRaking {
        /// Responses to rake.
        #[arg(long, default_value_t = 200_000)]
        n: u32,
        /// Seed of the synthetic sample.
        #[arg(long, default_value_t = 1)]
        seed: u64,
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
            with_accounts,
        } => {
            let shape = Shape {
                count,
                seed,
                days,
                append,
                create,
                with_accounts,
            };
            generate(&settings, shape).await
        }
        DevCommand::BenchRaking { n, seed } => bench_raking(&settings, n, seed),
    }
}

/// What `generate-responses` was asked for.
struct Shape {
    count: u64,
    seed: u64,
    days: i64,
    append: bool,
    create: bool,
    with_accounts: bool,
}

async fn generate(settings: &Settings, shape: Shape) -> anyhow::Result<()> {
    let Shape {
        count,
        seed,
        days,
        append,
        create,
        with_accounts,
    } = shape;
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
    // The fingerprints' key is the one `serve` uses, so that its later sign-ups compare
    // with these; without a configured secret any key will do for a benchmark.
    let key = settings.session.secret.as_ref().map_or_else(
        || crate::crypto::random_token().into_bytes(),
        |s| s.expose().as_bytes().to_vec(),
    );
    let mut accounts =
        with_accounts.then(|| Accounts::new(key, u64::try_from(existing).unwrap_or(0)));
    let mut done = 0u64;
    let mut complete = 0u64;
    while done < count {
        let n = (count - done).min(INSERT_BATCH as u64);
        let households: Vec<Household> = (0..n).map(|_| generator.household(&mut rng)).collect();
        complete += households
            .iter()
            .filter(|h| h.submitted_at.is_some())
            .count() as u64;
        match accounts.as_mut() {
            Some(state) => {
                crate::synthetic::accounts::insert(&pool, &def, households, state, &mut rng).await?
            }
            None => insert(&pool, &def, households).await?,
        }
        done += n;
    }
    eprintln!(
        "generated {done} responses ({complete} complete) in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Bairros, sexes and age bands of the synthetic population: (categories, population
/// shares, how much likelier a member is to answer than the average). The sample leans
/// young, female and to a few bairros, as an online sample does.
fn synthetic_margins() -> [(Vec<String>, Vec<f64>, Vec<f64>); 3] {
    let bairros: Vec<String> = (1..=20).map(|i| format!("Bairro {i:02}")).collect();
    let bairro_shares: Vec<f64> = (1..=20).map(|i| 1.0 + f64::from(i % 7)).collect();
    let bairro_bias: Vec<f64> = (1..=20).map(|i| 0.5 + f64::from(i % 4) * 0.5).collect();
    let bands = ["18-24", "25-34", "35-44", "45-59", "60-69", "70+"];
    [
        (bairros, bairro_shares, bairro_bias),
        (
            vec!["feminino".into(), "masculino".into()],
            vec![0.52, 0.48],
            vec![1.4, 0.7],
        ),
        (
            bands.iter().map(|b| (*b).to_string()).collect(),
            vec![0.14, 0.20, 0.19, 0.24, 0.12, 0.11],
            vec![1.6, 1.5, 1.2, 0.9, 0.6, 0.3],
        ),
    ]
}

fn bench_raking(settings: &Settings, n: u32, seed: u64) -> anyhow::Result<()> {
    use rand::distr::{Distribution, weighted::WeightedIndex};

    use crate::stats::raking::{Margin, Targets, rake};
    if !(1..=10_000_000).contains(&n) {
        anyhow::bail!("--n: expected 1 to 10,000,000, got {n}");
    }
    let options = settings.weighting.rake_options()?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let population = 500_000.0;
    let mut margins = Vec::new();
    for (i, (categories, shares, bias)) in synthetic_margins().into_iter().enumerate() {
        let sampling: Vec<f64> = shares.iter().zip(&bias).map(|(s, b)| s * b).collect();
        let draw = WeightedIndex::new(&sampling)?;
        let codes = (0..n).map(|_| draw.sample(&mut rng) as u32).collect();
        let sum: f64 = shares.iter().sum();
        margins.push(Margin {
            name: ["bairro", "sexo", "faixa_etaria"]
                .get(i)
                .copied()
                .unwrap_or("margem")
                .to_string(),
            categories,
            codes,
            targets: Targets::Totals(shares.iter().map(|s| s / sum * population).collect()),
        });
    }
    let started = Instant::now();
    let raked = rake(None, &margins, &options)?;
    let elapsed = started.elapsed();
    eprintln!(
        "raked {n} responses on {} margins in {:.1} ms: {} iterations, {} trimming rounds, \
         max relative error {:.2e}, weights {:.2}–{:.2} × mean",
        margins.len(),
        elapsed.as_secs_f64() * 1000.0,
        raked.iterations,
        raked.trim_rounds,
        raked.max_relative_error,
        raked.weight_range.0,
        raked.weight_range.1,
    );
    println!("{:.3}", elapsed.as_secs_f64());
    Ok(())
}

async fn existing(pool: &DbPool) -> Result<i64, DbError> {
    with_conn!(pool, |conn| {
        Ok(responses::table.count().get_result(conn).await?)
    })
}
