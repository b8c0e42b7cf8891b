//! The flags a response can carry, with their codes in exports (`qualidade`).

use serde::Serialize;

/// One data-quality flag. The code is what exports write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    /// Completed in under a fraction of the median duration.
    Rapido,
    /// The same answer for every item of a grid.
    LinhaReta,
    /// A soft consistency check the respondent confirmed.
    Inconsistente,
    /// Likely the same person as an earlier completed response.
    Duplicado,
}

impl Flag {
    /// Every flag, in the order exports list them.
    pub const ALL: [Flag; 4] = [
        Flag::Rapido,
        Flag::LinhaReta,
        Flag::Inconsistente,
        Flag::Duplicado,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Flag::Rapido => "rapido",
            Flag::LinhaReta => "linha_reta",
            Flag::Inconsistente => "inconsistente",
            Flag::Duplicado => "duplicado",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of flags (a small bit set: a response has at most four).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct FlagSet(u8);

impl FlagSet {
    pub fn insert(&mut self, f: Flag) {
        self.0 |= f.bit();
    }

    pub fn contains(self, f: Flag) -> bool {
        self.0 & f.bit() != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Flag> {
        Flag::ALL.into_iter().filter(move |f| self.contains(*f))
    }

    /// The codes joined by `;` (the `qualidade` column); empty when clean.
    pub fn codes(self) -> String {
        self.iter().map(Flag::code).collect::<Vec<_>>().join(";")
    }
}

impl FromIterator<Flag> for FlagSet {
    fn from_iter<I: IntoIterator<Item = Flag>>(iter: I) -> Self {
        let mut s = FlagSet::default();
        for f in iter {
            s.insert(f);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_joined_in_a_fixed_order() {
        let s: FlagSet = [Flag::Duplicado, Flag::Rapido].into_iter().collect();
        assert_eq!(s.codes(), "rapido;duplicado");
        assert_eq!(FlagSet::default().codes(), "");
        assert!(s.contains(Flag::Rapido) && !s.contains(Flag::LinhaReta));
    }
}
