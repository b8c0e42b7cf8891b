//! The `staff_totp` and `staff_recovery_codes` tables: a staff account's second factor.
//! Secrets are stored sealed and recovery codes as keyed hashes (see
//! [`crate::accounts::totp`]). Whatever must happen once (a time step used, a recovery
//! code spent, an enrolment confirmed) is an UPDATE only one request can win.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::schema::{staff_recovery_codes, staff_totp};
use super::{DbError, DbPool};
use crate::{read_conn, with_conn};

/// An account's enrolment, begun or confirmed.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = staff_totp)]
pub struct Enrolment {
    pub user_id: i64,
    /// Sealed (see [`crate::accounts::totp::seal`]).
    pub secret: String,
    pub created_at: NaiveDateTime,
    pub enabled_at: Option<NaiveDateTime>,
    pub last_step: i64,
}

impl Enrolment {
    pub fn enabled(&self) -> bool {
        self.enabled_at.is_some()
    }
}

/// The account's enrolment, if it has begun one.
pub async fn find(pool: &DbPool, user_id: i64) -> Result<Option<Enrolment>, DbError> {
    read_conn!(pool, |conn| {
        Ok(staff_totp::table
            .find(user_id)
            .select(Enrolment::as_select())
            .first(conn)
            .await
            .optional()?)
    })
}

/// Whether the account has a confirmed second factor.
pub async fn is_enabled(pool: &DbPool, user_id: i64) -> Result<bool, DbError> {
    Ok(find(pool, user_id).await?.is_some_and(|e| e.enabled()))
}

/// Begin an enrolment with this sealed secret, unless one exists already (begun or
/// confirmed): the page can be reloaded without changing the QR code. Returns the
/// enrolment now stored.
pub async fn begin(
    pool: &DbPool,
    user_id: i64,
    sealed: &str,
    now: NaiveDateTime,
) -> Result<Enrolment, DbError> {
    let inserted = with_conn!(pool, |conn| {
        diesel::insert_into(staff_totp::table)
            .values((
                staff_totp::user_id.eq(user_id),
                staff_totp::secret.eq(sealed),
                staff_totp::created_at.eq(now),
                staff_totp::last_step.eq(0i64),
            ))
            .execute(conn)
            .await?;
        Ok(())
    });
    match inserted {
        Ok(()) => {}
        Err(e) if e.is_unique_violation() => {}
        Err(e) => return Err(e),
    }
    find(pool, user_id)
        .await?
        .ok_or(DbError::Query(diesel::result::Error::NotFound))
}

/// Confirm a begun enrolment with the first code's time step, replacing any recovery
/// codes with these hashes, in one transaction. False when it was confirmed already (or
/// reset meanwhile).
pub async fn enable(
    pool: &DbPool,
    user_id: i64,
    step: i64,
    recovery_hashes: &[String],
    now: NaiveDateTime,
) -> Result<bool, DbError> {
    store_recovery_codes(pool, user_id, Some(step), recovery_hashes, now).await
}

/// Replace every recovery code of an enabled enrolment with these hashes, in one
/// transaction (the old codes stop working at once). False when the factor is off.
pub async fn replace_recovery_codes(
    pool: &DbPool,
    user_id: i64,
    recovery_hashes: &[String],
    now: NaiveDateTime,
) -> Result<bool, DbError> {
    store_recovery_codes(pool, user_id, None, recovery_hashes, now).await
}

