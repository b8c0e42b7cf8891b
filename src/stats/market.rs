//! Market-size estimate for the new store: average monthly supermarket spend
//! per household (with bootstrap intervals), the area's monthly market in
//! reais, the store's potential, a Lower/Mid/Upper sensitivity, and the list
//! of assumptions behind every number.
//!
//! Method, in order:
//! 1. Each respondent's monthly supermarket spend band is valued under each
//!    scenario with [`value_at`]; respondents without a usable band are left
//!    out of every average (the same respondents in all scenarios).
//! 2. Mean spend per household with a 95% percentile bootstrap interval,
//!    overall, by income class and by bairro. Means are unweighted: each
//!    responding household counts once and the sample is taken as
//!    representative of the area's households.
//! 3. Small-cell protection: a group with fewer than `min_cell` respondents
//!    with a spend answer is suppressed (no numbers, not even its count).
//!    Because the overall mean and the reported groups' means and counts
//!    would let a reader recover the suppressed respondents' total by
//!    subtraction, further groups (smallest first) are suppressed until the
//!    respondents hidden in a breakdown, including those without a class or
//!    bairro, number zero or at least `min_cell` (complementary suppression).
//!    If the overall group itself is too small, nothing is reported and the
//!    market is not computed (it would reveal the mean).
//! 4. Market = mean × households: with one total, the overall mean times the
//!    total; with households per bairro, the sum over the listed bairros of
//!    the bairro mean × its households, where a suppressed bairro (or one
//!    without respondents) uses the overall mean instead. A suppressed bairro
//!    never contributes its own mean, since the total would then reveal it.
//! 5. Potential = market × capture share. The capture share is the share of a
//!    household's supermarket spend the new store is expected to take. It is
//!    either given by the analyst, or derived from purchase intent as the
//!    average, over respondents who answered the intent question, of a weight
//!    per answer (a top-box purchase-intent calibration; defaults in
//!    [`IntentWeights`]). It is not divided further by the number of
//!    competing stores: the calibrated intent already stands for the share.
//!    The intent-derived share is also withheld below `min_cell` answers.
//! 6. Intervals of market and potential, from the same bootstrap resamples as the
//!    overall mean: each resample's market is the market × (resample mean / mean), exact
//!    with one households total and, with households per bairro, the overall relative
//!    uncertainty applied to the per-bairro sum. The potential multiplies each resample's
//!    market by the capture share: a given share is taken as exact (its uncertainty is
//!    the analyst's assumption, shown by the scenarios), an intent-derived share is
//!    resampled independently from the intent answers (spend and intent are treated as
//!    independent).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::bands::{Band, Scenario, value_at};
use super::bootstrap::{
    DEFAULT_RESAMPLES, bootstrap_mean_ci_of, bootstrap_means_of, percentile_interval,
};
use super::income_class::IncomeClass;

/// Default minimum number of respondents for a group to be reported.
pub const DEFAULT_MIN_CELL: usize = 5;

/// Confidence level of the reported intervals.
const CONFIDENCE: f64 = 0.95;

/// One household's answers, as needed for the estimate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Respondent {
    /// Monthly supermarket spend band in reais; `None` when not answered.
    /// A known exact value `x` can be given as `Band { lower: Some(x),
    /// upper: Some(x) }`.
    pub spend: Option<Band>,
    /// Income class; `None` when not informed (counted in the overall figures
    /// only).
    pub income_class: Option<IncomeClass>,
    /// Bairro as it should appear in reports; matched exactly (no case or
    /// accent folding) against [`Households::PerBairro`] keys. `None` when
    /// not informed (counted in the overall figures only).
    pub bairro: Option<String>,
    /// Purchase intent, 5 = certamente sim, 4 = provavelmente sim,
    /// 3 = talvez, 2 = provavelmente não, 1 = certamente não; `None` when not
    /// answered. Values outside 1..=5 are treated as not answered.
    pub intent: Option<u8>,
}

