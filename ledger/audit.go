package ledger

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"runtime"
	"strings"
	"sync"

	"golang.org/x/mod/sumdb/note"

	"github.com/waarborg/waarborg"
)

// A Report is the outcome of re-checking one tenant's log.
type Report struct {
	Tenant      string
	Entries     uint64
	Checkpoints int
	Problems    []Problem
}

// A Problem is one failed check. ID names the record for record problems;
// Size names the checkpoint for checkpoint problems.
type Problem struct {
	ID     string `json:"id,omitempty"`
	Index  uint64 `json:"index"`
	Size   uint64 `json:"checkpoint_size,omitempty"`
	Reason string `json:"reason"`
}

// Problem reasons.
const (
	Tampered     = "tampered"                // the stored record does not hash to its leaf
	Missing      = "missing"                 // an entry of the log is not stored
	Inconsistent = "inconsistent-checkpoint" // a checkpoint's signature or root does not hold
)

// Verify re-hashes every stored entry of tenant's log, compares each leaf
// with the stored tree, rebuilds the tree from the leaves and checks every
// kept checkpoint's signature and root against it. A checkpoint whose root
// matches the rebuilt tree at its size is consistent with every other such
// checkpoint, the newest included.
func Verify(ctx context.Context, s waarborg.Store, tenant string, verifier note.Verifier, deployment string) (*Report, error) {
	return VerifyEach(ctx, s, tenant, verifier, deployment, 0, nil)
}

