//! The foundation seen over HTTP: health checks, home page, assets, error pages,
//! security headers, language choice.

use std::time::{Duration, Instant};

use salvo::http::StatusCode;
use salvo::test::TestClient;

use crate::helpers::{ALL_BACKENDS, Backend, Browser, PrivateRedis, TestApp, body, free_port};

#[tokio::test(flavor = "multi_thread")]
async fn health_and_readiness_answer_on_both_backends() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let mut res = app.get("/healthz").await;
        assert_eq!(res.status_code, Some(StatusCode::OK), "{backend:?}");
        assert_eq!(body(&mut res).await, "ok");

        let mut res = app.get_local("/readyz").await;
        assert_eq!(res.status_code, Some(StatusCode::OK), "{backend:?}");
        let json: serde_json::Value = serde_json::from_str(&body(&mut res).await).expect("json");
        assert_eq!(json["status"], "ready");
        let (db, kv) = match backend {
            Backend::MariaRedis => ("mariadb", "redis"),
            Backend::SqliteMemory => ("sqlite", "memory"),
        };
        assert_eq!(json["database"]["backend"], db);
        assert_eq!(json["sessions"]["backend"], kv);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn home_page_renders_in_portuguese_with_security_headers() {
    let app = TestApp::spawn(Backend::SqliteMemory).await;
    let mut res = app.get("/").await;
    assert_eq!(res.status_code, Some(StatusCode::OK));
    let headers = res.headers().clone();
    let csp = headers["content-security-policy"].to_str().expect("csp");
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"));
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert!(headers.contains_key("referrer-policy"));
    assert!(headers.contains_key("x-request-id"));
    assert!(
        headers["content-type"]
            .to_str()
            .expect("ct")
            .starts_with("text/html")
    );
    let html = body(&mut res).await;
    assert!(html.contains("lang=\"pt-BR\""));
    assert!(html.contains("Pesquisa sobre compras de supermercado"));
    assert!(!html.contains("<script>"), "no inline scripts");
}

#[tokio::test(flavor = "multi_thread")]
async fn english_when_the_browser_prefers_it_or_the_visitor_picks_it() {
    let app = TestApp::spawn(Backend::SqliteMemory).await;
    let mut res = app
        .send(TestClient::get("http://127.0.0.1/").add_header(
            "accept-language",
            "en-GB,en;q=0.9",
            true,
        ))
        .await;
    assert!(body(&mut res).await.contains("lang=\"en\""));

    let res = app.get("/?lang=en").await;
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("lang="))
        .expect("language cookie")
        .to_string();
    assert!(cookie.starts_with("lang=en"));
    let mut res = app
        .send(TestClient::get("http://127.0.0.1/").add_header("cookie", "lang=en", true))
        .await;
    assert!(body(&mut res).await.contains("Skip to content"));
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_path_gets_our_404_page() {
    let app = TestApp::spawn(Backend::SqliteMemory).await;
    let mut res = app.get("/no/such/page").await;
    assert_eq!(res.status_code, Some(StatusCode::NOT_FOUND));
    assert!(res.headers().contains_key("content-security-policy"));
    let html = body(&mut res).await;
    assert!(html.contains("Página não encontrada"), "{html}");
}

