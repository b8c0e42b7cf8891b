//! Staff pages as staff use them: each lands where they work after logging in, the admin's
//! dashboard counts the field work, and first-time staff are not told documents changed.

use chrono::Duration;
use pesquisa::accounts::Role;
use pesquisa::synthetic::{Household, insert};

use crate::helpers::{ALL_BACKENDS, Browser, GOOD_PASSWORD, TestApp};

/// A stored response with no answers, in `bairro`, started `started_ago` and (maybe)
/// completed `done_ago` before now.
fn household(bairro: &str, started_ago: i64, done_ago: Option<i64>) -> Household {
    let now = pesquisa::db::users::now();
    Household {
        answers: Default::default(),
        bairro: bairro.into(),
        current_page: 0,
        created_at: now - Duration::days(started_ago),
        updated_at: now - Duration::days(started_ago),
        submitted_at: done_ago.map(|d| now - Duration::days(d)),
        screened_out: None,
    }
}

/// The text of the table row whose first cell is `first` (tags removed, cells joined by
/// `|`).
fn row(body: &str, first: &str) -> String {
    body.split("<tr>")
        .map(|r| {
            r.split("</tr>")
                .next()
                .unwrap_or_default()
                .replace("</td>", "|")
                .replace("</th>", "|")
        })
        .map(|r| {
            let mut text = String::new();
            let mut in_tag = false;
            for c in r.chars() {
                match c {
                    '<' => in_tag = true,
                    '>' => in_tag = false,
                    c if !in_tag => text.push(c),
                    _ => {}
                }
            }
            text
        })
        .find(|r| r.starts_with(&format!("{first}|")))
        .unwrap_or_else(|| panic!("no row {first}:\n{body}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn staff_land_where_they_work_and_the_dashboard_counts_the_field_work() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn_with(backend, |s| s.accounts.staff_require_2fa = false).await;
        let bairros = app.state.bairros.all().to_vec();
        let (first, second) = (bairros[0].clone(), bairros[1].clone());
        // In the first bairro: started 3 days ago and completed 2 days ago, started and
        // completed today, and an old one the 14 days leave out; in the second: started
        // yesterday, not completed.
        insert(
            app.db(),
            &app.state.survey,
            vec![
                household(&first, 3, Some(2)),
                household(&first, 0, Some(0)),
                household(&second, 1, None),
                household(&first, 40, Some(40)),
            ],
        )
        .await
        .expect("insert");
        app.signup("nova@exemplo.com.br").await;

        let _ = app
            .staff_unenrolled("chefe@exemplo.com.br", Role::Admin)
            .await;
        let _ = app
            .staff_unenrolled("analista@exemplo.com.br", Role::Analyst)
            .await;
        for (email, landing) in [
            ("chefe@exemplo.com.br", "/admin"),
            ("analista@exemplo.com.br", "/admin/results"),
        ] {
            let mut b = Browser::default();
            let page = app.login(&mut b, email, GOOD_PASSWORD).await;
            assert_eq!(page.status, 303, "{backend:?} {email}: {}", page.body);
            assert_eq!(page.location(), landing, "{backend:?} {email}");
            // Opening the log-in page again goes the same way.
            let again = b.get(&app.service, "/login").await;
            assert_eq!(again.location(), landing, "{backend:?} {email}");
            if landing == "/admin" {
                let dash = b.get(&app.service, "/admin").await;
                assert_eq!(dash.status, 200, "{}", dash.body);
                let body = &dash.body;
                assert_eq!(
                    row(body, "Contas de respondentes"),
                    "Contas de respondentes|1|"
                );
                assert_eq!(
                    row(body, "Questionários iniciados"),
                    "Questionários iniciados|4|"
                );
                assert_eq!(
                    row(body, "Questionários concluídos"),
                    "Questionários concluídos|3|"
                );
                assert_eq!(
                    row(body, "Taxa de conclusão"),
                    "Taxa de conclusão|75,0\u{a0}%|"
                );
                assert_eq!(row(body, &first), format!("{first}|3|3|100,0\u{a0}%|"));
                assert_eq!(row(body, &second), format!("{second}|1|0|0,0\u{a0}%|"));
                // A bairro nobody has started is listed, with a dash for its rate.
                assert_eq!(row(body, &bairros[2]), format!("{}|0|0|–|", bairros[2]));
                // Days of the study's time zone (survey.timezone, São Paulo by default).
                let zone = pesquisa::locale::Zone::default();
                let today = zone.local(pesquisa::db::users::now()).date();
                let day = |ago: u64| {
                    (today - chrono::Days::new(ago))
                        .format("%d/%m/%Y")
                        .to_string()
                };
                assert!(
                    row(body, &day(0)).starts_with(&format!("{}|1|1|", day(0))),
                    "{body}"
                );
                assert!(row(body, &day(1)).starts_with(&format!("{}|1|0|", day(1))));
                assert!(row(body, &day(2)).starts_with(&format!("{}|0|1|", day(2))));
                assert!(row(body, &day(13)).starts_with(&format!("{}|0|0|", day(13))));
                assert!(!body.contains(&day(14)), "14 days only");
            }
        }
        // An analyst is not shown the admin's dashboard.
        let mut analyst = Browser::default();
        app.login(&mut analyst, "analista@exemplo.com.br", GOOD_PASSWORD)
            .await;
        let refused = analyst.get(&app.service, "/admin").await;
        assert_eq!(refused.status, 403, "{backend:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn first_time_staff_are_asked_to_accept_not_told_documents_changed() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn_with(backend, |s| s.accounts.staff_require_2fa = false).await;
        // Made the way `pesquisa admin create-user` makes it: no consent on record.
        app.create_staff("chefe@exemplo.com.br", Role::Admin).await;
        let mut b = Browser::default();
        let page = app
            .login(&mut b, "chefe@exemplo.com.br", GOOD_PASSWORD)
            .await;
        assert!(
            page.location().starts_with("/consent"),
            "{}",
            page.location()
        );
        let consent = b.get(&app.service, page.location()).await;
        assert!(
            consent.body.contains("Antes de continuar, leia e aceite"),
            "{backend:?}"
        );
        assert!(!consent.body.contains("nova versão"), "{backend:?}");
    }
}
