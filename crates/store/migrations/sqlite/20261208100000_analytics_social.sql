-- Social-media incidents in analytics (docs/ANALYTICS.md): their own additive cells, keyed
-- like the submissions' by a period (a day or a month, Moscow time) and a projection of the
-- dimensions (otklik_domain::analytics::SOCIAL_MATERIALISED) — region, organisation and
-- subcategory only: channel and kind do not apply to them. Unknown values are 0. The
-- follower adds what the log's `social` leaves and social breach leaves mean in the
-- transaction that moves its cursor, and a rebuild recomputes them with the other cells.
-- Leaves logged before this migration are counted by `otklik analytics rebuild`.

CREATE TABLE analytics_social_cells (
    mask             INTEGER NOT NULL,
    grain            TEXT    NOT NULL CHECK (grain IN ('d', 'm')),
    period           INTEGER NOT NULL,
    region_id        INTEGER NOT NULL,
    org_id           INTEGER NOT NULL,
    subcategory_id   INTEGER NOT NULL,
    opened           INTEGER NOT NULL DEFAULT 0,
    answered         INTEGER NOT NULL DEFAULT 0,
    answered_on_time INTEGER NOT NULL DEFAULT 0,
    breached         INTEGER NOT NULL DEFAULT 0,
    dismissed        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (mask, grain, period, region_id, org_id, subcategory_id)
) STRICT, WITHOUT ROWID;

-- The time from opening to the public answer, as counts per logarithmic bucket
-- (otklik_domain::analytics::bucket_of, as the submissions' times).
CREATE TABLE analytics_social_times (
    mask           INTEGER NOT NULL,
    grain          TEXT    NOT NULL CHECK (grain IN ('d', 'm')),
    period         INTEGER NOT NULL,
    region_id      INTEGER NOT NULL,
    org_id         INTEGER NOT NULL,
    subcategory_id INTEGER NOT NULL,
    bucket         INTEGER NOT NULL CHECK (bucket >= 0),
    n              INTEGER NOT NULL,
    PRIMARY KEY (mask, grain, period, region_id, org_id, subcategory_id, bucket)
) STRICT, WITHOUT ROWID;
