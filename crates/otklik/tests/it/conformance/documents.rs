//! The `Documents` trait on both backends: a route's moves are the domain's (sequential
//! order, parallel, a decline, the deadline), a refused move changes nothing, the frozen
//! bytes and the completed signatures are leaves of the transparency log, notifications
//! go to the signer whose turn it is (every official of an organisation signer), the
//! completed document is handed to its recipients, who then see it and nobody else does;
//! certificates and key uses; one signature per slot under concurrency.

use super::*;
use otklik_domain::document::{DocumentStatus, Party, RouteError, SignerState, SigningOrder};
use otklik_domain::notify::NotificationKind as Kind;

const BYTES: &[u8] = b"%PDF-1.4 a contract";

fn viewer(actor: Actor) -> DocumentViewer {
    DocumentViewer {
        user: actor.user,
        org: match actor.role {
            Role::Official(org) => Some(org),
            _ => None,
        },
    }
}

fn draft(
    w: &World,
    order: SigningOrder,
    signers: Vec<Party>,
    recipients: Vec<Party>,
) -> NewDocument {
    NewDocument {
        author: w.citizen.user,
        title: "Договор".to_owned(),
        file_name: "contract.pdf".to_owned(),
        mime: "application/pdf".to_owned(),
        content: BYTES.to_vec(),
        order,
        deadline_at: T0 + Duration::days(7),
        signers,
        recipients,
        submission: None,
    }
}

fn signature(slot: usize, sha256: &str) -> NewSignature {
    NewSignature {
        slot,
        method: SignatureMethod::Uploaded,
        signature: vec![0x30, 0x03, 0x02, 0x01, slot as u8],
        content_sha256: sha256.to_owned(),
        certificate_sha256: format!("{slot:064}"),
        subject: format!("CN=Signer {slot}"),
        algorithm: "ecdsa_p256".to_owned(),
    }
}

fn route_error(e: StoreError) -> String {
    match e {
        StoreError::Route(r) => r.code().to_owned(),
        other => other.code().to_owned(),
    }
}

async fn kinds(s: &dyn Store, user: UserId) -> Vec<Kind> {
    s.notifications(user, 100, 0)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|n| n.kind)
        .collect()
}

fn states(d: &DocumentDetail) -> Vec<SignerState> {
    d.signers.iter().map(|s| s.state).collect()
}

