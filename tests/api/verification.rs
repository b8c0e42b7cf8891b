//! E-mail verification, sign-up without a password, e-mail change and the notices mailed
//! on account changes, read from the outbox (the in-process app runs no mail worker).

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use pesquisa::accounts::Role;
use pesquisa::db::schema::{email_tokens, users};
use pesquisa::db::users as user_model;

use crate::helpers::{
    ALL_BACKENDS, Backend, Browser, GOOD_PASSWORD, Page, TestApp, as_refs, signup_fields,
};
use crate::survey::page_answers;

async fn count_users(app: &TestApp) -> i64 {
    let count = async || -> Result<i64, pesquisa::db::DbError> {
        pesquisa::with_conn!(app.db(), |conn| Ok(users::table
            .count()
            .get_result::<i64>(conn)
            .await?))
    };
    count().await.expect("count")
}

/// Every e-mail token expired a second ago.
async fn expire_tokens(app: &TestApp) {
    let expire = async || -> Result<(), pesquisa::db::DbError> {
        pesquisa::with_conn!(app.db(), |conn| {
            diesel::update(email_tokens::table)
                .set(email_tokens::expires_at.eq(user_model::now() - chrono::Duration::seconds(1)))
                .execute(conn)
                .await?;
            Ok(())
        })
    };
    expire().await.expect("expire");
}

async fn user(app: &TestApp, email: &str) -> user_model::User {
    user_model::find_by_email(app.db(), email)
        .await
        .expect("query")
        .expect("user")
}

