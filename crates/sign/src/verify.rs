//! Verifying CMS signatures (detached or not, CAdES-BES or plain), with precise problems.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use cms::cert::x509::certificate::Certificate;
use cms::cert::x509::ext::pkix::SubjectKeyIdentifier;
use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use der::asn1::{ObjectIdentifier, OctetString};
use der::{Any, Decode, Encode};
use openssl::asn1::{Asn1Time, Asn1TimeRef};
use openssl::cms::CmsContentInfo;
use openssl::hash::{hash, MessageDigest};
use openssl::sign::Verifier;
use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::verify::{X509VerifyFlags, X509VerifyParam};
use openssl::x509::{CrlStatus, X509Crl, X509StoreContext, X509};
use serde::Serialize;

use crate::keys::{digest_by_oid, looks_like_pem, oid};
use crate::SignError;

/// How far a claimed signing time may be ahead of the verifier's clock.
const CLOCK_SKEW: i64 = 300;

/// Certificate authorities and CRLs a verification trusts.
#[derive(Clone, Default)]
pub struct TrustStore {
    cas: Vec<X509>,
    crls: Vec<Arc<X509Crl>>,
}

impl fmt::Debug for TrustStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustStore")
            .field("cas", &self.cas.len())
            .field("crls", &self.crls.len())
            .finish()
    }
}

/// The PEM blocks of `label` in `bytes`, each with its armour.
fn pem_blocks<'a>(bytes: &'a [u8], label: &str) -> Vec<&'a [u8]> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut out = Vec::new();
    let mut rest = bytes;
    while let Some(start) = find(rest, begin.as_bytes()) {
        let Some(stop) = find(&rest[start..], end.as_bytes()) else {
            break;
        };
        let stop = start + stop + end.len();
        out.push(&rest[start..stop]);
        rest = &rest[stop..];
    }
    out
}

/// Decodes the TLV held in `any` as a `T` (works for CHOICE types too).
fn decode_any<T: for<'a> Decode<'a>>(any: &Any) -> Option<T> {
    any.to_der().ok().and_then(|d| T::from_der(&d).ok())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

impl TrustStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts the certificate(s): PEM (possibly several) or one DER certificate.
    pub fn add_ca(&mut self, bytes: &[u8]) -> Result<(), SignError> {
        crate::engine::prepare();
        if looks_like_pem(bytes) {
            let certs = X509::stack_from_pem(bytes)
                .map_err(|e| SignError::new("bad_certificate", format!("a CA certificate: {e}")))?;
            if certs.is_empty() {
                return Err(SignError::new(
                    "bad_certificate",
                    "no certificate in the CA file",
                ));
            }
            self.cas.extend(certs);
        } else {
            let cert = X509::from_der(bytes)
                .map_err(|e| SignError::new("bad_certificate", format!("a CA certificate: {e}")))?;
            self.cas.push(cert);
        }
        Ok(())
    }

    /// Adds certificate revocation list(s): PEM (possibly several) or one DER CRL. A CRL is
    /// used only for certificates whose issuer signed it.
    pub fn add_crl(&mut self, bytes: &[u8]) -> Result<(), SignError> {
        crate::engine::prepare();
        let bad = |e: openssl::error::ErrorStack| SignError::new("bad_crl", format!("a CRL: {e}"));
        if looks_like_pem(bytes) {
            let blocks = pem_blocks(bytes, "X509 CRL");
            if blocks.is_empty() {
                return Err(SignError::new("bad_crl", "no X509 CRL in the PEM"));
            }
            for block in blocks {
                self.crls
                    .push(Arc::new(X509Crl::from_pem(block).map_err(bad)?));
            }
        } else {
            self.crls
                .push(Arc::new(X509Crl::from_der(bytes).map_err(bad)?));
        }
        Ok(())
    }

    /// How many CA certificates and CRLs are held.
    pub fn counts(&self) -> (usize, usize) {
        (self.cas.len(), self.crls.len())
    }

    /// Whether a certificate (PEM or DER) is one to accept for a person's own key: valid
    /// at `now` (and its issuing CAs too), chained to a trusted authority, not revoked by a
    /// CRL held here. `Err` carries the first problem's code: `bad_certificate`,
    /// `certificate_expired`, `certificate_not_yet_valid`, `untrusted_chain` or `revoked`.
    pub fn check_certificate(&self, certificate: &[u8], now: i64) -> Result<(), SignError> {
        let der = crate::info::certificate_der(certificate)?;
        let cert = Cert::from_der(der)
            .ok_or_else(|| SignError::new("bad_certificate", "not an X.509 certificate"))?;
        let mut problems = validity(&cert, now, "the certificate");
        problems.extend(chain_problems(self, &cert, Vec::new(), now));
        match problems.into_iter().next() {
            None => Ok(()),
            Some(p) => Err(SignError::new(p.code, p.detail)),
        }
    }
}

