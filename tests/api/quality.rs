//! Data quality (issue 19): paradata stamped by the questionnaire's GETs and saves, the
//! duplicate fingerprints written at sign-up and by the backfill, and the flags (speeder,
//! confirmed inconsistency, duplicate by phone and by name + bairro) in every export, in
//! the report's sample flow and on the dashboard, with `--exclude-flagged` leaving them
//! out of exports and reports.

use chrono::TimeDelta;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use pesquisa::accounts::Role;
use pesquisa::db::schema::{page_visits, respondent_fingerprints, responses};
use pesquisa::db::{DbError, DbPool, fingerprints, paradata, quality, users};
use pesquisa::export::{self, ExportOptions, Filters, Format, LabelledFiles};
use pesquisa::i18n::Lang;
use pesquisa::quality::{Flag, Params};
use pesquisa::report::{self, ReportParams};
use pesquisa::with_conn;

use crate::helpers::{ALL_BACKENDS, Browser, TestApp, as_refs, signup_fields};
use crate::survey::{PAGES, page_answers};

const SECRET: &[u8] = b"test-secret-test-secret-test-secret!";

async fn user_id(app: &TestApp, email: &str) -> i64 {
    users::find_by_email(app.db(), email)
        .await
        .expect("q")
        .expect("user")
        .id
}

/// Sign up through the form as a person with this name and phone; logged in after.
async fn signup_as(app: &TestApp, email: &str, nome: &str, sobrenome: &str, tel: &str) -> Browser {
    let mut b = Browser::default();
    let mut fields = signup_fields(email);
    for (k, v) in fields.iter_mut() {
        match *k {
            "nome" => *v = nome.into(),
            "sobrenome" => *v = sobrenome.into(),
            "telefone" => *v = tel.into(),
            _ => {}
        }
    }
    let page = b
        .submit(&app.service, "/register", "/register", &as_refs(&fields))
        .await;
    assert_eq!(page.status, 303, "sign-up failed: {}", page.body);
    // Confirming the address logs the browser in, as `TestApp::signup` does.
    let mut page = app.follow_verification(&mut b, email).await;
    for _ in 0..5 {
        if page.status != 303 {
            break;
        }
        let to = page.location().to_string();
        page = b.get(&app.service, &to).await;
    }
    b
}

async fn post_page(app: &TestApp, b: &mut Browser, n: usize, fields: &[(&str, &str)]) -> u16 {
    let path = format!("/survey/{n}");
    b.submit(&app.service, &path, &path, fields).await.status
}

/// How a test respondent answers.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Answering {
    Carefully,
    /// Confirms the spend check on page 5.
    Inconsistently,
    /// Gives every item of page 4's grid the same point.
    StraightLining,
}

/// Answer every page as `how` says and submit.
pub(crate) async fn complete(app: &TestApp, b: &mut Browser, how: Answering) {
    for n in 1..=PAGES {
        let mut fields = page_answers(n);
        if n == 4 && how == Answering::StraightLining {
            for (k, v) in fields.iter_mut() {
                if k.starts_with("importancia_fatores__") {
                    *v = "4";
                }
            }
        }
        if n == 5 && how == Answering::Inconsistently {
            fields = vec![
                ("valor_compra", "501a1000"),
                ("gasto_mensal", "601a1000"),
                ("gasto_bairro", "ate_100"),
                ("checagem_mostrada", "gasto_mensal_baixo"),
                ("checagem_confirmada", "gasto_mensal_baixo"),
            ];
        }
        assert_eq!(post_page(app, b, n, &fields).await, 303, "page {n}");
    }
    let page = b
        .submit(&app.service, "/survey/review", "/survey/submit", &[])
        .await;
    assert_eq!(page.location(), "/survey/thanks");
}

