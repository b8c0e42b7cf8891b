//! The data-quality flags at a scale past one page of answers: the export's loader reads
//! the answers of completed responses 5,000 at a time for straight-lining, while the
//! report judges straight-lining in its own read of the responses; the other rules'
//! inputs are read 5,000 responses at a time by both. On more than one page
//! of synthetic respondents (with accounts, page visits and fingerprints), both must find
//! the same flags, and the report's exclusion must leave out exactly the flagged ones.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use pesquisa::db::schema::responses;
use pesquisa::db::{DbError, quality};
use pesquisa::quality::Flag;
use pesquisa::report::{self, ReportParams};
use pesquisa::synthetic::Generator;
use pesquisa::synthetic::accounts::{self, Accounts};
use pesquisa::with_conn;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::helpers::{ALL_BACKENDS, TestApp};

/// More than one page (5,000) of completed responses with a grid.
const HOUSEHOLDS: usize = 7_000;

#[tokio::test(flavor = "multi_thread")]
async fn the_report_and_the_export_loader_agree_on_flags_past_a_page_of_answers() {
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let def = &app.state.survey;
        let end = NaiveDateTime::parse_from_str("2026-11-20 12:00:00", "%Y-%m-%d %H:%M:%S")
            .expect("time");
        let g = Generator::new(def, app.state.bairros.all(), end, 20);
        let mut rng = ChaCha8Rng::seed_from_u64(29);
        let mut state = Accounts::new(b"key".to_vec(), 0);
        for _ in 0..HOUSEHOLDS / 1_000 {
            let batch = (0..1_000).map(|_| g.household(&mut rng)).collect();
            accounts::insert(app.db(), def, batch, &mut state, &mut rng)
                .await
                .expect("insert");
        }
        let params = app.state.settings.quality.params().expect("params");

        let a = quality::assess(app.db(), def, &params, false)
            .await
            .expect("assess");
        let straight: Vec<i64> = a
            .flags
            .iter()
            .filter(|(_, f)| f.contains(Flag::LinhaReta))
            .map(|(id, _)| *id)
            .collect();
        // The 5,001st completed response: a straight-liner after it is on the second page.
        let page_end: Result<i64, DbError> = async {
            with_conn!(app.db(), |conn| {
                Ok(responses::table
                    .filter(responses::submitted_at.is_not_null())
                    .filter(responses::screened_out.is_null())
                    .order(responses::id.asc())
                    .offset(5_000)
                    .select(responses::id)
                    .first::<i64>(conn)
                    .await?)
            })
        }
        .await;
        let page_end = page_end.expect("5,001st");
        assert!(
            straight.iter().any(|id| *id >= page_end),
            "{backend:?}: no straight-liner found past the first page of answers"
        );
        // The rules' other inputs are read 5,000 responses at a time too: every response
        // is counted, and speeders and duplicates are found past the first page.
        let counts: Result<(i64, i64, i64), DbError> = async {
            with_conn!(app.db(), |conn| {
                let all: i64 = responses::table.count().get_result(conn).await?;
                let complete: i64 = responses::table
                    .filter(responses::submitted_at.is_not_null())
                    .filter(responses::screened_out.is_null())
                    .count()
                    .get_result(conn)
                    .await?;
                let page_end: i64 = responses::table
                    .order(responses::id.asc())
                    .offset(5_000)
                    .select(responses::id)
                    .first(conn)
                    .await?;
                Ok((all, complete, page_end))
            })
        }
        .await;
        let (all, complete, inputs_page_end) = counts.expect("counts");
        assert_eq!(
            (a.flow.started, a.flow.completed),
            (all, complete),
            "{backend:?}"
        );
        for flag in [Flag::Rapido, Flag::Duplicado] {
            assert!(
                a.flags
                    .iter()
                    .any(|(id, f)| *id >= inputs_page_end && f.contains(flag)),
                "{backend:?}: no {flag:?} past the first page of inputs"
            );
        }
        for flag in Flag::ALL {
            let n = a.flags.values().filter(|f| f.contains(flag)).count();
            assert!(
                n > 0 || flag == Flag::Inconsistente,
                "{backend:?}: the synthetic data has no {flag:?}"
            );
        }

        let mut p = ReportParams {
            quality: params,
            ..ReportParams::default()
        };
        let full = report::build(app.db(), def, &p, 1_518)
            .await
            .expect("report");
        let flow = full.sample_flow.clone().expect("flow");
        assert_eq!(flow, a.flow, "{backend:?}: report and loader disagree");

        p.filters.exclude_flagged = true;
        let clean = report::build(app.db(), def, &p, 1_518)
            .await
            .expect("report");
        let clean_flow = clean.sample_flow.clone().expect("flow");
        assert_eq!(clean_flow.used, flow.completed - flow.flagged);
        assert_eq!(
            clean.completes,
            full.completes - u64::try_from(flow.flagged).expect("count"),
            "{backend:?}: the tables must leave out exactly the flagged responses"
        );
    }
}
