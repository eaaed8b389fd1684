//! Long exports as background jobs: a person asks for a list as a file, a worker on any
//! node writes it (leased, so a node that dies hands it to another), keeps its progress,
//! and stores the file in parts of about a megabyte; the owner watches the progress on
//! `/exports/{id}` and downloads the file when it is done.

use otklik_store::{ExportJob, Store};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

use crate::error::AppError;
use crate::pages::list_export::{chunks_for, csv_rows, csv_start, write_xlsx};
use crate::usecases::ListFilters;

/// Bytes per stored part.
pub const PART_BYTES: usize = 1 << 20;
/// How long a worker holds a job between signs of life.
const LEASE: Duration = Duration::from_secs(60);

/// Starts the worker on this node.
pub fn spawn_worker(store: Arc<dyn Store>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match store
                .claim_export_job(OffsetDateTime::now_utc(), LEASE)
                .await
            {
                Ok(Some(job)) => {
                    let outcome = run(&store, &job).await;
                    let error = outcome.as_ref().err().map(|e| e.code);
                    if let Some(code) = error {
                        tracing::warn!(job = job.id, code, "export failed");
                    }
                    let now = OffsetDateTime::now_utc();
                    if let Err(e) = store.finish_export_job(job.id, error, now).await {
                        tracing::warn!(code = e.code(), "export not finished: {e}");
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
        let (id, progress_store) = (job.id, store.clone());
        rows = tokio::task::spawn_blocking(move || {
            let report = |rows: u64| {
                let store = progress_store.clone();
                if let Err(e) = runtime.block_on(store.export_job_progress(id, rows, lease_until()))
                {
                    tracing::warn!(code = e.code(), "export progress not kept: {e}");
                }
            };
            write_xlsx(&runtime, &mut chunks, &regions, now, &path, report)
        })
        .await
        .map_err(|_| AppError::internal())??;
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
                .add_export_part(job.id, seq, &part, rows, lease_until())
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
                .add_export_part(job.id, seq, buffer.as_bytes(), rows, lease_until())
                .await?;
            seq += 1;
            buffer.clear();
        } else {
            store
                .export_job_progress(job.id, rows, lease_until())
                .await?;
        }
    }
    if !buffer.is_empty() {
        store
            .add_export_part(job.id, seq, buffer.as_bytes(), rows, lease_until())
            .await?;
    }
    Ok(())
}
