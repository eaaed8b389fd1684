//! Operating the platform: overload (503 with `Retry-After`, bounded memory, recovery),
//! metrics, request ids, graceful shutdown on `SIGTERM`, and backup and restore — with
//! the `otklik` binary as a process of its own where a process is what is tested.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::api::{World, POTHOLES};
use crate::child::{otklik, settings_file, ChildServer};
use crate::support::Backend;
use serde_json::Value;
use std::time::Duration;

const TVER: &str = "Тверская область";

/// A server that may run 4 requests at once and lets others wait 50 ms for a turn,
/// driven by 400 clients at once: the surplus is refused at once with `503 overloaded`
/// and `Retry-After`, nothing fails otherwise, memory stays bounded, and once the burst
/// is over every request is served again. The metrics count what happened.
#[tokio::test]
async fn overload_is_refused_with_retry_after_and_the_node_recovers() {
    let w = World::start(Backend::Sqlite).await;
    let token = w.citizen.token.clone();
    let parked = w.app.park().await;
    let settings = settings_file(
        &parked.data_dir,
        "[limits]\nmax_in_flight = 4\nadmission_wait_ms = 50\n",
    );
    let mut args = parked.db_args();
    args.extend(["--config".to_owned(), settings.display().to_string()]);
    let server = ChildServer::start(args, &parked.data_dir.join("server.log")).await;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();

    let mut burst = Vec::new();
    for _ in 0..400 {
        let request = client
            .get(server.url("/api/v1/submissions?per_page=100"))
            .bearer_auth(&token)
            .timeout(Duration::from_secs(30));
        burst.push(tokio::spawn(async move {
            let response = request.send().await.unwrap();
            let retry_after = response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            (
                status,
                retry_after,
                body["code"].as_str().map(str::to_owned),
            )
        }));
    }
    let (mut served, mut refused) = (0, 0);
    for answer in burst {
        match answer.await.unwrap() {
            (200, _, _) => served += 1,
            (503, retry_after, code) => {
                assert_eq!(retry_after.as_deref(), Some("1"));
                assert_eq!(code.as_deref(), Some("overloaded"));
                refused += 1;
            }
            other => panic!("neither served nor refused for overload: {other:?}"),
        }
    }
    assert!(served >= 4, "served {served}");
    assert!(refused > 0, "nothing was refused: the limit did not act");
    let peak = server.peak_memory_mib();
    assert!(peak < 600, "peak memory {peak} MiB");

    // Recovered: the same request, one at a time, is served every time.
    for _ in 0..20 {
        let response = client
            .get(server.url("/api/v1/submissions"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }

    let metrics = client
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let shed: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("otklik_http_requests_shed_total "))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(shed, refused);
    let served_line = format!(
        "otklik_http_requests_total{{method=\"GET\",route=\"/api/v1/submissions\",status=\"200\"}} {}",
        served + 20
    );
    assert!(metrics.contains(&served_line), "{served_line}\n{metrics}");
    drop(server);
    drop(parked);
}

/// `/metrics` answers the machine itself (no proxy in between) with the routes' templates
/// and the queues' depths; through a proxy, or from elsewhere without the token, it does
/// not exist. Every response carries a request id, the client's own when it is plain.
#[tokio::test]
async fn metrics_are_local_and_requests_carry_their_id() {
    let w = World::start(Backend::Sqlite).await;
    let created = w.submit(POTHOLES).await;
    let id = created["id"].as_i64().unwrap();
    let (status, _) = w.citizen.get(&format!("/api/v1/submissions/{id}")).await;
    assert_eq!(status, 200);
    let client = reqwest::Client::new();
    let response = client.get(w.app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/openmetrics-text"));
    let text = response.text().await.unwrap();
    for expected in [
        "otklik_http_requests_total{method=\"GET\",route=\"/api/v1/submissions/{id}\",status=\"200\"} 1",
        "otklik_http_request_duration_seconds_bucket{",
        "otklik_deliveries_pending ",
        "otklik_notifications_pending ",
        "otklik_deadlines_overdue 0",
        "otklik_database_up 1",
    ] {
        assert!(text.contains(expected), "no {expected} in\n{text}");
    }
    assert!(
        !text.contains(&format!("/submissions/{id}")),
        "a path, not a template"
    );

    let proxied = client
        .get(w.app.url("/metrics"))
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(proxied.status(), 404);

    let echoed = client
        .get(w.app.url("/healthz"))
        .header("x-request-id", "trace-42")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "trace-42");
    let fresh = client
        .get(w.app.url("/healthz"))
        .header("x-request-id", "bad id\twith spaces")
        .send()
        .await
        .unwrap();
    let id = fresh.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 16, "{id}");
    w.app.stop().await;
}

