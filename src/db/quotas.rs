//! The quota counters (`quota_cells`) and the places responses hold in them
//! (`quota_places`): synchronised from the configuration, taken inside the submit
//! transaction, moved with an edit, given back by an account deletion, rebuilt by
//! `pesquisa quotas --recount`.
//!
//! A place is taken with `UPDATE quota_cells SET filled = filled + 1 WHERE id = ? AND
//! filled < target`: the row lock that UPDATE holds until commit makes concurrent submits
//! for the last place wait for each other and re-read `filled`, so exactly `target`
//! succeed, whichever app instance they come through. A read of `filled` followed by a
//! write would let them all see the same free place.

use std::collections::BTreeMap;

use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::Serialize;

use super::responses::Response;
use super::schema::{quota_cells, quota_places, responses};
use super::users::now;
use super::{DbError, DbPool};
use crate::survey::quota::{Mode, Profile, Quotas, WhenFull};
use crate::survey::{CcebTable, Definition};
use crate::{read_conn, with_conn};

/// What the quotas need besides a response: the quotas, the questionnaire and the
/// Critério Brasil table that place a respondent.
#[derive(Clone, Copy)]
pub struct Placing<'a> {
    pub quotas: &'a Quotas,
    pub def: &'a Definition,
    pub cceb: &'a CcebTable,
}

/// A place a response should hold: (quota, cell key, mode).
pub type Want = (String, String, Mode);

impl Placing<'_> {
    /// The places a response with this bairro and these answers belongs in.
    pub fn wanted(&self, bairro: &str, answers: &crate::survey::Answers) -> Vec<Want> {
        let profile = Profile::of(self.def, self.cceb, bairro, answers);
        self.quotas
            .placements(&profile)
            .into_iter()
            .map(|(q, c)| (q.name.clone(), c.key.clone(), q.mode))
            .collect()
    }

    fn wanted_for(&self, r: &Response) -> Vec<Want> {
        self.wanted(&r.bairro, &r.answers())
    }
}

/// Why a transaction touching places stopped: the database, or a full `close` cell (the
/// quota's name), which rolls everything back.
#[derive(Debug)]
pub(crate) enum TxError {
    Db(DbError),
    Full(String),
}

impl From<diesel::result::Error> for TxError {
    fn from(e: diesel::result::Error) -> Self {
        TxError::Db(DbError::Query(e))
    }
}

impl From<DbError> for TxError {
    fn from(e: DbError) -> Self {
        TxError::Db(e)
    }
}

/// Inside a transaction on `$conn`: gives back the places response `$response_id` holds
/// that are not in `$wanted` (a `&[Want]`) and takes those it lacks. Evaluates to
/// `Result<Option<String>, diesel::result::Error>`: `Some(quota)` when a `close` cell was
/// full, after which the caller must roll back. A macro because the body is compiled once
/// per backend inside [`with_conn!`].
macro_rules! settle_places {
    ($conn:ident, $response_id:expr, $wanted:expr) => {
        async {
            use $crate::db::schema::{quota_cells, quota_places};
            let response_id: i64 = $response_id;
            let wanted: &[$crate::db::quotas::Want] = $wanted;
            let held: Vec<(i64, String, i64, String)> = quota_places::table
                .inner_join(quota_cells::table)
                .filter(quota_places::response_id.eq(response_id))
                .select((
                    quota_places::id,
                    quota_places::quota,
                    quota_places::cell_id,
                    quota_cells::cell,
                ))
                .load($conn)
                .await?;
            for (place, quota, cell_id, cell) in &held {
                if wanted.iter().any(|(q, c, _)| q == quota && c == cell) {
                    continue;
                }
                diesel::update(quota_cells::table.find(*cell_id).filter(quota_cells::filled.gt(0_i64)))
                    .set(quota_cells::filled.eq(quota_cells::filled - 1_i64))
                    .execute($conn)
                    .await?;
                diesel::delete(quota_places::table.find(*place))
                    .execute($conn)
                    .await?;
            }
            let mut full: Option<String> = None;
            for (quota, cell, mode) in wanted {
                if held.iter().any(|(_, q, _, c)| q == quota && c == cell) {
                    continue;
                }
                let cell_id: Option<i64> = quota_cells::table
                    .filter(quota_cells::quota.eq(quota))
                    .filter(quota_cells::cell.eq(cell))
                    .select(quota_cells::id)
                    .first($conn)
                    .await
                    .optional()?;
                // Configured after the last synchronisation: nothing to count in yet.
                let Some(cell_id) = cell_id else {
                    ::tracing::warn!(quota = %quota, "quota cell not in the database; run `pesquisa quotas --recount`");
                    continue;
                };
                let taken = diesel::update(
                    quota_cells::table
                        .find(cell_id)
                        .filter(quota_cells::filled.lt(quota_cells::target)),
                )
                .set(quota_cells::filled.eq(quota_cells::filled + 1_i64))
                .execute($conn)
                .await?;
                if taken == 0 {
                    if *mode == $crate::survey::quota::Mode::Close {
                        full = Some(quota.clone());
                        break;
                    }
                    diesel::update(quota_cells::table.find(cell_id))
                        .set(quota_cells::filled.eq(quota_cells::filled + 1_i64))
                        .execute($conn)
                        .await?;
                }
                diesel::insert_into(quota_places::table)
                    .values((
                        quota_places::response_id.eq(response_id),
                        quota_places::quota.eq(quota),
                        quota_places::cell_id.eq(cell_id),
                    ))
                    .execute($conn)
                    .await?;
            }
            Ok::<Option<String>, diesel::result::Error>(full)
        }
    };
}
pub(crate) use settle_places;

