//! Duplicates through the real server: a citizen writing about a pothole is shown the
//! public message already sent about it (by the form's script and without it), follows
//! it from its public page and finds it in the personal account; the holding official
//! sees the likely duplicate on the card and merges it, and the one answer reaches both
//! authors.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::api::{ok, path, World, TRANSPORT};
use crate::support::{csrf_in, page_login, text_of, Backend, DEMO_PASSWORD, OTHER_CITIZEN};

const POTHOLES: &str = "Ямы и выбоины на дороге";
const TVER: &str = "Тверская область";

/// Posts `form` to `path` until the page contains `want` (the index follows the database
/// within moments); returns the last page.
async fn post_until(
    browser: &reqwest::Client,
    url: String,
    form: &[(&str, &str)],
    want: &str,
) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let response = browser.post(&url).form(form).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let html = response.text().await.unwrap();
        if html.contains(want) || Instant::now() > deadline {
            return html;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn created((status, body): (u16, Value)) -> Value {
    assert_eq!(status, 201, "{body}");
    body
}

async fn get_until(browser: &reqwest::Client, url: String, want: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let html = text_of(browser, url.clone()).await;
        if html.contains(want) || Instant::now() > deadline {
            return html;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn scenario(backend: Backend) {
    let w = World::start(backend).await;
    let app = &w.app;
    // Ivan reports a pothole and lets others see it.
    let mut ivan = w.body(POTHOLES, TVER, "message").await;
    ivan["text"] = json!("Глубокая яма на дороге у школы № 5, машины объезжают по тротуару.");
    ivan["public"] = json!(true);
    let ivan = created(w.citizen.post("/api/v1/submissions", ivan).await);
    assert_eq!(ivan["public"], true, "{ivan}");
    let (ivan_id, ivan_number) = (
        ivan["id"].clone(),
        ivan["number"].as_str().unwrap().to_owned(),
    );
    // An appeal is never public.
    let mut appeal = w.body(POTHOLES, TVER, "appeal").await;
    appeal["public"] = json!(true);
    let (status, refused) = w.citizen.post("/api/v1/submissions", appeal).await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["errors"][0]["field"], "public", "{refused}");

    // Maria starts writing about the same pothole: the form's script asks as she types.
    let maria = app.browser();
    page_login(app, &maria, OTHER_CITIZEN, DEMO_PASSWORD).await;
    let maria_body = w.body(POTHOLES, TVER, "message").await;
    let (sub, region) = (
        maria_body["subcategory_id"].to_string(),
        maria_body["region_id"].to_string(),
    );
    let form_page = text_of(&maria, app.url(&format!("/submit/{sub}"))).await;
    assert!(form_page.contains("/static/similar.js"));
    let csrf = csrf_in(&form_page);
    let typed = "Огромная яма на дороге возле школы 5, объезжают по тротуару";
    let fragment = post_until(
        &maria,
        app.url(&format!("/submit/{sub}/similar")),
        &[
            ("csrf", csrf.as_str()),
            ("text", typed),
            ("region", region.as_str()),
        ],
        &ivan_number,
    )
    .await;
    assert!(
        fragment.contains(&format!("/public/{ivan_id}")),
        "{fragment}"
    );
    assert!(!fragment.contains("Иван"), "no author's name: {fragment}");
    // Without the script: the form's own button shows the same, with what was typed.
    let no_script = reqwest::multipart::Form::new()
        .text("csrf", csrf.clone())
        .text("intent", "similar")
        .text("kind", "message")
        .text("region", region.clone())
        .text("text", typed);
    let response = maria
        .post(app.url(&format!("/submit/{sub}")))
        .multipart(no_script)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    assert!(
        page.contains(&ivan_number) && page.contains(typed),
        "{page}"
    );
    // Text about something else finds nothing.
    let other = maria
        .post(app.url(&format!("/submit/{sub}/similar")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("text", "Сломана скамейка в парке Победы"),
            ("region", region.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(other.contains("не найдено"), "{other}");

    // She follows Ivan's message instead; it is in her personal account.
    let public = text_of(&maria, app.url(&format!("/public/{ivan_id}"))).await;
    assert!(public.contains("Глубокая яма") && public.contains("Следить за решением"));
    let followed = maria
        .post(app.url(&format!("/public/{ivan_id}/follow")))
        .form(&[("csrf", csrf_in(&public).as_str()), ("on", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(followed.status(), 303);
    let my = text_of(&maria, app.url("/my")).await;
    assert!(
        my.contains("за которыми вы следите") && my.contains(&ivan_number),
        "{my}"
    );

    // Maria also sent her own; the ministry's official finds it on Ivan's card and merges.
    let maria_api = app.api(&app.token(OTHER_CITIZEN).await);
    let mut own = maria_body.clone();
    own["text"] = json!(typed);
    let own = created(maria_api.post("/api/v1/submissions", own).await);
    assert_eq!(own["public"], false, "{own}");
    let own_id = own["id"].clone();
    let official = app.browser();
    let email = app.official_of(TRANSPORT).email.clone();
    page_login(app, &official, &email, DEMO_PASSWORD).await;
    let card = get_until(
        &official,
        app.url(&format!("/submissions/{ivan_id}")),
        &format!("name=\"duplicate\" value=\"{own_id}\""),
    )
    .await;
    assert!(card.contains("Вероятные дубликаты"), "{card}");
    let merged = official
        .post(app.url(&format!("/submissions/{ivan_id}/duplicates/merge")))
        .form(&[
            ("csrf", csrf_in(&card).as_str()),
            ("duplicate", own_id.to_string().as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(merged.status(), 303);
    let card = text_of(&official, app.url(&format!("/submissions/{own_id}"))).await;
    assert!(card.contains(&format!("№ {ivan_number}")), "{card}");

    // One answer reaches both authors.
    let transport = w.official(TRANSPORT).await;
    ok(transport
        .post(&path(&ivan_id, "take-into-work"), json!({}))
        .await);
    ok(transport
        .post(
            &path(&ivan_id, "answer"),
            json!({"text": "Яма заделана 5 декабря, спасибо за сообщение."}),
        )
        .await);
    let hers: Value = ok(maria_api.get(&path(&own_id, "")).await);
    assert_eq!(hers["status"], "answered", "{hers}");
    assert_eq!(
        hers["merged_into_id"],
        Value::Null,
        "the answer ends the merge"
    );
    let bodies: Vec<&str> = hers["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["body"].as_str())
        .collect();
    assert_eq!(bodies, ["Яма заделана 5 декабря, спасибо за сообщение."]);
    // The public page shows the answer to everyone.
    let anyone = reqwest::get(app.url(&format!("/public/{ivan_id}")))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(anyone.contains("Яма заделана 5 декабря"), "{anyone}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reported_problem_is_suggested_followed_merged_and_answered_once_for_all() {
    scenario(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_on_postgres() {
    scenario(Backend::Postgres).await;
}

/// The same through the API: suggestions, the public message, following, visibility,
/// likely duplicates, merging and separating.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_suggests_follows_merges_and_separates() {
    let w = World::start(Backend::Sqlite).await;
    let app = &w.app;
    let maria = app.api(&app.token(OTHER_CITIZEN).await);
    let mut ivan = w.body(POTHOLES, TVER, "message").await;
    ivan["text"] = json!("Глубокая яма на дороге у школы № 5, машины объезжают по тротуару.");
    let ivan = created(w.citizen.post("/api/v1/submissions", ivan).await);
    let ivan_id = ivan["id"].clone();
    // Private until its author says otherwise; only the author may.
    let visibility = format!("/api/v1/submissions/{ivan_id}/visibility");
    assert_eq!(
        maria.put_json(&visibility, json!({"public": true})).await.0,
        404
    );
    let (status, _) = w
        .citizen
        .put_json(&visibility, json!({"public": true}))
        .await;
    assert_eq!(status, 204);
    let public = ok(w
        .citizen
        .get(&format!("/api/v1/public-submissions/{ivan_id}"))
        .await);
    assert_eq!(public["followers"], 0, "{public}");
    assert!(public.get("author").is_none(), "{public}");

    let mut own = w.body(POTHOLES, TVER, "message").await;
    own["text"] = json!("Огромная яма на дороге возле школы 5, объезжают по тротуару");
    let ask = json!({
        "subcategory_id": own["subcategory_id"],
        "region_id": own["region_id"],
        "text": own["text"],
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    let found = loop {
        let found = ok(maria.post("/api/v1/similar-submissions", ask.clone()).await);
        if !found["items"].as_array().unwrap().is_empty() || Instant::now() > deadline {
            break found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(found["items"][0]["id"], ivan_id, "{found}");
    let (status, _) = maria
        .put_json(
            &format!("/api/v1/public-submissions/{ivan_id}/follow"),
            json!({}),
        )
        .await;
    assert_eq!(status, 204);
    let follows = ok(maria.get("/api/v1/follows").await);
    assert_eq!(follows["items"][0]["followers"], 1, "{follows}");

    // The holder's official sees Maria's as a likely duplicate and merges it.
    let own = created(maria.post("/api/v1/submissions", own).await);
    let own_id = own["id"].clone();
    let transport = w.official(TRANSPORT).await;
    let duplicates = format!("/api/v1/submissions/{ivan_id}/duplicates");
    let deadline = Instant::now() + Duration::from_secs(10);
    let candidates = loop {
        let found = ok(transport.get(&duplicates).await);
        if !found.as_array().unwrap().is_empty() || Instant::now() > deadline {
            break found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(candidates[0]["id"], own_id, "{candidates}");
    // Maria may not see Ivan's submission (public or not, its card is his and staff's).
    assert_eq!(
        maria
            .post(&duplicates, json!({"duplicate_id": own_id}))
            .await
            .0,
        404
    );
    let (status, _) = transport
        .post(&duplicates, json!({"duplicate_id": own_id}))
        .await;
    assert_eq!(status, 204);
    let hers = ok(maria.get(&path(&own_id, "")).await);
    assert_eq!(hers["merged_into_id"], ivan_id, "{hers}");
    let (status, again) = transport
        .post(&duplicates, json!({"duplicate_id": own_id}))
        .await;
    assert_eq!(
        (status, again["code"].as_str()),
        (409, Some("already_merged"))
    );
    // Separated again, each is on its own.
    let (status, _) = transport.delete(&format!("{duplicates}/{own_id}")).await;
    assert_eq!(status, 204);
    let hers = ok(maria.get(&path(&own_id, "")).await);
    assert_eq!(hers["merged_into_id"], Value::Null, "{hers}");
}