pub(super) async fn documents_sequential_route_completes_and_delivers(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let w = World::new(s).await;
    let log_before = s.log_info().await.unwrap().size;
    let id = s
        .create_document(
            &draft(
                &w,
                SigningOrder::Sequential,
                vec![Party::Person(w.citizen.user), Party::Organisation(w.org)],
                vec![Party::Person(w.other_citizen.user)],
            ),
            T0,
        )
        .await
        .unwrap();
    // A draft is its author's alone.
    assert_eq!(
        s.document(id, viewer(w.official)).await.unwrap_err().code(),
        "not_found"
    );
    let started = s.start_document(id, viewer(w.citizen), T0).await.unwrap();
    assert_eq!(started.status, DocumentStatus::Signing);
    assert_eq!(
        states(&started),
        [SignerState::Pending, SignerState::Waiting]
    );
    assert_eq!(started.log_index, Some(log_before));
    assert_eq!(s.log_info().await.unwrap().size, log_before + 1);
    assert_eq!(
        started.sha256,
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(BYTES))
    );
    // The first signer is asked; the organisation not yet.
    assert_eq!(kinds(s, w.citizen.user).await, [Kind::SigningRequest]);
    assert!(kinds(s, w.official.user).await.is_empty());
    // The organisation cannot sign before the person (and nothing changes).
    let early = s
        .sign_document(id, viewer(w.official), &signature(1, &started.sha256), T0)
        .await
        .unwrap_err();
    assert_eq!(route_error(early), "not_your_turn");
    // A signature checked against other bytes is refused.
    let wrong = s
        .sign_document(id, viewer(w.citizen), &signature(0, "00"), T0)
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), "content_mismatch");
    assert_eq!(
        states(&s.document(id, viewer(w.citizen)).await.unwrap()),
        [SignerState::Pending, SignerState::Waiting]
    );
    // Someone else cannot take the person's slot.
    let stolen = s
        .sign_document(id, viewer(w.official), &signature(0, &started.sha256), T0)
        .await
        .unwrap_err();
    assert_eq!(route_error(stolen), "not_your_turn");

    let after_first = s
        .sign_document(
            id,
            viewer(w.citizen),
            &signature(0, &started.sha256),
            T0 + Duration::hours(1),
        )
        .await
        .unwrap();
    assert_eq!(
        states(&after_first),
        [SignerState::Signed, SignerState::Pending]
    );
    assert_eq!(kinds(s, w.official.user).await, [Kind::SigningRequest]);
    // The recipient does not see it before it is complete.
    assert_eq!(
        s.document(id, viewer(w.other_citizen))
            .await
            .unwrap_err()
            .code(),
        "not_found"
    );
    let done = s
        .sign_document(
            id,
            viewer(w.official),
            &signature(1, &started.sha256),
            T0 + Duration::hours(2),
        )
        .await
        .unwrap();
    assert_eq!(done.status, DocumentStatus::Completed);
    assert_eq!(done.signers[1].acted_by.as_deref(), Some("Пётр Сидоров"));
    assert!(done.recipients[0].delivered_at.is_some());
    assert_eq!(s.log_info().await.unwrap().size, log_before + 2);
    let events: Vec<_> = done.events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        events,
        [
            "created",
            "started",
            "signed",
            "signed",
            "completed",
            "delivered"
        ]
    );
    // The recipient is told and sees it, with both signatures.
    assert_eq!(
        kinds(s, w.other_citizen.user).await,
        [Kind::DocumentReceived]
    );
    let content = s
        .document_content(id, viewer(w.other_citizen))
        .await
        .unwrap();
    assert_eq!(content.content, BYTES);
    assert_eq!(content.signatures.len(), 2);
    assert_eq!(
        s.documents(viewer(w.other_citizen), DocumentBox::Involved)
            .await
            .unwrap()
            .len(),
        1
    );
    // The author is told how it ended.
    assert!(kinds(s, w.citizen.user)
        .await
        .contains(&Kind::DocumentOutcome));
    // Strangers see nothing.
    assert_eq!(
        s.document(id, viewer(w.other_official))
            .await
            .unwrap_err()
            .code(),
        "not_found"
    );
    // A completed route takes no more moves.
    let late = s
        .sign_document(id, viewer(w.official), &signature(1, &started.sha256), T0)
        .await
        .unwrap_err();
    assert_eq!(route_error(late), "document_not_signing");
    // The log still audits clean with document leaves in it.
    let report = s.audit_log(AuditOptions::default()).await.unwrap();
    assert!(report.divergence.is_none(), "{report:?}");
}

pub(super) async fn documents_parallel_decline_and_expiry(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let w = World::new(s).await;
    let parallel = draft(
        &w,
        SigningOrder::Parallel,
        vec![
            Party::Person(w.citizen.user),
            Party::Person(w.other_citizen.user),
        ],
        vec![],
    );
    let id = s.create_document(&parallel, T0).await.unwrap();
    let started = s.start_document(id, viewer(w.citizen), T0).await.unwrap();
    assert_eq!(
        states(&started),
        [SignerState::Pending, SignerState::Pending]
    );
    assert_eq!(kinds(s, w.other_citizen.user).await, [Kind::SigningRequest]);
    let declined = s
        .decline_document(
            id,
            viewer(w.other_citizen),
            1,
            "Не согласна с пунктом 3",
            T0,
        )
        .await
        .unwrap();
    assert_eq!(declined.status, DocumentStatus::Declined);
    assert_eq!(
        declined.signers[1].decline_reason.as_deref(),
        Some("Не согласна с пунктом 3")
    );
    let after = s
        .sign_document(id, viewer(w.citizen), &signature(0, &started.sha256), T0)
        .await
        .unwrap_err();
    assert_eq!(route_error(after), "document_not_signing");

    // The deadline: nothing expires early; after it, signing is refused and the sweep
    // ends the route once.
    let id = s.create_document(&parallel, T0).await.unwrap();
    let started = s.start_document(id, viewer(w.citizen), T0).await.unwrap();
    assert_eq!(s.expire_documents(T0 + Duration::days(6)).await.unwrap(), 0);
    let deadline = T0 + Duration::days(7);
    let late = s
        .sign_document(
            id,
            viewer(w.citizen),
            &signature(0, &started.sha256),
            deadline,
        )
        .await
        .unwrap_err();
    assert_eq!(route_error(late), RouteError::DeadlinePassed.code());
    assert_eq!(s.expire_documents(deadline).await.unwrap(), 1);
    assert_eq!(s.expire_documents(deadline).await.unwrap(), 0);
    let expired = s.document(id, viewer(w.citizen)).await.unwrap();
    assert_eq!(expired.status, DocumentStatus::Expired);
    assert_eq!(
        expired.events.last().map(|e| e.kind.as_str()),
        Some("expired")
    );
}

