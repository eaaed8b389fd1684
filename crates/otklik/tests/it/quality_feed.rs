//! The service-quality feed over real HTTP: ratings of answers become opinions on the
//! federal scale (the comment adds the criteria it speaks to, the rest stay empty);
//! a receiver pulls them with a cursor that never skips or repeats; the push reaches a
//! receiving system on loopback, signed, retried with the same key until it answers 2xx,
//! and after a restart sends only what is new. Posts from social-media monitoring that
//! judge a service join as `social_post` records, without their text.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::api::{ok, World};
use crate::integrations::{receiver, Received};
use crate::support::{spawn_app_with, Backend, OPERATOR};

const TRANSPORT: &str = "Министерство транспорта Тверской области";
const SECRET: &str = "quality-feed-secret-0123456789abcdef";

async fn answered_and_rated(w: &World, score: u8, comment: &str) {
    let transport = w.official(TRANSPORT).await;
    let body = w
        .body("Ямы и выбоины на дороге", "Тверская область", "message")
        .await;
    let (status, created) = w.citizen.post("/api/v1/submissions", body).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();
    let path = |action: &str| format!("/api/v1/submissions/{id}/{action}");
    ok(transport.post(&path("take-into-work"), json!({})).await);
    ok(transport
        .post(
            &path("answer"),
            json!({"text": "Яма заделана, работы приняты."}),
        )
        .await);
    ok(w.citizen
        .post(&path("rate"), json!({"score": score, "comment": comment}))
        .await);
}

