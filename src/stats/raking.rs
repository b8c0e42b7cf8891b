//! Raking (iterative proportional fitting): response weights adjusted until the weighted
//! sample matches known population margins (households per bairro, persons by sex, by
//! age band…), with weight trimming and a report of each margin, target against achieved.
//!
//! Algorithm (Deming and Stephan 1940; as R's `survey::rake` and `anesrake`): start from
//! the base weights; for each margin in turn, multiply each response's weight by
//! target / current weighted total of its category; sweep until every category of every
//! margin is within `tolerance` (relative) of its target. Trimming then clamps weights to
//! `[lower, upper] × mean weight` and rakes again, a few rounds, because a clamp moves
//! the margins away from their targets.
//!
//! Raking converges for any table without empty cells and for tables whose zeros allow a
//! joint distribution with the given margins (R `survey::rake` docs); a category with a
//! positive target and no respondent cannot be reached and is refused up front.

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
            max_trim_rounds: 10,
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
    /// Weights clamped in the last trimming round.
    pub trimmed: u64,
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

/// Rakes `base` weights (`None`: all 1) to `margins`. See the module doc for the method.
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
    let mut iterations = 0u32;
    let mut rounds = 0u32;
    let mut trimmed = 0u64;
    loop {
        rounds = rounds.saturating_add(1);
        let done = sweep_until_converged(&mut weights, margins, &targets, options)?;
        iterations = iterations.saturating_add(done);
        let Some((lower, upper)) = options.trim else {
            break;
        };
        let clamped = trim(&mut weights, lower, upper);
        if clamped == 0 {
            break;
        }
        trimmed = clamped;
        if rounds >= options.max_trim_rounds {
            // The clamp moved the margins: rake once more and keep the margins exact,
            // with weights slightly outside the bounds rather than margins missed.
            let done = sweep_until_converged(&mut weights, margins, &targets, options)?;
            iterations = iterations.saturating_add(done);
            break;
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
        max_relative_error,
        weight_range: (lo / mean, hi / mean),
        margins: margins_report,
    })
}

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
    let mut sums = vec![0.0; k];
    for (w, &c) in weights.iter().zip(codes) {
        if let Some(s) = sums.get_mut(c as usize) {
            *s += w;
        }
    }
    sums
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
    let mut done = 0u32;
    while done < options.max_iterations {
        done = done.saturating_add(1);
        let mut worst = 0.0f64;
        for (m, target) in margins.iter().zip(targets) {
            let sums = category_totals(weights, &m.codes, target.len());
            let factors: Vec<f64> = sums
                .iter()
                .zip(target)
                .map(|(s, t)| {
                    worst = worst.max(relative_error(*s, *t));
                    if *s > 0.0 { t / s } else { 1.0 }
                })
                .collect();
            for (w, &c) in weights.iter_mut().zip(&m.codes) {
                if let Some(f) = factors.get(c as usize) {
                    *w *= f;
                }
            }
        }
        // `worst` is measured before each margin's own adjustment: below the tolerance,
        // the sweep changed every weight by less than it, and the margins hold.
        if worst < options.tolerance {
            return Ok(done);
        }
    }
    let margins_report = report(weights, margins, targets);
    let max_relative_error = max_error(&margins_report);
    if max_relative_error < options.tolerance {
        return Ok(done);
    }
    Err(RakeError::NotConverged {
        iterations: done,
        max_relative_error,
        tolerance: options.tolerance,
        margins: margins_report,
    })
}

/// Clamps weights to `[lower, upper] × mean`; how many were clamped.
fn trim(weights: &mut [f64], lower: f64, upper: f64) -> u64 {
    let mean = weights.iter().sum::<f64>() / weights.len().max(1) as f64;
    let (lo, hi) = (lower * mean, upper * mean);
    // A weight a rounding error outside a bound is not worth another round.
    let slack = 1e-9 * mean;
    let mut clamped = 0u64;
    for w in weights.iter_mut() {
        if *w < lo - slack || *w > hi + slack {
            *w = w.clamp(lo, hi);
            clamped = clamped.saturating_add(1);
        }
    }
    clamped
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
        assert!(trimmed.max_relative_error < 1e-6, "margins still met");
        assert!(trimmed.weight_range.1 < untrimmed.weight_range.1);
        assert!(
            trimmed.weight_range.1 <= 1.8 + 0.05,
            "{:?}",
            trimmed.weight_range
        );
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
