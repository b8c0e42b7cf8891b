//! Field-work progress for the admin dashboard: how many people signed up, started and
//! completed, completions per day, and progress per bairro. Counts only: no answers and
//! no personal data leave this module.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::{responses, users};
use super::{DbError, DbPool};
use crate::accounts::Role;
use crate::read_conn;

/// Started and completed responses of one bairro.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BairroProgress {
    pub bairro: String,
    pub started: i64,
    pub completed: i64,
}

/// Responses started and completed on one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayProgress {
    pub day: NaiveDate,
    pub started: i64,
    pub completed: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// Respondent accounts (staff excluded).
    pub respondents: i64,
    pub started: i64,
    pub completed: i64,
    /// Completed responses that count in the results when `require_verified_email` is on
    /// (the respondent verified the address, or the account was deleted and the answers
    /// kept anonymised).
    pub completed_verified: i64,
    pub by_bairro: Vec<BairroProgress>,
    /// Oldest first, one entry per day from the first to the last requested, zeros
    /// included so a quiet day shows as one.
    pub per_day: Vec<DayProgress>,
}

/// The counts, with `per_day` covering `days` ending on `today`; `day_of` turns a stored
/// UTC time into the study's calendar day.
pub async fn snapshot(
    pool: &DbPool,
    today: NaiveDate,
    days: u32,
    day_of: impl Fn(NaiveDateTime) -> NaiveDate,
) -> Result<Progress, DbError> {
    let first = today - chrono::Days::new(u64::from(days.saturating_sub(1)));
    // One day of margin before `first`: the study's day may start before UTC's.
    let since = (first - chrono::Days::new(1)).and_time(chrono::NaiveTime::MIN);
    let (respondents, by_bairro, verified, recent) = read_conn!(pool, |conn| {
        let respondents: i64 = users::table
            .filter(users::role.eq(Role::Respondent.as_str()))
            .count()
            .get_result(conn)
            .await?;
        let by_bairro: Vec<(String, i64, i64)> = responses::table
            .group_by(responses::bairro)
            .select((
                responses::bairro,
                diesel::dsl::count_star(),
                diesel::dsl::count(responses::submitted_at),
            ))
            .order(responses::bairro)
            .load(conn)
            .await?;
        let verified: i64 = responses::table
            .left_join(users::table)
            .filter(responses::submitted_at.is_not_null())
            .filter(
                responses::user_id
                    .is_null()
                    .or(users::email_verified_at.is_not_null()),
            )
            .count()
            .get_result(conn)
            .await?;
        let recent: Vec<(NaiveDateTime, Option<NaiveDateTime>)> = responses::table
            .filter(
                responses::created_at
                    .ge(since)
                    .or(responses::submitted_at.ge(since)),
            )
            .select((responses::created_at, responses::submitted_at))
            .load(conn)
            .await?;
        Ok::<_, DbError>((respondents, by_bairro, verified, recent))
    })?;
    let mut days_map: BTreeMap<NaiveDate, (i64, i64)> = first
        .iter_days()
        .take_while(|d| *d <= today)
        .map(|d| (d, (0, 0)))
        .collect();
    for (created, submitted) in recent {
        if let Some(entry) = days_map.get_mut(&day_of(created)) {
            entry.0 += 1;
        }
        if let Some(entry) = submitted.and_then(|s| days_map.get_mut(&day_of(s))) {
            entry.1 += 1;
        }
    }
    let by_bairro: Vec<BairroProgress> = by_bairro
        .into_iter()
        .map(|(bairro, started, completed)| BairroProgress {
            bairro,
            started,
            completed,
        })
        .collect();
    Ok(Progress {
        respondents,
        started: by_bairro.iter().map(|b| b.started).sum(),
        completed: by_bairro.iter().map(|b| b.completed).sum(),
        completed_verified: verified,
        by_bairro,
        per_day: days_map
            .into_iter()
            .map(|(day, (started, completed))| DayProgress {
                day,
                started,
                completed,
            })
            .collect(),
    })
}
