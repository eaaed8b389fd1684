//! One walk through the real pages in headless Chromium (via chromedriver): a citizen
//! submits, the official answers with a document, the citizen rates. Also checks that
//! the pages reflow at 320 px without horizontal scrolling, and saves screenshots to
//! `$CARGO_TARGET_TMPDIR/screenshots` for people to look at.
//!
//! Needs Debian's `chromium` and `chromium-driver`; the test command installs them.
//! The driver's start-up and the page helpers are shared with `widget.rs`.
//! `OTKLIK_CHROMEDRIVER` / `OTKLIK_CHROMIUM` override the binaries' paths.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use fantoccini::{Client, ClientBuilder, Locator};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::support::{spawn_app, TestApp, CITIZEN, DEMO_PASSWORD, PDF_MINI};

pub(crate) struct Driver {
    child: Child,
    url: String,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) async fn start_driver() -> Driver {
    let binary = std::env::var("OTKLIK_CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(&binary)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start {binary} ({e}): install Debian's chromium-driver (the test command does)")
        });
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
        _profile: tempfile::tempdir().unwrap(),
    }
}

pub(crate) async fn browser(driver: &Driver) -> Client {
    let chromium = std::env::var("OTKLIK_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1280,1000",
                format!("--user-data-dir={}", driver._profile.path().display()),
            ]
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("chromium session")
}

