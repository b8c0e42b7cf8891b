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
use super::responses::Response;
use super::schema::{page_visits, respondent_fingerprints as fp, responses, users};
use super::{DbError, DbPool};
use crate::accounts::Role;
use crate::quality::straightline::straight_lined;
use crate::quality::{Candidate, Flag, FlagSet, FlowCount, Judging, Params, SampleFlow};
use crate::read_conn;
use crate::survey::definition::previous_versions;
use crate::survey::slots::{AnswerSlots, Resolved, RowAnswers};
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

/// (id, user, submitted, screen-out rule, any confirmed check) of one response.
type ResponseRow = (
    i64,
    Option<i64>,
    Option<NaiveDateTime>,
    Option<String>,
    bool,
);

/// The grids of each questionnaire version and the rule's minimum: judges one response's
/// answers for straight-lining, the one rule that looks at answers.
#[derive(Debug, Clone, Default)]
pub struct GridJudge {
    grids: HashMap<i32, Definition>,
    min_items: usize,
    /// The current definition's version and its grids by slot (see [`SlotGrid`]).
    current: Option<(i32, Vec<SlotGrid>)>,
}

/// A grid of the current definition read from [`RowAnswers`]: its slot, and the number
/// of each of its points by position (`None` for a missing option such as "não sei",
/// which is left out as [`Definition::grid_values`] leaves it out).
#[derive(Debug, Clone)]
struct SlotGrid {
    slot: usize,
    points: Vec<Option<i64>>,
}

impl SlotGrid {
    /// The grids of `def` by slot.
    fn of(def: &Definition) -> Vec<SlotGrid> {
        let slots = AnswerSlots::new(def);
        def.questions()
            .filter(|q| matches!(q.kind, QuestionKind::Grid { .. }))
            .filter_map(|q| {
                let (slot, _) = slots.slot(&q.key)?;
                let points = q
                    .options()
                    .iter()
                    .map(|o| (!o.excluded).then(|| o.value.parse().ok()).flatten())
                    .collect();
                Some(SlotGrid { slot, points })
            })
            .collect()
    }

    /// The points of the answered items, in the grid's order.
    fn values(&self, answers: &RowAnswers<'_>) -> Vec<i64> {
        match answers.get(self.slot) {
            Some(Some(Resolved::Grid(items))) => items
                .iter()
                .filter_map(|item| {
                    let (_, at) = item.as_ref()?;
                    *self.points.get((*at)?)?
                })
                .collect(),
            _ => Vec::new(),
        }
    }
}

impl GridJudge {
    /// The versions of `def` (current and earlier) that have a grid.
    pub fn new(def: &Definition, params: &Params) -> GridJudge {
        let grids = std::iter::once(def.clone())
            .chain(previous_versions(def))
            .filter(|d| {
                d.questions()
                    .any(|q| matches!(q.kind, QuestionKind::Grid { .. }))
            })
            .filter_map(|d| Some((i32::try_from(d.version()).ok()?, d)))
            .collect();
        let current = i32::try_from(def.version())
            .ok()
            .map(|v| (v, SlotGrid::of(def)));
        GridJudge {
            grids,
            min_items: params.straightline_min_items,
            current,
        }
    }

    /// As [`Self::straight_lined`], for the answers of a response of the current
    /// version read into slots; `None` for another version (whose grids may differ).
    pub fn straight_lined_slots(&self, version: i32, answers: &RowAnswers<'_>) -> Option<bool> {
        let (_, grids) = self.current.as_ref().filter(|(v, _)| *v == version)?;
        Some(
            grids
                .iter()
                .any(|g| straight_lined(&g.values(answers), self.min_items)),
        )
    }

    fn versions(&self) -> Vec<i32> {
        self.grids.keys().copied().collect()
    }

    /// Whether any grid of answers given under `version` is straight-lined.
    pub fn straight_lined(&self, version: i32, answers: &Answers) -> bool {
        self.grids.get(&version).is_some_and(|d| {
            d.grid_values(answers)
                .iter()
                .any(|(_, items)| straight_lined(items, self.min_items))
        })
    }
}

