//! Census margins (issue 19) on both backends: `pesquisa census import` and `show` as
//! the binary runs them (good files, each refusal with a non-zero exit naming the file,
//! nothing stored), the households the report takes from them, the `peso` column of the
//! exports (its weighted margins reproduce the census shares), and the weighted report
//! figures against values computed here from the stored answers and weights.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use chrono::NaiveDateTime;
use pesquisa::census::weighting::WeightPlan;
use pesquisa::census::{self, Input};
use pesquisa::db::census::{self as store, CensusWeights, ImportInfo};
use pesquisa::export::{self, CsvProfile, ExportOptions, Format};
use pesquisa::report::weighted::WeightingStatus;
use pesquisa::report::{self, HouseholdsSource, ReportParams};
use pesquisa::stats::Households;
use pesquisa::survey::AnswerValue;
use pesquisa::synthetic::{Generator, Household, insert};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::helpers::{ALL_BACKENDS, TestApp, unique};

const SECRET: &[u8] = b"test-secret-test-secret-test-secret!";
const SJ: &str = "JARDIM SÃO JOSÉ";
const AM: &str = "JARDIM AMERICANO";

fn asset(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("assets/census")
            .join(name),
    )
    .expect("asset")
}

/// The illustrative files (Latin-1, as IBGE writes them) in a fresh directory, under
/// plain names: básico, demografia, mapa.
fn files_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(unique("pesquisa-census-"));
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("basico.csv"), asset("basico_ilustrativo.csv")).expect("write");
    std::fs::write(
        dir.join("demografia.csv"),
        asset("demografia_ilustrativo.csv"),
    )
    .expect("write");
    std::fs::write(
        dir.join("mapa.csv"),
        asset("mapa_setor_bairro_ilustrativo.csv"),
    )
    .expect("write");
    dir
}

/// A copy of `name` in `dir` with `from` replaced by `to` once (bytes, Latin-1 safe).
fn altered(dir: &Path, name: &str, out: &str, from: &str, to: &str) {
    let bytes = std::fs::read(dir.join(name)).expect("read");
    let text: String = bytes.iter().map(|&b| char::from(b)).collect();
    assert!(text.contains(from), "{from} not in {name}");
    let changed = text.replacen(from, to, 1);
    let latin1: Vec<u8> = changed
        .chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
        .collect();
    std::fs::write(dir.join(out), latin1).expect("write");
}

