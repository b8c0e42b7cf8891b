//! What anonymous clients can make the server keep: nothing. The attacks of the security
//! review replayed: a flood of form visits and session-less questionnaire posts, a
//! cross-site post against a logged-in respondent, forged and repeated answer rescues, and
//! a Redis at a small `maxmemory` (the deploy's `noeviction` policy) flooded and then
//! filled, with sessions and lock-out counters kept throughout.

use bb8_redis::redis;

use crate::helpers::*;

/// Anonymous requests in each flood below.
const FLOOD: usize = 300;

/// The keys the app's store holds under its prefix.
async fn key_count(app: &TestApp) -> u64 {
    app.state.kv.key_count().await.expect("count keys")
}

/// Every way an anonymous client reaches the pages, `FLOOD` times: form visits, the
/// questionnaire without a session (with and without a valid anonymous token) and with a
/// forged session cookie and token.
async fn anonymous_flood(app: &TestApp) -> Vec<u16> {
    let mut statuses = Vec::new();
    for i in 0..FLOOD {
        let mut b = Browser::from_ip(&format!("203.0.113.{}", i % 250 + 1));
        for path in ["/", "/login", "/register", "/survey/1"] {
            statuses.push(b.get(&app.service, path).await.status);
        }
        // Signed for this browser's nonce: passes the CSRF guard, then needs a log-in.
        let token = b.get(&app.service, "/login").await.csrf();
        let fields = [
            ("csrf_token", token.as_str()),
            ("idade", "99"),
            ("moradores", "2"),
        ];
        statuses.push(b.post(&app.service, "/survey/1", &fields).await.status);
        // No cookie, no token: the old "rescued draft" hole.
        let mut bare = Browser::from_ip("198.51.100.99");
        statuses.push(
            bare.post(&app.service, "/survey/1", &[("idade", "99")])
                .await
                .status,
        );
        // A made-up session id with a made-up token.
        let mut forged = Browser::from_ip("198.51.100.98");
        forged
            .cookies
            .insert("pesquisa_sid".into(), pesquisa::crypto::random_token());
        let fake = pesquisa::crypto::random_token();
        statuses.push(
            forged
                .post(
                    &app.service,
                    "/survey/1",
                    &[("csrf_token", fake.as_str()), ("idade", "99")],
                )
                .await
                .status,
        );
    }
    statuses
}

