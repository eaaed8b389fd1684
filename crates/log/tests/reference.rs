//! Exhaustive checks against a direct transcription of RFC 9162's recursive definitions
//! (MTH §2.1.1, PATH §2.1.3.1, SUBPROOF §2.1.4.1), and of the read plans.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use otklik_log::{
    consistency_nodes, consistency_proof, empty_root, inclusion_nodes, inclusion_proof, leaf_hash,
    node_hash, root, root_nodes, verify_consistency, verify_inclusion, FnSource, Hash, HashAlg,
    MemoryTree, NodeId, NodeSource,
};

/// The RFC's definitions over a list of leaf hashes, memoised on the range only to keep
/// the exhaustive loops fast (the recursion itself is the RFC's).
struct Rfc {
    alg: HashAlg,
    leaves: Vec<Hash>,
    memo: HashMap<(usize, usize), Hash>,
}

/// The largest power of two smaller than `n` (n > 1).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

impl Rfc {
    fn mth(&mut self, a: usize, b: usize) -> Hash {
        if let Some(h) = self.memo.get(&(a, b)) {
            return *h;
        }
        let h = match b - a {
            0 => empty_root(self.alg),
            1 => self.leaves[a],
            n => {
                let k = split(n);
                let l = self.mth(a, a + k);
                let r = self.mth(a + k, b);
                node_hash(self.alg, &l, &r)
            }
        };
        self.memo.insert((a, b), h);
        h
    }

    /// PATH(m, D[a:b]).
    fn path(&mut self, m: usize, a: usize, b: usize) -> Vec<Hash> {
        let n = b - a;
        if n == 1 {
            return Vec::new();
        }
        let k = split(n);
        if m < k {
            let mut p = self.path(m, a, a + k);
            p.push(self.mth(a + k, b));
            p
        } else {
            let mut p = self.path(m - k, a + k, b);
            p.push(self.mth(a, a + k));
            p
        }
    }

    /// SUBPROOF(m, D[a:b], flag).
    fn subproof(&mut self, m: usize, a: usize, b: usize, flag: bool) -> Vec<Hash> {
        let n = b - a;
        if m == n {
            return if flag {
                Vec::new()
            } else {
                vec![self.mth(a, b)]
            };
        }
        let k = split(n);
        if m <= k {
            let mut p = self.subproof(m, a, a + k, flag);
            p.push(self.mth(a + k, b));
            p
        } else {
            let mut p = self.subproof(m - k, a + k, b, false);
            p.push(self.mth(a, a + k));
            p
        }
    }
}

const MAX: u64 = 600;

fn build(alg: HashAlg, n: u64) -> (MemoryTree, Rfc) {
    let mut tree = MemoryTree::with_capacity(alg, n);
    let mut leaves = Vec::new();
    for i in 0..n {
        let data = format!("leaf {i}");
        tree.push(data.as_bytes()).unwrap();
        leaves.push(leaf_hash(alg, data.as_bytes()));
    }
    let rfc = Rfc {
        alg,
        leaves,
        memo: HashMap::new(),
    };
    (tree, rfc)
}

#[test]
fn roots_and_all_proofs_equal_the_rfc_definitions_up_to_600() {
    let alg = HashAlg::Sha256;
    let (tree, mut rfc) = build(alg, MAX);
    let mut checked = (0usize, 0usize);
    for n in 1..=MAX {
        let nu = n as usize;
        let r = rfc.mth(0, nu);
        assert_eq!(root(alg, n, &tree).unwrap(), r, "root {n}");
        for i in 0..n {
            let want = rfc.path(i as usize, 0, nu);
            let got = inclusion_proof(alg, i, n, &tree).unwrap();
            assert_eq!(got, want, "PATH({i}, D[{n}])");
            checked.0 += 1;
        }
        for m in 1..=n {
            let want = rfc.subproof(m as usize, 0, nu, true);
            let got = consistency_proof(alg, m, n, &tree).unwrap();
            assert_eq!(got, want, "PROOF({m}, D[{n}])");
            checked.1 += 1;
        }
    }
    assert_eq!(checked.0 as u64, MAX * (MAX + 1) / 2);
    assert_eq!(checked.1 as u64, MAX * (MAX + 1) / 2);
}

