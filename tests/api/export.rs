//! `pesquisa export`: exact output for a fixed set of responses in every format and
//! profile, pseudonymous ids, filters, personal data and its audit entry, codebook,
//! manifest hash, no partial files, and the binary's exit codes.

use std::path::Path;
use std::process::{Command, Stdio};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use pesquisa::db::schema::responses;
use pesquisa::db::{DbError, DbPool, audit, users};
use pesquisa::export::{self, CsvProfile, ExportOptions, Filters, Format, Manifest};
use pesquisa::survey::{AnswerValue, Answers, Definition};
use sha2::{Digest, Sha256};

use crate::helpers::{ALL_BACKENDS, TestApp, unique};

const SECRET: &[u8] = b"test-secret-test-secret-test-secret!";

/// A small questionnaire covering every type and derived column.
const DEFINITION: &str = r#"
id = "teste_export"
version = 3
title = { pt = "Teste", en = "Test" }
intro = { pt = "Introdução", en = "Intro" }

[[pages]]
key = "p1"
title = { pt = "Página", en = "Page" }

[[pages.questions]]
key = "idade"
type = "integer"
role = "age"
min = 18
max = 120
text = { pt = "Quantos anos você tem?", en = "Age?" }

[[pages.questions]]
key = "renda"
type = "single"
role = "household_income"
unit = "salario_minimo"
text = { pt = "Renda do domicílio?", en = "Income?" }
options = [
  { value = "ate_2sm", label = { pt = "Até 2 SM", en = "Up to 2" }, lower = 0, upper = 2 },
  { value = "acima_20sm", label = { pt = "Acima de 20 SM", en = "Over 20" }, lower = 20 },
  { value = "nao_informar", label = { pt = "Prefiro não informar", en = "Rather not say" }, excluded = true },
]

[[pages.questions]]
key = "fatores"
type = "multi"
min = 1
max = 2
text = { pt = "O que pesa?", en = "What matters?" }
options = [
  { value = "preco", label = { pt = "Preço", en = "Price" } },
  { value = "entrega", label = { pt = "Entrega", en = "Delivery" } },
]

[[pages.questions]]
key = "valor"
type = "single"
role = "spend_per_trip"
unit = "reais"
text = { pt = "Quanto gasta por compra?", en = "Spend per trip?" }
options = [
  { value = "101a500", label = { pt = "De R$ 101 a R$ 500", en = "R$ 101 to 500" }, lower = 101, upper = 500 },
  { value = "acima_2000", label = { pt = "Acima de R$ 2.000", en = "Over R$ 2,000" }, lower = 2000 },
]

[[pages.questions]]
key = "mercado"
type = "text"
required = false
max_length = 80
text = { pt = "Onde compra?", en = "Where?" }
"#;

fn definition() -> Definition {
    Definition::parse(DEFINITION).expect("test definition")
}

fn at(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").expect("time")
}

struct Fixture {
    /// Database ids of the three responses, in insertion order.
    ids: Vec<i64>,
}

impl Fixture {
    fn pseudonyms(&self) -> Vec<String> {
        self.ids
            .iter()
            .map(|id| export::pseudonym::response_id(SECRET, *id))
            .collect()
    }
}

async fn insert_response(
    db: &DbPool,
    user_id: Option<i64>,
    answers: &Answers,
    bairro: &str,
    updated: NaiveDateTime,
    submitted: Option<NaiveDateTime>,
) -> Result<(), DbError> {
    let json = serde_json::to_string(answers).expect("json");
    pesquisa::with_conn!(db, |conn| {
        diesel::insert_into(responses::table)
            .values((
                responses::user_id.eq(user_id),
                responses::definition_id.eq("teste_export"),
                responses::definition_version.eq(3),
                responses::answers.eq(&json),
                responses::bairro.eq(bairro),
                responses::current_page.eq(1),
                responses::revision.eq(1_i64),
                responses::created_at.eq(updated),
                responses::updated_at.eq(updated),
                responses::submitted_at.eq(submitted),
            ))
            .execute(conn)
            .await?;
        Ok(())
    })
}

async fn try_sql(db: &DbPool, statement: &str) -> Result<usize, DbError> {
    pesquisa::with_conn!(db, |conn| {
        diesel::sql_query(statement)
            .execute(conn)
            .await
            .map_err(DbError::from)
    })
}

async fn sql(db: &DbPool, statement: &str) {
    try_sql(db, statement)
        .await
        .unwrap_or_else(|e| panic!("{statement}: {e}"));
}

async fn response_ids(db: &DbPool) -> Result<Vec<i64>, DbError> {
    pesquisa::with_conn!(db, |conn| {
        responses::table
            .select(responses::id)
            .order(responses::id.asc())
            .load::<i64>(conn)
            .await
            .map_err(DbError::from)
    })
}

async fn create_user(db: &DbPool, email: &str, nome: &str, telefone: Option<&str>) -> i64 {
    let now = users::now();
    users::create(
        db,
        &users::NewUser {
            email,
            password_hash: "x",
            role: "respondent",
            nome,
            sobrenome: "Souza",
            telefone,
            bairro: "JARDIM SÃO JOSÉ",
            adult_declared_at: None,
            created_at: now,
            updated_at: now,
        },
        &[],
    )
    .await
    .expect("user")
}

