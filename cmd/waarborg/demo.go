package main

import (
	"context"
	"crypto/rand"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/auth"
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

	logins, err := demoUsers(ctx, d, cfg.Tenant)
	if err != nil {
		d.Close()
		return err
	}
	if err := demoProfile(d, cfg.Tenant); err != nil {
		d.Close()
		return err
	}
	live := sim.NewLive(cfg, time.Now())
	ready := func(url string) {
		key, _ := verifierKeyText(d)
		fmt.Fprintf(e.stdout, `
waarborg demo is running; the plant keeps producing. Sign in at %[1]s/ as
  %[3]s
verifier key: %[2]s
The API takes tokens: waarborg token add --data %[4]s --scope read --tenant %[5]s --name curl
Stop with Ctrl-C.
`, url, key, strings.Join(logins, "\n  "), *dir, cfg.Tenant)
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
	// Exceptions are monitored over the simulated days, not the months of
	// the year before the plant's history begins.
	return serveData(ctx, e, d, serveConfig{addr: *addr, maxBody: web.DefaultMaxBody, monitorFrom: cfg.From}, logger, ready)
}

// demoUsers adds the demo's admin (of every tenant) and auditor (of the
// demo tenant, read-only) with new random passwords, and returns their
// logins as lines to print.
func demoUsers(ctx context.Context, d *data, tenant string) ([]string, error) {
	users := []struct {
		name, role, tenant, what string
	}{
		{"demo-admin", waarborg.RoleAdmin, waarborg.AllTenants, "admin of every tenant"},
		{"demo-auditor", waarborg.RoleAuditor, tenant, "auditor of " + tenant + ", read-only"},
	}
	var logins []string
	for _, du := range users {
		password, err := demoPassword()
		if err != nil {
			return nil, err
		}
		hash, err := auth.HashPassword(password, auth.Default)
		if err != nil {
			return nil, err
		}
		u := &waarborg.User{Name: du.name, Role: du.role, Tenants: []string{du.tenant}, Password: hash, Created: time.Now().UTC()}
		if err := d.users.AddUser(ctx, u); err != nil {
			return nil, err
		}
		logins = append(logins, fmt.Sprintf("%-13s password %s   (%s)", du.name, password, du.what))
	}
	return logins, nil
}

// demoPassword returns 16 random characters that read unambiguously.
func demoPassword() (string, error) {
	const alphabet = "abcdefghjkmnpqrstuvwxyzACDEFGHJKLMNPQRSTUVWXYZ23456789"
	out := make([]byte, 0, 16)
	var b [32]byte
	for len(out) < 16 {
		if _, err := rand.Read(b[:]); err != nil {
			return "", err
		}
		for _, c := range b {
			// Only bytes below a multiple of the alphabet's size, so that
			// every character is equally likely.
			if int(c) < 256-256%len(alphabet) && len(out) < 16 {
				out = append(out, alphabet[int(c)%len(alphabet)])
			}
		}
	}
	return string(out), nil
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

// demoProfileJSON is the simulated service organisation's statement about
// the demo tenant, for the reports page.
//
//go:embed demoprofile.json
var demoProfileJSON []byte

// demoProfile puts the demo tenant's profile in the data directory, unless
// one is there already.
func demoProfile(d *data, tenant string) error {
	dir := filepath.Join(d.dir, profilesDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(dir, tenant+".json"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	_, err = f.Write(demoProfileJSON)
	return errors.Join(err, f.Close())
}
