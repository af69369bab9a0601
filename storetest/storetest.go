// Package storetest is the one test suite that every waarborg.Store
// implementation runs, so that SQLite and PostgreSQL keep one contract.
// Only tests import it.
package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/waarborg/waarborg"
)

// Run runs the suite; open returns a new, empty store for each subtest.
func Run(t *testing.T, open func(t *testing.T) waarborg.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s waarborg.Store)
	}{
		{"AddAssignsContiguousIndexes", testAdd},
		{"DuplicatesAndConflicts", testDuplicates},
		{"TenantsAreSeparate", testTenants},
		{"Tiles", testTiles},
		{"Checkpoints", testCheckpoints},
		{"RollbackKeepsNothing", testRollback},
		{"Corrections", testCorrections},
		{"Cosignatures", testCosignatures},
		{"CheckpointPages", testCheckpointPages},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { s.Close() })
			tt.fn(t, s)
		})
	}
}

var received = time.Date(2026, 3, 1, 6, 0, 0, 123e6, time.UTC)

// Record returns a valid historian sample of tenant with id and value.
func Record(t testing.TB, tenant, id string, value int) *waarborg.Record {
	line := fmt.Sprintf(`{"id":%q,"tenant":%q,"source":"ede/historian","type":"historian.sample","time":"2026-03-01T06:00:00Z","data":{"tag":"t1","value":%d}}`, id, tenant, value)
	r, err := waarborg.ParseRecord([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func pending(recs ...*waarborg.Record) []*waarborg.Pending {
	ps := make([]*waarborg.Pending, len(recs))
	for i, r := range recs {
		ps[i] = &waarborg.Pending{Record: r, Hash: r.Hash(), ReceivedAt: received}
	}
	return ps
}

func add(t *testing.T, s waarborg.Store, tenant string, first uint64, ps []*waarborg.Pending) {
	t.Helper()
	if err := s.Update(context.Background(), func(tx waarborg.Tx) error { return tx.Add(tenant, first, ps) }); err != nil {
		t.Fatal(err)
	}
}

func testAdd(t *testing.T, s waarborg.Store) {
	ctx := context.Background()
	// More than one multi-row chunk, and a remainder.
	var recs []*waarborg.Record
	for i := range 150 {
		recs = append(recs, Record(t, "acme", fmt.Sprintf("r%03d", i), i))
	}
	ps := pending(recs...)
	add(t, s, "acme", 0, ps)
	for i, p := range ps {
		if !p.Added || p.Index != uint64(i) {
			t.Fatalf("record %d: added %v index %d", i, p.Added, p.Index)
		}
	}
	if n, err := s.Size(ctx, "acme"); err != nil || n != 150 {
		t.Fatalf("Size = %d, %v; want 150", n, err)
	}
	st, err := s.Record(ctx, "acme", "r042")
	if err != nil {
		t.Fatal(err)
	}
	if st.Index != 42 || !bytes.Equal(st.Canonical, recs[42].Canonical) || st.Hash != sha256.Sum256(recs[42].Canonical) ||
		!st.ReceivedAt.Equal(received) {
		t.Errorf("stored record differs: %+v", st)
	}
	i := 0
	for st, err := range s.Records(ctx, "acme", 100, 1000) {
		if err != nil {
			t.Fatal(err)
		}
		if st.Index != uint64(100+i) || st.ID != recs[100+i].ID {
			t.Fatalf("Records yielded %d %s at position %d", st.Index, st.ID, i)
		}
		i++
	}
	if i != 50 {
		t.Errorf("Records from 100 yielded %d entries, want 50", i)
	}
	if _, err := s.Record(ctx, "acme", "nope"); waarborg.ErrorCode(err) != waarborg.ENOTFOUND {
		t.Errorf("Record of a missing id: %v, want not found", err)
	}
}

func testDuplicates(t *testing.T, s waarborg.Store) {
	var recs []*waarborg.Record
	for i := range 64 {
		recs = append(recs, Record(t, "acme", fmt.Sprintf("r%03d", i), i))
	}
	add(t, s, "acme", 0, pending(recs...))

	// A full chunk in which two ids are held already, one with other
	// content, and one id twice within the batch.
	var again []*waarborg.Record
	for i := range 64 {
		again = append(again, Record(t, "acme", fmt.Sprintf("n%03d", i), i))
	}
	again[10] = recs[5]                           // duplicate
	again[20] = Record(t, "acme", recs[6].ID, -1) // conflict
	again[30] = again[29]                         // repeated in the batch
	ps := pending(again...)
	add(t, s, "acme", 64, ps)
	next := uint64(64)
	for i, p := range ps {
		switch i {
		case 10, 20, 30:
			if p.Added {
				t.Errorf("record %d was added again", i)
			}
		default:
			if !p.Added || p.Index != next {
				t.Errorf("record %d: added %v index %d, want index %d", i, p.Added, p.Index, next)
			}
			next++
		}
	}
	if ps[10].Existing != recs[5].Hash() || ps[20].Existing != recs[6].Hash() || ps[30].Existing != again[29].Hash() {
		t.Error("Existing does not hold the first version's hash")
	}
	st, err := s.Record(context.Background(), "acme", recs[6].ID)
	if err != nil || !bytes.Equal(st.Canonical, recs[6].Canonical) {
		t.Errorf("the conflicting re-send replaced the first version: %v", err)
	}

	// Distinct ids, one held already, starting mid-segment: whatever a
	// store wrote for the batch before it saw the held id must be undone.
	var third []*waarborg.Record
	for i := range 40 {
		third = append(third, Record(t, "acme", fmt.Sprintf("m%03d", i), i))
	}
	third[17] = recs[7]
	add(t, s, "acme", next, pending(third...))
	var want []string
	for _, r := range recs {
		want = append(want, r.ID)
	}
	for i, r := range again {
		if i != 10 && i != 20 && i != 30 {
			want = append(want, r.ID)
		}
	}
	for i, r := range third {
		if i != 17 {
			want = append(want, r.ID)
		}
	}
	var got []string
	for st, err := range s.Records(context.Background(), "acme", 0, uint64(len(want))+1) {
		if err != nil {
			t.Fatal(err)
		}
		if st.Index != uint64(len(got)) {
			t.Fatalf("entry %d has index %d", len(got), st.Index)
		}
		got = append(got, st.ID)
	}
	if !slices.Equal(got, want) {
		t.Errorf("the log holds\n%v\nwant\n%v", got, want)
	}
}

func testTenants(t *testing.T, s waarborg.Store) {
	ctx := context.Background()
	add(t, s, "a", 0, pending(Record(t, "a", "x", 1)))
	add(t, s, "b", 0, pending(Record(t, "b", "x", 2)))
	ts, err := s.Tenants(ctx)
	if err != nil || len(ts) != 2 || ts[0] != "a" || ts[1] != "b" {
		t.Fatalf("Tenants = %v, %v", ts, err)
	}
	st, err := s.Record(ctx, "b", "x")
	if err != nil || st.Index != 0 || st.Tenant != "b" {
		t.Fatalf("tenant b's record: %+v, %v", st, err)
	}
	if _, err := s.Record(ctx, "c", "x"); waarborg.ErrorCode(err) != waarborg.ENOTFOUND {
		t.Errorf("unknown tenant: %v", err)
	}
}

func testTiles(t *testing.T, s waarborg.Store) {
	ctx := context.Background()
	h1 := bytes.Repeat([]byte{1}, 64)
	h2 := bytes.Repeat([]byte{2}, 96)
	for _, h := range [][]byte{h1, h2} {
		err := s.Update(ctx, func(tx waarborg.Tx) error {
			return tx.PutTiles("acme", []waarborg.Tile{{Level: 0, Index: 3, Hashes: h}, {Level: 1, Index: 0, Hashes: h[:32]}})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Tiles(ctx, "acme", []waarborg.TileID{{Level: 0, Index: 3}, {Level: 1, Index: 0}, {Level: 0, Index: 4}})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got[waarborg.TileID{Level: 0, Index: 3}], h2) || len(got) != 2 {
		t.Errorf("Tiles = %v", got)
	}
}

func testCheckpoints(t *testing.T, s waarborg.Store) {
	ctx := context.Background()
	if _, err := s.Checkpoint(ctx, "acme", 0); waarborg.ErrorCode(err) != waarborg.ENOTFOUND {
		t.Errorf("no checkpoint yet: %v", err)
	}
	for _, size := range []uint64{5, 9} {
		cp := &waarborg.Checkpoint{Tenant: "acme", Size: size, Root: bytes.Repeat([]byte{byte(size)}, 32), SignedAt: received, Note: []byte(fmt.Sprint("note ", size))}
		if err := s.Update(ctx, func(tx waarborg.Tx) error { return tx.AddCheckpoint(cp) }); err != nil {
			t.Fatal(err)
		}
	}
	cp, err := s.Checkpoint(ctx, "acme", 0)
	if err != nil || cp.Size != 9 || string(cp.Note) != "note 9" || !cp.SignedAt.Equal(received) {
		t.Errorf("latest = %+v, %v", cp, err)
	}
	cp, err = s.Checkpoint(ctx, "acme", 5)
	if err != nil || cp.Size != 5 {
		t.Errorf("size 5 = %+v, %v", cp, err)
	}
	cps, err := s.Checkpoints(ctx, "acme")
	if err != nil || len(cps) != 2 || cps[0].Size != 5 {
		t.Errorf("Checkpoints = %+v, %v", cps, err)
	}
}

func testRollback(t *testing.T, s waarborg.Store) {
	ctx := context.Background()
	err := s.Update(ctx, func(tx waarborg.Tx) error {
		if err := tx.Add("acme", 0, pending(Record(t, "acme", "x", 1))); err != nil {
			return err
		}
		return fmt.Errorf("changed my mind")
	})
	if err == nil {
		t.Fatal("Update returned nil for a failing function")
	}
	if n, err := s.Size(ctx, "acme"); err != nil || n != 0 {
		t.Errorf("after rollback Size = %d, %v", n, err)
	}
	// The tenant is usable afterwards.
	add(t, s, "acme", 0, pending(Record(t, "acme", "x", 1)))
}

func testCorrections(t *testing.T, s waarborg.Store) {
	ctx := context.Background()
	correction := func(id, corrects string) *waarborg.Record {
		line := fmt.Sprintf(`{"id":%q,"tenant":"acme","source":"corp/mes","type":"correction","time":"2026-03-02T06:00:00Z","actor":"qa","data":{"corrects":%q,"type":"historian.sample","reason":"sensor swap","data":{"tag":"t1","value":7}}}`, id, corrects)
		r, err := waarborg.ParseRecord([]byte(line))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	// A correction may arrive before the record it names.
	add(t, s, "acme", 0, pending(correction("c1", "a"), Record(t, "acme", "a", 1), correction("c2", "a"), correction("c3", "b")))
	ids, err := s.Corrections(ctx, "acme", "a")
	if err != nil || fmt.Sprint(ids) != "[c1 c2]" {
		t.Errorf("Corrections(a) = %v, %v; want [c1 c2]", ids, err)
	}
	// The corrected record stays as it was sent.
	st, err := s.Record(ctx, "acme", "a")
	if err != nil || !bytes.Equal(st.Canonical, Record(t, "acme", "a", 1).Canonical) {
		t.Errorf("corrected record changed: %v", err)
	}
	if ids, err := s.Corrections(ctx, "acme", "zzz"); err != nil || len(ids) != 0 {
		t.Errorf("Corrections of an uncorrected id = %v, %v", ids, err)
	}
}

func testCosignatures(t *testing.T, s waarborg.Store) {
	ctx := context.Background()
	at := time.Date(2026, 4, 1, 0, 3, 0, 0, time.UTC)
	cosign := func(size uint64, witness string, at time.Time) *waarborg.Cosignature {
		return &waarborg.Cosignature{Tenant: "acme", Size: size, Witness: witness, KeyHash: 0xdeadbeef, Time: at, Line: "— " + witness + " c2ln\n"}
	}
	err := s.Update(ctx, func(tx waarborg.Tx) error {
		if err := tx.AddCheckpoint(&waarborg.Checkpoint{Tenant: "acme", Size: 5, Root: make([]byte, 32), SignedAt: received, Note: []byte("n")}); err != nil {
			return err
		}
		for _, c := range []*waarborg.Cosignature{cosign(5, "w2", at), cosign(5, "w1", at), cosign(5, "w1", at.Add(time.Hour)), cosign(6, "w1", at)} {
			if err := tx.AddCosignature(c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Cosignatures(ctx, "acme", 5)
	if err != nil || len(got) != 2 {
		t.Fatalf("Cosignatures = %+v, %v; want two", got, err)
	}
	// The first cosignature of a witness stays: it is the earliest time.
	if w := got[0]; w.Witness != "w1" || !w.Time.Equal(at) || w.KeyHash != 0xdeadbeef || w.Line != "— w1 c2ln\n" || w.Size != 5 || w.Tenant != "acme" {
		t.Errorf("first cosignature = %+v", w)
	}
	if got, err := s.Cosignatures(ctx, "acme", 9); err != nil || len(got) != 0 {
		t.Errorf("Cosignatures of an uncosigned size = %+v, %v", got, err)
	}
	if got, err := s.Cosignatures(ctx, "nobody", 5); err != nil || len(got) != 0 {
		t.Errorf("Cosignatures of an unknown tenant = %+v, %v", got, err)
	}
}
