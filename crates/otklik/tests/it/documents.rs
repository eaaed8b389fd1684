//! Electronic documents end to end through the real server: certificates issued to
//! verified people, a route signed in turn with platform-held keys (ECDSA and GOST) and
//! handed to its recipient, whose package verifies with `openssl cms -verify`; signatures
//! made by the openssl command line accepted only when they verify and their certificate
//! is the signer's; an official's answer signed as a document the citizen receives; and
//! key material that never reaches logs, pages, the API or exports.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read as _;
use std::path::Path;
use std::process::Command;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::api::World;
use crate::support::{
    csrf_in, page_login, spawn_app_with, Api, Backend, TestApp, CITIZEN, DEMO_PASSWORD,
    OTHER_CITIZEN,
};

const CITY: &str = "Администрация города Твери";
const SIGNING_PASSWORD: &str = "подпись-2026";
const CONTENT: &[u8] = b"%PDF-1.4\n% Contract No. 7: the city repairs the yard by May.\n%%EOF\n";

fn ok(answer: (u16, Value)) -> Value {
    assert!((200..300).contains(&answer.0), "{answer:?}");
    answer.1
}

fn deadline_in(days: i64) -> String {
    let day = time::OffsetDateTime::now_utc().date() + time::Duration::days(days);
    format!("{day}")
}

async fn issue(api: &Api, algorithm: &str) -> i64 {
    let issued = ok(api
        .post(
            "/api/v1/account/certificates",
            json!({ "algorithm": algorithm, "password": SIGNING_PASSWORD }),
        )
        .await);
    assert_eq!(issued["algorithm"], algorithm);
    assert_eq!(issued["platform_held"], true);
    issued["id"].as_i64().unwrap()
}

async fn bytes(app: &TestApp, token: &str, path: &str) -> Vec<u8> {
    let r = reqwest::Client::new()
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.bytes().await.unwrap().to_vec()
}

/// The entries of a ZIP by name.
fn unzip(archive: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(archive)).unwrap();
    (0..zip.len())
        .map(|i| {
            let mut file = zip.by_index(i).unwrap();
            let mut content = Vec::new();
            file.read_to_end(&mut content).unwrap();
            (file.name().to_owned(), content)
        })
        .collect()
}

fn openssl(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl command line must be installed");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn must(dir: &Path, args: &[&str]) {
    let (success, output) = openssl(dir, args);
    assert!(
        success,
        "openssl {} failed (GOST needs libengine-gost-openssl): {output}",
        args.join(" ")
    );
}

/// `openssl cms -verify` of a detached DER signature, with the GOST engine when asked.
fn cms_verify(dir: &Path, content: &str, signature: &str, ca: &str, gost: bool) -> (bool, String) {
    let mut args = vec![
        "cms", "-verify", "-binary", "-inform", "DER", "-in", signature,
    ];
    args.extend([
        "-content",
        content,
        "-CAfile",
        ca,
        "-purpose",
        "any",
        "-out",
        "/dev/null",
    ]);
    if gost {
        args.extend(["-engine", "gost"]);
    }
    openssl(dir, &args)
}

