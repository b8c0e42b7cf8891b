//! Respondent accounts end to end through the real router, on MariaDB + Redis and on
//! SQLite + the in-process store: sign-up, log-in, sessions, CSRF, rate limits, consent,
//! "my account", deletion, and the admin area's role checks.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use pesquisa::accounts::Role;
use pesquisa::db::schema::{audit_log, consents, users};
use pesquisa::db::{DbError, DbPool, users as user_model};
use pesquisa::with_conn;

use crate::helpers::{
    ALL_BACKENDS, Backend, Browser, GOOD_PASSWORD, Page, TestApp, as_refs, signup_fields,
};

async fn count_users(db: &DbPool) -> i64 {
    let n: Result<i64, DbError> =
        async { with_conn!(db, |conn| Ok(users::table.count().get_result(conn).await?)) }.await;
    n.expect("count")
}

async fn consent_kinds(app: &TestApp, user_id: i64) -> Vec<(String, i32, bool)> {
    pesquisa::db::consents::of_user(app.db(), user_id)
        .await
        .expect("consents")
        .into_iter()
        .map(|r| (r.document.kind, r.document.version, r.revoked_at.is_none()))
        .collect()
}

async fn audit_actions(app: &TestApp) -> Vec<(String, Option<i64>)> {
    pesquisa::db::audit::recent(app.db(), 100)
        .await
        .expect("audit")
        .into_iter()
        .map(|e| (e.action, e.subject_id))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_up_creates_the_account_with_consents_and_an_argon2id_hash() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let mut b = Browser::default();
        let page = b.get(&app.service, "/register").await;
        assert_eq!(page.status, 200);
        assert!(
            page.body.contains("Termos de uso") && page.body.contains("Política de privacidade")
        );
        assert!(
            page.body.contains("art. 18"),
            "privacy policy names the LGPD rights"
        );
        assert!(page.body.contains("JARDIM SÃO JOSÉ"), "bairro list");
        assert_eq!(b.session_cookie(), None, "a visit stores no session");
        assert!(
            b.cookies.contains_key("pesquisa_sid_pre"),
            "the form's nonce"
        );

        let mut fields = signup_fields("  Ana.Souza@Exemplo.com.BR ");
        fields.push(("consent_email_updates", "1".into()));
        let token = page.csrf();
        let mut all = vec![("csrf_token", token.as_str())];
        all.extend(as_refs(&fields));
        let page = b.post(&app.service, "/register", &all).await;
        assert_eq!(page.status, 303, "{}", page.body);
        assert_eq!(page.location(), "/register/sent");
        assert_eq!(b.session_cookie(), None, "sign-up logs nobody in");
        let sent = b.get(&app.service, "/register/sent").await;
        assert!(sent.body.contains("Confira seu e-mail"), "{}", sent.body);
        // The verification link logs the person in and starts the questionnaire.
        let page = app
            .follow_verification(&mut b, "ana.souza@exemplo.com.br")
            .await;
        assert_eq!(page.location(), "/survey");
        assert!(b.session_cookie().is_some(), "a session from the link on");

        let user = user_model::find_by_email(app.db(), "ana.souza@exemplo.com.br")
            .await
            .expect("query")
            .expect("stored lower-cased");
        assert!(
            user.password_hash.starts_with("$argon2id$v=19$"),
            "{}",
            user.password_hash
        );
        assert!(!user.password_hash.contains(GOOD_PASSWORD));
        assert_eq!(user.telefone.as_deref(), Some("12998765432"));
        assert_eq!(user.bairro, "JARDIM SÃO JOSÉ");
        assert_eq!(user.role(), Role::Respondent);
        assert!(user.adult_declared_at.is_some());
        let mut kinds = consent_kinds(&app, user.id).await;
        kinds.sort();
        assert_eq!(
            kinds,
            vec![
                ("email_updates".into(), 1, true),
                ("privacy".into(), 1, true),
                ("terms".into(), 1, true)
            ],
            "{backend:?}"
        );

        let page = b.get(&app.service, "/account").await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("Olá, Ana."));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn default_password_parameters_are_the_owasp_minimum() {
    let app = TestApp::spawn_with(Backend::SqliteMemory, |s| {
        s.passwords = Default::default();
    })
    .await;
    app.signup("owasp@exemplo.com.br").await;
    let user = user_model::find_by_email(app.db(), "owasp@exemplo.com.br")
        .await
        .expect("q")
        .expect("user");
    assert!(
        user.password_hash
            .starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{}",
        user.password_hash
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_sign_ups_show_the_error_by_the_field_and_store_nothing() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        // A taken address is not refused here: see
        // mail::sign_up_does_not_reveal_whether_an_email_is_registered.
        let cases: Vec<(&str, &str, &str, &str)> = vec![
            // (field to change, new value, field with the error, words of the message)
            ("email", "sem-arroba", "email", "e-mail válido"),
            ("password", "curta", "password", "pelo menos 12"),
            ("password", "onze letras", "password", "pelo menos 12"),
            ("password", "123456789012", "password", "muito comum"),
            ("password", "Flamengo2024!", "password", "muito comum"),
            (
                "password_confirm",
                "outra coisa qualquer",
                "password_confirm",
                "não conferem",
            ),
            ("accept_terms", "", "accept_terms", "aceitar"),
            ("adult", "", "adult", "aceitar"),
            ("telefone", "12345", "telefone", "DDD"),
            ("bairro", "BAIRRO INVENTADO", "bairro", "lista"),
            ("nome", "   ", "nome", "Preencha"),
        ];
        for (i, (field, value, error_field, words)) in cases.into_iter().enumerate() {
            // One address per case: the sign-up rate limit is not what this test is about.
            let mut b = Browser::from_ip(&format!("203.0.113.{}", 10 + i));
            let mut fields: Vec<(&str, String)> =
                signup_fields(&format!("novo-{field}@exemplo.com.br"))
                    .into_iter()
                    .filter(|(k, _)| *k != field || !value.is_empty())
                    .collect();
            for f in fields.iter_mut() {
                if f.0 == field {
                    f.1 = value.to_string();
                }
            }
            if field == "password" {
                for f in fields.iter_mut() {
                    if f.0 == "password_confirm" {
                        f.1 = value.to_string();
                    }
                }
            }
            let before = count_users(app.db()).await;
            let page = b
                .submit(&app.service, "/register", "/register", &as_refs(&fields))
                .await;
            assert_eq!(page.status, 422, "{backend:?} {field}={value}");
            assert!(page.body.contains(words), "{field}: expected «{words}»");
            assert!(
                page.body.contains(&format!("id=\"{error_field}-erro\"")),
                "{field}: the message sits by the field"
            );
            assert!(
                page.body.contains(&format!("href=\"#{error_field}\"")),
                "summary links the field"
            );
            assert!(
                !page.body.contains(GOOD_PASSWORD),
                "the password is never echoed"
            );
            if field != "nome" {
                assert!(page.body.contains("value=\"Ana\""), "entered values kept");
            }
            assert_eq!(
                count_users(app.db()).await,
                before,
                "{field}: nothing stored"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn log_in_rotates_the_session_and_refuses_bad_credentials_alike() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let mut first = app.signup("maria@exemplo.com.br").await;
        let token = first.get(&app.service, "/account").await.csrf();
        let logged_in = first.session_cookie().expect("cookie").to_string();
        first
            .post(&app.service, "/logout", &[("csrf_token", &token)])
            .await;
        assert_ne!(
            first.session_cookie(),
            Some(logged_in.as_str()),
            "new session id at log-out"
        );
        assert_eq!(
            first.get(&app.service, "/account").await.status,
            303,
            "logged out"
        );

        let mut b = Browser::default();
        let wrong = app
            .login(&mut b, "maria@exemplo.com.br", "senha errada demais")
            .await;
        assert_eq!(wrong.status, 422);
        let unknown = app
            .login(&mut b, "ninguem@exemplo.com.br", "senha errada demais")
            .await;
        assert_eq!(unknown.status, 422);
        assert!(wrong.body.contains("E-mail ou senha incorretos"));
        assert!(
            unknown.body.contains("E-mail ou senha incorretos"),
            "same answer for unknown e-mails"
        );

        // An id chosen by an attacker and planted before log-in (fixation) is dropped, and
        // visiting the form makes no session of its own.
        let before = "a".repeat(64);
        b.cookies.insert("pesquisa_sid".into(), before.clone());
        b.get(&app.service, "/login").await;
        assert_eq!(b.session_cookie(), None, "unknown id dropped, none made");
        let ok = app
            .login(&mut b, "MARIA@exemplo.com.br", GOOD_PASSWORD)
            .await;
        assert_eq!(ok.status, 303, "{backend:?}: {}", ok.body);
        assert_eq!(ok.location(), "/survey");
        let after = b.session_cookie().expect("session").to_string();
        assert_ne!(before, after, "session id changes at log-in");
        let set_cookie = ok.set_cookie("pesquisa_sid");
        assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
        assert!(set_cookie.contains("SameSite=Lax"), "{set_cookie}");
        assert!(
            !set_cookie.contains("Secure"),
            "plain HTTP without a trusted proxy"
        );

        // The pre-login id is dead: it does not carry the login.
        let mut fixated = Browser::default();
        fixated.cookies.insert("pesquisa_sid".into(), before);
        let page = fixated.get(&app.service, "/account").await;
        assert_eq!(page.status, 303);
        assert!(page.location().starts_with("/login?next="));

        // next= brings the user back, but only to a local path.
        let mut c = Browser::default();
        let token = c.get(&app.service, "/login?next=/account").await.csrf();
        let page = c
            .post(
                &app.service,
                "/login",
                &[
                    ("csrf_token", &token),
                    ("email", "maria@exemplo.com.br"),
                    ("password", GOOD_PASSWORD),
                    ("next", "//evil.example/x"),
                ],
            )
            .await;
        assert_eq!(page.location(), "/survey");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn secure_cookie_and_client_address_come_from_trusted_proxies_only() {
    let app = TestApp::spawn_with(Backend::MariaRedis, |s| {
        s.server.trusted_proxies = vec!["10.0.2.10".parse().expect("net")];
        s.rate_limit.login_per_ip = 2;
    })
    .await;
    let mut via_lb = Browser::from_ip("10.0.2.10");
    via_lb.headers.push(("x-forwarded-proto", "https".into()));
    via_lb
        .headers
        .push(("x-forwarded-for", "198.51.100.1".into()));
    let page = via_lb.get(&app.service, "/login").await;
    let cookie = page.set_cookie("pesquisa_sid_pre");
    assert!(cookie.contains("Secure"), "{cookie}");

    let mut direct = Browser::from_ip("192.0.2.50");
    direct.headers.push(("x-forwarded-proto", "https".into()));
    let page = direct.get(&app.service, "/login").await;
    let cookie = page.set_cookie("pesquisa_sid_pre");
    assert!(
        !cookie.contains("Secure"),
        "an untrusted peer cannot claim HTTPS"
    );

    // A direct client cannot dodge the per-address limit by inventing X-Forwarded-For.
    for i in 0..3 {
        direct.headers.retain(|(k, _)| *k != "x-forwarded-for");
        direct
            .headers
            .push(("x-forwarded-for", format!("192.0.2.{}", 100 + i)));
        let page = app
            .login(&mut direct, "x@exemplo.com.br", "qualquer senha longa")
            .await;
        assert_eq!(page.status, if i < 2 { 422 } else { 429 }, "attempt {i}");
    }
    // Behind the trusted proxy, each forwarded client has its own count.
    for ip in ["198.51.100.2", "198.51.100.3"] {
        via_lb.headers.retain(|(k, _)| *k != "x-forwarded-for");
        via_lb.headers.push(("x-forwarded-for", ip.into()));
        let page = app
            .login(&mut via_lb, "x@exemplo.com.br", "qualquer senha longa")
            .await;
        assert_eq!(page.status, 422, "{ip}");
    }
}

fn retry_after(page: &Page) -> u64 {
    page.headers["retry-after"]
        .to_str()
        .expect("header")
        .parse()
        .expect("seconds")
}

/// Security finding 2: five wrong passwords from anywhere locked any account for 15
/// minutes, so a stranger could keep its owner out. Now the stranger's own attempts wait
/// longer each time, and the owner, from another network, gets in.
#[tokio::test(flavor = "multi_thread")]
async fn a_stranger_guessing_slows_only_their_own_attempts_and_cannot_keep_the_owner_out() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        app.signup("alvo@exemplo.com.br").await;
        let mut attacker = Browser::from_ip("192.0.2.66");
        for _ in 0..5 {
            let page = app
                .login(&mut attacker, "alvo@exemplo.com.br", "chute errado numero")
                .await;
            assert_eq!(page.status, 422, "{backend:?}: free failures");
        }
        // The sixth attempt waits, even with the right password (nothing is checked).
        let page = app
            .login(&mut attacker, "alvo@exemplo.com.br", GOOD_PASSWORD)
            .await;
        assert_eq!(page.status, 429, "{backend:?}");
        // Whole seconds: a second boundary may pass between the failure and this attempt.
        assert!((1..=2).contains(&retry_after(&page)), "{backend:?}");
        assert!(page.body.contains("Muitas tentativas"));
        assert_eq!(attacker.session_cookie(), None);

        // The owner, elsewhere, is not held up by the stranger.
        let mut owner = Browser::from_ip("192.0.2.77");
        let page = app
            .login(&mut owner, "alvo@exemplo.com.br", GOOD_PASSWORD)
            .await;
        assert_eq!(page.status, 303, "{backend:?}: {}", page.body);

        // After the wait, one more guess; then the wait doubles.
        tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
        let page = app
            .login(&mut attacker, "alvo@exemplo.com.br", "chute errado numero")
            .await;
        assert_eq!(page.status, 422, "{backend:?}");
        let page = app
            .login(&mut attacker, "alvo@exemplo.com.br", "chute errado numero")
            .await;
        assert_eq!(page.status, 429, "{backend:?}");
        assert!(
            (3..=4).contains(&retry_after(&page)),
            "{backend:?}: doubled"
        );
    }
}

/// Run `pesquisa admin ARGS…` against the test app's database (and Redis, if any).
pub(crate) fn admin_command(app: &TestApp, args: &[&str]) -> std::process::Output {
    let s = &app.state.settings;
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_pesquisa"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PESQUISA_DATABASE__URL", &s.database.url)
        .env(
            "PESQUISA_SESSION__SECRET",
            "test-secret-test-secret-test-secret!",
        )
        .arg("admin")
        .args(args);
    if let Some(url) = &s.redis.url {
        cmd.env("PESQUISA_REDIS__URL", url)
            .env("PESQUISA_REDIS__KEY_PREFIX", &s.redis.key_prefix);
    }
    cmd.output().expect("run pesquisa admin")
}

/// Security finding 2, distributed guessing: one guess from each of many networks meets
/// the account's ceiling; then only a browser the owner logged in from before may try,
/// until `pesquisa admin unlock` clears every count (in Redis or in the server's memory).
#[tokio::test(flavor = "multi_thread")]
async fn distributed_guessing_meets_the_account_ceiling_which_the_owners_known_device_passes_and_admin_unlock_clears()
 {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn_with(backend, |s| {
            s.rate_limit.login_failures_per_account_hour = 6;
        })
        .await;
        let email = "alvo@exemplo.com.br";
        let mut known = app.signup(email).await;
        known.submit(&app.service, "/account", "/logout", &[]).await;
        let page = app.login(&mut known, email, GOOD_PASSWORD).await;
        assert_eq!(page.status, 303, "{backend:?}: the owner's usual browser");
        assert!(
            known.cookies.contains_key("pesquisa_sid_dev"),
            "{backend:?}: marked as a known device"
        );
        known.submit(&app.service, "/account", "/logout", &[]).await;

        for i in 0..6 {
            let mut bot = Browser::from_ip(&format!("[2001:db8:{i}::1]"));
            let page = app.login(&mut bot, email, "chute errado numero").await;
            assert_eq!(page.status, 422, "{backend:?}: guess {i}");
        }
        // The ceiling: no more tries from a network the account never logged in from, not
        // even with the right password; the wait is the rest of the hour.
        let mut bot = Browser::from_ip("[2001:db8:99::1]");
        let page = app.login(&mut bot, email, GOOD_PASSWORD).await;
        assert_eq!(page.status, 429, "{backend:?}");
        assert!(retry_after(&page) > 3000, "{}", retry_after(&page));
        let mut new_phone = Browser::from_ip("192.0.2.80");
        let page = app.login(&mut new_phone, email, GOOD_PASSWORD).await;
        assert_eq!(
            page.status, 429,
            "{backend:?}: an unknown device of the owner waits too"
        );

        // A device cookie signed for another account is worth nothing here.
        let mut other = app.signup("outra@exemplo.com.br").await;
        other.submit(&app.service, "/account", "/logout", &[]).await;
        app.login(&mut other, "outra@exemplo.com.br", GOOD_PASSWORD)
            .await;
        let mut borrowed = Browser::from_ip("192.0.2.81");
        borrowed.cookies.insert(
            "pesquisa_sid_dev".into(),
            other.cookies["pesquisa_sid_dev"].clone(),
        );
        let page = app.login(&mut borrowed, email, GOOD_PASSWORD).await;
        assert_eq!(
            page.status, 429,
            "{backend:?}: another account's device cookie"
        );

        // The owner's usual browser still gets in.
        let page = app.login(&mut known, email, GOOD_PASSWORD).await;
        assert_eq!(page.status, 303, "{backend:?}: {}", page.body);

        // The operator unlocks: the new phone gets in at once.
        let out = admin_command(&app, &["unlock", "--email", email]);
        assert!(out.status.success(), "{out:?}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("no longer count"));
        let page = app.login(&mut new_phone, email, GOOD_PASSWORD).await;
        assert_eq!(page.status, 303, "{backend:?}: unlocked: {}", page.body);

        // An unknown address is named by its flag, and changes nothing.
        let out = admin_command(&app, &["unlock", "--email", "ninguem@exemplo.com.br"]);
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("--email"),
            "{out:?}"
        );
    }
}

