package web

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/monitor"
)

// monitored is a server with continuous monitoring over the conformance
// records of scenario basic, whose period the monitor's clock gives.
type monitored struct {
	*fixture
	mon *monitor.Service
	reg *prometheus.Registry
}

func newMonitored(t *testing.T) *monitored {
	t.Helper()
	f, err := os.Open("../../shared/conformance/basic/records.jsonl")
	if err != nil {
		t.Skip("conformance data not beside the checkout:", err)
	}
	defer f.Close()
	fx := newFixture(t, 0)
	var recs []*waarborg.Record
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		r, err := waarborg.ParseRecord(sc.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	if _, err := fx.ledger.Append(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	// Scenario basic's period is [2026-11-22, 2027-01-13): the monitor's
	// day is the last one of it.
	now := time.Date(2027, 1, 12, 15, 0, 0, 0, time.UTC)
	mon := monitor.New(monitor.Config{Store: fx.store, From: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC), Now: func() time.Time { return now }})
	reg := prometheus.NewRegistry()
	deps := fx.deps
	deps.Monitor, deps.Metrics = mon, reg
	fx.start(t, deps)
	m := &monitored{fixture: fx, mon: mon, reg: reg}
	m.tick(t)
	return m
}

func (m *monitored) tick(t *testing.T) {
	t.Helper()
	if err := m.mon.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func (m *monitored) exceptions(t *testing.T) monitor.Snapshot {
	t.Helper()
	status, body := m.do(t, "GET", "/api/v1/tenants/vitafood/exceptions", nil)
	if status != 200 {
		t.Fatalf("GET exceptions = %d %s", status, body)
	}
	var snap monitor.Snapshot
	if err := json.Unmarshal(body, &snap); err != nil {
		t.Fatal(err)
	}
	return snap
}

func find(snap monitor.Snapshot, control, subject string) *monitor.Exception {
	for i := range snap.Exceptions {
		if e := &snap.Exceptions[i]; e.Control == control && e.Subject == subject {
			return e
		}
	}
	return nil
}

const unapproved = `{"id":"ag.new","tenant":"vitafood","source":"corp/it/iam","type":"access.grant","time":"2027-01-12T14:00:00Z","actor":"adm.dewit","data":{"user":"x.new","role":"operator","scope":"ede"}}`

func TestExceptionsOfANewRecord(t *testing.T) {
	m := newMonitored(t)
	before := m.exceptions(t)
	if before.From.Format(time.DateOnly) != "2026-11-22" || before.To.Format(time.DateOnly) != "2027-01-13" {
		t.Errorf("period [%s, %s)", before.From, before.To)
	}
	if len(before.Exceptions) == 0 || find(before, "AC-03", "ag.new") != nil {
		t.Fatalf("%d exceptions before, ag.new among them: %v", len(before.Exceptions), find(before, "AC-03", "ag.new"))
	}
	if status, res := m.post(t, unapproved); status != 200 || res.Accepted != 1 {
		t.Fatalf("POST = %d %+v", status, res)
	}
	m.tick(t)
	after := m.exceptions(t)
	e := find(after, "AC-03", "ag.new")
	if e == nil {
		t.Fatal("no AC-03 exception for ag.new after the tick")
	}
	if strings.Join(e.Reasons, ",") != "no-approval" || e.Status != "open" || len(e.History) != 0 || e.Records[0] != "ag.new" {
		t.Errorf("exception = %+v", *e)
	}
	if len(after.Exceptions) != len(before.Exceptions)+1 || after.Entries != before.Entries+1 {
		t.Errorf("%d exceptions, %d entries; want %d, %d", len(after.Exceptions), after.Entries, len(before.Exceptions)+1, before.Entries+1)
	}
}

// With Run polling, a new record's exception shows within 5 seconds.
func TestExceptionsWithin5s(t *testing.T) {
	m := newMonitored(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.mon.Run(ctx, func(err error) { t.Error(err) }) }()
	defer func() { cancel(); <-done }()
	if status, _ := m.post(t, unapproved); status != 200 {
		t.Fatalf("POST = %d", status)
	}
	for deadline := time.Now().Add(5 * time.Second); find(m.exceptions(t), "AC-03", "ag.new") == nil; {
		if time.Now().After(deadline) {
			t.Fatal("the exception of ag.new did not show within 5s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestExceptionWorkflow(t *testing.T) {
	m := newMonitored(t)
	m.post(t, unapproved)
	m.tick(t)
	pending := func() float64 {
		return gaugeValue(t, m.reg, "vitafood", "AC-03")
	}
	open := pending()
	if open < 1 {
		t.Fatalf("waarborg_open_exceptions{AC-03} = %v", open)
	}
	// The actor of an action is the signed-in person.
	people := map[string]*http.Client{
		"m.smit":     m.signIn(t, "m.smit", waarborg.RoleEngineer, "vitafood"),
		"cfo.jansen": m.signIn(t, "cfo.jansen", waarborg.RoleCompliance, "vitafood"),
	}
	steps := []struct {
		action, text, actor string
		status              string
		pending             float64 // change of the gauge
	}{
		{"explain", "granted during the night shift; approval by phone", "m.smit", "explained", 0},
		{"accept", "Deviation accepted: approval was given and is documented in ticket 4711.", "cfo.jansen", "accepted", -1},
	}
	for i, st := range steps {
		body, _ := json.Marshal(map[string]string{"action": st.action, "text": st.text})
		status, out := doWith(t, people[st.actor], "POST", m.url+"/api/v1/tenants/vitafood/exceptions/AC-03/ag.new", strings.NewReader(string(body)))
		if status != 201 {
			t.Fatalf("%s: POST = %d %s", st.action, status, out)
		}
		rec, err := waarborg.ParseRecord(out)
		if err != nil {
			t.Fatalf("%s: answer %s: %v", st.action, out, err)
		}
		if want := "wf.AC-03.ag.new." + string(rune('1'+i)); rec.ID != want || rec.Actor != st.actor || rec.Source != "waarborg/workflow" || rec.Type != "exception."+st.action {
			t.Errorf("%s: record %s %s %s %s, want id %s", st.action, rec.ID, rec.Actor, rec.Source, rec.Type, want)
		}
		m.tick(t)
		e := find(m.exceptions(t), "AC-03", "ag.new")
		if e == nil || e.Status != st.status || len(e.History) != i+1 {
			t.Fatalf("%s: exception %+v", st.action, e)
		}
		if h := e.History[i]; h.Actor != st.actor || h.Text != st.text || h.Time.IsZero() {
			t.Errorf("%s: history %+v", st.action, h)
		}
		if got := pending(); got != open+st.pending {
			t.Errorf("%s: gauge %v, want %v", st.action, got, open+st.pending)
		}
	}

	for _, tt := range []struct {
		name, path, body string
		status           int
	}{
		{"unknown action", "AC-03/ag.new", `{"action":"close","text":"t"}`, 400},
		{"another actor", "AC-03/ag.new", `{"action":"explain","text":"t","actor":"cfo.jansen"}`, 400},
		{"no text", "AC-03/ag.new", `{"action":"explain"}`, 400},
		{"unknown control", "XX-99/ag.new", `{"action":"explain","text":"t"}`, 400},
		{"not json", "AC-03/ag.new", `explain`, 400},
		{"an engineer accepts", "AC-03/ag.new", `{"action":"accept","text":"t"}`, 403},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if status, out := doWith(t, people["m.smit"], "POST", m.url+"/api/v1/tenants/vitafood/exceptions/"+tt.path, strings.NewReader(tt.body)); status != tt.status {
				t.Errorf("POST = %d %s, want %d", status, out, tt.status)
			}
		})
	}
	// A machine cannot act: the actor must be a person.
	if status, out := m.do(t, "POST", "/api/v1/tenants/vitafood/exceptions/AC-03/ag.new", strings.NewReader(`{"action":"explain","text":"t"}`)); status != 403 {
		t.Errorf("POST with a read token = %d %s, want 403", status, out)
	}
}

// doWith sends a request with client c and returns the status and body.
func doWith(tb testing.TB, c *http.Client, method, url string, body io.Reader) (int, []byte) {
	tb.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		tb.Fatal(err)
	}
	return doRequest(tb, c, req)
}

// doRequest sends req with c and returns the status and body.
func doRequest(tb testing.TB, c *http.Client, req *http.Request) (int, []byte) {
	tb.Helper()
	resp, err := c.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp.StatusCode, b
}

// gaugeValue returns waarborg_open_exceptions{tenant,control}.
func gaugeValue(t *testing.T, g prometheus.Gatherer, tenant, control string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "waarborg_open_exceptions" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["tenant"] == tenant && labels["control"] == control {
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no waarborg_open_exceptions{tenant=%q,control=%q}", tenant, control)
	return 0
}
