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
    let parts = UrlParts::of(url);
    let mut out = format!("{}{}/{database}", parts.scheme, parts.authority);
    if let Some(query) = parts.query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// A database URL cut into `scheme://`, `user@host:port`, `/path` and the query.
struct UrlParts<'a> {
    scheme: &'a str,
    authority: &'a str,
    path: &'a str,
    query: Option<&'a str>,
}

impl<'a> UrlParts<'a> {
    fn of(url: &'a str) -> Self {
        let (base, query) = match url.split_once('?') {
            Some((base, query)) => (base, Some(query)),
            None => (url, None),
        };
        let authority_start = base.find("://").map_or(0, |i| i + 3);
        let authority_end = base[authority_start..]
            .find('/')
            .map_or(base.len(), |i| authority_start + i);
        Self {
            scheme: &base[..authority_start],
            authority: &base[authority_start..authority_end],
            path: &base[authority_end..],
            query,
        }
    }

    /// The user part of the authority (`user` or `user:password`), if any.
    fn user(&self) -> Option<&'a str> {
        self.authority.rsplit_once('@').map(|(user, _)| user)
    }

    /// The authority without its user part.
    fn host(&self) -> &'a str {
        self.authority
            .rsplit_once('@')
            .map_or(self.authority, |(_, host)| host)
    }
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

// --- a proxy that cuts a connection at its COMMIT ---------------------------------------------

/// Where a [`CommitCutter`] cuts the connection that sends the next COMMIT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// COMMIT reaches the server, then both sockets close: the client never hears the
    /// answer, and the server may still be committing when the client sees the end.
    AfterCommit,
    /// The client's socket closes at once; COMMIT reaches the server only
    /// [`LATE_COMMIT`] later, then the server's socket closes: the server commits well
    /// after the client has seen the connection drop.
    LateCommit,
    /// Both sockets close instead: the server never sees the COMMIT.
    BeforeCommit,
    /// The client's socket closes; the server's stays open and silent, so that the
    /// server's session lives on, idle in its transaction, until it is ended.
    Stall,
}

/// How late COMMIT reaches the server in [`Cut::LateCommit`].
pub const LATE_COMMIT: std::time::Duration = std::time::Duration::from_millis(700);

/// A TCP proxy on `127.0.0.1:0` in front of the PostgreSQL server: it passes everything
/// through, reading the client's messages (protocol 3.0 framing), until it is armed; then
/// the first COMMIT a client sends, on whichever connection, is cut as told, once. Other
/// connections, and new ones, keep working.
pub struct CommitCutter {
    pub port: u16,
    shared: std::sync::Arc<CutterState>,
    accepting: tokio::task::JoinHandle<()>,
}

#[derive(Default)]
struct CutterState {
    armed: std::sync::Mutex<Option<Cut>>,
    cuts: std::sync::Mutex<Vec<Cut>>,
}

impl CommitCutter {
    /// A proxy in front of the server `url` names (its host and port).
    pub async fn start(url: &str) -> Self {
        let upstream = host_port(url);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = std::sync::Arc::new(CutterState::default());
        let state = shared.clone();
        let accepting = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let state = state.clone();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let _ = relay(client, &upstream, &state).await;
                });
            }
        });
        Self {
            port,
            shared,
            accepting,
        }
    }

    /// `url` (a database on the proxied server) through the proxy, without TLS so that
    /// the proxy reads the messages.
    pub fn url_through(&self, url: &str) -> String {
        url_through(url, self.port)
    }

    /// Cuts the next COMMIT (once).
    pub fn arm(&self, cut: Cut) {
        *self.shared.armed.lock().unwrap() = Some(cut);
    }

    /// The cuts made so far.
    pub fn cuts(&self) -> Vec<Cut> {
        self.shared.cuts.lock().unwrap().clone()
    }
}

impl Drop for CommitCutter {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

/// `url` with its host and port replaced by `127.0.0.1:port`, and without TLS.
fn url_through(url: &str, port: u16) -> String {
    let parts = UrlParts::of(url);
    let mut out = parts.scheme.to_owned();
    if let Some(user) = parts.user() {
        out.push_str(user);
        out.push('@');
    }
    out.push_str("127.0.0.1:");
    out.push_str(&port.to_string());
    out.push_str(parts.path);
    let mut params: Vec<&str> = parts
        .query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter(|p| !p.is_empty() && !p.starts_with("sslmode="))
        .collect();
    params.push("sslmode=disable");
    out.push('?');
    out.push_str(&params.join("&"));
    out
}

/// `host:port` of a `postgres://` URL (5432 when it names none).
fn host_port(url: &str) -> String {
    let host = UrlParts::of(url).host();
    if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:5432")
    }
}

/// The frontend's startup-phase codes that another untyped packet follows.
const SSL_REQUEST: u32 = 80_877_103;
const GSSENC_REQUEST: u32 = 80_877_104;

