package ledger_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/ledger"
	"github.com/waarborg/waarborg/storetest"
)

// BenchmarkInclusionProof measures an inclusion proof in a log of
// WAARBORG_BENCH_LEAVES leaves (default 10 million), read from the store.
// The tree is written as tiles directly: ingesting that many records would
// measure ingest, not proofs.
func BenchmarkInclusionProof(b *testing.B) {
	size := uint64(10_000_000)
	if s := os.Getenv("WAARBORG_BENCH_LEAVES"); s != "" {
		size, _ = strconv.ParseUint(s, 10, 64)
	}
	f := newFixture(b, storetest.Backends()[0])
	ctx := context.Background()
	root := writeTree(b, f.store, "acme", size)
	l := f.open()
	defer l.Close()
	r := rand.New(rand.NewPCG(1, 2))
	for b.Loop() {
		idx := r.Uint64N(size)
		path, err := l.InclusionPath(ctx, "acme", idx, size)
		if err != nil {
			b.Fatal(err)
		}
		if err := ledger.VerifyInclusion(idx, size, leafHash(idx), path, root); err != nil {
			b.Fatal(err)
		}
	}
}

func leafHash(i uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], i)
	h := sha256.Sum256(b[:])
	return h[:]
}

// writeTree stores the tiles of a tree of synthetic leaves and returns its root.
func writeTree(b *testing.B, s waarborg.Store, tenant string, size uint64) []byte {
	b.Helper()
	rf := compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}
	rng := rf.NewEmptyRange(0)
	tiles := map[waarborg.TileID][]byte{}
	complete := map[waarborg.TileID]bool{}
	visit := func(id compact.NodeID, hash []byte) {
		d := id.Level % 8
		first := id.Index << d
		tid := waarborg.TileID{Level: uint8(id.Level / 8), Index: first / 256}
		if tiles[tid] == nil {
			tiles[tid] = make([]byte, 511*32)
		}
		copy(tiles[tid][(512-512>>d+(first%256)>>d)*32:], hash)
		if d == 7 && first%256 == 128 {
			complete[tid] = true
		}
	}
	flush := func() {
		var batch []waarborg.Tile
		for id, h := range tiles {
			batch = append(batch, waarborg.Tile{Level: id.Level, Index: id.Index, Hashes: h})
		}
		if err := s.Update(context.Background(), func(tx waarborg.Tx) error { return tx.PutTiles(tenant, batch) }); err != nil {
			b.Fatal(err)
		}
		for id := range complete {
			delete(tiles, id)
			delete(complete, id)
		}
	}
	for i := range size {
		_ = rng.Append(leafHash(i), visit)
		if i%(1<<20) == 0 {
			flush()
		}
	}
	flush()
	root, _ := rng.GetRootHash(nil)
	return root
}
