package postgres_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/postgres"
	"github.com/waarborg/waarborg/recordtest"
	"github.com/waarborg/waarborg/servicetest"
)

// BenchmarkRawCopy is the baseline of PostgreSQL ingest figures: the
// records of WAARBORG_BENCH_FILE, already parsed and hashed, copied with
// COPY into a plain table of one row per record (id unique per tenant,
// content, hash, receipt time), in committed transactions of 32768 rows,
// the ledger's largest group commit: what a table of records costs on this
// server, with no dedup logic, tree or checkpoints.
func BenchmarkRawCopy(b *testing.B) {
	recs := benchRecords(b)
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		conn, err := pgx.Connect(ctx, servicetest.PostgresSchema(b))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := conn.Exec(ctx, `CREATE TABLE records (tenant integer NOT NULL, idx bigint NOT NULL, id text COLLATE "C" NOT NULL,
			received_at bigint NOT NULL, hash bytea NOT NULL, content bytea NOT NULL, PRIMARY KEY (tenant, idx), UNIQUE (tenant, id))`); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		const batch = 32768
		row := make([]any, 6)
		for i := 0; i < len(recs); i += batch {
			part := recs[i:min(i+batch, len(recs))]
			err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
				_, err := tx.CopyFrom(ctx, pgx.Identifier{"records"}, []string{"tenant", "idx", "id", "received_at", "hash", "content"},
					pgx.CopyFromSlice(len(part), func(j int) ([]any, error) {
						r := part[j]
						h := r.Hash()
						row[0], row[1], row[2], row[3], row[4], row[5] = int32(1), int64(i+j), r.ID, int64(1e12), h[:], r.Canonical
						return row, nil
					}))
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		conn.Close(ctx)
		b.StartTimer()
	}
	b.ReportMetric(float64(len(recs))*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkAdd measures the store's share of ingest: the records of
// WAARBORG_BENCH_FILE, already parsed and hashed, appended with Tx.Add in
// committed transactions of 32768, as BenchmarkRawCopy copies them, with
// no tree or checkpoints.
func BenchmarkAdd(b *testing.B) {
	recs := benchRecords(b)
	ctx := context.Background()
	received := time.Now()
	for b.Loop() {
		b.StopTimer()
		db, err := postgres.Open(ctx, servicetest.PostgresSchema(b))
		if err != nil {
			b.Fatal(err)
		}
		ps := make([]*waarborg.Pending, len(recs))
		for i, r := range recs {
			ps[i] = &waarborg.Pending{Record: r, Hash: r.Hash(), ReceivedAt: received}
		}
		b.StartTimer()
		const batch = 32768
		for i := 0; i < len(ps); i += batch {
			err := db.Update(ctx, func(tx waarborg.Tx) error { return tx.Add("acme", uint64(i), ps[i:min(i+batch, len(ps))]) })
			if err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		db.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(len(recs))*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// benchRecords reads the records of WAARBORG_BENCH_FILE.
func benchRecords(b *testing.B) []*waarborg.Record {
	file := os.Getenv("WAARBORG_BENCH_FILE")
	if file == "" {
		b.Skip("set WAARBORG_BENCH_FILE to a JSON Lines file (make bench does)")
	}
	return recordtest.MustRead(b, file)
}
