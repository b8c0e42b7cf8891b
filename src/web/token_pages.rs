//! What every page behind an e-mailed link shares (verification, password reset, sign-in
//! link, e-mail change): how a link is issued, how its token must look, how it is read,
//! peeked at and spent, the page for a link that no longer works, and what the page must
//! not leak.

use chrono::NaiveDateTime;
use salvo::http::header::{self, HeaderValue};
use salvo::prelude::*;

use super::{field, form_ctx};
use crate::accounts::email_token::{self, Purpose};
use crate::db::DbError;
use crate::db::email_tokens::{self, NewToken, Spent};
use crate::db::users;
use crate::i18n::Texts;
use crate::views::{self, Ctx};
use crate::web::error::AppError;
use crate::web::state::AppState;

/// A new link of some purpose for an account, to be mailed.
pub struct NewLink {
    /// The row to store (the secrets only as keyed hashes).
    pub token: NewToken,
    /// What the mail carries: `path?token=…` on this site.
    pub url: String,
    /// The 6-digit code beside the link (sign-in only).
    pub code: Option<String>,
}

/// Issue a link of `purpose` for `user_id`, going to `email` at `now`, that opens `path`.
pub fn new_link(
    app: &AppState,
    purpose: Purpose,
    user_id: i64,
    email: &str,
    path: &str,
    now: NaiveDateTime,
) -> NewLink {
    let issued = email_token::issue(&app.session_key, purpose, user_id, now);
    NewLink {
        token: NewToken::issued(user_id, email, &issued, now),
        url: format!(
            "{}{path}?token={}",
            app.settings.public_base_url(),
            issued.link
        ),
        code: issued.code,
    }
}

/// Pages whose URL or form holds a token: a `Referer` from them names the site only, never
/// the path and query that hold the token, and no cache keeps them. Not `no-referrer`:
/// under it browsers send `Origin: null` with the page's own form POST, which the CSRF
/// guard rightly refuses as cross-site.
pub fn protect(res: &mut Response) {
    let headers = res.headers_mut();
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// A link secret as this server makes them (64 hex digits); anything else is refused
/// before any look-up.
pub fn well_formed(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The opening of a page the mailed link opens (`GET …?token=`): the page protected, and
/// the token as given ("" when absent).
pub fn opened_token(req: &Request, res: &mut Response) -> String {
    protect(res);
    req.query::<String>("token").unwrap_or_default()
}

/// `GET` behind an account link (verification, e-mail change): `page`, one button that
/// posts the token back, so a mail scanner's prefetch spends nothing; `refuse` answers a
/// malformed token.
pub fn confirm_page(
    req: &Request,
    depot: &mut Depot,
    res: &mut Response,
    page: fn(&Ctx, &str) -> maud::Markup,
    refuse: fn(&mut Depot, &mut Response),
) {
    let token = opened_token(req, res);
    if !well_formed(&token) {
        refuse(depot, res);
        return;
    }
    let c = form_ctx(depot);
    res.render(views::Html(page(&c, &token)));
}

/// `GET` behind an access link (sign-in link, password reset): `page` with the token in
/// its form while the link of `purpose` is live (not spent by looking), else `gone`.
pub async fn live_page(
    req: &Request,
    depot: &mut Depot,
    res: &mut Response,
    purpose: Purpose,
    page: impl FnOnce(&Ctx, &str) -> maud::Markup,
    gone: fn(&mut Depot, &mut Response),
) -> Result<(), AppError> {
    let token = opened_token(req, res);
    let app = super::state(depot).clone();
    if peek(&app, purpose, &token).await?.is_none() {
        gone(depot, res);
        return Ok(());
    }
    let c = form_ctx(depot);
    res.render(views::Html(page(&c, &token)));
    Ok(())
}

/// The opening of the POST a link page's form makes: the page protected, and the token
/// from its hidden field ("" when absent).
pub async fn posted_token(req: &mut Request, res: &mut Response) -> String {
    protect(res);
    field(req, "token").await
}

fn link_hash(app: &AppState, purpose: Purpose, token: &str) -> String {
    email_token::hash_link(&app.session_key, purpose, token)
}

/// The account a live link of `purpose` is for, without spending it; `None` for a
/// malformed (not looked up), unknown, expired or spent one.
pub async fn peek(app: &AppState, purpose: Purpose, token: &str) -> Result<Option<i64>, DbError> {
    if !well_formed(token) {
        return Ok(None);
    }
    let hash = link_hash(app, purpose, token);
    email_tokens::peek_link(&app.db, purpose, &hash, users::now()).await
}

/// Spend a link of `purpose`: only the one request that wins it learns whose it was and
/// which address it went to; `None` for a malformed (not looked up), unknown, expired or
/// spent one.
pub async fn spend(
    app: &AppState,
    purpose: Purpose,
    token: &str,
) -> Result<Option<Spent>, DbError> {
    if !well_formed(token) {
        return Ok(None);
    }
    let hash = link_hash(app, purpose, token);
    email_tokens::spend_link(&app.db, purpose, &hash, users::now()).await
}

/// 410 for a link of the e-mail access pages (sign-in link, password reset) that no longer
/// works: `texts` picks the message and the label of the way to a new one, at `again_href`.
pub fn gone(
    depot: &mut Depot,
    res: &mut Response,
    again_href: &str,
    texts: impl FnOnce(&'static Texts) -> (&'static str, &'static str),
) {
    let c = form_ctx(depot);
    let (message, again_label) = texts(c.lang.t());
    res.status_code(StatusCode::GONE);
    res.render(views::Html(views::email_access::link_invalid(
        &c,
        message,
        again_href,
        again_label,
    )));
}

/// The refusal of an account link (verification, e-mail change) with `status`: `texts`
/// picks the page's title and what it says; the page offers the log-in.
pub fn refused(
    depot: &mut Depot,
    res: &mut Response,
    status: StatusCode,
    texts: impl FnOnce(&'static Texts) -> (&'static str, &'static str),
) {
    let c = form_ctx(depot);
    let (title, text) = texts(c.lang.t());
    res.status_code(status);
    res.render(views::Html(views::verify::link_invalid(&c, title, text)));
}
