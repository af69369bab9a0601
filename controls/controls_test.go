package controls_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/controls"
)

// rec writes one record line of tenant t; actor "" leaves it out.
func rec(id, typ, at, source, actor, data string) string {
	a := ""
	if actor != "" {
		a = fmt.Sprintf(`"actor":%q,`, actor)
	}
	return fmt.Sprintf(`{"id":%q,"tenant":"t","source":%q,"type":%q,"time":%q,%s"data":%s}`, id, source, typ, at, a, data)
}

// The period of every case unless it says otherwise: January 2026.
const (
	jan1 = "2026-01-01T00:00:00Z"
	feb1 = "2026-02-01T00:00:00Z"
)

type outcome map[string]string // subject → sorted reasons, comma-separated

// evaluate parses lines with waarborg.ParseRecord, so that every test
// record is valid, and evaluates them over [from, to).
func evaluate(t *testing.T, from, to, overrides string, lines ...string) *controls.Result {
	t.Helper()
	var records []*waarborg.Record
	for i, l := range lines {
		r, err := waarborg.ParseRecord([]byte(l))
		if err != nil {
			t.Fatalf("record %d: %v\n%s", i, err, l)
		}
		records = append(records, r)
	}
	cat := controls.Default()
	if overrides != "" {
		if err := cat.Override([]byte(overrides)); err != nil {
			t.Fatal(err)
		}
	}
	f, _ := waarborg.ParseTime(from)
	e, _ := waarborg.ParseTime(to)
	res, err := controls.Evaluate(cat, controls.Input{Tenant: "t", From: f, To: e,
		Records: slices.Values(records), Integrity: &controls.Integrity{Entries: len(records)}})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func control(t *testing.T, res *controls.Result, id string) controls.ControlResult {
	t.Helper()
	for _, c := range res.Controls {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("no control %s", id)
	return controls.ControlResult{}
}

func outcomeOf(c controls.ControlResult) outcome {
	o := outcome{}
	for _, e := range c.Exceptions {
		o[e.Subject] = strings.Join(e.Reasons, ",")
	}
	return o
}

type edgeCase struct {
	name      string
	from, to  string // default January 2026
	overrides string
	records   []string
	want      map[string]outcome // per control; only these are checked
	pop       map[string]int     // populations to check
}

func runCases(t *testing.T, cases []edgeCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			from, to := cmpOr(tc.from, jan1), cmpOr(tc.to, feb1)
			res := evaluate(t, from, to, tc.overrides, tc.records...)
			for _, id := range slices.Sorted(maps.Keys(tc.want)) {
				c := control(t, res, id)
				if got := outcomeOf(c); !maps.Equal(got, tc.want[id]) {
					t.Errorf("%s exceptions = %v, want %v", id, got, tc.want[id])
					for _, e := range c.Exceptions {
						t.Logf("  %s: %s", e.Subject, e.Detail)
					}
				}
			}
			for _, id := range slices.Sorted(maps.Keys(tc.pop)) {
				if got := control(t, res, id).Population; got != tc.pop[id] {
					t.Errorf("%s population = %d, want %d", id, got, tc.pop[id])
				}
			}
		})
	}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Records used by several cases.
func grant(id, at, user, role, scope string) string {
	return rec(id, "access.grant", at, "corp/iam", "adm", fmt.Sprintf(`{"user":%q,"role":%q,"scope":%q,"approved_by":"boss"}`, user, role, scope))
}

func revoke(id, at, user, role, scope string) string {
	return rec(id, "access.revoke", at, "corp/iam", "adm", fmt.Sprintf(`{"user":%q,"role":%q,"scope":%q}`, user, role, scope))
}

func deploy(id, at, actor, changeID string) string {
	c := ""
	if changeID != "" {
		c = fmt.Sprintf(`,"change_id":%q`, changeID)
	}
	return rec(id, "change.deploy", at, "ede/line-1/eng", actor, `{"target":"recipe/a","content_sha256":"aa"`+c+`}`)
}

func request(id, at, actor, changeID string, emergency bool) string {
	return rec(id, "change.request", at, "corp/change", actor,
		fmt.Sprintf(`{"change_id":%q,"target":"recipe/a","content_sha256":"aa","emergency":%t}`, changeID, emergency))
}

func approve(id, at, actor, changeID string) string {
	return rec(id, "change.approve", at, "corp/change", actor, fmt.Sprintf(`{"change_id":%q}`, changeID))
}

func batchEnd(id, at, batch, good, scrap, unit string) string {
	return rec(id, "batch.end", at, "ede/line-1/mes", "op",
		fmt.Sprintf(`{"batch_id":%q,"line":"line-1","quantity_good":%s,"quantity_scrap":%s,"unit":%q,"signed_by":"qa"}`, batch, good, scrap, unit))
}

func posting(id, at, movement, document, batch, qty, unit, extra string) string {
	return rec(id, "erp.posting", at, "ede/erp", "svc",
		fmt.Sprintf(`{"document":%q,"movement":%q,"batch_id":%q,"material":"m","quantity":%s,"unit":%q%s}`, document, movement, batch, qty, unit, extra))
}

func correction(id, at, corrects, typ, data string) string {
	return rec(id, "correction", at, "ede/line-1/mes", "qa",
		fmt.Sprintf(`{"corrects":%q,"type":%q,"reason":"r","data":%s}`, corrects, typ, data))
}

