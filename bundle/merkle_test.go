package bundle

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
)

// mth is RFC 6962's Merkle tree hash, written from the RFC as an oracle.
func mth(leaves [][]byte) []byte {
	switch len(leaves) {
	case 0:
		return rfc6962.DefaultHasher.EmptyRoot()
	case 1:
		return leaves[0]
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	return rfc6962.DefaultHasher.HashChildren(mth(leaves[:k]), mth(leaves[k:]))
}

// The verifier's range, started from the compact range the writer takes
// from transparency-dev/merkle at any size, gives RFC 6962's root at every
// later size.
func TestMerkleRange(t *testing.T) {
	var leaves [][]byte
	for i := range 70 {
		leaf := fmt.Appendf(nil, "leaf %d", i)
		leaves = append(leaves, hashLeaf(leaf))
		if !bytes.Equal(leaves[i], rfc6962.DefaultHasher.HashLeaf(leaf)) {
			t.Fatal("leaf hash differs from RFC 6962's")
		}
	}
	factory := compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}
	for start := range len(leaves) {
		ref := factory.NewEmptyRange(0)
		for _, l := range leaves[:start] {
			if err := ref.Append(l, nil); err != nil {
				t.Fatal(err)
			}
		}
		r, err := newMerkleRange(uint64(start), ref.Hashes())
		if err != nil {
			t.Fatalf("start %d: %v", start, err)
		}
		if !bytes.Equal(r.root(), mth(leaves[:start])) {
			t.Fatalf("start %d: root differs from RFC 6962's", start)
		}
		for end := start; end < len(leaves); end++ {
			r.append(leaves[end])
			if !bytes.Equal(r.root(), mth(leaves[:end+1])) {
				t.Fatalf("from %d to %d: root differs from RFC 6962's", start, end+1)
			}
		}
	}
	if _, err := newMerkleRange(5, make([][]byte, 1)); err == nil {
		t.Error("a range of size 5 with one hash was accepted")
	}
}
