//! The ceilings `scripts/bench` measures in the same run as the server, so that every
//! figure of the real server is also a ratio (issue 13, `../shared/CEILINGS.md`). Not a
//! test: each subcommand either serves HTTP until it is killed (wrk drives it) or runs for
//! a few seconds and prints one JSON line.
//!
//!   bench_ceilings http-trivial --listen ADDR             # axum, `GET /` answers "ok"
//!   bench_ceilings group-commit --listen ADDR --db PATH   # `POST /submissions`, durable
//!   bench_ceilings sqlite-insert --db PATH --rows-per-tx N [--seconds S]
//!   bench_ceilings pg-insert --url URL --rows-per-tx N [--connections C] [--seconds S]
//!   bench_ceilings seed-voters --database-url URL --prefix P --from A --count N
//!
//! The rows are shaped like a submission's (ids, kind, status, a ~500-byte text, two
//! instants; two secondary indexes): ~600 bytes each. SQLite runs in WAL mode with
//! `synchronous=FULL`, as the server does; PostgreSQL with the server's own settings
//! (`fsync` and `synchronous_commit` on by default).
//!
//! The group-commit writer is the minimal design the issue compares the server with: the
//! HTTP handlers parse the JSON body and queue the row; one OS thread owns the SQLite
//! connection (rusqlite), takes everything waiting, writes it in one transaction, commits
//! and only then answers each request `201` with its id.
//!
//! `seed-voters` is not a ceiling: it inserts `count` verified citizens and one API
//! session each straight into the server's database (the session row stores the SHA-256
//! of its token, which is `{prefix}{i}`), so that the ballot scenario has one voter per
//! request without paying for registrations.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use clap::{Parser, Subcommand};
use serde::Deserialize;
use sha2::Digest as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The web framework alone: `GET /` answers a two-byte text.
    HttpTrivial {
        #[arg(long)]
        listen: SocketAddr,
    },
    /// `POST /submissions` (a JSON body) made durable by one writer thread that commits
    /// whatever requests are waiting in one transaction.
    GroupCommit {
        #[arg(long)]
        listen: SocketAddr,
        #[arg(long)]
        db: PathBuf,
    },
    /// Raw durable inserts into SQLite from one connection.
    SqliteInsert {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        rows_per_tx: usize,
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
    },
    /// Raw durable inserts into PostgreSQL (the table is created in the database `url`
    /// names, and dropped again).
    PgInsert {
        #[arg(long)]
        url: String,
        #[arg(long)]
        rows_per_tx: usize,
        #[arg(long, default_value_t = 1)]
        connections: u32,
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
    },
    /// Verified citizens with one API session each, inserted into the server's database.
    SeedVoters {
        #[arg(long)]
        database_url: String,
        #[arg(long)]
        prefix: String,
        #[arg(long, default_value_t = 0)]
        from: u64,
        #[arg(long)]
        count: u64,
    },
}

fn main() {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    match cli.command {
        Command::HttpTrivial { listen } => runtime.block_on(http_trivial(listen)),
        Command::GroupCommit { listen, db } => runtime.block_on(group_commit(listen, &db)),
        Command::SqliteInsert {
            db,
            rows_per_tx,
            seconds,
        } => sqlite_insert(&db, rows_per_tx.max(1), seconds),
        Command::PgInsert {
            url,
            rows_per_tx,
            connections,
            seconds,
        } => runtime.block_on(pg_insert(&url, rows_per_tx.max(1), connections, seconds)),
        Command::SeedVoters {
            database_url,
            prefix,
            from,
            count,
        } => {
            let started = Instant::now();
            if database_url.starts_with("postgres") {
                runtime.block_on(seed_voters_pg(&database_url, &prefix, from, count));
            } else {
                seed_voters_sqlite(&database_url, &prefix, from, count);
            }
            println!(
                "{{\"voters\":{count},\"seconds\":{:.3}}}",
                started.elapsed().as_secs_f64()
            );
        }
    }
}

async fn serve(listen: SocketAddr, app: Router) {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .unwrap_or_else(|e| panic!("cannot listen on {listen}: {e}"));
    println!("listening on {}", listener.local_addr().expect("address"));
    axum::serve(listener, app).await.expect("serve");
}

async fn http_trivial(listen: SocketAddr) {
    serve(listen, Router::new().route("/", get(|| async { "ok" }))).await;
}

// --- the submission-shaped rows ---------------------------------------------------------

/// What the group-commit writer's clients send: the fields of a submission.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Submit {
    kind: String,
    subcategory_id: i64,
    region_id: i64,
    text: String,
}

