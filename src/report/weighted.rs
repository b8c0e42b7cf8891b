//! The weighted side of the report: the responses raked to the stored census margins
//! ([`crate::db::census::weights`]) give every share and mean a weighted value beside the
//! unweighted one, with Kish's effective n and design effect, Wilson intervals on the
//! effective n, a weighted bootstrap of the monthly spend and market, the target and
//! achieved share of each margin category, and the assumptions written out.
//!
//! Weighted figures are over the weighted respondents only (complete, not screened out,
//! in a census bairro); unweighted ones keep the report's usual base. Without stored
//! margins nothing is weighted and the report says so.

use serde::Serialize;

use super::cells::CellWeights;
use crate::census::weighting::{NOT_INFORMED, Weighting};
use crate::db::census::{CensusWeights, ImportInfo};
use crate::i18n::Lang;
use crate::stats::weighted::{
    weight_summary_of, weighted_bootstrap_ci_by, weighted_mean_of, weighted_share_of, wilson_on,
};
use crate::stats::{IntentWeights, Moments, Scenario, Statistic, WeightSummary, weighted_mean_ci};

/// Confidence of the weighted intervals.
const CONFIDENCE: f64 = 0.95;

/// Weighted tallies of one question, beside its counts.
#[derive(Debug, Clone, Default)]
pub(crate) struct WeightedTally {
    /// Σw and Σw² over the weighted respondents who answered.
    pub w: f64,
    pub w2: f64,
    /// Σw per option (single and multi).
    pub options: Vec<f64>,
    /// Σw·y (integer questions).
    pub wy: f64,
}

impl WeightedTally {
    pub(crate) fn new(options: usize) -> WeightedTally {
        WeightedTally {
            options: vec![0.0; options],
            ..WeightedTally::default()
        }
    }

    /// Effective n of those who answered (Kish).
    pub(crate) fn n_eff(&self) -> Option<f64> {
        (self.w2 > 0.0).then(|| self.w * self.w / self.w2)
    }

    /// Weighted share of option `i` in percent, with the Wilson interval on n_eff.
    pub(crate) fn share(&self, i: usize) -> (Option<f64>, Option<(f64, f64)>) {
        let (Some(n_eff), Some(wi)) = (self.n_eff(), self.options.get(i)) else {
            return (None, None);
        };
        let p = (wi / self.w).clamp(0.0, 1.0);
        let ci = wilson_on(p, n_eff, CONFIDENCE).map(|(lo, hi)| (lo * 100.0, hi * 100.0));
        (Some(p * 100.0), ci)
    }
}

/// The effect of the weights on one question's base.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeightedBase {
    /// Weighted respondents who answered.
    pub n: u64,
    pub n_eff: f64,
    /// Design effect of weighting, n / n_eff.
    pub deff: f64,
}

impl WeightedBase {
    pub(crate) fn of(t: &WeightedTally, n: u64) -> Option<WeightedBase> {
        let n_eff = t.n_eff()?;
        (n > 0).then(|| WeightedBase {
            n,
            n_eff,
            deff: n as f64 / n_eff,
        })
    }
}

/// One category of a margin: the census share it was raked to and the weighted share
/// reached, in percent of the weighted respondents, and the unweighted share.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MarginRow {
    pub margin: String,
    pub category: String,
    pub responses: u64,
    pub unweighted_pct: f64,
    pub target_pct: f64,
    pub achieved_pct: f64,
}

/// A weighted mean beside the unweighted one, with a weighted bootstrap interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeightedMean {
    pub unweighted: f64,
    pub weighted: f64,
    pub ci95: (f64, f64),
    pub n: u64,
    pub n_eff: f64,
    pub deff: f64,
}

