//! Raking margins from the stored census margins and the respondents' bairro, sex and
//! age: which respondent falls in which category, the target of each category, and the
//! rules for what the census cannot place.
//!
//! Rules (written out in the report's assumptions and docs/census.md):
//! - `bairro`: each response is one household, so bairros are calibrated to their share
//!   of the census's occupied households. Respondents of a bairro the census margins do
//!   not cover are not weighted (no `peso`): they are outside the calibrated population.
//!   A census bairro nobody answered from is left out of the margin (its households
//!   cannot be represented by weights) and listed.
//! - `sexo`, `faixa_etaria`, `sexo_faixa`: the respondent is an adult, so these are
//!   calibrated to the shares of persons aged 18 or over, summed over the bairros in the
//!   weighting. The census has only women and men: respondents who answered "outro",
//!   "prefiro não informar" or nothing (and, for age, no age) are kept in a category of
//!   their own, [`NOT_INFORMED`], whose target is its share of the sample, so raking
//!   neither inflates nor shrinks them and calibrates the others among themselves.
//! - A census category with no respondent at all cannot be reached by any weight: it is
//!   left out and listed, and the other categories share its target.
//!
//! Weights come out with mean 1 over the weighted respondents (they sum to their count),
//! the usual scale of an analysis weight; totals come from the census counts directly.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::{ADULT_BANDS, Margins};
use crate::i18n::Lang;
use crate::stats::raking::{Margin, RakeError, RakeOptions, Raked, Targets, rake_cells};

/// Why raking failed, in `lang`'s words, for the report's warning and the codebook.
pub fn failure_text(e: &RakeError, lang: Lang) -> String {
    match e {
        RakeError::NotConverged {
            iterations,
            max_relative_error,
            tolerance,
            ..
        } => lang.rake_not_converged(*iterations, *max_relative_error, *tolerance),
        RakeError::Margin { margin, reason } => lang.rake_bad_margin(margin, reason),
        RakeError::NoResponses => lang.rake_no_responses().to_string(),
        RakeError::NoMargins | RakeError::BaseWeights(_) | RakeError::Options(_) => {
            lang.rake_other(&e.to_string())
        }
    }
}

/// The category of respondents the census cannot place (sex not female or male, or no age).
pub const NOT_INFORMED: &str = "não informado";

/// The margins `weighting.margins` may name, in the order they are raked.
pub const MARGIN_NAMES: [&str; 4] = ["bairro", "sexo", "faixa_etaria", "sexo_faixa"];

/// One margin to rake to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MarginKind {
    /// Occupied households per bairro.
    Bairro,
    /// Adults 18+ by sex.
    Sexo,
    /// Adults 18+ by age band.
    FaixaEtaria,
    /// Adults 18+ by sex × age band, jointly.
    SexoFaixa,
}

impl MarginKind {
    pub fn name(self) -> &'static str {
        match self {
            MarginKind::Bairro => "bairro",
            MarginKind::Sexo => "sexo",
            MarginKind::FaixaEtaria => "faixa_etaria",
            MarginKind::SexoFaixa => "sexo_faixa",
        }
    }

    /// Checks a configured list: known names, no repeats, not `sexo_faixa` beside `sexo`
    /// or `faixa_etaria` (the joint margin already holds both). The error says why.
    pub fn parse_list(names: &[String]) -> Result<Vec<MarginKind>, String> {
        let mut out = Vec::new();
        for name in names {
            let kind = match name.as_str() {
                "bairro" => MarginKind::Bairro,
                "sexo" => MarginKind::Sexo,
                "faixa_etaria" => MarginKind::FaixaEtaria,
                "sexo_faixa" => MarginKind::SexoFaixa,
                other => {
                    return Err(format!(
                        "unknown margin `{other}`; expected some of {}",
                        MARGIN_NAMES.join(", ")
                    ));
                }
            };
            if out.contains(&kind) {
                return Err(format!("margin `{name}` is listed twice"));
            }
            out.push(kind);
        }
        if out.contains(&MarginKind::SexoFaixa)
            && (out.contains(&MarginKind::Sexo) || out.contains(&MarginKind::FaixaEtaria))
        {
            return Err(
                "`sexo_faixa` already holds sex and age band: list it alone or use `sexo` and \
                 `faixa_etaria`"
                    .into(),
            );
        }
        if out.is_empty() {
            return Err("list at least one margin".into());
        }
        Ok(out)
    }
}

