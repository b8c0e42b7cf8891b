//! Storage on both backends: migrations, the audit model, the key-value store.

use std::time::Duration;

use pesquisa::db::{audit, migrations};
use pesquisa::kv::Kv;

use crate::helpers::{
    ALL_BACKENDS, Backend, TestApp, mysql_admin, redis_url, test_settings, unique,
};

#[tokio::test(flavor = "multi_thread")]
async fn migrations_apply_once_and_audit_rows_round_trip() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        assert!(
            migrations::pending(app.db())
                .await
                .expect("pending")
                .is_empty()
        );
        assert!(
            migrations::run_pending(app.db())
                .await
                .expect("rerun")
                .is_empty(),
            "idempotent"
        );

        audit::record(
            app.db(),
            Some(7),
            "test.first",
            None,
            "detalhe com acentuação",
        )
        .await
        .expect("insert");
        audit::record(app.db(), None, "test.second", Some(9), "")
            .await
            .expect("insert");
        let rows = audit::recent(app.db(), 10).await.expect("select");
        assert_eq!(rows.len(), 2, "{backend:?}");
        assert_eq!(rows[0].action, "test.second");
        assert_eq!(rows[0].subject_id, Some(9));
        assert_eq!(rows[1].actor_id, Some(7));
        assert_eq!(rows[1].detail, "detalhe com acentuação");
        assert!(rows[0].at >= rows[1].at);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_refuses_pending_migrations_unless_auto_migrate() {
    for backend in ALL_BACKENDS {
        let (mut settings, db, _dir) = test_settings(backend);
        if let Some(db) = &db {
            mysql_admin(&format!("CREATE DATABASE `{db}`")).await;
        }
        settings.database.auto_migrate = Some(false);
        let state = pesquisa::web::state::AppState::connect(settings.clone())
            .await
            .expect("connect");
        let err = pesquisa::server::ensure_schema(&state.db, &state.settings.database)
            .await
            .expect_err("pending refused");
        let msg = format!("{err:#}");
        assert!(msg.contains("foundation"), "names the migration: {msg}");
        assert!(msg.contains("pesquisa migrate"), "{msg}");

        settings.database.auto_migrate = Some(true);
        let state = pesquisa::web::state::AppState::connect(settings)
            .await
            .expect("connect");
        pesquisa::server::ensure_schema(&state.db, &state.settings.database)
            .await
            .expect("auto-migrated");
        assert!(
            migrations::pending(&state.db)
                .await
                .expect("pending")
                .is_empty()
        );
        if let Some(db) = db {
            mysql_admin(&format!("DROP DATABASE `{db}`")).await;
        }
        if let Some(dir) = _dir {
            std::fs::remove_dir_all(dir).ok();
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_runs_in_wal_mode_with_foreign_keys() {
    use diesel::sql_types::{BigInt, Text};
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Mode {
        #[diesel(sql_type = Text)]
        journal_mode: String,
    }
    #[derive(diesel::QueryableByName)]
    struct Fk {
        #[diesel(sql_type = BigInt)]
        foreign_keys: i64,
    }
    let app = TestApp::spawn(Backend::SqliteMemory).await;
    let pesquisa::db::DbPool::Sqlite(pool) = app.db() else {
        panic!("sqlite expected")
    };
    let mut conn = pool.get().await.expect("conn");
    let mode: Mode = diesel::sql_query("PRAGMA journal_mode")
        .get_result(&mut *conn)
        .await
        .expect("pragma");
    assert_eq!(mode.journal_mode, "wal");
    let fk: Fk = diesel::sql_query("PRAGMA foreign_keys")
        .get_result(&mut *conn)
        .await
        .expect("pragma");
    assert_eq!(fk.foreign_keys, 1);
}

/// The WAL file shrinks back to `pesquisa::db::SQLITE_WAL_LIMIT` once a checkpoint can
/// complete, after a reader held a snapshot open (an export, a backup) while much was
/// written, which grows it past any automatic checkpoint. SQLite's default keeps the file
/// at its largest size for good.
#[tokio::test(flavor = "multi_thread")]
async fn sqlite_wal_shrinks_back_after_a_long_reader() {
    use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
    let app = TestApp::spawn(Backend::SqliteMemory).await;
    let pesquisa::db::DbPool::Sqlite(pool) = app.db() else {
        panic!("sqlite expected")
    };
    let url = app.state.settings.database.url.clone();
    let wal = std::path::PathBuf::from(format!("{}-wal", url.trim_start_matches("sqlite://")));
    let wal_size = || std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    let limit = pesquisa::db::SQLITE_WAL_LIMIT;
    let write = |rows: usize| async move {
        let mut conn = pool.get().await.expect("conn");
        let blob = "x".repeat(64 * 1024);
        for _ in 0..rows {
            diesel::sql_query("INSERT INTO audit_log (at, action, detail) VALUES ('2026-12-06 00:00:00', 'wal.test', ?)")
                .bind::<diesel::sql_types::Text, _>(&blob)
                .execute(&mut *conn)
                .await
                .expect("insert");
        }
    };
    // A reader holding its snapshot: no checkpoint can get past it, so the WAL grows.
    let mut reader = pool.get().await.expect("reader");
    reader
        .batch_execute("BEGIN; SELECT COUNT(*) FROM audit_log;")
        .await
        .expect("read transaction");
    let rows = (limit as usize * 3 / 2) / (64 * 1024);
    write(rows).await;
    let grown = wal_size();
    assert!(grown > limit, "the WAL grew past the limit: {grown} bytes");
    reader.batch_execute("COMMIT").await.expect("end reader");
    drop(reader);
    // The next commits checkpoint (automatic, over 1000 pages) and restart the WAL from
    // its beginning, truncating it to the limit.
    write(40).await;
    let after = wal_size();
    assert!(
        after <= limit,
        "the WAL is back under {limit} bytes: {after} (it had grown to {grown})"
    );
}

async fn exercise_kv(kv: &Kv) {
    kv.set("k", "v", Duration::from_secs(30))
        .await
        .expect("set");
    assert_eq!(kv.get("k").await.expect("get").as_deref(), Some("v"));
    kv.delete("k").await.expect("del");
    assert_eq!(kv.get("k").await.expect("get"), None);

    kv.set("short", "v", Duration::from_secs(1))
        .await
        .expect("set");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(kv.get("short").await.expect("get"), None, "expired");

    let (n1, left1) = kv.hit("rl", Duration::from_secs(60)).await.expect("hit");
    let (n2, left2) = kv.hit("rl", Duration::from_secs(60)).await.expect("hit");
    assert_eq!((n1, n2), (1, 2));
    assert!(left1 <= Duration::from_secs(60) && left2 <= left1);

    kv.set_add("s", "a", Duration::from_secs(60))
        .await
        .expect("sadd");
    kv.set_add("s", "b", Duration::from_secs(60))
        .await
        .expect("sadd");
    kv.set_remove("s", "a").await.expect("srem");
    assert_eq!(
        kv.set_members("s").await.expect("smembers"),
        vec!["b".to_string()]
    );
    // A session is rewritten only while it exists (SET … XX): never brought back.
    let ttl = Duration::from_secs(30);
    assert!(!kv.set_existing("x", "1", ttl).await.expect("set xx"));
    assert!(!kv.exists("x").await.expect("exists"));
    kv.set("x", "1", ttl).await.expect("set");
    assert!(kv.set_existing("x", "2", ttl).await.expect("set xx"));
    assert_eq!(kv.get("x").await.expect("get").as_deref(), Some("2"));
    assert!(kv.exists("x").await.expect("exists"));
    kv.delete("x").await.expect("del");
    assert!(!kv.set_existing("x", "3", ttl).await.expect("set xx"));
    assert_eq!(kv.get("x").await.expect("get"), None);
    kv.ping().await.expect("ping");
}

#[tokio::test(flavor = "multi_thread")]
async fn key_value_store_behaves_the_same_on_redis_and_memory() {
    let prefix = format!("{}:", unique("pesquisa-test-"));
    let redis = Kv::redis_lazy(&redis_url(), &prefix, 4, Duration::from_secs(2)).expect("redis");
    exercise_kv(&redis).await;
    exercise_kv(&Kv::memory()).await;
    // Keys really carry the prefix, and cleaning removes exactly them.
    let other = Kv::redis_lazy(
        &redis_url(),
        &format!("{}:", unique("pesquisa-test-")),
        2,
        Duration::from_secs(2),
    )
    .expect("redis");
    other
        .set("k", "other", Duration::from_secs(30))
        .await
        .expect("set");
    assert_eq!(redis.get("k").await.expect("get"), None);
    assert!(redis.clear_prefix().await.expect("clear") >= 2);
    assert_eq!(
        redis.set_members("s").await.expect("smembers"),
        Vec::<String>::new()
    );
    assert_eq!(other.get("k").await.expect("get").as_deref(), Some("other"));
    other.clear_prefix().await.expect("clear");
}
