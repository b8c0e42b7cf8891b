//! A response's places in the quota cells, shared by every write that moves them (the
//! submit, an edit, a screen-out, an account deletion): which places a response wants,
//! and [`settle_places!`] to give back and take them inside the caller's transaction.
//! Kept apart from `quotas` (which reads responses) so that `responses` and `users` can
//! use it without an import cycle.

use super::DbError;
use crate::survey::quota::{Mode, Profile, Quotas};
use crate::survey::{CcebTable, Definition};

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
            let wanted: &[$crate::db::quota_places::Want] = $wanted;
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
