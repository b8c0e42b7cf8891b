//! Refusals shared by several handlers: the CSRF refusal, a form shown again with 422,
//! a parsed field's error added by its name, the field a refused new password is shown by, and the log line of a refused request.

use salvo::prelude::*;

use super::page_ctx;
use crate::accounts::fields::FieldError;
use crate::i18n::Lang;
use crate::views;
use crate::views::forms::{Errors, message};
use crate::web::state::AppState;
use crate::web::{hoops, session};

/// Depot key a guard sets to say why it answers 403 (see [`log_refusal`]).
const KIND_KEY: &str = "pesquisa::refusal_kind";

/// Say why the 403 about to be written is given: its log line names this kind.
pub fn mark(depot: &mut Depot, kind: &'static str) {
    depot.insert(KIND_KEY, kind);
}

/// The kind set by [`mark`], or `fallback`.
pub fn kind(depot: &Depot, fallback: &'static str) -> &'static str {
    depot
        .get::<&'static str>(KIND_KEY)
        .copied()
        .unwrap_or(fallback)
}

/// One log line for a refused request, for operators tracing abuse: the client's address
/// (through trusted proxies), the account id if logged in (never the e-mail) and the
/// refusal's kind. It runs inside the request's span, so it carries the request id.
pub fn log_refusal(req: &Request, depot: &Depot, kind: &'static str) {
    let trusted = depot
        .get_typed::<AppState>()
        .ok()
        .map(|s| s.settings.server.trusted_proxies.as_slice())
        .unwrap_or_default();
    let client = hoops::client_ip(req, trusted).map(|ip| ip.to_string());
    tracing::info!(
        client = client.as_deref().unwrap_or("unknown"),
        user_id = session::user(depot).map(|u| u.id),
        kind,
        path = req.uri().path(),
        "request refused"
    );
}

/// 403 with a page that says to reload; the request changed nothing.
pub fn csrf_failed(depot: &mut Depot, res: &mut Response) {
    let page = views::error::csrf(&page_ctx(depot));
    res.status_code(StatusCode::FORBIDDEN);
    res.render(views::Html(page));
}

/// A refused form: 422 and the page shown again.
pub fn unprocessable(res: &mut Response, page: maud::Markup) {
    res.status_code(StatusCode::UNPROCESSABLE_ENTITY);
    res.render(views::Html(page));
}

/// A form page: 200 when `errors` is empty, else 422 (the errors are on the page).
pub fn form_page(res: &mut Response, page: maud::Markup, errors: &Errors) {
    if errors.is_empty() {
        res.render(views::Html(page));
    } else {
        unprocessable(res, page);
    }
}

/// The field a refused new password is shown by: the confirmation when the two differ,
/// else the password itself.
pub fn new_password_field(e: Option<&FieldError>) -> &'static str {
    if matches!(e, Some(FieldError::PasswordMismatch)) {
        "password_confirm"
    } else {
        "password"
    }
}

/// A parsed field's value, or `None` after adding its error by the field `name`.
pub fn checked<T>(
    errors: &mut Errors,
    lang: Lang,
    name: &str,
    r: Result<T, FieldError>,
) -> Option<T> {
    r.map_err(|e| errors.add(name, message(lang, e))).ok()
}
