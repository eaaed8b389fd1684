//! The operator's console through real HTTP: routing rules that decide where citizens'
//! submissions go, organisations, the form builder with a multi-select field, deadline
//! policies and calendars that recompute open deadlines, the change log, and the refusal
//! of everyone but the operator. Pages are used as a browser without JavaScript uses
//! them (cookies, CSRF tokens, redirects checked, multipart uploads); the API with
//! bearer tokens.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use otklik_domain::calendar::{add_working_days, ProductionCalendar, WorkingCalendar};
use otklik_domain::RegionId;
use reqwest::multipart::{Form, Part};
use reqwest::{Client, Response};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime, UtcOffset};

use crate::support::{
    csrf_in, spawn_app, spawn_app_on, Api, Backend, TestApp, CITIZEN, DEMO_PASSWORD, OPERATOR,
};

/// Photo required; routed in Тверская область by a region rule to the transport ministry.
const POTHOLES: &str = "Ямы и выбоины на дороге";
/// No photo; its form asks for an address and a fault (both required).
const TRAFFIC_LIGHT: &str = "Неработающий светофор";
const TRANSPORT: &str = "Министерство транспорта Тверской области";
const TEXT: &str = "Большая яма на проезжей части напротив дома 5, машины объезжают её.";
const OPERATOR_NAME: &str = "Елена Соколова";
const OFFICIAL: &str = "adm.tver@demo.otklik.local";
const COORDINATOR: &str = "coordinator.tver@demo.otklik.local";
const ANALYST: &str = "analyst@demo.otklik.local";

// --- helpers -------------------------------------------------------------------------------

/// A browser without JavaScript: keeps cookies, does not follow redirects.
struct Web<'a> {
    app: &'a TestApp,
    client: Client,
}

impl<'a> Web<'a> {
    async fn signed_in(app: &'a TestApp, email: &str) -> Self {
        let web = Self {
            app,
            client: app.browser(),
        };
        let r = crate::support::page_login(app, &web.client, email, DEMO_PASSWORD).await;
        assert_eq!(r.status(), 303, "login of {email}");
        web
    }

    fn anonymous(app: &'a TestApp) -> Self {
        Self {
            app,
            client: app.browser(),
        }
    }

    async fn get(&self, path: &str) -> Response {
        self.client.get(self.app.url(path)).send().await.unwrap()
    }

    async fn page(&self, path: &str) -> (u16, String) {
        let r = self.get(path).await;
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// The CSRF token this browser's forms carry.
    async fn csrf(&self) -> String {
        let (status, html) = self.page("/login").await;
        assert_eq!(status, 200);
        csrf_in(&html)
    }

    /// Posts a form with this browser's CSRF token.
    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Response {
        let csrf = self.csrf().await;
        let mut pairs = vec![("csrf", csrf.as_str())];
        pairs.extend_from_slice(form);
        self.client
            .post(self.app.url(path))
            .form(&pairs)
            .send()
            .await
            .unwrap()
    }

    async fn post_pairs(&self, path: &str, pairs: &[(String, String)]) -> Response {
        let csrf = self.csrf().await;
        let mut all = vec![("csrf".to_owned(), csrf)];
        all.extend_from_slice(pairs);
        self.client
            .post(self.app.url(path))
            .form(&all)
            .send()
            .await
            .unwrap()
    }

    async fn post_multipart(&self, path: &str, form: Form) -> Response {
        let form = form.text("csrf", self.csrf().await);
        self.client
            .post(self.app.url(path))
            .multipart(form)
            .send()
            .await
            .unwrap()
    }
}

fn location(r: &Response) -> String {
    r.headers()
        .get("location")
        .map_or(String::new(), |v| v.to_str().unwrap().to_owned())
}

/// The body of a 2xx response with this status.
fn expect(status: u16, (got, body): (u16, Value)) -> Value {
    assert_eq!(got, status, "{body}");
    body
}

fn field_code<'a>(problem: &'a Value, field: &str) -> Option<&'a str> {
    problem["errors"]
        .as_array()?
        .iter()
        .find(|e| e["field"] == field)
        .and_then(|e| e["code"].as_str())
}

async fn put(api: &Api, path: &str, body: Value) -> (u16, Value) {
    let r = api
        .client
        .put(format!("{}{path}", api.base))
        .bearer_auth(&api.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn delete(api: &Api, path: &str) -> (u16, Value) {
    let r = api
        .client
        .delete(format!("{}{path}", api.base))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The operator's API client and the ids of the reference data tests use.
struct Setup {
    operator: Api,
    citizen: Api,
    tver: i64,
    catalogue: Value,
    orgs: Value,
}

impl Setup {
    async fn new(app: &TestApp) -> Self {
        let operator = app.api(&app.token(OPERATOR).await);
        let citizen = app.api(&app.token(CITIZEN).await);
        let tver = region_id(&citizen, "RU-TVE").await;
        let catalogue = expect(200, operator.get("/api/v1/console/categories").await);
        let orgs = expect(200, operator.get("/api/v1/console/organisations").await);
        Self {
            operator,
            citizen,
            tver,
            catalogue,
            orgs,
        }
    }

    fn subcategory(&self, name: &str) -> &Value {
        self.catalogue
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|c| c["subcategories"].as_array().unwrap())
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no subcategory «{name}»"))
    }

    fn sub_id(&self, name: &str) -> i64 {
        self.subcategory(name)["id"].as_i64().unwrap()
    }

    fn org_id(&self, name: &str) -> i64 {
        self.orgs
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["name"] == name)
            .unwrap_or_else(|| panic!("no organisation «{name}»"))["id"]
            .as_i64()
            .unwrap()
    }

    /// A valid pothole message in a region (and municipality), as the citizen.
    async fn submit_pothole(&self, region: i64, municipality: Option<i64>) -> (u16, Value) {
        let body = json!({
            "kind": "message",
            "subcategory_id": self.sub_id(POTHOLES),
            "region_id": region,
            "municipality_id": municipality,
            "text": TEXT,
            "fields": { "road_part": "Проезжая часть", "address": "г. Тверь, ул. Советская, 5" },
            "attachments": [crate::api::upload("yama.png", crate::support::PNG_1X1)],
        });
        self.citizen.post("/api/v1/submissions", body).await
    }

    async fn changes(&self) -> Vec<Value> {
        let list = expect(
            200,
            self.operator.get("/api/v1/console/changes?limit=200").await,
        );
        list.as_array().unwrap().clone()
    }
}

async fn region_id(api: &Api, code: &str) -> i64 {
    let regions = expect(200, api.get("/api/v1/regions").await);
    regions
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == code)
        .unwrap_or_else(|| panic!("no region {code}"))["id"]
        .as_i64()
        .unwrap()
}

