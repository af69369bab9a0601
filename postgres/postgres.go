// Package postgres implements waarborg.Store on PostgreSQL (jackc/pgx), for
// deployments that outgrow one SQLite file or run several stateless API
// nodes on one database. Its schema is applied from versioned migrations
// embedded in the binary (migrations/*.sql) when it opens.
//
// Several processes may append to one database: every write transaction of
// the ledger locks the tenants it appends to (waarborg.LockingTx), so each
// tenant's log has one appender at a time and a process that finds the log
// changed under it reloads its state.
package postgres

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waarborg/waarborg"
)

// DB is a waarborg.Store in a PostgreSQL database.
type DB struct {
	pool *pgxpool.Pool

	mu      sync.Mutex
	tenants map[string]int32 // committed tenants only: ids are never reused
}

var (
	_ waarborg.Store     = (*DB)(nil)
	_ waarborg.LockingTx = (*tx)(nil)
)

// Open connects to the database at url (a postgres:// URL or key=value
// string, as libpq takes) and applies any migration it lacks. Commits are
// durable as the server is configured: with PostgreSQL's defaults
// (fsync, synchronous_commit on) an Update that returned survives a crash.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("database url: %w", err)
	}
	// verify reads the log on one connection per core, while the ledger
	// writes on another.
	cfg.MaxConns = max(cfg.MaxConns, int32(runtime.GOMAXPROCS(0)+2), 8)
	// Named in pg_stat_activity, so that an operator sees which sessions are
	// waarborg's (a URL's application_name names each node).
	if cfg.ConnConfig.RuntimeParams["application_name"] == "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = "waarborg"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	if _, err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	return &DB{pool: pool, tenants: map[string]int32{}}, nil
}

// Close closes the connections.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

func notFound(format string, args ...any) error {
	return waarborg.Errorf(waarborg.ENOTFOUND, format, args...)
}

// tenantID returns the id of a committed tenant, 0 if there is none.
func (db *DB) tenantID(ctx context.Context, name string) (int32, error) {
	db.mu.Lock()
	id, ok := db.tenants[name]
	db.mu.Unlock()
	if ok {
		return id, nil
	}
	err := db.pool.QueryRow(ctx, "SELECT id FROM tenants WHERE name = $1", name).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("look up tenant: %w", err)
	}
	db.mu.Lock()
	db.tenants[name] = id
	db.mu.Unlock()
	return id, nil
}

