//! Weights in every report table (issue 19) and the Critério Brasil cross-tabs (issue 18)
//! on both backends: the report's weighted cross-tabs, per-bairro intent, scenario and
//! group means, computed in one read by raking cell, against sums computed here from the
//! stored answers and the export's weights by response; a raking that fails (report
//! unweighted with the reason in both languages, `peso` empty with the codebook saying
//! why, the page a 200 with the warning); trimming that cannot meet the margins (bounds
//! kept, the gap reported); and the labelled files as a zip download run through PSPP.

use std::io::Read as _;
use std::process::Command;

use chrono::NaiveDateTime;
use pesquisa::accounts::Role;
use pesquisa::census::weighting::WeightPlan;
use pesquisa::census::{self, Input};
use pesquisa::db::audit;
use pesquisa::db::batches::Filters;
use pesquisa::db::census::{self as store, CensusWeights, ImportInfo};
use pesquisa::export::{self, CsvProfile, ExportOptions, Format};
use pesquisa::report::weighted::WeightingStatus;
use pesquisa::report::{self, ReportParams};
use pesquisa::stats::{Band, RakeOptions, Scenario, midpoint};
use pesquisa::survey::{AnswerValue, CcebTable, Definition, Role as QRole};
use pesquisa::synthetic::{Generator, Household, insert};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::helpers::{ALL_BACKENDS, TestApp, unique};
use crate::labelled_export::run;

const SECRET: &[u8] = b"test-secret-test-secret-test-secret!";
const OUTSIDE: &str = "JARDIM HELENA";

fn at(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").expect("time")
}

/// Synthetic households in the two census bairros and one outside; stored.
async fn seed(app: &TestApp, n: usize) -> Vec<Household> {
    let def = &app.state.survey;
    let bairros = vec![
        "JARDIM SÃO JOSÉ".to_string(),
        "JARDIM AMERICANO".to_string(),
        OUTSIDE.to_string(),
    ];
    let g = Generator::new(def, &bairros, at("2026-11-20 12:00:00"), 20);
    let mut rng = ChaCha8Rng::seed_from_u64(18);
    let households: Vec<Household> = (0..n).map(|_| g.household(&mut rng)).collect();
    insert(app.db(), def, households.clone())
        .await
        .expect("insert");
    households
}

/// The illustrative margins stored as an import would store them.
async fn store_census(app: &TestApp) {
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
        illustrative: true,
        setores: 3,
        unmapped: 1,
        suppressed: 0,
    };
    store::replace(app.db(), &info, &margins)
        .await
        .expect("store");
}

/// The weight of each household (ids follow insertion order in a fresh database), as the
/// export's `peso` column computes it.
async fn weights_by_household(app: &TestApp, plan: &WeightPlan, n: usize) -> Vec<Option<f64>> {
    let w = store::weights(app.db(), &app.state.survey, &Filters::default(), plan)
        .await
        .expect("weights");
    let CensusWeights::Raked { by_id, .. } = w else {
        panic!("not raked: {w:?}")
    };
    (0..n)
        .map(|i| by_id.get(&(i as i64 + 1)).copied())
        .collect()
}

