-- The transparency log (RFC 9162 Merkle tree), PostgreSQL. of every lifecycle event.
-- Append-only: rows are inserted in the transaction that records the event and are
-- never updated or deleted (except `log_state`, the tree's running frontier).

-- The one row that serialises appends: the tree size, its hash algorithm, and the
-- frontier (the perfect-subtree roots of the current size, 32 bytes each, largest
-- first), from which the next append and the current root are computed.
CREATE TABLE log_state (
    id       BIGINT PRIMARY KEY CHECK (id = 1),
    alg      TEXT    NOT NULL,
    size     BIGINT  NOT NULL CHECK (size >= 0),
    frontier BYTEA   NOT NULL
);

-- One leaf per event. `data` is the canonical encoding (docs/TRANSPARENCY_LOG.md);
-- `salt` is the private salt of the leaf's commitment to personal data, never published.
CREATE TABLE log_leaves (
    idx           BIGINT  PRIMARY KEY,
    kind          TEXT    NOT NULL,
    submission_id BIGINT  REFERENCES submissions (id),
    event_id      BIGINT  UNIQUE REFERENCES events (id),
    data          BYTEA   NOT NULL,
    salt          BYTEA   NOT NULL,
    at            BIGINT  NOT NULL
);
CREATE INDEX log_leaves_submission ON log_leaves (submission_id, idx);

-- Perfect subtree hashes: id = level << 56 | index (the subtree of 2^level leaves that
-- starts at leaf index·2^level). Proofs read O(log n) of these.
CREATE TABLE log_nodes (
    id   BIGINT  PRIMARY KEY,
    hash BYTEA   NOT NULL
);

-- Signed tree heads, kept forever.
CREATE TABLE log_tree_heads (
    size         BIGINT  PRIMARY KEY,
    root         BYTEA   NOT NULL,
    timestamp_ms BIGINT  NOT NULL,
    key_id       TEXT    NOT NULL,
    signature    BYTEA   NOT NULL
);

-- Every public key that has signed tree heads.
CREATE TABLE log_keys (
    key_id     TEXT    PRIMARY KEY,
    public_key BYTEA   NOT NULL,
    created_at BIGINT  NOT NULL
);

-- The log exists from the start (SHA-256 unless the installation chooses otherwise before
-- its first leaf), so every write path can append.
INSERT INTO log_state (id, alg, size, frontier) VALUES (1, 'sha256', 0, '\x'::bytea);
