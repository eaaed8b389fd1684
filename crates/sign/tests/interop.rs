//! Interoperability with the `openssl` command line (and its `gost` engine): signatures the
//! platform makes pass `openssl cms -verify`, signatures `openssl cms -sign` makes pass
//! [`otklik_sign::verify`], and every rejection carries its precise code.
//!
//! The GOST half needs the Debian package `libengine-gost-openssl` (scripts/test installs it);
//! without it those tests fail, saying so.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use otklik_sign::{
    issue, sign_pem, sign_sealed, verify, Algorithm, Authority, Issued, Report, Revocation,
    Subject, TrustStore,
};

const INSTALLATION_KEY: &[u8] = b"0123456789abcdef0123456789abcdef";
const PASSWORD: &str = "correct horse battery staple";
const DAY: i64 = 86_400;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Panics (fails the test) when the GOST engine is missing, instead of skipping.
fn require(alg: Algorithm) {
    if alg == Algorithm::Gost2012_256 {
        if let Err(e) = otklik_sign::gost_status() {
            panic!(
                "the GOST engine is unavailable ({e}); install the Debian package \
                 libengine-gost-openssl (scripts/test installs it)"
            );
        }
    }
}

/// Extra `openssl` arguments for an algorithm: the engine, and the digest option.
fn engine_args(alg: Algorithm) -> Vec<&'static str> {
    match alg {
        Algorithm::Gost2012_256 => vec!["-engine", "gost"],
        Algorithm::EcdsaP256 => vec![],
    }
}

fn md_arg(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::Gost2012_256 => "-md_gost12_256",
        Algorithm::EcdsaP256 => "-sha256",
    }
}

/// Runs `openssl` in `dir`; panics with its output on failure.
fn openssl(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl command line must be installed");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "openssl {} failed: {stderr}",
        args.join(" ")
    );
    String::from_utf8_lossy(&out.stdout).into_owned() + &stderr
}

/// Runs `openssl` and returns whether it succeeded, with its output.
fn openssl_status(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl command line must be installed");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

fn with<'a>(mut base: Vec<&'a str>, more: &[&'a str]) -> Vec<&'a str> {
    base.extend_from_slice(more);
    base
}

/// A CA and a signer made by the openssl command line: (ca.pem, ca.key, ee.pem, ee.key).
struct CliPki {
    ca_pem: PathBuf,
    ee_pem: PathBuf,
    ee_key: PathBuf,
}

fn genkey(dir: &Path, alg: Algorithm, out: &str) {
    match alg {
        Algorithm::Gost2012_256 => openssl(
            dir,
            &[
                "genpkey",
                "-engine",
                "gost",
                "-algorithm",
                "gost2012_256",
                "-pkeyopt",
                "paramset:A",
                "-out",
                out,
            ],
        ),
        Algorithm::EcdsaP256 => openssl(
            dir,
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                out,
            ],
        ),
    };
}

fn cli_pki(dir: &Path, alg: Algorithm, ca_name: &str) -> CliPki {
    let e = engine_args(alg);
    genkey(dir, alg, "ca.key");
    let subj = format!("/CN={ca_name}");
    openssl(
        dir,
        &with(
            vec!["req"],
            &[
                &e[..],
                &[
                    "-x509",
                    "-new",
                    "-key",
                    "ca.key",
                    md_arg(alg),
                    "-subj",
                    &subj,
                    "-days",
                    "30",
                    "-addext",
                    "basicConstraints=critical,CA:TRUE",
                    "-addext",
                    "keyUsage=critical,keyCertSign,cRLSign",
                    "-out",
                    "ca.pem",
                ],
            ]
            .concat(),
        ),
    );
    genkey(dir, alg, "ee.key");
    openssl(
        dir,
        &with(
            vec!["req"],
            &[
                &e[..],
                &[
                    "-new",
                    "-key",
                    "ee.key",
                    "-subj",
                    "/O=Test/CN=Ivan Petrov",
                    "-out",
                    "ee.csr",
                ],
            ]
            .concat(),
        ),
    );
    std::fs::write(
        dir.join("ee.ext"),
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n",
    )
    .unwrap();
    openssl(
        dir,
        &with(
            vec!["x509"],
            &[
                &e[..],
                &[
                    "-req",
                    "-in",
                    "ee.csr",
                    "-CA",
                    "ca.pem",
                    "-CAkey",
                    "ca.key",
                    "-set_serial",
                    "4660",
                    "-days",
                    "30",
                    md_arg(alg),
                    "-extfile",
                    "ee.ext",
                    "-out",
                    "ee.pem",
                ],
            ]
            .concat(),
        ),
    );
    CliPki {
        ca_pem: dir.join("ca.pem"),
        ee_pem: dir.join("ee.pem"),
        ee_key: dir.join("ee.key"),
    }
}

/// The platform's own authority and a person's certificate.
struct Platform {
    authority: Authority,
    issued: Issued,
}

fn platform(alg: Algorithm, at: i64, valid_days: u32) -> Platform {
    let authority = Authority::create(alg, "Otklik Test CA", INSTALLATION_KEY, at).unwrap();
    let subject = Subject {
        common_name: "Иван Петров".into(),
        organisation: Some("Администрация".into()),
        uid: "user-42".into(),
    };
    let issued = issue(
        &authority,
        INSTALLATION_KEY,
        &subject,
        PASSWORD,
        at,
        valid_days,
    )
    .unwrap();
    Platform { authority, issued }
}

fn trust(ca_pem: &[u8]) -> TrustStore {
    let mut t = TrustStore::new();
    t.add_ca(ca_pem).unwrap();
    t
}

fn codes(report: &Report) -> Vec<&'static str> {
    report
        .signers
        .iter()
        .flat_map(|s| s.problems.iter().map(|p| p.code))
        .collect()
}

