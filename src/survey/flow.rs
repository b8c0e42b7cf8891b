//! Which pages and questions a respondent sees, decided on the server from the stored
//! answers: `show_if` of pages and questions, screen-outs and soft checks.
//!
//! The walk goes page by page. A condition sees only the answers of questions already
//! found visible, so an answer left behind by a question that is now hidden can never
//! steer the rest. A page is shown when its `show_if` holds and at least one of its
//! questions is visible; once a screen-out rule holds, no later page is shown. Since
//! conditions only read earlier answers (the definition refuses anything else), one
//! walk is enough: removing hidden answers ([`settle`]) cannot change what is visible.

use super::answers::{AnswerError, AnswerValue, Answers, check_stored};
use super::definition::{Check, Condition, Definition, Page, Question, ScreenOut};
use super::logic::Expr;

/// What one respondent sees, given their answers.
#[derive(Debug, Clone)]
pub struct Flow<'d> {
    def: &'d Definition,
    /// Per page, per question: visible.
    questions: Vec<Vec<bool>>,
    /// Per question, in [`Definition::questions`] order: visible (the same flags as
    /// `questions`, flat, for lookups by [`Definition::position`]).
    asked: Vec<bool>,
    /// Per page: shown (visible, with a visible question, not after a screen-out).
    pages: Vec<bool>,
    /// Per page: not shown yet only because a condition reads a question still
    /// unanswered; the progress counts it ahead of the respondent until it is decided.
    undecided: Vec<bool>,
    /// The rule that ended the questionnaire and the page it ended on.
    screened: Option<(&'d ScreenOut, usize)>,
}

/// `expr` over the answers of the questions flagged in `visible` (by
/// [`Definition::position`]): `None` when it reads one that is unanswered.
fn eval(def: &Definition, expr: &Expr, answers: &Answers, visible: &[bool]) -> Option<bool> {
    let find = |k: &str| def.question(k);
    let answer = |k: &str| -> Option<&AnswerValue> {
        match def.position(k) {
            Some(i) if visible.get(i).copied().unwrap_or(false) => answers.get(k),
            _ => None,
        }
    };
    expr.eval(&find, &answer)
}

/// Whether `expr` holds over the answers of the questions flagged in `visible`.
fn holds(def: &Definition, expr: &Expr, answers: &Answers, visible: &[bool]) -> bool {
    eval(def, expr, answers, visible) == Some(true)
}

