//! The poll pages through real HTTP, as a browser without JavaScript uses them: the
//! operator creates a survey with the plain-text form of questions (first refused, then
//! accepted), a citizen votes through the ballot form (first refused, then accepted, then
//! refused as a second vote), the live results count the ballot, the receipt is found by
//! the ballot id, only the poll's organisers may cancel it, and the list shows the polls
//! open now.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use reqwest::{Client, Response};
use serde_json::Value;

use crate::support::moscow;
use crate::support::{csrf_in, page_login, spawn_app, TestApp, CITIZEN, DEMO_PASSWORD, OPERATOR};

const TITLE: &str = "Освещение дворов Заволжского района";
const QUESTIONS: &str = "? Как вы оцениваете освещение во дворе?\n* шкала 1..5\n\
    ? Нужна ли новая детская площадка?\n* один\n- Да\n- Нет";
const DEMO_VOTE: &str = "Благоустройство общественных пространств — 2027";
const DEMO_SURVEY: &str = "Уборка улиц зимой";
const CITY: &str = "Администрация города Твери";

/// A browser-like client: cookies kept, redirects not followed.
struct Session<'a> {
    app: &'a TestApp,
    client: Client,
}

impl<'a> Session<'a> {
    fn anonymous(app: &'a TestApp) -> Self {
        Self {
            app,
            client: app.browser(),
        }
    }

    async fn signed_in(app: &'a TestApp, email: &str) -> Self {
        let session = Self::anonymous(app);
        let r = page_login(app, &session.client, email, DEMO_PASSWORD).await;
        assert_eq!(r.status(), 303, "login of {email}");
        session
    }

    async fn get(&self, path: &str) -> Response {
        self.client.get(self.app.url(path)).send().await.unwrap()
    }

