//! The installation's certification authority and the certificates it issues to people.

use std::fmt;

use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::{BigNum, MsbOption};
use openssl::nid::Nid;
use openssl::pkey::{HasPublic, PKeyRef, Private};
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, KeyUsage, SubjectKeyIdentifier,
};
use openssl::x509::{
    CrlNumber, X509Builder, X509CrlBuilder, X509Name, X509NameBuilder, X509RevokedBuilder, X509,
};

use crate::{seal, Algorithm, SignError};

/// Ten years (with leap days) for an authority's certificate.
const AUTHORITY_DAYS: i64 = 3653;
const DAY: i64 = 86_400;

/// The installation's certification authority: a self-signed CA certificate and its private key
/// sealed under the installation key.
#[derive(Clone, PartialEq, Eq)]
pub struct Authority {
    pub algorithm: Algorithm,
    pub certificate_der: Vec<u8>,
    pub sealed_key: Vec<u8>,
}

impl fmt::Debug for Authority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authority")
            .field("algorithm", &self.algorithm)
            .field(
                "certificate_der",
                &format_args!("<{} bytes>", self.certificate_der.len()),
            )
            .field(
                "sealed_key",
                &format_args!("<sealed, {} bytes>", self.sealed_key.len()),
            )
            .finish()
    }
}

/// Who a certificate is issued to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subject {
    /// The person's name as it appears on the certificate (CN).
    pub common_name: String,
    /// The organisation (O), for an official.
    pub organisation: Option<String>,
    /// The platform's stable identifier of the person (UID).
    pub uid: String,
}

/// A person's certificate and their sealed key.
#[derive(Clone, PartialEq, Eq)]
pub struct Issued {
    pub certificate_der: Vec<u8>,
    pub sealed_key: Vec<u8>,
    /// The certificate's serial number, lowercase hex without leading zeros.
    pub serial_hex: String,
    pub not_before: i64,
    pub not_after: i64,
}

impl fmt::Debug for Issued {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issued")
            .field("serial_hex", &self.serial_hex)
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .field(
                "certificate_der",
                &format_args!("<{} bytes>", self.certificate_der.len()),
            )
            .field(
                "sealed_key",
                &format_args!("<sealed, {} bytes>", self.sealed_key.len()),
            )
            .finish()
    }
}

/// A revoked certificate to list in a CRL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revocation {
    /// The serial number in hex, as in [`Issued::serial_hex`].
    pub serial_hex: String,
    /// When it was revoked (Unix seconds).
    pub revoked_at: i64,
}

fn crypto(doing: &'static str) -> impl Fn(openssl::error::ErrorStack) -> SignError {
    move |e| SignError::crypto(doing, e)
}

fn time(unix: i64) -> Result<Asn1Time, SignError> {
    Asn1Time::from_unix(unix).map_err(crypto("a certificate time"))
}

fn checked_text(what: &str, value: &str) -> Result<(), SignError> {
    let bad = value.trim().is_empty()
        || value.chars().count() > 64
        || value.chars().any(char::is_control);
    if bad {
        return Err(SignError::new(
            "bad_subject",
            format!("{what} must be 1 to 64 characters without control characters"),
        ));
    }
    Ok(())
}

fn name(
    common_name: &str,
    organisation: Option<&str>,
    uid: Option<&str>,
) -> Result<X509Name, SignError> {
    checked_text("the common name", common_name)?;
    let mut b = X509NameBuilder::new().map_err(crypto("a name"))?;
    if let Some(o) = organisation {
        checked_text("the organisation", o)?;
        b.append_entry_by_nid(Nid::ORGANIZATIONNAME, o)
            .map_err(crypto("a name's organisation"))?;
    }
    if let Some(uid) = uid {
        checked_text("the uid", uid)?;
        b.append_entry_by_nid(Nid::USERID, uid)
            .map_err(crypto("a name's uid"))?;
    }
    // Last, so that the RFC 4514 form (most specific first) starts with `CN=`.
    b.append_entry_by_nid(Nid::COMMONNAME, common_name)
        .map_err(crypto("a name's common name"))?;
    Ok(b.build())
}

/// A random positive 127-bit serial number.
fn serial() -> Result<(Asn1Integer, String), SignError> {
    let mut bn = BigNum::new().map_err(crypto("a serial number"))?;
    bn.rand(127, MsbOption::MAYBE_ZERO, false)
        .map_err(crypto("a serial number"))?;
    let hex = serial_hex(&bn)?;
    Ok((
        bn.to_asn1_integer().map_err(crypto("a serial number"))?,
        hex,
    ))
}

