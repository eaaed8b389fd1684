-- The service-quality feed (docs/QUALITY_FEED.md): opinions are read from the
-- transparency log (ratings of answers), so a receiver's cursor is a log index. This
-- row is the push's own cursor and retry state, leased to one node at a time.
CREATE TABLE quality_feed_push (
    id              BIGINT PRIMARY KEY CHECK (id = 1),
    -- The next log index to push from.
    next_idx        BIGINT NOT NULL CHECK (next_idx >= 0),
    -- Opinions delivered so far.
    delivered       BIGINT NOT NULL DEFAULT 0,
    -- Failed attempts of the batch at next_idx, and when to try again (unix seconds).
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL DEFAULT 0,
    -- A node sending holds the row until then.
    leased_until    BIGINT NOT NULL DEFAULT 0,
    -- The last failure's code (never a response body).
    last_error      TEXT
);
INSERT INTO quality_feed_push (id, next_idx) VALUES (1, 0);
