//! Storage: one pool type over two backends, MariaDB (production) and SQLite (the
//! embedded default), and the [`with_conn!`](crate::with_conn) macro that runs one query
//! body on either.
//!
//! Why an enum and a macro: `diesel::MultiConnection` cannot wrap the async MySQL
//! connection, so every model function is written once inside `with_conn!`, which expands
//! it for each arm with that arm's connection type.

pub mod audit;
pub mod backup;
pub mod batches;
pub mod census;
pub mod consents;
pub mod email_tokens;
pub mod erasure;
pub mod fingerprints;
pub mod identities;
pub mod migrations;
pub mod outbox;
pub mod paradata;
pub mod prepared;
pub mod progress;
pub mod quality;
pub mod quota_places;
pub mod quotas;
pub mod respondents;
pub mod responses;
pub mod schema;
pub mod staff_totp;
mod stamp;
pub mod users;

use std::path::Path;
use std::time::Duration;

use diesel::SqliteConnection;
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig};
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use diesel_async::{AsyncConnection, AsyncMysqlConnection, RunQueryDsl, SimpleAsyncConnection};
use futures_util::FutureExt;

use crate::config::{DatabaseKind, DatabaseSettings};
use crate::pool::{Tracked, Warm};

pub type SqliteConn = SyncConnectionWrapper<SqliteConnection>;
/// MariaDB connections, tested at check-out only when not used successfully just before
/// (see [`crate::pool`]).
pub type MysqlPool = bb8::Pool<Warm<AsyncDieselConnectionManager<AsyncMysqlConnection>>>;
/// SQLite connections: a file cannot go away like a server, so no check-out test.
pub type SqlitePool = bb8::Pool<AsyncDieselConnectionManager<SqliteConn>>;

/// A pool of connections to whichever backend the configuration names.
#[derive(Clone)]
pub enum DbPool {
    Mysql(MysqlPool),
    Sqlite(SqlitePool),
}

/// What a model function can fail with.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// No connection could be had: the database is down, unreachable or saturated.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
}

impl DbError {
    /// True for a unique-constraint violation (MariaDB gives no constraint name).
    pub fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            DbError::Query(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _
            ))
        )
    }
}

/// Parts of an error message that mean the connection itself was lost: mysql_async's I/O
/// and driver errors (diesel-async passes them on as text), the server closing it.
const CONNECTION_LOST_MESSAGES: [&str; 4] = [
    "Input/output error",
    "Driver error",
    "Other error",
    "Connection to the server is closed",
];

/// Parts of an error message that mean the database, not the query, failed although the
/// connection stands: the statement hit its time or lock bound, or SQLite could not lock
/// or write.
const BOUND_MESSAGES: [&str; 6] = [
    "max_statement_time exceeded",
    "Lock wait timeout exceeded",
    "Deadlock found",
    "database is locked",
    "database or disk is full",
    "disk I/O error",
];

impl DbError {
    /// True when the database could not do the work (a broken connection, a statement or
    /// lock timeout, a full or locked SQLite file): an outage to answer with 503, not a
    /// bug. A query the database refused for what it asked (a constraint, bad SQL) is not.
    pub fn is_outage(&self) -> bool {
        use diesel::result::Error;
        match self {
            DbError::Unavailable(_) => true,
            DbError::Query(Error::DatabaseError(_, info))
                if BOUND_MESSAGES.iter().any(|m| info.message().contains(m)) =>
            {
                true
            }
            _ => self.is_connection_lost(),
        }
    }

    /// True when the connection the query ran on is gone (the server restarted or closed
    /// it, the network broke), as opposed to a database that is slow, locked or refusing:
    /// the one outage a new connection may cure at once (see [`read_conn!`](crate::read_conn)).
    pub fn is_connection_lost(&self) -> bool {
        use diesel::result::{DatabaseErrorKind, Error};
        match self {
            DbError::Query(Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _)) => true,
            DbError::Query(Error::DatabaseError(_, info)) => CONNECTION_LOST_MESSAGES
                .iter()
                .any(|m| info.message().contains(m)),
            DbError::Query(Error::BrokenTransactionManager) => true,
            _ => false,
        }
    }
}

impl<E: std::fmt::Display> From<bb8::RunError<E>> for DbError {
    fn from(e: bb8::RunError<E>) -> Self {
        match e {
            bb8::RunError::User(e) => DbError::Unavailable(e.to_string()),
            bb8::RunError::TimedOut => {
                DbError::Unavailable("timed out waiting for a connection".into())
            }
        }
    }
}

