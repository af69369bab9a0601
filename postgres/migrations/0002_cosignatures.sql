-- waarborg PostgreSQL schema, version 2: witnesses' cosignatures (as in
-- SQLite's schema 2). Each witness key's first cosignature of a
-- checkpoint; time is the witness's own (Unix seconds), line the
-- signed-note signature line.
CREATE TABLE cosignatures (
	tenant   integer NOT NULL,
	size     bigint  NOT NULL,
	witness  text    COLLATE "C" NOT NULL,
	key_hash bigint  NOT NULL,
	time     bigint  NOT NULL,
	line     text    NOT NULL,
	PRIMARY KEY (tenant, size, witness, key_hash)
);
