package bundle

import (
	"archive/zip"
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/controls"
	"github.com/waarborg/waarborg/ledger"
)

// A Report is what Verify found. The bundle holds only when Problems is
// empty.
type Report struct {
	Tenant    string
	From, To  time.Time
	StartSize uint64
	EndSize   uint64
	// PeriodEndSize is the size of the period-end checkpoint.
	PeriodEndSize uint64
	// Cosignatures are the cosignatures by known witnesses of the start,
	// period-end and end checkpoints that verify.
	Cosignatures []Cosigned
	Entries      uint64 // entries.jsonl lines read
	Context      uint64 // context.jsonl lines read
	Controls     int    // controls re-run
	Problems     []Problem
}

// OK reports whether every check held.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// A Problem is one check that failed: the bundle file it is in, what it is
// about (a record id, "entry <index>", a control id, or empty for the file
// as a whole) and what is wrong.
type Problem struct {
	File    string `json:"file"`
	Subject string `json:"subject,omitempty"`
	Msg     string `json:"problem"`
}

func (p Problem) String() string {
	if p.Subject == "" {
		return p.File + ": " + p.Msg
	}
	return p.File + ": " + p.Subject + ": " + p.Msg
}

// A Cosigned is a known witness's cosignature of one of the bundle's
// checkpoints.
type Cosigned struct {
	Checkpoint string    `json:"checkpoint"` // start, period-end or end
	Size       uint64    `json:"size"`
	Witness    string    `json:"witness"`
	Time       time.Time `json:"time"` // the witness's time: the trusted time
}

// DefaultGrace is how long after a period's end the witnesses' cosignatures
// of its period-end checkpoint may be dated. waarborg serve submits that
// checkpoint at the period end and retries a failing witness with a backoff
// of at most --witness-every, so a cosignature comes within minutes; a day
// allows for a witness that is down for most of one, and matches the daily
// export: a later cosignature would leave a window in which the period's
// history could have been rewritten before anyone else saw it.
const DefaultGrace = 24 * time.Hour

// Options says what Verify trusts and requires.
type Options struct {
	// Key is the deployment's verifier key (a note verifier key,
	// name+hash+key).
	Key string
	// Witnesses are the verifier keys (C2SP tlog-cosignature/v1) of the
	// witnesses the auditor knows.
	Witnesses []string
	// MinWitnesses is how many known witnesses must have cosigned the
	// period-end checkpoint, each at a time no later than To+Grace.
	MinWitnesses int
	// Grace is DefaultGrace when 0.
	Grace time.Duration
}

// Verify checks a bundle with the deployment's verifier key alone, and no
// witness required: VerifyWith with Options{Key: verifierKey}.
func Verify(r io.ReaderAt, size int64, verifierKey string) (*Report, error) {
	return VerifyWith(r, size, Options{Key: verifierKey})
}

// VerifyWith checks a bundle of size bytes read from r with the deployment's
// verifier key (a note verifier key, name+hash+key), using nothing but the
// bundle: both checkpoints' signatures and origins, the consistency proof
// between them, that the start range gives the start root and, with the
// leaf of every entry recomputed from its record, the end root; every
// context inclusion proof; and it re-runs every control of the bundled
// catalog over the bundle's records and compares each control's population,
// result and exceptions with results.json.
//
// It returns an error only when the key or the zip cannot be read; every
// other failure is a Problem of the report, and checking goes on past it so
// that the report lists all it can.
//
// With witnesses, it also checks every cosignature by a known witness of
// the start, period-end and end checkpoints, the consistency of the
// period-end checkpoint with the end one, and that at least MinWitnesses
// known witnesses cosigned the period-end checkpoint within the period's
// grace.
func VerifyWith(r io.ReaderAt, size int64, opts Options) (*Report, error) {
	verifier, err := note.NewVerifier(strings.TrimSpace(opts.Key))
	if err != nil {
		return nil, fmt.Errorf("verifier key: %w", err)
	}
	var witnesses []*ledger.CosignatureVerifier
	for _, k := range opts.Witnesses {
		w, err := ledger.NewCosignatureVerifier(k)
		if err != nil {
			return nil, err
		}
		witnesses = append(witnesses, w)
	}
	if opts.Grace <= 0 {
		opts.Grace = DefaultGrace
	}
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("read bundle: %w", err)
	}
	v := &verification{rep: &Report{}, verifier: verifier, witnesses: witnesses, opts: opts, files: map[string]*zip.File{}}
	for _, f := range zr.File {
		if _, dup := v.files[f.Name]; dup {
			v.problem(f.Name, "", "is in the zip twice")
		}
		v.files[f.Name] = f
	}
	v.run()
	return v.rep, nil
}

