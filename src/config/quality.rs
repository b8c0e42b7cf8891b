//! `[quality]`: the parameters of the data-quality flags ([`crate::quality`]). A value
//! out of range fails start-up naming the key.

use serde::{Deserialize, Serialize};

use super::{ConfigError, invalid};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QualitySettings {
    /// A completed response faster than this fraction of the median duration is flagged
    /// `rapido` (above 0, below 1).
    pub speeder_fraction: f64,
    /// No `rapido` flag until this many completed responses have a known duration.
    pub speeder_min_responses: u32,
    /// A grid needs this many answered items (2 or more) for `linha_reta`.
    pub straightline_min_items: u32,
    /// `duplicado` for responses sharing a normalised phone number.
    pub duplicate_phone: bool,
    /// `duplicado` for responses sharing a normalised name, surname and bairro.
    pub duplicate_name_bairro: bool,
}

impl Default for QualitySettings {
    fn default() -> Self {
        let p = crate::quality::Params::default();
        QualitySettings {
            speeder_fraction: p.speeder_fraction,
            speeder_min_responses: u32::try_from(p.speeder_min_responses).unwrap_or(30),
            straightline_min_items: u32::try_from(p.straightline_min_items).unwrap_or(4),
            duplicate_phone: p.duplicate_phone,
            duplicate_name_bairro: p.duplicate_name_bairro,
        }
    }
}

impl QualitySettings {
    /// The rules' parameters, checked: the error names the key.
    pub fn params(&self) -> Result<crate::quality::Params, ConfigError> {
        if !(self.speeder_fraction.is_finite()
            && self.speeder_fraction > 0.0
            && self.speeder_fraction < 1.0)
        {
            return Err(invalid(
                "quality.speeder_fraction",
                "must be above 0 and below 1 (0.33: a third of the median duration)",
            ));
        }
        if self.speeder_min_responses == 0 {
            return Err(invalid(
                "quality.speeder_min_responses",
                "must be at least 1",
            ));
        }
        if self.straightline_min_items < 2 {
            return Err(invalid(
                "quality.straightline_min_items",
                "must be at least 2",
            ));
        }
        Ok(crate::quality::Params {
            speeder_fraction: self.speeder_fraction,
            speeder_min_responses: self.speeder_min_responses as usize,
            straightline_min_items: self.straightline_min_items as usize,
            duplicate_phone: self.duplicate_phone,
            duplicate_name_bairro: self.duplicate_name_bairro,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_name_their_key() {
        assert!(QualitySettings::default().params().is_ok());
        for (s, key) in [
            (
                QualitySettings {
                    speeder_fraction: 1.5,
                    ..QualitySettings::default()
                },
                "quality.speeder_fraction",
            ),
            (
                QualitySettings {
                    speeder_min_responses: 0,
                    ..QualitySettings::default()
                },
                "quality.speeder_min_responses",
            ),
            (
                QualitySettings {
                    straightline_min_items: 1,
                    ..QualitySettings::default()
                },
                "quality.straightline_min_items",
            ),
        ] {
            let e = s.params().expect_err(key).to_string();
            assert!(e.contains(key), "{e}");
        }
    }
}