/// Respondents as the estimate keeps them: each one's spend band and bairro as an
/// index into tables of the distinct bands and bairros, its class and intent as they
/// are, so that a study holds 12 bytes per respondent instead of a [`Respondent`] and
/// its bairro's `String`. The estimate reads them in the order they were added.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    bands: Vec<Band>,
    band_index: HashMap<(Option<u64>, Option<u64>), u32>,
    bairros: Vec<String>,
    bairro_index: HashMap<String, u32>,
    rows: Vec<Row>,
}

/// One respondent of a [`Sample`]; [`Row::NONE`] marks an unanswered band or bairro.
#[derive(Debug, Clone, Copy)]
struct Row {
    spend: u32,
    bairro: u32,
    income_class: Option<IncomeClass>,
    intent: Option<u8>,
}

impl Row {
    const NONE: u32 = u32::MAX;
}

impl Sample {
    /// Adds one respondent (see [`Respondent`] for the fields).
    pub fn push(
        &mut self,
        spend: Option<Band>,
        income_class: Option<IncomeClass>,
        bairro: Option<&str>,
        intent: Option<u8>,
    ) {
        let spend = spend.map_or(Row::NONE, |b| {
            let key = (b.lower.map(f64::to_bits), b.upper.map(f64::to_bits));
            *self.band_index.entry(key).or_insert_with(|| {
                let i = self.bands.len() as u32;
                self.bands.push(b);
                i
            })
        });
        let bairro = bairro.map_or(Row::NONE, |name| match self.bairro_index.get(name) {
            Some(i) => *i,
            None => {
                let i = self.bairros.len() as u32;
                self.bairros.push(name.to_string());
                self.bairro_index.insert(name.to_string(), i);
                i
            }
        });
        self.rows.push(Row {
            spend,
            bairro,
            income_class,
            intent,
        });
    }

    /// Respondents added.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    fn bairro(&self, r: &Row) -> Option<&str> {
        self.bairros.get(r.bairro as usize).map(String::as_str)
    }
}

impl From<&[Respondent]> for Sample {
    fn from(respondents: &[Respondent]) -> Sample {
        let mut s = Sample::default();
        for r in respondents {
            s.push(r.spend, r.income_class, r.bairro.as_deref(), r.intent);
        }
        s
    }
}

/// Share of household spend a respondent's intent answer is taken to mean.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct IntentWeights {
    /// Weight for 5, "certamente sim".
    pub certamente_sim: f64,
    /// Weight for 4, "provavelmente sim".
    pub provavelmente_sim: f64,
    /// Weight for 3, "talvez".
    pub talvez: f64,
    /// Weight for 2, "provavelmente não".
    pub provavelmente_nao: f64,
    /// Weight for 1, "certamente não".
    pub certamente_nao: f64,
}

impl Default for IntentWeights {
    /// 0.75 / 0.35 / 0.10 / 0.02 / 0: a common top-box calibration, since
    /// stated intent overstates actual purchase.
    fn default() -> Self {
        IntentWeights {
            certamente_sim: 0.75,
            provavelmente_sim: 0.35,
            talvez: 0.10,
            provavelmente_nao: 0.02,
            certamente_nao: 0.0,
        }
    }
}

impl IntentWeights {
    /// Weight of an intent score 1..=5; `None` outside that range.
    pub fn weight(&self, score: u8) -> Option<f64> {
        match score {
            5 => Some(self.certamente_sim),
            4 => Some(self.provavelmente_sim),
            3 => Some(self.talvez),
            2 => Some(self.provavelmente_nao),
            1 => Some(self.certamente_nao),
            _ => None,
        }
    }

    fn named(&self) -> [(&'static str, f64); 5] {
        [
            ("certamente sim", self.certamente_sim),
            ("provavelmente sim", self.provavelmente_sim),
            ("talvez", self.talvez),
            ("provavelmente não", self.provavelmente_nao),
            ("certamente não", self.certamente_nao),
        ]
    }
}

/// Number of households in the study area.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Households {
    /// One total for the whole area.
    Total(u64),
    /// Households per bairro; the area is the union of these bairros.
    PerBairro(BTreeMap<String, u64>),
}

