//! The report's numbers ([`Report`]) and how they are gathered from the responses
//! ([`Accumulator`]): counts per option, integer values, income class × question
//! tables, per-bairro counts and the handful of fields the market estimate needs.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::cells::{CellWeights, Cells, PerCell};
use super::weighted::{self, MarketUnits, WeightedBase, WeightedTally, WeightingReport};
use super::{HouseholdsSource, ReportParams};
use crate::census::weighting::Unit;
use crate::db::batches::Filters;
use crate::db::census::{self as census_store, CensusWeights};
use crate::db::responses::Response;
use crate::i18n::Lang;
use crate::stats::market::{DEFAULT_MIN_CELL, suppressed_groups};
use crate::stats::mentions::{MentionCounter, Mentions};
use crate::stats::{
    Band, ChiSquareResult, IncomeClass, MarketEstimate, Moments, Sample, Scenario,
    chi_square_independence, estimate_sample, value_at, wilson_interval,
};
use crate::survey::derived::{OPEN_TOP_FACTOR, option_income_class};
use crate::survey::slots::{AnswerSlots, CcebSlots, Resolved, RowAnswers};
use crate::survey::{
    AnswerValue, CcebTable, Choice, Definition, Question, QuestionKind, Role, Text,
};

/// Confidence of every interval in the report.
const CONFIDENCE: f64 = 0.95;
/// Most bins of an integer histogram.
const MAX_BINS: i64 = 12;
/// Roles crossed with income class, in report order.
const CROSSED_ROLES: [Role; 3] = [
    Role::TripsPerMonth,
    Role::MonthlySpend,
    Role::PurchaseIntent,
];

/// A text in both languages.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Label {
    pub pt: String,
    pub en: String,
}

impl Label {
    fn of(t: &Text) -> Label {
        Label {
            pt: t.get(false).to_string(),
            en: t.get(true).to_string(),
        }
    }

    pub fn get(&self, lang: Lang) -> &str {
        if lang.is_english() {
            &self.en
        } else {
            &self.pt
        }
    }
}

/// One option's share of the respondents who answered the question.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Share {
    pub value: String,
    pub label: Label,
    pub count: u64,
    /// Percentage of those who answered; `None` when nobody did.
    pub pct: Option<f64>,
    /// 95% Wilson interval of `pct`, in percent.
    pub ci95: Option<(f64, f64)>,
    /// Weighted percentage of the weighted respondents who answered, and its 95% Wilson
    /// interval on the effective n; `None` when the report is not weighted.
    pub weighted_pct: Option<f64>,
    pub weighted_ci95: Option<(f64, f64)>,
}

/// One bar of an integer histogram: values `from..=to`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bin {
    pub from: i64,
    pub to: i64,
    pub count: u64,
}

/// Distribution of an integer question.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Histogram {
    pub bins: Vec<Bin>,
    pub mean: f64,
    pub median: f64,
    pub min: i64,
    pub max: i64,
    /// Mean over the weighted respondents, weighted; `None` when not weighted.
    pub weighted_mean: Option<f64>,
}

/// One question's results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuestionReport {
    pub key: String,
    pub text: Label,
    /// `integer`, `single`, `multi` or `text`.
    pub kind: &'static str,
    /// Respondents who answered it.
    pub answered: u64,
    /// Option shares (single and multi). For multi, shares are of those who answered,
    /// so they add up to more than 100%.
    pub shares: Vec<Share>,
    /// For integer questions with answers.
    pub histogram: Option<Histogram>,
    /// The weights' effect on this question's base; `None` when not weighted.
    pub weighted: Option<WeightedBase>,
    /// A scale's mean point over those who answered with a point (the missing options,
    /// "não sei", left out of it, though they keep their share).
    pub mean: Option<f64>,
    /// A grid's items, each with its own base, shares and mean.
    pub items: Vec<ItemReport>,
}

/// One item of a grid: the distribution of its points over those who answered it (the
/// missing options included, with their share), and the mean point without them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemReport {
    pub key: String,
    pub label: Label,
    /// Respondents who answered this item.
    pub answered: u64,
    pub shares: Vec<Share>,
    /// Mean point over those who answered with a point; `None` when nobody did.
    pub mean: Option<f64>,
}

/// A class (rows) against one question's options (columns).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Crosstab {
    pub key: String,
    pub text: Label,
    /// The row variable: `classe_cceb` (Critério Brasil, A to DE) or `classe_renda`
    /// (income class, A to E).
    pub by: &'static str,
    pub rows: Vec<String>,
    pub cols: Vec<Label>,
    pub counts: Vec<Vec<u64>>,
    /// Pearson's test; `None` when the table has too few non-empty rows or columns.
    pub chi_square: Option<ChiSquareResult>,
    /// Row percentages with weights; `None` when the report is not weighted.
    pub weighted: Option<WeightedCrosstab>,
}

/// A cross-tab's weighted row percentages, over the weighted respondents of each row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeightedCrosstab {
    /// Percent of the row's weight in each column; `None` for an empty row.
    pub row_pct: Vec<Vec<Option<f64>>>,
    /// Weighted respondents of each row, and their effective n.
    pub n: Vec<u64>,
    pub n_eff: Vec<Option<f64>>,
}

/// One bairro's line. Bairros with fewer than the minimum cell size (or hidden to
/// protect one) are not listed; see [`Report::bairros_suppressed`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BairroRow {
    pub bairro: String,
    pub respondents: u64,
    pub completes: u64,
    /// Share answering the top two purchase-intent options, in percent, of those who
    /// answered that question, with its 95% Wilson interval.
    pub intent_top2_pct: Option<f64>,
    pub intent_top2_ci95: Option<(f64, f64)>,
    /// The same share with weights, of the bairro's weighted respondents who answered,
    /// with its Wilson interval on their effective n; `None` when not weighted.
    pub weighted_intent_top2_pct: Option<f64>,
    pub weighted_intent_top2_ci95: Option<(f64, f64)>,
    pub weighted_n: Option<u64>,
    pub weighted_n_eff: Option<f64>,
}

/// A market estimate with its assumptions written out in both languages (serialized as
/// the estimate's fields followed by `assumptions` and `premissas`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    #[serde(flatten)]
    pub figures: MarketEstimate,
    /// Every assumption behind the numbers, in plain English.
    pub assumptions: Vec<String>,
    /// The same assumptions in Brazilian Portuguese, in the same order.
    pub premissas: Vec<String>,
}

