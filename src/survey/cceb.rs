//! The Critério de Classificação Econômica Brasil (CCEB, by ABEP): a household's points
//! from its goods, the education of its head and its public services, and the economic
//! class (A, B1, B2, C1, C2, DE) those points fall in.
//!
//! The points and cut-offs are not code: ABEP revises them, so they live in a table file
//! that names its edition (`assets/cceb/cceb-2026.toml`, CCEB 2026, embedded; configuration
//! key `survey.cceb_table` replaces it, e.g. with `assets/cceb/cceb-2015.toml` for a study
//! comparable with waves scored under the 2015–2024 editions). The table maps question key → option value →
//! points, so the scoring works for any questionnaire that asks those keys.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, LazyLock};

use serde::{Deserialize, Serialize};

use super::{AnswerValue, Answers};

/// The table shipped with the application (CCEB 2026, ABEP's edition in force since
/// 05/02/2026).
pub const DEFAULT_TOML: &str = include_str!("../../assets/cceb/cceb-2026.toml");

/// The embedded table, parsed once. It is checked by a unit test, so a failure to parse
/// can only be a build made from an edited file that never ran the tests.
static EMBEDDED: LazyLock<Arc<CcebTable>> = LazyLock::new(|| {
    Arc::new(CcebTable::parse(DEFAULT_TOML).unwrap_or_else(|e| {
        // Not reachable from input: the text is compiled in.
        panic!("assets/cceb/cceb-2026.toml: {e}")
    }))
});

/// A problem with a CCEB table, naming the table key at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{key}`: {reason}")]
pub struct CcebError {
    /// The key in the table file, e.g. `items.cceb_banheiros` or `classes[2]`.
    pub key: String,
    /// What is wrong, in English.
    pub reason: String,
}

fn error(key: impl Into<String>, reason: impl Into<String>) -> CcebError {
    CcebError {
        key: key.into(),
        reason: reason.into(),
    }
}

/// One economic class and its inclusive range of points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CcebClass {
    /// Its name, e.g. `B1`.
    pub class: String,
    /// Fewest points of the class.
    pub min: u32,
    /// Most points of the class.
    pub max: u32,
}

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TableFile {
    edition: String,
    publisher: String,
    source: String,
    items: BTreeMap<String, BTreeMap<String, u32>>,
    classes: Vec<CcebClass>,
}

/// A checked CCEB table: points per option of each item, and the classes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CcebTable {
    edition: String,
    publisher: String,
    source: String,
    items: BTreeMap<String, BTreeMap<String, u32>>,
    /// Ordered from the most points to the fewest.
    classes: Vec<CcebClass>,
}

/// A household's score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CcebScore {
    /// Sum of the points of every item.
    pub points: u32,
    /// The class those points fall in.
    pub class: String,
}

impl CcebTable {
    /// The table shipped with the application (CCEB 2026).
    pub fn embedded() -> Arc<CcebTable> {
        Arc::clone(&EMBEDDED)
    }

    /// Parses and checks a table. Refused, naming the key: TOML errors and unknown keys;
    /// an empty edition, publisher or source; no items; an item key that is not a
    /// question key (lowercase letters, digits, `_`); an item without options or with an
    /// empty option value; no classes; an empty or repeated class name; `min > max`;
    /// overlapping classes; classes that leave a gap or do not start at 0; a highest
    /// possible score beyond the top class.
    pub fn parse(text: &str) -> Result<CcebTable, CcebError> {
        let file: TableFile = toml::from_str(text).map_err(|e| {
            let at = e
                .span()
                .map(|s| {
                    let line = text.get(..s.start).map_or(0, |t| t.lines().count().max(1));
                    format!(" (line {line})")
                })
                .unwrap_or_default();
            error("(file)", format!("{}{at}", e.message()))
        })?;
        for (key, value) in [
            ("edition", &file.edition),
            ("publisher", &file.publisher),
            ("source", &file.source),
        ] {
            if value.trim().is_empty() {
                return Err(error(key, "must not be empty: say which edition this is"));
            }
        }
        if file.items.is_empty() {
            return Err(error("items", "no item: nothing to score"));
        }
        for (key, options) in &file.items {
            let name = format!("items.{key}");
            let valid_key = !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !valid_key {
                return Err(error(
                    name,
                    "not a question key (lowercase letters, digits and `_` only)",
                ));
            }
            if options.is_empty() {
                return Err(error(name, "no option values"));
            }
            if options.keys().any(|v| v.trim().is_empty()) {
                return Err(error(name, "an empty option value"));
            }
        }
        let classes = check_classes(file.classes, max_points(&file.items))?;
        Ok(CcebTable {
            edition: file.edition,
            publisher: file.publisher,
            source: file.source,
            items: file.items,
            classes,
        })
    }

