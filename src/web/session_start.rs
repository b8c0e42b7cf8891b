//! The step every way of logging in ends with: once a first factor has passed (the
//! password, an e-mailed link), record the log-in and start a fresh session. Kept apart
//! from the handlers so each way in calls the same code.

use salvo::prelude::*;

use super::{see_other, session};
use crate::accounts::email_token::Purpose;
use crate::db::{audit, consents, email_tokens, users};
use crate::views;
use crate::web::error::AppError;
use crate::web::state::AppState;

/// Where a respondent lands after logging in.
pub const AFTER_LOGIN: &str = "/survey";

/// A first factor passed (password, e-mailed link): record the log-in, start a fresh
/// session and send the person on to `next` (through the consent page when a required
/// document changed). `how` goes into the audit entry.
pub async fn establish(
    _req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
    app: &AppState,
    user: &users::User,
    next: String,
    how: &str,
) -> Result<(), AppError> {
    users::record_login(&app.db, user.id).await?;
    // A log-in proves the owner holds the account: a reset link sent earlier (perhaps
    // asked for by someone else) must no longer work.
    email_tokens::void(&app.db, user.id, &[Purpose::Reset], users::now()).await?;
    let needs_consent = !consents::missing_required(&app.db, user.id)
        .await?
        .is_empty();
    session::log_in(depot, user.id, user.role(), needs_consent);
    let unverified = user.email_verified_at.is_none();
    session::update(depot, |d| d.email_unverified = unverified);
    tracing::info!(user_id = user.id, how, "logged in");
    audit::record(&app.db, Some(user.id), "auth.login", Some(user.id), how).await?;
    let target = if next.is_empty() {
        AFTER_LOGIN.to_string()
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
