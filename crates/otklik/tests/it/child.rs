//! The `otklik` binary as a process of its own, for the tests that kill it, signal it
//! or measure its memory.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

/// How long a start (migrations, index, workers) may take before the test fails.
const START_TIMEOUT: Duration = Duration::from_secs(90);

pub struct ChildServer {
    pub base: String,
    args: Vec<String>,
    log: PathBuf,
    process: Option<tokio::process::Child>,
    starts: u32,
}

impl ChildServer {
    /// Starts `otklik serve ARGS --listen 127.0.0.1:PORT` on a free port, its log lines
    /// appended to `log`, and waits until it answers `/healthz`.
    pub async fn start(args: Vec<String>, log: &Path) -> Self {
        let port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap().port()
        };
        let mut server = Self {
            base: format!("http://127.0.0.1:{port}"),
            args: [
                vec!["serve".to_owned(), "--listen".to_owned()],
                vec![format!("127.0.0.1:{port}")],
                args,
            ]
            .concat(),
            log: log.to_owned(),
            process: None,
            starts: 0,
        };
        server.spawn().await;
        server
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn pid(&self) -> u32 {
        self.process.as_ref().and_then(|p| p.id()).unwrap()
    }

    async fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let process = tokio::process::Command::new(env!("CARGO_BIN_EXE_otklik"))
            .args(&self.args)
            .env("OTKLIK_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        self.process = Some(process);
        self.starts += 1;
        self.wait_healthy().await;
    }

    /// Polls `/healthz` until it answers 200; fails the test after [`START_TIMEOUT`],
    /// quoting the end of the server's log.
    pub async fn wait_healthy(&mut self) {
        let client = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self.process.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "the server exited at start ({status}):\n{}",
                    self.log_tail()
                );
            }
            let answer = client
                .get(self.url("/healthz"))
                .timeout(Duration::from_secs(2))
                .send()
                .await;
            if answer.is_ok_and(|r| r.status() == 200) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the server did not become healthy (start {}):\n{}",
                self.starts,
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `SIGKILL`: the process dies at once, mid-request, mid-transaction.
    pub async fn kill(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.kill().await.unwrap();
        }
    }

    /// Starts the same server again on the same address and waits until it is healthy.
    pub async fn restart(&mut self) {
        assert!(self.process.is_none(), "restart after kill or terminate");
        self.spawn().await;
    }

    /// `SIGTERM`, then waits (at most 60 s) for the process to exit; its status.
    pub async fn terminate(&mut self) -> std::process::ExitStatus {
        let mut process = self.process.take().unwrap();
        let pid = process.id().unwrap().to_string();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(sent.success());
        tokio::time::timeout(Duration::from_secs(60), process.wait())
            .await
            .expect("the server exits within 60 s of SIGTERM")
            .unwrap()
    }

    /// The process's peak resident memory (`VmHWM`), in MiB.
    pub fn peak_memory_mib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        let kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap();
        kib / 1024
    }

    /// The last lines the server logged (for a failing test's message).
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

/// Runs `otklik ARGS` to its end; its exit status, standard output and error.
pub fn otklik(args: &[String]) -> (bool, String, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_otklik"))
        .args(args)
        .env("OTKLIK_LOG", "warn")
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A settings file in `dir` with `extra` appended to rate limits that never trigger (the
/// tests drive one server hard from one address).
pub fn settings_file(dir: &Path, extra: &str) -> PathBuf {
    let path = dir.join("settings.toml");
    let unlimited = "{ per_minute = 1000000, burst = 1000000 }";
    let text = format!(
        "[rate_limits]\nlogin_per_ip = {unlimited}\nlogin_per_account = {unlimited}\n\
         register_per_ip = {unlimited}\nsubmit_per_ip = {unlimited}\n\
         submit_per_account = {unlimited}\n\n{extra}\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}
