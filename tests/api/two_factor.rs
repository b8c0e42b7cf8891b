//! Two-step verification for staff (TOTP): enrolment, the code after the password, wrong
//! and replayed codes, recovery codes, the pending log-in's expiry, the guard on staff
//! pages, `pesquisa admin reset-2fa`, and respondents never being asked.

use pesquisa::accounts::Role;
use pesquisa::accounts::totp;
use pesquisa::db::{audit, staff_totp, users as user_model};
use pesquisa::web::second_factor;

use crate::accounts::admin_command;
use crate::helpers::{ALL_BACKENDS, Backend, Browser, GOOD_PASSWORD, Page, TestApp, totp_step};

const STAFF: &str = "equipe@exemplo.com.br";

async fn user_id(app: &TestApp, email: &str) -> i64 {
    user_model::find_by_email(app.db(), email)
        .await
        .expect("query")
        .expect("user")
        .id
}

async fn audit_actions(app: &TestApp) -> Vec<String> {
    audit::recent(app.db(), 100)
        .await
        .expect("audit")
        .into_iter()
        .map(|e| e.action)
        .collect()
}

/// The recovery codes listed on the page shown after enrolment.
fn recovery_codes(page: &Page) -> Vec<String> {
    page.body
        .split("<li><code>")
        .skip(1)
        .filter_map(|s| s.split("</code>").next())
        .map(str::to_string)
        .collect()
}

async fn log_out(app: &TestApp, b: &mut Browser) {
    let page = b.submit(&app.service, "/account", "/logout", &[]).await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert!(b.session_cookie().is_none());
}

/// The password passes: the browser is sent to type the code, with no session yet.
async fn password_step(app: &TestApp, b: &mut Browser) {
    let page = app.login(b, STAFF, GOOD_PASSWORD).await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.location(), "/login/2fa");
    assert!(b.session_cookie().is_none(), "no session before the code");
}