/// The outcome of a verification.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// Every signer valid, and at least one.
    pub valid: bool,
    /// SHA-256 of the content checked, lowercase hex.
    pub content_sha256: String,
    pub signers: Vec<SignerReport>,
    /// Problems of the signature as a whole (`no_signers`).
    pub problems: Vec<Problem>,
}

/// One signer's findings.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct SignerReport {
    /// The signer certificate's subject (RFC 4514), or what identifies the missing certificate.
    pub subject: String,
    pub issuer: String,
    /// Serial number, lowercase hex.
    pub serial: String,
    /// `gost2012_256`, `gost2012_512`, `ecdsa_p256`, `ecdsa_p384`, `rsa`, or the OID.
    pub algorithm: String,
    /// The signing-time attribute (Unix seconds), as the signer claims it.
    pub signing_time: Option<i64>,
    pub not_before: Option<i64>,
    pub not_after: Option<i64>,
    /// SHA-256 of the signer's certificate (DER), lowercase hex; empty when it is missing.
    pub certificate_sha256: String,
    /// A CAdES signing-certificate(-v2) attribute is present and names this certificate.
    pub cades_signing_certificate: bool,
    pub valid: bool,
    pub problems: Vec<Problem>,
}

/// A precise reason a signer (or the signature) is not valid.
///
/// Codes: `content_mismatch`, `bad_signature`, `bad_signed_attributes`,
/// `certificate_missing`, `certificate_expired`, `certificate_not_yet_valid`,
/// `untrusted_chain`, `revoked`, `signing_certificate_mismatch`, `signing_time_in_future`
/// (more than five minutes after `now`), `not_detached` (the signature embeds content),
/// `unsupported_algorithm`, `gost_unavailable`, `no_signers`.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub code: &'static str,
    pub detail: String,
}

impl Problem {
    fn new(code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
        }
    }
}

/// `2026-12-05T10:00:00Z`, or the number if out of range.
pub(crate) fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("@{unix}"))
}

impl Report {
    /// One line per signer, in English: `OK  CN=…  gost2012_256  signed 2026-12-05T10:00:00Z`
    /// or `FAIL CN=…: certificate_expired: …; revoked: …`.
    pub fn summary_lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .problems
            .iter()
            .map(|p| format!("FAIL {}: {}", p.code, p.detail))
            .collect();
        for s in &self.signers {
            if s.valid {
                let when = s.signing_time.map_or_else(
                    || "no signing time".to_owned(),
                    |t| format!("signed {}", rfc3339(t)),
                );
                lines.push(format!("OK  {}  {}  {}", s.subject, s.algorithm, when));
            } else {
                let why: Vec<String> = s
                    .problems
                    .iter()
                    .map(|p| format!("{}: {}", p.code, p.detail))
                    .collect();
                lines.push(format!("FAIL {}: {}", s.subject, why.join("; ")));
            }
        }
        lines
    }
}

fn malformed(detail: impl Into<String>) -> SignError {
    SignError::new("malformed_signature", detail)
}

