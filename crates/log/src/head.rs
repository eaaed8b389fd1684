//! Signed tree heads: the log's Ed25519 signature over (alg, size, timestamp, root).

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::encoding::{decode_b64_array, encode_b64};
use crate::error::{FormatError, VerifyError};
use crate::hash::{Hash, HashAlg};

/// The domain-separation prefix of the signed message; bump `v1` if the layout changes.
pub const TREE_HEAD_CONTEXT: &[u8] = b"otklik-tree-head/v1\n";

/// The JSON wire version of signed tree heads and receipts.
pub const WIRE_VERSION: u32 = 1;

/// The state of the log at one moment. `timestamp_ms` is milliseconds since the Unix epoch,
/// supplied by the caller (this crate reads no clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeHead {
    pub size: u64,
    pub root: Hash,
    pub timestamp_ms: u64,
    pub alg: HashAlg,
}

impl TreeHead {
    /// The exact bytes that are signed:
    /// `"otklik-tree-head/v1\n" ‖ alg name ‖ "\n" ‖ size (u64 BE) ‖ timestamp_ms (u64 BE) ‖ root`.
    /// Every field has a fixed length or is terminated, so the encoding is unambiguous.
    pub fn signed_message(&self) -> Vec<u8> {
        let alg = self.alg.as_str().as_bytes();
        let mut m = Vec::with_capacity(TREE_HEAD_CONTEXT.len() + alg.len() + 1 + 8 + 8 + 32);
        m.extend_from_slice(TREE_HEAD_CONTEXT);
        m.extend_from_slice(alg);
        m.push(b'\n');
        m.extend_from_slice(&self.size.to_be_bytes());
        m.extend_from_slice(&self.timestamp_ms.to_be_bytes());
        m.extend_from_slice(&self.root);
        m
    }
}