#[tokio::test(flavor = "multi_thread")]
async fn anonymous_traffic_stores_nothing() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let _respondent = app.signup("fica@exemplo.com.br").await;
        let before = key_count(&app).await;
        assert!(
            before >= 1,
            "{backend:?}: the respondent's session is stored"
        );
        let statuses = anonymous_flood(&app).await;
        assert!(
            statuses.iter().all(|s| [200, 303, 403].contains(s)),
            "{backend:?}: {:?}",
            statuses
                .iter()
                .filter(|s| ![200, 303, 403].contains(*s))
                .collect::<Vec<_>>()
        );
        assert_eq!(
            key_count(&app).await,
            before,
            "{backend:?}: {} anonymous requests left keys in the store",
            statuses.len()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cross_site_post_neither_stores_answers_nor_replaces_the_victims_cookie() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let mut victim = app.signup("vitima@exemplo.com.br").await;
        let own = victim.session_cookie().expect("session").to_string();
        let keys = key_count(&app).await;

        // The attacker's page posts to /survey/1. A browser sends no SameSite=Lax cookie
        // with it; an old one might, so try both. Older browsers send no Sec-Fetch-Site,
        // and some privacy settings drop Origin: each header alone must be enough.
        let evil_headers: [&[(&str, &str)]; 3] = [
            &[("origin", "https://evil.example")],
            &[("sec-fetch-site", "cross-site")],
            &[
                ("origin", "https://evil.example"),
                ("sec-fetch-site", "cross-site"),
            ],
        ];
        for (with_cookie, headers) in [false, true]
            .into_iter()
            .flat_map(|c| evil_headers.iter().map(move |h| (c, *h)))
        {
            let mut from_evil = if with_cookie {
                victim.clone()
            } else {
                Browser::from_ip("203.0.113.7")
            };
            for (name, value) in headers {
                from_evil.headers.push((name, value.to_string()));
            }
            let page = from_evil
                .post(
                    &app.service,
                    "/survey/1",
                    &[
                        ("idade", "77"),
                        ("moradores", "9"),
                        ("renda_familiar", "ate_2sm"),
                    ],
                )
                .await;
            assert_eq!(page.status, 403, "{backend:?} {headers:?}: {}", page.body);
            assert_eq!(
                page.headers.get_all("set-cookie").iter().count(),
                0,
                "{backend:?} {headers:?}: a cross-site request sets or removes no cookie"
            );
        }
        assert_eq!(key_count(&app).await, keys, "{backend:?}: nothing stored");
        // The victim is still logged in with the same cookie, and their page holds none of
        // the attacker's answers.
        let page = victim.get(&app.service, "/survey/1").await;
        assert_eq!(page.status, 200);
        assert_eq!(victim.session_cookie(), Some(own.as_str()));
        assert!(!page.body.contains("value=\"77\""));

        // The same host on another port (nginx's TLS port) is the same site: the victim's
        // own form, posted with such an Origin, saves.
        let token = page.csrf();
        let mut own_site = victim.clone();
        own_site
            .headers
            .push(("origin", "http://127.0.0.1:8443".into()));
        own_site
            .headers
            .push(("sec-fetch-site", "same-origin".into()));
        let saved = own_site
            .post(
                &app.service,
                "/survey/1",
                &[
                    ("csrf_token", token.as_str()),
                    ("idade", "41"),
                    ("moradores", "3"),
                    ("renda_familiar", "ate_2sm"),
                ],
            )
            .await;
        assert_eq!(saved.status, 303, "{backend:?}: {}", saved.body);
        let page = victim.get(&app.service, "/survey/1").await;
        assert!(page.body.contains("value=\"41\""), "{backend:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rescue_needs_the_ended_sessions_cookie_and_token_keeps_only_the_pages_questions_and_is_limited()
 {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let mut b = app.signup("resgate@exemplo.com.br").await;
        let id = pesquisa::db::users::find_by_email(app.db(), "resgate@exemplo.com.br")
            .await
            .expect("query")
            .expect("user")
            .id;
        let token = b.get(&app.service, "/survey/1").await.csrf();
        pesquisa::web::session::end_all_for_user(&app.state.kv, id, None)
            .await
            .expect("end");
        let keys = key_count(&app).await;

        // The same expired cookie with another token: refused, nothing kept.
        let mut wrong = b.clone();
        let page = wrong
            .post(
                &app.service,
                "/survey/1",
                &[
                    ("csrf_token", &pesquisa::crypto::random_token()),
                    ("idade", "41"),
                ],
            )
            .await;
        assert_eq!(page.status, 403, "{backend:?}");
        assert_eq!(key_count(&app).await, keys);

        // The right pair: kept, but only the page's own questions, within their limits.
        let junk: Vec<(String, String)> = (0..300)
            .map(|i| (format!("campo{i}"), "x".repeat(200)))
            .collect();
        let long = "9".repeat(500);
        let mut fields: Vec<(&str, &str)> = vec![
            ("csrf_token", token.as_str()),
            ("idade", "41"),
            ("moradores", long.as_str()),
            ("renda_familiar", "4a10sm"),
            ("renda_familiar", "2a4sm"),
            ("gasto_mensal", "601a1000"),
        ];
        fields.extend(junk.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let mut first_location = String::new();
        for attempt in 0..3 {
            let mut again = b.clone();
            let page = again.post(&app.service, "/survey/1", &fields).await;
            assert_eq!(page.status, 303, "{backend:?}: {}", page.body);
            assert!(page.location().starts_with("/login?next="));
            if attempt == 0 {
                first_location = page.location().to_string();
            } else {
                assert_eq!(page.location(), first_location, "the same draft, replaced");
            }
        }
        // Rescue (one draft for the ended session) and the client's rescue counter.
        assert_eq!(key_count(&app).await, keys + 2, "{backend:?}");
        let next = first_location
            .trim_start_matches("/login?next=")
            .replace("%2F", "/")
            .replace("%3F", "?")
            .replace("%3D", "=");
        let draft_key = format!("draft:{}", next.rsplit('=').next().expect("token"));
        let stored = app
            .state
            .kv
            .get(&draft_key)
            .await
            .expect("get")
            .expect("draft kept");
        let (path, kept): (String, Vec<(String, String)>) =
            serde_json::from_str(&stored).expect("draft json");
        assert_eq!(path, "/survey/1");
        assert_eq!(
            kept,
            vec![
                ("idade".to_string(), "41".to_string()),
                ("renda_familiar".to_string(), "4a10sm".to_string()),
            ],
            "{backend:?}: only this page's questions, one value each, none oversized"
        );

        // Per client network: 20 rescues an hour, then 429.
        let mut statuses = Vec::new();
        for _ in 0..20 {
            let mut again = b.clone();
            statuses.push(again.post(&app.service, "/survey/1", &fields).await.status);
        }
        assert_eq!(
            statuses.iter().filter(|&&s| s == 429).count(),
            3,
            "{statuses:?}"
        );
    }
}

/// A redis-server of the test's own, with little memory and the deploy's policy.
fn small_redis() -> PrivateRedis {
    PrivateRedis::start_with(
        free_port(),
        &["--maxmemory", "8mb", "--maxmemory-policy", "noeviction"],
    )
}

async fn redis_conn(redis: &PrivateRedis) -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis.url())
        .expect("client")
        .get_multiplexed_async_connection()
        .await
        .expect("connect")
}

