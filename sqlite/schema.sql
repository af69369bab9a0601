-- waarborg SQLite schema, version 1.
CREATE TABLE tenants (
	id   INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE
);

-- One row per ledger entry. hash is the content hash at append; content the
-- canonical JSON. Rows are never updated or deleted by waarborg.
-- The rowid is tenant << 40 | idx, so that the table itself is ordered by
-- (tenant, idx) and an append touches one table B-tree and the id index.
CREATE TABLE records (
	pos         INTEGER PRIMARY KEY,
	tenant      INTEGER NOT NULL REFERENCES tenants(id),
	idx         INTEGER NOT NULL,
	id          TEXT    NOT NULL,
	received_at INTEGER NOT NULL, -- Unix ms
	type        TEXT    NOT NULL,
	time        INTEGER NOT NULL, -- Unix ms of the record's time
	hash        BLOB    NOT NULL,
	content     BLOB    NOT NULL,
	corrects    TEXT
);
CREATE UNIQUE INDEX records_id ON records (tenant, id);
CREATE INDEX records_corrects ON records (tenant, corrects) WHERE corrects IS NOT NULL;

CREATE TABLE tiles (
	tenant INTEGER NOT NULL,
	level  INTEGER NOT NULL,
	idx    INTEGER NOT NULL,
	hashes BLOB    NOT NULL,
	PRIMARY KEY (tenant, level, idx)
) WITHOUT ROWID;

CREATE TABLE checkpoints (
	tenant    INTEGER NOT NULL,
	size      INTEGER NOT NULL,
	root      BLOB    NOT NULL,
	signed_at INTEGER NOT NULL, -- Unix ms
	note      BLOB    NOT NULL,
	PRIMARY KEY (tenant, size)
) WITHOUT ROWID;
