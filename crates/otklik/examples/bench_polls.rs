//! The polls benchmark (`scripts/bench-polls`): the real server (release build, demo
//! data) on SQLite or PostgreSQL, driven over HTTP on loopback. Not a test: it prints
//! figures for docs/BENCHMARKS.md.
//!
//!   bench_polls <database-url|sqlite> <voters> <concurrency> <recount-ballots>
//!
//! 1. Ballots: `voters` verified citizens (created through the store, each with an API
//!    session) cast one ballot each in a vote "choose up to 3 of 10" through
//!    `POST /api/v1/polls/{id}/ballots`, `concurrency` at a time: sustained ballots per
//!    second and latency percentiles. Each answer comes after the ballot's commit (group
//!    commit: one transaction for whatever is waiting), receipt id included.
//! 2. Results: `GET /api/v1/polls/{id}/results` latency with every ballot counted.
//! 3. Recount: `recount-ballots` synthetic ballots as a published list, recounted by the
//!    same code as `otklik poll recount` (parse, check, rebuild the tree, tally). With
//!    `voters` 0 only the recount runs, without a server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use otklik_domain::access::Verification;
use otklik_domain::lifecycle::Role;
use otklik_domain::poll::{self, Eligibility, PollKind, ResultsPolicy, Schedule};
use otklik_domain::text::{Email, PersonName};
use serde_json::json;
use sha2::Digest as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

const PASSWORD: &str = "bench-pass-2026";
const QUESTIONS: &str = "? Какие проекты выполнить?\n* несколько до 3\n- Проект 1\n- Проект 2\n\
    - Проект 3\n- Проект 4\n- Проект 5\n- Проект 6\n- Проект 7\n- Проект 8\n- Проект 9\n- Проект 10";

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, voters, concurrency, recount] = args.as_slice() else {
        eprintln!(
            "usage: bench_polls <database-url|sqlite> <voters> <concurrency> <recount-ballots>"
        );
        std::process::exit(2);
    };
    let voters: usize = voters.parse().expect("voters");
    let concurrency: usize = concurrency.parse().expect("concurrency");
    let recount: usize = recount.parse().expect("recount-ballots");
    if voters == 0 {
        // The recount alone (`bench_polls - 0 0 20000000`): no server.
        recount_bench(recount);
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().join("data");
    let running = otklik::start(otklik::ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        database: otklik::Database {
            data_dir: data_dir.clone(),
            url: (url != "sqlite").then(|| url.clone()),
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
        monitor: otklik::MonitorConfig::default(),
        notifications: otklik_notify::NotifyConfig::default(),
        social: Default::default(),
    })
    .await
    .expect("server starts");
    let base = format!("http://{}", running.addr);
    let db_url = if url == "sqlite" {
        format!("sqlite://{}", data_dir.join("otklik.db").display())
    } else {
        url.clone()
    };
    let store = otklik_store::open(&db_url).await.expect("store");
    println!("backend: {}", store.backend());

    // Voters and their sessions, through the store (registration is not what is measured).
    let started = Instant::now();
    let tokens = Arc::new(make_voters(store.clone(), voters).await);
    println!(
        "{voters} voters with sessions created in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let operator = store
        .user_by_email(&Email::parse("operator@demo.otklik.local").unwrap())
        .await
        .unwrap()
        .unwrap();
    let now = OffsetDateTime::now_utc();
    let poll = store
        .create_poll(
            otklik_store::NewPoll {
                org: None,
                title: "Бенчмарк".to_owned(),
                description: String::new(),
                spec: poll::parse_text(PollKind::Vote, QUESTIONS).unwrap(),
                eligibility: Eligibility {
                    verification: Verification::Verified,
                    min_age: None,
                    region: None,
                    municipality: None,
                },
                offset: time::UtcOffset::from_hms(3, 0, 0).unwrap(),
                schedule: Schedule::new(
                    now - time::Duration::minutes(1),
                    now + time::Duration::days(1),
                )
                .unwrap(),
                results: ResultsPolicy::Live,
                by: operator.id,
            },
            now,
        )
        .await
        .unwrap();

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();
    let path = format!("{base}/api/v1/polls/{}/ballots", poll.0);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (client, path, next, tokens) =
            (client.clone(), path.clone(), next.clone(), tokens.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(token) = tokens.get(i) else { break };
                let choices = [i % 10, (i / 10) % 10, (i / 100) % 10];
                let mut choices: Vec<usize> = choices.to_vec();
                choices.sort_unstable();
                choices.dedup();
                let sent = Instant::now();
                let response = client
                    .post(&path)
                    .bearer_auth(token)
                    .json(&json!({"answers": [{"choices": choices}]}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(
                    response.status(),
                    201,
                    "{}",
                    response.text().await.unwrap_or_default()
                );
                response.bytes().await.unwrap();
                latencies.push(sent.elapsed());
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.await.unwrap());
    }
    let elapsed = started.elapsed();
    report(
        &format!("ballots through HTTP ({concurrency} connections)"),
        &mut latencies,
        elapsed,
    );
    let record = store.poll(poll).await.unwrap();
    assert_eq!(record.ballots as usize, voters, "every ballot counted once");

    let results = format!("{base}/api/v1/polls/{}/results", poll.0);
    let mut latencies = Vec::new();
    let started = Instant::now();
    for _ in 0..200 {
        let sent = Instant::now();
        let body: serde_json::Value = client
            .get(&results)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(body["ballots"].as_u64(), Some(voters as u64));
        latencies.push(sent.elapsed());
    }
    report(
        "results of the whole poll",
        &mut latencies,
        started.elapsed(),
    );

    if recount > 0 {
        recount_bench(recount);
    }
    running.stop().await;
}

async fn make_voters(store: Arc<dyn otklik_store::Store>, n: usize) -> Vec<String> {
    let name = PersonName::parse("Участник Голосования").unwrap();
    let expires = OffsetDateTime::now_utc() + time::Duration::days(1);
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (store, next, name) = (store.clone(), next.clone(), name.clone());
        tasks.push(tokio::spawn(async move {
            let mut made = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let user =
                    store
                        .create_user(otklik_store::NewUser {
                            email: Email::parse(&format!("voter{i}@bench.otklik.local")).unwrap(),
                            password_hash:
                                "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"
                                    .to_owned(),
                            full_name: name.clone(),
                            role: Role::Citizen,
                            verification: Verification::Verified,
                        })
                        .await
                        .unwrap();
                let token = format!("bench-voter-token-{i}-{}", rand::random::<u64>());
                let hash: [u8; 32] = sha2::Sha256::digest(token.as_bytes()).into();
                store.create_session(&hash, user, expires).await.unwrap();
                made.push((i, token));
            }
            made
        }));
    }
    let mut all = Vec::with_capacity(n);
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    all.sort_unstable();
    all.into_iter().map(|(_, t)| t).collect()
}

