//! argon2id hashing off the async workers.
//!
//! Hashing is CPU-bound for tens of milliseconds, so it runs on `max_concurrent` threads
//! of its own, never on the async workers, at the lowest CPU priority (Linux's SCHED_IDLE
//! and a raised nice value, both per thread: `hashing_sched_idle`, `hashing_nice`): a
//! burst of log-ins queues for a hashing thread, and any other thread that wakes takes
//! the core from a hash at once, so page serving and health checks barely notice it.
//! Unknown e-mails are verified against a dummy hash, so a log-in costs the same whether
//! or not the account exists.
//!
//! The queue is bounded (`max_queued`; beyond it [`HashError::Busy`], a 503 to retry),
//! a job whose caller has gone (its request timed out or was dropped) is skipped, and
//! [`Hasher::claim`] lets the web layer keep one verification per account in flight, so
//! one account's flood cannot fill the queue ahead of everyone else.
//!
//! Each hashing thread keeps its working memory for the next verification instead of
//! allocating it each time: freshly mapped memory costs a page fault per 4 KiB page, and
//! the static (musl) build's allocator mapped and unmapped blocks that large on every
//! call (measurements in bench/findings.md).

use std::collections::HashSet;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, PasswordHasher as _, Version};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use super::password::Password;
use crate::priority::Priority;

/// argon2id cost (OWASP minimum by default: 19 MiB, 2 passes, 1 lane) and the hashing
/// threads (`[passwords]` in the configuration).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordSettings {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    /// Hashes computed at once (one thread each); more wait. Default: the number of CPUs.
    pub max_concurrent: usize,
    /// Hashes that may wait for a thread; more are refused at once (503 with
    /// Retry-After) rather than queued behind a flood. Default 64: about a second of work
    /// for two threads at the default cost.
    pub max_queued: usize,
    /// Nice value added to the hashing threads (0 to 19), so that a burst of log-ins
    /// yields the cores to page serving. Default 10. 0 on a machine where other
    /// normal-priority work would starve the log-ins.
    pub hashing_nice: i32,
    /// Run the hashing threads under Linux's SCHED_IDLE policy (default true): any other
    /// thread that wakes up takes the core from a hash at once, where a nice value only
    /// shortens the hash's turn (bench/findings.md compares them). Where the policy cannot
    /// be set (a seccomp filter without `sched_setscheduler`), the nice value still
    /// applies.
    pub hashing_sched_idle: bool,
}

impl Default for PasswordSettings {
    fn default() -> Self {
        PasswordSettings {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
            max_concurrent: std::thread::available_parallelism().map_or(2, |n| n.get()),
            max_queued: 64,
            hashing_nice: 10,
            hashing_sched_idle: true,
        }
    }
}

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    Valid { needs_rehash: bool },
    Invalid,
}

/// A hashing thread with no work for this long frees its working memory.
const RELEASE_AFTER: std::time::Duration = std::time::Duration::from_secs(60);

/// Work for a hashing thread, given that thread's kept working memory.
type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

/// Hashes and verifies with the configured argon2id parameters.
#[derive(Clone)]
pub struct Hasher {
    params: Params,
    /// Work for the hashing threads; they stop once every clone of the sender is gone.
    jobs: mpsc::Sender<Job>,
    /// Jobs sent and not yet started, and how many may be.
    waiting: Arc<AtomicUsize>,
    max_waiting: usize,
    /// Subjects (accounts) with a verification in flight: see [`Hasher::claim`].
    claimed: Arc<Mutex<HashSet<String>>>,
    dummy: Arc<str>,
}

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// `max_queued` jobs are already waiting: try again shortly.
    #[error("the password hashing queue is full")]
    Busy,
    #[error("password hashing failed: {0}")]
    Failed(String),
}

/// A subject's verification in flight; dropping it lets the next one start.
pub struct Claim {
    claimed: Arc<Mutex<HashSet<String>>>,
    subject: String,
}

impl Drop for Claim {
    fn drop(&mut self) {
        if let Ok(mut set) = self.claimed.lock() {
            set.remove(&self.subject);
        }
    }
}