/// The recovery codes become these hashes, in one transaction with the enrolment's
/// state: with `first_step`, only if this confirms a begun enrolment (which it turns
/// on); without, only if the factor is already on.
async fn store_recovery_codes(
    pool: &DbPool,
    user_id: i64,
    first_step: Option<i64>,
    recovery_hashes: &[String],
    now: NaiveDateTime,
) -> Result<bool, DbError> {
    with_conn!(pool, |conn| {
        conn.transaction(async |conn| {
            let allowed = match first_step {
                Some(step) => {
                    diesel::update(
                        staff_totp::table
                            .filter(staff_totp::user_id.eq(user_id))
                            .filter(staff_totp::enabled_at.is_null()),
                    )
                    .set((
                        staff_totp::enabled_at.eq(Some(now)),
                        staff_totp::last_step.eq(step),
                    ))
                    .execute(conn)
                    .await?
                        == 1
                }
                None => {
                    staff_totp::table
                        .filter(staff_totp::user_id.eq(user_id))
                        .filter(staff_totp::enabled_at.is_not_null())
                        .count()
                        .get_result::<i64>(conn)
                        .await?
                        == 1
                }
            };
            if !allowed {
                return Ok(false);
            }
            diesel::delete(
                staff_recovery_codes::table.filter(staff_recovery_codes::user_id.eq(user_id)),
            )
            .execute(conn)
            .await?;
            // One row at a time: SQLite's diesel has no multi-row insert of tuples.
            for hash in recovery_hashes {
                diesel::insert_into(staff_recovery_codes::table)
                    .values((
                        staff_recovery_codes::user_id.eq(user_id),
                        staff_recovery_codes::code_hash.eq(hash.as_str()),
                        staff_recovery_codes::created_at.eq(now),
                    ))
                    .execute(conn)
                    .await?;
            }
            Ok(true)
        })
        .await
    })
}

/// Record that the code of `step` was used: true only if `step` is later than the last
/// used one, so of two requests with the same code only one gets in.
pub async fn use_step(pool: &DbPool, user_id: i64, step: i64) -> Result<bool, DbError> {
    with_conn!(pool, |conn| {
        let won = diesel::update(
            staff_totp::table
                .filter(staff_totp::user_id.eq(user_id))
                .filter(staff_totp::enabled_at.is_not_null())
                .filter(staff_totp::last_step.lt(step)),
        )
        .set(staff_totp::last_step.eq(step))
        .execute(conn)
        .await?;
        Ok(won == 1)
    })
}

/// Spend the unused recovery code with this hash: true only for the one request that
/// spends it.
pub async fn use_recovery_code(
    pool: &DbPool,
    user_id: i64,
    code_hash: &str,
    now: NaiveDateTime,
) -> Result<bool, DbError> {
    with_conn!(pool, |conn| {
        let won = diesel::update(
            staff_recovery_codes::table
                .filter(staff_recovery_codes::user_id.eq(user_id))
                .filter(staff_recovery_codes::code_hash.eq(code_hash))
                .filter(staff_recovery_codes::used_at.is_null()),
        )
        .set(staff_recovery_codes::used_at.eq(Some(now)))
        .execute(conn)
        .await?;
        Ok(won == 1)
    })
}

/// How many recovery codes the account has left.
pub async fn recovery_codes_left(pool: &DbPool, user_id: i64) -> Result<i64, DbError> {
    read_conn!(pool, |conn| {
        Ok(staff_recovery_codes::table
            .filter(staff_recovery_codes::user_id.eq(user_id))
            .filter(staff_recovery_codes::used_at.is_null())
            .count()
            .get_result(conn)
            .await?)
    })
}

/// Turn the second factor off: the enrolment and every recovery code are deleted. True
/// when there was something to delete.
pub async fn reset(pool: &DbPool, user_id: i64) -> Result<bool, DbError> {
    with_conn!(pool, |conn| {
        conn.transaction(async |conn| {
            let codes = diesel::delete(
                staff_recovery_codes::table.filter(staff_recovery_codes::user_id.eq(user_id)),
            )
            .execute(conn)
            .await?;
            let enrolments =
                diesel::delete(staff_totp::table.filter(staff_totp::user_id.eq(user_id)))
                    .execute(conn)
                    .await?;
            Ok(codes + enrolments > 0)
        })
        .await
    })
}
