//! Estimates with weights (after raking): weighted share and mean, Kish's effective
//! sample size and design effect, a Wilson interval on the effective n, and a weighted
//! bootstrap interval of a mean or a total.
//!
//! Unequal weights make an estimate less precise than the same number of equally
//! weighted answers: Kish (1965, "Survey Sampling", §11.7) measures it with
//! n_eff = (Σw)² / Σw² and deff = n / n_eff = 1 + CV(w)². Intervals for shares are the
//! Wilson interval computed on n_eff instead of n (as R `survey::svyciprop`'s "wilson"
//! method does with its design-based effective n), so they widen with the weights.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::bootstrap::quantile_sorted;
use super::proportion::two_sided_z;

/// The weights' effect on precision.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct WeightSummary {
    /// Number of responses.
    pub n: usize,
    /// Sum of the weights.
    pub total: f64,
    /// Kish's effective sample size, (Σw)² / Σw².
    pub n_eff: f64,
    /// Design effect of weighting, n / n_eff.
    pub deff: f64,
}

/// `None` unless every weight is finite and ≥ 0 and their sum is above 0.
pub fn weight_summary(weights: &[f64]) -> Option<WeightSummary> {
    weight_summary_of(weights.iter().copied())
}

/// [`weight_summary`] of weights given one by one (summed in that order), for a caller
/// that looks them up instead of keeping one per response.
pub fn weight_summary_of(weights: impl Iterator<Item = f64> + Clone) -> Option<WeightSummary> {
    if weights.clone().any(|w| !(w.is_finite() && w >= 0.0)) {
        return None;
    }
    let total: f64 = weights.clone().sum();
    let squares: f64 = weights.clone().map(|w| w * w).sum();
    if !(total > 0.0 && squares > 0.0 && total.is_finite() && squares.is_finite()) {
        return None;
    }
    let n = weights.count();
    let n_eff = total * total / squares;
    Some(WeightSummary {
        n,
        total,
        n_eff,
        deff: n as f64 / n_eff,
    })
}

/// Weighted mean Σwᵢyᵢ / Σwᵢ; `None` for mismatched lengths, invalid weights or values.
pub fn weighted_mean(values: &[f64], weights: &[f64]) -> Option<f64> {
    if values.len() != weights.len() {
        return None;
    }
    weighted_mean_of(values.iter().copied().zip(weights.iter().copied()))
}

/// [`weighted_mean`] of `(value, weight)` pairs given one by one.
pub fn weighted_mean_of(pairs: impl Iterator<Item = (f64, f64)> + Clone) -> Option<f64> {
    if pairs.clone().any(|(y, _)| !y.is_finite()) {
        return None;
    }
    let s = weight_summary_of(pairs.clone().map(|(_, w)| w))?;
    let m = pairs.map(|(y, w)| y * w).sum::<f64>() / s.total;
    m.is_finite().then_some(m)
}

/// A weighted share with its interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct WeightedShare {
    /// Σ wᵢ over the responses with the trait / Σ wᵢ, in [0, 1].
    pub share: f64,
    /// Unweighted share, for showing side by side.
    pub unweighted: f64,
    pub weights: WeightSummary,
    /// Wilson interval on n_eff, as fractions.
    pub ci: (f64, f64),
    pub confidence: f64,
}

/// Wilson score interval of a share `p` observed on `n` (possibly fractional, an
/// effective n) answers. `None` unless 0 ≤ p ≤ 1, n > 0 and 0 < confidence < 1.
pub fn wilson_on(p: f64, n: f64, confidence: f64) -> Option<(f64, f64)> {
    if !((0.0..=1.0).contains(&p) && n.is_finite() && n > 0.0) {
        return None;
    }
    let z = two_sided_z(confidence)?;
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = z / denom * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    let lo = if p == 0.0 {
        0.0
    } else {
        (centre - half).clamp(0.0, 1.0)
    };
    let hi = if p == 1.0 {
        1.0
    } else {
        (centre + half).clamp(0.0, 1.0)
    };
    Some((lo, hi))
}

/// The weighted share of the responses where `flags` is true, with its Wilson interval
/// on the effective n.
pub fn weighted_share(flags: &[bool], weights: &[f64], confidence: f64) -> Option<WeightedShare> {
    if flags.len() != weights.len() {
        return None;
    }
    weighted_share_of(
        flags.iter().copied().zip(weights.iter().copied()),
        confidence,
    )
}

