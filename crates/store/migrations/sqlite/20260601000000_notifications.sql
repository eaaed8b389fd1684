-- Notifications: the personal account's notification centre, the outbox of e-mail and
-- gateway (SMS/push) messages written in the event's own transaction, each person's
-- choices, the operator's edits of the shipped templates, and campaigns.

-- Where a person wants gateway messages (E.164), and where they live, for campaigns.
ALTER TABLE users ADD COLUMN phone TEXT;
ALTER TABLE users ADD COLUMN home_municipality_id INTEGER REFERENCES municipalities (id);
-- Set when the person opted out of campaigns (one click in any campaign message).
ALTER TABLE users ADD COLUMN campaign_opt_out_at INTEGER;

-- One row per person and thing to tell them. `source` names what caused it (an event,
-- a deadline warning, an incident), so that a cause notifies a person once per kind.
-- `vars` holds the values templates may use, never personal data.
CREATE TABLE notifications (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id       INTEGER NOT NULL REFERENCES users (id),
    kind          TEXT    NOT NULL,
    source        TEXT    NOT NULL,
    submission_id INTEGER REFERENCES submissions (id),
    vars          TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    read_at       INTEGER,
    UNIQUE (source, kind, user_id)
) STRICT;
CREATE INDEX notifications_user ON notifications (user_id, id DESC);
CREATE INDEX notifications_unread ON notifications (user_id) WHERE read_at IS NULL;

-- The outbox: one row per notification and channel (the idempotency key of a send).
-- A digest row waits for the person's next digest.
CREATE TABLE notification_outbox (
    notification_id INTEGER NOT NULL REFERENCES notifications (id),
    channel         TEXT    NOT NULL CHECK (channel IN ('email', 'gateway')),
    user_id         INTEGER NOT NULL REFERENCES users (id),
    -- The digest a row went out in first: a retry sends the same set, same Message-ID.
    digest_id       TEXT,
    digest          INTEGER NOT NULL DEFAULT 0 CHECK (digest IN (0, 1)),
    state           TEXT    NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'sent', 'failed', 'skipped')),
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    sent_at         INTEGER,
    PRIMARY KEY (notification_id, channel)
) STRICT;
CREATE INDEX notification_outbox_due ON notification_outbox (next_attempt_at)
    WHERE state = 'pending' AND digest = 0;
CREATE INDEX notification_outbox_digest ON notification_outbox (user_id, created_at)
    WHERE state = 'pending' AND digest = 1;

-- A person's choice for a kind and channel; no row: the kind's default.
CREATE TABLE notification_preferences (
    user_id  INTEGER NOT NULL REFERENCES users (id),
    kind     TEXT    NOT NULL,
    channel  TEXT    NOT NULL CHECK (channel IN ('email', 'gateway')),
    delivery TEXT    NOT NULL CHECK (delivery IN ('off', 'immediate', 'digest')),
    PRIMARY KEY (user_id, kind, channel)
) STRICT;

-- The operator's version of a template; no row: the shipped one.
CREATE TABLE notification_templates (
    kind       TEXT    PRIMARY KEY,
    subject    TEXT    NOT NULL,
    text_body  TEXT    NOT NULL,
    html_body  TEXT    NOT NULL,
    updated_by INTEGER REFERENCES users (id),
    updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE campaigns (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    title            TEXT    NOT NULL,
    subject          TEXT    NOT NULL,
    text_body        TEXT    NOT NULL,
    html_body        TEXT    NOT NULL,
    region_id        INTEGER REFERENCES regions (id),
    municipality_id  INTEGER REFERENCES municipalities (id),
    min_age          INTEGER,
    max_age          INTEGER,
    min_verification TEXT,
    rate_per_second  INTEGER NOT NULL CHECK (rate_per_second BETWEEN 1 AND 1000),
    status           TEXT    NOT NULL DEFAULT 'draft'
        CHECK (status IN ('draft', 'running', 'paused', 'finished', 'cancelled')),
    recipients       INTEGER NOT NULL DEFAULT 0,
    sent             INTEGER NOT NULL DEFAULT 0,
    failed           INTEGER NOT NULL DEFAULT 0,
    opened           INTEGER NOT NULL DEFAULT 0,
    unsubscribed     INTEGER NOT NULL DEFAULT 0,
    -- The rate's window: the second being sent, and how many were claimed in it (by
    -- any node).
    window_start     INTEGER NOT NULL DEFAULT 0,
    window_claimed   INTEGER NOT NULL DEFAULT 0,
    created_by       INTEGER NOT NULL REFERENCES users (id),
    created_at       INTEGER NOT NULL,
    started_at       INTEGER,
    finished_at      INTEGER
) STRICT;

-- The recipients, fixed when the campaign starts; a row is sent once.
CREATE TABLE campaign_recipients (
    campaign_id     INTEGER NOT NULL REFERENCES campaigns (id),
    user_id         INTEGER NOT NULL REFERENCES users (id),
    state           TEXT    NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    sent_at         INTEGER,
    opened_at       INTEGER,
    PRIMARY KEY (campaign_id, user_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX campaign_recipients_pending ON campaign_recipients (campaign_id, next_attempt_at)
    WHERE state = 'pending';