fn assert_valid(report: &Report) {
    assert!(report.valid, "{:#?}", report);
    assert_eq!(report.signers.len(), 1);
    assert!(report.signers[0].problems.is_empty());
}

fn openssl_verifies(dir: &Path, alg: Algorithm, sig: &Path, content: &Path, ca: &Path) {
    let sig = sig.to_str().unwrap();
    let content = content.to_str().unwrap();
    let ca = ca.to_str().unwrap();
    let e = engine_args(alg);
    let args = [
        &["cms", "-verify"][..],
        &e[..],
        &[
            "-binary",
            "-inform",
            "DER",
            "-in",
            sig,
            "-content",
            content,
            "-CAfile",
            ca,
            "-out",
            "/dev/null",
        ],
    ]
    .concat();
    let out = openssl(dir, &args);
    assert!(out.contains("Verification successful"), "{out}");
    let print = openssl(
        dir,
        &[
            &["cms", "-cmsout", "-print", "-inform", "DER", "-in", sig][..],
            &e[..],
        ]
        .concat(),
    );
    assert!(
        print.contains("signingCertificateV2"),
        "no signing-certificate-v2 attribute:\n{print}"
    );
}

fn platform_signature_passes_openssl(alg: Algorithm) {
    require(alg);
    let dir = tempfile::tempdir().unwrap();
    let p = platform(alg, now(), 30);
    let content = b"%PDF-1.7 the citizen's appeal\n".repeat(100);
    let sig = sign_sealed(
        &p.issued.certificate_der,
        &[],
        &p.issued.sealed_key,
        PASSWORD,
        INSTALLATION_KEY,
        &content,
    )
    .unwrap();
    std::fs::write(dir.path().join("doc.pdf"), &content).unwrap();
    std::fs::write(dir.path().join("doc.pdf.p7s"), &sig).unwrap();
    std::fs::write(
        dir.path().join("ca.pem"),
        p.authority.certificate_pem().unwrap(),
    )
    .unwrap();
    openssl_verifies(
        dir.path(),
        alg,
        &dir.path().join("doc.pdf.p7s"),
        &dir.path().join("doc.pdf"),
        &dir.path().join("ca.pem"),
    );

    // And our own verifier agrees, with the CAdES attribute found.
    let report = verify(
        &content,
        &sig,
        &trust(p.authority.certificate_pem().unwrap().as_bytes()),
        now(),
    )
    .unwrap();
    assert_valid(&report);
    let s = &report.signers[0];
    assert!(s.cades_signing_certificate);
    assert_eq!(s.algorithm, alg.as_str());
    assert!(s.subject.starts_with("CN=Иван Петров"), "{}", s.subject);
    assert_eq!(s.serial, p.issued.serial_hex);
    assert!(s.signing_time.is_some_and(|t| (t - now()).abs() < 600));
    assert!(report.summary_lines()[0].starts_with("OK  CN=Иван Петров"));
}

