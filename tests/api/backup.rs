//! Backups taken while the application writes: `pesquisa backup` on SQLite, and the
//! `mariadb-dump --single-transaction` procedure of docs/deploy.md on MariaDB, each
//! restored and checked for every response committed before the backup started.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

// Not the preludes: diesel-async's `RunQueryDsl` is implemented for every type, and its
// `load` and `first` would shadow `AtomicBool::load` and `slice::first` here.
use diesel::{Connection, ExpressionMethods, QueryDsl, QueryableByName};
use pesquisa::db::schema::responses;
use pesquisa::db::{DbError, DbPool};

use crate::helpers::{Backend, TestApp, mysql_admin, mysql_base_url, unique};

/// Keeps inserting responses, each with its own bairro `W<n>`, and records the `n` of
/// every insert that committed, until stopped.
struct Writer {
    committed: Arc<Mutex<Vec<u64>>>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Writer {
    fn start(db: DbPool) -> Writer {
        let committed = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (c, s) = (committed.clone(), stop.clone());
        let task = tokio::spawn(async move {
            let mut n = 0u64;
            while !s.load(Ordering::Relaxed) {
                n += 1;
                if insert(&db, &format!("W{n}")).await.is_ok() {
                    c.lock().expect("lock").push(n);
                }
            }
        });
        Writer {
            committed,
            stop,
            task,
        }
    }

    /// The inserts committed so far.
    fn committed(&self) -> Vec<u64> {
        self.committed.lock().expect("lock").clone()
    }

    async fn wait_for(&self, count: usize) {
        let started = std::time::Instant::now();
        while self.committed().len() < count {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the writer is stuck"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn stop(self) -> Vec<u64> {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.expect("writer");
        let committed = self.committed.lock().expect("lock");
        committed.clone()
    }
}

async fn insert(db: &DbPool, bairro: &str) -> Result<(), DbError> {
    let now = chrono::Utc::now().naive_utc();
    pesquisa::with_conn!(db, |conn| {
        let insert = diesel::insert_into(responses::table).values((
            responses::definition_id.eq("backup_test"),
            responses::definition_version.eq(1),
            responses::answers.eq("{}"),
            responses::bairro.eq(bairro),
            responses::current_page.eq(1),
            responses::revision.eq(1_i64),
            responses::created_at.eq(now),
            responses::updated_at.eq(now),
        ));
        diesel_async::RunQueryDsl::execute(insert, conn).await?;
        Ok(())
    })
}

/// Every `W<n>` bairro in `bairros` must appear exactly once, and each of `before`.
fn check_restored(bairros: &[String], before: &[u64], what: &str) {
    let mut seen = HashSet::new();
    for b in bairros.iter().filter(|b| b.starts_with('W')) {
        assert!(seen.insert(b.as_str()), "{what}: {b} twice");
    }
    let missing: Vec<&u64> = before
        .iter()
        .filter(|n| !seen.contains(format!("W{n}").as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "{what}: {} of {} responses committed before the backup are missing (first {:?})",
        missing.len(),
        before.len(),
        missing.first()
    );
}

/// Runs `cmd` to the end on a blocking thread (the writer task goes on meanwhile).
async fn run_blocking(mut cmd: Command) -> Output {
    tokio::task::spawn_blocking(move || cmd.output().expect("run"))
        .await
        .expect("join")
}

fn pesquisa(dir: &Path, db_url: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pesquisa"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PESQUISA_DATABASE__URL", db_url)
        .env("PESQUISA_DATABASE__CONNECT_TIMEOUT_SECS", "2")
        .env("PESQUISA_LOGGING__LEVEL", "warn")
        // Required by the configuration with a MariaDB URL; the backup does not use it.
        .env(
            "PESQUISA_SESSION__SECRET",
            "backup-test-secret-backup-test-secret-01",
        )
        .current_dir(dir)
        .stdin(Stdio::null());
    cmd
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[derive(QueryableByName)]
struct IntegrityCheck {
    #[diesel(sql_type = diesel::sql_types::Text)]
    integrity_check: String,
}

/// `PRAGMA integrity_check` and the bairros of the SQLite file `path`, read directly.
fn read_sqlite_copy(path: &Path) -> (Vec<String>, Vec<String>) {
    let mut conn = diesel::SqliteConnection::establish(&path.to_string_lossy()).expect("open");
    let check: Vec<IntegrityCheck> =
        diesel::RunQueryDsl::load(diesel::sql_query("PRAGMA integrity_check"), &mut conn)
            .expect("integrity_check");
    let bairros: Vec<String> =
        diesel::RunQueryDsl::load(responses::table.select(responses::bairro), &mut conn)
            .expect("responses");
    (
        check.into_iter().map(|c| c.integrity_check).collect(),
        bairros,
    )
}

/// `pesquisa backup --output FILE` on the embedded SQLite database while another task
/// keeps saving responses (as a serving instance would): the copy passes
/// `PRAGMA integrity_check`, holds every response committed before the backup started,
/// each once, and is owner-only. An existing output file and a MariaDB URL are refused
/// naming `--output`, and nothing is left behind.
#[tokio::test(flavor = "multi_thread")]
async fn sqlite_backup_while_writing_holds_every_response_committed_before_it() {
    use std::os::unix::fs::PermissionsExt;
    let app = TestApp::spawn(Backend::SqliteMemory).await;
    let db_url = app.state.settings.database.url.clone();
    let db_file = PathBuf::from(db_url.trim_start_matches("sqlite://"));
    let dir = db_file.parent().expect("dir").to_path_buf();
    let writer = Writer::start(app.db().clone());
    // A database big enough that the copy takes a while, with writes going on.
    writer.wait_for(3000).await;
    let before = writer.committed();
    let copy = dir.join("copia.db");
    let mut cmd = pesquisa(&dir, &db_url);
    cmd.args(["backup", "--output"]).arg(&copy);
    let out = run_blocking(cmd).await;
    let during = writer.committed().len() - before.len();
    let all = writer.stop().await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("copia.db"),
        "{out:?}"
    );
    assert!(during > 0, "the writer went on during the backup");
    let (check, bairros) = read_sqlite_copy(&copy);
    assert_eq!(check, ["ok"], "integrity_check");
    check_restored(&bairros, &before, "the SQLite copy");
    assert!(
        bairros.len() <= all.len(),
        "nothing that was never committed"
    );
    let mode = std::fs::metadata(&copy).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the copy holds personal data: owner-only");

    // An existing output: refused, exit 1, naming the flag, the file untouched.
    let size = std::fs::metadata(&copy).expect("stat").len();
    let mut cmd = pesquisa(&dir, &db_url);
    cmd.args(["backup", "--output"]).arg(&copy);
    let out = run_blocking(cmd).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("--output"), "{}", stderr(&out));
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
    assert_eq!(std::fs::metadata(&copy).expect("stat").len(), size);

    // A MariaDB URL: refused before connecting, pointing to mariadb-dump.
    let mut cmd = pesquisa(&dir, "mysql://nobody@127.0.0.1:1/pesquisa");
    cmd.args(["backup", "--output", "m.sql"]);
    let out = run_blocking(cmd).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("--output") && err.contains("mariadb-dump") && err.contains("docs/deploy.md"),
        "{err}"
    );
    assert!(!dir.join("m.sql").exists());

