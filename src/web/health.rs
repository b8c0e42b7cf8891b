//! Health endpoints for systemd, nginx and monitoring: `/healthz` says the process
//! answers; `/readyz` says the database reads and writes and the session store answers.
//! Which backend failed, and why, is told only to probes on the app VM itself (loopback)
//! or on a trusted proxy; through nginx, the internet gets the status code and one word.

use std::time::Duration;

use salvo::prelude::*;
use serde::Serialize;

use super::{hoops, state};

/// How long a readiness probe waits for each backend.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

static NOT_READY_LOG: crate::telemetry::Throttle =
    crate::telemetry::Throttle::new(Duration::from_secs(60));

#[derive(Serialize)]
struct Readiness {
    status: &'static str,
    database: Check,
    sessions: Check,
}

#[derive(Serialize)]
struct Check {
    backend: &'static str,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Liveness: answers as long as the process serves requests.
#[handler]
pub async fn healthz(res: &mut Response) {
    res.add_header("cache-control", "no-store", true).ok();
    res.render(Text::Plain("ok"));
}

/// Readiness: 200 when the database answers a read and a write and the session store
/// answers, each within [`PROBE_TIMEOUT`], otherwise 503 naming which one failed.
#[handler]
pub async fn readyz(req: &mut Request, depot: &mut Depot, res: &mut Response) {
    let app = state(depot);
    let trusted = &app.settings.server.trusted_proxies;
    // The client as seen through trusted proxies: a visitor through nginx is not nginx.
    let detailed = hoops::client_ip(req, trusted)
        .is_some_and(|ip| ip.is_loopback() || trusted.iter().any(|n| n.contains(ip)));
    let (db, kv) = tokio::join!(
        tokio::time::timeout(PROBE_TIMEOUT, async {
            app.db.ping().await?;
            app.db.write_probe().await
        }),
        tokio::time::timeout(PROBE_TIMEOUT, app.kv.ping()),
    );
    let database = Check {
        backend: app.db.backend_name(),
        ok: matches!(db, Ok(Ok(()))),
        error: match db {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e.to_string()),
            Err(_) => Some("timed out".into()),
        },
    };
    let sessions = Check {
        backend: app.kv.backend_name(),
        ok: matches!(kv, Ok(Ok(()))),
        error: match kv {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e.to_string()),
            Err(_) => Some("timed out".into()),
        },
    };
    let draining = app.draining.load(std::sync::atomic::Ordering::SeqCst);
    let ready = database.ok && sessions.ok && !draining;
    if !(database.ok && sessions.ok) {
        // Only the backends that failed are named; a draining instance with healthy
        // backends is not a fault and logs nothing here.
        // Probed every few seconds by nginx and monitoring: the same cause is logged
        // once a minute, with the count of probes that failed alike meanwhile.
        let cause = format!("{:?} {:?}", database.error, sessions.error);
        if let Some(skipped) = NOT_READY_LOG.admit(&cause) {
            tracing::warn!(
                database = database.error.as_deref(),
                sessions = sessions.error.as_deref(),
                skipped,
                "not ready: a backend failed its probe"
            );
        }
    }
    if !ready {
        res.status_code(StatusCode::SERVICE_UNAVAILABLE);
    }
    res.add_header("cache-control", "no-store", true).ok();
    let status = if draining {
        "draining"
    } else if ready {
        "ready"
    } else {
        "unavailable"
    };
    if !detailed {
        res.render(Text::Plain(status));
        return;
    }
    res.render(Json(Readiness {
        status,
        database,
        sessions,
    }));
}
