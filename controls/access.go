package controls

import (
	"fmt"
	"time"

	"github.com/waarborg/waarborg"
)

// CO1 Access.

// ac01: every change.deploy is made by an engineer of its site.
func (e *engine) ac01(c *check) {
	for i := range e.deploys {
		d := &e.deploys[i]
		if e.inPeriod(d.time) {
			c.add(d.id)
			e.authorised(c, d.id, d.actor, "engineer", d.site, d.time)
		}
	}
}

// ac02: every data.export is made by an exporter of its site.
func (e *engine) ac02(c *check) {
	for i := range e.exports {
		x := &e.exports[i]
		if e.inPeriod(x.time) {
			c.add(x.id)
			e.authorised(c, x.id, x.actor, "exporter", x.site, x.time)
		}
	}
}

func (e *engine) authorised(c *check, id, actor, role, site string, t time.Time) {
	if !e.ix.holds(actor, role, site, t) {
		c.fail(id, "unauthorised-actor",
			fmt.Sprintf("%s does not hold %s for site %s at %s", who(actor), role, site, stamp(t)), id)
	}
}

// ac03: every access.grant is approved by someone else than the user and
// the granting admin. An empty approved_by is only no-approval, even when
// the grant has no actor either.
func (e *engine) ac03(c *check) {
	for i := range e.grants {
		g := &e.grants[i]
		if !e.inPeriod(g.time) {
			continue
		}
		c.add(g.id)
		switch {
		case g.approvedBy == "":
			c.fail(g.id, "no-approval", fmt.Sprintf("grant of %s to %s has no approver", g.role, g.user), g.id)
		case g.approvedBy == g.user:
			c.fail(g.id, "self-approval", fmt.Sprintf("grant of %s to %s approved by the user", g.role, g.user), g.id)
		case g.approvedBy == g.actor:
			c.fail(g.id, "self-approval", fmt.Sprintf("grant of %s to %s approved by the granting admin %s", g.role, g.user, g.actor), g.id)
		}
	}
}

// ac04: a leaver's roles are revoked in time and the leaver acts no more.
func (e *engine) ac04(c *check) {
	for i := range e.terminations {
		t := &e.terminations[i]
		if !e.inPeriod(t.time) {
			continue
		}
		c.add(t.id)
		if !t.valid || t.user == "" {
			continue
		}
		for _, k := range e.ix.rolesOf[t.user] {
			h := e.ix.roles[k]
			if h.heldAt(t.effective) && !h.revokedWithin(t.effective, e.p.revocationWindow) {
				c.fail(t.id, "late-revocation",
					fmt.Sprintf("%s still held %s (scope %s) %s after termination", t.user, k.role, k.scope, fmtDur(e.p.revocationWindow)), t.id)
			}
		}
		if a, ok := e.activity[t.user]; ok && a.time.After(t.effective) {
			c.fail(t.id, "activity-after-termination",
				fmt.Sprintf("%s acted at %s, after termination at %s", t.user, stamp(a.time), stamp(t.effective)), t.id, a.id)
		}
	}
}

// ac05: every calendar quarter wholly inside the period has its access review.
func (e *engine) ac05(c *check) {
	for start := quarterStart(e.from); ; {
		end := start.AddDate(0, 3, 0)
		if end.After(e.to) {
			return
		}
		e.reviewed(c, "access-review", waarborg.QuarterLabel(start), end, e.p.accessReviewGrace)
		start = end
	}
}

// reviewed checks one calendar unit of a manual control: a sign-off of the
// review for its label, with an actor, at most grace after the unit ends.
func (e *engine) reviewed(c *check, review, label string, end time.Time, grace time.Duration) {
	c.add(label)
	for _, s := range e.ix.signoffsOf[review+"\x00"+label] {
		if s.actor != "" && !s.time.After(end.Add(grace)) {
			return
		}
	}
	c.fail(label, "review-missing",
		fmt.Sprintf("no %s sign-off for %s by %s", review, label, stamp(end.Add(grace))))
}

// quarterStart returns the first calendar quarter start at or after t.
func quarterStart(t time.Time) time.Time {
	q := time.Date(t.Year(), (t.Month()-1)/3*3+1, 1, 0, 0, 0, 0, time.UTC)
	if q.Before(t) {
		q = q.AddDate(0, 3, 0)
	}
	return q
}

// weekStart returns the first ISO week start (Monday 00:00 UTC) at or after t.
func weekStart(t time.Time) time.Time {
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	if d.Before(t) {
		d = d.AddDate(0, 0, 1)
	}
	return d.AddDate(0, 0, (8-int(d.Weekday()))%7)
}

func who(actor string) string {
	if actor == "" {
		return "a record without actor"
	}
	return actor
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
