-- Background exports (docs/ANALYTICS.md): every lease of a job has a generation (the
-- fencing token), increased by each claim; a worker's writes carry it and are refused
-- once another worker has taken the job over. Finished files are kept for
-- `[exports] keep_hours`; the sweep then deletes their parts and notes when.
ALTER TABLE export_jobs ADD COLUMN lease_token BIGINT NOT NULL DEFAULT 0;
ALTER TABLE export_jobs ADD COLUMN expired_at BIGINT;
-- The sweep's candidates: finished jobs whose file is still kept.
CREATE INDEX export_jobs_kept ON export_jobs (finished_at) WHERE expired_at IS NULL;
