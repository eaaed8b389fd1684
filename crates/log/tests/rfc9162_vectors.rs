//! The RFC 6962/9162 proof vectors of transparency-dev/merkle (Apache-2.0; see
//! tests/vectors/README.md), one case per JSON file, run against our verifiers; and the
//! happy-path proofs regenerated from the README's 8-leaf tree.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use otklik_log::{
    consistency_proof, decode_b64, decode_hash, inclusion_proof, leaf_hash, root,
    verify_consistency, verify_inclusion, Hash, HashAlg, MemoryTree, VerifyError,
};
use serde::Deserialize;
use sha2::{Digest, Sha256};

const ALG: HashAlg = HashAlg::Sha256;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct InclusionCase {
    leaf_idx: u64,
    tree_size: u64,
    root: Option<String>,
    leaf_hash: Option<String>,
    proof: Option<Vec<String>>,
    desc: String,
    want_err: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsistencyCase {
    size1: u64,
    size2: u64,
    root1: Option<String>,
    root2: Option<String>,
    proof: Option<Vec<String>>,
    desc: String,
    #[serde(rename = "wantErr")]
    want_err: bool,
}

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

/// All JSON files below `dir`, sorted, grouped by the first folder below `dir`.
fn cases(kind: &str) -> BTreeMap<String, Vec<PathBuf>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "json") {
                out.push(path);
            }
        }
    }
    let root = vectors_dir().join(kind);
    let mut groups = BTreeMap::new();
    for entry in std::fs::read_dir(&root).unwrap() {
        let path = entry.unwrap().path();
        assert!(path.is_dir(), "unexpected file {}", path.display());
        let mut files = Vec::new();
        walk(&path, &mut files);
        files.sort();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        groups.insert(name, files);
    }
    groups
}

/// Turns a vector's root or proof entry into our 32-byte `Hash`.
///
/// Some negative vectors use placeholder values that are not 32 bytes ("don't care" roots,
/// empty "garbage" proof entries). Our API cannot represent them at all: `decode_hash`
/// rejects them, which is asserted here. The verifier that produced the vectors
/// (transparency-dev/merkle) treats roots and proof entries as opaque byte strings and only
/// compares them for equality, so to run each case's logic faithfully a placeholder is
/// mapped to SHA-256(tag ‖ length ‖ bytes): equal placeholders stay equal, different ones
/// stay different, and none can equal a real tree hash short of a SHA-256 preimage.
/// (Leaf hashes are different: that verifier rejects any leaf hash that is not 32 bytes,
/// and so do we, at decoding; see `leaf_to_hash`.)
fn to_hash(b64: Option<&str>, placeholders: &mut usize) -> Hash {
    let b64 = b64.unwrap_or("");
    let bytes = decode_b64(b64).unwrap();
    match Hash::try_from(bytes.as_slice()) {
        Ok(h) => {
            assert_eq!(decode_hash(b64).unwrap(), h);
            h
        }
        Err(_) => {
            assert_eq!(decode_hash(b64).unwrap_err().code(), "wrong_length");
            *placeholders += 1;
            let mut h = Sha256::new();
            h.update(b"rfc9162-vector-placeholder");
            h.update((bytes.len() as u64).to_be_bytes());
            h.update(&bytes);
            h.finalize().into()
        }
    }
}

/// A leaf hash must be exactly 32 bytes; anything else is refused at decoding, as both our
/// `decode_hash` and the vectors' reference verifier do.
fn leaf_to_hash(b64: Option<&str>) -> Result<Hash, &'static str> {
    decode_hash(b64.unwrap_or("")).map_err(|e| e.code())
}

fn proof_hashes(proof: &Option<Vec<String>>, placeholders: &mut usize) -> Vec<Hash> {
    proof
        .iter()
        .flatten()
        .map(|p| to_hash(Some(p), placeholders))
        .collect()
}

#[derive(Default, Debug)]
struct Tally {
    ok: usize,
    rejected: usize,
    placeholders: usize,
    codes: BTreeMap<&'static str, usize>,
}

fn check(path: &Path, desc: &str, want_err: bool, result: Result<(), &'static str>, t: &mut Tally) {
    match (want_err, result) {
        (false, Ok(())) => t.ok += 1,
        (true, Err(code)) => {
            t.rejected += 1;
            *t.codes.entry(code).or_default() += 1;
        }
        (false, Err(e)) => panic!("{} ({desc}): should verify, got {e:?}", path.display()),
        (true, Ok(())) => panic!("{} ({desc}): should fail but verified", path.display()),
    }
}

