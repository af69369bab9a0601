package bundle

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/controls"
	"github.com/waarborg/waarborg/ledger"
)

// Input is what Write bundles: the evaluation of Catalog over Tenant's log
// for [From, To) that gave Result, as assess.Run makes it, and the store and
// ledger it read.
type Input struct {
	Store   waarborg.Store
	Ledger  *ledger.Ledger
	Tenant  string
	From    time.Time
	To      time.Time
	Version string // the waarborg version that evaluated
	Catalog *controls.Catalog
	// Result must be the evaluation of every entry of the kept checkpoint
	// named by its Checkpoint field.
	Result *controls.Result
	// Extra are further files to carry, by name, such as the tenant
	// profile of a report; the manifest lists and hashes them too.
	Extra map[string][]byte
}

// readChunk bounds the entries held at once while proofs are read for them.
const readChunk = 4096

// Write writes the bundle of in to w (see the package comment for the
// layout). The start checkpoint is the latest kept one signed strictly
// before From, so that it covers only entries received before the period;
// with none, the start is the empty tree. Write fails, writing an unusable
// zip, when the result was not evaluated at a kept checkpoint of the tenant
// or under another catalog. It returns the manifest written.
func Write(ctx context.Context, w io.Writer, in Input) (*Manifest, error) {
	var m Manifest
	if err := write(ctx, w, in, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

func write(ctx context.Context, w io.Writer, in Input, out *Manifest) error {
	if in.Result == nil || in.Catalog == nil || in.Store == nil || in.Ledger == nil {
		return waarborg.Errorf(waarborg.EINVALID, "bundle: store, ledger, catalog and result are all required")
	}
	res := in.Result
	if res.Tenant != in.Tenant || !res.From.Equal(in.From) || !res.To.Equal(in.To) {
		return waarborg.Errorf(waarborg.EINVALID, "bundle: the result is of %s [%s, %s), not of the bundle's tenant and period",
			res.Tenant, res.From.Format(time.RFC3339), res.To.Format(time.RFC3339))
	}
	inForce, _ := json.Marshal(in.Catalog.InForce())
	if evaluated, _ := json.Marshal(res.Catalog); !bytes.Equal(inForce, evaluated) {
		return waarborg.Errorf(waarborg.EINVALID, "bundle: the result was evaluated under other catalog parameters")
	}
	end, err := endCheckpoint(ctx, in.Store, in.Tenant, res.Checkpoint)
	if err != nil {
		return err
	}
	start, err := startCheckpoint(ctx, in.Store, in.Tenant, in.From, end.Size)
	if err != nil {
		return err
	}
	periodEnd, err := ledger.PeriodEnd(ctx, in.Store, in.Tenant, in.To, end.Size)
	if err != nil {
		return err
	}

	zw := zip.NewWriter(w)
	m := Manifest{
		Format: Format, Tenant: in.Tenant, From: in.From.UTC(), To: in.To.UTC(),
		WaarborgVersion: in.Version, StartSize: start.Size, EndSize: end.Size, PeriodEndSize: periodEnd.Size,
		Entries: end.Size - start.Size, Context: start.Size,
		Controls: len(res.Controls), Files: map[string]string{},
	}
	for _, c := range res.Controls {
		m.Exceptions += len(c.Exceptions)
	}
	// put writes one file, deflated on every core (a log's entries are
	// gigabytes), and hashes it for the manifest.
	put := func(name string, fill func(io.Writer) error) error {
		f, err := createParallel(zw, name)
		if err != nil {
			return fmt.Errorf("bundle %s: %w", name, err)
		}
		hw := newHashingWriter(f)
		if err := errors.Join(fill(hw), f.Close()); err != nil {
			return fmt.Errorf("bundle %s: %w", name, err)
		}
		m.Files[name] = hw.sum()
		return nil
	}
	putBytes := func(name string, b []byte) error {
		return put(name, func(w io.Writer) error { _, err := w.Write(b); return err })
	}
	putJSON := func(name string, v any) error {
		b, err := json.MarshalIndent(v, "", " ")
		if err != nil {
			return err
		}
		return putBytes(name, append(b, '\n'))
	}

	if err := putBytes(FileCheckpointEnd, end.Note); err != nil {
		return err
	}
	putCosigned := func(name string, cp *waarborg.Checkpoint, always bool) error {
		cosigs, err := in.Store.Cosignatures(ctx, in.Tenant, cp.Size)
		if err != nil || len(cosigs) == 0 && !always {
			return err
		}
		return putBytes(name, ledger.Cosigned(cp.Note, cosigs))
	}
	keys, err := writeKeys(ctx, in, end.Size)
	if err != nil {
		return fmt.Errorf("bundle: key history: %w", err)
	}
	if keys != nil {
		if err := putBytes(FileKeys, keys); err != nil {
			return err
		}
	}
	if err := putCosigned(FileCosignedEnd, end, false); err != nil {
		return err
	}
	if start.Size > 0 {
		if err := putCosigned(FileCosignedStart, start, false); err != nil {
			return err
		}
	}
	if periodEnd.Size != end.Size {
		if err := putCosigned(FilePeriodEnd, periodEnd, true); err != nil {
			return err
		}
		proof, err := in.Ledger.Consistency(ctx, in.Tenant, periodEnd.Size, end.Size)
		if err != nil {
			return err
		}
		if err := putJSON(FileConsistencyPeriodEnd, proof); err != nil {
			return err
		}
	}
	hashes, err := in.Ledger.RangeHashes(ctx, in.Tenant, start.Size)
	if err != nil {
		return fmt.Errorf("bundle: compact range at %d: %w", start.Size, err)
	}
	if start.Size > 0 {
		// The range is read from stored tiles; a wrong one would make a
		// sound log look tampered to the auditor, so check it here first.
		rng, err := (&compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}).NewRange(0, start.Size, hashes)
		if err != nil {
			return fmt.Errorf("bundle: compact range at %d: %w", start.Size, err)
		}
		if root, _ := rng.GetRootHash(nil); !bytes.Equal(root, start.Root) {
			return waarborg.Errorf(waarborg.EINTERNAL, "bundle: the stored tree at %d does not give the root of its checkpoint", start.Size)
		}
		if err := putBytes(FileCheckpointStart, start.Note); err != nil {
			return err
		}
		proof, err := in.Ledger.Consistency(ctx, in.Tenant, start.Size, end.Size)
		if err != nil {
			return err
		}
		if err := putJSON(FileConsistency, proof); err != nil {
			return err
		}
	}
	if err := putJSON(FileStartRange, StartRange{Size: start.Size, Hashes: hashes}); err != nil {
		return err
	}
	if err := put(FileContext, func(w io.Writer) error {
		return writeEntries(ctx, w, in, 0, start.Size, end.Size)
	}); err != nil {
		return err
	}
	if err := put(FileEntries, func(w io.Writer) error {
		return writeEntries(ctx, w, in, start.Size, end.Size, 0)
	}); err != nil {
		return err
	}
	catalog, err := json.MarshalIndent(in.Catalog, "", " ")
	if err != nil {
		return err
	}
	catalog = append(catalog, '\n')
	if err := putBytes(FileCatalog, catalog); err != nil {
		return err
	}
	m.CatalogSHA256 = m.Files[FileCatalog]
	if err := putJSON(FileResults, res); err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(in.Extra)) {
		if _, taken := m.Files[name]; taken || name == FileManifest {
			return waarborg.Errorf(waarborg.EINVALID, "bundle: extra file %s would replace a bundle file", name)
		}
		if err := putBytes(name, in.Extra[name]); err != nil {
			return err
		}
	}
	// Last, so that it can hash every other file; it does not list itself.
	if err := putJSON(FileManifest, &m); err != nil {
		return err
	}
	*out = m
	return zw.Close()
}

