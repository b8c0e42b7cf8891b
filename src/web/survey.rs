//! The questionnaire for respondents: one page at a time, each saved as the respondent
//! moves on (save and resume on any device), a review page, the submission, and after it
//! the answers shown and editable until `survey.closes_at`.

use std::time::Duration;

use chrono::Utc;
use salvo::prelude::*;

use crate::i18n::Notice;

use super::{form_ctx, limits, page_ctx, refusals, see_other, state, store_keys};
use crate::db::quotas::{self, Submitted};
use crate::db::{paradata, responses};
use crate::survey::answers::validate_shown_page;
use crate::survey::flow::Flow;
use crate::survey::quota::screened_by_quota;
use crate::survey::{Answers, Check, Definition, QuestionKind};
use crate::views::forms::Errors;
use crate::views::survey::{self as view, Review, SurveyPage, Values};
use crate::views::{self};
use crate::web::error::AppError;
use crate::web::session;
use crate::web::state::AppState;

/// Form fields that are not answers.
const NOT_ANSWERS: [&str; 4] = [
    "csrf_token",
    "action",
    view::CHECK_SHOWN,
    view::CHECK_CONFIRMED,
];
/// How long typed answers rescued from an expired session wait for the log-in.
const DRAFT_TTL: Duration = Duration::from_secs(3600);
/// Longest rescued value of a question that is not free text (option values and numbers
/// are short).
const RESCUED_VALUE_CHARS: usize = 64;

fn user_id(depot: &Depot) -> Result<i64, AppError> {
    session::user(depot)
        .map(|u| u.id)
        .ok_or(AppError::Forbidden)
}

fn is_closed(depot: &Depot) -> bool {
    state(depot).settings.survey.is_closed(Utc::now())
}

/// The page number from the path, 1-based in URLs, 0-based inside.
fn page_index(req: &Request, depot: &Depot) -> Result<usize, AppError> {
    let n = req.param::<usize>("n").ok_or(AppError::NotFound)?;
    let total = state(depot).survey.pages().len();
    if (1..=total).contains(&n) {
        Ok(n - 1)
    } else {
        Err(AppError::NotFound)
    }
}

/// All submitted fields in order, repeated names kept (checkboxes arrive that way).
async fn form_pairs(req: &mut Request) -> Vec<(String, String)> {
    match req.form_data().await {
        Ok(form) => form
            .fields
            .iter_all()
            .flat_map(|(k, vs)| vs.iter().map(move |v| (k.clone(), v.clone())))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// `GET /survey`: where the respondent stands. Submitted: their answers. Otherwise the
/// first page still missing answers, or the review when none is.
#[handler]
pub async fn start(depot: &mut Depot, res: &mut Response) -> Result<(), AppError> {
    let app = state(depot).clone();
    let user = user_id(depot)?;
    let row = responses::for_user(&app.db, user).await?;
    match row {
        Some(r) if r.screened_out.is_some() => see_other(res, "/survey/screened"),
        Some(r) if r.submitted_at.is_some() => see_other(res, "/survey/review"),
        Some(r) => {
            let answers = r.answers();
            match Flow::new(&app.survey, &answers).first_incomplete_page(&answers) {
                Some(i) => see_other(res, &format!("/survey/{}", i + 1)),
                None => see_other(res, "/survey/review"),
            }
        }
        None if is_closed(depot) => see_other(res, "/survey/review"),
        None => see_other(res, "/survey/1"),
    }
    Ok(())
}

/// What a page shows besides the values: the flow it sits in, the checks that fired, and
/// whether it was opened from the review.
struct Shown<'a> {
    flow: &'a Flow<'a>,
    checks: &'a [&'a Check],
    from_review: bool,
    /// The respondent's key for the order of shuffled options ([`respondent_key`]).
    respondent: [u8; 32],
}

/// A keyed hash of the account id: the seed of the order in which this respondent sees
/// shuffled options, the same on every visit and device, unguessable for another
/// account, and without storing anything.
fn respondent_key(app: &AppState, user: i64) -> [u8; 32] {
    crate::crypto::hmac_sha256(&app.session_key, &[b"ordem-opcoes:", &user.to_be_bytes()])
}