/// Move every first view of `user` to `secs` before the response's submission, as if
/// the questionnaire had taken that long.
async fn took(db: &DbPool, user: i64, secs: i64) {
    let r: Result<(), DbError> = async {
        with_conn!(db, |conn| {
            let submitted: Option<chrono::NaiveDateTime> = responses::table
                .filter(responses::user_id.eq(user))
                .select(responses::submitted_at)
                .first(conn)
                .await?;
            let start = submitted.expect("submitted") - TimeDelta::seconds(secs);
            diesel::update(page_visits::table.filter(page_visits::user_id.eq(user)))
                .set(page_visits::first_viewed_at.eq(start))
                .execute(conn)
                .await?;
            Ok(())
        })
    }
    .await;
    r.expect("move the first views");
}

async fn response_id(db: &DbPool, user: i64) -> i64 {
    pesquisa::db::responses::for_user(db, user)
        .await
        .expect("q")
        .expect("row")
        .id
}

#[tokio::test(flavor = "multi_thread")]
async fn paradata_is_stamped_by_views_and_saves_once_per_page() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let mut b = app.signup("paradados@exemplo.com.br").await;
        let id = user_id(&app, "paradados@exemplo.com.br").await;
        let page = b.get(&app.service, "/survey/1").await;
        assert_eq!(page.status, 200);
        let visits = paradata::for_user(app.db(), id).await.expect("q");
        assert_eq!(visits.len(), 1, "{backend:?}");
        let first = visits[0].clone();
        assert_eq!((first.page, first.saves), (0, 0));
        assert_eq!((first.first_saved_at, first.last_saved_at), (None, None));

        // Saved twice (the second a repeat): one row, two saves, the first save kept.
        assert_eq!(post_page(&app, &mut b, 1, &page_answers(1)).await, 303);
        let after_one = paradata::for_user(app.db(), id).await.expect("q")[0].clone();
        assert_eq!(after_one.saves, 1);
        assert!(after_one.first_saved_at.is_some());
        assert_eq!(after_one.first_saved_at, after_one.last_saved_at);
        assert_eq!(post_page(&app, &mut b, 1, &page_answers(1)).await, 303);
        let visits = paradata::for_user(app.db(), id).await.expect("q");
        let again = visits.iter().find(|v| v.page == 0).expect("page 1");
        assert_eq!(again.saves, 2);
        assert_eq!(again.first_viewed_at, first.first_viewed_at);
        assert_eq!(again.first_saved_at, after_one.first_saved_at);
        assert!(again.last_saved_at >= after_one.last_saved_at);
        // The GETs of `submit` and the second save viewed pages 1 (again) and 2 only.
        assert!(visits.iter().all(|v| v.page <= 1), "{visits:?}");

        // A refused save (422) stamps nothing.
        let bad = post_page(&app, &mut b, 2, &[("sexo", "nenhum")]).await;
        assert_eq!(bad, 422);
        let page2 = paradata::for_user(app.db(), id).await.expect("q");
        assert_eq!(page2.iter().find(|v| v.page == 1).map(|v| v.saves), Some(0));

        // Submission: the duration runs from the first view to the submission.
        complete(&app, &mut b, Answering::Carefully).await;
        let visits = paradata::for_user(app.db(), id).await.expect("q");
        assert_eq!(visits.len(), PAGES, "one row per page");
        let a = quality::assess(app.db(), &app.state.survey, &Params::default(), false)
            .await
            .expect("assess");
        assert_eq!(a.flow.completed, 1);
        assert!(a.flags.is_empty(), "{:?}", a.flags);

        // Deleting the account deletes its paradata and fingerprints with it.
        users::delete(
            app.db(),
            id,
            None,
            "test",
            pesquisa::config::OnDelete::Anonymize,
        )
        .await
        .expect("delete");
        assert!(
            paradata::for_user(app.db(), id)
                .await
                .expect("q")
                .is_empty()
        );
        let left: Result<i64, DbError> = async {
            with_conn!(app.db(), |conn| Ok(respondent_fingerprints::table
                .count()
                .get_result(conn)
                .await?))
        }
        .await;
        assert_eq!(left.expect("count"), 0);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn fingerprints_are_written_at_sign_up_and_backfilled() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        signup_as(
            &app,
            "um@exemplo.com.br",
            "José",
            "da Silva",
            "(12) 99876-5432",
        )
        .await;
        signup_as(
            &app,
            "dois@exemplo.com.br",
            "JOSE",
            "DA  SILVA",
            "+55 12 99876-5432",
        )
        .await;
        let read = || async {
            let r: Result<Vec<(i64, Option<String>, String)>, DbError> = async {
                with_conn!(app.db(), |conn| Ok(respondent_fingerprints::table
                    .order(respondent_fingerprints::user_id)
                    .select((
                        respondent_fingerprints::user_id,
                        respondent_fingerprints::phone,
                        respondent_fingerprints::name_bairro,
                    ))
                    .load(conn)
                    .await?))
            }
            .await;
            r.expect("fingerprints")
        };
        let written = read().await;
        assert_eq!(written.len(), 2, "{backend:?}");
        // Same person written two ways: same fingerprints, and no phone or name in them.
        assert_eq!(written[0].1, written[1].1);
        assert_eq!(written[0].2, written[1].2);
        assert!(
            written[0]
                .1
                .as_deref()
                .is_some_and(|p| p.len() == 64 && !p.contains("99876"))
        );

        // Accounts without any (made before the table existed) get them from the backfill.
        let r: Result<usize, DbError> = async {
            with_conn!(app.db(), |conn| Ok(diesel::delete(
                respondent_fingerprints::table
            )
            .execute(conn)
            .await?))
        }
        .await;
        assert_eq!(r.expect("delete"), 2);
        app.create_staff("equipe@exemplo.com.br", Role::Admin).await;
        let n = fingerprints::backfill(app.db(), &app.state.session_key)
            .await
            .expect("backfill");
        assert_eq!(n, 3);
        let again = read().await;
        assert_eq!(&again[..2], &written[..]);
        assert_eq!(
            fingerprints::backfill(app.db(), &app.state.session_key)
                .await
                .expect("backfill"),
            0
        );
    }
}

