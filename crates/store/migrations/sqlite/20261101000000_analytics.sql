-- Analytics (docs/ANALYTICS.md): additive counters kept per cell — a period (a day or a
-- month, Moscow time) × a projection of the dimensions (otklik_domain::analytics::MATERIALISED;
-- a dropped dimension is stored as 0 or ''). The follower adds what each event and incident
-- of the transparency log means (otklik_domain::analytics::Replay), from `analytics_state`'s
-- cursor, in the transaction that moves the cursor: nothing is counted twice or missed, and a
-- rebuild (cursor 0, cells emptied) recomputes exactly the same cells.

CREATE TABLE analytics_state (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    -- The next log index to read.
    next_idx   INTEGER NOT NULL CHECK (next_idx >= 0),
    -- Events and incidents counted so far.
    counted    INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL
) STRICT;
INSERT INTO analytics_state (id, next_idx, counted, updated_at) VALUES (1, 0, 0, 0);

CREATE TABLE analytics_cells (
    mask           INTEGER NOT NULL,
    grain          TEXT    NOT NULL CHECK (grain IN ('d', 'm')),
    period         INTEGER NOT NULL,
    region_id      INTEGER NOT NULL,
    org_id         INTEGER NOT NULL,
    subcategory_id INTEGER NOT NULL,
    channel        TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    registered               INTEGER NOT NULL DEFAULT 0,
    redirected_in            INTEGER NOT NULL DEFAULT 0,
    taken_into_work          INTEGER NOT NULL DEFAULT 0,
    intermediate_answers     INTEGER NOT NULL DEFAULT 0,
    answered                 INTEGER NOT NULL DEFAULT 0,
    answered_on_time         INTEGER NOT NULL DEFAULT 0,
    redirected               INTEGER NOT NULL DEFAULT 0,
    recategorised            INTEGER NOT NULL DEFAULT 0,
    sent_back                INTEGER NOT NULL DEFAULT 0,
    answer_returned          INTEGER NOT NULL DEFAULT 0,
    clarification_requested  INTEGER NOT NULL DEFAULT 0,
    extended                 INTEGER NOT NULL DEFAULT 0,
    rejected_obscene_language INTEGER NOT NULL DEFAULT 0,
    rejected_unreadable_text INTEGER NOT NULL DEFAULT 0,
    rejected_repeated_question INTEGER NOT NULL DEFAULT 0,
    rejected_court_matter    INTEGER NOT NULL DEFAULT 0,
    rejected_protected_secret INTEGER NOT NULL DEFAULT 0,
    rated_1                  INTEGER NOT NULL DEFAULT 0,
    rated_2                  INTEGER NOT NULL DEFAULT 0,
    rated_3                  INTEGER NOT NULL DEFAULT 0,
    rated_4                  INTEGER NOT NULL DEFAULT 0,
    rated_5                  INTEGER NOT NULL DEFAULT 0,
    incident_late_registration INTEGER NOT NULL DEFAULT 0,
    incident_late_moderation INTEGER NOT NULL DEFAULT 0,
    incident_late_redirect   INTEGER NOT NULL DEFAULT 0,
    incident_late_answer     INTEGER NOT NULL DEFAULT 0,
    incident_answer_rejected INTEGER NOT NULL DEFAULT 0,
    incident_low_rating      INTEGER NOT NULL DEFAULT 0,
    incident_delivery_failing INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (mask, grain, period, region_id, org_id, subcategory_id, channel, kind)
) STRICT, WITHOUT ROWID;

-- Durations (to take into work, to redirect, to answer) as counts per logarithmic bucket
-- (otklik_domain::analytics::bucket_of), so medians and p90 add up across cells.
CREATE TABLE analytics_times (
    mask           INTEGER NOT NULL,
    grain          TEXT    NOT NULL CHECK (grain IN ('d', 'm')),
    period         INTEGER NOT NULL,
    region_id      INTEGER NOT NULL,
    org_id         INTEGER NOT NULL,
    subcategory_id INTEGER NOT NULL,
    channel        TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    timing         TEXT    NOT NULL CHECK (timing IN ('take', 'route', 'answer')),
    bucket         INTEGER NOT NULL CHECK (bucket >= 0),
    n              INTEGER NOT NULL,
    PRIMARY KEY (mask, grain, period, region_id, org_id, subcategory_id, channel, kind, timing, bucket)
) STRICT, WITHOUT ROWID;

-- A registration records the subcategory it started with, so that a replay knows the
-- category of every event even after a recategorisation. Earlier registrations take the
-- submission's current one.
UPDATE events SET subcategory_id =
    (SELECT s.subcategory_id FROM submissions s WHERE s.id = events.submission_id)
    WHERE kind = 'registered' AND subcategory_id IS NULL;
