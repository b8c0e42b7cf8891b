//! Test harness: each test gets its own MariaDB database (or SQLite file) and its own
//! Redis key prefix, migrated and wired into the real router, and removes them on drop.
//!
//! MariaDB and Redis are real servers: `TEST_MYSQL_URL` (default
//! `mysql://pesquisa_test:pesquisa_test@127.0.0.1:3306`, a user allowed to create
//! databases named `pesquisa_t_*`) and `TEST_REDIS_URL` (default `redis://127.0.0.1:6379`).

use std::path::PathBuf;
use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncMysqlConnection, RunQueryDsl};
use pesquisa::app::AppState;
use pesquisa::config::{Secret, Settings};
use pesquisa::db::{DbPool, migrations};
use pesquisa::kv::Kv;
use salvo::prelude::*;
use salvo::test::{RequestBuilder, ResponseExt, TestClient};

/// Which pair of backends a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Production: MariaDB and Redis.
    MariaRedis,
    /// Embedded default: SQLite file and in-process store.
    SqliteMemory,
}

pub const ALL_BACKENDS: [Backend; 2] = [Backend::MariaRedis, Backend::SqliteMemory];

pub fn mysql_base_url() -> String {
    std::env::var("TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://pesquisa_test:pesquisa_test@127.0.0.1:3306".into())
        .trim_end_matches('/')
        .to_string()
}

pub fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A short random name part.
pub fn unique(tag: &str) -> String {
    use rand::Rng;
    let n: u64 = rand::rng().random();
    format!("{tag}{n:016x}")
}

/// Settings for a test on `backend`, with a fresh database name and key prefix.
pub fn test_settings(backend: Backend) -> (Settings, Option<String>, Option<PathBuf>) {
    let mut s = Settings::default();
    s.session.secret = Some(Secret::new("test-secret-test-secret-test-secret!"));
    s.logging.level = "warn".into();
    s.database.connect_timeout_secs = 5;
    // Real argon2id, at a lower cost so the suite stays quick; one test checks the defaults.
    s.passwords.memory_kib = 4096;
    s.passwords.iterations = 1;
    match backend {
        Backend::MariaRedis => {
            let db = unique("pesquisa_t_");
            s.database.url = format!("{}/{db}", mysql_base_url());
            s.database.pool_size = 8;
            s.redis.url = Some(redis_url());
            s.redis.key_prefix = format!("{}:", unique("pesquisa-test-"));
            (s, Some(db), None)
        }
        Backend::SqliteMemory => {
            let dir = std::env::temp_dir().join(unique("pesquisa-test-"));
            std::fs::create_dir_all(&dir).expect("temp dir");
            s.database.url = format!("sqlite://{}/pesquisa.db", dir.display());
            s.database.pool_size = 4;
            (s, None, Some(dir))
        }
    }
}

/// Run one statement on the MariaDB server as the test user (no database selected).
pub async fn mysql_admin(sql: &str) {
    let mut conn = AsyncMysqlConnection::establish(&mysql_base_url())
        .await
        .unwrap_or_else(|e| panic!("MariaDB at {} not reachable: {e}", mysql_base_url()));
    diesel::sql_query(sql)
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// One application instance under test, with the database and prefix it owns.
pub struct TestApp {
    pub state: AppState,
    pub service: Service,
    /// Held only so that its `Drop` removes the test's storage after the pools are gone.
    _owned: Owned,
}

/// What a test created and must remove: dropped last, after every pool of the test.
pub struct Owned {
    mysql_db: Option<String>,
    sqlite_dir: Option<PathBuf>,
    kv: Kv,
}

impl TestApp {
    /// A migrated instance on fresh storage.
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Like [`Self::spawn`], with the settings adjusted first.
    pub async fn spawn_with(backend: Backend, adjust: impl FnOnce(&mut Settings)) -> TestApp {
        let (mut settings, mysql_db, sqlite_dir) = test_settings(backend);
        adjust(&mut settings);
        if let Some(db) = &mysql_db {
            mysql_admin(&format!("CREATE DATABASE `{db}` CHARACTER SET utf8mb4")).await;
        }
        let state = AppState::connect(settings).await.expect("connect");
        migrations::run_pending(&state.db).await.expect("migrate");
        pesquisa::db::consents::seed_defaults(&state.db).await.expect("seed documents");
        let service = pesquisa::router::service(&state);
        TestApp {
            _owned: Owned {
                mysql_db,
                sqlite_dir,
                kv: state.kv.clone(),
            },
            state,
            service,
        }
    }

    pub async fn get(&self, path: &str) -> Response {
        TestClient::get(format!("http://127.0.0.1{path}"))
            .send(&self.service)
            .await
    }

    pub async fn send(&self, req: RequestBuilder) -> Response {
        req.send(&self.service).await
    }

    pub fn db(&self) -> &DbPool {
        &self.state.db
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        let db = self.mysql_db.take();
        let kv = self.kv.clone();
        // Drop is synchronous; clean up on a private runtime in a plain thread.
        let cleanup = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                if let Some(db) = db {
                    mysql_admin(&format!("DROP DATABASE IF EXISTS `{db}`")).await;
                }
                if let Kv::Redis { .. } = kv {
                    let _ = tokio::time::timeout(Duration::from_secs(5), kv.clear_prefix()).await;
                }
            });
        });
        let _ = cleanup.join();
        if let Some(dir) = self.sqlite_dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// The body as text.
pub async fn body(res: &mut Response) -> String {
    res.take_string().await.expect("body")
}
