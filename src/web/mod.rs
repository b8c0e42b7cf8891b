//! HTTP handlers by area, and the hoops (middleware) every request passes through.

pub mod account;
pub mod admin;
pub mod assets;
pub mod auth;
pub mod email_change;
pub mod email_code;
pub mod error;
pub mod guards;
pub mod health;
pub mod home;
pub mod hoops;
pub mod known_device;
pub mod limits;
pub mod metrics;
pub mod oidc;
pub mod password_reset;
pub mod refusals;
pub mod results;
pub mod second_factor;
pub mod session;
pub mod session_start;
pub mod sign_up;
pub mod state;
pub mod store_keys;
pub mod survey;
pub mod token_pages;
pub mod two_factor;
pub mod verify;

use salvo::prelude::*;

use crate::i18n::Lang;
use crate::views::Ctx;
use state::AppState;

/// The language chosen for this request by [`hoops::language`]; Portuguese if unset.
pub fn lang_of(depot: &Depot) -> Lang {
    depot
        .get::<Lang>(hoops::LANG_KEY)
        .copied()
        .unwrap_or(Lang::Pt)
}

/// The configured time zone of the times on the pages (the default one on a response
/// made before the state was injected).
pub fn zone_of(depot: &Depot) -> crate::locale::Zone {
    depot
        .get_typed::<AppState>()
        .map(|s| s.settings.survey.zone())
        .unwrap_or_default()
}

/// The application state injected by the router.
pub fn state(depot: &Depot) -> &AppState {
    // The router always injects the state as its first hoop; a handler running without it
    // is a wiring bug that no request can trigger.
    depot
        .get_typed::<AppState>()
        .expect("AppState is injected by router::service")
}

/// The context of a page with a form: it carries a CSRF token (for an anonymous visitor,
/// one signed over the pre-session cookie; nothing is stored).
pub fn form_ctx(depot: &mut Depot) -> Ctx {
    page_ctx_with(depot, true)
}

/// The context of a page without a form of its own; logged-in users still get a CSRF
/// token, for the log-out button.
pub fn page_ctx(depot: &mut Depot) -> Ctx {
    page_ctx_with(depot, false)
}

fn page_ctx_with(depot: &mut Depot, form: bool) -> Ctx {
    let lang = lang_of(depot);
    let user = session::user(depot);
    let csrf = (form || user.is_some()).then(|| session::csrf_token(depot));
    let notice = session::take_flash(depot);
    let unverified = user.is_some() && session::data(depot).is_some_and(|d| d.email_unverified);
    Ctx {
        lang,
        user,
        csrf,
        notice,
        unverified,
        zone: zone_of(depot),
    }
}

/// A form field as text ("" when absent).
pub async fn field(req: &mut Request, name: &str) -> String {
    req.form::<String>(name).await.unwrap_or_default()
}

/// Whether a checkbox was ticked.
pub async fn ticked(req: &mut Request, name: &str) -> bool {
    req.form::<String>(name).await.is_some()
}

/// A `next` target that stays on this site: a path, never `//host` or a full URL.
pub fn safe_next(next: &str) -> Option<String> {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control)
        && next.len() <= 512;
    ok.then(|| next.to_string())
}

/// The `next` a page was opened with (`?next=`) when it stays on this site, else "".
pub fn next_query(req: &Request) -> String {
    req.query::<String>("next")
        .and_then(|n| safe_next(&n))
        .unwrap_or_default()
}

/// The `next` a form carries on (its hidden field) when it stays on this site, else "".
pub async fn next_field(req: &mut Request) -> String {
    safe_next(&field(req, "next").await).unwrap_or_default()
}

/// 303 See Other: after a successful POST, the browser GETs the target.
pub fn see_other(res: &mut Response, to: &str) {
    res.render(Redirect::other(to));
}

#[cfg(test)]
mod tests {
    #[test]
    fn next_must_stay_local() {
        assert_eq!(super::safe_next("/account"), Some("/account".into()));
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil",
            "account",
            "",
        ] {
            assert_eq!(super::safe_next(bad), None, "{bad}");
        }
    }
}
