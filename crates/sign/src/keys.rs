//! Algorithms, their object identifiers, key generation and key loading.

use std::fmt;
use std::str::FromStr;

use openssl::asn1::Asn1Object;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{HasPublic, Id, PKey, PKeyRef, Private};
use openssl::pkey_ctx::PkeyCtx;
use serde::{Deserialize, Serialize};

use crate::{engine, SignError};

/// Object identifiers this crate names.
pub(crate) mod oid {
    /// GOST R 34.10-2012 with a 256-bit key (id-tc26-gost3410-12-256).
    pub const GOST2012_256: &str = "1.2.643.7.1.1.1.1";
    /// GOST R 34.10-2012 with a 512-bit key (id-tc26-gost3410-12-512).
    pub const GOST2012_512: &str = "1.2.643.7.1.1.1.2";
    /// id-tc26-signwithdigest-gost3410-12-256.
    pub const GOST2012_256_SIGN: &str = "1.2.643.7.1.1.3.2";
    /// id-tc26-signwithdigest-gost3410-12-512.
    pub const GOST2012_512_SIGN: &str = "1.2.643.7.1.1.3.3";
    /// GOST R 34.11-2012 (Streebog) 256-bit.
    pub const STREEBOG256: &str = "1.2.643.7.1.1.2.2";
    /// GOST R 34.11-2012 (Streebog) 512-bit.
    pub const STREEBOG512: &str = "1.2.643.7.1.1.2.3";
    pub const SHA1: &str = "1.3.14.3.2.26";
    pub const SHA256: &str = "2.16.840.1.101.3.4.2.1";
    pub const SHA384: &str = "2.16.840.1.101.3.4.2.2";
    pub const SHA512: &str = "2.16.840.1.101.3.4.2.3";
    pub const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
    pub const ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";
    pub const ECDSA_SHA384: &str = "1.2.840.10045.4.3.3";
    pub const ECDSA_SHA512: &str = "1.2.840.10045.4.3.4";
    pub const RSA: &str = "1.2.840.113549.1.1.1";
    pub const RSA_SHA256: &str = "1.2.840.113549.1.1.11";
    pub const RSA_SHA384: &str = "1.2.840.113549.1.1.12";
    pub const RSA_SHA512: &str = "1.2.840.113549.1.1.13";
    pub const SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
    pub const CONTENT_TYPE: &str = "1.2.840.113549.1.9.3";
    pub const MESSAGE_DIGEST: &str = "1.2.840.113549.1.9.4";
    pub const SIGNING_TIME: &str = "1.2.840.113549.1.9.5";
    /// id-aa-signingCertificate (ESSCertID, SHA-1).
    pub const SIGNING_CERTIFICATE: &str = "1.2.840.113549.1.9.16.2.12";
    /// id-aa-signingCertificateV2 (ESSCertIDv2).
    pub const SIGNING_CERTIFICATE_V2: &str = "1.2.840.113549.1.9.16.2.47";
    pub const SUBJECT_KEY_IDENTIFIER: &str = "2.5.29.14";
}

/// A signature algorithm the platform issues keys for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Algorithm {
    /// GOST R 34.10-2012, 256-bit key (parameter set A), Streebog-256 digest.
    #[serde(rename = "gost2012_256")]
    Gost2012_256,
    /// ECDSA on NIST P-256 with SHA-256.
    #[serde(rename = "ecdsa_p256")]
    EcdsaP256,
}

impl Algorithm {
    /// Every algorithm, the national one first.
    pub const ALL: [Algorithm; 2] = [Algorithm::Gost2012_256, Algorithm::EcdsaP256];

