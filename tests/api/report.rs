//! `pesquisa report` and `/admin/results`: the report's numbers against values computed
//! here independently from the stored answers (counts, Wilson intervals, chi-square,
//! mean spend, market, capture share), small-cell suppression by bairro, reproducible
//! bootstrap, the dashboard's authorization and CSV download, and the binary's flags.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};

use chrono::NaiveDateTime;
use pesquisa::accounts::Role;
use pesquisa::db::audit;
use pesquisa::export::{self, ExportOptions};
use pesquisa::report::{self, Report, ReportParams};
use pesquisa::stats::market::GroupResult;
use pesquisa::stats::{Households, Scenario};
use pesquisa::survey::{AnswerValue, Definition};
use pesquisa::synthetic::{Generator, Household, insert};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::helpers::{ALL_BACKENDS, Backend, Browser, TestApp, unique};

const SECRET: &[u8] = b"test-secret-test-secret-test-secret!";

fn at(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").expect("time")
}

/// `n` synthetic households stored as responses; returns what was stored.
async fn seed(app: &TestApp, n: usize, seed: u64) -> Vec<Household> {
    let def = &app.state.survey;
    let g = Generator::new(def, app.state.bairros.all(), at("2026-11-20 12:00:00"), 20);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let households: Vec<Household> = (0..n).map(|_| g.household(&mut rng)).collect();
    insert(app.db(), def, households.clone())
        .await
        .expect("insert");
    households
}

fn single<'h>(h: &'h Household, key: &str) -> Option<&'h str> {
    match h.answers.get(key) {
        Some(AnswerValue::Single(v)) => Some(v),
        _ => None,
    }
}

/// Wilson score interval in percent, written out from the formula.
fn wilson(k: f64, n: f64) -> (f64, f64) {
    let z: f64 = 1.959_963_984_540_054;
    let p = k / n;
    let centre = (p + z * z / (2.0 * n)) / (1.0 + z * z / n);
    let half = z / (1.0 + z * z / n) * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
    (
        if k == 0.0 {
            0.0
        } else {
            (centre - half) * 100.0
        },
        if k == n {
            100.0
        } else {
            (centre + half) * 100.0
        },
    )
}

/// Pearson's X² and df of a table, dropping all-zero rows and columns.
fn chi_square(table: &[Vec<u64>]) -> (f64, u64) {
    let rows: Vec<&Vec<u64>> = table.iter().filter(|r| r.iter().sum::<u64>() > 0).collect();
    let width = table.first().map_or(0, Vec::len);
    let cols: Vec<usize> = (0..width)
        .filter(|&j| rows.iter().map(|r| r[j]).sum::<u64>() > 0)
        .collect();
    let n: f64 = rows.iter().flat_map(|r| r.iter()).sum::<u64>() as f64;
    let mut x2 = 0.0;
    for r in &rows {
        let rt = r.iter().sum::<u64>() as f64;
        for &j in &cols {
            let ct = rows.iter().map(|r| r[j]).sum::<u64>() as f64;
            let e = rt * ct / n;
            x2 += (r[j] as f64 - e).powi(2) / e;
        }
    }
    (x2, ((rows.len() - 1) * (cols.len() - 1)) as u64)
}

fn close(a: f64, b: f64, what: &str) {
    assert!(
        (a - b).abs() < 1e-6 * b.abs().max(1.0),
        "{what}: {a} vs {b}"
    );
}

fn option_value(def: &Definition, key: &str, value: &str) -> (Option<f64>, Option<f64>) {
    let o = def
        .question(key)
        .and_then(|q| q.option(value))
        .expect("option");
    (o.lower, o.upper)
}

async fn build(app: &TestApp, params: &ReportParams) -> Report {
    report::build(app.db(), &app.state.survey, params, 1621)
        .await
        .expect("report")
}

