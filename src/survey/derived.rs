//! Values derived from a chosen option for analysis, each rule written once and used by
//! both the export and the report: the number a band stands for, and the IBGE income
//! class of an income band in minimum wages.

use super::Choice;
use crate::stats::bands::{Band, midpoint};
use crate::stats::income_class::IncomeClass;

/// The open top band ("acima de X", no upper bound) is valued at this multiple of its
/// lower bound, unless the analyst states another value.
pub const OPEN_TOP_FACTOR: f64 = 1.5;

/// The midpoint of an option's band; the open top band uses [`OPEN_TOP_FACTOR`]. `None`
/// for an excluded option ("prefiro não informar") or one without bounds.
pub fn option_midpoint(o: &Choice) -> Option<f64> {
    if o.excluded {
        return None;
    }
    let open_top = o.lower.unwrap_or(0.0) * OPEN_TOP_FACTOR;
    midpoint(&Band::new(o.lower, o.upper), open_top)
}

/// The income class (E–A) of an income option whose bounds are in minimum wages; `None`
/// for an excluded option.
pub fn option_income_class(o: &Choice) -> Option<IncomeClass> {
    if o.excluded {
        return None;
    }
    IncomeClass::from_sm_band(&Band::new(o.lower, o.upper))
}
