-- Polls and votes (docs/POLLS.md). The voter roll (poll_voters: who voted) and the
-- ballot box (poll_ballots: what was chosen) share no key, no order and no time:
-- ballots carry a random id and their place in the poll's own Merkle log, shuffled
-- within each commit; voters carry nothing but their key. Tables without rowid keep
-- rows in key order, not in the order they were written.
CREATE TABLE polls (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT    NOT NULL CHECK (kind IN ('survey', 'vote')),
    -- NULL: run by the operator.
    org_id          INTEGER REFERENCES organisations (id),
    title           TEXT    NOT NULL,
    description     TEXT    NOT NULL,
    -- The checked questions (otklik_domain::poll::PollSpec), JSON.
    questions       TEXT    NOT NULL,
    region_id       INTEGER REFERENCES regions (id),
    municipality_id INTEGER REFERENCES municipalities (id),
    min_age         INTEGER CHECK (min_age BETWEEN 0 AND 120),
    verification    TEXT    NOT NULL CHECK (verification IN ('unverified', 'standard', 'verified')),
    -- The UTC offset of the poll's territory, for its local dates.
    offset_minutes  INTEGER NOT NULL,
    opens_at        INTEGER NOT NULL,
    closes_at       INTEGER NOT NULL CHECK (closes_at > opens_at),
    results         TEXT    NOT NULL CHECK (results IN ('live', 'embargoed')),
    created_by      INTEGER NOT NULL REFERENCES users (id),
    created_at      INTEGER NOT NULL,
    cancelled_at    INTEGER,
    -- The poll's Merkle log: hash algorithm, size and frontier (as log_state).
    alg             TEXT    NOT NULL,
    size            INTEGER NOT NULL DEFAULT 0 CHECK (size >= 0),
    frontier        BLOB    NOT NULL DEFAULT X'',
    -- Set once, after the close: the number of ballots, and the signed head (wire JSON)
    -- of the final tree — leaf 0 the poll's definition, then the ballots in the order of
    -- their random ids, so the published order says nothing of when anyone voted.
    final_size      INTEGER,
    final_head      TEXT
) STRICT;
CREATE INDEX polls_closing ON polls (closes_at);
CREATE INDEX polls_org ON polls (org_id, closes_at);

-- Who voted: one row per poll and identity key (the database enforces one vote).
CREATE TABLE poll_voters (
    poll_id   INTEGER NOT NULL REFERENCES polls (id),
    voter_key TEXT    NOT NULL,
    PRIMARY KEY (poll_id, voter_key)
) STRICT, WITHOUT ROWID;

-- What was chosen: leaf `idx` of the poll's log is this ballot.
CREATE TABLE poll_ballots (
    poll_id   INTEGER NOT NULL REFERENCES polls (id),
    idx       INTEGER NOT NULL,
    ballot_id TEXT    NOT NULL,
    answers   TEXT    NOT NULL,
    PRIMARY KEY (poll_id, idx),
    UNIQUE (poll_id, ballot_id)
) STRICT, WITHOUT ROWID;

-- Perfect subtree hashes of each poll's log (id as log_nodes.id).
CREATE TABLE poll_nodes (
    poll_id INTEGER NOT NULL REFERENCES polls (id),
    id      INTEGER NOT NULL,
    hash    BLOB    NOT NULL,
    PRIMARY KEY (poll_id, id)
) STRICT, WITHOUT ROWID;

-- Signed tree heads of each poll's log, each poll with a key of its own (derived from
-- the transparency log's key and the poll id, so no head of one log passes for another's).
CREATE TABLE poll_heads (
    poll_id      INTEGER NOT NULL REFERENCES polls (id),
    size         INTEGER NOT NULL,
    root         BLOB    NOT NULL,
    timestamp_ms INTEGER NOT NULL,
    key_id       TEXT    NOT NULL,
    signature    BLOB    NOT NULL,
    public_key   BLOB    NOT NULL,
    PRIMARY KEY (poll_id, size)
) STRICT, WITHOUT ROWID;

-- Running counts, kept with every commit of ballots: overall (dimension 'all') and per
-- region, age group and channel, one dimension at a time (never their combination), and
-- ballots per local day (dimension 'day', question -1 only).
-- question -1 counts ballots; slots as otklik_domain::poll::Cell.
CREATE TABLE poll_counts (
    poll_id   INTEGER NOT NULL REFERENCES polls (id),
    dimension TEXT    NOT NULL CHECK (dimension IN ('all', 'region', 'age', 'channel', 'day')),
    value     TEXT    NOT NULL,
    question  INTEGER NOT NULL,
    slot      INTEGER NOT NULL,
    count     INTEGER NOT NULL,
    PRIMARY KEY (poll_id, dimension, value, question, slot)
) STRICT, WITHOUT ROWID;

-- Free-text answers, apart from ballots and voters: a random id, no order, no time.
CREATE TABLE poll_texts (
    poll_id  INTEGER NOT NULL REFERENCES polls (id),
    question INTEGER NOT NULL,
    id       TEXT    NOT NULL,
    text     TEXT    NOT NULL,
    PRIMARY KEY (poll_id, question, id)
) STRICT, WITHOUT ROWID;
