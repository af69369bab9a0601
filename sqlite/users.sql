-- waarborg SQLite schema, version 3: the people who sign in, their tenants,
-- machines' API tokens and sessions (waarborg.Users). Secrets are never
-- stored: a password as its argon2id hash, a token or session as the
-- SHA-256 digest of its secret.
CREATE TABLE users (
	name     TEXT    PRIMARY KEY,
	role     TEXT    NOT NULL,
	password TEXT    NOT NULL,
	disabled INTEGER NOT NULL DEFAULT 0,
	created  INTEGER NOT NULL -- Unix ms
) WITHOUT ROWID;

-- The tenants each user is granted ('*' for all).
CREATE TABLE user_tenants (
	user_name TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
	tenant    TEXT NOT NULL,
	PRIMARY KEY (user_name, tenant)
) WITHOUT ROWID;

CREATE TABLE tokens (
	id         TEXT    PRIMARY KEY,
	digest     BLOB    NOT NULL UNIQUE,
	name       TEXT    NOT NULL,
	tenant     TEXT    NOT NULL, -- '' for a metrics token
	scope      TEXT    NOT NULL,
	created    INTEGER NOT NULL, -- Unix ms
	created_by TEXT    NOT NULL
) WITHOUT ROWID;

CREATE TABLE sessions (
	digest    BLOB    PRIMARY KEY,
	user_name TEXT    NOT NULL,
	created   INTEGER NOT NULL, -- Unix ms
	expires   INTEGER NOT NULL  -- Unix ms
) WITHOUT ROWID;
CREATE INDEX sessions_by_user ON sessions (user_name);
