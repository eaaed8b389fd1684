//! Legally significant electronic signatures for Otklik documents.
//!
//! * [`Authority`]: the installation's certification authority (self-signed CA certificate,
//!   key sealed under the installation key); [`issue`] gives a person a key pair and an
//!   end-entity certificate, the key sealed under Argon2id(password, secret = installation
//!   key) with AES-256-GCM; [`Authority::crl`] lists revoked certificates.
//! * [`sign_sealed`] / [`sign_pem`]: CMS detached `SignedData`, CAdES-BES (content-type,
//!   message-digest, signing-time, signing-certificate-v2), made by OpenSSL.
//! * [`verify`]: parses the CMS itself (RustCrypto `cms`), checks each signer's message
//!   digest, signature, CAdES signing-certificate, certificate validity at the signing time,
//!   chain to a [`TrustStore`] and CRLs, and reports precise [`Problem`]s.
//! * [`package`]: the ZIP handed to people (document, signatures, report).
//!
//! # Algorithms
//! GOST R 34.10-2012 (256-bit, parameter set A, Streebog-256) through OpenSSL's `gost`
//! engine (Debian `libengine-gost-openssl`), loaded once on first use ([`gost_status`]); and
//! ECDSA P-256 with SHA-256, which needs nothing more. Verification also accepts GOST 512-bit,
//! other ECDSA curves and RSA PKCS#1 v1.5 signatures made elsewhere.
//!
//! ```
//! use otklik_sign::{issue, sign_sealed, verify, Algorithm, Authority, Subject, TrustStore};
//!
//! let installation_key = b"32 random bytes from the config.";
//! let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
//! let ca = Authority::create(Algorithm::EcdsaP256, "Otklik CA", installation_key, now)?;
//! let person = Subject { common_name: "Ivan Petrov".into(), organisation: None, uid: "u1".into() };
//! let issued = issue(&ca, installation_key, &person, "signing password", now, 365)?;
//! let signature = sign_sealed(
//!     &issued.certificate_der, &[], &issued.sealed_key, "signing password", installation_key,
//!     b"the document",
//! )?;
//! let mut trust = TrustStore::new();
//! trust.add_ca(&ca.certificate_der)?;
//! let report = verify(b"the document", &signature, &trust, now)?;
//! assert!(report.valid);
//! assert!(report.summary_lines()[0].starts_with("OK  CN=Ivan Petrov,UID=u1  ecdsa_p256  signed "));
//! let tampered = verify(b"the d0cument", &signature, &trust, now)?;
//! assert!(!tampered.valid);
//! assert_eq!(tampered.signers[0].problems[0].code, "content_mismatch");
//! # Ok::<(), otklik_sign::SignError>(())
//! ```
//!
//! # Invariants
//! No I/O beyond OpenSSL; time is passed in (`now`, Unix seconds); private keys never appear
//! in `Debug`, `Display` or errors; errors are stable snake_case codes ([`SignError::code`]).

mod ca;
#[allow(unsafe_code)]
mod engine;
mod error;
mod info;
mod keys;
mod package;
mod seal;
mod sign;
mod verify;

pub use ca::{issue, Authority, Issued, Revocation, Subject};
pub use error::SignError;
pub use info::{certificate_info, to_der, CertificateInfo};
pub use keys::{gost_status, Algorithm};
pub use package::package;
pub use sign::{sign_pem, sign_sealed};
pub use verify::{verify, Problem, Report, SignerReport, TrustStore};
