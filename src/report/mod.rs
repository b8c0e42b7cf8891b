//! The analysts' report: every aggregate the study needs, computed once into a
//! [`Report`] and then rendered as a self-contained HTML file, JSON or a terminal table
//! (`pesquisa report`), or as the `/admin/results` page. One implementation, several
//! outputs: the renderers only format numbers computed here.
//!
//! Contents: respondents and completes; for each question its distribution with counts,
//! percentages and 95% Wilson intervals (a histogram and summary for integers); cross
//! tabulations of income class against the questions with the roles trips per month,
//! monthly spend and purchase intent, each with a chi-square test; results by bairro
//! with small cells suppressed; the market-size estimate of [`crate::stats::market`].
//!
//! Responses are read once, in batches like the export; only counts (per raking cell for
//! the weighted figures, see [`cells`]) and the few numbers per respondent the market
//! estimate needs are kept. With census margins stored, the cells are raked after the
//! read and every share, mean and table gets its weighted value beside the unweighted one.

pub mod assumptions;
pub mod cache;
mod cells;
pub mod flow;
pub mod html;
mod model;
pub mod query;
pub mod text;
pub mod weighted;

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;

use serde::Serialize;

use crate::census::weighting::WeightPlan;
use crate::config::ReportSettings;
use crate::db::DbPool;
use crate::db::batches::{self, Filters};
use crate::db::census::{self as census_store, CensusWeights};
use crate::stats::{Households, MarketParams};
use crate::survey::Definition;

pub use model::{
    BairroRow, Bin, COMPETITOR_KEY, Competitors, Crosstab, Histogram, Label, MarketSection,
    QuestionReport, Report, Share,
};

/// Seed of the bootstrap when the analyst gives none: reports are reproducible.
pub const DEFAULT_SEED: u64 = 20_261_127;

/// Where the households of the market estimate come from.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HouseholdsSource {
    /// None given and no census stored.
    #[default]
    None,
    /// A total given by the analyst (`--households`, `report.households`).
    Analyst,
    /// A `bairro;households` file (`--households-file`, `report.households_file`).
    File { name: String },
    /// The stored census margins (`pesquisa census import`).
    Census {
        /// UTC (serialized ISO 8601).
        #[serde(serialize_with = "iso_time")]
        imported_at: chrono::NaiveDateTime,
        illustrative: bool,
    },
}

fn iso_time<S: serde::Serializer>(t: &chrono::NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::survey::format::timestamp(*t))
}

/// What the analyst chose for the report.
#[derive(Debug, Clone, Default)]
pub struct ReportParams {
    pub filters: Filters,
    /// Households in the area; without them (and without stored census margins) the
    /// market in reais is not computed.
    pub households: Option<Households>,
    /// Where `households` came from; [`build`] fills in the census when it uses it.
    pub households_source: HouseholdsSource,
    /// How the responses are weighted to the stored census margins (`[weighting]`).
    pub weighting: WeightPlan,
    /// The Critério Brasil table of the cross-tabs by class (`survey.cceb_table`);
    /// `None`: the embedded one.
    pub cceb: Option<std::sync::Arc<crate::survey::CcebTable>>,
    /// Value of the open top spend band in reais; default 1.5 × its lower bound.
    pub open_top_spend: Option<f64>,
    /// Capture share in 0..=1; default derived from purchase intent.
    pub capture_share: Option<f64>,
    /// Bootstrap seed; [`DEFAULT_SEED`] when `None`.
    pub seed: Option<u64>,
    /// Bootstrap resamples; the statistics module's default when `None`.
    pub resamples: Option<usize>,
    /// Zone of the times shown in the report.
    pub zone: crate::locale::Zone,
    /// Parameters of the data-quality flags (`[quality]`); `filters.exclude_flagged`
    /// leaves the flagged responses out.
    pub quality: crate::quality::Params,
}

