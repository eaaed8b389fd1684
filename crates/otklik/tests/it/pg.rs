//! A fresh PostgreSQL database for one test: created on a server that must be reachable
//! (tests fail, never skip, when it is not: CI has one), dropped when the guard is dropped,
//! even when the test panics.
//!
//! The server is `postgres://postgres@127.0.0.1:5432/postgres` unless `OTKLIK_TEST_PG_URL`
//! names another (a URL of a database the user may `CREATE DATABASE` from).

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use sqlx::{Connection, Executor, PgConnection};

pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The server tests run against.
pub fn server_url() -> String {
    std::env::var("OTKLIK_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// A database that exists for as long as this value does.
pub struct TestDb {
    /// The URL of the new database, for `otklik_store::open` or a server under test.
    pub url: String,
    pub name: String,
    admin_url: String,
}

impl TestDb {
    /// Creates `otklik_test_<random>`; panics when the server cannot be reached.
    pub async fn create() -> Self {
        let admin_url = server_url();
        let name = format!("otklik_test_{:016x}", rand::random::<u64>());
        let mut conn = PgConnection::connect(&admin_url).await.unwrap_or_else(|e| {
            panic!(
                "PostgreSQL is required for these tests and is not reachable at {admin_url} \
                 (set OTKLIK_TEST_PG_URL to another server): {e}"
            )
        });
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
        let _ = conn.close().await;
        Self {
            url: with_database(&admin_url, &name),
            name,
            admin_url,
        }
    }
}

impl Drop for TestDb {
    /// Drops the database (best effort), from a thread of its own, so that it works
    /// inside and outside a runtime and while a test panics.
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        let dropper = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async {
                if let Ok(mut conn) = PgConnection::connect(&admin_url).await {
                    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    let _ = conn.execute(sql.as_str()).await;
                    let _ = conn.close().await;
                }
            });
        });
        let _ = dropper.join();
    }
}

/// `url` with its database (the path) replaced by `database`, keeping any query string.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{database}", &base[..authority_end]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

#[test]
fn database_is_replaced_in_urls() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(
        with_database("postgresql://u:p@db/postgres?sslmode=disable", "x"),
        "postgresql://u:p@db/x?sslmode=disable"
    );
    assert_eq!(
        with_database("postgres://db:5432", "x"),
        "postgres://db:5432/x"
    );
}