async fn used_memory(redis: &PrivateRedis) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("memory")
        .query_async(&mut redis_conn(redis).await)
        .await
        .expect("info");
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("used_memory")
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_at_maxmemory_keeps_sessions_and_counters_while_anonymous_traffic_floods() {
    let redis = small_redis();
    let url = redis.url();
    let app = TestApp::spawn_with(Backend::MariaRedis, move |s| {
        s.redis.url = Some(url);
        s.rate_limit.register_per_ip = 100;
        // Five failures close the account to unknown devices for the rest of the hour.
        s.rate_limit.login_failures_per_account_hour = 5;
        // No per-client wait: its 2 s key would expire mid-test and upset the key count.
        s.rate_limit.login_free_failures = 100;
    })
    .await;
    // Five respondents logged in, and one account closed to unknown devices by five wrong
    // passwords (its ceiling here).
    let mut people = Vec::new();
    for i in 0..5 {
        people.push(app.signup(&format!("pessoa{i}@exemplo.com.br")).await);
    }
    let _owner = app.signup("trancada@exemplo.com.br").await;
    let mut guesser = Browser::from_ip("198.51.100.66");
    for _ in 0..5 {
        let page = app
            .login(
                &mut guesser,
                "trancada@exemplo.com.br",
                "palpite errado demais",
            )
            .await;
        assert_eq!(page.status, 422);
    }
    let mut owner = Browser::from_ip("198.51.100.67");
    let locked = app
        .login(&mut owner, "trancada@exemplo.com.br", GOOD_PASSWORD)
        .await;
    assert_eq!(locked.status, 429, "locked out");

    // The flood stores nothing, so it cannot push anything out.
    let keys = key_count(&app).await;
    let memory = used_memory(&redis).await;
    let statuses = anonymous_flood(&app).await;
    assert!(
        !statuses.contains(&500) && !statuses.contains(&503),
        "{statuses:?}"
    );
    assert_eq!(key_count(&app).await, keys, "the flood left no key");
    let grown = used_memory(&redis).await.saturating_sub(memory);
    assert!(grown < 256 * 1024, "the flood grew Redis by {grown} bytes");

    // Respondent 0 was last seen two minutes ago, so their next request also rewrites
    // the session's idle timer, a write that will fail below.
    let cookie = people[0].session_cookie().expect("session").to_string();
    let key = pesquisa::web::store_keys::session(&cookie);
    let stored = app.state.kv.get(&key).await.expect("read").expect("stored");
    let mut data: serde_json::Value = serde_json::from_str(&stored).expect("json");
    data["seen"] = (chrono::Utc::now().timestamp() - 120).into();
    app.state
        .kv
        .set(
            &key,
            &data.to_string(),
            std::time::Duration::from_secs(3600),
        )
        .await
        .expect("rewrite");

    // Now Redis is full (someone else's data fills it): nothing is evicted, writes fail.
    let mut filler = redis_conn(&redis).await;
    let blob = "x".repeat(64 * 1024);
    let mut filled = false;
    for i in 0..1000 {
        let set: Result<(), _> = redis::cmd("SET")
            .arg(format!("filler:{i}"))
            .arg(&blob)
            .query_async(&mut filler)
            .await;
        if let Err(e) = set {
            assert!(e.to_string().contains("OOM"), "{e}");
            filled = true;
            break;
        }
    }
    assert!(filled, "Redis reached maxmemory");
    // Keep it over the limit whatever buffers come and go meanwhile.
    let used = used_memory(&redis).await;
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg(used - 1024 * 1024)
        .query_async(&mut filler)
        .await
        .expect("lower maxmemory");
    for (i, b) in people.iter_mut().enumerate() {
        let page = b.get(&app.service, "/survey/1").await;
        assert_eq!(
            page.status, 200,
            "respondent {i} still logged in while Redis is full"
        );
    }
    // Answers are saved in the database even though the idle-timer write fails: a
    // committed save is not reported as failed.
    let token = people[0].get(&app.service, "/survey/1").await.csrf();
    let saved = people[0]
        .post(
            &app.service,
            "/survey/1",
            &[
                ("csrf_token", token.as_str()),
                ("idade", "58"),
                ("moradores", "4"),
                ("renda_familiar", "ate_2sm"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert!(
        people[0]
            .get(&app.service, "/survey/1")
            .await
            .body
            .contains("value=\"58\""),
        "the answers were stored"
    );
    // Anonymous pages still answer; what needs a write gets a clear 503 to retry.
    let mut stranger = Browser::from_ip("203.0.113.200");
    assert_eq!(stranger.get(&app.service, "/login").await.status, 200);
    let refused = app
        .login(&mut stranger, "pessoa0@exemplo.com.br", GOOD_PASSWORD)
        .await;
    assert_eq!(refused.status, 503);
    assert_eq!(
        refused
            .headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("5")
    );
    assert!(
        refused.body.contains("temporariamente indisponível"),
        "{}",
        refused.body
    );

    // Room again: every session and the lock-out survived the flood and the full Redis.
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg("8mb")
        .query_async(&mut filler)
        .await
        .expect("restore maxmemory");
    for i in 0..1000 {
        let _: Result<u64, _> = redis::cmd("DEL")
            .arg(format!("filler:{i}"))
            .query_async(&mut filler)
            .await;
    }
    for (i, b) in people.iter_mut().enumerate() {
        let page = b.get(&app.service, "/survey/1").await;
        assert_eq!(page.status, 200, "respondent {i}");
    }
    let still = app
        .login(&mut owner, "trancada@exemplo.com.br", GOOD_PASSWORD)
        .await;
    assert_eq!(still.status, 429, "the lock-out counter was not evicted");
    let ok = app
        .login(&mut stranger, "pessoa0@exemplo.com.br", GOOD_PASSWORD)
        .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
}