    // No temporary file is left beside the copy.
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .expect("ls")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// The MariaDB client tools the restore drill runs, as `mariadb-dump`'s options for the
/// test server (user and password from TEST_MYSQL_URL, the password in MYSQL_PWD).
fn mariadb_tool(tool: &str) -> Command {
    let url = url::Url::parse(&mysql_base_url()).expect("TEST_MYSQL_URL");
    let mut cmd = Command::new(tool);
    cmd.arg("--no-defaults")
        .arg(format!("--host={}", url.host_str().unwrap_or("127.0.0.1")))
        .arg(format!("--port={}", url.port().unwrap_or(3306)))
        .arg(format!("--user={}", url.username()))
        .env("MYSQL_PWD", url.password().unwrap_or(""))
        .stdin(Stdio::null());
    cmd
}

/// docs/deploy.md's MariaDB procedure, as a drill: `mariadb-dump --single-transaction`
/// while responses are being saved, then a restore into a fresh database, which holds
/// every response committed before the dump started, each exactly once.
#[tokio::test(flavor = "multi_thread")]
async fn mariadb_dump_under_write_load_restores_every_committed_response() {
    for tool in ["mariadb-dump", "mariadb"] {
        assert!(
            Command::new(tool)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success()),
            "{tool} is needed (Debian: apt-get install mariadb-client)"
        );
    }
    let app = TestApp::spawn(Backend::MariaRedis).await;
    let source = app.mysql_db_name().to_string();
    let writer = Writer::start(app.db().clone());
    writer.wait_for(500).await;
    let before = writer.committed();
    // The documented command, minus `--master-data=2` (the test server has no binary log,
    // and the test user no right to read its position) and the compression.
    let mut dump = mariadb_tool("mariadb-dump");
    dump.args([
        "--single-transaction",
        "--quick",
        "--routines",
        "--triggers",
        "--events",
        "--hex-blob",
        &source,
    ]);
    let out = run_blocking(dump).await;
    let during = writer.committed().len() - before.len();
    writer.stop().await;
    assert!(out.status.success(), "mariadb-dump: {}", stderr(&out));
    assert!(during > 0, "the writer went on during the dump");

    let restored = unique("pesquisa_t_restore_");
    mysql_admin(&format!(
        "CREATE DATABASE `{restored}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
    ))
    .await;
    let dump_file = std::env::temp_dir().join(format!("{restored}.sql"));
    std::fs::write(&dump_file, &out.stdout).expect("write dump");
    let mut restore = mariadb_tool("mariadb");
    restore
        .arg(&restored)
        .stdin(std::fs::File::open(&dump_file).expect("dump"));
    let res = run_blocking(restore).await;
    std::fs::remove_file(&dump_file).ok();
    let bairros = {
        let url = format!("{}/{restored}", mysql_base_url());
        let mut conn =
            <diesel_async::AsyncMysqlConnection as diesel_async::AsyncConnection>::establish(&url)
                .await
                .expect("connect to the restored database");
        diesel_async::RunQueryDsl::load::<String>(
            responses::table.select(responses::bairro),
            &mut conn,
        )
        .await
    };
    mysql_admin(&format!("DROP DATABASE IF EXISTS `{restored}`")).await;
    assert!(res.status.success(), "restore: {}", stderr(&res));
    check_restored(&bairros.expect("responses"), &before, "the restored dump");
}
