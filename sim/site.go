package sim

import (
	"math/rand/v2"
	"strconv"
	"time"
)

// A site ticks once a day (at From, then at every UTC midnight) and plans
// that day's people business: access, logins, leavers and joiners,
// contractors, data exports, changes to its recipes and configuration, and
// the nightly configuration read-back.
type site struct {
	e     *engine
	idx   int
	name  string
	upper string
	local bool
	r     *rand.Rand
	next  int64
	first bool

	srcOps, srcAD, srcExport, srcHist string

	lines                []*line
	ops, leads, qa, engs []*person // ops holds the active operators only
	joining              []*person
	hires                []int64
	contractors          []contract
	targets              []*target
	recent               []string // batches ended lately, for exports
	leave                int64    // when the next operator leaves
}

// leaveEvery is the mean time between leavers at a site. The first leaves
// within a fortnight, so that even a short history shows a termination.
const leaveEvery = 60 * day

type contract struct {
	p           *person
	from, until int64
}

func (s *site) zone(t int64) int64 { return s.e.zone(s.local, t) }

func (s *site) operator(r *rand.Rand) string { return pick(r, s.ops).name }

func (s *site) run(lim int64) {
	for s.next < lim {
		d := s.next
		s.next = (floorDiv(d, day) + 1) * day
		s.tick(d, s.next)
	}
}

func (s *site) tick(d, next int64) {
	e, r := s.e, s.r
	if s.first {
		s.first = false
		s.bootstrap(d)
	}
	for _, p := range s.joining {
		p.active = true
		s.ops = append(s.ops, p)
	}
	s.joining = s.joining[:0]
	for i := 0; i < len(s.hires); {
		if s.hires[i] <= d {
			s.hire(d)
			s.hires = append(s.hires[:i], s.hires[i+1:]...)
			continue
		}
		i++
	}
	if d >= s.leave && len(s.ops) > 3*len(s.lines) {
		s.terminate(d)
		s.leave = d + day + int64(r.ExpFloat64()*float64(leaveEvery))
	}
	wd := weekday(d)
	workday := wd >= 1 && wd <= 5
	settled := d >= e.from+day // access granted on the first day is in place
	if settled && workday && r.Float64() < 1.0/60 {
		p := e.person(r, "ext.")
		t := d + between(r, 8*hour, 10*hour)
		e.grant(r, t, p, "engineer", s.name)
		until := t + between(r, 5*day, 20*day)
		e.revoke(r, until, p, role{"engineer", s.name})
		s.contractors = append(s.contractors, contract{p, t, until})
	}
	s.logins(d, next, workday)
	if settled && workday {
		s.export(d)
		for _, t := range s.targets {
			if d >= t.next {
				s.change(t, d)
			}
		}
	}
	s.snapshots(d, next)
}

func (s *site) bootstrap(d int64) {
	e, r := s.e, s.r
	at := func() int64 { return d + between(r, minute, 55*minute) }
	for _, p := range s.ops {
		e.grant(r, at(), p, "operator", s.name)
		if r.IntN(3) == 0 {
			e.grant(r, at(), p, "mes-user", s.name)
		}
	}
	for _, p := range s.leads {
		e.grant(r, at(), p, "operator", s.name)
		e.grant(r, at(), p, "shift-lead", s.name)
	}
	for _, p := range s.qa {
		e.grant(r, at(), p, "qa-release", s.name)
		e.grant(r, at(), p, "exporter", s.name)
	}
	for _, p := range s.engs {
		e.grant(r, at(), p, "engineer", s.name)
	}
}

func (s *site) hire(d int64) {
	e, r := s.e, s.r
	p := e.person(r, "")
	p.shift, p.active = r.Int64N(3), false
	t := d + between(r, 8*hour, 10*hour)
	e.grant(r, t, p, "operator", s.name)
	if r.IntN(3) == 0 {
		e.grant(r, t+between(r, second, 5*minute), p, "mes-user", s.name)
	}
	s.joining = append(s.joining, p)
}