/// Runs `$body` with `$conn: &mut Connection` on whichever backend `$pool` holds, and
/// gives its `Result<_, DbError>` (a `?` inside the body ends the body, not the caller).
/// The body is expanded once per backend, so it must compile for both. On MariaDB an `Ok`
/// marks the connection warm (no test at the next check-out, see [`crate::pool`]), an
/// `Err` leaves it to be tested, and a body that never finishes (its request timed out)
/// leaves it marked in use, so the pool closes it rather than hand out its unread rows.
/// SQLite needs no mark: its work runs to the end on a blocking thread either way.
#[macro_export]
macro_rules! with_conn {
    ($pool:expr, |$conn:ident| $body:expr) => {
        match $pool {
            $crate::db::DbPool::Mysql(pool) => {
                let mut pooled = pool.get().await.map_err($crate::db::DbError::from)?;
                pooled.begin();
                let result: ::std::result::Result<_, $crate::db::DbError> = async {
                    let $conn = &mut pooled.conn;
                    $body
                }
                .await;
                pooled.record(result)
            }
            $crate::db::DbPool::Sqlite(pool) => {
                let mut pooled = pool.get().await.map_err($crate::db::DbError::from)?;
                let result: ::std::result::Result<_, $crate::db::DbError> = async {
                    let $conn = &mut *pooled;
                    $body
                }
                .await;
                result
            }
        }
    };
}

/// [`with_conn!`] for a read: a body of SELECTs only, safe to run twice. When its pooled
/// MariaDB connection turns out to be lost ([`DbError::is_connection_lost`]: a server
/// restart, a `KILL`, a broken network; a connection used just before is handed out
/// untested, see [`crate::pool`]), the body runs once more on a connection made for it,
/// which then joins the pool. So a page read after a restart is served instead of
/// answering 503 for the pool's stale connections. Writes use [`with_conn!`]: a write
/// whose connection broke may have committed, and running it again could apply it twice.
#[macro_export]
macro_rules! read_conn {
    ($pool:expr, |$conn:ident| $body:expr) => {{
        let pool: &$crate::db::DbPool = $pool;
        match $crate::with_conn!(pool, |$conn| $body) {
            Err(lost) if lost.is_connection_lost() => match pool {
                $crate::db::DbPool::Mysql(mysql) => {
                    ::tracing::info!(error = %lost, "database connection lost; read retried on a new connection");
                    let mut fresh = $crate::db::new_connection(mysql).await?;
                    let result: ::std::result::Result<_, $crate::db::DbError> = async {
                        let $conn = &mut fresh.conn;
                        $body
                    }
                    .await;
                    let result = fresh.record(result);
                    if result.is_ok() {
                        // A full pool refuses it; it is then simply closed.
                        let _ = mysql.add(fresh);
                    }
                    result
                }
                $crate::db::DbPool::Sqlite(_) => Err(lost),
            },
            other => other,
        }
    }};
}

/// How long [`read_conn!`]'s retry may take to connect (the pool's own connection timeout
/// is not readable from bb8; a web request is bounded by its timeout in any case).
const NEW_CONNECTION_TIMEOUT: Duration = Duration::from_secs(5);

/// A new MariaDB connection made outside the pool's queue (set up like the pool's own),
/// for [`read_conn!`]'s retry.
pub async fn new_connection(pool: &MysqlPool) -> Result<Tracked<AsyncMysqlConnection>, DbError> {
    match tokio::time::timeout(NEW_CONNECTION_TIMEOUT, pool.dedicated_connection()).await {
        Ok(made) => made.map_err(|e| DbError::Unavailable(e.to_string())),
        Err(_) => Err(DbError::Unavailable(
            "timed out making a new connection".into(),
        )),
    }
}

/// The size the SQLite write-ahead log is cut back to whenever it restarts after a
/// checkpoint. Automatic checkpoints (every 1000 pages, about 4 MiB) keep it small in
/// normal use; a long reader (an export, a backup) holds checkpoints back while writes go
/// on, and without this bound the file would keep its largest size for good.
pub const SQLITE_WAL_LIMIT: u64 = 16 * 1024 * 1024;

/// SQLite settings applied to every new connection: write-ahead log so readers do not
/// block the writer, a busy timeout instead of immediate `SQLITE_BUSY`, enforced foreign
/// keys, and the WAL's size bound ([`SQLITE_WAL_LIMIT`]).
fn sqlite_pragmas() -> String {
    format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
         PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; \
         PRAGMA journal_size_limit = {SQLITE_WAL_LIMIT};"
    )
}

/// What the connections of a pool are for, which decides how long a statement may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Web requests: MariaDB aborts a statement after `database.statement_timeout_secs`,
    /// lock waits included, so a stall ends on the server too.
    Requests,
    /// Batch commands (export, report, migrate, admin): no bound.
    Batch,
}

impl DbPool {
    /// Open the pool. One connection is made first, directly, so that a wrong URL, refused
    /// connection or bad password is reported as such within `connect_timeout_secs`
    /// rather than as bb8's eventual "timed out".
    pub async fn connect(settings: &DatabaseSettings) -> anyhow::Result<DbPool> {
        Self::connect_for(settings, Purpose::Batch).await
    }