impl Estimate {
    fn new(figures: MarketEstimate, source: &HouseholdsSource) -> Estimate {
        let (source_pt, source_en) = match source {
            HouseholdsSource::Census {
                imported_at,
                illustrative,
            } => {
                let (pt, en) = if *illustrative {
                    (
                        " — ILUSTRATIVO, números inventados",
                        " — ILLUSTRATIVE, invented numbers",
                    )
                } else {
                    ("", "")
                };
                let at = crate::survey::format::timestamp(*imported_at);
                (
                    format!("Censo 2022, V0007 por bairro, importado em {at}{pt}"),
                    format!("Censo 2022, V0007 per bairro, imported {at}{en}"),
                )
            }
            HouseholdsSource::File { name } => (
                format!("arquivo {name} do analista"),
                format!("the analyst's file {name}"),
            ),
            _ => ("número do analista".into(), "analyst's figure".into()),
        };
        let super::assumptions::Assumptions { pt, en } =
            super::assumptions::of_sourced(&figures, &source_pt, &source_en);
        Estimate {
            figures,
            assumptions: en,
            premissas: pt,
        }
    }
}

impl std::ops::Deref for Estimate {
    type Target = MarketEstimate;
    fn deref(&self) -> &MarketEstimate {
        &self.figures
    }
}

/// The market-size section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MarketSection {
    /// Whether households were given: without them only spend figures are meaningful.
    pub households_given: bool,
    /// Value assumed for the open top spend band, in reais.
    pub open_top_spend: Option<f64>,
    pub estimate: Option<Estimate>,
    /// Why there is no estimate (no monthly-spend question, invalid parameter…).
    pub unavailable: Option<String>,
}

/// Everything the report shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub survey_id: String,
    pub survey_version: u32,
    pub title: Label,
    /// UTC ISO 8601.
    pub generated_at: String,
    pub filters: Filters,
    /// Minimum wage in reais used for income labels.
    pub salario_minimo: u32,
    pub min_cell: usize,
    pub respondents: u64,
    pub completes: u64,
    /// Responses ended by a screen-out rule: counted among the respondents, left out of
    /// every share, table and estimate.
    pub screened_out: u64,
    pub questions: Vec<QuestionReport>,
    pub crosstabs: Vec<Crosstab>,
    pub bairros: Vec<BairroRow>,
    /// Bairros not listed because of small cells.
    pub bairros_suppressed: usize,
    /// Respondents in those bairros together, when at least `min_cell` (else hidden).
    pub bairros_suppressed_respondents: Option<u64>,
    pub market: MarketSection,
    /// Top purchase-intent share (the two top options) over everyone who answered it, in
    /// percent, with its 95% Wilson interval.
    pub intent_top2_pct: Option<f64>,
    pub intent_top2_ci95: Option<(f64, f64)>,
    /// Top mentions of the free-text competitor question, when the questionnaire has it.
    pub competitors: Option<Competitors>,
    /// Where the households of the market come from.
    pub households_source: HouseholdsSource,
    /// The weighted figures and the weighting behind them.
    pub weighting: WeightingReport,
    /// From sign-up to the responses used, under the report's filters (sign-ups: all).
    pub sample_flow: Option<crate::quality::SampleFlow>,
    /// Zone of the times shown (not serialized: `generated_at` is UTC).
    #[serde(skip)]
    pub zone: crate::locale::Zone,
    /// When the report was made, UTC (the renderers show it in `zone`).
    #[serde(skip)]
    pub generated_utc: chrono::NaiveDateTime,
}

/// Key of the free-text question "Em qual supermercado você mais compra hoje?".
pub const COMPETITOR_KEY: &str = "mercado_atual";

/// The competitor question's top mentions (see [`crate::stats::mentions`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Competitors {
    pub key: String,
    pub text: Label,
    #[serde(flatten)]
    pub mentions: Mentions,
}

/// Counts gathered for one question.
enum Tally {
    /// Per option, in definition order (single and multi).
    Options(Vec<u64>),
    /// Per value (integer).
    Values(BTreeMap<i64, u64>),
    /// Text: answered count only; free text is never shown in aggregates.
    Text,
    /// Per grid item, per point (the missing options included), in definition order.
    Grid(Vec<Vec<u64>>),
}

#[derive(Default)]
struct BairroTally {
    respondents: u64,
    completes: u64,
    intent_answered: u64,
    intent_top2: u64,
}

/// One question's counts in one raking cell (weighable responses only).
#[derive(Debug, Clone, Default)]
struct CellTally {
    answered: u64,
    options: Vec<u64>,
    /// Sum of the integer answers.
    sum: f64,
}

/// The rows of a cross-tab: Critério Brasil class or income class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum By {
    Cceb,
    Income,
}

/// One cross-tab being counted: all responses, and per cell (flattened rows × cols).
struct Crossed<'d> {
    q: &'d Question,
    /// The question's slot in [`RowAnswers`].
    slot: usize,
    by: By,
    counts: Vec<Vec<u64>>,
    cells: PerCell<Vec<u64>>,
}

/// Spend groups of the weighted market tables: all, each income class, each CCEB class.
const GROUP_ALL: usize = 0;
const GROUP_INCOME: usize = 1;

/// Gathers the counts, one response at a time. Weighted figures are gathered per raking
/// cell ([`super::cells`]) and weighed once the weights are known, so the responses are
/// read once.
pub(crate) struct Accumulator<'d> {
    def: &'d Definition,
    /// Where each question's answer is in a row read by [`Self::slots`].
    slots: AnswerSlots<'d>,
    /// Per question in definition order (its slot is its position).
    tallies: Vec<(&'d Question, u64, Tally)>,
    income: Option<Asked<'d>>,
    cceb: Option<CcebSlots>,
    spend: Option<Asked<'d>>,
    intent: Option<Asked<'d>>,
    /// The slots of the raking's sex and age questions.
    sex_slot: Option<usize>,
    age_slot: Option<usize>,
    crossed: Vec<Crossed<'d>>,
    bairros: BTreeMap<String, BairroTally>,
    respondents: u64,
    completes: u64,
    screened_out: u64,
    market: Sample,
    /// The competitor question, its slot, its mentions.
    competitor: Option<(&'d Question, usize, MentionCounter)>,
    cells: Cells,
    /// Per question (as `tallies`), per cell.
    cell_tallies: Vec<PerCell<CellTally>>,
    /// Per cell: intent answered, top two.
    cell_intent: PerCell<(u64, u64)>,
    /// Per cell, per spend group: responses per spend option.
    cell_spend: PerCell<Vec<Vec<u64>>>,
    /// Per spend group (all responses, unweighted): responses per spend option.
    group_spend: Vec<Vec<u64>>,
    /// Per bairro (all responses): responses per spend option.
    bairro_spend: BTreeMap<String, Vec<u64>>,
    /// Per weighable response, in reading order: its cell (the raking's members)…
    members: Vec<u32>,
    /// …and its spend option (index into the spend question's) and intent score.
    weighted_answers: Vec<(Option<u16>, Option<u8>)>,
}

/// A single-choice question and its slot.
#[derive(Clone, Copy)]
struct Asked<'d> {
    q: &'d Question,
    slot: usize,
}

