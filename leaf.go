package waarborg

import (
	"encoding/hex"
	"time"
)

// LeafVersion is the first line of every ledger leaf.
const LeafVersion = "waarborg-leaf/v1"

// Leaf returns the ledger leaf of a record (records.md, Ledger): five lines,
// each ending in "\n", that anyone can recompute from the record and its
// receipt time.
func Leaf(tenant, id string, receivedAt time.Time, contentHash [32]byte) []byte {
	return AppendLeaf(make([]byte, 0, len(LeafVersion)+len(tenant)+len(id)+24+64+5), tenant, id, FormatReceived(receivedAt), contentHash)
}

// AppendLeaf appends the leaf of a record to b; received is the receipt
// time as FormatReceived gives it, so that a batch received at one instant
// formats it once.
func AppendLeaf(b []byte, tenant, id, received string, contentHash [32]byte) []byte {
	b = append(b, LeafVersion...)
	b = append(b, '\n')
	b = append(b, tenant...)
	b = append(b, '\n')
	b = append(b, id...)
	b = append(b, '\n')
	b = append(b, received...)
	b = append(b, '\n')
	b = hex.AppendEncode(b, contentHash[:])
	return append(b, '\n')
}
