//! Monitoring through real HTTP against the real server: incidents raised by a low
//! rating and by the monitor, the register and its filters (API and page), resolving
//! once, who sees which region, the analyst's read-only view without personal data, the
//! regional summaries, and the help for staff.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

use crate::api::{ok, path, refused, World, POTHOLES, TRANSPORT};
use crate::support::{Api, Backend, TestApp, CITIZEN, DEMO_PASSWORD, OPERATOR, OTHER_CITIZEN};

const TVER: &str = "Тверская область";
const NSK: &str = "Новосибирская область";
const NSK_TRANSPORT: &str = "Министерство транспорта и дорожного хозяйства Новосибирской области";
const COORDINATOR_TVER: &str = "coordinator.tver@demo.otklik.local";
const COORDINATOR_NSK: &str = "coordinator.nsk@demo.otklik.local";
const ANALYST: &str = "analyst@demo.otklik.local";
const CITIZEN_NAME: &str = "Иван Петров";
const TEXT: &str = "Яма на дороге у остановки, машины объезжают её по встречной полосе.";

// --- helpers -------------------------------------------------------------------------------

/// A server with three incidents: a low rating in Тверская область (the transport
/// ministry), and breached answer deadlines in Тверская and Новосибирская области.
struct Scene {
    w: World,
    operator: Api,
    rated: Value,
    open_tver: Value,
    open_nsk: Value,
    tver: i64,
    nsk: i64,
}

impl Scene {
    async fn start(backend: Backend) -> Self {
        let w = World::start(backend).await;
        let operator = w.app.api(&w.app.token(OPERATOR).await);
        let tver = id_in(&w.app, "/api/v1/regions", TVER).await;
        let nsk = id_in(&w.app, "/api/v1/regions", NSK).await;

        let rated = w.submit(POTHOLES).await;
        let official = w.official(TRANSPORT).await;
        ok(official
            .post(&path(&rated["id"], "take-into-work"), json!({}))
            .await);
        let answer = json!({ "text": "Яма будет заделана в плановом порядке." });
        ok(official.post(&path(&rated["id"], "answer"), answer).await);
        let before = ok(operator.get("/api/v1/incidents").await);
        assert_eq!(before["total"], 0, "{before}");
        ok(w.citizen
            .post(&path(&rated["id"], "rate"), json!({ "score": 1 }))
            .await);

        let open_tver = w.submit(POTHOLES).await;
        let open_nsk = submit_in(&w, NSK).await;
        assert_eq!(open_nsk["organisation"], NSK_TRANSPORT);
        Self {
            w,
            operator,
            rated,
            open_tver,
            open_nsk,
            tver,
            nsk,
        }
    }

    /// Runs the monitor two months ahead: the open submissions are late by then.
    async fn breach_deadlines(&self) -> u64 {
        let later = OffsetDateTime::now_utc() + Duration::days(60);
        self.w.app.store.monitor(later, 1).await.unwrap().incidents
    }

    async fn ready(backend: Backend) -> Self {
        let scene = Self::start(backend).await;
        assert_eq!(scene.breach_deadlines().await, 2);
        scene
    }

    fn app(&self) -> &TestApp {
        &self.w.app
    }

    async fn api_of(&self, email: &str) -> Api {
        self.app().api(&self.app().token(email).await)
    }

    /// The id of the incident of this kind about this submission (as the operator sees it).
    async fn incident(&self, submission: &Value, kind: &str) -> i64 {
        let list = ok(self.operator.get("/api/v1/incidents").await);
        let number = submission["number"].as_str().unwrap();
        items(&list)
            .iter()
            .find(|i| i["number"] == number && i["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} incident for {number}: {list}"))["id"]
            .as_i64()
            .unwrap()
    }
}

/// The id of the entry named `name` in a public reference list.
async fn id_in(app: &TestApp, path: &str, name: &str) -> i64 {
    let list: Vec<Value> = reqwest::get(app.url(path))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    list.iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no «{name}» in {path}"))["id"]
        .as_i64()
        .unwrap()
}

