//! Raking cells: the bairro × sex × adult age band of a weighable response. A raking
//! weight depends on nothing else (every sweep multiplies the weights of a category by
//! one factor, and trimming clamps or scales by weight), so responses of one cell end
//! with one weight. The report therefore adds each response once, to its cell's counts,
//! before the weights exist, and weighs the cells afterwards: one read of the responses,
//! and memory that grows with the cells (a few hundred), not with the responses.

use std::collections::HashMap;

use crate::census::weighting::{Unit, age_band};

/// Sex as the census tells it: 0 women, 1 men, 2 anything else or unanswered.
fn sex_code(sexo: Option<&str>) -> u8 {
    match sexo {
        Some("feminino") => 0,
        Some("masculino") => 1,
        _ => 2,
    }
}

/// The cells seen so far.
#[derive(Debug, Default)]
pub(crate) struct Cells {
    bairros: HashMap<String, u32>,
    bairro_names: Vec<String>,
    index: HashMap<(u32, u8, Option<&'static str>), u32>,
    /// Per cell: its bairro, sex code and the age of its first response (any age of
    /// the band stands for it in raking).
    cells: Vec<(u32, u8, Option<i64>)>,
}

impl Cells {
    /// The cell of a response, added when new.
    pub(crate) fn id(&mut self, bairro: &str, sexo: Option<&str>, idade: Option<i64>) -> u32 {
        let b = match self.bairros.get(bairro) {
            Some(b) => *b,
            None => {
                let b = self.bairro_names.len() as u32;
                self.bairro_names.push(bairro.to_string());
                self.bairros.insert(bairro.to_string(), b);
                b
            }
        };
        let sex = sex_code(sexo);
        let band = idade.and_then(age_band);
        let next = self.cells.len() as u32;
        let id = *self.index.entry((b, sex, band)).or_insert(next);
        if id == next {
            self.cells.push((b, sex, idade.filter(|_| band.is_some())));
        }
        id
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.cells.len()
    }

    /// The bairro of a cell.
    pub(crate) fn bairro(&self, cell: usize) -> &str {
        self.cells
            .get(cell)
            .and_then(|(b, _, _)| self.bairro_names.get(*b as usize))
            .map_or("", String::as_str)
    }

    /// One raking unit per cell, standing for every response of the cell.
    pub(crate) fn units(&self) -> Vec<Unit<'_>> {
        self.cells
            .iter()
            .map(|&(b, sex, age)| Unit {
                bairro: self.bairro_names.get(b as usize).map_or("", String::as_str),
                sexo: match sex {
                    0 => Some("feminino"),
                    1 => Some("masculino"),
                    _ => None,
                },
                idade: age,
            })
            .collect()
    }
}

/// A value per cell, grown as cells appear.
#[derive(Debug, Clone)]
pub(crate) struct PerCell<T> {
    values: Vec<T>,
    blank: T,
}

impl<T: Clone> PerCell<T> {
    pub(crate) fn new(blank: T) -> PerCell<T> {
        PerCell {
            values: Vec::new(),
            blank,
        }
    }

    pub(crate) fn at(&mut self, cell: u32) -> &mut T {
        let i = cell as usize;
        if self.values.len() <= i {
            self.values.resize(i + 1, self.blank.clone());
        }
        // In range: resized just above.
        &mut self.values[i]
    }

    /// Each cell with its weight, skipping cells without one.
    pub(crate) fn weighted<'a>(
        &'a self,
        weights: &'a CellWeights,
    ) -> impl Iterator<Item = (usize, f64, &'a T)> + Clone + 'a {
        self.values
            .iter()
            .enumerate()
            .filter_map(|(c, v)| weights.get(c).map(|w| (c, w, v)))
    }
}

/// The weight of each cell; `None` for a cell outside the weighting (a bairro without
/// census margins) or when nothing is weighted.
#[derive(Debug, Clone, Default)]
pub(crate) struct CellWeights(Vec<Option<f64>>);

impl CellWeights {
    /// From the raking of the cells ([`Cells::units`]), one weight per cell.
    pub(crate) fn from_cells(weights: &[Option<f64>]) -> Self {
        CellWeights(weights.to_vec())
    }

    pub(crate) fn get(&self, cell: usize) -> Option<f64> {
        self.0.get(cell).copied().flatten()
    }

    /// Cells with or without a weight.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_is_bairro_sex_and_age_band() {
        let mut cells = Cells::default();
        let a = cells.id("Centro", Some("feminino"), Some(31));
        assert_eq!(
            cells.id("Centro", Some("feminino"), Some(39)),
            a,
            "same band"
        );
        assert_ne!(cells.id("Centro", Some("feminino"), Some(41)), a);
        assert_ne!(cells.id("Vila", Some("feminino"), Some(31)), a);
        let other = cells.id("Centro", Some("outro"), None);
        assert_eq!(
            cells.id("Centro", None, Some(15)),
            other,
            "under 18: no band"
        );
        assert_eq!(cells.len(), 4);
        let units = cells.units();
        assert_eq!(units.len(), 4);
        let (ua, uo) = (units[a as usize], units[other as usize]);
        assert_eq!(ua.bairro, "Centro");
        assert_eq!(ua.sexo, Some("feminino"));
        assert_eq!(ua.idade.and_then(age_band), Some("30-39"));
        assert_eq!((uo.sexo, uo.idade), (None, None));
        let mut weights = vec![None; 4];
        weights[a as usize] = Some(2.0);
        let w = CellWeights::from_cells(&weights);
        assert_eq!(
            (w.get(a as usize), w.get(other as usize)),
            (Some(2.0), None)
        );
    }
}
