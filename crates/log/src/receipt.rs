//! Receipts: what a citizen keeps to prove later that an event was logged.

use serde::{Deserialize, Serialize};

use crate::encoding::{decode_b64, decode_b64_array, encode_b64};
use crate::error::{FormatError, VerifyError};
use crate::hash::{leaf_hash, Hash, HashAlg};
use crate::head::{SignedTreeHead, WIRE_VERSION};
use crate::verify::verify_inclusion;

/// Proof that `leaf_data` is leaf `leaf_index` of the tree signed in `tree_head`.
///
/// JSON wire form (version 1; binary fields base64, standard alphabet, padded):
/// `{"version":1,"alg":"sha256","leaf_index":N,"leaf_data":"<event bytes>",
///   "tree_head":{<SignedTreeHead>},"inclusion_proof":["<32 bytes>", ...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ReceiptWire", into = "ReceiptWire")]
pub struct Receipt {
    pub alg: HashAlg,
    pub leaf_index: u64,
    /// The canonical bytes of the logged event; the leaf hash is `leaf_hash(alg, leaf_data)`.
    pub leaf_data: Vec<u8>,
    pub tree_head: SignedTreeHead,
    pub inclusion_proof: Vec<Hash>,
}

impl Receipt {
    pub fn to_json(&self) -> String {
        // Serialising plain strings and numbers cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_json(s: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(s)
    }
}

#[derive(Serialize, Deserialize)]
struct ReceiptWire {
    version: u32,
    alg: HashAlg,
    leaf_index: u64,
    leaf_data: String,
    tree_head: SignedTreeHead,
    inclusion_proof: Vec<String>,
}

impl TryFrom<ReceiptWire> for Receipt {
    type Error = FormatError;
    fn try_from(w: ReceiptWire) -> Result<Self, FormatError> {
        if w.version != WIRE_VERSION {
            return Err(FormatError::UnsupportedVersion(w.version));
        }
        Ok(Self {
            alg: w.alg,
            leaf_index: w.leaf_index,
            leaf_data: decode_b64(&w.leaf_data)?,
            tree_head: w.tree_head,
            inclusion_proof: w
                .inclusion_proof
                .iter()
                .map(|s| decode_b64_array("inclusion_proof", s))
                .collect::<Result<_, _>>()?,
        })
    }
}

impl From<Receipt> for ReceiptWire {
    fn from(r: Receipt) -> Self {
        Self {
            version: WIRE_VERSION,
            alg: r.alg,
            leaf_index: r.leaf_index,
            leaf_data: encode_b64(&r.leaf_data),
            tree_head: r.tree_head,
            inclusion_proof: r.inclusion_proof.iter().map(|h| encode_b64(h)).collect(),
        }
    }
}

/// Verifies a receipt against a tree head the auditor fetched independently.
///
/// 1. The receipt, its tree head and the trusted head use one algorithm (`alg_mismatch`).
/// 2. Both heads name the same tree: size and root (`head_mismatch`); timestamps may differ.
/// 3. Both heads' signatures verify: against `public_key` when given; otherwise against the
///    receipt head's embedded key, which must then be the trusted head's key too
///    (`key_mismatch`), so that the trusted head anchors the key.
/// 4. `leaf_hash(leaf_data)` is included at `leaf_index` under that root.
pub fn verify_receipt(
    receipt: &Receipt,
    trusted_head: &SignedTreeHead,
    public_key: Option<&[u8]>,
) -> Result<(), VerifyError> {
    let head = &receipt.tree_head.head;
    if receipt.alg != head.alg || head.alg != trusted_head.head.alg {
        return Err(VerifyError::AlgMismatch);
    }
    if head.size != trusted_head.head.size || head.root != trusted_head.head.root {
        return Err(VerifyError::HeadMismatch);
    }
    let key: &[u8] = match public_key {
        Some(key) => key,
        None => &receipt.tree_head.public_key,
    };
    receipt.tree_head.verify(Some(key))?;
    trusted_head.verify(Some(key))?;
    verify_inclusion(
        receipt.alg,
        &leaf_hash(receipt.alg, &receipt.leaf_data),
        receipt.leaf_index,
        head.size,
        &receipt.inclusion_proof,
        &head.root,
    )
}
