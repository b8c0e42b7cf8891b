//! Respondents' answers and their validation against a [`Definition`].
//!
//! Every answer is checked on the server (the original system accepted
//! negative ages and out-of-range options). The web layer passes the raw form
//! pairs of one page to [`validate_page`], stores the resulting [`Answers`]
//! (as JSON) with [`Answers::merge_page`], and before the final submit calls
//! [`validate_complete`], which re-checks everything against the current
//! definition, since the definition may have changed since a page was saved.
//!
//! Errors are codes ([`AnswerError`]), never user-facing text: the web layer
//! translates them.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use super::definition::{DEFAULT_OTHER_LENGTH, Definition, GridItem, Question, QuestionKind};

/// One stored answer.
///
/// Serialized externally tagged, so that a single choice and a free text,
/// both strings, stay distinguishable: `{"integer":34}`,
/// `{"single":"2a4sm"}`, `{"multi":["preco","entrega"]}`,
/// `{"text":"Extra"}`, `{"grid":{"preco":"5","distancia":"3"}}`. A scale's point is a
/// `single` (its value is the number). The text of an "other" option is a `text` stored
/// under the question's [`Question::other_key`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerValue {
    /// Answer to an `integer` question.
    Integer(i64),
    /// Option value chosen in a `single` question.
    Single(String),
    /// Option values chosen in a `multi` question, in the definition's option
    /// order (not the order submitted), so equal answers compare equal.
    Multi(Vec<String>),
    /// Answer to a `text` question, as typed.
    Text(String),
    /// The point chosen for each answered item of a `grid` question, by item key.
    Grid(BTreeMap<String, String>),
}

/// A respondent's answers, by question key. Serialized as a JSON object
/// `{"idade":{"integer":34}, …}`; the `BTreeMap` keeps keys sorted so the
/// stored JSON is stable.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Answers(BTreeMap<String, AnswerValue>);

impl Answers {
    /// No answers.
    pub fn new() -> Self {
        Self::default()
    }

    /// The answer to the question with this key.
    pub fn get(&self, key: &str) -> Option<&AnswerValue> {
        self.0.get(key)
    }

    /// Sets an answer, returning the previous one. Not validated: use
    /// [`validate_page`] for input from respondents.
    pub fn insert(&mut self, key: impl Into<String>, value: AnswerValue) -> Option<AnswerValue> {
        self.0.insert(key.into(), value)
    }

    /// Removes an answer, returning it.
    pub fn remove(&mut self, key: &str) -> Option<AnswerValue> {
        self.0.remove(key)
    }

    /// The answers, sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &AnswerValue)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Number of answers.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is no answer at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The underlying map.
    pub fn as_map(&self) -> &BTreeMap<String, AnswerValue> {
        &self.0
    }

    /// Replaces the answers of page `page` by `new`.
    ///
    /// Every key of that page absent from `new` is removed, so clearing an
    /// optional answer works; keys in `new` that do not belong to the page are
    /// ignored, so one page's form can never overwrite another page. An
    /// out-of-range `page` changes nothing.
    pub fn merge_page(&mut self, def: &Definition, page: usize, new: Answers) {
        let Some(page) = def.page(page) else {
            return;
        };
        for q in &page.questions {
            self.0.remove(&q.key);
            if let Some(other) = q.other_key() {
                self.0.remove(&other);
            }
        }
        for (key, value) in new.0 {
            if def
                .answer_owner(&key)
                .is_some_and(|q| page.questions.iter().any(|p| p.key == q.key))
            {
                self.0.insert(key, value);
            }
        }
    }

    /// Drops answers to questions that no longer exist in `def` (e.g. after a
    /// new version of the questionnaire removed a question).
    /// [`validate_complete`] ignores such answers, since the respondent has
    /// no page on which to fix them.
    pub fn retain_known(&mut self, def: &Definition) {
        self.0.retain(|key, _| def.answer_owner(key).is_some());
    }
}

impl From<BTreeMap<String, AnswerValue>> for Answers {
    fn from(map: BTreeMap<String, AnswerValue>) -> Self {
        Self(map)
    }
}

impl FromIterator<(String, AnswerValue)> for Answers {
    fn from_iter<I: IntoIterator<Item = (String, AnswerValue)>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

/// Why an answer was refused. Codes only; the web layer words them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum AnswerError {
    /// A required question was left empty.
    #[error("required")]
    Required,
    /// Not a whole number (`1.5`, `1e3`, `abc`, `+-1`, …).
    #[error("not a whole number")]
    NotANumber,
    /// A whole number outside `min..=max` (including numbers too large for
    /// 64 bits).
    #[error("out of range {min}..={max}")]
    OutOfRange {
        /// Smallest accepted value.
        min: i64,
        /// Largest accepted value.
        max: i64,
    },
    /// A value that is not an option of the question.
    #[error("unknown option")]
    UnknownOption,
    /// Fewer selections than the question's minimum.
    #[error("fewer than {min} selections")]
    TooFew {
        /// Fewest accepted selections.
        min: usize,
    },
    /// More selections than the question's maximum.
    #[error("more than {max} selections")]
    TooMany {
        /// Most accepted selections.
        max: usize,
    },
    /// A text longer than `max` characters.
    #[error("longer than {max} characters")]
    TooLong {
        /// Longest accepted text, in characters.
        max: usize,
    },
    /// A field sent more than once for a question taking one value, or the
    /// same option selected twice.
    #[error("duplicated")]
    Duplicated,
    /// A stored answer whose kind no longer matches the question's type (the
    /// definition changed after it was saved); the respondent must answer
    /// again. Only [`validate_complete`] and [`is_page_complete`] report it.
    #[error("answer of the wrong type")]
    WrongType,
    /// An `exclusive` option ("Nenhum destes") chosen together with another one.
    #[error("exclusive option with others")]
    Exclusive,
}