#[test]
fn platform_gost_signature_passes_openssl() {
    platform_signature_passes_openssl(Algorithm::Gost2012_256);
}

#[test]
fn platform_ecdsa_signature_passes_openssl() {
    platform_signature_passes_openssl(Algorithm::EcdsaP256);
}

fn sign_pem_passes_openssl(alg: Algorithm) {
    require(alg);
    let dir = tempfile::tempdir().unwrap();
    let pki = cli_pki(dir.path(), alg, "CLI CA");
    let content = b"a document".to_vec();
    std::fs::write(dir.path().join("doc.txt"), &content).unwrap();
    let ca = std::fs::read(&pki.ca_pem).unwrap();
    let sig = sign_pem(
        &std::fs::read(&pki.ee_key).unwrap(),
        &std::fs::read(&pki.ee_pem).unwrap(),
        std::slice::from_ref(&ca),
        &content,
    )
    .unwrap();
    std::fs::write(dir.path().join("doc.p7s"), &sig).unwrap();
    openssl_verifies(
        dir.path(),
        alg,
        &dir.path().join("doc.p7s"),
        &dir.path().join("doc.txt"),
        &pki.ca_pem,
    );
    let report = verify(&content, &sig, &trust(&ca), now()).unwrap();
    assert_valid(&report);
    assert_eq!(report.signers[0].serial, "1234");

    // A key that is not the certificate's, and an encrypted key (refused, never prompted for).
    let ee = std::fs::read(&pki.ee_pem).unwrap();
    let e = sign_pem(
        &std::fs::read(dir.path().join("ca.key")).unwrap(),
        &ee,
        &[],
        &content,
    );
    assert_eq!(e.unwrap_err().code(), "bad_key");
    let en = engine_args(alg);
    openssl(
        dir.path(),
        &[
            &["pkey"][..],
            &en[..],
            &[
                "-in",
                "ee.key",
                "-aes256",
                "-passout",
                "pass:secret",
                "-out",
                "enc.key",
            ],
        ]
        .concat(),
    );
    let e = sign_pem(
        &std::fs::read(dir.path().join("enc.key")).unwrap(),
        &ee,
        &[],
        &content,
    );
    assert_eq!(e.unwrap_err().code(), "bad_key");
}

#[test]
fn gost_sign_pem_passes_openssl() {
    sign_pem_passes_openssl(Algorithm::Gost2012_256);
}

#[test]
fn ecdsa_sign_pem_passes_openssl() {
    sign_pem_passes_openssl(Algorithm::EcdsaP256);
}

fn openssl_signature_passes_verify(alg: Algorithm) {
    require(alg);
    let dir = tempfile::tempdir().unwrap();
    let pki = cli_pki(dir.path(), alg, "CLI CA");
    let content = b"\x00\x01binary content\r\n\xff".repeat(50);
    std::fs::write(dir.path().join("doc.bin"), &content).unwrap();
    let ca = std::fs::read(&pki.ca_pem).unwrap();
    let e = engine_args(alg);
    // Plain, CAdES, and streamed (BER with indefinite lengths).
    for (cades, stream) in [(false, false), (true, false), (false, true)] {
        let mut args = [
            &["cms", "-sign"][..],
            &e[..],
            &[
                "-binary", "-outform", "DER", "-in", "doc.bin", "-signer", "ee.pem", "-inkey",
                "ee.key", "-out", "doc.p7s",
            ],
        ]
        .concat();
        if cades {
            args.push("-cades");
        }
        if stream {
            args.push("-stream");
        }
        openssl(dir.path(), &args);
        let sig = std::fs::read(dir.path().join("doc.p7s")).unwrap();
        assert_eq!(sig.get(..2) == Some(&[0x30, 0x80][..]), stream);
        let report = verify(&content, &sig, &trust(&ca), now()).unwrap();
        if stream {
            // openssl streams the content inside: read (BER), but not what the platform takes.
            assert_eq!(codes(&report), vec!["not_detached"], "{report:#?}");
            let der = otklik_sign::to_der(&sig).unwrap();
            assert!(!report.valid && der.len() > 100);
            continue;
        }
        assert_valid(&report);
        let s = &report.signers[0];
        assert_eq!(s.cades_signing_certificate, cades);
        assert_eq!(s.algorithm, alg.as_str());
        assert_eq!(s.subject, "CN=Ivan Petrov,O=Test");
        assert_eq!(s.serial, "1234");

        // The same signature in PEM is read too.
        openssl(
            dir.path(),
            &[
                "cms", "-cmsout", "-inform", "DER", "-in", "doc.p7s", "-outform", "PEM", "-out",
                "doc.pem",
            ],
        );
        let pem = std::fs::read(dir.path().join("doc.pem")).unwrap();
        assert_valid(&verify(&content, &pem, &trust(&ca), now()).unwrap());

        // Tampered content.
        let mut tampered = content.clone();
        tampered[3] ^= 1;
        let report = verify(&tampered, &sig, &trust(&ca), now()).unwrap();
        assert!(!report.valid);
        assert_eq!(codes(&report), vec!["content_mismatch"]);
    }
}

