package sim

import (
	"math/rand/v2"
	"strconv"
)

// A line steps through its counter intervals. Each step writes the SCADA
// count of the interval and whatever else happened in it: a batch starting
// or ending, units serialised, downtime, alarms, connector gaps, and the
// machine hours of a shift that ends.
type line struct {
	e *engine
	s *site
	r *rand.Rand
	n int

	name, code, bcode                                 string
	srcScada, srcMes, srcEdge, srcSer, srcPLC, srcEng string

	unit      string
	dec       int   // fraction digits of quantities: 1 for kg, 0 for pcs
	dt        int64 // counter interval
	products  []*product
	alarmTags []string
	plc       *target

	next, idleUntil, dayNext  int64
	pcSeq, bSeq, alSeq, dtSeq int64
	b                         *batch
	down                      span
	gapDue, overlapDue        bool
}

type span struct{ start, end int64 }

type batch struct {
	id          string
	p           *product
	start, end  int64
	total       int64 // sum of the counts, fixed point
	good, scrap int64 // serialised batches count units as they go

	segStart, segRun int64 // the open machine-runtime segment; run in ms
	segN             int64
	runSec           int64 // seconds over the closed segments
	confirmed        int64 // hundredths of an hour confirmed so far

	problem kind
	planted bool
}

const (
	alarmsPerDay    = 4.0
	downtimesPerDay = 1.2
	edgeGapsPerDay  = 0.1
	shift           = 8 * hour
	firstShift      = 5 * hour // 06:00 CET
)

var (
	severities = []string{"low", "medium", "high", "critical"}
	reasons    = []string{"no material", "power dip", "mechanical failure", "cleaning overrun", "quality hold", "sensor fault", "changeover overrun"}
	rootCauses = []string{"worn bearing", "operator error", "supplier material out of spec", "software fault", "power quality", "sensor drift", "seal wear", "planning error", "lubrication missed"}
)

const (
	sevLow = iota
	sevMedium
	sevHigh
	sevCritical
)

func (l *line) zone(t int64) int64 { return l.e.zone(l.s.local, t) }

func (l *line) run(lim int64) {
	for l.next < lim {
		l.step(l.next)
		l.next += l.dt
	}
}

func (l *line) step(s int64) {
	e, r := l.e, l.r
	end := s + l.dt
	if s >= l.dayNext {
		l.dayNext = (floorDiv(s, day) + 1) * day
		l.gapDue = l.gapDue || e.plant(kCountGap, r)
		l.overlapDue = l.overlapDue || e.plant(kCountOverlap, r)
	}
	if l.b == nil && s >= l.idleUntil {
		l.startBatch(s + between(r, 0, l.dt*4/5))
	}
	b := l.b
	if b != nil && s >= l.down.end && r.Float64() < downtimesPerDay*float64(l.dt)/float64(day) {
		l.downtime(s, b)
	}
	var qty int64
	if b != nil {
		ws, we := max(s, b.start), min(end, b.end)
		run := we - ws - overlap(l.down, ws, we)
		if run > 0 {
			run -= int64(float64(run) * 0.03 * r.Float64()) // micro-stops
		}
		b.segRun += run
		if b.p.serial {
			qty = l.serialise(b, ws, we, run)
		} else {
			qty = int64(float64(run)*b.p.rate*(0.92+0.16*r.Float64()) + 0.5)
		}
		b.total += qty
	}
	l.count(s, end, b, qty)
	if s >= e.from {
		if r.Float64() < alarmsPerDay*float64(l.dt)/float64(day) {
			l.alarm(s)
		}
		if r.Float64() < edgeGapsPerDay*float64(l.dt)/float64(day) {
			l.edgeGap(s)
		}
	}
	if b != nil {
		if b.end < end || (end-firstShift)%shift == 0 {
			l.segment(b, min(end, b.end))
		}
		if b.end < end {
			l.endBatch(b, s)
		}
	}
}

func overlap(d span, a, b int64) int64 { return max(0, min(b, d.end)-max(a, d.start)) }