impl AnswerError {
    /// A stable snake_case code, e.g. for templates or logs.
    pub fn code(&self) -> &'static str {
        match self {
            AnswerError::Required => "required",
            AnswerError::NotANumber => "not_a_number",
            AnswerError::OutOfRange { .. } => "out_of_range",
            AnswerError::UnknownOption => "unknown_option",
            AnswerError::TooFew { .. } => "too_few",
            AnswerError::TooMany { .. } => "too_many",
            AnswerError::TooLong { .. } => "too_long",
            AnswerError::Duplicated => "duplicated",
            AnswerError::WrongType => "wrong_type",
            AnswerError::Exclusive => "exclusive",
        }
    }
}

/// The problems found in one page's submission.
#[derive(Debug, Clone, Default, PartialEq, Eq, thiserror::Error)]
#[error("{} invalid answer(s), {} unknown field(s)", .errors.len(), .unknown.len())]
pub struct PageErrors {
    /// (field, error), in the page's question order: the field is the question key, a
    /// grid item's field (`{key}__{item}`) or an "other" text's (`{key}__outro`); at
    /// most one error per field.
    pub errors: Vec<(String, AnswerError)>,
    /// Names of submitted fields that are not questions of this page (unknown
    /// keys or questions of other pages), each once, in submission order.
    pub unknown: Vec<String>,
}

impl PageErrors {
    /// Whether nothing is wrong.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty() && self.unknown.is_empty()
    }

    /// The error for this question key, if any.
    pub fn get(&self, key: &str) -> Option<AnswerError> {
        self.errors.iter().find(|(k, _)| k == key).map(|(_, e)| *e)
    }
}

/// Validates the form submitted for page `page`.
///
/// `fields` are the raw `(name, value)` pairs in submission order; a name may
/// repeat only for a `multi` question (one pair per ticked checkbox). Names in
/// `ignore` (e.g. `["csrf_token", "action"]`) are skipped. Empty values mean
/// "not answered" (an all-whitespace value too for integer and text
/// questions); empty values among checkboxes are skipped. An optional question
/// left empty is simply absent from the result. An out-of-range `page` has no
/// questions, so every non-ignored field is reported as unknown.
pub fn validate_page(
    def: &Definition,
    page: usize,
    fields: &[(String, String)],
    ignore: &[&str],
) -> Result<Answers, PageErrors> {
    validate_shown_page(def, page, fields, ignore, &|_| true)
}

/// [`validate_page`] for the questions `shown` keeps (see [`super::flow`]): a field of a
/// hidden question counts as unknown, so a crafted form cannot answer it, and a hidden
/// question is never required.
pub fn validate_shown_page(
    def: &Definition,
    page: usize,
    fields: &[(String, String)],
    ignore: &[&str],
    shown: &dyn Fn(&Question) -> bool,
) -> Result<Answers, PageErrors> {
    let questions: Vec<&Question> = def
        .page(page)
        .map(|p| p.questions.iter().filter(|q| shown(q)).collect())
        .unwrap_or_default();

    // Group the values by field name, keeping their order.
    let mut submitted: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut errors = PageErrors::default();
    let owned: Vec<String> = questions.iter().flat_map(|q| form_fields(q)).collect();
    for (name, value) in fields {
        if ignore.contains(&name.as_str()) {
            continue;
        }
        if owned.iter().any(|f| f == name) {
            submitted.entry(name).or_default().push(value);
        } else if !errors.unknown.contains(name) {
            errors.unknown.push(name.clone());
        }
    }

    let mut answers = Answers::new();
    for q in questions {
        if let QuestionKind::Grid { items, .. } = &q.kind {
            grid_from_form(q, items, &submitted, &mut answers, &mut errors);
            continue;
        }
        let outcome = from_form(q, sent(&submitted, &q.key)).and_then(|v| match v {
            Some(v) => check_value(q, &v),
            None => Ok(None),
        });
        match outcome {
            Ok(Some(value)) => {
                if let Some(other) = q.other_key() {
                    let text = sent(&submitted, &other);
                    other_from_form(q, &value, &other, text, &mut answers, &mut errors);
                }
                answers.insert(q.key.clone(), value);
            }
            Ok(None) if q.required => errors.errors.push((q.key.clone(), AnswerError::Required)),
            Ok(None) => {}
            Err(e) => errors.errors.push((q.key.clone(), e)),
        }
    }

    if errors.is_empty() {
        Ok(answers)
    } else {
        Err(errors)
    }
}