/// Analyst's parameters of the estimate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarketParams {
    /// Value in reais assumed for the open top spend band (e.g. 3000 for
    /// "acima de R$ 2.500"); must be ≥ that band's lower bound.
    pub open_top: f64,
    /// Households in the area.
    pub households: Households,
    /// Capture share in 0..=1 set by the analyst; `None` derives it from
    /// purchase intent.
    #[serde(default)]
    pub capture_share: Option<f64>,
    /// Weights of the intent answers (used when `capture_share` is `None`).
    #[serde(default)]
    pub intent_weights: IntentWeights,
    /// Minimum respondents for a group to be reported (default 5).
    #[serde(default = "default_min_cell")]
    pub min_cell: usize,
    /// Bootstrap resamples B (default 2000).
    #[serde(default = "default_resamples")]
    pub resamples: usize,
    /// Seed of the bootstrap generator.
    pub seed: u64,
}

fn default_min_cell() -> usize {
    DEFAULT_MIN_CELL
}

fn default_resamples() -> usize {
    DEFAULT_RESAMPLES
}

impl MarketParams {
    /// Parameters with the defaults: capture share from intent with
    /// [`IntentWeights::default`], `min_cell` 5, B = 2000.
    pub fn new(open_top: f64, households: Households, seed: u64) -> Self {
        MarketParams {
            open_top,
            households,
            capture_share: None,
            intent_weights: IntentWeights::default(),
            min_cell: DEFAULT_MIN_CELL,
            resamples: DEFAULT_RESAMPLES,
            seed,
        }
    }
}

/// Invalid parameters (bad data never errors; it is counted and skipped).
#[derive(Debug, Clone, PartialEq, Error)]
pub enum MarketError {
    /// `open_top` is NaN, infinite or negative.
    #[error("the open top value must be a finite amount ≥ 0, got {0}")]
    InvalidOpenTop(f64),
    /// `open_top` is below the lower bound of a respondent's open top band,
    /// which would drop that respondent (and bias the estimate downwards).
    #[error("the open top value R$ {open_top} is below the open band's lower bound R$ {lower}")]
    OpenTopBelowBand {
        /// The analyst's value.
        open_top: f64,
        /// The highest open-band lower bound found in the data.
        lower: f64,
    },
    /// The capture share override is not in 0..=1.
    #[error("the capture share must be between 0 and 1, got {0}")]
    InvalidCaptureShare(f64),
    /// An intent weight is not in 0..=1.
    #[error("the weight for \"{answer}\" must be between 0 and 1, got {value}")]
    InvalidIntentWeight {
        /// Answer label.
        answer: &'static str,
        /// Given weight.
        value: f64,
    },
    /// `resamples` is 0.
    #[error("the number of bootstrap resamples must be at least 1")]
    ZeroResamples,
}

/// Figures of one group, or their suppression.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum GroupResult {
    /// Enough respondents: count, mean monthly spend in reais, 95% interval.
    Reported {
        /// Respondents with a spend answer.
        n: usize,
        /// Mean monthly supermarket spend per household, in reais.
        mean: f64,
        /// 95% percentile bootstrap interval of the mean, `(low, high)`.
        ci95: (f64, f64),
    },
    /// Too few respondents (or suppressed to protect another small group):
    /// nothing is shown.
    Suppressed,
}

impl GroupResult {
    /// The mean when reported.
    pub fn mean(&self) -> Option<f64> {
        match self {
            GroupResult::Reported { mean, .. } => Some(*mean),
            GroupResult::Suppressed => None,
        }
    }
}

/// A labelled group row ("all", a class letter or a bairro).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupSpend {
    /// Group label.
    pub group: String,
    /// Its figures.
    #[serde(flatten)]
    pub result: GroupResult,
}

/// Where a bairro's mean in the per-bairro market sum comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MeanSource {
    /// The bairro's own reported mean.
    Bairro,
    /// The overall mean (the bairro has too few respondents).
    OverallFallback,
}

/// One line of the per-bairro market sum.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BairroMarket {
    /// Bairro (a key of [`Households::PerBairro`]).
    pub bairro: String,
    /// Its households.
    pub households: u64,
    /// Which mean was used.
    pub mean_source: MeanSource,
    /// The mean used, in reais per household per month.
    pub mean: f64,
    /// mean × households, in reais per month.
    pub market_monthly: f64,
}

