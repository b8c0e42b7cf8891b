//! Pooled connections closed by the server (a MariaDB or Redis restart, a `KILL`): the
//! pools skip the check-out test for a connection used successfully just before
//! (`pesquisa::pool`), so such a connection may fail one query, after which it is
//! tested and replaced; one idle longer than the window is tested before use.

use std::time::{Duration, Instant};

use bb8_redis::redis;
use diesel::QueryableByName;
use diesel::sql_types::BigInt;
use diesel_async::{AsyncConnection, AsyncMysqlConnection, RunQueryDsl};
use pesquisa::kv::Kv;
use pesquisa::pool::WARM_FOR;

use crate::helpers::*;

#[derive(QueryableByName)]
struct ThreadId {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// `KILL` every connection to `db` except the caller's, then wait until the server no
/// longer lists them. Returns how many were killed.
pub(crate) async fn kill_connections_to(db: &str) -> usize {
    let mut admin = AsyncMysqlConnection::establish(&mysql_base_url())
        .await
        .expect("admin connection");
    let list = |db: String| {
        diesel::sql_query(
            "SELECT CAST(ID AS SIGNED) AS id FROM information_schema.PROCESSLIST \
             WHERE DB = ? AND ID <> CONNECTION_ID()",
        )
        .bind::<diesel::sql_types::Text, _>(db)
    };
    let ids: Vec<ThreadId> = list(db.to_string()).load(&mut admin).await.expect("list");
    for t in &ids {
        diesel::sql_query(format!("KILL CONNECTION {}", t.id))
            .execute(&mut admin)
            .await
            .expect("kill");
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left: Vec<ThreadId> = list(db.to_string()).load(&mut admin).await.expect("list");
        if left.is_empty() {
            return ids.len();
        }
        assert!(Instant::now() < deadline, "killed connections still listed");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mariadb_connection_killed_by_the_server_is_replaced() {
    let app = TestApp::spawn_with(Backend::MariaRedis, |s| s.database.pool_size = 1).await;
    let db = app.mysql_db_name().to_string();

    // Warm: the connection has just answered, so the next check-out skips its test and
    // the dead connection's one query fails (when the kill took less than the window;
    // on a very slow machine the test at check-out catches it and the query succeeds).
    let used = Instant::now();
    app.db().ping().await.expect("first query");
    assert_eq!(
        kill_connections_to(&db).await,
        1,
        "the pool holds one connection"
    );
    let first = app.db().ping().await;
    if used.elapsed() < WARM_FOR - Duration::from_millis(100) {
        assert!(
            first.is_err(),
            "a warm connection is handed out untested, so the killed one fails once"
        );
    }
    // The failed use left it cold: tested at check-out, found dead, replaced.
    app.db()
        .ping()
        .await
        .expect("the next query gets a new connection");
    app.db().ping().await.expect("and keeps it");

    // Cold: idle longer than the window, so tested before use; no query fails.
    tokio::time::sleep(WARM_FOR + Duration::from_millis(100)).await;
    assert_eq!(kill_connections_to(&db).await, 1);
    app.db()
        .ping()
        .await
        .expect("an idle connection is tested, and replaced, before use");
    // Pages keep working on the replacement.
    let res = app.get("/readyz").await;
    assert_eq!(res.status_code, Some(salvo::http::StatusCode::OK));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redis_connection_killed_by_the_server_is_replaced() {
    let prefix = format!("{}:", unique("pesquisa-test-"));
    let kv = Kv::redis_lazy(&redis_url(), &prefix, 1, Duration::from_secs(2)).expect("redis");
    let client = redis::Client::open(redis_url()).expect("client");
    let mut admin = client
        .get_multiplexed_async_connection()
        .await
        .expect("admin connection");
    let kill_all = async |admin: &mut redis::aio::MultiplexedConnection, kv: &Kv| {
        // The pool's connections are found by the name each gives itself.
        let ids = kv.client_ids().await.expect("client ids");
        assert_eq!(ids.len(), 1, "one named connection: {ids:?}");
        for id in ids {
            let killed: i64 = redis::cmd("CLIENT")
                .arg("KILL")
                .arg("ID")
                .arg(id)
                .query_async(admin)
                .await
                .expect("kill");
            assert_eq!(killed, 1);
        }
    };

    kv.set("k", "v", Duration::from_secs(30))
        .await
        .expect("set");
    let used = Instant::now(); // before client_ids(), the connection's last use
    kill_all(&mut admin, &kv).await;
    let first = kv.get("k").await;
    if used.elapsed() < WARM_FOR - Duration::from_millis(100) {
        assert!(first.is_err(), "the killed warm connection fails once");
    }
    assert_eq!(kv.get("k").await.expect("replaced").as_deref(), Some("v"));

    tokio::time::sleep(WARM_FOR + Duration::from_millis(100)).await;
    kill_all(&mut admin, &kv).await;
    // client_ids() itself used the connection just before the kill, so let it cool.
    tokio::time::sleep(WARM_FOR + Duration::from_millis(100)).await;
    assert_eq!(
        kv.get("k").await.expect("tested before use").as_deref(),
        Some("v")
    );
    kv.clear_prefix().await.expect("clean");
}

#[test]
fn redis_client_names_come_from_the_key_prefix() {
    assert_eq!(pesquisa::kv::client_name("pesquisa:"), "pesquisa");
    assert_eq!(pesquisa::kv::client_name("loja norte:"), "loja_norte");
    assert_eq!(pesquisa::kv::client_name(""), "pesquisa");
}
