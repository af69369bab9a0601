package monitor_test

import (
	"context"
	"crypto/rand"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/ledger"
	"github.com/waarborg/waarborg/monitor"
	"github.com/waarborg/waarborg/sim"
	"github.com/waarborg/waarborg/sqlite"
)

// BenchmarkTick measures the continuous path: each iteration appends 20,000
// new records of a simulated 3-site plant and times the Tick that reads,
// parses and evaluates them on top of what came before. records/s is what
// the monitor keeps up with; it must stay above the 20,000 a second of a
// busy feed.
func BenchmarkTick(b *testing.B) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "db"))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	skey, _, _ := note.GenerateKey(rand.Reader, "bench.example")
	signer, _ := note.NewSigner(skey)
	l := ledger.Open(ledger.Config{Store: store, Signer: signer, Deployment: "bench.example"})
	defer l.Close()

	cfg := sim.Year3Sites("acme", 1)
	recs := make(chan *waarborg.Record, 1024)
	go func() {
		defer close(recs)
		sim.Generate(cfg, func(line []byte) error {
			r, err := waarborg.ParseRecord(line)
			if err != nil {
				return err
			}
			recs <- r
			return nil
		})
	}()
	const perTick = 20_000
	next := func() []*waarborg.Record {
		batch := make([]*waarborg.Record, 0, perTick)
		for r := range recs {
			if batch = append(batch, r); len(batch) == perTick {
				break
			}
		}
		return batch
	}
	m := monitor.New(monitor.Config{Store: store, From: cfg.From, Now: func() time.Time { return cfg.To }})
	// A month of history first, read once.
	for range 12 {
		if _, err := l.Append(ctx, next()); err != nil {
			b.Fatal(err)
		}
	}
	if err := m.Tick(ctx); err != nil {
		b.Fatal(err)
	}
	var ticked time.Duration
	n := 0
	for b.Loop() {
		batch := next()
		if len(batch) == 0 {
			b.Fatal("the simulated year ran out")
		}
		b.StopTimer()
		if _, err := l.Append(ctx, batch); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		if err := m.Tick(ctx); err != nil {
			b.Fatal(err)
		}
		ticked += time.Since(start)
		n += len(batch)
	}
	b.ReportMetric(float64(n)/ticked.Seconds(), "records/s")
}
