//! `/admin/results` with filters (dates in the study's time zone, bairro, completes
//! only) and households: every figure of the page follows them, a wrong field is shown
//! by the field over the unfiltered report, and each download (HTML report, XLSX, both
//! CSV profiles) carries the same filters, is audited, and holds pseudonymous ids only.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use pesquisa::accounts::Role;
use pesquisa::db::schema::responses;
use pesquisa::db::{DbError, DbPool, audit};
use pesquisa::export::{self, CsvProfile, ExportOptions, Filters, Format};
use pesquisa::i18n::Lang;
use pesquisa::report::{self, ReportParams};
use pesquisa::stats::Households;
use pesquisa::synthetic::{Generator, Household, insert};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::helpers::{ALL_BACKENDS, Browser, Page, TestApp, unique};

const SECRET: &[u8] = b"test-secret-test-secret-test-secret!";

fn at(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").expect("time")
}

/// The two bairros the fixture uses (the first two of the configured list).
fn two_bairros(app: &TestApp) -> (String, String) {
    let all = app.state.bairros.all();
    (all[0].clone(), all[1].clone())
}

/// 90 households: 60 in the first bairro, 30 in the second; their last change on
/// 2026-11-05, 2026-11-09 at 23:30 in São Paulo (02:30 UTC on the 10th), or 2026-11-20.
async fn seed(app: &TestApp) -> Vec<Household> {
    let def = &app.state.survey;
    let (a, b) = two_bairros(app);
    let g = Generator::new(def, app.state.bairros.all(), at("2026-11-20 12:00:00"), 20);
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let days = [
        at("2026-11-05 15:00:00"),
        at("2026-11-10 02:30:00"),
        at("2026-11-20 12:00:00"),
    ];
    let households: Vec<Household> = (0..90)
        .map(|i| {
            let mut h = g.household(&mut rng);
            h.bairro = if i % 3 == 2 { b.clone() } else { a.clone() };
            h.updated_at = days[i % 3];
            h.created_at = h.updated_at - chrono::TimeDelta::minutes(10);
            if h.submitted_at.is_some() {
                h.submitted_at = Some(h.updated_at);
            }
            h
        })
        .collect();
    insert(app.db(), def, households.clone())
        .await
        .expect("insert");
    households
}

/// The report as the page must show it for `filters` and `households`.
async fn expected(app: &TestApp, filters: Filters, households: Option<Households>) -> String {
    let mut params = report::params_from_settings(&app.state.settings.report).expect("params");
    params.filters = filters;
    params.filters.verified_only = app.state.settings.require_verified_email();
    params.zone = app.state.settings.survey.zone();
    if households.is_some() {
        params.households = households;
    }
    let r = report::build(
        app.db(),
        &app.state.survey,
        &ReportParams { ..params },
        app.state.settings.survey.salario_minimo,
    )
    .await
    .expect("report");
    let html = report::html::sections(&r, Lang::Pt).into_string();
    // Everything after the facts list (which holds the time it was generated).
    html.split_once("</dl>").expect("facts").1.to_string()
}

