//! The key-value store behind sessions and rate limits: Redis when `redis.url` is set
//! (shared by every instance), otherwise an in-process map (the embedded default).
//!
//! Both offer the same small set of operations with expiry, so session and rate-limit
//! code is written once. Keys are given without the configured prefix; Redis keys get
//! it added here, so an ACL can confine the app user to `~prefix*`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bb8_redis::RedisConnectionManager;
use bb8_redis::redis::{self, AsyncCommands};

use crate::config::RedisSettings;
use crate::pool::{Tracked, Warm};

/// What a store operation can fail with: the store could not be reached or answered badly.
#[derive(Debug, thiserror::Error)]
#[error("session store unavailable: {0}")]
pub struct KvError(pub String);

impl From<redis::RedisError> for KvError {
    fn from(e: redis::RedisError) -> Self {
        KvError(e.to_string())
    }
}

impl<E: std::fmt::Display> From<bb8::RunError<E>> for KvError {
    fn from(e: bb8::RunError<E>) -> Self {
        match e {
            bb8::RunError::User(e) => KvError(e.to_string()),
            bb8::RunError::TimedOut => KvError("timed out waiting for a connection".into()),
        }
    }
}

/// Runs one Redis command or pipeline `$op` (a future, given `$c: &mut` connection) on a
/// pooled connection and gives its value, with a Redis error turned into [`KvError`]
/// through `?`. Success marks the connection warm (no `PING` at the next check-out, see
/// [`crate::pool`]); an error leaves it to be tested.
macro_rules! redis_op {
    ($pool:expr, |$c:ident| $op:expr) => {{
        let mut pooled = $pool.get().await?;
        let result: Result<_, redis::RedisError> = {
            let $c = &mut pooled.conn;
            $op.await
        };
        pooled.record(result)?
    }};
}

/// The pooled Redis connections, named and tested as [`crate::pool`] describes.
pub type RedisPool = bb8::Pool<Warm<RedisConnectionManager>>;

/// The name each connection gives itself (`CLIENT SETNAME`): the key prefix without its
/// trailing separator, spaces replaced (Redis refuses them), so `CLIENT LIST` on the DB
/// host tells the app's connections apart.
pub fn client_name(prefix: &str) -> String {
    let name: String = prefix
        .trim_end_matches([':', '-', '_'])
        .chars()
        .map(|c| if c.is_ascii_graphic() { c } else { '_' })
        .collect();
    if name.is_empty() {
        "pesquisa".into()
    } else {
        name
    }
}

/// Names every new Redis connection. A refusal (an ACL without `client|setname`) is not
/// fatal: the connection works unnamed.
#[derive(Debug)]
struct ClientName(String);

impl bb8::CustomizeConnection<Tracked<redis::aio::MultiplexedConnection>, redis::RedisError>
    for ClientName
{
    fn on_acquire<'a>(
        &'a self,
        conn: &'a mut Tracked<redis::aio::MultiplexedConnection>,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<(), redis::RedisError>> + Send + 'a>> {
        Box::pin(async move {
            let named: Result<(), _> = redis::cmd("CLIENT")
                .arg("SETNAME")
                .arg(&self.0)
                .query_async(&mut conn.conn)
                .await;
            if let Err(e) = named {
                tracing::debug!(error = %e, "redis: CLIENT SETNAME refused; connection unnamed");
            }
            Ok(())
        })
    }
}

/// The store; cheap to clone.
#[derive(Clone)]
pub enum Kv {
    Redis { pool: RedisPool, prefix: Arc<str> },
    Memory(Arc<MemoryStore>),
}

