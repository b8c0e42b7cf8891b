//! The `users` table: respondents and staff.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::email_tokens::NewToken;
use super::outbox::NewMessage;
use super::prepared::Prepared;
use super::schema::{
    consents, email_tokens, outbox, respondent_fingerprints as fp, user_identities, users,
};
use super::{DbError, DbPool};
use crate::{read_conn, with_conn};

/// A stored account.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub password_hash: String,
    pub role: String,
    pub nome: String,
    pub sobrenome: String,
    pub telefone: Option<String>,
    pub bairro: String,
    pub adult_declared_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub last_login_at: Option<NaiveDateTime>,
    /// Raised by `pesquisa admin unlock`: failed log-ins are counted per epoch.
    pub lockout_epoch: i32,
    /// When the person followed the verification link; `None` until then.
    pub email_verified_at: Option<NaiveDateTime>,
}

impl User {
    /// Whether the account has a password; one made for sign-in by e-mail link or code (or
    /// by an identity provider) stores an empty hash, which no password matches.
    pub fn has_password(&self) -> bool {
        !self.password_hash.is_empty()
    }

    pub fn role(&self) -> crate::accounts::Role {
        crate::accounts::Role::parse(&self.role).unwrap_or(crate::accounts::Role::Respondent)
    }
}

/// A new account, fields already parsed.
#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub email: &'a str,
    pub password_hash: &'a str,
    pub role: &'a str,
    pub nome: &'a str,
    pub sobrenome: &'a str,
    pub telefone: Option<&'a str>,
    pub bairro: &'a str,
    pub adult_declared_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = consents)]
struct NewConsent {
    user_id: i64,
    document_id: i64,
    accepted_at: NaiveDateTime,
}

/// The profile fields a respondent can edit.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = users, treat_none_as_null = true)]
pub struct ProfileChange<'a> {
    pub nome: &'a str,
    pub sobrenome: &'a str,
    pub telefone: Option<&'a str>,
    pub bairro: &'a str,
    pub updated_at: NaiveDateTime,
}

pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

/// Create the account and record its consents in one transaction; returns the new id.
/// A taken e-mail fails with a unique violation ([`DbError::is_unique_violation`]).
pub async fn create(
    pool: &DbPool,
    user: &NewUser<'_>,
    document_ids: &[i64],
) -> Result<i64, DbError> {
    create_inner(pool, user, document_ids, Beside::Nothing, None).await
}

/// [`create`], with the verification token and its mail written in the same transaction:
/// an account exists exactly when its verification mail is queued. `token.user_id` is
/// filled in with the new id. The account's duplicate fingerprints, keyed with
/// `fingerprint_key`, go in the same transaction too.
pub async fn create_with_mail(
    pool: &DbPool,
    user: &NewUser<'_>,
    document_ids: &[i64],
    token: &NewToken,
    mail: &NewMessage,
    fingerprint_key: &[u8],
) -> Result<i64, DbError> {
    create_inner(
        pool,
        user,
        document_ids,
        Beside::Mail(token, mail),
        Some(fingerprint_key),
    )
    .await
}

/// What a new account's transaction writes beside the account and its consents.
pub(super) enum Beside<'a> {
    Nothing,
    /// The verification token (its `user_id` filled in) and its mail.
    Mail(&'a NewToken, &'a NewMessage),
    /// The link to an OpenID provider's subject; the provider vouched for the address,
    /// so it counts as verified.
    Identity {
        provider: &'a str,
        subject: &'a str,
    },
}

