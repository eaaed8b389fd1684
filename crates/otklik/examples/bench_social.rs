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
//!    (1 000 posts/s, as connectors would) for 10 s while the inbox worker drains it; each
//!    post's lag is from its receipt to the commit that stored its analysis (the send time
//!    travels in its id). Printed: p50, p99, max.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use otklik_social::classify::Featuriser;
use otklik_social::pipeline::{Outcome, Pipeline};
use otklik_social::{Platform, RawPost, ReplyTarget};
use std::collections::HashMap;
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

async fn end_to_end(store: Arc<dyn otklik_store::Store>, pipeline: Pipeline) {
    let corpus = otklik_social::corpus::embedded().unwrap();
    let epoch = Instant::now();
    let hints = Arc::new(HashMap::from([("e2e".to_owned(), "RU-TVE".to_owned())]));
    let rules = otklik_store::IngestRules {
        answer_hours: 24,
        cluster_hours: 72,
    };
    let producer = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut sent = 0usize;
            let mut tick = tokio::time::interval(Duration::from_millis(50));
            while epoch.elapsed() < Duration::from_secs(10) {
                tick.tick().await;
                let batch: Vec<RawPost> = (0..50)
                    .map(|k| RawPost {
                        source: "e2e".to_owned(),
                        platform: Platform::Webhook,
                        external_id: format!("{}-{}", epoch.elapsed().as_micros(), sent + k),
                        url: None,
                        text: format!("{} {}", corpus[(sent + k) % corpus.len()].text, sent + k),
                        published_at: time::OffsetDateTime::now_utc().unix_timestamp(),
                        reply: ReplyTarget::None,
                    })
                    .collect();
                sent += batch.len();
                store
                    .social_receive("e2e", &batch, &[], None, time::OffsetDateTime::now_utc())
                    .await
                    .unwrap();
            }
            sent
        })
    };
    let mut lags = Vec::new();
    loop {
        let items = store.social_inbox(256).await.unwrap();
        if items.is_empty() {
            if producer.is_finished() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        let ids: Vec<i64> = items.iter().map(|i| i.id).collect();
        let posts: Vec<RawPost> = items.into_iter().map(|i| i.post.unwrap()).collect();
        let sent: Vec<u128> = posts
            .iter()
            .map(|p| p.external_id.split('-').next().unwrap().parse().unwrap())
            .collect();
        let (p, h) = (pipeline.clone(), hints.clone());
        let (analysed, quarantined) =
            tokio::task::spawn_blocking(move || otklik::social::analyse_all(&p, &h, posts))
                .await
                .unwrap();
        store
            .social_ingest(
                &analysed,
                &quarantined,
                &ids,
                rules,
                time::OffsetDateTime::now_utc(),
            )
            .await
            .unwrap();
        let now = epoch.elapsed().as_micros();
        lags.extend(sent.iter().map(|s| (now - s) as f64 / 1000.0));
    }
    let sent = producer.await.unwrap();
    lags.sort_by(f64::total_cmp);
    let at = |q: f64| lags[((lags.len() as f64 * q) as usize).min(lags.len() - 1)];
    println!(
        "end to end (embedded, 1000 posts/s offered, {sent} posts): lag p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        at(0.5),
        at(0.99),
        lags.last().copied().unwrap_or(0.0)
    );
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
        end_to_end(store, pipeline.clone()).await;
        if let Some(pg) = pg {
            let store = store_for(&pg).await;
            let rate = ingest_rate(&store, &pipeline, &stored).await;
            println!(
                "store (PostgreSQL), {} posts: {rate:.0} posts/s",
                stored.len()
            );
        }
    });
}