/// All figures under one scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioEstimate {
    /// Which band value was used.
    pub scenario: Scenario,
    /// All respondents with a spend answer (group "all").
    pub overall: GroupSpend,
    /// Classes A to E, always all five in that order.
    pub by_income_class: Vec<GroupSpend>,
    /// Bairros in alphabetical order: those of the respondents and, with
    /// households per bairro, those of the household list.
    pub by_bairro: Vec<GroupSpend>,
    /// Monthly market of the area in reais; `None` when the overall group is
    /// suppressed (or, with absurd amounts, the product overflows).
    pub market_monthly: Option<f64>,
    /// Per-bairro terms of the market sum (empty with a households total or
    /// when the market is `None`).
    pub bairro_markets: Vec<BairroMarket>,
    /// 95% interval of `market_monthly` (see step 6 of the module docs).
    pub market_ci95: Option<(f64, f64)>,
    /// Monthly potential of the store in reais = market × capture share;
    /// `None` when either is unavailable.
    pub potential_monthly: Option<f64>,
    /// 95% interval of `potential_monthly` (see step 6 of the module docs).
    pub potential_ci95: Option<(f64, f64)>,
}

/// Where the capture share comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptureSource {
    /// Set by the analyst.
    Given,
    /// Derived from purchase intent.
    PurchaseIntent,
}

/// The capture share used for the potential.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaptureShare {
    /// Origin of the share.
    pub source: CaptureSource,
    /// Share of household spend captured, in 0..=1; `None` when derived from
    /// intent with fewer than `min_cell` answers.
    pub share: Option<f64>,
    /// Respondents with a valid intent answer (1..=5).
    pub intent_answers: usize,
}

/// Counts of usable answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Coverage {
    /// All respondents given.
    pub respondents: usize,
    /// With a usable spend band.
    pub with_spend: usize,
    /// Without one (not answered, or a band that cannot be valued).
    pub without_spend: usize,
    /// With an intent answer in 1..=5.
    pub with_intent: usize,
    /// With an intent value outside 1..=5 (treated as not answered).
    pub invalid_intent: usize,
}

/// The complete estimate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MarketEstimate {
    /// Answer counts.
    pub coverage: Coverage,
    /// Capture share used in every scenario.
    pub capture: CaptureShare,
    /// Lower, Mid and Upper scenarios, in that order.
    pub scenarios: Vec<ScenarioEstimate>,
    /// What the estimate rests on, for the report's list of assumptions.
    #[serde(skip)]
    pub basis: Basis,
}

/// The inputs and outcomes an estimate's assumptions are written from (the words are the
/// report's, in both languages).
#[derive(Debug, Clone, PartialEq)]
pub struct Basis {
    pub params: MarketParams,
    /// Smallest group reported (`min_cell`, at least 1).
    pub min: usize,
    /// Whether enough respondents gave a spend answer for any figure at all.
    pub overall_reported: bool,
    /// With households per bairro: bairros with spend answers but no household count.
    pub bairros_without_households: Vec<String>,
}

impl MarketEstimate {
    /// The figures of one scenario.
    pub fn scenario(&self, scenario: Scenario) -> Option<&ScenarioEstimate> {
        self.scenarios.iter().find(|s| s.scenario == scenario)
    }
}

fn unit_interval(x: f64) -> bool {
    (0.0..=1.0).contains(&x)
}

fn validate(sample: &Sample, p: &MarketParams) -> Result<(), MarketError> {
    if !(p.open_top.is_finite() && p.open_top >= 0.0) {
        return Err(MarketError::InvalidOpenTop(p.open_top));
    }
    // Every band of the table is some respondent's.
    let highest_open_lower = sample
        .bands
        .iter()
        .filter(|b| b.upper.is_none())
        .filter_map(|b| b.lower)
        .filter(|l| l.is_finite())
        .fold(None, |acc: Option<f64>, l| {
            Some(acc.map_or(l, |a| a.max(l)))
        });
    if let Some(lower) = highest_open_lower {
        if p.open_top < lower {
            return Err(MarketError::OpenTopBelowBand {
                open_top: p.open_top,
                lower,
            });
        }
    }
    if let Some(c) = p.capture_share {
        if !unit_interval(c) {
            return Err(MarketError::InvalidCaptureShare(c));
        }
    }
    for (answer, value) in p.intent_weights.named() {
        if !unit_interval(value) {
            return Err(MarketError::InvalidIntentWeight { answer, value });
        }
    }
    if p.resamples == 0 {
        return Err(MarketError::ZeroResamples);
    }
    Ok(())
}

