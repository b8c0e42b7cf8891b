//! The column plan: which columns an export has, in which order, how each cell is
//! computed from a stored response, and the codebook that describes them.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::NaiveDateTime;
use serde::Deserialize;

use crate::db::responses::Response;
use crate::stats::bands::{Band, midpoint};
use crate::stats::income_class::IncomeClass;
use crate::survey::{Choice, Definition, Question, QuestionKind, Role, Unit};

/// The open top band ("acima de X", no upper bound) is valued at this multiple of its
/// lower bound in the `__ponto_medio` columns.
pub const OPEN_TOP_FACTOR: f64 = 1.5;

/// One exported value, borrowing its text from the row where it can (an export writes
/// tens of millions of cells; copying each one was a measurable share of its time).
#[derive(Debug, Clone, PartialEq)]
pub enum Cell<'a> {
    /// No value: not answered, not applicable, or excluded from numeric analysis.
    Empty,
    Int(i64),
    Num(f64),
    Text(Cow<'a, str>),
    /// A UTC time, written as [`timestamp`] does.
    Time(NaiveDateTime),
}

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

/// A stored answer read for export: the JSON of [`crate::survey::AnswerValue`] (same
/// externally tagged form), with its strings borrowed.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stored<'a> {
    Integer(i64),
    Single(#[serde(borrow)] JsonStr<'a>),
    Multi(#[serde(borrow)] Vec<JsonStr<'a>>),
    Text(#[serde(borrow)] JsonStr<'a>),
}

/// A response's answers by question key, borrowed from its stored JSON.
pub type StoredAnswers<'a> = BTreeMap<JsonStr<'a>, Stored<'a>>;

/// The answers of a stored row; a row that does not parse (edited by hand) exports as
/// unanswered, as [`Response::answers`] reads it.
pub fn parse_answers(json: &str) -> StoredAnswers<'_> {
    serde_json::from_str(json).unwrap_or_default()
}

/// A respondent's personal data, only with `--include-personal-data`.
#[derive(Debug, Clone, Default)]
pub struct Person {
    pub nome: String,
    pub sobrenome: String,
    pub email: String,
    pub telefone: Option<String>,
}

/// Everything a row is computed from.
pub struct Row<'a> {
    pub response: &'a Response,
    pub answers: StoredAnswers<'a>,
    pub pseudonym: String,
    /// `Some` only when personal data is exported (an empty [`Person`] for a response
    /// detached from its account).
    pub person: Option<&'a Person>,
}

#[derive(Debug, Clone, Copy)]
enum Source<'d> {
    ResponseId,
    DefinitionVersion,
    SubmittedAt,
    UpdatedAt,
    Bairro,
    Nome,
    Sobrenome,
    Email,
    Telefone,
    Answer(&'d Question),
    MultiFlag(&'d Question, &'d Choice),
    Midpoint(&'d Question),
    IncomeClass(&'d Question),
}

/// One column of the export.
#[derive(Debug, Clone)]
pub struct Column<'d> {
    pub name: String,
    source: Source<'d>,
}

/// The columns for `def`: fixed columns, personal data when asked, then one or more
/// columns per question in definition order, each followed by its derived columns.
pub fn plan(def: &Definition, personal: bool) -> Vec<Column<'_>> {
    let col = |name: &str, source| Column {
        name: name.to_string(),
        source,
    };
    let mut cols = vec![
        col("response_id", Source::ResponseId),
        col("definition_version", Source::DefinitionVersion),
        col("submitted_at", Source::SubmittedAt),
        col("updated_at", Source::UpdatedAt),
        col("bairro", Source::Bairro),
    ];
    if personal {
        cols.push(col("nome", Source::Nome));
        cols.push(col("sobrenome", Source::Sobrenome));
        cols.push(col("email", Source::Email));
        cols.push(col("telefone", Source::Telefone));
    }
    let income = income_question(def);
    for q in def.questions() {
        match &q.kind {
            QuestionKind::Multi { options, .. } => {
                for o in options {
                    cols.push(Column {
                        name: format!("{}__{}", q.key, o.value),
                        source: Source::MultiFlag(q, o),
                    });
                }
            }
            _ => cols.push(col(&q.key, Source::Answer(q))),
        }
        if has_midpoint(q) {
            cols.push(Column {
                name: format!("{}__ponto_medio", q.key),
                source: Source::Midpoint(q),
            });
        }
        if income.is_some_and(|i| std::ptr::eq(i, q)) {
            cols.push(col("classe_renda", Source::IncomeClass(q)));
        }
    }
    cols
}

/// The household-income question, when its bounds are in minimum wages.
fn income_question(def: &Definition) -> Option<&Question> {
    def.by_role(Role::HouseholdIncome).filter(|q| {
        q.unit == Some(Unit::SalarioMinimo) && matches!(q.kind, QuestionKind::Single { .. })
    })
}

