//! Scales, grids and the option features (shuffle with anchors, "other" text, exclusive
//! options) through the real router and the real exports, on both backends: grid answers
//! saved and shown back, items required one by one (422 by the item, nothing stored),
//! crafted POSTs (an exclusive pair, a text without its option, a hidden grid), the
//! shuffled order stable for one respondent and different for others, and the export
//! columns, codes and codebook in the CSV and in the SPSS pair read by PSPP.

use std::process::Command;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use pesquisa::db::responses as response_model;
use pesquisa::db::schema::responses;
use pesquisa::db::{DbError, DbPool};
use pesquisa::export::{self, ExportOptions, Format, LabelledFiles};
use pesquisa::survey::{AnswerValue, Answers, Definition};

use crate::helpers::{ALL_BACKENDS, Browser, TestApp, unique};
use crate::labelled_export::{frequencies, run, value_labels};
use crate::survey::page_answers;

const GRID: &str = "importancia_fatores";

async fn user_id(app: &TestApp, email: &str) -> i64 {
    pesquisa::db::users::find_by_email(app.db(), email)
        .await
        .expect("q")
        .expect("user")
        .id
}

async fn stored(app: &TestApp, id: i64) -> Answers {
    response_model::for_user(app.db(), id)
        .await
        .expect("q")
        .map(|r| r.answers())
        .unwrap_or_default()
}

/// Posts page `n` with `fields` and the CSRF token of page 1 (always shown).
async fn post_page(
    app: &TestApp,
    b: &mut Browser,
    n: usize,
    fields: &[(&str, &str)],
) -> (u16, String) {
    let token = b.get(&app.service, "/survey/1").await.csrf();
    let mut all = vec![("csrf_token", token.as_str())];
    all.extend_from_slice(fields);
    let page = b.post(&app.service, &format!("/survey/{n}"), &all).await;
    (page.status, page.body)
}

/// Page 4's valid answers with `change` applied: each (name, value) replaces every pair
/// of that name (an empty value removes it), or is added.
fn page4_with(change: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut fields: Vec<(&str, &str)> = page_answers(4);
    for (name, _) in change {
        fields.retain(|(n, _)| n != name);
    }
    fields.extend(change.iter().filter(|(_, v)| !v.is_empty()).copied());
    fields
}

