package monitor_test

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/ledger"
	"github.com/waarborg/waarborg/monitor"
	"github.com/waarborg/waarborg/storetest"
)

// onEachBackend runs a test on a ledger over each store.
func onEachBackend(t *testing.T, test func(t *testing.T, store waarborg.Store, l *ledger.Ledger)) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			store, l := open(t, b)
			test(t, store, l)
		})
	}
}

func open(t *testing.T, b storetest.Backend) (waarborg.Store, *ledger.Ledger) {
	t.Helper()
	store := b.Open(t)
	skey, _, err := note.GenerateKey(rand.Reader, "test.example")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	l := ledger.Open(ledger.Config{Store: store, Signer: signer, Deployment: "test.example"})
	t.Cleanup(func() { l.Close() })
	return store, l
}

func appendLines(t *testing.T, l *ledger.Ledger, lines ...string) {
	t.Helper()
	var recs []*waarborg.Record
	for _, line := range lines {
		r, err := waarborg.ParseRecord([]byte(line))
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	if _, err := l.Append(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
}

// The period ends at the start of tomorrow and moves on with the days, and
// a manual control's week fails only once it has ended.
func TestPeriodMovesOn(t *testing.T) {
	onEachBackend(t, func(t *testing.T, store waarborg.Store, l *ledger.Ledger) {
		now := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC) // a Wednesday
		m := monitor.New(monitor.Config{Store: store, From: monitor.DefaultFrom(now), Now: func() time.Time { return now }})
		appendLines(t, l, `{"id":"c1","tenant":"t","source":"ede/ops","type":"change.approve","time":"2026-03-04T09:00:00Z","actor":"a","data":{"change_id":"c"}}`)
		ctx := context.Background()
		if err := m.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		snap := m.Snapshot("t")
		if snap == nil || !snap.From.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) || !snap.To.Equal(time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC)) {
			t.Fatalf("snapshot %+v", snap)
		}
		// Every control has its figures, which agree with the exceptions.
		if len(snap.Controls) != 24 {
			t.Errorf("%d control summaries, want 24", len(snap.Controls))
		}
		for _, c := range snap.Controls {
			n := 0
			for _, e := range snap.Exceptions {
				if e.Control == c.ID {
					n++
				}
			}
			if c.Exceptions != n || (n > 0) != (c.Result == "exceptions") || c.Title == "" || c.Objective == "" {
				t.Errorf("summary %+v with %d exceptions", c, n)
			}
			if c.ID == "LM-03" && c.Population != 1 {
				t.Errorf("LM-03 population %d, want 1", c.Population)
			}
		}
		weeks := func() int {
			n := 0
			for _, e := range m.Snapshot("t").Exceptions {
				if e.Control == "LM-04" {
					n++
				}
			}
			return n
		}
		before := weeks()
		now = now.AddDate(0, 0, 6) // next Tuesday: one more week has ended
		if err := m.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if snap := m.Snapshot("t"); !snap.To.Equal(time.Date(2026, 3, 11, 0, 0, 0, 0, time.UTC)) || snap.Entries != 1 {
			t.Errorf("after a week: to %s, %d entries", snap.To, snap.Entries)
		}
		if after := weeks(); after != before+1 {
			t.Errorf("LM-04 exceptions %d, then %d: want one more week", before, after)
		}
	})
}

func TestActIDs(t *testing.T) {
	onEachBackend(t, func(t *testing.T, store waarborg.Store, l *ledger.Ledger) {
		now := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
		m := monitor.New(monitor.Config{Store: store, From: monitor.DefaultFrom(now), Now: func() time.Time { return now }})
		ctx := context.Background()
		// Someone else holds the first id already.
		appendLines(t, l, `{"id":"wf.LM-03.checkpoint_7.1","tenant":"t","source":"x","type":"change.approve","time":"2026-03-04T09:00:00Z","actor":"a","data":{"change_id":"c"}}`)
		for _, want := range []string{"wf.LM-03.checkpoint_7.2", "wf.LM-03.checkpoint_7.3"} {
			r, err := m.Act(ctx, l, "t", "LM-03", "checkpoint/7", monitor.Action{Action: "explain", Text: "restored from backup", Actor: "ann"})
			if err != nil {
				t.Fatal(err)
			}
			if r.ID != want || r.Str("subject") != "checkpoint/7" || r.Time != now {
				t.Errorf("record %s subject %s at %s, want id %s", r.ID, r.Str("subject"), r.Time, want)
			}
		}
		if err := m.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		// LM-03 has no exception here: the actions wait for one.
		if snap := m.Snapshot("t"); snap.Entries != 3 {
			t.Errorf("%d entries, want 3", snap.Entries)
		}
	})
}
