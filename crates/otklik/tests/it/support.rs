//! The testkit: starts the real server on 127.0.0.1:0 with a fresh database (SQLite in a
//! temporary directory, or a fresh PostgreSQL database), loads the demo data set with a
//! known password, and gives clients for the API and for pages.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use otklik::demo::DemoAccount;
use otklik::{Database, Running, ServeConfig};
use std::sync::Arc;

use crate::pg::TestDb;

/// The password of every demo account in tests.
pub const DEMO_PASSWORD: &str = "demo-pass-2026";
pub const CITIZEN: &str = "ivan.petrov@demo.otklik.local";
pub const OTHER_CITIZEN: &str = "maria.smirnova@demo.otklik.local";
pub const OPERATOR: &str = "operator@demo.otklik.local";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub base: String,
    pub accounts: Vec<DemoAccount>,
    pub store: Arc<dyn otklik_store::Store>,
    /// The database's URL, for tests that play someone with direct database access.
    pub database_url: String,
    /// The arguments that point an `otklik` command at this database.
    pub cli_db_args: Vec<String>,
    running: Option<Running>,
    /// The settings it was started with, to start it again (`restart`).
    config: ServeConfig,
    _dir: tempfile::TempDir,
    _pg: Option<TestDb>,
}

/// The server on SQLite.
pub async fn spawn_app() -> TestApp {
    spawn_app_on(Backend::Sqlite).await
}

pub async fn spawn_app_on(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// The server with settings of the test's own (rate limits, the identity provider, …).
/// By default the rate limits never trigger: tests create many accounts from one address.
pub async fn spawn_app_with(backend: Backend, customise: impl FnOnce(&mut ServeConfig)) -> TestApp {
    // The server's warnings and errors, shown with a failing test's output.
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter(tracing_subscriber::EnvFilter::new("warn"))
        .try_init();
    let dir = tempfile::tempdir().expect("temp dir");
    let pg = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(TestDb::create().await),
    };
    let mut config = config_for(
        &dir.path().join("data"),
        pg.as_ref().map(|db| db.url.clone()),
    );
    customise(&mut config);
    let database_url = config.database.url();
    let cli_db_args = match &pg {
        Some(db) => vec!["--database-url".to_owned(), db.url.clone()],
        None => vec![
            "--data-dir".to_owned(),
            config.database.data_dir.display().to_string(),
        ],
    };
    let running = otklik::start(config.clone()).await.expect("server starts");
    TestApp {
        database_url,
        cli_db_args,
        base: format!("http://{}", running.addr),
        accounts: running.demo_accounts.clone(),
        store: running.store.clone(),
        running: Some(running),
        config,
        _dir: dir,
        _pg: pg,
    }
}

/// Moscow local time `minutes` from now, as a form's `datetime-local` value.
pub fn moscow(minutes: i64) -> String {
    let at = time::OffsetDateTime::now_utc().to_offset(time::UtcOffset::from_hms(3, 0, 0).unwrap())
        + time::Duration::minutes(minutes);
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]");
    at.format(&format).unwrap()
}