/// The ids of `fatores_escolha`'s options in the order the page shows them.
fn option_order(body: &str) -> Vec<String> {
    body.match_indices("id=\"fatores_escolha-")
        .map(|(at, _)| {
            let rest = &body[at + 4..];
            rest[..rest.find('"').unwrap_or(0)].to_string()
        })
        .filter(|id| !id.ends_with("-ajuda") && !id.ends_with("-erro"))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn grid_answers_are_saved_shown_back_and_required_item_by_item() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let email = "grade@exemplo.com.br";
        let mut b = app.signup(email).await;
        let id = user_id(&app, email).await;
        for n in 1..=3 {
            let (status, body) = post_page(&app, &mut b, n, &page_answers(n)).await;
            assert_eq!(status, 303, "{backend:?} page {n}: {body}");
        }
        let before = stored(&app, id).await;

        // Two items left out: 422, a message by each of them, nothing stored.
        let fields = page4_with(&[
            ("importancia_fatores__qualidade", ""),
            ("importancia_fatores__atendimento", ""),
        ]);
        let (status, body) = post_page(&app, &mut b, 4, &fields).await;
        assert_eq!(status, 422, "{backend:?}");
        for item in ["qualidade", "atendimento"] {
            assert!(
                body.contains(&format!("id=\"{GRID}__{item}-erro\"")),
                "{item}: {body}"
            );
            assert!(
                body.contains(&format!("href=\"#{GRID}__{item}-1\"")),
                "{item}: the summary links to the item's first point"
            );
        }
        assert!(!body.contains(&format!("id=\"{GRID}__preco-erro\"")));
        assert!(body.contains("Responda este item."));
        // The typed points come back checked.
        assert!(
            body.contains(&format!(
                "id=\"{GRID}__preco-5\" name=\"{GRID}__preco\" value=\"5\" checked"
            )),
            "{body}"
        );
        assert_eq!(
            stored(&app, id).await,
            before,
            "{backend:?}: nothing stored"
        );

        // A point the scale does not have.
        let (status, body) = post_page(
            &app,
            &mut b,
            4,
            &page4_with(&[("importancia_fatores__preco", "9")]),
        )
        .await;
        assert_eq!(status, 422);
        assert!(body.contains(&format!("id=\"{GRID}__preco-erro\"")));
        assert_eq!(stored(&app, id).await, before);

        let (status, body) = post_page(&app, &mut b, 4, &page_answers(4)).await;
        assert_eq!(status, 303, "{backend:?}: {body}");
        let answers = stored(&app, id).await;
        let Some(AnswerValue::Grid(map)) = answers.get(GRID) else {
            panic!("{backend:?}: {answers:?}")
        };
        assert_eq!(map.get("preco").map(String::as_str), Some("5"));
        assert_eq!(map.get("atendimento").map(String::as_str), Some("nao_sei"));
        assert_eq!(map.len(), 5);

        // Shown back: each item its own fieldset and legend, the stored point checked.
        let page = b.get(&app.service, "/survey/4").await;
        assert_eq!(
            page.body.matches("<fieldset class=\"grid-item\"").count(),
            5
        );
        assert!(page.body.contains("<legend>Preço</legend>"));
        assert!(page.body.contains(&format!("id=\"{GRID}__atendimento-nao_sei\" name=\"{GRID}__atendimento\" value=\"nao_sei\" checked")));
        let review = b.get(&app.service, "/survey/review").await;
        assert!(
            review.body.contains("Preço: 5 – Muito importante"),
            "{}",
            review.body
        );
        assert!(review.body.contains("Atendimento: Não sei"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn crafted_posts_cannot_pair_an_exclusive_option_keep_a_stray_text_or_answer_a_hidden_grid() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let email = "opcoes@exemplo.com.br";
        let mut b = app.signup(email).await;
        let id = user_id(&app, email).await;
        for n in 1..=3 {
            post_page(&app, &mut b, n, &page_answers(n)).await;
        }
        let before = stored(&app, id).await;

        // "Nenhum destes" with another option: 422 by the question, nothing stored.
        let mut fields = page4_with(&[("fatores_escolha", "nenhum")]);
        fields.push(("fatores_escolha", "preco"));
        let (status, body) = post_page(&app, &mut b, 4, &fields).await;
        assert_eq!(status, 422, "{backend:?}");
        assert!(body.contains("id=\"fatores_escolha-erro\""));
        assert!(
            body.contains(
                "“Nenhum destes em especial” não pode ser marcada junto com outras opções."
            ),
            "{body}"
        );
        assert_eq!(stored(&app, id).await, before);

        // "Outro" without its text: 422 by the text field.
        let (status, body) = post_page(
            &app,
            &mut b,
            4,
            &page4_with(&[("fatores_escolha", "outros")]),
        )
        .await;
        assert_eq!(status, 422);
        assert!(
            body.contains("id=\"fatores_escolha__outro-erro\""),
            "{body}"
        );
        assert!(body.contains(
            "aria-describedby=\"fatores_escolha__outro-ajuda fatores_escolha__outro-erro\""
        ));
        assert_eq!(stored(&app, id).await, before);

        // With its text: stored beside the answer.
        let (status, _) = post_page(
            &app,
            &mut b,
            4,
            &page4_with(&[
                ("fatores_escolha", "outros"),
                ("fatores_escolha__outro", "feira livre"),
            ]),
        )
        .await;
        assert_eq!(status, 303);
        let a = stored(&app, id).await;
        assert_eq!(
            a.get("fatores_escolha"),
            Some(&AnswerValue::Multi(vec!["outros".into()]))
        );
        assert_eq!(
            a.get("fatores_escolha__outro"),
            Some(&AnswerValue::Text("feira livre".into()))
        );

        // A text without its option (a crafted form, or "Outro" unticked): not kept.
        let (status, _) = post_page(
            &app,
            &mut b,
            4,
            &page4_with(&[("fatores_escolha__outro", "sacolão")]),
        )
        .await;
        assert_eq!(status, 303);
        let a = stored(&app, id).await;
        assert_eq!(
            a.get("fatores_escolha__outro"),
            None,
            "{backend:?}: the text went with the option"
        );

        // A non-shopper is not asked page 4: a crafted grid answer stores nothing, and
        // the earlier one was removed with the page.
        post_page(
            &app,
            &mut b,
            3,
            &[("frequencia_supermercado", "nao_compro")],
        )
        .await;
        assert_eq!(stored(&app, id).await.get(GRID), None);
        let (status, _) = post_page(&app, &mut b, 4, &page_answers(4)).await;
        assert_eq!(status, 303);
        let a = stored(&app, id).await;
        assert_eq!(a.get(GRID), None, "{backend:?}");
        assert_eq!(a.get("fatores_escolha"), None);
        // A grid item posted to another page is an unknown field there.
        let mut fields = page_answers(5);
        fields.push(("importancia_fatores__preco", "5"));
        let (status, body) = post_page(&app, &mut b, 5, &fields).await;
        assert_eq!(status, 422);
        assert!(body.contains("não pertencem a esta etapa"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn shuffled_options_keep_one_order_per_respondent_and_differ_between_respondents() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let mut orders = Vec::new();
        for i in 0..3 {
            let email = format!("ordem{i}@exemplo.com.br");
            let mut b = app.signup(&email).await;
            for n in 1..=3 {
                post_page(&app, &mut b, n, &page_answers(n)).await;
            }
            let first = option_order(&b.get(&app.service, "/survey/4").await.body);
            assert_eq!(first.len(), 12, "{first:?}");
            // Anchors last, in their own order.
            assert_eq!(
                first[10..],
                ["fatores_escolha-outros", "fatores_escolha-nenhum"]
            );
            // Again, and on a refused save of the page: the same order.
            assert_eq!(
                option_order(&b.get(&app.service, "/survey/4").await.body),
                first
            );
            let (status, body) =
                post_page(&app, &mut b, 4, &[("distancia_supermercado", "1a2km")]).await;
            assert_eq!(status, 422);
            assert_eq!(option_order(&body), first);
            // Another device (a new session after logging in again): the same order.
            let mut other = Browser::default();
            app.login(&mut other, &email, crate::helpers::GOOD_PASSWORD)
                .await;
            assert_eq!(
                option_order(&other.get(&app.service, "/survey/4").await.body),
                first
            );
            orders.push(first);
        }
        assert!(
            orders[0] != orders[1] || orders[1] != orders[2],
            "{backend:?}: three respondents, one order: {orders:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// Exports.

const SECRET: &[u8] = b"test-secret-test-secret-test-secret!";

/// A scale with a missing option, a grid asked only when `idade >= 30`, and a multi with
/// an "Outro" text.
const DEFINITION: &str = r#"
id = "teste_tipos"
version = 1
title = { pt = "Teste", en = "Test" }
intro = { pt = "Introdução", en = "Intro" }

[[pages]]
key = "p1"
title = { pt = "Página", en = "Page" }

[[pages.questions]]
key = "idade"
type = "integer"
min = 18
max = 120
text = { pt = "Idade?", en = "Age?" }

[[pages.questions]]
key = "satisfacao"
type = "scale"
required = false
text = { pt = "Satisfação?", en = "Satisfaction?" }
points = [{ value = 1, label = { pt = "Nada", en = "None" } }, { value = 2 }, { value = 3, label = { pt = "Muito", en = "Very" } }]
missing = [{ value = "nao_sei", label = { pt = "Não sei", en = "Don't know" } }]

[[pages.questions]]
key = "lojas"
type = "multi"
required = false
text = { pt = "Onde compra?", en = "Where?" }
options = [
  { value = "mercado", label = { pt = "Mercado", en = "Market" } },
  { value = "outros", label = { pt = "Outro", en = "Other" }, other_text = true, other_max_length = 40 },
]

[[pages]]
key = "p2"
title = { pt = "Mais", en = "More" }
show_if = "idade >= 30"

[[pages.questions]]
key = "pesa"
type = "grid"
text = { pt = "Quanto pesa?", en = "How much?" }
points = [{ value = 1 }, { value = 2 }, { value = 3 }]
missing = [{ value = "nao_sei", label = { pt = "Não sei", en = "Don't know" } }]
items = [
  { key = "preco", label = { pt = "Preço", en = "Price" } },
  { key = "dist", label = { pt = "Distância", en = "Distance" } },
]
"#;

fn definition() -> Definition {
    Definition::parse(DEFINITION).unwrap_or_else(|e| panic!("test definition: {e}"))
}

/// (idade, satisfacao, lojas, outro text, grid preco, grid dist)
type Known = (
    i64,
    Option<&'static str>,
    &'static [&'static str],
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
);
const KNOWN: [Known; 4] = [
    (25, Some("3"), &["mercado"], None, None, None),
    (
        40,
        Some("nao_sei"),
        &["outros"],
        Some("feira, livre"),
        Some("3"),
        Some("nao_sei"),
    ),
    (50, None, &[], None, Some("1"), Some("2")),
    (
        60,
        Some("1"),
        &["mercado", "outros"],
        Some("sacolão"),
        Some("3"),
        Some("3"),
    ),
];

async fn insert_known(db: &DbPool) -> Result<(), DbError> {
    let t =
        NaiveDateTime::parse_from_str("2026-11-27 21:05:00", "%Y-%m-%d %H:%M:%S").expect("time");
    for (idade, satisfacao, lojas, outro, preco, dist) in KNOWN {
        let mut a = Answers::new();
        a.insert("idade", AnswerValue::Integer(idade));
        if let Some(v) = satisfacao {
            a.insert("satisfacao", AnswerValue::Single(v.into()));
        }
        if !lojas.is_empty() {
            a.insert(
                "lojas",
                AnswerValue::Multi(lojas.iter().map(|s| s.to_string()).collect()),
            );
        }
        if let Some(v) = outro {
            a.insert("lojas__outro", AnswerValue::Text(v.into()));
        }
        let mut grid = std::collections::BTreeMap::new();
        for (item, v) in [("preco", preco), ("dist", dist)] {
            if let Some(v) = v {
                grid.insert(item.to_string(), v.to_string());
            }
        }
        if !grid.is_empty() {
            a.insert("pesa", AnswerValue::Grid(grid));
        }
        let json = serde_json::to_string(&a).expect("json");
        pesquisa::with_conn!(db, |conn| {
            diesel::insert_into(responses::table)
                .values((
                    responses::user_id.eq(None::<i64>),
                    responses::definition_id.eq("teste_tipos"),
                    responses::definition_version.eq(1),
                    responses::answers.eq(&json),
                    responses::bairro.eq("CENTRO"),
                    responses::current_page.eq(2),
                    responses::revision.eq(1_i64),
                    responses::created_at.eq(t),
                    responses::updated_at.eq(t),
                    responses::submitted_at.eq(Some(t)),
                ))
                .execute(conn)
                .await?;
            Ok::<(), DbError>(())
        })?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn csv_and_codebook_have_item_columns_other_texts_and_not_asked_codes() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        insert_known(app.db()).await.expect("insert");
        let def = definition();
        let opts = ExportOptions::default();
        let (_, out) = export::export(app.db(), &def, SECRET, &opts, Vec::new())
            .await
            .expect("export");
        let csv = String::from_utf8(out).expect("utf-8");
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let header: Vec<String> = reader
            .headers()
            .expect("header")
            .iter()
            .map(str::to_string)
            .collect();
        let at = |name: &str| {
            header
                .iter()
                .position(|h| h == name)
                .unwrap_or_else(|| panic!("{name} in {header:?}"))
        };
        for name in ["satisfacao", "lojas__outro", "pesa__preco", "pesa__dist"] {
            at(name);
        }
        assert!(
            !header.iter().any(|h| h == "pesa"),
            "a grid has only item columns"
        );
        assert!(
            at("lojas__outro") > at("lojas__mercado"),
            "the text follows its question"
        );
        let mut rows: Vec<Vec<String>> = reader
            .records()
            .map(|r| r.expect("row").iter().map(str::to_string).collect())
            .collect();
        rows.sort_by_key(|r| r[at("idade")].parse::<i64>().unwrap_or(0));
        let cells = |r: &Vec<String>| {
            ["satisfacao", "lojas__outro", "pesa__preco", "pesa__dist"].map(|c| r[at(c)].clone())
        };
        // Under 30: the grid was not asked (-2), which differs from unanswered (empty).
        assert_eq!(cells(&rows[0]), ["3", "", "-2", "-2"], "{backend:?}");
        assert_eq!(cells(&rows[1]), ["nao_sei", "feira, livre", "3", "nao_sei"]);
        assert_eq!(cells(&rows[2]), ["", "", "1", "2"]);
        assert_eq!(cells(&rows[3]), ["1", "sacolão", "3", "3"]);

        let book =
            String::from_utf8(export::codebook(&def, &opts).expect("codebook")).expect("utf-8");
        assert!(
            book.contains(
                "\r\npesa__preco,grid,Quanto pesa? — Preço,1=1 | 2=2 | 3=3 | nao_sei=Não sei,"
            ),
            "{book}"
        );
        assert!(book.contains("item `preco` da grade `pesa`; escala de 1 a 3; nao_sei = Não sei (resposta válida, fora da média"), "{book}");
        assert!(book.contains("-2 = não perguntada"), "{book}");
        assert!(
            book.contains("\r\nlojas__outro,text,Onde compra? — Outro: qual,,"),
            "{book}"
        );
        assert!(
            book.contains(
                "até 40 caracteres, pedido só quando a opção `outros` de `lojas` foi escolhida"
            ),
            "{book}"
        );
        assert!(
            book.contains(
                "\r\nsatisfacao,scale,Satisfação?,1=1 – Nada | 2=2 | 3=3 – Muito | nao_sei=Não sei,"
            ),
            "{book}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn pspp_reads_grid_items_scales_and_other_texts_with_labels_and_missing_codes() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        insert_known(app.db()).await.expect("insert");
        let dir = std::env::temp_dir().join(unique("pesquisa-tipos-"));
        std::fs::create_dir_all(&dir).expect("dir");
        let files = LabelledFiles::create(&dir.join("respostas"), Format::Spss).expect("files");
        let paths = files.paths.clone();
        let opts = ExportOptions {
            format: Format::Spss,
            ..ExportOptions::default()
        };
        let summary = export::export_labelled(app.db(), &definition(), SECRET, &opts, files)
            .await
            .expect("export");
        assert_eq!(summary.rows, 4);
        // Codes: a point is its number, "não sei" 99, not asked -2.
        let data = std::fs::read_to_string(&paths.data).expect("csv");
        assert!(data.contains(",99,"), "{data}");
        let mut script = std::fs::read_to_string(&paths.syntax).expect("sps");
        assert!(script.contains("pesa__preco"), "{script}");
        script.push_str("DISPLAY DICTIONARY.\nFREQUENCIES pesa__preco pesa__dist satisfacao.\nDESCRIPTIVES pesa__preco satisfacao.\nLIST idade lojas__outro.\n");
        let checked = dir.join("check.sps");
        std::fs::write(&checked, script).expect("write");
        let out = run(Command::new("pspp")
            .args(["-O", "format=csv", "-o", "-"])
            .arg(&checked)
            .current_dir(&dir));
        assert!(
            !out.contains("error:") && !out.contains("warning:"),
            "{out}"
        );
        let rows: Vec<Vec<String>> = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(out.as_bytes())
            .records()
            .filter_map(Result::ok)
            .map(|r| r.iter().map(str::to_string).collect())
            .collect();
        let has = |cells: &[&str]| {
            rows.iter().any(|r| {
                r.len() >= cells.len() && r.iter().zip(cells).all(|(got, want)| got == want)
            })
        };
        // Value labels: the points, "não sei" (99) and "not asked" (-2) declared missing.
        let labels = value_labels(&rows);
        for (variable, value, label) in [
            ("Quanto pesa? — Preço", "1", "1"),
            ("Quanto pesa? — Preço", "99[a]", "Não sei"),
            ("Quanto pesa? — Preço", "-2[a]", "Não perguntada"),
            ("Satisfação?", "3", "3 – Muito"),
            ("Satisfação?", "99[a]", "Não sei"),
        ] {
            assert!(
                labels.contains(&(variable.to_string(), value.to_string(), label.to_string())),
                "{variable} {value} {label}: {labels:?}"
            );
        }
        let table = |title: &str| {
            let mut found = frequencies(&rows, title);
            found.sort();
            found
        };
        let want = |mut v: Vec<(&str, u32, bool)>| {
            v.sort();
            v.into_iter()
                .map(|(l, n, m)| (l.to_string(), n, m))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            table("Quanto pesa? — Preço"),
            want(vec![
                ("3", 2, false),
                ("1", 1, false),
                ("Não perguntada", 1, true)
            ]),
            "{out}"
        );
        assert_eq!(
            table("Quanto pesa? — Distância"),
            want(vec![
                ("2", 1, false),
                ("3", 1, false),
                ("Não sei", 1, true),
                ("Não perguntada", 1, true)
            ]),
            "{out}"
        );
        assert_eq!(
            table("Satisfação?"),
            want(vec![
                ("1 – Nada", 1, false),
                ("3 – Muito", 1, false),
                ("Não sei", 1, true),
                (".", 1, true)
            ]),
            "{out}"
        );
        // The mean leaves out "não sei" (99) and "not asked" (-2): pesa__preco is 3, 1, 3.
        assert!(
            rows.iter().any(|r| r
                .iter()
                .next()
                .is_some_and(|c| c.starts_with("Quanto pesa? — Preço"))
                && r.iter().any(|c| c == "2.33")),
            "mean 2.33 in\n{out}"
        );
        // The other text is a string variable, read as written.
        assert!(
            has(&["40", "feira, livre"]) && has(&["60", "sacolão"]),
            "{out}"
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