pub(crate) fn serial_hex(bn: &openssl::bn::BigNumRef) -> Result<String, SignError> {
    let hex = bn.to_hex_str().map_err(crypto("a serial number"))?;
    let trimmed = hex.trim_start_matches('0').to_ascii_lowercase();
    Ok(if trimmed.is_empty() {
        "0".into()
    } else {
        trimmed
    })
}

struct CertSpec<'a, K: HasPublic> {
    subject: &'a X509Name,
    public_key: &'a PKeyRef<K>,
    issuer: Option<&'a X509>,
    ca: bool,
    not_before: i64,
    not_after: i64,
}

fn certificate<K: HasPublic>(
    spec: CertSpec<'_, K>,
    signing_key: &PKeyRef<Private>,
    algorithm: Algorithm,
) -> Result<(X509, String), SignError> {
    let mut b = X509Builder::new().map_err(crypto("a certificate"))?;
    b.set_version(2).map_err(crypto("a certificate"))?;
    let (serial, hex) = serial()?;
    b.set_serial_number(&serial)
        .map_err(crypto("a certificate"))?;
    b.set_subject_name(spec.subject)
        .map_err(crypto("a certificate's subject"))?;
    let issuer_name = spec
        .issuer
        .map_or(spec.subject.as_ref(), |i| i.subject_name());
    b.set_issuer_name(issuer_name)
        .map_err(crypto("a certificate's issuer"))?;
    b.set_pubkey(spec.public_key)
        .map_err(crypto("a certificate's key"))?;
    b.set_not_before(&*time(spec.not_before)?)
        .map_err(crypto("a certificate's validity"))?;
    b.set_not_after(&*time(spec.not_after)?)
        .map_err(crypto("a certificate's validity"))?;
    let constraints = if spec.ca {
        BasicConstraints::new().critical().ca().build()
    } else {
        BasicConstraints::new().critical().build()
    }
    .map_err(crypto("basic constraints"))?;
    b.append_extension(constraints)
        .map_err(crypto("basic constraints"))?;
    let usage = if spec.ca {
        KeyUsage::new()
            .critical()
            .key_cert_sign()
            .crl_sign()
            .build()
    } else {
        KeyUsage::new()
            .critical()
            .digital_signature()
            .non_repudiation()
            .build()
    }
    .map_err(crypto("key usage"))?;
    b.append_extension(usage).map_err(crypto("key usage"))?;
    let ski = SubjectKeyIdentifier::new()
        .build(&b.x509v3_context(spec.issuer.map(|i| i.as_ref()), None))
        .map_err(crypto("subject key identifier"))?;
    b.append_extension(ski)
        .map_err(crypto("subject key identifier"))?;
    if let Some(issuer) = spec.issuer {
        let aki = AuthorityKeyIdentifier::new()
            .keyid(true)
            .build(&b.x509v3_context(Some(issuer), None))
            .map_err(crypto("authority key identifier"))?;
        b.append_extension(aki)
            .map_err(crypto("authority key identifier"))?;
    }
    b.sign(signing_key, algorithm.digest()?)
        .map_err(crypto("signing a certificate"))?;
    Ok((b.build(), hex))
}

impl Authority {
    /// A self-signed CA (10 years, basicConstraints CA, keyCertSign|cRLSign), its key sealed
    /// under the installation key alone.
    pub fn create(
        algorithm: Algorithm,
        name: &str,
        installation_key: &[u8],
        now: i64,
    ) -> Result<Self, SignError> {
        let key = algorithm.generate()?;
        let subject = self::name(name, None, None)?;
        let (cert, _) = certificate(
            CertSpec {
                subject: &subject,
                public_key: &key,
                issuer: None,
                ca: true,
                not_before: now,
                not_after: now + AUTHORITY_DAYS * DAY,
            },
            &key,
            algorithm,
        )?;
        Ok(Authority {
            algorithm,
            certificate_der: cert.to_der().map_err(crypto("encoding a certificate"))?,
            sealed_key: seal::seal_installation(&key, installation_key)?,
        })
    }

    /// The authority's certificate in PEM, for operators and relying parties.
    pub fn certificate_pem(&self) -> Result<String, SignError> {
        let cert = X509::from_der(&self.certificate_der).map_err(|e| {
            SignError::new(
                "bad_certificate",
                format!("the authority's certificate: {e}"),
            )
        })?;
        let pem = cert.to_pem().map_err(crypto("encoding a certificate"))?;
        String::from_utf8(pem).map_err(|_| SignError::new("crypto_failure", "PEM is not UTF-8"))
    }

