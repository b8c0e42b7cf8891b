//! Raking (iterative proportional fitting): response weights adjusted until the weighted
//! sample matches known population margins (households per bairro, persons by sex, by
//! age band…), with weight trimming and a report of each margin, target against achieved.
//!
//! Algorithm (Deming and Stephan 1940; as R's `survey::rake` and `anesrake`): start from
//! the base weights; for each margin in turn, multiply each response's weight by
//! target / current weighted total of its category; sweep until every category of every
//! margin is within `tolerance` (relative) of its target.
//!
//! Trimming is the usual trim-and-rerake loop (Kalton and Flores-Cervantes 2003, §4;
//! `anesrake`'s `cap` with `iterate`): clamp the weights to `[lower, upper] × mean weight`,
//! rake again, and repeat until both the margins are within tolerance and the weights
//! within the bounds, or `max_trim_rounds` rounds are done, or a round no longer narrows
//! the largest margin gap (by 1 % of itself). When both cannot hold, the
//! bounds win: the result ends on a clamp, so every weight is within the bounds, and
//! [`Raked::margins_met`] with the margin report says how far each category stayed from
//! its target. A weight far outside the bounds is the worse failure for the analyst (one
//! respondent speaking for many) than a margin a fraction of a percent off.
//!
//! Raking converges for any table without empty cells and for tables whose zeros allow a
//! joint distribution with the given margins (R `survey::rake` docs); a category with a
//! positive target and no respondent cannot be reached and is refused up front.

use std::collections::HashMap;

use serde::Serialize;

/// What each category of a margin should weigh.
#[derive(Debug, Clone, PartialEq)]
pub enum Targets {
    /// Population totals (e.g. households), one per category.
    Totals(Vec<f64>),
    /// Shares of the population, one per category; scaled to the totals of the other
    /// margins, or to the sum of the base weights when no margin gives totals.
    Shares(Vec<f64>),
}

/// One raking variable: its categories, each response's category, and the targets.
#[derive(Debug, Clone, PartialEq)]
pub struct Margin {
    /// Name for the report and errors, e.g. `bairro`.
    pub name: String,
    /// Category labels, in code order.
    pub categories: Vec<String>,
    /// Each response's category, as an index into `categories`.
    pub codes: Vec<u32>,
    /// The targets, in category order.
    pub targets: Targets,
}

/// How to rake.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RakeOptions {
    /// Largest accepted relative error of a category total, |achieved − target| / target.
    pub tolerance: f64,
    /// Sweeps over all margins before giving up, per trimming round.
    pub max_iterations: u32,
    /// Trim bounds as multiples of the mean weight, `(lower, upper)`; `None` for no
    /// trimming.
    pub trim: Option<(f64, f64)>,
    /// Rake–trim rounds at most.
    pub max_trim_rounds: u32,
}

impl Default for RakeOptions {
    fn default() -> Self {
        RakeOptions {
            tolerance: 1e-6,
            max_iterations: 100,
            trim: Some((0.3, 3.0)),
            max_trim_rounds: 50,
        }
    }
}

/// One category of a margin in the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoryReport {
    pub category: String,
    /// Responses in the category.
    pub responses: u64,
    pub target: f64,
    /// Weighted total reached.
    pub achieved: f64,
    /// |achieved − target| / target (0 when both are 0).
    pub relative_error: f64,
}

/// One margin in the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MarginReport {
    pub margin: String,
    pub categories: Vec<CategoryReport>,
}

/// Raked weights and how they were reached.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Raked {
    /// One weight per response, in input order; they sum to the population total.
    #[serde(skip)]
    pub weights: Vec<f64>,
    /// Sweeps done, over all trimming rounds.
    pub iterations: u32,
    /// Rake–trim rounds done (1 without trimming).
    pub trim_rounds: u32,
    /// Weights outside the trim bounds after the first raking, clamped (0 when none were
    /// or without trimming).
    pub trimmed: u64,
    /// The trim bounds (× mean weight) the weights are within; `None` without trimming.
    pub bounds: Option<(f64, f64)>,
    /// Whether every category ended within the tolerance of its target. False only when
    /// trimming kept the weights within their bounds at the margins' expense: the margin
    /// report gives each category's remaining gap.
    pub margins_met: bool,
    /// Largest relative error of any category at the end.
    pub max_relative_error: f64,
    /// Smallest and largest weight as multiples of the mean weight.
    pub weight_range: (f64, f64),
    pub margins: Vec<MarginReport>,
}

/// Why raking failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RakeError {
    #[error("no responses to rake")]
    NoResponses,
    #[error("no margin to rake to")]
    NoMargins,
    #[error("margin `{margin}`: {reason}")]
    Margin { margin: String, reason: String },
    #[error("the base weights: {0}")]
    BaseWeights(String),
    #[error("options: {0}")]
    Options(String),
    /// The margins could not all be met: the report says how far each one is.
    #[error(
        "raking did not converge after {iterations} iterations: the largest relative error \
         of a margin is {max_relative_error:.3e} (tolerance {tolerance:.1e}); see the margin \
         report, an empty or nearly empty category is the usual cause"
    )]
    NotConverged {
        iterations: u32,
        max_relative_error: f64,
        tolerance: f64,
        margins: Vec<MarginReport>,
    },
}