/// [`respondent_key`] for page `index`, computed only when one of its questions shuffles
/// its options: nothing else reads it, and the keyed hash is a measurable part of a page
/// view. Other pages get a key of zeros that no option order reads.
fn shuffle_key(app: &AppState, user: i64, index: usize) -> [u8; 32] {
    let shuffles = app
        .survey
        .page(index)
        .is_some_and(|p| p.questions.iter().any(|q| q.shuffle));
    if shuffles {
        respondent_key(app, user)
    } else {
        [0; 32]
    }
}

/// Whether the page was opened from the review (`?voltar=revisao`). Only that exact
/// value counts, and it is a flag: where it returns to is fixed here, so the parameter
/// cannot send anyone elsewhere.
fn from_review(req: &Request) -> bool {
    req.query::<String>(view::RETURN_PARAM).as_deref() == Some(view::RETURN_REVIEW)
}

/// Where saving a page opened from the review leads: back to the review, unless the change
/// left a shown page unanswered (a question it made visible), which comes first so the
/// review can be submitted; that page returns to the review too.
fn back_to_review(flow: &Flow<'_>, answers: &Answers) -> String {
    match flow.first_incomplete_page(answers) {
        Some(i) => view::page_from_review(i),
        None => "/survey/review".to_owned(),
    }
}

fn render_page(
    depot: &mut Depot,
    index: usize,
    values: &Values,
    errors: &Errors,
    unknown_fields: bool,
    draft_restored: bool,
    shown: &Shown<'_>,
) -> maud::Markup {
    let app = state(depot).clone();
    let c = form_ctx(depot);
    let hidden: Vec<&str> = app
        .survey
        .page(index)
        .map(|p| {
            p.questions
                .iter()
                .filter(|q| !shown.flow.shows(q))
                .map(|q| q.key.as_str())
                .collect()
        })
        .unwrap_or_default();
    view::question_page(
        &c,
        &SurveyPage {
            def: &app.survey,
            index,
            values,
            errors,
            unknown_fields,
            draft_restored,
            texts: &app.texts,
            hidden: &hidden,
            progress: shown.flow.progress(index),
            back: shown.flow.previous_before(index),
            last: shown.flow.next_after(index).is_none(),
            checks: shown.checks,
            from_review: shown.from_review,
            respondent: &shown.respondent,
        },
    )
}

/// Where to go when page `index` is not shown to this respondent: the screen-out page,
/// or the next page they see, or the review.
fn elsewhere(flow: &Flow<'_>, index: usize) -> String {
    if flow.screened_out().is_some() {
        "/survey/screened".to_owned()
    } else {
        match flow.next_after(index) {
            Some(n) => format!("/survey/{}", n + 1),
            None => "/survey/review".to_owned(),
        }
    }
}

/// `GET /survey/{n}`: the page with the stored answers, or with the typed values rescued
/// from an expired session (`?draft=`).
#[handler]
pub async fn show_page(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), AppError> {
    let index = page_index(req, depot)?;
    if is_closed(depot) {
        see_other(res, "/survey/review");
        return Ok(());
    }
    let app = state(depot).clone();
    let user = user_id(depot)?;
    let (row, viewed) = responses::for_user_viewing(&app.db, user, index).await?;
    let (answers, by_quota) = answers_of(row.as_ref());
    if by_quota {
        see_other(res, "/survey/screened");
        return Ok(());
    }
    let flow = Flow::new(&app.survey, &answers);
    if !flow.page_shown(index) {
        see_other(res, &elsewhere(&flow, index));
        return Ok(());
    }
    // Only the first view is stamped: a row already there would be left as it is.
    if !viewed {
        stamp(paradata::viewed(&app.db, user, index).await);
    }
    let mut values = view::values_of(&answers);
    let mut restored = false;
    if let Some(token) = req
        .query::<String>("draft")
        .filter(|t| t.len() == 64 && t.chars().all(|c| c.is_ascii_hexdigit()))
    {
        let key = store_keys::draft(&token);
        if let Some(text) = app.kv.get(&key).await? {
            app.kv.delete(&key).await?;
            if let Ok((path, fields)) =
                serde_json::from_str::<(String, Vec<(String, String)>)>(&text)
                && path == format!("/survey/{}", index + 1)
            {
                let page_keys: Vec<String> = app
                    .survey
                    .page(index)
                    .map(|p| {
                        p.questions
                            .iter()
                            .flat_map(crate::survey::answers::form_fields)
                            .collect()
                    })
                    .unwrap_or_default();
                for k in &page_keys {
                    values.remove(k);
                }
                let typed: Vec<(String, String)> = fields
                    .into_iter()
                    .filter(|(k, _)| page_keys.contains(k))
                    .collect();
                values.extend(view::values_from_fields(&typed));
                restored = true;
            }
        }
    }
    res.add_header("cache-control", "no-store", true).ok();
    res.render(views::Html(render_page(
        depot,
        index,
        &values,
        &Errors::default(),
        false,
        restored,
        &Shown {
            flow: &flow,
            checks: &[],
            from_review: from_review(req),
            respondent: shuffle_key(&app, user, index),
        },
    )));
    Ok(())
}

