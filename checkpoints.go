package waarborg

import "context"

// CheckpointPages is what a Store may also implement to list a tenant's
// checkpoints a page at a time: a live log signs one a second, and a page
// must not read a year's worth to show twenty-five. Callers fall back to
// Store.Checkpoints when a store does not implement it.
type CheckpointPages interface {
	// CheckpointsBefore returns up to limit checkpoints of tenant whose
	// size is below before (0: no bound), newest first. It reads about
	// limit checkpoints, however many the tenant has.
	CheckpointsBefore(ctx context.Context, tenant string, before uint64, limit int) ([]Checkpoint, error)
}
