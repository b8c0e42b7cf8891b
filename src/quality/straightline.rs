//! Straight-lining: the same answer for every item of a grid question.

/// Whether the item values of one grid are all the same, counting only grids of at
/// least `min_items` answered items (on a short grid the same answer is often honest).
/// The caller passes the answered items only.
pub fn straight_lined(items: &[i64], min_items: usize) -> bool {
    items.len() >= min_items.max(2) && items.windows(2).all(|w| w[0] == w[1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_value_on_enough_items() {
        assert!(straight_lined(&[3, 3, 3, 3], 4));
        assert!(!straight_lined(&[3, 3, 3, 4], 4));
        assert!(!straight_lined(&[3, 3, 3], 4));
        // One item is never a line, whatever the parameter says.
        assert!(!straight_lined(&[1], 0));
        assert!(!straight_lined(&[], 0));
    }
}
