//! Quotas through the real router, on both backends: a full `close` cell screens the next
//! respondent out at the page that places them and at the submit, `warn` goes over, an
//! edit moves the place (or is refused when the new cell is full), a deleted account gives
//! its place back, crafted POSTs cannot get past, `--recount` reproduces the counts, and
//! fifty concurrent submits for the last places fill them exactly, through two app
//! instances on one MariaDB.

use std::collections::BTreeMap;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use pesquisa::accounts::Role;
use pesquisa::config::quotas::{QuotaEntry, QuotaSettings};
use pesquisa::config::{OnDelete, Settings};
use pesquisa::db::quotas as quota_model;
use pesquisa::db::responses as response_model;
use pesquisa::db::schema::{quota_cells, quota_places};
use pesquisa::db::{DbError, DbPool};
use pesquisa::survey::AnswerValue;
use pesquisa::with_conn;

use crate::helpers::{ALL_BACKENDS, Backend, Browser, TestApp};
use crate::survey::{PAGES, page_answers};

/// A quota on `sexo` with these targets.
fn sex_quota(s: &mut Settings, mode: &str, targets: &[(&str, i64)]) {
    s.quotas = QuotaSettings {
        quota: vec![QuotaEntry {
            name: "sexo".into(),
            by: vec!["sexo".into()],
            mode: mode.into(),
            targets: targets.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            cells: Vec::new(),
        }],
        ..QuotaSettings::default()
    };
}

/// An instance with the quota, its cells synchronised as `serve` does at start.
async fn app_with(backend: Backend, mode: &str, targets: &[(&str, i64)]) -> TestApp {
    let app = TestApp::spawn_with(backend, |s| {
        sex_quota(s, mode, targets);
        s.accounts.on_delete = OnDelete::Delete;
    })
    .await;
    quota_model::sync(app.db(), &app.state.quotas)
        .await
        .expect("sync");
    app
}

async fn user_id(app: &TestApp, email: &str) -> i64 {
    pesquisa::db::users::find_by_email(app.db(), email)
        .await
        .expect("q")
        .expect("user")
        .id
}

async fn row(app: &TestApp, id: i64) -> response_model::Response {
    response_model::for_user(app.db(), id)
        .await
        .expect("q")
        .expect("row")
}

/// Page `n`'s answers with `sexo` replaced.
fn answers_as(n: usize, sexo: &str) -> Vec<(&'static str, String)> {
    page_answers(n)
        .into_iter()
        .map(|(k, v)| (k, if k == "sexo" { sexo } else { v }.to_string()))
        .collect()
}

/// Saves pages `pages` through the form (the CSRF token from the account page, which a
/// screened-out respondent still has); returns the last answer's status and location.
async fn answer(
    app: &TestApp,
    b: &mut Browser,
    pages: std::ops::RangeInclusive<usize>,
    sexo: &str,
) -> (u16, String) {
    let mut last = (0, String::new());
    for n in pages {
        let path = format!("/survey/{n}");
        let fields = answers_as(n, sexo);
        let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let page = b.submit(&app.service, "/account", &path, &refs).await;
        last = (page.status, page.location().to_owned());
        if page.status != 303 || last.1 == "/survey/screened" {
            break;
        }
    }
    last
}

async fn submit(app: &TestApp, b: &mut Browser) -> String {
    let token = b.get(&app.service, "/account").await.csrf();
    b.post(&app.service, "/survey/submit", &[("csrf_token", &token)])
        .await
        .location()
        .to_owned()
}

/// (cell, filled) of every cell.
async fn filled(app: &TestApp) -> BTreeMap<String, i64> {
    quota_model::fill(app.db(), &app.state.quotas)
        .await
        .expect("fill")
        .into_iter()
        .map(|f| (f.cell, f.filled))
        .collect()
}

