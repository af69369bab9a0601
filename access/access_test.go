package access_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/access"
	"github.com/waarborg/waarborg/assess"
	"github.com/waarborg/waarborg/controls"
	"github.com/waarborg/waarborg/ledger"
	"github.com/waarborg/waarborg/monitor"
	"github.com/waarborg/waarborg/sqlite"
)

type fixture struct {
	store *sqlite.DB
	l     *ledger.Ledger
	mon   *monitor.Service
	b     *access.Backend
}

var now = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	skey, vkey, _ := note.GenerateKey(rand.Reader, "test.example")
	signer, _ := note.NewSigner(skey)
	verifier, _ := note.NewVerifier(vkey)
	l := ledger.Open(ledger.Config{Store: store, Signer: signer, Deployment: "test.example"})
	t.Cleanup(func() { l.Close() })
	var recs []*waarborg.Record
	for _, tenant := range []string{"acme", "beta"} {
		for i := range 3 {
			line := fmt.Sprintf(`{"id":"%s-%d","tenant":%q,"source":"ede/line-1/scada","type":"batch.end","time":"2026-03-01T06:00:00Z","data":{"batch_id":"b%d","line":"line-1","quantity_good":10,"quantity_scrap":0,"unit":"pcs"}}`, tenant, i, tenant, i)
			r, err := waarborg.ParseRecord([]byte(line))
			if err != nil {
				t.Fatal(err)
			}
			recs = append(recs, r)
		}
	}
	if _, err := l.Append(ctx, recs); err != nil {
		t.Fatal(err)
	}
	for _, tenant := range []string{"acme", "beta"} {
		if _, err := l.Sync(ctx, tenant); err != nil {
			t.Fatal(err)
		}
	}
	mon := monitor.New(monitor.Config{Store: store, From: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), Now: func() time.Time { return now }})
	if err := mon.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	b := &access.Backend{Store: store, Ledger: l, Monitor: mon, Now: func() time.Time { return now },
		Log: assess.Log{Store: store, Ledger: l, Verifier: verifier, Deployment: "test.example"}}
	return &fixture{store: store, l: l, mon: mon, b: b}
}

func person(role string, tenants ...string) access.Principal {
	return access.Principal{User: &waarborg.User{Name: "p-" + role, Role: role, Tenants: tenants}}
}

func token(scope, tenant string) access.Principal {
	return access.Principal{Token: &waarborg.Token{ID: "t1", Scope: scope, Tenant: tenant}}
}

