//! Sign-in by e-mail code, for people who prefer no password: ask for a code, then type
//! the 6 digits or follow the link in the same message (10 minutes, 5 tries, single use).
//!
//! Nothing tells whether an address has an account: the request page answers the same,
//! the mail is written by a task of its own after the answer is decided, and an address
//! with no account gets a "ghost" code whose tries are counted in the session store, so
//! typing codes for it reads exactly as for a real one (wrong, tries left, ask anew).
//! Typed codes share the log-in limits with passwords (waits per client, the account's
//! ceiling), and a right code or a confirmed link logs in through
//! [`super::session_start::establish`], the same path as the password form.

use std::time::Duration;

use salvo::prelude::*;

use super::limits::{self, LoginSubject};
use super::password_reset::{account_of, detached, requested_email};
use super::session_start;
use super::store_keys::{self, ClientLimit};
use super::token_pages;
use super::{field, form_ctx, known_device, next_field, refusals, see_other, state};
use crate::accounts::email_token::{self, MAX_CODE_TRIES, Purpose};
use crate::accounts::fields::Email;
use crate::db::email_tokens::{self, CodeOutcome, Spent};
use crate::db::outbox::{MailKind, NewMessage};
use crate::db::users::{self, User};
use crate::i18n::Lang;
use crate::views::forms::Errors;
use crate::views::{self, mail};
use crate::web::error::AppError;
use crate::web::state::AppState;

/// The sign-in link's page.
const LINK_PATH: &str = "/login/code/link";

/// Store a sign-in code for the account and queue its mail.
async fn queue_code(
    app: AppState,
    user_id: i64,
    email: String,
    lang: Lang,
) -> Result<(), AppError> {
    let now = users::now();
    let issued = token_pages::new_link(&app, Purpose::SignIn, user_id, &email, LINK_PATH, now);
    let Some(code) = &issued.code else {
        return Err(AppError::Internal(anyhow::anyhow!(
            "a sign-in token without a code"
        )));
    };
    email_tokens::insert(&app.db, &issued.token).await?;
    let msg = NewMessage::new(
        MailKind::SignInCode,
        &email,
        mail::sign_in_code(lang, code, &issued.url),
        now,
    );
    app.enqueue_mail(&msg).await?;
    tracing::info!(user_id, "sign-in code queued");
    Ok(())
}

/// An address with no account "gets" a code too: fresh tries, counted in the store.
async fn queue_ghost(app: AppState, email: String) -> Result<(), AppError> {
    let lifetime = Duration::from_secs(Purpose::SignIn.lifetime().num_seconds().max(1) as u64);
    app.kv
        .set(&store_keys::ghost_code_tries(&email), "0", lifetime)
        .await?;
    Ok(())
}

/// A code typed for an address with no account: wrong, until its tries run out.
async fn try_ghost(app: &AppState, email: &str) -> Result<CodeOutcome, AppError> {
    let key = store_keys::ghost_code_tries(email);
    if !app.kv.exists(&key).await? {
        return Ok(CodeOutcome::NoCode);
    }
    let lifetime = Duration::from_secs(Purpose::SignIn.lifetime().num_seconds().max(1) as u64);
    let (tries, _) = app.kv.hit(&key, lifetime).await?;
    let tries = i32::try_from(tries).unwrap_or(i32::MAX);
    Ok(if tries > MAX_CODE_TRIES {
        CodeOutcome::NoCode
    } else {
        CodeOutcome::Wrong {
            tries_left: MAX_CODE_TRIES - tries,
        }
    })
}

/// `GET /login/code`
#[handler]
pub async fn request_form(req: &mut Request, depot: &mut Depot, res: &mut Response) {
    let Some(next) = session_start::login_next(req, depot, res) else {
        return;
    };
    let c = form_ctx(depot);
    res.render(views::Html(views::email_access::code_request(
        &c,
        "",
        &next,
        &Errors::default(),
    )));
}

/// `POST /login/code`: queue a code (within the limits) and show the page to type it,
/// the same for every well-formed address.
#[handler]
pub async fn request(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), AppError> {
    let app = state(depot).clone();
    let lang = super::lang_of(depot);
    let next = next_field(req).await;
    let Some(email) = requested_email(req, depot, res, |c, raw, errors| {
        views::email_access::code_request(c, raw, &next, errors)
    })
    .await
    else {
        return Ok(());
    };
    if limits::mail_request_allowed(req, &app, ClientLimit::Code, email.as_str()).await? {
        let app = app.clone();
        match account_of(&app, &email).await? {
            Some(user) => detached("sign_in_code", move || {
                queue_code(app.clone(), user.id, user.email.clone(), lang)
            }),
            None => {
                let address = email.as_str().to_string();
                detached("sign_in_code", move || {
                    queue_ghost(app.clone(), address.clone())
                })
            }
        }
    }
    let c = form_ctx(depot);
    res.render(views::Html(views::email_access::code_enter(
        &c,
        email.as_str(),
        &next,
        &Errors::default(),
    )));
    Ok(())
}

