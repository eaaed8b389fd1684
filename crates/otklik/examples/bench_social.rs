//! The social pipeline benchmark (`scripts/bench-social`). Not a test: it prints figures
//! for docs/BENCHMARKS.md, one per line.
//!
//!   bench_social <posts> [postgres://…]
//!
//! 1. **Pipeline** (normalise + signatures + classify + locate, no storage): `posts` posts
//!    made from the repository's corpus (each text once per round, with a round number
//!    appended so no two are equal), on one thread and on as many threads as the machine
//!    has cores (each thread a share of the posts, its own scratch space, one shared model).
//! 2. **Store**: the analysed posts stored through `Store::social_ingest` in batches of 256
//!    (after a warm-up of ten batches and the planner's statistics)
//!    (duplicates looked up, clustered, routed, one transaction a batch) into a fresh SQLite
//!    file (and PostgreSQL with a URL), on a database with the demo's catalogue and routes.
//! 3. **End to end, embedded mode**: a producer puts 50 posts into the inbox every 50 ms
//!    (1 000 posts/s, as connectors would, through the server's `StoreSink`) for 10 s while
//!    the inbox worker drains it; each post's lag is from its receipt to the commit that
//!    stored its analysis (the send time travels in its id). Printed: p50, p99, max.
//! 4. **End to end, scale mode** (NATS JetStream at `NATS_URL`, default
//!    `nats://127.0.0.1:4222`): the same offer published through the server's `NatsSink` to
//!    a fresh stream `bench-<random>` (deleted afterwards), one `spawn_nats_worker` in this
//!    process consuming it into the same store (SQLite; PostgreSQL too with a URL); each
//!    post's lag is from its publication to the poll (every 20 ms) that finds it stored.
//!    Skipped, with a line saying why, when NATS cannot be reached.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use otklik_connectors::Batch;
use otklik_social::classify::Featuriser;
use otklik_social::pipeline::{Outcome, Pipeline};
use otklik_social::{Platform, RawPost, ReplyTarget};
use otklik_web::social::{SocialSink, StoreSink};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn posts(n: usize) -> Vec<RawPost> {
    let corpus = otklik_social::corpus::embedded().unwrap();
    (0..n)
        .map(|i| {
            let example = &corpus[i % corpus.len()];
            RawPost {
                source: "bench".to_owned(),
                platform: Platform::Webhook,
                external_id: i.to_string(),
                url: None,
                text: format!("{} {}", example.text, i / corpus.len()),
                published_at: time::OffsetDateTime::now_utc().unix_timestamp(),
                reply: ReplyTarget::None,
            }
        })
        .collect()
}

fn pipeline_rate(pipeline: &Pipeline, posts: &[RawPost], threads: usize) -> f64 {
    let started = Instant::now();
    std::thread::scope(|scope| {
        for share in posts.chunks(posts.len().div_ceil(threads)) {
            scope.spawn(move || {
                let mut scratch = Featuriser::default();
                for post in share {
                    let outcome = pipeline.analyse(&mut scratch, post.clone(), Some("RU-TVE"));
                    std::hint::black_box(outcome);
                }
            });
        }
    });
    posts.len() as f64 / started.elapsed().as_secs_f64()
}

async fn store_for(url: &str) -> Arc<dyn otklik_store::Store> {
    let store = otklik_store::open(url).await.unwrap();
    otklik::load_federal_subjects(store.as_ref()).await.unwrap();
    otklik::load_demo(store.as_ref(), Some("bench-pass-2026"))
        .await
        .unwrap();
    store
}

async fn ingest_rate(
    store: &Arc<dyn otklik_store::Store>,
    pipeline: &Pipeline,
    posts: &[RawPost],
) -> f64 {
    let hints = HashMap::from([("bench".to_owned(), "RU-TVE".to_owned())]);
    let (analysed, _) = otklik::social::analyse_all(pipeline, &hints, posts.to_vec());
    let rules = otklik_store::IngestRules {
        answer_hours: 24,
        cluster_hours: 72,
    };
    // A warm-up of ten batches, then the planner's statistics, as the server's monitor
    // refreshes them every minute (without them PostgreSQL plans for an empty table).
    let (warm, measured) = analysed.split_at(analysed.len().min(2560));
    for batch in warm.chunks(256) {
        store
            .social_ingest(batch, &[], &[], rules, time::OffsetDateTime::now_utc())
            .await
            .unwrap();
    }
    store.optimize().await.unwrap();
    let started = Instant::now();
    for batch in measured.chunks(256) {
        store
            .social_ingest(batch, &[], &[], rules, time::OffsetDateTime::now_utc())
            .await
            .unwrap();
    }
    measured.len() as f64 / started.elapsed().as_secs_f64()
}

