-- Public discussions (docs/POLLS.md): an organisation's proposal, comments moderated
-- before they are shown, and one position (for or against) per person.
CREATE TABLE discussions (
    id                 BIGSERIAL PRIMARY KEY,
    -- NULL: run by the operator.
    org_id             BIGINT  REFERENCES organisations (id),
    title              TEXT    NOT NULL,
    proposal           TEXT    NOT NULL,
    region_id          BIGINT  REFERENCES regions (id),
    opens_at           BIGINT  NOT NULL,
    closes_at          BIGINT  NOT NULL CHECK (closes_at > opens_at),
    created_by         BIGINT  NOT NULL REFERENCES users (id),
    created_at         BIGINT  NOT NULL,
    support_for        BIGINT  NOT NULL DEFAULT 0,
    support_against    BIGINT  NOT NULL DEFAULT 0,
    comments_published BIGINT  NOT NULL DEFAULT 0,
    comments_pending   BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX discussions_closing ON discussions (closes_at);
CREATE INDEX discussions_org ON discussions (org_id, closes_at);

CREATE TABLE discussion_comments (
    id            BIGSERIAL PRIMARY KEY,
    discussion_id BIGINT  NOT NULL REFERENCES discussions (id),
    author_id     BIGINT  NOT NULL REFERENCES users (id),
    body          TEXT    NOT NULL,
    status        TEXT    NOT NULL CHECK (status IN ('pending', 'published', 'rejected')),
    reason        TEXT CHECK (reason IN ('abusive', 'off_topic', 'personal_data', 'spam')),
    created_at    BIGINT  NOT NULL,
    moderated_by  BIGINT  REFERENCES users (id),
    moderated_at  BIGINT ,
    CHECK ((status = 'rejected') = (reason IS NOT NULL))
);
CREATE INDEX discussion_comments_status ON discussion_comments (discussion_id, status, id);
CREATE INDEX discussion_comments_author ON discussion_comments (author_id, discussion_id);

-- One position per person (the voter roll's key), counted in discussions.support_*.
CREATE TABLE discussion_support (
    discussion_id BIGINT  NOT NULL REFERENCES discussions (id),
    voter_key     TEXT    NOT NULL,
    stance        TEXT    NOT NULL CHECK (stance IN ('for', 'against')),
    PRIMARY KEY (discussion_id, voter_key)
);
