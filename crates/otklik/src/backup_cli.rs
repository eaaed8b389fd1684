//! `otklik backup DIR` and `otklik restore DIR`: an online, consistent copy of the
//! installation, and putting it back.
//!
//! A backup directory holds the database (SQLite: `otklik.db`, a `VACUUM INTO` snapshot;
//! PostgreSQL: `otklik.pgdump`, `pg_dump`'s custom format), the transparency log's
//! signing key (`log-signing.key`, when there is one) and `MANIFEST.json` with each
//! file's SHA-256. The search index is not copied: a node rebuilds it from the log.
//!
//! Restoring checks the manifest's digests (and, for SQLite, `PRAGMA integrity_check`)
//! before it writes anything, and never overwrites: the data directory must hold no
//! database, the PostgreSQL database none of Otklik's tables.

use crate::{AppError, Database};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;
use std::path::{Path, PathBuf};

const MANIFEST: &str = "MANIFEST.json";
const SQLITE_FILE: &str = "otklik.db";
const PG_FILE: &str = "otklik.pgdump";
const KEY_FILE: &str = "log-signing.key";

#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    format: u32,
    backend: String,
    created_at: String,
    files: Vec<ManifestFile>,
}

#[derive(Debug, Serialize, Deserialize)]
struct ManifestFile {
    name: String,
    bytes: u64,
    sha256: String,
}

fn usage(message: impl Into<String>) -> AppError {
    AppError::Usage(message.into())
}

/// Takes the backup into `dir` (created; it must be empty). `key_file`: the log's signing
/// key, copied when it exists.
pub async fn backup(database: &Database, key_file: &Path, dir: &Path) -> Result<String, AppError> {
    prepare_empty_dir(dir)?;
    let backend = match &database.url {
        None => {
            let source = database.data_dir.join(SQLITE_FILE);
            otklik_store::backup::sqlite_snapshot(&source, &dir.join(SQLITE_FILE)).await?;
            "sqlite"
        }
        Some(url) => {
            run_tool(
                "pg_dump",
                &[
                    "--format=custom",
                    "--no-owner",
                    "--file",
                    &path_text(&dir.join(PG_FILE))?,
                    url,
                ],
            )
            .await?;
            "postgres"
        }
    };
    let mut names = vec![if backend == "sqlite" {
        SQLITE_FILE
    } else {
        PG_FILE
    }];
    if key_file.is_file() {
        copy_private(key_file, &dir.join(KEY_FILE))?;
        names.push(KEY_FILE);
    }
    let files = names
        .iter()
        .map(|name| describe(dir, name))
        .collect::<Result<Vec<_>, _>>()?;
    let manifest = Manifest {
        format: 1,
        backend: backend.to_owned(),
        created_at: now_text(),
        files,
    };
    let text = serde_json::to_string_pretty(&manifest)
        .map_err(|e| usage(format!("cannot write the manifest: {e}")))?;
    write_synced(&dir.join(MANIFEST), text.as_bytes())?;
    let total: u64 = manifest.files.iter().map(|f| f.bytes).sum();
    Ok(format!(
        "backup of the {backend} database in {}: {} files, {total} bytes",
        dir.display(),
        manifest.files.len()
    ))
}

/// Restores the backup in `dir` into `database` and the key to `key_file`.
pub async fn restore(database: &Database, key_file: &Path, dir: &Path) -> Result<String, AppError> {
    let manifest = read_manifest(dir)?;
    for file in &manifest.files {
        let found = describe(dir, &file.name)?;
        if found.sha256 != file.sha256 || found.bytes != file.bytes {
            return Err(usage(format!(
                "{} does not match the manifest: the backup is damaged",
                dir.join(&file.name).display()
            )));
        }
    }
    let has_key = manifest.files.iter().any(|f| f.name == KEY_FILE);
    if has_key && key_file.exists() {
        return Err(usage(format!(
            "{} exists: restore into a fresh installation (move it away first)",
            key_file.display()
        )));
    }
    match (&database.url, manifest.backend.as_str()) {
        (None, "sqlite") => restore_sqlite(database, dir).await?,
        (Some(url), "postgres") => restore_postgres(url, dir).await?,
        (_, backend) => {
            return Err(usage(format!(
            "this is a backup of a {backend} database; point the command at one of the same kind"
        )))
        }
    }
    if has_key {
        copy_private(&dir.join(KEY_FILE), key_file)?;
    }
    Ok(format!(
        "restored the {} backup of {} from {}; check it with `otklik log audit`",
        manifest.backend,
        manifest.created_at,
        dir.display()
    ))
}