    /// The edition, e.g. `CCEB 2026`.
    pub fn edition(&self) -> &str {
        &self.edition
    }

    /// Who published it, and where.
    pub fn citation(&self) -> String {
        format!("{}, {}, {}", self.edition, self.publisher, self.source)
    }

    /// The question keys the table scores, in key order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.items.keys().map(String::as_str)
    }

    /// Points of one option of one item; `None` for a key or value the table lacks.
    pub fn points(&self, key: &str, value: &str) -> Option<u32> {
        self.items.get(key)?.get(value).copied()
    }

    /// The option values of an item with their points, in value order.
    pub fn item(&self, key: &str) -> Option<&BTreeMap<String, u32>> {
        self.items.get(key)
    }

    /// The classes, from the most points to the fewest.
    pub fn classes(&self) -> &[CcebClass] {
        &self.classes
    }

    /// The class of a total of points; `None` above the top class.
    pub fn class_of(&self, points: u32) -> Option<&str> {
        self.classes
            .iter()
            .find(|c| (c.min..=c.max).contains(&points))
            .map(|c| c.class.as_str())
    }

    /// Scores with `value_of(key)` giving the chosen option value of each item. `None`
    /// when any item is unanswered, not asked, or holds a value the table lacks: a
    /// partial sum would put the household in too low a class.
    pub fn score_with<'a>(
        &self,
        mut value_of: impl FnMut(&str) -> Option<&'a str>,
    ) -> Option<CcebScore> {
        let mut points = 0u32;
        for (key, options) in &self.items {
            let value = value_of(key)?;
            points = points.checked_add(*options.get(value)?)?;
        }
        let class = self.class_of(points)?.to_string();
        Some(CcebScore { points, class })
    }

    /// Scores a response's answers (see [`CcebTable::score_with`]).
    pub fn score(&self, answers: &Answers) -> Option<CcebScore> {
        self.score_with(|key| match answers.get(key) {
            Some(AnswerValue::Single(v)) => Some(v.as_str()),
            _ => None,
        })
    }
}

/// The highest total the items can give.
fn max_points(items: &BTreeMap<String, BTreeMap<String, u32>>) -> u64 {
    items
        .values()
        .map(|o| u64::from(o.values().copied().max().unwrap_or(0)))
        .sum()
}