    async fn page(&self, path: &str) -> (u16, String) {
        let r = self.get(path).await;
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// The CSRF token of this session, read from a form.
    async fn csrf(&self) -> String {
        let (status, html) = self.page("/login").await;
        assert_eq!(status, 200);
        csrf_in(&html)
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.client
            .post(self.app.url(path))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// A form post answered with a page: its status and HTML.
    async fn post_page(&self, path: &str, form: &[(&str, &str)]) -> (u16, String) {
        let r = self.post(path, form).await;
        (r.status().as_u16(), r.text().await.unwrap())
    }
}

fn location(r: &Response) -> String {
    r.headers()
        .get("location")
        .map_or(String::new(), |v| v.to_str().unwrap().to_owned())
}

/// The ballot id shown in the acknowledgement.
fn ballot_id_in(html: &str) -> String {
    let marker = r#"<code class="hash" id="ballot-id">"#;
    let start = html.find(marker).expect("the ballot id") + marker.len();
    let end = start + html[start..].find("</code>").unwrap();
    html[start..end].to_owned()
}

/// The id of the poll a list links to under this title.
fn poll_link(html: &str, title: &str) -> i64 {
    let end = html
        .find(&format!("\">{title}</a>"))
        .unwrap_or_else(|| panic!("no link to {title}: {html}"));
    let start = html[..end].rfind("href=\"/polls/").unwrap() + "href=\"/polls/".len();
    html[start..end].parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_survey_created_voted_counted_and_cancelled_through_the_pages() {
    let app = spawn_app().await;
    let operator = Session::signed_in(&app, OPERATOR).await;
    let ivan = Session::signed_in(&app, CITIZEN).await;

    // (a) The operator's form: an empty title comes back with the summary, what was
    // typed kept; then the poll is created.
    let (status, html) = operator.page("/polls/new").await;
    assert_eq!(status, 200);
    assert!(
        html.contains(r#"<form method="post" action="/polls/new""#),
        "{html}"
    );
    assert!(html.contains(r#"id="f-questions-text" name="questions_text""#));
    let csrf = operator.csrf().await;
    let (opens, closes) = (moscow(-1), moscow(7 * 24 * 60));
    let mut form = vec![
        ("csrf", csrf.as_str()),
        ("kind", "survey"),
        ("title", ""),
        ("description", "Где во дворах не хватает света."),
        ("questions_text", QUESTIONS),
        ("opens_at", opens.as_str()),
        ("closes_at", closes.as_str()),
        ("results", "live"),
        ("verification", "standard"),
        ("min_age", ""),
        ("region", ""),
    ];
    let (status, html) = operator.post_page("/polls/new", &form).await;
    assert_eq!(status, 422, "{html}");
    assert!(
        html.contains(r#"<h2 id="error-summary-title">Исправьте ошибки</h2>"#),
        "{html}"
    );
    assert!(
        html.contains(r##"<li><a href="#f-title">Название: Заполните это поле.</a></li>"##),
        "{html}"
    );
    assert!(html.contains(r#"id="f-title-error""#), "{html}");
    assert!(
        html.contains("? Как вы оцениваете освещение во дворе?\n* шкала 1..5"),
        "the questions typed are kept: {html}"
    );
    assert!(html.contains(&format!(r#"value="{opens}""#)), "{html}");
    assert!(!html.contains(TITLE));

    form[2] = ("title", TITLE);
    let r = operator.post("/polls/new", &form).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let to = location(&r);
    let id: i64 = to
        .strip_prefix("/polls/")
        .unwrap_or_else(|| panic!("redirected to {to}"))
        .parse()
        .unwrap_or_else(|_| panic!("redirected to {to}"));
    let page = format!("/polls/{id}");
    let (status, html) = operator.page(&page).await;
    assert_eq!(status, 200);
    assert!(html.contains(&format!("<h1>{TITLE}</h1>")), "{html}");
    assert!(html.contains("<dt>Состояние</dt><dd>Идёт</dd>"), "{html}");
    assert!(html.contains("<dt>Организатор</dt><dd>Оператор платформы</dd>"));
    assert!(html.contains("<dt>Голосов подано</dt><dd>0</dd>"));
    assert!(
        html.contains("Голосуют граждане: войдите как гражданин, чтобы проголосовать."),
        "staff do not get a ballot: {html}"
    );
    assert!(html.contains(&format!(r#"action="{page}/cancel""#)));

    // (b) Ivan sees the ballot form: the scale's radios 1..5, the choice's two.
    let (status, html) = ivan.page(&page).await;
    assert_eq!(status, 200);
    let vote = format!("{page}/vote");
    assert!(html.contains(&format!(r#"action="{vote}""#)), "{html}");
    assert!(html.contains("<legend>1. Как вы оцениваете освещение во дворе?"));
    assert!(html.contains("<legend>2. Нужна ли новая детская площадка?"));
    for v in 1..=5 {
        assert!(
            html.contains(&format!(r#"id="q-0-{v}" name="q0" value="{v}""#)),
            "scale value {v}: {html}"
        );
    }
    assert!(html.contains(r#"id="q-1-0" name="q1" value="0""#));
    assert!(html.contains(r#"<label for="q-1-1">Нет</label>"#));
    assert!(!html.contains(&format!(r#"action="{page}/cancel""#)));

    // The single choice left out: the page names the question and keeps the scale.
    let csrf = ivan.csrf().await;
    let (status, html) = ivan
        .post_page(&vote, &[("csrf", csrf.as_str()), ("q0", "4")])
        .await;
    assert_eq!(status, 422, "{html}");
    assert!(
        html.contains(r#"<h2 id="error-summary-title">Голос не принят</h2>"#),
        "{html}"
    );
    assert!(
        html.contains(r##"<li><a href="#q-1-0">Вопрос 2: Выберите ответ.</a></li>"##),
        "{html}"
    );
    assert!(html.contains(r#"id="q-1-error""#), "{html}");
    assert!(
        html.contains(r#"id="q-0-4" name="q0" value="4" checked"#),
        "the answer given is kept: {html}"
    );
    assert!(!html.contains("Ваш голос принят"));

    let (status, html) = ivan
        .post_page(&vote, &[("csrf", csrf.as_str()), ("q0", "4"), ("q1", "0")])
        .await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("<h1>Ваш голос принят</h1>"), "{html}");
    assert!(html.contains(&format!("Голос в опросе «{TITLE}» учтён.")));
    let ballot = ballot_id_in(&html);
    assert_eq!(ballot.len(), 32, "{ballot}");
    assert!(
        ballot
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
        "{ballot}"
    );

    // (c) A second ballot is refused with the reason, and the form is gone.
    let (status, html) = ivan
        .post_page(&vote, &[("csrf", csrf.as_str()), ("q0", "1"), ("q1", "1")])
        .await;
    assert_eq!(status, 409, "{html}");
    assert!(
        html.contains("Вы уже проголосовали. Голос учитывается один раз."),
        "{html}"
    );
    assert!(!html.contains(&format!(r#"action="{vote}""#)), "{html}");
    let (status, html) = ivan.page(&page).await;
    assert_eq!(status, 200);
    assert!(html.contains("Вы уже проголосовали. Голос учитывается один раз."));
    assert!(html.contains("<dt>Голосов подано</dt><dd>1</dd>"), "{html}");

    // (d) Live results: one ballot, the scale's mean, the choice at 100 %.
    let (status, html) = ivan.page(&format!("{page}/results")).await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("Всего бюллетеней: <strong>1</strong>."),
        "{html}"
    );
    assert!(html.contains("Промежуточные результаты"), "{html}");
    assert!(
        html.contains("Ответили: 1. Среднее: <strong>4,00</strong>."),
        "{html}"
    );
    assert!(
        html.contains("<th scope=\"row\">Да</th>\n    <td>1</td>\n    <td>100,0 %"),
        "{html}"
    );

    // (e) The receipt, by the ballot id alone (no account), and through the page's form.
    let r = reqwest::get(app.url(&format!("/api/v1/polls/{id}/receipts/{ballot}")))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let receipt: Value = r.json().await.unwrap();
    assert_eq!(receipt["ballot_id"], ballot.as_str(), "{receipt}");
    assert_eq!(receipt["poll"], id, "{receipt}");
    // The page's form posts the id (never a URL with it) and downloads the same receipt.
    let upper = ballot.to_ascii_uppercase();
    let r = Session::anonymous(&app)
        .post(&format!("{page}/receipt"), &[("ballot", upper.as_str())])
        .await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        r.headers()["content-disposition"],
        format!("attachment; filename=\"poll-{id}-receipt.json\"").as_str()
    );
    let downloaded: Value = r.json().await.unwrap();
    assert_eq!(downloaded["ballot_id"], ballot.as_str());
    assert_eq!(downloaded["leaf_index"], receipt["leaf_index"]);
    let (status, html) = Session::anonymous(&app)
        .post_page(&format!("{page}/receipt"), &[("ballot", &"0".repeat(32))])
        .await;
    assert_eq!(status, 422);
    assert!(
        html.contains("В этом опросе нет бюллетеня с таким номером."),
        "{html}"
    );

    // (f) An official of another organisation may not cancel the operator's poll; the
    // operator may, and then the poll is gone for everyone but its organisers.
    let stranger = Session::signed_in(&app, &app.official_of(CITY).email).await;
    let (status, html) = stranger.page(&page).await;
    assert_eq!(status, 200);
    assert!(!html.contains(&format!(r#"action="{page}/cancel""#)));
    let csrf = stranger.csrf().await;
    let r = stranger
        .post(&format!("{page}/cancel"), &[("csrf", csrf.as_str())])
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(ivan.page(&page).await.0, 200, "still running");
    // Without the CSRF token, not even the operator.
    let r = operator
        .post(&format!("{page}/cancel"), &[("csrf", "forged")])
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(ivan.page(&page).await.0, 200, "still running");
    let csrf = operator.csrf().await;
    let r = operator
        .post(&format!("{page}/cancel"), &[("csrf", csrf.as_str())])
        .await;
    assert_eq!((r.status().as_u16(), location(&r)), (303, page.clone()));
    let (status, html) = ivan.page(&page).await;
    assert_eq!(status, 404, "{html}");
    assert!(!html.contains(TITLE));
    assert_eq!(ivan.page(&format!("{page}/results")).await.0, 404);
    let (status, html) = operator.page(&page).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("<dt>Состояние</dt><dd>Отменён</dd>"),
        "{html}"
    );
    assert!(!html.contains(&format!(r#"action="{page}/cancel""#)));

    // (g) The list: the demo's polls open now, the cancelled one gone; the demo vote's
    // results are under embargo.
    for session in [&ivan, &Session::anonymous(&app)] {
        let (status, html) = session.page("/polls").await;
        assert_eq!(status, 200);
        assert!(html.contains(&format!("\">{DEMO_VOTE}</a>")), "{html}");
        assert!(html.contains(&format!("\">{DEMO_SURVEY}</a>")), "{html}");
        assert!(!html.contains(TITLE), "{html}");
        assert!(!html.contains(r#"href="/polls/new""#));
    }
    let (_, html) = ivan.page("/polls").await;
    let demo_vote = poll_link(&html, DEMO_VOTE);
    let (status, html) = ivan.page(&format!("/polls/{demo_vote}/results")).await;
    assert_eq!(status, 403, "{html}");
    assert!(
        html.contains("Результаты будут опубликованы после окончания голосования."),
        "{html}"
    );
    assert!(!html.contains("Всего бюллетеней"));
    // The operator's list also shows the polls they run, the cancelled one among them.
    let (status, html) = operator.page("/polls").await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"href="/polls/new""#));
    assert!(html.contains(&format!("\">{TITLE}</a>")), "{html}");
    app.stop().await;
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

const PROJECTS: &str = "? Какие проекты благоустройства выполнить?\n* несколько до 2\n\
    - Сквер у школы :: скамейки и освещение @ 56.8587, 35.9176\n- Детская площадка";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photos_of_projects_are_stripped_served_shown_and_frozen_once_the_vote_opens() {
    use serde_json::json;
    let app = spawn_app().await;
    let operator = app.api(&app.token(OPERATOR).await);
    let citizen = app.api(&app.token(CITIZEN).await);
    let (status, vote) = operator
        .post(
            "/api/v1/polls",
            json!({"kind": "vote", "title": "Проекты с фотографиями", "questions_text": PROJECTS,
                   "opens_at": moscow(60), "closes_at": moscow(60 * 24), "results": "live"}),
        )
        .await;
    assert_eq!(status, 201, "{vote}");
    let id = vote["id"].as_i64().unwrap();
    assert_eq!(vote["photos"], json!([]));
    let photos = format!("/api/v1/polls/{id}/options/0/photos");

    // A phone's JPEG: stored and served without its EXIF (place, name).
    let original = crate::operations::phone_jpeg();
    assert!(contains(&original, b"GPS 56.8587N"));
    let (status, photo) = operator
        .post(
            &photos,
            json!({"name": "../сквер.JPG", "content_base64": b64(&original)}),
        )
        .await;
    assert_eq!(status, 201, "{photo}");
    assert_eq!(photo["mime"], "image/jpeg");
    assert_eq!(photo["alt"], "Фото проекта: Сквер у школы");
    let url = photo["url"].as_str().unwrap().to_owned();
    assert_eq!(url, format!("/polls/{id}/photos/{}", photo["id"]));
    let served = reqwest::get(app.url(&url)).await.unwrap();
    assert_eq!(served.status(), 200);
    let header = |name: &str| {
        served
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    assert_eq!(header("content-type"), "image/jpeg");
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert!(
        header("cache-control").starts_with("public"),
        "{}",
        header("cache-control")
    );
    let etag = header("etag");
    let bytes = served.bytes().await.unwrap();
    assert!(bytes.starts_with(&[0xFF, 0xD8]));
    assert!(
        !contains(&bytes, b"GPS"),
        "metadata left in the served photo"
    );
    assert!(!contains(&bytes, b"Ivan Petrov"));
    // The orientation stays, as a one-tag EXIF block, so a portrait is not shown sideways.
    assert!(contains(&bytes, b"Exif"), "the orientation was dropped");
    let again = app
        .browser()
        .get(app.url(&url))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);

    // Refusals change nothing.
    let (status, problem) = operator
        .post(
            &photos,
            json!({"name": "plan.pdf", "content_base64": b64(b"%PDF-1.4 plan")}),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (422, Some("not_an_image")),
        "{problem}"
    );
    let (status, problem) = operator
        .post(&photos, json!({"content_base64": "не base64"}))
        .await;
    assert_eq!(status, 422, "{problem}");
    let (status, problem) = operator
        .post(
            &format!("/api/v1/polls/{id}/options/7/photos"),
            json!({"content_base64": b64(crate::support::PNG_1X1)}),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (404, Some("unknown_option")),
        "{problem}"
    );
    let (status, _) = citizen
        .post(
            &photos,
            json!({"content_base64": b64(crate::support::PNG_1X1)}),
        )
        .await;
    assert_eq!(status, 403);
    for _ in 0..2 {
        let (status, body) = operator
            .post(
                &photos,
                json!({"name": "b.png", "content_base64": b64(crate::support::PNG_1X1)}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, problem) = operator
        .post(
            &photos,
            json!({"content_base64": b64(crate::support::PNG_1X1)}),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("too_many_photos")),
        "{problem}"
    );
    let (_, view) = operator.get(&format!("/api/v1/polls/{id}")).await;
    assert_eq!(view["photos"].as_array().unwrap().len(), 3, "{view}");

    // The organisers' page: an upload form per project (multipart, no JavaScript), and
    // removing.
    let staff = Session::signed_in(&app, OPERATOR).await;
    let (status, html) = staff.page(&format!("/polls/{id}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("Фотографии проектов"), "{html}");
    assert!(html.contains(&format!(
        "action=\"/polls/{id}/questions/0/options/1/photos\""
    )));
    assert!(html.contains("enctype=\"multipart/form-data\""));
    let csrf = csrf_in(&html);
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf.clone())
        .part(
            "photo",
            reqwest::multipart::Part::bytes(crate::support::PNG_1X1.to_vec())
                .file_name("площадка.png"),
        );
    let r = staff
        .client
        .post(app.url(&format!("/polls/{id}/options/1/photos")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (_, view) = operator.get(&format!("/api/v1/polls/{id}")).await;
    let listed = view["photos"].as_array().unwrap().clone();
    assert_eq!(listed.len(), 4, "{view}");
    assert_eq!(listed[3]["option"], 1);
    let r = staff
        .post(
            &format!("/polls/{id}/photos/{}/delete", listed[3]["id"]),
            &[("csrf", csrf.as_str())],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (status, _) = operator
        .delete(&format!("/api/v1/polls/{id}/photos/{}", listed[2]["id"]))
        .await;
    assert_eq!(status, 204);
    let (status, _) = operator
        .delete(&format!("/api/v1/polls/{id}/photos/{}", listed[2]["id"]))
        .await;
    assert_eq!(status, 404);
    let gone = reqwest::get(app.url(listed[2]["url"].as_str().unwrap()))
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);

    // The vote opens (as if its time had come): the ballot shows each project's photos
    // with a text alternative, and nothing can change any more.
    crate::support::open_poll_now(&app, id, false).await;
    let ivan = Session::signed_in(&app, CITIZEN).await;
    let (status, html) = ivan.page(&format!("/polls/{id}")).await;
    assert_eq!(status, 200);
    assert!(
        html.contains(&format!("action=\"/polls/{id}/vote\"")),
        "{html}"
    );
    assert!(
        html.contains(&format!(
            "<img src=\"{url}\" alt=\"Фото проекта: Сквер у школы (1 из 2)\""
        )),
        "{html}"
    );
    assert!(!html.contains("Фотографии проектов"));
    let (status, html) = Session::anonymous(&app).page(&format!("/polls/{id}")).await;
    assert_eq!(status, 200);
    assert!(html.contains(&format!("<img src=\"{url}\"")), "{html}");
    let (status, problem) = operator
        .post(
            &photos,
            json!({"content_base64": b64(crate::support::PNG_1X1)}),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("poll_not_editable")),
        "{problem}"
    );
    let (status, problem) = operator
        .delete(&format!("/api/v1/polls/{id}/photos/{}", listed[0]["id"]))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("poll_not_editable")),
        "{problem}"
    );
    let (_, view) = operator.get(&format!("/api/v1/polls/{id}")).await;
    assert_eq!(view["photos"].as_array().unwrap().len(), 2, "{view}");
}

const SURVEY_WITH_CHOICES: &str = "? Что построить во дворе?\n* один\n- Сквер\n- Площадку\n\
    ? Оценка двора\n* шкала 1..5\n? В каком порядке выполнять работы?\n* порядок\n- Дорога\n- Освещение";

/// The `src` of every `<img>` in this HTML, in order.
fn img_srcs(html: &str) -> Vec<String> {
    html.split("<img src=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_surveys_answers_have_photos_that_organisers_order_before_it_opens() {
    use serde_json::json;
    let app = spawn_app().await;
    let operator = app.api(&app.token(OPERATOR).await);
    let citizen = app.api(&app.token(CITIZEN).await);
    let (status, survey) = operator
        .post(
            "/api/v1/polls",
            json!({"kind": "survey", "title": "Двор с фотографиями", "questions_text": SURVEY_WITH_CHOICES,
                   "opens_at": moscow(60), "closes_at": moscow(60 * 24), "results": "live"}),
        )
        .await;
    assert_eq!(status, 201, "{survey}");
    let id = survey["id"].as_i64().unwrap();
    let png = json!({"name": "a.png", "content_base64": b64(crate::support::PNG_1X1)});
    let at = |q: u16, o: u16| format!("/api/v1/polls/{id}/questions/{q}/options/{o}/photos");

    // The API: a single choice's and a ranking's options take photos; a scale, a question
    // beyond the last and an option beyond the last are refused, and nothing is written.
    let mut first = Vec::new();
    for _ in 0..3 {
        let (status, photo) = operator.post(&at(0, 0), png.clone()).await;
        assert_eq!(status, 201, "{photo}");
        assert_eq!(
            (photo["question"].clone(), photo["option"].clone()),
            (json!(0), json!(0))
        );
        assert_eq!(photo["alt"], "Фото варианта ответа: Сквер");
        first.push(photo["id"].as_i64().unwrap());
    }
    let (status, ranked) = operator.post(&at(2, 1), png.clone()).await;
    assert_eq!(status, 201, "{ranked}");
    for (path, status_code, code) in [
        (at(1, 0), 409, "not_a_choice_question"),
        (at(3, 0), 404, "unknown_question"),
        (at(2, 2), 404, "unknown_option"),
        (at(0, 0), 409, "too_many_photos"),
    ] {
        let (status, problem) = operator.post(&path, png.clone()).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (status_code, Some(code)),
            "{path}: {problem}"
        );
    }
    let (status, _) = citizen.post(&at(0, 1), png.clone()).await;
    assert_eq!(status, 403);
    let (_, view) = operator.get(&format!("/api/v1/polls/{id}")).await;
    let listed: Vec<i64> = view["photos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    assert_eq!(
        listed,
        [first[0], first[1], first[2], ranked["id"].as_i64().unwrap()]
    );

    // Moving through the API: one place at a time, the edges refused, bad input a 422.
    let moving = |photo: i64| format!("/api/v1/polls/{id}/photos/{photo}/move");
    let (status, order) = operator
        .post(&moving(first[2]), json!({"direction": "up"}))
        .await;
    assert_eq!(status, 200, "{order}");
    let ids = |v: &Value| -> Vec<i64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(ids(&order), [first[0], first[2], first[1]]);
    assert_eq!(order[0]["alt"], "Фото варианта ответа: Сквер");
    for (photo, body, status_code, code) in [
        (first[0], json!({"direction": "up"}), 409, "photo_at_edge"),
        (first[1], json!({"direction": "down"}), 409, "photo_at_edge"),
        (
            first[0],
            json!({"direction": "sideways"}),
            422,
            "unknown_direction",
        ),
        (999_999_999, json!({"direction": "up"}), 404, "not_found"),
    ] {
        let (status, problem) = operator.post(&moving(photo), body.clone()).await;
        assert_eq!(status, status_code, "{body}: {problem}");
        let found = problem["code"] == code || problem["errors"][0]["code"] == code;
        assert!(found, "{body}: {problem}");
    }
    let (status, _) = citizen
        .post(&moving(first[0]), json!({"direction": "down"}))
        .await;
    assert_eq!(status, 403);
    let (_, view) = operator.get(&format!("/api/v1/polls/{id}")).await;
    assert_eq!(
        ids(&view["photos"])[..3],
        [first[0], first[2], first[1]],
        "the order is kept"
    );

    // The organisers' page: an editor per choice question and option, with move buttons
    // that work without JavaScript.
    let staff = Session::signed_in(&app, OPERATOR).await;
    let (status, html) = staff.page(&format!("/polls/{id}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("Фотографии вариантов ответа"), "{html}");
    assert!(
        html.contains("Вопрос 3. В каком порядке выполнять работы?"),
        "{html}"
    );
    assert!(
        !html.contains("Вопрос 2. Оценка двора</h3>"),
        "a scale has no options: {html}"
    );
    assert!(html.contains(&format!(
        "action=\"/polls/{id}/questions/2/options/0/photos\""
    )));
    assert!(html.contains(&format!("action=\"/polls/{id}/photos/{}/move\"", first[1])));
    assert!(html.contains(r#"name="direction" value="up""#));
    assert!(html.contains(r#"name="direction" value="down""#));
    let csrf = csrf_in(&html);
    let r = staff
        .post(
            &format!("/polls/{id}/photos/{}/move", first[1]),
            &[("csrf", csrf.as_str()), ("direction", "up")],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"].to_str().unwrap(),
        format!("/polls/{id}#photos-0-0")
    );
    let r = staff
        .post(
            &format!("/polls/{id}/photos/{}/move", first[1]),
            &[("csrf", csrf.as_str()), ("direction", "up")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (status, html) = staff
        .post_page(
            &format!("/polls/{id}/photos/{}/move", first[1]),
            &[("csrf", csrf.as_str()), ("direction", "up")],
        )
        .await;
    assert_eq!(status, 409, "{html}");
    assert!(html.contains("Фотография уже на краю"), "{html}");
    let (status, _) = staff
        .post_page(
            &format!("/polls/{id}/photos/{}/move", first[1]),
            &[("csrf", csrf.as_str()), ("direction", "")],
        )
        .await;
    assert_eq!(status, 422);
    let (status, _) = staff
        .post_page(
            &format!("/polls/{id}/photos/{}/move", first[1]),
            &[("csrf", "forged"), ("direction", "down")],
        )
        .await;
    assert_eq!(status, 403);
    // An upload to a ranking's option through the page (multipart).
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf.clone())
        .part(
            "photo",
            reqwest::multipart::Part::bytes(crate::support::PNG_1X1.to_vec())
                .file_name("дорога.png"),
        );
    let r = staff
        .client
        .post(app.url(&format!("/polls/{id}/questions/2/options/0/photos")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"].to_str().unwrap(),
        format!("/polls/{id}#photos-2-0")
    );
    let (_, view) = operator.get(&format!("/api/v1/polls/{id}")).await;
    let order = ids(&view["photos"]);
    assert_eq!(order[..3], [first[1], first[0], first[2]], "{view}");
    assert_eq!(view["photos"][3]["question"], 2);
    assert_eq!(view["photos"][3]["option"], 0);
    let urls: Vec<String> = view["photos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["url"].as_str().unwrap().to_owned())
        .collect();

    // Open: the ballot shows every choice question's photos in that order, with their
    // text alternatives, and nothing moves any more.
    crate::support::open_poll_now(&app, id, true).await;
    let ivan = Session::signed_in(&app, CITIZEN).await;
    let (status, html) = ivan.page(&format!("/polls/{id}")).await;
    assert_eq!(status, 200);
    assert!(
        html.contains(&format!("action=\"/polls/{id}/vote\"")),
        "{html}"
    );
    assert_eq!(img_srcs(&html), urls, "{html}");
    assert!(html.contains(&format!(
        "<img src=\"{}\" alt=\"Фото варианта ответа: Сквер (1 из 3)\"",
        urls[0]
    )));
    assert!(html.contains(&format!(
        "<img src=\"{}\" alt=\"Фото варианта ответа: Дорога\"",
        urls[3]
    )));
    assert!(!html.contains("Фотографии вариантов ответа"));
    let (status, html) = Session::anonymous(&app).page(&format!("/polls/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(img_srcs(&html), urls, "{html}");
    let (status, problem) = operator
        .post(&moving(first[0]), json!({"direction": "up"}))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("poll_not_editable")),
        "{problem}"
    );
    let (status, problem) = operator.post(&at(0, 1), png).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("poll_not_editable")),
        "{problem}"
    );
    let (_, view) = operator.get(&format!("/api/v1/polls/{id}")).await;
    let shown: Vec<String> = view["photos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["url"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(shown, urls, "nothing changed");
}
