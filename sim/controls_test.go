package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// A compact reading of controls.md, to check that a clean history passes
// every control and that planted problems show up as the exceptions they
// are meant to be. It is a test oracle, not the engine: simple and slow.

type crec struct {
	id, source, typ, actor, site string
	t                            time.Time
	data                         map[string]any
}

func (r *crec) str(k string) string { s, _ := r.data[k].(string); return s }
func (r *crec) num(k string) *big.Rat {
	if v, ok := decimal(r.data[k]); ok {
		return v
	}
	return new(big.Rat)
}
func (r *crec) tm(k string) time.Time { t, _ := parseTime(r.str(k)); return t }
func (r *crec) strs(k string) []string {
	a, _ := r.data[k].([]any)
	out := make([]string, 0, len(a))
	for _, v := range a {
		s, _ := v.(string)
		out = append(out, s)
	}
	return out
}

func earlier(a, b *crec) bool { return a.t.Before(b.t) || a.t.Equal(b.t) && a.id < b.id }

type checker struct {
	from, to time.Time
	all      []*crec
	byType   map[string][]*crec
	byID     map[string]*crec
	exc      map[string]map[string][]string // control → subject → reasons
	pop      map[string]int
}

func newChecker(t testing.TB, lines [][]byte, from, to time.Time) *checker {
	c := &checker{from: from, to: to, byType: map[string][]*crec{}, byID: map[string]*crec{},
		exc: map[string]map[string][]string{}, pop: map[string]int{}}
	for _, line := range lines {
		if bytes.Contains(line, []byte(`"type":"historian.sample"`)) {
			// The bulk: read only what LM-02 needs (TestGenerateValid
			// checks these lines in full).
			r := &crec{id: field(line, "id"), source: field(line, "source"), typ: "historian.sample",
				data: map[string]any{"tag": field(line, "tag")}}
			r.t, _ = time.Parse(time.RFC3339Nano, field(line, "time"))
			c.all = append(c.all, r)
			c.byID[r.id] = r
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		r := &crec{id: m["id"].(string), source: m["source"].(string), typ: m["type"].(string), data: m["data"].(map[string]any)}
		r.actor, _ = m["actor"].(string)
		r.t, _ = parseTime(m["time"].(string))
		r.site, _, _ = strings.Cut(r.source, "/")
		c.all = append(c.all, r)
		c.byID[r.id] = r
	}
	// Corrections take effect by the latest, on an existing record of the
	// stated type that is no correction itself.
	var corrs []*crec
	for _, r := range c.all {
		if r.typ == "correction" {
			corrs = append(corrs, r)
		}
	}
	sort.Slice(corrs, func(i, j int) bool { return earlier(corrs[i], corrs[j]) })
	for _, co := range corrs {
		target, ok := c.byID[co.str("corrects")]
		if !ok || target.typ == "correction" || target.typ != co.str("type") {
			continue
		}
		nd := co.data["data"].(map[string]any)
		if err := validateData(target.typ, nd, target.t); err != nil {
			continue
		}
		target.data = nd
	}
	for _, r := range c.all {
		c.byType[r.typ] = append(c.byType[r.typ], r)
	}
	for _, rs := range c.byType {
		sort.Slice(rs, func(i, j int) bool { return earlier(rs[i], rs[j]) })
	}
	return c
}

// field returns the first string member named k in a line.
func field(line []byte, k string) string {
	i := bytes.Index(line, []byte(`"`+k+`":"`))
	if i < 0 {
		return ""
	}
	s := line[i+len(k)+4:]
	return string(s[:bytes.IndexByte(s, '"')])
}

func (c *checker) in(r *crec) bool { return !r.t.Before(c.from) && r.t.Before(c.to) }

func (c *checker) fail(control, subject, reason string) {
	m := c.exc[control]
	if m == nil {
		m = map[string][]string{}
		c.exc[control] = m
	}
	if !slices.Contains(m[subject], reason) {
		m[subject] = append(m[subject], reason)
	}
}

// population calls fn for every record of typ in the period, counting them.
func (c *checker) population(control, typ string, fn func(*crec)) {
	for _, r := range c.byType[typ] {
		if c.in(r) {
			c.pop[control]++
			fn(r)
		}
	}
}

func (c *checker) holds(user, role, site string, t time.Time) bool {
	if user == "" {
		return false
	}
	for _, g := range c.byType["access.grant"] {
		if g.str("user") != user || g.str("role") != role || (g.str("scope") != site && g.str("scope") != "*") || g.t.After(t) {
			continue
		}
		revoked := false
		for _, v := range c.byType["access.revoke"] {
			if v.str("user") == user && v.str("role") == role && v.str("scope") == g.str("scope") && !v.t.Before(g.t) && !v.t.After(t) {
				revoked = true
				break
			}
		}
		if !revoked {
			return true
		}
	}
	return false
}

func within(t, from time.Time, d time.Duration) bool { return !t.Before(from) && !t.After(from.Add(d)) }

func (c *checker) opened(ref string, from time.Time, d time.Duration) bool {
	for _, o := range c.byType["incident.open"] {
		if slices.Contains(o.strs("refs"), ref) && within(o.t, from, d) {
			return true
		}
	}
	return false
}

func (c *checker) run() {
	pct := func(p int64, of *big.Rat) *big.Rat { return new(big.Rat).Mul(of, big.NewRat(p, 1000)) }
	abs := func(r *big.Rat) *big.Rat { return new(big.Rat).Abs(r) }
	sum := func(rs []*crec, k string) *big.Rat {
		s := new(big.Rat)
		for _, r := range rs {
			s.Add(s, r.num(k))
		}
		return s
	}
	group := func(typ, key string) map[string][]*crec {
		m := map[string][]*crec{}
		for _, r := range c.byType[typ] {
			m[r.str(key)] = append(m[r.str(key)], r)
		}
		return m
	}
	counts, starts, serials := group("production.count", "batch_id"), group("batch.start", "batch_id"), group("unit.serial", "batch_id")
	runtimes, confs, ends := group("machine.runtime", "batch_id"), group("erp.confirmation", "batch_id"), group("batch.end", "batch_id")
	postings := group("erp.posting", "batch_id")
	serialUse := map[string]int{}
	for _, s := range c.byType["unit.serial"] {
		serialUse[s.str("serial")]++
	}
	reversed := map[string]bool{}
	for _, p := range c.byType["erp.posting"] {
		if p.str("movement") == "reversal" {
			reversed[p.str("reverses")] = true
		}
	}

	c.population("AC-01", "change.deploy", func(r *crec) {
		if !c.holds(r.actor, "engineer", r.site, r.t) {
			c.fail("AC-01", r.id, "unauthorised-actor")
		}
	})
	c.population("AC-02", "data.export", func(r *crec) {
		if !c.holds(r.actor, "exporter", r.site, r.t) {
			c.fail("AC-02", r.id, "unauthorised-actor")
		}
	})
	c.population("AC-03", "access.grant", func(r *crec) {
		switch a := r.str("approved_by"); {
		case a == "":
			c.fail("AC-03", r.id, "no-approval")
		case a == r.str("user") || a == r.actor:
			c.fail("AC-03", r.id, "self-approval")
		}
	})
	c.population("AC-04", "hr.termination", func(r *crec) {
		user, eff := r.str("user"), r.tm("effective")
		for _, g := range c.byType["access.grant"] {
			if g.str("user") != user || !c.holds(user, g.str("role"), g.str("scope"), eff) || g.t.After(eff) {
				continue
			}
			ok := false
			for _, v := range c.byType["access.revoke"] {
				if v.str("user") == user && v.str("role") == g.str("role") && v.str("scope") == g.str("scope") && within(v.t, eff, 24*time.Hour) {
					ok = true
				}
			}
			if !ok {
				c.fail("AC-04", r.id, "late-revocation")
			}
		}
		for _, x := range c.all {
			if x.actor == user && x.t.After(eff) {
				c.fail("AC-04", r.id, "activity-after-termination")
			}
		}
	})
	manual := func(control, review string, grace time.Duration, periods func(yield func(label string, end time.Time))) {
		periods(func(label string, end time.Time) {
			c.pop[control]++
			for _, s := range c.byType["review.signoff"] {
				if s.str("review") == review && s.str("period") == label && s.actor != "" && !s.t.After(end.Add(grace)) {
					return
				}
			}
			c.fail(control, label, "review-missing")
		})
	}
	manual("AC-05", "access-review", 15*24*time.Hour, func(yield func(string, time.Time)) {
		for q := time.Date(c.from.Year()-1, 1, 1, 0, 0, 0, 0, time.UTC); q.Before(c.to); q = q.AddDate(0, 3, 0) {
			if end := q.AddDate(0, 3, 0); !q.Before(c.from) && !end.After(c.to) {
				yield(fmt.Sprintf("%d-Q%d", q.Year(), int(q.Month()-1)/3+1), end)
			}
		}
	})
	manual("LM-04", "monitoring-review", 3*24*time.Hour, func(yield func(string, time.Time)) {
		w := c.from.Truncate(24 * time.Hour)
		for w.Weekday() != time.Monday {
			w = w.Add(-24 * time.Hour)
		}
		for ; w.Before(c.to); w = w.AddDate(0, 0, 7) {
			if end := w.AddDate(0, 0, 7); !w.Before(c.from) && !end.After(c.to) {
				y, n := w.ISOWeek()
				yield(fmt.Sprintf("%d-W%02d", y, n), end)
			}
		}
	})

	series := map[string][]*crec{}
	for _, r := range c.byType["production.count"] {
		k := r.source + "\x00" + r.str("line")
		series[k] = append(series[k], r)
	}
	for _, rs := range series {
		sort.Slice(rs, func(i, j int) bool {
			a, b := rs[i].tm("start"), rs[j].tm("start")
			return a.Before(b) || a.Equal(b) && rs[i].id < rs[j].id
		})
		for i, r := range rs {
			if !c.in(r) {
				continue
			}
			c.pop["LM-01"]++
			if i == 0 {
				continue
			}
			switch prev := rs[i-1].tm("end"); {
			case r.tm("start").After(prev):
				c.fail("LM-01", r.id, "gap")
			case r.tm("start").Before(prev):
				c.fail("LM-01", r.id, "overlap")
			}
		}
	}
	tags := map[string][]*crec{}
	for _, r := range c.byType["historian.sample"] {
		k := r.source + "\x00" + r.str("tag")
		tags[k] = append(tags[k], r)
	}
	for _, rs := range tags {
		for i, r := range rs {
			if !c.in(r) {
				continue
			}
			c.pop["LM-02"]++
			if i > 0 && r.t.Sub(rs[i-1].t) > 5*time.Minute {
				c.fail("LM-02", r.id, "gap")
			}
		}
	}
	c.population("LM-05", "source.gap", func(r *crec) {
		if !c.opened(r.id, r.t, 4*time.Hour) {
			c.fail("LM-05", r.id, "not-followed-up")
		}
	})

	c.population("PC-01", "batch.end", func(r *crec) {
		q := new(big.Rat).Add(r.num("quantity_good"), r.num("quantity_scrap"))
		cs := counts[r.str("batch_id")]
		if abs(new(big.Rat).Sub(sum(cs, "quantity"), q)).Cmp(pct(5, q)) > 0 {
			c.fail("PC-01", r.id, "count-mismatch")
		}
		for _, x := range cs {
			if x.str("unit") != r.str("unit") {
				c.fail("PC-01", r.id, "unit-mismatch")
			}
		}
	})
	receipts := func(batch string) []*crec {
		var out []*crec
		for _, p := range postings[batch] {
			if p.str("movement") == "goods_receipt" {
				out = append(out, p)
			}
		}
		return out
	}
	for _, r := range c.byType["batch.end"] {
		if !c.in(r) || r.num("quantity_good").Sign() <= 0 {
			continue
		}
		c.pop["PC-02"]++
		grs := receipts(r.str("batch_id"))
		if len(grs) == 0 {
			c.fail("PC-02", r.id, "missing-posting")
			continue
		}
		net := new(big.Rat)
		for _, g := range grs {
			if !reversed[g.str("document")] {
				net.Add(net, g.num("quantity"))
			}
			if g.str("unit") != r.str("unit") {
				c.fail("PC-02", r.id, "unit-mismatch")
			}
		}
		if net.Cmp(r.num("quantity_good")) != 0 {
			c.fail("PC-02", r.id, "quantity-mismatch")
		}
		c.pop["PC-03"]++
		if grs[0].t.Sub(r.t) > 24*time.Hour {
			c.fail("PC-03", r.id, "late-posting")
		}
	}
	c.population("PC-04", "erp.posting", func(r *crec) {
		if r.str("movement") != "goods_receipt" {
			c.pop["PC-04"]--
			return
		}
		es := ends[r.str("batch_id")]
		switch {
		case r.str("batch_id") == "" || len(es) == 0:
			c.fail("PC-04", r.id, "no-batch")
		case r.t.Before(es[0].t):
			c.fail("PC-04", r.id, "posted-before-end")
		}
	})
	c.population("PC-05", "batch.end", func(r *crec) {
		ss := serials[r.str("batch_id")]
		if len(ss) == 0 {
			c.pop["PC-05"]--
			return
		}
		distinct := map[string]bool{}
		for _, s := range ss {
			distinct[s.str("serial")] = true
			if serialUse[s.str("serial")] > 1 {
				c.fail("PC-05", r.id, "duplicate-serial")
			}
		}
		if big.NewRat(int64(len(distinct)), 1).Cmp(r.num("quantity_good")) != 0 {
			c.fail("PC-05", r.id, "serial-count-mismatch")
		}
	})
	c.population("PC-06", "batch.end", func(r *crec) {
		ok := false
		for _, s := range starts[r.str("batch_id")] {
			if !s.t.After(r.t) && s.str("line") == r.str("line") {
				ok = true
			}
		}
		if !ok {
			c.fail("PC-06", r.id, "no-start")
		}
		if r.str("signed_by") == "" {
			c.fail("PC-06", r.id, "unsigned")
		}
	})
	c.population("PC-07", "batch.end", func(r *crec) {
		rs := runtimes[r.str("batch_id")]
		if len(rs) == 0 {
			c.pop["PC-07"]--
			return
		}
		var cs []*crec
		for _, x := range confs[r.str("batch_id")] {
			if x.str("activity") == "machine_hours" {
				cs = append(cs, x)
			}
		}
		if len(cs) == 0 {
			c.fail("PC-07", r.id, "missing-confirmation")
			return
		}
		run := sum(rs, "run_seconds")
		diff := new(big.Rat).Sub(new(big.Rat).Mul(sum(cs, "quantity"), big.NewRat(3600, 1)), run)
		if abs(diff).Cmp(pct(10, run)) > 0 {
			c.fail("PC-07", r.id, "hours-mismatch")
		}
	})

	requests, approvals := group("change.request", "change_id"), group("change.approve", "change_id")
	c.population("CM-01", "change.deploy", func(r *crec) {
		cid := r.str("change_id")
		if cid == "" {
			c.fail("CM-01", r.id, "no-change")
			return
		}
		requester, emergency := "", false
		if rq := requests[cid]; len(rq) == 0 {
			c.fail("CM-01", r.id, "unknown-change")
		} else {
			requester, emergency = rq[0].actor, rq[0].data["emergency"] == true
			c.pop["CM-02"]++
			if rq[0].str("target") != r.str("target") || rq[0].str("content_sha256") != r.str("content_sha256") {
				c.fail("CM-02", r.id, "not-as-approved")
			}
		}
		for _, a := range approvals[cid] {
			if a.actor == "" || a.actor == requester {
				continue
			}
			if !emergency && a.t.After(r.t) || emergency && a.t.Sub(r.t) > 72*time.Hour {
				c.fail("CM-01", r.id, "approved-late")
			}
			return
		}
		c.fail("CM-01", r.id, "not-approved")
	})
	c.population("CM-03", "config.snapshot", func(r *crec) {
		want := ""
		for _, d := range c.byType["change.deploy"] {
			if d.str("target") == r.str("target") && earlier(d, r) && d.t.Before(r.t) {
				want = d.str("content_sha256")
			}
		}
		if want == "" {
			for _, s := range c.byType["config.snapshot"] {
				if s.str("target") == r.str("target") {
					want = s.str("content_sha256")
					break
				}
			}
		}
		if r.str("content_sha256") != want {
			c.fail("CM-03", r.id, "drift")
		}
	})

	c.population("IM-01", "alarm", func(r *crec) {
		if p := r.str("priority"); r.str("state") != "active" || p != "high" && p != "critical" {
			c.pop["IM-01"]--
			return
		}
		if !c.opened(r.str("alarm_id"), r.t, 30*time.Minute) {
			c.fail("IM-01", r.id, "no-incident")
		}
	})
	c.population("IM-02", "downtime", func(r *crec) {
		start, end := r.tm("start"), r.tm("end")
		if end.Sub(start) < 15*time.Minute {
			c.pop["IM-02"]--
			return
		}
		if !c.opened(r.str("downtime_id"), start, end.Sub(start)+time.Hour) {
			c.fail("IM-02", r.id, "no-incident")
		}
	})
	escalations := group("incident.escalate", "incident_id")
	c.population("IM-03", "incident.open", func(r *crec) {
		sev := r.str("severity")
		if sev != "high" && sev != "critical" {
			c.pop["IM-03"]--
			return
		}
		for _, e := range escalations[r.str("incident_id")] {
			level := e.num("level")
			if sev == "critical" && within(e.t, r.t, time.Hour) && level.Cmp(big.NewRat(2, 1)) >= 0 ||
				sev == "high" && within(e.t, r.t, 4*time.Hour) && level.Sign() > 0 {
				return
			}
		}
		c.fail("IM-03", r.id, "not-escalated")
	})
	scraps := group("erp.posting", "incident_id")
	c.population("IM-04", "incident.close", func(r *crec) {
		if r.str("root_cause") == "" {
			c.fail("IM-04", r.id, "no-root-cause")
		}
		if l := r.num("loss_quantity"); l.Sign() > 0 {
			for _, p := range scraps[r.str("incident_id")] {
				if p.str("movement") == "scrap" && p.num("quantity").Cmp(l) == 0 && within(p.t, r.t, 5*24*time.Hour) {
					return
				}
			}
			c.fail("IM-04", r.id, "loss-not-booked")
		}
	})
}

var allControls = []string{"AC-01", "AC-02", "AC-03", "AC-04", "AC-05", "LM-01", "LM-02", "LM-04", "LM-05",
	"PC-01", "PC-02", "PC-03", "PC-04", "PC-05", "PC-06", "PC-07", "CM-01", "CM-02", "CM-03",
	"IM-01", "IM-02", "IM-03", "IM-04"}

// controlConfig spans a whole quarter, a DST change and a year end.
func controlConfig(seed int64, rate float64) Config {
	return Config{
		Tenant:       "acme-foods",
		Sites:        []string{"ede", "venlo"},
		LinesPerSite: 2,
		From:         time.Date(2025, 12, 15, 0, 0, 0, 0, time.UTC),
		To:           time.Date(2026, 4, 6, 0, 0, 0, 0, time.UTC),
		Seed:         seed,
		ProblemRate:  rate,
	}
}

func TestControlsClean(t *testing.T) {
	if testing.Short() {
		t.Skip("evaluates every control over four months")
	}
	for _, seed := range []int64{1, 2} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			cfg := controlConfig(seed, 0)
			c := newChecker(t, collect(t, cfg), cfg.From, cfg.To)
			c.run()
			for _, ctl := range allControls {
				if c.pop[ctl] == 0 {
					t.Errorf("%s: no population", ctl)
				}
				for subject, reasons := range c.exc[ctl] {
					t.Errorf("%s: %s: %v", ctl, subject, reasons)
				}
			}
			t.Logf("populations: %v", c.pop)
		})
	}
}