fn base(page: &Page) -> String {
    page.body
        .split("<strong>Base: </strong>")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .unwrap_or_else(|| panic!("no base n on the page:\n{}", page.body))
        .to_string()
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn filters_and_households_apply_to_every_figure_on_both_backends() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let stored = seed(&app).await;
        let (a, b) = two_bairros(&app);
        let mut analyst = app.staff("analista@exemplo.com.br", Role::Analyst).await;

        // No filters: everything, said so.
        let page = analyst.get(&app.service, "/admin/results").await;
        assert_eq!(page.status, 200, "{backend:?}");
        assert!(page.body.contains("nenhum: todas as respostas"));
        let completes_all = stored
            .iter()
            .filter(|h| h.submitted_at.is_some() && h.screened_out.is_none())
            .count();
        assert_eq!(
            base(&page),
            format!("n = 90 respostas, das quais {completes_all} completas")
        );
        assert!(
            page.body
                .contains(&expected(&app, Filters::default(), None).await)
        );

        // A bairro: every figure below is the report of that bairro alone.
        let page = analyst
            .get(&app.service, &format!("/admin/results?bairro={}", enc(&a)))
            .await;
        assert_eq!(page.status, 200);
        assert!(
            base(&page).starts_with("n = 60 respostas"),
            "{}",
            base(&page)
        );
        assert!(page.body.contains(&format!("Bairro: {a}")));
        let only_a = Filters {
            bairro: Some(a.clone()),
            ..Filters::default()
        };
        assert!(
            page.body
                .contains(&expected(&app, only_a.clone(), None).await),
            "{backend:?}: the page's figures are not the filtered report"
        );
        assert!(
            !page
                .body
                .contains(&expected(&app, Filters::default(), None).await)
        );
        // The option is kept selected, the downloads repeat the filter.
        assert!(
            page.body
                .contains(&format!("<option value=\"{a}\" selected>"))
        );
        assert!(page.body.contains(&format!(
            "href=\"/admin/results/respostas.xlsx?bairro={}\"",
            enc(&a)
        )));

        // Days are the study's (São Paulo, UTC−3): 02:30 UTC on the 10th is the 9th.
        let page = analyst
            .get(&app.service, "/admin/results?de=2026-11-10&ate=2026-11-30")
            .await;
        assert!(
            base(&page).starts_with("n = 30 respostas"),
            "{}",
            base(&page)
        );
        let page = analyst
            .get(
                &app.service,
                "/admin/results?de=01%2F11%2F2026&ate=2026-11-09",
            )
            .await;
        assert!(
            base(&page).starts_with("n = 60 respostas"),
            "{}",
            base(&page)
        );
        assert!(page.body.contains("De 01/11/2026 · Até 09/11/2026"));

        // Completes only, with the second bairro.
        let page = analyst
            .get(
                &app.service,
                &format!("/admin/results?completos=1&bairro={}", enc(&b)),
            )
            .await;
        let completes_b = stored
            .iter()
            .filter(|h| h.bairro == b && h.submitted_at.is_some())
            .count();
        assert!(
            base(&page).starts_with(&format!(
                "n = {completes_b} respostas, das quais {completes_b}"
            )),
            "{}",
            base(&page)
        );

        // Households: the market in reais appears, as the report computes it.
        let page = analyst
            .get(&app.service, "/admin/results?domicilios=12.000")
            .await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("domicílios: 12.000"));
        assert!(
            page.body.contains(
                &expected(&app, Filters::default(), Some(Households::Total(12_000))).await
            )
        );
        assert!(!page.body.contains("informe o número de domicílios da área"));
        let per_bairro = format!("{a};1200\n{b};300");
        let page = analyst
            .get(
                &app.service,
                &format!("/admin/results?domicilios_bairro={}", enc(&per_bairro)),
            )
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("domicílios por bairro: 2 bairros"));
        let map = [(a.clone(), 1200), (b.clone(), 300)].into_iter().collect();
        assert!(
            page.body.contains(
                &expected(&app, Filters::default(), Some(Households::PerBairro(map))).await
            )
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_filter_is_shown_by_its_field_over_the_unfiltered_report() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        seed(&app).await;
        let mut analyst = app.staff("analista@exemplo.com.br", Role::Analyst).await;
        let unfiltered = expected(&app, Filters::default(), None).await;
        for (query, field, message) in [
            ("de=ontem", "de", "Informe uma data válida"),
            (
                "de=2026-12-01&ate=2026-11-01",
                "ate",
                "A data final é anterior",
            ),
            ("bairro=MOOCA", "bairro", "Escolha um bairro da lista."),
            (
                "domicilios=-3",
                "domicilios",
                "Informe um número inteiro de domicílios",
            ),
            (
                "domicilios=1e9",
                "domicilios",
                "Informe um número inteiro de domicílios",
            ),
            (
                "domicilios_bairro=MOOCA%3B10",
                "domicilios_bairro",
                "Linha 1: este bairro não está na lista",
            ),
            (
                "domicilios=10&domicilios_bairro=X",
                "domicilios_bairro",
                "Linha 1:",
            ),
        ] {
            let page = analyst
                .get(&app.service, &format!("/admin/results?{query}"))
                .await;
            assert_eq!(page.status, 422, "{backend:?} {query}");
            let by_field = format!("<p class=\"field-error\" id=\"{field}-erro\">{message}");
            assert!(page.body.contains(&by_field), "{query}: no {by_field}");
            assert!(page.body.contains(&format!("id=\"{field}\"")));
            assert!(page.body.contains("aria-invalid=\"true\""));
            assert!(page.body.contains("Corrija os campos marcados"));
            // The figures are the unfiltered report's, and the downloads carry no filter.
            assert!(page.body.contains(&unfiltered), "{query}");
            assert!(base(&page).starts_with("n = 90 respostas"));
            assert!(page.body.contains("href=\"/admin/results/respostas.xlsx\""));
            // What was typed stays in the form.
            if query == "bairro=MOOCA" {
                assert!(!page.body.contains("MOOCA\" selected"));
            }
        }
        // A download with a wrong filter downloads nothing and audits nothing.
        for path in [
            "/admin/results/respostas.csv?de=ontem",
            "/admin/results/respostas.xlsx?bairro=MOOCA",
            "/admin/results/relatorio.html?domicilios=zero",
        ] {
            let page = analyst.get(&app.service, path).await;
            assert_eq!(page.status, 422, "{path}");
            assert!(page.headers.get("content-disposition").is_none());
        }
        let log = audit::recent(app.db(), 50).await.expect("audit");
        assert!(!log.iter().any(|e| e.action.starts_with("export.")));
    }
}