/// How to weight: the margins (`weighting.margins`) and the raking options.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightPlan {
    pub margins: Vec<MarginKind>,
    pub options: RakeOptions,
}

impl Default for WeightPlan {
    /// The configuration's defaults: bairro, sexo, faixa_etaria.
    fn default() -> Self {
        WeightPlan {
            margins: vec![
                MarginKind::Bairro,
                MarginKind::Sexo,
                MarginKind::FaixaEtaria,
            ],
            options: RakeOptions::default(),
        }
    }
}

/// What weighting needs of one respondent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unit<'a> {
    pub bairro: &'a str,
    /// The `sexo` answer's value, if any.
    pub sexo: Option<&'a str>,
    /// The age in years, if answered.
    pub idade: Option<i64>,
}

/// The adult age band of an age ([`ADULT_BANDS`]); `None` under 18.
pub fn age_band(idade: i64) -> Option<&'static str> {
    let i = match idade {
        ..18 => return None,
        18..=29 => 0,
        30..=39 => 1,
        40..=49 => 2,
        50..=59 => 3,
        _ => 4,
    };
    ADULT_BANDS.get(i).copied()
}

fn sex_of(u: &Unit<'_>) -> Option<&'static str> {
    sex_category(u.sexo)
}

/// The census sex category of a `sexo` answer; `None` for "outro", "prefiro não
/// informar" or no answer (the census has only women and men). Quotas use it too.
pub fn sex_category(sexo: Option<&str>) -> Option<&'static str> {
    match sexo {
        Some("feminino") => Some("feminino"),
        Some("masculino") => Some("masculino"),
        _ => None,
    }
}

/// A census category left out of a margin, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeftOut {
    pub margin: String,
    pub category: String,
    /// Its census share among the margin's categories, as a fraction.
    pub census_share: f64,
}

/// The result of weighting.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Weighting {
    /// One per input unit ([`weight`]) or per cell ([`weight_cells`]): `None` for a
    /// respondent outside the census bairros.
    #[serde(skip)]
    pub weights: Vec<Option<f64>>,
    pub margins: Vec<MarginKind>,
    /// Respondents weighted.
    pub weighted: usize,
    /// Respondents not weighted because their bairro is not in the census margins.
    pub outside: usize,
    /// Weighted respondents in the [`NOT_INFORMED`] category of sex and of age.
    pub sex_not_informed: usize,
    pub age_not_informed: usize,
    pub left_out: Vec<LeftOut>,
    /// How raking went: target against achieved per category (in weight units, summing
    /// to `weighted`), iterations, trimming.
    pub raked: Raked,
}

/// Categories, each cell's code and the census totals of one margin.
struct Draft {
    name: &'static str,
    categories: Vec<String>,
    census: Vec<f64>,
    codes: Vec<u32>,
    /// Index of the [`NOT_INFORMED`] category, if the margin has one.
    not_informed: Option<u32>,
}

impl Draft {
    fn new(name: &'static str, categories: Vec<String>, census: Vec<f64>, informed: bool) -> Draft {
        let mut d = Draft {
            name,
            categories,
            census,
            codes: Vec::new(),
            not_informed: None,
        };
        if informed {
            d.not_informed = Some(d.categories.len() as u32);
            d.categories.push(NOT_INFORMED.into());
            d.census.push(0.0);
        }
        d
    }