/// The option index a household chose in a single-choice question.
fn chosen(def: &Definition, h: &Household, key: &str) -> Option<usize> {
    let q = def.question(key)?;
    match h.answers.get(key) {
        Some(AnswerValue::Single(v)) => q.options().iter().position(|o| o.value == *v),
        _ => None,
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6 * b.abs().max(1.0)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_weighted_table_matches_the_weights_of_the_responses() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let def = &app.state.survey;
        let households = seed(&app, 500).await;
        store_census(&app).await;
        let r = report::build(app.db(), def, &ReportParams::default(), 1621)
            .await
            .expect("report");
        assert_eq!(r.weighting.status, WeightingStatus::Weighted, "{backend:?}");
        let w = weights_by_household(&app, &WeightPlan::default(), households.len()).await;
        let weight = |i: usize| w[i];

        // Cross-tabs: Critério Brasil first, income class beside it, for each question.
        let intent = def
            .by_role(QRole::PurchaseIntent)
            .expect("intent")
            .key
            .clone();
        let bys: Vec<(&str, &str)> = r.crosstabs.iter().map(|c| (c.key.as_str(), c.by)).collect();
        assert!(
            bys.windows(2)
                .any(|p| p[0] == (intent.as_str(), "classe_cceb")
                    && p[1] == (intent.as_str(), "classe_renda")),
            "{bys:?}"
        );
        let table = CcebTable::embedded();
        let classes: Vec<String> = table.classes().iter().map(|c| c.class.clone()).collect();
        assert_eq!(classes, ["A", "B1", "B2", "C1", "C2", "DE"]);
        let x = r
            .crosstabs
            .iter()
            .find(|c| c.key == intent && c.by == "classe_cceb")
            .expect("cceb × intent");
        assert_eq!(x.rows, classes);
        let cols = x.cols.len();
        let excluded: Vec<bool> = def
            .question(&intent)
            .expect("q")
            .options()
            .iter()
            .map(|o| o.excluded)
            .collect();
        // Unweighted counts and weighted row shares, from the stored answers.
        let mut counts = vec![vec![0u64; cols]; classes.len()];
        let mut sums = vec![vec![0.0f64; cols]; classes.len()];
        for (i, h) in households.iter().enumerate() {
            if h.screened_out.is_some() {
                continue;
            }
            let Some(s) = table.score(&h.answers) else {
                continue;
            };
            let row = classes.iter().position(|c| *c == s.class).expect("class");
            let Some(col) = chosen(def, h, &intent).filter(|c| !excluded[*c]) else {
                continue;
            };
            counts[row][col] += 1;
            if let Some(w) = weight(i) {
                sums[row][col] += w;
            }
        }
        assert_eq!(x.counts, counts, "{backend:?}: unweighted counts");
        assert!(counts.iter().flatten().sum::<u64>() > 100);
        let wt = x.weighted.as_ref().expect("weighted cross-tab");
        for (row, s) in sums.iter().enumerate() {
            let total: f64 = s.iter().sum();
            for (col, v) in s.iter().enumerate() {
                match wt.row_pct[row][col] {
                    Some(p) => assert!(close(p, v / total * 100.0), "{row} {col}: {p}"),
                    None => assert_eq!(total, 0.0),
                }
            }
        }

        // Per bairro: the weighted top-two intent of the bairro's weighted respondents.
        let top2: Vec<bool> = def
            .question(&intent)
            .expect("q")
            .options()
            .iter()
            .map(|o| !o.excluded && o.lower.or(o.upper).is_some_and(|v| v >= 4.0))
            .collect();
        let mut rows_seen = 0;
        for b in &r.bairros {
            let (mut yes, mut all, mut n) = (0.0, 0.0, 0u64);
            for (i, h) in households.iter().enumerate() {
                let Some(w) = weight(i).filter(|_| h.bairro == b.bairro) else {
                    continue;
                };
                let Some(c) = chosen(def, h, &intent).filter(|c| !excluded[*c]) else {
                    continue;
                };
                n += 1;
                all += w;
                if top2[c] {
                    yes += w;
                }
            }
            if b.bairro == OUTSIDE {
                assert_eq!(b.weighted_intent_top2_pct, None, "not weighted");
                continue;
            }
            rows_seen += 1;
            assert_eq!(b.weighted_n, Some(n), "{}", b.bairro);
            let p = b.weighted_intent_top2_pct.expect("weighted intent");
            assert!(close(p, yes / all * 100.0), "{}: {p}", b.bairro);
        }
        assert_eq!(rows_seen, 2);

        // Mean spend, Mid scenario: the weighted mean of the band midpoints.
        let spend = def.by_role(QRole::MonthlySpend).expect("spend");
        let open_top = r.market.open_top_spend.expect("open top");
        let (mut swy, mut sw, mut n) = (0.0, 0.0, 0u64);
        for (i, h) in households.iter().enumerate() {
            let Some(w) = weight(i) else { continue };
            let Some(o) = chosen(def, h, &spend.key).map(|c| &spend.options()[c]) else {
                continue;
            };
            if o.excluded {
                continue;
            }
            let Some(y) = midpoint(&Band::new(o.lower, o.upper), open_top) else {
                continue;
            };
            swy += w * y;
            sw += w;
            n += 1;
        }
        let mid = r
            .weighting
            .scenarios
            .iter()
            .find(|s| s.scenario == Scenario::Mid)
            .expect("mid");
        assert_eq!(r.weighting.scenarios.len(), 3);
        assert_eq!(mid.spend.weighted_n, n);
        let m = mid.spend.weighted_mean.expect("weighted mean");
        assert!(close(m, swy / sw), "{m} {}", swy / sw);
        let boot = r.weighting.market.as_ref().expect("market");
        assert!(
            close(boot.spend.weighted, m),
            "bootstrap point = linearized point"
        );
        let (lo, hi) = mid.spend.ci95.expect("interval");
        assert!(lo < m && m < hi);
        assert!(close(
            mid.market_monthly.expect("market"),
            m * boot.households.expect("households") as f64
        ));
        let lower = &r.weighting.scenarios[0];
        assert_eq!(lower.scenario, Scenario::Lower);
        assert!(lower.spend.weighted_mean.expect("lower") < m);
        // Unweighted beside it: the market estimate's own Mid mean.
        let unweighted = r
            .market
            .estimate
            .as_ref()
            .and_then(|e| e.scenario(Scenario::Mid))
            .and_then(|s| s.overall.result.mean())
            .expect("unweighted mean");
        assert!(close(
            mid.spend.unweighted_mean.expect("unweighted"),
            unweighted
        ));
        // Groups: every class of both criteria, and the bairros.
        assert_eq!(r.weighting.by_income_class.len(), 5);
        assert_eq!(
            r.weighting
                .by_cceb_class
                .iter()
                .map(|g| g.group.as_str())
                .collect::<Vec<_>>(),
            ["A", "B1", "B2", "C1", "C2", "DE"]
        );
        assert!(
            r.weighting
                .by_cceb_class
                .iter()
                .any(|g| g.weighted_mean.is_some())
        );
        let outside = r
            .weighting
            .by_bairro
            .iter()
            .find(|g| g.group == OUTSIDE)
            .expect("outside bairro");
        assert_eq!((outside.weighted_n, outside.weighted_mean), (0, None));

        // Every rendering says which figures are which.
        let html = report::html::document(&r, pesquisa::i18n::Lang::Pt);
        for needle in [
            "por classe Critério Brasil",
            "(não ponderado)",
            "Ponderado: % da linha",
            "Intenção, ponderada (%)",
            "Gasto médio e mercado por cenário, ponderados",
            "Classe (Critério Brasil)",
        ] {
            assert!(html.contains(needle), "{backend:?}: no {needle:?}");
        }
        let text = report::text::render(&r, pesquisa::i18n::Lang::En);
        for needle in [
            "by Critério Brasil class",
            "(unweighted)",
            "Weighted: row %",
            "Mean spend by bairro (Mid scenario), weighted",
        ] {
            assert!(text.contains(needle), "{backend:?}: no {needle:?}");
        }
        let json = serde_json::to_value(&r).expect("json");
        assert!(json["crosstabs"][0]["weighted"]["row_pct"].is_array());
        assert!(json["weighting"]["scenarios"][2]["spend"]["weighted_mean"].is_number());
    }
}