/// The database ids of the responses, in id order.
async fn response_ids(db: &DbPool) -> Vec<i64> {
    let ids: Result<Vec<i64>, DbError> = async {
        pesquisa::with_conn!(db, |conn| {
            responses::table
                .select(responses::id)
                .order(responses::id.asc())
                .load::<i64>(conn)
                .await
                .map_err(DbError::from)
        })
    }
    .await;
    ids.expect("ids")
}

async fn attach(db: &DbPool, response: i64, user: i64) {
    let done: Result<usize, DbError> = async {
        pesquisa::with_conn!(db, |conn| {
            diesel::update(responses::table.filter(responses::id.eq(response)))
                .set(responses::user_id.eq(Some(user)))
                .execute(conn)
                .await
                .map_err(DbError::from)
        })
    }
    .await;
    done.expect("attach");
}

/// What `pesquisa export` writes for these filters (the page's secret and zone).
async fn exported(
    app: &TestApp,
    filters: &Filters,
    format: Format,
    profile: CsvProfile,
) -> (export::Summary, Vec<u8>) {
    let opts = ExportOptions {
        format,
        csv_profile: profile,
        filters: filters.clone(),
        zone: app.state.settings.survey.zone(),
        ..ExportOptions::default()
    };
    export::export(app.db(), &app.state.survey, SECRET, &opts, Vec::new())
        .await
        .expect("export")
}

