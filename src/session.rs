//! Sessions: a random id in an `HttpOnly` cookie, the data in the key-value store (Redis
//! in production, so any instance serves any user), with idle and absolute expiry.
//!
//! The store key is a SHA-256 of the cookie value, so reading Redis does not yield usable
//! cookies. A session is created only when a page needs one (a form's CSRF token, a
//! log-in), and its id changes at log-in and log-out. Each user's session keys are also
//! kept in a set, so a password change or account deletion can end all of them.

use std::time::Duration;

use chrono::Utc;
use rand::RngCore;
use salvo::http::cookie::{Cookie, SameSite};
use salvo::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::accounts::Role;
use crate::error::AppError;
use crate::kv::{Kv, KvError};
use crate::web::{hoops, state};

/// An anonymous session only carries a CSRF token; it need not live long.
const ANONYMOUS_TTL: Duration = Duration::from_secs(2 * 3600);
/// Refresh the idle timer at most this often, to save a store write per request.
const TOUCH_EVERY_SECS: i64 = 60;

/// What a session holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionData {
    pub user_id: Option<i64>,
    pub role: Option<Role>,
    pub csrf: String,
    /// Unix seconds.
    pub created: i64,
    pub seen: i64,
    /// Set at log-in when a required document has a version the user has not accepted.
    #[serde(default)]
    pub needs_consent: bool,
    /// A one-time message for the next page (a notice key, not free text).
    #[serde(default)]
    pub flash: Option<String>,
}

impl SessionData {
    fn fresh() -> SessionData {
        let now = Utc::now().timestamp();
        SessionData {
            user_id: None,
            role: None,
            csrf: random_token(),
            created: now,
            seen: now,
            needs_consent: false,
            flash: None,
        }
    }
}

/// The request's session state, kept in the depot between the hoop and the handler.
#[derive(Debug, Default)]
pub struct Current {
    /// The cookie value, when a session exists.
    id: Option<String>,
    data: Option<SessionData>,
    dirty: bool,
    /// Store keys to delete when the response is written (rotated or ended sessions).
    retired: Vec<String>,
    /// Whether the cookie must be (re)sent or removed.
    cookie_changed: bool,
}

/// A logged-in user as the session knows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthUser {
    pub id: i64,
    pub role: Role,
}

/// 256 random bits as hex: session ids, CSRF tokens, draft keys.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn store_key(id: &str) -> String {
    format!("sess:{}", hex::encode(Sha256::digest(id.as_bytes())))
}

fn user_index_key(user_id: i64) -> String {
    format!("user-sessions:{user_id}")
}

/// Compare two strings in time independent of where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    constant_time_eq_bytes(a.as_bytes(), b.as_bytes())
}

/// [`constant_time_eq`] for bytes (password digests).
pub fn constant_time_eq_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn current(depot: &Depot) -> Option<&Current> {
    depot.get_typed::<Current>().ok()
}

fn current_mut(depot: &mut Depot) -> &mut Current {
    if !depot.contains_typed::<Current>() {
        depot.insert_typed(Current::default());
    }
    // Just inserted above when missing, so the lookup cannot fail.
    depot
        .get_typed_mut::<Current>()
        .expect("session state present")
}

/// The session data, if the visitor has a live session.
pub fn data(depot: &Depot) -> Option<&SessionData> {
    current(depot).and_then(|c| c.data.as_ref())
}

/// The logged-in user, if any.
pub fn user(depot: &Depot) -> Option<AuthUser> {
    let d = data(depot)?;
    Some(AuthUser {
        id: d.user_id?,
        role: d.role?,
    })
}

/// The CSRF token for forms, creating an anonymous session when there is none.
pub fn csrf_token(depot: &mut Depot) -> String {
    let cur = current_mut(depot);
    if cur.data.is_none() {
        cur.id = Some(random_token());
        cur.data = Some(SessionData::fresh());
        cur.dirty = true;
        cur.cookie_changed = true;
    }
    cur.data
        .as_ref()
        .map(|d| d.csrf.clone())
        .unwrap_or_default()
}

