//! Social-media monitoring end to end, on the real server: posts pushed by a partner's
//! webhook and by Telegram, read from a VK wall served by a fake VK, analysed by the real
//! pipeline (the model trained from the repository's corpus), clustered into incidents,
//! routed by the demo routes, seen by reach, acted on through the API and the pages, and
//! answered back to the platform. The same in scale mode, through NATS JetStream on
//! 127.0.0.1:4222.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use otklik_connectors::source::{TelegramMode, TelegramSource, VkSource, WebhookSource};
use otklik_connectors::Source;
use serde_json::{json, Value};

use crate::support::{
    csrf_in, page_login, spawn_app_with, text_of, Backend, TestApp, DEMO_PASSWORD, OPERATOR,
};

const SECRET: &str = "partner-secret-0123456789";
const TG_SECRET: &str = "tg_secret_0123456789";
const TVER_COORDINATOR: &str = "coordinator.tver@demo.otklik.local";
const NSK_COORDINATOR: &str = "coordinator.nsk@demo.otklik.local";
const TRANSPORT: &str = "Министерство транспорта Тверской области";
const HEALTH: &str = "Министерство здравоохранения Тверской области";

/// `hours` before now, as RFC 3339.
fn hours_ago(hours: i64) -> String {
    (time::OffsetDateTime::now_utc() - time::Duration::hours(hours))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

fn unix_hours_ago(hours: i64) -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp() - hours * 3600
}

/// Two posts about one pothole in Tver, one of chatter, one unreadable item.
fn pothole_batch(reply_url: &str) -> Value {
    json!([
        {"id": "p1", "text": "В Твери на Советской улице огромная яма на дороге, вчера пробил колесо. Когда отремонтируют асфальт? 😡",
         "url": "https://example.org/p1", "published_at": hours_ago(3), "reply_url": reply_url},
        {"id": "p2", "text": "Тверь, опять яма на проезжей части у остановки, машины бьют колёса, дорожники где?",
         "published_at": hours_ago(2), "reply_url": reply_url},
        {"id": "p3", "text": "С днём рождения, мамочка! Люблю тебя 🎉🎉", "published_at": hours_ago(1)},
        {"id": "p4", "text": 12345},
    ])
}

/// A partner system that records the answers POSTed back to it.
async fn reply_receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
    let got: Arc<Mutex<Vec<Value>>> = Arc::default();
    let app = Router::new()
        .route(
            "/reply",
            post(
                |State(got): State<Arc<Mutex<Vec<Value>>>>, Json(body): Json<Value>| async move {
                    got.lock().unwrap().push(body);
                    Json(json!({"id": "r-1"}))
                },
            ),
        )
        .with_state(got.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/reply"), got)
}

fn sources() -> Vec<Source> {
    vec![
        Source::Webhook(WebhookSource {
            key: "partner".into(),
            secret: SECRET.into(),
            region: None,
            reply_hosts: vec!["127.0.0.1".into()],
        }),
        Source::Telegram(TelegramSource {
            key: "tg".into(),
            api_base: Some("http://127.0.0.1:9".into()),
            token: "123456:TEST".into(),
            mode: TelegramMode::Webhook,
            secret: Some(TG_SECRET.into()),
            region: Some("RU-TVE".into()),
            limit: None,
        }),
    ]
}