#[tokio::test(flavor = "multi_thread")]
async fn downloads_follow_the_filters_are_audited_and_pseudonymous_on_both_backends() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        seed(&app).await;
        let (a, _) = two_bairros(&app);
        // One response belongs to a real respondent: nothing of theirs may leave.
        let email = format!("{}@exemplo.com.br", unique("resp"));
        let _respondent = app.signup(&email).await;
        let user = pesquisa::db::users::find_by_email(app.db(), &email)
            .await
            .expect("find")
            .expect("user");
        let ids = response_ids(app.db()).await;
        attach(app.db(), ids[0], user.id).await;

        let mut analyst = app.staff("analista@exemplo.com.br", Role::Analyst).await;
        let page = analyst
            .get(
                &app.service,
                &format!("/admin/results?bairro={}&completos=1", enc(&a)),
            )
            .await;
        let query = format!("bairro={}&completos=1", enc(&a));
        // The download links repeat the page's filters (`&` escaped in the attribute).
        for link in [
            format!("/admin/results/relatorio.html?{query}"),
            format!("/admin/results/respostas.xlsx?{query}"),
            format!("/admin/results/respostas.csv?{query}"),
            format!("/admin/results/respostas.csv?perfil=excel-br&{query}"),
        ] {
            let link = format!("href=\"{}\"", link.replace('&', "&amp;"));
            assert!(page.body.contains(&link), "no link {link}");
        }

        let filters = Filters {
            bairro: Some(a.clone()),
            complete_only: true,
            verified_only: app.state.settings.require_verified_email(),
            ..Filters::default()
        };
        // CSV, both profiles: byte for byte the export of the same filters.
        for (perfil, profile) in [
            ("rfc4180", CsvProfile::Rfc4180),
            ("excel-br", CsvProfile::ExcelBr),
        ] {
            let csv = analyst
                .get(
                    &app.service,
                    &format!("/admin/results/respostas.csv?perfil={perfil}&{query}"),
                )
                .await;
            assert_eq!(csv.status, 200, "{backend:?} {perfil}");
            assert_eq!(csv.headers["content-type"], "text/csv; charset=utf-8");
            let disposition = csv.headers["content-disposition"].to_str().unwrap_or("");
            assert!(disposition.starts_with("attachment; filename=\"respostas-"));
            assert!(disposition.ends_with(&format!("-{perfil}.csv\"")));
            let (summary, bytes) = exported(&app, &filters, Format::Csv, profile).await;
            assert_eq!(csv.body.as_bytes(), bytes.as_slice(), "{perfil}");
            assert!(summary.rows > 10 && summary.rows < 60, "{}", summary.rows);
            assert!(!csv.body.contains(&email) && !csv.body.contains("Souza"));
        }
        // The ids are the pseudonyms, never the database ids.
        let rfc = analyst
            .get(
                &app.service,
                &format!("/admin/results/respostas.csv?{query}"),
            )
            .await;
        let pseudonyms: Vec<String> = ids
            .iter()
            .map(|id| export::pseudonym::response_id(SECRET, *id))
            .collect();
        for line in rfc.body.lines().skip(1) {
            let id = line.split(',').next().unwrap_or("");
            assert!(
                pseudonyms.iter().any(|p| p == id),
                "{id} is not a pseudonym"
            );
        }

        // XLSX: the same rows, read back.
        let xlsx = analyst
            .get(
                &app.service,
                &format!("/admin/results/respostas.xlsx?{query}"),
            )
            .await;
        assert_eq!(xlsx.status, 200);
        assert_eq!(
            xlsx.headers["content-type"],
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        );
        let bytes = pesquisa_body_bytes(
            &app,
            &mut analyst,
            &format!("/admin/results/respostas.xlsx?{query}"),
        )
        .await;
        let mut book: calamine::Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).expect("xlsx");
        assert_eq!(
            calamine::Reader::sheet_names(&book),
            ["respostas", "dicionario"]
        );
        let sheet = calamine::Reader::worksheet_range(&mut book, "respostas").expect("sheet");
        let (summary, _) = exported(&app, &filters, Format::Csv, CsvProfile::Rfc4180).await;
        assert_eq!(sheet.height() as u64, summary.rows + 1);
        let header: Vec<String> = sheet
            .rows()
            .next()
            .expect("header")
            .iter()
            .map(|c| c.to_string())
            .collect();
        let bairro_col = header.iter().position(|h| h == "bairro").expect("bairro");
        let submitted_col = header
            .iter()
            .position(|h| h == "submitted_at")
            .expect("submitted");
        assert!(!header.iter().any(|h| h == "email" || h == "nome"));
        for row in sheet.rows().skip(1) {
            assert_eq!(row[bairro_col].to_string(), a);
            assert!(pseudonyms.contains(&row[0].to_string()));
            assert!(
                matches!(row[submitted_col], calamine::Data::DateTime(_)),
                "{:?}",
                row[submitted_col]
            );
        }

        // The report file: as `pesquisa report --format html` writes it, same filters.
        let html = analyst
            .get(
                &app.service,
                &format!("/admin/results/relatorio.html?{query}&domicilios=5000"),
            )
            .await;
        assert_eq!(html.status, 200);
        assert_eq!(html.headers["content-type"], "text/html; charset=utf-8");
        assert!(
            html.headers["content-disposition"]
                .to_str()
                .unwrap_or("")
                .starts_with("attachment; filename=\"relatorio-")
        );
        assert!(html.body.starts_with("<!DOCTYPE html>") && html.body.contains("<style>"));
        for banned in ["<script", "http://", "https://", "src="] {
            assert!(!html.body.contains(banned), "{banned} in the report file");
        }
        let mut filters_no_verified = filters.clone();
        filters_no_verified.verified_only = false;
        assert!(
            html.body.contains(
                &expected(&app, filters_no_verified, Some(Households::Total(5000))).await
            )
        );

        // Every download audited, naming its format and filters, no personal data.
        let log = audit::recent(app.db(), 50).await.expect("audit");
        let details = |action: &str| -> Vec<String> {
            log.iter()
                .filter(|e| e.action == action)
                .map(|e| e.detail.clone())
                .collect()
        };
        let want = format!("bairro={a} completos");
        let csv = details("export.csv");
        assert_eq!(csv.len(), 3, "{csv:?}");
        assert!(csv.contains(&format!("rfc4180; {want}")), "{csv:?}");
        assert!(csv.contains(&format!("excel-br; {want}")), "{csv:?}");
        assert_eq!(details("export.xlsx"), vec![format!("xlsx; {want}"); 2]);
        assert_eq!(details("export.html"), [format!("{want} domicilios=5000")]);
        let actor = pesquisa::db::users::find_by_email(app.db(), "analista@exemplo.com.br")
            .await
            .expect("find")
            .expect("analyst");
        for e in log.iter().filter(|e| e.action.starts_with("export.")) {
            assert_eq!(e.actor_id, Some(actor.id));
            assert!(!e.detail.contains('@') && !e.detail.contains("Souza"));
        }
    }
}

