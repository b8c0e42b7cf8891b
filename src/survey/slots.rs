//! A response's stored answers read in one pass into a slot per question, borrowed from
//! the stored JSON and matched to the question's options by position: the export writes
//! its cells from them, the report counts them. Reading into [`crate::survey::Answers`]
//! instead allocates every key and value and then compares strings per lookup, which was
//! the largest share of the report's time (bench/findings.md).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use serde::Deserialize;

use super::{CcebTable, Definition, Question, QuestionKind};

/// A string inside stored JSON: borrowed from it when it has no escapes, else unescaped
/// into an owned copy.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct JsonStr<'a>(pub Cow<'a, str>);

impl std::borrow::Borrow<str> for JsonStr<'_> {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for JsonStr<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = JsonStr<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(JsonStr(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(JsonStr(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(JsonStr(Cow::Owned(v)))
            }
        }
        d.deserialize_str(Visitor)
    }
}

/// A stored answer read borrowed: the JSON of [`crate::survey::AnswerValue`] (same
/// externally tagged form), with its strings borrowed.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stored<'a> {
    Integer(i64),
    Single(#[serde(borrow)] JsonStr<'a>),
    Multi(#[serde(borrow)] Vec<JsonStr<'a>>),
    Text(#[serde(borrow)] JsonStr<'a>),
    Grid(#[serde(borrow)] std::collections::BTreeMap<JsonStr<'a>, JsonStr<'a>>),
}

/// A stored answer matched to its question once per row, so that the row's cells are
/// found by position instead of by comparing keys and option values for every column
/// (string comparison is slow in the static build's musl; bench/findings.md).
#[derive(Debug, PartialEq)]
pub enum Resolved<'a> {
    Integer(i64),
    /// The stored value, and the position of the question's option with that value.
    Single(JsonStr<'a>, Option<usize>),
    /// The positions of the question's options that were chosen; stored values the
    /// question does not offer (an older definition's) have no column and are left out.
    Multi(Vec<usize>),
    Text(JsonStr<'a>),
    /// Per item of the grid, in the question's order: the stored point and the position
    /// of the point among the question's options (none for a value it does not offer).
    Grid(Vec<Option<(JsonStr<'a>, Option<usize>)>>),
}

impl<'a> Resolved<'a> {
    pub fn new(q: &Question, stored: Stored<'a>) -> Resolved<'a> {
        let position = |v: &str| q.options().iter().position(|c| c.value == v);
        match stored {
            Stored::Integer(n) => Resolved::Integer(n),
            Stored::Single(v) => {
                let at = position(&v.0);
                Resolved::Single(v, at)
            }
            Stored::Multi(vs) => {
                Resolved::Multi(vs.iter().filter_map(|v| position(&v.0)).collect())
            }
            Stored::Text(t) => Resolved::Text(t),
            Stored::Grid(mut map) => Resolved::Grid(
                q.items()
                    .iter()
                    .map(|i| {
                        let v = map.remove(i.key.as_str())?;
                        let at = position(&v.0);
                        Some((v, at))
                    })
                    .collect(),
            ),
        }
    }
}

/// A response's answers, one slot per question of the definition in its order
/// ([`AnswerSlots::parse`]).
pub type RowAnswers<'a> = Vec<Option<Resolved<'a>>>;

/// Where each question's answer goes in [`RowAnswers`]: its position in the definition;
/// the "other" texts follow, in the order of their questions ([`other_texts`]).
pub struct AnswerSlots<'d> {
    /// Per slot, the question whose answer (or "other" text) it holds.
    questions: Vec<&'d Question>,
    by_key: HashMap<String, usize>,
}

/// The questions with an "other" text, with the slot of that text: after every
/// question's own slot, in questionnaire order.
pub fn other_texts(def: &Definition) -> Vec<(&Question, usize)> {
    let first = def.questions().count();
    def.questions()
        .filter(|q| q.other_key().is_some())
        .enumerate()
        .map(|(i, q)| (q, first + i))
        .collect()
}

impl<'d> AnswerSlots<'d> {
    pub fn new(def: &'d Definition) -> AnswerSlots<'d> {
        let mut questions: Vec<&Question> = def.questions().collect();
        let mut by_key: HashMap<String, usize> = questions
            .iter()
            .enumerate()
            .map(|(i, q)| (q.key.clone(), i))
            .collect();
        for (q, slot) in other_texts(def) {
            if let Some(key) = q.other_key() {
                by_key.insert(key, slot);
                questions.push(q);
            }
        }
        AnswerSlots { questions, by_key }
    }

    /// The answers of a stored row. A row that does not parse (edited by hand) reads as
    /// unanswered, as [`crate::survey::Answers`] does; unlike it, keys the definition
    /// does not have are skipped whatever they hold, so one bad key of a removed
    /// question does not blank the row's other answers.
    pub fn parse<'a>(&self, json: &'a str) -> RowAnswers<'a> {
        let mut de = serde_json::Deserializer::from_str(json);
        match serde::de::DeserializeSeed::deserialize(self, &mut de)
            .and_then(|a| de.end().map(|()| a))
        {
            Ok(answers) => answers,
            Err(_) => self.unanswered(),
        }
    }

    /// A row with no answers: a slot per question, all empty.
    fn unanswered<'a>(&self) -> RowAnswers<'a> {
        self.questions.iter().map(|_| None).collect()
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for &AnswerSlots<'_> {
    type Value = RowAnswers<'de>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for &AnswerSlots<'_> {
    type Value = RowAnswers<'de>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a map of answers")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut answers = self.unanswered();
        while let Some(key) = map.next_key::<JsonStr<'de>>()? {
            match self.by_key.get(&*key.0) {
                Some(&i) => {
                    let stored = map.next_value::<Stored<'de>>()?;
                    answers[i] = Some(Resolved::new(self.questions[i], stored));
                }
                None => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(answers)
    }
}

impl<'d> AnswerSlots<'d> {
    /// The slot of a question's answer (or of an "other" text's key), and its question.
    pub fn slot(&self, key: &str) -> Option<(usize, &'d Question)> {
        let slot = *self.by_key.get(key)?;
        Some((slot, self.questions.get(slot)?))
    }
}

/// The Critério Brasil items of a definition by slot, with the points of each of the
/// question's options by position, so a row is scored without comparing strings.
#[derive(Debug)]
pub struct CcebSlots {
    table: Arc<CcebTable>,
    /// Per item: its slot, its key, the points of each of its question's options.
    items: Vec<(usize, String, Vec<Option<u32>>)>,
}

impl CcebSlots {
    /// The items when `def` asks every item of `table` as a single-choice question.
    pub fn new(slots: &AnswerSlots<'_>, table: &Arc<CcebTable>) -> Option<CcebSlots> {
        let mut items = Vec::new();
        for key in table.keys() {
            let (slot, q) = slots.slot(key)?;
            // The question's own slot, not the "other" text of another question.
            if q.key != key || !matches!(q.kind, QuestionKind::Single { .. }) {
                return None;
            }
            let points = q
                .options()
                .iter()
                .map(|o| table.points(key, &o.value))
                .collect();
            items.push((slot, key.to_owned(), points));
        }
        Some(CcebSlots {
            table: Arc::clone(table),
            items,
        })
    }

    pub fn table(&self) -> &Arc<CcebTable> {
        &self.table
    }

    /// The slots of the items.
    pub fn slots(&self) -> impl Iterator<Item = usize> + '_ {
        self.items.iter().map(|(slot, _, _)| *slot)
    }

    /// The points of a row, as [`CcebTable::score`] counts them; `None` when an item is
    /// unanswered or holds a value the table does not score.
    pub fn points(&self, answers: &RowAnswers<'_>) -> Option<u32> {
        let mut total = 0u32;
        for (slot, key, points) in &self.items {
            let Some(Some(Resolved::Single(value, at))) = answers.get(*slot) else {
                return None;
            };
            let p = match at {
                Some(at) => (*points.get(*at)?)?,
                // A value the question no longer offers (an earlier version's).
                None => self.table.points(key, &value.0)?,
            };
            total = total.checked_add(p)?;
        }
        Some(total)
    }

    /// The position of the row's class in [`CcebTable::classes`].
    pub fn class_index(&self, answers: &RowAnswers<'_>) -> Option<usize> {
        let points = self.points(answers)?;
        self.table
            .classes()
            .iter()
            .position(|c| (c.min..=c.max).contains(&points))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::survey::{AnswerValue, Answers};

    #[test]
    fn borrowed_answers_read_what_answers_store() {
        let def = crate::survey::default_definition().expect("definition");
        let slots = AnswerSlots::new(&def);
        let at = |key: &str| def.questions().position(|q| q.key == key).expect(key);
        let mut a = Answers::new();
        a.insert("idade", AnswerValue::Integer(34));
        a.insert("renda_familiar", AnswerValue::Single("2a4sm".into()));
        // A value the question no longer offers is left out of the flags.
        a.insert(
            "fatores_escolha",
            AnswerValue::Multi(vec!["entrega".into(), "fiado".into(), "preco".into()]),
        );
        // Escapes in stored JSON: quotes, backslash, a newline; accents are stored raw.
        a.insert(
            "mercado_atual",
            AnswerValue::Text("diz \"oi\"\\ \nPão".into()),
        );
        // A key the definition does not have, holding what no question stores.
        a.insert("removida", AnswerValue::Text("x".into()));
        let json = serde_json::to_string(&a)
            .expect("json")
            .replace(r#"{"text":"x"}"#, r#"{"unknown":[1]}"#);
        let read = slots.parse(&json);
        // A slot per question, then one per "other" text.
        let others = def.questions().filter(|q| q.other_key().is_some()).count();
        assert_eq!(read.len(), def.questions().count() + others);
        assert_eq!(read[at("idade")], Some(Resolved::Integer(34)));
        let renda = def.question("renda_familiar").expect("renda");
        let position = |q: &Question, v: &str| q.options().iter().position(|o| o.value == v);
        assert_eq!(
            read[at("renda_familiar")],
            Some(Resolved::Single(
                JsonStr(Cow::Borrowed("2a4sm")),
                position(renda, "2a4sm")
            ))
        );
        assert!(matches!(
            &read[at("renda_familiar")],
            Some(Resolved::Single(JsonStr(Cow::Borrowed(_)), Some(_)))
        ));
        let fatores = def.question("fatores_escolha").expect("fatores");
        assert_eq!(
            read[at("fatores_escolha")],
            Some(Resolved::Multi(vec![
                position(fatores, "entrega").expect("entrega"),
                position(fatores, "preco").expect("preco"),
            ]))
        );
        match &read[at("mercado_atual")] {
            Some(Resolved::Text(t)) => {
                assert_eq!(t.0, "diz \"oi\"\\ \nPão");
                assert!(
                    matches!(t.0, Cow::Owned(_)),
                    "escaped text is unescaped into a copy"
                );
            }
            other => panic!("text read as {other:?}"),
        }
        assert_eq!(read[at("moradores")], None, "unanswered");
        let unanswered = |json: &str| slots.parse(json).iter().all(Option::is_none);
        assert!(unanswered("not json"));
        assert!(unanswered(r#"{"idade":{"integer":1}} trailing"#));
        // A known question holding an unknown kind: the row does not parse.
        assert!(unanswered(
            r#"{"idade":{"integer":1},"renda_familiar":{"unknown":1}}"#
        ));
    }

    /// The report and the export score Critério Brasil from slots; the table scores
    /// parsed answers. Every option of every item, in turn, must give the same points
    /// and class both ways.
    #[test]
    fn slots_score_critério_brasil_as_the_table_does() {
        let def = crate::survey::default_definition().expect("definition");
        let table = CcebTable::embedded();
        let slots = AnswerSlots::new(&def);
        let cceb = CcebSlots::new(&slots, &table).expect("v3 asks every item");
        let items: Vec<&Question> = table
            .keys()
            .map(|k| def.question(k).expect("item asked"))
            .collect();
        let widest = items.iter().map(|q| q.options().len()).max().unwrap_or(0);
        let mut scored = 0;
        for shift in 0..widest {
            for step in 1..4 {
                let mut a = Answers::new();
                for (n, q) in items.iter().enumerate() {
                    let options = q.options();
                    let o = &options[(shift + n * step) % options.len()];
                    a.insert(&q.key, AnswerValue::Single(o.value.clone()));
                }
                let json = serde_json::to_string(&a).expect("json");
                let read = slots.parse(&json);
                let expected = table.score(&a);
                assert_eq!(cceb.points(&read), expected.as_ref().map(|s| s.points));
                let class =
                    expected.map(|s| table.classes().iter().position(|c| c.class == s.class));
                assert_eq!(cceb.class_index(&read), class.flatten());
                scored += 1;
            }
        }
        assert!(scored >= 12);
        // An item unanswered, or holding a value the table lacks: no score.
        let mut a = Answers::new();
        for q in &items {
            a.insert(&q.key, AnswerValue::Single(q.options()[0].value.clone()));
        }
        a.insert(&items[0].key, AnswerValue::Single("talvez".into()));
        assert_eq!(table.score(&a), None);
        assert_eq!(
            cceb.points(&slots.parse(&serde_json::to_string(&a).expect("json"))),
            None
        );
        assert_eq!(cceb.points(&slots.parse("{}")), None);
    }
}
