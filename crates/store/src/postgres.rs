//! The PostgreSQL backend, for installations with several nodes.
//!
//! `apply` locks the submission row (`SELECT … FOR UPDATE`) so that two nodes acting on
//! one submission at once are serialised, and the second decides on the state the first
//! left. Multi-query reads run in one `REPEATABLE READ` snapshot.

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
use crate::StoreResult;
use sqlx::postgres::{PgPool, PgPoolOptions};
use std::time::Duration;

const CONNECTIONS: u32 = 16;
/// How long a session whose commit lost its answer is waited for, before and after it is
/// terminated.
const SESSION_END_WAIT: Duration = Duration::from_secs(10);

/// A session's start in microseconds since 1970 (a row of `pg_stat_get_activity`).
macro_rules! session_start_us {
    () => {
        "(EXTRACT(EPOCH FROM backend_start) * 1000000)::int8"
    };
}

#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    calendars: std::sync::Arc<crate::calendars::CalendarCache>,
    regions: std::sync::Arc<crate::reference::Kept<Vec<crate::Region>>>,
    catalogue: std::sync::Arc<crate::reference::Kept<Vec<crate::Category>>>,
    /// The group writer of registrations; None in the writer's own copy.
    registrar: Option<crate::register_sql::Registrar>,
    /// Always None: each status change is its own transaction here (see `common::Apply`).
    applier: Option<crate::common::Applier>,
    /// Analytics sums of finished periods, read once (`analytics_cache`).
    analytics_cache: std::sync::Arc<crate::analytics_cache::AnalyticsCache>,
}

