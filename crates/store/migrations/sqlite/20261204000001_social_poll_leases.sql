-- One node polls a source at a time (several nodes share one database): the poller holds
-- a lease on its source's cursor row and renews it before every poll. Posts are stored
-- once per (source, external_id) anyway; the lease saves the platform's rate limit and
-- keeps the cursor moving forward only.
ALTER TABLE social_cursors ADD COLUMN holder TEXT;
ALTER TABLE social_cursors ADD COLUMN leased_until INTEGER NOT NULL DEFAULT 0;
