-- Live results are shown from a copy of the running counts, taken at most once per
-- interval and only once enough new ballots came since the last copy (docs/POLLS.md,
-- threat model): someone comparing two views learns the sum of several ballots, never
-- one person's choice. One copy per poll; the state row says which interval it is for.
CREATE TABLE poll_count_snapshots (
    poll_id   BIGINT NOT NULL REFERENCES polls (id),
    dimension TEXT    NOT NULL,
    value     TEXT    NOT NULL,
    question  BIGINT NOT NULL,
    slot      BIGINT NOT NULL,
    count     BIGINT NOT NULL,
    PRIMARY KEY (poll_id, dimension, value, question, slot)
);

CREATE TABLE poll_snapshot_state (
    poll_id BIGINT PRIMARY KEY REFERENCES polls (id),
    -- The interval (unix seconds / interval length) the copy is shown for.
    bucket  BIGINT NOT NULL,
    -- Ballots in the copy.
    ballots BIGINT NOT NULL
);
