package bundle

import (
	"crypto/sha256"
	"fmt"
	"math/bits"
)

// The verifier's own RFC 9162 hashing, so that recomputing a root from the
// bundle does not rest on the code that built the tree.

func hashLeaf(leaf []byte) []byte {
	h := sha256.New()
	h.Write([]byte{0})
	h.Write(leaf)
	return h.Sum(nil)
}

func hashChildren(l, r []byte) []byte {
	h := sha256.New()
	h.Write([]byte{1})
	h.Write(l)
	h.Write(r)
	return h.Sum(nil)
}

// merkleRange is the compact range [0, size) of a tree: the roots of the
// perfect subtrees that cover it, one per bit of size, largest first.
type merkleRange struct {
	size   uint64
	hashes [][]byte
}

func newMerkleRange(size uint64, hashes [][]byte) (*merkleRange, error) {
	if n := bits.OnesCount64(size); len(hashes) != n {
		return nil, fmt.Errorf("has %d hashes, a range of size %d has %d", len(hashes), size, n)
	}
	for i, h := range hashes {
		if len(h) != sha256.Size {
			return nil, fmt.Errorf("hash %d is %d bytes, not 32", i, len(h))
		}
	}
	return &merkleRange{size: size, hashes: hashes}, nil
}

// append adds a leaf hash: each trailing one bit of the old size is a
// subtree of the new leaf's height, which the leaf's subtree now completes.
func (r *merkleRange) append(leafHash []byte) {
	r.hashes = append(r.hashes, leafHash)
	for s := r.size; s&1 == 1; s >>= 1 {
		n := len(r.hashes)
		merged := hashChildren(r.hashes[n-2], r.hashes[n-1])
		r.hashes = append(r.hashes[:n-2], merged)
	}
	r.size++
}

// root returns the tree hash: the subtrees folded from the right.
func (r *merkleRange) root() []byte {
	if len(r.hashes) == 0 {
		h := sha256.Sum256(nil)
		return h[:]
	}
	h := r.hashes[len(r.hashes)-1]
	for i := len(r.hashes) - 2; i >= 0; i-- {
		h = hashChildren(r.hashes[i], h)
	}
	return h
}
