package bundle_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/assess"
	"github.com/waarborg/waarborg/bundle"
	"github.com/waarborg/waarborg/controls"
	"github.com/waarborg/waarborg/ledger"
	"github.com/waarborg/waarborg/recordtest"
	"github.com/waarborg/waarborg/sqlite"
	"github.com/waarborg/waarborg/storetest"
)

const scenario = "../../shared/conformance/basic"

// clock moves two seconds a reading, so that every commit is due a
// checkpoint; set moves it to another day.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(2 * time.Second)
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// built is a bundle of the conformance scenario and what made it.
type built struct {
	zip      []byte
	vkey     string
	skey     string // the signing key, for a second build
	store    waarborg.Store
	tenant   string
	from, to time.Time
}

var (
	buildOnce sync.Once
	buildErr  error
	shared    built
	// workDir holds the shared store: a test's temporary directory goes
	// when that test ends, and the bundle serves every test.
	workDir string
)

func TestMain(m *testing.M) {
	var err error
	if workDir, err = os.MkdirTemp("", "bundle-test-"); err != nil {
		panic(err)
	}
	code := m.Run()
	if shared.store != nil {
		shared.store.Close()
	}
	os.RemoveAll(workDir)
	os.Exit(code)
}

// conformanceBundle ingests the conformance records in two batches, the
// first received the day before the period and the second after it, each
// in three commits with a checkpoint each, and bundles the period. It is
// built once: the tests only read it.
func conformanceBundle(t *testing.T) *built {
	t.Helper()
	if _, err := os.Stat(filepath.Join(scenario, "records.jsonl")); err != nil {
		t.Skip("conformance data not beside the checkout:", err)
	}
	buildOnce.Do(func() { buildErr = build(workDir) })
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return &shared
}

func build(dir string) error {
	skey, vkey, err := note.GenerateKey(rand.Reader, "test.example")
	if err != nil {
		return err
	}
	store, err := sqlite.Open(context.Background(), filepath.Join(dir, "w.db"))
	if err != nil {
		return err
	}
	b, err := buildOn(store, skey, vkey)
	if err != nil {
		store.Close()
		return err
	}
	shared = *b
	shared.skey = skey
	return nil
}

// buildOn ingests the scenario into store, as conformanceBundle says, at
// receipt times fixed by the test's clock, and bundles the period.
func buildOn(store waarborg.Store, skey, vkey string) (*built, error) {
	ctx := context.Background()
	var period struct{ Tenant, From, To string }
	b, err := os.ReadFile(filepath.Join(scenario, "period.json"))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &period); err != nil {
		return nil, err
	}
	from, _ := time.Parse(time.DateOnly, period.From)
	to, _ := time.Parse(time.DateOnly, period.To)
	recs, err := recordtest.Read(filepath.Join(scenario, "records.jsonl"))
	if err != nil {
		return nil, err
	}
	signer, _ := note.NewSigner(skey)
	verifier, _ := note.NewVerifier(vkey)
	clk := &clock{}
	l := ledger.Open(ledger.Config{Store: store, Signer: signer, Deployment: "test.example", Now: clk.Now})
	defer l.Close()
	half := len(recs) / 2
	for _, batch := range []struct {
		at   time.Time
		recs []*waarborg.Record
	}{
		{from.Add(-24 * time.Hour), recs[:half]},
		{to.Add(24 * time.Hour), recs[half:]},
	} {
		clk.set(batch.at)
		n := len(batch.recs)
		for _, part := range [][]*waarborg.Record{batch.recs[:n/3], batch.recs[n/3 : 2*n/3], batch.recs[2*n/3:]} {
			if _, err := l.Append(ctx, part); err != nil {
				return nil, err
			}
		}
	}
	cat := controls.Default()
	res, err := assess.Run(ctx, assess.Log{Store: store, Ledger: l, Verifier: verifier, Deployment: "test.example"}, cat, period.Tenant, from, to)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := bundle.Write(ctx, &buf, bundle.Input{
		Store: store, Ledger: l, Tenant: period.Tenant, From: from, To: to,
		Version: "test", Catalog: cat, Result: res,
		Extra: map[string][]byte{"profile.json": []byte("{}\n")},
	}); err != nil {
		return nil, err
	}
	return &built{zip: buf.Bytes(), vkey: vkey, store: store, tenant: period.Tenant, from: from, to: to}, nil
}

