//! Consent documents (versioned terms, privacy policy, optional consents) and the record
//! of who accepted or revoked which version when.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::Deserialize;

use super::schema::{consent_documents as docs, consents};
use super::users::now;
use super::{DbError, DbPool};
use crate::{read_conn, with_conn};

/// One version of one document.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = docs)]
pub struct Document {
    pub id: i64,
    pub kind: String,
    pub version: i32,
    pub required: bool,
    pub title_pt: String,
    pub title_en: String,
    pub body_pt: String,
    pub body_en: String,
    pub published_at: NaiveDateTime,
    pub published_by: Option<i64>,
}

impl Document {
    pub fn title(&self, english: bool) -> &str {
        if english {
            &self.title_en
        } else {
            &self.title_pt
        }
    }
    pub fn body(&self, english: bool) -> &str {
        if english {
            &self.body_en
        } else {
            &self.body_pt
        }
    }
}

/// One consent record of a user, with its document.
#[derive(Debug, Clone)]
pub struct ConsentRecord {
    pub document: Document,
    pub accepted_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
}

/// A document to publish.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentText {
    pub kind: String,
    pub required: bool,
    pub title_pt: String,
    pub title_en: String,
    pub body_pt: String,
    pub body_en: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Defaults {
    documents: Vec<DocumentText>,
}

/// The documents the project ships, published as version 1 when none exists yet.
pub fn default_documents() -> Vec<DocumentText> {
    toml::from_str::<Defaults>(include_str!("../../assets/data/consent-documents.toml"))
        .map(|d| d.documents)
        .unwrap_or_default()
}

/// The newest version of every kind, required ones first, then by kind.
pub async fn current(pool: &DbPool) -> Result<Vec<Document>, DbError> {
    let all: Vec<Document> = read_conn!(pool, |conn| {
        Ok::<_, DbError>(
            docs::table
                .order((docs::kind.asc(), docs::version.desc()))
                .select(Document::as_select())
                .load(conn)
                .await?,
        )
    })?;
    let mut newest: BTreeMap<String, Document> = BTreeMap::new();
    for d in all {
        newest.entry(d.kind.clone()).or_insert(d);
    }
    let mut list: Vec<Document> = newest.into_values().collect();
    list.sort_by_key(|d| (!d.required, d.kind.clone()));
    Ok(list)
}

/// A document's name: the titles of its first version, which a new version's title must
/// contain (see [`crate::accounts::documents::check_title`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentName {
    pub kind: String,
    pub title_pt: String,
    pub title_en: String,
}

/// The name of every kind, by kind.
pub async fn names(pool: &DbPool) -> Result<Vec<DocumentName>, DbError> {
    let all: Vec<(String, String, String)> = read_conn!(pool, |conn| {
        Ok::<_, DbError>(
            docs::table
                .order((docs::kind.asc(), docs::version.asc()))
                .select((docs::kind, docs::title_pt, docs::title_en))
                .load(conn)
                .await?,
        )
    })?;
    let mut first: BTreeMap<String, DocumentName> = BTreeMap::new();
    for (kind, title_pt, title_en) in all {
        first.entry(kind.clone()).or_insert(DocumentName {
            kind,
            title_pt,
            title_en,
        });
    }
    Ok(first.into_values().collect())
}

/// Publish a new version of `text.kind` (version = newest + 1) and return it.
pub async fn publish(
    pool: &DbPool,
    text: &DocumentText,
    by: Option<i64>,
) -> Result<Document, DbError> {
    with_conn!(pool, |conn| {
        conn.transaction(async |conn| {
            let newest: Option<i32> = docs::table
                .filter(docs::kind.eq(&text.kind))
                .select(diesel::dsl::max(docs::version))
                .first(conn)
                .await?;
            let version = newest.unwrap_or(0) + 1;
            diesel::insert_into(docs::table)
                .values((
                    docs::kind.eq(&text.kind),
                    docs::version.eq(version),
                    docs::required.eq(text.required),
                    docs::title_pt.eq(&text.title_pt),
                    docs::title_en.eq(&text.title_en),
                    docs::body_pt.eq(&text.body_pt),
                    docs::body_en.eq(&text.body_en),
                    docs::published_at.eq(now()),
                    docs::published_by.eq(by),
                ))
                .execute(conn)
                .await?;
            Ok::<_, DbError>(
                docs::table
                    .filter(docs::kind.eq(&text.kind).and(docs::version.eq(version)))
                    .select(Document::as_select())
                    .first(conn)
                    .await?,
            )
        })
        .await
    })
}

