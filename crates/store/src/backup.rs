//! Consistent copies of a database in use, and the checks a restore makes first.
//!
//! SQLite: `VACUUM INTO` copies the database as of one read transaction (WAL: writers
//! go on meanwhile), so the copy is consistent and compact; it is then synced to disk.
//! PostgreSQL is copied with its own `pg_dump` (run by the binary).

use crate::{StoreError, StoreResult};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};
use std::path::Path;
use std::time::Duration;

/// Writes a consistent copy of the SQLite database `source` to `target` (which must not
/// exist) and syncs it to disk.
pub async fn sqlite_snapshot(source: &Path, target: &Path) -> StoreResult<()> {
    if !source.is_file() {
        return Err(StoreError::InvalidReference("database_missing"));
    }
    let Some(target_name) = target.to_str() else {
        return Err(StoreError::InvalidReference("path_not_utf8"));
    };
    let mut conn = SqliteConnectOptions::new()
        .filename(source)
        .busy_timeout(Duration::from_secs(10))
        .disable_statement_logging()
        .connect()
        .await?;
    sqlx::query("VACUUM INTO ?")
        .bind(target_name)
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    sync_file(target).map_err(|e| StoreError::Database(sqlx::Error::Io(e)))
}

/// `PRAGMA integrity_check` of a database file (a backup before it is restored): Ok when
/// SQLite finds nothing wrong, else the first problems it names.
pub async fn sqlite_integrity(file: &Path) -> StoreResult<Result<(), String>> {
    let mut conn = SqliteConnectOptions::new()
        .filename(file)
        .read_only(true)
        .disable_statement_logging()
        .connect()
        .await?;
    let problems: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check(10)")
        .fetch_all(&mut conn)
        .await?;
    conn.close().await?;
    Ok(match problems.as_slice() {
        [ok] if ok == "ok" => Ok(()),
        _ => Err(problems.join("; ")),
    })
}

/// Whether a PostgreSQL database holds none of Otklik's tables (a restore's target).
pub async fn postgres_is_empty(url: &str) -> StoreResult<bool> {
    let mut conn = sqlx::PgConnection::connect(url).await?;
    let taken: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = 'public' \
         AND tablename IN ('submissions', '_sqlx_migrations'))",
    )
    .fetch_one(&mut conn)
    .await?;
    conn.close().await?;
    Ok(!taken)
}

/// Makes a file written a moment ago durable: its contents, then its directory entry.
pub fn sync_file(path: &Path) -> std::io::Result<()> {
    std::fs::File::open(path)?.sync_all()?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}
