//! Quotas: cells of the sample (by bairro, class, sex × age band) with a target each, and
//! which cell a respondent falls in. No storage here: the counters live in the database
//! (`db::quotas`), which takes a place inside the submit transaction.
//!
//! Categories are the ones the rest of the study already uses, so a quota and a weight
//! speak of the same groups: `sexo` and `faixa_etaria` are the census's (women and men,
//! adult age bands of [`crate::census::ADULT_BANDS`]), `classe_renda` is the IBGE income
//! class of the income band, `classe_cceb` the Critério Brasil class of the configured
//! table, `bairro` the account's neighbourhood. A respondent with no category on one of
//! a quota's variables ("prefiro não informar", "outro", an unfinished CCEB block), or in
//! a cell the configuration gives no target, is not placed in that quota: it neither
//! limits nor counts them.

use std::collections::BTreeMap;

use super::derived::option_income_class;
use super::{AnswerValue, Answers, CcebTable, Definition, QuestionKind, Role, Unit};
use crate::census::ADULT_BANDS;
use crate::census::weighting::{age_band, sex_category};
use crate::stats::income_class::IncomeClass;

/// The answer key of the sex question (the census weighting reads the same key).
pub const SEX_KEY: &str = "sexo";
/// Prefix of `responses.screened_out` for a respondent a full `close` cell turned away.
pub const SCREEN_OUT_PREFIX: &str = "quota:";
/// Between the categories of a two-variable cell in its key (`feminino × 18-29`).
pub const CELL_SEPARATOR: &str = " × ";

/// A variable a quota may be defined by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Var {
    Bairro,
    ClasseCceb,
    ClasseRenda,
    Sexo,
    FaixaEtaria,
}

impl Var {
    pub const ALL: [Var; 5] = [
        Var::Bairro,
        Var::ClasseCceb,
        Var::ClasseRenda,
        Var::Sexo,
        Var::FaixaEtaria,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Var::Bairro => "bairro",
            Var::ClasseCceb => "classe_cceb",
            Var::ClasseRenda => "classe_renda",
            Var::Sexo => "sexo",
            Var::FaixaEtaria => "faixa_etaria",
        }
    }

    pub fn parse(s: &str) -> Option<Var> {
        Var::ALL.into_iter().find(|v| v.name() == s)
    }
}

/// What happens when a cell is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Turn the respondent away (screened out with rule `quota:<name>`).
    Close,
    /// Accept and count beyond the target; the fill shows the excess.
    Warn,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Close => "close",
            Mode::Warn => "warn",
        }
    }
}

/// What is kept of a respondent a full cell turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WhenFull {
    /// The response stays, marked screened out (like any screen-out rule).
    #[default]
    ScreenOut,
    /// The answers are erased; only the mark remains, so the respondent is not asked again.
    Delete,
}

/// One cell and its target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    /// The categories in the quota's variable order, joined by [`CELL_SEPARATOR`].
    pub key: String,
    pub target: i64,
}

/// One quota: its variables, mode and cells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quota {
    pub name: String,
    pub by: Vec<Var>,
    pub mode: Mode,
    pub cells: Vec<Cell>,
}

/// Every quota of the study, and what happens to the respondents of full cells.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Quotas {
    pub list: Vec<Quota>,
    pub when_full: WhenFull,
}

/// A configuration mistake: where (relative to the quota, e.g. `targets.Centro`) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaError {
    pub at: String,
    pub reason: String,
}

fn error(at: impl Into<String>, reason: impl Into<String>) -> QuotaError {
    QuotaError {
        at: at.into(),
        reason: reason.into(),
    }
}

/// The categories each variable can take in this study, for checking a configuration.
#[derive(Debug, Clone)]
pub struct Categories {
    by_var: BTreeMap<Var, Vec<String>>,
}

