//! Long exports as background jobs: a person asks for a list, or the analytics report's
//! tables, as a file; a worker on any node writes it (leased, so a node that dies hands
//! it to another), keeps its progress, and stores the file in parts of about a megabyte;
//! the owner watches the progress on `/exports/{id}` and downloads the file when it is
//! done.
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

use crate::analytics;
use crate::config::{AnalyticsConfig, ExportsConfig};
use crate::error::AppError;
use crate::export;
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

/// Starts the worker on this node; `analytics_config` holds the minimum group below which
/// an analyst's report withholds (a job uses the larger of this and the one it was asked
/// with).
pub fn spawn_worker(
    store: Arc<dyn Store>,
    config: ExportsConfig,
    analytics_config: AnalyticsConfig,
) -> tokio::task::JoinHandle<()> {
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
                    let outcome = run(&store, &job, &analytics_config).await;
                    let error = outcome.as_ref().err().map(AppError::first_code);
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

/// Writes one job's file into its parts: a list of submissions, or the analytics report's
/// tables.
async fn run(
    store: &Arc<dyn Store>,
    job: &ExportJob,
    config: &AnalyticsConfig,
) -> Result<(), AppError> {
    match job.kind.as_str() {
        "submissions" => run_list(store, job).await,
        analytics::JOB_KIND => run_report(store, job, config).await,
        other => {
            tracing::error!(job = job.id, kind = other, "an export job of no known kind");
            Err(AppError::internal())
        }
    }
}

/// Reports a blocking writer's progress through the runtime, renewing the lease; once a
/// write is refused because another worker took the job over, it stops asking and
/// `lost` says so.
fn progress_reporter(
    store: &Arc<dyn Store>,
    job: &ExportJob,
    runtime: tokio::runtime::Handle,
) -> (impl FnMut(u64) + Send + 'static, Arc<AtomicBool>) {
    let (id, token, store) = (job.id, job.token, store.clone());
    let lost = Arc::new(AtomicBool::new(false));
    let lost_in_writer = lost.clone();
    let report = move |rows: u64| {
        if lost_in_writer.load(Ordering::Relaxed) {
            return;
        }
        match runtime.block_on(store.export_job_progress(id, token, rows, lease_until())) {
            Ok(()) => {}
            Err(e) if e.code() == EXPORT_LEASE_LOST => {
                lost_in_writer.store(true, Ordering::Relaxed);
            }
            Err(e) => tracing::warn!(code = e.code(), "export progress not kept: {e}"),
        }
    };
    (report, lost)
}

fn lease_lost() -> AppError {
    AppError::from(otklik_store::StoreError::Conflict(EXPORT_LEASE_LOST))
}

/// Stores a written file as the job's parts, a part at a time.
async fn store_file(
    store: &Arc<dyn Store>,
    job: &ExportJob,
    path: &std::path::Path,
    rows: u64,
) -> Result<(), AppError> {
    use tokio::io::AsyncReadExt;
    let mut reader = tokio::fs::File::open(path)
        .await
        .map_err(|_| AppError::internal())?;
    let mut seq = 0;
    loop {
        let mut part = Vec::with_capacity(PART_BYTES);
        let read = (&mut reader)
            .take(PART_BYTES as u64)
            .read_to_end(&mut part)
            .await
            .map_err(|_| AppError::internal())?;
        if read == 0 {
            return Ok(());
        }
        store
            .add_export_part(job.id, job.token, seq, &part, rows, lease_until())
            .await?;
        seq += 1;
    }
}

/// A CSV file on its way into parts: text gathers until a part is full.
struct CsvParts<'a> {
    store: &'a Arc<dyn Store>,
    job: &'a ExportJob,
    buffer: String,
    seq: u64,
}

impl<'a> CsvParts<'a> {
    fn new(store: &'a Arc<dyn Store>, job: &'a ExportJob) -> Self {
        Self {
            store,
            job,
            buffer: String::with_capacity(PART_BYTES),
            seq: 0,
        }
    }

