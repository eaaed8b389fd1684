//! Appending leaves to the stored-subtree model, the root of any size, and an in-memory tree.

use crate::error::LogError;
use crate::hash::{empty_root, leaf_hash, node_hash, Hash, HashAlg};
use crate::node::{fetch, NodeId, NodeSource};

/// The nodes that become complete when leaf number `n` (0-based) with hash `leaf` is
/// appended to a tree of size `n`: the level-0 node for `n`, then each parent whose right
/// child just completed (while the index is odd). `get` must return the stored left
/// siblings, which are nodes `(l, (n >> l) - 1)` for the trailing one bits of `n`.
///
/// The returned nodes are in increasing level order; the last one is the new rightmost
/// perfect subtree of the size-`n + 1` tree.
pub fn append_nodes(
    alg: HashAlg,
    n: u64,
    leaf: Hash,
    get: impl Fn(NodeId) -> Option<Hash>,
) -> Result<Vec<(NodeId, Hash)>, LogError> {
    if n == u64::MAX {
        return Err(LogError::TreeFull);
    }
    let mut out = Vec::with_capacity(1 + n.trailing_ones() as usize);
    let mut id = NodeId::new(0, n);
    let mut hash = leaf;
    out.push((id, hash));
    while id.index & 1 == 1 {
        let left_id = NodeId::new(id.level, id.index - 1);
        let left = get(left_id).ok_or(LogError::MissingNode(left_id))?;
        hash = node_hash(alg, &left, &hash);
        id = NodeId::new(id.level + 1, id.index >> 1);
        out.push((id, hash));
    }
    Ok(out)
}

/// The perfect subtrees of the binary decomposition of `size`, largest (leftmost) first.
/// Their right-to-left fold with `node_hash` is the RFC 9162 root of the tree.
pub fn root_nodes(size: u64) -> Vec<NodeId> {
    let mut out = Vec::with_capacity(size.count_ones() as usize);
    let mut begin = 0u64;
    for level in (0..64u8).rev() {
        if (size >> level) & 1 == 1 {
            out.push(NodeId::new(level, begin >> level));
            begin += 1 << level;
        }
    }
    out
}

/// Folds subtree hashes from the right: `H(a, H(b, H(c, d)))`. This is how RFC 9162 §2.1.1
/// combines the decomposition of a non-power-of-two range (the split point is always the
/// largest power of two, which is the leftmost remaining perfect subtree).
pub(crate) fn fold_right(alg: HashAlg, hashes: &[Hash]) -> Option<Hash> {
    let (last, rest) = hashes.split_last()?;
    Some(
        rest.iter()
            .rev()
            .fold(*last, |acc, left| node_hash(alg, left, &acc)),
    )
}

/// The Merkle Tree Hash of the first `size` leaves, from `root_nodes(size)`.
/// Size 0 gives `empty_root(alg)` and reads nothing.
pub fn root(alg: HashAlg, size: u64, src: &impl NodeSource) -> Result<Hash, LogError> {
    let hashes = root_nodes(size)
        .into_iter()
        .map(|id| fetch(src, id))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(fold_right(alg, &hashes).unwrap_or_else(|| empty_root(alg)))
}

/// The whole tree in memory, one vector of hashes per level (for tests, benchmarks and
/// small tools; a database keeps the same nodes as rows).
#[derive(Debug, Clone)]
pub struct MemoryTree {
    alg: HashAlg,
    levels: Vec<Vec<Hash>>,
}

impl MemoryTree {
    pub fn new(alg: HashAlg) -> Self {
        Self {
            alg,
            levels: Vec::new(),
        }
    }

    /// Reserves room for `leaves` leaves (about 64 bytes per leaf over all levels).
    pub fn with_capacity(alg: HashAlg, leaves: u64) -> Self {
        let mut levels = Vec::new();
        let mut n = leaves;
        while n > 0 {
            levels.push(Vec::with_capacity(usize::try_from(n).unwrap_or(usize::MAX)));
            n >>= 1;
        }
        Self { alg, levels }
    }

    pub fn alg(&self) -> HashAlg {
        self.alg
    }

    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// Appends a leaf given its leaf hash, storing every node that completes.
    pub fn push_hash(&mut self, leaf: Hash) -> Result<(), LogError> {
        let nodes = append_nodes(self.alg, self.size(), leaf, |id| self.node(id))?;
        for (id, hash) in nodes {
            let level = usize::from(id.level);
            if self.levels.len() <= level {
                self.levels.resize_with(level + 1, Vec::new);
            }
            // Nodes of one level complete left to right, so the index is the length.
            debug_assert_eq!(self.levels[level].len() as u64, id.index);
            self.levels[level].push(hash);
        }
        Ok(())
    }