/// Log-in posts sent all at once, one browser each (its form fetched first), from the
/// given addresses; the pages in the order given.
async fn simultaneous_log_ins(app: &TestApp, tries: &[(String, String, &str)]) -> Vec<Page> {
    let mut ready = Vec::new();
    for (ip, email, password) in tries {
        let mut b = Browser::from_ip(ip);
        let token = b.get(&app.service, "/login").await.csrf();
        ready.push((b, token, email.clone(), password.to_string()));
    }
    let mut set = tokio::task::JoinSet::new();
    for (i, (mut b, token, email, password)) in ready.into_iter().enumerate() {
        let service = app.service.clone();
        set.spawn(async move {
            let fields = [
                ("csrf_token", token.as_str()),
                ("email", email.as_str()),
                ("password", password.as_str()),
            ];
            (i, b.post(&service, "/login", &fields).await)
        });
    }
    let mut pages: Vec<(usize, Page)> = set.join_all().await;
    pages.sort_by_key(|(i, _)| *i);
    pages.into_iter().map(|(_, p)| p).collect()
}

/// The configured argon2id cost, so that a hash takes long enough for a burst to overlap.
fn real_cost(s: &mut pesquisa::config::Settings) {
    s.passwords.memory_kib = 19 * 1024;
    s.passwords.iterations = 2;
}

