package ledger_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/ledger"
	"github.com/waarborg/waarborg/sqlite"
	"github.com/waarborg/waarborg/storetest"
)

type fixture struct {
	path     string
	store    *sqlite.DB
	signer   note.Signer
	verifier note.Verifier
	clock    *clock
}

// clock moves two seconds a reading, so that every commit is due a checkpoint.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(2 * time.Second)
	return c.t
}

func newFixture(t testing.TB) *fixture {
	skey, vkey, err := note.GenerateKey(rand.Reader, "test.example")
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{path: filepath.Join(t.TempDir(), "w.db"), clock: &clock{t: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}}
	f.signer, _ = note.NewSigner(skey)
	f.verifier, _ = note.NewVerifier(vkey)
	f.store, err = sqlite.Open(context.Background(), f.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.store.Close() })
	return f
}

func (f *fixture) open() *ledger.Ledger {
	return ledger.Open(ledger.Config{Store: f.store, Signer: f.signer, Deployment: "test.example", Now: f.clock.Now})
}

// mth is RFC 6962's Merkle tree hash, written from the RFC as an oracle.
func mth(leaves [][]byte) []byte {
	h := rfc6962.DefaultHasher
	switch len(leaves) {
	case 0:
		return h.EmptyRoot()
	case 1:
		return leaves[0]
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	return h.HashChildren(mth(leaves[:k]), mth(leaves[k:]))
}

func TestLedgerAppendProveReopen(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	l := f.open()
	var leaves [][]byte
	appendN := func(l *ledger.Ledger, from, n int) {
		t.Helper()
		var recs []*waarborg.Record
		for i := from; i < from+n; i++ {
			recs = append(recs, storetest.Record(t, "acme", fmt.Sprintf("r%05d", i), i))
		}
		res, err := l.Append(ctx, recs)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range res {
			if r.Outcome != ledger.Accepted || r.Index != uint64(len(leaves)) {
				t.Fatalf("record %d: %v at %d, want accepted at %d", from+i, r.Outcome, r.Index, len(leaves))
			}
			leaf := waarborg.Leaf("acme", recs[i].ID, r.ReceivedAt, sha256.Sum256(recs[i].Canonical))
			leaves = append(leaves, rfc6962.DefaultHasher.HashLeaf(leaf))
		}
	}
	// Sizes that cross tile boundaries at levels 0 and 8.
	for _, n := range []int{1, 2, 5, 250, 7, 300, 1} {
		appendN(l, len(leaves), n)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = f.open() // a new writer rebuilds its state from the store
	for _, n := range []int{255, 1, 65536 - 821 - 256} {
		appendN(l, len(leaves), n)
	}
	defer l.Close()
	if _, err := l.Sync(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	cps, err := f.store.Checkpoints(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if len(cps) < 8 {
		t.Fatalf("%d checkpoints, want one per commit", len(cps))
	}
	for _, cp := range cps {
		origin, size, root, err := ledger.OpenCheckpoint(cp.Note, f.verifier)
		if err != nil || origin != "test.example/waarborg/acme" || size != cp.Size {
			t.Fatalf("checkpoint %d: %q %d %v", cp.Size, origin, size, err)
		}
		if want := mth(leaves[:size]); string(root) != string(want) {
			t.Fatalf("checkpoint %d: root differs from RFC 6962's", size)
		}
	}
	latest := cps[len(cps)-1]
	if latest.Size != uint64(len(leaves)) {
		t.Fatalf("latest checkpoint has size %d, want %d", latest.Size, len(leaves))
	}

	// Inclusion proofs, checked from their JSON alone with merkle's verifier.
	for _, idx := range []int{0, 1, 255, 256, 257, 812, 65535 - 1000, len(leaves) - 1} {
		for _, cp := range []waarborg.Checkpoint{cps[len(cps)/2], latest} {
			if uint64(idx) >= cp.Size {
				continue
			}
			p, err := l.Inclusion(ctx, "acme", fmt.Sprintf("r%05d", idx), cp.Size)
			if err != nil {
				t.Fatal(err)
			}
			var got ledger.InclusionProof
			b, _ := json.Marshal(p)
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			_, size, root, err := ledger.OpenCheckpoint([]byte(got.Checkpoint), f.verifier)
			if err != nil {
				t.Fatal(err)
			}
			leafHash := rfc6962.DefaultHasher.HashLeaf([]byte(got.Leaf))
			if err := proof.VerifyInclusion(rfc6962.DefaultHasher, got.LeafIndex, size, leafHash, got.Proof, root); err != nil {
				t.Errorf("inclusion of %d in %d: %v", idx, size, err)
			}
			if err := ledger.CheckInclusion(&got, f.verifier); err != nil {
				t.Errorf("CheckInclusion of %d in %d: %v", idx, size, err)
			}
		}
	}
	// Consistency between every pair of a sample of checkpoints.
	for i := 0; i < len(cps); i += 3 {
		for j := i; j < len(cps); j += 2 {
			p, err := l.Consistency(ctx, "acme", cps[i].Size, cps[j].Size)
			if err != nil {
				t.Fatal(err)
			}
			if err := ledger.CheckConsistency(p, f.verifier); err != nil {
				t.Errorf("consistency %d→%d: %v", cps[i].Size, cps[j].Size, err)
			}
			if err := proof.VerifyConsistency(rfc6962.DefaultHasher, p.Old.Size, p.New.Size, p.Proof, p.Old.RootHash, p.New.RootHash); err != nil {
				t.Errorf("merkle: consistency %d→%d: %v", cps[i].Size, cps[j].Size, err)
			}
		}
	}
	rep, err := ledger.Verify(ctx, f.store, "acme", f.verifier, "test.example")
	if err != nil || len(rep.Problems) != 0 || rep.Entries != uint64(len(leaves)) {
		t.Fatalf("Verify = %+v, %v", rep, err)
	}
}

func TestOutcomes(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	l := f.open()
	defer l.Close()
	a := storetest.Record(t, "acme", "a", 1)
	res, err := l.Append(ctx, []*waarborg.Record{a, storetest.Record(t, "acme", "a", 2), a, storetest.Record(t, "beta", "a", 3)})
	if err != nil {
		t.Fatal(err)
	}
	want := []ledger.Outcome{ledger.Accepted, ledger.Conflict, ledger.Duplicate, ledger.Accepted}
	for i, r := range res {
		if r.Outcome != want[i] {
			t.Errorf("record %d: %v, want %v", i, r.Outcome, want[i])
		}
	}
	if res[3].Index != 0 {
		t.Errorf("tenant beta's first record has index %d", res[3].Index)
	}
}

func TestVerifyFindsTampering(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	l := f.open()
	var recs []*waarborg.Record
	for i := range 600 {
		recs = append(recs, storetest.Record(t, "acme", fmt.Sprintf("r%03d", i), i))
	}
	if _, err := l.Append(ctx, recs); err != nil {
		t.Fatal(err)
	}
	l.Close()
	raw, err := sql.Open("sqlite", f.path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	// Entries 123 and 456 lie in segments 1 and 7 (64 entries each).
	tamper := func(seg int, from, to string) {
		t.Helper()
		var entries []byte
		if err := raw.QueryRow("SELECT entries FROM segments WHERE pos = ?", int64(1)<<40|int64(seg)).Scan(&entries); err != nil {
			t.Fatal(err)
		}
		changed := strings.Replace(string(entries), from, to, 1)
		if changed == string(entries) {
			t.Fatalf("segment %d does not hold %q", seg, from)
		}
		if _, err := raw.Exec("UPDATE segments SET entries = ? WHERE pos = ?", []byte(changed), int64(1)<<40|int64(seg)); err != nil {
			t.Fatal(err)
		}
	}
	tamper(1, `"value":123}`, `"value":999}`)
	// A forger who also fixes the stored hash is caught by the leaf.
	old, forged := recs[456].Hash(), sha256.Sum256(bytes.Replace(recs[456].Canonical, []byte(`"value":456}`), []byte(`"value":999}`), 1))
	tamper(7, hex.EncodeToString(old[:])+"\t", hex.EncodeToString(forged[:])+"\t")
	tamper(7, `"value":456}`, `"value":999}`)
	rep, err := ledger.Verify(ctx, f.store, "acme", f.verifier, "test.example")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, p := range rep.Problems {
		ids = append(ids, p.ID+":"+p.Reason)
	}
	if fmt.Sprint(ids) != "[r123:tampered r456:tampered]" {
		t.Errorf("problems = %v, want r123 and r456 tampered", ids)
	}
}

// A record that arrives gets a checkpoint within CheckpointEvery, with no
// further appends and no Close.
func TestCheckpointWithinASecond(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		f := newFixture(t)
		l := ledger.Open(ledger.Config{Store: f.store, Signer: f.signer, Deployment: "test.example"})
		defer l.Close()
		start := time.Now()
		for i := range 3 {
			if _, err := l.Append(ctx, []*waarborg.Record{storetest.Record(t, "acme", fmt.Sprint("r", i), i)}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(300 * time.Millisecond) // fake time: records keep arriving
		}
		time.Sleep(time.Second)
		synctest.Wait()
		cps, err := f.store.Checkpoints(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		if len(cps) == 0 || cps[len(cps)-1].Size != 3 {
			t.Fatalf("checkpoints %+v, want the last one of size 3", cps)
		}
		prev := start
		for _, cp := range cps {
			if gap := cp.SignedAt.Sub(prev); gap > time.Second+time.Millisecond {
				t.Errorf("checkpoint of size %d came %v after the previous one", cp.Size, gap)
			}
			prev = cp.SignedAt
		}
	})
}

// After Close, appends fail at once with ErrClosed; none waits for ever on
// a writer that has stopped.
func TestAppendAfterClose(t *testing.T) {
	f := newFixture(t)
	l := f.open()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() {
		for i := range 50 {
			_, err := l.Append(context.Background(), []*waarborg.Record{storetest.Record(t, "acme", fmt.Sprint("r", i), i)})
			if !errors.Is(err, ledger.ErrClosed) {
				done <- fmt.Errorf("Append after Close: %v, want ErrClosed", err)
				return
			}
		}
		if _, err := l.Sync(context.Background(), "acme"); !errors.Is(err, ledger.ErrClosed) {
			done <- fmt.Errorf("Sync after Close: %v, want ErrClosed", err)
			return
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Append after Close hangs")
	}
}