impl Categories {
    /// From the configured bairros and CCEB table. `None` for a variable the questionnaire
    /// cannot give (no sex question, no age, no income in minimum wages, CCEB items
    /// missing): a quota on it is refused at start-up.
    pub fn of(def: &Definition, cceb: &CcebTable, bairros: &[String]) -> Categories {
        let mut by_var = BTreeMap::new();
        by_var.insert(Var::Bairro, bairros.to_vec());
        if def.questions().any(|q| q.key == SEX_KEY) {
            by_var.insert(Var::Sexo, vec!["feminino".into(), "masculino".into()]);
        }
        if def.by_role(Role::Age).is_some() {
            by_var.insert(
                Var::FaixaEtaria,
                ADULT_BANDS.iter().map(|s| s.to_string()).collect(),
            );
        }
        if income_question(def).is_some() {
            by_var.insert(
                Var::ClasseRenda,
                IncomeClass::ALL
                    .iter()
                    .map(|c| c.as_str().to_string())
                    .collect(),
            );
        }
        if cceb.keys().all(|k| def.questions().any(|q| q.key == k)) {
            by_var.insert(
                Var::ClasseCceb,
                cceb.classes().iter().map(|c| c.class.clone()).collect(),
            );
        }
        Categories { by_var }
    }

    fn of_var(&self, v: Var) -> Option<&[String]> {
        self.by_var.get(&v).map(Vec::as_slice)
    }
}