func TestAccess(t *testing.T) {
	runCases(t, []edgeCase{
		{
			name: "revoke at the instant of the grant wins; a re-grant restores",
			records: []string{
				grant("g1", "2026-01-02T08:00:00Z", "ann", "engineer", "ede"),
				revoke("r1", "2026-01-02T08:00:00Z", "ann", "engineer", "ede"),
				deploy("d1", "2026-01-03T08:00:00Z", "ann", ""),
				grant("g2", "2026-01-04T08:00:00Z", "ann", "engineer", "ede"),
				deploy("d2", "2026-01-04T08:00:00Z", "ann", ""), // at the grant: held
				revoke("r2", "2026-01-05T08:00:00Z", "ann", "engineer", "ede"),
				deploy("d3", "2026-01-05T08:00:00Z", "ann", ""), // at the revoke: not held
				deploy("d4", "2026-01-04T07:59:59.999Z", "ann", ""),
			},
			want: map[string]outcome{"AC-01": {"d1": "unauthorised-actor", "d3": "unauthorised-actor", "d4": "unauthorised-actor"}},
		},
		{
			name: "scope is the site or *; a revoke of another scope does not count",
			records: []string{
				grant("g1", "2025-12-01T00:00:00Z", "bob", "engineer", "*"),
				revoke("r1", "2025-12-02T00:00:00Z", "bob", "engineer", "ede"),
				grant("g2", "2025-12-01T00:00:00Z", "cy", "engineer", "venlo"),
				deploy("d1", "2026-01-03T08:00:00Z", "bob", ""),
				deploy("d2", "2026-01-03T08:00:00Z", "cy", ""),
				deploy("d3", "2026-01-03T08:00:00Z", "", ""),
				rec("x1", "data.export", "2026-01-03T08:00:00Z", "ede/mes/export", "bob", `{"dataset":"batches"}`),
			},
			want: map[string]outcome{
				"AC-01": {"d2": "unauthorised-actor", "d3": "unauthorised-actor"},
				"AC-02": {"x1": "unauthorised-actor"},
			},
		},
		{
			name: "grant approvals",
			records: []string{
				rec("g1", "access.grant", "2026-01-02T00:00:00Z", "corp/iam", "adm", `{"user":"u","role":"r","scope":"*"}`),
				rec("g2", "access.grant", "2026-01-02T00:00:00Z", "corp/iam", "adm", `{"user":"u","role":"r","scope":"*","approved_by":""}`),
				rec("g3", "access.grant", "2026-01-02T00:00:00Z", "corp/iam", "adm", `{"user":"u","role":"r","scope":"*","approved_by":"u"}`),
				rec("g4", "access.grant", "2026-01-02T00:00:00Z", "corp/iam", "adm", `{"user":"u","role":"r","scope":"*","approved_by":"adm"}`),
				rec("g5", "access.grant", "2026-01-02T00:00:00Z", "corp/iam", "adm", `{"user":"u","role":"r","scope":"*","approved_by":"boss"}`),
				rec("g6", "access.grant", "2026-01-02T00:00:00Z", "corp/iam", "", `{"user":"u","role":"r","scope":"*"}`),
			},
			want: map[string]outcome{"AC-03": {"g1": "no-approval", "g2": "no-approval", "g3": "self-approval", "g4": "self-approval", "g6": "no-approval"}},
		},
		{
			name: "termination: roles held per role and scope, revocation window inclusive, activity strictly after",
			records: []string{
				grant("g1", "2025-06-01T00:00:00Z", "ann", "engineer", "ede"),
				grant("g2", "2025-06-01T00:00:00Z", "ann", "engineer", "*"),
				grant("g3", "2025-06-01T00:00:00Z", "ann", "exporter", "ede"),
				revoke("r1", "2026-01-11T10:00:00+01:00", "ann", "engineer", "ede"), // 24h after, exactly
				revoke("r2", "2026-01-11T09:00:00.001Z", "ann", "engineer", "*"),    // 1ms late
				revoke("r3", "2026-01-10T09:00:00Z", "ann", "exporter", "ede"),      // at effective: not held then
				rec("h1", "hr.termination", "2026-01-10T12:00:00Z", "corp/hr", "hr", `{"user":"ann","effective":"2026-01-10T10:00:00+01:00"}`),
				rec("l1", "access.login", "2026-01-10T09:00:00Z", "ede/ad", "ann", `{"user":"ann","success":true}`),

				grant("g4", "2025-06-01T00:00:00Z", "bob", "engineer", "ede"),
				revoke("r4", "2026-01-12T00:00:00Z", "bob", "engineer", "ede"),
				rec("h2", "hr.termination", "2026-01-12T00:00:00Z", "corp/hr", "hr", `{"user":"bob","effective":"2026-01-12T00:00:00Z"}`),
			},
			want: map[string]outcome{"AC-04": {"h1": "late-revocation"}},
		},
		{
			name: "termination: activity however late, a correction included",
			records: []string{
				rec("h1", "hr.termination", "2026-01-10T12:00:00Z", "corp/hr", "hr", `{"user":"qa","effective":"2026-01-10T10:00:00Z"}`),
				correction("c1", "2027-03-01T00:00:00Z", "nothing", "alarm", `{"alarm_id":"a","tag":"t","priority":"low","state":"active"}`),
			},
			want: map[string]outcome{"AC-04": {"h1": "activity-after-termination"}},
		},
		{
			name: "quarterly access review: only whole quarters, grace inclusive, actor required",
			from: "2025-12-15T00:00:00Z", to: "2026-07-01T00:00:00Z",
			records: []string{
				rec("s1", "review.signoff", "2026-04-16T00:00:00Z", "corp/grc", "rev", `{"review":"access-review","period":"2026-Q1","evidence_sha256":"x"}`),
				rec("s2", "review.signoff", "2026-07-16T00:00:00.001Z", "corp/grc", "rev", `{"review":"access-review","period":"2026-Q2","evidence_sha256":"x"}`),
				rec("s3", "review.signoff", "2026-07-01T00:00:00Z", "corp/grc", "", `{"review":"access-review","period":"2026-Q2","evidence_sha256":"x"}`),
				rec("s4", "review.signoff", "2026-06-01T00:00:00Z", "corp/grc", "rev", `{"review":"monitoring-review","period":"2026-Q2","evidence_sha256":"x"}`),
			},
			want: map[string]outcome{"AC-05": {"2026-Q2": "review-missing"}},
			pop:  map[string]int{"AC-05": 2},
		},
	})
}