/// Security finding 5: 100 concurrent wrong attempts for one account were all hashed,
/// ahead of everyone else's log-ins. Now one check per account runs at a time and the
/// rest are refused at once, so no more than the free failures are ever hashed.
#[tokio::test(flavor = "multi_thread")]
async fn a_burst_of_one_accounts_wrong_passwords_is_hashed_one_at_a_time_and_no_further_than_the_free_failures()
 {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn_with(backend, real_cost).await;
        app.signup("inundada@exemplo.com.br").await;
        let tries: Vec<_> = (0..3)
            .flat_map(|_| 0..20)
            .map(|_| {
                (
                    "198.51.100.40".to_string(),
                    "inundada@exemplo.com.br".to_string(),
                    "chute errado numero",
                )
            })
            .collect();
        let mut wrong = 0;
        for burst in tries.chunks(20) {
            let pages = simultaneous_log_ins(&app, burst).await;
            assert!(
                pages.iter().all(|p| [422, 429].contains(&p.status)),
                "{backend:?}: {:?}",
                pages.iter().map(|p| p.status).collect::<Vec<_>>()
            );
            wrong += pages.iter().filter(|p| p.status == 422).count();
        }
        assert!(
            (1..=5).contains(&wrong),
            "{backend:?}: {wrong} wrong passwords were checked, the free failures are 5"
        );
    }
}