    /// A CRL (DER) signed by the authority listing `revoked`, valid from `now` for
    /// `next_update_days`; its CRL number is `now`, so later lists have larger numbers.
    pub fn crl(
        &self,
        installation_key: &[u8],
        revoked: &[Revocation],
        now: i64,
        next_update_days: u32,
    ) -> Result<Vec<u8>, SignError> {
        let key = seal::open_installation(&self.sealed_key, installation_key)?;
        let cert = X509::from_der(&self.certificate_der).map_err(|e| {
            SignError::new(
                "bad_certificate",
                format!("the authority's certificate: {e}"),
            )
        })?;
        let mut b = X509CrlBuilder::new().map_err(crypto("a CRL"))?;
        b.set_issuer_name(cert.subject_name())
            .map_err(crypto("a CRL's issuer"))?;
        b.set_last_update(&*time(now)?).map_err(crypto("a CRL"))?;
        b.set_next_update(&*time(now + i64::from(next_update_days) * DAY)?)
            .map_err(crypto("a CRL"))?;
        for r in revoked {
            let bn = BigNum::from_hex_str(&r.serial_hex).map_err(|_| {
                SignError::new(
                    "bad_crl",
                    format!("{:?} is not a hex serial number", r.serial_hex),
                )
            })?;
            let mut entry = X509RevokedBuilder::new().map_err(crypto("a CRL entry"))?;
            entry
                .set_serial_number(&*bn.to_asn1_integer().map_err(crypto("a CRL entry"))?)
                .map_err(crypto("a CRL entry"))?;
            entry
                .set_revocation_date(&*time(r.revoked_at)?)
                .map_err(crypto("a CRL entry"))?;
            b.add_revoked(entry.build())
                .map_err(crypto("a CRL entry"))?;
        }
        let aki = AuthorityKeyIdentifier::new()
            .keyid(true)
            .build(
                &X509Builder::new()
                    .map_err(crypto("a CRL"))?
                    .x509v3_context(Some(&cert), None),
            )
            .map_err(crypto("a CRL's authority key identifier"))?;
        b.append_extension(aki)
            .map_err(crypto("a CRL's authority key identifier"))?;
        // The CRL number is the issue time: later lists get larger numbers.
        let number =
            BigNum::from_dec_str(&now.max(0).to_string()).map_err(crypto("a CRL number"))?;
        b.append_extension(
            CrlNumber::new(number)
                .and_then(CrlNumber::build)
                .map_err(crypto("a CRL number"))?,
        )
        .map_err(crypto("a CRL number"))?;
        b.sign(&key, self.algorithm.digest()?)
            .map_err(crypto("signing a CRL"))?;
        b.build()
            .map_err(crypto("a CRL"))?
            .to_der()
            .map_err(crypto("encoding a CRL"))
    }
}