func verify(t *testing.T, zipped []byte, vkey string) *bundle.Report {
	t.Helper()
	rep, err := bundle.Verify(bytes.NewReader(zipped), int64(len(zipped)), vkey)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestVerifyConformanceBundle(t *testing.T) {
	b := conformanceBundle(t)
	rep := verify(t, b.zip, b.vkey)
	for _, p := range rep.Problems {
		t.Error(p)
	}
	files := unzip(t, b.zip)
	var m bundle.Manifest
	if err := json.Unmarshal(files[bundle.FileManifest], &m); err != nil {
		t.Fatal(err)
	}
	// The start checkpoint is the last of the first batch, received before
	// the period; the end one covers both batches.
	if m.StartSize == 0 || m.StartSize >= m.EndSize || m.EndSize != 33974 {
		t.Errorf("start %d, end %d: want 0 < start < end = 33974", m.StartSize, m.EndSize)
	}
	if rep.Controls != 24 || rep.Entries != m.EndSize-m.StartSize || rep.Context != m.StartSize {
		t.Errorf("report: %d controls, %d entries, %d context", rep.Controls, rep.Entries, rep.Context)
	}
	for _, name := range []string{bundle.FileCheckpointStart, bundle.FileConsistency} {
		if _, ok := files[name]; !ok {
			t.Errorf("%s is missing", name)
		}
	}
	cp, err := b.store.Checkpoint(context.Background(), b.tenant, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(files[bundle.FileCheckpointEnd], cp.Note) {
		t.Errorf("%s is not the latest checkpoint", bundle.FileCheckpointEnd)
	}
}

// Each tampering makes Verify fail and name what is wrong.
func TestVerifyNamesTampering(t *testing.T) {
	b := conformanceBundle(t)
	files := unzip(t, b.zip)
	entries := lines(files[bundle.FileEntries])
	context := lines(files[bundle.FileContext])
	// A batch.end in the period: a byte of it changes figures of PC-01.
	victim := -1
	for i, l := range entries {
		if bytes.Contains(l, []byte(`"type":"batch.end"`)) {
			victim = i
			break
		}
	}
	if victim < 0 {
		t.Fatal("no batch.end among the entries")
	}
	var ve bundle.Entry
	if err := json.Unmarshal(entries[victim], &ve); err != nil {
		t.Fatal(err)
	}
	var ce bundle.Entry
	if err := json.Unmarshal(context[len(context)/2], &ce); err != nil {
		t.Fatal(err)
	}
	// changeByte changes one byte of a line's record, the last digit of
	// quantity_good, so that the record stays valid.
	changeByte := func(line []byte) []byte {
		line = bytes.Clone(line)
		i := bytes.Index(line, []byte(`"quantity_good":`))
		if i < 0 {
			i = bytes.Index(line, []byte(`"source":"`)) + len(`"source":"`)
		} else {
			i += len(`"quantity_good":`)
			for line[i+1] >= '0' && line[i+1] <= '9' {
				i++
			}
		}
		line[i] ^= 1
		return line
	}
	middle, err := b.store.Checkpoints(t.Context(), b.tenant)
	if err != nil {
		t.Fatal(err)
	}
	var other []byte // a kept checkpoint between the start and the end
	for _, cp := range middle {
		if cp.SignedAt.After(b.from) && !bytes.Equal(cp.Note, files[bundle.FileCheckpointEnd]) {
			other = cp.Note
			break
		}
	}
	if other == nil {
		t.Fatal("no checkpoint between start and end")
	}

	tests := []struct {
		name   string
		change func(t *testing.T, files map[string][]byte)
		want   []string // each in some problem
	}{
		{
			name: "one byte of one record",
			change: func(t *testing.T, f map[string][]byte) {
				ls := lines(f[bundle.FileEntries])
				ls[victim] = changeByte(ls[victim])
				f[bundle.FileEntries] = bytes.Join(ls, nil)
			},
			want: []string{
				"entries.jsonl: " + ve.ID + ": the record does not hash to its content_sha256",
				"entries.jsonl: does not match its SHA-256 in manifest.json",
				"entries.jsonl: start-range.json and these entries do not give the root of checkpoint-end.txt",
			},
		},
		{
			name: "one byte of one record and its content hash",
			change: func(t *testing.T, f map[string][]byte) {
				ls := lines(f[bundle.FileEntries])
				l := changeByte(ls[victim])
				var e bundle.Entry
				if err := json.Unmarshal(l, &e); err != nil {
					t.Fatal(err)
				}
				sum := sha256.Sum256(e.Record)
				ls[victim] = bytes.Replace(l, []byte(ve.ContentSHA256), []byte(hex.EncodeToString(sum[:])), 1)
				f[bundle.FileEntries] = bytes.Join(ls, nil)
			},
			want: []string{
				"entries.jsonl: start-range.json and these entries do not give the root of checkpoint-end.txt",
				"results.json: PC-02: the re-run finds exception " + ve.ID,
			},
		},
		{
			name: "a control total in the results",
			change: func(t *testing.T, f map[string][]byte) {
				var res controls.Result
				if err := json.Unmarshal(f[bundle.FileResults], &res); err != nil {
					t.Fatal(err)
				}
				for i := range res.Controls {
					if c := &res.Controls[i]; c.ID == "PC-01" {
						if len(c.Totals) == 0 {
							t.Fatal("PC-01 has no control totals")
						}
						c.Totals[0].Value += "1"
					}
				}
				b, err := json.Marshal(&res)
				if err != nil {
					t.Fatal(err)
				}
				f[bundle.FileResults] = b
			},
			want: []string{"results.json: PC-01: control totals "},
		},
		{
			name: "one byte of one context record",
			change: func(t *testing.T, f map[string][]byte) {
				ls := lines(f[bundle.FileContext])
				ls[len(ls)/2] = changeByte(ls[len(ls)/2])
				f[bundle.FileContext] = bytes.Join(ls, nil)
			},
			want: []string{"context.jsonl: " + ce.ID + ": the record does not hash to its content_sha256"},
		},
		{
			name: "a record dropped",
			change: func(t *testing.T, f map[string][]byte) {
				ls := lines(f[bundle.FileEntries])
				f[bundle.FileEntries] = bytes.Join(append(ls[:victim:victim], ls[victim+1:]...), nil)
			},
			want: []string{
				"entries.jsonl: entry " + itoa(ve.Index) + ": missing",
				"entries.jsonl: start-range.json and these entries do not give the root of checkpoint-end.txt",
				"manifest.json: states",
			},
		},
		{
			name: "a context record dropped",
			change: func(t *testing.T, f map[string][]byte) {
				ls := lines(f[bundle.FileContext])
				f[bundle.FileContext] = bytes.Join(append(ls[:len(ls)/2:len(ls)/2], ls[len(ls)/2+1:]...), nil)
			},
			want: []string{"context.jsonl: entry " + itoa(ce.Index) + ": missing"},
		},
		{
			name:   "end checkpoint swapped for another kept one",
			change: func(t *testing.T, f map[string][]byte) { f[bundle.FileCheckpointEnd] = other },
			want: []string{
				"checkpoint-end.txt: does not match its SHA-256 in manifest.json",
				"checkpoint-end.txt: tree size",
			},
		},
		{
			name: "end checkpoint swapped, manifest and results made to agree",
			change: func(t *testing.T, f map[string][]byte) {
				f[bundle.FileCheckpointEnd] = other
				_, size, _, _ := ledger.ParseCheckpointText(string(other[:bytes.Index(other, []byte("\n\n"))+1]))
				var m bundle.Manifest
				json.Unmarshal(f[bundle.FileManifest], &m)
				m.EndSize = size
				m.Files[bundle.FileCheckpointEnd] = sum(other)
				f[bundle.FileManifest], _ = json.Marshal(m)
			},
			want: []string{
				"results.json: was evaluated at another checkpoint than checkpoint-end.txt",
				"consistency.json: is not between",
				"entries.jsonl: ",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := unzip(t, b.zip)
			tt.change(t, f)
			rep := verify(t, rezip(t, f), b.vkey)
			if rep.OK() {
				t.Fatal("the tampered bundle verifies")
			}
			var all []string
			for _, p := range rep.Problems {
				all = append(all, p.String())
			}
			text := strings.Join(all, "\n")
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("no problem says %q; problems:\n%s", w, text)
				}
			}
		})
	}
}

