-- Counts of submissions kept per list scope and status, so that a list page (the
-- personal account, an inbox, a region's queue, the operator's list) shows its exact
-- total without counting the scope's rows. `scope`: 0 all, 1 author, 2 organisation,
-- 3 region (`scope_id` 0 for all). Triggers keep them: every write to `submissions`
-- passes through them, whatever code path made it. SQLite has one writer, so one row per
-- key updated in place costs no contention (PostgreSQL appends deltas instead).
CREATE TABLE list_counts (
    scope    INTEGER NOT NULL,
    scope_id INTEGER NOT NULL,
    status   TEXT    NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (scope, scope_id, status)
) STRICT, WITHOUT ROWID;

INSERT INTO list_counts (scope, scope_id, status, n)
SELECT 0, 0, status, COUNT(*) FROM submissions GROUP BY status
UNION ALL
SELECT 1, author_id, status, COUNT(*) FROM submissions GROUP BY author_id, status
UNION ALL
SELECT 2, org_id, status, COUNT(*) FROM submissions GROUP BY org_id, status
UNION ALL
SELECT 3, region_id, status, COUNT(*) FROM submissions GROUP BY region_id, status;

CREATE TRIGGER list_counts_insert AFTER INSERT ON submissions
BEGIN
    INSERT INTO list_counts (scope, scope_id, status, n)
    VALUES (0, 0, NEW.status, 1), (1, NEW.author_id, NEW.status, 1),
           (2, NEW.org_id, NEW.status, 1), (3, NEW.region_id, NEW.status, 1)
    ON CONFLICT (scope, scope_id, status) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER list_counts_delete AFTER DELETE ON submissions
BEGIN
    UPDATE list_counts SET n = n - 1
    WHERE (scope = 0 AND scope_id = 0 AND status = OLD.status)
       OR (scope = 1 AND scope_id = OLD.author_id AND status = OLD.status)
       OR (scope = 2 AND scope_id = OLD.org_id AND status = OLD.status)
       OR (scope = 3 AND scope_id = OLD.region_id AND status = OLD.status);
END;

CREATE TRIGGER list_counts_update AFTER UPDATE OF status, author_id, org_id, region_id
ON submissions
WHEN OLD.status IS NOT NEW.status OR OLD.author_id IS NOT NEW.author_id
  OR OLD.org_id IS NOT NEW.org_id OR OLD.region_id IS NOT NEW.region_id
BEGIN
    UPDATE list_counts SET n = n - 1
    WHERE (scope = 0 AND scope_id = 0 AND status = OLD.status)
       OR (scope = 1 AND scope_id = OLD.author_id AND status = OLD.status)
       OR (scope = 2 AND scope_id = OLD.org_id AND status = OLD.status)
       OR (scope = 3 AND scope_id = OLD.region_id AND status = OLD.status);
    INSERT INTO list_counts (scope, scope_id, status, n)
    VALUES (0, 0, NEW.status, 1), (1, NEW.author_id, NEW.status, 1),
           (2, NEW.org_id, NEW.status, 1), (3, NEW.region_id, NEW.status, 1)
    ON CONFLICT (scope, scope_id, status) DO UPDATE SET n = n + 1;
END;