    /// [`connect`](Self::connect) with the statement bound that `purpose` asks for.
    pub async fn connect_for(
        settings: &DatabaseSettings,
        purpose: Purpose,
    ) -> anyhow::Result<DbPool> {
        let timeout = Duration::from_secs(settings.connect_timeout_secs);
        match settings.kind()? {
            DatabaseKind::Mysql => {
                let url = settings.mysql_url()?;
                let setup = Setup {
                    ca: settings.tls_ca_file.clone(),
                    session_sql: match purpose {
                        Purpose::Requests => session_limits(settings.statement_timeout_secs),
                        Purpose::Batch => None,
                    },
                };
                let probe =
                    tokio::time::timeout(timeout, establish_mysql(url.clone(), setup.clone()))
                        .await
                        .map_err(|_| {
                            anyhow::anyhow!(
                                "database: no answer from {} within {}s",
                                describe_host(&url),
                                timeout.as_secs()
                            )
                        })?;
                let probe = probe.map_err(|e| {
                    anyhow::anyhow!("database: cannot connect to {}: {e}", describe_host(&url))
                })?;
                let mut config = ManagerConfig::<AsyncMysqlConnection>::default();
                config.custom_setup =
                    Box::new(move |url| establish_mysql(url.to_owned(), setup.clone()).boxed());
                let manager = AsyncDieselConnectionManager::<AsyncMysqlConnection>::new_with_config(
                    url, config,
                );
                let pool = bb8::Pool::builder()
                    .max_size(settings.pool_size)
                    .connection_timeout(timeout)
                    // The most recently returned connection first: at low traffic the
                    // same few stay warm instead of all cooling past the window in turn.
                    .queue_strategy(bb8::QueueStrategy::Lifo)
                    .build(Warm(manager))
                    .await?;
                // The probe becomes the pool's first connection: start-up (the migration
                // check that follows) need not make a second one.
                let _ = pool.add(Tracked::fresh(probe));
                Ok(DbPool::Mysql(pool))
            }
            DatabaseKind::Sqlite { path } => {
                create_parent_dir(&path)?;
                let path_str = path.to_string_lossy().into_owned();
                let mut config = ManagerConfig::<SqliteConn>::default();
                config.custom_setup = Box::new(|url| {
                    let url = url.to_owned();
                    async move {
                        let mut conn = SqliteConn::establish(&url).await?;
                        conn.batch_execute(&sqlite_pragmas())
                            .await
                            .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                        Ok(conn)
                    }
                    .boxed()
                });
                let manager =
                    AsyncDieselConnectionManager::<SqliteConn>::new_with_config(path_str, config);
                let pool = bb8::Pool::builder()
                    .max_size(settings.pool_size)
                    .connection_timeout(timeout)
                    .test_on_check_out(false)
                    .build(manager)
                    .await
                    .map_err(|e| {
                        anyhow::anyhow!("database: cannot open {}: {e}", path.display())
                    })?;
                Ok(DbPool::Sqlite(pool))
            }
        }
    }

    /// The pool's size and waits, for the metrics.
    pub fn pool_sample(&self) -> crate::metrics::PoolSample {
        let state = match self {
            DbPool::Mysql(pool) => pool.state(),
            DbPool::Sqlite(pool) => pool.state(),
        };
        crate::pool::sample("database", &state)
    }

    /// Which backend, for logs and the health check.
    pub fn backend_name(&self) -> &'static str {
        match self {
            DbPool::Mysql(_) => "mariadb",
            DbPool::Sqlite(_) => "sqlite",
        }
    }

    /// A cheap write proving the database accepts writes: rewrites the one row of
    /// `health_probe`. Fails (or waits, so callers bound it) while a lock, a read-only
    /// server or a full disk keeps the database from writing.
    pub async fn write_probe(&self) -> Result<(), DbError> {
        use diesel::ExpressionMethods;
        use schema::health_probe::dsl::*;
        let now = chrono::Utc::now().naive_utc();
        with_conn!(self, |conn| {
            diesel::replace_into(health_probe)
                .values((id.eq(1), at.eq(now)))
                .execute(conn)
                .await
                .map(|_| ())
                .map_err(DbError::from)
        })
    }

    /// A cheap query proving the connection and the schema: reads the audit table.
    pub async fn ping(&self) -> Result<(), DbError> {
        use diesel::QueryDsl;
        use schema::audit_log::dsl::*;
        with_conn!(self, |conn| {
            audit_log
                .select(id)
                .limit(1)
                .load::<i64>(conn)
                .await
                .map(|_| ())
                .map_err(DbError::from)
        })
    }
}

