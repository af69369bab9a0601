package ledger

import (
	"errors"
	"fmt"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// VerifyInclusion checks that leafHash is the leaf at index of the tree of
// the given size and root (RFC 9162, 2.1.3.2).
func VerifyInclusion(index, size uint64, leafHash []byte, path [][]byte, root []byte) error {
	if index >= size {
		return fmt.Errorf("leaf index %d is outside a tree of size %d", index, size)
	}
	return proof.VerifyInclusion(rfc6962.DefaultHasher, index, size, leafHash, path, root)
}

// VerifyConsistency checks that the tree (size2, root2) extends the tree
// (size1, root1) (RFC 9162, 2.1.4.2). Unlike merkle v0.0.2 it rejects any
// proof from an empty tree: such a proof proves nothing, and an auditor must
// not read it as one.
func VerifyConsistency(size1, size2 uint64, path [][]byte, root1, root2 []byte) error {
	switch {
	case size1 > size2:
		return fmt.Errorf("size1 %d is greater than size2 %d", size1, size2)
	case size1 == 0:
		return errors.New("a consistency proof from an empty tree proves nothing")
	}
	return proof.VerifyConsistency(rfc6962.DefaultHasher, size1, size2, path, root1, root2)
}
