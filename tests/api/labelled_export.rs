//! `pesquisa export --format spss|stata|r`: the data CSV and its syntax file, read by the
//! real PSPP and R (Debian's `pspp` and `r-base-core`, installed by
//! scripts/test-services.sh) on both backends, checked against the known answers:
//! variable labels, value labels (an apostrophe and accents included), missing codes and
//! counts. Stata cannot be installed here: its do-file is checked by its text.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use pesquisa::db::schema::responses;
use pesquisa::db::{DbError, DbPool};
use pesquisa::export::{self, ExportOptions, Format, LabelledFiles};
use pesquisa::survey::{AnswerValue, Answers, Definition};

use crate::helpers::{ALL_BACKENDS, TestApp, unique};

const SECRET: &[u8] = b"test-secret-test-secret-test-secret!";

/// Every kind of column the labelled files declare: an integer, a coded question whose
/// labels hold an apostrophe, quotes and accents and an excluded option, a question
/// asked only when `idade >= 60` (so -2 = not asked), a multiple choice, free text.
const DEFINITION: &str = r#"
id = "teste_rotulos"
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
text = { pt = "Quantos anos você tem?", en = "Age?" }

[[pages.questions]]
key = "quem_decide"
type = "single"
text = { pt = "Quem decide as compras da família?", en = "Who decides?" }
options = [
  { value = "mae", label = { pt = "Mãe", en = "Mother" } },
  { value = "davo", label = { pt = "D'Avó \"querida\" (R$ `x')", en = "Grandma" } },
  { value = "nao_informar", label = { pt = "Prefiro não informar", en = "Rather not say" }, excluded = true },
]

[[pages]]
key = "p2"
title = { pt = "Mais", en = "More" }

[[pages.questions]]
key = "aposentado"
type = "single"
show_if = "idade >= 60"
text = { pt = "Você é aposentado(a)?", en = "Retired?" }
options = [
  { value = "sim", label = { pt = "Sim", en = "Yes" } },
  { value = "nao", label = { pt = "Não", en = "No" } },
]

[[pages.questions]]
key = "fatores"
type = "multi"
min = 1
max = 2
required = false
text = { pt = "O que pesa na escolha?", en = "What matters?" }
options = [
  { value = "preco", label = { pt = "Preço", en = "Price" } },
  { value = "entrega", label = { pt = "Entrega", en = "Delivery" } },
]

[[pages.questions]]
key = "comentario"
type = "text"
required = false
max_length = 80
text = { pt = "Algum comentário?", en = "Comments?" }
"#;

fn definition() -> Definition {
    Definition::parse(DEFINITION).expect("test definition")
}

