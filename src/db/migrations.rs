//! Migrations embedded in the binary: `migrations/mysql` for MariaDB and
//! `migrations/sqlite` for SQLite, applied through diesel-async's harness.
//!
//! The harness uses `block_in_place`, so these functions need tokio's multi-thread runtime.

use diesel_async::AsyncMigrationHarness;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::{DbError, DbPool};

const MYSQL: EmbeddedMigrations = embed_migrations!("migrations/mysql");
const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

fn harness_error(e: impl std::fmt::Display) -> DbError {
    DbError::Unavailable(format!("migrations: {e}"))
}

/// Names of migrations not yet applied, oldest first.
pub async fn pending(pool: &DbPool) -> Result<Vec<String>, DbError> {
    match pool {
        DbPool::Mysql(p) => {
            let conn = p.get_owned().await?;
            let mut harness = AsyncMigrationHarness::new(conn);
            let list = harness.pending_migrations(MYSQL).map_err(harness_error)?;
            Ok(list.iter().map(|m| m.name().to_string()).collect())
        }
        DbPool::Sqlite(p) => {
            let conn = p.get_owned().await?;
            let mut harness = AsyncMigrationHarness::new(conn);
            let list = harness.pending_migrations(SQLITE).map_err(harness_error)?;
            Ok(list.iter().map(|m| m.name().to_string()).collect())
        }
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
