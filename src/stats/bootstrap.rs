//! Percentile bootstrap confidence interval of a mean, reproducible through an
//! explicit seed.
//!
//! The bootstrap is used for spend averages because spend answers are skewed
//! and banded, so a normal-theory interval (mean ± t·s/√n) is not trusted for
//! the small groups of a survey breakdown.
//!
//! Reproducibility: the generator is `ChaCha8Rng::seed_from_u64(seed)` and the
//! data are read in the order given, so the same seed, data (in the same
//! order) and resample count give bit-identical output. The stream is that of
//! rand 0.9 / rand_chacha 0.9; a future major upgrade of those crates may
//! change the numbers (not their validity).

use rand::SeedableRng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Binomial, Distribution};
use serde::Serialize;

/// Data with at most this many distinct values (the banded answers of a survey) is
/// resampled through multinomial counts instead of one draw per observation.
const MAX_DISTINCT_FOR_COUNTS: usize = 64;

/// Default number of bootstrap resamples (B).
pub const DEFAULT_RESAMPLES: usize = 2000;

/// Mean of a sample with its percentile bootstrap confidence interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BootstrapCi {
    /// Number of observations.
    pub n: usize,
    /// Sample mean.
    pub mean: f64,
    /// Confidence interval of the mean as `(low, high)`.
    pub ci: (f64, f64),
    /// Confidence level of `ci`, e.g. 0.95.
    pub confidence: f64,
    /// Number of resamples used (B).
    pub resamples: usize,
    /// Seed of the ChaCha8 generator.
    pub seed: u64,
}

/// Arithmetic mean; `None` for empty input or a non-finite result (an
/// overflowing sum of huge values would otherwise become ±∞).
fn mean(data: impl Iterator<Item = f64> + Clone) -> Option<f64> {
    let n = data.clone().count();
    if n == 0 {
        return None;
    }
    let m = data.sum::<f64>() / n as f64;
    m.is_finite().then_some(m)
}

/// Quantile of sorted data by linear interpolation between order statistics
/// (Hyndman–Fan type 7, the default of R and NumPy), chosen so results can be
/// checked against those tools. `p` must be in [0, 1]; `None` on empty data.
pub(crate) fn quantile_sorted(sorted: &[f64], p: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let h = last as f64 * p.clamp(0.0, 1.0);
    // h is within [0, last], so the casts cannot truncate out of range.
    let below = h.floor() as usize;
    let above = h.ceil() as usize;
    let lo = *sorted.get(below)?;
    let hi = *sorted.get(above)?;
    Some(lo + (h - below as f64) * (hi - lo))
}

/// The distinct values of `data` with their counts, in ascending order, when there are
/// at most [`MAX_DISTINCT_FOR_COUNTS`] of them.
fn distinct_counts(data: impl Iterator<Item = f64>) -> Option<Vec<(f64, u64)>> {
    let mut values: Vec<(f64, u64)> = Vec::new();
    for x in data {
        match values.binary_search_by(|(v, _)| v.total_cmp(&x)) {
            Ok(i) => {
                if let Some((_, c)) = values.get_mut(i) {
                    *c = c.saturating_add(1);
                }
            }
            Err(i) => {
                if values.len() >= MAX_DISTINCT_FOR_COUNTS {
                    return None;
                }
                values.insert(i, (x, 1));
            }
        }
    }
    Some(values)
}

/// Bootstrap means drawn as multinomial counts over the distinct values: a resample
/// of n observations from k distinct values is fully described by how many times
/// each value was drawn, Multinomial(n; p₁…p_k), sampled as a chain of binomials
/// (count of value i ~ Binomial(remaining, pᵢ / (pᵢ + … + p_k))). Exactly the
/// distribution of the one-draw-per-observation bootstrap, in O(k) per resample
/// instead of O(n): 200,000 answers with B = 2000 take milliseconds, not seconds.
fn multinomial_means(
    values: &[(f64, u64)],
    n: usize,
    resamples: usize,
    rng: &mut ChaCha8Rng,
) -> Vec<f64> {
    let total = n as f64;
    let mut means = Vec::with_capacity(resamples);
    for _ in 0..resamples {
        let mut remaining = n as u64;
        let mut rest = total;
        let mut sum = 0.0;
        for &(value, count) in values {
            if remaining == 0 {
                break;
            }
            let c = count as f64;
            let p = if rest > c { c / rest } else { 1.0 };
            let drawn =
                Binomial::new(remaining, p.clamp(0.0, 1.0)).map_or(remaining, |b| b.sample(rng));
            sum += value * drawn as f64;
            remaining = remaining.saturating_sub(drawn);
            rest -= c;
        }
        means.push(sum / total);
    }
    means
}