/// DER from DER or PEM (`CMS`, `PKCS7`, `PKCS #7 SIGNED DATA`).
pub(crate) fn signature_der(signature: &[u8]) -> Result<Vec<u8>, SignError> {
    if !looks_like_pem(signature) {
        return Ok(signature.to_vec());
    }
    let text = std::str::from_utf8(signature).map_err(|_| malformed("the PEM is not text"))?;
    let mut body = String::new();
    let mut inside = false;
    let mut finished = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("-----BEGIN ") {
            let label = line
                .trim_start_matches("-----BEGIN ")
                .trim_end_matches("-----");
            if !matches!(label, "CMS" | "PKCS7" | "PKCS #7 SIGNED DATA") {
                return Err(malformed(format!("a PEM {label:?} is not a CMS signature")));
            }
            inside = true;
        } else if line.starts_with("-----END ") {
            finished = inside;
            break;
        } else if inside && !line.contains(':') {
            body.push_str(line);
        }
    }
    if !finished {
        return Err(malformed("the PEM armour is incomplete"));
    }
    base64::engine::general_purpose::STANDARD
        .decode(body.as_bytes())
        .map_err(|e| malformed(format!("the PEM body is not base64: {e}")))
}

fn parse_signed_data(der: &[u8]) -> Result<SignedData, SignError> {
    let ci = match ContentInfo::from_der(der) {
        Ok(ci) => ci,
        Err(strict) => {
            // BER (indefinite lengths, as streaming signers write): let OpenSSL, which reads
            // BER, re-encode it as DER, then parse again.
            let reencoded = CmsContentInfo::from_der(der)
                .and_then(|c| c.to_der())
                .map_err(|_| malformed(format!("not a CMS structure: {strict}")))?;
            ContentInfo::from_der(&reencoded)
                .map_err(|e| malformed(format!("not a CMS structure: {e}")))?
        }
    };
    if ci.content_type.to_string() != oid::SIGNED_DATA {
        return Err(malformed(format!(
            "a CMS {} is not a SignedData",
            ci.content_type
        )));
    }
    ci.content
        .decode_as::<SignedData>()
        .map_err(|e| malformed(format!("the SignedData is malformed: {e}")))
}

/// A certificate as both parsers see it.
struct Cert {
    parsed: Certificate,
    der: Vec<u8>,
    x509: X509,
}

impl Cert {
    fn from_der(der: Vec<u8>) -> Option<Self> {
        crate::engine::prepare();
        let parsed = Certificate::from_der(&der).ok()?;
        let x509 = X509::from_der(&der).ok()?;
        Some(Cert { parsed, der, x509 })
    }

    fn subject_key_identifier(&self) -> Option<Vec<u8>> {
        let exts = self.parsed.tbs_certificate.extensions.as_ref()?;
        let ext = exts
            .iter()
            .find(|e| e.extn_id.to_string() == oid::SUBJECT_KEY_IDENTIFIER)?;
        let ski = SubjectKeyIdentifier::from_der(ext.extn_value.as_bytes()).ok()?;
        Some(ski.0.as_bytes().to_vec())
    }
}

fn unix(t: cms::cert::x509::time::Time) -> i64 {
    i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
}

fn asn1_unix(t: &Asn1TimeRef) -> Option<i64> {
    let epoch = Asn1Time::from_unix(0).ok()?;
    let d = epoch.diff(t).ok()?;
    Some(i64::from(d.days) * 86_400 + i64::from(d.secs))
}

fn sha256_hex(bytes: &[u8]) -> String {
    hash(MessageDigest::sha256(), bytes)
        .map(hex::encode)
        .unwrap_or_default()
}

/// The name a report uses for the key in a certificate.
pub(crate) fn algorithm_name(cert: &Certificate) -> String {
    let spki = &cert.tbs_certificate.subject_public_key_info.algorithm;
    let key_oid = spki.oid.to_string();
    match key_oid.as_str() {
        oid::GOST2012_256 => "gost2012_256".into(),
        oid::GOST2012_512 => "gost2012_512".into(),
        oid::RSA => "rsa".into(),
        oid::EC_PUBLIC_KEY => {
            let curve = spki
                .parameters
                .as_ref()
                .and_then(decode_any::<ObjectIdentifier>)
                .map(|o| o.to_string());
            match curve.as_deref() {
                Some("1.2.840.10045.3.1.7") => "ecdsa_p256".into(),
                Some("1.3.132.0.34") => "ecdsa_p384".into(),
                Some("1.3.132.0.35") => "ecdsa_p521".into(),
                _ => "ecdsa".into(),
            }
        }
        other => other.to_owned(),
    }
}

