//! The questionnaire through the real router: validation of every rule, save and resume
//! across sessions, review and submit, edit after submit, the closed survey, answers
//! rescued after a session expires, and one response per respondent under concurrency.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use pesquisa::db::schema::responses;
use pesquisa::db::{DbError, DbPool, responses as response_model, users as user_model};
use pesquisa::survey::AnswerValue;
use pesquisa::with_conn;

use crate::helpers::{ALL_BACKENDS, Backend, Browser, GOOD_PASSWORD, TestApp};

/// Number of pages of the shipped questionnaire.
pub const PAGES: usize = 7;

/// Answers to the Critério Brasil page (page 7, CCEB 2026): 1 banheiro 9 + 1 carro 4 +
/// 1 computador 6 + 1 geladeira 6 + lava-roupa 6 + micro-ondas 7 + água 10 + Médio
/// completo 6 = 54 points, class C1.
pub const CCEB: [(&str, &str); 10] = [
    ("cceb_banheiros", "1"),
    ("cceb_automoveis", "1"),
    ("cceb_microcomputador", "1"),
    ("cceb_geladeira", "1"),
    ("cceb_tem_lava_loucas", "nao"),
    ("cceb_tem_lava_roupas", "sim"),
    ("cceb_tem_micro_ondas", "sim"),
    ("cceb_agua_encanada", "sim"),
    ("cceb_servico_domestico", "nao"),
    ("cceb_instrucao_chefe_2026", "medio_completo"),
];

/// Valid answers for every page of a supermarket shopper, as form pairs.
pub fn page_answers(page: usize) -> Vec<(&'static str, &'static str)> {
    match page {
        1 => vec![
            ("idade", "34"),
            ("moradores", "3"),
            ("renda_familiar", "2a4sm"),
        ],
        2 => vec![("responsavel_compras", "sim"), ("sexo", "feminino")],
        3 => vec![("frequencia_supermercado", "4x_ou_mais")],
        4 => vec![
            ("distancia_supermercado", "1a2km"),
            ("fatores_escolha", "preco"),
            ("fatores_escolha", "proximidade"),
            ("importancia_fatores__preco", "5"),
            ("importancia_fatores__distancia", "4"),
            ("importancia_fatores__qualidade", "5"),
            ("importancia_fatores__variedade", "3"),
            ("importancia_fatores__atendimento", "nao_sei"),
        ],
        5 => vec![
            ("valor_compra", "101a500"),
            ("gasto_mensal", "601a1000"),
            ("gasto_bairro", "ate_100"),
        ],
        6 => vec![
            ("interesse_novo", "provavelmente_sim"),
            ("mercado_atual", "<script>alert('x')</script> Mercadão"),
        ],
        _ => CCEB.to_vec(),
    }
}

/// (page, fields, question with the error, words of the message)
type Case<'a> = (usize, Vec<(&'a str, &'a str)>, &'a str, &'a str);

async fn user_id(app: &TestApp, email: &str) -> i64 {
    user_model::find_by_email(app.db(), email)
        .await
        .expect("q")
        .expect("user")
        .id
}

async fn rows_for(db: &DbPool, user: i64) -> i64 {
    let n: Result<i64, DbError> = async {
        with_conn!(db, |conn| Ok(responses::table
            .filter(responses::user_id.eq(user))
            .count()
            .get_result(conn)
            .await?))
    }
    .await;
    n.expect("count")
}

/// The stored answers' JSON ("" when there is no row).
async fn stored_answers(db: &DbPool, user: i64) -> String {
    response_model::for_user(db, user)
        .await
        .expect("q")
        .map(|r| r.answers)
        .unwrap_or_default()
}

