//! Schemathesis against the real server: property-based tests generated from the OpenAPI
//! document (`/api/v1/openapi.json`), with every check it has (`--checks all`): no 5xx,
//! documented status codes, content types and headers, response bodies that match their
//! schemas, schema-valid requests accepted and schema-invalid ones refused, 405 with
//! `Allow` for undeclared methods, authentication not ignored, created resources found
//! and deleted ones gone.
//!
//! The tool is the Python package `schemathesis`, pinned in `scripts/test`, which installs
//! it into a virtualenv outside the clone and exports its `st` as `OTKLIK_SCHEMATHESIS`
//! (without it, the default place `/var/tmp/otklik-tools/venv/bin/st` is tried). A missing
//! tool fails the test: it never passes without having run.
//!
//! The server is the one every test starts (demo data, SQLite, no rate limits). The
//! runs, in this order, each over the whole document:
//! - anonymous (every secured operation must answer 401);
//! - a citizen, an official of the city administration, that organisation's
//!   administrator, and the operator, each with its bearer token;
//! - `DELETE /api/v1/auth/token`, which revokes the token it is sent with, runs last,
//!   alone, with a token of its own: inside a role's run it would revoke that role's
//!   token and leave the rest of the run unauthenticated. It is run, not excluded.
//!
//! Bounded for a 2-core machine: a fixed seed, `-n` examples per operation and phase,
//! one worker (deterministic order). `OTKLIK_SCHEMATHESIS_EXAMPLES` raises the bound
//! for a longer local run.
//!
//! Where the document cannot say what the server accepts, the run is told so per
//! operation in [`CONFIG`], each with its reason; nothing else is relaxed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{spawn_app, CITIZEN, OPERATOR};

/// Examples per operation and phase (`-n`).
const EXAMPLES: u32 = 8;
/// The seed of every run.
const SEED: u64 = 20_260;
/// A run that takes longer than this is stopped and fails.
const RUN_LIMIT: Duration = Duration::from_secs(240);

/// `schemathesis.toml`: what the document cannot express, operation by operation.
///
/// `positive_data_acceptance` sends requests that the schema says are valid and expects
/// them accepted (or refused for access, existence or state: 401, 403, 404, 409). The
/// operations below also refuse some schema-valid requests with 422, for reasons that
/// depend on stored data or on rules JSON Schema cannot state portably:
const CONFIG: &str = r#"
# Each run says who it is (a bearer token, or nobody): no account of the tool's own.
[auth]
auto-signup = false

# Ids in the body must name existing things (unknown_subcategory, unknown_region,
# unknown_municipality, unknown_organisation); the form's fields are the subcategory's
# own, defined by the operator; files are checked from their bytes (JPEG, PNG, PDF).
[[operations]]
include-name = "POST /api/v1/submissions"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422", "429"]

# A photo of a poll's option is checked from its bytes (JPEG, PNG or WebP, base64).
[[operations]]
include-name-regex = "^POST /api/v1/polls/\\{id\\}/(questions/\\{question\\}/)?options/\\{option\\}/photos$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422"]

# Result documents are checked from their bytes.
[[operations]]
include-name-regex = "^POST /api/v1/submissions/\\{id\\}/(answer|intermediate-answer)$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422"]

# The organisation or subcategory named must exist and differ from the current one.
[[operations]]
include-name-regex = "^POST /api/v1/submissions/\\{id\\}/(redirect|recategorise)$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422"]

# Password strength: letters and non-letters (Unicode classes differ between regex
# dialects), not a common password, not the e-mail address.
[[operations]]
include-name = "POST /api/v1/auth/register"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422", "429"]

# The scopes asked for must be among those the client was granted: RFC 6749 §5.2
# answers `invalid_scope` with 400.
[[operations]]
include-name = "POST /api/v1/oauth/token"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "429"]

# Filters naming a region or organisation that does not exist are refused
# (unknown_region, unknown_organisation), not answered with an empty list.
[[operations]]
include-name = "GET /api/v1/incidents"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "422"]

# Proofs and leaves exist only up to the log's current size (index < size <= size of
# the log, first <= second).
[[operations]]
include-name-regex = "^GET /api/v1/log/(proof/inclusion|proof/consistency|leaves)$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "404", "422"]

# The console: references to regions, municipalities, organisations, categories and
# subcategories must exist, with cross-field rules (a region rule needs its region, a
# municipality of that region; no parent cycles; form keys unique; a working day on a
# weekend, a day off on a weekday; a federal calendar year lists every holiday).
[[operations]]
include-name-regex = "^(POST|PUT|GET) /api/v1/console/(routes|routes/decision|organisations|organisations/\\{id\\}|subcategories|subcategories/\\{id\\}|policies|calendars/\\{layer\\}/days|calendars/\\{layer\\}/import)$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422"]

