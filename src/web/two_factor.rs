//! Two-step verification for staff: `/login/2fa` (the code after the password),
//! `/account/2fa` (enrolment, and new recovery codes for the enrolled), and the guard that keeps staff pages from staff without
//! the second factor when `accounts.staff_require_2fa` is on.

use salvo::prelude::*;

use super::second_factor::{self, Found};
use super::{admin, field, form_ctx, limits, refusals, see_other, session, session_start, state};
use crate::accounts::totp;
use crate::accounts::{AuthUser, Role};
use crate::db::{audit, staff_totp, users};
use crate::views;
use crate::views::forms::Errors;
use crate::web::error::AppError;
use crate::web::state::AppState;

fn unix_now() -> u64 {
    chrono::Utc::now().timestamp().max(0) as u64
}

/// The message for a typed code that cannot be right whatever the secret (nothing is
/// counted for it), or `None` when it has the shape of a code or a recovery code.
fn shape_error(lang: crate::i18n::Lang, typed: &str) -> Option<&'static str> {
    let tf = lang.two_factor();
    if typed.trim().is_empty() {
        Some(tf.err_empty)
    } else if totp::normalize_code(typed).is_none() && totp::normalize_recovery(typed).is_none() {
        Some(tf.err_shape)
    } else {
        None
    }
}

/// The errors of a refused code: `message` by the code's field.
fn on_code(message: &str) -> Errors {
    let mut errors = Errors::default();
    errors.add("code", message);
    errors
}

/// The authenticator's code as typed, normalized, or the message for its shape (empty, or
/// not six digits).
fn authenticator_code(lang: crate::i18n::Lang, typed: &str) -> Result<String, &'static str> {
    let tf = lang.two_factor();
    match totp::normalize_code(typed) {
        Some(code) => Ok(code),
        None if typed.trim().is_empty() => Err(tf.err_empty),
        None => Err(tf.err_shape),
    }
}

fn code_refused(depot: &mut Depot, res: &mut Response, message: &str) {
    let errors = on_code(message);
    let c = form_ctx(depot);
    refusals::unprocessable(res, views::two_factor::login(&c, &errors));
}

fn expired(req: &Request, depot: &mut Depot, res: &mut Response) {
    let app = state(depot).clone();
    second_factor::clear(req, res, &app);
    let c = form_ctx(depot);
    res.render(views::Html(views::two_factor::expired(&c)));
}

/// `GET /login/2fa`
#[handler]
pub async fn login_form(req: &mut Request, depot: &mut Depot, res: &mut Response) {
    let app = state(depot).clone();
    match second_factor::read(req, depot, &app) {
        Found::Live(_) => {
            let c = form_ctx(depot);
            res.render(views::Html(views::two_factor::login(
                &c,
                &Errors::default(),
            )));
        }
        Found::Expired => expired(req, depot, res),
        Found::Nothing => see_other(res, "/login"),
    }
}

/// `POST /login/2fa`: the code of the authenticator (a time step not used before) or an
/// unused recovery code completes the pending log-in. Wrong codes count per account like
/// wrong passwords, with the same waits.
#[handler]
pub async fn login(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), AppError> {
    let app = limits::count_login(req, depot).await?;
    let pending = match second_factor::read(req, depot, &app) {
        Found::Live(p) => p,
        Found::Expired => {
            expired(req, depot, res);
            return Ok(());
        }
        Found::Nothing => {
            see_other(res, "/login");
            return Ok(());
        }
    };
    let Some(user) = users::find(&app.db, pending.user_id).await? else {
        second_factor::clear(req, res, &app);
        see_other(res, "/login");
        return Ok(());
    };
    let enrolment = staff_totp::find(&app.db, user.id)
        .await?
        .filter(|e| e.enabled());
    let Some(enrolment) = enrolment else {
        // Turned off (reset) since the password was typed: the password is all there is.
        second_factor::clear(req, res, &app);
        return session_start::complete(depot, res, &app, &user, pending.next, &pending.how, false)
            .await;
    };
    let lang = super::lang_of(depot);
    let typed = field(req, "code").await;
    if let Some(message) = shape_error(lang, &typed) {
        code_refused(depot, res, message);
        return Ok(());
    }
    let key = app.session_key.clone();
    let by_code = totp::normalize_code(&typed).is_some();
    let right = limits::checked_second_factor(req, &app, user.id, user.lockout_epoch, async || {
        if by_code {
            spend_code(&app, user.id, &enrolment, &typed).await
        } else {
            let canonical = totp::normalize_recovery(&typed).unwrap_or_default();
            let hash = totp::hash_recovery(&key, user.id, &canonical);
            Ok(staff_totp::use_recovery_code(&app.db, user.id, &hash, users::now()).await?)
        }
    })
    .await?;
    if !right {
        code_refused(depot, res, lang.two_factor().err_wrong);
        return Ok(());
    }
    second_factor::clear(req, res, &app);
    if !by_code {
        let left = staff_totp::recovery_codes_left(&app.db, user.id).await?;
        tracing::info!(user_id = user.id, left, "recovery code used");
        audit::record(
            &app.db,
            Some(user.id),
            "auth.2fa_recovery_used",
            Some(user.id),
            &format!("{left} left"),
        )
        .await?;
    }
    session_start::complete(depot, res, &app, &user, pending.next, &pending.how, true).await
}

