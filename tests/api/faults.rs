//! Faults of the database seen through the real router: a stall longer than the request
//! timeout (a table lock here; a frozen server or a VPN outage in production) must end in
//! honest 503s while it lasts and leave no connection behind that answers one
//! respondent's page with another's rows.

use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncMysqlConnection, RunQueryDsl};

use crate::helpers::*;

/// Respondents in the stall test; more than the pool holds, so some wait for a
/// connection while others wait inside a query.
const RESPONDENTS: usize = 12;

/// The age respondent `i` gives: distinct for every respondent, so a page showing another
/// age shows someone else's answers.
fn age_of(i: usize) -> String {
    (30 + i).to_string()
}

/// Every respondent's page 1 shows their own age and no one else's; returns the count of
/// pages that answered 200.
async fn check_own_pages(app: &TestApp, people: &mut [Browser], round: &str) -> usize {
    let mut ok = 0;
    for (i, b) in people.iter_mut().enumerate() {
        let page = b.get(&app.service, "/survey/1").await;
        assert_ne!(page.status, 500, "{round}: respondent {i} got a 500");
        if page.status != 200 {
            continue;
        }
        ok += 1;
        let own = format!("name=\"idade\" value=\"{}\"", age_of(i));
        assert!(
            page.body.contains(&own),
            "{round}: respondent {i}'s page does not show their own age ({own})"
        );
        for j in (0..RESPONDENTS).filter(|&j| j != i) {
            let other = format!("name=\"idade\" value=\"{}\"", age_of(j));
            assert!(
                !page.body.contains(&other),
                "{round}: respondent {i}'s page shows respondent {j}'s answers"
            );
        }
    }
    ok
}

/// Another session takes a write lock on the answers table: every read of it waits.
async fn lock_answers(app: &TestApp) -> AsyncMysqlConnection {
    let db = app.mysql_db_name();
    let mut locker = AsyncMysqlConnection::establish(&format!("{}/{db}", mysql_base_url()))
        .await
        .expect("lock connection");
    diesel::sql_query("LOCK TABLES responses WRITE")
        .execute(&mut locker)
        .await
        .expect("lock");
    locker
}

