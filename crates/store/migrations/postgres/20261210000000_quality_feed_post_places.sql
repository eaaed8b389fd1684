-- Where a social-media post stands in the service-quality feed (docs/QUALITY_FEED.md): the
-- index of the log leaf that routed it (its ingest batch's, or a later staff action's
-- that routed its incident) and the organisation of that moment. Set once, so a post
-- routed late comes after every cursor already handed out, and a re-route does not
-- rewrite what receivers have read. Posts routed nowhere keep NULL.
ALTER TABLE social_posts ADD COLUMN feed_idx BIGINT;
ALTER TABLE social_posts ADD COLUMN feed_org_id BIGINT REFERENCES organisations (id);

-- Posts stored before: at their ingest batch's leaf, when their incident is routed now.
UPDATE social_posts
SET feed_idx = placed.idx,
    feed_org_id = i.org_id
FROM (
    SELECT j.value::BIGINT AS post_id, MIN(l.idx) AS idx
    FROM log_leaves l,
         jsonb_array_elements_text(convert_from(l.data, 'UTF8')::jsonb -> 'posts') AS j (value)
    WHERE l.kind = 'social'
      AND convert_from(l.data, 'UTF8')::jsonb ->> 'event' = 'social_posts'
    GROUP BY j.value::BIGINT
) AS placed, social_incidents i
WHERE placed.post_id = social_posts.id
  AND i.id = social_posts.incident_id
  AND i.org_id IS NOT NULL;

CREATE INDEX social_posts_feed ON social_posts (feed_idx);