/// Checks the classes and orders them from the most points to the fewest.
fn check_classes(classes: Vec<CcebClass>, max_points: u64) -> Result<Vec<CcebClass>, CcebError> {
    if classes.is_empty() {
        return Err(error(
            "classes",
            "no class: the points cannot be classified",
        ));
    }
    let mut names = BTreeSet::new();
    for (i, c) in classes.iter().enumerate() {
        let key = format!("classes[{i}]");
        if c.class.trim().is_empty() {
            return Err(error(key, "empty class name"));
        }
        if !names.insert(c.class.as_str()) {
            return Err(error(key, format!("class `{}` given twice", c.class)));
        }
        if c.min > c.max {
            return Err(error(
                key,
                format!("class `{}`: min {} above max {}", c.class, c.min, c.max),
            ));
        }
    }
    let mut sorted = classes.clone();
    sorted.sort_by_key(|c| c.min);
    let mut expected = 0u64;
    for c in &sorted {
        let at = classes
            .iter()
            .position(|o| o.class == c.class)
            .unwrap_or_default();
        let key = format!("classes[{at}]");
        let min = u64::from(c.min);
        if min < expected {
            return Err(error(
                key,
                format!(
                    "class `{}` ({}–{}) overlaps the class below it",
                    c.class, c.min, c.max
                ),
            ));
        }
        if min > expected {
            return Err(error(
                key,
                format!(
                    "missing class: no class holds {expected}–{} points (below `{}`)",
                    min - 1,
                    c.class
                ),
            ));
        }
        expected = u64::from(c.max) + 1;
    }
    if expected <= max_points {
        return Err(error(
            "classes",
            format!(
                "missing class: the items can give up to {max_points} points, the top class \
                 ends at {}",
                expected - 1
            ),
        ));
    }
    sorted.reverse();
    Ok(sorted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answers(pairs: &[(&str, &str)]) -> Answers {
        let mut a = Answers::new();
        for (k, v) in pairs {
            a.insert(*k, AnswerValue::Single((*v).to_string()));
        }
        a
    }

    /// ABEP's 2015 point system (editions 2015–2024), kept for studies comparable with
    /// earlier waves.
    fn table_2015() -> CcebTable {
        CcebTable::parse(include_str!("../../assets/cceb/cceb-2015.toml"))
            .unwrap_or_else(|e| panic!("cceb-2015.toml: {e}"))
    }

    /// A household with none of the goods, no schooling, no water, no paving (2015 keys).
    fn poorest() -> Vec<(&'static str, &'static str)> {
        vec![
            ("cceb_banheiros", "0"),
            ("cceb_empregados", "0"),
            ("cceb_automoveis", "0"),
            ("cceb_microcomputador", "0"),
            ("cceb_lava_loucas", "0"),
            ("cceb_geladeira", "0"),
            ("cceb_freezer", "0"),
            ("cceb_lava_roupas", "0"),
            ("cceb_dvd", "0"),
            ("cceb_micro_ondas", "0"),
            ("cceb_motocicleta", "0"),
            ("cceb_secadora", "0"),
            ("cceb_instrucao_chefe", "analfabeto_fund1_incompleto"),
            ("cceb_agua_encanada", "nao"),
            ("cceb_rua_pavimentada", "nao"),
        ]
    }

    fn with(changes: &[(&'static str, &'static str)]) -> Answers {
        let mut pairs = poorest();
        for (k, v) in changes {
            if let Some(p) = pairs.iter_mut().find(|(key, _)| key == k) {
                p.1 = v;
            }
        }
        answers(&pairs)
    }

    fn score(a: &Answers) -> Option<(u32, String)> {
        table_2015().score(a).map(|s| (s.points, s.class))
    }

    #[test]
    fn the_2015_table_has_its_keys() {
        let t = table_2015();
        assert_eq!(t.edition(), "CCEB 2015");
        assert!(t.citation().contains("www.abep.org/criterio-brasil"));
        let keys: Vec<&str> = t.keys().collect();
        let mut expected: Vec<&str> = poorest().iter().map(|(k, _)| *k).collect();
        expected.sort_unstable();
        assert_eq!(keys, expected);
        let names: Vec<&str> = t.classes().iter().map(|c| c.class.as_str()).collect();
        assert_eq!(names, ["A", "B1", "B2", "C1", "C2", "DE"]);
    }

    #[test]
    fn worked_examples_2015() {
        // Points and cut-offs of ABEP's CCEB 2015 table (assets/cceb/cceb-2015.toml).
        assert_eq!(score(&answers(&poorest())), Some((0, "DE".into())));
        // 1 banheiro 3 + geladeira 2 + lava-roupa 2 + micro-ondas 2 + fund. I completo 1
        // + água 4 + rua 2 = 16: the top of DE.
        let de_top = with(&[
            ("cceb_banheiros", "1"),
            ("cceb_geladeira", "1"),
            ("cceb_lava_roupas", "1"),
            ("cceb_micro_ondas", "1"),
            ("cceb_instrucao_chefe", "fund1_completo"),
            ("cceb_agua_encanada", "sim"),
            ("cceb_rua_pavimentada", "sim"),
        ]);
        assert_eq!(score(&de_top), Some((16, "DE".into())));
        // One DVD more (1): 17, the bottom of C2.
        let c2 = with(&[
            ("cceb_banheiros", "1"),
            ("cceb_geladeira", "1"),
            ("cceb_lava_roupas", "1"),
            ("cceb_micro_ondas", "1"),
            ("cceb_dvd", "1"),
            ("cceb_instrucao_chefe", "fund1_completo"),
            ("cceb_agua_encanada", "sim"),
            ("cceb_rua_pavimentada", "sim"),
        ]);
        assert_eq!(score(&c2), Some((17, "C2".into())));
        // 2 banheiros 7 + 1 carro 3 + 1 computador 3 + geladeira 2 + lava-roupa 2 +
        // micro-ondas 2 + médio completo 4 + água 4 + rua 2 = 29: the bottom of B2.
        let b2 = with(&[
            ("cceb_banheiros", "2"),
            ("cceb_automoveis", "1"),
            ("cceb_microcomputador", "1"),
            ("cceb_geladeira", "1"),
            ("cceb_lava_roupas", "1"),
            ("cceb_micro_ondas", "1"),
            ("cceb_instrucao_chefe", "medio_completo"),
            ("cceb_agua_encanada", "sim"),
            ("cceb_rua_pavimentada", "sim"),
        ]);
        assert_eq!(score(&b2), Some((29, "B2".into())));
        // 3 banheiros 10 + 1 empregada 3 + 2 carros 5 + 2 computadores 6 + lava-louça 3 +
        // geladeira 2 + freezer 2 + lava-roupa 2 + secadora 2 + superior 7 + água 4 +
        // rua 2 = 48: class A.
        let a = with(&[
            ("cceb_banheiros", "3"),
            ("cceb_empregados", "1"),
            ("cceb_automoveis", "2"),
            ("cceb_microcomputador", "2"),
            ("cceb_lava_loucas", "1"),
            ("cceb_geladeira", "1"),
            ("cceb_freezer", "1"),
            ("cceb_lava_roupas", "1"),
            ("cceb_secadora", "1"),
            ("cceb_instrucao_chefe", "superior_completo"),
            ("cceb_agua_encanada", "sim"),
            ("cceb_rua_pavimentada", "sim"),
        ]);
        assert_eq!(score(&a), Some((48, "A".into())));
        // "4 ou mais" of everything, the top answers: the table's maximum, 100.
        let all: Vec<(&str, &str)> = poorest()
            .into_iter()
            .map(|(k, v)| match k {
                "cceb_instrucao_chefe" => (k, "superior_completo"),
                "cceb_agua_encanada" | "cceb_rua_pavimentada" => (k, "sim"),
                _ => (k, if v == "0" { "4" } else { v }),
            })
            .collect();
        assert_eq!(score(&answers(&all)), Some((100, "A".into())));
    }

    #[test]
    fn class_boundaries_2015() {
        let t = table_2015();
        for (points, class) in [
            (0, "DE"),
            (16, "DE"),
            (17, "C2"),
            (22, "C2"),
            (23, "C1"),
            (28, "C1"),
            (29, "B2"),
            (37, "B2"),
            (38, "B1"),
            (44, "B1"),
            (45, "A"),
            (100, "A"),
        ] {
            assert_eq!(t.class_of(points), Some(class), "{points}");
        }
        assert_eq!(t.class_of(101), None);
    }

    // -- CCEB 2026, the embedded table ---------------------------------------

    /// A household with none of the 2026 items and a head without schooling: 0 points.
    fn lowest_2026() -> Vec<(&'static str, &'static str)> {
        vec![
            ("cceb_automoveis", "0"),
            ("cceb_geladeira", "0"),
            ("cceb_microcomputador", "0"),
            ("cceb_banheiros", "0"),
            ("cceb_tem_lava_loucas", "nao"),
            ("cceb_tem_lava_roupas", "nao"),
            ("cceb_tem_micro_ondas", "nao"),
            ("cceb_agua_encanada", "nao"),
            ("cceb_servico_domestico", "nao"),
            ("cceb_instrucao_chefe_2026", "sem_instrucao"),
        ]
    }

    /// [`lowest_2026`] with `changes` applied; every changed key must be a 2026 item.
    fn household_2026(changes: &[(&'static str, &'static str)]) -> Answers {
        let mut pairs = lowest_2026();
        for (k, v) in changes {
            let p = pairs
                .iter_mut()
                .find(|(key, _)| key == k)
                .unwrap_or_else(|| panic!("{k} is not a 2026 item"));
            p.1 = v;
        }
        answers(&pairs)
    }

    fn score_2026(a: &Answers) -> Option<(u32, String)> {
        CcebTable::embedded().score(a).map(|s| (s.points, s.class))
    }

    #[test]
    fn the_embedded_table_is_cceb_2026_with_its_keys() {
        let t = CcebTable::embedded();
        assert_eq!(t.edition(), "CCEB 2026");
        assert!(t.citation().contains("abep.org"), "{}", t.citation());
        let keys: Vec<&str> = t.keys().collect();
        let mut expected: Vec<&str> = lowest_2026().iter().map(|(k, _)| *k).collect();
        expected.sort_unstable();
        assert_eq!(keys, expected);
        let names: Vec<&str> = t.classes().iter().map(|c| c.class.as_str()).collect();
        assert_eq!(names, ["A", "B1", "B2", "C1", "C2", "DE"]);
        // No key of a 2015 item whose meaning or options changed: answers given to the
        // version 2 questionnaire are never scored with the 2026 points.
        for old in [
            "cceb_lava_loucas",
            "cceb_lava_roupas",
            "cceb_micro_ondas",
            "cceb_empregados",
            "cceb_instrucao_chefe",
        ] {
            assert!(t.item(old).is_none(), "{old}");
        }
        // The shipped questionnaire asks every item, with exactly the table's values.
        let def = crate::survey::default_definition().expect("questionnaire");
        for key in t.keys() {
            let q = def
                .question(key)
                .unwrap_or_else(|| panic!("{key} not asked"));
            let mut values: Vec<&str> = q.options().iter().map(|o| o.value.as_str()).collect();
            values.sort_unstable();
            let table: Vec<&str> = t
                .item(key)
                .expect("item")
                .keys()
                .map(String::as_str)
                .collect();
            assert_eq!(values, table, "{key}");
        }
    }

    #[test]
    fn points_2026() {
        // ABEP's CCEB 2026 (assets/cceb/cceb-2026.toml), item by item.
        let t = CcebTable::embedded();
        let row = |key: &str| -> Vec<u32> { t.item(key).expect(key).values().copied().collect() };
        assert_eq!(row("cceb_automoveis"), [0, 4, 8, 10, 11]);
        assert_eq!(row("cceb_geladeira"), [0, 6, 10, 12, 13]);
        assert_eq!(row("cceb_microcomputador"), [0, 6, 11, 13, 15]);
        assert_eq!(row("cceb_banheiros"), [0, 9, 15, 19, 20]);
        for (key, yes) in [
            ("cceb_tem_lava_loucas", 5),
            ("cceb_tem_lava_roupas", 6),
            ("cceb_tem_micro_ondas", 7),
            ("cceb_agua_encanada", 10),
            ("cceb_servico_domestico", 5),
        ] {
            assert_eq!(t.points(key, "nao"), Some(0), "{key}");
            assert_eq!(t.points(key, "sim"), Some(yes), "{key}");
        }
        let education: Vec<Option<u32>> = [
            "sem_instrucao",
            "fundamental_incompleto",
            "fundamental_completo",
            "medio_incompleto",
            "medio_completo",
            "superior_incompleto",
            "superior_completo",
        ]
        .iter()
        .map(|v| t.points("cceb_instrucao_chefe_2026", v))
        .collect();
        assert_eq!(
            education,
            [
                Some(0),
                Some(3),
                Some(4),
                Some(5),
                Some(6),
                Some(6),
                Some(8)
            ]
        );
    }

    #[test]
    fn worked_examples_2026() {
        // ABEP publishes no worked example households: these totals are computed here
        // from the table's points (assets/cceb/cceb-2026.toml), one household on each
        // side of every cut-off.
        // Nothing, no schooling: 0, DE.
        assert_eq!(score_2026(&answers(&lowest_2026())), Some((0, "DE".into())));
        // "4 ou mais" of everything, every yes, Superior completo: 11 + 13 + 15 + 20 +
        // 5 + 6 + 7 + 10 + 5 + 8 = 100, the top of A.
        let highest = household_2026(&[
            ("cceb_automoveis", "4"),
            ("cceb_geladeira", "4"),
            ("cceb_microcomputador", "4"),
            ("cceb_banheiros", "4"),
            ("cceb_tem_lava_loucas", "sim"),
            ("cceb_tem_lava_roupas", "sim"),
            ("cceb_tem_micro_ondas", "sim"),
            ("cceb_agua_encanada", "sim"),
            ("cceb_servico_domestico", "sim"),
            ("cceb_instrucao_chefe_2026", "superior_completo"),
        ]);
        assert_eq!(score_2026(&highest), Some((100, "A".into())));

        // Each pair differs by one answer and straddles a cut-off.
        // 1 geladeira 6 + 1 banheiro 9 + lava-roupa 6 + água 10 = 31.
        const POOR: [(&str, &str); 4] = [
            ("cceb_geladeira", "1"),
            ("cceb_banheiros", "1"),
            ("cceb_tem_lava_roupas", "sim"),
            ("cceb_agua_encanada", "sim"),
        ];
        // 1 carro 4 + 1 geladeira 6 + 1 banheiro 9 + lava-roupa 6 + micro-ondas 7 +
        // água 10 = 42.
        const LOWER_MIDDLE: [(&str, &str); 6] = [
            ("cceb_automoveis", "1"),
            ("cceb_geladeira", "1"),
            ("cceb_banheiros", "1"),
            ("cceb_tem_lava_roupas", "sim"),
            ("cceb_tem_micro_ondas", "sim"),
            ("cceb_agua_encanada", "sim"),
        ];
        // 1 carro 4 + 1 geladeira 6 + 1 computador 6 + 1 banheiro 9 + lava-roupa 6 +
        // micro-ondas 7 + água 10 + Médio completo 6 = 54.
        const MIDDLE: [(&str, &str); 8] = [
            ("cceb_automoveis", "1"),
            ("cceb_geladeira", "1"),
            ("cceb_microcomputador", "1"),
            ("cceb_banheiros", "1"),
            ("cceb_tem_lava_roupas", "sim"),
            ("cceb_tem_micro_ondas", "sim"),
            ("cceb_agua_encanada", "sim"),
            ("cceb_instrucao_chefe_2026", "medio_completo"),
        ];
        // 1 geladeira 6 + 1 computador 6 + 2 banheiros 15 + lava-roupa 6 + micro-ondas 7 +
        // água 10 = 50.
        const TWO_BATHROOMS: [(&str, &str); 6] = [
            ("cceb_geladeira", "1"),
            ("cceb_microcomputador", "1"),
            ("cceb_banheiros", "2"),
            ("cceb_tem_lava_roupas", "sim"),
            ("cceb_tem_micro_ondas", "sim"),
            ("cceb_agua_encanada", "sim"),
        ];
        // 2 carros 8 + 2 geladeiras 10 + 1 computador 6 + 2 banheiros 15 + lava-roupa 6 +
        // micro-ondas 7 + água 10 = 62.
        const UPPER_MIDDLE: [(&str, &str); 7] = [
            ("cceb_automoveis", "2"),
            ("cceb_geladeira", "2"),
            ("cceb_microcomputador", "1"),
            ("cceb_banheiros", "2"),
            ("cceb_tem_lava_roupas", "sim"),
            ("cceb_tem_micro_ondas", "sim"),
            ("cceb_agua_encanada", "sim"),
        ];
        // 2 carros 8 + 1 geladeira 6 + 2 computadores 11 + 2 banheiros 15 + lava-louça 5 +
        // lava-roupa 6 + micro-ondas 7 + água 10 = 68.
        const WELL_OFF: [(&str, &str); 8] = [
            ("cceb_automoveis", "2"),
            ("cceb_geladeira", "1"),
            ("cceb_microcomputador", "2"),
            ("cceb_banheiros", "2"),
            ("cceb_tem_lava_loucas", "sim"),
            ("cceb_tem_lava_roupas", "sim"),
            ("cceb_tem_micro_ondas", "sim"),
            ("cceb_agua_encanada", "sim"),
        ];
        let plus = |base: &[(&'static str, &'static str)],
                    more: &[(&'static str, &'static str)]| {
            let mut all = base.to_vec();
            all.extend_from_slice(more);
            all
        };
        let head = |level: &'static str| [("cceb_instrucao_chefe_2026", level)];
        let cases = [
            // 31 + Fundamental incompleto 3 = 34 | Fundamental completo 4 = 35.
            (plus(&POOR, &head("fundamental_incompleto")), 34, "DE"),
            (plus(&POOR, &head("fundamental_completo")), 35, "C2"),
            // 42 + Fundamental incompleto 3 = 45 | Fundamental completo 4 = 46.
            (
                plus(&LOWER_MIDDLE, &head("fundamental_incompleto")),
                45,
                "C2",
            ),
            (plus(&LOWER_MIDDLE, &head("fundamental_completo")), 46, "C1"),
            // 54 | + lava-louça 5 = 59.
            (MIDDLE.to_vec(), 54, "C1"),
            (plus(&MIDDLE, &[("cceb_tem_lava_loucas", "sim")]), 59, "B2"),
            // 50 + Fundamental completo 4 = 54 | Médio incompleto 5 = 55.
            (
                plus(&TWO_BATHROOMS, &head("fundamental_completo")),
                54,
                "C1",
            ),
            (plus(&TWO_BATHROOMS, &head("medio_incompleto")), 55, "B2"),
            // 62 + Fundamental incompleto 3 = 65 | Fundamental completo 4 = 66.
            (
                plus(&UPPER_MIDDLE, &head("fundamental_incompleto")),
                65,
                "B2",
            ),
            (plus(&UPPER_MIDDLE, &head("fundamental_completo")), 66, "B1"),
            // 68 + Fundamental completo 4 = 72 | Médio incompleto 5 = 73; Superior
            // completo 8 = 76.
            (plus(&WELL_OFF, &head("fundamental_completo")), 72, "B1"),
            (plus(&WELL_OFF, &head("medio_incompleto")), 73, "A"),
            (plus(&WELL_OFF, &head("superior_completo")), 76, "A"),
        ];
        for (household, points, class) in cases {
            assert_eq!(
                score_2026(&household_2026(&household)),
                Some((points, class.to_string())),
                "{household:?}"
            );
        }
    }

    #[test]
    fn class_boundaries_2026() {
        let t = CcebTable::embedded();
        for (points, class) in [
            (0, "DE"),
            (34, "DE"),
            (35, "C2"),
            (45, "C2"),
            (46, "C1"),
            (54, "C1"),
            (55, "B2"),
            (65, "B2"),
            (66, "B1"),
            (72, "B1"),
            (73, "A"),
            (100, "A"),
        ] {
            assert_eq!(t.class_of(points), Some(class), "{points}");
        }
        assert_eq!(t.class_of(101), None);
    }

    #[test]
    fn missing_or_unknown_items_give_no_score() {
        let mut a = answers(&poorest());
        a.remove("cceb_secadora");
        assert_eq!(score(&a), None, "not asked");
        let mut a = answers(&poorest());
        a.insert("cceb_secadora", AnswerValue::Single("5".into()));
        assert_eq!(score(&a), None, "a value the table lacks");
        let mut a = answers(&poorest());
        a.insert("cceb_secadora", AnswerValue::Integer(0));
        assert_eq!(score(&a), None, "another type");
        // A household answered under the 2015 questionnaire (version 2) has no 2026 score:
        // the items whose question changed have new keys.
        assert_eq!(score_2026(&answers(&poorest())), None);
        let mut a = answers(&lowest_2026());
        a.remove("cceb_servico_domestico");
        assert_eq!(score_2026(&a), None, "not asked");
    }

    const SMALL: &str = r#"
edition = "teste"
publisher = "p"
source = "s"
[items.a]
"0" = 0
"1" = 5
[items.b]
nao = 0
sim = 5
"#;

    fn parse_err(classes: &str) -> CcebError {
        CcebTable::parse(&format!("{SMALL}{classes}")).expect_err("refused")
    }

    #[test]
    fn a_small_table_is_generic() {
        let t = CcebTable::parse(&format!(
            "{SMALL}[[classes]]\nclass = \"X\"\nmin = 0\nmax = 4\n\
             [[classes]]\nclass = \"Y\"\nmin = 5\nmax = 10\n"
        ))
        .expect("valid");
        let s = t
            .score(&answers(&[("a", "1"), ("b", "nao")]))
            .expect("scored");
        assert_eq!((s.points, s.class.as_str()), (5, "Y"));
    }

    #[test]
    fn bad_tables_are_refused_naming_the_key() {
        let e = CcebTable::parse(&format!("colour = 1\n{SMALL}")).expect_err("unknown");
        assert!(e.reason.contains("colour"), "{e}");
        let e = parse_err("");
        assert_eq!(e.key, "(file)", "{e}");
        let e = parse_err(
            "[[classes]]\nclass = \"X\"\nmin = 0\nmax = 5\n\
             [[classes]]\nclass = \"Y\"\nmin = 5\nmax = 10\n",
        );
        assert_eq!(e.key, "classes[1]", "{e}");
        assert!(e.reason.contains("overlaps"), "{e}");
        let e = parse_err(
            "[[classes]]\nclass = \"X\"\nmin = 0\nmax = 3\n\
             [[classes]]\nclass = \"Y\"\nmin = 5\nmax = 10\n",
        );
        assert_eq!(e.key, "classes[1]", "{e}");
        assert!(
            e.reason.contains("missing class: no class holds 4–4"),
            "{e}"
        );
        let e = parse_err("[[classes]]\nclass = \"X\"\nmin = 0\nmax = 9\n");
        assert_eq!(e.key, "classes", "{e}");
        assert!(e.reason.contains("up to 10 points"), "{e}");
        let e = parse_err("[[classes]]\nclass = \"X\"\nmin = 0\nmax = 10\nlimit = 3\n");
        assert!(e.reason.contains("limit"), "{e}");
        let e = parse_err(
            "[[classes]]\nclass = \"X\"\nmin = 0\nmax = 4\n\
             [[classes]]\nclass = \"X\"\nmin = 5\nmax = 10\n",
        );
        assert!(e.reason.contains("twice"), "{e}");
        let e = parse_err("[[classes]]\nclass = \"X\"\nmin = 3\nmax = 1\n");
        assert!(e.reason.contains("above max"), "{e}");
        let e = CcebTable::parse(
            "edition = \"\"\npublisher = \"p\"\nsource = \"s\"\n[items.a]\n\"0\" = 0\n\
             [[classes]]\nclass = \"X\"\nmin = 0\nmax = 0\n",
        )
        .expect_err("no edition");
        assert_eq!(e.key, "edition");
        let e = CcebTable::parse(
            "edition = \"e\"\npublisher = \"p\"\nsource = \"s\"\n[items.Banheiros]\n\"0\" = 0\n\
             [[classes]]\nclass = \"X\"\nmin = 0\nmax = 0\n",
        )
        .expect_err("bad key");
        assert_eq!(e.key, "items.Banheiros");
    }
}
