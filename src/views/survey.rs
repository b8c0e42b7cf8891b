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
use crate::survey::{
    AnswerError, AnswerValue, Answers, Check, Choice, Definition, Question, QuestionKind,
};

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

/// Values from stored answers, by form field (a grid's by item field).
pub fn values_of(answers: &Answers) -> Values {
    answers
        .iter()
        .flat_map(|(k, v)| match v {
            AnswerValue::Integer(n) => vec![(k.to_string(), vec![n.to_string()])],
            AnswerValue::Single(s) | AnswerValue::Text(s) => {
                vec![(k.to_string(), vec![s.clone()])]
            }
            AnswerValue::Multi(list) => vec![(k.to_string(), list.clone())],
            AnswerValue::Grid(map) => map
                .iter()
                .map(|(item, point)| (format!("{k}__{item}"), vec![point.clone()]))
                .collect(),
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
        AnswerError::Exclusive => lang.question_types().err_exclusive.replace("{option}", ""),
    }
}

/// The words for an error on `field` of `q` (its key, a grid item's field or its "other"
/// text's): an unanswered item or missing text says so, an exclusive option is named.
pub fn field_message(lang: Lang, q: &Question, field: &str, e: AnswerError) -> String {
    let qt = lang.question_types();
    let en = lang.is_english();
    match e {
        AnswerError::Required if q.other_key().as_deref() == Some(field) => {
            qt.err_other_required.into()
        }
        AnswerError::Required if field != q.key => qt.err_item_required.into(),
        AnswerError::Exclusive => {
            let names: Vec<&str> = q
                .options()
                .iter()
                .filter(|o| o.exclusive)
                .map(|o| o.label.get(en))
                .collect();
            qt.err_exclusive.replace("{option}", &names.join("”, “"))
        }
        _ => answer_message(lang, e),
    }
}

/// The id of the first input of a question: where the error summary links to.
pub fn first_input_id(q: &Question) -> String {
    match &q.kind {
        QuestionKind::Single { options }
        | QuestionKind::Multi { options, .. }
        | QuestionKind::Scale { points: options } => options
            .first()
            .map_or_else(|| q.key.clone(), |o| format!("{}-{}", q.key, o.value)),
        QuestionKind::Grid { items, points } => match (items.first(), points.first()) {
            (Some(i), Some(p)) => format!("{}-{}", q.item_field(&i.key), p.value),
            _ => q.key.clone(),
        },
        _ => q.key.clone(),
    }
}

/// The id of the first input of one of `q`'s fields, as this respondent sees them (the
/// first option shown when they are shuffled, so the jump lands by the question's legend).
fn field_input_id(q: &Question, field: &str, respondent: &[u8; 32]) -> String {
    if field == q.key {
        return match q
            .option_order(respondent)
            .first()
            .and_then(|&i| q.options().get(i))
        {
            Some(o) if q.shuffle => format!("{}-{}", q.key, o.value),
            _ => first_input_id(q),
        };
    }
    match q.options().first() {
        Some(p) if q.items().iter().any(|i| q.item_field(&i.key) == field) => {
            format!("{field}-{}", p.value)
        }
        _ => field.to_owned(),
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
    /// This respondent's key for the order of shuffled options
    /// ([`Question::option_order`]).
    pub respondent: &'a [u8; 32],
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
        for field in crate::survey::answers::form_fields(q) {
            if let Some(m) = p.errors.get(&field) {
                let label = q
                    .items()
                    .iter()
                    .find(|i| q.item_field(&i.key) == field)
                    .map_or_else(
                        || q.text.get(en).to_owned(),
                        |i| format!("{} – {}", q.text.get(en), i.label.get(en)),
                    );
                summary.add_labelled(&field_input_id(q, &field, p.respondent), &label, m);
            }
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
                    (question(ctx.lang, q, &p.texts.question(p.def, q, ctx.lang), p.values, p.errors, &q.option_order(p.respondent)))
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
    all_values: &Values,
    errors: &Errors,
    order: &[usize],
) -> Markup {
    let t = lang.t();
    let values = all_values.get(&q.key).map(Vec::as_slice).unwrap_or(&[]);
    let error = errors.get(&q.key);
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
    let invalid = error.is_some()
        || crate::survey::answers::form_fields(q)
            .iter()
            .any(|f| errors.get(f).is_some());
    // Options in this respondent's order; ids and labels follow their option.
    let options: Vec<(&Choice, &String, &String)> = order
        .iter()
        .filter_map(|&i| Some((q.options().get(i)?, texts.ids.get(i)?, texts.labels.get(i)?)))
        .collect();
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
                    QuestionKind::Single { .. } => {
                        @for (o, id, label) in &options {
                            div class="choice" {
                                input type="radio" id=(id) name=(q.key) value=(o.value)
                                    checked[values.contains(&o.value)] required[q.required];
                                label for=(id) { (PreEscaped(label)) }
                            }
                            @if o.other_text.is_some() { (other_field(lang, q, o, all_values, errors)) }
                        }
                    }
                    QuestionKind::Multi { .. } => {
                        @for (o, id, label) in &options {
                            div class="choice" {
                                input type="checkbox" id=(id) name=(q.key) value=(o.value)
                                    checked[values.contains(&o.value)];
                                label for=(id) { (PreEscaped(label)) }
                            }
                            @if o.other_text.is_some() { (other_field(lang, q, o, all_values, errors)) }
                        }
                    }
                    QuestionKind::Scale { .. } => {
                        div class="scale" {
                            @for (o, id, label) in &options {
                                div class={ "choice" @if o.excluded { " scale-missing" } } {
                                    input type="radio" id=(id) name=(q.key) value=(o.value)
                                        checked[values.contains(&o.value)] required[q.required];
                                    label for=(id) { (PreEscaped(label)) }
                                }
                            }
                        }
                    }
                    QuestionKind::Grid { items, .. } => {
                        @for (item, item_label) in items.iter().zip(&texts.items) {
                            (grid_item(q, &item.key, item_label, &options, all_values, errors))
                        }
                    }
                }
            }
        }
    }
}

