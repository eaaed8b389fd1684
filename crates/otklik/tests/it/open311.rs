//! Open311 GeoReport v2 through real HTTP: discovery, services and their definitions
//! from the forms, submitting with a citizen's key (JSON and XML), searching and reading
//! requests with and without a key (anonymous callers never see an appeal nor a text),
//! tokens, and errors in the spec's format — never a 500.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use reqwest::header::{ALLOW, CONTENT_TYPE, LOCATION, RETRY_AFTER};
use reqwest::Client;
use serde_json::{json, Value};

use crate::api::{ok, path, World};
use crate::support::{spawn_app_with, Backend, TestApp, CITIZEN, OTHER_CITIZEN};

/// No photo required; an address field; routed in Тверская область to the city.
const TRAFFIC_LIGHT: &str = "Неработающий светофор";
/// A bus subcategory: lists, a number and a date, and no address field.
const SCHEDULE: &str = "Нарушение расписания";
/// A photo is required.
const POTHOLES: &str = "Ямы и выбоины на дороге";
const TVER: &str = "Тверская область";
const CITY: &str = "Администрация города Твери";
const DESCRIPTION: &str = "Светофор на перекрёстке Советской и Горького не работает третий день.";

// --- helpers -----------------------------------------------------------------------------------

/// A response: status, content type, body.
struct Got {
    status: u16,
    content_type: String,
    location: Option<String>,
    retry_after: Option<String>,
    allow: Option<String>,
    body: String,
}

impl Got {
    fn json(&self) -> Value {
        assert!(
            self.content_type.starts_with("application/json"),
            "{} {}: {}",
            self.status,
            self.content_type,
            self.body
        );
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// The body of a 200 answer in JSON.
    fn ok_json(&self) -> Value {
        assert_eq!(self.status, 200, "{}", self.body);
        self.json()
    }

    /// The XML body, checked to be well-formed.
    fn xml(&self) -> &str {
        assert!(
            self.content_type.starts_with("text/xml"),
            "{} {}: {}",
            self.status,
            self.content_type,
            self.body
        );
        well_formed(&self.body);
        &self.body
    }

    /// A GeoReport v2 error in JSON: the status, `[{"code", "description"}]`; the
    /// descriptions joined.
    fn error_json(&self, status: u16) -> String {
        assert_eq!(self.status, status, "{}", self.body);
        let errors = self.json();
        let errors = errors.as_array().expect("a list of errors");
        assert!(!errors.is_empty());
        for e in errors {
            assert_eq!(e["code"], status, "{}", self.body);
            assert!(e["description"].as_str().is_some_and(|d| !d.is_empty()));
        }
        errors
            .iter()
            .map(|e| e["description"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
            .join(" | ")
    }

    /// The same in XML: `<errors><error><code>…</code><description>…</description>`.
    fn error_xml(&self, status: u16) -> String {
        assert_eq!(self.status, status, "{}", self.body);
        let xml = self.xml();
        assert!(xml.contains("<errors><error><code>"), "{xml}");
        let codes = texts(xml, "code");
        assert!(!codes.is_empty());
        assert!(codes.iter().all(|c| *c == status.to_string()), "{xml}");
        texts(xml, "description").join(" | ")
    }
}

async fn read(r: reqwest::Response) -> Got {
    let header = |name| {
        r.headers()
            .get(name)
            .map(|v: &reqwest::header::HeaderValue| v.to_str().unwrap().to_owned())
    };
    let content_type = header(CONTENT_TYPE).unwrap_or_default();
    let location = header(LOCATION);
    let retry_after = header(RETRY_AFTER);
    let allow = header(ALLOW);
    let status = r.status().as_u16();
    let body = r.text().await.unwrap();
    assert!(status < 500, "{status}: {body}");
    Got {
        status,
        content_type,
        location,
        retry_after,
        allow,
        body,
    }
}

async fn get(app: &TestApp, path: &str) -> Got {
    read(Client::new().get(app.url(path)).send().await.unwrap()).await
}

async fn post(app: &TestApp, path: &str, form: &[(&str, &str)]) -> Got {
    read(
        Client::new()
            .post(app.url(path))
            .form(form)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// Checks that `xml` is one well-formed element after its declaration: tags balance,
/// and `&` only starts one of the five predefined entities.
fn well_formed(xml: &str) {
    let rest = xml
        .strip_prefix(r#"<?xml version="1.0" encoding="utf-8"?>"#)
        .unwrap_or_else(|| panic!("no declaration: {xml}"));
    let mut stack: Vec<&str> = Vec::new();
    let mut roots = 0;
    let mut i = 0;
    while i < rest.len() {
        let at = rest[i..].find('<').map_or(rest.len(), |p| i + p);
        let text = &rest[i..at];
        assert!(
            stack.is_empty() == text.is_empty() || !stack.is_empty(),
            "text outside the root: {xml}"
        );
        for (k, _) in text.match_indices('&') {
            let entity = &text[k..];
            assert!(
                ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"]
                    .iter()
                    .any(|e| entity.starts_with(e)),
                "bad entity in {text}"
            );
        }
        if at == rest.len() {
            break;
        }
        let end = at + rest[at..].find('>').expect("an unclosed tag");
        let tag = &rest[at + 1..end];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop(), Some(name), "unbalanced </{name}>: {xml}");
        } else if let Some(name) = tag.strip_suffix('/') {
            if stack.is_empty() {
                roots += 1;
            }
            assert!(is_name(name), "bad name {name}");
        } else {
            if stack.is_empty() {
                roots += 1;
            }
            assert!(is_name(tag), "bad name {tag}");
            stack.push(tag);
        }
        i = end + 1;
    }
    assert!(stack.is_empty(), "unclosed {stack:?}: {xml}");
    assert_eq!(roots, 1, "{xml}");
}

fn is_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

/// The unescaped texts of every `<tag>…</tag>` (no nested elements inside).
fn texts(xml: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let end = after.find(&close).unwrap();
        out.push(
            after[..end]
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&apos;", "'")
                .replace("&amp;", "&"),
        );
        rest = &after[end + close.len()..];
    }
    out
}

fn ids_of(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|r| r["service_request_id"].as_str().unwrap().to_owned())
        .collect()
}

/// A valid Open311 submission of the traffic light in Тверская область.
fn traffic_light(key: &str, code: &str) -> Vec<(&'static str, String)> {
    vec![
        ("api_key", key.to_owned()),
        ("service_code", code.to_owned()),
        ("jurisdiction_id", "RU-TVE".to_owned()),
        ("lat", "56.8587".to_owned()),
        ("long", "35.9176".to_owned()),
        ("address_string", "г. Тверь, ул. Советская, д. 5".to_owned()),
        ("description", DESCRIPTION.to_owned()),
        ("attribute[fault]", "Постоянно мигает жёлтый".to_owned()),
        (
            "media_url",
            "https://photos.example.org/svetofor.jpg?size=big&x=1".to_owned(),
        ),
        ("email", "someone.else@example.org".to_owned()),
        ("first_name", "Пётр".to_owned()),
        ("last_name", "Сидоров".to_owned()),
        ("phone", "+7 900 000-00-00".to_owned()),
        ("device_id", "device-1".to_owned()),
    ]
}

fn pairs<'a>(list: &'a [(&'a str, String)]) -> Vec<(&'a str, &'a str)> {
    list.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

fn without<'a>(list: &[(&'a str, String)], name: &str) -> Vec<(&'a str, String)> {
    list.iter().filter(|(k, _)| *k != name).cloned().collect()
}

fn with<'a>(list: &[(&'a str, String)], name: &'a str, value: &str) -> Vec<(&'a str, String)> {
    let mut out = without(list, name);
    out.push((name, value.to_owned()));
    out
}

