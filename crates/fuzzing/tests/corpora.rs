//! Replays every fuzz target's seed corpus and regression inputs through the target's
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! body, so that a crash once found stays fixed without running the fuzzer.

use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// The files of `dir`, sorted; none when it does not exist.
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

#[test]
fn every_target_has_a_seed_corpus() {
    for (name, _) in otklik_fuzzing::TARGETS {
        let seeds = inputs(&fuzz_dir().join("corpus").join(name));
        assert!(!seeds.is_empty(), "fuzz/corpus/{name} holds no seeds");
        assert!(
            fuzz_dir()
                .join("fuzz_targets")
                .join(format!("{name}.rs"))
                .is_file(),
            "fuzz/fuzz_targets/{name}.rs is missing"
        );
    }
}

#[test]
fn corpora_and_regressions_replay_without_a_crash() {
    for (name, body) in otklik_fuzzing::TARGETS {
        for kind in ["corpus", "regressions"] {
            for file in inputs(&fuzz_dir().join(kind).join(name)) {
                let data = std::fs::read(&file).unwrap();
                let outcome = std::panic::catch_unwind(|| body(&data));
                assert!(outcome.is_ok(), "{name} crashes on {}", file.display());
            }
        }
    }
}

fn seed(target: &str, name: &str) -> Vec<u8> {
    std::fs::read(fuzz_dir().join("corpus").join(target).join(name)).unwrap()
}

/// Splits a seed at its first newline, as the connector targets do.
fn split(data: &[u8]) -> (Option<&str>, &[u8]) {
    let at = data.iter().position(|b| *b == b'\n').unwrap();
    let head = std::str::from_utf8(&data[..at]).unwrap().trim();
    (Some(head).filter(|h| !h.is_empty()), &data[at + 1..])
}

/// The valid seeds are valid: the fuzzer starts from inputs that reach deep into each
/// parser, not from ones refused at the first byte.
#[test]
fn valid_seeds_are_accepted() {
    let data = seed("connector_vk", "wall_get.txt");
    let (cursor, body) = split(&data);
    let batch = otklik_connectors::vk::fuzz_answer(body, cursor).unwrap();
    assert_eq!(batch.posts.len(), 3, "{batch:?}");
    let data = seed("connector_vk", "comments.txt");
    let (cursor, body) = split(&data);
    let batch = otklik_connectors::vk::fuzz_answer(body, cursor).unwrap();
    assert_eq!(batch.posts.len(), 2, "{batch:?}");
    assert_eq!(batch.quarantined.len(), 1, "{batch:?}");

    let data = seed("connector_telegram", "get_updates.txt");
    let (cursor, body) = split(&data);
    let batch = otklik_connectors::telegram::fuzz_get_updates(body, cursor).unwrap();
    assert_eq!(batch.posts.len(), 2, "{batch:?}");
    assert_eq!(batch.cursor.as_deref(), Some("107"));

    for (name, posts) in [
        ("rss2.txt", 2),
        ("atom.txt", 2),
        ("rss1.txt", 1),
        ("cp1251.txt", 1),
    ] {
        let data = seed("rss", name);
        let (content_type, body) = split(&data);
        let batch = otklik_connectors::rss::fuzz_feed(body, content_type).unwrap();
        assert_eq!(batch.posts.len(), posts, "{name}: {batch:?}");
    }

    let ca = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/ca.pem")).unwrap();
    let content =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/content.txt")).unwrap();
    let mut trust = otklik_sign::TrustStore::new();
    trust.add_ca(&ca).unwrap();
    let report = otklik_sign::verify(
        &content,
        &seed("cms_der", "detached.der"),
        &trust,
        1_800_000_000,
    )
    .unwrap();
    assert_eq!(report.signers.len(), 1);
    let codes: Vec<&str> = report.signers[0].problems.iter().map(|p| p.code).collect();
    for wrong in [
        "content_mismatch",
        "bad_signature",
        "untrusted_chain",
        "certificate_missing",
    ] {
        assert!(!codes.contains(&wrong), "{codes:?}");
    }
    otklik_sign::certificate_info(&seed("x509_der", "user.der")).unwrap();

    for name in ["log_receipt_2_of_7.json", "log_receipt_0_of_1.json"] {
        let receipt =
            otklik_log::Receipt::from_json(std::str::from_utf8(&seed("receipt", name)).unwrap())
                .unwrap();
        otklik_log::verify_receipt(&receipt, &receipt.tree_head, None).unwrap();
    }
}

