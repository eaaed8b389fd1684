-- Counts of submissions kept per list scope and status, so that a list page (the
-- personal account, an inbox, a region's queue, the operator's list) shows its exact
-- total without counting the scope's rows. `scope`: 0 all, 1 author, 2 organisation,
-- 3 region (`scope_id` 0 for all). Triggers keep them: every write to `submissions`
-- passes through them, whatever code path made it.
--
-- Writers only append deltas (one row per key a statement changes), so two transactions
-- never wait for each other here: a counter row updated in place would be locked from a
-- submission's update to its commit, by every writer of the same organisation, region
-- and of the whole country. A key's count is the sum of its rows; `Store::compact_counts`
-- folds the fresh deltas (`compacted = false`) of each key into one row now and then.
CREATE TABLE list_counts (
    scope     SMALLINT NOT NULL,
    scope_id  BIGINT   NOT NULL,
    status    TEXT     NOT NULL,
    n         BIGINT   NOT NULL,
    compacted BOOLEAN  NOT NULL DEFAULT FALSE
);
CREATE INDEX list_counts_key ON list_counts (scope, scope_id, status) INCLUDE (n);
CREATE INDEX list_counts_fresh ON list_counts (scope, scope_id, status) WHERE NOT compacted;

INSERT INTO list_counts (scope, scope_id, status, n, compacted)
SELECT 0, 0, status, COUNT(*), TRUE FROM submissions GROUP BY status
UNION ALL
SELECT 1, author_id, status, COUNT(*), TRUE FROM submissions GROUP BY author_id, status
UNION ALL
SELECT 2, org_id, status, COUNT(*), TRUE FROM submissions GROUP BY org_id, status
UNION ALL
SELECT 3, region_id, status, COUNT(*), TRUE FROM submissions GROUP BY region_id, status;

-- One delta row per key a statement changes (statement-level, over the transition
-- tables: a group commit's multi-row insert adds a few rows, not four per submission).
CREATE FUNCTION list_counts_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO list_counts (scope, scope_id, status, n)
        SELECT k.scope, k.scope_id, k.status, COUNT(*)
        FROM new_rows s
        CROSS JOIN LATERAL (VALUES (0::SMALLINT, 0::BIGINT, s.status),
                                   (1::SMALLINT, s.author_id, s.status),
                                   (2::SMALLINT, s.org_id, s.status),
                                   (3::SMALLINT, s.region_id, s.status))
            AS k (scope, scope_id, status)
        GROUP BY k.scope, k.scope_id, k.status;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO list_counts (scope, scope_id, status, n)
        SELECT k.scope, k.scope_id, k.status, -COUNT(*)
        FROM old_rows s
        CROSS JOIN LATERAL (VALUES (0::SMALLINT, 0::BIGINT, s.status),
                                   (1::SMALLINT, s.author_id, s.status),
                                   (2::SMALLINT, s.org_id, s.status),
                                   (3::SMALLINT, s.region_id, s.status))
            AS k (scope, scope_id, status)
        GROUP BY k.scope, k.scope_id, k.status;
    ELSE
        INSERT INTO list_counts (scope, scope_id, status, n)
        SELECT k.scope, k.scope_id, k.status, SUM(k.n)
        FROM old_rows o
        JOIN new_rows s ON s.id = o.id
        CROSS JOIN LATERAL (VALUES (0::SMALLINT, 0::BIGINT, o.status, -1),
                                   (1::SMALLINT, o.author_id, o.status, -1),
                                   (2::SMALLINT, o.org_id, o.status, -1),
                                   (3::SMALLINT, o.region_id, o.status, -1),
                                   (0::SMALLINT, 0::BIGINT, s.status, 1),
                                   (1::SMALLINT, s.author_id, s.status, 1),
                                   (2::SMALLINT, s.org_id, s.status, 1),
                                   (3::SMALLINT, s.region_id, s.status, 1))
            AS k (scope, scope_id, status, n)
        WHERE o.status <> s.status OR o.author_id <> s.author_id
           OR o.org_id <> s.org_id OR o.region_id <> s.region_id
        GROUP BY k.scope, k.scope_id, k.status
        HAVING SUM(k.n) <> 0;
    END IF;
    RETURN NULL;
END
$$;

-- Transition tables allow one event per trigger and no column list, hence three.
CREATE TRIGGER list_counts_insert AFTER INSERT ON submissions
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION list_counts_follow();
CREATE TRIGGER list_counts_update AFTER UPDATE ON submissions
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION list_counts_follow();
CREATE TRIGGER list_counts_delete AFTER DELETE ON submissions
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION list_counts_follow();