#[tokio::test(flavor = "multi_thread")]
async fn report_numbers_match_independent_computations_on_both_backends() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let stored = seed(&app, 400, 11).await;
        let def = app.state.survey.clone();
        let params = ReportParams {
            households: Some(Households::Total(10_000)),
            ..ReportParams::default()
        };
        let r = build(&app, &params).await;

        assert_eq!(r.respondents, 400, "{backend:?}");
        // Screened-out responses are counted apart and describe nobody in the shares.
        let screened = stored.iter().filter(|h| h.screened_out.is_some()).count() as u64;
        assert_eq!(r.screened_out, screened);
        let stored: Vec<_> = stored
            .into_iter()
            .filter(|h| h.screened_out.is_none())
            .collect();
        let completes = stored.iter().filter(|h| h.submitted_at.is_some()).count() as u64;
        assert_eq!(r.completes, completes);

        // Income distribution: counts, percentages and Wilson intervals.
        let q = r
            .questions
            .iter()
            .find(|q| q.key == "renda_familiar")
            .expect("renda");
        let answered = stored
            .iter()
            .filter(|h| single(h, "renda_familiar").is_some())
            .count() as f64;
        assert_eq!(q.answered as f64, answered);
        for s in &q.shares {
            let k = stored
                .iter()
                .filter(|h| single(h, "renda_familiar") == Some(s.value.as_str()))
                .count() as f64;
            assert_eq!(s.count as f64, k, "{}", s.value);
            close(s.pct.expect("pct"), k / answered * 100.0, "pct");
            let (lo, hi) = wilson(k, answered);
            let ci = s.ci95.expect("ci");
            close(ci.0, lo, "wilson low");
            close(ci.1, hi, "wilson high");
        }
        // Multi: shares are of those who answered, so they add up to more than 100%.
        let f = r
            .questions
            .iter()
            .find(|q| q.key == "fatores_escolha")
            .expect("multi");
        let total: f64 = f.shares.iter().filter_map(|s| s.pct).sum();
        assert!(total > 100.0, "{total}");
        // Integers: histogram covers every answer.
        let idade = r
            .questions
            .iter()
            .find(|q| q.key == "idade")
            .expect("idade");
        let h = idade.histogram.as_ref().expect("histogram");
        assert_eq!(h.bins.iter().map(|b| b.count).sum::<u64>(), idade.answered);

        // Income class × monthly spend: the table and its chi-square.
        let class_of = |v: &str| -> Option<usize> {
            let (lo, hi) = option_value(&def, "renda_familiar", v);
            match (lo, hi) {
                (Some(l), None) if l >= 20.0 => Some(0),
                (_, Some(h)) if h <= 2.0 => Some(4),
                (_, Some(h)) if h <= 4.0 => Some(3),
                (_, Some(h)) if h <= 10.0 => Some(2),
                (_, Some(_)) => Some(1),
                _ => None,
            }
        };
        let spend_q = def.question("gasto_mensal").expect("q");
        let mut table = vec![vec![0u64; spend_q.options().len()]; 5];
        for h in &stored {
            let (Some(c), Some(s)) = (
                single(h, "renda_familiar").and_then(class_of),
                single(h, "gasto_mensal"),
            ) else {
                continue;
            };
            let j = spend_q
                .options()
                .iter()
                .position(|o| o.value == s)
                .expect("opt");
            table[c][j] += 1;
        }
        let x = r
            .crosstabs
            .iter()
            .find(|c| c.key == "gasto_mensal" && c.by == "classe_renda")
            .expect("crosstab");
        assert_eq!(x.rows, ["A", "B", "C", "D", "E"]);
        assert_eq!(x.counts, table);
        let (x2, df) = chi_square(&table);
        let chi = x.chi_square.as_ref().expect("chi-square");
        close(chi.statistic, x2, "chi-square");
        assert_eq!(chi.df, df);
        // The generator ties spend to income: the test must find it.
        assert!(chi.p_value < 0.001, "p = {}", chi.p_value);

        // Bairros: none listed below 5 respondents, and the hidden ones add up.
        let mut per_bairro: BTreeMap<&str, u64> = BTreeMap::new();
        for h in &stored {
            *per_bairro.entry(h.bairro.as_str()).or_default() += 1;
        }
        assert!(r.bairros.iter().all(|b| b.respondents >= 5));
        for b in &r.bairros {
            assert_eq!(Some(&b.respondents), per_bairro.get(b.bairro.as_str()));
        }
        assert!(
            per_bairro.values().any(|&n| n < 5),
            "the data has small bairros"
        );
        assert_eq!(r.bairros.len() + r.bairros_suppressed, per_bairro.len());
        let shown: u64 = r.bairros.iter().map(|b| b.respondents).sum();
        let hidden = stored.len() as u64 - shown;
        assert!(hidden == 0 || hidden >= 5, "{hidden}");
        assert_eq!(
            r.bairros_suppressed_respondents,
            (hidden >= 5).then_some(hidden)
        );

        // Market: mean of band midpoints (open top at 1.5 × R$ 2.500), × households.
        let spends: Vec<f64> = stored
            .iter()
            .filter_map(|h| single(h, "gasto_mensal"))
            .map(|v| match option_value(&def, "gasto_mensal", v) {
                (Some(lo), Some(hi)) => (lo + hi) / 2.0,
                (Some(lo), None) => lo * 1.5,
                _ => panic!("band"),
            })
            .collect();
        let mean = spends.iter().sum::<f64>() / spends.len() as f64;
        let m = r.market.estimate.as_ref().expect("estimate");
        let mid = m.scenario(Scenario::Mid).expect("mid");
        let GroupResult::Reported { n, mean: got, ci95 } = mid.overall.result else {
            panic!("overall suppressed")
        };
        assert_eq!(n, spends.len());
        close(got, mean, "mean spend");
        assert!(ci95.0 < mean && mean < ci95.1);
        close(
            mid.market_monthly.expect("market"),
            mean * 10_000.0,
            "market",
        );
        let weights = |v: &str| match v {
            "certamente_sim" => 0.75,
            "provavelmente_sim" => 0.35,
            "talvez" => 0.10,
            "provavelmente_nao" => 0.02,
            _ => 0.0,
        };
        let intents: Vec<f64> = stored
            .iter()
            .filter_map(|h| single(h, "interesse_novo"))
            .map(weights)
            .collect();
        let share = intents.iter().sum::<f64>() / intents.len() as f64;
        close(m.capture.share.expect("share"), share, "capture share");
        close(
            mid.potential_monthly.expect("potential"),
            mean * 10_000.0 * share,
            "potential",
        );

        // Reproducible with the same seed, different with another.
        let again = build(&app, &params).await;
        assert_eq!(again.market, r.market);
        let other = build(
            &app,
            &ReportParams {
                seed: Some(99),
                ..params.clone()
            },
        )
        .await;
        assert_ne!(other.market, r.market);

        // The HTML is self-contained: no script, no external reference.
        let html = report::html::document(&r, pesquisa::i18n::Lang::Pt);
        for banned in ["<script", "http://", "https://", "src=", "@import", "url("] {
            assert!(!html.contains(banned), "{banned} in the report");
        }
        // Charts are labelled bars (one per option of every choice question).
        let options: usize = r.questions.iter().map(|q| q.shares.len()).sum();
        assert!(html.matches("class=\"bar-label\"").count() >= options);
    }
}