impl<'d> Asked<'d> {
    fn new(slots: &AnswerSlots<'d>, q: &'d Question) -> Option<Asked<'d>> {
        let (slot, _) = slots.slot(&q.key)?;
        Some(Asked { q, slot })
    }

    /// The option chosen in `answers`, with its position.
    fn chosen(self, answers: &RowAnswers<'_>) -> Option<(usize, &'d Choice)> {
        chosen(self.q, self.slot, answers)
    }
}

/// The option of `q` chosen in `answers` (its answer in `slot`), with its position.
fn chosen<'q>(
    q: &'q Question,
    slot: usize,
    answers: &RowAnswers<'_>,
) -> Option<(usize, &'q Choice)> {
    match answers.get(slot) {
        Some(Some(Resolved::Single(_, Some(at)))) => Some((*at, q.options().get(*at)?)),
        _ => None,
    }
}

fn class_index(c: IncomeClass) -> usize {
    IncomeClass::ALL.iter().position(|x| *x == c).unwrap_or(0)
}

/// Intent score 1..=5 from the option's numeric bound.
fn intent_score(o: &Choice) -> Option<u8> {
    let v = o.lower.or(o.upper)?;
    (1.0..=5.0)
        .contains(&v)
        .then(|| v.round() as u8)
        .filter(|_| !o.excluded)
}

/// Applies `f` to `map[key]`, inserted as `new()` when missing: looked up first, so the
/// key is copied once per bairro rather than once per response.
fn update<V>(
    map: &mut BTreeMap<String, V>,
    key: &str,
    new: impl FnOnce() -> V,
    f: impl FnOnce(&mut V),
) {
    match map.get_mut(key) {
        Some(v) => f(v),
        None => f(map.entry(key.to_owned()).or_insert_with(new)),
    }
}

fn add_to(v: &mut [u64], i: usize) {
    if let Some(x) = v.get_mut(i) {
        *x += 1;
    }
}

impl<'d> Accumulator<'d> {
    /// `cceb`: the Critério Brasil table (`survey.cceb_table`); its cross-tabs and groups
    /// appear when the questionnaire asks every item.
    pub(crate) fn new(def: &'d Definition, cceb: Arc<CcebTable>) -> Accumulator<'d> {
        let tallies: Vec<_> = def
            .questions()
            .map(|q| {
                let t = match &q.kind {
                    QuestionKind::Single { options }
                    | QuestionKind::Multi { options, .. }
                    | QuestionKind::Scale { points: options } => {
                        Tally::Options(vec![0; options.len()])
                    }
                    QuestionKind::Integer { .. } => Tally::Values(BTreeMap::new()),
                    QuestionKind::Text { .. } => Tally::Text,
                    QuestionKind::Grid { items, points } => {
                        Tally::Grid(vec![vec![0; points.len()]; items.len()])
                    }
                };
                (q, 0, t)
            })
            .collect();
        let cell_tallies = def
            .questions()
            .map(|q| {
                PerCell::new(CellTally {
                    options: vec![0; q.options().len()],
                    ..CellTally::default()
                })
            })
            .collect();
        let slots = AnswerSlots::new(def);
        let single = |role| {
            def.by_role(role)
                .filter(|q| matches!(q.kind, QuestionKind::Single { .. }))
                .and_then(|q| Asked::new(&slots, q))
        };
        let income = single(Role::HouseholdIncome);
        // Its cross-tabs and groups appear when the questionnaire asks every item.
        let cceb = CcebSlots::new(&slots, &cceb);
        let mut crossed = Vec::new();
        for Asked { q, slot } in CROSSED_ROLES.iter().filter_map(|&r| single(r)) {
            let cols = q.options().len();
            // Critério Brasil first: the standard of Brazilian market research, with the
            // income class beside it.
            if let Some(t) = &cceb {
                let classes = t.table().classes().len();
                crossed.push(Crossed {
                    q,
                    slot,
                    by: By::Cceb,
                    counts: vec![vec![0; cols]; classes],
                    cells: PerCell::new(vec![0; cols * classes]),
                });
            }
            if income.is_some() {
                crossed.push(Crossed {
                    q,
                    slot,
                    by: By::Income,
                    counts: vec![vec![0; cols]; IncomeClass::ALL.len()],
                    cells: PerCell::new(vec![0; cols * IncomeClass::ALL.len()]),
                });
            }
        }
        let spend = single(Role::MonthlySpend);
        let spend_options = spend.map_or(0, |s| s.q.options().len());
        let groups = GROUP_INCOME
            + IncomeClass::ALL.len()
            + cceb.as_ref().map_or(0, |t| t.table().classes().len());
        let intent = single(Role::PurchaseIntent);
        let sex_slot = slots.slot(census_store::SEX_KEY).map(|(slot, _)| slot);
        let age_slot = def
            .by_role(Role::Age)
            .and_then(|q| slots.slot(&q.key))
            .map(|(slot, _)| slot);
        let competitor = slots
            .slot(COMPETITOR_KEY)
            .filter(|(_, q)| matches!(q.kind, QuestionKind::Text { .. }))
            .map(|(slot, q)| (q, slot, MentionCounter::new()));
        Accumulator {
            def,
            slots,
            tallies,
            income,
            cceb,
            spend,
            intent,
            sex_slot,
            age_slot,
            crossed,
            bairros: BTreeMap::new(),
            respondents: 0,
            completes: 0,
            screened_out: 0,
            market: Sample::default(),
            competitor,
            cells: Cells::default(),
            cell_tallies,
            cell_intent: PerCell::new((0, 0)),
            cell_spend: PerCell::new(vec![vec![0; spend_options]; groups]),
            group_spend: vec![vec![0; spend_options]; groups],
            bairro_spend: BTreeMap::new(),
            members: Vec::new(),
            weighted_answers: Vec::new(),
        }
    }

    /// The raking cells of the weighable responses read, one unit per cell, and each
    /// response's cell in reading order.
    pub(crate) fn raking_cells(&self) -> (Vec<Unit<'_>>, &[u32]) {
        (self.cells.units(), &self.members)
    }

    /// The cell of a weighable response (complete, not screened out): see
    /// [`crate::db::census::weighable`].
    fn cell_of(&mut self, r: &Response, answers: &RowAnswers<'_>) -> Option<u32> {
        if !census_store::weighable(r) {
            return None;
        }
        let stored_sexo;
        let sexo = match self.sex_slot {
            Some(i) => match answers.get(i) {
                Some(Some(Resolved::Single(v, _))) => Some(&*v.0),
                _ => None,
            },
            // A questionnaire without the question: rows of an earlier version may still
            // hold it, and the export's weights read it from the stored answers
            // (`db::census`), so the report does too.
            None => {
                stored_sexo = match r.answers().get(census_store::SEX_KEY) {
                    Some(AnswerValue::Single(v)) => Some(v.clone()),
                    _ => None,
                };
                stored_sexo.as_deref()
            }
        };
        let idade = match self.age_slot.and_then(|i| answers.get(i)) {
            Some(Some(Resolved::Integer(n))) => Some(*n),
            _ => None,
        };
        Some(self.cells.id(&r.bairro, sexo, idade))
    }

    /// Reads a row's stored answers into the slots [`Self::add_parsed`] counts.
    pub(crate) fn slots(&self) -> &AnswerSlots<'d> {
        &self.slots
    }