/// Three responses: a submitted one with a formula-like text, a draft, and a submitted
/// one detached from its account with "prefiro não informar" and quotes in the text.
async fn fixture(app: &TestApp) -> Fixture {
    let db = app.db();
    let ana = create_user(db, "ana@exemplo.com.br", "Ana", Some("12998765432")).await;
    let bruno = create_user(db, "bruno@exemplo.com.br", "Bruno", None).await;
    let answers = |pairs: Vec<(&str, AnswerValue)>| -> Answers {
        pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    };
    let single = |v: &str| AnswerValue::Single(v.into());
    let r1 = answers(vec![
        ("idade", AnswerValue::Integer(34)),
        ("renda", single("ate_2sm")),
        ("fatores", AnswerValue::Multi(vec!["preco".into()])),
        ("valor", single("101a500")),
        (
            "mercado",
            AnswerValue::Text("=HYPERLINK(\"http://x\")".into()),
        ),
    ]);
    let r2 = answers(vec![
        ("idade", AnswerValue::Integer(51)),
        ("renda", single("acima_20sm")),
        ("valor", single("acima_2000")),
    ]);
    let r3 = answers(vec![
        ("idade", AnswerValue::Integer(72)),
        ("renda", single("nao_informar")),
        (
            "fatores",
            AnswerValue::Multi(vec!["preco".into(), "entrega".into()]),
        ),
        (
            "mercado",
            AnswerValue::Text("Mercado \"Bom Preço\", centro".into()),
        ),
    ]);
    let t1 = at("2026-11-27 21:05:00");
    let t3 = at("2026-12-01 12:30:45");
    insert_response(db, Some(ana), &r1, "JARDIM SÃO JOSÉ", t1, Some(t1))
        .await
        .expect("r1");
    insert_response(
        db,
        Some(bruno),
        &r2,
        "VILA INDUSTRIAL",
        at("2026-11-28 10:00:00"),
        None,
    )
    .await
    .expect("r2");
    insert_response(db, None, &r3, "JARDIM SÃO JOSÉ", t3, Some(t3))
        .await
        .expect("r3");
    let ids = response_ids(db).await.expect("ids");
    assert_eq!(ids.len(), 3);
    Fixture { ids }
}

async fn run(app: &TestApp, opts: &ExportOptions) -> String {
    let (_, out) = export::export(app.db(), &definition(), SECRET, opts, Vec::new())
        .await
        .expect("export");
    String::from_utf8(out).expect("utf-8")
}

fn opts(format: Format, csv_profile: CsvProfile) -> ExportOptions {
    ExportOptions {
        format,
        csv_profile,
        ..ExportOptions::default()
    }
}

const HEADER: &str = "response_id,definition_version,submitted_at,updated_at,bairro,peso,qualidade,qualidade__rapido,qualidade__linha_reta,qualidade__inconsistente,qualidade__duplicado,idade,renda,\
renda__ponto_medio,classe_renda,fatores__preco,fatores__entrega,valor,valor__ponto_medio,mercado";

