-- The transparency log (RFC 9162 Merkle tree) of every lifecycle event.
-- Append-only: rows are inserted in the transaction that records the event and are
-- never updated or deleted (except `log_state`, the tree's running frontier).

-- The one row that serialises appends: the tree size, its hash algorithm, and the
-- frontier (the perfect-subtree roots of the current size, 32 bytes each, largest
-- first), from which the next append and the current root are computed.
CREATE TABLE log_state (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    alg      TEXT    NOT NULL,
    size     INTEGER NOT NULL CHECK (size >= 0),
    frontier BLOB    NOT NULL
) STRICT;

-- One leaf per event. `data` is the canonical encoding (docs/TRANSPARENCY_LOG.md);
-- `salt` is the private salt of the leaf's commitment to personal data, never published.
CREATE TABLE log_leaves (
    idx           INTEGER PRIMARY KEY,
    kind          TEXT    NOT NULL,
    submission_id INTEGER REFERENCES submissions (id),
    event_id      INTEGER UNIQUE REFERENCES events (id),
    data          BLOB    NOT NULL,
    salt          BLOB    NOT NULL,
    at            INTEGER NOT NULL
) STRICT;
CREATE INDEX log_leaves_submission ON log_leaves (submission_id, idx);

-- Perfect subtree hashes: id = level << 56 | index (the subtree of 2^level leaves that
-- starts at leaf index·2^level). Proofs read O(log n) of these.
CREATE TABLE log_nodes (
    id   INTEGER PRIMARY KEY,
    hash BLOB    NOT NULL
) STRICT;

-- Signed tree heads, kept forever.
CREATE TABLE log_tree_heads (
    size         INTEGER PRIMARY KEY,
    root         BLOB    NOT NULL,
    timestamp_ms INTEGER NOT NULL,
    key_id       TEXT    NOT NULL,
    signature    BLOB    NOT NULL
) STRICT;

-- Every public key that has signed tree heads.
CREATE TABLE log_keys (
    key_id     TEXT    PRIMARY KEY,
    public_key BLOB    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

-- The log exists from the start (SHA-256 unless the installation chooses otherwise before
-- its first leaf), so every write path can append.
INSERT INTO log_state (id, alg, size, frontier) VALUES (1, 'sha256', 0, X'');