/// Whether the signature algorithm identifier is one this crate verifies.
fn signature_algorithm_known(dotted: &str) -> bool {
    matches!(
        dotted,
        oid::GOST2012_256
            | oid::GOST2012_512
            | oid::GOST2012_256_SIGN
            | oid::GOST2012_512_SIGN
            | oid::EC_PUBLIC_KEY
            | oid::ECDSA_SHA256
            | oid::ECDSA_SHA384
            | oid::ECDSA_SHA512
            | oid::RSA
            | oid::RSA_SHA256
            | oid::RSA_SHA384
            | oid::RSA_SHA512
    )
}

fn is_gost(dotted: &str) -> bool {
    dotted.starts_with("1.2.643.")
}

/// Verifies a CMS signature of `content`.
///
/// `Err` (code `malformed_signature`, with the reason) only when the bytes are not a CMS
/// SignedData at all; otherwise a [`Report`] listing each signer with precise problems.
/// The signature may be DER or PEM (`-----BEGIN CMS-----` / `PKCS7`). Certificates are
/// checked at the signing time the signer states, or at `now` without one.
pub fn verify(
    content: &[u8],
    signature: &[u8],
    trust: &TrustStore,
    now: i64,
) -> Result<Report, SignError> {
    crate::engine::prepare();
    let der = signature_der(signature)?;
    let sd = parse_signed_data(&der)?;

    let mut certs: Vec<Cert> = Vec::new();
    if let Some(set) = &sd.certificates {
        for choice in set.0.iter() {
            if let CertificateChoices::Certificate(c) = choice {
                if let Some(cert) = c.to_der().ok().and_then(Cert::from_der) {
                    certs.push(cert);
                }
            }
        }
    }
    // A signer's certificate may also be one the verifier trusts directly.
    let trusted: Vec<Cert> = trust
        .cas
        .iter()
        .filter_map(|c| c.to_der().ok().and_then(Cert::from_der))
        .collect();

    let context = Context {
        content,
        econtent_type: sd.encap_content_info.econtent_type,
        attached: sd.encap_content_info.econtent.is_some(),
        certs: &certs,
        trusted: &trusted,
        trust,
        now,
    };
    let signers: Vec<SignerReport> = sd
        .signer_infos
        .0
        .iter()
        .map(|si| context.signer(si))
        .collect();
    let mut problems = Vec::new();
    if signers.is_empty() {
        problems.push(Problem::new("no_signers", "the signature holds no signer"));
    }
    Ok(Report {
        valid: problems.is_empty() && signers.iter().all(|s| s.valid),
        content_sha256: sha256_hex(content),
        signers,
        problems,
    })
}

struct Context<'a> {
    content: &'a [u8],
    econtent_type: ObjectIdentifier,
    attached: bool,
    certs: &'a [Cert],
    trusted: &'a [Cert],
    trust: &'a TrustStore,
    now: i64,
}

/// What the signed attributes say.
#[derive(Default)]
struct Attributes {
    content_type: Option<ObjectIdentifier>,
    message_digest: Option<Vec<u8>>,
    signing_time: Option<i64>,
    /// (hash algorithm OID, certificate hash) of the first ESSCertID(v2).
    ess: Option<(String, Vec<u8>)>,
    problems: Vec<Problem>,
}

fn single_value<'a>(
    attr: &'a cms::cert::x509::attr::Attribute,
    name: &str,
    problems: &mut Vec<Problem>,
) -> Option<&'a Any> {
    let mut values = attr.values.iter();
    let first = values.next();
    if first.is_none() || values.next().is_some() {
        problems.push(Problem::new(
            "bad_signed_attributes",
            format!("the {name} attribute must have exactly one value"),
        ));
        return None;
    }
    first
}

