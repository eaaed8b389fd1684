-- Background exports of the analytics page's tables (docs/ANALYTICS.md): a job's kind is
-- now 'submissions' (a list, with the list's filters) or 'analytics' (a table of the
-- report, or the whole report, with the report's checked parameters and the reach and
-- small-group minimum they were asked with), both JSON in `params`.
-- SQLite cannot change a CHECK in place, so the jobs' table is rebuilt. The parts refer to
-- it, so they are set aside first and put back after: dropping a table that rows refer to
-- would fail with foreign keys on.
CREATE TABLE export_parts_kept (
    job_id  INTEGER NOT NULL,
    seq     INTEGER NOT NULL,
    content BLOB    NOT NULL
) STRICT;
INSERT INTO export_parts_kept (job_id, seq, content) SELECT job_id, seq, content FROM export_parts;
DROP TABLE export_parts;

CREATE TABLE export_jobs_new (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id     INTEGER NOT NULL REFERENCES users (id),
    -- What is exported: 'submissions' (the owner's list, with the list's filters) or
    -- 'analytics' (a table of the analytics report, or the whole report).
    kind         TEXT    NOT NULL CHECK (kind IN ('submissions', 'analytics')),
    format       TEXT    NOT NULL CHECK (format IN ('csv', 'xlsx')),
    -- The parameters, JSON.
    params       TEXT    NOT NULL,
    status       TEXT    NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    rows_done    INTEGER NOT NULL DEFAULT 0,
    bytes        INTEGER NOT NULL DEFAULT 0,
    error        TEXT,
    created_at   INTEGER NOT NULL,
    started_at   INTEGER,
    finished_at  INTEGER,
    leased_until INTEGER NOT NULL DEFAULT 0,
    lease_token  INTEGER NOT NULL DEFAULT 0,
    expired_at   INTEGER
) STRICT;
INSERT INTO export_jobs_new (id, owner_id, kind, format, params, status, rows_done, bytes,
                             error, created_at, started_at, finished_at, leased_until,
                             lease_token, expired_at)
    SELECT id, owner_id, kind, format, params, status, rows_done, bytes, error, created_at,
           started_at, finished_at, leased_until, lease_token, expired_at
    FROM export_jobs;
-- Ids are never given twice, even those of jobs past the highest kept one.
UPDATE sqlite_sequence
   SET seq = MAX(seq, COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'export_jobs'), 0))
 WHERE name = 'export_jobs_new';
DROP TABLE export_jobs;
ALTER TABLE export_jobs_new RENAME TO export_jobs;
CREATE INDEX export_jobs_owner ON export_jobs (owner_id, id DESC);
CREATE INDEX export_jobs_waiting ON export_jobs (status, leased_until);
CREATE INDEX export_jobs_kept ON export_jobs (finished_at) WHERE expired_at IS NULL;

CREATE TABLE export_parts (
    job_id  INTEGER NOT NULL REFERENCES export_jobs (id),
    seq     INTEGER NOT NULL,
    content BLOB    NOT NULL,
    PRIMARY KEY (job_id, seq)
) STRICT;
INSERT INTO export_parts (job_id, seq, content) SELECT job_id, seq, content FROM export_parts_kept;
DROP TABLE export_parts_kept;