/// The test settings for data in `data_dir` (and PostgreSQL at `url`): demo data with
/// the known password, rate limits that never trigger, tree heads every 100 ms.
pub fn config_for(data_dir: &std::path::Path, url: Option<String>) -> ServeConfig {
    ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        database: Database {
            data_dir: data_dir.to_owned(),
            url,
        },
        demo: true,
        demo_password: Some(DEMO_PASSWORD.to_owned()),
        web: otklik_web::WebConfig {
            rate_limits: otklik_web::config::RateLimits::unlimited(),
            // Tests read live results right after each ballot; `polls::live_results_*`
            // turns the copies on.
            polls: otklik_web::config::PollsConfig::exact(),
            ..Default::default()
        },
        log: otklik::LogConfig {
            key_file: data_dir.join("log-signing.key"),
            alg: otklik_log::HashAlg::Sha256,
            tree_head_interval: std::time::Duration::from_millis(100),
        },
        monitor: otklik::MonitorConfig::default(),
        notifications: otklik_notify::NotifyConfig::default(),
        social: Default::default(),
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The demo official of the organisation with this exact name.
    pub fn official_of(&self, organisation: &str) -> &DemoAccount {
        self.accounts
            .iter()
            .find(|a| {
                a.organisation.as_deref() == Some(organisation) && a.role == "должностное лицо"
            })
            .unwrap_or_else(|| panic!("no demo official for {organisation}"))
    }

    /// The transparency log's signing key file of this installation.
    pub fn log_key_file(&self) -> std::path::PathBuf {
        self.config.log.key_file.clone()
    }

    /// A bearer token for a demo account.
    pub async fn token(&self, email: &str) -> String {
        self.token_with(email, DEMO_PASSWORD).await
    }

    /// A bearer token for an account with this password.
    pub async fn token_with(&self, email: &str, password: &str) -> String {
        let response = reqwest::Client::new()
            .post(self.url("/api/v1/auth/token"))
            .json(&serde_json::json!({ "email": email, "password": password }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "login of {email}");
        let body: serde_json::Value = response.json().await.unwrap();
        body["token"].as_str().unwrap().to_owned()
    }

    /// An API client that sends this bearer token.
    pub fn api(&self, token: &str) -> Api {
        Api {
            base: self.base.clone(),
            token: token.to_owned(),
            client: reqwest::Client::new(),
        }
    }

    /// A browser-like client: keeps cookies, does not follow redirects (tests check them).
    pub fn browser(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    /// Stops the server (as `stop` does: requests in flight finish, the workers are
    /// aborted) and starts it again on the same address with the same data, as a node
    /// restarting does. `store` is the new server's.
    pub async fn restart(&mut self) {
        let running = self.running.take().expect("the server is running");
        running.stop().await;
        let mut config = self.config.clone();
        config.listen = self
            .base
            .trim_start_matches("http://")
            .parse()
            .expect("the server's address");
        let running = otklik::start(config).await.expect("server restarts");
        self.store = running.store.clone();
        self.running = Some(running);
    }

    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.stop().await;
        }
    }

    /// Stops the in-process server but keeps its data (directory, PostgreSQL database),
    /// for a test that goes on with the `otklik` binary as a process of its own.
    pub async fn park(mut self) -> Parked {
        if let Some(running) = self.running.take() {
            running.stop().await;
        }
        Parked {
            data_dir: self.config.database.data_dir.clone(),
            key_file: self.config.log.key_file.clone(),
            database_url: self.config.database.url.clone(),
            base: self.base.clone(),
            _dir: self._dir,
            _pg: self._pg,
        }
    }
}

/// The data of a stopped test server, kept until this is dropped.
pub struct Parked {
    pub data_dir: std::path::PathBuf,
    pub key_file: std::path::PathBuf,
    /// `Some` on PostgreSQL.
    pub database_url: Option<String>,
    /// The address it served on.
    pub base: String,
    _dir: tempfile::TempDir,
    _pg: Option<TestDb>,
}

impl Parked {
    /// The arguments that point an `otklik` command at this data.
    pub fn db_args(&self) -> Vec<String> {
        let mut args = vec!["--data-dir".to_owned(), self.data_dir.display().to_string()];
        if let Some(url) = &self.database_url {
            args.extend(["--database-url".to_owned(), url.clone()]);
        }
        args
    }
}

/// A small API client with a bearer token.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub token: String,
    pub client: reqwest::Client,
}

impl Api {
    pub async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        read(r).await
    }

    pub async fn post(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        read(r).await
    }
}