# Delivery settings: `push` needs a `push_url` (a rule across fields), and a URL's port
# must be a port (1–65535) and its host a host, which the pattern only approximates.
[[operations]]
include-name = "PUT /api/v1/organisations/{id}/integration"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "422"]

# Notification settings: a digest exists for e-mail only, and choosing the gateway needs
# a phone number (rules across fields); a phone number is judged by its digits, which
# no portable pattern states.
[[operations]]
include-name = "PUT /api/v1/notifications/settings"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "422"]

# Campaigns and templates: the region and municipality named must exist and belong
# together, the ages must be in order, and a template must parse and use only its kind's
# placeholders (MiniJinja syntax, which no schema states), with a one-line subject; a
# command the campaign's status does not allow is 409.
[[operations]]
include-name-regex = "^(POST /api/v1/campaigns(/audience|/\\{id\\}/\\{command\\})?|PUT /api/v1/notification-templates/\\{key\\})$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422"]

# Electronic documents: the parties named must be accounts or organisations that exist,
# the deadline a future date within a year, the content base64 of at most 10 MiB; a
# signature must verify against the document and be made with one's own certificate, a
# platform key opens only with its password (and locks after wrong ones: 429); a
# certificate must chain to a trusted authority; a signing password needs letters and
# non-letters (Unicode classes differ between regex dialects).
[[operations]]
include-name-regex = "^POST /api/v1/(documents(/\\{id\\}/(sign|decline|start|cancel))?|signatures/verify|account/certificates(/register)?)$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422", "429"]

# Answer templates: only the listed placeholders, every `{{` closed (a grammar JSON
# Schema cannot state), and a category that exists.
[[operations]]
include-name-regex = "^(POST /api/v1/answer-templates|PUT /api/v1/answer-templates/\\{id\\})$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "422"]

# Polls: the questions follow a grammar (types, options, conditions on earlier
# questions) no schema states; the region and municipality must exist and belong
# together; the schedule must close after it opens, in the future, within a year. A
# ballot must answer the stored poll's questions (their types, options and conditions);
# the voter must be eligible (403) and not have voted (409); the box may be busy (429).
[[operations]]
include-name-regex = "^POST /api/v1/polls(/\\{id\\}/ballots)?$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422", "429"]

# Discussions: the schedule must close after it opens, in the future, in local time; the
# region must exist; a comment must have 3 characters after trimming; a stance, an action
# and a reason must be one of the named values; positions and moderation follow the
# stored state (409).
[[operations]]
include-name-regex = "^(POST /api/v1/discussions(/\\{id\\}/(comments|support|comments/\\{comment_id\\}/moderation))?|GET /api/v1/discussions/\\{id\\}/comments)$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422"]

# Analytics: a date must be a real day and the period at most ten years with its end
# after its start; a region, district, organisation or category must exist.
[[operations]]
include-name = "GET /api/v1/analytics"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "422"]

# Search: a status, kind, channel or sort must be one of the named values, a date a real
# day, a page within the first 10 000 results.
[[operations]]
include-name = "GET /api/v1/search"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "422"]
"#;

/// The `st` executable: `OTKLIK_SCHEMATHESIS`, else the place `scripts/test` installs it.
fn tool() -> PathBuf {
    let from_env = std::env::var_os("OTKLIK_SCHEMATHESIS").map(PathBuf::from);
    let default = Path::new(
        &std::env::var_os("OTKLIK_TOOLS_DIR").unwrap_or_else(|| "/var/tmp/otklik-tools".into()),
    )
    .join("venv/bin/st");
    let path = from_env.clone().unwrap_or(default);
    assert!(
        path.is_file(),
        "schemathesis is not installed: {} does not exist{}. `scripts/test` installs the \
         pinned version and exports OTKLIK_SCHEMATHESIS; to run this test alone, run \
         `scripts/test` once (or install it as it does) and set OTKLIK_SCHEMATHESIS to \
         its `st`.",
        path.display(),
        if from_env.is_some() {
            " (from OTKLIK_SCHEMATHESIS)"
        } else {
            ""
        }
    );
    path
}

/// One `st run`: its exit status, its output and how long it took.
struct Run {
    name: String,
    ok: bool,
    output: String,
    took: Duration,
}

impl Run {
    /// The closing line (`== N passed … in Xs ==`).
    fn summary(&self) -> &str {
        self.output
            .lines()
            .rev()
            .find(|l| l.starts_with("==="))
            .unwrap_or("(no summary line)")
    }
}