/// Security finding 5: the hashing queue had no bound. Past `passwords.max_queued`
/// waiting checks, a log-in gets a clear 503 with Retry-After at once, nothing is counted
/// against the account, and log-ins work again as soon as the burst is over.
#[tokio::test(flavor = "multi_thread")]
async fn a_full_hashing_queue_answers_503_with_retry_after_and_counts_nothing() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn_with(backend, |s| {
            real_cost(s);
            s.passwords.max_concurrent = 1;
            s.passwords.max_queued = 2;
        })
        .await;
        app.signup("espera@exemplo.com.br").await;
        let tries: Vec<_> = (0..24)
            .map(|i| {
                (
                    format!("203.0.113.{}", 100 + i),
                    format!("ninguem{i}@exemplo.com.br"),
                    "qualquer senha longa",
                )
            })
            .collect();
        let pages = simultaneous_log_ins(&app, &tries).await;
        let busy: Vec<&Page> = pages.iter().filter(|p| p.status == 503).collect();
        assert!(
            pages.iter().all(|p| [422, 503].contains(&p.status)),
            "{backend:?}: {:?}",
            pages.iter().map(|p| p.status).collect::<Vec<_>>()
        );
        assert!(!busy.is_empty(), "{backend:?}: the queue of 2 overflowed");
        for page in busy {
            assert_eq!(page.headers["retry-after"], "5");
            assert!(page.body.contains("temporariamente indisponível"));
        }
        let mut owner = Browser::from_ip("192.0.2.90");
        let page = app
            .login(&mut owner, "espera@exemplo.com.br", GOOD_PASSWORD)
            .await;
        assert_eq!(page.status, 303, "{backend:?}: {}", page.body);
    }
}

/// The app's ACL line of deploy/db-host/redis.conf as `redis-server` arguments, with
/// `password` in place of the hash the deploy fills in.
fn shipped_acl(password: &str) -> Vec<String> {
    let conf = include_str!("../../deploy/db-host/redis.conf");
    let line = conf
        .lines()
        .find(|l| l.starts_with("user pesquisa_app "))
        .expect("the app's ACL line");
    let mut args = vec!["--user".to_string()];
    for word in line.split_whitespace().skip(1) {
        args.push(if word.starts_with('#') {
            format!(">{password}")
        } else {
            word.to_string()
        });
    }
    args.extend(["--user", "default", "off"].map(String::from));
    args
}

