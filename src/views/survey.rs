//! The questionnaire: one page of questions at a time with a progress indicator, the
//! review of all answers, and the thank-you page. Accessibility: one fieldset/legend per
//! question, labels tied to inputs, errors tied with `aria-describedby`, an error
//! summary linking to each wrong question. No JavaScript.

use std::collections::BTreeMap;

use maud::{Markup, PreEscaped, html};

use super::Ctx;
use super::forms::{self, Errors};
use super::layout::page;
use super::prepared::{PreparedTexts, QuestionHtml};
use crate::i18n::Lang;
use crate::survey::{AnswerError, AnswerValue, Answers, Check, Definition, Question, QuestionKind};

/// Form field naming the checks whose message was shown (hidden input).
pub const CHECK_SHOWN: &str = "checagem_mostrada";
/// Form field of the confirmation checkbox of a check.
pub const CHECK_CONFIRMED: &str = "checagem_confirmada";
/// Query parameter of a page opened from the review ("Alterar"): saving it returns
/// there. Its one accepted value is [`RETURN_REVIEW`]; the target is always the review's
/// own path, never taken from the request.
pub const RETURN_PARAM: &str = "voltar";
pub const RETURN_REVIEW: &str = "revisao";

/// The address of page `index` (0-based) opened from the review.
pub fn page_from_review(index: usize) -> String {
    format!("/survey/{}?{RETURN_PARAM}={RETURN_REVIEW}", index + 1)
}

/// What the inputs show: the raw strings per question key.
pub type Values = BTreeMap<String, Vec<String>>;

/// Values from stored answers.
pub fn values_of(answers: &Answers) -> Values {
    answers
        .iter()
        .map(|(k, v)| {
            let raw = match v {
                AnswerValue::Integer(n) => vec![n.to_string()],
                AnswerValue::Single(s) | AnswerValue::Text(s) => vec![s.clone()],
                AnswerValue::Multi(list) => list.clone(),
            };
            (k.to_string(), raw)
        })
        .collect()
}

/// Values from submitted form pairs (to show a refused page again as typed).
pub fn values_from_fields(fields: &[(String, String)]) -> Values {
    let mut v = Values::new();
    for (k, val) in fields {
        v.entry(k.clone()).or_default().push(val.clone());
    }
    v
}

/// The words for an answer error.
pub fn answer_message(lang: Lang, e: AnswerError) -> String {
    let t = lang.t();
    match e {
        AnswerError::Required => t.err_answer_required.into(),
        AnswerError::NotANumber => t.err_not_a_number.into(),
        AnswerError::OutOfRange { min, max } => t
            .err_out_of_range
            .replace("{min}", &min.to_string())
            .replace("{max}", &max.to_string()),
        AnswerError::UnknownOption => t.err_unknown_option.into(),
        AnswerError::TooFew { min } => t.err_too_few.replace("{n}", &min.to_string()),
        AnswerError::TooMany { max } => t.err_too_many.replace("{n}", &max.to_string()),
        AnswerError::TooLong { max } => t.err_answer_too_long.replace("{n}", &max.to_string()),
        AnswerError::Duplicated => t.err_duplicated.into(),
        AnswerError::WrongType => t.err_wrong_type.into(),
    }
}

/// The id of the first input of a question: where the error summary links to.
pub fn first_input_id(q: &Question) -> String {
    match &q.kind {
        QuestionKind::Single { options } | QuestionKind::Multi { options, .. } => options
            .first()
            .map_or_else(|| q.key.clone(), |o| format!("{}-{}", q.key, o.value)),
        _ => q.key.clone(),
    }
}