    #[cfg(test)]
    pub(crate) fn add(&mut self, r: &Response) {
        let answers = self.slots.parse(&r.answers);
        self.add_parsed(r, &answers);
    }

    /// Counts `r`, whose stored answers the caller has read ([`Self::slots`]).
    pub(crate) fn add_parsed(&mut self, r: &Response, answers: &RowAnswers<'_>) {
        let complete = r.submitted_at.is_some();
        self.respondents += 1;
        if r.screened_out.is_some() {
            // Outside the study's population: its answers describe no one it measures.
            self.screened_out += 1;
            return;
        }
        self.completes += u64::from(complete);
        let cell = self.cell_of(r, answers);
        for (slot, ((_, answered, tally), per_cell)) in self
            .tallies
            .iter_mut()
            .zip(&mut self.cell_tallies)
            .enumerate()
        {
            let Some(Some(value)) = answers.get(slot) else {
                continue;
            };
            let mut ct = cell.map(|c| per_cell.at(c));
            let counted = match (tally, value) {
                (Tally::Options(counts), Resolved::Single(_, Some(i))) => {
                    add_to(counts, *i);
                    if let Some(t) = ct.as_mut() {
                        add_to(&mut t.options, *i);
                    }
                    true
                }
                (Tally::Options(counts), Resolved::Multi(chosen)) => {
                    let mut any = false;
                    for (n, &i) in chosen.iter().enumerate() {
                        // An option stored twice counts once.
                        if chosen[..n].contains(&i) {
                            continue;
                        }
                        add_to(counts, i);
                        if let Some(t) = ct.as_mut() {
                            add_to(&mut t.options, i);
                        }
                        any = true;
                    }
                    any
                }
                (Tally::Values(map), Resolved::Integer(n)) => {
                    *map.entry(*n).or_default() += 1;
                    if let Some(t) = ct.as_mut() {
                        t.sum += *n as f64;
                    }
                    true
                }
                (Tally::Text, Resolved::Text(t)) => !t.0.trim().is_empty(),
                (Tally::Grid(counts), Resolved::Grid(items)) => {
                    let mut any = false;
                    for (item, row) in items.iter().zip(counts.iter_mut()) {
                        if let Some((_, Some(i))) = item {
                            add_to(row, *i);
                            any = true;
                        }
                    }
                    any
                }
                // An answer stored under another definition version with another type.
                _ => false,
            };
            *answered += u64::from(counted);
            if counted && let Some(t) = ct {
                t.answered += 1;
            }
        }
        if let Some((_, slot, counter)) = &mut self.competitor
            && let Some(Some(Resolved::Text(t))) = answers.get(*slot)
        {
            counter.add(&t.0);
        }
        let class = self
            .income
            .and_then(|q| q.chosen(answers))
            .and_then(|(_, o)| option_income_class(o));
        let cceb_class = self.cceb.as_ref().and_then(|t| t.class_index(answers));
        for x in &mut self.crossed {
            let row = match x.by {
                By::Income => class.map(class_index),
                By::Cceb => cceb_class,
            };
            if let Some(row) = row
                && let Some((i, o)) = chosen(x.q, x.slot, answers)
                && !o.excluded
            {
                if let Some(r) = x.counts.get_mut(row) {
                    add_to(r, i);
                }
                if let Some(c) = cell {
                    let cols = x.q.options().len();
                    add_to(x.cells.at(c), row * cols + i);
                }
            }
        }
        let intent = self
            .intent
            .and_then(|q| q.chosen(answers))
            .and_then(|(_, o)| intent_score(o));
        update(&mut self.bairros, &r.bairro, BairroTally::default, |b| {
            b.respondents += 1;
            b.completes += u64::from(complete);
            if let Some(score) = intent {
                b.intent_answered += 1;
                b.intent_top2 += u64::from(score >= 4);
            }
        });
        if let Some(score) = intent {
            if let Some(c) = cell {
                let t = self.cell_intent.at(c);
                t.0 += 1;
                t.1 += u64::from(score >= 4);
            }
        }
        let spend_choice = self
            .spend
            .and_then(|q| q.chosen(answers))
            .filter(|(_, o)| !o.excluded);
        if let Some((i, _)) = spend_choice {
            let mut groups = vec![GROUP_ALL];
            groups.extend(class.map(|c| GROUP_INCOME + class_index(c)));
            groups.extend(cceb_class.map(|k| GROUP_INCOME + IncomeClass::ALL.len() + k));
            for g in &groups {
                if let Some(v) = self.group_spend.get_mut(*g) {
                    add_to(v, i);
                }
            }
            let options = self.spend.map_or(0, |q| q.q.options().len());
            update(
                &mut self.bairro_spend,
                &r.bairro,
                || vec![0; options],
                |v| add_to(v, i),
            );
            if let Some(c) = cell {
                let per = self.cell_spend.at(c);
                for g in &groups {
                    if let Some(v) = per.get_mut(*g) {
                        add_to(v, i);
                    }
                }
            }
        }
        let spend = spend_choice.map(|(_, o)| Band::new(o.lower, o.upper));
        if let Some(c) = cell {
            self.members.push(c);
            self.weighted_answers.push((
                spend_choice.and_then(|(i, _)| u16::try_from(i).ok()),
                intent,
            ));
        }
        self.market.push(
            spend,
            class,
            (!r.bairro.is_empty()).then_some(r.bairro.as_str()),
            intent,
        );
    }

    #[cfg(test)]
    pub(crate) fn finish(
        self,
        params: &ReportParams,
        salario_minimo: u32,
        at: DateTime<Utc>,
    ) -> anyhow::Result<Report> {
        self.finish_weighted(params, &CensusWeights::NoCensus, salario_minimo, at)
    }

    /// The weight of each cell, from the raking of [`Self::raking_cells`].
    fn cell_weights(&self, weights: &CensusWeights) -> Option<CellWeights> {
        let CensusWeights::Raked { weighting, .. } = weights else {
            return None;
        };
        Some(CellWeights::from_cells(&weighting.weights))
    }

