//! The transparency log through the `Ledger` trait, on both backends: every event is a
//! leaf, proofs and receipts verify, refusals append nothing, and the audit finds any edit
//! made behind the platform's back.

use super::*;
use otklik_log::{HashAlg, Signer};
use otklik_store::ledger::{verify_citizen_receipt, LeafV1, ReceiptError};

fn signer() -> Signer {
    Signer::from_secret_bytes(&[7u8; 32])
}

/// Registration with a photo, take into work, an answer with a PDF, a rating.
async fn life(store: &dyn Store, w: &World) -> SubmissionId {
    let id = w.register_pothole_with_photo(store).await;
    act(
        store,
        id,
        w.official,
        Action::TakeIntoWork,
        T0 + Duration::hours(1),
    )
    .await;
    store
        .apply(
            id,
            w.official,
            Action::Answer {
                text: answer("Яму заделали 5 декабря."),
            },
            vec![pdf("answer.pdf")],
            T0 + Duration::hours(2),
        )
        .await
        .unwrap();
    act(
        store,
        id,
        w.citizen,
        Action::Rate {
            score: score(5),
            comment: None,
        },
        T0 + Duration::hours(3),
    )
    .await;
    id
}

fn leaf_of(data: &[u8]) -> LeafV1 {
    LeafV1::decode(data).unwrap()
}

pub(super) async fn log_records_every_event(store: Arc<dyn Store>) {
    let info = store.log_info().await.unwrap();
    assert_eq!((info.alg, info.size), (HashAlg::Sha256, 0));
    assert_eq!(info.root, otklik_log::empty_root(HashAlg::Sha256));
    let w = World::new(store.as_ref()).await;
    let id = life(store.as_ref(), &w).await;
    let info = store.log_info().await.unwrap();
    assert_eq!(info.size, 4);
    let leaves = store.leaves(0, 100).await.unwrap();
    assert_eq!(leaves.len(), 4);
    let decoded: Vec<LeafV1> = leaves.iter().map(|l| leaf_of(&l.data)).collect();
    let events: Vec<&str> = decoded.iter().map(|l| l.event.as_str()).collect();
    assert_eq!(
        events,
        ["registered", "taken_into_work", "answered", "rated"]
    );
    assert!(decoded.iter().all(|l| l.submission == id.0));
    assert_eq!(decoded[0].files, [PNG_SHA256]);
    assert_eq!(decoded[2].files, [PDF_SHA256]);
    assert_eq!(decoded[3].score, Some(5));
    assert_eq!(decoded[0].actor.as_deref(), Some("citizen"));
    assert_eq!(decoded[1].actor.as_deref(), Some("official"));
    assert_eq!(decoded[3].to_status, "rated");
    // The leaves say nothing a citizen wrote, nor who they are.
    for leaf in &leaves {
        let text = String::from_utf8(leaf.data.clone()).unwrap();
        assert!(
            !text.contains("Яма") && !text.contains("заделали"),
            "{text}"
        );
        assert!(!text.contains("citizen@"), "{text}");
        assert_eq!(
            leaf.leaf_hash,
            otklik_log::leaf_hash(HashAlg::Sha256, &leaf.data)
        );
    }
    // The root is the RFC 9162 root of exactly these leaves.
    let mut tree = otklik_log::MemoryTree::new(HashAlg::Sha256);
    for leaf in &leaves {
        tree.push(&leaf.data).unwrap();
    }
    assert_eq!(tree.root().unwrap(), info.root);
    assert_eq!(store.leaves(2, 1).await.unwrap()[0].index, 2);
    assert!(store.leaves(4, 10).await.unwrap().is_empty());
}