#[test]
fn inclusion_vectors() {
    let groups = cases("inclusion");
    assert!(groups.len() >= 6, "groups: {:?}", groups.keys());
    let mut t = Tally::default();
    for (group, files) in &groups {
        assert!(!files.is_empty(), "no cases in inclusion/{group}");
        for path in files {
            let c: InclusionCase =
                serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
            let root = to_hash(c.root.as_deref(), &mut t.placeholders);
            let proof = proof_hashes(&c.proof, &mut t.placeholders);
            let result = leaf_to_hash(c.leaf_hash.as_deref()).and_then(|leaf| {
                verify_inclusion(ALG, &leaf, c.leaf_idx, c.tree_size, &proof, &root)
                    .map_err(|e| e.code())
            });
            check(path, &c.desc, c.want_err, result, &mut t);
        }
    }
    eprintln!("inclusion vectors: {t:?}");
    assert_eq!(t.ok + t.rejected, 98, "every vector file is a case");
    assert_eq!(t.ok, 6);
    assert!(t.placeholders > 0);
}

#[test]
fn consistency_vectors() {
    let groups = cases("consistency");
    assert!(groups.len() >= 6, "groups: {:?}", groups.keys());
    let mut t = Tally::default();
    for (group, files) in &groups {
        assert!(!files.is_empty(), "no cases in consistency/{group}");
        for path in files {
            let c: ConsistencyCase =
                serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
            let root1 = to_hash(c.root1.as_deref(), &mut t.placeholders);
            let root2 = to_hash(c.root2.as_deref(), &mut t.placeholders);
            let proof = proof_hashes(&c.proof, &mut t.placeholders);
            let result = verify_consistency(ALG, c.size1, c.size2, &proof, &root1, &root2)
                .map_err(|e: VerifyError| e.code());
            check(path, &c.desc, c.want_err, result, &mut t);
        }
    }
    eprintln!("consistency vectors: {t:?}");
    assert_eq!(t.ok + t.rejected, 98, "every vector file is a case");
    assert_eq!(t.ok, 6);
    assert!(t.placeholders > 0);
}

/// The tree every numbered vector folder was generated from (README.md).
fn reference_tree() -> MemoryTree {
    let leaves = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ];
    let mut tree = MemoryTree::new(ALG);
    for hex in leaves {
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        tree.push(&bytes).unwrap();
    }
    tree
}

fn happy_paths(kind: &str) -> Vec<PathBuf> {
    cases(kind)
        .into_iter()
        .filter(|(group, _)| group.chars().all(|c| c.is_ascii_digit()))
        .flat_map(|(_, files)| files)
        .filter(|p| p.file_name().is_some_and(|n| n == "happy-path.json"))
        .collect()
}

#[test]
fn generated_inclusion_proofs_equal_the_happy_paths() {
    let tree = reference_tree();
    let paths = happy_paths("inclusion");
    assert_eq!(paths.len(), 5);
    let mut n = 0;
    for path in paths {
        let c: InclusionCase =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let want: Vec<Hash> = proof_hashes(&c.proof, &mut n);
        assert_eq!(
            tree.leaf(c.leaf_idx).unwrap(),
            decode_hash(c.leaf_hash.as_deref().unwrap()).unwrap()
        );
        assert_eq!(
            root(ALG, c.tree_size, &tree).unwrap(),
            decode_hash(c.root.as_deref().unwrap()).unwrap()
        );
        let got = inclusion_proof(ALG, c.leaf_idx, c.tree_size, &tree).unwrap();
        assert_eq!(got, want, "{}", path.display());
    }
    assert_eq!(n, 0, "happy paths hold only real hashes");
    // Sanity: the README's first leaf is the empty string.
    assert_eq!(tree.leaf(0).unwrap(), leaf_hash(ALG, b""));
}

#[test]
fn generated_consistency_proofs_equal_the_happy_paths() {
    let tree = reference_tree();
    let paths = happy_paths("consistency");
    assert_eq!(paths.len(), 5);
    let mut n = 0;
    for path in paths {
        let c: ConsistencyCase =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let want: Vec<Hash> = proof_hashes(&c.proof, &mut n);
        assert_eq!(
            root(ALG, c.size1, &tree).unwrap(),
            decode_hash(c.root1.as_deref().unwrap()).unwrap()
        );
        assert_eq!(
            root(ALG, c.size2, &tree).unwrap(),
            decode_hash(c.root2.as_deref().unwrap()).unwrap()
        );
        let got = consistency_proof(ALG, c.size1, c.size2, &tree).unwrap();
        assert_eq!(got, want, "{}", path.display());
    }
    assert_eq!(n, 0);
}