/// The values submitted for `field`, in order.
fn sent<'a>(submitted: &'a BTreeMap<&str, Vec<&'a str>>, field: &str) -> &'a [&'a str] {
    submitted.get(field).map_or(&[][..], Vec::as_slice)
}

/// The form fields a question owns: its key, or a grid's item fields; and the field of
/// its "other" text.
pub fn form_fields(q: &Question) -> Vec<String> {
    let mut out: Vec<String> = match &q.kind {
        QuestionKind::Grid { items, .. } => items.iter().map(|i| q.item_field(&i.key)).collect(),
        _ => vec![q.key.clone()],
    };
    out.extend(q.other_key());
    out
}

/// A grid's items from their fields: each one point, required per item unless the
/// question is optional. Errors go by the item's field.
fn grid_from_form(
    q: &Question,
    items: &[GridItem],
    submitted: &BTreeMap<&str, Vec<&str>>,
    answers: &mut Answers,
    errors: &mut PageErrors,
) {
    let mut map = BTreeMap::new();
    let before = errors.errors.len();
    for item in items {
        let field = q.item_field(&item.key);
        match one_value(sent(submitted, &field)) {
            Ok(Some(v)) if !v.is_empty() => {
                if q.option(v).is_some() {
                    map.insert(item.key.clone(), v.to_owned());
                } else {
                    errors.errors.push((field, AnswerError::UnknownOption));
                }
            }
            Ok(_) if q.required => errors.errors.push((field, AnswerError::Required)),
            Ok(_) => {}
            Err(e) => errors.errors.push((field, e)),
        }
    }
    if errors.errors.len() == before && !map.is_empty() {
        answers.insert(q.key.clone(), AnswerValue::Grid(map));
    }
}

/// The "other" text of a valid answer: required (and at most its length) when the answer
/// chose the option that asks for it; dropped when it did not, so unticking "Outro"
/// removes the text.
fn other_from_form(
    q: &Question,
    value: &AnswerValue,
    field: &str,
    sent: &[&str],
    answers: &mut Answers,
    errors: &mut PageErrors,
) {
    let Some(opt) = q.other_option() else {
        return;
    };
    if !chose(value, &opt.value) {
        return;
    }
    let max = opt.other_text.unwrap_or(DEFAULT_OTHER_LENGTH);
    match one_value(sent) {
        Ok(Some(t)) if !t.trim().is_empty() => {
            if t.chars().count() > max {
                errors
                    .errors
                    .push((field.to_owned(), AnswerError::TooLong { max }));
            } else {
                answers.insert(field.to_owned(), AnswerValue::Text(t.trim().to_owned()));
            }
        }
        Ok(_) => errors
            .errors
            .push((field.to_owned(), AnswerError::Required)),
        Err(e) => errors.errors.push((field.to_owned(), e)),
    }
}

/// Whether an answer chose the option with this value.
fn chose(value: &AnswerValue, option: &str) -> bool {
    match value {
        AnswerValue::Single(v) => v == option,
        AnswerValue::Multi(vs) => vs.iter().any(|v| v == option),
        _ => false,
    }
}

