//! The raking of one weight per response, as it was before responses were grouped into
//! cells ([`super::rake_cells`]): kept for the tests only, which check that the grouped
//! raking gives bit for bit the same weights and report on random data.

use super::{
    CategoryReport, Margin, MarginReport, RakeError, RakeOptions, Raked, STALL, Targets,
    check_options, margin_error,
};

/// Rakes `base` weights (`None`: all 1) to `margins`. See the module doc for the method.
pub(super) fn rake_per_response(
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
    let mut weights = match base {
        Some(b) if b.len() != n => {
            return Err(RakeError::BaseWeights(format!(
                "{} weights for {n} responses",
                b.len()
            )));
        }
        Some(b) if b.iter().any(|w| !(w.is_finite() && *w > 0.0)) => {
            return Err(RakeError::BaseWeights(
                "every weight must be a positive number".into(),
            ));
        }
        Some(b) => b.to_vec(),
        None => vec![1.0; n],
    };
    let targets = resolve_targets(margins, n, weights.iter().sum())?;
    // The first raking must meet the margins: if it cannot, no trimming will.
    let mut iterations = sweep_until_converged(&mut weights, margins, &targets, options)?;
    let mut rounds = 1u32;
    let mut trimmed = 0u64;
    if let Some((lower, upper)) = options.trim {
        let total: f64 = weights.iter().sum();
        let mut last_gap = f64::INFINITY;
        loop {
            let clamped = trim(&mut weights, lower, upper, total);
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
            let gap = max_error(&report(&weights, margins, &targets));
            if gap > last_gap * (1.0 - STALL) {
                break;
            }
            last_gap = gap;
            rounds = rounds.saturating_add(1);
            let (done, _) = sweep(&mut weights, margins, &targets, options);
            iterations = iterations.saturating_add(done);
        }
    }
    let margins_report = report(&weights, margins, &targets);
    let max_relative_error = max_error(&margins_report);
    let mean = weights.iter().sum::<f64>() / n as f64;
    let (lo, hi) = weights.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), w| {
        (lo.min(*w), hi.max(*w))
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

/// The targets of every margin as totals, checked against the data.
fn resolve_targets(
    margins: &[Margin],
    n: usize,
    base_total: f64,
) -> Result<Vec<Vec<f64>>, RakeError> {
    let mut population: Option<(f64, &str)> = None;
    for m in margins {
        let values = match &m.targets {
            Targets::Totals(v) | Targets::Shares(v) => v,
        };
        if m.codes.len() != n {
            return Err(margin_error(
                m,
                format!("{} responses, the first margin has {n}", m.codes.len()),
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
        let mut counts = vec![0u64; m.categories.len()];
        for &code in &m.codes {
            match counts.get_mut(code as usize) {
                Some(c) => *c = c.saturating_add(1),
                None => {
                    return Err(margin_error(
                        m,
                        format!("category code {code} out of range"),
                    ));
                }
            }
        }
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

/// Weighted total of each category.
fn category_totals(weights: &[f64], codes: &[u32], k: usize) -> Vec<f64> {
    let mut sums = Vec::new();
    category_totals_into(&mut sums, weights, codes, k);
    sums
}

/// [`category_totals`] into a reused buffer (the sweeps run it thousands of times).
fn category_totals_into(sums: &mut Vec<f64>, weights: &[f64], codes: &[u32], k: usize) {
    sums.clear();
    sums.resize(k, 0.0);
    for (w, &c) in weights.iter().zip(codes) {
        if let Some(s) = sums.get_mut(c as usize) {
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
    targets: &[Vec<f64>],
    options: &RakeOptions,
) -> Result<u32, RakeError> {
    let (done, converged) = sweep(weights, margins, targets, options);
    if converged {
        return Ok(done);
    }
    let margins_report = report(weights, margins, targets);
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
            category_totals_into(&mut sums, weights, &m.codes, target.len());
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
    let met = max_error(&report(weights, margins, targets)) < options.tolerance;
    (done, met)
}

/// Clamps weights to `[lower, upper] × mean`, the mean of weights summing to `total`,
/// and gives what the clamp took or added to the weights not clamped, in proportion, so
/// the total is kept (R `survey::trimWeights(..., strict = TRUE)`); how many were
/// clamped. A redistributed weight may cross a bound in turn: it is clamped in the next
/// pass, and a clamped weight stays clamped, so at most one pass per weight is needed.
fn trim(weights: &mut [f64], lower: f64, upper: f64, total: f64) -> u64 {
    let mean = total / weights.len().max(1) as f64;
    let (lo, hi) = (lower * mean, upper * mean);
    // A weight a rounding error outside a bound is not worth another pass.
    let slack = 1e-9 * mean;
    let mut clamped = vec![false; weights.len()];
    for _ in 0..=weights.len() {
        let mut moved = false;
        for (w, c) in weights.iter_mut().zip(&mut clamped) {
            if *w < lo - slack || *w > hi + slack {
                *w = w.clamp(lo, hi);
                *c = true;
                moved = true;
            }
        }
        let (fixed, free) =
            weights.iter().zip(&clamped).fold(
                (0.0, 0.0),
                |(f, u), (w, c)| if *c { (f + w, u) } else { (f, u + w) },
            );
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
    let sum: f64 = weights.iter().sum();
    if (sum - total).abs() > 1e-9 * total.abs().max(1.0) {
        let raise = sum < total;
        let movable = |w: f64| {
            if raise {
                w <= lo + slack
            } else {
                w >= hi - slack
            }
        };
        let (moved_sum, count) = weights
            .iter()
            .filter(|w| movable(**w))
            .fold((0.0, 0usize), |(s, n), w| (s + w, n.saturating_add(1)));
        if count > 0 {
            let each = ((total - (sum - moved_sum)) / count as f64).clamp(lo, hi);
            weights
                .iter_mut()
                .filter(|w| movable(**w))
                .for_each(|w| *w = each);
        }
    }
    clamped.iter().filter(|c| **c).count() as u64
}

fn report(weights: &[f64], margins: &[Margin], targets: &[Vec<f64>]) -> Vec<MarginReport> {
    margins
        .iter()
        .zip(targets)
        .map(|(m, target)| {
            let sums = category_totals(weights, &m.codes, target.len());
            let mut counts = vec![0u64; target.len()];
            for &c in &m.codes {
                if let Some(n) = counts.get_mut(c as usize) {
                    *n = n.saturating_add(1);
                }
            }
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