impl Kv {
    /// Connect according to the settings. With Redis configured, one PING is made first
    /// so that a wrong address or password fails start-up with the cause.
    pub async fn connect(settings: &RedisSettings) -> anyhow::Result<Kv> {
        let Some(url) = settings.full_url()? else {
            return Ok(Kv::memory());
        };
        let timeout = Duration::from_secs(settings.connect_timeout_secs);
        let kv = Kv::redis_lazy(&url, &settings.key_prefix, settings.pool_size, timeout)?;
        // Surface the real error (refused, auth) rather than bb8's timeout.
        let client = redis::Client::open(url.as_str())
            .map_err(|e| anyhow::anyhow!("redis: bad redis.url: {e}"))?;
        let mut conn = tokio::time::timeout(timeout, client.get_multiplexed_async_connection())
            .await
            .map_err(|_| anyhow::anyhow!("redis: no answer within {}s", timeout.as_secs()))?
            .map_err(|e| anyhow::anyhow!("redis: cannot connect: {e}"))?;
        let _: String = redis::cmd("PING")
            .query_async(&mut conn)
            .await
            .map_err(|e| anyhow::anyhow!("redis: PING failed: {e}"))?;
        Ok(kv)
    }

    /// A Redis-backed store that connects on first use (no start-up probe).
    pub fn redis_lazy(
        url: &str,
        prefix: &str,
        pool_size: u32,
        timeout: Duration,
    ) -> anyhow::Result<Kv> {
        let manager = RedisConnectionManager::new(url)
            .map_err(|e| anyhow::anyhow!("redis: bad redis.url: {e}"))?;
        let pool = bb8::Pool::builder()
            .max_size(pool_size)
            .connection_timeout(timeout)
            // The most recently returned connection first, so the warm ones are reused.
            .queue_strategy(bb8::QueueStrategy::Lifo)
            .connection_customizer(Box::new(ClientName(client_name(prefix))))
            .build_unchecked(Warm(manager));
        Ok(Kv::Redis {
            pool,
            prefix: prefix.into(),
        })
    }

    /// The Redis client ids of this store's pooled connections (named by
    /// [`client_name`]), as `CLIENT LIST` shows them; empty for the in-process store.
    /// The pool tests find the app's connections this way.
    pub async fn client_ids(&self) -> Result<Vec<u64>, KvError> {
        let Kv::Redis { pool, prefix } = self else {
            return Ok(Vec::new());
        };
        let field = format!("name={}", client_name(prefix));
        let list: String = redis_op!(pool, |c| redis::cmd("CLIENT").arg("LIST").query_async(c));
        Ok(list
            .lines()
            .filter(|line| line.split(' ').any(|f| f == field))
            .filter_map(|line| line.split(' ').find_map(|f| f.strip_prefix("id=")))
            .filter_map(|id| id.parse().ok())
            .collect())
    }