pub(crate) async fn fill(c: &Client, css: &str, text: &str) {
    let el = c.find(Locator::Css(css)).await.unwrap();
    el.clear().await.unwrap();
    el.send_keys(text).await.unwrap();
}

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Clicks a button that submits a form and waits until the next page has replaced this
/// one (the old document's root goes stale) and has loaded.
pub(crate) async fn submit(c: &Client, css: &str) {
    let old = c.find(Locator::Css("html")).await.unwrap();
    click(c, css).await;
    for _ in 0..200 {
        if old.tag_name().await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    for _ in 0..200 {
        let state = c.execute("return document.readyState;", vec![]).await;
        if state
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .as_deref()
            == Some("complete")
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the page after {css} did not load");
}

pub(crate) async fn page_text(c: &Client) -> String {
    c.find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn login(c: &Client, app: &TestApp, email: &str) {
    c.goto(&app.url("/login")).await.unwrap();
    fill(c, "#f-email", email).await;
    fill(c, "#f-password", DEMO_PASSWORD).await;
    submit(c, "form.form button[type=submit]").await;
}

async fn logout(c: &Client) {
    submit(c, "form[action='/logout'] button").await;
}

/// Saves a screenshot at the given width, and checks the page does not scroll sideways.
pub(crate) async fn look(c: &Client, name: &str, width: u32) {
    c.set_window_size(width, 1000).await.unwrap();
    let overflow = c
        .execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        overflow.as_i64().unwrap_or(1) <= 0,
        "{name} scrolls sideways at {width}px by {overflow}px"
    );
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let png = c.screenshot().await.unwrap();
    std::fs::write(dir.join(format!("{name}-{width}.png")), png).unwrap();
    c.set_window_size(1280, 1000).await.unwrap();
}

#[tokio::test]
async fn submit_answer_and_rate_through_the_pages() {
    let app = spawn_app().await;
    let driver = start_driver().await;
    let c = browser(&driver).await;

    // The citizen submits a message about heating, with the subcategory's own fields.
    login(&c, &app, CITIZEN).await;
    let url = c.current_url().await.unwrap();
    assert!(
        url.path().ends_with("/my"),
        "{url}: {}",
        page_text(&c).await
    );
    look(&c, "home-citizen", 320).await;
    c.goto(&app.url("/submit")).await.unwrap();
    look(&c, "choose", 1280).await;
    look(&c, "choose", 320).await;
    c.find(Locator::LinkText("Отсутствие отопления"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // First an invalid send: the form comes back with the error summary and keeps the text.
    fill(&c, "#f-text", "Коротко").await;
    submit(&c, "form.form button[type=submit]").await;
    let text = page_text(&c).await;
    assert!(text.contains("Исправьте ошибки"), "{text}");
    look(&c, "submit-errors", 320).await;
    c.find(Locator::Css("#f-region"))
        .await
        .unwrap()
        .select_by_label("Тверская область")
        .await
        .unwrap();
    fill(&c, "#f-fields-address", "г. Тверь, ул. Советская, д. 10").await;
    fill(&c, "#f-text", "Третий день в квартире нет отопления, в комнатах 14 градусов. Просим срочно восстановить подачу тепла.").await;
    submit(&c, "form.form button[type=submit]").await;
    let text = page_text(&c).await;
    assert!(text.contains("Зарегистрировано"), "{text}");
    assert!(text.contains("Третий день в квартире нет отопления"));
    let submission = c.current_url().await.unwrap().path().to_owned();
    look(&c, "submission-citizen", 1280).await;
    look(&c, "submission-citizen", 320).await;
    let org = c
        .find(Locator::XPath(
            "//dt[text()='Организация']/following-sibling::dd",
        ))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    logout(&c).await;

    // The official of the competent organisation takes it and answers with a document.
    let official = app.official_of(&org).email.clone();
    login(&c, &app, &official).await;
    assert!(c.current_url().await.unwrap().path().ends_with("/inbox"));
    let inbox = page_text(&c).await;
    assert!(inbox.contains("Отсутствие отопления"), "{inbox}");
    look(&c, "inbox", 1280).await;
    look(&c, "inbox", 320).await;
    c.goto(&app.url(&submission)).await.unwrap();
    submit(
        &c,
        &format!("form[action='{submission}/take-into-work'] button"),
    )
    .await;
    assert!(page_text(&c).await.contains("Взято в работу"));
    look(&c, "submission-official", 1280).await;
    fill(
        &c,
        "#answer-text",
        "Подача тепла восстановлена 5 декабря. Причина — авария на теплотрассе.",
    )
    .await;
    let pdf = tempfile::Builder::new().suffix(".pdf").tempfile().unwrap();
    std::fs::write(pdf.path(), PDF_MINI).unwrap();
    c.find(Locator::Css("#answer-attachments"))
        .await
        .unwrap()
        .send_keys(&pdf.path().display().to_string())
        .await
        .unwrap();
    submit(&c, &format!("form[action='{submission}/answer'] button")).await;
    let text = page_text(&c).await;
    assert!(text.contains("Ответ отправлен заявителю"), "{text}");
    logout(&c).await;

    // The citizen sees the answer with its document and rates it.
    login(&c, &app, CITIZEN).await;
    c.goto(&app.url(&submission)).await.unwrap();
    let text = page_text(&c).await;
    assert!(text.contains("Подача тепла восстановлена"), "{text}");
    assert!(
        text.contains(".pdf"),
        "the result document is listed: {text}"
    );
    click(&c, "label[for='score-5']").await;
    fill(&c, "#rate-comment", "Спасибо, тепло дали.").await;
    submit(&c, &format!("form[action='{submission}/rate'] button")).await;
    let text = page_text(&c).await;
    assert!(text.contains("Ответ оценён"), "{text}");
    assert!(text.contains("5 из 5"), "{text}");
    look(&c, "submission-rated", 1280).await;
    look(&c, "submission-rated", 320).await;

    c.close().await.unwrap();
    app.stop().await;
}

/// The notification pages in a real browser: the citizen's centre (with the notification
/// of the message submitted through the walk's API), marking it read, the settings table
/// with a choice changed by keyboard and saved, the place form; the operator's template
/// editor with its preview and the campaign form with its audience count. Every page
/// reflows at 320 px (WCAG 1.4.10) without scrolling sideways.
#[tokio::test]
async fn notification_pages_reflow_and_work_without_a_mouse() {
    use fantoccini::key::Key;
    let app = spawn_app().await;
    let token = app.token(CITIZEN).await;
    let api = app.api(&token);
    let (tver, light) = tver_and_traffic_light(&api).await;
    let (status, created) = api
        .post(
            "/api/v1/submissions",
            serde_json::json!({
                "kind": "message", "subcategory_id": light, "region_id": tver,
                "text": "Светофор на перекрёстке не работает с утра.",
                "fields": { "address": "г. Тверь, ул. Советская, 20", "fault": "Не работает полностью" }
            }),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let number = created["number"].as_str().unwrap().to_owned();
    let driver = start_driver().await;
    let c = browser(&driver).await;

    login(&c, &app, CITIZEN).await;
    c.goto(&app.url("/account/notifications")).await.unwrap();
    let text = page_text(&c).await;
    assert!(
        text.contains(&format!("Обращение № {number} зарегистрировано")),
        "{text}"
    );
    assert!(
        c.find(Locator::Css("nav .badge")).await.is_ok(),
        "the menu shows the unread count"
    );
    look(&c, "notifications", 1280).await;
    look(&c, "notifications", 320).await;
    submit(&c, "main form[action='/account/notifications/read'] button").await;
    assert!(
        c.find(Locator::Css("nav .badge")).await.is_err(),
        "all read: no count"
    );

    // The settings: a choice changed with the keyboard alone, then saved.
    c.goto(&app.url("/account/notifications/settings"))
        .await
        .unwrap();
    look(&c, "notification-settings", 1280).await;
    look(&c, "notification-settings", 320).await;
    let select = c.find(Locator::Css("#email-answered")).await.unwrap();
    select.send_keys(&Key::Down.to_string()).await.unwrap();
    submit(
        &c,
        "form[action='/account/notifications/settings'] button[type=submit]",
    )
    .await;
    let url = c.current_url().await.unwrap();
    assert_eq!(url.query(), Some("saved=1"), "{}", page_text(&c).await);
    let chosen = c
        .find(Locator::Css("#email-answered"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(
        chosen.as_deref(),
        Some("digest"),
        "moved one down from «Сразу»"
    );
    logout(&c).await;

    // The operator's template editor and campaign form.
    login(&c, &app, crate::support::OPERATOR).await;
    c.goto(&app.url("/console/notifications/templates/answered"))
        .await
        .unwrap();
    submit(&c, "button[value='preview']").await;
    let text = page_text(&c).await;
    assert!(text.contains("Предпросмотр"), "{text}");
    look(&c, "template", 1280).await;
    look(&c, "template", 320).await;
    c.goto(&app.url("/console/campaigns/new")).await.unwrap();
    fill(&c, "#f-min-age", "18").await;
    submit(&c, "button[value='count']").await;
    let text = page_text(&c).await;
    assert!(text.contains("Аудитория сейчас"), "{text}");
    look(&c, "campaign-new", 1280).await;
    look(&c, "campaign-new", 320).await;

    c.close().await.unwrap();
    app.stop().await;
}

/// Electronic documents through the pages alone, by keyboard where it matters: a
/// certificate issued, a document written, sent and signed with the platform-held key,
/// its verification report, and the public check — each page reflowing at 320 px.
#[tokio::test]
async fn document_pages_sign_and_verify_without_javascript_tricks() {
    use fantoccini::key::Key;
    let app = spawn_app().await;
    let driver = start_driver().await;
    let c = browser(&driver).await;
    login(&c, &app, CITIZEN).await;

    c.goto(&app.url("/account/signing")).await.unwrap();
    look(&c, "signing-account", 1280).await;
    look(&c, "signing-account", 320).await;
    // A password too weak is refused at its field, with the summary linking to it.
    fill(&c, "#f-issue-password", "short").await;
    fill(&c, "#f-issue-confirm", "short").await;
    submit(&c, "form:has(input[value='issue']) button[type=submit]").await;
    let invalid = c
        .find(Locator::Css("#f-issue-password"))
        .await
        .unwrap()
        .attr("aria-invalid")
        .await
        .unwrap();
    assert_eq!(invalid.as_deref(), Some("true"), "{}", page_text(&c).await);
    fill(&c, "#f-issue-password", "подпись-2026").await;
    fill(&c, "#f-issue-confirm", "подпись-2026").await;
    submit(&c, "form:has(input[value='issue']) button[type=submit]").await;
    let text = page_text(&c).await;
    assert!(text.contains("Сертификат выпущен"), "{text}");

    c.goto(&app.url("/documents/new")).await.unwrap();
    look(&c, "document-new", 1280).await;
    look(&c, "document-new", 320).await;
    fill(&c, "#f-title", "Заявление о согласии").await;
    fill(&c, "#f-text", "Согласен на ремонт подъезда в мае.").await;
    let day = time::OffsetDateTime::now_utc().date() + time::Duration::days(3);
    // A date input takes the day as typed in the browser's locale order; set it plainly.
    c.execute(
        "document.getElementById('f-deadline').value = arguments[0];",
        vec![serde_json::json!(format!("{day}"))],
    )
    .await
    .unwrap();
    fill(&c, "#f-signers", CITIZEN).await;
    // The order by keyboard: the second radio.
    let first = c.find(Locator::Css("#f-order-sequential")).await.unwrap();
    first.send_keys(&Key::Down.to_string()).await.unwrap();
    submit(&c, "form[action='/documents/new'] button[type=submit]").await;
    let text = page_text(&c).await;
    assert!(text.contains("Черновик"), "{text}");
    assert!(
        text.contains("одновременно"),
        "the order chosen by keyboard: {text}"
    );
    submit(&c, "form[action$='/start'] button").await;
    let text = page_text(&c).await;
    assert!(text.contains("Документ отправлен на подпись"), "{text}");
    look(&c, "document", 1280).await;
    look(&c, "document", 320).await;

    // A wrong password is named at its field; the right one signs.
    fill(&c, "#f-sign-password", "неверный-1").await;
    submit(&c, "form:has(#f-sign-password) button[type=submit]").await;
    let text = page_text(&c).await;
    assert!(text.contains("Неверный пароль подписи"), "{text}");
    fill(&c, "#f-sign-password", "подпись-2026").await;
    submit(&c, "form:has(#f-sign-password) button[type=submit]").await;
    let text = page_text(&c).await;
    assert!(text.contains("Подписан всеми"), "{text}");

    submit(&c, "a[href$='/verification']").await;
    let text = page_text(&c).await;
    assert!(text.contains("Все подписи действительны."), "{text}");
    look(&c, "document-report", 1280).await;
    look(&c, "document-report", 320).await;

    // The public check needs no account.
    logout(&c).await;
    c.goto(&app.url("/verify")).await.unwrap();
    look(&c, "verify", 1280).await;
    look(&c, "verify", 320).await;
    submit(&c, "form[action='/verify'] button[type=submit]").await;
    let text = page_text(&c).await;
    assert!(text.contains("Проверка не выполнена"), "{text}");

    c.close().await.unwrap();
    app.stop().await;
}

/// The search page by keyboard: a query typed and sent with Enter, the matches marked,
/// a facet followed, all reflowing at 320 px.
/// Sends the broken traffic lights on Советская улица in Tver as a message (public or
/// not); returns the subcategory's id and the submission as the API answers.
async fn traffic_light_message(
    api: &crate::support::Api,
    public: bool,
) -> (serde_json::Value, serde_json::Value) {
    let (tver, light) = tver_and_traffic_light(api).await;
    let (status, sent) = api
        .post(
            "/api/v1/submissions",
            serde_json::json!({
                "kind": "message", "subcategory_id": light, "region_id": tver, "public": public,
                "text": "Светофоры на перекрёстке Советской улицы не работают третий день.",
                "fields": { "address": "г. Тверь, ул. Советская, 20", "fault": "Не работает полностью" }
            }),
        )
        .await;
    assert_eq!(status, 201, "{sent}");
    (light, sent)
}

/// The ids of Тверская область and of the «Неработающий светофор» subcategory.
async fn tver_and_traffic_light(
    api: &crate::support::Api,
) -> (serde_json::Value, serde_json::Value) {
    let catalogue = api.get("/api/v1/catalogue").await.1;
    let regions = api.get("/api/v1/regions").await.1;
    let tver = regions
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "Тверская область")
        .unwrap()["id"]
        .clone();
    let light = catalogue
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["subcategories"].as_array().unwrap().iter())
        .find(|s| s["name"] == "Неработающий светофор")
        .unwrap()["id"]
        .clone();
    (tver, light)
}

#[tokio::test]
async fn search_page_works_by_keyboard_and_reflows() {
    use fantoccini::key::Key;
    let app = spawn_app().await;
    let api = app.api(&app.token(CITIZEN).await);
    traffic_light_message(&api, false).await;
    let driver = start_driver().await;
    let c = browser(&driver).await;
    login(&c, &app, CITIZEN).await;
    c.goto(&app.url("/search")).await.unwrap();
    look(&c, "search", 320).await;
    let mut found = String::new();
    for _ in 0..40 {
        fill(&c, "#f-q", "светофор").await;
        let old = c.find(Locator::Css("html")).await.unwrap();
        c.find(Locator::Css("#f-q"))
            .await
            .unwrap()
            .send_keys(&Key::Enter.to_string())
            .await
            .unwrap();
        for _ in 0..100 {
            if old.tag_name().await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        found = page_text(&c).await;
        if found.contains("Найдено: 1") {
            break;
        }
        // The index follows the database within moments.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(found.contains("Найдено: 1"), "{found}");
    assert!(
        c.find(Locator::Css(".snippet mark")).await.is_ok(),
        "matches are marked"
    );
    look(&c, "search-results", 1280).await;
    look(&c, "search-results", 320).await;
    submit(&c, ".facets a").await;
    let text = page_text(&c).await;
    assert!(text.contains("Найдено: 1"), "{text}");
    c.close().await.unwrap();
    app.stop().await;
}

/// The id of the focused element ('' when none).
async fn active_id(c: &Client) -> String {
    c.execute(
        "return document.activeElement ? document.activeElement.id : '';",
        vec![],
    )
    .await
    .unwrap()
    .as_str()
    .unwrap_or("")
    .to_owned()
}

/// Presses Tab from the focused element until the element with `id` has the focus, at
/// most `presses` times (a keyboard user's way there).
async fn tab_to(c: &Client, id: &str, presses: usize) {
    for _ in 0..presses {
        c.active_element()
            .await
            .unwrap()
            .send_keys(&fantoccini::key::Key::Tab.to_string())
            .await
            .unwrap();
        if active_id(c).await == id {
            return;
        }
    }
    panic!("Tab never reached #{id} in {presses} presses");
}

/// The polls pages in a real browser, by keyboard where it matters: the list, the Tver
/// survey's ballot form reached by Tab and answered (radios by keyboard, a checkbox by
/// its label, the ranking's places chosen, a free text), sent with Enter from the submit
/// button, the acknowledgement with the ballot id, and the live results — each page
/// reflowing at 320 px.
#[tokio::test]
async fn polls_vote_by_keyboard_and_results_reflow() {
    use fantoccini::key::Key;
    let app = spawn_app().await;
    let driver = start_driver().await;
    let c = browser(&driver).await;
    login(&c, &app, CITIZEN).await;

    c.goto(&app.url("/polls")).await.unwrap();
    let text = page_text(&c).await;
    assert!(text.contains("Уборка улиц зимой"), "{text}");
    assert!(
        text.contains("Благоустройство общественных пространств — 2027"),
        "{text}"
    );
    look(&c, "polls", 1280).await;
    look(&c, "polls", 320).await;
    let href = c
        .find(Locator::LinkText("Уборка улиц зимой"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .expect("the survey's link");
    submit(&c, &format!("main a[href='{href}']")).await;
    let poll = c.current_url().await.unwrap().path().to_owned();
    assert_eq!(poll, href);
    let text = page_text(&c).await;
    assert!(text.contains("Бюллетень"), "{text}");
    look(&c, "poll", 1280).await;
    look(&c, "poll", 320).await;

    // The ballot form is reached by Tab from the top of the page.
    tab_to(&c, "q-0-0", 80).await;

    // 1: «Каждый день» with Space; 2: the scale moved to 4 with the arrow keys.
    c.active_element()
        .await
        .unwrap()
        .send_keys(&Key::Space.to_string())
        .await
        .unwrap();
    let keys = format!("{}{}{}{}", Key::Space, Key::Down, Key::Down, Key::Down);
    c.find(Locator::Css("#q-1-1"))
        .await
        .unwrap()
        .send_keys(&keys)
        .await
        .unwrap();
    let checked = c
        .execute(
            "return [...document.querySelectorAll('main input:checked')].map(e => e.id);",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(checked, serde_json::json!(["q-0-0", "q-1-4"]));
    // 3 (shown because 1 is «Каждый день»): one checkbox by Space, one by its label.
    c.find(Locator::Css("#q-2-0"))
        .await
        .unwrap()
        .send_keys(&Key::Space.to_string())
        .await
        .unwrap();
    click(&c, "label[for='q-2-2']").await;
    // 4: the ranking's places.
    for (option, place) in [("0", "2"), ("1", "3"), ("2", "1")] {
        c.find(Locator::Css(&format!("#q-3-o-{option}")))
            .await
            .unwrap()
            .select_by_value(place)
            .await
            .unwrap();
    }
    // 5: the optional text; Tab from it lands on the submit button, Enter sends.
    fill(&c, "#q-4-text", "Чаще посыпать тротуары у остановок.").await;
    c.find(Locator::Css("#q-4-text"))
        .await
        .unwrap()
        .send_keys(&Key::Tab.to_string())
        .await
        .unwrap();
    let focused = c.active_element().await.unwrap();
    assert_eq!(focused.tag_name().await.unwrap(), "button");
    assert_eq!(focused.text().await.unwrap(), "Проголосовать");
    let old = c.find(Locator::Css("html")).await.unwrap();
    focused.send_keys(&Key::Enter.to_string()).await.unwrap();
    for _ in 0..200 {
        if old.tag_name().await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let text = page_text(&c).await;
    assert!(text.contains("Ваш голос принят"), "{text}");
    let ballot = c
        .find(Locator::Css("#ballot-id"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(ballot.len(), 32, "{ballot}");
    assert!(
        ballot
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
        "{ballot}"
    );
    look(&c, "poll-voted", 1280).await;
    look(&c, "poll-voted", 320).await;

    // The live results count the ballot; the tables reflow.
    submit(&c, "main a[href$='/results']").await;
    assert_eq!(
        c.current_url().await.unwrap().path(),
        format!("{poll}/results")
    );
    let text = page_text(&c).await;
    assert!(text.contains("Всего бюллетеней: 1."), "{text}");
    assert!(text.contains("Промежуточные результаты"), "{text}");
    assert!(text.contains("Среднее: 4,00"), "{text}");
    look(&c, "poll-results", 1280).await;
    look(&c, "poll-results", 320).await;

    // Back on the poll: no second ballot.
    c.goto(&app.url(&poll)).await.unwrap();
    let text = page_text(&c).await;
    assert!(text.contains("Вы уже проголосовали"), "{text}");
    assert!(c.find(Locator::Css("#q-0-0")).await.is_err());

    c.close().await.unwrap();
    app.stop().await;
}

/// The analytics page in Chromium: charts and tables fit a 320-pixel window (200 % zoom
/// of 640) without the page scrolling sideways (wide tables scroll inside their own
/// focusable region), the filters are reached by keyboard, and changing one by keyboard
/// gives a new report.
#[tokio::test]
async fn analytics_by_keyboard_and_reflow() {
    use fantoccini::key::Key;
    let app = spawn_app().await;
    let w = crate::api::World::of(app).await;
    let body = w
        .body("Ямы и выбоины на дороге", "Тверская область", "message")
        .await;
    assert_eq!(w.citizen.post("/api/v1/submissions", body).await.0, 201);
    let app = &w.app;
    let operator = app.api(&app.token(crate::support::OPERATOR).await);
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while crate::api::ok(operator.get("/api/v1/analytics").await)["totals"]["received"] != 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "the figures never caught up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let driver = start_driver().await;
    let c = browser(&driver).await;
    login(&c, app, crate::support::OPERATOR).await;
    c.goto(&app.url("/analytics")).await.unwrap();
    let text = page_text(&c).await;
    assert!(text.contains("Рейтинг организаций"), "{text}");
    look(&c, "analytics", 1280).await;
    look(&c, "analytics", 320).await;
    let chart_width = c
        .execute(
            "const s = document.querySelector('figure.chart svg'); \
             return s.getBoundingClientRect().width <= document.documentElement.clientWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(chart_width, serde_json::json!(true));
    // Tab reaches the «Вид» filter; the arrow key picks «Обращения»; Enter submits.
    tab_to(&c, "f-kind", 60).await;
    let select = c.active_element().await.unwrap();
    select.send_keys(&Key::Down.to_string()).await.unwrap();
    select.send_keys(&Key::Down.to_string()).await.unwrap();
    c.find(Locator::Css("form.filters button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The click does not wait for the new page.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut url = c.current_url().await.unwrap();
    while !url.query().unwrap_or("").contains("kind=") && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        url = c.current_url().await.unwrap();
    }
    assert!(url.query().unwrap_or("").contains("kind=appeal"), "{url}");
    let text = page_text(&c).await;
    assert!(text.contains("Основные показатели"), "{text}");
}

/// The social-media queue in Chromium: the incident page fits 320 pixels (200 % zoom of
/// 640) without sideways scrolling, and the coordinator answers by keyboard alone: Tab to
/// the answer's text area, type, Tab to its button, Enter.
#[tokio::test]
async fn social_incident_answered_by_keyboard_and_reflows() {
    use fantoccini::key::Key;
    let app = crate::support::spawn_app_with(crate::support::Backend::Sqlite, |c| {
        c.social.sources = vec![otklik_connectors::Source::Webhook(
            otklik_connectors::source::WebhookSource {
                key: "partner".into(),
                secret: "partner-secret-0123456789".into(),
                region: Some("RU-TVE".into()),
                reply_hosts: vec![],
            },
        )];
    })
    .await;
    let pushed = reqwest::Client::new()
        .post(app.url("/api/v1/social/webhook/partner"))
        .bearer_auth("partner-secret-0123456789")
        .json(&serde_json::json!({"id": "b1",
            "text": "В Твери на улице Трёхсвятской не горят фонари уже неделю, вечером темно и страшно идти"}))
        .send()
        .await
        .unwrap();
    assert_eq!(pushed.status(), 202);
    let operator = app.api(&app.token(crate::support::OPERATOR).await);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let id = loop {
        let (_, list) = operator.get("/api/v1/social/incidents").await;
        if let Some(id) = list[0]["id"].as_i64() {
            break id;
        }
        assert!(std::time::Instant::now() < deadline, "no incident: {list}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let driver = start_driver().await;
    let c = browser(&driver).await;
    login(&c, &app, "coordinator.tver@demo.otklik.local").await;
    c.goto(&app.url("/social")).await.unwrap();
    look(&c, "social-queue", 320).await;
    c.goto(&app.url(&format!("/social/incidents/{id}")))
        .await
        .unwrap();
    look(&c, "social-incident", 1280).await;
    look(&c, "social-incident", 320).await;
    tab_to(&c, "f-text", 60).await;
    let area = c.active_element().await.unwrap();
    area.send_keys("Фонари на Трёхсвятской включат сегодня вечером.")
        .await
        .unwrap();
    area.send_keys(&Key::Tab.to_string()).await.unwrap();
    let button = c
        .execute("return document.activeElement.textContent;", vec![])
        .await
        .unwrap();
    assert_eq!(button, serde_json::json!("Опубликовать ответ"));
    c.active_element()
        .await
        .unwrap()
        .send_keys(&Key::Enter.to_string())
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, detail) = operator
            .get(&format!("/api/v1/social/incidents/{id}"))
            .await;
        if detail["incident"]["status"] == "answered" {
            assert_eq!(
                detail["incident"]["answer"],
                "Фонари на Трёхсвятской включат сегодня вечером."
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not answered: {detail}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c.goto(&app.url(&format!("/social/incidents/{id}")))
        .await
        .unwrap();
    let text = page_text(&c).await;
    assert!(text.contains("Ответ опубликован"), "{text}");
}

/// While a citizen types, the form suggests the public message already sent about the
/// same traffic light (the form's script); the suggestion is a link reached by keyboard,
/// and the form still reflows at 320 px.
#[tokio::test]
async fn the_form_suggests_a_public_message_while_typing() {
    use crate::support::OTHER_CITIZEN;
    let app = spawn_app().await;
    let api = app.api(&app.token(CITIZEN).await);
    let (light, sent) = traffic_light_message(&api, true).await;
    let number = sent["number"].as_str().unwrap().to_owned();
    let driver = start_driver().await;
    let c = browser(&driver).await;
    login(&c, &app, OTHER_CITIZEN).await;
    c.goto(&app.url(&format!("/submit/{light}"))).await.unwrap();
    c.find(Locator::Css("#f-region"))
        .await
        .unwrap()
        .select_by_label("Тверская область")
        .await
        .unwrap();
    let mut shown = String::new();
    for attempt in 0..40 {
        // Typing something else asks again while the index catches up.
        let typed = if attempt % 2 == 0 {
            "Не работает светофор на перекрёстке Советской улицы"
        } else {
            "Не работает светофор на перекрёстке Советской улицы, темно"
        };
        fill(&c, "#f-text", typed).await;
        tokio::time::sleep(Duration::from_millis(1_000)).await;
        shown = c
            .find(Locator::Css("#similar-results"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if shown.contains(&number) {
            break;
        }
    }
    assert!(shown.contains(&number), "{shown}");
    assert!(
        c.find(Locator::Css("#similar-results a[href^='/public/']"))
            .await
            .is_ok(),
        "the suggestion links to the public page"
    );
    look(&c, "submit-similar", 320).await;
    submit(&c, "#similar-results a").await;
    let text = page_text(&c).await;
    assert!(text.contains("Следить за решением"), "{text}");
    c.close().await.unwrap();
    app.stop().await;
}