    /// The margin for raking: empty categories dropped (census ones listed), census
    /// shares scaled to what the not-informed category leaves. `sizes`: the responses
    /// of each cell.
    fn finish(self, sizes: &[u64], left_out: &mut Vec<LeftOut>) -> Option<Margin> {
        let n: u64 = sizes.iter().sum();
        let mut counts = vec![0u64; self.categories.len()];
        for (&c, &k) in self.codes.iter().zip(sizes) {
            if let Some(x) = counts.get_mut(c as usize) {
                *x += k;
            }
        }
        let census_total: f64 = self.census.iter().sum();
        let mut keep = Vec::new();
        for (i, (cat, target)) in self.categories.iter().zip(&self.census).enumerate() {
            let count = counts.get(i).copied().unwrap_or(0);
            if count > 0 {
                keep.push(i);
            } else if Some(i as u32) != self.not_informed && *target > 0.0 {
                left_out.push(LeftOut {
                    margin: self.name.into(),
                    category: cat.clone(),
                    census_share: target / census_total.max(f64::MIN_POSITIVE),
                });
            }
        }
        let not_informed_share = self
            .not_informed
            .and_then(|i| counts.get(i as usize))
            .map_or(0.0, |c| *c as f64 / n.max(1) as f64);
        let informed_total: f64 = keep
            .iter()
            .filter(|i| Some(**i as u32) != self.not_informed)
            .map(|i| self.census.get(*i).copied().unwrap_or(0.0))
            .sum();
        if informed_total <= 0.0 {
            return None;
        }
        let index: BTreeMap<usize, u32> = keep
            .iter()
            .enumerate()
            .map(|(new, old)| (*old, new as u32))
            .collect();
        let targets = keep
            .iter()
            .map(|i| {
                if Some(*i as u32) == self.not_informed {
                    not_informed_share
                } else {
                    self.census.get(*i).copied().unwrap_or(0.0) / informed_total
                        * (1.0 - not_informed_share)
                }
            })
            .collect();
        Some(Margin {
            name: self.name.into(),
            categories: keep
                .iter()
                .filter_map(|i| self.categories.get(*i).cloned())
                .collect(),
            codes: self
                .codes
                .iter()
                .map(|c| index.get(&(*c as usize)).copied().unwrap_or(0))
                .collect(),
            targets: Targets::Shares(targets),
        })
    }
}