impl ReportParams {
    pub(crate) fn market_params(&self, open_top: f64) -> MarketParams {
        let mut p = MarketParams::new(
            open_top,
            self.households.clone().unwrap_or(Households::Total(0)),
            self.seed.unwrap_or(DEFAULT_SEED),
        );
        p.capture_share = self.capture_share;
        if let Some(b) = self.resamples {
            p.resamples = b;
        }
        p
    }
}

/// The name a households file is shown by.
pub fn file_source(path: &Path) -> HouseholdsSource {
    HouseholdsSource::File {
        name: path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into(),
        ),
    }
}

/// The configured defaults (`[report]`), households file read and checked. The
/// weighting plan is the default one: callers with settings set [`ReportParams::weighting`]
/// from `[weighting]`.
pub fn params_from_settings(s: &ReportSettings) -> anyhow::Result<ReportParams> {
    let (households, households_source) = match (&s.households_file, s.households) {
        (Some(path), _) => (
            Some(
                read_households_file(path)
                    .map_err(|e| anyhow::anyhow!("report.households_file: {e:#}"))?,
            ),
            file_source(path),
        ),
        (None, Some(n)) => (Some(Households::Total(n)), HouseholdsSource::Analyst),
        (None, None) => (None, HouseholdsSource::None),
    };
    Ok(ReportParams {
        filters: Filters::default(),
        households,
        households_source,
        weighting: WeightPlan::default(),
        cceb: None,
        open_top_spend: s.open_top_spend,
        capture_share: s.capture_share,
        seed: s.seed,
        resamples: None,
        zone: crate::locale::Zone::default(),
        quality: crate::quality::Params::default(),
    })
}

/// Checks an analyst's value for the open top spend band against the questionnaire: a
/// value below the band's lower bound would contradict the answer ("more than R$ X").
/// Questionnaires without a monthly-spend question accept any value (no estimate).
pub fn check_open_top_spend(def: &Definition, value: f64) -> Result<(), String> {
    if !(value.is_finite() && value >= 0.0) {
        return Err(format!("expected an amount in reais ≥ 0, got {value}"));
    }
    let spend = def
        .by_role(crate::survey::Role::MonthlySpend)
        .filter(|q| matches!(q.kind, crate::survey::QuestionKind::Single { .. }));
    match spend.map(model::open_band_lower) {
        Some(lower) if value < lower => Err(format!(
            "R$ {value} is below the lower bound of the open band \"{}\" (R$ {lower})",
            spend
                .and_then(|q| q
                    .options()
                    .iter()
                    .find(|o| o.upper.is_none() && !o.excluded))
                .map_or("", |o| o.label.pt.as_str())
        )),
        _ => Ok(()),
    }
}

/// Reads the responses matching `params.filters` once and computes the report. With
/// census margins stored, the weighable responses read are raked to them
/// ([`census_store::rake_cells`]) and, unless the analyst gave households, the market
/// uses the census's households per bairro.
pub async fn build(
    pool: &DbPool,
    def: &Definition,
    params: &ReportParams,
    salario_minimo: u32,
) -> anyhow::Result<Report> {
    let mut params = params.clone();
    // Flags are judged over every response, all but straight-lining before the read;
    // straight-lining looks at a response's own answers, so it is judged in the read
    // below, from the answers the report parses anyway. With `exclude_flagged` the
    // weights and the tables leave the flagged responses out.
    let prejudged = crate::db::quality::prejudge(pool, def, &params.quality).await?;
    let stored = census_store::load(pool).await?;
    let cceb = params
        .cceb
        .clone()
        .unwrap_or_else(crate::survey::CcebTable::embedded);
    let mut acc = model::Accumulator::new(def, cceb);
    // The sample flow counts every response under the report's other filters, flagged
    // or not (so nothing is left out of the read itself).
    let mut flow = crate::quality::FlowCount::default();
    let filters = &params.filters;
    let mut all = filters.clone();
    all.excluded = batches::Excluded::default();
    let mut batches = batches::Batches::open(pool, &all, batches::BATCH_SIZE, false).await?;
    while let Some(batch) = batches.next().await? {
        for r in &batch.rows {
            let answers = acc.slots().parse(&r.answers);
            let flags = prejudged.flags_of(r, &answers);
            let complete = r.submitted_at.is_some() && r.screened_out.is_none();
            flow.add(r.screened_out.as_deref(), complete, flags);
            if flags.is_empty() || !filters.exclude_flagged {
                acc.add_parsed(r, &answers);
            }
        }
    }
    let weights = match stored {
        None => CensusWeights::NoCensus,
        Some(stored) => {
            let (cells, members) = acc.raking_cells();
            census_store::rake_cells(stored, &cells, members, &params.weighting)
        }
    };
    if params.households.is_none()
        && let Some(stored) = weights.stored()
    {
        params.households = Some(Households::PerBairro(stored.households()));
        params.households_source = HouseholdsSource::Census {
            imported_at: stored.info.imported_at,
            illustrative: stored.info.illustrative,
        };
    }
    let mut report = acc.finish_weighted(&params, &weights, salario_minimo, chrono::Utc::now())?;
    report.sample_flow = Some(flow.finish(prejudged.signed_up, params.filters.exclude_flagged));
    Ok(report)
}