fn margin_error(m: &Margin, reason: impl Into<String>) -> RakeError {
    RakeError::Margin {
        margin: m.name.clone(),
        reason: reason.into(),
    }
}

/// Rakes `base` weights (`None`: all 1) to `margins`, one weight per response. See the
/// module doc for the method.
///
/// Responses with the same category on every margin and the same base weight are
/// multiplied by the same factors and clamped alike, so they end with one weight: they
/// are raked as one cell ([`rake_cells`]) and the weights handed back one per response.
pub fn rake(
    base: Option<&[f64]>,
    margins: &[Margin],
    options: &RakeOptions,
) -> Result<Raked, RakeError> {
    let n = margins.first().map_or(0, |m| m.codes.len());
    if margins.is_empty() {
        return Err(RakeError::NoMargins);
    }
    if n == 0 {
        return Err(RakeError::NoResponses);
    }
    check_options(options)?;
    if let Some(b) = base
        && b.len() != n
    {
        return Err(RakeError::BaseWeights(format!(
            "{} weights for {n} responses",
            b.len()
        )));
    }
    if let Some(m) = margins.iter().find(|m| m.codes.len() != n) {
        return Err(margin_error(
            m,
            format!("{} responses, the first margin has {n}", m.codes.len()),
        ));
    }
    let cells = Grouped::of(base, margins);
    let mut raked = rake_cells(
        cells.base.as_deref(),
        &cells.margins,
        &cells.members,
        options,
    )?;
    raked.weights = cells
        .members
        .iter()
        .map(|c| raked.weights.get(*c as usize).copied().unwrap_or(0.0))
        .collect();
    Ok(raked)
}

/// Responses grouped into cells: one per distinct combination of categories (and base
/// weight), in order of first appearance.
struct Grouped {
    /// The margins with one code per cell.
    margins: Vec<Margin>,
    base: Option<Vec<f64>>,
    /// Each response's cell.
    members: Vec<u32>,
}

impl Grouped {
    fn of(base: Option<&[f64]>, margins: &[Margin]) -> Grouped {
        let n = margins.first().map_or(0, |m| m.codes.len());
        let mut index: HashMap<Vec<u32>, u32> = HashMap::new();
        let mut key: Vec<u32> = Vec::with_capacity(margins.len().saturating_add(2));
        let mut codes: Vec<Vec<u32>> = vec![Vec::new(); margins.len()];
        let mut cell_base = Vec::new();
        let mut members = Vec::with_capacity(n);
        for i in 0..n {
            key.clear();
            key.extend(margins.iter().map(|m| m.codes.get(i).copied().unwrap_or(0)));
            let b = base.and_then(|b| b.get(i)).copied();
            if let Some(b) = b {
                // The bits, so that only equal base weights share a cell.
                let bits = b.to_bits();
                key.extend([bits as u32, (bits >> 32) as u32]);
            }
            let cell = match index.get(key.as_slice()) {
                Some(c) => *c,
                None => {
                    let c = index.len() as u32;
                    index.insert(key.clone(), c);
                    for (cell_codes, code) in codes.iter_mut().zip(&key) {
                        cell_codes.push(*code);
                    }
                    cell_base.extend(b);
                    c
                }
            };
            members.push(cell);
        }
        Grouped {
            margins: margins
                .iter()
                .zip(codes)
                .map(|(m, codes)| Margin {
                    name: m.name.clone(),
                    categories: m.categories.clone(),
                    codes,
                    targets: m.targets.clone(),
                })
                .collect(),
            base: base.map(|_| cell_base),
            members,
        }
    }
}

