//! Password reset and sign-in by e-mail code through the real router, on MariaDB + Redis
//! and on SQLite + the in-process store. The mail worker does not run here: the tests read
//! links and codes from the outbox table. Token and mail are written by a task of their
//! own after the answer (so its timing does not tell whether the address has an account),
//! hence [`wait_mail`].

use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use pesquisa::db::schema::{email_tokens, users};
use pesquisa::db::{DbError, users as user_model};
use pesquisa::with_conn;

use crate::helpers::{ALL_BACKENDS, Backend, Browser, GOOD_PASSWORD, Page, TestApp};

const NEW_PASSWORD: &str = "girafa azul trompete janela";

/// The messages of `kind` to `to` once there are at least `n` (the writes run detached).
async fn wait_mail(app: &TestApp, to: &str, kind: &str, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let bodies: Vec<String> = app
            .mail_to(to)
            .await
            .into_iter()
            .filter(|m| m.kind == kind)
            .map(|m| m.body_text)
            .collect();
        if bodies.len() >= n {
            return bodies;
        }
        assert!(
            Instant::now() < deadline,
            "{n} {kind} message(s) expected, {} queued",
            bodies.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// How many messages of `kind` went to `to`: once `expected` have landed (the writes run
/// detached), and a while later, so that one too many would show.
async fn settled_count(app: &TestApp, to: &str, kind: &str, expected: usize) -> usize {
    if expected > 0 {
        wait_mail(app, to, kind, expected).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.mail_to(to)
        .await
        .iter()
        .filter(|m| m.kind == kind)
        .count()
}

/// The 6-digit code in a sign-in message.
fn code_in(body: &str) -> String {
    body.lines()
        .map(str::trim)
        .find(|l| l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or_else(|| panic!("no code in:\n{body}"))
        .to_string()
}

/// Every e-mail token's expiry moved two hours into the past.
async fn expire_all_tokens(app: &TestApp) {
    let past = user_model::now() - chrono::Duration::hours(2);
    let r: Result<usize, DbError> = async {
        with_conn!(app.db(), |conn| Ok(diesel::update(email_tokens::table)
            .set(email_tokens::expires_at.eq(past))
            .execute(conn)
            .await?))
    }
    .await;
    assert!(r.expect("expire tokens") > 0, "a token to expire");
}

fn header<'a>(page: &'a Page, name: &str) -> &'a str {
    page.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// The hidden `token` field of a page's form.
fn hidden_token(page: &Page) -> String {
    page.body
        .split("name=\"token\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_else(|| panic!("no token field:\n{}", page.body))
        .to_string()
}

/// Ask for a reset link from a fresh browser; returns the answer.
async fn ask_reset(app: &TestApp, email: &str) -> Page {
    Browser::from_ip("198.51.100.9")
        .submit(
            &app.service,
            "/password/forgot",
            "/password/forgot",
            &[("email", email)],
        )
        .await
}

/// Open the reset link and post a new password from `b`.
async fn follow_reset(app: &TestApp, b: &mut Browser, link: &str, password: &str) -> Page {
    let form = b.get(&app.service, link).await;
    assert_eq!(form.status, 200, "{}", form.body);
    let token = hidden_token(&form);
    let csrf = form.csrf();
    b.post(
        &app.service,
        "/password/reset",
        &[
            ("csrf_token", csrf.as_str()),
            ("token", token.as_str()),
            ("password", password),
            ("password_confirm", password),
        ],
    )
    .await
}

async fn reset_link(app: &TestApp, email: &str) -> String {
    wait_mail(app, email, "password_reset", 1).await;
    app.mail_link(email, "password_reset").await
}

#[tokio::test(flavor = "multi_thread")]
async fn reset_happy_path_sets_the_password_and_sends_the_notice() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let email = "ana.reset@exemplo.com.br";
        app.signup(email).await;
        let mut b = Browser::default();
        let login = b.get(&app.service, "/login").await;
        assert!(login.body.contains("href=\"/password/forgot\""));
        assert!(login.body.contains("Esqueci minha senha"));

        let page = ask_reset(&app, email).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("Se houver uma conta com este endereço"));
        let link = reset_link(&app, email).await;
        assert!(link.starts_with("/password/reset?token="), "{link}");

        let form = b.get(&app.service, &link).await;
        assert_eq!(header(&form, "referrer-policy"), "strict-origin");
        assert!(form.body.contains("autocomplete=\"new-password\""));
        // Refused policy: nothing spent, the form again with the token.
        let short = b
            .post(
                &app.service,
                "/password/reset",
                &[
                    ("csrf_token", form.csrf().as_str()),
                    ("token", hidden_token(&form).as_str()),
                    ("password", "curta"),
                    ("password_confirm", "curta"),
                ],
            )
            .await;
        assert_eq!(short.status, 422, "{}", short.body);
        assert!(short.body.contains("password-erro"));

        let done = follow_reset(&app, &mut b, &link, NEW_PASSWORD).await;
        assert_eq!(done.status, 303, "{}", done.body);
        assert_eq!(done.location(), "/login");
        let notice = b.get(&app.service, "/login").await;
        assert!(notice.body.contains("Senha redefinida"), "{}", notice.body);

        let mut other = Browser::from_ip("203.0.113.50");
        assert_eq!(
            app.login(&mut other, email, GOOD_PASSWORD).await.status,
            422
        );
        let page = app.login(&mut other, email, NEW_PASSWORD).await;
        assert_eq!(page.status, 303, "{}", page.body);

        wait_mail(&app, email, "password_changed_notice", 1).await;
        let audit = pesquisa::db::audit::recent(app.db(), 50)
            .await
            .expect("audit");
        assert!(audit.iter().any(|e| e.action == "account.password_reset"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn reset_ends_every_session_of_the_account() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let email = "sessoes.reset@exemplo.com.br";
        let mut first = app.signup(email).await;
        let mut second = Browser::from_ip("203.0.113.60");
        assert_eq!(
            app.login(&mut second, email, GOOD_PASSWORD).await.status,
            303
        );
        assert_eq!(first.get(&app.service, "/account").await.status, 200);

        ask_reset(&app, email).await;
        let link = reset_link(&app, email).await;
        let done = follow_reset(&app, &mut Browser::default(), &link, NEW_PASSWORD).await;
        assert_eq!(done.status, 303, "{}", done.body);

        for b in [&mut first, &mut second] {
            let page = b.get(&app.service, "/account").await;
            assert_ne!(page.status, 200, "a session outlived the reset");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_email_gets_the_same_page_and_nothing_is_queued() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let known = "conhecida@exemplo.com.br";
        let unknown = "ninguem@exemplo.com.br";
        app.signup(known).await;
        let a = ask_reset(&app, known).await;
        let b = ask_reset(&app, unknown).await;
        assert_eq!((a.status, b.status), (200, 200));
        assert_eq!(a.body, b.body, "the answers differ");
        assert_eq!(settled_count(&app, known, "password_reset", 1).await, 1);
        assert_eq!(settled_count(&app, unknown, "password_reset", 0).await, 0);
        // A malformed address is a mistake by the field, not a leak.
        let bad = ask_reset(&app, "sem-arroba").await;
        assert_eq!(bad.status, 422);
        assert!(bad.body.contains("email-erro"));
    }
}

/// Median answer times (µs) of POSTs to `path` for a known and an unknown address.
async fn medians(app: &TestApp, path: &str, known: &str, unknown: &str) -> (u128, u128) {
    let mut b = Browser::from_ip("198.51.100.30");
    let token = b.get(&app.service, path).await.csrf();
    let mut times: [Vec<u128>; 2] = [Vec::new(), Vec::new()];
    for round in 0..40 {
        for (i, email) in [known, unknown].iter().enumerate() {
            let started = Instant::now();
            let page = b
                .post(
                    &app.service,
                    path,
                    &[("csrf_token", token.as_str()), ("email", email)],
                )
                .await;
            let took = started.elapsed().as_micros();
            assert_eq!(page.status, 200);
            if round >= 5 {
                times[i].push(took);
            }
        }
    }
    let median = |v: &mut Vec<u128>| {
        v.sort_unstable();
        v[v.len() / 2]
    };
    (median(&mut times[0]), median(&mut times[1]))
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_answer_in_about_the_same_time_for_known_and_unknown_addresses() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn_with(backend, |s| {
            s.rate_limit.reset_per_ip = 1000;
            s.rate_limit.reset_per_address = 1000;
            s.rate_limit.code_per_ip = 1000;
            s.rate_limit.code_per_address = 1000;
        })
        .await;
        let known = "tempo@exemplo.com.br";
        app.signup(known).await;
        for path in ["/password/forgot", "/login/code"] {
            let (k, u) = medians(&app, path, known, "tempo.ninguem@exemplo.com.br").await;
            println!("{backend:?} {path} median: known {k} µs, unknown {u} µs");
            assert!(
                k.abs_diff(u) < 5_000 && k < u * 3 && u < k * 3,
                "{path}: known {k} µs vs unknown {u} µs"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_reset_link_is_refused() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let email = "expirada@exemplo.com.br";
        app.signup(email).await;
        ask_reset(&app, email).await;
        let link = reset_link(&app, email).await;
        let mut b = Browser::default();
        let form = b.get(&app.service, &link).await;
        assert_eq!(form.status, 200);
        expire_all_tokens(&app).await;
        let page = b.get(&app.service, &link).await;
        assert_eq!(page.status, 410, "{}", page.body);
        assert!(page.body.contains("href=\"/password/forgot\""));
        let post = b
            .post(
                &app.service,
                "/password/reset",
                &[
                    ("csrf_token", form.csrf().as_str()),
                    ("token", hidden_token(&form).as_str()),
                    ("password", NEW_PASSWORD),
                    ("password_confirm", NEW_PASSWORD),
                ],
            )
            .await;
        assert_eq!(post.status, 410);
        assert_eq!(
            app.login(&mut Browser::from_ip("203.0.113.61"), email, GOOD_PASSWORD)
                .await
                .status,
            303,
            "the password did not change"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reset_link_works_once() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let email = "uma.vez@exemplo.com.br";
        app.signup(email).await;
        ask_reset(&app, email).await;
        let link = reset_link(&app, email).await;
        let mut b = Browser::default();
        let form = b.get(&app.service, &link).await;
        let done = follow_reset(&app, &mut b, &link, NEW_PASSWORD).await;
        assert_eq!(done.status, 303);
        assert_eq!(b.get(&app.service, &link).await.status, 410);
        let again = b
            .post(
                &app.service,
                "/password/reset",
                &[
                    ("csrf_token", form.csrf().as_str()),
                    ("token", hidden_token(&form).as_str()),
                    ("password", "outra senha bem comprida"),
                    ("password_confirm", "outra senha bem comprida"),
                ],
            )
            .await;
        assert_eq!(again.status, 410);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_log_in_or_a_password_change_voids_the_reset_link() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let email = "anulada@exemplo.com.br";
        let mut owner = app.signup(email).await;
        ask_reset(&app, email).await;
        let link = reset_link(&app, email).await;
        assert_eq!(
            app.login(&mut Browser::from_ip("203.0.113.62"), email, GOOD_PASSWORD)
                .await
                .status,
            303
        );
        assert_eq!(
            Browser::default().get(&app.service, &link).await.status,
            410
        );

        ask_reset(&app, email).await;
        wait_mail(&app, email, "password_reset", 2).await;
        let link = app.mail_link(email, "password_reset").await;
        assert_eq!(
            Browser::default().get(&app.service, &link).await.status,
            200
        );
        let page = owner
            .submit(
                &app.service,
                "/account",
                "/account/password",
                &[
                    ("current_password", GOOD_PASSWORD),
                    ("password", NEW_PASSWORD),
                    ("password_confirm", NEW_PASSWORD),
                ],
            )
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        assert_eq!(
            Browser::default().get(&app.service, &link).await.status,
            410
        );
        wait_mail(&app, email, "password_changed_notice", 1).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn reset_requests_past_the_limits_queue_nothing_and_answer_the_same() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn_with(backend, |s| s.rate_limit.reset_per_ip = 5).await;
        let (a, b) = ("limite.a@exemplo.com.br", "limite.b@exemplo.com.br");
        app.signup(a).await;
        app.signup(b).await;
        let mut client = Browser::from_ip("198.51.100.40");
        let token = client.get(&app.service, "/password/forgot").await.csrf();
        let mut ask = async |email: &str| {
            client
                .post(
                    &app.service,
                    "/password/forgot",
                    &[("csrf_token", token.as_str()), ("email", email)],
                )
                .await
        };
        let first = ask(a).await;
        for _ in 0..3 {
            let page = ask(a).await;
            assert_eq!((page.status, &page.body), (200, &first.body));
        }
        // 3 per address per hour: the fourth queued nothing.
        assert_eq!(settled_count(&app, a, "password_reset", 3).await, 3);
        // The network's 5th request still counts; its 6th is past the limit.
        ask(b).await;
        let page = ask(b).await;
        assert_eq!((page.status, &page.body), (200, &first.body));
        assert_eq!(settled_count(&app, b, "password_reset", 1).await, 1);
        // Another network is not held back.
        assert_eq!(ask_reset(&app, b).await.status, 200);
        assert_eq!(settled_count(&app, b, "password_reset", 2).await, 2);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_account_without_a_password_can_set_one_by_reset() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let email = "sem.senha@exemplo.com.br";
        app.signup(email).await;
        let id = user_model::find_by_email(app.db(), email)
            .await
            .expect("find")
            .expect("exists")
            .id;
        user_model::set_password_hash(app.db(), id, "")
            .await
            .expect("no password");
        ask_reset(&app, email).await;
        let link = reset_link(&app, email).await;
        let done = follow_reset(&app, &mut Browser::default(), &link, NEW_PASSWORD).await;
        assert_eq!(done.status, 303, "{}", done.body);
        let page = app
            .login(&mut Browser::from_ip("203.0.113.63"), email, NEW_PASSWORD)
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
    }
}

// ---------------------------------------------------------------- sign-in by e-mail code

/// Ask for a code from `b`; returns the page to type it.
async fn ask_code(app: &TestApp, b: &mut Browser, email: &str) -> Page {
    b.submit(
        &app.service,
        "/login/code",
        "/login/code",
        &[("email", email)],
    )
    .await
}

async fn type_code(app: &TestApp, b: &mut Browser, page: &Page, email: &str, code: &str) -> Page {
    b.post(
        &app.service,
        "/login/code/verify",
        &[
            ("csrf_token", page.csrf().as_str()),
            ("email", email),
            ("code", code),
        ],
    )
    .await
}

async fn sent_code(app: &TestApp, email: &str, n: usize) -> String {
    let bodies = wait_mail(app, email, "sign_in_code", n).await;
    code_in(bodies.last().expect("a message"))
}

/// A six-digit code that is not `code`.
fn other_code(code: &str) -> String {
    let n: u32 = code.parse().expect("digits");
    format!("{:06}", (n + 1) % 1_000_000)
}

/// The account's address back to unverified (sign-up in the harness verifies it).
async fn unverify(app: &TestApp, email: &str) {
    let r: Result<usize, DbError> = async {
        with_conn!(app.db(), |conn| Ok(diesel::update(
            users::table.filter(users::email.eq(email))
        )
        .set(users::email_verified_at.eq(None::<chrono::NaiveDateTime>))
        .execute(conn)
        .await?))
    }
    .await;
    assert_eq!(r.expect("unverify"), 1);
}

async fn verified_at(app: &TestApp, email: &str) -> Option<chrono::NaiveDateTime> {
    user_model::find_by_email(app.db(), email)
        .await
        .expect("find")
        .expect("exists")
        .email_verified_at
}

#[tokio::test(flavor = "multi_thread")]
async fn a_right_code_logs_in_and_proves_the_address() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let email = "codigo@exemplo.com.br";
        app.signup(email).await;
        unverify(&app, email).await;
        assert_eq!(verified_at(&app, email).await, None);
        let mut b = Browser::from_ip("198.51.100.50");
        let login = b.get(&app.service, "/login").await;
        assert!(login.body.contains("href=\"/login/code\""));
        let page = ask_code(&app, &mut b, email).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("autocomplete=\"one-time-code\""));
        assert!(page.body.contains("inputmode=\"numeric\""));
        assert!(page.body.contains("<label for=\"code\""));
        let code = sent_code(&app, email, 1).await;
        let typed = format!("{} {}", &code[..3], &code[3..]);
        let done = type_code(&app, &mut b, &page, email, &typed).await;
        assert_eq!(done.status, 303, "{}", done.body);
        assert_eq!(done.location(), "/survey");
        assert_eq!(b.get(&app.service, "/account").await.status, 200);
        assert!(verified_at(&app, email).await.is_some());
        let audit = pesquisa::db::audit::recent(app.db(), 50)
            .await
            .expect("audit");
        assert!(
            audit
                .iter()
                .any(|e| e.action == "auth.login" && e.detail == "e-mail code")
        );
        // Spent: the same code again does nothing.
        let mut c = Browser::from_ip("198.51.100.51");
        let again = type_code(&app, &mut c, &page, email, &code).await;
        assert_ne!(again.status, 303);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_code_sign_in_goes_on_to_the_page_that_asked_for_log_in() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let email = "codigo-next@exemplo.com.br";
        app.signup(email).await;
        let mut b = Browser::from_ip("198.51.100.52");
        let asked = b.get(&app.service, "/account").await;
        assert_eq!(asked.location(), "/login?next=%2Faccount");
        let login = b.get(&app.service, asked.location()).await;
        assert!(
            login.body.contains("href=\"/login/code?next=%2Faccount\""),
            "{}",
            login.body
        );
        let form = b.get(&app.service, "/login/code?next=%2Faccount").await;
        assert!(form.body.contains("name=\"next\" value=\"/account\""));
        let page = b
            .post(
                &app.service,
                "/login/code",
                &[
                    ("csrf_token", form.csrf().as_str()),
                    ("email", email),
                    ("next", "/account"),
                ],
            )
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("name=\"next\" value=\"/account\""));
        let code = sent_code(&app, email, 1).await;
        // A wrong code first: the refusal keeps `next` too.
        let wrong = b
            .post(
                &app.service,
                "/login/code/verify",
                &[
                    ("csrf_token", page.csrf().as_str()),
                    ("email", email),
                    ("next", "/account"),
                    ("code", other_code(&code).as_str()),
                ],
            )
            .await;
        assert_eq!(wrong.status, 422);
        assert!(wrong.body.contains("name=\"next\" value=\"/account\""));
        let done = b
            .post(
                &app.service,
                "/login/code/verify",
                &[
                    ("csrf_token", wrong.csrf().as_str()),
                    ("email", email),
                    ("next", "/account"),
                    ("code", code.as_str()),
                ],
            )
            .await;
        assert_eq!(done.status, 303, "{}", done.body);
        assert_eq!(done.location(), "/account");

        // Only a local path: another site in `next` is dropped at every step.
        let mut c = Browser::from_ip("198.51.100.53");
        let form = c.get(&app.service, "/login/code?next=//evil.example").await;
        assert!(!form.body.contains("evil.example"));
        let page = c
            .post(
                &app.service,
                "/login/code",
                &[
                    ("csrf_token", form.csrf().as_str()),
                    ("email", email),
                    ("next", "https://evil.example/"),
                ],
            )
            .await;
        assert!(!page.body.contains("evil.example"));
        let code = sent_code(&app, email, 2).await;
        let done = c
            .post(
                &app.service,
                "/login/code/verify",
                &[
                    ("csrf_token", page.csrf().as_str()),
                    ("email", email),
                    ("next", "//evil.example"),
                    ("code", code.as_str()),
                ],
            )
            .await;
        assert_eq!(done.status, 303, "{}", done.body);
        assert_eq!(done.location(), "/survey");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_code_shows_the_tries_left_by_the_field() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let email = "errado@exemplo.com.br";
        app.signup(email).await;
        let mut b = Browser::from_ip("198.51.100.52");
        let page = ask_code(&app, &mut b, email).await;
        let code = sent_code(&app, email, 1).await;
        let wrong = type_code(&app, &mut b, &page, email, &other_code(&code)).await;
        assert_eq!(wrong.status, 422);
        assert!(wrong.body.contains("id=\"code-erro\""), "{}", wrong.body);
        assert!(wrong.body.contains("Restam 4 tentativas"), "{}", wrong.body);
        assert!(wrong.body.contains("aria-describedby=\"code-erro\""));
        let malformed = type_code(&app, &mut b, &wrong, email, "12a").await;
        assert_eq!(malformed.status, 422);
        assert!(malformed.body.contains("Digite os 6 dígitos"));
        let wrong = type_code(&app, &mut b, &wrong, email, &other_code(&code)).await;
        assert!(
            wrong.body.contains("Restam 3 tentativas"),
            "a malformed code costs no try"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sixth_try_is_refused_even_with_the_right_code() {
    for backend in ALL_BACKENDS {
        // Enough free failures that the log-in waits do not come first.
        let app = TestApp::spawn_with(backend, |s| s.rate_limit.login_free_failures = 10).await;
        let email = "seis@exemplo.com.br";
        app.signup(email).await;
        let mut b = Browser::from_ip("198.51.100.53");
        let page = ask_code(&app, &mut b, email).await;
        let code = sent_code(&app, email, 1).await;
        let mut last = page;
        for left in (0..5).rev() {
            last = type_code(&app, &mut b, &last, email, &other_code(&code)).await;
            assert_eq!(last.status, 422);
            match left {
                0 => assert!(last.body.contains("Peça um novo código"), "{}", last.body),
                1 => assert!(last.body.contains("Resta 1 tentativa")),
                n => assert!(last.body.contains(&format!("Restam {n} tentativas"))),
            }
        }
        let sixth = type_code(&app, &mut b, &last, email, &code).await;
        assert_eq!(sixth.status, 422);
        assert!(sixth.body.contains("Peça um novo código"));
        assert_ne!(b.get(&app.service, "/account").await.status, 200);
        // A new code works again.
        let page = ask_code(&app, &mut b, email).await;
        let code = sent_code(&app, email, 2).await;
        assert_eq!(
            type_code(&app, &mut b, &page, email, &code).await.status,
            303
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_codes_count_with_the_failed_log_ins() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let email = "conta.falhas@exemplo.com.br";
        app.signup(email).await;
        let mut b = Browser::from_ip("198.51.100.54");
        let page = ask_code(&app, &mut b, email).await;
        let code = sent_code(&app, email, 1).await;
        let mut last = page;
        for _ in 0..5 {
            last = type_code(&app, &mut b, &last, email, &other_code(&code)).await;
            assert_eq!(last.status, 422);
        }
        // Five free failures from this client: now it must wait, for codes and passwords.
        let page = app.login(&mut b, email, GOOD_PASSWORD).await;
        assert_eq!(page.status, 429, "{}", page.body);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_code_asks_for_a_new_one() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let email = "codigo.velho@exemplo.com.br";
        app.signup(email).await;
        let mut b = Browser::from_ip("198.51.100.55");
        let page = ask_code(&app, &mut b, email).await;
        let code = sent_code(&app, email, 1).await;
        expire_all_tokens(&app).await;
        let late = type_code(&app, &mut b, &page, email, &code).await;
        assert_eq!(late.status, 422);
        assert!(late.body.contains("Peça um novo código"), "{}", late.body);
        assert!(
            late.body.contains("action=\"/login/code\""),
            "a resend button"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_code_link_shows_a_button_and_only_its_post_spends_it() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let email = "link.codigo@exemplo.com.br";
        app.signup(email).await;
        unverify(&app, email).await;
        let mut b = Browser::from_ip("198.51.100.56");
        ask_code(&app, &mut b, email).await;
        wait_mail(&app, email, "sign_in_code", 1).await;
        let link = app.mail_link(email, "sign_in_code").await;
        assert!(link.starts_with("/login/code/link?token="), "{link}");
        // A mail scanner's fetches.
        let mut scanner = Browser::from_ip("192.0.2.1");
        for _ in 0..3 {
            let page = scanner.get(&app.service, &link).await;
            assert_eq!(page.status, 200, "{}", page.body);
            assert_eq!(header(&page, "referrer-policy"), "strict-origin");
            assert!(page.body.contains("action=\"/login/code/link\""));
        }
        assert_eq!(scanner.session_cookie(), None, "a GET logs nobody in");
        let mut person = Browser::from_ip("198.51.100.57");
        let confirm = person.get(&app.service, &link).await;
        let done = person
            .post(
                &app.service,
                "/login/code/link",
                &[
                    ("csrf_token", confirm.csrf().as_str()),
                    ("token", hidden_token(&confirm).as_str()),
                ],
            )
            .await;
        assert_eq!(done.status, 303, "{}", done.body);
        assert_eq!(person.get(&app.service, "/account").await.status, 200);
        assert!(verified_at(&app, email).await.is_some());
        assert_eq!(person.get(&app.service, &link).await.status, 410, "spent");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_code_of_one_account_does_not_open_another() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let (a, b_email) = ("conta.a@exemplo.com.br", "conta.b@exemplo.com.br");
        app.signup(a).await;
        app.signup(b_email).await;
        let mut b = Browser::from_ip("198.51.100.58");
        let page_a = ask_code(&app, &mut b, a).await;
        let page_b = ask_code(&app, &mut b, b_email).await;
        let code_a = sent_code(&app, a, 1).await;
        let code_b = sent_code(&app, b_email, 1).await;
        if code_a != code_b {
            let tried = type_code(&app, &mut b, &page_b, b_email, &code_a).await;
            assert_eq!(tried.status, 422, "A's code opened B");
        }
        let tried = type_code(&app, &mut b, &page_a, a, &code_a).await;
        assert_eq!(tried.status, 303);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_address_without_account_reads_the_same_and_gets_no_mail() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let known = "existe@exemplo.com.br";
        let unknown = "naoexiste@exemplo.com.br";
        app.signup(known).await;
        let mut b = Browser::from_ip("198.51.100.59");
        let pk = ask_code(&app, &mut b, known).await;
        let pu = ask_code(&app, &mut b, unknown).await;
        assert_eq!((pk.status, pu.status), (200, 200));
        assert_eq!(
            pk.body.replace(known, "X"),
            pu.body.replace(unknown, "X"),
            "the pages differ"
        );
        let code = sent_code(&app, known, 1).await;
        assert_eq!(settled_count(&app, unknown, "sign_in_code", 0).await, 0);
        let wk = type_code(&app, &mut b, &pk, known, &other_code(&code)).await;
        let wu = type_code(&app, &mut b, &pu, unknown, &other_code(&code)).await;
        assert_eq!((wk.status, wu.status), (422, 422));
        assert_eq!(wk.body.replace(known, "X"), wu.body.replace(unknown, "X"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn code_requests_past_the_limits_queue_nothing() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let email = "muitos.codigos@exemplo.com.br";
        app.signup(email).await;
        let mut b = Browser::from_ip("198.51.100.70");
        let first = ask_code(&app, &mut b, email).await;
        for _ in 0..5 {
            let page = ask_code(&app, &mut b, email).await;
            assert_eq!(page.status, 200);
            assert_eq!(page.body.len(), first.body.len());
        }
        // 5 per address per hour.
        assert_eq!(settled_count(&app, email, "sign_in_code", 5).await, 5);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn reset_and_code_log_no_e_mail_address() {
    let logs = crate::hardening::captured_logs();
    let app = TestApp::spawn(Backend::SqliteMemory).await;
    let email = "registro.privado@exemplo.com.br";
    app.signup(email).await;
    ask_reset(&app, email).await;
    let link = reset_link(&app, email).await;
    follow_reset(&app, &mut Browser::default(), &link, NEW_PASSWORD).await;
    let mut b = Browser::from_ip("198.51.100.71");
    let page = ask_code(&app, &mut b, email).await;
    let code = sent_code(&app, email, 1).await;
    type_code(&app, &mut b, &page, email, &other_code(&code)).await;
    type_code(&app, &mut b, &page, email, &code).await;
    ask_code(
        &app,
        &mut Browser::from_ip("198.51.100.72"),
        "ninguem.log@exemplo.com.br",
    )
    .await;
    let all = String::from_utf8(logs.lock().expect("logs").clone()).expect("utf-8");
    assert!(
        all.contains("password reset by e-mail link"),
        "logs captured"
    );
    assert!(!all.contains(email), "an e-mail reached the log");
    assert!(!all.contains("ninguem.log"), "an e-mail reached the log");
    assert!(!all.contains(&code), "a code reached the log");
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_and_messages_follow_the_visitor_s_language() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let email = "english@exemplo.com.br";
        app.signup(email).await;
        let mut b = Browser::from_ip("198.51.100.80");
        b.headers
            .push(("accept-language", "en-US,en;q=0.9".to_string()));
        let login = b.get(&app.service, "/login").await;
        assert!(login.body.contains("Forgot my password"), "{}", login.body);
        assert!(login.body.contains("Sign in with a code by e-mail"));
        let sent = b
            .submit(
                &app.service,
                "/password/forgot",
                "/password/forgot",
                &[("email", email)],
            )
            .await;
        assert!(sent.body.contains("If the address has an account"));
        let bodies = wait_mail(&app, email, "password_reset", 1).await;
        assert!(bodies[0].contains("Choose a new password"), "{}", bodies[0]);
        let page = ask_code(&app, &mut b, email).await;
        assert!(page.body.contains("6-digit code"));
        let code = sent_code(&app, email, 1).await;
        let wrong = type_code(&app, &mut b, &page, email, &other_code(&code)).await;
        assert!(
            wrong.body.contains("Wrong code. 4 tries left."),
            "{}",
            wrong.body
        );
        let mail = app.last_mail(email, "sign_in_code").await;
        assert_eq!(mail.subject, "Your sign-in code");
    }
}