/// The words for a refused code.
fn code_error(lang: Lang, outcome: &CodeOutcome) -> String {
    let t = lang.t();
    match outcome {
        CodeOutcome::Wrong { tries_left: 1 } => t.err_code_wrong_one.to_string(),
        CodeOutcome::Wrong { tries_left } if *tries_left > 0 => {
            t.err_code_wrong.replace("{n}", &tries_left.to_string())
        }
        _ => t.err_code_used_up.to_string(),
    }
}

/// A right code or a confirmed link proves the mailbox: the address counts as verified
/// when the token went to the account's current address. Returns the account as it now is.
async fn address_proven(app: &AppState, user: &User, spent: &Spent) -> Result<User, AppError> {
    let now = users::now();
    let mut user = user.clone();
    if users::mark_verified(&app.db, user.id, &spent.email, now).await? {
        user.email_verified_at.get_or_insert(now);
    }
    Ok(user)
}

/// `POST /login/code/verify`: a right code logs in; a wrong one says how many tries are
/// left; none left, expired or spent says to ask for a new code.
#[handler]
pub async fn verify(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), AppError> {
    let app = limits::count_login(req, depot).await?;
    let lang = super::lang_of(depot);
    let raw = field(req, "email").await;
    let Ok(email) = Email::parse(&raw) else {
        // Only a tampered hidden field gets here: start again.
        see_other(res, "/login/code");
        return Ok(());
    };
    let next = next_field(req).await;
    let refuse = |depot: &mut Depot, res: &mut Response, msg: String| {
        let mut errors = Errors::default();
        errors.add("code", msg);
        let c = form_ctx(depot);
        refusals::unprocessable(
            res,
            views::email_access::code_enter(&c, email.as_str(), &next, &errors),
        );
    };
    let Some(code) = email_token::normalize_code(&field(req, "code").await) else {
        refuse(depot, res, lang.t().err_code_format.to_string());
        return Ok(());
    };
    let user = account_of(&app, &email).await?;
    let who = LoginSubject::of(user.as_ref(), email.as_str());
    let attempt = limits::code_may_be_tried(req, &app, who, user.as_ref().map(|u| u.id)).await?;
    let outcome = match &user {
        Some(u) => {
            let hash = email_token::hash_code(&app.session_key, u.id, &code);
            email_tokens::try_code(
                &app.db,
                u.id,
                Purpose::SignIn,
                &hash,
                MAX_CODE_TRIES,
                users::now(),
            )
            .await?
        }
        None => try_ghost(&app, email.as_str()).await?,
    };
    match (outcome, user) {
        (CodeOutcome::Accepted(spent), Some(user)) => {
            limits::code_checked(&app, who, &attempt, true).await?;
            let user = address_proven(&app, &user, &spent).await?;
            let device = attempt.device.clone();
            session_start::establish(req, depot, res, &user, device, next.clone(), "e-mail code")
                .await
        }
        (outcome, _) => {
            if matches!(outcome, CodeOutcome::Wrong { .. }) {
                limits::code_checked(&app, who, &attempt, false).await?;
            }
            refuse(depot, res, code_error(lang, &outcome));
            Ok(())
        }
    }
}

/// The page for a sign-in link that no longer works: 410, with the way to a new code.
fn link_gone(depot: &mut Depot, res: &mut Response) {
    token_pages::gone(depot, res, "/login/code", |t| {
        (t.code_link_invalid, t.code_resend)
    });
}

/// `GET /login/code/link?token=…`: a button to confirm. Mail scanners that fetch links
/// do not press it, so they do not spend the link.
#[handler]
pub async fn link_form(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), AppError> {
    token_pages::live_page(
        req,
        depot,
        res,
        Purpose::SignIn,
        views::email_access::code_link,
        link_gone,
    )
    .await
}

/// `POST /login/code/link`: spends the link and logs in.
#[handler]
pub async fn link(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), AppError> {
    let token = token_pages::posted_token(req, res).await;
    let app = limits::count_login(req, depot).await?;
    let Some(spent) = token_pages::spend(&app, Purpose::SignIn, &token).await? else {
        link_gone(depot, res);
        return Ok(());
    };
    let Some(user) = users::find(&app.db, spent.user_id).await? else {
        link_gone(depot, res);
        return Ok(());
    };
    let device = known_device::recognised(req, &app, user.id);
    let user = address_proven(&app, &user, &spent).await?;
    session_start::establish(req, depot, res, &user, device, String::new(), "e-mail link").await
}
