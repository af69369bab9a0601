package ledger_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/ledger"
	"github.com/waarborg/waarborg/storetest"
)

type fixture struct {
	backend  storetest.Backend
	store    waarborg.Store
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

// newFixture opens an empty store of backend b with a new signing key.
func newFixture(t testing.TB, b storetest.Backend) *fixture {
	skey, vkey, err := note.GenerateKey(rand.Reader, "test.example")
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{backend: b, clock: &clock{t: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}}
	f.signer, _ = note.NewSigner(skey)
	f.verifier, _ = note.NewVerifier(vkey)
	f.store = b.Open(t)
	return f
}

// onEachBackend runs a test on every store: the ledger must hold on each.
func onEachBackend(t *testing.T, test func(t *testing.T, b storetest.Backend)) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) { test(t, b) })
	}
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
	onEachBackend(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := newFixture(t, b)
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
	})
}

func TestOutcomes(t *testing.T) {
	onEachBackend(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := newFixture(t, b)
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
	})
}

// A batch that mixes re-sends with new records grows the tree by the new
// ones only: the tree grown ahead of the store, with every leaf, is thrown
// away, and the signed checkpoint still matches the stored log.
func TestMixedBatchCheckpointVerifies(t *testing.T) {
	onEachBackend(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := newFixture(t, b)
		l := f.open()
		var first, mixed []*waarborg.Record
		for i := range 300 {
			first = append(first, storetest.Record(t, "acme", fmt.Sprintf("r%03d", i), i))
		}
		if _, err := l.Append(ctx, first); err != nil {
			t.Fatal(err)
		}
		for i := 250; i < 600; i++ {
			mixed = append(mixed, storetest.Record(t, "acme", fmt.Sprintf("r%03d", i), i))
		}
		res, err := l.Append(ctx, mixed)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range res {
			want := ledger.Accepted
			if i < 50 {
				want = ledger.Duplicate
			}
			if r.Outcome != want || (want == ledger.Accepted && r.Index != uint64(250+i)) {
				t.Fatalf("record %d: %v at %d, want %v", i, r.Outcome, r.Index, want)
			}
		}
		cp, err := l.Sync(ctx, "acme")
		if err != nil || cp.Size != 600 {
			t.Fatalf("Sync = %+v, %v", cp, err)
		}
		l.Close()
		rep, err := ledger.Verify(ctx, f.store, "acme", f.verifier, "test.example")
		if err != nil || len(rep.Problems) != 0 || rep.Entries != 600 {
			t.Fatalf("Verify = %+v, %v", rep, err)
		}
	})
}

// appendNumbered appends records r000 to r<n-1> to tenant acme's log
// through a ledger of its own, and closes it.
func (f *fixture) appendNumbered(t *testing.T, n int) {
	t.Helper()
	l := f.open()
	defer l.Close()
	var recs []*waarborg.Record
	for i := range n {
		recs = append(recs, storetest.Record(t, "acme", fmt.Sprintf("r%03d", i), i))
	}
	if _, err := l.Append(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
}

// A record looked up by id is the one that holds the id: an id index
// changed to point at another entry is reported, not answered with that
// entry and its valid proof.
func TestRecordRefusesRepointedID(t *testing.T) {
	onEachBackend(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := newFixture(t, b)
		f.appendNumbered(t, 100)
		b.Repoint(t, f.store, "acme", "r010", 70)
		if st, err := f.store.Record(ctx, "acme", "r010"); err == nil {
			t.Fatalf("Record(r010) = entry %d holding %q, want an error", st.Index, st.ID)
		}
		if st, err := f.store.Record(ctx, "acme", "r070"); err != nil || st.ID != "r070" {
			t.Fatalf("Record(r070) = %+v, %v", st, err)
		}
	})
}

func TestVerifyFindsTampering(t *testing.T) {
	onEachBackend(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := newFixture(t, b)
		f.appendNumbered(t, 600)
		b.Tamper(t, f.store, "acme", 123, `"value":123}`, `"value":999}`, false)
		// A forger who also fixes the stored hash is caught by the leaf.
		b.Tamper(t, f.store, "acme", 456, `"value":456}`, `"value":999}`, true)
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
	})
}

