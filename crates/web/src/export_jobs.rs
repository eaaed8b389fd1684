//! Long exports as background jobs: a person asks for a list as a file, a worker on any
//! node writes it (leased, so a node that dies hands it to another), keeps its progress,
//! and stores the file in parts of about a megabyte; the owner watches the progress on
//! `/exports/{id}` and downloads the file when it is done.
//!
//! Each claim hands the worker the lease's fencing token, which every write names; once
//! another worker has taken the job over (this one stalled past its lease) the store
//! refuses them with `export_lease_lost`, and this worker stops quietly, leaving the job
//! to the new one. The same loop sweeps finished files older than `[exports] keep_hours`.

use otklik_store::{ExportJob, Store, EXPORT_LEASE_LOST};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

use crate::config::ExportsConfig;
use crate::error::AppError;
use crate::pages::list_export::{chunks_for, csv_rows, csv_start, write_xlsx};
use crate::usecases::ListFilters;

/// Bytes per stored part.
pub const PART_BYTES: usize = 1 << 20;
/// How long a worker holds a job between signs of life.
const LEASE: Duration = Duration::from_secs(60);

/// How often a node sweeps finished files whose retention ran out.
const SWEEP_EVERY: Duration = Duration::from_secs(300);
/// Jobs expired per sweep transaction.
const SWEEP_BATCH: u32 = 100;

/// Starts the worker on this node.
pub fn spawn_worker(store: Arc<dyn Store>, config: ExportsConfig) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut next_sweep = Instant::now();
        loop {
            if Instant::now() >= next_sweep {
                sweep(store.as_ref(), &config, OffsetDateTime::now_utc()).await;
                next_sweep = Instant::now() + SWEEP_EVERY;
            }
            match store
                .claim_export_job(OffsetDateTime::now_utc(), LEASE)
                .await
            {
                Ok(Some(job)) => {
                    let outcome = run(&store, &job).await;
                    let error = outcome.as_ref().err().map(|e| e.code);
                    if error == Some(EXPORT_LEASE_LOST) {
                        // Stalled past the lease: the job is another worker's now.
                        tracing::warn!(job = job.id, "export lease lost to another worker");
                        continue;
                    }
                    if let Some(code) = error {
                        tracing::warn!(job = job.id, code, "export failed");
                    }
                    let now = OffsetDateTime::now_utc();
                    match store.finish_export_job(job.id, job.token, error, now).await {
                        Ok(()) => {}
                        Err(e) if e.code() == EXPORT_LEASE_LOST => {
                            tracing::warn!(job = job.id, "export lease lost to another worker");
                        }
                        Err(e) => tracing::warn!(code = e.code(), "export not finished: {e}"),
                    }
                }
                Ok(None) => tokio::time::sleep(Duration::from_millis(500)).await,
                Err(e) => {
                    tracing::warn!(code = e.code(), "export jobs not claimed: {e}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    })
}

/// Deletes the files of jobs finished more than `keep_hours` before `now`, a batch at a
/// time; how many jobs expired. A failure is logged and tried again at the next sweep.
pub async fn sweep(store: &dyn Store, config: &ExportsConfig, now: OffsetDateTime) -> u64 {
    let Some(before) = now.checked_sub(config.keep()) else {
        return 0;
    };
    let mut expired = 0;
    loop {
        match store.expire_export_jobs(before, now, SWEEP_BATCH).await {
            Ok(n) => {
                expired += n;
                if n < u64::from(SWEEP_BATCH) {
                    break;
                }
            }
            Err(e) => {
                tracing::warn!(code = e.code(), "export files not swept: {e}");
                break;
            }
        }
    }
    if expired > 0 {
        tracing::info!(expired, "export files past their retention deleted");
    }
    expired
}

fn lease_until() -> OffsetDateTime {
    OffsetDateTime::now_utc() + LEASE
}

/// Writes one job's file into its parts.
async fn run(store: &Arc<dyn Store>, job: &ExportJob) -> Result<(), AppError> {
    let user = store.user(job.owner).await?;
    let filters: ListFilters =
        serde_json::from_str(&job.params).map_err(|_| AppError::bad_request("invalid_query"))?;
    let (mut chunks, regions) = chunks_for(store, &user, &filters).await?;
    let now = chunks.query.now;
    let mut seq = 0;
    let mut rows = 0;
    if job.format == "xlsx" {
        let file = tempfile::NamedTempFile::new().map_err(|_| AppError::internal())?;
        let path = file.path().to_owned();
        let runtime = tokio::runtime::Handle::current();
        let (id, token, progress_store) = (job.id, job.token, store.clone());
        let lost = Arc::new(AtomicBool::new(false));
        let lost_in_writer = lost.clone();
        rows = tokio::task::spawn_blocking(move || {
            let report = |rows: u64| {
                if lost_in_writer.load(Ordering::Relaxed) {
                    return;
                }
                let store = progress_store.clone();
                match runtime.block_on(store.export_job_progress(id, token, rows, lease_until())) {
                    Ok(()) => {}
                    Err(e) if e.code() == EXPORT_LEASE_LOST => {
                        lost_in_writer.store(true, Ordering::Relaxed);
                    }
                    Err(e) => tracing::warn!(code = e.code(), "export progress not kept: {e}"),
                }
            };
            write_xlsx(&runtime, &mut chunks, &regions, now, &path, report)
        })
        .await
        .map_err(|_| AppError::internal())??;
        if lost.load(Ordering::Relaxed) {
            return Err(AppError::from(otklik_store::StoreError::Conflict(
                EXPORT_LEASE_LOST,
            )));
        }
        let mut reader = tokio::fs::File::open(file.path())
            .await
            .map_err(|_| AppError::internal())?;
        loop {
            use tokio::io::AsyncReadExt;
            let mut part = Vec::with_capacity(PART_BYTES);
            let read = (&mut reader)
                .take(PART_BYTES as u64)
                .read_to_end(&mut part)
                .await
                .map_err(|_| AppError::internal())?;
            if read == 0 {
                break;
            }
            store
                .add_export_part(job.id, job.token, seq, &part, rows, lease_until())
                .await?;
            seq += 1;
        }
        return Ok(());
    }
    let mut buffer = csv_start();
    loop {
        let chunk = chunks.next().await?;
        if chunk.is_empty() {
            break;
        }
        rows += chunk.len() as u64;
        buffer.push_str(&csv_rows(&chunk, &regions, now));
        if buffer.len() >= PART_BYTES {
            store
                .add_export_part(
                    job.id,
                    job.token,
                    seq,
                    buffer.as_bytes(),
                    rows,
                    lease_until(),
                )
                .await?;
            seq += 1;
            buffer.clear();
        } else {
            store
                .export_job_progress(job.id, job.token, rows, lease_until())
                .await?;
        }
    }
    if !buffer.is_empty() {
        store
            .add_export_part(
                job.id,
                job.token,
                seq,
                buffer.as_bytes(),
                rows,
                lease_until(),
            )
            .await?;
    }
    Ok(())
}
