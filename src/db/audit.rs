//! The audit log: who did what, when. Written by admin actions and security events,
//! never holding passwords or free-form personal data.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::audit_log;
use super::{DbError, DbPool};
use crate::with_conn;

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
