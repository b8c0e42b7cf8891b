//! Proportions: the Wilson score interval and a per-category distribution
//! table (count, share in %, 95% Wilson interval in %).
//!
//! The Wilson interval is used instead of the textbook Wald interval
//! (p ± z·√(p(1−p)/n)) because survey cells are often small or have shares
//! near 0 % or 100 %, where the Wald interval collapses to zero width or leaves
//! [0, 1]; Wilson stays inside [0, 1] and keeps close to its nominal coverage.

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal};

/// Confidence level used by [`Distribution`] for its intervals.
pub const DISTRIBUTION_CONFIDENCE: f64 = 0.95;

/// Two-sided standard-normal quantile z such that P(|Z| ≤ z) = `confidence`.
///
/// Returns `None` unless `confidence` is a finite number strictly between 0
/// and 1: statrs' `inverse_cdf` panics outside [0, 1] (and on NaN), and the
/// end points 0 and 1 give z = 0 or z = ∞, which are not usable intervals.
pub(crate) fn two_sided_z(confidence: f64) -> Option<f64> {
    if !(confidence.is_finite() && confidence > 0.0 && confidence < 1.0) {
        return None;
    }
    let normal = Normal::new(0.0, 1.0).ok()?;
    let z = normal.inverse_cdf(1.0 - (1.0 - confidence) / 2.0);
    z.is_finite().then_some(z)
}

/// Wilson score interval for a binomial proportion, as fractions in [0, 1].
///
/// `successes` out of `n` trials, two-sided at `confidence` (e.g. `0.95`).
/// Returns `None` when `n == 0`, when `successes > n`, or when `confidence`
/// is not strictly between 0 and 1 (including NaN).
///
/// Formula (Wilson 1927), with p̂ = successes / n and z the two-sided normal
/// quantile: centre = (p̂ + z²/2n) / (1 + z²/n),
/// half-width = z / (1 + z²/n) · √(p̂(1−p̂)/n + z²/4n²).
pub fn wilson_interval(successes: u64, n: u64, confidence: f64) -> Option<(f64, f64)> {
    if n == 0 || successes > n {
        return None;
    }
    let z = two_sided_z(confidence)?;
    // u64 → f64 is exact up to 2^53, far beyond any survey size.
    let n_f = n as f64;
    let p = successes as f64 / n_f;
    let z2 = z * z;
    let denom = 1.0 + z2 / n_f;
    let centre = (p + z2 / (2.0 * n_f)) / denom;
    let half = z / denom * (p * (1.0 - p) / n_f + z2 / (4.0 * n_f * n_f)).sqrt();
    // At p̂ = 0 (or 1) the lower (upper) bound is exactly 0 (1), but the
    // subtraction leaves a rounding residue of ~1e-17; set it exactly. The
    // clamp guards the other bound against rounding just outside [0, 1].
    let lo = if successes == 0 {
        0.0
    } else {
        (centre - half).clamp(0.0, 1.0)
    };
    let hi = if successes == n {
        1.0
    } else {
        (centre + half).clamp(0.0, 1.0)
    };
    Some((lo, hi))
}

/// One row of a [`Distribution`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoryShare {
    /// Category label as given by the caller (e.g. an answer option).
    pub category: String,
    /// Number of answers in this category.
    pub count: u64,
    /// Share of the total, in percent (0–100); `None` when the total is 0.
    pub share_pct: Option<f64>,
    /// 95% Wilson interval of the share, in percent, as `(low, high)`;
    /// `None` when the total is 0.
    pub ci95_pct: Option<(f64, f64)>,
}

/// Frequency table of a single-choice question: per category the count, the
/// share in percent and its 95% Wilson interval, plus the total.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Distribution {
    /// Sum of all category counts (the base of the percentages).
    pub total: u64,
    /// One entry per input category, in the input order.
    pub categories: Vec<CategoryShare>,
}