/// A quota as written in the configuration, before checking.
#[derive(Debug, Clone, Default)]
pub struct QuotaSpec<'a> {
    pub name: &'a str,
    pub by: &'a [String],
    pub mode: &'a str,
    /// `targets = { "Centro" = 40 }`: one-variable cells by their category.
    pub targets: Vec<(&'a str, i64)>,
    /// `cells = [{ cell = { sexo = "feminino", faixa_etaria = "18-29" }, target = 20 }]`.
    pub cells: Vec<(&'a BTreeMap<String, String>, i64)>,
}

impl Quota {
    /// Checks a configured quota: a name of letters, digits and `_`; one or two known
    /// variables the questionnaire can give; `close` or `warn`; each cell's categories
    /// known, given once, with a target above 0. The error says where.
    pub fn parse(spec: &QuotaSpec<'_>, cats: &Categories) -> Result<Quota, QuotaError> {
        let name_ok = !spec.name.is_empty()
            && spec.name.len() <= 64
            && spec
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !name_ok {
            return Err(error(
                "name",
                "give a name of 1 to 64 letters, digits or `_`",
            ));
        }
        let mut by = Vec::new();
        for (i, v) in spec.by.iter().enumerate() {
            let var = Var::parse(v).ok_or_else(|| {
                let names: Vec<&str> = Var::ALL.iter().map(|v| v.name()).collect();
                error(
                    format!("by[{i}]"),
                    format!(
                        "unknown variable `{v}`; expected one of {}",
                        names.join(", ")
                    ),
                )
            })?;
            if cats.of_var(var).is_none() {
                return Err(error(
                    format!("by[{i}]"),
                    format!("the questionnaire does not ask what `{v}` needs"),
                ));
            }
            if by.contains(&var) {
                return Err(error(format!("by[{i}]"), format!("`{v}` is listed twice")));
            }
            by.push(var);
        }
        if by.is_empty() || by.len() > 2 {
            return Err(error("by", "list one or two variables"));
        }
        let mode = match spec.mode {
            "close" => Mode::Close,
            "warn" => Mode::Warn,
            other => return Err(error("mode", format!("`{other}`: expected close or warn"))),
        };
        let mut cells: Vec<Cell> = Vec::new();
        let known = |var: Var, value: &str, at: &str| -> Result<(), QuotaError> {
            if cats
                .of_var(var)
                .is_some_and(|c| c.iter().any(|k| k == value))
            {
                Ok(())
            } else {
                Err(error(
                    at,
                    format!("`{value}` is not a category of `{}`", var.name()),
                ))
            }
        };
        let mut push = |key: String, target: i64, at: &str| -> Result<(), QuotaError> {
            if target <= 0 {
                return Err(error(at, "the target must be above 0"));
            }
            if cells.iter().any(|c| c.key == key) {
                return Err(error(at, format!("cell `{key}` is given twice")));
            }
            cells.push(Cell { key, target });
            Ok(())
        };
        if !spec.targets.is_empty() && by.len() != 1 {
            return Err(error(
                "targets",
                "`targets` is for one variable; give two-variable cells as `cells`",
            ));
        }
        for (category, target) in &spec.targets {
            let at = format!("targets.{category}");
            known(by[0], category, &at)?;
            push((*category).to_string(), *target, &at)?;
        }
        for (i, (cell, target)) in spec.cells.iter().enumerate() {
            let at = format!("cells[{i}]");
            if cell.len() != by.len()
                || cell
                    .keys()
                    .any(|k| Var::parse(k).is_none_or(|v| !by.contains(&v)))
            {
                let names: Vec<&str> = by.iter().map(|v| v.name()).collect();
                return Err(error(
                    format!("{at}.cell"),
                    format!("give exactly {}", names.join(" and ")),
                ));
            }
            let mut parts = Vec::new();
            for var in &by {
                let value = &cell[var.name()];
                known(*var, value, &format!("{at}.cell.{}", var.name()))?;
                parts.push(value.as_str());
            }
            push(parts.join(CELL_SEPARATOR), *target, &format!("{at}.target"))?;
        }
        if cells.is_empty() {
            return Err(error("targets", "give at least one cell with its target"));
        }
        Ok(Quota {
            name: spec.name.to_string(),
            by,
            mode,
            cells,
        })
    }

    /// The cell `profile` falls in, if it has a category on every variable and the cell
    /// has a target.
    pub fn cell_of(&self, profile: &Profile) -> Option<&Cell> {
        let parts: Option<Vec<&str>> = self.by.iter().map(|v| profile.get(*v)).collect();
        let key = parts?.join(CELL_SEPARATOR);
        self.cells.iter().find(|c| c.key == key)
    }

    /// Whether question `key` is one this quota places respondents by (the bairro is
    /// the account's, asked by no question).
    pub fn reads_question(&self, def: &Definition, cceb: &CcebTable, key: &str) -> bool {
        self.by.iter().any(|v| match v {
            Var::Bairro => false,
            Var::Sexo => key == SEX_KEY,
            Var::FaixaEtaria => def.by_role(Role::Age).is_some_and(|q| q.key == key),
            Var::ClasseRenda => income_question(def).is_some_and(|q| q.key == key),
            Var::ClasseCceb => cceb.keys().any(|k| k == key),
        })
    }

    /// The rule key recorded on a response this quota screened out.
    pub fn screen_out_key(&self) -> String {
        format!("{SCREEN_OUT_PREFIX}{}", self.name)
    }
}

impl Quotas {
    /// Checks that no two quotas share a name.
    pub fn new(list: Vec<Quota>, when_full: WhenFull) -> Result<Quotas, QuotaError> {
        for (i, q) in list.iter().enumerate() {
            if list[..i].iter().any(|p| p.name == q.name) {
                return Err(error(
                    "name",
                    format!("quota `{}` is defined twice", q.name),
                ));
            }
        }
        Ok(Quotas { list, when_full })
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn by_name(&self, name: &str) -> Option<&Quota> {
        self.list.iter().find(|q| q.name == name)
    }

    /// Each quota `profile` is placed in, with its cell.
    pub fn placements<'q>(&'q self, profile: &Profile) -> Vec<(&'q Quota, &'q Cell)> {
        self.list
            .iter()
            .filter_map(|q| q.cell_of(profile).map(|c| (q, c)))
            .collect()
    }
}

/// The name of the quota a `responses.screened_out` value refers to, if a quota's.
pub fn screened_by_quota(screened_out: Option<&str>) -> Option<&str> {
    screened_out.and_then(|s| s.strip_prefix(SCREEN_OUT_PREFIX))
}

/// A respondent's category on each variable, where they have one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    values: BTreeMap<Var, String>,
}

