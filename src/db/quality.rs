//! The one loader of the data-quality rules ([`crate::quality`]): reads what they need of
//! every response (no personal data: dates, screen-out, confirmed checks, paradata,
//! fingerprints, and the answers when a version of the questionnaire has a grid) and
//! returns each response's flags and the sample flow. The analysts' database users may
//! read all of it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::batches::{Excluded, Filters};
use super::schema::{page_visits, respondent_fingerprints as fp, responses, users};
use super::{DbError, DbPool};
use crate::accounts::Role;
use crate::quality::straightline::straight_lined;
use crate::quality::{Candidate, FlagSet, Params, SampleFlow, flag_all};
use crate::read_conn;
use crate::survey::definition::previous_versions;
use crate::survey::{Answers, Definition, QuestionKind};

/// Every response's flags, and the flow from sign-up to the responses used.
#[derive(Debug, Clone, Default)]
pub struct Assessment {
    /// Flagged completed responses only, by response id.
    pub flags: HashMap<i64, FlagSet>,
    pub flow: SampleFlow,
}

impl Assessment {
    pub fn of(&self, response_id: i64) -> FlagSet {
        self.flags.get(&response_id).copied().unwrap_or_default()
    }
}

type ResponseRow = (
    i64,
    Option<i64>,
    Option<NaiveDateTime>,
    Option<String>,
    String,
);

/// The questionnaire versions that have a grid, by version: only their responses' answers
/// are read, since straight-lining is the one rule that looks at answers.
fn versions_with_grids(def: &Definition) -> HashMap<i32, Definition> {
    std::iter::once(def.clone())
        .chain(previous_versions(def))
        .filter(|d| {
            d.questions()
                .any(|q| matches!(q.kind, QuestionKind::Grid { .. }))
        })
        .filter_map(|d| Some((i32::try_from(d.version()).ok()?, d)))
        .collect()
}

/// Responses whose answers are read per query by the straight-lining check.
const ANSWERS_PAGE: i64 = 5_000;

/// Whether any grid of a completed response's stored answers is straight-lined.
fn any_grid_straight_lined(def: &Definition, answers: &str, min_items: usize) -> bool {
    serde_json::from_str::<Answers>(answers).is_ok_and(|a| {
        def.grid_values(&a)
            .iter()
            .any(|(_, items)| straight_lined(items, min_items))
    })
}