/// Submit the sign-up form from a fresh browser at `ip`.
async fn sign_up(app: &TestApp, ip: &str, fields: &[(&'static str, String)]) -> (Browser, Page) {
    let mut b = Browser::from_ip(ip);
    let page = b
        .submit(&app.service, "/register", "/register", &as_refs(fields))
        .await;
    (b, page)
}

fn kinds(mails: &[pesquisa::db::outbox::Queued]) -> Vec<&str> {
    mails.iter().map(|m| m.kind.as_str()).collect()
}

/// Issue 16, finding 8 (last item): sign-up must not reveal whether an e-mail is
/// registered. The page, its status and its cookies are the same for a new and a taken
/// address; only the owner learns, by mail, and at most three times an hour.
#[tokio::test(flavor = "multi_thread")]
async fn sign_up_does_not_reveal_whether_an_email_is_registered() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        app.signup("dona@exemplo.com.br").await;
        let owner_hash = user(&app, "dona@exemplo.com.br").await.password_hash;
        let before = count_users(&app).await;

        let (mut fresh_b, fresh) = sign_up(
            &app,
            "203.0.113.20",
            &signup_fields("novata@exemplo.com.br"),
        )
        .await;
        let mut other = signup_fields("DONA@Exemplo.com.br");
        for f in other.iter_mut() {
            if f.0 == "nome" {
                f.1 = "Intrusa".into();
            }
            if f.0 == "password" || f.0 == "password_confirm" {
                f.1 = "outra senha bem comprida".into();
            }
        }
        let (mut taken_b, taken) = sign_up(&app, "203.0.113.21", &other).await;
        assert_eq!(
            (fresh.status, fresh.location()),
            (taken.status, taken.location()),
            "{backend:?}"
        );
        assert_eq!(taken.location(), "/register/sent");
        assert_eq!(fresh_b.session_cookie(), None);
        assert_eq!(taken_b.session_cookie(), None);
        let a = fresh_b.get(&app.service, "/register/sent").await;
        let b = taken_b.get(&app.service, "/register/sent").await;
        assert_eq!(a.status, 200);
        assert_eq!(a.body, b.body, "{backend:?}: the same page either way");
        assert!(!b.body.contains("dona@"), "the address is not shown");

        assert_eq!(count_users(&app).await, before + 1, "only the new one");
        let owner = user(&app, "dona@exemplo.com.br").await;
        assert_eq!(
            owner.password_hash, owner_hash,
            "the owner's account untouched"
        );
        assert_eq!(owner.nome, "Ana");
        let mails = app.mail_to("dona@exemplo.com.br").await;
        assert_eq!(kinds(&mails), ["verify_email", "already_registered"]);
        let told = &mails[1];
        assert!(told.body_text.contains("/login") && told.body_text.contains("/password/forgot"));
        assert_eq!(
            kinds(&app.mail_to("novata@exemplo.com.br").await),
            ["verify_email"]
        );

        // Repeated attempts cannot flood the owner's mailbox: 3 an hour.
        for i in 0..4 {
            let (_, page) = sign_up(&app, &format!("203.0.113.{}", 30 + i), &other).await;
            assert_eq!(page.location(), "/register/sent");
        }
        let told = app
            .mail_to("dona@exemplo.com.br")
            .await
            .into_iter()
            .filter(|m| m.kind == "already_registered")
            .count();
        assert_eq!(told, 3, "{backend:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_verification_link_is_single_use_survives_prefetch_and_expires() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let email = "link@exemplo.com.br";
        let (mut b, page) = sign_up(&app, "203.0.113.40", &signup_fields(email)).await;
        assert_eq!(page.status, 303);
        let mail = app.last_mail(email, "verify_email").await;
        assert!(mail.body_text.contains("24 horas"), "{}", mail.body_text);
        let link = app.mail_link(email, "verify_email").await;
        assert!(link.starts_with("/verify?token="), "{link}");

        // A mail scanner fetching the link spends nothing and logs nobody in.
        let mut scanner = Browser::from_ip("198.51.100.9");
        for _ in 0..2 {
            let page = scanner.get(&app.service, &link).await;
            assert_eq!(page.status, 200);
            assert_eq!(page.headers["referrer-policy"], "strict-origin");
        }
        assert_eq!(scanner.session_cookie(), None);
        assert!(user(&app, email).await.email_verified_at.is_none());

        let page = app.follow_verification(&mut b, email).await;
        assert_eq!(page.location(), "/survey");
        assert!(user(&app, email).await.email_verified_at.is_some());
        let survey = b.get(&app.service, "/survey/1").await;
        assert!(survey.body.contains("E-mail confirmado"), "{}", survey.body);
        assert!(!survey.body.contains("Confirme seu e-mail"));

        // Spent: a second use is refused and changes nothing.
        let token = link.split("token=").nth(1).unwrap().to_string();
        let mut again = Browser::from_ip("198.51.100.10");
        let page = again
            .submit(&app.service, &link, "/verify", &[("token", &token)])
            .await;
        assert_eq!(page.status, 410, "{backend:?}");
        assert!(page.body.contains("não vale mais"));
        assert_eq!(again.session_cookie(), None);

        // Malformed tokens are refused before any look-up.
        for bad in ["", "abc", &"g".repeat(64)] {
            let page = again
                .get(&app.service, &format!("/verify?token={bad}"))
                .await;
            assert_eq!(page.status, 410);
        }

        // An expired link (24 h) is refused.
        let late = "atrasada@exemplo.com.br";
        let (mut lb, _) = sign_up(&app, "203.0.113.41", &signup_fields(late)).await;
        let link = app.mail_link(late, "verify_email").await;
        expire_tokens(&app).await;
        let token = link.split("token=").nth(1).unwrap().to_string();
        let page = lb
            .submit(&app.service, &link, "/verify", &[("token", &token)])
            .await;
        assert_eq!(page.status, 410);
        assert!(user(&app, late).await.email_verified_at.is_none());
        assert_eq!(lb.session_cookie(), None);
    }
}

/// An unverified respondent may log in and answer; the response counts in the results only
/// once the address is verified (`accounts.require_verified_email`), and the resend button
/// is limited.
#[tokio::test(flavor = "multi_thread")]
async fn unverified_answers_count_only_after_verification_and_resend_is_limited() {
    for backend in ALL_BACKENDS {
        let app =
            TestApp::spawn_with(backend, |s| s.accounts.require_verified_email = Some(true)).await;
        let mut verified = app.signup("verificada@exemplo.com.br").await;
        let pending = "pendente@exemplo.com.br";
        let (mut p, _) = sign_up(&app, "203.0.113.50", &signup_fields(pending)).await;
        let page = app.login(&mut p, pending, GOOD_PASSWORD).await;
        assert_eq!(page.status, 303, "a password logs in before verification");
        let page = p.get(&app.service, "/survey/1").await;
        assert!(page.body.contains("Confirme seu e-mail"), "{}", page.body);
        for b in [&mut verified, &mut p] {
            let page = b
                .submit(&app.service, "/survey/1", "/survey/1", &page_answers(1))
                .await;
            assert_eq!(page.status, 303, "{}", page.body);
        }
        let mut analyst = app.staff("analista@exemplo.com.br", Role::Analyst).await;
        let rows = |csv: &str| csv.lines().count() - 1;
        let csv = analyst
            .get(&app.service, "/admin/results/respostas.csv")
            .await;
        assert_eq!(
            rows(&csv.body),
            1,
            "{backend:?}: only the verified one\n{}",
            csv.body
        );

        // Resend: the sign-up mail and two more in the hour, then a message instead.
        for _ in 0..3 {
            let token = p.get(&app.service, "/account").await.csrf();
            let page = p
                .post(&app.service, "/verify/resend", &[("csrf_token", &token)])
                .await;
            assert_eq!(page.status, 303);
        }
        let page = p.get(&app.service, "/account").await;
        assert!(page.body.contains("várias mensagens"), "{}", page.body);
        let sent = app
            .mail_to(pending)
            .await
            .into_iter()
            .filter(|m| m.kind == "verify_email")
            .count();
        assert_eq!(sent, 3, "{backend:?}");
        // Only the newest link works; following it counts the response.
        app.follow_verification(&mut p, pending).await;
        assert!(user(&app, pending).await.email_verified_at.is_some());
        let csv = pesquisa::export::export(
            app.db(),
            &app.state.survey,
            &app.state.session_key,
            &pesquisa::export::ExportOptions {
                filters: pesquisa::export::Filters {
                    verified_only: true,
                    ..Default::default()
                },
                ..Default::default()
            },
            Vec::new(),
        )
        .await
        .expect("export")
        .1;
        assert_eq!(rows(&String::from_utf8(csv).unwrap()), 2);
        // Resending to a verified account sends nothing more.
        let token = p.get(&app.service, "/account").await.csrf();
        p.post(&app.service, "/verify/resend", &[("csrf_token", &token)])
            .await;
        assert_eq!(app.mail_to(pending).await.len(), 3);
    }
}

/// Sign-up may skip the password: the link is the way in, no password ever matches the
/// account, and the account page lets the person set one or delete the account without.
#[tokio::test(flavor = "multi_thread")]
async fn sign_up_without_a_password_signs_in_by_the_link() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let email = "semsenha@exemplo.com.br";
        let fields: Vec<(&'static str, String)> = signup_fields(email)
            .into_iter()
            .filter(|(k, _)| !k.starts_with("password"))
            .collect();
        let (mut b, page) = sign_up(&app, "203.0.113.60", &fields).await;
        assert_eq!(page.status, 303, "{}", page.body);
        assert_eq!(user(&app, email).await.password_hash, "");

        // Only one of the two password fields is a mistake, shown by the field.
        let mut half = fields.clone();
        half.push(("password", GOOD_PASSWORD.into()));
        let (_, page) = sign_up(&app, "203.0.113.61", &half).await;
        assert_eq!(page.status, 422);
        assert!(page.body.contains("id=\"password_confirm-erro\""));

        // No password logs in: not an empty one, not any other.
        for pw in ["", GOOD_PASSWORD] {
            let mut other = Browser::from_ip("203.0.113.62");
            let page = app.login(&mut other, email, pw).await;
            assert_eq!(page.status, 422, "{backend:?} {pw:?}");
        }

        app.follow_verification(&mut b, email).await;
        let page = b.get(&app.service, "/account").await;
        assert!(page.body.contains("não tem senha"), "{}", page.body);
        assert!(!page.body.contains("name=\"current_password\""));
        let token = page.csrf();
        let page = b
            .post(
                &app.service,
                "/account/password",
                &[
                    ("csrf_token", &token),
                    ("password", GOOD_PASSWORD),
                    ("password_confirm", GOOD_PASSWORD),
                ],
            )
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        assert!(user(&app, email).await.has_password());
        assert_eq!(
            kinds(&app.mail_to(email).await),
            ["verify_email", "password_changed_notice"]
        );

        // Deleting an account without a password: typing its address confirms.
        let other = "apagar@exemplo.com.br";
        let fields: Vec<(&'static str, String)> = signup_fields(other)
            .into_iter()
            .filter(|(k, _)| !k.starts_with("password"))
            .collect();
        let (mut d, _) = sign_up(&app, "203.0.113.63", &fields).await;
        app.follow_verification(&mut d, other).await;
        let token = d.get(&app.service, "/account").await.csrf();
        let page = d
            .post(
                &app.service,
                "/account/delete",
                &[
                    ("csrf_token", &token),
                    ("delete_email", "outra@exemplo.com.br"),
                ],
            )
            .await;
        assert_eq!(page.status, 422);
        assert!(page.body.contains("id=\"delete_email-erro\""));
        let page = d
            .post(
                &app.service,
                "/account/delete",
                &[
                    ("csrf_token", &token),
                    ("delete_email", "APAGAR@exemplo.com.br"),
                ],
            )
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        assert!(
            user_model::find_by_email(app.db(), other)
                .await
                .expect("q")
                .is_none()
        );
        // The verification mail still unsent is cancelled with the account; the notice
        // of the deletion goes out.
        assert_eq!(kinds(&app.mail_to(other).await), ["account_deleted_notice"]);
    }
}

/// E-mail change (LGPD rectification): the password is asked, the new address gets a
/// link, the change happens only when it is followed, and the old address is told.
#[tokio::test(flavor = "multi_thread")]
async fn an_email_change_needs_the_new_address_link_and_tells_the_old_one() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let old = "antigo@exemplo.com.br";
        let new = "novo@exemplo.com.br";
        let mut b = app.signup(old).await;
        app.signup("ocupado@exemplo.com.br").await;

        let token = b.get(&app.service, "/account").await.csrf();
        let change = |email: &'static str, pw: &'static str| {
            vec![
                ("csrf_token", token.clone()),
                ("new_email", email.to_string()),
                ("email_password", pw.to_string()),
            ]
        };
        let page = b
            .post(
                &app.service,
                "/account/email",
                &as_refs(&change(new, "senha errada demais")),
            )
            .await;
        assert_eq!(page.status, 422);
        assert!(page.body.contains("id=\"email_password-erro\""));
        assert!(
            page.body.contains("value=\"novo@exemplo.com.br\""),
            "typed value kept"
        );
        let page = b
            .post(
                &app.service,
                "/account/email",
                &as_refs(&change("sem-arroba", GOOD_PASSWORD)),
            )
            .await;
        assert_eq!(page.status, 422);
        assert!(page.body.contains("id=\"new_email-erro\""));
        assert!(app.mail_to(new).await.is_empty());

        let page = b
            .post(
                &app.service,
                "/account/email",
                &as_refs(&change(new, GOOD_PASSWORD)),
            )
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        assert_eq!(
            user(&app, old).await.email,
            old,
            "nothing changes before the link"
        );
        let link = app.mail_link(new, "email_change").await;
        assert!(link.starts_with("/email/confirm?token="));
        let tok = link.split("token=").nth(1).unwrap().to_string();
        // Followed from another device (the phone's mail app): no session needed.
        let mut phone = Browser::from_ip("198.51.100.20");
        let page = phone
            .submit(&app.service, &link, "/email/confirm", &[("token", &tok)])
            .await;
        assert_eq!(page.status, 303, "{backend:?} {}", page.body);
        let moved = user(&app, new).await;
        assert!(moved.email_verified_at.is_some());
        assert!(
            user_model::find_by_email(app.db(), old)
                .await
                .expect("q")
                .is_none()
        );
        assert_eq!(
            kinds(&app.mail_to(old).await),
            ["verify_email", "email_changed_notice"]
        );
        // The link works once.
        let page = phone
            .submit(&app.service, &link, "/email/confirm", &[("token", &tok)])
            .await;
        assert_eq!(page.status, 410);
        // Logging in takes the new address.
        let mut again = Browser::from_ip("198.51.100.21");
        assert_eq!(app.login(&mut again, new, GOOD_PASSWORD).await.status, 303);

        // A verification link mailed to the old address, never followed, proves nothing
        // about the new one.
        let never = "nunca@exemplo.com.br";
        let (mut n, _) = sign_up(&app, "203.0.113.70", &signup_fields(never)).await;
        assert_eq!(app.login(&mut n, never, GOOD_PASSWORD).await.status, 303);
        let stale = app.mail_link(never, "verify_email").await;
        let token = n.get(&app.service, "/account").await.csrf();
        n.post(
            &app.service,
            "/account/email",
            &[
                ("csrf_token", token.as_str()),
                ("new_email", "renovado@exemplo.com.br"),
                ("email_password", GOOD_PASSWORD),
            ],
        )
        .await;
        let link = app
            .mail_link("renovado@exemplo.com.br", "email_change")
            .await;
        let tok = link.split("token=").nth(1).unwrap().to_string();
        let page = n
            .submit(&app.service, &link, "/email/confirm", &[("token", &tok)])
            .await;
        assert_eq!(page.status, 303);
        let renewed = user(&app, "renovado@exemplo.com.br").await;
        let verified_at = renewed.email_verified_at;
        let tok = stale.split("token=").nth(1).unwrap().to_string();
        let page = n
            .submit(&app.service, &stale, "/verify", &[("token", &tok)])
            .await;
        assert_eq!(page.status, 410, "{backend:?}");
        assert_eq!(
            user(&app, "renovado@exemplo.com.br")
                .await
                .email_verified_at,
            verified_at
        );

        // A new address that another account took meanwhile: refused, nothing changes.
        let token = b.get(&app.service, "/account").await.csrf();
        let page = b
            .post(
                &app.service,
                "/account/email",
                &[
                    ("csrf_token", token.as_str()),
                    ("new_email", "ocupado@exemplo.com.br"),
                    ("email_password", GOOD_PASSWORD),
                ],
            )
            .await;
        assert_eq!(page.status, 303, "the request reveals nothing");
        let link = app
            .mail_link("ocupado@exemplo.com.br", "email_change")
            .await;
        let tok = link.split("token=").nth(1).unwrap().to_string();
        let page = phone
            .submit(&app.service, &link, "/email/confirm", &[("token", &tok)])
            .await;
        assert_eq!(page.status, 409);
        assert_eq!(user(&app, new).await.id, moved.id, "still the new address");
    }
}

