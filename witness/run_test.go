package witness_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/ledger"
	"github.com/waarborg/waarborg/sqlite"
	"github.com/waarborg/waarborg/storetest"
	"github.com/waarborg/waarborg/witness"
)

// handlerTransport serves requests with a handler in the same process, so
// that a test in a synctest bubble needs no network.
type handlerTransport struct{ h http.Handler }

func (ht handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	ht.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// Run submits at once, then at most every Every while the log grows, and
// at the period end (UTC midnight) even when nothing grew.
func TestRunSchedule(t *testing.T) {
	// The store works outside the bubble: its background goroutine ticks.
	dir := t.TempDir()
	store, err := sqlite.Open(context.Background(), filepath.Join(dir, "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		signer, verifier := newKeys(t)
		l := ledger.Open(ledger.Config{Store: store, Signer: signer, Deployment: signer.Name(), CheckpointEvery: time.Hour})
		f := &logFixture{store: store, ledger: l}
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		cs, _ := ledger.NewCosigner("w", priv, nil)
		srv, err := witness.Open(ctx, filepath.Join(dir, "witness.db"), cs, []note.Verifier{verifier}, nil)
		if err != nil {
			t.Fatal(err)
		}
		sub := witness.NewSubmitter(witness.SubmitterConfig{
			Store: store, Ledger: l, Every: 10 * time.Minute,
			Client:    &http.Client{Transport: handlerTransport{srv}},
			Witnesses: []witness.Target{{URL: "http://witness.test", Key: cs.Verifier()}},
		})
		start := time.Now()
		cp1 := f.appendN(t, "acme", 0, 4, 0)
		done := make(chan struct{})
		go func() { sub.Run(ctx); close(done) }()

		cosigned := func(size uint64) []time.Time {
			t.Helper()
			cs, err := store.Cosignatures(ctx, "acme", size)
			if err != nil {
				t.Fatal(err)
			}
			var ts []time.Time
			for _, c := range cs {
				ts = append(ts, c.Time)
			}
			return ts
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if len(cosigned(cp1.Size)) != 1 {
			t.Fatal("the first checkpoint was not submitted at once")
		}
		cp2 := f.appendN(t, "acme", 4, 3, 10)
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		if len(cosigned(cp2.Size)) != 0 {
			t.Error("a grown log was submitted again before Every")
		}
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		if len(cosigned(cp2.Size)) != 1 {
			t.Error("a grown log was not submitted after Every")
		}
		// Records arrive a minute before midnight, too late for the ledger's
		// hourly checkpoint: the period end checkpoints and submits them.
		midnight := witness.NextPeriodEnd(start)
		time.Sleep(time.Until(midnight) - time.Minute)
		synctest.Wait()
		if _, err := l.Append(ctx, []*waarborg.Record{storetest.Record(t, "acme", "late-1", 1), storetest.Record(t, "acme", "late-2", 2)}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute + 2*time.Second)
		synctest.Wait()
		ts := cosigned(cp2.Size + 2)
		if len(ts) != 1 || ts[0].Before(midnight) || ts[0].After(midnight.Add(5*time.Second)) {
			t.Fatalf("the period-end checkpoint (size %d) has cosignatures %v, want one at %s", cp2.Size+2, ts, midnight)
		}
		cancel()
		<-done
		l.Close()
		srv.Close()
	})
}

func TestExport(t *testing.T) {
	ctx := context.Background()
	signer, verifier := newKeys(t)
	f := newLog(t, signer)
	hs, cs := newWitness(t, verifier)
	cp := f.appendN(t, "acme", 0, 5, 0)
	submitter(f, hs.URL, cs.Verifier()).Round(ctx)

	var posted []string
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := new(strings.Builder)
		_, _ = io.Copy(b, r.Body)
		posted = append(posted, r.Header.Get("X-Waarborg-Tenant")+"\n"+b.String())
	}))
	defer sink.Close()
	dir := t.TempDir()
	day := time.Date(2026, 4, 1, 0, 15, 0, 0, time.UTC)
	x := witness.NewExporter(witness.ExporterConfig{Store: f.store, Dir: dir, URL: sink.URL, Now: func() time.Time { return day }})
	if err := x.Export(ctx); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "acme-2026-04-01.checkpoint"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(b, note.VerifierList(verifier, cs.Verifier()))
	if err != nil || len(n.Sigs) != 2 || !strings.HasPrefix(string(b), string(cp.Note)) {
		t.Fatalf("exported file: %v\n%s", err, b)
	}
	if len(posted) != 1 || posted[0] != "acme\n"+string(b) {
		t.Errorf("posted %q", posted)
	}
	// An endpoint that refuses makes the export fail, to be retried.
	refuse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", 500) }))
	defer refuse.Close()
	if err := witness.NewExporter(witness.ExporterConfig{Store: f.store, URL: refuse.URL}).Export(ctx); err == nil {
		t.Error("an export refused by the endpoint succeeded")
	}
}