async fn type_code(app: &TestApp, b: &mut Browser, code: &str) -> Page {
    b.submit(&app.service, "/login/2fa", "/login/2fa", &[("code", code)])
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn staff_enrol_then_log_in_with_a_code_once_and_a_recovery_code_once() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let mut b = app.staff_unenrolled(STAFF, Role::Analyst).await;
        let id = user_id(&app, STAFF).await;

        // Not enrolled, required by default: staff pages send to the enrolment.
        for path in ["/admin/results", "/admin/results/respostas.csv"] {
            let page = b.get(&app.service, path).await;
            assert_eq!(page.status, 303, "{backend:?} {path}");
            assert_eq!(page.location(), "/account/2fa");
        }

        let form = b.get(&app.service, "/account/2fa").await;
        assert_eq!(form.status, 200);
        assert!(
            form.body.contains("<svg role=\"img\" aria-label="),
            "inline QR"
        );
        let key = form
            .body
            .split("data-key=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .expect("key")
            .to_string();
        let again = b.get(&app.service, "/account/2fa").await;
        assert!(
            again.body.contains(&key),
            "{backend:?}: a reload shows the same key"
        );
        let secret = totp::from_base32(&key).expect("base32");
        let stored = staff_totp::find(app.db(), id)
            .await
            .expect("q")
            .expect("row");
        assert!(!stored.secret.contains(&key) && !stored.secret.contains(&hex::encode(&secret)));

        // A wrong code: refused by the field, nothing switched on.
        let wrong = totp::code_at(&secret, totp_step() + 5);
        let page = b
            .submit(
                &app.service,
                "/account/2fa",
                "/account/2fa",
                &[("code", &wrong)],
            )
            .await;
        assert_eq!(page.status, 422, "{backend:?}");
        assert!(page.body.contains("Código incorreto"), "{}", page.body);
        assert!(!staff_totp::is_enabled(app.db(), id).await.expect("q"));
        let page = b
            .submit(
                &app.service,
                "/account/2fa",
                "/account/2fa",
                &[("code", "12a")],
            )
            .await;
        assert_eq!(page.status, 422);

        // The right code: on, with ten recovery codes shown once.
        let now = totp_step();
        let page = b
            .submit(
                &app.service,
                "/account/2fa",
                "/account/2fa",
                &[("code", &totp::code_at(&secret, now))],
            )
            .await;
        assert_eq!(page.status, 200, "{backend:?}: {}", page.body);
        let codes = recovery_codes(&page);
        assert_eq!(codes.len(), 10, "{}", page.body);
        assert!(staff_totp::is_enabled(app.db(), id).await.expect("q"));
        assert!(
            audit_actions(&app)
                .await
                .contains(&"account.2fa_enrolled".into())
        );
        assert_eq!(b.get(&app.service, "/admin/results").await.status, 200);
        let status = b.get(&app.service, "/account/2fa").await;
        assert!(
            !status.body.contains(&codes[0]),
            "codes are not shown again"
        );

        // Log-in: the password, then the code.
        log_out(&app, &mut b).await;
        password_step(&app, &mut b).await;
        let page = b.get(&app.service, "/admin/results").await;
        assert_eq!(page.status, 303);
        assert!(page.location().starts_with("/login"), "not logged in yet");
        let page = type_code(&app, &mut b, &totp::code_at(&secret, now + 7)).await;
        assert_eq!(page.status, 422, "{backend:?}: a wrong code");
        let next = totp::code_at(&secret, now + 1);
        let page = type_code(&app, &mut b, &next).await;
        assert_eq!(page.status, 303, "{backend:?}: {}", page.body);
        assert!(b.session_cookie().is_some());
        assert_eq!(b.get(&app.service, "/admin/results").await.status, 200);

        // The same code again (its step is used): refused.
        log_out(&app, &mut b).await;
        password_step(&app, &mut b).await;
        let page = type_code(&app, &mut b, &next).await;
        assert_eq!(page.status, 422, "{backend:?}: a replayed code");
        assert!(b.session_cookie().is_none());

        // A recovery code works (typed in capitals, without the dash), once.
        let typed = codes[0].replace('-', "").to_uppercase();
        let page = type_code(&app, &mut b, &typed).await;
        assert_eq!(page.status, 303, "{backend:?}: {}", page.body);
        assert!(
            audit_actions(&app)
                .await
                .contains(&"auth.2fa_recovery_used".into())
        );
        assert_eq!(
            staff_totp::recovery_codes_left(app.db(), id)
                .await
                .expect("q"),
            9
        );
        log_out(&app, &mut b).await;
        password_step(&app, &mut b).await;
        let page = type_code(&app, &mut b, &codes[0]).await;
        assert_eq!(page.status, 422, "{backend:?}: a spent recovery code");
        let page = type_code(&app, &mut b, &codes[1]).await;
        assert_eq!(page.status, 303, "{backend:?}: another one works");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_codes_are_counted_per_account_and_make_the_client_wait() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let mut b = app.staff_unenrolled(STAFF, Role::Admin).await;
        let (secret, _) = app.enrol_second_factor(&mut b).await;
        log_out(&app, &mut b).await;
        password_step(&app, &mut b).await;
        let bad = totp::code_at(&secret, totp_step() + 9);
        let bad = bad.as_str();
        for n in 1..=5 {
            let page = type_code(&app, &mut b, bad).await;
            assert_eq!(page.status, 422, "{backend:?}: try {n}");
        }
        let page = type_code(&app, &mut b, bad).await;
        assert_eq!(page.status, 429, "{backend:?}: the sixth waits");
        // Typing the password again does not forget the wrong codes.
        password_step(&app, &mut b).await;
        let page = type_code(&app, &mut b, bad).await;
        assert_eq!(page.status, 429, "{backend:?}: still waiting");
        // A form without a code is a mistake, not a guess: not counted, said by the field.
        let mut other = Browser::from_ip("192.0.2.44");
        let page = app.login(&mut other, STAFF, GOOD_PASSWORD).await;
        assert_eq!(page.location(), "/login/2fa");
        let page = type_code(&app, &mut other, "").await;
        assert_eq!(page.status, 422);
        assert!(page.body.contains("Digite o código"), "{}", page.body);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pending_log_in_expires_and_cannot_be_forged() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let mut b = app.staff(STAFF, Role::Analyst).await;
        let id = user_id(&app, STAFF).await;
        log_out(&app, &mut b).await;
        password_step(&app, &mut b).await;
        let nonce = b
            .cookies
            .get("pesquisa_sid_pre")
            .expect("pre-session")
            .clone();
        let pending = second_factor::Pending {
            user_id: id,
            next: String::new(),
            how: "web".into(),
        };
        // The same log-in, signed by this server, five minutes and a second ago.
        let past = chrono::Utc::now().timestamp() - 1;
        let value = second_factor::encode(&app.state.session_key, &nonce, &pending, past);
        b.cookies.insert("pesquisa_sid_2fa".into(), value);
        let page = b.get(&app.service, "/login/2fa").await;
        assert_eq!(page.status, 200);
        assert!(
            page.body.contains("O tempo para o código acabou"),
            "{}",
            page.body
        );
        assert!(
            !b.cookies.contains_key("pesquisa_sid_2fa"),
            "{backend:?}: forgotten"
        );

        // Signed with another key, or for another browser: no pending log-in at all.
        let future = chrono::Utc::now().timestamp() + 300;
        for value in [
            second_factor::encode(&b"x".repeat(36), &nonce, &pending, future),
            second_factor::encode(&app.state.session_key, "another", &pending, future),
        ] {
            b.cookies.insert("pesquisa_sid_2fa".into(), value);
            let page = b.get(&app.service, "/login/2fa").await;
            assert_eq!(page.status, 303);
            assert_eq!(page.location(), "/login");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn respondents_are_never_asked_and_cannot_enrol() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let mut b = app.signup("ana@exemplo.com.br").await;
        assert_eq!(b.get(&app.service, "/account/2fa").await.status, 403);
        let page = b
            .submit(
                &app.service,
                "/account",
                "/account/2fa/recovery",
                &[("code", "123456")],
            )
            .await;
        assert_eq!(
            page.status, 403,
            "{backend:?}: no recovery codes for respondents"
        );
        log_out(&app, &mut b).await;
        let page = app.login(&mut b, "ana@exemplo.com.br", GOOD_PASSWORD).await;
        assert_eq!(page.status, 303);
        assert_ne!(page.location(), "/login/2fa", "{backend:?}");
        assert!(b.session_cookie().is_some());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn without_the_requirement_unenrolled_staff_reach_staff_pages() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn_with(backend, |s| s.accounts.staff_require_2fa = false).await;
        let mut b = app.staff_unenrolled(STAFF, Role::Admin).await;
        assert_eq!(b.get(&app.service, "/admin/results").await.status, 200);
        assert_eq!(b.get(&app.service, "/admin/users").await.status, 200);
    }
}

/// `pesquisa admin reset-2fa`: off, recovery codes gone, audited, sessions ended; the
/// next log-in needs the password only and then an enrolment again.
#[tokio::test(flavor = "multi_thread")]
async fn the_reset_2fa_command_turns_it_off_and_ends_the_sessions() {
    let app = TestApp::spawn(Backend::MariaRedis).await;
    let mut b = app.staff(STAFF, Role::Admin).await;
    let id = user_id(&app, STAFF).await;
    assert_eq!(b.get(&app.service, "/admin/users").await.status, 200);
    let out = admin_command(&app, &["reset-2fa", "--email", STAFF]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(said.contains("two-step verification turned off"), "{said}");
    assert!(said.contains("its sessions were ended"), "{said}");
    assert!(staff_totp::find(app.db(), id).await.expect("q").is_none());
    assert_eq!(
        staff_totp::recovery_codes_left(app.db(), id)
            .await
            .expect("q"),
        0
    );
    assert!(audit_actions(&app).await.contains(&"cli.2fa_reset".into()));
    let page = b.get(&app.service, "/admin/users").await;
    assert_eq!(page.status, 303);
    assert!(page.location().starts_with("/login"));

    let page = app.login(&mut b, STAFF, GOOD_PASSWORD).await;
    assert_eq!(page.status, 303);
    assert_ne!(page.location(), "/login/2fa");
    let page = b.get(&app.service, "/admin/users").await;
    assert_eq!(page.location(), "/account/2fa", "enrol again");

    let out = admin_command(&app, &["reset-2fa", "--email", "ninguem@exemplo.com.br"]);
    assert!(!out.status.success());
}

/// A staff session opened before its account turned two-step verification on never passed
/// a code: the staff pages log it out and send it to log in again (with the code).
#[tokio::test(flavor = "multi_thread")]
async fn a_staff_session_that_passed_no_code_is_logged_out_once_the_account_has_one() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn_with(backend, |s| s.accounts.staff_require_2fa = false).await;
        let email = "duas.sessoes@exemplo.com.br";
        let mut phone = app.staff_unenrolled(email, Role::Admin).await;
        let mut laptop = Browser::from_ip("198.51.100.44");
        assert_eq!(
            app.login(&mut laptop, email, GOOD_PASSWORD).await.status,
            303
        );
        let page = laptop.get(&app.service, "/admin/users").await;
        assert_eq!(page.status, 200, "{backend:?}: {}", page.location());

        app.enrol_second_factor(&mut phone).await;
        let page = laptop.get(&app.service, "/admin/users").await;
        assert_eq!(page.status, 303, "{backend:?}: {}", page.body);
        assert_eq!(page.location(), "/login?next=%2Fadmin%2Fusers");
        let page = laptop.get(&app.service, "/account").await;
        assert_eq!(page.status, 303, "{backend:?}: the session was ended");
        assert_eq!(phone.get(&app.service, "/admin/users").await.status, 200);
    }
}