/// The raw bytes of a download (the page helper reads bodies as text).
async fn pesquisa_body_bytes(app: &TestApp, b: &mut Browser, path: &str) -> Vec<u8> {
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
    res.take_bytes(None).await.expect("body").to_vec()
}

#[tokio::test(flavor = "multi_thread")]
async fn respondents_get_none_of_it_and_analysts_and_admins_all() {
    let app = TestApp::spawn(pesquisa_backend()).await;
    seed(&app).await;
    let paths = [
        "/admin/results",
        "/admin/results?domicilios=10",
        "/admin/results/relatorio.html",
        "/admin/results/respostas.xlsx",
        "/admin/results/respostas.csv",
        "/admin/results/respostas.csv?perfil=excel-br",
    ];
    for path in paths {
        let page = Browser::default().get(&app.service, path).await;
        assert_eq!(page.status, 303, "{path}");
        assert!(page.location().starts_with("/login?next="), "{path}");
    }
    let mut respondent = app.signup(&format!("{}@exemplo.com.br", unique("r"))).await;
    for path in paths {
        assert_eq!(
            respondent.get(&app.service, path).await.status,
            403,
            "{path}"
        );
    }
    let mut analyst = app.staff("analista@exemplo.com.br", Role::Analyst).await;
    let mut admin = app.staff("admin@exemplo.com.br", Role::Admin).await;
    for who in [&mut analyst, &mut admin] {
        for path in paths {
            assert_eq!(who.get(&app.service, path).await.status, 200, "{path}");
        }
    }
    let log = audit::recent(app.db(), 50).await.expect("audit");
    assert_eq!(
        log.iter()
            .filter(|e| e.action.starts_with("export."))
            .count(),
        8,
        "two of each download, none for the refused ones"
    );
}

/// The backend of the single-backend test: MariaDB and Redis unless
/// `PESQUISA_TEST_SQLITE` is set.
fn pesquisa_backend() -> crate::helpers::Backend {
    if std::env::var_os("PESQUISA_TEST_SQLITE").is_some() {
        crate::helpers::Backend::SqliteMemory
    } else {
        crate::helpers::Backend::MariaRedis
    }
}