pub(super) async fn documents_only_the_author_moves_a_draft(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let w = World::new(s).await;
    let id = s
        .create_document(
            &draft(
                &w,
                SigningOrder::Sequential,
                vec![Party::Person(w.other_citizen.user)],
                vec![],
            ),
            T0,
        )
        .await
        .unwrap();
    // A stranger does not learn the draft exists.
    let stranger = s
        .start_document(id, viewer(w.other_citizen), T0)
        .await
        .unwrap_err();
    assert_eq!(stranger.code(), "not_found");
    let cancelled = s.cancel_document(id, viewer(w.citizen), T0).await.unwrap();
    assert_eq!(cancelled.status, DocumentStatus::Cancelled);
    let again = s
        .start_document(id, viewer(w.citizen), T0)
        .await
        .unwrap_err();
    assert_eq!(route_error(again), "document_not_draft");
    // Once out, a signer may look but not start or cancel.
    let id = s
        .create_document(
            &draft(
                &w,
                SigningOrder::Sequential,
                vec![Party::Person(w.other_citizen.user)],
                vec![],
            ),
            T0,
        )
        .await
        .unwrap();
    s.start_document(id, viewer(w.citizen), T0).await.unwrap();
    let signer_cancels = s
        .cancel_document(id, viewer(w.other_citizen), T0)
        .await
        .unwrap_err();
    assert_eq!(signer_cancels.code(), "not_the_author");
    // A party that does not exist is refused and nothing is stored.
    let before = s
        .documents(viewer(w.citizen), DocumentBox::Authored)
        .await
        .unwrap()
        .len();
    let ghost = s
        .create_document(
            &draft(
                &w,
                SigningOrder::Sequential,
                vec![Party::Person(UserId(999_999))],
                vec![],
            ),
            T0,
        )
        .await
        .unwrap_err();
    assert_eq!(ghost.code(), "unknown_party");
    assert_eq!(
        s.documents(viewer(w.citizen), DocumentBox::Authored)
            .await
            .unwrap()
            .len(),
        before
    );
}

pub(super) async fn documents_certificates_and_key_uses(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let w = World::new(s).await;
    let authority = AuthorityRecord {
        algorithm: "ecdsa_p256".to_owned(),
        certificate_der: vec![1, 2, 3],
        sealed_key: vec![4, 5, 6],
    };
    let first = s.put_signing_authority(&authority, T0).await.unwrap();
    let second = s
        .put_signing_authority(
            &AuthorityRecord {
                certificate_der: vec![9],
                ..authority.clone()
            },
            T0,
        )
        .await
        .unwrap();
    assert_eq!(first, authority);
    assert_eq!(second, authority, "every node keeps the first authority");
    let certificate = NewCertificate {
        user: w.citizen.user,
        algorithm: "ecdsa_p256".to_owned(),
        certificate_der: vec![7, 7, 7],
        sha256: "ab".repeat(32),
        subject: "CN=Иван Петров".to_owned(),
        serial: "01".to_owned(),
        not_before: T0.unix_timestamp(),
        not_after: (T0 + Duration::days(365)).unix_timestamp(),
        sealed_key: Some(vec![42; 64]),
    };
    let id = s.add_certificate(&certificate, T0).await.unwrap();
    assert_eq!(
        s.add_certificate(&certificate, T0)
            .await
            .unwrap_err()
            .code(),
        "certificate_registered"
    );
    let key = s.platform_key(w.citizen.user, id).await.unwrap();
    assert_eq!(key.sealed_key, vec![42; 64]);
    assert_eq!(
        s.platform_key(w.other_citizen.user, id)
            .await
            .unwrap_err()
            .code(),
        "not_found"
    );
    for minute in 0..3 {
        s.record_key_use(
            id,
            w.citizen.user,
            None,
            KeyUse::WrongPassword,
            T0 + Duration::minutes(minute),
        )
        .await
        .unwrap();
    }
    assert_eq!(s.wrong_passwords_since(id, T0).await.unwrap(), 3);
    let uses: Vec<_> = s
        .key_uses(w.citizen.user, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.outcome)
        .collect();
    assert_eq!(
        uses,
        [
            "wrong_password",
            "wrong_password",
            "wrong_password",
            "issued"
        ]
    );
    assert!(s
        .key_uses(w.other_citizen.user, 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        s.wrong_passwords_since(id, T0 + Duration::minutes(2))
            .await
            .unwrap(),
        1
    );
    let listed = s.certificates(w.citizen.user).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].platform_held);
    assert_eq!(
        s.revoke_certificate(w.other_citizen.user, id, T0)
            .await
            .unwrap_err()
            .code(),
        "not_found"
    );
    s.revoke_certificate(w.citizen.user, id, T0).await.unwrap();
    assert_eq!(
        s.platform_key(w.citizen.user, id).await.unwrap_err().code(),
        "not_found"
    );
    assert!(s.certificates(w.citizen.user).await.unwrap()[0]
        .revoked_at
        .is_some());
}