/// `SigningCertificate(V2) ::= SEQUENCE { certs SEQUENCE OF ESSCertID(v2), policies … }`;
/// returns the first certificate's (hash algorithm, hash).
fn ess_first(value: &Any, v2: bool) -> Option<(String, Vec<u8>)> {
    let outer: Vec<Any> = value.decode_as().ok()?;
    let certs: Vec<Any> = outer.first()?.decode_as().ok()?;
    let first: Vec<Any> = certs.first()?.decode_as().ok()?;
    let mut fields = first.iter().peekable();
    let mut algorithm = if v2 { oid::SHA256 } else { oid::SHA1 }.to_owned();
    if v2 {
        if let Some(f) = fields.peek() {
            if der::Tagged::tag(*f) == der::Tag::Sequence {
                let alg: cms::cert::x509::spki::AlgorithmIdentifierOwned = f.decode_as().ok()?;
                algorithm = alg.oid.to_string();
                fields.next();
            }
        }
    }
    let hash: OctetString = fields.next()?.decode_as().ok()?;
    Some((algorithm, hash.as_bytes().to_vec()))
}

fn read_attributes(si: &SignerInfo) -> Attributes {
    let mut out = Attributes::default();
    let Some(attrs) = &si.signed_attrs else {
        return out;
    };
    let mut problems = Vec::new();
    for attr in attrs.iter() {
        match attr.oid.to_string().as_str() {
            oid::CONTENT_TYPE => {
                out.content_type = single_value(attr, "content-type", &mut problems)
                    .and_then(decode_any::<ObjectIdentifier>);
            }
            oid::MESSAGE_DIGEST => {
                out.message_digest = single_value(attr, "message-digest", &mut problems)
                    .and_then(decode_any::<OctetString>)
                    .map(|o| o.as_bytes().to_vec());
            }
            oid::SIGNING_TIME => {
                out.signing_time = single_value(attr, "signing-time", &mut problems)
                    .and_then(decode_any::<cms::cert::x509::time::Time>)
                    .map(unix);
            }
            oid::SIGNING_CERTIFICATE_V2 => {
                if let Some(v) = single_value(attr, "signing-certificate-v2", &mut problems) {
                    match ess_first(v, true) {
                        Some(found) => out.ess = Some(found),
                        None => problems.push(Problem::new(
                            "bad_signed_attributes",
                            "the signing-certificate-v2 attribute cannot be read",
                        )),
                    }
                }
            }
            oid::SIGNING_CERTIFICATE => {
                if let Some(v) = single_value(attr, "signing-certificate", &mut problems) {
                    match ess_first(v, false) {
                        // v2 wins when both are present.
                        Some(found) => {
                            if out.ess.is_none() {
                                out.ess = Some(found);
                            }
                        }
                        None => problems.push(Problem::new(
                            "bad_signed_attributes",
                            "the signing-certificate attribute cannot be read",
                        )),
                    }
                }
            }
            _ => {}
        }
    }
    out.problems = problems;
    out
}

