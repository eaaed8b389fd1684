-- Identity and access: verification levels, federated identities (OpenID Connect), one
-- account per person (the identity key), lockout after failed logins, disabled accounts,
-- organisation administrators and integration clients (with scoped tokens), the sites
-- allowed to embed an organisation's widget, and pending OpenID Connect logins.

-- `users` gains columns and two roles; SQLite cannot alter a CHECK constraint, so the
-- table is rebuilt as in 20260301 (sessions cascade from users, so they are kept aside).
PRAGMA defer_foreign_keys = ON;
CREATE TEMP TABLE users_copy AS SELECT * FROM users;
CREATE TEMP TABLE sessions_copy AS SELECT * FROM sessions;
DROP TABLE users;
CREATE TABLE users (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    email          TEXT    NOT NULL UNIQUE,
    password_hash  TEXT    NOT NULL,
    full_name      TEXT    NOT NULL,
    role           TEXT    NOT NULL CHECK (role IN ('citizen', 'official', 'operator',
                       'coordinator', 'analyst', 'org_admin', 'integration')),
    org_id         INTEGER REFERENCES organisations (id),
    region_id      INTEGER REFERENCES regions (id),
    created_at     INTEGER NOT NULL,
    verification   TEXT    NOT NULL DEFAULT 'unverified'
        CHECK (verification IN ('unverified', 'standard', 'verified')),
    -- HMAC of the national identifier (e.g. SNILS) an identity provider vouched for:
    -- one account per person.
    identity_key   BLOB    UNIQUE,
    birth_date     TEXT,
    home_region_id INTEGER REFERENCES regions (id),
    failed_logins  INTEGER NOT NULL DEFAULT 0,
    locked_until   INTEGER,
    disabled_at    INTEGER,
    CHECK ((role IN ('official', 'org_admin', 'integration')) = (org_id IS NOT NULL)),
    CHECK ((role = 'coordinator') = (region_id IS NOT NULL))
) STRICT;
-- Staff accounts were created by the operator, who vouched for them.
INSERT INTO users (id, email, password_hash, full_name, role, org_id, region_id, created_at,
                   verification)
    SELECT id, email, password_hash, full_name, role, org_id, region_id, created_at,
           CASE role WHEN 'citizen' THEN 'unverified' ELSE 'verified' END
    FROM users_copy;
CREATE INDEX users_org ON users (org_id, role);
INSERT INTO sessions SELECT * FROM sessions_copy WHERE NOT EXISTS
    (SELECT 1 FROM sessions s WHERE s.token_sha256 = sessions_copy.token_sha256);
DROP TABLE users_copy;
DROP TABLE sessions_copy;

-- An integration client's token carries its scopes (space-separated); NULL for people.
ALTER TABLE sessions ADD COLUMN scopes TEXT;

CREATE TABLE identities (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id       INTEGER NOT NULL REFERENCES users (id),
    issuer        TEXT    NOT NULL,
    subject       TEXT    NOT NULL,
    verification  TEXT    NOT NULL,
    linked_at     INTEGER NOT NULL,
    last_login_at INTEGER NOT NULL,
    UNIQUE (issuer, subject)
) STRICT;
CREATE INDEX identities_user ON identities (user_id);

-- A login started at the provider and not yet finished: one use, bound to the browser.
CREATE TABLE oidc_logins (
    state_sha256   BLOB    PRIMARY KEY,
    browser_sha256 BLOB    NOT NULL,
    nonce          TEXT    NOT NULL,
    pkce_verifier  TEXT    NOT NULL,
    link_user_id   INTEGER REFERENCES users (id),
    expires_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX oidc_logins_expires ON oidc_logins (expires_at);

CREATE TABLE api_clients (
    client_id     TEXT    PRIMARY KEY,
    user_id       INTEGER NOT NULL UNIQUE REFERENCES users (id),
    secret_sha256 BLOB    NOT NULL,
    scopes        TEXT    NOT NULL,
    created_by    INTEGER NOT NULL REFERENCES users (id),
    created_at    INTEGER NOT NULL,
    revoked_at    INTEGER
) STRICT;

CREATE TABLE widget_sites (
    org_id   INTEGER NOT NULL REFERENCES organisations (id),
    origin   TEXT    NOT NULL,
    added_by INTEGER NOT NULL REFERENCES users (id),
    added_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, origin)
) STRICT;
