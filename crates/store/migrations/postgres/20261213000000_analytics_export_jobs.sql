-- Background exports of the analytics page's tables (docs/ANALYTICS.md): a job's kind is
-- now 'submissions' (a list, with the list's filters) or 'analytics' (a table of the
-- report, or the whole report, with the report's checked parameters and the reach and
-- small-group minimum they were asked with), both JSON in `params`.
ALTER TABLE export_jobs DROP CONSTRAINT export_jobs_kind_check;
ALTER TABLE export_jobs ADD CONSTRAINT export_jobs_kind_check
    CHECK (kind IN ('submissions', 'analytics'));
