//! The transparency log end to end: the public API an outside auditor uses, the citizen's
//! receipt from the personal account, and the real `otklik log` commands — including
//! detection of an edit made directly in the database, on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::Duration;

use otklik_log::{decode_b64, decode_hash, HashAlg};
use serde_json::{json, Value};

use crate::api::{ok, path, refused, upload, World, POTHOLES};
use crate::support::{Backend, TestApp, PDF_MINI};

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

/// Waits until a signed tree head covers `size` leaves (the server signs every 100 ms in
/// tests) and returns it.
async fn head_covering(w: &World, size: u64) -> Value {
    for _ in 0..100 {
        let (status, head) = w.citizen.get("/api/v1/log/tree-head").await;
        if status == 200 && head["size"].as_u64().unwrap() >= size {
            return head;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no signed tree head covers {size} leaves");
}

/// A submission taken into work and answered with a PDF; returns its id.
async fn answered(w: &World) -> Value {
    let created = w.submit(POTHOLES).await;
    let id = created["id"].clone();
    let official = w.official(created["organisation"].as_str().unwrap()).await;
    ok(official.post(&path(&id, "take-into-work"), json!({})).await);
    let answer = json!({
        "text": "Яма заделана 10 декабря, акт приёмки во вложении.",
        "attachments": [upload("akt.pdf", PDF_MINI)],
    });
    ok(official.post(&path(&id, "answer"), answer).await);
    id
}

fn b64s(list: &Value) -> Vec<[u8; 32]> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|h| decode_hash(h.as_str().unwrap()).unwrap())
        .collect()
}

