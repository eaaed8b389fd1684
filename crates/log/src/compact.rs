//! A compact range: the roots of the perfect subtrees of a prefix, enough to keep
//! appending and to compute the root without the rest of the tree. An auditor streams the
//! log's leaves through it and compares the nodes it completes with the ones the log serves.

use crate::error::LogError;
use crate::hash::{empty_root, Hash, HashAlg};
use crate::node::{fetch, NodeId, NodeSource};
use crate::tree::{append_nodes, fold_right, root_nodes};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompactRange {
    alg: HashAlg,
    size: u64,
    /// The nodes of `root_nodes(size)`, largest first.
    stack: Vec<(NodeId, Hash)>,
}

impl CompactRange {
    /// The empty range.
    pub fn new(alg: HashAlg) -> Self {
        Self {
            alg,
            size: 0,
            stack: Vec::new(),
        }
    }

    /// Resumes from the hashes of `root_nodes(size)`, in that order (largest first).
    pub fn from_nodes(alg: HashAlg, size: u64, nodes: &[Hash]) -> Result<Self, LogError> {
        let ids = root_nodes(size);
        if ids.len() != nodes.len() {
            return Err(LogError::WrongNodeCount {
                expected: ids.len(),
                got: nodes.len(),
            });
        }
        Ok(Self {
            alg,
            size,
            stack: ids.into_iter().zip(nodes.iter().copied()).collect(),
        })
    }

    /// Resumes by reading `root_nodes(size)` from a node source.
    pub fn from_source(alg: HashAlg, size: u64, src: &impl NodeSource) -> Result<Self, LogError> {
        let hashes = root_nodes(size)
            .into_iter()
            .map(|id| fetch(src, id))
            .collect::<Result<Vec<_>, _>>()?;
        Self::from_nodes(alg, size, &hashes)
    }

    pub fn alg(&self) -> HashAlg {
        self.alg
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The current perfect subtree roots, largest first.
    pub fn nodes(&self) -> &[(NodeId, Hash)] {
        &self.stack
    }

    /// Appends a leaf hash and returns the nodes it completed, exactly as `append_nodes`
    /// would for a stored tree, so they can be compared with the log's stored nodes.
    pub fn push(&mut self, leaf: Hash) -> Result<Vec<(NodeId, Hash)>, LogError> {
        let stack = &self.stack;
        // The left siblings needed are the top entries of the stack.
        let completed = append_nodes(self.alg, self.size, leaf, |id| {
            stack
                .iter()
                .rev()
                .find(|(sid, _)| *sid == id)
                .map(|(_, h)| *h)
        })?;
        // Each completed parent consumed one stack entry (its left child).
        let consumed = completed.len() - 1;
        self.stack.truncate(self.stack.len() - consumed);
        if let Some(last) = completed.last() {
            self.stack.push(*last);
        }
        self.size += 1;
        Ok(completed)
    }

    /// The RFC 9162 root of the leaves pushed so far.
    pub fn root(&self) -> Hash {
        let hashes: Vec<Hash> = self.stack.iter().map(|(_, h)| *h).collect();
        fold_right(self.alg, &hashes).unwrap_or_else(|| empty_root(self.alg))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::hash::leaf_hash;
    use crate::tree::MemoryTree;

    #[test]
    fn tracks_the_tree_and_reports_completed_nodes() {
        let alg = HashAlg::Sha256;
        let mut tree = MemoryTree::new(alg);
        let mut range = CompactRange::new(alg);
        assert_eq!(range.root(), empty_root(alg));
        for i in 0u64..130 {
            let leaf = leaf_hash(alg, &i.to_le_bytes());
            let completed = range.push(leaf).unwrap();
            tree.push_hash(leaf).unwrap();
            for (id, h) in &completed {
                assert_eq!(tree.node(*id), Some(*h));
            }
            assert_eq!(range.size(), i + 1);
            assert_eq!(range.root(), tree.root().unwrap());
            let ids: Vec<NodeId> = range.nodes().iter().map(|(id, _)| *id).collect();
            assert_eq!(ids, root_nodes(i + 1));
        }
    }

    #[test]
    fn resumes_from_stored_prefix() {
        let alg = HashAlg::Streebog256;
        let mut tree = MemoryTree::new(alg);
        for i in 0u64..77 {
            tree.push(&i.to_le_bytes()).unwrap();
        }
        let mut range = CompactRange::from_source(alg, 45, &tree).unwrap();
        for i in 45u64..77 {
            range.push(tree.leaf(i).unwrap()).unwrap();
        }
        assert_eq!(range.root(), tree.root().unwrap());
        let err = CompactRange::from_nodes(alg, 45, &[[0; 32]]).unwrap_err();
        assert_eq!(err.code(), "wrong_node_count");
    }
}
