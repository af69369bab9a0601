package controls

import (
	"fmt"
	"slices"
	"strings"

	"github.com/waarborg/waarborg"
)

// CO2 Logging and monitoring.

// lm01: per source and line, ordered by start then id, each production
// count starts where the previous one, of any time, ended. It sorts the
// counts of each series.
func (e *engine) lm01(c *check) {
	tol := e.p.countTolerance
	for _, counts := range e.counts {
		slices.SortFunc(counts, func(a, b count) int {
			if c := a.start().compare(b.start()); c != 0 {
				return c
			}
			return strings.Compare(e.ids.get(a.id), e.ids.get(b.id))
		})
		for i := range counts {
			x := &counts[i]
			if !e.inPeriod(x.time().t()) {
				continue
			}
			c.addRef(e, x.id)
			if i == 0 {
				continue
			}
			prev := &counts[i-1]
			id, prevID := e.ids.get(x.id), e.ids.get(prev.id)
			start, prevEnd := x.start().t(), prev.time().t()
			switch {
			case start.After(prevEnd.Add(tol)):
				c.fail(id, "gap", fmt.Sprintf("%s: no count from %s to %s",
					e.names.series(x.series), stamp(prevEnd), stamp(start)), id, prevID)
			case start.Before(prevEnd.Add(-tol)):
				c.fail(id, "overlap", fmt.Sprintf("%s: count starts at %s, before the previous one ends at %s",
					e.names.series(x.series), stamp(start), stamp(prevEnd)), id, prevID)
			}
		}
	}
}

// lm02: per source and tag, ordered by time then id, each historian sample
// follows the previous one, which may lie before the period, within the
// maximum interval. It sorts the samples of each series.
func (e *engine) lm02(c *check) {
	for _, samples := range e.samples {
		// Series arrive nearly in time order, which this sort finds cheaply.
		slices.SortFunc(samples, func(a, b sample) int {
			if c := a.time().compare(b.time()); c != 0 {
				return c
			}
			return strings.Compare(e.ids.get(a.id), e.ids.get(b.id))
		})
		for i := range samples {
			x := &samples[i]
			t := x.time().t()
			if !e.inPeriod(t) {
				continue
			}
			c.addRef(e, x.id)
			if i == 0 {
				continue
			}
			prev := samples[i-1].time().t()
			if t.After(prev.Add(e.p.sampleInterval)) {
				id := e.ids.get(x.id)
				c.fail(id, "gap", fmt.Sprintf("%s: no sample from %s to %s",
					e.names.series(x.series), stamp(prev), stamp(t)), id, e.ids.get(samples[i-1].id))
			}
		}
	}
}

// lm03 reports the integrity of the whole ledger, whatever the period.
func lm03(c *check, in Integrity) {
	c.pop = in.Entries
	for _, id := range in.Tampered {
		c.fail(id, "tampered", "the stored record no longer hashes to its ledger leaf", id)
	}
	for _, size := range in.InconsistentCheckpoints {
		c.fail("checkpoint/"+size, "inconsistent-checkpoint",
			fmt.Sprintf("the signed checkpoint of tree size %s is not consistent with the newest one", size))
	}
}

// lm04: every ISO week wholly inside the period has its monitoring review.
func (e *engine) lm04(c *check) {
	for start := weekStart(e.from); ; {
		end := start.AddDate(0, 0, 7)
		if end.After(e.to) {
			return
		}
		e.reviewed(c, "monitoring-review", waarborg.WeekLabel(start), end, e.p.monitorReviewGrace)
		start = end
	}
}

// lm05: every source.gap is followed by an incident that refers to it.
func (e *engine) lm05(c *check) {
	for i := range e.gaps {
		g := &e.gaps[i]
		if !e.inPeriod(g.time) {
			continue
		}
		c.add(g.id)
		if e.incidentFor(g.id, g.time, g.time.Add(e.p.gapFollowUp)) == nil {
			c.fail(g.id, "not-followed-up",
				fmt.Sprintf("no incident refers to the gap within %s", fmtDur(e.p.gapFollowUp)), g.id)
		}
	}
}