func TestMonitoring(t *testing.T) {
	sample := func(id, at, tag string) string {
		return rec(id, "historian.sample", at, "ede/line-1/historian", "", fmt.Sprintf(`{"tag":%q,"value":1}`, tag))
	}
	count := func(id, start, end string) string {
		return rec(id, "production.count", end, "ede/line-1/scada", "",
			fmt.Sprintf(`{"line":"line-1","product":"p","quantity":1,"unit":"kg","start":%q,"end":%q}`, start, end))
	}
	runCases(t, []edgeCase{
		{
			name: "samples: previous before the period, 5m exactly is no gap, offsets",
			records: []string{
				sample("h0", "2025-12-31T23:55:00Z", "a"),
				sample("h1", "2026-01-01T00:00:00Z", "a"),
				sample("h2", "2026-01-01T01:05:00.001+01:00", "a"), // 5m0.001s later
				sample("h3", "2026-01-01T00:10:00Z", "a"),
				sample("h4", "2026-01-01T00:10:00Z", "b"), // another tag: first of its series
				sample("h5", "2026-02-01T00:00:00Z", "a"), // after the period
			},
			want: map[string]outcome{"LM-02": {"h2": "gap"}},
			pop:  map[string]int{"LM-02": 4},
		},
		{
			name: "a correction moves a sample to another series",
			records: []string{
				sample("h1", "2026-01-01T00:00:00Z", "a"),
				sample("h2", "2026-01-01T00:04:00Z", "b"),
				sample("h3", "2026-01-01T00:08:00Z", "a"),
				correction("c1", "2026-01-02T00:00:00Z", "h2", "historian.sample", `{"tag":"a","value":1}`),
			},
			want: map[string]outcome{"LM-02": {}},
		},
		{
			name: "counts: ordered by start then id, gap and overlap, previous before the period",
			records: []string{
				count("p0", "2025-12-31T23:45:00Z", "2025-12-31T23:59:59Z"),
				count("p1", "2025-12-31T23:59:59Z", "2026-01-01T00:15:00Z"),
				count("p1.retx", "2025-12-31T23:59:59Z", "2026-01-01T00:15:00Z"),
				count("p2", "2026-01-01T00:15:00.001Z", "2026-01-01T00:30:00Z"),
				count("p3", "2026-01-01T00:29:00Z", "2026-01-01T00:45:00Z"),
			},
			want: map[string]outcome{"LM-01": {"p1.retx": "overlap", "p2": "gap", "p3": "overlap"}},
			pop:  map[string]int{"LM-01": 4},
		},
		{
			name:      "counts: a tolerance override",
			overrides: `{"LM-01": {"tolerance": "1m"}}`,
			records: []string{
				count("p1", "2026-01-01T00:00:00Z", "2026-01-01T00:15:00Z"),
				count("p2", "2026-01-01T00:16:00Z", "2026-01-01T00:30:00Z"),
				count("p3", "2026-01-01T00:31:00.001Z", "2026-01-01T00:45:00Z"),
			},
			want: map[string]outcome{"LM-01": {"p3": "gap"}},
		},
		{
			name: "gap follow-up by record id within 4h",
			records: []string{
				rec("sg1", "source.gap", "2026-01-02T10:00:00Z", "ede/line-1/edge", "", `{"detail":"d","since":"2026-01-02T09:00:00Z","until":"2026-01-02T09:30:00Z"}`),
				rec("sg2", "source.gap", "2026-01-02T10:00:00Z", "ede/line-1/edge", "", `{"detail":"d","since":"2026-01-02T09:00:00Z"}`),
				rec("i1", "incident.open", "2026-01-02T14:00:00Z", "ede/ops", "op", `{"incident_id":"I1","severity":"low","refs":["sg1"]}`),
				rec("i2", "incident.open", "2026-01-02T14:00:00.001Z", "ede/ops", "op", `{"incident_id":"I2","severity":"low","refs":["sg2"]}`),
			},
			want: map[string]outcome{"LM-05": {"sg2": "not-followed-up"}},
		},
	})
}

func TestWeeks(t *testing.T) {
	res := evaluate(t, "2025-12-24T12:00:00Z", "2026-01-12T00:00:00Z", "",
		rec("s1", "review.signoff", "2026-01-01T00:00:00Z", "corp/grc", "rev", `{"review":"monitoring-review","period":"2026-W01","evidence_sha256":"x"}`),
		rec("s2", "review.signoff", "2026-01-14T00:00:00Z", "corp/grc", "rev", `{"review":"monitoring-review","period":"2026-W02","evidence_sha256":"x"}`))
	c := control(t, res, "LM-04")
	// Whole weeks: 2026-W01 (Dec 29 - Jan 5) and 2026-W02 (Jan 5 - 12); W02's
	// sign-off is 2 days after its end, within 3.
	if c.Population != 2 || len(c.Exceptions) != 0 || c.Result != controls.Effective {
		t.Errorf("LM-04 = %+v", c)
	}
}

