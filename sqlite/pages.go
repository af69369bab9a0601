package sqlite

import (
	"context"
	"fmt"
	"math"

	"github.com/waarborg/waarborg"
)

var _ waarborg.CheckpointPages = (*DB)(nil)

// CheckpointsBefore returns up to limit checkpoints with size below before
// (0: any), newest first, by the checkpoints' primary key.
func (db *DB) CheckpointsBefore(ctx context.Context, tenant string, before uint64, limit int) ([]waarborg.Checkpoint, error) {
	tid, err := db.tenantID(ctx, db.read, tenant)
	if err != nil || tid == 0 {
		return nil, err
	}
	bound := int64(math.MaxInt64)
	if before > 0 && before < math.MaxInt64 {
		bound = int64(before)
	}
	rows, err := db.read.QueryContext(ctx, "SELECT size, root, signed_at, note FROM checkpoints WHERE tenant = ? AND size < ? ORDER BY size DESC LIMIT ?", tid, bound, limit)
	if err != nil {
		return nil, fmt.Errorf("list checkpoints: %w", err)
	}
	return scanCheckpoints(rows, tenant)
}