/// The market estimate with weights (Mid scenario).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeightedMarket {
    /// Monthly supermarket spend per household, in reais.
    pub spend: WeightedMean,
    /// Households the market multiplies by (`None`: not given).
    pub households: Option<u64>,
    pub market_monthly: Option<f64>,
    pub market_ci95: Option<(f64, f64)>,
    /// Capture share used, 0..=1: the analyst's, or the weighted mean intent weight.
    pub capture_share: Option<f64>,
    pub potential_monthly: Option<f64>,
    pub potential_ci95: Option<(f64, f64)>,
}

/// A weighted share with its interval on the effective n, beside the unweighted share.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeightedShareRow {
    pub unweighted_pct: f64,
    pub weighted_pct: f64,
    pub ci95: (f64, f64),
    pub n_eff: f64,
    pub deff: f64,
}

/// A group's mean monthly spend per household, unweighted beside weighted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeightedGroup {
    /// Class letter or bairro; empty for everyone.
    pub group: String,
    /// Respondents with a spend answer (the usual base) and their mean.
    pub n: u64,
    pub unweighted_mean: Option<f64>,
    /// Weighted respondents with a spend answer, their effective n, the weighted mean
    /// and its 95% interval (Taylor linearization, see [`weighted_mean_ci`]).
    pub weighted_n: u64,
    pub n_eff: Option<f64>,
    pub weighted_mean: Option<f64>,
    pub ci95: Option<(f64, f64)>,
    /// Fewer than the minimum cell of respondents, or hidden to protect such a group:
    /// no figure is shown.
    pub suppressed: bool,
}

/// One group's figures; `keep` is false when small-cell protection hides it.
pub(crate) fn group(
    label: String,
    unweighted: Moments,
    parts: &[(f64, Moments)],
    keep: bool,
    min_cell: usize,
) -> WeightedGroup {
    let min = min_cell.max(1) as u64;
    let weighted_n: u64 = parts.iter().map(|(_, m)| m.n).sum();
    let suppressed = !keep || unweighted.n < min;
    let w = (!suppressed && weighted_n >= min)
        .then(|| weighted_mean_ci(parts.iter().copied(), CONFIDENCE))
        .flatten();
    WeightedGroup {
        group: label,
        n: unweighted.n,
        unweighted_mean: (!suppressed && unweighted.n > 0)
            .then(|| unweighted.sum / unweighted.n as f64),
        weighted_n: if suppressed { 0 } else { weighted_n },
        n_eff: w.map(|w| w.n_eff),
        weighted_mean: w.map(|w| w.mean),
        ci95: w.map(|w| w.ci),
        suppressed,
    }
}

/// The weighted spend, market and potential of one scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeightedScenario {
    pub scenario: Scenario,
    pub spend: WeightedGroup,
    /// Weighted mean × total households, with the interval scaled alike.
    pub market_monthly: Option<f64>,
    pub market_ci95: Option<(f64, f64)>,
    /// Market × the capture share of [`WeightedMarket::capture_share`].
    pub potential_monthly: Option<f64>,
    pub potential_ci95: Option<(f64, f64)>,
}

/// The weighted spend of every scenario and group, gathered by the accumulator.
#[derive(Debug, Clone, Default)]
pub(crate) struct Groups {
    pub overall: Vec<(Scenario, WeightedGroup)>,
    pub by_income_class: Vec<WeightedGroup>,
    pub by_cceb_class: Vec<WeightedGroup>,
    pub by_bairro: Vec<WeightedGroup>,
}

/// Why the margins were not met, when trimming kept the weights within their bounds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MarginsGap {
    /// The largest gap, in percent of the target, and where.
    pub gap_pct: f64,
    pub margin: String,
    pub category: String,
    /// The warning in Portuguese and English.
    pub aviso: String,
    pub warning: String,
}

/// Whether and how the report is weighted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WeightingStatus {
    /// No census margins stored: everything is unweighted.
    NoCensus,
    /// Margins stored, raking failed: everything is unweighted, the reason is given.
    Failed,
    Weighted,
}