impl Context<'_> {
    fn find_certificate(&self, sid: &SignerIdentifier) -> Option<&Cert> {
        let matches = |c: &&Cert| match sid {
            SignerIdentifier::IssuerAndSerialNumber(isn) => {
                c.parsed.tbs_certificate.issuer == isn.issuer
                    && c.parsed.tbs_certificate.serial_number == isn.serial_number
            }
            SignerIdentifier::SubjectKeyIdentifier(ski) => {
                c.subject_key_identifier().as_deref() == Some(ski.0.as_bytes())
            }
        };
        self.certs
            .iter()
            .find(matches)
            .or_else(|| self.trusted.iter().find(matches))
    }

    fn signer(&self, si: &SignerInfo) -> SignerReport {
        let mut problems = Vec::new();
        let attrs = read_attributes(si);
        problems.extend(attrs.problems.iter().cloned());
        let cert = self.find_certificate(&si.sid);
        let digest_oid = si.digest_alg.oid.to_string();
        let sig_oid = si.signature_algorithm.oid.to_string();

        let mut report = SignerReport {
            subject: String::new(),
            issuer: String::new(),
            serial: String::new(),
            algorithm: sig_oid.clone(),
            signing_time: attrs.signing_time,
            not_before: None,
            not_after: None,
            certificate_sha256: String::new(),
            cades_signing_certificate: false,
            valid: false,
            problems: Vec::new(),
        };
        match (&si.sid, cert) {
            (_, Some(cert)) => {
                let tbs = &cert.parsed.tbs_certificate;
                report.subject = tbs.subject.to_string();
                report.issuer = tbs.issuer.to_string();
                report.serial = serial_string(tbs.serial_number.as_bytes());
                report.algorithm = algorithm_name(&cert.parsed);
                report.not_before = Some(unix(tbs.validity.not_before));
                report.not_after = Some(unix(tbs.validity.not_after));
                report.certificate_sha256 = sha256_hex(&cert.der);
            }
            (SignerIdentifier::IssuerAndSerialNumber(isn), None) => {
                report.subject = "(certificate not included)".into();
                report.issuer = isn.issuer.to_string();
                report.serial = serial_string(isn.serial_number.as_bytes());
            }
            (SignerIdentifier::SubjectKeyIdentifier(ski), None) => {
                report.subject = format!(
                    "(certificate not included; key identifier {})",
                    hex::encode(ski.0.as_bytes())
                );
            }
        }

        // The content: message digest (or, without signed attributes, the signature itself).
        let md = match digest_by_oid(&digest_oid) {
            Ok(md) if digest_oid != oid::SHA1 => Some(md),
            Ok(_) => {
                problems.push(Problem::new(
                    "unsupported_algorithm",
                    "SHA-1 digests are not accepted",
                ));
                None
            }
            Err(e) => {
                let code = if e.code() == "gost_unavailable" {
                    "gost_unavailable"
                } else {
                    "unsupported_algorithm"
                };
                problems.push(Problem::new(code, e.detail().to_owned()));
                None
            }
        };
        if !signature_algorithm_known(&sig_oid) {
            problems.push(Problem::new(
                "unsupported_algorithm",
                format!("unsupported signature algorithm {sig_oid}"),
            ));
        }
        if si.signed_attrs.is_some() {
            match (&attrs.message_digest, &md) {
                (None, _) => problems.push(Problem::new(
                    "bad_signed_attributes",
                    "the message-digest attribute is missing",
                )),
                (Some(expected), Some(md)) => match hash(*md, self.content) {
                    Ok(actual) if actual.as_ref() == expected.as_slice() => {}
                    Ok(_) => problems.push(Problem::new(
                        "content_mismatch",
                        "the document's digest differs from the signed message digest",
                    )),
                    Err(e) => problems.push(Problem::new(
                        "unsupported_algorithm",
                        format!("the digest could not be computed: {e}"),
                    )),
                },
                (Some(_), None) => {}
            }
            if attrs.content_type.as_ref() != Some(&self.econtent_type) {
                problems.push(Problem::new(
                    "bad_signed_attributes",
                    "the content-type attribute is missing or differs from the content's type",
                ));
            }
        }

        if self.attached {
            problems.push(Problem::new(
                "not_detached",
                "the signature embeds the content; a detached signature is expected",
            ));
        }

        if let Some(cert) = cert {
            if let Some(md) = md {
                problems.extend(self.check_signature(si, cert, md, &sig_oid));
            }
            if let Some((alg, expected)) = &attrs.ess {
                match digest_by_oid(alg)
                    .and_then(|md| hash(md, &cert.der).map_err(|e| SignError::crypto("hashing", e)))
                {
                    Ok(actual) if actual.as_ref() == expected.as_slice() => {
                        report.cades_signing_certificate = true;
                    }
                    Ok(_) => problems.push(Problem::new(
                        "signing_certificate_mismatch",
                        "the signing-certificate attribute names another certificate",
                    )),
                    Err(e) => problems.push(Problem::new(
                        "unsupported_algorithm",
                        format!("the signing-certificate hash: {}", e.detail()),
                    )),
                }
            }
            if let Some(t) = attrs.signing_time.filter(|&t| t > self.now + CLOCK_SKEW) {
                problems.push(Problem::new(
                    "signing_time_in_future",
                    format!(
                        "the signer claims to have signed at {}, after the verification time {}",
                        rfc3339(t),
                        rfc3339(self.now)
                    ),
                ));
            }
            let at = attrs.signing_time.unwrap_or(self.now);
            problems.extend(validity(cert, at, "the signer's certificate"));
            problems.extend(self.check_chain(cert, at));
        } else {
            problems.push(Problem::new(
                "certificate_missing",
                "the signer's certificate is neither in the signature nor among the trusted certificates",
            ));
        }

        report.valid = problems.is_empty();
        report.problems = problems;
        report
    }

    fn check_signature(
        &self,
        si: &SignerInfo,
        cert: &Cert,
        md: MessageDigest,
        sig_oid: &str,
    ) -> Vec<Problem> {
        let key = match cert.x509.public_key() {
            Ok(k) => k,
            Err(e) => {
                if is_gost(sig_oid) {
                    if let Err(g) = crate::engine::gost() {
                        return vec![Problem::new("gost_unavailable", g.detail().to_owned())];
                    }
                }
                return vec![Problem::new(
                    "unsupported_algorithm",
                    format!("the certificate's public key cannot be used: {e}"),
                )];
            }
        };
        let signed: Vec<u8> = match &si.signed_attrs {
            // Signed over the DER of the attributes as a SET OF (RFC 5652 §5.4).
            Some(attrs) => match attrs.to_der() {
                Ok(der) => der,
                Err(e) => {
                    return vec![Problem::new(
                        "bad_signed_attributes",
                        format!("the signed attributes cannot be encoded: {e}"),
                    )]
                }
            },
            None => self.content.to_vec(),
        };
        let ok = Verifier::new(md, &key).and_then(|mut v| {
            v.update(&signed)?;
            v.verify(si.signature.as_bytes())
        });
        match ok {
            Ok(true) => Vec::new(),
            Ok(false) => vec![Problem::new(
                "bad_signature",
                "the signature does not verify with the certificate's key",
            )],
            Err(e) => vec![Problem::new(
                "bad_signature",
                format!("the signature does not verify with the certificate's key: {e}"),
            )],
        }
    }

    /// See [`chain_problems`].
    fn check_chain(&self, cert: &Cert, at: i64) -> Vec<Problem> {
        let untrusted: Vec<X509> = self.certs.iter().map(|c| c.x509.clone()).collect();
        chain_problems(self.trust, cert, untrusted, at)
    }
}

