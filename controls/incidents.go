package controls

import (
	"fmt"
	"time"
)

// CO5 Incidents.

// incidentFor returns the earliest incident.open that refers to ref with a
// time in [from, to], or nil.
func (e *engine) incidentFor(ref string, from, to time.Time) *incidentOpen {
	var first *incidentOpen
	for _, o := range e.ix.opensOf[ref] {
		if !o.time.Before(from) && !o.time.After(to) && (first == nil || later(first.time, first.id, o.time, o.id)) {
			first = o
		}
	}
	return first
}

// im01: a high or critical alarm that becomes active opens an incident.
func (e *engine) im01(c *check) {
	for i := range e.alarms {
		a := &e.alarms[i]
		if !e.inPeriod(a.time) || a.state != "active" || a.priority != "high" && a.priority != "critical" {
			continue
		}
		c.add(a.id)
		if e.incidentFor(a.alarmID, a.time, a.time.Add(e.p.alarmWindow)) == nil {
			c.fail(a.id, "no-incident", fmt.Sprintf("%s alarm %s has no incident within %s",
				a.priority, a.alarmID, fmtDur(e.p.alarmWindow)), a.id)
		}
	}
}

// im02: downtime of at least the minimum duration opens an incident.
func (e *engine) im02(c *check) {
	for i := range e.downtimes {
		t := &e.downtimes[i]
		if !e.inPeriod(t.time) || !t.valid || t.start.Add(e.p.downtimeMin).After(t.end) {
			continue
		}
		c.add(t.id)
		if e.incidentFor(t.downtimeID, t.start, t.end.Add(e.p.downtimeWindow)) == nil {
			c.fail(t.id, "no-incident", fmt.Sprintf("downtime %s (%s) has no incident by %s after its end",
				t.downtimeID, fmtDur(t.end.Sub(t.start)), fmtDur(e.p.downtimeWindow)), t.id)
		}
	}
}

// im03: a critical incident reaches level 2 within the critical window, a
// high one level 1 within the high window.
func (e *engine) im03(c *check) {
	for i := range e.opens {
		o := &e.opens[i]
		if !e.inPeriod(o.time) {
			continue
		}
		level, window := 0, time.Duration(0)
		switch o.severity {
		case "critical":
			level, window = 2, e.p.criticalWindow
		case "high":
			level, window = 1, e.p.highWindow
		default:
			continue
		}
		c.add(o.id)
		escalated := false
		for _, s := range e.ix.escalationsOf[o.incident] {
			if s.level >= level && within(s.time, o.time, window) {
				escalated = true
				break
			}
		}
		if !escalated {
			c.fail(o.id, "not-escalated", fmt.Sprintf("%s incident %s not escalated to level %d within %s",
				o.severity, o.incident, level, fmtDur(window)), o.id)
		}
	}
}

// im04: a closed incident has a root cause, and a loss is booked by one
// scrap posting of exactly that quantity soon after the close.
func (e *engine) im04(c *check) {
	for i := range e.closes {
		x := &e.closes[i]
		if !e.inPeriod(x.time) {
			continue
		}
		c.add(x.id)
		if x.rootCause == "" {
			c.fail(x.id, "no-root-cause", fmt.Sprintf("incident %s closed without root cause", x.incident), x.id)
		}
		if !positive(x.loss) {
			continue
		}
		loss := ratOf(x.loss)
		booked := false
		for _, p := range e.ix.scrapsOf[x.incident] {
			if within(p.time, x.time, e.p.bookingWindow) && p.qty != "" && ratOf(p.qty).Cmp(loss) == 0 {
				booked = true
				break
			}
		}
		if !booked {
			c.fail(x.id, "loss-not-booked", fmt.Sprintf("incident %s lost %s, no scrap posting of it within %s",
				x.incident, x.loss, fmtDur(e.p.bookingWindow)), x.id)
		}
	}
}
