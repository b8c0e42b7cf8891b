//! The questionnaire's texts as its pages show them, made once per process.
//!
//! A question's legend, its hint (help, the range or length it accepts, the minimum wage
//! note of the income question) and its options' labels (with their amounts in reais:
//! "De 2 a 4 salários mínimos (R$ 3.242 a R$ 6.484)") depend only on the definition, the
//! language and the configured minimum wage, none of which change while the server runs.
//! Formatting and escaping them on every request was a visible share of a page's cost
//! (bench/findings.md), so every such text is made once, at start-up, for the definition
//! the server was started with.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use maud::html;

use crate::i18n::Lang;
use crate::survey::{Definition, Question, QuestionKind, Unit, format_reais};

/// One question's texts in one language, escaped for HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuestionHtml {
    /// The question itself (the fieldset's legend).
    pub legend: String,
    /// What the hint paragraph says, if the question has one.
    pub hint: Option<String>,
    /// The options' labels, in order.
    pub labels: Vec<String>,
    /// The options' input ids (`<key>-<value>`), in order.
    pub ids: Vec<String>,
    /// A grid's item labels, in order (each item's legend).
    pub items: Vec<String>,
}

/// Every question's texts of one definition, in both languages.
pub struct PreparedTexts {
    /// The definition they were made for: another one's questions get theirs made per
    /// request ([`PreparedTexts::question`]).
    def: Arc<Definition>,
    salario_minimo: (u32, u16),
    /// By question key: Portuguese, then English.
    by_question: HashMap<String, [QuestionHtml; 2]>,
}

impl PreparedTexts {
    /// `salario_minimo`: the minimum wage in reais and the year it is for.
    pub fn new(def: Arc<Definition>, salario_minimo: (u32, u16)) -> PreparedTexts {
        let by_question = def
            .pages()
            .iter()
            .flat_map(|page| &page.questions)
            .map(|q| {
                let texts = [Lang::Pt, Lang::En].map(|lang| make(q, lang, salario_minimo));
                (q.key.clone(), texts)
            })
            .collect();
        PreparedTexts {
            def,
            salario_minimo,
            by_question,
        }
    }

    /// `q`'s texts in `lang`. `def` is the definition `q` belongs to: for any other than
    /// the one these texts were made for, they are made now, the same way.
    pub fn question(&self, def: &Definition, q: &Question, lang: Lang) -> Cow<'_, QuestionHtml> {
        let made = std::ptr::eq(def, &*self.def)
            .then(|| self.by_question.get(&q.key))
            .flatten();
        match made {
            Some(texts) => Cow::Borrowed(&texts[usize::from(lang.is_english())]),
            None => Cow::Owned(make(q, lang, self.salario_minimo)),
        }
    }
}