async fn unlock(locker: &mut AsyncMysqlConnection) {
    diesel::sql_query("UNLOCK TABLES")
        .execute(locker)
        .await
        .expect("unlock");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_stall_past_the_request_timeout_never_shows_another_respondents_answers() {
    let app = TestApp::spawn_with(Backend::MariaRedis, |s| {
        s.server.request_timeout_secs = 1;
        s.database.pool_size = 4;
        // No server-side bound here: the request timeout must fire while the query waits,
        // which is the case that used to return a connection with unread rows.
        s.database.statement_timeout_secs = 0;
        s.rate_limit.register_per_ip = 100;
    })
    .await;
    let mut people = Vec::new();
    for i in 0..RESPONDENTS {
        let mut b = app.signup(&format!("parada{i}@exemplo.com.br")).await;
        let age = age_of(i);
        let moradores = (1 + i % 9).to_string();
        let page = b
            .submit(
                &app.service,
                "/survey/1",
                "/survey/1",
                &[
                    ("idade", age.as_str()),
                    ("moradores", moradores.as_str()),
                    ("renda_familiar", "2a4sm"),
                ],
            )
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        people.push(b);
    }
    assert_eq!(
        check_own_pages(&app, &mut people, "before").await,
        RESPONDENTS
    );

    // Stall: another session holds a write lock on the answers for 3 s, three times the
    // request timeout, while every respondent loads their page at once.
    let mut locker = lock_answers(&app).await;
    let during: Vec<_> = people
        .iter()
        .cloned()
        .map(|mut b| {
            let service = app.service.clone();
            tokio::spawn(async move { b.get(&service, "/survey/1").await.status })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in during {
        statuses.push(t.await.expect("request task"));
    }
    assert!(
        statuses.iter().all(|&s| s == 503),
        "every request during the stall times out with 503: {statuses:?}"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    unlock(&mut locker).await;
    // The abandoned queries finish on the server now; their rows must reach no one.
    tokio::time::sleep(Duration::from_millis(200)).await;

    for round in ["after 1", "after 2", "after 3"] {
        assert_eq!(
            check_own_pages(&app, &mut people, round).await,
            RESPONDENTS,
            "{round}: every page answers once the stall is over"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_statement_waiting_on_a_lock_ends_on_the_server_with_503_and_retry_after() {
    let app = TestApp::spawn_with(Backend::MariaRedis, |s| {
        s.server.request_timeout_secs = 10;
        s.database.statement_timeout_secs = 1;
    })
    .await;
    let mut b = app.signup("trava@exemplo.com.br").await;
    assert_eq!(b.get(&app.service, "/survey/1").await.status, 200);

    let mut locker = lock_answers(&app).await;
    let started = std::time::Instant::now();
    let page = b.get(&app.service, "/survey/1").await;
    let waited = started.elapsed();
    unlock(&mut locker).await;
    assert_eq!(page.status, 503, "a lock timeout is an outage, not a bug");
    assert!(
        waited < Duration::from_secs(5),
        "MariaDB ended the wait at the statement bound, long before the request timeout: \
         {waited:?}"
    );
    assert_eq!(
        page.headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("5")
    );
    // The connection that met the bound is fine: the next page loads.
    assert_eq!(b.get(&app.service, "/survey/1").await.status, 200);
}

/// Reliability finding 5: `/readyz` only read, so it stayed 200 while a table lock (or,
/// on SQLite, another writer) kept the database from writing. It now writes too.
#[tokio::test(flavor = "multi_thread")]
async fn a_database_that_cannot_write_is_not_ready() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let ready = async || {
            let mut res = app.get_local("/readyz").await;
            (res.status_code.map(|s| s.as_u16()), body(&mut res).await)
        };
        assert_eq!(ready().await.0, Some(200), "{backend:?}");
        // Another session keeps the database from writing.
        let blocker = match backend {
            Backend::MariaRedis => {
                let db = app.mysql_db_name();
                let mut c = AsyncMysqlConnection::establish(&format!("{}/{db}", mysql_base_url()))
                    .await
                    .expect("connect");
                diesel::sql_query("LOCK TABLES health_probe READ")
                    .execute(&mut c)
                    .await
                    .expect("lock");
                Blocker::Mysql(c)
            }
            Backend::SqliteMemory => {
                use diesel::Connection;
                use diesel::connection::SimpleConnection;
                let url = app.state.settings.database.url.clone();
                let path = url.trim_start_matches("sqlite://").to_string();
                let mut c = diesel::SqliteConnection::establish(&path).expect("open");
                c.batch_execute("BEGIN EXCLUSIVE").expect("lock");
                Blocker::Sqlite(c)
            }
        };
        let (status, text) = ready().await;
        assert_eq!(status, Some(503), "{backend:?}: {text}");
        assert!(text.contains("\"database\""), "{text}");
        drop_blocker(blocker).await;
        // Recovers without a restart.
        let mut back = None;
        for _ in 0..50 {
            back = ready().await.0;
            if back == Some(200) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(
            back,
            Some(200),
            "{backend:?}: ready again once it can write"
        );
    }
}

enum Blocker {
    Mysql(AsyncMysqlConnection),
    Sqlite(diesel::SqliteConnection),
}

async fn drop_blocker(b: Blocker) {
    match b {
        Blocker::Mysql(mut c) => unlock(&mut c).await,
        Blocker::Sqlite(mut c) => {
            use diesel::connection::SimpleConnection;
            c.batch_execute("ROLLBACK").expect("unlock");
        }
    }
}

/// Reliability finding 2: a page read on a connection the server has closed (a MariaDB
/// restart, a `KILL`; the pool hands out a connection used just before untested) answered
/// 503. Reads now run once more on a new connection, so the page is served.
#[tokio::test(flavor = "multi_thread")]
async fn a_page_read_on_connections_the_server_closed_is_served_from_a_new_one() {
    let app = TestApp::spawn_with(Backend::MariaRedis, |s| s.database.pool_size = 4).await;
    let db = app.mysql_db_name().to_string();
    let mut b = app.signup("fechada@exemplo.com.br").await;
    let saved = b
        .submit(
            &app.service,
            "/survey/1",
            "/survey/1",
            &[
                ("idade", "47"),
                ("moradores", "2"),
                ("renda_familiar", "2a4sm"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let mut retried = 0;
    for round in 0..5 {
        let warm = std::time::Instant::now();
        assert_eq!(b.get(&app.service, "/survey/1").await.status, 200);
        assert!(crate::pool::kill_connections_to(&db).await >= 1);
        // Within the warm window the killed connections are handed out untested.
        let in_window = warm.elapsed() < pesquisa::pool::WARM_FOR;
        let page = b.get(&app.service, "/survey/1").await;
        assert_eq!(
            page.status, 200,
            "round {round}: the read is retried on a new connection, not answered 503"
        );
        assert!(
            page.body.contains("name=\"idade\" value=\"47\""),
            "round {round}: the page shows the saved answers"
        );
        retried += usize::from(in_window);
    }
    assert!(
        retried > 0,
        "at least one round met the killed connections inside the warm window"
    );
}
