//! Connection pools that test a connection at check-out only when it may have gone stale.
//!
//! bb8 runs `ManageConnection::is_valid` at every check-out: `SELECT 1` on MariaDB, `PING`
//! on Redis, one extra round trip per query, a large share of a page's and a save's cost
//! (profiles in bench/findings.md).
//! Skipping the test outright would hand a connection closed by a server restart out
//! again and again, since neither diesel-async nor bb8-redis can tell it is dead without
//! using it.
//!
//! So, like HikariCP's "alive bypass window": a connection whose previous use *reported
//! success* within the last [`WARM_FOR`] is handed out untested. One that idled longer,
//! whose last use failed or never reported back (an error returned early with `?`, a
//! cancelled request), or that is new, is tested first; bb8 drops it and takes another
//! when the test fails. The cost: a connection the server closed inside the window fails
//! one query, which is then reported as an error to that one request, and the connection
//! is tested (and replaced) at its next check-out.
//!
//! A use that never finished is a different matter: when a request times out in the
//! middle of a query, its future is dropped with the answer still unread on the socket,
//! and the next query on that connection would read the previous one's rows (another
//! respondent's answers). [`Tracked::begin`] marks a connection in use; only
//! [`Tracked::record`] clears the mark, and a connection returned to the pool still marked
//! is reported broken, so bb8 closes it instead of handing it out again. The check-out
//! test is marked the same way: bb8 abandons it when the wait for a connection times out.

use std::ops::{Deref, DerefMut};
use std::time::{Duration, Instant};

/// How long after a successful use a connection is trusted without a test (HikariCP uses
/// the same 500 ms). Under load every connection is reused well inside it.
pub const WARM_FOR: Duration = Duration::from_millis(500);

/// A pooled connection with the time its last use reported success.
pub struct Tracked<C> {
    pub conn: C,
    last_ok: Option<Instant>,
    /// Between [`begin`](Self::begin) and [`record`](Self::record): a use under way.
    in_use: bool,
}

impl<C> Tracked<C> {
    /// A connection that has just been made (and so proven itself).
    pub fn fresh(conn: C) -> Tracked<C> {
        Tracked {
            conn,
            last_ok: Some(Instant::now()),
            in_use: false,
        }
    }

    /// Mark the start of a use. Until [`record`](Self::record) is called the connection
    /// counts as broken: if the use is abandoned (its future dropped), the pool closes it.
    pub fn begin(&mut self) {
        self.in_use = true;
    }

    /// Whether a use began and never reported its end.
    pub fn abandoned(&self) -> bool {
        self.in_use
    }

    /// Mark the use that just ended as successful: the next check-out within [`WARM_FOR`]
    /// skips the test. Not calling it is always safe (the next check-out tests).
    pub fn succeeded(&mut self) {
        self.last_ok = Some(Instant::now());
    }

    /// End the use that [`begin`](Self::begin) started (it ran to completion, well or
    /// not), then [`succeeded`](Self::succeeded) when `result` is `Ok`; hands it back.
    pub fn record<T, E>(&mut self, result: Result<T, E>) -> Result<T, E> {
        self.in_use = false;
        if result.is_ok() {
            self.succeeded();
        }
        result
    }

    /// Whether the next check-out may skip the test. Consumes the mark, so every use must
    /// report success anew.
    fn take_warm(&mut self) -> bool {
        self.last_ok
            .take()
            .is_some_and(|at| at.elapsed() < WARM_FOR)
    }
}

impl<C> Deref for Tracked<C> {
    type Target = C;
    fn deref(&self) -> &C {
        &self.conn
    }
}

impl<C> DerefMut for Tracked<C> {
    fn deref_mut(&mut self) -> &mut C {
        &mut self.conn
    }
}

/// A bb8 manager around `M` that hands out [`Tracked`] connections and skips `M`'s
/// check-out test for warm ones. Build the pool with bb8's default `test_on_check_out`
/// (on): this manager's `is_valid` is what decides.
pub struct Warm<M>(pub M);

impl<M: bb8::ManageConnection> bb8::ManageConnection for Warm<M> {
    type Connection = Tracked<M::Connection>;
    type Error = M::Error;

    async fn connect(&self) -> Result<Self::Connection, Self::Error> {
        // A new connection has just proven itself: the first check-out need not test it.
        Ok(Tracked::fresh(self.0.connect().await?))
    }

    async fn is_valid(&self, conn: &mut Self::Connection) -> Result<(), Self::Error> {
        if conn.take_warm() {
            return Ok(());
        }
        // The test is a query too (`SELECT 1`), and bb8 drops it unfinished when the
        // check-out deadline passes (or the request times out), then puts the connection
        // back: marked in use until the answer is read, it is closed instead, so the next
        // query cannot read this one's row as its own.
        conn.begin();
        let tested = self.0.is_valid(&mut conn.conn).await;
        conn.in_use = false;
        tested
    }

    fn has_broken(&self, conn: &mut Self::Connection) -> bool {
        conn.abandoned() || self.0.has_broken(&mut conn.conn)
    }
}

