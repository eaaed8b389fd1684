//! The platform's signing service as pages and the API use it: its certification
//! authorities (one per available algorithm, created on first start and shared by every
//! node through the store), the trust store signatures are verified against (the
//! platform's authorities and the configured ones, with the configured revocation
//! lists), and the key that seals private keys. Cryptography runs on blocking threads.

use std::sync::Arc;

use otklik_sign::{Algorithm, Authority, Report, TrustStore};
use otklik_store::{AuthorityRecord, Store, StoreError};
use time::OffsetDateTime;

use crate::config::SigningConfig;
use crate::error::AppError;

/// Why the signing service could not start.
#[derive(Debug, thiserror::Error)]
pub enum SigningStartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Config(String),
}

pub struct Signing {
    /// Seals private keys (with each person's password for theirs); derived from the
    /// installation's secret, never stored.
    seal_key: [u8; 32],
    authorities: Vec<Authority>,
    trust: TrustStore,
    /// Why GOST is unavailable, when it is.
    gost_unavailable: Option<String>,
    pub certificate_days: u32,
}

impl std::fmt::Debug for Signing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signing")
            .field("algorithms", &self.algorithms())
            .finish_non_exhaustive()
    }
}

impl Signing {
    pub async fn load(
        store: &dyn Store,
        installation_key: &[u8],
        config: &SigningConfig,
    ) -> Result<Self, SigningStartError> {
        let seal_key = seal_key(installation_key);
        let gost_unavailable = otklik_sign::gost_status().err().map(|e| e.to_string());
        let mut authorities = Vec::new();
        let mut trust = TrustStore::default();
        for algorithm in Algorithm::ALL {
            if algorithm == Algorithm::Gost2012_256 && gost_unavailable.is_some() {
                continue;
            }
            let authority = match store.signing_authority(algorithm.as_str()).await? {
                Some(record) => authority_of(record)?,
                None => {
                    let now = OffsetDateTime::now_utc().unix_timestamp();
                    let created = tokio::task::spawn_blocking(move || {
                        Authority::create(algorithm, &authority_name(algorithm), &seal_key, now)
                    })
                    .await
                    .map_err(|e| SigningStartError::Config(e.to_string()))?
                    .map_err(|e| SigningStartError::Config(e.to_string()))?;
                    let stored = store
                        .put_signing_authority(
                            &AuthorityRecord {
                                algorithm: algorithm.as_str().to_owned(),
                                certificate_der: created.certificate_der,
                                sealed_key: created.sealed_key,
                            },
                            OffsetDateTime::now_utc(),
                        )
                        .await?;
                    authority_of(stored)?
                }
            };
            trust
                .add_ca(&authority.certificate_der)
                .map_err(|e| SigningStartError::Config(e.to_string()))?;
            authorities.push(authority);
        }
        for path in &config.trust {
            let bytes = read(path)?;
            trust
                .add_ca(&bytes)
                .map_err(|e| SigningStartError::Config(format!("{}: {e}", path.display())))?;
        }
        for path in &config.crls {
            let bytes = read(path)?;
            trust
                .add_crl(&bytes)
                .map_err(|e| SigningStartError::Config(format!("{}: {e}", path.display())))?;
        }
        if let Some(reason) = &gost_unavailable {
            tracing::warn!(%reason, "GOST signatures are unavailable");
        }
        Ok(Self {
            seal_key,
            authorities,
            trust,
            gost_unavailable,
            certificate_days: config.certificate_days,
        })
    }

    /// The algorithms this node can issue certificates and sign with.
    pub fn algorithms(&self) -> Vec<Algorithm> {
        self.authorities.iter().map(|a| a.algorithm).collect()
    }

    pub fn gost_unavailable(&self) -> Option<&str> {
        self.gost_unavailable.as_deref()
    }

    pub fn authority(&self, algorithm: Algorithm) -> Option<&Authority> {
        self.authorities.iter().find(|a| a.algorithm == algorithm)
    }

    pub fn seal_key(&self) -> [u8; 32] {
        self.seal_key
    }

    pub fn trust(&self) -> &TrustStore {
        &self.trust
    }

    /// Verifies a detached signature on a blocking thread.
    pub async fn verify(
        self: &Arc<Self>,
        content: Arc<Vec<u8>>,
        signature: Vec<u8>,
    ) -> Result<Report, AppError> {
        let this = self.clone();
        let now = OffsetDateTime::now_utc().unix_timestamp();
        blocking(move || otklik_sign::verify(&content, &signature, &this.trust, now))
            .await?
            .map_err(|e| AppError::field("signature", e.code()))
    }
}

/// Runs CPU-heavy work (Argon2, signatures) off the async threads.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AppError> {
    tokio::task::spawn_blocking(work).await.map_err(|e| {
        tracing::error!(error = %e, "signing task failed");
        AppError::internal()
    })
}

fn seal_key(installation_key: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    hasher.update(b"otklik-signing-seal/v1\n");
    hasher.update(installation_key);
    hasher.finalize().into()
}

fn authority_of(record: AuthorityRecord) -> Result<Authority, SigningStartError> {
    let algorithm = record
        .algorithm
        .parse::<Algorithm>()
        .map_err(|e| SigningStartError::Config(format!("stored authority: {e}")))?;
    Ok(Authority {
        algorithm,
        certificate_der: record.certificate_der,
        sealed_key: record.sealed_key,
    })
}

fn authority_name(algorithm: Algorithm) -> String {
    match algorithm {
        Algorithm::Gost2012_256 => "Otklik platform CA (GOST R 34.10-2012)".to_owned(),
        Algorithm::EcdsaP256 => "Otklik platform CA (ECDSA P-256)".to_owned(),
    }
}

fn read(path: &std::path::Path) -> Result<Vec<u8>, SigningStartError> {
    std::fs::read(path).map_err(|e| SigningStartError::Config(format!("{}: {e}", path.display())))
}
