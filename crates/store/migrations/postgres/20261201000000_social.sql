-- Social-media monitoring (requirement S1, docs/SOCIAL.md): connectors' cursors, the inbox
-- of posts waiting for the pipeline (embedded mode), quarantined items, analysed posts,
-- incidents (posts about one problem in one place) and the answers published back.

-- One row per configured source: where its connector stopped, and how its last poll went.
CREATE TABLE social_cursors (
    source      TEXT    PRIMARY KEY,
    cursor      TEXT,
    polled_at   BIGINT NOT NULL DEFAULT 0,
    received    BIGINT NOT NULL DEFAULT 0,
    quarantined BIGINT NOT NULL DEFAULT 0,
    error_code  TEXT,
    error_at    BIGINT
);

-- Posts received and not yet analysed (the embedded queue). A post leaves the inbox in the
-- transaction that stores its analysis.
CREATE TABLE social_inbox (
    id          BIGSERIAL PRIMARY KEY,
    source      TEXT    NOT NULL,
    external_id TEXT    NOT NULL,
    -- The RawPost, JSON.
    body        TEXT    NOT NULL,
    received_at BIGINT NOT NULL,
    UNIQUE (source, external_id)
);

-- Items a connector could not read as posts, with the reason; never dropped silently.
CREATE TABLE social_quarantine (
    id          BIGSERIAL PRIMARY KEY,
    source      TEXT    NOT NULL,
    external_id TEXT,
    reason      TEXT    NOT NULL,
    excerpt     TEXT    NOT NULL,
    received_at BIGINT NOT NULL
);
CREATE INDEX social_quarantine_recent ON social_quarantine (received_at DESC);

CREATE TABLE social_incidents (
    id             BIGSERIAL PRIMARY KEY,
    status         TEXT    NOT NULL CHECK (status IN ('open', 'answered', 'dismissed', 'merged')),
    subcategory_id BIGINT REFERENCES subcategories (id),
    region_id      BIGINT REFERENCES regions (id),
    org_id         BIGINT REFERENCES organisations (id),
    route_label    TEXT,
    -- The city or district the posts name (canonical gazetteer name), if any.
    place          TEXT,
    title          TEXT    NOT NULL,
    urgent         BIGINT NOT NULL DEFAULT 0,
    posts          BIGINT NOT NULL DEFAULT 0,
    first_post_at  BIGINT NOT NULL,
    last_post_at   BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    due_at         BIGINT NOT NULL,
    breached_at    BIGINT,
    merged_into    BIGINT REFERENCES social_incidents (id),
    answer         TEXT,
    answered_by    BIGINT REFERENCES users (id),
    dismiss_reason TEXT,
    closed_by      BIGINT REFERENCES users (id),
    closed_at      BIGINT
);
CREATE INDEX social_incidents_cluster
    ON social_incidents (status, subcategory_id, region_id, last_post_at);
CREATE INDEX social_incidents_queue ON social_incidents (status, due_at);
CREATE INDEX social_incidents_region ON social_incidents (region_id, status, due_at);
CREATE INDEX social_incidents_org ON social_incidents (org_id, status, due_at);

-- Analysed posts. No author: routing and answering never need one.
CREATE TABLE social_posts (
    id                  BIGSERIAL PRIMARY KEY,
    source              TEXT    NOT NULL,
    platform            TEXT    NOT NULL,
    external_id         TEXT    NOT NULL,
    url                 TEXT,
    text                TEXT    NOT NULL,
    language            TEXT    NOT NULL,
    published_at        BIGINT NOT NULL,
    received_at         BIGINT NOT NULL,
    relevant            BIGINT NOT NULL,
    subcategory_id      BIGINT REFERENCES subcategories (id),
    confidence          DOUBLE PRECISION    NOT NULL,
    sentiment           TEXT    NOT NULL,
    urgent              BIGINT NOT NULL,
    region_id           BIGINT REFERENCES regions (id),
    place               TEXT,
    location_confidence DOUBLE PRECISION,
    -- Signatures (u64 stored as i64 bits): exact copy, b-bit MinHash and its four 16-bit bands.
    exact_sig           BIGINT NOT NULL,
    minhash             BIGINT NOT NULL,
    band0               BIGINT NOT NULL,
    band1               BIGINT NOT NULL,
    band2               BIGINT NOT NULL,
    band3               BIGINT NOT NULL,
    duplicate_of        BIGINT REFERENCES social_posts (id),
    incident_id         BIGINT REFERENCES social_incidents (id),
    -- The ReplyTarget, JSON.
    reply               TEXT    NOT NULL,
    UNIQUE (source, external_id)
);
CREATE INDEX social_posts_exact ON social_posts (exact_sig);
CREATE INDEX social_posts_band0 ON social_posts (band0);
CREATE INDEX social_posts_band1 ON social_posts (band1);
CREATE INDEX social_posts_band2 ON social_posts (band2);
CREATE INDEX social_posts_band3 ON social_posts (band3);
CREATE INDEX social_posts_incident ON social_posts (incident_id, id);
CREATE INDEX social_posts_recent ON social_posts (received_at DESC);

-- Answers to publish back under posts, with retries (leased, like every outbox here).
CREATE TABLE social_replies (
    id              BIGSERIAL PRIMARY KEY,
    incident_id     BIGINT NOT NULL REFERENCES social_incidents (id),
    post_id         BIGINT NOT NULL REFERENCES social_posts (id),
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    leased_until    BIGINT NOT NULL DEFAULT 0,
    external_id     TEXT,
    error           TEXT,
    created_at      BIGINT NOT NULL,
    sent_at         BIGINT,
    UNIQUE (incident_id, post_id)
);
CREATE INDEX social_replies_due ON social_replies (status, next_attempt_at);