// terminate lets an operator go: out of every pool from today, effective at
// the end of the day, every role revoked within 24h of it.
func (s *site) terminate(d int64) {
	e, r := s.e, s.r
	i := r.IntN(len(s.ops))
	p := s.ops[i]
	s.ops = append(s.ops[:i], s.ops[i+1:]...)
	p.active = false
	eff := (d + between(r, 13*hour, 17*hour)) / minute * minute
	e.n.termination++
	ht := max(d, eff+between(r, -5*hour, 10*hour))
	if eff >= e.to { // not reported before it takes effect, when it cannot be revoked in time
		ht = max(ht, eff)
	}
	w := e.rec().s("hr.").pad(e.n.termination, 5)
	w.head(e.tenant, "corp/hr/workday", "hr.termination", ht, 0, svcHR)
	w.str("user", p.name)
	w.time("effective", eff, e.zone(true, eff))
	e.put(ht)
	k := e.plantOne(r, kLateRevocation, kActivityAfterTermination)
	for i, rl := range p.roles {
		t := e.due(r, eff+between(r, 20*minute, 23*hour), eff)
		if k == kLateRevocation && i == 0 {
			t = eff + between(r, 25*hour, 96*hour)
		}
		e.revoke(r, t, p, rl)
	}
	if k == kActivityAfterTermination { // someone still tries the account
		e.login(r, eff+between(r, hour, 72*hour), s.srcAD, p.name, false)
	}
	s.hires = append(s.hires, d+between(r, 5*day, 20*day))
}

func (s *site) logins(d, next int64, workday bool) {
	e, r := s.e, s.r
	in := func(t int64, p *person) {
		if t >= d && t < next {
			e.login(r, t, s.srcAD, p.name, true)
		}
	}
	for _, p := range s.ops {
		if r.Float64() < 0.7 {
			in(d+firstShift+p.shift*shift-between(r, 2*minute, 20*minute), p)
		}
	}
	if !workday {
		return
	}
	for _, ps := range [][]*person{s.leads, s.qa, s.engs} {
		for _, p := range ps {
			if r.Float64() < 0.9 {
				in(d+between(r, 6*hour, 9*hour), p)
			}
		}
	}
	live := s.contractors[:0]
	for _, c := range s.contractors {
		if c.until < d {
			continue
		}
		live = append(live, c)
		if t := d + between(r, 7*hour, 10*hour); t > c.from && t < c.until {
			in(t, c.p)
		}
	}
	s.contractors = live
}

// login writes a login at t; a failed one is mostly retried at once.
func (e *engine) login(r *rand.Rand, t int64, source, user string, ok bool) {
	t = t / second * second
	if ok && r.Float64() < 0.03 {
		e.login(r, t, source, user, false)
		t += between(r, 20*second, 3*minute)
	}
	e.n.login++
	w := e.rec().s("li.").pad(e.n.login, 7)
	w.head(e.tenant, source, "access.login", t, 0, user)
	w.str("user", user)
	w.bool("success", ok)
	e.put(t)
}

func (s *site) export(d int64) {
	e, r := s.e, s.r
	if len(s.recent) == 0 || r.Float64() > 0.35 {
		return
	}
	t := d + between(r, 8*hour, 16*hour)
	actor := pick(r, s.qa).name
	if r.IntN(10) < 3 {
		actor = pick(r, e.corp.finance).name
	}
	if e.plant(kUnauthorisedExport, r) {
		actor = pick(r, s.engs).name
	}
	n := min(len(s.recent), int(between(r, 2, 6)))
	e.n.export++
	w := e.rec().s("dx.").pad(e.n.export, 5)
	w.head(e.tenant, s.srcExport, "data.export", t, s.zone(t), actor)
	w.str("dataset", "batch-records")
	w.strs("batch_ids", s.recent[len(s.recent)-n:]...)
	e.put(t)
}

