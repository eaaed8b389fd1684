-- Integrations: how a submission arrived (channel, and the host site of a widget), the
-- outbox of deliveries to organisations' own systems (push or pull), each
-- organisation's delivery settings, and the idempotency keys of inbound API calls.
-- (SQLite.)

ALTER TABLE submissions ADD COLUMN channel TEXT NOT NULL DEFAULT 'portal'
    CHECK (channel IN ('portal', 'widget', 'api', 'open311'));
-- The registered site a widget submission came from (an origin), else NULL.
ALTER TABLE submissions ADD COLUMN origin TEXT;
CREATE INDEX submissions_author_channel ON submissions (author_id, channel, origin, id DESC);

-- How an organisation's own system takes its submissions. No row: it does not.
CREATE TABLE org_integrations (
    org_id                     INTEGER PRIMARY KEY REFERENCES organisations (id),
    mode                       TEXT    NOT NULL CHECK (mode IN ('push', 'pull')),
    push_url                   TEXT,
    -- The HMAC key of push signatures (kept to sign; shown once when set).
    push_secret                TEXT,
    visibility_timeout_seconds INTEGER NOT NULL CHECK (visibility_timeout_seconds BETWEEN 10 AND 86400),
    alert_after_failures       INTEGER NOT NULL CHECK (alert_after_failures BETWEEN 1 AND 1000),
    updated_by                 INTEGER REFERENCES users (id),
    updated_at                 INTEGER NOT NULL,
    CHECK (mode = 'pull' OR (push_url IS NOT NULL AND push_secret IS NOT NULL))
) STRICT;

-- The outbox: one row per (organisation, routing event), written in the routing's own
-- transaction. `next_attempt_at` is when a push is tried next, or when a pulled message
-- becomes visible again.
CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT    NOT NULL UNIQUE,
    org_id          INTEGER NOT NULL REFERENCES organisations (id),
    submission_id   INTEGER NOT NULL REFERENCES submissions (id),
    event_id        INTEGER NOT NULL REFERENCES events (id),
    event           TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_owner     TEXT,
    failing_since   INTEGER,
    last_error      TEXT,
    alerted_at      INTEGER,
    delivered_at    INTEGER
) STRICT;
CREATE INDEX deliveries_pending ON deliveries (next_attempt_at, id) WHERE delivered_at IS NULL;
CREATE INDEX deliveries_org ON deliveries (org_id, id DESC);

-- Inbound calls with an `Idempotency-Key`: the first answer is kept and replayed.
CREATE TABLE idempotency_keys (
    principal_id   INTEGER NOT NULL REFERENCES users (id),
    key            TEXT    NOT NULL,
    request_sha256 BLOB    NOT NULL,
    status         INTEGER,
    content_type   TEXT,
    location       TEXT,
    body           BLOB,
    created_at     INTEGER NOT NULL,
    PRIMARY KEY (principal_id, key)
) STRICT;
CREATE INDEX idempotency_keys_age ON idempotency_keys (created_at);
