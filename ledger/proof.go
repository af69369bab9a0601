package ledger

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/transparency-dev/merkle/proof"
	"golang.org/x/mod/sumdb/note"

	"github.com/waarborg/waarborg"
)

// An InclusionProof proves that a record is entry LeafIndex of the log that
// Checkpoint signs. Its JSON form is documented in docs/proofs.md; anyone can
// check it with CheckInclusion, or with any RFC 6962 verifier: leaf hash =
// SHA-256(0x00 || Leaf), against the root and size of the signed checkpoint.
type InclusionProof struct {
	Tenant        string   `json:"tenant"`
	ID            string   `json:"id"`
	Record        jsonRaw  `json:"record"` // the canonical JSON
	ContentSHA256 string   `json:"content_sha256"`
	ReceivedAt    string   `json:"received_at"`
	Leaf          string   `json:"leaf"`
	LeafIndex     uint64   `json:"leaf_index"`
	LeafHash      []byte   `json:"leaf_hash"`
	TreeSize      uint64   `json:"tree_size"`
	RootHash      []byte   `json:"root_hash"`
	Proof         [][]byte `json:"proof"`
	Checkpoint    string   `json:"checkpoint"`
	Corrections   []string `json:"corrections,omitempty"` // ids of corrections naming this record
}

// A ConsistencyProof proves that the log at New.Size extends the log at Old.Size.
type ConsistencyProof struct {
	Tenant string    `json:"tenant"`
	Old    TreeState `json:"old"`
	New    TreeState `json:"new"`
	Proof  [][]byte  `json:"proof"`
}

// TreeState is one signed checkpoint as a proof refers to it.
type TreeState struct {
	Size       uint64 `json:"tree_size"`
	RootHash   []byte `json:"root_hash"`
	Checkpoint string `json:"checkpoint"`
}

// jsonRaw embeds canonical JSON as is.
type jsonRaw []byte

func (r jsonRaw) MarshalJSON() ([]byte, error) { return r, nil }

func (r *jsonRaw) UnmarshalJSON(b []byte) error {
	*r = append((*r)[:0], b...)
	return nil
}