/// The text of an HTML fragment, tags dropped and entities of the report decoded.
fn text_of(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    // ASCII whitespace only: the no-break spaces of "R$ 1.234,00" and "25,4 %" stay.
    out.replace("&amp;", "&")
        .split(|c: char| c.is_ascii_whitespace())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test(flavor = "multi_thread")]
async fn report_summary_numbers_and_competitor_mentions() {
    let app = TestApp::spawn(Backend::SqliteMemory).await;
    let mut stored = seed(&app, 300, 21).await;
    // Competitor answers: one spelled five ways (one mention of 5), one by 4 people
    // (never shown), and the synthetic ones.
    let def = app.state.survey.clone();
    let g = Generator::new(&def, app.state.bairros.all(), at("2026-11-20 12:00:00"), 20);
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut extra = Vec::new();
    for (i, text) in [
        "Supermercado Bom Preço",
        "supermercado bom preco",
        "SUPERMERCADO  BOM PREÇO",
        "Supermercado Bom Preço.",
        " supermercado Bom preço ",
        "Quitanda da Dona Zilda",
        "quitanda da dona zilda",
        "Quitanda da Dona Zilda",
        "QUITANDA DA DONA ZILDA",
    ]
    .iter()
    .enumerate()
    {
        // A household the screener kept (a screened one is left out of the mentions).
        let mut h = loop {
            let h = g.household(&mut rng);
            if h.screened_out.is_none() {
                break h;
            }
        };
        h.answers
            .insert("mercado_atual", AnswerValue::Text((*text).into()));
        h.created_at += chrono::Duration::seconds(i as i64);
        extra.push(h);
    }
    insert(app.db(), &def, extra.clone()).await.expect("insert");
    stored.extend(extra);
    stored.retain(|h| h.screened_out.is_none());

    let params = ReportParams {
        households: Some(Households::Total(12_000)),
        ..ReportParams::default()
    };
    let r = build(&app, &params).await;
    let c = r.competitors.as_ref().expect("competitor question");
    // Independent count of the normalised mentions.
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for h in &stored {
        if let Some(AnswerValue::Text(t)) = h.answers.get("mercado_atual") {
            let key = pesquisa::stats::mentions::normalise(t);
            if !key.is_empty() {
                *counts.entry(key).or_default() += 1;
            }
        }
    }
    let expected: BTreeMap<String, u64> = counts
        .iter()
        .filter(|(_, n)| **n >= 5)
        .map(|(k, n)| (k.clone(), *n))
        .collect();
    let shown: BTreeMap<String, u64> = c
        .mentions
        .top
        .iter()
        .map(|m| (pesquisa::stats::mentions::normalise(&m.label), m.count))
        .collect();
    assert_eq!(shown, expected);
    assert_eq!(shown.get("supermercado bom preco"), Some(&5));
    assert!(!shown.contains_key("quitanda da dona zilda"));
    assert_eq!(c.mentions.answered, counts.values().sum::<u64>());

    let html = report::html::document(&r, pesquisa::i18n::Lang::Pt);
    assert!(
        !html.to_lowercase().contains("zilda"),
        "a mention of 4 respondents is shown"
    );
    let text = text_of(&html);
    // The summary comes first and carries intent, market and potential with intervals.
    let summary = text.find("Resumo executivo").expect("summary");
    assert!(summary < text.find("Estimativa do mercado").expect("market"));
    let mid = r
        .market
        .estimate
        .as_ref()
        .and_then(|e| e.scenario(Scenario::Mid))
        .expect("mid");
    let money = |x: f64| pesquisa::locale::reais(x, false);
    let (lo, hi) = mid.potential_ci95.expect("potential interval");
    let potential = mid.potential_monthly.expect("potential");
    assert!(lo < potential && potential < hi);
    let line = format!(
        "{} (IC 95%: {} – {})",
        money(potential),
        money(lo),
        money(hi)
    );
    assert!(text.contains(&line), "{line} not in the summary");
    let (mlo, mhi) = mid.market_ci95.expect("market interval");
    assert!(text.contains(&format!("{} – {}", money(mlo), money(mhi))));
    // Portuguese numbers: thousands dot, decimal comma, cents, "25,4 %".
    let p = r.intent_top2_pct.expect("intent");
    assert!(text.contains(&pesquisa::locale::percent(p, 1, false)));
    let reais = regex_like_reais(&text);
    assert!(reais > 10, "{reais} amounts like R$ 1.234,56");
    assert!(!text.contains("Domicílios: 0"));
    let en = text_of(&report::html::document(&r, pesquisa::i18n::Lang::En));
    assert!(en.contains(&pesquisa::locale::reais(potential, true)));

    // Without households: no market in reais, and the report says what to provide.
    let r = build(&app, &ReportParams::default()).await;
    let text = text_of(&report::html::document(&r, pesquisa::i18n::Lang::Pt));
    assert!(!text.contains("Domicílios: 0"));
    assert!(text.contains("informe o número de domicílios da área"));
    assert!(text.contains("Número de domicílios da área não informado"));
}