// Update runs fn in one transaction (READ COMMITTED: the tenant row locks
// give the ordering the log needs).
func (db *DB) Update(ctx context.Context, fn func(waarborg.Tx) error) error {
	ptx, err := db.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	t := &tx{ctx: ctx, tx: ptx, locked: map[string]*head{}}
	if err := fn(t); err != nil {
		ptx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	if err := ptx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	db.mu.Lock()
	for name, h := range t.locked {
		if h.id != 0 {
			db.tenants[name] = h.id
		}
	}
	db.mu.Unlock()
	return nil
}

// head is a tenant's row as a transaction locked it.
type head struct {
	id           int32
	size         uint64
	checkpointed uint64
}

type tx struct {
	ctx    context.Context
	tx     pgx.Tx
	locked map[string]*head
}

// lock locks tenant's row for the rest of the transaction, creating the
// tenant when create is set. Other processes' transactions that write to
// the tenant wait for it; under READ COMMITTED every statement after the
// lock sees what they committed before. Without create, a tenant that does
// not exist yet gives a zero head, unlocked, and a later write to it in the
// same transaction fails if another process created it meanwhile.
func (t *tx) lock(name string, create bool) (*head, error) {
	seen, ok := t.locked[name]
	if ok && (seen.id != 0 || !create) {
		return seen, nil
	}
	h := &head{}
	var size, cp int64
	const sel = "SELECT id, size, checkpointed FROM tenants WHERE name = $1 FOR UPDATE"
	err := t.tx.QueryRow(t.ctx, sel, name).Scan(&h.id, &size, &cp)
	if errors.Is(err, pgx.ErrNoRows) && !create {
		t.locked[name] = h
		return h, nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		if _, err = t.tx.Exec(t.ctx, "INSERT INTO tenants (name) VALUES ($1) ON CONFLICT (name) DO NOTHING", name); err != nil {
			return nil, fmt.Errorf("add tenant: %w", err)
		}
		err = t.tx.QueryRow(t.ctx, sel, name).Scan(&h.id, &size, &cp)
	}
	if err != nil {
		return nil, fmt.Errorf("lock tenant: %w", err)
	}
	h.size, h.checkpointed = uint64(size), uint64(cp)
	if ok && (seen.size != h.size || seen.checkpointed != h.checkpointed) {
		return nil, fmt.Errorf("tenant %s was created by another process meanwhile: %w", name, errStale)
	}
	t.locked[name] = h
	return h, nil
}

// Lock makes the transaction the single appender of tenant's log and
// returns the log's size and the size of its latest checkpoint.
func (t *tx) Lock(tenant string, create bool) (size, checkpointed uint64, err error) {
	h, err := t.lock(tenant, create)
	if err != nil {
		return 0, 0, err
	}
	return h.size, h.checkpointed, nil
}

// errStale reports an append that does not continue the stored log: the
// appender's state is behind another process's appends.
var errStale = errors.New("stale appender")

func (t *tx) Add(tenant string, first uint64, recs []*waarborg.Pending) error {
	h, err := t.lock(tenant, true)
	if err != nil {
		return err
	}
	if first != h.size {
		return fmt.Errorf("append at %d to the log of %s, which has %d entries: %w", first, tenant, h.size, errStale)
	}
	added, err := t.addNew(h.id, first, recs)
	if err != nil {
		return err
	}
	if added == nil {
		if added, err = t.addSome(h.id, first, recs); err != nil {
			return err
		}
	}
	if len(added) == 0 {
		return nil
	}
	var corr [][]any
	for _, p := range added {
		if r := p.Record; r.Type == "correction" {
			corr = append(corr, []any{h.id, r.Str("corrects"), int64(p.Index)})
		}
	}
	if len(corr) > 0 {
		if _, err := t.tx.CopyFrom(t.ctx, pgx.Identifier{"corrections"}, []string{"tenant", "corrects", "idx"}, pgx.CopyFromRows(corr)); err != nil {
			return fmt.Errorf("index corrections: %w", err)
		}
	}
	h.size = first + uint64(len(added))
	if _, err := t.tx.Exec(t.ctx, "UPDATE tenants SET size = $2 WHERE id = $1", h.id, int64(h.size)); err != nil {
		return fmt.Errorf("update log size: %w", err)
	}
	return nil
}

// addNew copies a batch in which every id is new, which is what a feed
// sends, straight into the log: each record gets the next index in batch
// order. It returns nil, having changed nothing, when any id is held
// already (the unique index refuses the COPY) or repeats within the batch.
func (t *tx) addNew(tid int32, first uint64, recs []*waarborg.Pending) ([]*waarborg.Pending, error) {
	seen := make(map[string]struct{}, len(recs))
	for _, p := range recs {
		if _, ok := seen[p.Record.ID]; ok {
			return nil, nil
		}
		seen[p.Record.ID] = struct{}{}
	}
	sp, err := t.tx.Begin(t.ctx) // a savepoint
	if err != nil {
		return nil, err
	}
	for i, p := range recs {
		p.Index = first + uint64(i)
	}
	if err := copyEntries(t.ctx, sp, tid, recs); err != nil {
		if pe, ok := errors.AsType[*pgconn.PgError](err); ok && pe.Code == "23505" && pe.ConstraintName == "entries_tenant_id_key" {
			// A re-send or a conflict: undo, and sort the batch out.
			for _, p := range recs {
				p.Index = 0
			}
			return nil, sp.Rollback(t.ctx)
		}
		return nil, err
	}
	if err := sp.Commit(t.ctx); err != nil {
		return nil, err
	}
	for _, p := range recs {
		p.Added = true
	}
	return recs, nil
}

// addSome is the path of re-sends and conflicts: it reads which ids the
// log holds already, gives the others contiguous indexes in batch order,
// and copies those. The tenant's row lock keeps any other transaction from
// claiming an id in between.
func (t *tx) addSome(tid int32, first uint64, recs []*waarborg.Pending) ([]*waarborg.Pending, error) {
	ids := make([]string, len(recs))
	for i, p := range recs {
		ids[i] = p.Record.ID
	}
	rows, err := t.tx.Query(t.ctx, "SELECT id, hash FROM entries WHERE tenant = $1 AND id = ANY($2)", tid, ids)
	if err != nil {
		return nil, fmt.Errorf("look up ids: %w", err)
	}
	held := map[string][32]byte{}
	var (
		id   string
		hash []byte
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &hash}, func() error {
		held[id] = [32]byte(hash)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("look up ids: %w", err)
	}
	var added []*waarborg.Pending
	next := first
	for _, p := range recs {
		if h, ok := held[p.Record.ID]; ok {
			p.Existing = h
			continue
		}
		p.Added, p.Index = true, next
		next++
		held[p.Record.ID] = p.Hash
		added = append(added, p)
	}
	if len(added) > 0 {
		if err := copyEntries(t.ctx, t.tx, tid, added); err != nil {
			return nil, err
		}
	}
	return added, nil
}

// copyEntries copies entries into the log with COPY, at the indexes set
// in them.
func copyEntries(ctx context.Context, tx pgx.Tx, tid int32, ps []*waarborg.Pending) error {
	row := make([]any, 6)
	src := pgx.CopyFromSlice(len(ps), func(i int) ([]any, error) {
		p := ps[i]
		row[0], row[1], row[2], row[3], row[4], row[5] = tid, int64(p.Index), p.Record.ID, p.ReceivedAt.UnixMilli(), p.Hash[:], p.Record.Canonical
		return row, nil
	})
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"entries"}, entryColumns, src); err != nil {
		return fmt.Errorf("copy entries: %w", err)
	}
	return nil
}

