-- waarborg PostgreSQL schema, version 3: the people who sign in, their
-- tenants, machines' API tokens and sessions (waarborg.Users; as in
-- SQLite's schema 3). Secrets are never stored: a password as its argon2id
-- hash, a token or session as the SHA-256 digest of its secret. Names and
-- ids compare as bytes (COLLATE "C"), so that lists come in the order
-- SQLite gives.
CREATE TABLE users (
	name     text    COLLATE "C" PRIMARY KEY,
	role     text    NOT NULL,
	password text    NOT NULL,
	disabled boolean NOT NULL DEFAULT false,
	created  bigint  NOT NULL -- Unix ms
);

-- The tenants each user is granted ('*' for all).
CREATE TABLE user_tenants (
	user_name text COLLATE "C" NOT NULL REFERENCES users (name) ON DELETE CASCADE,
	tenant    text COLLATE "C" NOT NULL,
	PRIMARY KEY (user_name, tenant)
);

CREATE TABLE tokens (
	id         text   COLLATE "C" PRIMARY KEY,
	digest     bytea  NOT NULL UNIQUE,
	name       text   NOT NULL,
	tenant     text   COLLATE "C" NOT NULL, -- '' for a metrics token
	scope      text   NOT NULL,
	created    bigint NOT NULL, -- Unix ms
	created_by text   COLLATE "C" NOT NULL
);

CREATE TABLE sessions (
	digest    bytea  PRIMARY KEY,
	user_name text   COLLATE "C" NOT NULL,
	created   bigint NOT NULL, -- Unix ms
	expires   bigint NOT NULL  -- Unix ms
);
CREATE INDEX sessions_by_user ON sessions (user_name);
