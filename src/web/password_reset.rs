//! "Esqueci minha senha": ask for a link by e-mail, follow it, choose a new password.
//!
//! The request page answers the same, with the same status and in about the same time,
//! whether or not the address has an account and whether or not a limit was reached: the
//! token and the mail are written by a task of their own after the answer is decided. The
//! link (1 hour, single use, only its keyed hash stored) opens a form that carries the
//! token on in a hidden field; pages holding it send `Referrer-Policy: strict-origin`. A
//! reset ends every session of the account and sends the owner a notice; the person then
//! logs in with the new password on `/login` (so a staff second factor still applies).

use salvo::prelude::*;

use super::store_keys::ClientLimit;
use super::{field, form_ctx, limits, refusals, see_other, state, token_pages};
use crate::accounts::email_token::Purpose;
use crate::accounts::fields::Email;
use crate::accounts::password::Password;
use crate::db::audit;
use crate::db::email_tokens;
use crate::db::outbox::{MailKind, NewMessage};
use crate::db::users::{self, User};
use crate::i18n::{Lang, Notice};
use crate::views::forms::{Errors, message};
use crate::views::{self, mail};
use crate::web::error::AppError;
use crate::web::session;
use crate::web::state::AppState;

/// Run `work` (writes that happen only for an existing account) after the answer is
/// decided, so the answer's timing does not tell whether the address has an account.
/// Tried up to three times: requests for one account in quick succession make concurrent
/// transactions on its tokens, and the database may pick one as a deadlock victim. A
/// failure is logged without the address.
pub(super) fn detached<W, F>(what: &'static str, work: W)
where
    W: Fn() -> F + Send + 'static,
    F: std::future::Future<Output = Result<(), AppError>> + Send + 'static,
{
    tokio::spawn(async move {
        for attempt in 1..=3u64 {
            match work().await {
                Ok(()) => return,
                Err(e) if attempt < 3 => {
                    tracing::warn!(what, attempt, error = %e, "e-mail request failed, retrying");
                    tokio::time::sleep(std::time::Duration::from_millis(30 * attempt)).await;
                }
                Err(e) => tracing::error!(what, error = %e, "e-mail request not queued"),
            }
        }
    });
}

/// The account with exactly this canonical address (a collation that equates look-alike
/// letters must not lead to another one).
pub(super) async fn account_of(app: &AppState, email: &Email) -> Result<Option<User>, AppError> {
    Ok(users::find_by_email(&app.db, email.as_str())
        .await?
        .filter(|u| u.email == email.as_str()))
}

/// The `email` field of a request form (forgot password, sign-in code), or `None` after
/// answering 422 with the form (`page`) and the reason by the field.
pub(super) async fn requested_email(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
    page: impl FnOnce(&views::Ctx, &str, &Errors) -> maud::Markup,
) -> Option<Email> {
    let raw = field(req, "email").await;
    match Email::parse(&raw) {
        Ok(e) => Some(e),
        Err(e) => {
            let mut errors = Errors::default();
            errors.add("email", message(super::lang_of(depot), e));
            let c = form_ctx(depot);
            refusals::unprocessable(res, page(&c, &raw, &errors));
            None
        }
    }
}

/// After a password reset: older reset links and sign-in codes stop working (the account
/// page's password change does the same).
async fn void_mail_secrets(app: &AppState, user_id: i64) -> Result<(), AppError> {
    email_tokens::void(
        &app.db,
        user_id,
        &[Purpose::Reset, Purpose::SignIn],
        users::now(),
    )
    .await?;
    Ok(())
}

/// Store a reset token for the account and queue its mail.
async fn queue_reset(
    app: AppState,
    user_id: i64,
    email: String,
    lang: Lang,
) -> Result<(), AppError> {
    let now = users::now();
    let link = token_pages::new_link(
        &app,
        Purpose::Reset,
        user_id,
        &email,
        "/password/reset",
        now,
    );
    email_tokens::insert(&app.db, &link.token).await?;
    let msg = NewMessage::new(
        MailKind::PasswordReset,
        &email,
        mail::password_reset(lang, &link.url),
        now,
    );
    app.enqueue_mail(&msg).await?;
    tracing::info!(user_id, "password reset link queued");
    Ok(())
}

/// `GET /password/forgot`
#[handler]
pub async fn forgot_form(depot: &mut Depot, res: &mut Response) {
    let c = form_ctx(depot);
    res.render(views::Html(views::email_access::forgot(
        &c,
        "",
        &Errors::default(),
    )));
}

/// `POST /password/forgot`: the same page for every well-formed address.
#[handler]
pub async fn forgot(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), AppError> {
    let app = state(depot).clone();
    let lang = super::lang_of(depot);
    let Some(email) = requested_email(req, depot, res, views::email_access::forgot).await else {
        return Ok(());
    };
    if limits::mail_request_allowed(req, &app, ClientLimit::Reset, email.as_str()).await?
        && let Some(user) = account_of(&app, &email).await?
    {
        let app = app.clone();
        detached("password_reset", move || {
            queue_reset(app.clone(), user.id, user.email.clone(), lang)
        });
    }
    let c = form_ctx(depot);
    res.render(views::Html(views::email_access::forgot_sent(&c)));
    Ok(())
}

/// The page for a link that no longer works: 410, with the way to a new one.
fn link_gone(depot: &mut Depot, res: &mut Response) {
    token_pages::gone(depot, res, "/password/forgot", |t| {
        (t.reset_link_invalid, t.reset_ask_again)
    });
}

/// `GET /password/reset?token=…`: the new-password form, if the link still works.
#[handler]
pub async fn reset_form(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), AppError> {
    token_pages::live_page(
        req,
        depot,
        res,
        Purpose::Reset,
        |c, token| views::email_access::reset(c, token, &Errors::default()),
        link_gone,
    )
    .await
}

/// `POST /password/reset`: checks the token (no hashing for a dead one), the policy, then
/// spends the token, sets the password, ends every session and sends the notice.
#[handler]
pub async fn reset(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), AppError> {
    let token = token_pages::posted_token(req, res).await;
    let app = state(depot).clone();
    let lang = super::lang_of(depot);
    // Checked before any hashing: a dead link costs nothing.
    if token_pages::peek(&app, Purpose::Reset, &token)
        .await?
        .is_none()
    {
        link_gone(depot, res);
        return Ok(());
    }
    let new = Password::new_checked(
        &field(req, "password").await,
        &field(req, "password_confirm").await,
    );
    let mut errors = Errors::default();
    let pw_field = refusals::new_password_field(new.as_ref().err());
    let Some(new) = refusals::checked(&mut errors, lang, pw_field, new) else {
        let c = form_ctx(depot);
        refusals::unprocessable(res, views::email_access::reset(&c, &token, &errors));
        return Ok(());
    };
    let hash = app.hasher.hash(&new).await?;
    // Spent only now, by the one request that wins it: a link posted twice at once works once.
    let spent = token_pages::spend(&app, Purpose::Reset, &token).await?;
    let Some(user) = (match spent {
        Some(s) => users::find(&app.db, s.user_id).await?,
        None => None,
    }) else {
        link_gone(depot, res);
        return Ok(());
    };
    users::set_password_hash(&app.db, user.id, &hash).await?;
    // Failed log-ins counted against the old password no longer matter: the owner, who
    // just proved the mailbox, must be able to log in at once from any device.
    users::raise_lockout_epoch(&app.db, user.id).await?;
    session::end_all_for_user(&app.kv, user.id, None).await?;
    if session::user(depot).is_some_and(|u| u.id == user.id) {
        session::log_out(depot);
    }
    void_mail_secrets(&app, user.id).await?;
    super::account::notify(
        &app,
        &user.email,
        MailKind::PasswordChangedNotice,
        mail::password_changed_notice,
        lang,
    )
    .await?;
    audit::record(
        &app.db,
        Some(user.id),
        "account.password_reset",
        Some(user.id),
        "e-mail link",
    )
    .await?;
    tracing::info!(user_id = user.id, "password reset by e-mail link");
    session::flash(depot, Notice::PasswordResetLogIn);
    see_other(res, "/login");
    Ok(())
}
