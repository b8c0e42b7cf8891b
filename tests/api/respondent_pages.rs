//! The rough edges a respondent met (issue 20), through the real router on both
//! backends: the error summary names each field and links to it, "Alterar" returns to
//! the review (and not as an open redirect), one hint per multiple-choice question, the
//! home page after submitting, the readable "Meus dados" page, one time estimate, who
//! runs the study, and notices styled by their kind.

use pesquisa::db::users as user_model;

use crate::helpers::{ALL_BACKENDS, Browser, GOOD_PASSWORD, TestApp, as_refs, signup_fields};
use crate::survey::{PAGES, page_answers};

/// The entries of the page's error summary: (the `href` target without `#`, the text).
fn summary_entries(body: &str) -> Vec<(String, String)> {
    let Some(start) = body.find("class=\"error-summary\"") else {
        return Vec::new();
    };
    let rest = &body[start..];
    let end = rest.find("</ul>").unwrap_or(rest.len());
    rest[..end]
        .split("<a href=\"#")
        .skip(1)
        .map(|a| {
            let (id, after) = a.split_once('"').unwrap_or((a, ""));
            let text = after
                .split_once('>')
                .map_or("", |(_, t)| t)
                .split("</a>")
                .next()
                .unwrap_or("");
            (id.to_owned(), text.to_owned())
        })
        .collect()
}

/// Every summary entry links to an element of the page and says which field it is about.
fn assert_summary_links_resolve(body: &str, what: &str) {
    let entries = summary_entries(body);
    assert!(!entries.is_empty(), "{what}: no error summary:\n{body}");
    for (id, text) in &entries {
        assert!(
            body.contains(&format!("id=\"{id}\"")),
            "{what}: the summary links to #{id}, which is not on the page"
        );
        assert!(text.contains(": "), "{what}: \"{text}\" names no field");
    }
}

async fn user_id(app: &TestApp, email: &str) -> i64 {
    user_model::find_by_email(app.db(), email)
        .await
        .expect("q")
        .expect("user")
        .id
}

async fn save(
    b: &mut Browser,
    app: &TestApp,
    path: &str,
    fields: &[(&str, &str)],
) -> (u16, String) {
    let token = b.get(&app.service, "/survey/1").await.csrf();
    let mut all = vec![("csrf_token", token.as_str())];
    all.extend_from_slice(fields);
    let page = b.post(&app.service, path, &all).await;
    (page.status, page.location().to_owned())
}

