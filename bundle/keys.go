package bundle

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"

	"golang.org/x/mod/sumdb/note"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/ledger"
)

// writeKeys writes keys.jsonl: the key records of [0, end) with their
// inclusion proofs in the tree of size end. It reports whether there were any.
func writeKeys(ctx context.Context, in Input, end uint64) ([]byte, error) {
	recs, err := ledger.KeyRecords(ctx, in.Store, in.Tenant, end)
	if err != nil || len(recs) == 0 {
		return nil, err
	}
	var out []byte
	for _, kr := range recs {
		st, err := in.Store.Record(ctx, in.Tenant, kr.ID)
		if err != nil {
			return nil, err
		}
		proof, err := in.Ledger.InclusionPath(ctx, in.Tenant, st.Index, end)
		if err != nil {
			return nil, err
		}
		if out, err = appendEntry(out, st, proof); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// A keyEntry is a key record read from keys.jsonl.
type keyEntry struct {
	e        Entry
	leafHash []byte
}

// readKeys reads keys.jsonl and builds the log's key history from the key
// given: each checkpoint is then opened with the key in force at its size.
func (v *verification) readKeys() {
	v.keyIDs = map[string]bool{}
	b := v.optional(FileKeys)
	if b == nil {
		return
	}
	var recs []ledger.KeyRecord
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			v.problem(FileKeys, "", "a line is not an entry: %v", err)
			continue
		}
		rec, leafHash, ok := v.record(FileKeys, &e)
		if !ok {
			continue
		}
		kr, isKey := ledger.ParseKeyRecord(rec, e.Index)
		if !isKey || e.Index >= v.m.EndSize || len(recs) > 0 && e.Index <= recs[len(recs)-1].Index {
			v.problem(FileKeys, e.ID, "is not a key rotation of the log before the end checkpoint, in order")
			continue
		}
		recs = append(recs, kr)
		v.keyEntries = append(v.keyEntries, keyEntry{e, leafHash})
		v.keyIDs[rec.ID] = true
	}
	keys, err := ledger.NewKeyHistory(v.verifier, recs)
	if err != nil {
		v.problem(FileKeys, "", "%v", err)
		return
	}
	v.keys = keys
}

// keyAt returns the key that must have signed the checkpoint of size.
func (v *verification) keyAt(size uint64) note.Verifier {
	if v.keys == nil {
		return v.verifier
	}
	return v.keys.At(size)
}

// checkKeys checks that every key record of keys.jsonl is in the end
// checkpoint's tree where it says: the key history is the log's.
func (v *verification) checkKeys() {
	if v.endRoot == nil {
		return
	}
	for _, k := range v.keyEntries {
		if err := ledger.VerifyInclusion(k.e.Index, v.m.EndSize, k.leafHash, k.e.Proof, v.endRoot); err != nil {
			v.problem(FileKeys, k.e.ID, "is not entry %d of %s: %v", k.e.Index, FileCheckpointEnd, err)
		}
	}
}

// checkUnlistedKey reports a key record that keys.jsonl does not list
// and that would have introduced a key: a rotation hidden from the
// verifier. Any other record of the type introduces nothing.
func (v *verification) checkUnlistedKey(name string, rec *waarborg.Record, index uint64) {
	kr, ok := ledger.ParseKeyRecord(rec, index)
	if !ok {
		return
	}
	keys := v.keys
	if keys == nil {
		keys = ledger.KeyHistory{{Verifier: v.verifier}}
	}
	if keys.Introduces(kr) {
		v.problem(name, rec.ID, "is a key rotation that %s does not list", FileKeys)
	}
}