/// Seven respondents: 1 and 2 clean; 3 has 1's phone written another way; 4 has 1's
/// name and bairro in other case and spacing; 5 answered in seconds; 6 confirmed a
/// check; 7 gave the grid's five items one point. Returns their response ids in that
/// order.
async fn seven_respondents(app: &TestApp) -> Vec<i64> {
    use Answering::*;
    let people = [
        ("Ana", "Souza", "(12) 99876-5432", Carefully),
        ("Bruno", "Lima", "(12) 99111-2222", Carefully),
        ("Carla", "Dias", "+55 12 99876-5432", Carefully),
        ("ANA", "souza ", "(12) 99333-4444", Carefully),
        ("Diego", "Reis", "(12) 99555-6666", Carefully),
        ("Eva", "Melo", "(12) 99777-8888", Inconsistently),
        ("Fábio", "Nunes", "(12) 99222-3333", StraightLining),
    ];
    let mut ids = Vec::new();
    for (i, (nome, sobrenome, tel, how)) in people.into_iter().enumerate() {
        let email = format!("pessoa{i}@exemplo.com.br");
        let mut b = signup_as(app, &email, nome, sobrenome, tel).await;
        complete(app, &mut b, how).await;
        let user = user_id(app, &email).await;
        if i != 4 {
            took(app.db(), user, 20 * 60).await;
        }
        ids.push(response_id(app.db(), user).await);
    }
    ids
}

/// Two respondents with different names and phones, the second confirming a consistency
/// check (so flagged `inconsistente`, whatever the other rules' parameters); returns their
/// response ids, clean first.
pub(crate) async fn one_clean_one_flagged(app: &TestApp) -> [i64; 2] {
    let people = [
        ("Ana", "Souza", "(12) 99876-5432", Answering::Carefully),
        ("Eva", "Melo", "(12) 99777-8888", Answering::Inconsistently),
    ];
    let mut ids = [0; 2];
    for (i, (nome, sobrenome, tel, how)) in people.into_iter().enumerate() {
        let email = format!("alerta{i}@exemplo.com.br");
        let mut b = signup_as(app, &email, nome, sobrenome, tel).await;
        complete(app, &mut b, how).await;
        ids[i] = response_id(app.db(), user_id(app, &email).await).await;
    }
    ids
}

