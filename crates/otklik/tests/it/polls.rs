//! Polls and votes through the real server: an organiser creates a vote, eligibility
//! rules refuse whom they should, 100 concurrent ballots from one person count once, the
//! embargo hides results until the close, a receipt verifies offline, ballots after the
//! close are refused, and the published list recounts (CLI) to the server's results.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::Duration;

use otklik_domain::access::Verification;
use otklik_domain::poll::{self, Eligibility, PollKind, ResultsPolicy, Schedule};
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::api::{ok, World};
use crate::support::moscow;
use crate::support::{Backend, OPERATOR, OTHER_CITIZEN};

fn otklik(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_otklik"))
        .args(args)
        .env("OTKLIK_LOG", "error")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        String::from_utf8_lossy(&out.stderr).trim().to_owned(),
    )
}

fn created((status, body): (u16, Value)) -> Value {
    assert_eq!(status, 201, "{body}");
    body
}

const PROJECTS: &str = "? Какие проекты благоустройства выполнить?\n* несколько до 2\n\
    - Сквер у школы :: скамейки и освещение @ 56.8587, 35.9176\n- Детская площадка\n- Фонтан";

async fn scenario(backend: Backend) {
    let w = World::start(backend).await;
    let app = &w.app;
    let operator = app.api(&app.token(OPERATOR).await);
    let maria = app.api(&app.token(OTHER_CITIZEN).await);

    // Refused definitions change nothing.
    let (status, refused) = operator
        .post(
            "/api/v1/polls",
            json!({"kind": "vote", "title": "Проекты", "questions_text": "? Вопрос\n* шкала 1..5",
                   "opens_at": moscow(-1), "closes_at": moscow(-10), "results": "sometimes"}),
        )
        .await;
    assert_eq!(status, 422, "{refused}");
    let fields: Vec<&str> = refused["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"vote_needs_one_choice_question"),
        "{refused}"
    );
    assert!(fields.contains(&"unknown_results_policy"), "{refused}");
    assert!(fields.contains(&"in_the_past"), "{refused}");
    let (status, _) = w
        .citizen
        .post("/api/v1/polls", json!({"kind": "vote", "title": "x", "opens_at": "", "closes_at": "", "results": "live"}))
        .await;
    assert_eq!(status, 403);

    let (status, vote) = operator
        .post(
            "/api/v1/polls",
            json!({"kind": "vote", "title": "Благоустройство Твери", "description": "Выберите до двух проектов.",
                   "questions_text": PROJECTS, "opens_at": moscow(-1), "closes_at": moscow(60 * 24),
                   "results": "embargoed"}),
        )
        .await;
    assert_eq!(status, 201, "{vote}");
    assert_eq!(vote["phase"], "open");
    assert_eq!(vote["verification"], "verified");
    assert_eq!(
        vote["questions"][0]["options"][0]["location"]["lat_e6"],
        56_858_700
    );
    let id = vote["id"].as_i64().unwrap();
    let ballots = format!("/api/v1/polls/{id}/ballots");

    // Maria's account is only standard: refused, and nothing is counted.
    let (status, problem) = maria
        .post(&ballots, json!({"answers": [{"choices": [0]}]}))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("verification_required"))
    );
    // An invalid ballot names the question.
    let (status, problem) = w
        .citizen
        .post(&ballots, json!({"answers": [{"choices": [0, 1, 2]}]}))
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "answers[0]");
    assert_eq!(problem["errors"][0]["code"], "too_many_choices");

    // 100 ballots from one person at once: exactly one is counted.
    let mut tasks = Vec::new();
    for i in 0..100 {
        let citizen = w.citizen.clone();
        let path = ballots.clone();
        tasks.push(tokio::spawn(async move {
            citizen
                .post(&path, json!({"answers": [{"choices": [i % 3]}]}))
                .await
        }));
    }
    let mut accepted = Vec::new();
    for task in tasks {
        let (status, body) = task.await.unwrap();
        match status {
            201 => accepted.push(body),
            409 => assert_eq!(body["code"], "already_voted"),
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!(accepted.len(), 1);
    let (_, poll_now) = operator.get(&format!("/api/v1/polls/{id}")).await;
    assert_eq!(poll_now["ballots"], 1);

    // Embargoed until the close.
    let (status, problem) = w.citizen.get(&format!("/api/v1/polls/{id}/results")).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("results_embargoed"))
    );
    // The published list waits for the close too.
    assert_eq!(w.citizen.get(&ballots).await.0, 409);

    // The receipt verifies offline, against the poll's own key; an edited one does not.
    let receipt = ok(w
        .citizen
        .get(accepted[0]["receipt_url"].as_str().unwrap())
        .await);
    assert_eq!(receipt["tree_head"]["public_key"], vote["public_key"]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("receipt.json");
    std::fs::write(&file, receipt.to_string()).unwrap();
    let key = vote["public_key"].as_str().unwrap();
    let (code, out, err) = otklik(&[
        "poll",
        "verify-receipt",
        file.to_str().unwrap(),
        "--public-key",
        key,
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.starts_with("valid: ballot"), "{out}");
    let mut edited = receipt.clone();
    let chosen = edited["answers"][0]["choices"][0].as_u64().unwrap();
    edited["answers"][0]["choices"] = json!([(chosen + 1) % 3]);
    std::fs::write(&file, edited.to_string()).unwrap();
    let (code, out, _) = otklik(&["poll", "verify-receipt", file.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    let (status, _) = w
        .citizen
        .get(&format!("/api/v1/polls/{id}/receipts/{}", "0".repeat(32)))
        .await;
    assert_eq!(status, 404);

    // Eligibility by age: Ivan's profile has no birth date.
    let (status, aged) = operator
        .post(
            "/api/v1/polls",
            json!({"kind": "survey", "title": "Опрос молодёжи", "questions_text": "? Как дела?\n* шкала 1..5",
                   "opens_at": moscow(-1), "closes_at": moscow(60), "results": "live", "min_age": 14,
                   "verification": "standard"}),
        )
        .await;
    assert_eq!(status, 201, "{aged}");
    let (status, problem) = w
        .citizen
        .post(
            &format!("/api/v1/polls/{}/ballots", aged["id"]),
            json!({"answers": [{"scale": 4}]}),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("age_unknown"))
    );
    // Live results are shown while the poll runs.
    let live = ok(w
        .citizen
        .get(&format!("/api/v1/polls/{}/results", aged["id"]))
        .await);
    assert_eq!(live["ballots"], 0);

    // A poll that closes in a moment (created through the store, as a schedule in the
    // past cannot be entered): vote, wait for the close, recount what is published.
    let store = otklik_store::open(&app.database_url).await.unwrap();
    let spec = poll::parse_text(
        PollKind::Survey,
        &format!("{PROJECTS}\n? Оценка\n* шкала 1..5\n* необязательный"),
    )
    .unwrap();
    let now = OffsetDateTime::now_utc();
    let closes = now + time::Duration::seconds(3);
    let email = otklik_domain::text::Email::parse(OPERATOR).unwrap();
    let user = store.user_by_email(&email).await.unwrap().unwrap().id;
    let short = store
        .create_poll(
            otklik_store::NewPoll {
                org: None,
                title: "Короткий опрос".to_owned(),
                description: String::new(),
                spec,
                eligibility: Eligibility {
                    verification: Verification::Standard,
                    min_age: None,
                    region: None,
                    municipality: None,
                },
                offset: time::UtcOffset::from_hms(3, 0, 0).unwrap(),
                schedule: Schedule::new(now - time::Duration::hours(1), closes).unwrap(),
                results: ResultsPolicy::Embargoed,
                by: user,
            },
            now,
        )
        .await
        .unwrap();
    let short_ballots = format!("/api/v1/polls/{}/ballots", short.0);
    let mine = created(
        w.citizen
            .post(
                &short_ballots,
                json!({"answers": [{"choices": [0, 2]}, {"scale": 5}]}),
            )
            .await,
    );
    let hers = created(
        maria
            .post(&short_ballots, json!({"answers": [{"choices": [2]}, null]}))
            .await,
    );
    let wait: Duration = (closes - OffsetDateTime::now_utc())
        .try_into()
        .unwrap_or_default();
    tokio::time::sleep(wait + Duration::from_millis(300)).await;
    let (status, problem) = w
        .citizen
        .post(&short_ballots, json!({"answers": [{"choices": [1]}]}))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("poll_not_open"))
    );
    let results = ok(w
        .citizen
        .get(&format!("/api/v1/polls/{}/results", short.0))
        .await);
    assert_eq!(results["ballots"], 2);
    assert_eq!(results["final_results"], true);
    let counts: Vec<u64> = results["questions"][0]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["count"].as_u64().unwrap())
        .collect();
    assert_eq!(counts, [1, 0, 2]);
    assert_eq!(results["questions"][1]["mean"], 5.0);

    // The same results as downloads: CSV (UTF-8 with a byte-order mark) and XLSX.
    let csv = app
        .browser()
        .get(app.url(&format!("/polls/{}/results.csv", short.0)))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.unwrap();
    assert!(csv.starts_with('\u{feff}'), "{csv}");
    assert!(csv.contains("Итого,,Бюллетеней,2,,"), "{csv}");
    assert!(
        csv.contains("Ответы,1. Какие проекты благоустройства выполнить?,Фонтан,2,100,"),
        "{csv}"
    );
    let xlsx = app
        .browser()
        .get(app.url(&format!("/polls/{}/results.xlsx", short.0)))
        .send()
        .await
        .unwrap();
    assert_eq!(xlsx.status(), 200);
    assert!(xlsx.bytes().await.unwrap().starts_with(b"PK"));
    let embargoed = app
        .browser()
        .get(app.url(&format!("/polls/{id}/results.csv")))
        .send()
        .await
        .unwrap();
    assert_eq!(embargoed.status(), 403);

    let response = app
        .browser()
        .get(app.url(&short_ballots))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let published: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(published["ballots"].as_array().unwrap().len(), 2);
    let list = dir.path().join("ballots.json");
    std::fs::write(&list, published.to_string()).unwrap();
    let (_, short_view) = w.citizen.get(&format!("/api/v1/polls/{}", short.0)).await;
    assert_eq!(short_view["final_tree_size"], 2);
    let short_key = short_view["public_key"].as_str().unwrap();
    let mine_id = mine["ballot_id"].as_str().unwrap();
    let my_receipt = ok(w.citizen.get(mine["receipt_url"].as_str().unwrap()).await);
    let receipt_file = dir.path().join("my-receipt.json");
    std::fs::write(&receipt_file, my_receipt.to_string()).unwrap();
    let (code, out, err) = otklik(&[
        "poll",
        "recount",
        list.to_str().unwrap(),
        "--public-key",
        short_key,
        "--receipt",
        receipt_file.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.starts_with("valid: 2 ballots"), "{out}");
    assert!(!out.contains("warning"), "{out}");
    assert!(
        out.contains("Сквер у школы: 1") && out.contains("Фонтан: 2"),
        "{out}"
    );
    assert!(
        out.contains(&format!("ballot {mine_id}: counted as cast")),
        "{out}"
    );
    // The published order is the order of the ids, not of the votes.
    let ids: Vec<&str> = published["ballots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["ballot_id"].as_str().unwrap())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(ids, sorted);
    assert!(ids.contains(&hers["ballot_id"].as_str().unwrap()));
    // Without the key pinned the recount says so.
    let (code, out, _) = otklik(&["poll", "recount", list.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("warning: no --public-key"), "{out}");
    // A receipt whose answers differ from the counted ballot is refused.
    let mut changed = my_receipt.clone();
    changed["answers"][0]["choices"] = json!([1]);
    std::fs::write(&receipt_file, changed.to_string()).unwrap();
    let (code, out, _) = otklik(&[
        "poll",
        "recount",
        list.to_str().unwrap(),
        "--receipt",
        receipt_file.to_str().unwrap(),
    ]);
    assert_eq!(
        (code, out.starts_with("invalid: ballot_changed")),
        (1, true),
        "{out}"
    );
    // The wrong key, an edited ballot, a ballot that is not there: refused.
    let (code, out, _) = otklik(&[
        "poll",
        "recount",
        list.to_str().unwrap(),
        "--public-key",
        key,
    ]);
    assert_eq!(code, 1, "{out}");
    // The questions are part of the signed tree: swapping two options' titles is refused.
    let mut swapped = published.clone();
    swapped["questions"][0]["options"][0]["title"] = json!("Фонтан");
    swapped["questions"][0]["options"][2]["title"] = json!("Сквер у школы");
    std::fs::write(&list, swapped.to_string()).unwrap();
    let (code, out, _) = otklik(&["poll", "recount", list.to_str().unwrap()]);
    assert_eq!(
        (code, out.starts_with("invalid: root_mismatch")),
        (1, true),
        "{out}"
    );
    // Reordered ballots are refused.
    let mut reordered = published.clone();
    reordered["ballots"].as_array_mut().unwrap().reverse();
    std::fs::write(&list, reordered.to_string()).unwrap();
    let (code, out, _) = otklik(&["poll", "recount", list.to_str().unwrap()]);
    assert_eq!(
        (code, out.starts_with("invalid: not_in_order")),
        (1, true),
        "{out}"
    );
    let mut forged = published.clone();
    forged["ballots"][0]["answers"][0]["choices"] = json!([1]);
    std::fs::write(&list, forged.to_string()).unwrap();
    let (code, out, _) = otklik(&["poll", "recount", list.to_str().unwrap()]);
    assert_eq!(
        (code, out.starts_with("invalid: root_mismatch")),
        (1, true),
        "{out}"
    );
    std::fs::write(&list, "{}").unwrap();
    assert_eq!(otklik(&["poll", "recount", list.to_str().unwrap()]).0, 2);
    w.app.stop().await;
}

#[tokio::test]
async fn polls_on_sqlite() {
    scenario(Backend::Sqlite).await;
}

#[tokio::test]
async fn polls_on_postgres() {
    scenario(Backend::Postgres).await;
}

/// With copies on (the default outside tests), live results do not move with a ballot:
/// within one interval every view shows the same counts, while the poll's own turnout is
/// exact; the API and the page say when the counts change. (The store's conformance test
/// covers new intervals and the ballots a new copy waits for.)
#[tokio::test]
async fn live_results_do_not_move_with_each_ballot() {
    let app = crate::support::spawn_app_with(Backend::Sqlite, |c| {
        // An interval of ~31 years: no boundary falls inside the test.
        c.web.polls = otklik_web::config::PollsConfig {
            live_snapshot_seconds: 1_000_000_000,
            live_snapshot_min_ballots: 1,
        };
    })
    .await;
    let w = World::of(app).await;
    let operator = w.app.api(&w.app.token(OPERATOR).await);
    let survey = created(
        operator
            .post(
                "/api/v1/polls",
                json!({"kind": "survey", "title": "Опрос о парке", "questions_text": "? Как вам парк?\n* шкала 1..5",
                       "opens_at": moscow(-1), "closes_at": moscow(60), "results": "live",
                       "verification": "standard"}),
            )
            .await,
    );
    let id = survey["id"].as_i64().unwrap();
    let results = format!("/api/v1/polls/{id}/results");
    let before = ok(w.citizen.get(&results).await);
    assert_eq!(before["ballots"], 0);
    assert_eq!(before["updated_every_seconds"], 1_000_000_000);
    assert_eq!(before["updated_after_ballots"], 1);

    created(
        w.citizen
            .post(
                &format!("/api/v1/polls/{id}/ballots"),
                json!({"answers": [{"scale": 5}]}),
            )
            .await,
    );
    let poll = ok(operator.get(&format!("/api/v1/polls/{id}")).await);
    assert_eq!(poll["ballots"], 1, "the turnout is exact");
    let after = ok(w.citizen.get(&results).await);
    assert_eq!(after, before, "the counts did not move with the ballot");
    let page =
        crate::support::text_of(&w.app.browser(), w.app.url(&format!("/polls/{id}/results"))).await;
    assert!(
        page.contains("Числа обновляются не чаще раза в") && page.contains("не менее 1 человек"),
        "{page}"
    );
}
