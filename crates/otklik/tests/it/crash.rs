//! Crash safety: the `otklik` binary is killed with `SIGKILL` at random moments, 20 times,
//! while clients send submissions, officials answer them and a citizen votes; each time
//! it is started again. At the end every request that got a success answer must be
//! there, and the transparency log must audit clean. On PostgreSQL the database server
//! is also restarted under the running app, which must reconnect by itself and answer
//! `503` (never `500`) while it cannot.
//!
//! These tests restart a shared PostgreSQL server, so they are `#[ignore]`d in the
//! parallel test run and run on their own by `scripts/test`
//! (`cargo test -p otklik --test it crash -- --ignored --test-threads=1`), which also
//! sets `OTKLIK_TEST_PG_RESTART` to the command that restarts the server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::api::{World, POTHOLES, TRANSPORT};
use crate::child::{otklik, settings_file, ChildServer};
use crate::support::moscow;
use crate::support::{Backend, OPERATOR};
use rand::Rng as _;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const TVER: &str = "Тверская область";
const KILLS: usize = 20;
const POLLS: usize = 60;
const PROJECTS: &str = "? Какие проекты благоустройства выполнить?\n* один\n- Сквер\n- Площадка";

/// What the server acknowledged with a success answer.
#[derive(Default)]
struct Acknowledged {
    submissions: Vec<i64>,
    taken: BTreeSet<i64>,
    answered: BTreeSet<i64>,
    /// The official's work list: to answer next (taken, acknowledged or not) and done
    /// with (answered, acknowledged or not). Never checked, only followed.
    to_answer: BTreeSet<i64>,
    finished: BTreeSet<i64>,
    /// (poll id, ballot id).
    ballots: Vec<(i64, String)>,
    /// Answers that are neither success, nor a refusal the scenario expects, nor `503`.
    unexpected: Vec<String>,
}

struct Clients {
    base: String,
    citizen: String,
    official: String,
    body: Value,
    polls: Vec<i64>,
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// Records an answer that is not success: connection failures (the kill) and `503` are
/// expected; any other status is kept for the final assertion.
fn note_failure(acked: &Mutex<Acknowledged>, what: &str, status: u16, allowed: &[u16]) {
    if status != 503 && !allowed.contains(&status) {
        acked
            .lock()
            .unwrap()
            .unexpected
            .push(format!("{what}: {status}"));
    }
}

/// Posts `body` with `token`: the status and the answer read whole as JSON (`Err` when a
/// kill cut it off), or `None`, after a short pause, when the server could not be reached.
async fn post(
    http: &reqwest::Client,
    url: String,
    token: &str,
    body: &Value,
) -> Option<(u16, Result<Value, reqwest::Error>)> {
    match http.post(url).bearer_auth(token).json(body).send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            Some((status, response.json::<Value>().await))
        }
        Err(_) => {
            tokio::time::sleep(Duration::from_millis(20)).await;
            None
        }
    }
}

async fn submitter(clients: Arc<Clients>, acked: Arc<Mutex<Acknowledged>>, stop: Arc<AtomicBool>) {
    let http = client();
    let url = format!("{}/api/v1/submissions", clients.base);
    while !stop.load(Ordering::Relaxed) {
        let Some((status, answer)) =
            post(&http, url.clone(), &clients.citizen, &clients.body).await
        else {
            continue;
        };
        match answer {
            Ok(created) if status == 201 => {
                let id = created["id"].as_i64().unwrap();
                acked.lock().unwrap().submissions.push(id);
            }
            // The body was cut off by the kill: not an acknowledgement.
            Err(_) => {}
            Ok(_) => note_failure(&acked, "submit", status, &[]),
        }
    }
}