/// Rakes cells of responses that share their categories: `margins` give each cell's
/// category (`codes` one per cell), `members` each response's cell in the responses'
/// order, `base` one base weight per cell (`None`: all 1). [`Raked::weights`] are then
/// one per cell; a cell without responses keeps its base weight out of every figure.
///
/// A cell's weight is multiplied and clamped as each of its responses' weights would
/// be, and every sum over the responses is taken response by response in `members`'
/// order, as raking one weight per response takes it: the weights and the report are
/// bit for bit those of [`rake`] on the responses, while memory holds a cell index per
/// response instead of a weight and a code per margin.
pub fn rake_cells(
    base: Option<&[f64]>,
    margins: &[Margin],
    members: &[u32],
    options: &RakeOptions,
) -> Result<Raked, RakeError> {
    if margins.is_empty() {
        return Err(RakeError::NoMargins);
    }
    if members.is_empty() {
        return Err(RakeError::NoResponses);
    }
    check_options(options)?;
    let cells = margins.first().map_or(0, |m| m.codes.len());
    let mut counts = vec![0u64; cells];
    for &c in members {
        match counts.get_mut(c as usize) {
            Some(k) => *k = k.saturating_add(1),
            None => {
                return Err(RakeError::Options(format!(
                    "a response's cell {c} is out of range ({cells} cells)"
                )));
            }
        }
    }
    let layout = Layout { members, counts };
    let mut weights = match base {
        Some(b) if b.len() != cells => {
            return Err(RakeError::BaseWeights(format!(
                "{} weights for {cells} cells",
                b.len()
            )));
        }
        Some(b) if b.iter().any(|w| !(w.is_finite() && *w > 0.0)) => {
            return Err(RakeError::BaseWeights(
                "every weight must be a positive number".into(),
            ));
        }
        Some(b) => b.to_vec(),
        None => vec![1.0; cells],
    };
    let targets = resolve_targets(margins, &layout, layout.total(&weights))?;
    // The first raking must meet the margins: if it cannot, no trimming will.
    let mut iterations = sweep_until_converged(&mut weights, margins, &layout, &targets, options)?;
    let mut rounds = 1u32;
    let mut trimmed = 0u64;
    if let Some((lower, upper)) = options.trim {
        let total = layout.total(&weights);
        let mut last_gap = f64::INFINITY;
        loop {
            let clamped = trim(&mut weights, &layout, lower, upper, total);
            if rounds == 1 {
                trimmed = clamped;
            }
            if clamped == 0 || rounds >= options.max_trim_rounds {
                // Either both hold, or the last step was a clamp: the bounds hold and
                // the margins keep whatever gap the report shows.
                break;
            }
            // When the bounds and the margins cannot both hold, each rake is undone by
            // the next clamp and the gap left after the clamp levels off: stop once a
            // round narrows it by less than STALL of itself.
            let gap = max_error(&report(&weights, margins, &layout, &targets));
            if gap > last_gap * (1.0 - STALL) {
                break;
            }
            last_gap = gap;
            rounds = rounds.saturating_add(1);
            let (done, _) = sweep(&mut weights, margins, &layout, &targets, options);
            iterations = iterations.saturating_add(done);
        }
    }
    let margins_report = report(&weights, margins, &layout, &targets);
    let max_relative_error = max_error(&margins_report);
    let mean = layout.total(&weights) / members.len() as f64;
    let (lo, hi) = layout
        .occupied(&weights)
        .fold((f64::INFINITY, 0.0f64), |(lo, hi), w| {
            (lo.min(w), hi.max(w))
        });
    Ok(Raked {
        weights,
        iterations,
        trim_rounds: rounds,
        trimmed,
        bounds: options.trim,
        margins_met: max_relative_error < options.tolerance,
        max_relative_error,
        weight_range: (lo / mean, hi / mean),
        margins: margins_report,
    })
}

/// Which cell each response is in, and how many responses each cell holds.
struct Layout<'a> {
    members: &'a [u32],
    counts: Vec<u64>,
}

impl Layout<'_> {
    /// The weight of each response, in the responses' order.
    fn each<'w>(&'w self, weights: &'w [f64]) -> impl Iterator<Item = f64> + 'w {
        self.members
            .iter()
            .map(|c| weights.get(*c as usize).copied().unwrap_or(0.0))
    }

    /// The sum of the responses' weights, added response by response.
    fn total(&self, weights: &[f64]) -> f64 {
        self.each(weights).sum()
    }

    /// The weights of the cells that hold responses.
    fn occupied<'w>(&'w self, weights: &'w [f64]) -> impl Iterator<Item = f64> + 'w {
        weights
            .iter()
            .zip(&self.counts)
            .filter(|(_, k)| **k > 0)
            .map(|(w, _)| *w)
    }
}

/// A rake–trim round that narrows the largest margin gap by less than this fraction of
/// itself ends the rounds (see [`rake`]).
const STALL: f64 = 0.01;

fn check_options(o: &RakeOptions) -> Result<(), RakeError> {
    if !(o.tolerance.is_finite() && o.tolerance > 0.0) {
        return Err(RakeError::Options("tolerance must be above 0".into()));
    }
    if o.max_iterations == 0 {
        return Err(RakeError::Options(
            "max_iterations must be at least 1".into(),
        ));
    }
    if let Some((lower, upper)) = o.trim {
        let ok =
            lower.is_finite() && upper.is_finite() && lower > 0.0 && lower < 1.0 && upper > 1.0;
        if !ok {
            return Err(RakeError::Options(format!(
                "trim bounds must satisfy 0 < lower < 1 < upper, got ({lower}, {upper})"
            )));
        }
    }
    Ok(())
}