// change takes one change to t through request, independent approval and
// deployment by an engineer of the site; emergencies are approved after.
func (s *site) change(t *target, d int64) {
	e, r := s.e, s.r
	k := e.plantOne(r, kNoChange, kUnknownChange, kNotApproved, kApprovedLate, kNotAsApproved, kUnauthorisedDeploy)
	emergency := r.IntN(25) == 0 && k != kUnknownChange && k != kApprovedLate
	requester, deployer := pick(r, s.engs), pick(r, s.engs)
	if r.IntN(10) == 0 {
		requester = e.corp.eng
	}
	if r.IntN(10) == 0 {
		deployer = e.corp.eng
	}
	approver := pick(r, e.corp.managers).name
	rq := d + between(r, 7*hour, 15*hour)
	var ap, dp int64
	if emergency {
		dp = rq + between(r, 5*minute, 90*minute)
		ap = e.due(r, dp+between(r, 30*minute, 48*hour), dp)
	} else {
		ap = rq + between(r, hour, 48*hour)
		dp = ap + between(r, 30*minute, 72*hour)
	}
	// A deploy never shares its instant with a whole-second snapshot, so
	// "the latest deploy strictly before" is never in doubt.
	dp = dp/second*second + between(r, 1, 999)
	hash := randHex(r)
	deployHash := hash
	request, approve, withID := true, true, true
	switch k {
	case kNoChange:
		request, approve, withID = false, false, false
	case kUnknownChange:
		request = false
	case kNotApproved:
		if r.IntN(2) == 0 {
			approve = false
		} else {
			approver = requester.name
		}
	case kApprovedLate:
		ap = dp + between(r, hour, 48*hour)
	case kNotAsApproved:
		deployHash = randHex(r)
	case kUnauthorisedDeploy:
		deployer = s.outsider(r)
	}
	e.n.change++
	cid := "CHG-" + string(appendPad(nil, e.n.change, 6))
	if request {
		w := e.rec().s("cr.").s(cid)
		w.head(e.tenant, "corp/itsm/change", "change.request", rq, 0, requester.name)
		w.str("change_id", cid)
		w.str("target", t.name)
		w.str("content_sha256", hash)
		if emergency || r.IntN(3) == 0 {
			w.bool("emergency", emergency)
		}
		w.str("summary", "update "+t.name)
		e.put(rq)
	}
	if approve {
		w := e.rec().s("ca.").s(cid).s(".1")
		w.head(e.tenant, "corp/itsm/change", "change.approve", ap, 0, approver)
		w.str("change_id", cid)
		e.put(ap)
	}
	w := e.rec().s("cd.")
	if withID {
		w.s(cid)
	} else {
		w.s("x").pad(e.n.change, 6)
	}
	w.head(e.tenant, t.deploySrc, "change.deploy", dp, 0, deployer.name)
	w.str("target", t.name)
	w.str("content_sha256", deployHash)
	if withID {
		w.str("change_id", cid)
	}
	e.put(dp)
	_, v := t.at(maxTime)
	t.deploys = append(t.deploys, deployed{dp, deployHash, v + 1})
	t.next = dp + day + int64(r.ExpFloat64()*float64(t.mean))
}

// outsider is someone without the engineer role for this site.
func (s *site) outsider(r *rand.Rand) *person {
	if others := len(s.e.sites) - 1; others > 0 {
		o := s.e.sites[(s.idx+1+r.IntN(others))%len(s.e.sites)]
		return pick(r, o.engs)
	}
	return pick(r, s.leads)
}

func (s *site) snapshots(d, next int64) {
	e, r := s.e, s.r
	for _, t := range s.targets {
		ts := (d + hour + r.Int64N(10*minute)) / second * second
		if ts >= next {
			continue
		}
		hash, _ := t.at(ts)
		if len(t.deploys) > 0 && e.plant(kDrift, r) { // planted: changed outside the process
			hash = randHex(r)
		}
		w := e.rec().s("cs.").s(t.idName).c('.')
		w.b = appendDate(w.b, ts)
		w.head(e.tenant, t.snapSrc, "config.snapshot", ts, s.zone(ts), "")
		w.str("target", t.name)
		w.str("content_sha256", hash)
		e.put(ts)
	}
}

func (e *engine) grant(r *rand.Rand, t int64, p *person, rl, scope string) {
	admin := pick(r, e.corp.admins).name
	appr := pick(r, e.corp.managers)
	for appr == p {
		appr = pick(r, e.corp.managers)
	}
	approved := appr.name
	switch e.plantOne(r, kNoApproval, kSelfApproval) {
	case kNoApproval:
		approved = ""
	case kSelfApproval:
		approved = admin
		if r.IntN(2) == 0 {
			approved = p.name
		}
	}
	e.n.grant++
	w := e.rec().s("ag.").pad(e.n.grant, 6)
	w.head(e.tenant, "corp/it/iam", "access.grant", t, 0, admin)
	w.str("user", p.name)
	w.str("role", rl)
	w.str("scope", scope)
	if approved != "" || r.IntN(2) == 0 {
		w.str("approved_by", approved)
	}
	e.put(t)
	p.roles = append(p.roles, role{rl, scope})
}

