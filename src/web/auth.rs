//! Sign-up, log-in, log-out and the re-acceptance of updated documents.

use salvo::prelude::*;

use crate::db::outbox::{MailKind, NewMessage};
use crate::i18n::{Lang, Notice};

use super::limits::LoginSubject;
use super::password_reset::account_of;
use super::session_start;
use super::sign_up::{self, Person, PersonFields};
use super::{field, form_ctx, limits, next_field, next_query, refusals, see_other, state, ticked};
use crate::accounts::fields::{Email, FieldError};
use crate::accounts::hasher::Verified;
use crate::accounts::password::Password;
use crate::db::{consents, users};
use crate::views::auth::RegisterValues;
use crate::views::forms::{Errors, message};
use crate::views::{self, Ctx};
use crate::web::error::AppError;
use crate::web::session;

async fn render_register(
    depot: &mut Depot,
    values: &RegisterValues,
    errors: &Errors,
) -> Result<maud::Markup, AppError> {
    let app = state(depot).clone();
    let documents = consents::current(&app.db).await?;
    let c = form_ctx(depot);
    Ok(views::auth::register(
        &c,
        &app.oidc.buttons(),
        &documents,
        app.bairros.all(),
        &views::auth::Study {
            who: &app.settings.accounts,
            minutes: app.survey.minutes(),
        },
        values,
        errors,
    ))
}

/// `GET /register`
#[handler]
pub async fn register_form(depot: &mut Depot, res: &mut Response) -> Result<(), AppError> {
    if session::user(depot).is_some() {
        see_other(res, &session_start::onward(depot, ""));
        return Ok(());
    }
    let page = render_register(depot, &RegisterValues::default(), &Errors::default()).await?;
    res.render(views::Html(page));
    Ok(())
}

/// `POST /register`: every field parsed; any error re-renders the form with 422 and
/// stores nothing. Success creates the account and its consents in one transaction.
#[handler]
pub async fn register(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), AppError> {
    let app = limits::count_sign_up(req, depot).await?;
    let lang = super::lang_of(depot);
    let documents = consents::current(&app.db).await?;

    let v = sign_up::read_form(req, &documents, None).await;
    let password = field(req, "password").await;
    let confirm = field(req, "password_confirm").await;

    let mut errors = Errors::default();
    let (person, email) =
        Person::parse_around(&app, lang, &PersonFields::of(&v), &mut errors, |errors| {
            refusals::checked(errors, lang, "email", Email::parse(&v.email))
        });
    // The password is optional: without one, the person signs in by the e-mailed link or
    // code, which makes the form shorter on a phone.
    let new_password = if password.is_empty() && confirm.is_empty() {
        Ok(None)
    } else {
        Password::new_checked(&password, &confirm).map(Some)
    };
    let new_password = refusals::checked(
        &mut errors,
        lang,
        refusals::new_password_field(new_password.as_ref().err()),
        new_password,
    );
    sign_up::check_declarations(lang, &v, &mut errors);

    let (Some(person), Some(email), Some(new_password), true) =
        (person, email, new_password, errors.is_empty())
    else {
        let page = render_register(depot, &v, &errors).await?;
        refusals::unprocessable(res, page);
        return Ok(());
    };

    // Hashed before the insert whether or not the address is taken, so both take as long.
    let hash = match &new_password {
        Some(p) => app.hasher.hash(p).await?,
        None => String::new(),
    };
    let accepted = sign_up::accepted(&documents, &v);
    let new_user = sign_up::new_respondent(email.as_str(), &hash, &person, users::now());
    // New address or taken, the answer is the same "check your e-mail" page: only the
    // address's owner learns, by mail, whether an account was made.
    let (token, mail) = super::verify::verification(&app, lang, 0, email.as_str());
    let created = users::create_with_mail(
        &app.db,
        &new_user,
        &accepted,
        &token,
        &mail,
        &app.session_key,
    )
    .await;
    match created {
        Ok(id) => {
            app.mail_queued();
            tracing::info!(user_id = id, "account created");
            // Counted, not checked: the first mail always goes; resends share the hour.
            let _ = super::verify::may_send_verification(&app, id).await?;
        }
        Err(e) if e.is_unique_violation() => {
            already_registered(&app, lang, email.as_str()).await?;
        }
        Err(e) => return Err(e.into()),
    }
    see_other(res, SIGNED_UP);
    Ok(())
}

/// Where sign-up ends, whatever happened to the address.
const SIGNED_UP: &str = "/register/sent";

/// Already-registered mails one account may be sent per hour.
const ALREADY_REGISTERED_PER_HOUR: u64 = 3;

/// Sign-up with a taken address: tell its owner how to get in (a few times an hour).
async fn already_registered(
    app: &state::AppState,
    lang: Lang,
    email: &str,
) -> Result<(), AppError> {
    let Some(owner) = users::find_by_email(&app.db, email).await? else {
        return Ok(());
    };
    let allowed = limits::account_mail_allowed(
        app,
        MailKind::AlreadyRegistered,
        owner.id,
        ALREADY_REGISTERED_PER_HOUR,
        std::time::Duration::from_secs(3600),
    )
    .await?;
    if !allowed {
        return Ok(());
    }
    let base = app.settings.public_base_url();
    let mail = views::mail::already_registered(
        lang,
        &format!("{base}/login"),
        &format!("{base}/password/forgot"),
    );
    let now = users::now();
    app.enqueue_mail(&NewMessage::new(
        MailKind::AlreadyRegistered,
        &owner.email,
        mail,
        now,
    ))
    .await?;
    tracing::info!(
        user_id = owner.id,
        "sign-up with a registered address; owner mailed"
    );
    Ok(())
}

