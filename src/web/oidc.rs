//! Log-in through an OpenID Connect provider (Google or another): `GET /auth/{provider}`
//! sends the browser there, `GET /auth/{provider}/callback` takes it back, and a person
//! new to the site completes the sign-up at `/auth/complete`.
//!
//! The flow's secrets (state, nonce, PKCE verifier) wait in the session store for
//! [`FLOW_TTL`] under a hash of the browser's pre-session nonce: one flow per browser (a
//! new start replaces it), used once, and starts are counted with the log-in attempts of
//! the client's network, so anonymous clients cannot make the server store much. A
//! provider's subject leads to its linked account; else an account with the same
//! (canonical) verified address is linked; else the person completes a sign-up without
//! a password (an empty `password_hash`, which the password log-in never accepts).
//! Staff accounts are refused here: they log in with their password (and its second
//! factor). Every failure shows a page that says what happened and changes nothing.

use std::time::Duration;

use salvo::prelude::*;

use super::password_reset::account_of;
use super::session_start;
use super::sign_up::{self, Person, PersonFields};
use super::store_keys::{self, OidcKey};
use super::{form_ctx, limits, refusals, see_other, state};
use crate::accounts::fields::Email;
use crate::crypto::constant_time_eq;
use crate::db::{audit, consents, identities, users};
use crate::i18n::Notice;
use crate::oidc::{Flow, Identity, OidcError, Provider};
use crate::views::auth::RegisterValues;
use crate::views::forms::Errors;
use crate::views::{self, oidc as view};
use crate::web::error::AppError;
use crate::web::session;
use crate::web::state::AppState;

/// How long a log-in may stay at the provider (typing a password, a second factor).
const FLOW_TTL: Duration = Duration::from_secs(10 * 60);
/// How long a person vouched for by the provider has to complete the sign-up.
const PENDING_TTL: Duration = Duration::from_secs(30 * 60);

/// The configured provider named by the path, or 404.
fn provider<'a>(req: &Request, app: &'a AppState) -> Result<&'a Provider, AppError> {
    let id = req.param::<String>("provider").unwrap_or_default();
    app.oidc.get(&id).ok_or(AppError::NotFound)
}

/// Why a log-in did not go through, as the page says it.
#[derive(Debug, Clone, Copy)]
enum Problem {
    Unavailable,
    Rejected,
    Expired,
    Cancelled,
    EmailUnverified,
    Staff,
}

/// The page for `problem`, with its status; nothing was changed.
fn show_problem(depot: &mut Depot, res: &mut Response, p: &Provider, problem: Problem) {
    let c = views::Ctx {
        notice: None,
        ..super::page_ctx(depot)
    };
    let t = c.lang.t();
    let (text, status) = match problem {
        Problem::Unavailable => (t.oidc_unavailable, StatusCode::BAD_GATEWAY),
        Problem::Rejected => (t.oidc_rejected, StatusCode::BAD_REQUEST),
        Problem::Expired => (t.oidc_expired, StatusCode::BAD_REQUEST),
        Problem::Cancelled => (t.oidc_cancelled, StatusCode::BAD_REQUEST),
        Problem::EmailUnverified => (t.oidc_email_unverified, StatusCode::FORBIDDEN),
        Problem::Staff => (t.oidc_staff, StatusCode::FORBIDDEN),
    };
    let retry = (!matches!(problem, Problem::Staff)).then_some(p.settings.id.as_str());
    let page = view::problem(&c, &text.replace("{label}", &p.settings.label), retry);
    res.status_code(status);
    res.render(views::Html(page));
}

/// `GET /auth/{provider}`: remember a new flow for this browser and send it to the
/// provider. Counted with the client's log-in attempts.
#[handler]
pub async fn start(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), AppError> {
    let app = state(depot).clone();
    let p = provider(req, &app)?;
    let Some(next) = session_start::login_next(req, depot, res) else {
        return Ok(());
    };
    limits::login_attempt(req, &app).await?;
    let (url, flow) = match app.oidc.start(p, &next).await {
        Ok(started) => started,
        Err(e) => {
            tracing::warn!(provider = %p.settings.id, error = %e, "oidc: cannot start log-in");
            show_problem(depot, res, p, Problem::Unavailable);
            return Ok(());
        }
    };
    let pre = session::pre_session(depot);
    let text = serde_json::to_string(&flow).map_err(|e| AppError::Internal(e.into()))?;
    app.kv
        .set(&store_keys::oidc(OidcKey::Flow, &pre), &text, FLOW_TTL)
        .await?;
    res.render(Redirect::found(url));
    Ok(())
}

/// The browser's flow, taken out of the store (a flow is used once).
async fn take_flow(depot: &Depot, app: &AppState) -> Result<Option<Flow>, AppError> {
    let Some(pre) = session::existing_pre_session(depot) else {
        return Ok(None);
    };
    let key = store_keys::oidc(OidcKey::Flow, &pre);
    let Some(text) = app.kv.get(&key).await? else {
        return Ok(None);
    };
    app.kv.delete(&key).await?;
    Ok(serde_json::from_str(&text).ok())
}

