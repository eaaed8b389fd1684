-- Social-media incidents in analytics (docs/ANALYTICS.md): their own additive cells, keyed
-- like the submissions' by a period (a day or a month, Moscow time) and a projection of the
-- dimensions (otklik_domain::analytics::SOCIAL_MATERIALISED) — region, organisation and
-- subcategory only: channel and kind do not apply to them. Unknown values are 0. The
-- follower adds what the log's `social` leaves and social breach leaves mean in the
-- transaction that moves its cursor, and a rebuild recomputes them with the other cells.
-- Leaves logged before this migration are counted by `otklik analytics rebuild`.

CREATE TABLE analytics_social_cells (
    mask             BIGINT NOT NULL,
    grain            TEXT    NOT NULL CHECK (grain IN ('d', 'm')),
    period           BIGINT NOT NULL,
    region_id        BIGINT NOT NULL,
    org_id           BIGINT NOT NULL,
    subcategory_id   BIGINT NOT NULL,
    opened           BIGINT NOT NULL DEFAULT 0,
    answered         BIGINT NOT NULL DEFAULT 0,
    answered_on_time BIGINT NOT NULL DEFAULT 0,
    breached         BIGINT NOT NULL DEFAULT 0,
    dismissed        BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (mask, grain, period, region_id, org_id, subcategory_id)
);

-- The time from opening to the public answer, as counts per logarithmic bucket
-- (otklik_domain::analytics::bucket_of, as the submissions' times).
CREATE TABLE analytics_social_times (
    mask           BIGINT NOT NULL,
    grain          TEXT    NOT NULL CHECK (grain IN ('d', 'm')),
    period         BIGINT NOT NULL,
    region_id      BIGINT NOT NULL,
    org_id         BIGINT NOT NULL,
    subcategory_id BIGINT NOT NULL,
    bucket         BIGINT NOT NULL CHECK (bucket >= 0),
    n              BIGINT NOT NULL,
    PRIMARY KEY (mask, grain, period, region_id, org_id, subcategory_id, bucket)
);