// VerifyEach is Verify of the first upTo entries (0: all) that also hands
// each entry's record, parsed on all cores, to each in log order: one read
// of the log serves a full check and an evaluation over every record. An
// entry whose content no longer parses is reported tampered; no tampered
// entry is handed on. Checkpoints beyond upTo are not checked.
func VerifyEach(ctx context.Context, s waarborg.Store, tenant string, verifier note.Verifier, deployment string, upTo uint64, each func(*waarborg.Record)) (*Report, error) {
	rep := &Report{Tenant: tenant}
	cps, err := s.Checkpoints(ctx, tenant)
	if err != nil {
		return nil, err
	}
	if upTo > 0 {
		n := 0
		for n < len(cps) && cps[n].Size <= upTo {
			n++
		}
		cps = cps[:n]
	}
	rep.Checkpoints = len(cps)
	rng := factory.NewEmptyRange(0)
	next := 0 // next checkpoint to compare
	checkRoots := func() {
		for next < len(cps) && cps[next].Size == rng.End() {
			cp := cps[next]
			root, _ := rng.GetRootHash(nil)
			if !bytes.Equal(root, cp.Root) {
				rep.Problems = append(rep.Problems, Problem{Size: cp.Size, Reason: Inconsistent})
			}
			next++
		}
	}
	var keyRecs []KeyRecord
	var tile []byte
	tileIndex := ^uint64(0)
	const tilesAhead = 128
	ahead := make(map[uint64][]byte, tilesAhead) // leaf tiles read, by index; nil for a missing one
	err = hashEntries(ctx, s, tenant, upTo, each != nil, func(st *waarborg.Stored, content [32]byte, leafHash []byte, rec *waarborg.Record) error {
		for st.Index > rng.End() { // rows removed from the store
			rep.Problems = append(rep.Problems, Problem{Index: rng.End(), Reason: Missing})
			_ = rng.Append(make([]byte, hashSize), nil)
			checkRoots()
		}
		if ti := st.Index / tileWidth; ti != tileIndex {
			if _, ok := ahead[ti]; !ok {
				// The leaf tiles of the next 32768 entries in one read: on a
				// database server a read per tile is a round trip each.
				ids := make([]waarborg.TileID, tilesAhead)
				for k := range ids {
					ids[k] = waarborg.TileID{Level: 0, Index: ti + uint64(k)}
				}
				read, err := s.Tiles(ctx, tenant, ids)
				if err != nil {
					return err
				}
				clear(ahead)
				for _, id := range ids {
					ahead[id.Index] = read[id]
				}
			}
			tile, tileIndex = ahead[ti], ti
		}
		pos := tilePos(0, st.Index%tileWidth)
		var stored []byte
		if uint64(len(tile)) >= pos+hashSize {
			stored = tile[pos : pos+hashSize]
		}
		if content != st.Hash || !bytes.Equal(stored, leafHash) || each != nil && rec == nil {
			rep.Problems = append(rep.Problems, Problem{ID: st.ID, Index: st.Index, Reason: Tampered})
		} else {
			if strings.HasPrefix(st.ID, keyRecordPrefix) {
				if r, err := waarborg.ParseRecord(st.Canonical); err == nil {
					if kr, ok := ParseKeyRecord(r, st.Index); ok {
						keyRecs = append(keyRecs, kr)
					}
				}
			}
			if rec != nil {
				each(rec) // only evidence that still matches its leaf is tested
			}
		}
		// The tree is rebuilt from the stored leaves so that a checkpoint
		// fails only when the tree itself was changed; a changed record is
		// named above.
		if stored == nil {
			stored = leafHash
		}
		_ = rng.Append(stored, nil)
		rep.Entries++
		checkRoots()
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, cp := range cps[next:] {
		// A checkpoint of a size the stored log does not reach: entries were removed.
		rep.Problems = append(rep.Problems, Problem{Size: cp.Size, Reason: Inconsistent})
	}
	// Each checkpoint must be signed by the key in force at its size.
	keys, keysErr := NewKeyHistory(verifier, keyRecs)
	for _, cp := range cps {
		if keysErr != nil {
			rep.Problems = append(rep.Problems, Problem{Size: cp.Size, Reason: Inconsistent})
			continue
		}
		n, err := note.Open(cp.Note, note.VerifierList(keys.At(cp.Size)))
		if err == nil {
			origin, size, root, perr := ParseCheckpointText(n.Text)
			if perr != nil || origin != Origin(deployment, tenant) || size != cp.Size || !bytes.Equal(root, cp.Root) {
				err = fmt.Errorf("signed text does not match")
			}
		}
		if err != nil {
			rep.Problems = append(rep.Problems, Problem{Size: cp.Size, Reason: Inconsistent})
		}
	}
	return rep, nil
}

// hashEntries reads a tenant's entries in segments on several connections
// at once, hashing each where it is read, and calls fn in index order with
// each content hash and leaf hash. Reading rows is the cost of a full check;
// it is what runs in parallel.
func hashEntries(ctx context.Context, s waarborg.Store, tenant string, upTo uint64, parse bool, fn func(st *waarborg.Stored, content [32]byte, leafHash []byte, rec *waarborg.Record) error) error {
	size, err := s.Size(ctx, tenant)
	if err != nil {
		return err
	}
	last := uint64(1 << 40) // the last segment reads to the end of the stored rows, whatever Size said
	if upTo > 0 {
		size, last = min(size, upTo), upTo
	}
	// Large segments make fewer queries; parsed records are large, so a pass
	// that parses keeps fewer in flight.
	segment := uint64(1 << 15)
	if parse {
		segment = 1 << 12
	}
	type hashed struct {
		entries []*waarborg.Stored
		content [][32]byte
		leaves  [][]byte
		recs    []*waarborg.Record
		err     error
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	readers := max(2, runtime.GOMAXPROCS(0))
	// One result channel per segment, handed out in order, bounds read-ahead.
	results := make(chan chan hashed, readers)
	starts := make(chan uint64)
	go func() {
		defer close(starts)
		// A last segment to the end of the stored rows, whatever Size said.
		for from := uint64(0); ; from += segment {
			select {
			case starts <- from:
			case <-ctx.Done():
				return
			}
			if from >= size {
				return
			}
		}
	}()
	var mu sync.Mutex // hands out segments and their result slots in one order
	var wg sync.WaitGroup
	for range readers {
		wg.Go(func() {
			for {
				mu.Lock()
				from, ok := <-starts
				var out chan hashed
				if ok {
					out = make(chan hashed, 1)
					select {
					case results <- out:
					case <-ctx.Done():
						ok = false
					}
				}
				mu.Unlock()
				if !ok {
					return
				}
				to := min(from+segment, last)
				if from >= size {
					to = last
				}
				var h hashed
				for st, err := range s.Records(ctx, tenant, from, to) {
					if err != nil {
						h.err = err
						break
					}
					c := sha256.Sum256(st.Canonical)
					h.entries = append(h.entries, st)
					h.content = append(h.content, c)
					h.leaves = append(h.leaves, hasher.HashLeaf(waarborg.Leaf(st.Tenant, st.ID, st.ReceivedAt, c)))
					if parse {
						rec, _ := waarborg.ParseRecord(st.Canonical)
						h.recs = append(h.recs, rec)
					}
				}
				out <- h
			}
		})
	}
	go func() {
		wg.Wait()
		close(results)
	}()
	for out := range results {
		h := <-out
		if err == nil {
			err = h.err
		}
		for i := 0; err == nil && i < len(h.entries); i++ {
			var rec *waarborg.Record
			if parse {
				rec = h.recs[i]
			}
			err = fn(h.entries[i], h.content[i], h.leaves[i], rec)
		}
		if err != nil {
			cancel()
		}
	}
	return err
}
