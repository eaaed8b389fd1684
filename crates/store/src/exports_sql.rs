//! The `ExportJobs` trait's implementation (`impl_export_jobs!`): long exports written in
//! the background by whichever node leases them (a lease that runs out — a node that
//! died — lets another start the job again), their progress, and the file in parts.

use otklik_domain::UserId;
use time::OffsetDateTime;

/// An export job as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportJob {
    pub id: i64,
    pub owner: UserId,
    pub kind: String,
    pub format: String,
    /// The filters, JSON.
    pub params: String,
    /// `queued`, `running`, `done`, `failed`.
    pub status: String,
    pub rows_done: u64,
    pub bytes: u64,
    pub error: Option<String>,
    pub created_at: OffsetDateTime,
    pub finished_at: Option<OffsetDateTime>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct JobRow {
    pub id: i64,
    pub owner_id: i64,
    pub kind: String,
    pub format: String,
    pub params: String,
    pub status: String,
    pub rows_done: i64,
    pub bytes: i64,
    pub error: Option<String>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

impl JobRow {
    pub fn job(self) -> crate::StoreResult<ExportJob> {
        Ok(ExportJob {
            id: self.id,
            owner: UserId(self.owner_id),
            kind: self.kind,
            format: self.format,
            params: self.params,
            status: self.status,
            rows_done: crate::ledger_sql::u64_of(self.rows_done, "export_jobs.rows_done")?,
            bytes: crate::ledger_sql::u64_of(self.bytes, "export_jobs.bytes")?,
            error: self.error,
            created_at: crate::common::from_ts(self.created_at)?,
            finished_at: self.finished_at.map(crate::common::from_ts).transpose()?,
        })
    }
}

pub(crate) const JOB_COLUMNS: &str = "id, owner_id, kind, format, params, status, rows_done, \
     bytes, error, created_at, finished_at";

macro_rules! impl_export_jobs {
    (store: $store:ty, db: $db:ty, write: $write:ident, read: $read:ident,
     begin_write: $begin_write:literal $(,)?) => {
        #[::async_trait::async_trait]
        impl $crate::ExportJobs for $store {
            async fn create_export_job(
                &self,
                owner: ::otklik_domain::UserId,
                kind: &str,
                format: &str,
                params: &str,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<i64> {
                Ok(::sqlx::query_scalar::<$db, i64>(
                    "INSERT INTO export_jobs (owner_id, kind, format, params, status, created_at) \
                     VALUES ($1, $2, $3, $4, 'queued', $5) RETURNING id",
                )
                .bind(owner.0)
                .bind(kind)
                .bind(format)
                .bind(params)
                .bind($crate::common::ts(now))
                .fetch_one(self.$write())
                .await?)
            }

            async fn claim_export_job(
                &self,
                now: ::time::OffsetDateTime,
                lease: ::std::time::Duration,
            ) -> $crate::StoreResult<Option<$crate::ExportJob>> {
                let now = $crate::common::ts(now);
                let until = now.saturating_add(i64::try_from(lease.as_secs()).unwrap_or(60).max(1));
                let waiting = "(status = 'queued' OR (status = 'running' AND leased_until < $2))";
                // Nothing waiting (the usual case): no write transaction.
                let any = ::sqlx::query_scalar::<$db, i64>(
                    "SELECT COUNT(*) FROM (SELECT id FROM export_jobs \
                     WHERE status = 'queued' OR (status = 'running' AND leased_until < $1) LIMIT 1) w",
                )
                .bind(now)
                .fetch_one(self.$read())
                .await?;
                if any == 0 {
                    return Ok(None);
                }
                let mut tx = self.$write().begin_with($begin_write).await?;
                let claimed = ::sqlx::query_as::<$db, $crate::exports_sql::JobRow>(&format!(
                    "UPDATE export_jobs SET status = 'running', leased_until = $1, started_at = $2, \
                         rows_done = 0, bytes = 0 \
                     WHERE id = (SELECT id FROM export_jobs WHERE {waiting} ORDER BY id LIMIT 1) \
                       AND {waiting} \
                     RETURNING {}",
                    $crate::exports_sql::JOB_COLUMNS
                ))
                .bind(until)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some(job) = &claimed {
                    // A job started again (its node died) starts from nothing.
                    ::sqlx::query::<$db>("DELETE FROM export_parts WHERE job_id = $1")
                        .bind(job.id)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                claimed.map($crate::exports_sql::JobRow::job).transpose()
            }

            async fn add_export_part(
                &self,
                id: i64,
                seq: u64,
                content: &[u8],
                rows_done: u64,
                lease_until: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<()> {
                let mut tx = self.$write().begin_with($begin_write).await?;
                ::sqlx::query::<$db>(
                    "INSERT INTO export_parts (job_id, seq, content) VALUES ($1, $2, $3)",
                )
                .bind(id)
                .bind($crate::ledger_sql::i64_of(seq)?)
                .bind(content)
                .execute(&mut *tx)
                .await?;
                ::sqlx::query::<$db>(
                    "UPDATE export_jobs SET rows_done = $2, bytes = bytes + $3, leased_until = $4 \
                     WHERE id = $1",
                )
                .bind(id)
                .bind($crate::ledger_sql::i64_of(rows_done)?)
                .bind(i64::try_from(content.len()).unwrap_or(i64::MAX))
                .bind($crate::common::ts(lease_until))
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn export_job_progress(
                &self,
                id: i64,
                rows_done: u64,
                lease_until: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<()> {
                ::sqlx::query::<$db>(
                    "UPDATE export_jobs SET rows_done = $2, leased_until = $3 WHERE id = $1",
                )
                .bind(id)
                .bind($crate::ledger_sql::i64_of(rows_done)?)
                .bind($crate::common::ts(lease_until))
                .execute(self.$write())
                .await?;
                Ok(())
            }

            async fn finish_export_job(
                &self,
                id: i64,
                error: Option<&str>,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<()> {
                ::sqlx::query::<$db>(
                    "UPDATE export_jobs SET status = $2, error = $3, finished_at = $4, leased_until = 0 \
                     WHERE id = $1",
                )
                .bind(id)
                .bind(if error.is_some() { "failed" } else { "done" })
                .bind(error)
                .bind($crate::common::ts(now))
                .execute(self.$write())
                .await?;
                Ok(())
            }

            async fn export_job(
                &self,
                id: i64,
                owner: ::otklik_domain::UserId,
            ) -> $crate::StoreResult<$crate::ExportJob> {
                ::sqlx::query_as::<$db, $crate::exports_sql::JobRow>(&format!(
                    "SELECT {} FROM export_jobs WHERE id = $1 AND owner_id = $2",
                    $crate::exports_sql::JOB_COLUMNS
                ))
                .bind(id)
                .bind(owner.0)
                .fetch_optional(self.$read())
                .await?
                .ok_or($crate::StoreError::NotFound)?
                .job()
            }

            async fn export_jobs_of(
                &self,
                owner: ::otklik_domain::UserId,
                limit: u32,
            ) -> $crate::StoreResult<Vec<$crate::ExportJob>> {
                ::sqlx::query_as::<$db, $crate::exports_sql::JobRow>(&format!(
                    "SELECT {} FROM export_jobs WHERE owner_id = $1 ORDER BY id DESC LIMIT $2",
                    $crate::exports_sql::JOB_COLUMNS
                ))
                .bind(owner.0)
                .bind(i64::from(limit.clamp(1, 200)))
                .fetch_all(self.$read())
                .await?
                .into_iter()
                .map($crate::exports_sql::JobRow::job)
                .collect()
            }

            async fn export_part(
                &self,
                id: i64,
                owner: ::otklik_domain::UserId,
                seq: u64,
            ) -> $crate::StoreResult<Option<Vec<u8>>> {
                Ok(::sqlx::query_scalar::<$db, Vec<u8>>(
                    "SELECT p.content FROM export_parts p JOIN export_jobs j ON j.id = p.job_id \
                     WHERE p.job_id = $1 AND j.owner_id = $2 AND j.status = 'done' AND p.seq = $3",
                )
                .bind(id)
                .bind(owner.0)
                .bind($crate::ledger_sql::i64_of(seq)?)
                .fetch_optional(self.$read())
                .await?)
            }
        }
    };
}

pub(crate) use impl_export_jobs;
