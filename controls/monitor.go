package controls

import (
	"maps"
	"slices"
	"time"

	"github.com/waarborg/waarborg"
)

// A Monitor evaluates a catalog over a tenant's records as they arrive. It
// keeps the projections of every record added, uncorrected, so that each
// Evaluate gives exactly what Evaluate gives over the same records: a late
// correction takes effect on, and can be superseded for, a record added
// long before.
//
// A Monitor is not safe for concurrent use.
type Monitor struct {
	cat    *Catalog
	tenant string
	base   *engine // never run: run corrects projections in place
	// later holds the samples at or after the period's end, which the
	// engine drops, until Extend brings them into the period.
	later   []*waarborg.Record
	entries int
}

// NewMonitor returns a Monitor of cat for tenant over [from, to). It returns
// an error of kind waarborg.EINVALID when the catalog's parameters do not
// parse or to is before from.
func NewMonitor(cat *Catalog, tenant string, from, to time.Time) (*Monitor, error) {
	if cat == nil {
		return nil, waarborg.Errorf(waarborg.EINVALID, "monitor controls: no catalog")
	}
	p, err := cat.params()
	if err != nil {
		return nil, err
	}
	from, to = from.UTC(), to.UTC()
	if to.Before(from) {
		return nil, waarborg.Errorf(waarborg.EINVALID, "monitor controls: period ends (%s) before it starts (%s)",
			to.Format(time.RFC3339), from.Format(time.RFC3339))
	}
	return &Monitor{cat: cat, tenant: tenant, base: newEngine(from, to, p)}, nil
}

// Add takes in one record of the tenant; records of another tenant are
// skipped. Every record added counts as a ledger entry for LM-03.
func (m *Monitor) Add(r *waarborg.Record) {
	if r == nil || m.tenant != "" && r.Tenant != m.tenant {
		return
	}
	m.entries++
	if r.Type == "historian.sample" && !r.Time.Before(m.base.to) {
		m.later = append(m.later, r)
		return
	}
	m.base.add(r)
}

// Period returns the period monitored.
func (m *Monitor) Period() (from, to time.Time) { return m.base.from, m.base.to }

// Extend moves the period's end to to, if that is later.
func (m *Monitor) Extend(to time.Time) {
	to = to.UTC()
	if !to.After(m.base.to) {
		return
	}
	m.base.to = to
	kept := m.later[:0]
	for _, r := range m.later {
		if r.Time.Before(to) {
			m.base.add(r)
		} else {
			kept = append(kept, r)
		}
	}
	clear(m.later[len(kept):])
	m.later = kept
}

// Evaluate returns the result over every record added so far. LM-03's
// population is the number of records added; nothing is re-checked, so it
// reports no tampering. The caller fills in Result.Checkpoint.
func (m *Monitor) Evaluate() *Result {
	return m.base.clone().run(m.cat, m.tenant, Integrity{Entries: m.entries}, nil)
}

// clone returns a copy of e that can run without changing e: every slice
// that correcting, indexing or a check may write is copied.
func (e *engine) clone() *engine {
	e.ids.freeze()
	c := &engine{
		from: e.from, to: e.to, p: e.p,
		names:         e.names.clone(),
		grants:        slices.Clone(e.grants),
		revokes:       slices.Clone(e.revokes),
		exports:       slices.Clone(e.exports),
		deploys:       slices.Clone(e.deploys),
		requests:      slices.Clone(e.requests),
		approvals:     slices.Clone(e.approvals),
		snapshots:     slices.Clone(e.snapshots),
		terminations:  slices.Clone(e.terminations),
		signoffs:      slices.Clone(e.signoffs),
		counts:        e.counts.clone(),
		samples:       e.samples.clone(),
		gaps:          slices.Clone(e.gaps),
		opens:         slices.Clone(e.opens),
		escalations:   slices.Clone(e.escalations),
		closes:        slices.Clone(e.closes),
		postings:      slices.Clone(e.postings),
		confirmations: slices.Clone(e.confirmations),
		starts:        slices.Clone(e.starts),
		ends:          slices.Clone(e.ends),
		serials:       slices.Clone(e.serials),
		runtimes:      slices.Clone(e.runtimes),
		alarms:        slices.Clone(e.alarms),
		downtimes:     slices.Clone(e.downtimes),
		corrections:   slices.Clone(e.corrections),
		activity:      e.activity, // only add writes it
	}
	// The clone never adds ids, which would panic on the copied builder;
	// run's freeze reads it and so sees e's ids.
	c.ids = e.ids
	return c
}

func (g groups[T]) clone() groups[T] {
	c := make(groups[T], len(g))
	for i := range g {
		c[i] = slices.Clone(g[i])
	}
	return c
}

// clone copies n, so that names interned by corrections in one evaluation
// do not renumber the names of the next.
func (n *names) clone() *names {
	return &names{ids: maps.Clone(n.ids), s: slices.Clone(n.s), pairs: maps.Clone(n.pairs), pair1: slices.Clone(n.pair1)}
}
