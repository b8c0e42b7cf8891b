//! Pearson chi-square test of independence for an r×c contingency table of
//! counts (e.g. purchase intent × income class), with Cramér's V as the effect
//! size.
//!
//! No Yates continuity correction is applied, also for 2×2 tables, so the
//! statistic equals R's `chisq.test(x, correct = FALSE)` and
//! `scipy.stats.chi2_contingency(x, correction=False)`.
//!
//! Rows or columns whose counts are all zero (an answer option nobody chose)
//! have zero expected counts and would divide by zero; they are dropped before
//! testing, and the result lists which ones so the report can say so.

use serde::Serialize;
use statrs::distribution::{ChiSquared, ContinuousCDF};
use thiserror::Error;

/// Why a table could not be tested.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ChiSquareError {
    /// Rows of different lengths.
    #[error("row {row} has {found} columns, but row 0 has {expected}")]
    Ragged {
        /// Index of the first offending row.
        row: usize,
        /// Length of row 0.
        expected: usize,
        /// Length of the offending row.
        found: usize,
    },
    /// After dropping all-zero rows and columns, fewer than 2 remain.
    #[error(
        "need at least 2 non-empty rows and 2 non-empty columns, \
         got {rows} non-empty rows and {cols} non-empty columns"
    )]
    TooFewCategories {
        /// Non-empty rows.
        rows: usize,
        /// Non-empty columns.
        cols: usize,
    },
    /// The total count does not fit in a u64.
    #[error("the table total overflows a 64-bit count")]
    Overflow,
}

/// Result of the test. Cell-level fields (`expected`) refer to the reduced
/// table made of `kept_rows` × `kept_cols` of the input.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChiSquareResult {
    /// Pearson's X² = Σ (observed − expected)² / expected.
    pub statistic: f64,
    /// Degrees of freedom (r − 1)(c − 1) of the reduced table.
    pub df: u64,
    /// Upper-tail probability of `statistic` under χ²(df).
    pub p_value: f64,
    /// Expected counts under independence, row total × column total / n,
    /// for the reduced table (rows follow `kept_rows`, columns `kept_cols`).
    pub expected: Vec<Vec<f64>>,
    /// Total count n of the table.
    pub n: u64,
    /// Number of cells of the reduced table with an expected count below 5.
    pub cells_expected_below_5: usize,
    /// True when any expected count is below 5: the χ² approximation may be
    /// poor and the report should warn (or merge categories).
    pub low_expected_warning: bool,
    /// Cramér's V = √(X² / (n · (min(r, c) − 1))), in [0, 1].
    pub cramers_v: f64,
    /// Input row indices used in the test.
    pub kept_rows: Vec<usize>,
    /// Input column indices used in the test.
    pub kept_cols: Vec<usize>,
    /// Input row indices dropped because all their counts were zero.
    pub dropped_rows: Vec<usize>,
    /// Input column indices dropped because all their counts were zero.
    pub dropped_cols: Vec<usize>,
    /// Plain-English notes for the report (dropped categories, warnings).
    pub notes: Vec<String>,
}

