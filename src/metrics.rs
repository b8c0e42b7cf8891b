//! Metrics in the Prometheus/OpenMetrics text format (`server.metrics_listen`): what the
//! app counts as it serves (requests by route and status, their latency, backend errors,
//! sessions created, rate-limit refusals) and what is read only when scraped (pool sizes
//! and waits, the hashing queue), through the `prometheus-client` crate.
//!
//! One [`Metrics`] per application state, not a process-wide registry, so that two
//! instances in one test process count apart.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

/// The media type of [`Metrics::encode`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    method: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BackendLabels {
    backend: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    backend: &'static str,
    state: &'static str,
}

/// What the app counts while it serves.
#[derive(Debug)]
pub struct Metrics {
    requests: Family<RequestLabels, Counter>,
    durations: Family<RouteLabels, Histogram>,
    backend_errors: Family<BackendLabels, Counter>,
    sessions_created: Counter,
    refusals: Family<KindLabels, Counter>,
    /// The mail worker's outcomes ("sent", "retry", "failed") and the queue it last saw.
    mail: Family<KindLabels, Counter>,
    mail_queued: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            requests: Family::default(),
            // 5 ms to about 10 s: a page is a few ms, a log-in tens, a timeout 30 s.
            durations: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.005, 2.0, 12))
            }),
            backend_errors: Family::default(),
            sessions_created: Counter::default(),
            refusals: Family::default(),
            mail: Family::default(),
            mail_queued: Gauge::default(),
        }
    }
}

/// A connection pool's state when scraped.
#[derive(Debug, Clone)]
pub struct PoolSample {
    /// "database" or "sessions".
    pub backend: &'static str,
    pub connections: u32,
    pub idle: u32,
    /// Check-outs that had to wait, the total time they waited, and those that gave up.
    pub waited: u64,
    pub wait_secs: f64,
    pub timed_out: u64,
    /// Connections closed as broken (a query cut off mid-way, a lost server).
    pub closed_broken: u64,
}

/// What is read when scraped rather than counted as it happens.
#[derive(Debug, Clone, Default)]
pub struct Scrape {
    pub pools: Vec<PoolSample>,
    pub hash_queue: usize,
    pub hash_queue_max: usize,
}

