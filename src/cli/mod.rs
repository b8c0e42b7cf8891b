//! The command line: one module per subcommand, each with its options and a `run`.
//!
//! Exit codes: 0 success, 2 usage error (clap), 1 runtime failure with a one-line cause
//! on stderr.

mod admin;
mod backup;
mod census;
mod check_config;
mod dev;
mod export;
mod migrate;
mod quotas;
mod report;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{DatabaseKind, Settings, Source};

/// pesquisa: market-research survey server, exports and reports in one binary.
#[derive(Debug, Parser)]
#[command(name = "pesquisa", version, about, long_about = None)]
pub struct Cli {
    /// Configuration file (TOML). Default: /etc/pesquisa/pesquisa.toml when it exists.
    /// Environment variables PESQUISA_SECTION__KEY override it.
    #[arg(long, short = 'c', global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server.
    Serve(serve::Opts),
    /// Apply the database migrations embedded in the binary.
    Migrate(migrate::Opts),
    /// Validate the configuration and print it, secrets hidden.
    CheckConfig(check_config::Opts),
    /// Staff accounts: create-user, set-role.
    Admin(admin::Opts),
    /// Online, consistent copy of the embedded SQLite database (MariaDB: mariadb-dump).
    Backup(backup::Opts),
    /// Export the responses (CSV, JSON Lines, XLSX, or labelled files for SPSS/PSPP,
    /// Stata and R, with a codebook) for analysis; read-only.
    #[command(after_long_help = export::AFTER_HELP)]
    Export(export::Opts),
    /// Aggregate results and the market-size estimate (HTML, JSON or text); read-only.
    Report(report::Opts),
    /// Census margins (IBGE Censo 2022) for the weights: import, show.
    Census(census::Opts),
    /// Quota fill per cell (text or JSON; read-only), or `--recount` to rebuild it.
    Quotas(quotas::Opts),
    /// Development and benchmark tools (synthetic data); not for production databases.
    Dev(dev::Opts),
}

/// Parse the command line, run the command, and turn the outcome into an exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pesquisa: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let (settings, source) = Settings::load(cli.config.as_deref())?;
    match cli.command {
        Command::CheckConfig(opts) => check_config::run(&settings, &source, opts),
        Command::Serve(opts) => runtime()?.block_on(serve::run(settings, opts)),
        Command::Migrate(opts) => runtime()?.block_on(migrate::run(settings, opts)),
        Command::Admin(opts) => runtime()?.block_on(admin::run(settings, opts)),
        Command::Backup(opts) => runtime()?.block_on(backup::run(settings, opts)),
        Command::Export(opts) => runtime()?.block_on(export::run(settings, opts)),
        Command::Report(opts) => runtime()?.block_on(report::run(settings, opts)),
        Command::Census(opts) => runtime()?.block_on(census::run(settings, opts)),
        Command::Quotas(opts) => runtime()?.block_on(quotas::run(settings, opts)),
        Command::Dev(opts) => runtime()?.block_on(dev::run(settings, opts)),
    }
}

/// The multi-thread runtime: the migration harness needs `block_in_place`.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

pub(crate) fn describe(source: &Source) -> String {
    match source {
        Source::Defaults => "built-in defaults and environment".into(),
        Source::File(p) => format!("{} and environment", p.display()),
    }
}

/// Refuse to open an embedded database that does not exist yet, unless the command was
/// asked to make one (`--create`). Opening SQLite creates the file, so a command run in the
/// wrong directory would otherwise make a new empty study there (an admin nobody can find,
/// an export of nothing) instead of saying the study is elsewhere. MariaDB databases are
/// made by the sysadmin, so only SQLite is checked.
pub(crate) fn database_must_exist(settings: &Settings, create: Option<&str>) -> anyhow::Result<()> {
    let DatabaseKind::Sqlite { path } = settings.database.kind()? else {
        return Ok(());
    };
    if path.exists() {
        return Ok(());
    }
    let shown = std::path::absolute(&path).unwrap_or_else(|_| path.clone());
    let how = match create {
        Some(flag) => format!(", or add {flag} to make a new empty one there"),
        None => String::new(),
    };
    anyhow::bail!(
        "database.url: no database at {} (database.url = {}); run the command in the study's \
         directory or point --config / PESQUISA_DATABASE__URL at its database{how}",
        shown.display(),
        settings.database.url,
    )
}
