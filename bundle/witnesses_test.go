package bundle_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/assess"
	"github.com/waarborg/waarborg/bundle"
	"github.com/waarborg/waarborg/controls"
	"github.com/waarborg/waarborg/ledger"
	"github.com/waarborg/waarborg/sqlite"
	"github.com/waarborg/waarborg/storetest"
)

// A period with a key rotation in its middle and witnesses' cosignatures:
// the bundle holds with the old key or the new; the witness policy counts
// only known witnesses that cosigned the period-end checkpoint within the
// period's grace.
func TestWitnessesAndRotation(t *testing.T) {
	ctx := context.Background()
	from := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(0, 0, 1)
	keys := make([]struct {
		s    note.Signer
		text string
	}, 2)
	for i := range keys {
		skey, vkey, _ := note.GenerateKey(rand.Reader, "test.example")
		keys[i].s, _ = note.NewSigner(skey)
		keys[i].text = vkey
	}
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	clk := &clock{}
	l := ledger.Open(ledger.Config{Store: store, Signer: keys[0].s, Deployment: "test.example", Now: clk.Now})
	defer l.Close()
	next := 0
	appendAt := func(at time.Time, n int) *waarborg.Checkpoint {
		clk.set(at)
		var recs []*waarborg.Record
		for range n {
			recs = append(recs, storetest.Record(t, "acme", fmt.Sprintf("r%03d", next), next))
			next++
		}
		if _, err := l.Append(ctx, recs); err != nil {
			t.Fatal(err)
		}
		cp, err := l.Sync(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		return cp
	}
	appendAt(from.Add(-time.Hour), 10)
	appendAt(from.Add(time.Hour), 5)
	// A sender's record of the key type, unsigned: it introduces nothing.
	senders, err := waarborg.ParseRecord([]byte(fmt.Sprintf(`{"id":"sender-key","tenant":"acme","source":"x/y","type":"ledger.key","time":"2026-03-02T01:00:00Z","data":{"old_key":%q,"new_key":%q,"announcement":"junk"}}`, keys[0].text, keys[1].text)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, []*waarborg.Record{senders}); err != nil {
		t.Fatal(err)
	}
	ann, err := ledger.Announce("test.example", keys[0].s, keys[0].text, keys[1].s, keys[1].text)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Rotate(ctx, keys[1].s, ann); err != nil {
		t.Fatal(err)
	}
	periodEnd := appendAt(from.Add(2*time.Hour), 5)
	end := appendAt(to.Add(2*time.Hour), 3)

	witness := func(name string, at time.Time, cps ...*waarborg.Checkpoint) string {
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		cs, err := ledger.NewCosigner(name, priv, func() time.Time { return at })
		if err != nil {
			t.Fatal(err)
		}
		for _, cp := range cps {
			text, _ := ledger.NoteText(cp.Note)
			signed, err := note.Sign(&note.Note{Text: text}, cs)
			if err != nil {
				t.Fatal(err)
			}
			c, err := ledger.OpenCosignature(text, string(signed[len(text)+1:]), cs.Verifier())
			if err != nil {
				t.Fatal(err)
			}
			c.Tenant = "acme"
			if err := store.Update(ctx, func(tx waarborg.Tx) error { return tx.AddCosignature(c) }); err != nil {
				t.Fatal(err)
			}
		}
		return cs.Verifier().String()
	}
	onTime := witness("w.example/on-time", to.Add(10*time.Minute), periodEnd, end)
	endOnly := witness("w.example/end-only", to.Add(3*time.Hour), end)
	late := witness("w.example/late", to.Add(48*time.Hour), periodEnd)

	cat := controls.Default()
	res, err := assess.Run(ctx, assess.Log{Store: store, Ledger: l, Verifier: mustVerifier(t, keys[1].text), Deployment: "test.example"}, cat, "acme", from, to)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := bundle.Write(ctx, &buf, bundle.Input{Store: store, Ledger: l, Tenant: "acme", From: from, To: to, Version: "test", Catalog: cat, Result: res}); err != nil {
		t.Fatal(err)
	}
	zipped := buf.Bytes()
	files := unzip(t, zipped)
	for _, f := range []string{bundle.FileKeys, bundle.FilePeriodEnd, bundle.FileConsistencyPeriodEnd, bundle.FileCosignedEnd} {
		if _, ok := files[f]; !ok {
			t.Errorf("the bundle has no %s", f)
		}
	}

	t.Run("a hidden rotation", func(t *testing.T) {
		files := unzip(t, zipped)
		var m bundle.Manifest
		if err := json.Unmarshal(files[bundle.FileManifest], &m); err != nil {
			t.Fatal(err)
		}
		delete(m.Files, bundle.FileKeys)
		delete(files, bundle.FileKeys)
		files[bundle.FileManifest], _ = json.Marshal(m)
		var out bytes.Buffer
		zw := zip.NewWriter(&out)
		for name, b := range files {
			w, _ := zw.Create(name)
			w.Write(b)
		}
		zw.Close()
		rep, err := bundle.VerifyWith(bytes.NewReader(out.Bytes()), int64(out.Len()), bundle.Options{Key: keys[0].text})
		if err != nil {
			t.Fatal(err)
		}
		var all []string
		for _, p := range rep.Problems {
			all = append(all, p.String())
		}
		if got := strings.Join(all, "\n"); !strings.Contains(got, ledger.KeyRecordID(1)+": is a key rotation that keys.jsonl does not list") || strings.Contains(got, "sender-key") {
			t.Errorf("problems:\n%s", got)
		}
	})

	tests := []struct {
		name string
		opts bundle.Options
		want string // a problem's text; "" for none
	}{
		{"old key, no witnesses required", bundle.Options{Key: keys[0].text}, ""},
		{"new key, one witness", bundle.Options{Key: keys[1].text, Witnesses: []string{onTime}, MinWitnesses: 1}, ""},
		{"a witness that cosigned only the end", bundle.Options{Key: keys[0].text, Witnesses: []string{onTime, endOnly}, MinWitnesses: 2}, "1 of the known witnesses cosigned the period-end checkpoint"},
		{"a cosignature after the grace", bundle.Options{Key: keys[0].text, Witnesses: []string{late}, MinWitnesses: 1}, "outside the period and its grace"},
		{"a longer grace", bundle.Options{Key: keys[0].text, Witnesses: []string{late}, MinWitnesses: 1, Grace: 72 * time.Hour}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := bundle.VerifyWith(bytes.NewReader(zipped), int64(len(zipped)), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range rep.Problems {
				got = append(got, p.String())
			}
			all := strings.Join(got, "\n")
			if tt.want == "" && len(got) > 0 || tt.want != "" && !strings.Contains(all, tt.want) {
				t.Errorf("problems:\n%s\nwant %q", all, tt.want)
			}
			if rep.PeriodEndSize != periodEnd.Size {
				t.Errorf("period-end size %d, want %d", rep.PeriodEndSize, periodEnd.Size)
			}
		})
	}
}

func mustVerifier(t *testing.T, vkey string) note.Verifier {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