/// One item of a grid: its own fieldset and legend, the scale's points as radios (named
/// `{key}__{item}`), its own error.
fn grid_item(
    q: &Question,
    item: &str,
    item_label: &str,
    points: &[(&Choice, &String, &String)],
    values: &Values,
    errors: &Errors,
) -> Markup {
    let field = q.item_field(item);
    let chosen = values.get(&field).map(Vec::as_slice).unwrap_or(&[]);
    let error = errors.get(&field);
    let err_id = format!("{field}-erro");
    html! {
        fieldset class={ "grid-item" @if error.is_some() { " invalid" } }
            aria-describedby=[error.is_some().then_some(err_id.clone())] {
            legend { (PreEscaped(item_label)) }
            @if let Some(m) = error { p class="field-error" id=(err_id) { (m) } }
            div class="scale" {
                @for (o, _, label) in points {
                    @let id = format!("{field}-{}", o.value);
                    div class={ "choice" @if o.excluded { " scale-missing" } } {
                        input type="radio" id=(id) name=(field) value=(o.value)
                            checked[chosen.contains(&o.value)] required[q.required];
                        label for=(id) { (PreEscaped(label)) }
                    }
                }
            }
        }
    }
}

/// The text field of an "Outro" option: always in the page (it works without scripts),
/// said to be required only when the option is chosen.
fn other_field(lang: Lang, q: &Question, o: &Choice, values: &Values, errors: &Errors) -> Markup {
    let Some(field) = q.other_key() else {
        return html! {};
    };
    let qt = lang.question_types();
    let name = o.label.get(lang.is_english());
    let value = values
        .get(&field)
        .and_then(|v| v.first())
        .map(String::as_str)
        .unwrap_or("");
    let error = errors.get(&field);
    let hint_id = format!("{field}-ajuda");
    let err_id = format!("{field}-erro");
    let described = match error {
        Some(_) => format!("{hint_id} {err_id}"),
        None => hint_id.clone(),
    };
    html! {
        div class={ "other-text" @if error.is_some() { " invalid" } } {
            label for=(field) { (qt.other_label.replace("{option}", name)) }
            p class="hint" id=(hint_id) { (qt.other_hint.replace("{option}", name)) }
            @if let Some(m) = error { p class="field-error" id=(err_id) { (m) } }
            input type="text" id=(field) name=(field) value=(value)
                maxlength=(o.other_text.unwrap_or(crate::survey::definition::DEFAULT_OTHER_LENGTH))
                aria-invalid=[error.is_some().then_some("true")]
                aria-describedby=(described);
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
        Some(AnswerValue::Grid(map)) => q
            .items()
            .iter()
            .map(|i| {
                let point = map.get(&i.key).map_or_else(
                    || lang.question_types().item_not_answered.to_string(),
                    |p| label(p),
                );
                format!("{}: {point}", i.label.get(en))
            })
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// [`answer_text`] followed by the "other" text, when the answer chose that option.
pub fn answer_with_other(lang: Lang, q: &Question, answers: &Answers, sm: u32) -> String {
    let main = answer_text(lang, q, answers.get(&q.key), sm);
    match q.other_key().and_then(|k| answers.get(&k)) {
        Some(AnswerValue::Text(t)) => format!("{main}: {t}"),
        _ => main,
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
                            dd { (answer_with_other(ctx.lang, q, r.answers, r.salario_minimo)) }
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