impl<'d> Flow<'d> {
    /// Walks the definition with `answers`.
    pub fn new(def: &'d Definition, answers: &Answers) -> Flow<'d> {
        let total = def.pages().iter().map(|p| p.questions.len()).sum();
        let mut visible = vec![false; total];
        let mut flat = 0;
        let mut questions = Vec::with_capacity(def.pages().len());
        let mut pages = Vec::with_capacity(def.pages().len());
        let mut undecided = Vec::with_capacity(def.pages().len());
        let mut screened = None;
        for (i, page) in def.pages().iter().enumerate() {
            // Each condition is evaluated once: unknown (it reads an unanswered question)
            // and holding are both read off the one result.
            let cond =
                |c: &Option<Condition>| c.as_ref().map(|c| eval(def, &c.expr, answers, &visible));
            let page_cond = if screened.is_none() {
                cond(&page.show_if)
            } else {
                None
            };
            let page_on = screened.is_none() && page_cond.is_none_or(|r| r == Some(true));
            let mut page_unknown = screened.is_none() && page_cond == Some(None);
            let mut shown = Vec::with_capacity(page.questions.len());
            for q in &page.questions {
                let on = if screened.is_none() {
                    let r = cond(&q.show_if);
                    page_unknown |= r == Some(None);
                    page_on && r.is_none_or(|r| r == Some(true))
                } else {
                    false
                };
                shown.push(on);
            }
            for (j, on) in shown.iter().enumerate() {
                if let Some(v) = visible.get_mut(flat + j) {
                    *v = *on;
                }
            }
            flat += shown.len();
            let page_shown = shown.iter().any(|s| *s);
            if page_shown {
                let rules = page
                    .questions
                    .iter()
                    .zip(&shown)
                    .filter(|(_, on)| **on)
                    .filter_map(|(q, _)| q.screen_out.as_ref())
                    .chain(page.screen_out.as_ref());
                for rule in rules {
                    if holds(def, &rule.when.expr, answers, &visible) {
                        screened = Some((rule, i));
                        break;
                    }
                }
            }
            undecided.push(!page_shown && page_unknown);
            questions.push(shown);
            pages.push(page_shown);
        }
        Flow {
            def,
            questions,
            asked: visible,
            pages,
            undecided,
            screened,
        }
    }

    /// Whether the question with this key is asked.
    pub fn is_shown(&self, key: &str) -> bool {
        self.def
            .position(key)
            .and_then(|i| self.asked.get(i).copied())
            .unwrap_or(false)
    }

    /// One flag per question of the definition, in its order: asked or not.
    pub fn asked_mask(&self) -> Vec<bool> {
        self.asked.clone()
    }

    /// Whether `q` is asked.
    pub fn shows(&self, q: &Question) -> bool {
        self.is_shown(&q.key)
    }

    /// Whether page `i` is shown.
    pub fn page_shown(&self, i: usize) -> bool {
        self.pages.get(i).copied().unwrap_or(false)
    }

    /// The visible questions of page `i`.
    pub fn shown_questions(&self, i: usize) -> Vec<&'d Question> {
        match (self.def.page(i), self.questions.get(i)) {
            (Some(p), Some(on)) => p
                .questions
                .iter()
                .zip(on)
                .filter(|(_, on)| **on)
                .map(|(q, _)| q)
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Indexes of the pages shown, in order.
    pub fn shown_pages(&self) -> Vec<usize> {
        (0..self.pages.len()).filter(|&i| self.pages[i]).collect()
    }

    /// The first page shown after `i`.
    pub fn next_after(&self, i: usize) -> Option<usize> {
        (i + 1..self.pages.len()).find(|&j| self.pages[j])
    }

    /// The last page shown before `i`.
    pub fn previous_before(&self, i: usize) -> Option<usize> {
        (0..i).rev().find(|&j| self.pages[j])
    }

    /// (1-based position of page `i` among the pages shown, number of pages): the
    /// progress indicator counts the pages this respondent will see, and, after `i`, those
    /// still undecided (their condition reads an unanswered question), so the total only
    /// ever shrinks as answers rule pages out, never grows under the respondent.
    pub fn progress(&self, i: usize) -> (usize, usize) {
        let counted = |j: usize| self.pages[j] || (j > i && self.undecided[j]);
        let n = (0..=i.min(self.pages.len().saturating_sub(1)))
            .filter(|&j| self.pages[j])
            .count()
            .max(1);
        let total = (0..self.pages.len()).filter(|&j| counted(j)).count();
        (n, total.max(1))
    }

    /// The screen-out rule that ended the questionnaire, if any.
    pub fn screened_out(&self) -> Option<&'d ScreenOut> {
        self.screened.map(|(r, _)| r)
    }

    /// Whether page `i` is shown and every visible question on it is answered validly.
    pub fn is_page_complete(&self, i: usize, answers: &Answers) -> bool {
        self.page_shown(i)
            && self
                .shown_questions(i)
                .iter()
                .all(|q| check_stored(q, answers).is_none())
    }

    /// The first shown page that is not complete; `None` when all are.
    pub fn first_incomplete_page(&self, answers: &Answers) -> Option<usize> {
        self.shown_pages()
            .into_iter()
            .find(|&i| !self.is_page_complete(i, answers))
    }

    /// Before the final submit: every visible required question answered, every visible
    /// answer valid. Hidden questions are never required.
    pub fn validate_complete(&self, answers: &Answers) -> Result<(), Vec<(String, AnswerError)>> {
        let errors: Vec<_> = self
            .shown_pages()
            .into_iter()
            .flat_map(|i| self.shown_questions(i))
            .filter_map(|q| check_stored(q, answers).map(|e| (q.key.clone(), e)))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// The checks of page `i` whose condition holds now.
    pub fn fired_checks(&self, i: usize, answers: &Answers) -> Vec<&'d Check> {
        match self.def.page(i) {
            Some(p) if self.page_shown(i) => self.fired_on(p, answers),
            _ => Vec::new(),
        }
    }

    /// Keys of every check (any page) whose condition holds now.
    pub fn all_fired_checks(&self, answers: &Answers) -> Vec<&'d str> {
        self.def
            .pages()
            .iter()
            .enumerate()
            .filter(|(i, p)| !p.checks.is_empty() && self.page_shown(*i))
            .flat_map(|(_, p)| self.fired_on(p, answers))
            .map(|c| c.key.as_str())
            .collect()
    }