/// Our verifiers accept every honest proof (every pair up to `max`; the RFC vectors and
/// the property tests cover rejection).
fn every_honest_proof_verifies(alg: HashAlg, max: u64) {
    let (tree, mut rfc) = build(alg, max);
    for n in 1..=max {
        let r = rfc.mth(0, n as usize);
        for i in 0..n {
            let proof = inclusion_proof(alg, i, n, &tree).unwrap();
            verify_inclusion(alg, &tree.leaf(i).unwrap(), i, n, &proof, &r).unwrap();
        }
        for m in 1..=n {
            let r1 = rfc.mth(0, m as usize);
            let proof = consistency_proof(alg, m, n, &tree).unwrap();
            verify_consistency(alg, m, n, &proof, &r1, &r).unwrap();
        }
    }
}

#[test]
fn every_honest_sha256_proof_verifies_up_to_200() {
    every_honest_proof_verifies(HashAlg::Sha256, 200);
}

// Streebog is slow without optimisation; the algorithm does not depend on the hash.
#[test]
fn every_honest_streebog_proof_verifies_up_to_12() {
    every_honest_proof_verifies(HashAlg::Streebog256, 12);
}

/// Records every node a computation reads.
fn recorded<T>(
    tree: &MemoryTree,
    f: impl FnOnce(&dyn Fn(NodeId) -> Option<Hash>) -> T,
) -> (T, Vec<NodeId>) {
    let reads = RefCell::new(Vec::new());
    let get = |id: NodeId| {
        reads.borrow_mut().push(id);
        tree.node(id)
    };
    let out = f(&get);
    (out, reads.into_inner())
}

fn assert_same_reads(planned: &[NodeId], read: &[NodeId], what: &str) {
    assert_eq!(planned, read, "{what}: plan and reads differ");
    let unique: HashSet<_> = read.iter().collect();
    assert_eq!(unique.len(), read.len(), "{what}: a node was read twice");
}

#[test]
fn planners_list_exactly_the_nodes_read() {
    let alg = HashAlg::Sha256;
    let (tree, _) = build(alg, 300);
    let mut max_reads = 0;
    for n in 0..=300u64 {
        let (_, read) = recorded(&tree, |get| root(alg, n, &FnSource(get)).unwrap());
        assert_same_reads(&root_nodes(n), &read, &format!("root {n}"));
        for i in 0..n {
            let (_, read) = recorded(&tree, |get| {
                inclusion_proof(alg, i, n, &FnSource(get)).unwrap()
            });
            assert_same_reads(&inclusion_nodes(i, n), &read, &format!("inclusion {i} {n}"));
            max_reads = max_reads.max(read.len());
        }
        for m in 1..=n {
            let (_, read) = recorded(&tree, |get| {
                consistency_proof(alg, m, n, &FnSource(get)).unwrap()
            });
            assert_same_reads(
                &consistency_nodes(m, n),
                &read,
                &format!("consistency {m} {n}"),
            );
            max_reads = max_reads.max(read.len());
        }
    }
    // log2(300) < 9: a proof reads at most about two nodes per level.
    assert!(max_reads <= 18, "max reads {max_reads}");
}

/// A database answers from the rows of one query: a map holding only the planned nodes
/// must be enough.
#[test]
fn planned_nodes_alone_suffice() {
    let alg = HashAlg::Sha256;
    let (tree, _) = build(alg, 100);
    for n in 1..=100u64 {
        for i in (0..n).step_by(7) {
            let rows: HashMap<NodeId, Hash> = inclusion_nodes(i, n)
                .into_iter()
                .map(|id| (id, tree.node(id).unwrap()))
                .collect();
            assert_eq!(
                inclusion_proof(alg, i, n, &rows).unwrap(),
                inclusion_proof(alg, i, n, &tree).unwrap()
            );
        }
        for m in (1..=n).step_by(5) {
            let rows: HashMap<NodeId, Hash> = consistency_nodes(m, n)
                .into_iter()
                .map(|id| (id, tree.node(id).unwrap()))
                .collect();
            assert_eq!(
                consistency_proof(alg, m, n, &rows).unwrap(),
                consistency_proof(alg, m, n, &tree).unwrap()
            );
        }
    }
}
