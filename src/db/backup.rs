//! An online copy of the embedded SQLite database (`pesquisa backup`).
//!
//! `VACUUM INTO` rather than SQLite's online backup API: it is plain SQL through diesel
//! (the backup API is reachable only through `libsqlite3-sys`'s raw pointers, and this
//! crate denies unsafe code), it reads the whole database in one read transaction, so the
//! copy is one consistent snapshot while the server goes on writing (WAL: readers never
//! block the writer), and it never restarts when a write lands meanwhile, which the backup
//! API does on a busy database. The copy is also compacted. MariaDB has its own tool
//! (`mariadb-dump --single-transaction`, docs/deploy.md).

use std::path::Path;

use diesel::sql_types::Text;
use diesel_async::RunQueryDsl;

use super::{DbError, DbPool};

/// Writes a consistent copy of the database into `target`, which must not exist or be
/// empty (SQLite's rule for `VACUUM INTO`; an empty file keeps the mode it was made with).
/// SQLite only: a MariaDB pool is refused.
pub async fn sqlite_copy(pool: &DbPool, target: &Path) -> Result<(), DbError> {
    let DbPool::Sqlite(pool) = pool else {
        return Err(DbError::Unavailable(
            "a copy with VACUUM INTO needs the SQLite backend".into(),
        ));
    };
    let target = target.to_string_lossy().into_owned();
    let mut conn = pool.get().await.map_err(DbError::from)?;
    diesel::sql_query("VACUUM INTO ?")
        .bind::<Text, _>(target)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
