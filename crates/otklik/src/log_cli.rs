//! `otklik log …`: the standalone verifier for auditors, and the audit of a database.
//!
//! Each check answers `valid` (exit 0) or `invalid: CODE: reason` (exit 1); input that
//! cannot be read (a bad base64 hash, a missing file) is a usage error (exit 2).

use otklik_log::{decode_hash, decode_proof, HashAlg, SignedTreeHead};
use otklik_store::ledger::{verify_citizen_receipt, CitizenReceipt};
use otklik_store::{AuditOptions, AuditReport, Store};

/// The answer of a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Valid,
    Invalid { code: String, reason: String },
}

impl Verdict {
    fn of<E: std::fmt::Display>(result: Result<(), E>, code: impl Fn(&E) -> &'static str) -> Self {
        match result {
            Ok(()) => Self::Valid,
            Err(e) => Self::Invalid {
                code: code(&e).to_owned(),
                reason: e.to_string(),
            },
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Valid => write!(f, "valid"),
            Self::Invalid { code, reason } => write!(f, "invalid: {code}: {reason}"),
        }
    }
}

/// A usage error: input that is not what the command takes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Usage(pub String);

fn parse_alg(alg: &str) -> Result<HashAlg, Usage> {
    HashAlg::parse(alg)
        .map_err(|_| Usage(format!("--alg: unknown hash `{alg}` (sha256, streebog256)")))
}

fn hash_arg(name: &str, value: &str) -> Result<otklik_log::Hash, Usage> {
    decode_hash(value).map_err(|e| Usage(format!("{name}: {e}")))
}

fn proof_arg(value: &str) -> Result<Vec<otklik_log::Hash>, Usage> {
    decode_proof(value).map_err(|e| Usage(format!("--proof: {e}")))
}

pub fn verify_inclusion(
    alg: &str,
    leaf_hash: &str,
    index: u64,
    size: u64,
    root: &str,
    proof: &str,
) -> Result<Verdict, Usage> {
    let alg = parse_alg(alg)?;
    let leaf = hash_arg("--leaf-hash", leaf_hash)?;
    let root = hash_arg("--root", root)?;
    let proof = proof_arg(proof)?;
    Ok(Verdict::of(
        otklik_log::verify_inclusion(alg, &leaf, index, size, &proof, &root),
        |e| e.code(),
    ))
}

pub fn verify_consistency(
    alg: &str,
    size1: u64,
    size2: u64,
    root1: &str,
    root2: &str,
    proof: &str,
) -> Result<Verdict, Usage> {
    let alg = parse_alg(alg)?;
    let root1 = hash_arg("--root1", root1)?;
    let root2 = hash_arg("--root2", root2)?;
    let proof = proof_arg(proof)?;
    Ok(Verdict::of(
        otklik_log::verify_consistency(alg, size1, size2, &proof, &root1, &root2),
        |e| e.code(),
    ))
}

/// Checks a receipt file against a tree-head file fetched independently (e.g. from
/// `GET /api/v1/log/tree-head/{size}`), optionally pinning the platform's public key.
pub fn verify_receipt(
    receipt: &str,
    tree_head: &str,
    public_key: Option<&str>,
) -> Result<Verdict, Usage> {
    let receipt: CitizenReceipt = serde_json::from_str(receipt)
        .map_err(|e| Usage(format!("the receipt is not an Otklik receipt: {e}")))?;
    let head = SignedTreeHead::from_json(tree_head)
        .map_err(|e| Usage(format!("the tree head is not a signed tree head: {e}")))?;
    let key = public_key
        .map(|k| otklik_log::decode_b64(k).map_err(|e| Usage(format!("--public-key: {e}"))))
        .transpose()?;
    Ok(Verdict::of(
        verify_citizen_receipt(&receipt, &head, key.as_deref()),
        |e| e.code(),
    ))
}

/// Audits the log of a database beside a live server: a moment's lock
/// ("database is locked") is waited out, up to five seconds.
pub async fn audit_waiting(
    store: &dyn Store,
    from_size: u64,
    public_keys: &[String],
) -> Result<AuditReport, crate::AppError> {
    let mut attempts = 0;
    loop {
        match audit(store, from_size, public_keys).await {
            Err(crate::AppError::Store(e)) if e.is_busy() && attempts < 50 => {
                attempts += 1;
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            done => return done,
        }
    }
}

/// Audits the log of a database.
pub async fn audit(
    store: &dyn Store,
    from_size: u64,
    public_keys: &[String],
) -> Result<AuditReport, crate::AppError> {
    let keys = public_keys
        .iter()
        .map(|k| {
            otklik_log::decode_b64(k)
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| {
                    crate::AppError::Usage(format!("--public-key {k}: not a base64 Ed25519 key"))
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(store
        .audit_log(AuditOptions {
            from_size,
            public_keys: keys,
        })
        .await?)
}

/// The audit report as printed: one line per figure, then the verdict.
pub fn format_report(report: &AuditReport) -> String {
    let mut out = format!(
        "log: {} leaves, hash {}\nchecked from size {}: {} leaves, {} signed tree heads, {} events, {} submissions\n",
        report.size,
        report.alg.as_str(),
        report.from_size,
        report.leaves_checked,
        report.heads_checked,
        report.events_checked,
        report.submissions_checked,
    );
    match &report.divergence {
        None => out.push_str("valid"),
        Some(d) => out.push_str(&format!("invalid: {d}")),
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_single_leaf_tree_proves_its_leaf_with_the_empty_proof() {
        let leaf = otklik_log::leaf_hash(HashAlg::Sha256, b"hello");
        let b64 = otklik_log::encode_hash(&leaf);
        assert_eq!(
            verify_inclusion("sha256", &b64, 0, 1, &b64, "").unwrap(),
            Verdict::Valid
        );
        let other = otklik_log::encode_hash(&[0u8; 32]);
        assert!(matches!(
            verify_inclusion("sha256", &b64, 0, 1, &other, "").unwrap(),
            Verdict::Invalid { .. }
        ));
        assert!(verify_inclusion("sha256", "not base64", 0, 1, &b64, "").is_err());
        assert!(verify_inclusion("md5", &b64, 0, 1, &b64, "").is_err());
    }
}
