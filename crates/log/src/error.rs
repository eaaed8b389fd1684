//! Error types. Each has a stable snake_case `code()` for logs, APIs and the CLI.

use crate::node::NodeId;

/// An error while building the tree or computing a proof from stored nodes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    /// A node that must exist for this size was not provided by the node source.
    #[error("missing stored node at level {} index {}", .0.level, .0.index)]
    MissingNode(NodeId),
    #[error("leaf index {index} is outside a tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("first size {size1} is larger than second size {size2}")]
    SizesOutOfOrder { size1: u64, size2: u64 },
    /// Consistency from the empty tree is refused (see the crate docs on size 0).
    #[error("a consistency proof from a tree of size 0 is not defined")]
    SizeZero,
    /// The tree already holds 2^64 - 1 leaves; its size would not fit in a u64.
    #[error("the tree is full")]
    TreeFull,
    #[error("expected {expected} nodes, got {got}")]
    WrongNodeCount { expected: usize, got: usize },
}

impl LogError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingNode(_) => "missing_node",
            Self::IndexOutOfRange { .. } => "index_out_of_range",
            Self::SizesOutOfOrder { .. } => "sizes_out_of_order",
            Self::SizeZero => "size_zero",
            Self::TreeFull => "tree_full",
            Self::WrongNodeCount { .. } => "wrong_node_count",
        }
    }
}

/// Why a proof, a signed tree head or a receipt did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Inclusion in, or consistency from, a tree of size 0 (see the crate docs).
    #[error("tree size 0 is not allowed here")]
    SizeZero,
    #[error("leaf index {index} is outside a tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("first size {size1} is larger than second size {size2}")]
    SizesOutOfOrder { size1: u64, size2: u64 },
    #[error("equal sizes need an empty consistency proof")]
    NonEmptyProofForEqualSizes,
    #[error("proof has {got} hashes, expected {expected}")]
    WrongProofLength { expected: usize, got: usize },
    /// The recomputed (second) root differs from the given root.
    #[error("root hash mismatch")]
    RootMismatch,
    /// Consistency only: the recomputed first root differs from the given first root.
    #[error("first root hash mismatch")]
    FirstRootMismatch,
    #[error("hash algorithms differ")]
    AlgMismatch,
    /// The receipt's tree head and the trusted tree head name different trees.
    #[error("tree heads differ in size or root")]
    HeadMismatch,
    #[error("invalid Ed25519 public key")]
    InvalidPublicKey,
    /// The key id is not the one derived from the public key.
    #[error("key id does not match the public key")]
    KeyIdMismatch,
    /// The embedded public key is not the expected (trusted) key.
    #[error("public key is not the expected key")]
    KeyMismatch,
    #[error("signature does not verify")]
    BadSignature,
    #[error("unsupported version {0}")]
    UnsupportedVersion(u32),
}

impl VerifyError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::SizeZero => "size_zero",
            Self::IndexOutOfRange { .. } => "index_out_of_range",
            Self::SizesOutOfOrder { .. } => "sizes_out_of_order",
            Self::NonEmptyProofForEqualSizes => "non_empty_proof_for_equal_sizes",
            Self::WrongProofLength { .. } => "wrong_proof_length",
            Self::RootMismatch => "root_mismatch",
            Self::FirstRootMismatch => "first_root_mismatch",
            Self::AlgMismatch => "alg_mismatch",
            Self::HeadMismatch => "head_mismatch",
            Self::InvalidPublicKey => "invalid_public_key",
            Self::KeyIdMismatch => "key_id_mismatch",
            Self::KeyMismatch => "key_mismatch",
            Self::BadSignature => "bad_signature",
            Self::UnsupportedVersion(_) => "unsupported_version",
        }
    }
}

/// A malformed value in a wire format (base64, JSON fields).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    #[error("invalid base64")]
    InvalidBase64,
    #[error("{what}: expected {expected} bytes, got {got}")]
    WrongLength {
        what: &'static str,
        expected: usize,
        got: usize,
    },
    #[error("unknown hash algorithm")]
    UnknownAlg,
    #[error("unsupported version {0}")]
    UnsupportedVersion(u32),
}

impl FormatError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidBase64 => "invalid_base64",
            Self::WrongLength { .. } => "wrong_length",
            Self::UnknownAlg => "unknown_alg",
            Self::UnsupportedVersion(_) => "unsupported_version",
        }
    }
}
