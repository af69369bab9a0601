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
	"context"
	"errors"
	"fmt"
	"iter"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/internal/segment"
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
		if added, err = t.addSome(tenant, h.id, first, recs); err != nil {
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

// addNew writes a batch in which every id is new, which is what a feed
// sends: each record gets the next index in batch order. The ids are
// copied in sorted order, which puts each one next to the one inserted
// before it in the ids key's B-tree (a million took 3.1-3.9 s against
// 4.3-4.5 s in batch order); they are sorted, and their COPY stream made,
// on another goroutine while the segments are written. It returns nil,
// having changed nothing, when any id is held already (the ids key refuses
// the COPY) or repeats within the batch.
func (t *tx) addNew(tid int32, first uint64, recs []*waarborg.Pending) ([]*waarborg.Pending, error) {
	claims := make([]claim, len(recs))
	for i, p := range recs {
		claims[i] = claim{p.Record.ID, int64(first) + int64(i)}
	}
	ids := make(chan copyData, 1) // nil if the ids repeat
	go func() {
		if sortClaims(claims) {
			ids <- idRows(tid, claims)
		}
		close(ids)
	}()
	sp, err := t.tx.Begin(t.ctx) // a savepoint
	if err != nil {
		<-ids
		return nil, err
	}
	for i, p := range recs {
		p.Index = first + uint64(i)
	}
	err = writeEntries(t.ctx, sp, tid, first, recs)
	rows := <-ids
	ok := rows != nil
	if err == nil && ok {
		err = copyIDs(t.ctx, sp, rows)
	}
	if err == nil && ok {
		if err := sp.Commit(t.ctx); err != nil {
			return nil, err
		}
		for _, p := range recs {
			p.Added = true
		}
		return recs, nil
	}
	if pe, ok := errors.AsType[*pgconn.PgError](err); err != nil && (!ok || pe.Code != "23505" || pe.ConstraintName != "ids_pkey") {
		return nil, err
	}
	// An id held already or repeated: a re-send or a conflict. Undo, and
	// sort the batch out.
	for _, p := range recs {
		p.Index = 0
	}
	return nil, sp.Rollback(t.ctx)
}

// addSome is the path of re-sends and conflicts: it reads which ids the
// log holds already, gives the others contiguous indexes in batch order,
// and writes those. The tenant's row lock keeps any other transaction from
// claiming an id in between.
func (t *tx) addSome(tenant string, tid int32, first uint64, recs []*waarborg.Pending) ([]*waarborg.Pending, error) {
	held, err := t.held(tenant, tid, recs)
	if err != nil {
		return nil, err
	}
	var (
		added  []*waarborg.Pending
		claims []claim
	)
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
		claims = append(claims, claim{p.Record.ID, int64(p.Index)})
	}
	if len(added) == 0 {
		return nil, nil
	}
	if err := writeEntries(t.ctx, t.tx, tid, first, added); err != nil {
		return nil, err
	}
	sortClaims(claims)
	return added, copyIDs(t.ctx, t.tx, idRows(tid, claims))
}

