//! What a certificate says, for people's lists of their certificates, and the DER form of
//! signatures and certificates given as PEM.

use der::{Decode, Encode};
use openssl::hash::{hash, MessageDigest};

use crate::keys::looks_like_pem;
use crate::SignError;

/// A certificate as the platform lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateInfo {
    pub der: Vec<u8>,
    /// RFC 4514, as verification reports name signers.
    pub subject: String,
    pub issuer: String,
    /// Lowercase hex.
    pub serial: String,
    pub not_before: i64,
    pub not_after: i64,
    /// SHA-256 (hex) of the DER, as reports give `certificate_sha256`.
    pub sha256: String,
    /// `gost2012_256`, `ecdsa_p256`, … (the key's algorithm).
    pub algorithm: String,
}

/// Reads one certificate, PEM or DER.
pub fn certificate_info(certificate: &[u8]) -> Result<CertificateInfo, SignError> {
    let der = certificate_der(certificate)?;
    let parsed = cms::cert::x509::certificate::Certificate::from_der(&der)
        .map_err(|e| SignError::new("bad_certificate", format!("not an X.509 certificate: {e}")))?;
    let tbs = &parsed.tbs_certificate;
    let unix = |t: cms::cert::x509::time::Time| {
        i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
    };
    let serial = hex::encode(tbs.serial_number.as_bytes());
    let serial = match serial.trim_start_matches('0') {
        "" => "0".to_owned(),
        s => s.to_owned(),
    };
    let sha256 = hash(MessageDigest::sha256(), &der)
        .map(hex::encode)
        .map_err(|e| SignError::new("bad_certificate", e.to_string()))?;
    Ok(CertificateInfo {
        subject: tbs.subject.to_string(),
        issuer: tbs.issuer.to_string(),
        serial,
        not_before: unix(tbs.validity.not_before),
        not_after: unix(tbs.validity.not_after),
        sha256,
        algorithm: crate::verify::algorithm_name(&parsed),
        der: parsed
            .to_der()
            .map_err(|e| SignError::new("bad_certificate", e.to_string()))?,
    })
}

/// The DER of a certificate given as PEM (the first `CERTIFICATE` block) or DER.
pub(crate) fn certificate_der(certificate: &[u8]) -> Result<Vec<u8>, SignError> {
    crate::engine::prepare();
    if looks_like_pem(certificate) {
        openssl::x509::X509::from_pem(certificate)
            .and_then(|c| c.to_der())
            .map_err(|e| SignError::new("bad_certificate", format!("not a PEM certificate: {e}")))
    } else {
        Ok(certificate.to_vec())
    }
}

/// The DER of a CMS signature given as PEM or DER (`malformed_signature` otherwise).
pub fn to_der(signature: &[u8]) -> Result<Vec<u8>, SignError> {
    crate::verify::signature_der(signature)
}