/// Pearson chi-square test of independence on `table` (rows × columns).
///
/// Accepts any slice of rows (`&[[u64; C]]`, `&[Vec<u64>]`, …). All-zero rows
/// and columns are dropped first (see [`ChiSquareResult::dropped_rows`]).
///
/// # Errors
/// [`ChiSquareError::Ragged`] for rows of unequal length,
/// [`ChiSquareError::TooFewCategories`] when fewer than 2 non-empty rows or
/// columns remain (including an empty or all-zero table), and
/// [`ChiSquareError::Overflow`] when the total exceeds `u64::MAX`.
pub fn chi_square_independence<R: AsRef<[u64]>>(
    table: &[R],
) -> Result<ChiSquareResult, ChiSquareError> {
    let width = table.first().map_or(0, |r| r.as_ref().len());
    for (row, r) in table.iter().enumerate() {
        let found = r.as_ref().len();
        if found != width {
            return Err(ChiSquareError::Ragged {
                row,
                expected: width,
                found,
            });
        }
    }

    // Margins in u128: a sum of u64 values cannot overflow it for any table
    // that fits in memory.
    let mut row_sums = vec![0u128; table.len()];
    let mut col_sums = vec![0u128; width];
    for (r, rs) in table.iter().zip(row_sums.iter_mut()) {
        for (&x, cs) in r.as_ref().iter().zip(col_sums.iter_mut()) {
            *rs = rs.saturating_add(u128::from(x));
            *cs = cs.saturating_add(u128::from(x));
        }
    }
    let n_total: u128 = row_sums.iter().fold(0u128, |a, &b| a.saturating_add(b));
    let n = u64::try_from(n_total).map_err(|_| ChiSquareError::Overflow)?;

    let split = |sums: &[u128]| -> (Vec<usize>, Vec<usize>) {
        (0..sums.len()).partition(|&i| sums.get(i).is_some_and(|&s| s > 0))
    };
    let (kept_rows, dropped_rows) = split(&row_sums);
    let (kept_cols, dropped_cols) = split(&col_sums);
    let (r, c) = (kept_rows.len(), kept_cols.len());
    if r < 2 || c < 2 {
        return Err(ChiSquareError::TooFewCategories { rows: r, cols: c });
    }

    // Precision: counts up to 2^53 convert exactly; beyond that the relative
    // error (1e-16) is irrelevant for a test statistic.
    let n_f = n as f64;
    let mut statistic = 0.0;
    let mut cells_below_5 = 0usize;
    let mut expected = Vec::with_capacity(r);
    for &i in &kept_rows {
        let (Some(row), Some(&rs)) = (table.get(i), row_sums.get(i)) else {
            continue; // cannot happen: i came from enumerating these rows
        };
        let row = row.as_ref();
        let mut exp_row = Vec::with_capacity(c);
        for &j in &kept_cols {
            let (Some(&obs), Some(&cs)) = (row.get(j), col_sums.get(j)) else {
                continue; // cannot happen: j < width = row length
            };
            // rs, cs > 0 for kept rows/columns, so e > 0.
            let e = rs as f64 * cs as f64 / n_f;
            let d = obs as f64 - e;
            statistic += d * d / e;
            if e < 5.0 {
                cells_below_5 = cells_below_5.saturating_add(1);
            }
            exp_row.push(e);
        }
        expected.push(exp_row);
    }

    // r, c ≥ 2 here, so these subtractions cannot underflow.
    let df_rows = r.saturating_sub(1);
    let df_cols = c.saturating_sub(1);
    let df = (df_rows as u64).saturating_mul(df_cols as u64);
    let k = df_rows.min(df_cols);

    // ChiSquared::new fails only for df ≤ 0 or NaN, impossible with df ≥ 1;
    // fall back to NaN rather than panic if it ever did.
    let p_value = ChiSquared::new(df as f64).map_or(f64::NAN, |d| d.sf(statistic));
    let cramers_v = (statistic / (n_f * k as f64)).sqrt().clamp(0.0, 1.0);

    let mut notes = Vec::new();
    if !dropped_rows.is_empty() {
        notes.push(format!(
            "Rows {dropped_rows:?} had no answers and were left out of the test."
        ));
    }
    if !dropped_cols.is_empty() {
        notes.push(format!(
            "Columns {dropped_cols:?} had no answers and were left out of the test."
        ));
    }
    let low_expected_warning = cells_below_5 > 0;
    if low_expected_warning {
        notes.push(format!(
            "{cells_below_5} of {} cells have an expected count below 5; the chi-square \
             p-value may be unreliable (consider merging categories).",
            r.saturating_mul(c)
        ));
    }

    Ok(ChiSquareResult {
        statistic,
        df,
        p_value,
        expected,
        n,
        cells_expected_below_5: cells_below_5,
        low_expected_warning,
        cramers_v,
        kept_rows,
        kept_cols,
        dropped_rows,
        dropped_cols,
        notes,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    // [[10, 20], [30, 40]], by hand: n = 100, row totals 30/70, column totals
    // 40/60, expected 12, 18, 28, 42;
    // X² = 4/12 + 4/18 + 4/28 + 4/42 = 0.793651; df = 1;
    // p = erfc(√(X²/2)) = 0.372998 (χ²(1) tail via the normal);
    // V = √(0.793651/100) = 0.089087.
    #[test]
    fn two_by_two() {
        let r = chi_square_independence(&[[10, 20], [30, 40]]).unwrap();
        assert!(close(r.statistic, 0.793_651, 1e-6), "{}", r.statistic);
        assert_eq!(r.df, 1);
        assert!(close(r.p_value, 0.372_998, 1e-5), "{}", r.p_value);
        assert_eq!(r.expected, vec![vec![12.0, 18.0], vec![28.0, 42.0]]);
        assert_eq!(r.n, 100);
        assert!(!r.low_expected_warning);
        assert!(close(r.cramers_v, 0.089_087, 1e-6));
        assert!(r.dropped_rows.is_empty() && r.dropped_cols.is_empty());
        assert!(r.notes.is_empty());
    }

    // [[20, 15, 5], [10, 20, 10], [5, 10, 25]], by hand: n = 120, row totals
    // 40 each, column totals 35/45/40, so every row expects
    // 11.6667, 15, 13.3333. Cell terms:
    // 5.9524 + 0 + 5.2083 + 0.2381 + 1.6667 + 0.8333 + 3.8095 + 1.6667 + 10.2083
    // = 29.5833; df = 4; for df = 4 the tail has the closed form
    // p = e^(−x/2)(1 + x/2) = 5.9496e-6; V = √(29.5833/(120·2)) = 0.351090.
    #[test]
    fn three_by_three() {
        let r =
            chi_square_independence(&[vec![20, 15, 5], vec![10, 20, 10], vec![5, 10, 25]]).unwrap();
        assert!(close(r.statistic, 29.583_333, 1e-5), "{}", r.statistic);
        assert_eq!(r.df, 4);
        assert!(close(r.p_value, 5.9496e-6, 1e-9), "{}", r.p_value);
        assert!(close(r.expected[2][0], 35.0 / 3.0, 1e-12));
        assert!(close(r.cramers_v, 0.351_090, 1e-6));
        assert!(!r.low_expected_warning);
    }

    // [[3, 1], [1, 3]]: every expected count is 2 (< 5), X² = 4·(1/2) = 2,
    // p = erfc(1) = 0.157299.
    #[test]
    fn small_expected_counts_warn() {
        let r = chi_square_independence(&[[3, 1], [1, 3]]).unwrap();
        assert!(close(r.statistic, 2.0, 1e-12));
        assert!(close(r.p_value, 0.157_299, 1e-6));
        assert!(r.low_expected_warning);
        assert_eq!(r.cells_expected_below_5, 4);
        assert_eq!(r.notes.len(), 1);
    }

    #[test]
    fn zero_rows_and_columns_are_dropped() {
        let r = chi_square_independence(&[[10, 0, 20], [0, 0, 0], [30, 0, 40]]).unwrap();
        assert_eq!(r.kept_rows, vec![0, 2]);
        assert_eq!(r.kept_cols, vec![0, 2]);
        assert_eq!(r.dropped_rows, vec![1]);
        assert_eq!(r.dropped_cols, vec![1]);
        assert_eq!(r.df, 1);
        assert!(close(r.statistic, 0.793_651, 1e-6));
        assert_eq!(r.notes.len(), 2);
    }

    #[test]
    fn independent_table_has_zero_statistic() {
        let r = chi_square_independence(&[[10, 20], [20, 40]]).unwrap();
        assert!(close(r.statistic, 0.0, 1e-12));
        assert!(close(r.p_value, 1.0, 1e-12));
        assert!(close(r.cramers_v, 0.0, 1e-6));
    }

    #[test]
    fn perfect_association_has_v_one() {
        let r = chi_square_independence(&[[50, 0], [0, 50]]).unwrap();
        assert!(close(r.cramers_v, 1.0, 1e-12));
        assert!(r.p_value < 1e-20);
    }

    #[test]
    fn errors() {
        let empty: [[u64; 2]; 0] = [];
        assert_eq!(
            chi_square_independence(&empty),
            Err(ChiSquareError::TooFewCategories { rows: 0, cols: 0 })
        );
        assert_eq!(
            chi_square_independence(&[[0, 0], [0, 0]]),
            Err(ChiSquareError::TooFewCategories { rows: 0, cols: 0 })
        );
        assert_eq!(
            chi_square_independence(&[[5, 7], [0, 0]]),
            Err(ChiSquareError::TooFewCategories { rows: 1, cols: 2 })
        );
        assert_eq!(
            chi_square_independence(&[[5, 0], [7, 0]]),
            Err(ChiSquareError::TooFewCategories { rows: 2, cols: 1 })
        );
        assert_eq!(
            chi_square_independence(&[vec![1, 2], vec![3]]),
            Err(ChiSquareError::Ragged {
                row: 1,
                expected: 2,
                found: 1
            })
        );
        assert_eq!(
            chi_square_independence(&[[u64::MAX, 1], [1, 1]]),
            Err(ChiSquareError::Overflow)
        );
    }

    #[test]
    fn random_tables_never_panic() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        for _ in 0..500 {
            let (r, c) = (rng.random_range(0..5), rng.random_range(0..5));
            let table: Vec<Vec<u64>> = (0..r)
                .map(|_| (0..c).map(|_| rng.random_range(0..4)).collect())
                .collect();
            if let Ok(res) = chi_square_independence(&table) {
                assert!(res.statistic >= 0.0 && res.statistic.is_finite());
                assert!((0.0..=1.0).contains(&res.p_value));
                assert!((0.0..=1.0).contains(&res.cramers_v));
                assert_eq!(res.expected.len(), res.kept_rows.len());
            }
        }
    }

    #[test]
    fn huge_counts_do_not_panic() {
        let big = u64::MAX / 4;
        let r = chi_square_independence(&[[big, 1], [1, big]]).unwrap();
        assert!(r.statistic.is_finite() && r.p_value.is_finite());
    }
}
