package controls

import (
	"slices"
	"sort"
	"time"
)

// index holds the lookups the controls share, built once the corrections
// have been applied and read-only after.
type index struct {
	roles   map[roleKey]*roleHistory
	rolesOf map[string][]roleKey // by user

	requestOf   map[string]*request    // "the" change.request of a change_id
	approvalsOf map[string][]*approval // by change_id, by time then id
	deploysOf   map[string][]*deploy   // by target, by time then id
	firstShot   map[string]*snapshot   // the first config.snapshot of a target

	signoffsOf map[string][]*signoff // by review + "\x00" + period

	opensOf       map[string][]*incidentOpen // by each of their refs
	escalationsOf map[string][]*escalation   // by incident_id
	scrapsOf      map[string][]*posting      // scrap postings by incident_id

	endOf      map[string]*batchEnd     // "the" batch.end of a batch_id
	receiptsOf map[string][]*posting    // goods receipts by batch_id, by time then id
	reversed   map[string]bool          // documents that some reversal reverses
	serialsOf  map[string][]*serial     // unit.serial records by batch_id
	serialUses map[string]int           // unit.serial records by serial
	startsOf   map[string][]*batchStart // by batch_id
	runSeconds map[string]*sum          // machine.runtime run_seconds by batch_id
	runtimesOf map[string][]string      // machine.runtime ids by batch_id
	hoursOf    map[string]*sum          // machine_hours confirmations by batch_id
	confirmsOf map[string][]string      // their ids
}

type roleKey struct{ user, role, scope string }

// roleHistory holds the grants and revokes of one user, role and scope,
// each sorted by time.
type roleHistory struct {
	grants, revokes []time.Time
}

// heldAt reports whether the role is held at t (controls.md, Terms): the
// latest grant at or before t has no revoke at or after it and at or before
// t. A revoke at the same instant as a grant wins. When the latest grant is
// revoked so is every earlier one, so the latest decides.
func (h *roleHistory) heldAt(t time.Time) bool {
	i := sort.Search(len(h.grants), func(i int) bool { return h.grants[i].After(t) })
	if i == 0 {
		return false
	}
	g := h.grants[i-1]
	j := sort.Search(len(h.revokes), func(j int) bool { return !h.revokes[j].Before(g) })
	return j == len(h.revokes) || h.revokes[j].After(t)
}

// revokedWithin reports whether a revoke lies in [t, t+d].
func (h *roleHistory) revokedWithin(t time.Time, d time.Duration) bool {
	j := sort.Search(len(h.revokes), func(j int) bool { return !h.revokes[j].Before(t) })
	return j < len(h.revokes) && within(h.revokes[j], t, d)
}

// holds reports whether user holds role for site at t, through a grant
// scoped to the site or to every site. A record without actor holds no role.
func (ix *index) holds(user, role, site string, t time.Time) bool {
	if user == "" {
		return false
	}
	for _, scope := range []string{site, "*"} {
		if h := ix.roles[roleKey{user, role, scope}]; h != nil && h.heldAt(t) {
			return true
		}
	}
	return false
}