/// Verifying while the session store is down still verifies and sends the person to log
/// in, instead of an error page that hides it.
#[tokio::test(flavor = "multi_thread")]
async fn a_verification_whose_session_cannot_be_stored_sends_the_person_to_log_in() {
    let port = crate::helpers::free_port();
    // A Redis that takes the rate-limit counters but refuses to store sessions.
    let _redis = crate::helpers::PrivateRedis::start_with(
        port,
        &[
            "--user",
            "app",
            "on",
            ">senha-app",
            "resetkeys",
            "~*:rl:*",
            "%R~*",
            "+@all",
            "--user",
            "default",
            "off",
        ],
    );
    let app = TestApp::spawn_with(Backend::MariaRedis, |s| {
        s.redis.url = Some(format!("redis://app:senha-app@127.0.0.1:{port}"));
    })
    .await;
    let email = "sem.sessao@exemplo.com.br";
    let (mut b, page) = sign_up(&app, "203.0.113.90", &signup_fields(email)).await;
    assert_eq!(page.status, 303, "{}", page.body);
    let link = app.mail_link(email, "verify_email").await;
    let tok = link.split("token=").nth(1).unwrap().to_string();
    let page = b
        .submit(&app.service, &link, "/verify", &[("token", &tok)])
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.location(), "/login");
    assert!(user(&app, email).await.email_verified_at.is_some());
    assert_eq!(b.session_cookie(), None, "no session that was never stored");
    let login = b.get(&app.service, "/login").await;
    assert!(login.body.contains("E-mail confirmado"), "{}", login.body);
}