/// `POST /survey/{n}`: validate the page; refuse with 422 and the messages by the
/// questions, or save it and go on.
#[handler]
pub async fn save_page(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), AppError> {
    let index = page_index(req, depot)?;
    if is_closed(depot) {
        return Err(AppError::Forbidden);
    }
    let returning = from_review(req);
    let app = state(depot).clone();
    let user = user_id(depot)?;
    let lang = super::lang_of(depot);
    let fields = form_pairs(req).await;
    let snapshot = responses::snapshot(&app.db, user).await?;
    if quota_ended(snapshot.row()) {
        see_other(res, "/survey/screened");
        return Ok(());
    }
    let before = Flow::new(&app.survey, snapshot.answers());
    // A page this respondent is not shown (hidden, or after a screen-out) stores nothing.
    if !before.page_shown(index) {
        see_other(res, &elsewhere(&before, index));
        return Ok(());
    }
    let shows = |q: &crate::survey::Question| before.shows(q);
    match validate_shown_page(&app.survey, index, &fields, &NOT_ANSWERS, &shows) {
        Err(page_errors) => {
            // Keyed by question key: the view puts each message by its question and
            // links it once from the error summary to the question's first input.
            let mut errors = Errors::default();
            if let Some(pg) = app.survey.page(index) {
                for q in &pg.questions {
                    for field in crate::survey::answers::form_fields(q) {
                        if let Some(e) = page_errors.get(&field) {
                            errors.add(&field, view::field_message(lang, q, &field, e));
                        }
                    }
                }
            }
            let values = view::values_from_fields(&fields);
            let unknown = !page_errors.unknown.is_empty();
            let shown = Shown {
                flow: &before,
                checks: &[],
                from_review: returning,
                respondent: shuffle_key(&app, user, index),
            };
            let page = render_page(depot, index, &values, &errors, unknown, false, &shown);
            refusals::unprocessable(res, page);
            Ok(())
        }
        Ok(answers) => {
            let page_checks: Vec<&str> = app
                .survey
                .page(index)
                .map(|p| p.checks.iter().map(|c| c.key.as_str()).collect())
                .unwrap_or_default();
            let sent = |name: &str| -> Vec<String> {
                fields
                    .iter()
                    .filter(|(k, v)| k == name && page_checks.contains(&v.as_str()))
                    .map(|(_, v)| v.clone())
                    .collect()
            };
            let already_shown = sent(view::CHECK_SHOWN);
            // Only a check whose message was shown can be confirmed.
            let confirm: Vec<String> = sent(view::CHECK_CONFIRMED)
                .into_iter()
                .filter(|k| already_shown.contains(k))
                .collect();
            let total = app.survey.pages().len();
            let mut saved = responses::save_page(
                &app.db,
                user,
                &app.survey,
                index,
                answers,
                (index + 1).min(total),
                &confirm,
                app.placing(),
                Some(snapshot),
            )
            .await?;
            if let Some((quota, cell)) = &saved.quota_full {
                let page =
                    quota_refusal(depot, user, index, quota, cell, &fields, &before, returning);
                refusals::unprocessable(res, page);
                return Ok(());
            }
            // Stamped after the save, so a refused save (a full quota cell) stamps nothing.
            stamp(paradata::saved(&app.db, user, index).await);
            let after = saved
                .flow
                .take()
                .unwrap_or_else(|| Flow::new(&app.survey, &saved.answers));
            if saved.screened_out.is_some() {
                see_other(res, "/survey/screened");
                return Ok(());
            }
            // The page that places the respondent in a full `close` cell ends it here.
            if !app.quotas.is_empty()
                && quotas::screen_out_if_full(&app.db, user, app.placing())
                    .await?
                    .is_some()
            {
                tracing::info!(user_id = user, "screened out: quota cell full");
                see_other(res, "/survey/screened");
                return Ok(());
            }
            // Each fired check is shown once: after that the respondent has corrected
            // the answers, confirmed them, or chosen to go on.
            let fired: Vec<&Check> = after
                .fired_checks(index, &saved.answers)
                .into_iter()
                .filter(|c| !already_shown.contains(&c.key))
                .filter(|c| !saved.confirmed_checks.contains(&c.key))
                .collect();
            if !fired.is_empty() {
                let values = view::values_of(&saved.answers);
                let shown = Shown {
                    flow: &after,
                    checks: &fired,
                    from_review: returning,
                    respondent: shuffle_key(&app, user, index),
                };
                let page = render_page(
                    depot,
                    index,
                    &values,
                    &Errors::default(),
                    false,
                    false,
                    &shown,
                );
                res.add_header("cache-control", "no-store", true).ok();
                res.render(views::Html(page));
                return Ok(());
            }
            if returning {
                see_other(res, &back_to_review(&after, &saved.answers));
            } else {
                see_other(res, &elsewhere(&after, index));
            }
            Ok(())
        }
    }
}

