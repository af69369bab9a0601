package sim

import (
	"math"
	"math/rand/v2"
)

type tagSpec struct {
	name               string
	mean, sigma, theta float64 // a mean-reverting walk, per minute
}

// A tag is polled every minute and stored by exception, as historians
// compress: when the value left the dead band around the last stored one,
// or at the latest every 4 minutes, so a healthy tag never shows LM-02's
// 5-minute gap.
type tag struct {
	e    *engine
	s    *site
	r    *rand.Rand
	spec tagSpec
	name string
	id   string // id prefix
	band float64

	v, last                        float64
	lastT, next, dayNext, gapUntil int64
	gapAt, seq                     int64
}

const heartbeat = 4 * minute

func newTag(e *engine, s *site, l *line, spec tagSpec, g int) *tag {
	t := &tag{
		e: e, s: s, r: e.rng(4<<32 | uint64(g)), spec: spec,
		name: l.code + "." + spec.name,
		v:    spec.mean,
	}
	t.id = "hs." + t.name + "."
	// The first tag of a line moves more than the second.
	t.band = spec.sigma * [2]float64{0.9, 2.0}[g%2]
	t.next = floorDiv(e.from, minute)*minute + int64(g*7%60)*second
	if t.next < e.from {
		t.next += minute
	}
	return t
}

func (t *tag) run(lim int64) {
	e, r := t.e, t.r
	for t.next < lim {
		p := t.next
		t.next += minute
		t.v += t.spec.theta*(t.spec.mean-t.v) + t.spec.sigma*r.NormFloat64()
		if p >= t.dayNext {
			t.dayNext = (floorDiv(p, day) + 1) * day
			if e.plant(kHistorianGap, r) {
				t.gapAt = p + between(r, 0, 23*60)*minute
			}
		}
		if t.gapAt > 0 && p >= t.gapAt && t.seq > 0 {
			t.gapAt = 0
			t.gap(p)
		}
		if p < t.gapUntil {
			continue
		}
		if math.Abs(t.v-t.last) < t.band && p-t.lastT < heartbeat {
			continue
		}
		t.last, t.lastT = t.v, p
		t.seq++
		w := e.rec().s(t.id).pad(t.seq, 7)
		w.head(e.tenant, t.s.srcHist, "historian.sample", p, 0, "")
		w.str("tag", t.name)
		w.fixed("value", int64(math.Round(t.v*100)), 2)
		switch q := r.Float64(); {
		case q < 0.0005:
			w.str("quality", "bad")
		case q < 0.003:
			w.str("quality", "uncertain")
		case q < 0.03:
			w.str("quality", "good")
		}
		e.put(p)
	}
}

// gap is a planted collector outage: the tag stores nothing for a while,
// and the historian reports the loss, which is followed up.
func (t *tag) gap(p int64) {
	e, r := t.e, t.r
	t.gapUntil = p + between(r, 6, 40)*minute
	ts := t.gapUntil + between(r, minute, 15*minute)
	e.n.gap++
	id := "sg." + string(appendPad(nil, e.n.gap, 6))
	w := e.rec().s(id)
	w.head(e.tenant, t.s.srcHist, "source.gap", ts, 0, "")
	w.str("detail", "historian collector restarted")
	w.time("since", p, 0)
	w.time("until", t.gapUntil, 0)
	e.put(ts)
	e.followGap(r, t.s, id, ts)
}