async fn authorities(app: &TestApp) -> Value {
    let r = reqwest::get(app.url("/api/v1/signatures/authorities"))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

fn authority_pem(authorities: &Value, algorithm: &str) -> String {
    authorities
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["algorithm"] == algorithm)
        .unwrap_or_else(|| panic!("no {algorithm} authority (is the GOST engine installed?)"))
        ["certificate_pem"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn platform_route(backend: Backend) {
    let w = World::start(backend).await;
    let app = &w.app;
    let citizen_token = app.token(CITIZEN).await;
    let official_email = app.official_of(CITY).email.clone();
    let official_token = app.token(&official_email).await;
    let (citizen, official) = (app.api(&citizen_token), app.api(&official_token));
    let maria_token = app.token(OTHER_CITIZEN).await;
    let maria = app.api(&maria_token);

    let ecdsa = issue(&citizen, "ecdsa_p256").await;
    let gost = issue(&official, "gost2012_256").await;
    // Maria's account is not verified: no certificates, no documents for her to create.
    let (status, refused) = maria
        .post(
            "/api/v1/account/certificates",
            json!({ "algorithm": "ecdsa_p256", "password": SIGNING_PASSWORD }),
        )
        .await;
    assert_eq!(status, 403, "{refused}");

    let created = ok(citizen
        .post(
            "/api/v1/documents",
            json!({
                "title": "Договор о благоустройстве двора",
                "file_name": "contract.pdf",
                "content_base64": B64.encode(CONTENT),
                "order": "sequential",
                "deadline": deadline_in(5),
                "signers": [CITIZEN, CITY],
                "recipients": [OTHER_CITIZEN],
            }),
        )
        .await);
    let id = created["id"].as_i64().unwrap();
    let path = |tail: &str| format!("/api/v1/documents/{id}{tail}");
    // The official does not see a draft.
    assert_eq!(official.get(&path("")).await.0, 404);
    let started = ok(citizen.post(&path("/start"), json!({})).await);
    assert_eq!(started["status"], "signing");
    assert!(started["log_index"].is_u64(), "{started}");
    assert_eq!(started["your_slot"], 0);

    let sign = |certificate: i64, password: &str| json!({ "certificate_id": certificate, "password": password });
    let (status, early) = official
        .post(&path("/sign"), sign(gost, SIGNING_PASSWORD))
        .await;
    assert_eq!(
        (status, early["type"].as_str()),
        (409, Some("/api/v1/problems/not_your_turn"))
    );
    let (status, wrong) = citizen
        .post(&path("/sign"), sign(ecdsa, "не-тот-пароль1"))
        .await;
    assert_eq!(status, 422, "{wrong}");
    assert_eq!(wrong["errors"][0]["field"], "password", "{wrong}");
    assert_eq!(wrong["errors"][0]["code"], "wrong_password", "{wrong}");
    // Someone else's certificate is not the citizen's to use.
    let (status, foreign) = citizen
        .post(&path("/sign"), sign(gost, SIGNING_PASSWORD))
        .await;
    assert_eq!(status, 422, "{foreign}");

    let first = ok(citizen
        .post(&path("/sign"), sign(ecdsa, SIGNING_PASSWORD))
        .await);
    assert_eq!(first["signers"][0]["state"], "signed");
    assert_eq!(first["signers"][0]["algorithm"], "ecdsa_p256");
    assert_eq!(first["signers"][1]["state"], "pending");
    // The official is asked now, in the notification centre.
    let asked = ok(official.get("/api/v1/notifications").await);
    assert!(
        asked["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["kind"] == "signing_request"),
        "{asked}"
    );
    assert_eq!(maria.get(&path("")).await.0, 404, "not delivered yet");
    let done = ok(official
        .post(&path("/sign"), sign(gost, SIGNING_PASSWORD))
        .await);
    assert_eq!(done["status"], "completed");
    assert_eq!(done["signers"][1]["algorithm"], "gost2012_256");
    assert!(done["recipients"][0]["delivered_at"].is_string());

    // Maria received it: told, listed, and able to take the package.
    let told = ok(maria.get("/api/v1/notifications").await);
    assert!(
        told["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["kind"] == "document_received"),
        "{told}"
    );
    let involved = ok(maria.get("/api/v1/documents?box=involved").await);
    assert_eq!(involved["items"][0]["id"], id);
    let report = ok(maria.get(&path("/verification")).await);
    assert_eq!(report["valid"], true, "{report}");
    let package = unzip(&bytes(app, &maria_token, &path("/package")).await);
    let names: Vec<&str> = package.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "contract.pdf",
            "contract.signer-1.p7s",
            "contract.signer-2.p7s",
            "verification.json",
            "verification.html"
        ]
    );
    assert_eq!(package[0].1, CONTENT);

    // Any standard tool agrees: openssl verifies both against the platform's CAs.
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in &package {
        std::fs::write(dir.path().join(name), content).unwrap();
    }
    let cas = authorities(app).await;
    std::fs::write(
        dir.path().join("ecdsa-ca.pem"),
        authority_pem(&cas, "ecdsa_p256"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("gost-ca.pem"),
        authority_pem(&cas, "gost2012_256"),
    )
    .unwrap();
    let (ok1, out1) = cms_verify(
        dir.path(),
        "contract.pdf",
        "contract.signer-1.p7s",
        "ecdsa-ca.pem",
        false,
    );
    assert!(ok1, "{out1}");
    let (ok2, out2) = cms_verify(
        dir.path(),
        "contract.pdf",
        "contract.signer-2.p7s",
        "gost-ca.pem",
        true,
    );
    assert!(ok2, "{out2}");
    // … and refuses a changed document.
    std::fs::write(dir.path().join("changed.pdf"), b"%PDF-1.4 another contract").unwrap();
    let (tampered, _) = cms_verify(
        dir.path(),
        "changed.pdf",
        "contract.signer-1.p7s",
        "ecdsa-ca.pem",
        false,
    );
    assert!(!tampered);
    // The signatures carry the CAdES signing-certificate attribute.
    let (_, printed) = openssl(
        dir.path(),
        &[
            "cms",
            "-cmsout",
            "-print",
            "-inform",
            "DER",
            "-in",
            "contract.signer-1.p7s",
        ],
    );
    assert!(
        printed.contains("id-smime-aa-signingCertificateV2"),
        "{printed}"
    );

    // The public check: the same signature on other bytes is named for what it is.
    let signature = &package[1].1;
    let api = app.api("");
    let (status, report) = api
        .post(
            "/api/v1/signatures/verify",
            json!({
                "content_base64": B64.encode(b"%PDF-1.4 another contract"),
                "signatures_base64": [B64.encode(signature)],
            }),
        )
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["valid"], false);
    assert_eq!(
        report["reports"][0]["signers"][0]["problems"][0]["code"],
        "content_mismatch"
    );
    let (status, garbage) = api
        .post(
            "/api/v1/signatures/verify",
            json!({ "content_base64": B64.encode(CONTENT), "signatures_base64": [B64.encode(&signature[..40])] }),
        )
        .await;
    assert_eq!(status, 422, "{garbage}");
    assert_eq!(
        garbage["errors"][0]["code"], "malformed_signature",
        "{garbage}"
    );

    // A completed route takes nothing more, and a stranger sees nothing.
    let (status, _) = official
        .post(&path("/sign"), sign(gost, SIGNING_PASSWORD))
        .await;
    assert_eq!(status, 409);
    let other_official = app
        .token(
            &app.official_of("Министерство транспорта Тверской области")
                .email
                .clone(),
        )
        .await;
    assert_eq!(app.api(&other_official).get(&path("")).await.0, 404);

    // In parallel, a decline by one signer stops the route for all, and the author hears.
    let parallel = ok(citizen
        .post(
            "/api/v1/documents",
            json!({ "title": "Протокол собрания", "text": "Решили покрасить скамейки.", "order": "parallel",
                    "deadline": deadline_in(2), "signers": [CITIZEN, OTHER_CITIZEN] }),
        )
        .await)["id"]
        .as_i64()
        .unwrap();
    let ppath = |tail: &str| format!("/api/v1/documents/{parallel}{tail}");
    let both = ok(citizen.post(&ppath("/start"), json!({})).await);
    assert_eq!(both["signers"][1]["state"], "pending");
    let (status, _) = maria
        .post(&ppath("/decline"), json!({ "reason": "ок" }))
        .await;
    assert_eq!(status, 422, "a reason of at least three characters");
    let declined = ok(maria
        .post(
            &ppath("/decline"),
            json!({ "reason": "Не была на собрании" }),
        )
        .await);
    assert_eq!(declined["status"], "declined");
    assert_eq!(
        declined["signers"][1]["decline_reason"],
        "Не была на собрании"
    );
    let (status, after) = citizen
        .post(&ppath("/sign"), sign(ecdsa, SIGNING_PASSWORD))
        .await;
    assert_eq!(
        (status, after["code"].as_str()),
        (409, Some("document_not_signing")),
        "{after}"
    );
    let heard = ok(citizen.get("/api/v1/notifications").await);
    assert!(
        heard["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["kind"] == "document_outcome"),
        "{heard}"
    );
    w.app.stop().await;
}

#[tokio::test]
async fn a_route_signed_with_platform_keys_reaches_its_recipient_and_verifies_with_openssl() {
    platform_route(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_route_signed_with_platform_keys_on_postgres() {
    platform_route(Backend::Postgres).await;
}

/// A CA, and two end-entity keys with certificates, made by the openssl command line.
fn outside_pki(dir: &Path, gost: bool) {
    let engine: &[&str] = if gost { &["-engine", "gost"] } else { &[] };
    let md = if gost { "-md_gost12_256" } else { "-sha256" };
    let keygen: &[&str] = if gost {
        &["-algorithm", "gost2012_256", "-pkeyopt", "paramset:A"]
    } else {
        &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]
    };
    for key in ["ca.key", "ee.key", "other.key"] {
        must(
            dir,
            &[&["genpkey"][..], engine, keygen, &["-out", key]].concat(),
        );
    }
    must(
        dir,
        &[
            &["req"][..],
            engine,
            &[
                "-x509",
                "-new",
                "-key",
                "ca.key",
                md,
                "-days",
                "30",
                "-subj",
                "/CN=Outside CA",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
                "-out",
                "ca.pem",
            ],
        ]
        .concat(),
    );
    for name in ["ee", "other"] {
        let key = format!("{name}.key");
        let csr = format!("{name}.csr");
        let pem = format!("{name}.pem");
        let subject = format!("/CN=Иван Петров ({name})");
        must(
            dir,
            &[
                &["req"][..],
                engine,
                &[
                    "-new", "-key", &key, md, "-subj", &subject, "-utf8", "-out", &csr,
                ],
            ]
            .concat(),
        );
        must(
            dir,
            &[
                &["x509"][..],
                engine,
                &[
                    "-req",
                    "-in",
                    &csr,
                    "-CA",
                    "ca.pem",
                    "-CAkey",
                    "ca.key",
                    "-CAcreateserial",
                    md,
                    "-days",
                    "10",
                    "-out",
                    &pem,
                ],
            ]
            .concat(),
        );
    }
}

fn cms_sign(dir: &Path, signer: &str, gost: bool) -> Vec<u8> {
    let engine: &[&str] = if gost { &["-engine", "gost"] } else { &[] };
    let cert = format!("{signer}.pem");
    let key = format!("{signer}.key");
    let out = format!("{signer}.p7s");
    must(
        dir,
        &[
            &[
                "cms",
                "-sign",
                "-binary",
                "-cades",
                "-in",
                "content.bin",
                "-signer",
                &cert,
                "-inkey",
                &key,
                "-outform",
                "DER",
                "-out",
                &out,
            ][..],
            engine,
        ]
        .concat(),
    );
    std::fs::read(dir.join(out)).unwrap()
}

async fn uploaded(gost: bool) {
    let dir = tempfile::tempdir().unwrap();
    outside_pki(dir.path(), gost);
    std::fs::write(dir.path().join("content.bin"), CONTENT).unwrap();
    let trust = dir.path().join("ca.pem");
    let app = spawn_app_with(Backend::Sqlite, |c| c.web.signing.trust = vec![trust]).await;
    let token = app.token(CITIZEN).await;
    let citizen = app.api(&token);
    let registered = ok(citizen
        .post(
            "/api/v1/account/certificates/register",
            json!({ "certificate_base64": B64.encode(std::fs::read(dir.path().join("ee.pem")).unwrap()) }),
        )
        .await);
    assert_eq!(registered["platform_held"], false);
    assert_eq!(
        registered["algorithm"],
        if gost { "gost2012_256" } else { "ecdsa_p256" }
    );
    // A certificate from nobody the platform trusts is refused.
    let dir2 = tempfile::tempdir().unwrap();
    outside_pki(dir2.path(), false);
    let (status, untrusted) = citizen
        .post(
            "/api/v1/account/certificates/register",
            json!({ "certificate_base64": B64.encode(std::fs::read(dir2.path().join("ee.pem")).unwrap()) }),
        )
        .await;
    assert_eq!(
        (status, untrusted["errors"][0]["code"].as_str()),
        (422, Some("untrusted_chain")),
        "{untrusted}"
    );

    let created = ok(citizen
        .post(
            "/api/v1/documents",
            json!({
                "title": "Заявление",
                "file_name": "statement.bin",
                "content_base64": B64.encode(CONTENT),
                "order": "parallel",
                "deadline": deadline_in(3),
                "signers": [CITIZEN],
            }),
        )
        .await);
    let id = created["id"].as_i64().unwrap();
    let sign_path = format!("/api/v1/documents/{id}/sign");
    ok(citizen
        .post(&format!("/api/v1/documents/{id}/start"), json!({}))
        .await);
    let upload = |bytes: &[u8]| json!({ "signature_base64": B64.encode(bytes) });

    // Garbage, a truncated signature, another key's signature, other bytes: each refused
    // with its reason, and the slot stays open.
    let good = cms_sign(dir.path(), "ee", gost);
    let refusals = [
        (b"not a signature".to_vec(), "malformed_signature"),
        (good[..good.len() / 2].to_vec(), "malformed_signature"),
        (
            cms_sign(dir.path(), "other", gost),
            "certificate_not_registered",
        ),
    ];
    for (bytes, code) in refusals {
        let (status, refused) = citizen.post(&sign_path, upload(&bytes)).await;
        assert_eq!(
            (status, refused["errors"][0]["code"].as_str()),
            (422, Some(code)),
            "{refused}"
        );
    }
    std::fs::write(dir.path().join("content.bin"), b"other bytes").unwrap();
    let for_other_bytes = cms_sign(dir.path(), "ee", gost);
    let (status, refused) = citizen.post(&sign_path, upload(&for_other_bytes)).await;
    assert_eq!(
        (status, refused["errors"][0]["code"].as_str()),
        (422, Some("content_mismatch")),
        "{refused}"
    );
    assert_eq!(
        ok(citizen.get(&format!("/api/v1/documents/{id}")).await)["status"],
        "signing"
    );

    let signed = ok(citizen.post(&sign_path, upload(&good)).await);
    assert_eq!(signed["status"], "completed");
    assert_eq!(signed["signers"][0]["method"], "uploaded");
    app.stop().await;
}

#[tokio::test]
async fn signatures_made_by_openssl_are_accepted_only_when_they_verify_ecdsa() {
    uploaded(false).await;
}

#[tokio::test]
async fn signatures_made_by_openssl_are_accepted_only_when_they_verify_gost() {
    uploaded(true).await;
}

#[tokio::test]
async fn an_official_signs_the_answer_and_the_citizen_receives_it() {
    let w = World::start(Backend::Sqlite).await;
    let app = &w.app;
    let created = w.submit("Неработающий светофор").await;
    let submission = created["id"].as_i64().unwrap();
    let official_email = app.official_of(CITY).email.clone();
    let official = app.api(&app.token(&official_email).await);
    let base = format!("/api/v1/submissions/{submission}");
    ok(official
        .post(&format!("{base}/take-into-work"), json!({}))
        .await);
    ok(official
        .post(
            &format!("{base}/answer"),
            json!({ "text": "Светофор отремонтирован 3 декабря." }),
        )
        .await);
    let certificate = issue(&official, "ecdsa_p256").await;

    // The official's page offers to sign the answer; the form makes the document.
    let browser = app.browser();
    page_login(app, &browser, &official_email, DEMO_PASSWORD).await;
    let page = browser
        .get(app.url(&format!("/submissions/{submission}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("/sign-answer"), "no offer to sign the answer");
    let made = browser
        .post(app.url(&format!("/submissions/{submission}/sign-answer")))
        .form(&[("csrf", csrf_in(&page).as_str())])
        .send()
        .await
        .unwrap();
    let location = made.headers()["location"].to_str().unwrap().to_owned();
    let document: i64 = location.trim_start_matches("/documents/").parse().unwrap();
    // Pressed twice, it opens the same document.
    let again = browser
        .post(app.url(&format!("/submissions/{submission}/sign-answer")))
        .form(&[("csrf", csrf_in(&page).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(again.headers()["location"].to_str().unwrap(), location);
    let detail = ok(official.get(&format!("/api/v1/documents/{document}")).await);
    assert_eq!(detail["status"], "signing");
    assert_eq!(detail["submission_id"], submission);
    let text = String::from_utf8(
        bytes(
            app,
            &official.token,
            &format!("/api/v1/documents/{document}/content"),
        )
        .await,
    )
    .unwrap();
    assert!(
        text.contains("Светофор отремонтирован 3 декабря."),
        "{text}"
    );
    assert!(text.contains(created["number"].as_str().unwrap()), "{text}");

    ok(official
        .post(
            &format!("/api/v1/documents/{document}/sign"),
            json!({ "certificate_id": certificate, "password": SIGNING_PASSWORD }),
        )
        .await);
    // The citizen has it, verified, and the submission's page links to it.
    let mine = ok(w
        .citizen
        .get(&format!("/api/v1/documents/{document}"))
        .await);
    assert_eq!(mine["status"], "completed");
    assert_eq!(
        ok(w.citizen
            .get(&format!("/api/v1/documents/{document}/verification"))
            .await)["valid"],
        true
    );
    let citizen_browser = app.browser();
    page_login(app, &citizen_browser, CITIZEN, DEMO_PASSWORD).await;
    let submission_page = citizen_browser
        .get(app.url(&format!("/submissions/{submission}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        submission_page.contains(&format!("/documents/{document}")),
        "no link to the signed answer"
    );
    let report_page = citizen_browser
        .get(app.url(&format!("/documents/{document}/verification")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        report_page.contains("Все подписи действительны."),
        "{report_page}"
    );
}

/// The server as a process of its own, logging everything it logs at `trace`, through a
/// whole signing: its output, the API's answers, the pages, the package and the database
/// never hold a private key, the signing password or the sealed key.
#[tokio::test]
async fn key_material_never_reaches_logs_pages_or_exports() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = tokio::process::Command::new(env!("CARGO_BIN_EXE_otklik"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data.to_str().unwrap(),
        ])
        .env(
            "OTKLIK_LOG",
            "trace,sqlx=trace,hyper=info,h2=info,tower=info",
        )
        .env("OTKLIK_DEMO_PASSWORD", DEMO_PASSWORD)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = server.stdout.take().unwrap();
    let stderr = server.stderr.take().unwrap();
    let collect = |stream: Box<dyn tokio::io::AsyncRead + Unpin + Send>| {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        tokio::spawn(async move {
            use tokio::io::AsyncBufReadExt as _;
            let mut lines = tokio::io::BufReader::new(stream).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let _ = tx.send(line);
            }
        });
        rx
    };
    let mut out = collect(Box::new(stdout));
    let mut err = collect(Box::new(stderr));
    let mut log = String::new();
    let addr = loop {
        let line = tokio::select! {
            Some(line) = out.recv() => line,
            Some(line) = err.recv() => line,
        };
        let line = plain(&line);
        log.push_str(&line);
        log.push('\n');
        if let (true, Some(at)) = (line.contains("serving"), line.find("addr=")) {
            break line[at + "addr=".len()..]
                .split_whitespace()
                .next()
                .unwrap()
                .to_owned();
        }
    };
    let base = format!("http://{addr}");
    let client = reqwest::Client::new();
    let login = |email: &'static str| {
        let client = client.clone();
        let base = base.clone();
        async move {
            let r: Value = client
                .post(format!("{base}/api/v1/auth/token"))
                .json(&json!({ "email": email, "password": DEMO_PASSWORD }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            r["token"]
                .as_str()
                .unwrap_or_else(|| panic!("{r}"))
                .to_owned()
        }
    };
    let token = login(CITIZEN).await;
    let api = Api {
        base: base.clone(),
        token: token.clone(),
        client: client.clone(),
    };
    let mut exported = String::new();
    let certificate = issue(&api, "gost2012_256").await;
    let created = ok(api
        .post(
            "/api/v1/documents",
            json!({ "title": "Доверенность", "text": "Доверяю получить посылку.", "order": "sequential",
                    "deadline": deadline_in(2), "signers": [CITIZEN] }),
        )
        .await);
    let id = created["id"].as_i64().unwrap();
    ok(api
        .post(&format!("/api/v1/documents/{id}/start"), json!({}))
        .await);
    let signed = ok(api
        .post(
            &format!("/api/v1/documents/{id}/sign"),
            json!({ "certificate_id": certificate, "password": SIGNING_PASSWORD }),
        )
        .await);
    exported.push_str(&signed.to_string());
    exported.push_str(&ok(api.get("/api/v1/account/certificates").await).to_string());
    exported.push_str(
        &ok(api
            .get(&format!("/api/v1/documents/{id}/verification"))
            .await)
        .to_string(),
    );
    let package = client
        .get(format!("{base}/api/v1/documents/{id}/package"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    for (_, content) in unzip(&package) {
        exported.push_str(&String::from_utf8_lossy(&content));
    }
    server.start_kill().unwrap();
    let _ = server.wait().await;
    while let Ok(line) = out.try_recv() {
        log.push_str(&line);
    }
    while let Ok(line) = err.try_recv() {
        log.push_str(&line);
    }
    assert!(
        log.len() > 1000,
        "the trace log is too short to mean anything: {log}"
    );

    // The sealed key as the database holds it.
    let store = otklik_store::open(&format!("sqlite://{}", data.join("otklik.db").display()))
        .await
        .unwrap();
    let me = store
        .user_by_email(&otklik_domain::text::Email::parse(CITIZEN).unwrap())
        .await
        .unwrap()
        .unwrap();
    let sealed = store
        .platform_key(me.id, otklik_domain::CertificateId(certificate))
        .await
        .unwrap()
        .sealed_key;
    let database = std::fs::read(data.join("otklik.db")).unwrap();
    for (what, text) in [("the log", &log), ("the exports", &exported)] {
        assert!(!text.contains("PRIVATE KEY"), "{what} hold a private key");
        assert!(
            !text.contains(SIGNING_PASSWORD),
            "{what} hold the signing password"
        );
        assert!(
            !text.contains(&B64.encode(&sealed)),
            "{what} hold the sealed key"
        );
        assert!(
            !text.contains(&hex::encode(&sealed)),
            "{what} hold the sealed key"
        );
    }
    assert!(
        !database
            .windows(b"PRIVATE KEY".len())
            .any(|w| w == b"PRIVATE KEY"),
        "the database holds a key in the clear"
    );
    assert!(
        !database
            .windows(SIGNING_PASSWORD.len())
            .any(|w| w == SIGNING_PASSWORD.as_bytes()),
        "the database holds the signing password"
    );
}

/// A log line without its terminal colours.
fn plain(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