// A record that arrives gets a checkpoint within CheckpointEvery, with no
// further appends and no Close.
func TestCheckpointWithinASecond(t *testing.T) {
	onEachBackend(t, func(t *testing.T, b storetest.Backend) {
		synctest.Test(t, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, b)
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
	})
}

// After Close, appends fail at once with ErrClosed; none waits for ever on
// a writer that has stopped.
func TestAppendAfterClose(t *testing.T) {
	onEachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := newFixture(t, b)
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
	})
}

// Two ledgers on one shared store, as two processes on one PostgreSQL
// database: appending to one tenant at once through both, each with
// retries of the other's records, leaves one log in which every record is
// once, that verifies, with checkpoints from both.
func TestLedgersShareALog(t *testing.T) {
	onEachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := newFixture(t, b)
		if err := f.store.Update(context.Background(), func(tx waarborg.Tx) error {
			if _, ok := tx.(waarborg.LockingTx); !ok {
				return errors.ErrUnsupported
			}
			return nil
		}); errors.Is(err, errors.ErrUnsupported) {
			t.Skip("a single-process store: one ledger per store")
		}
		ctx := context.Background()
		ledgers := []*ledger.Ledger{f.open(), f.open()}
		var wg sync.WaitGroup
		const writers, batches, batch = 4, 15, 40
		for w := range writers {
			l := ledgers[w%2]
			wg.Go(func() {
				for n := range batches {
					var recs []*waarborg.Record
					for i := range batch {
						// Every third batch re-sends the other writer's batch.
						src := w
						if n%3 == 2 {
							src = w ^ 1
						}
						recs = append(recs, storetest.Record(t, "acme", fmt.Sprintf("w%d-%d-%d", src, n, i), i))
					}
					res, err := l.Append(ctx, recs)
					if err != nil {
						t.Errorf("writer %d: %v", w, err)
						return
					}
					for i, r := range res {
						if r.Outcome == ledger.Conflict {
							t.Errorf("writer %d record %d: conflict", w, i)
						}
					}
				}
			})
		}
		wg.Wait()
		for _, l := range ledgers {
			if _, err := l.Sync(ctx, "acme"); err != nil {
				t.Fatal(err)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
		}
		// Batches 2, 5, … of each writer are its partner's, sent by both
		// or by the partner alone: ids repeat, entries must not.
		distinct := map[string]bool{}
		for w := range writers {
			for n := range batches {
				for i := range batch {
					if n%3 != 2 {
						distinct[fmt.Sprintf("w%d-%d-%d", w, n, i)] = true
					}
				}
			}
		}
		for w := range writers {
			for n := 2; n < batches; n += 3 {
				for i := range batch {
					distinct[fmt.Sprintf("w%d-%d-%d", w^1, n, i)] = true
				}
			}
		}
		seen := map[string]bool{}
		for st, err := range f.store.Records(ctx, "acme", 0, 1<<40) {
			if err != nil {
				t.Fatal(err)
			}
			if seen[st.ID] {
				t.Errorf("%s is in the log twice", st.ID)
			}
			seen[st.ID] = true
		}
		if len(seen) != len(distinct) {
			t.Errorf("log holds %d records, want %d", len(seen), len(distinct))
		}
		rep, err := ledger.Verify(ctx, f.store, "acme", f.verifier, "test.example")
		if err != nil || len(rep.Problems) != 0 || rep.Entries != uint64(len(distinct)) {
			t.Fatalf("Verify = %+v, %v", rep, err)
		}
		if rep.Checkpoints < 2 {
			t.Errorf("%d checkpoints", rep.Checkpoints)
		}
	})
}

// Asking for the checkpoint of a tenant that has no log finds none and
// leaves no tenant behind, on every store.
func TestSyncOfUnknownTenant(t *testing.T) {
	onEachBackend(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := newFixture(t, b)
		l := f.open()
		defer l.Close()
		if _, err := l.Sync(ctx, "nobody"); waarborg.ErrorCode(err) != waarborg.ENOTFOUND {
			t.Errorf("Sync of an unknown tenant: %v, want not found", err)
		}
		if ts, err := f.store.Tenants(ctx); err != nil || len(ts) != 0 {
			t.Errorf("Tenants = %v, %v; want none", ts, err)
		}
	})
}
