package controls_test

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/controls"
	"github.com/waarborg/waarborg/recordtest"
)

// A Monitor fed records in rounds gives, after each round, exactly what a
// fresh Evaluate gives over the records added so far: corrections that
// arrive late, or that supersede one applied in an earlier round, included.
func TestMonitorEqualsEvaluate(t *testing.T) {
	dir := basicScenario(t)
	var period struct{ Tenant, From, To string }
	recordtest.ReadJSON(t, filepath.Join(dir, "period.json"), &period)
	records := recordtest.MustRead(t, filepath.Join(dir, "records.jsonl"))
	// A correction that supersedes co.00001, the first one of the file, and
	// one of it that must not take effect.
	records = append(records,
		mustParse(t, `{"id":"co.late","tenant":"vitafood","source":"ede/line-1/edge","type":"correction","time":"2026-11-21T08:00:00Z","actor":"s.willems","data":{"corrects":"mr.BEDE1-00002.2","type":"machine.runtime","reason":"re-read again","data":{"line":"line-1","batch_id":"BEDE1-00002","start":"2026-11-20T13:00:00Z","end":"2026-11-20T17:19:52Z","run_seconds":9000}}}`),
		mustParse(t, `{"id":"co.of-co","tenant":"vitafood","source":"ede/line-1/edge","type":"correction","time":"2026-11-21T09:00:00Z","actor":"s.willems","data":{"corrects":"co.late","type":"correction","reason":"no","data":{"corrects":"x","type":"alarm","reason":"r","data":{"alarm_id":"a","tag":"t","priority":"low","state":"active"}}}}`),
		mustParse(t, `{"id":"wf.1","tenant":"vitafood","source":"waarborg/workflow","type":"exception.explain","time":"2026-11-25T09:00:00Z","actor":"ann","data":{"control":"PC-02","subject":"x","explanation":"e"}}`),
	)
	from, _ := time.Parse(time.DateOnly, period.From)
	to, _ := time.Parse(time.DateOnly, period.To)

	for _, tt := range []struct {
		name     string
		to, upTo time.Time // the monitor starts with to and is extended to upTo
	}{
		{"fixed period", to, to},
		{"period extended", to.AddDate(0, 0, -30), to},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m, err := controls.NewMonitor(controls.Default(), period.Tenant, from, tt.to)
			if err != nil {
				t.Fatal(err)
			}
			const rounds = 6
			n := 0
			for round := 1; round <= rounds; round++ {
				end := len(records) * round / rounds
				for _, r := range records[n:end] {
					m.Add(r)
				}
				n = end
				if round == rounds {
					m.Extend(tt.upTo)
				}
				_, mto := m.Period()
				want, err := controls.Evaluate(controls.Default(), controls.Input{
					Tenant: period.Tenant, From: from, To: mto,
					Records: slices.Values(records[:n]), Integrity: &controls.Integrity{Entries: n},
				})
				if err != nil {
					t.Fatal(err)
				}
				got := m.Evaluate()
				gb, _ := json.Marshal(got)
				wb, _ := json.Marshal(want)
				if string(gb) != string(wb) {
					t.Fatalf("round %d (%d records): monitor and Evaluate differ\n%s", round, n, firstDiff(gb, wb))
				}
			}
		})
	}
}

func firstDiff(a, b []byte) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	lo := max(0, i-200)
	return "monitor:  …" + string(a[lo:min(len(a), i+200)]) + "\nEvaluate: …" + string(b[lo:min(len(b), i+200)])
}

