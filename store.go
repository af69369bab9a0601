package waarborg

import (
	"context"
	"iter"
	"time"
)

// A Stored is one ledger entry as the store keeps it: the record's
// canonical JSON and what its leaf commits to.
type Stored struct {
	Tenant     string
	ID         string
	Index      uint64 // leaf index in the tenant's log
	ReceivedAt time.Time
	Hash       [32]byte // content hash as stored at append
	Canonical  []byte
}

// A Pending is a record on its way into a tenant's log. The store fills in
// Added and Index, or Existing (the content hash of the record that already
// holds the id).
type Pending struct {
	Record     *Record
	Hash       [32]byte
	ReceivedAt time.Time

	Added    bool
	Index    uint64
	Existing [32]byte
}

// A Tile holds the hashes of up to 256 consecutive nodes of one level of a
// tenant's Merkle tree: level 8·Level, node indexes 256·Index onward.
type Tile struct {
	Level  uint8
	Index  uint64
	Hashes []byte // n×32 bytes, n ≤ 256
}

// A Checkpoint is one signed tree head of a tenant's log.
type Checkpoint struct {
	Tenant   string
	Size     uint64
	Root     []byte
	SignedAt time.Time
	Note     []byte // the C2SP signed note
}

// Store keeps tenants' records, Merkle tiles and checkpoints. It is
// implemented on SQLite and PostgreSQL and both run the storetest suite.
//
// Reads return *Error with ENOTFOUND for what does not exist. Methods are
// safe for concurrent use; Update runs its function in one transaction that
// is durable when Update returns nil.
type Store interface {
	Update(ctx context.Context, fn func(tx Tx) error) error

	Tenants(ctx context.Context) ([]string, error)
	// Size returns the number of entries in a tenant's log.
	Size(ctx context.Context, tenant string) (uint64, error)
	Record(ctx context.Context, tenant, id string) (*Stored, error)
	// Corrections returns the ids of the corrections that name id.
	Corrections(ctx context.Context, tenant, id string) ([]string, error)
	// Records yields a tenant's entries with from ≤ index < to in index order.
	Records(ctx context.Context, tenant string, from, to uint64) iter.Seq2[*Stored, error]
	// Tiles returns the tiles asked for that exist, keyed by (level, index).
	Tiles(ctx context.Context, tenant string, ids []TileID) (map[TileID][]byte, error)
	Checkpoints(ctx context.Context, tenant string) ([]Checkpoint, error)
	// Checkpoint returns the checkpoint of the given size, or the latest when size is 0.
	Checkpoint(ctx context.Context, tenant string, size uint64) (*Checkpoint, error)
	// Cosignatures returns the witnesses' cosignatures of the checkpoint of
	// the given size, by witness name; none is not an error.
	Cosignatures(ctx context.Context, tenant string, size uint64) ([]Cosignature, error)
	Close() error
}

// TileID names a tile.
type TileID struct {
	Level uint8
	Index uint64
}

// Tx is a Store transaction on the write path. Only one runs at a time for
// a tenant's log: the ledger is its single appender.
type Tx interface {
	// Add inserts the records in order into tenant's log. Each one whose id
	// the tenant does not hold yet gets the next index from first on and
	// Added = true; any other gets Existing, the stored content hash.
	Add(tenant string, first uint64, recs []*Pending) error
	PutTiles(tenant string, tiles []Tile) error
	AddCheckpoint(cp *Checkpoint) error
	// AddCosignature keeps a witness's cosignature of a kept checkpoint.
	// A witness's first cosignature of a checkpoint is kept; later ones of
	// the same checkpoint by the same key change nothing.
	AddCosignature(c *Cosignature) error
}

// A LockingTx is the Tx of a store that several processes share
// (PostgreSQL). Lock makes the transaction the only appender of tenant's
// log until it ends—other processes' transactions on the tenant wait—and
// returns the log's size and the size of its latest checkpoint, so that an
// appender whose state is behind another process's appends reloads it.
// With create, a tenant without a log gets one, locked; without, Lock of
// such a tenant returns zeros and leaves no trace. Add on such a store
// fails rather than append anywhere but at the end.
type LockingTx interface {
	Tx
	Lock(tenant string, create bool) (size, checkpointed uint64, err error)
}
