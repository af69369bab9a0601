package postgres_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/note"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/ledger"
	"github.com/waarborg/waarborg/postgres"
	"github.com/waarborg/waarborg/servicetest"
	"github.com/waarborg/waarborg/storetest"
)

// schema3 returns a connection to a new schema at version 3, the last with
// one row per entry, built from the migration files as they were released.
func schema3(t *testing.T) (*pgx.Conn, string) {
	t.Helper()
	ctx := context.Background()
	u := servicetest.PostgresSchema(t)
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	exec(t, conn, "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
	files, _ := filepath.Glob("migrations/000[123]_*.sql")
	if len(files) != 3 {
		t.Fatalf("migrations 1 to 3: %v", files)
	}
	for i, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, string(b), pgx.QueryExecModeSimpleProtocol); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		exec(t, conn, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", i+1, strings.TrimSuffix(filepath.Base(f), ".sql"))
	}
	return conn, u
}

func exec(t *testing.T, conn *pgx.Conn, sql string, args ...any) {
	t.Helper()
	if _, err := conn.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func schemaOf(t *testing.T, u string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return pgx.Identifier{p.Query().Get("search_path")}.Sanitize()
}

// A log written in the layout of schema 3, one row per entry, is moved
// into segments whole: every record, correction, checkpoint and proof is
// as it was, ledger.Verify passes, and the log grows on from there.
func TestMigrateToSegments(t *testing.T) {
	ctx := context.Background()
	skey, vkey, err := note.GenerateKey(rand.Reader, "test.example")
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	verifier, _ := note.NewVerifier(vkey)
	openLedger := func(s waarborg.Store) *ledger.Ledger {
		return ledger.Open(ledger.Config{Store: s, Signer: signer, Deployment: "test.example"})
	}
	appendN := func(l *ledger.Ledger, tenant string, from, n int) {
		t.Helper()
		var recs []*waarborg.Record
		for i := from; i < from+n; i++ {
			recs = append(recs, storetest.Record(t, tenant, fmt.Sprintf("%s-%04d", tenant, i), i))
		}
		if tenant == "acme" {
			line := fmt.Sprintf(`{"id":"fix-%d","tenant":"acme","source":"corp/mes","type":"correction","time":"2026-03-02T06:00:00Z","actor":"qa","data":{"corrects":"acme-0001","type":"historian.sample","reason":"sensor swap","data":{"tag":"t1","value":7}}}`, from)
			r, err := waarborg.ParseRecord([]byte(line))
			if err != nil {
				t.Fatal(err)
			}
			recs[len(recs)/2] = r
		}
		res, err := l.Append(ctx, recs)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range res {
			if r.Outcome != ledger.Accepted {
				t.Fatalf("%s: %v", recs[i].ID, r.Outcome)
			}
		}
	}

	// The log as waarborg writes it, to copy into schema 3 and compare.
	refURL := servicetest.PostgresSchema(t)
	ref, err := postgres.Open(ctx, refURL)
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	l := openLedger(ref)
	sizes := map[string]int{"acme": 64*3 + 17, "beta": 64, "gamma": 5}
	for tenant, n := range sizes {
		for from := 0; from < n; from += 50 {
			appendN(l, tenant, from, min(50, n-from))
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	conn, oldURL := schema3(t)
	from := schemaOf(t, refURL)
	for _, q := range []string{
		"INSERT INTO tenants (id, name, size, checkpointed) SELECT id, name, size, checkpointed FROM %s.tenants",
		"INSERT INTO tiles SELECT * FROM %s.tiles",
		"INSERT INTO checkpoints SELECT * FROM %s.checkpoints",
		"INSERT INTO corrections SELECT * FROM %s.corrections",
		"INSERT INTO cosignatures SELECT * FROM %s.cosignatures",
	} {
		exec(t, conn, fmt.Sprintf(q, from))
	}
	want := map[string][]waarborg.Stored{}
	for tenant, n := range sizes {
		var rows [][]any
		for st, err := range ref.Records(ctx, tenant, 0, 1<<40) {
			if err != nil {
				t.Fatal(err)
			}
			want[tenant] = append(want[tenant], *st)
			rows = append(rows, []any{int32(0), int64(st.Index), st.ID, st.ReceivedAt.UnixMilli(), st.Hash[:], st.Canonical})
		}
		if len(rows) != n {
			t.Fatalf("%s: %d entries, want %d", tenant, len(rows), n)
		}
		var tid int32
		if err := conn.QueryRow(ctx, "SELECT id FROM tenants WHERE name = $1", tenant).Scan(&tid); err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			r[0] = tid
		}
		if _, err := conn.CopyFrom(ctx, pgx.Identifier{"entries"}, []string{"tenant", "idx", "id", "received_at", "hash", "canonical"}, pgx.CopyFromRows(rows)); err != nil {
			t.Fatal(err)
		}
	}

	db, err := postgres.Open(ctx, oldURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var entries bool
	if err := conn.QueryRow(ctx, "SELECT to_regclass('entries') IS NOT NULL").Scan(&entries); err != nil || entries {
		t.Errorf("the entries table is still there (%v)", err)
	}
	same := func(a, b *waarborg.Stored) bool {
		return a.Tenant == b.Tenant && a.ID == b.ID && a.Index == b.Index && a.ReceivedAt.Equal(b.ReceivedAt) &&
			a.Hash == b.Hash && bytes.Equal(a.Canonical, b.Canonical)
	}
	l = openLedger(db)
	defer l.Close()
	for tenant, n := range sizes {
		i := 0
		for st, err := range db.Records(ctx, tenant, 0, 1<<40) {
			if err != nil {
				t.Fatal(err)
			}
			if i >= n || !same(st, &want[tenant][i]) {
				t.Fatalf("%s: entry %d is %+v after the migration", tenant, i, st)
			}
			i++
		}
		if i != n {
			t.Errorf("%s: %d entries after the migration, want %d", tenant, i, n)
		}
		if size, err := db.Size(ctx, tenant); err != nil || size != uint64(n) {
			t.Errorf("%s: Size = %d, %v", tenant, size, err)
		}
		for _, w := range want[tenant] {
			st, err := db.Record(ctx, tenant, w.ID)
			if err != nil || !same(st, &w) {
				t.Fatalf("%s: Record(%s) = %+v, %v", tenant, w.ID, st, err)
			}
			p, err := l.Inclusion(ctx, tenant, w.ID, 0)
			if err != nil {
				t.Fatal(err)
			}
			if err := ledger.CheckInclusion(p, verifier); err != nil {
				t.Errorf("%s: inclusion of %s: %v", tenant, w.ID, err)
			}
		}
		got, err := db.Checkpoints(ctx, tenant)
		if err != nil {
			t.Fatal(err)
		}
		cps, err := ref.Checkpoints(ctx, tenant)
		if err != nil || len(got) != len(cps) {
			t.Fatalf("%s: %d checkpoints after the migration, want %d (%v)", tenant, len(got), len(cps), err)
		}
		for i := range cps {
			if got[i].Size != cps[i].Size || !bytes.Equal(got[i].Note, cps[i].Note) {
				t.Errorf("%s: checkpoint %d differs", tenant, cps[i].Size)
			}
		}
		if p, err := l.Consistency(ctx, tenant, cps[0].Size, cps[len(cps)-1].Size); err != nil || ledger.CheckConsistency(p, verifier) != nil {
			t.Errorf("%s: consistency proof after the migration: %v", tenant, err)
		}
		rep, err := ledger.Verify(ctx, db, tenant, verifier, "test.example")
		if err != nil || len(rep.Problems) != 0 || rep.Entries != uint64(n) {
			t.Errorf("%s: Verify = %+v, %v", tenant, rep, err)
		}
	}
	wantFixes, _ := ref.Corrections(ctx, "acme", "acme-0001")
	if fixes, err := db.Corrections(ctx, "acme", "acme-0001"); err != nil || len(fixes) != 5 || !slices.Equal(fixes, wantFixes) {
		t.Errorf("Corrections = %v, %v; want %v", fixes, err, wantFixes)
	}

	// The partial last segments grow on, and re-sends are told apart.
	appendN(l, "acme", sizes["acme"], 100)
	appendN(l, "beta", sizes["beta"], 3)
	res, err := l.Append(ctx, []*waarborg.Record{storetest.Record(t, "gamma", "gamma-0002", 2), storetest.Record(t, "gamma", "gamma-0003", -1)})
	if err != nil || res[0].Outcome != ledger.Duplicate || res[1].Outcome != ledger.Conflict {
		t.Errorf("re-sends after the migration: %+v, %v", res, err)
	}
	if _, err := l.Sync(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Sync(ctx, "beta"); err != nil {
		t.Fatal(err)
	}
	for tenant, n := range map[string]int{"acme": sizes["acme"] + 100, "beta": sizes["beta"] + 3} {
		rep, err := ledger.Verify(ctx, db, tenant, verifier, "test.example")
		if err != nil || len(rep.Problems) != 0 || rep.Entries != uint64(n) {
			t.Errorf("%s: Verify after appending = %+v, %v", tenant, rep, err)
		}
	}
}

// A log that cannot be moved whole stays where it is: the migration stops,
// names the entry, and changes nothing.
func TestMigrateToSegmentsRefuses(t *testing.T) {
	ctx := context.Background()
	hash := bytes.Repeat([]byte{1}, 32)
	tests := []struct {
		name    string
		size    int
		entries [][]any // idx, id, hash, canonical
		want    string
	}{
		{"gap", 2, [][]any{{0, "a", hash, []byte("{}")}, {2, "b", hash, []byte("{}")}}, "is not whole"},
		{"short", 3, [][]any{{0, "a", hash, []byte("{}")}, {1, "b", hash, []byte("{}")}}, "is not whole"},
		{"newline in the content", 2, [][]any{{0, "a", hash, []byte("{}")}, {1, "b", hash, []byte("{\n}")}}, "entry 1 of tenant acme was changed"},
		{"hash cut short", 1, [][]any{{0, "a", hash[:31], []byte("{}")}}, "entry 0 of tenant acme was changed"},
		{"tab in an id", 1, [][]any{{0, "a\tb", hash, []byte("{}")}}, "entry 0 of tenant acme was changed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conn, u := schema3(t)
			exec(t, conn, "INSERT INTO tenants (id, name, size) VALUES (1, 'acme', $1)", tc.size)
			for _, e := range tc.entries {
				exec(t, conn, "INSERT INTO entries (tenant, idx, id, received_at, hash, canonical) VALUES (1, $1, $2, 0, $3, $4)", e...)
			}
			db, err := postgres.Open(ctx, u)
			if err == nil {
				db.Close()
				t.Fatal("the migration moved a log that is not whole")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			var n int
			if err := conn.QueryRow(ctx, "SELECT count(*) FROM entries").Scan(&n); err != nil || n != len(tc.entries) {
				t.Errorf("%d entries left, %v; want %d", n, err, len(tc.entries))
			}
		})
	}
}

// Segments are kept as 0004_segments.sql chose by measuring: compressed
// with lz4 in the row, on a server that has lz4 (Debian's has).
func TestSegmentStorage(t *testing.T) {
	ctx := context.Background()
	u := servicetest.PostgresSchema(t)
	db, err := postgres.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var storage, compression string
	err = conn.QueryRow(ctx, `SELECT attstorage::text, attcompression::text FROM pg_attribute
		WHERE attrelid = 'segments'::regclass AND attname = 'entries'`).Scan(&storage, &compression)
	if err != nil || storage != "m" || compression != "l" {
		t.Errorf("segments.entries: storage %q, compression %q, %v; want m (main), l (lz4)", storage, compression, err)
	}
}
