//! E-mail verification: the link mailed at sign-up (and on request), its confirm step, and
//! the resend button. Following the link proves the address, so it also logs the person
//! in: a respondent who signed up on the phone taps the link and lands on the questionnaire.

use std::time::Duration;

use salvo::prelude::*;

use super::account::{Own, own_account};
use super::{limits, see_other, state, token_pages};
use crate::accounts::email_token::Purpose;
use crate::db::outbox::{MailKind, NewMessage};
use crate::db::{email_tokens, users};
use crate::i18n::{Lang, Notice};
use crate::views;
use crate::web::error::AppError;
use crate::web::session;
use crate::web::state::AppState;

/// Verification mails one account may be sent per hour (the sign-up one included).
const VERIFY_MAILS_PER_HOUR: u64 = 3;

/// A verification token for `email` and its mail, ready to insert (`user_id` 0 until the
/// account exists, see [`users::create_with_mail`]).
pub fn verification(
    app: &AppState,
    lang: Lang,
    user_id: i64,
    email: &str,
) -> (email_tokens::NewToken, NewMessage) {
    let now = users::now();
    let link = token_pages::new_link(app, Purpose::Verify, user_id, email, "/verify", now);
    let mail = views::mail::verify_email(lang, &link.url);
    (
        link.token,
        NewMessage::new(MailKind::VerifyEmail, email, mail, now),
    )
}

/// Issue a new verification token for an existing account and queue its mail.
pub async fn send_verification(
    app: &AppState,
    lang: Lang,
    user_id: i64,
    email: &str,
) -> Result<(), AppError> {
    let (token, mail) = verification(app, lang, user_id, email);
    email_tokens::insert(&app.db, &token).await?;
    app.enqueue_mail(&mail).await?;
    Ok(())
}

/// Whether another verification mail may go to the account now.
pub async fn may_send_verification(app: &AppState, user_id: i64) -> Result<bool, AppError> {
    limits::account_mail_allowed(
        app,
        MailKind::VerifyEmail,
        user_id,
        VERIFY_MAILS_PER_HOUR,
        Duration::from_secs(3600),
    )
    .await
}

/// 410: the link is unknown, expired or spent (or went to an address the account left).
fn invalid(depot: &mut Depot, res: &mut Response) {
    token_pages::refused(depot, res, StatusCode::GONE, |t| {
        (t.verify_title, t.verify_invalid)
    });
}

/// `GET /verify?token=…`: the confirm button (a mail scanner's prefetch spends nothing).
#[handler]
pub async fn confirm_form(req: &mut Request, depot: &mut Depot, res: &mut Response) {
    token_pages::confirm_page(req, depot, res, views::verify::confirm, invalid);
}

/// `POST /verify`: spend the token, mark the address verified and log its owner in.
#[handler]
pub async fn confirm(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), AppError> {
    let token = token_pages::posted_token(req, res).await;
    let app = state(depot).clone();
    let Some(spent) = token_pages::spend(&app, Purpose::Verify, &token).await? else {
        invalid(depot, res);
        return Ok(());
    };
    let now = users::now();
    if !users::mark_verified(&app.db, spent.user_id, &spent.email, now).await? {
        // The account's address changed since the link was sent.
        invalid(depot, res);
        return Ok(());
    }
    let Some(user) = users::find(&app.db, spent.user_id).await? else {
        invalid(depot, res);
        return Ok(());
    };
    tracing::info!(user_id = user.id, "e-mail verified");
    crate::db::audit::record(
        &app.db,
        Some(user.id),
        "account.email_verified",
        Some(user.id),
        "",
    )
    .await?;
    if session::user(depot).is_some_and(|u| u.id == user.id) {
        session::update(depot, |d| d.email_unverified = false);
        session::flash(depot, Notice::EmailVerified);
        see_other(res, super::session_start::AFTER_LOGIN);
        return Ok(());
    }
    // The link proved the mailbox: this browser becomes one of the account's known
    // devices as it logs in.
    super::session_start::establish(
        req,
        depot,
        res,
        &user,
        None,
        String::new(),
        "email_verification",
    )
    .await?;
    session::flash(depot, Notice::EmailVerified);
    // Verified whatever happens next: if the session cannot be stored, the log-in page
    // says so instead of an error page.
    session::committed(depot, Notice::EmailVerified);
    Ok(())
}

/// `POST /verify/resend`: another link for the logged-in respondent, a few per hour.
#[handler]
pub async fn resend(depot: &mut Depot, res: &mut Response) -> Result<(), AppError> {
    let Own {
        user, app, lang, ..
    } = own_account(depot).await?;
    if user.email_verified_at.is_some() {
        session::update(depot, |d| d.email_unverified = false);
        session::flash(depot, Notice::EmailVerified);
    } else if may_send_verification(&app, user.id).await? {
        send_verification(&app, lang, user.id, &user.email).await?;
        session::flash(depot, Notice::VerificationSent);
    } else {
        session::flash(depot, Notice::ResendLimited);
    }
    see_other(res, "/account");
    Ok(())
}
