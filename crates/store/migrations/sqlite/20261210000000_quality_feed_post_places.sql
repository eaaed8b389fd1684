-- Where a social-media post stands in the service-quality feed (docs/QUALITY_FEED.md): the
-- index of the log leaf that routed it (its ingest batch's, or a later staff action's
-- that routed its incident) and the organisation of that moment. Set once, so a post
-- routed late comes after every cursor already handed out, and a re-route does not
-- rewrite what receivers have read. Posts routed nowhere keep NULL.
ALTER TABLE social_posts ADD COLUMN feed_idx INTEGER;
ALTER TABLE social_posts ADD COLUMN feed_org_id INTEGER REFERENCES organisations (id);

-- Posts stored before: at their ingest batch's leaf, when their incident is routed now.
UPDATE social_posts
SET feed_idx = placed.idx,
    feed_org_id = (SELECT i.org_id FROM social_incidents i WHERE i.id = social_posts.incident_id)
FROM (
    SELECT CAST(j.value AS INTEGER) AS post_id, MIN(l.idx) AS idx
    FROM log_leaves l, json_each(CAST(l.data AS TEXT), '$.posts') j
    WHERE l.kind = 'social'
      AND json_extract(CAST(l.data AS TEXT), '$.event') = 'social_posts'
    GROUP BY CAST(j.value AS INTEGER)
) AS placed
WHERE placed.post_id = social_posts.id
  AND social_posts.incident_id IN (SELECT id FROM social_incidents WHERE org_id IS NOT NULL);

CREATE INDEX social_posts_feed ON social_posts (feed_idx);
