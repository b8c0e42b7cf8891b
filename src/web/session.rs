//! Sessions: a random id in an `HttpOnly` cookie, the data in the key-value store (Redis
//! in production, so any instance serves any user), with idle and absolute expiry.
//!
//! The store key is a SHA-256 of the cookie value, so reading Redis does not yield usable
//! cookies. A session is created only at log-in (and sign-up), and its id changes at
//! log-in and log-out. Each user's session keys are also kept in a set, so a password
//! change or account deletion can end all of them.
//!
//! Anonymous visitors make no server state, so no amount of anonymous traffic can fill
//! the store or push live sessions out of it. Their forms carry a CSRF token signed with
//! the server secret over a random nonce kept in a pre-session cookie (the signed
//! double-submit pattern), and a one-time notice for them ("you have logged out") travels
//! in a cookie naming a known notice. A session's own CSRF token is likewise an HMAC of
//! its id, so a form posted after its session expired can still be proven to come from
//! that browser (see [`proves_expired_session`]).

use std::time::Duration;

use chrono::Utc;
use salvo::http::cookie::{Cookie, CookieBuilder, SameSite};
use salvo::prelude::*;
use serde::{Deserialize, Serialize};

use crate::accounts::{AuthUser, Role};
use crate::crypto::hmac_hex;
use crate::crypto::{constant_time_eq, random_token};
use crate::i18n::Notice;
use crate::kv::{Kv, KvError};
use crate::web::store_keys::{session as store_key, user_sessions as user_index_key};
use crate::web::{hoops, state};

/// A session without a user (none are made now; older ones may still be stored) need
/// not live long.
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
    /// The account's e-mail is not verified yet: pages remind the respondent.
    #[serde(default)]
    pub email_unverified: bool,
    /// The log-in was confirmed with a second factor (or the factor was set up in this
    /// session): staff pages require it of accounts that have one.
    #[serde(default)]
    pub second_factor: bool,
}