func TestProcessing(t *testing.T) {
	count := func(id, batch, qty, unit string) string {
		return rec(id, "production.count", "2026-01-02T00:15:00Z", "ede/line-1/scada", "",
			fmt.Sprintf(`{"line":"line-1","batch_id":%q,"product":"p","quantity":%s,"unit":%q,"start":"2026-01-02T00:00:00Z","end":"2026-01-02T00:15:00Z"}`, batch, qty, unit))
	}
	start := func(id, batch, line, at string) string {
		return rec(id, "batch.start", at, "ede/line-1/mes", "op",
			fmt.Sprintf(`{"batch_id":%q,"line":%q,"product":"p","recipe":"r","recipe_version":"1"}`, batch, line))
	}
	runtime := func(id, batch, secs string) string {
		return rec(id, "machine.runtime", "2026-01-02T10:00:00Z", "ede/line-1/edge", "",
			fmt.Sprintf(`{"line":"line-1","batch_id":%q,"start":"2026-01-02T00:00:00Z","end":"2026-01-02T10:00:00Z","run_seconds":%s}`, batch, secs))
	}
	confirm := func(id, batch, hours string) string {
		return rec(id, "erp.confirmation", "2026-01-03T00:00:00Z", "ede/erp", "svc",
			fmt.Sprintf(`{"document":%q,"batch_id":%q,"activity":"machine_hours","quantity":%s,"unit":"h"}`, id, batch, hours))
	}
	runCases(t, []edgeCase{
		{
			name: "counts against good + scrap: 0.5 % inclusive, exact decimals, zero, units",
			records: []string{
				batchEnd("e1", "2026-01-02T12:00:00Z", "B1", "199", "1", "kg"),
				count("c1", "B1", "200.1", "kg"), // 0.05 %
				batchEnd("e2", "2026-01-02T12:00:00Z", "B2", "199", "1", "kg"),
				count("c2", "B2", "201", "kg"), // 0.5 % exactly
				batchEnd("e3", "2026-01-02T12:00:00Z", "B3", "199", "1", "kg"),
				count("c3", "B3", "201.001", "kg"),
				batchEnd("e4", "2026-01-02T12:00:00Z", "B4", "0", "0", "kg"),
				count("c4", "B4", "0", "kg"),
				batchEnd("e5", "2026-01-02T12:00:00Z", "B5", "0", "0", "kg"),
				count("c5", "B5", "0.001", "kg"),
				batchEnd("e6", "2026-01-02T12:00:00Z", "B6", "0.3", "0", "kg"),
				count("c6a", "B6", "0.1", "kg"),
				count("c6b", "B6", "0.2", "g"),
				batchEnd("e7", "2026-01-02T12:00:00Z", "B7", "10", "0", "kg"),
			},
			want: map[string]outcome{"PC-01": {"e3": "count-mismatch", "e5": "count-mismatch", "e6": "unit-mismatch", "e7": "count-mismatch"}},
			pop:  map[string]int{"PC-01": 7, "PC-02": 5},
		},
		{
			name: "goods receipts: reversals, reversals of reversals, units, missing",
			records: []string{
				batchEnd("e1", "2026-01-02T12:00:00Z", "B1", "50", "0", "kg"),
				posting("gA", "2026-01-02T13:00:00Z", "goods_receipt", "A", "B1", "100", "kg", ""),
				posting("gB", "2026-01-02T13:00:00Z", "goods_receipt", "B", "B1", "50", "kg", ""),
				posting("r1", "2026-01-02T14:00:00Z", "reversal", "R1", "B9", "100", "kg", `,"reverses":"A"`),
				posting("r2", "2026-03-02T14:00:00Z", "reversal", "R2", "B9", "100", "kg", `,"reverses":"R1"`),
				batchEnd("e2", "2026-01-02T12:00:00Z", "B2", "10", "0", "kg"),
				posting("gC", "2026-01-02T13:00:00Z", "goods_receipt", "C", "B2", "10", "kg", ""),
				posting("r3", "2026-01-02T14:00:00Z", "reversal", "R3", "B2", "10", "kg", `,"reverses":"C"`),
				batchEnd("e3", "2026-01-02T12:00:00Z", "B3", "10", "0", "kg"),
				posting("gD", "2026-01-02T13:00:00Z", "goods_receipt", "D", "B3", "10000", "g", ""),
				posting("r4", "2026-01-02T14:00:00Z", "reversal", "R4", "B3", "10000", "g", `,"reverses":"D"`),
				batchEnd("e4", "2026-01-02T12:00:00Z", "B4", "10", "0", "kg"),
				batchEnd("e5", "2026-01-02T12:00:00Z", "B5", "0", "5", "kg"),
			},
			want: map[string]outcome{"PC-02": {
				"e2": "quantity-mismatch",               // all reversed: net 0
				"e3": "quantity-mismatch,unit-mismatch", // reversed, other unit
				"e4": "missing-posting",
			}},
			pop: map[string]int{"PC-02": 4, "PC-03": 3},
		},
		{
			name: "posting time: 24h inclusive, first receipt, receipts before the end",
			records: []string{
				batchEnd("e1", "2026-01-02T12:00:00Z", "B1", "10", "0", "kg"),
				posting("g1", "2026-01-03T13:00:00+01:00", "goods_receipt", "1", "B1", "10", "kg", ""),
				batchEnd("e2", "2026-01-02T12:00:00Z", "B2", "10", "0", "kg"),
				posting("g2", "2026-01-03T12:00:00.001Z", "goods_receipt", "2", "B2", "10", "kg", ""),
				batchEnd("e3", "2026-01-02T12:00:00Z", "B3", "10", "0", "kg"),
				batchEnd("e3b", "2026-01-02T11:00:00Z", "B3", "10", "0", "kg"),
				posting("g3", "2026-01-02T11:00:00Z", "goods_receipt", "3", "B3", "10", "kg", ""),
				posting("g4", "2026-01-02T10:59:59.999Z", "goods_receipt", "4", "B1", "0", "kg", ""),
				posting("g5", "2026-01-02T10:59:59.999Z", "goods_receipt", "5", "B8", "0", "kg", ""),
				rec("g6", "erp.posting", "2026-01-02T10:59:59.999Z", "ede/erp", "svc", `{"document":"6","movement":"goods_receipt","material":"m","quantity":1,"unit":"kg"}`),
			},
			want: map[string]outcome{
				"PC-03": {"e2": "late-posting"},
				"PC-04": {"g4": "posted-before-end", "g5": "no-batch", "g6": "no-batch"},
			},
		},
		{
			name: "serials, starts and signatures",
			records: []string{
				batchEnd("e1", "2026-01-02T12:00:00Z", "B1", "2", "0", "pcs"),
				rec("s1", "unit.serial", "2026-01-02T10:00:00Z", "ede/line-1/ser", "", `{"serial":"S1","batch_id":"B1"}`),
				rec("s2", "unit.serial", "2026-01-02T10:00:00Z", "ede/line-1/ser", "", `{"serial":"S1","batch_id":"B1"}`),
				rec("s3", "unit.serial", "2026-01-02T10:00:00Z", "ede/line-1/ser", "", `{"serial":"S2","batch_id":"B2"}`),
				rec("s4", "unit.serial", "2026-01-02T10:00:00Z", "ede/line-1/ser", "", `{"serial":"S3","batch_id":"B2"}`),
				batchEnd("e2", "2026-01-02T12:00:00Z", "B2", "2", "0", "pcs"),
				start("b2", "B2", "line-1", "2026-01-02T12:00:00Z"),
				start("b1", "B1", "line-2", "2026-01-02T08:00:00Z"),
				start("b1x", "B1", "line-1", "2026-01-02T12:00:00.001Z"),
				rec("e3", "batch.end", "2026-01-02T12:00:00Z", "ede/line-1/mes", "op", `{"batch_id":"B3","line":"line-1","quantity_good":0,"quantity_scrap":0,"unit":"kg","signed_by":""}`),
				start("b3", "B3", "line-1", "2026-01-01T12:00:00Z"),
			},
			want: map[string]outcome{
				"PC-05": {"e1": "duplicate-serial,serial-count-mismatch"},
				"PC-06": {"e1": "no-start", "e3": "unsigned"},
			},
			pop: map[string]int{"PC-05": 2},
		},
		{
			name: "machine hours: 1 % exactly passes, a hair more fails, missing confirmation",
			records: []string{
				batchEnd("e1", "2026-01-02T12:00:00Z", "B1", "1", "0", "kg"),
				runtime("m1", "B1", "36000"),
				confirm("f1", "B1", "10.1"), // 36360 s: 1 % exactly
				batchEnd("e2", "2026-01-02T12:00:00Z", "B2", "1", "0", "kg"),
				runtime("m2", "B2", "36000"),
				confirm("f2a", "B2", "5"),
				confirm("f2b", "B2", "5.10001"),
				batchEnd("e3", "2026-01-02T12:00:00Z", "B3", "1", "0", "kg"),
				runtime("m3", "B3", "36000"),
				rec("f3", "erp.confirmation", "2026-01-03T00:00:00Z", "ede/erp", "svc", `{"document":"f3","batch_id":"B3","activity":"labour_hours","quantity":10,"unit":"h"}`),
				batchEnd("e4", "2026-01-02T12:00:00Z", "B4", "1", "0", "kg"),
				runtime("m4", "B4", "0"),
				confirm("f4", "B4", "0"),
				batchEnd("e5", "2026-01-02T12:00:00Z", "B5", "1", "0", "kg"),
			},
			want: map[string]outcome{"PC-07": {"e2": "hours-mismatch", "e3": "missing-confirmation"}},
			pop:  map[string]int{"PC-07": 4},
		},
	})
}