/// Makes `quota_cells` hold every configured cell with its configured target, keeping
/// the counts of cells already there. Cells no longer configured stay until a recount.
pub async fn sync(pool: &DbPool, quotas: &Quotas) -> Result<(), DbError> {
    if quotas.is_empty() {
        return Ok(());
    }
    let cells: Vec<(String, String, i64)> = quotas
        .list
        .iter()
        .flat_map(|q| q.cells.iter().map(|c| (q.name.clone(), c.key.clone(), c.target)))
        .collect();
    with_conn!(pool, |conn| {
        conn.transaction(async |conn| {
            for (quota, cell, target) in &cells {
                let updated = diesel::update(
                    quota_cells::table
                        .filter(quota_cells::quota.eq(quota))
                        .filter(quota_cells::cell.eq(cell)),
                )
                .set(quota_cells::target.eq(target))
                .execute(conn)
                .await?;
                if updated == 0 {
                    // MariaDB counts only changed rows: 0 may mean "same target".
                    let exists: i64 = quota_cells::table
                        .filter(quota_cells::quota.eq(quota))
                        .filter(quota_cells::cell.eq(cell))
                        .count()
                        .get_result(conn)
                        .await?;
                    if exists == 0 {
                        diesel::insert_into(quota_cells::table)
                            .values((
                                quota_cells::quota.eq(quota),
                                quota_cells::cell.eq(cell),
                                quota_cells::target.eq(target),
                                quota_cells::filled.eq(0_i64),
                            ))
                            .execute(conn)
                            .await?;
                    }
                }
            }
            Ok::<_, DbError>(())
        })
        .await
    })
}

/// What a submission did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submitted {
    /// Marked submitted, with a place in each quota it belongs to.
    Done,
    /// Already submitted or screened out (a repeated POST): nothing changed.
    Unchanged,
    /// A `close` cell of this quota was full: nothing placed, the response screened out.
    Full(String),
}

/// Marks the respondent's response submitted and takes its places, in one transaction;
/// when a `close` cell is full, rolls back and screens the response out instead
/// (`quota:<name>`, answers erased when `quotas.full = "delete"`).
pub async fn submit(pool: &DbPool, user_id: i64, placing: Placing<'_>) -> Result<Submitted, DbError> {
    let at = now();
    let outcome: Result<Submitted, TxError> = with_conn!(pool, |conn| {
        Ok(conn
            .transaction(async |conn| {
                // The write first: it locks the row (and on SQLite takes the write lock
                // before any read, so waiting writers queue instead of failing).
                let marked = diesel::update(
                    responses::table
                        .filter(responses::user_id.eq(user_id))
                        .filter(responses::submitted_at.is_null())
                        .filter(responses::screened_out.is_null()),
                )
                .set((
                    responses::submitted_at.eq(Some(at)),
                    responses::updated_at.eq(at),
                ))
                .execute(conn)
                .await?;
                if marked == 0 {
                    return Ok(Submitted::Unchanged);
                }
                let row: Response = responses::table
                    .filter(responses::user_id.eq(user_id))
                    .select(Response::as_select())
                    .first(conn)
                    .await?;
                let wanted = placing.wanted_for(&row);
                match settle_places!(conn, row.id, &wanted).await? {
                    Some(quota) => Err(TxError::Full(quota)),
                    None => Ok(Submitted::Done),
                }
            })
            .await)
    })?;
    match outcome {
        Ok(s) => Ok(s),
        Err(TxError::Db(e)) => Err(e),
        Err(TxError::Full(quota)) => {
            screen_out(pool, user_id, &quota, placing.quotas.when_full).await?;
            Ok(Submitted::Full(quota))
        }
    }
}

