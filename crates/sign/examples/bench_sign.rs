//! Signatures and verifications per second, for each algorithm, over a 64 KiB document, on
//! one thread.
//!
//! `cargo run --release -p otklik-sign --example bench_sign` (N from `BENCH_N`, default 200).
//! Two figures per algorithm for signing: with a key already unsealed (`sign_pem`, the
//! cryptography alone) and with a sealed key (`sign_sealed`, which adds the Argon2id
//! unsealing, 19 MiB × 2 passes, that every signature by a person costs).

use std::time::Instant;

use otklik_sign::{
    issue, sign_pem, sign_sealed, verify, Algorithm, Authority, SignError, Subject, TrustStore,
};

const INSTALLATION_KEY: &[u8] = b"bench installation key 0123456789";

fn rate(n: u32, f: &mut dyn FnMut() -> Result<(), SignError>) -> Result<f64, SignError> {
    f()?; // warm up
    let start = Instant::now();
    for _ in 0..n {
        f()?;
    }
    Ok(f64::from(n) / start.elapsed().as_secs_f64())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u32 = std::env::var("BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let sealed_n = (n / 10).max(5);
    let document: Vec<u8> = (0..64 * 1024u32).map(|i| (i % 251) as u8).collect();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as i64;
    println!(
        "64 KiB document, single thread, N = {n} (sealed: {sealed_n}); {}",
        openssl_version()
    );
    for alg in Algorithm::ALL {
        if let Err(e) = otklik_sign::gost_status() {
            if alg == Algorithm::Gost2012_256 {
                println!("{alg}: skipped: {e}");
                continue;
            }
        }
        let authority = Authority::create(alg, "Bench CA", INSTALLATION_KEY, now)?;
        let subject = Subject {
            common_name: "Bench Signer".into(),
            organisation: None,
            uid: "bench".into(),
        };
        let issued = issue(&authority, INSTALLATION_KEY, &subject, "pw", now, 30)?;
        let mut trust = TrustStore::new();
        trust.add_ca(&authority.certificate_der)?;

        // A PEM key for the unsealed figure: made by the same code path the CLI uses.
        let key_pem = bench_key_pem(alg)?;
        let cert_pem = bench_cert(alg, &key_pem)?;
        let signed = rate(n, &mut || {
            sign_pem(&key_pem, &cert_pem, &[], &document).map(drop)
        })?;
        let sealed = rate(sealed_n, &mut || {
            sign_sealed(
                &issued.certificate_der,
                &[],
                &issued.sealed_key,
                "pw",
                INSTALLATION_KEY,
                &document,
            )
            .map(drop)
        })?;
        // Verification of a platform signature: CAdES attributes, chain to the authority.
        let signature = sign_sealed(
            &issued.certificate_der,
            &[],
            &issued.sealed_key,
            "pw",
            INSTALLATION_KEY,
            &document,
        )?;
        let verified = rate(n, &mut || {
            let report = verify(&document, &signature, &trust, now)?;
            assert!(report.valid, "{report:?}");
            Ok(())
        })?;
        println!(
            "{alg:>13}: sign {signed:>8.1}/s   sign (sealed key) {sealed:>6.1}/s   verify {verified:>8.1}/s"
        );
    }
    Ok(())
}

fn openssl_version() -> &'static str {
    openssl::version::version()
}

/// A key in PEM from the openssl command line (GOST through its engine).
fn bench_key_pem(alg: Algorithm) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let mut cmd = std::process::Command::new("openssl");
    match alg {
        Algorithm::Gost2012_256 => cmd.args([
            "genpkey",
            "-engine",
            "gost",
            "-algorithm",
            "gost2012_256",
            "-pkeyopt",
            "paramset:A",
        ]),
        Algorithm::EcdsaP256 => cmd.args([
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ]),
    };
    let out = cmd.stderr(std::process::Stdio::null()).output()?;
    if !out.status.success() {
        return Err("openssl genpkey failed".into());
    }
    Ok(out.stdout)
}

/// A self-signed certificate for the key.
fn bench_cert(alg: Algorithm, key_pem: &[u8]) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("otklik-bench-{}-{alg}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let key = dir.join("key.pem");
    std::fs::write(&key, key_pem)?;
    let cert = dir.join("cert.pem");
    let mut cmd = std::process::Command::new("openssl");
    cmd.arg("req");
    if alg == Algorithm::Gost2012_256 {
        cmd.args(["-engine", "gost", "-md_gost12_256"]);
    }
    cmd.args(["-x509", "-new", "-subj", "/CN=Bench", "-days", "2", "-key"])
        .arg(&key)
        .arg("-out")
        .arg(&cert);
    let status = cmd
        .stderr(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .status()?;
    if !status.success() {
        return Err("openssl req failed".into());
    }
    let pem = std::fs::read(&cert)?;
    std::fs::remove_dir_all(&dir)?;
    Ok(pem)
}
