//! `otklik sign …`: make and check CMS detached signatures (GOST R 34.10-2012, ECDSA) offline.
//!
//! `create` exits 0 or 2 (unreadable input, unusable key); `verify` exits 0 when every signer
//! is valid (one `OK` line each on stdout), 1 when the signature is invalid or malformed (the
//! reasons on stderr), 2 when a file cannot be read.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;

#[derive(Subcommand)]
pub enum SignCommand {
    /// Sign FILE with a key and certificate: a DER CMS detached signature (CAdES-BES).
    /// The algorithm is the key's (GOST R 34.10-2012 256-bit or ECDSA P-256).
    Create {
        /// The private key, PEM or DER (unencrypted PKCS#8).
        #[arg(long)]
        key: PathBuf,
        /// The signer's certificate, PEM or DER.
        #[arg(long)]
        cert: PathBuf,
        /// Certificates to include (intermediate CAs); may be repeated.
        #[arg(long)]
        chain: Vec<PathBuf>,
        /// The document to sign.
        #[arg(long)]
        content: PathBuf,
        /// Where to write the signature (.p7s).
        #[arg(long)]
        out: PathBuf,
    },
    /// Verify a detached signature of a document against trusted CAs and CRLs.
    Verify {
        /// The signed document.
        #[arg(long)]
        content: PathBuf,
        /// The signature, DER or PEM.
        #[arg(long)]
        signature: PathBuf,
        /// A trusted CA certificate file (PEM, possibly several, or DER); may be repeated.
        #[arg(long)]
        ca: Vec<PathBuf>,
        /// A CRL (PEM or DER); may be repeated.
        #[arg(long)]
        crl: Vec<PathBuf>,
    },
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Runs a `sign` command and returns its exit code.
pub fn run(command: SignCommand) -> ExitCode {
    match command {
        SignCommand::Create {
            key,
            cert,
            chain,
            content,
            out,
        } => create(&key, &cert, &chain, &content, &out),
        SignCommand::Verify {
            content,
            signature,
            ca,
            crl,
        } => verify(&content, &signature, &ca, &crl),
    }
}

fn create(key: &Path, cert: &Path, chain: &[PathBuf], content: &Path, out: &Path) -> ExitCode {
    let inputs = (|| {
        let chain = chain
            .iter()
            .map(|p| read(p))
            .collect::<Result<Vec<_>, _>>()?;
        Ok::<_, String>((read(key)?, read(cert)?, chain, read(content)?))
    })();
    let (key, cert, chain, content) = match inputs {
        Ok(inputs) => inputs,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let signature = match otklik_sign::sign_pem(&key, &cert, &chain, &content) {
        Ok(signature) => signature,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = std::fs::write(out, &signature) {
        eprintln!("error: {}: {e}", out.display());
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}

fn verify(content: &Path, signature: &Path, cas: &[PathBuf], crls: &[PathBuf]) -> ExitCode {
    let mut trust = otklik_sign::TrustStore::new();
    let loaded = (|| {
        for path in cas {
            trust
                .add_ca(&read(path)?)
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
        for path in crls {
            trust
                .add_crl(&read(path)?)
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
        Ok::<_, String>((read(content)?, read(signature)?))
    })();
    let (content, signature) = match loaded {
        Ok(files) => files,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match otklik_sign::verify(&content, &signature, &trust, now()) {
        Ok(report) if report.valid => {
            let text: String = report
                .summary_lines()
                .iter()
                .map(|l| format!("{l}\n"))
                .collect();
            // Not `println!`: a closed pipe must not panic.
            match std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(_) => ExitCode::FAILURE,
            }
        }
        Ok(report) => {
            for line in report.summary_lines() {
                eprintln!("{line}");
            }
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("invalid: {e}");
            ExitCode::from(1)
        }
    }
}