    /// Adds text; a full part is stored (with the rows written so far, renewing the
    /// lease), otherwise with `progress` the rows are noted.
    async fn push(&mut self, text: &str, rows: u64, progress: bool) -> Result<(), AppError> {
        self.buffer.push_str(text);
        if self.buffer.len() >= PART_BYTES {
            self.flush(rows).await
        } else if progress {
            Ok(self
                .store
                .export_job_progress(self.job.id, self.job.token, rows, lease_until())
                .await?)
        } else {
            Ok(())
        }
    }

    async fn flush(&mut self, rows: u64) -> Result<(), AppError> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        self.store
            .add_export_part(
                self.job.id,
                self.job.token,
                self.seq,
                self.buffer.as_bytes(),
                rows,
                lease_until(),
            )
            .await?;
        self.seq += 1;
        self.buffer.clear();
        Ok(())
    }
}

/// Writes a list's file into the job's parts.
async fn run_list(store: &Arc<dyn Store>, job: &ExportJob) -> Result<(), AppError> {
    let user = store.user(job.owner).await?;
    let filters: ListFilters =
        serde_json::from_str(&job.params).map_err(|_| AppError::bad_request("invalid_query"))?;
    let (mut chunks, regions) = chunks_for(store, &user, &filters).await?;
    let now = chunks.query.now;
    if job.format == "xlsx" {
        let file = tempfile::NamedTempFile::new().map_err(|_| AppError::internal())?;
        let path = file.path().to_owned();
        let runtime = tokio::runtime::Handle::current();
        let (report, lost) = progress_reporter(store, job, runtime.clone());
        let rows = tokio::task::spawn_blocking(move || {
            write_xlsx(&runtime, &mut chunks, &regions, now, &path, report)
        })
        .await
        .map_err(|_| AppError::internal())??;
        if lost.load(Ordering::Relaxed) {
            return Err(lease_lost());
        }
        return store_file(store, job, file.path(), rows).await;
    }
    let mut parts = CsvParts::new(store, job);
    parts.push(&csv_start(), 0, false).await?;
    let mut rows = 0;
    loop {
        let chunk = chunks.next().await?;
        if chunk.is_empty() {
            break;
        }
        rows += chunk.len() as u64;
        parts
            .push(&csv_rows(&chunk, &regions, now), rows, true)
            .await?;
    }
    parts.flush(rows).await
}

/// CSV rows between two notes of progress.
const CSV_PROGRESS_EVERY: u64 = 2_000;

/// Writes the analytics report's tables (one, or all) into the job's parts: the report
/// computed now for the parameters, reach and minimum the job recorded
/// ([`analytics::ReportJob::tables`]); XLSX one worksheet per table, CSV the tables one
/// after another (a single table's file is byte for byte the page's download).
async fn run_report(
    store: &Arc<dyn Store>,
    job: &ExportJob,
    config: &AnalyticsConfig,
) -> Result<(), AppError> {
    let asked: analytics::ReportJob =
        serde_json::from_str(&job.params).map_err(|_| AppError::bad_request("invalid_query"))?;
    let user = store.user(job.owner).await?;
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let tables = asked
        .tables(store.as_ref(), user.role, config.min_group, now)
        .await?;
    let whole = asked.table == analytics::WHOLE_REPORT;
    if job.format == "xlsx" {
        let file = tempfile::NamedTempFile::new().map_err(|_| AppError::internal())?;
        let path = file.path().to_owned();
        let (report, lost) = progress_reporter(store, job, tokio::runtime::Handle::current());
        let sheets: Vec<(String, export::Sheet)> =
            tables.into_iter().map(|t| (t.title, t.sheet)).collect();
        let rows =
            tokio::task::spawn_blocking(move || export::write_xlsx_file(&sheets, &path, report))
                .await
                .map_err(|_| AppError::internal())??;
        if lost.load(Ordering::Relaxed) {
            return Err(lease_lost());
        }
        return store_file(store, job, file.path(), rows).await;
    }
    let sheets: Vec<export::Sheet> = tables.into_iter().map(|t| t.sheet).collect();
    let mut parts = CsvParts::new(store, job);
    let mut rows = 0;
    for piece in export::csv_pieces(&sheets, whole) {
        rows += u64::from(piece.row);
        let note = piece.row && rows.is_multiple_of(CSV_PROGRESS_EVERY);
        parts.push(&piece.text, rows, note).await?;
    }
    parts.flush(rows).await
}