async fn restore_sqlite(database: &Database, dir: &Path) -> Result<(), AppError> {
    let source = dir.join(SQLITE_FILE);
    if let Err(problems) = otklik_store::backup::sqlite_integrity(&source).await? {
        return Err(usage(format!(
            "{} fails SQLite's integrity check: {problems}",
            source.display()
        )));
    }
    std::fs::create_dir_all(&database.data_dir).map_err(|source| AppError::DataDir {
        path: database.data_dir.clone(),
        source,
    })?;
    let target = database.data_dir.join(SQLITE_FILE);
    for taken in [
        target.clone(),
        database.data_dir.join("otklik.db-wal"),
        database.data_dir.join("otklik.db-shm"),
    ] {
        if taken.exists() {
            return Err(usage(format!(
                "{} exists: restore into an empty data directory (move it away first)",
                taken.display()
            )));
        }
    }
    // Copied beside the target and renamed: a restore cut short leaves no half database.
    let partial = database.data_dir.join("otklik.db.restoring");
    std::fs::copy(&source, &partial).map_err(|e| io_error(&partial, e))?;
    sync(&partial)?;
    std::fs::rename(&partial, &target).map_err(|e| io_error(&target, e))?;
    sync(&target)
}

async fn restore_postgres(url: &str, dir: &Path) -> Result<(), AppError> {
    if !otklik_store::backup::postgres_is_empty(url).await? {
        return Err(usage(
            "the PostgreSQL database already holds Otklik's tables: restore into an empty database",
        ));
    }
    run_tool(
        "pg_restore",
        &[
            "--no-owner",
            "--exit-on-error",
            "--single-transaction",
            "--dbname",
            url,
            &path_text(&dir.join(PG_FILE))?,
        ],
    )
    .await
}

fn prepare_empty_dir(dir: &Path) -> Result<(), AppError> {
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    let mut entries = std::fs::read_dir(dir).map_err(|e| io_error(dir, e))?;
    if entries.next().is_some() {
        return Err(usage(format!(
            "{} is not empty: a backup goes into a new or empty directory",
            dir.display()
        )));
    }
    restrict(dir, 0o700)
}

fn read_manifest(dir: &Path) -> Result<Manifest, AppError> {
    let path = dir.join(MANIFEST);
    let text = std::fs::read_to_string(&path).map_err(|e| io_error(&path, e))?;
    let manifest: Manifest = serde_json::from_str(&text)
        .map_err(|e| usage(format!("{}: not a backup manifest: {e}", path.display())))?;
    if manifest.format != 1 {
        return Err(usage(format!(
            "{}: backup format {} is not one this version reads",
            path.display(),
            manifest.format
        )));
    }
    let allowed = [SQLITE_FILE, PG_FILE, KEY_FILE];
    if let Some(odd) = manifest
        .files
        .iter()
        .find(|f| !allowed.contains(&f.name.as_str()))
    {
        return Err(usage(format!(
            "{}: unexpected file {:?} in the manifest",
            path.display(),
            odd.name
        )));
    }
    Ok(manifest)
}

fn describe(dir: &Path, name: &str) -> Result<ManifestFile, AppError> {
    let path = dir.join(name);
    let mut file = std::fs::File::open(&path).map_err(|e| io_error(&path, e))?;
    let mut hasher = sha2::Sha256::new();
    let bytes = std::io::copy(&mut file, &mut hasher).map_err(|e| io_error(&path, e))?;
    Ok(ManifestFile {
        name: name.to_owned(),
        bytes,
        sha256: hex::encode(hasher.finalize()),
    })
}

/// Copies a secret (the signing key) readable by its owner only, synced.
fn copy_private(from: &Path, to: &Path) -> Result<(), AppError> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(|e| io_error(parent, e))?;
    }
    std::fs::copy(from, to).map_err(|e| io_error(to, e))?;
    restrict(to, 0o600)?;
    sync(to)
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), AppError> {
    std::fs::write(path, bytes).map_err(|e| io_error(path, e))?;
    sync(path)
}

fn sync(path: &Path) -> Result<(), AppError> {
    otklik_store::backup::sync_file(path).map_err(|e| io_error(path, e))
}

#[cfg(unix)]
fn restrict(path: &Path, mode: u32) -> Result<(), AppError> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| io_error(path, e))
}

#[cfg(not(unix))]
fn restrict(_path: &Path, _mode: u32) -> Result<(), AppError> {
    Ok(())
}

async fn run_tool(program: &str, args: &[&str]) -> Result<(), AppError> {
    let output = tokio::process::Command::new(program)
        .args(args)
        .output()
        .await
        .map_err(|e| {
            usage(format!(
                "cannot run {program} (PostgreSQL's client tools): {e}"
            ))
        })?;
    if output.status.success() {
        return Ok(());
    }
    // pg_dump's messages name tables and the server, never row contents.
    let stderr = String::from_utf8_lossy(&output.stderr);
    Err(usage(format!(
        "{program} failed ({}): {}",
        output.status,
        stderr.trim()
    )))
}

fn path_text(path: &Path) -> Result<String, AppError> {
    path.to_str()
        .map(str::to_owned)
        .ok_or_else(|| usage(format!("{} is not UTF-8", path.display())))
}

fn io_error(path: &Path, e: std::io::Error) -> AppError {
    AppError::File {
        path: PathBuf::from(path),
        source: e,
    }
}

fn now_text() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
