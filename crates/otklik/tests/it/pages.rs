//! The server-rendered pages through real HTTP, as a browser without JavaScript uses
//! them: cookies kept, redirects checked rather than followed, CSRF tokens read from the
//! forms, multipart uploads. Key scenarios run on both backends.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use reqwest::multipart::{Form, Part};
use reqwest::{Client, Response};
use serde_json::Value;

use crate::support::{
    csrf_in, spawn_app, spawn_app_on, Backend, TestApp, CITIZEN, DEMO_PASSWORD, OTHER_CITIZEN,
    PDF_MINI, PNG_1X1,
};

/// Photo required; its form asks for an address; routed to the transport ministry.
const POTHOLES: &str = "Ямы и выбоины на дороге";
const TRANSPORT: &str = "Министерство транспорта Тверской области";
const CITY: &str = "Администрация города Твери";
const TEXT: &str = "Глубокая яма у остановки Вокзал, в дождь её не видно.";

// --- helpers -------------------------------------------------------------------------------

/// A browser-like client on one server.
pub(crate) struct Browser<'a> {
    app: &'a TestApp,
    client: Client,
}

impl<'a> Browser<'a> {
    fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            client: app.browser(),
        }
    }

    /// A browser signed in as a demo account.
    pub(crate) async fn signed_in(app: &'a TestApp, email: &str) -> Self {
        let browser = Self::new(app);
        let r = browser.login(email, DEMO_PASSWORD).await;
        assert_eq!(r.status(), 303, "login of {email}");
        browser
    }

    pub(crate) async fn get(&self, path: &str) -> Response {
        self.client.get(self.app.url(path)).send().await.unwrap()
    }

    /// A page's status and HTML.
    pub(crate) async fn page(&self, path: &str) -> (u16, String) {
        let r = self.get(path).await;
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// The CSRF token the forms of this browser carry.
    async fn csrf(&self) -> String {
        let (status, html) = self.page("/login").await;
        assert_eq!(status, 200);
        csrf_in(&html)
    }

    async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Response {
        let r = self.client.post(self.app.url(path)).form(form);
        r.send().await.unwrap()
    }

    async fn post_multipart(&self, path: &str, form: Form) -> Response {
        let r = self.client.post(self.app.url(path)).multipart(form);
        r.send().await.unwrap()
    }

    async fn login(&self, email: &str, password: &str) -> Response {
        let csrf = self.csrf().await;
        let form = [
            ("csrf", csrf.as_str()),
            ("email", email),
            ("password", password),
        ];
        self.post_form("/login", &form).await
    }

    /// Posts an action form of a submission page, with this browser's CSRF token.
    async fn act(&self, id: i64, action: &str, form: Form) -> Response {
        let form = form.text("csrf", self.csrf().await);
        self.post_multipart(&format!("/submissions/{id}/{action}"), form)
            .await
    }
}

fn location(r: &Response) -> &str {
    r.headers()
        .get("location")
        .map_or("", |v| v.to_str().unwrap())
}

fn sets_cookie(r: &Response, name: &str) -> bool {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .any(|v| v.to_str().unwrap().starts_with(&format!("{name}=")))
}

fn png(name: &str) -> Part {
    Part::bytes(PNG_1X1.to_vec())
        .file_name(name.to_owned())
        .mime_str("image/png")
        .unwrap()
}