#[test]
fn openssl_gost_signature_passes_verify() {
    openssl_signature_passes_verify(Algorithm::Gost2012_256);
}

#[test]
fn openssl_ecdsa_signature_passes_verify() {
    openssl_signature_passes_verify(Algorithm::EcdsaP256);
}

/// Rejections, each with its precise code, for one algorithm.
fn rejections(alg: Algorithm) {
    require(alg);
    let t = now();
    let p = platform(alg, t, 30);
    let ca_pem = p.authority.certificate_pem().unwrap();
    let content = b"the answer to the appeal".to_vec();
    let sign = |issued: &Issued, password: &str| {
        sign_sealed(
            &issued.certificate_der,
            &[],
            &issued.sealed_key,
            password,
            INSTALLATION_KEY,
            &content,
        )
    };
    let sig = sign(&p.issued, PASSWORD).unwrap();
    assert_valid(&verify(&content, &sig, &trust(ca_pem.as_bytes()), t).unwrap());

    // A wrong password says only that.
    let e = sign(&p.issued, "wrong password").unwrap_err();
    assert_eq!(e.code(), "wrong_password");
    assert!(!e.to_string().contains(PASSWORD));

    // Tampered content.
    let report = verify(
        b"the answer to the appeaL",
        &sig,
        &trust(ca_pem.as_bytes()),
        t,
    )
    .unwrap();
    assert_eq!(codes(&report), vec!["content_mismatch"]);
    assert!(report.summary_lines()[0].starts_with("FAIL CN=Иван Петров"));

    // Another CA, and no CA at all.
    let other = Authority::create(alg, "Another CA", INSTALLATION_KEY, t).unwrap();
    let report = verify(
        &content,
        &sig,
        &trust(other.certificate_pem().unwrap().as_bytes()),
        t,
    )
    .unwrap();
    assert_eq!(codes(&report), vec!["untrusted_chain"]);
    let report = verify(&content, &sig, &TrustStore::new(), t).unwrap();
    assert_eq!(codes(&report), vec!["untrusted_chain"]);

    // Expired at signing time: a certificate valid for 30 days a year ago, from a CA made then
    // (still valid for nine more years).
    let old = platform(alg, t - 400 * DAY, 30);
    let old_ca = old.authority.certificate_pem().unwrap();
    let report = verify(
        &content,
        &sign(&old.issued, PASSWORD).unwrap(),
        &trust(old_ca.as_bytes()),
        t,
    )
    .unwrap();
    assert_eq!(codes(&report), vec!["certificate_expired"], "{report:#?}");
    // Not yet valid: issued to start tomorrow.
    let future = platform(alg, t + 2 * DAY, 30);
    let future_ca = future.authority.certificate_pem().unwrap();
    let report = verify(
        &content,
        &sign(&future.issued, PASSWORD).unwrap(),
        &trust(future_ca.as_bytes()),
        t,
    )
    .unwrap();
    assert!(
        codes(&report).contains(&"certificate_not_yet_valid"),
        "{report:#?}"
    );

    // Revoked by the authority's CRL (DER, and PEM as openssl writes it).
    let crl = p
        .authority
        .crl(
            INSTALLATION_KEY,
            &[Revocation {
                serial_hex: p.issued.serial_hex.clone(),
                revoked_at: t,
            }],
            t,
            7,
        )
        .unwrap();
    let mut revoking = trust(ca_pem.as_bytes());
    revoking.add_crl(&crl).unwrap();
    let report = verify(&content, &sig, &revoking, t).unwrap();
    assert_eq!(codes(&report), vec!["revoked"], "{report:#?}");
    // A CRL listing other serials changes nothing; one by another CA is ignored.
    let mut unrelated = trust(ca_pem.as_bytes());
    unrelated
        .add_crl(
            &p.authority
                .crl(
                    INSTALLATION_KEY,
                    &[Revocation {
                        serial_hex: "abcdef".into(),
                        revoked_at: t,
                    }],
                    t,
                    7,
                )
                .unwrap(),
        )
        .unwrap();
    unrelated
        .add_crl(
            &other
                .crl(
                    INSTALLATION_KEY,
                    &[Revocation {
                        serial_hex: p.issued.serial_hex.clone(),
                        revoked_at: t,
                    }],
                    t,
                    7,
                )
                .unwrap(),
        )
        .unwrap();
    assert_valid(&verify(&content, &sig, &unrelated, t).unwrap());

    // openssl agrees: the CRL verifies under the CA and revokes the certificate, while a CRL of
    // the same CA listing other serials leaves it valid; the PEM form is read back.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("crl.der"), &crl).unwrap();
    std::fs::write(d.join("ca.pem"), &ca_pem).unwrap();
    std::fs::write(d.join("ee.der"), &p.issued.certificate_der).unwrap();
    let e = engine_args(alg);
    openssl(
        d,
        &["x509", "-inform", "DER", "-in", "ee.der", "-out", "ee.pem"],
    );
    openssl(
        d,
        &["crl", "-inform", "DER", "-in", "crl.der", "-out", "crl.pem"],
    );
    let other_serial = p
        .authority
        .crl(
            INSTALLATION_KEY,
            &[Revocation {
                serial_hex: "abcdef".into(),
                revoked_at: t,
            }],
            t,
            7,
        )
        .unwrap();
    std::fs::write(d.join("other.der"), &other_serial).unwrap();
    openssl(
        d,
        &[
            "crl",
            "-inform",
            "DER",
            "-in",
            "other.der",
            "-out",
            "other.pem",
        ],
    );
    let verify_args = |crl: &'static str| {
        [
            &["verify"][..],
            &e[..],
            &["-crl_check", "-CAfile", "ca.pem", "-CRLfile", crl, "ee.pem"],
        ]
        .concat()
    };
    let (ok, out) = openssl_status(d, &verify_args("crl.pem"));
    assert!(!ok && out.contains("certificate revoked"), "{out}");
    let (ok, out) = openssl_status(d, &verify_args("other.pem"));
    assert!(ok, "openssl does not accept the authority's CRL: {out}");
    let mut revoking_pem = trust(ca_pem.as_bytes());
    revoking_pem
        .add_crl(&std::fs::read(d.join("crl.pem")).unwrap())
        .unwrap();
    assert_eq!(
        codes(&verify(&content, &sig, &revoking_pem, t).unwrap()),
        vec!["revoked"]
    );
    // openssl cms refuses the signature too (CRLs are read from the CA file).
    let ca_and_crl = format!(
        "{ca_pem}{}",
        std::fs::read_to_string(d.join("crl.pem")).unwrap()
    );
    std::fs::write(d.join("ca+crl.pem"), ca_and_crl).unwrap();
    std::fs::write(d.join("doc"), &content).unwrap();
    std::fs::write(d.join("doc.p7s"), &sig).unwrap();
    let (ok, out) = openssl_status(
        d,
        &[
            &["cms", "-verify"][..],
            &e[..],
            &[
                "-binary",
                "-inform",
                "DER",
                "-in",
                "doc.p7s",
                "-content",
                "doc",
                "-CAfile",
                "ca+crl.pem",
                "-crl_check",
                "-out",
                "/dev/null",
            ],
        ]
        .concat(),
    );
    assert!(!ok && out.contains("revoked"), "{out}");

    // A signing time claimed an hour after the verifier's clock.
    let report = verify(&content, &sig, &trust(ca_pem.as_bytes()), t - 3600).unwrap();
    assert_eq!(
        codes(&report),
        vec!["signing_time_in_future"],
        "{report:#?}"
    );

    // Truncated and garbage: errors, not panics.
    for cut in [1, 10, sig.len() / 2, sig.len() - 1] {
        let e = verify(&content, &sig[..cut], &trust(ca_pem.as_bytes()), t).unwrap_err();
        assert_eq!(e.code(), "malformed_signature", "cut at {cut}");
    }
    let garbage: Vec<u8> = (0..2048u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    assert_eq!(
        verify(&content, &garbage, &trust(ca_pem.as_bytes()), t)
            .unwrap_err()
            .code(),
        "malformed_signature"
    );

    // A flipped byte in the signature value: bad_signature.
    let mut flipped = sig.clone();
    let last = flipped.len() - 5;
    flipped[last] ^= 0x40;
    let report = verify(&content, &flipped, &trust(ca_pem.as_bytes()), t).unwrap();
    assert_eq!(codes(&report), vec!["bad_signature"], "{report:#?}");
}

