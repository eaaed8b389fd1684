//! Signed tree heads and receipts: round trips, wire form, tampering.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use otklik_log::{
    inclusion_proof, key_id, verify_receipt, HashAlg, MemoryTree, Receipt, SignedTreeHead, Signer,
    TreeHead,
};
use rand::rngs::StdRng;
use rand::SeedableRng;

fn signer(seed: u64) -> Signer {
    Signer::generate(&mut StdRng::seed_from_u64(seed))
}

fn tree(alg: HashAlg, n: u64) -> MemoryTree {
    let mut t = MemoryTree::new(alg);
    for i in 0..n {
        t.push(event(i).as_slice()).unwrap();
    }
    t
}

fn event(i: u64) -> Vec<u8> {
    format!("{{\"event\":{i}}}").into_bytes()
}

fn head_of(t: &MemoryTree, timestamp_ms: u64) -> TreeHead {
    TreeHead {
        size: t.size(),
        root: t.root().unwrap(),
        timestamp_ms,
        alg: t.alg(),
    }
}

#[test]
fn sign_verify_round_trip() {
    let s = signer(1);
    let t = tree(HashAlg::Sha256, 10);
    let sth = s.sign(&head_of(&t, 1_700_000_000_000));
    assert_eq!(sth.key_id, s.key_id());
    assert_eq!(sth.key_id, key_id(&s.public_key_bytes()));
    assert_eq!(sth.key_id.len(), 16);
    assert_eq!(sth.public_key, s.public_key_bytes());
    Signer::verify(&sth, &s.public_key_bytes()).unwrap();
    sth.verify(None).unwrap();

    // The secret round-trips and signs identically (Ed25519 is deterministic).
    let again = Signer::from_secret_bytes(&s.to_secret_bytes());
    assert_eq!(again.public_key_bytes(), s.public_key_bytes());
    assert_eq!(again.sign(&sth.head), sth);
}

#[test]
fn tampered_heads_are_rejected() {
    let s = signer(2);
    let t = tree(HashAlg::Streebog256, 5);
    let sth = s.sign(&head_of(&t, 42));
    let pk = s.public_key_bytes();
    let code = |x: &SignedTreeHead| Signer::verify(x, &pk).unwrap_err().code();

    let mut x = sth.clone();
    x.head.size += 1;
    assert_eq!(code(&x), "bad_signature");
    let mut x = sth.clone();
    x.head.root[31] ^= 1;
    assert_eq!(code(&x), "bad_signature");
    let mut x = sth.clone();
    x.head.timestamp_ms -= 1;
    assert_eq!(code(&x), "bad_signature");
    let mut x = sth.clone();
    x.head.alg = HashAlg::Sha256;
    assert_eq!(code(&x), "bad_signature");
    let mut x = sth.clone();
    x.signature[0] ^= 0x80;
    assert_eq!(code(&x), "bad_signature");
    let mut x = sth.clone();
    x.key_id = "0000000000000000".into();
    assert_eq!(code(&x), "key_id_mismatch");

    // Another key: rejected against the trusted key even though self-consistent.
    let other = signer(3);
    let forged = other.sign(&sth.head);
    forged.verify(None).unwrap();
    assert_eq!(code(&forged), "key_mismatch");
    // An embedded key swapped in without re-signing.
    let mut x = sth.clone();
    x.public_key = other.public_key_bytes();
    x.key_id = other.key_id();
    assert_eq!(x.verify(None).unwrap_err().code(), "bad_signature");
    assert_eq!(
        Signer::verify(&sth, &pk[..31]).unwrap_err().code(),
        "invalid_public_key"
    );
}

#[test]
fn json_wire_form() {
    let s = signer(4);
    let t = tree(HashAlg::Sha256, 3);
    let sth = s.sign(&head_of(&t, 1_234));
    let json = sth.to_json();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["version"], 1);
    assert_eq!(v["alg"], "sha256");
    assert_eq!(v["size"], 3);
    assert_eq!(v["timestamp_ms"], 1_234);
    assert_eq!(v["key_id"], s.key_id().as_str());
    assert_eq!(
        v["root"].as_str().unwrap(),
        otklik_log::encode_hash(&t.root().unwrap())
    );
    assert_eq!(v["signature"].as_str().unwrap().len(), 88);
    assert_eq!(v["public_key"].as_str().unwrap().len(), 44);
    assert_eq!(v.as_object().unwrap().len(), 8);
    let back = SignedTreeHead::from_json(&json).unwrap();
    assert_eq!(back, sth);
    back.verify(Some(&s.public_key_bytes())).unwrap();

    let mut bad = v.clone();
    bad["version"] = 2.into();
    assert!(SignedTreeHead::from_json(&bad.to_string()).is_err());
    let mut bad = v.clone();
    bad["alg"] = "md5".into();
    assert!(SignedTreeHead::from_json(&bad.to_string()).is_err());
    let mut bad = v.clone();
    bad["root"] = "AAAA".into();
    let err = SignedTreeHead::from_json(&bad.to_string()).unwrap_err();
    assert!(err.to_string().contains("root"), "{err}");
}

