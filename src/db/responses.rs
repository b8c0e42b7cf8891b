//! The `responses` table: one row per respondent holding their answers as JSON.
//!
//! Writes use optimistic concurrency: each save reads the row, merges one page into the
//! answers, and writes back only if `revision` is unchanged, retrying otherwise. Two tabs
//! or two app instances saving at once therefore never lose each other's pages, and the
//! unique key on `user_id` means racing first saves cannot create two rows.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::prepared::Prepared;
use super::quota_places::{Placing, TxError, settle_places};
use super::schema::responses;
use super::users::now;
use super::{DbError, DbPool};
use crate::survey::flow::{Flow, settle};
use crate::survey::quota::screened_by_quota;
use crate::survey::{Answers, Definition};
use crate::{read_conn, with_conn};

/// How often a save is retried when another write got in between.
const MAX_ATTEMPTS: usize = 100;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = responses)]
pub struct Response {
    pub id: i64,
    pub user_id: Option<i64>,
    pub definition_id: String,
    pub definition_version: i32,
    pub answers: String,
    pub bairro: String,
    pub current_page: i32,
    pub revision: i64,
    // Read by hand from SQLite's text (see `super::stamp`): every export and report
    // reads these for every response.
    #[diesel(deserialize_as = super::stamp::Stamp)]
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = super::stamp::Stamp)]
    pub updated_at: NaiveDateTime,
    #[diesel(deserialize_as = super::stamp::MaybeStamp)]
    pub submitted_at: Option<NaiveDateTime>,
    /// Key of the screen-out rule that ended the questionnaire, if any.
    pub screened_out: Option<String>,
    /// Keys of the soft checks the respondent confirmed, comma-separated.
    pub confirmed_checks: String,
}

impl Response {
    /// For unit tests: a draft of `def`'s current version in bairro CENTRO holding
    /// `answers` (stored JSON), not submitted; tests change what they need with
    /// `Response { field, ..Response::draft(def, answers) }`.
    #[cfg(test)]
    pub fn draft(def: &Definition, answers: impl Into<String>) -> Response {
        let t = NaiveDateTime::default();
        Response {
            id: 1,
            user_id: None,
            definition_id: def.id().to_string(),
            definition_version: i32::try_from(def.version()).unwrap_or(i32::MAX),
            answers: answers.into(),
            bairro: "CENTRO".into(),
            current_page: 0,
            revision: 1,
            created_at: t,
            updated_at: t,
            submitted_at: None,
            screened_out: None,
            confirmed_checks: String::new(),
        }
    }

    /// The keys of the confirmed soft checks.
    pub fn confirmed(&self) -> Vec<&str> {
        self.confirmed_checks
            .split(',')
            .filter(|k| !k.is_empty())
            .collect()
    }

    /// The stored answers. A row that does not parse (edited by hand) reads as empty
    /// rather than failing the page; the error is logged without its content.
    pub fn answers(&self) -> Answers {
        serde_json::from_str(&self.answers).unwrap_or_else(|e| {
            tracing::error!(response_id = self.id, error = %e, "stored answers do not parse");
            Answers::default()
        })
    }
}

pub async fn for_user(pool: &DbPool, user_id: i64) -> Result<Option<Response>, DbError> {
    read_conn!(pool, |conn| {
        Ok(responses::table
            .filter(responses::user_id.eq(user_id))
            .select(Response::as_select())
            .first(conn)
            .await
            .optional()?)
    })
}

