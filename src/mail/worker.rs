//! The outbox worker inside `serve`: wakes when a request queued a message (or every few
//! seconds, for rows other instances queued), claims due rows for a lease, sends them,
//! and records the outcome: sent, retried later with exponential backoff and jitter, or
//! failed after too many attempts or about a day. Sent rows are pruned after a few days.
//! `serve` runs it on a thread of its own at SCHED_IDLE with its own database connection,
//! so sending a burst of mail never slows the requests that queued it.
//!
//! Logs carry the row's kind, id and attempt and the error with any address masked,
//! never the address or the text.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use rand::Rng;
use tokio::sync::{Notify, oneshot, watch};
use tokio::task::AbortHandle;

use super::transport::{SMTP_TIMEOUT, SendError, Transport};
use crate::config::DatabaseSettings;
use crate::db::outbox::{self, Claimed, Retry};
use crate::db::{DbPool, Purpose};
use crate::metrics::Metrics;
use crate::priority::Priority;

/// The worker's timing. `Default` is what `serve` uses; tests shorten it.
#[derive(Debug, Clone)]
pub struct Options {
    /// How often to look for due rows without being woken (rows queued by another
    /// instance, retries coming due).
    pub poll: Duration,
    /// How long a claim holds: longer than a send can take, so only a dead instance's
    /// claim runs out.
    pub lease: Duration,
    /// The first retry's delay; each next one doubles, up to `retry_max`.
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// Give up after this many attempts, or once a failed message is this old.
    pub max_attempts: i32,
    pub give_up_after: Duration,
    /// Rows claimed at once.
    pub batch: i64,
    /// How long the worker waits after a request woke it before claiming, so the messages
    /// of a burst of sign-ups go out in one batch: one claim and its commit for all of
    /// them instead of one per message, beside the sign-ups' own commits.
    pub gather: Duration,
    /// How long sent and failed rows are kept (they hold addresses), and how often to
    /// remove older ones.
    pub keep_sent: Duration,
    pub keep_failed: Duration,
    pub prune_every: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            poll: Duration::from_secs(5),
            lease: SMTP_TIMEOUT * 4,
            // 30 s, 1 min, 2, 4, … 4 h: twelve attempts span about 18 hours.
            retry_base: Duration::from_secs(30),
            retry_max: Duration::from_secs(4 * 3600),
            max_attempts: 12,
            give_up_after: Duration::from_secs(24 * 3600),
            batch: 20,
            gather: Duration::from_millis(250),
            keep_sent: Duration::from_secs(3 * 24 * 3600),
            keep_failed: Duration::from_secs(14 * 24 * 3600),
            prune_every: Duration::from_secs(3600),
        }
    }
}

/// Everything the worker needs besides its database connection, which it makes on its
/// own thread; [`Worker::spawn_on_own_thread`] starts it.
pub struct Worker {
    pub transport: Arc<Transport>,
    pub metrics: Arc<Metrics>,
    /// Poked by requests that queued a message.
    pub wake: Arc<Notify>,
    /// This instance's name in `outbox.claimed_by`, unique per process.
    pub instance: String,
    pub options: Options,
}

/// A started worker.
pub struct Running {
    stop: watch::Sender<bool>,
    /// Resolves when the worker has returned (or was aborted).
    finished: oneshot::Receiver<()>,
    abort: AbortHandle,
}

impl Running {
    /// Stop claiming; wait up to `grace` for the message being sent. A message cut off
    /// stays claimed until its lease runs out, then any instance sends it.
    pub async fn stop(self, grace: Duration) {
        let _ = self.stop.send(true);
        if tokio::time::timeout(grace, self.finished).await.is_err() {
            self.abort.abort();
        }
    }

    /// End at once, as a crash would (tests).
    pub fn abort(self) {
        self.abort.abort();
    }
}

