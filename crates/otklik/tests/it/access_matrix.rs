//! Every route × every role. One table ([`matrix`]) holds a row per route, as the routers
//! declare it (method and path template), and a column per principal with what that
//! principal gets. The expectations follow the policy (`otklik_domain::access` and
//! `lifecycle::can_view` / `may_act`), not the code: where the two disagree, the test
//! fails and prints every disagreement as a table, never stopping at the first.
//!
//! The world is set up once: citizen Ivan's message about a broken traffic light in
//! Тверская область, routed to the city administration, with a photo; taken into work,
//! answered, its answer returned by the coordinator (an incident, then resolved by the
//! operator) and finally rejected. A rejected submission is final, so every action on it
//! with a valid body is refused either by the policy (403, or 404 for those who may not
//! see it) or, for those who may act, by the status machine (409): the matrix changes
//! nothing and can run in any order. Other state-changing routes get an empty or invalid
//! form (422 after the permission check), an id that does not exist (404 after it), or a
//! change that is already so (enabling an enabled account).
//!
//! Outcome classes: `ok` is 2xx or a redirect elsewhere than the login page; `lgn` is a
//! page's 303 to `/login` (the widget's: to its own sign-in, `/widget/{org}/login`) or the
//! API's 401; `403`, `404` (hidden: another organisation's
//! or region's submission is answered as if it did not exist), or an exact status.
//! Pages are for people: an integration client there is anonymous (it sends its key, its
//! bearer token and even its token as the session cookie, and all are ignored). Every
//! page form carries the principal's valid CSRF token, so refusals come from the policy.
//!
//! [`every_route_has_a_row`] reads the router sources and fails when a route has no row
//! (or a row no longer names a route). `ACCESS_MATRIX_PRINT=1` prints every answer
//! (status, redirect target or problem code) of the whole matrix.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use otklik_domain::access::ApiScope;
use otklik_domain::text::PersonName;
use otklik_domain::{OrgId, UserId};
use reqwest::header::{CONTENT_TYPE, LOCATION};
use reqwest::multipart::Form;
use reqwest::redirect::Policy;
use reqwest::{Client, Method, RequestBuilder};
use serde_json::{json, Value};

use crate::support::{
    csrf_in, spawn_app, TestApp, CITIZEN, DEMO_PASSWORD, OPERATOR, OTHER_CITIZEN, PNG_1X1,
};

/// No photo required; routed in Тверская область to the city administration.
const TRAFFIC_LIGHT: &str = "Неработающий светофор";
const POTHOLES: &str = "Ямы и выбоины на дороге";
const TVER: &str = "Тверская область";
const CITY: &str = "Администрация города Твери";
const TRANSPORT: &str = "Министерство транспорта Тверской области";
const NSK_CITY: &str = "Мэрия города Новосибирска";
const ORG_ADMIN: &str = "admin.tver-city@demo.otklik.local";
const COORDINATOR: &str = "coordinator.tver@demo.otklik.local";
const OTHER_COORDINATOR: &str = "coordinator.nsk@demo.otklik.local";
const ANALYST: &str = "analyst@demo.otklik.local";
const AUTHOR_NAME: &str = "Иван Петров";
const TEXT: &str = "Светофор на перекрёстке Советской и Горького не работает третий день.";
const UNVERIFIED_EMAIL: &str = "matrix.unverified@example.ru";
const UNVERIFIED_PASSWORD: &str = "matrix-pass-2026";
/// A site registered for the city administration's widget, and one that is not.
const WIDGET_SITE: &str = "https://widget.matrix.example";
const OTHER_SITE: &str = "https://elsewhere.matrix.example";

// --- principals -------------------------------------------------------------------------------

/// Who asks. The column order of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Anonymous,
    /// Ivan, the author (verified identity).
    Author,
    /// Maria, another citizen (standard identity).
    OtherCitizen,
    /// A citizen registered here with an e-mail address only.
    Unverified,
    /// The official of the organisation holding the submission (the city administration).
    Official,
    /// An official of another organisation of the same region (the transport ministry).
    OtherOrgOfficial,
    /// An official of another region (the mayor's office of Novosibirsk).
    OtherRegionOfficial,
    /// The administrator of the holding organisation (separation of duties: no reading).
    OrgAdmin,
    /// The coordinator of Тверская область.
    Coordinator,
    /// The coordinator of Новосибирская область.
    OtherCoordinator,
    Operator,
    /// The ministry's analyst: aggregates only.
    Analyst,
    /// The holding organisation's system with `submissions:read` (OAuth token).
    ClientRead,
    /// The holding organisation's system with both scopes (API key).
    ClientReadWrite,
    /// The holding organisation's system with `submissions:write` only (API key).
    ClientWrite,
    /// Another organisation's system (the transport ministry's) with both scopes (OAuth token).
    OtherClient,
}

const PRINCIPALS: [Who; 16] = [
    Who::Anonymous,
    Who::Author,
    Who::OtherCitizen,
    Who::Unverified,
    Who::Official,
    Who::OtherOrgOfficial,
    Who::OtherRegionOfficial,
    Who::OrgAdmin,
    Who::Coordinator,
    Who::OtherCoordinator,
    Who::Operator,
    Who::Analyst,
    Who::ClientRead,
    Who::ClientReadWrite,
    Who::ClientWrite,
    Who::OtherClient,
];

impl Who {
    /// The column's heading in the table below.
    fn column(self) -> &'static str {
        match self {
            Self::Anonymous => "anon",
            Self::Author => "ivan",
            Self::OtherCitizen => "mari",
            Self::Unverified => "unvr",
            Self::Official => "offl",
            Self::OtherOrgOfficial => "ooff",
            Self::OtherRegionOfficial => "oreg",
            Self::OrgAdmin => "oadm",
            Self::Coordinator => "crdT",
            Self::OtherCoordinator => "crdN",
            Self::Operator => "oper",
            Self::Analyst => "anal",
            Self::ClientRead => "c-ro",
            Self::ClientReadWrite => "c-rw",
            Self::ClientWrite => "c-wo",
            Self::OtherClient => "c-xo",
        }
    }

    fn is_client(self) -> bool {
        matches!(
            self,
            Self::ClientRead | Self::ClientReadWrite | Self::ClientWrite | Self::OtherClient
        )
    }
}

/// How a principal proves who it is.
#[derive(Clone)]
enum ApiAuth {
    Bearer(String),
    Key(String),
}

impl ApiAuth {
    fn apply(&self, rb: RequestBuilder) -> RequestBuilder {
        match self {
            Self::Bearer(token) => rb.bearer_auth(token),
            Self::Key(key) => rb.header("x-api-key", key),
        }
    }
}

#[derive(Clone)]
enum Credentials {
    None,
    Password {
        email: String,
        password: String,
    },
    Client {
        id: String,
        secret: String,
        by_key: bool,
    },
}

/// A principal with its browser (cookies kept, redirects not followed), the CSRF token of
/// that browser's forms, and its API credential.
#[derive(Clone)]
struct Principal {
    who: Who,
    creds: Credentials,
    page: Client,
    csrf: String,
    api: Option<ApiAuth>,
}

impl Principal {
    async fn new(app: &TestApp, who: Who, creds: Credentials) -> Self {
        match &creds {
            Credentials::None => {
                let page = app.browser();
                let csrf = csrf_of(app, &page, None).await;
                Self {
                    who,
                    creds,
                    page,
                    csrf,
                    api: None,
                }
            }
            Credentials::Password { email, password } => {
                let (page, csrf) = sign_in(app, email, password).await;
                let api = Some(ApiAuth::Bearer(api_token(app, email, password).await));
                Self {
                    who,
                    creds,
                    page,
                    csrf,
                    api,
                }
            }
            Credentials::Client { id, secret, by_key } => {
                let auth = if *by_key {
                    ApiAuth::Key(format!("{id}.{secret}"))
                } else {
                    ApiAuth::Bearer(oauth_token(app, id, secret).await)
                };
                let page = client_browser(app, &auth);
                let csrf = csrf_of(app, &page, Some(&auth)).await;
                Self {
                    who,
                    creds,
                    page,
                    csrf,
                    api: Some(auth),
                }
            }
        }
    }

    /// A copy with a credential of its own, for the rows that end it (logout, token
    /// revocation), so that the others keep theirs.
    async fn fresh(&self, app: &TestApp, fresh: Fresh) -> Self {
        match (fresh, &self.creds) {
            (Fresh::PageSession, Credentials::Password { email, password }) => {
                let (page, csrf) = sign_in(app, email, password).await;
                Self {
                    page,
                    csrf,
                    ..self.clone()
                }
            }
            (Fresh::PageSession, Credentials::None) => {
                Self::new(app, self.who, Credentials::None).await
            }
            (Fresh::ApiToken, Credentials::Password { email, password }) => Self {
                api: Some(ApiAuth::Bearer(api_token(app, email, password).await)),
                ..self.clone()
            },
            (
                Fresh::ApiToken,
                Credentials::Client {
                    id,
                    secret,
                    by_key: false,
                },
            ) => Self {
                api: Some(ApiAuth::Bearer(oauth_token(app, id, secret).await)),
                ..self.clone()
            },
            // A scoped token never opens a page session (nothing to end there), and an
            // API key is not a session.
            _ => self.clone(),
        }
    }
}

async fn csrf_of(app: &TestApp, page: &Client, auth: Option<&ApiAuth>) -> String {
    let mut rb = page.get(app.url("/login"));
    if let Some(auth) = auth {
        rb = auth.apply(rb);
    }
    let r = rb.send().await.unwrap();
    assert_eq!(r.status(), 200);
    csrf_in(&r.text().await.unwrap())
}

/// A browser signed in through the login form, and its (session-bound) CSRF token.
async fn sign_in(app: &TestApp, email: &str, password: &str) -> (Client, String) {
    let page = app.browser();
    let r = crate::support::page_login(app, &page, email, password).await;
    assert_eq!(r.status(), 303, "login of {email}");
    let csrf = csrf_of(app, &page, None).await;
    (page, csrf)
}

/// A browser for an integration client: its OAuth token planted as the session cookie.
fn client_browser(app: &TestApp, auth: &ApiAuth) -> Client {
    let jar = Arc::new(reqwest::cookie::Jar::default());
    if let ApiAuth::Bearer(token) = auth {
        jar.add_cookie_str(
            &format!("{}={token}; Path=/", otklik_web::auth::SESSION_COOKIE),
            &app.base.parse().unwrap(),
        );
    }
    Client::builder()
        .cookie_provider(jar)
        .redirect(Policy::none())
        .build()
        .unwrap()
}

async fn api_token(app: &TestApp, email: &str, password: &str) -> String {
    let r = Client::new()
        .post(app.url("/api/v1/auth/token"))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "token of {email}");
    let body: Value = r.json().await.unwrap();
    body["token"].as_str().unwrap().to_owned()
}

async fn oauth_token(app: &TestApp, id: &str, secret: &str) -> String {
    let r = Client::new()
        .post(app.url("/api/v1/oauth/token"))
        .basic_auth(id, Some(secret))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "token of client {id}");
    let body: Value = r.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

// --- the table ----------------------------------------------------------------------------------

/// What a request gets, as a class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// 2xx, or a redirect elsewhere than the login page.
    Ok,
    /// Pages: 303 to `/login`; API: 401.
    Login,
    Forbidden,
    /// 404: absent, or not to be known.
    Hidden,
    Status(u16),
    /// A 403 from the CSRF check: the test's own fault, never what a row expects.
    Csrf,
}

impl Outcome {
    fn parse(token: &str, api: bool) -> Self {
        match token {
            "ok" => Self::Ok,
            "lgn" => Self::Login,
            "403" => Self::Forbidden,
            "404" => Self::Hidden,
            "401" if api => Self::Login,
            n => Self::Status(
                n.parse()
                    .unwrap_or_else(|_| panic!("unknown outcome «{n}»")),
            ),
        }
    }

    fn of(api: bool, status: u16, location: &str, body: &str) -> Self {
        match status {
            200..=299 => Self::Ok,
            300..=399 if location == "/login" || location.starts_with("/login?") => Self::Login,
            300..=399 if is_widget_login(location) => Self::Login,
            300..=399 => Self::Ok,
            401 if api => Self::Login,
            403 if body.contains("csrf_failed") || body.contains("Форма устарела") => {
                Self::Csrf
            }
            403 => Self::Forbidden,
            404 => Self::Hidden,
            s => Self::Status(s),
        }
    }
}

/// The widget's sign-in page, `/widget/{org}/login?…`.
fn is_widget_login(location: &str) -> bool {
    location.starts_with("/widget/")
        && location
            .split('?')
            .next()
            .is_some_and(|path| path.ends_with("/login"))
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ok => write!(f, "ok"),
            Self::Login => write!(f, "login"),
            Self::Forbidden => write!(f, "403"),
            Self::Hidden => write!(f, "404"),
            Self::Status(s) => write!(f, "{s}"),
            Self::Csrf => write!(f, "403 csrf!"),
        }
    }
}

#[derive(Clone)]
enum Body {
    None,
    Json(Value),
    /// URL-encoded; the principal's CSRF token is added.
    Form(Vec<(String, String)>),
    /// Multipart; the principal's CSRF token is added.
    Multipart(Vec<(String, String)>),
    /// A body sent as is, with its content type.
    Raw(&'static str, &'static str),
}

/// Rows whose request ends the credential it is sent with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fresh {
    No,
    PageSession,
    ApiToken,
}

struct Row {
    method: Method,
    /// The path as the router declares it (with `/api/v1` for the API).
    template: &'static str,
    /// The path requested.
    path: String,
    body: Body,
    fresh: Fresh,
    expect: Vec<Outcome>,
}

