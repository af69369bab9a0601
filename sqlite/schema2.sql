-- waarborg SQLite schema, version 2: witnesses' cosignatures.
-- Each witness key's first cosignature of a checkpoint; time is the
-- witness's own (Unix seconds), line the signed-note signature line.
CREATE TABLE cosignatures (
	tenant   INTEGER NOT NULL,
	size     INTEGER NOT NULL,
	witness  TEXT    NOT NULL,
	key_hash INTEGER NOT NULL,
	time     INTEGER NOT NULL,
	line     TEXT    NOT NULL,
	PRIMARY KEY (tenant, size, witness, key_hash)
) WITHOUT ROWID;