func (l *line) count(s, end int64, b *batch, qty int64) {
	e := l.e
	n := 1
	if b == nil && s >= e.from {
		if l.gapDue { // planted: the reading is lost
			l.gapDue = false
			return
		}
		if l.overlapDue { // planted: the reading is sent twice under two ids
			l.overlapDue = false
			n = 2
		}
	}
	product := l.products[0].name
	if b != nil {
		product = b.p.name
	}
	for range n {
		l.pcSeq++
		w := e.rec().s("pc.").s(l.code).c('.').pad(l.pcSeq, 7)
		w.head(e.tenant, l.srcScada, "production.count", end, l.zone(end), "")
		w.str("line", l.name)
		if b != nil {
			w.str("batch_id", b.id)
		}
		w.str("product", product)
		w.fixed("quantity", qty, l.dec)
		w.str("unit", l.unit)
		w.time("start", s, l.zone(s))
		w.time("end", end, l.zone(end))
		e.put(end)
	}
}

func (l *line) startBatch(bs int64) {
	e, r := l.e, l.r
	p := l.products[0]
	if len(l.products) > 1 && r.IntN(4) == 0 {
		p = l.products[1]
	}
	dur := between(r, 3*hour, 8*hour)
	if p.serial {
		dur = between(r, 2*hour, 4*hour)
	}
	dur += r.Int64N(minute)
	// A batch whose last count would fall at or after To ends after To
	// instead, so that no batch of the history misses counts.
	if end := bs + dur; end < e.to && (floorDiv(end, l.dt)+1)*l.dt >= e.to {
		dur += l.dt
	}
	l.bSeq++
	b := &batch{
		id: l.bcode + "-B" + string(appendPad(nil, l.bSeq, 6)),
		p:  p, start: bs, end: bs + dur, segStart: bs,
	}
	ks := []kind{kUnsigned, kNoStart, kMissingPosting, kQuantityMismatch, kLatePosting,
		kPostedBeforeEnd, kMissingConfirmation, kHoursMismatch}
	if p.serial {
		ks = append(ks, kSerialCount, kDuplicateSerial)
	} else {
		ks = append(ks, kCountMismatch)
	}
	b.problem = e.plantOne(r, ks...)
	l.b = b
	if b.problem == kNoStart {
		return
	}
	_, ver := p.recipe.at(bs)
	w := e.rec().s("bs.").s(b.id)
	w.head(e.tenant, l.srcMes, "batch.start", bs, l.zone(bs), l.s.operator(r))
	w.str("batch_id", b.id)
	w.str("line", l.name)
	w.str("product", p.name)
	w.str("recipe", p.recipe.name)
	w.str("recipe_version", "v"+strconv.Itoa(ver))
	e.put(bs)
}

// serialise makes the units of one interval of a serialised batch; the
// good ones get a serial as they pass the printer, the rejects none.
func (l *line) serialise(b *batch, ws, we, run int64) int64 {
	e, r := l.e, l.r
	x := float64(run) * b.p.rate
	n := int64(x)
	if r.Float64() < x-float64(n) {
		n++
	}
	for range n {
		if r.Float64() < 0.015 {
			b.scrap++
			continue
		}
		b.good++
		t := ws + r.Int64N(max(1, we-ws))
		sn := e.serial()
		if b.problem == kSerialCount && !b.planted { // planted: the reader missed it
			b.planted = true
			continue
		}
		l.serialRec(sn, "", b, t)
		if b.problem == kDuplicateSerial && !b.planted { // planted: printed twice
			b.planted = true
			l.serialRec(sn, ".2", b, t+between(r, second, minute))
		}
	}
	return n
}

func (l *line) serialRec(sn []byte, suffix string, b *batch, t int64) {
	e := l.e
	w := e.rec().s("sn.")
	w.b = append(w.b, sn...)
	w.s(suffix)
	w.head(e.tenant, l.srcSer, "unit.serial", t, 0, "")
	w.key("serial")
	w.b = append(w.b, '"')
	w.b = append(w.b, sn...)
	w.b = append(w.b, '"')
	w.str("batch_id", b.id)
	e.put(t)
}

