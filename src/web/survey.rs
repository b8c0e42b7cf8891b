//! The questionnaire for respondents: one page at a time, each saved as the respondent
//! moves on (save and resume on any device), a review page, the submission, and after it
//! the answers shown and editable until `survey.closes_at`.

use std::time::Duration;

use chrono::Utc;
use salvo::prelude::*;

use crate::i18n::Notice;

use super::{form_ctx, limits, page_ctx, refusals, see_other, state, store_keys};
use crate::db::responses;
use crate::survey::{
    Answers, Definition, QuestionKind, first_incomplete_page, is_page_complete, validate_complete,
    validate_page,
};
use crate::views::forms::Errors;
use crate::views::survey::{self as view, Review, SurveyPage, Values};
use crate::views::{self};
use crate::web::error::AppError;
use crate::web::session;

/// Form fields that are not answers.
const NOT_ANSWERS: [&str; 2] = ["csrf_token", "action"];
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
        Some(r) if r.submitted_at.is_some() => see_other(res, "/survey/review"),
        Some(r) => match first_incomplete_page(&app.survey, &r.answers()) {
            Some(i) => see_other(res, &format!("/survey/{}", i + 1)),
            None => see_other(res, "/survey/review"),
        },
        None if is_closed(depot) => see_other(res, "/survey/review"),
        None => see_other(res, "/survey/1"),
    }
    Ok(())
}

fn render_page(
    depot: &mut Depot,
    index: usize,
    values: &Values,
    errors: &Errors,
    unknown_fields: bool,
    draft_restored: bool,
) -> maud::Markup {
    let app = state(depot).clone();
    let c = form_ctx(depot);
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
        },
    )
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
    let mut values = match responses::for_user(&app.db, user).await? {
        Some(r) => view::values_of(&r.answers()),
        None => Values::new(),
    };
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
                let page_keys: Vec<&str> = app
                    .survey
                    .page(index)
                    .map(|p| p.questions.iter().map(|q| q.key.as_str()).collect())
                    .unwrap_or_default();
                for k in &page_keys {
                    values.remove(*k);
                }
                let typed: Vec<(String, String)> = fields
                    .into_iter()
                    .filter(|(k, _)| page_keys.contains(&k.as_str()))
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
    let app = state(depot).clone();
    let user = user_id(depot)?;
    let lang = super::lang_of(depot);
    let fields = form_pairs(req).await;
    match validate_page(&app.survey, index, &fields, &NOT_ANSWERS) {
        Err(page_errors) => {
            // Keyed by question key: the view puts each message by its question and
            // links it once from the error summary to the question's first input.
            let mut errors = Errors::default();
            if let Some(pg) = app.survey.page(index) {
                for q in &pg.questions {
                    if let Some(e) = page_errors.get(&q.key) {
                        errors.add(&q.key, view::answer_message(lang, e));
                    }
                }
            }
            let values = view::values_from_fields(&fields);
            let unknown = !page_errors.unknown.is_empty();
            let page = render_page(depot, index, &values, &errors, unknown, false);
            refusals::unprocessable(res, page);
            Ok(())
        }
        Ok(answers) => {
            let total = app.survey.pages().len();
            responses::save_page(
                &app.db,
                user,
                &app.survey,
                index,
                answers,
                (index + 1).min(total),
            )
            .await?;
            if index + 1 < total {
                see_other(res, &format!("/survey/{}", index + 2));
            } else {
                see_other(res, "/survey/review");
            }
            Ok(())
        }
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
    let incomplete: Vec<usize> = (0..app.survey.pages().len())
        .filter(|&i| !is_page_complete(&app.survey, i, &answers))
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
    let answers: Answers = responses::for_user(&app.db, user)
        .await?
        .map(|r| r.answers())
        .unwrap_or_default();
    if validate_complete(&app.survey, &answers).is_err() {
        let to = first_incomplete_page(&app.survey, &answers).map_or(1, |i| i + 1);
        see_other(res, &format!("/survey/{to}"));
        return Ok(());
    }
    responses::mark_submitted(&app.db, user).await?;
    tracing::info!(user_id = user, "questionnaire submitted");
    see_other(res, "/survey/thanks");
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
        let (values, chars) = match &q.kind {
            QuestionKind::Text { max_length } => (1, *max_length),
            QuestionKind::Multi { options, .. } => (options.len(), RESCUED_VALUE_CHARS),
            QuestionKind::Integer { .. } | QuestionKind::Single { .. } => (1, RESCUED_VALUE_CHARS),
        };
        kept.extend(
            fields
                .iter()
                .filter(|(k, v)| *k == q.key && v.chars().count() <= chars)
                .take(values)
                .cloned(),
        );
    }
    kept
}