/// Responses whose answers are read per query by the straight-lining check.
const ANSWERS_PAGE: i64 = 5_000;

/// Fingerprints compared per statement when reading the duplicated ones.
const FINGERPRINT_CHUNK: usize = 500;

/// Responses read per query for the rules' inputs: the read keeps one page of rows, not
/// one row per response of the study.
const INPUTS_PAGE: i64 = 5_000;

/// What the rules read of every response but the answers: the completed responses
/// gathered for judging (only completed responses are flagged), the other responses
/// already counted into the sample flow, and the number of respondent accounts.
struct Inputs {
    signed_up: i64,
    candidates: Judging,
    /// Started, screened-out and unfinished responses; the completed ones are added with
    /// their flags once these are known.
    others: FlowCount,
}

/// The fingerprints of each account that shares one with another account, for the
/// duplicate rules: the database groups them, so memory grows with the duplicates, not
/// with the accounts.
struct SharedFingerprints {
    phones: HashMap<i64, String>,
    names: HashMap<i64, String>,
}

async fn shared_fingerprints(
    pool: &DbPool,
    params: &Params,
) -> Result<(i64, SharedFingerprints), DbError> {
    let (signed_up, phones, names) = read_conn!(pool, |conn| {
        let signed_up: i64 = users::table
            .filter(users::role.eq(Role::Respondent.as_str()))
            .count()
            .get_result(conn)
            .await?;
        let mut phones: Vec<(i64, Option<String>)> = Vec::new();
        if params.duplicate_phone {
            let shared: Vec<Option<String>> = fp::table
                .filter(fp::phone.is_not_null())
                .group_by(fp::phone)
                .having(diesel::dsl::count_star().gt(1))
                .select(fp::phone)
                .load(conn)
                .await?;
            let shared: Vec<String> = shared.into_iter().flatten().collect();
            for chunk in shared.chunks(FINGERPRINT_CHUNK) {
                phones.extend(
                    fp::table
                        .filter(fp::phone.eq_any(chunk))
                        .select((fp::user_id, fp::phone))
                        .load::<(i64, Option<String>)>(conn)
                        .await?,
                );
            }
        }
        let mut names: Vec<(i64, String)> = Vec::new();
        if params.duplicate_name_bairro {
            let shared: Vec<String> = fp::table
                .group_by(fp::name_bairro)
                .having(diesel::dsl::count_star().gt(1))
                .select(fp::name_bairro)
                .load(conn)
                .await?;
            for chunk in shared.chunks(FINGERPRINT_CHUNK) {
                names.extend(
                    fp::table
                        .filter(fp::name_bairro.eq_any(chunk))
                        .select((fp::user_id, fp::name_bairro))
                        .load::<(i64, String)>(conn)
                        .await?,
                );
            }
        }
        Ok::<_, DbError>((signed_up, phones, names))
    })?;
    Ok((
        signed_up,
        SharedFingerprints {
            phones: phones
                .into_iter()
                .filter_map(|(u, p)| Some((u, p?)))
                .collect(),
            names: names.into_iter().collect(),
        },
    ))
}