/// Certificates people register: what they say, and whether the trust store accepts them.
fn certificates(alg: Algorithm) {
    require(alg);
    let t = now();
    let p = platform(alg, t, 30);
    let ca_pem = p.authority.certificate_pem().unwrap();
    let info = otklik_sign::certificate_info(&p.issued.certificate_der).unwrap();
    assert_eq!(info.serial, p.issued.serial_hex);
    assert_eq!(info.algorithm, alg.as_str());
    assert_eq!(info.subject, "CN=Иван Петров,UID=user-42,O=Администрация");
    assert_eq!(info.issuer, "CN=Otklik Test CA");
    assert_eq!(
        (info.not_before, info.not_after),
        (p.issued.not_before, p.issued.not_after)
    );
    assert_eq!(info.der, p.issued.certificate_der);
    // The same from PEM.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ee.der"), &p.issued.certificate_der).unwrap();
    openssl(
        dir.path(),
        &["x509", "-inform", "DER", "-in", "ee.der", "-out", "ee.pem"],
    );
    let pem = std::fs::read(dir.path().join("ee.pem")).unwrap();
    assert_eq!(otklik_sign::certificate_info(&pem).unwrap(), info);
    assert_eq!(
        otklik_sign::certificate_info(b"not a certificate")
            .unwrap_err()
            .code(),
        "bad_certificate"
    );

    let store = trust(ca_pem.as_bytes());
    store.check_certificate(&pem, t).unwrap();
    let code = |r: Result<(), otklik_sign::SignError>| r.unwrap_err().code();
    assert_eq!(
        code(store.check_certificate(&pem, t + 31 * DAY)),
        "certificate_expired"
    );
    assert_eq!(
        code(store.check_certificate(&pem, t - DAY)),
        "certificate_not_yet_valid"
    );
    assert_eq!(
        code(TrustStore::new().check_certificate(&pem, t)),
        "untrusted_chain"
    );
    let mut revoking = trust(ca_pem.as_bytes());
    revoking
        .add_crl(
            &p.authority
                .crl(
                    INSTALLATION_KEY,
                    &[Revocation {
                        serial_hex: info.serial.clone(),
                        revoked_at: t,
                    }],
                    t,
                    7,
                )
                .unwrap(),
        )
        .unwrap();
    assert_eq!(code(revoking.check_certificate(&pem, t)), "revoked");
}

