//! The Critério de Classificação Econômica Brasil (CCEB, by ABEP): a household's points
//! from its goods, the education of its head and its public services, and the economic
//! class (A, B1, B2, C1, C2, DE) those points fall in.
//!
//! The points and cut-offs are not code: ABEP revises them, so they live in a table file
//! that names its edition (`assets/cceb/cceb.toml`, CCEB 2015, embedded; configuration
//! key `survey.cceb_table` replaces it). The table maps question key → option value →
//! points, so the scoring works for any questionnaire that asks those keys.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, LazyLock};

use serde::{Deserialize, Serialize};

use super::{AnswerValue, Answers};

/// The table shipped with the application (CCEB 2015).
pub const DEFAULT_TOML: &str = include_str!("../../assets/cceb/cceb.toml");

/// The embedded table, parsed once. It is checked by a unit test, so a failure to parse
/// can only be a build made from an edited file that never ran the tests.
static EMBEDDED: LazyLock<Arc<CcebTable>> = LazyLock::new(|| {
    Arc::new(CcebTable::parse(DEFAULT_TOML).unwrap_or_else(|e| {
        // Not reachable from input: the text is compiled in.
        panic!("assets/cceb/cceb.toml: {e}")
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
    /// The table shipped with the application (CCEB 2015).
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

    /// The edition, e.g. `CCEB 2015`.
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

    /// A household with none of the goods, no schooling, no water, no paving.
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
        CcebTable::embedded().score(a).map(|s| (s.points, s.class))
    }

    #[test]
    fn the_embedded_table_is_cceb_2015_with_its_keys() {
        let t = CcebTable::embedded();
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
    fn worked_examples() {
        // Points and cut-offs of ABEP's CCEB 2015 table (assets/cceb/cceb.toml).
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
    fn class_boundaries() {
        let t = CcebTable::embedded();
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
