//! Property tests against an independent implementation, the `ct-merkle` crate (RFC 6962
//! trees; its proof bytes are the concatenated PATH/PROOF hashes).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ct_merkle::consistency::ConsistencyProof;
use ct_merkle::inclusion::InclusionProof;
use ct_merkle::{CtMerkleTree, RootHash};
use otklik_log::{
    consistency_proof, inclusion_proof, leaf_hash, verify_consistency, verify_inclusion, Hash,
    HashAlg, MemoryTree,
};
use proptest::prelude::*;
use proptest::sample::Index;
use sha2::Sha256;
use streebog::Streebog256;

type Leaves = Vec<Vec<u8>>;

fn leaves(max: usize) -> impl Strategy<Value = Leaves> {
    prop::collection::vec(prop::collection::vec(any::<u8>(), 0..24), 1..=max)
}

fn ours(alg: HashAlg, leaves: &[Vec<u8>]) -> MemoryTree {
    let mut t = MemoryTree::new(alg);
    for l in leaves {
        t.push(l).unwrap();
    }
    t
}

fn theirs<H: sha2::digest::Digest>(leaves: &[Vec<u8>]) -> CtMerkleTree<H, Vec<u8>> {
    let mut t = CtMerkleTree::new();
    for l in leaves {
        t.push(l.clone());
    }
    t
}

fn concat(proof: &[Hash]) -> Vec<u8> {
    proof.iter().flatten().copied().collect()
}

fn flip(h: &mut Hash, bit: usize) {
    h[bit / 8 % 32] ^= 1 << (bit % 8);
}

/// Roots, inclusion and consistency proofs agree with ct-merkle, byte for byte, and each
/// implementation accepts the other's proofs.
fn agree<H: sha2::digest::Digest>(alg: HashAlg, leaves: &[Vec<u8>], i: Index, m: Index) {
    let n = leaves.len();
    let ct = theirs::<H>(leaves);
    let tree = ours(alg, leaves);
    let root = tree.root().unwrap();
    assert_eq!(ct.root().as_bytes().as_slice(), root.as_slice());

    let i = i.index(n);
    let ours_incl = inclusion_proof(alg, i as u64, n as u64, &tree).unwrap();
    let ct_incl = ct.prove_inclusion(i);
    assert_eq!(ct_incl.as_bytes(), concat(&ours_incl).as_slice());
    let leaf = leaf_hash(alg, &leaves[i]);
    verify_inclusion(alg, &leaf, i as u64, n as u64, &ours_incl, &root).unwrap();
    ct.root()
        .verify_inclusion(
            &leaves[i],
            i,
            &InclusionProof::<H>::from_bytes(concat(&ours_incl)),
        )
        .unwrap();

    let m = m.index(n) + 1; // 0 < m <= n
    let old = theirs::<H>(&leaves[..m]);
    let old_root: Hash = old.root().as_bytes().as_slice().try_into().unwrap();
    let ours_cons = consistency_proof(alg, m as u64, n as u64, &tree).unwrap();
    assert_eq!(
        ct.prove_consistency(m).as_bytes(),
        concat(&ours_cons).as_slice(),
        "PROOF({m}, D[{n}])"
    );
    verify_consistency(alg, m as u64, n as u64, &ours_cons, &old_root, &root).unwrap();
    ct.root()
        .verify_consistency(
            &RootHash::<H>::new(old.root().as_bytes().clone(), m),
            &ConsistencyProof::<H>::from_bytes(concat(&ours_cons)),
        )
        .unwrap();
}

proptest! {
    #[test]
    fn sha256_agrees_with_ct_merkle(leaves in leaves(300), i: Index, m: Index) {
        agree::<Sha256>(HashAlg::Sha256, &leaves, i, m);
    }
}

proptest! {
    // Streebog is slow in unoptimised test builds; fewer and smaller cases.
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn streebog_agrees_with_ct_merkle(leaves in leaves(24), i: Index, m: Index) {
        agree::<Streebog256>(HashAlg::Streebog256, &leaves, i, m);
    }
}

proptest! {
    /// Any single flipped bit in the leaf, the root or any proof entry is rejected.
    #[test]
    fn inclusion_rejects_any_bit_flip(
        leaves in leaves(300), i: Index, target: Index, bit in 0usize..256,
    ) {
        let alg = HashAlg::Sha256;
        let n = leaves.len() as u64;
        let tree = ours(alg, &leaves);
        let i = i.index(leaves.len()) as u64;
        let mut leaf = tree.leaf(i).unwrap();
        let mut root = tree.root().unwrap();
        let mut proof = inclusion_proof(alg, i, n, &tree).unwrap();
        verify_inclusion(alg, &leaf, i, n, &proof, &root).unwrap();
        // Targets: 0 = leaf, 1 = root, 2.. = proof entries.
        match target.index(proof.len() + 2) {
            0 => flip(&mut leaf, bit),
            1 => flip(&mut root, bit),
            k => flip(&mut proof[k - 2], bit),
        }
        let err = verify_inclusion(alg, &leaf, i, n, &proof, &root).unwrap_err();
        prop_assert_eq!(err.code(), "root_mismatch");
    }

    #[test]
    fn consistency_rejects_any_bit_flip(
        leaves in leaves(300), m: Index, target: Index, bit in 0usize..256,
    ) {
        let alg = HashAlg::Sha256;
        let n = leaves.len() as u64;
        let tree = ours(alg, &leaves);
        let m = m.index(leaves.len()) as u64 + 1;
        let mut root1 = otklik_log::root(alg, m, &tree).unwrap();
        let mut root2 = tree.root().unwrap();
        let mut proof = consistency_proof(alg, m, n, &tree).unwrap();
        verify_consistency(alg, m, n, &proof, &root1, &root2).unwrap();
        // Targets: 0 = first root, 1 = second root, 2.. = proof entries.
        match target.index(proof.len() + 2) {
            0 => flip(&mut root1, bit),
            1 => flip(&mut root2, bit),
            k => flip(&mut proof[k - 2], bit),
        }
        let err = verify_consistency(alg, m, n, &proof, &root1, &root2).unwrap_err();
        prop_assert!(
            ["root_mismatch", "first_root_mismatch"].contains(&err.code()),
            "unexpected {:?}", err
        );
    }

    /// A proof used for another index, or with one hash too many or too few, is rejected.
    /// (Not another size: a root does not commit to its size, which is why tree heads sign
    /// the size along with the root.)
    #[test]
    fn inclusion_rejects_wrong_position_or_length(leaves in leaves(300), i: Index, j: Index) {
        let alg = HashAlg::Sha256;
        let n = leaves.len() as u64;
        let tree = ours(alg, &leaves);
        let (i, j) = (i.index(leaves.len()) as u64, j.index(leaves.len()) as u64);
        let leaf = tree.leaf(i).unwrap();
        let root = tree.root().unwrap();
        let proof = inclusion_proof(alg, i, n, &tree).unwrap();
        if j != i && tree.leaf(j) != Some(leaf) {
            prop_assert!(verify_inclusion(alg, &leaf, j, n, &proof, &root).is_err());
        }
        let mut longer = proof.clone();
        longer.push(root);
        prop_assert!(verify_inclusion(alg, &leaf, i, n, &longer, &root).is_err());
        if let Some((_, shorter)) = proof.split_last() {
            prop_assert!(verify_inclusion(alg, &leaf, i, n, shorter, &root).is_err());
        }
    }
}
