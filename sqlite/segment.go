package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/internal/segment"
)

const maxEntries = 1 << 40 // entries of one tenant: pos keeps 40 bits for them

// pos is the rowid of segment seg of tenant tid.
func pos(tid int64, seg uint64) int64 { return tid<<40 | int64(seg) }

// tilePos is the rowid of a tile: 6 bits of level, 34 of tile index (a tile
// spans 256 nodes, so 2^42 leaves a tenant).
func tilePos(tid int64, level uint8, index uint64) int64 {
	return tid<<40 | int64(level)<<34 | int64(index)
}

// readEntry reads entry idx of a tenant's log; with an id, the entry the
// id index puts that record at, which must hold it.
func readEntry(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, tid int64, tenant, id string, idx uint64) (*waarborg.Stored, error) {
	var entries []byte
	err := q.QueryRowContext(ctx, "SELECT entries FROM segments WHERE pos = ?", pos(tid, idx/segment.Size)).Scan(&entries)
	if err != nil {
		return nil, fmt.Errorf("read segment of entry %d: %w", idx, err)
	}
	if id != "" {
		return segment.EntryOf(entries, tenant, id, idx)
	}
	return segment.Entry(entries, tenant, idx)
}
