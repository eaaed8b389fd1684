//! The deployment files of `deploy/`, tried for real rather than read:
//! - `nginx.conf` as it is (only addresses, ports and certificate paths rewritten) in a
//!   real nginx with TLS in front of a node: the redirect to HTTPS, HTTP/2, the request id,
//!   `/metrics` hidden, the body limit, reads retried on another node and writes never;
//! - `otklik.service`: `systemd-analyze verify`, then the binary started with the unit's
//!   own environment and command line;
//! - `Containerfile`: the binary started with the image's environment, entry point and
//!   command, and the image's health check run against it (building the image needs the
//!   base images of a container registry, which this machine cannot reach).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::api::{World, POTHOLES};
use crate::support::Backend;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const HOST: &str = "otklik.example.ru";
const TVER: &str = "Тверская область";

fn deploy_file(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn free_port() -> u16 {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    probe.local_addr().unwrap().port()
}

/// `text` with `from` replaced; fails the test when `from` is not there, so that a change
/// of the deployment file is noticed here rather than silently not tested.
fn rewrite(text: &str, from: &str, to: &str) -> String {
    assert!(
        text.contains(from),
        "the deployment file no longer has «{from}»"
    );
    text.replace(from, to)
}

/// Debian's nginx: on PATH for root, in /usr/sbin otherwise.
fn nginx_binary() -> &'static str {
    ["nginx", "/usr/sbin/nginx"]
        .into_iter()
        .find(|bin| {
            std::process::Command::new(bin)
                .arg("-v")
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .expect("nginx is missing: scripts/test installs Debian's nginx")
}

/// nginx running `deploy/nginx.conf` on loopback with a fresh self-signed certificate.
struct Nginx {
    process: tokio::process::Child,
    dir: tempfile::TempDir,
    http: u16,
    https: u16,
}

impl Nginx {
    async fn start(upstreams: &[SocketAddr]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        self_signed_certificate(dir.path());
        let (http, https) = (free_port(), free_port());
        std::fs::write(
            dir.path().join("site.conf"),
            site_config(dir.path(), upstreams, http, https),
        )
        .unwrap();
        let main = dir.path().join("nginx.conf");
        std::fs::write(&main, main_config(dir.path())).unwrap();
        let prefix = dir.path().display().to_string();
        let main = main.display().to_string();

        let check = std::process::Command::new(nginx_binary())
            .args(["-t", "-p", &prefix, "-c", &main])
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "nginx -t refuses the configuration:\n{}",
            String::from_utf8_lossy(&check.stderr)
        );
        let process = tokio::process::Command::new(nginx_binary())
            .args(["-p", &prefix, "-c", &main])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let nginx = Self {
            process,
            dir,
            http,
            https,
        };
        nginx.wait_listening().await;
        nginx
    }

    async fn wait_listening(&self) {
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.https))
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("nginx did not listen:\n{}", self.error_log());
    }

    fn certificate(&self) -> Vec<u8> {
        std::fs::read(self.dir.path().join("cert.pem")).unwrap()
    }

    fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }

    /// A client that trusts only this nginx's certificate and finds the site's name on
    /// loopback, as a citizen's browser finds the real site.
    fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(&self.certificate()).unwrap())
            .resolve(HOST, SocketAddr::from(([127, 0, 0, 1], self.https)))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    fn url(&self, path: &str) -> String {
        format!("https://{HOST}:{}{path}", self.https)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.process.start_kill();
    }
}

/// An end-entity certificate for [`HOST`] (rustls refuses a CA certificate as a server's).
fn self_signed_certificate(dir: &Path) {
    let config = dir.join("cert.cnf");
    std::fs::write(
        &config,
        format!(
            "[req]\ndistinguished_name = dn\nx509_extensions = v3\nprompt = no\n\
             [dn]\nCN = {HOST}\n\
             [v3]\nbasicConstraints = critical, CA:FALSE\nsubjectAltName = DNS:{HOST}\n\
             extendedKeyUsage = serverAuth\nkeyUsage = critical, digitalSignature\n"
        ),
    )
    .unwrap();
    let made = std::process::Command::new("openssl")
        .args(["req", "-x509", "-new", "-newkey", "ec"])
        .args([
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
        ])
        .arg("-config")
        .arg(&config)
        .arg("-keyout")
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
}

