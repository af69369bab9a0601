package oscal_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/waarborg/waarborg/oscal/oscaltest"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/controls"
	"github.com/waarborg/waarborg/oscal"
	"github.com/waarborg/waarborg/recordtest"
)

// It lives beside the module checkout.
const scenarioDir = "../../shared/conformance/basic"

// checkpoint stands in for a signed checkpoint: the conformance scenario
// has none, and the document only cites its text.
const checkpoint = "waarborg.example/vitafood\n1234\nq6m3Fz0wO1nZx4b3jzZb0yZt5rJ3m0pWk7JjLw4+9yA=\n\n— waarborg.example/vitafood Az3aEQ==\n"

// scenario evaluates the basic conformance scenario into an oscal.Input.
func scenario(t *testing.T) oscal.Input {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(scenarioDir, "period.json"))
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("no conformance scenario in %s (the shared checkout is absent)", scenarioDir)
	}
	if err != nil {
		t.Fatal(err)
	}
	var period struct{ Tenant, From, To string }
	if err := json.Unmarshal(b, &period); err != nil {
		t.Fatal(err)
	}
	from, err := time.Parse(time.DateOnly, period.From)
	if err != nil {
		t.Fatal(err)
	}
	to, err := time.Parse(time.DateOnly, period.To)
	if err != nil {
		t.Fatal(err)
	}
	records := recordtest.MustRead(t, filepath.Join(scenarioDir, "records.jsonl"))
	cat := controls.Default()
	res, err := controls.Evaluate(cat, controls.Input{
		Tenant:    period.Tenant,
		From:      from,
		To:        to,
		Records:   slices.Values(records),
		Integrity: &controls.Integrity{Entries: len(records)},
	})
	if err != nil {
		t.Fatal(err)
	}
	res.Checkpoint = checkpoint
	return oscal.Input{
		Result:     res,
		Catalog:    cat,
		Tenant:     period.Tenant,
		From:       from,
		To:         to,
		Checkpoint: checkpoint,
		Generated:  time.Date(2027, 1, 14, 9, 30, 0, 0, time.UTC),
		Version:    "v0.4.0-test",
	}
}

func compileSchema(t *testing.T) *jsonschema.Schema { return oscaltest.Compile(t) }

func validate(sch *jsonschema.Schema, doc []byte) error { return oscaltest.Validate(sch, doc) }

func generate(t *testing.T, in oscal.Input) []byte {
	t.Helper()
	doc, err := oscal.AssessmentResults(in)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestSchemaValid(t *testing.T) {
	sch := compileSchema(t)
	doc := generate(t, scenario(t))
	if err := validate(sch, doc); err != nil {
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			t.Fatalf("document does not validate:\n%#v", ve)
		}
		t.Fatal(err)
	}
}

func TestDeterministic(t *testing.T) {
	a := generate(t, scenario(t))
	b := generate(t, scenario(t))
	if !bytes.Equal(a, b) {
		t.Error("two runs over the same evaluation give different documents")
	}
}

// parsed is the part of the document the tests read back.
type parsed struct {
	AR struct {
		Metadata struct {
			OSCALVersion string `json:"oscal-version"`
		} `json:"metadata"`
		Results []struct {
			ReviewedControls struct {
				ControlSelections []struct {
					IncludeControls []struct {
						ControlID string `json:"control-id"`
					} `json:"include-controls"`
				} `json:"control-selections"`
			} `json:"reviewed-controls"`
			Observations []struct {
				UUID  string `json:"uuid"`
				Props []struct{ Name, Value string }
			} `json:"observations"`
			Findings []struct {
				Props  []struct{ Name, Value string }
				Target struct {
					TargetID string `json:"target-id"`
					Status   struct{ State string }
				} `json:"target"`
				RelatedObservations []struct {
					ObservationUUID string `json:"observation-uuid"`
				} `json:"related-observations"`
			} `json:"findings"`
		} `json:"results"`
	} `json:"assessment-results"`
}