    /// Appends a leaf given its data (hashed with `leaf_hash`).
    pub fn push(&mut self, data: &[u8]) -> Result<(), LogError> {
        self.push_hash(leaf_hash(self.alg, data))
    }

    /// The leaf hash at `index`, if present.
    pub fn leaf(&self, index: u64) -> Option<Hash> {
        self.node(NodeId::new(0, index))
    }

    /// The current root.
    pub fn root(&self) -> Result<Hash, LogError> {
        root(self.alg, self.size(), self)
    }
}

impl NodeSource for MemoryTree {
    fn node(&self, id: NodeId) -> Option<Hash> {
        let level = self.levels.get(usize::from(id.level))?;
        level.get(usize::try_from(id.index).ok()?).copied()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn root_nodes_decompose_the_size() {
        assert!(root_nodes(0).is_empty());
        assert_eq!(root_nodes(1), vec![NodeId::new(0, 0)]);
        assert_eq!(
            root_nodes(7),
            vec![NodeId::new(2, 0), NodeId::new(1, 2), NodeId::new(0, 6)]
        );
        assert_eq!(root_nodes(8), vec![NodeId::new(3, 0)]);
        assert_eq!(root_nodes(u64::MAX).len(), 64);
        for size in 0..300u64 {
            let nodes = root_nodes(size);
            let mut next = 0u128;
            for id in &nodes {
                let (b, e) = id.leaf_range();
                assert_eq!(b, next);
                next = e;
            }
            assert_eq!(next, u128::from(size));
        }
    }

    #[test]
    fn append_nodes_completes_parents_while_index_is_odd() {
        let alg = HashAlg::Sha256;
        let mut store: HashMap<NodeId, Hash> = HashMap::new();
        for n in 0..16u64 {
            let leaf = leaf_hash(alg, &n.to_be_bytes());
            let nodes = append_nodes(alg, n, leaf, |id| store.get(&id).copied()).unwrap();
            assert_eq!(nodes.len(), 1 + n.trailing_ones() as usize);
            assert_eq!(nodes[0], (NodeId::new(0, n), leaf));
            for (i, (id, _)) in nodes.iter().enumerate() {
                assert_eq!(usize::from(id.level), i);
                assert_eq!(id.leaf_range().1, u128::from(n + 1));
            }
            store.extend(nodes);
        }
        // Leaf 15 closes the level-4 root of 16 leaves.
        assert!(store.contains_key(&NodeId::new(4, 0)));
        assert_eq!(store.len(), 31);
    }

    #[test]
    fn append_nodes_reports_the_missing_sibling() {
        let err = append_nodes(HashAlg::Sha256, 3, [0; 32], |_| None).unwrap_err();
        assert_eq!(err, LogError::MissingNode(NodeId::new(0, 2)));
        assert_eq!(err.code(), "missing_node");
        let full = append_nodes(HashAlg::Sha256, u64::MAX, [0; 32], |_| None).unwrap_err();
        assert_eq!(full.code(), "tree_full");
    }

    #[test]
    fn small_roots_match_the_definition() {
        let alg = HashAlg::Sha256;
        let mut t = MemoryTree::new(alg);
        assert_eq!(t.root().unwrap(), empty_root(alg));
        let l: Vec<Hash> = (0u8..3).map(|i| leaf_hash(alg, &[i])).collect();
        t.push(&[0]).unwrap();
        assert_eq!(t.root().unwrap(), l[0]);
        t.push(&[1]).unwrap();
        assert_eq!(t.root().unwrap(), node_hash(alg, &l[0], &l[1]));
        t.push(&[2]).unwrap();
        assert_eq!(
            t.root().unwrap(),
            node_hash(alg, &node_hash(alg, &l[0], &l[1]), &l[2])
        );
        assert_eq!(t.leaf(2), Some(l[2]));
        assert_eq!(t.leaf(3), None);
        // Asking for a size beyond the stored tree is a missing node, not a wrong root.
        assert_eq!(root(alg, 4, &t).unwrap_err().code(), "missing_node");
    }

    #[test]
    fn with_capacity_builds_the_same_tree() {
        let mut a = MemoryTree::new(HashAlg::Streebog256);
        let mut b = MemoryTree::with_capacity(HashAlg::Streebog256, 37);
        for i in 0u32..37 {
            a.push(&i.to_le_bytes()).unwrap();
            b.push(&i.to_le_bytes()).unwrap();
        }
        assert_eq!(a.root().unwrap(), b.root().unwrap());
        assert_eq!(b.size(), 37);
    }
}
