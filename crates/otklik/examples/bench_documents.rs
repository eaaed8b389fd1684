//! The electronic documents benchmark (`scripts/bench-documents`): the real server
//! (release build, demo data) on SQLite or PostgreSQL, driven over HTTP on loopback.
//! Not a test: it prints figures for docs/BENCHMARKS.md.
//!
//!   bench_documents <database-url|sqlite> <routes> <verifications> <concurrency>
//!
//! 1. Routes: `routes` one-signer documents (64 KiB each) created, started and signed with
//!    a platform-held key (ECDSA, then GOST) by `concurrency` clients — the sign call's
//!    latency includes Argon2id opening the sealed key, the CMS signature, its check, and
//!    the route's transaction with its log leaves and notifications.
//! 2. Public verification: `verifications` POSTs of a 64 KiB document and its signature
//!    to `/api/v1/signatures/verify`, `concurrency` at a time.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const PASSWORD: &str = "bench-pass-2026";
const SIGNING_PASSWORD: &str = "подпись-2026";
const CITIZEN: &str = "ivan.petrov@demo.otklik.local";

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, routes, verifications, concurrency] = args.as_slice() else {
        eprintln!(
            "usage: bench_documents <database-url|sqlite> <routes> <verifications> <concurrency>"
        );
        std::process::exit(2);
    };
    let routes: usize = routes.parse().expect("routes");
    let verifications: usize = verifications.parse().expect("verifications");
    let concurrency: usize = concurrency.parse().expect("concurrency");
    let dir = tempfile::tempdir().expect("temp dir");
    let running = otklik::start(otklik::ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        database: otklik::Database {
            data_dir: dir.path().join("data"),
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
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();
    let token = post(
        &client,
        &base,
        "",
        "/api/v1/auth/token",
        json!({ "email": CITIZEN, "password": PASSWORD }),
    )
    .await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let content = B64.encode(vec![b'x'; 64 * 1024]);
    let deadline = format!(
        "{}",
        time::OffsetDateTime::now_utc().date() + time::Duration::days(30)
    );
    println!(
        "backend {}, {routes} routes, {verifications} verifications, {concurrency} clients",
        running.store.backend()
    );

    let mut signature = String::new();
    for algorithm in ["ecdsa_p256", "gost2012_256"] {
        let certificate = post(
            &client,
            &base,
            &token,
            "/api/v1/account/certificates",
            json!({ "algorithm": algorithm, "password": SIGNING_PASSWORD }),
        )
        .await["id"]
            .as_i64()
            .unwrap();
        let mut ids = Vec::with_capacity(routes);
        for i in 0..routes {
            let created = post(
                &client,
                &base,
                &token,
                "/api/v1/documents",
                json!({ "title": format!("Документ {i}"), "file_name": "bench.bin", "content_base64": content,
                        "order": "sequential", "deadline": deadline, "signers": [CITIZEN] }),
            )
            .await;
            let id = created["id"].as_i64().unwrap();
            post(
                &client,
                &base,
                &token,
                &format!("/api/v1/documents/{id}/start"),
                json!({}),
            )
            .await;
            ids.push(id);
        }
        let started = Instant::now();
        let (c, b, t) = (client.clone(), base.clone(), token.clone());
        let latencies = run(ids, concurrency, move |id| {
            let (client, base, token) = (c.clone(), b.clone(), t.clone());
            async move {
                post(
                    &client,
                    &base,
                    &token,
                    &format!("/api/v1/documents/{id}/sign"),
                    json!({ "certificate_id": certificate, "password": SIGNING_PASSWORD }),
                )
                .await;
            }
        })
        .await;
        report(
            &format!("sign ({algorithm}, platform key)"),
            &latencies,
            started.elapsed(),
        );
        let listed = get(&client, &base, &token, "/api/v1/documents?box=authored").await;
        let last = listed["items"][0]["id"].as_i64().unwrap();
        let verification = get(
            &client,
            &base,
            &token,
            &format!("/api/v1/documents/{last}/verification"),
        )
        .await;
        assert_eq!(verification["valid"], true, "{verification}");
        if signature.is_empty() {
            signature = signature_of(&client, &base, &token, last).await;
        }
    }

    let body = json!({ "content_base64": content, "signatures_base64": [signature] });
    let started = Instant::now();
    let (c, b) = (client.clone(), base.clone());
    let latencies = run((0..verifications).collect(), concurrency, move |_| {
        let (client, base, body) = (c.clone(), b.clone(), body.clone());
        async move {
            let answer = post(&client, &base, "", "/api/v1/signatures/verify", body).await;
            assert_eq!(answer["valid"], true);
        }
    })
    .await;
    report(
        "public verification (ECDSA, 64 KiB)",
        &latencies,
        started.elapsed(),
    );
}

/// The DER of a document's first signature, from its package.
async fn signature_of(client: &reqwest::Client, base: &str, token: &str, id: i64) -> String {
    let zip = client
        .get(format!("{base}/api/v1/documents/{id}/package"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip.to_vec())).unwrap();
    let mut der = Vec::new();
    std::io::Read::read_to_end(
        &mut archive.by_name("bench.signer-1.p7s").unwrap(),
        &mut der,
    )
    .unwrap();
    B64.encode(der)
}

async fn run<T, F, Fut>(items: Vec<T>, concurrency: usize, work: F) -> Vec<Duration>
where
    T: Send + 'static,
    F: Fn(T) -> Fut + Send + Sync + 'static + Clone,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let queue = std::sync::Arc::new(tokio::sync::Mutex::new(items));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (queue, work) = (queue.clone(), work.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let Some(item) = queue.lock().await.pop() else {
                    break;
                };
                let at = Instant::now();
                work(item).await;
                latencies.push(at.elapsed());
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    all.sort();
    all
}

fn report(what: &str, latencies: &[Duration], elapsed: Duration) {
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    println!(
        "{what}: {} in {:.2} s = {:.1}/s; latency p50 {:.1} ms, p99 {:.1} ms",
        latencies.len(),
        elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        at(0.5).as_secs_f64() * 1000.0,
        at(0.99).as_secs_f64() * 1000.0
    );
}

async fn post(client: &reqwest::Client, base: &str, token: &str, path: &str, body: Value) -> Value {
    let mut request = client.post(format!("{base}{path}")).json(&body);
    if !token.is_empty() {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let value: Value = response.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{path}: {status} {value}");
    value
}

async fn get(client: &reqwest::Client, base: &str, token: &str, path: &str) -> Value {
    let response = client
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{path}");
    response.json().await.unwrap()
}