func prop(props []struct{ Name, Value string }, name string) string {
	for _, p := range props {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}

// TestEveryControl checks that each control of the catalog is reviewed and
// observed, and that findings follow the results: satisfied, not-satisfied,
// and none for not-occurring.
func TestEveryControl(t *testing.T) {
	in := scenario(t)
	var doc parsed
	if err := json.Unmarshal(generate(t, in), &doc); err != nil {
		t.Fatal(err)
	}
	if v := doc.AR.Metadata.OSCALVersion; v != oscal.OSCALVersion {
		t.Errorf("oscal-version %q", v)
	}
	if len(doc.AR.Results) != 1 {
		t.Fatalf("%d results, want 1", len(doc.AR.Results))
	}
	r := doc.AR.Results[0]
	reviewed := map[string]bool{}
	for _, s := range r.ReviewedControls.ControlSelections {
		for _, c := range s.IncludeControls {
			reviewed[c.ControlID] = true
		}
	}
	observed := map[string]string{} // control id → uuid of its control observation
	uuids := map[string]bool{}
	for _, o := range r.Observations {
		uuids[o.UUID] = true
		if prop(o.Props, "population") != "" {
			observed[prop(o.Props, "control-id")] = o.UUID
		}
	}
	found := map[string]string{}
	for _, f := range r.Findings {
		id := prop(f.Props, "control-id")
		found[id] = f.Target.Status.State
		if !slices.ContainsFunc(f.RelatedObservations, func(o struct {
			ObservationUUID string `json:"observation-uuid"`
		}) bool {
			return o.ObservationUUID == observed[id]
		}) {
			t.Errorf("finding for %s is not related to the control's observation", id)
		}
		for _, o := range f.RelatedObservations {
			if !uuids[o.ObservationUUID] {
				t.Errorf("finding for %s relates to unknown observation %s", id, o.ObservationUUID)
			}
		}
	}
	if len(in.Catalog.Controls) != 24 {
		t.Errorf("%d controls in the catalog, want 24", len(in.Catalog.Controls))
	}
	kinds := map[string]int{}
	for _, c := range in.Result.Controls {
		kinds[c.Result]++
		if !reviewed[strings.ToLower(c.ID)] {
			t.Errorf("%s: not in reviewed-controls as %s", c.ID, strings.ToLower(c.ID))
		}
		if observed[c.ID] == "" {
			t.Errorf("%s: no observation", c.ID)
		}
		want := map[string]string{controls.Effective: "satisfied", controls.Exceptions: "not-satisfied", controls.NotOccurring: ""}[c.Result]
		if found[c.ID] != want {
			t.Errorf("%s is %s: finding state %q, want %q", c.ID, c.Result, found[c.ID], want)
		}
	}
	if len(reviewed) != len(in.Catalog.Controls) {
		t.Errorf("%d controls reviewed, want %d", len(reviewed), len(in.Catalog.Controls))
	}
	t.Logf("results in the scenario: %v", kinds)
}

// TestSchemaRejects makes sure the validation above can fail: each case
// breaks a valid document the way a bug in this package might.
func TestSchemaRejects(t *testing.T) {
	sch := compileSchema(t)
	valid := generate(t, scenario(t))
	ar := func(d map[string]any) map[string]any { return d["assessment-results"].(map[string]any) }
	res := func(d map[string]any) map[string]any { return ar(d)["results"].([]any)[0].(map[string]any) }
	first := func(d map[string]any, key string) map[string]any { return res(d)[key].([]any)[0].(map[string]any) }
	tests := []struct {
		name   string
		mutate func(d map[string]any)
	}{
		{"missing metadata title", func(d map[string]any) { delete(ar(d)["metadata"].(map[string]any), "title") }},
		{"missing import-ap", func(d map[string]any) { delete(ar(d), "import-ap") }},
		{"no results", func(d map[string]any) { ar(d)["results"] = []any{} }},
		{"uuid not version 4 or 5", func(d map[string]any) { ar(d)["uuid"] = "00000000-0000-1000-8000-000000000000" }},
		{"start without time zone", func(d map[string]any) { res(d)["start"] = "2026-11-22T00:00:00" }},
		{"control-id not a token", func(d map[string]any) {
			sel := res(d)["reviewed-controls"].(map[string]any)["control-selections"].([]any)[0].(map[string]any)
			sel["include-controls"].([]any)[0].(map[string]any)["control-id"] = "01 ac"
		}},
		{"observation without methods", func(d map[string]any) { delete(first(d, "observations"), "methods") }},
		{"finding state outside the enum", func(d map[string]any) {
			first(d, "findings")["target"].(map[string]any)["status"].(map[string]any)["state"] = "effective"
		}},
		{"unknown field", func(d map[string]any) { res(d)["population"] = 3 }},
		{"prop value with trailing space", func(d map[string]any) {
			first(d, "observations")["props"].([]any)[0].(map[string]any)["value"] = "AC-01 "
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d map[string]any
			if err := json.Unmarshal(valid, &d); err != nil {
				t.Fatal(err)
			}
			tt.mutate(d)
			broken, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			if err := validate(sch, broken); err == nil {
				t.Error("the broken document validates")
			}
		})
	}
}

func TestInvalidInput(t *testing.T) {
	base := scenario(t)
	tests := []struct {
		name string
		edit func(in *oscal.Input)
	}{
		{"no result", func(in *oscal.Input) { in.Result = nil }},
		{"no catalog", func(in *oscal.Input) { in.Catalog = nil }},
		{"bad tenant", func(in *oscal.Input) { in.Tenant = "" }},
		{"other tenant", func(in *oscal.Input) { in.Tenant = "other" }},
		{"empty period", func(in *oscal.Input) { in.To = in.From }},
		{"other period", func(in *oscal.Input) { in.To = in.To.AddDate(0, 0, 1) }},
		{"no generation time", func(in *oscal.Input) { in.Generated = time.Time{} }},
		{"no version", func(in *oscal.Input) { in.Version = "" }},
		{"catalog without a control of the result", func(in *oscal.Input) {
			cat := *in.Catalog
			cat.Controls = cat.Controls[1:]
			in.Catalog = &cat
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := base
			tt.edit(&in)
			_, err := oscal.AssessmentResults(in)
			if waarborg.ErrorCode(err) != waarborg.EINVALID {
				t.Errorf("error %v, want kind %s", err, waarborg.EINVALID)
			}
		})
	}
}
