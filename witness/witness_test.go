package witness_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/ledger"
	"github.com/waarborg/waarborg/sqlite"
	"github.com/waarborg/waarborg/storetest"
	"github.com/waarborg/waarborg/witness"
)

// logFixture is one deployment's store and ledger.
type logFixture struct {
	store  *sqlite.DB
	ledger *ledger.Ledger
}

func newLog(t *testing.T, signer note.Signer) *logFixture {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	l := ledger.Open(ledger.Config{Store: s, Signer: signer, Deployment: signer.Name()})
	t.Cleanup(func() { l.Close(); s.Close() })
	return &logFixture{store: s, ledger: l}
}

// appendN appends n records with values from value on and checkpoints.
func (f *logFixture) appendN(t *testing.T, tenant string, first, n, value int) *waarborg.Checkpoint {
	t.Helper()
	var recs []*waarborg.Record
	for i := range n {
		recs = append(recs, storetest.Record(t, tenant, fmt.Sprintf("r%04d", first+i), value+i))
	}
	if _, err := f.ledger.Append(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	cp, err := f.ledger.Sync(context.Background(), tenant)
	if err != nil {
		t.Fatal(err)
	}
	return cp
}

func newKeys(t *testing.T) (note.Signer, note.Verifier) {
	skey, vkey, err := note.GenerateKey(rand.Reader, "plant.example")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := note.NewSigner(skey)
	v, _ := note.NewVerifier(vkey)
	return s, v
}

func newWitness(t *testing.T, logKeys ...note.Verifier) (*httptest.Server, *ledger.Cosigner) {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	cs, err := ledger.NewCosigner("witness.example/w1", priv, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := witness.Open(context.Background(), filepath.Join(t.TempDir(), "witness.db"), cs, logKeys, nil)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { hs.Close(); srv.Close() })
	return hs, cs
}

func submitter(f *logFixture, url string, key *ledger.CosignatureVerifier) *witness.Submitter {
	return witness.NewSubmitter(witness.SubmitterConfig{
		Store: f.store, Ledger: f.ledger, Every: time.Nanosecond,
		Witnesses: []witness.Target{{URL: url, Key: key}},
	})
}

func TestSubmitStoresCosignatures(t *testing.T) {
	ctx := context.Background()
	signer, verifier := newKeys(t)
	f := newLog(t, signer)
	hs, cs := newWitness(t, verifier)
	sub := submitter(f, hs.URL, cs.Verifier())

	cp := f.appendN(t, "acme", 0, 10, 0)
	before := time.Now().Add(-time.Second)
	sub.Round(ctx)
	got, err := f.store.Cosignatures(ctx, "acme", cp.Size)
	if err != nil || len(got) != 1 {
		t.Fatalf("cosignatures of size %d: %+v, %v", cp.Size, got, err)
	}
	c := got[0]
	if c.Witness != "witness.example/w1" || c.Time.Before(before.Truncate(time.Second)) || c.Time.After(time.Now()) {
		t.Errorf("cosignature %+v", c)
	}
	// The cosigned note verifies with the log's key and the witness's.
	n, err := note.Open(ledger.Cosigned(cp.Note, got), note.VerifierList(verifier, cs.Verifier()))
	if err != nil || len(n.Sigs) != 2 {
		t.Fatalf("cosigned note: %v, %d signatures", err, len(n.Sigs))
	}

	// The log grows: the next round sends the consistency proof from 10.
	cp2 := f.appendN(t, "acme", 10, 7, 100)
	sub.Round(ctx)
	if got, _ := f.store.Cosignatures(ctx, "acme", cp2.Size); len(got) != 1 {
		t.Fatalf("size %d not cosigned: %+v", cp2.Size, got)
	}

	// A submitter that does not know the witness's size learns it from 409.
	fresh := submitter(f, hs.URL, cs.Verifier())
	cp3 := f.appendN(t, "acme", 17, 3, 200)
	fresh.Round(ctx)
	if got, _ := f.store.Cosignatures(ctx, "acme", cp3.Size); len(got) != 1 {
		t.Fatalf("size %d not cosigned after a 409: %+v", cp3.Size, got)
	}
}

// A history rewritten under the same key, of the same size or larger, is
// refused: the witness cosigns no tree that does not extend what it saw.
func TestWitnessRefusesRewrite(t *testing.T) {
	ctx := context.Background()
	signer, verifier := newKeys(t)
	honest := newLog(t, signer)
	hs, cs := newWitness(t, verifier)
	cp := honest.appendN(t, "acme", 0, 12, 0)
	submitter(honest, hs.URL, cs.Verifier()).Round(ctx)
	if got, _ := honest.store.Cosignatures(ctx, "acme", cp.Size); len(got) != 1 {
		t.Fatal("the honest checkpoint was not cosigned")
	}

	for _, n := range []int{12, 20} {
		t.Run(fmt.Sprint("size ", n), func(t *testing.T) {
			forged := newLog(t, signer) // same key, same origin, other records
			fcp := forged.appendN(t, "acme", 0, n, 1000)
			if fcp.Size != uint64(n) {
				t.Fatalf("forged size %d", fcp.Size)
			}
			st := submitter(forged, hs.URL, cs.Verifier())
			st.Round(ctx)
			if got, _ := forged.store.Cosignatures(ctx, "acme", fcp.Size); len(got) != 0 {
				t.Fatalf("the witness cosigned a rewritten history: %+v", got)
			}
			// Directly: the same old size as the witness's, a rewritten tree.
			body := fmt.Sprintf("old %d\n\n%s", cp.Size, fcp.Note)
			if n > 12 {
				path, err := forged.ledger.ConsistencyPath(ctx, "acme", cp.Size, fcp.Size)
				if err != nil {
					t.Fatal(err)
				}
				body = fmt.Sprintf("old %d\n%s\n%s", cp.Size, joinHashes(path), fcp.Note)
			}
			resp, err := http.Post(hs.URL+"/add-checkpoint", "text/plain", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnprocessableEntity {
				t.Errorf("rewrite: status %d, want 422", resp.StatusCode)
			}
		})
	}
}

func joinHashes(hs [][]byte) string {
	var b strings.Builder
	for _, h := range hs {
		fmt.Fprintf(&b, "%s\n", b64(h))
	}
	return b.String()
}

func TestWitnessRefusals(t *testing.T) {
	signer, verifier := newKeys(t)
	f := newLog(t, signer)
	cp := f.appendN(t, "acme", 0, 3, 0)
	otherSigner, _ := newKeys(t)
	other := newLog(t, otherSigner)
	ocp := other.appendN(t, "acme", 0, 3, 0)
	hs, _ := newWitness(t, verifier)

	unknownSigner, _, _ := note.GenerateKey(rand.Reader, "elsewhere.example")
	us, _ := note.NewSigner(unknownSigner)
	elsewhere := newLog(t, us)
	ecp := elsewhere.appendN(t, "acme", 0, 3, 0)

	tests := []struct {
		name string
		body string
		want int
	}{
		{"malformed", "hello", http.StatusBadRequest},
		{"bad old line", "old x\n\n" + string(cp.Note), http.StatusBadRequest},
		{"unknown origin", "old 0\n\n" + string(ecp.Note), http.StatusNotFound},
		{"another key of the same name", "old 0\n\n" + string(ocp.Note), http.StatusForbidden},
		{"old beyond the witness", "old 2\n\n" + string(cp.Note), http.StatusConflict},
		{"old beyond the checkpoint", "old 9\n\n" + string(cp.Note), http.StatusBadRequest},
		{"first", "old 0\n\n" + string(cp.Note), http.StatusOK},
		{"again", "old 3\n\n" + string(cp.Note), http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Post(hs.URL+"/add-checkpoint", "text/plain", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.want)
			}
			if tt.want == http.StatusConflict && resp.Header.Get("Content-Type") != "text/x.tlog.size" {
				t.Errorf("409 content type %q", resp.Header.Get("Content-Type"))
			}
		})
	}
}

// A witness that does not answer is retried with a growing wait.
func TestSubmitBacksOff(t *testing.T) {
	ctx := context.Background()
	signer, _ := newKeys(t)
	f := newLog(t, signer)
	f.appendN(t, "acme", 0, 3, 0)
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer down.Close()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	cs, _ := ledger.NewCosigner("w", priv, nil)
	sub := witness.NewSubmitter(witness.SubmitterConfig{Store: f.store, Ledger: f.ledger, Every: time.Hour,
		Witnesses: []witness.Target{{URL: down.URL, Key: cs.Verifier()}}})
	var waits []time.Duration
	for range 3 {
		waits = append(waits, sub.Round(ctx))
	}
	// The first round fails and waits 2 s; the next ones run before their
	// retry time and wait what is left of it.
	if waits[0] != 2*time.Second {
		t.Errorf("first wait %v, want 2s", waits[0])
	}
	if got, _ := f.store.Cosignatures(ctx, "acme", 3); len(got) != 0 {
		t.Errorf("cosignatures from a failing witness: %+v", got)
	}
}

func b64(h []byte) string { return base64.StdEncoding.EncodeToString(h) }