#[tokio::test(flavor = "multi_thread")]
async fn csv_and_jsonl_match_the_expected_text_on_both_backends() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let fx = fixture(&app).await;
        let [p1, p2, p3] = <[String; 3]>::try_from(fx.pseudonyms()).expect("three");

        let expected_csv = format!(
            "{HEADER}\r\n\
             {p1},3,2026-11-27T21:05:00Z,2026-11-27T21:05:00Z,JARDIM SÃO JOSÉ,1,,0,0,0,0,34,ate_2sm,1,E,1,0,101a500,300.5,\"'=HYPERLINK(\"\"http://x\"\")\"\r\n\
             {p2},3,,2026-11-28T10:00:00Z,VILA INDUSTRIAL,1,,0,0,0,0,51,acima_20sm,30,A,,,acima_2000,3000,\r\n\
             {p3},3,2026-12-01T12:30:45Z,2026-12-01T12:30:45Z,JARDIM SÃO JOSÉ,1,,0,0,0,0,72,nao_informar,,,1,1,,,\"Mercado \"\"Bom Preço\"\", centro\"\r\n"
        );
        let csv = run(&app, &opts(Format::Csv, CsvProfile::Rfc4180)).await;
        assert_eq!(csv, expected_csv, "{backend:?}");

        // Keyset pagination: one row per query gives the same bytes.
        let mut one_by_one = opts(Format::Csv, CsvProfile::Rfc4180);
        one_by_one.batch_size = 1;
        assert_eq!(run(&app, &one_by_one).await, expected_csv, "{backend:?}");

        let expected_br = format!(
            "\u{feff}{}\r\n\
             {p1};3;2026-11-27T21:05:00Z;2026-11-27T21:05:00Z;JARDIM SÃO JOSÉ;1;;0;0;0;0;34;ate_2sm;1;E;1;0;101a500;300,5;\"'=HYPERLINK(\"\"http://x\"\")\"\r\n\
             {p2};3;;2026-11-28T10:00:00Z;VILA INDUSTRIAL;1;;0;0;0;0;51;acima_20sm;30;A;;;acima_2000;3000;\r\n\
             {p3};3;2026-12-01T12:30:45Z;2026-12-01T12:30:45Z;JARDIM SÃO JOSÉ;1;;0;0;0;0;72;nao_informar;;;1;1;;;\"Mercado \"\"Bom Preço\"\", centro\"\r\n",
            HEADER.replace(',', ";")
        );
        let br = run(&app, &opts(Format::Csv, CsvProfile::ExcelBr)).await;
        assert_eq!(br, expected_br, "{backend:?}");

        let expected_jsonl = format!(
            "{{\"response_id\":\"{p1}\",\"definition_version\":3,\"submitted_at\":\"2026-11-27T21:05:00Z\",\"updated_at\":\"2026-11-27T21:05:00Z\",\"bairro\":\"JARDIM SÃO JOSÉ\",\"peso\":1,\"qualidade\":null,\"qualidade__rapido\":0,\"qualidade__linha_reta\":0,\"qualidade__inconsistente\":0,\"qualidade__duplicado\":0,\"idade\":34,\"renda\":\"ate_2sm\",\"renda__ponto_medio\":1,\"classe_renda\":\"E\",\"fatores__preco\":1,\"fatores__entrega\":0,\"valor\":\"101a500\",\"valor__ponto_medio\":300.5,\"mercado\":\"=HYPERLINK(\\\"http://x\\\")\"}}\n\
             {{\"response_id\":\"{p2}\",\"definition_version\":3,\"submitted_at\":null,\"updated_at\":\"2026-11-28T10:00:00Z\",\"bairro\":\"VILA INDUSTRIAL\",\"peso\":1,\"qualidade\":null,\"qualidade__rapido\":0,\"qualidade__linha_reta\":0,\"qualidade__inconsistente\":0,\"qualidade__duplicado\":0,\"idade\":51,\"renda\":\"acima_20sm\",\"renda__ponto_medio\":30,\"classe_renda\":\"A\",\"fatores__preco\":null,\"fatores__entrega\":null,\"valor\":\"acima_2000\",\"valor__ponto_medio\":3000,\"mercado\":null}}\n\
             {{\"response_id\":\"{p3}\",\"definition_version\":3,\"submitted_at\":\"2026-12-01T12:30:45Z\",\"updated_at\":\"2026-12-01T12:30:45Z\",\"bairro\":\"JARDIM SÃO JOSÉ\",\"peso\":1,\"qualidade\":null,\"qualidade__rapido\":0,\"qualidade__linha_reta\":0,\"qualidade__inconsistente\":0,\"qualidade__duplicado\":0,\"idade\":72,\"renda\":\"nao_informar\",\"renda__ponto_medio\":null,\"classe_renda\":null,\"fatores__preco\":1,\"fatores__entrega\":1,\"valor\":null,\"valor__ponto_medio\":null,\"mercado\":\"Mercado \\\"Bom Preço\\\", centro\"}}\n"
        );
        let jsonl = run(&app, &opts(Format::Jsonl, CsvProfile::Rfc4180)).await;
        assert_eq!(jsonl, expected_jsonl, "{backend:?}");
        for line in jsonl.lines() {
            serde_json::from_str::<serde_json::Value>(line).expect("each line is JSON");
        }

        // XLSX, opened and read back: numbers as numbers, text as typed (a string cell
        // is never a formula), empty cells empty, times as Excel dates of the study's
        // zone (São Paulo, UTC−3, by default).
        let (_, xlsx) = export::export(
            app.db(),
            &definition(),
            SECRET,
            &opts(Format::Xlsx, CsvProfile::Rfc4180),
            Vec::new(),
        )
        .await
        .expect("xlsx export");
        let mut book: calamine::Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx)).expect("opens as xlsx");
        let sheet = calamine::Reader::worksheet_range(&mut book, "respostas").expect("sheet");
        let cell = |d: &calamine::Data| match d {
            calamine::Data::String(s) => format!("s:{s}"),
            calamine::Data::Float(f) => format!("n:{f}"),
            calamine::Data::Int(i) => format!("n:{i}"),
            calamine::Data::Empty => String::new(),
            // An Excel date: days since 1899-12-30 (25569 is 1970-01-01), shown as the
            // wall-clock time it holds.
            calamine::Data::DateTime(d) => {
                let secs = ((d.as_f64() - 25_569.0) * 86_400.0).round() as i64;
                let t = chrono::DateTime::from_timestamp(secs, 0).expect("time");
                format!("d:{}", t.format("%Y-%m-%d %H:%M:%S"))
            }
            other => format!("?{other:?}"),
        };
        let got: Vec<Vec<String>> = sheet.rows().map(|r| r.iter().map(cell).collect()).collect();
        let row = |cells: &[&str]| cells.iter().map(|c| c.to_string()).collect::<Vec<_>>();
        let header: Vec<String> = HEADER.split(',').map(|h| format!("s:{h}")).collect();
        let (s1, s2, s3) = (format!("s:{p1}"), format!("s:{p2}"), format!("s:{p3}"));
        let expected = vec![
            header,
            row(&[
                &s1,
                "n:3",
                "d:2026-11-27 18:05:00",
                "d:2026-11-27 18:05:00",
                "s:JARDIM SÃO JOSÉ",
                "n:1",
                "",
                "n:0",
                "n:0",
                "n:0",
                "n:0",
                "n:34",
                "s:ate_2sm",
                "n:1",
                "s:E",
                "n:1",
                "n:0",
                "s:101a500",
                "n:300.5",
                "s:=HYPERLINK(\"http://x\")",
            ]),
            row(&[
                &s2,
                "n:3",
                "",
                "d:2026-11-28 07:00:00",
                "s:VILA INDUSTRIAL",
                "n:1",
                "",
                "n:0",
                "n:0",
                "n:0",
                "n:0",
                "n:51",
                "s:acima_20sm",
                "n:30",
                "s:A",
                "",
                "",
                "s:acima_2000",
                "n:3000",
                "",
            ]),
            row(&[
                &s3,
                "n:3",
                "d:2026-12-01 09:30:45",
                "d:2026-12-01 09:30:45",
                "s:JARDIM SÃO JOSÉ",
                "n:1",
                "",
                "n:0",
                "n:0",
                "n:0",
                "n:0",
                "n:72",
                "s:nao_informar",
                "",
                "",
                "n:1",
                "n:1",
                "",
                "",
                "s:Mercado \"Bom Preço\", centro",
            ]),
        ];
        assert_eq!(got, expected, "{backend:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn pseudonymous_ids_are_stable_and_no_personal_data_without_the_flag() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let fx = fixture(&app).await;
        let o = opts(Format::Csv, CsvProfile::Rfc4180);
        let first = run(&app, &o).await;
        assert_eq!(first, run(&app, &o).await, "stable across runs");
        let ids: Vec<&str> = first
            .lines()
            .skip(1)
            .map(|l| l.split(',').next().unwrap_or(""))
            .collect();
        assert_eq!(ids, fx.pseudonyms());
        for (pseudonym, db_id) in ids.iter().zip(&fx.ids) {
            assert_eq!(pseudonym.len(), 16);
            assert!(pseudonym.bytes().all(|b| b.is_ascii_hexdigit()));
            assert_ne!(*pseudonym, db_id.to_string());
        }
        // Another secret, other ids.
        let (_, other) = export::export(app.db(), &definition(), b"another-secret", &o, Vec::new())
            .await
            .expect("export");
        assert!(!String::from_utf8(other).expect("utf-8").contains(ids[0]));

        for format in [Format::Csv, Format::Jsonl] {
            let out = run(&app, &opts(format, CsvProfile::Rfc4180)).await;
            for personal in [
                "ana@exemplo",
                "bruno@",
                "Ana",
                "Souza",
                "99876",
                "email",
                "nome",
            ] {
                assert!(!out.contains(personal), "{personal} in {format:?}: {out}");
            }
        }
        let entries = audit::recent(app.db(), 50).await.expect("audit");
        assert!(
            entries.iter().all(|e| e.action != "export.personal_data"),
            "no audit entry without personal data"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn personal_data_is_audited_and_refused_when_the_audit_cannot_be_written() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let fx = fixture(&app).await;
        let [p1, p2, p3] = <[String; 3]>::try_from(fx.pseudonyms()).expect("three");
        let mut o = opts(Format::Csv, CsvProfile::Rfc4180);
        o.include_personal_data = true;
        o.filters.complete_only = true;
        let out = run(&app, &o).await;
        let lines: Vec<&str> = out.lines().collect();
        assert!(
            lines[0].starts_with(
                "response_id,definition_version,submitted_at,updated_at,bairro,peso,qualidade,qualidade__rapido,qualidade__linha_reta,qualidade__inconsistente,qualidade__duplicado,nome,sobrenome,email,telefone,idade,"
            ),
            "{}",
            lines[0]
        );
        assert!(
            lines[1].starts_with(&format!(
                "{p1},3,2026-11-27T21:05:00Z,2026-11-27T21:05:00Z,JARDIM SÃO JOSÉ,1,,0,0,0,0,Ana,Souza,ana@exemplo.com.br,12998765432,34,"
            )),
            "{}",
            lines[1]
        );
        // The response detached from its account has no personal data to show.
        assert!(
            lines[2].starts_with(&format!(
                "{p3},3,2026-12-01T12:30:45Z,2026-12-01T12:30:45Z,JARDIM SÃO JOSÉ,1,,0,0,0,0,,,,,72,"
            )),
            "{}",
            lines[2]
        );
        assert_eq!(lines.len(), 3, "draft {p2} filtered out");
        let entries = audit::recent(app.db(), 50).await.expect("audit");
        let logged: Vec<&str> = entries
            .iter()
            .filter(|e| e.action == "export.personal_data")
            .map(|e| e.detail.as_str())
            .collect();
        assert_eq!(logged, ["csv 2 rows"], "{backend:?}");

        // A database that refuses the audit insert (as a read-only user would).
        let trigger = match app.db() {
            DbPool::Sqlite(_) => {
                "CREATE TRIGGER no_audit BEFORE INSERT ON audit_log \
                 BEGIN SELECT RAISE(ABORT, 'read-only'); END"
            }
            DbPool::Mysql(_) => {
                "CREATE TRIGGER no_audit BEFORE INSERT ON audit_log FOR EACH ROW \
                 SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'read-only'"
            }
        };
        sql(app.db(), trigger).await;
        let dir = std::env::temp_dir().join(unique("pesquisa-export-"));
        std::fs::create_dir_all(&dir).expect("dir");
        let target = dir.join("pessoas.csv");
        let err = export::export_to_file(app.db(), &definition(), SECRET, &o, &target)
            .await
            .expect_err("refused")
            .to_string();
        assert!(
            err.contains("personal data") && err.contains("audit"),
            "{err}"
        );
        assert_eq!(
            std::fs::read_dir(&dir).expect("ls").count(),
            0,
            "no file left"
        );
        // Without personal data the same database still exports.
        o.include_personal_data = false;
        export::export_to_file(app.db(), &definition(), SECRET, &o, &target)
            .await
            .expect("pseudonymous export needs no write");
        assert!(target.exists());
        std::fs::remove_dir_all(&dir).ok();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn filters_select_the_expected_rows() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let fx = fixture(&app).await;
        let p = fx.pseudonyms();
        let ids_for = |filters: Filters| {
            let mut o = opts(Format::Csv, CsvProfile::Rfc4180);
            o.filters = filters;
            o
        };
        let cases: Vec<(Filters, Vec<&str>)> = vec![
            (Filters::default(), vec![&p[0], &p[1], &p[2]]),
            (
                Filters {
                    complete_only: true,
                    ..Filters::default()
                },
                vec![&p[0], &p[2]],
            ),
            (
                Filters {
                    since: Some(at("2026-11-28 00:00:00")),
                    ..Filters::default()
                },
                vec![&p[1], &p[2]],
            ),
            (
                // Inclusive upper bound at the exact second.
                Filters {
                    until: Some(at("2026-11-28 10:00:00")),
                    ..Filters::default()
                },
                vec![&p[0], &p[1]],
            ),
            (
                Filters {
                    bairro: Some("VILA INDUSTRIAL".into()),
                    ..Filters::default()
                },
                vec![&p[1]],
            ),
            (
                Filters {
                    bairro: Some("JARDIM SÃO JOSÉ".into()),
                    since: Some(at("2026-11-27 21:05:01")),
                    complete_only: true,
                    ..Filters::default()
                },
                vec![&p[2]],
            ),
            (
                Filters {
                    bairro: Some("NENHUM".into()),
                    ..Filters::default()
                },
                vec![],
            ),
        ];
        for (filters, expected) in cases {
            let out = run(&app, &ids_for(filters.clone())).await;
            let got: Vec<&str> = out
                .lines()
                .skip(1)
                .map(|l| l.split(',').next().unwrap_or(""))
                .collect();
            assert_eq!(got, expected, "{backend:?} {filters:?}");
            assert!(out.starts_with(HEADER), "header even when empty");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn manifest_hash_equals_the_file_and_codebook_describes_every_column() {
    let app = TestApp::spawn(crate::helpers::Backend::SqliteMemory).await;
    fixture(&app).await;
    let dir = std::env::temp_dir().join(unique("pesquisa-export-"));
    std::fs::create_dir_all(&dir).expect("dir");
    let def = definition();
    let mut o = opts(Format::Jsonl, CsvProfile::Rfc4180);
    o.filters.complete_only = true;
    let target = dir.join("respostas.jsonl");
    let summary = export::export_to_file(app.db(), &def, SECRET, &o, &target)
        .await
        .expect("export");
    let bytes = std::fs::read(&target).expect("read");
    let manifest = Manifest::new(&summary, &def, &o, Some(&target), chrono::Utc::now());
    let json: serde_json::Value = serde_json::from_str(&manifest.to_json()).expect("json");
    assert_eq!(json["sha256"], hex::encode(Sha256::digest(&bytes)));
    assert_eq!(json["rows"], 2);
    assert_eq!(json["bytes"], bytes.len());
    assert_eq!(json["definition_id"], "teste_export");
    assert_eq!(json["definition_version"], 3);
    assert_eq!(json["format"], "jsonl");
    assert_eq!(json["filters"]["complete_only"], true);
    assert_eq!(json["personal_data"], false);
    assert!(
        json["exported_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    assert_eq!(
        std::fs::read_dir(&dir).expect("ls").count(),
        1,
        "no temp file left"
    );

    let book = String::from_utf8(export::codebook(&def, &o).expect("codebook")).expect("utf-8");
    let lines: Vec<&str> = book.lines().collect();
    assert_eq!(lines[0], "column,type,question_pt,options,notes");
    let columns: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l.split(',').next().unwrap_or(""))
        .collect();
    assert_eq!(columns.join(","), HEADER, "one line per column, same order");
    assert!(book.contains(
        "\r\nrenda,single,Renda do domicílio?,ate_2sm=Até 2 SM | acima_20sm=Acima de 20 SM | nao_informar=Prefiro não informar,\"-2 = não perguntada (condição, triagem ou versão do questionário sem esta pergunta); vazio = não respondida\"\r\n"
    ), "{book}");
    assert!(book.contains(
        "\r\nfatores__entrega,flag,O que pesa? — Entrega,1=marcada | 0=não marcada,\"opção `entrega` da pergunta múltipla `fatores`; -2 = não perguntada (condição, triagem ou versão do questionário sem esta pergunta); vazio = não respondida\"\r\n"
    ), "{book}");
    assert!(book.contains(
        "\r\nvalor__ponto_medio,number,Ponto médio da faixa: Quanto gasta por compra?,101a500=300.5 | acima_2000=3000,unidade: reais; faixa fechada = (inferior + superior) / 2; faixa aberta (sem limite superior) = 1.5 × limite inferior; vazio = não respondida ou excluída\r\n"
    ), "{book}");
    assert!(book.contains("\r\nclasse_renda,category,Classe social por renda familiar (de `renda`),ate_2sm=E | acima_20sm=A | nao_informar=(vazio),"), "{book}");
    assert!(
        book.contains("\r\nidade,integer,Quantos anos você tem?,,\"de 18 a 120; -2 = não perguntada (condição, triagem ou versão do questionário sem esta pergunta); vazio = não respondida\"\r\n"),
        "{book}"
    );

    // The shipped questionnaire: multi options and midpoints become columns.
    let shipped = pesquisa::survey::default_definition().expect("default");
    let names: Vec<String> = export::plan(&shipped, false)
        .into_iter()
        .map(|c| c.name)
        .collect();
    for name in [
        "fatores_escolha__preco",
        "fatores_escolha__entrega",
        "renda_familiar__ponto_medio",
        "classe_renda",
        "gasto_mensal__ponto_medio",
        "mercado_atual",
    ] {
        assert!(names.iter().any(|n| n == name), "{name} in {names:?}");
    }
    assert!(!names.iter().any(|n| n == "fatores_escolha"));
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn no_partial_file_when_the_output_cannot_be_written() {
    let app = TestApp::spawn(crate::helpers::Backend::SqliteMemory).await;
    fixture(&app).await;
    let dir = std::env::temp_dir().join(unique("pesquisa-export-"));
    let target = dir.join("missing").join("out.csv");
    let err = export::export_to_file(
        app.db(),
        &definition(),
        SECRET,
        &opts(Format::Csv, CsvProfile::Rfc4180),
        &target,
    )
    .await
    .expect_err("no directory")
    .to_string();
    assert!(err.contains("out.csv"), "{err}");
    assert!(!target.exists());
    assert!(!dir.exists());
}

// ---------------------------------------------------------------------------------
// The binary.

const CLI_SECRET: &str = "cli-export-secret-cli-export-secret-01";

/// The dashboard's CSV download (`export::download`): read to the end it is the export's
/// text; a client that goes away after the first chunk stops the export before its end.
/// Without that, the export would wait forever on the full channel (the timeout) or
/// read every row for nobody (`Complete`).
#[tokio::test(flavor = "multi_thread")]
async fn a_download_is_the_export_and_stops_when_the_client_leaves() {
    use export::download::{self, Ended};
    use futures_util::StreamExt;

    // About 90 bytes a row: some 11 chunks of the csv writer's 8 KiB buffer, more than
    // the channel and the writer hold ahead of the client (5).
    const ROWS: u64 = 1000;
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        for i in 0..ROWS {
            let answers: Answers = [
                (
                    "idade".to_string(),
                    AnswerValue::Integer(20 + i as i64 % 60),
                ),
                (
                    "mercado".to_string(),
                    AnswerValue::Text(format!("Mercado {i}")),
                ),
            ]
            .into_iter()
            .collect();
            let t = at("2026-11-27 08:00:00") + chrono::Duration::minutes(i as i64);
            insert_response(app.db(), None, &answers, "VILA INDUSTRIAL", t, Some(t))
                .await
                .expect("insert");
        }
        // Small batches: the export reads the database many times.
        let mut opts = opts(Format::Csv, CsvProfile::Rfc4180);
        opts.batch_size = 10;
        let start = || {
            download::stream(
                app.db().clone(),
                std::sync::Arc::new(definition()),
                SECRET.to_vec(),
                opts.clone(),
                256,
            )
        };

        let (body, finished) = start();
        let chunks: Vec<Vec<u8>> = body.map(|c| c.expect("chunk")).collect().await;
        assert!(chunks.len() > 8, "{backend:?}: {} chunks", chunks.len());
        let whole = String::from_utf8(chunks.concat()).expect("utf-8");
        assert_eq!(whole, run(&app, &opts).await, "{backend:?}");
        match finished.await.expect("join") {
            Ended::Complete(summary) => assert_eq!(summary.rows, ROWS, "{backend:?}"),
            other => panic!("{backend:?}: {other:?}"),
        }

        let (body, finished) = start();
        let mut body = Box::pin(body);
        let first = body.next().await.expect("a first chunk").expect("chunk");
        assert!(whole.as_bytes().starts_with(&first), "{backend:?}");
        drop(body);
        let ended = tokio::time::timeout(std::time::Duration::from_secs(20), finished)
            .await
            .unwrap_or_else(|_| panic!("{backend:?}: the export went on after the client left"))
            .expect("join");
        assert!(matches!(ended, Ended::Cancelled), "{backend:?}: {ended:?}");
    }
}

fn pesquisa(dir: &Path, db_url: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pesquisa"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PESQUISA_DATABASE__URL", db_url)
        .env("PESQUISA_DATABASE__CONNECT_TIMEOUT_SECS", "2")
        .env("PESQUISA_SESSION__SECRET", CLI_SECRET)
        .env("PESQUISA_LOGGING__LEVEL", "warn")
        .current_dir(dir)
        .stdin(Stdio::null());
    cmd
}

fn one_line_error(out: &std::process::Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("pesquisa: error: "), "{err}");
    err
}

#[test]
fn export_binary_exit_codes_stdout_and_manifest() {
    let dir = std::env::temp_dir().join(unique("pesquisa-export-cli-"));
    std::fs::create_dir_all(&dir).expect("dir");
    let db_url = format!("sqlite://{}/p.db", dir.display());

    // Nothing there yet: refused, and no database file created.
    let out = pesquisa(&dir, &db_url)
        .args(["export", "--format", "csv"])
        .output()
        .expect("run");
    assert!(one_line_error(&out).contains("does not exist"));
    assert!(!dir.join("p.db").exists());

    // An empty database: every migration pending, refused without migrating.
    std::fs::write(dir.join("p.db"), b"").expect("touch");
    let out = pesquisa(&dir, &db_url)
        .args(["export", "--format", "csv"])
        .output()
        .expect("run");
    assert!(one_line_error(&out).contains("pending migration"));
    let out = pesquisa(&dir, &db_url)
        .args(["migrate", "--pending"])
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&out.stdout).contains("pending"));

    let out = pesquisa(&dir, &db_url)
        .arg("migrate")
        .output()
        .expect("run");
    assert!(out.status.success());

    // Standard output, manifest on standard error.
    let out = pesquisa(&dir, &db_url)
        .args(["export", "--format", "csv", "--csv-profile", "excel-br"])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout.clone()).expect("utf-8");
    assert!(text.starts_with(
        "\u{feff}response_id;definition_version;submitted_at;updated_at;bairro;triagem;checagens_confirmadas;peso;qualidade;qualidade__rapido;qualidade__linha_reta;qualidade__inconsistente;qualidade__duplicado;idade;"
    ));
    assert_eq!(text.lines().count(), 1, "header only");
    let manifest: serde_json::Value =
        serde_json::from_slice(&out.stderr).expect("manifest is JSON");
    assert_eq!(manifest["rows"], 0);
    assert_eq!(manifest["sha256"], hex::encode(Sha256::digest(&out.stdout)));
    assert_eq!(manifest["definition_id"], "supermercado_zona_leste");
    assert_eq!(manifest["csv_profile"], "excel-br");

    // Files: output, codebook, manifest.
    let out = pesquisa(&dir, &db_url)
        .args([
            "export",
            "--format",
            "jsonl",
            "-o",
            "r.jsonl",
            "--codebook",
            "book.csv",
            "--manifest",
            "m.json",
            "--since",
            "2026-01-01",
            "--until",
            "2026-12-31T23:59:59-03:00",
        ])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stderr.is_empty());
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("m.json")).expect("m")).expect("json");
    let data = std::fs::read(dir.join("r.jsonl")).expect("data");
    assert_eq!(manifest["sha256"], hex::encode(Sha256::digest(&data)));
    assert_eq!(manifest["filters"]["since"], "2026-01-01T00:00:00Z");
    assert_eq!(manifest["filters"]["until"], "2027-01-01T02:59:59Z");
    let book = std::fs::read_to_string(dir.join("book.csv")).expect("book");
    assert!(book.contains("\r\nclasse_renda,category,"), "{book}");

    // Usage errors: exit 2 naming the flag.
    for args in [
        vec!["export", "--format", "xml"],
        vec!["export", "--format", "csv", "--csv-profile", "excel-us"],
        vec!["export", "--format", "csv", "--since", "2026-13-01"],
        vec!["export", "--format", "csv", "--until", "ontem"],
        vec!["export"],
    ] {
        let out = pesquisa(&dir, &db_url).args(&args).output().expect("run");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let flag = if args.len() > 3 { args[3] } else { "--format" };
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(flag),
            "{args:?}"
        );
    }
    let out = pesquisa(&dir, &db_url)
        .args([
            "export",
            "--format",
            "csv",
            "--since",
            "2026-12-02",
            "--until",
            "2026-12-01",
        ])
        .output()
        .expect("run");
    assert!(one_line_error(&out).contains("--since"));

    // Unwritable output: one line, exit 1, nothing left behind.
    let before = std::fs::read_dir(&dir).expect("ls").count();
    let out = pesquisa(&dir, &db_url)
        .args(["export", "--format", "csv", "-o", "missing/out.csv"])
        .output()
        .expect("run");
    assert!(one_line_error(&out).contains("missing/out.csv"));
    assert_eq!(std::fs::read_dir(&dir).expect("ls").count(), before);

    // Unreachable database: one line, exit 1, no output file.
    let out = pesquisa(&dir, "mysql://nobody@127.0.0.1:1/pesquisa")
        .args(["export", "--format", "csv", "-o", "down.csv"])
        .output()
        .expect("run");
    assert!(one_line_error(&out).contains("database"));
    assert!(!dir.join("down.csv").exists());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_stopped_export_leaves_no_file_and_its_temporary_file_is_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(unique("pesquisa-export-stop-"));
    std::fs::create_dir_all(&dir).expect("dir");
    let db_url = format!("sqlite://{}/pesquisa.db", dir.display());
    let run = |args: &[&str]| {
        let out = pesquisa(&dir, &db_url).args(args).output().expect("run");
        assert!(out.status.success(), "{args:?}: {out:?}");
    };
    run(&["migrate", "--create"]);
    // Enough rows that the export is still writing when the signal comes.
    run(&[
        "dev",
        "generate-responses",
        "--count",
        "60000",
        "--seed",
        "9",
    ]);
    for (signal, said) in [("TERM", "SIGTERM"), ("INT", "SIGINT")] {
        let output = dir.join("respostas.csv");
        let child = pesquisa(&dir, &db_url)
            .args([
                "export",
                "--format",
                "csv",
                "--include-personal-data",
                "--output",
            ])
            .arg(&output)
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        // Wait for the hidden temporary file, check its mode, then stop the export.
        let started = std::time::Instant::now();
        let temp = loop {
            let found = std::fs::read_dir(&dir)
                .expect("list")
                .filter_map(Result::ok)
                .map(|e| e.path())
                .find(|p| p.to_string_lossy().ends_with(".tmp"));
            if let Some(t) = found {
                break t;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(30),
                "no temporary file appeared"
            );
            std::thread::sleep(std::time::Duration::from_millis(2));
        };
        let mode = std::fs::metadata(&temp).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "personal data is readable by the owner only");
        let kill = Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .expect("kill");
        assert!(kill.success());
        let out = child.wait_with_output().expect("wait");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{signal}: {err}");
        assert!(err.contains(said), "{signal}: {err}");
        assert!(!temp.exists(), "{signal}: the temporary file was removed");
        assert!(!output.exists(), "{signal}: no output under the final name");
    }
    std::fs::remove_dir_all(dir).ok();
}