/// Six responses: (idade, quem_decide, aposentado, fatores, comentario).
type Known = (
    i64,
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static [&'static str]>,
    Option<&'static str>,
);
const KNOWN: [Known; 6] = [
    (
        34,
        Some("mae"),
        None,
        Some(&["preco"]),
        Some("Ótimo\nserviço"),
    ),
    (
        65,
        Some("davo"),
        Some("sim"),
        Some(&["preco", "entrega"]),
        None,
    ),
    (
        70,
        Some("davo"),
        Some("nao"),
        Some(&["entrega"]),
        Some("D'Avó disse \"sim\", e pronto"),
    ),
    (45, Some("nao_informar"), None, None, None),
    (80, Some("davo"), Some("sim"), None, Some("-2")),
    (50, None, None, None, None),
];

/// What the known answers give: quem_decide Mãe 1, D'Avó 3, "prefiro não informar" 1
/// (missing), unanswered 1; aposentado Sim 2, Não 1, not asked (-2) 3.
const DAVO: &str = "D'Avó \"querida\" (R$ `x')";

async fn insert_known(db: &DbPool) -> Result<(), DbError> {
    let t =
        NaiveDateTime::parse_from_str("2026-11-27 21:05:00", "%Y-%m-%d %H:%M:%S").expect("time");
    for (idade, quem, aposentado, fatores, comentario) in KNOWN {
        let mut a = Answers::new();
        a.insert("idade", AnswerValue::Integer(idade));
        if let Some(v) = quem {
            a.insert("quem_decide", AnswerValue::Single(v.into()));
        }
        if let Some(v) = aposentado {
            a.insert("aposentado", AnswerValue::Single(v.into()));
        }
        if let Some(v) = fatores {
            a.insert(
                "fatores",
                AnswerValue::Multi(v.iter().map(|s| s.to_string()).collect()),
            );
        }
        if let Some(v) = comentario {
            a.insert("comentario", AnswerValue::Text(v.into()));
        }
        let json = serde_json::to_string(&a).expect("json");
        pesquisa::with_conn!(db, |conn| {
            diesel::insert_into(responses::table)
                .values((
                    responses::user_id.eq(None::<i64>),
                    responses::definition_id.eq("teste_rotulos"),
                    responses::definition_version.eq(1),
                    responses::answers.eq(&json),
                    responses::bairro.eq("JARDIM SÃO JOSÉ"),
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

/// Export the known responses as `format` into a fresh folder; the pair's paths.
async fn export_known(app: &TestApp, format: Format, dir: &Path) -> (PathBuf, PathBuf) {
    let files = LabelledFiles::create(&dir.join("respostas"), format).expect("files");
    let paths = files.paths.clone();
    let opts = ExportOptions {
        format,
        ..ExportOptions::default()
    };
    let summary = export::export_labelled(app.db(), &definition(), SECRET, &opts, files)
        .await
        .expect("export");
    assert_eq!(summary.rows, 6);
    (paths.data, paths.syntax)
}

fn fresh_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(unique(tag));
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

/// Runs a statistics package (PSPP, R) in a UTF-8 locale and returns its output; fails
/// the test with both streams when it exits non-zero.
pub(crate) fn run(cmd: &mut Command) -> String {
    let out = cmd
        .env("LANG", "C.UTF-8")
        .env("LC_ALL", "C.UTF-8")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e} (scripts/test-services.sh installs it)"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{cmd:?}: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The lines of PSPP's CSV output (`-O format=csv`), each as its cells.
fn pspp_rows(out: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(out.as_bytes())
        .records()
        .filter_map(Result::ok)
        .map(|r| r.iter().map(str::to_string).collect())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn pspp_reads_the_spss_pair_with_labels_missing_codes_and_counts() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        insert_known(app.db()).await.expect("insert");
        let dir = fresh_dir("pesquisa-spss-");
        let (data, syntax) = export_known(&app, Format::Spss, &dir).await;
        assert_eq!(data, dir.join("respostas.csv"));
        assert_eq!(syntax, dir.join("respostas.sps"));
        // The data holds codes: D'Avó is option 2, "prefiro não informar" 3, not asked -2,
        // and the line break of a comment is a space.
        let csv = std::fs::read_to_string(&data).expect("csv");
        assert_eq!(csv.lines().count(), 7, "{csv}");
        assert!(csv.contains(",34,1,-2,1,0,Ótimo serviço\r\n"), "{csv}");
        assert!(csv.contains(",45,3,-2,,,\r\n"), "{csv}");

        // PSPP runs the script, then the checks appended to it.
        let mut script = std::fs::read_to_string(&syntax).expect("sps");
        script.push_str(
            "DISPLAY DICTIONARY.\nFREQUENCIES quem_decide aposentado fatores__preco idade.\n\
             DESCRIPTIVES idade.\nLIST submitted_at comentario.\n",
        );
        let checked = dir.join("check.sps");
        std::fs::write(&checked, script).expect("write");
        let started = std::time::Instant::now();
        let out = run(Command::new("pspp")
            .args(["-O", "format=csv", "-o", "-"])
            .arg(&checked)
            .current_dir(&dir));
        eprintln!("{backend:?}: pspp took {:?}", started.elapsed());
        assert!(
            !out.contains("error:") && !out.contains("warning:"),
            "{out}"
        );
        let rows = pspp_rows(&out);
        let has = |cells: &[&str]| {
            rows.iter().any(|r| {
                r.len() >= cells.len() && r.iter().zip(cells).all(|(got, want)| got == want)
            })
        };
        let row_with = |first: &str, second: &str| -> Vec<String> {
            rows.iter()
                .find(|r| r.len() > 1 && r[0] == first && r[1] == second)
                .cloned()
                .unwrap_or_else(|| panic!("no row {first:?},{second:?} in\n{out}"))
        };
        // Variable labels (DISPLAY DICTIONARY: name, position, label, …).
        for (name, label) in [
            ("idade", "Quantos anos você tem?"),
            ("quem_decide", "Quem decide as compras da família?"),
            ("aposentado", "Você é aposentado(a)?"),
            ("fatores__preco", "O que pesa na escolha? — Preço"),
        ] {
            assert_eq!(row_with(name, &position(&rows, name))[2], label, "{name}");
        }
        // Value labels, the missing ones marked: "Variable Value,,Label" rows.
        let labels = value_labels(&rows);
        for (value, label, missing) in [
            ("1", "Mãe", false),
            ("2", DAVO, false),
            ("3", "Prefiro não informar", true),
            ("-2", "Não perguntada", true),
        ] {
            assert!(
                labels.contains(&(
                    "Quem decide as compras da família?".to_string(),
                    format!("{value}{}", if missing { "[a]" } else { "" }),
                    label.to_string()
                )),
                "{value} {label}: {labels:?}"
            );
        }
        // Counts (FREQUENCIES): (label, count, missing); PSPP shows system-missing as ".".
        let table = |title: &str| {
            let mut found = frequencies(&rows, title);
            found.sort();
            found
        };
        let want = |mut rows: Vec<(&str, u32, bool)>| {
            rows.sort();
            rows.into_iter()
                .map(|(l, n, m)| (l.to_string(), n, m))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            table("Quem decide as compras da família?"),
            want(vec![
                ("Mãe", 1, false),
                (DAVO, 3, false),
                ("Prefiro não informar", 1, true),
                (".", 1, true),
            ]),
            "{out}"
        );
        assert_eq!(
            table("Você é aposentado(a)?"),
            want(vec![
                ("Sim", 2, false),
                ("Não", 1, false),
                ("Não perguntada", 3, true),
            ]),
            "{out}"
        );
        assert_eq!(
            table("O que pesa na escolha? — Preço"),
            want(vec![
                ("Marcada", 2, false),
                ("Não marcada", 1, false),
                (".", 3, true),
            ]),
            "{out}"
        );
        // Ages are numbers: their mean is the known one.
        let mean = (34 + 65 + 70 + 45 + 80 + 50) as f64 / 6.0;
        assert!(
            rows.iter().any(|r| r
                .iter()
                .next()
                .is_some_and(|c| c.starts_with("Quantos anos"))
                && r.iter().any(|c| c == &format!("{mean:.2}"))),
            "mean {mean:.2} in\n{out}"
        );
        // Times are times, the comment kept its accents.
        assert!(has(&["2026-11-27 21:05:00", "Ótimo serviço"]), "{out}");
        assert!(has(&[
            "2026-11-27 21:05:00",
            "D'Avó disse \"sim\", e pronto"
        ]));
        std::fs::remove_dir_all(&dir).ok();
    }
}

/// A FREQUENCIES table of PSPP's CSV output: (label, count, missing), a missing row
/// having no valid percent.
pub(crate) fn frequencies(rows: &[Vec<String>], title: &str) -> Vec<(String, u32, bool)> {
    let heading = format!("Table: {title}");
    rows.iter()
        .skip_while(|r| r.iter().next() != Some(&heading))
        .skip(2)
        .take_while(|r| r.len() == 6 && r[0] != "Total")
        .map(|r| {
            // Weighted counts are printed with decimals ("3.000000").
            let count: f64 = r[2].parse().unwrap_or_else(|_| panic!("count in {r:?}"));
            assert_eq!(count.fract(), 0.0, "{r:?}");
            let count = count as u32;
            (r[1].clone(), count, r[4].is_empty())
        })
        .collect()
}

/// The position PSPP shows for a variable (its column number), as text.
fn position(rows: &[Vec<String>], name: &str) -> String {
    rows.iter()
        .find(|r| r.len() > 2 && r[0] == name)
        .map(|r| r[1].clone())
        .unwrap_or_default()
}

/// The "Value Labels" table: (variable label, value with `[a]` when missing, label).
pub(crate) fn value_labels(rows: &[Vec<String>]) -> Vec<(String, String, String)> {
    let mut found = Vec::new();
    let mut inside = false;
    let mut variable = String::new();
    for r in rows {
        if r.iter().next().is_some_and(|c| c == "Table: Value Labels") {
            inside = true;
            continue;
        }
        if !inside {
            continue;
        }
        if r.iter().next().is_some_and(|c| c.starts_with("Table:")) || r.is_empty() {
            break;
        }
        if r.len() == 3 && r[0] != "Variable Value" {
            if !r[0].is_empty() {
                variable = r[0].clone();
            }
            found.push((variable.clone(), r[1].clone(), r[2].clone()));
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread")]
async fn r_reads_the_r_pair_with_labels_levels_and_counts() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        insert_known(app.db()).await.expect("insert");
        let dir = fresh_dir("pesquisa-r-");
        let (data, syntax) = export_known(&app, Format::R, &dir).await;
        assert_eq!(syntax, dir.join("respostas.R"));
        assert!(data.exists());
        let check = r#"
source("respostas.R", encoding = "UTF-8", chdir = TRUE)
show <- function(name) {
  x <- respostas[[name]]
  cat(name, " label:", attr(x, "label"), "\n", sep = "")
  cat(name, " class:", class(x)[1], "\n", sep = "")
  if (is.factor(x)) cat(name, " levels:", paste(levels(x), collapse = "|"), "\n", sep = "")
  t <- table(x, useNA = "always")
  cat(paste0(name, "=", ifelse(is.na(names(t)), "NA", names(t)), ":", as.integer(t)), sep = "\n")
}
for (n in c("quem_decide", "aposentado", "fatores__preco", "comentario")) show(n)
cat("idade mean:", mean(respostas$idade), "\n")
cat("submitted_at:", format(respostas$submitted_at[1], "%Y-%m-%d %H:%M:%S %Z"), "\n")
cat("comentario 3:", respostas$comentario[3], "\n")
"#;
        std::fs::write(dir.join("check.R"), check).expect("write");
        let started = std::time::Instant::now();
        let out = run(Command::new("Rscript").arg("check.R").current_dir(&dir));
        eprintln!("{backend:?}: Rscript took {:?}", started.elapsed());
        for line in [
            "quem_decide label:Quem decide as compras da família?",
            "quem_decide class:factor",
            &format!("quem_decide levels:Mãe|{DAVO}"),
            "quem_decide=Mãe:1",
            &format!("quem_decide={DAVO}:3"),
            // "Prefiro não informar" and the unanswered one are NA.
            "quem_decide=NA:2",
            "aposentado label:Você é aposentado(a)?",
            "aposentado levels:Sim|Não",
            "aposentado=Sim:2",
            "aposentado=Não:1",
            "aposentado=NA:3",
            "fatores__preco label:O que pesa na escolha? — Preço",
            "fatores__preco levels:Não marcada|Marcada",
            "fatores__preco=Marcada:2",
            "fatores__preco=Não marcada:1",
            "fatores__preco=NA:3",
            "comentario class:character",
            // A comment that reads "-2" is text, not the not-asked code.
            "comentario='-2:1",
            "comentario=NA:3",
            "idade mean: 57.33333 ",
            "submitted_at: 2026-11-27 21:05:00 UTC ",
            "comentario 3: D'Avó disse \"sim\", e pronto ",
        ] {
            assert!(out.lines().any(|l| l == line), "{line:?} in\n{out}");
        }
        std::fs::remove_dir_all(&dir).ok();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_stata_do_file_labels_every_variable_and_maps_missing_codes() {
    // Stata is not installable here: the do-file is checked by its text.
    let app = TestApp::spawn(ALL_BACKENDS[1]).await;
    insert_known(app.db()).await.expect("insert");
    let dir = fresh_dir("pesquisa-stata-");
    let (_, syntax) = export_known(&app, Format::Stata, &dir).await;
    assert_eq!(syntax, dir.join("respostas.do"));
    let text = std::fs::read_to_string(&syntax).expect("do");
    let lines: Vec<&str> = text.lines().collect();
    let has = |want: &str| lines.contains(&want);
    assert!(
        lines.iter().any(|l| l
            .starts_with("import delimited using `\"respostas.csv\"', encoding(\"utf-8\")")
            && l.contains("bindquote(strict)")),
        "{text}"
    );
    let header = std::fs::read_to_string(dir.join("respostas.csv")).expect("csv");
    let header = header.lines().next().expect("header");
    for (i, name) in (1..).zip(header.split(',')) {
        assert!(has(&format!("rename v{i} {name}")), "{name}: {text}");
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(&format!("label variable {name} `\""))),
            "{name} has a label: {text}"
        );
    }
    for want in [
        "label variable quem_decide `\"Quem decide as compras da família?\"'",
        "mvdecode quem_decide, mv(-2=.a \\ 3=.b)",
        "label define quem_decide 1 `\"Mãe\"' 2 `\"D'Avó \"querida\" (R\\$ \\`x')\"' .a `\"Não perguntada\"' .b `\"Prefiro não informar\"', replace",
        "label values quem_decide quem_decide",
        "mvdecode aposentado, mv(-2=.a)",
        "label define aposentado 1 `\"Sim\"' 2 `\"Não\"' .a `\"Não perguntada\"', replace",
        "mvdecode fatores__preco, mv(-2=.a)",
        "label define fatores__preco 0 `\"Não marcada\"' 1 `\"Marcada\"' .a `\"Não perguntada\"', replace",
        "mvdecode idade, mv(-2=.a)",
        "replace comentario = \"\" if comentario == \"-2\"",
        "format submitted_at %tc",
    ] {
        assert!(has(want), "{want}\n{text}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// A questionnaire without screen-out rules still screens out when a quota cell is full:
/// with quotas configured the exports get `triagem` (the key in the plain CSV, a labelled
/// code in the labelled files); without quotas they keep their columns.
#[tokio::test(flavor = "multi_thread")]
async fn a_full_quota_gives_triagem_a_column_without_screen_out_rules() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        insert_known(app.db()).await.expect("insert");
        let screened: Result<usize, DbError> = async {
            pesquisa::with_conn!(app.db(), |conn| {
                let first = responses::table
                    .select(responses::id)
                    .order(responses::id)
                    .first::<i64>(conn)
                    .await?;
                let n = diesel::update(responses::table.find(first))
                    .set(responses::screened_out.eq(Some("quota:sexo")))
                    .execute(conn)
                    .await?;
                Ok::<usize, DbError>(n)
            })
        }
        .await;
        let screened = screened.expect("screen out");
        assert_eq!(screened, 1);
        let plain = |quotas: Vec<String>| {
            let opts = ExportOptions {
                quotas,
                ..ExportOptions::default()
            };
            let app = &app;
            async move {
                let (_, out) = export::export(app.db(), &definition(), SECRET, &opts, Vec::new())
                    .await
                    .expect("export");
                String::from_utf8(out).expect("utf-8")
            }
        };
        let without = plain(Vec::new()).await;
        assert!(
            !without.lines().next().expect("header").contains("triagem"),
            "{backend:?}: {without}"
        );
        let with = plain(vec!["sexo".to_string()]).await;
        let mut rows = csv::Reader::from_reader(with.as_bytes());
        let at = rows
            .headers()
            .expect("header")
            .iter()
            .position(|h| h == "triagem")
            .unwrap_or_else(|| panic!("{backend:?}: no triagem in {with}"));
        let keys: Vec<String> = rows
            .records()
            .map(|r| r.expect("row")[at].to_string())
            .filter(|k| !k.is_empty())
            .collect();
        assert_eq!(keys, ["quota:sexo"], "{backend:?}");

        // The labelled files code it, with the quota's name in the label.
        let dir = fresh_dir("pesquisa-triagem-");
        let files = LabelledFiles::create(&dir.join("respostas"), Format::Stata).expect("files");
        let opts = ExportOptions {
            format: Format::Stata,
            quotas: vec!["sexo".to_string()],
            ..ExportOptions::default()
        };
        let paths = files.paths.clone();
        export::export_labelled(app.db(), &definition(), SECRET, &opts, files)
            .await
            .expect("export");
        let text = std::fs::read_to_string(&paths.syntax).expect("do");
        let define = text
            .lines()
            .find(|l| l.starts_with("label define triagem "))
            .unwrap_or_else(|| panic!("{backend:?}: {text}"));
        assert!(
            define.contains("0 `\"Não triada\"'") && define.contains("1 `\"Cota sexo cheia\"'"),
            "{define}"
        );
        let data = std::fs::read_to_string(&paths.data).expect("csv");
        let mut rows = csv::Reader::from_reader(data.as_bytes());
        let at = rows
            .headers()
            .expect("header")
            .iter()
            .position(|h| h == "triagem")
            .expect("triagem");
        let mut codes: Vec<String> = rows
            .records()
            .map(|r| r.expect("row")[at].to_string())
            .collect();
        codes.sort();
        assert_eq!(codes, ["0", "0", "0", "0", "0", "1"], "{backend:?}");
        std::fs::remove_dir_all(&dir).ok();
    }
}

fn pesquisa(dir: &Path, db_url: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pesquisa"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PESQUISA_DATABASE__URL", db_url)
        .env(
            "PESQUISA_SESSION__SECRET",
            "labelled-export-secret-labelled-01",
        )
        .env("PESQUISA_LOGGING__LEVEL", "warn")
        .current_dir(dir)
        .stdin(Stdio::null());
    cmd
}

/// Generated responses to the shipped questionnaire (with its conditions, so some are
/// not asked), exported by the binary as a pair: PSPP counts each income option as the
/// plain CSV export has it; a missing or unwritable `--output` is refused naming the
/// flag, leaving nothing behind.
#[test]
fn the_binary_writes_a_pair_whose_counts_match_the_plain_csv() {
    let dir = fresh_dir("pesquisa-labelled-cli-");
    let db_url = format!("sqlite://{}/pesquisa.db", dir.display());
    let ok = |args: &[&str]| {
        let out = pesquisa(&dir, &db_url).args(args).output().expect("run");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    };
    ok(&["migrate", "--create"]);
    ok(&["dev", "generate-responses", "--count", "400", "--seed", "5"]);

    for (args, flag) in [
        (vec!["export", "--format", "spss"], "--output"),
        (
            vec!["export", "--format", "r", "-o", "nao/existe/r"],
            "--output",
        ),
        (
            vec![
                "export",
                "--format",
                "stata",
                "-o",
                "s",
                "--csv-profile",
                "excel-br",
            ],
            "--csv-profile",
        ),
    ] {
        let before = std::fs::read_dir(&dir).expect("ls").count();
        let out = pesquisa(&dir, &db_url).args(&args).output().expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(flag), "{args:?}: {err}");
        assert_eq!(
            std::fs::read_dir(&dir).expect("ls").count(),
            before,
            "{args:?}"
        );
    }

    let plain = ok(&["export", "--format", "csv"]).stdout;
    let out = ok(&[
        "export",
        "--format",
        "spss",
        "-o",
        "respostas.sps",
        "--manifest",
        "m.json",
        "--codebook",
        "book.csv",
    ]);
    assert!(out.stdout.is_empty());
    // The codebook gives the codes the data holds.
    let book = std::fs::read_to_string(dir.join("book.csv")).expect("book");
    assert!(
        book.contains("1=Até 2 salários mínimos | 2=De 2 a 4 salários mínimos"),
        "{book}"
    );
    let help = ok(&["export", "--help"]).stdout;
    let help = String::from_utf8_lossy(&help);
    assert!(help.contains("Missing codes: -2 = not asked"), "{help}");
    assert!(help.contains("BASE.csv"), "{help}");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("m.json")).expect("m")).expect("json");
    assert_eq!(manifest["output"], "respostas.csv");
    assert_eq!(manifest["syntax"], "respostas.sps");
    assert_eq!(manifest["format"], "spss");
    assert_eq!(manifest["rows"], 400);

    // The plain export's income answers, counted by the label PSPP should show.
    let def = pesquisa::survey::default_definition().expect("definition");
    let renda = def.question("renda_familiar").expect("renda");
    let mut reader = csv::Reader::from_reader(plain.as_slice());
    let at = reader
        .headers()
        .expect("header")
        .iter()
        .position(|h| h == "renda_familiar")
        .expect("column");
    let mut want: std::collections::BTreeMap<String, u32> = Default::default();
    for record in reader.records() {
        let value = record.expect("row")[at].to_string();
        let label = match value.as_str() {
            "" => ".".to_string(),
            "-2" => "Não perguntada".to_string(),
            v => renda.option(v).expect("an option").label.pt.clone(),
        };
        *want.entry(label).or_default() += 1;
    }
    assert!(want.len() >= 4, "{want:?}");

    // The plain export's income and Critério Brasil classes and screen-out keys (text),
    // counted by the value labels the labelled files should give their codes.
    let derived = derived_counts(&plain);
    for (name, counts) in &derived {
        let valid = counts.iter().filter(|(_, _, missing)| !missing).count();
        assert!(valid >= 2, "{name}: {counts:?}");
    }
    assert!(
        derived[1]
            .1
            .iter()
            .any(|(l, n, _)| l == "Não perguntada" && *n > 0),
        "the screened-out were not asked the Critério Brasil items: {derived:?}"
    );

    let mut script = std::fs::read_to_string(dir.join("respostas.sps")).expect("sps");
    script.push_str(
        "FREQUENCIES renda_familiar classe_renda classe_cceb triagem.\nDISPLAY DICTIONARY.\n",
    );
    std::fs::write(dir.join("check.sps"), script).expect("write");
    let started = std::time::Instant::now();
    let out = run(Command::new("pspp")
        .args(["-O", "format=csv", "-o", "-", "check.sps"])
        .current_dir(&dir));
    eprintln!(
        "pspp on 400 generated responses took {:?}",
        started.elapsed()
    );
    assert!(
        !out.contains("error:") && !out.contains("warning:"),
        "{out}"
    );
    let mut got = frequencies(
        &pspp_rows(&out),
        "Qual é a renda mensal total do seu domicílio?",
    );
    got.sort();
    let mut expected: Vec<(String, u32, bool)> = want
        .into_iter()
        .map(|(label, count)| {
            let missing = label == "."
                || label == "Não perguntada"
                || renda
                    .options()
                    .iter()
                    .any(|o| o.excluded && o.label.pt == label);
            (label, count, missing)
        })
        .collect();
    expected.sort();
    assert_eq!(got, expected, "{out}");
    assert!(
        expected.iter().any(|(_, _, missing)| *missing),
        "{expected:?}"
    );
    // The classes and the screen-out are codes with value labels: PSPP counts each label
    // as the plain CSV has its text, "not asked" and unanswered declared missing.
    let rows = pspp_rows(&out);
    for (title, (name, want)) in [
        "Classe social por renda familiar (de `renda_familiar`)",
        "Classe econômica pelo Critério Brasil (ABEP)",
        "Triagem: regra que encerrou o questionário",
    ]
    .into_iter()
    .zip(&derived)
    {
        let mut got = frequencies(&rows, title);
        got.sort();
        assert_eq!(&got, want, "{name}: {out}");
    }
    let labels = value_labels(&rows);
    let has_label = |variable: &str, value: &str, label: &str| {
        labels
            .iter()
            .any(|(v, code, l)| v == variable && code == value && l == label)
    };
    for (variable, value, label) in [
        (
            "Classe social por renda familiar (de `renda_familiar`)",
            "1",
            "A: mais de 20 salários mínimos",
        ),
        (
            "Classe social por renda familiar (de `renda_familiar`)",
            "5",
            "E: até 2 salários mínimos",
        ),
        (
            "Classe social por renda familiar (de `renda_familiar`)",
            "-2[a]",
            "Não perguntada",
        ),
        (
            "Classe econômica pelo Critério Brasil (ABEP)",
            "1",
            "A: 73 a 100 pontos",
        ),
        (
            "Classe econômica pelo Critério Brasil (ABEP)",
            "-2[a]",
            "Não perguntada",
        ),
        (
            "Triagem: regra que encerrou o questionário",
            "0",
            "Não triada",
        ),
        (
            "Triagem: regra que encerrou o questionário",
            "1",
            "Regra de triagem responsavel_compras",
        ),
    ] {
        assert!(
            has_label(variable, value, label),
            "{variable} {value} {label}: {labels:?}"
        );
    }
    // The codebook of the labelled export states the codes.
    assert!(
        book.contains("0=Não triada | 1=Regra de triagem responsavel_compras"),
        "{book}"
    );
    assert!(
        book.contains("1=A: mais de 20 salários mínimos | 2=B:"),
        "{book}"
    );

    // R reads the whole shipped questionnaire's pair too (`-o r.csv` names it r.csv +
    // r.R): the same valid counts, every missing code NA.
    ok(&["export", "--format", "r", "-o", "r.csv"]);
    let out = run(Command::new("Rscript")
        .args([
            "-e",
            "source('r.R', encoding = 'UTF-8', chdir = TRUE); \
             t <- table(respostas$renda_familiar, useNA = 'always'); \
             cat(paste0(ifelse(is.na(names(t)), 'NA', names(t)), '=', as.integer(t)), sep = '\\n')",
        ])
        .current_dir(&dir));
    let mut na = 0;
    for (label, count, missing) in &expected {
        if *missing {
            na += count;
        } else {
            assert!(
                out.lines().any(|l| l == format!("{label}={count}")),
                "{label}: {out}"
            );
        }
    }
    assert!(
        out.lines().any(|l| l == format!("NA={na}")),
        "NA={na}: {out}"
    );
    // And the classes and the screen-out as factors with the same labels, missing as NA.
    let out = run(Command::new("Rscript")
        .args([
            "-e",
            "source('r.R', encoding = 'UTF-8', chdir = TRUE); \
             for (n in c('classe_renda', 'classe_cceb', 'triagem')) { \
               t <- table(respostas[[n]], useNA = 'always'); \
               cat(paste0(n, '|', ifelse(is.na(names(t)), 'NA', names(t)), '=', \
                 as.integer(t)), sep = '\\n') }",
        ])
        .current_dir(&dir));
    for (name, counts) in &derived {
        let mut na = 0;
        for (label, count, missing) in counts {
            if *missing {
                na += count;
            } else {
                let line = format!("{name}|{label}={count}");
                assert!(out.lines().any(|l| l == line), "{line}: {out}");
            }
        }
        let line = format!("{name}|NA={na}");
        assert!(out.lines().any(|l| l == line), "{line}: {out}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// (value label, count, declared missing) rows of a frequency table.
type Counts = Vec<(String, u32, bool)>;

/// Per derived column (`classe_renda`, `classe_cceb`, `triagem`), from the plain CSV export
/// of the shipped questionnaire: (value label, count, declared missing), sorted. Empty
/// is missing, or "Não perguntada" when the income question or a Critério Brasil item was
/// not asked (`-2` in its column).
fn derived_counts(plain: &[u8]) -> Vec<(&'static str, Counts)> {
    let mut reader = csv::Reader::from_reader(plain);
    let head = reader.headers().expect("header").clone();
    let col = |name: &str| head.iter().position(|h| h == name).expect(name);
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    let table = pesquisa::survey::CcebTable::embedded();
    let items: Vec<usize> = table.keys().map(col).collect();
    let income = [
        ("A", "A: mais de 20 salários mínimos"),
        ("B", "B: mais de 10 a 20 salários mínimos"),
        ("C", "C: mais de 4 a 10 salários mínimos"),
        ("D", "D: mais de 2 a 4 salários mínimos"),
        ("E", "E: até 2 salários mínimos"),
    ];
    let (renda, classe, cceb, triagem) = (
        col("renda_familiar"),
        col("classe_renda"),
        col("classe_cceb"),
        col("triagem"),
    );
    let missing = |asked: bool| {
        let label = if asked { "." } else { "Não perguntada" };
        (label.to_string(), true)
    };
    let count = |label_of: &dyn Fn(&csv::StringRecord) -> (String, bool)| {
        let mut by: std::collections::BTreeMap<(String, bool), u32> = Default::default();
        for r in &records {
            *by.entry(label_of(r)).or_default() += 1;
        }
        let mut out: Vec<(String, u32, bool)> =
            by.into_iter().map(|((l, m), n)| (l, n, m)).collect();
        out.sort();
        out
    };
    vec![
        (
            "classe_renda",
            count(&|r| match &r[classe] {
                "" => missing(&r[renda] != "-2"),
                c => {
                    let (_, label) = income.iter().find(|(k, _)| *k == c).expect(c);
                    (label.to_string(), false)
                }
            }),
        ),
        (
            "classe_cceb",
            count(&|r| match &r[cceb] {
                "" => missing(items.iter().all(|&i| &r[i] != "-2")),
                c => {
                    let k = table.classes().iter().find(|k| k.class == c).expect(c);
                    (format!("{}: {} a {} pontos", k.class, k.min, k.max), false)
                }
            }),
        ),
        (
            "triagem",
            count(&|r| match &r[triagem] {
                "" => ("Não triada".to_string(), false),
                key => (format!("Regra de triagem {key}"), false),
            }),
        ),
    ]
}

/// A weight column (the codebook's type `weight`, or `peso`) is declared: PSPP counts
/// with it; Stata and R get `svyset … [pweight=peso]` and the `survey` design hint.
#[test]
fn a_weight_column_is_declared_in_each_script() {
    use pesquisa::export::columns::{VarType, Variable};
    use pesquisa::export::syntax::{Package, script};
    let vars = [
        Variable {
            name: "grupo".into(),
            label: "Grupo".into(),
            kind: VarType::Integer,
            values: vec![(1, "Aá".into()), (2, "B".into())],
            missing: vec![],
            weight: false,
        },
        Variable {
            name: "peso".into(),
            label: "Peso amostral".into(),
            kind: VarType::Decimal,
            values: vec![],
            missing: vec![],
            weight: true,
        },
    ];
    let dir = fresh_dir("pesquisa-weight-");
    std::fs::write(dir.join("w.csv"), "grupo,peso\r\n1,2.5\r\n2,1\r\n1,0.5\r\n").expect("csv");
    let sps = script(Package::Spss, &vars, "w.csv") + "FREQUENCIES grupo.\n";
    assert!(sps.contains("\nWEIGHT BY peso.\n"), "{sps}");
    std::fs::write(dir.join("w.sps"), sps).expect("sps");
    let out = run(Command::new("pspp")
        .args(["-O", "format=csv", "-o", "-", "w.sps"])
        .current_dir(&dir));
    let mut got = frequencies(&pspp_rows(&out), "Grupo");
    got.sort();
    assert_eq!(
        got,
        vec![("Aá".to_string(), 3, false), ("B".to_string(), 1, false)],
        "weighted counts: {out}"
    );
    let stata = script(Package::Stata, &vars, "w.csv");
    assert!(
        stata.lines().any(|l| l == "svyset _n [pweight=peso]"),
        "{stata}"
    );
    assert!(!stata.contains("pweight=grupo"), "{stata}");
    let r = script(Package::R, &vars, "w.csv");
    assert!(
        r.lines()
            .any(|l| l == "# desenho <- svydesign(ids = ~1, weights = ~peso, data = respostas)"),
        "{r}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// When the second file cannot be put in place (here a folder holds its name), the first
/// is removed again and no temporary file stays: never half a pair.
#[tokio::test(flavor = "multi_thread")]
async fn no_half_pair_when_the_second_rename_fails() {
    let app = TestApp::spawn(ALL_BACKENDS[1]).await;
    insert_known(app.db()).await.expect("insert");
    let dir = fresh_dir("pesquisa-half-");
    std::fs::create_dir(dir.join("respostas.R")).expect("a folder in the way");
    let files = LabelledFiles::create(&dir.join("respostas"), Format::R).expect("files");
    let opts = ExportOptions {
        format: Format::R,
        ..ExportOptions::default()
    };
    let err = export::export_labelled(app.db(), &definition(), SECRET, &opts, files)
        .await
        .expect_err("the script cannot replace a folder");
    assert!(err.to_string().contains("respostas.R"), "{err}");
    let left: Vec<String> = std::fs::read_dir(&dir)
        .expect("ls")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        left,
        vec!["respostas.R".to_string()],
        "only the folder is left"
    );
    std::fs::remove_dir_all(&dir).ok();
}