func (e *engine) revoke(r *rand.Rand, t int64, p *person, rl role) {
	e.n.revoke++
	w := e.rec().s("ar.").pad(e.n.revoke, 6)
	w.head(e.tenant, "corp/it/iam", "access.revoke", t, 0, pick(r, e.corp.admins).name)
	w.str("user", p.name)
	w.str("role", rl.role)
	w.str("scope", rl.scope)
	e.put(t)
}

// corp is the central organisation: approvers, IAM admins, finance,
// reviewers and a central engineer, and the manual reviews.
type corp struct {
	e     *engine
	r     *rand.Rand
	next  int64
	first bool

	managers, admins, finance, reviewers []*person
	eng                                  *person
}

func newCorp(e *engine) *corp {
	c := &corp{e: e, r: e.rng(3 << 32), next: e.from, first: true}
	for range 3 {
		c.managers = append(c.managers, e.person(c.r, ""))
	}
	for range 2 {
		c.admins = append(c.admins, e.person(c.r, "adm."))
		c.finance = append(c.finance, e.person(c.r, ""))
		c.reviewers = append(c.reviewers, e.person(c.r, ""))
	}
	c.eng = e.person(c.r, "")
	return c
}

func (c *corp) run(lim int64) {
	for c.next < lim {
		d := c.next
		c.next = (floorDiv(d, day) + 1) * day
		c.tick(d, c.next)
	}
}

func (c *corp) tick(d, next int64) {
	e, r := c.e, c.r
	first := c.first
	if first {
		c.first = false
		at := func() int64 { return d + between(r, minute, 55*minute) }
		for _, p := range c.finance {
			e.grant(r, at(), p, "exporter", "*")
		}
		for _, p := range c.reviewers {
			e.grant(r, at(), p, "auditor", "*")
		}
		e.grant(r, at(), c.eng, "engineer", "*")
	}
	wd := weekday(d)
	if wd >= 1 && wd <= 5 {
		for _, ps := range [][]*person{c.managers, c.admins, c.finance, c.reviewers, {c.eng}} {
			for _, p := range ps {
				if t := d + between(r, 6*hour, 10*hour); r.Float64() < 0.85 && t < next {
					e.login(r, t, "corp/it/ad", p.name, true)
				}
			}
		}
	}
	days := floorDiv(d, day)
	if first || wd == 1 {
		start := (days - (wd+6)%7) * day
		y, w := time.UnixMilli(start).UTC().ISOWeek()
		label := strconv.Itoa(y) + "-W" + string(appendPad(nil, int64(w), 2))
		c.review(d, "monitoring-review", label, start, start+week, between(r, 2*hour, 60*hour), kWeekReview,
			3*day+between(r, hour, 3*day))
	}
	y, m, dd := civilFromDays(days)
	if first || dd == 1 && (m-1)%3 == 0 {
		q := (m-1)/3 + 1
		end := daysFromCivil(y, q*3+1, 1) * day
		if q == 4 {
			end = daysFromCivil(y+1, 1, 1) * day
		}
		label := strconv.FormatInt(y, 10) + "-Q" + strconv.FormatInt(q, 10)
		c.review(d, "access-review", label, daysFromCivil(y, q*3-2, 1)*day, end, between(r, day, 13*day), kQuarterReview,
			15*day+between(r, day, 10*day))
	}
}

// review plans the sign-off of a period ending at end. A period that ends
// by To is signed off within the history, early if need be (the controls
// set no lower bound), so a clean history has no missing review.
func (c *corp) review(now int64, review, period string, start, end, after int64, k kind, late int64) {
	e, r := c.e, c.r
	t := end + after
	actor := pick(r, c.reviewers).name
	// Only a period wholly in the history is an opportunity: the controls
	// test no other.
	if start >= e.from && e.plant(k, r) {
		switch r.IntN(3) {
		case 0:
			return
		case 1:
			t = end + late
		default:
			actor = ""
		}
	} else if end <= e.to && t >= e.to {
		t = max(now, e.to-between(r, hour, 20*hour))
	}
	e.n.review++
	w := e.rec().s("rv.").pad(e.n.review, 5)
	w.head(e.tenant, "corp/grc/portal", "review.signoff", t, 0, actor)
	w.str("review", review)
	w.str("period", period)
	w.hex("evidence_sha256", r)
	e.put(t)
}
