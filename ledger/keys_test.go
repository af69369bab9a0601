package ledger_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/ledger"
	"github.com/waarborg/waarborg/storetest"
)

type key struct {
	signer   note.Signer
	verifier note.Verifier
	text     string // the verifier key
}

func newKey(t *testing.T, name string) key {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := note.NewSigner(skey)
	v, _ := note.NewVerifier(vkey)
	return key{s, v, vkey}
}

func appendRecords(t *testing.T, l *ledger.Ledger, tenant string, from, n int) {
	t.Helper()
	var recs []*waarborg.Record
	for i := from; i < from+n; i++ {
		recs = append(recs, storetest.Record(t, tenant, fmt.Sprintf("r%03d", i), i))
	}
	if _, err := l.Append(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Sync(context.Background(), tenant); err != nil {
		t.Fatal(err)
	}
}

// A rotation is a record in every log, announced by the old key; the log
// verifies across it with either key, and a checkpoint signed by a key
// that no rotation introduced is refused.
func TestRotate(t *testing.T) { onEachBackend(t, testRotate) }

func testRotate(t *testing.T, b storetest.Backend) {
	ctx := context.Background()
	f := newFixture(t, b)
	k1, k2, k3 := newKey(t, "test.example"), newKey(t, "test.example"), newKey(t, "test.example")
	l := ledger.Open(ledger.Config{Store: f.store, Signer: k1.signer, Deployment: "test.example", Now: f.clock.Now})
	defer l.Close()
	appendRecords(t, l, "acme", 0, 5)
	appendRecords(t, l, "beta", 0, 2)
	// A sender's record that happens to hold the first key record's id.
	taken := storetest.Record(t, "beta", ledger.KeyRecordID(1), 1)
	if _, err := l.Append(ctx, []*waarborg.Record{taken}); err != nil {
		t.Fatal(err)
	}
	rotatedAt := f.clock.t

	ann, err := ledger.Announce("test.example", k1.signer, k1.text, k2.signer, k2.text)
	if err != nil {
		t.Fatal(err)
	}
	// An announcement by another key than the one in force is refused.
	bad, _ := ledger.Announce("test.example", k3.signer, k3.text, k2.signer, k2.text)
	if err := l.Rotate(ctx, k2.signer, bad); err == nil {
		t.Fatal("Rotate accepted an announcement the current key did not sign")
	}
	if err := l.Rotate(ctx, k2.signer, ann); err != nil {
		t.Fatal(err)
	}
	appendRecords(t, l, "acme", 5, 4)
	// A log that starts after the rotation starts with the key history.
	appendRecords(t, l, "gamma", 0, 3)
	if st, err := f.store.Record(ctx, "gamma", ledger.KeyRecordID(1)); err != nil || st.Index != 0 {
		t.Fatalf("gamma's key record: %+v, %v", st, err)
	}
	if st, err := f.store.Record(ctx, "beta", ledger.KeyRecordID(2)); err != nil || st.Index != 3 {
		t.Fatalf("beta's key record, past the taken id: %+v, %v", st, err)
	}
	// After a restart the ledger reads the rotations back from the logs.
	l.Close()
	l = ledger.Open(ledger.Config{Store: f.store, Signer: k2.signer, Deployment: "test.example", Now: f.clock.Now})
	defer l.Close()
	appendRecords(t, l, "delta", 0, 1)

	st, err := f.store.Record(ctx, "acme", ledger.KeyRecordID(1))
	if err != nil || st.Index != 5 {
		t.Fatalf("key record of acme: %+v, %v", st, err)
	}
	cp, _ := f.store.Checkpoint(ctx, "acme", 6)
	if cp == nil {
		t.Fatal("no checkpoint covers the key record")
	}
	if _, _, _, err := ledger.OpenCheckpoint(cp.Note, k2.verifier); err != nil {
		t.Errorf("the checkpoint covering the rotation is not the new key's: %v", err)
	}
	for _, tt := range []struct {
		name    string
		trusted note.Verifier
	}{{"old key", k1.verifier}, {"new key", k2.verifier}} {
		t.Run(tt.name, func(t *testing.T) {
			for _, tenant := range []string{"acme", "beta", "gamma", "delta"} {
				rep, err := ledger.Verify(ctx, f.store, tenant, tt.trusted, "test.example")
				if err != nil || len(rep.Problems) != 0 {
					t.Errorf("%s: %+v, %v", tenant, rep, err)
				}
			}
		})
	}
	if rep, _ := ledger.Verify(ctx, f.store, "acme", k3.verifier, "test.example"); len(rep.Problems) != rep.Checkpoints {
		t.Errorf("a key of no rotation verified %d of %d checkpoints", rep.Checkpoints-len(rep.Problems), rep.Checkpoints)
	}

	keys, err := ledger.KeysInForce(ctx, f.store, "acme", k1.verifier, rotatedAt.Add(-time.Hour), rotatedAt.Add(time.Hour))
	if err != nil || len(keys) != 2 || keys[0].Key != k1.text || keys[1].Key != k2.text || keys[1].Record != ledger.KeyRecordID(1) {
		t.Errorf("keys in force across the rotation: %+v, %v", keys, err)
	}
	for _, tenant := range []string{"acme", "delta"} {
		keys, err = ledger.KeysInForce(ctx, f.store, tenant, k2.verifier, rotatedAt.Add(time.Hour), rotatedAt.Add(2*time.Hour))
		if err != nil || len(keys) != 1 || keys[0].Key != k2.text {
			t.Errorf("%s: keys in force after the rotation: %+v, %v", tenant, keys, err)
		}
	}

	// A checkpoint, of the right root, signed by a key the ledger never
	// introduced.
	root := rootAt(t, l, 7)
	if err := f.store.Update(ctx, func(tx waarborg.Tx) error {
		return tx.AddCheckpoint(&waarborg.Checkpoint{Tenant: "acme", Size: 7, Root: root, SignedAt: time.Now(), Note: resign(t, k3, 7, root)})
	}); err != nil {
		t.Fatal(err)
	}
	rep, err := ledger.Verify(ctx, f.store, "acme", k1.verifier, "test.example")
	if err != nil || len(rep.Problems) != 1 || rep.Problems[0].Size != 7 {
		t.Errorf("a checkpoint by an unintroduced key: %+v, %v", rep, err)
	}
}

func rootAt(t *testing.T, l *ledger.Ledger, size uint64) []byte {
	t.Helper()
	hashes, err := l.RangeHashes(context.Background(), "acme", size)
	if err != nil {
		t.Fatal(err)
	}
	rng, err := (&compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}).NewRange(0, size, hashes)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := rng.GetRootHash(nil)
	return root
}

func resign(t *testing.T, k key, size uint64, root []byte) []byte {
	t.Helper()
	b, err := note.Sign(&note.Note{Text: ledger.CheckpointText(ledger.Origin("test.example", "acme"), size, root)}, k.signer)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