/// Submits through Open311; asserts 201 and returns (id, token).
async fn submit(app: &TestApp, form: &[(&str, String)]) -> (String, String) {
    let got = post(app, "/open311/v2/requests.json", &pairs(form)).await;
    assert_eq!(got.status, 201, "{}", got.body);
    let body = got.json();
    let id = body[0]["service_request_id"].as_str().unwrap().to_owned();
    let token = body[0]["token"].as_str().unwrap().to_owned();
    (id, token)
}

async fn total_of(w: &World) -> u64 {
    ok(w.citizen.get("/api/v1/submissions").await)["total"]
        .as_u64()
        .unwrap()
}

// --- discovery and services ---------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_names_the_endpoint_in_both_formats() {
    let w = World::start(Backend::Sqlite).await;
    let app = &w.app;
    let d = get(app, "/open311/v2/discovery.json").await.ok_json();
    assert!(d["changeset"].as_str().is_some_and(|c| !c.is_empty()));
    assert!(d["contact"].as_str().is_some_and(|c| !c.is_empty()));
    let endpoint = &d["endpoints"][0];
    assert_eq!(
        endpoint["specification"],
        "http://wiki.open311.org/GeoReport_v2"
    );
    assert_eq!(endpoint["type"], "production");
    assert_eq!(endpoint["formats"], json!(["text/xml", "application/json"]));
    assert_eq!(endpoint["url"], format!("{}/open311/v2", app.base));

    let got = get(app, "/open311/v2/discovery.xml").await;
    assert_eq!(got.status, 200);
    let xml = got.xml();
    assert!(xml.contains("<discovery><changeset>"), "{xml}");
    assert!(
        xml.contains(
            "<formats><format>text/xml</format><format>application/json</format></formats>"
        ),
        "{xml}"
    );
    assert_eq!(
        texts(xml, "specification"),
        ["http://wiki.open311.org/GeoReport_v2"]
    );
    assert_eq!(texts(xml, "type"), ["production"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_are_the_subcategories() {
    let w = World::start(Backend::Sqlite).await;
    let app = &w.app;
    let catalogue = ok(w.citizen.get("/api/v1/catalogue").await);
    let count: usize = catalogue
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["subcategories"].as_array().unwrap().len())
        .sum();
    let services = get(app, "/open311/v2/services.json").await.ok_json();
    assert_eq!(services.as_array().unwrap().len(), count);
    let light = services
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service_name"] == TRAFFIC_LIGHT)
        .unwrap();
    assert_eq!(
        light["service_code"],
        w.subcategory_id(TRAFFIC_LIGHT).to_string()
    );
    assert_eq!(light["group"], "Дороги");
    assert_eq!(light["metadata"], true);
    assert_eq!(light["type"], "realtime");
    assert!(light["description"].as_str().is_some_and(|d| !d.is_empty()));
    assert!(light["keywords"].as_str().is_some());
    let potholes = services
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service_name"] == POTHOLES)
        .unwrap();
    assert!(
        potholes["description"]
            .as_str()
            .unwrap()
            .contains("фотография"),
        "{potholes}"
    );

    let got = get(app, "/open311/v2/services.xml").await;
    assert_eq!(got.status, 200);
    let xml = got.xml();
    assert!(xml.contains("<services><service><service_code>"), "{xml}");
    assert_eq!(texts(xml, "service_code").len(), count);
    assert!(texts(xml, "service_name").contains(&TRAFFIC_LIGHT.to_owned()));

    // A jurisdiction is checked, not needed.
    let got = get(app, "/open311/v2/services.json?jurisdiction_id=RU-TVE").await;
    assert_eq!(got.status, 200);
    let got = get(app, "/open311/v2/services.json?jurisdiction_id=RU-XXX").await;
    assert!(got.error_json(400).contains("jurisdiction_id"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_definitions_come_from_the_forms() {
    let w = World::start(Backend::Sqlite).await;
    let app = &w.app;
    let code = w.subcategory_id(SCHEDULE);
    let def = get(app, &format!("/open311/v2/services/{code}.json"))
        .await
        .ok_json();
    assert_eq!(def["service_code"], code.to_string());
    let attributes = def["attributes"].as_array().unwrap();
    let named = |key: &str| {
        attributes
            .iter()
            .find(|a| a["code"] == key)
            .unwrap_or_else(|| panic!("no attribute {key}: {def}"))
    };
    let kind = named("transport_kind");
    assert_eq!(kind["variable"], true);
    assert_eq!(kind["datatype"], "singlevaluelist");
    assert_eq!(kind["required"], true);
    assert_eq!(kind["order"], 1);
    assert_eq!(kind["description"], "Вид транспорта");
    assert_eq!(
        kind["values"][0],
        json!({ "key": "Автобус", "name": "Автобус" })
    );
    assert_eq!(kind["values"].as_array().unwrap().len(), 4);
    let route = named("route");
    assert_eq!(route["datatype"], "number");
    assert_eq!(route["required"], true);
    assert_eq!(route["order"], 2);
    assert_eq!(route["datatype_description"], "Только цифры, например 21");
    assert!(route.get("values").is_none());
    assert_eq!(named("trip_date")["datatype"], "datetime");
    assert_eq!(named("trip_date")["required"], false);
    assert_eq!(named("stop")["datatype"], "string");
    // The traffic light's address field is free text.
    let light = w.subcategory_id(TRAFFIC_LIGHT);
    let def = get(app, &format!("/open311/v2/services/{light}.json"))
        .await
        .ok_json();
    let address = def["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["code"] == "address")
        .unwrap();
    assert_eq!(address["datatype"], "text");

    let got = get(app, &format!("/open311/v2/services/{code}.xml")).await;
    assert_eq!(got.status, 200);
    let xml = got.xml();
    assert!(
        xml.contains(&format!(
            "<service_definition><service_code>{code}</service_code><attributes><attribute><variable>true</variable><code>transport_kind</code>"
        )),
        "{xml}"
    );
    assert!(
        xml.contains("<values><value><key>Автобус</key><name>Автобус</name></value>"),
        "{xml}"
    );

    // Unknown services: 404 in the asked format.
    let got = get(app, "/open311/v2/services/999999.json").await;
    got.error_json(404);
    let got = get(app, "/open311/v2/services/abc.xml").await;
    got.error_xml(404);
    let got = get(app, &format!("/open311/v2/services/{code}.yaml")).await;
    got.error_json(404);
}

// --- submitting ---------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn citizens_submit_with_their_key_in_json_and_xml() {
    let w = World::start(Backend::Sqlite).await;
    let app = &w.app;
    let key = w.citizen.token.clone();
    let code = w.subcategory_id(TRAFFIC_LIGHT).to_string();
    let form = traffic_light(&key, &code);
    let got = post(app, "/open311/v2/requests.json", &pairs(&form)).await;
    assert_eq!(got.status, 201, "{}", got.body);
    let body = got.json();
    let created = &body[0];
    let id = created["service_request_id"].as_str().unwrap();
    assert_eq!(
        got.location.as_deref(),
        Some(format!("/open311/v2/requests/{id}.json").as_str())
    );
    let token = created["token"].as_str().unwrap();
    assert_eq!(token.len(), 12, "{token}");
    assert!(token.ends_with(&format!("{:0>7}", id)), "{token}");
    assert_eq!(created["account_id"], Value::Null);
    let notice = created["service_notice"].as_str().unwrap();
    assert!(notice.contains(token) && notice.contains(CITY), "{notice}");

    // Through the JSON API: the citizen's own, through the Open311 channel, the place in
    // the form's address field, the rest of it (and the photo link) in the text; no
    // contact data stored.
    let view = ok(w.citizen.get(&format!("/api/v1/submissions/{id}")).await);
    assert_eq!(view["channel"], "open311");
    assert_eq!(view["kind"], "message");
    assert_eq!(view["number"], token);
    assert_eq!(view["organisation"], CITY);
    assert_eq!(view["fields"]["address"], "г. Тверь, ул. Советская, д. 5");
    assert_eq!(view["fields"]["fault"], "Постоянно мигает жёлтый");
    let text = view["text"].as_str().unwrap();
    assert!(text.starts_with(DESCRIPTION), "{text}");
    assert!(text.contains("\nКоординаты: 56.8587, 35.9176"), "{text}");
    assert!(
        text.contains("\nФото: https://photos.example.org/svetofor.jpg?size=big&x=1"),
        "{text}"
    );
    let all = view.to_string();
    for personal in ["someone.else@example.org", "Сидоров", "900 000", "device-1"] {
        assert!(!all.contains(personal), "{personal} stored: {all}");
    }

    // XML, the region by its number, a form without an address field: the place goes
    // into the text; a date attribute may be an RFC 3339 instant.
    let regions = ok(w.citizen.get("/api/v1/regions").await);
    let tver = regions
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == TVER)
        .unwrap()["id"]
        .to_string();
    let schedule = w.subcategory_id(SCHEDULE).to_string();
    let form = [
        ("api_key", key.as_str()),
        ("service_code", &schedule),
        ("jurisdiction_id", &tver),
        (
            "address_string",
            "Остановка «Площадь Ленина» <у аптеки> & рынка",
        ),
        (
            "description",
            "Автобус 21 не пришёл по расписанию, ждали сорок минут.",
        ),
        ("attribute[transport_kind]", "Автобус"),
        ("attribute[route]", "21"),
        ("attribute[trip_date]", "2026-05-01T08:10:00+03:00"),
    ];
    let got = post(app, "/open311/v2/requests.xml", &form).await;
    assert_eq!(got.status, 201, "{}", got.body);
    let xml = got.xml();
    assert!(
        xml.contains("<service_requests><request><service_request_id>"),
        "{xml}"
    );
    assert!(xml.contains("<account_id/>"), "{xml}");
    let id = texts(xml, "service_request_id").remove(0);
    assert_eq!(texts(xml, "token").len(), 1);
    assert_eq!(
        got.location.as_deref(),
        Some(format!("/open311/v2/requests/{id}.xml").as_str())
    );
    let view = ok(w.citizen.get(&format!("/api/v1/submissions/{id}")).await);
    assert_eq!(view["channel"], "open311");
    assert_eq!(view["fields"]["trip_date"], "2026-05-01");
    assert!(view["text"]
        .as_str()
        .unwrap()
        .ends_with("\n\nАдрес: Остановка «Площадь Ленина» <у аптеки> & рынка"));

    // The key may also come as the bearer header.
    let got = read(
        Client::new()
            .post(app.url("/open311/v2/requests.json"))
            .bearer_auth(&key)
            .form(&pairs(&without(&traffic_light(&key, &code), "api_key")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(got.status, 201, "{}", got.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_submissions_are_refused_in_the_specs_format_and_change_nothing() {
    let w = World::start(Backend::Sqlite).await;
    let app = &w.app;
    let key = w.citizen.token.clone();
    let code = w.subcategory_id(TRAFFIC_LIGHT).to_string();
    let good = traffic_light(&key, &code);
    let before = total_of(&w).await;
    let url = "/open311/v2/requests.json";

    // Keys: missing, invalid, staff.
    let got = post(app, url, &pairs(&without(&good, "api_key"))).await;
    assert!(got.error_json(400).contains("api_key"));
    let got = post(app, url, &pairs(&with(&good, "api_key", "not-a-key"))).await;
    assert!(got.error_json(403).contains("api_key"));
    let got = post(
        app,
        "/open311/v2/requests.xml",
        &pairs(&with(&good, "api_key", "x.y")),
    )
    .await;
    assert!(got.error_xml(403).contains("api_key"));
    let official = w.official(CITY).await;
    let got = post(app, url, &pairs(&with(&good, "api_key", &official.token))).await;
    assert!(got.error_json(403).contains("граждан"));

    // Services.
    let got = post(app, url, &pairs(&without(&good, "service_code"))).await;
    assert!(got.error_json(400).contains("service_code"));
    for unknown in ["999999", "abc", "-1"] {
        let got = post(app, url, &pairs(&with(&good, "service_code", unknown))).await;
        assert!(got.error_json(400).contains("service_code"), "{unknown}");
    }
    // Regions: unknown, or none (the demo citizen has no home region on record).
    let got = post(app, url, &pairs(&with(&good, "jurisdiction_id", "RU-XXX"))).await;
    assert!(got.error_json(400).contains("jurisdiction_id"));
    let got = post(app, url, &pairs(&without(&good, "jurisdiction_id"))).await;
    assert!(got.error_json(400).contains("jurisdiction_id"));
    // The place.
    let mut nowhere = good.clone();
    for name in ["lat", "long", "address_string"] {
        nowhere = without(&nowhere, name);
    }
    let got = post(app, url, &pairs(&nowhere)).await;
    assert!(got.error_json(400).contains("address_string"));
    let got = post(app, url, &pairs(&with(&good, "lat", "91"))).await;
    assert!(got.error_json(400).contains("lat"));
    let got = post(app, url, &pairs(&with(&good, "long", "NaN"))).await;
    assert!(got.error_json(400).contains("long"));
    let got = post(app, url, &pairs(&without(&good, "long"))).await;
    assert!(got.error_json(400).contains("lat, long"));
    // The text, the photo link, the form.
    let got = post(app, url, &pairs(&with(&good, "description", "коротко"))).await;
    assert!(got.error_json(400).contains("description"));
    let got = post(app, url, &pairs(&without(&good, "description"))).await;
    assert!(got.error_json(400).contains("description"));
    let got = post(
        app,
        url,
        &pairs(&with(&good, "media_url", "file:///etc/passwd")),
    )
    .await;
    assert!(got.error_json(400).contains("media_url"));
    let got = post(app, url, &pairs(&without(&good, "attribute[fault]"))).await;
    assert!(got.error_json(400).contains("attribute[fault]"));
    let got = post(app, url, &pairs(&with(&good, "attribute[fault]", "Сломан"))).await;
    assert!(got.error_json(400).contains("attribute[fault]"));
    let got = post(app, url, &pairs(&with(&good, "attribute[nope]", "1"))).await;
    assert!(got.error_json(400).contains("attribute[nope]"));
    // An address too long for the form's field is named as the parameter it came from.
    let long = "д".repeat(501);
    let got = post(app, url, &pairs(&with(&good, "address_string", &long))).await;
    assert!(got.error_json(400).contains("address_string"));
    // Every problem at once.
    let mut bad = with(&good, "lat", "x");
    bad = with(&bad, "description", "");
    bad = with(&bad, "jurisdiction_id", "RU-XXX");
    let got = post(app, url, &pairs(&bad)).await;
    let all = got.error_json(400);
    for name in ["lat", "description", "jurisdiction_id"] {
        assert!(all.contains(name), "{name} in {all}");
    }
    // A subcategory that needs a photo cannot take one through Open311.
    let potholes = w.subcategory_id(POTHOLES).to_string();
    let photo = [
        ("api_key", key.as_str()),
        ("service_code", &potholes),
        ("jurisdiction_id", "RU-TVE"),
        ("address_string", "г. Тверь, ул. Советская, д. 5"),
        ("description", DESCRIPTION),
        ("media_url", "https://photos.example.org/yama.jpg"),
    ];
    let got = post(app, url, &photo).await;
    assert!(got.error_json(400).contains("media_url"));
    // A repeated parameter.
    let mut twice = pairs(&good);
    twice.push(("service_code", "1"));
    let got = post(app, url, &twice).await;
    assert!(got.error_json(400).contains("service_code"));
    // Not a form.
    let got = read(
        Client::new()
            .post(app.url(url))
            .json(&json!({ "api_key": key, "service_code": code }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    got.error_json(415);

    assert_eq!(total_of(&w).await, before, "a refusal created something");
    // And the good one passes.
    submit(app, &good).await;
    assert_eq!(total_of(&w).await, before + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submissions_are_rate_limited_per_account() {
    let app = spawn_app_with(Backend::Sqlite, |config| {
        config.web.rate_limits.submit_per_account = otklik_web::config::Rate::new(1, 1);
    })
    .await;
    let key = app.token(CITIZEN).await;
    let catalogue: Value = Client::new()
        .get(app.url("/api/v1/catalogue"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let code = catalogue
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["subcategories"].as_array().unwrap())
        .find(|s| s["name"] == TRAFFIC_LIGHT)
        .unwrap()["id"]
        .to_string();
    let form = [
        ("api_key", key.as_str()),
        ("service_code", &code),
        ("jurisdiction_id", "RU-TVE"),
        ("address_string", "г. Тверь, ул. Советская, д. 5"),
        ("description", DESCRIPTION),
        ("attribute[fault]", "Не работает полностью"),
    ];
    let first = post(&app, "/open311/v2/requests.json", &form).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let second = post(&app, "/open311/v2/requests.xml", &form).await;
    second.error_xml(429);
    assert!(second.retry_after.is_some());
}

// --- reading ------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn searches_show_anonymous_callers_only_messages_and_no_texts() {
    let w = World::start(Backend::Sqlite).await;
    let app = &w.app;
    let key = w.citizen.token.clone();
    let light = w.subcategory_id(TRAFFIC_LIGHT).to_string();
    let (message, _) = submit(app, &traffic_light(&key, &light)).await;
    let schedule = w.subcategory_id(SCHEDULE).to_string();
    let bus = [
        ("api_key", key.clone()),
        ("service_code", schedule.clone()),
        ("jurisdiction_id", "RU-TVE".to_owned()),
        ("lat", "56.86".to_owned()),
        ("long", "35.9".to_owned()),
        (
            "description",
            "Автобус 21 не пришёл по расписанию, ждали сорок минут.".to_owned(),
        ),
        ("attribute[transport_kind]", "Автобус".to_owned()),
        ("attribute[route]", "21".to_owned()),
    ];
    let (bus_message, _) = submit(app, &bus).await;
    // An appeal under 59-FZ, through the JSON API: confidential.
    let appeal = w.submit_as(&w.citizen, TRAFFIC_LIGHT, TVER, "appeal").await;
    let appeal = appeal["id"].to_string();
    // Maria's own message.
    let maria = app.token(OTHER_CITIZEN).await;
    let (marias, _) = submit(app, &traffic_light(&maria, &light)).await;

    // Anonymous: every message (defaults: the last 90 days), no appeal, no text, no place.
    let list = get(app, "/open311/v2/requests.json").await.ok_json();
    let ids = ids_of(&list);
    for id in [&message, &bus_message, &marias] {
        assert!(ids.contains(id), "{id} not in {ids:?}");
    }
    assert!(!ids.contains(&appeal), "an appeal shown anonymously");
    let first = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["service_request_id"] == message.as_str())
        .unwrap();
    assert_eq!(first["status"], "open");
    assert_eq!(first["service_code"], light);
    assert_eq!(first["service_name"], TRAFFIC_LIGHT);
    assert_eq!(first["agency_responsible"], CITY);
    for field in [
        "requested_datetime",
        "updated_datetime",
        "expected_datetime",
    ] {
        let t = first[field].as_str().unwrap();
        assert!(
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).is_ok(),
            "{field}: {t}"
        );
    }
    let anonymous = list.to_string();
    for private in [
        "description",
        "address",
        "media_url",
        "lat",
        "status_notes",
        "Светофор на",
        "Советская",
    ] {
        assert!(
            !anonymous.contains(private),
            "«{private}» shown anonymously"
        );
    }
    // Newest first.
    let pos = |id: &str| ids.iter().position(|x| x == id).unwrap();
    assert!(pos(&marias) < pos(&message));

    // With Ivan's key: his own, the appeal included, with texts; not Maria's.
    let list = get(app, &format!("/open311/v2/requests.json?api_key={key}"))
        .await
        .ok_json();
    let ids = ids_of(&list);
    assert!(ids.contains(&message) && ids.contains(&bus_message) && ids.contains(&appeal));
    assert!(
        !ids.contains(&marias),
        "another citizen's message in a keyed list"
    );
    let mine = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["service_request_id"] == message.as_str())
        .unwrap();
    assert!(mine["description"]
        .as_str()
        .unwrap()
        .starts_with(DESCRIPTION));
    assert_eq!(mine["status_notes"], "Зарегистрировано.");

    // Filters: service_code, status, dates, region.
    let only_bus = get(
        app,
        &format!("/open311/v2/requests.json?service_code={schedule}"),
    )
    .await
    .ok_json();
    assert_eq!(ids_of(&only_bus), [bus_message.as_str()]);
    // A message awaiting the citizen's clarification is open (its clock is paused).
    let official = w.official(CITY).await;
    let maria_id = json!(marias.parse::<i64>().unwrap());
    let (status, body) = official
        .post(&path(&maria_id, "take-into-work"), json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    let question = json!({ "reason": "Уточните, пожалуйста, номер дома." });
    let (status, body) = official
        .post(&path(&maria_id, "request-clarification"), question)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "awaiting_clarification");
    let open = get(app, "/open311/v2/requests.json?status=open")
        .await
        .ok_json();
    assert!(ids_of(&open).contains(&message));
    assert!(ids_of(&open).contains(&marias), "{open}");
    let closed = get(app, "/open311/v2/requests.json?status=closed")
        .await
        .ok_json();
    assert!(ids_of(&closed).is_empty(), "{closed}");
    let both = get(app, "/open311/v2/requests.json?status=open,closed")
        .await
        .ok_json();
    assert_eq!(ids_of(&both).len(), 3);
    let now = time::OffsetDateTime::now_utc();
    let fmt = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let around = format!(
        "/open311/v2/requests.json?start_date={}&end_date={}",
        fmt(now - time::Duration::hours(1)),
        fmt(now + time::Duration::hours(1))
    );
    assert_eq!(ids_of(&get(app, &around).await.ok_json()).len(), 3);
    let later = format!(
        "/open311/v2/requests.json?start_date={}",
        fmt(now + time::Duration::days(1))
    );
    assert!(ids_of(&get(app, &later).await.ok_json()).is_empty());
    // An offset's unencoded `+` arrives as a space and is still understood.
    let plus = format!(
        "/open311/v2/requests.json?start_date={}",
        (now - time::Duration::days(1))
            .to_offset(time::macros::offset!(+3))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    );
    assert_eq!(ids_of(&get(app, &plus).await.ok_json()).len(), 3);
    let nsk = get(app, "/open311/v2/requests.json?jurisdiction_id=RU-NVS")
        .await
        .ok_json();
    assert!(ids_of(&nsk).is_empty());
    let tver = get(app, "/open311/v2/requests.json?jurisdiction_id=ru-tve")
        .await
        .ok_json();
    assert_eq!(ids_of(&tver).len(), 3);

    // By ids: the others filters are ignored; anonymous callers still get no appeal.
    let wanted = format!("{message},{appeal}, {bus_message},{message},999999");
    let by_ids = get(
        app,
        &format!("/open311/v2/requests.json?service_request_id={wanted}&status=closed"),
    )
    .await
    .ok_json();
    assert_eq!(ids_of(&by_ids), [message.clone(), bus_message.clone()]);
    assert!(!by_ids.to_string().contains("description"));
    let by_ids = get(
        app,
        &format!("/open311/v2/requests.json?service_request_id={wanted}&api_key={key}"),
    )
    .await
    .ok_json();
    assert_eq!(
        ids_of(&by_ids),
        [message.clone(), appeal.clone(), bus_message.clone()]
    );
    let first = &by_ids[0];
    assert_eq!(first["address"], "г. Тверь, ул. Советская, д. 5");
    assert_eq!(first["lat"], 56.8587);
    assert_eq!(first["long"], 35.9176);
    // The bus form has no address field: the coordinates went into the text.
    assert_eq!(by_ids[2]["lat"], 56.86);

    // XML: the same list.
    let got = get(app, "/open311/v2/requests.xml").await;
    assert_eq!(got.status, 200);
    let xml = got.xml();
    assert!(xml.contains("<service_requests><request>"), "{xml}");
    let xml_ids = texts(xml, "service_request_id");
    assert!(xml_ids.contains(&message) && !xml_ids.contains(&appeal));
    assert!(!xml.contains("<description>"));

    // Bad filters.
    for (query, name) in [
        ("status=pending", "status"),
        ("start_date=yesterday", "start_date"),
        ("end_date=2026-13-45", "end_date"),
        ("start_date=2026-05-02&end_date=2026-05-01", "end_date"),
        ("start_date=2026-01-01&end_date=2026-06-01", "90"),
        ("service_code=abc", "service_code"),
        ("service_request_id=1,x", "service_request_id"),
        ("jurisdiction_id=RU-XXX", "jurisdiction_id"),
        ("status=open&status=closed", "status"),
    ] {
        let got = get(app, &format!("/open311/v2/requests.json?{query}")).await;
        let described = got.error_json(400);
        assert!(described.contains(name), "{query}: {described}");
        let got = get(app, &format!("/open311/v2/requests.xml?{query}")).await;
        got.error_xml(400);
    }
    let many: Vec<String> = (1..=101).map(|i| i.to_string()).collect();
    let got = get(
        app,
        &format!(
            "/open311/v2/requests.json?service_request_id={}",
            many.join(",")
        ),
    )
    .await;
    got.error_json(400);
    // An invalid key is refused, not ignored.
    let got = get(app, "/open311/v2/requests.json?api_key=forged").await;
    assert!(got.error_json(403).contains("api_key"));
    let got = get(app, "/open311/v2/requests.xml?api_key=forged").await;
    got.error_xml(403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_request_and_tokens_follow_the_same_visibility() {
    let w = World::start(Backend::Sqlite).await;
    let app = &w.app;
    let key = w.citizen.token.clone();
    let light = w.subcategory_id(TRAFFIC_LIGHT).to_string();
    let (id, token) = submit(app, &traffic_light(&key, &light)).await;
    let appeal = w.submit_as(&w.citizen, TRAFFIC_LIGHT, TVER, "appeal").await;
    let appeal_id = appeal["id"].to_string();
    let appeal_token = appeal["number"].as_str().unwrap().to_owned();

    // Anonymous: the summary of a message.
    let one = get(app, &format!("/open311/v2/requests/{id}.json"))
        .await
        .ok_json();
    let r = &one[0];
    assert_eq!(r["service_request_id"], id.as_str());
    assert_eq!(r["status"], "open");
    assert_eq!(r["agency_responsible"], CITY);
    for private in ["description", "address", "lat", "media_url", "status_notes"] {
        assert!(r.get(private).is_none(), "{private} shown anonymously: {r}");
    }
    // With the author's key: everything, the place and photo link read back.
    let one = get(
        app,
        &format!("/open311/v2/requests/{id}.json?api_key={key}"),
    )
    .await
    .ok_json();
    let r = &one[0];
    assert!(r["description"].as_str().unwrap().starts_with(DESCRIPTION));
    assert_eq!(r["address"], "г. Тверь, ул. Советская, д. 5");
    assert_eq!(r["lat"], 56.8587);
    assert_eq!(r["long"], 35.9176);
    assert_eq!(
        r["media_url"],
        "https://photos.example.org/svetofor.jpg?size=big&x=1"
    );
    assert_eq!(r["status_notes"], "Зарегистрировано.");
    // The same in XML, escaped.
    let got = get(app, &format!("/open311/v2/requests/{id}.xml?api_key={key}")).await;
    assert_eq!(got.status, 200);
    let xml = got.xml();
    assert!(xml.contains("size=big&amp;x=1"), "{xml}");
    assert_eq!(
        texts(xml, "media_url"),
        ["https://photos.example.org/svetofor.jpg?size=big&x=1"]
    );
    // Another citizen's key shows no more than no key.
    let maria = app.token(OTHER_CITIZEN).await;
    let one = get(
        app,
        &format!("/open311/v2/requests/{id}.json?api_key={maria}"),
    )
    .await
    .ok_json();
    assert!(one[0].get("description").is_none());

    // The appeal: only for those who may read it.
    let got = get(app, &format!("/open311/v2/requests/{appeal_id}.json")).await;
    got.error_json(404);
    let got = get(app, &format!("/open311/v2/requests/{appeal_id}.xml")).await;
    got.error_xml(404);
    let got = get(
        app,
        &format!("/open311/v2/requests/{appeal_id}.json?api_key={maria}"),
    )
    .await;
    got.error_json(404);
    let one = get(
        app,
        &format!("/open311/v2/requests/{appeal_id}.json?api_key={key}"),
    )
    .await
    .ok_json();
    assert_eq!(one[0]["service_request_id"], appeal_id.as_str());
    // The holding official sees it too, with the text.
    let official = w.official(CITY).await;
    let one = get(
        app,
        &format!(
            "/open311/v2/requests/{appeal_id}.json?api_key={}",
            official.token
        ),
    )
    .await
    .ok_json();
    assert!(one[0]["description"].as_str().is_some());

    // Closed, with the ground of the rejection in the notes.
    let reject = json!({ "ground": "unreadable_text", "comment": "Текст не удалось прочитать." });
    let (status, body) = official
        .post(&path(&json!(id.parse::<i64>().unwrap()), "reject"), reject)
        .await;
    assert_eq!(status, 200, "{body}");
    let one = get(
        app,
        &format!("/open311/v2/requests/{id}.json?api_key={key}"),
    )
    .await
    .ok_json();
    assert_eq!(one[0]["status"], "closed");
    assert_eq!(
        one[0]["status_notes"],
        "Оставлено без ответа по существу. Основание: Текст не поддаётся прочтению."
    );
    let list = get(
        app,
        &format!("/open311/v2/requests.json?status=closed&api_key={key}"),
    )
    .await
    .ok_json();
    assert_eq!(ids_of(&list), [id.as_str()]);
    assert_eq!(list[0]["status_notes"], one[0]["status_notes"]);
    let list = get(app, "/open311/v2/requests.json?status=closed")
        .await
        .ok_json();
    assert_eq!(ids_of(&list), [id.as_str()]);

    // Tokens are registration numbers.
    let t = get(app, &format!("/open311/v2/tokens/{token}.json"))
        .await
        .ok_json();
    assert_eq!(t, json!([{ "service_request_id": id, "token": token }]));
    let got = get(app, &format!("/open311/v2/tokens/{token}.xml")).await;
    assert_eq!(got.status, 200);
    let xml = got.xml();
    assert_eq!(texts(xml, "service_request_id"), [id.as_str()]);
    assert_eq!(texts(xml, "token"), [token.as_str()]);
    let (year, number) = token.split_once('-').unwrap();
    let wrong_year = format!("{}-{number}", year.parse::<i32>().unwrap() - 1);
    get(app, &format!("/open311/v2/tokens/{wrong_year}.json"))
        .await
        .error_json(404);
    get(app, &format!("/open311/v2/tokens/{appeal_token}.json"))
        .await
        .error_json(404);
    let t = get(
        app,
        &format!("/open311/v2/tokens/{appeal_token}.json?api_key={key}"),
    )
    .await
    .ok_json();
    assert_eq!(t[0]["service_request_id"], appeal_id.as_str());
    get(app, "/open311/v2/tokens/2026-9999999.xml")
        .await
        .error_xml(404);
    get(app, "/open311/v2/tokens/nonsense.json")
        .await
        .error_json(404);
    get(app, "/open311/v2/requests/999999.json")
        .await
        .error_json(404);
    get(app, "/open311/v2/requests/abc.xml")
        .await
        .error_xml(404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_gets_a_clear_4xx_never_a_500() {
    let w = World::start(Backend::Sqlite).await;
    let app = &w.app;
    for (path, status) in [
        ("/open311/v2/requests", 404),
        ("/open311/v2/requests.csv", 404),
        ("/open311/v2/requests.JSON", 404),
        ("/open311/v2/.json", 404),
        ("/open311/v2/nothing.json", 404),
        ("/open311/v2/nothing.xml", 404),
        ("/open311/v2/services/%FF%FE.json", 404),
        ("/open311/v2/services/1%00.json", 404),
        ("/open311/v2/requests/%2e%2e%2f.json", 404),
        ("/open311/v2/requests/-1.json", 404),
        ("/open311/v2/requests/99999999999999999999999.json", 404),
        ("/open311/v2/tokens/2026-.json", 404),
        ("/open311/v2/requests.json?start_date=%00", 400),
        ("/open311/v2/requests.json?start_date=%FF%FE", 400),
        ("/open311/v2/requests.json?service_request_id=%00", 400),
        ("/open311/v2/requests.json?api_key=%00", 403),
        ("/open311/v2/requests.json?api_key=a.b.c", 403),
        (
            "/open311/v2/requests.json?jurisdiction_id=%F0%9F%98%80",
            400,
        ),
        ("/open311/v2/requests.json?status=%F0%9F%98%80", 400),
        ("/open311/v2/requests.json?&&&=&=", 200),
        ("/open311/v2/requests.json?start_date=9999-12-31T23:59:59Z", 400),
        ("/open311/v2/requests.json?end_date=-0001-01-01T00:00:00Z", 400),
        ("/open311/v2/requests.json?end_date=0000-01-01T00:00:00Z", 200),
        (
            "/open311/v2/requests.json?start_date=9999-12-31T23:59:59Z&end_date=9999-12-31T23:59:59.999Z",
            200,
        ),
        (
            "/open311/v2/requests.json?start_date=0000-01-01&end_date=9999-12-31",
            400,
        ),
        (
            "/open311/v2/services.json?jurisdiction_id=99999999999999999999999",
            400,
        ),
    ] {
        let got = get(app, path).await;
        assert_eq!(got.status, status, "{path}: {}", got.body);
        // In the format the suffix asks for; JSON when the suffix is not understood.
        let xml = path.split('?').next().unwrap().ends_with(".xml");
        match (status, xml) {
            (200, _) => {}
            (_, true) => {
                got.error_xml(status);
            }
            (_, false) => {
                got.error_json(status);
            }
        }
    }
    // Wrong methods: 405 in the spec's format.
    let got = read(
        Client::new()
            .put(app.url("/open311/v2/requests.xml"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    got.error_xml(405);
    assert_eq!(got.allow.as_deref(), Some("GET, POST"));
    let got = post(app, "/open311/v2/discovery.json", &[]).await;
    got.error_json(405);
    assert_eq!(got.allow.as_deref(), Some("GET"));
    let got = read(
        Client::new()
            .delete(app.url("/open311/v2/services/1.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    got.error_json(405);
    // Bodies: empty, binary, huge, multipart, attribute names that do not parse.
    let got = post(app, "/open311/v2/requests.json", &[]).await;
    got.error_json(400);
    let got = read(
        Client::new()
            .post(app.url("/open311/v2/requests.json"))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(vec![0xFFu8, 0xFE, 0x00, b'=', b'&', 0x80])
            .send()
            .await
            .unwrap(),
    )
    .await;
    got.error_json(400);
    let got = read(
        Client::new()
            .post(app.url("/open311/v2/requests.json"))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(format!("description={}", "я".repeat(100_000)))
            .send()
            .await
            .unwrap(),
    )
    .await;
    got.error_json(413);
    let form = reqwest::multipart::Form::new().text("service_code", "1");
    let got = read(
        Client::new()
            .post(app.url("/open311/v2/requests.xml"))
            .multipart(form)
            .send()
            .await
            .unwrap(),
    )
    .await;
    got.error_xml(415);
    let key = w.citizen.token.clone();
    let code = w.subcategory_id(TRAFFIC_LIGHT).to_string();
    for name in [
        "attribute[",
        "attribute[]",
        "attribute[fault]x",
        "attribute[fault][][]",
    ] {
        let good = traffic_light(&key, &code);
        let mut form = pairs(&good);
        form.push((name, "1"));
        let got = post(app, "/open311/v2/requests.json", &form).await;
        assert!(got.error_json(400).contains("attribute["), "{name}");
    }
    for (name, value) in [
        ("lat", "1e400"),
        ("lat", "inf"),
        ("long", "-181"),
        ("address_string", "a\u{0}b"),
        ("address_id", "\u{7}"),
        (
            "description",
            "\u{1}\u{2}\u{3}\u{4}\u{5}\u{6}\u{7}\u{8}\u{b}\u{c}\u{e}",
        ),
        ("media_url", "https://a b.example"),
        ("jurisdiction_id", "' OR 1=1 --"),
        ("service_code", "1 OR 1=1"),
    ] {
        let form = with(&traffic_light(&key, &code), name, value);
        let got = post(app, "/open311/v2/requests.json", &pairs(&form)).await;
        got.error_json(400);
    }
    // The ordinary 404 page still answers outside the endpoints.
    let got = get(app, "/open311/v3/discovery.json").await;
    assert_eq!(got.status, 404);
}