async fn push(app: &TestApp, secret: &str, body: &Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(app.url("/api/v1/social/webhook/partner"))
        .bearer_auth(secret)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Waits until the operator's queue holds an incident with `posts` posts; returns it.
async fn incident_with(app: &TestApp, token: &str, posts: u64) -> Value {
    let api = app.api(token);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, list) = api.get("/api/v1/social/incidents?status=all").await;
        assert_eq!(status, 200, "{list}");
        if let Some(i) = list
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["posts"] == posts)
        {
            return i.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no incident with {posts} posts: {list}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn pushed_posts_become_an_answered_incident(backend: Backend, nats_stream: Option<String>) {
    let (reply_url, replies) = reply_receiver().await;
    let app = spawn_app_with(backend, |c| {
        c.social.sources = sources();
        if let Some(stream) = nats_stream {
            c.social.mode = otklik::social::Mode::Nats;
            c.social.nats_stream = stream;
        }
    })
    .await;
    // A wrong secret changes nothing.
    let (status, _) = push(&app, "wrong-secret-0123456789", &pothole_batch(&reply_url)).await;
    assert_eq!(status, 401);
    let (status, body) = push(&app, SECRET, &pothole_batch(&reply_url)).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body, json!({"accepted": 3, "quarantined": 1}));
    // The same batch again is stored once.
    let (status, body) = push(&app, SECRET, &pothole_batch(&reply_url)).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["accepted"], 0, "{body}");

    let operator = app.token(OPERATOR).await;
    let incident = incident_with(&app, &operator, 2).await;
    assert_eq!(incident["status"], "open");
    assert_eq!(
        incident["subcategory"], "Ямы и выбоины на дороге",
        "{incident}"
    );
    assert_eq!(incident["region"], "RU-TVE", "{incident}");
    assert_eq!(incident["place"], "Тверь", "{incident}");
    assert_eq!(incident["organisation"], TRANSPORT, "{incident}");
    let id = incident["id"].as_i64().unwrap();
    let path = format!("/api/v1/social/incidents/{id}");
    let (_, detail) = app.api(&operator).get(&path).await;
    let posts = detail["posts"].as_array().unwrap();
    assert_eq!(posts.len(), 2, "{detail}");
    assert!(posts.iter().all(|p| p["source"] == "partner"));
    // The chatter made no incident; the number went to quarantine.
    let (_, all) = app
        .api(&operator)
        .get("/api/v1/social/incidents?status=all")
        .await;
    assert_eq!(all.as_array().unwrap().len(), 1, "{all}");
    // Quarantined at each delivery, with the reason.
    let quarantined = app.store.social_quarantined(10).await.unwrap();
    assert_eq!(quarantined.len(), 2, "{quarantined:?}");
    assert!(quarantined
        .iter()
        .all(|q| q.reason == "bad_shape" && q.external_id.as_deref() == Some("p4")));

    // Reach: the region's coordinator sees it, another region's does not learn it exists.
    let tver = app.token(TVER_COORDINATOR).await;
    assert_eq!(app.api(&tver).get(&path).await.0, 200);
    let nsk = app.token(NSK_COORDINATOR).await;
    assert_eq!(app.api(&nsk).get(&path).await.0, 404);
    let (_, nsk_list) = app.api(&nsk).get("/api/v1/social/incidents").await;
    assert_eq!(nsk_list, json!([]));

    // Only the body it is routed to answers (and the coordinator on its behalf).
    let act = format!("{path}/actions");
    let answer = json!({"action": "answer", "text": "Яму на Советской заделают до 10 декабря. Спасибо, что сообщили."});
    let health = app.token(&app.official_of(HEALTH).email).await;
    let (status, body) = app.api(&health).post(&act, answer.clone()).await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = app
        .api(&tver)
        .post(&act, json!({"action": "answer", "text": "  "}))
        .await;
    assert_eq!(
        (status, body["errors"][0]["field"].as_str()),
        (422, Some("text")),
        "{body}"
    );
    let transport = app.token(&app.official_of(TRANSPORT).email).await;
    let (status, body) = app.api(&transport).post(&act, answer.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["incident_id"], id);
    let (status, body) = app.api(&transport).post(&act, answer).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("incident_not_open")),
        "{body}"
    );

    // The answer goes back under both posts.
    let deadline = Instant::now() + Duration::from_secs(20);
    while replies.lock().unwrap().len() < 2 {
        assert!(
            Instant::now() < deadline,
            "answers not published: {:?}",
            replies.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let got = replies.lock().unwrap().clone();
    let mut to: Vec<&str> = got
        .iter()
        .map(|r| r["in_reply_to"].as_str().unwrap())
        .collect();
    to.sort_unstable();
    assert_eq!(to, ["p1", "p2"], "{got:?}");
    assert!(got
        .iter()
        .all(|r| r["text"].as_str().unwrap().starts_with("Яму на Советской")));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, detail) = app.api(&operator).get(&path).await;
        if detail["posts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["reply_status"] == "sent")
        {
            assert_eq!(detail["incident"]["status"], "answered");
            break;
        }
        assert!(Instant::now() < deadline, "reply states: {detail}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Telegram's webhook: its own secret; a sticker is acknowledged and skipped.
    let tg = |secret: Option<&str>, update: Value| {
        let mut request = reqwest::Client::new()
            .post(app.url("/api/v1/social/telegram/tg"))
            .json(&update);
        if let Some(secret) = secret {
            request = request.header("X-Telegram-Bot-Api-Secret-Token", secret);
        }
        request.send()
    };
    let message = json!({"update_id": 10, "message": {"message_id": 77, "date": unix_hours_ago(1),
        "chat": {"id": -1001, "type": "supergroup", "username": "tver_city"},
        "text": "Во дворе дома на Вагжанова не вывозят мусор уже неделю, контейнеры переполнены, крысы бегают"}});
    assert_eq!(tg(None, message.clone()).await.unwrap().status(), 401);
    assert_eq!(
        tg(Some("wrong_secret_00000000"), message.clone())
            .await
            .unwrap()
            .status(),
        401
    );
    let r = tg(Some(TG_SECRET), message).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"accepted": 1, "quarantined": 0})
    );
    let sticker = json!({"update_id": 11, "message": {"message_id": 78, "date": unix_hours_ago(1),
        "chat": {"id": -1001, "type": "supergroup"}, "sticker": {"file_id": "x"}}});
    let r = tg(Some(TG_SECRET), sticker).await.unwrap();
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"accepted": 0, "quarantined": 0})
    );
    // Located by the source's region: Tver's housing ministry gets it.
    let garbage = incident_with(&app, &operator, 1).await;
    assert_eq!(garbage["subcategory"], "Вывоз мусора", "{garbage}");
    assert_eq!(garbage["region"], "RU-TVE", "{garbage}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushed_posts_become_an_answered_incident_on_sqlite() {
    pushed_posts_become_an_answered_incident(Backend::Sqlite, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushed_posts_become_an_answered_incident_on_postgres() {
    pushed_posts_become_an_answered_incident(Backend::Postgres, None).await;
}

/// Scale mode: the webhook publishes to JetStream (a stream of this test's own), the
/// server's worker consumes it as the durable consumer group and acknowledges after
/// storing; a batch published twice is stored once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushed_posts_become_an_answered_incident_through_nats() {
    let stream = format!("OTKLIK_TEST_{}", std::process::id());
    pushed_posts_become_an_answered_incident(Backend::Sqlite, Some(stream)).await;
}

/// What the fake VK serves and what it was asked.
type VkState = (Arc<Mutex<Vec<Value>>>, Arc<Mutex<Vec<String>>>);

/// A fake VK: `wall.get` serves one community's wall, newest first; every other method
/// answers an empty list. It records each method called.
async fn fake_vk(posts: Arc<Mutex<Vec<Value>>>, calls: Arc<Mutex<Vec<String>>>) -> String {
    async fn method(
        State((posts, calls)): State<VkState>,
        axum::extract::Path(name): axum::extract::Path<String>,
    ) -> Json<Value> {
        calls.lock().unwrap().push(name.clone());
        if name == "wall.get" {
            let items = posts.lock().unwrap().clone();
            return Json(json!({"response": {"count": items.len(), "items": items}}));
        }
        Json(json!({"response": {"count": 0, "items": [], "next_from": ""}}))
    }
    let app = Router::new()
        .route("/method/{name}", get(method).post(method))
        .with_state((posts, calls));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/method/")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watched_vk_wall_is_polled_into_incidents_without_repeats() {
    let wall: Arc<Mutex<Vec<Value>>> = Arc::default();
    let calls: Arc<Mutex<Vec<String>>> = Arc::default();
    wall.lock().unwrap().push(json!({"id": 101, "owner_id": -500, "from_id": -500, "date": unix_hours_ago(3),
        "text": "Жители Новосибирска жалуются: на улице Ленина не работает светофор на перекрёстке уже третий день, пешеходы перебегают на красный"}));
    let api_base = fake_vk(wall.clone(), calls.clone()).await;
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.social.poll_interval_secs = 1;
        c.social.sources = vec![Source::Vk(VkSource {
            key: "vk-nsk".into(),
            api_base: Some(api_base),
            token: "vk-token".into(),
            owner_ids: vec![-500],
            queries: vec![],
            region: Some("RU-NVS".into()),
            from_group: None,
            page_size: None,
            max_requests: None,
            backfill_pages: None,
            comment_posts: Some(0),
            min_interval_ms: Some(0),
        })];
    })
    .await;
    let operator = app.token(OPERATOR).await;
    let first = incident_with(&app, &operator, 1).await;
    assert_eq!(first["subcategory"], "Неработающий светофор", "{first}");
    assert_eq!(first["region"], "RU-NVS", "{first}");
    assert!(app.store.social_cursor("vk-nsk").await.unwrap().is_some());
    // A new post on the wall: only it is added, the first is not read again.
    wall.lock().unwrap().insert(0, json!({"id": 102, "owner_id": -500, "from_id": -500, "date": unix_hours_ago(1),
        "text": "Новосибирск, улица Ленина: светофор на перекрёстке так и не починили, снова не работает"}));
    let both = incident_with(&app, &operator, 2).await;
    assert_eq!(both["id"], first["id"], "{both}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (_, detail) = app
        .api(&operator)
        .get(&format!("/api/v1/social/incidents/{}", first["id"]))
        .await;
    assert_eq!(detail["posts"].as_array().unwrap().len(), 2, "{detail}");
    assert!(
        calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| *c == "wall.get")
            .count()
            >= 2
    );
    app.stop().await;
}