/// `GET /register/sent`
#[handler]
pub async fn signed_up(depot: &mut Depot, res: &mut Response) {
    let c = super::page_ctx(depot);
    res.render(views::Html(views::verify::check_email(&c)));
}

fn login_page(depot: &Depot, c: &Ctx, email: &str, next: &str, errors: &Errors) -> maud::Markup {
    views::auth::login(c, &state(depot).oidc.buttons(), email, next, errors)
}

/// `GET /login`
#[handler]
pub async fn login_form(req: &mut Request, depot: &mut Depot, res: &mut Response) {
    let Some(next) = session_start::login_next(req, depot, res) else {
        return;
    };
    let c = form_ctx(depot);
    res.render(views::Html(login_page(
        depot,
        &c,
        "",
        &next,
        &Errors::default(),
    )));
}

/// `POST /login`: rate-limited per address and per account; the same work whether or
/// not the e-mail exists; a new session id on success.
#[handler]
pub async fn login(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), AppError> {
    let app = limits::count_login(req, depot).await?;
    let lang = super::lang_of(depot);
    let raw_email = field(req, "email").await;
    let password = Password::any(&field(req, "password").await);
    let next = next_field(req).await;

    let email = Email::parse(&raw_email).ok();
    // Only the account whose stored address is exactly this canonical one: a database
    // collation that equates accented or other look-alike letters must not lead to it.
    let user = match &email {
        Some(e) => account_of(&app, e).await?,
        None => None,
    };
    let typed = raw_email.trim().to_lowercase();
    let address = email.as_ref().map_or(typed.as_str(), Email::as_str);
    let who = LoginSubject::of(user.as_ref(), address);
    let account = user.as_ref().map(|u| (u.id, u.password_hash.as_str()));
    let (outcome, device) = limits::checked_password(req, &app, who, account, &password).await?;
    let (Some(user), Verified::Valid { needs_rehash }) = (user, outcome) else {
        let mut errors = Errors::default();
        errors.add("email", lang.t().err_login_failed);
        let c = form_ctx(depot);
        refusals::unprocessable(res, login_page(depot, &c, &raw_email, &next, &errors));
        return Ok(());
    };
    if needs_rehash {
        let hash = app.hasher.hash(&password).await?;
        users::set_password_hash(&app.db, user.id, &hash).await?;
    }
    session_start::establish(req, depot, res, &user, device, next, "web").await
}

/// `POST /logout`: the session is deleted and the cookie removed.
#[handler]
pub async fn logout(depot: &mut Depot, res: &mut Response) {
    session::log_out(depot);
    session::flash(depot, Notice::LoggedOut);
    see_other(res, "/");
}

async fn consent_page(
    depot: &mut Depot,
    next: &str,
    errors: &Errors,
) -> Result<Option<maud::Markup>, AppError> {
    let app = state(depot).clone();
    let Some(user) = session::user(depot) else {
        return Ok(None);
    };
    let missing = consents::missing_required(&app.db, user.id).await?;
    if missing.is_empty() {
        return Ok(None);
    }
    // Someone who never accepted anything (a staff account made on the command line) is
    // reading these for the first time, not a new version of them.
    let first_time = consents::of_user(&app.db, user.id).await?.is_empty();
    let c = form_ctx(depot);
    Ok(Some(views::auth::consent(
        &c,
        &missing,
        &app.settings.accounts,
        first_time,
        next,
        errors,
    )))
}

/// `GET /consent`: the new versions to accept, or on to `next` when there are none.
#[handler]
pub async fn consent_form(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), AppError> {
    let next = next_query(req);
    match consent_page(depot, &next, &Errors::default()).await? {
        Some(page) => res.render(views::Html(page)),
        None => {
            session::update(depot, |d| d.needs_consent = false);
            see_other(res, &session_start::onward(depot, &next));
        }
    }
    Ok(())
}

/// `POST /consent`: record acceptance of the versions shown (if still current).
#[handler]
pub async fn consent(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), AppError> {
    let app = state(depot).clone();
    let lang = super::lang_of(depot);
    let Some(user) = session::user(depot) else {
        return Err(AppError::Forbidden);
    };
    let next = next_field(req).await;
    let shown: Vec<i64> = req
        .form_data()
        .await
        .map(|f| {
            f.fields
                .get_vec("document")
                .map(|v| v.iter().filter_map(|s| s.parse().ok()).collect())
                .unwrap_or_default()
        })
        .unwrap_or_default();
    if !ticked(req, "accept").await {
        let mut errors = Errors::default();
        errors.add("accept", message(lang, FieldError::MustAccept));
        if let Some(page) = consent_page(depot, &next, &errors).await? {
            refusals::unprocessable(res, page);
            return Ok(());
        }
    }
    let missing = consents::missing_required(&app.db, user.id).await?;
    // Accept only what was shown; if a newer version appeared meanwhile, show it.
    let accept: Vec<i64> = missing
        .iter()
        .map(|d| d.id)
        .filter(|id| shown.contains(id))
        .collect();
    consents::accept(&app.db, user.id, &accept).await?;
    if accept.len() < missing.len() {
        see_other(
            res,
            &format!("/consent?next={}", views::admin::urlencode(&next)),
        );
        return Ok(());
    }
    session::update(depot, |d| d.needs_consent = false);
    see_other(res, &session_start::onward(depot, &next));
    Ok(())
}