/// Paradata is a by-product: a failed stamp is logged and the page goes on, rather
/// than a respondent losing a page to it.
fn stamp(result: Result<(), crate::db::DbError>) {
    if let Err(e) = result {
        tracing::warn!(error = %e, "paradata not stamped");
    }
}

/// `GET /survey/review`: every answer, with links to change each page while open.
#[handler]
pub async fn review(depot: &mut Depot, res: &mut Response) -> Result<(), AppError> {
    let app = state(depot).clone();
    let user = user_id(depot)?;
    let row = responses::for_user(&app.db, user).await?;
    let answers = row
        .as_ref()
        .map(responses::Response::answers)
        .unwrap_or_default();
    if row.as_ref().is_some_and(|r| r.screened_out.is_some()) {
        see_other(res, "/survey/screened");
        return Ok(());
    }
    let flow = Flow::new(&app.survey, &answers);
    let shown_pages = flow.shown_pages();
    let incomplete: Vec<usize> = shown_pages
        .iter()
        .copied()
        .filter(|&i| !flow.is_page_complete(i, &answers))
        .collect();
    let hidden: Vec<&str> = app
        .survey
        .questions()
        .filter(|q| !flow.shows(q))
        .map(|q| q.key.as_str())
        .collect();
    let closed = is_closed(depot);
    let c = form_ctx(depot);
    let page = view::review(
        &c,
        &Review {
            def: &app.survey,
            answers: &answers,
            incomplete: &incomplete,
            editable: !closed,
            submitted_at: row.as_ref().and_then(|r| r.submitted_at.as_ref()),
            updated_at: row.as_ref().map(|r| &r.updated_at),
            closes_at: app
                .settings
                .survey
                .closes_at
                .map(|c| c.format("%d/%m/%Y %H:%M %:z").to_string()),
            salario_minimo: app.settings.survey.salario_minimo,
            shown_pages: &shown_pages,
            hidden: &hidden,
        },
    );
    res.add_header("cache-control", "no-store", true).ok();
    res.render(views::Html(page));
    Ok(())
}