/// `deploy/nginx.conf` with its addresses, ports and certificate paths made local.
fn site_config(dir: &Path, upstreams: &[SocketAddr], http: u16, https: u16) -> String {
    let shipped = deploy_file("nginx.conf");
    let servers: Vec<String> = upstreams
        .iter()
        .map(|a| format!("server {a} max_fails=3 fail_timeout=5s;"))
        .collect();
    let site = rewrite(
        &shipped,
        "server 127.0.0.1:8080 max_fails=3 fail_timeout=5s;",
        &servers.join("\n    "),
    );
    let site = rewrite(&site, "listen 80;", &format!("listen 127.0.0.1:{http};"));
    let site = rewrite(
        &site,
        "listen 443 ssl http2;",
        &format!("listen 127.0.0.1:{https} ssl http2;"),
    );
    let site = rewrite(
        &site,
        "/etc/ssl/otklik/fullchain.pem",
        &dir.join("cert.pem").display().to_string(),
    );
    rewrite(
        &site,
        "/etc/ssl/otklik/privkey.pem",
        &dir.join("key.pem").display().to_string(),
    )
}

/// The main configuration a distribution's nginx.conf would be, here in the foreground,
/// one process, every file in the test's directory.
fn main_config(dir: &Path) -> String {
    let d = dir.display();
    format!(
        "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
         events {{ worker_connections 512; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n\
         proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n\
         uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  include {d}/site.conf;\n}}\n"
    )
}

fn app_addr(base: &str) -> SocketAddr {
    base.trim_start_matches("http://").parse().unwrap()
}

/// A citizen reaches a node only through nginx: plain HTTP is sent to HTTPS, the
/// certificate verifies, HTTP/2 is offered, every request carries nginx's request id to
/// the node and back, the metrics stay hidden, a submission goes through, and a body over
/// nginx's limit is refused before it reaches the node.
#[tokio::test]
async fn nginx_terminates_tls_in_front_of_a_node() {
    let w = World::start(Backend::Sqlite).await;
    let nginx = Nginx::start(&[app_addr(&w.app.base)]).await;
    let client = nginx.client();

    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let redirect = plain
        .get(format!("http://127.0.0.1:{}/my?x=1", nginx.http))
        .header("host", HOST)
        .send()
        .await
        .unwrap();
    assert_eq!(redirect.status(), 301);
    assert_eq!(
        redirect.headers()["location"],
        format!("https://{HOST}/my?x=1").as_str()
    );

    let health = client.get(nginx.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200, "{}", nginx.error_log());
    let request_id = health.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        request_id.len() == 32 && request_id.chars().all(|c| c.is_ascii_hexdigit()),
        "the node echoes nginx's $request_id, got «{request_id}»"
    );

    let hidden = client.get(nginx.url("/metrics")).send().await.unwrap();
    assert_eq!(hidden.status(), 404);
    let direct = reqwest::get(w.app.url("/metrics")).await.unwrap();
    assert_eq!(
        direct.status(),
        200,
        "the node itself still serves its metrics"
    );

    assert!(
        offers_http2(nginx.https, &nginx.dir.path().join("cert.pem")),
        "nginx negotiates h2 with a verified certificate"
    );

    let body = w.body(POTHOLES, TVER, "message").await;
    let created = submit_through(&nginx, &w.citizen.token, &body).await;
    assert_eq!(created.status(), 201);
    let created: serde_json::Value = created.json().await.unwrap();
    let (status, read) = w
        .citizen
        .get(&format!("/api/v1/submissions/{}", created["id"]))
        .await;
    assert_eq!((status, &read["number"]), (200, &created["number"]));

    // 81 MiB: over client_max_body_size. nginx answers from the Content-Length alone.
    let too_big = client
        .post(nginx.url("/api/v1/submissions"))
        .bearer_auth(&w.citizen.token)
        .header("content-type", "application/json")
        .body(vec![b' '; 81 << 20])
        .send()
        .await;
    if let Ok(answer) = too_big {
        assert_eq!(answer.status(), 413);
    }
    let (_, mine) = w.citizen.get("/api/v1/submissions?per_page=100").await;
    assert_eq!(
        mine["total"], 1,
        "only the one submission reached the node: {mine}"
    );
}