/// [`weighted_share`] of `(flag, weight)` pairs given one by one.
pub fn weighted_share_of(
    pairs: impl Iterator<Item = (bool, f64)> + Clone,
    confidence: f64,
) -> Option<WeightedShare> {
    let s = weight_summary_of(pairs.clone().map(|(_, w)| w))?;
    let yes: f64 = pairs.clone().filter(|(f, _)| *f).map(|(_, w)| w).sum();
    let share = (yes / s.total).clamp(0.0, 1.0);
    let unweighted = pairs.filter(|(f, _)| *f).count() as f64 / s.n as f64;
    Some(WeightedShare {
        share,
        unweighted,
        weights: s,
        ci: wilson_on(share, s.n_eff, confidence)?,
        confidence,
    })
}

/// What a weighted bootstrap estimates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Statistic {
    /// Σwy / Σw.
    Mean,
    /// Σwy: the population total when the weights sum to the population.
    Total,
}

/// A weighted estimate with its percentile bootstrap interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeightedBootstrapCi {
    pub statistic: Statistic,
    pub estimate: f64,
    pub ci: (f64, f64),
    pub confidence: f64,
    pub resamples: usize,
    pub seed: u64,
    pub weights: WeightSummary,
}

/// The statistic over the responses `picks` yields, each `(value, weight)` looked up
/// by `item`; sums in the order of `picks`.
fn estimate(
    statistic: Statistic,
    item: &impl Fn(usize) -> Option<(f64, f64)>,
    picks: impl Iterator<Item = usize>,
) -> f64 {
    let (mut wy, mut w) = (0.0, 0.0);
    for i in picks {
        if let Some((y, wi)) = item(i) {
            wy += y * wi;
            w += wi;
        }
    }
    match statistic {
        Statistic::Mean if w > 0.0 => wy / w,
        Statistic::Mean => f64::NAN,
        Statistic::Total => wy,
    }
}

/// Percentile bootstrap of a weighted mean or total: `resamples` times, draw n responses
/// with replacement, each carrying its weight, and recompute the statistic. The weights
/// are not raked again in each replicate (the quick version; raking each replicate also
/// counts the variability of the weights and gives somewhat wider intervals).
///
/// `None` for mismatched lengths, invalid values or weights, no resamples, or a
/// confidence not strictly between 0 and 1. Same seed and data, same output (ChaCha8).
pub fn weighted_bootstrap_ci(
    values: &[f64],
    weights: &[f64],
    statistic: Statistic,
    resamples: usize,
    confidence: f64,
    seed: u64,
) -> Option<WeightedBootstrapCi> {
    if values.len() != weights.len() {
        return None;
    }
    weighted_bootstrap_ci_by(
        values.len(),
        |i| values.get(i).copied().zip(weights.get(i).copied()),
        statistic,
        resamples,
        confidence,
        seed,
    )
}

/// [`weighted_bootstrap_ci`] of `n` responses whose `(value, weight)` the caller looks
/// up by index (`item(i)` for every `i < n`), so that it need not keep two numbers per
/// response: same seed and data, the same draws and sums, so the same output.
pub fn weighted_bootstrap_ci_by(
    n: usize,
    item: impl Fn(usize) -> Option<(f64, f64)>,
    statistic: Statistic,
    resamples: usize,
    confidence: f64,
    seed: u64,
) -> Option<WeightedBootstrapCi> {
    let all = || (0..n).filter_map(&item);
    if resamples == 0 || all().count() != n || all().any(|(y, _)| !y.is_finite()) {
        return None;
    }
    let summary = weight_summary_of(all().map(|(_, w)| w))?;
    let point = estimate(statistic, &item, 0..n);
    if !point.is_finite() {
        return None;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut stats = Vec::with_capacity(resamples);
    for _ in 0..resamples {
        // Drawn as the statistic sums them: the same stream as drawing all n first.
        let picks = (0..n).map(|_| rng.random_range(0..n));
        let s = estimate(statistic, &item, picks);
        if s.is_finite() {
            stats.push(s);
        }
    }
    stats.sort_by(f64::total_cmp);
    let alpha = 1.0 - two_sided_z(confidence).map(|_| confidence)?;
    let lo = quantile_sorted(&stats, alpha / 2.0)?;
    let hi = quantile_sorted(&stats, 1.0 - alpha / 2.0)?;
    Some(WeightedBootstrapCi {
        statistic,
        estimate: point,
        ci: (lo, hi),
        confidence,
        resamples,
        seed,
        weights: summary,
    })
}

/// Responses of one weight: how many, and the sums of their values and squared values.
/// Raking gives every response of a raking cell (bairro × sex × age band) the same
/// weight, so a weighted mean and its variance need only these sums per cell.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Moments {
    pub n: u64,
    pub sum: f64,
    pub sum2: f64,
}