/// The one insert of a new account: the user row, its id read back, its consents, its
/// duplicate fingerprints (with `fingerprint_key`; without, `serve`'s start-up backfill
/// writes them) and what goes `beside` it, in one transaction. A taken e-mail (or
/// identity) fails with a unique violation and stores nothing.
///
/// Every insert is [`Prepared`]: a sign-up would otherwise prepare and close each of its
/// statements on MariaDB, two round trips apiece on the sign-up's path.
pub(super) async fn create_inner(
    pool: &DbPool,
    user: &NewUser<'_>,
    document_ids: &[i64],
    beside: Beside<'_>,
    fingerprint_key: Option<&[u8]>,
) -> Result<i64, DbError> {
    let accepted_at = user.created_at;
    let fingerprints = fingerprint_key.map(|key| {
        crate::quality::fingerprint::fingerprints(
            key,
            user.nome,
            user.sobrenome,
            user.bairro,
            user.telefone,
        )
    });
    with_conn!(pool, |conn| {
        conn.transaction(async |conn| {
            Prepared(diesel::insert_into(users::table).values(user))
                .execute(conn)
                .await?;
            // MariaDB has no RETURNING: read the id back by the unique e-mail.
            let id: i64 = users::table
                .filter(users::email.eq(user.email))
                .select(users::id)
                .first(conn)
                .await?;
            let rows: Vec<NewConsent> = document_ids
                .iter()
                .map(|&document_id| NewConsent {
                    user_id: id,
                    document_id,
                    accepted_at,
                })
                .collect();
            // One statement per row: diesel-async's SQLite wrapper has no batch insert.
            for row in &rows {
                Prepared(diesel::insert_into(consents::table).values(row))
                    .execute(conn)
                    .await?;
            }
            if let Some((phone, name)) = &fingerprints {
                // REPLACE: SQLite may hand a deleted account's id out again.
                Prepared(diesel::replace_into(fp::table).values((
                    fp::user_id.eq(id),
                    fp::phone.eq(phone),
                    fp::name_bairro.eq(name),
                    fp::updated_at.eq(accepted_at),
                )))
                .execute(conn)
                .await?;
            }
            match beside {
                Beside::Nothing => {}
                Beside::Mail(token, message) => {
                    let token = NewToken {
                        user_id: id,
                        ..token.clone()
                    };
                    Prepared(diesel::insert_into(email_tokens::table).values(&token))
                        .execute(conn)
                        .await?;
                    Prepared(diesel::insert_into(outbox::table).values(message))
                        .execute(conn)
                        .await?;
                }
                Beside::Identity { provider, subject } => {
                    diesel::insert_into(user_identities::table)
                        .values((
                            user_identities::user_id.eq(id),
                            user_identities::provider.eq(provider),
                            user_identities::subject.eq(subject),
                            user_identities::created_at.eq(accepted_at),
                            user_identities::last_login_at.eq(Some(accepted_at)),
                        ))
                        .execute(conn)
                        .await?;
                    diesel::update(users::table.find(id))
                        .set(users::email_verified_at.eq(Some(accepted_at)))
                        .execute(conn)
                        .await?;
                }
            }
            Ok::<_, DbError>(id)
        })
        .await
    })
}

pub async fn find_by_email(pool: &DbPool, email: &str) -> Result<Option<User>, DbError> {
    read_conn!(pool, |conn| {
        Ok(users::table
            .filter(users::email.eq(email))
            .select(User::as_select())
            .first(conn)
            .await
            .optional()?)
    })
}

pub async fn find(pool: &DbPool, id: i64) -> Result<Option<User>, DbError> {
    read_conn!(pool, |conn| {
        Ok(users::table
            .find(id)
            .select(User::as_select())
            .first(conn)
            .await
            .optional()?)
    })
}

/// Whether any admin account exists: `serve` says how to make the first one when none does.
pub async fn admin_exists(pool: &DbPool) -> Result<bool, DbError> {
    read_conn!(pool, |conn| {
        Ok(users::table
            .filter(users::role.eq(crate::accounts::Role::Admin.as_str()))
            .select(users::id)
            .first::<i64>(conn)
            .await
            .optional()?
            .is_some())
    })
}