    /// The checks of page `p` whose condition holds over the answers of the questions
    /// asked.
    fn fired_on(&self, p: &'d Page, answers: &Answers) -> Vec<&'d Check> {
        p.checks
            .iter()
            .filter(|c| holds(self.def, &c.when.expr, answers, &self.asked))
            .collect()
    }
}

/// Removes the answers of questions that are not asked (hidden by a condition, or after
/// a screen-out) and returns the flow of what remains. Called on every save, so a change
/// of an earlier answer that hides a question also deletes its answer.
pub fn settle<'d>(def: &'d Definition, answers: &mut Answers) -> Flow<'d> {
    let flow = Flow::new(def, answers);
    // By question rather than by answer: few questions are hidden, and the answers a
    // question owns ([`Definition::answer_owner`]) are its key and its "other" text,
    // unless another question has that text's key.
    for (q, asked) in def.questions().zip(&flow.asked) {
        if *asked {
            continue;
        }
        answers.remove(&q.key);
        if let Some(other) = q.other_key()
            && def.question(&other).is_none()
        {
            answers.remove(&other);
        }
    }
    flow
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"
id = "t"
version = 1
title = { pt = "T", en = "T" }
intro = { pt = "I", en = "I" }

[[pages]]
key = "p1"
title = { pt = "1", en = "1" }

[[pages.questions]]
key = "compra"
type = "single"
text = { pt = "?", en = "?" }
screen_out_if = 'compra == "nao"'
screen_out_message = { pt = "Obrigado", en = "Thanks" }
options = [
  { value = "sim", label = { pt = "Sim", en = "Yes" } },
  { value = "nao", label = { pt = "Não", en = "No" } },
]

[[pages.questions]]
key = "freq"
type = "integer"
min = 0
max = 30
text = { pt = "?", en = "?" }

[[pages]]
key = "p2"
title = { pt = "2", en = "2" }
show_if = "freq > 0"

[[pages.questions]]
key = "gasto"
type = "integer"
min = 0
max = 5000
text = { pt = "?", en = "?" }

[[pages.questions]]
key = "mensal"
type = "integer"
min = 0
max = 50000
text = { pt = "?", en = "?" }

[[pages.checks]]
key = "mensal_baixo"
when = "freq * gasto > mensal"
message = { pt = "Confira", en = "Check" }

[[pages]]
key = "p3"
title = { pt = "3", en = "3" }

[[pages.questions]]
key = "idade"
type = "integer"
min = 18
max = 99
text = { pt = "?", en = "?" }

