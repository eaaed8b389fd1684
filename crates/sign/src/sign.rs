//! Making CMS detached signatures (CAdES-BES).

use openssl::cms::{CMSOptions, CmsContentInfo};
use openssl::pkey::{PKey, Private};
use openssl::stack::Stack;
use openssl::x509::X509;

use crate::keys::{load_private_key, looks_like_pem};
use crate::{seal, Algorithm, SignError};

/// `CMS_CADES` from `<openssl/cms.h>` (OpenSSL 3.0): add the ESS signing-certificate(-v2)
/// attribute. The `openssl` crate names no constant for it.
const CMS_CADES: u32 = 0x100000;

fn load_certificate(bytes: &[u8], what: &str) -> Result<X509, SignError> {
    crate::engine::prepare();
    let parsed = if looks_like_pem(bytes) {
        X509::from_pem(bytes)
    } else {
        X509::from_der(bytes)
    };
    parsed.map_err(|e| SignError::new("bad_certificate", format!("{what}: {e}")))
}

fn load_chain(chain: &[Vec<u8>]) -> Result<Vec<X509>, SignError> {
    crate::engine::prepare();
    let mut out = Vec::new();
    for (i, bytes) in chain.iter().enumerate() {
        if looks_like_pem(bytes) {
            let certs = X509::stack_from_pem(bytes).map_err(|e| {
                SignError::new(
                    "bad_certificate",
                    format!("chain certificate {}: {e}", i + 1),
                )
            })?;
            if certs.is_empty() {
                return Err(SignError::new(
                    "bad_certificate",
                    format!("chain certificate {}: no certificate in the PEM", i + 1),
                ));
            }
            out.extend(certs);
        } else {
            out.push(load_certificate(
                bytes,
                &format!("chain certificate {}", i + 1),
            )?);
        }
    }
    Ok(out)
}

/// Signs with a key already checked to belong to `cert`.
fn cms_sign(
    cert: &X509,
    key: &PKey<Private>,
    chain: Vec<X509>,
    content: &[u8],
) -> Result<Vec<u8>, SignError> {
    let algorithm = Algorithm::of_key(key)?;
    if algorithm == Algorithm::Gost2012_256 {
        crate::engine::gost()?;
    }
    let cert_key = cert
        .public_key()
        .map_err(|e| SignError::new("bad_certificate", format!("the certificate's key: {e}")))?;
    if !cert_key.public_eq(key) {
        return Err(SignError::new(
            "bad_key",
            "the private key does not belong to the certificate",
        ));
    }
    let mut stack = Stack::new().map_err(|e| SignError::crypto("a certificate list", e))?;
    for c in chain {
        stack
            .push(c)
            .map_err(|e| SignError::crypto("a certificate list", e))?;
    }
    let flags = CMSOptions::DETACHED
        | CMSOptions::BINARY
        | CMSOptions::NOSMIMECAP
        | CMSOptions::from_bits_retain(CMS_CADES);
    let cms = CmsContentInfo::sign(Some(cert), Some(key), Some(&stack), Some(content), flags)
        .map_err(|e| SignError::crypto("making the CMS signature", e))?;
    cms.to_der()
        .map_err(|e| SignError::crypto("encoding the CMS signature", e))
}

/// CMS detached SignedData (DER), CAdES-BES: signed attributes content-type, message-digest,
/// signing-time and signing-certificate-v2 (ESSCertIDv2); the signer's certificate and the
/// given chain included. A wrong password gives `wrong_password` and nothing else.
pub fn sign_sealed(
    certificate_der: &[u8],
    chain_der: &[Vec<u8>],
    sealed_key: &[u8],
    password: &str,
    installation_key: &[u8],
    content: &[u8],
) -> Result<Vec<u8>, SignError> {
    let cert = load_certificate(certificate_der, "the signer's certificate")?;
    let chain = load_chain(chain_der)?;
    let key = seal::open_password(sealed_key, password, installation_key)?;
    cms_sign(&cert, &key, chain, content)
}

/// Like [`sign_sealed`] with a key and certificates in PEM (or DER); the algorithm is the
/// key's. For the operator's command line and tests.
pub fn sign_pem(
    key_pem: &[u8],
    cert_pem: &[u8],
    chain_pem: &[Vec<u8>],
    content: &[u8],
) -> Result<Vec<u8>, SignError> {
    let key = load_private_key(key_pem)?;
    let cert = load_certificate(cert_pem, "the signer's certificate")?;
    let chain = load_chain(chain_pem)?;
    cms_sign(&cert, &key, chain, content)
}