/// Takes acknowledged submissions into work and answers them.
async fn official(clients: Arc<Clients>, acked: Arc<Mutex<Acknowledged>>, stop: Arc<AtomicBool>) {
    let http = client();
    while !stop.load(Ordering::Relaxed) {
        let next = {
            let a = acked.lock().unwrap();
            let answerable = a.to_answer.difference(&a.finished).next().copied();
            let untaken = a
                .submissions
                .iter()
                .find(|id| !a.to_answer.contains(id) && !a.finished.contains(id))
                .copied();
            match (answerable, untaken) {
                (Some(id), _) => Some((id, "answer")),
                (None, Some(id)) => Some((id, "take-into-work")),
                (None, None) => None,
            }
        };
        let Some((id, action)) = next else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        let body = if action == "answer" {
            json!({ "text": "Яма заделана, акт приёмки подписан." })
        } else {
            json!({})
        };
        let url = format!("{}/api/v1/submissions/{id}/{action}", clients.base);
        let Some((status, answer)) = post(&http, url, &clients.official, &body).await else {
            continue;
        };
        let complete = answer.is_ok();
        let mut a = acked.lock().unwrap();
        match (status, complete, action) {
            (200, true, "answer") => {
                a.answered.insert(id);
                a.finished.insert(id);
            }
            (200, true, _) => {
                a.taken.insert(id);
                a.to_answer.insert(id);
            }
            // Done before a kill cut its answer off: not acknowledged, and doing it again
            // is refused as a transition no longer allowed. The work list moves on; only
            // acknowledged steps are checked.
            (409, true, "answer") => {
                a.finished.insert(id);
            }
            (409, true, _) => {
                a.to_answer.insert(id);
            }
            (_, false, _) => {}
            (status, true, _) => {
                drop(a);
                note_failure(&acked, action, status, &[]);
            }
        }
    }
}