/// Read the inputs and apply the rules with `params` to the responses of `def` (and of
/// its earlier versions). `exclude_flagged` only changes the flow's `used` count.
pub async fn assess(
    pool: &DbPool,
    def: &Definition,
    params: &Params,
    exclude_flagged: bool,
) -> Result<Assessment, DbError> {
    let grids = versions_with_grids(def);
    let grid_versions: Vec<i32> = grids.keys().copied().collect();
    let (signed_up, rows, starts, prints, straight) = read_conn!(pool, |conn| {
        let signed_up: i64 = users::table
            .filter(users::role.eq(Role::Respondent.as_str()))
            .count()
            .get_result(conn)
            .await?;
        let rows: Vec<ResponseRow> = responses::table
            .select((
                responses::id,
                responses::user_id,
                responses::submitted_at,
                responses::screened_out,
                responses::confirmed_checks,
            ))
            .load(conn)
            .await?;
        let starts: Vec<(i64, Option<NaiveDateTime>)> = page_visits::table
            .group_by(page_visits::user_id)
            .select((
                page_visits::user_id,
                diesel::dsl::min(page_visits::first_viewed_at),
            ))
            .load(conn)
            .await?;
        let prints: Vec<(i64, Option<String>, String)> = fp::table
            .select((fp::user_id, fp::phone, fp::name_bairro))
            .load(conn)
            .await?;
        // Read a page of answers at a time, keeping only the ids flagged: the answers of
        // every completed response at once would be hundreds of megabytes.
        let mut straight = HashSet::new();
        let mut after = 0i64;
        while !grid_versions.is_empty() {
            let page: Vec<(i64, i32, String)> = responses::table
                .filter(responses::submitted_at.is_not_null())
                .filter(responses::screened_out.is_null())
                .filter(responses::definition_version.eq_any(&grid_versions))
                .filter(responses::id.gt(after))
                .order(responses::id.asc())
                .limit(ANSWERS_PAGE)
                .select((
                    responses::id,
                    responses::definition_version,
                    responses::answers,
                ))
                .load(conn)
                .await?;
            let Some(&(last, _, _)) = page.last() else {
                break;
            };
            after = last;
            let more = page.len() == ANSWERS_PAGE as usize;
            straight.extend(
                page.into_iter()
                    .filter(|(_, version, text)| {
                        grids.get(version).is_some_and(|d| {
                            any_grid_straight_lined(d, text, params.straightline_min_items)
                        })
                    })
                    .map(|(id, _, _)| id),
            );
            if !more {
                break;
            }
        }
        Ok::<_, DbError>((signed_up, rows, starts, prints, straight))
    })?;
    let starts: HashMap<i64, NaiveDateTime> = starts
        .into_iter()
        .filter_map(|(u, t)| Some((u, t?)))
        .collect();
    let prints: HashMap<i64, (Option<String>, String)> = prints
        .into_iter()
        .map(|(u, phone, name)| (u, (phone, name)))
        .collect();
    let mut screened = HashMap::new();
    let candidates: Vec<Candidate> = rows
        .into_iter()
        .map(|(id, user, submitted_at, screened_out, checks)| {
            let print = user.and_then(|u| prints.get(&u));
            if let Some(rule) = &screened_out {
                screened.insert(id, rule.clone());
            }
            Candidate {
                response_id: id,
                submitted_at,
                screened_out: screened_out.is_some(),
                started_at: user.and_then(|u| starts.get(&u).copied()),
                confirmed_check: checks.split(',').any(|k| !k.is_empty()),
                phone_fp: print.and_then(|p| p.0.clone()),
                name_bairro_fp: print.map(|p| p.1.clone()),
                straight_lined: straight.contains(&id),
            }
        })
        .collect();
    let flags = flag_all(params, &candidates);
    let flow = SampleFlow::new(signed_up, &candidates, &flags, &screened, exclude_flagged);
    Ok(Assessment { flags, flow })
}

/// When `filters.exclude_flagged` is set, fill `filters.excluded` with the flagged
/// responses, so every read through [`super::batches::Batches`] (export, report, weights)
/// leaves them out. Returns the assessment for the caller's counts.
pub async fn exclude_flagged(
    pool: &DbPool,
    def: &Definition,
    params: &Params,
    filters: &mut Filters,
) -> Result<Assessment, DbError> {
    let a = assess(pool, def, params, filters.exclude_flagged).await?;
    filters.excluded = if filters.exclude_flagged {
        Excluded(Some(Arc::new(
            a.flags
                .iter()
                .filter(|(_, f)| !f.is_empty())
                .map(|(id, _)| *id)
                .collect::<HashSet<i64>>(),
        )))
    } else {
        Excluded::default()
    };
    Ok(a)
}

/// How long the dashboard shows an assessment before reading the inputs again (they are
/// a few seconds' read at 200,000 responses; bench/findings.md).
pub const ASSESSMENT_TTL: std::time::Duration = std::time::Duration::from_secs(60);

/// The last assessment with the configured parameters, kept per instance for
/// [`ASSESSMENT_TTL`]: concurrent dashboard views wait for one read instead of each
/// starting one.
#[derive(Default)]
pub struct AssessmentCache(tokio::sync::Mutex<Option<(std::time::Instant, Arc<Assessment>)>>);

impl AssessmentCache {
    pub async fn get(
        &self,
        pool: &DbPool,
        def: &Definition,
        params: &Params,
    ) -> Result<Arc<Assessment>, DbError> {
        let mut slot = self.0.lock().await;
        if let Some((at, a)) = slot.as_ref()
            && at.elapsed() < ASSESSMENT_TTL
        {
            return Ok(a.clone());
        }
        let fresh = Arc::new(assess(pool, def, params, false).await?);
        *slot = Some((std::time::Instant::now(), fresh.clone()));
        Ok(fresh)
    }
}