/// The report's weighting section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeightingReport {
    pub status: WeightingStatus,
    pub census: Option<ImportInfo>,
    /// Why raking failed, in English and Portuguese.
    pub failure: Option<String>,
    pub failure_pt: Option<String>,
    /// The trim bounds (× mean weight) and whether the margins were met within them;
    /// when not, how far they stayed.
    pub trim_bounds: Option<(f64, f64)>,
    pub margins_met: bool,
    pub margins_gap: Option<MarginsGap>,
    pub margins_used: Vec<String>,
    /// All weighted respondents: n, effective n, design effect.
    pub summary: Option<WeightSummary>,
    /// Complete, not screened-out respondents outside the census bairros (not weighted).
    pub outside: u64,
    pub sex_not_informed: u64,
    pub age_not_informed: u64,
    /// Census categories with no respondent, left out of their margin: (margin,
    /// category, census share in percent).
    pub left_out: Vec<(String, String, f64)>,
    /// Weights clamped by trimming, and the range of the weights (× mean).
    pub trimmed: u64,
    pub weight_range: Option<(f64, f64)>,
    pub margins: Vec<MarginRow>,
    /// Top-two purchase intent, weighted.
    pub intent_top2: Option<WeightedShareRow>,
    pub market: Option<WeightedMarket>,
    /// Lower, Mid and Upper: weighted mean spend, market and potential.
    pub scenarios: Vec<WeightedScenario>,
    /// Mean spend (Mid scenario) by income class, Critério Brasil class (empty without
    /// its items) and bairro, unweighted beside weighted.
    pub by_income_class: Vec<WeightedGroup>,
    pub by_cceb_class: Vec<WeightedGroup>,
    pub by_bairro: Vec<WeightedGroup>,
    /// The assumptions of the weighting, in English and Portuguese (same order).
    pub assumptions: Vec<String>,
    pub premissas: Vec<String>,
}

/// The weighted respondents' market inputs, looked up rather than kept per respondent:
/// each weighable response's cell and answers in reading order, the cells' weights and
/// the values of the answers. Responses of a cell without a weight are not weighted.
pub(crate) struct MarketUnits<'a> {
    pub members: &'a [u32],
    /// Per weighable response: its spend option and intent score.
    pub answers: &'a [(Option<u16>, Option<u8>)],
    pub weights: &'a CellWeights,
    /// The Mid-scenario value of each spend option, if usable.
    pub spend: &'a [Option<f64>],
    pub intent_weights: IntentWeights,
}

impl MarketUnits<'_> {
    /// The weighted respondents' inputs, in reading order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = MarketUnit> + Clone + '_ {
        self.members
            .iter()
            .zip(self.answers)
            .filter_map(|(c, (_, intent))| {
                Some(MarketUnit {
                    w: self.weights.get(*c as usize)?,
                    intent_weight: intent.and_then(|i| self.intent_weights.weight(i)),
                    intent_top2: intent.map(|i| i >= 4),
                })
            })
    }

    /// The weighted respondents with a spend value, for a bootstrap that draws them by
    /// index: a table of (spend, weight) per cell and spend option, and each
    /// respondent's entry in it (in reading order).
    fn spend_draws(&self) -> (Vec<Option<(f64, f64)>>, Vec<u32>) {
        let options = self.spend.len().max(1);
        let table: Vec<Option<(f64, f64)>> = (0..self.weights.len() * options)
            .map(|k| {
                let spend = self.spend.get(k % options).copied().flatten()?;
                Some((spend, self.weights.get(k / options)?))
            })
            .collect();
        let entries = self
            .members
            .iter()
            .zip(self.answers)
            .filter_map(|(c, (spend, _))| {
                let k = *c as usize * options + usize::from((*spend)?);
                table.get(k).copied().flatten().map(|_| k as u32)
            })
            .collect();
        (table, entries)
    }
}

