//! Likely duplicates: completed responses sharing a fingerprint. In each group the
//! earliest completed response is kept and every later one is flagged, so the sample
//! keeps one response per likely person.

use std::collections::HashMap;

use chrono::NaiveDateTime;

/// The ids of the later responses of each group of `(fingerprint, submitted_at, id)`
/// that share a fingerprint (ties on the time broken by the lower id).
pub fn later_ones(rows: &[(&str, NaiveDateTime, i64)]) -> Vec<i64> {
    let mut first: HashMap<&str, (NaiveDateTime, i64)> = HashMap::new();
    for &(fp, at, id) in rows {
        let e = first.entry(fp).or_insert((at, id));
        if (at, id) < *e {
            *e = (at, id);
        }
    }
    rows.iter()
        .filter(|(fp, at, id)| first.get(fp) != Some(&(*at, *id)))
        .map(|(_, _, id)| *id)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    #[test]
    fn all_but_the_earliest_of_a_group() {
        let t = |s| NaiveDateTime::default() + TimeDelta::seconds(s);
        let rows = [
            ("a", t(30), 1),
            ("a", t(10), 2),
            ("b", t(5), 3),
            ("a", t(10), 4),
        ];
        let mut later = later_ones(&rows);
        later.sort_unstable();
        assert_eq!(later, vec![1, 4]);
    }
}