/// Redis 7.0 dropped the MULTI/EXEC blocks the counters were written in when it replayed
/// its append-only file under the shipped ACL (default user off), so every restart of
/// Redis forgot the log-in limits. Failures counted before a restart still count after it.
#[tokio::test(flavor = "multi_thread")]
async fn log_in_limits_survive_a_redis_restart_under_the_shipped_acl() {
    let dir = std::env::temp_dir().join(crate::helpers::unique("redis-aof-"));
    std::fs::create_dir_all(&dir).expect("dir");
    let port = crate::helpers::free_port();
    let mut args: Vec<String> = [
        "--dir",
        dir.to_str().expect("utf-8"),
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
    ]
    .map(String::from)
    .to_vec();
    args.extend(shipped_acl("senha-do-app-no-teste"));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut redis = crate::helpers::PrivateRedis::start_with(port, &args);
    let app = TestApp::spawn_with(Backend::MariaRedis, |s| {
        s.redis.url = Some(format!(
            "redis://pesquisa_app:senha-do-app-no-teste@127.0.0.1:{port}"
        ));
        s.redis.key_prefix = format!("pesquisa:{}:", crate::helpers::unique("t"));
        s.rate_limit.login_failures_per_account_hour = 3;
    })
    .await;
    let email = "reinicio@exemplo.com.br";
    let mut owner = app.signup(email).await;
    // Two of the three failures the ceiling allows before the restart...
    for i in 0..2 {
        let mut bot = Browser::from_ip(&format!("203.0.113.{}", 150 + i));
        assert_eq!(
            app.login(&mut bot, email, "chute errado numero")
                .await
                .status,
            422
        );
    }
    redis.stop();
    let _redis = crate::helpers::PrivateRedis::start_with(port, &args);
    // ...and the third after it: the ceiling is reached only if the first two were kept.
    let mut bot = Browser::from_ip("203.0.113.152");
    let mut status = 0;
    for _ in 0..50 {
        status = app
            .login(&mut bot, email, "chute errado numero")
            .await
            .status;
        if status != 503 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, 422, "Redis is back");
    let mut after = Browser::from_ip("203.0.113.161");
    let page = app.login(&mut after, email, GOOD_PASSWORD).await;
    assert_eq!(
        page.status, 429,
        "the failures before the restart still count"
    );
    assert_eq!(
        owner.get(&app.service, "/account").await.status,
        200,
        "and the session"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// Reliability item 3, sign-up: when the session store failed after the account was
/// created, the person was told 503, and signing up again said the address was taken.
/// Now the committed sign-up sends them to log in, with a notice saying so.
/// Security finding 5: `/account/password` and `/account/delete` checked the password
/// with no limit, so a stolen session had unlimited guesses. Their failures now count
/// with the log-in's.
#[tokio::test(flavor = "multi_thread")]
async fn wrong_current_passwords_on_the_account_page_are_counted_like_log_ins() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let mut thief = app.signup("roubada@exemplo.com.br").await;
        for i in 0..6 {
            let (path, field) = if i % 2 == 0 {
                ("/account/delete", "delete_password")
            } else {
                ("/account/password", "current_password")
            };
            let page = thief
                .submit(
                    &app.service,
                    "/account",
                    path,
                    &[
                        (field, "chute errado numero"),
                        ("password", "uma senha nova comprida"),
                        ("password_confirm", "uma senha nova comprida"),
                    ],
                )
                .await;
            let want = if i < 5 { 422 } else { 429 };
            assert_eq!(page.status, want, "{backend:?}: attempt {i} on {path}");
        }
        // And the log-in form from the same browser waits too: one budget, not three.
        let page = thief
            .submit(
                &app.service,
                "/account",
                "/login",
                &[
                    ("email", "roubada@exemplo.com.br"),
                    ("password", GOOD_PASSWORD),
                ],
            )
            .await;
        assert_eq!(page.status, 429, "{backend:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_up_is_rate_limited_per_address() {
    let app = TestApp::spawn_with(Backend::MariaRedis, |s| s.rate_limit.register_per_ip = 2).await;
    let mut b = Browser::from_ip("192.0.2.90");
    for i in 0..3 {
        let fields = signup_fields(&format!("massa{i}@exemplo.com.br"));
        let page = b
            .submit(&app.service, "/register", "/register", &as_refs(&fields))
            .await;
        assert_eq!(page.status, if i < 2 { 303 } else { 429 }, "sign-up {i}");
    }
    assert_eq!(count_users(app.db()).await, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn forms_without_the_right_csrf_token_are_refused_and_change_nothing() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let mut b = app.signup("csrf@exemplo.com.br").await;
        for token in [None, Some("0".repeat(64))] {
            let mut fields = vec![
                ("nome", "Hacker"),
                ("sobrenome", "X"),
                ("bairro", "JARDIM SÃO JOSÉ"),
            ];
            if let Some(t) = &token {
                fields.push(("csrf_token", t.as_str()));
            }
            let page = b.post(&app.service, "/account/profile", &fields).await;
            assert_eq!(page.status, 403, "{backend:?}");
            assert!(page.body.contains("Recarregue a página"));
        }
        let user = user_model::find_by_email(app.db(), "csrf@exemplo.com.br")
            .await
            .expect("q")
            .expect("u");
        assert_eq!(user.nome, "Ana", "profile unchanged");

        // A token from another session does not work either.
        let other = Browser::default().get(&app.service, "/login").await.csrf();
        let page = b
            .post(
                &app.service,
                "/account/delete",
                &[("csrf_token", &other), ("delete_password", GOOD_PASSWORD)],
            )
            .await;
        assert_eq!(page.status, 403);
        assert!(
            user_model::find(app.db(), user.id)
                .await
                .expect("q")
                .is_some()
        );
        // Log-in itself needs the token.
        let page = Browser::default()
            .post(
                &app.service,
                "/login",
                &[
                    ("email", "csrf@exemplo.com.br"),
                    ("password", GOOD_PASSWORD),
                ],
            )
            .await;
        assert_eq!(page.status, 403);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_works_on_both_instances_and_log_out_ends_it_on_both() {
    let app = TestApp::spawn(Backend::MariaRedis).await;
    let other = app.sibling().await;
    let mut b = app.signup("duas@exemplo.com.br").await;
    let page = b.get(&other, "/account").await;
    assert_eq!(page.status, 200, "the session from instance A works on B");
    assert!(page.body.contains("Olá, Ana."));
    let cookie = b.session_cookie().expect("cookie").to_string();

    let token = page.csrf();
    let page = b.post(&other, "/logout", &[("csrf_token", &token)]).await;
    assert_eq!(page.status, 303);
    let mut replay = Browser::default();
    replay.cookies.insert("pesquisa_sid".into(), cookie);
    for service in [&app.service, &other] {
        let page = replay.get(service, "/account").await;
        assert_eq!(page.status, 303, "logged out everywhere");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_terms_version_must_be_accepted_at_the_next_log_in() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let mut b = app.signup("termos@exemplo.com.br").await;
        let token = b.get(&app.service, "/account").await.csrf();
        b.post(&app.service, "/logout", &[("csrf_token", &token)])
            .await;

        let mut admin = app.staff("admin@exemplo.com.br", Role::Admin).await;
        let page = admin
            .submit(
                &app.service,
                "/admin/documents",
                "/admin/documents",
                &[
                    ("kind", "terms"),
                    ("title_pt", "Termos de uso (2ª versão)"),
                    ("title_en", "Terms of use (2nd version)"),
                    ("body_pt", "Texto novo dos termos."),
                    ("body_en", "New terms text."),
                ],
            )
            .await;
        assert_eq!(page.status, 303, "{}", page.body);

        let page = app
            .login(&mut b, "termos@exemplo.com.br", GOOD_PASSWORD)
            .await;
        assert_eq!(page.status, 303);
        assert!(
            page.location().starts_with("/consent"),
            "{}",
            page.location()
        );
        let page = b.get(&app.service, "/account").await;
        assert_eq!(page.status, 303, "nothing else before accepting");
        assert!(page.location().starts_with("/consent"));

        let page = b.get(&app.service, "/consent").await;
        assert!(page.body.contains("Texto novo dos termos."));
        let token = page.csrf();
        let doc_id = page
            .body
            .split("name=\"document\" value=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .expect("doc id")
            .to_string();
        let page = b
            .post(
                &app.service,
                "/consent",
                &[("csrf_token", &token), ("document", &doc_id)],
            )
            .await;
        assert_eq!(page.status, 422, "the box must be ticked");
        let page = b
            .post(
                &app.service,
                "/consent",
                &[
                    ("csrf_token", &token),
                    ("document", &doc_id),
                    ("accept", "1"),
                ],
            )
            .await;
        assert_eq!(page.status, 303);
        assert_eq!(b.get(&app.service, "/account").await.status, 200);

        let user = user_model::find_by_email(app.db(), "termos@exemplo.com.br")
            .await
            .expect("q")
            .expect("u");
        let kinds = consent_kinds(&app, user.id).await;
        assert!(
            kinds.contains(&("terms".into(), 1, true)),
            "the first acceptance stays on record"
        );
        assert!(
            kinds.contains(&("terms".into(), 2, true)),
            "{backend:?}: {kinds:?}"
        );
        assert!(
            audit_actions(&app)
                .await
                .iter()
                .any(|(a, _)| a == "admin.document_published")
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn my_account_edits_profile_password_and_consents_and_exports_my_data() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let mut b = app.signup("conta@exemplo.com.br").await;
        let mut elsewhere = Browser::from_ip("192.0.2.200");
        assert_eq!(
            app.login(&mut elsewhere, "conta@exemplo.com.br", GOOD_PASSWORD)
                .await
                .status,
            303
        );

        let page = b
            .submit(
                &app.service,
                "/account",
                "/account/profile",
                &[
                    ("nome", "Ana Maria"),
                    ("sobrenome", "Souza"),
                    ("telefone", ""),
                    ("bairro", "VILA MONTERREY"),
                ],
            )
            .await;
        assert_eq!(page.status, 303);
        let page = b.get(&app.service, "/account").await;
        assert!(page.body.contains("Dados salvos."));
        let user = user_model::find_by_email(app.db(), "conta@exemplo.com.br")
            .await
            .expect("q")
            .expect("u");
        assert_eq!(
            (
                user.nome.as_str(),
                user.telefone.as_deref(),
                user.bairro.as_str()
            ),
            ("Ana Maria", None, "VILA MONTERREY")
        );

        let page = b
            .submit(
                &app.service,
                "/account",
                "/account/profile",
                &[
                    ("nome", "X"),
                    ("sobrenome", "Y"),
                    ("telefone", "abc"),
                    ("bairro", "VILA MONTERREY"),
                ],
            )
            .await;
        assert_eq!(page.status, 422);
        assert!(page.body.contains("telefone-erro"));

        // Password: the current one is required; other sessions end.
        let page = b
            .submit(
                &app.service,
                "/account",
                "/account/password",
                &[
                    ("current_password", "errada errada errada"),
                    ("password", "uma frase nova bem longa"),
                    ("password_confirm", "uma frase nova bem longa"),
                ],
            )
            .await;
        assert_eq!(page.status, 422);
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
        assert_eq!(page.status, 303);
        assert_eq!(
            b.get(&app.service, "/account").await.status,
            200,
            "this session continues"
        );
        assert_eq!(
            elsewhere.get(&app.service, "/account").await.status,
            303,
            "the other session ended"
        );
        let mut again = Browser::default();
        assert_eq!(
            app.login(
                &mut again,
                "conta@exemplo.com.br",
                "uma frase nova bem longa"
            )
            .await
            .status,
            303
        );

        // Optional consent: grant, then revoke.
        b.submit(
            &app.service,
            "/account",
            "/account/consents",
            &[("consent_email_updates", "1")],
        )
        .await;
        b.submit(&app.service, "/account", "/account/consents", &[])
            .await;
        let kinds = consent_kinds(&app, user.id).await;
        assert!(
            kinds.contains(&("email_updates".into(), 1, false)),
            "revocation recorded: {kinds:?}"
        );

        let page = b.get(&app.service, "/account/data").await;
        assert_eq!(page.status, 200);
        assert!(
            page.headers["content-disposition"]
                .to_str()
                .expect("h")
                .contains("attachment")
        );
        let json: serde_json::Value = serde_json::from_str(&page.body).expect("json");
        assert_eq!(json["profile"]["email"], "conta@exemplo.com.br");
        assert_eq!(json["profile"]["nome"], "Ana Maria");
        let docs: Vec<&str> = json["consents"]
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|c| c["document"].as_str())
            .collect();
        assert!(
            docs.contains(&"terms") && docs.contains(&"privacy") && docs.contains(&"email_updates")
        );
        assert!(
            json["consents"]
                .as_array()
                .expect("list")
                .iter()
                .any(|c| !c["revoked_at"].is_null())
        );
        assert!(json["questionnaire"].is_null(), "no answers yet");
        assert!(
            !page.body.contains("argon2"),
            "no password hash in the export"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_the_account_leaves_no_personal_data_and_ends_all_sessions() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let mut b = app.signup("apagar@exemplo.com.br").await;
        let mut other = Browser::from_ip("192.0.2.201");
        app.login(&mut other, "apagar@exemplo.com.br", GOOD_PASSWORD)
            .await;
        let id = user_model::find_by_email(app.db(), "apagar@exemplo.com.br")
            .await
            .expect("q")
            .expect("u")
            .id;

        let page = b
            .submit(
                &app.service,
                "/account",
                "/account/delete",
                &[("delete_password", "nao e a senha certa")],
            )
            .await;
        assert_eq!(page.status, 422);
        assert!(user_model::find(app.db(), id).await.expect("q").is_some());

        let page = b
            .submit(
                &app.service,
                "/account",
                "/account/delete",
                &[("delete_password", GOOD_PASSWORD)],
            )
            .await;
        assert_eq!(page.status, 303);
        assert!(user_model::find(app.db(), id).await.expect("q").is_none());
        assert!(
            consent_kinds(&app, id).await.is_empty(),
            "consent records gone"
        );
        assert_eq!(b.get(&app.service, "/account").await.status, 303);
        assert_eq!(
            other.get(&app.service, "/account").await.status,
            303,
            "every session ended"
        );
        let audit = audit_actions(&app).await;
        assert!(audit.contains(&("account.deleted_by_self".into(), Some(id))));
        // No row anywhere still holds the e-mail or name.
        let db = app.db();
        let hits: Result<i64, DbError> = async {
            with_conn!(db, |conn| Ok(audit_log::table
                .filter(audit_log::detail.like("%apagar%"))
                .count()
                .get_result(conn)
                .await?))
        }
        .await;
        let hits = hits.expect("count");
        assert_eq!(hits, 0);
        let left: Result<i64, DbError> = async {
            with_conn!(db, |conn| Ok(consents::table
                .filter(consents::user_id.eq(id))
                .count()
                .get_result(conn)
                .await?))
        }
        .await;
        let left = left.expect("count");
        assert_eq!(left, 0, "{backend:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_routes_check_the_role_on_every_route() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let mut respondent = app.signup("resp@exemplo.com.br").await;
        let victim = user_model::find_by_email(app.db(), "resp@exemplo.com.br")
            .await
            .expect("q")
            .expect("u")
            .id;
        let mut analyst = app.staff("analista@exemplo.com.br", Role::Analyst).await;
        let mut admin = app.staff("admin@exemplo.com.br", Role::Admin).await;
        let gets = [
            "/admin",
            "/admin/users",
            &format!("/admin/users/{victim}"),
            "/admin/documents",
            "/admin/audit",
        ];
        let delete = format!("/admin/users/{victim}/delete");

        for path in gets {
            let page = Browser::default().get(&app.service, path).await;
            assert_eq!(page.status, 303, "anonymous {path}");
            assert!(page.location().starts_with("/login?next="), "{path}");
            for (who, b) in [("respondent", &mut respondent), ("analyst", &mut analyst)] {
                let page = b.get(&app.service, path).await;
                assert_eq!(page.status, 403, "{backend:?} {who} {path}");
            }
        }
        for (who, b) in [("respondent", &mut respondent), ("analyst", &mut analyst)] {
            let token = b.get(&app.service, "/account").await.csrf();
            let page = b
                .post(&app.service, &delete, &[("csrf_token", &token)])
                .await;
            assert_eq!(page.status, 403, "{who} cannot delete");
            let page = b
                .post(
                    &app.service,
                    "/admin/documents",
                    &[
                        ("csrf_token", &token),
                        ("kind", "terms"),
                        ("title_pt", "x"),
                        ("title_en", "x"),
                        ("body_pt", "x"),
                        ("body_en", "x"),
                    ],
                )
                .await;
            assert_eq!(page.status, 403, "{who} cannot publish");
        }
        assert!(
            user_model::find(app.db(), victim)
                .await
                .expect("q")
                .is_some()
        );

        let page = admin.get(&app.service, "/admin/users?q=resp").await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("resp@exemplo.com.br"));
        assert!(!page.body.contains("analista@"), "search filters");
        let page = admin.get(&app.service, "/admin/users?q=%25").await;
        assert!(
            !page.body.contains("resp@exemplo.com.br"),
            "% is literal in search"
        );
        let page = admin
            .get(&app.service, &format!("/admin/users/{victim}"))
            .await;
        assert_eq!(page.status, 200);
        assert_eq!(
            admin.get(&app.service, "/admin/users/999999").await.status,
            404
        );
        let token = page.csrf();
        let page = admin
            .post(
                &app.service,
                &delete,
                &[
                    ("csrf_token", &token),
                    ("confirm", "1"),
                    ("reason", "Conta de teste, pedido registrado."),
                ],
            )
            .await;
        assert_eq!(page.status, 303);
        assert!(
            user_model::find(app.db(), victim)
                .await
                .expect("q")
                .is_none()
        );
        let audit = audit_actions(&app).await;
        assert!(
            audit.contains(&("admin.user_deleted".into(), Some(victim))),
            "{audit:?}"
        );
        assert!(audit.contains(&("admin.user_viewed".into(), Some(victim))));
        assert_eq!(
            respondent.get(&app.service, "/account").await.status,
            303,
            "deleted user's session ended"
        );
        assert_eq!(admin.get(&app.service, "/admin/audit").await.status, 200);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_input_never_causes_a_server_error() {
    let app = TestApp::spawn(Backend::MariaRedis).await;
    let mut b = Browser::default();
    let long = "ç".repeat(5000);
    let weird = [
        "\u{0}",
        "'; DROP TABLE users; --",
        "<script>alert(1)</script>",
        long.as_str(),
        "%00",
        "\u{202e}",
    ];
    for w in weird {
        let fields: Vec<(&str, String)> = signup_fields("x@exemplo.com.br")
            .into_iter()
            .map(|(k, _)| (k, w.to_string()))
            .collect();
        let page = b
            .submit(&app.service, "/register", "/register", &as_refs(&fields))
            .await;
        assert!(
            page.status == 422 || page.status == 413,
            "{} for {:?}",
            page.status,
            &w[..w.len().min(20)]
        );
        assert!(!page.body.contains("<script>alert"), "escaped on output");
        let page = app.login(&mut b, w, w).await;
        assert!(
            page.status == 422 || page.status == 413,
            "login {}",
            page.status
        );
    }
    for path in [
        "/admin/users/abc",
        "/admin/users/-1",
        "/account/../admin",
        "/login?next=%0d%0aX:1",
    ] {
        let page = b.get(&app.service, path).await;
        assert!(page.status < 500, "{path}: {}", page.status);
    }
    assert_eq!(count_users(app.db()).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn raising_the_password_cost_upgrades_the_stored_hash_at_the_next_log_in() {
    let app = TestApp::spawn(Backend::MariaRedis).await;
    app.signup("custo@exemplo.com.br").await;
    let before = user_model::find_by_email(app.db(), "custo@exemplo.com.br")
        .await
        .expect("q")
        .expect("user")
        .password_hash;
    assert!(before.contains("m=4096,t=1,p=1"), "{before}");

    // The same database and Redis, configured with a higher cost (a new deploy).
    let mut stronger = (*app.state.settings).clone();
    stronger.passwords.memory_kib = 8192;
    stronger.passwords.iterations = 2;
    let state = pesquisa::web::state::AppState::connect(stronger)
        .await
        .expect("connect");
    let service = pesquisa::router::service(&state);
    let mut b = Browser::from_ip("192.0.2.150");
    let token = b.get(&service, "/login").await.csrf();
    let page = b
        .post(
            &service,
            "/login",
            &[
                ("csrf_token", &token),
                ("email", "custo@exemplo.com.br"),
                ("password", GOOD_PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status, 303);
    let after = user_model::find_by_email(app.db(), "custo@exemplo.com.br")
        .await
        .expect("q")
        .expect("user")
        .password_hash;
    assert!(
        after.starts_with("$argon2id$v=19$m=8192,t=2,p=1$"),
        "{after}"
    );
    // And the upgraded hash still opens the account.
    let mut again = Browser::from_ip("192.0.2.151");
    assert_eq!(
        app.login(&mut again, "custo@exemplo.com.br", GOOD_PASSWORD)
            .await
            .status,
        303
    );
}

/// Security finding 6: a demoted analyst or admin kept their access until the session
/// ended (up to 12 hours). Staff routes now read the role from the database on each
/// request, and a deleted account's session ends there.
#[tokio::test(flavor = "multi_thread")]
async fn role_changes_and_deletions_take_effect_at_the_next_staff_request() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let mut analyst = app.staff("analista@exemplo.com.br", Role::Analyst).await;
        let mut admin = app.staff("chefe@exemplo.com.br", Role::Admin).await;
        let csv = "/admin/results/respostas.csv";
        assert_eq!(analyst.get(&app.service, csv).await.status, 200);
        assert_eq!(admin.get(&app.service, "/admin/users").await.status, 200);

        let id = |email: &'static str| {
            let db = app.db().clone();
            async move {
                user_model::find_by_email(&db, email)
                    .await
                    .expect("query")
                    .expect("user")
                    .id
            }
        };
        // What `pesquisa admin set-role` does to the database.
        user_model::set_role(
            app.db(),
            id("analista@exemplo.com.br").await,
            Role::Respondent,
        )
        .await
        .expect("demote");
        user_model::set_role(app.db(), id("chefe@exemplo.com.br").await, Role::Analyst)
            .await
            .expect("demote");
        assert_eq!(
            analyst.get(&app.service, csv).await.status,
            403,
            "{backend:?}: a demoted analyst downloads nothing"
        );
        assert_eq!(
            admin.get(&app.service, "/admin/users").await.status,
            403,
            "{backend:?}: a demoted admin lists no users"
        );
        assert_eq!(
            admin.get(&app.service, "/admin/results").await.status,
            200,
            "{backend:?}: the new role's pages work in the same session"
        );

        // Promotion works the same way.
        user_model::set_role(app.db(), id("chefe@exemplo.com.br").await, Role::Admin)
            .await
            .expect("promote");
        assert_eq!(admin.get(&app.service, "/admin/users").await.status, 200);

        // A deleted account's session is over at its next staff request.
        let gone = id("chefe@exemplo.com.br").await;
        let deleted: Result<usize, DbError> = async {
            with_conn!(app.db(), |conn| {
                diesel::delete(users::table.filter(users::id.eq(gone)))
                    .execute(conn)
                    .await
                    .map_err(DbError::from)
            })
        }
        .await;
        deleted.expect("delete");
        assert_eq!(admin.get(&app.service, "/admin/users").await.status, 403);
        let page = admin.get(&app.service, "/account").await;
        assert_eq!(page.status, 303, "{backend:?}: logged out");
        assert!(page.location().starts_with("/login"), "{}", page.location());
    }
}

/// `pesquisa admin set-role` also ends every session of the account in Redis, so the
/// person logs in again under the new role everywhere, not only on staff pages.
#[tokio::test(flavor = "multi_thread")]
async fn the_set_role_command_ends_the_accounts_sessions() {
    let app = TestApp::spawn(Backend::MariaRedis).await;
    let mut analyst = app.staff("analista@exemplo.com.br", Role::Analyst).await;
    assert_eq!(analyst.get(&app.service, "/account").await.status, 200);
    let out = admin_command(
        &app,
        &[
            "set-role",
            "--email",
            "analista@exemplo.com.br",
            "--role",
            "respondent",
        ],
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(said.contains("its sessions were ended"), "{said}");
    let page = analyst.get(&app.service, "/account").await;
    assert_eq!(page.status, 303, "logged out everywhere");
    assert!(page.location().starts_with("/login"));
}

/// Security finding 3: look-alike spellings of a locked account's address (full-width
/// letters, zero-width characters, accents that MariaDB's collation equates) each had a
/// counter of their own, and one of them got into the locked account.
#[tokio::test(flavor = "multi_thread")]
async fn look_alike_emails_neither_bypass_the_lock_out_nor_reach_the_account() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        app.signup("vitima@exemplo.com.br").await;
        let mut attacker = Browser::from_ip("198.51.100.66");
        for _ in 0..5 {
            let page = app
                .login(
                    &mut attacker,
                    "vitima@exemplo.com.br",
                    "palpite errado demais",
                )
                .await;
            assert_eq!(page.status, 422);
        }
        // Full-width letters are the same address: the same (locked) counter.
        let fullwidth = "ｖｉｔｉｍａ@exemplo.com.br";
        let page = app.login(&mut attacker, fullwidth, GOOD_PASSWORD).await;
        assert_eq!(
            page.status, 429,
            "{backend:?}: full-width spelling is locked too"
        );
        // Invisible characters are refused; an accented spelling is another address, and
        // finds no account even where the collation would equate it.
        for other in ["vi\u{200B}tima@exemplo.com.br", "vítima@exemplo.com.br"] {
            let page = app.login(&mut attacker, other, GOOD_PASSWORD).await;
            assert_eq!(page.status, 422, "{backend:?}: {other:?}: {}", page.body);
            assert_eq!(
                attacker.session_cookie(),
                None,
                "{backend:?}: not logged in"
            );
        }
        // Sign-up refuses a name or address with format characters, by the field.
        let mut b = Browser::from_ip("203.0.113.70");
        let mut fields = signup_fields("nova\u{200B}@exemplo.com.br");
        fields[0].1 = "Ana\u{202E}".into();
        let page = b
            .submit(&app.service, "/register", "/register", &as_refs(&fields))
            .await;
        assert_eq!(page.status, 422);
        assert!(page.body.contains("caracteres invisíveis"), "{}", page.body);
    }
}
