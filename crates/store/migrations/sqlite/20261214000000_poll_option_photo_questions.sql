-- Photos of a survey's choice options as well as a vote's projects (docs/POLLS.md): a
-- photo names its question and that question's option, both 0-based; the photos stored
-- before are of a vote's one question, 0. Each option's photos have an order of their
-- own (`seq`, unique per option: a reorder swaps two values under the poll's lock and
-- can neither lose nor duplicate a photo); the photos stored before keep the order they
-- were added in.
ALTER TABLE poll_option_photos
    ADD COLUMN question_idx INTEGER NOT NULL DEFAULT 0 CHECK (question_idx >= 0);
ALTER TABLE poll_option_photos ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
UPDATE poll_option_photos SET seq = id;
DROP INDEX poll_option_photos_poll;
CREATE UNIQUE INDEX poll_option_photos_order
    ON poll_option_photos (poll_id, question_idx, option_idx, seq);
