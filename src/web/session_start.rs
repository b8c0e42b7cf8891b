//! The step every way of logging in ends with: once a first factor has passed (the
//! password, an e-mailed link), record the log-in and start a fresh session. Kept apart
//! from the handlers so each way in calls the same code.

use salvo::prelude::*;

use super::{known_device, next_query, second_factor, see_other, session, state};
use crate::accounts::Role;
use crate::accounts::email_token::Purpose;
use crate::db::{audit, consents, email_tokens, staff_totp, users};
use crate::views;
use crate::web::error::AppError;
use crate::web::state::AppState;

/// Where a respondent lands after logging in.
pub const AFTER_LOGIN: &str = "/survey";

/// Where a person lands after logging in when no page asked for log-in: each where they
/// work (respondents at the questionnaire, analysts at the results, admins at the
/// dashboard).
pub fn landing(role: Role) -> &'static str {
    match role {
        Role::Respondent => AFTER_LOGIN,
        Role::Analyst => "/admin/results",
        Role::Admin => "/admin",
    }
}

/// `next` if a page asked for log-in, else the landing of the logged-in person; for
/// the log-in pages a logged-in visitor opens again.
pub fn onward(depot: &Depot, next: &str) -> String {
    match session::user(depot) {
        _ if !next.is_empty() => next.to_string(),
        Some(u) => landing(u.role).to_string(),
        None => AFTER_LOGIN.to_string(),
    }
}

/// The opening of the pages that start a log-in (`GET /login`, `/login/code`,
/// `/auth/{provider}`): the `next` the page was asked with, or `None` once a visitor who
/// is logged in already has been sent on to it (or to their landing).
pub fn login_next(req: &Request, depot: &Depot, res: &mut Response) -> Option<String> {
    let next = next_query(req);
    if session::user(depot).is_some() {
        see_other(res, &onward(depot, &next));
        return None;
    }
    Some(next)
}

/// A first factor passed (password, e-mailed code or link, identity provider): this
/// browser becomes a known device of the account (keeping `device`, the nonce of the
/// cookie it holds, when it already is one), then the log-in is recorded, a fresh session
/// started and the person sent on to `next` (through the consent page when a required
/// document changed). `how` goes into the audit entry. Staff with a second factor are
/// sent to type its code first ([`second_factor`]); [`complete`] then logs them in.
pub async fn establish(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
    user: &users::User,
    device: Option<String>,
    next: String,
    how: &str,
) -> Result<(), AppError> {
    let app = &state(depot).clone();
    known_device::remember(req, res, app, user.id, device);
    if user.role().is_staff() && staff_totp::is_enabled(&app.db, user.id).await? {
        let pending = second_factor::Pending {
            user_id: user.id,
            next,
            how: how.to_string(),
        };
        second_factor::start(req, depot, res, app, &pending);
        tracing::info!(user_id = user.id, how, "first factor passed; code asked");
        see_other(res, second_factor::PAGE);
        return Ok(());
    }
    complete(depot, res, app, user, next, how, false).await
}

/// The log-in itself, once every factor the account has passed; `second_factor` says
/// whether a code confirmed it.
pub async fn complete(
    depot: &mut Depot,
    res: &mut Response,
    app: &AppState,
    user: &users::User,
    next: String,
    how: &str,
    second_factor: bool,
) -> Result<(), AppError> {
    users::record_login(&app.db, user.id).await?;
    // A log-in proves the owner holds the account: a reset link sent earlier (perhaps
    // asked for by someone else) must no longer work.
    email_tokens::void(&app.db, user.id, &[Purpose::Reset], users::now()).await?;
    let needs_consent = !consents::missing_required(&app.db, user.id)
        .await?
        .is_empty();
    session::log_in(depot, user.id, user.role(), needs_consent);
    // The reminder is about a respondent's answers counting in the results; staff are
    // made by an administrator (`admin create-user`), who vouched for the address.
    let unverified = user.email_verified_at.is_none() && user.role() == Role::Respondent;
    session::update(depot, |d| {
        d.email_unverified = unverified;
        d.second_factor = second_factor;
    });
    tracing::info!(user_id = user.id, how, "logged in");
    audit::record(&app.db, Some(user.id), "auth.login", Some(user.id), how).await?;
    let target = if next.is_empty() {
        landing(user.role()).to_string()
    } else {
        next
    };
    if needs_consent {
        see_other(
            res,
            &format!("/consent?next={}", views::admin::urlencode(&target)),
        );
    } else {
        see_other(res, &target);
    }
    Ok(())
}
