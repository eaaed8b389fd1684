//! The embedded backend: one SQLite file in WAL mode.
//!
//! Writes go through a pool of exactly one connection, so write transactions queue in the
//! process instead of failing with `SQLITE_BUSY`, and each opens with `BEGIN IMMEDIATE`
//! so that another process (a CLI command) is waited for at the start rather than in the
//! middle. Reads use their own pool and never wait for writes (WAL). `synchronous=FULL`:
//! a transaction is on disk before its success is reported.

use crate::admin_sql::impl_admin;
use crate::analytics_sql::impl_analytics;
use crate::common::impl_store;
use crate::delivery_sql::impl_deliveries;
use crate::discussions_sql::impl_discussions;
use crate::documents_sql::impl_documents;
use crate::exports_sql::impl_export_jobs;
use crate::identity_sql::impl_identity;
use crate::ledger_sql::impl_ledger;
use crate::merge_sql::impl_duplicates;
use crate::notify_sql::impl_notifications;
use crate::polls_sql::impl_polls;
use crate::quality_sql::impl_quality_feed;
use crate::register_sql::impl_register;
use crate::search_sql::impl_search_feed;
use crate::social_sql::impl_social;
use crate::templates_sql::impl_answer_templates;
use crate::{StoreError, StoreResult};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::path::Path;
use std::time::Duration;

/// How long a connection waits for a lock held by another process.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
const READERS: u32 = 4;
/// How often opening is tried again when the file is locked (100 ms apart).
const OPEN_ATTEMPTS: u32 = 50;
/// Below this many submissions the planner's choice does not matter.
const STATISTICS_MIN_ROWS: i64 = 10_000;

#[derive(Debug, Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    calendars: std::sync::Arc<crate::calendars::CalendarCache>,
    regions: std::sync::Arc<crate::reference::Kept<Vec<crate::Region>>>,
    catalogue: std::sync::Arc<crate::reference::Kept<Vec<crate::Category>>>,
    /// The group writer of registrations; None in the writer's own copy.
    registrar: Option<crate::register_sql::Registrar>,
    /// The group writer of status changes (`common::Apply`); None in its own copy.
    applier: Option<crate::common::Applier>,
    /// Analytics sums of finished periods, read once (`analytics_cache`).
    analytics_cache: std::sync::Arc<crate::analytics_cache::AnalyticsCache>,
}

impl SqliteStore {
    /// SQLite's `list_counts` hold one row per key, updated in place by the triggers (one
    /// writer: nothing waits for them), so there is nothing to fold.
    pub(crate) const COMPACT_COUNTS: Option<&'static str> = None;

    /// Ids for `n` new rows of `table` (an AUTOINCREMENT table): the next after both
    /// the highest ever handed out and the highest present. The transaction's write lock
    /// (`BEGIN IMMEDIATE`) keeps them ours until it commits.
    async fn reserve_ids(
        conn: &mut sqlx::SqliteConnection,
        table: &'static str,
        n: usize,
    ) -> StoreResult<Vec<i64>> {
        let last: i64 = sqlx::query_scalar(&format!(
            "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = '{table}'), 0), \
                        COALESCE((SELECT MAX(id) FROM {table}), 0))"
        ))
        .fetch_one(&mut *conn)
        .await?;
        Ok((1..).take(n).map(|i| last + i).collect())
    }

    /// No server session: the database runs in this process.
    async fn write_session(
        _conn: &mut sqlx::SqliteConnection,
    ) -> StoreResult<Option<crate::polls_sql::ServerSession>> {
        Ok(None)
    }

    /// Nothing to wait for: once a commit's call has returned, the commit is over (and a
    /// failed one rolled back: by SQLite, or by the transaction's drop).
    async fn await_session_end(
        &self,
        _session: Option<crate::polls_sql::ServerSession>,
    ) -> StoreResult<()> {
        Ok(())
    }

    /// Nothing to lock: `BEGIN IMMEDIATE` already serialises every write.
    async fn social_cluster_locks(
        _conn: &mut sqlx::SqliteConnection,
        _keys: &[i64],
    ) -> StoreResult<()> {
        Ok(())
    }