var entryColumns = []string{"tenant", "idx", "id", "received_at", "hash", "canonical"}

func (t *tx) PutTiles(tenant string, tiles []waarborg.Tile) error {
	h, err := t.lock(tenant, true)
	if err != nil || len(tiles) == 0 {
		return err
	}
	levels := make([]int16, len(tiles))
	idxs := make([]int64, len(tiles))
	hashes := make([][]byte, len(tiles))
	for i, tl := range tiles {
		levels[i], idxs[i], hashes[i] = int16(tl.Level), int64(tl.Index), tl.Hashes
	}
	_, err = t.tx.Exec(t.ctx, `INSERT INTO tiles (tenant, level, idx, hashes)
		SELECT $1, * FROM unnest($2::smallint[], $3::bigint[], $4::bytea[])
		ON CONFLICT (tenant, level, idx) DO UPDATE SET hashes = excluded.hashes`, h.id, levels, idxs, hashes)
	if err != nil {
		return fmt.Errorf("store tiles: %w", err)
	}
	return nil
}

func (t *tx) AddCheckpoint(cp *waarborg.Checkpoint) error {
	h, err := t.lock(cp.Tenant, true)
	if err != nil {
		return err
	}
	if _, err := t.tx.Exec(t.ctx, "INSERT INTO checkpoints (tenant, size, root, signed_at, note) VALUES ($1, $2, $3, $4, $5)",
		h.id, int64(cp.Size), cp.Root, cp.SignedAt.UnixMilli(), cp.Note); err != nil {
		return fmt.Errorf("store checkpoint: %w", err)
	}
	if cp.Size > h.checkpointed {
		h.checkpointed = cp.Size
		if _, err := t.tx.Exec(t.ctx, "UPDATE tenants SET checkpointed = $2 WHERE id = $1", h.id, int64(cp.Size)); err != nil {
			return fmt.Errorf("store checkpoint: %w", err)
		}
	}
	return nil
}

