//! The Otklik transparency log: an RFC 9162 Merkle tree over event bytes, its proofs,
//! signed tree heads and receipts. Pure computation: no files, network or clock
//! (timestamps are passed in).
//!
//! # Hashes
//! `leaf_hash = H(0x00 ‖ data)`, `node_hash = H(0x01 ‖ left ‖ right)`, the empty tree's
//! root is `H("")` (RFC 9162 §2.1.1). `H` is SHA-256 (default) or Streebog-256
//! (GOST R 34.11-2012, bytes as the `streebog` crate outputs them), fixed per log; both
//! give 32 bytes ([`type@Hash`]).
//!
//! # Storage model
//! A database stores every *perfect* subtree once it is complete, keyed by [`NodeId`]
//! `(level, index)`; [`append_nodes`] returns the rows to insert for each new leaf. Roots
//! and proofs of any size are computed from such nodes: the `*_nodes` planners
//! ([`root_nodes`], [`inclusion_nodes`], [`consistency_nodes`]) list exactly the rows to
//! fetch in one query, and [`root`], [`inclusion_proof`] and [`consistency_proof`] compute
//! from any [`NodeSource`] (e.g. a `HashMap` of the fetched rows). A proof reads O(log n)
//! nodes, each once. [`MemoryTree`] keeps the same nodes in memory.
//!
//! An auditor replays the leaves through a [`CompactRange`], which recomputes the root and
//! reports every perfect subtree it completes, to compare with the stored nodes.
//!
//! ```
//! use otklik_log::{
//!     inclusion_nodes, inclusion_proof, leaf_hash, verify_inclusion, HashAlg, MemoryTree,
//! };
//!
//! let alg = HashAlg::Sha256;
//! let mut tree = MemoryTree::new(alg);
//! for event in [&b"a"[..], b"b", b"c"] {
//!     tree.push(event)?;
//! }
//! // A database would fetch `inclusion_nodes(1, 3)` in one query and pass the rows.
//! assert_eq!(inclusion_nodes(1, 3).len(), 2);
//! let proof = inclusion_proof(alg, 1, 3, &tree)?;
//! verify_inclusion(alg, &leaf_hash(alg, b"b"), 1, 3, &proof, &tree.root()?)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Size 0
//! - The root of the empty tree is `empty_root(alg)`.
//! - Inclusion in a tree of size 0 is an error (`size_zero`): it contains no leaf.
//! - Consistency from size 0 is an error (`size_zero`), also for `size2 = 0`: the empty tree
//!   is trivially a prefix of every tree, so there is nothing to prove, and the RFC defines
//!   proofs only for `0 < m`. Clients that start from nothing just fetch a tree head.
//! - Equal sizes (`size1 = size2 > 0`) need an empty proof and equal roots.
//!
//! # Wire formats (JSON, version 1)
//! Binary fields are base64 with the standard alphabet and padding; integers are JSON
//! numbers (u64).
//! - Signed tree head ([`SignedTreeHead`]): `{"version":1,"alg":"sha256","size":N,
//!   "root":"…","timestamp_ms":N,"key_id":"…","public_key":"…","signature":"…"}`
//!   (`alg` is `sha256` or `streebog256`). The signature is Ed25519 (strict verification) over
//!   [`TreeHead::signed_message`]: `"otklik-tree-head/v1\n" ‖ alg ‖ "\n" ‖ size (u64 BE) ‖
//!   timestamp_ms (u64 BE) ‖ root`. `key_id` is the hex of the first 8 bytes of
//!   SHA-256(public key).
//! - Receipt ([`Receipt`]): `{"version":1,"alg":"sha256","leaf_index":N,"leaf_data":"…",
//!   "tree_head":{…},"inclusion_proof":["…",…]}`.
//! - CLI text: a hash is one base64 string ([`decode_hash`]); a proof is base64 hashes
//!   separated by commas ([`decode_proof`]).

mod compact;
mod encoding;
mod error;
mod hash;
mod head;
mod node;
mod proof;
mod receipt;
mod tree;
mod verify;

pub use compact::CompactRange;
pub use encoding::{decode_b64, decode_hash, decode_proof, encode_b64, encode_hash};
pub use error::{FormatError, LogError, VerifyError};
pub use hash::{empty_root, leaf_hash, node_hash, Hash, HashAlg};
pub use head::{key_id, SignedTreeHead, Signer, TreeHead, TREE_HEAD_CONTEXT, WIRE_VERSION};
pub use node::{FnSource, NodeId, NodeSource};
pub use proof::{consistency_nodes, consistency_proof, inclusion_nodes, inclusion_proof};
pub use receipt::{verify_receipt, Receipt};
pub use tree::{append_nodes, root, root_nodes, MemoryTree};
pub use verify::{verify_consistency, verify_inclusion};

/// Re-exported so callers can build a [`Signer`] from their own key type.
pub use ed25519_dalek::SigningKey;
