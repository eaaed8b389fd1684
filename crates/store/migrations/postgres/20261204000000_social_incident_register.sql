-- Social-media incidents not answered by their deadline join the procedure incident
-- register (seed clause 18; requirement S1): a register row names either a submission or
-- a social incident, never both. Organisation and region may be unknown for a social
-- incident nobody has routed yet; the operator sees such rows.
ALTER TABLE incidents ALTER COLUMN submission_id DROP NOT NULL;
ALTER TABLE incidents ALTER COLUMN org_id DROP NOT NULL;
ALTER TABLE incidents ALTER COLUMN region_id DROP NOT NULL;
ALTER TABLE incidents ADD COLUMN social_incident_id BIGINT REFERENCES social_incidents (id);
ALTER TABLE incidents ADD CONSTRAINT incidents_one_subject
    CHECK ((submission_id IS NULL) <> (social_incident_id IS NULL));
ALTER TABLE incidents ADD CONSTRAINT incidents_submission_placed
    CHECK (submission_id IS NULL OR (org_id IS NOT NULL AND region_id IS NOT NULL));
CREATE UNIQUE INDEX incidents_social_once ON incidents (social_incident_id, kind, COALESCE(due_at, 0))
    WHERE social_incident_id IS NOT NULL;