// segment closes a machine-runtime segment of b at segEnd (a shift end or
// the batch end) and confirms its hours to the batch's production order.
func (l *line) segment(b *batch, segEnd int64) {
	e, r := l.e, l.r
	if segEnd <= b.segStart {
		return
	}
	start := b.segStart
	run := b.segRun / second
	b.segStart, b.segRun = segEnd, 0
	b.segN++
	b.runSec += run
	recorded := run
	if run > 600 && r.Float64() < 0.002 { // the edge counter reset; fixed later
		recorded = run * between(r, 5, 60) / 100
	}
	w := e.rec().s("mr.").s(b.id).c('.').pad(b.segN, 1)
	w.head(e.tenant, l.srcEdge, "machine.runtime", segEnd, 0, "")
	l.runtimeData(w, b, start, segEnd, recorded)
	e.put(segEnd)
	if recorded != run {
		ct := e.due(r, segEnd+between(r, hour, 48*hour), segEnd)
		w := e.correction(ct, l.srcEdge, 0, pick(r, l.s.engs).name)
		w.str("corrects", "mr."+b.id+"."+strconv.FormatInt(b.segN, 10))
		w.str("type", "machine.runtime")
		w.str("reason", "run-time counter reset; value re-read from the PLC")
		w.open("data")
		l.runtimeData(w, b, start, segEnd, run)
		w.close()
		e.put(ct)
	}

	if b.problem == kMissingConfirmation {
		return
	}
	var q int64
	dec := 2
	if segEnd < b.end {
		// Confirm the floor of the running total, so the final
		// confirmation can never be negative.
		cum := b.runSec * 100 / 3600
		q, b.confirmed = cum-b.confirmed, cum
		if q == 0 {
			return
		}
	} else {
		// The final confirmation rounds the batch total; more decimals
		// keep short run times within PC-07's 1 %.
		switch {
		case b.runSec >= 1800:
			dec = 2
		case b.runSec >= 180:
			dec = 3
		case b.runSec >= 18:
			dec = 4
		default:
			dec = 6
		}
		tot := (b.runSec*pow10[dec] + 1800) / 3600
		q = tot - b.confirmed*pow10[dec-2]
		if b.problem == kHoursMismatch {
			q += tot/10 + pow10[dec]/10
		}
	}
	e.n.confirmation++
	ct := e.due(r, segEnd+between(r, 15*minute, 4*hour), segEnd)
	w = e.rec().s("cf.").pad(20000000+e.n.confirmation, 10)
	w.head(e.tenant, "corp/erp", "erp.confirmation", ct, e.zone(true, ct), svcERP)
	w.key("document")
	w.b = append(appendPad(append(w.b, '"'), 20000000+e.n.confirmation, 10), '"')
	w.str("batch_id", b.id)
	w.str("activity", "machine_hours")
	w.fixed("quantity", q, dec)
	w.str("unit", "h")
	e.put(ct)
}

func (l *line) runtimeData(w *writer, b *batch, start, end, run int64) {
	w.str("line", l.name)
	w.str("batch_id", b.id)
	w.time("start", start, 0)
	w.time("end", end, 0)
	w.int("run_seconds", run)
}

func (l *line) endBatch(b *batch, s int64) {
	e, r := l.e, l.r
	good, scrap := b.good, b.scrap
	if !b.p.serial {
		scrap = int64(float64(b.total)*(0.005+0.02*r.Float64()) + 0.5)
		good = b.total - scrap
		if b.problem == kCountMismatch && b.total > 0 {
			d := max(1, int64(float64(b.total)*(0.02+0.06*r.Float64())))
			if r.IntN(2) == 0 && good > d {
				d = -d
			}
			good += d
		}
	}
	signer := pick(r, l.s.qa).name
	if b.problem == kUnsigned {
		signer = ""
	}
	keyed := good
	if !b.p.serial && b.problem < 0 && good >= 1000 && r.Float64() < 0.004 {
		keyed = mistype(r, good)
	}
	w := e.rec().s("be.").s(b.id)
	w.head(e.tenant, l.srcMes, "batch.end", b.end, l.zone(b.end), l.s.operator(r))
	l.batchEndData(w, b, keyed, scrap, signer)
	e.put(b.end)
	if keyed != good {
		ct := e.due(r, b.end+between(r, 30*minute, 36*hour), b.end)
		w := e.correction(ct, l.srcMes, l.zone(ct), signer)
		w.str("corrects", "be."+b.id)
		w.str("type", "batch.end")
		w.str("reason", "quantity_good mis-keyed at release")
		w.open("data")
		l.batchEndData(w, b, good, scrap, signer)
		w.close()
		e.put(ct)
	}

	l.receipts(b, good, s)
	if e.plant(kNoBatch, r) { // planted: a manual receipt without a batch
		t := b.end + between(r, hour, 10*hour)
		e.post(t, "goods_receipt", "", "", b.p.name, between(r, 10, 500)*pow10[l.dec], l.dec, l.unit, 0)
	}
	crew := between(r, 3, 5)
	lt := b.end + between(r, 30*minute, 8*hour)
	e.n.confirmation++
	w = e.rec().s("cf.").pad(20000000+e.n.confirmation, 10)
	w.head(e.tenant, "corp/erp", "erp.confirmation", lt, e.zone(true, lt), svcERP)
	w.key("document")
	w.b = append(appendPad(append(w.b, '"'), 20000000+e.n.confirmation, 10), '"')
	w.str("batch_id", b.id)
	w.str("activity", "labour_hours")
	w.fixed("quantity", crew*(b.end-b.start)*100/hour, 2)
	w.str("unit", "h")
	e.put(lt)

	l.s.recent = append(l.s.recent, b.id)
	if len(l.s.recent) > 24 {
		l.s.recent = append(l.s.recent[:0], l.s.recent[12:]...)
	}
	l.b = nil
	l.idleUntil = b.end + between(r, 20*minute, 75*minute)
}

