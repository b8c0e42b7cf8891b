//! Top mentions of a free-text answer ("Em qual supermercado você mais compra hoje?"):
//! answers are grouped after normalising case, accents, punctuation and spacing, and only
//! groups given by at least `min_count` respondents are returned. Rarer texts are never
//! returned, not even counted in a visible "other" line per text: a name typed by one or
//! two people can identify them.

use std::collections::BTreeMap;

use serde::Serialize;
use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};

/// One mention shared by enough respondents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mention {
    /// How the mention is shown: the spelling most respondents of the group typed, when
    /// at least `min_count` typed exactly it; otherwise the normalised key in title case.
    pub label: String,
    /// Respondents whose answer normalises to this mention.
    pub count: u64,
}

/// The mentions and what was left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mentions {
    /// Most frequent first; ties in label order.
    pub top: Vec<Mention>,
    /// Respondents with a non-blank answer.
    pub answered: u64,
    /// Respondents whose mention is shared by fewer than `min_count` (not listed).
    pub rare: u64,
    /// The threshold used.
    pub min_count: u64,
}

/// The grouping key of a text: accents removed (NFD without combining marks), lower
/// case, every run of non-alphanumeric characters one space, trimmed. Empty for a blank
/// or punctuation-only answer.
pub fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.nfd() {
        if c.general_category_group() == GeneralCategoryGroup::Mark {
            continue;
        }
        if c.is_alphanumeric() {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.extend(c.to_lowercase());
        } else {
            space = true;
        }
    }
    out
}

/// `"sao vicente"` → `"Sao Vicente"`.
fn title_case(key: &str) -> String {
    key.split(' ')
        .map(|w| {
            let mut cs = w.chars();
            cs.next()
                .map(|f| f.to_uppercase().chain(cs).collect::<String>())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Collects answers one at a time (the report reads responses in batches).
#[derive(Debug, Default)]
pub struct MentionCounter {
    /// key → (count, spelling → count)
    groups: BTreeMap<String, (u64, BTreeMap<String, u64>)>,
    answered: u64,
}

impl MentionCounter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one respondent's answer; blank answers are not counted.
    pub fn add(&mut self, text: &str) {
        let key = normalise(text);
        if key.is_empty() {
            return;
        }
        self.answered = self.answered.saturating_add(1);
        let spelling = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let (n, spellings) = self.groups.entry(key).or_default();
        *n = n.saturating_add(1);
        let s = spellings.entry(spelling).or_default();
        *s = s.saturating_add(1);
    }

    /// The mentions of at least `min_count` respondents (at least 1).
    pub fn finish(self, min_count: u64) -> Mentions {
        let min = min_count.max(1);
        let mut top: Vec<Mention> = Vec::new();
        let mut listed: u64 = 0;
        for (key, (count, spellings)) in self.groups {
            if count < min {
                continue;
            }
            listed = listed.saturating_add(count);
            // Most typed spelling; ties to the first in order, for determinism.
            let best = spellings
                .iter()
                .fold(None::<(&String, u64)>, |acc, (s, &n)| match acc {
                    Some((_, m)) if m >= n => acc,
                    _ => Some((s, n)),
                });
            let label = match best {
                Some((s, n)) if n >= min => s.clone(),
                _ => title_case(&key),
            };
            top.push(Mention { label, count });
        }
        top.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.label.cmp(&b.label)));
        Mentions {
            top,
            answered: self.answered,
            rare: self.answered.saturating_sub(listed),
            min_count: min,
        }
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_accents_punctuation_and_spaces() {
        assert_eq!(normalise("  São   Vicente "), "sao vicente");
        assert_eq!(normalise("SAO VICENTE."), "sao vicente");
        assert_eq!(normalise("Supermercado D'Avó"), "supermercado d avo");
        assert_eq!(normalise(" - "), "");
        assert_eq!(title_case("sao vicente"), "Sao Vicente");
    }

    fn counted(answers: &[(&str, usize)], min: u64) -> Mentions {
        let mut c = MentionCounter::new();
        for (text, n) in answers {
            for _ in 0..*n {
                c.add(text);
            }
        }
        c.finish(min)
    }

    #[test]
    fn only_mentions_of_at_least_min_respondents_are_listed() {
        let m = counted(
            &[
                ("Carrefour", 4),
                ("carrefour ", 2),
                ("Pague Menos", 5),
                ("Mercadinho do Zé", 4),
                ("Atacadão", 1),
                ("   ", 3),
            ],
            5,
        );
        assert_eq!(
            m.top,
            vec![
                Mention {
                    label: "Carrefour".into(),
                    count: 6
                },
                Mention {
                    label: "Pague Menos".into(),
                    count: 5
                },
            ]
        );
        // Blank answers are not answers; the 4 + 1 rare ones are only counted together.
        assert_eq!(m.answered, 16);
        assert_eq!(m.rare, 5);
        assert!(!format!("{m:?}").contains("Zé") && !format!("{m:?}").contains("Atacad"));
    }

    #[test]
    fn a_spelling_typed_by_too_few_is_not_shown_verbatim() {
        // Five respondents, five spellings: no single person's text is shown.
        let m = counted(
            &[
                ("São Vicente", 1),
                ("sao vicente", 1),
                ("SÃO VICENTE", 1),
                ("Sao  Vicente", 1),
                ("são vicente!", 1),
            ],
            5,
        );
        assert_eq!(m.top.len(), 1);
        assert_eq!(m.top[0].label, "Sao Vicente");
        assert_eq!(m.top[0].count, 5);
        assert_eq!(m.rare, 0);
    }
}