impl Profile {
    /// From the account's bairro and the stored answers.
    pub fn of(def: &Definition, cceb: &CcebTable, bairro: &str, answers: &Answers) -> Profile {
        let mut values = BTreeMap::new();
        if !bairro.is_empty() {
            values.insert(Var::Bairro, bairro.to_string());
        }
        let single = |key: &str| match answers.get(key) {
            Some(AnswerValue::Single(v)) => Some(v.as_str()),
            _ => None,
        };
        if let Some(s) = sex_category(single(SEX_KEY)) {
            values.insert(Var::Sexo, s.to_string());
        }
        let age = def
            .by_role(Role::Age)
            .and_then(|q| match answers.get(&q.key) {
                Some(AnswerValue::Integer(n)) => Some(*n),
                _ => None,
            });
        if let Some(band) = age.and_then(age_band) {
            values.insert(Var::FaixaEtaria, band.to_string());
        }
        if let Some(q) = income_question(def)
            && let Some(v) = single(&q.key)
            && let Some(class) = q
                .options()
                .iter()
                .find(|o| o.value == v)
                .and_then(option_income_class)
        {
            values.insert(Var::ClasseRenda, class.as_str().to_string());
        }
        if let Some(score) = cceb.score(answers) {
            values.insert(Var::ClasseCceb, score.class);
        }
        Profile { values }
    }

    pub fn get(&self, v: Var) -> Option<&str> {
        self.values.get(&v).map(String::as_str)
    }
}