/// Amounts written `R$ d.ddd,dd` (no-break space after the symbol).
fn regex_like_reais(text: &str) -> usize {
    text.split("R$\u{a0}")
        .skip(1)
        .filter(|rest| {
            let amount: String = rest
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ',')
                .collect();
            let amount = amount.trim_end_matches(['.', ',']);
            amount.len() >= 4
                && amount.as_bytes()[amount.len() - 3] == b','
                && amount[..amount.len() - 3]
                    .split('.')
                    .skip(1)
                    .all(|g| g.len() == 3)
        })
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn results_page_is_for_analysts_and_admins_and_downloads_the_csv() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        seed(&app, 60, 5).await;

        let page = Browser::default().get(&app.service, "/admin/results").await;
        assert_eq!(page.status, 303);
        assert!(
            page.location()
                .starts_with("/login?next=%2Fadmin%2Fresults")
        );

        let mut respondent = app.signup(&format!("{}@exemplo.com.br", unique("r"))).await;
        assert_eq!(
            respondent.get(&app.service, "/admin/results").await.status,
            403
        );
        assert_eq!(
            respondent
                .get(&app.service, "/admin/results/respostas.csv")
                .await
                .status,
            403
        );

        let mut analyst = app.staff("analista@exemplo.com.br", Role::Analyst).await;
        let page = analyst.get(&app.service, "/admin/results").await;
        assert_eq!(page.status, 200, "{backend:?}");
        assert!(page.body.contains("Estimativa do mercado"));
        assert!(
            page.body.contains("Resumo executivo") && page.body.contains("class=\"bar-label\"")
        );
        assert!(page.body.contains("/admin/results/respostas.csv"));
        // An analyst is not an admin.
        assert_eq!(analyst.get(&app.service, "/admin/users").await.status, 403);

        let csv = analyst
            .get(&app.service, "/admin/results/respostas.csv")
            .await;
        assert_eq!(csv.status, 200);
        assert!(
            csv.headers["content-type"]
                .to_str()
                .unwrap_or("")
                .starts_with("text/csv")
        );
        let (_, expected) = export::export(
            app.db(),
            &app.state.survey,
            SECRET,
            &ExportOptions::default(),
            Vec::new(),
        )
        .await
        .expect("export");
        assert_eq!(csv.body.as_bytes(), expected.as_slice());
        assert_eq!(csv.body.lines().count(), 61);

        let excel = analyst
            .get(&app.service, "/admin/results/respostas.csv?perfil=excel-br")
            .await;
        assert!(excel.body.starts_with("\u{feff}response_id;"));
        let bad = analyst
            .get(&app.service, "/admin/results/respostas.csv?perfil=xls")
            .await;
        assert_eq!(bad.status, 400);

        let log = audit::recent(app.db(), 20).await.expect("audit");
        assert_eq!(log.iter().filter(|e| e.action == "export.csv").count(), 2);

        let mut admin = app.staff("admin@exemplo.com.br", Role::Admin).await;
        assert_eq!(admin.get(&app.service, "/admin/results").await.status, 200);

        // Computed once per REPORT_TTL per instance: responses saved meanwhile show up
        // only once the cached report has expired.
        assert!(page.body.contains("<dd>60</dd>"), "60 respondents shown");
        seed(&app, 15, 6).await;
        let cached = analyst.get(&app.service, "/admin/results").await;
        assert!(cached.body.contains("<dd>60</dd>") && !cached.body.contains("<dd>75</dd>"));
        app.state.report_cache.expire().await;
        let fresh = analyst.get(&app.service, "/admin/results").await;
        assert!(
            fresh.body.contains("<dd>75</dd>"),
            "recomputed after expiry"
        );
    }
}