/// Everything a questionnaire page needs.
pub struct SurveyPage<'a> {
    pub def: &'a Definition,
    /// 0-based.
    pub index: usize,
    pub values: &'a Values,
    pub errors: &'a Errors,
    /// Shown above the form when the page was refused for fields not on it.
    pub unknown_fields: bool,
    pub draft_restored: bool,
    /// The questions' texts, made at start-up (for `def`, if it is the served one).
    pub texts: &'a PreparedTexts,
    /// Keys of the page's questions this respondent is not asked.
    pub hidden: &'a [&'a str],
    /// (position among the pages shown, number of pages shown).
    pub progress: (usize, usize),
    /// The shown page before this one (0-based), for the back link.
    pub back: Option<usize>,
    /// Whether this is the last page shown (the button says "review").
    pub last: bool,
    /// Soft checks that fired on saving this page, shown once with a confirmation.
    pub checks: &'a [&'a Check],
    /// Opened from the review: saving returns there.
    pub from_review: bool,
}

pub fn question_page(ctx: &Ctx, p: &SurveyPage<'_>) -> Markup {
    let t = ctx.lang.t();
    let en = ctx.lang.is_english();
    let (position, total) = p.progress;
    let Some(pg) = p.def.page(p.index) else {
        return page(ctx, t.nav_survey, html! {});
    };
    let step = t
        .survey_progress
        .replace("{n}", &position.to_string())
        .replace("{total}", &total.to_string());
    let last = p.last;
    let questions: Vec<&Question> = pg
        .questions
        .iter()
        .filter(|q| !p.hidden.contains(&q.key.as_str()))
        .collect();
    // `p.errors` is keyed by question key (the messages by the questions); the summary
    // links each wrong question once, to its first input.
    let mut summary = Errors::default();
    for q in &questions {
        if let Some(m) = p.errors.get(&q.key) {
            summary.add_labelled(&first_input_id(q), q.text.get(en), m);
        }
    }
    let r = ctx.lang.respondent();
    let action = if p.from_review {
        page_from_review(p.index)
    } else {
        format!("/survey/{}", p.index + 1)
    };
    page(
        ctx,
        &format!("{} · {}", pg.title.get(en), step),
        html! {
            p class="progress-label" id="progresso" { (step) }
            progress max=(total) value=(position) aria-labelledby="progresso" { (step) }
            h1 { (pg.title.get(en)) }
            @if p.index == 0 && !p.from_review {
                p { (p.def.intro().get(en)) }
                p class="muted" id="duracao" { (r.duration_of(p.def.minutes())) }
            }
            @if p.from_review { p class="notice info" role="status" { (r.editing_from_review) } }
            @if p.draft_restored { p class="notice" role="status" { (t.survey_draft_restored) } }
            @if p.unknown_fields { p class="notice error" role="alert" { (t.err_unknown_fields) } }
            (forms::error_summary(ctx.lang, &summary))
            form method="post" action=(action) novalidate {
                (forms::csrf(ctx.csrf()))
                @if !p.checks.is_empty() {
                    div class="notice" role="alert" id="checagem" {
                        h2 { (t.survey_check_title) }
                        @for c in p.checks {
                            p { (c.message.get(en)) }
                            input type="hidden" name=(CHECK_SHOWN) value=(c.key);
                            div class="choice" {
                                input type="checkbox" id={ "confirmar-" (c.key) } name=(CHECK_CONFIRMED) value=(c.key);
                                label for={ "confirmar-" (c.key) } { (t.survey_check_confirm) }
                            }
                        }
                        p class="hint" { (t.survey_check_hint) }
                    }
                }
                @for q in &questions {
                    (question(ctx.lang, q, &p.texts.question(p.def, q, ctx.lang), p.values.get(&q.key).map(Vec::as_slice).unwrap_or(&[]), p.errors.get(&q.key)))
                }
                div class="actions" {
                    @if p.from_review {
                        button type="submit" { (r.save_back_to_review) }
                        a class="button secondary" href="/survey/review" { (r.back_to_review) }
                    } @else {
                        button type="submit" { @if last { (t.survey_to_review) } @else { (t.survey_next) } }
                        @if let Some(b) = p.back {
                            a class="button secondary" href={ "/survey/" (b + 1) } { (t.survey_back) }
                        }
                    }
                }
            }
            p class="muted" { (t.survey_saved_note) }
        },
    )
}