/// How long the offer runs, and its rate: 50 posts every 50 ms (1 000 posts/s).
const OFFER_FOR: Duration = Duration::from_secs(10);
const OFFER_EVERY: Duration = Duration::from_millis(50);
const OFFER_BATCH: usize = 50;
/// Waiting for results stops once nothing new was found for this long after the offer.
const GIVE_UP_AFTER: Duration = Duration::from_secs(60);

/// Offers posts to `sink` at the fixed rate, as connectors would; each post's id starts
/// with its send time (µs since `epoch`). `sent` counts the posts accepted so far.
fn offer(
    sink: Arc<dyn SocialSink>,
    source: String,
    epoch: Instant,
    sent: Arc<AtomicUsize>,
) -> tokio::task::JoinHandle<()> {
    let corpus = otklik_social::corpus::embedded().unwrap();
    tokio::spawn(async move {
        let mut n = 0usize;
        let mut tick = tokio::time::interval(OFFER_EVERY);
        while epoch.elapsed() < OFFER_FOR {
            tick.tick().await;
            let posts: Vec<RawPost> = (0..OFFER_BATCH)
                .map(|k| RawPost {
                    source: source.clone(),
                    platform: Platform::Webhook,
                    external_id: format!("{}-{}", epoch.elapsed().as_micros(), n + k),
                    url: None,
                    text: format!("{} {}", corpus[(n + k) % corpus.len()].text, n + k),
                    published_at: time::OffsetDateTime::now_utc().unix_timestamp(),
                    reply: ReplyTarget::None,
                })
                .collect();
            n += posts.len();
            let batch = Batch {
                posts,
                quarantined: Vec::new(),
                cursor: None,
                more: false,
            };
            sink.accept(&source, batch)
                .await
                .expect("batch not accepted");
            sent.store(n, Ordering::SeqCst);
        }
    })
}

/// The send time (µs since the epoch) an offered post's id starts with.
fn sent_at(external_id: &str) -> u128 {
    external_id.split('-').next().unwrap().parse().unwrap()
}

/// Where offered posts come out stored.
trait Results {
    /// The send times of the posts stored since the last call (none: nothing new yet).
    async fn next(&mut self) -> Vec<u128>;
}

