//! The `email_tokens` table: single-use secrets sent by e-mail (verification link,
//! password-reset link, sign-in code, e-mail change link). Only keyed hashes are stored
//! (see [`crate::accounts::email_token`]); a token is spent by an UPDATE that only one
//! caller can win, so a link followed twice at once works once.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::email_tokens;
use super::{DbError, DbPool};
use crate::accounts::email_token::{Issued, Purpose};
use crate::{read_conn, with_conn};

/// A row to insert (see [`crate::accounts::email_token::Issued`]).
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = email_tokens)]
pub struct NewToken {
    pub user_id: i64,
    pub purpose: &'static str,
    pub token_hash: String,
    pub code_hash: Option<String>,
    pub email: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

impl NewToken {
    /// The row for a token just issued to `user_id` and mailed to `email`.
    pub fn issued(user_id: i64, email: &str, issued: &Issued, now: NaiveDateTime) -> NewToken {
        NewToken {
            user_id,
            purpose: issued.purpose.as_str(),
            token_hash: issued.link_hash.clone(),
            code_hash: issued.code_hash.clone(),
            email: email.to_string(),
            created_at: now,
            expires_at: issued.expires_at,
        }
    }
}

/// What a spent token was for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spent {
    pub user_id: i64,
    /// The address the token was sent to.
    pub email: String,
}