func TestCorrections(t *testing.T) {
	good := func(q string) string {
		return fmt.Sprintf(`{"batch_id":"B1","line":"line-1","quantity_good":%s,"quantity_scrap":0,"unit":"kg","signed_by":"qa"}`, q)
	}
	receipt := posting("g1", "2026-01-02T13:00:00Z", "goods_receipt", "1", "B1", "100", "kg", "")
	runCases(t, []edgeCase{
		{
			name: "the latest by time wins, whatever the order, offsets compared as instants",
			records: []string{
				correction("c2", "2026-01-03T10:00:00+01:00", "e1", "batch.end", good("90")), // 09:00Z
				batchEnd("e1", "2026-01-02T12:00:00Z", "B1", "80", "0", "kg"),
				correction("c1", "2026-01-03T09:30:00Z", "e1", "batch.end", good("100")),
				receipt,
			},
			want: map[string]outcome{"PC-02": {}},
		},
		{
			name: "at one instant the greater id wins",
			records: []string{
				correction("c2", "2026-01-03T09:00:00Z", "e1", "batch.end", good("100")),
				correction("c1", "2026-01-03T10:00:00+01:00", "e1", "batch.end", good("90")),
				batchEnd("e1", "2026-01-02T12:00:00Z", "B1", "80", "0", "kg"),
				receipt,
			},
			want: map[string]outcome{"PC-02": {}},
		},
		{
			name: "a correction dated after the period still applies; the envelope keeps the period",
			records: []string{
				batchEnd("e1", "2026-01-31T23:59:59.999Z", "B1", "80", "0", "kg"),
				correction("c1", "2027-01-01T00:00:00Z", "e1", "batch.end", good("100")),
				receipt,
				correction("c2", "2026-01-10T00:00:00Z", "e2", "batch.end", good("100")),
				batchEnd("e2", "2026-02-01T00:00:00Z", "B1", "80", "0", "kg"),
			},
			want: map[string]outcome{"PC-02": {}},
			pop:  map[string]int{"PC-02": 1},
		},
		{
			name: "no effect: wrong type, a correction of a correction, a missing target, an inconsistent interval",
			records: []string{
				batchEnd("e1", "2026-01-02T12:00:00Z", "B1", "80", "0", "kg"),
				correction("c1", "2026-01-03T00:00:00Z", "e1", "batch.start", `{"batch_id":"B1","line":"line-1","product":"p","recipe":"r","recipe_version":"1"}`),
				correction("c2", "2026-01-03T00:00:00Z", "c3", "correction", `{"corrects":"e1","type":"batch.end","reason":"r","data":`+good("100")+`}`),
				correction("c3", "2026-01-02T23:00:00Z", "e9", "batch.end", good("100")),
				receipt,
				rec("m1", "machine.runtime", "2026-01-02T10:00:00Z", "ede/line-1/edge", "",
					`{"line":"line-1","batch_id":"B1","start":"2026-01-02T00:00:00Z","end":"2026-01-02T10:00:00Z","run_seconds":36000}`),
				correction("c4", "2026-01-03T00:00:00Z", "m1", "machine.runtime",
					`{"line":"line-1","batch_id":"B1","start":"2026-01-02T00:00:00Z","end":"2026-01-02T09:00:00Z","run_seconds":32400}`),
				rec("f1", "erp.confirmation", "2026-01-03T00:00:00Z", "ede/erp", "svc", `{"document":"f","batch_id":"B1","activity":"machine_hours","quantity":10,"unit":"h"}`),
			},
			want: map[string]outcome{"PC-02": {"e1": "quantity-mismatch"}, "PC-07": {}},
		},
		{
			name: "the latest effective one applies when a later one has no effect",
			records: []string{
				rec("m1", "machine.runtime", "2026-01-02T10:00:00Z", "ede/line-1/edge", "",
					`{"line":"line-1","batch_id":"B1","start":"2026-01-02T00:00:00Z","end":"2026-01-02T10:00:00Z","run_seconds":1}`),
				correction("c1", "2026-01-03T00:00:00Z", "m1", "machine.runtime",
					`{"line":"line-1","batch_id":"B1","start":"2026-01-02T00:00:00Z","end":"2026-01-02T11:00:00+01:00","run_seconds":36000}`),
				correction("c2", "2026-01-04T00:00:00Z", "m1", "machine.runtime",
					`{"line":"line-1","batch_id":"B1","start":"2026-01-02T00:00:00Z","end":"2026-01-02T09:00:00Z","run_seconds":1}`),
				batchEnd("e1", "2026-01-02T12:00:00Z", "B1", "100", "0", "kg"),
				rec("f1", "erp.confirmation", "2026-01-03T00:00:00Z", "ede/erp", "svc", `{"document":"f","batch_id":"B1","activity":"machine_hours","quantity":10,"unit":"h"}`),
			},
			want: map[string]outcome{"PC-07": {}},
		},
		{
			name: "corrected data move a record in and out of a population filter",
			records: []string{
				rec("a1", "alarm", "2026-01-02T10:00:00Z", "ede/line-1/scada", "", `{"alarm_id":"A1","tag":"t","priority":"low","state":"active"}`),
				correction("c1", "2026-01-05T00:00:00Z", "a1", "alarm", `{"alarm_id":"A1","tag":"t","priority":"high","state":"active"}`),
				rec("a2", "alarm", "2026-01-02T10:00:00Z", "ede/line-1/scada", "", `{"alarm_id":"A2","tag":"t","priority":"high","state":"active"}`),
				correction("c2", "2026-01-05T00:00:00Z", "a2", "alarm", `{"alarm_id":"A2","tag":"t","priority":"high","state":"cleared"}`),
			},
			want: map[string]outcome{"IM-01": {"a1": "no-incident"}, "LM-03": {}},
			pop:  map[string]int{"IM-01": 1, "LM-03": 4},
		},
	})
}

