//! The regional coordinator, the paused clock and the extension through the real API and
//! pages: what the coordinator of a region may do, and what nobody else may.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{json, Value};

use crate::api::{ok, path, refused, World, POTHOLES, TRANSPORT};
use crate::support::Backend;

/// No rule in Тверская область: the region's coordinator receives these.
const BENEFITS: &str = "Выплаты и пособия";
const TVER_CENTRE: &str = "Центр управления регионом Тверской области";

fn actions(view: &Value) -> Vec<String> {
    view["available_actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect()
}

async fn coordination(backend: Backend) {
    let w = World::start(backend).await;
    let created = w.submit(BENEFITS).await;
    let id = created["id"].clone();
    assert_eq!(created["organisation"], TVER_CENTRE);
    let tver = w
        .app
        .api(&w.app.token("coordinator.tver@demo.otklik.local").await);
    let nsk = w
        .app
        .api(&w.app.token("coordinator.nsk@demo.otklik.local").await);
    let analyst = w.app.api(&w.app.token("analyst@demo.otklik.local").await);

    // The coordinator's queue is the region's; another region's coordinator sees nothing.
    let queue = ok(tver.get("/api/v1/submissions").await);
    assert!(queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["id"] == id));
    let other = ok(nsk.get("/api/v1/submissions").await);
    assert!(!other["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["id"] == id));
    refused(nsk.get(&path(&id, "")).await, 404, "not_found");
    // The analyst sees no submission at all.
    refused(analyst.get("/api/v1/submissions").await, 403, "forbidden");
    refused(analyst.get(&path(&id, "")).await, 404, "not_found");

    // Moderation: the coordinator fixes the category; the rules route it again.
    let seen = ok(tver.get(&path(&id, "")).await);
    assert_eq!(actions(&seen), ["redirect", "reject", "recategorise"]);
    let pothole = w.subcategory_id(POTHOLES);
    refused(
        nsk.post(
            &path(&id, "recategorise"),
            json!({"subcategory_id": pothole, "reason": "Это дорога"}),
        )
        .await,
        404,
        "not_found",
    );
    let bad = tver
        .post(
            &path(&id, "recategorise"),
            json!({"subcategory_id": 999_999, "reason": "Это дорога"}),
        )
        .await;
    assert_eq!(bad.0, 422, "{}", bad.1);
    assert_eq!(bad.1["errors"][0]["field"], "subcategory");
    let moved = ok(tver
        .post(
            &path(&id, "recategorise"),
            json!({"subcategory_id": pothole, "reason": "Речь о яме на дороге"}),
        )
        .await);
    assert_eq!(moved["organisation"], TRANSPORT);

    // The official asks the citizen; the clock stops until the citizen answers.
    let official = w.official(TRANSPORT).await;
    ok(official.post(&path(&id, "take-into-work"), json!({})).await);
    let asked = ok(official
        .post(
            &path(&id, "request-clarification"),
            json!({"reason": "Уточните адрес"}),
        )
        .await);
    assert_eq!(asked["status"], "awaiting_clarification");
    refused(
        official
            .post(&path(&id, "clarify"), json!({"text": "Сам уточню"}))
            .await,
        403,
        "forbidden",
    );
    let mine = ok(w.citizen.get(&path(&id, "")).await);
    assert_eq!(actions(&mine), ["clarify"]);
    let clarified = ok(w
        .citizen
        .post(&path(&id, "clarify"), json!({"text": "ул. Советская, 5"}))
        .await);
    assert_eq!(clarified["status"], "in_progress");
    // Messages are not extended.
    refused(
        official
            .post(
                &path(&id, "extend"),
                json!({"days": 10, "reason": "Нужна проверка"}),
            )
            .await,
        409,
        "not_an_appeal",
    );

    // An answer that does not answer goes back.
    ok(official
        .post(&path(&id, "answer"), json!({"text": "Передано подрядчику"}))
        .await);
    refused(
        official
            .post(&path(&id, "return-answer"), json!({"reason": "Нет сроков"}))
            .await,
        403,
        "forbidden",
    );
    let returned = ok(tver
        .post(
            &path(&id, "return-answer"),
            json!({"reason": "Нет сроков работ"}),
        )
        .await);
    assert_eq!(returned["status"], "in_progress");
    let kinds: Vec<&str> = returned["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "registered",
            "recategorised",
            "taken_into_work",
            "clarification_requested",
            "clarified",
            "answered",
            "answer_returned"
        ]
    );
    let incidents = w
        .app
        .store
        .incidents(&otklik_store::IncidentQuery {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(incidents.items.len(), 1);
    assert_eq!(incidents.items[0].kind.as_str(), "answer_rejected");
    w.app.stop().await;
}

#[tokio::test]
async fn the_coordinator_moderates_and_the_clock_pauses_sqlite() {
    coordination(Backend::Sqlite).await;
}

#[tokio::test]
async fn the_coordinator_moderates_and_the_clock_pauses_postgres() {
    coordination(Backend::Postgres).await;
}

#[tokio::test]
async fn an_appeal_is_extended_once_with_the_reason_shown() {
    let w = World::start(Backend::Sqlite).await;
    let created = w
        .submit_as(&w.citizen, POTHOLES, "Тверская область", "appeal")
        .await;
    let id = created["id"].clone();
    let official = w.official(TRANSPORT).await;
    let bad = official
        .post(&path(&id, "extend"), json!({"days": 31, "reason": "Долго"}))
        .await;
    assert_eq!(bad.0, 422, "{}", bad.1);
    assert_eq!(bad.1["errors"][0]["field"], "days");
    let extended = ok(official
        .post(
            &path(&id, "extend"),
            json!({"days": 30, "reason": "Нужна выездная проверка"}),
        )
        .await);
    assert!(extended["deadline_at"].as_str().unwrap() > created["deadline_at"].as_str().unwrap());
    refused(
        official
            .post(
                &path(&id, "extend"),
                json!({"days": 5, "reason": "Ещё немного"}),
            )
            .await,
        409,
        "extension_used",
    );
    // The citizen sees the extension and its reason in the history.
    let mine = ok(w.citizen.get(&path(&id, "")).await);
    let extension = mine["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "extended")
        .unwrap()
        .clone();
    assert_eq!(extension["reason"], "Нужна выездная проверка");
    w.app.stop().await;
}

#[tokio::test]
async fn staff_pages_offer_the_new_actions_and_show_the_time_left() {
    let w = World::start(Backend::Sqlite).await;
    let created = w.submit(BENEFITS).await;
    let id = created["id"].as_i64().unwrap();
    let coordinator =
        crate::pages::Browser::signed_in(&w.app, "coordinator.tver@demo.otklik.local").await;
    let (status, queue) = coordinator.page("/coordination").await;
    assert_eq!(status, 200);
    assert!(queue.contains(&format!("/submissions/{id}")), "{queue}");
    assert!(queue.contains("осталось"), "the time left is on every card");
    let (status, page) = coordinator.page(&format!("/submissions/{id}")).await;
    assert_eq!(status, 200);
    assert!(
        page.contains(r#"action="/submissions/"#) && page.contains("/recategorise\""),
        "{page}"
    );
    assert!(
        page.contains("Маршрутизация") && page.contains("координатору региона"),
        "{page}"
    );
    // Officials have no coordination queue; the citizen sees no routing details.
    let official =
        crate::pages::Browser::signed_in(&w.app, &w.app.official_of(TRANSPORT).email).await;
    assert_eq!(official.page("/coordination").await.0, 403);
    let citizen = crate::pages::Browser::signed_in(&w.app, crate::support::CITIZEN).await;
    let (_, own) = citizen.page(&format!("/submissions/{id}")).await;
    assert!(!own.contains("Маршрутизация"));
    w.app.stop().await;
}

/// Clients that hang up mid-request must not leave a database connection inside a
/// half-done transaction: every later request still succeeds.
#[tokio::test]
async fn clients_that_hang_up_do_not_break_the_server() {
    let w = World::start(Backend::Sqlite).await;
    let body = w.body(POTHOLES, "Тверская область", "message").await;
    let token = w.citizen.token.clone();
    let url = w.app.url("/api/v1/submissions");
    let mut tasks = Vec::new();
    // Timeouts from 1 to 40 ms cut requests off at every stage of their work.
    for round in 0..160u64 {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_millis(1 + round % 40))
            .build()
            .unwrap();
        let (token, url, body) = (token.clone(), url.clone(), body.clone());
        let proof = w.app.url("/api/v1/log/proof/inclusion?index=0&size=1");
        tasks.push(tokio::spawn(async move {
            let _ = client
                .post(&url)
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await;
            let _ = client.get(&proof).send().await;
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    // Whatever was cut off, the server answers every request afterwards.
    for _ in 0..10 {
        let created = w.submit(POTHOLES).await;
        let id = created["id"].clone();
        ok(w.citizen.get(&path(&id, "")).await);
        ok(w.citizen
            .get(&format!("/api/v1/submissions/{id}/receipts"))
            .await);
    }
    let size = ok(w.citizen.get("/api/v1/log").await)["size"]
        .as_u64()
        .unwrap();
    ok(w.citizen
        .get(&format!("/api/v1/log/proof/inclusion?index=0&size={size}"))
        .await);
    w.app.stop().await;
}