// Tenants returns every tenant with a log, by name (byte order, as on
// SQLite, whatever the database's collation).
func (db *DB) Tenants(ctx context.Context) ([]string, error) {
	rows, err := db.pool.Query(ctx, "SELECT name FROM tenants")
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	slices.Sort(names)
	return names, nil
}

// Size returns the number of entries of a tenant's log.
func (db *DB) Size(ctx context.Context, tenant string) (uint64, error) {
	var size int64
	err := db.pool.QueryRow(ctx, "SELECT size FROM tenants WHERE name = $1", tenant).Scan(&size)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("log size: %w", err)
	}
	return uint64(size), nil
}

// Record returns a tenant's entry by record id.
func (db *DB) Record(ctx context.Context, tenant, id string) (*waarborg.Stored, error) {
	tid, err := db.tenantID(ctx, tenant)
	if err != nil {
		return nil, err
	}
	st := &waarborg.Stored{Tenant: tenant, ID: id}
	var (
		idx, ms int64
		hash    []byte
	)
	err = db.pool.QueryRow(ctx, "SELECT idx, received_at, hash, canonical FROM entries WHERE tenant = $1 AND id = $2", tid, id).
		Scan(&idx, &ms, &hash, &st.Canonical)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("tenant %s has no record %q", tenant, id)
	}
	if err != nil {
		return nil, fmt.Errorf("look up record: %w", err)
	}
	if len(hash) != 32 {
		return nil, fmt.Errorf("tenant %s entry %d: stored hash has %d bytes", tenant, idx, len(hash))
	}
	st.Index, st.ReceivedAt, st.Hash = uint64(idx), time.UnixMilli(ms).UTC(), [32]byte(hash)
	return st, nil
}

// Corrections returns the ids of the corrections that name id, in log order.
func (db *DB) Corrections(ctx context.Context, tenant, id string) ([]string, error) {
	tid, err := db.tenantID(ctx, tenant)
	if err != nil {
		return nil, err
	}
	rows, err := db.pool.Query(ctx, `SELECT e.id FROM corrections c JOIN entries e ON e.tenant = c.tenant AND e.idx = c.idx
		WHERE c.tenant = $1 AND c.corrects = $2 ORDER BY c.idx`, tid, id)
	if err != nil {
		return nil, fmt.Errorf("list corrections: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list corrections: %w", err)
	}
	return ids, nil
}