/// Trust (the chain to a trusted CA, times not considered here), the validity of the
/// issuing CAs at `at`, and revocation by the trusted CRLs.
fn chain_problems(trust: &TrustStore, cert: &Cert, untrusted: Vec<X509>, at: i64) -> Vec<Problem> {
    if trust.cas.is_empty() {
        return vec![Problem::new(
            "untrusted_chain",
            "no trusted certificate authority is configured",
        )];
    }
    let outcome = build_chain(&trust.cas, &cert.x509, untrusted);
    let chain = match outcome {
        Ok(Ok(chain)) => chain,
        Ok(Err(reason)) => return vec![Problem::new("untrusted_chain", reason)],
        Err(e) => {
            return vec![Problem::new(
                "untrusted_chain",
                format!("the chain could not be checked: {e}"),
            )]
        }
    };
    let mut problems = Vec::new();
    for issuer in chain.iter().skip(1) {
        if let Some(c) = issuer.to_der().ok().and_then(Cert::from_der) {
            let what = format!("the issuing CA {}", c.parsed.tbs_certificate.subject);
            problems.extend(validity(&c, at, &what));
        }
    }
    for pair in chain.windows(2) {
        let (subject, issuer) = (&pair[0], &pair[1]);
        let Ok(issuer_key) = issuer.public_key() else {
            continue;
        };
        for crl in &trust.crls {
            let same_issuer = crl
                .issuer_name()
                .try_cmp(issuer.subject_name())
                .is_ok_and(|o| o.is_eq());
            if !same_issuer || !crl.verify(&issuer_key).unwrap_or(false) {
                continue;
            }
            if let CrlStatus::Revoked(entry) = crl.get_by_cert(subject) {
                let when = asn1_unix(entry.revocation_date())
                    .map_or_else(|| "an unreadable date".to_owned(), rfc3339);
                let serial = entry
                    .serial_number()
                    .to_bn()
                    .ok()
                    .and_then(|bn| crate::ca::serial_hex(&bn).ok())
                    .unwrap_or_default();
                problems.push(Problem::new(
                    "revoked",
                    format!("certificate {serial} was revoked on {when}"),
                ));
            }
        }
    }
    problems
}