/// Whether `code` is the authenticator's code of a time step not used before; spends
/// the step, so the same code never counts twice.
async fn spend_code(
    app: &AppState,
    user_id: i64,
    enrolment: &staff_totp::Enrolment,
    code: &str,
) -> Result<bool, AppError> {
    let Some(secret) = totp::unseal(&app.session_key, user_id, &enrolment.secret) else {
        tracing::warn!(user_id, "TOTP secret unreadable (server secret changed?)");
        return Ok(false);
    };
    match totp::matching_step(&secret, code, unix_now(), enrolment.last_step) {
        Some(step) => Ok(staff_totp::use_step(&app.db, user_id, step).await?),
        None => Ok(false),
    }
}

/// Where staff go after enrolling.
fn staff_home(role: Role) -> &'static str {
    if role == Role::Admin {
        "/admin"
    } else {
        "/admin/results"
    }
}

/// `GET /account/2fa` (staff): the status, or an enrolment with a secret made here (kept
/// until confirmed, so a reload shows the same QR code).
#[handler]
pub async fn enrol_form(depot: &mut Depot, res: &mut Response) -> Result<(), AppError> {
    enrol_page(depot, res, &Errors::default()).await
}

async fn enrol_page(
    depot: &mut Depot,
    res: &mut Response,
    errors: &Errors,
) -> Result<(), AppError> {
    let app = state(depot).clone();
    let Some(me) = session::user(depot) else {
        return Err(AppError::Forbidden);
    };
    let existing = staff_totp::find(&app.db, me.id).await?;
    if existing.as_ref().is_some_and(|e| e.enabled()) {
        let left = staff_totp::recovery_codes_left(&app.db, me.id).await?;
        let c = form_ctx(depot);
        refusals::form_page(res, views::two_factor::enabled(&c, left, errors), errors);
        return Ok(());
    }
    let enrolment = match existing {
        Some(e) => e,
        None => {
            let sealed = totp::seal(&app.session_key, me.id, &totp::new_secret());
            staff_totp::begin(&app.db, me.id, &sealed, users::now()).await?
        }
    };
    let secret = match totp::unseal(&app.session_key, me.id, &enrolment.secret) {
        Some(s) => s,
        None => {
            // Sealed under another server secret: start again with a new one.
            staff_totp::reset(&app.db, me.id).await?;
            let sealed = totp::seal(&app.session_key, me.id, &totp::new_secret());
            let e = staff_totp::begin(&app.db, me.id, &sealed, users::now()).await?;
            totp::unseal(&app.session_key, me.id, &e.secret).ok_or(AppError::Forbidden)?
        }
    };
    let Some(account) = users::find(&app.db, me.id).await? else {
        return Err(AppError::Forbidden);
    };
    let lang = super::lang_of(depot);
    let uri = totp::otpauth_uri(&secret, lang.t().site_name, &account.email);
    let required = app.settings.accounts.staff_require_2fa;
    let c = form_ctx(depot);
    let page = views::two_factor::enrol(&c, &uri, &totp::base32(&secret), required, errors);
    refusals::form_page(res, page, errors);
    Ok(())
}

/// `POST /account/2fa` (staff): a first right code turns the second factor on; the
/// recovery codes are then shown, once.
#[handler]
pub async fn enrol(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), AppError> {
    let app = state(depot).clone();
    let lang = super::lang_of(depot);
    let Some((me, enrolment)) = enrolment_in(depot, res, &app, false).await? else {
        return Ok(());
    };
    let typed = field(req, "code").await;
    let wrong = lang.two_factor().err_wrong;
    let step = authenticator_code(lang, &typed).and_then(|code| {
        totp::unseal(&app.session_key, me.id, &enrolment.secret)
            .and_then(|secret| totp::matching_step(&secret, &code, unix_now(), 0))
            .ok_or(wrong)
    });
    let step = match step {
        Ok(step) => step,
        Err(message) => return enrol_page(depot, res, &on_code(message)).await,
    };
    let (codes, hashes) = fresh_recovery_codes(&app, me.id);
    if !staff_totp::enable(&app.db, me.id, step, &hashes, users::now()).await? {
        see_other(res, "/account/2fa");
        return Ok(());
    }
    tracing::info!(user_id = me.id, "second factor enrolled");
    audit::record(
        &app.db,
        Some(me.id),
        "account.2fa_enrolled",
        Some(me.id),
        "",
    )
    .await?;
    session::update(depot, |d| d.second_factor = true);
    show_recovery_codes(depot, res, me.role, &codes);
    Ok(())
}