/// The key shown on the enrolment page.
fn enrolment_key(page: &Page) -> Vec<u8> {
    let key = page
        .body
        .split("data-key=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("key");
    totp::from_base32(key).expect("base32")
}

#[tokio::test(flavor = "multi_thread")]
async fn staff_replace_their_recovery_codes_with_a_current_code_and_the_old_ones_stop_working() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let mut b = app.staff_unenrolled(STAFF, Role::Admin).await;
        let id = user_id(&app, STAFF).await;
        let secret = enrolment_key(&b.get(&app.service, "/account/2fa").await);
        let now = totp_step();
        let page = b
            .submit(
                &app.service,
                "/account/2fa",
                "/account/2fa",
                &[("code", &totp::code_at(&secret, now))],
            )
            .await;
        let old = recovery_codes(&page);
        assert_eq!(old.len(), 10, "{backend:?}");
        let status = b.get(&app.service, "/account/2fa").await;
        assert!(
            status.body.contains("action=\"/account/2fa/recovery\""),
            "{}",
            status.body
        );

        // A wrong code, a recovery code, an empty one: refused by the field, nothing
        // replaced.
        for (typed, words) in [
            (totp::code_at(&secret, now + 9), "Código incorreto"),
            (old[0].clone(), "6 dígitos"),
            (String::new(), "Digite o código"),
        ] {
            let page = b
                .submit(
                    &app.service,
                    "/account/2fa",
                    "/account/2fa/recovery",
                    &[("code", &typed)],
                )
                .await;
            assert_eq!(page.status, 422, "{backend:?} {typed:?}: {}", page.body);
            assert!(page.body.contains(words), "{typed:?}: {}", page.body);
        }
        assert_eq!(
            staff_totp::recovery_codes_left(app.db(), id)
                .await
                .expect("q"),
            10
        );
        // Without the form's CSRF token: refused.
        let page = b
            .post(&app.service, "/account/2fa/recovery", &[("code", "123456")])
            .await;
        assert_eq!(page.status, 403, "{backend:?}");

        // The current code: ten new codes, shown once; the old ones are void.
        let page = b
            .submit(
                &app.service,
                "/account/2fa",
                "/account/2fa/recovery",
                &[("code", &totp::code_at(&secret, now + 1))],
            )
            .await;
        assert_eq!(page.status, 200, "{backend:?}: {}", page.body);
        let new = recovery_codes(&page);
        assert_eq!(new.len(), 10);
        assert!(new.iter().all(|c| !old.contains(c)));
        assert!(
            audit_actions(&app)
                .await
                .contains(&"account.2fa_recovery_regenerated".into())
        );
        // The same code cannot be replayed for another set.
        let page = b
            .submit(
                &app.service,
                "/account/2fa",
                "/account/2fa/recovery",
                &[("code", &totp::code_at(&secret, now + 1))],
            )
            .await;
        assert_eq!(page.status, 422, "{backend:?}: a replayed code");

        log_out(&app, &mut b).await;
        password_step(&app, &mut b).await;
        let page = type_code(&app, &mut b, &old[1]).await;
        assert_eq!(page.status, 422, "{backend:?}: an old recovery code");
        let page = type_code(&app, &mut b, &new[0]).await;
        assert_eq!(page.status, 303, "{backend:?}: a new one works");
    }
}
