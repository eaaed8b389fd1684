//! Notifications end to end: the real server with its sending worker, a real SMTP server
//! on loopback (`smtp_sink`) and a real HTTP receiver for the SMS/push gateway. A
//! submission's stages reach its author and the organisation's officials in their
//! notification centre and by e-mail (staff in digests); an SMTP outage delays without
//! losing or duplicating; one-click unsubscribe, each person's settings, marking read,
//! and the operator's templates.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use otklik_notify::config::{GatewayConfig, SmtpConfig, SmtpSecurity};
use otklik_notify::{NotifyConfig, Secret};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::smtp_sink::{Received, SmtpSink};
use crate::support::{
    csrf_in, page_login, spawn_app_with, Api, Backend, TestApp, CITIZEN, DEMO_PASSWORD, OPERATOR,
    OTHER_CITIZEN,
};

const CITY: &str = "Администрация города Твери";
const CITY_ADMIN: &str = "admin.tver-city@demo.otklik.local";
const TVER: &str = "Тверская область";
/// Routed in Тверская область to the city administration; no photo required.
const TRAFFIC_LIGHT: &str = "Неработающий светофор";
const TEXT: &str = "Светофор на перекрёстке Советской и Горького не работает третий день.";
/// How long anything the worker should do may take here (it polls every 50 ms).
const PATIENCE: Duration = Duration::from_secs(20);
/// The gateway's signing secret.
fn gateway_secret() -> String {
    "x".repeat(32)
}

// --- the world ----------------------------------------------------------------------------

/// What the gateway receiver got: headers and body of each request.
type Posts = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

/// A gateway on loopback that accepts everything.
async fn gateway_receiver() -> (String, Posts) {
    let posts: Posts = Arc::default();
    let log = posts.clone();
    let app = axum::Router::new().route(
        "/send",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let log = log.clone();
            async move {
                log.lock().unwrap().push((headers, body));
                StatusCode::ACCEPTED
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/send", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, posts)
}

struct World {
    app: TestApp,
    sink: SmtpSink,
    posts: Posts,
    catalogue: Value,
    region: i64,
}

/// The server sending e-mail to a fresh SMTP sink and gateway messages to a fresh
/// receiver; staff digests go out once their oldest message is `digest_seconds` old.
async fn world(digest_seconds: u64) -> World {
    let sink = SmtpSink::start();
    let (gateway_url, posts) = gateway_receiver().await;
    let port = sink.port;
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.notifications = NotifyConfig {
            smtp: Some(SmtpConfig {
                host: "127.0.0.1".to_owned(),
                port,
                security: SmtpSecurity::None,
                username: None,
                password: None,
                timeout_seconds: 5,
            }),
            gateway: Some(GatewayConfig {
                url: gateway_url,
                secret: Secret::new(gateway_secret()),
                timeout_seconds: 5,
            }),
            poll_interval_ms: 50,
            retry_base_seconds: 1,
            retry_max_seconds: 1,
            digest_seconds,
            ..NotifyConfig::default()
        };
    })
    .await;
    let anonymous = app.api("");
    let catalogue = ok(anonymous.get("/api/v1/catalogue").await);
    let region = ok(anonymous.get("/api/v1/regions").await)
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == TVER)
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    World {
        app,
        sink,
        posts,
        catalogue,
        region,
    }
}

impl World {
    async fn api(&self, email: &str) -> Api {
        self.app.api(&self.app.token(email).await)
    }

    fn city_official(&self) -> String {
        self.app.official_of(CITY).email.clone()
    }

    /// A valid traffic-light message (required fields filled), registered: (id, number).
    async fn submit(&self, citizen: &Api) -> (i64, String) {
        let sub = self
            .catalogue
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|c| c["subcategories"].as_array().unwrap())
            .find(|s| s["name"] == TRAFFIC_LIGHT)
            .unwrap();
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
        let (status, created) = citizen
            .post(
                "/api/v1/submissions",
                json!({ "kind": "message", "subcategory_id": sub["id"], "region_id": self.region,
                        "text": TEXT, "fields": fields }),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(created["organisation"], CITY);
        (
            created["id"].as_i64().unwrap(),
            created["number"].as_str().unwrap().to_owned(),
        )
    }

    /// The messages the sink accepted for `to`, in order.
    fn mails_to(&self, to: &str) -> Vec<Received> {
        self.sink
            .messages()
            .into_iter()
            .filter(|m| m.rcpt_to.iter().any(|r| r == to))
            .collect()
    }

