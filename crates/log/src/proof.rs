//! Inclusion (RFC 9162 §2.1.3.1 PATH) and consistency (§2.1.4.1 SUBPROOF) proofs computed
//! from stored perfect subtrees, with planners that list exactly the nodes to fetch.
//!
//! Shape of a tree of size `n` with decomposition `P1 > P2 > ... > PL` (see `root_nodes`):
//! the root is `H(P1, H(P2, ... H(PL-1, PL)))`, so the right edge consists of *ephemeral*
//! nodes `Ei = fold(Pi..PL)` that no database stores. A node inside `Pj` has, bottom-up,
//! the siblings of its path inside `Pj`, then `Ej+1` (if `j < L`), then `Pj-1, ..., P1`.
//! So a proof reads O(log n) stored nodes, each at most once.

use crate::error::LogError;
use crate::hash::{Hash, HashAlg};
use crate::node::{fetch, NodeId, NodeSource};
use crate::tree::{fold_right, root_nodes};

/// What a proof is made of, in proof order.
#[derive(Debug, Default)]
struct Plan {
    /// Consistency only: the subtree whose hash the proof starts with (MTH of the old tree's
    /// last perfect subtree), absent when the old size is a power of two.
    seed: Option<NodeId>,
    /// Siblings inside the decomposition subtree that holds the node, bottom-up.
    siblings: Vec<NodeId>,
    /// The decomposition subtrees to the right; folded into one proof entry.
    right: Vec<NodeId>,
    /// The decomposition subtrees to the left, nearest first.
    left: Vec<NodeId>,
}

impl Plan {
    fn nodes(&self) -> Vec<NodeId> {
        let mut out = Vec::with_capacity(
            usize::from(self.seed.is_some())
                + self.siblings.len()
                + self.right.len()
                + self.left.len(),
        );
        out.extend(self.seed);
        out.extend_from_slice(&self.siblings);
        out.extend_from_slice(&self.right);
        out.extend_from_slice(&self.left);
        out
    }

    fn compute(&self, alg: HashAlg, src: &impl NodeSource) -> Result<Vec<Hash>, LogError> {
        let mut proof = Vec::with_capacity(
            usize::from(self.seed.is_some())
                + self.siblings.len()
                + usize::from(!self.right.is_empty())
                + self.left.len(),
        );
        if let Some(id) = self.seed {
            proof.push(fetch(src, id)?);
        }
        for &id in &self.siblings {
            proof.push(fetch(src, id)?);
        }
        let right = self
            .right
            .iter()
            .map(|&id| fetch(src, id))
            .collect::<Result<Vec<_>, _>>()?;
        proof.extend(fold_right(alg, &right));
        for &id in &self.left {
            proof.push(fetch(src, id)?);
        }
        Ok(proof)
    }
}

/// The path from the perfect subtree `node` to the root of a tree of `size` leaves.
/// A perfect subtree within `[0, size)` lies inside exactly one decomposition subtree;
/// `None` if `node` is not within `[0, size)`.
fn path_plan(node: NodeId, size: u64) -> Option<Plan> {
    let decomposition = root_nodes(size);
    let j = decomposition
        .iter()
        .position(|p| p.level >= node.level && node.index >> (p.level - node.level) == p.index)?;
    let top = decomposition[j].level;
    Some(Plan {
        seed: None,
        siblings: (node.level..top)
            .map(|level| NodeId::new(level, (node.index >> (level - node.level)) ^ 1))
            .collect(),
        right: decomposition[j + 1..].to_vec(),
        left: decomposition[..j].iter().rev().copied().collect(),
    })
}

fn inclusion_plan(index: u64, size: u64) -> Result<Plan, LogError> {
    if index >= size {
        return Err(LogError::IndexOutOfRange { index, size });
    }
    path_plan(NodeId::new(0, index), size).ok_or(LogError::IndexOutOfRange { index, size })
}

fn consistency_plan(size1: u64, size2: u64) -> Result<Plan, LogError> {
    if size1 == 0 {
        return Err(LogError::SizeZero);
    }
    if size1 > size2 {
        return Err(LogError::SizesOutOfOrder { size1, size2 });
    }
    if size1 == size2 {
        // SUBPROOF(m, D[m], true) = {}.
        return Ok(Plan::default());
    }
    // SUBPROOF descends towards leaf size1 - 1 and stops at the largest subtree that ends
    // exactly at size1: level = trailing zeros of size1. From there the proof is that
    // subtree's inclusion path, preceded by its own hash unless it is the whole old tree
    // (size1 a power of two: every step went left, b stayed true).
    let level = size1.trailing_zeros() as u8;
    let seed = NodeId::new(level, (size1 - 1) >> level);
    // The seed ends at size1 <= size2, so it is always within the new tree.
    let mut plan = path_plan(seed, size2).ok_or(LogError::SizesOutOfOrder { size1, size2 })?;
    if !size1.is_power_of_two() {
        plan.seed = Some(seed);
    }
    Ok(plan)
}