/// A plan raking cannot meet: one sweep at a tolerance no sweep reaches.
fn failing_plan() -> WeightPlan {
    WeightPlan {
        options: RakeOptions {
            max_iterations: 1,
            tolerance: 1e-12,
            ..RakeOptions::default()
        },
        ..WeightPlan::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_raking_leaves_everything_unweighted_and_says_why() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn_with(backend, |s| {
            s.weighting.max_iterations = 1;
            s.weighting.tolerance = 1e-12;
        })
        .await;
        let def = &app.state.survey;
        let households = seed(&app, 300).await;
        store_census(&app).await;
        let params = ReportParams {
            weighting: failing_plan(),
            ..ReportParams::default()
        };
        let r = report::build(app.db(), def, &params, 1621)
            .await
            .expect("report, not an error");
        assert_eq!(r.weighting.status, WeightingStatus::Failed, "{backend:?}");
        let pt = r.weighting.failure_pt.clone().expect("reason pt");
        let en = r.weighting.failure.clone().expect("reason en");
        assert!(pt.contains("não convergiu em 1 iterações"), "{pt}");
        assert!(en.contains("did not converge after 1 iterations"), "{en}");
        assert!(r.questions.iter().all(|q| q.weighted.is_none()));
        assert!(r.crosstabs.iter().all(|c| c.weighted.is_none()));
        assert!(
            r.bairros
                .iter()
                .all(|b| b.weighted_intent_top2_pct.is_none())
        );
        assert!(r.weighting.scenarios.is_empty() && r.weighting.market.is_none());
        assert!(r.weighting.premissas.iter().any(|p| p.contains(&pt)));
        let html = report::html::document(&r, pesquisa::i18n::Lang::Pt);
        assert!(html.contains("class=\"report-warning\""), "{backend:?}");
        assert!(html.contains(&pt) && html.contains("Atenção"));
        assert!(
            !html.contains("(não ponderado)"),
            "nothing is weighted to tell apart"
        );
        let text = report::text::render(&r, pesquisa::i18n::Lang::En);
        assert!(text.contains("WARNING: ") && text.contains(&en), "{text}");

        // The export: `peso` empty on every row, the codebook saying why.
        let opts = ExportOptions {
            format: Format::Csv,
            csv_profile: CsvProfile::Rfc4180,
            weighting: failing_plan(),
            ..ExportOptions::default()
        };
        let (_, out) = export::export(app.db(), def, SECRET, &opts, Vec::new())
            .await
            .expect("export");
        let text = String::from_utf8(out).expect("utf-8");
        let mut rows = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
        let peso = rows
            .headers()
            .expect("header")
            .iter()
            .position(|h| h == "peso")
            .expect("peso");
        let mut n = 0;
        for row in rows.records() {
            assert_eq!(&row.expect("row")[peso], "", "no weight");
            n += 1;
        }
        assert_eq!(n, households.len());
        // The codebook describes the weights the export computed (as `pesquisa export`).
        let computed = export::weights(app.db(), def, &opts)
            .await
            .expect("weights");
        let opts = ExportOptions {
            weights: Some(computed),
            ..opts
        };
        let book =
            String::from_utf8(export::codebook(def, &opts).expect("codebook")).expect("utf-8");
        let line = book.lines().find(|l| l.starts_with("peso,")).expect("peso");
        assert!(
            line.contains("a calibração falhou") && line.contains("não convergiu"),
            "{line}"
        );

        // The page: a 200 with the warning, not a 500.
        let mut analyst = app.staff("analista@exemplo.com.br", Role::Analyst).await;
        let page = analyst.get(&app.service, "/admin/results").await;
        assert_eq!(page.status, 200, "{backend:?}");
        assert!(page.body.contains("report-warning") && page.body.contains("não convergiu"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn trimming_keeps_the_bounds_and_reports_the_margins_it_could_not_meet() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let def = &app.state.survey;
        let households = seed(&app, 400).await;
        store_census(&app).await;
        let plan = WeightPlan {
            options: RakeOptions {
                trim: Some((0.97, 1.03)),
                max_trim_rounds: 5,
                ..RakeOptions::default()
            },
            ..WeightPlan::default()
        };
        let params = ReportParams {
            weighting: plan.clone(),
            ..ReportParams::default()
        };
        let r = report::build(app.db(), def, &params, 1621)
            .await
            .expect("report");
        assert_eq!(r.weighting.status, WeightingStatus::Weighted, "{backend:?}");
        assert!(!r.weighting.margins_met);
        let gap = r.weighting.margins_gap.as_ref().expect("gap");
        assert!(gap.gap_pct > 0.0, "{gap:?}");
        assert!(gap.aviso.contains("0.97–1.03"), "{}", gap.aviso);
        let (lo, hi) = r.weighting.weight_range.expect("range");
        assert!(lo >= 0.97 - 1e-9 && hi <= 1.03 + 1e-9, "{lo} {hi}");
        // The export's weights are the report's: within the bounds of their mean.
        let w: Vec<f64> = weights_by_household(&app, &plan, households.len())
            .await
            .into_iter()
            .flatten()
            .collect();
        let mean = w.iter().sum::<f64>() / w.len() as f64;
        assert!((mean - 1.0).abs() < 1e-9);
        assert!(w.iter().all(|x| *x >= 0.97 - 1e-9 && *x <= 1.03 + 1e-9));
        // The margins table shows the gap the warning names.
        let row = r
            .weighting
            .margins
            .iter()
            .find(|m| m.margin == gap.margin && m.category == gap.category)
            .expect("gap row");
        assert!((row.achieved_pct - row.target_pct).abs() > 1e-3);
        let html = report::html::document(&r, pesquisa::i18n::Lang::Pt);
        assert!(html.contains(&gap.aviso) && html.contains("report-warning"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_labelled_files_download_as_a_zip_that_pspp_reads() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let households = seed(&app, 120).await;
        store_census(&app).await;
        let bairro = "JARDIM AMERICANO";
        let in_bairro = households.iter().filter(|h| h.bairro == bairro).count();
        let mut analyst = app.staff("analista@exemplo.com.br", Role::Analyst).await;
        let query = format!("bairro={}", bairro.replace(' ', "+"));
        let page = analyst
            .get(&app.service, &format!("/admin/results?{query}"))
            .await;
        let link = format!("href=\"/admin/results/respostas.zip?pacote=spss&amp;{query}\"");
        assert!(page.body.contains(&link), "no link {link}");

        let path = format!("/admin/results/respostas.zip?pacote=spss&{query}");
        let (status, headers, bytes) = download(&app, &analyst, &path).await;
        assert_eq!(status, 200, "{backend:?}");
        assert_eq!(headers.0, "application/zip");
        assert!(headers.1.starts_with("attachment; filename=\"respostas-"));
        assert!(headers.1.ends_with("-spss.zip\""), "{}", headers.1);
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip");
        let dir = std::env::temp_dir().join(unique("pesquisa-zip-"));
        std::fs::create_dir_all(&dir).expect("dir");
        let mut names = Vec::new();
        for i in 0..archive.len() {
            let mut f = archive.by_index(i).expect("entry");
            let name = f.name().to_string();
            assert!(!name.contains('/'), "flat archive: {name}");
            let mut data = Vec::new();
            f.read_to_end(&mut data).expect("read");
            std::fs::write(dir.join(&name), data).expect("write");
            names.push(name);
        }
        names.sort();
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(
            names[0].ends_with(".csv") && names[1].ends_with(".sps"),
            "{names:?}"
        );
        let csv = std::fs::read_to_string(dir.join(&names[0])).expect("csv");
        assert_eq!(
            csv.lines().count(),
            in_bairro + 1,
            "the page's filter applies"
        );
        assert!(!csv.contains('@'), "pseudonymous");
        let sps = std::fs::read_to_string(dir.join(&names[1])).expect("sps");
        assert!(
            sps.contains(&names[0]),
            "the script names the CSV beside it"
        );
        let mut script = sps;
        script.push_str("DESCRIPTIVES peso.\n");
        std::fs::write(dir.join("check.sps"), script).expect("write");
        let out = run(Command::new("pspp")
            .args(["-O", "format=csv", "-o", "-"])
            .arg("check.sps")
            .current_dir(&dir));
        // The script weights by `peso`; drafts and screened-out responses have none,
        // which PSPP notes. Nothing else may be wrong.
        assert!(!out.contains("error:"), "{out}");
        let flat = out.split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(
            flat.matches("warning:").count(),
            flat.matches("had a weight value that was user-missing")
                .count(),
            "{out}"
        );
        assert!(out.contains("Descriptive Statistics"), "{out}");

        // Each package has its file; anything else is refused; all audited.
        for (pacote, ext) in [("stata", ".do"), ("r", ".R")] {
            let (status, _, bytes) = download(
                &app,
                &analyst,
                &format!("/admin/results/respostas.zip?pacote={pacote}"),
            )
            .await;
            assert_eq!(status, 200);
            let archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("zip");
            assert!(archive.file_names().any(|n| n.ends_with(ext)), "{pacote}");
        }
        let (status, _, _) =
            download(&app, &analyst, "/admin/results/respostas.zip?pacote=sas").await;
        assert_eq!(status, 400);
        let log = audit::recent(app.db(), 50).await.expect("audit");
        let details = |action: &str| -> Vec<String> {
            log.iter()
                .filter(|e| e.action == action)
                .map(|e| e.detail.clone())
                .collect()
        };
        assert_eq!(details("export.spss"), vec![format!("bairro={bairro}")]);
        assert_eq!(details("export.stata"), vec!["sem filtros".to_string()]);
        assert_eq!(details("export.r").len(), 1);
    }
}

/// Status, content type and disposition, and the raw bytes of a download.
async fn download(
    app: &TestApp,
    b: &crate::helpers::Browser,
    path: &str,
) -> (u16, (String, String), Vec<u8>) {
    use salvo::test::{ResponseExt, TestClient};
    let jar = b
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let mut req = TestClient::get(format!("http://127.0.0.1{path}"))
        .add_header("cookie", jar, true)
        .build();
    *req.remote_addr_mut() = b.peer.into();
    let mut res = app.service.handle(req).await;
    let header = |name: &str| {
        res.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let headers = (header("content-type"), header("content-disposition"));
    let status = res.status_code.map_or(0, |s| s.as_u16());
    let bytes = res.take_bytes(None).await.expect("body").to_vec();
    (status, headers, bytes)
}
