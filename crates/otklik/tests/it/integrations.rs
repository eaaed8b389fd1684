//! Organisations' own systems, over real HTTP: pushes to a receiver the test runs on
//! loopback (signed, retried until a 2xx, the operator alerted after the threshold), the
//! pull queue with acknowledgements, and inbound actions made idempotent by a key.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::{spawn_app_with, Api, Backend, TestApp, CITIZEN, OPERATOR, PNG_1X1};

const ORG_ADMIN: &str = "admin.tver-city@demo.otklik.local";
const CITY: &str = "Администрация города Твери";
const TVER: &str = "Тверская область";
/// Routed in Тверская область to the city administration; no photo required.
const TRAFFIC_LIGHT: &str = "Неработающий светофор";
const TEXT: &str = "Светофор на перекрёстке Советской и Горького не работает третий день.";

/// What the receiver got: headers and body of each request.
pub(crate) type Received = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

/// A receiving system on loopback that answers 503 to the first `failures` requests.
pub(crate) async fn receiver(failures: usize) -> (String, Received) {
    let received: Received = Arc::default();
    let log = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let log = log.clone();
            async move {
                let mut log = log.lock().unwrap();
                log.push((headers, body));
                if log.len() <= failures {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::NO_CONTENT
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

async fn app_with_fast_retries() -> TestApp {
    spawn_app_with(Backend::Sqlite, |c| {
        c.web.delivery = otklik_web::config::DeliveryConfig {
            poll_interval_ms: 50,
            retry_base_seconds: 1,
            retry_max_seconds: 1,
            // The receivers here are on loopback.
            allow_private_targets: true,
            ..Default::default()
        };
    })
    .await
}

fn ok((status, body): (u16, Value)) -> Value {
    assert!((200..300).contains(&status), "{status}: {body}");
    body
}

/// The id of the entry named `name` in the reference list at `path`.
pub(crate) async fn id_named(api: &Api, path: &str, name: &str) -> i64 {
    ok(api.get(path).await)
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {path}"))["id"]
        .as_i64()
        .unwrap()
}

/// A valid traffic-light message in Тверская область (required form fields filled).
async fn traffic_light(citizen: &Api) -> Value {
    let catalogue = ok(citizen.get("/api/v1/catalogue").await);
    let sub = catalogue
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["subcategories"].as_array().unwrap())
        .find(|s| s["name"] == TRAFFIC_LIGHT)
        .unwrap()
        .clone();
    let fields: serde_json::Map<String, Value> = sub["form"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["required"] == true)
        .map(|f| {
            (
                f["key"].as_str().unwrap().to_owned(),
                crate::api::sample_value(f).into(),
            )
        })
        .collect();
    let region = id_named(citizen, "/api/v1/regions", TVER).await;
    json!({ "kind": "message", "subcategory_id": sub["id"], "region_id": region,
            "text": TEXT, "fields": fields })
}

async fn submit_traffic_light(citizen: &Api) -> i64 {
    let (status, created) = citizen
        .post("/api/v1/submissions", traffic_light(citizen).await)
        .await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_are_signed_retried_until_accepted_and_alert_the_operator() {
    let app = app_with_fast_retries().await;
    let (url, received) = receiver(2).await;
    let admin = app.api(&app.token(ORG_ADMIN).await);
    let citizen = app.api(&app.token(CITIZEN).await);
    let operator = app.api(&app.token(OPERATOR).await);
    let city = id_named(&citizen, "/api/v1/organisations", CITY).await;
    let settings = format!("/api/v1/organisations/{city}/integration");

    // Bad settings change nothing.
    let (status, problem) = admin
        .put_json(
            &settings,
            json!({ "mode": "push", "push_url": "http://sed.tver.ru/in" }),
        )
        .await;
    assert_eq!(
        (status, problem["errors"][0]["code"].as_str()),
        (422, Some("https_required"))
    );
    let (status, problem) = admin
        .put_json(&settings, json!({ "mode": "telepathy" }))
        .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (422, Some("mode"))
    );
    assert_eq!(admin.get(&settings).await.0, 404);
    assert_eq!(
        citizen
            .put_json(&settings, json!({ "mode": "pull" }))
            .await
            .0,
        403
    );

    let set = ok(admin
        .put_json(
            &settings,
            json!({ "mode": "push", "push_url": url, "alert_after_failures": 2 }),
        )
        .await);
    let secret = set["push_secret"].as_str().unwrap().to_owned();
    assert!(secret.len() >= 32);
    let shown = ok(admin.get(&settings).await);
    assert_eq!(shown["push_secret_set"], true);
    assert!(
        !shown.to_string().contains(&secret),
        "the secret is shown once"
    );

    let id = submit_traffic_light(&citizen).await;
    let started = std::time::Instant::now();
    while received.lock().unwrap().len() < 3 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "3 attempts expected"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let log = received.lock().unwrap().clone();
    assert_eq!(log.len(), 3, "delivered once accepted, never again");
    let keys: Vec<_> = log
        .iter()
        .map(|(h, _)| h["idempotency-key"].clone())
        .collect();
    assert!(keys.iter().all(|k| *k == keys[0]), "one key across retries");
    for (headers, body) in &log {
        assert_eq!(headers["x-otklik-event"], "submission.routed");
        assert_eq!(headers["content-type"], "application/json");
        let signature = headers["x-otklik-signature"].to_str().unwrap();
        assert!(otklik_web::delivery::verify_signature(
            &secret,
            signature,
            body,
            time::OffsetDateTime::now_utc(),
            Duration::from_secs(300),
        ));
        assert!(!otklik_web::delivery::verify_signature(
            "another-secret-another-secret-xx",
            signature,
            body,
            time::OffsetDateTime::now_utc(),
            Duration::from_secs(300),
        ));
    }
    let envelope: Value = serde_json::from_slice(&log[0].1).unwrap();
    assert_eq!(envelope["version"], 1);
    assert_eq!(envelope["delivery_id"], keys[0].to_str().unwrap());
    assert_eq!(envelope["organisation_id"], city);
    assert_eq!(envelope["submission"]["id"], id);
    assert_eq!(envelope["submission"]["text"], TEXT);
    assert_eq!(envelope["submission"]["channel"], "api");
    assert_eq!(envelope["submission"]["author"]["email"], CITIZEN);

    let list = ok(admin
        .get(&format!("/api/v1/organisations/{city}/deliveries"))
        .await);
    let item = &list["items"][0];
    assert_eq!(item["state"], "delivered", "{list}");
    assert_eq!(item["attempts"], 3);
    assert!(item["alerted_at"].is_string());
    assert_eq!(list["summary"]["delivered"], 1);
    let failing = ok(admin
        .get(&format!(
            "/api/v1/organisations/{city}/deliveries?state=failing"
        ))
        .await);
    assert_eq!(failing["items"], json!([]));
    assert_eq!(
        admin
            .get(&format!(
                "/api/v1/organisations/{city}/deliveries?state=lost"
            ))
            .await
            .0,
        422
    );

    // The operator was alerted once, in the incident register, and sees the overview.
    let incidents = ok(operator
        .get("/api/v1/incidents?kind=delivery_failing")
        .await);
    assert_eq!(incidents["total"], 1, "{incidents}");
    let overview = ok(operator.get("/api/v1/console/integrations").await);
    let line = overview
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["organisation_id"] == city)
        .unwrap();
    assert_eq!(
        (line["mode"].as_str(), line["summary"]["delivered"].as_u64()),
        (Some("push"), Some(1))
    );
    assert_eq!(citizen.get("/api/v1/console/integrations").await.0, 403);
    // And in the console's list of organisations.
    let browser = app.browser();
    crate::support::page_login(&app, &browser, OPERATOR, crate::support::DEMO_PASSWORD).await;
    let html = browser
        .get(app.url("/console/organisations"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("push: ожидают 0, с ошибками 0, передано 1"),
        "{html}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pull_queue_and_idempotent_inbound_actions() {
    let app = app_with_fast_retries().await;
    let admin = app.api(&app.token(ORG_ADMIN).await);
    let citizen = app.api(&app.token(CITIZEN).await);
    let city = id_named(&citizen, "/api/v1/organisations", CITY).await;
    ok(admin
        .put_json(
            &format!("/api/v1/organisations/{city}/integration"),
            json!({ "mode": "pull", "visibility_timeout_seconds": 60 }),
        )
        .await);
    let (status, client) = admin
        .post(
            &format!("/api/v1/organisations/{city}/clients"),
            json!({ "client_id": "sed-city", "name": "СЭД мэрии", "scopes": ["submissions:read", "submissions:write"] }),
        )
        .await;
    assert_eq!(status, 201, "{client}");
    let key = format!("sed-city.{}", client["client_secret"].as_str().unwrap());
    let http = reqwest::Client::new();
    let call = |method: reqwest::Method, path: &str| {
        http.request(method, app.url(path))
            .header("x-api-key", &key)
    };

    let id = submit_traffic_light(&citizen).await;
    let r = call(reqwest::Method::GET, "/api/v1/deliveries/next")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let message: Value = r.json().await.unwrap();
    assert_eq!(message["event"], "submission.routed");
    assert_eq!(message["attempts"], 1);
    assert_eq!(message["envelope"]["submission"]["id"], id);
    // Hidden while taken.
    let r = call(reqwest::Method::GET, "/api/v1/deliveries/next")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let ack = format!("/api/v1/deliveries/{}/ack", message["id"]);
    for _ in 0..2 {
        let r = call(reqwest::Method::POST, &ack).send().await.unwrap();
        assert_eq!(r.status(), 204, "acknowledging again is fine");
    }
    let r = call(reqwest::Method::POST, "/api/v1/deliveries/999999/ack")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(citizen.get("/api/v1/deliveries/next").await.0, 403);

    // Inbound: the same operations as the officials', made idempotent by a key.
    let take = format!("/api/v1/submissions/{id}/take-into-work");
    let first = call(reqwest::Method::POST, &take)
        .header("idempotency-key", "take-1")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first_body = first.bytes().await.unwrap();
    let again = call(reqwest::Method::POST, &take)
        .header("idempotency-key", "take-1")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.bytes().await.unwrap(), first_body);
    // Without the key a repeat reaches the status machine, which refuses it.
    let bare = call(reqwest::Method::POST, &take)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), 409);

    let answer_path = format!("/api/v1/submissions/{id}/answer");
    let reused = call(reqwest::Method::POST, &answer_path)
        .header("idempotency-key", "take-1")
        .json(&json!({ "text": "Светофор отремонтирован." }))
        .send()
        .await
        .unwrap();
    assert_eq!(reused.status(), 422);
    let problem: Value = reused.json().await.unwrap();
    assert_eq!(problem["code"], "idempotency_key_reused");
    let bad_key = call(reqwest::Method::POST, &answer_path)
        .header("idempotency-key", "x".repeat(300))
        .json(&json!({ "text": "Светофор отремонтирован." }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_key.status(), 400);

    let answer = json!({
        "text": "Светофор отремонтирован, работает в штатном режиме.",
        "attachments": [{
            "name": "akt.png",
            "content_base64": base64::engine::general_purpose::STANDARD.encode(PNG_1X1),
        }],
    });
    for attempt in 0..2 {
        let r = call(reqwest::Method::POST, &answer_path)
            .header("idempotency-key", "answer-1")
            .json(&answer)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "attempt {attempt}");
    }
    let detail = ok(citizen.get(&format!("/api/v1/submissions/{id}")).await);
    assert_eq!(detail["status"], "answered");
    let answered = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "answered")
        .count();
    assert_eq!(answered, 1, "the retry changed nothing");

    // The organisation's own actions are not echoed back; the citizen's are.
    let r = call(reqwest::Method::GET, "/api/v1/deliveries/next")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    ok(citizen
        .post(
            &format!("/api/v1/submissions/{id}/rate"),
            json!({ "score": 5 }),
        )
        .await);
    let r = call(reqwest::Method::GET, "/api/v1/deliveries/next")
        .send()
        .await
        .unwrap();
    let update: Value = r.json().await.unwrap();
    assert_eq!(update["event"], "submission.updated");
    assert_eq!(update["envelope"]["trigger"]["kind"], "rated");
    app.stop().await;
}

