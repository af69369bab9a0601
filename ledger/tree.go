package ledger

import (
	"bytes"
	"context"
	"fmt"
	"sync"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/waarborg/waarborg"
)

// Tiles: the tree is cut into bands of 8 levels; a tile holds every node of
// one band above 256 consecutive nodes of its bottom level (511 hashes, two
// per leaf in all), laid out bottom level first. A proof at 10 million leaves
// reads three tiles and hashes nothing; a partial tile at the right edge is
// rewritten as it fills.
const (
	tileHeight = 8
	tileWidth  = 1 << tileHeight
	hashSize   = 32
	tileSize   = (2*tileWidth - 1) * hashSize
)

// tilePos returns the byte offset in its tile of the node at band-relative
// level d whose bottom-level descendants start at position first (< 256).
func tilePos(d uint, first uint64) uint64 {
	// Levels below d take 256 + 128 + … + (256 >> (d-1)) = 512 - (512 >> d) slots.
	return (2*tileWidth - (2*tileWidth)>>d + first>>d) * hashSize
}

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
	tid, d, first := tileOf(id)
	for len(t.edge) <= int(tid.Level) {
		t.edge = append(t.edge, nil)
	}
	// Nodes are made left to right, so a node's tile is its band's newest.
	tl := t.edge[tid.Level]
	if tl == nil || tl.Index != tid.Index {
		tl = &waarborg.Tile{Level: tid.Level, Index: tid.Index, Hashes: make([]byte, tileSize)}
		t.edge[tid.Level] = tl
	}
	if !contains(t.dirty, tl) {
		t.dirty = append(t.dirty, tl)
	}
	copy(tl.Hashes[tilePos(d, first):], hash)
}

// appendAdded appends the leaves of the pending records the store added,
// which must have the next indexes in order.
func (t *tree) appendAdded(pending []*waarborg.Pending, leaves [][]byte) error {
	for j, p := range pending {
		if !p.Added {
			continue
		}
		if p.Index != t.size() {
			return fmt.Errorf("store gave index %d to a leaf that is number %d", p.Index, t.size())
		}
		t.append(leaves[j])
	}
	return nil
}

// appendAhead appends leaves to a copy of t on another goroutine, while the
// writer stores them: the store then usually reports them all added, in
// order, and the copy becomes t (see adopt). It does not change t.
func (t *tree) appendAhead(leaves [][]byte) (wait func() *tree) {
	c := t.clone()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, leaf := range leaves {
			c.append(leaf)
		}
	}()
	return func() *tree {
		<-done
		return c
	}
}

// clone returns a copy of t that shares nothing that append changes.
func (t *tree) clone() *tree {
	c := *t
	hashes := make([][]byte, 0, len(t.rng.Hashes()))
	for _, h := range t.rng.Hashes() {
		hashes = append(hashes, bytes.Clone(h))
	}
	// The hashes come from a valid range: NewRange cannot fail on them.
	c.rng, _ = factory.NewRange(t.rng.Begin(), t.rng.End(), hashes)
	copies := map[*waarborg.Tile]*waarborg.Tile{}
	copyOf := func(tl *waarborg.Tile) *waarborg.Tile {
		if tl == nil {
			return nil
		}
		if cp, ok := copies[tl]; ok {
			return cp
		}
		cp := &waarborg.Tile{Level: tl.Level, Index: tl.Index, Hashes: bytes.Clone(tl.Hashes)}
		copies[tl] = cp
		return cp
	}
	c.edge = make([]*waarborg.Tile, len(t.edge))
	for i, tl := range t.edge {
		c.edge[i] = copyOf(tl)
	}
	c.dirty = make([]*waarborg.Tile, len(t.dirty))
	for i, tl := range t.dirty {
		c.dirty[i] = copyOf(tl)
	}
	return &c
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
	hashes, err := nodeHashes(ctx, s, nil, tenant, ids)
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
		if !ok || len(h) != tileSize {
			return nil, fmt.Errorf("tenant %s: edge tile %d/%d is missing or of the wrong size", tenant, id.Level, id.Index)
		}
		for len(t.edge) <= int(id.Level) {
			t.edge = append(t.edge, nil)
		}
		t.edge[id.Level] = &waarborg.Tile{Level: id.Level, Index: id.Index, Hashes: bytes.Clone(h)}
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
func nodeHashes(ctx context.Context, s waarborg.Store, cache *tileCache, tenant string, ids []compact.NodeID) ([][]byte, error) {
	tiles := map[waarborg.TileID][]byte{}
	var want []waarborg.TileID
	for _, id := range ids {
		tid, _, _ := tileOf(id)
		if _, ok := tiles[tid]; ok {
			continue
		}
		if h := cache.get(tenant, tid); h != nil {
			tiles[tid] = h
			continue
		}
		tiles[tid] = nil
		want = append(want, tid)
	}
	if len(want) > 0 {
		read, err := s.Tiles(ctx, tenant, want)
		if err != nil {
			return nil, err
		}
		for tid, h := range read {
			tiles[tid] = h
			cache.put(tenant, tid, h)
		}
	}
	var zero [hashSize]byte
	out := make([][]byte, len(ids))
	for i, id := range ids {
		tid, d, first := tileOf(id)
		h, at := tiles[tid], tilePos(d, first)
		if uint64(len(h)) < at+hashSize || bytes.Equal(h[at:at+hashSize], zero[:]) {
			return nil, fmt.Errorf("tenant %s: node %d/%d is not in the stored tree", tenant, id.Level, id.Index)
		}
		out[i] = bytes.Clone(h[at : at+hashSize])
	}
	return out, nil
}

// tileOf returns the tile of a node, its level in the tile's band, and the
// position in the tile of its first bottom-level descendant.
func tileOf(id compact.NodeID) (tid waarborg.TileID, d uint, first uint64) {
	d = id.Level % tileHeight
	first = id.Index << d
	return waarborg.TileID{Level: uint8(id.Level / tileHeight), Index: first / tileWidth}, d, first % tileWidth
}

// tileCache keeps complete tiles, which never change, for proofs: the few
// upper tiles of a log serve every proof.
type tileCache struct {
	mu    sync.Mutex
	tiles map[tileKey][]byte
}

type tileKey struct {
	tenant string
	id     waarborg.TileID
}

const cachedTiles = 4096 // 64 MiB

func (c *tileCache) get(tenant string, id waarborg.TileID) []byte {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tiles[tileKey{tenant, id}]
}

func (c *tileCache) put(tenant string, id waarborg.TileID, h []byte) {
	// Only a complete tile, whose band root (the last slot) is set, is final.
	if c == nil || len(h) != tileSize || bytes.Equal(h[tileSize-hashSize:], make([]byte, hashSize)) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tiles == nil {
		c.tiles = map[tileKey][]byte{}
	}
	if len(c.tiles) >= cachedTiles {
		for k := range c.tiles { // evict one at random
			delete(c.tiles, k)
			break
		}
	}
	c.tiles[tileKey{tenant, id}] = h
}
