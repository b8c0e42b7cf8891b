//! Rate limits on log-in, sign-up and answer rescues, counted in the session store
//! (Redis in production) so that every instance sees the same counts.
//!
//! Wrong passwords are counted per account and client, with a wait that doubles after the
//! free failures, so a stranger slows only their own attempts; and per account from all
//! clients, a ceiling on distributed guessing that known devices
//! ([`super::known_device`]) pass. The numbers are in `RateLimitSettings`.

use std::time::Duration;

use salvo::prelude::*;

use super::hoops::{client_ip, client_net};
use super::store_keys::{self, ClientLimit};
pub use super::store_keys::{LoginClient, LoginSubject};
use crate::accounts::hasher::{Claim, Verified};
use crate::accounts::password::Password;
use crate::web::error::AppError;
use crate::web::state::AppState;

/// The counter of `limit` for the client's address (IPv6: its /64).
fn ip_key(limit: ClientLimit, req: &Request, app: &AppState) -> String {
    let network = client_ip(req, &app.settings.server.trusted_proxies)
        .map_or_else(|| "unknown".to_string(), client_net);
    store_keys::client_limit(limit, &network)
}

async fn count(
    app: &AppState,
    kind: &'static str,
    key: &str,
    limit: u64,
    window_secs: u64,
) -> Result<(), AppError> {
    let (n, left) = app.kv.hit(key, Duration::from_secs(window_secs)).await?;
    if n > limit {
        tracing::info!(kind, limit, "rate limit reached");
        app.metrics.refused(kind);
        return Err(AppError::TooManyRequests {
            retry_after_secs: left.as_secs().max(1),
        });
    }
    Ok(())
}

/// Whether one more message of `kind` may be mailed to the account: at most `max` per
/// `window`. Over the limit the caller sends nothing but answers as usual, so the limit
/// reveals nothing about the account.
pub async fn account_mail_allowed(
    app: &AppState,
    kind: crate::db::outbox::MailKind,
    user_id: i64,
    max: u64,
    window: Duration,
) -> Result<bool, AppError> {
    let key = store_keys::account_mail(kind.as_str(), user_id);
    let (n, _) = app.kv.hit(&key, window).await?;
    if n > max {
        tracing::info!(kind = kind.as_str(), user_id, "account mail limit reached");
        app.metrics.refused("account_mail");
    }
    Ok(n <= max)
}

/// Count a log-in attempt from this client address.
pub async fn login_attempt(req: &Request, app: &AppState) -> Result<(), AppError> {
    let rl = &app.settings.rate_limit;
    count(
        app,
        "login_network",
        &ip_key(ClientLimit::Login, req, app),
        rl.login_per_ip,
        rl.login_window_secs,
    )
    .await
}

/// The opening of every handler that checks a factor of a log-in (password, e-mailed
/// code or link, second factor): count the attempt from this client address, then hand
/// back the state.
pub async fn count_login(req: &Request, depot: &Depot) -> Result<AppState, AppError> {
    let app = super::state(depot).clone();
    login_attempt(req, &app).await?;
    Ok(app)
}

/// Count a sign-up attempt from this client address.
pub async fn register_attempt(req: &Request, app: &AppState) -> Result<(), AppError> {
    let rl = &app.settings.rate_limit;
    count(
        app,
        "register_network",
        &ip_key(ClientLimit::Register, req, app),
        rl.register_per_ip,
        rl.register_window_secs,
    )
    .await
}

/// The opening of the handlers that make an account (sign-up, the OpenID Connect
/// completion): count the attempt from this client address, then hand back the state.
pub async fn count_sign_up(req: &Request, depot: &Depot) -> Result<AppState, AppError> {
    let app = super::state(depot).clone();
    register_attempt(req, &app).await?;
    Ok(app)
}

/// Count an e-mail request (password reset or sign-in code) from this client network and
/// for this address (canonical form, or as typed). `false` past either limit: the caller
/// answers as usual and queues nothing, so the page never tells whether a limit or an
/// unknown address was the reason.
pub async fn mail_request_allowed(
    req: &Request,
    app: &AppState,
    limit: ClientLimit,
    email: &str,
) -> Result<bool, AppError> {
    let rl = &app.settings.rate_limit;
    let (kind, per_ip, per_address) = match limit {
        ClientLimit::Code => ("code", rl.code_per_ip, rl.code_per_address),
        _ => ("reset", rl.reset_per_ip, rl.reset_per_address),
    };
    let hour = Duration::from_secs(3600);
    let (n, _) = app.kv.hit(&ip_key(limit, req, app), hour).await?;
    if n > per_ip {
        tracing::info!(
            kind,
            limit = per_ip,
            "e-mail request limit per network reached"
        );
        app.metrics.refused(if kind == "code" {
            "code_network"
        } else {
            "reset_network"
        });
        return Ok(false);
    }
    let (n, _) = app
        .kv
        .hit(&store_keys::address_limit(limit, email), hour)
        .await?;
    if n > per_address {
        tracing::info!(
            kind,
            limit = per_address,
            "e-mail request limit per address reached"
        );
        app.metrics.refused(if kind == "code" {
            "code_address"
        } else {
            "reset_address"
        });
        return Ok(false);
    }
    Ok(true)
}