func TestChange(t *testing.T) {
	snapshot := func(id, at, sha string) string {
		return rec(id, "config.snapshot", at, "ede/historian", "", fmt.Sprintf(`{"target":"recipe/a","content_sha256":%q}`, sha))
	}
	runCases(t, []edgeCase{
		{
			name: "approval rules",
			records: []string{
				grant("g", "2025-01-01T00:00:00Z", "eng", "engineer", "*"),
				deploy("d1", "2026-01-10T00:00:00Z", "eng", ""),
				deploy("d2", "2026-01-10T00:00:00Z", "eng", "C2"),
				approve("a2", "2026-01-09T00:00:00Z", "cab", "C2"),
				request("q3", "2026-01-08T00:00:00Z", "req", "C3", false),
				approve("a3", "2026-01-09T00:00:00Z", "req", "C3"),
				rec("a3b", "change.approve", "2026-01-09T00:00:00Z", "corp/change", "", `{"change_id":"C3"}`),
				deploy("d3", "2026-01-10T00:00:00Z", "eng", "C3"),
				request("q4", "2026-01-08T00:00:00Z", "req", "C4", false),
				approve("a4", "2026-01-10T00:00:00Z", "cab", "C4"), // at the deploy: not after
				deploy("d4", "2026-01-10T00:00:00Z", "eng", "C4"),
				request("q5", "2026-01-08T00:00:00Z", "req", "C5", false),
				approve("a5", "2026-01-10T00:00:00.001Z", "cab", "C5"),
				deploy("d5", "2026-01-10T00:00:00Z", "eng", "C5"),
				request("q6", "2026-01-08T00:00:00Z", "req", "C6", true),
				approve("a6", "2026-01-13T01:00:00+01:00", "cab", "C6"), // 72h exactly
				deploy("d6", "2026-01-10T00:00:00Z", "eng", "C6"),
				request("q7", "2026-01-08T00:00:00Z", "req", "C7", true),
				approve("a7", "2026-01-13T00:00:01Z", "cab", "C7"),
				deploy("d7", "2026-01-10T00:00:00Z", "eng", "C7"),
				// "The" request is the earliest: an emergency request after it does not count.
				request("q8", "2026-01-08T00:00:00Z", "req", "C8", false),
				request("q8b", "2026-01-09T00:00:00Z", "req", "C8", true),
				approve("a8", "2026-01-11T00:00:00Z", "cab", "C8"),
				deploy("d8", "2026-01-10T00:00:00Z", "eng", "C8"),
			},
			want: map[string]outcome{
				"CM-01": {"d1": "no-change", "d2": "unknown-change", "d3": "not-approved", "d5": "approved-late", "d7": "approved-late", "d8": "approved-late"},
				"CM-02": {},
			},
			pop: map[string]int{"CM-01": 8, "CM-02": 6},
		},
		{
			name: "deployed as requested",
			records: []string{
				rec("q1", "change.request", "2026-01-08T00:00:00Z", "corp/change", "req", `{"change_id":"C1","target":"recipe/a","content_sha256":"bb"}`),
				deploy("d1", "2026-01-10T00:00:00Z", "eng", "C1"),
				rec("q2", "change.request", "2026-01-08T00:00:00Z", "corp/change", "req", `{"change_id":"C2","target":"recipe/b","content_sha256":"aa"}`),
				deploy("d2", "2026-01-10T00:00:00Z", "eng", "C2"),
				request("q3", "2026-01-08T00:00:00Z", "req", "C3", false),
				deploy("d3", "2026-01-10T00:00:00Z", "eng", "C3"),
			},
			want: map[string]outcome{"CM-02": {"d1": "not-as-approved", "d2": "not-as-approved"}},
		},
		{
			name: "drift: latest deploy strictly before, else the first snapshot",
			records: []string{
				snapshot("s0", "2025-12-01T00:00:00Z", "00"),
				snapshot("s1", "2026-01-02T00:00:00Z", "00"),
				snapshot("s2", "2026-01-02T01:00:00Z", "11"),
				rec("d1", "change.deploy", "2026-01-03T00:00:00Z", "ede/eng", "eng", `{"target":"recipe/a","content_sha256":"aa"}`),
				rec("d2", "change.deploy", "2026-01-03T00:00:00Z", "ede/eng", "eng", `{"target":"recipe/a","content_sha256":"bb"}`),
				snapshot("s3", "2026-01-03T00:00:00Z", "00"), // at the deploys: not after them
				snapshot("s4", "2026-01-03T00:00:00.001Z", "bb"),
				snapshot("s5", "2026-01-04T00:00:00Z", "aa"),
			},
			want: map[string]outcome{"CM-03": {"s2": "drift", "s5": "drift"}},
			pop:  map[string]int{"CM-03": 5},
		},
	})
}