impl Moments {
    /// `count` responses of value `y`.
    pub fn add_many(&mut self, y: f64, count: u64) {
        let c = count as f64;
        self.n = self.n.saturating_add(count);
        self.sum += y * c;
        self.sum2 += y * y * c;
    }
}

/// A weighted mean with its linearization interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct WeightedMeanCi {
    pub mean: f64,
    /// Normal interval on the linearized standard error.
    pub ci: (f64, f64),
    /// Responses behind it.
    pub n: u64,
    /// Kish's effective n, (Σw)² / Σw².
    pub n_eff: f64,
}

/// The weighted mean ȳ = Σwy / Σw of groups of equal weight (`(w, moments)`), with the
/// Taylor-linearized variance of a ratio estimator under with-replacement sampling,
/// v(ȳ) = n/(n−1) · Σ wᵢ²(yᵢ − ȳ)² / (Σw)², the one R `survey::svymean` gives for a
/// design with weights only (Lumley 2010, "Complex Surveys", §2.2 and §3.1). The sum
/// expands per group as w²(Σy² − 2ȳΣy + ȳ²n). `None` with fewer than two responses or
/// no positive weight.
pub fn weighted_mean_ci(
    groups: impl IntoIterator<Item = (f64, Moments)> + Clone,
    confidence: f64,
) -> Option<WeightedMeanCi> {
    let (mut n, mut sw, mut sw2, mut swy) = (0u64, 0.0f64, 0.0f64, 0.0f64);
    for (w, m) in groups.clone() {
        if !(w.is_finite() && w > 0.0) || m.n == 0 {
            continue;
        }
        n = n.saturating_add(m.n);
        sw += w * m.n as f64;
        sw2 += w * w * m.n as f64;
        swy += w * m.sum;
    }
    if n < 2 || sw <= 0.0 {
        return None;
    }
    let mean = swy / sw;
    let mut spread = 0.0;
    for (w, m) in groups {
        if !(w.is_finite() && w > 0.0) || m.n == 0 {
            continue;
        }
        let ss = (m.sum2 - 2.0 * mean * m.sum + mean * mean * m.n as f64).max(0.0);
        spread += w * w * ss;
    }
    let nf = n as f64;
    let se = (nf / (nf - 1.0) * spread).sqrt() / sw;
    let z = two_sided_z(confidence)?;
    (mean.is_finite() && se.is_finite()).then_some(WeightedMeanCi {
        mean,
        ci: (mean - z * se, mean + z * se),
        n,
        n_eff: sw * sw / sw2,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::stats::wilson_interval;

    #[test]
    fn kish_effective_n_and_design_effect() {
        // By hand: Σw = 6, Σw² = 10, n_eff = 36 / 10 = 3.6, deff = 4 / 3.6 = 1.111…,
        // and 1 + CV² with CV² = var / mean² = 0.25 / 2.25 (population variance) = 1.111….
        let s = weight_summary(&[1.0, 1.0, 2.0, 2.0]).unwrap();
        assert!((s.n_eff - 3.6).abs() < 1e-12);
        assert!((s.deff - 1.0 / 0.9).abs() < 1e-12);
        let equal = weight_summary(&[3.0; 10]).unwrap();
        assert!((equal.n_eff - 10.0).abs() < 1e-12 && (equal.deff - 1.0).abs() < 1e-12);
        assert_eq!(weight_summary(&[]), None);
        assert_eq!(weight_summary(&[1.0, -1.0]), None);
        assert_eq!(weight_summary(&[0.0, 0.0]), None);
        assert_eq!(weight_summary(&[1.0, f64::NAN]), None);
    }

    #[test]
    fn wilson_on_the_effective_n() {
        // Newcombe (1998), Statistics in Medicine 17:857–872, Table I: 81 of 263, Wilson
        // score interval 0.2553 to 0.3662. With equal weights n_eff = n, the same interval.
        let flags: Vec<bool> = (0..263).map(|i| i < 81).collect();
        let s = weighted_share(&flags, &[2.5; 263], 0.95).unwrap();
        assert!(
            (s.ci.0 - 0.2553).abs() < 5e-5 && (s.ci.1 - 0.3662).abs() < 5e-5,
            "{s:?}"
        );
        let exact = wilson_interval(81, 263, 0.95).unwrap();
        assert!((s.ci.0 - exact.0).abs() < 1e-12 && (s.ci.1 - exact.1).abs() < 1e-12);
        // Unequal weights: same share, smaller n_eff, a wider interval.
        let weights: Vec<f64> = (0..263)
            .map(|i| if i % 2 == 0 { 1.0 } else { 3.0 })
            .collect();
        let flags: Vec<bool> = (0..263).map(|i| i % 263 < 81).collect();
        let u = weighted_share(&flags, &weights, 0.95).unwrap();
        assert!(u.weights.n_eff < 263.0);
        assert!(u.ci.1 - u.ci.0 > exact.1 - exact.0);
        assert_eq!(wilson_on(0.0, 10.0, 0.95).unwrap().0, 0.0);
        assert_eq!(wilson_on(1.0, 10.0, 0.95).unwrap().1, 1.0);
        assert_eq!(wilson_on(0.5, 0.0, 0.95), None);
    }

    #[test]
    fn weighted_mean_and_bootstrap() {
        let y = [10.0, 20.0, 30.0, 40.0];
        let w = [1.0, 1.0, 1.0, 3.0];
        // (10 + 20 + 30 + 120) / 6 = 30.
        assert_eq!(weighted_mean(&y, &w), Some(30.0));
        assert_eq!(weighted_mean(&y, &w[..3]), None);
        let values: Vec<f64> = (0..200).map(|i| f64::from(i % 10) * 100.0).collect();
        let weights: Vec<f64> = (0..200).map(|i| 1.0 + f64::from(i % 3)).collect();
        let m = weighted_bootstrap_ci(&values, &weights, Statistic::Mean, 1000, 0.95, 7).unwrap();
        assert!((m.estimate - weighted_mean(&values, &weights).unwrap()).abs() < 1e-9);
        assert!(m.ci.0 < m.estimate && m.estimate < m.ci.1, "{m:?}");
        // Normal theory with n_eff: sd ≈ 287, n_eff ≈ 171, half-width ≈ 1.96·287/√171 ≈ 43.
        let half = (m.ci.1 - m.ci.0) / 2.0;
        assert!(half > 30.0 && half < 56.0, "{half}");
        let again = weighted_bootstrap_ci(&values, &weights, Statistic::Mean, 1000, 0.95, 7);
        assert_eq!(again.as_ref(), Some(&m), "same seed, same interval");
        let t = weighted_bootstrap_ci(&values, &weights, Statistic::Total, 500, 0.95, 7).unwrap();
        let total: f64 = values.iter().zip(&weights).map(|(y, w)| y * w).sum();
        assert!((t.estimate - total).abs() < 1e-6);
        assert!(t.ci.0 < total && total < t.ci.1);
        assert_eq!(
            weighted_bootstrap_ci(&values, &weights, Statistic::Mean, 0, 0.95, 7),
            None
        );
        assert_eq!(
            weighted_bootstrap_ci(&values, &weights, Statistic::Mean, 10, 1.0, 7),
            None
        );
    }

    #[test]
    fn linearized_weighted_mean_interval() {
        // Equal weights: the textbook interval ȳ ± z·s/√n with the sample standard
        // deviation (n − 1): values 1..=10, mean 5.5, s = 3.02765, s/√10 = 0.957427.
        let mut m = Moments::default();
        for y in 1..=10 {
            m.add_many(f64::from(y), 1);
        }
        let e = weighted_mean_ci([(2.0, m)], 0.95).unwrap();
        assert!((e.mean - 5.5).abs() < 1e-12);
        let half = (e.ci.1 - e.ci.0) / 2.0;
        assert!((half - 1.959964 * 0.957427).abs() < 1e-5, "{half}");
        assert!((e.n_eff - 10.0).abs() < 1e-12);
        // Unequal weights, as groups, against the same formula unit by unit.
        let units: Vec<(f64, f64)> = (0..40)
            .map(|i| (1.0 + f64::from(i % 3), f64::from((i * 7) % 11)))
            .collect();
        let mut groups: Vec<(f64, Moments)> = Vec::new();
        for (w, y) in &units {
            match groups.iter_mut().find(|(gw, _)| gw == w) {
                Some((_, g)) => g.add_many(*y, 1),
                None => {
                    let mut g = Moments::default();
                    g.add_many(*y, 1);
                    groups.push((*w, g));
                }
            }
        }
        let sw: f64 = units.iter().map(|(w, _)| w).sum();
        let mean = units.iter().map(|(w, y)| w * y).sum::<f64>() / sw;
        let v = 40.0 / 39.0
            * units
                .iter()
                .map(|(w, y)| (w * (y - mean) / sw).powi(2))
                .sum::<f64>();
        let e = weighted_mean_ci(groups.clone(), 0.95).unwrap();
        assert!((e.mean - mean).abs() < 1e-12);
        assert!(((e.ci.1 - e.mean) - 1.959964 * v.sqrt()).abs() < 1e-5);
        assert!(e.n_eff < 40.0);
        assert_eq!(weighted_mean_ci([(1.0, Moments::default())], 0.95), None);
    }
}