// accessRecords returns the evidence.access records of a tenant's log.
func (f *fixture) accessRecords(t *testing.T, tenant string) []*waarborg.Record {
	t.Helper()
	ctx := context.Background()
	n, err := f.store.Size(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	var out []*waarborg.Record
	for st, err := range f.store.Records(ctx, tenant, 0, n) {
		if err != nil {
			t.Fatal(err)
		}
		r, err := waarborg.ParseRecord(st.Canonical)
		if err != nil {
			t.Fatal(err)
		}
		if r.Type == "evidence.access" {
			out = append(out, r)
		}
	}
	return out
}

func code(err error) string { return waarborg.ErrorCode(err) }

// A view of tenant acme reaches nothing of beta, by any road.
func TestIsolation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, p := range []access.Principal{
		person(waarborg.RoleAdmin, "acme"), person(waarborg.RoleAuditor, "acme"),
		token(waarborg.ScopeRead, "acme"), token(waarborg.ScopeIngest, "acme"),
	} {
		t.Run(p.Name(), func(t *testing.T) {
			v := f.b.View(p)
			if _, err := v.Tenant("beta"); code(err) != waarborg.ENOTFOUND {
				t.Errorf("Tenant(beta): %v", err)
			}
			var zero access.Tenant
			if _, err := v.Inclusion(ctx, zero, "beta-0", 0); code(err) != waarborg.ENOTFOUND {
				t.Errorf("Inclusion with the zero tenant: %v", err)
			}
			s := v.Store()
			if ts, err := s.Tenants(ctx); err != nil || slices.Contains(ts, "beta") {
				t.Errorf("Tenants = %v, %v", ts, err)
			}
			checks := map[string]error{}
			_, checks["Size"] = s.Size(ctx, "beta")
			_, checks["Record"] = s.Record(ctx, "beta", "beta-0")
			_, checks["Corrections"] = s.Corrections(ctx, "beta", "beta-0")
			_, checks["Checkpoints"] = s.Checkpoints(ctx, "beta")
			_, checks["Checkpoint"] = s.Checkpoint(ctx, "beta", 0)
			_, checks["Tiles"] = s.Tiles(ctx, "beta", []waarborg.TileID{{Level: 0, Index: 0}})
			_, checks["CheckpointsBefore"] = s.(waarborg.CheckpointPages).CheckpointsBefore(ctx, "beta", 0, 10)
			for _, err := range s.Records(ctx, "beta", 0, 10) {
				checks["Records"] = err
				break
			}
			for name, err := range checks {
				if code(err) != waarborg.ENOTFOUND {
					t.Errorf("%s of beta: %v, want not_found", name, err)
				}
			}
			if err := s.Update(ctx, func(waarborg.Tx) error { return nil }); code(err) != waarborg.EFORBIDDEN {
				t.Errorf("Update: %v", err)
			}
			beta, _ := waarborg.ParseRecord([]byte(`{"id":"x","tenant":"beta","source":"ede/x","type":"change.approve","time":"2026-03-01T06:00:00Z","data":{"change_id":"c"}}`))
			if _, err := v.Append(ctx, []*waarborg.Record{beta}); code(err) != waarborg.EFORBIDDEN {
				t.Errorf("Append of a beta record: %v", err)
			}
		})
	}
	if n, _ := f.store.Size(ctx, "beta"); n != 3 {
		t.Errorf("beta's log has %d entries, want its 3", n)
	}
	if recs := f.accessRecords(t, "beta"); len(recs) != 0 {
		t.Errorf("beta's log holds access records: %v", recs)
	}
}

