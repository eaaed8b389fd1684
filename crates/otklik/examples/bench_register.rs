//! The registration write path without HTTP: how many submissions per second the store
//! makes durable (submission, `registered` event, log leaf, notifications, outbox) when
//! `concurrency` callers register at once — the group writer's figure, to set beside
//! the HTTP scenario of `scripts/bench`. Not a test: it prints figures for
//! docs/BENCHMARKS.md.
//!
//!   bench_register <database-url|sqlite> <seconds> <concurrency>...
//!
//! Demo data (one citizen, a subcategory routed in Tver region); a fresh database per
//! run (SQLite in a temporary directory; PostgreSQL: the URL names an empty database).
//!
//! As a seeder (the idle memory and start-up measurement of docs/BENCHMARKS.md):
//! `BENCH_DATA_DIR=DIR` keeps the SQLite data directory (and its log key) in DIR, new or
//! empty, instead of a temporary one; `BENCH_TOTAL=N` makes each concurrency level stop
//! after N registrations instead of after `seconds`, each with its own text (one of a
//! few, numbered), so the search index has a vocabulary to hold.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use otklik_domain::form::FormValues;
use otklik_domain::lifecycle::{Channel, SubmissionKind};
use otklik_domain::text::{Email, SubmissionText};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, seconds, levels @ ..] = args.as_slice() else {
        eprintln!("usage: bench_register <database-url|sqlite> <seconds> <concurrency>...");
        std::process::exit(2);
    };
    let seconds: u64 = seconds.parse().expect("seconds");
    let total: Option<u64> = std::env::var("BENCH_TOTAL")
        .ok()
        .map(|n| n.parse().expect("BENCH_TOTAL"));
    let dir = tempfile::tempdir().expect("temp dir");
    let (data_dir, key_file) = match std::env::var_os("BENCH_DATA_DIR") {
        Some(kept) => {
            let kept = std::path::PathBuf::from(kept);
            (kept.clone(), kept.join("log-signing.key"))
        }
        None => (dir.path().join("data"), dir.path().join("log.key")),
    };
    let running = otklik::start(otklik::ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        database: otklik::Database {
            data_dir: data_dir.clone(),
            url: (url != "sqlite").then(|| url.clone()),
        },
        demo: true,
        demo_password: Some("bench-pass-2026".to_owned()),
        web: Default::default(),
        log: otklik::LogConfig {
            key_file,
            alg: otklik_log::HashAlg::Sha256,
            tree_head_interval: Duration::from_secs(60),
        },
        monitor: otklik::MonitorConfig::default(),
        notifications: otklik_notify::NotifyConfig::default(),
        social: Default::default(),
    })
    .await
    .expect("demo data");
    // The server only seeded the data: the store below is what is measured.
    running.stop().await;
    let db_url = if url == "sqlite" {
        format!("sqlite://{}", data_dir.join("otklik.db").display())
    } else {
        url.clone()
    };
    let store = otklik_store::open(&db_url).await.expect("store");
    let citizen = store
        .user_by_email(&Email::parse("ivan.petrov@demo.otklik.local").unwrap())
        .await
        .unwrap()
        .expect("demo citizen");
    let region = store
        .regions()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.code == "RU-TVE")
        .expect("Tver region");
    let subcategory = store
        .catalogue()
        .await
        .unwrap()
        .into_iter()
        .flat_map(|c| c.subcategories)
        .find(|s| !s.form.photo_required && s.form.fields.iter().all(|f| !f.required))
        .expect("a subcategory without required fields");
    let org = store
        .route_decision(subcategory.id, region.id, None)
        .await
        .unwrap()
        .org;
    let submission = otklik_store::NewSubmission {
        kind: SubmissionKind::Message,
        author: citizen.id,
        subcategory: subcategory.id,
        region: region.id,
        municipality: None,
        org,
        text: SubmissionText::parse(
            "Предлагаем продлить маршрут автобуса до нового микрорайона: сейчас до остановки идти 2 км.",
        )
        .unwrap(),
        fields: FormValues::default(),
        attachments: Vec::new(),
        channel: Channel::Api,
        origin: None,
        public: false,
    };
    println!("backend: {}", store.backend());
    println!("| concurrent callers | registrations/s | p50 | p99 |");
    println!("|---|---|---|---|");
    for level in levels {
        let concurrency: usize = level.parse().expect("concurrency");
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let started = Instant::now();
        let made = Arc::new(AtomicU64::new(0));
        let workers: Vec<_> = (0..concurrency)
            .map(|_| {
                let (store, submission) = (Arc::clone(&store), submission.clone());
                let made = Arc::clone(&made);
                tokio::spawn(async move {
                    let mut latencies = Vec::new();
                    loop {
                        let mut submission = submission.clone();
                        match total {
                            None if Instant::now() >= deadline => break,
                            None => {}
                            Some(total) => {
                                let i = made.fetch_add(1, Ordering::Relaxed);
                                if i >= total {
                                    break;
                                }
                                submission.text = numbered_text(i);
                            }
                        }
                        let sent = Instant::now();
                        store
                            .register_submission(submission, OffsetDateTime::now_utc())
                            .await
                            .expect("registered");
                        latencies.push(sent.elapsed());
                    }
                    latencies
                })
            })
            .collect();
        let mut latencies = Vec::new();
        for worker in workers {
            latencies.extend(worker.await.unwrap());
        }
        let elapsed = started.elapsed().as_secs_f64();
        latencies.sort_unstable();
        let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
        println!(
            "| {concurrency} | {:.0} | {:.1} ms | {:.1} ms |",
            latencies.len() as f64 / elapsed,
            at(0.5).as_secs_f64() * 1e3,
            at(0.99).as_secs_f64() * 1e3,
        );
    }
}

/// The `i`-th seeded text: one of a few complaints, with a house number and a count.
fn numbered_text(i: u64) -> SubmissionText {
    const TEXTS: [&str; 8] = [
        "Предлагаем продлить маршрут автобуса до нового микрорайона: сейчас до остановки идти 2 км.",
        "Во дворе дома яма на проезжей части, машины объезжают её по газону.",
        "Не горят фонари на пешеходной дорожке к школе, вечером идти опасно.",
        "Контейнерная площадка переполнена, мусор не вывозят уже неделю.",
        "В подъезде протекает крыша после каждого дождя, управляющая компания не отвечает.",
        "На детской площадке сломаны качели и торчат острые края.",
        "Автобус по маршруту приходит с опозданием на полчаса каждое утро.",
        "Во дворе не убирают снег, тротуар покрыт льдом.",
    ];
    let text = TEXTS[(i % TEXTS.len() as u64) as usize];
    SubmissionText::parse(&format!("{text} Дом {}, обращение {i}.", i % 997 + 1)).unwrap()
}
