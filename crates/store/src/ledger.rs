//! What the transparency log records about an event: the canonical leaf encoding
//! (version 1) and the salted commitment that stands in for personal data.
//!
//! A leaf is the UTF-8 JSON object [`LeafV1`] serialised by `serde_json` with its fields
//! in declaration order and no whitespace; the format is specified in
//! `docs/TRANSPARENCY_LOG.md`. Everything a citizen wrote (texts, form fields, reasons,
//! comments) is in the [`Disclosure`], which only its author receives; the leaf carries
//! `commitment = SHA-256("otklik-commitment/v1\n" ‖ salt ‖ disclosure)`, with a random
//! 32-byte salt per leaf kept private, so a published log reveals nothing about citizens
//! and yet binds the platform to every word.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use otklik_log::{Hash, HashAlg};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const LEAF_VERSION: u32 = 1;
const COMMITMENT_DOMAIN: &[u8] = b"otklik-commitment/v1\n";
pub const SALT_LEN: usize = 32;

/// The public record of one lifecycle event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeafV1 {
    /// Always [`LEAF_VERSION`].
    pub v: u32,
    /// The event kind (`registered`, `taken_into_work`, `answered`, `redirected`, …).
    pub event: String,
    /// The submission's id and registration number.
    pub submission: i64,
    pub number: String,
    /// `message` or `appeal`.
    pub kind: String,
    /// When it happened, unix seconds (UTC).
    pub at: i64,
    /// The role that acted (`citizen`, `official`, `operator`), never who.
    pub actor: Option<String>,
    pub from_status: Option<String>,
    pub to_status: String,
    /// The organisation that held the submission before and after (public bodies).
    pub from_org: Option<i64>,
    pub to_org: i64,
    /// The deadline in force after the event, unix seconds (UTC).
    pub deadline_at: i64,
    /// The rejection ground (59-FZ art. 11) and the rating, when the event has one.
    pub ground: Option<String>,
    pub score: Option<i64>,
    /// SHA-256 (hex) of every file attached by the event — for an answer, its result
    /// documents — in the order they were stored.
    pub files: Vec<String>,
    /// Base64 of the commitment to the event's [`Disclosure`].
    pub commitment: String,
}

impl LeafV1 {
    /// The canonical bytes: the leaf's data in the log.
    pub fn encode(&self) -> Vec<u8> {
        // Serialising a struct of strings, integers and vectors cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, LeafError> {
        let leaf: Self = serde_json::from_slice(bytes).map_err(|_| LeafError::Malformed)?;
        if leaf.v != LEAF_VERSION {
            return Err(LeafError::UnknownVersion(leaf.v));
        }
        if leaf.encode() != bytes {
            return Err(LeafError::NotCanonical);
        }
        Ok(leaf)
    }
}

/// What an event says in words: shown to the citizen, committed to in the leaf.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Disclosure {
    /// The author of the submission (an account id), so the commitment binds who wrote it.
    pub author: i64,
    /// Registration: the submission's text and its form fields (JSON).
    pub text: Option<String>,
    pub fields: Option<String>,
    /// Redirect, rejection, re-review, rating: the reason or comment.
    pub reason: Option<String>,
    /// Answer, intermediate answer: its text.
    pub body: Option<String>,
}

impl Disclosure {
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// `SHA-256("otklik-commitment/v1\n" ‖ salt ‖ canonical disclosure)`.
    pub fn commitment(&self, salt: &[u8]) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(COMMITMENT_DOMAIN);
        hasher.update(salt);
        hasher.update(self.encode());
        hasher.finalize().into()
    }

    pub fn commitment_b64(&self, salt: &[u8]) -> String {
        B64.encode(self.commitment(salt))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeafError {
    #[error("the leaf is not a version-1 event record")]
    Malformed,
    #[error("unknown leaf version {0}")]
    UnknownVersion(u32),
    #[error("the leaf is not in canonical form")]
    NotCanonical,
}

impl LeafError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed => "leaf_malformed",
            Self::UnknownVersion(_) => "leaf_unknown_version",
            Self::NotCanonical => "leaf_not_canonical",
        }
    }
}

