//! `serve`: bind, tell systemd we are ready, serve until SIGTERM/SIGINT, then drain
//! in-flight requests and close the pools.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use salvo::conn::{Acceptor, TcpListener};
use salvo::prelude::*;

use crate::config::DatabaseSettings;
use crate::db::{DbPool, migrations};
use crate::router;
use crate::web::state::AppState;

/// Make sure the schema is current: apply pending migrations when configured to,
/// otherwise refuse to start and name them. Then publish the shipped consent documents
/// if none exist yet.
pub async fn ensure_schema(db: &DbPool, settings: &DatabaseSettings) -> anyhow::Result<()> {
    apply_or_refuse_migrations(db, settings).await?;
    crate::db::consents::seed_defaults(db)
        .await
        .context("database: cannot publish the default consent documents")?;
    Ok(())
}

async fn apply_or_refuse_migrations(
    db: &DbPool,
    settings: &DatabaseSettings,
) -> anyhow::Result<()> {
    let pending = migrations::pending(db)
        .await
        .context("database: cannot read the migration state")?;
    if pending.is_empty() {
        return Ok(());
    }
    if settings.auto_migrate() {
        // On its own connection, without the statement bound requests get: a migration
        // may rightly run longer than any request.
        let batch = match db {
            DbPool::Mysql(_) => DbPool::connect(settings).await?,
            DbPool::Sqlite(_) => db.clone(),
        };
        let applied = migrations::run_pending(&batch)
            .await
            .context("database: applying migrations failed")?;
        for name in &applied {
            tracing::info!(migration = %name, "applied migration");
        }
        Ok(())
    } else {
        anyhow::bail!(
            "database: {} migration(s) pending ({}); run `pesquisa migrate` or set database.auto_migrate = true",
            pending.len(),
            pending.join(", ")
        )
    }
}

/// Where to point a browser, and, on a study without an admin yet, the command that makes
/// one: the two things a first run needs and would otherwise have to look up.
async fn tell_first_steps(state: &AppState, local: &str) {
    let url = match &state.settings.server.public_url {
        Some(url) => url.to_string(),
        None => match local
            .trim_start_matches("socket://")
            .parse::<std::net::SocketAddr>()
        {
            // Listening on every address: this machine's own is the one that surely works.
            Ok(mut addr) if addr.ip().is_unspecified() => {
                addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
                format!("http://{addr}/")
            }
            _ => format!("http://{}/", local.trim_start_matches("socket://")),
        },
    };
    tracing::info!(url = %url, "open in a browser");
    for warning in state.settings.accounts.example_values_left() {
        tracing::warn!("{warning}");
    }
    if let Ok(false) = crate::db::users::admin_exists(&state.db).await {
        tracing::warn!(
            command = "pesquisa admin create-user --role admin --email EMAIL",
            "no admin account yet; create one with the command (it asks for the password)"
        );
    }
}

/// Serve until a stop signal; returns once in-flight requests have finished.
pub async fn serve(state: AppState) -> anyhow::Result<()> {
    let listen = state.settings.server.listen;
    let acceptor = TcpListener::new(listen)
        .try_bind()
        .await
        .map_err(|e| anyhow::anyhow!("server.listen: cannot listen on {listen}: {e}"))?;
    let local = acceptor
        .holdings()
        .first()
        .map(|h| h.local_addr.to_string())
        .unwrap_or_else(|| listen.to_string());
    let mut server = Server::new(acceptor);
    if let Some(limit) = connection_limit(&state.settings, open_file_limit()) {
        tracing::info!(
            max_connections = limit,
            "client connections limited by the open-file limit (LimitNOFILE)"
        );
        server = server.max_connections(limit);
    }
    let handle = server.handle();
    let grace = Duration::from_secs(state.settings.server.shutdown_grace_secs);
    let drain = Duration::from_secs(state.settings.server.drain_secs);
    let draining = state.draining.clone();

    tokio::spawn(async move {
        wait_for_stop_signal().await;
        notify(&[sd_notify::NotifyState::Stopping]);
        // Keep answering for a moment with `Connection: close`, so the load balancer drops
        // its kept-alive connections to us instead of sending a request on one as we close
        // it (which it could not retry for a POST).
        tracing::info!(drain_secs = drain.as_secs(), "stop requested; draining");
        draining.store(true, std::sync::atomic::Ordering::SeqCst);
        tokio::time::sleep(drain).await;
        tracing::info!("finishing in-flight requests");
        handle.stop_graceful(grace);
    });
    spawn_watchdog();
    if let Some(addr) = state.settings.server.metrics_listen {
        let acceptor = TcpListener::new(addr)
            .try_bind()
            .await
            .map_err(|e| anyhow::anyhow!("server.metrics_listen: cannot listen on {addr}: {e}"))?;
        let metrics = crate::web::metrics::service(&state);
        tracing::info!(address = %addr, "metrics at /metrics");
        // Ends with the process; a scrape cut off by the stop is simply retried.
        tokio::spawn(Server::new(acceptor).serve(metrics));
    }

    let mail = start_mail_worker(&state).await?;

    tracing::info!(
        address = %local,
        database = state.db.backend_name(),
        sessions = state.kv.backend_name(),
        "pesquisa is serving"
    );
    tell_first_steps(&state, &local).await;
    notify(&[sd_notify::NotifyState::Ready]);
    server.serve(router::service(&state)).await;
    // The message being sent may finish; the rest wait in the outbox for the next start
    // or the other instance.
    mail.stop(Duration::from_secs(10)).await;
    tracing::info!("stopped");
    Ok(())
}

