package ledger

import (
	"context"

	"github.com/transparency-dev/merkle/compact"
)

// RangeHashes returns the compact range of tenant's log at size: the hashes
// of the perfect subtrees that cover [0, size), largest first, as
// compact.Range holds them. From them and the leaf hashes appended after
// size anyone can recompute the root of a later tree, which proves that no
// entry between the two was left out. Size 0 gives an empty list.
func (l *Ledger) RangeHashes(ctx context.Context, tenant string, size uint64) ([][]byte, error) {
	ids := compact.RangeNodes(0, size, nil)
	if len(ids) == 0 {
		return [][]byte{}, nil
	}
	return nodeHashes(ctx, l.cfg.Store, &l.tiles, tenant, ids)
}
