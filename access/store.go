package access

import (
	"context"
	"iter"

	"github.com/waarborg/waarborg"
)

// restricted is a read-only waarborg.Store that answers only for the
// tenants grants admits: every other tenant looks like one with no log.
type restricted struct {
	s      waarborg.Store
	grants func(tenant string) bool
}

var (
	_ waarborg.Store           = (*restricted)(nil)
	_ waarborg.CheckpointPages = (*restricted)(nil)
)

func (r *restricted) check(tenant string) error {
	if !r.grants(tenant) {
		return waarborg.Errorf(waarborg.ENOTFOUND, "no such tenant")
	}
	return nil
}

func (r *restricted) Update(context.Context, func(waarborg.Tx) error) error {
	return waarborg.Errorf(waarborg.EFORBIDDEN, "a view of the store is read-only")
}

func (r *restricted) Tenants(ctx context.Context) ([]string, error) {
	all, err := r.s.Tenants(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, t := range all {
		if r.grants(t) {
			out = append(out, t)
		}
	}
	return out, nil
}

func (r *restricted) Size(ctx context.Context, tenant string) (uint64, error) {
	if err := r.check(tenant); err != nil {
		return 0, err
	}
	return r.s.Size(ctx, tenant)
}

func (r *restricted) Record(ctx context.Context, tenant, id string) (*waarborg.Stored, error) {
	if err := r.check(tenant); err != nil {
		return nil, err
	}
	return r.s.Record(ctx, tenant, id)
}

func (r *restricted) Corrections(ctx context.Context, tenant, id string) ([]string, error) {
	if err := r.check(tenant); err != nil {
		return nil, err
	}
	return r.s.Corrections(ctx, tenant, id)
}

func (r *restricted) Records(ctx context.Context, tenant string, from, to uint64) iter.Seq2[*waarborg.Stored, error] {
	if err := r.check(tenant); err != nil {
		return func(yield func(*waarborg.Stored, error) bool) { yield(nil, err) }
	}
	return r.s.Records(ctx, tenant, from, to)
}

func (r *restricted) Tiles(ctx context.Context, tenant string, ids []waarborg.TileID) (map[waarborg.TileID][]byte, error) {
	if err := r.check(tenant); err != nil {
		return nil, err
	}
	return r.s.Tiles(ctx, tenant, ids)
}

func (r *restricted) Checkpoints(ctx context.Context, tenant string) ([]waarborg.Checkpoint, error) {
	if err := r.check(tenant); err != nil {
		return nil, err
	}
	return r.s.Checkpoints(ctx, tenant)
}

func (r *restricted) Checkpoint(ctx context.Context, tenant string, size uint64) (*waarborg.Checkpoint, error) {
	if err := r.check(tenant); err != nil {
		return nil, err
	}
	return r.s.Checkpoint(ctx, tenant, size)
}

func (r *restricted) Cosignatures(ctx context.Context, tenant string, size uint64) ([]waarborg.Cosignature, error) {
	if err := r.check(tenant); err != nil {
		return nil, err
	}
	return r.s.Cosignatures(ctx, tenant, size)
}

// Close does nothing: the view does not own the store.
func (r *restricted) Close() error { return nil }

// CheckpointsBefore lists a granted tenant's checkpoints a page at a time,
// through the store's own CheckpointPages where it has them.
func (r *restricted) CheckpointsBefore(ctx context.Context, tenant string, before uint64, limit int) ([]waarborg.Checkpoint, error) {
	if err := r.check(tenant); err != nil {
		return nil, err
	}
	if p, ok := r.s.(waarborg.CheckpointPages); ok {
		return p.CheckpointsBefore(ctx, tenant, before, limit)
	}
	cps, err := r.s.Checkpoints(ctx, tenant)
	if err != nil {
		return nil, err
	}
	var out []waarborg.Checkpoint
	for i := len(cps) - 1; i >= 0 && len(out) < limit; i-- {
		if before == 0 || cps[i].Size < before {
			out = append(out, cps[i])
		}
	}
	return out, nil
}
