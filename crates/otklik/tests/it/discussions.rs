//! Public discussions through the real server: an organiser opens one, citizens comment
//! and say where they stand (once), moderators publish and reject, the public sees only
//! published comments and never a name.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;

use crate::api::{ok, World};
use crate::integrations::id_named;
use crate::support::moscow;
use crate::support::{Backend, OPERATOR, OTHER_CITIZEN};

const CITY: &str = "Администрация города Твери";
const TRANSPORT: &str = "Министерство транспорта Тверской области";

async fn scenario(backend: Backend) {
    let w = World::start(backend).await;
    let app = &w.app;
    let city = w.official(CITY).await;
    let transport = w.official(TRANSPORT).await;
    let operator = app.api(&app.token(OPERATOR).await);
    let maria = app.api(&app.token(OTHER_CITIZEN).await);

    let (status, refused) = city
        .post(
            "/api/v1/discussions",
            json!({"title": "Ок", "proposal": "коротко", "opens_at": moscow(-1), "closes_at": "завтра"}),
        )
        .await;
    assert_eq!(status, 422, "{refused}");
    let codes: Vec<(&str, &str)> = refused["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert!(codes.contains(&("title", "too_short")), "{refused}");
    assert!(codes.contains(&("proposal", "too_short")), "{refused}");
    assert!(
        codes.contains(&("closes_at", "not_a_datetime")),
        "{refused}"
    );
    let (status, _) = w
        .citizen
        .post(
            "/api/v1/discussions",
            json!({"title": "Моё", "proposal": "x", "opens_at": "", "closes_at": ""}),
        )
        .await;
    assert_eq!(status, 403);

    // A regional organisation runs discussions in its own region only.
    let tver = json!(id_named(&city, "/api/v1/regions", "Тверская область").await);
    let moscow_region = json!(id_named(&city, "/api/v1/regions", "Москва").await);
    let discussion = |region: &serde_json::Value| {
        json!({"title": "Проект планировки набережной",
               "proposal": "Предлагается расширить пешеходную зону набережной Степана Разина.",
               "opens_at": moscow(-1), "closes_at": moscow(60 * 24 * 7), "region_id": region})
    };
    for elsewhere in [serde_json::Value::Null, moscow_region] {
        let (status, refused) = city
            .post("/api/v1/discussions", discussion(&elsewhere))
            .await;
        assert_eq!(status, 422, "{refused}");
        assert_eq!(refused["errors"][0]["code"], "outside_organisation_region");
    }
    let (status, d) = city.post("/api/v1/discussions", discussion(&tver)).await;
    assert_eq!(status, 201, "{d}");
    assert_eq!(d["phase"], "open");
    let id = d["id"].as_i64().unwrap();
    let comments = format!("/api/v1/discussions/{id}/comments");

    let (status, mine) = w
        .citizen
        .post(&comments, json!({"body": "Поддерживаю, но нужны урны"}))
        .await;
    assert_eq!(
        (status, mine["status"].as_str()),
        (201, Some("pending")),
        "{mine}"
    );
    let (status, hers) = maria
        .post(
            &comments,
            json!({"body": "Телефон 8-900-000-00-00, звоните"}),
        )
        .await;
    assert_eq!(status, 201, "{hers}");
    let (status, bad) = maria.post(&comments, json!({"body": "ok"})).await;
    assert_eq!(
        (status, bad["errors"][0]["code"].as_str()),
        (422, Some("too_short"))
    );
    let (status, _) = city
        .post(&comments, json!({"body": "Ответ ведомства"}))
        .await;
    assert_eq!(status, 403, "staff do not comment as citizens");

    // Nothing is public before moderation; the queue is the moderators' alone.
    let public = ok(app.api("").get(&format!("/api/v1/discussions/{id}")).await);
    assert_eq!(public["comments"].as_array().unwrap().len(), 0);
    assert_eq!(w.citizen.get(&comments).await.0, 403);
    assert_eq!(transport.get(&comments).await.0, 403);
    let queue = ok(city.get(&comments).await);
    assert_eq!(queue.as_array().unwrap().len(), 2);
    assert!(
        queue.to_string().find("Петров").is_none(),
        "no names: {queue}"
    );

    let moderation = |comment: &serde_json::Value| {
        format!(
            "/api/v1/discussions/{id}/comments/{}/moderation",
            comment["id"]
        )
    };
    let (status, _) = transport
        .post(&moderation(&mine), json!({"action": "publish"}))
        .await;
    assert_eq!(status, 403, "another organisation does not moderate");
    let (status, done) = city
        .post(&moderation(&mine), json!({"action": "publish"}))
        .await;
    assert_eq!(
        (status, done["status"].as_str()),
        (200, Some("published")),
        "{done}"
    );
    let (status, refused) = city
        .post(&moderation(&hers), json!({"action": "reject"}))
        .await;
    assert_eq!(
        (status, refused["errors"][0]["field"].as_str()),
        (422, Some("reason"))
    );
    let (status, done) = operator
        .post(
            &moderation(&hers),
            json!({"action": "reject", "reason": "personal_data"}),
        )
        .await;
    assert_eq!(
        (status, done["status"].as_str()),
        (200, Some("rejected")),
        "{done}"
    );
    let (status, again) = city
        .post(&moderation(&hers), json!({"action": "publish"}))
        .await;
    assert_eq!(
        (status, again["code"].as_str()),
        (409, Some("already_rejected"))
    );

    // Positions: once per person.
    let support = format!("/api/v1/discussions/{id}/support");
    assert_eq!(
        w.citizen.post(&support, json!({"stance": "for"})).await.0,
        204
    );
    let (status, again) = w.citizen.post(&support, json!({"stance": "against"})).await;
    assert_eq!(
        (status, again["code"].as_str()),
        (409, Some("already_supported"))
    );
    assert_eq!(
        maria.post(&support, json!({"stance": "against"})).await.0,
        204
    );
    let (status, bad) = maria.post(&support, json!({"stance": "maybe"})).await;
    assert_eq!(status, 422, "{bad}");

    let public = ok(app.api("").get(&format!("/api/v1/discussions/{id}")).await);
    let shown: Vec<&str> = public["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].as_str().unwrap())
        .collect();
    assert_eq!(shown, ["Поддерживаю, но нужны урны"]);
    assert_eq!(
        (
            public["support_for"].as_u64(),
            public["support_against"].as_u64()
        ),
        (Some(1), Some(1))
    );
    let listed = ok(app.api("").get("/api/v1/discussions").await);
    assert!(listed.as_array().unwrap().iter().any(|d| d["id"] == id));
    let rejected = ok(city.get(&format!("{comments}?status=rejected")).await);
    assert_eq!(rejected[0]["reason"], "personal_data");
    assert_eq!(city.get(&format!("{comments}?status=hidden")).await.0, 422);
    w.app.stop().await;
}

#[tokio::test]
async fn discussions_on_sqlite() {
    scenario(Backend::Sqlite).await;
}

#[tokio::test]
async fn discussions_on_postgres() {
    scenario(Backend::Postgres).await;
}
