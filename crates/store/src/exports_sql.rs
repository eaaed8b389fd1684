//! The `ExportJobs` trait's implementation (`impl_export_jobs!`): long exports written in
//! the background by whichever node leases them (a lease that runs out — a node that
//! died — lets another start the job again), their progress, and the file in parts.
//!
//! Every claim increases the job's `lease_token` (the fencing token) and hands it to the
//! worker; each write the worker makes names it, and is refused with
//! `Conflict("export_lease_lost")` and changes nothing once another claim has taken the
//! job over — so a worker that was only stalled past its lease cannot mix its parts into
//! the new worker's file. The check and the write are one statement (or one transaction
//! that starts with it), so a claim cannot slip in between. Finished files are kept for a
//! while; `expire_export_jobs` then deletes their parts and marks the jobs expired.

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
    /// The generation of the current lease (the fencing token): each claim increases it,
    /// and the claiming worker passes it with every write.
    pub token: u64,
    /// When the sweep deleted the file (its retention ran out); `None` while it is kept.
    pub expired_at: Option<OffsetDateTime>,
}

/// The code of the refusal of a write whose lease token is no longer current (another
/// worker took the job over).
pub const EXPORT_LEASE_LOST: &str = "export_lease_lost";

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
    pub lease_token: i64,
    pub expired_at: Option<i64>,
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
            token: crate::ledger_sql::u64_of(self.lease_token, "export_jobs.lease_token")?,
            expired_at: self.expired_at.map(crate::common::from_ts).transpose()?,
        })
    }
}

pub(crate) const JOB_COLUMNS: &str = "id, owner_id, kind, format, params, status, rows_done, \
     bytes, error, created_at, finished_at, lease_token, expired_at";

/// Refuses a write of a lease that is no longer current.
pub(crate) fn fenced(rows_affected: u64) -> crate::StoreResult<()> {
    if rows_affected == 0 {
        Err(crate::StoreError::Conflict(EXPORT_LEASE_LOST))
    } else {
        Ok(())
    }
}

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
                         rows_done = 0, bytes = 0, lease_token = lease_token + 1 \
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
                token: u64,
                seq: u64,
                content: &[u8],
                rows_done: u64,
                lease_until: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<()> {
                let mut tx = self.$write().begin_with($begin_write).await?;
                // The fence first: it also locks the job's row, so a claim waits for this
                // transaction (and then drops the part with the rest), or went first and
                // the fence refuses.
                let updated = ::sqlx::query::<$db>(
                    "UPDATE export_jobs SET rows_done = $2, bytes = bytes + $3, leased_until = $4 \
                     WHERE id = $1 AND lease_token = $5 AND status = 'running'",
                )
                .bind(id)
                .bind($crate::ledger_sql::i64_of(rows_done)?)
                .bind(i64::try_from(content.len()).unwrap_or(i64::MAX))
                .bind($crate::common::ts(lease_until))
                .bind($crate::ledger_sql::i64_of(token)?)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                // Dropping `tx` rolls back.
                $crate::exports_sql::fenced(updated)?;
                ::sqlx::query::<$db>(
                    "INSERT INTO export_parts (job_id, seq, content) VALUES ($1, $2, $3)",
                )
                .bind(id)
                .bind($crate::ledger_sql::i64_of(seq)?)
                .bind(content)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn export_job_progress(
                &self,
                id: i64,
                token: u64,
                rows_done: u64,
                lease_until: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<()> {
                let updated = ::sqlx::query::<$db>(
                    "UPDATE export_jobs SET rows_done = $2, leased_until = $3 \
                     WHERE id = $1 AND lease_token = $4 AND status = 'running'",
                )
                .bind(id)
                .bind($crate::ledger_sql::i64_of(rows_done)?)
                .bind($crate::common::ts(lease_until))
                .bind($crate::ledger_sql::i64_of(token)?)
                .execute(self.$write())
                .await?
                .rows_affected();
                $crate::exports_sql::fenced(updated)
            }

            async fn finish_export_job(
                &self,
                id: i64,
                token: u64,
                error: Option<&str>,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<()> {
                let updated = ::sqlx::query::<$db>(
                    "UPDATE export_jobs SET status = $2, error = $3, finished_at = $4, leased_until = 0 \
                     WHERE id = $1 AND lease_token = $5 AND status = 'running'",
                )
                .bind(id)
                .bind(if error.is_some() { "failed" } else { "done" })
                .bind(error)
                .bind($crate::common::ts(now))
                .bind($crate::ledger_sql::i64_of(token)?)
                .execute(self.$write())
                .await?
                .rows_affected();
                $crate::exports_sql::fenced(updated)
            }

            async fn expire_export_jobs(
                &self,
                finished_before: ::time::OffsetDateTime,
                now: ::time::OffsetDateTime,
                limit: u32,
            ) -> $crate::StoreResult<u64> {
                let before = $crate::common::ts(finished_before);
                // Nothing to expire (the usual case): no write transaction.
                let any = ::sqlx::query_scalar::<$db, i64>(
                    "SELECT COUNT(*) FROM (SELECT id FROM export_jobs \
                     WHERE expired_at IS NULL AND finished_at < $1 \
                       AND status IN ('done', 'failed') LIMIT 1) w",
                )
                .bind(before)
                .fetch_one(self.$read())
                .await?;
                if any == 0 {
                    return Ok(0);
                }
                let mut tx = self.$write().begin_with($begin_write).await?;
                // Marked first (a concurrent sweep on another node marks each job once,
                // since the row's lock re-checks `expired_at IS NULL`), then exactly the
                // marked jobs' parts are deleted.
                let expired = ::sqlx::query_scalar::<$db, i64>(
                    "UPDATE export_jobs SET expired_at = $3 \
                     WHERE id IN (SELECT id FROM export_jobs \
                                  WHERE expired_at IS NULL AND finished_at < $1 \
                                    AND status IN ('done', 'failed') \
                                  ORDER BY finished_at, id LIMIT $2) \
                       AND expired_at IS NULL AND status IN ('done', 'failed') \
                     RETURNING id",
                )
                .bind(before)
                .bind(i64::from(limit.clamp(1, 1_000)))
                .bind($crate::common::ts(now))
                .fetch_all(&mut *tx)
                .await?;
                for id in &expired {
                    ::sqlx::query::<$db>("DELETE FROM export_parts WHERE job_id = $1")
                        .bind(*id)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(expired.len() as u64)
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
                     WHERE p.job_id = $1 AND j.owner_id = $2 AND j.status = 'done' \
                       AND j.expired_at IS NULL AND p.seq = $3",
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