impl Row {
    fn api(&self) -> bool {
        self.template.starts_with("/api/v1/")
    }

    fn query(mut self, query: &str) -> Self {
        self.path.push('?');
        self.path.push_str(query);
        self
    }

    fn json(mut self, body: Value) -> Self {
        self.body = Body::Json(body);
        self
    }

    fn form(mut self, pairs: &[(&str, &str)]) -> Self {
        self.body = Body::Form(owned(pairs));
        self
    }

    fn multipart(mut self, pairs: &[(&str, &str)]) -> Self {
        self.body = Body::Multipart(owned(pairs));
        self
    }

    fn raw(mut self, content_type: &'static str, body: &'static str) -> Self {
        self.body = Body::Raw(content_type, body);
        self
    }

    fn fresh(mut self, fresh: Fresh) -> Self {
        self.fresh = fresh;
        self
    }

    fn name(&self) -> String {
        let shown = if self.path == self.template {
            String::new()
        } else {
            format!("  [{}]", self.path)
        };
        format!("{} {}{shown}", self.method, self.template)
    }
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The template with its `{…}` segments replaced by `args`, in order.
fn fill(template: &str, args: &[&str]) -> String {
    let mut out = String::new();
    let mut rest = template;
    let mut args = args.iter();
    while let Some(open) = rest.find('{') {
        let close = open + rest[open..].find('}').unwrap();
        out.push_str(&rest[..open]);
        out.push_str(
            args.next()
                .unwrap_or_else(|| panic!("{template}: too few arguments")),
        );
        rest = &rest[close + 1..];
    }
    assert!(args.next().is_none(), "{template}: too many arguments");
    out.push_str(rest);
    out
}

fn row(method: Method, template: &'static str, args: &[&str], expect: &str) -> Row {
    let api = template.starts_with("/api/v1/");
    let expect: Vec<Outcome> = expect
        .split_whitespace()
        .map(|t| Outcome::parse(t, api))
        .collect();
    assert_eq!(
        expect.len(),
        PRINCIPALS.len(),
        "{method} {template}: one outcome per principal"
    );
    Row {
        path: fill(template, args),
        method,
        template,
        body: Body::None,
        fresh: Fresh::No,
        expect,
    }
}

fn get(template: &'static str, args: &[&str], expect: &str) -> Row {
    row(Method::GET, template, args, expect)
}

fn post(template: &'static str, args: &[&str], expect: &str) -> Row {
    row(Method::POST, template, args, expect)
}

fn put(template: &'static str, args: &[&str], expect: &str) -> Row {
    row(Method::PUT, template, args, expect)
}

fn delete(template: &'static str, args: &[&str], expect: &str) -> Row {
    row(Method::DELETE, template, args, expect)
}

/// The ids the rows need (as text: they go into paths).
#[derive(Debug, Clone, Default)]
struct Ids {
    submission: String,
    file: String,
    receipt: String,
    incident: String,
    subcategory: String,
    other_subcategory: String,
    category: String,
    tver: String,
    city: String,
    transport: String,
    city_official: String,
    transport_official: String,
    other_client: String,
    route: String,
    tree_size: String,
    /// The city administration's open demo survey.
    city_poll: String,
}

/// A number for a JSON body (0 when the id is not known: the completeness check only).
fn n(id: &str) -> i64 {
    id.parse().unwrap_or(0)
}

/// The table. Columns, in the order of [`PRINCIPALS`]:
/// anon, Ivan (author), Maria, the unverified citizen, the holding official, an official
/// of another organisation of the region, an official of another region, the holding
/// organisation's administrator, the coordinator of Тверская область and of
/// Новосибирская область, the operator, the analyst, and the integration clients (holding
/// organisation: read-only, read+write, write-only; another organisation: read+write).
#[rustfmt::skip]
fn matrix(ids: &Ids) -> Vec<Row> {
    let s = ids.submission.as_str();
    let f = ids.file.as_str();
    let city = ids.city.as_str();
    let transport = ids.transport.as_str();
    let sub = ids.subcategory.as_str();
    let receipt = ids.receipt.as_str();
    let incident = ids.incident.as_str();
    let category = ids.category.as_str();
    let tver = ids.tver.as_str();
    let route = ids.route.as_str();
    let tree = ids.tree_size.as_str();
    let city_official = ids.city_official.as_str();
    let transport_official = ids.transport_official.as_str();
    let other_client = ids.other_client.as_str();
    let other_sub = ids.other_subcategory.as_str();
    let city_poll = ids.city_poll.as_str();
    let reason = ("reason", "Проверка прав доступа");
    let text = ("text", "Ответ для проверки прав доступа");
    let api_reason = json!({ "reason": "Проверка прав доступа" });
    let api_text = json!({ "text": "Ответ для проверки прав доступа" });
    let resolution = "Проверено, меры приняты";
    let widget_site = format!("origin={WIDGET_SITE}");
    let other_site = format!("origin={OTHER_SITE}");
    vec![
        // ---- pages: home, accounts ---------------------------------------------------------------------
        //                                                                                   anon ivan mari unvr offl ooff oreg oadm crdT crdN oper anal c-ro c-rw c-wo c-xo
        get("/", &[],                                                                       "ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok"),
        // ---- the widget: its script, and its pages in a frame on the city's registered site ------------
        // The widget has a session of its own (a cookie for /widget only): a portal session,
        // a client's key or token open nothing there, so its pages send everyone to the
        // widget's sign-in. A site that is not registered (or none) is refused first.
        get("/widget.js", &[],                                                              "ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok"),
        get("/widget/{org}", &[city],                                                       "lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn")
            .query(&widget_site),
        get("/widget/{org}", &[city],                                                       "403  403  403  403  403  403  403  403  403  403  403  403  403  403  403  403")
            .query(&other_site),
        get("/widget/{org}", &[city],                                                       "400  400  400  400  400  400  400  400  400  400  400  400  400  400  400  400"),
        get("/widget/{org}", &[transport],                                                  "403  403  403  403  403  403  403  403  403  403  403  403  403  403  403  403")
            .query(&widget_site),
        get("/widget/{org}", &["999999999"],                                                "404  404  404  404  404  404  404  404  404  404  404  404  404  404  404  404")
            .query(&widget_site),
        post("/widget/{org}", &[city],                                                      "lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn")
            .query(&widget_site).multipart(&[]),
        get("/widget/{org}/login", &[city],                                                 "ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok")
            .query(&widget_site),
        post("/widget/{org}/login", &[city],                                                "403  403  403  403  403  403  403  403  403  403  403  403  403  403  403  403")
            .query(&other_site).form(&[("email", ""), ("password", "")]),
        post("/widget/{org}/logout", &[city],                                               "lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn")
            .query(&widget_site).form(&[]),
        get("/widget/{org}/my", &[city],                                                    "lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn")
            .query(&widget_site),
        // The organisation's polls are public within a registered frame (as on the portal);
        // voting needs a citizen signed in to the widget. Another organisation's poll (or
        // none) does not exist in this organisation's widget.
        get("/widget/{org}/polls", &[city],                                                 "ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok")
            .query(&widget_site),
        get("/widget/{org}/polls", &[city],                                                 "403  403  403  403  403  403  403  403  403  403  403  403  403  403  403  403")
            .query(&other_site),
        get("/widget/{org}/polls/{id}", &[city, city_poll],                                 "ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok")
            .query(&widget_site),
        get("/widget/{org}/polls/{id}", &[city, city_poll],                                 "403  403  403  403  403  403  403  403  403  403  403  403  403  403  403  403")
            .query(&other_site),
        get("/widget/{org}/polls/{id}", &[transport, city_poll],                            "403  403  403  403  403  403  403  403  403  403  403  403  403  403  403  403")
            .query(&widget_site),
        get("/widget/{org}/polls/{id}", &[city, "999999999"],                               "404  404  404  404  404  404  404  404  404  404  404  404  404  404  404  404")
            .query(&widget_site),
        post("/widget/{org}/polls/{id}/vote", &[city, city_poll],                           "lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn")
            .query(&widget_site).form(&[("q0", "0")]),
        post("/widget/{org}/polls/{id}/vote", &[city, "999999999"],                         "lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn")
            .query(&widget_site).form(&[]),
        post("/widget/{org}/polls/{id}/vote", &[city, city_poll],                           "403  403  403  403  403  403  403  403  403  403  403  403  403  403  403  403")
            .query(&other_site).form(&[("q0", "0")]),
        get("/login", &[],                                                                  "ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok"),
        post("/login", &[],                                                                 "401  401  401  401  401  401  401  401  401  401  401  401  401  401  401  401")
            .form(&[("email", ""), ("password", "")]),
        get("/register", &[],                                                               "ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok"),
        post("/register", &[],                                                              "422  422  422  422  422  422  422  422  422  422  422  422  422  422  422  422")
            .form(&[]),
        post("/logout", &[],                                                                "ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok")
            .form(&[]).fresh(Fresh::PageSession),
        get("/account", &[],                                                                "lgn  ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   lgn  lgn  lgn  lgn"),
        // ---- pages: notifications (the centre and settings are everyone's own; the links in
        // e-mails act by their signed token alone, so a forged one is 404 for all) ------------------
        get("/account/notifications", &[],                                                  "lgn  ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   lgn  lgn  lgn  lgn"),
        post("/account/notifications/read", &[],                                            "lgn  ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   lgn  lgn  lgn  lgn")
            .form(&[]),
        get("/account/notifications/settings", &[],                                         "lgn  ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   lgn  lgn  lgn  lgn"),
        post("/account/notifications/settings", &[],                                        "lgn  400  400  400  400  400  400  400  400  400  400  400  lgn  lgn  lgn  lgn")
            .form(&[]),
        post("/account/notifications/home", &[],                                            "lgn  400  400  400  403  403  403  403  403  403  403  403  lgn  lgn  lgn  lgn")
            .form(&[("region", "not-a-number")]),
        get("/unsubscribe/{token}", &["1.answered.forged"],                                 "404  404  404  404  404  404  404  404  404  404  404  404  404  404  404  404"),
        post("/unsubscribe/{token}", &["1.answered.forged"],                                "404  404  404  404  404  404  404  404  404  404  404  404  404  404  404  404")
            .form(&[]),
        get("/n/open/{token}", &["1.1.forged"],                                             "404  404  404  404  404  404  404  404  404  404  404  404  404  404  404  404"),
        // No identity provider is configured here: 404 for whoever gets that far.
        get("/auth/oidc/start", &[],                                                        "404  404  404  404  404  404  404  404  404  404  404  404  404  404  404  404"),
        post("/auth/oidc/link", &[],                                                        "lgn  404  404  404  404  404  404  404  404  404  404  404  lgn  lgn  lgn  lgn")
            .form(&[]),
        get("/auth/oidc/callback", &[],                                                     "404  404  404  404  404  404  404  404  404  404  404  404  404  404  404  404"),
        // ---- pages: electronic documents (one's own; creating and signing need a verified account;
        // a document that does not exist is 404 for whoever may look) ------------------------------------
        get("/documents", &[],                                                              "lgn  ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   lgn  lgn  lgn  lgn"),
        get("/documents/new", &[],                                                          "lgn  ok   403  403  ok   ok   ok   ok   ok   ok   ok   403  lgn  lgn  lgn  lgn"),
        post("/documents/new", &[],                                                         "lgn  422  403  403  422  422  422  422  422  422  422  403  lgn  lgn  lgn  lgn")
            .multipart(&[]),
        get("/documents/{id}", &["999999999"],                                              "lgn  404  404  404  404  404  404  404  404  404  404  404  lgn  lgn  lgn  lgn"),
        post("/documents/{id}/start", &["999999999"],                                       "lgn  404  403  403  404  404  404  404  404  404  404  403  lgn  lgn  lgn  lgn")
            .form(&[]),
        post("/documents/{id}/cancel", &["999999999"],                                      "lgn  404  404  404  404  404  404  404  404  404  404  404  lgn  lgn  lgn  lgn")
            .form(&[]),
        post("/documents/{id}/decline", &["999999999"],                                     "lgn  404  404  404  404  404  404  404  404  404  404  404  lgn  lgn  lgn  lgn")
            .form(&[reason]),
        post("/documents/{id}/sign", &["999999999"],                                        "lgn  404  403  403  404  404  404  404  404  404  404  403  lgn  lgn  lgn  lgn")
            .multipart(&[]),
        get("/documents/{id}/file", &["999999999"],                                         "lgn  404  404  404  404  404  404  404  404  404  404  404  lgn  lgn  lgn  lgn"),
        get("/documents/{id}/signatures/{slot}", &["999999999", "1.p7s"],                   "lgn  404  404  404  404  404  404  404  404  404  404  404  lgn  lgn  lgn  lgn"),
        get("/documents/{id}/verification", &["999999999"],                                 "lgn  404  404  404  404  404  404  404  404  404  404  404  lgn  lgn  lgn  lgn"),
        get("/documents/{id}/package", &["999999999"],                                      "lgn  404  404  404  404  404  404  404  404  404  404  404  lgn  lgn  lgn  lgn"),
        // Only an official of the holder signs its answer, and only an answer in force (this one was rejected).
        post("/submissions/{id}/sign-answer", &[s],                                         "lgn  403  403  403  409  404  404  404  403  404  403  403  lgn  lgn  lgn  lgn")
            .form(&[]),
        get("/account/signing", &[],                                                        "lgn  ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   lgn  lgn  lgn  lgn"),
        post("/account/signing", &[],                                                       "lgn  400  400  400  400  400  400  400  400  400  400  400  lgn  lgn  lgn  lgn")
            .multipart(&[]),
        // Anyone may verify a signature; the platform's authorities are public.
        get("/verify", &[],                                                                 "ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok"),
        post("/verify", &[],                                                                "422  422  422  422  422  422  422  422  422  422  422  422  422  422  422  422")
            .multipart(&[]),
        get("/verify/authorities/{algorithm}", &["ecdsa_p256.pem"],                         "ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok"),
        // ---- pages: search (what lists show: one's own, the organisation's, the region's, everything) ----
        get("/search", &[],                                                                 "lgn  ok   ok   ok   ok   ok   ok   403  ok   ok   ok   403  lgn  lgn  lgn  lgn"),
        get("/search", &[],                                                                 "lgn  ok   ok   ok   ok   ok   ok   403  ok   ok   ok   403  lgn  lgn  lgn  lgn")
            .query("q=%D1%81%D0%B2%D0%B5%D1%82%D0%BE%D1%84%D0%BE%D1%80"),
        // ---- pages: polls (public to read; citizens vote; organisers create and cancel their own) ------------
        get("/polls", &[],                                                                  "ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok"),
        get("/polls/new", &[],                                                              "lgn  403  403  403  ok   ok   ok   ok   403  403  ok   403  lgn  lgn  lgn  lgn"),
        post("/polls/new", &[],                                                             "lgn  403  403  403  422  422  422  422  403  403  422  403  lgn  lgn  lgn  lgn")
            .form(&[]),
        get("/polls/{id}", &["999999999"],                                                  "404  404  404  404  404  404  404  404  404  404  404  404  404  404  404  404"),
        post("/polls/{id}/receipt", &["999999999"],                                         "404  404  404  404  404  404  404  404  404  404  404  404  404  404  404  404")
            .form(&[("ballot", "00000000000000000000000000000000")]),
        get("/polls/{id}/results.csv", &["999999999"],                                      "404  404  404  404  404  404  404  404  404  404  404  404  404  404  404  404"),
        get("/polls/{id}/results.xlsx", &["999999999"],                                     "404  404  404  404  404  404  404  404  404  404  404  404  404  404  404  404"),
        get("/polls/{id}/results", &["999999999"],                                          "404  404  404  404  404  404  404  404  404  404  404  404  404  404  404  404"),
        post("/polls/{id}/vote", &["999999999"],                                            "lgn  404  404  404  403  403  403  403  403  403  403  403  lgn  lgn  lgn  lgn")
            .form(&[]),
        post("/polls/{id}/cancel", &["999999999"],                                          "lgn  404  404  404  404  404  404  404  404  404  404  404  lgn  lgn  lgn  lgn")
            .form(&[]),
        // Photos of a vote's options: its organisers only, before it opens (the city's demo
        // poll is open: 409 poll_not_editable); another organisation's staff see no poll.
        post("/polls/{id}/options/{option}/photos", &[city_poll, "0"],                      "lgn  403  403  403  409  404  404  409  403  403  409  403  lgn  lgn  lgn  lgn")
            .multipart(&[]),
        post("/polls/{id}/questions/{question}/options/{option}/photos", &[city_poll, "0", "0"], "lgn  403  403  403  409  404  404  409  403  403  409  403  lgn  lgn  lgn  lgn")
            .multipart(&[]),
        post("/polls/{id}/photos/{photo}/delete", &[city_poll, "999999999"],                "lgn  403  403  403  409  404  404  409  403  403  409  403  lgn  lgn  lgn  lgn")
            .form(&[]),
        post("/polls/{id}/photos/{photo}/move", &[city_poll, "999999999"],                  "lgn  403  403  403  409  404  404  409  403  403  409  403  lgn  lgn  lgn  lgn")
            .form(&[("direction", "up")]),
        get("/polls/{id}/photos/{photo}", &[city_poll, "999999999"],                        "404  404  404  404  404  404  404  404  404  404  404  404  404  404  404  404"),
        // ---- pages: public discussions (public to read; citizens comment and support; organisers moderate) --
        get("/discussions", &[],                                                            "ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok"),
        get("/discussions/new", &[],                                                        "lgn  403  403  403  ok   ok   ok   ok   403  403  ok   403  lgn  lgn  lgn  lgn"),
        post("/discussions/new", &[],                                                       "lgn  403  403  403  422  422  422  422  403  403  422  403  lgn  lgn  lgn  lgn")
            .form(&[]),
        get("/discussions/{id}", &["999999999"],                                            "404  404  404  404  404  404  404  404  404  404  404  404  404  404  404  404"),
        post("/discussions/{id}/comments", &["999999999"],                                  "lgn  404  404  404  403  403  403  403  403  403  403  403  lgn  lgn  lgn  lgn")
            .form(&[("body", "Поддерживаю")]),
        post("/discussions/{id}/support", &["999999999"],                                   "lgn  404  404  404  403  403  403  403  403  403  403  403  lgn  lgn  lgn  lgn")
            .form(&[("stance", "for")]),
        post("/discussions/{id}/comments/{comment_id}/moderation", &["999999999", "1"],     "lgn  404  404  404  404  404  404  404  404  404  404  404  lgn  lgn  lgn  lgn")
            .form(&[("action", "publish")]),
        // ---- pages: answer templates (an official's own organisation's) --------------------------------
        get("/templates", &[],                                                              "lgn  403  403  403  ok   ok   ok   403  403  403  403  403  lgn  lgn  lgn  lgn"),
        post("/templates", &[],                                                             "lgn  403  403  403  422  422  422  403  403  403  403  403  lgn  lgn  lgn  lgn")
            .form(&[]),
        get("/templates/{id}", &["999999999"],                                              "lgn  403  403  403  404  404  404  403  403  403  403  403  lgn  lgn  lgn  lgn"),
        post("/templates/{id}", &["999999999"],                                             "lgn  403  403  403  422  422  422  403  403  403  403  403  lgn  lgn  lgn  lgn")
            .form(&[]),
        post("/templates/{id}/archive", &["999999999"],                                     "lgn  403  403  403  404  404  404  403  403  403  403  403  lgn  lgn  lgn  lgn")
            .form(&[]),
        // ---- pages: submitting and lists ---------------------------------------------------------------
        get("/submit", &[],                                                                 "ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok"),
        get("/submit/{id}", &[sub],                                                         "lgn  ok   ok   ok   403  403  403  403  403  403  403  403  lgn  lgn  lgn  lgn"),
        post("/submit/{id}", &[sub],                                                        "lgn  422  422  422  403  403  403  403  403  403  403  403  lgn  lgn  lgn  lgn")
            .multipart(&[]),
        // Suggestions while typing: what the form shows, for those who may submit.
        post("/submit/{id}/similar", &[sub],                                                "lgn  ok   ok   ok   403  403  403  403  403  403  403  403  lgn  lgn  lgn  lgn")
            .form(&[("text", "Яма на дороге")]),
        // The citizen's own list is `Capability::ListOwn`: citizens only.
        get("/my", &[],                                                                     "lgn  ok   ok   ok   403  403  403  403  403  403  403  403  lgn  lgn  lgn  lgn"),
        get("/inbox", &[],                                                                  "lgn  403  403  403  ok   ok   ok   403  403  403  403  403  lgn  lgn  lgn  lgn"),
        get("/coordination", &[],                                                           "lgn  403  403  403  403  403  403  403  ok   ok   403  403  lgn  lgn  lgn  lgn"),
        get("/operator", &[],                                                               "lgn  403  403  403  403  403  403  403  403  403  ok   403  lgn  lgn  lgn  lgn"),
        // ---- pages: the submission, its receipt, its file, its actions -------------------------------------
        get("/submissions/{id}", &[s],                                                      "lgn  ok   404  404  ok   404  404  404  ok   404  ok   404  lgn  lgn  lgn  lgn"),
        get("/submissions/{id}/receipts/{index}", &[s, receipt],                            "lgn  ok   404  404  ok   404  404  404  ok   404  ok   404  lgn  lgn  lgn  lgn"),
        get("/files/{id}", &[f],                                                            "lgn  ok   404  404  ok   404  404  404  ok   404  ok   404  lgn  lgn  lgn  lgn"),
        // The holding official's actions.
        post("/submissions/{id}/{action}", &[s, "take-into-work"],                          "lgn  403  404  404  409  404  404  404  403  404  403  404  lgn  lgn  lgn  lgn")
            .multipart(&[]),
        post("/submissions/{id}/{action}", &[s, "intermediate-answer"],                     "lgn  403  404  404  409  404  404  404  403  404  403  404  lgn  lgn  lgn  lgn")
            .multipart(&[text]),
        post("/submissions/{id}/{action}", &[s, "answer"],                                  "lgn  403  404  404  409  404  404  404  403  404  403  404  lgn  lgn  lgn  lgn")
            .multipart(&[text]),
        post("/submissions/{id}/{action}", &[s, "request-clarification"],                   "lgn  403  404  404  409  404  404  404  403  404  403  404  lgn  lgn  lgn  lgn")
            .multipart(&[reason]),
        post("/submissions/{id}/{action}", &[s, "extend"],                                  "lgn  403  404  404  409  404  404  404  403  404  403  404  lgn  lgn  lgn  lgn")
            .multipart(&[("days", "5"), reason]),
        // Holder, coordinator and operator redirect; holder and coordinator reject.
        post("/submissions/{id}/{action}", &[s, "redirect"],                                "lgn  403  404  404  409  404  404  404  409  404  409  404  lgn  lgn  lgn  lgn")
            .multipart(&[("to_org", transport), reason]),
        post("/submissions/{id}/{action}", &[s, "reject"],                                  "lgn  403  404  404  409  404  404  404  409  404  403  404  lgn  lgn  lgn  lgn")
            .multipart(&[("ground", "unreadable_text"), ("comment", "Проверка прав доступа")]),
        // The author's actions, as a citizen.
        post("/submissions/{id}/{action}", &[s, "rate"],                                    "lgn  409  404  404  403  404  404  404  403  404  403  404  lgn  lgn  lgn  lgn")
            .multipart(&[("score", "5"), ("comment", "")]),
        post("/submissions/{id}/{action}", &[s, "send-back"],                               "lgn  409  404  404  403  404  404  404  403  404  403  404  lgn  lgn  lgn  lgn")
            .multipart(&[reason]),
        post("/submissions/{id}/{action}", &[s, "clarify"],                                 "lgn  409  404  404  403  404  404  404  403  404  403  404  lgn  lgn  lgn  lgn")
            .multipart(&[text]),
        // Moderation: the region's coordinator and the operator.
        post("/submissions/{id}/{action}", &[s, "return-answer"],                           "lgn  403  404  404  403  404  404  404  409  404  409  404  lgn  lgn  lgn  lgn")
            .multipart(&[reason]),
        post("/submissions/{id}/{action}", &[s, "recategorise"],                            "lgn  403  404  404  403  404  404  404  409  404  409  404  lgn  lgn  lgn  lgn")
            .multipart(&[("subcategory", other_sub), reason]),
        post("/submissions/{id}/{action}", &[s, "no-such-action"],                          "lgn  404  404  404  404  404  404  404  404  404  404  404  lgn  lgn  lgn  lgn")
            .multipart(&[]),
        // Merging duplicates: officials and coordinators only (the domain checks which).
        // Merging the submission into itself is refused by the domain after the policy.
        post("/submissions/{id}/duplicates/merge", &[s],                                    "lgn  403  403  403  422  404  404  403  422  404  403  403  lgn  lgn  lgn  lgn")
            .form(&[("duplicate", s)]),
        post("/submissions/{id}/duplicates/unmerge", &[s],                                  "lgn  403  403  403  409  404  404  403  409  404  403  403  lgn  lgn  lgn  lgn")
            .form(&[]),
        // The author hides the message (it already is hidden); staff who see it are refused.
        post("/submissions/{id}/visibility", &[s],                                          "lgn  ok   404  404  403  404  404  404  403  404  403  404  lgn  lgn  lgn  lgn")
            .form(&[("on", "0")]),
        // The message is not public: nobody finds its public page or follows it.
        get("/public/{id}", &[s],                                                           "404  404  404  404  404  404  404  404  404  404  404  404  404  404  404  404"),
        post("/public/{id}/follow", &[s],                                                   "lgn  404  404  404  404  404  404  404  404  404  404  404  lgn  lgn  lgn  lgn")
            .form(&[("on", "1")]),
        // ---- pages: monitoring and help ----------------------------------------------------------------
        get("/incidents", &[],                                                              "lgn  403  403  403  403  403  403  403  ok   ok   ok   ok   lgn  lgn  lgn  lgn"),
        get("/incidents", &[],                                                              "lgn  403  403  403  403  403  403  403  ok   404  ok   ok   lgn  lgn  lgn  lgn")
            .query(&format!("region={tver}")),
        post("/incidents/{id}/resolve", &[incident],                                        "lgn  403  403  403  403  403  403  403  409  404  409  403  lgn  lgn  lgn  lgn")
            .form(&[("resolution", resolution)]),
        get("/monitoring", &[],                                                             "lgn  403  403  403  403  403  403  403  ok   ok   ok   ok   lgn  lgn  lgn  lgn"),
        get("/submissions/export.csv", &[],                                                 "lgn  ok   ok   ok   ok   ok   ok   403  ok   ok   ok   403  lgn  lgn  lgn  lgn"),
        get("/submissions/export.xlsx", &[],                                                "lgn  ok   ok   ok   ok   ok   ok   403  ok   ok   ok   403  lgn  lgn  lgn  lgn"),
        get("/exports", &[],                                                                "lgn  ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   lgn  lgn  lgn  lgn"),
        post("/exports", &[],                                                               "lgn  ok   ok   ok   ok   ok   ok   403  ok   ok   ok   403  lgn  lgn  lgn  lgn")
            .form(&[("format", "csv")]),
        get("/exports/{id}", &["999999"],                                                   "lgn  404  404  404  404  404  404  404  404  404  404  404  lgn  lgn  lgn  lgn"),
        get("/exports/{id}/file", &["999999"],                                              "lgn  404  404  404  404  404  404  404  404  404  404  404  lgn  lgn  lgn  lgn"),
        get("/analytics", &[],                                                              "lgn  403  403  403  ok   ok   ok   ok   ok   ok   ok   ok   lgn  lgn  lgn  lgn"),
        get("/analytics/export.csv", &[],                                                   "lgn  403  403  403  ok   ok   ok   ok   ok   ok   ok   ok   lgn  lgn  lgn  lgn")
            .query("table=categories"),
        get("/analytics/export.xlsx", &[],                                                  "lgn  403  403  403  ok   ok   ok   ok   ok   ok   ok   ok   lgn  lgn  lgn  lgn")
            .query("table=kinds"),
        // A table of the report as a background export (a job of the asker's own).
        post("/analytics/exports", &[],                                                     "lgn  403  403  403  ok   ok   ok   ok   ok   ok   ok   ok   lgn  lgn  lgn  lgn")
            .form(&[("table", "kinds"), ("format", "csv")]),
        post("/analytics/exports", &[],                                                     "lgn  403  403  403  422  422  422  422  422  422  422  422  lgn  lgn  lgn  lgn")
            .form(&[("table", "secrets"), ("format", "csv")]),
        // ---- pages: social-media incidents (`social::decide` / `can_view`; nothing with id 999999999) --------
        get("/social", &[],                                                                 "lgn  403  403  403  ok   ok   ok   403  ok   ok   ok   ok   lgn  lgn  lgn  lgn"),
        get("/social/quarantine", &[],                                                      "lgn  403  403  403  403  403  403  403  403  403  ok   403  lgn  lgn  lgn  lgn"),
        get("/social/incidents/{id}", &["999999999"],                                       "lgn  403  403  403  404  404  404  403  404  404  404  404  lgn  lgn  lgn  lgn"),
        post("/social/incidents/{id}/{action}", &["999999999", "dismiss"],                  "lgn  403  403  403  404  404  404  403  404  404  404  404  lgn  lgn  lgn  lgn")
            .form(&[("reason", "spam")]),
        get("/help", &[],                                                                   "ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok"),
        get("/help/inbox", &[],                                                             "ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok"),
        get("/help/deadlines", &[],                                                         "ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok"),
        get("/help/coordination", &[],                                                      "ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok"),
        get("/help/incidents", &[],                                                         "ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok"),
        // ---- pages: the organisation's administration ----------------------------------------------------
        get("/org", &[],                                                                    "lgn  403  403  403  403  403  403  ok   403  403  ok   403  lgn  lgn  lgn  lgn"),
        get("/org/{id}", &[city],                                                           "lgn  403  403  403  403  403  403  ok   403  403  ok   403  lgn  lgn  lgn  lgn"),
        get("/org/{id}", &[transport],                                                      "lgn  403  403  403  403  403  403  403  403  403  ok   403  lgn  lgn  lgn  lgn"),
        post("/org/{id}/staff", &[city],                                                    "lgn  403  403  403  403  403  403  422  403  403  422  403  lgn  lgn  lgn  lgn")
            .form(&[]),
        // Enabling an enabled account changes nothing.
        post("/org/{id}/staff/{user}/{state}", &[city, city_official, "enable"],            "lgn  403  403  403  403  403  403  ok   403  403  ok   403  lgn  lgn  lgn  lgn")
            .form(&[]),
        // Another organisation's official, through one's own organisation: not there.
        post("/org/{id}/staff/{user}/{state}", &[city, transport_official, "enable"],       "lgn  403  403  403  403  403  403  404  403  403  404  403  lgn  lgn  lgn  lgn")
            .form(&[]),
        post("/org/{id}/staff/{user}/{state}", &[transport, transport_official, "enable"],  "lgn  403  403  403  403  403  403  403  403  403  ok   403  lgn  lgn  lgn  lgn")
            .form(&[]),
        post("/org/{id}/clients", &[city],                                                  "lgn  403  403  403  403  403  403  422  403  403  422  403  lgn  lgn  lgn  lgn")
            .form(&[]),
        // Another organisation's client, through one's own organisation: not there.
        post("/org/{id}/clients/{client}/revoke", &[city, other_client],                    "lgn  403  403  403  403  403  403  404  403  403  404  403  lgn  lgn  lgn  lgn")
            .form(&[]),
        post("/org/{id}/sites", &[city],                                                    "lgn  403  403  403  403  403  403  422  403  403  422  403  lgn  lgn  lgn  lgn")
            .form(&[("origin", "")]),
        post("/org/{id}/sites/remove", &[city],                                             "lgn  403  403  403  403  403  403  422  403  403  422  403  lgn  lgn  lgn  lgn")
            .form(&[("origin", "")]),
        // Delivery settings: none are set for the city, so removing them finds nothing.
        post("/org/{id}/integration", &[city],                                              "lgn  403  403  403  403  403  403  422  403  403  422  403  lgn  lgn  lgn  lgn")
            .form(&[("mode", "")]),
        post("/org/{id}/integration/remove", &[city],                                       "lgn  403  403  403  403  403  403  404  403  403  404  403  lgn  lgn  lgn  lgn")
            .form(&[]),
        // ---- pages: the operator's console --------------------------------------------------------------
        get("/console", &[],                                                                "lgn  403  403  403  403  403  403  403  403  403  ok   403  lgn  lgn  lgn  lgn"),
        get("/console/routes", &[],                                                         "lgn  403  403  403  403  403  403  403  403  403  ok   403  lgn  lgn  lgn  lgn"),
        post("/console/routes", &[],                                                        "lgn  403  403  403  403  403  403  403  403  403  422  403  lgn  lgn  lgn  lgn")
            .form(&[]),
        get("/console/routes/check", &[],                                                   "lgn  403  403  403  403  403  403  403  403  403  ok   403  lgn  lgn  lgn  lgn"),
        get("/console/routes/{id}/delete", &[route],                                        "lgn  403  403  403  403  403  403  403  403  403  ok   403  lgn  lgn  lgn  lgn"),
        post("/console/routes/{id}/delete", &["999999999"],                                 "lgn  403  403  403  403  403  403  403  403  403  404  403  lgn  lgn  lgn  lgn")
            .form(&[]),
        get("/console/organisations", &[],                                                  "lgn  403  403  403  403  403  403  403  403  403  ok   403  lgn  lgn  lgn  lgn"),
        post("/console/organisations", &[],                                                 "lgn  403  403  403  403  403  403  403  403  403  422  403  lgn  lgn  lgn  lgn")
            .form(&[]),
        get("/console/organisations/new", &[],                                              "lgn  403  403  403  403  403  403  403  403  403  ok   403  lgn  lgn  lgn  lgn"),
        get("/console/organisations/{id}", &[city],                                         "lgn  403  403  403  403  403  403  403  403  403  ok   403  lgn  lgn  lgn  lgn"),
        post("/console/organisations/{id}", &[city],                                        "lgn  403  403  403  403  403  403  403  403  403  422  403  lgn  lgn  lgn  lgn")
            .form(&[]),
        get("/console/catalogue", &[],                                                      "lgn  403  403  403  403  403  403  403  403  403  ok   403  lgn  lgn  lgn  lgn"),
        post("/console/categories", &[],                                                    "lgn  403  403  403  403  403  403  403  403  403  422  403  lgn  lgn  lgn  lgn")
            .form(&[]),
        get("/console/categories/{id}", &[category],                                        "lgn  403  403  403  403  403  403  403  403  403  ok   403  lgn  lgn  lgn  lgn"),
        post("/console/categories/{id}", &[category],                                       "lgn  403  403  403  403  403  403  403  403  403  422  403  lgn  lgn  lgn  lgn")
            .form(&[]),
        post("/console/subcategories", &[],                                                 "lgn  403  403  403  403  403  403  403  403  403  422  403  lgn  lgn  lgn  lgn")
            .form(&[]),
        get("/console/subcategories/new", &[],                                              "lgn  403  403  403  403  403  403  403  403  403  ok   403  lgn  lgn  lgn  lgn"),
        get("/console/subcategories/{id}", &[sub],                                          "lgn  403  403  403  403  403  403  403  403  403  ok   403  lgn  lgn  lgn  lgn"),
        post("/console/subcategories/{id}", &[sub],                                         "lgn  403  403  403  403  403  403  403  403  403  422  403  lgn  lgn  lgn  lgn")
            .form(&[]),
        get("/console/policies", &[],                                                       "lgn  403  403  403  403  403  403  403  403  403  ok   403  lgn  lgn  lgn  lgn"),
        post("/console/policies", &[],                                                      "lgn  403  403  403  403  403  403  403  403  403  422  403  lgn  lgn  lgn  lgn")
            .form(&[]),
        get("/console/calendars", &[],                                                      "lgn  403  403  403  403  403  403  403  403  403  ok   403  lgn  lgn  lgn  lgn"),
        get("/console/calendars/{layer}", &["federal"],                                     "lgn  403  403  403  403  403  403  403  403  403  ok   403  lgn  lgn  lgn  lgn"),
        post("/console/calendars/{layer}/days", &["federal"],                               "lgn  403  403  403  403  403  403  403  403  403  422  403  lgn  lgn  lgn  lgn")
            .form(&[]),
        post("/console/calendars/{layer}/days/{date}/delete", &["federal", "not-a-date"],   "lgn  403  403  403  403  403  403  403  403  403  404  403  lgn  lgn  lgn  lgn")
            .form(&[]),
        post("/console/calendars/{layer}/upload", &["federal"],                             "lgn  403  403  403  403  403  403  403  403  403  422  403  lgn  lgn  lgn  lgn")
            .multipart(&[]),
        get("/console/notifications", &[],                                                  "lgn  403  403  403  403  403  403  403  403  403  ok   403  lgn  lgn  lgn  lgn"),
        get("/console/notifications/templates/{key}", &["registered"],                      "lgn  403  403  403  403  403  403  403  403  403  ok   403  lgn  lgn  lgn  lgn"),
        get("/console/notifications/templates/{key}", &["no_such_kind"],                    "lgn  403  403  403  403  403  403  403  403  403  404  403  lgn  lgn  lgn  lgn"),
        post("/console/notifications/templates/{key}", &["registered"],                     "lgn  403  403  403  403  403  403  403  403  403  400  403  lgn  lgn  lgn  lgn")
            .form(&[]),
        get("/console/campaigns", &[],                                                      "lgn  403  403  403  403  403  403  403  403  403  ok   403  lgn  lgn  lgn  lgn"),
        post("/console/campaigns", &[],                                                     "lgn  403  403  403  403  403  403  403  403  403  400  403  lgn  lgn  lgn  lgn")
            .form(&[]),
        get("/console/campaigns/new", &[],                                                  "lgn  403  403  403  403  403  403  403  403  403  ok   403  lgn  lgn  lgn  lgn"),
        get("/console/campaigns/{id}", &["999999999"],                                      "lgn  403  403  403  403  403  403  403  403  403  404  403  lgn  lgn  lgn  lgn"),
        post("/console/campaigns/{id}/command", &["999999999"],                             "lgn  403  403  403  403  403  403  403  403  403  400  403  lgn  lgn  lgn  lgn")
            .form(&[]),
        get("/console/changes", &[],                                                        "lgn  403  403  403  403  403  403  403  403  403  ok   403  lgn  lgn  lgn  lgn"),
        get("/console/quality-feed", &[],                                                   "lgn  403  403  403  403  403  403  403  403  403  ok   403  lgn  lgn  lgn  lgn"),
        // ---- outside both routers -----------------------------------------------------------------------
        get("/healthz", &[],                                                                "ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok"),
        // Metrics answer the machine itself whoever asks; through a proxy or from another
        // machine without the token, 404 (operations::metrics_are_local_…).
        get("/metrics", &[],                                                                "ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok"),
        get("/static/style.css", &[],                                                       "ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok"),
        get("/static/similar.js", &[],                                                      "ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok"),

        // ---- API: accounts, reference data ---------------------------------------------------------------
        //                                                                                   anon ivan mari unvr offl ooff oreg oadm crdT crdN oper anal c-ro c-rw c-wo c-xo
        get("/api/v1/openapi.json", &[],                                                    "ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok"),
        post("/api/v1/auth/register", &[],                                                  "422  422  422  422  422  422  422  422  422  422  422  422  422  422  422  422")
            .json(json!({})),
        post("/api/v1/auth/token", &[],                                                     "401  401  401  401  401  401  401  401  401  401  401  401  401  401  401  401")
            .json(json!({})),
        delete("/api/v1/auth/token", &[],                                                   "lgn  ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok")
            .fresh(Fresh::ApiToken),
        get("/api/v1/me", &[],                                                              "lgn  ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok"),
        // ---- API: the operator's notification templates and campaigns ---------------------------------
        get("/api/v1/notification-templates", &[],                                          "lgn  403  403  403  403  403  403  403  403  403  ok   403  403  403  403  403"),
        put("/api/v1/notification-templates/{key}", &["registered"],                        "lgn  403  403  403  403  403  403  403  403  403  422  403  403  403  403  403")
            .json(json!({})),
        delete("/api/v1/notification-templates/{key}", &["registered"],                     "lgn  403  403  403  403  403  403  403  403  403  404  403  403  403  403  403"),
        get("/api/v1/campaigns", &[],                                                       "lgn  403  403  403  403  403  403  403  403  403  ok   403  403  403  403  403"),
        post("/api/v1/campaigns", &[],                                                      "lgn  403  403  403  403  403  403  403  403  403  422  403  403  403  403  403")
            .json(json!({})),
        post("/api/v1/campaigns/audience", &[],                                             "lgn  403  403  403  403  403  403  403  403  403  ok   403  403  403  403  403")
            .json(json!({})),
        get("/api/v1/campaigns/{id}", &["999999999"],                                       "lgn  403  403  403  403  403  403  403  403  403  404  403  403  403  403  403"),
        post("/api/v1/campaigns/{id}/{command}", &["999999999", "start"],                   "lgn  403  403  403  403  403  403  403  403  403  404  403  403  403  403  403")
            .json(json!({})),
        // ---- API: search (a client with the read scope searches its organisation's) ---------------------
        get("/api/v1/search", &[],                                                          "lgn  ok   ok   ok   ok   ok   ok   403  ok   ok   ok   403  ok   ok   403  ok")
            .query("q=%D1%81%D0%B2%D0%B5%D1%82%D0%BE%D1%84%D0%BE%D1%80"),
        // ---- API: answer templates (officials, their own organisation's) ------------------------------
        get("/api/v1/answer-templates", &[],                                                "lgn  403  403  403  ok   ok   ok   403  403  403  403  403  403  403  403  403"),
        post("/api/v1/answer-templates", &[],                                               "lgn  403  403  403  422  422  422  403  403  403  403  403  403  403  403  403")
            .json(json!({ "title": "", "body": "" })),
        put("/api/v1/answer-templates/{id}", &["999999999"],                                "lgn  403  403  403  422  422  422  403  403  403  403  403  403  403  403  403")
            .json(json!({ "title": "", "body": "" })),
        delete("/api/v1/answer-templates/{id}", &["999999999"],                             "lgn  403  403  403  404  404  404  403  403  403  403  403  403  403  403  403"),
        get("/api/v1/submissions/{id}/answer-templates", &[s],                              "lgn  403  404  404  ok   404  404  404  403  404  403  404  403  403  403  404"),
        // ---- API: duplicates and public messages --------------------------------------------------------
        post("/api/v1/similar-submissions", &[],                                            "lgn  ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok")
            .json(json!({ "subcategory_id": sub.parse::<i64>().unwrap_or(0), "text": "Яма на дороге" })),
        // The submission is not public: nobody reads or follows it.
        get("/api/v1/public-submissions/{id}", &[s],                                        "404  404  404  404  404  404  404  404  404  404  404  404  404  404  404  404"),
        put("/api/v1/public-submissions/{id}/follow", &[s],                                 "lgn  404  404  404  404  404  404  404  404  404  404  404  404  404  404  404"),
        delete("/api/v1/public-submissions/{id}/follow", &[s],                              "lgn  404  404  404  404  404  404  404  404  404  404  404  404  404  404  404"),
        get("/api/v1/follows", &[],                                                         "lgn  ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok"),
        // The author hides it (already hidden); staff who see it are refused.
        put("/api/v1/submissions/{id}/visibility", &[s],                                    "lgn  ok   404  404  403  404  404  404  403  404  403  404  403  403  403  404")
            .json(json!({ "public": false })),
        // Officials and coordinators who see it; merging it into itself is refused by the
        // domain. It is merged with nothing, so there is nothing to separate.
        get("/api/v1/submissions/{id}/duplicates", &[s],                                    "lgn  403  404  404  ok   404  404  404  ok   404  403  404  403  403  403  404"),
        post("/api/v1/submissions/{id}/duplicates", &[s],                                   "lgn  403  404  404  422  404  404  404  422  404  403  404  403  403  403  404")
            .json(json!({ "duplicate_id": s.parse::<i64>().unwrap_or(0) })),
        delete("/api/v1/submissions/{id}/duplicates/{duplicate}", &[s, s],                  "lgn  403  404  404  404  404  404  404  404  404  403  404  403  403  403  404"),
        // ---- API: polls (reading is public; citizens vote, organisers create) ---------------------------
        get("/api/v1/polls", &[],                                                           "lgn  ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   403  403  403  403"),
        post("/api/v1/polls", &[],                                                          "lgn  403  403  403  422  422  422  422  403  403  422  403  403  403  403  403")
            .json(json!({ "kind": "vote", "title": "", "opens_at": "", "closes_at": "", "results": "" })),
        get("/api/v1/polls/{id}", &["999999999"],                                           "404  404  404  404  404  404  404  404  404  404  404  404  404  404  404  404"),
        post("/api/v1/polls/{id}/cancel", &["999999999"],                                   "lgn  404  404  404  404  404  404  404  404  404  404  404  403  403  403  403")
            .json(json!({})),
        post("/api/v1/polls/{id}/ballots", &["999999999"],                                  "lgn  404  404  404  403  403  403  403  403  403  403  403  403  403  403  403")
            .json(json!({ "answers": [] })),
        get("/api/v1/polls/{id}/ballots", &["999999999"],                                   "404  404  404  404  404  404  404  404  404  404  404  404  404  404  404  404"),
        get("/api/v1/polls/{id}/results", &["999999999"],                                   "404  404  404  404  404  404  404  404  404  404  404  404  404  404  404  404"),
        get("/api/v1/polls/{id}/receipts/{ballot_id}", &["999999999", "0"],                 "404  404  404  404  404  404  404  404  404  404  404  404  404  404  404  404"),
        post("/api/v1/polls/{id}/options/{option}/photos", &[city_poll, "0"],               "lgn  403  403  403  409  404  404  409  403  403  409  403  403  403  403  403")
            .json(json!({ "content_base64": "" })),
        post("/api/v1/polls/{id}/questions/{question}/options/{option}/photos", &[city_poll, "0", "0"], "lgn  403  403  403  409  404  404  409  403  403  409  403  403  403  403  403")
            .json(json!({ "content_base64": "" })),
        delete("/api/v1/polls/{id}/photos/{photo_id}", &[city_poll, "999999999"],           "lgn  403  403  403  409  404  404  409  403  403  409  403  403  403  403  403"),
        post("/api/v1/polls/{id}/photos/{photo_id}/move", &[city_poll, "999999999"],        "lgn  403  403  403  409  404  404  409  403  403  409  403  403  403  403  403")
            .json(json!({ "direction": "up" })),
        // ---- API: public discussions (reading is public; citizens comment and support; organisers moderate) -
        get("/api/v1/discussions", &[],                                                     "ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok"),
        post("/api/v1/discussions", &[],                                                    "lgn  403  403  403  422  422  422  422  403  403  422  403  403  403  403  403")
            .json(json!({ "title": "", "proposal": "", "opens_at": "", "closes_at": "" })),
        get("/api/v1/discussions/{id}", &["999999999"],                                     "404  404  404  404  404  404  404  404  404  404  404  404  404  404  404  404"),
        get("/api/v1/discussions/{id}/comments", &["999999999"],                            "lgn  404  404  404  404  404  404  404  404  404  404  404  404  404  404  404"),
        post("/api/v1/discussions/{id}/comments", &["999999999"],                           "lgn  404  404  404  403  403  403  403  403  403  403  403  403  403  403  403")
            .json(json!({ "body": "Поддерживаю" })),
        post("/api/v1/discussions/{id}/comments/{comment_id}/moderation", &["999999999", "1"], "lgn  404  404  404  404  404  404  404  404  404  404  404  403  403  403  403")
            .json(json!({ "action": "publish" })),
        post("/api/v1/discussions/{id}/support", &["999999999"],                            "lgn  404  404  404  403  403  403  403  403  403  403  403  403  403  403  403")
            .json(json!({ "stance": "for" })),
        // ---- API: electronic documents, signatures and certificates (people only) ----------------------
        get("/api/v1/documents", &[],                                                       "lgn  ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   403  403  403  403"),
        post("/api/v1/documents", &[],                                                      "lgn  422  403  403  422  422  422  422  422  422  422  403  403  403  403  403")
            .json(json!({ "title": "", "order": "sequential", "deadline": "", "signers": [] })),
        get("/api/v1/documents/{id}", &["999999999"],                                       "lgn  404  404  404  404  404  404  404  404  404  404  404  403  403  403  403"),
        post("/api/v1/documents/{id}/start", &["999999999"],                                "lgn  404  403  403  404  404  404  404  404  404  404  403  403  403  403  403"),
        post("/api/v1/documents/{id}/cancel", &["999999999"],                               "lgn  404  404  404  404  404  404  404  404  404  404  404  403  403  403  403"),
        post("/api/v1/documents/{id}/sign", &["999999999"],                                 "lgn  404  403  403  404  404  404  404  404  404  404  403  403  403  403  403")
            .json(json!({ "certificate_id": 1, "password": "Проверка-1" })),
        post("/api/v1/documents/{id}/decline", &["999999999"],                              "lgn  404  404  404  404  404  404  404  404  404  404  404  403  403  403  403")
            .json(api_reason.clone()),
        get("/api/v1/documents/{id}/content", &["999999999"],                               "lgn  404  404  404  404  404  404  404  404  404  404  404  403  403  403  403"),
        get("/api/v1/documents/{id}/verification", &["999999999"],                          "lgn  404  404  404  404  404  404  404  404  404  404  404  403  403  403  403"),
        get("/api/v1/documents/{id}/package", &["999999999"],                               "lgn  404  404  404  404  404  404  404  404  404  404  404  403  403  403  403"),
        post("/api/v1/signatures/verify", &[],                                              "422  422  422  422  422  422  422  422  422  422  422  422  422  422  422  422")
            .json(json!({ "content_base64": "", "signatures_base64": [] })),
        get("/api/v1/signatures/authorities", &[],                                          "ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok"),
        get("/api/v1/account/certificates", &[],                                            "lgn  ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   403  403  403  403"),
        post("/api/v1/account/certificates", &[],                                           "lgn  422  403  403  422  422  422  422  422  422  422  403  403  403  403  403")
            .json(json!({ "algorithm": "none", "password": "x" })),
        post("/api/v1/account/certificates/register", &[],                                  "lgn  422  403  403  422  422  422  422  422  422  422  403  403  403  403  403")
            .json(json!({ "certificate_base64": "!" })),
        post("/api/v1/account/certificates/{id}/revoke", &["999999999"],                    "lgn  404  404  404  404  404  404  404  404  404  404  404  403  403  403  403"),
        // ---- API: one's notifications (people only: a client has no personal account) --------------
        get("/api/v1/notifications", &[],                                                   "lgn  ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   403  403  403  403"),
        post("/api/v1/notifications/read", &[],                                             "lgn  ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   403  403  403  403")
            .json(json!({})),
        get("/api/v1/notifications/settings", &[],                                          "lgn  ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   403  403  403  403"),
        put("/api/v1/notifications/settings", &[],                                          "lgn  ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   403  403  403  403")
            .json(json!({})),
        post("/api/v1/oauth/token", &[],                                                    "401  401  401  401  401  401  401  401  401  401  401  401  401  401  401  401")
            .raw("application/x-www-form-urlencoded", "grant_type=client_credentials"),
        // ---- API: the organisation's administration (its administrator and the operator) -----------------
        //                                                                                   anon ivan mari unvr offl ooff oreg oadm crdT crdN oper anal c-ro c-rw c-wo c-xo
        get("/api/v1/organisations/{id}/staff", &[city],                                    "lgn  403  403  403  403  403  403  ok   403  403  ok   403  403  403  403  403"),
        get("/api/v1/organisations/{id}/staff", &[transport],                               "lgn  403  403  403  403  403  403  403  403  403  ok   403  403  403  403  403"),
        post("/api/v1/organisations/{id}/staff", &[city],                                   "lgn  403  403  403  403  403  403  422  403  403  422  403  403  403  403  403")
            .json(json!({})),
        post("/api/v1/organisations/{id}/staff/{user}/{state}", &[city, city_official, "enable"], "lgn  403  403  403  403  403  403  ok   403  403  ok   403  403  403  403  403"),
        post("/api/v1/organisations/{id}/staff/{user}/{state}", &[city, transport_official, "enable"], "lgn  403  403  403  403  403  403  404  403  403  404  403  403  403  403  403"),
        get("/api/v1/organisations/{id}/clients", &[city],                                  "lgn  403  403  403  403  403  403  ok   403  403  ok   403  403  403  403  403"),
        post("/api/v1/organisations/{id}/clients", &[city],                                 "lgn  403  403  403  403  403  403  422  403  403  422  403  403  403  403  403")
            .json(json!({})),
        delete("/api/v1/organisations/{id}/clients/{client}", &[city, other_client],        "lgn  403  403  403  403  403  403  404  403  403  404  403  403  403  403  403"),
        get("/api/v1/organisations/{id}/widget-sites", &[city],                             "lgn  403  403  403  403  403  403  ok   403  403  ok   403  403  403  403  403"),
        post("/api/v1/organisations/{id}/widget-sites", &[city],                            "lgn  403  403  403  403  403  403  422  403  403  422  403  403  403  403  403")
            .json(json!({})),
        delete("/api/v1/organisations/{id}/widget-sites", &[city],                          "lgn  403  403  403  403  403  403  422  403  403  422  403  403  403  403  403"),
        // ---- API: deliveries to organisations' systems ----------------------------------------------------
        get("/api/v1/organisations/{id}/integration", &[city],                              "lgn  403  403  403  403  403  403  404  403  403  404  403  403  403  403  403"),
        put("/api/v1/organisations/{id}/integration", &[city],                              "lgn  403  403  403  403  403  403  422  403  403  422  403  403  403  403  403")
            .json(json!({})),
        delete("/api/v1/organisations/{id}/integration", &[city],                           "lgn  403  403  403  403  403  403  404  403  403  404  403  403  403  403  403"),
        get("/api/v1/organisations/{id}/deliveries", &[city],                               "lgn  403  403  403  403  403  403  ok   403  403  ok   403  403  403  403  403"),
        // The pull queue is its organisation's systems' own (the city's is empty: 204).
        get("/api/v1/deliveries/next", &[],                                                 "lgn  403  403  403  403  403  403  403  403  403  403  403  ok   ok   403  ok"),
        post("/api/v1/deliveries/{id}/ack", &["999999"],                                    "lgn  403  403  403  403  403  403  403  403  403  403  403  404  404  403  404"),
        get("/api/v1/console/integrations", &[],                                            "lgn  403  403  403  403  403  403  403  403  403  ok   403  403  403  403  403"),
        get("/api/v1/regions", &[],                                                         "ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok"),
        get("/api/v1/regions/{id}/municipalities", &[tver],                                 "ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok"),
        get("/api/v1/organisations", &[],                                                   "ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok"),
        get("/api/v1/catalogue", &[],                                                       "ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok"),
        // ---- API: submissions ------------------------------------------------------------------------------
        // Lists: the citizen's own, the organisation's inbox (read scope), the region's,
        // everything; nothing for the analyst and the administrator.
        get("/api/v1/submissions", &[],                                                     "lgn  ok   ok   ok   ok   ok   ok   403  ok   ok   ok   403  ok   ok   403  ok"),
        post("/api/v1/submissions", &[],                                                    "lgn  422  422  422  403  403  403  403  403  403  403  403  403  403  403  403")
            .json(json!({ "subcategory_id": n(sub) })),
        get("/api/v1/submissions/{id}", &[s],                                               "lgn  ok   404  404  ok   404  404  404  ok   404  ok   404  ok   ok   403  404"),
        get("/api/v1/files/{id}", &[f],                                                     "lgn  ok   404  404  ok   404  404  404  ok   404  ok   404  ok   ok   403  404"),
        // Receipts are a read of the submission: `view_submission`, read scope included.
        get("/api/v1/submissions/{id}/receipts", &[s],                                      "lgn  ok   404  404  ok   404  404  404  ok   404  ok   404  ok   ok   403  404"),
        get("/api/v1/submissions/{id}/receipts/{index}", &[s, receipt],                     "lgn  ok   404  404  ok   404  404  404  ok   404  ok   404  ok   ok   403  404"),
        // Acting needs the write scope (`handle_submission`), then `decide`.
        post("/api/v1/submissions/{id}/take-into-work", &[s],                               "lgn  403  404  404  409  404  404  404  403  404  403  404  403  409  409  404"),
        post("/api/v1/submissions/{id}/intermediate-answer", &[s],                          "lgn  403  404  404  409  404  404  404  403  404  403  404  403  409  409  404")
            .json(api_text.clone()),
        post("/api/v1/submissions/{id}/answer", &[s],                                       "lgn  403  404  404  409  404  404  404  403  404  403  404  403  409  409  404")
            .json(api_text.clone()),
        post("/api/v1/submissions/{id}/request-clarification", &[s],                        "lgn  403  404  404  409  404  404  404  403  404  403  404  403  409  409  404")
            .json(api_reason.clone()),
        post("/api/v1/submissions/{id}/extend", &[s],                                       "lgn  403  404  404  409  404  404  404  403  404  403  404  403  409  409  404")
            .json(json!({ "days": 5, "reason": "Проверка прав доступа" })),
        post("/api/v1/submissions/{id}/redirect", &[s],                                     "lgn  403  404  404  409  404  404  404  409  404  409  404  403  409  409  404")
            .json(json!({ "organisation_id": n(transport), "reason": "Проверка прав доступа" })),
        post("/api/v1/submissions/{id}/reject", &[s],                                       "lgn  403  404  404  409  404  404  404  409  404  403  404  403  409  409  404")
            .json(json!({ "ground": "unreadable_text", "comment": "Проверка прав доступа" })),
        post("/api/v1/submissions/{id}/rate", &[s],                                         "lgn  409  404  404  403  404  404  404  403  404  403  404  403  403  403  404")
            .json(json!({ "score": 5 })),
        post("/api/v1/submissions/{id}/send-back", &[s],                                    "lgn  409  404  404  403  404  404  404  403  404  403  404  403  403  403  404")
            .json(api_reason.clone()),
        post("/api/v1/submissions/{id}/clarify", &[s],                                      "lgn  409  404  404  403  404  404  404  403  404  403  404  403  403  403  404")
            .json(api_text.clone()),
        post("/api/v1/submissions/{id}/return-answer", &[s],                                "lgn  403  404  404  403  404  404  404  409  404  409  404  403  403  403  404")
            .json(api_reason.clone()),
        post("/api/v1/submissions/{id}/recategorise", &[s],                                 "lgn  403  404  404  403  404  404  404  409  404  409  404  403  403  403  404")
            .json(json!({ "subcategory_id": n(other_sub), "reason": "Проверка прав доступа" })),
        // ---- API: the transparency log (public) ------------------------------------------------------------
        get("/api/v1/log", &[],                                                             "ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok"),
        get("/api/v1/log/tree-head", &[],                                                   "ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok"),
        get("/api/v1/log/tree-head/{size}", &[tree],                                        "ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok"),
        get("/api/v1/log/proof/inclusion", &[],                                             "ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok")
            .query(&format!("index=0&size={tree}")),
        get("/api/v1/log/proof/consistency", &[],                                           "ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok")
            .query(&format!("first=1&second={tree}")),
        get("/api/v1/log/leaves", &[],                                                      "ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok")
            .query("start=0&count=1"),
        // ---- API: monitoring -------------------------------------------------------------------------------
        get("/api/v1/incidents", &[],                                                       "lgn  403  403  403  403  403  403  403  ok   ok   ok   ok   403  403  403  403"),
        get("/api/v1/incidents", &[],                                                       "lgn  403  403  403  403  403  403  403  ok   404  ok   ok   403  403  403  403")
            .query(&format!("region_id={tver}")),
        post("/api/v1/incidents/{id}/resolve", &[incident],                                 "lgn  403  403  403  403  403  403  403  409  404  409  403  403  403  403  403")
            .json(json!({ "resolution": resolution })),
        get("/api/v1/analytics", &[],                                                       "lgn  403  403  403  ok   ok   ok   ok   ok   ok   ok   ok   403  403  403  403"),
        get("/api/v1/quality-feed", &[],                                                    "lgn  403  403  403  403  403  403  403  403  403  ok   ok   403  403  403  403"),
        get("/api/v1/quality-feed/push", &[],                                               "lgn  403  403  403  403  403  403  403  403  403  ok   ok   403  403  403  403"),
        get("/api/v1/social/incidents", &[],                                                "lgn  403  403  403  ok   ok   ok   403  ok   ok   ok   ok   403  403  403  403"),
        get("/api/v1/social/incidents/{id}", &["999999999"],                                "lgn  403  403  403  404  404  404  403  404  404  404  404  403  403  403  403"),
        post("/api/v1/social/incidents/{id}/actions", &["999999999"],                       "lgn  403  403  403  404  404  404  403  404  404  404  404  403  403  403  403")
            .json(json!({ "action": "dismiss", "reason": "spam" })),
        // Pushed sources prove themselves with their own secret; no such source here.
        post("/api/v1/social/webhook/{source}", &["nosuch"],                                "lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn")
            .json(json!([])),
        post("/api/v1/social/telegram/{source}", &["nosuch"],                               "lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn  lgn")
            .json(json!({})),
        get("/api/v1/monitoring/regions", &[],                                              "lgn  403  403  403  403  403  403  403  ok   ok   ok   ok   403  403  403  403"),
        // ---- API: the operator's console -------------------------------------------------------------------
        get("/api/v1/console/routes", &[],                                                  "lgn  403  403  403  403  403  403  403  403  403  ok   403  403  403  403  403"),
        post("/api/v1/console/routes", &[],                                                 "lgn  403  403  403  403  403  403  403  403  403  422  403  403  403  403  403")
            .json(json!({})),
        get("/api/v1/console/routes/decision", &[],                                         "lgn  403  403  403  403  403  403  403  403  403  422  403  403  403  403  403"),
        delete("/api/v1/console/routes/{id}", &["999999999"],                               "lgn  403  403  403  403  403  403  403  403  403  404  403  403  403  403  403"),
        get("/api/v1/console/organisations", &[],                                           "lgn  403  403  403  403  403  403  403  403  403  ok   403  403  403  403  403"),
        post("/api/v1/console/organisations", &[],                                          "lgn  403  403  403  403  403  403  403  403  403  422  403  403  403  403  403")
            .json(json!({})),
        get("/api/v1/console/organisations/{id}", &[city],                                  "lgn  403  403  403  403  403  403  403  403  403  ok   403  403  403  403  403"),
        put("/api/v1/console/organisations/{id}", &[city],                                  "lgn  403  403  403  403  403  403  403  403  403  422  403  403  403  403  403")
            .json(json!({})),
        get("/api/v1/console/categories", &[],                                              "lgn  403  403  403  403  403  403  403  403  403  ok   403  403  403  403  403"),
        post("/api/v1/console/categories", &[],                                             "lgn  403  403  403  403  403  403  403  403  403  422  403  403  403  403  403")
            .json(json!({})),
        put("/api/v1/console/categories/{id}", &[category],                                 "lgn  403  403  403  403  403  403  403  403  403  422  403  403  403  403  403")
            .json(json!({})),
        post("/api/v1/console/subcategories", &[],                                          "lgn  403  403  403  403  403  403  403  403  403  422  403  403  403  403  403")
            .json(json!({})),
        get("/api/v1/console/subcategories/{id}", &[sub],                                   "lgn  403  403  403  403  403  403  403  403  403  ok   403  403  403  403  403"),
        put("/api/v1/console/subcategories/{id}", &[sub],                                   "lgn  403  403  403  403  403  403  403  403  403  422  403  403  403  403  403")
            .json(json!({})),
        get("/api/v1/console/policies", &[],                                                "lgn  403  403  403  403  403  403  403  403  403  ok   403  403  403  403  403"),
        put("/api/v1/console/policies", &[],                                                "lgn  403  403  403  403  403  403  403  403  403  422  403  403  403  403  403")
            .json(json!({})),
        get("/api/v1/console/calendars/{layer}", &["federal"],                              "lgn  403  403  403  403  403  403  403  403  403  ok   403  403  403  403  403"),
        post("/api/v1/console/calendars/{layer}/days", &["federal"],                        "lgn  403  403  403  403  403  403  403  403  403  422  403  403  403  403  403")
            .json(json!({})),
        delete("/api/v1/console/calendars/{layer}/days/{date}", &["federal", "not-a-date"], "lgn  403  403  403  403  403  403  403  403  403  404  403  403  403  403  403"),
        post("/api/v1/console/calendars/{layer}/import", &["federal"],                      "lgn  403  403  403  403  403  403  403  403  403  422  403  403  403  403  403")
            .json(json!({})),
        get("/api/v1/console/changes", &[],                                                 "lgn  403  403  403  403  403  403  403  403  403  ok   403  403  403  403  403"),
        // ---- Open311 GeoReport v2 (outside both routers; the key is a parameter or a header) -------------
        // People's cookies are ignored (they are anonymous here); the clients send their
        // key as a header. Anonymous callers read messages as summaries; a key reads its
        // own scope (`c-wo` has no read scope: no list); only a citizen's key submits.
        //                                                                                   anon ivan mari unvr offl ooff oreg oadm crdT crdN oper anal c-ro c-rw c-wo c-xo
        get("/open311/v2/{file}", &["discovery.json"],                                      "ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok"),
        get("/open311/v2/{file}", &["services.xml"],                                        "ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok"),
        get("/open311/v2/{file}", &["requests.json"],                                       "ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   403  ok"),
        get("/open311/v2/{file}", &["requests.csv"],                                        "404  404  404  404  404  404  404  404  404  404  404  404  404  404  404  404"),
        post("/open311/v2/{file}", &["requests.json"],                                      "400  400  400  400  400  400  400  400  400  400  400  400  403  403  403  403")
            .form(&[("service_code", sub)]),
        get("/open311/v2/services/{file}", &[&format!("{sub}.json")],                       "ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok"),
        // Ivan's message: its summary for everybody, in full for those who may read it.
        get("/open311/v2/requests/{file}", &[&format!("{s}.xml")],                          "ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok   ok"),
        get("/open311/v2/requests/{file}", &["999999999.json"],                             "404  404  404  404  404  404  404  404  404  404  404  404  404  404  404  404"),
        get("/open311/v2/tokens/{file}", &["1999-0000001.json"],                            "404  404  404  404  404  404  404  404  404  404  404  404  404  404  404  404"),
    ]
}

// --- running it -----------------------------------------------------------------------------------

/// What came back.
struct Actual {
    outcome: Outcome,
    status: u16,
    /// The redirect's target or the problem's code.
    detail: String,
    body: String,
}

impl fmt::Display for Actual {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}", self.outcome, self.status)?;
        if !self.detail.is_empty() {
            write!(f, " {}", self.detail)?;
        }
        write!(f, ")")
    }
}