/// The respondent's response row and whether their view of questionnaire page `page`
/// (0-based) is already stamped in `page_visits`, read together in one query: a page view
/// needs the answers, and the stamp's insert is skipped when the row exists. Without a
/// response row the stamp reads as missing (the insert, which ignores an existing row,
/// then runs).
pub async fn for_user_viewing(
    pool: &DbPool,
    user_id: i64,
    page: usize,
) -> Result<(Option<Response>, bool), DbError> {
    use super::schema::page_visits;
    let page = super::paradata::page_no(page);
    let found: Option<(Response, Option<i32>)> = read_conn!(pool, |conn| {
        responses::table
            .left_join(
                page_visits::table.on(page_visits::user_id
                    .nullable()
                    .eq(responses::user_id)
                    .and(page_visits::page.eq(page))),
            )
            .filter(responses::user_id.eq(user_id))
            .select((Response::as_select(), page_visits::page.nullable()))
            .first(conn)
            .await
            .optional()
            .map_err(DbError::from)
    })?;
    Ok(match found {
        Some((row, visit)) => (Some(row), visit.is_some()),
        None => (None, false),
    })
}

fn to_json(answers: &Answers) -> Result<String, DbError> {
    serde_json::to_string(answers)
        .map_err(|e| DbError::Query(diesel::result::Error::SerializationError(Box::new(e))))
}

/// What a save starts from: the respondent's bairro (from their account; `None` when the
/// account is gone), their response row and its answers.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    bairro: Option<String>,
    row: Option<Response>,
    answers: Answers,
}

impl Snapshot {
    /// The stored answers (empty without a response row).
    pub fn answers(&self) -> &Answers {
        &self.answers
    }

    /// The response row, if the respondent has one.
    pub fn row(&self) -> Option<&Response> {
        self.row.as_ref()
    }
}

/// The respondent's bairro and response row, read together in one query, with the
/// answers parsed once: a save needs all three, and the page handler reads the same
/// snapshot first to decide whether the page may be saved, then hands it to
/// [`save_page`] rather than reading it again.
pub async fn snapshot(pool: &DbPool, user_id: i64) -> Result<Snapshot, DbError> {
    use super::schema::users;
    let found: Option<(String, Option<Response>)> = read_conn!(pool, |conn| {
        users::table
            .left_join(responses::table.on(responses::user_id.eq(users::id.nullable())))
            .filter(users::id.eq(user_id))
            .select((users::bairro, Option::<Response>::as_select()))
            .first(conn)
            .await
            .optional()
            .map_err(DbError::from)
    })?;
    Ok(match found {
        Some((bairro, row)) => Snapshot {
            bairro: Some(bairro),
            answers: row.as_ref().map(Response::answers).unwrap_or_default(),
            row,
        },
        None => Snapshot::default(),
    })
}

/// What a save left stored.
#[derive(Debug, Clone, Default)]
pub struct Saved<'d> {
    /// The answers after the merge, without those of questions no longer asked.
    pub answers: Answers,
    /// The screen-out rule that now ends the questionnaire, if any.
    pub screened_out: Option<String>,
    /// The confirmed checks kept.
    pub confirmed_checks: Vec<String>,
    /// Set when the save was refused and nothing stored: the edit of a submitted response
    /// would move it into a full `close` cell (quota, cell).
    pub quota_full: Option<(String, String)>,
    /// The flow over `answers`, when the save walked it (the merge does; a response a
    /// quota screened out is returned as stored, without one): the caller need not walk
    /// the same answers again.
    pub flow: Option<Flow<'d>>,
}

/// The result of merging `new` into `stored`: answers of questions no longer asked
/// removed (see [`settle`]), the screen-out in force, and the confirmed checks that
/// still fire (previously confirmed, or in `confirm` now).
fn merged<'d>(
    def: &'d Definition,
    stored: Answers,
    stored_confirmed: &[&str],
    page: usize,
    new: Answers,
    confirm: &[String],
) -> Saved<'d> {
    let mut answers = stored;
    answers.merge_page(def, page, new);
    let flow = settle(def, &mut answers);
    let fired = flow.all_fired_checks(&answers);
    let confirmed_checks = fired
        .iter()
        .filter(|k| stored_confirmed.contains(k) || confirm.iter().any(|c| c == *k))
        .map(|k| (*k).to_owned())
        .collect();
    Saved {
        screened_out: flow.screened_out().map(|s| s.key.clone()),
        answers,
        confirmed_checks,
        quota_full: None,
        flow: Some(flow),
    }
}

