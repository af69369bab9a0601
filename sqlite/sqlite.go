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
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/waarborg/waarborg"
)

//go:embed schema.sql
var schema string

const schemaVersion = 1

// DB is a waarborg.Store in one SQLite file.
type DB struct {
	write *sql.DB // one connection: SQLite has one writer
	read  *sql.DB

	mu      sync.Mutex
	tenants map[string]int64
}

var _ waarborg.Store = (*DB)(nil)

// Open opens (creating if needed) the database at path. Commits are durable
// (WAL with synchronous=FULL): an Update that returned survives power loss.
func Open(ctx context.Context, path string) (*DB, error) {
	dsn := func(extra string) string {
		q := url.Values{}
		for _, p := range []string{"page_size(16384)", "journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)", "cache_size(-131072)", "temp_store(MEMORY)"} {
			q.Add("_pragma", p)
		}
		if extra != "" {
			q.Add("_pragma", extra)
		}
		return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
	}
	w, err := sql.Open("sqlite", dsn(""))
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
	// Readers map the file: proofs and scans read pages without a system call each.
	r, err := sql.Open("sqlite", dsn("query_only(1)")+"&_pragma=mmap_size(1073741824)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	r.SetMaxOpenConns(8)
	db.read = r
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
	if _, err := tx.ExecContext(ctx, schema); err != nil {
		return fmt.Errorf("create schema: %w", err)
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", schemaVersion)); err != nil {
		return err
	}
	return tx.Commit()
}

// Close closes the database.
func (db *DB) Close() error {
	return errors.Join(db.read.Close(), db.write.Close())
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

// chunk is the number of rows of one multi-row INSERT: SQLite's statement
// overhead is paid per statement, not per row.
const chunk = 64

const recordCols = "(pos, tenant, idx, id, received_at, type, time, hash, content, corrects)"

// pos is the rowid of entry idx of tenant tid: 2^40 entries a tenant.
func pos(tid int64, idx uint64) int64 { return tid<<40 | int64(idx) }

type tx struct {
	db         *DB
	tx         *sql.Tx
	ctx        context.Context
	insertMany *sql.Stmt
	newTenants []string
}

func (t *tx) close() {
	if t.insertMany != nil {
		t.insertMany.Close()
	}
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

func rowArgs(args []any, tid int64, idx uint64, p *waarborg.Pending) []any {
	r := p.Record
	var corrects any
	if r.Type == "correction" {
		corrects = r.Str("corrects")
	}
	return append(args, pos(tid, idx), tid, int64(idx), r.ID, p.ReceivedAt.UnixMilli(), r.Type, r.Time.UnixMilli(), p.Hash[:], r.Canonical, corrects)
}

func (t *tx) Add(tenant string, first uint64, recs []*waarborg.Pending) error {
	tid, err := t.tenant(tenant)
	if err != nil {
		return err
	}
	next := first
	args := make([]any, 0, chunk*10)
	for len(recs) > 0 {
		n := min(len(recs), chunk)
		part := recs[:n]
		recs = recs[n:]
		if n == chunk {
			if t.insertMany == nil {
				q := "INSERT INTO records " + recordCols + " VALUES " +
					strings.TrimSuffix(strings.Repeat("(?,?,?,?,?,?,?,?,?,?),", chunk), ",") +
					" ON CONFLICT DO NOTHING"
				if t.insertMany, err = t.tx.PrepareContext(t.ctx, q); err != nil {
					return fmt.Errorf("prepare insert: %w", err)
				}
			}
			args = args[:0]
			for i, p := range part {
				args = rowArgs(args, tid, next+uint64(i), p)
			}
			res, err := t.insertMany.ExecContext(t.ctx, args...)
			if err != nil {
				return fmt.Errorf("insert records: %w", err)
			}
			if affected, _ := res.RowsAffected(); affected == int64(n) {
				for i, p := range part {
					p.Added, p.Index = true, next+uint64(i)
				}
				next += uint64(n)
				continue
			}
			// Some ids are held already (a re-send or a conflict): undo the
			// rows this statement added and take the chunk one by one, so
			// that indexes stay contiguous.
			if _, err := t.tx.ExecContext(t.ctx, "DELETE FROM records WHERE pos >= ? AND pos < ?", pos(tid, next), pos(tid, next)+int64(n)); err != nil {
				return fmt.Errorf("undo partial insert: %w", err)
			}
		}
		for _, p := range part {
			var hash []byte
			err := t.tx.QueryRowContext(t.ctx, "SELECT hash FROM records WHERE tenant = ? AND id = ?", tid, p.Record.ID).Scan(&hash)
			switch {
			case err == nil:
				copy(p.Existing[:], hash)
				continue
			case !errors.Is(err, sql.ErrNoRows):
				return fmt.Errorf("look up record: %w", err)
			}
			if _, err := t.tx.ExecContext(t.ctx, "INSERT INTO records "+recordCols+" VALUES (?,?,?,?,?,?,?,?,?,?)", rowArgs(args[:0], tid, next, p)...); err != nil {
				return fmt.Errorf("insert record: %w", err)
			}
			p.Added, p.Index = true, next
			next++
		}
	}
	return nil
}

func (t *tx) PutTiles(tenant string, tiles []waarborg.Tile) error {
	tid, err := t.tenant(tenant)
	if err != nil {
		return err
	}
	for _, tl := range tiles {
		if _, err := t.tx.ExecContext(t.ctx, "INSERT INTO tiles (tenant, level, idx, hashes) VALUES (?,?,?,?) ON CONFLICT (tenant, level, idx) DO UPDATE SET hashes = excluded.hashes",
			tid, tl.Level, int64(tl.Index), tl.Hashes); err != nil {
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
	var n sql.NullInt64
	if err := db.read.QueryRowContext(ctx, "SELECT MAX(pos) + 1 FROM records WHERE pos >= ? AND pos < ?", pos(tid, 0), pos(tid+1, 0)).Scan(&n); err != nil {
		return 0, fmt.Errorf("log size: %w", err)
	}
	if !n.Valid {
		return 0, nil
	}
	return uint64(n.Int64 - pos(tid, 0)), nil
}

const storedCols = "idx, id, received_at, hash, type, time, corrects, content"

func scanStored(sc interface{ Scan(...any) error }, tenant string) (*waarborg.Stored, error) {
	var (
		s                 waarborg.Stored
		idx, received, tm int64
		hash              []byte
		corrects          sql.NullString
	)
	if err := sc.Scan(&idx, &s.ID, &received, &hash, &s.Type, &tm, &corrects, &s.Canonical); err != nil {
		return nil, err
	}
	s.Tenant = tenant
	s.Index = uint64(idx)
	s.ReceivedAt = time.UnixMilli(received).UTC()
	s.Time = time.UnixMilli(tm).UTC()
	s.Corrects = corrects.String
	copy(s.Hash[:], hash)
	return &s, nil
}

// Record returns a tenant's entry by record id.
func (db *DB) Record(ctx context.Context, tenant, id string) (*waarborg.Stored, error) {
	tid, err := db.tenantID(ctx, db.read, tenant)
	if err != nil {
		return nil, err
	}
	row := db.read.QueryRowContext(ctx, "SELECT "+storedCols+" FROM records WHERE tenant = ? AND id = ?", tid, id)
	s, err := scanStored(row, tenant)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("tenant %s has no record %q", tenant, id)
	}
	if err != nil {
		return nil, fmt.Errorf("read record: %w", err)
	}
	return s, nil
}

// Corrections returns the ids of the corrections that name id, in log order.
func (db *DB) Corrections(ctx context.Context, tenant, id string) ([]string, error) {
	tid, err := db.tenantID(ctx, db.read, tenant)
	if err != nil {
		return nil, err
	}
	rows, err := db.read.QueryContext(ctx, "SELECT id FROM records WHERE tenant = ? AND corrects = ? ORDER BY idx", tid, id)
	if err != nil {
		return nil, fmt.Errorf("list corrections: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		ids = append(ids, s)
	}
	return ids, rows.Err()
}

// Records yields a tenant's entries with from ≤ index < to, in index order.
func (db *DB) Records(ctx context.Context, tenant string, from, to uint64) iter.Seq2[*waarborg.Stored, error] {
	return func(yield func(*waarborg.Stored, error) bool) {
		tid, err := db.tenantID(ctx, db.read, tenant)
		if err != nil || tid == 0 {
			if err != nil {
				yield(nil, err)
			}
			return
		}
		rows, err := db.read.QueryContext(ctx, "SELECT "+storedCols+" FROM records WHERE pos >= ? AND pos < ? ORDER BY pos", pos(tid, from), pos(tid, min(to, 1<<40)))
		if err != nil {
			yield(nil, fmt.Errorf("read records: %w", err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			s, err := scanStored(rows, tenant)
			if !yield(s, err) || err != nil {
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
		err := db.read.QueryRowContext(ctx, "SELECT hashes FROM tiles WHERE tenant = ? AND level = ? AND idx = ?", tid, id.Level, int64(id.Index)).Scan(&h)
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