/// Runs one transaction updating the first and the last response's bairro the first
/// time the export writes, then passes everything through to a buffer.
struct UpdateDuringExport {
    pool: DbPool,
    first: i64,
    last: i64,
    updated: bool,
    out: Vec<u8>,
}

impl std::io::Write for UpdateDuringExport {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if !self.updated {
            self.updated = true;
            let (pool, first, last) = (self.pool.clone(), self.first, self.last);
            // The export is blocked here, between two of its batches, while the update
            // commits on another connection.
            let updated: Result<(), DbError> = tokio::task::block_in_place(|| {
                tokio::runtime::Handle::current().block_on(async move {
                    pesquisa::with_conn!(&pool, |conn| {
                        use diesel_async::SimpleAsyncConnection;
                        conn.batch_execute("BEGIN").await?;
                        for id in [first, last] {
                            conn.batch_execute(&format!(
                                "UPDATE responses SET bairro = 'NOVO' WHERE id = {id}"
                            ))
                            .await?;
                        }
                        conn.batch_execute("COMMIT").await?;
                        Ok(())
                    })
                })
            });
            updated.expect("update during the export");
        }
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The bairro column of the first and the last data line of a CSV export.
fn first_and_last_bairro(csv: &str) -> (String, String) {
    let bairro = |line: &str| line.split(',').nth(4).expect("bairro column").to_string();
    let lines: Vec<&str> = csv.lines().skip(1).collect();
    (bairro(lines[0]), bairro(lines[lines.len() - 1]))
}

/// An export reads one consistent snapshot: a transaction that updates the first and the
/// last response while the export runs (after its first rows are written, before its
/// last batch is read) shows in both rows or in neither, never in only the last one.
/// Batches read on separate connections, each seeing the latest commit, failed this.
#[tokio::test(flavor = "multi_thread")]
async fn an_export_is_one_snapshot_whatever_commits_during_it() {
    // Enough rows that the CSV writer's 8 KiB buffer is written out long before the end,
    // in small batches so that many are still to be read then.
    const ROWS: usize = 1000;
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        for i in 0..ROWS {
            let answers: Answers = [(
                "mercado".to_string(),
                AnswerValue::Text(format!("Mercado {i}")),
            )]
            .into_iter()
            .collect();
            let t = at("2026-11-27 08:00:00") + chrono::Duration::minutes(i as i64);
            insert_response(app.db(), None, &answers, "VELHO", t, Some(t))
                .await
                .expect("insert");
        }
        let ids = response_ids(app.db()).await.expect("ids");
        let mut opts = opts(Format::Csv, CsvProfile::Rfc4180);
        opts.batch_size = 10;
        let writer = UpdateDuringExport {
            pool: app.db().clone(),
            first: ids[0],
            last: ids[ROWS - 1],
            updated: false,
            out: Vec::new(),
        };
        let (summary, writer) = export::export(app.db(), &definition(), SECRET, &opts, writer)
            .await
            .expect("export");
        assert!(
            writer.updated,
            "{backend:?}: the update ran during the export"
        );
        assert_eq!(summary.rows, ROWS as u64, "{backend:?}");
        let during = String::from_utf8(writer.out).expect("utf-8");
        assert_eq!(
            first_and_last_bairro(&during),
            ("VELHO".to_string(), "VELHO".to_string()),
            "{backend:?}: the export shows the data as it was when it started"
        );
        // The update did commit: the next export shows it in both rows.
        assert_eq!(
            first_and_last_bairro(&run(&app, &opts).await),
            ("NOVO".to_string(), "NOVO".to_string()),
            "{backend:?}"
        );
    }
}