/// `(low, high)`.
type Interval = (f64, f64);

/// Mixed into the seed of the capture-share resamples so they are independent of the
/// spend resamples.
const CAPTURE_SEED_SALT: u64 = 0x9e37_79b9_7f4a_7c15;

/// The 95% intervals of the market and of the potential (step 6). `capture` holds the
/// resampled capture shares, or the one given share; the potential's interval pairs the
/// i-th market resample with the i-th share (cycling over a single given share).
fn market_intervals(
    market: Option<f64>,
    mean: Option<f64>,
    data: impl Iterator<Item = f64> + Clone,
    capture: Option<&[f64]>,
    params: &MarketParams,
) -> (Option<Interval>, Option<Interval>) {
    let (Some(market), Some(mean)) = (market, mean) else {
        return (None, None);
    };
    let Some(means) = bootstrap_means_of(data, params.resamples, params.seed) else {
        return (None, None);
    };
    let markets: Vec<f64> = means
        .iter()
        .map(|m| {
            if mean > 0.0 {
                market * m / mean
            } else {
                market
            }
        })
        .collect();
    let potential = capture.filter(|c| !c.is_empty()).and_then(|c| {
        let draws: Vec<f64> = markets
            .iter()
            .zip(c.iter().cycle())
            .map(|(m, s)| m * s)
            .collect();
        percentile_interval(draws, CONFIDENCE)
    });
    (percentile_interval(markets, CONFIDENCE), potential)
}

/// Decides which groups of one breakdown are suppressed (see step 3 of the
/// module docs). `counts` are respondents with spend per group, `hidden` the
/// respondents with spend that belong to no group of this breakdown.
pub fn suppressed_groups<K: Ord + Clone>(
    counts: &BTreeMap<K, usize>,
    hidden: usize,
    min_cell: usize,
) -> BTreeSet<K> {
    // A minimum of 0 would let an empty group be "reported"; 1 is the floor.
    let min = min_cell.max(1);
    let mut suppressed: BTreeSet<K> = counts
        .iter()
        .filter(|&(_, &n)| n < min)
        .map(|(k, _)| k.clone())
        .collect();
    let mut hidden_total = counts
        .iter()
        .filter(|(k, _)| suppressed.contains(*k))
        .fold(hidden, |acc, (_, &n)| acc.saturating_add(n));
    while hidden_total > 0 && hidden_total < min {
        // Smallest reported group; ties broken by key order for determinism.
        let next = counts
            .iter()
            .filter(|(k, _)| !suppressed.contains(*k))
            .min_by_key(|&(_, &n)| n)
            .map(|(k, &n)| (k.clone(), n));
        match next {
            Some((k, n)) => {
                suppressed.insert(k);
                hidden_total = hidden_total.saturating_add(n);
            }
            None => break,
        }
    }
    suppressed
}

/// Spend values of one respondent in the order of [`Scenario::ALL`].
type ScenarioValues = [f64; 3];

fn scenario_values(band: &Band, open_top: f64) -> Option<ScenarioValues> {
    Some([
        value_at(band, Scenario::Lower, open_top)?,
        value_at(band, Scenario::Mid, open_top)?,
        value_at(band, Scenario::Upper, open_top)?,
    ])
}

/// The values under scenario `slot` of respondents given by their bands, in order.
fn values_at<'a>(
    band_values: &'a [Option<ScenarioValues>],
    bands: &'a [u32],
    slot: usize,
) -> impl Iterator<Item = f64> + Clone + 'a {
    bands.iter().filter_map(move |b| {
        let v = band_values.get(*b as usize).copied().flatten()?;
        v.get(slot).copied()
    })
}

