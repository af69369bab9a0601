// Package sqlite implements waarborg.Store on an embedded SQLite database
// (modernc.org/sqlite: pure Go, no cgo). It is the default store.
package sqlite

import (
	"context"
	"database/sql"
	_ "embed"
	"errors"
	"fmt"
	"iter"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/internal/segment"
)

// Each schema file takes the database from the version before it to its
// own: schema.sql makes version 1, schema2.sql adds the cosignatures,
// users.sql (version 3) the people who sign in and machines' tokens.
var (
	//go:embed schema.sql
	schema1 string
	//go:embed schema2.sql
	schema2 string
	//go:embed users.sql
	usersSchema string

	migrations = []string{schema1, schema2, usersSchema}
)

// schemaVersion is the version this waarborg writes: one per migration.
var schemaVersion = len(migrations)

// DB is a waarborg.Store in one SQLite file.
type DB struct {
	write *sql.DB // one connection: SQLite has one writer
	read  *sql.DB

	mu      sync.Mutex
	tenants map[string]int64

	stopCheckpoints chan struct{}
	checkpointsDone chan struct{}
}

var _ waarborg.Store = (*DB)(nil)

// Open opens (creating if needed) the database at path. Commits are durable
// (WAL with synchronous=FULL): an Update that returned survives power loss.
func Open(ctx context.Context, path string) (*DB, error) {
	dsn := func(extra ...string) string {
		q := url.Values{}
		for _, p := range append([]string{"page_size(4096)", "journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)", "temp_store(MEMORY)"}, extra...) {
			q.Add("_pragma", p)
		}
		return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
	}
	// The writer's cache holds what appends touch again: the id index's
	// pages where new ids land, and the interior pages above them. A
	// larger one (512 MiB) only held segments that are written once, and
	// every page it added cost an allocation and a page fault: ingest took
	// 10-15 % more CPU. It never checkpoints the WAL itself: a background
	// connection does, off the commit path.
	w, err := sql.Open("sqlite", dsn("cache_size(-65536)", "wal_autocheckpoint(0)"))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	db := &DB{write: w, tenants: map[string]int64{}}
	if err := db.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	// Readers map up to 1 GiB of the file: a full pass (verify) reads pages
	// without a system call each, and mapped pages stay the kernel's cache.
	r, err := sql.Open("sqlite", dsn("query_only(1)", "cache_size(-32768)", "mmap_size(1073741824)"))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	r.SetMaxOpenConns(8)
	db.read = r
	db.stopCheckpoints = make(chan struct{})
	db.checkpointsDone = make(chan struct{})
	go db.checkpointLoop(dsn(""))
	return db, nil
}

func (db *DB) migrate(ctx context.Context) error {
	var v int
	if err := db.write.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	switch {
	case v == schemaVersion:
		return nil
	case v > schemaVersion:
		return fmt.Errorf("database schema version %d is newer than this waarborg (%d)", v, schemaVersion)
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for i := v; i < schemaVersion; i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("migrate schema to version %d: %w", i+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", schemaVersion)); err != nil {
		return err
	}
	return tx.Commit()
}

// Close closes the database.
func (db *DB) Close() error {
	close(db.stopCheckpoints)
	<-db.checkpointsDone
	return errors.Join(db.read.Close(), db.write.Close())
}

// checkpointLoop copies committed WAL pages into the database file every
// half second, on its own connection. PASSIVE never blocks the writer or
// readers; it copies what it can.
func (db *DB) checkpointLoop(dsn string) {
	defer close(db.checkpointsDone)
	c, err := sql.Open("sqlite", dsn)
	if err != nil {
		return
	}
	defer c.Close()
	c.SetMaxOpenConns(1)
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-db.stopCheckpoints:
			// A last full checkpoint, so that a closed database is one file.
			c.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
			return
		case <-t.C:
			c.Exec("PRAGMA wal_checkpoint(PASSIVE)")
		}
	}
}