/// One weighted respondent's weight and intent (the spend is drawn through
/// [`MarketUnits::spend_draws`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct MarketUnit {
    pub w: f64,
    /// Intent weight of the answer (0..=1), if answered.
    pub intent_weight: Option<f64>,
    /// Top-two intent (4 or 5), if answered.
    pub intent_top2: Option<bool>,
}

/// What [`build`] needs beside the weights.
pub(crate) struct Inputs<'a> {
    pub units: &'a MarketUnits<'a>,
    /// Unweighted Mid-scenario mean spend (all respondents with a usable answer).
    pub unweighted_spend: Option<(f64, u64)>,
    /// Unweighted top-two intent, percent.
    pub unweighted_top2: Option<f64>,
    pub households: Option<u64>,
    pub capture_given: Option<f64>,
    pub resamples: usize,
    pub seed: u64,
    /// The weighted spend per scenario and group (`None`: not weighted).
    pub groups: Option<Groups>,
}

fn pct_of(part: f64, total: f64) -> f64 {
    if total > 0.0 {
        part / total * 100.0
    } else {
        0.0
    }
}

fn margin_rows(w: &Weighting) -> Vec<MarginRow> {
    let n = w.weighted as f64;
    w.raked
        .margins
        .iter()
        .flat_map(|m| {
            let target_total: f64 = m.categories.iter().map(|c| c.target).sum();
            let achieved_total: f64 = m.categories.iter().map(|c| c.achieved).sum();
            m.categories.iter().map(move |c| MarginRow {
                margin: m.margin.clone(),
                category: c.category.clone(),
                responses: c.responses,
                unweighted_pct: pct_of(c.responses as f64, n),
                target_pct: pct_of(c.target, target_total),
                achieved_pct: pct_of(c.achieved, achieved_total),
            })
        })
        .collect()
}

fn market(inputs: &Inputs<'_>) -> Option<WeightedMarket> {
    let (table, entries) = inputs.units.spend_draws();
    let (unweighted, _) = inputs.unweighted_spend?;
    let boot = weighted_bootstrap_ci_by(
        entries.len(),
        |i| {
            let k = *entries.get(i)?;
            table.get(k as usize).copied().flatten()
        },
        Statistic::Mean,
        inputs.resamples,
        CONFIDENCE,
        inputs.seed,
    )?;
    let spend = WeightedMean {
        unweighted,
        weighted: boot.estimate,
        ci95: boot.ci,
        n: entries.len() as u64,
        n_eff: boot.weights.n_eff,
        deff: boot.weights.deff,
    };
    let capture_share = inputs.capture_given.or_else(|| {
        weighted_mean_of(
            inputs
                .units
                .iter()
                .filter_map(|u| u.intent_weight.map(|i| (i, u.w))),
        )
    });
    let h = inputs.households.map(|h| h as f64);
    let market_monthly = h.map(|h| spend.weighted * h);
    let market_ci95 = h.map(|h| (spend.ci95.0 * h, spend.ci95.1 * h));
    Some(WeightedMarket {
        households: inputs.households,
        market_monthly,
        market_ci95,
        capture_share,
        potential_monthly: market_monthly.zip(capture_share).map(|(m, c)| m * c),
        potential_ci95: market_ci95
            .zip(capture_share)
            .map(|((lo, hi), c)| (lo * c, hi * c)),
        spend,
    })
}

fn intent(inputs: &Inputs<'_>) -> Option<WeightedShareRow> {
    let s = weighted_share_of(
        inputs
            .units
            .iter()
            .filter_map(|u| u.intent_top2.map(|f| (f, u.w))),
        CONFIDENCE,
    )?;
    Some(WeightedShareRow {
        unweighted_pct: inputs.unweighted_top2?,
        weighted_pct: s.share * 100.0,
        ci95: (s.ci.0 * 100.0, s.ci.1 * 100.0),
        n_eff: s.weights.n_eff,
        deff: s.weights.deff,
    })
}