impl Hasher {
    pub fn new(settings: &PasswordSettings) -> Result<Hasher, HashError> {
        let params = Params::new(
            settings.memory_kib,
            settings.iterations,
            settings.parallelism,
            None,
        )
        .map_err(|e| HashError::Failed(e.to_string()))?;
        let dummy = dummy_hash(&params)?;
        let jobs = spawn_hashing_threads(
            settings.max_concurrent.max(1),
            Priority {
                nice: settings.hashing_nice,
                sched_idle: settings.hashing_sched_idle,
            },
            params.block_count(),
            RELEASE_AFTER,
        )?;
        Ok(Hasher::from_parts(
            params,
            jobs,
            settings.max_queued,
            dummy.into(),
        ))
    }

    fn from_parts(
        params: Params,
        jobs: mpsc::Sender<Job>,
        max_waiting: usize,
        dummy: Arc<str>,
    ) -> Hasher {
        Hasher {
            params,
            jobs,
            waiting: Arc::new(AtomicUsize::new(0)),
            max_waiting,
            claimed: Arc::default(),
            dummy,
        }
    }

    /// Jobs waiting for a hashing thread now.
    pub fn queued(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Claim the one verification `subject` may have in flight; `None` while another
    /// holds it. Per process: each instance allows one.
    pub fn claim(&self, subject: String) -> Option<Claim> {
        let mut set = self.claimed.lock().ok()?;
        set.insert(subject.clone()).then(|| Claim {
            claimed: Arc::clone(&self.claimed),
            subject,
        })
    }

    /// Run `f` on a hashing thread (queued until one is free) and wait for its result.
    /// Refused with `Busy` when the queue is full; skipped if this future is dropped
    /// before a thread takes the job.
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> Result<T, HashError> {
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(HashError::Busy);
        }
        let waiting = Arc::clone(&self.waiting);
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |memory| {
            waiting.fetch_sub(1, Ordering::SeqCst);
            // Nobody waits for the answer any more: spend no CPU on it.
            if tx.is_closed() {
                return;
            }
            let _ = tx.send(f(memory));
        });
        if self.jobs.send(job).is_err() {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(HashError::Failed("the hashing threads are gone".into()));
        }
        rx.await
            .map_err(|_| HashError::Failed("the hashing thread failed".into()))
    }

    fn argon(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// A PHC string (`$argon2id$v=19$m=…`) for storage.
    pub async fn hash(&self, password: &Password) -> Result<String, HashError> {
        let argon = self.argon();
        let password = password.clone();
        // New hashes (sign-up, password change) are rare: argon2's own allocation is fine.
        self.run(move |_| {
            argon
                .hash_password(password.bytes())
                .map(|h| h.to_string())
                .map_err(|e| HashError::Failed(e.to_string()))
        })
        .await?
    }

    /// Check `password` against `stored`, or against the dummy hash when there is no
    /// account, so both cases take the same time. `Err(Busy)` when the queue is full; a
    /// failed computation counts as a wrong password.
    pub async fn verify(
        &self,
        password: &Password,
        stored: Option<&str>,
    ) -> Result<Verified, HashError> {
        let exists = stored.is_some();
        let stored = stored.unwrap_or(&self.dummy).to_string();
        let wanted = self.params.clone();
        let password = password.clone();
        let outcome = self
            .run(move |memory| {
                let Ok(parsed) = PasswordHash::new(&stored) else {
                    return Verified::Invalid;
                };
                // Verification uses the parameters inside the stored hash, not ours.
                let valid = verify_with(memory, password.bytes(), &parsed);
                if !valid {
                    return Verified::Invalid;
                }
                let current = Params::try_from(&parsed).ok();
                let same = parsed.algorithm.as_str() == "argon2id"
                    && current.is_some_and(|p| {
                        p.m_cost() == wanted.m_cost()
                            && p.t_cost() == wanted.t_cost()
                            && p.p_cost() == wanted.p_cost()
                    });
                Verified::Valid {
                    needs_rehash: !same,
                }
            })
            .await;
        match outcome {
            Err(HashError::Busy) => Err(HashError::Busy),
            Ok(v) if exists => Ok(v),
            _ => Ok(Verified::Invalid),
        }
    }
}