// A person's look at evidence is in the tenant's log before it is shown;
// a machine's is not recorded.
func TestAccessRecorded(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	aud := f.b.View(person(waarborg.RoleAuditor, "acme"))
	acme, err := aud.Tenant("acme")
	if err != nil {
		t.Fatal(err)
	}
	p, err := aud.Inclusion(ctx, acme, "acme-1", 0)
	if err != nil || p.ID != "acme-1" {
		t.Fatalf("Inclusion: %+v, %v", p, err)
	}
	if _, err := aud.Inclusion(ctx, acme, "nope", 0); code(err) != waarborg.ENOTFOUND {
		t.Errorf("Inclusion of a missing record: %v", err)
	}
	proofs, err := aud.Proofs(ctx, acme, "exception/PC-06/acme-2", []string{"acme-2", "missing", "acme-0"})
	if err != nil || proofs[0] == nil || proofs[1] != nil || proofs[2] == nil {
		t.Fatalf("Proofs: %v, %v", proofs, err)
	}
	if err := aud.Accessed(ctx, acme, "download", "bundle/2026-03-01/2026-03-02", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := aud.Consistency(ctx, acme, 3, 3); err != nil {
		t.Fatal(err)
	}
	recs := f.accessRecords(t, "acme")
	var got []string
	for _, r := range recs {
		var ids []string
		if v, ok := r.Data.Get("records"); ok {
			for _, e := range v.Items {
				ids = append(ids, e.Str)
			}
		}
		got = append(got, fmt.Sprintf("%s %s %s %s [%s]", r.Actor, r.Source, r.Str("action"), r.Str("object"), strings.Join(ids, " ")))
		if !r.Time.Equal(now) {
			t.Errorf("access record time %s, want %s", r.Time, now)
		}
	}
	want := []string{
		"p-auditor waarborg/web view record/acme-1 [acme-1]",
		"p-auditor waarborg/web view exception/PC-06/acme-2 [acme-2 acme-0]",
		"p-auditor waarborg/web download bundle/2026-03-01/2026-03-02 []",
		"p-auditor waarborg/web view consistency/3/3 []",
	}
	if !slices.Equal(got, want) {
		t.Errorf("access records:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	tok := f.b.View(token(waarborg.ScopeRead, "acme"))
	if _, err := tok.Inclusion(ctx, acme, "acme-1", 0); err != nil {
		t.Fatal(err)
	}
	if n := len(f.accessRecords(t, "acme")); n != len(want) {
		t.Errorf("a token's read added access records: %d", n)
	}
	// An ingest token reads nothing.
	ing := f.b.View(token(waarborg.ScopeIngest, "acme"))
	if _, err := ing.Inclusion(ctx, acme, "acme-1", 0); code(err) != waarborg.EFORBIDDEN {
		t.Errorf("ingest token reads a proof: %v", err)
	}
	// No control but LM-03 (every ledger entry) counts access records.
	before := f.mon.Snapshot("acme")
	if err := f.mon.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	after := f.mon.Snapshot("acme")
	for i, c := range after.Controls {
		b := before.Controls[i]
		switch {
		case c.ID == "LM-03" && c.Population != b.Population+len(want):
			t.Errorf("LM-03 counts %d entries, want %d + %d", c.Population, b.Population, len(want))
		case c.ID != "LM-03" && (c.Population != b.Population || c.Exceptions != b.Exceptions):
			t.Errorf("%s moved: population %d → %d, exceptions %d → %d", c.ID, b.Population, c.Population, b.Exceptions, c.Exceptions)
		}
	}
}

func TestActions(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	tests := []struct {
		name   string
		p      access.Principal
		action string
		code   string
	}{
		{"auditor explains", person(waarborg.RoleAuditor, "acme"), "explain", waarborg.EFORBIDDEN},
		{"auditor accepts", person(waarborg.RoleAuditor, "acme"), "accept", waarborg.EFORBIDDEN},
		{"engineer explains", person(waarborg.RoleEngineer, "acme"), "explain", ""},
		{"engineer accepts", person(waarborg.RoleEngineer, "acme"), "accept", waarborg.EFORBIDDEN},
		{"compliance accepts", person(waarborg.RoleCompliance, "acme"), "accept", ""},
		{"read token explains", token(waarborg.ScopeRead, "acme"), "explain", waarborg.EFORBIDDEN},
		{"disabled admin", access.Principal{User: &waarborg.User{Name: "x", Role: waarborg.RoleAdmin, Tenants: []string{"acme"}, Disabled: true}}, "explain", waarborg.ENOTFOUND},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := f.b.View(tt.p)
			acme, err := v.Tenant("acme")
			if err != nil {
				if tt.code != waarborg.ENOTFOUND {
					t.Fatal(err)
				}
				return
			}
			rec, err := v.Act(ctx, acme, "PC-06", "acme-0", tt.action, "because")
			if code(err) != tt.code {
				t.Fatalf("Act: %v, want code %q", err, tt.code)
			}
			if err == nil && rec.Actor != tt.p.User.Name {
				t.Errorf("actor %q, want the person %q", rec.Actor, tt.p.User.Name)
			}
		})
	}
	// The action shows at once in the snapshot.
	v := f.b.View(person(waarborg.RoleCompliance, "acme"))
	acme, _ := v.Tenant("acme")
	snap, err := v.Snapshot(acme)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range snap.Exceptions {
		if e.Control == "PC-06" && e.Subject == "acme-0" && e.Status != controls.StatusAccepted {
			t.Errorf("status %q after accept", e.Status)
		}
	}
}

func TestTenants(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	all, err := f.b.View(person(waarborg.RoleAdmin, waarborg.AllTenants)).Tenants(ctx)
	if err != nil || !slices.Equal(all, []string{"acme", "beta"}) {
		t.Errorf("all tenants: %v, %v", all, err)
	}
	named, _ := f.b.View(person(waarborg.RoleEngineer, "acme", "gamma")).Tenants(ctx)
	if !slices.Equal(named, []string{"acme", "gamma"}) {
		t.Errorf("named tenants: %v", named)
	}
	if ts, _ := f.b.View(token(waarborg.ScopeMetrics, "")).Tenants(ctx); len(ts) != 0 {
		t.Errorf("metrics token tenants: %v", ts)
	}
}