/// Marks a response not yet submitted as screened out by `quota`; with
/// [`WhenFull::Delete`] its answers are erased too.
async fn screen_out(pool: &DbPool, user_id: i64, quota: &str, when: WhenFull) -> Result<(), DbError> {
    let key = format!("{}{quota}", crate::survey::quota::SCREEN_OUT_PREFIX);
    let at = now();
    let target = responses::table
        .filter(responses::user_id.eq(user_id))
        .filter(responses::submitted_at.is_null())
        .filter(responses::screened_out.is_null());
    with_conn!(pool, |conn| {
        match when {
            WhenFull::ScreenOut => {
                diesel::update(target)
                    .set((
                        responses::screened_out.eq(Some(&key)),
                        responses::revision.eq(responses::revision + 1_i64),
                        responses::updated_at.eq(at),
                    ))
                    .execute(conn)
                    .await?
            }
            WhenFull::Delete => {
                diesel::update(target)
                    .set((
                        responses::screened_out.eq(Some(&key)),
                        responses::answers.eq("{}"),
                        responses::confirmed_checks.eq(""),
                        responses::revision.eq(responses::revision + 1_i64),
                        responses::updated_at.eq(at),
                    ))
                    .execute(conn)
                    .await?
            }
        };
        Ok::<_, DbError>(())
    })
}

/// The early screen-out: after a page is saved, a respondent not yet submitted whose
/// cell of a `close` quota is already full is screened out at once rather than after
/// answering everything. Returns the quota. The submit transaction still has the final
/// word (a place can free up or fill in between).
pub async fn screen_out_if_full(
    pool: &DbPool,
    user_id: i64,
    placing: Placing<'_>,
) -> Result<Option<String>, DbError> {
    let Some(row) = super::responses::for_user(pool, user_id).await? else {
        return Ok(None);
    };
    if row.submitted_at.is_some() || row.screened_out.is_some() {
        return Ok(None);
    }
    for (quota, cell, mode) in placing.wanted_for(&row) {
        if mode != Mode::Close {
            continue;
        }
        let counts: Option<(i64, i64)> = read_conn!(pool, |conn| {
            quota_cells::table
                .filter(quota_cells::quota.eq(&quota))
                .filter(quota_cells::cell.eq(&cell))
                .select((quota_cells::filled, quota_cells::target))
                .first(conn)
                .await
                .optional()
                .map_err(DbError::from)
        })?;
        if counts.is_some_and(|(filled, target)| filled >= target) {
            screen_out(pool, user_id, &quota, placing.quotas.when_full).await?;
            return Ok(Some(quota));
        }
    }
    Ok(None)
}

/// One cell's fill, for the results page, the dashboard and `pesquisa quotas`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fill {
    pub quota: String,
    pub cell: String,
    pub mode: &'static str,
    pub target: i64,
    pub filled: i64,
}

impl Fill {
    /// Filled as a percentage of the target, rounded down.
    pub fn percent(&self) -> i64 {
        self.filled.saturating_mul(100) / self.target.max(1)
    }

    pub fn is_full(&self) -> bool {
        self.filled >= self.target
    }

    pub fn is_over(&self) -> bool {
        self.filled > self.target
    }
}

/// Every configured cell, in the configuration's order, with its count (0 when not yet
/// synchronised).
pub async fn fill(pool: &DbPool, quotas: &Quotas) -> Result<Vec<Fill>, DbError> {
    if quotas.is_empty() {
        return Ok(Vec::new());
    }
    let stored: Vec<(String, String, i64)> = read_conn!(pool, |conn| {
        quota_cells::table
            .select((quota_cells::quota, quota_cells::cell, quota_cells::filled))
            .load(conn)
            .await
            .map_err(DbError::from)
    })?;
    let counts: BTreeMap<(&str, &str), i64> = stored
        .iter()
        .map(|(q, c, f)| ((q.as_str(), c.as_str()), *f))
        .collect();
    Ok(quotas
        .list
        .iter()
        .flat_map(|q| {
            q.cells.iter().map(|c| Fill {
                quota: q.name.clone(),
                cell: c.key.clone(),
                mode: q.mode.name(),
                target: c.target,
                filled: counts
                    .get(&(q.name.as_str(), c.key.as_str()))
                    .copied()
                    .unwrap_or(0),
            })
        })
        .collect())
}