/// A stored-hash look-alike with the configured cost, a random salt and a random digest:
/// verifying against it costs what a real verification costs and never succeeds. Made
/// without hashing, so start-up neither waits for argon2 nor touches its 19 MiB.
fn dummy_hash(params: &Params) -> Result<String, HashError> {
    use argon2::password_hash::phc::{Output, ParamsString, Salt};
    use rand::RngCore;
    let err = |e: argon2::password_hash::phc::Error| HashError::Failed(e.to_string());
    let (mut salt, mut digest) = ([0u8; 16], [0u8; 32]);
    rand::rng().fill_bytes(&mut salt);
    rand::rng().fill_bytes(&mut digest);
    Ok(PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(|e| HashError::Failed(e.to_string()))?,
        salt: Some(Salt::new(&salt).map_err(err)?),
        hash: Some(Output::new(&digest).map_err(err)?),
    }
    .to_string())
}

/// `n` threads taking hashing jobs from one queue, each at `priority` and each keeping
/// the working memory of `blocks` argon2 blocks (the configured cost) between jobs, until
/// it has had no job for `release_after`.
fn spawn_hashing_threads(
    n: usize,
    priority: Priority,
    blocks: usize,
    release_after: std::time::Duration,
) -> Result<mpsc::Sender<Job>, HashError> {
    let (tx, rx) = mpsc::channel::<Job>();
    let rx = Arc::new(Mutex::new(rx));
    for i in 0..n {
        let rx = Arc::clone(&rx);
        std::thread::Builder::new()
            .name(format!("argon2-{i}"))
            .spawn(move || {
                crate::priority::lower_this_thread(priority, "argon2");
                let mut memory = Vec::new();
                loop {
                    // The lock is held only while waiting for the next job.
                    let job = match rx.lock() {
                        Ok(rx) => rx.recv_timeout(release_after),
                        Err(_) => return,
                    };
                    let job = match job {
                        Ok(job) => job,
                        // No log-in for a while: give the working memory back.
                        Err(mpsc::RecvTimeoutError::Timeout) => {
                            memory = Vec::new();
                            continue;
                        }
                        Err(mpsc::RecvTimeoutError::Disconnected) => return,
                    };
                    // A panicking job drops its result sender (the caller sees a
                    // failure); the thread carries on.
                    let _ = std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut memory)));
                    // Kept only at the configured size: an old hash's larger cost is not
                    // held on to.
                    if memory.len() != blocks {
                        memory = Vec::new();
                    }
                }
            })
            .map_err(|e| HashError::Failed(format!("cannot start a hashing thread: {e}")))?;
    }
    Ok(tx)
}

