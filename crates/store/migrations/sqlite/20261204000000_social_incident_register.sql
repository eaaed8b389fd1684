-- Social-media incidents not answered by their deadline join the procedure incident
-- register (seed clause 18; requirement S1): a register row names either a submission or
-- a social incident, never both. Organisation and region may be unknown for a social
-- incident nobody has routed yet; the operator sees such rows.
-- SQLite cannot relax NOT NULL in place, so the table is rebuilt (nothing references it).
CREATE TABLE incidents_new (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    kind               TEXT    NOT NULL,
    submission_id      INTEGER REFERENCES submissions (id),
    social_incident_id INTEGER REFERENCES social_incidents (id),
    org_id             INTEGER REFERENCES organisations (id),
    region_id          INTEGER REFERENCES regions (id),
    due_at             INTEGER,
    detected_at        INTEGER NOT NULL,
    resolved_at        INTEGER,
    resolved_by        INTEGER REFERENCES users (id),
    resolution         TEXT,
    CHECK ((submission_id IS NULL) <> (social_incident_id IS NULL)),
    CHECK (submission_id IS NULL OR (org_id IS NOT NULL AND region_id IS NOT NULL))
) STRICT;
INSERT INTO incidents_new (id, kind, submission_id, org_id, region_id, due_at, detected_at,
                           resolved_at, resolved_by, resolution)
    SELECT id, kind, submission_id, org_id, region_id, due_at, detected_at, resolved_at,
           resolved_by, resolution
    FROM incidents;
DROP TABLE incidents;
ALTER TABLE incidents_new RENAME TO incidents;
CREATE UNIQUE INDEX incidents_once ON incidents (submission_id, kind, COALESCE(due_at, 0));
CREATE UNIQUE INDEX incidents_social_once ON incidents (social_incident_id, kind, COALESCE(due_at, 0))
    WHERE social_incident_id IS NOT NULL;
CREATE INDEX incidents_region ON incidents (region_id, detected_at DESC);
CREATE INDEX incidents_kind ON incidents (kind, detected_at DESC);