/// A citizen's submission sent through nginx.
async fn submit_through(nginx: &Nginx, token: &str, body: &serde_json::Value) -> reqwest::Response {
    nginx
        .client()
        .post(nginx.url("/api/v1/submissions"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// `openssl s_client` asks for h2 by ALPN and verifies the chain against `cert`.
fn offers_http2(port: u16, cert: &Path) -> bool {
    let output = std::process::Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
        .args(["-servername", HOST, "-alpn", "h2", "-verify_return_error"])
        .arg("-CAfile")
        .arg(cert)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&output.stdout);
    out.contains("ALPN protocol: h2") && out.contains("Verify return code: 0 (ok)")
}

/// A node that refuses everything with 503, as an overloaded node or one whose database
/// is away does; it counts what it was sent by method.
async fn refusing_node() -> (SocketAddr, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let (reads, writes) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (r, wr) = (reads.clone(), writes.clone());
    let app = axum::Router::new().fallback(move |method: axum::http::Method| {
        let counter = if method == axum::http::Method::GET {
            r.clone()
        } else {
            wr.clone()
        };
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                [("retry-after", "1")],
                "overloaded",
            )
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, reads, writes)
}

/// With two nodes behind nginx, one refusing everything: a read it refuses is served by
/// the other node, so every read succeeds; a write it refuses comes back to the client
/// as 503 and is never sent to the other node as well, so nothing is registered twice.
#[tokio::test]
async fn the_proxy_retries_refused_reads_elsewhere_and_never_writes() {
    let w = World::start(Backend::Sqlite).await;
    let (refusing, reads, writes) = refusing_node().await;
    let nginx = Nginx::start(&[refusing, app_addr(&w.app.base)]).await;
    let client = nginx.client();

    let body = w.body(POTHOLES, TVER, "message").await;
    let mut registered = 0;
    let mut refused = 0;
    for _ in 0..4 {
        let answer = submit_through(&nginx, &w.citizen.token, &body).await;
        match answer.status().as_u16() {
            201 => registered += 1,
            503 => refused += 1,
            other => panic!("unexpected {other}"),
        }
    }
    let sent_to_refusing = writes.load(Ordering::SeqCst);
    assert!(
        sent_to_refusing >= 1,
        "round robin reached the refusing node"
    );
    assert_eq!(
        refused, sent_to_refusing,
        "every refused write came back as 503"
    );
    let (_, mine) = w.citizen.get("/api/v1/submissions?per_page=100").await;
    assert_eq!(
        mine["total"], registered,
        "no refused write was registered by the other node"
    );

    for _ in 0..10 {
        let answer = client.get(nginx.url("/healthz")).send().await.unwrap();
        assert_eq!(answer.status(), 200, "a refused read is served elsewhere");
    }
    assert!(
        reads.load(Ordering::SeqCst) >= 1,
        "a read did reach the refusing node, and was retried"
    );
}

/// A node started as a deployment file starts it: `program args` with `env`, every path
/// of the file moved into `dir`. Standard error goes to `dir/stderr.log`.
async fn start_as_deployed(
    dir: &Path,
    env: &[(String, String)],
    args: &[String],
) -> (tokio::process::Child, PathBuf) {
    let log = dir.join("stderr.log");
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_otklik"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().cloned())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    (child, log)
}

async fn wait_healthy(child: &mut tokio::process::Child, port: u16, log: &Path) {
    let url = format!("http://127.0.0.1:{port}/healthz");
    for _ in 0..600 {
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "the node exited ({status}):\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        if reqwest::get(&url).await.is_ok_and(|r| r.status() == 200) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the node did not become healthy");
}

/// The unit verifies, and the binary started with exactly the unit's environment and
/// command line serves: behind HTTPS (HSTS sent), logging JSON lines.
#[tokio::test]
async fn the_systemd_unit_verifies_and_its_environment_starts_a_node() {
    let unit = deploy_file("otklik.service");
    let dir = tempfile::tempdir().unwrap();
    let local_unit = dir.path().join("otklik.service");
    std::fs::write(
        &local_unit,
        rewrite(&unit, "/usr/local/bin/otklik", env!("CARGO_BIN_EXE_otklik")),
    )
    .unwrap();
    let verified = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .arg(&local_unit)
        .output()
        .expect("systemd-analyze (Debian's systemd) runs");
    assert!(
        verified.status.success() && verified.stderr.is_empty(),
        "systemd-analyze verify: {}",
        String::from_utf8_lossy(&verified.stderr)
    );

    let port = free_port();
    let settings = dir.path().join("otklik.toml");
    std::fs::write(&settings, "").unwrap();
    let env: Vec<(String, String)> = unit
        .lines()
        .filter_map(|l| l.strip_prefix("Environment="))
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap();
            let value = match key {
                "OTKLIK_DATA_DIR" => dir.path().join("data").display().to_string(),
                "OTKLIK_LISTEN" => format!("127.0.0.1:{port}"),
                "OTKLIK_CONFIG" => settings.display().to_string(),
                _ => value.to_owned(),
            };
            (key.to_owned(), value)
        })
        .collect();
    assert!(env.iter().any(|(k, _)| k == "OTKLIK_SECURE_COOKIES"));
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .unwrap();
    let mut words = exec.split_whitespace();
    assert_eq!(words.next(), Some("/usr/local/bin/otklik"));
    let args: Vec<String> = words.map(str::to_owned).collect();

    let (mut node, log) = start_as_deployed(dir.path(), &env, &args).await;
    wait_healthy(&mut node, port, &log).await;
    let page = reqwest::get(format!("http://127.0.0.1:{port}/"))
        .await
        .unwrap();
    assert!(
        page.headers().contains_key("strict-transport-security"),
        "OTKLIK_SECURE_COOKIES=1 sends HSTS"
    );
    node.kill().await.unwrap();
    let logged = std::fs::read_to_string(&log).unwrap();
    let first = logged.lines().next().expect("the node logged its start");
    assert!(
        serde_json::from_str::<serde_json::Value>(first).is_ok(),
        "OTKLIK_LOG_FORMAT=json logs JSON lines, got «{first}»"
    );
}