/// Reads [`Inputs`] a page of responses at a time, each page with the first page view
/// of its completed respondents (paradata). `straight`: the straight-lined responses,
/// when the caller knows them.
async fn read_inputs(
    pool: &DbPool,
    params: &Params,
    straight: &HashSet<i64>,
) -> Result<Inputs, DbError> {
    let (signed_up, shared) = shared_fingerprints(pool, params).await?;
    let mut candidates = Judging::default();
    let mut others = FlowCount::default();
    let mut after = 0i64;
    loop {
        let (rows, starts) = read_conn!(pool, |conn| {
            let rows: Vec<ResponseRow> = responses::table
                .filter(responses::id.gt(after))
                .order(responses::id.asc())
                .limit(INPUTS_PAGE)
                .select((
                    responses::id,
                    responses::user_id,
                    responses::submitted_at,
                    responses::screened_out,
                    responses::confirmed_checks.ne(""),
                ))
                .load(conn)
                .await?;
            let users: Vec<i64> = rows
                .iter()
                .filter(|r| r.2.is_some() && r.3.is_none())
                .filter_map(|r| r.1)
                .collect();
            let starts: Vec<(i64, Option<NaiveDateTime>)> = if users.is_empty() {
                Vec::new()
            } else {
                page_visits::table
                    .filter(page_visits::user_id.eq_any(&users))
                    .group_by(page_visits::user_id)
                    .select((
                        page_visits::user_id,
                        diesel::dsl::min(page_visits::first_viewed_at),
                    ))
                    .load(conn)
                    .await?
            };
            Ok::<_, DbError>((rows, starts))
        })?;
        let Some(&(last, ..)) = rows.last() else {
            break;
        };
        after = last;
        let more = rows.len() == INPUTS_PAGE as usize;
        let starts: HashMap<i64, NaiveDateTime> = starts
            .into_iter()
            .filter_map(|(u, t)| Some((u, t?)))
            .collect();
        for (id, user, submitted_at, screened_out, confirmed_check) in rows {
            if submitted_at.is_none() || screened_out.is_some() {
                others.add(screened_out.as_deref(), false, FlagSet::default());
                continue;
            }
            candidates.add(&Candidate {
                response_id: id,
                submitted_at,
                screened_out: false,
                started_at: user.and_then(|u| starts.get(&u).copied()),
                confirmed_check,
                phone_fp: user.and_then(|u| shared.phones.get(&u).cloned()),
                name_bairro_fp: user.and_then(|u| shared.names.get(&u).cloned()),
                straight_lined: straight.contains(&id),
            });
        }
        if !more {
            break;
        }
    }
    Ok(Inputs {
        signed_up,
        candidates,
        others,
    })
}

/// The ids of the completed responses with a straight-lined grid, reading their answers
/// a page at a time and keeping only the ids: the answers of every completed response at
/// once would be hundreds of megabytes.
async fn straight_lined_ids(pool: &DbPool, judge: &GridJudge) -> Result<HashSet<i64>, DbError> {
    let versions = judge.versions();
    let mut straight = HashSet::new();
    let mut after = 0i64;
    while !versions.is_empty() {
        let page: Vec<(i64, i32, String)> = read_conn!(pool, |conn| {
            Ok(responses::table
                .filter(responses::submitted_at.is_not_null())
                .filter(responses::screened_out.is_null())
                .filter(responses::definition_version.eq_any(&versions))
                .filter(responses::id.gt(after))
                .order(responses::id.asc())
                .limit(ANSWERS_PAGE)
                .select((
                    responses::id,
                    responses::definition_version,
                    responses::answers,
                ))
                .load(conn)
                .await?)
        })?;
        let Some(&(last, _, _)) = page.last() else {
            break;
        };
        after = last;
        let more = page.len() == ANSWERS_PAGE as usize;
        straight.extend(
            page.into_iter()
                .filter(|(_, version, text)| {
                    serde_json::from_str::<Answers>(text)
                        .is_ok_and(|a| judge.straight_lined(*version, &a))
                })
                .map(|(id, _, _)| id),
        );
        if !more {
            break;
        }
    }
    Ok(straight)
}

/// Read the inputs and apply the rules with `params` to the responses of `def` (and of
/// its earlier versions). `exclude_flagged` only changes the flow's `used` count.
pub async fn assess(
    pool: &DbPool,
    def: &Definition,
    params: &Params,
    exclude_flagged: bool,
) -> Result<Assessment, DbError> {
    let straight = straight_lined_ids(pool, &GridJudge::new(def, params)).await?;
    let Inputs {
        signed_up,
        candidates,
        others: mut flow,
    } = read_inputs(pool, params, &straight).await?;
    let completed = candidates.completed();
    let flags = candidates.finish(params);
    // Every completed response into the flow: the flagged ones with their flags.
    for f in flags.values() {
        flow.add(None, true, *f);
    }
    for _ in flags.len()..completed {
        flow.add(None, true, FlagSet::default());
    }
    Ok(Assessment {
        flags,
        flow: flow.finish(signed_up, exclude_flagged),
    })
}