/// A server on SQLite whose partner pushed the pothole batch: the operator's token and
/// the incident the two pothole posts became.
async fn pothole_incident() -> (TestApp, String, i64) {
    let (reply_url, _) = reply_receiver().await;
    let app = spawn_app_with(Backend::Sqlite, |c| c.social.sources = sources()).await;
    push(&app, SECRET, &pothole_batch(&reply_url)).await;
    let operator = app.token(OPERATOR).await;
    let id = incident_with(&app, &operator, 2).await["id"]
        .as_i64()
        .unwrap();
    (app, operator, id)
}

/// The coordinator's queue and actions as plain pages (no JavaScript): list, show, a
/// refused action re-shown with its reason, a dismissal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_coordinator_works_the_queue_in_pages() {
    let (app, operator, id) = pothole_incident().await;
    let browser = app.browser();
    page_login(&app, &browser, TVER_COORDINATOR, DEMO_PASSWORD).await;
    let queue = browser.get(app.url("/social")).send().await.unwrap();
    assert_eq!(queue.status(), 200);
    let html = queue.text().await.unwrap();
    assert!(html.contains(&format!("/social/incidents/{id}")), "{html}");
    let page = browser
        .get(app.url(&format!("/social/incidents/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Опубликовать ответ") && page.contains("Отклонить"),
        "{page}"
    );
    let csrf = csrf_in(&page);
    let dismiss = format!("/social/incidents/{id}/dismiss");
    let refused = browser
        .post(app.url(&dismiss))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    assert!(refused.text().await.unwrap().contains("Заполните это поле"));
    let split = browser
        .post(app.url(&format!("/social/incidents/{id}/split")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(split.status(), 422);
    let done = browser
        .post(app.url(&dismiss))
        .form(&[("csrf", csrf.as_str()), ("reason", "no_problem")])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303);
    let (_, detail) = app
        .api(&operator)
        .get(&format!("/api/v1/social/incidents/{id}"))
        .await;
    assert_eq!(detail["incident"]["status"], "dismissed");
    assert_eq!(detail["incident"]["dismiss_reason"], "no_problem");
    app.stop().await;
}

/// A missed public-answer deadline is a row of the same procedure incident register as a
/// submission's: in the register's API and page for the incident's region (linking to the
/// social incident), not for another region's coordinator, and resolvable there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missed_social_deadline_joins_the_incident_register() {
    let (app, _, id) = pothole_incident().await;
    // The monitor's pass a day and an hour later (the deadline is 24 hours).
    let later = time::OffsetDateTime::now_utc() + time::Duration::hours(25);
    assert_eq!(app.store.social_monitor(later).await.unwrap(), 1);
    assert_eq!(app.store.social_monitor(later).await.unwrap(), 0);

    let tver = app.token(TVER_COORDINATOR).await;
    let (status, list) = app
        .api(&tver)
        .get("/api/v1/incidents?kind=late_social_answer")
        .await;
    assert_eq!(status, 200, "{list}");
    let row = &list["items"][0];
    assert_eq!(row["social_incident_id"], id, "{list}");
    assert_eq!(row["number"], Value::Null);
    assert_eq!(row["status"], "open");
    let url = row["social_incident_url"].as_str().unwrap().to_owned();
    let (status, _) = app.api(&tver).get(&url).await;
    assert_eq!(status, 200);
    let nsk = app.token(NSK_COORDINATOR).await;
    let (_, other) = app
        .api(&nsk)
        .get("/api/v1/incidents?kind=late_social_answer")
        .await;
    assert_eq!(other["items"], json!([]), "{other}");

    let browser = app.browser();
    page_login(&app, &browser, TVER_COORDINATOR, DEMO_PASSWORD).await;
    let register = text_of(&browser, app.url("/incidents?kind=late_social_answer")).await;
    assert!(
        register.contains(&format!(
            r#"<a href="/social/incidents/{id}">Соцсети, № {id}</a>"#
        )) && register.contains("Нет публичного ответа в соцсети в срок"),
        "{register}"
    );
    let register_id = row["id"].as_i64().unwrap();
    let (status, body) = app
        .api(&tver)
        .post(
            &format!("/api/v1/incidents/{register_id}/resolve"),
            json!({"resolution": "Ответ опубликован, исполнитель предупреждён"}),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let (_, list) = app
        .api(&tver)
        .get("/api/v1/incidents?kind=late_social_answer&resolved=true")
        .await;
    assert_eq!(list["items"][0]["id"], register_id, "{list}");
    app.stop().await;
}

/// Scale mode with a worker of its own: posts published to JetStream (as a server in NATS
/// mode publishes them) are analysed and stored by an `otklik social worker` process; the
/// server itself runs the embedded mode here, so only the worker consumes the stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_process_consumes_the_stream() {
    let app = spawn_app_with(Backend::Sqlite, |_| {}).await;
    let stream = format!("OTKLIK_WORKER_{}", std::process::id());
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("otklik.toml");
    std::fs::write(
        &config,
        format!("[social]\nmode = \"nats\"\nnats_stream = \"{stream}\"\n"),
    )
    .unwrap();
    let mut worker = tokio::process::Command::new(env!("CARGO_BIN_EXE_otklik"))
        .args(["social", "worker", "--config", config.to_str().unwrap()])
        .args(&app.cli_db_args)
        .env("OTKLIK_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let broker = otklik::social::jetstream("nats://127.0.0.1:4222", &stream)
        .await
        .unwrap();
    let sink = otklik::social::NatsSink::new(broker, app.store.clone());
    let posts: Vec<otklik_social::RawPost> = (0..3)
        .map(|i| otklik_social::RawPost {
            source: "partner".into(),
            platform: otklik_social::Platform::Webhook,
            external_id: format!("w{i}"),
            url: None,
            text: format!(
                "Новосибирск, улица Ленина {i}: не работает светофор на перекрёстке, пешеходы идут на красный"
            ),
            published_at: unix_hours_ago(1),
            reply: otklik_social::ReplyTarget::None,
        })
        .collect();
    use otklik_web::social::SocialSink as _;
    let batch = otklik_connectors::Batch {
        posts,
        ..Default::default()
    };
    assert_eq!(sink.accept("partner", batch.clone()).await.unwrap(), 3);
    // Published again: JetStream keeps each message id once.
    assert_eq!(sink.accept("partner", batch).await.unwrap(), 0);
    let operator = app.token(OPERATOR).await;
    let incident = incident_with(&app, &operator, 3).await;
    assert_eq!(incident["region"], "RU-NVS", "{incident}");
    assert!(worker.try_wait().unwrap().is_none(), "the worker stopped");
    worker.kill().await.unwrap();
    app.stop().await;
}

/// Social-media incidents in the analytics: the operator's report (API, page with its chart
/// and table, CSV export) counts the incident opened and answered on time, with the time
/// to the answer; channel and kind do not apply; the analyst's small group is withheld.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn social_incidents_show_in_analytics() {
    let (app, operator, id) = pothole_incident().await;
    let transport = app.token(&app.official_of(TRANSPORT).email).await;
    let (status, body) = app
        .api(&transport)
        .post(
            &format!("/api/v1/social/incidents/{id}/actions"),
            json!({"action": "answer", "text": "Яму на Советской заделают до 10 декабря."}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let api = app.api(&operator);
    let deadline = Instant::now() + Duration::from_secs(20);
    let report = loop {
        let (status, report) = api.get("/api/v1/analytics").await;
        assert_eq!(status, 200, "{report}");
        if report["pending_log_entries"] == 0 && report["social"]["totals"]["answered"] == 1 {
            break report;
        }
        assert!(Instant::now() < deadline, "not counted: {report}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let totals = &report["social"]["totals"];
    assert_eq!(totals["suppressed"], false, "{totals}");
    assert_eq!(
        (
            &totals["opened"],
            &totals["answered_on_time"],
            &totals["answered_late"],
            &totals["breached"]
        ),
        (&json!(1), &json!(1), &json!(0), &json!(0)),
        "{totals}"
    );
    assert!(
        totals["answer_median_seconds"].as_i64().unwrap() < 3_600,
        "{totals}"
    );
    let orgs = report["social"]["organisations"].as_array().unwrap();
    assert!(
        orgs.iter()
            .any(|r| r["name"] == TRANSPORT && r["indicators"]["opened"] == 1),
        "{orgs:?}"
    );
    assert_eq!(report["social"]["categories"][0]["indicators"]["opened"], 1);
    assert!(!report["social"]["series"].as_array().unwrap().is_empty());
    // Channel and kind do not apply to social-media incidents.
    let (_, by_channel) = api
        .get("/api/v1/analytics?channel=portal&kind=appeal")
        .await;
    assert_eq!(by_channel["social"]["totals"]["opened"], 1, "{by_channel}");
    // The analyst: one incident is a small group.
    let analyst = app.token("analyst@demo.otklik.local").await;
    let (status, aggregates) = app.api(&analyst).get("/api/v1/analytics").await;
    assert_eq!(status, 200, "{aggregates}");
    let withheld = &aggregates["social"]["totals"];
    assert_eq!(
        (&withheld["suppressed"], &withheld["opened"]),
        (&json!(true), &Value::Null),
        "{withheld}"
    );

    // The page: a section with its chart and table; the table downloads.
    let browser = app.browser();
    page_login(&app, &browser, OPERATOR, DEMO_PASSWORD).await;
    let page = text_of(&browser, app.url("/analytics")).await;
    assert!(
        page.contains(r#"<section id="social""#)
            && page.contains("Инциденты в социальных сетях")
            && page.contains(r#"aria-labelledby="chart-social-title chart-social-desc""#)
            && page.contains("Дан публичный ответ")
            && page.contains("/analytics/export.csv?table=social_organisations"),
        "{page}"
    );
    let csv = text_of(
        &browser,
        app.url("/analytics/export.csv?table=social_organisations"),
    )
    .await;
    assert!(csv.contains("Выявлено") && csv.contains(TRANSPORT), "{csv}");
    app.stop().await;
}