func (l *line) batchEndData(w *writer, b *batch, good, scrap int64, signer string) {
	w.str("batch_id", b.id)
	w.str("line", l.name)
	w.fixed("quantity_good", good, l.dec)
	w.fixed("quantity_scrap", scrap, l.dec)
	w.str("unit", l.unit)
	if signer != "" || l.r.IntN(2) == 0 {
		w.str("signed_by", signer)
	}
}

// mistype returns v with one of the slips people make keying a number.
func mistype(r *rand.Rand, v int64) int64 {
	switch r.IntN(3) {
	case 0:
		return v * 10
	case 1:
		return v + 1000
	default:
		s := []byte(strconv.FormatInt(v, 10))
		for i := len(s) - 2; i >= 0; i-- {
			if s[i] != s[i+1] {
				s[i], s[i+1] = s[i+1], s[i]
				break
			}
		}
		w, _ := strconv.ParseInt(string(s), 10, 64)
		if w == v {
			return v + 1000
		}
		return w
	}
}

// receipts books the batch's output in the ERP within a day of its end.
func (l *line) receipts(b *batch, good, s int64) {
	e, r := l.e, l.r
	if good <= 0 || b.problem == kMissingPosting {
		return
	}
	t := e.due(r, b.end+between(r, 10*minute, 20*hour), b.end+1)
	post := func(t, q int64, movement string, reverses int64) int64 {
		return e.post(t, movement, b.id, "", b.p.name, q, l.dec, l.unit, reverses)
	}
	switch b.problem {
	case kLatePosting:
		post(b.end+between(r, 25*hour, 72*hour), good, "goods_receipt", 0)
		return
	case kQuantityMismatch:
		post(t, good-max(1, good/50), "goods_receipt", 0)
		return
	case kPostedBeforeEnd:
		if bt := s + (b.end-s)/2; bt < b.end {
			post(bt, good, "goods_receipt", 0)
			return
		}
	}
	switch x := r.Float64(); {
	case x < 0.01: // keyed wrong, reversed and posted again
		wrong := good + max(1, good/10)
		doc := post(t, wrong, "goods_receipt", 0)
		rt := e.due(r, t+between(r, 30*minute, 6*hour), t)
		post(rt, wrong, "reversal", doc)
		post(e.due(r, rt+between(r, 5*minute, 2*hour), rt), good, "goods_receipt", 0)
	case x < 0.11 && good >= 2: // two pallets' worth, posted apart
		q1 := good * between(r, 30, 70) / 100
		post(t, q1, "goods_receipt", 0)
		post(e.due(r, t+between(r, 10*minute, 3*hour), t), good-q1, "goods_receipt", 0)
	default:
		post(t, good, "goods_receipt", 0)
	}
}