/// The ids of the opinions in the accepted (2xx) pushes, in order, and every push's key.
fn accepted(received: &Received, failures: usize) -> (Vec<String>, Vec<String>) {
    let log = received.lock().unwrap();
    let keys = log
        .iter()
        .map(|(h, _)| h["idempotency-key"].to_str().unwrap().to_owned())
        .collect();
    let ids = log
        .iter()
        .skip(failures)
        .flat_map(|(_, body)| {
            let body: Value = serde_json::from_slice(body).unwrap();
            body["opinions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    (ids, keys)
}

async fn wait_for(received: &Received, failures: usize, want: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (ids, _) = accepted(received, failures);
        if ids.len() >= want || Instant::now() > deadline {
            return ids;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opinions_are_pulled_by_cursor_and_pushed_once() {
    let (url, received) = receiver(2).await;
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.web.quality_feed = otklik_web::quality::QualityFeedConfig {
            push_url: Some(url.clone()),
            secret: Some(otklik_web::config::Secret::new(SECRET.to_owned())),
            poll_interval_ms: 50,
            retry_base_seconds: 1,
            retry_max_seconds: 1,
            ..Default::default()
        };
    })
    .await;
    let mut w = World::of(app).await;
    // Mapping version 2: the answer's two months are the service's time, not a queue
    // (version 1's stems read «ждали» as waiting and did not know «два месяца»).
    answered_and_rated(
        &w,
        2,
        "Ждали ответа два месяца, на сайте ничего не разъяснили",
    )
    .await;
    answered_and_rated(&w, 5, "").await;

    // Pull: both opinions, mapped; the cursor moves past them and stays.
    let operator = w.app.api(&w.app.token(OPERATOR).await);
    let page = ok(operator.get("/api/v1/quality-feed").await);
    assert_eq!(page["version"], "2");
    let opinions = page["opinions"].as_array().unwrap();
    assert_eq!(opinions.len(), 2, "{page}");
    let first = &opinions[0];
    assert_eq!(first["source"], "answer_rating");
    assert_eq!(first["overall"], 2);
    assert_eq!(
        first["criteria"],
        json!({
            "service_time": 2,
            "waiting_time": null,
            "staff_courtesy_competence": 2,
            "premises_comfort": null,
            "information_availability": 2
        })
    );
    assert_eq!(first["region"]["iso"], "RU-TVE");
    assert_eq!(first["organisation"]["name"], TRANSPORT);
    assert_eq!(first["service"]["name"], "Ямы и выбоины на дороге");
    assert!(
        first.get("author").is_none() && !page.to_string().contains("сайте"),
        "no texts"
    );
    assert_eq!(opinions[1]["criteria"]["service_time"], Value::Null);
    assert_eq!(opinions[1]["criteria"]["staff_courtesy_competence"], 5);
    let next = page["next_cursor"].as_u64().unwrap();
    let rest = ok(operator
        .get(&format!("/api/v1/quality-feed?cursor={next}"))
        .await);
    assert_eq!(
        (
            rest["opinions"].as_array().unwrap().len(),
            &rest["next_cursor"]
        ),
        (0, &json!(next))
    );
    // A page of one, then the next from its cursor: the same two, in order.
    let one = ok(operator.get("/api/v1/quality-feed?limit=1").await);
    assert_eq!(one["opinions"][0]["id"], first["id"]);
    let after = one["next_cursor"].as_u64().unwrap();
    assert_eq!(after, first["cursor"].as_u64().unwrap() + 1);
    let two = ok(operator
        .get(&format!("/api/v1/quality-feed?cursor={after}&limit=1"))
        .await);
    assert_eq!(two["opinions"][0]["id"], opinions[1]["id"]);
    // Who may read it.
    let analyst = w.app.api(&w.app.token("analyst@demo.otklik.local").await);
    assert_eq!(analyst.get("/api/v1/quality-feed").await.0, 200);
    assert_eq!(w.citizen.get("/api/v1/quality-feed").await.0, 403);
    assert_eq!(
        w.official(TRANSPORT)
            .await
            .get("/api/v1/quality-feed")
            .await
            .0,
        403
    );
    assert_eq!(operator.get("/api/v1/quality-feed?limit=0").await.0, 422);

    // Push: two failures, then accepted; each attempt had its range's key and a valid
    // signature; the two opinions arrived once.
    let ids = wait_for(&received, 2, 2).await;
    let pulled: Vec<String> = opinions
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, pulled);
    let (_, keys) = accepted(&received, 2);
    // Every attempt's key names its own range; the retries start from the same cursor
    // (they may carry opinions that arrived meanwhile, and then have another key, so
    // that a receiver deduplicating by key does not drop them).
    let mut first_from = None;
    for (i, (headers, body)) in received.lock().unwrap().iter().enumerate() {
        let body: Value = serde_json::from_slice(body).unwrap();
        let from = first_from.get_or_insert_with(|| body["from_cursor"].clone());
        assert_eq!(
            headers["idempotency-key"].to_str().unwrap(),
            format!(
                "otklik-quality-{}-{}",
                body["from_cursor"], body["next_cursor"]
            )
        );
        if i < 3 {
            assert_eq!(
                &body["from_cursor"], from,
                "retries start from the same cursor"
            );
        }
    }
    assert!(keys.len() >= 3, "{keys:?}");
    for (headers, body) in received.lock().unwrap().iter() {
        let signature = headers["x-otklik-signature"].to_str().unwrap();
        assert!(otklik_notify::webhook::verify_signature(
            SECRET,
            signature,
            body,
            time::OffsetDateTime::now_utc(),
            Duration::from_secs(300),
        ));
    }
    // The receiver logs a push before it answers; the cursor moves after the answer.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut state = w.app.store.quality_push_state().await.unwrap();
    while state.delivered < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        state = w.app.store.quality_push_state().await.unwrap();
    }
    assert_eq!(
        (state.delivered, state.attempts, state.last_error),
        (2, 0, None)
    );

    // After a restart only what is new goes out.
    w.app.restart().await;
    answered_and_rated(&w, 4, "Вежливо и по существу").await;
    let ids = wait_for(&received, 2, 3).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (all, _) = accepted(&received, 2);
    assert_eq!(all.len(), 3, "nothing sent twice: {all:?} (after {ids:?})");
    assert_eq!(all.iter().collect::<BTreeSet<_>>().len(), 3);
}

/// A post about a service, ingested as the social pipeline would: on the feed as a
/// `social_post` record with the same shape, and nothing of the post but ids and scores.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_that_judge_a_service_are_opinions_without_their_text() {
    use otklik_social::RawPost;
    let app = spawn_app_with(Backend::Sqlite, |_| {}).await;
    let published = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
    let post = |n: i64, text: &str| {
        let base = crate::support::analysed_post(
            "Ямы и выбоины на дороге",
            &format!("-100_{n}"),
            text,
            published.unix_timestamp(),
        );
        otklik_store::AnalysedPost {
            post: RawPost {
                source: "vk-tver".to_owned(),
                url: Some(format!("https://vk.example.ru/wall-100_{n}")),
                ..base.post
            },
            ..base
        }
    };
    let rules = otklik_store::IngestRules {
        answer_hours: 24,
        cluster_hours: 72,
    };
    let posts = [
        post(1, "Яма на Советской у дома 3"),
        post(2, "Заявку рассматривали месяцами, ответили отпиской"),
    ];
    app.store
        .social_ingest(&posts, &[], &[], rules, time::OffsetDateTime::now_utc())
        .await
        .unwrap();
    let operator = app.api(&app.token(OPERATOR).await);
    let page = ok(operator.get("/api/v1/quality-feed").await);
    let opinions = page["opinions"].as_array().unwrap();
    assert_eq!(
        opinions.len(),
        1,
        "the problem report is not an opinion: {page}"
    );
    let o = &opinions[0];
    assert_eq!(o["source"], "social_post");
    assert!(o["id"].as_str().unwrap().starts_with("otklik-post-"), "{o}");
    assert_eq!(o["version"], "2");
    assert_eq!(o["overall"], 2);
    assert_eq!(
        o["criteria"],
        json!({
            "service_time": 2,
            "waiting_time": null,
            "staff_courtesy_competence": 2,
            "premises_comfort": null,
            "information_availability": null
        })
    );
    assert_eq!(o["region"]["iso"], "RU-TVE");
    assert_eq!(o["organisation"]["name"], TRANSPORT);
    assert_eq!(o["service"]["name"], "Ямы и выбоины на дороге");
    assert_eq!(
        o["observed_at"],
        otklik_web::api::rfc3339(published.replace_nanosecond(0).unwrap())
    );
    assert_eq!(
        o.as_object().unwrap().keys().collect::<Vec<_>>(),
        [
            "criteria",
            "cursor",
            "id",
            "observed_at",
            "organisation",
            "overall",
            "region",
            "service",
            "source",
            "version"
        ]
    );
    let body = page.to_string();
    for secret in ["месяцами", "отписк", "example.ru", "-100_", "vk-tver"] {
        assert!(!body.contains(secret), "{secret} in {body}");
    }
    // No receiver configured: pull only, and the opinion waits for a puller.
    let push = ok(operator.get("/api/v1/quality-feed/push").await);
    assert_eq!(
        (&push["state"], &push["receiver"], &push["pending"]),
        (&json!("off"), &Value::Null, &json!(1)),
        "{push}"
    );
}

