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
