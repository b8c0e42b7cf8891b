//! `pesquisa backup --output FILE`: an online, consistent copy of the embedded SQLite
//! database, taken while the server serves (see [`crate::db::backup`] for how). MariaDB is
//! refused: its procedure is `mariadb-dump --single-transaction` (docs/deploy.md).
//!
//! The copy is written under a hidden temporary name beside FILE, owner-only (0600) from
//! the start, synced, and published under FILE only when complete and only if FILE still
//! does not exist; a failed or interrupted (SIGINT, SIGTERM) backup removes it.

use std::path::{Path, PathBuf};

use crate::config::{DatabaseKind, Settings};
use crate::db::{DbPool, backup};

#[derive(Debug, clap::Args)]
pub struct Opts {
    /// Write the copy to FILE, a new file (an existing one is refused), mode 0600.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: PathBuf,
}

pub async fn run(settings: Settings, opts: Opts) -> anyhow::Result<()> {
    let database = match settings.database.kind()? {
        DatabaseKind::Sqlite { path } => path,
        DatabaseKind::Mysql => anyhow::bail!(
            "--output: `pesquisa backup` copies the embedded SQLite database, and database.url \
             names MariaDB; back MariaDB up with `mariadb-dump --single-transaction` \
             (docs/deploy.md, section 5)"
        ),
    };
    let output = &opts.output;
    refuse_existing(output)?;
    if !database.exists() {
        anyhow::bail!("database: {} does not exist", database.display());
    }
    let temp = temp_beside(output)?;
    let pool = DbPool::connect(&settings.database).await?;
    let bytes = super::export::until_stopped(copy(&pool, temp, output)).await?;
    println!(
        "backup: {} ({bytes} bytes), a consistent copy of {}",
        output.display(),
        database.display()
    );
    Ok(())
}

/// The one refusal message for an output that exists (checked first, and again when the
/// copy is published, in case it appeared meanwhile).
fn refuse_existing(output: &Path) -> anyhow::Result<()> {
    if output.symlink_metadata().is_ok() {
        anyhow::bail!(
            "--output: {} already exists; a backup never overwrites a file, give a new name",
            output.display()
        );
    }
    Ok(())
}

/// An empty owner-only file `.NAME.XXXXXX.tmp` in FILE's directory (same file system,
/// so publishing it is a rename). Dropped unpublished, it is removed.
fn temp_beside(output: &Path) -> anyhow::Result<tempfile::NamedTempFile> {
    use std::os::unix::fs::PermissionsExt;
    let name = output
        .file_name()
        .ok_or_else(|| anyhow::anyhow!("--output: {} is not a file name", output.display()))?;
    let dir = output
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    tempfile::Builder::new()
        .prefix(&format!(".{}.", name.to_string_lossy()))
        .suffix(".tmp")
        .permissions(std::fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)
        .map_err(|e| anyhow::anyhow!("--output: cannot create a file in {}: {e}", dir.display()))
}

/// Copies the database into `temp`, syncs it and renames it to `output`; the size.
async fn copy(pool: &DbPool, temp: tempfile::NamedTempFile, output: &Path) -> anyhow::Result<u64> {
    backup::sqlite_copy(pool, temp.path())
        .await
        .map_err(|e| anyhow::anyhow!("backup failed: {e}"))?;
    let fail = |e: std::io::Error| anyhow::anyhow!("cannot write {}: {e}", output.display());
    temp.as_file().sync_all().map_err(fail)?;
    let bytes = temp.as_file().metadata().map_err(fail)?.len();
    temp.persist_noclobber(output).map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            refuse_existing(output).unwrap_err()
        } else {
            fail(e.error)
        }
    })?;
    // The rename itself is durable only once the directory is synced.
    if let Some(dir) = output.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(fail)?;
    }
    Ok(bytes)
}
