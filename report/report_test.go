package report

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/controls"
)

// Manual controls' subjects are period labels; an exception counts in the
// month its period starts.
func TestPeriodStart(t *testing.T) {
	tests := []struct {
		label string
		want  string // RFC 3339, "" when not a period label
	}{
		{"2026-Q1", "2026-01-01T00:00:00Z"},
		{"2026-Q4", "2026-10-01T00:00:00Z"},
		{"2026-W01", "2025-12-29T00:00:00Z"}, // ISO week 1 of 2026 starts in 2025
		{"2026-W53", "2026-12-28T00:00:00Z"},
		{"2027-W02", "2027-01-11T00:00:00Z"},
		{"2026-Q5", ""},
		{"2026-W00", ""},
		{"be.BVEN1-00015", ""},
		{"2026-Q1x", ""},
	}
	for _, tt := range tests {
		t.Run(tt.label, func(t *testing.T) {
			got, _, ok := waarborg.ParsePeriod(tt.label)
			if tt.want == "" {
				if ok {
					t.Errorf("ParsePeriod(%q) = %v, want no period", tt.label, got)
				}
				return
			}
			if !ok || got.Format(time.RFC3339) != tt.want {
				t.Errorf("ParsePeriod(%q) = %v, %v; want %s", tt.label, got, ok, tt.want)
			}
		})
	}
}

func TestParseProfile(t *testing.T) {
	const valid = `{"service_organisation": "S", "user_entity": "U", "services": ["x"],
		"signatory": {"name": "N", "title": "T"},
		"subservice_organisations": [{"name": "DC", "service": "hosting", "method": "carve-out"}]}`
	tests := []struct {
		name, json, err string
	}{
		{"valid", valid, ""},
		{"unknown field", `{"service_organisation": "S", "usr_entity": "U"}`, `unknown field "usr_entity"`},
		{"missing", `{"service_organisation": "S"}`, "user_entity, signatory.name, signatory.title, services"},
		{"method", strings.Replace(valid, "carve-out", "carved", 1), `method is "carved"`},
		{"not json", `{`, "profile:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseProfile([]byte(tt.json))
			if tt.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) || waarborg.ErrorCode(err) != waarborg.EINVALID {
				t.Errorf("ParseProfile: %v, want an invalid error with %q", err, tt.err)
			}
		})
	}
}

