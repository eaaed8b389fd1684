//! Analytics through the real server: the figures follow the submissions' life within
//! moments; each role reads its reach (an organisation its own, a coordinator its region,
//! the operator everything, the analyst aggregates with small groups withheld, and with
//! them the smallest other group where one could be worked out from the total); bad
//! parameters are named; the page draws accessible charts beside tables; every table
//! exports as CSV and XLSX, at once or as a background job (the same file, the same
//! groups withheld, its owner's only), and so does the whole report; `otklik analytics
//! rebuild` recomputes the same figures.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::api::{ok, World};
use crate::support::{
    csrf_in, page_login, text_of, Api, Backend, TestApp, DEMO_PASSWORD, OPERATOR, OTHER_CITIZEN,
};

const CITY: &str = "Администрация города Твери";
const HOUSING: &str = "Министерство энергетики и жилищно-коммунального хозяйства Тверской области";
const TRANSPORT: &str = "Министерство транспорта Тверской области";
const TVER: &str = "Тверская область";
const ANALYST: &str = "analyst@demo.otklik.local";
const COORDINATOR: &str = "coordinator.tver@demo.otklik.local";
const OTHER_COORDINATOR: &str = "coordinator.nsk@demo.otklik.local";

/// The report once the follower has counted everything and `received` is `want`.
async fn report_when(api: &Api, query: &str, want: i64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, report) = api.get(&format!("/api/v1/analytics?{query}")).await;
        assert_eq!(status, 200, "{report}");
        let settled = report["pending_log_entries"] == 0 && report["totals"]["received"] == want;
        if settled || Instant::now() > deadline {
            return report;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Asks for a background export from the analytics page with `fields` (besides the page's
/// CSRF token): the job's address, after the `303` to it.
async fn ask_job(app: &TestApp, browser: &reqwest::Client, fields: &[(&str, &str)]) -> String {
    let csrf = csrf_in(&text_of(browser, app.url("/analytics")).await);
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    let asked = browser
        .post(app.url("/analytics/exports"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), 303, "to the job's page");
    let job = asked.headers()["location"].to_str().unwrap().to_owned();
    assert!(job.starts_with("/exports/"), "{job}");
    job
}

/// The job's file once its page says it is done.
async fn job_file(app: &TestApp, browser: &reqwest::Client, job: &str) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let page = text_of(browser, app.url(job)).await;
        if page.contains("Готово") {
            break;
        }
        assert!(!page.contains("Не удалось"), "the export failed: {page}");
        assert!(
            Instant::now() < deadline,
            "the export never finished: {page}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let file = browser
        .get(app.url(&format!("{job}/file")))
        .send()
        .await
        .unwrap();
    assert_eq!(file.status(), 200);
    file.bytes().await.unwrap().to_vec()
}

fn row<'a>(rows: &'a Value, name: &str) -> &'a Value {
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no row {name} in {rows}"))
}