/// A person's key pair and certificate (end entity: digitalSignature|nonRepudiation, no CA),
/// signed by the authority; the person's key sealed with AES-256-GCM under
/// Argon2id(password, random salt, secret = installation_key) so neither a database dump nor
/// the installation key alone opens it.
pub fn issue(
    authority: &Authority,
    installation_key: &[u8],
    subject: &Subject,
    password: &str,
    now: i64,
    valid_days: u32,
) -> Result<Issued, SignError> {
    if valid_days == 0 {
        return Err(SignError::new(
            "bad_subject",
            "valid_days must be at least 1",
        ));
    }
    let ca_key = seal::open_installation(&authority.sealed_key, installation_key)?;
    let ca_cert = X509::from_der(&authority.certificate_der).map_err(|e| {
        SignError::new(
            "bad_certificate",
            format!("the authority's certificate: {e}"),
        )
    })?;
    let key = authority.algorithm.generate()?;
    let subject_name = name(
        &subject.common_name,
        subject.organisation.as_deref(),
        Some(&subject.uid),
    )?;
    let not_before = now;
    let not_after = now + i64::from(valid_days) * DAY;
    let (cert, serial_hex) = certificate(
        CertSpec {
            subject: &subject_name,
            public_key: &key,
            issuer: Some(&ca_cert),
            ca: false,
            not_before,
            not_after,
        },
        &ca_key,
        authority.algorithm,
    )?;
    Ok(Issued {
        certificate_der: cert.to_der().map_err(crypto("encoding a certificate"))?,
        sealed_key: seal::seal_password(&key, password, installation_key)?,
        serial_hex,
        not_before,
        not_after,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
    }

    fn require(alg: Algorithm) {
        if alg == Algorithm::Gost2012_256 {
            if let Err(e) = crate::gost_status() {
                panic!("{e}; install the Debian package libengine-gost-openssl");
            }
        }
    }

    /// Neither the sealed bytes nor `Debug` hold the private key, in PKCS#8 or PEM or as the
    /// raw key octets; the installation key alone does not open a person's key.
    #[test]
    fn keys_never_leak() -> Result<(), SignError> {
        for alg in Algorithm::ALL {
            require(alg);
            let install = b"an installation key for the test";
            let authority = Authority::create(alg, "Test CA", install, 1_700_000_000)?;
            let subject = Subject {
                common_name: "Ivan Petrov".into(),
                organisation: None,
                uid: "u1".into(),
            };
            let issued = issue(&authority, install, &subject, "pw", 1_700_000_000, 30)?;
            let debug = format!("{authority:?} {issued:?}");
            let keys = [
                (
                    seal::open_installation(&authority.sealed_key, install)?,
                    &authority.sealed_key,
                ),
                (
                    seal::open_password(&issued.sealed_key, "pw", install)?,
                    &issued.sealed_key,
                ),
            ];
            for (key, sealed) in keys {
                let pkcs8 = key
                    .private_key_to_pkcs8()
                    .map_err(|e| SignError::crypto("t", e))?;
                let pem = key
                    .private_key_to_pem_pkcs8()
                    .map_err(|e| SignError::crypto("t", e))?;
                // The private key octets end the PKCS#8 structure.
                let raw = &pkcs8[pkcs8.len() - 32..];
                for secret in [&pkcs8[..], &pem[..], raw] {
                    assert!(!contains(sealed, secret), "{alg}: sealed key holds the key");
                    assert!(!contains(debug.as_bytes(), secret));
                    assert!(!debug.contains(&hex::encode(secret)));
                    assert!(!debug.contains(&format!("{secret:?}")));
                }
                assert!(!debug.contains(&format!("{:?}", &sealed[..])));
            }
            // The installation key alone (the authority's way) does not open a person's key.
            assert!(seal::open_installation(&issued.sealed_key, install).is_err());
            let e = seal::open_password(&issued.sealed_key, "", install).err();
            assert_eq!(e.map(|e| e.code()), Some("wrong_password"));
        }
        Ok(())
    }

    #[test]
    fn certificates_have_the_right_extensions() -> Result<(), SignError> {
        let install = b"k";
        let authority = Authority::create(Algorithm::EcdsaP256, "CA", install, 1_700_000_000)?;
        let subject = Subject {
            common_name: "Ivan".into(),
            organisation: Some("Org".into()),
            uid: "u1".into(),
        };
        let issued = issue(&authority, install, &subject, "pw", 1_700_000_000, 30)?;
        assert_eq!(issued.not_after - issued.not_before, 30 * DAY);
        let ca =
            X509::from_der(&authority.certificate_der).map_err(|e| SignError::crypto("t", e))?;
        let ee = X509::from_der(&issued.certificate_der).map_err(|e| SignError::crypto("t", e))?;
        let text =
            |c: &X509| String::from_utf8_lossy(&c.to_text().unwrap_or_default()).into_owned();
        let (ca_text, ee_text) = (text(&ca), text(&ee));
        assert!(ca_text.contains("CA:TRUE"), "{ca_text}");
        assert!(ca_text.contains("Certificate Sign, CRL Sign"), "{ca_text}");
        assert!(ee_text.contains("CA:FALSE"), "{ee_text}");
        assert!(
            ee_text.contains("Digital Signature, Non Repudiation"),
            "{ee_text}"
        );
        use der::Decode;
        let parsed = cms::cert::x509::Certificate::from_der(&issued.certificate_der)
            .map_err(|e| SignError::new("bad_certificate", e.to_string()))?;
        assert_eq!(
            parsed.tbs_certificate.subject.to_string(),
            "CN=Ivan,UID=u1,O=Org"
        );
        assert!(ee
            .verify(&*ca.public_key().map_err(|e| SignError::crypto("t", e))?)
            .unwrap_or(false));
        assert_eq!(
            serial_hex(
                &*ee.serial_number()
                    .to_bn()
                    .map_err(|e| SignError::crypto("t", e))?
            )?,
            issued.serial_hex
        );
        for bad in ["", " ", "a\nb"] {
            let s = Subject {
                common_name: bad.into(),
                organisation: None,
                uid: "u".into(),
            };
            let e = issue(&authority, install, &s, "pw", 0, 1).err();
            assert_eq!(e.map(|e| e.code()), Some("bad_subject"));
        }
        Ok(())
    }
}
