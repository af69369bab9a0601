package ledger

import (
	"context"
	"fmt"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/waarborg/waarborg"
)

// Tiles: the store keeps the hashes of every 8th level of the tree (levels
// 0, 8, 16, …) in tiles of 256; any other node is hashed up from at most 128
// of them. That keeps writes near one hash per leaf while a proof at 10
// million leaves reads three or four tiles.
const (
	tileHeight = 8
	tileWidth  = 1 << tileHeight
	hashSize   = 32
)

var (
	hasher  = rfc6962.DefaultHasher
	factory = compact.RangeFactory{Hash: hasher.HashChildren}
)

// tree is the writer's state of one tenant's log: the compact range of all
// leaves and the right-edge tile of each tile level.
type tree struct {
	rng   *compact.Range
	edge  []*waarborg.Tile // by tile level
	dirty []*waarborg.Tile

	cpSize uint64 // size of the latest checkpoint
	cpTime int64  // its signing time, Unix ms
}

func (t *tree) size() uint64 { return t.rng.End() }

// append adds a leaf hash, keeping the tiles it touches.
func (t *tree) append(leafHash []byte) {
	_ = t.rng.Append(leafHash, t.visit) // Append fails only on a mis-built range
}

func (t *tree) visit(id compact.NodeID, hash []byte) {
	if id.Level%tileHeight != 0 {
		return
	}
	k := int(id.Level / tileHeight)
	for len(t.edge) <= k {
		t.edge = append(t.edge, nil)
	}
	ti := id.Index / tileWidth
	tl := t.edge[k]
	if tl == nil || tl.Index != ti {
		tl = &waarborg.Tile{Level: uint8(k), Index: ti, Hashes: make([]byte, 0, tileWidth*hashSize)}
		t.edge[k] = tl
	}
	if uint64(len(tl.Hashes)/hashSize) != id.Index%tileWidth {
		panic(fmt.Sprintf("ledger: node %d/%d out of order in its tile", id.Level, id.Index))
	}
	if !contains(t.dirty, tl) {
		t.dirty = append(t.dirty, tl)
	}
	tl.Hashes = append(tl.Hashes, hash...)
}

func contains(ts []*waarborg.Tile, t *waarborg.Tile) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}

// takeDirty returns copies of the tiles changed since the last call.
func (t *tree) takeDirty() []waarborg.Tile {
	out := make([]waarborg.Tile, len(t.dirty))
	for i, tl := range t.dirty {
		out[i] = waarborg.Tile{Level: tl.Level, Index: tl.Index, Hashes: append([]byte(nil), tl.Hashes...)}
	}
	t.dirty = t.dirty[:0]
	return out
}

func (t *tree) root() []byte {
	if t.size() == 0 {
		return hasher.EmptyRoot()
	}
	root, _ := t.rng.GetRootHash(nil)
	return root
}

// loadTree rebuilds a tenant's writer state from the store.
func loadTree(ctx context.Context, s waarborg.Store, tenant string) (*tree, error) {
	size, err := s.Size(ctx, tenant)
	if err != nil {
		return nil, err
	}
	t := &tree{}
	// The compact range of [0, size) is one perfect subtree per bit of size.
	var ids []compact.NodeID
	var offset uint64
	for l := 63; l >= 0; l-- {
		if size&(1<<uint(l)) != 0 {
			ids = append(ids, compact.NewNodeID(uint(l), offset>>uint(l)))
			offset += 1 << uint(l)
		}
	}
	hashes, err := nodeHashes(ctx, s, tenant, ids)
	if err != nil {
		return nil, err
	}
	if t.rng, err = factory.NewRange(0, size, hashes); err != nil {
		return nil, fmt.Errorf("rebuild compact range of %s: %w", tenant, err)
	}
	var want []waarborg.TileID
	for k := 0; k*tileHeight < 64 && size>>(k*tileHeight) > 0; k++ {
		if n := size >> (k * tileHeight); n%tileWidth != 0 {
			want = append(want, waarborg.TileID{Level: uint8(k), Index: n / tileWidth})
		}
	}
	tiles, err := s.Tiles(ctx, tenant, want)
	if err != nil {
		return nil, err
	}
	for _, id := range want {
		h, ok := tiles[id]
		if !ok || uint64(len(h)/hashSize) != (size>>(id.Level*tileHeight))%tileWidth {
			return nil, fmt.Errorf("tenant %s: edge tile %d/%d is missing or of the wrong width", tenant, id.Level, id.Index)
		}
		for len(t.edge) <= int(id.Level) {
			t.edge = append(t.edge, nil)
		}
		buf := make([]byte, len(h), tileWidth*hashSize)
		copy(buf, h)
		t.edge[id.Level] = &waarborg.Tile{Level: id.Level, Index: id.Index, Hashes: buf}
	}
	cp, err := s.Checkpoint(ctx, tenant, 0)
	switch {
	case err == nil:
		t.cpSize, t.cpTime = cp.Size, cp.SignedAt.UnixMilli()
	case waarborg.ErrorCode(err) != waarborg.ENOTFOUND:
		return nil, err
	}
	return t, nil
}

// nodeHashes returns the hashes of perfect-subtree nodes, read from tiles.
func nodeHashes(ctx context.Context, s waarborg.Store, tenant string, ids []compact.NodeID) ([][]byte, error) {
	want := make([]waarborg.TileID, 0, len(ids))
	seen := map[waarborg.TileID]bool{}
	for _, id := range ids {
		tid, _, _ := tileOf(id)
		if !seen[tid] {
			seen[tid] = true
			want = append(want, tid)
		}
	}
	tiles, err := s.Tiles(ctx, tenant, want)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(ids))
	for i, id := range ids {
		tid, from, n := tileOf(id)
		h := tiles[tid]
		if uint64(len(h)) < (from+n)*hashSize {
			return nil, fmt.Errorf("tenant %s: node %d/%d is not in the stored tree", tenant, id.Level, id.Index)
		}
		out[i] = foldUp(h[from*hashSize : (from+n)*hashSize])
	}
	return out, nil
}

// tileOf returns the tile that holds the descendants of id at the tile's
// level, and their position and count in it.
func tileOf(id compact.NodeID) (waarborg.TileID, uint64, uint64) {
	k := id.Level / tileHeight
	d := id.Level % tileHeight
	first := id.Index << d
	return waarborg.TileID{Level: uint8(k), Index: first / tileWidth}, first % tileWidth, 1 << d
}

// foldUp hashes a power-of-two run of sibling hashes up to their root.
func foldUp(h []byte) []byte {
	n := len(h) / hashSize
	if n == 1 {
		return append([]byte(nil), h...)
	}
	level := make([][]byte, n)
	for i := range level {
		level[i] = h[i*hashSize : (i+1)*hashSize]
	}
	for len(level) > 1 {
		next := level[:len(level)/2]
		for i := range next {
			next[i] = hasher.HashChildren(level[2*i], level[2*i+1])
		}
		level = next
	}
	return level[0]
}
