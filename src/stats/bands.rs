//! Answer bands: a range answer such as "de R$ 500 a R$ 1.000",
//! "até R$ 500" or "acima de R$ 2.500", and the single value it stands for
//! under each sensitivity scenario.
//!
//! Rules (the same in every function, so a respondent is either usable in all
//! scenarios or in none, and the Lower/Mid/Upper figures always rest on the
//! same respondents):
//! - a missing lower bound means 0 ("até R$ 500" = 0 to 500);
//! - a missing upper bound is the open top band, valued at the analyst's
//!   assumed `open_top` in the Mid and Upper scenarios;
//! - bounds must be finite and ≥ 0, lower ≤ upper, and `open_top` must be
//!   finite and ≥ the open band's lower bound; otherwise the value is `None`;
//! - a band with neither bound carries no information ("prefiro não
//!   informar") and gives `None`.

use serde::{Deserialize, Serialize};

/// A range answer in reais or units. `None` bounds are open ends.
///
/// A known point value `x` can be passed as `Band { lower: Some(x), upper:
/// Some(x) }`; it then gives `x` in every scenario.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Band {
    /// Lower bound; `None` means the band starts at 0.
    pub lower: Option<f64>,
    /// Upper bound; `None` marks the open top band ("acima de …").
    pub upper: Option<f64>,
}

impl Band {
    /// Convenience constructor.
    pub fn new(lower: Option<f64>, upper: Option<f64>) -> Self {
        Band { lower, upper }
    }
}

/// Which value of a band to use: the sensitivity scenarios of the reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scenario {
    /// Lower bound (0 when the band has none): the pessimistic line.
    Lower,
    /// Midpoint (the open top band uses `open_top`): the central estimate.
    Mid,
    /// Upper bound (the open top band uses `open_top`): the optimistic line.
    Upper,
}

impl Scenario {
    /// All scenarios in report order.
    pub const ALL: [Scenario; 3] = [Scenario::Lower, Scenario::Mid, Scenario::Upper];

    /// Lower-case name used in JSON and reports ("lower", "mid", "upper").
    pub fn as_str(self) -> &'static str {
        match self {
            Scenario::Lower => "lower",
            Scenario::Mid => "mid",
            Scenario::Upper => "upper",
        }
    }
}

/// A band after validation: concrete lower and upper values, and whether the
/// upper one is the assumed `open_top`.
struct Resolved {
    lower: f64,
    upper: f64,
    open: bool,
}

fn valid_amount(x: f64) -> bool {
    x.is_finite() && x >= 0.0
}

/// Applies the module rules; `None` means the band cannot be valued.
fn resolve(band: &Band, open_top: f64) -> Option<Resolved> {
    match (band.lower, band.upper) {
        (None, None) => None,
        (lower, Some(upper)) => {
            let lower = lower.unwrap_or(0.0);
            (valid_amount(lower) && valid_amount(upper) && lower <= upper).then_some(Resolved {
                lower,
                upper,
                open: false,
            })
        }
        (Some(lower), None) => {
            // An assumed top value below the band's own floor contradicts the
            // answer ("acima de 2.500" cannot be worth 2.000), so refuse it
            // rather than silently produce a value outside the band.
            (valid_amount(lower) && valid_amount(open_top) && open_top >= lower).then_some(
                Resolved {
                    lower,
                    upper: open_top,
                    open: true,
                },
            )
        }
    }
}

/// The value a band stands for in the central (Mid) scenario.
///
/// Closed band: (lower + upper) / 2, with a missing lower bound taken as 0.
/// Open top band (no upper bound): `open_top`, the analyst's stated assumption
/// (e.g. R$ 3.000 for "acima de R$ 2.500"), not a midpoint, because the band
/// has no upper end to average with. `None` for invalid bands (see the module
/// rules).
pub fn midpoint(band: &Band, open_top: f64) -> Option<f64> {
    value_at(band, Scenario::Mid, open_top)
}