/// Whether a frontend message (type byte, then its body) carries COMMIT: a simple query,
/// or the statement of a Parse.
fn is_commit(kind: u8, body: &[u8]) -> bool {
    let sql = match kind {
        b'Q' => body.split(|&b| b == 0).next(),
        // Parse: the statement's name, then its text.
        b'P' => body.split(|&b| b == 0).nth(1),
        _ => None,
    };
    sql.and_then(|sql| std::str::from_utf8(sql).ok())
        .map(|sql| sql.trim().trim_end_matches(';').trim().to_ascii_uppercase())
        .is_some_and(|sql| sql == "COMMIT" || sql.starts_with("COMMIT ") || sql == "END")
}

/// One connection: the client's bytes pass message by message, the server's as they come.
async fn relay(
    mut client: tokio::net::TcpStream,
    upstream: &str,
    state: &CutterState,
) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut server = tokio::net::TcpStream::connect(upstream).await?;
    let mut from_client: Vec<u8> = Vec::new();
    let mut startup = true;
    let mut client_buf = vec![0u8; 64 * 1024];
    let mut server_buf = vec![0u8; 64 * 1024];
    loop {
        tokio::select! {
            read = client.read(&mut client_buf) => {
                let n = read?;
                if n == 0 {
                    return server.shutdown().await;
                }
                from_client.extend_from_slice(&client_buf[..n]);
                // Whole messages only: a COMMIT must be seen before any of it is passed.
                loop {
                    let (header, kind) = if startup { (0, None) } else { (1, from_client.first().copied()) };
                    if from_client.len() < header + 4 {
                        break;
                    }
                    let len = u32::from_be_bytes(from_client[header..header + 4].try_into().unwrap()) as usize;
                    if len < 4 {
                        return Err(std::io::Error::other("bad frontend message length"));
                    }
                    let total = header + len;
                    if from_client.len() < total {
                        break;
                    }
                    let message: Vec<u8> = from_client.drain(..total).collect();
                    match kind {
                        None => {
                            // The startup packet, unless it asks for TLS or GSS first
                            // (answered with one byte, then another untyped packet).
                            let code = u32::from_be_bytes(message[4..8.min(message.len())].try_into().unwrap_or([0; 4]));
                            startup = code == SSL_REQUEST || code == GSSENC_REQUEST;
                        }
                        Some(kind) if is_commit(kind, &message[5..]) => {
                            let cut = state.armed.lock().unwrap().take();
                            if let Some(cut) = cut {
                                state.cuts.lock().unwrap().push(cut);
                                return cut_off(cut, &message, client, server).await;
                            }
                        }
                        Some(_) => {}
                    }
                    server.write_all(&message).await?;
                }
            }
            read = server.read(&mut server_buf) => {
                let n = read?;
                if n == 0 {
                    return client.shutdown().await;
                }
                client.write_all(&server_buf[..n]).await?;
            }
        }
    }
}

/// Cuts the connection at `commit` (the message): the client's socket closes at once,
/// the server's as `cut` says, once the server has read what was sent to it (its answers
/// are read and dropped, so that closing sends no reset).
async fn cut_off(
    cut: Cut,
    commit: &[u8],
    client: tokio::net::TcpStream,
    mut server: tokio::net::TcpStream,
) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    match cut {
        Cut::AfterCommit => {
            server.write_all(commit).await?;
            drop(client);
        }
        Cut::LateCommit => {
            drop(client);
            tokio::time::sleep(LATE_COMMIT).await;
            server.write_all(commit).await?;
        }
        Cut::BeforeCommit => drop(client),
        Cut::Stall => {
            drop(client);
            // Until the server ends the session.
            let mut sink = vec![0u8; 64 * 1024];
            while server.read(&mut sink).await? > 0 {}
            return Ok(());
        }
    }
    server.shutdown().await?;
    let mut sink = vec![0u8; 64 * 1024];
    while server.read(&mut sink).await? > 0 {}
    Ok(())
}

#[test]
fn urls_go_through_the_proxy() {
    assert_eq!(
        url_through("postgres://postgres@127.0.0.1:5432/otklik_test_1", 4000),
        "postgres://postgres@127.0.0.1:4000/otklik_test_1?sslmode=disable"
    );
    assert_eq!(
        url_through(
            "postgresql://u:p@db/x?sslmode=require&application_name=a",
            4000
        ),
        "postgresql://u:p@127.0.0.1:4000/x?application_name=a&sslmode=disable"
    );
    assert_eq!(
        host_port("postgresql://u:p@db/x?sslmode=require"),
        "db:5432"
    );
    assert_eq!(
        host_port("postgres://postgres@127.0.0.1:5433/postgres"),
        "127.0.0.1:5433"
    );
}