fn run_st(
    st: &Path,
    dir: &Path,
    name: &str,
    schema_url: &str,
    token: Option<&str>,
    selection: &[&str],
) -> Run {
    let examples = std::env::var("OTKLIK_SCHEMATHESIS_EXAMPLES")
        .ok()
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or(EXAMPLES);
    let mut cmd = Command::new(st);
    cmd.current_dir(dir)
        .arg("--config-file")
        .arg(dir.join("schemathesis.toml"))
        .args(["run", schema_url, "--checks", "all", "--workers", "1"])
        .args(["--seed", &SEED.to_string()])
        .args(["--max-examples", &examples.to_string()])
        .args(["--generation-database", "none"])
        .args(["--request-timeout", "20", "--no-color"])
        .args(selection)
        .env("NO_COLOR", "1")
        .env("COLUMNS", "120")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(token) = token {
        cmd.args(["--header", &format!("Authorization: Bearer {token}")]);
    }
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", st.display()));
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        stdout.read_to_string(&mut text).ok();
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        stderr.read_to_string(&mut text).ok();
        text
    });
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > RUN_LIMIT {
            child.kill().ok();
            child.wait().ok();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let mut output = out.join().unwrap();
    output.push_str(&err.join().unwrap());
    if status.is_none() {
        output.push_str(&format!("\n=== stopped after {RUN_LIMIT:?} ===\n"));
    }
    Run {
        name: name.to_owned(),
        ok: status.is_some_and(|s| s.success()),
        output,
        took: started.elapsed(),
    }
}

/// The administered organisation's system, reading from a pull queue: an integration
/// client with both scopes, by OAuth 2.0 client credentials.
async fn client_token(app: &crate::support::TestApp, org_admin: &str) -> String {
    let admin = app.api(&app.token(org_admin).await);
    let (_, me) = admin.get("/api/v1/me").await;
    let org = me["user"]["organisation_id"]
        .as_i64()
        .or_else(|| me["organisation_id"].as_i64())
        .expect("the administrator's organisation");
    let (status, _) = admin
        .put_json(
            &format!("/api/v1/organisations/{org}/integration"),
            serde_json::json!({ "mode": "pull" }),
        )
        .await;
    assert_eq!(status, 200);
    let (status, client) = admin
        .post(
            &format!("/api/v1/organisations/{org}/clients"),
            serde_json::json!({ "client_id": "st-system", "name": "Система организации",
                                "scopes": ["submissions:read", "submissions:write"] }),
        )
        .await;
    assert_eq!(status, 201, "{client}");
    let granted: serde_json::Value = reqwest::Client::new()
        .post(app.url("/api/v1/oauth/token"))
        .basic_auth("st-system", client["client_secret"].as_str())
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    granted["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_nothing_wrong() {
    let st = tool();
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("schemathesis.toml"), CONFIG).unwrap();
    let official = app.official_of("Администрация города Твери").email.clone();
    let org_admin = app
        .accounts
        .iter()
        .find(|a| a.role == "администратор организации")
        .map(|a| a.email.clone())
        .expect("a demo organisation administrator");
    let mut roles = vec![("anonymous", None)];
    for (name, email) in [
        ("citizen", CITIZEN),
        ("official", official.as_str()),
        ("organisation administrator", org_admin.as_str()),
        ("operator", OPERATOR),
    ] {
        roles.push((name, Some(app.token(email).await)));
    }
    roles.push((
        "integration client",
        Some(client_token(&app, &org_admin).await),
    ));
    let revoking = app.token(CITIZEN).await;
    let schema_url = app.url("/api/v1/openapi.json");
    let started = Instant::now();
    let st_path = st.clone();
    let dir_path = dir.path().to_owned();
    let runs = tokio::task::spawn_blocking(move || {
        let mut runs = Vec::new();
        for (name, token) in &roles {
            let selection: &[&str] = match token {
                None => &[],
                Some(_) => &["--exclude-operation-id", "revoke_token"],
            };
            runs.push(run_st(
                &st_path,
                &dir_path,
                name,
                &schema_url,
                token.as_deref(),
                selection,
            ));
        }
        runs.push(run_st(
            &st_path,
            &dir_path,
            "revoking its own token",
            &schema_url,
            Some(&revoking),
            &["--include-operation-id", "revoke_token"],
        ));
        runs
    })
    .await
    .unwrap();
    app.stop().await;
    for run in &runs {
        println!(
            "schemathesis, {}: {} ({:.0?})",
            run.name,
            run.summary(),
            run.took
        );
    }
    println!(
        "schemathesis: {} runs in {:.0?}",
        runs.len(),
        started.elapsed()
    );
    let failed: Vec<&Run> = runs.iter().filter(|r| !r.ok).collect();
    assert!(
        failed.is_empty(),
        "schemathesis found problems:\n{}",
        failed
            .iter()
            .map(|r| format!("===== {} =====\n{}", r.name, r.output))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