fn pesquisa(dir: &Path, db_url: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pesquisa"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PESQUISA_DATABASE__URL", db_url)
        .env("PESQUISA_DATABASE__CONNECT_TIMEOUT_SECS", "5")
        .env(
            "PESQUISA_SESSION__SECRET",
            "cli-census-secret-cli-census-secret-01",
        )
        .env("PESQUISA_LOGGING__LEVEL", "warn")
        .current_dir(dir)
        .stdin(Stdio::null());
    cmd
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Exit 1 with one error line naming every part of `names`.
fn refused(out: &Output, names: &[&str]) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.starts_with("pesquisa: error: "), "{err}");
    for n in names {
        assert!(err.contains(n), "{n:?} not in {err}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn census_import_stores_margins_and_each_refusal_stores_nothing() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let db_url = app.state.settings.database.url.clone();
        let dir = files_dir();
        let run = |args: &[&str]| pesquisa(&dir, &db_url).args(args).output().expect("run");
        let import = |b: &str, d: &str, m: &str| {
            run(&[
                "census",
                "import",
                "--basico",
                b,
                "--demografia",
                d,
                "--mapa",
                m,
            ])
        };
        assert!(stdout(&run(&["census", "show"])).contains("no census margins stored"));

        // Each refusal names the file (and line), exits 1 and stores nothing.
        altered(
            &dir,
            "basico.csv",
            "codigo.csv",
            "354990405000002;",
            "35499040500002;",
        );
        refused(
            &import("codigo.csv", "demografia.csv", "mapa.csv"),
            &["codigo.csv, line 5", "15 digits"],
        );
        // Men by age group no longer adding up to the men of the setor.
        altered(
            &dir,
            "demografia.csv",
            "soma.csv",
            "354990405000001;895;434;461;25;",
            "354990405000001;895;434;461;26;",
        );
        refused(
            &import("basico.csv", "soma.csv", "mapa.csv"),
            &["soma.csv, line 4", "V01007", "add up"],
        );
        // Persons in the básico file differing from the demografia file's.
        altered(
            &dir,
            "basico.csv",
            "pessoas.csv",
            "354990405000002;Urbana;3549904;São José dos Campos;729;",
            "354990405000002;Urbana;3549904;São José dos Campos;730;",
        );
        refused(
            &import("pessoas.csv", "demografia.csv", "mapa.csv"),
            &["demografia.csv, line 5", "354990405000002", "730"],
        );
        // A mapped bairro the survey does not offer: its margins would meet no response.
        altered(&dir, "mapa.csv", "bairro.csv", AM, "Vila Inventada");
        refused(
            &import("basico.csv", "demografia.csv", "bairro.csv"),
            &[
                "bairro.csv, line 6",
                "Vila Inventada",
                "accounts.bairros_file",
            ],
        );
        // A mapped setor absent from the census files.
        altered(
            &dir,
            "mapa.csv",
            "ausente.csv",
            "354990405000003;",
            "354990405000077;",
        );
        refused(
            &import("basico.csv", "demografia.csv", "ausente.csv"),
            &["ausente.csv, line 6", "354990405000077", "absent"],
        );
        refused(
            &import("nenhum.csv", "demografia.csv", "mapa.csv"),
            &["--basico", "nenhum.csv"],
        );
        refused(
            &import("basico.csv", "demografia.csv", "nenhum.csv"),
            &["--mapa", "nenhum.csv"],
        );
        assert_eq!(
            store::load(app.db()).await.expect("load"),
            None,
            "{backend:?}: refused imports store nothing"
        );

        // Good files: margins per bairro, the unmapped setor reported.
        let out = stdout(&import("basico.csv", "demografia.csv", "mapa.csv"));
        assert!(out.contains("2 bairros, 740 occupied households"), "{out}");
        assert!(
            out.contains("1 setores in the census files but not in the mapping")
                && out.contains("354990405000099"),
            "{out}"
        );
        assert!(!out.contains("ILUSTRATIVO"), "{out}");
        let stored = store::load(app.db()).await.expect("load").expect("stored");
        assert_eq!(
            stored.households(),
            BTreeMap::from([(AM.to_string(), 150), (SJ.to_string(), 590)])
        );
        let info = &stored.info;
        assert_eq!(
            (
                info.basico_file.as_str(),
                info.demografia_file.as_str(),
                info.mapping_file.as_str()
            ),
            ("basico.csv", "demografia.csv", "mapa.csv")
        );
        assert_eq!(
            (
                info.illustrative,
                info.setores,
                info.unmapped,
                info.suppressed
            ),
            (false, 3, 1, 0)
        );
        // Women 15–19 of setores 1 and 2: 30 + 25, two fifths 22; 20–24: 35 + 30;
        // 25–29: 40 + 35 (the parser's own hand sums).
        let women_young = stored.margins.bairros[SJ]
            .adults
            .iter()
            .find(|(s, b, _)| s == "feminino" && b == "18-29")
            .map(|(_, _, v)| *v);
        assert_eq!(women_young, Some(22.0 + 65.0 + 75.0));
        let shown = stdout(&run(&["census", "show"]));
        assert!(
            shown.contains("basico.csv") && shown.contains(&format!("{SJ};590;")),
            "{shown}"
        );

        // A refusal after an import leaves that import as it was.
        refused(&import("basico.csv", "soma.csv", "mapa.csv"), &["soma.csv"]);
        assert_eq!(
            store::load(app.db()).await.expect("load").as_ref(),
            Some(&stored)
        );

        // The zero-config demo: the embedded files, marked illustrative everywhere.
        let out = stdout(&run(&["census", "import", "--illustrative"]));
        assert!(out.starts_with("ILUSTRATIVO / ILLUSTRATIVE"), "{out}");
        let demo = store::load(app.db()).await.expect("load").expect("stored");
        assert!(demo.info.illustrative);
        assert_eq!(
            demo.households(),
            stored.households(),
            "replaced, same numbers"
        );
        assert!(stdout(&run(&["census", "show"])).starts_with("ILUSTRATIVO"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn census_import_on_a_missing_database_needs_create() {
    let dir = files_dir();
    let db_url = format!("sqlite://{}/novo.db", dir.display());
    let run = |args: &[&str]| pesquisa(&dir, &db_url).args(args).output().expect("run");
    refused(
        &run(&["census", "import", "--illustrative"]),
        &["no database at", "--create"],
    );
    assert!(!dir.join("novo.db").exists());
    let out = stdout(&run(&["census", "import", "--illustrative", "--create"]));
    assert!(out.contains("ILUSTRATIVO"), "{out}");
    // The report of that database states the illustrative census households.
    let out = stdout(&run(&["report", "--format", "json"]));
    let json: serde_json::Value = serde_json::from_slice(out.as_bytes()).expect("json");
    assert_eq!(json["households_source"]["kind"], "census");
    assert_eq!(json["households_source"]["illustrative"], true);
    let _ = std::fs::remove_dir_all(&dir);
}

fn at(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").expect("time")
}

/// Synthetic households in the two census bairros and one outside; stored.
async fn seed(app: &TestApp, n: usize) -> Vec<Household> {
    let def = &app.state.survey;
    let bairros = vec![SJ.to_string(), AM.to_string(), "JARDIM HELENA".to_string()];
    let g = Generator::new(def, &bairros, at("2026-11-20 12:00:00"), 20);
    let mut rng = ChaCha8Rng::seed_from_u64(19);
    let households: Vec<Household> = (0..n).map(|_| g.household(&mut rng)).collect();
    insert(app.db(), def, households.clone())
        .await
        .expect("insert");
    households
}

/// The illustrative margins stored as an import would store them.
async fn store_illustrative(app: &TestApp) -> store::Stored {
    let input = |(name, bytes): (&'static str, &'static [u8])| Input { name, bytes };
    let margins = census::import(
        input(census::ILLUSTRATIVE_BASICO),
        input(census::ILLUSTRATIVE_DEMOGRAFIA),
        input(census::ILLUSTRATIVE_MAPA),
        app.state.bairros.all(),
    )
    .expect("margins");
    let info = ImportInfo {
        imported_at: at("2026-12-07 01:02:03"),
        basico_file: "b.csv".into(),
        demografia_file: "d.csv".into(),
        mapping_file: "m.csv".into(),
        illustrative: false,
        setores: 3,
        unmapped: 1,
        suppressed: 0,
    };
    store::replace(app.db(), &info, &margins)
        .await
        .expect("store");
    store::load(app.db()).await.expect("load").expect("stored")
}

fn single<'h>(h: &'h Household, key: &str) -> Option<&'h str> {
    match h.answers.get(key) {
        Some(AnswerValue::Single(v)) => Some(v),
        _ => None,
    }
}

async fn csv(app: &TestApp, profile: CsvProfile) -> Vec<Vec<String>> {
    let opts = ExportOptions {
        format: Format::Csv,
        csv_profile: profile,
        ..ExportOptions::default()
    };
    let (_, out) = export::export(app.db(), &app.state.survey, SECRET, &opts, Vec::new())
        .await
        .expect("export");
    let text = String::from_utf8(out).expect("utf-8");
    let text = text.trim_start_matches('\u{feff}');
    let sep = if profile == CsvProfile::ExcelBr {
        b';'
    } else {
        b','
    };
    csv::ReaderBuilder::new()
        .delimiter(sep)
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.expect("record").iter().map(String::from).collect())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn weights_households_and_the_weighted_report_follow_the_census() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let def = &app.state.survey;
        let households = seed(&app, 600).await;

        // No census: unweighted report that says so, peso = 1 with a note.
        let plain = report::build(app.db(), def, &ReportParams::default(), 1621)
            .await
            .expect("report");
        assert_eq!(plain.weighting.status, WeightingStatus::NoCensus);
        assert_eq!(plain.households_source, HouseholdsSource::None);
        assert!(
            plain
                .questions
                .iter()
                .all(|q| q.weighted.is_none() && q.shares.iter().all(|s| s.weighted_pct.is_none()))
        );
        let rows = csv(&app, CsvProfile::Rfc4180).await;
        let peso = rows[0]
            .iter()
            .position(|h| h == "peso")
            .expect("peso column");
        assert!(rows[1..].iter().all(|r| r[peso] == "1"), "weights of 1");
        let book =
            String::from_utf8(export::codebook(def, &ExportOptions::default()).expect("codebook"))
                .expect("utf-8");
        let line = book
            .lines()
            .find(|l| l.starts_with("peso,"))
            .expect("peso line");
        assert!(line.contains("nenhum dado do censo importado"), "{line}");

        let stored = store_illustrative(&app).await;

        // Households: the census's per bairro unless the analyst gives some.
        let r = report::build(app.db(), def, &ReportParams::default(), 1621)
            .await
            .expect("report");
        assert_eq!(
            r.households_source,
            HouseholdsSource::Census {
                imported_at: at("2026-12-07 01:02:03"),
                illustrative: false
            }
        );
        let estimate = r.market.estimate.as_ref().expect("estimate");
        assert_eq!(
            estimate.basis.params.households,
            Households::PerBairro(stored.households())
        );
        assert!(estimate.premissas.iter().any(|a| a.contains("Censo 2022")));
        let given = ReportParams {
            households: Some(Households::Total(5000)),
            households_source: HouseholdsSource::Analyst,
            ..ReportParams::default()
        };
        let r2 = report::build(app.db(), def, &given, 1621)
            .await
            .expect("report");
        assert_eq!(r2.households_source, HouseholdsSource::Analyst);
        assert_eq!(
            r2.market
                .estimate
                .as_ref()
                .expect("estimate")
                .basis
                .params
                .households,
            Households::Total(5000)
        );

        // The weights: complete, not screened-out responses of the census bairros only.
        let weights = store::weights(app.db(), def, &Default::default(), &WeightPlan::default())
            .await
            .expect("weights");
        let CensusWeights::Raked { by_id, .. } = &weights else {
            panic!("{backend:?}: not raked: {weights:?}")
        };
        // Stored ids follow insertion order (a fresh database).
        let eligible = |h: &Household| {
            h.submitted_at.is_some() && h.screened_out.is_none() && h.bairro != "JARDIM HELENA"
        };
        let expected: Vec<usize> = (0..households.len())
            .filter(|&i| eligible(&households[i]))
            .collect();
        assert_eq!(by_id.len(), expected.len());
        let w_of = |i: usize| by_id.get(&(i as i64 + 1)).copied();
        assert!(expected.iter().all(|&i| w_of(i).is_some()));
        let total: f64 = expected.iter().filter_map(|&i| w_of(i)).sum();
        assert!(
            (total - expected.len() as f64).abs() < 1e-6,
            "mean weight 1"
        );

        // The CSV's peso (both profiles) is that weight; its margins are the census's.
        for profile in [CsvProfile::Rfc4180, CsvProfile::ExcelBr] {
            let rows = csv(&app, profile).await;
            let peso = rows[0].iter().position(|h| h == "peso").expect("peso");
            let bairro = rows[0].iter().position(|h| h == "bairro").expect("bairro");
            let sexo = rows[0].iter().position(|h| h == "sexo").expect("sexo");
            let idade = rows[0].iter().position(|h| h == "idade").expect("idade");
            assert_eq!(rows.len() - 1, households.len());
            let mut by: HashMap<String, f64> = HashMap::new();
            let (mut sum, mut weighted_rows) = (0.0, 0);
            for (row, (i, h)) in rows[1..].iter().zip(households.iter().enumerate()) {
                if !eligible(h) {
                    assert_eq!(row[peso], "", "row {i} has no weight");
                    continue;
                }
                let w: f64 = row[peso].replace(',', ".").parse().expect("number");
                assert!((w - w_of(i).expect("weight")).abs() < 1e-6 * w.max(1.0));
                weighted_rows += 1;
                sum += w;
                *by.entry(format!("b:{}", row[bairro])).or_default() += w;
                *by.entry(format!("s:{}", row[sexo])).or_default() += w;
                let band = row[idade]
                    .parse::<i64>()
                    .ok()
                    .and_then(census::weighting::age_band)
                    .unwrap_or("?");
                *by.entry(format!("a:{band}")).or_default() += w;
            }
            assert_eq!(weighted_rows, expected.len());
            let share = |k: &str| by.get(k).copied().unwrap_or(0.0) / sum;
            // Households: 590 of 740 in JARDIM SÃO JOSÉ.
            assert!(
                (share(&format!("b:{SJ}")) - 590.0 / 740.0).abs() < 1e-4,
                "{profile:?}: {by:?}"
            );
            // Adults 18+ of both bairros by sex, among those who gave feminino/masculino.
            let adults = |sex: Option<&str>, band: Option<&str>| -> f64 {
                stored
                    .margins
                    .bairros
                    .values()
                    .flat_map(|m| &m.adults)
                    .filter(|(s, b, _)| sex.is_none_or(|x| x == s) && band.is_none_or(|x| x == b))
                    .map(|(_, _, v)| v)
                    .sum()
            };
            let (f, m) = (share("s:feminino"), share("s:masculino"));
            let census_f = adults(Some("feminino"), None) / adults(None, None);
            assert!((f / (f + m) - census_f).abs() < 1e-4, "{f} {m} {census_f}");
            for band in census::ADULT_BANDS {
                let target = adults(None, Some(band)) / adults(None, None);
                let informed = 1.0 - share("a:?");
                assert!(
                    (share(&format!("a:{band}")) / informed - target).abs() < 1e-4,
                    "{band}"
                );
            }
        }

        // JSON Lines carries the same weights.
        let opts = ExportOptions {
            format: Format::Jsonl,
            ..ExportOptions::default()
        };
        let (_, out) = export::export(app.db(), def, SECRET, &opts, Vec::new())
            .await
            .expect("export");
        let jsonl = String::from_utf8(out).expect("utf-8");
        for (line, (i, h)) in jsonl.lines().zip(households.iter().enumerate()) {
            let v: serde_json::Value = serde_json::from_str(line).expect("json");
            match w_of(i) {
                Some(w) => assert!((v["peso"].as_f64().expect("number") - w).abs() < 1e-9),
                None => assert!(v["peso"].is_null(), "{h:?}"),
            }
        }

        // And the workbook.
        let opts = ExportOptions {
            format: Format::Xlsx,
            ..ExportOptions::default()
        };
        let (_, xlsx) = export::export(app.db(), def, SECRET, &opts, Vec::new())
            .await
            .expect("xlsx");
        let mut book: calamine::Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx)).expect("opens");
        let sheet = calamine::Reader::worksheet_range(&mut book, "respostas").expect("sheet");
        let mut rows = sheet.rows();
        let head = rows.next().expect("header");
        let peso = head
            .iter()
            .position(|c| matches!(c, calamine::Data::String(s) if s == "peso"))
            .expect("peso in the workbook");
        for (row, i) in rows.zip(0..) {
            match (w_of(i), &row[peso]) {
                (Some(w), calamine::Data::Float(x)) => assert!((x - w).abs() < 1e-9),
                (None, calamine::Data::Empty) => {}
                (w, other) => panic!("row {i}: {w:?} against {other:?}"),
            }
        }

        // The weighted report, against sums computed here from the stored answers.
        let r = report::build(app.db(), def, &ReportParams::default(), 1621)
            .await
            .expect("report");
        assert_eq!(r.weighting.status, WeightingStatus::Weighted);
        let q = r.questions.iter().find(|q| q.key == "sexo").expect("sexo");
        let answered: Vec<usize> = expected
            .iter()
            .copied()
            .filter(|&i| single(&households[i], "sexo").is_some())
            .collect();
        let sw: f64 = answered.iter().filter_map(|&i| w_of(i)).sum();
        let sw2: f64 = answered
            .iter()
            .filter_map(|&i| w_of(i))
            .map(|w| w * w)
            .sum();
        let base = q.weighted.as_ref().expect("weighted base");
        assert_eq!(base.n as usize, answered.len());
        assert!((base.n_eff - sw * sw / sw2).abs() < 1e-6);
        assert!((base.deff - answered.len() as f64 / (sw * sw / sw2)).abs() < 1e-6);
        for s in &q.shares {
            let wk: f64 = answered
                .iter()
                .filter(|&&i| single(&households[i], "sexo") == Some(s.value.as_str()))
                .filter_map(|&i| w_of(i))
                .sum();
            let p = s.weighted_pct.expect("weighted %");
            assert!((p - wk / sw * 100.0).abs() < 1e-6, "{}", s.value);
            let (lo, hi) = s.weighted_ci95.expect("interval");
            assert!(lo <= p && p <= hi);
            assert!(s.pct.is_some(), "unweighted beside it");
        }
        // Each margin's achieved share meets its target.
        assert!(!r.weighting.margins.is_empty());
        for m in &r.weighting.margins {
            assert!(
                (m.achieved_pct - m.target_pct).abs() < 0.01,
                "{} {}",
                m.margin,
                m.category
            );
        }
        let summary = r.weighting.summary.expect("summary");
        assert_eq!(summary.n, expected.len());
        // The weighted market: weighted mean spend (Mid) × the census's 740 households.
        let market = r.weighting.market.as_ref().expect("weighted market");
        assert_eq!(market.households, Some(740));
        let mm = market.market_monthly.expect("market");
        assert!((mm - market.spend.weighted * 740.0).abs() < 1e-6);
        let (lo, hi) = market.spend.ci95;
        assert!(lo < market.spend.weighted && market.spend.weighted < hi);
        assert!(
            r.weighting
                .premissas
                .iter()
                .any(|a| a.contains("prefiro não informar"))
        );
        // Both renderings show weighted beside unweighted.
        let html = report::html::document(&r, pesquisa::i18n::Lang::Pt);
        assert!(html.contains("% ponderado") && html.contains("Alvo (%)"));
        assert!(html.contains("Censo 2022 (importado em "), "source named");
        let text = report::text::render(&r, pesquisa::i18n::Lang::En);
        assert!(
            text.contains("weighted %") && text.contains("Target (%)"),
            "{text}"
        );
    }
}