struct Fixture {
    signer: Signer,
    tree: MemoryTree,
    receipt: Receipt,
    trusted: SignedTreeHead,
}

fn fixture(alg: HashAlg) -> Fixture {
    let signer = signer(5);
    let tree = tree(alg, 11);
    let index = 6;
    let head = signer.sign(&head_of(&tree, 1_000));
    let receipt = Receipt {
        alg,
        leaf_index: index,
        leaf_data: event(index),
        tree_head: head,
        inclusion_proof: inclusion_proof(alg, index, tree.size(), &tree).unwrap(),
    };
    // The auditor's copy of the same tree, signed later.
    let trusted = signer.sign(&head_of(&tree, 5_000));
    Fixture {
        signer,
        tree,
        receipt,
        trusted,
    }
}

#[test]
fn receipt_verifies_and_round_trips() {
    for alg in [HashAlg::Sha256, HashAlg::Streebog256] {
        let f = fixture(alg);
        let pk = f.signer.public_key_bytes();
        verify_receipt(&f.receipt, &f.trusted, Some(&pk)).unwrap();
        verify_receipt(&f.receipt, &f.trusted, None).unwrap();
        let json = f.receipt.to_json();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["version"], 1);
        assert_eq!(v["alg"], alg.as_str());
        assert_eq!(v["leaf_index"], 6);
        assert_eq!(
            otklik_log::decode_b64(v["leaf_data"].as_str().unwrap()).unwrap(),
            event(6)
        );
        assert_eq!(v["tree_head"]["size"], 11);
        assert_eq!(
            v["inclusion_proof"].as_array().unwrap().len(),
            f.receipt.inclusion_proof.len()
        );
        let back = Receipt::from_json(&json).unwrap();
        assert_eq!(back, f.receipt);
        verify_receipt(&back, &f.trusted, Some(&pk)).unwrap();
    }
}

#[test]
fn tampered_receipts_are_rejected() {
    let f = fixture(HashAlg::Sha256);
    let pk = f.signer.public_key_bytes();
    let code = |r: &Receipt, trusted: &SignedTreeHead, key: Option<&[u8]>| {
        verify_receipt(r, trusted, key).unwrap_err().code()
    };

    let mut r = f.receipt.clone();
    r.leaf_data.push(b' ');
    assert_eq!(code(&r, &f.trusted, Some(&pk)), "root_mismatch");
    let mut r = f.receipt.clone();
    r.leaf_data = event(5);
    assert_eq!(code(&r, &f.trusted, Some(&pk)), "root_mismatch");
    let mut r = f.receipt.clone();
    r.leaf_index = 5;
    assert_eq!(code(&r, &f.trusted, Some(&pk)), "root_mismatch");
    let mut r = f.receipt.clone();
    r.inclusion_proof[1][0] ^= 1;
    assert_eq!(code(&r, &f.trusted, Some(&pk)), "root_mismatch");
    let mut r = f.receipt.clone();
    r.inclusion_proof.pop();
    assert_eq!(code(&r, &f.trusted, Some(&pk)), "wrong_proof_length");
    let mut r = f.receipt.clone();
    r.alg = HashAlg::Streebog256;
    assert_eq!(code(&r, &f.trusted, Some(&pk)), "alg_mismatch");

    // A trusted head of another tree (one leaf more).
    let mut bigger = f.tree.clone();
    bigger.push(b"later").unwrap();
    let other_head = f.signer.sign(&head_of(&bigger, 9_000));
    assert_eq!(code(&f.receipt, &other_head, Some(&pk)), "head_mismatch");
    // Same size, another root.
    let mut forged_head = f.trusted.head;
    forged_head.root[0] ^= 1;
    let forged = f.signer.sign(&forged_head);
    assert_eq!(code(&f.receipt, &forged, Some(&pk)), "head_mismatch");

    // The receipt's head was altered after signing (size and root kept consistent with a
    // trusted head forged the same way is impossible without the key).
    let mut r = f.receipt.clone();
    r.tree_head.head.timestamp_ms += 1;
    assert_eq!(code(&r, &f.trusted, Some(&pk)), "bad_signature");

    // A receipt signed by another key: rejected against the log key, and without a key
    // the trusted head's key anchors it.
    let mallory = signer(6);
    let mut r = f.receipt.clone();
    r.tree_head = mallory.sign(&r.tree_head.head);
    assert_eq!(code(&r, &f.trusted, Some(&pk)), "key_mismatch");
    assert_eq!(code(&r, &f.trusted, None), "key_mismatch");
    // A trusted head that does not verify is not trusted.
    let mut bad_trusted = f.trusted.clone();
    bad_trusted.signature[10] ^= 4;
    assert_eq!(code(&f.receipt, &bad_trusted, Some(&pk)), "bad_signature");
}