    /// Waits until at least `count` messages for `to` have arrived.
    async fn wait_mails_to(&self, to: &str, count: usize) -> Vec<Received> {
        let started = Instant::now();
        loop {
            let mails = self.mails_to(to);
            if mails.len() >= count {
                return mails;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "{count} e-mail(s) to {to} expected, got {:?}; outbox {:?}",
                subjects(&mails),
                self.app.store.outbox_summary().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until no immediate message waits in the outbox (digests may): everything
    /// sent has reached the sink, everything else failed or was never queued.
    async fn settle(&self) {
        let started = Instant::now();
        loop {
            let summary = self.app.store.outbox_summary().await.unwrap();
            if summary.oldest_pending_at.is_none() {
                return;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "the outbox does not empty: {summary:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the outbox holds nothing pending at all, digests included.
    async fn drain(&self) -> otklik_store::OutboxSummary {
        let started = Instant::now();
        loop {
            let summary = self.app.store.outbox_summary().await.unwrap();
            if summary.pending == 0 {
                return summary;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "the outbox does not empty: {summary:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn gateway_posts(&self) -> Vec<(HeaderMap, Bytes)> {
        self.posts.lock().unwrap().clone()
    }

    /// Adds an official to the city administration (by its administrator): the e-mail
    /// and the first password.
    async fn add_city_official(&self, email: &str) -> String {
        let admin = self.api(CITY_ADMIN).await;
        let city = ok(admin.get("/api/v1/organisations").await)
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["name"] == CITY)
            .unwrap()["id"]
            .as_i64()
            .unwrap();
        let (status, created) = admin
            .post(
                &format!("/api/v1/organisations/{city}/staff"),
                json!({ "email": email, "full_name": "Игорь Сергеевич Белов", "role": "official" }),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        created["initial_password"].as_str().unwrap().to_owned()
    }
}

/// One row of the outbox as stored: (notification, digest, state, attempts, last error).
type OutboxRow = (i64, bool, String, i64, Option<String>);

/// The e-mail rows of the outbox, read from the database as an administrator would.
async fn email_outbox(app: &TestApp) -> Vec<OutboxRow> {
    let pool = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
    let rows = sqlx::query_as::<_, OutboxRow>(
        "SELECT notification_id, digest = 1, state, attempts, last_error \
         FROM notification_outbox WHERE channel = 'email' ORDER BY notification_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    rows
}

fn ok((status, body): (u16, Value)) -> Value {
    assert!((200..300).contains(&status), "{status}: {body}");
    body
}

fn subjects(mails: &[Received]) -> Vec<String> {
    mails
        .iter()
        .map(|m| m.subject().unwrap_or_default())
        .collect()
}

/// One's notification centre, newest first.
async fn centre(api: &Api) -> Vec<Value> {
    ok(api.get("/api/v1/notifications").await)["items"]
        .as_array()
        .unwrap()
        .clone()
}

/// The one notification of `kind` about `submission` in a centre.
fn entry<'a>(items: &'a [Value], kind: &str, submission: i64) -> &'a Value {
    let found: Vec<&Value> = items
        .iter()
        .filter(|n| n["kind"] == kind && n["submission_id"] == submission)
        .collect();
    assert_eq!(found.len(), 1, "one {kind} for {submission} in {items:#?}");
    found[0]
}

/// The address in `List-Unsubscribe: <…>`.
fn unsubscribe_url(mail: &Received) -> String {
    mail.header("List-Unsubscribe")
        .expect("List-Unsubscribe")
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_owned()
}

/// The delivery in force for a kind and a channel, as the API shows it.
async fn delivery(api: &Api, kind: &str, channel: &str) -> String {
    ok(api.get("/api/v1/notifications/settings").await)["choices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == kind && c["channel"] == channel)
        .unwrap()["delivery"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Takes a submission into work and answers it, as its official.
async fn take_and_answer(official: &Api, id: i64) {
    let taken = ok(official
        .post(
            &format!("/api/v1/submissions/{id}/take-into-work"),
            json!({}),
        )
        .await);
    assert_eq!(taken["status"], "in_progress");
    let answered = ok(official
        .post(
            &format!("/api/v1/submissions/{id}/answer"),
            json!({ "text": "Светофор отремонтирован, работает в штатном режиме." }),
        )
        .await);
    assert_eq!(answered["status"], "answered");
}

/// A signed-in browser.
async fn browser_of(app: &TestApp, email: &str, password: &str) -> reqwest::Client {
    let browser = app.browser();
    let r = page_login(app, &browser, email, password).await;
    assert_eq!(r.status(), 303, "login of {email}");
    browser
}

async fn page(browser: &reqwest::Client, url: &str) -> (u16, String) {
    let r = browser.get(url).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

// --- 1. registration ----------------------------------------------------------------------

/// The author's centre and one e-mail with its identifiers and links; the officials'
/// centre and, after the digest interval, one digest e-mail each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_reaches_the_author_and_the_officials() {
    let w = world(1).await;
    let second_official = "belov.tver@demo.otklik.local";
    let second_password = w.add_city_official(second_official).await;
    let citizen = w.api(CITIZEN).await;
    let (id, number) = w.submit(&citizen).await;

    let items = centre(&citizen).await;
    let registered = entry(&items, "registered", id);
    let subject = format!("Обращение № {number} зарегистрировано");
    assert_eq!(registered["subject"], subject.as_str());
    assert_eq!(registered["read"], false);
    let notification = registered["id"].as_i64().unwrap();

    // The officials: both in their centres, each in one digest.
    let officials = [
        (w.city_official(), w.api(&w.city_official()).await),
        (
            second_official.to_owned(),
            w.app
                .api(&w.app.token_with(second_official, &second_password).await),
        ),
    ];
    let mut staff_ids = Vec::new();
    for (email, api) in &officials {
        let items = centre(api).await;
        let n = entry(&items, "new_submission", id);
        assert_eq!(n["subject"], format!("Новое обращение № {number}").as_str());
        staff_ids.push((email.clone(), n["id"].as_i64().unwrap()));
    }
    for (email, n) in &staff_ids {
        let digests = w.wait_mails_to(email, 1).await;
        let digest = &digests[0];
        assert_eq!(digest.subject().as_deref(), Some("Сводка уведомлений: 1"));
        assert_eq!(
            digest.header("Message-ID"),
            Some(format!("<d{n}-{n}.email@127.0.0.1>").as_str())
        );
        let text = digest.text_body();
        assert!(
            text.contains(&format!("Новое обращение № {number}")),
            "{text}"
        );
        assert!(
            text.contains(&w.app.url(&format!("/submissions/{id}"))),
            "{text}"
        );
        assert!(digest.header("List-Unsubscribe-Post").is_some());
    }

    // The author: exactly one e-mail, with its identifiers and links.
    let mails = w.wait_mails_to(CITIZEN, 1).await;
    w.settle().await;
    let mails_again = w.mails_to(CITIZEN);
    assert_eq!(mails_again.len(), 1, "{:?}", subjects(&mails_again));
    let mail = &mails[0];
    assert_eq!(mail.rcpt_to, [CITIZEN]);
    assert_eq!(mail.subject().as_deref(), Some(subject.as_str()));
    assert_eq!(
        mail.header("Message-ID"),
        Some(format!("<n{notification}.email@127.0.0.1>").as_str())
    );
    let unsubscribe = unsubscribe_url(mail);
    assert!(
        unsubscribe.starts_with(&w.app.url("/unsubscribe/")),
        "{unsubscribe}"
    );
    assert!(unsubscribe.contains(".registered."), "{unsubscribe}");
    assert_eq!(
        mail.header("List-Unsubscribe-Post"),
        Some("List-Unsubscribe=One-Click")
    );
    let text = mail.text_body();
    assert!(
        text.contains(&w.app.url(&format!("/submissions/{id}"))),
        "{text}"
    );
    assert!(text.contains(&unsubscribe), "{text}");
    assert!(mail.html_body().contains(&unsubscribe));

    // One digest each, nothing to the organisation's administrator (not an official).
    let summary = w.drain().await;
    for (email, _) in &staff_ids {
        assert_eq!(w.mails_to(email).len(), 1, "{email}");
    }
    assert!(w.mails_to(CITY_ADMIN).is_empty());
    assert_eq!((summary.sent, summary.failed), (3, 0), "{summary:?}");
    w.app.stop().await;
}

// --- 2. later stages ------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn later_stages_reach_the_author() {
    let w = world(3600).await;
    let citizen = w.api(CITIZEN).await;
    let official = w.api(&w.city_official()).await;
    let (id, number) = w.submit(&citizen).await;
    take_and_answer(&official, id).await;

    let items = centre(&citizen).await;
    let kinds: Vec<&str> = items.iter().map(|n| n["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["answered", "taken_into_work", "registered"]);
    let expected = [
        (
            "registered",
            format!("Обращение № {number} зарегистрировано"),
        ),
        (
            "taken_into_work",
            format!("Обращение № {number} взято в работу"),
        ),
        ("answered", format!("Дан ответ на обращение № {number}")),
    ];
    let mails = w.wait_mails_to(CITIZEN, 3).await;
    w.settle().await;
    let mails_now = w.mails_to(CITIZEN);
    assert_eq!(mails_now.len(), 3, "{:?}", subjects(&mails_now));
    for (kind, subject) in &expected {
        let n = entry(&items, kind, id);
        assert_eq!(n["subject"], subject.as_str());
        let mail = mails
            .iter()
            .find(|m| m.subject().as_deref() == Some(subject.as_str()))
            .unwrap_or_else(|| panic!("no e-mail {subject:?} in {:?}", subjects(&mails)));
        assert_eq!(
            mail.header("Message-ID"),
            Some(format!("<n{}.email@127.0.0.1>", n["id"]).as_str())
        );
        assert!(unsubscribe_url(mail).contains(&format!(".{kind}.")));
        assert!(mail
            .text_body()
            .contains(&w.app.url(&format!("/submissions/{id}"))));
    }
    // Staff e-mail waits for the digest: nothing to the official yet, but it is queued.
    assert!(w.mails_to(&w.city_official()).is_empty());
    let summary = w.app.store.outbox_summary().await.unwrap();
    assert_eq!((summary.pending, summary.sent), (1, 3), "{summary:?}");
    w.app.stop().await;
}

// --- 3. an SMTP outage ----------------------------------------------------------------------

/// While the mail server refuses, messages wait; when it is back each arrives once. A
/// permanent refusal fails the message for good.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_smtp_outage_delays_without_losing_or_duplicating() {
    let w = world(1).await;
    let ivan = w.api(CITIZEN).await;
    let maria = w.api(OTHER_CITIZEN).await;
    let official = w.city_official();

    w.sink.refuse(true);
    let (first, first_number) = w.submit(&ivan).await;
    let (second, second_number) = w.submit(&maria).await;
    // Long enough for the first attempts and a retry of each (retries after 1 s).
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(w.sink.messages().is_empty());
    let summary = w.app.store.outbox_summary().await.unwrap();
    assert_eq!(
        summary.pending, 4,
        "two e-mails and two digest items: {summary:?}"
    );
    assert!(summary.oldest_pending_at.is_some());
    assert_eq!(summary.sent + summary.failed, 0, "{summary:?}");
    // The immediate ones were tried and refused (451), more than once.
    let rows = email_outbox(&w.app).await;
    let immediate: Vec<&OutboxRow> = rows.iter().filter(|r| !r.1).collect();
    assert_eq!(immediate.len(), 2, "{rows:?}");
    for row in immediate {
        assert_eq!(row.2, "pending", "{row:?}");
        assert!(row.3 >= 2, "retried: {row:?}");
        assert!(
            row.4.as_deref().is_some_and(|e| e.contains("451")),
            "{row:?}"
        );
    }

    w.sink.refuse(false);
    let summary = w.drain().await;
    assert_eq!((summary.sent, summary.failed), (4, 0), "{summary:?}");
    let all = w.sink.messages();
    let ids: Vec<&str> = all
        .iter()
        .map(|m| m.header("Message-ID").unwrap())
        .collect();
    let distinct: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(ids.len(), distinct.len(), "a duplicate Message-ID: {ids:?}");
    for (to, id, number) in [
        (CITIZEN, first, &first_number),
        (OTHER_CITIZEN, second, &second_number),
    ] {
        let mails = w.mails_to(to);
        assert_eq!(mails.len(), 1, "{to}: {:?}", subjects(&mails));
        assert_eq!(
            mails[0].subject(),
            Some(format!("Обращение № {number} зарегистрировано"))
        );
        assert!(mails[0]
            .text_body()
            .contains(&w.app.url(&format!("/submissions/{id}"))));
    }
    // The official's digests name each submission exactly once.
    let digests: String = w
        .mails_to(&official)
        .iter()
        .map(Received::text_body)
        .collect();
    for number in [&first_number, &second_number] {
        assert_eq!(
            digests.matches(&format!("№ {number}")).count(),
            1,
            "{digests}"
        );
    }
    assert_eq!(all.len(), 2 + w.mails_to(&official).len());

    // A permanent refusal: failed, never tried again.
    w.sink.reject(true);
    let before = w.sink.messages().len();
    let (_, third_number) = w.submit(&ivan).await;
    let summary = w.drain().await;
    // The author's e-mail and the official's digest item.
    assert_eq!((summary.sent, summary.failed), (4, 2), "{summary:?}");
    w.sink.reject(false);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let summary = w.app.store.outbox_summary().await.unwrap();
    assert_eq!(
        (summary.pending, summary.sent, summary.failed),
        (0, 4, 2),
        "{summary:?}"
    );
    let after = w.sink.messages();
    assert_eq!(after.len(), before, "{:?}", subjects(&after));
    let failed: Vec<OutboxRow> = email_outbox(&w.app)
        .await
        .into_iter()
        .filter(|r| r.2 == "failed")
        .collect();
    assert_eq!(failed.len(), 2, "{failed:?}");
    for row in &failed {
        assert_eq!(row.3, 1, "tried once: {row:?}");
        assert!(
            row.4.as_deref().is_some_and(|e| e.contains("550")),
            "{row:?}"
        );
    }
    assert!(!subjects(&after)
        .iter()
        .any(|s| s.contains(third_number.as_str())));
    w.app.stop().await;
}

// --- 4. one-click unsubscribe ---------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_click_unsubscribe_stops_that_kind_of_email_only() {
    let w = world(3600).await;
    let citizen = w.api(CITIZEN).await;
    let official = w.api(&w.city_official()).await;
    let (first, _) = w.submit(&citizen).await;
    let mail = w.wait_mails_to(CITIZEN, 1).await.remove(0);
    let url = unsubscribe_url(&mail);
    let token = url.rsplit('/').next().unwrap().to_owned();
    let stranger = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // The page the link opens: a plain form with one button; opening it changes nothing.
    let r = stranger.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(
        html.contains(&format!(
            r#"<form method="post" action="/unsubscribe/{token}""#
        )),
        "{html}"
    );
    assert!(html.contains(r#"<button type="submit""#), "{html}");
    assert_eq!(delivery(&citizen, "registered", "email").await, "immediate");

    // Tampered tokens: 404, nothing changes.
    let (user, rest) = token.split_once('.').unwrap();
    let (_, mac) = rest.split_once('.').unwrap();
    let last = mac.chars().last().unwrap();
    let flipped = format!(
        "{}{}",
        &token[..token.len() - 1],
        if last == 'A' { 'B' } else { 'A' }
    );
    let other_kind = format!("{user}.answered.{mac}");
    let other_user = format!("{}.registered.{mac}", user.parse::<i64>().unwrap() + 1);
    for bad in [&flipped, &other_kind, &other_user, &"nonsense".to_owned()] {
        let bad_url = w.app.url(&format!("/unsubscribe/{bad}"));
        let r = stranger
            .post(&bad_url)
            .form(&[("List-Unsubscribe", "One-Click")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{bad}");
        assert_eq!(stranger.get(&bad_url).send().await.unwrap().status(), 404);
    }
    assert_eq!(delivery(&citizen, "registered", "email").await, "immediate");
    assert_eq!(delivery(&citizen, "answered", "email").await, "immediate");

    // The mail client's one-click POST: no session, no form token.
    let r = stranger
        .post(&url)
        .form(&[("List-Unsubscribe", "One-Click")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(delivery(&citizen, "registered", "email").await, "off");
    assert_eq!(
        delivery(&citizen, "taken_into_work", "email").await,
        "immediate"
    );

    // The next registration: in the centre, no e-mail; other kinds still arrive.
    let (second, second_number) = w.submit(&citizen).await;
    let items = centre(&citizen).await;
    entry(&items, "registered", second);
    let taken = ok(official
        .post(
            &format!("/api/v1/submissions/{second}/take-into-work"),
            json!({}),
        )
        .await);
    assert_eq!(taken["status"], "in_progress");
    w.wait_mails_to(CITIZEN, 2).await;
    w.settle().await;
    let mails = w.mails_to(CITIZEN);
    assert_eq!(
        subjects(&mails),
        [
            mail.subject().unwrap(),
            format!("Обращение № {second_number} взято в работу")
        ]
    );
    assert_ne!(first, second);
    w.app.stop().await;
}

// --- 5. settings ------------------------------------------------------------------------------

/// The name and selected value of every `<select>` of the settings form, and its checked
/// checkboxes: what a browser would send for the form unchanged.
fn form_values(html: &str) -> Vec<(String, String)> {
    // The settings form only: the place form after it is a form of its own.
    let html = html.split("<h2 id=\"home\">").next().unwrap();
    let mut values = Vec::new();
    for piece in html.split("<select ").skip(1) {
        let name_at = piece.find("name=\"").unwrap() + "name=\"".len();
        let name = &piece[name_at..name_at + piece[name_at..].find('"').unwrap()];
        let body = &piece[..piece.find("</select>").unwrap()];
        let selected = body
            .split("<option value=\"")
            .skip(1)
            .find_map(|option| {
                let value = &option[..option.find('"').unwrap()];
                option[value.len()..]
                    .starts_with("\" selected")
                    .then(|| value.to_owned())
            })
            .unwrap_or_else(|| panic!("nothing selected for {name}"));
        values.push((name.to_owned(), selected));
    }
    if html.contains(r#"name="campaigns" value="1" checked"#) {
        values.push(("campaigns".to_owned(), "1".to_owned()));
    }
    values
}

fn set(values: &mut [(String, String)], name: &str, value: &str) {
    let field = values
        .iter_mut()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no field {name}"));
    field.1 = value.to_owned();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_choose_channels_and_the_gateway_gets_signed_messages() {
    let w = world(3600).await;
    let citizen = w.api(CITIZEN).await;
    let official = w.api(&w.city_official()).await;

    // The gateway needs a phone number; a refusal changes nothing.
    let (status, problem) = citizen
        .put_json(
            "/api/v1/notifications/settings",
            json!({ "choices": [{ "kind": "answered", "channel": "gateway", "delivery": "immediate" }] }),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "phone", "{problem}");
    assert_eq!(delivery(&citizen, "answered", "gateway").await, "off");

    let view = ok(citizen
        .put_json(
            "/api/v1/notifications/settings",
            json!({
                "choices": [
                    { "kind": "answered", "channel": "email", "delivery": "off" },
                    { "kind": "answered", "channel": "gateway", "delivery": "immediate" },
                    { "kind": "taken_into_work", "channel": "gateway", "delivery": "immediate" },
                ],
                "phone": "8 (912) 345-67-89",
            }),
        )
        .await);
    assert_eq!(view["phone"], "•••6789");
    assert_eq!(delivery(&citizen, "answered", "email").await, "off");

    let (id, number) = w.submit(&citizen).await;
    take_and_answer(&official, id).await;
    let items = centre(&citizen).await;
    w.wait_mails_to(CITIZEN, 2).await;
    w.settle().await;
    // E-mail: registration and taking into work (sent in any order), not the answer.
    let mut sent = subjects(&w.mails_to(CITIZEN));
    sent.sort();
    assert_eq!(
        sent,
        [
            format!("Обращение № {number} взято в работу"),
            format!("Обращение № {number} зарегистрировано"),
        ]
    );
    entry(&items, "answered", id);

    // The gateway: one signed POST for each of the two kinds, keyed by the notification.
    let posts = w.gateway_posts();
    assert_eq!(posts.len(), 2, "{posts:?}");
    let now = time::OffsetDateTime::now_utc();
    let mut kinds = Vec::new();
    for (headers, body) in &posts {
        let signature = headers["x-otklik-signature"].to_str().unwrap();
        assert!(otklik_notify::webhook::verify_signature(
            &gateway_secret(),
            signature,
            body,
            now,
            Duration::from_secs(300)
        ));
        assert!(!otklik_notify::webhook::verify_signature(
            &"y".repeat(32),
            signature,
            body,
            now,
            Duration::from_secs(300)
        ));
        assert_eq!(headers["content-type"], "application/json");
        let message: Value = serde_json::from_slice(body).unwrap();
        let kind = message["kind"].as_str().unwrap().to_owned();
        let n = entry(&items, &kind, id);
        let key = format!("n{}.gateway", n["id"]);
        assert_eq!(headers["idempotency-key"], key.as_str());
        assert_eq!(message["id"], key.as_str());
        assert_eq!(message["to"], "+79123456789");
        assert_eq!(message["subject"], n["subject"]);
        let link = w.app.url(&format!("/submissions/{id}"));
        assert_eq!(message["link"], link.as_str());
        assert!(message["text"].as_str().unwrap().contains(&link));
        kinds.push(kind);
    }
    kinds.sort();
    assert_eq!(kinds, ["answered", "taken_into_work"]);

    // The settings page, as Maria: a bad phone shows the error and saves nothing …
    let maria = w.api(OTHER_CITIZEN).await;
    let before = ok(maria.get("/api/v1/notifications/settings").await);
    let browser = browser_of(&w.app, OTHER_CITIZEN, DEMO_PASSWORD).await;
    let settings_url = w.app.url("/account/notifications/settings");
    let (status, html) = page(&browser, &settings_url).await;
    assert_eq!(status, 200);
    let mut values = form_values(&html);
    assert!(values
        .iter()
        .any(|(n, v)| n == "email.answered" && v == "immediate"));
    set(&mut values, "email.answered", "off");
    set(&mut values, "gateway.answered", "immediate");
    values.push(("csrf".to_owned(), csrf_in(&html)));
    let mut bad = values.clone();
    bad.push(("phone".to_owned(), "12ab".to_owned()));
    let r = browser.post(&settings_url).form(&bad).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Введите номер телефона, например +7 912 345-67-89."),
        "{html}"
    );
    assert!(
        html.contains(r#"value="12ab""#),
        "what was typed is kept: {html}"
    );
    assert_eq!(
        ok(maria.get("/api/v1/notifications/settings").await),
        before
    );

    // … a good one saves.
    values.push(("phone".to_owned(), "+7 912 000-11-22".to_owned()));
    let r = browser
        .post(&settings_url)
        .form(&values)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        "/account/notifications/settings?saved=1"
    );
    let after = ok(maria.get("/api/v1/notifications/settings").await);
    assert_eq!(after["phone"], "•••1122");
    assert_eq!(delivery(&maria, "answered", "email").await, "off");
    assert_eq!(delivery(&maria, "answered", "gateway").await, "immediate");
    assert_eq!(delivery(&maria, "registered", "email").await, "immediate");
    assert_eq!(after["campaigns"], before["campaigns"]);
    let (_, html) = page(&browser, &format!("{settings_url}?saved=1")).await;
    assert!(html.contains("Настройки сохранены."));
    assert!(html.contains(r#"value="+79120001122""#), "{html}");
    w.app.stop().await;
}

// --- 6. marking read ----------------------------------------------------------------------------

/// The unread count in the menu's badge, if shown.
fn badge(html: &str) -> Option<u64> {
    let at = html.find(r#"<span class="badge">"#)? + r#"<span class="badge">"#.len();
    let digits: String = html[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    Some(digits.parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marking_read_touches_only_ones_own() {
    let w = world(3600).await;
    let ivan = w.api(CITIZEN).await;
    let maria = w.api(OTHER_CITIZEN).await;
    let (first, _) = w.submit(&ivan).await;
    let (second, _) = w.submit(&ivan).await;
    let (marias, _) = w.submit(&maria).await;
    let items = centre(&ivan).await;
    let ivan_first = entry(&items, "registered", first)["id"].as_i64().unwrap();
    entry(&items, "registered", second);
    let maria_items = centre(&maria).await;
    let maria_n = entry(&maria_items, "registered", marias)["id"]
        .as_i64()
        .unwrap();
    assert_eq!(unread(&ivan).await, Some(2));

    let browser = browser_of(&w.app, CITIZEN, DEMO_PASSWORD).await;
    let centre_url = w.app.url("/account/notifications");
    let (status, html) = page(&browser, &centre_url).await;
    assert_eq!(status, 200);
    assert_eq!(badge(&html), Some(2), "{html}");

    // The API: one's own is marked, another's is not.
    let r = ok(ivan
        .post(
            "/api/v1/notifications/read",
            json!({ "ids": [ivan_first, maria_n] }),
        )
        .await);
    assert_eq!(r["changed"], 1);
    assert_eq!(unread(&ivan).await, Some(1));
    assert_eq!(unread(&maria).await, Some(1));
    assert_eq!(
        entry(&centre(&ivan).await, "registered", first)["read"],
        true
    );
    assert_eq!(
        entry(&centre(&ivan).await, "registered", second)["read"],
        false
    );

    // The page: another's id changes nothing; then all of one's own.
    let (_, html) = page(&browser, &centre_url).await;
    assert_eq!(badge(&html), Some(1));
    let csrf = csrf_in(&html);
    let read_url = w.app.url("/account/notifications/read");
    let r = browser
        .post(&read_url)
        .form(&[("csrf", csrf.as_str()), ("id", &maria_n.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(unread(&maria).await, Some(1));
    assert_eq!(unread(&ivan).await, Some(1));
    let r = browser
        .post(&read_url)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/account/notifications");
    assert_eq!(unread(&ivan).await, Some(0));
    assert_eq!(unread(&maria).await, Some(1));
    let (_, html) = page(&browser, &centre_url).await;
    assert_eq!(badge(&html), None, "{html}");
    assert!(html.contains("непрочитанных: 0"));

    // Without the form token nothing is marked.
    let browser = browser_of(&w.app, OTHER_CITIZEN, DEMO_PASSWORD).await;
    let r = browser
        .post(&read_url)
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(unread(&maria).await, Some(1));
    w.app.stop().await;
}

/// How many of one's notifications are unread, as the API says.
async fn unread(api: &Api) -> Option<u64> {
    ok(api.get("/api/v1/notifications").await)["unread"].as_u64()
}

// --- 7. templates -------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_edits_checks_and_resets_templates() {
    let w = world(3600).await;
    let citizen = w.api(CITIZEN).await;
    let template_url = w.app.url("/console/notifications/templates/registered");

    // Nobody but the operator.
    let official = w.city_official();
    for email in [CITIZEN, official.as_str()] {
        let browser = browser_of(&w.app, email, DEMO_PASSWORD).await;
        let (_, account) = page(&browser, &w.app.url("/account/notifications")).await;
        let csrf = csrf_in(&account);
        for url in [w.app.url("/console/notifications"), template_url.clone()] {
            assert_eq!(page(&browser, &url).await.0, 403, "{email} {url}");
        }
        let r = browser
            .post(&template_url)
            .form(&[
                ("csrf", csrf.as_str()),
                ("action", "save"),
                ("subject", "Взлом {{ number }}"),
                ("text", "{{ link }}"),
                ("html", "<p>{{ link }}</p>"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{email}");
    }
    assert!(w
        .app
        .store
        .notification_templates()
        .await
        .unwrap()
        .is_empty());

    let operator = browser_of(&w.app, OPERATOR, DEMO_PASSWORD).await;
    let (status, html) = page(&operator, &w.app.url("/console/notifications")).await;
    assert_eq!(status, 200);
    assert!(html.contains("/console/notifications/templates/registered"));
    let (status, html) = page(&operator, &template_url).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Обращение № {{ number }} зарегистрировано"),
        "{html}"
    );
    let csrf = csrf_in(&html);
    let save = |subject: &'static str, text: &'static str, action: &'static str| {
        let csrf = csrf.clone();
        let operator = operator.clone();
        let url = template_url.clone();
        async move {
            operator
                .post(&url)
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("action", action),
                    ("subject", subject),
                    ("text", text),
                    (
                        "html",
                        "<p>Обращение {{ number }}: <a href=\"{{ link }}\">открыть</a></p>",
                    ),
                ])
                .send()
                .await
                .unwrap()
        }
    };

    // Saved: the next registration's e-mail and the centre use it; the footer stays.
    let r = save(
        "Ваше обращение {{ number }} принято",
        "Номер {{ number }}.\nСсылка: {{ link }}",
        "save",
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        "/console/notifications/templates/registered?done=saved"
    );
    let (id, number) = w.submit(&citizen).await;
    let mail = w.wait_mails_to(CITIZEN, 1).await.remove(0);
    let edited = format!("Ваше обращение {number} принято");
    assert_eq!(mail.subject(), Some(edited.clone()));
    let text = mail.text_body();
    assert!(text.contains(&format!("Номер {number}.")), "{text}");
    assert!(text.contains(&unsubscribe_url(&mail)), "the footer: {text}");
    assert_eq!(
        entry(&centre(&citizen).await, "registered", id)["subject"],
        edited.as_str()
    );

    // An unknown placeholder: refused with the reason, nothing stored.
    let r = save(
        "Обращение {{ number }}",
        "Здравствуйте, {{ full_name }}! {{ link }}",
        "save",
    )
    .await;
    assert_eq!(r.status(), 400);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("В шаблоне есть подстановка, которой нет в списке допустимых."),
        "{html}"
    );
    let stored = w.app.store.notification_templates().await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].subject, "Ваше обращение {{ number }} принято");
    let (_, number) = w.submit(&citizen).await;
    let mails = w.wait_mails_to(CITIZEN, 2).await;
    assert_eq!(
        mails[1].subject(),
        Some(format!("Ваше обращение {number} принято"))
    );

    // Back to the shipped text.
    let r = save("", "", "reset").await;
    assert_eq!(r.status(), 303);
    assert!(w
        .app
        .store
        .notification_templates()
        .await
        .unwrap()
        .is_empty());
    let (_, html) = page(&operator, &template_url).await;
    assert!(html.contains("Обращение № {{ number }} зарегистрировано"));
    let (_, number) = w.submit(&citizen).await;
    let mails = w.wait_mails_to(CITIZEN, 3).await;
    assert_eq!(
        mails[2].subject(),
        Some(format!("Обращение № {number} зарегистрировано"))
    );
    w.app.stop().await;
}

// --- 8. where a citizen lives ----------------------------------------------------------------

/// A citizen names their region, then one of its municipalities (campaigns reach people by
/// them); a municipality that is not the region's is refused and changes nothing; staff
/// have no such form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_says_where_they_live() {
    let w = world(3600).await;
    let settings_url = w.app.url("/account/notifications/settings");
    let home_url = w.app.url("/account/notifications/home");
    let browser = browser_of(&w.app, CITIZEN, DEMO_PASSWORD).await;
    let me = ok(w.api(CITIZEN).await.get("/api/v1/me").await);
    let me = otklik_domain::UserId(me["id"].as_i64().unwrap());
    let (status, html) = page(&browser, &settings_url).await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"<h2 id="home">"#));
    let csrf = csrf_in(&html);
    let region = w.region.to_string();
    let r = browser
        .post(&home_url)
        .form(&[
            ("csrf", csrf.as_str()),
            ("region", region.as_str()),
            ("municipality", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (_, html) = page(&browser, &format!("{settings_url}?saved=home")).await;
    assert!(html.contains("Место жительства сохранено"));
    let select = &html[html
        .find(r#"id="f-home-municipality""#)
        .expect("the region's municipalities")..];
    let first = &select[select.find(r#"<option value=""#).unwrap() + 15..];
    let first = &first[first.find(r#"<option value=""#).unwrap() + 15..];
    let municipality = first[..first.find('"').unwrap()].to_owned();
    let r = browser
        .post(&home_url)
        .form(&[
            ("csrf", csrf.as_str()),
            ("region", region.as_str()),
            ("municipality", municipality.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let stored = w.app.store.notification_settings(me).await.unwrap();
    assert_eq!(stored.home_region, Some(otklik_domain::RegionId(w.region)));
    assert_eq!(
        stored.home_municipality.map(|m| m.0.to_string()),
        Some(municipality.clone())
    );
    // Not a municipality of the region: 400 with the message, nothing changed.
    let r = browser
        .post(&home_url)
        .form(&[
            ("csrf", csrf.as_str()),
            ("region", region.as_str()),
            ("municipality", "999999999"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("error-summary"));
    assert_eq!(w.app.store.notification_settings(me).await.unwrap(), stored);
    // Staff have no place form, and may not post one.
    let official = w.app.official_of(CITY).email.clone();
    let staff = browser_of(&w.app, &official, DEMO_PASSWORD).await;
    let (_, html) = page(&staff, &settings_url).await;
    assert!(!html.contains(r#"<h2 id="home">"#));
    let r = staff
        .post(&home_url)
        .form(&[
            ("csrf", csrf_in(&html).as_str()),
            ("region", region.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    w.app.stop().await;
}