/// Each post's lag in ms, from its send time to the moment `results` gives it; polls every
/// 20 ms while there is nothing new, until the producer is done and every post it sent
/// came out (or nothing did for `GIVE_UP_AFTER`).
async fn lags(
    epoch: Instant,
    producer: &tokio::task::JoinHandle<()>,
    sent: &AtomicUsize,
    results: &mut impl Results,
) -> Vec<f64> {
    let mut lags = Vec::new();
    let mut last_found = Instant::now();
    loop {
        let found = results.next().await;
        if found.is_empty() {
            if producer.is_finished()
                && (lags.len() >= sent.load(Ordering::SeqCst)
                    || last_found.elapsed() > GIVE_UP_AFTER)
            {
                return lags;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        let now = epoch.elapsed().as_micros();
        lags.extend(found.iter().map(|s| (now - s) as f64 / 1000.0));
        last_found = Instant::now();
    }
}

fn print_lags(mode: &str, sent: usize, mut lags: Vec<f64>) {
    lags.sort_by(f64::total_cmp);
    let at = |q: f64| {
        lags.get(((lags.len() as f64 * q) as usize).min(lags.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0.0)
    };
    let missing = match sent - lags.len().min(sent) {
        0 => String::new(),
        n => format!(" ({n} posts never came out stored)"),
    };
    println!(
        "end to end ({mode}, 1000 posts/s offered, {sent} posts): lag p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms{missing}",
        at(0.5),
        at(0.99),
        lags.last().copied().unwrap_or(0.0)
    );
}

fn e2e_rules() -> otklik_store::IngestRules {
    otklik_store::IngestRules {
        answer_hours: 24,
        cluster_hours: 72,
    }
}

/// The embedded mode's inbox worker, run by the measurement itself: one batch from the
/// inbox analysed and stored per call; its posts come out at the commit.
struct InboxWorker {
    store: Arc<dyn otklik_store::Store>,
    pipeline: Pipeline,
    hints: Arc<HashMap<String, String>>,
}

impl Results for InboxWorker {
    async fn next(&mut self) -> Vec<u128> {
        let items = self.store.social_inbox(256).await.unwrap();
        if items.is_empty() {
            return Vec::new();
        }
        let ids: Vec<i64> = items.iter().map(|i| i.id).collect();
        let posts: Vec<RawPost> = items.into_iter().map(|i| i.post.unwrap()).collect();
        let sent: Vec<u128> = posts.iter().map(|p| sent_at(&p.external_id)).collect();
        let (p, h) = (self.pipeline.clone(), self.hints.clone());
        let (analysed, quarantined) =
            tokio::task::spawn_blocking(move || otklik::social::analyse_all(&p, &h, posts))
                .await
                .unwrap();
        self.store
            .social_ingest(
                &analysed,
                &quarantined,
                &ids,
                e2e_rules(),
                time::OffsetDateTime::now_utc(),
            )
            .await
            .unwrap();
        sent
    }
}

async fn end_to_end(store: Arc<dyn otklik_store::Store>, pipeline: Pipeline) {
    let hints = Arc::new(HashMap::from([("e2e".to_owned(), "RU-TVE".to_owned())]));
    let epoch = Instant::now();
    let sent = Arc::new(AtomicUsize::new(0));
    let sink: Arc<dyn SocialSink> = Arc::new(StoreSink(store.clone()));
    let producer = offer(sink, "e2e".to_owned(), epoch, sent.clone());
    let mut worker = InboxWorker {
        store,
        pipeline,
        hints,
    };
    let lags = lags(epoch, &producer, &sent, &mut worker).await;
    producer.await.unwrap();
    print_lags("embedded", sent.load(Ordering::SeqCst), lags);
}

/// The store's tables read directly (the store has no query for "posts stored since"):
/// a post comes out when a poll finds it in `social_posts` (or `social_quarantine`).
/// One writer (the worker, one transaction at a time), so ids appear in order.
enum Tables {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

struct StoredPosts {
    tables: Tables,
    source: String,
    /// The last id seen in `social_posts` and in `social_quarantine`.
    after: [i64; 2],
}

const STORED_SINCE: [&str; 2] = [
    "SELECT id, external_id FROM social_posts WHERE id > $1 AND source = $2 ORDER BY id",
    "SELECT id, external_id FROM social_quarantine WHERE id > $1 AND source = $2 ORDER BY id",
];
const LAST_IDS: &str = "SELECT (SELECT COALESCE(MAX(id), 0) FROM social_posts), \
                        (SELECT COALESCE(MAX(id), 0) FROM social_quarantine)";

impl StoredPosts {
    async fn open(url: &str, source: &str) -> Self {
        let tables = if url.starts_with("sqlite:") {
            use std::str::FromStr as _;
            let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)
                .unwrap()
                .read_only(true);
            Tables::Sqlite(
                sqlx::sqlite::SqlitePoolOptions::new()
                    .max_connections(1)
                    .connect_with(options)
                    .await
                    .unwrap(),
            )
        } else {
            Tables::Postgres(
                sqlx::postgres::PgPoolOptions::new()
                    .max_connections(1)
                    .connect(url)
                    .await
                    .unwrap(),
            )
        };
        let (posts, quarantined): (i64, i64) = match &tables {
            Tables::Sqlite(pool) => sqlx::query_as(LAST_IDS).fetch_one(pool).await,
            Tables::Postgres(pool) => sqlx::query_as(LAST_IDS).fetch_one(pool).await,
        }
        .unwrap();
        StoredPosts {
            tables,
            source: source.to_owned(),
            after: [posts, quarantined],
        }
    }
}

impl Results for StoredPosts {
    async fn next(&mut self) -> Vec<u128> {
        let mut sent = Vec::new();
        for (sql, after) in STORED_SINCE.iter().zip(self.after.iter_mut()) {
            let rows: Vec<(i64, Option<String>)> = match &self.tables {
                Tables::Sqlite(pool) => {
                    sqlx::query_as(sql)
                        .bind(*after)
                        .bind(&self.source)
                        .fetch_all(pool)
                        .await
                }
                Tables::Postgres(pool) => {
                    sqlx::query_as(sql)
                        .bind(*after)
                        .bind(&self.source)
                        .fetch_all(pool)
                        .await
                }
            }
            .unwrap();
            if let Some((id, _)) = rows.last() {
                *after = *id;
            }
            sent.extend(rows.iter().filter_map(|(_, e)| e.as_deref().map(sent_at)));
        }
        sent
    }
}

/// The scale mode end to end: posts published to a fresh JetStream stream through the
/// server's `NatsSink`, one `spawn_nats_worker` consuming it into the store at `url`; a
/// post's lag runs from its publication to the poll that finds it stored.
async fn end_to_end_nats(
    store: Arc<dyn otklik_store::Store>,
    url: &str,
    backend: &str,
    pipeline: Pipeline,
) {
    let mode = format!("NATS JetStream, {backend}");
    let nats = std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned());
    // Its own stream (and source) per run: nothing left from another run is counted.
    let name = format!("bench-{:08x}", rand::random::<u32>());
    let connected = tokio::time::timeout(
        Duration::from_secs(10),
        otklik::social::jetstream(&nats, &name),
    )
    .await
    .unwrap_or_else(|_| Err(format!("no answer from NATS at {nats} in 10 s")));
    let broker = match connected {
        Ok(broker) => broker,
        Err(e) => {
            println!("end to end ({mode}): skipped, {e}");
            return;
        }
    };
    let hints = Arc::new(HashMap::from([(name.clone(), "RU-TVE".to_owned())]));
    let worker = otklik::social::spawn_nats_worker(
        broker.clone(),
        store.clone(),
        pipeline,
        hints,
        e2e_rules(),
    );
    // The worker is ready once its durable consumer exists.
    let ready = Instant::now();
    loop {
        let stream = broker.js.get_stream(&name).await.unwrap();
        if stream.consumer_info(&broker.consumer).await.is_ok() {
            break;
        }
        assert!(
            ready.elapsed() < Duration::from_secs(10),
            "the NATS worker made no consumer in 10 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut stored = StoredPosts::open(url, &name).await;
    let epoch = Instant::now();
    let sent = Arc::new(AtomicUsize::new(0));
    let sink: Arc<dyn SocialSink> = Arc::new(otklik::social::NatsSink::new(broker.clone(), store));
    let producer = offer(sink, name.clone(), epoch, sent.clone());
    let lags = lags(epoch, &producer, &sent, &mut stored).await;
    let offered = producer.await;
    worker.abort();
    if let Err(e) = broker.js.delete_stream(&name).await {
        println!("(the stream {name} was not deleted: {e})");
    }
    offered.unwrap();
    print_lags(&mode, sent.load(Ordering::SeqCst), lags);
}

/// Microseconds per post of each stage, on one thread.
fn stages(pipeline: &Pipeline, posts: &[RawPost]) {
    let gazetteer = otklik_social::locate::Gazetteer::embedded();
    let mut scratch = Featuriser::default();
    let time = |f: &mut dyn FnMut(&RawPost)| {
        let started = Instant::now();
        posts.iter().for_each(&mut *f);
        started.elapsed().as_secs_f64() * 1e6 / posts.len() as f64
    };
    let normalise = time(&mut |p| {
        std::hint::black_box(otklik_social::text::normalise(&p.text).ok());
    });
    let texts: Vec<otklik_social::text::Normalised> = posts
        .iter()
        .filter_map(|p| otklik_social::text::normalise(&p.text).ok())
        .collect();
    let per = |started: Instant| started.elapsed().as_secs_f64() * 1e6 / texts.len() as f64;
    let started = Instant::now();
    texts.iter().for_each(|t| {
        std::hint::black_box(otklik_social::signature::Signature::of(&t.text));
    });
    let sign = per(started);
    let started = Instant::now();
    texts.iter().for_each(|t| {
        std::hint::black_box(pipeline.model().classify(&mut scratch, &t.text, &t.emoji));
    });
    let classify = per(started);
    let started = Instant::now();
    texts.iter().for_each(|t| {
        std::hint::black_box(gazetteer.locate(&t.text, Some("RU-TVE")));
    });
    let locate = per(started);
    println!(
        "stages, µs per post: normalise {normalise:.1}, signatures {sign:.1}, classify {classify:.1}, locate {locate:.1}"
    );
}

fn machine_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let pg = args.get(2).cloned();
    let started = Instant::now();
    let model = Arc::new(otklik::social::train_embedded().unwrap());
    println!("model trained in {:.2} s", started.elapsed().as_secs_f64());
    let pipeline = Pipeline::new(model);
    let input = posts(n);
    let relevant = {
        let mut scratch = Featuriser::default();
        input
            .iter()
            .take(3070)
            .filter(|p| matches!(pipeline.analyse(&mut scratch, (*p).clone(), None), Outcome::Analysed(a) if a.classification.relevant))
            .count()
    };
    println!("{n} posts ({relevant} of the first 3070 relevant)");
    stages(&pipeline, &input[..input.len().min(20_000)]);
    let one = pipeline_rate(&pipeline, &input, 1);
    println!("pipeline, 1 thread: {one:.0} posts/s");
    let cores = machine_cores();
    let all = pipeline_rate(&pipeline, &input, cores);
    println!("pipeline, {cores} threads: {all:.0} posts/s");

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        let stored: Vec<RawPost> = input.iter().take(n.min(50_000)).cloned().collect();
        let store = store_for(&url).await;
        let rate = ingest_rate(&store, &pipeline, &stored).await;
        println!("store (SQLite), {} posts: {rate:.0} posts/s", stored.len());
        end_to_end(store.clone(), pipeline.clone()).await;
        end_to_end_nats(store, &url, "SQLite", pipeline.clone()).await;
        if let Some(pg) = pg {
            let store = store_for(&pg).await;
            let rate = ingest_rate(&store, &pipeline, &stored).await;
            println!(
                "store (PostgreSQL), {} posts: {rate:.0} posts/s",
                stored.len()
            );
            end_to_end_nats(store, &pg, "PostgreSQL", pipeline.clone()).await;
        }
    });
}
