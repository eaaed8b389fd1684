-- Public messages, duplicates merged into one, and citizens following a public message.
--
-- `public`: the author agreed that other citizens see the message (without the author's
-- name or form fields), so that they find it instead of reporting it again. Only messages
-- may be public; appeals under 59-FZ never are (the store and the domain refuse it).
ALTER TABLE submissions ADD COLUMN public INTEGER NOT NULL DEFAULT 0 CHECK (public IN (0, 1));
-- While set, the submission is a duplicate of that one: it follows its primary's taking
-- into work and answers, and keeps its own history, deadline and rating. Cleared when the
-- final answer reaches it, or when an official separates it again.
ALTER TABLE submissions ADD COLUMN merged_into INTEGER REFERENCES submissions (id);
CREATE INDEX submissions_merged ON submissions (merged_into) WHERE merged_into IS NOT NULL;
-- Public messages of a category in a territory, newest first (duplicate suggestions).
CREATE INDEX submissions_public ON submissions (subcategory_id, region_id, id DESC) WHERE public = 1;
-- The other submission of a merge event (merged, merged_in, unmerged).
ALTER TABLE events ADD COLUMN related_id INTEGER REFERENCES submissions (id);

CREATE TABLE follows (
    user_id       INTEGER NOT NULL REFERENCES users (id),
    submission_id INTEGER NOT NULL REFERENCES submissions (id),
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (user_id, submission_id)
) STRICT;
CREATE INDEX follows_submission ON follows (submission_id);