/// Public reference data the forms need, read through the API.
async fn reference(app: &TestApp, path: &str) -> Vec<Value> {
    let r = reqwest::get(app.url(path)).await.unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// The id of the subcategory named `name` and the id of Тверская область.
async fn potholes_in_tver(app: &TestApp) -> (i64, i64) {
    let catalogue = reference(app, "/api/v1/catalogue").await;
    let sub = catalogue
        .iter()
        .flat_map(|c| c["subcategories"].as_array().unwrap())
        .find(|s| s["name"] == POTHOLES)
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let regions = reference(app, "/api/v1/regions").await;
    let tver = regions.iter().find(|r| r["name"] == "Тверская область");
    (sub, tver.unwrap()["id"].as_i64().unwrap())
}

/// The submission form of the pothole subcategory, filled in; `address` may be left out.
async fn pothole_form(browser: &Browser<'_>, text: &str, address: Option<&str>) -> Form {
    let (_, region) = potholes_in_tver(browser.app).await;
    let form = Form::new()
        .text("csrf", browser.csrf().await)
        .text("kind", "message")
        .text("region", region.to_string())
        .text("text", text.to_owned())
        .text("fields.road_part", "Проезжая часть")
        .part("attachments", png("yama.png"));
    match address {
        Some(address) => form.text("fields.address", address.to_owned()),
        None => form,
    }
}

/// Submits a pothole report through the form; returns the new submission's id.
async fn submit_pothole(browser: &Browser<'_>) -> i64 {
    let (sub, _) = potholes_in_tver(browser.app).await;
    let form = pothole_form(browser, TEXT, Some("г. Тверь, ул. Вокзальная, 1")).await;
    let r = browser
        .post_multipart(&format!("/submit/{sub}"), form)
        .await;
    assert_eq!(r.status(), 303);
    let target = location(&r);
    let id = target
        .strip_prefix("/submissions/")
        .and_then(|rest| rest.strip_suffix("?done=registered"))
        .unwrap_or_else(|| panic!("redirected to {target}"));
    id.parse().unwrap()
}

/// The number of submissions a signed-in browser's list shows.
async fn my_total(browser: &Browser<'_>) -> String {
    let (status, html) = browser.page("/my").await;
    assert_eq!(status, 200);
    let start = html.find("Найдено: ").expect("a total") + "Найдено: ".len();
    html[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect()
}

// --- pages and sessions ----------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn home_page_is_russian_html_and_sets_a_csrf_cookie() {
    let app = spawn_app().await;
    let browser = Browser::new(&app);
    let r = browser.get("/").await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(sets_cookie(&r, "otklik_csrf"));
    let html = r.text().await.unwrap();
    assert!(html.contains(r#"<html lang="ru">"#));
    // The cookie is kept: the next page does not set another, and its forms carry a token.
    let r = browser.get("/login").await;
    assert!(!sets_cookie(&r, "otklik_csrf"));
    let csrf = csrf_in(&r.text().await.unwrap());
    assert_eq!(csrf.len(), 64, "{csrf}");
    assert_eq!(browser.csrf().await, csrf, "stable for one browser");
    assert_ne!(
        Browser::new(&app).csrf().await,
        csrf,
        "differs between browsers"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_needs_the_csrf_token_and_the_right_password() {
    let app = spawn_app().await;
    let browser = Browser::new(&app);
    let csrf = browser.csrf().await;
    let forged = [
        vec![("email", CITIZEN), ("password", DEMO_PASSWORD)],
        vec![
            ("csrf", "0123abcd"),
            ("email", CITIZEN),
            ("password", DEMO_PASSWORD),
        ],
    ];
    for form in forged {
        let r = browser.post_form("/login", &form).await;
        assert_eq!(r.status(), 403);
        assert!(!sets_cookie(&r, "otklik_session"));
        let r = browser.get("/my").await;
        assert_eq!((r.status().as_u16(), location(&r)), (303, "/login"));
    }

    let wrong = [
        ("csrf", csrf.as_str()),
        ("email", CITIZEN),
        ("password", "wrong-pass-1"),
    ];
    let r = browser.post_form("/login", &wrong).await;
    assert_eq!(r.status(), 401);
    assert!(!sets_cookie(&r, "otklik_session"));
    let html = r.text().await.unwrap();
    assert!(html.contains("Неверный адрес электронной почты или пароль"));
    assert!(html.contains(&format!(r#"value="{CITIZEN}""#)));

    let r = browser.login(CITIZEN, DEMO_PASSWORD).await;
    assert_eq!((r.status().as_u16(), location(&r)), (303, "/my"));
    assert!(sets_cookie(&r, "otklik_session"));
    let (status, html) = browser.page("/my").await;
    assert_eq!(status, 200);
    assert!(html.contains("Иван Петров"));

    let official = Browser::new(&app);
    let r = official
        .login(&app.official_of(TRANSPORT).email, DEMO_PASSWORD)
        .await;
    assert_eq!((r.status().as_u16(), location(&r)), (303, "/inbox"));
    assert_eq!(official.page("/inbox").await.0, 200);

    // Signed in, forms are bound to the session: the token from before is refused.
    let r = browser.post_form("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(r.status(), 403);
    assert_eq!(browser.page("/my").await.0, 200);
    // Logging out with the session's token ends the session.
    let fresh = browser.csrf().await;
    assert_ne!(fresh, csrf);
    let r = browser.post_form("/logout", &[("csrf", &fresh)]).await;
    assert_eq!((r.status().as_u16(), location(&r)), (303, "/"));
    let r = browser.get("/my").await;
    assert_eq!((r.status().as_u16(), location(&r)), (303, "/login"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_form_shows_errors_by_the_fields_and_keeps_what_was_typed() {
    let app = spawn_app().await;
    let browser = Browser::new(&app);
    let csrf = browser.csrf().await;
    let email = "olga.ivanova@example.ru";
    let mut form = vec![
        ("csrf", csrf.as_str()),
        ("full_name", "Ольга Иванова"),
        ("email", email),
        ("password", "sosna-2026"),
        ("password_repeat", "sosna-2027"),
    ];
    let r = browser.post_form("/register", &form).await;
    assert_eq!(r.status(), 422);
    assert!(!sets_cookie(&r, "otklik_session"));
    let html = r.text().await.unwrap();
    assert!(html.contains("Исправьте ошибки"));
    let error = r#"<p class="error-message" id="f-password-repeat-error"><span class="visually-hidden">Ошибка: </span>Пароли не совпадают.</p>"#;
    assert!(html.contains(error), "{html}");
    assert!(html.contains(&format!(r#"value="{email}""#)));
    assert!(html.contains(r#"value="Ольга Иванова""#));
    assert!(!html.contains("sosna-2026"), "passwords are never echoed");

    form[4] = ("password_repeat", "sosna-2026");
    let r = browser.post_form("/register", &form).await;
    assert_eq!(
        (r.status().as_u16(), location(&r)),
        (303, "/my?done=registered_account")
    );
    let (status, html) = browser.page("/my?done=registered_account").await;
    assert_eq!(status, 200);
    assert!(html.contains("Учётная запись создана"));
    assert!(html.contains("Ольга Иванова"));

    // The address is now taken.
    let r = Browser::new(&app);
    let csrf = r.csrf().await;
    form[0] = ("csrf", csrf.as_str());
    let r = r.post_form("/register", &form).await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Этот адрес уже зарегистрирован"));
}

// --- submitting and answering ---------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submitting_through_the_form() {
    let app = spawn_app().await;
    let citizen = Browser::signed_in(&app, CITIZEN).await;
    let (sub, _) = potholes_in_tver(&app).await;
    let (status, html) = citizen.page(&format!("/submit/{sub}")).await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"name="fields.address""#));

    // A missing address: the form comes back with what was typed and the errors.
    let typed = "Яма растёт с каждым днём, уже объезжают по тротуару";
    let form = pothole_form(&citizen, typed, None).await;
    let r = citizen
        .post_multipart(&format!("/submit/{sub}"), form)
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("Исправьте ошибки"));
    assert!(html.contains(&format!(">{typed}</textarea>")));
    assert!(html.contains(r#"id="f-fields-address-error""#));
    assert!(html.contains("Адрес: Заполните это поле."));
    assert_eq!(my_total(&citizen).await, "0");

    let id = submit_pothole(&citizen).await;
    let (status, html) = citizen
        .page(&format!("/submissions/{id}?done=registered"))
        .await;
    assert_eq!(status, 200);
    let number = format!("-{id:07}");
    assert!(html.contains(&number), "the number …{number}");
    assert!(html.contains("Зарегистрировано"));
    assert!(html.contains(TRANSPORT));
    assert!(html.contains(TEXT));
    assert!(html.contains("yama.png"));
    assert_eq!(my_total(&citizen).await, "1");

    // The upload is checked from its bytes, not its name.
    let form = pothole_form(&citizen, TEXT, Some("ул. Вокзальная, 1"))
        .await
        .part(
            "attachments",
            Part::bytes(b"MZ\x90\x00".to_vec()).file_name("photo.png"),
        );
    let r = citizen
        .post_multipart(&format!("/submit/{sub}"), form)
        .await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Можно прикладывать только JPEG, PNG и PDF"));
    assert_eq!(my_total(&citizen).await, "1");

    // Without the CSRF token nothing is submitted.
    let form = Form::new()
        .text("kind", "message")
        .text("text", TEXT)
        .part("attachments", png("a.png"));
    let r = citizen
        .post_multipart(&format!("/submit/{sub}"), form)
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(my_total(&citizen).await, "1");
}

async fn answered_and_rated_through_pages(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let citizen = Browser::signed_in(&app, CITIZEN).await;
    let id = submit_pothole(&citizen).await;
    let page = format!("/submissions/{id}");

    let official = Browser::signed_in(&app, &app.official_of(TRANSPORT).email).await;
    let (status, html) = official.page(&page).await;
    assert_eq!(status, 200);
    assert!(html.contains(&format!(r#"action="{page}/take-into-work""#)));
    assert!(html.contains(CITIZEN), "staff see the author's contact");

    // A forged action changes nothing.
    let forged = Form::new().text("csrf", "forged");
    let r = official
        .post_multipart(&format!("{page}/take-into-work"), forged)
        .await;
    assert_eq!(r.status(), 403);
    assert!(official.page(&page).await.1.contains("take-into-work"));

    let r = official.act(id, "take-into-work", Form::new()).await;
    assert_eq!(
        (r.status().as_u16(), location(&r)),
        (303, format!("{page}?done=taken_into_work").as_str())
    );
    let answer = "Яма <заделана> 10 декабря, акт во вложении.";
    let document = Part::bytes(PDF_MINI.to_vec())
        .file_name("akt.pdf")
        .mime_str("application/pdf")
        .unwrap();
    let form = Form::new()
        .text("text", answer)
        .part("attachments", document);
    let r = official.act(id, "answer", form).await;
    assert_eq!(
        (r.status().as_u16(), location(&r)),
        (303, format!("{page}?done=answered").as_str())
    );

    let (status, html) = citizen.page(&page).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Яма &#60;заделана&#62; 10 декабря"),
        "the answer, escaped"
    );
    assert!(!html.contains("<заделана>"));
    assert!(html.contains("akt.pdf"));
    assert!(html.contains(&format!(r#"action="{page}/rate""#)));
    assert!(!html.contains("Ответ оценён"));
    // The citizen sees who read their personal data.
    assert!(html.contains("Кто просматривал ваши персональные данные"));
    assert!(html.contains(&app.official_of(TRANSPORT).full_name));

    let r = citizen
        .act(id, "rate", Form::new().text("score", "4"))
        .await;
    assert_eq!(
        (r.status().as_u16(), location(&r)),
        (303, format!("{page}?done=rated").as_str())
    );
    let (_, html) = citizen.page(&page).await;
    assert!(html.contains("Ответ оценён"));
    assert!(html.contains("4 из 5"));
    assert!(!html.contains(&format!(r#"action="{page}/rate""#)));

    // Rating twice: the page comes back with the reason, and the rating stands.
    let r = citizen
        .act(id, "rate", Form::new().text("score", "1"))
        .await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("4 из 5"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answered_and_rated_through_pages_sqlite() {
    answered_and_rated_through_pages(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answered_and_rated_through_pages_postgres() {
    answered_and_rated_through_pages(Backend::Postgres).await;
}

// --- access ----------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_are_shown_only_to_those_allowed() {
    let app = spawn_app().await;
    let citizen = Browser::signed_in(&app, CITIZEN).await;
    let id = submit_pothole(&citizen).await;
    let page = format!("/submissions/{id}");

    let stranger = Browser::signed_in(&app, &app.official_of(CITY).email).await;
    let (status, html) = stranger.page(&page).await;
    assert_eq!(status, 404);
    assert!(!html.contains(TEXT));
    let other_citizen = Browser::signed_in(&app, OTHER_CITIZEN).await;
    assert_eq!(other_citizen.page(&page).await.0, 404);

    // After a redirect the organisation that held it loses sight of it, and its official
    // lands back in the inbox.
    let transport = Browser::signed_in(&app, &app.official_of(TRANSPORT).email).await;
    assert_eq!(transport.page(&page).await.0, 200);
    let city = reference(&app, "/api/v1/organisations").await;
    let city = city.iter().find(|o| o["name"] == CITY).unwrap()["id"].to_string();
    let form = Form::new()
        .text("to_org", city)
        .text("reason", "Дорога в ведении города.");
    let r = transport.act(id, "redirect", form).await;
    assert_eq!(
        (r.status().as_u16(), location(&r)),
        (303, "/inbox?done=redirected")
    );
    let (status, html) = transport.page("/inbox?done=redirected").await;
    assert_eq!(status, 200);
    assert!(html.contains("Перенаправлено в другую организацию."));
    assert!(!html.contains(&page));
    assert_eq!(transport.page(&page).await.0, 404);
    let (status, html) = stranger.page(&page).await;
    assert_eq!(status, 200);
    assert!(html.contains(TEXT));

    let anonymous = Browser::new(&app);
    for path in ["/my", "/inbox", page.as_str()] {
        let r = anonymous.get(path).await;
        assert_eq!(
            (r.status().as_u16(), location(&r)),
            (303, "/login"),
            "{path}"
        );
    }
    assert_eq!(citizen.page("/inbox").await.0, 403);
    assert_eq!(citizen.page("/operator").await.0, 403);
    assert_eq!(citizen.page(&page).await.0, 200);
}

#[tokio::test]
async fn malformed_urls_get_russian_error_pages() {
    let app = spawn_app().await;
    let citizen = Browser::signed_in(&app, CITIZEN).await;
    for path in [
        "/submissions/abc",
        "/submissions/99999999999999999999",
        "/submit/x",
        "/files/1e3",
        "/no-such-page",
    ] {
        let (status, html) = citizen.page(path).await;
        assert_eq!(status, 404, "{path}");
        assert!(html.contains("Страница не найдена."), "{path}: {html}");
    }
    let r = citizen
        .post_multipart(
            "/submissions/abc/take-into-work",
            Form::new().text("csrf", citizen.csrf().await),
        )
        .await;
    assert_eq!(r.status(), 404);
    // A repeated filter is refused with a page, not a bare text error.
    let (status, html) = citizen.page("/my?status=registered&status=rated").await;
    assert_eq!(status, 400);
    assert!(html.contains("lang=\"ru\""), "{html}");
    // An unknown filter value is a clear 422 page.
    assert_eq!(citizen.page("/my?status=closed").await.0, 422);
}

#[tokio::test]
async fn staff_get_no_submission_form_and_failed_actions_point_at_their_fields() {
    let app = spawn_app().await;
    let (sub, _) = potholes_in_tver(&app).await;
    let official = Browser::signed_in(&app, &app.official_of(TRANSPORT).email).await;
    let (status, html) = official.page(&format!("/submit/{sub}")).await;
    assert_eq!(status, 403);
    assert!(html.contains("только граждане"), "{html}");
    let form = pothole_form(&official, TEXT, Some("г. Тверь, ул. Вокзальная, 1")).await;
    let r = official
        .post_multipart(&format!("/submit/{sub}"), form)
        .await;
    assert_eq!(r.status(), 403);

    // An answer that is too short comes back with the summary linking to the field, the
    // field marked invalid and described by its message, and "Ошибка" in the title.
    let citizen = Browser::signed_in(&app, CITIZEN).await;
    let id = submit_pothole(&citizen).await;
    let r = official.act(id, "take-into-work", Form::new()).await;
    assert_eq!(r.status(), 303);
    let r = official
        .act(id, "answer", Form::new().text("text", "a"))
        .await;
    assert_eq!(r.status(), 422);
    let r = r.headers()["cache-control"].to_str().unwrap().to_owned();
    assert_eq!(r, "no-store");
    let (_, html) = official.page(&format!("/submissions/{id}")).await;
    assert!(!html.contains("aria-invalid"), "a fresh page marks nothing");
    let form = Form::new()
        .text("text", "a")
        .text("csrf", official.csrf().await);
    let html = official
        .post_multipart(&format!("/submissions/{id}/answer"), form)
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("<title>Ошибка: №"), "{html}");
    assert!(html.contains(r##"href="#answer-text""##), "{html}");
    assert!(html.contains(r#"id="answer-text-error""#));
    assert!(html.contains(r#"aria-invalid="true" aria-describedby="answer-text-error""#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unverified_citizen_is_told_at_the_form_how_to_send_an_appeal() {
    let app = spawn_app().await;
    let browser = Browser::new(&app);
    let csrf = browser.csrf().await;
    let r = browser
        .post_form(
            "/register",
            &[
                ("csrf", csrf.as_str()),
                ("email", "new.citizen@example.ru"),
                ("full_name", "Новый Гражданин"),
                ("password", "Пароль-для-теста-1"),
                ("password_repeat", "Пароль-для-теста-1"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (sub, region) = potholes_in_tver(&app).await;
    let form = Form::new()
        .text("csrf", browser.csrf().await)
        .text("kind", "appeal")
        .text("region", region.to_string())
        .text("text", TEXT)
        .text("fields.road_part", "Проезжая часть")
        .text("fields.address", "г. Тверь, ул. Вокзальная, 1")
        .part("attachments", png("yama.png"));
    let r = browser
        .post_multipart(&format!("/submit/{sub}"), form)
        .await;
    assert_eq!(r.status(), 403);
    let html = r.text().await.unwrap();
    assert!(html.contains("нужна подтверждённая личность"), "{html}");
    assert!(html.contains("aria-invalid") || html.contains("field-error"));
    assert_eq!(my_total(&browser).await, "0", "nothing was registered");
    // A message goes through.
    let r = browser
        .post_multipart(
            &format!("/submit/{sub}"),
            pothole_form(&browser, TEXT, Some("г. Тверь, ул. Вокзальная, 1")).await,
        )
        .await;
    assert_eq!(r.status(), 303);
}