/// An account without a password proves its owner only at sign-in: sixteen minutes
/// later, its session can no longer move it to another address or give it a password,
/// and the page offers to sign in again (and come back).
#[tokio::test(flavor = "multi_thread")]
async fn a_password_less_account_needs_a_recent_sign_in_to_change_its_address_or_password() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let email = "antiga@exemplo.com.br";
        let fields: Vec<(&'static str, String)> = signup_fields(email)
            .into_iter()
            .filter(|(k, _)| !k.starts_with("password"))
            .collect();
        let (mut b, page) = sign_up(&app, "203.0.113.70", &fields).await;
        assert_eq!(page.status, 303, "{}", page.body);
        app.follow_verification(&mut b, email).await;
        let page = b.get(&app.service, "/account").await;
        assert!(page.body.contains("15 minutos"), "{}", page.body);
        assert!(page.body.contains("action=\"/account/sign-in-again\""));

        app.age_session(&b, 16 * 60).await;
        let before = app.mail_to("nova@exemplo.com.br").await.len();
        let page = b
            .submit(
                &app.service,
                "/account",
                "/account/email",
                &[("new_email", "nova@exemplo.com.br")],
            )
            .await;
        assert_eq!(page.status, 422, "{backend:?}: {}", page.body);
        assert!(page.body.contains("id=\"new_email-erro\""), "{}", page.body);
        assert!(page.body.contains("entre de novo"), "{}", page.body);
        assert_eq!(
            app.mail_to("nova@exemplo.com.br").await.len(),
            before,
            "no link sent"
        );
        let page = b
            .submit(
                &app.service,
                "/account",
                "/account/password",
                &[
                    ("password", GOOD_PASSWORD),
                    ("password_confirm", GOOD_PASSWORD),
                ],
            )
            .await;
        assert_eq!(page.status, 422, "{backend:?}: {}", page.body);
        assert!(page.body.contains("id=\"password-erro\""), "{}", page.body);
        assert!(!user(&app, email).await.has_password(), "no password set");

        // Signing in again starts from the log-in page and comes back to the account.
        let page = b
            .submit(&app.service, "/account", "/account/sign-in-again", &[])
            .await;
        assert_eq!(page.status, 303, "{backend:?}");
        assert_eq!(page.location(), "/login?next=%2Faccount");
        assert_eq!(
            b.get(&app.service, "/account").await.status,
            303,
            "logged out"
        );
    }
}

/// Staff accounts, made by an administrator, are not reminded to confirm their address:
/// the reminder is about a respondent's answers counting.
#[tokio::test(flavor = "multi_thread")]
async fn staff_made_by_an_administrator_see_no_confirm_your_email_banner() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn_with(backend, |s| {
            s.accounts.require_verified_email = Some(true);
            s.accounts.staff_require_2fa = false;
        })
        .await;
        let mut b = app
            .staff_unenrolled("analista.nova@exemplo.com.br", Role::Analyst)
            .await;
        let page = b.get(&app.service, "/admin/results").await;
        assert_eq!(page.status, 200, "{backend:?}: {}", page.body);
        assert!(!page.body.contains("Confirme seu e-mail:"), "{}", page.body);
        // A respondent who has not confirmed still is.
        let pending = "ainda.pendente@exemplo.com.br";
        let (mut p, _) = sign_up(&app, "203.0.113.80", &signup_fields(pending)).await;
        app.login(&mut p, pending, GOOD_PASSWORD).await;
        let page = p.get(&app.service, "/account").await;
        assert!(page.body.contains("Confirme seu e-mail:"), "{}", page.body);
    }
}