/// How each new MariaDB connection is set up.
#[derive(Clone)]
struct Setup {
    /// The CA that signed the server's certificate; TLS when set.
    ca: Option<std::path::PathBuf>,
    /// Session variables set right after connecting.
    session_sql: Option<String>,
}

/// The session variables bounding a statement to `secs` (none for 0): its run time
/// (`max_statement_time`) and its waits for table and row locks, which a statement may
/// otherwise spend a year on (`lock_wait_timeout`'s default).
fn session_limits(secs: u64) -> Option<String> {
    (secs > 0).then(|| {
        format!(
            "SET SESSION max_statement_time = {secs}, SESSION lock_wait_timeout = {secs}, \
             SESSION innodb_lock_wait_timeout = {secs}"
        )
    })
}

/// Open one MariaDB connection and apply `setup`.
async fn establish_mysql(
    url: String,
    setup: Setup,
) -> diesel::ConnectionResult<AsyncMysqlConnection> {
    let mut conn = connect_mysql(url, setup.ca).await?;
    if let Some(sql) = &setup.session_sql {
        conn.batch_execute(sql)
            .await
            .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
    }
    Ok(conn)
}

/// Open one MariaDB connection. With a CA file, TLS is used and only that CA is trusted
/// (the DB host's certificate comes from a private CA, not a public root).
async fn connect_mysql(
    url: String,
    ca: Option<std::path::PathBuf>,
) -> diesel::ConnectionResult<AsyncMysqlConnection> {
    let Some(ca) = ca else {
        return AsyncMysqlConnection::establish(&url).await;
    };
    let opts = mysql_async::Opts::from_url(&url)
        .map_err(|e| diesel::ConnectionError::InvalidConnectionUrl(e.to_string()))?;
    let ssl = mysql_async::SslOpts::default()
        .with_root_certs(vec![ca.into()])
        .with_disable_built_in_roots(true);
    let builder = mysql_async::OptsBuilder::from_opts(opts).ssl_opts(ssl);
    let conn = mysql_async::Conn::new(builder)
        .await
        .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
    AsyncMysqlConnection::try_from(conn).await
}

/// `host:port/db` of a MySQL URL, without the user or password, for messages.
fn describe_host(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => format!(
            "{}:{}{}",
            u.host_str().unwrap_or("?"),
            u.port().unwrap_or(3306),
            u.path()
        ),
        Err(_) => "the configured server".into(),
    }
}

fn create_parent_dir(path: &Path) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            anyhow::anyhow!("database: cannot create directory {}: {e}", dir.display())
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use diesel::result::{DatabaseErrorKind, Error};

    use super::*;

    fn db_error(kind: DatabaseErrorKind, message: &str) -> DbError {
        DbError::Query(Error::DatabaseError(kind, Box::new(message.to_string())))
    }

    #[test]
    fn outages_are_told_from_query_errors() {
        let unknown = DatabaseErrorKind::Unknown;
        for outage in [
            db_error(unknown, "Input/output error: broken pipe"),
            db_error(
                unknown,
                "Driver error: `Connection to the server is closed.'",
            ),
            db_error(
                unknown,
                "Query execution was interrupted (max_statement_time exceeded)",
            ),
            db_error(
                unknown,
                "Lock wait timeout exceeded; try restarting transaction",
            ),
            db_error(unknown, "database or disk is full"),
            db_error(DatabaseErrorKind::ClosedConnection, "gone"),
            DbError::Query(Error::BrokenTransactionManager),
            DbError::Unavailable("timed out waiting for a connection".into()),
        ] {
            assert!(outage.is_outage(), "{outage}");
        }
        // Of the outages, only a lost connection may be cured by a new one at once.
        for lost in [
            db_error(unknown, "Input/output error: broken pipe"),
            db_error(
                unknown,
                "Driver error: `Connection to the server is closed.'",
            ),
            db_error(DatabaseErrorKind::ClosedConnection, "gone"),
        ] {
            assert!(lost.is_connection_lost(), "{lost}");
        }
        for standing in [
            db_error(
                unknown,
                "Query execution was interrupted (max_statement_time exceeded)",
            ),
            db_error(
                unknown,
                "Lock wait timeout exceeded; try restarting transaction",
            ),
            db_error(unknown, "database is locked"),
            DbError::Unavailable("timed out waiting for a connection".into()),
            db_error(DatabaseErrorKind::UniqueViolation, "Duplicate entry"),
        ] {
            assert!(!standing.is_connection_lost(), "{standing}");
        }
        for mistake in [
            db_error(DatabaseErrorKind::UniqueViolation, "Duplicate entry"),
            db_error(unknown, "You have an error in your SQL syntax"),
            DbError::Query(Error::NotFound),
        ] {
            assert!(!mistake.is_outage(), "{mistake}");
        }
    }
}