    /// The report, with the weights of [`Self::raking_cells`] (raked by the caller).
    pub(crate) fn finish_weighted(
        self,
        params: &ReportParams,
        weights: &CensusWeights,
        salario_minimo: u32,
        at: DateTime<Utc>,
    ) -> anyhow::Result<Report> {
        let min_cell = DEFAULT_MIN_CELL;
        let cw = self.cell_weights(weights);
        let questions = self
            .tallies
            .iter()
            .zip(&self.cell_tallies)
            .map(|(t, per_cell)| {
                let w = cw
                    .as_ref()
                    .map(|cw| question_weights(per_cell, cw, t.0.options().len()));
                question_report(t, w.as_ref())
            })
            .collect();
        let crosstabs = self
            .crossed
            .iter()
            .map(|x| self.crosstab(x, cw.as_ref()))
            .collect();
        let counts: BTreeMap<String, usize> = self
            .bairros
            .iter()
            .map(|(b, t)| (b.clone(), t.respondents as usize))
            .collect();
        let hidden = suppressed_groups(&counts, 0, min_cell);
        let bairro_intent = cw.as_ref().map(|cw| self.bairro_intent(cw));
        let bairros = self
            .bairros
            .iter()
            .filter(|(b, _)| !hidden.contains(*b))
            .map(|(b, t)| {
                let (pct, ci) = share(t.intent_top2, t.intent_answered);
                let w = bairro_intent.as_ref().and_then(|m| m.get(b));
                let (wpct, wci) = w.map_or((None, None), |t| t.share(1));
                BairroRow {
                    bairro: b.clone(),
                    respondents: t.respondents,
                    completes: t.completes,
                    intent_top2_pct: pct,
                    intent_top2_ci95: ci,
                    weighted_intent_top2_pct: wpct,
                    weighted_intent_top2_ci95: wci,
                    weighted_n: bairro_intent.as_ref().map(|m| m.get(b).map_or(0, |t| t.n)),
                    weighted_n_eff: w.and_then(|t| t.tally.n_eff()),
                }
            })
            .collect();
        let hidden_respondents: u64 = self
            .bairros
            .iter()
            .filter(|(b, _)| hidden.contains(*b))
            .map(|(_, t)| t.respondents)
            .sum();
        let market = self.market_section(params);
        let (intent_answered, intent_top2) = self.bairros.values().fold((0, 0), |(n, k), t| {
            (n + t.intent_answered, k + t.intent_top2)
        });
        let (intent_top2_pct, intent_top2_ci95) = share(intent_top2, intent_answered);
        let groups = cw
            .as_ref()
            .map(|cw| self.weighted_groups(cw, &market, min_cell));
        let weighting = self.weighting_report(
            params,
            weights,
            cw.as_ref(),
            &market,
            intent_top2_pct,
            groups,
        );
        let competitors = self.competitor.map(|(q, _, counter)| Competitors {
            key: q.key.clone(),
            text: Label::of(&q.text),
            mentions: counter.finish(min_cell as u64),
        });
        Ok(Report {
            survey_id: self.def.id().to_string(),
            survey_version: self.def.version(),
            title: Label::of(self.def.title()),
            generated_at: crate::survey::format::timestamp(at.naive_utc()),
            filters: params.filters.clone(),
            salario_minimo,
            min_cell,
            respondents: self.respondents,
            completes: self.completes,
            screened_out: self.screened_out,
            questions,
            crosstabs,
            bairros,
            bairros_suppressed: hidden.len(),
            bairros_suppressed_respondents: (hidden_respondents >= min_cell as u64)
                .then_some(hidden_respondents),
            market,
            intent_top2_pct,
            intent_top2_ci95,
            competitors,
            households_source: params.households_source.clone(),
            weighting,
            sample_flow: None,
            zone: params.zone,
            generated_utc: at.naive_utc(),
        })
    }

    fn crosstab(&self, x: &Crossed<'_>, cw: Option<&CellWeights>) -> Crosstab {
        let rows: Vec<String> = match (x.by, &self.cceb) {
            (By::Cceb, Some(t)) => t
                .table()
                .classes()
                .iter()
                .map(|c| c.class.clone())
                .collect(),
            _ => IncomeClass::ALL.iter().map(|c| c.as_str().into()).collect(),
        };
        let cols = x.q.options().len();
        let weighted = cw.map(|cw| {
            let mut tallies: Vec<WeightedTally> =
                (0..rows.len()).map(|_| WeightedTally::new(cols)).collect();
            let mut n = vec![0u64; rows.len()];
            for (_, w, flat) in x.cells.weighted(cw) {
                for (row, t) in tallies.iter_mut().enumerate() {
                    for col in 0..cols {
                        let k = flat.get(row * cols + col).copied().unwrap_or(0);
                        if k > 0 {
                            let kf = k as f64;
                            t.w += w * kf;
                            t.w2 += w * w * kf;
                            if let Some(o) = t.options.get_mut(col) {
                                *o += w * kf;
                            }
                            if let Some(x) = n.get_mut(row) {
                                *x += k;
                            }
                        }
                    }
                }
            }
            WeightedCrosstab {
                row_pct: tallies
                    .iter()
                    .map(|t| (0..cols).map(|c| t.share(c).0).collect())
                    .collect(),
                n,
                n_eff: tallies.iter().map(WeightedTally::n_eff).collect(),
            }
        });
        Crosstab {
            key: x.q.key.clone(),
            text: Label::of(&x.q.text),
            by: match x.by {
                By::Cceb => "classe_cceb",
                By::Income => "classe_renda",
            },
            rows,
            cols: x.q.options().iter().map(|o| Label::of(&o.label)).collect(),
            counts: x.counts.clone(),
            chi_square: chi_square_independence(&x.counts).ok(),
            weighted,
        }
    }

    /// Per bairro: weighted top-two intent (option 1 of a two-option tally) and n.
    fn bairro_intent(&self, cw: &CellWeights) -> BTreeMap<String, WeightedCount> {
        let mut out: BTreeMap<String, WeightedCount> = BTreeMap::new();
        for (c, w, (answered, top2)) in self.cell_intent.weighted(cw) {
            let e = out
                .entry(self.cells.bairro(c).to_string())
                .or_insert_with(|| WeightedCount {
                    n: 0,
                    tally: WeightedTally::new(2),
                });
            e.n += answered;
            let (a, k) = (*answered as f64, *top2 as f64);
            e.tally.w += w * a;
            e.tally.w2 += w * w * a;
            if let Some(x) = e.tally.options.get_mut(1) {
                *x += w * k;
            }
        }
        out
    }