/// Lower-case hex of the first 8 bytes of SHA-256(public key): a short name for a key.
pub fn key_id(public_key: &[u8; 32]) -> String {
    Sha256::digest(public_key)[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A tree head with the log's signature. `key_id` and `public_key` are not signed; they are
/// checked against each other and, when given, against the trusted key.
///
/// JSON wire form (version 1; binary fields base64, standard alphabet, padded):
/// `{"version":1,"alg":"sha256","size":N,"root":"<32 bytes>","timestamp_ms":N,
///   "key_id":"<16 hex>","public_key":"<32 bytes>","signature":"<64 bytes>"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "SignedTreeHeadWire", into = "SignedTreeHeadWire")]
pub struct SignedTreeHead {
    pub head: TreeHead,
    pub key_id: String,
    pub public_key: [u8; 32],
    pub signature: [u8; 64],
}

impl SignedTreeHead {
    /// Verifies the signature. With `trusted_key`, the embedded key must be that key;
    /// without, the embedded key is used (which only proves self-consistency).
    pub fn verify(&self, trusted_key: Option<&[u8]>) -> Result<(), VerifyError> {
        if let Some(trusted) = trusted_key {
            if trusted.len() != 32 {
                return Err(VerifyError::InvalidPublicKey);
            }
            if trusted != self.public_key {
                return Err(VerifyError::KeyMismatch);
            }
        }
        if key_id(&self.public_key) != self.key_id {
            return Err(VerifyError::KeyIdMismatch);
        }
        let key = VerifyingKey::from_bytes(&self.public_key)
            .map_err(|_| VerifyError::InvalidPublicKey)?;
        // Strict: rejects small-order keys and non-canonical signatures.
        key.verify_strict(
            &self.head.signed_message(),
            &Signature::from_bytes(&self.signature),
        )
        .map_err(|_| VerifyError::BadSignature)
    }

    pub fn to_json(&self) -> String {
        // Serialising plain strings and numbers cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_json(s: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(s)
    }
}

#[derive(Serialize, Deserialize)]
struct SignedTreeHeadWire {
    version: u32,
    alg: HashAlg,
    size: u64,
    root: String,
    timestamp_ms: u64,
    key_id: String,
    public_key: String,
    signature: String,
}

impl TryFrom<SignedTreeHeadWire> for SignedTreeHead {
    type Error = FormatError;
    fn try_from(w: SignedTreeHeadWire) -> Result<Self, FormatError> {
        if w.version != WIRE_VERSION {
            return Err(FormatError::UnsupportedVersion(w.version));
        }
        Ok(Self {
            head: TreeHead {
                size: w.size,
                root: decode_b64_array("root", &w.root)?,
                timestamp_ms: w.timestamp_ms,
                alg: w.alg,
            },
            key_id: w.key_id,
            public_key: decode_b64_array("public_key", &w.public_key)?,
            signature: decode_b64_array("signature", &w.signature)?,
        })
    }
}

impl From<SignedTreeHead> for SignedTreeHeadWire {
    fn from(s: SignedTreeHead) -> Self {
        Self {
            version: WIRE_VERSION,
            alg: s.head.alg,
            size: s.head.size,
            root: encode_b64(&s.head.root),
            timestamp_ms: s.head.timestamp_ms,
            key_id: s.key_id,
            public_key: encode_b64(&s.public_key),
            signature: encode_b64(&s.signature),
        }
    }
}

/// The log's signing key.
pub struct Signer {
    key: SigningKey,
}

impl Signer {
    pub fn new(key: SigningKey) -> Self {
        Self { key }
    }

    /// A new key from a cryptographically secure RNG supplied by the caller (e.g. `OsRng`).
    pub fn generate<R: rand_core::CryptoRngCore + ?Sized>(rng: &mut R) -> Self {
        Self {
            key: SigningKey::generate(rng),
        }
    }

    pub fn from_secret_bytes(secret: &[u8; 32]) -> Self {
        Self {
            key: SigningKey::from_bytes(secret),
        }
    }

    pub fn to_secret_bytes(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    pub fn public_key_bytes(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    pub fn key_id(&self) -> String {
        key_id(&self.public_key_bytes())
    }

    pub fn sign(&self, head: &TreeHead) -> SignedTreeHead {
        let public_key = self.public_key_bytes();
        SignedTreeHead {
            head: *head,
            key_id: key_id(&public_key),
            public_key,
            signature: self.key.sign(&head.signed_message()).to_bytes(),
        }
    }

    /// Verifies `sth` against a trusted public key (same as `sth.verify(Some(key))`).
    pub fn verify(sth: &SignedTreeHead, public_key: &[u8]) -> Result<(), VerifyError> {
        sth.verify(Some(public_key))
    }
}

impl std::fmt::Debug for Signer {
    // Never print the secret key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("key_id", &self.key_id())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn signed_message_layout_is_fixed() {
        let head = TreeHead {
            size: 0x0102,
            root: [0xee; 32],
            timestamp_ms: 0x0a0b,
            alg: HashAlg::Sha256,
        };
        let m = head.signed_message();
        let mut want = b"otklik-tree-head/v1\nsha256\n".to_vec();
        want.extend_from_slice(&[0, 0, 0, 0, 0, 0, 1, 2]);
        want.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0x0a, 0x0b]);
        want.extend_from_slice(&[0xee; 32]);
        assert_eq!(m, want);
    }

    #[test]
    fn key_id_is_sha256_prefix_hex() {
        // SHA-256 of 32 zero bytes starts 66687aadf862bd77.
        assert_eq!(key_id(&[0; 32]), "66687aadf862bd77");
    }

    #[test]
    fn debug_hides_the_secret() {
        let signer = Signer::from_secret_bytes(&[9; 32]);
        let shown = format!("{signer:?}");
        assert!(shown.contains(&signer.key_id()));
        assert!(!shown.contains("09, 09"));
        assert!(!shown.contains("[9, 9"));
    }
}