/// A name for this process: host, process id and a random part, at most 64 characters.
pub fn instance_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "pesquisa".into());
    let n: u32 = rand::rng().random();
    let mut id = format!("{}-{}-{n:08x}", host, std::process::id());
    if id.len() > 64 {
        id = id.split_off(id.len() - 64);
    }
    id
}

/// The mail thread's priority: SCHED_IDLE, as the hashing threads, so that formatting,
/// writing and the database round trips of a burst of messages never delay a request
/// (bench/findings.md, session 19). The nice value only counts where SCHED_IDLE cannot
/// be set.
const MAIL_THREAD: Priority = Priority {
    nice: 10,
    sched_idle: true,
};

impl Worker {
    /// What `serve` runs: a thread of its own at the lowest CPU priority, with its own
    /// single-threaded runtime and a one-connection pool on `database` made there, so
    /// neither the worker's CPU nor its database and file wake-ups take a turn from the
    /// request runtime. Fails, naming the cause, when the thread cannot start or its
    /// database connection cannot be made.
    pub async fn spawn_on_own_thread(self, database: &DatabaseSettings) -> anyhow::Result<Running> {
        let database = DatabaseSettings {
            pool_size: 1,
            ..database.clone()
        };
        let (stop, stopped) = watch::channel(false);
        let (done, finished) = oneshot::channel();
        let (started, start) = oneshot::channel::<anyhow::Result<AbortHandle>>();
        std::thread::Builder::new()
            .name("mail".into())
            .spawn(move || {
                crate::priority::lower_this_thread(MAIL_THREAD, "mail");
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = started.send(Err(anyhow::anyhow!("its runtime: {e}")));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let db = match DbPool::connect_for(&database, Purpose::Requests).await {
                        Ok(db) => db,
                        Err(e) => {
                            let _ = started.send(Err(e));
                            return;
                        }
                    };
                    let task = tokio::spawn(async move {
                        self.run(db, stopped).await;
                        let _ = done.send(());
                    });
                    let _ = started.send(Ok(task.abort_handle()));
                    let _ = task.await;
                });
            })
            .context("mail worker: cannot start its thread")?;
        let abort = start
            .await
            .map_err(|_| anyhow::anyhow!("mail worker: its thread ended while starting"))?
            .context("mail worker")?;
        Ok(Running {
            stop,
            finished,
            abort,
        })
    }

    async fn run(self, db: DbPool, mut stopped: watch::Receiver<bool>) {
        let mut last_prune: Option<Instant> = None;
        let mut last_count: Option<Instant> = None;
        loop {
            if *stopped.borrow() {
                return;
            }
            self.drain_due(&db, &stopped).await;
            if last_prune.is_none_or(|t| t.elapsed() >= self.options.prune_every) {
                self.prune(&db).await;
                last_prune = Some(Instant::now());
            }
            // The gauge is refreshed once per poll interval, not after every wake: a
            // burst of sign-ups wakes the worker once each, and the count is a query.
            if last_count.is_none_or(|t| t.elapsed() >= self.options.poll) {
                match outbox::queued(&db).await {
                    Ok(n) => self.metrics.mail_queued(n),
                    Err(e) => tracing::debug!(error = %e, "mail: cannot count the outbox"),
                }
                last_count = Some(Instant::now());
            }
            tokio::select! {
                _ = self.wake.notified() => {
                    tokio::select! {
                        _ = tokio::time::sleep(self.options.gather) => {}
                        _ = stopped.changed() => {}
                    }
                }
                _ = tokio::time::sleep(self.options.poll) => {}
                _ = stopped.changed() => {}
            }
        }
    }

    /// Claim and send batches until nothing is due (or a stop).
    async fn drain_due(&self, db: &DbPool, stopped: &watch::Receiver<bool>) {
        loop {
            let now = crate::db::users::now();
            let until = now + chrono::Duration::from_std(self.options.lease).unwrap_or_default();
            let claimed = match outbox::claim_due(
                db,
                &self.instance,
                now,
                until,
                self.options.batch,
            )
            .await
            {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::warn!(error = %e, "mail: cannot claim queued messages; trying again shortly");
                    return;
                }
            };
            if claimed.is_empty() || *stopped.borrow() {
                return;
            }
            if self.transport.repeatable() {
                self.send_batch(db, claimed).await;
                continue;
            }
            let claimed_at = Instant::now();
            for row in claimed {
                if *stopped.borrow() {
                    return;
                }
                // A row claimed long ago in this batch could lose its lease mid-send to
                // another instance; leave it to expire and be claimed afresh.
                if claimed_at.elapsed() > self.options.lease / 2 {
                    break;
                }
                self.send_one(db, row).await;
            }
        }
    }

    /// Send one message and mark it sent at once (SMTP: sending it again would be a
    /// second mail).
    async fn send_one(&self, db: &DbPool, row: Claimed) {
        let result = self.transport.send(&row).await;
        let now = crate::db::users::now();
        match result {
            Ok(()) => {
                self.sent(&row);
                self.mark_sent(db, &[row.id], now).await;
            }
            Err(e) => self.failed(db, &row, e, now).await,
        }
    }

    /// Hand a whole batch over, then mark the messages sent in one statement: for a
    /// transport where a repeat after a crash between the two does no harm.
    async fn send_batch(&self, db: &DbPool, rows: Vec<Claimed>) {
        let results = self.transport.send_all(&rows).await;
        let now = crate::db::users::now();
        let mut sent = Vec::with_capacity(rows.len());
        for (row, result) in rows.iter().zip(results) {
            match result {
                Ok(()) => {
                    self.sent(row);
                    sent.push(row.id);
                }
                Err(e) => self.failed(db, row, e, now).await,
            }
        }
        self.mark_sent(db, &sent, now).await;
    }

    fn sent(&self, row: &Claimed) {
        self.metrics.mail("sent");
        tracing::info!(
            outbox_id = row.id,
            kind = %row.kind,
            attempt = row.attempts + 1,
            "mail sent"
        );
    }

    async fn mark_sent(&self, db: &DbPool, ids: &[i64], now: chrono::NaiveDateTime) {
        match outbox::mark_sent(db, ids, &self.instance, now).await {
            Ok(n) if n == ids.len() => {}
            Ok(n) => tracing::warn!(
                outbox_ids = ?ids,
                marked = n,
                "mail sent after its claim ran out; another instance may send it again"
            ),
            Err(e) => tracing::error!(
                outbox_ids = ?ids,
                error = %e,
                "mail sent but not marked sent; it will be sent again after the lease"
            ),
        }
    }

    /// Record a failed attempt: a retry with backoff, or given up.
    async fn failed(&self, db: &DbPool, row: &Claimed, e: SendError, now: chrono::NaiveDateTime) {
        let attempt = row.attempts + 1;
        let error = redact(&e.message, &row.recipient);
        let age = (now - row.created_at).to_std().unwrap_or_default();
        let retry = if e.permanent
            || attempt >= self.options.max_attempts
            || age >= self.options.give_up_after
        {
            Retry::GiveUp
        } else {
            let delay = backoff(&self.options, attempt, rand::rng().random_range(0.75..1.25));
            Retry::At(now + chrono::Duration::from_std(delay).unwrap_or_default())
        };
        match retry {
            Retry::GiveUp => {
                self.metrics.mail("failed");
                tracing::error!(
                    outbox_id = row.id,
                    kind = %row.kind,
                    attempt,
                    permanent = e.permanent,
                    error = %error,
                    "mail not sent; given up (admins see it at /admin/mail)"
                );
            }
            Retry::At(at) => {
                self.metrics.mail("retry");
                tracing::warn!(
                    outbox_id = row.id,
                    kind = %row.kind,
                    attempt,
                    retry_in_secs = (at - now).num_seconds(),
                    error = %error,
                    "mail not sent; will retry"
                );
            }
        }
        if let Err(db_error) =
            outbox::mark_attempt_failed(db, row.id, &self.instance, now, retry, &error).await
        {
            tracing::error!(outbox_id = row.id, error = %db_error, "mail: cannot record the failed attempt");
        }
    }

    async fn prune(&self, db: &DbPool) {
        let now = crate::db::users::now();
        let ago = |d: Duration| now - chrono::Duration::from_std(d).unwrap_or_default();
        match outbox::prune(
            db,
            ago(self.options.keep_sent),
            ago(self.options.keep_failed),
        )
        .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "mail: old outbox rows removed"),
            Err(e) => tracing::warn!(error = %e, "mail: cannot prune the outbox"),
        }
    }
}