/// Rakes `units` to the census margins `kinds`, one weight per unit. See the module doc
/// for the rules.
///
/// Units of one bairro, sex category and age band fall in the same category of every
/// margin, so they are weighed as one cell ([`weight_cells`]) and get its weight.
pub fn weight(
    census: &Margins,
    units: &[Unit<'_>],
    kinds: &[MarginKind],
    options: &RakeOptions,
) -> Result<Weighting, RakeError> {
    let mut index: HashMap<(&str, Option<&str>, Option<&str>), u32> = HashMap::new();
    let mut cells: Vec<Unit<'_>> = Vec::new();
    let members: Vec<u32> = units
        .iter()
        .map(|u| {
            let key = (u.bairro, sex_of(u), u.idade.and_then(age_band));
            *index.entry(key).or_insert_with(|| {
                cells.push(*u);
                cells.len() as u32 - 1
            })
        })
        .collect();
    let mut w = weight_cells(census, &cells, &members, kinds, options)?;
    w.weights = members
        .iter()
        .map(|c| w.weights.get(*c as usize).copied().flatten())
        .collect();
    Ok(w)
}

/// Rakes responses grouped in cells to the census margins `kinds`: `cells` holds one
/// unit standing for each cell (any of its responses: they share bairro, sex category
/// and age band), `members` each response's cell in the responses' order. The weights
/// of [`Weighting::weights`] are then one per cell, the same as [`weight`] gives each of
/// the cell's responses; the counts are of responses.
pub fn weight_cells(
    census: &Margins,
    cells: &[Unit<'_>],
    members: &[u32],
    kinds: &[MarginKind],
    options: &RakeOptions,
) -> Result<Weighting, RakeError> {
    // The cells in the census bairros, numbered among themselves, and their responses.
    let mut inside: Vec<Option<u32>> = Vec::with_capacity(cells.len());
    let mut sample: Vec<&Unit<'_>> = Vec::new();
    for u in cells {
        let within = census.bairros.contains_key(u.bairro);
        inside.push(within.then_some(sample.len() as u32));
        if within {
            sample.push(u);
        }
    }
    let sample_members: Vec<u32> = members
        .iter()
        .filter_map(|c| inside.get(*c as usize).copied().flatten())
        .collect();
    let mut sizes = vec![0u64; sample.len()];
    for &c in &sample_members {
        if let Some(k) = sizes.get_mut(c as usize) {
            *k += 1;
        }
    }
    let occupied = || {
        sample
            .iter()
            .zip(&sizes)
            .filter(|(_, k)| **k > 0)
            .map(|(u, k)| (*u, *k))
    };
    let mut left_out = Vec::new();
    // Bairros with respondents: the population the weights stand for.
    let answered: Vec<&String> = census
        .bairros
        .keys()
        .filter(|b| occupied().any(|(u, _)| u.bairro == b.as_str()))
        .collect();
    let adults = |sex: Option<&str>, band: Option<&str>| -> f64 {
        answered
            .iter()
            .filter_map(|b| census.bairros.get(*b))
            .flat_map(|m| &m.adults)
            .filter(|(s, f, _)| sex.is_none_or(|x| x == s) && band.is_none_or(|x| x == f))
            .map(|(_, _, v)| v)
            .sum()
    };
    let sexes = ["feminino", "masculino"];
    let mut drafts = Vec::new();
    for kind in kinds {
        let d = match kind {
            MarginKind::Bairro => {
                let names: Vec<String> = census.bairros.keys().cloned().collect();
                let mut d = Draft::new(
                    "bairro",
                    names.clone(),
                    census
                        .bairros
                        .values()
                        .map(|m| m.households as f64)
                        .collect(),
                    false,
                );
                d.codes = sample
                    .iter()
                    .map(|u| names.iter().position(|b| b == u.bairro).unwrap_or(0) as u32)
                    .collect();
                d
            }
            MarginKind::Sexo => {
                let mut d = Draft::new(
                    "sexo",
                    sexes.iter().map(|s| (*s).to_string()).collect(),
                    sexes.iter().map(|s| adults(Some(s), None)).collect(),
                    true,
                );
                d.codes = sample
                    .iter()
                    .map(|u| match sex_of(u) {
                        Some("feminino") => 0,
                        Some(_) => 1,
                        None => 2,
                    })
                    .collect();
                d
            }
            MarginKind::FaixaEtaria => {
                let mut d = Draft::new(
                    "faixa_etaria",
                    ADULT_BANDS.iter().map(|b| (*b).to_string()).collect(),
                    ADULT_BANDS.iter().map(|b| adults(None, Some(b))).collect(),
                    true,
                );
                d.codes = sample
                    .iter()
                    .map(|u| {
                        u.idade
                            .and_then(age_band)
                            .and_then(|b| ADULT_BANDS.iter().position(|x| *x == b))
                            .unwrap_or(ADULT_BANDS.len()) as u32
                    })
                    .collect();
                d
            }
            MarginKind::SexoFaixa => {
                let cells: Vec<(&str, &str)> = sexes
                    .iter()
                    .flat_map(|s| ADULT_BANDS.iter().map(move |b| (*s, *b)))
                    .collect();
                let mut d = Draft::new(
                    "sexo_faixa",
                    cells.iter().map(|(s, b)| format!("{s} {b}")).collect(),
                    cells
                        .iter()
                        .map(|(s, b)| adults(Some(s), Some(b)))
                        .collect(),
                    true,
                );
                d.codes = sample
                    .iter()
                    .map(|u| {
                        let cell = sex_of(u).zip(u.idade.and_then(age_band));
                        cell.and_then(|c| cells.iter().position(|x| *x == c))
                            .unwrap_or(cells.len()) as u32
                    })
                    .collect();
                d
            }
        };
        drafts.push(d);
    }
    let count = |f: &dyn Fn(&Unit<'_>) -> bool| -> usize {
        occupied()
            .filter(|(u, _)| f(u))
            .map(|(_, k)| k as usize)
            .sum()
    };
    let sex_not_informed = count(&|u| sex_of(u).is_none());
    let age_not_informed = count(&|u| u.idade.and_then(age_band).is_none());
    let margins: Vec<Margin> = drafts
        .into_iter()
        .filter_map(|d| d.finish(&sizes, &mut left_out))
        .collect();
    let mut raked = rake_cells(None, &margins, &sample_members, options)?;
    let weights = inside
        .iter()
        .map(|i| i.and_then(|i| raked.weights.get(i as usize).copied()))
        .collect();
    // Per cell of the sample, and given as `weights`.
    raked.weights = Vec::new();
    Ok(Weighting {
        weights,
        margins: kinds.to_vec(),
        weighted: sample_members.len(),
        outside: members.len().saturating_sub(sample_members.len()),
        sex_not_informed,
        age_not_informed,
        left_out,
        raked,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::census::BairroMargins;

    fn census() -> Margins {
        let adults = |f: f64, m: f64| {
            let mut v = Vec::new();
            for (sex, scale) in [("feminino", f), ("masculino", m)] {
                for (i, band) in ADULT_BANDS.iter().enumerate() {
                    v.push((sex.to_string(), band.to_string(), scale * (i + 1) as f64));
                }
            }
            v
        };
        Margins {
            bairros: [
                (
                    "A".to_string(),
                    BairroMargins {
                        households: 300,
                        adults: adults(60.0, 40.0),
                    },
                ),
                (
                    "B".to_string(),
                    BairroMargins {
                        households: 100,
                        adults: adults(50.0, 50.0),
                    },
                ),
                (
                    "Vazio".to_string(),
                    BairroMargins {
                        households: 50,
                        adults: adults(1.0, 1.0),
                    },
                ),
            ]
            .into(),
            unmapped: Vec::new(),
            suppressed: Vec::new(),
            missing: Vec::new(),
        }
    }

    #[test]
    fn margin_lists_are_checked() {
        let l = |v: &[&str]| {
            MarginKind::parse_list(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        };
        assert_eq!(
            l(&["bairro", "sexo_faixa"]).unwrap(),
            vec![MarginKind::Bairro, MarginKind::SexoFaixa]
        );
        assert!(l(&["bairro", "idade"]).unwrap_err().contains("idade"));
        assert!(l(&["sexo", "sexo"]).unwrap_err().contains("twice"));
        assert!(l(&["sexo", "sexo_faixa"]).is_err());
        assert!(l(&[]).is_err());
        assert_eq!(age_band(18), Some("18-29"));
        assert_eq!(age_band(59), Some("50-59"));
        assert_eq!(age_band(90), Some("60+"));
        assert_eq!(age_band(17), None);
    }

    #[test]
    fn weights_reproduce_the_census_shares() {
        // A sample leaning to bairro B, to women and to the young.
        let mut units = Vec::new();
        for i in 0..400 {
            units.push(Unit {
                bairro: if i % 3 == 0 { "A" } else { "B" },
                sexo: Some(match i % 10 {
                    0..=5 => "feminino",
                    6..=8 => "masculino",
                    _ => "prefiro_nao_informar",
                }),
                idade: Some(18 + (i % 7) * 8),
            });
        }
        units.push(Unit {
            bairro: "Fora",
            sexo: None,
            idade: None,
        });
        let kinds = [
            MarginKind::Bairro,
            MarginKind::Sexo,
            MarginKind::FaixaEtaria,
        ];
        // Trimmed to the default bounds, the weights stay within them (this sample is
        // lopsided enough that the margins then miss, and say so).
        let trimmed = weight(&census(), &units, &kinds, &RakeOptions::default()).unwrap();
        let (lo, hi) = trimmed.raked.weight_range;
        assert!(lo >= 0.3 - 1e-9 && hi <= 3.0 + 1e-9, "{lo} {hi}");
        assert_eq!(
            trimmed.raked.margins_met,
            trimmed.raked.max_relative_error < 1e-6
        );
        // Untrimmed, they reproduce the census shares exactly.
        let untrimmed = RakeOptions {
            trim: None,
            ..RakeOptions::default()
        };
        let w = weight(&census(), &units, &kinds, &untrimmed).unwrap();
        assert_eq!((w.weighted, w.outside), (400, 1));
        assert_eq!(w.weights[400], None, "outside the census bairros");
        let ws: Vec<f64> = w.weights.iter().flatten().copied().collect();
        let total: f64 = ws.iter().sum();
        assert!((total - 400.0).abs() < 1e-6, "mean weight 1");
        // Bairro: households of A and B only (nobody in Vazio): 300 / 400.
        let share = |f: &dyn Fn(&Unit<'_>) -> bool| -> f64 {
            units
                .iter()
                .zip(&w.weights)
                .filter(|(u, _)| f(u))
                .filter_map(|(_, w)| *w)
                .sum::<f64>()
                / total
        };
        assert!((share(&|u| u.bairro == "A") - 0.75).abs() < 1e-4);
        assert_eq!(w.left_out.len(), 1);
        assert_eq!(w.left_out[0].category, "Vazio");
        // Sex: the not-informed keep their sample share (10%); women and men share the
        // rest as adults do in A and B: women (60 + 50) × 15 = 1650, men (40 + 50) × 15.
        let ni = share(&|u| u.sexo == Some("prefiro_nao_informar"));
        assert!((ni - 0.1).abs() < 1e-4, "{ni}");
        let f = share(&|u| u.sexo == Some("feminino"));
        assert!((f - 0.9 * 1650.0 / 3000.0).abs() < 1e-4, "{f}");
        assert_eq!(w.sex_not_informed, 40);
        // Age band 60+: its adults are 5/15 of each sex's.
        let old = share(&|u| u.idade.is_some_and(|a| a >= 60));
        assert!((old - 5.0 / 15.0).abs() < 1e-4, "{old}");
    }
}
