//! Rate limits on log-in, sign-up and answer rescues, counted in the session store
//! (Redis in production) so that every instance sees the same counts.

use std::time::Duration;

use salvo::prelude::*;

use super::hoops::{client_ip, client_net};
pub use super::store_keys::LoginSubject;
use super::store_keys::{self, ClientLimit};
use crate::web::error::AppError;
use crate::web::state::AppState;

/// The counter of `limit` for the client's address (IPv6: its /64).
fn ip_key(limit: ClientLimit, req: &Request, app: &AppState) -> String {
    let network = client_ip(req, &app.settings.server.trusted_proxies)
        .map_or_else(|| "unknown".to_string(), client_net);
    store_keys::client_limit(limit, &network)
}

async fn count(app: &AppState, key: &str, limit: u64, window_secs: u64) -> Result<(), AppError> {
    let (n, left) = app.kv.hit(key, Duration::from_secs(window_secs)).await?;
    if n > limit {
        tracing::info!(limit, "rate limit reached");
        return Err(AppError::TooManyRequests {
            retry_after_secs: left.as_secs().max(1),
        });
    }
    Ok(())
}

/// Count a log-in attempt from this client address.
pub async fn login_attempt(req: &Request, app: &AppState) -> Result<(), AppError> {
    let rl = &app.settings.rate_limit;
    count(
        app,
        &ip_key(ClientLimit::Login, req, app),
        rl.login_per_ip,
        rl.login_window_secs,
    )
    .await
}

/// Count a sign-up attempt from this client address.
pub async fn register_attempt(req: &Request, app: &AppState) -> Result<(), AppError> {
    let rl = &app.settings.rate_limit;
    count(
        app,
        &ip_key(ClientLimit::Register, req, app),
        rl.register_per_ip,
        rl.register_window_secs,
    )
    .await
}

/// Most answer rescues (pages posted after their session ended) one client network may
/// make per hour; a respondent needs one now and then.
const RESCUES_PER_HOUR: u64 = 20;

/// Count a rescue of typed answers from this client address.
pub async fn draft_rescue(req: &Request, app: &AppState) -> Result<(), AppError> {
    count(
        app,
        &ip_key(ClientLimit::Rescue, req, app),
        RESCUES_PER_HOUR,
        3600,
    )
    .await
}

/// Refuse before checking the password when this account already had too many failures.
pub async fn account_locked(who: LoginSubject<'_>, app: &AppState) -> Result<(), AppError> {
    let rl = &app.settings.rate_limit;
    let failures: u64 = app
        .kv
        .get(&store_keys::login_failures(who))
        .await?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if failures >= rl.login_failures_per_account {
        return Err(AppError::TooManyRequests {
            retry_after_secs: rl.login_window_secs,
        });
    }
    Ok(())
}

pub async fn account_failed(who: LoginSubject<'_>, app: &AppState) -> Result<(), AppError> {
    let rl = &app.settings.rate_limit;
    app.kv
        .hit(
            &store_keys::login_failures(who),
            Duration::from_secs(rl.login_window_secs),
        )
        .await?;
    Ok(())
}

pub async fn account_succeeded(who: LoginSubject<'_>, app: &AppState) -> Result<(), AppError> {
    app.kv.delete(&store_keys::login_failures(who)).await?;
    Ok(())
}