/// One row: the body's fields plus what a registration adds (author, organisation,
/// status, instants).
struct Row {
    author_id: i64,
    org_id: i64,
    subcategory_id: i64,
    region_id: i64,
    kind: String,
    status: &'static str,
    text: String,
    created_at: i64,
    due_at: i64,
}

const TEXT: &str = "Предлагаем продлить маршрут автобуса до нового микрорайона: сейчас до \
    остановки идти два километра по обочине без тротуара, а зимой дорогу не чистят. Жители \
    четырёх домов (около 1 200 человек) просят добавить хотя бы три рейса утром и вечером.";

fn synthetic_row(i: u64) -> Row {
    let now = unix_now();
    Row {
        author_id: (i % 10_000) as i64,
        org_id: (i % 40) as i64,
        subcategory_id: (i % 60) as i64,
        region_id: 69,
        kind: "message".to_owned(),
        status: "registered",
        text: TEXT.to_owned(),
        created_at: now,
        due_at: now + 14 * 86_400,
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

const SQLITE_SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS bench_rows (
        id             INTEGER PRIMARY KEY,
        author_id      INTEGER NOT NULL,
        org_id         INTEGER NOT NULL,
        subcategory_id INTEGER NOT NULL,
        region_id      INTEGER NOT NULL,
        kind           TEXT    NOT NULL,
        status         TEXT    NOT NULL,
        text           TEXT    NOT NULL,
        created_at     INTEGER NOT NULL,
        due_at         INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX IF NOT EXISTS bench_rows_author ON bench_rows (author_id, id);
    CREATE INDEX IF NOT EXISTS bench_rows_inbox ON bench_rows (org_id, status, id);";

const INSERT: &str = "INSERT INTO bench_rows (author_id, org_id, subcategory_id, region_id, \
    kind, status, text, created_at, due_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

/// A connection with the server's durability: WAL, `synchronous=FULL`.
fn open_sqlite(path: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).expect("open SQLite");
    conn.pragma_update(None, "journal_mode", "WAL")
        .expect("WAL");
    conn.pragma_update(None, "synchronous", "FULL")
        .expect("synchronous=FULL");
    conn.busy_timeout(Duration::from_secs(30)).expect("busy");
    conn.execute_batch(SQLITE_SCHEMA).expect("schema");
    conn
}

fn insert_row(stmt: &mut rusqlite::CachedStatement<'_>, row: &Row) -> rusqlite::Result<i64> {
    stmt.insert(rusqlite::params![
        row.author_id,
        row.org_id,
        row.subcategory_id,
        row.region_id,
        row.kind,
        row.status,
        row.text,
        row.created_at,
        row.due_at,
    ])
}

// --- the group-commit writer ------------------------------------------------------------

/// At most this many requests per transaction.
const MAX_BATCH: usize = 1_000;

struct Job {
    row: Row,
    done: tokio::sync::oneshot::Sender<Result<i64, String>>,
}

async fn group_commit(listen: SocketAddr, db: &Path) {
    let conn = open_sqlite(db);
    let (queue, jobs) = mpsc::channel::<Job>();
    std::thread::Builder::new()
        .name("writer".to_owned())
        .spawn(move || writer(conn, &jobs))
        .expect("writer thread");
    let app = Router::new()
        .route("/submissions", post(submit))
        .with_state(queue);
    serve(listen, app).await;
}

async fn submit(
    State(queue): State<mpsc::Sender<Job>>,
    Json(body): Json<Submit>,
) -> Result<(StatusCode, Json<serde_json::Value>), (StatusCode, String)> {
    let now = unix_now();
    let row = Row {
        author_id: 1,
        org_id: body.region_id % 40,
        subcategory_id: body.subcategory_id,
        region_id: body.region_id,
        kind: body.kind,
        status: "registered",
        text: body.text,
        created_at: now,
        due_at: now + 14 * 86_400,
    };
    let (done, committed) = tokio::sync::oneshot::channel();
    let unavailable = |e: String| (StatusCode::SERVICE_UNAVAILABLE, e);
    queue
        .send(Job { row, done })
        .map_err(|_| unavailable("the writer stopped".to_owned()))?;
    let id = committed
        .await
        .map_err(|_| unavailable("the writer stopped".to_owned()))?
        .map_err(unavailable)?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "id": id }))))
}

