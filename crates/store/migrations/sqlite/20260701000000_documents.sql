-- Electronic documents, their signing routes and signatures (legally significant
-- actions), the platform's certification authorities, people's certificates and keys,
-- and the record of every use of a platform-held key.

-- One certification authority per algorithm; its key sealed under the installation key.
CREATE TABLE signing_authorities (
    algorithm   TEXT    PRIMARY KEY,
    certificate BLOB    NOT NULL,
    sealed_key  BLOB    NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;

-- A person's certificates: issued by the platform (with the key sealed under the
-- person's signing password) or registered by the person (their own key, never here).
CREATE TABLE signing_certificates (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     INTEGER NOT NULL REFERENCES users (id),
    algorithm   TEXT    NOT NULL,
    certificate BLOB    NOT NULL,
    sha256      TEXT    NOT NULL,
    subject     TEXT    NOT NULL,
    serial      TEXT    NOT NULL,
    not_before  INTEGER NOT NULL,
    not_after   INTEGER NOT NULL,
    sealed_key  BLOB,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER,
    UNIQUE (user_id, sha256)
) STRICT;
CREATE INDEX signing_certificates_sha256 ON signing_certificates (sha256);

CREATE TABLE documents (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    author_id     INTEGER NOT NULL REFERENCES users (id),
    title         TEXT    NOT NULL,
    file_name     TEXT    NOT NULL,
    mime          TEXT    NOT NULL,
    size          INTEGER NOT NULL,
    sha256        TEXT    NOT NULL,
    content       BLOB    NOT NULL,
    signing_order TEXT    NOT NULL CHECK (signing_order IN ('sequential', 'parallel')),
    status        TEXT    NOT NULL CHECK (status IN ('draft', 'signing', 'completed',
                                                     'declined', 'expired', 'cancelled')),
    deadline_at   INTEGER NOT NULL,
    -- An official's signed answer: the submission it answers.
    submission_id INTEGER REFERENCES submissions (id),
    created_at    INTEGER NOT NULL,
    started_at    INTEGER,
    finished_at   INTEGER,
    -- The transparency-log leaf that recorded the frozen bytes' hash.
    log_index     INTEGER
) STRICT;
CREATE INDEX documents_author ON documents (author_id, id DESC);
CREATE INDEX documents_submission ON documents (submission_id) WHERE submission_id IS NOT NULL;
CREATE INDEX documents_open_deadline ON documents (deadline_at) WHERE status = 'signing';

-- The route: one row per signer slot, in order. Exactly one of user_id and org_id.
CREATE TABLE document_signers (
    document_id    INTEGER NOT NULL REFERENCES documents (id),
    slot           INTEGER NOT NULL,
    user_id        INTEGER REFERENCES users (id),
    org_id         INTEGER REFERENCES organisations (id),
    state          TEXT    NOT NULL CHECK (state IN ('waiting', 'pending', 'signed', 'declined')),
    acted_by       INTEGER REFERENCES users (id),
    acted_at       INTEGER,
    decline_reason TEXT,
    method         TEXT    CHECK (method IN ('platform', 'uploaded')),
    signature      BLOB,
    certificate_sha256 TEXT,
    signer_subject TEXT,
    algorithm      TEXT,
    PRIMARY KEY (document_id, slot),
    CHECK ((user_id IS NULL) <> (org_id IS NULL))
) STRICT;
CREATE INDEX document_signers_user ON document_signers (user_id, state) WHERE user_id IS NOT NULL;
CREATE INDEX document_signers_org ON document_signers (org_id, state) WHERE org_id IS NOT NULL;

-- Who receives the completed document.
CREATE TABLE document_recipients (
    document_id  INTEGER NOT NULL REFERENCES documents (id),
    slot         INTEGER NOT NULL,
    user_id      INTEGER REFERENCES users (id),
    org_id       INTEGER REFERENCES organisations (id),
    delivered_at INTEGER,
    PRIMARY KEY (document_id, slot),
    CHECK ((user_id IS NULL) <> (org_id IS NULL))
) STRICT;
CREATE INDEX document_recipients_user ON document_recipients (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX document_recipients_org ON document_recipients (org_id) WHERE org_id IS NOT NULL;

-- Every step of a document's life, hand-overs included.
CREATE TABLE document_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id INTEGER NOT NULL REFERENCES documents (id),
    kind        TEXT    NOT NULL,
    actor_id    INTEGER REFERENCES users (id),
    slot        INTEGER,
    detail      TEXT,
    at          INTEGER NOT NULL
) STRICT;
CREATE INDEX document_events_document ON document_events (document_id, id);

-- Every attempt to use a platform-held key: who, which certificate, which document,
-- and whether the password opened it.
CREATE TABLE key_uses (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    certificate_id INTEGER NOT NULL REFERENCES signing_certificates (id),
    user_id        INTEGER NOT NULL REFERENCES users (id),
    document_id    INTEGER REFERENCES documents (id),
    outcome        TEXT    NOT NULL CHECK (outcome IN ('signed', 'wrong_password', 'issued')),
    at             INTEGER NOT NULL
) STRICT;
CREATE INDEX key_uses_certificate ON key_uses (certificate_id, at);
