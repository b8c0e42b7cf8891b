//! A log-in waiting for its second factor: after a staff member's first factor passed,
//! who is logging in, where to go next and how, kept for five minutes in a cookie signed
//! with the server secret and bound to the browser's pre-session nonce.
//!
//! Kept in the browser, not the store, so that no visitor makes the server store anything
//! before the log-in is complete. It grants nothing by itself: only a right code with it
//! starts a session, and wrong codes are counted per account.

use chrono::Utc;
use salvo::http::cookie::{Cookie, SameSite};
use salvo::prelude::*;

use super::hoops;
use super::session;
use super::state::AppState;
use crate::crypto::{constant_time_eq, hmac_hex};

/// How long the code may be typed after the first factor.
pub const PENDING_SECS: i64 = 300;

/// Where the code is asked for.
pub const PAGE: &str = "/login/2fa";

/// A log-in waiting for its code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub user_id: i64,
    pub next: String,
    pub how: String,
}

/// What the request's cookie holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// No cookie, or one this server did not sign for this browser.
    Nothing,
    /// A genuine one whose time ran out.
    Expired,
    Live(Pending),
}

fn cookie_name(app: &AppState) -> String {
    format!("{}_2fa", app.settings.session.cookie())
}

fn mac(key: &[u8], nonce: &str, payload: &str) -> String {
    hmac_hex(
        key,
        &[b"2fa-pending:", nonce.as_bytes(), b"|", payload.as_bytes()],
    )
}

fn cookie(req: &Request, app: &AppState, value: String) -> Cookie<'static> {
    let cfg = &app.settings.session;
    let secure = cfg.secure_cookie || hoops::is_https(req, &app.settings.server.trusted_proxies);
    Cookie::build((cookie_name(app), value))
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .build()
}

/// Remember a log-in waiting for its code (the caller sends the browser to [`PAGE`]).
pub fn start(
    req: &Request,
    depot: &mut Depot,
    res: &mut Response,
    app: &AppState,
    pending: &Pending,
) {
    let nonce = session::pre_session(depot);
    let expires = Utc::now().timestamp() + PENDING_SECS;
    let value = encode(&app.session_key, &nonce, pending, expires);
    let mut c = cookie(req, app, value);
    c.set_max_age(salvo::http::cookie::time::Duration::seconds(PENDING_SECS));
    res.add_cookie(c);
}

/// The cookie's value for `pending` until `expires` (Unix seconds) in the browser with
/// this pre-session nonce: the fields, then their HMAC under the server secret.
pub fn encode(key: &[u8], nonce: &str, pending: &Pending, expires: i64) -> String {
    let payload = format!(
        "{}.{expires}.{}.{}",
        pending.user_id,
        hex::encode(&pending.how),
        hex::encode(&pending.next)
    );
    let sig = mac(key, nonce, &payload);
    format!("{payload}.{sig}")
}

/// The pending log-in the request's cookie names.
pub fn read(req: &Request, depot: &mut Depot, app: &AppState) -> Found {
    let Some(value) = req.cookie(cookie_name(app)).map(|c| c.value().to_string()) else {
        return Found::Nothing;
    };
    let nonce = session::pre_session(depot);
    parse(&app.session_key, &nonce, &value, Utc::now().timestamp())
}

fn parse(key: &[u8], nonce: &str, value: &str, now: i64) -> Found {
    let Some((payload, sig)) = value.rsplit_once('.') else {
        return Found::Nothing;
    };
    if !constant_time_eq(&mac(key, nonce, payload), sig) {
        return Found::Nothing;
    }
    let parts: Vec<&str> = payload.split('.').collect();
    let [user_id, expires, how, next] = parts[..] else {
        return Found::Nothing;
    };
    let text = |h: &str| hex::decode(h).ok().and_then(|b| String::from_utf8(b).ok());
    let (Ok(user_id), Ok(expires), Some(how), Some(next)) = (
        user_id.parse(),
        expires.parse::<i64>(),
        text(how),
        text(next),
    ) else {
        return Found::Nothing;
    };
    if expires <= now {
        return Found::Expired;
    }
    Found::Live(Pending { user_id, next, how })
}

/// Forget the pending log-in (done, or expired).
pub fn clear(req: &Request, res: &mut Response, app: &AppState) {
    let mut c = cookie(req, app, String::new());
    c.make_removal();
    res.add_cookie(c);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(key: &[u8], nonce: &str, payload: &str) -> String {
        format!("{payload}.{}", mac(key, nonce, payload))
    }

    #[test]
    fn genuine_live_and_bound_to_its_browser() {
        let key = b"k".repeat(32);
        let payload = format!(
            "7.1000.{}.{}",
            hex::encode("web"),
            hex::encode("/admin?x=1")
        );
        let value = signed(&key, "nonce-a", &payload);
        assert_eq!(
            parse(&key, "nonce-a", &value, 999),
            Found::Live(Pending {
                user_id: 7,
                next: "/admin?x=1".into(),
                how: "web".into()
            })
        );
        assert_eq!(parse(&key, "nonce-a", &value, 1000), Found::Expired);
        assert_eq!(
            parse(&key, "nonce-b", &value, 999),
            Found::Nothing,
            "another browser"
        );
        assert_eq!(
            parse(&b"j".repeat(32), "nonce-a", &value, 999),
            Found::Nothing
        );
        let forged = value.replacen('7', "8", 1);
        assert_eq!(parse(&key, "nonce-a", &forged, 999), Found::Nothing);
        assert_eq!(parse(&key, "nonce-a", "garbage", 999), Found::Nothing);
    }
}