impl Distribution {
    /// Builds the table from `(category, count)` pairs, keeping their order.
    ///
    /// Categories with a zero count are kept (they show as 0 % with a
    /// non-trivial upper bound, which is informative). When every count is 0
    /// the shares and intervals are `None` rather than NaN. The total uses a
    /// saturating sum so absurd inputs cannot overflow-panic.
    pub fn from_counts(counts: Vec<(String, u64)>) -> Self {
        let total = counts
            .iter()
            .fold(0u64, |acc, (_, c)| acc.saturating_add(*c));
        let categories = counts
            .into_iter()
            .map(|(category, count)| {
                // Only a saturated total can be smaller than a count; min()
                // keeps successes ≤ n so the interval stays defined.
                let successes = count.min(total);
                let share_pct = (total > 0).then(|| successes as f64 / total as f64 * 100.0);
                let ci95_pct = wilson_interval(successes, total, DISTRIBUTION_CONFIDENCE)
                    .map(|(lo, hi)| (lo * 100.0, hi * 100.0));
                CategoryShare {
                    category,
                    count,
                    share_pct,
                    ci95_pct,
                }
            })
            .collect();
        Distribution { total, categories }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    // Reference values computed by hand from the Wilson formula with
    // z = 1.959964 (z² = 3.841459):
    //   8/10:  denom = 1.3841459, centre = 0.99207/1.3841459 = 0.716735,
    //          half = 1.959964·√(0.016 + 0.0096036)/1.3841459 = 0.226576
    //          → (0.49016, 0.94331); matches the textbook value (0.4902, 0.9433).
    //   0/20:  lo = 0, hi = (z²/20)/(1 + z²/20) = 0.192073/1.192073 = 0.161125.
    //   20/20: mirror image of 0/20 → (0.838875, 1).
    #[test]
    fn wilson_8_of_10() {
        let (lo, hi) = wilson_interval(8, 10, 0.95).unwrap();
        assert!(close(lo, 0.49016, 1e-4), "lo = {lo}");
        assert!(close(hi, 0.94331, 1e-4), "hi = {hi}");
    }

    #[test]
    fn wilson_0_of_20() {
        let (lo, hi) = wilson_interval(0, 20, 0.95).unwrap();
        assert_eq!(lo, 0.0);
        assert!(close(hi, 0.161125, 1e-5), "hi = {hi}");
    }

    #[test]
    fn wilson_20_of_20() {
        let (lo, hi) = wilson_interval(20, 20, 0.95).unwrap();
        assert!(close(lo, 0.838875, 1e-5), "lo = {lo}");
        assert_eq!(hi, 1.0);
    }

    #[test]
    fn wilson_rejects_bad_input() {
        assert_eq!(wilson_interval(0, 0, 0.95), None);
        assert_eq!(wilson_interval(3, 2, 0.95), None);
        assert_eq!(wilson_interval(1, 2, f64::NAN), None);
        assert_eq!(wilson_interval(1, 2, 0.0), None);
        assert_eq!(wilson_interval(1, 2, 1.0), None);
        assert_eq!(wilson_interval(1, 2, 1.5), None);
        assert_eq!(wilson_interval(1, 2, -0.5), None);
        assert_eq!(wilson_interval(1, 2, f64::INFINITY), None);
    }

    #[test]
    fn z_for_95_percent() {
        // Standard table value z(0.975) = 1.959964.
        assert!(close(two_sided_z(0.95).unwrap(), 1.959964, 1e-6));
    }

    #[test]
    fn distribution_shares_and_intervals() {
        let d = Distribution::from_counts(vec![
            ("sim".to_string(), 8),
            ("não".to_string(), 2),
            ("talvez".to_string(), 0),
        ]);
        assert_eq!(d.total, 10);
        let sim = &d.categories[0];
        assert_eq!(sim.count, 8);
        assert!(close(sim.share_pct.unwrap(), 80.0, 1e-12));
        let (lo, hi) = sim.ci95_pct.unwrap();
        assert!(close(lo, 49.016, 1e-2) && close(hi, 94.331, 1e-2));
        // 2/10 is the mirror of 8/10.
        let (lo, hi) = d.categories[1].ci95_pct.unwrap();
        assert!(close(lo, 100.0 - 94.331, 1e-2) && close(hi, 100.0 - 49.016, 1e-2));
        let talvez = &d.categories[2];
        assert_eq!(talvez.share_pct, Some(0.0));
        assert_eq!(talvez.ci95_pct.unwrap().0, 0.0);
    }

    #[test]
    fn distribution_empty_and_all_zero() {
        let d = Distribution::from_counts(vec![]);
        assert_eq!(d.total, 0);
        assert!(d.categories.is_empty());

        let d = Distribution::from_counts(vec![("a".into(), 0), ("b".into(), 0)]);
        assert_eq!(d.total, 0);
        assert!(
            d.categories
                .iter()
                .all(|c| c.share_pct.is_none() && c.ci95_pct.is_none())
        );
    }

    #[test]
    fn distribution_saturating_total_does_not_panic() {
        let d = Distribution::from_counts(vec![("a".into(), u64::MAX), ("b".into(), 5)]);
        assert_eq!(d.total, u64::MAX);
        assert!(d.categories.iter().all(|c| c.share_pct.is_some()));
    }
}