/// Takes whatever is waiting (at least one request), writes it in one transaction, and
/// answers each request after the commit.
fn writer(mut conn: rusqlite::Connection, jobs: &mpsc::Receiver<Job>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        batch.extend(jobs.try_iter().take(MAX_BATCH - 1));
        let written = (|| -> rusqlite::Result<Vec<i64>> {
            let tx = conn.transaction()?;
            let mut ids = Vec::with_capacity(batch.len());
            {
                let mut stmt = tx.prepare_cached(INSERT)?;
                for job in &batch {
                    ids.push(insert_row(&mut stmt, &job.row)?);
                }
            }
            tx.commit()?;
            Ok(ids)
        })();
        match written {
            Ok(ids) => {
                for (job, id) in batch.into_iter().zip(ids) {
                    let _ = job.done.send(Ok(id));
                }
            }
            Err(e) => {
                for job in batch {
                    let _ = job.done.send(Err(e.to_string()));
                }
            }
        }
    }
}

// --- raw insert rates -------------------------------------------------------------------

fn report(rows: u64, elapsed: Duration, extra: &str) {
    let seconds = elapsed.as_secs_f64();
    println!(
        "{{\"rows\":{rows},\"seconds\":{seconds:.3},\"rows_per_s\":{:.0}{extra}}}",
        rows as f64 / seconds
    );
}

fn sqlite_insert(db: &Path, rows_per_tx: usize, seconds: f64) {
    let mut conn = open_sqlite(db);
    let deadline = Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let mut rows = 0u64;
    while started.elapsed() < deadline {
        let tx = conn.transaction().expect("begin");
        {
            let mut stmt = tx.prepare_cached(INSERT).expect("prepare");
            for _ in 0..rows_per_tx {
                insert_row(&mut stmt, &synthetic_row(rows)).expect("insert");
                rows += 1;
            }
        }
        tx.commit().expect("commit");
    }
    report(rows, started.elapsed(), "");
}

const PG_SCHEMA: [&str; 4] = [
    "DROP TABLE IF EXISTS bench_rows",
    "CREATE TABLE bench_rows (
        id             BIGSERIAL PRIMARY KEY,
        author_id      BIGINT NOT NULL,
        org_id         BIGINT NOT NULL,
        subcategory_id BIGINT NOT NULL,
        region_id      BIGINT NOT NULL,
        kind           TEXT   NOT NULL,
        status         TEXT   NOT NULL,
        text           TEXT   NOT NULL,
        created_at     BIGINT NOT NULL,
        due_at         BIGINT NOT NULL
    )",
    "CREATE INDEX bench_rows_author ON bench_rows (author_id, id)",
    "CREATE INDEX bench_rows_inbox ON bench_rows (org_id, status, id)",
];