fn question(
    lang: Lang,
    q: &Question,
    texts: &QuestionHtml,
    values: &[String],
    error: Option<&str>,
) -> Markup {
    let t = lang.t();
    let help_id = format!("{}-ajuda", q.key);
    let err_id = format!("{}-erro", q.key);
    let mut described = Vec::new();
    if texts.hint.is_some() {
        described.push(help_id.clone());
    }
    if error.is_some() {
        described.push(err_id.clone());
    }
    let described = (!described.is_empty()).then(|| described.join(" "));
    let value = values.first().map(String::as_str).unwrap_or("");
    let invalid = error.is_some();
    html! {
        div class={ "field question" @if invalid { " invalid" } } {
            fieldset aria-describedby=[described.clone()] {
                legend {
                    (PreEscaped(&texts.legend))
                    @if !q.required { " " span class="hint" { (t.optional) } }
                }
                @if let Some(hint) = &texts.hint {
                    p class="hint" id=(help_id) { (PreEscaped(hint)) }
                }
                @if let Some(m) = error { p class="field-error" id=(err_id) { (m) } }
                @match &q.kind {
                    QuestionKind::Integer { min, max } => {
                        label class="visually-hidden" for=(q.key) { (PreEscaped(&texts.legend)) }
                        input type="number" inputmode="numeric" id=(q.key) name=(q.key) value=(value)
                            min=(min) max=(max) step="1" required[q.required]
                            aria-invalid=[invalid.then_some("true")]
                            aria-describedby=[described.clone()];
                    }
                    QuestionKind::Text { max_length } => {
                        label class="visually-hidden" for=(q.key) { (PreEscaped(&texts.legend)) }
                        input type="text" id=(q.key) name=(q.key) value=(value) maxlength=(max_length)
                            aria-invalid=[invalid.then_some("true")]
                            aria-describedby=[described.clone()];
                    }
                    QuestionKind::Single { options } => {
                        @for ((o, id), label) in options.iter().zip(&texts.ids).zip(&texts.labels) {
                            div class="choice" {
                                input type="radio" id=(id) name=(q.key) value=(o.value)
                                    checked[values.contains(&o.value)] required[q.required];
                                label for=(id) { (PreEscaped(label)) }
                            }
                        }
                    }
                    QuestionKind::Multi { options, .. } => {
                        @for ((o, id), label) in options.iter().zip(&texts.ids).zip(&texts.labels) {
                            div class="choice" {
                                input type="checkbox" id=(id) name=(q.key) value=(o.value)
                                    checked[values.contains(&o.value)];
                                label for=(id) { (PreEscaped(label)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A stored answer in words (option labels, not codes).
pub fn answer_text(lang: Lang, q: &Question, v: Option<&AnswerValue>, sm: u32) -> String {
    let en = lang.is_english();
    let label = |value: &str| {
        q.option(value)
            .map_or_else(|| value.to_string(), |o| q.option_label(o, en, Some(sm)))
    };
    match v {
        None => lang.t().survey_not_answered.to_string(),
        Some(AnswerValue::Integer(n)) => n.to_string(),
        Some(AnswerValue::Text(s)) => s.clone(),
        Some(AnswerValue::Single(s)) => label(s),
        Some(AnswerValue::Multi(list)) => {
            list.iter().map(|s| label(s)).collect::<Vec<_>>().join("; ")
        }
    }
}

pub struct Review<'a> {
    pub def: &'a Definition,
    pub answers: &'a Answers,
    /// Pages (0-based) with a required question unanswered.
    pub incomplete: &'a [usize],
    pub editable: bool,
    pub submitted_at: Option<&'a chrono::NaiveDateTime>,
    pub updated_at: Option<&'a chrono::NaiveDateTime>,
    pub closes_at: Option<String>,
    pub salario_minimo: u32,
    /// Pages shown to this respondent.
    pub shown_pages: &'a [usize],
    /// Questions not asked (hidden by a condition).
    pub hidden: &'a [&'a str],
}

pub fn review(ctx: &Ctx, r: &Review<'_>) -> Markup {
    let t = ctx.lang.t();
    let en = ctx.lang.is_english();
    let title = if r.submitted_at.is_some() {
        t.survey_answers_title
    } else {
        t.survey_review_title
    };
    page(
        ctx,
        title,
        html! {
            h1 { (title) }
            @if let Some(at) = r.submitted_at {
                p { (t.survey_submitted_on) " " (ctx.when(at))
                    @if let Some(u) = r.updated_at { @if u != at { " · " (t.survey_updated_on) " " (ctx.when(u)) } } }
            }
            @if !r.editable { p class="notice" role="status" { (t.survey_closed) } }
            @else if let Some(c) = &r.closes_at { p class="muted" { (t.survey_closes_on) " " (c) "." } }
            @if !r.incomplete.is_empty() && r.editable {
                div class="error-summary" role="alert" {
                    h2 { (t.survey_incomplete) }
                    ul { @for i in r.incomplete {
                        @if let Some(pg) = r.def.page(*i) { li { a href=(page_from_review(*i)) { (pg.title.get(en)) } } }
                    } }
                }
            }
            @for (i, pg) in r.def.pages().iter().enumerate().filter(|(i, _)| r.shown_pages.contains(i)) {
                section aria-labelledby={ "etapa-" (i + 1) } {
                    h2 id={ "etapa-" (i + 1) } { (pg.title.get(en)) }
                    dl class="answers" {
                        @for q in pg.questions.iter().filter(|q| !r.hidden.contains(&q.key.as_str())) {
                            dt { (q.text.get(en)) }
                            dd { (answer_text(ctx.lang, q, r.answers.get(&q.key), r.salario_minimo)) }
                        }
                    }
                    @if r.editable {
                        p { a href=(page_from_review(i)) aria-label=(t.survey_edit_step.replace("{n}", &(i + 1).to_string())) { (t.survey_edit) } }
                    }
                }
            }
            @if r.editable && r.incomplete.is_empty() {
                form method="post" action="/survey/submit" {
                    (forms::csrf(ctx.csrf()))
                    div class="actions" { button type="submit" {
                        @if r.submitted_at.is_some() { (t.survey_submit_again) } @else { (t.survey_submit) }
                    } }
                }
            }
        },
    )
}

/// The polite end of a screened-out respondent: why, in the definition's words (or the
/// quotas' when their cell is full), and a way back to the page of the answer that
/// ended it.
pub fn screened(ctx: &Ctx, message: &str, page_index: Option<usize>) -> Markup {
    let t = ctx.lang.t();
    page(
        ctx,
        t.survey_screened_title,
        html! {
            h1 { (t.survey_screened_title) }
            p class="lead" { (message) }
            p { (t.survey_screened_body) }
            div class="actions" {
                @if let Some(i) = page_index {
                    a class="button secondary" href={ "/survey/" (i + 1) } { (t.survey_screened_change) }
                }
                a class="button" href="/account" { (t.nav_account) }
            }
        },
    )
}

pub fn thanks(ctx: &Ctx) -> Markup {
    let t = ctx.lang.t();
    page(
        ctx,
        t.survey_thanks_title,
        html! {
            h1 { (t.survey_thanks_title) }
            p class="lead" { (t.survey_thanks_body) }
            p { (t.survey_thanks_rights) }
            div class="actions" {
                a class="button" href="/survey" { (t.survey_see_answers) }
                a class="button secondary" href="/account" { (t.nav_account) }
            }
        },
    )
}