fn hash(v: &Value) -> [u8; 32] {
    decode_hash(v.as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn an_auditor_checks_the_log_through_the_public_api() {
    let w = World::start(Backend::Sqlite).await;
    let public = w.app.api("");
    // Before any event: nothing signed, and a clear answer.
    refused(
        public.get("/api/v1/log/tree-head").await,
        404,
        "no_tree_head",
    );
    let info = ok(public.get("/api/v1/log").await);
    assert_eq!(
        (info["alg"].as_str(), info["size"].as_u64()),
        (Some("sha256"), Some(0))
    );
    let first = w.submit(POTHOLES).await;
    let head1 = head_covering(&w, 1).await;
    let id = answered(&w).await;
    let head2 = head_covering(&w, 4).await;
    let (size1, size2) = (
        head1["size"].as_u64().unwrap(),
        head2["size"].as_u64().unwrap(),
    );
    assert!(size1 >= 1 && size2 == 4 && size1 < size2, "{size1} {size2}");

    // Leaves recompute to the signed root.
    let leaves = ok(public.get("/api/v1/log/leaves?start=0&count=1000").await);
    let leaves = leaves["leaves"].as_array().unwrap().clone();
    assert_eq!(leaves.len(), 4);
    let mut tree = otklik_log::MemoryTree::new(HashAlg::Sha256);
    for leaf in &leaves {
        tree.push(&decode_b64(leaf["data"].as_str().unwrap()).unwrap())
            .unwrap();
    }
    assert_eq!(tree.root().unwrap(), hash(&head2["root"]));

    // Every leaf's inclusion proof verifies, through the CLI too.
    for index in 0..4u64 {
        let proof = ok(public
            .get(&format!("/api/v1/log/proof/inclusion?index={index}&size=4"))
            .await);
        otklik_log::verify_inclusion(
            HashAlg::Sha256,
            &hash(&proof["leaf_hash"]),
            index,
            4,
            &b64s(&proof["proof"]),
            &hash(&head2["root"]),
        )
        .unwrap();
        let joined = proof["proof"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h.as_str().unwrap())
            .collect::<Vec<_>>()
            .join(",");
        let args = [
            "log",
            "verify-inclusion",
            "--leaf-hash",
            proof["leaf_hash"].as_str().unwrap(),
            "--index",
            &index.to_string(),
            "--size",
            "4",
            "--root",
            head2["root"].as_str().unwrap(),
            "--proof",
            &joined,
        ];
        assert_eq!(otklik(&args).1, "valid");
        let wrong_index = (index + 1) % 4;
        let mut bad = args;
        let wrong = wrong_index.to_string();
        bad[5] = &wrong;
        let (code, out, _) = otklik(&bad);
        assert_eq!(code, 1, "{out}");
        assert!(out.starts_with("invalid: "), "{out}");
    }
    // The older head is a prefix of the newer one.
    let proof = ok(public
        .get(&format!(
            "/api/v1/log/proof/consistency?first={size1}&second=4"
        ))
        .await);
    let joined: Vec<&str> = proof["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    let args = [
        "log",
        "verify-consistency",
        "--size1",
        &size1.to_string(),
        "--size2",
        "4",
        "--root1",
        head1["root"].as_str().unwrap(),
        "--root2",
        head2["root"].as_str().unwrap(),
        "--proof",
        &joined.join(","),
    ];
    assert_eq!(otklik(&args), (0, "valid".to_owned(), String::new()));
    let swapped = [
        "log",
        "verify-consistency",
        "--size1",
        &size1.to_string(),
        "--size2",
        "4",
        "--root1",
        head2["root"].as_str().unwrap(),
        "--root2",
        head1["root"].as_str().unwrap(),
        "--proof",
        &joined.join(","),
    ];
    assert_eq!(otklik(&swapped).0, 1);
    // Unreadable input is a usage error, not a verdict.
    let (code, _, err) = otklik(&[
        "log",
        "verify-inclusion",
        "--leaf-hash",
        "@@",
        "--index",
        "0",
        "--size",
        "1",
        "--root",
        "@@",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--leaf-hash"), "{err}");

    // Heads are kept: the first one is still served by its size.
    let again = ok(public.get(&format!("/api/v1/log/tree-head/{size1}")).await);
    assert_eq!(again, head1);
    refused(
        public.get("/api/v1/log/tree-head/999").await,
        404,
        "not_found",
    );
    // Bad parameters are clear 422s.
    refused(
        public
            .get("/api/v1/log/proof/inclusion?index=9&size=4")
            .await,
        422,
        "index_out_of_range",
    );
    refused(
        public
            .get("/api/v1/log/proof/inclusion?index=x&size=4")
            .await,
        422,
        "invalid_parameter",
    );
    refused(
        public.get("/api/v1/log/proof/inclusion?size=4").await,
        422,
        "missing_parameter",
    );
    refused(
        public
            .get("/api/v1/log/proof/consistency?first=0&second=4")
            .await,
        422,
        "size_out_of_range",
    );
    refused(
        public.get("/api/v1/log/leaves?start=0&count=1001").await,
        422,
        "invalid_parameter",
    );

    // Receipts belong to those who may see the submission.
    let other = w.official("Администрация города Твери").await;
    refused(
        other
            .get(&format!("/api/v1/submissions/{id}/receipts"))
            .await,
        404,
        "not_found",
    );
    let list = ok(w
        .citizen
        .get(&format!("/api/v1/submissions/{id}/receipts"))
        .await);
    assert_eq!(list.as_array().unwrap().len(), 3);
    let _ = first;
    w.app.stop().await;
}

/// Downloads the citizen's receipt of the answer and the tree head it was proved against.
async fn receipt_files(w: &World, id: &Value, dir: &std::path::Path) -> (String, String, Value) {
    let list = ok(w
        .citizen
        .get(&format!("/api/v1/submissions/{id}/receipts"))
        .await);
    let answer = list
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "answered")
        .unwrap()
        .clone();
    assert_eq!(answer["signed"], true);
    let receipt = ok(w.citizen.get(answer["receipt_url"].as_str().unwrap()).await);
    assert_eq!(receipt["version"], 1);
    assert!(receipt["disclosure"]["content"]["body"]
        .as_str()
        .unwrap()
        .contains("Яма заделана"));
    let size = receipt["receipt"]["tree_head"]["size"].as_u64().unwrap();
    let head = ok(w
        .citizen
        .get(&format!("/api/v1/log/tree-head/{size}"))
        .await);
    let receipt_file = dir.join("receipt.json");
    let head_file = dir.join("head.json");
    std::fs::write(&receipt_file, receipt.to_string()).unwrap();
    std::fs::write(&head_file, head.to_string()).unwrap();
    (
        receipt_file.display().to_string(),
        head_file.display().to_string(),
        head,
    )
}

async fn tamper(app: &TestApp, sql: &str) {
    if app.database_url.starts_with("sqlite://") {
        let pool = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
        sqlx::query(sql).execute(&pool).await.unwrap();
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
        sqlx::query(sql).execute(&pool).await.unwrap();
        pool.close().await;
    }
}

async fn edit_is_detected(backend: Backend) {
    let w = World::start(backend).await;
    let id = answered(&w).await;
    head_covering(&w, 3).await;
    let dir = tempfile::tempdir().unwrap();
    let (receipt, head, head_json) = receipt_files(&w, &id, dir.path()).await;
    let key = head_json["public_key"].as_str().unwrap().to_owned();
    let verify = |receipt: &str| {
        otklik(&[
            "log",
            "verify-receipt",
            receipt,
            "--tree-head",
            &head,
            "--public-key",
            &key,
        ])
    };
    assert_eq!(verify(&receipt), (0, "valid".to_owned(), String::new()));
    let mut audit = vec!["log", "audit"];
    audit.extend(w.app.cli_db_args.iter().map(String::as_str));
    let (code, out, err) = otklik(&audit);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.ends_with("valid") && out.contains("3 leaves"), "{out}");

    // Someone with database access rewrites the answer.
    tamper(
        &w.app,
        "UPDATE events SET body = 'Ответ был другим' WHERE kind = 'answered'",
    )
    .await;
    let (code, out, err) = otklik(&audit);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        out.contains("invalid: event_mismatch at leaf 2"),
        "{out}\n{err}"
    );
    // The receipt the citizen downloads now does not verify.
    let (edited, _, _) = receipt_files_after_edit(&w, &id, dir.path()).await;
    let (code, out, _) = verify(&edited);
    assert_eq!(code, 1, "{out}");
    assert!(out.starts_with("invalid: disclosure_mismatch"), "{out}");
    // The receipt kept from before still verifies: the log itself was not changed.
    assert_eq!(verify(&receipt).0, 0);

    // A forged tree head (another root) fails against the kept receipt.
    let mut forged: Value = serde_json::from_str(&std::fs::read_to_string(&head).unwrap()).unwrap();
    forged["root"] = json!(otklik_log::encode_hash(&[1u8; 32]));
    let forged_file = dir.path().join("forged-head.json");
    std::fs::write(&forged_file, forged.to_string()).unwrap();
    let (code, out, _) = otklik(&[
        "log",
        "verify-receipt",
        &receipt,
        "--tree-head",
        forged_file.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}");
    w.app.stop().await;
}

/// The answer's receipt as served after the database was edited.
async fn receipt_files_after_edit(
    w: &World,
    id: &Value,
    dir: &std::path::Path,
) -> (String, String, Value) {
    let sub = dir.join("after");
    std::fs::create_dir_all(&sub).unwrap();
    let list = ok(w
        .citizen
        .get(&format!("/api/v1/submissions/{id}/receipts"))
        .await);
    let url = list
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "answered")
        .unwrap()["receipt_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let receipt = ok(w.citizen.get(&url).await);
    let file = sub.join("receipt.json");
    std::fs::write(&file, receipt.to_string()).unwrap();
    (file.display().to_string(), String::new(), receipt)
}

// Two worker threads: the `otklik` commands run as blocking subprocesses, and the server
// in this process must go on (a write it holds open would otherwise wait for them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_in_sqlite_is_detected_by_the_audit_and_the_receipt() {
    edit_is_detected(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_in_postgres_is_detected_by_the_audit_and_the_receipt() {
    edit_is_detected(Backend::Postgres).await;
}

#[tokio::test]
async fn the_citizen_downloads_receipts_from_the_submission_page() {
    let w = World::start(Backend::Sqlite).await;
    let id = answered(&w).await;
    head_covering(&w, 3).await;
    let browser = crate::pages::Browser::signed_in(&w.app, crate::support::CITIZEN).await;
    let (status, page) = browser.page(&format!("/submissions/{id}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("Проверяемая история"), "{page}");
    let link = format!("/submissions/{id}/receipts/");
    assert_eq!(page.matches(&link).count(), 3, "{page}");
    let response = browser.get(&format!("/submissions/{id}/receipts/0")).await;
    assert_eq!(response.status(), 200);
    assert!(response
        .headers()
        .get("content-disposition")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    let receipt: Value = response.json().await.unwrap();
    assert_eq!(receipt["receipt"]["leaf_index"], 0);
    w.app.stop().await;
}