func record(t *testing.T, line string) *waarborg.Record {
	t.Helper()
	r, err := waarborg.ParseRecord([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// testReport is a small Type II report over January and February 2026.
func testReport(t *testing.T) (*Report, map[string]*waarborg.Record) {
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	to := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	byID := map[string]*waarborg.Record{}
	stats := NewStats(from, to)
	for _, l := range []string{
		`{"id":"d1","tenant":"t","source":"ede/line-1/scada","type":"change.deploy","time":"2026-01-10T10:00:00Z","actor":"x","data":{"target":"recipe/a","content_sha256":"` + strings.Repeat("a", 64) + `"}}`,
		`{"id":"d2","tenant":"t","source":"ede/line-1/scada","type":"change.deploy","time":"2026-02-10T10:00:00Z","actor":"x","data":{"target":"recipe/a","content_sha256":"` + strings.Repeat("b", 64) + `"}}`,
		`{"id":"g1","tenant":"t","source":"ede/line-1/scada","type":"source.gap","time":"2026-02-11T10:00:00Z","data":{"detail":"seq jump","since":"2026-02-11T09:00:00Z"}}`,
		`{"id":"c1","tenant":"t","source":"ede/line-1/mes","type":"correction","time":"2026-02-12T10:00:00Z","actor":"q","data":{"corrects":"d1","type":"change.deploy","reason":"typo","data":{"target":"recipe/b","content_sha256":"` + strings.Repeat("c", 64) + `"}}}`,
		`{"id":"c2","tenant":"t","source":"ede/line-1/mes","type":"correction","time":"2026-02-12T11:00:00Z","actor":"q","data":{"corrects":"nowhere","type":"unit.serial","reason":"early","data":{"serial":"s1","batch_id":"b1"}}}`,
		`{"id":"old","tenant":"t","source":"ede/line-1/scada","type":"change.deploy","time":"2025-12-31T23:59:59Z","actor":"x","data":{"target":"recipe/a","content_sha256":"` + strings.Repeat("a", 64) + `"}}`,
	} {
		r := record(t, l)
		byID[r.ID] = r
		stats.Add(r)
	}
	res := &controls.Result{Tenant: "t", From: from, To: to, Controls: []controls.ControlResult{
		{ID: "AC-01", Objective: "CO1", Population: 2, Result: controls.Exceptions,
			Exceptions: []controls.Exception{{Subject: "d1", Reasons: []string{"unauthorised-actor"}}, {Subject: "d2", Reasons: []string{"unauthorised-actor"}}}},
		{ID: "AC-05", Objective: "CO1", Result: controls.Exceptions, Exceptions: []controls.Exception{{Subject: "2026-Q1", Reasons: []string{"review-missing"}}}},
		{ID: "IM-01", Objective: "CO5", Result: controls.NotOccurring, Exceptions: []controls.Exception{}},
	}}
	r := &Report{Kind: TypeII, Tenant: "t", From: from, To: to, Result: res, Stats: stats, Catalog: controls.Default(),
		Profile: &Profile{ServiceOrganisation: "S", UserEntity: "U", Services: []string{"x"}}}
	return r, byID
}

func TestResolve(t *testing.T) {
	r, byID := testReport(t)
	lookup := func(_ context.Context, id string) (*waarborg.Record, error) {
		if rec, ok := byID[id]; ok {
			return rec, nil
		}
		return nil, waarborg.Errorf(waarborg.ENOTFOUND, "no %s", id)
	}
	if err := r.Resolve(t.Context(), lookup); err != nil {
		t.Fatal(err)
	}
	cs := r.Corrections()
	if len(cs) != 2 || !cs[0].Applied || cs[1].Applied || !strings.Contains(cs[1].NotApplied, "not in the ledger") {
		t.Errorf("corrections = %+v, want c1 applied and c2 not, its record missing", cs)
	}
	got := r.ExceptionsPerMonth()
	// January: d1 (CO1) and the quarter 2026-Q1 (CO1); February: d2 (CO1).
	if got[0][0] != 2 || got[1][0] != 1 || got[0][4] != 0 {
		t.Errorf("exceptions per month = %v, want [[2 0 0 0 0] [1 0 0 0 0]]", got)
	}
	if r.Stats.Records != 5 || r.Stats.Sources["ede/line-1/scada"].Gaps != 1 {
		t.Errorf("stats: %d records, %d gaps; want 5 in the period and 1 gap", r.Stats.Records, r.Stats.Sources["ede/line-1/scada"].Gaps)
	}
}

func TestRenderings(t *testing.T) {
	r, _ := testReport(t)
	if err := r.Resolve(t.Context(), func(context.Context, string) (*waarborg.Record, error) {
		return nil, waarborg.Errorf(waarborg.ENOTFOUND, "none")
	}); err != nil {
		t.Fatal(err)
	}
	var html, pdf bytes.Buffer
	if err := HTML(&html, r); err != nil {
		t.Fatal(err)
	}
	if err := PDF(&pdf, r); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(pdf.Bytes(), []byte("%PDF-")) || !bytes.Contains(pdf.Bytes(), []byte("%%EOF")) {
		t.Error("PDF output is not a PDF file")
	}
	for _, want := range []string{"Not occurring", "no: the corrected record is not in the ledger", "<svg", "AC-01"} {
		if !strings.Contains(html.String(), want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	r.Profile = nil
	if err := HTML(&html, r); err == nil {
		t.Error("HTML without a profile: no error")
	}
}

func TestCompactAndNiceCeil(t *testing.T) {
	for _, tt := range []struct {
		v    float64
		want string
	}{{0, "0"}, {1200, "1.2k"}, {25000, "25k"}, {2500000, "2.5M"}, {0.25, "0.25"}} {
		if got := compact(tt.v); got != tt.want {
			t.Errorf("compact(%v) = %s, want %s", tt.v, got, tt.want)
		}
	}
	for _, tt := range []struct{ v, want float64 }{{0, 1}, {3, 5}, {120, 200}, {1000, 1000}, {0.3, 0.5}} {
		if got := niceCeil(tt.v); got != tt.want {
			t.Errorf("niceCeil(%v) = %v, want %v", tt.v, got, tt.want)
		}
	}
}
