//! The audit log: who did what, when. Written by admin actions and security events,
//! never holding passwords or free-form personal data.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::{audit_log, users};
use super::{DbError, DbPool};
use crate::{read_conn, with_conn};

/// One audit entry as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub struct AuditEntry {
    pub id: i64,
    pub at: NaiveDateTime,
    pub actor_id: Option<i64>,
    pub action: String,
    pub subject_id: Option<i64>,
    pub detail: String,
}

#[derive(Insertable)]
#[diesel(table_name = audit_log)]
struct NewEntry<'a> {
    at: NaiveDateTime,
    actor_id: Option<i64>,
    action: &'a str,
    subject_id: Option<i64>,
    detail: &'a str,
}

/// Append one entry.
pub async fn record(
    pool: &DbPool,
    actor_id: Option<i64>,
    action: &str,
    subject_id: Option<i64>,
    detail: &str,
) -> Result<(), DbError> {
    let entry = NewEntry {
        at: Utc::now().naive_utc(),
        actor_id,
        action,
        subject_id,
        detail,
    };
    with_conn!(pool, |conn| {
        diesel::insert_into(audit_log::table)
            .values(&entry)
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// The newest entries first.
pub async fn recent(pool: &DbPool, limit: i64) -> Result<Vec<AuditEntry>, DbError> {
    with_conn!(pool, |conn| {
        Ok(audit_log::table
            .order(audit_log::id.desc())
            .limit(limit)
            .select(AuditEntry::as_select())
            .load(conn)
            .await?)
    })
}

/// Whose entries to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActorFilter {
    /// The account with this id (also after it was deleted).
    Id(i64),
    /// Accounts whose e-mail contains this text.
    EmailContains(String),
}

/// What the audit page is narrowed to; times are UTC, `since` inclusive, `before`
/// exclusive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub action: Option<String>,
    pub actor: Option<ActorFilter>,
    pub since: Option<NaiveDateTime>,
    pub before: Option<NaiveDateTime>,
}

/// One entry with its actor's current e-mail (`None`: no actor, or an account deleted
/// since).
#[derive(Debug, Clone)]
pub struct AuditRow {
    pub entry: AuditEntry,
    pub actor_email: Option<String>,
}

/// The entries matching `$f`, joined with their actor, as a boxed query; a macro because
/// it runs inside [`read_conn!`]'s body, once per backend.
macro_rules! matching {
    ($f:expr) => {{
        let f: &AuditFilter = $f;
        let mut q = audit_log::table
            .left_join(users::table.on(audit_log::actor_id.eq(users::id.nullable())))
            .into_boxed();
        if let Some(action) = &f.action {
            q = q.filter(audit_log::action.eq(action.clone()));
        }
        match &f.actor {
            None => {}
            Some(ActorFilter::Id(id)) => q = q.filter(audit_log::actor_id.eq(Some(*id))),
            Some(ActorFilter::EmailContains(text)) => {
                q = q.filter(
                    users::email
                        .nullable()
                        .like(super::users::like_pattern(text))
                        .escape('\\'),
                )
            }
        }
        if let Some(since) = f.since {
            q = q.filter(audit_log::at.ge(since));
        }
        if let Some(before) = f.before {
            q = q.filter(audit_log::at.lt(before));
        }
        q
    }};
}

type Row = (AuditEntry, Option<String>);

fn rows(loaded: Vec<Row>) -> Vec<AuditRow> {
    loaded
        .into_iter()
        .map(|(entry, actor_email)| AuditRow { entry, actor_email })
        .collect()
}

/// One page of the entries matching `f`, newest first (by id, so the order is stable
/// while new entries arrive), and how many match in all.
pub async fn search(
    pool: &DbPool,
    f: &AuditFilter,
    page: i64,
    per_page: i64,
) -> Result<(Vec<AuditRow>, i64), DbError> {
    let offset = (page.max(1) - 1) * per_page;
    let (loaded, total): (Vec<Row>, i64) = read_conn!(pool, |conn| {
        let total: i64 = matching!(f).count().get_result(conn).await?;
        let loaded: Vec<Row> = matching!(f)
            .order(audit_log::id.desc())
            .limit(per_page)
            .offset(offset)
            .select((AuditEntry::as_select(), users::email.nullable()))
            .load(conn)
            .await?;
        Ok::<_, DbError>((loaded, total))
    })?;
    Ok((rows(loaded), total))
}

/// The newest `limit` entries matching `f`, newest first (the CSV download).
pub async fn matching(
    pool: &DbPool,
    f: &AuditFilter,
    limit: i64,
) -> Result<Vec<AuditRow>, DbError> {
    let loaded: Vec<Row> = read_conn!(pool, |conn| {
        Ok::<_, DbError>(
            matching!(f)
                .order(audit_log::id.desc())
                .limit(limit)
                .select((AuditEntry::as_select(), users::email.nullable()))
                .load(conn)
                .await?,
        )
    })?;
    Ok(rows(loaded))
}