/// The value a band stands for under `scenario`.
///
/// - `Lower`: the lower bound, or 0 when there is none.
/// - `Mid`: see [`midpoint`].
/// - `Upper`: the upper bound, or `open_top` for the open top band (so for the
///   open band Mid and Upper coincide).
///
/// `None` for invalid bands (see the module rules); the validity does not
/// depend on the scenario.
pub fn value_at(band: &Band, scenario: Scenario, open_top: f64) -> Option<f64> {
    let r = resolve(band, open_top)?;
    Some(match scenario {
        Scenario::Lower => r.lower,
        Scenario::Upper => r.upper,
        Scenario::Mid if r.open => r.upper,
        Scenario::Mid => (r.lower + r.upper) / 2.0,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const OPEN_TOP: f64 = 3000.0;

    fn b(lower: Option<f64>, upper: Option<f64>) -> Band {
        Band::new(lower, upper)
    }

    // Expected values by hand from the rules in the module docs.
    #[test]
    fn closed_band() {
        let band = b(Some(500.0), Some(1000.0));
        assert_eq!(midpoint(&band, OPEN_TOP), Some(750.0));
        assert_eq!(value_at(&band, Scenario::Lower, OPEN_TOP), Some(500.0));
        assert_eq!(value_at(&band, Scenario::Mid, OPEN_TOP), Some(750.0));
        assert_eq!(value_at(&band, Scenario::Upper, OPEN_TOP), Some(1000.0));
    }

    #[test]
    fn bottom_band_without_lower_bound() {
        // "até R$ 500" = 0 to 500.
        let band = b(None, Some(500.0));
        assert_eq!(midpoint(&band, OPEN_TOP), Some(250.0));
        assert_eq!(value_at(&band, Scenario::Lower, OPEN_TOP), Some(0.0));
        assert_eq!(value_at(&band, Scenario::Upper, OPEN_TOP), Some(500.0));
    }

    #[test]
    fn open_top_band() {
        // "acima de R$ 2.500" with the analyst's assumption R$ 3.000.
        let band = b(Some(2500.0), None);
        assert_eq!(midpoint(&band, OPEN_TOP), Some(3000.0));
        assert_eq!(value_at(&band, Scenario::Lower, OPEN_TOP), Some(2500.0));
        assert_eq!(value_at(&band, Scenario::Upper, OPEN_TOP), Some(3000.0));
        // The assumption may equal the floor.
        assert_eq!(midpoint(&band, 2500.0), Some(2500.0));
    }

    #[test]
    fn point_value() {
        let band = b(Some(42.0), Some(42.0));
        for s in Scenario::ALL {
            assert_eq!(value_at(&band, s, OPEN_TOP), Some(42.0));
        }
    }

    #[test]
    fn invalid_bands_are_none_in_every_scenario() {
        let invalid = [
            (b(None, None), OPEN_TOP),                // prefiro não informar
            (b(Some(1000.0), Some(500.0)), OPEN_TOP), // reversed
            (b(Some(f64::NAN), Some(500.0)), OPEN_TOP),
            (b(Some(0.0), Some(f64::INFINITY)), OPEN_TOP),
            (b(Some(-10.0), Some(500.0)), OPEN_TOP),
            (b(None, Some(f64::NAN)), OPEN_TOP),
            (b(Some(2500.0), None), 2000.0), // assumption below the floor
            (b(Some(2500.0), None), f64::NAN),
            (b(Some(2500.0), None), f64::INFINITY),
            (b(Some(f64::NAN), None), OPEN_TOP),
        ];
        for (band, top) in invalid {
            for s in Scenario::ALL {
                assert_eq!(value_at(&band, s, top), None, "{band:?} {top} {s:?}");
            }
        }
    }

    #[test]
    fn open_top_is_ignored_by_closed_bands() {
        let band = b(Some(500.0), Some(1000.0));
        assert_eq!(midpoint(&band, f64::NAN), Some(750.0));
    }

    #[test]
    fn scenario_names() {
        let names: Vec<&str> = Scenario::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(names, ["lower", "mid", "upper"]);
        assert_eq!(serde_json::to_string(&Scenario::Mid).unwrap(), "\"mid\"");
    }
}