struct Mismatch {
    route: String,
    who: Who,
    expected: String,
    got: String,
}

struct World {
    app: TestApp,
    /// For the API: no cookies, no redirects followed.
    api: Client,
    ids: Ids,
    principals: Vec<Principal>,
    number: String,
    author_email: String,
    /// A valid message of Ivan's (JSON), to try again as an appeal.
    message: Value,
    /// Disagreements found while setting up (a probe on a live submission).
    findings: Vec<Mismatch>,
}

impl World {
    fn principal(&self, who: Who) -> &Principal {
        self.principals.iter().find(|p| p.who == who).unwrap()
    }

    /// A JSON request with an API credential; its status and body.
    async fn call(
        &self,
        auth: Option<&ApiAuth>,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut rb = self.api.request(method, self.app.url(path));
        if let Some(auth) = auth {
            rb = auth.apply(rb);
        }
        if let Some(body) = body {
            rb = rb.json(&body);
        }
        let r = rb.send().await.unwrap();
        let status = r.status().as_u16();
        let bytes = r.bytes().await.unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn call_as(
        &self,
        who: Who,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let auth = self.principal(who).api.clone();
        self.call(auth.as_ref(), method, path, body).await
    }

    async fn page_as(&self, who: Who, path: &str) -> (u16, String) {
        let r = self
            .principal(who)
            .page
            .get(self.app.url(path))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }
}

/// Sends one row's request as one principal.
async fn send(api_client: &Client, base: &str, p: &Principal, row: &Row) -> Actual {
    let api = row.api();
    let url = format!("{base}{}", row.path);
    let mut rb = if api {
        api_client.request(row.method.clone(), &url)
    } else {
        p.page.request(row.method.clone(), &url)
    };
    // People use pages with their cookie; a client sends its credential everywhere.
    if api || p.who.is_client() {
        if let Some(auth) = &p.api {
            rb = auth.apply(rb);
        }
    }
    rb = match &row.body {
        Body::None => rb,
        Body::Json(v) => rb.json(v),
        Body::Form(pairs) => {
            let mut all = vec![("csrf".to_owned(), p.csrf.clone())];
            all.extend(pairs.iter().cloned());
            rb.form(&all)
        }
        Body::Multipart(pairs) => {
            let mut form = Form::new().text("csrf", p.csrf.clone());
            for (k, v) in pairs {
                form = form.text(k.clone(), v.clone());
            }
            rb.multipart(form)
        }
        Body::Raw(content_type, body) => rb.header(CONTENT_TYPE, *content_type).body(*body),
    };
    let r = rb.send().await.unwrap();
    let status = r.status().as_u16();
    let location = r
        .headers()
        .get(LOCATION)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = r.text().await.unwrap_or_default();
    let code = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| {
            v["code"]
                .as_str()
                .or_else(|| v["error"].as_str())
                .map(str::to_owned)
        })
        .unwrap_or_default();
    Actual {
        outcome: Outcome::of(api, status, &location, &body),
        detail: if location.is_empty() {
            code
        } else {
            format!("→ {location}")
        },
        status,
        // Only the analyst's answers are read again (for personal data).
        body: if p.who == Who::Analyst {
            body
        } else {
            String::new()
        },
    }
}