    /// A fresh in-process store.
    pub fn memory() -> Kv {
        Kv::Memory(Arc::new(MemoryStore::default()))
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Kv::Redis { .. } => "redis",
            Kv::Memory(_) => "memory",
        }
    }

    fn key(prefix: &str, key: &str) -> String {
        format!("{prefix}{key}")
    }

    /// The Redis pool's size and waits, for the metrics (none in memory).
    pub fn pool_sample(&self) -> Option<crate::metrics::PoolSample> {
        match self {
            Kv::Redis { pool, .. } => Some(crate::pool::sample("sessions", &pool.state())),
            Kv::Memory(_) => None,
        }
    }

    /// Answer proves the store is reachable.
    pub async fn ping(&self) -> Result<(), KvError> {
        match self {
            Kv::Redis { pool, .. } => {
                let _: String = redis_op!(pool, |c| redis::cmd("PING").query_async(c));
                Ok(())
            }
            Kv::Memory(_) => Ok(()),
        }
    }

    pub async fn get(&self, key: &str) -> Result<Option<String>, KvError> {
        match self {
            Kv::Redis { pool, prefix } => Ok(redis_op!(pool, |c| c.get(Self::key(prefix, key)))),
            Kv::Memory(m) => Ok(m.get(key)),
        }
    }

    /// Set `key` to `value`, expiring after `ttl`.
    pub async fn set(&self, key: &str, value: &str, ttl: Duration) -> Result<(), KvError> {
        match self {
            Kv::Redis { pool, prefix } => {
                let secs = ttl.as_secs().max(1);
                let _: () = redis_op!(pool, |c| c.set_ex(Self::key(prefix, key), value, secs));
                Ok(())
            }
            Kv::Memory(m) => {
                m.set(key, value, ttl);
                Ok(())
            }
        }
    }

    /// Replace the value of `key`, expiring after `ttl`, only if the key still exists
    /// (Redis `SET … XX`); returns whether it did. A session being saved at the end of a
    /// request is written this way, so a session deleted meanwhile (all of a user's
    /// sessions ended) is not brought back.
    pub async fn set_existing(
        &self,
        key: &str,
        value: &str,
        ttl: Duration,
    ) -> Result<bool, KvError> {
        match self {
            Kv::Redis { pool, prefix } => {
                let secs = ttl.as_secs().max(1);
                let done: Option<String> = redis_op!(pool, |c| redis::cmd("SET")
                    .arg(Self::key(prefix, key))
                    .arg(value)
                    .arg("EX")
                    .arg(secs)
                    .arg("XX")
                    .query_async(c));
                Ok(done.is_some())
            }
            Kv::Memory(m) => Ok(m.set_existing(key, value, ttl)),
        }
    }

    /// Whether `key` holds a live value.
    pub async fn exists(&self, key: &str) -> Result<bool, KvError> {
        match self {
            Kv::Redis { pool, prefix } => {
                let n: i64 = redis_op!(pool, |c| c.exists(Self::key(prefix, key)));
                Ok(n > 0)
            }
            Kv::Memory(m) => Ok(m.exists(key)),
        }
    }

    pub async fn delete(&self, key: &str) -> Result<(), KvError> {
        match self {
            Kv::Redis { pool, prefix } => {
                let _: i64 = redis_op!(pool, |c| c.del(Self::key(prefix, key)));
                Ok(())
            }
            Kv::Memory(m) => {
                m.delete(key);
                Ok(())
            }
        }
    }

    /// Count one hit in a fixed window starting at the first hit; returns the count so far
    /// and the time until the window ends. Used by rate limits.
    pub async fn hit(&self, key: &str, window: Duration) -> Result<(u64, Duration), KvError> {
        match self {
            Kv::Redis { pool, prefix } => {
                let full = Self::key(prefix, key);
                let millis = window.as_millis().max(1) as u64;
                // One round trip, and no MULTI/EXEC: Redis 7.0 drops a MULTI block when it
                // replays the append-only file under an ACL that disables the default user
                // (as deploy/db-host/redis.conf does), so a restart forgot every counter.
                // Without the block each step is safe alone: SET NX gives a new key its
                // window's expiry before INCR counts, PEXPIRE NX (which keeps the window's
                // start) covers a key that expired in between.
                let (_, count, _, ttl): (Option<String>, u64, i64, i64) =
                    redis_op!(pool, |c| redis::pipe()
                        .cmd("SET")
                        .arg(&full)
                        .arg(0)
                        .arg("PX")
                        .arg(millis)
                        .arg("NX")
                        .incr(&full, 1)
                        .cmd("PEXPIRE")
                        .arg(&full)
                        .arg(millis)
                        .arg("NX")
                        .pttl(&full)
                        .query_async(c));
                let left = if ttl > 0 { ttl as u64 } else { millis };
                Ok((count, Duration::from_millis(left)))
            }
            Kv::Memory(m) => Ok(m.hit(key, window)),
        }
    }

    /// Add `member` to the set at `key` and (re)set the set's expiry.
    pub async fn set_add(&self, key: &str, member: &str, ttl: Duration) -> Result<(), KvError> {
        match self {
            Kv::Redis { pool, prefix } => {
                let full = Self::key(prefix, key);
                let _: (i64, i64) = redis_op!(pool, |c| redis::pipe()
                    .sadd(&full, member)
                    .expire(&full, ttl.as_secs().max(1) as i64)
                    .query_async(c));
                Ok(())
            }
            Kv::Memory(m) => {
                m.set_add(key, member, ttl);
                Ok(())
            }
        }
    }

    pub async fn set_remove(&self, key: &str, member: &str) -> Result<(), KvError> {
        match self {
            Kv::Redis { pool, prefix } => {
                let _: i64 = redis_op!(pool, |c| c.srem(Self::key(prefix, key), member));
                Ok(())
            }
            Kv::Memory(m) => {
                m.set_remove(key, member);
                Ok(())
            }
        }
    }

    pub async fn set_members(&self, key: &str) -> Result<Vec<String>, KvError> {
        match self {
            Kv::Redis { pool, prefix } => {
                Ok(redis_op!(pool, |c| c.smembers(Self::key(prefix, key))))
            }
            Kv::Memory(m) => Ok(m.set_members(key)),
        }
    }

    /// Delete every key under this store's prefix (tests clean up with it).
    pub async fn clear_prefix(&self) -> Result<u64, KvError> {
        match self {
            Kv::Redis { pool, prefix } => {
                let mut conn = pool.get().await?;
                let mut removed = 0;
                for keys in scan_prefix(&mut conn.conn, prefix).await? {
                    let n: u64 = conn.del(&keys).await?;
                    removed += n;
                }
                Ok(removed)
            }
            Kv::Memory(m) => Ok(m.clear()),
        }
    }

    /// How many live keys this store holds under its prefix (what visitors made it keep).
    pub async fn key_count(&self) -> Result<u64, KvError> {
        match self {
            Kv::Redis { pool, prefix } => {
                let mut conn = pool.get().await?;
                let batches = scan_prefix(&mut conn.conn, prefix).await?;
                Ok(batches.iter().map(|b| b.len() as u64).sum())
            }
            Kv::Memory(m) => Ok(m.live_count()),
        }
    }
}

