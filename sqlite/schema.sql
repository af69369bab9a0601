-- waarborg SQLite schema, version 1.
CREATE TABLE tenants (
	id   INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE
);

-- A tenant's log is stored in segments of 64 consecutive entries: one row
-- per segment keeps appends and scans cheap. pos is tenant << 40 | segment
-- number. entries is text, one line per entry, in log order:
--   <id> TAB <received_at, Unix ms> TAB <hex content hash> TAB <canonical JSON> LF
-- (canonical JSON has no raw tab or newline). A partial last segment is
-- rewritten as it fills; no entry is ever changed or removed.
CREATE TABLE segments (
	pos     INTEGER PRIMARY KEY,
	n       INTEGER NOT NULL,
	entries BLOB    NOT NULL
);

-- Each record id of a tenant, with its entry: the idempotency key.
CREATE TABLE ids (
	tenant INTEGER NOT NULL,
	id     TEXT    NOT NULL,
	idx    INTEGER NOT NULL,
	PRIMARY KEY (tenant, id)
) WITHOUT ROWID;

-- Which corrections name which record.
CREATE TABLE corrections (
	tenant   INTEGER NOT NULL,
	corrects TEXT    NOT NULL,
	idx      INTEGER NOT NULL,
	PRIMARY KEY (tenant, corrects, idx)
) WITHOUT ROWID;

-- Merkle tiles (ledger/tree.go); pos is tenant << 40 | level << 34 | tile
-- index: a rowid, since a 16 KiB blob in a WITHOUT ROWID table makes every
-- lookup read through it.
CREATE TABLE tiles (
	pos    INTEGER PRIMARY KEY,
	hashes BLOB NOT NULL
);

CREATE TABLE checkpoints (
	tenant    INTEGER NOT NULL,
	size      INTEGER NOT NULL,
	root      BLOB    NOT NULL,
	signed_at INTEGER NOT NULL, -- Unix ms
	note      BLOB    NOT NULL,
	PRIMARY KEY (tenant, size)
) WITHOUT ROWID;
