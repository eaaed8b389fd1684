//! The embeddable widget: the script, the pages in the frame and their headers over plain
//! HTTP, and one walk in headless Chromium where a page on another loopback port embeds
//! the snippet, a citizen signs in inside the widget and submits, and pages on an
//! unregistered origin are refused.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use reqwest::header::SET_COOKIE;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::browser::{browser, fill, look, page_text, start_driver, submit};
use crate::support::{
    csrf_in, page_login, spawn_app, spawn_app_with, Backend, TestApp, CITIZEN, DEMO_PASSWORD,
};

const CITY: &str = "Администрация города Твери";
const CITY_ADMIN: &str = "admin.tver-city@demo.otklik.local";
const TRAFFIC_LIGHT: &str = "Неработающий светофор";

// --- helpers --------------------------------------------------------------------------------

async fn org_id(app: &TestApp, name: &str) -> i64 {
    let orgs: Value = reqwest::get(app.url("/api/v1/organisations"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    orgs.as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == name)
        .unwrap_or_else(|| panic!("no organisation {name}"))["id"]
        .as_i64()
        .unwrap()
}

/// The organisation's administrator registers a site through the API.
async fn register_site(app: &TestApp, org: i64, origin: &str) {
    let admin = app.api(&app.token(CITY_ADMIN).await);
    let (status, body) = admin
        .post(
            &format!("/api/v1/organisations/{org}/widget-sites"),
            json!({ "origin": origin }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

fn enc(s: &str) -> String {
    s.replace(':', "%3A").replace('/', "%2F")
}

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// The `frame-ancestors` directive of a response's content policy.
fn frame_ancestors(r: &reqwest::Response) -> String {
    header(r, "content-security-policy")
        .split(';')
        .map(str::trim)
        .find_map(|d| d.strip_prefix("frame-ancestors "))
        .unwrap_or_default()
        .to_owned()
}

/// Every `Set-Cookie` of a response.
fn set_cookies(r: &reqwest::Response) -> Vec<String> {
    r.headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// Signs in inside the widget with a cookie-keeping client; the start page's answer.
async fn widget_login(app: &TestApp, page: &reqwest::Client, org: i64, origin: &str, email: &str) {
    let login = app.url(&format!("/widget/{org}/login?origin={}", enc(origin)));
    let html = page.get(&login).send().await.unwrap().text().await.unwrap();
    let r = page
        .post(&login)
        .form(&[
            ("csrf", csrf_in(&html).as_str()),
            ("email", email),
            ("password", DEMO_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "widget login of {email}");
    assert_eq!(
        header(&r, "location"),
        format!("/widget/{org}?origin={}", enc(origin))
    );
}

// --- plain HTTP -------------------------------------------------------------------------------

#[tokio::test]
async fn the_script_is_small_cacheable_javascript() {
    let app = spawn_app().await;
    let http = reqwest::Client::new();
    let r = http.get(app.url("/widget.js")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-type"), "text/javascript; charset=utf-8");
    assert_eq!(header(&r, "cache-control"), "public, max-age=3600");
    assert_eq!(header(&r, "cross-origin-resource-policy"), "cross-origin");
    assert!(set_cookies(&r).is_empty(), "the script sets no cookie");
    let etag = header(&r, "etag");
    assert!(etag.starts_with('"'), "{etag}");
    let body = r.bytes().await.unwrap();
    println!("widget.js: {} bytes", body.len());
    assert!(body.len() < 10 * 1024, "widget.js is {} bytes", body.len());
    let text = String::from_utf8(body.to_vec()).unwrap();
    assert!(text.contains("attachShadow") && text.contains("Сообщить о проблеме"));
    let again = http
        .get(app.url("/widget.js"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert!(again.bytes().await.unwrap().is_empty());
    app.stop().await;
}

#[tokio::test]
async fn only_a_registered_site_may_frame_the_widget() {
    let app = spawn_app().await;
    let city = org_id(&app, CITY).await;
    let site = "http://127.0.0.1:41001";
    let other_site = "https://portal.tver.example";
    register_site(&app, city, site).await;
    register_site(&app, city, other_site).await;
    let page = app.browser();

    // Each registered site may frame the pages it asks for, and nobody else.
    for origin in [site, other_site] {
        let r = app
            .browser()
            .get(app.url(&format!("/widget/{city}/login?origin={}", enc(origin))))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(frame_ancestors(&r), origin);
        assert_eq!(header(&r, "x-frame-options"), "", "no DENY on widget pages");
        assert_eq!(header(&r, "cache-control"), "no-store");
        let cookies = set_cookies(&r);
        let csrf = cookies
            .iter()
            .find(|c| c.starts_with("otklik_widget_csrf="))
            .unwrap_or_else(|| panic!("{cookies:?}"));
        for attribute in ["HttpOnly", "SameSite=Lax", "Path=/widget"] {
            assert!(csrf.contains(attribute), "{csrf}");
        }
        assert!(
            !cookies.iter().any(|c| c.starts_with("otklik_csrf=")),
            "the portal's cookie is not set in the frame: {cookies:?}"
        );
        let html = r.text().await.unwrap();
        assert!(html.contains(r#"name="password""#), "{html}");
        assert!(
            html.contains(&format!(r#"data-origin="{origin}""#)),
            "{html}"
        );
    }
    // Signed out, the form sends to the widget's sign-in, framed by the same site.
    let r = page
        .get(app.url(&format!("/widget/{city}?origin={}", enc(site))))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        header(&r, "location"),
        format!("/widget/{city}/login?origin={}", enc(site))
    );
    assert_eq!(frame_ancestors(&r), site);

    // Every other page keeps refusing to be framed.
    for path in [
        "/".to_owned(),
        "/login".to_owned(),
        "/submit".to_owned(),
        format!("/org/{city}"),
        "/widget.js".to_owned(),
        "/api/v1/catalogue".to_owned(),
        "/no-such-page".to_owned(),
    ] {
        let r = page.get(app.url(&path)).send().await.unwrap();
        assert_eq!(frame_ancestors(&r), "'none'", "{path}");
        assert_eq!(header(&r, "x-frame-options"), "DENY", "{path}");
    }

    // An unregistered site gets a clear refusal, never the form.
    let refused = |r: reqwest::Response, status: u16, words: &'static str| async move {
        assert_eq!(r.status(), status);
        let html = r.text().await.unwrap();
        assert!(html.contains(words), "{html}");
        assert!(!html.contains(r#"name="password""#), "{html}");
        assert!(!html.contains("<textarea"), "{html}");
    };
    for path in [
        format!("/widget/{city}?origin=https%3A%2F%2Fevil.example"),
        format!("/widget/{city}/login?origin=https%3A%2F%2Fevil.example"),
        format!("/widget/{city}/my?origin=http%3A%2F%2F127.0.0.1%3A41002"),
        format!("/widget/{city}?origin=not-an-origin"),
    ] {
        let r = page.get(app.url(&path)).send().await.unwrap();
        assert_eq!(
            frame_ancestors(&r),
            "*",
            "{path}: the refusal may show in any frame"
        );
        refused(r, 403, "не подключён").await;
    }
    let r = page
        .get(app.url(&format!("/widget/{city}")))
        .send()
        .await
        .unwrap();
    refused(r, 400, "Не указан сайт").await;
    // Another organisation's registered site is not this one's.
    let transport = org_id(&app, "Министерство транспорта Тверской области").await;
    let r = page
        .get(app.url(&format!("/widget/{transport}?origin={}", enc(site))))
        .send()
        .await
        .unwrap();
    refused(r, 403, "не подключён").await;
    // Unknown organisations.
    for path in [
        format!("/widget/999999999?origin={}", enc(site)),
        format!("/widget/abc?origin={}", enc(site)),
        format!("/widget/999999999/my?origin={}", enc(site)),
    ] {
        let r = page.get(app.url(&path)).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
    }
    // A wrong method is a clear 405.
    let r = page
        .delete(app.url(&format!("/widget/{city}?origin={}", enc(site))))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);

    // Removed, the site is refused at once.
    let admin = app.token(CITY_ADMIN).await;
    let r = reqwest::Client::new()
        .delete(app.url(&format!(
            "/api/v1/organisations/{city}/widget-sites?origin={}",
            enc(other_site)
        )))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = page
        .get(app.url(&format!("/widget/{city}/login?origin={}", enc(other_site))))
        .send()
        .await
        .unwrap();
    refused(r, 403, "не подключён").await;
    app.stop().await;
}

#[tokio::test]
async fn a_citizen_signs_in_submits_and_follows_through_the_widget() {
    let app = spawn_app().await;
    let city = org_id(&app, CITY).await;
    let site = "http://127.0.0.1:41003";
    register_site(&app, city, site).await;
    let q = format!("origin={}", enc(site));

    // The portal's session does not open the widget: it has its own.
    let portal = app.browser();
    let r = page_login(&app, &portal, CITIZEN, DEMO_PASSWORD).await;
    assert_eq!(r.status(), 303);
    let r = portal
        .get(app.url(&format!("/widget/{city}/my?{q}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        header(&r, "location"),
        format!("/widget/{city}/login?{q}&next=my")
    );

    // A form token of another browser (or of the portal) is refused; nothing changes.
    let page = app.browser();
    let login = app.url(&format!("/widget/{city}/login?{q}"));
    page.get(&login).send().await.unwrap();
    let r = page
        .post(&login)
        .form(&[
            ("csrf", "forged"),
            ("email", CITIZEN),
            ("password", DEMO_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(set_cookies(&r)
        .iter()
        .all(|c| !c.starts_with("otklik_widget_session=")));
    // A wrong password: the form again, with the portal's message and status.
    let html = page.get(&login).send().await.unwrap().text().await.unwrap();
    let r = page
        .post(&login)
        .form(&[
            ("csrf", csrf_in(&html).as_str()),
            ("email", CITIZEN),
            ("password", "wrong-pass-1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(frame_ancestors(&r), site);
    assert!(r.text().await.unwrap().contains("Неверный адрес"));

    // Signed in: the city's topics, and the form of one with the region preset.
    widget_login(&app, &page, city, site, CITIZEN).await;
    let html = page
        .get(app.url(&format!("/widget/{city}?{q}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(TRAFFIC_LIGHT), "{html}");
    assert!(
        !html.contains("Отсутствие отопления"),
        "only the topics routed to the city: {html}"
    );
    let catalogue: Value = reqwest::get(app.url("/api/v1/catalogue"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let light = catalogue
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["subcategories"].as_array().unwrap())
        .find(|s| s["name"] == TRAFFIC_LIGHT)
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let heating = catalogue
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["subcategories"].as_array().unwrap())
        .find(|s| s["name"] == "Отсутствие отопления")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let r = page
        .get(app.url(&format!("/widget/{city}?{q}&subcategory={light}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(frame_ancestors(&r), site);
    let html = r.text().await.unwrap();
    let tver = html
        .split("<option value=\"")
        .find(|o| o.contains("\" selected>Тверская область<"))
        .is_some();
    assert!(tver, "the region is preset: {html}");
    let csrf = csrf_in(&html);
    // A topic the organisation does not handle is not offered.
    let r = page
        .get(app.url(&format!("/widget/{city}?{q}&subcategory={heating}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // An invalid send: the form again, framed, with the errors; nothing registered.
    let form = |text: &str| {
        reqwest::multipart::Form::new()
            .text("csrf", csrf.clone())
            .text("subcategory", light.to_string())
            .text("kind", "message")
            .text("region", region_of(&html))
            .text("fields.address", "г. Тверь, ул. Советская и ул. Горького")
            .text("fields.fault", "Не работает полностью")
            .text("text", text.to_owned())
    };
    let submit_url = app.url(&format!("/widget/{city}?{q}"));
    let r = page
        .post(&submit_url)
        .multipart(form("Коротко"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(frame_ancestors(&r), site);
    assert!(r.text().await.unwrap().contains("Исправьте ошибки"));

    let text = "Светофор на перекрёстке Советской и Горького не работает с утра.";
    let r = page
        .post(&submit_url)
        .multipart(form(text))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let location = header(&r, "location");
    let id: i64 = location
        .rsplit_once("registered=")
        .map(|(_, id)| id.parse().unwrap())
        .unwrap_or_else(|| panic!("{location}"));
    assert!(location.starts_with(&format!("/widget/{city}/my?{q}")));
    let r = page.get(app.url(&location)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();

    // The citizen sees it through the API with its channel and site.
    let citizen = app.api(&app.token(CITIZEN).await);
    let (status, view) = citizen.get(&format!("/api/v1/submissions/{id}")).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["channel"], "widget");
    assert_eq!(view["origin"], site);
    assert_eq!(view["organisation"], CITY);
    let number = view["number"].as_str().unwrap();
    assert!(
        html.contains(&format!("Зарегистрировано: № {number}")),
        "{html}"
    );
    assert!(html.contains(&format!(r#"href="/submissions/{id}" target="_blank""#)));

    // The widget's list holds what was sent from this site only: a portal submission
    // of the same citizen is not there.
    let (status, portal_sent) = citizen
        .post(
            "/api/v1/submissions",
            json!({
                "kind": "message", "subcategory_id": light, "region_id": view["region_id"],
                "text": "Светофор у школы на Советской улице тоже не работает.",
                "fields": { "address": "г. Тверь, ул. Советская, 20", "fault": "Не работает полностью" },
            }),
        )
        .await;
    assert_eq!(status, 201, "{portal_sent}");
    let html = page
        .get(app.url(&format!("/widget/{city}/my?{q}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(&format!("№ {number}")), "{html}");
    assert!(
        !html.contains(portal_sent["number"].as_str().unwrap()),
        "{html}"
    );
    assert!(html.contains("Зарегистрировано") || html.contains("status-registered"));

    // Staff may sign in, but the form is for citizens.
    let official = app.official_of(CITY).email.clone();
    let staff = app.browser();
    widget_login(&app, &staff, city, site, &official).await;
    let r = staff
        .get(app.url(&format!("/widget/{city}?{q}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("граждане"));

    // Signing out ends the widget's session only.
    let html = page
        .get(app.url(&format!("/widget/{city}/my?{q}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = page
        .post(app.url(&format!("/widget/{city}/logout?{q}")))
        .form(&[("csrf", csrf_in(&html))])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let r = page
        .get(app.url(&format!("/widget/{city}/my?{q}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "signed out");
    let r = portal.get(app.url("/my")).send().await.unwrap();
    assert_eq!(r.status(), 200, "the portal's session stays");
    app.stop().await;
}

/// The value of the selected region option of a form page.
fn region_of(html: &str) -> String {
    let start = html.find(r#"<select id="f-region""#).unwrap();
    let select = &html[start..start + html[start..].find("</select>").unwrap()];
    let selected = select.find("\" selected>").unwrap();
    let open = select[..selected].rfind("value=\"").unwrap() + "value=\"".len();
    select[open..selected].to_owned()
}

#[tokio::test]
async fn behind_tls_the_widget_cookies_work_in_a_cross_site_frame() {
    let app = spawn_app_with(Backend::Sqlite, |c| c.web.security.tls = true).await;
    let city = org_id(&app, CITY).await;
    let site = "https://tver.example";
    register_site(&app, city, site).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = app.url(&format!("/widget/{city}/login?origin={}", enc(site)));
    let r = http.get(&login).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let cross_site = |cookie: &str| {
        for attribute in [
            "HttpOnly",
            "SameSite=None",
            "Secure",
            "Partitioned",
            "Path=/widget",
        ] {
            assert!(cookie.contains(attribute), "{attribute} in {cookie}");
        }
    };
    let csrf_cookie = set_cookies(&r)
        .into_iter()
        .find(|c| c.starts_with("otklik_widget_csrf="))
        .unwrap();
    cross_site(&csrf_cookie);
    let pair = csrf_cookie.split(';').next().unwrap().to_owned();
    let html = r.text().await.unwrap();
    let r = http
        .post(&login)
        .header("cookie", &pair)
        .form(&[
            ("csrf", csrf_in(&html).as_str()),
            ("email", CITIZEN),
            ("password", DEMO_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let session = set_cookies(&r)
        .into_iter()
        .find(|c| c.starts_with("otklik_widget_session="))
        .unwrap();
    cross_site(&session);
    // The portal's own cookies stay Lax.
    let r = http.get(app.url("/login")).send().await.unwrap();
    let portal = set_cookies(&r)
        .into_iter()
        .find(|c| c.starts_with("otklik_csrf="))
        .unwrap();
    assert!(portal.contains("SameSite=Lax") && portal.contains("Path=/"));
    assert!(header(&r, "strict-transport-security").starts_with("max-age="));
    app.stop().await;
}

#[tokio::test]
async fn the_organisation_page_shows_the_snippet() {
    let app = spawn_app().await;
    let city = org_id(&app, CITY).await;
    let page = app.browser();
    let r = page_login(&app, &page, CITY_ADMIN, DEMO_PASSWORD).await;
    assert_eq!(r.status(), 303);
    let html = page
        .get(app.url(&format!("/org/{city}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let shown = html
        .replace("&lt;", "<")
        .replace("&#60;", "<")
        .replace("&gt;", ">")
        .replace("&#62;", ">")
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#x2f;", "/")
        .replace("&amp;", "&");
    let snippet = format!(
        r#"<script src="{}/widget.js" data-org="{city}" async></script>"#,
        app.base
    );
    assert!(shown.contains(&snippet), "{snippet} not in {shown}");
    app.stop().await;
}

/// The city administration's demo survey (open, results live) and the operator's demo vote.
const SURVEY: &str = "Уборка улиц зимой";
const OPERATORS_VOTE: &str = "Благоустройство общественных пространств — 2027";

/// The text of the ballot id shown after voting.
fn ballot_id_in(html: &str) -> String {
    let marker = r#"id="ballot-id">"#;
    let start = html.find(marker).unwrap_or_else(|| panic!("{html}")) + marker.len();
    let end = start + html[start..].find("</code>").unwrap();
    html[start..end].to_owned()
}

/// A vote of the city administration's, open now, whose first project has one photo:
/// its id and the photo's URL. Photos are added before a vote opens, so it is opened
/// in the database as if its time had come, for everyone (who may vote is not the
/// point here).
async fn city_vote_with_a_photo(app: &TestApp) -> (i64, String) {
    use base64::Engine;
    let official = app.official_of(CITY).email.clone();
    let official = app.api(&app.token(&official).await);
    let tver =
        crate::integrations::id_named(&official, "/api/v1/regions", "Тверская область").await;
    let (status, vote) = official
        .post(
            "/api/v1/polls",
            json!({"kind": "vote", "title": "Благоустройство двора", "verification": "standard",
                   "questions_text": "? Какой проект выполнить?\n* один\n\
                       - Сквер у школы :: скамейки и освещение\n- Детская площадка",
                   "opens_at": crate::support::moscow(60), "closes_at": crate::support::moscow(60 * 24),
                   "results": "live", "region_id": tver}),
        )
        .await;
    assert_eq!(status, 201, "{vote}");
    let id = vote["id"].as_i64().unwrap();
    let png = base64::engine::general_purpose::STANDARD.encode(crate::support::PNG_1X1);
    let (status, photo) = official
        .post(
            &format!("/api/v1/polls/{id}/options/0/photos"),
            json!({"name": "сквер.png", "content_base64": png}),
        )
        .await;
    assert_eq!(status, 201, "{photo}");
    crate::support::open_poll_now(app, id, true).await;
    (id, photo["url"].as_str().unwrap().to_owned())
}

/// An open survey of the city's (for all of Russia) whose first option has two photos,
/// the second moved before the first, and whose ranking's second option has one: its
/// id and the photos' URLs in the order shown.
async fn city_survey_with_photos(app: &TestApp) -> (i64, Vec<String>) {
    use base64::Engine;
    let official = app.official_of(CITY).email.clone();
    let official = app.api(&app.token(&official).await);
    let tver =
        crate::integrations::id_named(&official, "/api/v1/regions", "Тверская область").await;
    let (status, survey) = official
        .post(
            "/api/v1/polls",
            json!({"kind": "survey", "title": "Двор на Садовой", "verification": "standard",
                   "questions_text": "? Что построить?\n* один\n- Сквер\n- Площадку\n\
                       ? Оценка двора\n* шкала 1..5\n\
                       ? Порядок работ\n* порядок\n- Дорога\n- Освещение",
                   "opens_at": crate::support::moscow(60), "closes_at": crate::support::moscow(60 * 24),
                   "results": "live", "region_id": tver}),
        )
        .await;
    assert_eq!(status, 201, "{survey}");
    let id = survey["id"].as_i64().unwrap();
    let png = base64::engine::general_purpose::STANDARD.encode(crate::support::PNG_1X1);
    let mut urls = Vec::new();
    let mut ids = Vec::new();
    for (question, option) in [(0, 0), (0, 0), (2, 1)] {
        let (status, photo) = official
            .post(
                &format!("/api/v1/polls/{id}/questions/{question}/options/{option}/photos"),
                json!({"name": "photo.png", "content_base64": png}),
            )
            .await;
        assert_eq!(status, 201, "{photo}");
        assert_eq!(
            (photo["question"].as_i64(), photo["option"].as_i64()),
            (Some(question), Some(option))
        );
        urls.push(photo["url"].as_str().unwrap().to_owned());
        ids.push(photo["id"].as_i64().unwrap());
    }
    let (status, order) = official
        .post(
            &format!("/api/v1/polls/{id}/photos/{}/move", ids[1]),
            json!({"direction": "up"}),
        )
        .await;
    assert_eq!(status, 200, "{order}");
    crate::support::open_poll_now(app, id, true).await;
    urls.swap(0, 1);
    (id, urls)
}

#[tokio::test]
async fn a_citizen_votes_in_the_organisations_poll_through_the_widget() {
    let app = spawn_app().await;
    let city = org_id(&app, CITY).await;
    let site = "http://127.0.0.1:41005";
    register_site(&app, city, site).await;
    let q = format!("origin={}", enc(site));
    let citizen = app.api(&app.token(CITIZEN).await);
    let (status, polls) = citizen.get("/api/v1/polls").await;
    assert_eq!(status, 200, "{polls}");
    let poll_id = |title: &str| {
        polls
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["title"] == title)
            .unwrap_or_else(|| panic!("no poll {title}: {polls}"))["id"]
            .as_i64()
            .unwrap()
    };
    let survey = poll_id(SURVEY);
    let operators = poll_id(OPERATORS_VOTE);
    let list = app.url(&format!("/widget/{city}/polls?{q}"));
    let poll = app.url(&format!("/widget/{city}/polls/{survey}?{q}"));
    let vote = app.url(&format!("/widget/{city}/polls/{survey}/vote?{q}"));

    // Signed out, the organisation's open polls are listed (polls are public), with the
    // widget's sign-in; the operator's poll is not the city's.
    let page = app.browser();
    let r = page.get(&list).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(frame_ancestors(&r), site);
    let html = r.text().await.unwrap();
    assert!(html.contains(SURVEY), "{html}");
    assert!(
        html.contains(&format!(r#"href="/widget/{city}/polls/{survey}?{q}""#)),
        "{html}"
    );
    assert!(!html.contains(OPERATORS_VOTE), "{html}");
    assert!(
        html.contains(&format!("/widget/{city}/login?{q}")) && html.contains("next=polls"),
        "{html}"
    );
    // The survey: where a visitor stands, no ballot form, the results on the portal.
    let r = page.get(&poll).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(frame_ancestors(&r), site);
    let html = r.text().await.unwrap();
    assert!(html.contains("Войдите как гражданин"), "{html}");
    assert!(!html.contains(r#"name="q0""#), "{html}");
    assert!(
        html.contains(&format!(
            r#"href="/polls/{survey}/results" target="_blank" rel="noopener""#
        )),
        "{html}"
    );
    assert!(html.contains("(откроется в новой вкладке)"));

    // An unregistered site is refused on every poll page.
    for path in [
        format!("/widget/{city}/polls?origin=https%3A%2F%2Fevil.example"),
        format!("/widget/{city}/polls/{survey}?origin=https%3A%2F%2Fevil.example"),
    ] {
        let r = page.get(app.url(&path)).send().await.unwrap();
        assert_eq!(r.status(), 403, "{path}");
        assert_eq!(frame_ancestors(&r), "*", "{path}");
    }
    let r = page
        .post(app.url(&format!(
            "/widget/{city}/polls/{survey}/vote?origin=https%3A%2F%2Fevil.example"
        )))
        .form(&[("csrf", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // Another organisation's poll (the operator's), or none, does not exist here.
    for path in [
        format!("/widget/{city}/polls/{operators}?{q}"),
        format!("/widget/{city}/polls/999999999?{q}"),
        format!("/widget/{city}/polls/abc?{q}"),
    ] {
        let r = page.get(app.url(&path)).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
        assert_eq!(frame_ancestors(&r), site, "{path}");
    }
    // Voting signed out leads to the widget's sign-in, which returns to the polls.
    let r = page.post(&vote).form(&[("q0", "0")]).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        header(&r, "location"),
        format!("/widget/{city}/login?{q}&next=polls")
    );
    let login = app.url(&format!("/widget/{city}/login?{q}&next=polls"));
    let html = page.get(&login).send().await.unwrap().text().await.unwrap();
    let r = page
        .post(&login)
        .form(&[
            ("csrf", csrf_in(&html).as_str()),
            ("email", CITIZEN),
            ("password", DEMO_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(header(&r, "location"), format!("/widget/{city}/polls?{q}"));
    let html = page.get(&list).send().await.unwrap().text().await.unwrap();
    assert!(
        html.contains(&format!(r#"<a href="/widget/{city}/polls?{q}">Опросы</a>"#)),
        "the signed-in navigation links the polls: {html}"
    );

    // A vote of the city's with a photo of a project: the widget's ballot shows it as the
    // portal's does, with its text alternative, and the image is served.
    let (projects, photo_url) = city_vote_with_a_photo(&app).await;
    let r = page
        .get(app.url(&format!("/widget/{city}/polls/{projects}?{q}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(
        html.contains(&format!(
            r#"<ul class="option-photos"><li><img src="{photo_url}" alt="Фото проекта: Сквер у школы" loading="lazy"></li></ul>"#
        )),
        "{html}"
    );
    assert!(html.contains(r#"name="q0""#), "the ballot form: {html}");
    // A survey's answers have photos too (a single choice's and a ranking's), in the
    // order the organisers gave them.
    let (photo_survey, urls) = city_survey_with_photos(&app).await;
    let r = page
        .get(app.url(&format!("/widget/{city}/polls/{photo_survey}?{q}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let survey_html = r.text().await.unwrap();
    assert!(
        survey_html.contains(&format!(
            r#"<ul class="option-photos"><li><img src="{}" alt="Фото варианта ответа: Сквер (1 из 2)" loading="lazy"></li><li><img src="{}" alt="Фото варианта ответа: Сквер (2 из 2)" loading="lazy"></li></ul>"#,
            urls[0], urls[1]
        )),
        "{survey_html}"
    );
    assert!(
        survey_html.contains(&format!(
            r#"<img src="{}" alt="Фото варианта ответа: Освещение" loading="lazy">"#,
            urls[2]
        )),
        "{survey_html}"
    );
    let served = page.get(app.url(&photo_url)).send().await.unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(header(&served, "content-type"), "image/png");
    assert_eq!(
        served.bytes().await.unwrap().as_ref(),
        crate::support::PNG_1X1
    );

    // Signed in, the ballot form posts to the widget with the widget's token.
    let r = page.get(&poll).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(
        html.contains(&format!(
            r#"action="/widget/{city}/polls/{survey}/vote?{q}""#
        )),
        "{html}"
    );
    assert!(html.contains(r#"name="q0""#) && html.contains(r#"name="q3_o2""#));
    let csrf = csrf_in(&html);
    // A forged token changes nothing.
    let r = page
        .post(&vote)
        .form(&[("csrf", "forged"), ("q0", "0")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // An incomplete ballot: the form again, framed, with the errors and the answers kept.
    let r = page
        .post(&vote)
        .form(&[("csrf", csrf.as_str()), ("q0", "0")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(frame_ancestors(&r), site);
    let html = r.text().await.unwrap();
    assert!(html.contains("Голос не принят"), "{html}");
    assert!(
        html.contains(r#"id="q-0-0" name="q0" value="0" checked"#),
        "{html}"
    );

    let ballot = [
        ("csrf", csrf.as_str()),
        ("q0", "0"),
        ("q1", "4"),
        ("q2", "0"),
        ("q2", "2"),
        ("q3_o0", "1"),
        ("q3_o1", "2"),
        ("q3_o2", "3"),
    ];
    let r = page.post(&vote).form(&ballot).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(frame_ancestors(&r), site);
    let html = r.text().await.unwrap();
    assert!(html.contains("Ваш голос принят"), "{html}");
    let ballot_id = ballot_id_in(&html);
    assert!(
        ballot_id.len() == 32 && ballot_id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{ballot_id}"
    );
    assert!(
        html.contains(&format!(
            r#"<form method="post" action="/polls/{survey}/receipt" target="_blank" class="inline-form"><input type="hidden" name="ballot" value="{ballot_id}">"#
        )),
        "{html}"
    );
    let (status, results) = citizen
        .get(&format!("/api/v1/polls/{survey}/results"))
        .await;
    assert_eq!(status, 200, "{results}");
    assert_eq!(results["ballots"], 1, "{results}");
    let (status, receipt) = citizen
        .get(&format!("/api/v1/polls/{survey}/receipts/{ballot_id}"))
        .await;
    assert_eq!(status, 200, "{receipt}");

    // One vote per person: the second is refused in the frame.
    let r = page.post(&vote).form(&ballot).send().await.unwrap();
    assert_eq!(r.status(), 409);
    assert_eq!(frame_ancestors(&r), site);
    assert!(r.text().await.unwrap().contains("Вы уже проголосовали"));
    let html = page.get(&poll).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Вы уже проголосовали"), "{html}");
    assert!(!html.contains(r#"name="q0""#), "{html}");

    // Staff may sign in, but voting is a citizen's act.
    let official = app.official_of(CITY).email.clone();
    let staff = app.browser();
    widget_login(&app, &staff, city, site, &official).await;
    let html = staff.get(&poll).send().await.unwrap().text().await.unwrap();
    assert!(!html.contains(r#"name="q0""#), "{html}");
    let r = staff
        .post(&vote)
        .form(&[
            ("csrf", csrf_in(&html).as_str()),
            ("q0", "0"),
            ("q1", "4"),
            ("q3_o0", "1"),
            ("q3_o1", "2"),
            ("q3_o2", "3"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(frame_ancestors(&r), site);
    assert!(r.text().await.unwrap().contains("граждане"));
    let (_, results) = citizen
        .get(&format!("/api/v1/polls/{survey}/results"))
        .await;
    assert_eq!(results["ballots"], 1, "{results}");
    app.stop().await;
}

// --- headless Chromium --------------------------------------------------------------------------

/// A tiny web site on a loopback port of its own: serves fixed pages by path.
struct Site {
    origin: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Site {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn site(pages: impl Fn(&str) -> Vec<(&'static str, String)>) -> Site {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let pages = Arc::new(pages(&origin));
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let pages = Arc::clone(&pages);
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut chunk = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 65_536 {
                    match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&chunk[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&request);
                let target = head.split_whitespace().nth(1).unwrap_or("/");
                let path = target.split('?').next().unwrap_or("/");
                let (status, body) = match pages.iter().find(|(p, _)| *p == path) {
                    Some((_, body)) => ("200 OK", body.clone()),
                    None => ("404 Not Found", "not found".to_owned()),
                };
                let response = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\n\
                     Content-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    Site { origin, task }
}

/// A host page that embeds the snippet, with a style sheet that tries hard to restyle
/// everything (the widget must not change, nor change the page).
fn host_page(platform: &str, org: i64) -> String {
    format!(
        r##"<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><title>Сайт администрации</title>
<style>* {{ color: #00ff00 !important; font: italic 9px/1 serif !important; letter-spacing: 3px !important; }} button {{ background: #ff0000 !important; }}</style>
</head><body>
<h1>Сайт администрации города</h1>
<p><a href="#news" id="news">Новости</a></p>
<div id="feedback"></div>
<script src="{platform}/widget.js" data-org="{org}" data-container="feedback" async></script>
</body></html>"##
    )
}

/// A page that frames the widget's sign-in itself, naming `origin` as its site.
fn framing_page(platform: &str, org: i64, origin: &str) -> String {
    format!(
        r#"<!doctype html><html lang="ru"><head><meta charset="utf-8"><title>Страница с формой</title></head>
<body><h1>Страница с формой</h1><iframe id="framed" title="Форма обратной связи" src="{platform}/widget/{org}/login?origin={}"></iframe></body></html>"#,
        enc(origin)
    )
}

/// Whether the frame `#framed` of the current page shows a page of the widget (the
/// sign-in, or for a signed-in citizen the topics).
async fn framed_widget_shows(c: &Client) -> bool {
    c.find(Locator::Css("#framed"))
        .await
        .unwrap()
        .enter_frame()
        .await
        .unwrap();
    let shown = c.find(Locator::Css("main.widget-main")).await.is_ok();
    c.enter_parent_frame().await.unwrap();
    shown
}

async fn wait_for<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..200 {
        if let Some(v) = probe().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn js(c: &Client, script: &str) -> Value {
    c.execute(script, vec![]).await.unwrap()
}

async fn keys(c: &Client, key: Key) {
    let k: char = key.into();
    c.perform_actions(
        KeyActions::new("keyboard".to_owned())
            .then(KeyAction::Down { value: k })
            .then(KeyAction::Up { value: k }),
    )
    .await
    .unwrap();
}

/// The widget's shadow root on the current page, once the async script has run.
async fn widget_root(c: &Client) -> fantoccini::elements::ShadowRoot {
    let host = wait_for("the widget on the host page", || async {
        c.find(Locator::Css("otklik-widget")).await.ok()
    })
    .await;
    host.shadow_root().await.unwrap()
}

/// Enters the widget's frame and waits until its page shows `selector`.
async fn enter_widget_frame(c: &Client) {
    let root = widget_root(c).await;
    root.find(Locator::Css("iframe"))
        .await
        .unwrap()
        .enter_frame()
        .await
        .unwrap();
}

async fn follow(c: &Client, locator: Locator<'_>) {
    let old = c.find(Locator::Css("html")).await.unwrap();
    c.find(locator).await.unwrap().click().await.unwrap();
    wait_for("the next page", || async {
        old.tag_name().await.is_err().then_some(())
    })
    .await;
    wait_for("the next page to load", || async {
        (js(c, "return document.readyState;").await == "complete").then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_citizen_submits_through_the_widget_on_another_site_in_chromium() {
    let app = spawn_app().await;
    let city = org_id(&app, CITY).await;
    let platform = app.base.clone();
    // The host site: the snippet, and a page that frames the sign-in directly.
    let host = site(|origin| {
        vec![
            ("/", host_page(&platform, city)),
            ("/framed", framing_page(&platform, city, origin)),
        ]
    })
    .await;
    // The organisation's administrator registers the host site.
    register_site(&app, city, &host.origin).await;
    let registered = host.origin.clone();
    // A stranger's site: the same snippet, and the same frame claiming the host's name.
    let stranger = site(|_| {
        vec![
            ("/", host_page(&platform, city)),
            ("/framed", framing_page(&platform, city, &registered)),
        ]
    })
    .await;
    assert_ne!(host.origin, platform);
    let driver = start_driver().await;
    let c = browser(&driver).await;

    // The host page shows the button in its own style, and keeps its own.
    c.goto(&format!("{}/", host.origin)).await.unwrap();
    let root = widget_root(&c).await;
    let open = root.find(Locator::Css("button.open")).await.unwrap();
    assert_eq!(open.text().await.unwrap(), "Сообщить о проблеме");
    let background = open.css_value("background-color").await.unwrap();
    assert!(
        background.contains("23, 71, 166"),
        "the host page's style sheet does not restyle the widget: {background}"
    );
    let font = js(
        &c,
        "var b = document.querySelector('otklik-widget').shadowRoot.querySelector('button');
         var s = getComputedStyle(b);
         return [s.fontFamily.split(',')[0], s.fontSize, s.fontStyle, s.letterSpacing, s.color];",
    )
    .await;
    assert_eq!(
        font,
        json!([
            "system-ui",
            "16px",
            "normal",
            "normal",
            "rgb(255, 255, 255)"
        ]),
        "inherited properties do not leak in from the host page"
    );
    let heading = c
        .find(Locator::Css("h1"))
        .await
        .unwrap()
        .css_value("color")
        .await
        .unwrap();
    assert!(
        heading.contains("0, 255, 0"),
        "the widget does not restyle the host page: {heading}"
    );
    assert_eq!(
        js(
            &c,
            "return document.querySelector('#feedback otklik-widget') !== null;"
        )
        .await,
        true,
        "rendered into data-container"
    );
    look(&c, "widget-host", 1280).await;

    // By keyboard: Tab from the page's last link reaches the button, with a visible focus;
    // Enter opens the dialog and moves focus into it.
    js(&c, "document.getElementById('news').focus(); return null;").await;
    keys(&c, Key::Tab).await;
    let focused = js(
        &c,
        "var h = document.activeElement; var b = h && h.shadowRoot && h.shadowRoot.activeElement;
         return b ? [b.className, getComputedStyle(b).outlineStyle, getComputedStyle(b).outlineWidth] : null;",
    )
    .await;
    assert_eq!(
        focused,
        json!(["open", "solid", "3px"]),
        "focus on the button, visible"
    );
    keys(&c, Key::Enter).await;
    let state = js(
        &c,
        "var r = document.querySelector('otklik-widget').shadowRoot; var d = r.querySelector('dialog');
         return [d.open, r.activeElement && r.activeElement.className, d.getAttribute('aria-labelledby'),
                 r.getElementById(d.getAttribute('aria-labelledby')).textContent,
                 r.querySelector('iframe').getAttribute('title')];",
    )
    .await;
    assert_eq!(
        state,
        json!([
            true,
            "close",
            "otklik-title",
            "Сообщить о проблеме",
            "Форма обратной связи"
        ])
    );

    // Inside the frame: the widget's sign-in, then the city's topics and the form.
    enter_widget_frame(&c).await;
    wait_for("the sign-in form in the frame", || async {
        c.find(Locator::Css("#f-email")).await.ok()
    })
    .await;
    fill(&c, "#f-email", CITIZEN).await;
    fill(&c, "#f-password", DEMO_PASSWORD).await;
    submit(&c, "form.form button[type=submit]").await;
    let text = page_text(&c).await;
    assert!(text.contains("Выберите тему"), "{text}");
    follow(&c, Locator::LinkText(TRAFFIC_LIGHT)).await;
    let region = js(
        &c,
        "var s = document.getElementById('f-region'); return s.options[s.selectedIndex].text;",
    )
    .await;
    assert_eq!(
        region, "Тверская область",
        "the organisation's region is preset"
    );
    fill(
        &c,
        "#f-fields-address",
        "г. Тверь, пересечение ул. Советской и ул. Горького",
    )
    .await;
    c.find(Locator::Css("#f-fields-fault"))
        .await
        .unwrap()
        .select_by_label("Не работает полностью")
        .await
        .unwrap();
    fill(
        &c,
        "#f-text",
        "Светофор на перекрёстке не работает с утра, машины едут наугад.",
    )
    .await;
    submit(&c, "form.form button[type=submit]").await;
    let text = page_text(&c).await;
    assert!(text.contains("Зарегистрировано: №"), "{text}");
    let href = c
        .find(Locator::Css(".notice a[href^='/submissions/']"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        c.find(Locator::Css(".notice a[href^='/submissions/']"))
            .await
            .unwrap()
            .attr("target")
            .await
            .unwrap()
            .as_deref(),
        Some("_blank"),
        "the portal page opens in a new tab"
    );
    let id: i64 = href.rsplit('/').next().unwrap().parse().unwrap();
    let overflow = js(
        &c,
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
    )
    .await;
    assert!(
        overflow.as_i64().unwrap_or(1) <= 0,
        "the frame scrolls sideways"
    );

    // As the citizen, through the API: sent through the widget, from the host site.
    let citizen = app.api(&app.token(CITIZEN).await);
    let (status, view) = citizen.get(&format!("/api/v1/submissions/{id}")).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["channel"], "widget");
    assert_eq!(view["origin"], host.origin.as_str());
    let number = view["number"].as_str().unwrap().to_owned();
    assert!(text.contains(&format!("№ {number}")), "{text}");
    // And in the widget's own list.
    follow(&c, Locator::LinkText("Мои сообщения с этого сайта")).await;
    let text = page_text(&c).await;
    assert!(text.contains(&format!("№ {number}")), "{text}");
    assert!(text.contains("Зарегистрировано"), "{text}");

    // The dialog at 320 px: nothing scrolls sideways, in the page or in the frame.
    c.enter_parent_frame().await.unwrap();
    look(&c, "widget-dialog", 1280).await;
    look(&c, "widget-dialog", 320).await;

    // Esc inside the frame closes the dialog; focus goes back to the button.
    enter_widget_frame(&c).await;
    c.find(Locator::Css("main h1"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    keys(&c, Key::Escape).await;
    c.enter_parent_frame().await.unwrap();
    wait_for("the dialog to close", || async {
        let s = js(
            &c,
            "var r = document.querySelector('otklik-widget').shadowRoot;
             return [r.querySelector('dialog').open, r.activeElement && r.activeElement.className];",
        )
        .await;
        (s == json!([false, "open"])).then_some(())
    })
    .await;

    // A page on an unregistered origin: the frame shows the refusal, never the form.
    c.goto(&format!("{}/", stranger.origin)).await.unwrap();
    let root = widget_root(&c).await;
    root.find(Locator::Css("button.open"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    enter_widget_frame(&c).await;
    let text = wait_for("the refusal in the frame", || async {
        let text = c.find(Locator::Css("main")).await.ok()?.text().await.ok()?;
        Some(text)
    })
    .await;
    assert!(text.contains("не подключён"), "{text}");
    assert!(c.find(Locator::Css("#f-email")).await.is_err());
    assert!(c.find(Locator::Css("textarea")).await.is_err());
    c.enter_parent_frame().await.unwrap();
    look(&c, "widget-refused", 1280).await;

    // A frame of its own on the registered site shows the widget; the same frame on the
    // stranger's site, claiming the registered site's name, shows nothing: the browser
    // refuses it (frame-ancestors).
    c.goto(&format!("{}/framed", host.origin)).await.unwrap();
    assert!(
        framed_widget_shows(&c).await,
        "the registered site's own frame"
    );
    c.goto(&format!("{}/framed", stranger.origin))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !framed_widget_shows(&c).await,
        "the form rendered in a frame of an unregistered site"
    );

    c.close().await.unwrap();
    drop(host);
    drop(stranger);
    app.stop().await;
}