/// The personal-data export's audit entry counts the rows written: with
/// `--exclude-flagged` the flagged response is neither written nor counted. The results
/// page's downloads never carry personal data: their entry names `sem_alertas`, and the
/// file leaves the flagged response out.
#[tokio::test(flavor = "multi_thread")]
async fn the_audit_entry_counts_only_the_rows_written_when_flagged_ones_are_left_out() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let [clean, flagged] = one_clean_one_flagged(&app).await;
        let params = app.state.settings.quality.params().expect("params");
        let db = app.db();
        let entries = |action: &'static str| async move {
            pesquisa::db::audit::recent(db, 100)
                .await
                .expect("audit")
                .into_iter()
                .filter(|e| e.action == action)
                .map(|e| e.detail)
                .collect::<Vec<_>>()
        };
        for (exclude, written) in [(false, 2), (true, 1)] {
            let opts = ExportOptions {
                filters: Filters {
                    exclude_flagged: exclude,
                    ..Filters::default()
                },
                include_personal_data: true,
                quality_params: params,
                ..ExportOptions::default()
            };
            let (summary, out) =
                export::export(app.db(), &app.state.survey, SECRET, &opts, Vec::new())
                    .await
                    .expect("export");
            assert_eq!(summary.rows, written, "{backend:?}");
            assert_eq!(
                csv_rows(&String::from_utf8(out).expect("utf-8")).len(),
                written as usize
            );
            // The newest entry first.
            assert_eq!(
                entries("export.personal_data").await.into_iter().next(),
                Some(format!("csv {written} rows")),
                "{backend:?}: exclude_flagged {exclude}"
            );
        }
        // Labelled files read the same rows and say so.
        let dir = tempfile::tempdir().expect("dir");
        let files =
            LabelledFiles::create(&dir.path().join("respostas"), Format::Spss).expect("files");
        let opts = ExportOptions {
            format: Format::Spss,
            filters: Filters {
                exclude_flagged: true,
                ..Filters::default()
            },
            include_personal_data: true,
            quality_params: params,
            ..ExportOptions::default()
        };
        let summary = export::export_labelled(app.db(), &app.state.survey, SECRET, &opts, files)
            .await
            .expect("spss");
        assert_eq!(summary.rows, 1);
        assert_eq!(
            entries("export.personal_data").await.into_iter().next(),
            Some("spss 1 rows".to_string()),
            "{backend:?}"
        );

        // /admin/results: `sem_alertas` downloads the clean response only, audited with
        // the filter and no personal data.
        let mut admin = app.staff("chefe@exemplo.com.br", Role::Admin).await;
        let pseudonym = |id| pesquisa::export::pseudonym::response_id(SECRET, id);
        for (query, want) in [("", vec![clean, flagged]), ("?sem_alertas=1", vec![clean])] {
            let csv = admin
                .get(
                    &app.service,
                    &format!("/admin/results/respostas.csv{query}"),
                )
                .await;
            assert_eq!(csv.status, 200);
            let rows = csv_rows(&csv.body);
            let mut got: Vec<String> = rows.iter().map(|r| r[0].clone()).collect();
            got.sort();
            let mut want: Vec<String> = want.into_iter().map(pseudonym).collect();
            want.sort();
            assert_eq!(got, want, "{backend:?} {query}");
            assert!(!csv.body.contains("alerta1@exemplo.com.br"));
        }
        assert_eq!(
            entries("export.csv").await,
            ["rfc4180; sem_alertas", "rfc4180; sem filtros"],
            "{backend:?}"
        );
    }
}

fn csv_rows(text: &str) -> Vec<Vec<String>> {
    csv::Reader::from_reader(text.as_bytes())
        .records()
        .map(|r| r.expect("row").iter().map(String::from).collect())
        .collect()
}

fn header(text: &str) -> Vec<String> {
    text.lines()
        .next()
        .expect("header")
        .split(',')
        .map(String::from)
        .collect()
}

