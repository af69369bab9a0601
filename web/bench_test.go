package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/auth"
	"github.com/waarborg/waarborg/monitor"
	"github.com/waarborg/waarborg/sim"
)

// BenchmarkPages measures the server time of each page — the handler
// alone, no network — on the simulator's plant: by default 30 days
// (about 250,000 records); WAARBORG_BENCH_DAYS=365 gives the whole year
// of 3 million records (docs/performance.md). The background indexes are
// warmed first: the figures are of a server that has been up a while.
func BenchmarkPages(b *testing.B) {
	days := 30
	if v := os.Getenv("WAARBORG_BENCH_DAYS"); v != "" {
		days, _ = strconv.Atoi(v)
	}
	f := newFixture(b, 0)
	ctx := context.Background()
	cfg := sim.Year3Sites("acme-foods", 1)
	cfg.To = cfg.From.AddDate(0, 0, days)
	start := time.Now()
	var batch []*waarborg.Record
	flush := func() {
		if _, err := f.ledger.Append(ctx, batch); err != nil {
			b.Fatal(err)
		}
		batch = batch[:0]
	}
	n := 0
	err := sim.Generate(cfg, func(line []byte) error {
		r, err := waarborg.ParseRecord(line)
		if err != nil {
			return err
		}
		batch = append(batch, r)
		n++
		if len(batch) == 16384 {
			flush()
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	flush()
	if _, err := f.ledger.Sync(ctx, cfg.Tenant); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d records of %d days ingested in %s", n, days, time.Since(start).Round(time.Second))

	start = time.Now()
	now := cfg.To.Add(-time.Hour)
	mon := monitor.New(monitor.Config{Store: f.store, From: cfg.From, Now: func() time.Time { return now }})
	if err := mon.Tick(ctx); err != nil {
		b.Fatal(err)
	}
	snap := mon.Snapshot(cfg.Tenant)
	b.Logf("monitor read the log in %s: %d exceptions", time.Since(start).Round(time.Second), len(snap.Exceptions))
	deps := f.deps
	deps.Monitor, deps.Reporter, deps.ReportDir = mon, fakeReporter, b.TempDir()
	deps.Logger = nil
	deps.Now = func() time.Time { return now }
	h := NewServer(deps)

	hash, _ := auth.HashPassword("password of ann", auth.Cheap)
	u := &waarborg.User{Name: "ann", Role: waarborg.RoleCompliance, Tenants: []string{cfg.Tenant}, Password: hash}
	if err := f.users.AddUser(ctx, u); err != nil {
		b.Fatal(err)
	}
	rec := httptest.NewRecorder()
	login := httptest.NewRequest("POST", "/login", strings.NewReader(url.Values{"name": {"ann"}, "password": {"password of ann"}}.Encode()))
	login.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	h.ServeHTTP(rec, login)
	cookie := rec.Result().Cookies()[0]
	get := func(path string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", path, nil)
		req.AddCookie(cookie)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}

	// The exception with the most records: the page that proves the most.
	var worst *monitor.Exception
	for i := range snap.Exceptions {
		if e := &snap.Exceptions[i]; worst == nil || len(e.Records) > len(worst.Records) {
			worst = e
		}
	}
	cps, _ := f.store.Checkpoints(ctx, cfg.Tenant)
	pages := []struct{ name, path string }{
		{"overview", "/t/acme-foods/"},
		{"control", "/t/acme-foods/controls/" + worst.Control},
		{"control-filtered", "/t/acme-foods/controls/" + worst.Control + "?status=open&page=2"},
		{"exception", "/t/acme-foods/exceptions/" + worst.Control + "/" + url.PathEscape(worst.Subject)},
		{"record", "/t/acme-foods/records/" + url.PathEscape(worst.Records[0])},
		{"ledger", "/t/acme-foods/ledger"},
		{"consistency", "/t/acme-foods/ledger?from=" + strconv.FormatUint(cps[0].Size, 10) + "&to=" + strconv.FormatUint(cps[len(cps)-1].Size, 10)},
		{"sources", "/t/acme-foods/sources"},
		{"reports", "/t/acme-foods/reports"},
	}
	// Warm the indexes: the sources page reads the whole log once, the
	// overview looks up the time of every exception's record.
	start = time.Now()
	for deadline := time.Now().Add(10 * time.Minute); ; {
		v, err := warmIndexes(ctx, h, cfg.Tenant, snap)
		if err != nil {
			b.Fatal(err)
		}
		if v.Complete() && len(v.Times) == countSubjects(snap) {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("the indexes did not warm up")
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.Logf("indexes warmed in %s", time.Since(start).Round(100*time.Millisecond))
	for _, p := range pages {
		if rec := get(p.path); rec.Code != http.StatusOK {
			b.Fatalf("%s: %d %.300s", p.path, rec.Code, rec.Body.String())
		}
	}
	for _, p := range pages {
		b.Run(p.name, func(b *testing.B) {
			for b.Loop() {
				get(p.path)
			}
		})
	}
}

// warmIndexes asks for what the overview and sources pages need and
// returns how far the indexes are.
func warmIndexes(ctx context.Context, h http.Handler, tenant string, snap *monitor.Snapshot) (*indexView, error) {
	s := h.(*server)
	var subjects []string
	for _, e := range snap.Exceptions {
		subjects = append(subjects, e.Subject)
	}
	return s.index.get(ctx, s.backend.Store, tenant, subjects, time.Second, false)
}

func countSubjects(snap *monitor.Snapshot) int {
	seen := map[string]bool{}
	for _, e := range snap.Exceptions {
		seen[e.Subject] = true
	}
	return len(seen)
}