type verification struct {
	rep       *Report
	verifier  note.Verifier
	witnesses []*ledger.CosignatureVerifier
	opts      Options
	files     map[string]*zip.File
	m         Manifest

	origin    string
	endNote   []byte
	startNote []byte
	endRoot   []byte // nil when the end checkpoint does not open
	start     []byte // the start root, nil for the empty tree or when it does not open

	keys       ledger.KeyHistory // nil: the key given alone
	keyEntries []keyEntry
	keyIDs     map[string]bool

	rng      *merkleRange // the start range, extended by each entry; nil when unusable
	tampered []string     // ids of records that fail their checks
}

func (v *verification) problem(file, subject, format string, args ...any) {
	v.rep.Problems = append(v.rep.Problems, Problem{File: file, Subject: subject, Msg: fmt.Sprintf(format, args...)})
}

// read returns a file's bytes, or nil after reporting it missing.
func (v *verification) read(name string) []byte {
	f, ok := v.files[name]
	if !ok {
		v.problem(name, "", "is missing")
		return nil
	}
	rc, err := f.Open()
	if err != nil {
		v.problem(name, "", "cannot be read: %v", err)
		return nil
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		v.problem(name, "", "cannot be read: %v", err)
		return nil
	}
	return b
}

func (v *verification) decode(name string, dst any) bool {
	b := v.read(name)
	if b == nil {
		return false
	}
	if err := json.Unmarshal(b, dst); err != nil {
		v.problem(name, "", "is not valid JSON of its kind: %v", err)
		return false
	}
	return true
}

func (v *verification) run() {
	if !v.decode(FileManifest, &v.m) {
		return
	}
	if v.m.Format != Format {
		v.problem(FileManifest, "", "format %d, this verifier reads format %d", v.m.Format, Format)
		return
	}
	v.rep.Tenant, v.rep.From, v.rep.To = v.m.Tenant, v.m.From, v.m.To
	v.rep.StartSize, v.rep.EndSize = v.m.StartSize, v.m.EndSize
	v.checkFileHashes()
	v.readKeys()
	v.checkCheckpoints()
	v.checkKeys()
	v.checkWitnesses()
	v.checkStartRange()
	cat, res := v.readCatalogAndResults()
	v.rerun(cat, res)
}