// held returns the content hash of each stored entry whose id a record of
// recs has, read from its segment.
func (t *tx) held(tenant string, tid int32, recs []*waarborg.Pending) (map[string][32]byte, error) {
	ids := make([]string, len(recs))
	for i, p := range recs {
		ids[i] = p.Record.ID
	}
	rows, err := t.tx.Query(t.ctx, "SELECT id, idx FROM ids WHERE tenant = $1 AND id = ANY($2)", tid, ids)
	if err != nil {
		return nil, fmt.Errorf("look up ids: %w", err)
	}
	at := map[string]uint64{}
	var (
		id   string
		idx  int64
		segs []int64
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &idx}, func() error {
		at[id] = uint64(idx)
		segs = append(segs, idx/segment.Size)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("look up ids: %w", err)
	}
	held := make(map[string][32]byte, len(at))
	if len(at) == 0 {
		return held, nil
	}
	// Each segment once: a re-sent batch has up to 64 ids in each.
	slices.Sort(segs)
	rows, err = t.tx.Query(t.ctx, "SELECT seg, entries FROM segments WHERE tenant = $1 AND seg = ANY($2)", tid, slices.Compact(segs))
	if err != nil {
		return nil, fmt.Errorf("read held entries: %w", err)
	}
	text := map[uint64][]byte{}
	var (
		seg     int64
		entries []byte
	)
	_, err = pgx.ForEachRow(rows, []any{&seg, &entries}, func() error {
		text[uint64(seg)], entries = entries, nil
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read held entries: %w", err)
	}
	for id, idx := range at {
		st, err := segment.EntryOf(text[idx/segment.Size], tenant, id, idx)
		if err != nil {
			return nil, err
		}
		held[id] = st.Hash
	}
	return held, nil
}

// A claim is an id's row in the ids table.
type claim struct {
	id  string
	idx int64
}

// sortClaims sorts one tenant's claims by id, as the ids key orders them
// (bytes: COLLATE "C"), and reports whether the ids are distinct.
func sortClaims(claims []claim) bool {
	slices.SortFunc(claims, func(a, b claim) int { return strings.Compare(a.id, b.id) })
	for i := 1; i < len(claims); i++ {
		if claims[i].id == claims[i-1].id {
			return false
		}
	}
	return true
}

// idRows returns the rows of claims in the ids table as a COPY stream.
func idRows(tid int32, claims []claim) copyData {
	size := 0
	for _, c := range claims {
		size += 2 + 8 + 4 + len(c.id) + 12
	}
	c := newCopy(size)
	for _, cl := range claims {
		c = c.row(3).int4(tid).text(cl.id).int8(cl.idx)
	}
	return c
}

func copyIDs(ctx context.Context, tx pgx.Tx, rows copyData) error {
	if err := rows.send(ctx, tx, "COPY ids (tenant, id, idx) FROM STDIN (FORMAT binary)"); err != nil {
		return fmt.Errorf("copy ids: %w", err)
	}
	return nil
}

// writeEntries appends the added entries, indexes first onward, to the
// tenant's segments: the log's partial last segment grows in place, and
// the segments after it are copied.
func writeEntries(ctx context.Context, tx pgx.Tx, tid int32, first uint64, added []*waarborg.Pending) error {
	if len(added) == 0 {
		return nil
	}
	seg, i := first/segment.Size, 0
	if n := first % segment.Size; n != 0 {
		var text []byte
		for ; i < len(added) && n+uint64(i) < segment.Size; i++ {
			text = segment.Append(text, added[i])
		}
		// The server appends to the stored text: it need not travel here
		// and back. The segment must hold what the log's size says.
		tag, err := tx.Exec(ctx, "UPDATE segments SET n = n + $3, entries = entries || $4 WHERE tenant = $1 AND seg = $2 AND n = $5",
			tid, int64(seg), int32(i), text, int32(n))
		if err != nil {
			return fmt.Errorf("write segment: %w", err)
		}
		if tag.RowsAffected() != 1 {
			return fmt.Errorf("segment %d of the log does not hold its %d entries", seg, n)
		}
		seg++
	}
	if i == len(added) {
		return nil
	}
	size := 0
	for _, p := range added[i:] {
		size += len(p.Record.ID) + len(p.Record.Canonical) + 96 // and the time, hash and row
	}
	c := newCopy(size)
	for ; i < len(added); seg++ {
		end := min(i+segment.Size, len(added))
		var at int
		c, at = c.row(4).int4(tid).int8(int64(seg)).int4(int32(end - i)).open()
		for _, p := range added[i:end] {
			c = segment.Append(c, p)
		}
		c.close(at)
		i = end
	}
	if err := c.send(ctx, tx, "COPY segments (tenant, seg, n, entries) FROM STDIN (FORMAT binary)"); err != nil {
		return fmt.Errorf("copy segments: %w", err)
	}
	return nil
}

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
	var (
		idx     int64
		entries []byte
	)
	err = db.pool.QueryRow(ctx, `SELECT i.idx, s.entries FROM ids i LEFT JOIN segments s ON s.tenant = i.tenant AND s.seg = i.idx / 64
		WHERE i.tenant = $1 AND i.id = $2`, tid, id).Scan(&idx, &entries)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("tenant %s has no record %q", tenant, id)
	}
	if err != nil {
		return nil, fmt.Errorf("look up record: %w", err)
	}
	return segment.EntryOf(entries, tenant, id, uint64(idx))
}

// Corrections returns the ids of the corrections that name id, in log order.
func (db *DB) Corrections(ctx context.Context, tenant, id string) ([]string, error) {
	tid, err := db.tenantID(ctx, tenant)
	if err != nil {
		return nil, err
	}
	rows, err := db.pool.Query(ctx, `SELECT c.idx, s.entries FROM corrections c LEFT JOIN segments s ON s.tenant = c.tenant AND s.seg = c.idx / 64
		WHERE c.tenant = $1 AND c.corrects = $2 ORDER BY c.idx`, tid, id)
	if err != nil {
		return nil, fmt.Errorf("list corrections: %w", err)
	}
	var (
		ids     []string
		idx     int64
		entries []byte
	)
	_, err = pgx.ForEachRow(rows, []any{&idx, &entries}, func() error {
		st, err := segment.Entry(entries, tenant, uint64(idx))
		if err != nil {
			return err
		}
		ids = append(ids, st.ID)
		return nil
	})
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
		rows, err := db.pool.Query(ctx, "SELECT seg, entries FROM segments WHERE tenant = $1 AND seg >= $2 AND seg <= $3 ORDER BY seg",
			tid, int64(from/segment.Size), int64((to-1)/segment.Size))
		if err != nil {
			yield(nil, fmt.Errorf("read records: %w", err))
			return
		}
		defer rows.Close()
		r := segment.Reader{Tenant: tenant, From: from, To: to}
		for rows.Next() {
			// Scan copies each segment's text to memory of its own: the
			// entries yielded refer into it.
			var (
				seg     int64
				entries []byte
			)
			if err := rows.Scan(&seg, &entries); err != nil {
				yield(nil, fmt.Errorf("read records: %w", err))
				return
			}
			if !r.Segment(uint64(seg), entries, yield) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(nil, fmt.Errorf("read records: %w", err))
		}
	}
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