    /// The weighted mean spend of every scenario and group, beside the unweighted one.
    fn weighted_groups(
        &self,
        cw: &CellWeights,
        market: &MarketSection,
        min_cell: usize,
    ) -> weighted::Groups {
        let Some(Asked { q, .. }) = self.spend else {
            return weighted::Groups::default();
        };
        let open_top = market.open_top_spend.unwrap_or(0.0);
        let bands: Vec<Band> = q
            .options()
            .iter()
            .map(|o| Band::new(o.lower, o.upper))
            .collect();
        let value = |s: Scenario, i: usize| bands.get(i).and_then(|b| value_at(b, s, open_top));
        let moments = |counts: &[u64], s: Scenario| {
            let mut m = Moments::default();
            for (i, k) in counts.iter().enumerate() {
                if let Some(y) = value(s, i)
                    && *k > 0
                {
                    m.add_many(y, *k);
                }
            }
            m
        };
        let group = |label: String, all: &[u64], g: usize, s: Scenario, keep: bool| {
            let unweighted = moments(all, s);
            let parts: Vec<(f64, Moments)> = self
                .cell_spend
                .weighted(cw)
                .filter_map(|(_, w, per)| per.get(g).map(|v| (w, moments(v, s))))
                .collect();
            weighted::group(label, unweighted, &parts, keep, min_cell)
        };
        let by_bairro = |s: Scenario| -> Vec<weighted::WeightedGroup> {
            let counts: BTreeMap<String, usize> = self
                .bairro_spend
                .iter()
                .map(|(b, v)| (b.clone(), v.iter().sum::<u64>() as usize))
                .collect();
            let hidden = suppressed_groups(&counts, 0, min_cell);
            self.bairro_spend
                .iter()
                .map(|(b, all)| {
                    let parts: Vec<(f64, Moments)> = self
                        .cell_spend
                        .weighted(cw)
                        .filter(|(c, _, _)| self.cells.bairro(*c) == b.as_str())
                        .filter_map(|(_, w, per)| per.get(GROUP_ALL).map(|v| (w, moments(v, s))))
                        .collect();
                    weighted::group(
                        b.clone(),
                        moments(all, s),
                        &parts,
                        !hidden.contains(b),
                        min_cell,
                    )
                })
                .collect()
        };
        let family = |first: usize, labels: Vec<String>, s: Scenario| {
            let counts: BTreeMap<usize, usize> = (0..labels.len())
                .map(|k| {
                    let n = self
                        .group_spend
                        .get(first + k)
                        .map_or(0, |v| v.iter().sum::<u64>());
                    (k, n as usize)
                })
                .collect();
            let hidden = suppressed_groups(&counts, 0, min_cell);
            labels
                .into_iter()
                .enumerate()
                .map(|(k, label)| {
                    let all = self
                        .group_spend
                        .get(first + k)
                        .map_or(&[][..], Vec::as_slice);
                    group(label, all, first + k, s, !hidden.contains(&k))
                })
                .collect::<Vec<_>>()
        };
        let all = self
            .group_spend
            .get(GROUP_ALL)
            .map_or(&[][..], Vec::as_slice);
        let overall = Scenario::ALL
            .into_iter()
            .map(|s| (s, group(String::new(), all, GROUP_ALL, s, true)))
            .collect();
        let income_labels = IncomeClass::ALL
            .iter()
            .map(|c| c.as_str().to_string())
            .collect();
        let cceb_labels: Vec<String> = self
            .cceb
            .as_ref()
            .map(|t| {
                t.table()
                    .classes()
                    .iter()
                    .map(|c| c.class.clone())
                    .collect()
            })
            .unwrap_or_default();
        weighted::Groups {
            overall,
            by_income_class: family(GROUP_INCOME, income_labels, Scenario::Mid),
            by_cceb_class: if cceb_labels.is_empty() {
                Vec::new()
            } else {
                family(
                    GROUP_INCOME + IncomeClass::ALL.len(),
                    cceb_labels,
                    Scenario::Mid,
                )
            },
            by_bairro: by_bairro(Scenario::Mid),
        }
    }

    fn weighting_report(
        &self,
        params: &ReportParams,
        weights: &CensusWeights,
        cw: Option<&CellWeights>,
        market: &MarketSection,
        unweighted_top2: Option<f64>,
        groups: Option<weighted::Groups>,
    ) -> WeightingReport {
        let open_top = market.open_top_spend.unwrap_or(0.0);
        let intent_weights = crate::stats::IntentWeights::default();
        let spend_values: Vec<Option<f64>> = self.spend.map_or_else(Vec::new, |s| {
            s.q.options()
                .iter()
                .map(|o| crate::stats::midpoint(&Band::new(o.lower, o.upper), open_top))
                .collect()
        });
        let no_weights = CellWeights::default();
        let units = MarketUnits {
            members: if cw.is_some() { &self.members } else { &[] },
            answers: &self.weighted_answers,
            weights: cw.unwrap_or(&no_weights),
            spend: &spend_values,
            intent_weights,
        };
        let mid = market
            .estimate
            .as_ref()
            .and_then(|e| e.scenario(crate::stats::Scenario::Mid));
        let unweighted_spend = mid.and_then(|s| match s.overall.result {
            crate::stats::market::GroupResult::Reported { n, mean, .. } => Some((mean, n as u64)),
            crate::stats::market::GroupResult::Suppressed => None,
        });
        let households = params.households.as_ref().map(|h| match h {
            crate::stats::Households::Total(n) => *n,
            crate::stats::Households::PerBairro(m) => m.values().sum(),
        });
        let mp = params.market_params(open_top);
        weighted::build(
            weights,
            &weighted::Inputs {
                units: &units,
                unweighted_spend,
                unweighted_top2,
                households,
                capture_given: params.capture_share,
                resamples: mp.resamples,
                seed: mp.seed,
                groups,
            },
        )
    }

    fn market_section(&self, params: &ReportParams) -> MarketSection {
        let unavailable = |why: &str| MarketSection {
            households_given: params.households.is_some(),
            open_top_spend: None,
            estimate: None,
            unavailable: Some(why.to_string()),
        };
        let Some(spend) = self.spend else {
            return unavailable(
                "the questionnaire has no single-choice question with the role monthly_spend",
            );
        };
        // Default value of the open top band: the export's rule (1.5 × lower bound).
        let open_lower = open_band_lower(spend.q);
        let open_top = params
            .open_top_spend
            .unwrap_or(open_lower * OPEN_TOP_FACTOR);
        match estimate_sample(&self.market, &params.market_params(open_top)) {
            Ok(estimate) => MarketSection {
                households_given: params.households.is_some(),
                open_top_spend: Some(open_top),
                estimate: Some(Estimate::new(estimate, &params.households_source)),
                unavailable: None,
            },
            Err(e) => unavailable(&e.to_string()),
        }
    }
}

/// A weighted tally with the number of weighted respondents behind it.
struct WeightedCount {
    n: u64,
    tally: WeightedTally,
}

impl WeightedCount {
    fn share(&self, i: usize) -> (Option<f64>, Option<(f64, f64)>) {
        self.tally.share(i)
    }
}

