//! The `user_identities` table: accounts reached through an OpenID Connect provider
//! (Google or another), by the provider's stable subject id.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::user_identities;
use super::users::{self, NewUser, now};
use super::{DbError, DbPool};
use crate::{read_conn, with_conn};

#[derive(Insertable)]
#[diesel(table_name = user_identities)]
struct NewIdentity<'a> {
    user_id: i64,
    provider: &'a str,
    subject: &'a str,
    created_at: NaiveDateTime,
    last_login_at: Option<NaiveDateTime>,
}

/// The account linked to this provider's subject, if any.
pub async fn find_user(
    pool: &DbPool,
    provider: &str,
    subject: &str,
) -> Result<Option<i64>, DbError> {
    read_conn!(pool, |conn| {
        Ok(user_identities::table
            .filter(user_identities::provider.eq(provider))
            .filter(user_identities::subject.eq(subject))
            .select(user_identities::user_id)
            .first(conn)
            .await
            .optional()?)
    })
}

/// Link the subject to an existing account (its first log-in through the provider). A
/// subject already linked fails with a unique violation.
pub async fn link(
    pool: &DbPool,
    user_id: i64,
    provider: &str,
    subject: &str,
) -> Result<(), DbError> {
    let at = now();
    with_conn!(pool, |conn| {
        diesel::insert_into(user_identities::table)
            .values(&NewIdentity {
                user_id,
                provider,
                subject,
                created_at: at,
                last_login_at: Some(at),
            })
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// Note a log-in through the provider.
pub async fn touch(pool: &DbPool, provider: &str, subject: &str) -> Result<(), DbError> {
    with_conn!(pool, |conn| {
        diesel::update(
            user_identities::table
                .filter(user_identities::provider.eq(provider))
                .filter(user_identities::subject.eq(subject)),
        )
        .set(user_identities::last_login_at.eq(now()))
        .execute(conn)
        .await?;
        Ok(())
    })
}

/// Create an account (without a password: `password_hash` is empty), its consents and its
/// link to the provider's subject in one transaction; returns the new id. A taken e-mail
/// or subject fails with a unique violation and stores nothing. The account's duplicate
/// fingerprints, keyed with `fingerprint_key`, go in the same transaction.
pub async fn create_user(
    pool: &DbPool,
    user: &NewUser<'_>,
    document_ids: &[i64],
    provider: &str,
    subject: &str,
    fingerprint_key: &[u8],
) -> Result<i64, DbError> {
    users::create_inner(
        pool,
        user,
        document_ids,
        users::Beside::Identity { provider, subject },
        Some(fingerprint_key),
    )
    .await
}
