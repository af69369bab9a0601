package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/controls"
	"github.com/waarborg/waarborg/oscal/oscaltest"
	"github.com/waarborg/waarborg/servicetest"
	"github.com/waarborg/waarborg/sqlite"
)

const conformanceBasic = "../../../shared/conformance/basic"

// conformanceData ingests the basic conformance scenario into a new data
// directory.
func conformanceData(t *testing.T) string {
	t.Helper()
	records := filepath.Join(conformanceBasic, "records.jsonl")
	if _, err := os.Stat(records); err != nil {
		t.Skipf("no conformance scenario at %s (the shared checkout is absent)", conformanceBasic)
	}
	dir := t.TempDir()
	if _, errOut, err := runMain(t, "", "ingest", "-q", "--data", dir, records); err != nil {
		t.Fatalf("ingest: %v\n%s", err, errOut)
	}
	return dir
}

// TestReportTypeII generates the Type II report of the conformance
// scenario and checks each file it must write: a PDF that poppler reads
// and renders with every control in it, the HTML with every control, the
// result document, OSCAL that validates against the OSCAL 1.0.6 schema, and
// a bundle that verify-bundle passes.
func TestReportTypeII(t *testing.T) {
	data := conformanceData(t)
	// A witness cosigned the checkpoint the report will read.
	store, err := sqlite.Open(t.Context(), filepath.Join(data, dbFile))
	if err != nil {
		t.Fatal(err)
	}
	cp, err := store.Checkpoint(t.Context(), "vitafood", 0)
	if err != nil {
		t.Fatal(err)
	}
	witnessTime := time.Date(2027, 1, 13, 0, 5, 0, 0, time.UTC)
	err = store.Update(t.Context(), func(tx waarborg.Tx) error {
		return tx.AddCosignature(&waarborg.Cosignature{Tenant: "vitafood", Size: cp.Size, Witness: "witness.example",
			KeyHash: 1, Time: witnessTime, Line: "\u2014 witness.example AAAA\n"})
	})
	if err := errors.Join(err, store.Close()); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "report")
	stdout, errOut, err := runMain(t, "", "report", "--data", data, "--tenant", "vitafood", "--type", "2",
		"--from", "2026-11-22", "--to", "2027-01-13", "--profile", "testdata/profile.json", "--out", out, "--sample", "AC-01,PC-02")
	if err != nil {
		t.Fatalf("report: %v\n%s%s", err, stdout, errOut)
	}

	var res controls.Result
	b, err := os.ReadFile(filepath.Join(out, reportResult))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Controls) != 24 {
		t.Fatalf("results.json has %d controls, want 24", len(res.Controls))
	}

	html, err := os.ReadFile(filepath.Join(out, reportHTML))
	if err != nil {
		t.Fatal(err)
	}
	pdftotext := servicetest.Program(t, "pdftotext")
	text, err := exec.Command(pdftotext, "-layout", filepath.Join(out, reportPDF), "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	for _, c := range res.Controls {
		for name, doc := range map[string][]byte{reportHTML: html, reportPDF: text} {
			if !strings.Contains(string(doc), c.ID+" "+c.Title) {
				t.Errorf("%s lacks control %s %q", name, c.ID, c.Title)
			}
		}
	}
	for _, want := range []string{"witness.example (2027-01-13 00:05 UTC)", "Signing key in force", "Management's statement", "Complementary user entity controls", "carve-out",
		"Description of the system", "Corrections of evidence", "Sampling", "The report as evidence",
		"Not occurring", "co.00020", "batch.end good + scrap", "PC-02\n", "Population 336, sample size 60"} {
		if !strings.Contains(string(text), want) {
			t.Errorf("the PDF lacks %q", want)
		}
	}
	info, err := exec.Command(servicetest.Program(t, "pdfinfo"), filepath.Join(out, reportPDF)).CombinedOutput()
	if err != nil || !strings.Contains(string(info), "Page size:") {
		t.Fatalf("pdfinfo: %v\n%s", err, info)
	}
	png := filepath.Join(t.TempDir(), "page")
	if msg, err := exec.Command(servicetest.Program(t, "pdftoppm"), "-png", "-r", "50", "-f", "1", "-l", "1",
		filepath.Join(out, reportPDF), png).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, msg)
	}
	if matches, _ := filepath.Glob(png + "*.png"); len(matches) != 1 {
		t.Errorf("pdftoppm rendered %d pages, want 1", len(matches))
	}

	ar, err := os.ReadFile(filepath.Join(out, reportOSCAL))
	if err != nil {
		t.Fatal(err)
	}
	if err := oscaltest.Validate(oscaltest.Compile(t), ar); err != nil {
		t.Errorf("assessment-results.json does not validate: %v", err)
	}

	key, _, err := runMain(t, "", "key", "--data", data)
	if err != nil {
		t.Fatal(err)
	}
	if out, errOut, err := runMain(t, "", "verify-bundle", "--key", strings.TrimSpace(key), filepath.Join(out, reportBundle)); err != nil {
		t.Errorf("verify-bundle of the report's bundle: %v\n%s%s", err, out, errOut)
	}
}

func TestReportTypeIAndBridge(t *testing.T) {
	data := conformanceData(t)
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"type 1", []string{"--type", "1", "--as-of", "2027-01-13"},
			[]string{"Type I report", "as of 13 January 2027", "Traced instance:", "inclusion proof of"}},
		{"bridge", []string{"--type", "bridge", "--from", "2026-12-15", "--to", "2027-01-13"},
			[]string{"Bridge letter", "since the end of the period covered by our most recent report", "Tests performed and results"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "report")
			args := append([]string{"report", "--data", data, "--tenant", "vitafood", "--profile", "testdata/profile.json", "--out", out}, tt.args...)
			if stdout, errOut, err := runMain(t, "", args...); err != nil {
				t.Fatalf("report: %v\n%s%s", err, stdout, errOut)
			}
			html, err := os.ReadFile(filepath.Join(out, reportHTML))
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(html), w) {
					t.Errorf("report.html lacks %q", w)
				}
			}
		})
	}
}

func TestReportRefusesBadInput(t *testing.T) {
	data := conformanceData(t)
	bad := filepath.Join(t.TempDir(), "profile.json")
	os.WriteFile(bad, []byte(`{"service_organisation": "X", "user_entity": "Y", "services": ["s"], "signatory": {"name": "n", "title": "t"}, "sites": [], "cuecs": []}`), 0o644)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no period", []string{"--type", "2", "--from", "2026-11-22"}, "usage"},
		{"type 1 without as-of", []string{"--type", "1", "--from", "2026-11-22", "--to", "2027-01-13"}, "usage"},
		{"empty period", []string{"--type", "2", "--from", "2027-01-13", "--to", "2026-11-22"}, "is empty"},
		{"sample of LM-03", []string{"--type", "2", "--from", "2026-11-22", "--to", "2027-01-13", "--sample", "LM-03"}, "has population items"},
		{"sample in type 1", []string{"--type", "1", "--as-of", "2027-01-13", "--sample", "AC-01"}, "for Type II"},
		{"unknown profile field", []string{"--type", "2", "--from", "2026-11-22", "--to", "2027-01-13", "--profile", bad}, `unknown field "cuecs"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"report", "--data", data, "--tenant", "vitafood", "--profile", "testdata/profile.json", "--out", t.TempDir()}, tt.args...)
			stdout, errOut, err := runMain(t, "", args...)
			if err == nil || !strings.Contains(err.Error()+errOut, tt.want) {
				t.Errorf("report %v: %v, want an error with %q\n%s%s", tt.args, err, tt.want, stdout, errOut)
			}
		})
	}
}
