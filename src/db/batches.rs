//! The batched reads behind the export and the report: the responses matching a filter,
//! by ascending id up to the highest id present at the start (keyset pagination, so memory
//! stays flat and rows saved meanwhile do not shift the count), and the personal data of
//! their respondents when an export asks for it.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::Serialize;

use super::responses::Response;
use super::schema::{responses, users};
use super::{DbError, DbPool};
use crate::with_conn;

/// Rows read per query.
pub const BATCH_SIZE: i64 = 1000;

/// A respondent's personal data, only with `--include-personal-data`.
#[derive(Debug, Clone, Default)]
pub struct Person {
    pub nome: String,
    pub sobrenome: String,
    pub email: String,
    pub telefone: Option<String>,
}

/// Which responses to export. Times are UTC, compared with `updated_at`; both bounds
/// are inclusive.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Filters {
    #[serde(serialize_with = "opt_time")]
    pub since: Option<NaiveDateTime>,
    #[serde(serialize_with = "opt_time")]
    pub until: Option<NaiveDateTime>,
    pub bairro: Option<String>,
    pub complete_only: bool,
}

fn opt_time<S: serde::Serializer>(t: &Option<NaiveDateTime>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&crate::survey::format::timestamp(*t)),
        None => s.serialize_none(),
    }
}

macro_rules! filtered {
    ($filters:expr, $max_id:expr) => {{
        let f: &Filters = $filters;
        let mut q = responses::table
            .filter(responses::id.le($max_id))
            .into_boxed();
        if let Some(since) = f.since {
            q = q.filter(responses::updated_at.ge(since));
        }
        if let Some(until) = f.until {
            q = q.filter(responses::updated_at.le(until));
        }
        if let Some(bairro) = &f.bairro {
            q = q.filter(responses::bairro.eq(bairro.clone()));
        }
        if f.complete_only {
            q = q.filter(responses::submitted_at.is_not_null());
        }
        q
    }};
}

/// The highest response id now: exports and reports read up to it, so rows saved
/// meanwhile neither shift counts nor appear half-way.
pub async fn max_id(pool: &DbPool) -> Result<i64, DbError> {
    with_conn!(pool, |conn| {
        let max: Option<i64> = responses::table
            .select(diesel::dsl::max(responses::id))
            .first(conn)
            .await?;
        Ok(max.unwrap_or(0))
    })
}

/// Number of responses matching `filters` with id ≤ `max_id`.
pub async fn count(pool: &DbPool, filters: &Filters, max_id: i64) -> Result<i64, DbError> {
    with_conn!(pool, |conn| {
        Ok(filtered!(filters, max_id).count().get_result(conn).await?)
    })
}

/// The next batch: matching rows with `after < id ≤ max_id`, by id.
async fn batch(
    pool: &DbPool,
    filters: &Filters,
    after: i64,
    max_id: i64,
    limit: i64,
) -> Result<Vec<Response>, DbError> {
    with_conn!(pool, |conn| {
        Ok(filtered!(filters, max_id)
            .filter(responses::id.gt(after))
            .order(responses::id.asc())
            .limit(limit)
            .select(Response::as_select())
            .load(conn)
            .await?)
    })
}

/// The responses matching `filters` with id ≤ `max_id`, in id order, one batch at a
/// time (keyset pagination: memory stays flat whatever the number of rows).
///
/// While the caller works on one batch, the next is already being read on another task,
/// so the database round trip overlaps the formatting instead of adding to it. At most
/// two batches are in memory.
pub struct Batches {
    pending: Option<tokio::task::JoinHandle<Result<Vec<Response>, DbError>>>,
    pool: DbPool,
    filters: Filters,
    max_id: i64,
    size: i64,
}

impl Batches {
    pub fn new(pool: &DbPool, filters: &Filters, max_id: i64, size: i64) -> Self {
        let mut b = Batches {
            pending: None,
            pool: pool.clone(),
            filters: filters.clone(),
            max_id,
            size: size.max(1),
        };
        b.fetch_after(0);
        b
    }

    fn fetch_after(&mut self, after: i64) {
        let (pool, filters) = (self.pool.clone(), self.filters.clone());
        let (max_id, size) = (self.max_id, self.size);
        self.pending = Some(tokio::spawn(async move {
            batch(&pool, &filters, after, max_id, size).await
        }));
    }

    /// The next batch, `None` after the last.
    pub async fn next(&mut self) -> Result<Option<Vec<Response>>, DbError> {
        let Some(pending) = self.pending.take() else {
            return Ok(None);
        };
        let rows = pending
            .await
            .map_err(|e| DbError::Unavailable(format!("batch reader stopped: {e}")))??;
        match rows.last() {
            Some(last) => {
                let after = last.id;
                self.fetch_after(after);
                Ok(Some(rows))
            }
            None => Ok(None),
        }
    }
}

impl Drop for Batches {
    fn drop(&mut self) {
        if let Some(p) = self.pending.take() {
            p.abort();
        }
    }
}

type PersonRow = (i64, String, String, String, Option<String>);

pub async fn people(pool: &DbPool, ids: &[i64]) -> Result<HashMap<i64, Person>, DbError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<PersonRow> = with_conn!(pool, |conn| {
        users::table
            .filter(users::id.eq_any(ids))
            .select((
                users::id,
                users::nome,
                users::sobrenome,
                users::email,
                users::telefone,
            ))
            .load(conn)
            .await
            .map_err(DbError::from)
    })?;
    Ok(rows
        .into_iter()
        .map(|(id, nome, sobrenome, email, telefone)| {
            (
                id,
                Person {
                    nome,
                    sobrenome,
                    email,
                    telefone,
                },
            )
        })
        .collect())
}