impl PgStore {
    /// Folds each key's fresh deltas of `list_counts` (with its folded row) into one row,
    /// in one statement: readers see the rows before or after it, never a mix. A delta
    /// committed after the statement's snapshot is neither read nor deleted, so it stays
    /// for the next fold; a second node folding at the same time skips the rows this one
    /// deleted (and sums only what it deleted itself). Keys that sum to zero go.
    pub(crate) const COMPACT_COUNTS: Option<&'static str> = Some(
        "WITH fresh AS (SELECT DISTINCT scope, scope_id, status FROM list_counts \
                        WHERE NOT compacted), \
              gone AS (DELETE FROM list_counts l USING fresh f \
                       WHERE l.scope = f.scope AND l.scope_id = f.scope_id \
                         AND l.status = f.status \
                       RETURNING l.scope, l.scope_id, l.status, l.n), \
              folded AS (INSERT INTO list_counts (scope, scope_id, status, n, compacted) \
                         SELECT scope, scope_id, status, SUM(n), TRUE FROM gone \
                         GROUP BY scope, scope_id, status HAVING SUM(n) <> 0) \
         SELECT COUNT(*) FROM gone",
    );

    /// Connects to the database at `url` and applies the migrations (several nodes may
    /// start at once: the migrator serialises them with an advisory lock).
    pub async fn open(url: &str) -> StoreResult<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(CONNECTIONS)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(Self {
            pool,
            calendars: Default::default(),
            regions: Default::default(),
            catalogue: Default::default(),
            registrar: None,
            applier: None,
            analytics_cache: Default::default(),
        }
        .with_registrar())
    }

    /// Ids for `n` new rows of `table` from its identity sequence, ascending.
    async fn reserve_ids(
        conn: &mut sqlx::PgConnection,
        table: &'static str,
        n: usize,
    ) -> StoreResult<Vec<i64>> {
        let count =
            i64::try_from(n).map_err(|_| crate::StoreError::InvalidReference("too_many_rows"))?;
        let mut ids: Vec<i64> = sqlx::query_scalar(
            "SELECT nextval(pg_get_serial_sequence($1, 'id')) FROM generate_series(1, $2)",
        )
        .bind(table)
        .bind(count)
        .fetch_all(&mut *conn)
        .await?;
        ids.sort_unstable();
        Ok(ids)
    }

    /// Serialises the social ingests that could cluster posts into the same incidents:
    /// one transaction-scoped advisory lock per `(subcategory, region)` key, taken in
    /// ascending order so that two batches never wait on each other in a cycle. Without
    /// it two nodes could each miss the other's new incident and open a second one.
    async fn social_cluster_locks(conn: &mut sqlx::PgConnection, keys: &[i64]) -> StoreResult<()> {
        for key in keys {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(key)
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }

    /// The server session this connection runs in (one query per batch of ballots).
    async fn write_session(
        conn: &mut sqlx::PgConnection,
    ) -> StoreResult<Option<crate::polls_sql::ServerSession>> {
        let (pid, started_us) = sqlx::query_as::<_, (i32, i64)>(concat!(
            "SELECT pid, ",
            session_start_us!(),
            " FROM pg_stat_get_activity(pg_backend_pid())"
        ))
        .fetch_one(conn)
        .await?;
        Ok(Some(crate::polls_sql::ServerSession { pid, started_us }))
    }

    /// Returns once `session` is over: gone by itself within `SESSION_END_WAIT`, else
    /// terminated and gone within as long again. A backend commits only while it runs (and
    /// makes a commit visible before it answers), so once it is gone its transaction is
    /// committed or rolled back for good, and every read that starts afterwards sees which.
    /// A session whose client lost its connection usually ends within milliseconds: it
    /// reads the end of the stream and exits.
    async fn await_session_end(
        &self,
        session: Option<crate::polls_sql::ServerSession>,
    ) -> StoreResult<()> {
        let Some(session) = session else {
            return Ok(());
        };
        for terminate in [false, true] {
            if terminate {
                sqlx::query(concat!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_get_activity($1) WHERE ",
                    session_start_us!(),
                    " = $2"
                ))
                .bind(session.pid)
                .bind(session.started_us)
                .execute(&self.pool)
                .await?;
            }
            let deadline = tokio::time::Instant::now() + SESSION_END_WAIT;
            loop {
                // Each query its own transaction: a fresh view of the server's sessions.
                let running: bool = sqlx::query_scalar(concat!(
                    "SELECT EXISTS (SELECT 1 FROM pg_stat_get_activity($1) WHERE ",
                    session_start_us!(),
                    " = $2)"
                ))
                .bind(session.pid)
                .bind(session.started_us)
                .fetch_one(&self.pool)
                .await?;
                if !running {
                    return Ok(());
                }
                if tokio::time::Instant::now() >= deadline {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        Err(crate::StoreError::Conflict("session_still_running"))
    }

    /// Autovacuum keeps PostgreSQL's statistics.
    async fn refresh_statistics(&self) -> StoreResult<()> {
        Ok(())
    }

    fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Closes the pool, waiting for the connections to finish.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

impl_duplicates! {
    store: PgStore,
    db: sqlx::Postgres,
    write: pool,
    read: pool,
    lock: " FOR UPDATE",
    begin_write: "BEGIN",
}

impl_register! {
    store: PgStore,
    db: sqlx::Postgres,
    write: pool,
    begin_write: "BEGIN",
}

impl_store! {
    store: PgStore,
    db: sqlx::Postgres,
    write: pool,
    read: pool,
    lock: " FOR UPDATE",
    begin_write: "BEGIN",
    begin_read: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    backend: "postgres",
}
impl_admin! {
    store: PgStore,
    db: sqlx::Postgres,
    write: pool,
    read: pool,
    lock: " FOR UPDATE",
    begin_write: "BEGIN",
    begin_read: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
}

impl_identity! {
    store: PgStore,
    db: sqlx::Postgres,
    write: pool,
    read: pool,
    begin_write: "BEGIN",
}

impl_deliveries! {
    store: PgStore,
    db: sqlx::Postgres,
    write: pool,
    read: pool,
    begin_write: "BEGIN",
    lock_row: " FOR UPDATE",
    skip_locked: " FOR UPDATE OF d SKIP LOCKED",
}

impl_notifications! {
    store: PgStore,
    db: sqlx::Postgres,
    write: pool,
    read: pool,
    begin_write: "BEGIN",
    skip_locked: " FOR UPDATE SKIP LOCKED",
}

impl_documents! {
    store: PgStore,
    db: sqlx::Postgres,
    write: pool,
    read: pool,
    begin_write: "BEGIN",
    lock: " FOR UPDATE",
}

impl_polls! {
    store: PgStore,
    db: sqlx::Postgres,
    write: pool,
    read: pool,
    begin_write: "BEGIN",
    lock: " FOR UPDATE",
}

impl_discussions! {
    store: PgStore,
    db: sqlx::Postgres,
    write: pool,
    read: pool,
    begin_write: "BEGIN",
    lock: " FOR UPDATE",
}

impl_search_feed! {
    store: PgStore,
    db: sqlx::Postgres,
    read: pool,
}

impl_answer_templates! {
    store: PgStore,
    db: sqlx::Postgres,
    write: pool,
    read: pool,
}

impl_ledger! {
    store: PgStore,
    db: sqlx::Postgres,
    write: pool,
    read: pool,
    lock: " FOR UPDATE",
    begin_write: "BEGIN",
    begin_read: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
}

impl_analytics! {
    store: PgStore,
    db: sqlx::Postgres,
    write: pool,
    read: pool,
    begin_write: "BEGIN",
    begin_read: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    lock: " FOR UPDATE",
}

impl_quality_feed! {
    store: PgStore,
    db: sqlx::Postgres,
    write: pool,
    read: pool,
}

impl_export_jobs! {
    store: PgStore,
    db: sqlx::Postgres,
    write: pool,
    read: pool,
    begin_write: "BEGIN",
}

impl_social! {
    store: PgStore,
    db: sqlx::Postgres,
    write: pool,
    read: pool,
    begin_write: "BEGIN",
}