/// Every flag but straight-lining, judged over all responses without reading their
/// answers, for a caller that reads the answers anyway (the report): it adds
/// straight-lining response by response with [`Prejudged::flags_of`].
#[derive(Debug, Clone, Default)]
pub struct Prejudged {
    /// Respondent accounts (the sample flow's first step).
    pub signed_up: i64,
    flags: HashMap<i64, FlagSet>,
    grids: GridJudge,
}

impl Prejudged {
    /// The flags of `response` given its parsed `answers`.
    pub fn flags_of(&self, response: &Response, answers: &RowAnswers<'_>) -> FlagSet {
        let mut flags = self.flags.get(&response.id).copied().unwrap_or_default();
        if response.submitted_at.is_some() && response.screened_out.is_none() {
            let version = response.definition_version;
            let lined = self
                .grids
                .straight_lined_slots(version, answers)
                .unwrap_or_else(|| self.grids.straight_lined(version, &response.answers()));
            if lined {
                flags.insert(Flag::LinhaReta);
            }
        }
        flags
    }
}

/// See [`Prejudged`].
pub async fn prejudge(
    pool: &DbPool,
    def: &Definition,
    params: &Params,
) -> Result<Prejudged, DbError> {
    let inputs = read_inputs(pool, params, &HashSet::new()).await?;
    Ok(Prejudged {
        signed_up: inputs.signed_up,
        flags: inputs.candidates.finish(params),
        grids: GridJudge::new(def, params),
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::survey::{AnswerValue, default_definition};

    /// The report judges straight-lining on answers read into slots; the other readers
    /// on parsed answers. Both must flag the same responses.
    #[test]
    fn slots_judge_straight_lining_as_parsed_answers_do() {
        let def = default_definition().expect("definition");
        let version = i32::try_from(def.version()).expect("version");
        let judge = GridJudge::new(&def, &Params::default());
        let slots = AnswerSlots::new(&def);
        let grid = |points: &[(&str, &str)]| {
            let mut a = Answers::new();
            a.insert(
                "importancia_fatores",
                AnswerValue::Grid(
                    points
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                ),
            );
            a
        };
        let cases = [
            // Every item the same point: flagged.
            (
                grid(&[
                    ("preco", "3"),
                    ("qualidade", "3"),
                    ("variedade", "3"),
                    ("atendimento", "3"),
                    ("distancia", "3"),
                ]),
                true,
            ),
            // One item differs.
            (
                grid(&[
                    ("preco", "3"),
                    ("qualidade", "3"),
                    ("variedade", "3"),
                    ("atendimento", "3"),
                    ("distancia", "4"),
                ]),
                false,
            ),
            // "Não sei" is left out: four equal points remain, the minimum.
            (
                grid(&[
                    ("preco", "5"),
                    ("qualidade", "5"),
                    ("variedade", "nao_sei"),
                    ("atendimento", "5"),
                    ("distancia", "5"),
                ]),
                true,
            ),
            // Three equal points and two "não sei": under the minimum.
            (
                grid(&[
                    ("preco", "5"),
                    ("qualidade", "5"),
                    ("variedade", "nao_sei"),
                    ("atendimento", "5"),
                    ("distancia", "nao_sei"),
                ]),
                false,
            ),
            // A point the grid does not offer is left out too.
            (
                grid(&[
                    ("preco", "2"),
                    ("qualidade", "2"),
                    ("variedade", "9"),
                    ("atendimento", "2"),
                    ("distancia", "2"),
                ]),
                true,
            ),
            (Answers::new(), false),
        ];
        for (answers, expected) in cases {
            let json = serde_json::to_string(&answers).expect("json");
            let read = slots.parse(&json);
            assert_eq!(judge.straight_lined(version, &answers), expected, "{json}");
            assert_eq!(
                judge.straight_lined_slots(version, &read),
                Some(expected),
                "{json}"
            );
            // Another version's grids may differ: the caller parses the answers instead.
            assert_eq!(judge.straight_lined_slots(version - 1, &read), None);
        }
    }
}