/// A pothole message of the demo citizen in `region`, its required fields filled.
async fn submit_in(w: &World, region: &str) -> Value {
    let catalogue = ok(w.citizen.get("/api/v1/catalogue").await);
    let sub = catalogue
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["subcategories"].as_array().unwrap())
        .find(|s| s["name"] == POTHOLES)
        .unwrap()
        .clone();
    let fields: serde_json::Map<String, Value> = sub["form"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["required"] == true)
        .map(|f| {
            let value = match f["kind"].as_str().unwrap() {
                "number" => "21".to_owned(),
                "date" => "2026-01-15".to_owned(),
                "select" => f["options"][0].as_str().unwrap().to_owned(),
                _ => "г. Новосибирск, Красный проспект, 1".to_owned(),
            };
            (f["key"].as_str().unwrap().to_owned(), Value::from(value))
        })
        .collect();
    let body = json!({
        "kind": "message",
        "subcategory_id": sub["id"],
        "region_id": id_in(&w.app, "/api/v1/regions", region).await,
        "text": TEXT,
        "fields": fields,
        "attachments": [crate::api::upload("yama.png", crate::support::PNG_1X1)],
    });
    let (status, created) = w.citizen.post("/api/v1/submissions", body).await;
    assert_eq!(status, 201, "{created}");
    created
}

fn items(list: &Value) -> &Vec<Value> {
    list["items"].as_array().unwrap()
}

/// The count of `kind` in a list's `by_kind`.
fn count_of(list: &Value, kind: &str) -> u64 {
    list["by_kind"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in by_kind: {list}"))["count"]
        .as_u64()
        .unwrap()
}

fn field_code<'a>(problem: &'a Value, field: &str) -> Option<&'a str> {
    problem["errors"]
        .as_array()?
        .iter()
        .find(|e| e["field"] == field)
        .and_then(|e| e["code"].as_str())
}

/// A browser without JavaScript: keeps cookies, does not follow redirects.
struct Browser<'a> {
    app: &'a TestApp,
    client: reqwest::Client,
}

impl<'a> Browser<'a> {
    fn anonymous(app: &'a TestApp) -> Self {
        Self {
            app,
            client: app.browser(),
        }
    }

    async fn signed_in(app: &'a TestApp, email: &str) -> Self {
        let browser = Self::anonymous(app);
        let r = crate::support::page_login(app, &browser.client, email, DEMO_PASSWORD).await;
        assert_eq!(r.status(), 303, "login of {email}");
        browser
    }

    async fn page(&self, path: &str) -> (u16, String) {
        let r = self.client.get(self.app.url(path)).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// The CSRF token of this browser's forms (read from a page every visitor may open).
    async fn csrf(&self) -> String {
        let (status, html) = self.page("/login").await;
        assert_eq!(status, 200);
        let marker = r#"name="csrf" value=""#;
        let start = html.find(marker).expect("a csrf input") + marker.len();
        let end = start + html[start..].find('"').unwrap();
        html[start..end].to_owned()
    }

    /// Posts a form with this browser's CSRF token.
    async fn post(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let csrf = self.csrf().await;
        let mut fields = vec![("csrf", csrf.as_str())];
        fields.extend_from_slice(form);
        self.post_raw(path, &fields).await
    }

    async fn post_raw(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(self.app.url(path))
            .form(form)
            .send()
            .await
            .unwrap()
    }
}

fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .map_or(String::new(), |v| v.to_str().unwrap().to_owned())
}

/// The rows of the register's table (between `<tbody>` and `</tbody>`).
fn table_rows(html: &str) -> usize {
    let Some(start) = html.find("<tbody>") else {
        return 0;
    };
    let end = start + html[start..].find("</tbody>").unwrap();
    html[start..end].matches("<tr id=\"incident-").count()
}

// --- incidents appear, filter, count and resolve ----------------------------------------------

