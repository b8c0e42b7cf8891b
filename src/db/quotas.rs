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

pub use super::quota_places::{Placing, Want};
use super::quota_places::{TxError, settle_places};
use super::responses::Response;
use super::schema::{quota_cells, quota_places, responses};
use super::users::now;
use super::{DbError, DbPool};
use crate::survey::quota::{Mode, Quotas, WhenFull};
use crate::{read_conn, with_conn};

/// The places a stored response wants.
fn wanted_for(placing: Placing<'_>, r: &Response) -> Vec<Want> {
    placing.wanted(&r.bairro, &r.answers())
}

/// Makes `quota_cells` hold every configured cell with its configured target, keeping
/// the counts of cells already there. Cells no longer configured stay until a recount.
pub async fn sync(pool: &DbPool, quotas: &Quotas) -> Result<(), DbError> {
    if quotas.is_empty() {
        return Ok(());
    }
    let cells: Vec<(String, String, i64)> = quotas
        .list
        .iter()
        .flat_map(|q| {
            q.cells
                .iter()
                .map(|c| (q.name.clone(), c.key.clone(), c.target))
        })
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
pub async fn submit(
    pool: &DbPool,
    user_id: i64,
    placing: Placing<'_>,
) -> Result<Submitted, DbError> {
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
                let wanted = wanted_for(placing, &row);
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
async fn screen_out(
    pool: &DbPool,
    user_id: i64,
    quota: &str,
    when: WhenFull,
) -> Result<(), DbError> {
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
    for (quota, cell, mode) in wanted_for(placing, &row) {
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

/// The places a [`recount`] found and left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recounted {
    /// Places stored before it, in its transaction.
    pub before: i64,
    /// Places after it.
    pub after: usize,
}

/// Rebuilds every place and count from the responses, in one transaction: cells no
/// longer configured are dropped, targets set from the configuration, and each completed,
/// not screened-out response placed in its cells (beyond the target if need be: it was
/// accepted). Returns the number of places before and after.
pub async fn recount(pool: &DbPool, placing: Placing<'_>) -> Result<Recounted, DbError> {
    let quotas = placing.quotas;
    with_conn!(pool, |conn| {
        conn.transaction(async |conn| {
            // Counted in the transaction, so that no submit slips between it and the delete.
            let before: i64 = quota_places::table.count().get_result(conn).await?;
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
                            .set((
                                quota_cells::target.eq(target),
                                quota_cells::filled.eq(0_i64),
                            ))
                            .execute(conn)
                            .await?;
                        ids.insert((quota, cell), id);
                    }
                    None => {
                        diesel::delete(quota_cells::table.find(id))
                            .execute(conn)
                            .await?;
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
                for (quota, cell, _) in wanted_for(placing, r) {
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
            Ok::<_, DbError>(Recounted {
                before,
                after: places,
            })
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
