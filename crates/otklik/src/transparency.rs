//! The transparency log at run time: the signing key and the task that signs tree heads.
//!
//! The signing key lives in its own file, not in the database, so that whoever can edit
//! the database still cannot sign a tree head over an edited history.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use otklik_log::{HashAlg, Signer};
use otklik_store::Store;

use crate::AppError;

/// How the log is run.
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// The Ed25519 signing key (created with mode 0600 when missing).
    pub key_file: PathBuf,
    /// The tree's hash; fixed when the log gets its first leaf.
    pub alg: HashAlg,
    /// A tree head is signed at least this often while there are new leaves.
    pub tree_head_interval: Duration,
}

const KEY_HEADER: &str = "otklik-log-signing-key/ed25519/v1";

/// Reads the signing key, or creates one when the file does not exist.
pub fn load_or_create_signer(path: &Path) -> Result<Signer, AppError> {
    let bad = |why: &str| AppError::Usage(format!("log signing key {}: {why}", path.display()));
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let mut lines = text.lines();
            if lines.next() != Some(KEY_HEADER) {
                return Err(bad("not an Otklik signing key file"));
            }
            let secret = lines
                .next()
                .and_then(|hex| hex::decode(hex.trim()).ok())
                .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
                .ok_or_else(|| bad("the key is not 32 bytes of hex"))?;
            Ok(Signer::from_secret_bytes(&secret))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let signer = Signer::generate(&mut rand::rngs::OsRng);
            write_key(path, &signer).map_err(|e| bad(&e.to_string()))?;
            tracing::info!(key_id = %signer.key_id(), "created a new log signing key");
            Ok(signer)
        }
        Err(e) => Err(bad(&e.to_string())),
    }
}

fn write_key(path: &Path, signer: &Signer) -> std::io::Result<()> {
    use std::io::Write as _;
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir)?;
        }
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    writeln!(file, "{KEY_HEADER}")?;
    writeln!(file, "{}", hex::encode(signer.to_secret_bytes()))?;
    file.sync_all()
}

/// Signs a tree head whenever the log has grown, every `interval`, until aborted.
pub fn spawn_tree_heads(
    store: Arc<dyn Store>,
    signer: Signer,
    interval: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            match store
                .sign_tree_head(&signer, time::OffsetDateTime::now_utc())
                .await
            {
                Ok(Some(head)) => tracing::debug!(size = head.head.size, "signed a tree head"),
                Ok(None) => {}
                Err(e) => tracing::warn!(code = e.code(), "cannot sign a tree head: {e}"),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_created_key_is_read_back_and_a_foreign_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys").join("log.key");
        let created = load_or_create_signer(&path).unwrap();
        let loaded = load_or_create_signer(&path).unwrap();
        assert_eq!(created.public_key_bytes(), loaded.public_key_bytes());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let other = dir.path().join("other.key");
        std::fs::write(&other, "hello\n").unwrap();
        assert!(load_or_create_signer(&other).is_err());
    }
}