/// Change the session data (e.g. clear `needs_consent`).
pub fn update(depot: &mut Depot, f: impl FnOnce(&mut SessionData)) {
    let cur = current_mut(depot);
    if let Some(d) = cur.data.as_mut() {
        f(d);
        cur.dirty = true;
    }
}

/// Set a one-time notice shown on the next page.
pub fn flash(depot: &mut Depot, key: &str) {
    csrf_token(depot);
    update(depot, |d| d.flash = Some(key.to_string()));
}

/// Take the one-time notice, if any.
pub fn take_flash(depot: &mut Depot) -> Option<String> {
    let cur = current_mut(depot);
    let flash = cur.data.as_mut().and_then(|d| d.flash.take());
    if flash.is_some() {
        cur.dirty = true;
    }
    flash
}

/// Log the user in under a brand-new session id (the old one is retired: no fixation).
pub fn log_in(depot: &mut Depot, user_id: i64, role: Role, needs_consent: bool) {
    let cur = current_mut(depot);
    if let Some(old) = cur.id.take() {
        cur.retired.push(old);
    }
    let mut data = SessionData::fresh();
    data.user_id = Some(user_id);
    data.role = Some(role);
    data.needs_consent = needs_consent;
    cur.id = Some(random_token());
    cur.data = Some(data);
    cur.dirty = true;
    cur.cookie_changed = true;
}

/// End the session: its data is deleted and the cookie removed.
pub fn log_out(depot: &mut Depot) {
    let cur = current_mut(depot);
    if let Some(old) = cur.id.take() {
        cur.retired.push(old);
    }
    cur.data = None;
    cur.dirty = false;
    cur.cookie_changed = true;
}

/// End every session of `user_id` except the request's own (after a password change,
/// deletion or role change).
pub async fn end_all_for_user(kv: &Kv, user_id: i64, keep: Option<&str>) -> Result<(), KvError> {
    let index = user_index_key(user_id);
    let keep = keep.map(store_key);
    for key in kv.set_members(&index).await? {
        if Some(&key) != keep.as_ref() {
            kv.delete(&key).await?;
            kv.set_remove(&index, &key).await?;
        }
    }
    Ok(())
}

/// The request's own session cookie value, for [`end_all_for_user`]'s `keep`.
pub fn own_id(depot: &Depot) -> Option<String> {
    current(depot).and_then(|c| c.id.clone())
}

/// Hoop: load the session named by the cookie, run the handler, then save what changed,
/// retire rotated ids and write the cookie.
#[handler]
pub async fn hoop(req: &mut Request, depot: &mut Depot, res: &mut Response, ctrl: &mut FlowCtrl) {
    let app = state(depot).clone();
    let cfg = &app.settings.session;
    let idle = Duration::from_secs(cfg.idle_timeout_mins * 60);
    let absolute = Duration::from_secs(cfg.absolute_timeout_hours * 3600);
    let now = Utc::now().timestamp();

    let mut cur = Current::default();
    if let Some(id) = req.cookie(&cfg.cookie_name).map(|c| c.value().to_string()) {
        match app.kv.get(&store_key(&id)).await {
            Ok(Some(text)) => match serde_json::from_str::<SessionData>(&text) {
                Ok(data) if is_live(&data, now, idle, absolute) => {
                    cur.dirty = now - data.seen >= TOUCH_EVERY_SECS;
                    cur.id = Some(id);
                    cur.data = Some(data);
                }
                _ => {
                    // Expired or unreadable: forget it and drop the cookie.
                    cur.retired.push(id);
                    cur.cookie_changed = true;
                }
            },
            Ok(None) => cur.cookie_changed = true,
            Err(e) => {
                AppError::from(e).write(req, depot, res).await;
                ctrl.skip_rest();
                return;
            }
        }
    }
    depot.insert_typed(cur);

    ctrl.call_next(req, depot, res).await;

    let Ok(cur) = depot.remove_typed::<Current>() else {
        return;
    };
    if let Err(e) = save(&app.kv, &cur, now, idle, absolute).await {
        AppError::from(e).write(req, depot, res).await;
        return;
    }
    if cur.cookie_changed {
        let secure = hoops::is_https(req, &app.settings.server.trusted_proxies);
        match (&cur.id, &cur.data) {
            (Some(id), Some(data)) => {
                let mut cookie = Cookie::build((cfg.cookie_name.clone(), id.clone()))
                    .path("/")
                    .http_only(true)
                    .secure(secure)
                    .same_site(SameSite::Lax);
                if data.user_id.is_some() {
                    let max_age =
                        salvo::http::cookie::time::Duration::seconds(absolute.as_secs() as i64);
                    cookie = cookie.max_age(max_age);
                }
                res.add_cookie(cookie.build());
            }
            _ => {
                let mut gone = Cookie::build((cfg.cookie_name.clone(), ""))
                    .path("/")
                    .http_only(true)
                    .secure(secure)
                    .same_site(SameSite::Lax)
                    .build();
                gone.make_removal();
                res.add_cookie(gone);
            }
        }
    }
}