// Records yields a tenant's entries with from ≤ index < to, in index order.
func (db *DB) Records(ctx context.Context, tenant string, from, to uint64) iter.Seq2[*waarborg.Stored, error] {
	return func(yield func(*waarborg.Stored, error) bool) {
		tid, err := db.tenantID(ctx, tenant)
		if err != nil || tid == 0 || from >= to {
			if err != nil {
				yield(nil, err)
			}
			return
		}
		to = min(to, 1<<62)
		rows, err := db.pool.Query(ctx, "SELECT idx, id, received_at, hash, canonical FROM entries WHERE tenant = $1 AND idx >= $2 AND idx < $3 ORDER BY idx",
			tid, int64(from), int64(to))
		if err != nil {
			yield(nil, fmt.Errorf("read records: %w", err))
			return
		}
		defer rows.Close()
		var block []waarborg.Stored
		for rows.Next() {
			// A full pass reads millions of rows: Stored values come in
			// blocks, and the columns are decoded from the binary format
			// as they arrive, without Scan's conversions.
			if len(block) == 0 {
				block = make([]waarborg.Stored, 256)
			}
			st := &block[0]
			block = block[1:]
			if err := decodeEntry(rows, tenant, st); err != nil {
				yield(nil, fmt.Errorf("read records: %w", err))
				return
			}
			if !yield(st, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(nil, fmt.Errorf("read records: %w", err))
		}
	}
}

// decodeEntry decodes a row of idx, id, received_at, hash, canonical.
func decodeEntry(rows pgx.Rows, tenant string, st *waarborg.Stored) error {
	raw := rows.RawValues()
	fds := rows.FieldDescriptions()
	for i := range fds {
		if fds[i].Format != pgx.BinaryFormatCode && i != 1 {
			// Not the format asked for (a proxy in between?): let pgx convert.
			return scanEntry(rows, tenant, st)
		}
	}
	if len(raw) != 5 || len(raw[0]) != 8 || len(raw[2]) != 8 {
		return fmt.Errorf("tenant %s: malformed entry row", tenant)
	}
	st.Tenant = tenant
	st.Index = binary.BigEndian.Uint64(raw[0])
	st.ID = string(raw[1])
	st.ReceivedAt = time.UnixMilli(int64(binary.BigEndian.Uint64(raw[2]))).UTC()
	st.Canonical = bytes.Clone(raw[4])
	if copy(st.Hash[:], raw[3]) != 32 || len(raw[3]) != 32 {
		return fmt.Errorf("tenant %s entry %d: stored hash has %d bytes", tenant, st.Index, len(raw[3]))
	}
	return nil
}

func scanEntry(rows pgx.Rows, tenant string, st *waarborg.Stored) error {
	var (
		idx, ms int64
		hash    []byte
	)
	if err := rows.Scan(&idx, &st.ID, &ms, &hash, &st.Canonical); err != nil {
		return err
	}
	st.Tenant, st.Index, st.ReceivedAt = tenant, uint64(idx), time.UnixMilli(ms).UTC()
	if len(hash) != 32 {
		return fmt.Errorf("tenant %s entry %d: stored hash has %d bytes", tenant, idx, len(hash))
	}
	st.Hash = [32]byte(hash)
	return nil
}

// Tiles returns the stored tiles among ids.
func (db *DB) Tiles(ctx context.Context, tenant string, ids []waarborg.TileID) (map[waarborg.TileID][]byte, error) {
	out := make(map[waarborg.TileID][]byte, len(ids))
	tid, err := db.tenantID(ctx, tenant)
	if err != nil || tid == 0 || len(ids) == 0 {
		return out, err
	}
	levels := make([]int16, len(ids))
	idxs := make([]int64, len(ids))
	for i, id := range ids {
		levels[i], idxs[i] = int16(id.Level), int64(id.Index)
	}
	rows, err := db.pool.Query(ctx, `SELECT level, idx, hashes FROM tiles
		WHERE tenant = $1 AND (level, idx) IN (SELECT * FROM unnest($2::smallint[], $3::bigint[]))`, tid, levels, idxs)
	if err != nil {
		return nil, fmt.Errorf("read tiles: %w", err)
	}
	var (
		level int16
		idx   int64
		h     []byte
	)
	_, err = pgx.ForEachRow(rows, []any{&level, &idx, &h}, func() error {
		out[waarborg.TileID{Level: uint8(level), Index: uint64(idx)}] = h
		h = nil // the next row scans into a new slice
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read tiles: %w", err)
	}
	return out, nil
}

// Checkpoints returns every checkpoint of a tenant, oldest first.
func (db *DB) Checkpoints(ctx context.Context, tenant string) ([]waarborg.Checkpoint, error) {
	tid, err := db.tenantID(ctx, tenant)
	if err != nil || tid == 0 {
		return nil, err
	}
	rows, err := db.pool.Query(ctx, "SELECT size, root, signed_at, note FROM checkpoints WHERE tenant = $1 ORDER BY size", tid)
	if err != nil {
		return nil, fmt.Errorf("list checkpoints: %w", err)
	}
	defer rows.Close()
	var cps []waarborg.Checkpoint
	for rows.Next() {
		cp, err := scanCheckpoint(rows, tenant)
		if err != nil {
			return nil, err
		}
		cps = append(cps, *cp)
	}
	return cps, rows.Err()
}

func scanCheckpoint(sc pgx.Row, tenant string) (*waarborg.Checkpoint, error) {
	var (
		cp           waarborg.Checkpoint
		size, signed int64
	)
	if err := sc.Scan(&size, &cp.Root, &signed, &cp.Note); err != nil {
		return nil, err
	}
	cp.Tenant, cp.Size, cp.SignedAt = tenant, uint64(size), time.UnixMilli(signed).UTC()
	return &cp, nil
}

// Checkpoint returns the checkpoint of a given size, or the latest for 0.
func (db *DB) Checkpoint(ctx context.Context, tenant string, size uint64) (*waarborg.Checkpoint, error) {
	tid, err := db.tenantID(ctx, tenant)
	if err != nil {
		return nil, err
	}
	var row pgx.Row
	if size == 0 {
		row = db.pool.QueryRow(ctx, "SELECT size, root, signed_at, note FROM checkpoints WHERE tenant = $1 ORDER BY size DESC LIMIT 1", tid)
	} else {
		row = db.pool.QueryRow(ctx, "SELECT size, root, signed_at, note FROM checkpoints WHERE tenant = $1 AND size = $2", tid, int64(size))
	}
	cp, err := scanCheckpoint(row, tenant)
	if errors.Is(err, pgx.ErrNoRows) {
		if size == 0 {
			return nil, notFound("tenant %s has no checkpoint", tenant)
		}
		return nil, notFound("tenant %s has no checkpoint of size %d", tenant, size)
	}
	if err != nil {
		return nil, fmt.Errorf("read checkpoint: %w", err)
	}
	return cp, nil
}

// AddCosignature keeps a witness's first cosignature of a checkpoint. It
// does not lock the tenant's row: it does not append to the log.
func (t *tx) AddCosignature(c *waarborg.Cosignature) error {
	var id int32
	err := t.tx.QueryRow(t.ctx, "SELECT id FROM tenants WHERE name = $1", c.Tenant).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return waarborg.Errorf(waarborg.ENOTFOUND, "no log of tenant %s", c.Tenant)
	}
	if err != nil {
		return fmt.Errorf("look up tenant: %w", err)
	}
	if _, err := t.tx.Exec(t.ctx, "INSERT INTO cosignatures (tenant, size, witness, key_hash, time, line) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
		id, int64(c.Size), c.Witness, int64(c.KeyHash), c.Time.Unix(), c.Line); err != nil {
		return fmt.Errorf("store cosignature: %w", err)
	}
	return nil
}

// Cosignatures returns the cosignatures of a tenant's checkpoint of size.
func (db *DB) Cosignatures(ctx context.Context, tenant string, size uint64) ([]waarborg.Cosignature, error) {
	tid, err := db.tenantID(ctx, tenant)
	if err != nil || tid == 0 {
		return nil, err
	}
	rows, err := db.pool.Query(ctx, "SELECT witness, key_hash, time, line FROM cosignatures WHERE tenant = $1 AND size = $2 ORDER BY witness COLLATE \"C\", key_hash", tid, int64(size))
	if err != nil {
		return nil, fmt.Errorf("list cosignatures: %w", err)
	}
	defer rows.Close()
	var out []waarborg.Cosignature
	for rows.Next() {
		c := waarborg.Cosignature{Tenant: tenant, Size: size}
		var hash, at int64
		if err := rows.Scan(&c.Witness, &hash, &at, &c.Line); err != nil {
			return nil, err
		}
		c.KeyHash, c.Time = uint32(hash), time.Unix(at, 0).UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}
