//! Devices an account has logged in from before (OWASP's "device cookies"). Each
//! successful log-in sets a cookie signed for that account; when distributed guessing has
//! used up the account's ceiling of failed log-ins, a browser holding it may still try, and
//! its failures are counted apart from the network it shares with strangers. So a stranger
//! cannot keep the owner out, and the ceiling still stops the stranger.
//!
//! The cookie holds a random nonce and an HMAC over the account id and the nonce under the
//! server secret: it names no account and cannot be made for another one.

use salvo::http::cookie::{Cookie, SameSite};
use salvo::prelude::*;

use crate::crypto::{constant_time_eq, hmac_hex, random_token};
use crate::web::hoops;
use crate::web::state::AppState;

/// How long a browser stays a known device without logging in again.
const MAX_AGE_DAYS: i64 = 180;

/// Beside the session cookie, with its `__Host-` prefix when the site has one.
fn cookie_name(app: &AppState) -> String {
    format!("{}_dev", app.settings.session.cookie())
}

fn signature(app: &AppState, account_id: i64, nonce: &str) -> String {
    hmac_hex(
        &app.session_key,
        &[
            b"known-device:",
            account_id.to_string().as_bytes(),
            b":",
            nonce.as_bytes(),
        ],
    )
}

/// The nonce of the request's device cookie when it was signed for this account.
pub fn recognised(req: &Request, app: &AppState, account_id: i64) -> Option<String> {
    let cookie = req.cookie(cookie_name(app))?;
    let (nonce, mac) = cookie.value().split_once('.')?;
    let well_formed = nonce.len() == 64 && nonce.bytes().all(|b| b.is_ascii_hexdigit());
    (well_formed && constant_time_eq(mac, &signature(app, account_id, nonce)))
        .then(|| nonce.to_string())
}

/// After a successful log-in: mark this browser as a known device of the account (the
/// same nonce again when it already was one).
pub fn remember(
    req: &Request,
    res: &mut Response,
    app: &AppState,
    account_id: i64,
    nonce: Option<String>,
) {
    let nonce = nonce.unwrap_or_else(random_token);
    let value = format!("{nonce}.{}", signature(app, account_id, &nonce));
    let cookie = Cookie::build((cookie_name(app), value))
        .path("/")
        .http_only(true)
        .secure(
            app.settings.session.secure_cookie
                || hoops::is_https(req, &app.settings.server.trusted_proxies),
        )
        .same_site(SameSite::Strict)
        .max_age(salvo::http::cookie::time::Duration::days(MAX_AGE_DAYS))
        .build();
    res.add_cookie(cookie);
}
