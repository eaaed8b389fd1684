-- Versions of analytics periods (docs/ANALYTICS.md, "Periods read once"). Every write to
-- the cells gives each period it touches the next value of `analytics_state.writes`, which
-- only grows; a rebuild deletes the versions with the cells. A node keeps the sums it read
-- for a range of periods and uses them again while the range's highest version is the same.
ALTER TABLE analytics_state ADD COLUMN writes BIGINT NOT NULL DEFAULT 1;

CREATE TABLE analytics_periods (
    grain   TEXT   NOT NULL CHECK (grain IN ('d', 'm')),
    period  BIGINT NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (grain, period)
);

-- Periods already written, at the first version.
INSERT INTO analytics_periods (grain, period, version)
SELECT grain, period, 1 FROM analytics_cells GROUP BY grain, period
UNION
SELECT grain, period, 1 FROM analytics_times GROUP BY grain, period
UNION
SELECT grain, period, 1 FROM analytics_social_cells GROUP BY grain, period
UNION
SELECT grain, period, 1 FROM analytics_social_times GROUP BY grain, period;