/// The means of `resamples` bootstrap resamples of `data`, in draw order; `None` for
/// empty data, a non-finite value or no resamples. The stream is the one
/// [`bootstrap_mean_ci`] draws with the same seed, so a quantity computed from these
/// means (the store's potential) agrees with the mean's interval.
pub fn bootstrap_means(data: &[f64], resamples: usize, seed: u64) -> Option<Vec<f64>> {
    bootstrap_means_of(data.iter().copied(), resamples, seed)
}

/// [`bootstrap_means`] of data given one by one, in order: banded data (at most
/// [`MAX_DISTINCT_FOR_COUNTS`] distinct values) is counted, not kept, so a caller that
/// looks its values up need not hold one per respondent.
pub fn bootstrap_means_of(
    data: impl Iterator<Item = f64> + Clone,
    resamples: usize,
    seed: u64,
) -> Option<Vec<f64>> {
    let n = data.clone().count();
    if resamples == 0 || n == 0 || data.clone().any(|x| !x.is_finite()) {
        return None;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Some(match distinct_counts(data.clone()) {
        Some(values) => multinomial_means(&values, n, resamples, &mut rng),
        None => {
            let data: Vec<f64> = data.collect();
            let mut means = Vec::with_capacity(resamples);
            for _ in 0..resamples {
                // `choose` returns None only for an empty slice, excluded above.
                let sum: f64 = (0..data.len()).filter_map(|_| data.choose(&mut rng)).sum();
                means.push(sum / data.len() as f64);
            }
            means
        }
    })
}

/// The (1−c)/2 and (1+c)/2 quantiles of bootstrap values; `None` when empty or when a
/// bound is not finite (amounts near f64::MAX can overflow inside a resample).
pub fn percentile_interval(mut values: Vec<f64>, confidence: f64) -> Option<(f64, f64)> {
    values.sort_by(f64::total_cmp);
    let alpha = 1.0 - confidence;
    let lo = quantile_sorted(&values, alpha / 2.0)?;
    let hi = quantile_sorted(&values, 1.0 - alpha / 2.0)?;
    (lo.is_finite() && hi.is_finite()).then_some((lo, hi))
}

/// Percentile bootstrap CI of the mean of `data`.
///
/// Draws `resamples` samples of size n with replacement, takes each sample's
/// mean, and returns the (1−c)/2 and (1+c)/2 quantiles of those means, where
/// c = `confidence` (e.g. 0.95).
///
/// Returns `None` when `data` is empty, contains a NaN or infinite value,
/// `resamples` is 0, or `confidence` is not strictly between 0 and 1. With a
/// single observation (or constant data) the interval has zero width.
pub fn bootstrap_mean_ci(
    data: &[f64],
    resamples: usize,
    confidence: f64,
    seed: u64,
) -> Option<BootstrapCi> {
    bootstrap_mean_ci_of(data.iter().copied(), resamples, confidence, seed)
}

/// [`bootstrap_mean_ci`] of data given one by one, in order (see [`bootstrap_means_of`]).
pub fn bootstrap_mean_ci_of(
    data: impl Iterator<Item = f64> + Clone,
    resamples: usize,
    confidence: f64,
    seed: u64,
) -> Option<BootstrapCi> {
    if resamples == 0
        || !(confidence.is_finite() && confidence > 0.0 && confidence < 1.0)
        || data.clone().any(|x| !x.is_finite())
    {
        return None;
    }
    let point = mean(data.clone())?;
    let (lo, hi) = percentile_interval(
        bootstrap_means_of(data.clone(), resamples, seed)?,
        confidence,
    )?;
    Some(BootstrapCi {
        n: data.count(),
        mean: point,
        ci: (lo, hi),
        confidence,
        resamples,
        seed,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    // Skewed spend-like data; mean by hand = 9600 / 12 = 800.
    const DATA: [f64; 12] = [
        250.0, 250.0, 750.0, 750.0, 750.0, 750.0, 1250.0, 1250.0, 750.0, 250.0, 2000.0, 600.0,
    ];

    #[test]
    fn mean_and_interval_contain_mean() {
        let r = bootstrap_mean_ci(&DATA, DEFAULT_RESAMPLES, 0.95, 42).unwrap();
        assert_eq!(r.n, 12);
        assert!((r.mean - 800.0).abs() < 1e-9);
        let (lo, hi) = r.ci;
        assert!(lo < r.mean && r.mean < hi, "{lo} {} {hi}", r.mean);
        // Bootstrap means lie within the data range.
        assert!(lo >= 250.0 && hi <= 2000.0);
        // Sanity bound on width: the normal-theory half-width is
        // 1.96 · s/√n with s ≈ 505 (by hand), ≈ 286; the bootstrap one should
        // be of the same order.
        let half = (hi - lo) / 2.0;
        assert!(half > 150.0 && half < 400.0, "half-width {half}");
    }

    #[test]
    fn same_seed_same_output() {
        let a = bootstrap_mean_ci(&DATA, 500, 0.95, 7).unwrap();
        let b = bootstrap_mean_ci(&DATA, 500, 0.95, 7).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.ci.0.to_bits(), b.ci.0.to_bits());
        assert_eq!(a.ci.1.to_bits(), b.ci.1.to_bits());
    }

    #[test]
    fn different_seed_different_output() {
        let a = bootstrap_mean_ci(&DATA, 500, 0.95, 7).unwrap();
        let b = bootstrap_mean_ci(&DATA, 500, 0.95, 8).unwrap();
        assert_eq!(a.mean, b.mean);
        assert_ne!(a.ci, b.ci);
    }

    #[test]
    fn degenerate_inputs() {
        assert_eq!(bootstrap_mean_ci(&[], 100, 0.95, 1), None);
        assert_eq!(bootstrap_mean_ci(&[1.0, f64::NAN], 100, 0.95, 1), None);
        assert_eq!(bootstrap_mean_ci(&[1.0, f64::INFINITY], 100, 0.95, 1), None);
        assert_eq!(bootstrap_mean_ci(&[1.0], 0, 0.95, 1), None);
        assert_eq!(bootstrap_mean_ci(&[1.0], 10, f64::NAN, 1), None);
        assert_eq!(bootstrap_mean_ci(&[1.0], 10, 1.0, 1), None);
        // Sum overflows to infinity: refused rather than reported as ∞.
        assert_eq!(bootstrap_mean_ci(&[f64::MAX, f64::MAX], 10, 0.95, 1), None);
        // Finite mean but overflowing resamples: refused, not NaN.
        assert_eq!(bootstrap_mean_ci(&[f64::MAX, 0.0], 200, 0.95, 1), None);

        let one = bootstrap_mean_ci(&[5.0], 10, 0.95, 1).unwrap();
        assert_eq!((one.mean, one.ci), (5.0, (5.0, 5.0)));
        let constant = bootstrap_mean_ci(&[3.0; 7], 10, 0.95, 1).unwrap();
        assert_eq!(constant.ci, (3.0, 3.0));
    }

    #[test]
    fn counts_path_matches_the_direct_bootstrap() {
        // 3 distinct values (count path) against the same data made distinct by tiny
        // offsets (direct path, > 64 distinct values): the intervals must agree to
        // within resampling noise.
        let banded: Vec<f64> = [150.0, 450.0, 1250.0]
            .into_iter()
            .cycle()
            .take(300)
            .collect();
        let jittered: Vec<f64> = banded
            .iter()
            .enumerate()
            .map(|(i, x)| x + i as f64 * 1e-9)
            .collect();
        assert!(distinct_counts(banded.iter().copied()).is_some());
        assert!(distinct_counts(jittered.iter().copied()).is_none());
        let a = bootstrap_mean_ci(&banded, 4000, 0.95, 3).unwrap();
        let b = bootstrap_mean_ci(&jittered, 4000, 0.95, 3).unwrap();
        // Normal theory: s ≈ 462, se ≈ 26.7, half-width ≈ 52.
        for (x, y) in [(a.ci.0, b.ci.0), (a.ci.1, b.ci.1)] {
            assert!((x - y).abs() < 8.0, "{x} vs {y}");
        }
        assert!(((a.ci.1 - a.ci.0) / 2.0 - 52.3).abs() < 6.0, "{:?}", a.ci);
    }

    #[test]
    fn type7_quantile() {
        // numpy.quantile([1, 2, 3, 4], 0.25) = 1.75 (linear, type 7).
        let q = quantile_sorted(&[1.0, 2.0, 3.0, 4.0], 0.25).unwrap();
        assert!((q - 1.75).abs() < 1e-12);
        assert_eq!(quantile_sorted(&[], 0.5), None);
        assert_eq!(quantile_sorted(&[9.0], 0.975), Some(9.0));
    }
}
