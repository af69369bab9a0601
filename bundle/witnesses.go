package bundle

import (
	"bytes"
	"time"

	"github.com/waarborg/waarborg/ledger"
)

// checkWitnesses checks the cosigned checkpoints and the witness policy.
func (v *verification) checkWitnesses() {
	pe := v.m.PeriodEndSize
	if pe == 0 { // a bundle from before witnesses
		pe = v.m.EndSize
	}
	v.rep.PeriodEndSize = pe
	if v.endNote != nil {
		v.cosigned(FileCosignedEnd, "end", v.m.EndSize, v.endNote)
	}
	if v.startNote != nil {
		v.cosigned(FileCosignedStart, "start", v.m.StartSize, v.startNote)
	}
	periodEnd := "end"
	if pe != v.m.EndSize {
		periodEnd = "period-end"
		v.checkPeriodEnd(pe)
	} else {
		for _, name := range []string{FilePeriodEnd, FileConsistencyPeriodEnd} {
			if _, ok := v.files[name]; ok {
				v.problem(name, "", "is present though the period-end checkpoint is the end one")
			}
		}
	}
	if v.opts.MinWitnesses <= 0 && len(v.witnesses) == 0 {
		return
	}
	// An earlier cosignature shows the period-end checkpoint fixed earlier
	// still (a log that did not grow in the period); a later one leaves the
	// period's history open to a rewrite for longer than the grace.
	until := v.m.To.Add(v.opts.Grace)
	seen := map[string]bool{}
	for _, c := range v.rep.Cosignatures {
		if c.Checkpoint != periodEnd {
			continue
		}
		if c.Time.After(until) {
			v.problem(FileManifest, c.Witness, "cosigned the period-end checkpoint at %s, outside the period and its grace (until %s)",
				c.Time.Format(time.RFC3339), until.Format(time.RFC3339))
			continue
		}
		seen[c.Witness] = true
	}
	if len(seen) < v.opts.MinWitnesses {
		v.problem(FileManifest, "", "%d of the known witnesses cosigned the period-end checkpoint (size %d) within the period's grace, %d required",
			len(seen), pe, v.opts.MinWitnesses)
	}
}

// optional returns a file's bytes, nil when the bundle does not have it.
func (v *verification) optional(name string) []byte {
	if _, ok := v.files[name]; !ok {
		return nil
	}
	return v.read(name)
}

// cosigned checks a cosigned checkpoint file, which must be the signed
// note signed followed by signature lines, and keeps each known witness's
// cosignature that verifies.
func (v *verification) cosigned(name, label string, size uint64, signed []byte) {
	b := v.optional(name)
	if b == nil {
		return
	}
	rest, ok := bytes.CutPrefix(b, signed)
	if !ok {
		v.problem(name, "", "is not the %s checkpoint with cosignatures appended", label)
		return
	}
	text, err := ledger.NoteText(signed)
	if err != nil {
		v.problem(name, "", "%v", err)
		return
	}
	v.cosignatures(name, label, size, text, string(rest))
}

// cosignatures checks the signature lines of a checkpoint of the given text.
func (v *verification) cosignatures(name, label string, size uint64, text, lines string) {
	seen := map[*ledger.CosignatureVerifier]bool{}
	for _, line := range ledger.SignatureLines(lines) {
		for _, w := range v.witnesses {
			if !isFrom(line, w) || seen[w] {
				continue
			}
			c, err := ledger.OpenCosignature(text, line, w)
			if err != nil {
				v.problem(name, w.Name(), "the cosignature does not verify: %v", err)
				continue
			}
			seen[w] = true
			v.rep.Cosignatures = append(v.rep.Cosignatures, Cosigned{Checkpoint: label, Size: size, Witness: w.Name(), Time: c.Time})
		}
	}
}

// isFrom reports whether a signature line names witness w and its key ID.
func isFrom(line string, w *ledger.CosignatureVerifier) bool {
	id, ok := ledger.SignatureKeyID(line, w.Name())
	return ok && id == w.KeyHash()
}

// checkPeriodEnd checks period-end.txt, a cosigned checkpoint of size pe of
// the same log, and its consistency with the end checkpoint.
func (v *verification) checkPeriodEnd(pe uint64) {
	if pe > v.m.EndSize || pe < v.m.StartSize {
		v.problem(FileManifest, "", "period-end size %d is not between the start size %d and the end size %d", pe, v.m.StartSize, v.m.EndSize)
		return
	}
	b := v.read(FilePeriodEnd)
	if b == nil {
		return
	}
	origin, size, root, err := ledger.OpenCheckpoint(b, v.keyAt(pe))
	switch {
	case err != nil:
		v.problem(FilePeriodEnd, "", "signature does not verify with the key given: %v", err)
		return
	case v.origin != "" && origin != v.origin:
		v.problem(FilePeriodEnd, "", "origin %q is not that of the other checkpoints, %q", origin, v.origin)
		return
	case size != pe:
		v.problem(FilePeriodEnd, "", "tree size %d, %s states %d", size, FileManifest, pe)
		return
	}
	text, _ := ledger.NoteText(b)
	// The log's own signature lines come first; the rest are cosignatures.
	v.cosignatures(FilePeriodEnd, "period-end", pe, text, string(b[len(text)+1:]))
	var p ledger.ConsistencyProof
	if !v.decode(FileConsistencyPeriodEnd, &p) || v.endNote == nil {
		return
	}
	if p.Tenant != v.m.Tenant || p.Old.Size != pe || p.New.Size != v.m.EndSize || p.New.Checkpoint != string(v.endNote) ||
		!bytes.Equal(p.Old.RootHash, root) || !bytes.Equal(p.New.RootHash, v.endRoot) {
		v.problem(FileConsistencyPeriodEnd, "", "is not between %s and %s", FilePeriodEnd, FileCheckpointEnd)
		return
	}
	if err := ledger.VerifyConsistency(pe, v.m.EndSize, p.Proof, root, v.endRoot); err != nil {
		v.problem(FileConsistencyPeriodEnd, "", "the end checkpoint does not extend the period-end one: %v", err)
	}
}