/// The targets of every margin as totals, checked against the data.
fn resolve_targets(
    margins: &[Margin],
    layout: &Layout<'_>,
    base_total: f64,
) -> Result<Vec<Vec<f64>>, RakeError> {
    let cells = layout.counts.len();
    let mut population: Option<(f64, &str)> = None;
    for m in margins {
        let values = match &m.targets {
            Targets::Totals(v) | Targets::Shares(v) => v,
        };
        if m.codes.len() != cells {
            return Err(margin_error(
                m,
                format!("{} cells, the first margin has {cells}", m.codes.len()),
            ));
        }
        if values.len() != m.categories.len() {
            return Err(margin_error(
                m,
                format!(
                    "{} targets for {} categories",
                    values.len(),
                    m.categories.len()
                ),
            ));
        }
        if values.iter().any(|t| !(t.is_finite() && *t >= 0.0)) {
            return Err(margin_error(m, "every target must be a number ≥ 0"));
        }
        let sum: f64 = values.iter().sum();
        if sum <= 0.0 {
            return Err(margin_error(m, "the targets add up to 0"));
        }
        if let Targets::Totals(_) = m.targets {
            match population {
                None => population = Some((sum, &m.name)),
                Some((total, first)) => {
                    if (sum - total).abs() > 1e-9 * total.max(1.0) {
                        return Err(margin_error(
                            m,
                            format!(
                                "its totals add up to {sum}, those of `{first}` to {total}: \
                                 margins of one population must have the same total"
                            ),
                        ));
                    }
                }
            }
        }
    }
    let total = population.map_or(base_total, |(t, _)| t);
    let mut out = Vec::with_capacity(margins.len());
    for m in margins {
        let (values, scale) = match &m.targets {
            Targets::Totals(v) => (v, 1.0),
            Targets::Shares(v) => (v, total / v.iter().sum::<f64>()),
        };
        let counts = category_counts(&m.codes, layout, m.categories.len())
            .map_err(|code| margin_error(m, format!("category code {code} out of range")))?;
        for ((category, target), count) in m.categories.iter().zip(values).zip(&counts) {
            if *target > 0.0 && *count == 0 {
                return Err(margin_error(
                    m,
                    format!(
                        "category `{category}` has a target of {target} but no response: \
                         merge it with a neighbour or drop it from the margins"
                    ),
                ));
            }
        }
        out.push(values.iter().map(|t| t * scale).collect());
    }
    Ok(out)
}

/// Responses in each of `k` categories, given each cell's category; the first code of
/// an occupied cell out of range as the error.
fn category_counts(codes: &[u32], layout: &Layout<'_>, k: usize) -> Result<Vec<u64>, u32> {
    let mut counts = vec![0u64; k];
    for (&code, &n) in codes.iter().zip(&layout.counts) {
        if n == 0 {
            continue;
        }
        match counts.get_mut(code as usize) {
            Some(c) => *c = c.saturating_add(n),
            None => return Err(code),
        }
    }
    Ok(counts)
}

/// Weighted total of each category.
fn category_totals(weights: &[f64], codes: &[u32], layout: &Layout<'_>, k: usize) -> Vec<f64> {
    let mut sums = Vec::new();
    category_totals_into(&mut sums, weights, codes, layout, k);
    sums
}

/// [`category_totals`] into a reused buffer (the sweeps run it thousands of times). The
/// responses are added one by one, in their order (see [`rake_cells`]).
fn category_totals_into(
    sums: &mut Vec<f64>,
    weights: &[f64],
    codes: &[u32],
    layout: &Layout<'_>,
    k: usize,
) {
    sums.clear();
    sums.resize(k, 0.0);
    for &c in layout.members {
        let c = c as usize;
        if let (Some(code), Some(w)) = (codes.get(c), weights.get(c))
            && let Some(s) = sums.get_mut(*code as usize)
        {
            *s += w;
        }
    }
}

fn relative_error(achieved: f64, target: f64) -> f64 {
    if target > 0.0 {
        (achieved - target).abs() / target
    } else {
        achieved.abs()
    }
}

/// Sweeps until converged; the number of sweeps done, or the error with the report.
fn sweep_until_converged(
    weights: &mut [f64],
    margins: &[Margin],
    layout: &Layout<'_>,
    targets: &[Vec<f64>],
    options: &RakeOptions,
) -> Result<u32, RakeError> {
    let (done, converged) = sweep(weights, margins, layout, targets, options);
    if converged {
        return Ok(done);
    }
    let margins_report = report(weights, margins, layout, targets);
    Err(RakeError::NotConverged {
        iterations: done,
        max_relative_error: max_error(&margins_report),
        tolerance: options.tolerance,
        margins: margins_report,
    })
}

/// Sweeps until every category is within the tolerance or `max_iterations` sweeps are
/// done: the sweeps done and whether the margins hold.
fn sweep(
    weights: &mut [f64],
    margins: &[Margin],
    layout: &Layout<'_>,
    targets: &[Vec<f64>],
    options: &RakeOptions,
) -> (u32, bool) {
    let mut done = 0u32;
    let mut sums: Vec<f64> = Vec::new();
    let mut factors: Vec<f64> = Vec::new();
    while done < options.max_iterations {
        done = done.saturating_add(1);
        let mut worst = 0.0f64;
        for (m, target) in margins.iter().zip(targets) {
            category_totals_into(&mut sums, weights, &m.codes, layout, target.len());
            factors.clear();
            factors.extend(sums.iter().zip(target).map(|(s, t)| {
                worst = worst.max(relative_error(*s, *t));
                if *s > 0.0 { t / s } else { 1.0 }
            }));
            for (w, &c) in weights.iter_mut().zip(&m.codes) {
                if let Some(f) = factors.get(c as usize) {
                    *w *= f;
                }
            }
        }
        // `worst` is measured before each margin's own adjustment: below the tolerance,
        // the sweep changed every weight by less than it, and the margins hold.
        if worst < options.tolerance {
            return (done, true);
        }
    }
    let met = max_error(&report(weights, margins, layout, targets)) < options.tolerance;
    (done, met)
}