func TestIncidents(t *testing.T) {
	alarm := func(id, at, prio, state string) string {
		return rec(id, "alarm", at, "ede/line-1/scada", "", fmt.Sprintf(`{"alarm_id":%q,"tag":"t","priority":%q,"state":%q}`, id, prio, state))
	}
	open := func(id, at, sev string, refs ...string) string {
		r, _ := json.Marshal(append([]string{}, refs...))
		return rec(id, "incident.open", at, "ede/ops", "op", fmt.Sprintf(`{"incident_id":%q,"severity":%q,"refs":%s}`, id, sev, r))
	}
	escalate := func(id, at, inc, level string) string {
		return rec(id, "incident.escalate", at, "ede/ops", "op", fmt.Sprintf(`{"incident_id":%q,"level":%s,"to":"x"}`, inc, level))
	}
	downtime := func(id, start, end string) string {
		return rec(id, "downtime", end, "ede/line-1/mes", "", fmt.Sprintf(`{"downtime_id":%q,"line":"line-1","start":%q,"end":%q}`, id, start, end))
	}
	closeInc := func(id, at, extra string) string {
		return rec(id, "incident.close", at, "ede/ops", "op", fmt.Sprintf(`{"incident_id":%q%s}`, id, extra))
	}
	runCases(t, []edgeCase{
		{
			name: "alarms: 30m inclusive, at the alarm's instant, not before it",
			records: []string{
				alarm("A1", "2026-01-02T10:00:00Z", "high", "active"),
				open("i1", "2026-01-02T11:30:00+01:00", "low", "A1"),
				alarm("A2", "2026-01-02T10:00:00Z", "critical", "active"),
				open("i2", "2026-01-02T10:30:00.001Z", "low", "A2"),
				alarm("A3", "2026-01-02T10:00:00Z", "critical", "active"),
				open("i3", "2026-01-02T10:00:00Z", "low", "A3"),
				alarm("A4", "2026-01-02T10:00:00Z", "high", "active"),
				open("i4", "2026-01-02T09:59:59.999Z", "low", "A4"),
				alarm("A5", "2026-01-02T10:00:00Z", "medium", "active"),
				alarm("A6", "2026-01-02T10:00:00Z", "high", "acked"),
			},
			want: map[string]outcome{"IM-01": {"A2": "no-incident", "A4": "no-incident"}},
			pop:  map[string]int{"IM-01": 4},
		},
		{
			name: "downtime: 15m inclusive, from start to 60m after end",
			records: []string{
				downtime("D1", "2026-01-02T10:00:00Z", "2026-01-02T10:15:00Z"),
				open("i1", "2026-01-02T11:15:00Z", "low", "D1"),
				downtime("D2", "2026-01-02T10:00:00Z", "2026-01-02T10:14:59.999Z"),
				downtime("D3", "2026-01-02T10:00:00Z", "2026-01-02T12:00:00Z"),
				open("i3", "2026-01-02T10:00:00Z", "low", "D3"),
				downtime("D4", "2026-01-02T10:00:00Z", "2026-01-02T12:00:00Z"),
				open("i4", "2026-01-02T13:00:00.001Z", "low", "D4"),
			},
			want: map[string]outcome{"IM-02": {"D4": "no-incident"}},
			pop:  map[string]int{"IM-02": 3},
		},
		{
			name: "escalation: critical needs level 2 within 60m, high level 1 within 4h",
			records: []string{
				open("I1", "2026-01-02T10:00:00Z", "critical"),
				escalate("e1", "2026-01-02T11:00:00Z", "I1", "2"),
				open("I2", "2026-01-02T10:00:00Z", "critical"),
				escalate("e2", "2026-01-02T10:10:00Z", "I2", "1"),
				open("I3", "2026-01-02T10:00:00Z", "high"),
				escalate("e3", "2026-01-02T14:00:00Z", "I3", "1"),
				open("I4", "2026-01-02T10:00:00Z", "high"),
				escalate("e4", "2026-01-02T14:00:00.001Z", "I4", "3"),
				open("I5", "2026-01-02T10:00:00Z", "critical"),
				escalate("e5", "2026-01-02T09:59:00Z", "I5", "2"),
				open("I6", "2026-01-02T10:00:00Z", "medium"),
			},
			want: map[string]outcome{"IM-03": {"I2": "not-escalated", "I4": "not-escalated", "I5": "not-escalated"}},
			pop:  map[string]int{"IM-03": 5},
		},
		{
			name: "closes: root cause, loss booked by one exact scrap within 5 days",
			records: []string{
				closeInc("C1", "2026-01-02T10:00:00Z", `,"root_cause":"","loss_quantity":0`),
				closeInc("C2", "2026-01-02T10:00:00Z", `,"root_cause":"x","loss_quantity":1.5,"unit":"kg"`),
				posting("p2", "2026-01-07T10:00:00Z", "scrap", "2", "", "1.50", "g", `,"incident_id":"C2"`),
				closeInc("C3", "2026-01-02T10:00:00Z", `,"root_cause":"x","loss_quantity":1.5`),
				posting("p3a", "2026-01-02T11:00:00Z", "scrap", "3a", "", "1", "kg", `,"incident_id":"C3"`),
				posting("p3b", "2026-01-02T11:00:00Z", "scrap", "3b", "", "0.5", "kg", `,"incident_id":"C3"`),
				closeInc("C4", "2026-01-02T10:00:00Z", `,"root_cause":"x","loss_quantity":2`),
				posting("p4", "2026-01-07T10:00:00.001Z", "scrap", "4", "", "2", "kg", `,"incident_id":"C4"`),
				closeInc("C5", "2026-01-02T10:00:00Z", `,"loss_quantity":2`),
				posting("p5", "2026-01-02T09:00:00Z", "scrap", "5", "", "2", "kg", `,"incident_id":"C5"`),
				posting("p5b", "2026-01-02T11:00:00Z", "goods_receipt", "5b", "", "2", "kg", `,"incident_id":"C5"`),
			},
			want: map[string]outcome{"IM-04": {
				"C1": "no-root-cause", "C3": "loss-not-booked", "C4": "loss-not-booked", "C5": "loss-not-booked,no-root-cause",
			}},
		},
	})
}

func TestIntegrity(t *testing.T) {
	res, err := controls.Evaluate(controls.Default(), controls.Input{Tenant: "t",
		Integrity: &controls.Integrity{Entries: 10, Tampered: []string{"r2", "r1"}, InconsistentCheckpoints: []string{"7"}}})
	if err != nil {
		t.Fatal(err)
	}
	c := control(t, res, "LM-03")
	want := outcome{"r1": "tampered", "r2": "tampered", "checkpoint/7": "inconsistent-checkpoint"}
	if got := outcomeOf(c); c.Population != 10 || !maps.Equal(got, want) || c.Result != controls.Exceptions {
		t.Errorf("LM-03 = %d %v %s, want 10 %v exceptions", c.Population, got, c.Result, want)
	}
	if c.Exceptions[0].Subject != "checkpoint/7" {
		t.Errorf("exceptions not sorted by subject: %v", c.Exceptions)
	}
}

