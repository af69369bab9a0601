package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/sim"
	"github.com/waarborg/waarborg/web"
)

// cmdDemo simulates a plant: it ingests a seeded history of the last days,
// serves the data directory, and keeps appending what the plant does live.
func cmdDemo(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	dir := fs.String("data", "", "data `directory` (default: a new temporary one)")
	db := fs.String("db", e.getenv("WAARBORG_DB"), "PostgreSQL database `url` (env WAARBORG_DB) instead of the data directory's SQLite file")
	addr := fs.String("addr", "127.0.0.1:8080", "listen `address`")
	days := fs.Int("days", 30, "days of history before today")
	seed := fs.Int64("seed", 1, "random seed of the plant")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || *days < 1 {
		return errUsage
	}
	if *dir == "" {
		tmp, err := os.MkdirTemp("", "waarborg-demo-")
		if err != nil {
			return err
		}
		*dir = tmp
	}
	logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	d, err := openData(ctx, &location{dir: *dir, db: *db}, logger)
	if err != nil {
		return err
	}
	today := time.Now().UTC().Truncate(24 * time.Hour)
	cfg := sim.Config{
		Tenant: "acme-foods", Sites: []string{"ede", "venlo", "gent"}, LinesPerSite: 2,
		From: today.AddDate(0, 0, -*days), To: today, Seed: *seed, ProblemRate: 0.01,
	}
	if n, err := d.store.Size(ctx, cfg.Tenant); err != nil {
		d.Close()
		return err
	} else if n > 0 {
		d.Close()
		return fmt.Errorf("%s holds a demo already: give a new --data directory", *dir)
	}

	fmt.Fprintf(e.stdout, "data directory: %s\n", *dir)
	fmt.Fprintf(e.stdout, "simulating %d days of %s (sites ede, venlo, gent)…\n", *days, cfg.Tenant)
	start := time.Now()
	app := &appender{ctx: ctx, d: d}
	if err := sim.Generate(cfg, app.add); err != nil {
		d.Close()
		return err
	}
	if err := app.flush(); err != nil {
		d.Close()
		return err
	}
	fmt.Fprintf(e.stdout, "ingested %d records in %.1fs\n", app.n, time.Since(start).Seconds())

	live := sim.NewLive(cfg, time.Now())
	ready := func(url string) {
		key, _ := verifierKeyText(d)
		fmt.Fprintf(e.stdout, `
waarborg demo is running; the plant keeps producing. Try:
  curl %[1]s/api/v1/tenants/acme-foods/checkpoint
  curl %[1]s/metrics
verifier key: %[2]s
Stop with Ctrl-C.
`, url, key)
		go func() {
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case now := <-t.C:
					if err := live.Next(now, app.add); err != nil {
						logger.Error("live plant", "err", err)
						return
					}
					if err := app.flush(); err != nil && ctx.Err() == nil {
						logger.Error("append live records", "err", err)
					}
				}
			}
		}()
	}
	return serveData(ctx, e, d, *addr, web.DefaultMaxBody, logger, ready)
}

// appender batches simulated lines into the ledger.
type appender struct {
	ctx  context.Context
	d    *data
	recs []*waarborg.Record
	n    int
}

func (a *appender) add(line []byte) error {
	r, err := waarborg.ParseRecord(line)
	if err != nil {
		return fmt.Errorf("simulator wrote an invalid record: %w", err)
	}
	a.recs = append(a.recs, r)
	if len(a.recs) >= chunkLines {
		return a.flush()
	}
	return nil
}

func (a *appender) flush() error {
	if len(a.recs) == 0 {
		return nil
	}
	if _, err := a.d.ledger.Append(a.ctx, a.recs); err != nil {
		return err
	}
	a.n += len(a.recs)
	a.recs = a.recs[:0]
	return nil
}