fn scenario(
    s: Scenario,
    spend: WeightedGroup,
    households: Option<u64>,
    capture: Option<f64>,
) -> WeightedScenario {
    let h = households.map(|h| h as f64);
    let market_monthly = spend.weighted_mean.zip(h).map(|(m, h)| m * h);
    let market_ci95 = spend.ci95.zip(h).map(|((lo, hi), h)| (lo * h, hi * h));
    WeightedScenario {
        scenario: s,
        potential_monthly: market_monthly.zip(capture).map(|(m, c)| m * c),
        potential_ci95: market_ci95
            .zip(capture)
            .map(|((lo, hi), c)| (lo * c, hi * c)),
        market_monthly,
        market_ci95,
        spend,
    }
}

/// The largest margin gap when trimming won over the margins.
fn margins_gap(w: &Weighting) -> Option<MarginsGap> {
    if w.raked.margins_met {
        return None;
    }
    let bounds = w.raked.bounds?;
    let (margin, c) = w
        .raked
        .margins
        .iter()
        .flat_map(|m| m.categories.iter().map(move |c| (m, c)))
        .max_by(|a, b| a.1.relative_error.total_cmp(&b.1.relative_error))?;
    let gap_pct = c.relative_error * 100.0;
    Some(MarginsGap {
        gap_pct,
        margin: margin.margin.clone(),
        category: c.category.clone(),
        aviso: Lang::Pt.margins_gap(bounds, gap_pct, &margin.margin, &c.category),
        warning: Lang::En.margins_gap(bounds, gap_pct, &margin.margin, &c.category),
    })
}

/// The weighting section from the weights and the weighted respondents' inputs.
pub(crate) fn build(weights: &CensusWeights, inputs: &Inputs<'_>) -> WeightingReport {
    let mut r = WeightingReport {
        status: WeightingStatus::NoCensus,
        census: weights.stored().map(|s| s.info.clone()),
        failure: None,
        failure_pt: None,
        trim_bounds: None,
        margins_met: false,
        margins_gap: None,
        margins_used: Vec::new(),
        summary: None,
        outside: 0,
        sex_not_informed: 0,
        age_not_informed: 0,
        left_out: Vec::new(),
        trimmed: 0,
        weight_range: None,
        margins: Vec::new(),
        intent_top2: None,
        market: None,
        scenarios: Vec::new(),
        by_income_class: Vec::new(),
        by_cceb_class: Vec::new(),
        by_bairro: Vec::new(),
        assumptions: Vec::new(),
        premissas: Vec::new(),
    };
    match weights {
        CensusWeights::NoCensus => {}
        CensusWeights::Failed {
            reason, reason_pt, ..
        } => {
            r.status = WeightingStatus::Failed;
            r.failure = Some(reason.clone());
            r.failure_pt = Some(reason_pt.clone());
        }
        CensusWeights::Raked { weighting: w, .. } => {
            r.status = WeightingStatus::Weighted;
            r.margins_used = w.margins.iter().map(|m| m.name().to_string()).collect();
            // The weighted respondents' weights, in reading order.
            r.summary = weight_summary_of(inputs.units.iter().map(|u| u.w));
            r.outside = w.outside as u64;
            r.sex_not_informed = w.sex_not_informed as u64;
            r.age_not_informed = w.age_not_informed as u64;
            r.left_out = w
                .left_out
                .iter()
                .map(|l| (l.margin.clone(), l.category.clone(), l.census_share * 100.0))
                .collect();
            r.trimmed = w.raked.trimmed;
            r.weight_range = Some(w.raked.weight_range);
            r.margins = margin_rows(w);
            r.intent_top2 = intent(inputs);
            r.market = market(inputs);
            r.trim_bounds = w.raked.bounds;
            r.margins_met = w.raked.margins_met;
            r.margins_gap = margins_gap(w);
            if let Some(g) = &inputs.groups {
                let capture = r.market.as_ref().and_then(|m| m.capture_share);
                r.scenarios = g
                    .overall
                    .iter()
                    .map(|(s, spend)| scenario(*s, spend.clone(), inputs.households, capture))
                    .collect();
                r.by_income_class = g.by_income_class.clone();
                r.by_cceb_class = g.by_cceb_class.clone();
                r.by_bairro = g.by_bairro.clone();
            }
        }
    }
    let (pt, en) = assumptions(&r, inputs);
    r.premissas = pt;
    r.assumptions = en;
    r
}

