// Package bundle writes the evidence bundle of an evaluation and verifies
// one: a zip that lets an auditor re-derive every figure of the result from
// the bundle alone, with the deployment's verifier key.
//
// The layout (format 1):
//
//	manifest.json         format, tenant, period, waarborg version, sizes,
//	                      counts, SHA-256 of the catalog and of every other file
//	checkpoint-start.txt  the signed checkpoint at the period's start
//	                      (absent when no checkpoint was signed before it)
//	checkpoint-end.txt    the signed checkpoint the evaluation read
//	cosigned-start.txt    checkpoint-start.txt with the witnesses'
//	cosigned-end.txt      cosignatures (C2SP tlog-cosignature/v1) appended,
//	                      and the same of the end checkpoint (each absent
//	                      when no witness cosigned it)
//	period-end.txt        the period-end checkpoint, cosigned: the first kept
//	                      checkpoint that covers every entry received before
//	                      the period's end (absent when it is the end one)
//	consistency-period-end.json  a ledger.ConsistencyProof from the
//	                      period-end checkpoint to the end one (likewise)
//	keys.jsonl            the key rotations (ledger.key records) in
//	                      [0, end size), as context lines: each with its
//	                      inclusion proof against the end checkpoint
//	                      (absent when the signing key never changed)
//	consistency.json      a ledger.ConsistencyProof from start to end
//	                      (absent when the start size is 0)
//	start-range.json      the compact range of the start tree
//	entries.jsonl         every entry in [start size, end size), in order
//	context.jsonl         every entry in [0, start size), in order, each with
//	                      its inclusion proof against the end checkpoint
//	catalog.json          the catalog in force, parameters included
//	results.json          the controls result document of the evaluation
//
// Context is every entry before the start, not only those some control
// happened to read: the evaluation read the whole log up to the end
// checkpoint, so the re-run must see the same records to give the same
// figures, and a complete context (indexes 0 to start-1, each proven) shows
// that none was held back.
//
// The writing side joins the store, the ledger and the controls engine. The
// verifying side (Verify) reads nothing but the bundle, and uses only the
// standard library, the note package, the domain package, ledger's
// verification functions and controls.Evaluate.
package bundle

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"hash"
	"io"
	"strconv"
	"time"

	"github.com/waarborg/waarborg"
)

// Format is the bundle format version Write writes and Verify reads.
const Format = 1

// The files of a bundle.
const (
	FileManifest        = "manifest.json"
	FileCheckpointStart = "checkpoint-start.txt"
	FileCheckpointEnd   = "checkpoint-end.txt"
	FileConsistency     = "consistency.json"
	FileStartRange      = "start-range.json"
	FileEntries         = "entries.jsonl"
	FileContext         = "context.jsonl"
	FileCatalog         = "catalog.json"
	FileResults         = "results.json"

	FileCosignedStart        = "cosigned-start.txt"
	FileCosignedEnd          = "cosigned-end.txt"
	FilePeriodEnd            = "period-end.txt"
	FileConsistencyPeriodEnd = "consistency-period-end.json"
	FileKeys                 = "keys.jsonl"
)

// Manifest is manifest.json.
type Manifest struct {
	Format          int       `json:"format"`
	Tenant          string    `json:"tenant"`
	From            time.Time `json:"from"`
	To              time.Time `json:"to"`
	WaarborgVersion string    `json:"waarborg_version"`
	CatalogSHA256   string    `json:"catalog_sha256"`
	StartSize       uint64    `json:"start_size"`
	EndSize         uint64    `json:"end_size"`
	// PeriodEndSize is the size of the period-end checkpoint, whose
	// cosignatures date the period's evidence (0 in bundles made before
	// witnesses).
	PeriodEndSize uint64 `json:"period_end_size,omitempty"`
	Entries       uint64 `json:"entries"`    // lines of entries.jsonl
	Context       uint64 `json:"context"`    // lines of context.jsonl
	Controls      int    `json:"controls"`   // controls in results.json
	Exceptions    int    `json:"exceptions"` // exceptions in results.json, all controls
	// Files maps every other file of the bundle to its hex SHA-256, so that
	// a file damaged in transit is named as such.
	Files map[string]string `json:"files"`
}

// StartRange is start-range.json: the hashes of the perfect subtrees that
// cover [0, Size), largest first (RFC 9162 node hashes).
type StartRange struct {
	Size   uint64   `json:"size"`
	Hashes [][]byte `json:"hashes"`
}

// An Entry is one line of entries.jsonl or context.jsonl. Record is the
// canonical JSON exactly as the leaf commits to it; Proof, on context lines
// only, is the audit path of the entry in the end checkpoint's tree.
type Entry struct {
	Index         uint64          `json:"index"`
	ID            string          `json:"id"`
	ReceivedAt    string          `json:"received_at"`
	ContentSHA256 string          `json:"content_sha256"`
	Proof         [][]byte        `json:"proof,omitempty"`
	Record        json.RawMessage `json:"record"`
}

// appendEntry appends the JSON line of a stored entry. The record goes in
// as its bytes: an encoder would re-escape some of them, and the leaf
// commits to these exact bytes.
func appendEntry(b []byte, s *waarborg.Stored, proof [][]byte) ([]byte, error) {
	// By hand rather than through encoding/json: a year's bundle has
	// millions of lines, and every field but the id needs no escaping.
	b = append(b, `{"index":`...)
	b = strconv.AppendUint(b, s.Index, 10)
	b = append(b, `,"id":`...)
	if waarborg.ValidID(s.ID) {
		b = append(b, '"')
		b = append(b, s.ID...)
		b = append(b, '"')
	} else {
		id, err := json.Marshal(s.ID)
		if err != nil {
			return nil, err
		}
		b = append(b, id...)
	}
	b = append(b, `,"received_at":"`...)
	b = waarborg.AppendReceived(b, s.ReceivedAt)
	b = append(b, `","content_sha256":"`...)
	b = hex.AppendEncode(b, s.Hash[:])
	b = append(b, '"')
	if len(proof) > 0 {
		b = append(b, `,"proof":[`...)
		for i, h := range proof {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '"')
			b = base64.StdEncoding.AppendEncode(b, h)
			b = append(b, '"')
		}
		b = append(b, ']')
	}
	b = append(b, `,"record":`...)
	b = append(b, s.Canonical...)
	return append(b, "}\n"...), nil
}

// hashingWriter counts and hashes what is written through it.
type hashingWriter struct {
	w io.Writer
	d hash.Hash
}

func newHashingWriter(w io.Writer) *hashingWriter {
	return &hashingWriter{w: w, d: sha256.New()}
}

func (hw *hashingWriter) Write(p []byte) (int, error) {
	hw.d.Write(p)
	return hw.w.Write(p)
}

func (hw *hashingWriter) sum() string { return hex.EncodeToString(hw.d.Sum(nil)) }