/// `POST /survey/submit`: all required answers must be there and valid; then the
/// response is marked submitted (idempotent: a repeat changes nothing but `updated_at`).
#[handler]
pub async fn submit(depot: &mut Depot, res: &mut Response) -> Result<(), AppError> {
    if is_closed(depot) {
        return Err(AppError::Forbidden);
    }
    let app = state(depot).clone();
    let user = user_id(depot)?;
    let (answers, by_quota) = stored(&app, user).await?;
    let flow = Flow::new(&app.survey, &answers);
    if by_quota || flow.screened_out().is_some() {
        see_other(res, "/survey/screened");
        return Ok(());
    }
    if flow.validate_complete(&answers).is_err() {
        let to = flow.first_incomplete_page(&answers).map_or(1, |i| i + 1);
        see_other(res, &format!("/survey/{to}"));
        return Ok(());
    }
    // The quota places are taken in the submit's own transaction: the final word.
    match quotas::submit(&app.db, user, app.placing()).await? {
        Submitted::Full(_) => {
            tracing::info!(
                user_id = user,
                "screened out at submission: quota cell full"
            );
            see_other(res, "/survey/screened");
        }
        Submitted::Done | Submitted::Unchanged => {
            tracing::info!(user_id = user, "questionnaire submitted");
            see_other(res, "/survey/thanks");
        }
    }
    Ok(())
}

/// The stored answers, and whether a full quota cell screened the respondent out (their
/// answers may be erased, and no page is theirs to fill any more).
async fn stored(app: &AppState, user: i64) -> Result<(Answers, bool), AppError> {
    let row = responses::for_user(&app.db, user).await?;
    Ok(answers_of(row.as_ref()))
}

/// [`stored`] of a row already read.
fn answers_of(row: Option<&responses::Response>) -> (Answers, bool) {
    (
        row.map(responses::Response::answers).unwrap_or_default(),
        quota_ended(row),
    )
}

/// Whether a full quota cell screened this response out.
fn quota_ended(row: Option<&responses::Response>) -> bool {
    row.is_some_and(|r| screened_by_quota(r.screened_out.as_deref()).is_some())
}

/// The page again with its answers, refused (422): the edit would move a submitted
/// response into a full `close` cell. The message sits by the page's questions the
/// quota reads (by the first question when it reads none here, as for the bairro).
#[allow(clippy::too_many_arguments)]
fn quota_refusal(
    depot: &mut Depot,
    user: i64,
    index: usize,
    quota: &str,
    cell: &str,
    fields: &[(String, String)],
    flow: &Flow<'_>,
    returning: bool,
) -> maud::Markup {
    let app = state(depot).clone();
    let lang = super::lang_of(depot);
    let message = lang.quotas().edit_refused.replace("{cell}", cell);
    let mut errors = Errors::default();
    if let Some(pg) = app.survey.page(index) {
        let reads = |key: &str| {
            app.quotas
                .by_name(quota)
                .is_some_and(|q| q.reads_question(&app.survey, &app.cceb, key))
        };
        let mut keys: Vec<&str> = pg
            .questions
            .iter()
            .map(|q| q.key.as_str())
            .filter(|k| reads(k))
            .collect();
        if keys.is_empty() {
            keys.extend(pg.questions.first().map(|q| q.key.as_str()));
        }
        for k in keys {
            errors.add(k, message.clone());
        }
    }
    let values = view::values_from_fields(fields);
    let shown = Shown {
        flow,
        checks: &[],
        from_review: returning,
        respondent: shuffle_key(&app, user, index),
    };
    render_page(depot, index, &values, &errors, false, false, &shown)
}

