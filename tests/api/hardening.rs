//! Security issue 16, item 8 ("lower findings"): each test is named after its finding and
//! replays it through the real router.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncMysqlConnection, RunQueryDsl};
use pesquisa::accounts::Role;
use pesquisa::db::{audit, users};
use pesquisa::web::store_keys;

use crate::helpers::*;

/// The account id behind an e-mail.
async fn user_id(app: &TestApp, email: &str) -> i64 {
    users::find_by_email(app.db(), email)
        .await
        .expect("find")
        .expect("exists")
        .id
}

/// Move the session's last use `secs` into the past, as if the browser had been idle.
async fn idle_for(app: &TestApp, cookie: &str, secs: i64) {
    let key = store_keys::session(cookie);
    let text = app.state.kv.get(&key).await.expect("kv").expect("session");
    let mut data: serde_json::Value = serde_json::from_str(&text).expect("json");
    let seen = data["seen"].as_i64().expect("seen") - secs;
    data["seen"] = seen.into();
    app.state
        .kv
        .set(&key, &data.to_string(), Duration::from_secs(3600))
        .await
        .expect("kv");
}

/// The store keys in a user's session index.
async fn indexed(app: &TestApp, id: i64) -> Vec<String> {
    let mut keys = app
        .state
        .kv
        .set_members(&store_keys::user_sessions(id))
        .await
        .expect("kv");
    keys.sort();
    keys
}