async fn export_csv(app: &TestApp, filters: Filters, params: Params) -> String {
    let opts = ExportOptions {
        filters,
        quality_params: params,
        ..ExportOptions::default()
    };
    let (_, out) = export::export(app.db(), &app.state.survey, SECRET, &opts, Vec::new())
        .await
        .expect("export");
    String::from_utf8(out).expect("utf-8")
}

#[tokio::test(flavor = "multi_thread")]
async fn flags_reach_exports_reports_and_the_dashboard_and_can_be_excluded() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn_with(backend, |s| s.quality.speeder_min_responses = 6).await;
        let ids = seven_respondents(&app).await;
        let params = app.state.settings.quality.params().expect("params");

        let a = quality::assess(app.db(), &app.state.survey, &params, false)
            .await
            .expect("assess");
        let flags: Vec<String> = ids.iter().map(|id| a.of(*id).codes()).collect();
        assert_eq!(
            flags,
            [
                "",
                "",
                "duplicado",
                "duplicado",
                "rapido",
                "inconsistente",
                "linha_reta"
            ],
            "{backend:?}"
        );
        // Fewer timed responses than the default minimum (30): nobody is a speeder.
        let default = quality::assess(app.db(), &app.state.survey, &Params::default(), false)
            .await
            .expect("assess");
        assert!(!default.of(ids[4]).contains(Flag::Rapido));
        // A grid of five items is straight-lined from four items up, not from six.
        let longer = Params {
            straightline_min_items: 6,
            ..params
        };
        let a6 = quality::assess(app.db(), &app.state.survey, &longer, false)
            .await
            .expect("assess");
        assert!(a6.of(ids[6]).is_empty(), "{backend:?}");
        // Each duplicate rule can be turned off.
        let no_phone = Params {
            duplicate_phone: false,
            ..params
        };
        let a2 = quality::assess(app.db(), &app.state.survey, &no_phone, false)
            .await
            .expect("assess");
        assert!(a2.of(ids[2]).is_empty() && a2.of(ids[3]).contains(Flag::Duplicado));

        // CSV: `qualidade` and one 0/1 column per flag, by pseudonymous id.
        let text = export_csv(&app, Filters::default(), params).await;
        let head = header(&text);
        let col = |name: &str| head.iter().position(|h| h == name).expect(name);
        let (rid, q, rapido, dup) = (
            col("response_id"),
            col("qualidade"),
            col("qualidade__rapido"),
            col("qualidade__duplicado"),
        );
        col("qualidade__linha_reta");
        col("qualidade__inconsistente");
        let rows = csv_rows(&text);
        assert_eq!(rows.len(), 7);
        for (id, want) in ids.iter().zip(&flags) {
            let p = pesquisa::export::pseudonym::response_id(SECRET, *id);
            let row = rows.iter().find(|r| r[rid] == p).expect("row");
            assert_eq!(&row[q], want);
            assert_eq!(row[rapido], if want == "rapido" { "1" } else { "0" });
            assert_eq!(row[dup], if want == "duplicado" { "1" } else { "0" });
        }
        // --exclude-flagged: the five flagged responses are left out.
        let only_clean = Filters {
            exclude_flagged: true,
            ..Filters::default()
        };
        let text = export_csv(&app, only_clean.clone(), params).await;
        let rows = csv_rows(&text);
        assert_eq!(rows.len(), 2, "{backend:?}");
        assert!(rows.iter().all(|r| r[q].is_empty()));

        // The codebook describes the columns.
        let book = String::from_utf8(
            export::codebook(&app.state.survey, &ExportOptions::default()).expect("codebook"),
        )
        .expect("utf-8");
        assert!(book.contains("qualidade,text,Qualidade"), "{book}");
        assert!(
            book.contains("duplicado=duplicado: mesmo telefone"),
            "{book}"
        );

        // XLSX: the same columns.
        let opts = ExportOptions {
            format: Format::Xlsx,
            quality_params: params,
            ..ExportOptions::default()
        };
        let (_, xlsx) = export::export(app.db(), &app.state.survey, SECRET, &opts, Vec::new())
            .await
            .expect("xlsx");
        let mut book: calamine::Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx)).expect("opens");
        let sheet = calamine::Reader::worksheet_range(&mut book, "respostas").expect("sheet");
        let head: Vec<String> = sheet
            .rows()
            .next()
            .expect("header")
            .iter()
            .map(|c| c.to_string())
            .collect();
        let qx = head
            .iter()
            .position(|h| h == "qualidade")
            .expect("qualidade");
        let mut codes: Vec<String> = sheet.rows().skip(1).map(|r| r[qx].to_string()).collect();
        codes.sort();
        assert_eq!(
            codes,
            [
                "",
                "",
                "duplicado",
                "duplicado",
                "inconsistente",
                "linha_reta",
                "rapido"
            ]
        );

        // Labelled (SPSS): the flag columns are numeric with value labels.
        let dir = tempfile::tempdir().expect("dir");
        let files =
            LabelledFiles::create(&dir.path().join("respostas"), Format::Spss).expect("files");
        let opts = ExportOptions {
            format: Format::Spss,
            quality_params: params,
            ..ExportOptions::default()
        };
        export::export_labelled(app.db(), &app.state.survey, SECRET, &opts, files)
            .await
            .expect("spss");
        let sps = std::fs::read_to_string(dir.path().join("respostas.sps")).expect("sps");
        assert!(sps.contains("qualidade__rapido"), "{sps}");
        assert!(sps.contains("'Qualidade: rápido"), "{sps}");
        let data = std::fs::read_to_string(dir.path().join("respostas.csv")).expect("csv");
        assert!(header(&data).iter().any(|h| h == "qualidade__duplicado"));

        // The report: the sample flow adds up, and excluding changes the counts.
        let base = ReportParams {
            quality: params,
            ..ReportParams::default()
        };
        let r = report::build(app.db(), &app.state.survey, &base, 1621)
            .await
            .expect("report");
        assert_eq!(r.completes, 7);
        let f = r.sample_flow.clone().expect("flow");
        assert_eq!(
            (f.signed_up, f.started, f.completed, f.flagged, f.used),
            (7, 7, 7, 5, 7)
        );
        assert_eq!(f.screened_total(), 0);
        let by_flag: Vec<i64> = f.by_flag.iter().map(|(_, n)| *n).collect();
        assert_eq!(by_flag, [1, 1, 1, 2]);
        let excluding = ReportParams {
            filters: only_clean,
            ..base
        };
        let r = report::build(app.db(), &app.state.survey, &excluding, 1621)
            .await
            .expect("report");
        assert_eq!(r.completes, 2, "{backend:?}");
        let f = r.sample_flow.clone().expect("flow");
        assert_eq!((f.completed, f.flagged, f.used), (7, 5, 2));
        let text = report::text::render(&r, Lang::Pt);
        assert!(text.contains("== Fluxo da amostra =="), "{text}");
        assert!(text.contains("Usados nos resultados: 2"), "{text}");
        let en = report::html::document(&r, Lang::En);
        assert!(en.contains("Sample flow") && en.contains("Used in the results"));
        let json = serde_json::to_value(&r).expect("json");
        assert_eq!(json["sample_flow"]["used"], 2);
        assert_eq!(json["filters"]["exclude_flagged"], true);

        // The dashboard shows the flow; the results page filters on `sem_alertas`.
        let mut admin = app.staff("chefe@exemplo.com.br", Role::Admin).await;
        let page = admin.get(&app.service, "/admin").await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("Fluxo da amostra"), "{}", page.body);
        assert!(page.body.contains("Com alerta de qualidade"));
        let page = admin
            .get(&app.service, "/admin/results?sem_alertas=1")
            .await;
        assert_eq!(page.status, 200);
        assert!(
            page.body.contains(
                "name=\"sem_alertas\" value=\"1\" aria-describedby=\"sem-alertas-dica\" checked"
            ),
            "{}",
            page.body
        );
        // The download carries the filter: the clean responses only.
        let csv = admin
            .get(&app.service, "/admin/results/respostas.csv?sem_alertas=1")
            .await;
        assert_eq!(csv.status, 200);
        assert_eq!(csv_rows(&csv.body).len(), 2, "{backend:?}");
    }
}