    /// Opens (creating when missing, with its directory) the database file at `path` and
    /// applies the migrations. `:memory:` opens a private in-memory database (for tests):
    /// one connection, shared by writes and reads, that lives as long as the store.
    pub async fn open(path: &str) -> StoreResult<Self> {
        if path == ":memory:" {
            return Self::open_in_memory().await;
        }
        // A command run beside a live server may meet its locks while opening (the
        // migrations' checks, the statistics): it waits them out rather than failing.
        let mut attempts = 0;
        loop {
            match Self::open_file(path).await {
                Err(e) if e.is_busy() && attempts < OPEN_ATTEMPTS => {
                    attempts += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                opened => return opened,
            }
        }
    }

    async fn open_file(path: &str) -> StoreResult<Self> {
        if let Some(dir) = Path::new(path).parent() {
            if !dir.as_os_str().is_empty() {
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
            }
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        // An in-process database cannot lose its connection: no ping before each use
        // (one round trip to the connection's worker thread per query saved).
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(READERS)
            .test_before_acquire(false)
            .connect_with(options)
            .await?;
        let store = Self {
            writer,
            reader,
            calendars: Default::default(),
            regions: Default::default(),
            catalogue: Default::default(),
            registrar: None,
            applier: None,
            analytics_cache: Default::default(),
        };
        store.refresh_statistics().await?;
        Ok(store.with_registrar().with_applier())
    }

    async fn open_in_memory() -> StoreResult<Self> {
        let options = SqliteConnectOptions::new()
            .in_memory(true)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .test_before_acquire(false)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(Self {
            writer: pool.clone(),
            reader: pool,
            calendars: Default::default(),
            regions: Default::default(),
            catalogue: Default::default(),
            registrar: None,
            applier: None,
            analytics_cache: Default::default(),
        }
        .with_registrar()
        .with_applier())
    }

    /// Keeps the planner's statistics in step with the size of `submissions`: a full
    /// `ANALYZE` when there are none or when the table has grown more than fourfold since
    /// (sampled statistics misled the planner; without any, the due lists scan millions
    /// of rows instead of reading one index range), then `PRAGMA optimize` for the rest.
    /// A full ANALYZE reads every index once: ~0.1 s per 300 000 submissions.
    ///
    /// It runs in one `BEGIN IMMEDIATE` transaction: `PRAGMA optimize` reads the schema
    /// and then writes statistics, and a read upgraded to a write fails at once with
    /// `SQLITE_BUSY` (no waiting) when a server running beside this process (a CLI
    /// command) committed in between. Taking the write lock first waits instead.
    async fn refresh_statistics(&self) -> StoreResult<()> {
        let mut conn = self.writer.acquire().await?;
        sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
        let refreshed = Self::refresh_statistics_in(&mut conn).await;
        let end = if refreshed.is_ok() {
            "COMMIT"
        } else {
            "ROLLBACK"
        };
        sqlx::query(end).execute(&mut *conn).await?;
        refreshed
    }

    async fn refresh_statistics_in(conn: &mut sqlx::SqliteConnection) -> StoreResult<()> {
        let has_stats: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'",
        )
        .fetch_one(&mut *conn)
        .await?;
        let estimate: Option<i64> = if has_stats > 0 {
            sqlx::query_scalar::<_, String>(
                "SELECT stat FROM sqlite_stat1 WHERE tbl = 'submissions' \
                 AND idx = 'submissions_author'",
            )
            .fetch_optional(&mut *conn)
            .await?
            .and_then(|stat| stat.split(' ').next().and_then(|n| n.parse().ok()))
        } else {
            None
        };
        let rows: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM submissions")
            .fetch_one(&mut *conn)
            .await?;
        let stale = match estimate {
            None => true,
            Some(estimate) => rows > STATISTICS_MIN_ROWS && rows > estimate.saturating_mul(4),
        };
        if stale {
            sqlx::query("ANALYZE").execute(&mut *conn).await?;
        }
        sqlx::query("PRAGMA optimize").execute(&mut *conn).await?;
        Ok(())
    }

    fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    fn reader(&self) -> &SqlitePool {
        &self.reader
    }

    /// Closes both pools, waiting for the connections to finish.
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}

impl_duplicates! {
    store: SqliteStore,
    db: sqlx::Sqlite,
    write: writer,
    read: reader,
    lock: "",
    begin_write: "BEGIN IMMEDIATE",
}

impl_register! {
    store: SqliteStore,
    db: sqlx::Sqlite,
    write: writer,
    begin_write: "BEGIN IMMEDIATE",
}

impl_store! {
    store: SqliteStore,
    db: sqlx::Sqlite,
    write: writer,
    read: reader,
    // One writer connection and `BEGIN IMMEDIATE`: the row cannot change under `apply`.
    lock: "",
    begin_write: "BEGIN IMMEDIATE",
    begin_read: "BEGIN",
    backend: "sqlite",
}

impl_admin! {
    store: SqliteStore,
    db: sqlx::Sqlite,
    write: writer,
    read: reader,
    lock: "",
    begin_write: "BEGIN IMMEDIATE",
    begin_read: "BEGIN",
}

impl_identity! {
    store: SqliteStore,
    db: sqlx::Sqlite,
    write: writer,
    read: reader,
    begin_write: "BEGIN IMMEDIATE",
}

impl_deliveries! {
    store: SqliteStore,
    db: sqlx::Sqlite,
    write: writer,
    read: reader,
    begin_write: "BEGIN IMMEDIATE",
    lock_row: "",
    skip_locked: "",
}

impl_notifications! {
    store: SqliteStore,
    db: sqlx::Sqlite,
    write: writer,
    read: reader,
    begin_write: "BEGIN IMMEDIATE",
    skip_locked: "",
}

impl_documents! {
    store: SqliteStore,
    db: sqlx::Sqlite,
    write: writer,
    read: reader,
    begin_write: "BEGIN IMMEDIATE",
    lock: "",
}

impl_polls! {
    store: SqliteStore,
    db: sqlx::Sqlite,
    write: writer,
    read: reader,
    begin_write: "BEGIN IMMEDIATE",
    lock: "",
}

impl_discussions! {
    store: SqliteStore,
    db: sqlx::Sqlite,
    write: writer,
    read: reader,
    begin_write: "BEGIN IMMEDIATE",
    lock: "",
}

impl_search_feed! {
    store: SqliteStore,
    db: sqlx::Sqlite,
    read: reader,
}

impl_answer_templates! {
    store: SqliteStore,
    db: sqlx::Sqlite,
    write: writer,
    read: reader,
}

impl_ledger! {
    store: SqliteStore,
    db: sqlx::Sqlite,
    write: writer,
    read: reader,
    lock: "",
    begin_write: "BEGIN IMMEDIATE",
    begin_read: "BEGIN",
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    /// Both pools run with the durability and integrity settings, and the file and its
    /// directory are created.
    #[tokio::test]
    async fn opens_with_wal_full_sync_and_foreign_keys() {
        let dir = std::env::temp_dir().join(format!("otklik-store-{}-pragmas", std::process::id()));
        let path = dir.join("nested").join("otklik.db");
        let store = SqliteStore::open(path.to_str().unwrap()).await.unwrap();
        assert!(path.exists());
        for pool in [store.writer(), store.reader()] {
            let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
                .fetch_one(pool)
                .await
                .unwrap();
            let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
                .fetch_one(pool)
                .await
                .unwrap();
            let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
                .fetch_one(pool)
                .await
                .unwrap();
            let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
                .fetch_one(pool)
                .await
                .unwrap();
            assert_eq!((mode.as_str(), sync, fk, busy), ("wal", 2, 1, 10_000));
        }
        store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn in_memory_database_is_one_connection_for_all() {
        use crate::Store;
        let store = SqliteStore::open(":memory:").await.unwrap();
        assert!(!store.has_users().await.unwrap());
        let secret = store.server_secret(&[5u8; 32]).await.unwrap();
        assert_eq!(store.server_secret(&[6u8; 32]).await.unwrap(), secret);
        let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(store.reader())
            .await
            .unwrap();
        assert_eq!(fk, 1);
    }
}

impl_analytics! {
    store: SqliteStore,
    db: sqlx::Sqlite,
    write: writer,
    read: reader,
    begin_write: "BEGIN IMMEDIATE",
    begin_read: "BEGIN",
    lock: "",
}

impl_quality_feed! {
    store: SqliteStore,
    db: sqlx::Sqlite,
    write: writer,
    read: reader,
}

impl_export_jobs! {
    store: SqliteStore,
    db: sqlx::Sqlite,
    write: writer,
    read: reader,
    begin_write: "BEGIN IMMEDIATE",
}

impl_social! {
    store: SqliteStore,
    db: sqlx::Sqlite,
    write: writer,
    read: reader,
    begin_write: "BEGIN IMMEDIATE",
}