fn header<'a>(page: &'a Page, name: &str) -> &'a str {
    page.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_behind_a_log_in_are_not_stored_by_caches() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let mut respondent = app.signup("cache@exemplo.com.br").await;
        for path in ["/survey/1", "/account", "/account/data"] {
            let page = respondent.get(&app.service, path).await;
            assert_eq!(page.status, 200, "{backend:?} {path}");
            assert_eq!(
                header(&page, "cache-control"),
                "no-store",
                "{backend:?} {path}"
            );
        }
        let mut admin = app.staff("chefe.cache@exemplo.com.br", Role::Admin).await;
        for path in [
            "/admin/users",
            "/admin/results",
            "/admin/results/respostas.csv",
        ] {
            let page = admin.get(&app.service, path).await;
            assert_eq!(page.status, 200, "{backend:?} {path}");
            assert_eq!(
                header(&page, "cache-control"),
                "no-store",
                "{backend:?} {path}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn session_cookie_has_max_age() {
    for backend in ALL_BACKENDS {
        // Plain HTTP (development, the embedded default): the configured name, no Secure.
        let app = TestApp::spawn(backend).await;
        let mut b = Browser::default();
        let page = b
            .submit(
                &app.service,
                "/register",
                "/register",
                &as_refs(&signup_fields("cookie@exemplo.com.br")),
            )
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        // Sign-up logs nobody in; the verification link does.
        let page = app
            .follow_verification(&mut b, "cookie@exemplo.com.br")
            .await;
        let set = page.set_cookie("pesquisa_sid");
        assert!(
            set.contains("Max-Age=43200"),
            "{backend:?}: ends with the session, not the browser: {set}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn session_cookie_has_the_host_prefix_on_https_sites() {
    for backend in ALL_BACKENDS {
        // An HTTPS site: `__Host-` name, Secure, Path=/, no Domain, whatever the request.
        let app = TestApp::spawn_with(backend, |s| s.session.secure_cookie = true).await;
        let mut b = Browser::default();
        let form = b.get(&app.service, "/register").await;
        let pre = form
            .headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_string)
            .collect::<Vec<_>>();
        assert!(
            pre.iter()
                .any(|c| c.starts_with("__Host-pesquisa_sid_pre=")),
            "{pre:?}"
        );
        let mut fields = vec![("csrf_token".to_string(), form.csrf())];
        fields.extend(
            signup_fields("cookie@exemplo.com.br")
                .into_iter()
                .map(|(k, v)| (k.to_string(), v)),
        );
        let refs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let page = b.post(&app.service, "/register", &refs).await;
        assert_eq!(page.status, 303, "{}", page.body);
        let page = app
            .follow_verification(&mut b, "cookie@exemplo.com.br")
            .await;
        let set = page.set_cookie("__Host-pesquisa_sid");
        for part in ["Secure", "Path=/", "HttpOnly", "Max-Age=43200"] {
            assert!(set.contains(part), "{backend:?}: {part} missing: {set}");
        }
        assert!(!set.contains("Domain"), "{set}");
        // The known-device cookie of the log-in limits too.
        let device = page.set_cookie("__Host-pesquisa_sid_dev");
        for part in ["Secure", "Path=/", "HttpOnly"] {
            assert!(
                device.contains(part),
                "{backend:?}: {part} missing: {device}"
            );
        }
        assert!(!b.cookies.contains_key("pesquisa_sid"));
        // The prefixed cookie is the one read back.
        assert_eq!(b.get(&app.service, "/account").await.status, 200);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn staff_sessions_end_after_30_idle_minutes_while_respondents_keep_the_configured_one() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let mut respondent = app.signup("ociosa@exemplo.com.br").await;
        let mut admin = app.staff("chefe.ocioso@exemplo.com.br", Role::Admin).await;
        let mut analyst = app
            .staff("analista.ociosa@exemplo.com.br", Role::Analyst)
            .await;
        for b in [&respondent, &admin, &analyst] {
            idle_for(&app, b.session_cookie().expect("cookie"), 31 * 60).await;
        }
        assert_eq!(
            respondent.get(&app.service, "/account").await.status,
            200,
            "{backend:?}: a respondent keeps the configured 60 minutes"
        );
        let page = admin.get(&app.service, "/admin/users").await;
        assert_eq!(page.status, 303, "{backend:?}: admin idle 31 min");
        assert!(page.location().starts_with("/login"), "{}", page.location());
        let page = analyst.get(&app.service, "/admin/results").await;
        assert_eq!(page.status, 303, "{backend:?}: analyst idle 31 min");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_session_index_is_pruned_at_log_out_and_expiry() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let email = "indice@exemplo.com.br";
        let mut first = app.signup(email).await;
        let id = user_id(&app, email).await;
        assert_eq!(indexed(&app, id).await.len(), 1, "{backend:?}");

        // Log-out removes its key from the index.
        let token = first.get(&app.service, "/account").await.csrf();
        let page = first
            .post(&app.service, "/logout", &[("csrf_token", token.as_str())])
            .await;
        assert_eq!(page.status, 303);
        assert!(indexed(&app, id).await.is_empty(), "{backend:?}: log-out");

        // A session found expired is dropped from the index.
        let mut idle = Browser::from_ip("203.0.113.8");
        assert_eq!(app.login(&mut idle, email, GOOD_PASSWORD).await.status, 303);
        idle_for(&app, idle.session_cookie().expect("cookie"), 61 * 60).await;
        assert_eq!(idle.get(&app.service, "/account").await.status, 303);
        assert!(indexed(&app, id).await.is_empty(), "{backend:?}: expired");

        // A session whose key the store expired on its own is pruned at the next log-in.
        let mut gone = Browser::from_ip("203.0.113.9");
        assert_eq!(app.login(&mut gone, email, GOOD_PASSWORD).await.status, 303);
        let gone_key = store_keys::session(gone.session_cookie().expect("cookie"));
        app.state.kv.delete(&gone_key).await.expect("kv");
        let mut live = Browser::from_ip("203.0.113.10");
        assert_eq!(app.login(&mut live, email, GOOD_PASSWORD).await.status, 303);
        let live_key = store_keys::session(live.session_cookie().expect("cookie"));
        assert_eq!(indexed(&app, id).await, vec![live_key], "{backend:?}");
    }
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Waits until a statement of the test's database waits for a table lock.
async fn wait_for_lock_wait(app: &TestApp) {
    let mut conn = AsyncMysqlConnection::establish(&mysql_base_url())
        .await
        .expect("connect");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let rows = diesel::sql_query(
            "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST \
             WHERE DB = ? AND STATE LIKE 'Waiting for table%'",
        )
        .bind::<diesel::sql_types::Text, _>(app.mysql_db_name())
        .load::<Count>(&mut conn)
        .await
        .expect("processlist");
        if rows.iter().any(|c| c.n > 0) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "no request waits");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_running_while_all_sessions_end_does_not_save_its_session_again() {
    let app = TestApp::spawn(Backend::MariaRedis).await;
    let email = "corrida@exemplo.com.br";
    let mut b = app.signup(email).await;
    let id = user_id(&app, email).await;
    let cookie = b.session_cookie().expect("cookie").to_string();
    let key = store_keys::session(&cookie);
    // Due an idle-timer refresh, so the request writes its session when it ends.
    idle_for(&app, &cookie, 120).await;

    // The request loads its session, then waits on the answers table ...
    let db = app.mysql_db_name();
    let mut locker = AsyncMysqlConnection::establish(&format!("{}/{db}", mysql_base_url()))
        .await
        .expect("lock connection");
    diesel::sql_query("LOCK TABLES responses WRITE")
        .execute(&mut locker)
        .await
        .expect("lock");
    let service = app.service.clone();
    let request = tokio::spawn(async move { b.get(&service, "/survey/1").await.status });
    wait_for_lock_wait(&app).await;
    // ... while every session of its user is ended (a password change elsewhere, a role
    // change, a deletion).
    pesquisa::web::session::end_all_for_user(&app.state.kv, id, None)
        .await
        .expect("end all");
    diesel::sql_query("UNLOCK TABLES")
        .execute(&mut locker)
        .await
        .expect("unlock");
    let status = request.await.expect("request");
    assert_ne!(status, 500);

    assert_eq!(
        app.state.kv.get(&key).await.expect("kv"),
        None,
        "the ended session was saved again by the request that was running"
    );
    assert!(indexed(&app, id).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn request_id_from_a_trusted_proxy_is_kept_and_any_other_replaced() {
    let app = TestApp::spawn_with(Backend::SqliteMemory, |s| {
        s.server.trusted_proxies = vec!["10.0.2.10".parse().expect("net")];
    })
    .await;
    let id_from = |ip: &str, id: &str| {
        let mut b = Browser::from_ip(ip);
        b.headers.push(("x-request-id", id.to_string()));
        b
    };
    let nginx_id = "0f3c2a9be41d4c7a8d5e6f7a8b9c0d1e";
    let page = id_from("10.0.2.10", nginx_id)
        .get(&app.service, "/login")
        .await;
    assert_eq!(header(&page, "x-request-id"), nginx_id, "kept from nginx");

    // From anyone else, or of a shape nginx never sends: a fresh id of our own.
    for (ip, id) in [
        ("203.0.113.7", nginx_id.to_string()),
        ("10.0.2.10", "a".repeat(200)),
        ("10.0.2.10", "<script>".to_string()),
        ("10.0.2.10", String::new()),
    ] {
        let page = id_from(ip, &id).get(&app.service, "/login").await;
        let got = header(&page, "x-request-id");
        assert_ne!(got, id, "{ip} {id}");
        assert!(
            (16..=64).contains(&got.len()) && got.bytes().all(|c| c.is_ascii_alphanumeric()),
            "{got}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn web_log_ins_password_changes_and_personal_data_lists_are_audited() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let email = "auditada@exemplo.com.br";
        let mut b = app.signup(email).await;
        let respondent = user_id(&app, email).await;
        let mut again = Browser::from_ip("203.0.113.8");
        assert_eq!(
            app.login(&mut again, email, GOOD_PASSWORD).await.status,
            303
        );
        let page = b
            .submit(
                &app.service,
                "/account",
                "/account/password",
                &[
                    ("current_password", GOOD_PASSWORD),
                    ("password", "uma frase nova bem longa"),
                    ("password_confirm", "uma frase nova bem longa"),
                ],
            )
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        let mut admin = app.staff("chefe.audita@exemplo.com.br", Role::Admin).await;
        let admin_id = user_id(&app, "chefe.audita@exemplo.com.br").await;
        assert_eq!(
            admin
                .get(&app.service, "/admin/users?q=auditada")
                .await
                .status,
            200
        );

        let rows = audit::recent(app.db(), 100).await.expect("audit");
        let has = |actor: i64, action: &str| {
            rows.iter()
                .any(|r| r.actor_id == Some(actor) && r.action == action)
        };
        assert!(has(respondent, "auth.login"), "{backend:?}: {rows:?}");
        assert!(has(admin_id, "auth.login"), "{backend:?}: {rows:?}");
        assert!(
            has(respondent, "account.password_changed"),
            "{backend:?}: {rows:?}"
        );
        let listed = rows
            .iter()
            .find(|r| r.actor_id == Some(admin_id) && r.action == "admin.users_listed")
            .unwrap_or_else(|| panic!("{backend:?}: {rows:?}"));
        assert!(
            !listed.detail.contains("auditada"),
            "the search text (part of an e-mail) is not kept: {listed:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn readiness_details_only_for_loopback_and_trusted_proxies() {
    let app = TestApp::spawn_with(Backend::SqliteMemory, |s| {
        s.server.trusted_proxies = vec!["10.0.2.10".parse().expect("net")];
    })
    .await;
    for ip in ["127.0.0.1", "10.0.2.10", "[::1]"] {
        let page = Browser::from_ip(ip).get(&app.service, "/readyz").await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("\"sqlite\""), "{ip}: {}", page.body);
    }
    let page = Browser::from_ip("203.0.113.7")
        .get(&app.service, "/readyz")
        .await;
    assert_eq!(page.status, 200);
    assert_eq!(page.body, "ready", "no backend named to strangers");
    assert_eq!(header(&page, "cache-control"), "no-store");
    // A visitor through nginx is not nginx.
    let mut through = Browser::from_ip("10.0.2.10");
    through
        .headers
        .push(("x-forwarded-for", "203.0.113.7".to_string()));
    let page = through.get(&app.service, "/readyz").await;
    assert_eq!(page.body, "ready", "through the proxy: {}", page.body);
}

/// Every log line of this test binary from here on, as JSON (installed once).
pub(crate) fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        struct Sink(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Sink {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().expect("log buffer").extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_env_filter("pesquisa=info")
            .with_writer(move || Sink(sink.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one log subscriber");
        buf
    })
    .clone()
}

/// The "request refused" log line of the request with this id.
fn refusal_line(logs: &Arc<Mutex<Vec<u8>>>, request_id: &str) -> serde_json::Value {
    let text = String::from_utf8(logs.lock().expect("logs").clone()).expect("utf-8");
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| l["message"] == "request refused" && l["span"]["request_id"] == request_id)
        .unwrap_or_else(|| panic!("no refusal logged for request {request_id}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn csrf_refusals_and_403s_log_client_account_id_and_kind_never_the_email() {
    let logs = captured_logs();
    let app = TestApp::spawn_with(Backend::SqliteMemory, |s| {
        s.server.trusted_proxies = vec!["10.0.2.10".parse().expect("net")];
    })
    .await;
    let email = "recusada.log@exemplo.com.br";
    let mut b = app.signup(email).await;
    let id = user_id(&app, email).await;
    // Through nginx from client 198.51.100.77; each request with an id of our own.
    b.peer = "10.0.2.10:40000".parse().expect("addr");
    let via_nginx = |rid: &str, extra: Option<(&'static str, &str)>| {
        let mut h = vec![
            ("x-forwarded-for", "198.51.100.77".to_string()),
            ("x-request-id", rid.to_string()),
        ];
        h.extend(extra.map(|(k, v)| (k, v.to_string())));
        h
    };
    let rid = |n: u8| format!("{n:02x}{}", "5ec8".repeat(7));

    b.headers = via_nginx(&rid(1), None);
    let page = b
        .post(
            &app.service,
            "/account/profile",
            &[("csrf_token", "forjado")],
        )
        .await;
    assert_eq!(page.status, 403);
    b.headers = via_nginx(&rid(2), Some(("sec-fetch-site", "cross-site")));
    let page = b
        .post(
            &app.service,
            "/account/profile",
            &[("csrf_token", "forjado")],
        )
        .await;
    assert_eq!(page.status, 403);
    b.headers = via_nginx(&rid(3), None);
    assert_eq!(b.get(&app.service, "/admin/users").await.status, 403);

    for (n, kind) in [(1, "csrf_token"), (2, "cross_site"), (3, "role")] {
        let line = refusal_line(&logs, &rid(n));
        assert_eq!(line["kind"], kind, "{line}");
        assert_eq!(line["client"], "198.51.100.77", "{line}");
        assert_eq!(line["user_id"], id, "{line}");
        assert!(!line.to_string().contains('@'), "no e-mail: {line}");
    }
    let all = String::from_utf8(logs.lock().expect("logs").clone()).expect("utf-8");
    assert!(!all.contains(email), "an e-mail reached the log");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_whose_body_never_arrives_gets_408_not_503() {
    use salvo::conn::Listener as _;
    use std::io::{Read, Write};
    let app = TestApp::spawn_with(Backend::SqliteMemory, |s| {
        s.server.request_timeout_secs = 3;
        s.server.body_timeout_secs = 1;
    })
    .await;
    // Over real TCP, so hyper's own body stream is what waits.
    let port = free_port();
    let acceptor = salvo::conn::TcpListener::new(("127.0.0.1", port))
        .try_bind()
        .await
        .expect("listen");
    let service = pesquisa::router::service(&app.state);
    let server = tokio::spawn(salvo::Server::new(acceptor).serve(service));
    let answer = tokio::task::spawn_blocking(move || {
        let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        conn.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        // Headers promise 100 bytes; only 10 come, and then nothing.
        conn.write_all(
            b"POST /login HTTP/1.1\r\nHost: pesquisa.example\r\n\
              Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n\
              email=a%40b",
        )
        .expect("write");
        let started = std::time::Instant::now();
        let mut head = [0u8; 512];
        let n = conn.read(&mut head).expect("an answer");
        (
            String::from_utf8_lossy(&head[..n]).to_string(),
            started.elapsed(),
        )
    })
    .await
    .expect("client");
    server.abort();
    let (head, took) = answer;
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    assert!(
        head.contains("x-request-id"),
        "the 408 has a request id: {head}"
    );
    assert!(
        took < Duration::from_secs(3),
        "within the body timeout: {took:?}"
    );
}