/// Every key starting with `prefix`, in the batches `SCAN` returns them.
async fn scan_prefix(
    conn: &mut redis::aio::MultiplexedConnection,
    prefix: &str,
) -> Result<Vec<Vec<String>>, KvError> {
    let pattern = format!("{prefix}*");
    let mut cursor: u64 = 0;
    let mut batches = Vec::new();
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(500)
            .query_async(conn)
            .await?;
        if !keys.is_empty() {
            batches.push(keys);
        }
        if next == 0 {
            return Ok(batches);
        }
        cursor = next;
    }
}

enum Value {
    Text(String),
    Counter(u64),
    Set(HashSet<String>),
}

struct Entry {
    value: Value,
    expires: Instant,
}

/// The in-process store: a map with expiry, swept as it grows.
#[derive(Default)]
pub struct MemoryStore {
    map: Mutex<HashMap<String, Entry>>,
}

impl MemoryStore {
    fn with_map<R>(&self, f: impl FnOnce(&mut HashMap<String, Entry>, Instant) -> R) -> R {
        // A poisoned lock only means another request panicked mid-update of a cache entry;
        // the map itself is still usable.
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if map.len() > 10_000 && map.len().is_power_of_two() {
            map.retain(|_, e| e.expires > now);
        }
        f(&mut map, now)
    }