/// A single-choice question with a role and numeric bounds on its options.
fn has_midpoint(q: &Question) -> bool {
    matches!(q.kind, QuestionKind::Single { .. })
        && q.role.is_some()
        && q.options()
            .iter()
            .any(|o| o.lower.is_some() || o.upper.is_some())
}

/// The midpoint of an option's band; the open top band uses [`OPEN_TOP_FACTOR`].
pub fn option_midpoint(o: &Choice) -> Option<f64> {
    if o.excluded {
        return None;
    }
    let open_top = o.lower.unwrap_or(0.0) * OPEN_TOP_FACTOR;
    midpoint(&Band::new(o.lower, o.upper), open_top)
}

fn option_class(o: &Choice) -> Option<IncomeClass> {
    if o.excluded {
        return None;
    }
    IncomeClass::from_sm_band(&Band::new(o.lower, o.upper))
}

/// The option chosen in a single-choice question, if answered with a known option.
fn chosen<'q>(q: &'q Question, answers: &StoredAnswers<'_>) -> Option<&'q Choice> {
    match answers.get(q.key.as_str()) {
        Some(Stored::Single(v)) => q.option(&v.0),
        _ => None,
    }
}

/// UTC ISO 8601 to the second: `2026-11-27T21:05:00Z`.
pub fn timestamp(t: NaiveDateTime) -> String {
    let mut s = String::with_capacity(20);
    write_timestamp(&mut s, t);
    s
}

/// [`timestamp`] appended to `out`.
pub fn write_timestamp(out: &mut String, t: NaiveDateTime) {
    use chrono::{Datelike, Timelike};
    // Written out rather than through chrono's `format`, which parses its pattern on
    // every call: this runs twice per exported row.
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
}

fn text(s: &str) -> Cell<'_> {
    if s.is_empty() {
        Cell::Empty
    } else {
        Cell::Text(Cow::Borrowed(s))
    }
}

