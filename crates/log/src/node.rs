//! Naming of stored subtrees and the source a computation reads them from.

use std::collections::{BTreeMap, HashMap};

use crate::hash::Hash;

/// The perfect subtree of `2^level` leaves covering leaves
/// `[index * 2^level, (index + 1) * 2^level)`. Level 0 nodes are leaf hashes.
///
/// Every such subtree becomes immutable once its last leaf is appended, so a database can
/// store it under `(level, index)` forever; all roots and proofs are computed from these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    pub level: u8,
    pub index: u64,
}

impl NodeId {
    pub const fn new(level: u8, index: u64) -> Self {
        Self { level, index }
    }

    /// The number of leaves before this subtree, and after its end (`u128` because the end
    /// of the last level-63 subtree is 2^64).
    pub fn leaf_range(self) -> (u128, u128) {
        let begin = u128::from(self.index) << self.level;
        (begin, begin + (1u128 << self.level))
    }
}

/// Where stored perfect-subtree hashes come from: memory, or the rows one query fetched.
/// `None` means the node is not available; computations then fail with `missing_node`.
pub trait NodeSource {
    fn node(&self, id: NodeId) -> Option<Hash>;
}

impl<T: NodeSource + ?Sized> NodeSource for &T {
    fn node(&self, id: NodeId) -> Option<Hash> {
        (**self).node(id)
    }
}

impl NodeSource for HashMap<NodeId, Hash> {
    fn node(&self, id: NodeId) -> Option<Hash> {
        self.get(&id).copied()
    }
}

impl NodeSource for BTreeMap<NodeId, Hash> {
    fn node(&self, id: NodeId) -> Option<Hash> {
        self.get(&id).copied()
    }
}

/// Adapts a closure, e.g. one that records or counts reads.
pub struct FnSource<F>(pub F);

impl<F: Fn(NodeId) -> Option<Hash>> NodeSource for FnSource<F> {
    fn node(&self, id: NodeId) -> Option<Hash> {
        (self.0)(id)
    }
}

pub(crate) fn fetch(src: &impl NodeSource, id: NodeId) -> Result<Hash, crate::LogError> {
    src.node(id).ok_or(crate::LogError::MissingNode(id))
}
