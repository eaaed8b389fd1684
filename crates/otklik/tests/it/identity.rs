//! Identity and access against real components: a real OpenID Connect provider (the npm
//! package `oidc-provider`, `tests/oidc/provider.mjs`, started here on loopback) driven
//! through the real redirect flow, with its failure cases; verification levels; lockout;
//! rate limits; organisation administrators and integration clients.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use reqwest::{Client, Response};
use serde_json::{json, Value};

use crate::api::{refused, sample_value};
use crate::support::{
    csrf_in, page_login, spawn_app_with, Backend, TestApp, CITIZEN, DEMO_PASSWORD, OPERATOR,
};

const CLIENT_ID: &str = "otklik";
const CLIENT_SECRET: &str = "otklik-test-secret";
const TRAFFIC_LIGHT: &str = "Неработающий светофор";

// --- the provider ----------------------------------------------------------------------------

/// The test identity provider, running until dropped (it exits when its stdin closes).
struct Provider {
    issuer: String,
    child: Child,
}

impl Provider {
    fn start(clock_offset_seconds: i64) -> Self {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/oidc/provider.mjs");
        let mut child = Command::new("node")
            .arg(script)
            .env("CLOCK_OFFSET_SECONDS", clock_offset_seconds.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node runs the test OIDC provider (scripts/test installs it)");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let ready: Value = serde_json::from_str(&line)
            .unwrap_or_else(|_| panic!("the provider did not start: {line:?}"));
        Self {
            issuer: ready["issuer"].as_str().unwrap().to_owned(),
            child,
        }
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free loopback port for the app, known before it starts (its callback URL names it).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The app configured with the provider at `issuer`, mapping the test provider's claims.
async fn app_with_provider(
    issuer: &str,
    customise: impl FnOnce(&mut otklik::ServeConfig),
) -> TestApp {
    let port = free_port();
    let issuer = issuer.to_owned();
    spawn_app_with(Backend::Sqlite, move |config| {
        config.listen = format!("127.0.0.1:{port}").parse().unwrap();
        let claims = otklik_web::config::ClaimMapping {
            identity_key: "snils".to_owned(),
            verification: "trust_level".to_owned(),
            ..Default::default()
        };
        config.web.oidc = Some(otklik_web::config::OidcConfig {
            issuer,
            client_id: CLIENT_ID.to_owned(),
            client_secret: otklik_web::config::Secret::new(CLIENT_SECRET),
            redirect_url: format!("http://127.0.0.1:{port}/auth/oidc/callback"),
            display_name: "Госуслуги".to_owned(),
            scopes: ["profile", "address", "snils", "trust"]
                .into_iter()
                .map(str::to_owned)
                .collect(),
            clock_skew_seconds: 60,
            timeout_seconds: 5,
            claims,
        });
        customise(config);
    })
    .await
}

fn browser() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn location(r: &Response) -> String {
    r.headers()
        .get("location")
        .map_or(String::new(), |v| v.to_str().unwrap().to_owned())
}

/// Drives the provider from the app's redirect to the callback URL it sends back,
/// signing in as `login`. `tamper` may rewrite the authorization URL first.
async fn through_provider(
    client: &Client,
    issuer: &str,
    start: Response,
    login: &str,
    tamper: impl FnOnce(String) -> String,
) -> String {
    assert_eq!(start.status(), 303, "{}", start.text().await.unwrap());
    let authorize = tamper(location(&start));
    assert!(authorize.starts_with(issuer), "{authorize}");
    let r = client.get(&authorize).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let interaction = format!("{issuer}{}", location(&r));
    let r = client
        .post(format!("{interaction}/login"))
        .form(&[("login", login), ("password", "any")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let r = client.get(location(&r)).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let callback = location(&r);
    assert!(callback.contains("/auth/oidc/callback?"), "{callback}");
    callback
}

/// A whole login through the provider; returns the callback's response.
async fn login_via_provider(app: &TestApp, issuer: &str, client: &Client, login: &str) -> Response {
    let start = client
        .get(app.url("/auth/oidc/start"))
        .send()
        .await
        .unwrap();
    let callback = through_provider(client, issuer, start, login, |u| u).await;
    client.get(callback).send().await.unwrap()
}

/// Whether this browser has a session: `/account` answers instead of sending to login.
async fn signed_in(app: &TestApp, client: &Client) -> bool {
    let r = client.get(app.url("/account")).send().await.unwrap();
    match r.status().as_u16() {
        200 => true,
        303 => {
            assert_eq!(location(&r), "/login");
            false
        }
        other => panic!("/account answered {other}"),
    }
}

async fn account_page(app: &TestApp, client: &Client) -> String {
    let r = client.get(app.url("/account")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

async fn user_count(app: &TestApp) -> i64 {
    let pool = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    n
}

// --- login through the provider -------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_login_makes_one_verified_account_per_person() {
    let provider = Provider::start(0);
    let app = app_with_provider(&provider.issuer, |_| {}).await;
    let before = user_count(&app).await;

    // The login page offers the provider.
    let client = browser();
    let html = client
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(r#"href="/auth/oidc/start""#));

    let done = login_via_provider(&app, &provider.issuer, &client, "verified-1").await;
    assert_eq!(
        (done.status().as_u16(), location(&done).as_str()),
        (303, "/my")
    );
    let account = account_page(&app, &client).await;
    assert!(
        account.contains("Сергей Кузнецов"),
        "the provider's name is used"
    );
    assert!(account.contains(r#"data-level="verified""#));
    assert!(account.contains("17.05.1980"));
    assert!(
        account.contains("Тверская область"),
        "the region of residence"
    );
    assert!(
        account.contains(&provider.issuer),
        "the linked identity is listed"
    );
    assert_eq!(user_count(&app).await, before + 1);

    // Signing in again, in another browser, reaches the same account.
    let again = browser();
    let done = login_via_provider(&app, &provider.issuer, &again, "verified-1").await;
    assert_eq!(done.status(), 303);
    assert!(account_page(&app, &again).await.contains("Сергей Кузнецов"));
    assert_eq!(user_count(&app).await, before + 1);

    // Another provider account of the same person (same SNILS) gets no second account.
    let twin = browser();
    let refused = login_via_provider(&app, &provider.issuer, &twin, "twin-1").await;
    assert_eq!(refused.status(), 409);
    assert!(refused
        .text()
        .await
        .unwrap()
        .contains("уже есть учётная запись"));
    assert!(!signed_in(&app, &twin).await);
    assert_eq!(user_count(&app).await, before + 1);

    // A standard account is standard; the level follows the provider.
    let standard = browser();
    login_via_provider(&app, &provider.issuer, &standard, "standard-1").await;
    assert!(account_page(&app, &standard)
        .await
        .contains(r#"data-level="standard""#));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_login_failures_leave_nobody_signed_in() {
    let provider = Provider::start(0);
    let app = app_with_provider(&provider.issuer, |_| {}).await;
    let before = user_count(&app).await;

    // A tampered state: refused, and the pending login is gone too.
    let client = browser();
    let start = client
        .get(app.url("/auth/oidc/start"))
        .send()
        .await
        .unwrap();
    let callback = through_provider(&client, &provider.issuer, start, "verified-1", |u| u).await;
    let tampered = callback.replace("state=", "state=x");
    let r = client.get(&tampered).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("Начните вход заново"));
    assert!(!signed_in(&app, &client).await);

    // A replayed callback (code and state used once already).
    let client = browser();
    let start = client
        .get(app.url("/auth/oidc/start"))
        .send()
        .await
        .unwrap();
    let callback = through_provider(&client, &provider.issuer, start, "verified-1", |u| u).await;
    assert_eq!(client.get(&callback).send().await.unwrap().status(), 303);
    let replay = browser();
    assert_eq!(replay.get(&callback).send().await.unwrap().status(), 400);
    assert!(!signed_in(&app, &replay).await);

    // The callback completed in another browser than the one that started the login.
    let starter = browser();
    let start = starter
        .get(app.url("/auth/oidc/start"))
        .send()
        .await
        .unwrap();
    let callback = through_provider(&starter, &provider.issuer, start, "standard-1", |u| u).await;
    let other = browser();
    assert_eq!(other.get(&callback).send().await.unwrap().status(), 400);
    assert!(!signed_in(&app, &other).await);
    assert!(!signed_in(&app, &starter).await);

    // A wrong nonce: the ID token answers a different request than the one we made.
    let client = browser();
    let start = client
        .get(app.url("/auth/oidc/start"))
        .send()
        .await
        .unwrap();
    let callback = through_provider(&client, &provider.issuer, start, "unverified-1", |u| {
        let (head, rest) = u.split_once("nonce=").unwrap();
        format!("{head}nonce=forged{rest}")
    })
    .await;
    let r = client.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("неверное или просроченное"));
    assert!(!signed_in(&app, &client).await);

    // The provider's own error (the person cancelled) comes back as a clear page.
    let client = browser();
    let start = client
        .get(app.url("/auth/oidc/start"))
        .send()
        .await
        .unwrap();
    let callback = through_provider(&client, &provider.issuer, start, "unverified-1", |u| u).await;
    let state = callback
        .split("state=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let cancelled = app.url(&format!(
        "/auth/oidc/callback?error=access_denied&state={state}"
    ));
    let r = client.get(cancelled).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(!signed_in(&app, &client).await);

    // Nothing of this created an account, except the one good login above.
    assert_eq!(user_count(&app).await, before + 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_id_token_is_refused() {
    // The provider's clock is two hours behind: its ID tokens (1 h) arrive expired.
    let provider = Provider::start(-7200);
    let app = app_with_provider(&provider.issuer, |_| {}).await;
    let client = browser();
    let r = login_via_provider(&app, &provider.issuer, &client, "verified-1").await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("просроч"));
    assert!(!signed_in(&app, &client).await);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_is_down_gets_a_clear_message() {
    let closed = format!("http://127.0.0.1:{}", free_port());
    let app = app_with_provider(&closed, |_| {}).await;
    let client = browser();
    let r = client
        .get(app.url("/auth/oidc/start"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.headers().get("retry-after").is_some());
    let html = r.text().await.unwrap();
    assert!(html.contains("Сервис входа сейчас недоступен"), "{html}");
    assert!(!signed_in(&app, &client).await);
    // Password login still works while the provider is down.
    let token = app.token(CITIZEN).await;
    assert!(!token.is_empty());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_provider_the_login_route_says_so() {
    let app = spawn_app_with(Backend::Sqlite, |_| {}).await;
    let html = reqwest::get(app.url("/login"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains("/auth/oidc/start"));
    let r = reqwest::get(app.url("/auth/oidc/start")).await.unwrap();
    assert_eq!(r.status(), 404);
    app.stop().await;
}

// --- verification levels ---------------------------------------------------------------------

/// A submission body of a subcategory without a required photo, in Тверская область.
async fn appeal_body(app: &TestApp, kind: &str) -> Value {
    let catalogue: Value = reqwest::get(app.url("/api/v1/catalogue"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sub = catalogue
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["subcategories"].as_array().unwrap())
        .find(|s| s["name"] == TRAFFIC_LIGHT)
        .unwrap()
        .clone();
    let regions: Value = reqwest::get(app.url("/api/v1/regions"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tver = regions
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == "RU-TVE")
        .unwrap()["id"]
        .clone();
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
    json!({
        "kind": kind,
        "subcategory_id": sub["id"],
        "region_id": tver,
        "text": "Светофор на перекрёстке Советской и Радищева не работает третий день.",
        "fields": fields,
        "attachments": [],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appeals_need_a_verified_identity_which_linking_the_provider_gives() {
    let provider = Provider::start(0);
    let app = app_with_provider(&provider.issuer, |_| {}).await;
    // A local account: unverified.
    let email = "new.person@example.ru";
    let password = "Надёжный-пароль-7";
    let (status, user) = app
        .api("")
        .post(
            "/api/v1/auth/register",
            json!({ "email": email, "full_name": "Новый Человек", "password": password }),
        )
        .await;
    assert_eq!(status, 201, "{user}");
    assert_eq!(user["verification"], "unverified");
    let token = app.token_with(email, password).await;
    let api = app.api(&token);

    // A message is fine; a 59-FZ appeal needs a standard identity, and says so.
    let (status, _) = api
        .post("/api/v1/submissions", appeal_body(&app, "message").await)
        .await;
    assert_eq!(status, 201);
    let before = api.get("/api/v1/submissions").await.1["total"].clone();
    let body = refused(
        api.post("/api/v1/submissions", appeal_body(&app, "appeal").await)
            .await,
        403,
        "verification_standard_required",
    );
    assert!(body["title"]
        .as_str()
        .unwrap()
        .contains("подтверждённая личность"));
    assert_eq!(
        api.get("/api/v1/submissions").await.1["total"],
        before,
        "nothing was written"
    );

    // The page explains how to get there.
    let client = browser();
    let r = page_login(&app, &client, email, password).await;
    assert_eq!(r.status(), 303);
    let account = account_page(&app, &client).await;
    assert!(account.contains(r#"data-level="unverified""#));
    assert!(account.contains("Как повысить уровень"));

    // Linking the provider's verified account raises the level of this account.
    let start = client
        .post(app.url("/auth/oidc/link"))
        .form(&[("csrf", csrf_in(&account).as_str())])
        .send()
        .await
        .unwrap();
    let callback = through_provider(&client, &provider.issuer, start, "standard-1", |u| u).await;
    let r = client.get(callback).send().await.unwrap();
    assert_eq!(location(&r), "/account?done=linked");
    let r = client
        .get(app.url("/account?done=linked"))
        .send()
        .await
        .unwrap();
    let account = r.text().await.unwrap();
    assert!(account.contains(r#"data-level="standard""#));
    assert!(account.contains("привязана. Уровень подтверждения обновлён"));
    assert!(account.contains(&provider.issuer));
    let (status, created) = api
        .post("/api/v1/submissions", appeal_body(&app, "appeal").await)
        .await;
    assert_eq!(status, 201, "{created}");

    // The same provider identity cannot be linked to a second account.
    let maria = browser();
    page_login(&app, &maria, crate::support::OTHER_CITIZEN, DEMO_PASSWORD).await;
    let account = account_page(&app, &maria).await;
    let start = maria
        .post(app.url("/auth/oidc/link"))
        .form(&[("csrf", csrf_in(&account).as_str())])
        .send()
        .await
        .unwrap();
    let callback = through_provider(&maria, &provider.issuer, start, "standard-1", |u| u).await;
    let r = maria.get(callback).send().await.unwrap();
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("уже привязана к другому"));
    app.stop().await;
}

// --- lockout and rate limits -----------------------------------------------------------------

async fn password_login(app: &TestApp, email: &str, password: &str) -> (u16, Option<u64>, Value) {
    let r = reqwest::Client::new()
        .post(app.url("/api/v1/auth/token"))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let retry = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    (status, retry, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_wrong_passwords_lock_the_account_for_a_while() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.web.identity.lockout_failures = 3;
        c.web.identity.lockout_seconds = 120;
    })
    .await;
    for _ in 0..2 {
        let (status, _, body) = password_login(&app, CITIZEN, "wrong-password-1").await;
        assert_eq!(
            (status, body["code"].as_str()),
            (401, Some("invalid_credentials"))
        );
    }
    let (status, retry, body) = password_login(&app, CITIZEN, "wrong-password-1").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (429, Some("account_locked"))
    );
    assert!(retry.is_some_and(|s| (100..=120).contains(&s)), "{retry:?}");
    // Even the right password waits now.
    let (status, retry, _) = password_login(&app, CITIZEN, DEMO_PASSWORD).await;
    assert_eq!(status, 429);
    assert!(retry.is_some());
    // Other accounts are not affected.
    assert_eq!(password_login(&app, OPERATOR, DEMO_PASSWORD).await.0, 201);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_registrations_and_submissions_are_rate_limited() {
    use otklik_web::config::{Rate, RateLimits};
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.web.rate_limits = RateLimits {
            login_per_ip: Rate::new(1, 3),
            register_per_ip: Rate::new(1, 2),
            submit_per_account: Rate::new(1, 2),
            ..RateLimits::unlimited()
        };
    })
    .await;
    for _ in 0..3 {
        assert_eq!(
            password_login(&app, OPERATOR, "wrong-password-1").await.0,
            401
        );
    }
    let (status, retry, body) = password_login(&app, OPERATOR, DEMO_PASSWORD).await;
    assert_eq!((status, body["code"].as_str()), (429, Some("rate_limited")));
    assert!(retry.is_some_and(|s| (1..=60).contains(&s)));

    // The login page shows the wait too.
    let client = browser();
    let r = page_login(&app, &client, CITIZEN, "x").await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().get("retry-after").is_some());
    assert!(r.text().await.unwrap().contains("Слишком много попыток"));

    let register = |n: u32| json!({ "email": format!("p{n}@example.ru"), "full_name": "Пётр Сидоров", "password": "Пароль-для-теста-1" });
    assert_eq!(
        app.api("")
            .post("/api/v1/auth/register", register(1))
            .await
            .0,
        201
    );
    assert_eq!(
        app.api("")
            .post("/api/v1/auth/register", register(2))
            .await
            .0,
        201
    );
    let (status, body) = app.api("").post("/api/v1/auth/register", register(3)).await;
    assert_eq!((status, body["code"].as_str()), (429, Some("rate_limited")));
    let pool = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
    let third: Option<i64> =
        sqlx::query_scalar("SELECT id FROM users WHERE email = 'p3@example.ru'")
            .fetch_optional(&pool)
            .await
            .unwrap();
    assert!(third.is_none(), "a refused registration writes nothing");
    pool.close().await;
    app.stop().await;
}

// --- organisation administrators and integration clients -------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_org_admin_connects_a_system_that_reads_only_its_organisations_submissions() {
    let app = spawn_app_with(Backend::Sqlite, |_| {}).await;
    let admin_email = "admin.tver-city@demo.otklik.local";
    let client = browser();
    let r = page_login(&app, &client, admin_email, DEMO_PASSWORD).await;
    let home = location(&r);
    assert!(home.starts_with("/org/"), "{home}");
    let html = client
        .get(app.url(&home))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Администрация города Твери"));
    let csrf = csrf_in(&html);

    // Another organisation's page is not this administrator's.
    assert_eq!(
        client.get(app.url("/org/1")).send().await.unwrap().status(),
        403
    );

    // A bad origin is refused with a message and changes nothing.
    let r = client
        .post(app.url(&format!("{home}/sites")))
        .form(&[("csrf", csrf.as_str()), ("origin", "mos.ru/path")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let r = client
        .post(app.url(&format!("{home}/sites")))
        .form(&[("csrf", csrf.as_str()), ("origin", "https://Tver.RU/")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let html = client
        .get(app.url(&home))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("https://tver.ru"));

    // Connect a read-only system; its secret is shown once.
    let r = client
        .post(app.url(&format!("{home}/clients")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "csrf={csrf}&client_id=sed-tver&name=%D0%A1%D0%AD%D0%94&scope=submissions%3Aread"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let html = r.text().await.unwrap();
    let start = html.find(r#"<code class="secret">"#).unwrap() + r#"<code class="secret">"#.len();
    let secret = html[start..start + html[start..].find('<').unwrap()].to_owned();

    // A citizen's message routed to the city administration.
    let citizen = app.api(&app.token(CITIZEN).await);
    let (status, created) = citizen
        .post("/api/v1/submissions", appeal_body(&app, "message").await)
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();

    // Client credentials: a token for the granted scopes only.
    let http = reqwest::Client::new();
    let token_of = |scope: Option<&'static str>| {
        let mut form = vec![("grant_type", "client_credentials")];
        if let Some(scope) = scope {
            form.push(("scope", scope));
        }
        http.post(app.url("/api/v1/oauth/token"))
            .basic_auth("sed-tver", Some(secret.clone()))
            .form(&form)
            .send()
    };
    let r = token_of(Some("submissions:write")).await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_scope");
    let r = token_of(None).await.unwrap();
    assert_eq!(r.status(), 200);
    let granted: Value = r.json().await.unwrap();
    assert_eq!(granted["token_type"], "Bearer");
    assert_eq!(granted["scope"], "submissions:read");
    let system = app.api(granted["access_token"].as_str().unwrap());
    let (status, list) = system.get("/api/v1/submissions").await;
    assert_eq!(status, 200, "{list}");
    let ids: Vec<i64> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert!(ids.contains(&id), "{list}");
    assert_eq!(
        system.get(&format!("/api/v1/submissions/{id}")).await.0,
        200
    );
    // Reading is granted, acting is not; the operator's console and pages are not its.
    refused(
        system
            .post(
                &format!("/api/v1/submissions/{id}/take-into-work"),
                json!({}),
            )
            .await,
        403,
        "insufficient_scope",
    );
    refused(system.get("/api/v1/console/routes").await, 403, "forbidden");
    // The staff access log names the system.
    let log = app
        .store
        .personal_data_accesses(otklik_domain::SubmissionId(id))
        .await
        .unwrap();
    assert!(log.iter().any(|a| a.staff_name == "СЭД"), "{log:?}");

    // Wrong secrets get RFC 6749 errors; the API key works as well.
    let r = http
        .post(app.url("/api/v1/oauth/token"))
        .basic_auth("sed-tver", Some("wrong"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let keyed = http
        .get(app.url("/api/v1/submissions"))
        .header("x-api-key", format!("sed-tver.{secret}"))
        .send()
        .await
        .unwrap();
    assert_eq!(keyed.status(), 200);

    // Revoked: its tokens and key stop at once.
    let r = client
        .post(app.url(&format!("{home}/clients/sed-tver/revoke")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    refused(system.get("/api/v1/submissions").await, 401, "unauthorized");
    let keyed = http
        .get(app.url("/api/v1/submissions"))
        .header("x-api-key", format!("sed-tver.{secret}"))
        .send()
        .await
        .unwrap();
    assert_eq!(keyed.status(), 401);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_org_admin_manages_its_officials() {
    let app = spawn_app_with(Backend::Sqlite, |_| {}).await;
    let client = browser();
    let r = page_login(
        &app,
        &client,
        "admin.tver-city@demo.otklik.local",
        DEMO_PASSWORD,
    )
    .await;
    let home = location(&r);
    let html = client
        .get(app.url(&home))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_in(&html);
    let r = client
        .post(app.url(&format!("{home}/staff")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", "new.official@tver.ru"),
            ("full_name", "Новый Сотрудник"),
            ("role", "official"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let html = r.text().await.unwrap();
    let start = html.find(r#"<code class="secret">"#).unwrap() + r#"<code class="secret">"#.len();
    let password = html[start..start + html[start..].find('<').unwrap()].to_owned();
    let (status, _, body) = password_login(&app, "new.official@tver.ru", &password).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["user"]["role"], "official");
    let token = body["token"].as_str().unwrap().to_owned();

    // Disabled: the session ends and the password no longer works.
    let user_id = body["user"]["id"].as_i64().unwrap();
    let r = client
        .post(app.url(&format!("{home}/staff/{user_id}/disable")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    refused(app.api(&token).get("/api/v1/me").await, 401, "unauthorized");
    assert_eq!(
        password_login(&app, "new.official@tver.ru", &password)
            .await
            .0,
        401
    );
    // An official of another organisation cannot be touched from here.
    let other = app.official_of("Министерство транспорта Тверской области");
    let other_id = app
        .store
        .user_by_email(&otklik_domain::text::Email::parse(&other.email).unwrap())
        .await
        .unwrap()
        .unwrap()
        .id;
    let r = client
        .post(app.url(&format!("{home}/staff/{}/disable", other_id.0)))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    app.stop().await;
}

// --- transport security ----------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_tls_cookies_are_secure_and_hsts_is_sent() {
    let app = spawn_app_with(Backend::Sqlite, |c| c.web.security.tls = true).await;
    let r = reqwest::get(app.url("/login")).await.unwrap();
    assert_eq!(
        r.headers().get("strict-transport-security").unwrap(),
        "max-age=31536000; includeSubDomains"
    );
    let cookie = r
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    for attribute in ["Secure", "HttpOnly", "SameSite=Lax"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    app.stop().await;
    let plain = spawn_app_with(Backend::Sqlite, |_| {}).await;
    let r = reqwest::get(plain.url("/login")).await.unwrap();
    assert!(r.headers().get("strict-transport-security").is_none());
    plain.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_organisation_is_administered_through_the_api_too() {
    let app = spawn_app_with(Backend::Sqlite, |_| {}).await;
    let admin = app.api(&app.token("admin.tver-city@demo.otklik.local").await);
    let (_, me) = admin.get("/api/v1/me").await;
    assert_eq!(me["role"], "org_admin");
    let org = me["organisation_id"].as_i64().unwrap();
    let base = format!("/api/v1/organisations/{org}");

    let (status, created) = admin
        .post(
            &format!("{base}/staff"),
            json!({ "email": "api.official@tver.ru", "full_name": "Сотрудник Через API" }),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let password = created["initial_password"].as_str().unwrap();
    let official = app.api(&app.token_with("api.official@tver.ru", password).await);
    assert_eq!(official.get("/api/v1/me").await.1["role"], "official");
    // The same address again: a conflict naming the field, nothing written.
    let (status, body) = admin
        .post(
            &format!("{base}/staff"),
            json!({ "email": "api.official@tver.ru", "full_name": "Другой Сотрудник" }),
        )
        .await;
    assert_eq!(
        (status, body["errors"][0]["code"].as_str()),
        (409, Some("email_taken"))
    );
    let (_, staff) = admin.get(&format!("{base}/staff")).await;
    let listed = staff.as_array().unwrap();
    assert_eq!(
        listed
            .iter()
            .filter(|s| s["email"] == "api.official@tver.ru")
            .count(),
        1
    );
    let id = created["id"].as_i64().unwrap();
    let (status, _) = admin
        .post(&format!("{base}/staff/{id}/disable"), json!({}))
        .await;
    assert_eq!(status, 204);
    refused(official.get("/api/v1/me").await, 401, "unauthorized");
    // Nobody disables themselves.
    let own = me["id"].as_i64().unwrap();
    refused(
        admin
            .post(&format!("{base}/staff/{own}/disable"), json!({}))
            .await,
        403,
        "forbidden",
    );

    let (status, client) = admin
        .post(
            &format!("{base}/clients"),
            json!({ "client_id": "sed-api", "name": "СЭД", "scopes": ["submissions:read", "submissions:write"] }),
        )
        .await;
    assert_eq!(status, 201, "{client}");
    assert_eq!(
        client["scopes"],
        json!(["submissions:read", "submissions:write"])
    );
    let key = format!("sed-api.{}", client["client_secret"].as_str().unwrap());
    let http = reqwest::Client::new();
    let listed = http
        .get(app.url("/api/v1/submissions"))
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 200);
    let (_, clients) = admin.get(&format!("{base}/clients")).await;
    assert!(clients.to_string().contains("sed-api"));
    assert!(!clients
        .to_string()
        .contains(client["client_secret"].as_str().unwrap()));
    let r = http
        .delete(app.url(&format!("{base}/clients/sed-api")))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let listed = http
        .get(app.url("/api/v1/submissions"))
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 401);

    refused(
        admin
            .post(
                &format!("{base}/widget-sites"),
                json!({ "origin": "ftp://tver.ru" }),
            )
            .await,
        422,
        "validation_failed",
    );
    let (status, site) = admin
        .post(
            &format!("{base}/widget-sites"),
            json!({ "origin": "https://tver.ru" }),
        )
        .await;
    assert_eq!(
        (status, site["origin"].as_str()),
        (201, Some("https://tver.ru"))
    );
    assert_eq!(
        admin.get(&format!("{base}/widget-sites")).await.1[0]["origin"],
        "https://tver.ru"
    );
    let r = http
        .delete(app.url(&format!("{base}/widget-sites?origin=https%3A%2F%2Ftver.ru")))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(
        admin.get(&format!("{base}/widget-sites")).await.1,
        json!([])
    );

    // Another organisation's administration is not this administrator's.
    refused(
        admin.get("/api/v1/organisations/1/staff").await,
        403,
        "forbidden",
    );
    app.stop().await;
}
