package controls

import (
	"fmt"
	"sort"
)

// CO4 Change.

// cm01: a deploy belongs to a requested change, approved by someone else
// than the requester before the deploy, or within the emergency window
// after it for an emergency change. An approval without actor is nobody's.
// A change_id that is empty counts as none.
func (e *engine) cm01(c *check) {
	for i := range e.deploys {
		d := &e.deploys[i]
		if !e.inPeriod(d.time) {
			continue
		}
		c.add(d.id)
		if d.changeID == "" {
			c.fail(d.id, "no-change", fmt.Sprintf("deploy of %s names no change", d.target), d.id)
			continue
		}
		requester, emergency := "", false
		if r := e.ix.requestOf[d.changeID]; r != nil {
			requester, emergency = r.actor, r.emergency
		} else {
			c.fail(d.id, "unknown-change", fmt.Sprintf("change %s has no change request", d.changeID), d.id)
		}
		var first *approval
		for _, a := range e.ix.approvalsOf[d.changeID] {
			if a.actor != "" && a.actor != requester {
				first = a
				break
			}
		}
		switch {
		case first == nil:
			c.fail(d.id, "not-approved", fmt.Sprintf("change %s has no approval by anyone but its requester", d.changeID), d.id)
		case emergency && first.time.After(d.time.Add(e.p.emergencyWindow)):
			c.fail(d.id, "approved-late", fmt.Sprintf("emergency change %s deployed %s, approved %s, more than %s later",
				d.changeID, stamp(d.time), stamp(first.time), fmtDur(e.p.emergencyWindow)), d.id, first.id)
		case !emergency && first.time.After(d.time):
			c.fail(d.id, "approved-late", fmt.Sprintf("change %s deployed %s, approved only %s",
				d.changeID, stamp(d.time), stamp(first.time)), d.id, first.id)
		}
	}
}

// cm02: a deploy of a requested change deploys what was requested.
func (e *engine) cm02(c *check) {
	for i := range e.deploys {
		d := &e.deploys[i]
		if !e.inPeriod(d.time) || d.changeID == "" {
			continue
		}
		r := e.ix.requestOf[d.changeID]
		if r == nil {
			continue
		}
		c.add(d.id)
		if d.target != r.target || d.sha256 != r.sha256 {
			c.fail(d.id, "not-as-approved", fmt.Sprintf("change %s requested %s at %.12s, deployed %s at %.12s",
				d.changeID, r.target, r.sha256, d.target, d.sha256), d.id, r.id)
		}
	}
}

// cm03: a snapshot reads back what the latest deploy of its target strictly
// before it deployed; with none, what the target's first snapshot read.
func (e *engine) cm03(c *check) {
	for i := range e.snapshots {
		s := &e.snapshots[i]
		if !e.inPeriod(s.time) {
			continue
		}
		c.add(s.id)
		deploys := e.ix.deploysOf[s.target]
		j := sort.Search(len(deploys), func(j int) bool { return !deploys[j].time.Before(s.time) })
		want, from := "", ""
		if j > 0 {
			want, from = deploys[j-1].sha256, deploys[j-1].id
		} else if f := e.ix.firstShot[s.target]; f != nil {
			want, from = f.sha256, f.id
		}
		if s.sha256 != want {
			c.fail(s.id, "drift", fmt.Sprintf("%s runs %.12s, expected %.12s", s.target, s.sha256, want), s.id, from)
		}
	}
}