func TestControlsPlanted(t *testing.T) {
	if testing.Short() {
		t.Skip("evaluates every control over four months")
	}
	cfg := controlConfig(3, 0.01)
	c := newChecker(t, collect(t, cfg), cfg.From, cfg.To)
	c.run()
	want := map[string][]string{
		"AC-01": {"unauthorised-actor"}, "AC-02": {"unauthorised-actor"}, "AC-03": {"no-approval", "self-approval"},
		"AC-04": {"late-revocation", "activity-after-termination"}, "AC-05": {"review-missing"},
		"LM-01": {"gap", "overlap"}, "LM-02": {"gap"}, "LM-04": {"review-missing"}, "LM-05": {"not-followed-up"},
		"PC-01": {"count-mismatch"}, "PC-02": {"missing-posting", "quantity-mismatch"}, "PC-03": {"late-posting"},
		"PC-04": {"no-batch", "posted-before-end"}, "PC-05": {"serial-count-mismatch", "duplicate-serial"},
		"PC-06": {"no-start", "unsigned"}, "PC-07": {"missing-confirmation", "hours-mismatch"},
		"CM-01": {"no-change", "unknown-change", "not-approved", "approved-late"}, "CM-02": {"not-as-approved"},
		"CM-03": {"drift"}, "IM-01": {"no-incident"}, "IM-02": {"no-incident"}, "IM-03": {"not-escalated"},
		"IM-04": {"no-root-cause", "loss-not-booked"},
	}
	for _, ctl := range allControls {
		seen := map[string]int{}
		for _, reasons := range c.exc[ctl] {
			for _, r := range reasons {
				seen[r]++
			}
		}
		for _, r := range want[ctl] {
			if seen[r] == 0 {
				t.Errorf("%s: no %s planted", ctl, r)
			}
		}
		// A few subjects more than planted is fine; a flood is a bug.
		if n := len(c.exc[ctl]); n > 5+c.pop[ctl]/20 {
			t.Errorf("%s: %d exceptions in a population of %d", ctl, n, c.pop[ctl])
		}
		t.Logf("%s: population %d, exceptions %v", ctl, c.pop[ctl], seen)
	}
}