/// Checks that a disclosure and its salt open the leaf's commitment.
pub fn opens_commitment(leaf: &LeafV1, disclosure: &Disclosure, salt: &[u8]) -> bool {
    disclosure.commitment_b64(salt) == leaf.commitment
}

// --- what the store answers about the log ----------------------------------------------

/// The log as it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogInfo {
    pub alg: HashAlg,
    pub size: u64,
    pub root: Hash,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    pub alg: HashAlg,
    pub leaf_index: u64,
    pub tree_size: u64,
    pub leaf_hash: Hash,
    pub proof: Vec<Hash>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLeaf {
    pub index: u64,
    pub data: Vec<u8>,
    pub leaf_hash: Hash,
}

/// One leaf of a submission, listed in its history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptEntry {
    pub index: u64,
    pub kind: String,
    pub event: Option<otklik_domain::EventId>,
    pub at: time::OffsetDateTime,
    /// Whether a signed tree head covers it yet (receipts exist only then).
    pub signed: bool,
}

/// The salt and the words a leaf's commitment hides, given to the author only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisclosureOpening {
    /// Base64 of the 32-byte salt.
    pub salt: String,
    pub content: Disclosure,
}

impl DisclosureOpening {
    pub fn new(salt: &[u8], content: Disclosure) -> Self {
        Self {
            salt: B64.encode(salt),
            content,
        }
    }
}

/// A receipt as the citizen downloads it: the log's receipt (leaf, signed tree head,
/// inclusion proof) and, for the author, the opening of the leaf's commitment.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CitizenReceipt {
    /// Always 1.
    pub version: u32,
    pub receipt: otklik_log::Receipt,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disclosure: Option<DisclosureOpening>,
}

impl CitizenReceipt {
    pub fn new(
        alg: HashAlg,
        index: u64,
        data: &[u8],
        head: otklik_log::SignedTreeHead,
        proof: &[Hash],
        disclosure: Option<DisclosureOpening>,
    ) -> Self {
        Self {
            version: 1,
            receipt: otklik_log::Receipt {
                alg,
                leaf_index: index,
                leaf_data: data.to_vec(),
                tree_head: head,
                inclusion_proof: proof.to_vec(),
            },
            disclosure,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    #[error(transparent)]
    Log(#[from] otklik_log::VerifyError),
    #[error(transparent)]
    Leaf(#[from] LeafError),
    #[error("the disclosed words do not open the leaf's commitment: they were changed")]
    DisclosureMismatch,
    #[error("the disclosure's salt is not valid base64 of 32 bytes")]
    BadSalt,
}

impl ReceiptError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Log(e) => e.code(),
            Self::Leaf(e) => e.code(),
            Self::DisclosureMismatch => "disclosure_mismatch",
            Self::BadSalt => "bad_salt",
        }
    }
}

/// Verifies a citizen's receipt offline against a tree head fetched independently:
/// the log's checks (signature, inclusion) and, when the receipt carries a disclosure,
/// that the words shown to the citizen are the ones the log committed to.
pub fn verify_citizen_receipt(
    receipt: &CitizenReceipt,
    trusted: &otklik_log::SignedTreeHead,
    public_key: Option<&[u8]>,
) -> Result<(), ReceiptError> {
    otklik_log::verify_receipt(&receipt.receipt, trusted, public_key)?;
    if let Some(opening) = &receipt.disclosure {
        let leaf = LeafV1::decode(&receipt.receipt.leaf_data)?;
        let salt = B64
            .decode(&opening.salt)
            .ok()
            .filter(|s| s.len() == SALT_LEN)
            .ok_or(ReceiptError::BadSalt)?;
        if !opens_commitment(&leaf, &opening.content, &salt) {
            return Err(ReceiptError::DisclosureMismatch);
        }
    }
    Ok(())
}

// --- the audit ------------------------------------------------------------------------

/// What `audit_log` is asked to do.
#[derive(Debug, Clone, Default)]
pub struct AuditOptions {
    /// Start at this size (0: the whole log). A signed tree head of exactly this size
    /// must exist; the prefix is trusted once its stored subtrees reproduce that head.
    pub from_size: u64,
    /// Public keys to trust; empty: each head's own key, which must match its key id.
    pub public_keys: Vec<[u8; 32]>,
}

/// The first thing found wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Divergence {
    pub code: &'static str,
    pub index: Option<u64>,
    pub submission: Option<i64>,
    pub detail: String,
}

