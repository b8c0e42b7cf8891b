//! `pesquisa export`: the responses as CSV or JSON Lines for analysis, with an optional
//! codebook and a manifest. Read-only (an analyst may run it with a read-only database
//! user), except for the audit entry that exporting personal data requires.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};

use crate::config::{DatabaseKind, Settings};
use crate::db::{DbPool, migrations};
use crate::export::{self, CsvProfile, ExportOptions, Filters, Format, Manifest};

/// The end of `pesquisa export --help`: the labelled files.
pub const AFTER_HELP: &str = "\
Labelled files for statistics packages (--format spss|stata|r; docs/labelled-exports.md):
  --output BASE writes BASE.csv (RFC 4180, UTF-8; single-choice answers as codes 1, 2, ...
  in questionnaire order) and beside it BASE.sps (SPSS/PSPP), BASE.do (Stata) or BASE.R
  (R), which reads that CSV with variable labels, value labels, types and the weight
  column. A BASE ending in .csv or in the script's extension loses it first. Both files
  appear together once complete, or neither does.
  Missing codes: -2 = not asked (a condition, a screen-out, or a questionnaire version
  without the question); options such as \"Prefiro não informar\" keep their code and are
  declared missing (Stata: -2 is .a, the others .b, .c, ...; R: NA); an empty cell is
  not answered.
  Open them: pspp BASE.sps (SPSS: File > Open > Syntax, Run All), Stata: cd to the
  folder, do BASE.do; R: source(\"BASE.R\", encoding = \"UTF-8\", chdir = TRUE).";

#[derive(Debug, clap::Args)]
pub struct Opts {
    /// Output format (spss, stata, r: a data CSV plus a labelled syntax file; see below).
    #[arg(long, value_enum)]
    pub format: Format,
    /// Write to FILE (complete or not at all) instead of standard output; with spss, stata
    /// or r, the base name of the pair (BASE.csv and BASE.sps, .do or .R).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// CSV dialect: rfc4180 (UTF-8, comma, CRLF) or excel-br (BOM, semicolon, decimal comma).
    #[arg(long, value_enum, default_value_t = CsvProfile::Rfc4180)]
    pub csv_profile: CsvProfile,
    #[command(flatten)]
    pub filters: FilterArgs,
    /// Add nome, sobrenome, email, telefone; writes an audit entry, refused if it cannot.
    #[arg(long)]
    pub include_personal_data: bool,
    /// Also write the codebook (CSV: column, type, question, options, notes) to FILE.
    #[arg(long, value_name = "FILE")]
    pub codebook: Option<PathBuf>,
    /// Write the manifest (JSON) to FILE instead of standard error.
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
}

/// `--since`, `--until`, `--bairro`, `--complete-only` (export and report).
#[derive(Debug, Clone, clap::Args)]
pub struct FilterArgs {
    /// Only responses updated at or after this UTC date (YYYY-MM-DD) or RFC 3339 time.
    #[arg(long, value_name = "DATE", value_parser = parse_since)]
    pub since: Option<NaiveDateTime>,
    /// Only responses updated at or before this UTC date (the whole day) or RFC 3339 time.
    #[arg(long, value_name = "DATE", value_parser = parse_until)]
    pub until: Option<NaiveDateTime>,
    /// Only responses from this neighbourhood (exactly as stored).
    #[arg(long, value_name = "NAME")]
    pub bairro: Option<String>,
    /// Only submitted responses (no drafts).
    #[arg(long)]
    pub complete_only: bool,
    /// Leave out completed responses with a data-quality flag (rapido, linha_reta,
    /// inconsistente, duplicado; docs/quality.md).
    #[arg(long)]
    pub exclude_flagged: bool,
}

impl FilterArgs {
    pub fn to_filters(&self) -> Filters {
        Filters {
            since: self.since,
            until: self.until,
            bairro: self.bairro.clone(),
            complete_only: self.complete_only,
            // From the configuration, not a flag (see `run`).
            verified_only: false,
            exclude_flagged: self.exclude_flagged,
            ..Filters::default()
        }
    }
}

fn parse_date_or_time(s: &str, end_of_day: bool) -> Result<NaiveDateTime, String> {
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let start = d.and_time(NaiveTime::MIN);
        return Ok(if end_of_day {
            start + TimeDelta::days(1) - TimeDelta::microseconds(1)
        } else {
            start
        });
    }
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.naive_utc())
        .map_err(|_| "expected a date YYYY-MM-DD or an RFC 3339 time".to_string())
}

fn parse_since(s: &str) -> Result<NaiveDateTime, String> {
    parse_date_or_time(s, false)
}

fn parse_until(s: &str) -> Result<NaiveDateTime, String> {
    parse_date_or_time(s, true)
}

/// Runs `work` unless SIGINT or SIGTERM comes first: then `work` is dropped, which
/// removes its temporary file, and the command (export, backup) fails saying so. (kill -9 leaves the hidden
/// temporary file, mode 0600, beside the output; docs/deploy.md says so.)
pub(super) async fn until_stopped<T>(
    work: impl Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::select! {
        done = work => done,
        _ = term.recv() => anyhow::bail!("stopped by SIGTERM: no output file was written"),
        _ = int.recv() => anyhow::bail!("interrupted (SIGINT): no output file was written"),
    }
}

/// The server secret's bytes (see [`Settings::existing_secret`]).
fn secret(settings: &Settings) -> anyhow::Result<Vec<u8>> {
    match settings.existing_secret()? {
        Some(s) => Ok(s.expose().as_bytes().to_vec()),
        None => anyhow::bail!(
            "session.secret is not set: pseudonymous ids need the server's secret \
             (set session.secret, session.secret_file or the systemd credential session_secret)"
        ),
    }
}