func mustParse(t *testing.T, line string) *waarborg.Record {
	t.Helper()
	r, err := waarborg.ParseRecord([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestWorkflow(t *testing.T) {
	act := func(id, typ, at, actor, text string) *waarborg.Record {
		key := map[string]string{"exception.explain": "explanation", "exception.remediate": "remediation", "exception.accept": "response"}[typ]
		return mustParse(t, `{"id":"`+id+`","tenant":"t","source":"waarborg/workflow","type":"`+typ+`","time":"`+at+`","actor":"`+actor+`","data":{"control":"PC-02","subject":"b1","`+key+`":"`+text+`"}}`)
	}
	explain := act("a1", "exception.explain", "2026-03-01T10:00:00Z", "ann", "signer on leave")
	accept := act("a2", "exception.accept", "2026-03-02T10:00:00Z", "cfo", "one-off, accepted")
	remediate := act("a3", "exception.remediate", "2026-03-02T10:00:00Z", "bob", "signed late") // same time, later id
	other := mustParse(t, `{"id":"x","tenant":"t","source":"s","type":"change.approve","time":"2026-03-03T00:00:00Z","actor":"ann","data":{"change_id":"c"}}`)
	tests := []struct {
		name    string
		records []*waarborg.Record
		status  string
		history []string
	}{
		{"no action", []*waarborg.Record{other}, controls.StatusOpen, nil},
		{"explained", []*waarborg.Record{explain}, controls.StatusExplained, []string{"a1"}},
		{"accepted after explained", []*waarborg.Record{accept, explain}, controls.StatusAccepted, []string{"a1", "a2"}},
		{"same time: id decides", []*waarborg.Record{remediate, accept, explain, accept}, controls.StatusRemediated, []string{"a1", "a2", "a3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w controls.Workflow
			for _, r := range tt.records {
				w.Apply(r)
			}
			st := w.State("PC-02", "b1")
			var ids []string
			for _, a := range st.History {
				ids = append(ids, a.ID)
			}
			if st.Status != tt.status || !slices.Equal(ids, tt.history) {
				t.Errorf("state = %s %v, want %s %v", st.Status, ids, tt.status, tt.history)
			}
			if len(st.History) > 0 && (st.History[0].Actor != "ann" || st.History[0].Text != "signer on leave") {
				t.Errorf("first action = %+v", st.History[0])
			}
			if other := w.State("PC-02", "b2"); other.Status != controls.StatusOpen || other.History == nil {
				t.Errorf("another subject = %+v", other)
			}
		})
	}
}

// Workflow records are no control's population, but acting on an exception
// after one's termination is activity after termination (AC-04: "any record
// of any type").
func TestEvaluateWorkflowIsActivityOnly(t *testing.T) {
	recs := []*waarborg.Record{
		mustParse(t, `{"id":"h1","tenant":"t","source":"ede/hr","type":"hr.termination","time":"2026-01-02T00:00:00Z","data":{"user":"ann","effective":"2026-01-02T00:00:00Z"}}`),
		mustParse(t, `{"id":"w1","tenant":"t","source":"waarborg/workflow","type":"exception.explain","time":"2026-01-05T00:00:00Z","actor":"ann","data":{"control":"AC-04","subject":"h1","explanation":"e"}}`),
	}
	res, err := controls.Evaluate(controls.Default(), controls.Input{Tenant: "t",
		From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC),
		Records: slices.Values(recs), Integrity: &controls.Integrity{Entries: 2}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Controls {
		if c.ID == "AC-04" && (len(c.Exceptions) != 1 || c.Exceptions[0].Subject != "h1" || c.Exceptions[0].Reasons[0] != "activity-after-termination") {
			t.Errorf("AC-04 exceptions %+v, want h1 activity-after-termination", c.Exceptions)
		}
		if c.ID == "LM-03" && c.Population != 2 {
			t.Errorf("LM-03 population %d, want 2", c.Population)
		}
	}
}

// The result names the parameter values it was evaluated with, in the form
// Override reads, so that a result can be reproduced from its document.
func TestResultCatalog(t *testing.T) {
	cat := controls.Default()
	if err := cat.Override([]byte(`{"AC-04": {"revocation_window": "48h"}}`)); err != nil {
		t.Fatal(err)
	}
	res, err := controls.Evaluate(cat, controls.Input{Tenant: "t",
		From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Catalog.Parameters["AC-04"]["revocation_window"]; got != "48h" {
		t.Errorf("AC-04 revocation_window = %q, want 48h", got)
	}
	var doc struct {
		Catalog struct {
			Version    int                          `json:"version"`
			Parameters map[string]map[string]string `json:"parameters"`
		} `json:"catalog"`
	}
	b, _ := json.Marshal(res)
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Catalog.Version != cat.Version || len(doc.Catalog.Parameters) == 0 {
		t.Fatalf("catalog = %+v", doc.Catalog)
	}
	again := controls.Default()
	params, _ := json.Marshal(doc.Catalog.Parameters)
	if err := again.Override(params); err != nil {
		t.Fatalf("the result's parameters do not read back: %v", err)
	}
	if !reflect.DeepEqual(again.InForce(), res.Catalog) {
		t.Errorf("read back %+v, want %+v", again.InForce(), res.Catalog)
	}
}