impl std::fmt::Display for Divergence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.code)?;
        if let Some(index) = self.index {
            write!(f, " at leaf {index}")?;
        }
        if let Some(submission) = self.submission {
            write!(f, " (submission {submission})")?;
        }
        write!(f, ": {}", self.detail)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditReport {
    pub alg: HashAlg,
    pub size: u64,
    pub from_size: u64,
    pub leaves_checked: u64,
    pub heads_checked: u64,
    pub events_checked: u64,
    pub submissions_checked: u64,
    pub divergence: Option<Divergence>,
}

/// The state a submission's last leaf says it is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tail {
    pub status: String,
    pub org: i64,
    pub deadline_at: i64,
}

/// Recomputes the tree from a stream of leaves and checks it against every signed tree
/// head on the way. Pure: the store feeds it rows and compares what it returns.
pub struct Auditor {
    alg: HashAlg,
    range: otklik_log::CompactRange,
    heads: std::collections::VecDeque<otklik_log::SignedTreeHead>,
    keys: Vec<[u8; 32]>,
    pub tails: std::collections::HashMap<i64, Tail>,
    pub leaves_checked: u64,
    pub heads_checked: u64,
    head_failure: Option<Divergence>,
}

impl Auditor {
    /// `heads` in increasing size; `range` the verified prefix (empty for a full audit).
    pub fn new(
        alg: HashAlg,
        range: otklik_log::CompactRange,
        heads: Vec<otklik_log::SignedTreeHead>,
        keys: Vec<[u8; 32]>,
    ) -> Result<Self, Divergence> {
        let start = range.size();
        let mut auditor = Self {
            alg,
            range,
            heads: heads.into_iter().filter(|h| h.head.size >= start).collect(),
            keys,
            tails: std::collections::HashMap::new(),
            leaves_checked: 0,
            heads_checked: 0,
            head_failure: None,
        };
        auditor.check_heads()?;
        Ok(auditor)
    }

    pub fn size(&self) -> u64 {
        self.range.size()
    }

    pub fn range(&self) -> &otklik_log::CompactRange {
        &self.range
    }

    /// Takes the next leaf; returns the perfect subtrees it completes, which must equal
    /// the stored ones.
    pub fn leaf(
        &mut self,
        index: u64,
        data: &[u8],
        is_event: bool,
    ) -> Result<Vec<(otklik_log::NodeId, Hash)>, Divergence> {
        if index != self.range.size() {
            return Err(divergence(
                "leaf_missing",
                Some(self.range.size()),
                None,
                format!("the next stored leaf is {index}"),
            ));
        }
        if is_event {
            let leaf = LeafV1::decode(data)
                .map_err(|e| divergence(e.code(), Some(index), None, e.to_string()))?;
            self.tails.insert(
                leaf.submission,
                Tail {
                    status: leaf.to_status,
                    org: leaf.to_org,
                    deadline_at: leaf.deadline_at,
                },
            );
        }
        let completed = self
            .range
            .push(otklik_log::leaf_hash(self.alg, data))
            .map_err(|e| divergence(e.code(), Some(index), None, e.to_string()))?;
        self.leaves_checked += 1;
        // A wrong head is reported after the chunk's stored subtrees are compared: an
        // edited leaf is then named by its index, not only by the head that covers it.
        if self.head_failure.is_none() {
            self.head_failure = self.check_heads().err();
        }
        Ok(completed)
    }

    /// The first signed tree head found wrong, if any.
    pub fn head_failure(&self) -> Option<Divergence> {
        self.head_failure.clone()
    }

