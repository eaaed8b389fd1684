-- Otklik, initial schema (SQLite).
-- Timestamps are unix seconds (UTC); booleans are 0/1; ids never get reused
-- (AUTOINCREMENT), because registration numbers are derived from them.

CREATE TABLE regions (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    code               TEXT    NOT NULL UNIQUE,
    name               TEXT    NOT NULL,
    utc_offset_minutes INTEGER NOT NULL
) STRICT;

CREATE TABLE organisations (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    name               TEXT    NOT NULL,
    kind               TEXT    NOT NULL,
    region_id          INTEGER REFERENCES regions (id),
    is_coordinator     INTEGER NOT NULL DEFAULT 0 CHECK (is_coordinator IN (0, 1)),
    utc_offset_minutes INTEGER NOT NULL
) STRICT;
CREATE INDEX organisations_region ON organisations (region_id, is_coordinator);

CREATE TABLE categories (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    name     TEXT    NOT NULL,
    position INTEGER NOT NULL
) STRICT;

CREATE TABLE subcategories (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    category_id INTEGER NOT NULL REFERENCES categories (id),
    name        TEXT    NOT NULL,
    form_spec   TEXT    NOT NULL,
    position    INTEGER NOT NULL
) STRICT;
CREATE INDEX subcategories_category ON subcategories (category_id, position);

CREATE TABLE routing_rules (
    subcategory_id INTEGER NOT NULL REFERENCES subcategories (id),
    region_id      INTEGER NOT NULL REFERENCES regions (id),
    org_id         INTEGER NOT NULL REFERENCES organisations (id),
    PRIMARY KEY (subcategory_id, region_id)
) STRICT;

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    full_name     TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('citizen', 'official', 'operator')),
    org_id        INTEGER REFERENCES organisations (id),
    created_at    INTEGER NOT NULL,
    CHECK ((role = 'official') = (org_id IS NOT NULL))
) STRICT;
CREATE INDEX users_org ON users (org_id);

CREATE TABLE sessions (
    token_sha256 BLOB    PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
) STRICT;

CREATE TABLE submissions (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    kind           TEXT    NOT NULL CHECK (kind IN ('message', 'appeal')),
    author_id      INTEGER NOT NULL REFERENCES users (id),
    subcategory_id INTEGER NOT NULL REFERENCES subcategories (id),
    region_id      INTEGER NOT NULL REFERENCES regions (id),
    org_id         INTEGER NOT NULL REFERENCES organisations (id),
    status         TEXT    NOT NULL,
    round          INTEGER NOT NULL CHECK (round IN (1, 2)),
    rating         INTEGER CHECK (rating BETWEEN 1 AND 5),
    text           TEXT    NOT NULL,
    fields_json    TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    deadline_at    INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX submissions_author ON submissions (author_id, id DESC);
CREATE INDEX submissions_org ON submissions (org_id, status, deadline_at);
CREATE INDEX submissions_open_deadline ON submissions (deadline_at)
    WHERE status IN ('registered', 'in_progress', 'reopened');
CREATE INDEX submissions_status ON submissions (status, id DESC);

CREATE TABLE events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    submission_id INTEGER NOT NULL REFERENCES submissions (id),
    kind          TEXT    NOT NULL,
    actor_id      INTEGER REFERENCES users (id),
    at            INTEGER NOT NULL,
    from_status   TEXT,
    to_status     TEXT    NOT NULL,
    from_org      INTEGER REFERENCES organisations (id),
    to_org        INTEGER NOT NULL REFERENCES organisations (id),
    reason        TEXT,
    body          TEXT,
    ground        TEXT,
    score         INTEGER CHECK (score BETWEEN 1 AND 5),
    deadline_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX events_submission ON events (submission_id, id);

CREATE TABLE files (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    submission_id INTEGER NOT NULL REFERENCES submissions (id),
    event_id      INTEGER REFERENCES events (id),
    name          TEXT    NOT NULL,
    mime          TEXT    NOT NULL,
    size          INTEGER NOT NULL,
    sha256        TEXT    NOT NULL,
    content       BLOB    NOT NULL
) STRICT;
CREATE INDEX files_submission ON files (submission_id, id);
CREATE INDEX files_event ON files (event_id);

CREATE TABLE personal_data_access (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    staff_id      INTEGER NOT NULL REFERENCES users (id),
    submission_id INTEGER NOT NULL REFERENCES submissions (id),
    purpose       TEXT    NOT NULL,
    at            INTEGER NOT NULL
) STRICT;
CREATE INDEX personal_data_access_submission ON personal_data_access (submission_id, id);
