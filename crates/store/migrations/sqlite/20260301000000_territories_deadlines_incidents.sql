-- Territories and routing by specificity, regional coordinators and the ministry's
-- analyst, deadline policies and calendars as data, clock pauses and extensions,
-- procedure incidents, and the record of every configuration change.

-- Roles: the regional coordinator (one region) and the analyst join. SQLite cannot alter
-- a CHECK constraint, so `users` is rebuilt; foreign keys are deferred to the commit, and
-- the rows go back with the same ids, so every reference is whole again by then.
PRAGMA defer_foreign_keys = ON;
CREATE TEMP TABLE users_copy AS SELECT * FROM users;
CREATE TEMP TABLE sessions_copy AS SELECT * FROM sessions;
DROP TABLE users;
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    full_name     TEXT    NOT NULL,
    role          TEXT    NOT NULL
        CHECK (role IN ('citizen', 'official', 'operator', 'coordinator', 'analyst')),
    org_id        INTEGER REFERENCES organisations (id),
    region_id     INTEGER REFERENCES regions (id),
    created_at    INTEGER NOT NULL,
    CHECK ((role = 'official') = (org_id IS NOT NULL)),
    CHECK ((role = 'coordinator') = (region_id IS NOT NULL))
) STRICT;
INSERT INTO users (id, email, password_hash, full_name, role, org_id, region_id, created_at)
    SELECT id, email, password_hash, full_name, role, org_id, NULL, created_at FROM users_copy;
CREATE INDEX users_org ON users (org_id);
INSERT INTO sessions SELECT * FROM sessions_copy WHERE NOT EXISTS
    (SELECT 1 FROM sessions s WHERE s.token_sha256 = sessions_copy.token_sha256);
DROP TABLE users_copy;
DROP TABLE sessions_copy;

-- Regions are the federal subjects; the full list is loaded at start-up from the data the
-- domain ships (codes, districts, time zones).
ALTER TABLE regions ADD COLUMN okato TEXT;
ALTER TABLE regions ADD COLUMN federal_district TEXT;

CREATE TABLE municipalities (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    region_id          INTEGER NOT NULL REFERENCES regions (id),
    oktmo              TEXT    NOT NULL UNIQUE,
    name               TEXT    NOT NULL,
    utc_offset_minutes INTEGER NOT NULL
) STRICT;
CREATE INDEX municipalities_region ON municipalities (region_id, name);

ALTER TABLE organisations ADD COLUMN parent_id INTEGER REFERENCES organisations (id);
ALTER TABLE organisations ADD COLUMN municipality_id INTEGER REFERENCES municipalities (id);

-- Routing rules by specificity: a municipality's rule before its region's before the
-- federal one (region and municipality NULL); the coordinator when none matches.
CREATE TABLE routes (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    subcategory_id  INTEGER NOT NULL REFERENCES subcategories (id),
    region_id       INTEGER REFERENCES regions (id),
    municipality_id INTEGER REFERENCES municipalities (id),
    org_id          INTEGER NOT NULL REFERENCES organisations (id),
    CHECK (municipality_id IS NULL OR region_id IS NOT NULL)
) STRICT;
CREATE UNIQUE INDEX routes_scope
    ON routes (subcategory_id, COALESCE(region_id, 0), COALESCE(municipality_id, 0));
INSERT INTO routes (subcategory_id, region_id, municipality_id, org_id)
    SELECT subcategory_id, region_id, NULL, org_id FROM routing_rules;
DROP TABLE routing_rules;

-- Where and how a submission's term runs.
ALTER TABLE submissions ADD COLUMN municipality_id INTEGER REFERENCES municipalities (id);
-- The routing decision: `municipality:ID`, `region:ID`, `federal:ID` (rule ids) or
-- `coordinator`, and whether the coordinator or an official changed it by hand.
ALTER TABLE submissions ADD COLUMN route TEXT NOT NULL DEFAULT 'region';
ALTER TABLE submissions ADD COLUMN term_started_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE submissions ADD COLUMN paused_at INTEGER;
-- Completed pauses as JSON [[from, to], …] (unix seconds), for recomputing deadlines.
ALTER TABLE submissions ADD COLUMN pauses TEXT NOT NULL DEFAULT '[]';
ALTER TABLE submissions ADD COLUMN extension_days INTEGER NOT NULL DEFAULT 0;
UPDATE submissions SET term_started_at = created_at;
UPDATE submissions SET term_started_at = COALESCE(
    (SELECT MAX(e.at) FROM events e WHERE e.submission_id = submissions.id
        AND e.kind IN ('redirected', 'sent_back')), created_at);
CREATE INDEX submissions_region ON submissions (region_id, status, deadline_at);

ALTER TABLE events ADD COLUMN subcategory_id INTEGER REFERENCES subcategories (id);
ALTER TABLE events ADD COLUMN extension_days INTEGER;

-- Deadline policies: per kind, optionally per subcategory (the most specific applies).
CREATE TABLE deadline_policies (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    kind           TEXT    NOT NULL CHECK (kind IN ('message', 'appeal')),
    subcategory_id INTEGER REFERENCES subcategories (id),
    spec           TEXT    NOT NULL,
    updated_at     INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX deadline_policies_scope
    ON deadline_policies (kind, COALESCE(subcategory_id, 0));

-- Days layered over the shipped production calendar: region '' is the federal layer
-- (later years' decrees), a region code its own holidays and working days.
CREATE TABLE calendar_days (
    region_code TEXT NOT NULL,
    day         TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('holiday', 'day-off', 'working', 'short')),
    PRIMARY KEY (region_code, day)
) STRICT;

-- Procedure incidents: never deleted; resolved with a note.
CREATE TABLE incidents (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    kind          TEXT    NOT NULL,
    submission_id INTEGER NOT NULL REFERENCES submissions (id),
    org_id        INTEGER NOT NULL REFERENCES organisations (id),
    region_id     INTEGER NOT NULL REFERENCES regions (id),
    due_at        INTEGER,
    detected_at   INTEGER NOT NULL,
    resolved_at   INTEGER,
    resolved_by   INTEGER REFERENCES users (id),
    resolution    TEXT
) STRICT;
CREATE UNIQUE INDEX incidents_once ON incidents (submission_id, kind, COALESCE(due_at, 0));
CREATE INDEX incidents_region ON incidents (region_id, detected_at DESC);
CREATE INDEX incidents_kind ON incidents (kind, detected_at DESC);

-- Warnings before a deadline, once per deadline.
CREATE TABLE deadline_warnings (
    submission_id INTEGER NOT NULL REFERENCES submissions (id),
    due_at        INTEGER NOT NULL,
    warned_at     INTEGER NOT NULL,
    PRIMARY KEY (submission_id, due_at)
) STRICT;

-- Every change the operator makes to routing, organisations, catalogue, policies and
-- calendars: who, when, what, before → after (JSON).
CREATE TABLE config_changes (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    actor_id   INTEGER REFERENCES users (id),
    at         INTEGER NOT NULL,
    entity     TEXT    NOT NULL,
    entity_key TEXT    NOT NULL,
    before     TEXT,
    after      TEXT
) STRICT;
CREATE INDEX config_changes_entity ON config_changes (entity, entity_key, id);