/// Opens the configured database for reading: never creates a SQLite file and refuses
/// a schema with pending migrations (the analyst's user may not change it).
pub(super) async fn open_for_reading(settings: &Settings) -> anyhow::Result<DbPool> {
    if let DatabaseKind::Sqlite { path } = settings.database.kind()?
        && !path.exists()
    {
        anyhow::bail!("database: {} does not exist", path.display());
    }
    let pool = DbPool::connect(&settings.database).await?;
    let pending = migrations::pending(&pool).await?;
    if let Some(first) = pending.first() {
        anyhow::bail!(
            "the database has {} pending migration(s) (first: {first}); run `pesquisa migrate` \
             with a user allowed to change the schema first",
            pending.len(),
        );
    }
    Ok(pool)
}

/// Checks the filter flags shared by `export` and `report`.
pub(super) fn check_filters(filters: &Filters) -> anyhow::Result<()> {
    if let (Some(since), Some(until)) = (filters.since, filters.until)
        && since > until
    {
        anyhow::bail!("--since is after --until");
    }
    if filters
        .bairro
        .as_deref()
        .is_some_and(|b| b.trim().is_empty())
    {
        anyhow::bail!("--bairro: empty name");
    }
    Ok(())
}

pub async fn run(mut settings: Settings, opts: Opts) -> anyhow::Result<()> {
    let mut filters = opts.filters.to_filters();
    filters.verified_only = settings.require_verified_email();
    check_filters(&filters)?;
    if opts.format == Format::Xlsx && opts.output.is_none() {
        anyhow::bail!(
            "--output: required with --format xlsx (a workbook is not written to a terminal)"
        );
    }
    // The pair's temporary files exist before the database is opened: an --output that
    // cannot be written fails first, naming the flag.
    let labelled = match (opts.format.is_labelled(), &opts.output) {
        (false, _) => None,
        (true, None) => anyhow::bail!(
            "--output: required with --format {0} (the base name of the data CSV and the \
             syntax file, e.g. --output respostas writes respostas.csv and its script)",
            opts.format.as_str()
        ),
        (true, Some(_)) if opts.csv_profile != CsvProfile::Rfc4180 => anyhow::bail!(
            "--csv-profile: --format {} always writes rfc4180, the dialect its script reads",
            opts.format.as_str()
        ),
        (true, Some(base)) => Some(
            export::LabelledFiles::create(base, opts.format)
                .map_err(|e| anyhow::anyhow!("--output: {e}"))?,
        ),
    };
    let def = settings.survey.load_definition()?;
    let secret = secret(&settings)?;
    // The rows are read on one connection held for the whole export (its snapshot); the
    // audit entry of a personal-data export needs a second one meanwhile.
    settings.database.pool_size = settings.database.pool_size.max(2);
    let pool = open_for_reading(&settings).await?;
    let export_opts = ExportOptions {
        format: opts.format,
        csv_profile: opts.csv_profile,
        filters,
        include_personal_data: opts.include_personal_data,
        batch_size: export::BATCH_SIZE,
        cceb: settings.survey.load_cceb_table()?,
        zone: settings.survey.zone(),
        weighting: settings.weighting.plan()?,
        weights: None,
        quality_params: settings.quality.params()?,
        quality: None,
        // Names only: a mistake elsewhere in a quota is `serve`'s and `quotas`' to report.
        quotas: settings
            .quotas
            .quota
            .iter()
            .map(|q| q.name.clone())
            .collect(),
    };
    // Computed once: the flags (and the responses they exclude), then the `peso` column
    // and the codebook's words about it.
    let mut export_opts = export::with_quality(&pool, &def, &export_opts).await?;
    export_opts.weights = Some(export::weights(&pool, &def, &export_opts).await?);
    let mut written = opts.output.clone();
    let mut syntax = None;
    let summary = match (labelled, &opts.output) {
        (Some(files), _) => {
            written = Some(files.paths.data.clone());
            syntax = Some(files.paths.syntax.display().to_string());
            until_stopped(export::export_labelled(
                &pool,
                &def,
                &secret,
                &export_opts,
                files,
            ))
            .await?
        }
        (None, Some(path)) => {
            until_stopped(export::export_to_file(
                &pool,
                &def,
                &secret,
                &export_opts,
                path,
            ))
            .await?
        }
        (None, None) => {
            let stdout = std::io::stdout().lock();
            let (summary, _) = export::export(
                &pool,
                &def,
                &secret,
                &export_opts,
                std::io::BufWriter::new(stdout),
            )
            .await?;
            summary
        }
    };
    if let Some(path) = &opts.codebook {
        export::sink::write_file(path, &export::codebook(&def, &export_opts)?)?;
    }
    let mut manifest = Manifest::new(
        &summary,
        &def,
        &export_opts,
        written.as_deref(),
        chrono::Utc::now(),
    );
    manifest.syntax = syntax;
    write_manifest(&manifest, opts.manifest.as_deref())
}

fn write_manifest(manifest: &Manifest, path: Option<&Path>) -> anyhow::Result<()> {
    let line = manifest.to_json() + "\n";
    match path {
        Some(path) => export::sink::write_file(path, line.as_bytes()),
        None => {
            std::io::stderr().write_all(line.as_bytes())?;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times() {
        let t = |s| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").expect("t");
        assert_eq!(parse_since("2026-11-28"), Ok(t("2026-11-28 00:00:00")));
        assert_eq!(
            parse_until("2026-11-28"),
            Ok(t("2026-11-28 23:59:59.999999"))
        );
        assert_eq!(
            parse_since("2026-11-28T10:00:00-03:00"),
            Ok(t("2026-11-28 13:00:00"))
        );
        assert!(parse_since("2026-13-01").is_err());
        assert!(parse_until("yesterday").is_err());
    }
}
