-- An organisation's inbox and a region's list are read newest first, a page at a time:
-- these indexes hand out a page in that order instead of sorting every submission of
-- the organisation or region (the status/deadline indexes serve the deadline views).
CREATE INDEX submissions_org_newest ON submissions (org_id, id DESC);
CREATE INDEX submissions_region_newest ON submissions (region_id, id DESC);