func TestResultDocument(t *testing.T) {
	res := evaluate(t, "2026-01-01T01:00:00+01:00", feb1, "",
		deploy("d1", "2026-01-10T00:00:00Z", "eng", ""))
	res.Checkpoint = "cp"
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tenant, From, To, Checkpoint string
		Controls                     []map[string]json.RawMessage
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.From != "2026-01-01T00:00:00Z" || doc.To != "2026-02-01T00:00:00Z" || doc.Tenant != "t" || doc.Checkpoint != "cp" {
		t.Errorf("header = %+v", doc)
	}
	if len(doc.Controls) != 24 {
		t.Fatalf("%d controls", len(doc.Controls))
	}
	var ids []string
	for _, c := range doc.Controls {
		keys := slices.Sorted(maps.Keys(c))
		if !slices.Equal(keys, []string{"automated", "exceptions", "id", "objective", "population", "result", "title"}) {
			t.Errorf("control keys = %v", keys)
		}
		var id string
		json.Unmarshal(c["id"], &id)
		ids = append(ids, id)
		switch id {
		case "LM-02":
			if string(c["result"]) != `"not-occurring"` || string(c["exceptions"]) != `[]` {
				t.Errorf("LM-02 = %s %s", c["result"], c["exceptions"])
			}
		case "AC-01":
			if string(c["result"]) != `"exceptions"` || !strings.Contains(string(c["exceptions"]), `"records":["d1"]`) {
				t.Errorf("AC-01 = %s %s", c["result"], c["exceptions"])
			}
		case "LM-03":
			if string(c["result"]) != `"effective"` {
				t.Errorf("LM-03 = %s", c["result"])
			}
		}
	}
	if !slices.IsSorted(ids) {
		t.Errorf("controls not sorted: %v", ids)
	}

	var table bytes.Buffer
	if err := res.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(table.String()), "\n")
	if len(lines) != 25 || !strings.Contains(lines[0], "population") || !strings.Contains(table.String(), "AC-01") {
		t.Errorf("table:\n%s", table.String())
	}
}

func TestCatalog(t *testing.T) {
	cat := controls.Default()
	if len(cat.Controls) != 24 {
		t.Fatalf("%d controls", len(cat.Controls))
	}
	for _, c := range cat.Controls {
		if c.Objective == "" || c.Title == "" || c.Description == "" || len(c.Reasons) == 0 || c.Mappings.SOC1 != c.Objective {
			t.Errorf("%s is incomplete: %+v", c.ID, c)
		}
		if c.Automated == (c.ID == "AC-05" || c.ID == "LM-04") {
			t.Errorf("%s automated = %t", c.ID, c.Automated)
		}
	}
	tests := []struct {
		name, json string
		ok         bool
	}{
		{"value", `{"AC-04": {"revocation_window": "48h"}, "PC-01": {"tolerance_percent": "0.25"}}`, true},
		{"unknown control", `{"XX-01": {"a": "1h"}}`, false},
		{"unknown parameter", `{"AC-04": {"window": "1h"}}`, false},
		{"bad duration", `{"AC-04": {"revocation_window": "a day"}}`, false},
		{"negative duration", `{"AC-04": {"revocation_window": "-1h"}}`, false},
		{"bad percent", `{"PC-01": {"tolerance_percent": "1/2"}}`, false},
		{"number, not text", `{"PC-01": {"tolerance_percent": 0.5}}`, false},
		{"not JSON", `{`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := controls.Default()
			err := c.Override([]byte(tc.json))
			if tc.ok != (err == nil) {
				t.Fatalf("Override = %v", err)
			}
			if err != nil && waarborg.ErrorCode(err) != waarborg.EINVALID {
				t.Errorf("error kind %q", waarborg.ErrorCode(err))
			}
		})
	}
	// A failed override changes nothing, and Default returns a fresh copy.
	c := controls.Default()
	_ = c.Override([]byte(`{"AC-04": {"revocation_window": "48h"}, "PC-01": {"tolerance_percent": "x"}}`))
	ac04, _ := c.Control("AC-04")
	if v := ac04.Parameters[0].Value; v != "24h" {
		t.Errorf("after a failed override revocation_window = %s", v)
	}
	_ = c.Override([]byte(`{"AC-04": {"revocation_window": "48h"}}`))
	if d, _ := controls.Default().Control("AC-04"); d.Parameters[0].Value != "24h" {
		t.Errorf("Default shares state between calls")
	}
}

func TestPercentOverride(t *testing.T) {
	// 0.25 % of 200 is 0.5: a count of 200.5 passes, 200.6 does not.
	records := []string{
		batchEnd("e1", "2026-01-02T12:00:00Z", "B1", "200", "0", "kg"),
		rec("c1", "production.count", "2026-01-02T00:15:00Z", "ede/line-1/scada", "",
			`{"line":"line-1","batch_id":"B1","product":"p","quantity":200.5,"unit":"kg","start":"2026-01-02T00:00:00Z","end":"2026-01-02T00:15:00Z"}`),
		batchEnd("e2", "2026-01-02T12:00:00Z", "B2", "200", "0", "kg"),
		rec("c2", "production.count", "2026-01-02T00:15:00Z", "ede/line-1/scada", "",
			`{"line":"line-1","batch_id":"B2","product":"p","quantity":200.6,"unit":"kg","start":"2026-01-02T00:00:00Z","end":"2026-01-02T00:15:00Z"}`),
	}
	res := evaluate(t, jan1, feb1, `{"PC-01": {"tolerance_percent": "0.25"}}`, records...)
	if got := outcomeOf(control(t, res, "PC-01")); !maps.Equal(got, outcome{"e2": "count-mismatch"}) {
		t.Errorf("PC-01 = %v", got)
	}
}

func TestEvaluateErrors(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := controls.Evaluate(nil, controls.Input{}); waarborg.ErrorCode(err) != waarborg.EINVALID {
		t.Errorf("nil catalog: %v", err)
	}
	_, err := controls.Evaluate(controls.Default(), controls.Input{From: now, To: now.Add(-time.Second)})
	var e *waarborg.Error
	if !errors.As(err, &e) || e.Code != waarborg.EINVALID {
		t.Errorf("reversed period: %v", err)
	}
	// An empty period is valid: nothing occurs in it.
	res, err := controls.Evaluate(controls.Default(), controls.Input{From: now, To: now})
	if err != nil || control(t, res, "AC-01").Result != controls.NotOccurring {
		t.Errorf("empty period: %v", err)
	}
}

func TestOtherTenantSkipped(t *testing.T) {
	r, err := waarborg.ParseRecord([]byte(strings.Replace(deploy("d1", "2026-01-10T00:00:00Z", "eng", ""), `"tenant":"t"`, `"tenant":"u"`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	res, err := controls.Evaluate(controls.Default(), controls.Input{Tenant: "t",
		From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC),
		Records: slices.Values([]*waarborg.Record{r})})
	if err != nil || control(t, res, "AC-01").Population != 0 {
		t.Errorf("a record of another tenant was evaluated")
	}
}
