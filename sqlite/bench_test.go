package sqlite_test

import (
	"bufio"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/sqlite"
)

// BenchmarkRawInsert is the baseline of ingest figures: the same rows as
// `waarborg ingest` writes for WAARBORG_BENCH_FILE, inserted with one
// prepared single-row INSERT in transactions of 16384 into the same schema
// with the same pragmas: no parsing, hashing, dedup or ledger.
func BenchmarkRawInsert(b *testing.B) {
	file := os.Getenv("WAARBORG_BENCH_FILE")
	if file == "" {
		b.Skip("set WAARBORG_BENCH_FILE to a JSON Lines file (make bench does)")
	}
	recs := readRecords(b, file)
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		path := filepath.Join(b.TempDir(), "raw.db")
		db, err := sqlite.Open(ctx, path) // creates the schema with its pragmas
		if err != nil {
			b.Fatal(err)
		}
		db.Close()
		raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=cache_size(-131072)")
		if err != nil {
			b.Fatal(err)
		}
		raw.SetMaxOpenConns(1)
		b.StartTimer()
		const batch = 16384
		for i := 0; i < len(recs); i += batch {
			tx, err := raw.Begin()
			if err != nil {
				b.Fatal(err)
			}
			st, err := tx.Prepare("INSERT INTO records (pos, tenant, idx, id, received_at, type, time, hash, content) VALUES (?,?,?,?,?,?,?,?,?)")
			if err != nil {
				b.Fatal(err)
			}
			for j := i; j < min(i+batch, len(recs)); j++ {
				r := recs[j]
				h := r.Hash()
				if _, err := st.Exec(1<<40|int64(j), 1, int64(j), r.ID, int64(1e12), r.Type, r.Time.UnixMilli(), h[:], r.Canonical); err != nil {
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

func readRecords(b *testing.B, file string) []*waarborg.Record {
	f, err := os.Open(file)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var recs []*waarborg.Record
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		r, err := waarborg.ParseRecord(sc.Bytes())
		if err != nil {
			b.Fatal(err)
		}
		recs = append(recs, r)
	}
	return recs
}