async fn pg_insert(url: &str, rows_per_tx: usize, connections: u32, seconds: f64) {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(connections.max(1))
        .min_connections(connections.max(1))
        .connect(url)
        .await
        .expect("connect to PostgreSQL");
    for statement in PG_SCHEMA {
        sqlx::query(statement).execute(&pool).await.expect("schema");
    }
    let settings: (String, String) =
        sqlx::query_as("SELECT current_setting('fsync'), current_setting('synchronous_commit')")
            .fetch_one(&pool)
            .await
            .expect("settings");
    let counter = Arc::new(AtomicU64::new(0));
    let deadline = Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections.max(1) {
        let (pool, counter) = (pool.clone(), counter.clone());
        tasks.push(tokio::spawn(async move {
            while started.elapsed() < deadline {
                let first = counter.fetch_add(rows_per_tx as u64, Ordering::Relaxed);
                let rows: Vec<Row> = (0..rows_per_tx as u64)
                    .map(|i| synthetic_row(first + i))
                    .collect();
                if rows_per_tx == 1 {
                    // One statement outside BEGIN: its own transaction, one commit.
                    let row = &rows[0];
                    sqlx::query(
                        "INSERT INTO bench_rows (author_id, org_id, subcategory_id, region_id, \
                         kind, status, text, created_at, due_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    )
                    .bind(row.author_id)
                    .bind(row.org_id)
                    .bind(row.subcategory_id)
                    .bind(row.region_id)
                    .bind(&row.kind)
                    .bind(row.status)
                    .bind(&row.text)
                    .bind(row.created_at)
                    .bind(row.due_at)
                    .execute(&pool)
                    .await
                    .expect("insert");
                } else {
                    // One multi-row statement: one transaction, one commit.
                    let column = |f: fn(&Row) -> i64| rows.iter().map(f).collect::<Vec<i64>>();
                    sqlx::query(
                        "INSERT INTO bench_rows (author_id, org_id, subcategory_id, region_id, \
                         kind, status, text, created_at, due_at) \
                         SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], \
                         $4::bigint[], $5::text[], $6::text[], $7::text[], $8::bigint[], \
                         $9::bigint[])",
                    )
                    .bind(column(|r| r.author_id))
                    .bind(column(|r| r.org_id))
                    .bind(column(|r| r.subcategory_id))
                    .bind(column(|r| r.region_id))
                    .bind(rows.iter().map(|r| r.kind.clone()).collect::<Vec<_>>())
                    .bind(rows.iter().map(|r| r.status.to_owned()).collect::<Vec<_>>())
                    .bind(rows.iter().map(|r| r.text.clone()).collect::<Vec<_>>())
                    .bind(column(|r| r.created_at))
                    .bind(column(|r| r.due_at))
                    .execute(&pool)
                    .await
                    .expect("insert");
                }
            }
        }));
    }
    for task in tasks {
        task.await.expect("inserter");
    }
    let elapsed = started.elapsed();
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM bench_rows")
        .fetch_one(&pool)
        .await
        .expect("count");
    sqlx::query("DROP TABLE bench_rows")
        .execute(&pool)
        .await
        .expect("drop");
    report(
        rows as u64,
        elapsed,
        &format!(
            ",\"fsync\":\"{}\",\"synchronous_commit\":\"{}\"",
            settings.0, settings.1
        ),
    );
}

// --- voters for the ballot scenario -----------------------------------------------------

/// An argon2id hash that no password matches: the voters only ever use their session.
const NO_PASSWORD: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";
const SESSION_DAYS: i64 = 2;

fn voter(prefix: &str, i: u64) -> (String, [u8; 32]) {
    let email = format!("{prefix}{i}@bench.otklik.local");
    let token = format!("{prefix}{i}");
    (email, sha2::Sha256::digest(token.as_bytes()).into())
}

fn seed_voters_sqlite(url: &str, prefix: &str, from: u64, count: u64) {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let path = path.split('?').next().unwrap_or(path);
    let mut conn = rusqlite::Connection::open(path).expect("open the server's database");
    conn.busy_timeout(Duration::from_secs(30)).expect("busy");
    let now = unix_now();
    let tx = conn.transaction().expect("begin");
    {
        let mut user = tx
            .prepare(
                "INSERT INTO users (email, password_hash, full_name, role, created_at, \
                 verification) VALUES (?1, ?2, 'Участник Голосования', 'citizen', ?3, 'verified')",
            )
            .expect("prepare users");
        let mut session = tx
            .prepare(
                "INSERT INTO sessions (token_sha256, user_id, created_at, expires_at) \
                 VALUES (?1, ?2, ?3, ?4)",
            )
            .expect("prepare sessions");
        for i in from..from + count {
            let (email, digest) = voter(prefix, i);
            let id = user
                .insert(rusqlite::params![email, NO_PASSWORD, now])
                .expect("user");
            session
                .execute(rusqlite::params![
                    &digest[..],
                    id,
                    now,
                    now + SESSION_DAYS * 86_400
                ])
                .expect("session");
        }
    }
    tx.commit().expect("commit");
}

async fn seed_voters_pg(url: &str, prefix: &str, from: u64, count: u64) {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .expect("connect to PostgreSQL");
    let now = unix_now();
    let mut tx = pool.begin().await.expect("begin");
    let mut next = from;
    while next < from + count {
        let end = (next + 5_000).min(from + count);
        let (emails, digests): (Vec<String>, Vec<Vec<u8>>) = (next..end)
            .map(|i| {
                let (email, digest) = voter(prefix, i);
                (email, digest.to_vec())
            })
            .unzip();
        // RETURNING promises no order: each id is paired with its e-mail, hence its token.
        let by_email: std::collections::HashMap<String, i64> = sqlx::query_as(
            "INSERT INTO users (email, password_hash, full_name, role, created_at, verification) \
             SELECT e, $2, 'Участник Голосования', 'citizen', $3, 'verified' \
             FROM UNNEST($1::text[]) AS t (e) RETURNING email, id",
        )
        .bind(&emails)
        .bind(NO_PASSWORD)
        .bind(now)
        .fetch_all(&mut *tx)
        .await
        .expect("users")
        .into_iter()
        .collect();
        let users: Vec<i64> = emails.iter().map(|e| by_email[e]).collect();
        sqlx::query(
            "INSERT INTO sessions (token_sha256, user_id, created_at, expires_at) \
             SELECT d, u, $3, $4 FROM UNNEST($1::bytea[], $2::bigint[]) AS t (d, u)",
        )
        .bind(&digests)
        .bind(&users)
        .bind(now)
        .bind(now + SESSION_DAYS * 86_400)
        .execute(&mut *tx)
        .await
        .expect("sessions");
        next = end;
    }
    tx.commit().await.expect("commit");
}