/// The stored nodes `inclusion_proof(_, index, size, _)` reads, in reading order; empty
/// when `index >= size`.
pub fn inclusion_nodes(index: u64, size: u64) -> Vec<NodeId> {
    inclusion_plan(index, size)
        .map(|p| p.nodes())
        .unwrap_or_default()
}

/// RFC 9162 `PATH(index, D[size])`, bottom-up.
pub fn inclusion_proof(
    alg: HashAlg,
    index: u64,
    size: u64,
    src: &impl NodeSource,
) -> Result<Vec<Hash>, LogError> {
    inclusion_plan(index, size)?.compute(alg, src)
}

/// The stored nodes `consistency_proof(_, size1, size2, _)` reads, in reading order; empty
/// when the sizes are invalid or equal.
pub fn consistency_nodes(size1: u64, size2: u64) -> Vec<NodeId> {
    consistency_plan(size1, size2)
        .map(|p| p.nodes())
        .unwrap_or_default()
}

/// RFC 9162 `PROOF(size1, D[size2])`. Equal sizes give an empty proof; `size1 = 0` is
/// refused (see the crate docs on size 0).
pub fn consistency_proof(
    alg: HashAlg,
    size1: u64,
    size2: u64,
    src: &impl NodeSource,
) -> Result<Vec<Hash>, LogError> {
    consistency_plan(size1, size2)?.compute(alg, src)
}

/// Entry counts of planned proofs, to check the verifier's closed-form lengths.
#[cfg(test)]
pub(crate) mod tests_support {
    fn entries(plan: &super::Plan) -> usize {
        usize::from(plan.seed.is_some())
            + plan.siblings.len()
            + usize::from(!plan.right.is_empty())
            + plan.left.len()
    }

    pub(crate) fn inclusion_entries(index: u64, size: u64) -> usize {
        super::inclusion_plan(index, size).map_or(0, |p| entries(&p))
    }

    pub(crate) fn consistency_entries(size1: u64, size2: u64) -> usize {
        super::consistency_plan(size1, size2).map_or(0, |p| entries(&p))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::tree::MemoryTree;

    fn tree(n: u64) -> MemoryTree {
        let mut t = MemoryTree::new(HashAlg::Sha256);
        for i in 0..n {
            t.push(&i.to_be_bytes()).unwrap();
        }
        t
    }

    #[test]
    fn invalid_arguments_are_errors_and_plan_nothing() {
        let t = tree(5);
        let alg = HashAlg::Sha256;
        assert_eq!(
            inclusion_proof(alg, 5, 5, &t).unwrap_err().code(),
            "index_out_of_range"
        );
        assert_eq!(
            inclusion_proof(alg, 0, 0, &t).unwrap_err().code(),
            "index_out_of_range"
        );
        assert!(inclusion_nodes(5, 5).is_empty());
        assert_eq!(
            consistency_proof(alg, 0, 5, &t).unwrap_err().code(),
            "size_zero"
        );
        assert_eq!(
            consistency_proof(alg, 4, 3, &t).unwrap_err().code(),
            "sizes_out_of_order"
        );
        assert!(consistency_nodes(0, 5).is_empty());
        assert!(consistency_proof(alg, 5, 5, &t).unwrap().is_empty());
        assert!(consistency_nodes(5, 5).is_empty());
    }

    #[test]
    fn proofs_beyond_the_stored_tree_report_missing_nodes() {
        let t = tree(5);
        let err = inclusion_proof(HashAlg::Sha256, 1, 6, &t).unwrap_err();
        assert_eq!(err.code(), "missing_node");
    }

    #[test]
    fn proof_reads_are_logarithmic() {
        // Worst cases over a range of sizes: at most 2 * 64 reads for any u64 size.
        for size in [1u64, 2, 3, 1000, 1 << 20, (1 << 40) - 1, u64::MAX] {
            for index in [0, size / 3, size - 1] {
                let bits = 64 - size.leading_zeros() as usize;
                assert!(inclusion_nodes(index, size).len() <= 2 * bits);
                if index > 0 {
                    assert!(consistency_nodes(index, size).len() <= 2 * bits + 1);
                }
            }
        }
    }
}
