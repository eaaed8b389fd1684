-- Long exports as background jobs (docs/ANALYTICS.md): a person asks for a file, any node
-- writes it in the background (leased), its progress is kept, and the file is stored in
-- parts of about a megabyte, so neither writing nor downloading holds it whole.
CREATE TABLE export_jobs (
    id           BIGSERIAL PRIMARY KEY,
    owner_id     BIGINT NOT NULL REFERENCES users (id),
    -- What is exported: 'submissions' (the owner's list, with the list's filters).
    kind         TEXT    NOT NULL CHECK (kind IN ('submissions')),
    format       TEXT    NOT NULL CHECK (format IN ('csv', 'xlsx')),
    -- The filters, JSON.
    params       TEXT    NOT NULL,
    status       TEXT    NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    rows_done    BIGINT NOT NULL DEFAULT 0,
    bytes        BIGINT NOT NULL DEFAULT 0,
    error        TEXT,
    created_at   BIGINT NOT NULL,
    started_at   BIGINT,
    finished_at  BIGINT,
    leased_until BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX export_jobs_owner ON export_jobs (owner_id, id DESC);
CREATE INDEX export_jobs_waiting ON export_jobs (status, leased_until);

CREATE TABLE export_parts (
    job_id  BIGINT NOT NULL REFERENCES export_jobs (id),
    seq     BIGINT NOT NULL,
    content BYTEA    NOT NULL,
    PRIMARY KEY (job_id, seq)
);