pub(super) async fn log_proofs_and_receipts(store: Arc<dyn Store>) {
    let w = World::new(store.as_ref()).await;
    assert!(store.latest_tree_head().await.unwrap().is_none());
    let signer = signer();
    assert!(
        store.sign_tree_head(&signer, T0).await.unwrap().is_none(),
        "empty log"
    );
    let first = w.register_pothole_with_photo(store.as_ref()).await;
    // Not signed yet: no receipt.
    assert_eq!(
        outcome(store.receipt(first, 0, w.citizen).await),
        "conflict:receipt_pending"
    );
    let head1 = store.sign_tree_head(&signer, T0).await.unwrap().unwrap();
    assert_eq!(head1.head.size, 1);
    assert!(
        store.sign_tree_head(&signer, T0).await.unwrap().is_none(),
        "no growth"
    );
    let id = life(store.as_ref(), &w).await;
    let head2 = store.sign_tree_head(&signer, T0).await.unwrap().unwrap();
    assert_eq!(head2.head.size, 5);
    head2.verify(Some(&signer.public_key_bytes())).unwrap();
    assert_eq!(store.latest_tree_head().await.unwrap().unwrap(), head2);
    assert_eq!(store.tree_head(1).await.unwrap(), head1);
    assert_eq!(outcome(store.tree_head(3).await), "not_found");

    // Inclusion of every leaf in every size that holds it.
    let leaves = store.leaves(0, 100).await.unwrap();
    for size in 1..=5u64 {
        let root = if size == 5 {
            head2.head.root
        } else {
            prefix_root(&leaves, size)
        };
        for index in 0..size {
            let proof = store.inclusion_proof(index, size).await.unwrap();
            otklik_log::verify_inclusion(
                HashAlg::Sha256,
                &proof.leaf_hash,
                index,
                size,
                &proof.proof,
                &root,
            )
            .unwrap_or_else(|e| panic!("leaf {index} in {size}: {e}"));
        }
    }
    // Consistency between the two signed heads.
    let proof = store.consistency_proof(1, 5).await.unwrap();
    otklik_log::verify_consistency(
        HashAlg::Sha256,
        1,
        5,
        &proof,
        &head1.head.root,
        &head2.head.root,
    )
    .unwrap();
    for (first, second) in [(0, 5), (3, 2), (1, 6)] {
        assert_eq!(
            outcome(store.consistency_proof(first, second).await),
            "invalid:size_out_of_range"
        );
    }
    for (index, size) in [(0, 0), (5, 5), (0, 6)] {
        assert_eq!(
            outcome(store.inclusion_proof(index, size).await),
            "invalid:index_out_of_range"
        );
    }

    // Receipts: the author's open the commitment; staff's do not; strangers get nothing.
    let entries = store.receipts(id, w.citizen).await.unwrap();
    assert_eq!(
        entries.iter().map(|e| e.index).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    assert!(entries.iter().all(|e| e.signed));
    assert_eq!(entries[0].kind, "registered");
    for entry in &entries {
        let receipt = store.receipt(id, entry.index, w.citizen).await.unwrap();
        assert!(receipt.disclosure.is_some());
        verify_citizen_receipt(&receipt, &head2, Some(&signer.public_key_bytes())).unwrap();
        // A round trip through the file format keeps it valid.
        let json = serde_json::to_string(&receipt).unwrap();
        let parsed: CitizenReceipt = serde_json::from_str(&json).unwrap();
        verify_citizen_receipt(&parsed, &head2, None).unwrap();
    }
    let registration = store.receipt(id, 1, w.citizen).await.unwrap();
    let content = &registration.disclosure.as_ref().unwrap().content;
    assert_eq!(
        content.text.as_deref(),
        Some("Яма на дороге у дома 5 по улице Ленина")
    );
    let staff = store.receipt(id, 3, w.official).await.unwrap();
    assert!(staff.disclosure.is_none());
    verify_citizen_receipt(&staff, &head2, None).unwrap();
    assert_eq!(
        outcome(store.receipt(id, 1, w.other_citizen).await),
        "not_found"
    );
    assert_eq!(
        outcome(store.receipts(id, w.other_official).await),
        "not_found"
    );
    // A leaf of another submission is not this one's receipt.
    assert_eq!(outcome(store.receipt(id, 0, w.citizen).await), "not_found");
    // An older head is not the one the receipt was proved against.
    assert!(matches!(
        verify_citizen_receipt(&registration, &head1, None),
        Err(ReceiptError::Log(_))
    ));
    // Edited words no longer open the commitment.
    let mut forged = registration.clone();
    forged.disclosure.as_mut().unwrap().content.text = Some("Всё хорошо".into());
    assert!(matches!(
        verify_citizen_receipt(&forged, &head2, None),
        Err(ReceiptError::DisclosureMismatch)
    ));
}

/// The RFC 9162 root of the first `size` leaves.
fn prefix_root(leaves: &[LogLeaf], size: u64) -> otklik_log::Hash {
    let mut tree = otklik_log::MemoryTree::new(HashAlg::Sha256);
    for leaf in &leaves[..size as usize] {
        tree.push(&leaf.data).unwrap();
    }
    tree.root().unwrap()
}

pub(super) async fn log_refusals_append_nothing(store: Arc<dyn Store>) {
    let w = World::new(store.as_ref()).await;
    let id = w.register_pothole_with_photo(store.as_ref()).await;
    let before = store.log_info().await.unwrap();
    let refusals = [
        store
            .apply(id, w.citizen, Action::TakeIntoWork, Vec::new(), T0)
            .await
            .map(|_| ()),
        store
            .apply(
                id,
                w.official,
                Action::Answer {
                    text: answer("Ответ без взятия в работу"),
                },
                Vec::new(),
                T0,
            )
            .await
            .map(|_| ()),
        store
            .apply(id, w.other_official, Action::TakeIntoWork, Vec::new(), T0)
            .await
            .map(|_| ()),
        store
            .apply(
                id,
                w.official,
                Action::Redirect {
                    to: OrgId(999_999),
                    reason: reason("Не наша компетенция"),
                },
                Vec::new(),
                T0,
            )
            .await
            .map(|_| ()),
    ];
    assert!(refusals.iter().all(Result::is_err));
    assert_eq!(store.log_info().await.unwrap(), before);
    assert_eq!(store.leaves(0, 100).await.unwrap().len(), 1);
}

pub(super) async fn log_hash_is_fixed_at_the_first_leaf(store: Arc<dyn Store>) {
    // An empty log takes the installation's choice …
    assert_eq!(store.init_log(HashAlg::Streebog256).await.unwrap(), 0);
    let w = World::new(store.as_ref()).await;
    w.register_pothole_with_photo(store.as_ref()).await;
    let info = store.log_info().await.unwrap();
    assert_eq!(info.alg, HashAlg::Streebog256);
    let leaf = &store.leaves(0, 1).await.unwrap()[0];
    assert_eq!(
        info.root,
        otklik_log::leaf_hash(HashAlg::Streebog256, &leaf.data)
    );
    let head = store.sign_tree_head(&signer(), T0).await.unwrap().unwrap();
    assert_eq!(head.head.alg, HashAlg::Streebog256);
    // … and keeps it: a log with leaves cannot change its hash.
    assert_eq!(
        outcome(store.init_log(HashAlg::Sha256).await),
        "conflict:log_hash_mismatch"
    );
    assert_eq!(store.init_log(HashAlg::Streebog256).await.unwrap(), 0);
    let report = store.audit_log(AuditOptions::default()).await.unwrap();
    assert_eq!(report.divergence, None, "{report:?}");
}

pub(super) async fn log_concurrent_appends(store: Arc<dyn Store>) {
    let w = Arc::new(World::new(store.as_ref()).await);
    let tasks: Vec<_> = (0..24)
        .map(|i| {
            let store = Arc::clone(&store);
            let w = Arc::clone(&w);
            tokio::spawn(async move {
                let id = w
                    .submit(store.as_ref(), w.citizen, T0 + Duration::seconds(i))
                    .await;
                store
                    .apply(id, w.official, Action::TakeIntoWork, Vec::new(), T0)
                    .await
                    .unwrap();
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(store.log_info().await.unwrap().size, 48);
    store.sign_tree_head(&signer(), T0).await.unwrap();
    let report = store.audit_log(AuditOptions::default()).await.unwrap();
    assert_eq!(report.divergence, None, "{report:?}");
    assert_eq!(
        (
            report.leaves_checked,
            report.events_checked,
            report.submissions_checked,
            report.heads_checked
        ),
        (48, 48, 24, 1)
    );
}

/// Runs SQL on the database behind the store, as someone with database access would.
pub(super) async fn tamper(url: &str, sql: &str) {
    if url.starts_with("sqlite://") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        sqlx::query(sql).execute(&pool).await.unwrap();
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query(sql).execute(&pool).await.unwrap();
        pool.close().await;
    }
}

async fn audit(store: &dyn Store) -> AuditReport {
    store.audit_log(AuditOptions::default()).await.unwrap()
}

fn code(report: &AuditReport) -> &'static str {
    report.divergence.as_ref().map_or("valid", |d| d.code)
}

pub(super) async fn log_audit_detects_edits(store: Arc<dyn Store>, url: &str) {
    let w = World::new(store.as_ref()).await;
    let id = life(store.as_ref(), &w).await;
    let signer = signer();
    let head = store.sign_tree_head(&signer, T0).await.unwrap().unwrap();
    let clean = audit(store.as_ref()).await;
    assert_eq!(code(&clean), "valid", "{clean:?}");
    assert_eq!(
        (
            clean.leaves_checked,
            clean.heads_checked,
            clean.events_checked,
            clean.submissions_checked
        ),
        (4, 1, 4, 1)
    );
    let answer_receipt = store.receipt(id, 2, w.citizen).await.unwrap();
    verify_citizen_receipt(&answer_receipt, &head, None).unwrap();

    // 1. The answer's words are rewritten in the events table.
    tamper(
        url,
        "UPDATE events SET body = 'Ответ был другим' WHERE kind = 'answered'",
    )
    .await;
    let report = audit(store.as_ref()).await;
    assert_eq!(code(&report), "event_mismatch", "{report:?}");
    assert_eq!(report.divergence.as_ref().unwrap().index, Some(2));
    assert_eq!(report.divergence.as_ref().unwrap().submission, Some(id.0));
    // The citizen's receipt, fetched now, shows words the log did not record.
    let receipt = store.receipt(id, 2, w.citizen).await.unwrap();
    assert!(matches!(
        verify_citizen_receipt(&receipt, &head, None),
        Err(ReceiptError::DisclosureMismatch)
    ));
    tamper(
        url,
        "UPDATE events SET body = 'Яму заделали 5 декабря.' WHERE kind = 'answered'",
    )
    .await;
    assert_eq!(code(&audit(store.as_ref()).await), "valid");

    // 2. The submission's status is changed without an event.
    tamper(url, "UPDATE submissions SET status = 'in_progress'").await;
    assert_eq!(code(&audit(store.as_ref()).await), "state_mismatch");
    tamper(url, "UPDATE submissions SET status = 'rated'").await;
    assert_eq!(code(&audit(store.as_ref()).await), "valid");

    // 3. A leaf is rewritten in the log itself (its event rewritten to match).
    let original = store.leaves(3, 1).await.unwrap().remove(0).data;
    let mut forged = leaf_of(&original);
    forged.score = Some(1);
    let forged = String::from_utf8(forged.encode()).unwrap();
    let original = String::from_utf8(original).unwrap();
    tamper(
        url,
        &format!(
            "UPDATE log_leaves SET data = {} WHERE idx = 3",
            blob(url, &forged)
        ),
    )
    .await;
    tamper(url, "UPDATE events SET score = 1 WHERE kind = 'rated'").await;
    tamper(url, "UPDATE submissions SET rating = 1").await;
    let report = audit(store.as_ref()).await;
    assert_eq!(code(&report), "node_mismatch", "{report:?}");
    assert_eq!(report.divergence.as_ref().unwrap().index, Some(3));
    let receipt = store.receipt(id, 3, w.citizen).await.unwrap();
    assert!(matches!(
        verify_citizen_receipt(&receipt, &head, None),
        Err(ReceiptError::Log(_))
    ));
    tamper(
        url,
        &format!(
            "UPDATE log_leaves SET data = {} WHERE idx = 3",
            blob(url, &original)
        ),
    )
    .await;
    tamper(url, "UPDATE events SET score = 5 WHERE kind = 'rated'").await;
    tamper(url, "UPDATE submissions SET rating = 5").await;
    assert_eq!(code(&audit(store.as_ref()).await), "valid");

    // 4. A signed tree head is replaced.
    tamper(
        url,
        "UPDATE log_tree_heads SET timestamp_ms = timestamp_ms + 1",
    )
    .await;
    assert_eq!(code(&audit(store.as_ref()).await), "tree_head_signature");
    tamper(
        url,
        "UPDATE log_tree_heads SET timestamp_ms = timestamp_ms - 1",
    )
    .await;

    // 5. An event is deleted with its leaf (the log's frontier no longer matches).
    tamper(url, "DELETE FROM log_leaves WHERE idx = 3").await;
    let report = audit(store.as_ref()).await;
    assert_ne!(code(&report), "valid", "{report:?}");

    // --from-size needs a signed head of that size.
    let report = store
        .audit_log(AuditOptions {
            from_size: 2,
            public_keys: Vec::new(),
        })
        .await
        .unwrap();
    assert_eq!(code(&report), "no_tree_head_at_size");
}

/// A text as a BLOB literal of the backend.
fn blob(url: &str, text: &str) -> String {
    let hex = hex_of(text.as_bytes());
    if url.starts_with("sqlite://") {
        format!("X'{hex}'")
    } else {
        format!("'\\x{hex}'::bytea")
    }
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Many registrations at once (the group writer commits them together): each valid one
/// is registered whole, with its event, files, notifications and log leaf, and each
/// invalid one is refused with its own reason without touching the others.
pub(super) async fn registrations_at_once_commit_together_and_refuse_alone(store: Arc<dyn Store>) {
    let w = Arc::new(World::new(store.as_ref()).await);
    let tasks: Vec<_> = (0..160)
        .map(|i| {
            let store = Arc::clone(&store);
            let w = Arc::clone(&w);
            tokio::spawn(async move {
                let mut new =
                    w.submission(w.citizen, w.pothole, &format!("Яма номер {i} у дома 5"));
                match i % 10 {
                    3 => new.region = RegionId(9_999),
                    5 => new.org = OrgId(9_999),
                    7 => new.author = UserId(999_999),
                    _ if i % 4 == 0 => new.attachments = vec![png(&format!("яма-{i}.png"))],
                    _ => {}
                }
                (
                    i,
                    store
                        .register_submission(new, T0 + Duration::milliseconds(i))
                        .await,
                )
            })
        })
        .collect();
    let mut registered = Vec::new();
    for task in tasks {
        let (i, result) = task.await.unwrap();
        let expected = match i % 10 {
            3 => "invalid:unknown_region",
            5 => "invalid:unknown_organisation",
            7 => "invalid:unknown_user",
            _ => "ok",
        };
        match result {
            Ok(r) => {
                assert_eq!(expected, "ok", "registration {i}");
                assert_eq!(
                    (r.org, r.number),
                    (w.org, RegistrationNumber::new(r.id, T0))
                );
                registered.push((i, r.id));
            }
            Err(e) => assert_eq!(outcome::<()>(Err(e)), expected, "registration {i}"),
        }
    }
    assert_eq!(registered.len(), 112);
    let ids: std::collections::BTreeSet<_> = registered.iter().map(|(_, id)| *id).collect();
    assert_eq!(
        ids.len(),
        registered.len(),
        "every registration has its own id"
    );
    for (i, id) in &registered {
        let detail = store.submission(*id, w.citizen).await.unwrap();
        assert_eq!(detail.text, format!("Яма номер {i} у дома 5"));
        assert_eq!(detail.events.len(), 1);
        assert_eq!(detail.events[0].kind, EventKind::Registered);
        assert_eq!(
            detail.attachments.len(),
            usize::from(i % 4 == 0),
            "files of {i}"
        );
    }
    // The author and the organisation's official are told of each one, once.
    for actor in [w.citizen, w.official] {
        let page = store.notifications(actor.user, 1, 0).await.unwrap();
        assert_eq!(page.total, 112);
    }
    assert_eq!(store.log_info().await.unwrap().size, 112);
    let report = store.audit_log(AuditOptions::default()).await.unwrap();
    assert_eq!(report.divergence, None, "{report:?}");
    assert_eq!(
        (
            report.leaves_checked,
            report.events_checked,
            report.submissions_checked
        ),
        (112, 112, 112)
    );
}
