-- Answer templates: an organisation's prepared answers, for one category or for any,
-- with placeholders filled from the submission being answered.
CREATE TABLE answer_templates (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id      INTEGER NOT NULL REFERENCES organisations (id),
    category_id INTEGER REFERENCES categories (id),
    title       TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    uses        INTEGER NOT NULL DEFAULT 0,
    created_by  INTEGER NOT NULL REFERENCES users (id),
    updated_at  INTEGER NOT NULL,
    archived_at INTEGER
) STRICT;
CREATE INDEX answer_templates_org ON answer_templates (org_id, category_id) WHERE archived_at IS NULL;