/// Clamps weights to `[lower, upper] × mean`, the mean of the responses' weights summing
/// to `total`, and gives what the clamp took or added to the weights not clamped, in
/// proportion, so the total is kept (R `survey::trimWeights(..., strict = TRUE)`); how
/// many responses were clamped. A redistributed weight may cross a bound in turn: it is
/// clamped in the next pass, and a clamped weight stays clamped, so at most one pass per
/// weight is needed. Cells without responses are left alone: they would add a pass.
fn trim(weights: &mut [f64], layout: &Layout<'_>, lower: f64, upper: f64, total: f64) -> u64 {
    let n = layout.members.len();
    let mean = total / n.max(1) as f64;
    let (lo, hi) = (lower * mean, upper * mean);
    // A weight a rounding error outside a bound is not worth another pass.
    let slack = 1e-9 * mean;
    let mut clamped = vec![false; weights.len()];
    for _ in 0..=n {
        let mut moved = false;
        for ((w, c), k) in weights.iter_mut().zip(&mut clamped).zip(&layout.counts) {
            if *k > 0 && (*w < lo - slack || *w > hi + slack) {
                *w = w.clamp(lo, hi);
                *c = true;
                moved = true;
            }
        }
        let (mut fixed, mut free) = (0.0, 0.0);
        for &c in layout.members {
            let c = c as usize;
            if let (Some(w), Some(is)) = (weights.get(c), clamped.get(c)) {
                if *is {
                    fixed += w;
                } else {
                    free += w;
                }
            }
        }
        if free > 0.0 {
            let scale = (total - fixed).max(0.0) / free;
            for (w, c) in weights.iter_mut().zip(&clamped) {
                if !*c {
                    *w *= scale;
                }
            }
        }
        if !moved {
            break;
        }
    }
    // Every weight at a bound (tight bounds, few distinct weights): nothing is free to
    // take up the difference, so the weights at the bound the total lies towards share
    // it equally; they stay within the bounds, since the total is n × mean.
    let sum = layout.total(weights);
    if (sum - total).abs() > 1e-9 * total.abs().max(1.0) {
        let raise = sum < total;
        let movable = |w: f64| {
            if raise {
                w <= lo + slack
            } else {
                w >= hi - slack
            }
        };
        let (moved_sum, count) = layout
            .each(weights)
            .filter(|w| movable(*w))
            .fold((0.0, 0usize), |(s, n), w| (s + w, n.saturating_add(1)));
        if count > 0 {
            let each = ((total - (sum - moved_sum)) / count as f64).clamp(lo, hi);
            weights
                .iter_mut()
                .zip(&layout.counts)
                .filter(|(w, k)| **k > 0 && movable(**w))
                .for_each(|(w, _)| *w = each);
        }
    }
    clamped
        .iter()
        .zip(&layout.counts)
        .filter(|(c, _)| **c)
        .map(|(_, k)| *k)
        .sum()
}

fn report(
    weights: &[f64],
    margins: &[Margin],
    layout: &Layout<'_>,
    targets: &[Vec<f64>],
) -> Vec<MarginReport> {
    margins
        .iter()
        .zip(targets)
        .map(|(m, target)| {
            let sums = category_totals(weights, &m.codes, layout, target.len());
            let counts = category_counts(&m.codes, layout, target.len()).unwrap_or_default();
            MarginReport {
                margin: m.name.clone(),
                categories: m
                    .categories
                    .iter()
                    .zip(target)
                    .zip(sums.iter().zip(&counts))
                    .map(|((category, t), (s, n))| CategoryReport {
                        category: category.clone(),
                        responses: *n,
                        target: *t,
                        achieved: *s,
                        relative_error: relative_error(*s, *t),
                    })
                    .collect(),
            }
        })
        .collect()
}

