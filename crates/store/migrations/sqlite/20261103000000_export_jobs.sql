-- Long exports as background jobs (docs/ANALYTICS.md): a person asks for a file, any node
-- writes it in the background (leased), its progress is kept, and the file is stored in
-- parts of about a megabyte, so neither writing nor downloading holds it whole.
CREATE TABLE export_jobs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id     INTEGER NOT NULL REFERENCES users (id),
    -- What is exported: 'submissions' (the owner's list, with the list's filters).
    kind         TEXT    NOT NULL CHECK (kind IN ('submissions')),
    format       TEXT    NOT NULL CHECK (format IN ('csv', 'xlsx')),
    -- The filters, JSON.
    params       TEXT    NOT NULL,
    status       TEXT    NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    rows_done    INTEGER NOT NULL DEFAULT 0,
    bytes        INTEGER NOT NULL DEFAULT 0,
    error        TEXT,
    created_at   INTEGER NOT NULL,
    started_at   INTEGER,
    finished_at  INTEGER,
    leased_until INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX export_jobs_owner ON export_jobs (owner_id, id DESC);
CREATE INDEX export_jobs_waiting ON export_jobs (status, leased_until);

CREATE TABLE export_parts (
    job_id  INTEGER NOT NULL REFERENCES export_jobs (id),
    seq     INTEGER NOT NULL,
    content BLOB    NOT NULL,
    PRIMARY KEY (job_id, seq)
) STRICT;