pub(super) async fn documents_one_signature_per_slot_under_concurrency(store: Arc<dyn Store>) {
    let w = World::new(store.as_ref()).await;
    let id = store
        .create_document(
            &draft(
                &w,
                SigningOrder::Sequential,
                vec![Party::Organisation(w.org)],
                vec![],
            ),
            T0,
        )
        .await
        .unwrap();
    let started = store
        .start_document(id, viewer(w.citizen), T0)
        .await
        .unwrap();
    let attempts: Vec<_> = (0..10)
        .map(|_| {
            let store = store.clone();
            let sha = started.sha256.clone();
            let official = viewer(w.official);
            tokio::spawn(async move {
                store
                    .sign_document(id, official, &signature(0, &sha), T0)
                    .await
                    .is_ok()
            })
        })
        .collect();
    let mut accepted = 0;
    for attempt in attempts {
        accepted += usize::from(attempt.await.unwrap());
    }
    assert_eq!(accepted, 1);
    let done = store.document(id, viewer(w.citizen)).await.unwrap();
    assert_eq!(done.status, DocumentStatus::Completed);
    let signed = done.events.iter().filter(|e| e.kind == "signed").count();
    assert_eq!(signed, 1);
}

pub(super) async fn documents_log_audit_detects_edited_documents(store: Arc<dyn Store>, url: &str) {
    let s = store.as_ref();
    let w = World::new(s).await;
    let id = s
        .create_document(
            &draft(
                &w,
                SigningOrder::Sequential,
                vec![Party::Person(w.citizen.user)],
                vec![],
            ),
            T0,
        )
        .await
        .unwrap();
    let started = s.start_document(id, viewer(w.citizen), T0).await.unwrap();
    s.sign_document(id, viewer(w.citizen), &signature(0, &started.sha256), T0)
        .await
        .unwrap();
    let clean = s.audit_log(AuditOptions::default()).await.unwrap();
    assert!(clean.divergence.is_none(), "{clean:?}");
    assert_eq!(clean.leaves_checked, 2);

    let bytes = |hex: &str| {
        if url.starts_with("postgres") {
            format!("'\\x{hex}'::bytea")
        } else {
            format!("X'{hex}'")
        }
    };
    // A signature swapped behind the platform's back.
    super::ledger::tamper(
        url,
        &format!(
            "UPDATE document_signers SET signature = {} WHERE document_id = {}",
            bytes("300302012a"),
            id.0
        ),
    )
    .await;
    let report = s.audit_log(AuditOptions::default()).await.unwrap();
    let divergence = report.divergence.expect("the swap is found");
    assert_eq!(
        (divergence.code, divergence.index),
        ("document_mismatch", Some(1))
    );

    // The frozen bytes rewritten (the hash column left as it was).
    super::ledger::tamper(
        url,
        &format!(
            "UPDATE documents SET content = {} WHERE id = {}",
            bytes("00"),
            id.0
        ),
    )
    .await;
    let report = s.audit_log(AuditOptions::default()).await.unwrap();
    let divergence = report.divergence.expect("the rewrite is found");
    assert_eq!(
        (divergence.code, divergence.index),
        ("document_mismatch", Some(0))
    );
}