/// Most answer rescues (pages posted after their session ended) one client network may
/// make per hour; a respondent needs one now and then.
const RESCUES_PER_HOUR: u64 = 20;

/// Count a rescue of typed answers from this client address.
pub async fn draft_rescue(req: &Request, app: &AppState) -> Result<(), AppError> {
    count(
        app,
        "rescue_network",
        &ip_key(ClientLimit::Rescue, req, app),
        RESCUES_PER_HOUR,
        3600,
    )
    .await
}

/// A day: how long a client's failed log-ins to an account are remembered.
const DAY: Duration = Duration::from_secs(24 * 3600);

/// The first wait after a client's free failures; each later one doubles it.
const FIRST_DELAY_SECS: u64 = 2;

fn unix_now() -> u64 {
    chrono::Utc::now().timestamp().max(0) as u64
}

/// Who is trying: the known device when the request carries one for the account,
/// otherwise the client's network (an IPv4 address or an IPv6 /64).
fn login_client(req: &Request, app: &AppState, device: Option<String>) -> LoginClient {
    match device {
        Some(nonce) => LoginClient::Device(nonce),
        None => LoginClient::Network(
            client_ip(req, &app.settings.server.trusted_proxies)
                .map_or_else(|| "unknown".to_string(), client_net),
        ),
    }
}

/// The wait after `beyond` failures past the free ones: 2 s, 4 s, 8 s … up to `max`.
fn progressive_delay(beyond: u64, max: u64) -> u64 {
    FIRST_DELAY_SECS
        .saturating_mul(1u64 << beyond.min(32))
        .min(max)
        .max(1)
}

/// Seconds left until the time stored at `key`, if it is still ahead.
async fn waiting(app: &AppState, key: &str, now: u64) -> Result<Option<u64>, AppError> {
    let until: Option<u64> = app.kv.get(key).await?.and_then(|v| v.parse().ok());
    Ok(until.filter(|&t| t > now).map(|t| t - now))
}

fn account_id(who: LoginSubject<'_>) -> Option<i64> {
    match who {
        LoginSubject::Account { id, .. } | LoginSubject::SecondFactor { id, .. } => Some(id),
        LoginSubject::Address(_) => None,
    }
}

/// The client as logs name it: its network, or "known device" (never the nonce).
fn client_label(client: &LoginClient) -> &str {
    match client {
        LoginClient::Network(net) => net,
        LoginClient::Device(_) => "known device",
    }
}

/// Before checking a password: 429 with the wait when this client must still wait after
/// its failures, or when the account's ceiling is reached and this is no known device.
/// Nothing is counted and no hash is computed for a refused attempt.
async fn password_may_be_tried(
    who: LoginSubject<'_>,
    client: &LoginClient,
    app: &AppState,
) -> Result<(), AppError> {
    let now = unix_now();
    let mut refusal = waiting(app, &store_keys::login_client_wait(who, client), now)
        .await?
        .map(|wait| ("login_delay", wait));
    if refusal.is_none() && !matches!(client, LoginClient::Device(_)) {
        refusal = waiting(app, &store_keys::login_account_wait(who), now)
            .await?
            .map(|wait| ("login_ceiling", wait));
    }
    match refusal {
        Some((kind, wait)) => {
            app.metrics.refused(kind);
            tracing::warn!(
                kind,
                account_id = account_id(who),
                client = client_label(client),
                retry_after = wait,
                "log-in refused until the wait ends"
            );
            Err(AppError::TooManyRequests {
                retry_after_secs: wait,
            })
        }
        None => Ok(()),
    }
}

/// Claim the account's one password check in flight (per instance); 429 while another
/// runs. So a burst of one account's attempts neither queues hashes ahead of everyone
/// else nor slips past [`password_may_be_tried`] before its failures are counted. Hold
/// the claim until the outcome is counted.
fn one_check_at_a_time(who: LoginSubject<'_>, app: &AppState) -> Result<Claim, AppError> {
    app.hasher
        .claim(store_keys::login_account_wait(who))
        .ok_or_else(|| {
            app.metrics.refused("login_concurrent");
            tracing::info!(
                kind = "login_concurrent",
                account_id = account_id(who),
                "password check refused: another one for the account is running"
            );
            AppError::TooManyRequests {
                retry_after_secs: 1,
            }
        })
}

/// Check `given` under the limits, the one way every password form does it: 429 before
/// any hashing while this client must wait or another check for the account runs, then
/// the outcome counted per client and per account. `account` is the account's id and
/// stored hash when one exists (its known device then counts apart); without one the
/// dummy hash is checked at the same cost. Returns the outcome and the known device's
/// nonce, for [`super::known_device::remember`].
pub async fn checked_password(
    req: &Request,
    app: &AppState,
    who: LoginSubject<'_>,
    account: Option<(i64, &str)>,
    given: &Password,
) -> Result<(Verified, Option<String>), AppError> {
    let device = account.and_then(|(id, _)| super::known_device::recognised(req, app, id));
    let client = login_client(req, app, device.clone());
    password_may_be_tried(who, &client, app).await?;
    let _claim = one_check_at_a_time(who, app)?;
    let outcome = app
        .hasher
        .verify(given, account.map(|(_, hash)| hash))
        .await?;
    if matches!(outcome, Verified::Valid { .. }) {
        password_succeeded(who, &client, app).await?;
    } else {
        password_failed(who, &client, app).await?;
    }
    Ok((outcome, device))
}