/// `GET /survey/screened`: the polite end for a respondent a screen-out rule excluded,
/// with the rule's message. Anyone else goes back to the questionnaire.
#[handler]
pub async fn screened(depot: &mut Depot, res: &mut Response) -> Result<(), AppError> {
    let app = state(depot).clone();
    let user = user_id(depot)?;
    let (answers, by_quota) = stored(&app, user).await?;
    let c = page_ctx(depot);
    if by_quota {
        // Nothing to change: the cell, not an answer, ended it.
        res.add_header("cache-control", "no-store", true).ok();
        let message = c.lang.quotas().screened_message;
        res.render(views::Html(view::screened(&c, message, None)));
        return Ok(());
    }
    let flow = Flow::new(&app.survey, &answers);
    let Some(rule) = flow.screened_out() else {
        see_other(res, "/survey");
        return Ok(());
    };
    // The last page shown is the one whose answer ended the questionnaire.
    let page_index = if is_closed(depot) {
        None
    } else {
        flow.shown_pages().last().copied()
    };
    res.add_header("cache-control", "no-store", true).ok();
    let message = rule.message.get(c.lang.is_english());
    res.render(views::Html(view::screened(&c, message, page_index)));
    Ok(())
}

/// `GET /survey/thanks`
#[handler]
pub async fn thanks(depot: &mut Depot, res: &mut Response) {
    let c = page_ctx(depot);
    res.render(views::Html(view::thanks(&c)));
}

/// Hoop on the questionnaire, after the CSRF guard and before the log-in guard: a page
/// posted after its session ended, by the browser that session belonged to (its cookie and
/// the session's own CSRF token prove it), has the typed answers kept for an hour, and the
/// respondent is sent to log in and finds them on the page afterwards. Any other request
/// passes on; an anonymous visitor's post stores nothing.
#[handler]
pub async fn rescue_expired(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
    ctrl: &mut FlowCtrl,
) {
    if req.method() != salvo::http::Method::POST
        || session::data(depot).is_some()
        || req.param::<usize>("n").is_none()
    {
        return;
    }
    let given = req.form::<String>("csrf_token").await.unwrap_or_default();
    if !session::proves_expired_session(depot, &given) {
        return;
    }
    if let Err(e) = rescue(req, depot, res).await {
        e.write(req, depot, res).await;
    }
    ctrl.skip_rest();
}

async fn rescue(req: &mut Request, depot: &mut Depot, res: &mut Response) -> Result<(), AppError> {
    let app = state(depot).clone();
    let index = page_index(req, depot)?;
    limits::draft_rescue(req, &app).await?;
    let fields = rescued_fields(&app.survey, index, &form_pairs(req).await);
    let expired = session::expired_id(depot).unwrap_or_default();
    // One draft per ended session: posting again replaces it rather than adding another.
    let token = crate::crypto::hmac_hex(&app.session_key, &[b"draft:", expired.as_bytes()]);
    let path = format!("/survey/{}", index + 1);
    let text = serde_json::to_string(&(path.clone(), fields)).map_err(anyhow::Error::from)?;
    app.kv
        .set(&store_keys::draft(&token), &text, DRAFT_TTL)
        .await?;
    session::flash(depot, Notice::SessionExpired);
    let next = format!("{path}?draft={token}");
    see_other(
        res,
        &format!("/login?next={}", views::admin::urlencode(&next)),
    );
    Ok(())
}

/// The fields of page `index`'s own questions that fit them: no more values than the
/// question takes, none longer than its answers can be.
fn rescued_fields(
    def: &Definition,
    index: usize,
    fields: &[(String, String)],
) -> Vec<(String, String)> {
    let Some(page) = def.page(index) else {
        return Vec::new();
    };
    let mut kept = Vec::new();
    for q in &page.questions {
        for field in crate::survey::answers::form_fields(q) {
            let (values, chars) = match &q.kind {
                _ if Some(&field) == q.other_key().as_ref() => (
                    1,
                    q.other_option()
                        .and_then(|o| o.other_text)
                        .unwrap_or(RESCUED_VALUE_CHARS),
                ),
                QuestionKind::Text { max_length } => (1, *max_length),
                QuestionKind::Multi { options, .. } => (options.len(), RESCUED_VALUE_CHARS),
                QuestionKind::Integer { .. }
                | QuestionKind::Single { .. }
                | QuestionKind::Scale { .. }
                | QuestionKind::Grid { .. } => (1, RESCUED_VALUE_CHARS),
            };
            kept.extend(
                fields
                    .iter()
                    .filter(|(k, v)| *k == field && v.chars().count() <= chars)
                    .take(values)
                    .cloned(),
            );
        }
    }
    kept
}