// Inclusion returns the proof that record id of tenant is in the checkpoint
// of the given size (0: the latest, made now if none covers the record).
func (l *Ledger) Inclusion(ctx context.Context, tenant, id string, size uint64) (*InclusionProof, error) {
	s := l.cfg.Store
	st, err := s.Record(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	cp, err := l.checkpointCovering(ctx, tenant, size, st.Index+1)
	if err != nil {
		return nil, err
	}
	if st.Index >= cp.Size {
		return nil, waarborg.Errorf(waarborg.EINVALID, "record %q (entry %d) is not in the checkpoint of size %d", id, st.Index, cp.Size)
	}
	path, err := l.InclusionPath(ctx, tenant, st.Index, cp.Size)
	if err != nil {
		return nil, err
	}
	corr, err := s.Corrections(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	leaf := waarborg.Leaf(tenant, st.ID, st.ReceivedAt, st.Hash)
	return &InclusionProof{
		Tenant:        tenant,
		ID:            st.ID,
		Record:        st.Canonical,
		ContentSHA256: hex.EncodeToString(st.Hash[:]),
		ReceivedAt:    waarborg.FormatReceived(st.ReceivedAt),
		Leaf:          string(leaf),
		LeafIndex:     st.Index,
		LeafHash:      hasher.HashLeaf(leaf),
		TreeSize:      cp.Size,
		RootHash:      cp.Root,
		Proof:         path,
		Checkpoint:    string(cp.Note),
		Corrections:   corr,
	}, nil
}

// InclusionPath returns the audit path of entry index in the tree of size.
func (l *Ledger) InclusionPath(ctx context.Context, tenant string, index, size uint64) ([][]byte, error) {
	nodes, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, fmt.Errorf("plan inclusion proof: %w", err)
	}
	return l.path(ctx, tenant, nodes)
}

// checkpointCovering returns the checkpoint of size, or for 0 the latest,
// signing a new one if the latest does not reach need entries.
func (l *Ledger) checkpointCovering(ctx context.Context, tenant string, size, need uint64) (*waarborg.Checkpoint, error) {
	if size != 0 {
		return l.cfg.Store.Checkpoint(ctx, tenant, size)
	}
	cp, err := l.cfg.Store.Checkpoint(ctx, tenant, 0)
	if err == nil && cp.Size >= need {
		return cp, nil
	}
	if err != nil && waarborg.ErrorCode(err) != waarborg.ENOTFOUND {
		return nil, err
	}
	return l.Sync(ctx, tenant)
}

// Consistency returns the proof that the checkpoint of size newSize extends
// that of size oldSize; both must be kept checkpoints of the tenant.
func (l *Ledger) Consistency(ctx context.Context, tenant string, oldSize, newSize uint64) (*ConsistencyProof, error) {
	if oldSize == 0 || oldSize > newSize {
		return nil, waarborg.Errorf(waarborg.EINVALID, "want 0 < old size ≤ new size, got %d and %d", oldSize, newSize)
	}
	oldCP, err := l.cfg.Store.Checkpoint(ctx, tenant, oldSize)
	if err != nil {
		return nil, err
	}
	newCP, err := l.cfg.Store.Checkpoint(ctx, tenant, newSize)
	if err != nil {
		return nil, err
	}
	nodes, err := proof.Consistency(oldSize, newSize)
	if err != nil {
		return nil, fmt.Errorf("plan consistency proof: %w", err)
	}
	path, err := l.path(ctx, tenant, nodes)
	if err != nil {
		return nil, err
	}
	return &ConsistencyProof{
		Tenant: tenant,
		Old:    TreeState{Size: oldCP.Size, RootHash: oldCP.Root, Checkpoint: string(oldCP.Note)},
		New:    TreeState{Size: newCP.Size, RootHash: newCP.Root, Checkpoint: string(newCP.Note)},
		Proof:  path,
	}, nil
}

func (l *Ledger) path(ctx context.Context, tenant string, nodes proof.Nodes) ([][]byte, error) {
	hashes, err := nodeHashes(ctx, l.cfg.Store, &l.tiles, tenant, nodes.IDs)
	if err != nil {
		return nil, err
	}
	path, err := nodes.Rehash(hashes, hasher.HashChildren)
	if err != nil {
		return nil, fmt.Errorf("build proof: %w", err)
	}
	if path == nil {
		path = [][]byte{}
	}
	return path, nil
}

// CheckInclusion verifies an inclusion proof with the log's verifier key
// alone: the checkpoint's signature, that it states the proof's size and
// root, that the leaf is the record's, and the Merkle path.
func CheckInclusion(p *InclusionProof, verifier note.Verifier) error {
	origin, size, root, err := OpenCheckpoint([]byte(p.Checkpoint), verifier)
	if err != nil {
		return err
	}
	if size != p.TreeSize || !bytes.Equal(root, p.RootHash) {
		return fmt.Errorf("the checkpoint states size %d, not the proof's %d, or another root", size, p.TreeSize)
	}
	if want := "/waarborg/" + p.Tenant; len(origin) < len(want) || origin[len(origin)-len(want):] != want {
		return fmt.Errorf("checkpoint origin %q is not the log of tenant %s", origin, p.Tenant)
	}
	rec, err := waarborg.ParseRecord(p.Record)
	if err != nil {
		return fmt.Errorf("record: %w", err)
	}
	if rec.Tenant != p.Tenant || rec.ID != p.ID || !bytes.Equal(rec.Canonical, p.Record) {
		return fmt.Errorf("the record is not canonical or not %s/%s", p.Tenant, p.ID)
	}
	received, ok := waarborg.ParseTime(p.ReceivedAt)
	if !ok {
		return fmt.Errorf("bad received_at %q", p.ReceivedAt)
	}
	leaf := waarborg.Leaf(p.Tenant, p.ID, received, sha256.Sum256(p.Record))
	if string(leaf) != p.Leaf {
		return fmt.Errorf("the leaf does not commit to this record")
	}
	return VerifyInclusion(p.LeafIndex, size, hasher.HashLeaf(leaf), p.Proof, root)
}

// CheckConsistency verifies a consistency proof with the verifier key alone.
func CheckConsistency(p *ConsistencyProof, verifier note.Verifier) error {
	var roots [2][]byte
	for i, ts := range []TreeState{p.Old, p.New} {
		origin, size, root, err := OpenCheckpoint([]byte(ts.Checkpoint), verifier)
		if err != nil {
			return err
		}
		if size != ts.Size || !bytes.Equal(root, ts.RootHash) {
			return fmt.Errorf("checkpoint %d states size %d, not %d, or another root", i, size, ts.Size)
		}
		if want := "/waarborg/" + p.Tenant; len(origin) < len(want) || origin[len(origin)-len(want):] != want {
			return fmt.Errorf("checkpoint origin %q is not the log of tenant %s", origin, p.Tenant)
		}
		roots[i] = root
	}
	return VerifyConsistency(p.Old.Size, p.New.Size, p.Proof, roots[0], roots[1])
}

// ConsistencyPath returns the proof that the tree of size n of tenant's log
// extends the tree of size m (RFC 9162, 2.1.4), for any 0 < m ≤ n up to the
// stored size: what a witness that last saw size m needs. It is empty for
// m = 0 and for m = n.
func (l *Ledger) ConsistencyPath(ctx context.Context, tenant string, m, n uint64) ([][]byte, error) {
	if m > n {
		return nil, waarborg.Errorf(waarborg.EINVALID, "want old size ≤ new size, got %d and %d", m, n)
	}
	if m == 0 || m == n {
		return [][]byte{}, nil
	}
	nodes, err := proof.Consistency(m, n)
	if err != nil {
		return nil, fmt.Errorf("plan consistency proof: %w", err)
	}
	return l.path(ctx, tenant, nodes)
}