/// One question's weighted tally from its cells: weighted respondents who answered, and
/// the sums of weights.
fn question_weights(
    per_cell: &PerCell<CellTally>,
    cw: &CellWeights,
    options: usize,
) -> (u64, WeightedTally) {
    let mut t = WeightedTally::new(options);
    let mut n = 0u64;
    for (_, w, c) in per_cell.weighted(cw) {
        let a = c.answered as f64;
        n += c.answered;
        t.w += w * a;
        t.w2 += w * w * a;
        t.wy += w * c.sum;
        for (x, k) in t.options.iter_mut().zip(&c.options) {
            *x += w * *k as f64;
        }
    }
    (n, t)
}

/// The lower bound of the open top band ("acima de R$ X") of a spend question; 0 when it
/// has none.
pub fn open_band_lower(spend: &Question) -> f64 {
    spend
        .options()
        .iter()
        .filter(|o| o.upper.is_none() && !o.excluded)
        .filter_map(|o| o.lower)
        .fold(0.0_f64, f64::max)
}

/// Percentage and Wilson interval of `k` of `n`, both `None` when `n` is 0.
fn share(k: u64, n: u64) -> (Option<f64>, Option<(f64, f64)>) {
    let pct = (n > 0).then(|| k as f64 / n as f64 * 100.0);
    let ci = wilson_interval(k, n, CONFIDENCE).map(|(lo, hi)| (lo * 100.0, hi * 100.0));
    (pct, ci)
}

fn question_report(
    (q, answered, tally): &(&Question, u64, Tally),
    weighted: Option<&(u64, WeightedTally)>,
) -> QuestionReport {
    let shares = match tally {
        Tally::Options(counts) => q
            .options()
            .iter()
            .zip(counts)
            .enumerate()
            .map(|(i, (o, &count))| {
                let (pct, ci95) = share(count, *answered);
                let (weighted_pct, weighted_ci95) =
                    weighted.map_or((None, None), |(_, w)| w.share(i));
                Share {
                    value: o.value.clone(),
                    label: Label::of(&o.label),
                    count,
                    pct,
                    ci95,
                    weighted_pct,
                    weighted_ci95,
                }
            })
            .collect(),
        _ => Vec::new(),
    };
    let histogram = match tally {
        Tally::Values(map) => histogram(map).map(|mut h| {
            h.weighted_mean = weighted.and_then(|(_, w)| (w.w > 0.0).then(|| w.wy / w.w));
            h
        }),
        _ => None,
    };
    let mean = match (&q.kind, tally) {
        (QuestionKind::Scale { .. }, Tally::Options(counts)) => mean_point(q.options(), counts),
        _ => None,
    };
    let items = match tally {
        Tally::Grid(counts) => q
            .items()
            .iter()
            .zip(counts)
            .map(|(item, row)| {
                let answered: u64 = row.iter().sum();
                ItemReport {
                    key: item.key.clone(),
                    label: Label::of(&item.label),
                    answered,
                    shares: q
                        .options()
                        .iter()
                        .zip(row)
                        .map(|(o, &count)| {
                            let (pct, ci95) = share(count, answered);
                            Share {
                                value: o.value.clone(),
                                label: Label::of(&o.label),
                                count,
                                pct,
                                ci95,
                                weighted_pct: None,
                                weighted_ci95: None,
                            }
                        })
                        .collect(),
                    mean: mean_point(q.options(), row),
                }
            })
            .collect(),
        _ => Vec::new(),
    };
    QuestionReport {
        key: q.key.clone(),
        text: Label::of(&q.text),
        kind: q.kind.name(),
        answered: *answered,
        shares,
        histogram,
        weighted: weighted.and_then(|(n, w)| WeightedBase::of(w, *n)),
        mean,
        items,
    }
}

/// The mean point of a scale's counts (per point, in definition order), the missing
/// options left out; `None` when no one chose a point.
fn mean_point(points: &[Choice], counts: &[u64]) -> Option<f64> {
    let (mut n, mut sum) = (0u64, 0.0);
    for (p, &c) in points.iter().zip(counts) {
        if let (false, Some(x)) = (p.excluded, p.lower) {
            n += c;
            sum += x * c as f64;
        }
    }
    (n > 0).then(|| sum / n as f64)
}

/// Bins of a "nice" width (1, 2, 5, 10, 20, …) so there are at most [`MAX_BINS`],
/// aligned to multiples of the width; mean and median of the values.
fn histogram(values: &BTreeMap<i64, u64>) -> Option<Histogram> {
    let (&min, _) = values.first_key_value()?;
    let (&max, _) = values.last_key_value()?;
    let n: u64 = values.values().sum();
    let span = max - min + 1;
    let width = [
        1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 10_000, 100_000, 1_000_000,
    ]
    .into_iter()
    .find(|w| {
        let first = min.div_euclid(*w) * w;
        (max - first) / w < MAX_BINS
    })
    .unwrap_or(span.max(1));
    let first = min.div_euclid(width) * width;
    let mut bins: Vec<Bin> = (0..=(max - first) / width)
        .map(|i| Bin {
            from: first + i * width,
            to: first + (i + 1) * width - 1,
            count: 0,
        })
        .collect();
    let mut sum = 0.0;
    for (&v, &c) in values {
        if let Some(b) = bins.get_mut(((v - first) / width) as usize) {
            b.count += c;
        }
        sum += v as f64 * c as f64;
    }
    // Show the outer bins as the values seen ("18–19", not "10–19").
    if let Some(b) = bins.first_mut() {
        b.from = b.from.max(min);
    }
    if let Some(b) = bins.last_mut() {
        b.to = b.to.min(max);
    }
    Some(Histogram {
        bins,
        mean: sum / n as f64,
        median: median(values, n),
        min,
        max,
        weighted_mean: None,
    })
}