fn max_error(report: &[MarginReport]) -> f64 {
    report
        .iter()
        .flat_map(|m| &m.categories)
        .map(|c| c.relative_error)
        .fold(0.0, f64::max)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use crate::stats::weighted::{weight_summary, weighted_mean};

    /// The `apiclus1` sample of R's survey package: stype, sch.wide, api00, enroll.
    const APICLUS1: &str = include_str!("testdata/apiclus1.csv");

    struct School {
        stype: u32,
        sch_wide: u32,
        api00: f64,
        enroll: f64,
    }

    fn apiclus1() -> Vec<School> {
        APICLUS1
            .lines()
            .filter(|l| !l.starts_with('#'))
            .skip(1)
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                School {
                    stype: ["E", "H", "M"].iter().position(|s| *s == f[0]).unwrap() as u32,
                    sch_wide: ["No", "Yes"].iter().position(|s| *s == f[1]).unwrap() as u32,
                    api00: f[2].parse().unwrap(),
                    enroll: f[3].parse().unwrap(),
                }
            })
            .collect()
    }

    fn api_margins(schools: &[School]) -> Vec<Margin> {
        vec![
            Margin {
                name: "stype".into(),
                categories: vec!["E".into(), "H".into(), "M".into()],
                codes: schools.iter().map(|s| s.stype).collect(),
                targets: Targets::Totals(vec![4421.0, 755.0, 1018.0]),
            },
            Margin {
                name: "sch.wide".into(),
                categories: vec!["No".into(), "Yes".into()],
                codes: schools.iter().map(|s| s.sch_wide).collect(),
                targets: Targets::Totals(vec![1072.0, 5122.0]),
            },
        ]
    }

    /// Random margins, sizes, targets, base weights and trim bounds: raking the grouped
    /// cells gives bit for bit the weights and the report of raking one weight per
    /// response (each response its own cell, the way raking worked before grouping; the
    /// tests against R's survey package pin that down).
    #[test]
    fn cells_rake_exactly_as_one_weight_per_response() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(19);
        for case in 0..60 {
            let n = rng.random_range(1..3000usize);
            let margins: Vec<Margin> = (0..rng.random_range(1..4usize))
                .map(|m| {
                    let k = rng.random_range(1..7usize);
                    // Lopsided draws, so that trimming has work to do.
                    let codes: Vec<u32> = (0..n)
                        .map(|_| {
                            let x: f64 = rng.random();
                            ((x * x * k as f64) as u32).min(k as u32 - 1)
                        })
                        .collect();
                    let mut targets: Vec<f64> =
                        (0..k).map(|_| rng.random_range(1.0..10.0)).collect();
                    for (i, t) in targets.iter_mut().enumerate() {
                        if !codes.contains(&(i as u32)) {
                            *t = 0.0;
                        }
                    }
                    Margin {
                        name: format!("m{m}"),
                        categories: (0..k).map(|i| format!("c{i}")).collect(),
                        codes,
                        targets: Targets::Shares(targets),
                    }
                })
                .collect();
            let base: Option<Vec<f64>> = (case % 3 == 0).then(|| {
                (0..n)
                    .map(|_| [1.0, 2.5, 0.75][rng.random_range(0..3)])
                    .collect()
            });
            let options = RakeOptions {
                trim: (case % 4 != 0)
                    .then(|| (rng.random_range(0.2..0.9), rng.random_range(1.2..4.0))),
                max_iterations: rng.random_range(5..120),
                max_trim_rounds: rng.random_range(1..30),
                ..RakeOptions::default()
            };
            let cells = rake(base.as_deref(), &margins, &options);
            // Every response its own cell: raking one weight per response.
            let own: Vec<u32> = (0..n as u32).collect();
            let each = rake_cells(base.as_deref(), &margins, &own, &options);
            match (&cells, &each) {
                (Ok(a), Ok(b)) => {
                    let bits =
                        |r: &Raked| r.weights.iter().map(|w| w.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(a), bits(b), "case {case}");
                    assert_eq!(a, b, "case {case}");
                }
                _ => assert_eq!(cells, each, "case {case}"),
            }
        }
    }

    #[test]
    fn reproduces_r_survey_rake_on_apiclus1() {
        // R package survey, tests/rakecheck.R and its published output
        // tests/rakecheck.Rout.save (also the example of ?rake):
        //   dclus1 <- svydesign(id=~dnum, weights=~pw, data=apiclus1, fpc=~fpc)
        //   pop.types <- data.frame(stype=c("E","H","M"), Freq=c(4421,755,1018))
        //   pop.schwide <- data.frame(sch.wide=c("No","Yes"), Freq=c(1072,5122))
        //   rake(dclus1, list(~stype,~sch.wide), list(pop.types, pop.schwide))
        //   svymean(~api00, .)   641.23
        //   svytotal(~enroll, .) 3647300 (rake's default epsilon = 1 stops early);
        //   calibrate(..., calfun="raking"), raking to convergence: 3647280.
        // Run again with Debian's r-cran-survey 4.1-1 at epsilon = 1e-9:
        //   api00 641.230321, enroll 3647280.148, n_eff (Σw)²/Σw² = 174.011159.
        let schools = apiclus1();
        assert_eq!(schools.len(), 183);
        let pw = vec![33.847; schools.len()];
        let options = RakeOptions {
            tolerance: 1e-10,
            trim: None,
            ..RakeOptions::default()
        };
        let r = rake(Some(&pw), &api_margins(&schools), &options).unwrap();
        let api00: Vec<f64> = schools.iter().map(|s| s.api00).collect();
        let mean = weighted_mean(&api00, &r.weights).unwrap();
        assert!((mean - 641.230321).abs() < 5e-6, "{mean}");
        assert_eq!(format!("{mean:.2}"), "641.23");
        let total: f64 = schools
            .iter()
            .zip(&r.weights)
            .map(|(s, w)| s.enroll * w)
            .sum();
        assert!((total - 3647280.148).abs() < 0.01, "{total}");
        let s = weight_summary(&r.weights).unwrap();
        assert!((s.n_eff - 174.011159).abs() < 1e-5, "{}", s.n_eff);
        // The report: every category at its target.
        assert_eq!(r.margins.len(), 2);
        let e = &r.margins[0].categories[0];
        assert_eq!((e.category.as_str(), e.responses), ("E", 144));
        assert!((e.achieved - 4421.0).abs() < 1e-6);
        assert!(r.max_relative_error < 1e-10);
        assert!(r.iterations > 1 && r.iterations < 100);
    }

    #[test]
    fn shares_scale_to_the_base_weights_and_trimming_holds_the_bounds() {
        let schools = apiclus1();
        let mut margins = api_margins(&schools);
        // The same margins as shares: with unit base weights they sum to n = 183.
        margins[0].targets =
            Targets::Shares(vec![4421.0 / 6194.0, 755.0 / 6194.0, 1018.0 / 6194.0]);
        margins[1].targets = Targets::Shares(vec![1072.0 / 6194.0, 5122.0 / 6194.0]);
        let untrimmed = rake(
            None,
            &margins,
            &RakeOptions {
                trim: None,
                ..RakeOptions::default()
            },
        )
        .unwrap();
        assert!((untrimmed.weights.iter().sum::<f64>() - 183.0).abs() < 1e-6);
        // Untrimmed, the largest weight is 67.13 / 33.85 ≈ 1.98 × the mean (R above).
        assert!(
            (untrimmed.weight_range.1 - 1.983).abs() < 1e-3,
            "{:?}",
            untrimmed.weight_range
        );
        let trimmed = rake(
            None,
            &margins,
            &RakeOptions {
                trim: Some((0.5, 1.8)),
                max_trim_rounds: 20,
                ..RakeOptions::default()
            },
        )
        .unwrap();
        assert!(trimmed.trim_rounds > 1);
        assert!(trimmed.trimmed > 0);
        assert!(trimmed.margins_met, "{}", trimmed.max_relative_error);
        assert!(trimmed.max_relative_error < 1e-6, "margins still met");
        assert!(trimmed.weight_range.1 < untrimmed.weight_range.1);
        assert!(
            trimmed.weight_range.1 <= 1.8 + 1e-6 && trimmed.weight_range.0 >= 0.5 - 1e-6,
            "{:?}",
            trimmed.weight_range
        );
        assert!((trimmed.weights.iter().sum::<f64>() - 183.0).abs() < 1e-6);
    }

    /// 100 respondents, 10 of them in group `b` whose target is 60%: raked, each `b`
    /// weighs 6 × the mean, far above an upper bound of 3.
    fn lopsided(trim: Option<(f64, f64)>, rounds: u32) -> Result<Raked, RakeError> {
        let codes: Vec<u32> = (0..100).map(|i| u32::from(i < 10)).collect();
        let age: Vec<u32> = (0..100).map(|i| i % 2).collect();
        rake(
            None,
            &[
                Margin {
                    name: "grupo".into(),
                    categories: vec!["a".into(), "b".into()],
                    codes,
                    targets: Targets::Shares(vec![0.4, 0.6]),
                },
                Margin {
                    name: "idade".into(),
                    categories: vec!["jovem".into(), "velho".into()],
                    codes: age,
                    targets: Targets::Shares(vec![0.5, 0.5]),
                },
            ],
            &RakeOptions {
                trim,
                max_trim_rounds: rounds,
                ..RakeOptions::default()
            },
        )
    }

    #[test]
    fn when_bounds_and_margins_cannot_both_hold_the_bounds_win_and_the_gap_is_reported() {
        let free = lopsided(None, 1).unwrap();
        assert!(free.margins_met);
        // b weighs 0.6 / 10 each, a 0.4 / 90: 13.5 × as much; × mean (1): 6 and 0.444.
        assert!(
            (free.weight_range.1 - 6.0).abs() < 1e-6,
            "{:?}",
            free.weight_range
        );
        let bounded = lopsided(Some((0.3, 3.0)), 50).unwrap();
        let (lo, hi) = bounded.weight_range;
        assert!(lo >= 0.3 - 1e-9 && hi <= 3.0 + 1e-9, "{lo} {hi}");
        assert_eq!(bounded.bounds, Some((0.3, 3.0)));
        assert!(!bounded.margins_met);
        assert_eq!(bounded.trimmed, 10, "the ten b were above 3 × the mean");
        assert!((bounded.weights.iter().sum::<f64>() - 100.0).abs() < 1e-6);
        // The most b can reach: 10 weights at 3 × the mean of 100 weights.
        let b = &bounded.margins[0].categories[1];
        assert_eq!(b.category, "b");
        assert!(b.achieved < 60.0 && b.achieved > 25.0, "{}", b.achieved);
        assert!(b.relative_error > 0.1);
        // a takes the rest (70 for a target of 40): the largest gap, 0.75.
        let a = &bounded.margins[0].categories[0];
        assert!((a.achieved + b.achieved - 100.0).abs() < 1e-9);
        assert!((bounded.max_relative_error - a.relative_error).abs() < 1e-12);
        // One round is the plain raking followed by the clamp: bounds again, bigger gap
        // or equal, never a weight outside.
        // The gap levels off: the rounds stop well before the 50 allowed.
        assert!(bounded.trim_rounds < 50, "{}", bounded.trim_rounds);
        let one = lopsided(Some((0.3, 3.0)), 1).unwrap();
        assert_eq!(one.trim_rounds, 1);
        assert!(one.weight_range.1 <= 3.0 + 1e-9);
        assert!(!one.margins_met);
    }

    /// [`trim`] with each weight a cell of one response.
    fn trim_each(weights: &mut [f64], lower: f64, upper: f64, total: f64) -> u64 {
        let members: Vec<u32> = (0..weights.len() as u32).collect();
        let layout = Layout {
            members: &members,
            counts: vec![1; weights.len()],
        };
        trim(weights, &layout, lower, upper, total)
    }

    #[test]
    fn trim_holds_the_bounds_of_the_mean_and_keeps_the_total() {
        // As survey::trimWeights(lower = 0.3, upper = 3, strict = TRUE) on weights of
        // mean 1: 40 → 3 and 0.01 → 0.3; the 8 others share the rest, 6.7 / 8 each.
        let mut w = vec![0.01, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 40.0];
        assert_eq!(trim_each(&mut w, 0.3, 3.0, 10.0), 2);
        assert!((w.iter().sum::<f64>() - 10.0).abs() < 1e-9, "{w:?}");
        assert!((w[0] - 0.3).abs() < 1e-12 && (w[9] - 3.0).abs() < 1e-12);
        assert!((w[1] - 6.7 / 8.0).abs() < 1e-12, "{w:?}");
        // Redistribution pushes a weight over the bound: it is clamped in turn.
        // (mean 13.6 / 7: 5 → 3.886, which lifts 3.6 to 4.07, over the bound.)
        let mut w = vec![3.6, 5.0, 1.0, 1.0, 1.0, 1.0, 1.0];
        assert_eq!(trim_each(&mut w, 0.3, 2.0, 13.6), 2);
        assert!((w.iter().sum::<f64>() - 13.6).abs() < 1e-9);
        let hi = 2.0 * 13.6 / 7.0;
        assert!(
            (w[0] - hi).abs() < 1e-9 && (w[1] - hi).abs() < 1e-9,
            "{w:?}"
        );
        assert!((w[2] - (13.6 - 2.0 * hi) / 5.0).abs() < 1e-9);
        // Every weight clamped: the ones at the lower bound take up the total.
        let mut all = vec![0.5, 0.5, 0.5, 2.5];
        assert_eq!(trim_each(&mut all, 0.9, 1.1, 4.0), 4);
        assert!((all.iter().sum::<f64>() - 4.0).abs() < 1e-9, "{all:?}");
        assert!((all[3] - 1.1).abs() < 1e-12 && (all[0] - 2.9 / 3.0).abs() < 1e-12);
        let mut inside = vec![1.0; 4];
        assert_eq!(trim_each(&mut inside, 0.3, 3.0, 4.0), 0);
        assert_eq!(inside, vec![1.0; 4]);
    }

    #[test]
    fn impossible_margins_are_refused_with_a_report() {
        // Two variables that are the same split, with contradicting targets: no weights
        // can meet both (60/40 and 40/60 of the same two groups).
        let codes = vec![0, 0, 0, 1, 1, 1];
        let m = |name: &str, t: Vec<f64>| Margin {
            name: name.into(),
            categories: vec!["a".into(), "b".into()],
            codes: codes.clone(),
            targets: Targets::Totals(t),
        };
        let err = rake(
            None,
            &[m("x", vec![60.0, 40.0]), m("y", vec![40.0, 60.0])],
            &RakeOptions {
                trim: None,
                max_iterations: 50,
                ..RakeOptions::default()
            },
        );
        match err {
            Err(RakeError::NotConverged {
                iterations,
                margins,
                ..
            }) => {
                assert_eq!(iterations, 50);
                assert_eq!(margins.len(), 2);
            }
            other => panic!("{other:?}"),
        }
        // A category with a target and nobody in it.
        let err = rake(
            None,
            &[Margin {
                name: "bairro".into(),
                categories: vec!["Centro".into(), "Vila Industrial".into()],
                codes: vec![0, 0, 0],
                targets: Targets::Totals(vec![10.0, 5.0]),
            }],
            &RakeOptions::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("bairro") && err.contains("Vila Industrial"),
            "{err}"
        );
        // Totals of two margins that disagree.
        let err = rake(
            None,
            &[m("x", vec![60.0, 40.0]), m("y", vec![60.0, 50.0])],
            &RakeOptions::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("`y`") && err.contains("same total"), "{err}");
        let err = rake(
            None,
            &[m("x", vec![60.0, 40.0])],
            &RakeOptions {
                trim: Some((2.0, 3.0)),
                ..RakeOptions::default()
            },
        )
        .unwrap_err();
        assert!(matches!(err, RakeError::Options(_)));
        assert_eq!(
            rake(None, &[], &RakeOptions::default()).unwrap_err(),
            RakeError::NoMargins
        );
    }
}