async fn scenario(backend: Backend) {
    let w = World::start(backend).await;
    let app = &w.app;
    let transport = w.official(TRANSPORT).await;
    let mut ids = Vec::new();
    for _ in 0..6 {
        let body = w.body("Ямы и выбоины на дороге", TVER, "message").await;
        let (status, created) = w.citizen.post("/api/v1/submissions", body).await;
        assert_eq!(status, 201, "{created}");
        ids.push(created["id"].as_i64().unwrap());
    }
    let maria = app.api(&app.token(OTHER_CITIZEN).await);
    let light = w.body("Неработающий светофор", TVER, "message").await;
    let (status, light) = maria.post("/api/v1/submissions", light).await;
    assert_eq!(status, 201, "{light}");
    let path = |id: i64, action: &str| format!("/api/v1/submissions/{id}/{action}");
    ok(transport
        .post(&path(ids[0], "take-into-work"), json!({}))
        .await);
    ok(transport
        .post(
            &path(ids[0], "answer"),
            json!({"text": "Яма заделана литым асфальтом, работы приняты комиссией."}),
        )
        .await);
    ok(w.citizen
        .post(&path(ids[0], "rate"), json!({"score": 5}))
        .await);
    ok(transport
        .post(
            &path(ids[1], "reject"),
            json!({"ground": "repeated_question", "comment": "Ответ по существу уже дан."}),
        )
        .await);

    // The operator: everything, broken down every way.
    let operator = app.api(&app.token(OPERATOR).await);
    let all = report_when(&operator, "", 7).await;
    let totals = &all["totals"];
    assert_eq!(
        (
            &totals["received"],
            &totals["answered"],
            &totals["answered_on_time"],
            &totals["rejected"],
            &totals["rated"],
            &totals["mean_rating"],
            &totals["taken_into_work"]
        ),
        (
            &json!(7),
            &json!(1),
            &json!(1),
            &json!(1),
            &json!(1),
            &json!(5.0),
            &json!(1)
        ),
        "{all}"
    );
    assert!(
        totals["answer_median_seconds"].as_i64().unwrap() < 3_600,
        "{totals}"
    );
    assert_eq!(
        row(&all["organisations"], TRANSPORT)["indicators"]["received"],
        6
    );
    assert_eq!(
        row(&all["organisations"], CITY)["indicators"]["received"],
        1
    );
    assert_eq!(
        all["organisations"][0]["name"], TRANSPORT,
        "most received first"
    );
    assert_eq!(row(&all["regions"], TVER)["indicators"]["received"], 7);
    assert_eq!(
        row(&all["channels"], "API (приложения)")["indicators"]["received"],
        7
    );
    assert_eq!(all["ratings"][4]["count"], 1);
    let rejected: Vec<&Value> = all["rejections"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["count"] == 1)
        .collect();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0]["code"], "repeated_question");
    assert_eq!(all["grain"], "month", "90 days by default");
    // The demo's two open polls (the operator's vote and the city's survey), no ballots.
    assert_eq!(all["polls"], json!({"count": 2, "ballots": 0}));
    let today = all["to"].as_str().unwrap().to_owned();
    let daily = ok(operator
        .get(&format!("/api/v1/analytics?from={today}&to={today}"))
        .await);
    assert_eq!(daily["grain"], "day");
    assert_eq!(daily["series"][0]["indicators"]["received"], 7, "{daily}");
    // Filters: a kind nobody used, a channel nobody used.
    let appeals = ok(operator.get("/api/v1/analytics?kind=appeal").await);
    assert_eq!(appeals["totals"]["received"], 0);
    let widget = ok(operator.get("/api/v1/analytics?channel=widget").await);
    assert_eq!(widget["totals"]["received"], 0);

    // Each reach.
    let own = ok(transport.get("/api/v1/analytics").await);
    assert_eq!(own["totals"]["received"], 6);
    assert_eq!(own["organisations"], json!([]));
    assert_eq!(own["regions"], json!([]));
    let city = w.official(CITY).await;
    let transport_id = row(&all["organisations"], TRANSPORT)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let theirs = ok(city
        .get(&format!("/api/v1/analytics?organisation={transport_id}"))
        .await);
    assert_eq!(
        theirs["totals"]["received"], 0,
        "another organisation: nothing"
    );
    let city_own = ok(city.get("/api/v1/analytics").await);
    assert_eq!(city_own["totals"]["received"], 1);
    assert_eq!(city_own["polls"]["count"], 1, "the city's own survey");
    assert_eq!(own["polls"]["count"], 0);
    let coordinator = app.api(&app.token(COORDINATOR).await);
    assert_eq!(
        ok(coordinator.get("/api/v1/analytics").await)["totals"]["received"],
        7
    );
    let elsewhere = app.api(&app.token(OTHER_COORDINATOR).await);
    assert_eq!(
        ok(elsewhere.get("/api/v1/analytics").await)["totals"]["received"],
        0
    );
    // The analyst: aggregates, the city's single message withheld (fewer than 5), and
    // the transport ministry's six with it, or 7 − 6 would give the city's back.
    let analyst = app.api(&app.token(ANALYST).await);
    let aggregates = ok(analyst.get("/api/v1/analytics").await);
    assert_eq!(aggregates["min_group"], 5);
    assert_eq!(aggregates["totals"]["received"], 7);
    for name in [CITY, TRANSPORT] {
        let withheld = row(&aggregates["organisations"], name);
        assert_eq!(withheld["indicators"]["suppressed"], true, "{withheld}");
        assert_eq!(withheld["indicators"]["received"], Value::Null);
    }
    assert_eq!(w.citizen.get("/api/v1/analytics").await.0, 403);
    assert_eq!(app.api("").get("/api/v1/analytics").await.0, 401);
    // Bad parameters are named, and change nothing.
    let (status, problem) = operator
        .get("/api/v1/analytics?from=2026-02-30&region=999999&channel=fax")
        .await;
    assert_eq!(status, 422, "{problem}");
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["from", "region", "channel"], "{problem}");
    let (status, problem) = operator
        .get("/api/v1/analytics?from=2026-12-05&to=2026-12-01")
        .await;
    assert_eq!(
        (status, &problem["errors"][0]["code"]),
        (422, &json!("before_start"))
    );

    // The page: a GET form, charts with a title and a description, the same numbers
    // in tables, and the exports.
    let browser = app.browser();
    page_login(app, &browser, OPERATOR, DEMO_PASSWORD).await;
    let html = browser.get(app.url("/analytics")).send().await.unwrap();
    assert_eq!(html.status(), 200);
    let html = html.text().await.unwrap();
    assert!(html.contains(r#"<form method="get" action="/analytics""#));
    assert!(html.contains(
        r#"role="img" aria-labelledby="chart-organisations-title chart-organisations-desc""#
    ));
    assert!(
        html.contains("<th scope=\"row\">Министерство транспорта Тверской области</th><td>6</td>"),
        "{html}"
    );
    assert!(!html.contains("<script"));
    let bad = browser
        .get(app.url("/analytics?to=2026-02-30"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let bad = bad.text().await.unwrap();
    assert!(
        bad.contains("href=\"#f-to\""),
        "the summary links the field"
    );
    let csv = browser
        .get(app.url("/analytics/export.csv?table=organisations"))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("otklik-organisations.csv"));
    let csv = csv.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].starts_with("\u{feff}Организация,Поступило,Дан ответ"),
        "{csv}"
    );
    assert!(
        lines[1].starts_with("Министерство транспорта Тверской области,6,1,100,"),
        "{csv}"
    );
    let xlsx = browser
        .get(app.url("/analytics/export.xlsx?table=series&sort=rating"))
        .send()
        .await
        .unwrap();
    assert_eq!(xlsx.status(), 200);
    assert!(xlsx.bytes().await.unwrap().starts_with(b"PK"));
    let unknown = browser
        .get(app.url("/analytics/export.csv?table=secrets"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 422);
    let analyst_browser = app.browser();
    page_login(app, &analyst_browser, ANALYST, DEMO_PASSWORD).await;
    let csv = text_of(
        &analyst_browser,
        app.url("/analytics/export.csv?table=organisations"),
    )
    .await;
    assert!(csv.contains(&format!("{CITY},скрыто,")), "{csv}");

    // Tables in the background, asked for from the page: the file is the synchronous
    // download's, byte for byte; the whole report too; bad parameters are refused and
    // change nothing; nobody else sees the job or its file.
    let page = text_of(&browser, app.url("/analytics?sort=rating")).await;
    assert!(
        page.contains(r#"<form method="post" action="/analytics/exports""#),
        "{page}"
    );
    assert!(page.contains(r#"<label for="organisations-job-format">"#));
    let sync = text_of(
        &browser,
        app.url("/analytics/export.csv?table=organisations&sort=rating"),
    )
    .await;
    let job = ask_job(
        app,
        &browser,
        &[
            ("table", "organisations"),
            ("format", "csv"),
            ("sort", "rating"),
        ],
    )
    .await;
    let file = String::from_utf8(job_file(app, &browser, &job).await).unwrap();
    assert_eq!(file, sync, "the same file as the download");
    let shown = text_of(&browser, app.url(&job)).await;
    assert!(
        shown.contains("Аналитика: Рейтинг организаций, с "),
        "{shown}"
    );
    let whole = ask_job(app, &browser, &[("table", "all"), ("format", "csv")]).await;
    let whole = String::from_utf8(job_file(app, &browser, &whole).await).unwrap();
    // Each table under its title (quoted: it holds a comma), a blank line between.
    assert!(whole.starts_with("\u{feff}\"Динамика, с "), "{whole}");
    assert!(
        whole.contains("\r\n\r\n\"Рейтинг организаций, с "),
        "{whole}"
    );
    assert!(
        whole.contains(&format!("\r\n{TRANSPORT},6,1,100,")),
        "{whole}"
    );
    let workbook = ask_job(app, &browser, &[("table", "all"), ("format", "xlsx")]).await;
    assert!(job_file(app, &browser, &workbook).await.starts_with(b"PK"));
    let series = ask_job(app, &browser, &[("table", "series"), ("format", "xlsx")]).await;
    assert!(job_file(app, &browser, &series).await.starts_with(b"PK"));
    let listed = text_of(&browser, app.url("/exports")).await;
    let jobs_before = listed.matches("<tr><th scope=\"row\">").count();
    assert!(
        listed.contains("Аналитика: весь отчёт") && jobs_before == 4,
        "{listed}"
    );
    let csrf = csrf_in(&text_of(&browser, app.url("/analytics")).await);
    for (bad, field) in [
        (vec![("table", "secrets"), ("format", "csv")], "table"),
        (vec![("table", "kinds"), ("format", "pdf")], "format"),
        (
            vec![
                ("table", "kinds"),
                ("format", "csv"),
                ("from", "2026-02-30"),
            ],
            "from",
        ),
        (
            vec![("table", "kinds"), ("format", "csv"), ("region", "999999")],
            "region",
        ),
    ] {
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend(bad);
        let refused = browser
            .post(app.url("/analytics/exports"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 422, "{field}");
        let body = refused.text().await.unwrap();
        assert!(body.contains("lang=\"ru\""), "{body}");
    }
    let forged = browser
        .post(app.url("/analytics/exports"))
        .form(&[("csrf", "forged"), ("table", "kinds"), ("format", "csv")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let listed = text_of(&browser, app.url("/exports")).await;
    assert_eq!(
        listed.matches("<tr><th scope=\"row\">").count(),
        jobs_before,
        "nothing created: {listed}"
    );
    for path in [job.clone(), format!("{job}/file")] {
        let hidden = analyst_browser.get(app.url(&path)).send().await.unwrap();
        assert_eq!(hidden.status(), 404, "not the analyst's: {path}");
    }
    let citizen_browser = app.browser();
    page_login(app, &citizen_browser, OTHER_CITIZEN, DEMO_PASSWORD).await;
    let csrf = csrf_in(&text_of(&citizen_browser, app.url("/exports")).await);
    let refused = citizen_browser
        .post(app.url("/analytics/exports"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("table", "kinds"),
            ("format", "csv"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403, "no analytics for citizens");
    let file = citizen_browser
        .get(app.url(&format!("{job}/file")))
        .send()
        .await
        .unwrap();
    assert_eq!(file.status(), 404);

    // The lists as files: the inbox streamed as CSV (no texts, no authors), filtered
    // like the page; the operator's as XLSX; a citizen's own.
    let transport_browser = app.browser();
    let transport_email = app.official_of(TRANSPORT).email.clone();
    page_login(app, &transport_browser, &transport_email, DEMO_PASSWORD).await;
    let inbox = transport_browser
        .get(app.url("/submissions/export.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(inbox.status(), 200);
    let inbox = inbox.text().await.unwrap();
    let lines: Vec<&str> = inbox.lines().collect();
    assert_eq!(lines.len(), 7, "header and six: {inbox}");
    assert!(
        lines[0].starts_with("\u{feff}Номер,Вид,Статус,Категория"),
        "{inbox}"
    );
    assert!(
        !inbox.contains("Иван") && !inbox.contains("Большая яма"),
        "no personal data"
    );
    assert!(lines[1].contains(TRANSPORT) && lines[1].contains("Тверская область"));
    let rejected = text_of(
        &transport_browser,
        app.url("/submissions/export.csv?status=rejected"),
    )
    .await;
    assert_eq!(rejected.lines().count(), 2, "{rejected}");
    let bad = transport_browser
        .get(app.url("/submissions/export.csv?status=lost"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let all = browser
        .get(app.url("/submissions/export.xlsx"))
        .send()
        .await
        .unwrap();
    assert_eq!(all.status(), 200);
    assert!(all.bytes().await.unwrap().starts_with(b"PK"));
    let analyst_list = analyst_browser
        .get(app.url("/submissions/export.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(analyst_list.status(), 403, "aggregates only");

    // Long lists in the background: the request from the list page, the progress page,
    // the file (the same rows as the streamed one), nobody else's to see.
    let page = text_of(&transport_browser, app.url("/inbox")).await;
    let csrf = crate::support::csrf_in(&page);
    for (format, check) in [("csv", true), ("xlsx", false)] {
        let asked = transport_browser
            .post(app.url("/exports"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("format", format),
                ("status", ""),
                ("category", ""),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(asked.status(), 303, "to the job's page");
        let job = asked.headers()["location"].to_str().unwrap().to_owned();
        assert!(job.starts_with("/exports/"), "{job}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while !text_of(&transport_browser, app.url(&job))
            .await
            .contains("Готово")
        {
            assert!(Instant::now() < deadline, "the export never finished");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let file = transport_browser
            .get(app.url(&format!("{job}/file")))
            .send()
            .await
            .unwrap();
        assert_eq!(file.status(), 200);
        let bytes = file.bytes().await.unwrap();
        if check {
            assert_eq!(
                String::from_utf8(bytes.to_vec()).unwrap(),
                inbox,
                "the same rows"
            );
        } else {
            assert!(bytes.starts_with(b"PK"));
        }
        assert_eq!(
            browser.get(app.url(&job)).send().await.unwrap().status(),
            404,
            "not the operator's"
        );
    }
    let mine = text_of(&transport_browser, app.url("/exports")).await;
    assert_eq!(mine.matches("Готово").count(), 2, "{mine}");

    // A rebuild from the log recomputes exactly the same figures.
    let before = ok(operator.get("/api/v1/analytics").await);
    let out = Command::new(env!("CARGO_BIN_EXE_otklik"))
        .args(["analytics", "rebuild"])
        .args(&app.cli_db_args)
        .env("OTKLIK_LOG", "error")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("events and incidents counted"));
    let after = report_when(&operator, "", 7).await;
    assert_eq!(after, before);
}

/// One small group in a breakdown that adds up to the shown total: the analyst gets the
/// smallest other group withheld too, in the API, the page and the exports alike, while a
/// breakdown without small groups and the operator's figures stay whole. The rule is the
/// same on both backends (it runs on the report, not in the store), so SQLite suffices.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lone_small_group_is_withheld_with_the_next_smallest() {
    let w = World::start(Backend::Sqlite).await;
    let app = &w.app;
    for (subcategory, count) in [
        ("Ямы и выбоины на дороге", 7),
        ("Отсутствие отопления", 5),
        ("Неработающий светофор", 1),
    ] {
        for _ in 0..count {
            let body = w.body(subcategory, TVER, "message").await;
            let (status, created) = w.citizen.post("/api/v1/submissions", body).await;
            assert_eq!(status, 201, "{created}");
        }
    }
    let analyst = app.api(&app.token(ANALYST).await);
    let aggregates = report_when(&analyst, "", 13).await;
    assert_eq!(aggregates["totals"]["received"], 13, "{aggregates}");
    // 13 − 7 = 6 is all a reader can work out: the city's 1 and the housing ministry's 5
    // together, in rows that look the same, after the shown one.
    let organisations = aggregates["organisations"].as_array().unwrap();
    let names: Vec<&str> = organisations
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [TRANSPORT, CITY, HOUSING],
        "withheld rows last, by name"
    );
    assert_eq!(organisations[0]["indicators"]["received"], 7);
    for withheld in &organisations[1..] {
        assert_eq!(
            withheld["indicators"],
            row(&aggregates["organisations"], CITY)["indicators"],
            "a complement reads like a small group"
        );
        assert_eq!(withheld["indicators"]["suppressed"], true, "{withheld}");
        assert_eq!(withheld["indicators"]["received"], Value::Null);
        assert_eq!(withheld["indicators"]["answered"], Value::Null);
    }
    // No small group among the categories (8 roads, 5 housing): nothing withheld there.
    let categories = aggregates["categories"].as_array().unwrap();
    assert!(
        categories
            .iter()
            .all(|r| r["indicators"]["suppressed"] == false),
        "{categories:?}"
    );
    assert_eq!(
        row(&aggregates["categories"], "ЖКХ")["indicators"]["received"],
        5
    );
    // The operator reads every group.
    let operator = app.api(&app.token(OPERATOR).await);
    let all = ok(operator.get("/api/v1/analytics").await);
    assert_eq!(
        row(&all["organisations"], HOUSING)["indicators"]["received"],
        5
    );
    assert_eq!(
        row(&all["organisations"], CITY)["indicators"]["received"],
        1
    );

    // The same rows withheld in the export and on the page.
    let browser = app.browser();
    page_login(app, &browser, ANALYST, DEMO_PASSWORD).await;
    let csv = text_of(
        &browser,
        app.url("/analytics/export.csv?table=organisations"),
    )
    .await;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(lines[1].starts_with(&format!("{TRANSPORT},7,")), "{csv}");
    assert!(lines[2].starts_with(&format!("{CITY},скрыто,")), "{csv}");
    assert!(lines[3].starts_with(&format!("{HOUSING},скрыто,")), "{csv}");
    // A background export of the table withholds exactly the same: the file is the
    // download's, byte for byte, and carries no names of people.
    let job = ask_job(
        app,
        &browser,
        &[("table", "organisations"), ("format", "csv")],
    )
    .await;
    let file = String::from_utf8(job_file(app, &browser, &job).await).unwrap();
    assert_eq!(file, csv, "the same rows withheld");
    let whole = ask_job(app, &browser, &[("table", "all"), ("format", "csv")]).await;
    let whole = String::from_utf8(job_file(app, &browser, &whole).await).unwrap();
    assert!(whole.contains(&format!("\r\n{CITY},скрыто,")), "{whole}");
    assert!(whole.contains(&format!("\r\n{HOUSING},скрыто,")), "{whole}");
    assert!(!whole.contains("Иван") && !whole.contains("@"), "{whole}");
    // The operator's own job on the same table is whole, and the analyst never sees it.
    let operator_browser = app.browser();
    page_login(app, &operator_browser, OPERATOR, DEMO_PASSWORD).await;
    let theirs = ask_job(
        app,
        &operator_browser,
        &[("table", "organisations"), ("format", "csv")],
    )
    .await;
    let theirs = String::from_utf8(job_file(app, &operator_browser, &theirs).await).unwrap();
    assert!(theirs.contains(&format!("\r\n{HOUSING},5,")), "{theirs}");
    let job_id = job.trim_start_matches("/exports/");
    assert_eq!(
        operator_browser
            .get(app.url(&format!("/exports/{job_id}/file")))
            .send()
            .await
            .unwrap()
            .status(),
        404,
        "the analyst's job is the analyst's"
    );
    let page = text_of(&browser, app.url("/analytics")).await;
    assert!(
        page.contains(&format!("<th scope=\"row\">{HOUSING}</th><td>скрыто</td>")),
        "{page}"
    );
    assert!(
        page.contains("скрыта и наименьшая из остальных групп"),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analytics_on_sqlite() {
    scenario(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analytics_on_postgres() {
    scenario(Backend::Postgres).await;
}