/// The image's environment, entry point and command start a node; the image's health
/// check, run as the container runtime runs it, passes against it and fails once the node
/// is gone.
#[tokio::test]
async fn the_container_command_starts_a_node_its_health_check_sees() {
    let file = deploy_file("Containerfile");
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let instruction = |name: &str| -> Vec<String> {
        let json = file
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("the Containerfile has no {name}"));
        serde_json::from_str(json.trim()).unwrap()
    };
    let entrypoint = instruction("ENTRYPOINT ");
    assert_eq!(entrypoint, ["/usr/local/bin/otklik"]);
    let command = instruction("CMD ");
    let health = instruction("HEALTHCHECK --interval=10s --timeout=3s CMD ");

    // ENV KEY=VALUE \ continued lines, up to the first line without a backslash.
    let env_block: String = file
        .split("\nENV ")
        .nth(1)
        .expect("the Containerfile sets ENV")
        .lines()
        .take_while({
            let mut more = true;
            move |l| std::mem::replace(&mut more, l.trim_end().ends_with('\\'))
        })
        .map(|l| l.trim_end().trim_end_matches('\\').to_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let env: Vec<(String, String)> = env_block
        .split_whitespace()
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap();
            let value = match key {
                "OTKLIK_DATA_DIR" => dir.path().join("data").display().to_string(),
                "OTKLIK_LISTEN" => format!("127.0.0.1:{port}"),
                _ => value.to_owned(),
            };
            (key.to_owned(), value)
        })
        .collect();
    assert!(env.iter().any(|(k, _)| k == "OTKLIK_LISTEN"));

    let (mut node, log) = start_as_deployed(dir.path(), &env, &command).await;
    wait_healthy(&mut node, port, &log).await;
    let check = |port: u16| {
        let argv: Vec<String> = health
            .iter()
            .map(|a| a.replace("8080", &port.to_string()))
            .collect();
        std::process::Command::new(&argv[0])
            .args(&argv[1..])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success()
    };
    assert!(check(port), "the health check passes against a live node");
    node.kill().await.unwrap();
    node.wait().await.unwrap();
    assert!(!check(port), "the health check fails once the node is gone");
}
