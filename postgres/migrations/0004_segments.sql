-- waarborg PostgreSQL schema, version 4: a tenant's log in segments of 64
-- consecutive entries, one row each, as on SQLite (internal/segment), and
-- an ids table as the idempotency key. One row per entry, with two
-- indexes, cost three B-tree inserts a record; now a record costs one (its
-- id) and a 64th of a segment row, and a full pass reads a row per 64
-- entries.

-- Segment seg holds entries 64·seg onward; n is how many it holds (64 but
-- in a log's last segment, which is rewritten as it fills). entries is one
-- line per entry, in log order:
--   <id> TAB <received_at, Unix ms> TAB <hex content hash> TAB <canonical JSON> LF
-- No entry is ever changed or removed.
CREATE TABLE segments (
	tenant  integer NOT NULL,
	seg     bigint  NOT NULL,
	n       integer NOT NULL,
	entries bytea   NOT NULL
);
-- A segment's text (64 entries, about 19 kB with the simulator's records)
-- is compressed with lz4 and kept in the row (MAIN; out of line only if it
-- does not fit a page even so): 6-7 kB, one row a page, no TOAST rows
-- to write or to look up when reading. Measured on PostgreSQL 15, 1M records, segments
-- alone: lz4 in the row 1.5-1.7 s of server CPU and 122 MB of WAL; lz4
-- out of line (EXTENDED) 1.6-2.0 s, 129 MB; uncompressed out of line
-- (EXTERNAL) 2.1-2.4 s, 330 MB, ten TOAST chunks a segment; pglz, the
-- default, 6-7 s. A server built without lz4 stores the text uncompressed
-- out of line, the cheapest of the rest.
DO $$
BEGIN
	ALTER TABLE segments ALTER COLUMN entries SET STORAGE MAIN, ALTER COLUMN entries SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
	ALTER TABLE segments ALTER COLUMN entries SET STORAGE EXTERNAL;
END
$$;

-- Each record id of a tenant, with its entry's index. Ids compare as bytes
-- (COLLATE "C"), as on SQLite. The key is (id, tenant), not (tenant, id):
-- the id decides almost every comparison of an insert's descent alone,
-- where tenant first costs a second comparison at each step. Inserting 1M
-- ids took 3.2-4.0 s (mean 3.6) against 3.9-4.7 s (mean 4.2), five runs
-- each; it is the largest part of ingest's cost on the server.
CREATE TABLE ids (
	tenant integer NOT NULL,
	id     text    COLLATE "C" NOT NULL,
	idx    bigint  NOT NULL
);

-- The log is moved only if it is whole: every tenant's entries are 0 to
-- size-1, and every entry can be written as its line. An entry that
-- cannot was changed behind waarborg's back; moving it would hide which
-- one, so the migration stops and names it.
DO $$
DECLARE
	bad record;
BEGIN
	SELECT coalesce(t.name, 'with id ' || e.tenant) AS name, t.size, e.n, e.hi INTO bad
		FROM tenants t FULL JOIN (SELECT tenant, count(*) AS n, max(idx) AS hi, min(idx) AS lo FROM entries GROUP BY tenant) e ON e.tenant = t.id
		WHERE t.id IS NULL OR coalesce(e.n, 0) <> t.size OR coalesce(e.hi, -1) <> t.size - 1 OR coalesce(e.lo, 0) <> 0
		LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'the log of tenant % is not whole: % entries, the last at index %, for a size of %', bad.name, bad.n, bad.hi, bad.size;
	END IF;
	SELECT t.name, e.idx INTO bad
		FROM entries e JOIN tenants t ON t.id = e.tenant
		WHERE octet_length(e.hash) <> 32 OR strpos(e.id, E'\t') > 0 OR strpos(e.id, E'\n') > 0 OR position('\x0a'::bytea IN e.canonical) > 0
		LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'entry % of tenant % was changed: it has no valid line (internal/segment)', bad.idx, bad.name;
	END IF;
END
$$;

INSERT INTO segments (tenant, seg, n, entries)
	SELECT tenant, idx / 64, count(*),
		string_agg(convert_to(id, 'UTF8') || '\x09'::bytea || convert_to(received_at::text, 'UTF8') || '\x09'::bytea ||
			convert_to(encode(hash, 'hex'), 'UTF8') || '\x09'::bytea || canonical || '\x0a'::bytea, ''::bytea ORDER BY idx)
	FROM entries GROUP BY tenant, idx / 64;
INSERT INTO ids (tenant, id, idx) SELECT tenant, id, idx FROM entries;
-- Indexes built after the rows: one sort instead of an insert a row.
ALTER TABLE segments ADD PRIMARY KEY (tenant, seg);
-- Named: the store tells a re-send by it.
ALTER TABLE ids ADD CONSTRAINT ids_pkey PRIMARY KEY (id, tenant);

-- corrections keeps naming entries by index, which do not change.
DROP TABLE entries;
