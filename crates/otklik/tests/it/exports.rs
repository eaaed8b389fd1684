//! Background exports through the real server, past their retention: once the sweep has
//! deleted a finished file, its page and the list say so in Russian, and the file's
//! address answers `410 Gone` with a Russian page (never a 500); nobody else's job is
//! told apart from a missing one.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use crate::support::{csrf_in, page_login, spawn_app, text_of, DEMO_PASSWORD, OTHER_CITIZEN};

const TRANSPORT: &str = "Министерство транспорта Тверской области";
const EXPIRED: &str = "Файл удалён по истечении срока хранения";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_export_file_is_gone_with_a_russian_page() {
    let app = spawn_app().await;
    let browser = app.browser();
    let official = app.official_of(TRANSPORT).email.clone();
    page_login(&app, &browser, &official, DEMO_PASSWORD).await;
    let csrf = csrf_in(&text_of(&browser, app.url("/inbox")).await);
    let asked = browser
        .post(app.url("/exports"))
        .form(&[("csrf", csrf.as_str()), ("format", "csv")])
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), 303, "to the job's page");
    let job = asked.headers()["location"].to_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut page = text_of(&browser, app.url(&job)).await;
    while !page.contains("Готово") {
        assert!(Instant::now() < deadline, "the export never finished");
        tokio::time::sleep(Duration::from_millis(100)).await;
        page = text_of(&browser, app.url(&job)).await;
    }
    assert!(page.contains("Файл хранится до"), "{page}");
    let list = text_of(&browser, app.url("/exports")).await;
    assert!(list.contains("хранится 7 дней"), "{list}");
    let file = browser
        .get(app.url(&format!("{job}/file")))
        .send()
        .await
        .unwrap();
    assert_eq!(file.status(), 200);

    // A week and a day later the sweep deletes it.
    let config = otklik_web::config::ExportsConfig::default();
    let later = time::OffsetDateTime::now_utc() + time::Duration::days(8);
    assert_eq!(
        otklik_web::export_jobs::sweep(app.store.as_ref(), &config, later).await,
        1
    );
    let page = text_of(&browser, app.url(&job)).await;
    assert!(page.contains(EXPIRED), "{page}");
    assert!(!page.contains("Скачать файл"), "{page}");
    assert!(!page.contains("Файл хранится до"), "{page}");
    let list = text_of(&browser, app.url("/exports")).await;
    assert!(list.contains(EXPIRED), "{list}");
    let gone = browser
        .get(app.url(&format!("{job}/file")))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 410);
    assert!(gone.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let body = gone.text().await.unwrap();
    assert!(body.contains(EXPIRED), "{body}");
    assert!(body.contains("lang=\"ru\""), "{body}");

    // Someone else learns nothing of it.
    let stranger = app.browser();
    page_login(&app, &stranger, OTHER_CITIZEN, DEMO_PASSWORD).await;
    let response = stranger
        .get(app.url(&format!("{job}/file")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    app.stop().await;
}
