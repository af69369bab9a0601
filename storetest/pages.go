package storetest

import (
	"context"
	"slices"
	"testing"

	"github.com/waarborg/waarborg"
)

// testCheckpointPages checks the optional waarborg.CheckpointPages against
// Checkpoints, for a store that implements it.
func testCheckpointPages(t *testing.T, s waarborg.Store) {
	p, ok := s.(waarborg.CheckpointPages)
	if !ok {
		t.Skip("the store does not implement waarborg.CheckpointPages")
	}
	ctx := context.Background()
	if cps, err := p.CheckpointsBefore(ctx, "nobody", 0, 10); err != nil || len(cps) != 0 {
		t.Errorf("CheckpointsBefore of no tenant: %v, %v", cps, err)
	}
	err := s.Update(ctx, func(tx waarborg.Tx) error {
		for size := uint64(1); size <= 7; size++ {
			if err := tx.AddCheckpoint(&waarborg.Checkpoint{Tenant: "acme", Size: size, Root: []byte{byte(size)}, SignedAt: received, Note: []byte("note")}); err != nil {
				return err
			}
		}
		return tx.AddCheckpoint(&waarborg.Checkpoint{Tenant: "beta", Size: 9, Root: []byte{9}, SignedAt: received, Note: []byte("note")})
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		before uint64
		limit  int
		want   []uint64
	}{{0, 3, []uint64{7, 6, 5}}, {5, 3, []uint64{4, 3, 2}}, {2, 3, []uint64{1}}, {1, 3, nil}, {100, 2, []uint64{7, 6}}} {
		cps, err := p.CheckpointsBefore(ctx, "acme", tt.before, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		var got []uint64
		for _, cp := range cps {
			got = append(got, cp.Size)
			if cp.Tenant != "acme" || cp.Root[0] != byte(cp.Size) || !cp.SignedAt.Equal(received) {
				t.Errorf("checkpoint %+v", cp)
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("before %d: sizes %v, want %v", tt.before, got, tt.want)
		}
	}
}
