//! The options' labels as the questionnaire pages show them, made once per process.
//!
//! A label in minimum wages carries its amounts in reais ([`Question::option_label`]:
//! "De 2 a 4 salários mínimos (R$ 3.242 a R$ 6.484)"). Formatted and HTML-escaped on
//! every request, the labels were 7 % of the instructions of a questionnaire page
//! (bench/findings.md); the definition and the minimum wage do not change while the
//! server runs, so each label is formatted and escaped once, at start-up.

use std::borrow::Cow;
use std::collections::HashMap;

use maud::{PreEscaped, html};

use crate::survey::{Definition, Question};

/// Every option label of one definition at one minimum wage, escaped for HTML.
#[derive(Debug, Default)]
pub struct OptionLabels {
    salario_minimo: u32,
    /// By question key: the labels of its options in order, Portuguese then English.
    by_question: HashMap<String, [Vec<String>; 2]>,
}

impl OptionLabels {
    pub fn new(def: &Definition, salario_minimo: u32) -> OptionLabels {
        let by_question = def
            .pages()
            .iter()
            .flat_map(|page| &page.questions)
            .filter(|q| !q.options().is_empty())
            .map(|q| {
                let labels = [false, true].map(|english| {
                    (0..q.options().len())
                        .map(|i| escaped(q, i, english, salario_minimo))
                        .collect()
                });
                (q.key.clone(), labels)
            })
            .collect();
        OptionLabels {
            salario_minimo,
            by_question,
        }
    }

    /// The label of option `index` of `q` as HTML. A question these labels were not made
    /// for (one of another definition, with other options under the same key) gets its
    /// label made now, the same way.
    pub fn html(&self, q: &Question, index: usize, english: bool) -> PreEscaped<Cow<'_, str>> {
        let made = self
            .by_question
            .get(&q.key)
            .filter(|labels| labels[0].len() == q.options().len())
            .and_then(|labels| labels[usize::from(english)].get(index));
        PreEscaped(match made {
            Some(label) => Cow::Borrowed(label.as_str()),
            None => Cow::Owned(escaped(q, index, english, self.salario_minimo)),
        })
    }
}

/// Option `index` of `q`'s label, HTML-escaped; empty for an index out of range.
fn escaped(q: &Question, index: usize, english: bool, salario_minimo: u32) -> String {
    q.options()
        .get(index)
        .map(|o| html! { (q.option_label(o, english, Some(salario_minimo))) }.into_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_the_escaped_option_labels_in_both_languages() {
        let def = crate::survey::default_definition().expect("definition");
        let labels = OptionLabels::new(&def, 1621);
        let mut with_reais = 0;
        for q in def.pages().iter().flat_map(|p| &p.questions) {
            for (i, o) in q.options().iter().enumerate() {
                for english in [false, true] {
                    let plain = q.option_label(o, english, Some(1621));
                    let expected = html! { (plain) }.into_string();
                    assert_eq!(
                        labels.html(q, i, english).0,
                        expected,
                        "{} {}",
                        q.key,
                        o.value
                    );
                    with_reais += usize::from(plain.contains("R$"));
                }
            }
        }
        assert!(with_reais > 0, "the income bands carry amounts in reais");
    }

    #[test]
    fn another_definitions_question_gets_its_own_label() {
        let def = crate::survey::default_definition().expect("definition");
        let labels = OptionLabels::new(&def, 1621);
        let q = def
            .pages()
            .iter()
            .flat_map(|p| &p.questions)
            .find(|q| q.options().len() > 1)
            .expect("a question with options");
        let mut other = q.clone();
        if let crate::survey::QuestionKind::Single { options }
        | crate::survey::QuestionKind::Multi { options, .. } = &mut other.kind
        {
            options.truncate(1);
            options[0].label.pt = "Outra <coisa>".into();
        }
        let made = labels.html(&other, 0, false).0;
        let expected = html! { (other.option_label(&other.options()[0], false, Some(1621))) };
        assert_eq!(made, expected.into_string());
        assert!(made.starts_with("Outra &lt;coisa&gt;"), "{made}");
        assert_eq!(labels.html(&other, 5, false).0, "");
    }
}