/// Households per bairro from a file: one `bairro;households` (or tab or comma
/// separated) per line, `#` comments and blank lines ignored. Errors name the line.
pub fn read_households_file(path: &Path) -> anyhow::Result<Households> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse_households(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// What is wrong with a households list, and on which line (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HouseholdsError {
    /// A line without `;`, tab or comma.
    NoSeparator(usize),
    EmptyName(usize),
    /// The count is not a whole number (as written).
    NotANumber(usize, String),
    /// The bairro appeared on an earlier line.
    Twice(usize, String),
    /// Only comments and blank lines.
    Empty,
}

impl std::fmt::Display for HouseholdsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HouseholdsError::NoSeparator(n) => write!(f, "line {n}: expected `bairro;households`"),
            HouseholdsError::EmptyName(n) => write!(f, "line {n}: the bairro name is empty"),
            HouseholdsError::NotANumber(n, count) => {
                write!(f, "line {n}: `{count}` is not a whole number of households")
            }
            HouseholdsError::Twice(n, name) => write!(f, "line {n}: bairro `{name}` appears twice"),
            HouseholdsError::Empty => f.write_str("no `bairro;households` lines"),
        }
    }
}

/// See [`read_households_file`].
pub fn parse_households(text: &str) -> Result<Households, HouseholdsError> {
    let mut map = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim().trim_start_matches('\u{feff}');
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let n = i + 1;
        let (name, count) = line
            .rsplit_once([';', '\t', ','])
            .ok_or(HouseholdsError::NoSeparator(n))?;
        let name = name.trim();
        let count = count.trim().replace(['.', '_', ' '], "");
        if name.is_empty() {
            return Err(HouseholdsError::EmptyName(n));
        }
        let households: u64 = count
            .parse()
            .map_err(|_| HouseholdsError::NotANumber(n, count.clone()))?;
        if map.insert(name.to_string(), households).is_some() {
            return Err(HouseholdsError::Twice(n, name.to_string()));
        }
    }
    if map.is_empty() {
        return Err(HouseholdsError::Empty);
    }
    Ok(Households::PerBairro(map))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn households_file_lines() {
        let h = parse_households("# bairro;domicílios\nVila Industrial; 1.200\nJardim Uirá\t300\n")
            .expect("parses");
        let Households::PerBairro(map) = h else {
            panic!("per bairro")
        };
        assert_eq!(map.get("Vila Industrial"), Some(&1200));
        assert_eq!(map.get("Jardim Uirá"), Some(&300));
        assert_eq!(
            parse_households("A;1\nA;2").unwrap_err().to_string(),
            "line 2: bairro `A` appears twice"
        );
        assert_eq!(
            parse_households("x;muitas").unwrap_err().to_string(),
            "line 1: `muitas` is not a whole number of households"
        );
        assert!(parse_households("# nada\n").is_err());
        assert!(parse_households("semseparador").is_err());
    }
}