    /// The stable name: `gost2012_256` or `ecdsa_p256`.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Gost2012_256 => "gost2012_256",
            Algorithm::EcdsaP256 => "ecdsa_p256",
        }
    }

    /// The digest used for certificates and signatures made with this algorithm.
    pub(crate) fn digest(self) -> Result<MessageDigest, SignError> {
        match self {
            Algorithm::EcdsaP256 => Ok(MessageDigest::sha256()),
            Algorithm::Gost2012_256 => digest_by_oid(oid::STREEBOG256),
        }
    }

    /// A fresh key pair.
    pub(crate) fn generate(self) -> Result<PKey<Private>, SignError> {
        match self {
            Algorithm::EcdsaP256 => {
                let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)
                    .map_err(|e| SignError::crypto("P-256 group", e))?;
                let key = EcKey::generate(&group).map_err(|e| SignError::crypto("ECDSA key", e))?;
                PKey::from_ec_key(key).map_err(|e| SignError::crypto("ECDSA key", e))
            }
            Algorithm::Gost2012_256 => {
                engine::gost()?;
                let nid = nid_of(oid::GOST2012_256)?;
                let mut ctx = PkeyCtx::<()>::new_id(Id::from_raw(nid.as_raw()))
                    .map_err(|e| SignError::crypto("GOST key context", e))?;
                ctx.keygen_init()
                    .map_err(|e| SignError::crypto("GOST key generation", e))?;
                engine::ctrl_str(&mut ctx, "paramset", "A")?;
                ctx.keygen()
                    .map_err(|e| SignError::crypto("GOST key generation", e))
            }
        }
    }

    /// The algorithm of a key, if the platform signs with it.
    pub(crate) fn of_key<T: HasPublic>(key: &PKeyRef<T>) -> Result<Self, SignError> {
        if key.id() == Id::EC {
            let ec = key
                .ec_key()
                .map_err(|e| SignError::crypto("reading an EC key", e))?;
            if ec.group().curve_name() == Some(Nid::X9_62_PRIME256V1) {
                return Ok(Algorithm::EcdsaP256);
            }
            return Err(SignError::new(
                "bad_key",
                "only EC keys on P-256 are supported for signing",
            ));
        }
        if engine::gost().is_ok() && key.id().as_raw() == nid_of(oid::GOST2012_256)?.as_raw() {
            return Ok(Algorithm::Gost2012_256);
        }
        Err(SignError::new(
            "bad_key",
            format!(
                "unsupported key type (OpenSSL id {}); use a GOST R 34.10-2012 256-bit or an ECDSA P-256 key",
                key.id().as_raw()
            ),
        ))
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = SignError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Algorithm::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| {
                SignError::new(
                    "unsupported_algorithm",
                    format!("unknown algorithm {s:?}; expected gost2012_256 or ecdsa_p256"),
                )
            })
    }
}

/// Whether GOST operations are available: `Err` with code `gost_unavailable` and the reason
/// (typically: the Debian package `libengine-gost-openssl` is missing).
pub fn gost_status() -> Result<(), SignError> {
    engine::gost()
}

/// OpenSSL's NID for a dotted object identifier (registered by the GOST engine for GOST ones).
pub(crate) fn nid_of(dotted: &str) -> Result<Nid, SignError> {
    let obj = Asn1Object::from_str(dotted)
        .map_err(|e| SignError::crypto(&format!("object identifier {dotted}"), e))?;
    Ok(obj.nid())
}

/// The OpenSSL digest for a digest algorithm identifier; GOST ones need the engine.
pub(crate) fn digest_by_oid(dotted: &str) -> Result<MessageDigest, SignError> {
    match dotted {
        oid::SHA1 => Ok(MessageDigest::sha1()),
        oid::SHA256 => Ok(MessageDigest::sha256()),
        oid::SHA384 => Ok(MessageDigest::sha384()),
        oid::SHA512 => Ok(MessageDigest::sha512()),
        oid::STREEBOG256 | oid::STREEBOG512 => {
            engine::gost()?;
            let name = if dotted == oid::STREEBOG256 {
                "md_gost12_256"
            } else {
                "md_gost12_512"
            };
            MessageDigest::from_name(name).ok_or_else(|| {
                SignError::new(
                    "gost_unavailable",
                    format!("the GOST engine is loaded but offers no {name} digest"),
                )
            })
        }
        other => Err(SignError::new(
            "unsupported_algorithm",
            format!("unsupported digest algorithm {other}"),
        )),
    }
}

/// A private key from PEM (PKCS#8 or traditional) or DER (PKCS#8).
pub(crate) fn load_private_key(bytes: &[u8]) -> Result<PKey<Private>, SignError> {
    // GOST keys decode only once the engine is registered; its absence is reported below.
    let gost = engine::gost();
    let parsed = if looks_like_pem(bytes) {
        // No passphrase: an encrypted key fails here rather than prompting on a terminal.
        PKey::private_key_from_pem_callback(bytes, |_| Ok(0))
    } else {
        PKey::private_key_from_der(bytes).or_else(|_| PKey::private_key_from_pkcs8(bytes))
    };
    parsed.map_err(|_| {
        let mut detail = String::from(
            "the private key could not be read (expected an unencrypted PKCS#8 PEM or DER key)",
        );
        if let Err(e) = gost {
            detail.push_str(&format!(
                "; note that GOST keys need the GOST engine: {}",
                e.detail()
            ));
        }
        SignError::new("bad_key", detail)
    })
}

pub(crate) fn looks_like_pem(bytes: &[u8]) -> bool {
    let trimmed = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map_or(&[][..], |i| &bytes[i..]);
    trimmed.starts_with(b"-----BEGIN ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for a in Algorithm::ALL {
            assert_eq!(a.as_str().parse::<Algorithm>().ok(), Some(a));
            assert_eq!(
                serde_json::to_string(&a).ok(),
                Some(format!("\"{}\"", a.as_str()))
            );
        }
        assert_eq!(
            "rsa".parse::<Algorithm>().err().map(|e| e.code()),
            Some("unsupported_algorithm")
        );
    }

    #[test]
    fn ecdsa_keys_are_recognised() -> Result<(), SignError> {
        let key = Algorithm::EcdsaP256.generate()?;
        assert_eq!(Algorithm::of_key(&key)?, Algorithm::EcdsaP256);
        Ok(())
    }
}