/// A receiver that refuses every push: the operator sees the push failing, with the
/// refusal, the attempts, the next attempt and what waits — in the console and the API —
/// and never the receiver's path or query.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_push_shows_its_state_to_the_operator() {
    let (url, received) = receiver(usize::MAX).await;
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.web.quality_feed = otklik_web::quality::QualityFeedConfig {
            push_url: Some(format!("{url}?token=secret-in-query")),
            poll_interval_ms: 50,
            retry_base_seconds: 3_600,
            retry_max_seconds: 3_600,
            ..Default::default()
        };
    })
    .await;
    let w = World::of(app).await;
    let operator = w.app.api(&w.app.token(OPERATOR).await);
    let before = ok(operator.get("/api/v1/quality-feed/push").await);
    assert_eq!(
        (&before["state"], &before["pending"], &before["delivered"]),
        (&json!("up_to_date"), &json!(0), &json!(0)),
        "{before}"
    );
    answered_and_rated(&w, 3, "Долго, но сделали").await;

    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        let status = ok(operator.get("/api/v1/quality-feed/push").await);
        if status["state"] == "failing" || Instant::now() > deadline {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        received.lock().unwrap().len(),
        1,
        "retried only after an hour"
    );
    assert_eq!(status["state"], "failing", "{status}");
    assert_eq!(status["last_error"], "http_503");
    assert_eq!(
        (&status["attempts"], &status["pending"]),
        (&json!(1), &json!(1))
    );
    assert_eq!(status["pending_exact"], true);
    assert_eq!(status["delivered"], 0);
    let receiver_host = url.trim_end_matches("/hook");
    assert_eq!(status["receiver"], receiver_host);
    assert!(!status.to_string().contains("secret-in-query"), "{status}");
    let retry = time::OffsetDateTime::parse(
        status["next_attempt_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert!(retry > time::OffsetDateTime::now_utc() + time::Duration::minutes(20));
    assert!(status["next_cursor"].as_u64().unwrap() < status["log_size"].as_u64().unwrap());

    // The console says the same in words.
    let browser = w.app.browser();
    let login =
        crate::support::page_login(&w.app, &browser, OPERATOR, crate::support::DEMO_PASSWORD).await;
    assert_eq!(login.status(), 303);
    let html = crate::support::text_of(&browser, w.app.url("/console/quality-feed")).await;
    for shown in [
        "ошибка, передача повторяется",
        "получатель отклонил передачу (http_503)",
        receiver_host,
        "Следующая попытка",
    ] {
        assert!(html.contains(shown), "{shown} not in {html}");
    }
    assert!(!html.contains("secret-in-query"));
    let index = browser.get(w.app.url("/console")).send().await.unwrap();
    assert!(index
        .text()
        .await
        .unwrap()
        .contains("/console/quality-feed"));
}
