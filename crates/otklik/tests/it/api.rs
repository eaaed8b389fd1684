//! The JSON API through real HTTP against the real server: accounts and tokens, the
//! OpenAPI document, the whole life of a submission, refusals that change nothing,
//! illegal transitions, and who may see what. Key scenarios run on both backends.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine;
use otklik_domain::SubmissionId;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::support::{
    spawn_app, spawn_app_on, Api, Backend, TestApp, CITIZEN, DEMO_PASSWORD, OPERATOR,
    OTHER_CITIZEN, PDF_MINI, PNG_1X1,
};

/// Photo required; routed in Тверская область to the regional transport ministry.
pub(crate) const POTHOLES: &str = "Ямы и выбоины на дороге";
/// No photo required; routed in Тверская область to the city administration.
const TRAFFIC_LIGHT: &str = "Неработающий светофор";
const TVER: &str = "Тверская область";
const NSK: &str = "Новосибирская область";
pub(crate) const TRANSPORT: &str = "Министерство транспорта Тверской области";
const CITY: &str = "Администрация города Твери";
const TEXT: &str = "Большая яма на проезжей части напротив дома 5, машины объезжают по встречной.";

// --- helpers -------------------------------------------------------------------------------

/// The server, the demo citizen's API client, and the public reference data.
pub(crate) struct World {
    pub(crate) app: TestApp,
    pub(crate) citizen: Api,
    catalogue: Value,
}

impl World {
    pub(crate) async fn start(backend: Backend) -> Self {
        Self::of(spawn_app_on(backend).await).await
    }

    /// The world around a server started with settings of its own.
    pub(crate) async fn of(app: TestApp) -> Self {
        let citizen = app.api(&app.token(CITIZEN).await);
        let catalogue = ok(citizen.get("/api/v1/catalogue").await);
        Self {
            app,
            citizen,
            catalogue,
        }
    }

    async fn api_of(&self, email: &str) -> Api {
        self.app.api(&self.app.token(email).await)
    }

    /// The demo official of the organisation with this name.
    pub(crate) async fn official(&self, organisation: &str) -> Api {
        let email = self.app.official_of(organisation).email.clone();
        self.api_of(&email).await
    }

    fn subcategory(&self, name: &str) -> &Value {
        self.catalogue
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|c| c["subcategories"].as_array().unwrap())
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no subcategory «{name}» in the catalogue"))
    }

    /// The id of the entry named `name` in a reference list (regions, organisations).
    async fn id_in(&self, path: &str, name: &str) -> i64 {
        ok(self.citizen.get(path).await)
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("no «{name}» in {path}"))["id"]
            .as_i64()
            .unwrap()
    }

    /// A valid submission of the named subcategory in `region`: its required form fields
    /// filled, and a PNG attached where a photo is required.
    pub(crate) async fn body(&self, subcategory: &str, region: &str, kind: &str) -> Value {
        let sub = self.subcategory(subcategory);
        let fields: serde_json::Map<String, Value> = sub["form"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["required"] == true)
            .map(|f| {
                (
                    f["key"].as_str().unwrap().to_owned(),
                    sample_value(f).into(),
                )
            })
            .collect();
        let attachments = if sub["form"]["photo_required"] == true {
            vec![upload("yama.png", PNG_1X1)]
        } else {
            Vec::new()
        };
        json!({
            "kind": kind,
            "subcategory_id": sub["id"],
            "region_id": self.id_in("/api/v1/regions", region).await,
            "text": TEXT,
            "fields": fields,
            "attachments": attachments,
        })
    }

    /// Submits a valid submission as `author`; asserts it was registered.
    pub(crate) fn subcategory_id(&self, name: &str) -> i64 {
        self.subcategory(name)["id"].as_i64().unwrap()
    }

    pub(crate) async fn submit_as(
        &self,
        author: &Api,
        subcategory: &str,
        region: &str,
        kind: &str,
    ) -> Value {
        let body = self.body(subcategory, region, kind).await;
        let (status, created) = author.post("/api/v1/submissions", body).await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(created["status"], "registered");
        assert_eq!(created["kind"], kind);
        created
    }

    pub(crate) async fn submit(&self, subcategory: &str) -> Value {
        self.submit_as(&self.citizen, subcategory, TVER, "message")
            .await
    }
}

pub(crate) fn sample_value(field: &Value) -> String {
    match field["kind"].as_str().unwrap() {
        "number" => "21".to_owned(),
        "date" => "2026-01-15".to_owned(),
        "select" => field["options"][0].as_str().unwrap().to_owned(),
        _ => "г. Тверь, ул. Советская, д. 5".to_owned(),
    }
}

pub(crate) fn upload(name: &str, bytes: &[u8]) -> Value {
    json!({
        "name": name,
        "content_base64": base64::engine::general_purpose::STANDARD.encode(bytes),
    })
}

/// The body of a 200 response.
pub(crate) fn ok((status, body): (u16, Value)) -> Value {
    assert_eq!(status, 200, "{body}");
    body
}

/// Asserts a refusal: its status and its problem `code`.
pub(crate) fn refused((status, body): (u16, Value), want_status: u16, want_code: &str) -> Value {
    assert_eq!(
        (status, body["code"].as_str()),
        (want_status, Some(want_code)),
        "{body}"
    );
    body
}

