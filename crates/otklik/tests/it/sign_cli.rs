//! `otklik sign create` / `otklik sign verify` through the real binary, with keys and
//! certificates made by the openssl command line (GOST through its `gost` engine, which the
//! Debian package libengine-gost-openssl provides; scripts/test installs it).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

fn otklik(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_otklik"))
        .args(args)
        .env("OTKLIK_LOG", "error")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        String::from_utf8_lossy(&out.stderr).trim().to_owned(),
    )
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl command line must be installed");
    assert!(
        out.status.success(),
        "openssl {} failed (GOST needs the Debian package libengine-gost-openssl): {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and a signer: ca.pem, ee.pem, ee.key in `dir`.
fn pki(dir: &Path, gost: bool) {
    let engine: &[&str] = if gost { &["-engine", "gost"] } else { &[] };
    let md = if gost { "-md_gost12_256" } else { "-sha256" };
    let keygen: &[&str] = if gost {
        &["-algorithm", "gost2012_256", "-pkeyopt", "paramset:A"]
    } else {
        &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]
    };
    for key in ["ca.key", "ee.key"] {
        openssl(
            dir,
            &[&["genpkey"][..], engine, keygen, &["-out", key]].concat(),
        );
    }
    openssl(
        dir,
        &[
            &["req"][..],
            engine,
            &[
                "-x509",
                "-new",
                "-key",
                "ca.key",
                md,
                "-subj",
                "/CN=Test CA",
                "-days",
                "30",
                "-out",
                "ca.pem",
            ],
        ]
        .concat(),
    );
    openssl(
        dir,
        &[
            &["req"][..],
            engine,
            &[
                "-new",
                "-key",
                "ee.key",
                "-subj",
                "/CN=Signer",
                "-out",
                "ee.csr",
            ],
        ]
        .concat(),
    );
    openssl(
        dir,
        &[
            &["x509"][..],
            engine,
            &[
                "-req",
                "-in",
                "ee.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-set_serial",
                "7",
                "-days",
                "30",
                md,
                "-out",
                "ee.pem",
            ],
        ]
        .concat(),
    );
}

fn round_trip(gost: bool, algorithm: &str) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    pki(d, gost);
    std::fs::write(d.join("doc.txt"), "Ответ на обращение № 2026-0000042\n").unwrap();
    let p = |name: &str| d.join(name).to_str().unwrap().to_owned();

    let (code, _, err) = otklik(&[
        "sign",
        "create",
        "--key",
        &p("ee.key"),
        "--cert",
        &p("ee.pem"),
        "--chain",
        &p("ca.pem"),
        "--content",
        &p("doc.txt"),
        "--out",
        &p("doc.txt.p7s"),
    ]);
    assert_eq!(code, 0, "{err}");

    let verify = |content: &str, signature: &str, ca: &[&str]| {
        let mut args = vec![
            "sign",
            "verify",
            "--content",
            content,
            "--signature",
            signature,
        ];
        for c in ca {
            args.extend(["--ca", c]);
        }
        otklik(&args)
    };
    let (ca, doc, sig) = (p("ca.pem"), p("doc.txt"), p("doc.txt.p7s"));
    let (code, out, err) = verify(&doc, &sig, &[&ca]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.starts_with("OK  CN=Signer  "), "{out}");
    assert!(out.contains(algorithm), "{out}");
    assert_eq!(out.lines().count(), 1, "{out}");

    // Tampered content: exit 1 and the reason on stderr.
    std::fs::write(
        d.join("tampered.txt"),
        "Ответ на обращение № 2026-0000043\n",
    )
    .unwrap();
    let (code, out, err) = verify(&p("tampered.txt"), &sig, &[&ca]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(err.contains("FAIL CN=Signer: content_mismatch"), "{err}");

    // No trusted CA: exit 1, untrusted chain.
    let (code, _, err) = verify(&doc, &sig, &[]);
    assert_eq!(code, 1);
    assert!(err.contains("untrusted_chain"), "{err}");

    // Not a signature: exit 1 with the reason.
    std::fs::write(d.join("garbage.p7s"), b"\x30\x82\x01\x00not cms at all").unwrap();
    let (code, _, err) = verify(&doc, &p("garbage.p7s"), &[&ca]);
    assert_eq!(code, 1);
    assert!(err.contains("malformed_signature"), "{err}");

    // A file that cannot be read: exit 2.
    let (code, _, err) = verify(&doc, &p("missing.p7s"), &[&ca]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn gost_signature_round_trips_and_tampering_fails() {
    round_trip(true, "gost2012_256");
}

#[test]
fn ecdsa_signature_round_trips_and_tampering_fails() {
    round_trip(false, "ecdsa_p256");
}