/// Whether `password` gives the hash stored in `parsed` (its algorithm, version, cost and
/// salt), computed in `memory`, which is grown to the size the cost needs.
fn verify_with(memory: &mut Vec<Block>, password: &[u8], parsed: &PasswordHash) -> bool {
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm.as_str()) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::V0x13,
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let Ok(params) = Params::try_from(parsed) else {
        return false;
    };
    let expected = expected.as_bytes();
    let mut out = [0u8; 64];
    let Some(out) = out.get_mut(..expected.len()) else {
        return false;
    };
    let blocks = params.block_count();
    if memory.len() != blocks {
        memory.resize(blocks, Block::default());
    }
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt, out, &mut memory[..])
        .is_ok()
        && crate::crypto::constant_time_eq_bytes(out, expected)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_os = "linux")]
    use crate::priority::policy_of_this_thread;

    fn fast() -> PasswordSettings {
        PasswordSettings {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
            max_concurrent: 2,
            max_queued: 64,
            hashing_nice: 10,
            hashing_sched_idle: true,
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn hashing_threads_keep_working_memory_only_while_busy() {
        let params = Params::new(1024, 1, 1, None).expect("params");
        let blocks = params.block_count();
        let release = std::time::Duration::from_millis(200);
        let jobs = spawn_hashing_threads(
            1,
            Priority {
                nice: 0,
                sched_idle: false,
            },
            blocks,
            release,
        )
        .expect("threads");
        let dummy = dummy_hash(&params).expect("dummy").into();
        let h = Hasher::from_parts(params, jobs, 8, dummy);
        let pw = Password::any("cavalo correto bateria");
        let stored = h
            .argon()
            .hash_password(pw.bytes())
            .expect("hash")
            .to_string();
        assert!(matches!(
            h.verify(&pw, Some(&stored)).await.expect("queued"),
            Verified::Valid { .. }
        ));
        // Kept for the next verification...
        assert_eq!(h.run(|m| m.len()).await.ok(), Some(blocks));
        // ...and given back once no job came for `release`.
        tokio::time::sleep(release * 3).await;
        assert_eq!(h.run(|m| m.len()).await.ok(), Some(0));
        // A hash of another cost is computed, but its memory is not kept.
        let bigger = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(2048, 1, 1, None).expect("params"),
        )
        .hash_password(pw.bytes())
        .expect("hash")
        .to_string();
        assert!(matches!(
            h.verify(&pw, Some(&bigger)).await.expect("queued"),
            Verified::Valid { needs_rehash: true }
        ));
        assert_eq!(h.run(|m| m.len()).await.ok(), Some(0));
    }

    /// Wait (a little) until `cond` holds.
    async fn eventually(cond: impl Fn() -> bool) {
        for _ in 0..200 {
            if cond() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        panic!("condition not met within a second");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_queue_is_bounded_and_a_job_whose_caller_left_is_skipped() {
        let params = Params::new(1024, 1, 1, None).expect("params");
        let jobs = spawn_hashing_threads(
            1,
            Priority {
                nice: 0,
                sched_idle: false,
            },
            params.block_count(),
            RELEASE_AFTER,
        )
        .expect("threads");
        let dummy = dummy_hash(&params).expect("dummy").into();
        let h = Hasher::from_parts(params, jobs, 2, dummy);

        // The one thread is busy until released.
        let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let holder = {
            let h = h.clone();
            tokio::spawn(async move {
                h.run(move |_| {
                    started_tx.send(()).ok();
                    release_rx.recv().ok();
                })
                .await
            })
        };
        tokio::task::spawn_blocking(move || started_rx.recv())
            .await
            .expect("join")
            .expect("started");

        // Two may wait; a third is refused at once.
        let ran = Arc::new(AtomicUsize::new(0));
        let waiter = |h: &Hasher| {
            let (h, ran) = (h.clone(), Arc::clone(&ran));
            tokio::spawn(async move { h.run(move |_| ran.fetch_add(1, Ordering::SeqCst)).await })
        };
        let leaves = waiter(&h);
        let stays = waiter(&h);
        eventually(|| h.queued() == 2).await;
        assert!(matches!(h.run(|_| ()).await, Err(HashError::Busy)));

        // One caller leaves before a thread takes its job: the job is skipped.
        leaves.abort();
        assert!(leaves.await.expect_err("aborted").is_cancelled());
        release_tx.send(()).expect("release");
        holder.await.expect("join").expect("ran");
        stays.await.expect("join").expect("ran");
        eventually(|| h.queued() == 0).await;
        assert_eq!(
            ran.load(Ordering::SeqCst),
            1,
            "only the waiting caller's job ran"
        );
        assert_eq!(h.run(|_| 7).await.ok(), Some(7), "room again");
    }

    #[test]
    fn one_claim_per_subject_until_it_is_dropped() {
        let h = Hasher::new(&fast()).expect("hasher");
        let first = h.claim("conta-1".into()).expect("free");
        assert!(h.claim("conta-1".into()).is_none());
        let _other = h.claim("conta-2".into()).expect("another subject");
        drop(first);
        assert!(h.claim("conta-1".into()).is_some());
    }

    #[cfg(target_os = "linux")]
    #[tokio::test(flavor = "multi_thread")]
    async fn hashing_threads_run_at_a_lower_priority() {
        let h = Hasher::new(&fast()).expect("hasher");
        let ours = rustix::process::getpriority_process(None).expect("nice");
        assert_eq!(
            policy_of_this_thread(),
            Some(0),
            "the test itself runs under SCHED_OTHER"
        );
        let (nice, policy_there) = priority_of_hashing(&h).await;
        assert_eq!(nice, (ours + 10).min(19));
        assert_eq!(policy_there, crate::priority::SCHED_IDLE);
        // A panicking job fails its caller only; the threads carry on.
        assert!(h.run(|_| -> u8 { panic!("boom") }).await.is_err());
        assert_eq!(h.run(|_| 7).await.ok(), Some(7));

        // Both can be turned off.
        let normal = Hasher::new(&PasswordSettings {
            hashing_nice: 0,
            hashing_sched_idle: false,
            ..fast()
        })
        .expect("hasher");
        assert_eq!(priority_of_hashing(&normal).await, (ours, 0));
    }

    /// The nice value and scheduling policy of a hashing thread of `h`.
    #[cfg(target_os = "linux")]
    async fn priority_of_hashing(h: &Hasher) -> (i32, u32) {
        h.run(|_| {
            let nice = rustix::process::getpriority_process(None).expect("nice");
            (nice, policy_of_this_thread().expect("policy"))
        })
        .await
        .expect("ran")
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn hashes_are_argon2id_and_verify() {
        let h = Hasher::new(&fast()).expect("hasher");
        let pw = Password::any("cavalo correto bateria");
        let stored = h.hash(&pw).await.expect("hash");
        assert!(
            stored.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"),
            "{stored}"
        );
        assert_eq!(
            h.verify(&pw, Some(&stored)).await.expect("queued"),
            Verified::Valid {
                needs_rehash: false
            }
        );
        assert_eq!(
            h.verify(&Password::any("outra senha qualquer"), Some(&stored))
                .await
                .expect("queued"),
            Verified::Invalid
        );
        assert_eq!(
            h.verify(&pw, None).await.expect("queued"),
            Verified::Invalid
        );
        // The dummy for unknown accounts has the configured cost, so it takes as long.
        let dummy = PasswordHash::new(&h.dummy).expect("dummy parses");
        assert_eq!(dummy.algorithm.as_str(), "argon2id");
        let p = Params::try_from(&dummy).expect("params");
        assert_eq!((p.m_cost(), p.t_cost(), p.p_cost()), (1024, 1, 1));
        assert_eq!(dummy.hash.map(|o| o.len()), Some(32));
        assert_eq!(
            h.verify(&pw, Some("not a hash")).await.expect("queued"),
            Verified::Invalid
        );

        let stronger = Hasher::new(&PasswordSettings {
            memory_kib: 2048,
            ..fast()
        })
        .expect("hasher");
        assert_eq!(
            stronger.verify(&pw, Some(&stored)).await.expect("queued"),
            Verified::Valid { needs_rehash: true }
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn verification_agrees_with_argon2_and_reuses_its_memory() {
        let h = Hasher::new(&fast()).expect("hasher");
        let pw = Password::any("cavalo correto bateria");
        // Hashes made by the argon2 crate itself: other variants, versions, costs, lengths.
        for (alg, version, m, t, len) in [
            (Algorithm::Argon2id, Version::V0x13, 1024, 1, 32),
            (Algorithm::Argon2id, Version::V0x13, 2048, 2, 64),
            (Algorithm::Argon2i, Version::V0x13, 1024, 1, 32),
            (Algorithm::Argon2d, Version::V0x10, 1024, 1, 16),
        ] {
            let params = Params::new(m, t, 1, Some(len)).expect("params");
            let stored = Argon2::new(alg, version, params)
                .hash_password(pw.bytes())
                .expect("hash")
                .to_string();
            assert!(
                matches!(
                    h.verify(&pw, Some(&stored)).await.expect("queued"),
                    Verified::Valid { .. }
                ),
                "{stored}"
            );
            let wrong = Password::any("cavalo correto bateriA");
            assert_eq!(
                h.verify(&wrong, Some(&stored)).await.expect("queued"),
                Verified::Invalid
            );
            // A tampered digest (last character) is refused.
            let mut tampered = stored.clone();
            let last = tampered.pop().expect("char");
            tampered.push(if last == 'A' { 'B' } else { 'A' });
            assert_eq!(
                h.verify(&pw, Some(&tampered)).await.expect("queued"),
                Verified::Invalid
            );
        }
        // The working memory handed in is sized for the hash's cost and reused.
        let mut memory = Vec::new();
        let params = Params::new(2048, 1, 1, None).expect("params");
        let stored = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
            .hash_password(pw.bytes())
            .expect("hash")
            .to_string();
        let parsed = PasswordHash::new(&stored).expect("parse");
        assert!(verify_with(&mut memory, pw.bytes(), &parsed));
        assert_eq!(memory.len(), params.block_count());
        assert!(
            verify_with(&mut memory, pw.bytes(), &parsed),
            "reused memory"
        );
    }
}
