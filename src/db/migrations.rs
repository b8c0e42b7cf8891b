//! Migrations embedded in the binary: `migrations/mysql` for MariaDB and
//! `migrations/sqlite` for SQLite, applied through diesel-async's harness.
//!
//! The harness uses `block_in_place`, so these functions need tokio's multi-thread runtime.

use diesel::migration::MigrationSource;
use diesel_async::{AsyncMigrationHarness, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::{DbError, DbPool};
use crate::with_conn;

const MYSQL: EmbeddedMigrations = embed_migrations!("migrations/mysql");
const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

fn harness_error(e: impl std::fmt::Display) -> DbError {
    DbError::Unavailable(format!("migrations: {e}"))
}

/// Names of migrations not yet applied, oldest first.
///
/// Read from `__diesel_schema_migrations` directly rather than through the harness: the
/// harness first runs `CREATE TABLE IF NOT EXISTS`, which MariaDB refuses to a
/// least-privilege app user (no CREATE right) even when the table exists. `serve` runs
/// as that user; only `migrate` needs DDL rights.
pub async fn pending(pool: &DbPool) -> Result<Vec<String>, DbError> {
    let applied = applied_versions(pool).await?;
    let embedded: Vec<(String, String)> = match pool {
        DbPool::Mysql(_) => names_and_versions::<diesel::mysql::Mysql>(&MYSQL)?,
        DbPool::Sqlite(_) => names_and_versions::<diesel::sqlite::Sqlite>(&SQLITE)?,
    };
    Ok(embedded
        .into_iter()
        .filter(|(_, version)| !applied.contains(version))
        .map(|(name, _)| name)
        .collect())
}

fn names_and_versions<DB: diesel::backend::Backend>(
    source: &EmbeddedMigrations,
) -> Result<Vec<(String, String)>, DbError> {
    let list = MigrationSource::<DB>::migrations(source).map_err(harness_error)?;
    let mut out: Vec<(String, String)> = list
        .iter()
        .map(|m| (m.name().to_string(), m.name().version().to_string()))
        .collect();
    out.sort();
    Ok(out)
}

#[derive(diesel::QueryableByName)]
struct AppliedVersion {
    #[diesel(sql_type = diesel::sql_types::Text)]
    version: String,
}

/// Versions recorded as applied; none when the bookkeeping table does not exist yet.
async fn applied_versions(pool: &DbPool) -> Result<Vec<String>, DbError> {
    let rows: Result<Vec<AppliedVersion>, DbError> = with_conn!(pool, |conn| {
        diesel::sql_query("SELECT version FROM __diesel_schema_migrations")
            .load::<AppliedVersion>(conn)
            .await
            .map_err(DbError::from)
    });
    match rows {
        Ok(rows) => Ok(rows.into_iter().map(|r| r.version).collect()),
        // A fresh database: no table yet, so nothing is applied.
        Err(DbError::Query(diesel::result::Error::DatabaseError(_, info)))
            if info.message().contains("doesn't exist")
                || info.message().contains("no such table") =>
        {
            Ok(Vec::new())
        }
        Err(e) => Err(e),
    }
}

/// Apply every pending migration, each in its own transaction; returns the names
/// applied, oldest first.
pub async fn run_pending(pool: &DbPool) -> Result<Vec<String>, DbError> {
    let names = pending(pool).await?;
    match pool {
        DbPool::Mysql(p) => {
            let conn = p.get_owned().await?;
            let mut harness = AsyncMigrationHarness::new(conn);
            harness
                .run_pending_migrations(MYSQL)
                .map_err(harness_error)?;
        }
        DbPool::Sqlite(p) => {
            let conn = p.get_owned().await?;
            let mut harness = AsyncMigrationHarness::new(conn);
            harness
                .run_pending_migrations(SQLITE)
                .map_err(harness_error)?;
        }
    }
    Ok(names)
}