/// The seeds of the console's, the polls' and the organisations' targets reach past the
/// decoding into the checks.
#[test]
fn valid_form_and_upload_seeds_are_accepted() {
    use otklik_web::pages::fuzzing as pages;

    let read = |name: &str| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime
            .block_on(pages::read_calendar_upload(
                "multipart/form-data; boundary=otklik-fuzz",
                seed("calendar_upload", name),
            ))
            .unwrap()
    };
    let (csrf, file) = read("federal_2026.txt");
    assert_eq!(csrf, "0123456789abcdef");
    let days = pages::check_calendar_upload(true, file).unwrap();
    assert_eq!(days.len(), 22);
    let (_, file) = read("regional.txt");
    assert_eq!(
        pages::check_calendar_upload(false, file.clone())
            .unwrap()
            .len(),
        4
    );
    let refused = pages::check_calendar_upload(true, file).unwrap_err();
    assert!(refused.contains("2026"), "{refused}");
    let (_, file) = read("bom_crlf.txt");
    assert_eq!(pages::check_calendar_upload(false, file).unwrap().len(), 4);
    let (_, file) = read("bad_line.txt");
    let refused = pages::check_calendar_upload(false, file).unwrap_err();
    assert!(refused.starts_with("строка 3"), "{refused}");

    let specs = otklik_fuzzing::poll_specs();
    assert_eq!(specs.len(), 9, "a fixed poll no longer builds");
    let pairs = |name: &str| -> Vec<(String, String)> {
        form_urlencoded::parse(&seed("poll_ballot", name))
            .into_owned()
            .collect()
    };
    for (name, spec) in [
        ("single.txt", 0),
        ("multiple.txt", 1),
        ("scale.txt", 2),
        ("ranking.txt", 3),
        ("free_text.txt", 4),
        ("conditional_yes.txt", 5),
        ("conditional_no.txt", 5),
        ("all_types.txt", 6),
        ("single.txt", 7),
        ("vote_three.txt", 8),
    ] {
        let checked = pages::ballot_form(&specs[spec], &pairs(name));
        assert!(checked.is_ok(), "{name} against poll {spec}: {checked:?}");
    }
    let refused = pages::ballot_form(&specs[5], &pairs("hidden_answered.txt")).unwrap_err();
    assert_eq!(refused.fields[0].field, "answers[2]");
    assert_eq!(refused.fields[0].code, "hidden_question_answered");

    let (client_id, _, scopes) =
        pages::client_form(&seed("org_client_form", "client.txt")).unwrap();
    assert_eq!(client_id.as_str(), "sed-tver");
    assert_eq!(scopes.len(), 2);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for name in ["push.txt", "pull.txt", "push_secret.txt"] {
        let input = runtime
            .block_on(pages::integration_form(seed("org_client_form", name)))
            .unwrap();
        otklik_web::orgadmin::integration_settings(&input, false, "k".repeat(32)).unwrap();
    }
    let input = runtime
        .block_on(pages::integration_form(seed(
            "org_client_form",
            "push_private.txt",
        )))
        .unwrap();
    let refused =
        otklik_web::orgadmin::integration_settings(&input, false, String::new()).unwrap_err();
    assert!(
        refused.fields.iter().any(|f| f.code == "private_address"),
        "{refused:?}"
    );
}

/// The API seeds are the request types' own shapes.
#[test]
fn valid_api_module_seeds_are_accepted() {
    use otklik_web::api::fuzzing as hook;
    use otklik_web::api::{console, organisation, polls, social};

    fn json<T: serde::de::DeserializeOwned>(name: &str) -> T {
        serde_json::from_slice(&seed("api_json_modules", name))
            .unwrap_or_else(|e| panic!("{name}: {e}"))
    }
    for name in [
        "poll_survey_text.json",
        "poll_vote_json.json",
        "poll_conditional_json.json",
    ] {
        let input = hook::poll_input(&json::<polls::PollRequest>(name)).unwrap();
        let mut errors = otklik_domain::ValidationErrors::default();
        let definition = otklik_web::polls::check_definition(&input, &mut errors);
        assert!(errors.is_empty(), "{name}: {errors:?}");
        assert!(definition.spec.is_some());
    }
    let answers = hook::ballot_answers(&json::<polls::BallotRequest>("ballot.json")).unwrap();
    let specs = otklik_fuzzing::poll_specs();
    otklik_web::polls::check_answers(&specs[6], &answers).unwrap();
    let (_, bytes) = hook::photo_file(json("photo.json")).unwrap();
    otklik_domain::attachment::Attachment::parse_image("photo.png", bytes).unwrap();
    for name in [
        "social_answer.json",
        "social_split.json",
        "social_merge.json",
    ] {
        let request = json::<social::ActionRequest>(name);
        assert!(hook::social_command(&request).is_ok() || name == "social_split.json");
    }
    let request = json::<organisation::NewClientRequest>("client.json");
    otklik_web::orgadmin::check_client(&request.client_id, &request.name, &request.scopes).unwrap();
    let input = hook::integration_input(json("integration_push.json")).unwrap();
    otklik_web::orgadmin::integration_settings(&input, false, "k".repeat(32)).unwrap();
    assert!(hook::campaign(&json("campaign.json")).is_empty());
    hook::notification_template(&json("notification_template.json"), "registered").unwrap();
    hook::notification_template(&json("notification_template_loop.json"), "digest").unwrap();
    hook::subcategory_form(json::<console::SubcategoryRequest>("subcategory.json").form).unwrap();
    hook::policy(json("policy.json")).unwrap();
    hook::calendar_day(&json("calendar_day.json")).unwrap();
    let import = json::<console::CalendarImportRequest>("calendar_import_federal.json");
    assert_eq!(hook::calendar_import(true, &import.text).unwrap().len(), 22);
    let now = time::OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
    for name in ["document.json", "document_file.json"] {
        let errors = hook::new_document(json(name), now).unwrap();
        assert!(errors.is_empty(), "{name}: {errors:?}");
    }
}