/// `SIGTERM` while 16 clients send submissions: the server stops accepting, finishes what
/// it took, and exits with success; every submission it acknowledged is there after a
/// restart, and the log audits clean.
#[tokio::test]
async fn sigterm_finishes_what_it_took_and_exits_cleanly() {
    let w = World::start(Backend::Sqlite).await;
    let body = w.body(POTHOLES, TVER, "message").await;
    let token = w.citizen.token.clone();
    let parked = w.app.park().await;
    let log = parked.data_dir.join("server.log");
    let settings = settings_file(&parked.data_dir, "");
    let mut args = parked.db_args();
    args.extend(["--config".to_owned(), settings.display().to_string()]);
    let mut server = ChildServer::start(args, &log).await;
    let url = server.url("/api/v1/submissions");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut senders = Vec::new();
    for _ in 0..16 {
        let (url, token, body, stop) = (url.clone(), token.clone(), body.clone(), stop.clone());
        senders.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut acknowledged = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let Ok(response) = client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await
                else {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                };
                let status = response.status().as_u16();
                assert!(status == 201 || status == 503, "status {status}");
                if status == 201 {
                    let created: Value = response.json().await.unwrap();
                    acknowledged.push(created["id"].as_i64().unwrap());
                }
            }
            acknowledged
        }));
    }
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let exit = server.terminate().await;
    assert!(exit.success(), "exit status {exit}:\n{}", server.log_tail());
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut acknowledged = Vec::new();
    for sender in senders {
        acknowledged.extend(sender.await.unwrap());
    }
    assert!(!acknowledged.is_empty());

    server.restart().await;
    let client = reqwest::Client::new();
    for id in &acknowledged {
        let response = client
            .get(server.url(&format!("/api/v1/submissions/{id}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            200,
            "acknowledged submission {id} is missing"
        );
    }
    assert!(server.terminate().await.success());
    let (ok, out, err) = otklik(
        &[
            &["log".to_owned(), "audit".to_owned()][..],
            &parked.db_args(),
        ]
        .concat(),
    );
    assert!(ok, "log audit: {out}{err}");
}

/// A backup taken while the server runs and writes, restored into a fresh installation,
/// holds everything written before it, and its log audits clean. A damaged backup and a
/// restore over existing data are refused without writing anything.
async fn backup_and_restore(backend: Backend) {
    let w = World::start(backend).await;
    let before = w.submit(POTHOLES).await["id"].as_i64().unwrap();
    let backups = tempfile::tempdir().unwrap();
    let dir = backups.path().join("b1");
    let db_args = w.app.cli_db_args.clone();
    let key = w.app.log_key_file();

    // Writes go on while the backup is taken.
    let writer = {
        let citizen = w.citizen.clone();
        let body = w.body(POTHOLES, TVER, "message").await;
        tokio::spawn(async move {
            for _ in 0..20 {
                let (status, _) = citizen.post("/api/v1/submissions", body.clone()).await;
                assert_eq!(status, 201);
            }
        })
    };
    let mut args = vec!["backup".to_owned(), dir.display().to_string()];
    args.extend(db_args.clone());
    args.extend(["--log-key".to_owned(), key.display().to_string()]);
    let (ok, out, err) = otklik(&args);
    assert!(ok, "backup: {out}{err}");
    writer.await.unwrap();
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("MANIFEST.json")).unwrap()).unwrap();
    let backend_name = if backend == Backend::Sqlite {
        "sqlite"
    } else {
        "postgres"
    };
    assert_eq!(manifest["backend"], backend_name);

    // Into a fresh installation.
    let fresh_dir = backups.path().join("restored");
    let fresh_pg = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(crate::pg::TestDb::create().await),
    };
    let mut fresh_args = vec!["--data-dir".to_owned(), fresh_dir.display().to_string()];
    if let Some(db) = &fresh_pg {
        fresh_args.extend(["--database-url".to_owned(), db.url.clone()]);
    }
    let restore = |from: &std::path::Path| {
        let mut args = vec!["restore".to_owned(), from.display().to_string()];
        args.extend(fresh_args.clone());
        otklik(&args)
    };

    // A damaged copy is refused before anything is written.
    let damaged = backups.path().join("damaged");
    copy_dir(&dir, &damaged);
    let db_file = if backend == Backend::Sqlite {
        "otklik.db"
    } else {
        "otklik.pgdump"
    };
    let mut bytes = std::fs::read(damaged.join(db_file)).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    std::fs::write(damaged.join(db_file), bytes).unwrap();
    let (ok, _, err) = restore(&damaged);
    assert!(!ok);
    assert!(err.contains("does not match the manifest"), "{err}");
    assert!(!fresh_dir.join("otklik.db").exists());

    let (ok, out, err) = restore(&dir);
    assert!(ok, "restore: {out}{err}");
    let (ok, out, err) =
        otklik(&[&["log".to_owned(), "audit".to_owned()][..], &fresh_args].concat());
    assert!(ok, "audit of the restored copy: {out}{err}");

    // Once more over the restored data: refused.
    let (ok, _, err) = restore(&dir);
    assert!(!ok);
    assert!(
        err.contains("move it away first") || err.contains("empty database"),
        "{err}"
    );

    // The restored installation serves what was written before the backup.
    let restored = spawn_app_restored(&fresh_dir, fresh_pg.as_ref()).await;
    let response = reqwest::Client::new()
        .get(format!(
            "http://{}/api/v1/submissions/{before}",
            restored.addr
        ))
        .bearer_auth(&w.citizen.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    restored.stop().await;
    w.app.stop().await;
}