#[tokio::test(flavor = "multi_thread")]
async fn assets_are_served_with_long_cache_and_etag() {
    let app = TestApp::spawn(Backend::SqliteMemory).await;
    let home = body(&mut app.get("/").await).await;
    let css_url = home
        .split("href=\"")
        .filter_map(|s| s.split('"').next())
        .find(|u| u.starts_with("/assets/css/app.css?v="))
        .expect("versioned stylesheet link")
        .to_string();
    let mut res = app.get(&css_url).await;
    assert_eq!(res.status_code, Some(StatusCode::OK));
    let headers = res.headers().clone();
    assert!(
        headers["cache-control"]
            .to_str()
            .expect("cc")
            .contains("max-age=31536000")
    );
    assert!(
        headers["content-type"]
            .to_str()
            .expect("ct")
            .starts_with("text/css")
    );
    let etag = headers["etag"].to_str().expect("etag").to_string();
    assert!(
        css_url.ends_with(etag.trim_matches('"')),
        "hash in URL = ETag"
    );
    assert!(body(&mut res).await.contains(":root"));

    let res = app
        .send(
            TestClient::get(format!("http://127.0.0.1{css_url}")).add_header(
                "if-none-match",
                &etag,
                true,
            ),
        )
        .await;
    assert_eq!(res.status_code, Some(StatusCode::NOT_MODIFIED));

    let res = app.get("/assets/css/missing.css").await;
    assert_eq!(res.status_code, Some(StatusCode::NOT_FOUND));
    let res = app.get("/assets/../Cargo.toml").await;
    assert_ne!(res.status_code, Some(StatusCode::OK));
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_body_is_refused_with_413() {
    let app = TestApp::spawn(Backend::SqliteMemory).await;
    let big = "x".repeat(200 * 1024);
    let res = app
        .send(
            TestClient::post("http://127.0.0.1/")
                .add_header("content-length", big.len().to_string(), true)
                .text(big),
        )
        .await;
    assert_eq!(res.status_code, Some(StatusCode::PAYLOAD_TOO_LARGE));
}

#[tokio::test(flavor = "multi_thread")]
async fn readiness_follows_redis_down_and_back_without_restart() {
    let port = free_port();
    let mut redis = PrivateRedis::start(port);
    let app = TestApp::spawn_with(Backend::MariaRedis, |s| {
        s.redis.url = Some(format!("redis://127.0.0.1:{port}"));
        s.redis.connect_timeout_secs = 1;
    })
    .await;
    assert_eq!(
        app.get_local("/readyz").await.status_code,
        Some(StatusCode::OK)
    );

    redis.stop();
    let started = Instant::now();
    let mut res = app.get_local("/readyz").await;
    let took = started.elapsed();
    assert_eq!(res.status_code, Some(StatusCode::SERVICE_UNAVAILABLE));
    assert!(
        took < Duration::from_secs(4),
        "503 within a few seconds, took {took:?}"
    );
    let json: serde_json::Value = serde_json::from_str(&body(&mut res).await).expect("json");
    assert_eq!(json["sessions"]["ok"], false);
    assert_eq!(json["database"]["ok"], true);

    let _redis = PrivateRedis::start(redis.port);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if app.get_local("/readyz").await.status_code == Some(StatusCode::OK) {
            break;
        }
        assert!(Instant::now() < deadline, "readiness did not come back");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn readiness_names_the_database_when_it_fails() {
    let app = TestApp::spawn(Backend::MariaRedis).await;
    let db = app.mysql_db_name().to_string();
    crate::helpers::mysql_admin(&format!("DROP DATABASE `{db}`")).await;
    let mut res = app.get_local("/readyz").await;
    assert_eq!(res.status_code, Some(StatusCode::SERVICE_UNAVAILABLE));
    let json: serde_json::Value = serde_json::from_str(&body(&mut res).await).expect("json");
    assert_eq!(json["database"]["ok"], false);
    assert_eq!(json["sessions"]["ok"], true);
    assert_eq!(json["status"], "unavailable");
}

/// The metrics service's text, scraped from the app's own metrics.
async fn scrape(app: &TestApp) -> String {
    let mut res = TestClient::get("http://127.0.0.1/metrics")
        .send(&pesquisa::web::metrics::service(&app.state))
        .await;
    assert_eq!(res.status_code, Some(StatusCode::OK));
    assert_eq!(
        res.headers()["content-type"],
        pesquisa::metrics::CONTENT_TYPE
    );
    body(&mut res).await
}

fn assert_has(text: &str, lines: &[&str]) {
    for line in lines {
        assert!(text.contains(line), "{line} not in:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_requests_by_route_pattern_sessions_and_refusals() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        // Sign-up ends on the questionnaire's first page (GET /survey/1), then one more.
        let mut b = app.signup("medida@exemplo.com.br").await;
        assert_eq!(b.get(&app.service, "/survey/1").await.status, 200);
        assert_eq!(
            app.get("/nada/aqui").await.status_code,
            Some(StatusCode::NOT_FOUND)
        );
        let mut guesser = Browser::from_ip("198.51.100.9");
        for _ in 0..6 {
            app.login(&mut guesser, "medida@exemplo.com.br", "chute errado numero")
                .await;
        }
        let text = scrape(&app).await;
        assert_has(
            &text,
            &[
                r#"pesquisa_http_requests_total{route="/survey/{n}",method="GET",status="200"} 2"#,
                r#"pesquisa_http_requests_total{route="unmatched",method="GET",status="404"} 1"#,
                r#"pesquisa_http_requests_total{route="/login",method="POST",status="422"} 5"#,
                r#"pesquisa_http_requests_total{route="/login",method="POST",status="429"} 1"#,
                r#"pesquisa_http_request_duration_seconds_count{route="/login",method="POST"} 6"#,
                r#"pesquisa_rate_limit_refusals_total{kind="login_delay"} 1"#,
                "pesquisa_sessions_created_total 1",
                r#"pesquisa_pool_connections{backend="database",state="in_use"} 0"#,
                "pesquisa_password_hash_queue 0",
            ],
        );
        assert!(!text.contains("medida"), "no address in the metrics");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_backend_errors_by_backend() {
    let port = free_port();
    let mut redis = PrivateRedis::start(port);
    let app = TestApp::spawn_with(Backend::MariaRedis, |s| {
        s.redis.url = Some(format!("redis://127.0.0.1:{port}"));
        s.redis.connect_timeout_secs = 1;
    })
    .await;
    let mut b = app.signup("medida@exemplo.com.br").await;
    redis.stop();
    assert_eq!(b.get(&app.service, "/survey/1").await.status, 503);
    let text = scrape(&app).await;
    assert_has(
        &text,
        &[
            r#"pesquisa_backend_errors_total{backend="sessions"} 1"#,
            r#"pesquisa_http_requests_total{route="/survey/{n}",method="GET",status="503"} 1"#,
            r#"pesquisa_pool_connections{backend="sessions","#,
        ],
    );
}
