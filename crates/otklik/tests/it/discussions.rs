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

/// The bodies of a page of comments, and its cursor to the next.
fn bodies(view: &serde_json::Value) -> Vec<String> {
    view["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].as_str().unwrap().to_owned())
        .collect()
}

/// The `<…>` of a `Link` header's `rel="next"` link.
fn next_link(r: &reqwest::Response) -> Option<String> {
    link_of(r, "next")
}

/// The `<…>` of a `Link` header's link with this `rel` (`<…>; rel="prev", <…>; rel="next"`).
fn link_of(r: &reqwest::Response, rel: &str) -> Option<String> {
    let link = r.headers().get("link")?.to_str().unwrap();
    let found: Vec<&str> = link
        .split(", ")
        .filter(|l| l.ends_with(&format!(r#">; rel="{rel}""#)))
        .collect();
    assert!(found.len() <= 1, "{link}");
    Some(
        found
            .first()?
            .trim_start_matches('<')
            .split('>')
            .next()?
            .to_owned(),
    )
}

async fn published_comments(app: &crate::support::TestApp, n: usize) -> (i64, Vec<String>) {
    let city = app.api(&app.token(&app.official_of(CITY).email.clone()).await);
    let citizen = app.api(&app.token(crate::support::CITIZEN).await);
    let tver = id_named(&city, "/api/v1/regions", "Тверская область").await;
    let (status, d) = city
        .post(
            "/api/v1/discussions",
            json!({"title": "Благоустройство двора на Садовой",
                   "proposal": "Предлагается обновить детскую площадку и освещение двора.",
                   "opens_at": moscow(-1), "closes_at": moscow(60 * 24 * 7), "region_id": tver}),
        )
        .await;
    assert_eq!(status, 201, "{d}");
    let id = d["id"].as_i64().unwrap();
    let mut published = Vec::new();
    for i in 1..=n {
        let body = format!("Комментарий номер {i}");
        let (status, c) = citizen
            .post(
                &format!("/api/v1/discussions/{id}/comments"),
                json!({ "body": &body }),
            )
            .await;
        assert_eq!(status, 201, "{c}");
        // Every third waits for moderation: never listed, never counted as more.
        if i % 3 == 0 {
            continue;
        }
        let (status, done) = city
            .post(
                &format!("/api/v1/discussions/{id}/comments/{}/moderation", c["id"]),
                json!({"action": "publish"}),
            )
            .await;
        assert_eq!(status, 200, "{done}");
        published.push(body);
    }
    (id, published)
}

/// Published comments through the API, a page at a time by `after` and `limit`, and
/// the moderators' queue by its `Link` header; bad cursors are 422 with the parameter.
async fn comments_are_paged_through_the_api(backend: Backend) {
    let w = World::start(backend).await;
    let app = &w.app;
    // Ten comments, seven of them published.
    let (id, published) = published_comments(app, 10).await;
    assert_eq!(published.len(), 7);
    let public = app.api("");
    let mut read = Vec::new();
    let mut sizes = Vec::new();
    let mut path = format!("/api/v1/discussions/{id}?limit=3");
    loop {
        let view = ok(public.get(&path).await);
        sizes.push(bodies(&view).len());
        read.extend(bodies(&view));
        match view["comments_next"].as_i64() {
            Some(next) => path = format!("/api/v1/discussions/{id}?limit=3&after={next}"),
            None => break,
        }
        assert!(sizes.len() < 10, "{sizes:?}");
    }
    assert_eq!(sizes, [3, 3, 1]);
    assert_eq!(read, published);
    // And back by `before` from the last page: the same pages, in the same order.
    let last = ok(public.get(&path).await);
    assert!(last["comments_next"].is_null());
    let mut back: Vec<Vec<String>> = Vec::new();
    let mut prev = last["comments_prev"].as_i64();
    while let Some(before) = prev {
        let view = ok(public
            .get(&format!("/api/v1/discussions/{id}?limit=3&before={before}"))
            .await);
        assert!(view["comments_next"].is_i64(), "{view}");
        back.push(bodies(&view));
        prev = view["comments_prev"].as_i64();
        assert!(back.len() < 10, "{back:?}");
    }
    back.reverse();
    assert_eq!(back, [published[..3].to_vec(), published[3..6].to_vec()]);
    let first = ok(public
        .get(&format!("/api/v1/discussions/{id}?limit=3"))
        .await);
    assert!(first["comments_prev"].is_null(), "{first}");
    // The default page holds them all; a page larger than allowed is cut down, not refused.
    let all = ok(public.get(&format!("/api/v1/discussions/{id}")).await);
    assert_eq!(
        (bodies(&all), all["comments_next"].is_null()),
        (published.clone(), true)
    );
    let huge = ok(public
        .get(&format!(
            "/api/v1/discussions/{id}?limit=100000000000000000000"
        ))
        .await);
    assert_eq!(bodies(&huge), published);
    for (query, field, code) in [
        ("limit=0", "limit", "out_of_range"),
        ("limit=abc", "limit", "not_a_number"),
        ("limit=-3", "limit", "not_a_number"),
        ("after=-1", "after", "out_of_range"),
        ("after=x1", "after", "not_a_number"),
        ("after=99999999999999999999", "after", "not_a_number"),
        ("before=-1", "before", "out_of_range"),
        ("before=x", "before", "not_a_number"),
        ("after=3&before=9", "before", "after_and_before"),
    ] {
        let (status, problem) = public
            .get(&format!("/api/v1/discussions/{id}?{query}"))
            .await;
        assert_eq!(status, 422, "{query}: {problem}");
        assert_eq!(
            (
                problem["errors"][0]["field"].as_str(),
                problem["errors"][0]["code"].as_str()
            ),
            (Some(field), Some(code)),
            "{query}: {problem}"
        );
    }

    // The moderators' queue: the next page in the `Link` header while more follow.
    let city_email = app.official_of(CITY).email.clone();
    let token = app.token(&city_email).await;
    let mut next = Some(format!(
        "/api/v1/discussions/{id}/comments?status=published&limit=4"
    ));
    let mut queue = Vec::new();
    let mut pages = 0;
    while let Some(path) = next.take() {
        let r = app
            .browser()
            .get(app.url(&path))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        next = next_link(&r);
        let page: serde_json::Value = r.json().await.unwrap();
        queue.extend(
            page.as_array()
                .unwrap()
                .iter()
                .map(|c| c["body"].as_str().unwrap().to_owned()),
        );
        pages += 1;
        assert!(pages < 10);
    }
    assert_eq!((pages, queue), (2, published.clone()));
    // And back through the queue by `rel="prev"`, from its last page: the same pages.
    let last = app
        .browser()
        .get(app.url(&format!(
            "/api/v1/discussions/{id}/comments?status=published&limit=4&after=0"
        )))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(
        link_of(&last, "prev").is_none(),
        "nothing precedes the first page"
    );
    let next = next_link(&last).unwrap();
    let last = app
        .browser()
        .get(app.url(&next))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(next_link(&last).is_none());
    let mut prev = link_of(&last, "prev");
    let mut back = Vec::new();
    while let Some(path) = prev.take() {
        assert!(path.contains("before="), "{path}");
        let r = app
            .browser()
            .get(app.url(&path))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert!(next_link(&r).is_some(), "{path}");
        prev = link_of(&r, "prev");
        let page: serde_json::Value = r.json().await.unwrap();
        back.push(
            page.as_array()
                .unwrap()
                .iter()
                .map(|c| c["body"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>(),
        );
        assert!(back.len() < 10);
    }
    assert_eq!(back, [published[..4].to_vec()]);
    let city = app.api(&token);
    let (status, problem) = city
        .get(&format!("/api/v1/discussions/{id}/comments?after=soon"))
        .await;
    assert_eq!(
        (status, problem["errors"][0]["code"].as_str()),
        (422, Some("not_a_number"))
    );
    let pending = ok(city
        .get(&format!("/api/v1/discussions/{id}/comments?limit=2"))
        .await);
    assert_eq!(pending.as_array().unwrap().len(), 2);
    w.app.stop().await;
}

/// The discussion page lists the published comments 50 at a time, with real links to
/// the next ones (`rel="next"`), the previous ones (`rel="prev"`) and back to the first;
/// a bad cursor is not a server error.
async fn comments_are_paged_on_the_page(backend: Backend) {
    let w = World::start(backend).await;
    let app = &w.app;
    // 78 comments, 52 of them published: a page of 50 and one of 2.
    let (id, published) = published_comments(app, 78).await;
    assert_eq!(published.len(), 52);
    let browser = app.browser();
    let page = |path: String| {
        let browser = browser.clone();
        async move {
            let r = browser.get(app.url(&path)).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let shown = |html: &str| -> Vec<String> {
        published
            .iter()
            .filter(|b| html.contains(&format!("<p>{b}</p>")))
            .cloned()
            .collect()
    };
    let (status, html) = page(format!("/discussions/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(shown(&html), published[..50].to_vec());
    assert!(
        !html.contains("<p>Комментарий номер 3</p>"),
        "a pending comment is not public: {html}"
    );
    assert!(
        html.contains(r#"<nav class="pager" aria-label="Страницы комментариев">"#),
        "{html}"
    );
    assert!(html.contains("rel=\"next\""), "{html}");
    let link = html
        .split(&format!("<a href=\"/discussions/{id}?after="))
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    assert!(
        html.contains(&format!(
            r#"<a href="/discussions/{id}?after={link}" rel="next">Следующие комментарии<span aria-hidden="true"> →</span></a>"#
        )),
        "{html}"
    );
    assert!(!html.contains("К первым комментариям"));
    let (status, html) = page(format!("/discussions/{id}?after={link}")).await;
    assert_eq!(status, 200);
    assert_eq!(shown(&html), published[50..].to_vec());
    assert!(!html.contains("rel=\"next\""), "{html}");
    assert!(
        html.contains(&format!(r#"<a href="/discussions/{id}#comments"><span aria-hidden="true">«« </span>К первым комментариям</a>"#)),
        "{html}"
    );
    // Back by the previous link: the first 50 again, with the link on to the rest.
    let before = html
        .split(&format!("<a href=\"/discussions/{id}?before="))
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    assert!(
        html.contains(&format!(
            r#"<a href="/discussions/{id}?before={before}" rel="prev"><span aria-hidden="true">← </span>Предыдущие комментарии</a>"#
        )),
        "{html}"
    );
    let (status, html) = page(format!("/discussions/{id}?before={before}")).await;
    assert_eq!(status, 200);
    assert_eq!(shown(&html), published[..50].to_vec());
    assert!(!html.contains("rel=\"prev\""), "{html}");
    assert!(!html.contains("К первым комментариям"), "{html}");
    assert!(
        html.contains(&format!(
            r#"<a href="/discussions/{id}?after={link}" rel="next">"#
        )),
        "{html}"
    );
    for bad in [
        "after=abc",
        "after=-1",
        "after=",
        "before=abc",
        "before=-1",
        "after=1&before=5",
    ] {
        let (status, html) = page(format!("/discussions/{id}?{bad}")).await;
        assert_eq!(status, 422, "{bad}: {html}");
    }
    w.app.stop().await;
}

#[tokio::test]
async fn comments_are_paged_through_the_api_on_sqlite() {
    comments_are_paged_through_the_api(Backend::Sqlite).await;
}

#[tokio::test]
async fn comments_are_paged_through_the_api_on_postgres() {
    comments_are_paged_through_the_api(Backend::Postgres).await;
}

#[tokio::test]
async fn comments_are_paged_on_the_page_on_sqlite() {
    comments_are_paged_on_the_page(Backend::Sqlite).await;
}

#[tokio::test]
async fn discussions_on_sqlite() {
    scenario(Backend::Sqlite).await;
}

#[tokio::test]
async fn discussions_on_postgres() {
    scenario(Backend::Postgres).await;
}