#[test]
fn gost_certificates() {
    certificates(Algorithm::Gost2012_256);
}

#[test]
fn ecdsa_certificates() {
    certificates(Algorithm::EcdsaP256);
}

#[test]
fn gost_rejections() {
    rejections(Algorithm::Gost2012_256);
}

#[test]
fn ecdsa_rejections() {
    rejections(Algorithm::EcdsaP256);
}

/// The substitution CAdES guards against: a second certificate for the same key, issuer and
/// serial put in place of the signer's. The signature still verifies with the key, but the
/// signing-certificate-v2 hash names the original certificate.
fn substituted_certificate(alg: Algorithm) {
    use cms::cert::x509::Certificate;
    use cms::cert::CertificateChoices;
    use cms::content_info::ContentInfo;
    use cms::signed_data::{CertificateSet, SignedData};
    use der::asn1::SetOfVec;
    use der::{Any, Decode, Encode};

    require(alg);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pki = cli_pki(d, alg, "CLI CA");
    let e = engine_args(alg);
    openssl(
        d,
        &[
            &["req"][..],
            &e[..],
            &[
                "-new",
                "-key",
                "ee.key",
                "-subj",
                "/CN=Mallory",
                "-out",
                "m.csr",
            ],
        ]
        .concat(),
    );
    openssl(
        d,
        &[
            &["x509"][..],
            &e[..],
            &[
                "-req",
                "-in",
                "m.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-set_serial",
                "4660",
                "-days",
                "30",
                md_arg(alg),
                "-extfile",
                "ee.ext",
                "-outform",
                "DER",
                "-out",
                "m.der",
            ],
        ]
        .concat(),
    );
    let ca = std::fs::read(&pki.ca_pem).unwrap();
    let content = b"contract".to_vec();
    let substitute = |sig: &[u8]| {
        let ci = ContentInfo::from_der(sig).unwrap();
        let mut sd: SignedData = ci.content.decode_as().unwrap();
        let mallory = Certificate::from_der(&std::fs::read(d.join("m.der")).unwrap()).unwrap();
        sd.certificates = Some(CertificateSet(
            SetOfVec::try_from(vec![CertificateChoices::Certificate(mallory)]).unwrap(),
        ));
        ContentInfo {
            content_type: ci.content_type,
            content: Any::encode_from(&sd).unwrap(),
        }
        .to_der()
        .unwrap()
    };

    let cades = sign_pem(
        &std::fs::read(&pki.ee_key).unwrap(),
        &std::fs::read(&pki.ee_pem).unwrap(),
        &[],
        &content,
    )
    .unwrap();
    let report = verify(&content, &substitute(&cades), &trust(&ca), now()).unwrap();
    assert_eq!(report.signers[0].subject, "CN=Mallory");
    assert_eq!(
        codes(&report),
        vec!["signing_certificate_mismatch"],
        "{report:#?}"
    );

    // Without the CAdES attribute the substitution goes unnoticed: why the platform adds it.
    std::fs::write(d.join("contract"), &content).unwrap();
    openssl(
        d,
        &[
            &["cms", "-sign"][..],
            &e[..],
            &[
                "-binary",
                "-outform",
                "DER",
                "-in",
                "contract",
                "-signer",
                "ee.pem",
                "-inkey",
                "ee.key",
                "-out",
                "plain.p7s",
            ],
        ]
        .concat(),
    );
    let plain = std::fs::read(d.join("plain.p7s")).unwrap();
    let report = verify(&content, &substitute(&plain), &trust(&ca), now()).unwrap();
    assert_valid(&report);
    assert_eq!(report.signers[0].subject, "CN=Mallory");
}