/// A bb8 pool's state as the metrics report it.
pub fn sample(backend: &'static str, state: &bb8::State) -> crate::metrics::PoolSample {
    let stats = &state.statistics;
    crate::metrics::PoolSample {
        backend,
        connections: state.connections,
        idle: state.idle_connections,
        waited: stats.get_waited,
        wait_secs: stats.get_wait_time.as_secs_f64(),
        timed_out: stats.get_timed_out,
        closed_broken: stats.connections_closed_broken,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A manager whose connections are numbers and which counts its tests.
    #[derive(Default)]
    struct Counting {
        made: AtomicUsize,
        tests: Arc<AtomicUsize>,
        fail_tests: Arc<std::sync::atomic::AtomicBool>,
        hang_tests: Arc<std::sync::atomic::AtomicBool>,
    }

    impl bb8::ManageConnection for Counting {
        type Connection = usize;
        type Error = String;
        async fn connect(&self) -> Result<usize, String> {
            Ok(self.made.fetch_add(1, Ordering::SeqCst))
        }
        async fn is_valid(&self, _: &mut usize) -> Result<(), String> {
            self.tests.fetch_add(1, Ordering::SeqCst);
            if self.hang_tests.load(Ordering::SeqCst) {
                // A server that stopped answering: the test's reply never comes.
                std::future::pending::<()>().await;
            }
            if self.fail_tests.load(Ordering::SeqCst) {
                Err("gone".into())
            } else {
                Ok(())
            }
        }
        fn has_broken(&self, _: &mut usize) -> bool {
            false
        }
    }

    async fn pool() -> (
        bb8::Pool<Warm<Counting>>,
        Arc<AtomicUsize>,
        Arc<std::sync::atomic::AtomicBool>,
    ) {
        let m = Counting::default();
        let (tests, fail) = (m.tests.clone(), m.fail_tests.clone());
        let pool = bb8::Pool::builder()
            .max_size(1)
            .build(Warm(m))
            .await
            .expect("pool");
        (pool, tests, fail)
    }

    #[tokio::test]
    async fn warm_connections_skip_the_test_and_others_take_it() {
        let (pool, tests, _) = pool().await;
        // New: not tested.
        let mut c = pool.get().await.unwrap();
        c.succeeded();
        drop(c);
        // Reported success just now: not tested.
        let c = pool.get().await.unwrap();
        assert_eq!(tests.load(Ordering::SeqCst), 0);
        drop(c); // no report: the next check-out tests
        let mut c = pool.get().await.unwrap();
        assert_eq!(tests.load(Ordering::SeqCst), 1);
        let _ = c.record::<(), &str>(Err("query failed"));
        drop(c); // failed: tested again
        let mut c = pool.get().await.unwrap();
        assert_eq!(tests.load(Ordering::SeqCst), 2);
        let _ = c.record::<(), &str>(Ok(()));
        drop(c);
        tokio::time::sleep(WARM_FOR + Duration::from_millis(50)).await;
        // Idle longer than the window: tested.
        let _c = pool.get().await.unwrap();
        assert_eq!(tests.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_use_abandoned_midway_closes_the_connection() {
        let (pool, tests, _) = pool().await;
        let mut c = pool.get().await.unwrap();
        let first = c.conn;
        c.begin();
        let _ = c.record::<(), &str>(Ok(()));
        drop(c);
        // Finished: the same connection comes back (untested, it just succeeded).
        let mut c = pool.get().await.unwrap();
        assert_eq!(c.conn, first);
        c.begin();
        drop(c); // dropped mid-use, as a timed-out request's future is
        let c = pool.get().await.unwrap();
        assert_ne!(
            c.conn, first,
            "an abandoned connection is never handed out again"
        );
        assert_eq!(tests.load(Ordering::SeqCst), 0, "the new one needs no test");
    }

    #[tokio::test]
    async fn a_connection_failing_its_test_is_replaced() {
        let (pool, _, fail) = pool().await;
        let first = pool.get().await.unwrap().conn;
        fail.store(true, Ordering::SeqCst);
        // The unreported use leaves it cold; its test fails, bb8 drops it and makes
        // another (new ones are not tested).
        let second = pool.get().await.unwrap().conn;
        assert_ne!(first, second);
    }

    #[tokio::test]
    async fn a_check_out_test_abandoned_at_the_deadline_closes_the_connection() {
        let m = Counting::default();
        let (tests, hang) = (m.tests.clone(), m.hang_tests.clone());
        let pool = bb8::Pool::builder()
            .max_size(1)
            .connection_timeout(Duration::from_millis(200))
            .build(Warm(m))
            .await
            .expect("pool");
        let first = pool.get().await.unwrap().conn; // no report: tested next time
        hang.store(true, Ordering::SeqCst);
        assert!(
            matches!(pool.get().await, Err(bb8::RunError::TimedOut)),
            "the test never answers, so the check-out times out"
        );
        assert_eq!(tests.load(Ordering::SeqCst), 1);
        hang.store(false, Ordering::SeqCst);
        // bb8 put it back with the test's answer still unread: it must not be used again.
        let c = pool.get().await.unwrap();
        assert_ne!(
            c.conn, first,
            "a connection whose check-out test was abandoned is never handed out again"
        );
    }
}