/// Store a token, voiding the earlier unspent ones of the same user and purpose (only the
/// newest link or code works). Two statements, not one transaction: an UPDATE that finds
/// no row takes InnoDB gap locks, and two such transactions inserting into the same gap
/// deadlock; voiding first and inserting after is enough, as a lost insert only leaves
/// the person to ask again.
pub async fn insert(pool: &DbPool, token: &NewToken) -> Result<(), DbError> {
    with_conn!(pool, |conn| {
        diesel::update(
            email_tokens::table
                .filter(email_tokens::user_id.eq(token.user_id))
                .filter(email_tokens::purpose.eq(token.purpose))
                .filter(email_tokens::used_at.is_null()),
        )
        .set(email_tokens::used_at.eq(token.created_at))
        .execute(conn)
        .await?;
        diesel::insert_into(email_tokens::table)
            .values(token)
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// Spend the link token with this hash: `None` if unknown, of another purpose, expired or
/// already spent. One conditional UPDATE spends it (only one caller can win), then a read
/// says whose it was: no read-then-write transaction, which SQLite would refuse with
/// "database is locked" (not waiting) when another connection wrote in between.
pub async fn spend_link(
    pool: &DbPool,
    purpose: Purpose,
    token_hash: &str,
    now: NaiveDateTime,
) -> Result<Option<Spent>, DbError> {
    with_conn!(pool, |conn| {
        let won = diesel::update(
            email_tokens::table
                .filter(email_tokens::token_hash.eq(token_hash))
                .filter(email_tokens::purpose.eq(purpose.as_str()))
                .filter(email_tokens::used_at.is_null())
                .filter(email_tokens::expires_at.gt(now)),
        )
        .set(email_tokens::used_at.eq(now))
        .execute(conn)
        .await?;
        if won != 1 {
            return Ok(None);
        }
        let (user_id, email): (i64, String) = email_tokens::table
            .filter(email_tokens::token_hash.eq(token_hash))
            .select((email_tokens::user_id, email_tokens::email))
            .first(conn)
            .await?;
        Ok(Some(Spent { user_id, email }))
    })
}

/// Whether a live link token of `purpose` has this hash, without spending it (the page a
/// link opens, before its form is posted): the account it is for, if so.
pub async fn peek_link(
    pool: &DbPool,
    purpose: Purpose,
    token_hash: &str,
    now: NaiveDateTime,
) -> Result<Option<i64>, DbError> {
    read_conn!(pool, |conn| {
        Ok(email_tokens::table
            .filter(email_tokens::token_hash.eq(token_hash))
            .filter(email_tokens::purpose.eq(purpose.as_str()))
            .filter(email_tokens::used_at.is_null())
            .filter(email_tokens::expires_at.gt(now))
            .select(email_tokens::user_id)
            .first(conn)
            .await
            .optional()?)
    })
}

/// The outcome of typing a code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeOutcome {
    /// Right code: the token is spent.
    Accepted(Spent),
    /// Wrong code; this many tries are left.
    Wrong { tries_left: i32 },
    /// No live code for this account (never sent, expired, spent or out of tries).
    NoCode,
}

/// Check a typed code against the account's live code of `purpose`, counting the try
/// first (a conditional UPDATE) so concurrent guesses cannot exceed `max_tries`. Single
/// statements, not a read-then-write transaction (see [`spend_link`]).
pub async fn try_code(
    pool: &DbPool,
    user_id: i64,
    purpose: Purpose,
    code_hash: &str,
    max_tries: i32,
    now: NaiveDateTime,
) -> Result<CodeOutcome, DbError> {
    with_conn!(pool, |conn| {
        let live: Option<(i64, Option<String>, String)> = email_tokens::table
            .filter(email_tokens::user_id.eq(user_id))
            .filter(email_tokens::purpose.eq(purpose.as_str()))
            .filter(email_tokens::used_at.is_null())
            .filter(email_tokens::expires_at.gt(now))
            .filter(email_tokens::tries.lt(max_tries))
            .order(email_tokens::id.desc())
            .select((
                email_tokens::id,
                email_tokens::code_hash,
                email_tokens::email,
            ))
            .first(conn)
            .await
            .optional()?;
        let Some((id, Some(stored), email)) = live else {
            return Ok(CodeOutcome::NoCode);
        };
        let counted = diesel::update(
            email_tokens::table
                .filter(email_tokens::id.eq(id))
                .filter(email_tokens::used_at.is_null())
                .filter(email_tokens::tries.lt(max_tries)),
        )
        .set(email_tokens::tries.eq(email_tokens::tries + 1))
        .execute(conn)
        .await?;
        if counted != 1 {
            return Ok(CodeOutcome::NoCode);
        }
        if crate::crypto::constant_time_eq(&stored, code_hash) {
            let spent = diesel::update(
                email_tokens::table
                    .filter(email_tokens::id.eq(id))
                    .filter(email_tokens::used_at.is_null()),
            )
            .set(email_tokens::used_at.eq(now))
            .execute(conn)
            .await?;
            if spent != 1 {
                return Ok(CodeOutcome::NoCode);
            }
            return Ok(CodeOutcome::Accepted(Spent { user_id, email }));
        }
        let tries: i32 = email_tokens::table
            .filter(email_tokens::id.eq(id))
            .select(email_tokens::tries)
            .first(conn)
            .await?;
        Ok(CodeOutcome::Wrong {
            tries_left: (max_tries - tries).max(0),
        })
    })
}

/// Void every unspent token of the user for these purposes (after a log-in or a
/// password change, a reset link must no longer work).
pub async fn void(
    pool: &DbPool,
    user_id: i64,
    purposes: &[Purpose],
    now: NaiveDateTime,
) -> Result<(), DbError> {
    let names: Vec<&'static str> = purposes.iter().map(|p| p.as_str()).collect();
    with_conn!(pool, |conn| {
        diesel::update(
            email_tokens::table
                .filter(email_tokens::user_id.eq(user_id))
                .filter(email_tokens::purpose.eq_any(&names))
                .filter(email_tokens::used_at.is_null()),
        )
        .set(email_tokens::used_at.eq(now))
        .execute(conn)
        .await?;
        Ok(())
    })
}

/// How many tokens of `purpose` were issued to the user since `since` (the resend limit).
pub async fn issued_since(
    pool: &DbPool,
    user_id: i64,
    purpose: Purpose,
    since: NaiveDateTime,
) -> Result<i64, DbError> {
    read_conn!(pool, |conn| {
        Ok(email_tokens::table
            .filter(email_tokens::user_id.eq(user_id))
            .filter(email_tokens::purpose.eq(purpose.as_str()))
            .filter(email_tokens::created_at.gt(since))
            .count()
            .get_result(conn)
            .await?)
    })
}
