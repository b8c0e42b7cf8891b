//! Speeders: responses completed in under a fraction of the median duration.

/// The median of `values` (the mean of the two middle ones for an even count); `None`
/// when empty. The tests' plain reference for [`median_by`].
#[cfg(test)]
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 0 {
        (v[mid - 1] + v[mid]) / 2.0
    } else {
        v[mid]
    })
}

/// [`median`] of the values `value` reads from `items`, all finite (durations in whole
/// milliseconds are), found by reordering `items` in place instead of copying the
/// values: the same number, for a caller that keeps each value beside its response.
pub fn median_by<T>(items: &mut [T], value: impl Fn(&T) -> f64) -> Option<f64> {
    if items.is_empty() {
        return None;
    }
    let even = items.len() % 2 == 0;
    let mid = items.len() / 2;
    let (lower, upper, _) = items.select_nth_unstable_by(mid, |a, b| value(a).total_cmp(&value(b)));
    let upper = value(upper);
    Some(if !even {
        upper
    } else {
        // An even count: the largest of the lower half is the other middle value.
        let below = lower.iter().map(&value).fold(f64::NEG_INFINITY, f64::max);
        (below + upper) / 2.0
    })
}

/// The duration (seconds) under which a response is a speeder: `fraction` × the median
/// of the durations `duration` reads from `items` (reordered, see [`median_by`]). `None`
/// (nobody is a speeder) with fewer than `min_responses` items: a median of a handful of
/// responses would flag honest ones.
pub fn threshold<T>(
    items: &mut [T],
    duration: impl Fn(&T) -> f64,
    fraction: f64,
    min_responses: usize,
) -> Option<f64> {
    if items.len() < min_responses.max(1) {
        return None;
    }
    median_by(items, duration).map(|m| m * fraction)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[5.0]), Some(5.0));
        assert_eq!(median(&[9.0, 1.0, 5.0]), Some(5.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    #[test]
    fn median_in_place_is_the_median() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(19);
        for n in 0..200 {
            // Whole milliseconds, with repeats, as durations are.
            let values: Vec<f64> = (0..n)
                .map(|_| f64::from(rng.random_range(0..50_000u32)) / 1000.0)
                .collect();
            let mut items: Vec<(usize, f64)> = values.iter().copied().enumerate().collect();
            let got = median_by(&mut items, |x| x.1);
            assert_eq!(
                got.map(f64::to_bits),
                median(&values).map(f64::to_bits),
                "{n}"
            );
        }
    }

    #[test]
    fn threshold_is_a_fraction_of_the_median_once_there_are_enough() {
        let mut d = [600.0, 300.0, 900.0];
        assert_eq!(threshold(&mut d, |x| *x, 1.0 / 3.0, 3), Some(200.0));
        assert_eq!(threshold(&mut d, |x| *x, 0.5, 4), None);
        assert_eq!(threshold(&mut [] as &mut [f64], |x| *x, 0.5, 0), None);
    }
}