async fn raised_filtered_and_resolved(backend: Backend) {
    let s = Scene::start(backend).await;
    let list = ok(s.operator.get("/api/v1/incidents").await);
    assert_eq!(list["total"], 1, "{list}");
    let low = &items(&list)[0];
    assert_eq!(low["kind"], "low_rating");
    assert_eq!(low["kind_label"], "Низкая оценка ответа (1–2)");
    assert_eq!(low["number"], s.rated["number"]);
    assert_eq!(low["organisation"], TRANSPORT);
    assert_eq!(low["region"], TVER);
    assert_eq!(low["status"], "open");
    assert_eq!(
        low["submission_url"],
        format!("/api/v1/submissions/{}", s.rated["id"])
    );

    // The monitor, two months ahead: both open submissions are late, the rated one is not.
    assert_eq!(s.breach_deadlines().await, 2);
    assert_eq!(s.breach_deadlines().await, 0, "raised once per deadline");
    let list = ok(s.operator.get("/api/v1/incidents").await);
    assert_eq!(list["total"], 3, "{list}");
    assert_eq!(
        (
            count_of(&list, "low_rating"),
            count_of(&list, "late_answer")
        ),
        (1, 2)
    );
    assert_eq!(count_of(&list, "late_moderation"), 0);
    // Every kind is counted, none found or not.
    assert_eq!(
        list["by_kind"].as_array().unwrap().len(),
        otklik_domain::lifecycle::IncidentKind::ALL.len()
    );
    let late: Vec<&Value> = items(&list)
        .iter()
        .filter(|i| i["kind"] == "late_answer")
        .collect();
    let mut numbers: Vec<&str> = late.iter().map(|i| i["number"].as_str().unwrap()).collect();
    numbers.sort_unstable();
    let mut want = vec![
        s.open_tver["number"].as_str().unwrap(),
        s.open_nsk["number"].as_str().unwrap(),
    ];
    want.sort_unstable();
    assert_eq!(numbers, want);
    for incident in &late {
        assert!(incident["due_at"].is_string(), "{incident}");
    }

    // Filters; counts by kind ignore the kind filter only.
    let by_kind = ok(s.operator.get("/api/v1/incidents?kind=late_answer").await);
    assert_eq!(by_kind["total"], 2);
    assert!(items(&by_kind).iter().all(|i| i["kind"] == "late_answer"));
    assert_eq!(count_of(&by_kind, "low_rating"), 1);
    let nsk = ok(s
        .operator
        .get(&format!("/api/v1/incidents?region_id={}", s.nsk))
        .await);
    assert_eq!(nsk["total"], 1);
    assert_eq!(items(&nsk)[0]["region"], NSK);
    assert_eq!(count_of(&nsk, "low_rating"), 0);
    let transport = id_in(s.app(), "/api/v1/organisations", TRANSPORT).await;
    let org = ok(s
        .operator
        .get(&format!("/api/v1/incidents?organisation_id={transport}"))
        .await);
    assert_eq!(org["total"], 2);
    assert!(items(&org).iter().all(|i| i["organisation"] == TRANSPORT));

    let low_id = low["id"].as_i64().unwrap();
    let (status, body) = s
        .operator
        .post(
            &format!("/api/v1/incidents/{low_id}/resolve"),
            json!({ "resolution": "Проведена проверка качества ответа, ответ дополнен." }),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let open = ok(s.operator.get("/api/v1/incidents?resolved=false").await);
    let resolved = ok(s.operator.get("/api/v1/incidents?resolved=true").await);
    assert_eq!(
        (open["total"].as_u64(), resolved["total"].as_u64()),
        (Some(2), Some(1))
    );
    let done = &items(&resolved)[0];
    assert_eq!(
        (done["id"].as_i64(), done["status"].as_str()),
        (Some(low_id), Some("resolved"))
    );
    assert_eq!(
        done["resolution"],
        "Проведена проверка качества ответа, ответ дополнен."
    );
    assert!(done["resolved_at"].is_string());
    // Both filters together.
    let both = ok(s
        .operator
        .get(&format!(
            "/api/v1/incidents?region_id={}&resolved=false&kind=late_answer",
            s.tver
        ))
        .await);
    assert_eq!(both["total"], 1);
    assert_eq!(items(&both)[0]["number"], s.open_tver["number"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incidents_follow_low_ratings_and_the_monitor_sqlite() {
    raised_filtered_and_resolved(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incidents_follow_low_ratings_and_the_monitor_postgres() {
    raised_filtered_and_resolved(Backend::Postgres).await;
}

// --- regions --------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coordinator_sees_and_resolves_only_its_own_region() {
    let s = Scene::ready(Backend::Sqlite).await;
    let tver = s.api_of(COORDINATOR_TVER).await;
    let list = ok(tver.get("/api/v1/incidents").await);
    assert_eq!(list["total"], 2, "{list}");
    assert!(items(&list).iter().all(|i| i["region"] == TVER), "{list}");
    let counted: u64 = list["by_kind"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["count"].as_u64().unwrap())
        .sum();
    assert_eq!(counted, 2);
    let own = ok(tver
        .get(&format!("/api/v1/incidents?region_id={}", s.tver))
        .await);
    assert_eq!(own["total"], 2);
    refused(
        tver.get(&format!("/api/v1/incidents?region_id={}", s.nsk))
            .await,
        404,
        "not_found",
    );
    // The other coordinator, the other way round.
    let nsk_list = ok(s
        .api_of(COORDINATOR_NSK)
        .await
        .get("/api/v1/incidents")
        .await);
    assert_eq!(nsk_list["total"], 1);
    assert_eq!(items(&nsk_list)[0]["region"], NSK);

    let nsk_incident = s.incident(&s.open_nsk, "late_answer").await;
    let resolution = json!({ "resolution": "Проверено, ответ направлен заявителю." });
    refused(
        tver.post(
            &format!("/api/v1/incidents/{nsk_incident}/resolve"),
            resolution.clone(),
        )
        .await,
        404,
        "not_found",
    );
    let still = ok(s.operator.get("/api/v1/incidents?resolved=false").await);
    assert!(items(&still).iter().any(|i| i["id"] == nsk_incident));
    let tver_incident = s.incident(&s.open_tver, "late_answer").await;
    let (status, body) = tver
        .post(
            &format!("/api/v1/incidents/{tver_incident}/resolve"),
            resolution,
        )
        .await;
    assert_eq!(status, 204, "{body}");

    let regions = ok(tver.get("/api/v1/monitoring/regions").await);
    let regions = regions.as_array().unwrap();
    assert_eq!(regions.len(), 1, "{regions:?}");
    assert_eq!(regions[0]["region"], TVER);

    // The pages say the same.
    let browser = Browser::signed_in(s.app(), COORDINATOR_TVER).await;
    let (status, html) = browser.page("/incidents").await;
    assert_eq!(status, 200);
    assert_eq!(table_rows(&html), 2);
    assert!(html.contains(s.rated["number"].as_str().unwrap()));
    assert!(
        !html.contains("Новосибирск"),
        "another region leaks into the page"
    );
    assert!(
        !html.contains(r#"id="filter-region""#),
        "a coordinator has no region filter"
    );
    let (status, _) = browser.page(&format!("/incidents?region={}", s.nsk)).await;
    assert_eq!(status, 404);
    let (status, _) = browser.page(&format!("/incidents?region={}", s.tver)).await;
    assert_eq!(status, 200);
    let r = browser
        .post(
            &format!("/incidents/{nsk_incident}/resolve"),
            &[("resolution", "Попытка закрыть чужой инцидент.")],
        )
        .await;
    assert_eq!(r.status(), 404);
    let (status, html) = browser.page("/monitoring").await;
    assert_eq!(status, 200);
    assert!(html.contains(TVER));
    assert!(!html.contains("Новосибирск"));
}

// --- the analyst ----------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_analyst_reads_everything_but_no_citizen_and_resolves_nothing() {
    let s = Scene::ready(Backend::Sqlite).await;
    let analyst = s.api_of(ANALYST).await;
    let list = ok(analyst.get("/api/v1/incidents").await);
    assert_eq!(list["total"], 3);
    assert!(
        items(&list).iter().all(|i| i["submission_url"].is_null()),
        "{list}"
    );
    let body = list.to_string();
    assert!(!body.contains(CITIZEN_NAME) && !body.contains(CITIZEN) && !body.contains(TEXT));
    let id = s.incident(&s.open_tver, "late_answer").await;
    refused(
        analyst
            .post(
                &format!("/api/v1/incidents/{id}/resolve"),
                json!({ "resolution": "Аналитик не закрывает инциденты." }),
            )
            .await,
        403,
        "forbidden",
    );
    let open = ok(s.operator.get("/api/v1/incidents?resolved=false").await);
    assert_eq!(open["total"], 3);
    let regions = ok(analyst.get("/api/v1/monitoring/regions").await);
    assert_eq!(regions.as_array().unwrap().len(), 2);

    let browser = Browser::signed_in(s.app(), ANALYST).await;
    let (status, html) = browser.page("/incidents").await;
    assert_eq!(status, 200);
    assert_eq!(table_rows(&html), 3);
    for submission in [&s.rated, &s.open_tver, &s.open_nsk] {
        assert!(html.contains(submission["number"].as_str().unwrap()));
    }
    assert!(html.contains(NSK) && html.contains(TVER));
    assert!(!html.contains(CITIZEN_NAME), "the citizen's name is shown");
    assert!(!html.contains(CITIZEN), "the citizen's e-mail is shown");
    assert!(!html.contains(TEXT));
    assert!(
        !html.contains("/submissions/"),
        "the analyst gets links into submissions"
    );
    assert!(
        !html.contains("/resolve\""),
        "the analyst is offered a resolve form"
    );
    let r = browser
        .post(
            &format!("/incidents/{id}/resolve"),
            &[("resolution", "Аналитик не закрывает инциденты.")],
        )
        .await;
    assert_eq!(r.status(), 403);
    let (status, html) = browser.page("/monitoring").await;
    assert_eq!(status, 200);
    assert!(html.contains(NSK) && html.contains(TVER) && html.contains("Итого"));
    assert!(!html.contains(CITIZEN_NAME));

    // The operator, by contrast, gets the links and the forms.
    let operator = Browser::signed_in(s.app(), OPERATOR).await;
    let (_, html) = operator.page("/incidents").await;
    assert!(html.contains(&format!("/submissions/{}", s.open_nsk["id"])));
    assert!(html.contains(&format!("/incidents/{id}/resolve")));
}

// --- refusals -------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn officials_citizens_and_strangers_are_kept_out() {
    let s = Scene::ready(Backend::Sqlite).await;
    let id = s.incident(&s.open_tver, "late_answer").await;
    let resolve = format!("/api/v1/incidents/{id}/resolve");
    let official_email = s.app().official_of(TRANSPORT).email.clone();
    for email in [official_email.as_str(), CITIZEN, OTHER_CITIZEN] {
        let api = s.api_of(email).await;
        refused(api.get("/api/v1/incidents").await, 403, "forbidden");
        refused(
            api.get("/api/v1/monitoring/regions").await,
            403,
            "forbidden",
        );
        let body = json!({ "resolution": "Закрываю без права на это." });
        refused(api.post(&resolve, body).await, 403, "forbidden");

        let browser = Browser::signed_in(s.app(), email).await;
        for page in ["/incidents", "/monitoring"] {
            let (status, html) = browser.page(page).await;
            assert_eq!(status, 403, "{email} {page}");
            assert!(html.contains("У вас нет прав"), "{html}");
        }
        let r = browser
            .post(
                &format!("/incidents/{id}/resolve"),
                &[("resolution", "Закрываю без права на это.")],
            )
            .await;
        assert_eq!(r.status(), 403, "{email}");
    }
    let open = ok(s.operator.get("/api/v1/incidents?resolved=false").await);
    assert_eq!(open["total"], 3, "a refused resolve changed something");

    let stranger = Browser::anonymous(s.app());
    for page in ["/incidents", "/monitoring"] {
        let r = stranger.client.get(s.app().url(page)).send().await.unwrap();
        assert_eq!(
            (r.status().as_u16(), location(&r)),
            (303, "/login".to_owned())
        );
    }
    let r = reqwest::get(s.app().url("/api/v1/incidents"))
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

// --- resolving ------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_is_resolved_once_then_conflicts() {
    let s = Scene::ready(Backend::Sqlite).await;
    let id = s.incident(&s.open_tver, "late_answer").await;
    let url = format!("/api/v1/incidents/{id}/resolve");
    let (status, problem) = s.operator.post(&url, json!({ "resolution": "ok" })).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (422, Some("validation_failed"))
    );
    assert_eq!(field_code(&problem, "resolution"), Some("too_short"));
    let (_, problem) = s.operator.post(&url, json!({})).await;
    assert_eq!(field_code(&problem, "resolution"), Some("required"));
    refused(
        s.operator
            .post(
                "/api/v1/incidents/999999/resolve",
                json!({ "resolution": "Нет такого." }),
            )
            .await,
        404,
        "not_found",
    );
    refused(
        s.operator
            .post(
                "/api/v1/incidents/abc/resolve",
                json!({ "resolution": "Нет такого." }),
            )
            .await,
        404,
        "not_found",
    );
    let body = json!({ "resolution": "Ответ дан с опозданием; руководителю указано." });
    let (status, _) = s.operator.post(&url, body.clone()).await;
    assert_eq!(status, 204);
    refused(s.operator.post(&url, body).await, 409, "already_resolved");
    let resolved = ok(s.operator.get("/api/v1/incidents?resolved=true").await);
    assert_eq!(resolved["total"], 1);
    assert_eq!(
        items(&resolved)[0]["resolution"],
        "Ответ дан с опозданием; руководителю указано."
    );

    // Through the page: the form keeps the filters, errors are shown on the row.
    let id = s.incident(&s.open_nsk, "late_answer").await;
    let browser = Browser::signed_in(s.app(), OPERATOR).await;
    let (status, html) = browser
        .page("/incidents?kind=late_answer&status=open")
        .await;
    assert_eq!(status, 200);
    assert!(html.contains(&format!(r#"action="/incidents/{id}/resolve""#)));
    assert!(html.contains(r#"<input type="hidden" name="kind" value="late_answer">"#));
    let filters = [("kind", "late_answer"), ("status", "open")];
    let mut form = filters.to_vec();
    form.push(("resolution", "x"));
    let r = browser
        .post(&format!("/incidents/{id}/resolve"), &form)
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("Инцидент не закрыт"), "{html}");
    assert!(html.contains(&format!(r##"href="#resolution-{id}""##)));
    assert!(html.contains(r#"aria-invalid="true""#));
    assert!(html.contains("Слишком коротко."));
    assert!(html.contains(">x</textarea>"), "the typed text is kept");

    let mut form = filters.to_vec();
    form.push((
        "resolution",
        "Заявителю дан ответ, сроки взяты на контроль.",
    ));
    let r = browser
        .post(&format!("/incidents/{id}/resolve"), &form)
        .await;
    assert_eq!(r.status(), 303);
    let target = location(&r);
    assert_eq!(
        target,
        "/incidents?kind=late_answer&status=open&done=resolved"
    );
    let (status, html) = browser.page(&target).await;
    assert_eq!(status, 200);
    assert!(html.contains("Инцидент закрыт, решение записано в реестр."));
    assert!(
        html.contains("Инцидентов с такими условиями нет"),
        "both late answers are closed"
    );
    let (_, html) = browser.page("/incidents?status=resolved").await;
    assert!(html.contains("Заявителю дан ответ, сроки взяты на контроль."));
    assert_eq!(table_rows(&html), 2);

    let r = browser
        .post(&format!("/incidents/{id}/resolve"), &form)
        .await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("Инцидент уже закрыт."));
    // Without the form's token nothing happens.
    let low = s.incident(&s.rated, "low_rating").await;
    let r = browser
        .post_raw(
            &format!("/incidents/{low}/resolve"),
            &[("csrf", "forged"), ("resolution", "Подделанная форма.")],
        )
        .await;
    assert_eq!(r.status(), 403);
    let open = ok(s.operator.get("/api/v1/incidents?resolved=false").await);
    assert_eq!(open["total"], 1);
}

// --- filters --------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_filters_are_explained_and_empty_results_are_friendly() {
    let s = Scene::ready(Backend::Sqlite).await;
    let cases = [
        ("kind=bogus", "kind", "unknown_value"),
        ("region_id=abc", "region_id", "unknown_region"),
        ("region_id=999999", "region_id", "unknown_region"),
        (
            "organisation_id=999999",
            "organisation_id",
            "unknown_organisation",
        ),
        ("resolved=maybe", "resolved", "unknown_value"),
        ("page=0", "page", "out_of_range"),
    ];
    for (query, field, code) in cases {
        let (status, problem) = s.operator.get(&format!("/api/v1/incidents?{query}")).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (422, Some("validation_failed")),
            "{query}"
        );
        assert_eq!(
            field_code(&problem, field),
            Some(code),
            "{query}: {problem}"
        );
    }
    let (status, problem) = s.operator.get("/api/v1/incidents?kind=bogus&page=x").await;
    assert_eq!(status, 422);
    assert_eq!(problem["errors"].as_array().unwrap().len(), 2, "{problem}");

    let browser = Browser::signed_in(s.app(), OPERATOR).await;
    let (status, html) = browser.page("/incidents?kind=bogus&page=0").await;
    assert_eq!(status, 422);
    assert!(html.contains("Исправьте фильтры"));
    assert!(html.contains(r##"href="#filter-kind""##));
    assert!(html.contains("Вид инцидента: Выберите значение из списка."));
    assert!(html.contains(r#"aria-invalid="true""#));
    assert!(html.contains("<title>Ошибка: реестр инцидентов"));
    assert_eq!(table_rows(&html), 0);
    let (status, _) = browser.page("/incidents?organisation=999999").await;
    assert_eq!(status, 422);
    let (status, _) = browser.page("/incidents?status=closed").await;
    assert_eq!(status, 422);

    let (status, html) = browser.page("/incidents?kind=late_registration").await;
    assert_eq!(status, 200);
    assert!(html.contains("Инцидентов с такими условиями нет"));
    assert_eq!(table_rows(&html), 0);
    // Counts by kind link to the filtered register and keep the other filters (the
    // templates write `&` as `&#38;`).
    let (_, html) = browser
        .page(&format!("/incidents?region={}&status=open", s.tver))
        .await;
    assert_eq!(table_rows(&html), 2);
    assert!(html.contains(&format!(
        r#"href="/incidents?kind=late_answer&#38;region={}&#38;status=open""#,
        s.tver
    )));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_register_pages_by_25_and_its_links_keep_the_filters() {
    let s = Scene::start(Backend::Sqlite).await;
    for _ in 0..25 {
        s.w.submit(POTHOLES).await;
    }
    // 26 open submissions in Тверская область, one in Новосибирская.
    assert_eq!(s.breach_deadlines().await, 27);
    let first = ok(s
        .operator
        .get(&format!(
            "/api/v1/incidents?kind=late_answer&region_id={}",
            s.tver
        ))
        .await);
    assert_eq!(
        (first["total"].as_u64(), items(&first).len()),
        (Some(26), 25)
    );
    let second = ok(s
        .operator
        .get(&format!(
            "/api/v1/incidents?kind=late_answer&region_id={}&page=2",
            s.tver
        ))
        .await);
    assert_eq!(
        (second["page"].as_u64(), items(&second).len()),
        (Some(2), 1)
    );

    let browser = Browser::signed_in(s.app(), OPERATOR).await;
    let path = format!("/incidents?kind=late_answer&region={}", s.tver);
    let (_, html) = browser.page(&path).await;
    assert_eq!(table_rows(&html), 25);
    assert!(html.contains("Страница 1 из 2"));
    let next = format!(
        r#"href="/incidents?kind=late_answer&#38;region={}&#38;page=2" rel="next""#,
        s.tver
    );
    assert!(html.contains(&next), "{html}");
    let (_, html) = browser.page(&format!("{path}&page=2")).await;
    assert_eq!(table_rows(&html), 1);
    assert!(html.contains("Страница 2 из 2"));
    assert!(html.contains(r#"<input type="hidden" name="page" value="2">"#));
    let (status, html) = browser.page(&format!("{path}&page=9")).await;
    assert_eq!(status, 200);
    assert!(html.contains("Перейти к первой странице"));
}

// --- summaries ------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitoring_summarises_each_region_with_totals() {
    let s = Scene::ready(Backend::Sqlite).await;
    let regions = ok(s.operator.get("/api/v1/monitoring/regions").await);
    let row = |name: &str| {
        regions
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["region"] == name)
            .unwrap_or_else(|| panic!("no {name} in {regions}"))
            .clone()
    };
    let tver = row(TVER);
    assert_eq!(
        (
            tver["open"].as_u64(),
            tver["answered"].as_u64(),
            tver["incidents_open"].as_u64()
        ),
        (Some(1), Some(1), Some(2)),
        "{tver}"
    );
    assert_eq!(tver["region_id"], s.tver);
    let nsk = row(NSK);
    assert_eq!(
        (nsk["open"].as_u64(), nsk["incidents_open"].as_u64()),
        (Some(1), Some(1))
    );

    let browser = Browser::signed_in(s.app(), OPERATOR).await;
    let (status, html) = browser.page("/monitoring").await;
    assert_eq!(status, 200);
    assert!(html.contains("<caption"));
    assert!(html.contains(r#"<th scope="row">Итого</th>"#));
    assert!(html.contains(&format!(
        r#"href="/incidents?region={}&#38;status=open""#,
        s.tver
    )));
    assert!(html.contains(&format!(r#"href="/incidents?region={}""#, s.nsk)));
    // Three open incidents in all, two of them late answers.
    assert!(
        html.contains(">3<span class=\"visually-hidden\"> открытых инцидентов во всех регионах")
    );
    assert!(html.contains(r#"href="/incidents?kind=late_answer&#38;status=open">Нарушен срок ответа</a>: <strong>2</strong>"#));
}

// --- help -----------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_pages_tell_staff_the_rules() {
    let app = crate::support::spawn_app().await;
    let official = app.official_of(TRANSPORT).email.clone();
    let browser = Browser::signed_in(&app, &official).await;
    let (status, index) = browser.page("/help").await;
    assert_eq!(status, 200);
    assert!(index.contains("<h1>Справка для сотрудников</h1>"));
    let pages: [(&str, &[&str]); 4] = [
        (
            "/help/inbox",
            &[
                "Взять в работу",
                "Промежуточный ответ",
                "не больше 10 МБ",
                "Перенаправить",
                "Нецензурные либо оскорбительные выражения",
                "срок приостанавливается",
                "один раз, не более чем на 30 дней",
            ],
        ),
        (
            "/help/deadlines",
            &[
                "10 рабочих дней",
                "1 рабочий день",
                "3 дня со дня поступления",
                "7 дней со дня регистрации",
                "30 дней со дня регистрации",
                "не более чем на 30 дней",
                "23:59:59 последнего дня по местному времени организации",
                "производственного календаря",
                "переносы выходных",
                "срок стоит",
            ],
        ),
        (
            "/help/coordination",
            &[
                "Изменить тему",
                "Перенаправить",
                "Спам",
                "Вернуть ответ",
                "1 рабочего дня",
            ],
        ),
        (
            "/help/incidents",
            &[
                "Нарушен срок регистрации",
                "Нарушен срок модерации",
                "Нарушен срок перенаправления (7 дней)",
                "Нарушен срок ответа",
                "Ответ отклонён координатором",
                "Низкая оценка ответа (1–2)",
                "никогда не удаляются",
                "только для просмотра",
            ],
        ),
    ];
    for (path, facts) in pages {
        assert!(
            index.contains(&format!(r#"href="{path}""#)),
            "index lacks {path}"
        );
        let (status, html) = browser.page(path).await;
        assert_eq!(status, 200, "{path}");
        assert!(
            html.contains(r#"<a href="/help">Справка</a>"#),
            "{path} lacks the way back"
        );
        assert!(
            html.contains(&format!(r#"href="{path}" aria-current="page""#)),
            "{path}"
        );
        for fact in facts {
            assert!(html.contains(fact), "{path} lacks «{fact}»");
        }
    }
    // The menu offers the help to staff; the help itself is public.
    let (_, home) = browser.page("/").await;
    assert!(home.contains(r#"href="/help""#));
    let (status, html) = Browser::anonymous(&app).page("/help/deadlines").await;
    assert_eq!(status, 200);
    assert!(html.contains("10 рабочих дней"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_describes_the_monitoring_api() {
    let app = crate::support::spawn_app().await;
    let doc: Value = reqwest::get(app.url("/api/v1/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for p in [
        "/api/v1/incidents",
        "/api/v1/incidents/{id}/resolve",
        "/api/v1/monitoring/regions",
    ] {
        assert!(doc["paths"].get(p).is_some(), "missing path {p}");
    }
    assert!(doc["paths"]["/api/v1/incidents/{id}/resolve"]
        .get("post")
        .is_some());
    for schema in [
        "IncidentList",
        "IncidentView",
        "ResolveRequest",
        "RegionSummaryView",
    ] {
        assert!(
            doc["components"]["schemas"].get(schema).is_some(),
            "missing {schema}"
        );
    }
}
