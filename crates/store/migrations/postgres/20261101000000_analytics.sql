-- Analytics (docs/ANALYTICS.md): additive counters kept per cell — a period (a day or a
-- month, Moscow time) × a projection of the dimensions (otklik_domain::analytics::MATERIALISED;
-- a dropped dimension is stored as 0 or ''). The follower adds what each event and incident
-- of the transparency log means (otklik_domain::analytics::Replay), from `analytics_state`'s
-- cursor, in the transaction that moves the cursor: nothing is counted twice or missed, and a
-- rebuild (cursor 0, cells emptied) recomputes exactly the same cells.

CREATE TABLE analytics_state (
    id         BIGINT PRIMARY KEY CHECK (id = 1),
    -- The next log index to read.
    next_idx   BIGINT NOT NULL CHECK (next_idx >= 0),
    -- Events and incidents counted so far.
    counted    BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL
);
INSERT INTO analytics_state (id, next_idx, counted, updated_at) VALUES (1, 0, 0, 0);

CREATE TABLE analytics_cells (
    mask           BIGINT NOT NULL,
    grain          TEXT    NOT NULL CHECK (grain IN ('d', 'm')),
    period         BIGINT NOT NULL,
    region_id      BIGINT NOT NULL,
    org_id         BIGINT NOT NULL,
    subcategory_id BIGINT NOT NULL,
    channel        TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    registered               BIGINT NOT NULL DEFAULT 0,
    redirected_in            BIGINT NOT NULL DEFAULT 0,
    taken_into_work          BIGINT NOT NULL DEFAULT 0,
    intermediate_answers     BIGINT NOT NULL DEFAULT 0,
    answered                 BIGINT NOT NULL DEFAULT 0,
    answered_on_time         BIGINT NOT NULL DEFAULT 0,
    redirected               BIGINT NOT NULL DEFAULT 0,
    recategorised            BIGINT NOT NULL DEFAULT 0,
    sent_back                BIGINT NOT NULL DEFAULT 0,
    answer_returned          BIGINT NOT NULL DEFAULT 0,
    clarification_requested  BIGINT NOT NULL DEFAULT 0,
    extended                 BIGINT NOT NULL DEFAULT 0,
    rejected_obscene_language BIGINT NOT NULL DEFAULT 0,
    rejected_unreadable_text BIGINT NOT NULL DEFAULT 0,
    rejected_repeated_question BIGINT NOT NULL DEFAULT 0,
    rejected_court_matter    BIGINT NOT NULL DEFAULT 0,
    rejected_protected_secret BIGINT NOT NULL DEFAULT 0,
    rated_1                  BIGINT NOT NULL DEFAULT 0,
    rated_2                  BIGINT NOT NULL DEFAULT 0,
    rated_3                  BIGINT NOT NULL DEFAULT 0,
    rated_4                  BIGINT NOT NULL DEFAULT 0,
    rated_5                  BIGINT NOT NULL DEFAULT 0,
    incident_late_registration BIGINT NOT NULL DEFAULT 0,
    incident_late_moderation BIGINT NOT NULL DEFAULT 0,
    incident_late_redirect   BIGINT NOT NULL DEFAULT 0,
    incident_late_answer     BIGINT NOT NULL DEFAULT 0,
    incident_answer_rejected BIGINT NOT NULL DEFAULT 0,
    incident_low_rating      BIGINT NOT NULL DEFAULT 0,
    incident_delivery_failing BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (mask, grain, period, region_id, org_id, subcategory_id, channel, kind)
);

-- Durations (to take into work, to redirect, to answer) as counts per logarithmic bucket
-- (otklik_domain::analytics::bucket_of), so medians and p90 add up across cells.
CREATE TABLE analytics_times (
    mask           BIGINT NOT NULL,
    grain          TEXT    NOT NULL CHECK (grain IN ('d', 'm')),
    period         BIGINT NOT NULL,
    region_id      BIGINT NOT NULL,
    org_id         BIGINT NOT NULL,
    subcategory_id BIGINT NOT NULL,
    channel        TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    timing         TEXT    NOT NULL CHECK (timing IN ('take', 'route', 'answer')),
    bucket         BIGINT NOT NULL CHECK (bucket >= 0),
    n              BIGINT NOT NULL,
    PRIMARY KEY (mask, grain, period, region_id, org_id, subcategory_id, channel, kind, timing, bucket)
);

-- A registration records the subcategory it started with, so that a replay knows the
-- category of every event even after a recategorisation. Earlier registrations take the
-- submission's current one.
UPDATE events SET subcategory_id =
    (SELECT s.subcategory_id FROM submissions s WHERE s.id = events.submission_id)
    WHERE kind = 'registered' AND subcategory_id IS NULL;
