//! `respondent_fingerprints`: keyed fingerprints of each account's phone and of its name,
//! surname and bairro ([`crate::quality::fingerprint`]), the only trace of that personal
//! data the analysts' database users may read, so duplicates can be flagged without it.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::{respondent_fingerprints as fp, users};
use super::users::now;
use super::{DbError, DbPool};
use crate::quality::fingerprint::fingerprints;
use crate::with_conn;

/// Accounts fingerprinted per statement by [`backfill`].
const BACKFILL_BATCH: i64 = 500;

type Source = (i64, String, String, String, Option<String>);

async fn write(pool: &DbPool, key: &[u8], rows: &[Source]) -> Result<(), DbError> {
    let at = now();
    with_conn!(pool, |conn| {
        for (id, nome, sobrenome, bairro, telefone) in rows {
            let (phone, name) = fingerprints(key, nome, sobrenome, bairro, telefone.as_deref());
            let n = diesel::update(fp::table.find(*id))
                .set((
                    fp::phone.eq(&phone),
                    fp::name_bairro.eq(&name),
                    fp::updated_at.eq(at),
                ))
                .execute(conn)
                .await?;
            if n == 0 {
                diesel::insert_or_ignore_into(fp::table)
                    .values((
                        fp::user_id.eq(*id),
                        fp::phone.eq(&phone),
                        fp::name_bairro.eq(&name),
                        fp::updated_at.eq(at),
                    ))
                    .execute(conn)
                    .await?;
            }
        }
        Ok(())
    })
}

/// (Re)write the fingerprints of account `user_id` from its current name, surname,
/// bairro and phone: after sign-up and after every profile change.
pub async fn refresh(pool: &DbPool, key: &[u8], user_id: i64) -> Result<(), DbError> {
    let rows: Vec<Source> = with_conn!(pool, |conn| {
        Ok(users::table
            .filter(users::id.eq(user_id))
            .select((
                users::id,
                users::nome,
                users::sobrenome,
                users::bairro,
                users::telefone,
            ))
            .load(conn)
            .await?)
    })?;
    write(pool, key, &rows).await
}

/// Fingerprint every account that has none (those made before this table existed, or
/// whose write after sign-up failed); returns how many. `pesquisa serve` runs it at
/// start-up. After `session.secret` changes, old fingerprints no longer match new ones:
/// delete the table's rows and restart to rewrite them all with the new key.
pub async fn backfill(pool: &DbPool, key: &[u8]) -> Result<usize, DbError> {
    let mut total = 0;
    loop {
        let rows: Vec<Source> = with_conn!(pool, |conn| {
            Ok(users::table
                .left_join(fp::table.on(fp::user_id.eq(users::id)))
                .filter(fp::user_id.is_null())
                .order(users::id.asc())
                .limit(BACKFILL_BATCH)
                .select((
                    users::id,
                    users::nome,
                    users::sobrenome,
                    users::bairro,
                    users::telefone,
                ))
                .load(conn)
                .await?)
        })?;
        if rows.is_empty() {
            return Ok(total);
        }
        write(pool, key, &rows).await?;
        total += rows.len();
    }
}