/// Median of counted values (average of the two middle values for an even count).
fn median(values: &BTreeMap<i64, u64>, n: u64) -> f64 {
    let at = |rank: u64| {
        let mut seen = 0;
        for (&v, &c) in values {
            seen += c;
            if seen > rank {
                return v as f64;
            }
        }
        0.0
    };
    if n % 2 == 1 {
        at(n / 2)
    } else {
        (at(n / 2 - 1) + at(n / 2)) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A submitted response of `def` with these stored answers.
    fn submitted(def: &Definition, id: i64, answers: &str) -> Response {
        Response {
            id,
            submitted_at: Some(chrono::NaiveDateTime::default()),
            ..Response::draft(def, answers)
        }
    }

    #[test]
    fn histogram_bins_and_median() {
        let values: BTreeMap<i64, u64> = [(18, 2), (25, 1), (34, 3), (71, 1)].into();
        let h = histogram(&values).expect("some");
        assert_eq!(h.bins.first().map(|b| (b.from, b.to)), Some((18, 19)));
        assert_eq!(h.bins.last().map(|b| (b.from, b.to)), Some((70, 71)));
        assert_eq!(h.bins.iter().map(|b| b.count).sum::<u64>(), 7);
        assert_eq!(h.bins[0].count, 2);
        assert_eq!(h.median, 34.0);
        assert!((h.mean - (36.0 + 25.0 + 102.0 + 71.0) / 7.0).abs() < 1e-9);
        let small: BTreeMap<i64, u64> = [(1, 1), (2, 1), (3, 1), (4, 1)].into();
        let h = histogram(&small).expect("some");
        assert_eq!(h.bins.len(), 4);
        assert_eq!(h.median, 2.5);
        assert!(histogram(&BTreeMap::new()).is_none());
    }

    #[test]
    fn screened_out_responses_are_counted_apart_and_left_out_of_every_share() {
        let def = crate::survey::default_definition().expect("definition");
        let response = |id: i64, screened: Option<&str>, idade: i64| Response {
            id,
            screened_out: screened.map(str::to_string),
            ..Response::draft(&def, format!(r#"{{"idade":{{"integer":{idade}}}}}"#))
        };
        let mut acc = Accumulator::new(&def, CcebTable::embedded());
        acc.add(&response(1, None, 30));
        acc.add(&response(2, Some("nao_compra"), 70));
        let r = acc
            .finish(&ReportParams::default(), 1621, chrono::Utc::now())
            .expect("report");
        assert_eq!((r.respondents, r.screened_out, r.completes), (2, 1, 0));
        let idade = r
            .questions
            .iter()
            .find(|q| q.key == "idade")
            .expect("idade");
        assert_eq!(idade.answered, 1, "the screened-out age is not in the base");
        assert_eq!(
            r.bairros.iter().map(|b| b.respondents).sum::<u64>(),
            0,
            "below min cell"
        );
    }

    #[test]
    fn the_raking_cell_reads_a_stored_sexo_the_questionnaire_no_longer_asks() {
        // No `sexo` question: rows of an earlier version that answered it keep their
        // sex in the raking cell, as the export's weights read it.
        let def = Definition::parse(
            "id = \"s\"\nversion = 1\ntitle = { pt = \"t\", en = \"t\" }\n\
             intro = { pt = \"i\", en = \"i\" }\n[[pages]]\nkey = \"p1\"\n\
             title = { pt = \"p\", en = \"p\" }\n[[pages.questions]]\nkey = \"idade\"\n\
             type = \"integer\"\nmin = 18\nmax = 120\nrole = \"age\"\n\
             text = { pt = \"Idade\", en = \"Age\" }\n",
        )
        .expect("fixture parses");
        let response = |id: i64, answers: &str| submitted(&def, id, answers);
        let mut acc = Accumulator::new(&def, CcebTable::embedded());
        acc.add(&response(
            1,
            r#"{"idade":{"integer":34},"sexo":{"single":"feminino"}}"#,
        ));
        acc.add(&response(2, r#"{"idade":{"integer":40}}"#));
        let (units, members) = acc.raking_cells();
        let sex_of = |m: u32| units[m as usize].sexo;
        assert_eq!(members.len(), 2);
        assert_eq!(sex_of(members[0]), Some("feminino"));
        assert_eq!(units[members[0] as usize].idade, Some(34));
        assert_eq!(sex_of(members[1]), None);
    }

    #[test]
    fn a_multi_choice_counts_each_option_once_and_skips_values_no_longer_offered() {
        let def = crate::survey::default_definition().expect("definition");
        let response = |id: i64, answers: &str| submitted(&def, id, answers);
        let mut acc = Accumulator::new(&def, CcebTable::embedded());
        // Stored by hand: "preco" twice, and a value the question does not offer.
        acc.add(&response(
            1,
            r#"{"fatores_escolha":{"multi":["preco","preco","fiado"]}}"#,
        ));
        // Only values the question does not offer: not an answer.
        acc.add(&response(2, r#"{"fatores_escolha":{"multi":["fiado"]}}"#));
        let r = acc
            .finish(&ReportParams::default(), 1621, chrono::Utc::now())
            .expect("report");
        let q = r
            .questions
            .iter()
            .find(|q| q.key == "fatores_escolha")
            .expect("fatores_escolha");
        assert_eq!(q.answered, 1);
        let count = |v: &str| q.shares.iter().find(|s| s.value == v).map(|s| s.count);
        assert_eq!(count("preco"), Some(1));
        assert_eq!(count("fiado"), None);
        assert_eq!(q.shares.iter().map(|s| s.count).sum::<u64>(), 1);
    }

    #[test]
    fn grids_and_scales_give_per_item_shares_and_means_without_the_missing_option() {
        let def = crate::survey::default_definition().expect("definition");
        let response = |id: i64, answers: &str| Response {
            id,
            ..Response::draft(&def, answers)
        };
        let mut acc = Accumulator::new(&def, CcebTable::embedded());
        acc.add(&response(
            1,
            r#"{"importancia_fatores":{"grid":{"preco":"5","distancia":"nao_sei"}},"satisfacao_atual":{"single":"4"}}"#,
        ));
        acc.add(&response(
            2,
            r#"{"importancia_fatores":{"grid":{"preco":"2","distancia":"3"}},"satisfacao_atual":{"single":"prefiro_nao_responder"}}"#,
        ));
        acc.add(&response(3, r#"{"satisfacao_atual":{"single":"2"}}"#));
        let r = acc
            .finish(&ReportParams::default(), 1621, chrono::Utc::now())
            .expect("report");
        let q = |k: &str| r.questions.iter().find(|q| q.key == k).expect(k);
        let grid = q("importancia_fatores");
        assert_eq!(grid.answered, 2);
        let item = |k: &str| grid.items.iter().find(|i| i.key == k).expect(k);
        // Base: those who answered the item; "não sei" keeps its share, not the mean.
        assert_eq!(item("preco").answered, 2);
        assert_eq!(item("preco").mean, Some(3.5));
        let dist = item("distancia");
        assert_eq!(dist.mean, Some(3.0));
        let nao_sei = dist
            .shares
            .iter()
            .find(|s| s.value == "nao_sei")
            .expect("nao_sei");
        assert_eq!((nao_sei.count, nao_sei.pct), (1, Some(50.0)));
        assert_eq!(item("qualidade").answered, 0);
        assert_eq!(item("qualidade").mean, None);
        let scale = q("satisfacao_atual");
        assert_eq!(scale.answered, 3);
        assert_eq!(scale.mean, Some(3.0));
        assert_eq!(scale.shares.len(), 6);
        // Both renderers show them.
        let text = super::super::text::render(&r, crate::i18n::Lang::Pt);
        assert!(text.contains("Distância de casa (2 "), "{text}");
    }

    #[test]
    fn label_and_share() {
        assert_eq!(share(0, 0), (None, None));
        let (pct, ci) = share(8, 10);
        assert_eq!(pct, Some(80.0));
        let (lo, hi) = ci.expect("ci");
        assert!((lo - 49.02).abs() < 0.01 && (hi - 94.33).abs() < 0.01);
    }
}