impl Metrics {
    /// One answered request. `route` is the route's pattern (never the raw path, whose
    /// values are unbounded), `seconds` its time to the response head.
    pub fn request(&self, route: &str, method: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                route: route.to_string(),
                method: method.to_string(),
                status,
            })
            .inc();
        self.durations
            .get_or_create(&RouteLabels {
                route: route.to_string(),
                method: method.to_string(),
            })
            .observe(seconds);
    }

    /// A request that failed because a backend ("database", "sessions", "hashing") could
    /// not serve it.
    pub fn backend_error(&self, backend: &'static str) {
        self.backend_errors
            .get_or_create(&BackendLabels { backend })
            .inc();
    }

    pub fn session_created(&self) {
        self.sessions_created.inc();
    }

    /// A request refused by a limit of this `kind` (e.g. "login_delay").
    pub fn refused(&self, kind: &'static str) {
        self.refusals.get_or_create(&KindLabels { kind }).inc();
    }

    /// One send attempt of the mail worker: "sent", "retry" (failed, tried again later) or
    /// "failed" (given up).
    pub fn mail(&self, outcome: &'static str) {
        self.mail.get_or_create(&KindLabels { kind: outcome }).inc();
    }

    /// Messages waiting in the outbox when the mail worker last counted.
    pub fn mail_queued(&self, n: i64) {
        self.mail_queued.set(n);
    }

    /// Everything, in the OpenMetrics text format. The counted families are shared with
    /// a registry made for this scrape (they are reference-counted), beside the values
    /// read now.
    pub fn encode(&self, scrape: &Scrape) -> String {
        let mut r = Registry::with_prefix("pesquisa");
        r.register(
            "http_requests",
            "Requests answered, by route pattern, method and status",
            self.requests.clone(),
        );
        r.register_with_unit(
            "http_request_duration",
            "Time to the response head, by route pattern and method",
            Unit::Seconds,
            self.durations.clone(),
        );
        r.register(
            "backend_errors",
            "Requests failed because a backend could not serve them (503)",
            self.backend_errors.clone(),
        );
        r.register(
            "sessions_created",
            "Log-ins and sign-ups that started a session",
            self.sessions_created.clone(),
        );
        r.register(
            "rate_limit_refusals",
            "Requests refused by a limit, by the limit's kind",
            self.refusals.clone(),
        );

        r.register(
            "mail_attempts",
            "Mail send attempts by outcome (sent, retry, failed)",
            self.mail.clone(),
        );
        r.register(
            "mail_queued",
            "Messages waiting in the outbox when last counted",
            self.mail_queued.clone(),
        );

        let connections = Family::<PoolLabels, Gauge>::default();
        let waited = Family::<BackendLabels, Counter>::default();
        let wait_time = Family::<BackendLabels, Counter<f64>>::default();
        let timed_out = Family::<BackendLabels, Counter>::default();
        let broken = Family::<BackendLabels, Counter>::default();
        for p in &scrape.pools {
            let b = BackendLabels { backend: p.backend };
            let in_use = p.connections.saturating_sub(p.idle);
            for (state, n) in [("idle", p.idle), ("in_use", in_use)] {
                connections
                    .get_or_create(&PoolLabels {
                        backend: p.backend,
                        state,
                    })
                    .set(i64::from(n));
            }
            waited.get_or_create(&b).inc_by(p.waited);
            wait_time.get_or_create(&b).inc_by(p.wait_secs);
            timed_out.get_or_create(&b).inc_by(p.timed_out);
            broken.get_or_create(&b).inc_by(p.closed_broken);
        }
        r.register(
            "pool_connections",
            "Pooled connections now, by backend and state",
            connections,
        );
        r.register(
            "pool_waited_checkouts",
            "Check-outs that waited for a free connection",
            waited,
        );
        r.register_with_unit(
            "pool_wait",
            "Total time check-outs waited for a connection",
            Unit::Seconds,
            wait_time,
        );
        r.register(
            "pool_timed_out_checkouts",
            "Check-outs that gave up waiting",
            timed_out,
        );
        r.register(
            "pool_broken_connections",
            "Connections closed as broken",
            broken,
        );
        let queue = Gauge::<i64>::default();
        queue.set(scrape.hash_queue as i64);
        r.register(
            "password_hash_queue",
            "Password checks waiting for a hashing thread",
            queue,
        );
        let queue_max = Gauge::<i64>::default();
        queue_max.set(scrape.hash_queue_max as i64);
        r.register(
            "password_hash_queue_limit",
            "Password checks that may wait (passwords.max_queued)",
            queue_max,
        );

        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &r);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_scraped_values_come_out_in_the_text_format() {
        let m = Metrics::default();
        m.request("/survey/{n}", "GET", 200, 0.012);
        m.request("/survey/{n}", "GET", 200, 0.020);
        m.backend_error("database");
        m.refused("login_delay");
        m.mail("sent");
        m.mail_queued(3);
        let text = m.encode(&Scrape {
            pools: vec![PoolSample {
                backend: "database",
                connections: 5,
                idle: 3,
                waited: 7,
                wait_secs: 1.5,
                timed_out: 1,
                closed_broken: 2,
            }],
            hash_queue: 4,
            hash_queue_max: 64,
        });
        for line in [
            r#"pesquisa_http_requests_total{route="/survey/{n}",method="GET",status="200"} 2"#,
            r#"pesquisa_http_request_duration_seconds_count{route="/survey/{n}",method="GET"} 2"#,
            r#"pesquisa_backend_errors_total{backend="database"} 1"#,
            r#"pesquisa_rate_limit_refusals_total{kind="login_delay"} 1"#,
            r#"pesquisa_pool_connections{backend="database",state="in_use"} 2"#,
            r#"pesquisa_pool_waited_checkouts_total{backend="database"} 7"#,
            r#"pesquisa_pool_wait_seconds_total{backend="database"} 1.5"#,
            "pesquisa_password_hash_queue 4",
            r#"pesquisa_mail_attempts_total{kind="sent"} 1"#,
            "pesquisa_mail_queued 3",
            "# EOF",
        ] {
            assert!(text.contains(line), "{line} missing from:\n{text}");
        }
    }
}