/// `GET /auth/{provider}/callback`: check the answer against this browser's flow, finish
/// it with the provider, then log in, link, or send the person to complete a sign-up.
#[handler]
pub async fn callback(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), AppError> {
    let app = state(depot).clone();
    let p = provider(req, &app)?;
    let flow = take_flow(depot, &app).await?;
    let given_state = req.query::<String>("state").unwrap_or_default();
    let flow = flow.filter(|f| {
        f.provider == p.settings.id
            && !given_state.is_empty()
            && constant_time_eq(&f.state, &given_state)
    });
    let Some(flow) = flow else {
        tracing::info!(provider = %p.settings.id, kind = "oidc_state", "oidc: no flow matches the callback's state");
        show_problem(depot, res, p, Problem::Expired);
        return Ok(());
    };
    if let Some(error) = req.query::<String>("error") {
        // An error code from the provider (`access_denied` when the person said no); the
        // code is a short token from a fixed list, safe to log.
        let error: String = error.chars().take(64).collect();
        tracing::info!(provider = %p.settings.id, error, "oidc: provider answered with an error");
        let problem = if error == "access_denied" {
            Problem::Cancelled
        } else {
            Problem::Rejected
        };
        show_problem(depot, res, p, problem);
        return Ok(());
    }
    let code = req.query::<String>("code").unwrap_or_default();
    if code.is_empty() || code.len() > 2048 {
        show_problem(depot, res, p, Problem::Rejected);
        return Ok(());
    }
    let who = match app.oidc.finish(p, &flow, &code).await {
        Ok(who) => who,
        Err(e) => {
            let problem = match &e {
                OidcError::Unavailable(_) => Problem::Unavailable,
                OidcError::Rejected(_) => Problem::Rejected,
                OidcError::EmailNotVerified => Problem::EmailUnverified,
            };
            tracing::warn!(provider = %p.settings.id, error = %e, "oidc: log-in refused");
            show_problem(depot, res, p, problem);
            return Ok(());
        }
    };
    let Ok(email) = Email::parse(&who.email) else {
        tracing::warn!(provider = %p.settings.id, "oidc: the provider's e-mail address is not usable here");
        show_problem(depot, res, p, Problem::Rejected);
        return Ok(());
    };
    let next = flow.next;

    // The subject's linked account, else the account with this very address.
    let linked = identities::find_user(&app.db, &who.provider, &who.subject).await?;
    let user = match linked {
        Some(id) => users::find(&app.db, id).await?,
        None => account_of(&app, &email).await?,
    };
    let Some(user) = user else {
        return pending_sign_up(depot, res, &app, who, &email).await;
    };
    if user.role().is_staff() {
        tracing::info!(user_id = user.id, provider = %p.settings.id, kind = "oidc_staff", "oidc: staff account refused");
        show_problem(depot, res, p, Problem::Staff);
        return Ok(());
    }
    if linked.is_none() {
        if user.email_verified_at.is_none() {
            // An unverified account with this address may be someone else's sign-up with the
            // person's address: the provider proves the mailbox, so whoever made it loses
            // its password and sessions, and the address counts as verified from now on.
            users::claim_unverified(&app.db, user.id, users::now()).await?;
            session::end_all_for_user(&app.kv, user.id, None).await?;
            audit::record(
                &app.db,
                Some(user.id),
                "auth.oidc_claimed_unverified",
                Some(user.id),
                &who.provider,
            )
            .await?;
        }
        match identities::link(&app.db, user.id, &who.provider, &who.subject).await {
            Ok(()) => {}
            // The same subject linked by a simultaneous callback: start again.
            Err(e) if e.is_unique_violation() => {
                show_problem(depot, res, p, Problem::Expired);
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        }
        tracing::info!(user_id = user.id, provider = %p.settings.id, "oidc: account linked");
        audit::record(
            &app.db,
            Some(user.id),
            "auth.oidc_linked",
            Some(user.id),
            &who.provider,
        )
        .await?;
    } else {
        identities::touch(&app.db, &who.provider, &who.subject).await?;
    }
    // Re-read: claiming an unverified account changed it.
    let user = users::find(&app.db, user.id)
        .await?
        .ok_or(AppError::Forbidden)?;
    // The one place an OpenID Connect log-in establishes its session, through the same
    // function as every other log-in.
    session_start::establish(req, depot, res, &user, None, next, &who.provider).await
}

/// Keep who the provider vouched for (for [`PENDING_TTL`]) and send them to complete
/// the sign-up.
async fn pending_sign_up(
    depot: &mut Depot,
    res: &mut Response,
    app: &AppState,
    mut who: Identity,
    email: &Email,
) -> Result<(), AppError> {
    who.email = email.as_str().to_string();
    let pre = session::pre_session(depot);
    let text = serde_json::to_string(&who).map_err(|e| AppError::Internal(e.into()))?;
    app.kv
        .set(
            &store_keys::oidc(OidcKey::Pending, &pre),
            &text,
            PENDING_TTL,
        )
        .await?;
    see_other(res, "/auth/complete");
    Ok(())
}

/// The person waiting to complete a sign-up in this browser, with their provider.
async fn pending(depot: &Depot, app: &AppState) -> Result<Option<(Identity, String)>, AppError> {
    let Some(pre) = session::existing_pre_session(depot) else {
        return Ok(None);
    };
    let key = store_keys::oidc(OidcKey::Pending, &pre);
    let who = app
        .kv
        .get(&key)
        .await?
        .and_then(|text| serde_json::from_str::<Identity>(&text).ok());
    Ok(who.map(|w| (w, key)))
}

async fn render_complete(
    depot: &mut Depot,
    app: &AppState,
    who: &Identity,
    values: &RegisterValues,
    errors: &Errors,
) -> Result<maud::Markup, AppError> {
    let documents = consents::current(&app.db).await?;
    let label = app
        .oidc
        .get(&who.provider)
        .map_or_else(|| who.provider.clone(), |p| p.settings.label.clone());
    let c = form_ctx(depot);
    Ok(view::complete(
        &c,
        &view::Completing {
            label: &label,
            email: &who.email,
        },
        &documents,
        app.bairros.all(),
        &app.settings.accounts,
        values,
        errors,
    ))
}

/// The page when no sign-up waits in this browser: start again at the log-in page.
fn nothing_pending(depot: &mut Depot, res: &mut Response) {
    let c = super::page_ctx(depot);
    let page = view::problem(&c, c.lang.t().oidc_expired, None);
    res.status_code(StatusCode::BAD_REQUEST);
    res.render(views::Html(page));
}

/// `GET /auth/complete`: the rest of the sign-up, names prefilled from the provider.
#[handler]
pub async fn complete_form(depot: &mut Depot, res: &mut Response) -> Result<(), AppError> {
    let app = state(depot).clone();
    if session::user(depot).is_some() {
        see_other(res, session_start::AFTER_LOGIN);
        return Ok(());
    }
    let Some((who, _)) = pending(depot, &app).await? else {
        nothing_pending(depot, res);
        return Ok(());
    };
    let values = RegisterValues {
        nome: who.given_name.chars().take(80).collect(),
        sobrenome: who.family_name.chars().take(80).collect(),
        ..RegisterValues::default()
    };
    let page = render_complete(depot, &app, &who, &values, &Errors::default()).await?;
    res.render(views::Html(page));
    Ok(())
}

/// `POST /auth/complete`: every field parsed as in the sign-up; success creates the
/// account (no password), its consents and its link in one transaction and logs in.
#[handler]
pub async fn complete(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), AppError> {
    let app = limits::count_sign_up(req, depot).await?;
    let lang = super::lang_of(depot);
    let Some((who, key)) = pending(depot, &app).await? else {
        nothing_pending(depot, res);
        return Ok(());
    };
    let documents = consents::current(&app.db).await?;
    let v = sign_up::read_form(req, &documents, Some(who.email.clone())).await;
    let mut errors = Errors::default();
    let person = Person::parse(&app, lang, &PersonFields::of(&v), &mut errors);
    sign_up::check_declarations(lang, &v, &mut errors);
    let (Some(person), true) = (person, errors.is_empty()) else {
        let page = render_complete(depot, &app, &who, &v, &errors).await?;
        refusals::unprocessable(res, page);
        return Ok(());
    };
    let accepted = sign_up::accepted(&documents, &v);
    // No password: the password log-in never accepts an empty hash.
    let new_user = sign_up::new_respondent(&who.email, "", &person, users::now());
    let created = identities::create_user(
        &app.db,
        &new_user,
        &accepted,
        &who.provider,
        &who.subject,
        &app.session_key,
    )
    .await;
    match created {
        Ok(id) => {
            app.kv.delete(&key).await?;
            tracing::info!(user_id = id, provider = %who.provider, "account created");
            audit::record(
                &app.db,
                Some(id),
                "auth.oidc_linked",
                Some(id),
                &who.provider,
            )
            .await?;
            let user = users::find(&app.db, id).await?.ok_or(AppError::Forbidden)?;
            // The same session-establishing function as every other log-in.
            session_start::establish(req, depot, res, &user, None, String::new(), &who.provider)
                .await?;
            // Created whatever happens next: if the session cannot be stored, the log-in
            // page says so instead of an error page.
            session::committed(depot, Notice::AccountCreated);
            Ok(())
        }
        Err(e) if e.is_unique_violation() => {
            // The address or the subject got an account meanwhile (another tab): logging
            // in through the provider again reaches it.
            app.kv.delete(&key).await?;
            let c = super::page_ctx(depot);
            let page = view::problem(&c, c.lang.t().oidc_expired, Some(&who.provider));
            res.status_code(StatusCode::CONFLICT);
            res.render(views::Html(page));
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}