// checkFileHashes compares every file with its hash in the manifest.
func (v *verification) checkFileHashes() {
	for _, name := range slices.Sorted(maps.Keys(v.files)) {
		if name == FileManifest {
			continue
		}
		want, ok := v.m.Files[name]
		if !ok {
			v.problem(name, "", "is not listed in %s", FileManifest)
			continue
		}
		rc, err := v.files[name].Open()
		if err != nil {
			v.problem(name, "", "cannot be read: %v", err)
			continue
		}
		h := sha256.New()
		_, err = io.Copy(h, rc)
		rc.Close()
		if err != nil {
			v.problem(name, "", "cannot be read: %v", err)
		} else if got := hex.EncodeToString(h.Sum(nil)); got != want {
			v.problem(name, "", "does not match its SHA-256 in %s", FileManifest)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(v.m.Files)) {
		if _, ok := v.files[name]; !ok {
			v.problem(name, "", "is listed in %s but missing", FileManifest)
		}
	}
	if v.m.Files[FileCatalog] != v.m.CatalogSHA256 {
		v.problem(FileManifest, "", "catalog_sha256 is not the hash it lists for %s", FileCatalog)
	}
}

// openCheckpoint opens a bundled checkpoint and checks that it is of the
// tenant's log and of the size the manifest states.
func (v *verification) openCheckpoint(name string, wantSize uint64) (note []byte, root []byte) {
	b := v.read(name)
	if b == nil {
		return nil, nil
	}
	origin, size, root, err := ledger.OpenCheckpoint(b, v.keyAt(wantSize))
	if err != nil {
		v.problem(name, "", "signature does not verify with the key given: %v", err)
		return nil, nil
	}
	if !strings.HasSuffix(origin, "/waarborg/"+v.m.Tenant) {
		v.problem(name, "", "origin %q is not the log of tenant %s", origin, v.m.Tenant)
		return nil, nil
	}
	if v.origin == "" {
		v.origin = origin
	} else if origin != v.origin {
		v.problem(name, "", "origin %q is not that of the other checkpoint, %q", origin, v.origin)
		return nil, nil
	}
	if size != wantSize {
		v.problem(name, "", "tree size %d, %s states %d", size, FileManifest, wantSize)
		return nil, nil
	}
	return b, root
}

func (v *verification) checkCheckpoints() {
	v.endNote, v.endRoot = v.openCheckpoint(FileCheckpointEnd, v.m.EndSize)
	if v.m.StartSize > v.m.EndSize {
		v.problem(FileManifest, "", "start size %d is beyond end size %d", v.m.StartSize, v.m.EndSize)
		return
	}
	if v.m.StartSize == 0 {
		for _, name := range []string{FileCheckpointStart, FileConsistency} {
			if _, ok := v.files[name]; ok {
				v.problem(name, "", "is present though the start is the empty tree")
			}
		}
		return
	}
	startNote, startRoot := v.openCheckpoint(FileCheckpointStart, v.m.StartSize)
	v.start, v.startNote = startRoot, startNote
	var p ledger.ConsistencyProof
	if !v.decode(FileConsistency, &p) || startNote == nil || v.endNote == nil {
		return
	}
	if p.Tenant != v.m.Tenant || p.Old.Checkpoint != string(startNote) || p.New.Checkpoint != string(v.endNote) ||
		p.Old.Size != v.m.StartSize || p.New.Size != v.m.EndSize ||
		!bytes.Equal(p.Old.RootHash, startRoot) || !bytes.Equal(p.New.RootHash, v.endRoot) {
		v.problem(FileConsistency, "", "is not between %s and %s", FileCheckpointStart, FileCheckpointEnd)
		return
	}
	if err := ledger.VerifyConsistency(v.m.StartSize, v.m.EndSize, p.Proof, startRoot, v.endRoot); err != nil {
		v.problem(FileConsistency, "", "the end checkpoint does not extend the start one: %v", err)
	}
}

// checkStartRange reads the start range, which must give the start root.
func (v *verification) checkStartRange() {
	var sr StartRange
	if !v.decode(FileStartRange, &sr) {
		return
	}
	rng, err := newMerkleRange(sr.Size, sr.Hashes)
	switch {
	case err != nil:
		v.problem(FileStartRange, "", "%v", err)
		return
	case sr.Size != v.m.StartSize:
		v.problem(FileStartRange, "", "is of size %d, %s states %d", sr.Size, FileManifest, v.m.StartSize)
		return
	case v.m.StartSize > 0 && v.start != nil && !bytes.Equal(rng.root(), v.start):
		v.problem(FileStartRange, "", "does not give the root of %s", FileCheckpointStart)
		return
	}
	v.rng = rng
}

func (v *verification) readCatalogAndResults() (*controls.Catalog, *controls.Result) {
	var cat controls.Catalog
	catOK := v.decode(FileCatalog, &cat)
	var res controls.Result
	if !v.decode(FileResults, &res) {
		return nil, nil
	}
	if res.Tenant != v.m.Tenant || !res.From.Equal(v.m.From) || !res.To.Equal(v.m.To) {
		v.problem(FileResults, "", "is of %s [%s, %s), %s states %s [%s, %s)",
			res.Tenant, res.From.Format(time.RFC3339), res.To.Format(time.RFC3339), FileManifest,
			v.m.Tenant, v.m.From.Format(time.RFC3339), v.m.To.Format(time.RFC3339))
	}
	if v.endNote != nil && res.Checkpoint != string(v.endNote) {
		v.problem(FileResults, "", "was evaluated at another checkpoint than %s", FileCheckpointEnd)
	}
	if !catOK {
		return nil, &res
	}
	inForce, _ := json.Marshal(cat.InForce())
	evaluated, _ := json.Marshal(res.Catalog)
	if !bytes.Equal(inForce, evaluated) {
		v.problem(FileResults, "", "was evaluated under other catalog parameters than %s", FileCatalog)
	}
	n := 0
	for _, c := range res.Controls {
		n += len(c.Exceptions)
	}
	if len(res.Controls) != v.m.Controls || n != v.m.Exceptions {
		v.problem(FileManifest, "", "states %d controls and %d exceptions, %s has %d and %d",
			v.m.Controls, v.m.Exceptions, FileResults, len(res.Controls), n)
	}
	return &cat, &res
}

// rerun evaluates the catalog over the bundle's records, checking each
// record on the way, and compares the outcome with results.json.
func (v *verification) rerun(cat *controls.Catalog, want *controls.Result) {
	records := func(yield func(*waarborg.Record) bool) {
		if v.entries(FileContext, 0, v.m.StartSize, true, yield) {
			v.entries(FileEntries, v.m.StartSize, v.m.EndSize, false, yield)
		}
	}
	if cat == nil || want == nil {
		// Nothing to compare with, but the records are still checked.
		for range records {
		}
		return
	}
	integrity := &controls.Integrity{}
	got, err := controls.Evaluate(cat, controls.Input{
		Tenant: v.m.Tenant, From: v.m.From, To: v.m.To,
		Records: func(yield func(*waarborg.Record) bool) {
			records(yield)
			// LM-03 over the bundle: every entry of the end checkpoint, and
			// as tampered each record that failed its checks here.
			*integrity = controls.Integrity{Entries: int(v.m.EndSize), Tampered: v.tampered}
		},
		Integrity: integrity,
	})
	if err != nil {
		v.problem(FileCatalog, "", "cannot be evaluated: %v", err)
		return
	}
	v.rep.Controls = len(got.Controls)
	compare(v, want, got)
}

// entries checks the lines of a jsonl file, which must be entries [from,
// to) in order, and yields each sound record. For context lines it checks
// the inclusion proof against the end checkpoint; for entries it extends
// the start range with each recomputed leaf hash and finally compares the
// root with the end checkpoint's. It returns false when yield asked to stop.
func (v *verification) entries(name string, from, to uint64, context bool, yield func(*waarborg.Record) bool) bool {
	f, ok := v.files[name]
	if !ok {
		if to > from {
			v.problem(name, "", "is missing")
		}
		return true
	}
	rc, err := f.Open()
	if err != nil {
		v.problem(name, "", "cannot be read: %v", err)
		return true
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 1<<20)
	next, lines := from, uint64(0)
	rangeOK := v.rng != nil
	for {
		line, err := br.ReadBytes('\n')
		if len(line) == 0 && err != nil {
			if !errors.Is(err, io.EOF) {
				v.problem(name, "", "cannot be read: %v", err)
				return true
			}
			break
		}
		lines++
		var e Entry
		if err := json.Unmarshal(line, &e); err != nil {
			// Taken as the entry expected there, so that one bad line is
			// reported once and not as a gap too.
			v.problem(name, entryName(next, next+1), "line %d is not an entry: %v", lines, err)
			next++
			rangeOK = false
			continue
		}
		if e.Index != next {
			if e.Index > next && e.Index < to {
				v.problem(name, entryName(next, e.Index), "missing: the entries before %s are not in the bundle", e.ID)
			} else {
				v.problem(name, e.ID, "has index %d where entry %d belongs", e.Index, next)
			}
			rangeOK = false
		}
		next = e.Index + 1
		rec, leafHash, ok := v.record(name, &e)
		if !context && e.Index >= v.rep.PeriodEndSize {
			if received, _ := waarborg.ParseTime(e.ReceivedAt); received.Before(v.m.To) {
				v.problem(name, e.ID, "was received before the period's end, yet is not in the period-end checkpoint (size %d)", v.rep.PeriodEndSize)
			}
		}
		if ok && !v.keyIDs[rec.ID] {
			v.checkUnlistedKey(name, rec, e.Index)
		}
		if context {
			if ok && v.endRoot != nil {
				if err := ledger.VerifyInclusion(e.Index, v.m.EndSize, leafHash, e.Proof, v.endRoot); err != nil {
					v.problem(name, e.ID, "is not entry %d of %s: %v", e.Index, FileCheckpointEnd, err)
					ok = false
				}
			}
		} else if leafHash == nil {
			rangeOK = false
		} else if rangeOK {
			v.rng.append(leafHash)
		}
		if !ok {
			v.tampered = append(v.tampered, e.ID)
			continue
		}
		if !yield(rec) {
			return false
		}
	}
	if next < to {
		v.problem(name, entryName(next, to), "missing: the file ends at entry %d, the %s checkpoint has %d entries", next, map[bool]string{true: "start", false: "end"}[context], to)
		rangeOK = false
	}
	if context {
		v.rep.Context = lines
		if lines != v.m.Context {
			v.problem(FileManifest, "", "states %d context entries, %s has %d", v.m.Context, name, lines)
		}
		return true
	}
	v.rep.Entries = lines
	if lines != v.m.Entries {
		v.problem(FileManifest, "", "states %d entries, %s has %d", v.m.Entries, name, lines)
	}
	if v.endRoot != nil && (!rangeOK || !bytes.Equal(v.rng.root(), v.endRoot)) {
		v.problem(name, "", "%s and these entries do not give the root of %s: the entries between the two checkpoints are not all there, or not as logged",
			FileStartRange, FileCheckpointEnd)
	}
	return true
}

func entryName(from, to uint64) string {
	if to == from+1 {
		return "entry " + strconv.FormatUint(from, 10)
	}
	return fmt.Sprintf("entries %d to %d", from, to-1)
}

// record checks that an entry's record is a valid record of the tenant,
// canonical, with the entry's id and content hash, and returns it with its
// leaf hash, recomputed from the record alone.
func (v *verification) record(name string, e *Entry) (*waarborg.Record, []byte, bool) {
	sum := sha256.Sum256(e.Record)
	received, ok := waarborg.ParseTime(e.ReceivedAt)
	if !ok {
		v.problem(name, e.ID, "received_at %q is not a timestamp", e.ReceivedAt)
		return nil, nil, false
	}
	leaf := waarborg.Leaf(v.m.Tenant, e.ID, received, sum)
	leafHash := hashLeaf(leaf)
	if hex.EncodeToString(sum[:]) != e.ContentSHA256 {
		v.problem(name, e.ID, "the record does not hash to its content_sha256: it was changed")
		return nil, leafHash, false
	}
	rec, err := waarborg.ParseRecord(e.Record)
	switch {
	case err != nil:
		v.problem(name, e.ID, "the record is not valid: %v", err)
	case !bytes.Equal(rec.Canonical, e.Record):
		v.problem(name, e.ID, "the record is not in canonical form")
	case rec.ID != e.ID || rec.Tenant != v.m.Tenant:
		v.problem(name, e.ID, "the record is %s of tenant %s", rec.ID, rec.Tenant)
	default:
		return rec, leafHash, true
	}
	return nil, leafHash, false
}

// compare reports every difference between the bundled result and the
// re-run: per control, population, result and the set of exceptions
// (subject with its reasons).
func compare(v *verification, want, got *controls.Result) {
	gotByID := map[string]*controls.ControlResult{}
	for i := range got.Controls {
		gotByID[got.Controls[i].ID] = &got.Controls[i]
	}
	seen := map[string]bool{}
	for i := range want.Controls {
		w := &want.Controls[i]
		seen[w.ID] = true
		g, ok := gotByID[w.ID]
		if !ok {
			v.problem(FileResults, w.ID, "is not a control of %s", FileCatalog)
			continue
		}
		if w.Population != g.Population {
			v.problem(FileResults, w.ID, "population %d, re-run from the bundle gives %d", w.Population, g.Population)
		}
		if w.Result != g.Result {
			v.problem(FileResults, w.ID, "result %s, re-run from the bundle gives %s", w.Result, g.Result)
		}
		if wt, gt := totalsText(w.Totals), totalsText(g.Totals); wt != gt {
			v.problem(FileResults, w.ID, "control totals %s, re-run from the bundle gives %s", wt, gt)
		}
		ws, gs := exceptionSet(w), exceptionSet(g)
		for _, s := range slices.Sorted(maps.Keys(ws)) {
			if r, ok := gs[s]; !ok {
				v.problem(FileResults, w.ID, "exception %s (%s) is not found by the re-run", s, ws[s])
			} else if r != ws[s] {
				v.problem(FileResults, w.ID, "exception %s has reasons %s, the re-run %s", s, ws[s], r)
			}
		}
		for _, s := range slices.Sorted(maps.Keys(gs)) {
			if _, ok := ws[s]; !ok {
				v.problem(FileResults, w.ID, "the re-run finds exception %s (%s), which is not listed", s, gs[s])
			}
		}
	}
	for _, g := range got.Controls {
		if !seen[g.ID] {
			v.problem(FileResults, g.ID, "is missing, though %s has it", FileCatalog)
		}
	}
}

func totalsText(ts []controls.Total) string {
	var b strings.Builder
	for i, t := range ts {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s %s %s", t.Name, t.Value, t.Unit)
	}
	if b.Len() == 0 {
		return "none"
	}
	return b.String()
}

func exceptionSet(c *controls.ControlResult) map[string]string {
	m := make(map[string]string, len(c.Exceptions))
	for _, e := range c.Exceptions {
		r := slices.Clone(e.Reasons)
		slices.Sort(r)
		m[e.Subject] = strings.Join(r, ",")
	}
	return m
}