    /// Every head not yet checked whose size the range has reached.
    fn check_heads(&mut self) -> Result<(), Divergence> {
        while let Some(head) = self.heads.front() {
            if head.head.size > self.range.size() {
                break;
            }
            let size = head.head.size;
            if head.head.root != self.range.root() {
                return Err(divergence(
                    "tree_head_mismatch",
                    None,
                    None,
                    format!(
                        "the signed tree head of size {size} has another root than the leaves give"
                    ),
                ));
            }
            let valid = if self.keys.is_empty() {
                head.verify(None).is_ok()
            } else {
                self.keys
                    .iter()
                    .any(|key| head.verify(Some(key.as_slice())).is_ok())
            };
            if !valid {
                return Err(divergence(
                    "tree_head_signature",
                    None,
                    None,
                    format!("the signature of the tree head of size {size} is not valid"),
                ));
            }
            self.heads_checked += 1;
            self.heads.pop_front();
        }
        Ok(())
    }

    /// After the last leaf: heads must not claim more leaves than there are.
    pub fn finish(&self) -> Result<(), Divergence> {
        if let Some(failure) = &self.head_failure {
            return Err(failure.clone());
        }
        match self.heads.front() {
            Some(head) => Err(divergence(
                "tree_head_beyond_log",
                None,
                None,
                format!(
                    "a signed tree head of size {} exists but the log holds {} leaves",
                    head.head.size,
                    self.range.size()
                ),
            )),
            None => Ok(()),
        }
    }
}

pub fn divergence(
    code: &'static str,
    index: Option<u64>,
    submission: Option<i64>,
    detail: String,
) -> Divergence {
    Divergence {
        code,
        index,
        submission,
        detail,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn leaf(commitment: String) -> LeafV1 {
        LeafV1 {
            v: 1,
            event: "registered".into(),
            submission: 7,
            number: "2026-0000007".into(),
            kind: "message".into(),
            at: 1_790_000_000,
            actor: Some("citizen".into()),
            from_status: None,
            to_status: "registered".into(),
            from_org: None,
            to_org: 3,
            deadline_at: 1_791_000_000,
            ground: None,
            score: None,
            files: vec!["ab".repeat(32)],
            commitment,
        }
    }

    #[test]
    fn encoding_is_canonical_and_round_trips() {
        let salt = [9u8; SALT_LEN];
        let disclosure = Disclosure {
            author: 42,
            text: Some("Яма на дороге у дома 5".into()),
            fields: Some("{}".into()),
            ..Disclosure::default()
        };
        let leaf = leaf(disclosure.commitment_b64(&salt));
        let bytes = leaf.encode();
        assert!(bytes.starts_with(b"{\"v\":1,\"event\":\"registered\",\"submission\":7,"));
        assert_eq!(LeafV1::decode(&bytes).unwrap(), leaf);
        assert!(opens_commitment(&leaf, &disclosure, &salt));
        // Nothing the citizen wrote is in the leaf.
        assert!(!String::from_utf8(bytes).unwrap().contains("Яма"));
    }

    #[test]
    fn an_altered_disclosure_or_salt_does_not_open_the_commitment() {
        let salt = [1u8; SALT_LEN];
        let disclosure = Disclosure {
            author: 1,
            body: Some("Ответ".into()),
            ..Disclosure::default()
        };
        let leaf = leaf(disclosure.commitment_b64(&salt));
        let mut edited = disclosure.clone();
        edited.body = Some("Ответ!".into());
        assert!(!opens_commitment(&leaf, &edited, &salt));
        assert!(!opens_commitment(&leaf, &disclosure, &[2u8; SALT_LEN]));
    }

    #[test]
    fn non_canonical_or_unknown_leaves_are_refused() {
        let leaf = leaf("x".into());
        let spaced = serde_json::to_vec_pretty(&leaf).unwrap();
        assert_eq!(LeafV1::decode(&spaced), Err(LeafError::NotCanonical));
        let mut future = leaf.clone();
        future.v = 2;
        assert_eq!(
            LeafV1::decode(&future.encode()),
            Err(LeafError::UnknownVersion(2))
        );
        assert_eq!(LeafV1::decode(b"not json"), Err(LeafError::Malformed));
    }
}