// tenantID returns the id of a tenant, 0 if it has none yet.
func (db *DB) tenantID(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, name string) (int64, error) {
	db.mu.Lock()
	id, ok := db.tenants[name]
	db.mu.Unlock()
	if ok {
		return id, nil
	}
	err := q.QueryRowContext(ctx, "SELECT id FROM tenants WHERE name = ?", name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
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

func notFound(format string, args ...any) error {
	return waarborg.Errorf(waarborg.ENOTFOUND, format, args...)
}

// Update runs fn in one write transaction.
func (db *DB) Update(ctx context.Context, fn func(waarborg.Tx) error) error {
	sqlTx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	tx := &tx{db: db, tx: sqlTx, ctx: ctx}
	defer tx.close()
	if err := fn(tx); err != nil {
		sqlTx.Rollback()
		tx.forgetNewTenants()
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		tx.forgetNewTenants()
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// chunk is the number of ids of one multi-row INSERT: SQLite's statement
// overhead is paid per statement, not per row.
const chunk = 64

type tx struct {
	db         *DB
	tx         *sql.Tx
	ctx        context.Context
	insertMany map[int]*sql.Stmt // by rows
	prepared   map[string]*sql.Stmt
	newTenants []string
}

func (t *tx) close() {
	for _, st := range t.insertMany {
		st.Close()
	}
	for _, st := range t.prepared {
		st.Close()
	}
}

// exec runs a statement the transaction runs many times, such as one
// segment write per 64 entries, prepared once.
func (t *tx) exec(query string, args ...any) error {
	st, ok := t.prepared[query]
	if !ok {
		var err error
		if st, err = t.tx.PrepareContext(t.ctx, query); err != nil {
			return err
		}
		if t.prepared == nil {
			t.prepared = map[string]*sql.Stmt{}
		}
		t.prepared[query] = st
	}
	_, err := st.ExecContext(t.ctx, args...)
	return err
}

func (t *tx) forgetNewTenants() {
	t.db.mu.Lock()
	for _, name := range t.newTenants {
		delete(t.db.tenants, name)
	}
	t.db.mu.Unlock()
}

func (t *tx) tenant(name string) (int64, error) {
	id, err := t.db.tenantID(t.ctx, t.tx, name)
	if err != nil || id != 0 {
		return id, err
	}
	if err := t.tx.QueryRowContext(t.ctx, "INSERT INTO tenants (name) VALUES (?) RETURNING id", name).Scan(&id); err != nil {
		return 0, fmt.Errorf("add tenant: %w", err)
	}
	t.db.mu.Lock()
	t.db.tenants[name] = id
	t.db.mu.Unlock()
	t.newTenants = append(t.newTenants, name)
	return id, nil
}

func (t *tx) Add(tenant string, first uint64, recs []*waarborg.Pending) error {
	tid, err := t.tenant(tenant)
	if err != nil {
		return err
	}
	ok, err := t.addNew(tid, first, recs)
	if err != nil || ok {
		return err
	}
	if err := t.addOneByOne(tid, first, recs); err != nil {
		return err
	}
	added := recs[:0:0]
	for _, p := range recs {
		if p.Added {
			added = append(added, p)
		}
	}
	if len(added) == 0 {
		return nil
	}
	return t.writeEntries(tid, first, added)
}

// addNew adds a batch in which every id is new, which is what a feed
// sends: each record gets the next index in batch order. The ids are
// inserted in sorted order, many rows a statement, since a B-tree takes
// sorted keys fastest; they are sorted on another goroutine while the
// entries are written. It reports false, having changed nothing, when any
// id is held already or repeats within the batch.
func (t *tx) addNew(tid int64, first uint64, recs []*waarborg.Pending) (bool, error) {
	type claim struct {
		id  string
		idx int64
	}
	order := make([]claim, len(recs))
	for i, p := range recs {
		order[i] = claim{p.Record.ID, int64(first) + int64(i)}
	}
	sorted := make(chan bool, 1) // whether the ids are distinct
	go func() {
		slices.SortFunc(order, func(a, b claim) int { return strings.Compare(a.id, b.id) })
		for i := 1; i < len(order); i++ {
			if order[i].id == order[i-1].id {
				sorted <- false
				return
			}
		}
		sorted <- true
	}()
	if _, err := t.tx.ExecContext(t.ctx, "SAVEPOINT batch"); err != nil {
		<-sorted
		return false, err
	}
	// undo takes back everything since the savepoint: the batch goes one
	// by one instead.
	undo := func() (bool, error) {
		if _, err := t.tx.ExecContext(t.ctx, "ROLLBACK TO batch"); err != nil {
			return false, fmt.Errorf("undo partial insert: %w", err)
		}
		_, err := t.tx.ExecContext(t.ctx, "RELEASE batch")
		return false, err
	}
	for i, p := range recs {
		p.Index = first + uint64(i)
	}
	err := t.writeEntries(tid, first, recs)
	if distinct := <-sorted; err != nil || !distinct {
		if err != nil {
			return false, err
		}
		return undo()
	}
	args := make([]any, 0, chunk*3)
	for len(order) > 0 {
		n := min(len(order), chunk)
		stmt, err := t.insertIDs(n)
		if err != nil {
			return false, err
		}
		args = args[:0]
		for _, c := range order[:n] {
			args = append(args, tid, c.id, c.idx)
		}
		order = order[n:]
		res, err := stmt.ExecContext(t.ctx, args...)
		if err != nil {
			return false, fmt.Errorf("insert ids: %w", err)
		}
		if affected, _ := res.RowsAffected(); affected != int64(n) {
			return undo() // a re-send or a conflict
		}
	}
	if _, err := t.tx.ExecContext(t.ctx, "RELEASE batch"); err != nil {
		return false, err
	}
	for _, p := range recs {
		p.Added = true
	}
	return true, nil
}

// insertIDs returns the statement that inserts n ids, skipping held ones.
// OR IGNORE rather than ON CONFLICT DO NOTHING: the latter still aborts on
// a NULL, so SQLite journals every page a many-row statement touches in
// case it must undo it (about 15 % of the store's time in a batch); the
// tenant, ids and indexes bound are never NULL.
func (t *tx) insertIDs(n int) (*sql.Stmt, error) {
	if t.insertMany == nil {
		t.insertMany = map[int]*sql.Stmt{}
	}
	if st, ok := t.insertMany[n]; ok {
		return st, nil
	}
	q := "INSERT OR IGNORE INTO ids (tenant, id, idx) VALUES " + strings.TrimSuffix(strings.Repeat("(?,?,?),", n), ",")
	st, err := t.tx.PrepareContext(t.ctx, q)
	if err != nil {
		return nil, fmt.Errorf("prepare insert: %w", err)
	}
	t.insertMany[n] = st
	return st, nil
}

// addOneByOne claims ids in batch order, one statement each: the path of
// re-sends and conflicts, where indexes must stay contiguous around the
// records that are not added.
func (t *tx) addOneByOne(tid int64, first uint64, recs []*waarborg.Pending) error {
	stmt, err := t.insertIDs(1)
	if err != nil {
		return err
	}
	next := first
	var added []*waarborg.Pending
	for _, p := range recs {
		res, err := stmt.ExecContext(t.ctx, tid, p.Record.ID, int64(next))
		if err != nil {
			return fmt.Errorf("insert id: %w", err)
		}
		if affected, _ := res.RowsAffected(); affected == 1 {
			p.Added, p.Index = true, next
			added = append(added, p)
			next++
			continue
		}
		if p.Existing, err = t.existingHash(tid, first, p.Record.ID, added); err != nil {
			return err
		}
	}
	return nil
}

// existingHash returns the content hash of the entry that holds id: one
// added earlier in this call, or a stored one.
func (t *tx) existingHash(tid int64, first uint64, id string, added []*waarborg.Pending) ([32]byte, error) {
	var idx int64
	if err := t.tx.QueryRowContext(t.ctx, "SELECT idx FROM ids WHERE tenant = ? AND id = ?", tid, id).Scan(&idx); err != nil {
		return [32]byte{}, fmt.Errorf("look up id: %w", err)
	}
	if uint64(idx) >= first {
		return added[uint64(idx)-first].Hash, nil
	}
	st, err := readEntry(t.ctx, t.tx, tid, "", id, uint64(idx))
	if err != nil {
		return [32]byte{}, err
	}
	return st.Hash, nil
}

// writeEntries appends the added entries, indexes first onward, to the
// tenant's segments, completing the partial last one.
func (t *tx) writeEntries(tid int64, first uint64, added []*waarborg.Pending) error {
	seg := first / segment.Size
	var buf []byte
	if first%segment.Size != 0 {
		if err := t.tx.QueryRowContext(t.ctx, "SELECT entries FROM segments WHERE pos = ?", pos(tid, seg)).Scan(&buf); err != nil {
			return fmt.Errorf("read last segment: %w", err)
		}
	}
	n := int(first % segment.Size)
	flush := func() error {
		err := t.exec("INSERT INTO segments (pos, n, entries) VALUES (?,?,?) ON CONFLICT (pos) DO UPDATE SET n = excluded.n, entries = excluded.entries",
			pos(tid, seg), n, buf)
		if err != nil {
			return fmt.Errorf("write segment: %w", err)
		}
		return nil
	}
	for _, p := range added {
		buf = segment.Append(buf, p)
		n++
		if r := p.Record; r.Type == "correction" {
			if _, err := t.tx.ExecContext(t.ctx, "INSERT INTO corrections (tenant, corrects, idx) VALUES (?,?,?)", tid, r.Str("corrects"), int64(p.Index)); err != nil {
				return fmt.Errorf("index correction: %w", err)
			}
		}
		if n == segment.Size {
			if err := flush(); err != nil {
				return err
			}
			seg, n, buf = seg+1, 0, buf[:0]
		}
	}
	if n > 0 {
		return flush()
	}
	return nil
}

func (t *tx) PutTiles(tenant string, tiles []waarborg.Tile) error {
	tid, err := t.tenant(tenant)
	if err != nil {
		return err
	}
	for _, tl := range tiles {
		if err := t.exec("INSERT INTO tiles (pos, hashes) VALUES (?,?) ON CONFLICT (pos) DO UPDATE SET hashes = excluded.hashes",
			tilePos(tid, tl.Level, tl.Index), tl.Hashes); err != nil {
			return fmt.Errorf("store tile: %w", err)
		}
	}
	return nil
}

func (t *tx) AddCheckpoint(cp *waarborg.Checkpoint) error {
	tid, err := t.tenant(cp.Tenant)
	if err != nil {
		return err
	}
	if _, err := t.tx.ExecContext(t.ctx, "INSERT INTO checkpoints (tenant, size, root, signed_at, note) VALUES (?,?,?,?,?)",
		tid, int64(cp.Size), cp.Root, cp.SignedAt.UnixMilli(), cp.Note); err != nil {
		return fmt.Errorf("store checkpoint: %w", err)
	}
	return nil
}

func (t *tx) AddCosignature(c *waarborg.Cosignature) error {
	tid, err := t.tenant(c.Tenant)
	if err != nil {
		return err
	}
	if _, err := t.tx.ExecContext(t.ctx, "INSERT INTO cosignatures (tenant, size, witness, key_hash, time, line) VALUES (?,?,?,?,?,?) ON CONFLICT DO NOTHING",
		tid, int64(c.Size), c.Witness, int64(c.KeyHash), c.Time.Unix(), c.Line); err != nil {
		return fmt.Errorf("store cosignature: %w", err)
	}
	return nil
}

// Cosignatures returns the cosignatures of a tenant's checkpoint of size.
func (db *DB) Cosignatures(ctx context.Context, tenant string, size uint64) ([]waarborg.Cosignature, error) {
	tid, err := db.tenantID(ctx, db.read, tenant)
	if err != nil || tid == 0 {
		return nil, err
	}
	rows, err := db.read.QueryContext(ctx, "SELECT witness, key_hash, time, line FROM cosignatures WHERE tenant = ? AND size = ? ORDER BY witness, key_hash", tid, int64(size))
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

// Tenants returns every tenant with a log, by name.
func (db *DB) Tenants(ctx context.Context) ([]string, error) {
	rows, err := db.read.QueryContext(ctx, "SELECT name FROM tenants ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		names = append(names, n)
	}
	return names, rows.Err()
}

// Size returns the number of entries of a tenant's log.
func (db *DB) Size(ctx context.Context, tenant string) (uint64, error) {
	tid, err := db.tenantID(ctx, db.read, tenant)
	if err != nil || tid == 0 {
		return 0, err
	}
	var p, n int64
	err = db.read.QueryRowContext(ctx, "SELECT pos, n FROM segments WHERE pos >= ? AND pos < ? ORDER BY pos DESC LIMIT 1", pos(tid, 0), pos(tid+1, 0)).Scan(&p, &n)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("log size: %w", err)
	}
	return uint64(p-pos(tid, 0))*segment.Size + uint64(n), nil
}

// Record returns a tenant's entry by record id.
func (db *DB) Record(ctx context.Context, tenant, id string) (*waarborg.Stored, error) {
	tid, err := db.tenantID(ctx, db.read, tenant)
	if err != nil {
		return nil, err
	}
	var idx int64
	err = db.read.QueryRowContext(ctx, "SELECT idx FROM ids WHERE tenant = ? AND id = ?", tid, id).Scan(&idx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("tenant %s has no record %q", tenant, id)
	}
	if err != nil {
		return nil, fmt.Errorf("look up record: %w", err)
	}
	return readEntry(ctx, db.read, tid, tenant, id, uint64(idx))
}

// Corrections returns the ids of the corrections that name id, in log order.
func (db *DB) Corrections(ctx context.Context, tenant, id string) ([]string, error) {
	tid, err := db.tenantID(ctx, db.read, tenant)
	if err != nil {
		return nil, err
	}
	rows, err := db.read.QueryContext(ctx, "SELECT idx FROM corrections WHERE tenant = ? AND corrects = ? ORDER BY idx", tid, id)
	if err != nil {
		return nil, fmt.Errorf("list corrections: %w", err)
	}
	var idxs []uint64
	for rows.Next() {
		var i int64
		if err := rows.Scan(&i); err != nil {
			rows.Close()
			return nil, err
		}
		idxs = append(idxs, uint64(i))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var ids []string
	for _, i := range idxs {
		st, err := readEntry(ctx, db.read, tid, tenant, "", i)
		if err != nil {
			return nil, err
		}
		ids = append(ids, st.ID)
	}
	return ids, nil
}

// Records yields a tenant's entries with from ≤ index < to, in index order.
func (db *DB) Records(ctx context.Context, tenant string, from, to uint64) iter.Seq2[*waarborg.Stored, error] {
	return func(yield func(*waarborg.Stored, error) bool) {
		tid, err := db.tenantID(ctx, db.read, tenant)
		if err != nil || tid == 0 || from >= to {
			if err != nil {
				yield(nil, err)
			}
			return
		}
		to = min(to, maxEntries)
		rows, err := db.read.QueryContext(ctx, "SELECT pos, entries FROM segments WHERE pos >= ? AND pos <= ? ORDER BY pos",
			pos(tid, from/segment.Size), pos(tid, (to-1)/segment.Size))
		if err != nil {
			yield(nil, fmt.Errorf("read records: %w", err))
			return
		}
		defer rows.Close()
		r := segment.Reader{Tenant: tenant, From: from, To: to}
		for rows.Next() {
			var (
				p       int64
				entries []byte
			)
			if err := rows.Scan(&p, &entries); err != nil {
				yield(nil, err)
				return
			}
			if !r.Segment(uint64(p-pos(tid, 0)), entries, yield) {
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
	tid, err := db.tenantID(ctx, db.read, tenant)
	if err != nil || tid == 0 {
		return out, err
	}
	for _, id := range ids {
		var h []byte
		err := db.read.QueryRowContext(ctx, "SELECT hashes FROM tiles WHERE pos = ?", tilePos(tid, id.Level, id.Index)).Scan(&h)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return nil, fmt.Errorf("read tile: %w", err)
		default:
			out[id] = h
		}
	}
	return out, nil
}

// Checkpoints returns every checkpoint of a tenant, oldest first.
func (db *DB) Checkpoints(ctx context.Context, tenant string) ([]waarborg.Checkpoint, error) {
	tid, err := db.tenantID(ctx, db.read, tenant)
	if err != nil || tid == 0 {
		return nil, err
	}
	rows, err := db.read.QueryContext(ctx, "SELECT size, root, signed_at, note FROM checkpoints WHERE tenant = ? ORDER BY size", tid)
	if err != nil {
		return nil, fmt.Errorf("list checkpoints: %w", err)
	}
	return scanCheckpoints(rows, tenant)
}

// scanCheckpoints reads every row of a checkpoints query and closes it.
func scanCheckpoints(rows *sql.Rows, tenant string) ([]waarborg.Checkpoint, error) {
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

func scanCheckpoint(sc interface{ Scan(...any) error }, tenant string) (*waarborg.Checkpoint, error) {
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
	tid, err := db.tenantID(ctx, db.read, tenant)
	if err != nil {
		return nil, err
	}
	var row *sql.Row
	if size == 0 {
		row = db.read.QueryRowContext(ctx, "SELECT size, root, signed_at, note FROM checkpoints WHERE tenant = ? ORDER BY size DESC LIMIT 1", tid)
	} else {
		row = db.read.QueryRowContext(ctx, "SELECT size, root, signed_at, note FROM checkpoints WHERE tenant = ? AND size = ?", tid, int64(size))
	}
	cp, err := scanCheckpoint(row, tenant)
	if errors.Is(err, sql.ErrNoRows) {
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