/// `filled` agrees with the places held, cell by cell.
async fn assert_counts_match_places(app: &TestApp) {
    let places = quota_model::places_per_cell(app.db())
        .await
        .expect("places");
    for (cell, n) in filled(app).await {
        assert_eq!(
            places
                .get(&("sexo".to_string(), cell.clone()))
                .copied()
                .unwrap_or(0),
            n,
            "cell {cell}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_cell_turns_the_next_respondent_away_at_the_page_and_at_the_submit() {
    for backend in ALL_BACKENDS {
        let app = app_with(backend, "close", &[("feminino", 1), ("masculino", 5)]).await;
        // Prepared before the cell fills: everything answered, not submitted.
        let mut late = app.signup("atrasada@exemplo.com.br").await;
        assert_eq!(answer(&app, &mut late, 1..=PAGES, "feminino").await.0, 303);

        let mut first = app.signup("primeira@exemplo.com.br").await;
        answer(&app, &mut first, 1..=PAGES, "feminino").await;
        assert_eq!(
            submit(&app, &mut first).await,
            "/survey/thanks",
            "{backend:?}"
        );
        assert_eq!(filled(&app).await["feminino"], 1);

        // The page that places her (sexo, page 2) ends the questionnaire.
        let mut next = app.signup("seguinte@exemplo.com.br").await;
        let id = user_id(&app, "seguinte@exemplo.com.br").await;
        assert_eq!(
            answer(&app, &mut next, 1..=2, "feminino").await,
            (303, "/survey/screened".to_owned()),
            "{backend:?}"
        );
        assert_eq!(
            row(&app, id).await.screened_out.as_deref(),
            Some("quota:sexo")
        );
        let page = next.get(&app.service, "/survey/screened").await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("perfil"), "{}", page.body);
        // Crafted posts get nowhere and store nothing: a later page, the submit, a change
        // of the answer that placed her.
        let before = row(&app, id).await.answers;
        for path in ["/survey/3", "/survey/2"] {
            let fields = answers_as(path[8..].parse().expect("n"), "masculino");
            let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let page = next.submit(&app.service, "/account", path, &refs).await;
            assert_eq!(page.location(), "/survey/screened", "{backend:?} {path}");
        }
        assert_eq!(submit(&app, &mut next).await, "/survey/screened");
        let after = row(&app, id).await;
        assert_eq!(after.answers, before, "nothing stored");
        assert!(after.submitted_at.is_none());
        assert_eq!(
            next.get(&app.service, "/survey/4").await.location(),
            "/survey/screened"
        );

        // The one prepared earlier is turned away by the submit itself.
        let late_id = user_id(&app, "atrasada@exemplo.com.br").await;
        assert_eq!(
            submit(&app, &mut late).await,
            "/survey/screened",
            "{backend:?}"
        );
        let r = row(&app, late_id).await;
        assert_eq!(r.screened_out.as_deref(), Some("quota:sexo"));
        assert!(r.submitted_at.is_none(), "not counted as complete");
        assert!(r.answers().get("sexo").is_some(), "kept as screened out");

        // The other cell is open.
        let mut man = app.signup("homem@exemplo.com.br").await;
        answer(&app, &mut man, 1..=PAGES, "masculino").await;
        assert_eq!(submit(&app, &mut man).await, "/survey/thanks");
        let f = filled(&app).await;
        assert_eq!((f["feminino"], f["masculino"]), (1, 1), "{backend:?}");
        assert_counts_match_places(&app).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn with_full_set_to_delete_the_answers_of_the_turned_away_are_erased() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn_with(backend, |s| {
            sex_quota(s, "close", &[("feminino", 1)]);
            s.quotas.full = pesquisa::config::quotas::FullSetting::Delete;
        })
        .await;
        quota_model::sync(app.db(), &app.state.quotas)
            .await
            .expect("sync");
        let mut first = app.signup("primeira@exemplo.com.br").await;
        answer(&app, &mut first, 1..=PAGES, "feminino").await;
        assert_eq!(submit(&app, &mut first).await, "/survey/thanks");
        let mut next = app.signup("seguinte@exemplo.com.br").await;
        answer(&app, &mut next, 1..=2, "feminino").await;
        let r = row(&app, user_id(&app, "seguinte@exemplo.com.br").await).await;
        assert_eq!(r.screened_out.as_deref(), Some("quota:sexo"), "{backend:?}");
        assert_eq!(r.answers, "{}", "{backend:?}: answers erased");
        assert_eq!(
            next.get(&app.service, "/survey").await.location(),
            "/survey/screened",
            "not asked again"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn warn_mode_counts_beyond_the_target_and_the_fill_shows_it() {
    for backend in ALL_BACKENDS {
        let app = app_with(backend, "warn", &[("feminino", 1)]).await;
        for email in ["a@exemplo.com.br", "b@exemplo.com.br"] {
            let mut b = app.signup(email).await;
            answer(&app, &mut b, 1..=PAGES, "feminino").await;
            assert_eq!(submit(&app, &mut b).await, "/survey/thanks", "{backend:?}");
        }
        assert_eq!(filled(&app).await["feminino"], 2);
        assert_counts_match_places(&app).await;
        let mut analyst = app.staff("analista@exemplo.com.br", Role::Analyst).await;
        let page = analyst.get(&app.service, "/admin/results").await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("Acima da meta"), "{backend:?}");
        assert!(page.body.contains("200\u{a0}%"), "{backend:?}");
        let mut admin = app.staff("admin@exemplo.com.br", Role::Admin).await;
        let page = admin.get(&app.service, "/admin").await;
        assert!(page.body.contains("id=\"cotas\""), "{backend:?}: dashboard");
        assert!(page.body.contains("Acima da meta"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_edit_moves_the_place_and_is_refused_when_the_new_cell_is_full() {
    for backend in ALL_BACKENDS {
        let app = app_with(backend, "close", &[("feminino", 1), ("masculino", 1)]).await;
        let mut a = app.signup("a@exemplo.com.br").await;
        let a_id = user_id(&app, "a@exemplo.com.br").await;
        answer(&app, &mut a, 1..=PAGES, "feminino").await;
        assert_eq!(submit(&app, &mut a).await, "/survey/thanks");
        // She corrects her answer: the place moves with it.
        assert_eq!(answer(&app, &mut a, 2..=2, "masculino").await.0, 303);
        let f = filled(&app).await;
        assert_eq!((f["feminino"], f["masculino"]), (0, 1), "{backend:?}");
        assert_counts_match_places(&app).await;

        let mut b = app.signup("b@exemplo.com.br").await;
        answer(&app, &mut b, 1..=PAGES, "feminino").await;
        assert_eq!(submit(&app, &mut b).await, "/survey/thanks");
        // Back to a full cell: refused by the field, nothing stored, places unchanged.
        let fields = answers_as(2, "feminino");
        let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let page = a
            .submit(&app.service, "/survey/2", "/survey/2", &refs)
            .await;
        assert_eq!(page.status, 422, "{backend:?}");
        assert!(page.body.contains("já está completo"), "{}", page.body);
        assert!(
            page.body.contains("id=\"sexo-erro\""),
            "the message by the field"
        );
        let r = row(&app, a_id).await;
        assert_eq!(
            r.answers().get("sexo"),
            Some(&AnswerValue::Single("masculino".into()))
        );
        assert!(r.submitted_at.is_some(), "still complete");
        let f = filled(&app).await;
        assert_eq!((f["feminino"], f["masculino"]), (1, 1), "{backend:?}");
        assert_counts_match_places(&app).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_account_gives_its_place_back() {
    for backend in ALL_BACKENDS {
        let app = app_with(backend, "close", &[("feminino", 1)]).await;
        let mut a = app.signup("a@exemplo.com.br").await;
        answer(&app, &mut a, 1..=PAGES, "feminino").await;
        assert_eq!(submit(&app, &mut a).await, "/survey/thanks");
        assert_eq!(filled(&app).await["feminino"], 1);
        let page = a
            .submit(
                &app.service,
                "/account",
                "/account/delete",
                &[("delete_password", crate::helpers::GOOD_PASSWORD)],
            )
            .await;
        assert_eq!(page.status, 303, "{backend:?}");
        assert_eq!(filled(&app).await["feminino"], 0, "{backend:?}");
        assert_counts_match_places(&app).await;
        // The freed place is taken by the next respondent.
        let mut b = app.signup("b@exemplo.com.br").await;
        answer(&app, &mut b, 1..=PAGES, "feminino").await;
        assert_eq!(submit(&app, &mut b).await, "/survey/thanks", "{backend:?}");
    }
}

async fn set_filled(db: &DbPool, n: i64) {
    let r: Result<usize, DbError> = async {
        with_conn!(db, |conn| Ok(diesel::update(quota_cells::table)
            .set(quota_cells::filled.eq(n))
            .execute(conn)
            .await?))
    }
    .await;
    r.expect("update");
}

#[tokio::test(flavor = "multi_thread")]
async fn recount_rebuilds_the_counts_from_the_responses() {
    for backend in ALL_BACKENDS {
        let app = app_with(backend, "warn", &[("feminino", 2), ("masculino", 2)]).await;
        for (email, sexo) in [
            ("a@exemplo.com.br", "feminino"),
            ("b@exemplo.com.br", "feminino"),
            ("c@exemplo.com.br", "feminino"),
            ("d@exemplo.com.br", "masculino"),
        ] {
            let mut b = app.signup(email).await;
            answer(&app, &mut b, 1..=PAGES, sexo).await;
            submit(&app, &mut b).await;
        }
        // A draft does not count.
        let mut e = app.signup("e@exemplo.com.br").await;
        answer(&app, &mut e, 1..=3, "masculino").await;
        let counted = filled(&app).await;
        assert_eq!((counted["feminino"], counted["masculino"]), (3, 1));
        set_filled(app.db(), 0).await;
        let places = quota_model::recount(app.db(), app.state.placing())
            .await
            .expect("recount");
        assert_eq!(places.after, 4, "{backend:?}");
        assert_eq!(places.before, 4, "{backend:?}: the submits had placed them");
        assert_eq!(filled(&app).await, counted, "{backend:?}");
        assert_counts_match_places(&app).await;
    }
}

/// `pesquisa quotas --recount` audits what it did: the places before and after, nothing
/// about who holds them; the plain `pesquisa quotas` (read-only) audits nothing.
#[tokio::test(flavor = "multi_thread")]
async fn the_recount_command_audits_the_places_before_and_after() {
    for backend in ALL_BACKENDS {
        let app = app_with(backend, "warn", &[("feminino", 2), ("masculino", 2)]).await;
        for (email, sexo) in [
            ("a@exemplo.com.br", "feminino"),
            ("b@exemplo.com.br", "feminino"),
            ("c@exemplo.com.br", "masculino"),
        ] {
            let mut b = app.signup(email).await;
            answer(&app, &mut b, 1..=PAGES, sexo).await;
            submit(&app, &mut b).await;
        }
        // A place lost (as a repair would find it): 2 stored, 3 after the recount.
        let lost: Result<usize, DbError> = async {
            with_conn!(app.db(), |conn| {
                let id: i64 = quota_places::table
                    .select(quota_places::response_id)
                    .first(conn)
                    .await?;
                Ok(
                    diesel::delete(quota_places::table.filter(quota_places::response_id.eq(id)))
                        .execute(conn)
                        .await?,
                )
            })
        }
        .await;
        assert_eq!(lost.expect("delete"), 1);
        // The built binary, with the test's database and the same quota.
        let dir = tempfile::tempdir().expect("dir");
        let config = dir.path().join("pesquisa.toml");
        std::fs::write(
            &config,
            format!(
                "[database]\nurl = \"{}\"\n[logging]\nlevel = \"warn\"\n\
                 [session]\nsecret = \"test-secret-test-secret-test-secret!\"\n\
                 [[quotas.quota]]\nname = \"sexo\"\nby = [\"sexo\"]\nmode = \"warn\"\n\
                 targets = {{ feminino = 2, masculino = 2 }}\n",
                app.state.settings.database.url
            ),
        )
        .expect("config");
        let run = |extra: &[&str]| {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_pesquisa"))
                .env_clear()
                .env("PATH", std::env::var("PATH").unwrap_or_default())
                .arg("--config")
                .arg(&config)
                .args(["quotas", "--format", "json"])
                .args(extra)
                .current_dir(dir.path())
                .stdin(std::process::Stdio::null())
                .output()
                .expect("run");
            assert!(
                out.status.success(),
                "{extra:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stderr).into_owned()
        };
        run(&[]);
        let audited = || async {
            pesquisa::db::audit::recent(app.db(), 50)
                .await
                .expect("audit")
                .into_iter()
                .filter(|e| e.action == "cli.quotas_recounted")
                .map(|e| (e.actor_id, e.subject_id, e.detail))
                .collect::<Vec<_>>()
        };
        assert!(
            audited().await.is_empty(),
            "{backend:?}: reading audits nothing"
        );
        let said = run(&["--recount"]);
        assert!(said.contains("recounted: 3 places (before: 2)"), "{said}");
        assert_eq!(
            audited().await,
            vec![(None, None, "antes=2 depois=3".to_string())],
            "{backend:?}"
        );
        assert_counts_match_places(&app).await;
        // The audit page names the action.
        let staff = pesquisa::i18n::Lang::Pt.staff();
        assert!(pesquisa::i18n::staff::ACTIONS.contains(&"cli.quotas_recounted"));
        assert_eq!(
            staff.action("cli.quotas_recounted"),
            Some("Cotas recontadas a partir das respostas")
        );
    }
}

/// `n` respondents who answered everything as women and have not submitted, each with a
/// logged-in browser.
async fn prepared(app: &TestApp, n: usize) -> Vec<Browser> {
    let mut out = Vec::new();
    for i in 0..n {
        let email = format!("r{i}@exemplo.com.br");
        let b = app.signup(&email).await;
        let id = user_id(app, &email).await;
        // Straight through the model (the form's own path is tested above): the point
        // here is the submit.
        for page in 0..PAGES {
            let fields: Vec<(String, String)> = answers_as(page + 1, "feminino")
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
            let answers = pesquisa::survey::validate_page(&app.state.survey, page, &fields, &[])
                .expect("valid page");
            response_model::save_page(
                app.db(),
                id,
                &app.state.survey,
                page,
                answers,
                page + 1,
                &[],
                app.state.placing(),
                None,
            )
            .await
            .expect("save");
        }
        out.push(b);
    }
    out
}

/// Fifty submits at once for the last places of a cell: exactly `target` are placed and
/// the rest screened out, `filled` equals the places. On MariaDB they come through two
/// app instances sharing the database.
#[tokio::test(flavor = "multi_thread")]
async fn fifty_concurrent_submits_fill_the_last_places_exactly() {
    const TARGET: i64 = 5;
    const RESPONDENTS: usize = 50;
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn_with(backend, |s| {
            sex_quota(s, "close", &[("feminino", TARGET)]);
            // Fifty sign-ups from the test's one address.
            s.rate_limit.register_per_ip = 1000;
        })
        .await;
        quota_model::sync(app.db(), &app.state.quotas)
            .await
            .expect("sync");
        let browsers = prepared(&app, RESPONDENTS).await;
        let second = match backend {
            Backend::MariaRedis => app.sibling().await,
            Backend::SqliteMemory => app.service.clone(),
        };
        let mut tasks = Vec::new();
        for (i, mut b) in browsers.into_iter().enumerate() {
            let service = if i % 2 == 0 {
                app.service.clone()
            } else {
                second.clone()
            };
            let token = b.get(&service, "/survey/review").await.csrf();
            tasks.push(tokio::spawn(async move {
                b.post(&service, "/survey/submit", &[("csrf_token", &token)])
                    .await
                    .location()
                    .to_owned()
            }));
        }
        let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
        for t in tasks {
            *outcomes.entry(t.await.expect("task")).or_default() += 1;
        }
        assert_eq!(
            outcomes.get("/survey/thanks").copied(),
            Some(TARGET as usize),
            "{backend:?}: {outcomes:?}"
        );
        assert_eq!(
            outcomes.get("/survey/screened").copied(),
            Some(RESPONDENTS - TARGET as usize),
            "{backend:?}: {outcomes:?}"
        );
        assert_eq!(filled(&app).await["feminino"], TARGET, "{backend:?}");
        assert_counts_match_places(&app).await;
        let (_, submitted) = response_model::counts(app.db()).await.expect("counts");
        assert_eq!(
            submitted, TARGET,
            "{backend:?}: only the placed are complete"
        );
    }
}