async fn submit(b: &mut Browser, app: &TestApp) {
    let token = b.get(&app.service, "/survey/review").await.csrf();
    let page = b
        .post(&app.service, "/survey/submit", &[("csrf_token", &token)])
        .await;
    assert_eq!(page.location(), "/survey/thanks", "submitted");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_error_summary_names_each_question_or_field_and_links_to_it() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;

        // Sign-up: an invalid address and no age declaration.
        let mut visitor = Browser::default();
        let mut fields = signup_fields("nao-e-email");
        fields.retain(|(k, _)| *k != "adult");
        let page = visitor
            .submit(&app.service, "/register", "/register", &as_refs(&fields))
            .await;
        assert_eq!(page.status, 422, "{backend:?}");
        assert_summary_links_resolve(&page.body, "sign-up");
        let entries = summary_entries(&page.body);
        let email = entries.iter().find(|(id, _)| id == "email").expect("email");
        assert!(email.1.starts_with("E-mail: "), "{}", email.1);
        let adult = entries.iter().find(|(id, _)| id == "adult").expect("adult");
        assert!(adult.1.starts_with("Declaração de idade: "), "{}", adult.1);

        // Log-in with a wrong password.
        let mut b = app.signup("resumo@exemplo.com.br").await;
        let mut other = Browser::default();
        let page = app
            .login(
                &mut other,
                "resumo@exemplo.com.br",
                "senha errada de verdade",
            )
            .await;
        assert_eq!(page.status, 422, "{backend:?}: {}", page.body);
        assert_summary_links_resolve(&page.body, "log-in");

        // "Minha conta": a wrong current password.
        let page = b
            .submit(
                &app.service,
                "/account",
                "/account/password",
                &[
                    ("current_password", "nao e a senha atual"),
                    ("password", "uma senha nova bem comprida"),
                    ("password_confirm", "uma senha nova bem comprida"),
                ],
            )
            .await;
        assert_eq!(page.status, 422, "{backend:?}");
        assert_summary_links_resolve(&page.body, "account");
        assert!(
            summary_entries(&page.body)
                .iter()
                .any(|(id, t)| id == "current_password" && t.starts_with("Senha atual: ")),
            "{:?}",
            summary_entries(&page.body)
        );

        // The questionnaire: each entry names the question (cut short) and links to it.
        let token = b.get(&app.service, "/survey/1").await.csrf();
        let page = b
            .post(
                &app.service,
                "/survey/1",
                &[
                    ("csrf_token", &token),
                    ("idade", "34"),
                    ("moradores", "muitos"),
                ],
            )
            .await;
        assert_eq!(page.status, 422, "{backend:?}");
        assert_summary_links_resolve(&page.body, "page 1");
        let entries = summary_entries(&page.body);
        let moradores = entries
            .iter()
            .find(|(id, _)| id == "moradores")
            .expect("moradores in the summary");
        assert!(
            moradores
                .1
                .starts_with("Quantas pessoas moram no seu domicílio…: "),
            "{}",
            moradores.1
        );
        assert!(
            entries
                .iter()
                .any(|(id, t)| id.starts_with("renda_familiar-")
                    && t.starts_with("Qual é a renda mensal total do seu…: ")),
            "{entries:?}"
        );
        // A multiple-choice question links to its first box (the options are shuffled per
        // respondent, so which one depends on the account; the link must resolve).
        for n in 1..=3 {
            let path = format!("/survey/{n}");
            assert_eq!(save(&mut b, &app, &path, &page_answers(n)).await.0, 303);
        }
        let token = b.get(&app.service, "/survey/1").await.csrf();
        let page = b
            .post(
                &app.service,
                "/survey/4",
                &[("csrf_token", &token), ("distancia_supermercado", "1a2km")],
            )
            .await;
        assert_eq!(page.status, 422, "{backend:?}");
        assert_summary_links_resolve(&page.body, "page 4");
        assert!(
            summary_entries(&page.body)
                .iter()
                .any(|(id, t)| id.starts_with("fatores_escolha-")
                    && t.starts_with("O que mais pesa na sua escolha de…: ")),
            "{:?}",
            summary_entries(&page.body)
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn alterar_from_the_review_returns_there_and_cannot_redirect_elsewhere() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let mut b = app.signup("alterar@exemplo.com.br").await;
        for n in 1..=PAGES {
            let path = format!("/survey/{n}");
            assert_eq!(save(&mut b, &app, &path, &page_answers(n)).await.0, 303);
        }
        submit(&mut b, &app).await;
        let review = b.get(&app.service, "/survey/review").await;
        assert!(
            review.body.contains("href=\"/survey/5?voltar=revisao\""),
            "{backend:?}: the review's \"Alterar\" links return"
        );
        let page = b.get(&app.service, "/survey/5?voltar=revisao").await;
        assert!(page.body.contains("action=\"/survey/5?voltar=revisao\""));
        assert!(page.body.contains("Salvar e voltar à revisão"));
        let changed = [
            ("valor_compra", "ate_100"),
            ("gasto_mensal", "ate_300"),
            ("gasto_bairro", "ate_100"),
        ];
        let (status, to) = save(&mut b, &app, "/survey/5?voltar=revisao", &changed).await;
        assert_eq!(
            (status, to.as_str()),
            (303, "/survey/review"),
            "{backend:?}"
        );
        // Any other value is no return target: the page goes on as usual.
        for evil in [
            "https://evil.example",
            "//evil.example/survey/review",
            "/survey/review",
            "revisao2",
        ] {
            let path = format!(
                "/survey/5?voltar={}",
                url::form_urlencoded::byte_serialize(evil.as_bytes()).collect::<String>()
            );
            let (status, to) = save(&mut b, &app, &path, &changed).await;
            assert_eq!(
                (status, to.as_str()),
                (303, "/survey/6"),
                "{backend:?} {evil}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_from_the_review_that_asks_new_questions_goes_to_them_first() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let mut b = app.signup("novas@exemplo.com.br").await;
        // A non-shopper: pages 4 and the spend questions of page 5 are not asked.
        for n in 1..=PAGES {
            let path = format!("/survey/{n}");
            let fields = match n {
                3 => vec![("frequencia_supermercado", "nao_compro")],
                4 => continue,
                5 => vec![("gasto_bairro", "ate_100")],
                _ => page_answers(n),
            };
            assert_eq!(save(&mut b, &app, &path, &fields).await.0, 303, "page {n}");
        }
        submit(&mut b, &app).await;
        // Now a shopper after all: page 4 and the spend questions become required.
        let (status, to) = save(
            &mut b,
            &app,
            "/survey/3?voltar=revisao",
            &[("frequencia_supermercado", "1x")],
        )
        .await;
        assert_eq!(
            (status, to.as_str()),
            (303, "/survey/4?voltar=revisao"),
            "{backend:?}"
        );
        let (_, to) = save(&mut b, &app, &to, &page_answers(4)).await;
        assert_eq!(
            to, "/survey/5?voltar=revisao",
            "{backend:?}: page 5 asks more now"
        );
        let (_, to) = save(&mut b, &app, &to, &page_answers(5)).await;
        assert_eq!(to, "/survey/review", "{backend:?}");
        let review = b.get(&app.service, "/survey/review").await;
        assert!(
            review.body.contains("action=\"/survey/submit\""),
            "complete again"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_multiple_choice_question_has_one_hint() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let mut b = app.signup("dica@exemplo.com.br").await;
        for n in 1..=3 {
            let path = format!("/survey/{n}");
            assert_eq!(save(&mut b, &app, &path, &page_answers(n)).await.0, 303);
        }
        let page = b.get(&app.service, "/survey/4").await;
        assert_eq!(page.status, 200);
        assert_eq!(
            page.body.matches("Marque até 3 opções.").count(),
            1,
            "{backend:?}"
        );
        assert_eq!(page.body.matches(" opções.").count(), 1, "{}", page.body);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_home_page_leads_to_the_answers_once_submitted() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let mut b = app.signup("inicio@exemplo.com.br").await;
        let home = b.get(&app.service, "/").await;
        assert!(
            home.body.contains("Responder o questionário"),
            "{backend:?}"
        );
        assert_eq!(
            save(&mut b, &app, "/survey/1", &page_answers(1)).await.0,
            303
        );
        let home = b.get(&app.service, "/").await;
        assert!(
            home.body.contains("Continuar o questionário"),
            "{backend:?}"
        );
        for n in 2..=PAGES {
            let path = format!("/survey/{n}");
            assert_eq!(save(&mut b, &app, &path, &page_answers(n)).await.0, 303);
        }
        submit(&mut b, &app).await;
        let home = b.get(&app.service, "/").await;
        assert!(
            !home.body.contains("Continuar o questionário"),
            "{backend:?}"
        );
        assert!(
            home.body.contains(
                "<a class=\"button\" href=\"/survey/review\">Ver ou alterar minhas respostas</a>"
            ),
            "{}",
            home.body
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn meus_dados_shows_ones_own_data_in_words_and_local_time() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        // Someone else's data must never appear.
        let mut other = app.signup("outra.pessoa@exemplo.com.br").await;
        assert_eq!(
            save(
                &mut other,
                &app,
                "/survey/1",
                &[
                    ("idade", "77"),
                    ("moradores", "9"),
                    ("renda_familiar", "ate_2sm")
                ]
            )
            .await
            .0,
            303
        );

        let anonymous = Browser::default()
            .get(&app.service, "/account/data/html")
            .await;
        assert_eq!(anonymous.status, 303, "{backend:?}");
        assert!(anonymous.location().starts_with("/login?next="));

        let mut b = app.signup("meus.dados@exemplo.com.br").await;
        let empty = b.get(&app.service, "/account/data/html").await;
        assert_eq!(empty.status, 200, "{backend:?}");
        assert!(
            empty
                .body
                .contains("Você ainda não respondeu ao questionário.")
        );
        for n in 1..=PAGES {
            let path = format!("/survey/{n}");
            assert_eq!(save(&mut b, &app, &path, &page_answers(n)).await.0, 303);
        }
        submit(&mut b, &app).await;
        let account = b.get(&app.service, "/account").await;
        assert!(account.body.contains("href=\"/account/data/html\""));
        let page = b.get(&app.service, "/account/data/html").await;
        assert_eq!(page.status, 200, "{backend:?}");
        assert_eq!(
            page.headers
                .get("cache-control")
                .and_then(|v| v.to_str().ok()),
            Some("no-store")
        );
        let body = &page.body;
        for want in [
            "meus.dados@exemplo.com.br",
            "Ana",
            "Souza",
            "JARDIM SÃO JOSÉ",
            // Questions and answers in words, not codes.
            "Quantas pessoas moram no seu domicílio, incluindo você?",
            "De 2 a 4 salários mínimos",
            "Preço",
            "Proximidade de casa",
            // Consents, with the document's title.
            "Aceito em",
            "Enviado em",
        ] {
            assert!(
                body.contains(want),
                "{backend:?}: \"{want}\" missing:\n{body}"
            );
        }
        for code in [
            "2a4sm",
            "4x_ou_mais",
            "proximidade<",
            "outra.pessoa",
            ">77<",
        ] {
            assert!(!body.contains(code), "{backend:?}: \"{code}\" shown");
        }
        // Times in the study's time zone, as the rest of the site writes them.
        let user = user_model::find(app.db(), user_id(&app, "meus.dados@exemplo.com.br").await)
            .await
            .expect("q")
            .expect("user");
        let zone = app.state.settings.survey.zone();
        let created = zone.datetime(user.created_at, false);
        assert!(created.contains("UTC"), "{created}");
        assert!(body.contains(&created), "{backend:?}: {created} missing");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_page_states_the_questionnaires_one_time_estimate() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let minutes = app.state.survey.minutes();
        let phrase = format!("cerca de {minutes} minutos");
        let mut visitor = Browser::default();
        let mut b = app.signup("tempo@exemplo.com.br").await;
        let pages = [
            ("/", visitor.get(&app.service, "/").await.body),
            (
                "/register",
                visitor.get(&app.service, "/register").await.body,
            ),
            ("/survey/1", b.get(&app.service, "/survey/1").await.body),
        ];
        for (path, body) in &pages {
            assert!(
                body.contains(&phrase),
                "{backend:?} {path}: no \"{phrase}\""
            );
            // No other number of minutes anywhere on the page.
            for (i, _) in body.match_indices(" minutos") {
                let before: String = body[..i]
                    .chars()
                    .rev()
                    .take_while(char::is_ascii_digit)
                    .collect();
                assert_eq!(
                    before.chars().rev().collect::<String>(),
                    minutes.to_string(),
                    "{backend:?} {path}: another estimate"
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_home_page_and_the_privacy_policy_name_who_runs_the_study() {
    let controller = "Instituto Paulista de Pesquisas de Mercado Ltda";
    let contact = "privacidade@instituto-pesquisas.com.br";
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn_with(backend, |s| {
            s.accounts.controller = controller.into();
            s.accounts.privacy_contact = contact.into();
        })
        .await;
        let mut visitor = Browser::default();
        let home = visitor.get(&app.service, "/").await;
        assert!(home.body.contains(controller), "{backend:?}");
        assert!(
            home.body.contains(&format!("href=\"mailto:{contact}\"")),
            "{backend:?}: the contact is a link"
        );
        // LGPD art. 9: the privacy policy, read before signing up, names the controller.
        let register = visitor.get(&app.service, "/register").await;
        let policy = register
            .body
            .split("Controlador dos dados")
            .nth(1)
            .unwrap_or_else(|| panic!("{backend:?}: no controller in the policy"));
        assert!(policy.contains(controller), "{backend:?}");
        assert!(register.body.contains(contact), "{backend:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_session_is_a_warning_and_a_log_out_a_success() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let mut b = app.signup("aviso@exemplo.com.br").await;
        let id = user_id(&app, "aviso@exemplo.com.br").await;
        let token = b.get(&app.service, "/survey/1").await.csrf();
        pesquisa::web::session::end_all_for_user(&app.state.kv, id, None)
            .await
            .expect("end");
        let page = b
            .post(
                &app.service,
                "/survey/1",
                &[("csrf_token", &token), ("idade", "41")],
            )
            .await;
        let login = b.get(&app.service, page.location()).await;
        let notice = login
            .body
            .split("<p class=\"notice warning\" role=\"status\">")
            .nth(1)
            .unwrap_or_else(|| panic!("{backend:?}: no warning notice:\n{}", login.body));
        assert!(notice.contains("Atenção:") && notice.contains("Sua sessão expirou"));
        assert!(!login.body.contains("notice ok"), "{backend:?}");

        app.login(&mut b, "aviso@exemplo.com.br", GOOD_PASSWORD)
            .await;
        let token = b.get(&app.service, "/account").await.csrf();
        let out = b
            .post(&app.service, "/logout", &[("csrf_token", &token)])
            .await;
        let home = b.get(&app.service, out.location()).await;
        let notice = home
            .body
            .split("<p class=\"notice ok\" role=\"status\">")
            .nth(1)
            .unwrap_or_else(|| panic!("{backend:?}: no success notice:\n{}", home.body));
        assert!(notice.contains("Pronto:") && notice.contains("Você saiu da sua conta."));
    }
}

/// The `href` targets of the page's error summary, in order.
fn summary_order(body: &str) -> Vec<String> {
    summary_entries(body)
        .into_iter()
        .map(|(id, _)| id)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_error_summary_follows_the_order_of_the_form() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;

        // Sign-up: every field refused; the summary reads as the form does, the address
        // between the names and the telephone, a mismatched password by its confirmation,
        // the two declarations last.
        let mut visitor = Browser::default();
        let mut fields = signup_fields("nao-e-email");
        for (k, v) in fields.iter_mut() {
            match *k {
                "nome" | "sobrenome" | "bairro" => v.clear(),
                "telefone" => *v = "123".into(),
                "password_confirm" => *v = "outra senha bem comprida".into(),
                _ => {}
            }
        }
        fields.retain(|(k, _)| *k != "adult" && *k != "accept_terms");
        let page = visitor
            .submit(&app.service, "/register", "/register", &as_refs(&fields))
            .await;
        assert_eq!(page.status, 422, "{backend:?}");
        assert_eq!(
            summary_order(&page.body),
            [
                "nome",
                "sobrenome",
                "email",
                "telefone",
                "bairro",
                "password_confirm",
                "adult",
                "accept_terms"
            ],
            "{backend:?}: sign-up"
        );

        // "Minha conta": the profile's fields in the same order.
        let mut b = app.signup("ordem@exemplo.com.br").await;
        let page = b
            .submit(
                &app.service,
                "/account",
                "/account/profile",
                &[
                    ("nome", ""),
                    ("sobrenome", ""),
                    ("telefone", "123"),
                    ("bairro", "NENHUM"),
                ],
            )
            .await;
        assert_eq!(page.status, 422, "{backend:?}");
        assert_eq!(
            summary_order(&page.body),
            ["nome", "sobrenome", "telefone", "bairro"],
            "{backend:?}: profile"
        );

        // A new password typed twice differently is refused by its confirmation there too.
        let page = b
            .submit(
                &app.service,
                "/account",
                "/account/password",
                &[
                    ("current_password", GOOD_PASSWORD),
                    ("password", "uma senha nova bem comprida"),
                    ("password_confirm", "outra senha nova bem comprida"),
                ],
            )
            .await;
        assert_eq!(page.status, 422, "{backend:?}");
        assert_eq!(
            summary_order(&page.body),
            ["password_confirm"],
            "{backend:?}: password"
        );
    }
}