fn report(what: &str, latencies: &mut [Duration], elapsed: Duration) {
    latencies.sort_unstable();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    println!(
        "{what}: {} in {:.2} s = {:.0}/s; p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        latencies.len(),
        elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        at(0.50).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        latencies[latencies.len() - 1].as_secs_f64() * 1e3,
    );
}

/// A published list of `n` ballots (built and signed in the final tree's order: the
/// definition, then the ballots by id), recounted in-process.
fn recount_bench(n: usize) {
    let started = Instant::now();
    let (text, key) = otklik::poll_cli::synthetic_published_list(n).unwrap();
    println!(
        "recount: {n} ballots ({:.0} MB) generated in {:.1} s",
        text.len() as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    // RECOUNT_SAVE=FILE keeps the list, to time `otklik poll recount FILE` itself.
    if let Ok(path) = std::env::var("RECOUNT_SAVE") {
        std::fs::write(&path, &text).unwrap();
        println!("recount: list saved to {path}, public key {key}");
    }
    let started = Instant::now();
    let outcome = otklik::poll_cli::recount(&text, Some(&key), None)
        .unwrap()
        .unwrap();
    let elapsed = started.elapsed();
    assert!(
        outcome.starts_with(&format!("valid: {n} ballots")),
        "{outcome}"
    );
    println!(
        "recount of {n} ballots: {:.2} s = {:.0} ballots/s",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64()
    );
}