/// The id of a demo municipality (reference data, read from the store).
async fn municipality(app: &TestApp, region: i64, name: &str) -> i64 {
    app.store
        .municipalities(RegionId(region))
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("no municipality {name}"))
        .id
        .0
}

fn at(value: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(value.as_str().unwrap(), &Rfc3339).unwrap()
}

/// The local date of a deadline in Moscow time (the demo organisations' zone).
fn moscow_date(deadline: OffsetDateTime) -> Date {
    deadline
        .to_offset(UtcOffset::from_hms(3, 0, 0).unwrap())
        .date()
}

/// The number in «Пересчитано сроков открытых обращений: N из M.».
fn recomputed(html: &str) -> (u64, u64) {
    let marker = "Пересчитано сроков открытых обращений: ";
    let start = html.find(marker).expect("a recompute report") + marker.len();
    let rest = &html[start..];
    let (changed, rest) = rest.split_once(" из ").unwrap();
    let checked: String = rest.chars().take_while(char::is_ascii_digit).collect();
    (changed.parse().unwrap(), checked.parse().unwrap())
}

// --- routing ---------------------------------------------------------------------------------

/// The operator connects a city administration and gives it the potholes of its
/// municipality: a citizen's report naming that municipality goes there, one without a
/// municipality (or naming another) keeps the region rule.
async fn municipality_rule_scenario(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let setup = Setup::new(&app).await;
    let web = Web::signed_in(&app, OPERATOR).await;
    let rzhev = municipality(&app, setup.tver, "Город Ржев").await;
    let tver_city = municipality(&app, setup.tver, "Город Тверь").await;
    let tver = setup.tver.to_string();

    // A new organisation through the console page; the time zone comes from the region.
    let r = web
        .post(
            "/console/organisations",
            &[
                ("name", "Администрация города Ржева"),
                ("kind", "local_government"),
                ("region_id", &tver),
                ("municipality_id", &rzhev.to_string()),
                ("parent_id", ""),
                ("utc_offset_minutes", ""),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/console/organisations?done=created");
    let orgs = expect(
        200,
        setup.operator.get("/api/v1/console/organisations").await,
    );
    let rzhev_admin = orgs
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "Администрация города Ржева")
        .expect("the new organisation")
        .clone();
    assert_eq!(rzhev_admin["utc_offset_minutes"], 180);
    assert_eq!(rzhev_admin["municipality_id"], rzhev);
    let (_, html) = web.page("/console/organisations").await;
    assert!(html.contains("Администрация города Ржева"));
    assert!(html.contains("Орган местного самоуправления"));

    // The municipality-level rule through the console page.
    let sub = setup.sub_id(POTHOLES).to_string();
    let org = rzhev_admin["id"].to_string();
    let rule = [
        ("subcategory_id", sub.as_str()),
        ("scope", "municipality"),
        ("region_id", tver.as_str()),
        ("municipality_id", ""),
        ("organisation_id", org.as_str()),
        ("action", "save"),
    ];
    // Without the municipality it is refused, and what was typed is kept.
    let r = web.post("/console/routes", &rule).await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("error-summary"));
    assert!(html.contains(r##"href="#f-municipality-id""##), "{html}");
    assert!(html.contains(r#"value="municipality" checked"#));
    let rzhev_text = rzhev.to_string();
    let mut rule = rule;
    rule[3] = ("municipality_id", rzhev_text.as_str());
    let r = web.post("/console/routes", &rule).await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        location(&r),
        format!("/console/routes?done=saved&subcategory={sub}")
    );
    let (status, html) = web.page(&location(&r)).await;
    assert_eq!(status, 200);
    assert!(html.contains("Тверская область, Город Ржев"), "{html}");
    assert!(html.contains("Администрация города Ржева"));

    // The check form tells where a submission would go, and by which rule.
    let (status, html) = web
        .page(&format!(
            "/console/routes/check?subcategory_id={sub}&region_id={tver}&municipality_id={rzhev}&action=check"
        ))
        .await;
    assert_eq!(status, 200);
    assert!(html.contains("<strong>Администрация города Ржева</strong>"));
    assert!(html.contains("по правилу муниципального образования"));
    let decision = expect(
        200,
        setup
            .operator
            .get(&format!(
                "/api/v1/console/routes/decision?subcategory_id={sub}&region_id={tver}"
            ))
            .await,
    );
    assert_eq!(decision["organisation_name"], TRANSPORT);
    assert_eq!(decision["matched"], "region");

    // Citizens' submissions follow the rules.
    let in_rzhev = expect(201, setup.submit_pothole(setup.tver, Some(rzhev)).await);
    assert_eq!(in_rzhev["organisation"], "Администрация города Ржева");
    let in_region = expect(201, setup.submit_pothole(setup.tver, None).await);
    assert_eq!(in_region["organisation"], TRANSPORT);
    let in_tver = expect(201, setup.submit_pothole(setup.tver, Some(tver_city)).await);
    assert_eq!(in_tver["organisation"], TRANSPORT);

    // Deleting the rule (after the confirmation page) restores the region rule.
    let rules = expect(
        200,
        setup
            .operator
            .get(&format!("/api/v1/console/routes?subcategory_id={sub}"))
            .await,
    );
    let rule_id = rules
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["scope"] == "municipality")
        .unwrap()["id"]
        .clone();
    let (status, html) = web.page(&format!("/console/routes/{rule_id}/delete")).await;
    assert_eq!(status, 200);
    assert!(html.contains("Удалить правило маршрутизации"));
    let r = web
        .post(&format!("/console/routes/{rule_id}/delete"), &[])
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/console/routes?done=deleted");
    let again = expect(201, setup.submit_pothole(setup.tver, Some(rzhev)).await);
    assert_eq!(again["organisation"], TRANSPORT);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_municipality_rule_routes_its_submissions_and_others_keep_the_region_rule() {
    municipality_rule_scenario(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_municipality_rule_routes_its_submissions_on_postgres() {
    municipality_rule_scenario(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_federal_rule_applies_in_a_region_without_rules_on_postgres() {
    let app = spawn_app_on(Backend::Postgres).await;
    let setup = Setup::new(&app).await;
    let tatarstan = region_id(&setup.citizen, "RU-TA").await;
    let sub = setup.sub_id(POTHOLES);
    // Nobody answers for potholes in Tatarstan yet: no rule and no coordinator.
    let refused = expect(422, setup.submit_pothole(tatarstan, None).await);
    assert_eq!(refused["code"], "no_route");

    let agency = expect(
        201,
        setup
            .operator
            .post(
                "/api/v1/console/organisations",
                json!({ "name": "Федеральное дорожное агентство", "kind": "federal_body" }),
            )
            .await,
    );
    assert_eq!(agency["region_id"], Value::Null);
    assert_eq!(agency["utc_offset_minutes"], 180);
    // A federal rule needs no region; a bad scope is a field error.
    let bad = expect(
        422,
        setup
            .operator
            .post(
                "/api/v1/console/routes",
                json!({ "subcategory_id": sub, "scope": "planet", "organisation_id": agency["id"] }),
            )
            .await,
    );
    assert_eq!(field_code(&bad, "scope"), Some("unknown_value"), "{bad}");
    let rule = expect(
        201,
        setup
            .operator
            .post(
                "/api/v1/console/routes",
                json!({ "subcategory_id": sub, "scope": "federal", "organisation_id": agency["id"] }),
            )
            .await,
    );
    assert_eq!(rule["scope"], "federal");
    assert_eq!(rule["region_id"], Value::Null);

    let routed = expect(201, setup.submit_pothole(tatarstan, None).await);
    assert_eq!(routed["organisation"], "Федеральное дорожное агентство");
    // Where a region has its own rule, that rule still wins.
    let in_tver = expect(201, setup.submit_pothole(setup.tver, None).await);
    assert_eq!(in_tver["organisation"], TRANSPORT);
    let decision = expect(
        200,
        setup
            .operator
            .get(&format!(
                "/api/v1/console/routes/decision?subcategory_id={sub}&region_id={tatarstan}"
            ))
            .await,
    );
    assert_eq!(decision["matched"], "federal");
    assert_eq!(decision["rule_id"], rule["id"]);
    // Replacing the rule of the same scope answers 200 and keeps one rule.
    let replaced = setup
        .operator
        .post(
            "/api/v1/console/routes",
            json!({ "subcategory_id": sub, "scope": "federal", "organisation_id": setup.org_id(TRANSPORT) }),
        )
        .await;
    assert_eq!(expect(200, replaced)["id"], rule["id"]);
    app.stop().await;
}

// --- the change log --------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_console_change_is_recorded_with_the_operators_name() {
    let app = spawn_app().await;
    let setup = Setup::new(&app).await;
    let web = Web::signed_in(&app, OPERATOR).await;
    let before = setup.changes().await.len();

    // A category through the page, a subcategory, a route, a policy and a calendar day
    // through the API, an organisation's edit through the page.
    let r = web
        .post("/console/categories", &[("name", "Благоустройство дворов")])
        .await;
    assert_eq!(r.status(), 303);
    let catalogue = expect(200, setup.operator.get("/api/v1/console/categories").await);
    let category = catalogue
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Благоустройство дворов")
        .unwrap()["id"]
        .clone();
    let sub = expect(
        201,
        setup
            .operator
            .post(
                "/api/v1/console/subcategories",
                json!({ "category_id": category, "name": "Детская площадка",
                        "form": { "photo_required": true, "fields": [
                            { "key": "address", "label": "Адрес", "kind": "address", "required": true }
                        ] } }),
            )
            .await,
    );
    let route = expect(
        201,
        setup
            .operator
            .post(
                "/api/v1/console/routes",
                json!({ "subcategory_id": sub["id"], "scope": "region",
                        "region_id": setup.tver, "organisation_id": setup.org_id(TRANSPORT) }),
            )
            .await,
    );
    expect(
        200,
        put(
            &setup.operator,
            "/api/v1/console/policies",
            json!({ "kind": "appeal", "subcategory_id": sub["id"], "unit": "calendar_days",
                    "registration": 3, "redirect": 7, "answer": 20, "extension": 10 }),
        )
        .await,
    );
    expect(
        200,
        setup
            .operator
            .post(
                "/api/v1/console/calendars/RU-TVE/days",
                json!({ "date": "2027-08-30", "kind": "holiday" }),
            )
            .await,
    );
    let org = setup.org_id(TRANSPORT);
    let tver = setup.tver.to_string();
    let r = web
        .post(
            &format!("/console/organisations/{org}"),
            &[
                ("name", "Министерство транспорта и дорог Тверской области"),
                ("kind", "regional_body"),
                ("region_id", &tver),
                ("utc_offset_minutes", "180"),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    expect(
        204,
        delete(
            &setup.operator,
            &format!("/api/v1/console/routes/{}", route["id"]),
        )
        .await,
    );

    let changes = setup.changes().await;
    assert_eq!(changes.len(), before + 7, "one record per change");
    let newest: Vec<(&str, &str)> = changes[..7]
        .iter()
        .map(|c| {
            (
                c["entity"].as_str().unwrap(),
                c["actor_name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        newest,
        vec![
            ("route", OPERATOR_NAME),
            ("organisation", OPERATOR_NAME),
            ("calendar", OPERATOR_NAME),
            ("deadline_policy", OPERATOR_NAME),
            ("route", OPERATOR_NAME),
            ("subcategory", OPERATOR_NAME),
            ("category", OPERATOR_NAME),
        ]
    );
    // The organisation's record holds the name before and after.
    assert!(changes[1]["before"]
        .as_str()
        .unwrap()
        .contains("Министерство транспорта Тверской области"));
    assert!(changes[1]["after"]
        .as_str()
        .unwrap()
        .contains("Министерство транспорта и дорог"));
    assert_eq!(changes[0]["after"], Value::Null, "a deletion has no after");

    let (status, html) = web.page("/console/changes").await;
    assert_eq!(status, 200);
    assert!(html.contains("<caption"));
    assert!(html.matches(OPERATOR_NAME).count() >= 7, "{html}");
    for label in [
        "Правило маршрутизации",
        "Организация",
        "Категория",
        "Подкатегория и форма",
        "Политика сроков",
        "Производственный календарь, регион RU-TVE",
        "Обращения (59-ФЗ), тема №",
        "Министерство транспорта и дорог Тверской области",
    ] {
        assert!(html.contains(label), "the log shows «{label}»");
    }
    app.stop().await;
}

// --- who may use the console -----------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_operator_may_use_the_console() {
    let app = spawn_app().await;
    let setup = Setup::new(&app).await;
    let sub = setup.sub_id(POTHOLES);
    let org = setup.org_id(TRANSPORT);
    let category = setup.catalogue[0]["id"].as_i64().unwrap();
    let pages = [
        "/console".to_owned(),
        "/console/routes".to_owned(),
        "/console/routes/check".to_owned(),
        "/console/routes/999999/delete".to_owned(),
        "/console/organisations".to_owned(),
        "/console/organisations/new".to_owned(),
        format!("/console/organisations/{org}"),
        "/console/catalogue".to_owned(),
        format!("/console/categories/{category}"),
        "/console/subcategories/new".to_owned(),
        format!("/console/subcategories/{sub}"),
        "/console/policies".to_owned(),
        "/console/calendars".to_owned(),
        "/console/calendars/federal".to_owned(),
        "/console/calendars/RU-TVE".to_owned(),
        "/console/changes".to_owned(),
    ];
    let posts = [
        "/console/routes".to_owned(),
        "/console/routes/999999/delete".to_owned(),
        "/console/organisations".to_owned(),
        format!("/console/organisations/{org}"),
        "/console/categories".to_owned(),
        format!("/console/categories/{category}"),
        "/console/subcategories".to_owned(),
        format!("/console/subcategories/{sub}"),
        "/console/policies".to_owned(),
        "/console/calendars/RU-TVE/days".to_owned(),
        "/console/calendars/RU-TVE/days/2026-01-01/delete".to_owned(),
    ];
    let api_calls: Vec<(&str, String)> = vec![
        ("GET", "/api/v1/console/routes".to_owned()),
        ("POST", "/api/v1/console/routes".to_owned()),
        (
            "GET",
            format!("/api/v1/console/routes/decision?subcategory_id={sub}"),
        ),
        ("DELETE", "/api/v1/console/routes/999999".to_owned()),
        ("GET", "/api/v1/console/organisations".to_owned()),
        ("POST", "/api/v1/console/organisations".to_owned()),
        ("GET", format!("/api/v1/console/organisations/{org}")),
        ("PUT", format!("/api/v1/console/organisations/{org}")),
        ("GET", "/api/v1/console/categories".to_owned()),
        ("POST", "/api/v1/console/categories".to_owned()),
        ("PUT", format!("/api/v1/console/categories/{category}")),
        ("POST", "/api/v1/console/subcategories".to_owned()),
        ("GET", format!("/api/v1/console/subcategories/{sub}")),
        ("PUT", format!("/api/v1/console/subcategories/{sub}")),
        ("GET", "/api/v1/console/policies".to_owned()),
        ("PUT", "/api/v1/console/policies".to_owned()),
        ("GET", "/api/v1/console/calendars/federal".to_owned()),
        ("POST", "/api/v1/console/calendars/RU-TVE/days".to_owned()),
        (
            "DELETE",
            "/api/v1/console/calendars/RU-TVE/days/2026-01-01".to_owned(),
        ),
        ("POST", "/api/v1/console/calendars/RU-TVE/import".to_owned()),
        ("GET", "/api/v1/console/changes".to_owned()),
    ];
    let changes_before = setup.changes().await.len();

    for email in [OFFICIAL, COORDINATOR, ANALYST, CITIZEN] {
        let web = Web::signed_in(&app, email).await;
        for path in &pages {
            let (status, html) = web.page(path).await;
            assert_eq!(status, 403, "{email} GET {path}");
            assert!(html.contains("Доступ запрещён"), "{email} GET {path}");
        }
        for path in &posts {
            // A valid token and a plausible form: the role alone refuses it.
            let r = web
                .post(
                    path,
                    &[
                        ("name", "Взлом"),
                        ("date", "2026-12-31"),
                        ("kind", "holiday"),
                    ],
                )
                .await;
            assert_eq!(r.status(), 403, "{email} POST {path}");
        }
        let upload = Form::new().part(
            "calendar",
            Part::bytes(b"2026-12-31 holiday\n".to_vec()).file_name("c.txt"),
        );
        let r = web
            .post_multipart("/console/calendars/RU-TVE/upload", upload)
            .await;
        assert_eq!(r.status(), 403, "{email} upload");

        let api = app.api(&app.token(email).await);
        for (method, path) in &api_calls {
            let request = match *method {
                "GET" => api.client.get(format!("{}{path}", api.base)),
                "POST" => api.client.post(format!("{}{path}", api.base)),
                "PUT" => api.client.put(format!("{}{path}", api.base)),
                _ => api.client.delete(format!("{}{path}", api.base)),
            };
            let r = request
                .bearer_auth(&api.token)
                .json(&json!({ "name": "Взлом", "text": "2026-12-31 holiday" }))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 403, "{email} {method} {path}");
            let problem: Value = r.json().await.unwrap();
            assert_eq!(problem["code"], "forbidden", "{email} {method} {path}");
        }
    }

    // Signed out: the pages send to the login page, the API asks for a token.
    let anonymous = Web::anonymous(&app);
    for path in &pages {
        let r = anonymous.get(path).await;
        assert_eq!(r.status(), 303, "anonymous GET {path}");
        assert_eq!(location(&r), "/login");
    }
    let r = reqwest::get(app.url("/api/v1/console/routes"))
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // The operator opens every page, and nothing was changed by the others.
    let web = Web::signed_in(&app, OPERATOR).await;
    for path in &pages {
        let expected = if path.ends_with("/999999/delete") {
            404
        } else {
            200
        };
        let (status, _) = web.page(path).await;
        assert_eq!(status, expected, "operator GET {path}");
    }
    assert_eq!(setup.changes().await.len(), changes_before);
    app.stop().await;
}

// --- the form builder ------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multi_select_field_added_in_the_builder_is_filled_stored_and_checked() {
    let app = spawn_app().await;
    let setup = Setup::new(&app).await;
    let web = Web::signed_in(&app, OPERATOR).await;
    let sub = setup.subcategory(TRAFFIC_LIGHT).clone();
    let id = sub["id"].as_i64().unwrap();
    let path = format!("/console/subcategories/{id}");

    // The builder shows the stored fields and one spare block.
    let (status, html) = web.page(&path).await;
    assert_eq!(status, 200);
    let stored = sub["form"]["fields"].as_array().unwrap().clone();
    let n = stored.len();
    assert!(html.contains(&format!(r#"name="rows" value="{}""#, n + 1)));
    assert!(html.contains("<legend>Новое поле</legend>"));

    // The builder's form as a browser sends it: the stored blocks, then the new one.
    let mut pairs: Vec<(String, String)> = vec![
        ("name".into(), TRAFFIC_LIGHT.into()),
        ("category_id".into(), sub["category_id"].to_string()),
        ("rows".into(), (n + 1).to_string()),
    ];
    for (i, f) in stored.iter().enumerate() {
        let mut put = |part: &str, value: String| pairs.push((format!("fields.{i}.{part}"), value));
        put("key", f["key"].as_str().unwrap().to_owned());
        put("label", f["label"].as_str().unwrap().to_owned());
        put("kind", f["kind"].as_str().unwrap().to_owned());
        put("hint", f["hint"].as_str().unwrap_or("").to_owned());
        let options: Vec<&str> = f["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o.as_str().unwrap())
            .collect();
        put("options", options.join("\r\n"));
        if f["required"] == true {
            put("required", "1".to_owned());
        }
    }
    let new = |key: &str| {
        vec![
            (format!("fields.{n}.key"), key.to_owned()),
            (
                format!("fields.{n}.label"),
                "Какие сигналы не работают".to_owned(),
            ),
            (format!("fields.{n}.kind"), "multi_select".to_owned()),
            (
                format!("fields.{n}.options"),
                "Красный\r\nЖёлтый\r\nЗелёный\r\n".to_owned(),
            ),
            (format!("fields.{n}.required"), "1".to_owned()),
        ]
    };
    let with = |key: &str, action: &str| {
        let mut all = pairs.clone();
        all.extend(new(key));
        all.push(("action".to_owned(), action.to_owned()));
        all
    };

    // «Добавить поле»: one more empty block, everything typed kept, nothing saved.
    let r = web.post_pairs(&path, &with("signals", "add_row")).await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains(&format!(r#"name="rows" value="{}""#, n + 2)));
    assert!(html.contains(r#"value="Какие сигналы не работают""#));
    assert!(html.contains("Красный\r\nЖёлтый") || html.contains("Красный\nЖёлтый"));
    let unchanged = expect(
        200,
        setup
            .operator
            .get(&format!("/api/v1/console/subcategories/{id}"))
            .await,
    );
    assert_eq!(unchanged["form"]["fields"].as_array().unwrap().len(), n);

    // A key taken by another field: refused at that block, with a summary link.
    let taken = stored[0]["key"].as_str().unwrap().to_owned();
    let r = web.post_pairs(&path, &with(&taken, "save")).await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("error-summary"));
    assert!(
        html.contains(&format!(r##"href="#f-fields-{n}-key""##)),
        "{html}"
    );
    assert!(html.contains("Такой ключ уже есть у другого поля этой формы."));
    assert!(html.contains(r#"aria-invalid="true""#));
    assert!(html.contains(r#"value="Какие сигналы не работают""#));

    // «Сохранить».
    let r = web.post_pairs(&path, &with("signals", "save")).await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), format!("{path}?done=saved"));
    let saved = expect(
        200,
        setup
            .operator
            .get(&format!("/api/v1/console/subcategories/{id}"))
            .await,
    );
    let field = &saved["form"]["fields"][n];
    assert_eq!(field["kind"], "multi_select");
    assert_eq!(field["options"], json!(["Красный", "Жёлтый", "Зелёный"]));
    assert_eq!(saved["form"]["fields"].as_array().unwrap().len(), n + 1);

    // The citizen's form has a group of checkboxes; two chosen are stored and shown.
    let citizen = Web::signed_in(&app, CITIZEN).await;
    let (status, html) = citizen.page(&format!("/submit/{id}")).await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"<legend>Какие сигналы не работают"#));
    assert!(html.contains(
        r#"type="checkbox" id="f-fields-signals-1" name="fields.signals" value="Красный""#
    ));
    let form = Form::new()
        .text("kind", "message")
        .text("region", setup.tver.to_string())
        .text(
            "text",
            "Светофор на перекрёстке не горит уже третий день подряд.",
        )
        .text("fields.address", "г. Тверь, ул. Советская и ул. Горького")
        .text(
            "fields.fault",
            stored[1]["options"][0].as_str().unwrap().to_owned(),
        )
        .text("fields.signals", "Зелёный")
        .text("fields.signals", "Красный");
    let r = citizen.post_multipart(&format!("/submit/{id}"), form).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
    let target = location(&r);
    let (status, html) = citizen.page(&target).await;
    assert_eq!(status, 200);
    assert!(html.contains("<dt>Какие сигналы не работают</dt><dd>Красный; Зелёный</dd>"));
    let submission_id: i64 = target
        .trim_start_matches("/submissions/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let view = expect(
        200,
        setup
            .citizen
            .get(&format!("/api/v1/submissions/{submission_id}"))
            .await,
    );
    assert_eq!(view["fields"]["signals"], "Красный; Зелёный");

    // An option the field does not have is refused with the field's error.
    let body = json!({
        "kind": "message", "subcategory_id": id, "region_id": setup.tver,
        "text": "Светофор на перекрёстке не горит уже третий день подряд.",
        "fields": { "address": "г. Тверь", "fault": stored[1]["options"][0],
                    "signals": "Красный; Синий" },
    });
    let problem = expect(422, setup.citizen.post("/api/v1/submissions", body).await);
    assert_eq!(
        field_code(&problem, "fields.signals"),
        Some("not_an_option"),
        "{problem}"
    );
    // Through the page the error is shown at the group, the choices kept.
    let form = Form::new()
        .text("kind", "message")
        .text("region", setup.tver.to_string())
        .text(
            "text",
            "Светофор на перекрёстке не горит уже третий день подряд.",
        )
        .text("fields.address", "г. Тверь")
        .text(
            "fields.fault",
            stored[1]["options"][0].as_str().unwrap().to_owned(),
        )
        .text("fields.signals", "Красный")
        .text("fields.signals", "Синий");
    let r = citizen.post_multipart(&format!("/submit/{id}"), form).await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains(r##"href="#f-fields-signals""##));
    assert!(html.contains(r#"value="Красный" checked"#));

    // The API's builder names the field in its errors.
    let problem = expect(
        422,
        put(
            &setup.operator,
            &format!("/api/v1/console/subcategories/{id}"),
            json!({ "category_id": sub["category_id"], "name": TRAFFIC_LIGHT,
                    "form": { "fields": [
                        { "key": "Bad Key", "label": "Поле", "kind": "text" },
                        { "key": "tags", "label": "Теги", "kind": "multi_select", "options": [] },
                        { "key": "x", "label": "Икс", "kind": "photo" }
                    ] } }),
        )
        .await,
    );
    assert_eq!(
        field_code(&problem, "form.fields.0.key"),
        Some("invalid_key")
    );
    assert_eq!(
        field_code(&problem, "form.fields.1.options"),
        Some("options_required")
    );
    assert_eq!(
        field_code(&problem, "form.fields.2.kind"),
        Some("unknown_value")
    );
    app.stop().await;
}

// --- deadlines -------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shorter_message_term_recomputes_open_deadlines() {
    let app = spawn_app().await;
    let setup = Setup::new(&app).await;
    let web = Web::signed_in(&app, OPERATOR).await;
    let created = expect(201, setup.submit_pothole(setup.tver, None).await);
    let before = at(&created["deadline_at"]);

    // Out of range: refused at the field, nothing recomputed.
    let r = web
        .post(
            "/console/policies",
            &[
                ("kind", "message"),
                ("subcategory_id", ""),
                ("unit", "working_days"),
                ("moderation", "1"),
                ("answer", "400"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains(r##"href="#f-answer""##));
    assert!(html.contains(r#"value="400""#));

    let r = web
        .post(
            "/console/policies",
            &[
                ("kind", "message"),
                ("subcategory_id", ""),
                ("unit", "working_days"),
                ("moderation", "1"),
                ("answer", "5"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (status, html) = web.page(&location(&r)).await;
    assert_eq!(status, 200);
    let (changed, checked) = recomputed(&html);
    assert!(changed > 0 && changed <= checked, "{changed} of {checked}");

    let view = expect(
        200,
        setup
            .citizen
            .get(&format!("/api/v1/submissions/{}", created["id"]))
            .await,
    );
    let after = at(&view["deadline_at"]);
    assert!(after < before);
    let calendar = ProductionCalendar::russia();
    assert_eq!(
        add_working_days(&calendar, moscow_date(after), 5),
        moscow_date(before),
        "ten working days became five"
    );
    let policies = expect(200, setup.operator.get("/api/v1/console/policies").await);
    let message = policies
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["kind"] == "message" && p["subcategory_id"].is_null())
        .unwrap();
    assert_eq!(message["answer"], 5);
    assert_eq!(message["stored"], true);
    // The API refuses an extension over the legal limit with the domain's code.
    let problem = expect(
        422,
        put(
            &setup.operator,
            "/api/v1/console/policies",
            json!({ "kind": "appeal", "unit": "calendar_days", "answer": 30, "extension": 45 }),
        )
        .await,
    );
    assert_eq!(
        field_code(&problem, "extension"),
        Some("extension_too_long")
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_calendar_file_with_a_bad_line_is_refused_with_its_number_and_changes_nothing() {
    let app = spawn_app().await;
    let setup = Setup::new(&app).await;
    let web = Web::signed_in(&app, OPERATOR).await;
    let changes_before = setup.changes().await.len();
    let file = |text: &str| {
        Form::new().part(
            "calendar",
            Part::bytes(text.as_bytes().to_vec())
                .file_name("tver.txt")
                .mime_str("text/plain")
                .unwrap(),
        )
    };
    let bad = "# Тверская область\n2027-08-30 holiday\n2027-13-01 holiday\n";
    let r = web
        .post_multipart("/console/calendars/RU-TVE/upload", file(bad))
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("строка 3: Неверная дата"), "{html}");
    assert!(html.contains("2027-13-01"));
    assert!(html.contains(r##"href="#f-calendar""##));
    assert!(html.contains(r#"aria-invalid="true""#));
    let days = expect(
        200,
        setup.operator.get("/api/v1/console/calendars/RU-TVE").await,
    );
    assert_eq!(days["days"], json!([]), "nothing was stored");
    assert_eq!(setup.changes().await.len(), changes_before);

    // The same through the API: the line in `detail`, the code at `text`.
    let problem = expect(
        422,
        setup
            .operator
            .post(
                "/api/v1/console/calendars/RU-TVE/import",
                json!({ "text": bad }),
            )
            .await,
    );
    assert_eq!(field_code(&problem, "text"), Some("bad_date"));
    assert!(problem["detail"].as_str().unwrap().starts_with("line 3:"));
    // A federal year must keep the Labour Code's holidays.
    let problem = expect(
        422,
        setup
            .operator
            .post(
                "/api/v1/console/calendars/federal/import",
                json!({ "text": "2028-01-01 holiday\n" }),
            )
            .await,
    );
    assert_eq!(
        field_code(&problem, "text"),
        Some("missing_federal_holidays")
    );
    assert_eq!(setup.changes().await.len(), changes_before);

    // A good file is stored whole.
    let r = web
        .post_multipart(
            "/console/calendars/RU-TVE/upload",
            file("2027-08-30 holiday # День города\n2027-08-31 short\n"),
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, html) = web.page(&location(&r)).await;
    assert!(html.contains("Календарь загружен, дней: 2."));
    assert!(html.contains("Пересчитано сроков открытых обращений:"));
    let days = expect(
        200,
        setup.operator.get("/api/v1/console/calendars/RU-TVE").await,
    );
    assert_eq!(
        days["days"],
        json!([{ "date": "2027-08-30", "kind": "holiday" }, { "date": "2027-08-31", "kind": "short" }])
    );

    // One day added to the federal layer brings its whole year along (a federal year
    // replaces the shipped one), so the year's holidays stay holidays.
    expect(
        200,
        setup
            .operator
            .post(
                "/api/v1/console/calendars/federal/days",
                json!({ "date": "2027-12-30", "kind": "day-off" }),
            )
            .await,
    );
    let federal = expect(
        200,
        setup
            .operator
            .get("/api/v1/console/calendars/federal")
            .await,
    );
    let days = federal["days"].as_array().unwrap();
    assert!(days.contains(&json!({ "date": "2027-01-01", "kind": "holiday" })));
    assert!(days.contains(&json!({ "date": "2027-05-09", "kind": "holiday" })));
    assert!(days.contains(&json!({ "date": "2027-12-30", "kind": "day-off" })));
    // A working day must be a weekend day: refused at the kind, like a file's line.
    let problem = expect(
        422,
        setup
            .operator
            .post(
                "/api/v1/console/calendars/federal/days",
                json!({ "date": "2027-12-29", "kind": "working" }),
            )
            .await,
    );
    assert_eq!(field_code(&problem, "kind"), Some("working_on_weekday"));
    app.stop().await;
}

/// Registers a pothole report in a region and returns (its id, its deadline).
async fn open_submission(setup: &Setup, region: i64) -> (Value, OffsetDateTime) {
    let created = expect(201, setup.submit_pothole(region, None).await);
    let deadline = at(&created["deadline_at"]);
    (created["id"].clone(), deadline)
}

async fn deadline_of(setup: &Setup, id: &Value) -> OffsetDateTime {
    let view = expect(
        200,
        setup
            .citizen
            .get(&format!("/api/v1/submissions/{id}"))
            .await,
    );
    at(&view["deadline_at"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_region_holiday_moves_open_deadlines_of_that_region_only_on_postgres() {
    let app = spawn_app_on(Backend::Postgres).await;
    let setup = Setup::new(&app).await;
    let web = Web::signed_in(&app, OPERATOR).await;
    let nsk = region_id(&setup.citizen, "RU-NVS").await;
    let (in_tver, tver_before) = open_submission(&setup, setup.tver).await;
    let (in_nsk, nsk_before) = open_submission(&setup, nsk).await;

    // A working day inside the Tver term (after tomorrow, before the deadline).
    let calendar = ProductionCalendar::russia();
    let today = moscow_date(OffsetDateTime::now_utc());
    let mut holiday = today.next_day().unwrap().next_day().unwrap();
    while !calendar.is_working_day(holiday) {
        holiday = holiday.next_day().unwrap();
    }
    assert!(holiday < moscow_date(tver_before));
    let date = holiday.to_string();

    // A bad kind for the day is refused at its field.
    let r = web
        .post(
            "/console/calendars/RU-TVE/days",
            &[("date", date.as_str()), ("kind", "party")],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains(r##"href="#f-kind""##));
    assert!(html.contains(&format!(r#"value="{date}""#)));

    let r = web
        .post(
            "/console/calendars/RU-TVE/days",
            &[("date", date.as_str()), ("kind", "holiday")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (status, html) = web.page(&location(&r)).await;
    assert_eq!(status, 200);
    let (changed, _) = recomputed(&html);
    assert!(changed >= 1);
    assert!(html.contains(&format!(r#"<time datetime="{date}">"#)));

    // The Tver deadline moves to the next working day; Novosibirsk's does not move.
    let tver_after = deadline_of(&setup, &in_tver).await;
    let mut next = moscow_date(tver_before).next_day().unwrap();
    while !calendar.is_working_day(next) {
        next = next.next_day().unwrap();
    }
    assert_eq!(moscow_date(tver_after), next);
    assert_eq!(deadline_of(&setup, &in_nsk).await, nsk_before);

    // Deleting the day moves it back.
    let r = web
        .post(
            &format!("/console/calendars/RU-TVE/days/{date}/delete"),
            &[],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(deadline_of(&setup, &in_tver).await, tver_before);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_describes_the_console_api() {
    let app = spawn_app().await;
    let doc: Value = reqwest::get(app.url("/api/v1/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let operations = [
        ("/api/v1/console/routes", "get"),
        ("/api/v1/console/routes", "post"),
        ("/api/v1/console/routes/{id}", "delete"),
        ("/api/v1/console/routes/decision", "get"),
        ("/api/v1/console/organisations", "get"),
        ("/api/v1/console/organisations", "post"),
        ("/api/v1/console/organisations/{id}", "get"),
        ("/api/v1/console/organisations/{id}", "put"),
        ("/api/v1/console/categories", "get"),
        ("/api/v1/console/categories", "post"),
        ("/api/v1/console/categories/{id}", "put"),
        ("/api/v1/console/subcategories", "post"),
        ("/api/v1/console/subcategories/{id}", "get"),
        ("/api/v1/console/subcategories/{id}", "put"),
        ("/api/v1/console/policies", "get"),
        ("/api/v1/console/policies", "put"),
        ("/api/v1/console/calendars/{layer}", "get"),
        ("/api/v1/console/calendars/{layer}/days", "post"),
        ("/api/v1/console/calendars/{layer}/days/{date}", "delete"),
        ("/api/v1/console/calendars/{layer}/import", "post"),
        ("/api/v1/console/changes", "get"),
    ];
    for (path, method) in operations {
        let operation = &doc["paths"][path][method];
        assert!(operation.is_object(), "missing {method} {path}");
        assert_eq!(operation["tags"][0], "console", "{method} {path}");
        assert!(
            operation["responses"].get("403").is_some(),
            "{method} {path} documents the refusal of non-operators"
        );
    }
    for schema in [
        "RouteRequest",
        "RouteRuleView",
        "RouteDecisionView",
        "ConsoleOrganisationRequest",
        "ConsoleOrganisationView",
        "SubcategoryRequest",
        "FormBody",
        "FormFieldBody",
        "PolicyRequest",
        "RecomputeView",
        "CalendarImportRequest",
        "ConfigChangeView",
    ] {
        assert!(
            doc["components"]["schemas"].get(schema).is_some(),
            "missing {schema}"
        );
    }
    app.stop().await;
}