func (l *line) downtime(s int64, b *batch) {
	e, r := l.e, l.r
	ds := s + r.Int64N(l.dt)
	var dur int64
	switch x := r.Float64(); {
	case x < 0.6:
		dur = between(r, 3*minute, 14*minute)
	case x < 0.95:
		dur = between(r, 15*minute, 90*minute)
	default:
		dur = between(r, 90*minute, 150*minute)
	}
	dur += r.Int64N(second)
	if ds+dur > b.end-5*minute {
		dur = b.end - 5*minute - ds
	}
	if dur < 2*minute {
		return
	}
	de := ds + dur
	l.down = span{ds, de}
	l.dtSeq++
	id := "DT-" + l.bcode + "-" + string(appendPad(nil, l.dtSeq, 5))
	reason := pick(r, reasons)
	w := e.rec().s("dt.").s(id)
	w.head(e.tenant, l.srcMes, "downtime", de, l.zone(de), "")
	w.str("downtime_id", id)
	w.str("line", l.name)
	w.time("start", ds, l.zone(ds))
	w.time("end", de, l.zone(de))
	w.str("reason", reason)
	e.put(de)

	summary := "downtime " + id + ": " + reason
	switch {
	case dur >= 15*minute:
		if e.plant(kDowntimeNoIncident, r) {
			return
		}
		sev := sevMedium
		if dur >= 90*minute {
			sev = sevCritical
		} else if dur >= 30*minute {
			sev = sevHigh
		}
		open := de + between(r, minute, 50*minute)
		if r.IntN(3) == 0 {
			open = ds + between(r, 5*minute, dur)
		}
		open = e.due(r, open, ds)
		e.incident(r, l.s, open, sev, id, summary, l.s.operator(r), &loss{l: l, b: b})
	case r.Float64() < 0.1:
		e.incident(r, l.s, de+between(r, minute, 30*minute), sevLow, id, summary, l.s.operator(r), nil)
	}
}

func (l *line) alarm(s int64) {
	e, r := l.e, l.r
	a := s + r.Int64N(l.dt)
	l.alSeq++
	id := "AL-" + l.bcode + "-" + string(appendPad(nil, l.alSeq, 6))
	tag := pick(r, l.alarmTags)
	prio := sevLow
	switch x := r.Float64(); {
	case x < 0.05:
		prio = sevCritical
	case x < 0.2:
		prio = sevHigh
	case x < 0.5:
		prio = sevMedium
	}
	ack := a + between(r, 15*second, 15*minute)
	clear := ack + between(r, minute, 90*minute)
	for i, state := range [...]string{"active", "acked", "cleared"} {
		t := [...]int64{a, ack, clear}[i]
		actor := ""
		if state == "acked" {
			actor = l.s.operator(r)
		}
		w := e.rec().s("al.").s(id).c('.').s(state)
		w.head(e.tenant, l.srcScada, "alarm", t, l.zone(t), actor)
		w.str("alarm_id", id)
		w.str("tag", l.code+"."+tag)
		w.str("priority", severities[prio])
		w.str("state", state)
		if state == "active" {
			w.str("message", tag)
		}
		e.put(t)
	}
	if prio < sevHigh {
		return
	}
	open := e.due(r, a+between(r, minute, 29*minute), a)
	if e.plant(kAlarmNoIncident, r) { // planted: none, or too late
		if r.IntN(2) == 0 {
			return
		}
		open = a + between(r, 31*minute, 3*hour)
	}
	e.incident(r, l.s, open, prio, id, "alarm "+id+": "+tag, l.s.operator(r), nil)
}

// edgeGap is the edge connector noticing lost Sparkplug messages. The line's
// counts and the historian are read elsewhere and lose nothing.
func (l *line) edgeGap(s int64) {
	e, r := l.e, l.r
	since := s + r.Int64N(l.dt)
	e.n.gap++
	id := "sg." + string(appendPad(nil, e.n.gap, 6))
	t := since + between(r, 20*second, 10*minute)
	ndeath := r.IntN(4) == 0
	var until, exp, got int64
	if !ndeath {
		until = since + between(r, 2*second, 3*minute)
		t = until + between(r, 5*second, 10*minute)
		exp = r.Int64N(256)
		got = (exp + between(r, 2, 40)) % 256
	}
	w := e.rec().s(id)
	w.head(e.tenant, l.srcEdge, "source.gap", t, 0, "")
	if ndeath {
		w.str("detail", "NDEATH: edge node offline")
		w.time("since", since, 0)
	} else {
		w.str("detail", "sparkplug seq jump")
		w.time("since", since, 0)
		w.time("until", until, 0)
		w.int("expected_seq", exp)
		w.int("received_seq", got)
	}
	e.put(t)
	e.followGap(r, l.s, id, t)
}