async fn answer_all(app: &TestApp, b: &mut Browser) {
    for n in 1..=PAGES {
        let path = format!("/survey/{n}");
        let page = b.submit(&app.service, &path, &path, &page_answers(n)).await;
        assert_eq!(page.status, 303, "page {n}: {}", page.body);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_validation_rule_refuses_with_422_and_stores_nothing() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let mut b = app.signup("valida@exemplo.com.br").await;
        let id = user_id(&app, "valida@exemplo.com.br").await;
        let long_text = "ç".repeat(81);
        let cases: Vec<Case> = vec![
            (
                1,
                vec![
                    ("idade", "17"),
                    ("moradores", "3"),
                    ("renda_familiar", "2a4sm"),
                ],
                "idade",
                "de 18 a 120",
            ),
            (
                1,
                vec![
                    ("idade", "121"),
                    ("moradores", "3"),
                    ("renda_familiar", "2a4sm"),
                ],
                "idade",
                "de 18 a 120",
            ),
            (
                1,
                vec![
                    ("idade", "3x"),
                    ("moradores", "3"),
                    ("renda_familiar", "2a4sm"),
                ],
                "idade",
                "número inteiro",
            ),
            (
                1,
                vec![
                    ("idade", "34.5"),
                    ("moradores", "3"),
                    ("renda_familiar", "2a4sm"),
                ],
                "idade",
                "número inteiro",
            ),
            (
                1,
                vec![
                    ("idade", "34"),
                    ("moradores", "0"),
                    ("renda_familiar", "2a4sm"),
                ],
                "moradores",
                "de 1 a 20",
            ),
            (
                1,
                vec![
                    ("idade", "34"),
                    ("moradores", "3"),
                    ("renda_familiar", "milionario"),
                ],
                "renda_familiar",
                "uma das opções",
            ),
            (
                1,
                vec![("idade", "34"), ("moradores", "3")],
                "renda_familiar",
                "Responda esta pergunta",
            ),
            (
                1,
                vec![
                    ("idade", ""),
                    ("moradores", "3"),
                    ("renda_familiar", "2a4sm"),
                ],
                "idade",
                "Responda esta pergunta",
            ),
            (
                1,
                vec![
                    ("idade", "34"),
                    ("idade", "35"),
                    ("moradores", "3"),
                    ("renda_familiar", "2a4sm"),
                ],
                "idade",
                "mais de uma vez",
            ),
            (
                4,
                vec![
                    ("distancia_supermercado", "1a2km"),
                    ("fatores_escolha", "preco"),
                    ("fatores_escolha", "variedade"),
                    ("fatores_escolha", "qualidade"),
                    ("fatores_escolha", "entrega"),
                ],
                "fatores_escolha",
                "no máximo 3",
            ),
            (
                4,
                vec![("distancia_supermercado", "1a2km")],
                "fatores_escolha",
                "Responda esta pergunta",
            ),
            (
                4,
                vec![
                    ("distancia_supermercado", "1a2km"),
                    ("fatores_escolha", "foguete"),
                ],
                "fatores_escolha",
                "uma das opções",
            ),
            (
                6,
                vec![
                    ("interesse_novo", "talvez"),
                    ("mercado_atual", long_text.as_str()),
                ],
                "mercado_atual",
                "no máximo 80",
            ),
        ];
        // Page 1's cases first, with nothing stored; the later pages are shown once the
        // frequency answer (page 3) is known, so pages 1 to 3 are saved before them and
        // must come out of every refusal unchanged.
        let mut stored: Option<String> = None;
        for (n, fields, key, words) in cases {
            if n > 1 && stored.is_none() {
                for p in 1..=3 {
                    let path = format!("/survey/{p}");
                    let page = b.submit(&app.service, &path, &path, &page_answers(p)).await;
                    assert_eq!(page.status, 303);
                }
                stored = Some(stored_answers(app.db(), id).await);
            }
            let path = format!("/survey/{n}");
            let page = b.submit(&app.service, &path, &path, &fields).await;
            assert_eq!(page.status, 422, "{backend:?} page {n} {key}");
            assert!(page.body.contains(words), "{key}: expected «{words}»");
            assert!(
                page.body.contains(&format!("id=\"{key}-erro\"")),
                "{key}: message by the question"
            );
            assert!(
                page.body.contains("class=\"error-summary\""),
                "summary at the top"
            );
            assert!(page.body.contains("aria-invalid=\"true\"") || page.body.contains("-erro\""));
            match &stored {
                None => assert_eq!(rows_for(app.db(), id).await, 0, "{key}: nothing stored"),
                Some(before) => assert_eq!(
                    &stored_answers(app.db(), id).await,
                    before,
                    "{key}: nothing stored"
                ),
            }
        }
        let before = stored_answers(app.db(), id).await;
        // A field for a key of another page, or for no question at all.
        for stray in [("valor_compra", "ate_100"), ("is_admin", "1")] {
            let mut fields = page_answers(1);
            fields.push(stray);
            let page = b
                .submit(&app.service, "/survey/1", "/survey/1", &fields)
                .await;
            assert_eq!(page.status, 422, "{stray:?}");
            assert!(page.body.contains("não pertencem a esta etapa"));
            assert_eq!(stored_answers(app.db(), id).await, before);
        }
        // Typed values come back in the refused form.
        let page = b
            .submit(
                &app.service,
                "/survey/1",
                "/survey/1",
                &[("idade", "150"), ("moradores", "4")],
            )
            .await;
        assert!(page.body.contains("value=\"150\"") && page.body.contains("value=\"4\""));
        assert_eq!(b.get(&app.service, "/survey/8").await.status, 404);
        assert_eq!(b.get(&app.service, "/survey/0").await.status, 404);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn save_and_resume_on_another_device_then_review_submit_and_edit() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let mut phone = app.signup("retoma@exemplo.com.br").await;
        let id = user_id(&app, "retoma@exemplo.com.br").await;
        let page = phone.get(&app.service, "/survey").await;
        assert_eq!(page.location(), "/survey/1");
        let page = phone.get(&app.service, "/survey/1").await;
        // Page 4 waits on the frequency answer: counted ahead until it is known.
        assert!(page.body.contains("Etapa 1 de 7"), "{}", page.body);
        assert!(page.body.contains("<fieldset"), "one fieldset per question");
        assert!(
            page.body.contains("R$\u{a0}3.242"),
            "income labels in reais from the minimum wage"
        );
        let page = phone
            .submit(&app.service, "/survey/1", "/survey/1", &page_answers(1))
            .await;
        assert_eq!(page.location(), "/survey/2");
        let token = phone.get(&app.service, "/account").await.csrf();
        phone
            .post(&app.service, "/logout", &[("csrf_token", &token)])
            .await;

        // Another device, another session: the respondent continues where they stopped.
        let mut laptop = Browser::from_ip("192.0.2.33");
        let page = app
            .login(&mut laptop, "retoma@exemplo.com.br", GOOD_PASSWORD)
            .await;
        assert_eq!(page.location(), "/survey");
        let page = laptop.get(&app.service, "/survey").await;
        assert_eq!(page.location(), "/survey/2", "{backend:?}");
        let page = laptop.get(&app.service, "/survey/1").await;
        assert!(page.body.contains("value=\"34\""), "stored answers shown");
        assert!(page.body.contains("value=\"2a4sm\" checked"));

        for n in 2..=PAGES {
            let path = format!("/survey/{n}");
            let page = laptop
                .submit(&app.service, &path, &path, &page_answers(n))
                .await;
            assert_eq!(page.status, 303);
        }
        let page = laptop.get(&app.service, "/survey/review").await;
        assert!(page.body.contains("Revise suas respostas"));
        assert!(
            page.body.contains("&lt;script&gt;"),
            "free text escaped on output"
        );
        assert!(!page.body.contains("<script>alert"));
        let token = page.csrf();
        let page = laptop
            .post(&app.service, "/survey/submit", &[("csrf_token", &token)])
            .await;
        assert_eq!(page.location(), "/survey/thanks");
        let page = laptop.get(&app.service, "/survey/thanks").await;
        assert!(page.body.contains("Obrigado por participar"));

        let row = response_model::for_user(app.db(), id)
            .await
            .expect("q")
            .expect("row");
        let first_submit = row.submitted_at.expect("submitted");
        let answers = row.answers();
        assert_eq!(answers.get("idade"), Some(&AnswerValue::Integer(34)));
        assert_eq!(
            answers.get("renda_familiar"),
            Some(&AnswerValue::Single("2a4sm".into()))
        );
        assert_eq!(
            answers.get("fatores_escolha"),
            Some(&AnswerValue::Multi(vec![
                "preco".into(),
                "proximidade".into()
            ]))
        );
        assert_eq!(
            answers.get("mercado_atual"),
            Some(&AnswerValue::Text(
                "<script>alert('x')</script> Mercadão".into()
            )),
            "stored as typed"
        );
        assert_eq!(
            row.definition_version,
            i32::try_from(app.state.survey.version()).expect("v")
        );
        assert_eq!(row.bairro, "JARDIM SÃO JOSÉ");

        // Coming back shows the answers and lets them change one page.
        let page = laptop.get(&app.service, "/survey").await;
        assert_eq!(page.location(), "/survey/review");
        let page = laptop.get(&app.service, "/survey/review").await;
        assert!(page.body.contains("Enviadas em"));
        assert!(
            page.body.contains("href=\"/survey/5?voltar=revisao\""),
            "edit links while open"
        );
        let page = laptop
            .submit(
                &app.service,
                "/survey/5",
                "/survey/5",
                &[
                    ("valor_compra", "ate_100"),
                    ("gasto_mensal", "ate_300"),
                    ("gasto_bairro", "ate_100"),
                ],
            )
            .await;
        assert_eq!(page.status, 303);
        let token = laptop.get(&app.service, "/survey/review").await.csrf();
        laptop
            .post(&app.service, "/survey/submit", &[("csrf_token", &token)])
            .await;
        let row = response_model::for_user(app.db(), id)
            .await
            .expect("q")
            .expect("row");
        assert_eq!(
            row.submitted_at,
            Some(first_submit),
            "first submission time kept"
        );
        assert!(row.updated_at > first_submit);
        assert_eq!(
            row.answers().get("valor_compra"),
            Some(&AnswerValue::Single("ate_100".into()))
        );
        assert_eq!(rows_for(app.db(), id).await, 1);

        // The LGPD export carries the answers.
        let json: serde_json::Value =
            serde_json::from_str(&laptop.get(&app.service, "/account/data").await.body)
                .expect("json");
        assert_eq!(json["questionnaire"]["answers"]["idade"]["integer"], 34);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn submitting_with_missing_answers_sends_back_to_the_page() {
    let app = TestApp::spawn(Backend::SqliteMemory).await;
    let mut b = app.signup("incompleto@exemplo.com.br").await;
    b.submit(&app.service, "/survey/1", "/survey/1", &page_answers(1))
        .await;
    let page = b.get(&app.service, "/survey/review").await;
    assert!(page.body.contains("Faltam respostas"));
    assert!(
        !page.body.contains("action=\"/survey/submit\""),
        "no submit button while incomplete"
    );
    let token = page.csrf();
    let page = b
        .post(&app.service, "/survey/submit", &[("csrf_token", &token)])
        .await;
    assert_eq!(page.location(), "/survey/2");
    let row = response_model::for_user(app.db(), user_id(&app, "incompleto@exemplo.com.br").await)
        .await
        .expect("q")
        .expect("row");
    assert!(row.submitted_at.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_closed_survey_is_read_only() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn_with(backend, |s| {
            s.survey.closes_at = Some("2020-01-01T00:00:00-03:00".parse().expect("date"));
        })
        .await;
        let mut b = app.signup("fechada@exemplo.com.br").await;
        assert_eq!(
            b.get(&app.service, "/survey/1").await.location(),
            "/survey/review"
        );
        let page = b.get(&app.service, "/survey/review").await;
        assert!(page.body.contains("A pesquisa foi encerrada"));
        assert!(!page.body.contains("href=\"/survey/1"), "no edit links");
        let token = page.csrf();
        let mut fields = vec![("csrf_token", token.as_str())];
        fields.extend(page_answers(1));
        assert_eq!(b.post(&app.service, "/survey/1", &fields).await.status, 403);
        assert_eq!(
            b.post(&app.service, "/survey/submit", &[("csrf_token", &token)])
                .await
                .status,
            403
        );
        assert_eq!(
            rows_for(app.db(), user_id(&app, "fechada@exemplo.com.br").await).await,
            0
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn answers_typed_when_the_session_expired_come_back_after_log_in() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let mut b = app.signup("expira@exemplo.com.br").await;
        let id = user_id(&app, "expira@exemplo.com.br").await;
        let token = b.get(&app.service, "/survey/1").await.csrf();
        // The session ends while the respondent is typing (expiry, or a log-out elsewhere).
        pesquisa::web::session::end_all_for_user(&app.state.kv, id, None)
            .await
            .expect("end");
        let page = b
            .post(
                &app.service,
                "/survey/1",
                &[
                    ("csrf_token", &token),
                    ("idade", "41"),
                    ("moradores", "5"),
                    ("renda_familiar", "4a10sm"),
                ],
            )
            .await;
        assert_eq!(page.status, 303, "{backend:?}: {}", page.body);
        assert!(
            page.location().starts_with("/login?next="),
            "{}",
            page.location()
        );
        let login = b.get(&app.service, page.location()).await;
        assert!(login.body.contains("Sua sessão expirou"));
        let next = login
            .body
            .split("name=\"next\" value=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .expect("next field")
            .replace("&amp;", "&");
        assert!(next.starts_with("/survey/1?draft="), "{next}");
        let page = b
            .post(
                &app.service,
                "/login",
                &[
                    ("csrf_token", &login.csrf()),
                    ("email", "expira@exemplo.com.br"),
                    ("password", GOOD_PASSWORD),
                    ("next", &next),
                ],
            )
            .await;
        assert_eq!(page.location(), next);
        let page = b.get(&app.service, &next).await;
        assert!(page.body.contains("Recuperamos o que você tinha digitado"));
        assert!(page.body.contains("value=\"41\"") && page.body.contains("value=\"5\""));
        assert!(page.body.contains("value=\"4a10sm\" checked"));
        // The draft is used once.
        let again = b.get(&app.service, &next).await;
        assert!(!again.body.contains("value=\"41\""));
        assert_eq!(
            rows_for(app.db(), id).await,
            0,
            "nothing saved until they submit again"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_concurrent_identical_submissions_through_two_instances_leave_one_response() {
    let app = TestApp::spawn(Backend::MariaRedis).await;
    let other = app.sibling().await;
    let b = app.signup("pressa@exemplo.com.br").await;
    let id = user_id(&app, "pressa@exemplo.com.br").await;
    let token = b.clone().get(&app.service, "/survey/1").await.csrf();

    // First the very first save, raced 50 times: exactly one row may come of it.
    let mut tasks = Vec::new();
    for i in 0..50 {
        let service = if i % 2 == 0 {
            app.service.clone()
        } else {
            other.clone()
        };
        let mut b = b.clone();
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            let mut fields = vec![("csrf_token", token.as_str())];
            fields.extend(page_answers(1));
            b.post(&service, "/survey/1", &fields).await.status
        }));
    }
    for t in tasks {
        assert_eq!(t.await.expect("task"), 303);
    }
    assert_eq!(rows_for(app.db(), id).await, 1);

    let mut b2 = b.clone();
    for n in 2..=PAGES {
        let path = format!("/survey/{n}");
        b2.submit(&app.service, &path, &path, &page_answers(n))
            .await;
    }
    // Then the submission itself, double-clicked 50 times across both instances.
    let mut tasks = Vec::new();
    for i in 0..50 {
        let service = if i % 2 == 0 {
            app.service.clone()
        } else {
            other.clone()
        };
        let mut b = b.clone();
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            b.post(&service, "/survey/submit", &[("csrf_token", &token)])
                .await
                .status
        }));
    }
    for t in tasks {
        assert_eq!(t.await.expect("task"), 303);
    }
    assert_eq!(rows_for(app.db(), id).await, 1);
    let row = response_model::for_user(app.db(), id)
        .await
        .expect("q")
        .expect("row");
    assert!(row.submitted_at.is_some());
    let answers = row.answers();
    assert!(
        pesquisa::survey::flow::Flow::new(&app.state.survey, &answers)
            .validate_complete(&answers)
            .is_ok(),
        "complete, not half-written"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_saves_of_different_pages_both_survive() {
    let app = TestApp::spawn(Backend::MariaRedis).await;
    let other = app.sibling().await;
    let b = app.signup("abas@exemplo.com.br").await;
    let id = user_id(&app, "abas@exemplo.com.br").await;
    let token = b.clone().get(&app.service, "/survey/1").await.csrf();
    let mut tasks = Vec::new();
    // Pages that no condition ties together, so each save stands on its own.
    let pages = [1usize, 2, 6, 7];
    for round in 0..10 {
        for n in pages {
            let service = if (round + n) % 2 == 0 {
                app.service.clone()
            } else {
                other.clone()
            };
            let mut b = b.clone();
            let token = token.clone();
            tasks.push(tokio::spawn(async move {
                let mut fields = vec![("csrf_token", token.as_str())];
                fields.extend(page_answers(n));
                b.post(&service, &format!("/survey/{n}"), &fields)
                    .await
                    .status
            }));
        }
    }
    for t in tasks {
        assert_eq!(t.await.expect("task"), 303);
    }
    let row = response_model::for_user(app.db(), id)
        .await
        .expect("q")
        .expect("row");
    let answers = row.answers();
    for n in pages {
        assert!(
            pesquisa::survey::is_page_complete(&app.state.survey, n - 1, &answers),
            "page {n} lost: {:?}",
            row.answers
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn account_deletion_removes_or_anonymises_the_response() {
    for (on_delete, kept) in [
        (pesquisa::config::OnDelete::Delete, false),
        (pesquisa::config::OnDelete::Anonymize, true),
    ] {
        let app =
            TestApp::spawn_with(Backend::MariaRedis, |s| s.accounts.on_delete = on_delete).await;
        let mut b = app.signup("some@exemplo.com.br").await;
        let id = user_id(&app, "some@exemplo.com.br").await;
        answer_all(&app, &mut b).await;
        let page = b
            .submit(
                &app.service,
                "/account",
                "/account/delete",
                &[("delete_password", GOOD_PASSWORD)],
            )
            .await;
        assert_eq!(page.status, 303);
        assert_eq!(
            rows_for(app.db(), id).await,
            0,
            "nothing tied to the person"
        );
        let (all, _) = response_model::counts(app.db()).await.expect("counts");
        assert_eq!(all == 1, kept, "{on_delete:?}");
    }
}