/// Merge one page's answers into the respondent's response (creating it on first save),
/// drop answers of questions the new answers hide, record the screen-out and confirmed
/// checks (`confirm`: keys the respondent confirmed on this page), copy the bairro from
/// their account (so exports need no join) and move the bookmark to `next_page`. One
/// read and one write when nobody else is saving for the same user. A submitted response
/// moves its quota places in the same transaction as the write, and is left unchanged
/// ([`Saved::quota_full`]) when the edit would put it in a full `close` cell; a response
/// a quota screened out stores nothing. `read`: a [`snapshot`] just taken, used by the
/// first attempt instead of reading again (a write in between fails the revision check
/// and the next attempt reads afresh).
#[expect(
    clippy::too_many_arguments,
    reason = "one call site; each argument is a distinct input"
)]
pub async fn save_page<'d>(
    pool: &DbPool,
    user_id: i64,
    def: &'d Definition,
    page: usize,
    new: Answers,
    next_page: usize,
    confirm: &[String],
    placing: Placing<'_>,
    mut read: Option<Snapshot>,
) -> Result<Saved<'d>, DbError> {
    for attempt in 0..MAX_ATTEMPTS {
        if attempt > 0 {
            // Jittered pause so racing writers fall out of step instead of colliding again.
            use rand::Rng;
            let ms = rand::rng().random_range(1..=(2 + attempt as u64).min(20));
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        }
        let Snapshot {
            bairro,
            row: existing,
            answers: stored,
        } = match read.take() {
            Some(s) => s,
            None => snapshot(pool, user_id).await?,
        };
        let bairro = bairro.unwrap_or_default();
        let at = now();
        let version = i32::try_from(def.version()).unwrap_or(i32::MAX);
        let bookmark = i32::try_from(next_page).unwrap_or(0);
        match existing {
            None => {
                let saved = merged(def, Answers::default(), &[], page, new.clone(), confirm);
                let json = to_json(&saved.answers)?;
                let checks = saved.confirmed_checks.join(",");
                let inserted = with_conn!(pool, |conn| {
                    diesel::insert_into(responses::table)
                        .values((
                            responses::user_id.eq(Some(user_id)),
                            responses::definition_id.eq(def.id()),
                            responses::definition_version.eq(version),
                            responses::answers.eq(&json),
                            responses::bairro.eq(&bairro),
                            responses::current_page.eq(bookmark),
                            responses::screened_out.eq(&saved.screened_out),
                            responses::confirmed_checks.eq(&checks),
                            responses::revision.eq(1_i64),
                            responses::created_at.eq(at),
                            responses::updated_at.eq(at),
                        ))
                        .execute(conn)
                        .await
                        .map_err(DbError::from)
                });
                match inserted {
                    Ok(_) => return Ok(saved),
                    // Another request created it first: merge into theirs.
                    Err(e) if e.is_unique_violation() => continue,
                    Err(e) => return Err(e),
                }
            }
            Some(row) if screened_by_quota(row.screened_out.as_deref()).is_some() => {
                return Ok(Saved {
                    answers: stored,
                    screened_out: row.screened_out.clone(),
                    confirmed_checks: row.confirmed().iter().map(|k| (*k).to_owned()).collect(),
                    quota_full: None,
                    flow: None,
                });
            }
            Some(row) => {
                let saved = merged(def, stored, &row.confirmed(), page, new.clone(), confirm);
                let json = to_json(&saved.answers)?;
                let checks = saved.confirmed_checks.join(",");
                // A repeat of what is stored (double click, retried POST) writes nothing.
                let same_version =
                    row.definition_version == version && row.definition_id == def.id();
                if json == row.answers
                    && row.bairro == bairro
                    && row.current_page == bookmark
                    && row.screened_out == saved.screened_out
                    && row.confirmed_checks == checks
                    && same_version
                {
                    return Ok(saved);
                }
                // One set of columns for both writes below (with and without quota places).
                let set = (
                    responses::answers.eq(&json),
                    responses::definition_id.eq(def.id()),
                    responses::definition_version.eq(version),
                    responses::bairro.eq(&bairro),
                    responses::current_page.eq(bookmark),
                    responses::screened_out.eq(&saved.screened_out),
                    responses::confirmed_checks.eq(&checks),
                    responses::revision.eq(row.revision + 1),
                    responses::updated_at.eq(at),
                );
                if row.submitted_at.is_some() && !placing.quotas.is_empty() {
                    // A screen-out now (an edited screener) gives every place back.
                    let wanted = if saved.screened_out.is_some() {
                        Vec::new()
                    } else {
                        placing.wanted(&bairro, &saved.answers)
                    };
                    let outcome: Result<bool, TxError> = with_conn!(pool, |conn| {
                        Ok(conn
                            .transaction(async |conn| {
                                let updated = Prepared(
                                    diesel::update(
                                        responses::table
                                            .filter(responses::id.eq(row.id))
                                            .filter(responses::revision.eq(row.revision)),
                                    )
                                    .set(set),
                                )
                                .execute(conn)
                                .await?;
                                if updated == 0 {
                                    return Ok(false);
                                }
                                match settle_places!(conn, row.id, &wanted).await? {
                                    Some(quota) => Err(TxError::Full(quota)),
                                    None => Ok(true),
                                }
                            })
                            .await)
                    })?;
                    match outcome {
                        Ok(true) => return Ok(saved),
                        Ok(false) => continue,
                        Err(TxError::Db(e)) => return Err(e),
                        Err(TxError::Full(quota)) => {
                            let cell = wanted
                                .iter()
                                .find(|(q, _, _)| *q == quota)
                                .map(|(_, c, _)| c.clone())
                                .unwrap_or_default();
                            return Ok(Saved {
                                quota_full: Some((quota, cell)),
                                ..saved
                            });
                        }
                    }
                }
                // Kept prepared: a fixed set of columns, run on every save.
                let updated = with_conn!(pool, |conn| {
                    Prepared(
                        diesel::update(
                            responses::table
                                .filter(responses::id.eq(row.id))
                                .filter(responses::revision.eq(row.revision)),
                        )
                        .set(set),
                    )
                    .execute(conn)
                    .await
                    .map_err(DbError::from)
                })?;
                // 0 rows: another save moved the revision on; read theirs and merge again.
                if updated > 0 {
                    return Ok(saved);
                }
            }
        }
    }
    Err(DbError::Unavailable(
        "response kept changing under concurrent saves".into(),
    ))
}

/// Mark the response submitted (the first submission time is kept; later edits only
/// move `updated_at`). Returns the row, or `None` if the respondent has none.
pub async fn mark_submitted(pool: &DbPool, user_id: i64) -> Result<Option<Response>, DbError> {
    let at = now();
    with_conn!(pool, |conn| {
        diesel::update(
            responses::table
                .filter(responses::user_id.eq(user_id))
                .filter(responses::submitted_at.is_null()),
        )
        .set((
            responses::submitted_at.eq(Some(at)),
            responses::updated_at.eq(at),
        ))
        .execute(conn)
        .await?;
        Ok::<_, DbError>(())
    })?;
    for_user(pool, user_id).await
}

/// Number of responses, and of submitted ones.
pub async fn counts(pool: &DbPool) -> Result<(i64, i64), DbError> {
    with_conn!(pool, |conn| {
        let all: i64 = responses::table.count().get_result(conn).await?;
        let done: i64 = responses::table
            .filter(responses::submitted_at.is_not_null())
            .count()
            .get_result(conn)
            .await?;
        Ok((all, done))
    })
}
