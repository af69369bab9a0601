package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/postgres"
	"github.com/waarborg/waarborg/servicetest"
	"github.com/waarborg/waarborg/sqlite"
)

// A Backend makes stores of one kind for tests that must hold on every
// store: the ledger's, the controls' over a stored log, the CLI's.
type Backend struct {
	Name string
	// Open returns a new, empty store that is closed when the test ends.
	// PostgreSQL stores each get a schema of their own; without a test
	// PostgreSQL the test skips (or fails under make test).
	Open func(t testing.TB) waarborg.Store
	// URL returns what `waarborg --db` takes for a new, empty database of
	// this kind: "" for SQLite, which lives in the data directory.
	URL func(t testing.TB) string
	// Tamper replaces from with to in the canonical JSON of entry idx of
	// tenant's log, in the store's own tables, as someone with write access
	// to the database could; with fixHash it stores the new content's hash
	// too. s must have been opened by Open.
	Tamper func(t testing.TB, s waarborg.Store, tenant string, idx uint64, from, to string, fixHash bool)
	// Repoint makes the store's id index put record id of tenant at entry
	// idx, as someone with write access to the database could.
	Repoint func(t testing.TB, s waarborg.Store, tenant, id string, idx uint64)
}

// Backends returns SQLite and PostgreSQL.
func Backends() []Backend {
	var mu sync.Mutex
	where := map[waarborg.Store]string{} // file or URL of each store opened
	remember := func(s waarborg.Store, at string) {
		mu.Lock()
		where[s] = at
		mu.Unlock()
	}
	lookup := func(s waarborg.Store) string {
		mu.Lock()
		defer mu.Unlock()
		return where[s]
	}
	return []Backend{
		{
			Name: "sqlite",
			Open: func(t testing.TB) waarborg.Store {
				path := filepath.Join(t.TempDir(), "w.db")
				s, err := sqlite.Open(context.Background(), path)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				remember(s, path)
				return s
			},
			URL: func(testing.TB) string { return "" },
			Tamper: func(t testing.TB, s waarborg.Store, tenant string, idx uint64, from, to string, fixHash bool) {
				t.Helper()
				tamperSQLite(t, lookup(s), tenant, idx, from, to, fixHash)
			},
			Repoint: func(t testing.TB, s waarborg.Store, tenant, id string, idx uint64) {
				t.Helper()
				raw, err := sql.Open("sqlite", lookup(s))
				if err != nil {
					t.Fatal(err)
				}
				defer raw.Close()
				res, err := raw.Exec("UPDATE ids SET idx = ? WHERE id = ? AND tenant = (SELECT id FROM tenants WHERE name = ?)", int64(idx), id, tenant)
				if n, _ := res.RowsAffected(); err != nil || n != 1 {
					t.Fatalf("repoint %s: %d rows, %v", id, n, err)
				}
			},
		},
		{
			Name: "postgres",
			Open: func(t testing.TB) waarborg.Store {
				url := servicetest.PostgresSchema(t)
				s, err := postgres.Open(context.Background(), url)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				remember(s, url)
				return s
			},
			URL: servicetest.PostgresSchema,
			Tamper: func(t testing.TB, s waarborg.Store, tenant string, idx uint64, from, to string, fixHash bool) {
				t.Helper()
				tamperPostgres(t, lookup(s), tenant, idx, from, to, fixHash)
			},
			Repoint: func(t testing.TB, s waarborg.Store, tenant, id string, idx uint64) {
				t.Helper()
				ctx := context.Background()
				conn, err := pgx.Connect(ctx, lookup(s))
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close(ctx)
				tag, err := conn.Exec(ctx, "UPDATE ids SET idx = $3 WHERE id = $2 AND tenant = (SELECT id FROM tenants WHERE name = $1)", tenant, id, int64(idx))
				if err != nil || tag.RowsAffected() != 1 {
					t.Fatalf("repoint %s: %v, %v", id, tag, err)
				}
			},
		},
	}
}

// tamperSQLite edits one line of a 64-entry segment (sqlite/schema.sql).
func tamperSQLite(t testing.TB, path, tenant string, idx uint64, from, to string, fixHash bool) {
	t.Helper()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var tid int64
	if err := raw.QueryRow("SELECT id FROM tenants WHERE name = ?", tenant).Scan(&tid); err != nil {
		t.Fatal(err)
	}
	pos := tid<<40 | int64(idx/64)
	var entries []byte
	if err := raw.QueryRow("SELECT entries FROM segments WHERE pos = ?", pos).Scan(&entries); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec("UPDATE segments SET entries = ? WHERE pos = ?", editSegment(t, entries, idx, from, to, fixHash), pos); err != nil {
		t.Fatal(err)
	}
}

// tamperPostgres edits one line of a 64-entry segment
// (postgres/migrations/0004_segments.sql).
func tamperPostgres(t testing.TB, url, tenant string, idx uint64, from, to string, fixHash bool) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	const where = "tenant = (SELECT id FROM tenants WHERE name = $1) AND seg = $2"
	var entries []byte
	if err := conn.QueryRow(ctx, "SELECT entries FROM segments WHERE "+where, tenant, int64(idx/64)).Scan(&entries); err != nil {
		t.Fatal(err)
	}
	changed := editSegment(t, entries, idx, from, to, fixHash)
	if _, err := conn.Exec(ctx, "UPDATE segments SET entries = $3 WHERE "+where, tenant, int64(idx/64), changed); err != nil {
		t.Fatal(err)
	}
}

// editSegment edits the canonical JSON of entry idx in the text of its
// segment (internal/segment), and with fixHash its content hash too.
func editSegment(t testing.TB, entries []byte, idx uint64, from, to string, fixHash bool) []byte {
	t.Helper()
	lines := bytes.SplitAfter(entries, []byte{'\n'})
	fields := bytes.SplitN(lines[idx%64], []byte{'\t'}, 4)
	fields[3] = []byte(editCanonical(t, strings.TrimSuffix(string(fields[3]), "\n"), from, to) + "\n")
	if fixHash {
		h := sha256.Sum256(bytes.TrimSuffix(fields[3], []byte{'\n'}))
		fields[2] = []byte(hex.EncodeToString(h[:]))
	}
	lines[idx%64] = bytes.Join(fields, []byte{'\t'})
	return bytes.Join(lines, nil)
}

func editCanonical(t testing.TB, canonical, from, to string) string {
	t.Helper()
	changed := strings.Replace(canonical, from, to, 1)
	if changed == canonical {
		t.Fatalf("entry %s does not hold %q", canonical, from)
	}
	return changed
}