    fn live<'a>(
        map: &'a mut HashMap<String, Entry>,
        key: &str,
        now: Instant,
    ) -> Option<&'a mut Entry> {
        if map.get(key).is_some_and(|e| e.expires <= now) {
            map.remove(key);
        }
        map.get_mut(key)
    }

    fn get(&self, key: &str) -> Option<String> {
        // Counters read back as their decimal text, as Redis answers GET on an INCR key.
        self.with_map(|map, now| match Self::live(map, key, now) {
            Some(Entry {
                value: Value::Text(s),
                ..
            }) => Some(s.clone()),
            Some(Entry {
                value: Value::Counter(n),
                ..
            }) => Some(n.to_string()),
            _ => None,
        })
    }

    fn set(&self, key: &str, value: &str, ttl: Duration) {
        self.with_map(|map, now| {
            map.insert(
                key.to_string(),
                Entry {
                    value: Value::Text(value.to_string()),
                    expires: now + ttl,
                },
            );
        })
    }

    fn set_existing(&self, key: &str, value: &str, ttl: Duration) -> bool {
        self.with_map(|map, now| match Self::live(map, key, now) {
            Some(entry) => {
                entry.value = Value::Text(value.to_string());
                entry.expires = now + ttl;
                true
            }
            None => false,
        })
    }

    fn exists(&self, key: &str) -> bool {
        self.with_map(|map, now| Self::live(map, key, now).is_some())
    }

    fn delete(&self, key: &str) {
        self.with_map(|map, _| {
            map.remove(key);
        })
    }

    fn hit(&self, key: &str, window: Duration) -> (u64, Duration) {
        self.with_map(|map, now| {
            if let Some(entry) = Self::live(map, key, now)
                && let Value::Counter(n) = &mut entry.value
            {
                *n += 1;
                return (*n, entry.expires - now);
            }
            map.insert(
                key.to_string(),
                Entry {
                    value: Value::Counter(1),
                    expires: now + window,
                },
            );
            (1, window)
        })
    }

    fn set_add(&self, key: &str, member: &str, ttl: Duration) {
        self.with_map(|map, now| {
            let entry = match Self::live(map, key, now) {
                Some(e) if matches!(e.value, Value::Set(_)) => e,
                _ => map
                    .entry(key.to_string())
                    .insert_entry(Entry {
                        value: Value::Set(HashSet::new()),
                        expires: now,
                    })
                    .into_mut(),
            };
            entry.expires = now + ttl;
            if let Value::Set(s) = &mut entry.value {
                s.insert(member.to_string());
            }
        })
    }

    fn set_remove(&self, key: &str, member: &str) {
        self.with_map(|map, now| {
            if let Some(Entry {
                value: Value::Set(s),
                ..
            }) = Self::live(map, key, now)
            {
                s.remove(member);
            }
        })
    }

    fn set_members(&self, key: &str) -> Vec<String> {
        self.with_map(|map, now| match Self::live(map, key, now) {
            Some(Entry {
                value: Value::Set(s),
                ..
            }) => s.iter().cloned().collect(),
            _ => Vec::new(),
        })
    }

    fn clear(&self) -> u64 {
        self.with_map(|map, _| {
            let n = map.len() as u64;
            map.clear();
            n
        })
    }

    fn live_count(&self) -> u64 {
        self.with_map(|map, now| map.values().filter(|e| e.expires > now).count() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_store_expires_and_counts() {
        let m = MemoryStore::default();
        m.set("a", "1", Duration::from_millis(30));
        assert_eq!(m.get("a").as_deref(), Some("1"));
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(m.get("a"), None);

        assert_eq!(m.hit("h", Duration::from_millis(50)).0, 1);
        assert_eq!(m.hit("h", Duration::from_millis(50)).0, 2);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(m.hit("h", Duration::from_millis(50)).0, 1);

        m.set_add("s", "x", Duration::from_secs(5));
        m.set_add("s", "y", Duration::from_secs(5));
        m.set_remove("s", "x");
        assert_eq!(m.set_members("s"), vec!["y".to_string()]);
    }

    #[test]
    fn memory_store_set_existing_never_recreates_a_deleted_key() {
        let m = MemoryStore::default();
        assert!(!m.set_existing("k", "1", Duration::from_secs(5)));
        assert_eq!(m.get("k"), None);
        m.set("k", "1", Duration::from_secs(5));
        assert!(m.set_existing("k", "2", Duration::from_secs(5)));
        assert_eq!(m.get("k").as_deref(), Some("2"));
        m.delete("k");
        assert!(!m.set_existing("k", "3", Duration::from_secs(5)));
        assert!(!m.exists("k"));
    }
}
