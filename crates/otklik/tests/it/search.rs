//! Full-text search through the real server: the index follows the database within a
//! moment of each change, Russian word forms match, every role finds exactly what it
//! may read (and never more, however well it matches), facets count what matched, the
//! page marks matches and escapes the text, and a rebuild from the log finds the same.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::api::{ok, World};
use crate::support::{page_login, Api, Backend, CITIZEN, DEMO_PASSWORD, OPERATOR, OTHER_CITIZEN};

const CITY: &str = "Администрация города Твери";
const TRANSPORT: &str = "Министерство транспорта Тверской области";

/// Searches until the index shows `want` hits (it follows the database within moments).
async fn search_until(api: &Api, query: &str, want: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, found) = api.get(&format!("/api/v1/search?{query}")).await;
        assert_eq!(status, 200, "{found}");
        if found["total"] == want || Instant::now() > deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn submissions(found: &Value) -> Vec<i64> {
    let mut ids: Vec<i64> = found["hits"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|h| h["submission_id"].as_i64())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

async fn scenario(backend: Backend) {
    let w = World::start(backend).await;
    let app = &w.app;
    let maria = app.api(&app.token(OTHER_CITIZEN).await);
    let mut ivan_text = w
        .body("Ямы и выбоины на дороге", "Тверская область", "message")
        .await;
    ivan_text["text"] = json!("Глубокая яма на дороге у школы № 5, машины объезжают по тротуару. <script>alert(1)</script>");
    let (status, pothole) = w.citizen.post("/api/v1/submissions", ivan_text).await;
    assert_eq!(status, 201, "{pothole}");
    let mut light = w
        .body("Неработающий светофор", "Тверская область", "message")
        .await;
    light["text"] =
        json!("Не работает светофор на перекрёстке Советской и Трёхсвятской, темно и опасно.");
    let (status, light) = maria.post("/api/v1/submissions", light).await;
    assert_eq!(status, 201, "{light}");
    let pothole_id = pothole["id"].as_i64().unwrap();
    let light_id = light["id"].as_i64().unwrap();

    let operator = app.api(&app.token(OPERATOR).await);
    // Other word forms, ё written as е, stop words ignored.
    let found = search_until(
        &operator,
        "q=%D1%8F%D0%BC%D1%8B+%D0%BD%D0%B0+%D0%B4%D0%BE%D1%80%D0%BE%D0%B3%D0%B0%D1%85",
        1,
    )
    .await;
    assert_eq!(
        submissions(&found),
        [pothole_id],
        "«ямы на дорогах»: {found}"
    );
    let found = search_until(
        &operator,
        "q=%D0%BF%D0%B5%D1%80%D0%B5%D0%BA%D1%80%D0%B5%D1%81%D1%82%D0%BA%D0%B8",
        1,
    )
    .await;
    assert_eq!(submissions(&found), [light_id], "«перекрестки»: {found}");

    // Each role within its reach: the transport ministry holds the pothole, the city the
    // traffic light; Ivan sees his own only.
    let transport = app.api(&app.token(&app.official_of(TRANSPORT).email.clone()).await);
    let city = app.api(&app.token(&app.official_of(CITY).email.clone()).await);
    let everything = "sort=newest&kind=submission";
    assert_eq!(
        submissions(&search_until(&operator, everything, 2).await),
        [pothole_id, light_id]
    );
    assert_eq!(
        submissions(&search_until(&transport, everything, 1).await),
        [pothole_id]
    );
    assert_eq!(
        submissions(&search_until(&city, everything, 1).await),
        [light_id]
    );
    assert_eq!(
        submissions(&search_until(&w.citizen, everything, 1).await),
        [pothole_id]
    );
    assert_eq!(
        submissions(&search_until(&maria, everything, 1).await),
        [light_id]
    );
    // Even a query that matches the other's text best finds nothing outside one's reach.
    let other = search_until(
        &w.citizen,
        "q=%D1%81%D0%B2%D0%B5%D1%82%D0%BE%D1%84%D0%BE%D1%80",
        0,
    )
    .await;
    assert_eq!(other["total"], 0, "{other}");
    let analyst = app.api(&app.token("analyst@demo.otklik.local").await);
    assert_eq!(analyst.get("/api/v1/search?q=x").await.0, 403);
    let nobody = app.api("");
    assert_eq!(nobody.get("/api/v1/search?q=x").await.0, 401);

    // An answer is found too, and the submission's new status is what filters see.
    let path = format!("/api/v1/submissions/{pothole_id}");
    ok(transport
        .post(&format!("{path}/take-into-work"), json!({}))
        .await);
    ok(transport
        .post(
            &format!("{path}/answer"),
            json!({ "text": "Выбоину заделали горячим асфальтом 4 декабря." }),
        )
        .await);
    let answered = search_until(
        &w.citizen,
        "q=%D0%B0%D1%81%D1%84%D0%B0%D0%BB%D1%8C%D1%82&kind=answer",
        1,
    )
    .await;
    assert_eq!(answered["hits"][0]["kind"], "answer", "{answered}");
    assert!(
        answered["hits"][0]["snippet_html"]
            .as_str()
            .unwrap()
            .contains("<mark>"),
        "{answered}"
    );
    let by_status = search_until(&operator, "status=answered", 2).await;
    assert_eq!(
        submissions(&by_status),
        [pothole_id],
        "the submission and its answer: {by_status}"
    );
    let facets = search_until(&operator, "sort=newest", 3).await;
    let status_counts = &facets["facets"]["status"];
    assert!(
        status_counts
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["value"] == "registered" && c["count"] == 1),
        "{facets}"
    );

    // Bad input is a clear 422, never a 500.
    let (status, long) = operator
        .get(&format!("/api/v1/search?q={}", "я".repeat(600)))
        .await;
    assert_eq!(
        (status, long["errors"][0]["code"].as_str()),
        (422, Some("query_too_long")),
        "{long}"
    );
    let (status, _) = operator.get("/api/v1/search?status=nonsense").await;
    assert_eq!(status, 422);
    let (status, _) = operator
        .get("/api/v1/search?q=%22%22%22***%28%29%5B%5D")
        .await;
    assert!(status == 200 || status == 422, "{status}");

    // The page: matches marked, the citizen's words escaped.
    let browser = app.browser();
    page_login(app, &browser, CITIZEN, DEMO_PASSWORD).await;
    let html = browser
        .get(app.url("/search?q=%D1%8F%D0%BC%D0%B0"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("<mark>"), "{html}");
    assert!(
        !html.contains("<script>alert(1)</script>"),
        "the text is escaped"
    );
    assert!(html.contains("role=\"search\""));

    // Rebuilt from the log, the index finds the same.
    let rebuilt = std::sync::Arc::new(otklik_search::SearchIndex::in_memory().unwrap());
    let documents = otklik::search::reindex(app.store.as_ref(), &rebuilt)
        .await
        .unwrap();
    assert_eq!(documents, 3, "two submissions and one answer");
    w.app.stop().await;
}

#[tokio::test]
async fn search_finds_word_forms_within_each_role_and_follows_changes() {
    scenario(Backend::Sqlite).await;
}

#[tokio::test]
async fn search_on_postgres() {
    scenario(Backend::Postgres).await;
}

#[tokio::test]
async fn answer_templates_are_suggested_filled_and_kept_to_their_organisation() {
    let w = World::start(Backend::Sqlite).await;
    let app = &w.app;
    let created = w.submit("Неработающий светофор").await;
    let id = created["id"].as_i64().unwrap();
    let number = created["number"].as_str().unwrap().to_owned();
    let official_email = app.official_of(CITY).email.clone();
    let city = app.api(&app.token(&official_email).await);
    let transport = app.api(&app.token(&app.official_of(TRANSPORT).email.clone()).await);

    let (status, refused) = city
        .post(
            "/api/v1/answer-templates",
            json!({ "title": "Плохой", "body": "Здравствуйте, {{ имя }}!" }),
        )
        .await;
    assert_eq!(
        (status, refused["errors"][0]["code"].as_str()),
        (422, Some("unknown_placeholder")),
        "{refused}"
    );
    let (status, template) = city
        .post(
            "/api/v1/answer-templates",
            json!({ "title": "Светофор отремонтирован", "body": "{{ citizen }}, по обращению № {{ number }} светофор отремонтирован." }),
        )
        .await;
    assert_eq!(status, 201, "{template}");
    let template_id = template["id"].as_i64().unwrap();
    // Another organisation neither lists nor edits it.
    assert_eq!(
        ok(transport.get("/api/v1/answer-templates").await),
        json!([])
    );
    let (status, _) = transport
        .put_json(
            &format!("/api/v1/answer-templates/{template_id}"),
            json!({ "title": "Чужой шаблон", "body": "Текст чужого шаблона." }),
        )
        .await;
    assert_eq!(status, 404);

    let suggested = ok(city
        .get(&format!("/api/v1/submissions/{id}/answer-templates"))
        .await);
    assert_eq!(suggested[0]["template"]["id"], template_id, "{suggested}");
    let text = suggested[0]["text"].as_str().unwrap();
    assert!(
        text.contains(&number) && text.starts_with("Иван Петров"),
        "{text}"
    );

    // The page offers it once the official may answer, and fills the answer with it.
    ok(city
        .post(
            &format!("/api/v1/submissions/{id}/take-into-work"),
            json!({}),
        )
        .await);
    let browser = app.browser();
    page_login(app, &browser, &official_email, DEMO_PASSWORD).await;
    let page = browser
        .get(app.url(&format!("/submissions/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!("?template={template_id}")),
        "no template offered"
    );
    let filled = browser
        .get(app.url(&format!("/submissions/{id}?template={template_id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        filled.contains(&format!("по обращению № {number} светофор отремонтирован")),
        "the answer box is filled"
    );
    let used = ok(city.get("/api/v1/answer-templates").await);
    assert_eq!(used[0]["uses"], 1);
}

/// `text` percent-encoded for a query string.
fn enc(text: &str) -> String {
    text.bytes().map(|b| format!("%{b:02X}")).collect()
}

fn kinds(found: &Value) -> Vec<String> {
    let mut kinds: Vec<String> = found["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["kind"].as_str().unwrap().to_owned())
        .collect();
    kinds.sort();
    kinds
}

/// A relevant post about a burst pipe in Tver, as the pipeline hands it over.
fn pipe_post(text: &str) -> otklik_store::AnalysedPost {
    let published = time::OffsetDateTime::now_utc().unix_timestamp() - 3600;
    crate::support::analysed_post("Ямы и выбоины на дороге", "-100_77", text, published)
}

/// Register incidents, social-media incidents and posts are in the index for the staff
/// who may see them: the organisation's official finds its register incident, the
/// operator a social incident and its post by a word of the post; a citizen finds none
/// of them, whatever they type.
#[tokio::test]
async fn staff_find_incidents_social_incidents_and_posts_and_citizens_never_do() {
    let w = World::start(Backend::Sqlite).await;
    let app = &w.app;
    let mut body = w
        .body("Ямы и выбоины на дороге", "Тверская область", "message")
        .await;
    body["text"] = json!("Яма на дороге у вокзала, пробил колесо.");
    let (status, pothole) = w.citizen.post("/api/v1/submissions", body).await;
    assert_eq!(status, 201, "{pothole}");
    let id = pothole["id"].as_i64().unwrap();
    let transport = app.api(&app.token(&app.official_of(TRANSPORT).email.clone()).await);
    let city = app.api(&app.token(&app.official_of(CITY).email.clone()).await);
    let path = format!("/api/v1/submissions/{id}");
    ok(transport
        .post(&format!("{path}/take-into-work"), json!({}))
        .await);
    ok(transport
        .post(&format!("{path}/answer"), json!({ "text": "Заделали." }))
        .await);
    // A low rating: a register incident of the transport ministry.
    ok(w.citizen
        .post(&format!("{path}/rate"), json!({ "score": 1 }))
        .await);
    let incidents = search_until(&transport, "kind=incident", 1).await;
    assert_eq!(incidents["total"], 1, "{incidents}");
    let hit = &incidents["hits"][0];
    assert_eq!(hit["submission_id"], id, "{hit}");
    assert!(
        hit["title"].as_str().unwrap().contains("Низкая оценка"),
        "{hit}"
    );
    // Found by a word of its label, and not by another organisation.
    let by_word = search_until(&transport, &format!("q={}", enc("оценка")), 1).await;
    assert_eq!(kinds(&by_word), ["incident"], "{by_word}");
    assert_eq!(search_until(&city, "kind=incident", 0).await["total"], 0);

    // A post, clustered into a social incident routed like a submission.
    let report = app
        .store
        .social_ingest(
            &[pipe_post(
                "В Твери у вокзала кипяток хлещет из трубы прямо на дорогу",
            )],
            &[],
            &[],
            otklik_store::IngestRules {
                answer_hours: 24,
                cluster_hours: 72,
            },
            time::OffsetDateTime::now_utc(),
        )
        .await
        .unwrap();
    assert_eq!(report.incidents_created, 1, "{report:?}");
    let operator = app.api(&app.token(OPERATOR).await);
    let found = search_until(&operator, &format!("q={}", enc("кипятком")), 2).await;
    assert_eq!(kinds(&found), ["post", "social"], "{found}");
    let social_id: i64 = found["hits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["kind"] == "social")
        .and_then(|h| h["key"].as_str()?.strip_prefix("social:")?.parse().ok())
        .unwrap();
    let post = found["hits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["kind"] == "post")
        .unwrap();
    assert_eq!(post["social_incident_id"], social_id, "{post}");
    let facet = search_until(&operator, "kind=post", 1).await;
    assert_eq!(facet["facets"]["channel"][0]["value"], "vk", "{facet}");

    // A citizen: none of them, by kind or by word.
    for query in [
        "kind=incident".to_owned(),
        "kind=social".to_owned(),
        "kind=post".to_owned(),
        format!("q={}", enc("кипяток")),
        format!("q={}", enc("оценка")),
    ] {
        let mine = search_until(&w.citizen, &query, 0).await;
        assert_eq!(mine["total"], 0, "{query}: {mine}");
    }

    // The page offers the new kinds, links the hits and labels the kinds in Russian.
    let browser = app.browser();
    page_login(app, &browser, OPERATOR, DEMO_PASSWORD).await;
    let html = browser
        .get(app.url(&format!("/search?q={}", enc("кипяток"))))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let link = format!("href=\"/social/incidents/{social_id}\"");
    assert_eq!(html.matches(&link).count(), 2, "{html}");
    for label in ["Соцсети", "Пост", "Посты", "Инциденты", "ВКонтакте"]
    {
        assert!(html.contains(label), "{label}: {html}");
    }
    w.app.stop().await;
}