impl Api {
    pub async fn put_json(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let r = self
            .client
            .put(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        read(r).await
    }

    pub async fn delete(&self, path: &str) -> (u16, serde_json::Value) {
        let r = self
            .client
            .delete(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        read(r).await
    }
}

async fn read(r: reqwest::Response) -> (u16, serde_json::Value) {
    let status = r.status().as_u16();
    let bytes = r.bytes().await.unwrap();
    let value = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (status, value)
}

/// A tiny valid PNG (1×1) and a PDF header: real magic numbers for upload tests.
pub const PNG_1X1: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0B, 0x49, 0x44, 0x41, 0x54, 0x78, 0xDA, 0x63, 0x60, 0x00, 0x02, 0x00,
    0x00, 0x05, 0x00, 0x01, 0xE9, 0xFA, 0xDC, 0xD8, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44,
    0xAE, 0x42, 0x60, 0x82,
];
pub const PDF_MINI: &[u8] = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";

/// The CSRF token of the first form on a page.
pub fn csrf_in(html: &str) -> String {
    let marker = r#"name="csrf" value=""#;
    let start = html.find(marker).expect("a csrf input") + marker.len();
    let end = start + html[start..].find('"').unwrap();
    html[start..end].to_owned()
}

/// Signs in through the login page (its CSRF token first), as a browser does.
pub async fn page_login(
    app: &TestApp,
    client: &reqwest::Client,
    email: &str,
    password: &str,
) -> reqwest::Response {
    let html = client
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    client
        .post(app.url("/login"))
        .form(&[
            ("csrf", csrf_in(&html).as_str()),
            ("email", email),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
}

// --- the routes the routers declare -------------------------------------------------------------

/// Every `.route("…", method(…)…)` of the web crate's sources, as (METHOD, path), with
/// `/api/v1` before the API's.
pub fn declared_routes() -> std::collections::BTreeSet<(String, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/src");
    let mut files = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let mut routes = std::collections::BTreeSet::new();
    for file in files {
        let source = std::fs::read_to_string(&file).unwrap();
        let prefix = if file.strip_prefix(&root).unwrap().starts_with("api") {
            "/api/v1"
        } else {
            ""
        };
        for (path, methods) in scan_routes(&source) {
            assert!(
                !methods.is_empty(),
                "{}: cannot read the methods of route {path}",
                file.display()
            );
            for method in methods {
                routes.insert((method, format!("{prefix}{path}")));
            }
        }
    }
    routes
}

/// The `.route(` calls of one source file: each path with its methods.
pub fn scan_routes(source: &str) -> Vec<(String, Vec<String>)> {
    const METHODS: [&str; 9] = [
        "get", "post", "put", "delete", "patch", "head", "options", "trace", "any",
    ];
    let bytes = source.as_bytes();
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = source[from..].find(".route(") {
        let start = from + at;
        from = start + ".route(".len();
        let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
        if source[line_start..start].contains("//") {
            continue;
        }
        // The path literal.
        let rest = source[from..].trim_start();
        let Some(rest) = rest.strip_prefix('"') else {
            panic!(
                "a route whose path is not a literal: {}",
                &source[start..start + 60.min(source.len() - start)]
            );
        };
        let path = rest[..rest.find('"').unwrap()].to_owned();
        // The arguments, up to the matching parenthesis (strings skipped).
        let mut depth = 1;
        let mut i = from;
        let mut in_string = false;
        while depth > 0 {
            match bytes[i] {
                b'\\' if in_string => i += 1,
                b'"' => in_string = !in_string,
                b'(' if !in_string => depth += 1,
                b')' if !in_string => depth -= 1,
                _ => {}
            }
            i += 1;
        }
        let args = &source[from..i];
        let mut methods = Vec::new();
        for method in METHODS {
            let call = format!("{method}(");
            let mut k = 0;
            while let Some(hit) = args[k..].find(&call) {
                let pos = k + hit;
                let before = args[..pos].chars().next_back();
                if !before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    methods.push(method.to_uppercase());
                }
                k = pos + call.len();
            }
        }
        methods.sort();
        methods.dedup();
        found.push((path, methods));
    }
    found
}

/// Opens a poll as if its time had come a minute ago, straight in the (SQLite) database;
/// `for_all_of_russia` also drops its region.
pub async fn open_poll_now(app: &TestApp, poll: i64, for_all_of_russia: bool) {
    let db = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
    let region = if for_all_of_russia {
        ", region_id = NULL"
    } else {
        ""
    };
    sqlx::query(&format!(
        "UPDATE polls SET opens_at = $1{region} WHERE id = $2"
    ))
    .bind(time::OffsetDateTime::now_utc().unix_timestamp() - 60)
    .bind(poll)
    .execute(&db)
    .await
    .unwrap();
    db.close().await;
}

/// A page's or a file's text, as a (signed-in) browser gets it.
pub async fn text_of(browser: &reqwest::Client, url: String) -> String {
    browser.get(url).send().await.unwrap().text().await.unwrap()
}

/// A relevant, negative post about subcategory `subcategory` in Tver, as the social
/// pipeline hands it over to the store (with its near-copy signature); tests change what
/// they need with struct update syntax.
pub fn analysed_post(
    subcategory: &str,
    external_id: &str,
    text: &str,
    published_at: i64,
) -> otklik_store::AnalysedPost {
    let signature = otklik_social::signature::Signature::of(text);
    otklik_store::AnalysedPost {
        post: otklik_social::RawPost {
            source: "vk-search".to_owned(),
            platform: otklik_social::Platform::Vk,
            external_id: external_id.to_owned(),
            url: None,
            text: text.to_owned(),
            published_at,
            reply: otklik_social::ReplyTarget::None,
        },
        text: text.to_owned(),
        language: "ru".to_owned(),
        relevant: true,
        category: None,
        subcategory: Some(subcategory.to_owned()),
        confidence: 0.9,
        sentiment: "negative".to_owned(),
        urgent: false,
        region_code: Some("RU-TVE".to_owned()),
        place: Some("Тверь".to_owned()),
        location_confidence: Some(0.8),
        exact: signature.exact,
        minhash: signature.minhash,
    }
}