async fn spawn_app_restored(
    data_dir: &std::path::Path,
    pg: Option<&crate::pg::TestDb>,
) -> otklik::Running {
    let mut config = crate::support::config_for(data_dir, pg.map(|db| db.url.clone()));
    config.demo = false;
    otklik::start(config)
        .await
        .expect("the restored installation starts")
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

#[tokio::test]
async fn backup_and_restore_on_sqlite() {
    backup_and_restore(Backend::Sqlite).await;
}

#[tokio::test]
async fn backup_and_restore_on_postgres() {
    backup_and_restore(Backend::Postgres).await;
}

/// Two app nodes against one PostgreSQL: each serves requests, and the background jobs
/// both run (the deadline monitor every 100 ms, tree heads, the analytics follower) do
/// their work once: one breach incident and one notification per person and breach, one
/// signed head per size, every event counted once in the analytics.
#[tokio::test]
async fn two_nodes_on_postgres_run_background_jobs_once() {
    // Both nodes run the monitor every 100 ms and the mail worker every 50 ms, sending
    // to one SMTP sink.
    let sink = crate::smtp_sink::SmtpSink::start();
    let port = sink.port;
    let fast_monitor = move |config: &mut otklik::ServeConfig| {
        config.monitor.interval = Duration::from_millis(100);
        config.notifications = otklik_notify::NotifyConfig {
            smtp: Some(otklik_notify::config::SmtpConfig {
                host: "127.0.0.1".to_owned(),
                port,
                security: otklik_notify::config::SmtpSecurity::None,
                username: None,
                password: None,
                timeout_seconds: 5,
            }),
            poll_interval_ms: 50,
            digest_seconds: 1,
            ..otklik_notify::NotifyConfig::default()
        };
    };
    let nodes = TwoNodes::start(fast_monitor).await;
    let (w, pool) = (&nodes.w, &nodes.pool);

    let body = w.body(POTHOLES, TVER, "message").await;
    let client = reqwest::Client::new();
    let mut ids = Vec::new();
    for i in 0..20 {
        let base = nodes.base(i);
        let response = client
            .post(format!("{base}/api/v1/submissions"))
            .bearer_auth(&w.citizen.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        let created: Value = response.json().await.unwrap();
        ids.push(created["id"].as_i64().unwrap());
    }

    // Every deadline broken at once: both monitors find all twenty.
    let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    sqlx::query(&format!(
        "UPDATE submissions SET deadline_at = created_at - 60 WHERE id IN ({list})"
    ))
    .execute(pool)
    .await
    .unwrap();
    let incidents = format!(
        "SELECT COUNT(*) FROM incidents WHERE kind = 'late_answer' AND submission_id IN ({list})"
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while scalar(pool, &incidents).await < 20 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the monitors did not record the breaches"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Many more passes of both monitors: still once each.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(scalar(pool, &incidents).await, 20);
    let breaches =
        format!("FROM notifications WHERE kind = 'deadline_breach' AND submission_id IN ({list})");
    let repeated = format!(
        "SELECT COUNT(*) FROM (SELECT user_id, submission_id {breaches} \
         GROUP BY user_id, submission_id HAVING COUNT(*) > 1) twice"
    );
    assert_eq!(scalar(pool, &repeated).await, 0);
    let notified = scalar(pool, &format!("SELECT COUNT(*) {breaches}")).await;
    assert!(notified >= 20, "{notified} breach notifications");

    // The analytics followers of both nodes catch up; every roll-up counts each
    // registration once.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while scalar(pool, "SELECT next_idx FROM analytics_state").await
        < scalar(pool, "SELECT COUNT(*) FROM log_leaves").await
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "analytics did not catch up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let submissions = scalar(pool, "SELECT COUNT(*) FROM submissions").await;
    let totals: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT mask, grain, SUM(registered)::BIGINT FROM analytics_cells GROUP BY mask, grain",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(!totals.is_empty());
    for (mask, grain, registered) in totals {
        assert_eq!(registered, submissions, "mask {mask}, grain {grain}");
    }

    // Every e-mail the two mail workers took goes out once: no Message-ID twice.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let waiting =
        "SELECT COUNT(*) FROM notification_outbox WHERE state = 'pending' AND channel = 'email'";
    while scalar(pool, waiting).await > 0 {
        assert!(tokio::time::Instant::now() < deadline, "mail still waiting");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let received = sink.messages();
    assert!(received.len() >= 20, "{} e-mails received", received.len());
    let ids: Vec<&str> = received
        .iter()
        .map(|m| m.header("Message-ID").unwrap_or_default())
        .collect();
    let distinct: std::collections::BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(distinct.len(), ids.len(), "an e-mail went out twice");

    nodes.stop().await;
}

/// Two app nodes against one fresh PostgreSQL database, both started with `customise`:
/// the first loads the demo data (the `World` around it), the second joins it.
struct TwoNodes {
    w: World,
    second: otklik::Running,
    second_base: String,
    /// The shared database, for what a test checks directly.
    pool: sqlx::PgPool,
    _second_dir: tempfile::TempDir,
}

impl TwoNodes {
    async fn start(customise: impl Fn(&mut otklik::ServeConfig)) -> Self {
        let w =
            World::of(crate::support::spawn_app_with(Backend::Postgres, &customise).await).await;
        let url = w.app.database_url.clone();
        let second_dir = tempfile::tempdir().unwrap();
        let mut config = crate::support::config_for(second_dir.path(), Some(url.clone()));
        config.demo = false;
        customise(&mut config);
        // Every node signs with the installation's one log key.
        config.log.key_file = w.app.log_key_file();
        let second = otklik::start(config).await.expect("the second node starts");
        let second_base = format!("http://{}", second.addr);
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        Self {
            w,
            second,
            second_base,
            pool,
            _second_dir: second_dir,
        }
    }

    /// The base URL of the first node for even `i`, of the second for odd.
    fn base(&self, i: usize) -> String {
        if i.is_multiple_of(2) {
            self.w.app.base.clone()
        } else {
            self.second_base.clone()
        }
    }

    /// `api` sending to the node `base(i)` names.
    fn on(&self, api: &crate::support::Api, i: usize) -> crate::support::Api {
        crate::support::Api {
            base: self.base(i),
            ..api.clone()
        }
    }

    /// Stops both nodes; the log, with heads signed by both, audits clean.
    async fn stop(self) {
        self.pool.close().await;
        self.second.stop().await;
        let (ok, out, err) = otklik(
            &[
                &["log".to_owned(), "audit".to_owned()][..],
                &self.w.app.cli_db_args,
            ]
            .concat(),
        );
        assert!(ok, "log audit with heads signed by both nodes: {out}{err}");
        self.w.app.stop().await;
    }
}

/// Routed in Тверская область to the city administration, which has an administrator.
const TRAFFIC_LIGHT: &str = "Неработающий светофор";
const CITY: &str = "Администрация города Твери";
const CITY_ADMIN: &str = "admin.tver-city@demo.otklik.local";
const FEED_SECRET: &str = "quality-feed-secret-0123456789abcdef";

/// Two app nodes against one PostgreSQL push to an organisation's system and to the
/// quality feed's receiver at once, both receivers refusing the first attempts: every
/// push arrives, none is accepted twice, the store keeps nothing pending, and the feed
/// arrives once, in cursor order, with no gaps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_postgres_push_once() {
    use crate::integrations::receiver;
    const HOOK_FAILURES: usize = 6;
    const FEED_FAILURES: usize = 4;
    const SUBMISSIONS: usize = 24;
    let (hook, hook_log) = receiver(HOOK_FAILURES).await;
    let (feed, feed_log) = receiver(FEED_FAILURES).await;
    // Small batches polled every 20 ms and retried within a second: both nodes' workers
    // take turns at the same outbox and the same feed cursor.
    let fast_pushes = move |config: &mut otklik::ServeConfig| {
        config.web.delivery = otklik_web::config::DeliveryConfig {
            poll_interval_ms: 20,
            timeout_seconds: 5,
            retry_base_seconds: 1,
            retry_max_seconds: 1,
            batch: 4,
            allow_private_targets: true,
            ..Default::default()
        };
        config.web.quality_feed = otklik_web::quality::QualityFeedConfig {
            push_url: Some(feed.clone()),
            secret: Some(otklik_web::config::Secret::new(FEED_SECRET.to_owned())),
            batch: 4,
            poll_interval_ms: 20,
            timeout_seconds: 5,
            retry_base_seconds: 1,
            retry_max_seconds: 1,
        };
    };
    let nodes = TwoNodes::start(fast_pushes).await;
    let (w, pool) = (&nodes.w, &nodes.pool);

    // The city administration's system receives its submissions by push.
    let city = crate::integrations::id_named(&w.citizen, "/api/v1/organisations", CITY).await;
    let admin = w.app.api(&w.app.token(CITY_ADMIN).await);
    let set = crate::api::ok(
        admin
            .put_json(
                &format!("/api/v1/organisations/{city}/integration"),
                serde_json::json!({ "mode": "push", "push_url": hook, "alert_after_failures": 3 }),
            )
            .await,
    );
    let secret = set["push_secret"].as_str().unwrap().to_owned();

    // Each submission is registered, taken, answered and rated through alternating
    // nodes, all at once: a `routed` and an `updated` push each, and an opinion.
    let body = w.body(TRAFFIC_LIGHT, TVER, "message").await;
    let official = w.official(CITY).await;
    let mut flows = Vec::new();
    for i in 0..SUBMISSIONS {
        let citizen = [nodes.on(&w.citizen, i), nodes.on(&w.citizen, i + 1)];
        let official = [nodes.on(&official, i + 1), nodes.on(&official, i)];
        let body = body.clone();
        flows.push(tokio::spawn(async move {
            let (status, created) = citizen[0].post("/api/v1/submissions", body).await;
            assert_eq!(status, 201, "{created}");
            let id = created["id"].as_i64().unwrap();
            let path = |action: &str| format!("/api/v1/submissions/{id}/{action}");
            let empty = serde_json::json!({});
            crate::api::ok(official[0].post(&path("take-into-work"), empty).await);
            let answer = serde_json::json!({ "text": "Светофор исправлен, работает." });
            crate::api::ok(official[1].post(&path("answer"), answer).await);
            let rating = serde_json::json!({ "score": 1 + i % 5, "comment": "Долго ждали" });
            crate::api::ok(citizen[1].post(&path("rate"), rating).await);
        }));
    }
    for flow in flows {
        flow.await.unwrap();
    }

    // Deliveries: wait until the store has nothing left to push.
    let expected = usize::try_from(scalar(pool, "SELECT COUNT(*) FROM deliveries").await).unwrap();
    assert_eq!(expected, 2 * SUBMISSIONS);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let undelivered = "SELECT COUNT(*) FROM deliveries WHERE delivered_at IS NULL";
    while scalar(pool, undelivered).await > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "pushes still waiting: {}",
            scalar(pool, undelivered).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The feed: every opinion the pull API lists, pushed.
    let operator = w.app.api(&w.app.token(crate::support::OPERATOR).await);
    let mut truth: Vec<(String, u64)> = Vec::new();
    let mut cursor = 0;
    loop {
        let page = crate::api::ok(
            operator
                .get(&format!("/api/v1/quality-feed?cursor={cursor}&limit=1000"))
                .await,
        );
        let opinions = page["opinions"].as_array().unwrap();
        if opinions.is_empty() {
            break;
        }
        truth.extend(opinions.iter().map(|o| {
            (
                o["id"].as_str().unwrap().to_owned(),
                o["cursor"].as_u64().unwrap(),
            )
        }));
        cursor = page["next_cursor"].as_u64().unwrap();
    }
    assert!(truth.len() >= SUBMISSIONS, "{} opinions", truth.len());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while feed_log.lock().unwrap().len() < FEED_FAILURES
        || scalar(pool, "SELECT delivered FROM quality_feed_push").await
            < i64::try_from(truth.len()).unwrap()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the quality feed did not catch up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Time for a push sent twice to arrive.
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Every push was accepted exactly once, signed, and each attempt the receiver saw is
    // one the store counted.
    let log = hook_log.lock().unwrap().clone();
    assert!(
        log.len() >= HOOK_FAILURES + expected,
        "{} requests",
        log.len()
    );
    let key =
        |headers: &axum::http::HeaderMap| headers["idempotency-key"].to_str().unwrap().to_owned();
    let mut accepted = std::collections::BTreeMap::<String, usize>::new();
    for (headers, _) in &log[HOOK_FAILURES..] {
        *accepted.entry(key(headers)).or_default() += 1;
    }
    let twice: Vec<_> = accepted.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "accepted more than once: {twice:?}");
    let stored: std::collections::BTreeSet<String> =
        sqlx::query_scalar("SELECT idempotency_key FROM deliveries")
            .fetch_all(pool)
            .await
            .unwrap()
            .into_iter()
            .collect();
    assert_eq!(
        accepted
            .keys()
            .cloned()
            .collect::<std::collections::BTreeSet<_>>(),
        stored
    );
    for (headers, body) in &log {
        let envelope: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(envelope["delivery_id"].as_str().unwrap(), key(headers));
        assert!(otklik_web::delivery::verify_signature(
            &secret,
            headers["x-otklik-signature"].to_str().unwrap(),
            body,
            time::OffsetDateTime::now_utc(),
            Duration::from_secs(300),
        ));
    }
    let attempts = scalar(pool, "SELECT SUM(attempts)::BIGINT FROM deliveries").await;
    assert_eq!(usize::try_from(attempts).unwrap(), log.len());
    let summary = crate::api::ok(
        admin
            .get(&format!("/api/v1/organisations/{city}/deliveries"))
            .await,
    )["summary"]
        .clone();
    assert_eq!(
        (
            &summary["pending"],
            &summary["failing"],
            &summary["delivered"]
        ),
        (
            &serde_json::json!(0),
            &serde_json::json!(0),
            &serde_json::json!(expected)
        ),
        "{summary}"
    );

    // The feed: the refused attempts were the first batch again and again; then the
    // accepted batches hold every opinion once, in cursor order, none missing.
    let log = feed_log.lock().unwrap().clone();
    let bodies: Vec<Value> = log
        .iter()
        .map(|(headers, body)| {
            assert!(otklik_notify::webhook::verify_signature(
                FEED_SECRET,
                headers["x-otklik-signature"].to_str().unwrap(),
                body,
                time::OffsetDateTime::now_utc(),
                Duration::from_secs(300),
            ));
            serde_json::from_slice(body).unwrap()
        })
        .collect();
    for refused in &bodies[..FEED_FAILURES] {
        assert_eq!(refused["from_cursor"], bodies[FEED_FAILURES]["from_cursor"]);
    }
    let mut pushed: Vec<(String, u64)> = Vec::new();
    let mut after = 0;
    for batch in &bodies[FEED_FAILURES..] {
        let (from, next) = (
            batch["from_cursor"].as_u64().unwrap(),
            batch["next_cursor"].as_u64().unwrap(),
        );
        assert!(from >= after, "a batch from {from} after one up to {after}");
        for opinion in batch["opinions"].as_array().unwrap() {
            let at = opinion["cursor"].as_u64().unwrap();
            assert!((from..next).contains(&at), "{at} outside {from}..{next}");
            pushed.push((opinion["id"].as_str().unwrap().to_owned(), at));
        }
        after = next;
    }
    assert_eq!(pushed, truth, "pushed once each, in order, none missing");
    let (next_idx, delivered, failures, last_error): (i64, i64, i64, Option<String>) =
        sqlx::query_as(
            "SELECT next_idx, delivered, attempts, last_error FROM quality_feed_push WHERE id = 1",
        )
        .fetch_one(pool)
        .await
        .unwrap();
    // The cursor may have moved on past later entries that are not opinions (a pass
    // with nothing to tell advances it without a request).
    assert!(
        u64::try_from(next_idx).unwrap() >= after,
        "cursor {next_idx} behind the last push's {after}"
    );
    assert_eq!(
        (usize::try_from(delivered).unwrap(), failures, last_error),
        (truth.len(), 0, None)
    );
    nodes.stop().await;
}

/// One number from PostgreSQL.
async fn scalar(pool: &sqlx::PgPool, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// A client that opens a connection and never finishes its request's headers is cut off
/// after `[limits] header_timeout_seconds`, while other clients are served meanwhile.
#[tokio::test]
async fn a_client_too_slow_to_send_its_headers_is_cut_off() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let app = crate::support::spawn_app_with(Backend::Sqlite, |config| {
        config.web.limits.header_timeout_seconds = 1;
    })
    .await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: otklik\r\nX-Slow: 1")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let healthy = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(healthy.status(), 200);
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut rest)).await;
    assert!(
        read.is_ok(),
        "the slow connection was still open after 10 s"
    );
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(5),
        "cut off after {waited:?}"
    );
    let answer = String::from_utf8_lossy(&rest);
    assert!(
        !answer.contains("200 OK"),
        "the unfinished request was served: {answer}"
    );
    app.stop().await;
}

