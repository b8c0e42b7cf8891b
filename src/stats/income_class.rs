//! Social class (A–E) from a household-income bracket in minimum wages
//! (salários mínimos, SM), with the cut-offs commonly used in Brazilian market
//! research and attributed to IBGE:
//!
//! | class | monthly household income |
//! |-------|--------------------------|
//! | E     | up to 2 SM               |
//! | D     | more than 2 up to 4 SM   |
//! | C     | more than 4 up to 10 SM  |
//! | B     | more than 10 up to 20 SM |
//! | A     | more than 20 SM          |
//!
//! This is the income-only criterion, not ABEP's Critério Brasil (which scores
//! household goods and schooling); reports should say which one they use.
//!
//! Rule for a bracket (lower, upper) in SM — the questionnaire's brackets need
//! not match the class cut-offs:
//! - closed bracket: the class containing its midpoint (lower + upper) / 2,
//!   with a missing lower bound taken as 0; a midpoint exactly on a cut-off
//!   goes to the lower class ("up to" is inclusive). For brackets aligned with
//!   the cut-offs ("2 a 4 SM") this is simply the class of the bracket;
//! - open top bracket ("acima de 20 SM"): the class of incomes just above its
//!   lower bound, i.e. the lowest class it can contain (conservative: an
//!   "acima de 10 SM" bracket is B, not A);
//! - no bounds ("prefiro não informar"), NaN, negative or reversed bounds:
//!   `None`, i.e. excluded from class breakdowns.

use serde::{Deserialize, Serialize};

use super::bands::Band;

/// Social class by household income in minimum wages. Ordered A (highest) to
/// E (lowest), which is the usual report order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum IncomeClass {
    /// More than 20 SM.
    A,
    /// More than 10 up to 20 SM.
    B,
    /// More than 4 up to 10 SM.
    C,
    /// More than 2 up to 4 SM.
    D,
    /// Up to 2 SM.
    E,
}

impl IncomeClass {
    /// All classes in report order (A to E).
    pub const ALL: [IncomeClass; 5] = [
        IncomeClass::A,
        IncomeClass::B,
        IncomeClass::C,
        IncomeClass::D,
        IncomeClass::E,
    ];

    /// The class letter, "A" to "E".
    pub fn as_str(self) -> &'static str {
        match self {
            IncomeClass::A => "A",
            IncomeClass::B => "B",
            IncomeClass::C => "C",
            IncomeClass::D => "D",
            IncomeClass::E => "E",
        }
    }

    /// Income range of the class in SM as (exclusive lower, inclusive upper);
    /// `None` upper for class A.
    pub fn sm_range(self) -> (f64, Option<f64>) {
        match self {
            IncomeClass::E => (0.0, Some(2.0)),
            IncomeClass::D => (2.0, Some(4.0)),
            IncomeClass::C => (4.0, Some(10.0)),
            IncomeClass::B => (10.0, Some(20.0)),
            IncomeClass::A => (20.0, None),
        }
    }

    /// Class of a single income value in SM (cut-offs inclusive at the top
    /// of each class). `None` for NaN or negative values.
    pub fn from_sm_value(sm: f64) -> Option<IncomeClass> {
        if sm.is_nan() || sm < 0.0 {
            return None;
        }
        Some(if sm <= 2.0 {
            IncomeClass::E
        } else if sm <= 4.0 {
            IncomeClass::D
        } else if sm <= 10.0 {
            IncomeClass::C
        } else if sm <= 20.0 {
            IncomeClass::B
        } else {
            IncomeClass::A
        })
    }

    /// Class of an income bracket given by its bounds in SM, by the rule in
    /// the module docs. `None` for "prefiro não informar" (no bounds) and
    /// invalid bounds.
    pub fn from_sm_bounds(lower: Option<f64>, upper: Option<f64>) -> Option<IncomeClass> {
        let ok = |x: f64| x.is_finite() && x >= 0.0;
        match (lower, upper) {
            (None, None) => None,
            (lower, Some(upper)) => {
                let lower = lower.unwrap_or(0.0);
                if !(ok(lower) && ok(upper) && lower <= upper) {
                    return None;
                }
                IncomeClass::from_sm_value((lower + upper) / 2.0)
            }
            (Some(lower), None) => {
                if !ok(lower) {
                    return None;
                }
                // Incomes are strictly above `lower`; the first class whose
                // inclusive upper cut-off exceeds `lower` contains them.
                IncomeClass::ALL
                    .into_iter()
                    .rev()
                    .find(|class| class.sm_range().1.is_none_or(|top| lower < top))
            }
        }
    }

    /// [`IncomeClass::from_sm_bounds`] for a [`Band`] in SM.
    pub fn from_sm_band(band: &Band) -> Option<IncomeClass> {
        IncomeClass::from_sm_bounds(band.lower, band.upper)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(lower: Option<f64>, upper: Option<f64>) -> Option<IncomeClass> {
        IncomeClass::from_sm_bounds(lower, upper)
    }

    // Expected classes by hand from the table in the module docs.
    #[test]
    fn aligned_brackets() {
        assert_eq!(class(None, Some(2.0)), Some(IncomeClass::E));
        assert_eq!(class(Some(0.0), Some(2.0)), Some(IncomeClass::E));
        assert_eq!(class(Some(2.0), Some(4.0)), Some(IncomeClass::D));
        assert_eq!(class(Some(4.0), Some(10.0)), Some(IncomeClass::C));
        assert_eq!(class(Some(10.0), Some(20.0)), Some(IncomeClass::B));
        assert_eq!(class(Some(20.0), None), Some(IncomeClass::A));
    }

    #[test]
    fn misaligned_brackets_use_midpoint() {
        assert_eq!(class(Some(1.0), Some(3.0)), Some(IncomeClass::E)); // mid 2, on the cut-off
        assert_eq!(class(Some(3.0), Some(6.0)), Some(IncomeClass::C)); // mid 4.5
        assert_eq!(class(Some(5.0), Some(15.0)), Some(IncomeClass::C)); // mid 10
        assert_eq!(class(Some(15.0), Some(30.0)), Some(IncomeClass::A)); // mid 22.5
    }

    #[test]
    fn open_top_uses_lowest_possible_class() {
        assert_eq!(class(Some(10.0), None), Some(IncomeClass::B));
        assert_eq!(class(Some(5.0), None), Some(IncomeClass::C));
        assert_eq!(class(Some(0.0), None), Some(IncomeClass::E));
        assert_eq!(class(Some(25.0), None), Some(IncomeClass::A));
        assert_eq!(class(Some(1.9), None), Some(IncomeClass::E));
    }

    #[test]
    fn excluded_and_invalid() {
        assert_eq!(class(None, None), None); // prefiro não informar
        assert_eq!(class(Some(f64::NAN), Some(2.0)), None);
        assert_eq!(class(Some(4.0), Some(2.0)), None);
        assert_eq!(class(Some(-1.0), Some(2.0)), None);
        assert_eq!(class(Some(f64::INFINITY), None), None);
        assert_eq!(class(None, Some(f64::NAN)), None);
        assert_eq!(IncomeClass::from_sm_value(f64::NAN), None);
    }

    #[test]
    fn names_and_order() {
        let names: Vec<&str> = IncomeClass::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(names, ["A", "B", "C", "D", "E"]);
        assert!(IncomeClass::A < IncomeClass::E);
        assert_eq!(
            IncomeClass::from_sm_band(&Band::new(Some(2.0), Some(4.0))),
            Some(IncomeClass::D)
        );
    }
}