/// The new recovery codes, shown this once, with the way on to the staff pages.
fn show_recovery_codes(depot: &mut Depot, res: &mut Response, role: Role, codes: &[String]) {
    let c = form_ctx(depot);
    res.render(views::Html(views::two_factor::recovery_codes(
        &c,
        codes,
        staff_home(role),
    )));
}

/// The opening of the forms of `/account/2fa`: the staff member and their enrolment, when
/// it is `enabled` (regenerating recovery codes) or not yet (confirming one). In any other
/// state the browser goes back to the page, which shows the current one (`None`).
async fn enrolment_in(
    depot: &Depot,
    res: &mut Response,
    app: &AppState,
    enabled: bool,
) -> Result<Option<(AuthUser, staff_totp::Enrolment)>, AppError> {
    let me = session::user(depot).ok_or(AppError::Forbidden)?;
    let found = staff_totp::find(&app.db, me.id)
        .await?
        .filter(|e| e.enabled() == enabled);
    match found {
        Some(enrolment) => Ok(Some((me, enrolment))),
        None => {
            see_other(res, "/account/2fa");
            Ok(None)
        }
    }
}

/// New recovery codes and their hashes for `user_id`.
fn fresh_recovery_codes(app: &AppState, user_id: i64) -> (Vec<String>, Vec<String>) {
    let codes = totp::new_recovery_codes();
    let hashes = codes
        .iter()
        .filter_map(|c| totp::normalize_recovery(c))
        .map(|c| totp::hash_recovery(&app.session_key, user_id, &c))
        .collect();
    (codes, hashes)
}

/// `POST /account/2fa/recovery` (staff with the factor on): a current authenticator code
/// (not a recovery code: whoever holds only those must not mint more) replaces every
/// recovery code; the new ones are shown once. Wrong codes count like log-in codes.
#[handler]
pub async fn regenerate(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), AppError> {
    let app = state(depot).clone();
    let lang = super::lang_of(depot);
    let Some((me, enrolment)) = enrolment_in(depot, res, &app, true).await? else {
        return Ok(());
    };
    let Some(account) = users::find(&app.db, me.id).await? else {
        return Err(AppError::Forbidden);
    };
    let code = match authenticator_code(lang, &field(req, "code").await) {
        Ok(code) => code,
        Err(message) => return enrol_page(depot, res, &on_code(message)).await,
    };
    let right =
        limits::checked_second_factor(req, &app, me.id, account.lockout_epoch, async || {
            spend_code(&app, me.id, &enrolment, &code).await
        })
        .await?;
    if !right {
        return enrol_page(depot, res, &on_code(lang.two_factor().err_wrong)).await;
    }
    let (codes, hashes) = fresh_recovery_codes(&app, me.id);
    if !staff_totp::replace_recovery_codes(&app.db, me.id, &hashes, users::now()).await? {
        see_other(res, "/account/2fa");
        return Ok(());
    }
    tracing::info!(user_id = me.id, "recovery codes replaced");
    audit::record(
        &app.db,
        Some(me.id),
        "account.2fa_recovery_regenerated",
        Some(me.id),
        "",
    )
    .await?;
    show_recovery_codes(depot, res, me.role, &codes);
    Ok(())
}

/// Staff pages (after the role guard): a session confirmed by a second factor passes; so
/// does one of an account without a factor when none is required. An account without one
/// is sent to enrol; a session that began before the account got its factor ends, and its
/// owner logs in again with the code.
#[handler]
pub async fn guard(req: &mut Request, depot: &mut Depot, res: &mut Response, ctrl: &mut FlowCtrl) {
    let Some(user) = session::user(depot) else {
        return;
    };
    if session::data(depot).is_some_and(|d| d.second_factor) {
        return;
    }
    let app = state(depot).clone();
    match staff_totp::is_enabled(&app.db, user.id).await {
        Ok(true) => {
            let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
            session::log_out(depot);
            see_other(res, &format!("/login?next={}", admin::urlencode(path)));
            ctrl.skip_rest();
        }
        Ok(false) if app.settings.accounts.staff_require_2fa => {
            refusals::mark(depot, "second_factor_missing");
            see_other(res, "/account/2fa");
            ctrl.skip_rest();
        }
        Ok(false) => {}
        Err(e) => {
            AppError::from(e).write(req, depot, res).await;
            ctrl.skip_rest();
        }
    }
}
