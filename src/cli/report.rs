//! `pesquisa report`: the aggregate results and the market-size estimate as a
//! self-contained HTML file, JSON or a terminal table. Read-only, like `export`.

use std::io::Write;
use std::path::PathBuf;

use super::export::{FilterArgs, check_filters, open_for_reading};
use crate::config::Settings;
use crate::export::sink::write_file;
use crate::i18n::Lang;
use crate::report::{self, ReportParams};
use crate::stats::Households;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// One HTML file with inline CSS and SVG charts; opens offline.
    Html,
    /// The same numbers as JSON.
    Json,
    /// A plain-text table for the terminal.
    Text,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LangArg {
    Pt,
    En,
}

#[derive(Debug, clap::Args)]
pub struct Opts {
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Html)]
    pub format: ReportFormat,
    /// Write to FILE (complete or not at all) instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Language of the labels.
    #[arg(long, value_enum, default_value_t = LangArg::Pt)]
    pub lang: LangArg,
    #[command(flatten)]
    pub filters: FilterArgs,
    /// Households in the study area, for the monthly market in reais
    /// (default: report.households in the configuration, else the households per bairro
    /// of the stored census margins).
    #[arg(long, value_name = "N", conflicts_with = "households_file")]
    pub households: Option<u64>,
    /// Households per bairro: one `bairro;households` per line
    /// (default: report.households_file, else the stored census margins).
    #[arg(long, value_name = "FILE")]
    pub households_file: Option<PathBuf>,
    /// Value in reais assumed for the open top spend band (default 1.5 × its lower bound).
    #[arg(long, value_name = "REAIS")]
    pub open_top_spend: Option<f64>,
    /// Share of each household's supermarket spend the store would capture, 0 to 1
    /// (default: derived from purchase intent).
    #[arg(long, value_name = "SHARE")]
    pub capture_share: Option<f64>,
    /// Seed of the bootstrap intervals (same seed, same report).
    #[arg(long)]
    pub seed: Option<u64>,
}

fn params(settings: &Settings, opts: &Opts) -> anyhow::Result<ReportParams> {
    let mut p = report::params_from_settings(&settings.report)?;
    p.filters = opts.filters.to_filters();
    p.filters.verified_only = settings.require_verified_email();
    p.zone = settings.survey.zone();
    p.weighting = settings.weighting.plan()?;
    p.quality = settings.quality.params()?;
    p.cceb = Some(settings.survey.load_cceb_table()?);
    // Given households win over the stored census margins (see report::build).
    if let Some(n) = opts.households {
        p.households = Some(Households::Total(n));
        p.households_source = report::HouseholdsSource::Analyst;
    }
    if let Some(path) = &opts.households_file {
        p.households = Some(
            report::read_households_file(path)
                .map_err(|e| anyhow::anyhow!("--households-file: {e:#}"))?,
        );
        p.households_source = report::file_source(path);
    }
    if let Some(v) = opts.open_top_spend {
        if !(v.is_finite() && v >= 0.0) {
            anyhow::bail!("--open-top-spend: expected an amount in reais ≥ 0, got {v}");
        }
        p.open_top_spend = Some(v);
    }
    // Checked against the questionnaire by `run`, once the definition is loaded.
    if let Some(v) = opts.capture_share {
        if !(0.0..=1.0).contains(&v) {
            anyhow::bail!("--capture-share: expected a share between 0 and 1 (e.g. 0.2), got {v}");
        }
        p.capture_share = Some(v);
    }
    if opts.seed.is_some() {
        p.seed = opts.seed;
    }
    Ok(p)
}

pub async fn run(settings: Settings, opts: Opts) -> anyhow::Result<()> {
    let params = params(&settings, &opts)?;
    check_filters(&params.filters)?;
    let def = settings.survey.load_definition()?;
    if let Some(v) = params.open_top_spend {
        // A usage error, found before reading anything: not a report without estimate.
        let source = if opts.open_top_spend.is_some() {
            "--open-top-spend"
        } else {
            "report.open_top_spend"
        };
        report::check_open_top_spend(&def, v).map_err(|e| anyhow::anyhow!("{source}: {e}"))?;
    }
    let pool = open_for_reading(&settings).await?;
    let report = report::build(&pool, &def, &params, settings.survey.salario_minimo).await?;
    let lang = match opts.lang {
        LangArg::Pt => Lang::Pt,
        LangArg::En => Lang::En,
    };
    let bytes = match opts.format {
        ReportFormat::Html => report::html::document(&report, lang).into_bytes(),
        ReportFormat::Json => {
            let mut v = serde_json::to_vec_pretty(&report)?;
            v.push(b'\n');
            v
        }
        ReportFormat::Text => report::text::render(&report, lang).into_bytes(),
    };
    match &opts.output {
        Some(path) => write_file(path, &bytes)?,
        None => std::io::stdout().lock().write_all(&bytes)?,
    }
    Ok(())
}