/// Casts the demo citizen's ballot in each poll in turn.
async fn voter(clients: Arc<Clients>, acked: Arc<Mutex<Acknowledged>>, stop: Arc<AtomicBool>) {
    let http = client();
    let mut polls = clients.polls.iter();
    let mut current = polls.next();
    while let Some(poll) = current {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let url = format!("{}/api/v1/polls/{poll}/ballots", clients.base);
        let ballot = json!({"answers": [{"choices": [0]}]});
        let Some((status, answer)) = post(&http, url, &clients.citizen, &ballot).await else {
            continue;
        };
        match (status, answer) {
            (201, Ok(cast)) => {
                let ballot = cast["ballot_id"].as_str().unwrap().to_owned();
                acked.lock().unwrap().ballots.push((*poll, ballot));
                current = polls.next();
            }
            // Counted before a kill cut the answer off: not acknowledged, move on.
            (409, Ok(_)) => current = polls.next(),
            (_, Err(_)) => {}
            (status, Ok(_)) => note_failure(&acked, "vote", status, &[]),
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

async fn restart_postgres() {
    let command = std::env::var("OTKLIK_TEST_PG_RESTART").expect(
        "OTKLIK_TEST_PG_RESTART must name the command that restarts the PostgreSQL server \
         (scripts/test sets it)",
    );
    let status = tokio::process::Command::new("sh")
        .args(["-c", &command])
        .status()
        .await
        .unwrap();
    assert!(status.success(), "{command}: {status}");
}

async fn prepare(backend: Backend) -> (Clients, crate::support::Parked) {
    let w = World::start(backend).await;
    let official = w.official(TRANSPORT).await;
    let operator = w.app.api(&w.app.token(OPERATOR).await);
    let mut polls = Vec::new();
    for i in 0..POLLS {
        let (status, poll) = operator
            .post(
                "/api/v1/polls",
                json!({"kind": "vote", "title": format!("Проект {i}"), "questions_text": PROJECTS,
                       "opens_at": moscow(-1), "closes_at": moscow(60 * 24), "results": "live"}),
            )
            .await;
        assert_eq!(status, 201, "{poll}");
        polls.push(poll["id"].as_i64().unwrap());
    }
    let body = w.body(POTHOLES, TVER, "message").await;
    let citizen = w.citizen.token.clone();
    let parked = w.app.park().await;
    let clients = Clients {
        base: String::new(),
        citizen,
        official: official.token.clone(),
        body,
        polls,
    };
    (clients, parked)
}

async fn crash_scenario(backend: Backend) {
    let (mut clients, parked) = prepare(backend).await;
    let settings = settings_file(&parked.data_dir, "");
    let mut args = parked.db_args();
    args.extend(["--config".to_owned(), settings.display().to_string()]);
    let mut server = ChildServer::start(args, &parked.data_dir.join("server.log")).await;
    clients.base = server.base.clone();
    let clients = Arc::new(clients);
    let acked = Arc::new(Mutex::new(Acknowledged::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut load = Vec::new();
    for _ in 0..6 {
        load.push(tokio::spawn(submitter(
            clients.clone(),
            acked.clone(),
            stop.clone(),
        )));
    }
    for _ in 0..2 {
        load.push(tokio::spawn(official(
            clients.clone(),
            acked.clone(),
            stop.clone(),
        )));
    }
    load.push(tokio::spawn(voter(
        clients.clone(),
        acked.clone(),
        stop.clone(),
    )));

    for kill in 0..KILLS {
        let pause = rand::thread_rng().gen_range(150..900);
        tokio::time::sleep(Duration::from_millis(pause)).await;
        if backend == Backend::Postgres && kill % 7 == 3 {
            // The database goes away under the running app and comes back.
            restart_postgres().await;
            server.wait_healthy().await;
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        server.kill().await;
        server.restart().await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    for task in load {
        task.await.unwrap();
    }

    let acked = Arc::try_unwrap(acked).ok().unwrap().into_inner().unwrap();
    assert!(
        acked.unexpected.is_empty(),
        "answers other than success, 503 or an expected refusal: {:?}\n{}",
        acked.unexpected,
        server.log_tail()
    );
    assert!(
        acked.submissions.len() > 50,
        "too little load: {}",
        acked.submissions.len()
    );
    assert!(!acked.ballots.is_empty());
    let http = client();
    let get = |path: String, token: String| {
        let http = http.clone();
        let url = server.url(&path);
        async move {
            let response = http.get(url).bearer_auth(token).send().await.unwrap();
            let status = response.status().as_u16();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    for id in &acked.submissions {
        let (status, view) =
            get(format!("/api/v1/submissions/{id}"), clients.citizen.clone()).await;
        assert_eq!(status, 200, "acknowledged submission {id} is missing");
        let state = view["status"].as_str().unwrap();
        if acked.answered.contains(id) {
            assert_eq!(state, "answered", "acknowledged answer of {id} is missing");
        } else if acked.taken.contains(id) {
            assert!(
                state == "in_progress" || state == "answered",
                "acknowledged take of {id} is missing: {state}"
            );
        }
    }
    for (poll, ballot) in &acked.ballots {
        let (status, _) = get(
            format!("/api/v1/polls/{poll}/receipts/{ballot}"),
            clients.citizen.clone(),
        )
        .await;
        assert_eq!(
            status, 200,
            "acknowledged ballot {ballot} of poll {poll} is missing"
        );
    }
    let exit = server.terminate().await;
    assert!(exit.success(), "{exit}");
    let (ok, out, err) = otklik(
        &[
            &["log".to_owned(), "audit".to_owned()][..],
            &parked.db_args(),
        ]
        .concat(),
    );
    assert!(ok, "log audit after {KILLS} kills: {out}{err}");
    println!(
        "{KILLS} kills on {backend:?}: {} submissions, {} taken, {} answered, {} ballots \
         acknowledged and found; the log audits clean",
        acked.submissions.len(),
        acked.taken.len(),
        acked.answered.len(),
        acked.ballots.len()
    );
}

#[tokio::test]
#[ignore = "kills processes and restarts PostgreSQL: run alone by scripts/test"]
async fn crash_sqlite_every_acknowledged_write_survives_sigkill() {
    crash_scenario(Backend::Sqlite).await;
}

#[tokio::test]
#[ignore = "kills processes and restarts PostgreSQL: run alone by scripts/test"]
async fn crash_postgres_every_acknowledged_write_survives_sigkill_and_a_database_restart() {
    crash_scenario(Backend::Postgres).await;
}