#[test]
fn gost_substituted_certificate_is_caught() {
    substituted_certificate(Algorithm::Gost2012_256);
}

#[test]
fn ecdsa_substituted_certificate_is_caught() {
    substituted_certificate(Algorithm::EcdsaP256);
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// Keys made by openssl, loaded through sign_pem, never show up in what the platform stores
/// or prints; the sealed key is not the PKCS#8 key.
fn no_key_material(alg: Algorithm) {
    require(alg);
    let p = platform(alg, now(), 30);
    let debug = format!("{:?} {:?}", p.authority, p.issued);
    assert!(debug.contains("sealed"), "{debug}");
    for sealed in [&p.authority.sealed_key, &p.issued.sealed_key] {
        assert!(!debug.contains(&hex::encode(sealed)));
        assert!(!debug.contains(&hex::encode(&sealed[sealed.len() - 32..])));
        assert!(!contains(sealed, b"-----BEGIN"));
        assert!(!contains(sealed, b"PRIVATE KEY"));
    }
    assert!(!debug.contains(&format!("{:?}", &p.issued.sealed_key[..])));
}

#[test]
fn gost_no_key_material_in_debug_or_sealed_keys() {
    no_key_material(Algorithm::Gost2012_256);
}

#[test]
fn ecdsa_no_key_material_in_debug_or_sealed_keys() {
    no_key_material(Algorithm::EcdsaP256);
}
