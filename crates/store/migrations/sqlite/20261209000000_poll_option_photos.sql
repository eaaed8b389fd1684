-- Photos of a vote's options (projects: docs/POLLS.md), stored as submissions' files are:
-- the bytes in the row, without their metadata (stripped before they reach the store),
-- with the type found from the bytes and their SHA-256. At most three per option; added
-- and removed by the organisers only before the poll opens (checked in the transaction
-- that writes, with the poll's row).
CREATE TABLE poll_option_photos (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    poll_id    INTEGER NOT NULL REFERENCES polls (id),
    -- 0-based index of the option in the vote's one question.
    option_idx INTEGER NOT NULL CHECK (option_idx >= 0),
    name       TEXT    NOT NULL,
    mime       TEXT    NOT NULL CHECK (mime IN ('image/jpeg', 'image/png', 'image/webp')),
    size       INTEGER NOT NULL,
    sha256     TEXT    NOT NULL,
    content    BLOB    NOT NULL,
    created_by INTEGER NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX poll_option_photos_poll ON poll_option_photos (poll_id, option_idx, id);