func (e *engine) index() {
	ix := &e.ix
	byTime := func(a, b *env) int { return compareAt(a.time, a.id, b.time, b.id) }

	ix.roles = make(map[roleKey]*roleHistory)
	ix.rolesOf = make(map[string][]roleKey)
	history := func(k roleKey) *roleHistory {
		h := ix.roles[k]
		if h == nil {
			h = new(roleHistory)
			ix.roles[k] = h
			ix.rolesOf[k.user] = append(ix.rolesOf[k.user], k)
		}
		return h
	}
	for i := range e.grants {
		g := &e.grants[i]
		h := history(roleKey{g.user, g.role, g.scope})
		h.grants = append(h.grants, g.time)
	}
	for i := range e.revokes {
		r := &e.revokes[i]
		h := history(roleKey{r.user, r.role, r.scope})
		h.revokes = append(h.revokes, r.time)
	}
	for _, h := range ix.roles {
		slices.SortFunc(h.grants, time.Time.Compare)
		slices.SortFunc(h.revokes, time.Time.Compare)
	}

	ix.requestOf = make(map[string]*request)
	for i := range e.requests {
		r := &e.requests[i]
		if q := ix.requestOf[r.changeID]; q == nil || byTime(&r.env, &q.env) < 0 {
			ix.requestOf[r.changeID] = r
		}
	}
	ix.approvalsOf = groupBy(e.approvals, func(a *approval) string { return a.changeID })
	ix.deploysOf = groupBy(e.deploys, func(d *deploy) string { return d.target })
	ix.firstShot = make(map[string]*snapshot)
	for i := range e.snapshots {
		s := &e.snapshots[i]
		if f := ix.firstShot[s.target]; f == nil || byTime(&s.env, &f.env) < 0 {
			ix.firstShot[s.target] = s
		}
	}
	ix.signoffsOf = groupBy(e.signoffs, func(s *signoff) string { return s.review + "\x00" + s.period })

	ix.opensOf = make(map[string][]*incidentOpen)
	for i := range e.opens {
		o := &e.opens[i]
		for _, ref := range o.refs {
			if !slices.Contains(ix.opensOf[ref], o) {
				ix.opensOf[ref] = append(ix.opensOf[ref], o)
			}
		}
	}
	ix.escalationsOf = groupBy(e.escalations, func(s *escalation) string { return s.incident })

	ix.scrapsOf = make(map[string][]*posting)
	ix.receiptsOf = make(map[string][]*posting)
	ix.reversed = make(map[string]bool)
	for i := range e.postings {
		p := &e.postings[i]
		switch p.movement {
		case "scrap":
			ix.scrapsOf[p.incident] = append(ix.scrapsOf[p.incident], p)
		case "goods_receipt":
			if p.batch != "" {
				ix.receiptsOf[p.batch] = append(ix.receiptsOf[p.batch], p)
			}
		case "reversal":
			if p.reverses != "" {
				ix.reversed[p.reverses] = true
			}
		}
	}
	for _, ps := range ix.receiptsOf {
		slices.SortFunc(ps, func(a, b *posting) int { return byTime(&a.env, &b.env) })
	}

	ix.endOf = make(map[string]*batchEnd)
	for i := range e.ends {
		b := &e.ends[i]
		if f := ix.endOf[b.batch]; f == nil || byTime(&b.env, &f.env) < 0 {
			ix.endOf[b.batch] = b
		}
	}
	ix.serialsOf = make(map[string][]*serial)
	ix.serialUses = make(map[string]int)
	for i := range e.serials {
		s := &e.serials[i]
		ix.serialsOf[s.batch] = append(ix.serialsOf[s.batch], s)
		ix.serialUses[s.serial]++
	}
	ix.startsOf = make(map[string][]*batchStart)
	for i := range e.starts {
		s := &e.starts[i]
		ix.startsOf[s.batch] = append(ix.startsOf[s.batch], s)
	}
	ix.runSeconds = make(map[string]*sum)
	ix.runtimesOf = make(map[string][]string)
	for i := range e.runtimes {
		r := &e.runtimes[i]
		if r.batch == "" {
			continue
		}
		s := ix.runSeconds[r.batch]
		if s == nil {
			s = new(sum)
			ix.runSeconds[r.batch] = s
		}
		s.add(r.seconds)
		ix.runtimesOf[r.batch] = append(ix.runtimesOf[r.batch], r.id)
	}
	ix.hoursOf = make(map[string]*sum)
	ix.confirmsOf = make(map[string][]string)
	for i := range e.confirmations {
		c := &e.confirmations[i]
		if c.activity != "machine_hours" {
			continue
		}
		s := ix.hoursOf[c.batch]
		if s == nil {
			s = new(sum)
			ix.hoursOf[c.batch] = s
		}
		s.add(c.qty)
		ix.confirmsOf[c.batch] = append(ix.confirmsOf[c.batch], c.id)
	}
}

// groupBy groups records by a key, each group sorted by time, then id.
func groupBy[T any, P interface {
	*T
	envelope() *env
}](s []T, key func(P) string) map[string][]P {
	m := make(map[string][]P)
	for i := range s {
		p := P(&s[i])
		k := key(p)
		m[k] = append(m[k], p)
	}
	for _, g := range m {
		slices.SortFunc(g, func(a, b P) int {
			x, y := a.envelope(), b.envelope()
			return compareAt(x.time, x.id, y.time, y.id)
		})
	}
	return m
}
