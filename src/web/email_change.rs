//! Changing the account's e-mail (LGPD rectification): the new address gets a link and the
//! change happens only when it is followed; the old address is told afterwards. Asking
//! takes the password, or for an account without one a sign-in of the last 15 minutes,
//! so a borrowed session cannot move the account to another mailbox.

use std::time::Duration;

use salvo::prelude::*;

use super::account::{
    Own, notify, own_account, password_checks, proven_recently, refuse_email_change,
};
use super::token_pages;
use super::{field, limits, see_other, state};
use crate::accounts::email_token::Purpose;
use crate::accounts::fields::{Email, FieldError};
use crate::accounts::password::Password;
use crate::db::outbox::{MailKind, NewMessage};
use crate::db::{audit, email_tokens, users};
use crate::i18n::Notice;
use crate::views;
use crate::views::forms::{Errors, message};
use crate::web::error::AppError;
use crate::web::session;

/// Change links one account may be sent per hour.
const CHANGE_MAILS_PER_HOUR: u64 = 3;

/// `POST /account/email`: send the change link to the new address.
#[handler]
pub async fn request(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), AppError> {
    let Own {
        user, app, lang, ..
    } = own_account(depot).await?;
    let typed = field(req, "new_email").await;
    let mut errors = Errors::default();
    let new = Email::parse(&typed);
    if let Err(e) = &new {
        errors.add("new_email", message(lang, *e));
    }
    if user.has_password() {
        let given = Password::any(&field(req, "email_password").await);
        if !password_checks(req, &app, &user, &given).await? {
            errors.add("email_password", message(lang, FieldError::PasswordWrong));
        }
    } else if !proven_recently(depot, &user) {
        errors.add("new_email", lang.t().err_sign_in_again);
    }
    let Ok(new) = new else {
        return refuse_email_change(depot, res, &user, typed, errors).await;
    };
    if errors.is_empty() {
        let allowed = limits::account_mail_allowed(
            &app,
            MailKind::EmailChange,
            user.id,
            CHANGE_MAILS_PER_HOUR,
            Duration::from_secs(3600),
        )
        .await?;
        if !allowed {
            errors.add("new_email", lang.t().resend_limited);
        }
    }
    if !errors.is_empty() {
        return refuse_email_change(depot, res, &user, typed, errors).await;
    }
    let now = users::now();
    let link = token_pages::new_link(
        &app,
        Purpose::ChangeEmail,
        user.id,
        new.as_str(),
        "/email/confirm",
        now,
    );
    email_tokens::insert(&app.db, &link.token).await?;
    let mail = views::mail::email_change(lang, &link.url);
    app.enqueue_mail(&NewMessage::new(
        MailKind::EmailChange,
        new.as_str(),
        mail,
        now,
    ))
    .await?;
    audit::record(
        &app.db,
        Some(user.id),
        "account.email_change_requested",
        Some(user.id),
        "",
    )
    .await?;
    session::flash(depot, Notice::EmailChangeSent);
    see_other(res, "/account");
    Ok(())
}

/// 410 under the e-mail change's title: the link is unknown, expired or spent.
fn gone(depot: &mut Depot, res: &mut Response) {
    token_pages::refused(depot, res, StatusCode::GONE, |t| {
        (t.account_email_title, t.email_change_invalid)
    });
}

/// `GET /email/confirm?token=…`: a confirm button (prefetching the link spends nothing).
#[handler]
pub async fn confirm_form(req: &mut Request, depot: &mut Depot, res: &mut Response) {
    token_pages::confirm_page(req, depot, res, views::verify::confirm_change, gone);
}

/// `POST /email/confirm`: the new address is proven; it replaces the old one, which is
/// told of the change.
#[handler]
pub async fn confirm(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), AppError> {
    let token = token_pages::posted_token(req, res).await;
    let app = state(depot).clone();
    let lang = super::lang_of(depot);
    let Some(spent) = token_pages::spend(&app, Purpose::ChangeEmail, &token).await? else {
        gone(depot, res);
        return Ok(());
    };
    let now = users::now();
    let Some(user) = users::find(&app.db, spent.user_id).await? else {
        gone(depot, res);
        return Ok(());
    };
    match users::change_email(&app.db, user.id, &spent.email, now).await {
        Ok(()) => {}
        Err(e) if e.is_unique_violation() => {
            // Another account took the address since the link was sent.
            token_pages::refused(depot, res, StatusCode::CONFLICT, |t| {
                (t.account_email_title, t.email_change_taken)
            });
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    }
    if user.email != spent.email {
        notify(
            &app,
            &user.email,
            MailKind::EmailChangedNotice,
            views::mail::email_changed_notice,
            lang,
        )
        .await?;
    }
    // Links sent to the old address no longer prove anything.
    email_tokens::void(
        &app.db,
        user.id,
        &[Purpose::Verify, Purpose::Reset, Purpose::SignIn],
        now,
    )
    .await?;
    audit::record(
        &app.db,
        Some(user.id),
        "account.email_changed",
        Some(user.id),
        "",
    )
    .await?;
    tracing::info!(user_id = user.id, "e-mail changed");
    session::flash(depot, Notice::EmailChanged);
    if session::user(depot).is_some_and(|u| u.id == user.id) {
        session::update(depot, |d| d.email_unverified = false);
        see_other(res, "/account");
    } else {
        see_other(res, "/login");
    }
    Ok(())
}