/// Checks stored answers before the final submit: every required question of
/// every page is answered, and every stored answer is still valid against the
/// current definition. Answers to questions the definition no longer has are
/// ignored (see [`Answers::retain_known`]). Errors come in questionnaire
/// order.
pub fn validate_complete(
    def: &Definition,
    answers: &Answers,
) -> Result<(), Vec<(String, AnswerError)>> {
    let errors: Vec<_> = def
        .questions()
        .filter_map(|q| check_stored(q, answers).map(|e| (q.key.clone(), e)))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Whether page `page` is done: every required question answered and every
/// stored answer on it valid. An out-of-range page is never complete.
pub fn is_page_complete(def: &Definition, page: usize, answers: &Answers) -> bool {
    def.page(page).is_some_and(|p| {
        p.questions
            .iter()
            .all(|q| check_stored(q, answers).is_none())
    })
}

/// The first page that is not complete, where a returning respondent should
/// resume; `None` when the whole questionnaire is complete.
pub fn first_incomplete_page(def: &Definition, answers: &Answers) -> Option<usize> {
    (0..def.pages().len()).find(|&i| !is_page_complete(def, i, answers))
}

/// The problem with the stored answer to `q`, if any: a grid with an item unanswered
/// counts as unanswered, and a chosen "other" option needs its text.
pub(crate) fn check_stored(q: &Question, answers: &Answers) -> Option<AnswerError> {
    let outcome = match answers.get(&q.key) {
        None => Ok(None),
        Some(v) => check_value(q, v),
    };
    match outcome {
        Ok(Some(AnswerValue::Grid(map))) if q.required && map.len() < q.items().len() => {
            Some(AnswerError::Required)
        }
        Ok(Some(v)) => {
            let other = q.other_option().filter(|o| chose(&v, &o.value))?;
            let key = q.other_key()?;
            match answers.get(&key) {
                Some(AnswerValue::Text(t)) if !t.trim().is_empty() => None,
                _ if other.other_text.is_some() => Some(AnswerError::Required),
                _ => None,
            }
        }
        Ok(None) if q.required => Some(AnswerError::Required),
        Ok(None) => None,
        Err(e) => Some(e),
    }
}

/// Turns the raw values submitted for `q` into an answer, without checking
/// limits yet. `Ok(None)` means "not answered".
fn from_form(q: &Question, values: &[&str]) -> Result<Option<AnswerValue>, AnswerError> {
    Ok(match &q.kind {
        QuestionKind::Multi { .. } => Some(AnswerValue::Multi(
            values.iter().map(|v| (*v).to_owned()).collect(),
        )),
        QuestionKind::Integer { min, max } => match one_value(values)? {
            Some(v) if !v.trim().is_empty() => {
                Some(AnswerValue::Integer(parse_integer(v, *min, *max)?))
            }
            _ => None,
        },
        QuestionKind::Single { .. } | QuestionKind::Scale { .. } => {
            one_value(values)?.map(|v| AnswerValue::Single(v.to_owned()))
        }
        QuestionKind::Text { .. } => one_value(values)?.map(|v| AnswerValue::Text(v.to_owned())),
        // Read item by item (`grid_from_form`).
        QuestionKind::Grid { .. } => None,
    })
}

/// The only value of a field that must not repeat.
fn one_value<'a>(values: &[&'a str]) -> Result<Option<&'a str>, AnswerError> {
    match values {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        _ => Err(AnswerError::Duplicated),
    }
}

/// Parses a whole number: optional sign, then ascii digits only, around
/// optional whitespace. A well-formed number too large for `i64` is reported
/// as out of range, which is what it is to the respondent.
fn parse_integer(raw: &str, min: i64, max: i64) -> Result<i64, AnswerError> {
    let trimmed = raw.trim();
    let digits = trimmed.strip_prefix(['+', '-']).unwrap_or(trimmed);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AnswerError::NotANumber);
    }
    trimmed
        .parse::<i64>()
        .map_err(|_| AnswerError::OutOfRange { min, max })
}

/// Checks an answer against the question's limits. Returns the answer in
/// canonical form (multi options in definition order), or `Ok(None)` when it
/// amounts to no answer (empty string, empty selection, blank text).
fn check_value(q: &Question, value: &AnswerValue) -> Result<Option<AnswerValue>, AnswerError> {
    match (&q.kind, value) {
        (QuestionKind::Integer { min, max }, AnswerValue::Integer(n)) => {
            if (*min..=*max).contains(n) {
                Ok(Some(AnswerValue::Integer(*n)))
            } else {
                Err(AnswerError::OutOfRange {
                    min: *min,
                    max: *max,
                })
            }
        }
        (
            QuestionKind::Single { options } | QuestionKind::Scale { points: options },
            AnswerValue::Single(v),
        ) => {
            if v.is_empty() {
                Ok(None)
            } else if options.iter().any(|o| o.value == *v) {
                Ok(Some(AnswerValue::Single(v.clone())))
            } else {
                Err(AnswerError::UnknownOption)
            }
        }
        (QuestionKind::Multi { options, min, max }, AnswerValue::Multi(values)) => {
            let ticked: Vec<&str> = values
                .iter()
                .map(String::as_str)
                .filter(|v| !v.is_empty())
                .collect();
            if ticked
                .iter()
                .any(|v| !options.iter().any(|o| o.value == *v))
            {
                return Err(AnswerError::UnknownOption);
            }
            let distinct: HashSet<&str> = ticked.iter().copied().collect();
            if distinct.len() != ticked.len() {
                return Err(AnswerError::Duplicated);
            }
            if ticked.is_empty() {
                return Ok(None);
            }
            if ticked.len() < *min {
                return Err(AnswerError::TooFew { min: *min });
            }
            if ticked.len() > *max {
                return Err(AnswerError::TooMany { max: *max });
            }
            if ticked.len() > 1
                && options
                    .iter()
                    .any(|o| o.exclusive && distinct.contains(o.value.as_str()))
            {
                return Err(AnswerError::Exclusive);
            }
            let canonical = options
                .iter()
                .filter(|o| distinct.contains(o.value.as_str()))
                .map(|o| o.value.clone())
                .collect();
            Ok(Some(AnswerValue::Multi(canonical)))
        }
        (QuestionKind::Text { max_length }, AnswerValue::Text(s)) => {
            if s.trim().is_empty() {
                Ok(None)
            } else if s.chars().count() > *max_length {
                Err(AnswerError::TooLong { max: *max_length })
            } else {
                Ok(Some(AnswerValue::Text(s.clone())))
            }
        }
        (QuestionKind::Grid { items, points }, AnswerValue::Grid(map)) => {
            let known_item = |k: &str| items.iter().any(|i| i.key == k);
            let known_point = |v: &str| points.iter().any(|p| p.value == v);
            if map.iter().any(|(k, v)| !known_item(k) || !known_point(v)) {
                return Err(AnswerError::UnknownOption);
            }
            Ok((!map.is_empty()).then(|| AnswerValue::Grid(map.clone())))
        }
        _ => Err(AnswerError::WrongType),
    }
}