/// The delay before attempt `failed + 1`, `jitter` (about 1) spreading retries of many
/// messages that failed together.
pub fn backoff(options: &Options, failed: i32, jitter: f64) -> Duration {
    let doublings = u32::try_from(failed.saturating_sub(1)).unwrap_or(0).min(30);
    let plain = options
        .retry_base
        .saturating_mul(1u32 << doublings)
        .min(options.retry_max);
    plain.mul_f64(jitter.clamp(0.5, 1.5))
}

/// `error` with the recipient and anything that looks like an address masked: SMTP
/// servers quote the address in refusals ("550 <ana@example.com>: no such user").
pub fn redact(error: &str, recipient: &str) -> String {
    let mut text = error.to_string();
    if !recipient.is_empty() {
        text = text.replace(recipient, "<address>");
    }
    let is_addr_char =
        |c: char| c.is_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-' | '@');
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if word.contains('@') {
            out.push_str("<address>");
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if is_addr_char(c) {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// Masks an address for admins: `j***@example.com`.
pub fn mask_address(address: &str) -> String {
    let bare = address
        .rsplit_once('<')
        .map(|(_, a)| a.trim_end_matches('>'))
        .unwrap_or(address)
        .trim();
    match bare.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let o = Options::default();
        assert_eq!(backoff(&o, 1, 1.0), Duration::from_secs(30));
        assert_eq!(backoff(&o, 2, 1.0), Duration::from_secs(60));
        assert_eq!(backoff(&o, 5, 1.0), Duration::from_secs(480));
        assert_eq!(backoff(&o, 11, 1.0), Duration::from_secs(4 * 3600));
        assert_eq!(backoff(&o, 1000, 1.0), Duration::from_secs(4 * 3600));
        assert_eq!(backoff(&o, 1, 1.2), Duration::from_secs(36));
        let total: Duration = (1..o.max_attempts).map(|n| backoff(&o, n, 1.0)).sum();
        assert!(
            (Duration::from_secs(12 * 3600)..Duration::from_secs(26 * 3600)).contains(&total),
            "attempts span about a day: {total:?}"
        );
    }

    #[test]
    fn errors_lose_every_address() {
        let e = "permanent error (550): 5.1.1 <Ana.Souza+x@example.com>: Recipient rejected; cc bob@exemplo.com.br";
        let r = redact(e, "Ana.Souza+x@example.com");
        assert!(!r.contains('@'), "{r}");
        assert!(r.contains("550") && r.contains("Recipient rejected"), "{r}");
    }

    #[test]
    fn admins_see_masked_addresses() {
        assert_eq!(mask_address("joana@example.com"), "j***@example.com");
        assert_eq!(
            mask_address("Joana <joana@example.com>"),
            "j***@example.com"
        );
        assert_eq!(mask_address("nada"), "***");
    }

    #[test]
    fn instance_ids_are_unique_and_fit_the_column() {
        let (a, b) = (instance_id(), instance_id());
        assert_ne!(a, b);
        assert!(a.len() <= 64);
    }
}