[[pages.questions]]
key = "muito_gasto"
type = "integer"
min = 0
max = 10
text = { pt = "?", en = "?" }
show_if = "gasto >= 1000"
"#;

    fn def() -> Definition {
        Definition::parse(DOC).unwrap_or_else(|e| panic!("{e}"))
    }

    fn answers(pairs: &[(&str, AnswerValue)]) -> Answers {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    fn int(n: i64) -> AnswerValue {
        AnswerValue::Integer(n)
    }

    fn yes() -> AnswerValue {
        AnswerValue::Single("sim".into())
    }

    #[test]
    fn hidden_page_is_skipped_and_progress_counts_shown_pages() {
        let def = def();
        let a = answers(&[("compra", yes()), ("freq", int(0))]);
        let flow = Flow::new(&def, &a);
        assert_eq!(flow.shown_pages(), [0, 2]);
        assert_eq!(flow.next_after(0), Some(2));
        assert_eq!(flow.previous_before(2), Some(0));
        assert_eq!(flow.progress(2), (2, 2));
        assert!(!flow.is_shown("gasto"));
        // Hidden questions are not required.
        let mut done = a.clone();
        done.insert("idade", int(40));
        assert_eq!(Flow::new(&def, &done).validate_complete(&done), Ok(()));
        let a = answers(&[("compra", yes()), ("freq", int(4))]);
        assert_eq!(Flow::new(&def, &a).shown_pages(), [0, 1, 2]);
        assert_eq!(Flow::new(&def, &a).progress(2), (3, 3));
    }

    #[test]
    fn progress_counts_undecided_pages_ahead_so_the_total_never_grows() {
        let def = def();
        // Nothing answered: page 2 reads `freq`, unanswered, so it may still come.
        let none = Flow::new(&def, &Answers::default());
        assert_eq!(none.shown_pages(), [0, 2]);
        assert_eq!(none.progress(0), (1, 3));
        // Answered so that page 2 is ruled out: the total drops to 2.
        let a = answers(&[("compra", yes()), ("freq", int(0))]);
        assert_eq!(Flow::new(&def, &a).progress(0), (1, 2));
        // Answered so that it is shown: still 3.
        let a = answers(&[("compra", yes()), ("freq", int(2))]);
        assert_eq!(Flow::new(&def, &a).progress(0), (1, 3));
        // Left unanswered behind the respondent: not counted once passed.
        let a = answers(&[("compra", yes())]);
        assert_eq!(Flow::new(&def, &a).progress(2), (2, 2));
        // Screened out: nothing after the screen-out is counted.
        let a = answers(&[("compra", AnswerValue::Single("nao".into()))]);
        assert_eq!(Flow::new(&def, &a).progress(0), (1, 1));
    }

    #[test]
    fn a_change_that_hides_a_question_removes_its_answer() {
        let def = def();
        let mut a = answers(&[
            ("compra", yes()),
            ("freq", int(4)),
            ("gasto", int(1500)),
            ("mensal", int(6000)),
            ("idade", int(30)),
            ("muito_gasto", int(3)),
        ]);
        settle(&def, &mut a);
        assert_eq!(a.len(), 6, "nothing hidden yet");
        // Now a non-shopper: page 2 is hidden, and with it `gasto`, which hides
        // `muito_gasto` on page 3 even though its stale answer was 1500.
        a.insert("freq", int(0));
        let flow = settle(&def, &mut a);
        assert_eq!(a.get("gasto"), None);
        assert_eq!(a.get("mensal"), None);
        assert_eq!(a.get("muito_gasto"), None);
        assert_eq!(a.get("idade"), Some(&int(30)));
        assert!(!flow.is_shown("muito_gasto"));
        // Un-hiding asks again: the page is incomplete.
        a.insert("freq", int(2));
        let flow = settle(&def, &mut a);
        assert!(flow.page_shown(1));
        assert_eq!(flow.first_incomplete_page(&a), Some(1));
    }

    #[test]
    fn screen_out_ends_the_questionnaire_and_drops_later_answers() {
        let def = def();
        let mut a = answers(&[
            ("compra", AnswerValue::Single("nao".into())),
            ("freq", int(3)),
            ("idade", int(30)),
        ]);
        let flow = settle(&def, &mut a);
        assert_eq!(flow.screened_out().map(|s| s.key.as_str()), Some("compra"));
        assert_eq!(flow.shown_pages(), [0]);
        assert_eq!(a.get("idade"), None);
        // Their own page's answers stay: they were asked.
        assert_eq!(a.get("freq"), Some(&int(3)));
        let mut b = answers(&[("compra", yes())]);
        assert!(settle(&def, &mut b).screened_out().is_none());
    }

    #[test]
    fn checks_fire_on_inconsistent_answers_only() {
        let def = def();
        let base = [("compra", yes()), ("freq", int(4)), ("gasto", int(300))];
        let mut a = answers(&base);
        a.insert("mensal", int(500));
        let flow = Flow::new(&def, &a);
        let fired: Vec<_> = flow
            .fired_checks(1, &a)
            .iter()
            .map(|c| c.key.clone())
            .collect();
        assert_eq!(fired, ["mensal_baixo"]);
        a.insert("mensal", int(1200));
        assert!(Flow::new(&def, &a).fired_checks(1, &a).is_empty());
        // Not answered yet: unknown, so silent.
        let a = answers(&base);
        assert!(Flow::new(&def, &a).all_fired_checks(&a).is_empty());
    }
}