impl Definition {
    /// Each grid's item values for a response's answers, in item order, leaving out the
    /// missing options ("não sei") and unanswered items: what a straight-lining check
    /// reads. Grids left unanswered are left out.
    pub fn grid_values(&self, answers: &Answers) -> Vec<(&str, Vec<i64>)> {
        self.questions()
            .filter_map(|q| {
                let Some(AnswerValue::Grid(map)) = answers.get(&q.key) else {
                    return None;
                };
                let values: Vec<i64> = q
                    .items()
                    .iter()
                    .filter_map(|item| {
                        let point = q.option(map.get(&item.key)?)?;
                        if point.excluded {
                            return None;
                        }
                        point.value.parse().ok()
                    })
                    .collect();
                (!values.is_empty()).then_some((q.key.as_str(), values))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IGNORE: &[&str] = &["csrf_token", "action"];

    /// Version 1 of the shipped questionnaire, kept as a fixture: these tests are about
    /// the validation rules, which must not move with the questionnaire's content.
    fn def() -> Definition {
        Definition::parse(include_str!("../../assets/questionnaire_v1.toml"))
            .unwrap_or_else(|e| panic!("questionnaire v1: {e}"))
    }

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// Page 0 of the default questionnaire with `idade` replaced by `age`.
    fn page0(age: &str) -> Vec<(String, String)> {
        form(&[
            ("csrf_token", "tok"),
            ("idade", age),
            ("moradores", "3"),
            ("renda_familiar", "2a4sm"),
            ("action", "next"),
        ])
    }

    fn page0_errors(age: &str) -> PageErrors {
        match validate_page(&def(), 0, &page0(age), IGNORE) {
            Ok(a) => panic!("accepted {age:?}: {a:?}"),
            Err(e) => e,
        }
    }

    /// A complete, valid set of answers for the default questionnaire.
    fn full_answers() -> Answers {
        let d = def();
        let pages = [
            page0("34"),
            form(&[
                ("frequencia_supermercado", "2x"),
                ("distancia_supermercado", "ate_5km"),
                ("fatores_escolha", "preco"),
                ("fatores_escolha", "proximidade"),
            ]),
            form(&[
                ("valor_compra", "101a500"),
                ("gasto_mensal", "601a1000"),
                ("gasto_bairro", "ate_100"),
            ]),
            form(&[("interesse_novo", "talvez"), ("mercado_atual", "")]),
        ];
        let mut answers = Answers::new();
        for (i, fields) in pages.iter().enumerate() {
            let new =
                validate_page(&d, i, fields, IGNORE).unwrap_or_else(|e| panic!("page {i}: {e:?}"));
            answers.merge_page(&d, i, new);
        }
        answers
    }

    #[test]
    fn valid_page_gives_typed_answers() {
        let answers = validate_page(&def(), 0, &page0(" 34 "), IGNORE).expect("valid");
        assert_eq!(answers.len(), 3);
        assert_eq!(answers.get("idade"), Some(&AnswerValue::Integer(34)));
        assert_eq!(answers.get("moradores"), Some(&AnswerValue::Integer(3)));
        assert_eq!(
            answers.get("renda_familiar"),
            Some(&AnswerValue::Single("2a4sm".into()))
        );
        assert!(answers.get("csrf_token").is_none());
    }

    #[test]
    fn integers_must_be_whole_numbers() {
        for bad in [
            "abc", "1.5", "1,5", "1e3", "+-5", "--5", "3 4", "0x1f", "٣٤", "-", "34anos",
        ] {
            assert_eq!(
                page0_errors(bad).get("idade"),
                Some(AnswerError::NotANumber),
                "{bad:?}"
            );
        }
        for good in ["+34", "034", "\t34\n"] {
            assert!(
                validate_page(&def(), 0, &page0(good), IGNORE).is_ok(),
                "{good:?}"
            );
        }
    }

    #[test]
    fn integers_must_be_in_range() {
        let range = Some(AnswerError::OutOfRange { min: 18, max: 120 });
        for bad in [
            "17",
            "121",
            "-5",
            "0",
            "99999999999999999999",
            "-99999999999999999999",
        ] {
            assert_eq!(page0_errors(bad).get("idade"), range, "{bad:?}");
        }
        for edge in ["18", "120"] {
            assert!(
                validate_page(&def(), 0, &page0(edge), IGNORE).is_ok(),
                "{edge}"
            );
        }
    }

    #[test]
    fn missing_required_answers() {
        for empty in ["", "   "] {
            let errors = page0_errors(empty);
            assert_eq!(
                errors.errors,
                vec![("idade".to_owned(), AnswerError::Required)],
                "{empty:?}"
            );
            assert!(errors.unknown.is_empty());
        }
        // Nothing submitted at all: every question required, in page order.
        let errors =
            validate_page(&def(), 0, &form(&[("csrf_token", "x")]), IGNORE).expect_err("empty");
        let keys: Vec<_> = errors
            .errors
            .iter()
            .map(|(k, e)| (k.as_str(), *e))
            .collect();
        assert_eq!(
            keys,
            [
                ("idade", AnswerError::Required),
                ("moradores", AnswerError::Required),
                ("renda_familiar", AnswerError::Required),
            ]
        );
        // A <select> left on its placeholder sends an empty value.
        let fields = form(&[("idade", "30"), ("moradores", "2"), ("renda_familiar", "")]);
        let errors = validate_page(&def(), 0, &fields, IGNORE).expect_err("placeholder");
        assert_eq!(errors.get("renda_familiar"), Some(AnswerError::Required));
    }

    #[test]
    fn single_must_be_a_known_option() {
        for bad in ["2A4SM", "2a4sm ", "5", "prefiro não informar"] {
            let fields = form(&[("idade", "30"), ("moradores", "2"), ("renda_familiar", bad)]);
            let errors = validate_page(&def(), 0, &fields, IGNORE).expect_err(bad);
            assert_eq!(
                errors.errors,
                vec![("renda_familiar".to_owned(), AnswerError::UnknownOption)]
            );
        }
        // The excluded option is a valid answer.
        let fields = form(&[
            ("idade", "30"),
            ("moradores", "2"),
            ("renda_familiar", "nao_informar"),
        ]);
        assert!(validate_page(&def(), 0, &fields, IGNORE).is_ok());
    }

    #[test]
    fn repeated_field_is_duplicated_except_for_multi() {
        let mut fields = page0("30");
        fields.push(("idade".into(), "31".into()));
        fields.push(("renda_familiar".into(), "2a4sm".into()));
        let errors = validate_page(&def(), 0, &fields, IGNORE).expect_err("dup");
        assert_eq!(
            errors.errors,
            vec![
                ("idade".to_owned(), AnswerError::Duplicated),
                ("renda_familiar".to_owned(), AnswerError::Duplicated),
            ]
        );
        // Ignored fields may repeat.
        let mut fields = page0("30");
        fields.push(("action".into(), "back".into()));
        assert!(validate_page(&def(), 0, &fields, IGNORE).is_ok());
    }

    fn page1(fatores: &[&str]) -> Result<Answers, PageErrors> {
        let mut fields = form(&[
            ("frequencia_supermercado", "4x_ou_mais"),
            ("distancia_supermercado", "6a10km"),
        ]);
        fields.extend(
            fatores
                .iter()
                .map(|v| ("fatores_escolha".to_owned(), (*v).to_owned())),
        );
        validate_page(&def(), 1, &fields, IGNORE)
    }

    fn page1_error(fatores: &[&str]) -> Option<AnswerError> {
        page1(fatores).err().and_then(|e| e.get("fatores_escolha"))
    }

    #[test]
    fn multi_selection_rules() {
        assert_eq!(page1_error(&[]), Some(AnswerError::Required));
        assert_eq!(page1_error(&[""]), Some(AnswerError::Required));
        assert_eq!(
            page1_error(&["preco", "luxo"]),
            Some(AnswerError::UnknownOption)
        );
        assert_eq!(
            page1_error(&["preco", "preco"]),
            Some(AnswerError::Duplicated)
        );
        assert_eq!(
            page1_error(&["preco", "entrega", "horario", "variedade"]),
            Some(AnswerError::TooMany { max: 3 })
        );
        // Stored in the definition's option order, empty values skipped.
        let answers = page1(&["entrega", "", "preco", "horario"]).expect("valid");
        assert_eq!(
            answers.get("fatores_escolha"),
            Some(&AnswerValue::Multi(vec![
                "preco".into(),
                "horario".into(),
                "entrega".into()
            ]))
        );
    }

    #[test]
    fn multi_too_few() {
        let src = "id = \"t\"\nversion = 1\ntitle = { pt = \"a\", en = \"a\" }\nintro = { pt = \"a\", en = \"a\" }\n\
                   [[pages]]\nkey = \"p\"\ntitle = { pt = \"a\", en = \"a\" }\n\
                   [[pages.questions]]\nkey = \"m\"\ntype = \"multi\"\nrequired = false\nmin = 2\nmax = 3\n\
                   text = { pt = \"a\", en = \"a\" }\noptions = [\n\
                   { value = \"a\", label = { pt = \"a\", en = \"a\" } },\n\
                   { value = \"b\", label = { pt = \"b\", en = \"b\" } },\n\
                   { value = \"c\", label = { pt = \"c\", en = \"c\" } },\n]\n";
        let d = Definition::parse(src).expect("valid");
        let errors = validate_page(&d, 0, &form(&[("m", "a")]), IGNORE).expect_err("too few");
        assert_eq!(errors.get("m"), Some(AnswerError::TooFew { min: 2 }));
        // Optional and left empty: absent, no error.
        let answers = validate_page(&d, 0, &[], IGNORE).expect("empty optional");
        assert!(answers.is_empty());
        assert!(validate_page(&d, 0, &form(&[("m", "a"), ("m", "c")]), IGNORE).is_ok());
    }

    fn page3(text: &str) -> Result<Answers, PageErrors> {
        validate_page(
            &def(),
            3,
            &form(&[
                ("interesse_novo", "certamente_sim"),
                ("mercado_atual", text),
            ]),
            IGNORE,
        )
    }

    #[test]
    fn text_length_counts_characters_not_bytes() {
        let accented = "é".repeat(80); // 160 bytes, 80 characters
        let answers = page3(&accented).expect("80 characters fit");
        assert_eq!(
            answers.get("mercado_atual"),
            Some(&AnswerValue::Text(accented.clone()))
        );
        let too_long = format!("{accented}ã");
        let errors = page3(&too_long).expect_err("81 characters");
        assert_eq!(
            errors.errors,
            vec![("mercado_atual".to_owned(), AnswerError::TooLong { max: 80 })]
        );
    }

    #[test]
    fn text_is_kept_as_typed_and_blank_is_absent() {
        let answers = page3("  Pão de Açúcar \n").expect("valid");
        assert_eq!(
            answers.get("mercado_atual"),
            Some(&AnswerValue::Text("  Pão de Açúcar \n".into()))
        );
        for blank in ["", "   ", "\r\n\t"] {
            let answers = page3(blank).expect("optional");
            assert!(answers.get("mercado_atual").is_none(), "{blank:?}");
            assert_eq!(answers.len(), 1);
        }
        // Not submitted at all: also absent.
        let answers = validate_page(&def(), 3, &form(&[("interesse_novo", "talvez")]), IGNORE)
            .expect("valid");
        assert!(answers.get("mercado_atual").is_none());
    }

    #[test]
    fn unknown_fields_and_fields_of_other_pages() {
        let mut fields = page0("30");
        fields.push(("hacker".into(), "1".into()));
        fields.push(("valor_compra".into(), "ate_100".into())); // page 2's question
        fields.push(("hacker".into(), "2".into()));
        let errors = validate_page(&def(), 0, &fields, IGNORE).expect_err("unknown");
        assert!(errors.errors.is_empty());
        assert_eq!(
            errors.unknown,
            vec!["hacker".to_owned(), "valor_compra".to_owned()]
        );
        // Without the ignore list, the CSRF token is unknown too.
        let errors = validate_page(&def(), 0, &page0("30"), &[]).expect_err("csrf");
        assert_eq!(
            errors.unknown,
            vec!["csrf_token".to_owned(), "action".to_owned()]
        );
        // A page that does not exist has no questions.
        let errors = validate_page(&def(), 99, &page0("30"), IGNORE).expect_err("no page");
        assert_eq!(errors.unknown.len(), 3);
        assert!(validate_page(&def(), 99, &[], IGNORE).is_ok_and(|a| a.is_empty()));
    }

    #[test]
    fn errors_and_unknown_reported_together_in_page_order() {
        let fields = form(&[
            ("renda_familiar", "x"),
            ("idade", "abc"),
            ("zzz", "1"),
            ("moradores", "0"),
        ]);
        let errors = validate_page(&def(), 0, &fields, IGNORE).expect_err("bad");
        assert_eq!(
            errors.errors,
            vec![
                ("idade".to_owned(), AnswerError::NotANumber),
                (
                    "moradores".to_owned(),
                    AnswerError::OutOfRange { min: 1, max: 20 }
                ),
                ("renda_familiar".to_owned(), AnswerError::UnknownOption),
            ]
        );
        assert_eq!(errors.unknown, vec!["zzz".to_owned()]);
        assert_eq!(
            errors.to_string(),
            "3 invalid answer(s), 1 unknown field(s)"
        );
        assert!(!errors.is_empty());
    }

    #[test]
    fn json_round_trip() {
        let answers = full_answers();
        let mut answers = answers;
        answers.insert(
            "mercado_atual",
            AnswerValue::Text("Pão de Açúcar \"Centro\"".into()),
        );
        let json = serde_json::to_string(&answers).expect("serialize");
        assert!(json.contains(r#""idade":{"integer":34}"#), "{json}");
        assert!(
            json.contains(r#""renda_familiar":{"single":"2a4sm"}"#),
            "{json}"
        );
        assert!(
            json.contains(r#""fatores_escolha":{"multi":["preco","proximidade"]}"#),
            "{json}"
        );
        let back: Answers = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, answers);

        // Text and single stay distinct although both are strings.
        let one: AnswerValue = serde_json::from_str(r#"{"text":"2a4sm"}"#).expect("text");
        assert_eq!(one, AnswerValue::Text("2a4sm".into()));
        // Malformed stored JSON is an error, not a panic.
        assert!(serde_json::from_str::<Answers>(r#"{"idade":{"integer":1.5}}"#).is_err());
        assert!(serde_json::from_str::<Answers>(r#"{"idade":34}"#).is_err());
        assert!(serde_json::from_str::<Answers>("{}").is_ok_and(|a| a.is_empty()));
    }

    #[test]
    fn merge_page_replaces_only_that_page() {
        let d = def();
        let mut answers = full_answers();
        answers.insert("mercado_atual", AnswerValue::Text("Extra".into()));
        assert_eq!(answers.len(), 11, "every question answered");

        // Clearing the optional text removes it; other pages untouched.
        let new = validate_page(
            &d,
            3,
            &form(&[("interesse_novo", "certamente_nao")]),
            IGNORE,
        )
        .expect("valid");
        answers.merge_page(&d, 3, new);
        assert!(answers.get("mercado_atual").is_none());
        assert_eq!(
            answers.get("interesse_novo"),
            Some(&AnswerValue::Single("certamente_nao".into()))
        );
        assert_eq!(answers.get("idade"), Some(&AnswerValue::Integer(34)));

        // Keys of other pages in `new` are ignored.
        let mut foreign = Answers::new();
        foreign.insert("idade", AnswerValue::Integer(99));
        foreign.insert("interesse_novo", AnswerValue::Single("talvez".into()));
        answers.merge_page(&d, 3, foreign);
        assert_eq!(answers.get("idade"), Some(&AnswerValue::Integer(34)));
        assert_eq!(
            answers.get("interesse_novo"),
            Some(&AnswerValue::Single("talvez".into()))
        );

        // Out-of-range page: no change.
        let before = answers.clone();
        answers.merge_page(&d, 42, Answers::new());
        assert_eq!(answers, before);
    }

    #[test]
    fn complete_questionnaire() {
        let d = def();
        let answers = full_answers();
        assert_eq!(validate_complete(&d, &answers), Ok(()));
        assert!((0..4).all(|p| is_page_complete(&d, p, &answers)));
        assert!(!is_page_complete(&d, 4, &answers));
        assert_eq!(first_incomplete_page(&d, &answers), None);
    }

    #[test]
    fn incomplete_questionnaire() {
        let d = def();
        let mut answers = full_answers();
        answers.remove("gasto_mensal");
        answers.remove("interesse_novo");
        assert_eq!(
            validate_complete(&d, &answers),
            Err(vec![
                ("gasto_mensal".to_owned(), AnswerError::Required),
                ("interesse_novo".to_owned(), AnswerError::Required),
            ])
        );
        assert!(is_page_complete(&d, 0, &answers));
        assert!(!is_page_complete(&d, 2, &answers));
        assert_eq!(first_incomplete_page(&d, &Answers::new()), Some(0));
        assert_eq!(first_incomplete_page(&d, &answers), Some(2));
    }

    #[test]
    fn stored_answers_are_rechecked() {
        let d = def();
        let mut answers = full_answers();
        answers.insert("idade", AnswerValue::Integer(200));
        answers.insert("renda_familiar", AnswerValue::Single("removida".into()));
        answers.insert("moradores", AnswerValue::Text("3".into()));
        answers.insert(
            "fatores_escolha",
            AnswerValue::Multi(vec!["preco".into(); 2]),
        );
        answers.insert("valor_compra", AnswerValue::Single(String::new()));
        answers.insert("mercado_atual", AnswerValue::Text("x".repeat(81)));
        answers.insert("pergunta_antiga", AnswerValue::Integer(1));
        assert_eq!(
            validate_complete(&d, &answers),
            Err(vec![
                (
                    "idade".to_owned(),
                    AnswerError::OutOfRange { min: 18, max: 120 }
                ),
                ("moradores".to_owned(), AnswerError::WrongType),
                ("renda_familiar".to_owned(), AnswerError::UnknownOption),
                ("fatores_escolha".to_owned(), AnswerError::Duplicated),
                ("valor_compra".to_owned(), AnswerError::Required),
                ("mercado_atual".to_owned(), AnswerError::TooLong { max: 80 }),
            ])
        );
        answers.retain_known(&d);
        assert!(answers.get("pergunta_antiga").is_none());
        // A blank stored text on an optional question is not an error.
        let mut answers = full_answers();
        answers.insert("mercado_atual", AnswerValue::Text(" ".into()));
        assert_eq!(validate_complete(&d, &answers), Ok(()));
    }

    #[test]
    fn error_codes_are_stable() {
        let codes: Vec<_> = [
            AnswerError::Required,
            AnswerError::NotANumber,
            AnswerError::OutOfRange { min: 1, max: 2 },
            AnswerError::UnknownOption,
            AnswerError::TooFew { min: 1 },
            AnswerError::TooMany { max: 3 },
            AnswerError::TooLong { max: 80 },
            AnswerError::Duplicated,
            AnswerError::WrongType,
        ]
        .iter()
        .map(AnswerError::code)
        .collect();
        assert_eq!(
            codes,
            [
                "required",
                "not_a_number",
                "out_of_range",
                "unknown_option",
                "too_few",
                "too_many",
                "too_long",
                "duplicated",
                "wrong_type"
            ]
        );
    }
}