/// Publish version 1 of every shipped document whose kind has none yet. Safe to run from
/// several instances at once: the (kind, version) constraint lets only one insert win.
pub async fn seed_defaults(pool: &DbPool) -> Result<(), DbError> {
    let existing: Vec<String> = current(pool).await?.into_iter().map(|d| d.kind).collect();
    for text in default_documents() {
        if existing.contains(&text.kind) {
            continue;
        }
        match publish(pool, &text, None).await {
            Ok(_) => {}
            Err(e) if e.is_unique_violation() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Every consent record of the user, oldest first.
pub async fn of_user(pool: &DbPool, user_id: i64) -> Result<Vec<ConsentRecord>, DbError> {
    let rows: Vec<(Document, NaiveDateTime, Option<NaiveDateTime>)> = read_conn!(pool, |conn| {
        Ok::<_, DbError>(
            consents::table
                .inner_join(docs::table)
                .filter(consents::user_id.eq(user_id))
                .order(consents::id.asc())
                .select((
                    Document::as_select(),
                    consents::accepted_at,
                    consents::revoked_at,
                ))
                .load(conn)
                .await?,
        )
    })?;
    Ok(rows
        .into_iter()
        .map(|(document, accepted_at, revoked_at)| ConsentRecord {
            document,
            accepted_at,
            revoked_at,
        })
        .collect())
}

/// Ids of the documents the user has accepted and not revoked.
pub async fn active_document_ids(pool: &DbPool, user_id: i64) -> Result<Vec<i64>, DbError> {
    read_conn!(pool, |conn| {
        Ok(consents::table
            .filter(
                consents::user_id
                    .eq(user_id)
                    .and(consents::revoked_at.is_null()),
            )
            .select(consents::document_id)
            .load(conn)
            .await?)
    })
}

/// The current required documents the user has not accepted (new versions after sign-up).
pub async fn missing_required(pool: &DbPool, user_id: i64) -> Result<Vec<Document>, DbError> {
    let active = active_document_ids(pool, user_id).await?;
    Ok(current(pool)
        .await?
        .into_iter()
        .filter(|d| d.required && !active.contains(&d.id))
        .collect())
}

/// Record acceptance of these document versions.
pub async fn accept(pool: &DbPool, user_id: i64, document_ids: &[i64]) -> Result<(), DbError> {
    let at = now();
    let rows: Vec<_> = document_ids
        .iter()
        .map(|&d| {
            (
                consents::user_id.eq(user_id),
                consents::document_id.eq(d),
                consents::accepted_at.eq(at),
            )
        })
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    with_conn!(pool, |conn| {
        conn.transaction(async |conn| {
            // One statement per row: diesel-async's SQLite wrapper has no batch insert.
            for row in &rows {
                diesel::insert_into(consents::table)
                    .values(row)
                    .execute(conn)
                    .await?;
            }
            Ok::<_, DbError>(())
        })
        .await
    })
}

/// Revoke every active acceptance of any version of `kind`.
pub async fn revoke_kind(pool: &DbPool, user_id: i64, kind: &str) -> Result<(), DbError> {
    let ids: Vec<i64> = with_conn!(pool, |conn| {
        Ok::<_, DbError>(
            docs::table
                .filter(docs::kind.eq(kind))
                .select(docs::id)
                .load(conn)
                .await?,
        )
    })?;
    with_conn!(pool, |conn| {
        diesel::update(
            consents::table.filter(
                consents::user_id
                    .eq(user_id)
                    .and(consents::revoked_at.is_null())
                    .and(consents::document_id.eq_any(&ids)),
            ),
        )
        .set(consents::revoked_at.eq(now()))
        .execute(conn)
        .await?;
        Ok(())
    })
}