/// A sign-in code about to be checked for `who` (see [`code_may_be_tried`]).
pub struct CodeTry {
    client: LoginClient,
    /// The known device's nonce, for [`super::known_device::remember`].
    pub device: Option<String>,
}

/// Before checking a typed sign-in code: the same refusals as before a password (429 while
/// this client must wait after failed log-ins, or while the account is closed to unknown
/// devices), so codes and passwords share one guessing budget. `account` is the account's
/// id when one exists.
pub async fn code_may_be_tried(
    req: &Request,
    app: &AppState,
    who: LoginSubject<'_>,
    account: Option<i64>,
) -> Result<CodeTry, AppError> {
    let device = account.and_then(|id| super::known_device::recognised(req, app, id));
    let client = login_client(req, app, device.clone());
    password_may_be_tried(who, &client, app).await?;
    Ok(CodeTry { client, device })
}

/// Count the outcome of a typed sign-in code: a wrong one with the failed log-ins (per
/// client and per account), a right one forgets this client's failures.
pub async fn code_checked(
    app: &AppState,
    who: LoginSubject<'_>,
    attempt: &CodeTry,
    right: bool,
) -> Result<(), AppError> {
    if right {
        password_succeeded(who, &attempt.client, app).await
    } else {
        password_failed(who, &attempt.client, app).await
    }
}

/// Check a second-factor code under the same limits as passwords (429 while this client
/// must wait, or the account's ceiling is reached), counting the outcome. `check` runs
/// only when the attempt is allowed, and says whether the code was right.
pub async fn checked_second_factor<F>(
    req: &Request,
    app: &AppState,
    user_id: i64,
    epoch: i32,
    check: F,
) -> Result<bool, AppError>
where
    F: AsyncFnOnce() -> Result<bool, AppError>,
{
    let who = LoginSubject::SecondFactor { id: user_id, epoch };
    let device = super::known_device::recognised(req, app, user_id);
    let client = login_client(req, app, device);
    password_may_be_tried(who, &client, app).await?;
    let right = check().await?;
    if right {
        password_succeeded(who, &client, app).await?;
    } else {
        password_failed(who, &client, app).await?;
    }
    Ok(right)
}

/// A wrong password: counted for this client (whose next attempt may then wait) and for
/// the account (whose ceiling may then close it to all but known devices).
async fn password_failed(
    who: LoginSubject<'_>,
    client: &LoginClient,
    app: &AppState,
) -> Result<(), AppError> {
    let rl = &app.settings.rate_limit;
    let now = unix_now();
    let (n, _) = app
        .kv
        .hit(&store_keys::login_client_failures(who, client), DAY)
        .await?;
    if n >= rl.login_free_failures {
        let delay = progressive_delay(n - rl.login_free_failures, rl.login_delay_max_secs);
        app.kv
            .set(
                &store_keys::login_client_wait(who, client),
                &(now + delay).to_string(),
                Duration::from_secs(delay),
            )
            .await?;
    }
    let mut closed_for = None;
    for (window, ceiling) in [
        (3600, rl.login_failures_per_account_hour),
        (DAY.as_secs(), rl.login_failures_per_account_day),
    ] {
        let key = store_keys::login_account_failures(who, window);
        let (n, left) = app.kv.hit(&key, Duration::from_secs(window)).await?;
        if n >= ceiling {
            closed_for = closed_for.max(Some(left.as_secs().max(1)));
        }
    }
    tracing::info!(
        kind = "login_failed",
        account_id = account_id(who),
        client = client_label(client),
        client_failures = n,
        "wrong password"
    );
    if let Some(wait) = closed_for {
        tracing::warn!(
            kind = "login_ceiling",
            account_id = account_id(who),
            wait,
            "account closed to unknown devices after too many failed log-ins"
        );
        app.kv
            .set(
                &store_keys::login_account_wait(who),
                &(now + wait).to_string(),
                Duration::from_secs(wait),
            )
            .await?;
    }
    Ok(())
}

/// The right password: this client's failures are forgotten (the account's ceiling is
/// not: it bounds guessing from everywhere else).
async fn password_succeeded(
    who: LoginSubject<'_>,
    client: &LoginClient,
    app: &AppState,
) -> Result<(), AppError> {
    app.kv
        .delete(&store_keys::login_client_failures(who, client))
        .await?;
    app.kv
        .delete(&store_keys::login_client_wait(who, client))
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_from_two_seconds_up_to_the_maximum() {
        let waits: Vec<u64> = (0..12).map(|k| progressive_delay(k, 900)).collect();
        assert_eq!(waits, [2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900]);
        assert_eq!(progressive_delay(u64::MAX, 900), 900, "no overflow");
    }
}