/// Rebuilds every place and count from the responses, in one transaction: cells no
/// longer configured are dropped, targets set from the configuration, and each completed,
/// not screened-out response placed in its cells (beyond the target if need be: it was
/// accepted). Returns the number of places.
pub async fn recount(pool: &DbPool, placing: Placing<'_>) -> Result<usize, DbError> {
    let quotas = placing.quotas;
    with_conn!(pool, |conn| {
        conn.transaction(async |conn| {
            diesel::delete(quota_places::table).execute(conn).await?;
            let stored: Vec<(i64, String, String)> = quota_cells::table
                .select((quota_cells::id, quota_cells::quota, quota_cells::cell))
                .load(conn)
                .await?;
            let mut ids: BTreeMap<(String, String), i64> = BTreeMap::new();
            for (id, quota, cell) in stored {
                let target = quotas
                    .by_name(&quota)
                    .and_then(|q| q.cells.iter().find(|c| c.key == cell))
                    .map(|c| c.target);
                match target {
                    Some(target) => {
                        diesel::update(quota_cells::table.find(id))
                            .set((quota_cells::target.eq(target), quota_cells::filled.eq(0_i64)))
                            .execute(conn)
                            .await?;
                        ids.insert((quota, cell), id);
                    }
                    None => {
                        diesel::delete(quota_cells::table.find(id)).execute(conn).await?;
                    }
                }
            }
            for q in &quotas.list {
                for c in &q.cells {
                    if ids.contains_key(&(q.name.clone(), c.key.clone())) {
                        continue;
                    }
                    diesel::insert_into(quota_cells::table)
                        .values((
                            quota_cells::quota.eq(&q.name),
                            quota_cells::cell.eq(&c.key),
                            quota_cells::target.eq(c.target),
                            quota_cells::filled.eq(0_i64),
                        ))
                        .execute(conn)
                        .await?;
                    let id: i64 = quota_cells::table
                        .filter(quota_cells::quota.eq(&q.name))
                        .filter(quota_cells::cell.eq(&c.key))
                        .select(quota_cells::id)
                        .first(conn)
                        .await?;
                    ids.insert((q.name.clone(), c.key.clone()), id);
                }
            }
            let counted: Vec<Response> = responses::table
                .filter(responses::submitted_at.is_not_null())
                .filter(responses::screened_out.is_null())
                .select(Response::as_select())
                .load(conn)
                .await?;
            let mut filled: BTreeMap<i64, i64> = BTreeMap::new();
            let mut places = 0;
            for r in &counted {
                for (quota, cell, _) in placing.wanted_for(r) {
                    let Some(id) = ids.get(&(quota.clone(), cell)) else {
                        continue;
                    };
                    diesel::insert_into(quota_places::table)
                        .values((
                            quota_places::response_id.eq(r.id),
                            quota_places::quota.eq(&quota),
                            quota_places::cell_id.eq(id),
                        ))
                        .execute(conn)
                        .await?;
                    *filled.entry(*id).or_default() += 1;
                    places += 1;
                }
            }
            for (id, n) in filled {
                diesel::update(quota_cells::table.find(id))
                    .set(quota_cells::filled.eq(n))
                    .execute(conn)
                    .await?;
            }
            Ok::<_, DbError>(places)
        })
        .await
    })
}

/// Counts straight from `quota_places` per (quota, cell), to check `filled` against.
pub async fn places_per_cell(pool: &DbPool) -> Result<BTreeMap<(String, String), i64>, DbError> {
    let rows: Vec<(String, String)> = read_conn!(pool, |conn| {
        quota_places::table
            .inner_join(quota_cells::table)
            .select((quota_cells::quota, quota_cells::cell))
            .load(conn)
            .await
            .map_err(DbError::from)
    })?;
    let mut out = BTreeMap::new();
    for key in rows {
        *out.entry(key).or_default() += 1;
    }
    Ok(out)
}