fn ok_json((status, body): (u16, Value), what: &str) -> Value {
    assert!((200..300).contains(&status), "{what}: {status} {body}");
    body
}

fn named<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("no «{name}»"))
}

/// A value a required form field accepts.
fn sample(field: &Value) -> String {
    match field["kind"].as_str().unwrap() {
        "number" => "21".to_owned(),
        "date" => "2026-01-15".to_owned(),
        "select" | "multi_select" => field["options"][0].as_str().unwrap().to_owned(),
        _ => "г. Тверь, ул. Советская, д. 5".to_owned(),
    }
}

/// Signs everybody in and sets up the submission, its incident and the clients.
async fn world() -> World {
    let app = spawn_app().await;
    let api = Client::builder().redirect(Policy::none()).build().unwrap();
    let email_of = |wanted: &str| {
        assert!(
            app.accounts.iter().any(|a| a.email == wanted),
            "no demo account {wanted}"
        );
        wanted.to_owned()
    };
    let person = |email: String| Credentials::Password {
        email,
        password: DEMO_PASSWORD.to_owned(),
    };
    // The unverified citizen registers here with an e-mail address.
    let r = Client::new()
        .post(app.url("/api/v1/auth/register"))
        .json(&json!({
            "email": UNVERIFIED_EMAIL,
            "full_name": "Фёдор Матрицын",
            "password": UNVERIFIED_PASSWORD,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let people = [
        (Who::Anonymous, Credentials::None),
        (Who::Author, person(email_of(CITIZEN))),
        (Who::OtherCitizen, person(email_of(OTHER_CITIZEN))),
        (
            Who::Unverified,
            Credentials::Password {
                email: UNVERIFIED_EMAIL.to_owned(),
                password: UNVERIFIED_PASSWORD.to_owned(),
            },
        ),
        (Who::Official, person(app.official_of(CITY).email.clone())),
        (
            Who::OtherOrgOfficial,
            person(app.official_of(TRANSPORT).email.clone()),
        ),
        (
            Who::OtherRegionOfficial,
            person(app.official_of(NSK_CITY).email.clone()),
        ),
        (Who::OrgAdmin, person(email_of(ORG_ADMIN))),
        (Who::Coordinator, person(email_of(COORDINATOR))),
        (Who::OtherCoordinator, person(email_of(OTHER_COORDINATOR))),
        (Who::Operator, person(email_of(OPERATOR))),
        (Who::Analyst, person(email_of(ANALYST))),
    ];
    let mut principals = Vec::new();
    for (who, creds) in people {
        principals.push(Principal::new(&app, who, creds).await);
    }
    let mut w = World {
        app,
        api,
        ids: Ids::default(),
        principals,
        number: String::new(),
        author_email: CITIZEN.to_owned(),
        message: Value::Null,
        findings: Vec::new(),
    };
    let me = ok_json(
        w.call_as(Who::Unverified, Method::GET, "/api/v1/me", None)
            .await,
        "me",
    );
    assert_eq!(me["verification"], "unverified");

    // Reference data.
    let catalogue = ok_json(
        w.call(None, Method::GET, "/api/v1/catalogue", None).await,
        "catalogue",
    );
    let (category, traffic_light) = catalogue
        .as_array()
        .unwrap()
        .iter()
        .find_map(|c| {
            c["subcategories"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["name"] == TRAFFIC_LIGHT)
                .map(|s| (c["id"].clone(), s.clone()))
        })
        .unwrap();
    let potholes = catalogue
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["subcategories"].as_array().unwrap())
        .find(|s| s["name"] == POTHOLES)
        .unwrap()["id"]
        .clone();
    let regions = ok_json(
        w.call(None, Method::GET, "/api/v1/regions", None).await,
        "regions",
    );
    let orgs = ok_json(
        w.call(None, Method::GET, "/api/v1/organisations", None)
            .await,
        "orgs",
    );
    let tver = named(&regions, TVER)["id"].as_i64().unwrap();
    let city = named(&orgs, CITY)["id"].as_i64().unwrap();
    let transport = named(&orgs, TRANSPORT)["id"].as_i64().unwrap();

    // Ivan's message, with a photo.
    let fields: serde_json::Map<String, Value> = traffic_light["form"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["required"] == true)
        .map(|f| (f["key"].as_str().unwrap().to_owned(), sample(f).into()))
        .collect();
    w.message = json!({
        "kind": "message",
        "subcategory_id": traffic_light["id"],
        "region_id": tver,
        "text": TEXT,
        "fields": fields,
        "attachments": [{
            "name": "svetofor.png",
            "content_base64": base64::engine::general_purpose::STANDARD.encode(PNG_1X1),
        }],
    });
    let created = w
        .call_as(
            Who::Author,
            Method::POST,
            "/api/v1/submissions",
            Some(w.message.clone()),
        )
        .await;
    assert_eq!(created.0, 201, "{}", created.1);
    let created = created.1;
    assert_eq!(created["organisation"], CITY);
    let s = created["id"].as_i64().unwrap();
    w.number = created["number"].as_str().unwrap().to_owned();
    let file = created["attachments"][0]["id"].as_i64().unwrap();

    // The integration clients.
    let id_of = |v: Value| UserId(v["id"].as_i64().unwrap());
    let admin = id_of(ok_json(
        w.call_as(Who::OrgAdmin, Method::GET, "/api/v1/me", None)
            .await,
        "me",
    ));
    let operator = id_of(ok_json(
        w.call_as(Who::Operator, Method::GET, "/api/v1/me", None)
            .await,
        "me",
    ));
    let city_official = ok_json(
        w.call_as(Who::Official, Method::GET, "/api/v1/me", None)
            .await,
        "me",
    );
    let transport_official = ok_json(
        w.call_as(Who::OtherOrgOfficial, Method::GET, "/api/v1/me", None)
            .await,
        "me",
    );
    let clients = [
        (
            Who::ClientRead,
            "matrix-read",
            city,
            vec![ApiScope::SubmissionsRead],
            admin,
            false,
        ),
        (
            Who::ClientReadWrite,
            "matrix-readwrite",
            city,
            vec![ApiScope::SubmissionsRead, ApiScope::SubmissionsWrite],
            admin,
            true,
        ),
        (
            Who::ClientWrite,
            "matrix-write",
            city,
            vec![ApiScope::SubmissionsWrite],
            admin,
            true,
        ),
        (
            Who::OtherClient,
            "matrix-other",
            transport,
            vec![ApiScope::SubmissionsRead, ApiScope::SubmissionsWrite],
            operator,
            false,
        ),
    ];
    for (who, id, org, scopes, by, by_key) in clients {
        let secret = format!("{id}-secret-2026");
        w.app
            .store
            .create_api_client(otklik_store::NewApiClient {
                client_id: id.to_owned(),
                org: OrgId(org),
                name: PersonName::parse(&format!("Система {id}")).unwrap(),
                secret_sha256: otklik_web::auth::token_digest(&secret),
                scopes,
                created_by: by,
            })
            .await
            .unwrap();
        let creds = Credentials::Client {
            id: id.to_owned(),
            secret,
            by_key,
        };
        let principal = Principal::new(&w.app, who, creds).await;
        w.principals.push(principal);
    }
    assert_eq!(
        w.principals.iter().map(|p| p.who).collect::<Vec<_>>(),
        PRINCIPALS
    );
    // The site the city administration's widget may be embedded on.
    w.app
        .store
        .add_widget_site(
            OrgId(city),
            WIDGET_SITE,
            admin,
            time::OffsetDateTime::now_utc(),
        )
        .await
        .unwrap();

    // The write-only system takes the live submission into work: `handle_submission`
    // lets it act, so the action is its to take.
    let path = |action: &str| format!("/api/v1/submissions/{s}/{action}");
    let probe = w
        .call_as(
            Who::ClientWrite,
            Method::POST,
            &path("take-into-work"),
            None,
        )
        .await;
    let status_now = ok_json(
        w.call_as(
            Who::Author,
            Method::GET,
            &format!("/api/v1/submissions/{s}"),
            None,
        )
        .await,
        "view",
    )["status"]
        .as_str()
        .unwrap()
        .to_owned();
    if !(200..300).contains(&probe.0) {
        w.findings.push(Mismatch {
            route: "POST /api/v1/submissions/{id}/take-into-work  [setup: the live submission]"
                .to_owned(),
            who: Who::ClientWrite,
            expected: "ok".to_owned(),
            got: format!(
                "{} ({}) — the submission is now «{status_now}»",
                probe.0,
                probe.1["code"].as_str().unwrap_or("")
            ),
        });
    }
    if status_now == "registered" {
        ok_json(
            w.call_as(Who::Official, Method::POST, &path("take-into-work"), None)
                .await,
            "take",
        );
    }
    // Answered, the answer returned by the coordinator (an incident), then rejected.
    ok_json(
        w.call_as(
            Who::Official,
            Method::POST,
            &path("answer"),
            Some(json!({ "text": "Светофор отремонтирован." })),
        )
        .await,
        "answer",
    );
    ok_json(
        w.call_as(
            Who::Coordinator,
            Method::POST,
            &path("return-answer"),
            Some(json!({ "reason": "Ответ не подтверждён фотографией." })),
        )
        .await,
        "return",
    );
    let rejected = ok_json(
        w.call_as(
            Who::Official,
            Method::POST,
            &path("reject"),
            Some(
                json!({ "ground": "repeated_question", "comment": "Ответ уже дан по обращению." }),
            ),
        )
        .await,
        "reject",
    );
    assert_eq!(rejected["status"], "rejected");
    let incidents = ok_json(
        w.call_as(
            Who::Operator,
            Method::GET,
            "/api/v1/incidents?kind=answer_rejected",
            None,
        )
        .await,
        "incidents",
    );
    let incident = incidents["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["number"] == w.number.as_str())
        .unwrap_or_else(|| panic!("no incident for {}: {incidents}", w.number))["id"]
        .as_i64()
        .unwrap();
    ok_json(
        w.call_as(
            Who::Operator,
            Method::POST,
            &format!("/api/v1/incidents/{incident}/resolve"),
            Some(json!({ "resolution": "Ответ доработан и направлен повторно." })),
        )
        .await,
        "resolve",
    );

    // A receipt covered by a signed tree head.
    let deadline = Instant::now() + Duration::from_secs(20);
    let receipt = loop {
        let entries = ok_json(
            w.call_as(
                Who::Author,
                Method::GET,
                &format!("/api/v1/submissions/{s}/receipts"),
                None,
            )
            .await,
            "receipts",
        );
        let entries = entries.as_array().unwrap();
        if !entries.is_empty() && entries.iter().all(|e| e["signed"] == true) {
            break entries[0]["index"].as_u64().unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "the log never signed {entries:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let head = ok_json(
        w.call(None, Method::GET, "/api/v1/log/tree-head", None)
            .await,
        "head",
    );
    let routes = ok_json(
        w.call_as(Who::Operator, Method::GET, "/api/v1/console/routes", None)
            .await,
        "routes",
    );
    let polls = ok_json(
        w.call_as(Who::Author, Method::GET, "/api/v1/polls", None)
            .await,
        "polls",
    );
    let city_poll = polls
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["organisation"] == CITY)
        .unwrap_or_else(|| panic!("no open poll of {CITY}: {polls}"))["id"]
        .as_i64()
        .unwrap();

    w.ids = Ids {
        submission: s.to_string(),
        file: file.to_string(),
        receipt: receipt.to_string(),
        incident: incident.to_string(),
        subcategory: traffic_light["id"].to_string(),
        other_subcategory: potholes.to_string(),
        category: category.to_string(),
        tver: tver.to_string(),
        city: city.to_string(),
        transport: transport.to_string(),
        city_official: city_official["id"].to_string(),
        transport_official: transport_official["id"].to_string(),
        other_client: "matrix-other".to_owned(),
        route: routes[0]["id"].to_string(),
        tree_size: head["size"].to_string(),
        city_poll: city_poll.to_string(),
    };
    w
}

/// The API list of `who`, by submission id.
async fn listed(w: &World, who: Who) -> Vec<String> {
    let list = ok_json(
        w.call_as(who, Method::GET, "/api/v1/submissions?limit=200", None)
            .await,
        "list",
    );
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].to_string())
        .collect()
}

/// The specific promises of the issue, checked on their own: cross-organisation and
/// cross-region reads fail, and the analyst never gets what identifies a citizen.
async fn boundaries(
    w: &World,
    results: &[(usize, Who, Actual)],
    rows: &[Arc<Row>],
    out: &mut Vec<Mismatch>,
) {
    let s = &w.ids.submission;
    let mut fail = |route: String, who: Who, expected: &str, got: String| {
        out.push(Mismatch {
            route: format!("[boundary] {route}"),
            who,
            expected: expected.to_owned(),
            got,
        });
    };
    // Every request about the submission, its file, its receipts and its actions, from
    // another organisation's official and system and from another region's coordinator
    // and official: 404, on pages and in the API.
    let about = |path: &str| {
        let sub = format!("/submissions/{s}");
        let file = format!("/files/{}", w.ids.file);
        [sub, file].iter().any(|p| {
            path.split('?')
                .next()
                .is_some_and(|path| path.ends_with(p.as_str()) || path.contains(&format!("{p}/")))
        })
    };
    let outsiders = [
        Who::OtherOrgOfficial,
        Who::OtherRegionOfficial,
        Who::OtherCoordinator,
        Who::OtherClient,
    ];
    let mut checked = 0;
    for (i, who, actual) in results {
        let row = &rows[*i];
        if !about(&row.path) || !outsiders.contains(who) || (who.is_client() && !row.api()) {
            continue;
        }
        checked += 1;
        if actual.outcome != Outcome::Hidden {
            fail(row.name(), *who, "404", actual.to_string());
        }
    }
    assert!(checked >= 60, "only {checked} boundary requests");

    // Nor is it in their lists, while it is in those of the holders.
    for who in [
        Who::Official,
        Who::Coordinator,
        Who::Operator,
        Who::ClientRead,
        Who::ClientReadWrite,
    ] {
        if !listed(w, who).await.contains(s) {
            fail(
                "GET /api/v1/submissions (holder's list)".to_owned(),
                who,
                "listed",
                "missing".to_owned(),
            );
        }
    }
    for who in [
        Who::OtherOrgOfficial,
        Who::OtherRegionOfficial,
        Who::OtherCoordinator,
        Who::OtherClient,
    ] {
        if listed(w, who).await.contains(s) {
            fail(
                "GET /api/v1/submissions (list)".to_owned(),
                who,
                "not listed",
                "listed".to_owned(),
            );
        }
    }
    // The same on pages (the holders' pages show it: the checks are not vacuous).
    for (who, page, shown) in [
        (Who::Official, "/inbox?status=rejected", true),
        (Who::OtherOrgOfficial, "/inbox?status=rejected", false),
        (Who::OtherRegionOfficial, "/inbox?status=rejected", false),
        (Who::Coordinator, "/coordination?status=rejected", true),
        (
            Who::OtherCoordinator,
            "/coordination?status=rejected",
            false,
        ),
        (Who::Coordinator, "/incidents", true),
        (Who::OtherCoordinator, "/incidents", false),
        (Who::OtherCoordinator, "/monitoring", false),
    ] {
        let (status, html) = w.page_as(who, page).await;
        if status != 200 || html.contains(&w.number) != shown {
            let want = if shown {
                "200 with the submission"
            } else {
                "200 without the submission"
            };
            fail(
                format!("GET {page}"),
                who,
                want,
                format!("{status}, shown: {}", html.contains(&w.number)),
            );
        }
    }
    let (status, incidents) = w
        .call_as(
            Who::OtherCoordinator,
            Method::GET,
            "/api/v1/incidents",
            None,
        )
        .await;
    if status != 200 || incidents.to_string().contains(&w.number) {
        fail(
            "GET /api/v1/incidents".to_owned(),
            Who::OtherCoordinator,
            "200 without the incident",
            format!("{status} {incidents}"),
        );
    }

    // The analyst: the incident is there (by its number, which identifies nobody), and
    // neither the author's name, nor the address, nor the text, nor a link to open it.
    let personal = [AUTHOR_NAME, w.author_email.as_str(), TEXT];
    let tver = &w.ids.tver;
    let api_reads = [
        "/api/v1/incidents".to_owned(),
        format!("/api/v1/incidents?region_id={tver}"),
        "/api/v1/monitoring/regions".to_owned(),
    ];
    for path in &api_reads {
        let (status, body) = w.call_as(Who::Analyst, Method::GET, path, None).await;
        let text = body.to_string();
        let leaks: Vec<&str> = personal
            .iter()
            .copied()
            .filter(|p| text.contains(p))
            .collect();
        let links = body["items"]
            .as_array()
            .is_some_and(|items| items.iter().any(|i| !i["submission_url"].is_null()));
        if status != 200 || !leaks.is_empty() || links {
            fail(
                format!("GET {path}"),
                Who::Analyst,
                "200, no personal data, no links",
                format!("{status}, leaks {leaks:?}, links {links}"),
            );
        }
    }
    let (_, incidents) = w
        .call_as(Who::Analyst, Method::GET, "/api/v1/incidents", None)
        .await;
    if !incidents.to_string().contains(&w.number) {
        fail(
            "GET /api/v1/incidents".to_owned(),
            Who::Analyst,
            "the incident listed",
            "missing".to_owned(),
        );
    }
    for path in [
        "/incidents".to_owned(),
        format!("/incidents?region={tver}"),
        "/monitoring".to_owned(),
    ] {
        let (status, html) = w.page_as(Who::Analyst, &path).await;
        let leaks: Vec<&str> = personal
            .iter()
            .copied()
            .filter(|p| html.contains(p))
            .collect();
        let links = html.contains("href=\"/submissions/");
        if status != 200 || !leaks.is_empty() || links {
            fail(
                format!("GET {path}"),
                Who::Analyst,
                "200, no personal data, no links",
                format!("{status}, leaks {leaks:?}, links {links}"),
            );
        }
    }
    // A 59-FZ appeal needs a standard identity: the unverified citizen's valid appeal is
    // refused (after the form is checked), in the API and on the page.
    let mut appeal = w.message.clone();
    appeal["kind"] = json!("appeal");
    let (status, body) = w
        .call_as(
            Who::Unverified,
            Method::POST,
            "/api/v1/submissions",
            Some(appeal),
        )
        .await;
    if (status, body["code"].as_str()) != (403, Some("verification_standard_required")) {
        fail(
            "POST /api/v1/submissions (valid appeal)".to_owned(),
            Who::Unverified,
            "403 verification_standard_required",
            format!("{status} {body}"),
        );
    }
    let unverified = w.principal(Who::Unverified);
    let mut form = Form::new()
        .text("csrf", unverified.csrf.clone())
        .text("kind", "appeal")
        .text("region", w.ids.tver.clone())
        .text("text", TEXT);
    for (key, value) in w.message["fields"].as_object().unwrap() {
        form = form.text(
            format!("{}{key}", otklik_domain::form::FIELD_PREFIX),
            value.as_str().unwrap().to_owned(),
        );
    }
    let r = unverified
        .page
        .post(w.app.url(&format!("/submit/{}", w.ids.subcategory)))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let html = r.text().await.unwrap();
    if status != 403 || html.contains("Форма устарела") {
        fail(
            "POST /submit/{id} (valid appeal)".to_owned(),
            Who::Unverified,
            "403",
            status.to_string(),
        );
    }

    // Whatever the analyst got from the matrix about the submission held nothing of it.
    for (i, who, actual) in results {
        if *who == Who::Analyst && about(&rows[*i].path) {
            let leaks: Vec<&str> = personal
                .iter()
                .copied()
                .filter(|p| actual.body.contains(p))
                .collect();
            if !leaks.is_empty() {
                fail(
                    rows[*i].name(),
                    *who,
                    "no personal data",
                    format!("leaks {leaks:?}"),
                );
            }
        }
    }
}

fn report(mismatches: &[Mismatch]) -> String {
    let width = mismatches
        .iter()
        .map(|m| m.route.chars().count())
        .max()
        .unwrap_or(5)
        .max(5);
    let mut out = format!("{:width$}  {:4}  {:24}  GOT\n", "ROUTE", "WHO", "EXPECTED");
    for m in mismatches {
        out.push_str(&format!(
            "{:width$}  {:4}  {:24}  {}\n",
            m.route,
            m.who.column(),
            m.expected,
            m.got
        ));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_route_for_every_principal() {
    let started = Instant::now();
    let w = world().await;
    let setup = started.elapsed();
    let rows: Vec<Arc<Row>> = matrix(&w.ids).into_iter().map(Arc::new).collect();
    let mut mismatches: Vec<Mismatch> = w
        .findings
        .iter()
        .map(|m| Mismatch {
            route: m.route.clone(),
            who: m.who,
            expected: m.expected.clone(),
            got: m.got.clone(),
        })
        .collect();
    // Every request at once (a few dozen in flight): the matrix changes nothing, so the
    // order does not matter. Rows that end a credential get one of their own first.
    let in_flight = Arc::new(tokio::sync::Semaphore::new(24));
    let mut asking = tokio::task::JoinSet::new();
    for (i, row) in rows.iter().enumerate() {
        for (k, p) in w.principals.iter().enumerate() {
            let p = if row.fresh == Fresh::No {
                p.clone()
            } else {
                p.fresh(&w.app, row.fresh).await
            };
            let (api, base, row) = (w.api.clone(), w.app.base.clone(), Arc::clone(row));
            let in_flight = Arc::clone(&in_flight);
            asking.spawn(async move {
                let _turn = in_flight.acquire_owned().await.unwrap();
                ((i, k), send(&api, &base, &p, &row).await)
            });
        }
    }
    let mut answers = asking.join_all().await;
    answers.sort_by_key(|(at, _)| *at);
    let mut results = Vec::new();
    for ((i, k), actual) in answers {
        let (row, who) = (&rows[i], PRINCIPALS[k]);
        if actual.outcome != row.expect[k] {
            mismatches.push(Mismatch {
                route: row.name(),
                who,
                expected: row.expect[k].to_string(),
                got: actual.to_string(),
            });
        }
        results.push((i, who, actual));
    }
    if std::env::var_os("ACCESS_MATRIX_PRINT").is_some() {
        // The whole matrix as it came back, with statuses and codes.
        for (i, row) in rows.iter().enumerate() {
            let got: Vec<String> = results
                .iter()
                .filter(|(r, _, _)| *r == i)
                .map(|(_, who, a)| format!("{}={a}", who.column()))
                .collect();
            println!("{}\n    {}", row.name(), got.join("  "));
        }
    }
    let matrix_time = started.elapsed() - setup;
    boundaries(&w, &results, &rows, &mut mismatches).await;
    let routes: BTreeSet<(String, &str)> = rows
        .iter()
        .map(|r| (r.method.to_string(), r.template))
        .collect();
    println!(
        "access matrix: {} rows ({} routes) × {} principals = {} requests; setup {:.1?}, matrix {:.1?}, total {:.1?}",
        rows.len(),
        routes.len(),
        PRINCIPALS.len(),
        results.len(),
        setup,
        matrix_time,
        started.elapsed()
    );
    let count = mismatches.len();
    w.app.stop().await;
    assert!(
        mismatches.is_empty(),
        "{count} disagreements between the policy and the code:\n{}",
        report(&mismatches)
    );
}

// --- completeness -------------------------------------------------------------------------------

// The route scanner lives in `support.rs`: the OpenAPI completeness test reads the same
// routes.
use crate::support::{declared_routes, scan_routes};

#[test]
fn every_route_has_a_row() {
    let declared = declared_routes();
    assert!(declared.len() > 100, "only {} routes found", declared.len());
    let table: BTreeSet<(String, String)> = matrix(&Ids::default())
        .iter()
        .map(|r| (r.method.to_string(), r.template.to_owned()))
        .collect();
    let missing: Vec<_> = declared.difference(&table).collect();
    let stale: Vec<_> = table.difference(&declared).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "routes without a row in the access matrix: {missing:#?}\nrows naming no route: {stale:#?}"
    );
}

#[test]
fn the_route_scanner_reads_chained_and_wrapped_routes() {
    let source = r#"
        Router::new()
            .route("/a", get(a))
            .route(
                "/b/{id}",
                get(b).post(c).layer(DefaultBodyLimit::max(LIMIT)),
            )
            // .route("/commented", get(x))
            .route("/c", axum::routing::delete(d).put(upload))
            .route_layer(x)
    "#;
    assert_eq!(
        scan_routes(source),
        vec![
            ("/a".to_owned(), vec!["GET".to_owned()]),
            (
                "/b/{id}".to_owned(),
                vec!["GET".to_owned(), "POST".to_owned()]
            ),
            ("/c".to_owned(), vec!["DELETE".to_owned(), "PUT".to_owned()]),
        ]
    );
}
