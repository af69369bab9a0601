package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/recordtest"
	"github.com/waarborg/waarborg/sqlite"
)

// BenchmarkRawInsert is the baseline of ingest figures: the records of
// WAARBORG_BENCH_FILE, already parsed and hashed, inserted as one row each
// (id unique per tenant, content, hash, receipt time) with one prepared
// INSERT in transactions of 16384, with the store's pragmas: what a plain
// table of records costs, with no dedup logic, tree or checkpoints.
func BenchmarkRawInsert(b *testing.B) {
	file := os.Getenv("WAARBORG_BENCH_FILE")
	if file == "" {
		b.Skip("set WAARBORG_BENCH_FILE to a JSON Lines file (make bench does)")
	}
	recs := recordtest.MustRead(b, file)
	for b.Loop() {
		b.StopTimer()
		path := filepath.Join(b.TempDir(), "raw.db")
		raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=page_size(4096)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=cache_size(-524288)")
		if err != nil {
			b.Fatal(err)
		}
		raw.SetMaxOpenConns(1)
		if _, err := raw.Exec(`CREATE TABLE records (tenant INTEGER NOT NULL, idx INTEGER NOT NULL, id TEXT NOT NULL,
			received_at INTEGER NOT NULL, hash BLOB NOT NULL, content BLOB NOT NULL, PRIMARY KEY (tenant, idx));
			CREATE UNIQUE INDEX records_id ON records (tenant, id)`); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		const batch = 16384
		for i := 0; i < len(recs); i += batch {
			tx, err := raw.Begin()
			if err != nil {
				b.Fatal(err)
			}
			st, err := tx.Prepare("INSERT INTO records (tenant, idx, id, received_at, hash, content) VALUES (?,?,?,?,?,?)")
			if err != nil {
				b.Fatal(err)
			}
			for j := i; j < min(i+batch, len(recs)); j++ {
				r := recs[j]
				h := r.Hash()
				if _, err := st.Exec(1, int64(j), r.ID, int64(1e12), h[:], r.Canonical); err != nil {
					b.Fatal(err)
				}
			}
			st.Close()
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		raw.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(len(recs))*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkAdd measures the store's part of ingest alone: the records of
// WAARBORG_BENCH_FILE, parsed beforehand, added in transactions of 32768
// as the ledger's group commit does (ids, segments), without tree or
// checkpoints.
func BenchmarkAdd(b *testing.B) {
	file := os.Getenv("WAARBORG_BENCH_FILE")
	if file == "" {
		b.Skip("set WAARBORG_BENCH_FILE to a JSON Lines file (make bench does)")
	}
	recs := recordtest.MustRead(b, file)
	ctx := context.Background()
	received := time.UnixMilli(1e12)
	for b.Loop() {
		b.StopTimer()
		db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "w.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		const batch = 32768
		for i := 0; i < len(recs); i += batch {
			part := recs[i:min(i+batch, len(recs))]
			pending := make([]*waarborg.Pending, len(part))
			for j, r := range part {
				pending[j] = &waarborg.Pending{Record: r, Hash: r.Hash(), ReceivedAt: received}
			}
			if err := db.Update(ctx, func(tx waarborg.Tx) error { return tx.Add(part[0].Tenant, uint64(i), pending) }); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		db.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(len(recs))*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