type Chain = Result<Vec<X509>, String>;

fn build_chain(
    cas: &[X509],
    cert: &X509,
    untrusted: Vec<X509>,
) -> Result<Chain, openssl::error::ErrorStack> {
    let mut builder = X509StoreBuilder::new()?;
    for ca in cas {
        builder.add_cert(ca.clone())?;
    }
    let mut param = X509VerifyParam::new()?;
    // Times are judged by `validity` at the signing time; a trusted intermediate is an anchor.
    param.set_flags(X509VerifyFlags::NO_CHECK_TIME | X509VerifyFlags::PARTIAL_CHAIN)?;
    builder.set_param(&param)?;
    let store = builder.build();
    let mut stack = Stack::new()?;
    for c in untrusted {
        stack.push(c)?;
    }
    let mut ctx = X509StoreContext::new()?;
    ctx.init(&store, cert, &stack, |c| {
        if c.verify_cert()? {
            Ok(Ok(c
                .chain()
                .map(|s| s.iter().map(|x| x.to_owned()).collect())
                .unwrap_or_default()))
        } else {
            Ok(Err(format!(
                "{} (at depth {})",
                c.error().error_string(),
                c.error_depth()
            )))
        }
    })
}

fn validity(cert: &Cert, at: i64, what: &str) -> Vec<Problem> {
    let v = &cert.parsed.tbs_certificate.validity;
    let (from, to) = (unix(v.not_before), unix(v.not_after));
    if at > to {
        vec![Problem::new(
            "certificate_expired",
            format!(
                "{what} expired on {} (checked at {})",
                rfc3339(to),
                rfc3339(at)
            ),
        )]
    } else if at < from {
        vec![Problem::new(
            "certificate_not_yet_valid",
            format!(
                "{what} is valid from {} (checked at {})",
                rfc3339(from),
                rfc3339(at)
            ),
        )]
    } else {
        Vec::new()
    }
}

/// Lowercase hex without leading zeros (as OpenSSL prints serials).
fn serial_string(bytes: &[u8]) -> String {
    let s = hex::encode(bytes);
    let trimmed = s.trim_start_matches('0');
    if trimmed.is_empty() {
        "0".into()
    } else {
        trimmed.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn garbage_is_malformed() {
        for bad in [
            &b""[..],
            b"\x30",
            b"\x30\x03\x06\x01\x00",
            b"hello",
            b"-----BEGIN CMS-----\n!!!\n-----END CMS-----\n",
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        ] {
            let e = verify(b"x", bad, &TrustStore::new(), 0).err();
            assert_eq!(e.map(|e| e.code()), Some("malformed_signature"), "{bad:?}");
        }
    }

    #[test]
    fn pem_blocks_are_split() {
        let two = b"-----BEGIN X509 CRL-----\nA\n-----END X509 CRL-----\n-----BEGIN X509 CRL-----\nB\n-----END X509 CRL-----\n";
        assert_eq!(pem_blocks(two, "X509 CRL").len(), 2);
        assert!(pem_blocks(b"nothing", "X509 CRL").is_empty());
    }

    #[test]
    fn serials_print_like_openssl() {
        assert_eq!(serial_string(&[0x00, 0x8a, 0x01]), "8a01");
        assert_eq!(serial_string(&[0x00]), "0");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn any_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = verify(b"content", &bytes, &TrustStore::new(), 0);
        }

        #[test]
        fn any_der_prefix_never_panics(tail in proptest::collection::vec(any::<u8>(), 0..256)) {
            // Starts like a ContentInfo of a SignedData so the parser goes deeper.
            let mut bytes = vec![0x30, 0x82, 0x01, 0x00, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02, 0xa0, 0x82, 0x00, 0xf0];
            bytes.extend(tail);
            let _ = verify(b"content", &bytes, &TrustStore::new(), 0);
        }
    }
}
