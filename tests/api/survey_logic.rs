//! Questionnaire logic through the real router, on both backends: pages and questions
//! hidden by `show_if` (and their answers removed when an earlier change hides them),
//! the screen-out, soft checks shown once and confirmed, and crafted POSTs that try to
//! answer a hidden question, skip a required one or get past a screen-out.

use pesquisa::db::responses as response_model;
use pesquisa::survey::AnswerValue;

use crate::helpers::{ALL_BACKENDS, Browser, TestApp};
use crate::survey::{PAGES, page_answers};

async fn user_id(app: &TestApp, email: &str) -> i64 {
    pesquisa::db::users::find_by_email(app.db(), email)
        .await
        .expect("q")
        .expect("user")
        .id
}

async fn row(app: &TestApp, id: i64) -> Option<response_model::Response> {
    response_model::for_user(app.db(), id).await.expect("q")
}

/// Saves page `n` with `fields`, taking the CSRF token from page 1 (always shown), so a
/// hidden page can be posted to as a crafted request would.
async fn post_page(
    app: &TestApp,
    b: &mut Browser,
    n: usize,
    fields: &[(&str, &str)],
) -> (u16, String, String) {
    let token = b.get(&app.service, "/survey/1").await.csrf();
    let mut all = vec![("csrf_token", token.as_str())];
    all.extend_from_slice(fields);
    let page = b.post(&app.service, &format!("/survey/{n}"), &all).await;
    (page.status, page.location().to_owned(), page.body)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_non_shopper_skips_trips_distance_and_spend_and_their_answers_are_removed() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let mut b = app.signup("naocompra@exemplo.com.br").await;
        let id = user_id(&app, "naocompra@exemplo.com.br").await;
        for n in 1..=5 {
            let (status, _, body) = post_page(&app, &mut b, n, &page_answers(n)).await;
            assert_eq!(status, 303, "{backend:?} page {n}: {body}");
        }
        let stored = row(&app, id).await.expect("row").answers();
        assert!(
            stored.get("valor_compra").is_some() && stored.get("distancia_supermercado").is_some()
        );

        // Now they say they never shop at supermarkets.
        let (status, location, _) = post_page(
            &app,
            &mut b,
            3,
            &[("frequencia_supermercado", "nao_compro")],
        )
        .await;
        assert_eq!(status, 303);
        assert_eq!(location, "/survey/5", "{backend:?}: page 4 skipped");
        let stored = row(&app, id).await.expect("row").answers();
        for hidden in [
            "distancia_supermercado",
            "fatores_escolha",
            "valor_compra",
            "gasto_mensal",
        ] {
            assert_eq!(stored.get(hidden), None, "{backend:?}: {hidden} removed");
        }
        assert_eq!(
            stored.get("gasto_bairro"),
            Some(&AnswerValue::Single("ate_100".into()))
        );
        // Page 4 is not shown; page 5 asks only what applies; progress counts 6 pages.
        let page = b.get(&app.service, "/survey/4").await;
        assert_eq!(page.location(), "/survey/5");
        let page = b.get(&app.service, "/survey/5").await;
        assert!(!page.body.contains("name=\"valor_compra\""));
        assert!(page.body.contains("name=\"gasto_bairro\""));
        assert!(page.body.contains("Etapa 4 de 6"), "{backend:?}");
        assert!(
            page.body.contains("href=\"/survey/3\""),
            "back skips page 4"
        );
        for n in 6..=PAGES {
            let (status, _, body) = post_page(&app, &mut b, n, &page_answers(n)).await;
            assert_eq!(status, 303, "{body}");
        }
        let review = b.get(&app.service, "/survey/review").await;
        assert!(
            review.body.contains("action=\"/survey/submit\""),
            "complete without hidden questions"
        );
        assert!(!review.body.contains("href=\"/survey/4"));

        // Un-hiding asks again: page 4 and the spend questions are required anew.
        post_page(&app, &mut b, 3, &[("frequencia_supermercado", "1x")]).await;
        let token = b.get(&app.service, "/survey/review").await.csrf();
        let page = b
            .post(&app.service, "/survey/submit", &[("csrf_token", &token)])
            .await;
        assert_eq!(page.location(), "/survey/4", "{backend:?}");
        assert!(row(&app, id).await.expect("row").submitted_at.is_none());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn crafted_posts_cannot_answer_hidden_questions_or_skip_required_ones() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let mut b = app.signup("forjado@exemplo.com.br").await;
        let id = user_id(&app, "forjado@exemplo.com.br").await;
        for n in 1..=2 {
            post_page(&app, &mut b, n, &page_answers(n)).await;
        }
        post_page(
            &app,
            &mut b,
            3,
            &[("frequencia_supermercado", "nao_compro")],
        )
        .await;
        let before = row(&app, id).await.expect("row").answers;

        // A hidden page: nothing stored, sent on to the next page shown.
        let (status, location, _) = post_page(&app, &mut b, 4, &page_answers(4)).await;
        assert_eq!(
            (status, location.as_str()),
            (303, "/survey/5"),
            "{backend:?}"
        );
        // A hidden question on a shown page: refused like a field of another page.
        let mut fields = page_answers(5);
        assert!(fields.iter().any(|(k, _)| *k == "valor_compra"));
        let (status, _, body) = post_page(&app, &mut b, 5, &fields).await;
        assert_eq!(status, 422, "{backend:?}");
        assert!(body.contains("não pertencem a esta etapa"));
        // A required visible question left out.
        fields
            .retain(|(k, _)| *k != "valor_compra" && *k != "gasto_mensal" && *k != "gasto_bairro");
        let (status, _, body) = post_page(&app, &mut b, 5, &fields).await;
        assert_eq!(status, 422);
        assert!(body.contains("id=\"gasto_bairro-erro\""));
        assert_eq!(
            row(&app, id).await.expect("row").answers,
            before,
            "{backend:?}: nothing stored"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn screen_out_ends_politely_keeps_the_response_and_cannot_be_bypassed() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let mut b = app.signup("triagem@exemplo.com.br").await;
        let id = user_id(&app, "triagem@exemplo.com.br").await;
        post_page(&app, &mut b, 1, &page_answers(1)).await;
        let (status, location, _) = post_page(
            &app,
            &mut b,
            2,
            &[("responsavel_compras", "nao"), ("sexo", "masculino")],
        )
        .await;
        assert_eq!(
            (status, location.as_str()),
            (303, "/survey/screened"),
            "{backend:?}"
        );
        let page = b.get(&app.service, "/survey/screened").await;
        assert_eq!(page.status, 200);
        assert!(
            page.body.contains("quem faz ou divide as compras"),
            "the rule's message"
        );
        assert!(
            page.body.contains("href=\"/survey/2\""),
            "a way to correct the answer"
        );
        let stored = row(&app, id).await.expect("row");
        assert_eq!(stored.screened_out.as_deref(), Some("responsavel_compras"));
        assert_eq!(
            stored.answers().get("idade"),
            Some(&AnswerValue::Integer(34))
        );

        // Every way forward leads back to the closing page, and nothing is stored.
        assert_eq!(
            b.get(&app.service, "/survey").await.location(),
            "/survey/screened"
        );
        assert_eq!(
            b.get(&app.service, "/survey/3").await.location(),
            "/survey/screened"
        );
        let (status, location, _) = post_page(&app, &mut b, 3, &page_answers(3)).await;
        assert_eq!((status, location.as_str()), (303, "/survey/screened"));
        let token = b.get(&app.service, "/survey/1").await.csrf();
        let page = b
            .post(&app.service, "/survey/submit", &[("csrf_token", &token)])
            .await;
        assert_eq!(page.location(), "/survey/screened");
        let stored = row(&app, id).await.expect("row");
        assert_eq!(stored.answers().get("frequencia_supermercado"), None);
        assert!(stored.submitted_at.is_none());

        // Correcting the screener answer clears the mark and the questionnaire goes on.
        let (_, location, _) = post_page(&app, &mut b, 2, &page_answers(2)).await;
        assert_eq!(location, "/survey/3");
        assert_eq!(row(&app, id).await.expect("row").screened_out, None);
        assert_eq!(
            b.get(&app.service, "/survey/screened").await.location(),
            "/survey"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_soft_check_is_shown_once_and_a_confirmation_is_recorded() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let mut b = app.signup("checagem@exemplo.com.br").await;
        let id = user_id(&app, "checagem@exemplo.com.br").await;
        for n in 1..=4 {
            post_page(&app, &mut b, n, &page_answers(n)).await;
        }
        // 4 or more trips × at least R$ 501 is more than R$ 1.000 a month.
        let odd = [
            ("valor_compra", "501a1000"),
            ("gasto_mensal", "601a1000"),
            ("gasto_bairro", "ate_100"),
        ];
        let (status, _, body) = post_page(&app, &mut b, 5, &odd).await;
        assert_eq!(status, 200, "{backend:?}");
        assert!(body.contains("passam do gasto mensal informado"));
        assert!(body.contains("name=\"checagem_confirmada\" value=\"gasto_mensal_baixo\""));
        // Saved even so: a soft check never loses answers.
        let stored = row(&app, id).await.expect("row");
        assert_eq!(
            stored.answers().get("valor_compra"),
            Some(&AnswerValue::Single("501a1000".into()))
        );
        assert_eq!(stored.confirmed_checks, "");

        // Sent again without confirming: not shown a second time, nothing recorded.
        let mut again = odd.to_vec();
        again.push(("checagem_mostrada", "gasto_mensal_baixo"));
        let (status, location, _) = post_page(&app, &mut b, 5, &again).await;
        assert_eq!((status, location.as_str()), (303, "/survey/6"));
        assert_eq!(row(&app, id).await.expect("row").confirmed_checks, "");

        // Confirmed: recorded with the check's key.
        again.push(("checagem_confirmada", "gasto_mensal_baixo"));
        let (status, _, _) = post_page(&app, &mut b, 5, &again).await;
        assert_eq!(status, 303);
        assert_eq!(
            row(&app, id).await.expect("row").confirmed_checks,
            "gasto_mensal_baixo"
        );

        // A confirmation of a check that was never shown is ignored.
        // Corrected answers: the check no longer holds and the confirmation goes.
        let (status, location, _) = post_page(&app, &mut b, 5, &page_answers(5)).await;
        assert_eq!(
            (status, location.as_str()),
            (303, "/survey/6"),
            "{backend:?}"
        );
        assert_eq!(row(&app, id).await.expect("row").confirmed_checks, "");
        let mut forged = page_answers(5);
        forged.push(("checagem_confirmada", "gasto_mensal_baixo"));
        post_page(&app, &mut b, 5, &forged).await;
        assert_eq!(row(&app, id).await.expect("row").confirmed_checks, "");
    }
}

/// Stores a response without an account, as `definition_version`.
async fn insert_row(
    db: &pesquisa::db::DbPool,
    version: i32,
    answers: &[(&str, AnswerValue)],
    screened_out: Option<&str>,
    confirmed: &str,
) {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use pesquisa::db::schema::responses;
    let answers: pesquisa::survey::Answers = answers
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    let json = serde_json::to_string(&answers).expect("json");
    let at = chrono::NaiveDate::from_ymd_opt(2026, 12, 1)
        .and_then(|d| d.and_hms_opt(12, 0, 0))
        .expect("time");
    let done: Result<(), pesquisa::db::DbError> = async {
        pesquisa::with_conn!(db, |conn| {
            diesel::insert_into(responses::table)
                .values((
                    responses::definition_id.eq("supermercado_zona_leste"),
                    responses::definition_version.eq(version),
                    responses::answers.eq(&json),
                    responses::bairro.eq("CENTRO"),
                    responses::current_page.eq(1),
                    responses::revision.eq(1_i64),
                    responses::created_at.eq(at),
                    responses::updated_at.eq(at),
                    responses::submitted_at.eq(screened_out.is_none().then_some(at)),
                    responses::screened_out.eq(screened_out),
                    responses::confirmed_checks.eq(confirmed),
                ))
                .execute(conn)
                .await?;
            Ok(())
        })
    }
    .await;
    done.expect("insert");
}

#[tokio::test(flavor = "multi_thread")]
async fn export_codes_not_asked_apart_from_not_answered_for_both_versions() {
    use pesquisa::export::{self, CsvProfile, ExportOptions, Format};
    let single = |v: &str| AnswerValue::Single(v.into());
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let def = pesquisa::survey::default_definition().expect("v3");
        let mut non_shopper = vec![
            ("idade", AnswerValue::Integer(70)),
            ("moradores", AnswerValue::Integer(1)),
            ("renda_familiar", single("ate_2sm")),
            ("responsavel_compras", single("sim")),
            ("sexo", single("feminino")),
            ("frequencia_supermercado", single("nao_compro")),
            ("gasto_bairro", single("ate_100")),
            ("interesse_novo", single("talvez")),
        ];
        for (k, v) in crate::survey::CCEB {
            non_shopper.push((k, single(v)));
        }
        insert_row(app.db(), 3, &non_shopper, None, "").await;
        insert_row(
            app.db(),
            3,
            &[
                ("idade", AnswerValue::Integer(30)),
                ("responsavel_compras", single("nao")),
                ("sexo", single("masculino")),
            ],
            Some("responsavel_compras"),
            "",
        )
        .await;
        insert_row(
            app.db(),
            1,
            &[
                ("idade", AnswerValue::Integer(40)),
                ("frequencia_supermercado", single("2x")),
                ("distancia_supermercado", single("ate_5km")),
                ("valor_compra", single("101a500")),
            ],
            None,
            "",
        )
        .await;
        // Version 2: the CCEB 2015 block; the counted items kept their keys in version 3.
        insert_row(
            app.db(),
            2,
            &[
                ("idade", AnswerValue::Integer(52)),
                ("responsavel_compras", single("sim")),
                ("sexo", single("masculino")),
                ("cceb_banheiros", single("2")),
                ("cceb_lava_loucas", single("1")),
                ("cceb_instrucao_chefe", single("superior_completo")),
                ("cceb_agua_encanada", single("sim")),
            ],
            None,
            "",
        )
        .await;
        let opts = ExportOptions {
            format: Format::Csv,
            csv_profile: CsvProfile::Rfc4180,
            ..ExportOptions::default()
        };
        let (_, out) = export::export(
            app.db(),
            &def,
            b"secret-secret-secret-secret-secret!!",
            &opts,
            Vec::new(),
        )
        .await
        .expect("export");
        let text = String::from_utf8(out).expect("utf-8");
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().expect("header").split(',').collect();
        let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
        assert_eq!(rows.len(), 4, "{backend:?}: {text}");
        let cell = |row: usize, name: &str| -> String {
            let i = header
                .iter()
                .position(|h| *h == name)
                .unwrap_or_else(|| panic!("no column {name}"));
            rows[row][i].to_owned()
        };
        // The non-shopper: spend and distance not asked, optional text not answered.
        assert_eq!(cell(0, "valor_compra"), "-2", "{backend:?}");
        assert_eq!(cell(0, "distancia_supermercado"), "-2");
        assert_eq!(cell(0, "fatores_escolha__preco"), "-2");
        assert_eq!(cell(0, "gasto_bairro"), "ate_100");
        assert_eq!(cell(0, "mercado_atual"), "", "not answered stays empty");
        assert_eq!(cell(0, "triagem"), "");
        // The screened-out respondent: nothing after the screener was asked.
        assert_eq!(cell(1, "triagem"), "responsavel_compras");
        assert_eq!(cell(1, "sexo"), "masculino");
        assert_eq!(cell(1, "frequencia_supermercado"), "-2");
        assert_eq!(cell(1, "cceb_banheiros"), "-2");
        // Version 1: questions it did not have were not asked; its answers stay.
        assert_eq!(cell(2, "definition_version"), "1");
        assert_eq!(cell(2, "sexo"), "-2");
        assert_eq!(cell(2, "cceb_instrucao_chefe_2026"), "-2");
        assert_eq!(cell(2, "idade"), "40");
        assert_eq!(cell(2, "valor_compra"), "101a500");
        assert_eq!(cell(2, "gasto_mensal"), "", "in version 1 but not answered");
        // Version 2: its answers under the keys version 3 kept; the 2026 items it did not
        // ask are "not asked", and it has no 2026 score (not a partial one).
        assert_eq!(cell(3, "definition_version"), "2");
        assert_eq!(cell(3, "cceb_banheiros"), "2");
        assert_eq!(cell(3, "cceb_agua_encanada"), "sim");
        assert_eq!(cell(3, "cceb_tem_lava_loucas"), "-2");
        assert_eq!(cell(3, "cceb_instrucao_chefe_2026"), "-2");
        assert_eq!(cell(3, "cceb_pontos"), "");
        assert_eq!(cell(3, "classe_cceb"), "");
        assert!(
            !header.contains(&"cceb_lava_loucas"),
            "a 2015-only item: {header:?}"
        );
        // Version 3 (the non-shopper, CCEB page as the API tests answer it): 54, C1.
        assert_eq!(cell(0, "cceb_pontos"), "54");
        assert_eq!(cell(0, "classe_cceb"), "C1");

        let book =
            String::from_utf8(export::codebook(&def, &opts).expect("codebook")).expect("utf-8");
        let line = |name: &str| {
            book.lines()
                .find(|l| l.starts_with(&format!("{name},")))
                .unwrap_or_else(|| panic!("codebook has no {name}"))
                .to_owned()
        };
        assert!(
            line("valor_compra").contains("-2 = não perguntada"),
            "{}",
            line("valor_compra")
        );
        assert!(line("valor_compra").contains("perguntada só se"));
        assert!(line("triagem").contains("Triagem"));
        assert!(line("checagens_confirmadas").contains("Checagens"));
    }
}