/// The administrator's page: settings by form (a refused one changes nothing), the
/// outbox's state, and stopping deliveries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_organisation_page_sets_and_shows_deliveries() {
    let app = app_with_fast_retries().await;
    let citizen = app.api(&app.token(CITIZEN).await);
    let city = id_named(&citizen, "/api/v1/organisations", CITY).await;
    let browser = app.browser();
    let r =
        crate::support::page_login(&app, &browser, ORG_ADMIN, crate::support::DEMO_PASSWORD).await;
    assert_eq!(r.status(), 303);
    let page = format!("/org/{city}");
    let html = browser
        .get(app.url(&page))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Передача не настроена"));
    let csrf = crate::support::csrf_in(&html);

    let refused = browser
        .post(app.url(&format!("{page}/integration")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("mode", "push"),
            ("push_url", "ftp://sed"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    assert!(refused
        .text()
        .await
        .unwrap()
        .contains("Введите адрес вида https://"));
    assert_eq!(
        app.store
            .integration(otklik_domain::OrgId(city))
            .await
            .unwrap(),
        None
    );

    let set = browser
        .post(app.url(&format!("{page}/integration")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("mode", "pull"),
            ("visibility_timeout_seconds", "120"),
            ("alert_after_failures", "3"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 303);
    submit_traffic_light(&citizen).await;
    let html = browser
        .get(app.url(&page))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("pull (очередь), невидимость взятого сообщения 120 с"),
        "{html}"
    );
    assert!(html.contains("поступило в организацию"));
    assert!(html.contains("ожидает передачи"));

    let pushed = browser
        .post(app.url(&format!("{page}/integration")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("mode", "push"),
            ("push_url", "https://sed.tver.example/in"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(pushed.status(), 200, "the generated key is shown once");
    assert!(pushed
        .text()
        .await
        .unwrap()
        .contains("Ключ подписи (push_secret)"));

    let stopped = browser
        .post(app.url(&format!("{page}/integration/remove")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(stopped.status(), 303);
    assert_eq!(
        app.store
            .integration(otklik_domain::OrgId(city))
            .await
            .unwrap(),
        None
    );
    app.stop().await;
}

/// Without `allow_private_targets`, an administrator cannot point pushes into the
/// platform's own network; answers carrying a secret are never kept for replay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_targets_are_refused_and_secrets_never_kept() {
    let app = crate::support::spawn_app().await;
    let admin = app.api(&app.token(ORG_ADMIN).await);
    let city = id_named(&admin, "/api/v1/organisations", CITY).await;
    let settings = format!("/api/v1/organisations/{city}/integration");
    for url in [
        "http://127.0.0.1:9/hook",
        "https://10.0.0.5/in",
        "https://[::1]/in",
    ] {
        let (status, problem) = admin
            .put_json(&settings, json!({ "mode": "push", "push_url": url }))
            .await;
        assert_eq!(
            (status, problem["errors"][0]["code"].as_str()),
            (422, Some("private_address")),
            "{url}"
        );
    }
    assert_eq!(admin.get(&settings).await.0, 404, "nothing was set");

    let http = reqwest::Client::new();
    let create = || {
        http.post(app.url(&format!("/api/v1/organisations/{city}/clients")))
            .bearer_auth(&admin.token)
            .header("idempotency-key", "client-1")
            .json(
                &json!({ "client_id": "sed-once", "name": "СЭД", "scopes": ["submissions:read"] }),
            )
            .send()
    };
    let first = create().await.unwrap();
    assert_eq!(first.status(), 201);
    let again = create().await.unwrap();
    assert_eq!(
        again.status(),
        409,
        "run again, not replayed with the secret"
    );
    assert!(again.headers().get("idempotent-replayed").is_none());
    let pool = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
    // The refusal (409) may be kept; the answer with the secret (201) never.
    let kept: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM idempotency_keys WHERE status = 201")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(kept, 0, "no copy of the secret rests in the database");

    // A replayed creation answers the same submission, with its Location.
    let citizen = app.api(&app.token(CITIZEN).await);
    let body = traffic_light(&citizen).await;
    let send = || {
        http.post(app.url("/api/v1/submissions"))
            .bearer_auth(&citizen.token)
            .header("idempotency-key", "report-1")
            .json(&body)
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), 201);
    let location = first.headers()["location"].clone();
    let first: Value = first.json().await.unwrap();
    let again = send().await.unwrap();
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.headers()["location"], location);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    let mine = ok(citizen.get("/api/v1/submissions").await);
    assert_eq!(mine["total"], 1, "one submission, not two");
    pool.close().await;
    app.stop().await;
}

use base64::Engine as _;
