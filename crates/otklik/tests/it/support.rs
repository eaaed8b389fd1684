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
    let dir = tempfile::tempdir().expect("temp dir");
    let pg = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(TestDb::create().await),
    };
    let mut config = ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        database: Database {
            data_dir: dir.path().join("data"),
            url: pg.as_ref().map(|db| db.url.clone()),
        },
        demo: true,
        demo_password: Some(DEMO_PASSWORD.to_owned()),
        web: otklik_web::WebConfig {
            rate_limits: otklik_web::config::RateLimits::unlimited(),
            ..Default::default()
        },
        log: otklik::LogConfig {
            key_file: dir.path().join("data").join("log-signing.key"),
            alg: otklik_log::HashAlg::Sha256,
            tree_head_interval: std::time::Duration::from_millis(100),
        },
        monitor: otklik::MonitorConfig::default(),
    };
    customise(&mut config);
    let database_url = config.database.url();
    let cli_db_args = match &pg {
        Some(db) => vec!["--database-url".to_owned(), db.url.clone()],
        None => vec![
            "--data-dir".to_owned(),
            config.database.data_dir.display().to_string(),
        ],
    };
    let running = otklik::start(config).await.expect("server starts");
    TestApp {
        database_url,
        cli_db_args,
        base: format!("http://{}", running.addr),
        accounts: running.demo_accounts.clone(),
        store: running.store.clone(),
        running: Some(running),
        _dir: dir,
        _pg: pg,
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

    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.stop().await;
        }
    }
}

/// A small API client with a bearer token.
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
    0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE,
    0x42, 0x60, 0x82,
];
pub const PDF_MINI: &[u8] = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";