/// Start the outbox worker with the transport `[mail]` names, and say where mail goes.
async fn start_mail_worker(state: &AppState) -> anyhow::Result<crate::mail::Running> {
    let transport = crate::mail::Transport::from_settings(&state.settings)?;
    match transport.folder() {
        Some(dir) => tracing::info!(
            folder = %dir.display(),
            "mail: no SMTP server (mail.host unset); messages are written as .eml files to this folder"
        ),
        None => tracing::info!(transport = %transport.describe(), "mail: sending through SMTP"),
    }
    crate::mail::Worker {
        transport: std::sync::Arc::new(transport),
        metrics: state.metrics.clone(),
        wake: state.mail_wake.clone(),
        instance: crate::mail::worker::instance_id(),
        options: crate::mail::Options::default(),
    }
    .spawn_on_own_thread(&state.settings.database)
    .await
}

/// Descriptors kept back from client connections: the pools' connections, the database
/// files, the log and the metrics listener, with room to spare.
const RESERVED_FILES: u64 = 64;

/// The fewest client connections allowed, however low the open-file limit, and the most
/// (a huge limit would also be too many permits for salvo's semaphore).
const MIN_CONNECTIONS: u64 = 16;
const MAX_CONNECTIONS: u64 = 1 << 20;

/// The soft limit on open files (RLIMIT_NOFILE), if there is one.
fn open_file_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
}

/// How many client connections to hold at once so that accepting one never fails with
/// EMFILE (salvo then logs every retry, 100 lines a second): past it, new connections
/// wait in the kernel's listen queue until one closes.
/// None without a limit on open files.
fn connection_limit(settings: &crate::config::Settings, open_files: Option<u64>) -> Option<usize> {
    let pools = u64::from(settings.database.pool_size) + u64::from(settings.redis.pool_size);
    let limit = open_files?
        .saturating_sub(pools + RESERVED_FILES)
        .clamp(MIN_CONNECTIONS, MAX_CONNECTIONS);
    usize::try_from(limit).ok()
}

async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            _ => {
                tracing::warn!("cannot install signal handlers; stop with SIGKILL");
                std::future::pending::<()>().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Send a state to systemd when it started us with `NOTIFY_SOCKET`; otherwise nothing.
fn notify(state: &[sd_notify::NotifyState<'_>]) {
    if std::env::var_os("NOTIFY_SOCKET").is_some()
        && let Err(e) = sd_notify::notify(state)
    {
        tracing::warn!(error = %e, "sd_notify failed");
    }
}

/// Pet systemd's watchdog at half its interval, but only while the async runtime runs
/// tasks: a task on the runtime advances a heartbeat, and a plain thread sends the pet
/// only when the heartbeat moved since its last look. A wedged runtime (every worker
/// blocked) stops the pets and systemd restarts the service. The sending stays on its
/// own thread because a full notify socket blocks the sender, which must never be a
/// runtime worker.
fn spawn_watchdog() {
    let Some(interval) = sd_notify::watchdog_enabled() else {
        return;
    };
    let every = interval / 2;
    let beat = Arc::new(AtomicU64::new(0));
    tokio::spawn(heartbeat(every, beat.clone()));
    let spawned = std::thread::Builder::new()
        .name("watchdog".into())
        .spawn(move || {
            let mut seen = 0;
            loop {
                std::thread::sleep(every);
                let now = beat.load(Ordering::SeqCst);
                if now != seen {
                    seen = now;
                    notify(&[sd_notify::NotifyState::Watchdog]);
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the watchdog thread");
    }
}

/// Advances `beat` every `every`, for as long as the runtime runs this task.
async fn heartbeat(every: Duration, beat: Arc<AtomicU64>) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        beat.fetch_add(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_leave_room_for_the_pools_and_files_under_the_open_file_limit() {
        let s = crate::config::Settings::default();
        let pools = u64::from(s.database.pool_size) + u64::from(s.redis.pool_size);
        let limit = |files| connection_limit(&s, files).map(|n| n as u64);
        assert_eq!(limit(Some(1024)), Some(1024 - pools - RESERVED_FILES));
        assert_eq!(limit(Some(40)), Some(MIN_CONNECTIONS));
        assert_eq!(limit(Some(u64::MAX - 1)), Some(MAX_CONNECTIONS));
        assert_eq!(limit(None), None, "no limit, none here");
    }

    #[test]
    fn the_heartbeat_moves_only_while_the_runtime_runs_tasks() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        let beat = Arc::new(AtomicU64::new(0));
        let seen = beat.clone();
        rt.block_on(async move {
            tokio::spawn(heartbeat(Duration::from_millis(10), beat));
            tokio::time::sleep(Duration::from_millis(100)).await;
            let running = seen.load(Ordering::SeqCst);
            assert!(running >= 3, "beats while the runtime runs: {running}");
            // The only worker blocked (a wedged runtime): no beat, so no pet.
            std::thread::sleep(Duration::from_millis(150));
            assert_eq!(seen.load(Ordering::SeqCst), running, "no beat while wedged");
            tokio::time::sleep(Duration::from_millis(50)).await;
            assert!(
                seen.load(Ordering::SeqCst) > running,
                "beats again once it runs"
            );
        });
    }
}