/// The one way a question's texts are made.
fn make(q: &Question, lang: Lang, (sm, sm_year): (u32, u16)) -> QuestionHtml {
    let t = lang.t();
    let en = lang.is_english();
    let range: Option<String> = match &q.kind {
        QuestionKind::Integer { min, max } => Some(
            t.survey_number_range
                .replace("{min}", &min.to_string())
                .replace("{max}", &max.to_string()),
        ),
        // The range is said here only; a definition's `help` does not repeat it.
        QuestionKind::Multi { min, max, .. } if *min <= 1 => Some(
            lang.respondent()
                .choose_at_most
                .replace("{max}", &max.to_string()),
        ),
        QuestionKind::Multi { min, max, .. } => Some(
            t.survey_choose_up_to
                .replace("{min}", &min.to_string())
                .replace("{max}", &max.to_string()),
        ),
        QuestionKind::Text { max_length } => {
            Some(t.survey_max_chars.replace("{n}", &max_length.to_string()))
        }
        QuestionKind::Grid { .. } => Some(lang.question_types().grid_hint.to_owned()),
        QuestionKind::Single { .. } | QuestionKind::Scale { .. } => None,
    };
    let hint = (q.help.is_some() || range.is_some()).then(|| {
        html! {
            @if let Some(h) = &q.help { (h.get(en)) " " }
            @if let Some(r) = &range { (r) }
            @if q.unit == Some(Unit::SalarioMinimo) {
                " " (t.survey_income_note
                    .replace("{year}", &sm_year.to_string())
                    .replace("{value}", &format_reais(f64::from(sm), en)))
            }
        }
        .into_string()
    });
    QuestionHtml {
        legend: html! { (q.text.get(en)) }.into_string(),
        hint,
        labels: q
            .options()
            .iter()
            .map(|o| html! { (q.option_label(o, en, Some(sm))) }.into_string())
            .collect(),
        ids: q
            .options()
            .iter()
            .map(|o| format!("{}-{}", q.key, o.value))
            .collect(),
        items: q
            .items()
            .iter()
            .map(|i| html! { (i.label.get(en)) }.into_string())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prepared() -> (Arc<Definition>, PreparedTexts) {
        let def = Arc::new(crate::survey::default_definition().expect("definition"));
        let texts = PreparedTexts::new(def.clone(), (1621, 2026));
        (def, texts)
    }

    #[test]
    fn labels_are_the_escaped_option_labels_in_both_languages() {
        let (def, texts) = prepared();
        let mut with_reais = 0;
        for q in def.pages().iter().flat_map(|p| &p.questions) {
            for lang in [Lang::Pt, Lang::En] {
                let made = texts.question(&def, q, lang);
                assert!(matches!(made, Cow::Borrowed(_)), "{}", q.key);
                assert_eq!(made.labels.len(), q.options().len());
                for (i, o) in q.options().iter().enumerate() {
                    let plain = q.option_label(o, lang.is_english(), Some(1621));
                    assert_eq!(made.labels[i], html! { (plain) }.into_string(), "{}", q.key);
                    assert_eq!(made.ids[i], format!("{}-{}", q.key, o.value));
                    with_reais += usize::from(plain.contains("R$"));
                }
                assert_eq!(
                    made.legend,
                    html! { (q.text.get(lang.is_english())) }.into_string()
                );
            }
        }
        assert!(with_reais > 0, "the income bands carry amounts in reais");
    }

    #[test]
    fn hints_say_the_help_the_range_and_the_minimum_wage() {
        let (def, texts) = prepared();
        let questions: Vec<&Question> = def.pages().iter().flat_map(|p| &p.questions).collect();
        let income = questions
            .iter()
            .find(|q| q.unit == Some(Unit::SalarioMinimo) && q.help.is_some())
            .expect("the income question, with help");
        let hint = texts
            .question(&def, income, Lang::Pt)
            .hint
            .clone()
            .expect("hint");
        assert!(hint.contains("2026"), "{hint}");
        assert!(hint.contains("1.621") && hint.contains("R$"), "{hint}");
        let integer = questions
            .iter()
            .find(|q| matches!(q.kind, QuestionKind::Integer { .. }))
            .expect("an integer question");
        let QuestionKind::Integer { min, max } = integer.kind else {
            unreachable!()
        };
        let hint = texts
            .question(&def, integer, Lang::En)
            .hint
            .clone()
            .expect("hint");
        assert!(
            hint.contains(&min.to_string()) && hint.contains(&max.to_string()),
            "{hint}"
        );
        // A single choice without help has no hint paragraph at all.
        if let Some(q) = questions
            .iter()
            .find(|q| matches!(q.kind, QuestionKind::Single { .. }) && q.help.is_none())
        {
            assert_eq!(texts.question(&def, q, Lang::Pt).hint, None);
        }
    }

    #[test]
    fn a_multiple_choice_hint_states_its_range_once() {
        let (def, texts) = prepared();
        let mut defs = crate::survey::definition::previous_versions(&def);
        defs.push((*def).clone());
        let mut seen = 0;
        for d in &defs {
            for q in d.questions() {
                let QuestionKind::Multi { max, .. } = q.kind else {
                    continue;
                };
                for (lang, word) in [(Lang::Pt, "opç"), (Lang::En, "option")] {
                    let hint = texts.question(d, q, lang).hint.clone().unwrap_or_default();
                    assert_eq!(hint.matches(word).count(), 1, "{}: {hint}", q.key);
                    assert!(hint.contains(&max.to_string()), "{}: {hint}", q.key);
                    seen += 1;
                }
            }
        }
        assert!(
            seen >= 4,
            "the shipped definitions have multiple-choice questions"
        );
    }

    #[test]
    fn another_definitions_question_gets_its_texts_made_now() {
        let (def, texts) = prepared();
        // A question under a key the prepared definition also has, with other texts.
        let key = &def.pages()[0].questions[0].key;
        let other = Definition::parse(&format!(
            r#"
id = "outro"
version = 1
title = {{ pt = "T", en = "T" }}
intro = {{ pt = "I", en = "I" }}
[[pages]]
key = "p1"
title = {{ pt = "P", en = "P" }}
[[pages.questions]]
key = "{key}"
type = "single"
text = {{ pt = "Outra <pergunta>", en = "Other" }}
options = [ {{ value = "a", label = {{ pt = "Outra <coisa>", en = "Other" }} }} ]
"#
        ))
        .expect("definition");
        let q = &other.pages()[0].questions[0];
        let made = texts.question(&other, q, Lang::Pt);
        assert!(matches!(made, Cow::Owned(_)));
        assert_eq!(made.legend, "Outra &lt;pergunta&gt;");
        assert_eq!(made.labels, ["Outra &lt;coisa&gt;"]);
        assert_eq!(made.ids, [format!("{key}-a")]);
        // The same definition parsed again is another one too, and gets the same texts.
        let again = crate::survey::default_definition().expect("definition");
        let q = &again.pages()[0].questions[0];
        let made = texts.question(&again, q, Lang::En);
        assert!(matches!(made, Cow::Owned(_)));
        assert_eq!(
            *made,
            *texts.question(&def, &def.pages()[0].questions[0], Lang::En)
        );
    }
}