// ---------------------------------------------------------------------------------
// The binary.

fn pesquisa(dir: &std::path::Path, db_url: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pesquisa"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PESQUISA_DATABASE__URL", db_url)
        .env("PESQUISA_DATABASE__CONNECT_TIMEOUT_SECS", "2")
        .env(
            "PESQUISA_SESSION__SECRET",
            "cli-report-secret-cli-report-secret-01",
        )
        .env("PESQUISA_LOGGING__LEVEL", "warn")
        .current_dir(dir)
        .stdin(Stdio::null());
    cmd
}

fn succeeded(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A fresh directory with a migrated SQLite database for the binary.
fn migrated_dir(tag: &str) -> (std::path::PathBuf, String) {
    let dir = std::env::temp_dir().join(unique(tag));
    std::fs::create_dir_all(&dir).expect("dir");
    let db_url = format!("sqlite://{}/p.db", dir.display());
    succeeded(
        &pesquisa(&dir, &db_url)
            .args(["migrate", "--create"])
            .output()
            .expect("run"),
    );
    (dir, db_url)
}

fn fails_naming(out: &std::process::Output, flag: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with("pesquisa: error: ") && err.contains(flag),
        "{err}"
    );
}

#[test]
fn report_binary_formats_flags_and_generator() {
    let (dir, db_url) = migrated_dir("pesquisa-report-cli-");
    let run = |args: &[&str]| pesquisa(&dir, &db_url).args(args).output().expect("run");

    let out = run(&["dev", "generate-responses", "--count", "250", "--seed", "3"]);
    succeeded(&out);
    // Refuses to mix synthetic data into a database that has responses.
    fails_naming(
        &run(&["dev", "generate-responses", "--count", "5"]),
        "--append",
    );
    fails_naming(
        &run(&["dev", "generate-responses", "--count", "0"]),
        "--count",
    );

    let out = run(&[
        "report",
        "--format",
        "json",
        "--households",
        "5000",
        "--seed",
        "7",
    ]);
    succeeded(&out);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["respondents"], 250);
    assert_eq!(json["market"]["households_given"], true);
    let again = run(&[
        "report",
        "--format",
        "json",
        "--households",
        "5000",
        "--seed",
        "7",
    ]);
    let again: serde_json::Value = serde_json::from_slice(&again.stdout).expect("json");
    assert_eq!(again["market"], json["market"], "same seed, same numbers");

    let out = run(&["report", "--format", "text", "--lang", "en"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Respondents: 250"), "{text}");
    assert!(text.contains("Without the number of households"));

    std::fs::write(
        dir.join("domicilios.csv"),
        "# bairro;domicílios\nJARDIM SÃO JOSÉ;1200\n",
    )
    .expect("write");
    let out = run(&[
        "report",
        "-o",
        "r.html",
        "--households-file",
        "domicilios.csv",
    ]);
    succeeded(&out);
    let html = std::fs::read_to_string(dir.join("r.html")).expect("html");
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("JARDIM SÃO JOSÉ"));

    std::fs::write(dir.join("ruim.csv"), "JARDIM SÃO JOSÉ;muitos\n").expect("write");
    fails_naming(&run(&["report", "--households-file", "ruim.csv"]), "line 1");
    fails_naming(
        &run(&["report", "-o", "x.html", "--capture-share", "20"]),
        "--capture-share",
    );
    let below = run(&["report", "--open-top-spend", "100"]);
    fails_naming(&below, "--open-top-spend");
    assert!(
        String::from_utf8_lossy(&below.stderr).contains("below the lower bound of the open band"),
        "{below:?}"
    );
    fails_naming(
        &run(&["report", "--since", "2026-12-01", "--until", "2026-11-01"]),
        "--since",
    );
    let out = run(&["report", "--format", "pdf"]);
    assert_eq!(out.status.code(), Some(2), "clap usage error");
    // Nothing written under the output name when the report fails.
    assert!(!dir.join("x.html").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn xlsx_export_needs_an_output_file() {
    let (dir, db_url) = migrated_dir("pesquisa-xlsx-cli-");
    let run = |args: &[&str]| pesquisa(&dir, &db_url).args(args).output().expect("run");
    fails_naming(&run(&["export", "--format", "xlsx"]), "--output");
    let out = run(&["export", "--format", "xlsx", "-o", "r.xlsx"]);
    succeeded(&out);
    assert!(
        std::fs::read(dir.join("r.xlsx"))
            .expect("file")
            .starts_with(b"PK")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_read_only_database_user_can_export_and_report() {
    let app = TestApp::spawn(Backend::MariaRedis).await;
    seed(&app, 30, 2).await;
    let url = &app.state.settings.database.url;
    let db = url.rsplit('/').next().expect("database name").to_string();
    // A user with SELECT only on pesquisa_t_* databases (scripts/test-services.sh).
    let base = std::env::var("TEST_MYSQL_RO_URL")
        .unwrap_or_else(|_| "mysql://pesquisa_ro_test:pesquisa_ro_test@127.0.0.1:3306".into());
    let ro_url = format!("{}/{db}", base.trim_end_matches('/'));
    let dir = std::env::temp_dir().join(unique("pesquisa-ro-"));
    std::fs::create_dir_all(&dir).expect("dir");
    let run = |args: &[&str]| pesquisa(&dir, &ro_url).args(args).output().expect("run");

    // It really is read-only: an insert is refused.
    let out = run(&["dev", "generate-responses", "--count", "1", "--append"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("denied"));

    let out = run(&["export", "--format", "csv"]);
    succeeded(&out);
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 31);
    let out = run(&["export", "--format", "xlsx", "-o", "r.xlsx"]);
    succeeded(&out);
    let out = run(&["report", "--format", "json"]);
    succeeded(&out);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["respondents"], 30);
    // Personal data needs an audit entry, which this user cannot write.
    fails_naming(
        &run(&["export", "--format", "csv", "--include-personal-data"]),
        "audit",
    );
    let _ = std::fs::remove_dir_all(&dir);
}