/// Computes the market-size estimate. See the module docs for the method.
///
/// # Errors
/// Only for invalid parameters ([`MarketError`]); empty or unusable data give
/// suppressed groups and `None` amounts instead.
pub fn estimate_market(
    respondents: &[Respondent],
    params: &MarketParams,
) -> Result<MarketEstimate, MarketError> {
    estimate_sample(&Sample::from(respondents), params)
}

/// [`estimate_market`] of respondents kept as a [`Sample`]: the same figures, read from
/// the sample's rows in order instead of from one vector per group.
///
/// # Errors
/// As [`estimate_market`].
pub fn estimate_sample(
    sample: &Sample,
    params: &MarketParams,
) -> Result<MarketEstimate, MarketError> {
    validate(sample, params)?;
    let min = params.min_cell.max(1);

    // Step 1: value every usable spend band once, for all scenarios; a respondent is
    // valued when their band is.
    let band_values: Vec<Option<ScenarioValues>> = sample
        .bands
        .iter()
        .map(|b| scenario_values(b, params.open_top))
        .collect();
    let valued = || {
        sample.rows.iter().filter_map(|r| {
            let values = band_values.get(r.spend as usize).copied().flatten()?;
            Some((r, values))
        })
    };
    let with_spend = valued().count();

    // Group sizes, by class and by bairro (independent of scenario).
    let mut by_class: BTreeMap<IncomeClass, usize> =
        IncomeClass::ALL.iter().map(|&c| (c, 0)).collect();
    let mut by_bairro: BTreeMap<String, usize> = BTreeMap::new();
    if let Households::PerBairro(map) = &params.households {
        for b in map.keys() {
            by_bairro.insert(b.clone(), 0);
        }
    }
    let (mut no_class, mut no_bairro) = (0usize, 0usize);
    for (r, _) in valued() {
        match r.income_class {
            Some(c) => {
                let n = by_class.entry(c).or_default();
                *n = n.saturating_add(1);
            }
            None => no_class = no_class.saturating_add(1),
        }
        match sample.bairro(r) {
            Some(b) => match by_bairro.get_mut(b) {
                Some(n) => *n = n.saturating_add(1),
                None => {
                    by_bairro.insert(b.to_string(), 1);
                }
            },
            None => no_bairro = no_bairro.saturating_add(1),
        }
    }

    // Step 3: suppression decisions, shared by all scenarios.
    let overall_reported = with_spend >= min;
    let suppressed_classes = suppressed_groups(&by_class, no_class, min);
    let suppressed_bairros = suppressed_groups(&by_bairro, no_bairro, min);

    // Step 5 (scenario-independent): capture share.
    let intents = || {
        sample
            .rows
            .iter()
            .filter_map(|r| r.intent)
            .filter_map(|s| params.intent_weights.weight(s))
    };
    let intent_answers = intents().count();
    let answered_intent = sample.rows.iter().filter(|r| r.intent.is_some()).count();
    let capture = match params.capture_share {
        Some(share) => CaptureShare {
            source: CaptureSource::Given,
            share: Some(share),
            intent_answers,
        },
        None => CaptureShare {
            source: CaptureSource::PurchaseIntent,
            share: (intent_answers >= min).then(|| intents().sum::<f64>() / intent_answers as f64),
            intent_answers,
        },
    };

    // Resampled capture shares for the potential's interval: intent-derived shares only,
    // drawn with another seed than the spend (independent resamples).
    let capture_draws: Option<Vec<f64>> = match (capture.source, capture.share) {
        (CaptureSource::PurchaseIntent, Some(_)) => {
            bootstrap_means_of(intents(), params.resamples, params.seed ^ CAPTURE_SEED_SALT)
        }
        _ => None,
    };

    // The bands of the valued respondents in a group, in order: 4 bytes each, for one
    // group at a time; and their values under one scenario.
    let bands_of = |member: &dyn Fn(&Row) -> bool| -> Vec<u32> {
        valued()
            .filter(|(r, _)| member(r))
            .map(|(r, _)| r.spend)
            .collect()
    };
    let group_result = |member: &dyn Fn(&Row) -> bool, slot: usize, reported: bool| {
        if !reported {
            return GroupResult::Suppressed;
        }
        let bands = bands_of(member);
        // Every scenario uses the same seed: reproducible, and the
        // Lower/Mid/Upper intervals share their resamples so their
        // differences reflect the scenario, not resampling noise.
        match bootstrap_mean_ci_of(
            values_at(&band_values, &bands, slot),
            params.resamples,
            CONFIDENCE,
            params.seed,
        ) {
            Some(b) => GroupResult::Reported {
                n: b.n,
                mean: b.mean,
                ci95: b.ci,
            },
            // Only reachable with amounts near f64::MAX (overflow).
            None => GroupResult::Suppressed,
        }
    };
    let mut scenarios = Vec::with_capacity(Scenario::ALL.len());
    for (slot, scenario) in Scenario::ALL.into_iter().enumerate() {
        let overall = GroupSpend {
            group: "all".to_string(),
            result: group_result(&|_| true, slot, overall_reported),
        };
        let by_income_class: Vec<GroupSpend> = by_class
            .keys()
            .map(|c| GroupSpend {
                group: c.as_str().to_string(),
                result: group_result(
                    &|r| r.income_class == Some(*c),
                    slot,
                    !suppressed_classes.contains(c),
                ),
            })
            .collect();
        let by_bairro_rows: Vec<GroupSpend> = by_bairro
            .keys()
            .map(|b| {
                let id = sample.bairro_index.get(b).copied();
                GroupSpend {
                    group: b.clone(),
                    result: group_result(
                        &|r| Some(r.bairro) == id,
                        slot,
                        !suppressed_bairros.contains(b),
                    ),
                }
            })
            .collect();

        // Step 4: market.
        let overall_mean = overall.result.mean();
        let mut bairro_markets = Vec::new();
        let market_monthly = match (&params.households, overall_mean) {
            (_, None) => None,
            (Households::Total(h), Some(mean)) => Some(mean * *h as f64),
            (Households::PerBairro(map), Some(overall_mean)) => {
                let mut total = 0.0;
                for (bairro, &households) in map {
                    let own = by_bairro_rows
                        .iter()
                        .find(|g| &g.group == bairro)
                        .and_then(|g| g.result.mean());
                    let (mean_source, mean) = match own {
                        Some(m) => (MeanSource::Bairro, m),
                        None => (MeanSource::OverallFallback, overall_mean),
                    };
                    let market = mean * households as f64;
                    total += market;
                    bairro_markets.push(BairroMarket {
                        bairro: bairro.clone(),
                        households,
                        mean_source,
                        mean,
                        market_monthly: market,
                    });
                }
                Some(total)
            }
        };
        // Only absurd amounts (near f64::MAX) can overflow; report no market
        // rather than an infinite one.
        let market_monthly = market_monthly.filter(|m| m.is_finite());
        if market_monthly.is_none() {
            bairro_markets.clear();
        }
        let potential_monthly = market_monthly.zip(capture.share).map(|(m, s)| m * s);
        let all_bands = bands_of(&|_| true);
        let (market_ci95, potential_ci95) = market_intervals(
            market_monthly,
            overall_mean,
            values_at(&band_values, &all_bands, slot),
            capture_draws
                .as_deref()
                .or(capture.share.as_ref().map(std::slice::from_ref)),
            params,
        );

        scenarios.push(ScenarioEstimate {
            scenario,
            overall,
            by_income_class,
            by_bairro: by_bairro_rows,
            market_monthly,
            bairro_markets,
            market_ci95,
            potential_monthly,
            potential_ci95,
        });
    }

    let coverage = Coverage {
        respondents: sample.len(),
        with_spend,
        without_spend: sample.len().saturating_sub(with_spend),
        with_intent: intent_answers,
        invalid_intent: answered_intent.saturating_sub(intent_answers),
    };

    let bairros_without_households = match &params.households {
        Households::PerBairro(map) => by_bairro
            .iter()
            .filter(|(b, n)| **n > 0 && !map.contains_key(*b))
            .map(|(b, _)| b.clone())
            .collect(),
        Households::Total(_) => Vec::new(),
    };
    Ok(MarketEstimate {
        coverage,
        capture,
        scenarios,
        basis: Basis {
            params: params.clone(),
            min,
            overall_reported,
            bairros_without_households,
        },
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
pub(crate) mod tests;