func TestVerifyRejectsAnotherKey(t *testing.T) {
	b := conformanceBundle(t)
	_, other, err := note.GenerateKey(rand.Reader, "test.example")
	if err != nil {
		t.Fatal(err)
	}
	rep := verify(t, b.zip, other)
	var text []string
	for _, p := range rep.Problems {
		text = append(text, p.String())
	}
	all := strings.Join(text, "\n")
	for _, want := range []string{
		"checkpoint-end.txt: signature does not verify with the key given",
		"checkpoint-start.txt: signature does not verify with the key given",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no problem says %q; problems:\n%s", want, all)
		}
	}
}

func itoa(n uint64) string { return strings.TrimSpace(string(must(json.Marshal(n)))) }

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// lines splits a JSON Lines file, each line keeping its "\n".
func lines(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		out = append(out, b[:i+1])
		b = b[i+1:]
	}
	return out
}

func unzip(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name], err = io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	return files
}

func rezip(t *testing.T, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, b := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// A bundle built on PostgreSQL verifies offline as one built on SQLite
// does, with the same controls results. (Receipt times, and so leaves,
// roots and checkpoint sizes, follow the ledger's clock readings, which
// depend on real time: the bundles are not byte for byte the same.)
func TestBundleOnPostgres(t *testing.T) {
	lite := conformanceBundle(t)
	var pg storetest.Backend
	for _, b := range storetest.Backends() {
		if b.Name == "postgres" {
			pg = b
		}
	}
	got, err := buildOn(pg.Open(t), lite.skey, lite.vkey)
	if err != nil {
		t.Fatal(err)
	}
	rep := verify(t, got.zip, got.vkey)
	for _, p := range rep.Problems {
		t.Error(p)
	}
	if rep.Controls != 24 {
		t.Errorf("%d controls re-run", rep.Controls)
	}
	results := func(zipped []byte) string {
		var doc map[string]any
		if err := json.Unmarshal(unzip(t, zipped)[bundle.FileResults], &doc); err != nil {
			t.Fatal(err)
		}
		delete(doc, "checkpoint")
		b, _ := json.MarshalIndent(doc, "", " ")
		return string(b)
	}
	if a, b := results(lite.zip), results(got.zip); a != b {
		t.Errorf("controls results differ:\nSQLite:     %.400s\nPostgreSQL: %.400s", a, b)
	}
}
