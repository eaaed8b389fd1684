//! The list exports benchmark (`scripts/bench-exports`): exporting a list of `n`
//! submissions costs bounded memory. The real server (release build, demo data, SQLite in
//! a temporary directory) runs in this process and is driven over HTTP on loopback, as a
//! browser would: signed in as the demo operator (whose list is everything), it
//! downloads the list three ways, one after the other:
//!
//! 1. `GET /submissions/export.csv`: streamed as it is read, in keyset chunks.
//! 2. `GET /submissions/export.xlsx`: written in constant memory to a temporary file,
//!    then streamed (the first byte comes once the file is written).
//! 3. The background job: `POST /exports` (CSV), `GET /exports/{id}` every 250 ms until
//!    it says «Готово», then `GET /exports/{id}/file` (the parts, one at a time).
//!
//! Not a test: it prints figures for docs/BENCHMARKS.md, one per line.
//!
//!   bench_exports <submissions>
//!
//! The `n` synthetic submissions are inserted with SQL straight into the database file
//! (100 000 per statement, from a recursive CTE; no events, no log entries: the list
//! export reads neither), in Тверская область, by the demo citizen, along the demo's
//! routes, over two years that end 31 days ago (so every deadline has passed and two
//! exports a minute apart write the same bytes); then the planner's statistics are
//! refreshed as the monitor would. The monitor itself is kept quiet (one pass a day), so
//! only the exports run.
//!
//! Each body is read chunk by chunk and only counted (bytes, lines), never kept. For each
//! export: wall time, rows per second, bytes, and the peak resident memory of the whole
//! process (server, SQLite and client) during it, over the baseline (the resident set
//! after the insert, before the first export). The peak is `VmHWM` of /proc/self/status,
//! reset at the start of each export by writing 5 to /proc/self/clear_refs; where that
//! is refused, the maximum of `VmRSS` sampled every 50 ms. MB are 10^6 bytes.
//!
//! Memory that does not grow with the list shows as the same peaks for 100 000 and for
//! 1 000 000 submissions: `scripts/bench-exports` runs both sizes, each in a fresh
//! process with a fresh database.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use sqlx::{ConnectOptions as _, Connection as _};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PASSWORD: &str = "bench-pass-2026";
const OPERATOR: &str = "operator@demo.otklik.local";
const CITIZEN: &str = "ivan.petrov@demo.otklik.local";
const REGION: &str = "Тверская область";
/// Rows inserted per statement.
const BATCH: u64 = 100_000;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, n] = args.as_slice() else {
        eprintln!("usage: bench_exports <submissions>");
        std::process::exit(2);
    };
    let n: u64 = n.parse().expect("submissions");
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().join("data");
    let running = otklik::start(otklik::ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        database: otklik::Database {
            data_dir: data_dir.clone(),
            url: None,
        },
        demo: true,
        demo_password: Some(PASSWORD.to_owned()),
        web: otklik_web::WebConfig {
            rate_limits: otklik_web::config::RateLimits::unlimited(),
            ..Default::default()
        },
        log: otklik::LogConfig {
            key_file: dir.path().join("log.key"),
            alg: otklik_log::HashAlg::Sha256,
            tree_head_interval: Duration::from_secs(1),
        },
        monitor: otklik::MonitorConfig {
            interval: Duration::from_secs(86_400),
            ..Default::default()
        },
        notifications: otklik_notify::NotifyConfig::default(),
        social: Default::default(),
    })
    .await
    .expect("server starts");
    let base = format!("http://{}", running.addr);
    println!("backend: {}", running.store.backend());

    let db_file = data_dir.join("otklik.db");
    let started = Instant::now();
    let demo = insert_submissions(&db_file, n).await;
    let elapsed = started.elapsed();
    running.store.optimize().await.expect("statistics");
    let total = n + demo;
    println!(
        "insert {} submissions: {:.1} s, {} rows/s, database {} MB",
        n,
        elapsed.as_secs_f64(),
        grouped(n as f64 / elapsed.as_secs_f64()),
        grouped(file_size(&db_file) as f64 / 1e6),
    );
    println!("list: {n} synthetic + {demo} demo = {total} submissions");

    let sampler = Sampler::start();
    let clear_refs = reset_peak();
    let baseline = memory().rss;
    println!("baseline RSS after the insert: {} MB", mb(baseline));

    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    login(&client, &base).await;

    // 1. CSV, streamed.
    let phase = Phase::begin(&sampler);
    let response = client
        .get(format!("{base}/submissions/export.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let first = phase.started.elapsed();
    let csv = drain(response).await;
    let (elapsed, rss) = phase.end(&sampler);
    assert_eq!(csv.lines, total + 1, "the header and every submission");
    report(
        "csv",
        total,
        elapsed,
        csv.bytes,
        baseline,
        rss,
        &format!("first byte after {}", seconds(first)),
    );

    // 2. XLSX: the file first, then the stream.
    let phase = Phase::begin(&sampler);
    let response = client
        .get(format!("{base}/submissions/export.xlsx"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let first = phase.started.elapsed();
    let xlsx = drain(response).await;
    let (elapsed, rss) = phase.end(&sampler);
    assert_eq!(&xlsx.head, b"PK\x03\x04", "a zip file");
    report(
        "xlsx",
        total,
        elapsed,
        xlsx.bytes,
        baseline,
        rss,
        &format!(
            "file written in {} before the first byte, streamed in {}",
            seconds(first),
            seconds(elapsed - first)
        ),
    );

    // 3. The background job: asked for, watched until done, downloaded.
    let phase = Phase::begin(&sampler);
    let csrf = csrf_in(&page(&client, &format!("{base}/exports")).await);
    let asked = client
        .post(format!("{base}/exports"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("format", "csv"),
            ("status", ""),
            ("category", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), 303, "to the job's page");
    let job = asked.headers()["location"].to_str().unwrap().to_owned();
    loop {
        let html = page(&client, &format!("{base}{job}")).await;
        if html.contains("Готово") {
            break;
        }
        assert!(!html.contains("Не удалось"), "the export failed: {html}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let written = phase.started.elapsed();
    let response = client
        .get(format!("{base}{job}/file"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let file = drain(response).await;
    let (elapsed, rss) = phase.end(&sampler);
    assert_eq!(file.lines, csv.lines, "the same rows as the streamed file");
    assert_eq!(file.bytes, csv.bytes, "the same bytes as the streamed file");
    report(
        "job csv",
        total,
        elapsed,
        file.bytes,
        baseline,
        rss,
        &format!(
            "written in {} from POST to «Готово», downloaded in {}",
            seconds(written),
            seconds(elapsed - written)
        ),
    );

    println!(
        "peak measured by: {}",
        if clear_refs {
            "VmHWM, reset through /proc/self/clear_refs before each export"
        } else {
            "VmRSS sampled every 50 ms (/proc/self/clear_refs refused)"
        }
    );
    sampler.stop();
    running.stop().await;
}

/// Inserts `n` submissions straight into the database file, `BATCH` per statement;
/// returns how many submissions there were before (the demo's).
async fn insert_submissions(db_file: &std::path::Path, n: u64) -> u64 {
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(db_file)
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(30))
        .connect()
        .await
        .expect("the database file");
    let demo: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM submissions")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let region: i64 = sqlx::query_scalar("SELECT id FROM regions WHERE name = ?1")
        .bind(REGION)
        .fetch_one(&mut conn)
        .await
        .expect("the demo region");
    let author: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = ?1")
        .bind(CITIZEN)
        .fetch_one(&mut conn)
        .await
        .expect("the demo citizen");
    // The region's routes (subcategory → organisation), numbered from 0.
    sqlx::query(
        "CREATE TEMP TABLE bench_routes \
         (i INTEGER PRIMARY KEY, subcategory_id INTEGER NOT NULL, org_id INTEGER NOT NULL)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO bench_routes (i, subcategory_id, org_id) \
         SELECT row_number() OVER (ORDER BY id) - 1, subcategory_id, org_id \
         FROM routes WHERE region_id = ?1",
    )
    .bind(region)
    .execute(&mut conn)
    .await
    .unwrap();
    let routes: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM bench_routes")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(routes > 0, "the demo has routes in {REGION}");
    // Two years of submissions in the order of their ids, ending 31 days ago.
    let end = time::OffsetDateTime::now_utc().unix_timestamp() - 31 * 86_400;
    let step = ((730 * 86_400) / n.max(1) as i64).max(1);
    let start = end - step * n as i64;
    let sql = "INSERT INTO submissions (kind, author_id, subcategory_id, region_id, org_id, \
                   status, round, rating, text, fields_json, created_at, deadline_at, \
                   updated_at, route, term_started_at, pauses, channel) \
               WITH RECURSIVE seq(x) AS (SELECT ?1 UNION ALL SELECT x + 1 FROM seq WHERE x + 1 < ?2), \
                   made(x, at, status) AS (SELECT x, ?3 + x * ?4, CASE x % 20 \
                       WHEN 0 THEN 'registered' WHEN 1 THEN 'in_progress' \
                       WHEN 2 THEN 'awaiting_clarification' WHEN 3 THEN 'reopened' \
                       WHEN 4 THEN 'rejected' WHEN 5 THEN 'rated' WHEN 6 THEN 'rated' \
                       WHEN 7 THEN 'rated' ELSE 'answered' END FROM seq) \
               SELECT CASE WHEN x % 7 = 0 THEN 'appeal' ELSE 'message' END, ?5, \
                   r.subcategory_id, ?6, r.org_id, status, \
                   CASE status WHEN 'reopened' THEN 2 ELSE 1 END, \
                   CASE status WHEN 'rated' THEN 1 + x % 5 END, \
                   'Синтетическое обращение для бенчмарка выгрузок, № ' || x, '{}', \
                   at, at + 30 * 86400, at + 3 * 86400, 'region', at, '[]', \
                   CASE x % 20 WHEN 0 THEN 'widget' WHEN 1 THEN 'api' WHEN 2 THEN 'open311' \
                       ELSE 'portal' END \
               FROM made JOIN bench_routes r ON r.i = x % ?7";
    let mut from = 0;
    while from < n {
        let to = (from + BATCH).min(n);
        let done = sqlx::query(sql)
            .bind(from as i64)
            .bind(to as i64)
            .bind(start)
            .bind(step)
            .bind(author)
            .bind(region)
            .bind(routes)
            .execute(&mut conn)
            .await
            .unwrap();
        assert_eq!(done.rows_affected(), to - from);
        from = to;
    }
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    demo as u64
}

/// Signs in as the operator through the login page, its CSRF token first.
async fn login(client: &reqwest::Client, base: &str) {
    let csrf = csrf_in(&page(client, &format!("{base}/login")).await);
    let response = client
        .post(format!("{base}/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", OPERATOR),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303, "the operator signs in");
}

async fn page(client: &reqwest::Client, url: &str) -> String {
    let response = client.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200, "{url}");
    response.text().await.unwrap()
}

/// The CSRF token of the first form on a page.
fn csrf_in(html: &str) -> String {
    let marker = r#"name="csrf" value=""#;
    let start = html.find(marker).expect("a csrf input") + marker.len();
    let end = start + html[start..].find('"').unwrap();
    html[start..end].to_owned()
}

/// What a body held, counted as it went by.
struct Drained {
    bytes: u64,
    lines: u64,
    head: [u8; 4],
}

async fn drain(mut response: reqwest::Response) -> Drained {
    let mut drained = Drained {
        bytes: 0,
        lines: 0,
        head: [0; 4],
    };
    while let Some(chunk) = response.chunk().await.unwrap() {
        for (i, b) in chunk.iter().take(4).enumerate() {
            if let Some(slot) = drained.head.get_mut(drained.bytes as usize + i) {
                *slot = *b;
            }
        }
        drained.bytes += chunk.len() as u64;
        drained.lines += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
    }
    drained
}

/// Resident memory of this process, in bytes.
struct Memory {
    rss: u64,
    hwm: u64,
}

fn memory() -> Memory {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let field = |name: &str| -> u64 {
        let line = status
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} in /proc/self/status"));
        let kb: u64 = line[name.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .unwrap();
        kb * 1024
    };
    Memory {
        rss: field("VmRSS:"),
        hwm: field("VmHWM:"),
    }
}

/// Resets the high-water mark to the current resident set; false where refused.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The maximum of `VmRSS` sampled every 50 ms on a thread of its own, since the last
/// reset: the fallback when the high-water mark cannot be reset.
struct Sampler {
    max: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl Sampler {
    fn start() -> Self {
        let max = Arc::new(AtomicU64::new(memory().rss));
        let stop = Arc::new(AtomicBool::new(false));
        let (m, s) = (max.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                m.fetch_max(memory().rss, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        Self { max, stop, thread }
    }

    fn reset(&self) {
        self.max.store(memory().rss, Ordering::Relaxed);
    }

    fn peak(&self) -> u64 {
        self.max.load(Ordering::Relaxed).max(memory().rss)
    }

    fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap();
    }
}

/// One export: its clock and the peak of memory during it.
struct Phase {
    started: Instant,
    reset: bool,
    /// The resident set when it began.
    start: u64,
}

impl Phase {
    fn begin(sampler: &Sampler) -> Self {
        let reset = reset_peak();
        sampler.reset();
        Self {
            started: Instant::now(),
            reset,
            start: memory().rss,
        }
    }

    /// The wall time, and the resident set at the start and at its peak.
    fn end(&self, sampler: &Sampler) -> (Duration, Rss) {
        let elapsed = self.started.elapsed();
        let peak = if self.reset {
            memory().hwm
        } else {
            sampler.peak()
        };
        (
            elapsed,
            Rss {
                start: self.start,
                peak,
            },
        )
    }
}

/// The resident set during an export: at its start and at its peak.
struct Rss {
    start: u64,
    peak: u64,
}

fn report(
    what: &str,
    rows: u64,
    elapsed: Duration,
    bytes: u64,
    baseline: u64,
    rss: Rss,
    details: &str,
) {
    let over = rss.peak as i64 - baseline as i64;
    println!(
        "{what} {rows} rows: {:.1} s, {} rows/s, {} MB, peak RSS {}{} MB over baseline \
         (baseline {} MB, at the start {} MB, peak {} MB, after {} MB; {details})",
        elapsed.as_secs_f64(),
        grouped(rows as f64 / elapsed.as_secs_f64()),
        grouped(bytes as f64 / 1e6),
        if over < 0 { "-" } else { "+" },
        mb(over.unsigned_abs()),
        mb(baseline),
        mb(rss.start),
        mb(rss.peak),
        mb(memory().rss),
    );
}

fn file_size(path: &std::path::Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn mb(bytes: u64) -> String {
    grouped(bytes as f64 / 1e6)
}

fn seconds(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// A whole number with its thousands apart: 26 180.
fn grouped(x: f64) -> String {
    let digits = format!("{:.0}", x.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}