// writeEntries writes the lines of entries [from, to), each with its
// inclusion proof in the tree of size proveIn when that is not 0.
func writeEntries(ctx context.Context, w io.Writer, in Input, from, to, proveIn uint64) error {
	var line []byte
	for lo := from; lo < to; lo += readChunk {
		hi := min(lo+readChunk, to)
		// The chunk is read before any proof, so that no store read runs
		// while the records are being iterated.
		var chunk []*waarborg.Stored
		for s, err := range in.Store.Records(ctx, in.Tenant, lo, hi) {
			if err != nil {
				return err
			}
			chunk = append(chunk, s)
		}
		for i, s := range chunk {
			if s.Index != lo+uint64(i) {
				return waarborg.Errorf(waarborg.EINTERNAL, "entry %d of %s is missing from the store", lo+uint64(i), in.Tenant)
			}
			var proof [][]byte
			if proveIn > 0 {
				p, err := in.Ledger.InclusionPath(ctx, in.Tenant, s.Index, proveIn)
				if err != nil {
					return fmt.Errorf("inclusion proof of entry %d: %w", s.Index, err)
				}
				proof = p
			}
			var err error
			if line, err = appendEntry(line[:0], s, proof); err != nil {
				return err
			}
			if _, err := w.Write(line); err != nil {
				return err
			}
		}
		if uint64(len(chunk)) != hi-lo {
			return waarborg.Errorf(waarborg.EINTERNAL, "entries %d to %d of %s: the store holds %d", lo, hi-1, in.Tenant, len(chunk))
		}
	}
	return nil
}

// endCheckpoint returns the kept checkpoint whose signed note the result
// names.
func endCheckpoint(ctx context.Context, s waarborg.Store, tenant, signed string) (*waarborg.Checkpoint, error) {
	body, _, ok := strings.Cut(signed, "\n\n")
	if !ok {
		return nil, waarborg.Errorf(waarborg.EINVALID, "bundle: the result names no signed checkpoint")
	}
	_, size, _, err := ledger.ParseCheckpointText(body + "\n")
	if err != nil {
		return nil, waarborg.Errorf(waarborg.EINVALID, "bundle: the result's checkpoint: %v", err)
	}
	cp, err := s.Checkpoint(ctx, tenant, size)
	if err != nil {
		return nil, err
	}
	if string(cp.Note) != signed {
		return nil, waarborg.Errorf(waarborg.EINVALID, "bundle: the result's checkpoint is not the kept checkpoint of size %d", size)
	}
	return cp, nil
}

// startCheckpoint returns the latest kept checkpoint signed before from and
// no larger than end, or the empty tree.
func startCheckpoint(ctx context.Context, s waarborg.Store, tenant string, from time.Time, end uint64) (*waarborg.Checkpoint, error) {
	cps, err := s.Checkpoints(ctx, tenant)
	if err != nil {
		return nil, err
	}
	start := &waarborg.Checkpoint{Tenant: tenant}
	for i := range cps {
		cp := &cps[i]
		if cp.SignedAt.Before(from) && cp.Size <= end && cp.Size > start.Size {
			start = cp
		}
	}
	return start, nil
}