/// A 1×1 JPEG as a phone writes it: JFIF, then EXIF with the orientation, a description
/// naming the author and the place, then XMP and a comment with the name again.
pub(crate) fn phone_jpeg() -> Vec<u8> {
    let segment = |marker: u8, contents: &[u8]| {
        let mut s = vec![0xFF, marker];
        s.extend_from_slice(&u16::try_from(contents.len() + 2).unwrap().to_be_bytes());
        s.extend_from_slice(contents);
        s
    };
    let mut tiff = b"II\x2a\0\x08\0\0\0\x02\0".to_vec();
    tiff.extend_from_slice(&[0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0]);
    let text = b"GPS 56.8587N 35.9176E Ivan Petrov\0";
    tiff.extend_from_slice(&[0x0E, 0x01, 2, 0]);
    tiff.extend_from_slice(&u32::try_from(text.len()).unwrap().to_le_bytes());
    tiff.extend_from_slice(&38u32.to_le_bytes());
    tiff.extend_from_slice(&0u32.to_le_bytes());
    tiff.extend_from_slice(text);
    let mut jpeg = vec![0xFF, 0xD8];
    jpeg.extend(segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"));
    jpeg.extend(segment(0xE1, &[&b"Exif\0\0"[..], &tiff].concat()));
    jpeg.extend(segment(
        0xE1,
        b"http://ns.adobe.com/xap/1.0/\0<x>Ivan Petrov</x>",
    ));
    jpeg.extend(segment(0xFE, b"Ivan Petrov, Tver"));
    jpeg.extend(image_data());
    jpeg
}

/// DQT, SOF0 (1×1), DHT ×2, SOS, EOI: the picture itself.
fn image_data() -> Vec<u8> {
    let mut body = vec![0xFF, 0xDB, 0x00, 0x43, 0x00];
    body.extend([1u8; 64]);
    body.extend([
        0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x01, 0x00, 0x01, 0x01, 0x01, 0x11, 0x00,
    ]);
    for class in [0x00, 0x10] {
        body.extend([0xFF, 0xC4, 0x00, 0x14, class, 0x01]);
        body.extend([0u8; 16]);
    }
    body.extend([
        0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00, 0x00, 0xFF, 0xD9,
    ]);
    body
}

/// A photo attached to a submission is stored without its metadata: what the official
/// downloads has neither the place it was taken nor the author's name, and keeps the
/// orientation and the picture. A damaged image is refused at its field, and nothing is
/// registered.
#[tokio::test]
async fn photos_lose_their_metadata_and_damaged_images_are_refused() {
    let w = World::start(Backend::Sqlite).await;
    let original = phone_jpeg();
    assert!(original.windows(11).any(|s| s == b"Ivan Petrov"));
    let mut body = w.body(POTHOLES, TVER, "message").await;
    body["attachments"] = serde_json::json!([crate::api::upload("yama.jpg", &original)]);
    let (status, created) = w.citizen.post("/api/v1/submissions", body.clone()).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();
    let official = w.official(crate::api::TRANSPORT).await;
    let (_, seen) = official.get(&format!("/api/v1/submissions/{id}")).await;
    let file = &seen["attachments"][0];
    let stored = official
        .client
        .get(w.app.url(file["url"].as_str().unwrap()))
        .bearer_auth(&official.token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    for secret in [&b"Ivan Petrov"[..], b"56.8587", b"Tver"] {
        assert!(!stored.windows(secret.len()).any(|s| s == secret));
    }
    assert!(stored.ends_with(&image_data()), "the picture is untouched");
    assert!(
        stored.windows(2).any(|s| s == [0x12, 0x01])
            || stored.windows(2).any(|s| s == [0x01, 0x12]),
        "the orientation tag stays"
    );
    assert_eq!(file["size"].as_u64(), Some(stored.len() as u64));

    let (_, before) = w.citizen.get("/api/v1/submissions").await;
    body["attachments"] = serde_json::json!([crate::api::upload(
        "broken.jpg",
        &[0xFF, 0xD8, 0xFF, 0xE1, 0xFF]
    )]);
    let refused = crate::api::refused(
        w.citizen.post("/api/v1/submissions", body).await,
        422,
        "validation_failed",
    );
    assert_eq!(refused["errors"][0]["code"], "image_damaged", "{refused}");
    let (_, after) = w.citizen.get("/api/v1/submissions").await;
    assert_eq!(before["total"], after["total"]);
    w.app.stop().await;
}