impl SessionData {
    fn fresh(csrf: String) -> SessionData {
        let now = Utc::now().timestamp();
        SessionData {
            user_id: None,
            role: None,
            csrf,
            created: now,
            seen: now,
            needs_consent: false,
            flash: None,
            email_unverified: false,
            second_factor: false,
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
    /// Only the idle timer is due for a refresh: a failure to store that is logged, not
    /// shown (the session still ends on time, just earlier than it could have).
    touch: bool,
    /// Store keys to delete when the response is written (rotated or ended sessions).
    retired: Vec<String>,
    /// Ended sessions of a user to take out of that user's index: (user id, cookie id).
    unindex: Vec<(i64, String)>,
    /// The session was made by this request (log-in): it is written unconditionally and
    /// indexed. Any other is only rewritten while it still exists, so a request that was
    /// running when all of its user's sessions were ended does not bring its own back.
    fresh: bool,
    /// Whether the cookie must be (re)sent or removed.
    cookie_changed: bool,
    /// The id a cookie named although its session is gone (expired or ended).
    expired: Option<String>,
    /// The pre-session nonce anonymous forms are signed against, and whether it is new
    /// (its cookie must be set).
    pre: Option<String>,
    pre_new: bool,
    /// An anonymous one-time notice: the one the request's cookie named, and the one to
    /// send; `notice_taken` removes the cookie.
    notice_in: Option<Notice>,
    notice_out: Option<Notice>,
    notice_taken: bool,
    /// A cross-site request: nothing is stored and no cookie is set or removed.
    frozen: bool,
    /// The request committed its work (a sign-up): should its new session fail to be
    /// stored, the visitor is sent to log in with this notice, not told it failed.
    committed: Option<Notice>,
}

impl Current {
    /// Retire the current session: its key is deleted and taken out of its user's index
    /// when the response is written.
    fn retire(&mut self) {
        if let Some(old) = self.id.take() {
            if let Some(user_id) = self.data.as_ref().and_then(|d| d.user_id) {
                self.unindex.push((user_id, old.clone()));
            }
            self.retired.push(old);
        }
        self.fresh = false;
    }
}

/// The CSRF token of the session with this id.
fn session_csrf(key: &[u8], id: &str) -> String {
    hmac_hex(key, &[b"csrf-session:", id.as_bytes()])
}

/// The CSRF token of anonymous forms in the browser holding this pre-session nonce.
fn anonymous_csrf(key: &[u8], nonce: &str) -> String {
    hmac_hex(key, &[b"csrf-anonymous:", nonce.as_bytes()])
}

/// The cookie holding the pre-session nonce.
fn pre_cookie(session_cookie: &str) -> String {
    format!("{session_cookie}_pre")
}

/// The cookie holding an anonymous one-time notice.
fn notice_cookie(session_cookie: &str) -> String {
    format!("{session_cookie}_notice")
}

/// A token made by this server: 64 hex digits (anything else in a cookie is ignored).
fn is_token(value: &str) -> bool {
    value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit())
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

/// The CSRF token for forms: the session's, or for an anonymous visitor one signed over
/// the pre-session nonce (made, with its cookie, when the browser has none). Stores
/// nothing.
pub fn csrf_token(depot: &mut Depot) -> String {
    let key = state(depot).session_key.clone();
    let cur = current_mut(depot);
    if let Some(d) = &cur.data {
        return d.csrf.clone();
    }
    let nonce = cur.pre.get_or_insert_with(|| {
        cur.pre_new = true;
        random_token()
    });
    anonymous_csrf(&key, nonce)
}

/// This browser's pre-session nonce, made (with its cookie) when it has none: what state
/// kept before log-in is bound to (an OpenID Connect log-in in progress, a pending
/// second factor).
pub fn pre_session(depot: &mut Depot) -> String {
    let cur = current_mut(depot);
    cur.pre
        .get_or_insert_with(|| {
            cur.pre_new = true;
            random_token()
        })
        .clone()
}

/// The pre-session nonce the request's cookie carries, if any (none is made).
pub fn existing_pre_session(depot: &Depot) -> Option<String> {
    current(depot).and_then(|c| c.pre.clone())
}

/// Whether `given` is the CSRF token of the session the request's cookie named before it
/// expired: the form was made for this browser's session, and was posted after its end.
pub fn proves_expired_session(depot: &Depot, given: &str) -> bool {
    let key = &state(depot).session_key;
    current(depot)
        .and_then(|c| c.expired.as_deref())
        .is_some_and(|id| constant_time_eq(&session_csrf(key, id), given))
}

/// The id of the session the request's cookie named although it is gone.
pub fn expired_id(depot: &Depot) -> Option<&str> {
    current(depot).and_then(|c| c.expired.as_deref())
}

/// A cross-site request: from here on nothing is stored and no cookie is touched, so a
/// forged request can neither fill the store nor replace the victim's cookies.
pub fn freeze(depot: &mut Depot) {
    current_mut(depot).frozen = true;
}

/// Change the session data (e.g. clear `needs_consent`).
pub fn update(depot: &mut Depot, f: impl FnOnce(&mut SessionData)) {
    let cur = current_mut(depot);
    if let Some(d) = cur.data.as_mut() {
        f(d);
        cur.dirty = true;
    }
}

/// Set a one-time notice shown on the next page: in the session, or for an anonymous
/// visitor in a cookie.
pub fn flash(depot: &mut Depot, notice: Notice) {
    let cur = current_mut(depot);
    match cur.data.as_mut() {
        Some(d) => {
            d.flash = Some(notice.key().to_string());
            cur.dirty = true;
        }
        None => cur.notice_out = Some(notice),
    }
}

/// Take the one-time notice, if any (a stored key that names no notice is dropped).
pub fn take_flash(depot: &mut Depot) -> Option<Notice> {
    let cur = current_mut(depot);
    if let Some(flash) = cur.data.as_mut().and_then(|d| d.flash.take()) {
        cur.dirty = true;
        return Notice::from_key(&flash);
    }
    let notice = cur.notice_in.take();
    cur.notice_taken |= notice.is_some();
    notice
}

/// The request's work is committed: if the session cannot be stored, answer with a
/// redirect to the log-in page and `notice` instead of a 503 that would hide it.
pub fn committed(depot: &mut Depot, notice: Notice) {
    current_mut(depot).committed = Some(notice);
}

/// Log the user in under a brand-new session id (the old one is retired: no fixation).
pub fn log_in(depot: &mut Depot, user_id: i64, role: Role, needs_consent: bool) {
    let key = state(depot).session_key.clone();
    state(depot).metrics.session_created();
    let cur = current_mut(depot);
    cur.retire();
    let id = random_token();
    let mut data = SessionData::fresh(session_csrf(&key, &id));
    data.user_id = Some(user_id);
    data.role = Some(role);
    data.needs_consent = needs_consent;
    cur.id = Some(id);
    cur.data = Some(data);
    cur.dirty = true;
    cur.fresh = true;
    cur.cookie_changed = true;
}

/// The session began (at log-in or sign-up) less than `secs` seconds ago.
pub fn signed_in_within(depot: &Depot, secs: i64) -> bool {
    data(depot).is_some_and(|d| Utc::now().timestamp() - d.created < secs)
}

/// End the session: its data is deleted and the cookie removed.
pub fn log_out(depot: &mut Depot) {
    let cur = current_mut(depot);
    cur.retire();
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

/// How many sessions of the account are open now (the index may still name some that
/// expired; those are not counted).
pub async fn count_for_user(kv: &Kv, user_id: i64) -> Result<usize, KvError> {
    let mut open = 0;
    for key in kv.set_members(&user_index_key(user_id)).await? {
        if kv.exists(&key).await? {
            open += 1;
        }
    }
    Ok(open)
}

/// The request's own session cookie value, for [`end_all_for_user`]'s `keep`.
pub fn own_id(depot: &Depot) -> Option<String> {
    current(depot).and_then(|c| c.id.clone())
}

/// Hoop: load the session named by the cookie, run the handler, then save what changed,
/// retire rotated ids and write the cookie. Every page below it is sent `no-store`.
#[handler]
pub async fn hoop(req: &mut Request, depot: &mut Depot, res: &mut Response, ctrl: &mut FlowCtrl) {
    let app = state(depot).clone();
    let cfg = &app.settings.session;
    let timeouts = Timeouts::of(cfg);
    let now = Utc::now().timestamp();

    let cookie_name = cfg.cookie();
    let mut cur = Current::default();
    if let Some(id) = req.cookie(&cookie_name).map(|c| c.value().to_string()) {
        match app.kv.get(&store_key(&id)).await {
            Ok(Some(text)) => match serde_json::from_str::<SessionData>(&text) {
                Ok(data) if is_live(&data, now, &timeouts) => {
                    cur.touch = now - data.seen >= TOUCH_EVERY_SECS;
                    cur.id = Some(id);
                    cur.data = Some(data);
                }
                parsed => {
                    // Expired or unreadable: forget it and drop the cookie.
                    if let Some(user_id) = parsed.ok().and_then(|d| d.user_id) {
                        cur.unindex.push((user_id, id.clone()));
                    }
                    cur.retired.push(id.clone());
                    cur.cookie_changed = true;
                    cur.expired = Some(id);
                }
            },
            Ok(None) => {
                cur.cookie_changed = true;
                cur.expired = Some(id);
            }
            Err(e) => {
                store_unavailable(&app, res, &e);
                ctrl.skip_rest();
                return;
            }
        }
    }
    cur.pre = req
        .cookie(pre_cookie(&cookie_name))
        .map(|c| c.value().to_string())
        .filter(|v| is_token(v));
    cur.notice_in = req
        .cookie(notice_cookie(&cookie_name))
        .and_then(|c| Notice::from_key(c.value()));
    depot.insert_typed(cur);

    ctrl.call_next(req, depot, res).await;
    // Every page here is made for one visitor (their answers and data, a CSRF token bound
    // to their cookie), so no cache, shared or the browser's, may keep it: a page behind a
    // log-in must not come back from the back button after log-out on a shared computer.
    res.headers_mut().insert(
        salvo::http::header::CACHE_CONTROL,
        salvo::http::HeaderValue::from_static("no-store"),
    );

    let Ok(mut cur) = depot.remove_typed::<Current>() else {
        return;
    };
    if cur.frozen {
        return;
    }
    match save(&app.kv, &cur, now, &timeouts).await {
        Ok(Saved::Stored) => {}
        Ok(Saved::Gone) => {
            // Ended while this request ran: it stays ended, and the browser forgets it.
            cur.id = None;
            cur.data = None;
            cur.cookie_changed = true;
        }
        Err(e) if cur.dirty && cur.committed.is_some() => {
            store_failed(&app, &e);
            res.replace_body(salvo::http::ResBody::None);
            res.status_code(StatusCode::SEE_OTHER);
            res.headers_mut().insert(
                salvo::http::header::LOCATION,
                salvo::http::HeaderValue::from_static("/login"),
            );
            cur.id = None;
            cur.data = None;
            cur.cookie_changed = true;
            cur.notice_out = cur.committed;
        }
        Err(e) => {
            if cur.dirty || !cur.retired.is_empty() {
                store_unavailable(&app, res, &e);
                return;
            }
            if let Some(skipped) = TOUCH_FAILED_LOG.admit(&e.to_string()) {
                tracing::warn!(error = %e, skipped, "session idle timer not refreshed");
            }
        }
    }
    // `__Host-` cookies must be `Secure`; otherwise follow the request's scheme.
    let secure = cfg.secure_cookie || hoops::is_https(req, &app.settings.server.trusted_proxies);
    let base = |name: String, value: String| -> CookieBuilder<'static> {
        Cookie::build((name, value))
            .path("/")
            .http_only(true)
            .secure(secure)
            .same_site(SameSite::Lax)
    };
    let removal = |name: String| {
        let mut gone = base(name, String::new()).build();
        gone.make_removal();
        gone
    };
    if cur.cookie_changed {
        match (&cur.id, &cur.data) {
            (Some(id), Some(data)) => {
                let mut cookie = base(cookie_name.clone(), id.clone());
                if data.user_id.is_some() {
                    let max_age = salvo::http::cookie::time::Duration::seconds(
                        timeouts.absolute.as_secs() as i64,
                    );
                    cookie = cookie.max_age(max_age);
                }
                res.add_cookie(cookie.build());
            }
            _ => {
                res.add_cookie(removal(cookie_name.clone()));
            }
        }
    }
    if let (true, Some(nonce)) = (cur.pre_new, &cur.pre) {
        res.add_cookie(base(pre_cookie(&cookie_name), nonce.clone()).build());
    }
    match (&cur.notice_out, cur.notice_taken) {
        (Some(notice), _) => {
            res.add_cookie(base(notice_cookie(&cookie_name), notice.key().into()).build());
        }
        (None, true) => {
            res.add_cookie(removal(notice_cookie(&cookie_name)));
        }
        (None, false) => {}
    }
}

/// The session store failed: 503 with any page the handler made dropped, so the error
/// catcher writes the error page (with `Retry-After`) and this module needs none.
fn store_unavailable(app: &state::AppState, res: &mut Response, e: &KvError) {
    store_failed(app, e);
    res.replace_body(salvo::http::ResBody::None);
    res.status_code(StatusCode::SERVICE_UNAVAILABLE);
}

/// The session store failed a write: counted, and logged once a minute per cause (a full
/// or stopped Redis fails every request).
fn store_failed(app: &state::AppState, e: &KvError) {
    app.metrics.backend_error("sessions");
    if let Some(skipped) = STORE_FAILED_LOG.admit(&e.to_string()) {
        tracing::warn!(backend = "sessions", error = %e, skipped, "backend unavailable");
    }
}

static STORE_FAILED_LOG: crate::telemetry::Throttle =
    crate::telemetry::Throttle::new(Duration::from_secs(60));
static TOUCH_FAILED_LOG: crate::telemetry::Throttle =
    crate::telemetry::Throttle::new(Duration::from_secs(60));

/// How long sessions live: unused, and at most.
struct Timeouts {
    idle: Duration,
    /// Staff (analysts and admins) reach personal data and exports, so an unattended
    /// staff session ends sooner than a respondent's.
    staff_idle: Duration,
    absolute: Duration,
}

impl Timeouts {
    fn of(cfg: &crate::config::SessionSettings) -> Timeouts {
        Timeouts {
            idle: Duration::from_secs(cfg.idle_timeout_mins * 60),
            staff_idle: Duration::from_secs(cfg.staff_idle_timeout_mins * 60),
            absolute: Duration::from_secs(cfg.absolute_timeout_hours * 3600),
        }
    }

    /// The idle timeout of this session, by the role it holds.
    fn idle_for(&self, data: &SessionData) -> Duration {
        if data.role.is_some_and(Role::is_staff) {
            self.staff_idle
        } else {
            self.idle
        }
    }
}

fn is_live(data: &SessionData, now: i64, t: &Timeouts) -> bool {
    let idle_ok = now - data.seen < t.idle_for(data).as_secs() as i64;
    let limit = if data.user_id.is_some() {
        t.absolute
    } else {
        ANONYMOUS_TTL
    };
    idle_ok && now - data.created < limit.as_secs() as i64
}

/// What [`save`] found.
enum Saved {
    /// Written, or nothing to write.
    Stored,
    /// The request's session was deleted while the request ran; it was not written.
    Gone,
}

async fn save(kv: &Kv, cur: &Current, now: i64, t: &Timeouts) -> Result<Saved, KvError> {
    for old in &cur.retired {
        kv.delete(&store_key(old)).await?;
    }
    for (user_id, old) in &cur.unindex {
        kv.set_remove(&user_index_key(*user_id), &store_key(old))
            .await?;
    }
    let (Some(id), Some(data)) = (&cur.id, &cur.data) else {
        return Ok(Saved::Stored);
    };
    if !cur.dirty && !cur.touch {
        return Ok(Saved::Stored);
    }
    let mut data = data.clone();
    data.seen = now;
    let limit = if data.user_id.is_some() {
        t.absolute
    } else {
        ANONYMOUS_TTL
    };
    let left = (data.created + limit.as_secs() as i64 - now).max(1) as u64;
    let ttl = t.idle_for(&data).min(Duration::from_secs(left));
    let key = store_key(id);
    let text = serde_json::to_string(&data).map_err(|e| KvError(e.to_string()))?;
    if !cur.fresh {
        let stored = kv.set_existing(&key, &text, ttl).await?;
        return Ok(if stored { Saved::Stored } else { Saved::Gone });
    }
    kv.set(&key, &text, ttl).await?;
    if let Some(user_id) = data.user_id {
        let index = user_index_key(user_id);
        prune_index(kv, &index).await?;
        // The index lives as long as the newest session it lists can.
        kv.set_add(&index, &key, t.absolute).await?;
    }
    Ok(Saved::Stored)
}

/// Take out of a user's session index the keys the store has expired on its own, so the
/// index holds only live sessions (pruned at each log-in; log-outs and sessions found
/// expired remove their own key).
async fn prune_index(kv: &Kv, index: &str) -> Result<(), KvError> {
    for key in kv.set_members(index).await? {
        if !kv.exists(&key).await? {
            kv.set_remove(index, &key).await?;
        }
    }
    Ok(())
}

/// Hoop: refuse a state-changing request that is cross-site, or whose `csrf_token`
/// field matches neither the session's token nor, for a visitor without a session, the
/// token signed over the pre-session nonce or the expired session's; with 403 and a page
/// that says to reload. Nothing runs after it, and a cross-site request touches no cookie.
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
    let cross_site = is_cross_site(req);
    let given = req.form::<String>("csrf_token").await.unwrap_or_default();
    let ok = !cross_site && token_matches(depot, &given);
    if !ok {
        if cross_site {
            freeze(depot);
        }
        let kind = if cross_site {
            "cross_site"
        } else {
            "csrf_token"
        };
        crate::web::refusals::log_refusal(req, depot, kind);
        crate::web::refusals::csrf_failed(depot, res);
        ctrl.skip_rest();
    }
}

/// Whether `given` is the CSRF token this request's forms were given.
fn token_matches(depot: &Depot, given: &str) -> bool {
    if given.is_empty() {
        return false;
    }
    if let Some(d) = data(depot) {
        return constant_time_eq(&d.csrf, given);
    }
    let key = &state(depot).session_key;
    let anonymous = current(depot)
        .and_then(|c| c.pre.as_deref())
        .is_some_and(|nonce| constant_time_eq(&anonymous_csrf(key, nonce), given));
    anonymous || proves_expired_session(depot, given)
}

/// Whether the browser says the request comes from another site: `Sec-Fetch-Site:
/// cross-site`, or an `Origin` whose host is not the request's.
fn is_cross_site(req: &Request) -> bool {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    if header("sec-fetch-site") == Some("cross-site") {
        return true;
    }
    let (Some(origin), Some(host)) = (header("origin"), header("host")) else {
        return false;
    };
    // Host names only: nginx passes `$host` (no port), and cookies ignore ports anyway.
    // "null" (a sandboxed or privacy-sensitive context) is not same-site either.
    let name = |h: &str| {
        let n = match h.strip_prefix('[') {
            // An IPv6 literal: its colons are not a port's.
            Some(v6) => v6.split_once(']').map_or(v6, |(n, _)| n),
            None => h.rsplit_once(':').map_or(h, |(n, _)| n),
        };
        n.to_ascii_lowercase()
    };
    let origin_host = origin.split_once("://").map(|(_, h)| name(h));
    origin_host != Some(name(host))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cross_site(headers: &[(&'static str, &str)]) -> bool {
        let mut req = Request::new();
        for (k, v) in headers {
            req.headers_mut()
                .insert(*k, v.parse().expect("header value"));
        }
        is_cross_site(&req)
    }

    #[test]
    fn cross_site_by_fetch_metadata_or_origin_host() {
        assert!(cross_site(&[("sec-fetch-site", "cross-site")]));
        assert!(cross_site(&[
            ("origin", "https://evil.example"),
            ("host", "pesquisa.example")
        ]));
        assert!(cross_site(&[
            ("origin", "null"),
            ("host", "pesquisa.example")
        ]));
        assert!(!cross_site(&[
            ("origin", "https://Pesquisa.example:8443"),
            ("host", "pesquisa.example")
        ]));
        assert!(!cross_site(&[
            ("origin", "http://[::1]:8080"),
            ("host", "[::1]")
        ]));
        assert!(cross_site(&[
            ("origin", "http://[::2]:8080"),
            ("host", "[::1]")
        ]));
        assert!(!cross_site(&[("sec-fetch-site", "same-site")]));
        assert!(
            !cross_site(&[]),
            "no evidence either way: the CSRF token decides"
        );
    }

    #[test]
    fn expiry_rules() {
        let limits = Timeouts {
            idle: Duration::from_secs(600),
            staff_idle: Duration::from_secs(300),
            absolute: Duration::from_secs(3600),
        };
        let mut d = SessionData::fresh(String::new());
        let t = d.created;
        assert!(is_live(&d, t + 10, &limits));
        assert!(!is_live(&d, t + 601, &limits), "idle");
        d.user_id = Some(1);
        d.role = Some(Role::Respondent);
        d.seen = t + 3590;
        assert!(is_live(&d, t + 3595, &limits));
        assert!(!is_live(&d, t + 3601, &limits), "absolute");
        d.seen = t;
        assert!(
            is_live(&d, t + 400, &limits),
            "a respondent keeps the longer idle time"
        );
        for staff in [Role::Analyst, Role::Admin] {
            d.role = Some(staff);
            assert!(is_live(&d, t + 299, &limits));
            assert!(!is_live(&d, t + 301, &limits), "{staff:?}: staff idle");
        }
    }

    #[test]
    fn tokens_are_bound_to_their_nonce_session_and_purpose() {
        let key = b"k".repeat(32);
        let (a, b) = (random_token(), random_token());
        assert_ne!(anonymous_csrf(&key, &a), anonymous_csrf(&key, &b));
        assert_ne!(session_csrf(&key, &a), anonymous_csrf(&key, &a));
        assert_ne!(session_csrf(&key, &a), session_csrf(&b"j".repeat(32), &a));
        assert!(is_token(&a) && !is_token("abc") && !is_token(&"g".repeat(64)));
    }
}