fn is_live(data: &SessionData, now: i64, idle: Duration, absolute: Duration) -> bool {
    let idle_ok = now - data.seen < idle.as_secs() as i64;
    let limit = if data.user_id.is_some() {
        absolute
    } else {
        ANONYMOUS_TTL
    };
    idle_ok && now - data.created < limit.as_secs() as i64
}

async fn save(
    kv: &Kv,
    cur: &Current,
    now: i64,
    idle: Duration,
    absolute: Duration,
) -> Result<(), KvError> {
    for old in &cur.retired {
        kv.delete(&store_key(old)).await?;
    }
    let (Some(id), Some(data)) = (&cur.id, &cur.data) else {
        return Ok(());
    };
    if !cur.dirty {
        return Ok(());
    }
    let mut data = data.clone();
    data.seen = now;
    let limit = if data.user_id.is_some() {
        absolute
    } else {
        ANONYMOUS_TTL
    };
    let left = (data.created + limit.as_secs() as i64 - now).max(1) as u64;
    let ttl = idle.min(Duration::from_secs(left));
    let key = store_key(id);
    let text = serde_json::to_string(&data).map_err(|e| KvError(e.to_string()))?;
    kv.set(&key, &text, ttl).await?;
    if let Some(user_id) = data.user_id {
        kv.set_add(&user_index_key(user_id), &key, absolute).await?;
    }
    Ok(())
}

/// Hoop: refuse a state-changing request whose `csrf_token` field does not match the
/// session's token, with 403 and a page that says to reload. Nothing runs after it.
#[handler]
pub async fn csrf_guard(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
    ctrl: &mut FlowCtrl,
) {
    use salvo::http::Method;
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return;
    }
    let expected = data(depot).map(|d| d.csrf.clone());
    // A questionnaire page sent after the session expired: rescue the typed answers.
    if expected.is_none() && req.uri().path().starts_with("/survey/") {
        if let Err(e) = crate::web::survey::rescue_expired_post(req, depot, res).await {
            e.write(req, depot, res).await;
        }
        ctrl.skip_rest();
        return;
    }
    let given = req.form::<String>("csrf_token").await;
    let ok = matches!((&expected, &given), (Some(e), Some(g)) if constant_time_eq(e, g));
    if !ok {
        tracing::info!(has_session = expected.is_some(), "CSRF check failed");
        crate::web::pages::csrf_failed(depot, res);
        ctrl.skip_rest();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_rules() {
        let idle = Duration::from_secs(600);
        let abs = Duration::from_secs(3600);
        let mut d = SessionData::fresh();
        let t = d.created;
        assert!(is_live(&d, t + 10, idle, abs));
        assert!(!is_live(&d, t + 601, idle, abs), "idle");
        d.user_id = Some(1);
        d.seen = t + 3590;
        assert!(is_live(&d, t + 3595, idle, abs));
        assert!(!is_live(&d, t + 3601, idle, abs), "absolute");
    }

    #[test]
    fn tokens_compare_in_constant_time() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "abcd"));
        assert_ne!(random_token(), random_token());
        assert_eq!(random_token().len(), 64);
    }
}