impl Column<'_> {
    /// Whether the column holds numbers (integers or decimals).
    pub fn is_numeric(&self) -> bool {
        match self.source {
            Source::DefinitionVersion | Source::MultiFlag(..) | Source::Midpoint(_) => true,
            Source::Answer(q) => matches!(q.kind, QuestionKind::Integer { .. }),
            _ => false,
        }
    }

    /// This column's value for `row`.
    pub fn cell<'r>(&self, row: &'r Row<'_>) -> Cell<'r> {
        let r = row.response;
        match self.source {
            Source::ResponseId => Cell::Text(Cow::Borrowed(&row.pseudonym)),
            Source::DefinitionVersion => Cell::Int(i64::from(r.definition_version)),
            Source::SubmittedAt => r.submitted_at.map_or(Cell::Empty, Cell::Time),
            Source::UpdatedAt => Cell::Time(r.updated_at),
            Source::Bairro => text(&r.bairro),
            Source::Nome => row.person.map_or(Cell::Empty, |p| text(&p.nome)),
            Source::Sobrenome => row.person.map_or(Cell::Empty, |p| text(&p.sobrenome)),
            Source::Email => row.person.map_or(Cell::Empty, |p| text(&p.email)),
            Source::Telefone => row
                .person
                .and_then(|p| p.telefone.as_deref())
                .map_or(Cell::Empty, text),
            Source::Answer(q) => match (&q.kind, row.answers.get(q.key.as_str())) {
                (QuestionKind::Integer { .. }, Some(Stored::Integer(n))) => Cell::Int(*n),
                (QuestionKind::Single { .. }, Some(Stored::Single(v))) => text(&v.0),
                (QuestionKind::Text { .. }, Some(Stored::Text(t))) => text(&t.0),
                // Unanswered, or stored under an older definition with another type.
                _ => Cell::Empty,
            },
            Source::MultiFlag(q, o) => match row.answers.get(q.key.as_str()) {
                Some(Stored::Multi(chosen)) => {
                    Cell::Int(i64::from(chosen.iter().any(|v| v.0 == o.value)))
                }
                _ => Cell::Empty,
            },
            Source::Midpoint(q) => chosen(q, &row.answers)
                .and_then(option_midpoint)
                .map_or(Cell::Empty, Cell::Num),
            Source::IncomeClass(q) => chosen(q, &row.answers)
                .and_then(option_class)
                .map_or(Cell::Empty, |c| Cell::Text(Cow::Borrowed(c.as_str()))),
        }
    }

    /// The codebook line: (type, question text in Portuguese, options, notes).
    pub fn describe(&self) -> [String; 4] {
        let s = |x: &str| x.to_string();
        let options = |q: &Question| {
            q.options()
                .iter()
                .map(|o| format!("{}={}", o.value, o.label.pt))
                .collect::<Vec<_>>()
                .join(" | ")
        };
        let personal = "dado pessoal; só com --include-personal-data";
        match self.source {
            Source::ResponseId => [
                s("text"),
                s("Identificador pseudônimo da resposta"),
                s(""),
                s(
                    "primeiros 16 hex de HMAC-SHA256(session.secret, \"response:\" + id); \
                   estável entre exportações, não é o id do banco",
                ),
            ],
            Source::DefinitionVersion => [
                s("integer"),
                s("Versão do questionário quando a resposta foi salva"),
                s(""),
                s(""),
            ],
            Source::SubmittedAt => [
                s("datetime"),
                s("Envio final da resposta"),
                s(""),
                s("UTC, ISO 8601; vazio = rascunho não enviado"),
            ],
            Source::UpdatedAt => [
                s("datetime"),
                s("Última alteração da resposta"),
                s(""),
                s("UTC, ISO 8601; --since/--until filtram por este campo"),
            ],
            Source::Bairro => [s("text"), s("Bairro do respondente"), s(""), s("")],
            Source::Nome => [s("text"), s("Nome"), s(""), s(personal)],
            Source::Sobrenome => [s("text"), s("Sobrenome"), s(""), s(personal)],
            Source::Email => [s("text"), s("E-mail"), s(""), s(personal)],
            Source::Telefone => [s("text"), s("Telefone"), s(""), s(personal)],
            Source::Answer(q) => {
                let notes = match &q.kind {
                    QuestionKind::Integer { min, max } => format!("de {min} a {max}"),
                    QuestionKind::Text { max_length } => {
                        format!("texto livre, até {max_length} caracteres")
                    }
                    _ => String::new(),
                };
                [s(q.kind.name()), q.text.pt.clone(), options(q), notes]
            }
            Source::MultiFlag(q, o) => [
                s("flag"),
                format!("{} — {}", q.text.pt, o.label.pt),
                s("1=marcada | 0=não marcada"),
                format!(
                    "opção `{}` da pergunta múltipla `{}`; vazio = não respondida",
                    o.value, q.key
                ),
            ],
            Source::Midpoint(q) => {
                let values = q
                    .options()
                    .iter()
                    .map(|o| match option_midpoint(o) {
                        Some(m) => format!("{}={m}", o.value),
                        None => format!("{}=(vazio)", o.value),
                    })
                    .collect::<Vec<_>>()
                    .join(" | ");
                let unit = q.unit.map_or("sem unidade", Unit::as_str);
                [
                    s("number"),
                    format!("Ponto médio da faixa: {}", q.text.pt),
                    values,
                    format!(
                        "unidade: {unit}; faixa fechada = (inferior + superior) / 2; faixa aberta \
                         (sem limite superior) = {OPEN_TOP_FACTOR} × limite inferior; \
                         vazio = não respondida ou excluída"
                    ),
                ]
            }
            Source::IncomeClass(q) => {
                let values = q
                    .options()
                    .iter()
                    .map(|o| {
                        let c = option_class(o).map_or("(vazio)", IncomeClass::as_str);
                        format!("{}={c}", o.value)
                    })
                    .collect::<Vec<_>>()
                    .join(" | ");
                [
                    s("category"),
                    format!("Classe social por renda familiar (de `{}`)", q.key),
                    values,
                    s(
                        "critério de renda atribuído ao IBGE, em salários mínimos: E até 2, D mais de \
                       2 a 4, C mais de 4 a 10, B mais de 10 a 20, A mais de 20; faixa fechada: \
                       classe do ponto médio; faixa aberta: menor classe possível; vazio = prefiro \
                       não informar ou não respondida",
                    ),
                ]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::survey::{AnswerValue, Answers};

    #[test]
    fn borrowed_answers_read_what_answers_store() {
        let mut a = Answers::new();
        a.insert("idade", AnswerValue::Integer(34));
        a.insert("renda", AnswerValue::Single("2a4sm".into()));
        a.insert(
            "motivos",
            AnswerValue::Multi(vec!["preco".into(), "entrega".into()]),
        );
        // Escapes in stored JSON: quotes, backslash, a newline; accents are stored raw.
        a.insert("obs", AnswerValue::Text("diz \"oi\"\\ \nPão".into()));
        let json = serde_json::to_string(&a).expect("json");
        let read = parse_answers(&json);
        assert!(matches!(read.get("idade"), Some(Stored::Integer(34))));
        assert!(matches!(read.get("renda"), Some(Stored::Single(v)) if v.0 == "2a4sm"));
        match read.get("motivos") {
            Some(Stored::Multi(v)) => {
                assert_eq!(
                    v.iter().map(|s| s.0.as_ref()).collect::<Vec<_>>(),
                    ["preco", "entrega"]
                );
            }
            other => panic!("multi read as {other:?}"),
        }
        match read.get("obs") {
            Some(Stored::Text(t)) => {
                assert_eq!(t.0, "diz \"oi\"\\ \nPão");
                assert!(
                    matches!(t.0, Cow::Owned(_)),
                    "escaped text is unescaped into a copy"
                );
            }
            other => panic!("text read as {other:?}"),
        }
        assert!(matches!(
            read.get("renda"),
            Some(Stored::Single(JsonStr(Cow::Borrowed(_))))
        ));
        assert!(parse_answers("not json").is_empty());
        assert!(parse_answers(r#"{"x":{"unknown":1}}"#).is_empty());
    }
}