pub async fn set_password_hash(pool: &DbPool, id: i64, hash: &str) -> Result<(), DbError> {
    with_conn!(pool, |conn| {
        diesel::update(users::table.find(id))
            .set((users::password_hash.eq(hash), users::updated_at.eq(now())))
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// Mark the address verified, if it is still the account's address (a link sent before
/// an e-mail change proves nothing about the new one). Returns whether it matched.
pub async fn mark_verified(
    pool: &DbPool,
    id: i64,
    email: &str,
    at: NaiveDateTime,
) -> Result<bool, DbError> {
    with_conn!(pool, |conn| {
        diesel::update(
            users::table
                .find(id)
                .filter(users::email.eq(email))
                .filter(users::email_verified_at.is_null()),
        )
        .set(users::email_verified_at.eq(Some(at)))
        .execute(conn)
        .await?;
        let matched: i64 = users::table
            .find(id)
            .filter(users::email.eq(email))
            .count()
            .get_result(conn)
            .await?;
        Ok(matched == 1)
    })
}

/// An identity provider proved the mailbox of an unverified account: whoever made the
/// account (possibly with someone else's address) loses its password, and the address
/// is verified.
pub async fn claim_unverified(pool: &DbPool, id: i64, at: NaiveDateTime) -> Result<(), DbError> {
    with_conn!(pool, |conn| {
        diesel::update(
            users::table
                .find(id)
                .filter(users::email_verified_at.is_null()),
        )
        .set((
            users::password_hash.eq(""),
            users::email_verified_at.eq(Some(at)),
            users::updated_at.eq(at),
        ))
        .execute(conn)
        .await?;
        Ok(())
    })
}

/// Replace the account's address by one just proven (the change link), verified now. A
/// taken address fails with a unique violation.
pub async fn change_email(
    pool: &DbPool,
    id: i64,
    email: &str,
    at: NaiveDateTime,
) -> Result<(), DbError> {
    with_conn!(pool, |conn| {
        diesel::update(users::table.find(id))
            .set((
                users::email.eq(email),
                users::email_verified_at.eq(Some(at)),
                users::updated_at.eq(at),
            ))
            .execute(conn)
            .await?;
        Ok(())
    })
}

pub async fn record_login(pool: &DbPool, id: i64) -> Result<(), DbError> {
    with_conn!(pool, |conn| {
        diesel::update(users::table.find(id))
            .set(users::last_login_at.eq(now()))
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// Start a new failed-log-in epoch for the account: its earlier failures stop counting.
pub async fn raise_lockout_epoch(pool: &DbPool, id: i64) -> Result<(), DbError> {
    with_conn!(pool, |conn| {
        diesel::update(users::table.find(id))
            .set(users::lockout_epoch.eq(users::lockout_epoch + 1))
            .execute(conn)
            .await?;
        Ok(())
    })
}

pub async fn update_profile(
    pool: &DbPool,
    id: i64,
    change: &ProfileChange<'_>,
) -> Result<(), DbError> {
    with_conn!(pool, |conn| {
        diesel::update(users::table.find(id))
            .set(change)
            .execute(conn)
            .await?;
        Ok(())
    })
}

pub async fn set_role(pool: &DbPool, id: i64, role: crate::accounts::Role) -> Result<(), DbError> {
    with_conn!(pool, |conn| {
        diesel::update(users::table.find(id))
            .set((users::role.eq(role.as_str()), users::updated_at.eq(now())))
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// Delete the account with its consent records, and its questionnaire response too, or
/// keep that response detached from any person (`OnDelete::Anonymize`); an audit entry is
/// written in the same transaction. Returns false if the account did not exist.
pub async fn delete(
    pool: &DbPool,
    id: i64,
    actor_id: Option<i64>,
    action: &str,
    answers: crate::config::OnDelete,
) -> Result<bool, DbError> {
    delete_noting(pool, id, actor_id, action, "", answers).await
}

/// [`delete`], with `detail` (an admin's reason) in the audit entry. Mail to the
/// account's address not sent yet is cancelled too: it would reach a person who no
/// longer has an account (a notice queued after the deletion is not affected).
pub async fn delete_noting(
    pool: &DbPool,
    id: i64,
    actor_id: Option<i64>,
    action: &str,
    detail: &str,
    answers: crate::config::OnDelete,
) -> Result<bool, DbError> {
    use super::schema::{audit_log, responses};
    with_conn!(pool, |conn| {
        conn.transaction(async |conn| {
            let email: Option<String> = users::table
                .find(id)
                .select(users::email)
                .first(conn)
                .await
                .optional()?;
            if let Some(email) = &email {
                diesel::delete(
                    outbox::table
                        .filter(outbox::recipient.eq(email))
                        .filter(outbox::sent_at.is_null()),
                )
                .execute(conn)
                .await?;
            }
            // Consents first: SQLite only cascades with foreign_keys on, which the pool sets,
            // but explicit is clearer and costs nothing.
            diesel::delete(consents::table.filter(consents::user_id.eq(id)))
                .execute(conn)
                .await?;
            // Paradata and duplicate fingerprints are about the person: they go with the
            // account (an anonymised response keeps its answers, not its timings).
            {
                use super::schema::{page_visits, respondent_fingerprints};
                diesel::delete(page_visits::table.filter(page_visits::user_id.eq(id)))
                    .execute(conn)
                    .await?;
                diesel::delete(
                    respondent_fingerprints::table.filter(respondent_fingerprints::user_id.eq(id)),
                )
                .execute(conn)
                .await?;
            }
            let own_response = responses::table.filter(responses::user_id.eq(Some(id)));
            match answers {
                crate::config::OnDelete::Delete => {
                    // Its quota places go back in the same transaction (an anonymised
                    // response keeps them: it still counts).
                    let ids: Vec<i64> = responses::table
                        .filter(responses::user_id.eq(Some(id)))
                        .select(responses::id)
                        .load(conn)
                        .await?;
                    for rid in ids {
                        super::quota_places::settle_places!(conn, rid, &[]).await?;
                    }
                    diesel::delete(own_response).execute(conn).await?;
                }
                crate::config::OnDelete::Anonymize => {
                    diesel::update(own_response)
                        .set(responses::user_id.eq(None::<i64>))
                        .execute(conn)
                        .await?;
                }
            }
            let n = diesel::delete(users::table.find(id)).execute(conn).await?;
            if n > 0 {
                diesel::insert_into(audit_log::table)
                    .values((
                        audit_log::at.eq(now()),
                        audit_log::actor_id.eq(actor_id),
                        audit_log::action.eq(action),
                        audit_log::subject_id.eq(Some(id)),
                        audit_log::detail.eq(detail),
                    ))
                    .execute(conn)
                    .await?;
            }
            Ok::<_, DbError>(n > 0)
        })
        .await
    })
}

/// Escape `%`, `_` and `\` so user input matches literally inside LIKE.
pub(super) fn like_pattern(q: &str) -> String {
    let mut out = String::with_capacity(q.len() + 2);
    out.push('%');
    for c in q.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// One page of respondents matching `query` in e-mail, name or surname, newest first,
/// and the total number of matches.
pub async fn search(
    pool: &DbPool,
    query: &str,
    page: i64,
    per_page: i64,
) -> Result<(Vec<User>, i64), DbError> {
    let pattern = like_pattern(query.trim());
    let offset = (page.max(1) - 1) * per_page;
    with_conn!(pool, |conn| {
        let filter = users::email
            .like(&pattern)
            .escape('\\')
            .or(users::nome.like(&pattern).escape('\\'))
            .or(users::sobrenome.like(&pattern).escape('\\'));
        let total: i64 = users::table
            .filter(filter.clone())
            .count()
            .get_result(conn)
            .await?;
        let rows = users::table
            .filter(filter)
            .order(users::id.desc())
            .limit(per_page)
            .offset(offset)
            .select(User::as_select())
            .load(conn)
            .await?;
        Ok((rows, total))
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_input_is_escaped() {
        assert_eq!(super::like_pattern("a%b_c\\"), "%a\\%b\\_c\\\\%");
    }
}