/// Asserts a 422 naming `field` with `code` among its field errors.
fn invalid(response: (u16, Value), field: &str, code: &str) {
    let body = refused(response, 422, "validation_failed");
    assert_eq!(field_code(&body, field), Some(code), "{body}");
}

fn field_code<'a>(problem: &'a Value, field: &str) -> Option<&'a str> {
    problem["errors"]
        .as_array()?
        .iter()
        .find(|e| e["field"] == field)
        .and_then(|e| e["code"].as_str())
}

pub(crate) fn path(id: &Value, action: &str) -> String {
    match action {
        "" => format!("/api/v1/submissions/{id}"),
        _ => format!("/api/v1/submissions/{id}/{action}"),
    }
}

fn actions(view: &Value) -> Vec<&str> {
    view["available_actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect()
}

fn at(value: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(value.as_str().unwrap(), &Rfc3339).unwrap()
}

/// The ids in the caller's list (its first 200).
async fn listed(api: &Api) -> (u64, Vec<i64>) {
    let list = ok(api.get("/api/v1/submissions?limit=200").await);
    let ids = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    (list["total"].as_u64().unwrap(), ids)
}

/// A request with a raw body, for bodies the JSON helper cannot send.
async fn post_raw(api: &Api, path: &str, body: &'static str) -> (u16, String, Value) {
    let r = api
        .client
        .post(format!("{}{path}", api.base))
        .bearer_auth(&api.token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    problem_parts(r).await
}

/// Status, Content-Type and JSON body of a response.
async fn problem_parts(r: reqwest::Response) -> (u16, String, Value) {
    let status = r.status().as_u16();
    let content_type = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = r.json().await.unwrap_or(Value::Null);
    (status, content_type, body)
}

async fn post_public(app: &TestApp, path: &str, body: Value) -> (u16, String, Value) {
    let r = reqwest::Client::new()
        .post(app.url(path))
        .json(&body)
        .send()
        .await
        .unwrap();
    problem_parts(r).await
}

// --- accounts and tokens -----------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_then_token_then_me_and_revoke() {
    let app = spawn_app().await;
    let account = json!({
        "email": "Novyi.Grazhdanin@example.ru",
        "full_name": "Пётр Новиков",
        "password": "zabor-2026",
    });
    let (status, _, user) = post_public(&app, "/api/v1/auth/register", account.clone()).await;
    assert_eq!(status, 201, "{user}");
    assert_eq!(
        (&user["email"], &user["role"]),
        (&json!("novyi.grazhdanin@example.ru"), &json!("citizen"))
    );

    let login = json!({ "email": "novyi.grazhdanin@example.ru", "password": "zabor-2026" });
    let (status, _, token) = post_public(&app, "/api/v1/auth/token", login).await;
    assert_eq!(status, 201, "{token}");
    let api = app.api(token["token"].as_str().unwrap());
    let me = ok(api.get("/api/v1/me").await);
    assert_eq!(me["id"], user["id"]);
    assert_eq!(me["full_name"], "Пётр Новиков");
    assert_eq!(me["organisation_id"], Value::Null);

    // The same address in other letter case is the same address: a conflict, on the field.
    let (status, content_type, problem) = post_public(&app, "/api/v1/auth/register", account).await;
    assert_eq!(
        (status, content_type.as_str(), problem["code"].as_str()),
        (409, "application/problem+json", Some("email_taken")),
        "{problem}"
    );
    assert_eq!(problem["errors"][0]["field"], "email");
    assert_eq!(problem["errors"][0]["code"], "email_taken");

    let r = api
        .client
        .delete(app.url("/api/v1/auth/token"))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    refused(api.get("/api/v1/me").await, 401, "unauthorized");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_registrations_name_every_field_and_create_nothing() {
    let app = spawn_app().await;
    let cases = [
        (
            json!({ "email": "not-an-address", "full_name": "", "password": "short1" }),
            vec![
                ("email", "invalid_email"),
                ("full_name", "required"),
                ("password", "too_short"),
            ],
        ),
        (
            json!({ "email": "olga@example.ru", "full_name": "Я", "password": "onlyletters" }),
            vec![("full_name", "too_short"), ("password", "too_weak")],
        ),
    ];
    for (body, expected) in cases {
        let (status, content_type, problem) =
            post_public(&app, "/api/v1/auth/register", body).await;
        assert_eq!(status, 422, "{problem}");
        assert_eq!(content_type, "application/problem+json");
        assert_eq!(problem["code"], "validation_failed");
        for (field, code) in &expected {
            assert_eq!(field_code(&problem, field), Some(*code), "{problem}");
        }
        assert_eq!(problem["errors"].as_array().unwrap().len(), expected.len());
    }
    // The refused address was not taken.
    let fixed =
        json!({ "email": "olga@example.ru", "full_name": "Ольга", "password": "ok-pass-1" });
    let (status, _, user) = post_public(&app, "/api/v1/auth/register", fixed).await;
    assert_eq!(status, 201, "{user}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_and_bad_bearers_are_401_problems() {
    let app = spawn_app().await;
    let wrong = json!({ "email": CITIZEN, "password": "not-the-password-1" });
    let (status, content_type, problem) = post_public(&app, "/api/v1/auth/token", wrong).await;
    assert_eq!(
        (status, content_type.as_str(), problem["code"].as_str()),
        (401, "application/problem+json", Some("invalid_credentials")),
        "{problem}"
    );
    assert!(problem.get("token").is_none());

    let client = reqwest::Client::new();
    let requests = [
        client.get(app.url("/api/v1/me")),
        client
            .get(app.url("/api/v1/me"))
            .bearer_auth("garbage-token"),
        client
            .get(app.url("/api/v1/submissions"))
            .header("authorization", "Basic aXZhbjpwYXNz"),
        client.get(app.url("/api/v1/submissions")).bearer_auth(""),
    ];
    for request in requests {
        let (status, content_type, problem) = problem_parts(request.send().await.unwrap()).await;
        assert_eq!(
            (status, content_type.as_str(), problem["code"].as_str()),
            (401, "application/problem+json", Some("unauthorized")),
            "{problem}"
        );
        assert_eq!(problem["status"], 401);
    }
    // The same request with the right password succeeds.
    let right = json!({ "email": CITIZEN, "password": DEMO_PASSWORD });
    let (status, _, token) = post_public(&app, "/api/v1/auth/token", right).await;
    assert_eq!(
        (status, token["user"]["email"].as_str()),
        (201, Some(CITIZEN))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_describes_the_api() {
    let app = spawn_app().await;
    let r = reqwest::get(app.url("/api/v1/openapi.json")).await.unwrap();
    assert_eq!(r.status(), 200);
    let doc: Value = r.json().await.unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3."),
        "{}",
        doc["openapi"]
    );
    for p in [
        "/api/v1/submissions",
        "/api/v1/submissions/{id}",
        "/api/v1/submissions/{id}/answer",
        "/api/v1/auth/token",
    ] {
        assert!(doc["paths"].get(p).is_some(), "missing path {p}");
    }
    assert!(doc["paths"]["/api/v1/submissions"].get("post").is_some());
    assert!(doc["components"]["schemas"].get("Problem").is_some());
}

// --- the life of a submission ------------------------------------------------------------

async fn full_lifecycle(backend: Backend) {
    let w = World::start(backend).await;
    let now = OffsetDateTime::now_utc();
    let created = w.submit(POTHOLES).await;
    let id = &created["id"];
    assert_eq!(created["organisation"], TRANSPORT);
    assert_eq!(created["round"], 1);
    let number = created["number"].as_str().unwrap();
    let year = at(&created["created_at"]).year();
    assert_eq!(number, format!("{year}-{:07}", id.as_i64().unwrap()));
    let first_deadline = at(&created["deadline_at"]);
    assert!(first_deadline > now, "{first_deadline}");
    assert_eq!(created["attachments"][0]["mime"], "image/png");
    assert_eq!(
        created["author"],
        Value::Null,
        "the author is not shown to self"
    );

    let official = w.official(created["organisation"].as_str().unwrap()).await;
    let (_, inbox) = listed(&official).await;
    assert!(inbox.contains(&id.as_i64().unwrap()));
    let seen = ok(official.get(&path(id, "")).await);
    assert_eq!(actions(&seen), ["take-into-work", "redirect", "reject"]);
    assert_eq!(seen["author"]["email"], CITIZEN);

    let taken = ok(official.post(&path(id, "take-into-work"), json!({})).await);
    assert_eq!(taken["status"], "in_progress");
    let interim = json!({ "text": "Заявка передана подрядчику, выезд бригады на этой неделе." });
    let interim = ok(official
        .post(&path(id, "intermediate-answer"), interim)
        .await);
    assert_eq!(interim["status"], "in_progress");
    let answer = json!({
        "text": "Яма заделана 10 декабря, акт приёмки во вложении.",
        "attachments": [upload("akt.pdf", PDF_MINI)],
    });
    let answered = ok(official.post(&path(id, "answer"), answer).await);
    assert_eq!(answered["status"], "answered");
    let kinds: Vec<&str> = answered["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "registered",
            "taken_into_work",
            "intermediate_answer",
            "answered"
        ]
    );

    // The citizen downloads the answer's document, byte for byte.
    let mine = ok(w.citizen.get(&path(id, "")).await);
    assert_eq!(actions(&mine), ["rate"]);
    let document = &mine["events"][3]["files"][0];
    assert_eq!(document["name"], "akt.pdf");
    let r = w
        .citizen
        .client
        .get(w.app.url(document["url"].as_str().unwrap()))
        .bearer_auth(&w.citizen.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    assert_eq!(r.bytes().await.unwrap().as_ref(), PDF_MINI);

    // A low rating, then the answer goes back for re-review with a new term.
    let rated = ok(w
        .citizen
        .post(&path(id, "rate"), json!({ "score": 2 }))
        .await);
    assert_eq!(
        (&rated["status"], &rated["rating"]),
        (&json!("rated"), &json!(2))
    );
    assert_eq!(actions(&rated), ["send-back"]);
    let reason = json!({ "reason": "Яма заделана только наполовину." });
    let reopened = ok(w.citizen.post(&path(id, "send-back"), reason.clone()).await);
    assert_eq!(reopened["status"], "reopened");
    assert_eq!(reopened["round"], 2);
    assert_eq!(reopened["rating"], Value::Null);
    let sent_back = reopened["events"].as_array().unwrap().last().unwrap();
    assert_eq!(sent_back["kind"], "sent_back");
    assert_eq!(sent_back["deadline_at"], reopened["deadline_at"]);
    let second_deadline = at(&reopened["deadline_at"]);
    assert!(second_deadline >= first_deadline && second_deadline > now);

    // Second round.
    let taken = ok(official.post(&path(id, "take-into-work"), json!({})).await);
    assert_eq!(taken["status"], "in_progress");
    let answer = json!({ "text": "Покрытие переложено полностью, участок принят." });
    ok(official.post(&path(id, "answer"), answer).await);
    let rated = ok(w
        .citizen
        .post(&path(id, "rate"), json!({ "score": 5 }))
        .await);
    assert_eq!(
        (&rated["status"], &rated["rating"], &rated["round"]),
        (&json!("rated"), &json!(5), &json!(2))
    );
    assert!(actions(&rated).is_empty());

    let again = w
        .citizen
        .post(&path(id, "rate"), json!({ "score": 1 }))
        .await;
    refused(again, 409, "already_rated");
    let again = w.citizen.post(&path(id, "send-back"), reason).await;
    refused(again, 409, "re_review_used");
    let last = ok(w.citizen.get(&path(id, "")).await);
    assert_eq!(
        (&last["status"], &last["rating"]),
        (&json!("rated"), &json!(5))
    );
    assert_eq!(last["events"].as_array().unwrap().len(), 9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_lifecycle_sqlite() {
    full_lifecycle(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_lifecycle_postgres() {
    full_lifecycle(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appeals_have_a_longer_term_than_messages() {
    let w = World::start(Backend::Sqlite).await;
    let now = OffsetDateTime::now_utc();
    let message = w
        .submit_as(&w.citizen, TRAFFIC_LIGHT, TVER, "message")
        .await;
    let appeal = w.submit_as(&w.citizen, TRAFFIC_LIGHT, TVER, "appeal").await;
    let (message, appeal) = (at(&message["deadline_at"]), at(&appeal["deadline_at"]));
    assert!(message > now, "{message}");
    assert!(appeal > message, "appeal {appeal} vs message {message}");
    // 10 working days are at least 12 calendar days; 30 days are at most 31.
    assert!(message - now >= time::Duration::days(11));
    assert!(appeal - now <= time::Duration::days(31));
}

// --- refusals ------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_submissions_are_refused_and_change_nothing() {
    let w = World::start(Backend::Sqlite).await;
    let valid = w.body(POTHOLES, TVER, "message").await;
    let (before, _) = listed(&w.citizen).await;

    let with = |key: &str, value: Value| {
        let mut body = valid.clone();
        body[key] = value;
        body
    };
    let with_field = |key: &str, value: Option<&str>| {
        let mut body = valid.clone();
        let fields = body["fields"].as_object_mut().unwrap();
        match value {
            Some(v) => fields.insert(key.to_owned(), v.into()),
            None => fields.remove(key),
        };
        body
    };
    let disguised = upload("photo.png", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00");
    let mut huge = PNG_1X1.to_vec();
    huge.resize(10 * 1024 * 1024 + 1, 0);
    let cases = [
        (
            with("subcategory_id", json!(999_999)),
            "subcategory_id",
            "unknown_subcategory",
        ),
        (
            with("region_id", json!(999_999)),
            "region",
            "unknown_region",
        ),
        (with("kind", json!("complaint")), "kind", "unknown_value"),
        (with("text", json!("")), "text", "required"),
        (with("text", json!("Яма")), "text", "too_short"),
        (
            with_field("colour", Some("зелёный")),
            "fields.colour",
            "unknown_field",
        ),
        (with_field("address", None), "fields.address", "required"),
        (
            with_field("size", Some("Огромная")),
            "fields.size",
            "not_an_option",
        ),
        (
            with("attachments", json!([disguised])),
            "attachments",
            "file_type_not_allowed",
        ),
        (
            with("attachments", json!(vec![upload("a.png", PNG_1X1); 6])),
            "attachments",
            "too_many_files",
        ),
        (
            with("attachments", json!([upload("big.png", &huge)])),
            "attachments",
            "file_too_large",
        ),
        (
            with("attachments", json!([upload("a.pdf", PDF_MINI)])),
            "attachments",
            "photo_required",
        ),
        (
            with(
                "attachments",
                json!([{ "name": "a.png", "content_base64": "@@not base64@@" }]),
            ),
            "attachments",
            "invalid_base64",
        ),
    ];
    for (body, field, code) in cases {
        invalid(
            w.citizen.post("/api/v1/submissions", body).await,
            field,
            code,
        );
        assert_eq!(listed(&w.citizen).await.0, before, "after {field} {code}");
    }

    let (status, content_type, problem) = post_raw(
        &w.citizen,
        "/api/v1/submissions",
        r#"{"kind": "message", "text": "#,
    )
    .await;
    assert_eq!(
        (status, content_type.as_str(), problem["code"].as_str()),
        (400, "application/problem+json", Some("invalid_json")),
        "{problem}"
    );
    let (status, _, problem) = post_raw(
        &w.citizen,
        "/api/v1/submissions",
        r#"{"kind": "message", "subcategory_id": "seven", "text": "Текст сообщения"}"#,
    )
    .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (422, Some("invalid_body")),
        "{problem}"
    );
    assert_eq!(listed(&w.citizen).await.0, before);

    // The valid body itself is accepted: the refusals above were about what they changed.
    let (status, created) = w.citizen.post("/api/v1/submissions", valid).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(listed(&w.citizen).await.0, before + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn illegal_transitions_are_refused() {
    let w = World::start(Backend::Sqlite).await;
    let created = w.submit(POTHOLES).await;
    let id = &created["id"];
    let official = w.official(TRANSPORT).await;
    let answer = json!({ "text": "Ответ без взятия в работу." });

    refused(
        official.post(&path(id, "answer"), answer.clone()).await,
        409,
        "illegal_transition",
    );
    let interim = official
        .post(&path(id, "intermediate-answer"), answer.clone())
        .await;
    refused(interim, 409, "illegal_transition");
    let rate = w
        .citizen
        .post(&path(id, "rate"), json!({ "score": 5 }))
        .await;
    refused(rate, 409, "illegal_transition");
    let reject = json!({ "ground": "too_boring", "comment": "Не нравится." });
    invalid(
        official.post(&path(id, "reject"), reject).await,
        "ground",
        "unknown_value",
    );
    let same = json!({ "organisation_id": created["organisation_id"], "reason": "Не наше." });
    invalid(
        official.post(&path(id, "redirect"), same).await,
        "to_org",
        "same_organisation",
    );
    let unknown = json!({ "organisation_id": 999_999, "reason": "Не наше." });
    invalid(
        official.post(&path(id, "redirect"), unknown).await,
        "to_org",
        "unknown_organisation",
    );
    let no_score = w
        .citizen
        .post(&path(id, "rate"), json!({ "score": 9 }))
        .await;
    invalid(no_score, "score", "out_of_range");
    let unchanged = ok(official.get(&path(id, "")).await);
    assert_eq!(
        (&unchanged["status"], &unchanged["organisation"]),
        (&json!("registered"), &json!(TRANSPORT))
    );
    assert_eq!(unchanged["events"].as_array().unwrap().len(), 1);

    let reject = json!({ "ground": "court_matter", "comment": "Обжалуется решение суда." });
    let rejected = ok(official.post(&path(id, "reject"), reject).await);
    assert_eq!(rejected["status"], "rejected");
    assert!(actions(&rejected).is_empty());
    refused(
        official.post(&path(id, "answer"), answer).await,
        409,
        "illegal_transition",
    );
    let take = official.post(&path(id, "take-into-work"), json!({})).await;
    refused(take, 409, "illegal_transition");
    let unknown_action = official.post(&path(id, "close"), json!({})).await;
    refused(unknown_action, 404, "not_found");
}

// --- who may see what ----------------------------------------------------------------------

async fn isolation(backend: Backend) {
    let w = World::start(backend).await;
    let created = w.submit(POTHOLES).await;
    let id = &created["id"];
    let id_number = id.as_i64().unwrap();
    let photo = created["attachments"][0]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let transport = w.official(TRANSPORT).await;
    let city = w.official(CITY).await;
    let other_citizen = w.api_of(OTHER_CITIZEN).await;

    // Strangers get 404 for the submission, its actions and its files.
    for stranger in [&city, &other_citizen] {
        refused(stranger.get(&path(id, "")).await, 404, "not_found");
        refused(stranger.get(&photo).await, 404, "not_found");
        assert!(!listed(stranger).await.1.contains(&id_number));
    }
    let take = city.post(&path(id, "take-into-work"), json!({})).await;
    refused(take, 404, "not_found");
    let reject = json!({ "ground": "court_matter", "comment": "Чужое обращение." });
    refused(
        city.post(&path(id, "reject"), reject).await,
        404,
        "not_found",
    );
    let rate = other_citizen
        .post(&path(id, "rate"), json!({ "score": 1 }))
        .await;
    refused(rate, 404, "not_found");
    // The author sees it but may not act as staff.
    let take = w.citizen.post(&path(id, "take-into-work"), json!({})).await;
    refused(take, 403, "forbidden");

    // A redirect moves it out of sight of the organisation that held it.
    let city_id = w.id_in("/api/v1/organisations", CITY).await;
    let redirect = json!({ "organisation_id": city_id, "reason": "Дорога в ведении города." });
    let (status, body) = transport.post(&path(id, "redirect"), redirect).await;
    assert_eq!(
        status, 204,
        "succeeded, and there is nothing left to show: {body}"
    );
    refused(transport.get(&path(id, "")).await, 404, "not_found");
    assert!(!listed(&transport).await.1.contains(&id_number));
    let seen = ok(city.get(&path(id, "")).await);
    assert_eq!(
        (&seen["organisation"], &seen["status"]),
        (&json!(CITY), &json!("registered"))
    );
    assert_eq!(seen["events"][1]["kind"], "redirected");
    assert!(actions(&seen).contains(&"take-into-work"));
    assert!(listed(&city).await.1.contains(&id_number));
    assert_eq!(
        ok(city.get(&photo).await),
        Value::Null,
        "PNG bytes are not JSON"
    );

    // The operator sees everything, from every citizen and region.
    let other = w
        .submit_as(&other_citizen, TRAFFIC_LIGHT, NSK, "appeal")
        .await;
    let operator = w.api_of(OPERATOR).await;
    let (total, ids) = listed(&operator).await;
    assert!(total >= 2, "{total}");
    assert!(ids.contains(&id_number) && ids.contains(&other["id"].as_i64().unwrap()));
    assert_eq!(listed(&w.citizen).await, (1, vec![id_number]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn isolation_sqlite() {
    isolation(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn isolation_postgres() {
    isolation(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_reads_of_personal_data_are_logged() {
    let w = World::start(Backend::Sqlite).await;
    let created = w.submit(POTHOLES).await;
    let id = SubmissionId(created["id"].as_i64().unwrap());
    ok(w.citizen.get(&path(&created["id"], "")).await);
    let accesses = w.app.store.personal_data_accesses(id).await.unwrap();
    assert!(accesses.is_empty(), "the author's own reads: {accesses:?}");

    let official = w.official(TRANSPORT).await;
    let seen = ok(official.get(&path(&created["id"], "")).await);
    assert_eq!(seen["author"]["name"], "Иван Петров");
    let accesses = w.app.store.personal_data_accesses(id).await.unwrap();
    let name = &w.app.official_of(TRANSPORT).full_name;
    assert_eq!(accesses.len(), 1, "{accesses:?}");
    assert_eq!(&accesses[0].staff_name, name);
    assert_eq!(accesses[0].submission, id);
}

#[tokio::test]
async fn staff_downloads_and_action_answers_are_logged_too() {
    let w = World::start(Backend::Sqlite).await;
    let created = w.submit(POTHOLES).await;
    let id = SubmissionId(created["id"].as_i64().unwrap());
    let photo = created["attachments"][0]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let official = w.official(TRANSPORT).await;
    let r = official
        .client
        .get(format!("{}{photo}", official.base))
        .bearer_auth(&official.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let purposes = |accesses: Vec<otklik_store::PersonalDataAccess>| {
        accesses.into_iter().map(|a| a.purpose).collect::<Vec<_>>()
    };
    assert_eq!(
        purposes(w.app.store.personal_data_accesses(id).await.unwrap()),
        vec!["download_file"]
    );
    // The answer to an action shows the author's contact: logged as a read.
    ok(official
        .post(&path(&created["id"], "take-into-work"), json!({}))
        .await);
    assert_eq!(
        purposes(w.app.store.personal_data_accesses(id).await.unwrap()),
        vec!["download_file", "view_submission"]
    );
}

#[tokio::test]
async fn staff_cannot_submit() {
    let w = World::start(Backend::Sqlite).await;
    let body = w.body(POTHOLES, TVER, "message").await;
    for email in [
        w.app.official_of(TRANSPORT).email.clone(),
        OPERATOR.to_owned(),
    ] {
        let staff = w.api_of(&email).await;
        let before = listed(&staff).await;
        refused(
            staff.post("/api/v1/submissions", body.clone()).await,
            403,
            "citizens_only",
        );
        assert_eq!(listed(&staff).await, before, "{email}");
    }
}

#[tokio::test]
async fn wrong_methods_and_query_strings_are_problems() {
    let w = World::start(Backend::Sqlite).await;
    let r = w
        .citizen
        .client
        .put(format!("{}/api/v1/submissions", w.citizen.base))
        .bearer_auth(&w.citizen.token)
        .send()
        .await
        .unwrap();
    let (status, content_type, problem) = problem_parts(r).await;
    assert_eq!(
        (status, content_type.as_str()),
        (405, "application/problem+json")
    );
    assert_eq!(problem["code"], "method_not_allowed");
    let (status, problem) = w
        .citizen
        .get("/api/v1/submissions?status=registered&status=rated")
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (400, Some("invalid_query"))
    );
    // Nothing personal is cached by the browser or a proxy.
    let r = w
        .citizen
        .client
        .get(format!("{}/api/v1/me", w.citizen.base))
        .bearer_auth(&w.citizen.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["cache-control"], "no-store");
}

// --- bad input: every class is a 4xx problem with a code, never a 500 ----------------------

/// Sends `body` with `content_type` to a public JSON endpoint.
async fn post_bytes(
    app: &TestApp,
    path: &str,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> (u16, String, Value) {
    let r = reqwest::Client::new()
        .post(app.url(path))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    problem_parts(r).await
}

/// Asserts a problem+json answer with this status and code.
fn problem(
    (status, content_type, body): (u16, String, Value),
    want_status: u16,
    want_code: &str,
) -> Value {
    assert_eq!(
        (status, content_type.as_str(), body["code"].as_str()),
        (want_status, "application/problem+json", Some(want_code)),
        "{body}"
    );
    body
}

#[tokio::test]
async fn malformed_json_is_a_400_problem() {
    let app = spawn_app().await;
    for body in [r#"{"email": "#, "not json", r#"{"email": "a@b.ru",}"#, ""] {
        let answer = post_bytes(&app, "/api/v1/auth/register", "application/json", body).await;
        let p = problem(answer, 400, "invalid_json");
        assert!(p["detail"].is_string() || body.is_empty(), "{p}");
    }
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_415_problem() {
    let app = spawn_app().await;
    let json = r#"{"email": "a@b.ru", "password": "x"}"#;
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
    ] {
        let answer = post_bytes(&app, "/api/v1/auth/token", content_type, json).await;
        problem(answer, 415, "unsupported_media_type");
    }
    let r = reqwest::Client::new()
        .post(app.url("/api/v1/auth/token"))
        .body(json)
        .send()
        .await
        .unwrap();
    problem(problem_parts(r).await, 415, "unsupported_media_type");
}

#[tokio::test]
async fn an_oversized_body_is_a_413_problem() {
    let app = spawn_app().await;
    // The default limit of a JSON body is 2 MiB (uploads have their own, larger one).
    let body = format!(
        r#"{{"email": "a@b.ru", "password": "{}"}}"#,
        "x".repeat(3 << 20)
    );
    let answer = post_bytes(&app, "/api/v1/auth/token", "application/json", body).await;
    problem(answer, 413, "request_too_large");
    let citizen = app.api(&app.token(CITIZEN).await);
    let r = citizen
        .client
        .post(app.url("/api/v1/submissions/1/rate"))
        .bearer_auth(&citizen.token)
        .header("content-type", "application/json")
        .body(format!(
            r#"{{"score": 5, "comment": "{}"}}"#,
            "я".repeat(2 << 20)
        ))
        .send()
        .await
        .unwrap();
    problem(problem_parts(r).await, 413, "request_too_large");
}

#[tokio::test]
async fn unknown_fields_and_wrong_types_are_422_problems() {
    let app = spawn_app().await;
    let body = json!({"email": "a@b.ru", "password": "x", "remember_me": true});
    let p = problem(
        post_public(&app, "/api/v1/auth/token", body).await,
        422,
        "unknown_field",
    );
    assert_eq!(field_code(&p, "remember_me"), Some("unknown_field"), "{p}");
    // Nested bodies too: a file of a submission.
    let citizen = app.api(&app.token(CITIZEN).await);
    let (status, p) = citizen
        .post(
            "/api/v1/submissions",
            json!({"kind": "message", "attachments": [{"name": "a.png", "content_base64": "", "size": 1}]}),
        )
        .await;
    assert_eq!(
        (status, p["code"].as_str()),
        (422, Some("unknown_field")),
        "{p}"
    );
    assert_eq!(field_code(&p, "size"), Some("unknown_field"), "{p}");
    // A value of the wrong type.
    let (status, p) = citizen
        .post("/api/v1/submissions/1/rate", json!({"score": "пять"}))
        .await;
    assert_eq!(
        (status, p["code"].as_str()),
        (422, Some("invalid_body")),
        "{p}"
    );
    assert!(p["detail"].as_str().unwrap().contains("score"), "{p}");
}

#[tokio::test]
async fn bad_query_values_are_problems_naming_the_parameter() {
    let app = spawn_app().await;
    let operator = app.api(&app.token(OPERATOR).await);
    let get = |path: &'static str| {
        let r = operator
            .client
            .get(app.url(path))
            .bearer_auth(&operator.token)
            .send();
        async move { problem_parts(r.await.unwrap()).await }
    };
    for (path, field) in [
        ("/api/v1/submissions?limit=lots", "limit"),
        ("/api/v1/submissions?limit=0", "limit"),
        ("/api/v1/submissions?overdue=maybe", "overdue"),
        ("/api/v1/submissions?status=lost", "status"),
        ("/api/v1/incidents?page=0", "page"),
        ("/api/v1/incidents?resolved=perhaps", "resolved"),
        ("/api/v1/console/changes?offset=-1", "offset"),
    ] {
        let p = problem(get(path).await, 422, "validation_failed");
        assert!(field_code(&p, field).is_some(), "{path}: {p}");
    }
    problem(
        get("/api/v1/log/leaves?start=first").await,
        422,
        "invalid_parameter",
    );
    problem(
        get("/api/v1/log/proof/inclusion?index=1").await,
        422,
        "missing_parameter",
    );
    // A parameter without a value fits no type: leave it out instead.
    problem(
        get("/api/v1/incidents?region_id=").await,
        400,
        "invalid_query",
    );
    // A parameter given twice does not fit a single value.
    problem(
        get("/api/v1/console/changes?limit=1&limit=2").await,
        400,
        "invalid_query",
    );
}

#[tokio::test]
async fn malformed_ids_in_paths_are_404_problems() {
    let app = spawn_app().await;
    let citizen = app.api(&app.token(CITIZEN).await);
    for path in [
        "/api/v1/submissions/abc",
        "/api/v1/submissions/%FF%FE",
        "/api/v1/submissions/99999999999999999999999",
        "/api/v1/regions/-/municipalities",
        "/api/v1/log/tree-head/%00",
    ] {
        let r = citizen
            .client
            .get(app.url(path))
            .bearer_auth(&citizen.token)
            .send()
            .await
            .unwrap();
        problem(problem_parts(r).await, 404, "not_found");
    }
}

// --- the OpenAPI document ------------------------------------------------------------------

/// The document the server serves, as JSON.
fn openapi_json() -> Value {
    serde_json::to_value(otklik_web::api::openapi()).unwrap()
}

/// (METHOD, path) of every operation of the document.
fn documented_operations(doc: &Value) -> std::collections::BTreeSet<(String, String)> {
    let mut found = std::collections::BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in [
            "get", "put", "post", "delete", "patch", "head", "options", "trace",
        ] {
            if item.get(method).is_some() {
                found.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    found
}

/// Every `/api/v1` route of the routers is an operation of the document, and every
/// operation of the document is a route. A new endpoint fails here until its handler
/// has its `#[utoipa::path]` and is listed in its module's `Doc`.
#[test]
fn openapi_names_every_api_route_and_only_those() {
    let declared: std::collections::BTreeSet<(String, String)> = crate::support::declared_routes()
        .into_iter()
        .filter(|(_, path)| path.starts_with("/api/v1/"))
        .collect();
    assert!(
        declared.len() > 60,
        "only {} API routes found",
        declared.len()
    );
    let documented = documented_operations(&openapi_json());
    let missing: Vec<_> = declared.difference(&documented).collect();
    let stale: Vec<_> = documented.difference(&declared).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "API routes the OpenAPI document does not describe: {missing:#?}\n\
         operations of the document that no router declares: {stale:#?}"
    );
}

/// Every operation says what it answers: a success, and its errors as problem+json (the
/// OAuth token endpoint answers errors as RFC 6749 says, in plain JSON).
#[test]
fn openapi_operations_document_success_and_problems() {
    let doc = openapi_json();
    let mut ids = std::collections::BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let name = format!("{} {path}", method.to_uppercase());
            let id = op["operationId"].as_str().unwrap_or_default();
            assert!(
                ids.insert(id.to_owned()),
                "{name}: operationId {id:?} is not unique"
            );
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{name}: no success response"
            );
            let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
            assert!(
                !secured || responses.contains_key("401"),
                "{name}: secured, no 401"
            );
            if op
                .get("requestBody")
                .is_some_and(|b| b["content"].get("application/json").is_some())
            {
                for status in ["400", "413", "415", "422"] {
                    assert!(responses.contains_key(status), "{name}: no {status}");
                }
            }
            for (status, response) in responses {
                let response = match response["$ref"].as_str() {
                    Some(r) => &doc["components"]["responses"][r.rsplit('/').next().unwrap()],
                    None => response,
                };
                if status.starts_with('4') && path != "/api/v1/oauth/token" {
                    assert!(
                        response["content"]
                            .get("application/problem+json")
                            .is_some()
                            && response["content"].as_object().unwrap().len() == 1,
                        "{name} {status}: not a problem+json response: {response}"
                    );
                }
            }
        }
    }
}

/// Every `$ref` of the document names something the document has (a schema used only
/// by a query parameter is not collected by itself: its module lists it).
#[test]
fn openapi_references_resolve() {
    fn walk<'a>(value: &'a Value, refs: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    refs.push(r);
                }
                map.values().for_each(|v| walk(v, refs));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, refs)),
            _ => {}
        }
    }
    let doc = openapi_json();
    let mut refs = Vec::new();
    walk(&doc, &mut refs);
    assert!(refs.len() > 100, "only {} references", refs.len());
    let dangling: std::collections::BTreeSet<&str> = refs
        .into_iter()
        .filter(|r| {
            let pointer = r.strip_prefix('#').unwrap_or("?");
            doc.pointer(pointer).is_none()
        })
        .collect();
    assert!(dangling.is_empty(), "references to nothing: {dangling:#?}");
}

/// Sorts every object's keys, so that the stored document is stable.
fn canonical(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let sorted: std::collections::BTreeMap<String, Value> =
                map.into_iter().map(|(k, v)| (k, canonical(v))).collect();
            Value::Object(sorted.into_iter().collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(canonical).collect()),
        other => other,
    }
}

/// `docs/openapi.json` is the document the code generates, so that a change of the API
/// shows in review. `OTKLIK_UPDATE_OPENAPI=1 cargo test -p otklik --test it openapi`
/// rewrites it.
#[test]
fn openapi_snapshot_is_current() {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    let generated = serde_json::to_string_pretty(&canonical(openapi_json())).unwrap() + "\n";
    if std::env::var_os("OTKLIK_UPDATE_OPENAPI").is_some_and(|v| v == "1") {
        std::fs::write(&file, &generated).unwrap();
        return;
    }
    let stored = std::fs::read_to_string(&file).unwrap_or_default();
    if stored != generated {
        let first = stored
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| stored.lines().count().min(generated.lines().count()));
        let line = |text: &str| text.lines().nth(first).unwrap_or("<end>").to_owned();
        panic!(
            "docs/openapi.json is not the document the code generates (first difference at \
             line {}:\n  stored:    {}\n  generated: {}).\nIf the API change is intended, \
             refresh it with\n  OTKLIK_UPDATE_OPENAPI=1 cargo test -p otklik --test it openapi\n\
             and commit the file with the change.",
            first + 1,
            line(&stored),
            line(&generated),
        );
    }
}