/// The household-income question whose bands are in minimum wages (what `classe_renda`
/// is derived from, as in the export).
fn income_question(def: &Definition) -> Option<&super::Question> {
    def.by_role(Role::HouseholdIncome).filter(|q| {
        q.unit == Some(Unit::SalarioMinimo) && matches!(q.kind, QuestionKind::Single { .. })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cats() -> Categories {
        let def = crate::survey::default_definition().expect("definition");
        Categories::of(
            &def,
            &CcebTable::embedded(),
            &["Centro".to_string(), "Vila Nova".to_string()],
        )
    }

    fn spec<'a>(name: &'a str, by: &'a [String], mode: &'a str) -> QuotaSpec<'a> {
        QuotaSpec {
            name,
            by,
            mode,
            ..QuotaSpec::default()
        }
    }

    /// (variables, mode, targets, the key the error names)
    type Case<'a> = (Vec<&'a str>, &'a str, Vec<(&'a str, i64)>, &'a str);

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_bairro_quota_is_parsed() {
        let by = strings(&["bairro"]);
        let mut s = spec("bairros", &by, "close");
        s.targets = vec![("Centro", 40), ("Vila Nova", 30)];
        let q = Quota::parse(&s, &cats()).expect("valid");
        assert_eq!(q.mode, Mode::Close);
        assert_eq!(q.cells.len(), 2);
        assert_eq!(q.cells[1].key, "Vila Nova");
    }

    #[test]
    fn mistakes_are_refused_where_they_are() {
        let c = cats();
        let cases: Vec<Case<'_>> = vec![
            (
                vec!["bairro"],
                "close",
                vec![("Centro", 0)],
                "targets.Centro",
            ),
            (
                vec!["bairro"],
                "close",
                vec![("Lugar Nenhum", 5)],
                "targets.Lugar Nenhum",
            ),
            (vec!["renda"], "close", vec![("A", 5)], "by[0]"),
            (
                vec!["bairro", "bairro"],
                "close",
                vec![("Centro", 5)],
                "by[1]",
            ),
            (vec!["bairro"], "fechar", vec![("Centro", 5)], "mode"),
            (vec!["sexo"], "warn", vec![("outro", 5)], "targets.outro"),
            (
                vec!["faixa_etaria"],
                "warn",
                vec![("15-17", 5)],
                "targets.15-17",
            ),
            (vec!["bairro"], "warn", vec![], "targets"),
            (
                vec!["sexo", "faixa_etaria"],
                "warn",
                vec![("feminino", 5)],
                "targets",
            ),
            (vec![], "warn", vec![], "by"),
        ];
        for (by, mode, targets, at) in cases {
            let by = strings(&by);
            let mut s = spec("q", &by, mode);
            s.targets = targets;
            let e = Quota::parse(&s, &c).expect_err(at);
            assert_eq!(e.at, at, "{e:?}");
        }
        let by = strings(&["bairro"]);
        let mut s = spec("com espaço", &by, "close");
        s.targets = vec![("Centro", 1)];
        assert_eq!(Quota::parse(&s, &c).expect_err("name").at, "name");
    }

    #[test]
    fn two_variable_cells_are_checked_and_keyed_in_variable_order() {
        let c = cats();
        let by = strings(&["sexo", "faixa_etaria"]);
        let ok: BTreeMap<String, String> = [("faixa_etaria", "18-29"), ("sexo", "feminino")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut s = spec("sexo_idade", &by, "warn");
        s.cells = vec![(&ok, 20)];
        let q = Quota::parse(&s, &c).expect("valid");
        assert_eq!(q.cells[0].key, "feminino × 18-29");
        let twice = vec![(&ok, 20), (&ok, 5)];
        s.cells = twice;
        assert_eq!(
            Quota::parse(&s, &c).expect_err("twice").at,
            "cells[1].target"
        );
        let partial: BTreeMap<String, String> =
            [("sexo".to_string(), "feminino".to_string())].into();
        s.cells = vec![(&partial, 5)];
        assert_eq!(
            Quota::parse(&s, &c).expect_err("partial").at,
            "cells[0].cell"
        );
        let bad: BTreeMap<String, String> = [("faixa_etaria", "18-29"), ("sexo", "x")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        s.cells = vec![(&bad, 5)];
        assert_eq!(
            Quota::parse(&s, &c).expect_err("category").at,
            "cells[0].cell.sexo"
        );
    }

    #[test]
    fn duplicate_names_are_refused() {
        let by = strings(&["bairro"]);
        let mut s = spec("b", &by, "close");
        s.targets = vec![("Centro", 1)];
        let q = Quota::parse(&s, &cats()).expect("valid");
        assert!(Quotas::new(vec![q.clone(), q], WhenFull::ScreenOut).is_err());
    }

    #[test]
    fn a_respondent_is_placed_by_their_answers() {
        let def = crate::survey::default_definition().expect("definition");
        let cceb = CcebTable::embedded();
        let c = Categories::of(&def, &cceb, &strings(&["Centro"]));
        let by = strings(&["sexo", "faixa_etaria"]);
        let cell: BTreeMap<String, String> = [("faixa_etaria", "30-39"), ("sexo", "feminino")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut s = spec("sexo_idade", &by, "close");
        s.cells = vec![(&cell, 3)];
        let q = Quota::parse(&s, &c).expect("valid");
        let by = strings(&["classe_renda"]);
        let mut s = spec("renda", &by, "warn");
        s.targets = vec![("D", 3)];
        let renda = Quota::parse(&s, &c).expect("valid");

        let mut answers = Answers::default();
        answers.insert("sexo", AnswerValue::Single("feminino".into()));
        answers.insert("idade", AnswerValue::Integer(34));
        answers.insert("renda_familiar", AnswerValue::Single("2a4sm".into()));
        let p = Profile::of(&def, &cceb, "Centro", &answers);
        assert_eq!(p.get(Var::FaixaEtaria), Some("30-39"));
        assert_eq!(
            q.cell_of(&p).map(|c| c.key.as_str()),
            Some("feminino × 30-39")
        );
        assert_eq!(renda.cell_of(&p).map(|c| c.key.as_str()), Some("D"));
        assert_eq!(p.get(Var::ClasseCceb), None, "CCEB block not answered");

        // "Prefiro não informar" has no census category: not placed.
        answers.insert("sexo", AnswerValue::Single("prefiro_nao_informar".into()));
        let p = Profile::of(&def, &cceb, "Centro", &answers);
        assert_eq!(q.cell_of(&p), None);
        // A category without a target is not placed either.
        answers.insert("sexo", AnswerValue::Single("masculino".into()));
        let p = Profile::of(&def, &cceb, "Centro", &answers);
        assert_eq!(q.cell_of(&p), None);
    }

    #[test]
    fn the_screen_out_key_names_the_quota() {
        assert_eq!(screened_by_quota(Some("quota:bairros")), Some("bairros"));
        assert_eq!(screened_by_quota(Some("responsavel_compras")), None);
        assert_eq!(screened_by_quota(None), None);
    }
}