/// The weighting's assumptions, Portuguese and English.
fn assumptions(r: &WeightingReport, inputs: &Inputs<'_>) -> (Vec<String>, Vec<String>) {
    let mut pt = Vec::new();
    let mut en = Vec::new();
    match r.status {
        WeightingStatus::NoCensus => {
            pt.push(
                "Nenhum dado do censo importado: todos os resultados são não ponderados (cada \
                 resposta conta uma vez). Importe as margens com pesquisa census import."
                    .to_string(),
            );
            en.push(
                "No census data imported: every figure is unweighted (each response counts \
                 once). Import the margins with pesquisa census import."
                    .to_string(),
            );
            return (pt, en);
        }
        WeightingStatus::Failed => {
            let why = r.failure.clone().unwrap_or_default();
            let porque = r.failure_pt.clone().unwrap_or_default();
            pt.push(format!(
                "A calibração às margens do censo falhou ({porque}); os resultados são não \
                 ponderados, e a coluna peso das exportações fica vazia."
            ));
            en.push(format!(
                "Raking to the census margins failed ({why}); the figures are unweighted, and \
                 the exports' peso column is empty."
            ));
            return (pt, en);
        }
        WeightingStatus::Weighted => {}
    }
    if let Some(c) = &r.census {
        let at = crate::survey::format::timestamp(c.imported_at);
        if c.illustrative {
            pt.push(
                "MARGENS ILUSTRATIVAS: números inventados que acompanham o programa, não dados \
                 do censo; os pesos e os números ponderados servem só de demonstração."
                    .to_string(),
            );
            en.push(
                "ILLUSTRATIVE MARGINS: invented numbers shipped with the program, not census \
                 data; the weights and weighted figures are a demonstration only."
                    .to_string(),
            );
        }
        pt.push(format!(
            "Pesos por raking (ajuste proporcional iterativo) às margens do Censo 2022 \
             importadas em {at} UTC ({}, {}, {}): {}.",
            c.basico_file,
            c.demografia_file,
            c.mapping_file,
            r.margins_used.join(", ")
        ));
        en.push(format!(
            "Weights by raking (iterative proportional fitting) to the Censo 2022 margins \
             imported {at} UTC ({}, {}, {}): {}.",
            c.basico_file,
            c.demografia_file,
            c.mapping_file,
            r.margins_used.join(", ")
        ));
    }
    pt.push(
        "Bairro: participação dos domicílios particulares permanentes ocupados (V0007); sexo \
         e faixa etária: participação das pessoas de 18 anos ou mais, somadas nos bairros com \
         respondentes; 18–19 anos = 2/5 do grupo de 15–19 do IBGE."
            .to_string(),
    );
    en.push(
        "Bairro: share of occupied permanent private households (V0007); sex and age band: \
         share of persons aged 18 or over, summed over the bairros with respondents; ages \
         18–19 = 2/5 of IBGE's 15–19 group."
            .to_string(),
    );
    pt.push(format!(
        "Sexo \"outro\", \"prefiro não informar\" ou sem resposta ({} respondentes) e idade \
         sem resposta ({}) ficam na categoria \"{NOT_INFORMED}\", com a participação que têm \
         na amostra: o censo só distingue mulheres e homens, e nada é imputado.",
        r.sex_not_informed, r.age_not_informed
    ));
    en.push(format!(
        "Sex \"other\", \"prefer not to say\" or unanswered ({} respondents) and unanswered \
         age ({}) are kept in the category \"{NOT_INFORMED}\" at their share of the sample: \
         the census only tells women from men, and nothing is imputed.",
        r.sex_not_informed, r.age_not_informed
    ));
    pt.push(format!(
        "Ponderadas só as respostas completas e não triadas de bairros com margens do \
         censo; {} respostas completas de outros bairros ficam sem peso e fora dos números \
         ponderados. Os números não ponderados mantêm a base de sempre.",
        r.outside
    ));
    en.push(format!(
        "Only complete, not screened-out responses from bairros with census margins are \
         weighted; {} complete responses from other bairros have no weight and are left out \
         of the weighted figures. Unweighted figures keep their usual base.",
        r.outside
    ));
    for (margin, category, share) in &r.left_out {
        pt.push(format!(
            "Categoria sem respondentes, fora da margem {margin}: {category} ({share:.1}% \
             no censo); as demais dividem a sua participação."
        ));
        en.push(format!(
            "Category with no respondent, left out of the margin {margin}: {category} \
             ({share:.1}% in the census); the others share its target."
        ));
    }
    if let (Some((lo, hi)), Some((lower, upper))) = (r.weight_range, r.trim_bounds) {
        pt.push(format!(
            "Aparo dos pesos: limites de {lower} a {upper} vezes a média \
             (weighting.trim_lower/trim_upper); {} pesos ficaram fora deles na primeira \
             calibração; pesos aparados e calibrados de novo, em rodadas, até que margens e \
             limites valham juntos ou até o limite de rodadas; pesos finais de {lo:.2} a \
             {hi:.2} vezes a média. {}",
            r.trimmed,
            match &r.margins_gap {
                None => "As margens foram atingidas.".to_string(),
                Some(g) => g.aviso.clone(),
            }
        ));
        en.push(format!(
            "Weight trimming: bounds {lower} to {upper} × mean \
             (weighting.trim_lower/trim_upper); {} weights were outside them after the first \
             raking; weights trimmed and raked again, in rounds, until margins and bounds both \
             hold or the round limit; final weights {lo:.2} to {hi:.2} × mean. {}",
            r.trimmed,
            match &r.margins_gap {
                None => "The margins were met.".to_string(),
                Some(g) => g.warning.clone(),
            }
        ));
    }
    pt.push(
        "Intervalos ponderados: Wilson sobre o n efetivo de Kish, n_ef = (Σw)²/Σw², e efeito \
         de delineamento = n/n_ef; gasto médio do cenário Médio por bootstrap ponderado (os \
         pesos não são recalculados em cada reamostragem, o que subestima um pouco a \
         incerteza); médias por cenário, classe e bairro com o erro-padrão linearizado \
         (Taylor) da média ponderada, como o svymean do pacote survey do R."
            .to_string(),
    );
    en.push(
        "Weighted intervals: Wilson on Kish's effective n, n_eff = (Σw)²/Σw², and design \
         effect = n/n_eff; the Mid scenario's mean spend by a weighted bootstrap (the weights \
         are not raked again in each resample, which slightly understates the uncertainty); \
         means by scenario, class and bairro with the linearized (Taylor) standard error of \
         the weighted mean, as R survey's svymean."
            .to_string(),
    );
    pt.push(format!(
        "Mercado ponderado: gasto médio ponderado (cenário Médio) × total de domicílios; a \
         participação da loja é {} e é tomada como fixa no intervalo do potencial; B = {}, \
         semente {}.",
        if inputs.capture_given.is_some() {
            "a do analista"
        } else {
            "a média ponderada dos pesos de intenção"
        },
        inputs.resamples,
        inputs.seed
    ));
    en.push(format!(
        "Weighted market: weighted mean spend (Mid scenario) × total households; the capture \
         share is {} and is taken as fixed in the potential's interval; B = {}, seed {}.",
        if inputs.capture_given.is_some() {
            "the analyst's"
        } else {
            "the weighted mean intent weight"
        },
        inputs.resamples,
        inputs.seed
    ));
    (pt, en)
}
