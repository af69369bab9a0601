package sim

import "math/rand/v2"

const (
	svcERP = "svc.sap-mes"
	svcHR  = "svc.hr-sync"
)

func (e *engine) zone(local bool, t int64) int64 {
	if !local {
		return 0
	}
	return e.cet.offset(t)
}

// loss says where an incident's lost output would be booked.
type loss struct {
	l *line
	b *batch
}

// incident opens an incident on ref at open, escalates it as IM-03 wants
// for its severity, and closes it with a root cause, booking any loss as a
// scrap posting (IM-04). The opener acts at open; escalations and closes
// are by shift leads and QA, who never leave, so nothing is done in the name
// of someone terminated in the meantime.
func (e *engine) incident(r *rand.Rand, s *site, open int64, sev int, ref, summary, opener string, ls *loss) {
	e.n.incident++
	id := "INC-" + string(appendPad(nil, e.n.incident, 7))
	w := e.rec().s("io.").s(id)
	w.head(e.tenant, s.srcOps, "incident.open", open, s.zone(open), opener)
	w.str("incident_id", id)
	w.str("severity", severities[sev])
	w.strs("refs", ref)
	w.str("summary", summary)
	e.put(open)

	lead := pick(r, s.leads).name
	last := open
	switch sev {
	case sevHigh:
		t := e.due(r, open+between(r, 5*minute, 3*hour+50*minute), open)
		if e.plant(kNotEscalated, r) {
			t = open + between(r, 4*hour+minute, 9*hour)
		}
		e.escalate(s, id, 1, "shift-lead", t, lead)
		last = t
	case sevCritical:
		t1 := e.due(r, open+between(r, 2*minute, 20*minute), open)
		t2 := e.due(r, t1+between(r, 5*minute, 35*minute), t1)
		if e.plant(kNotEscalated, r) {
			t2 = open + between(r, 61*minute, 3*hour)
		}
		e.escalate(s, id, 1, "shift-lead", t1, lead)
		e.escalate(s, id, 2, "plant-manager", t2, lead)
		last = t2
	}

	ct := last + between(r, 45*minute, 72*hour)
	closer := lead
	if r.IntN(2) == 0 {
		closer = pick(r, s.qa).name
	}
	root := pick(r, rootCauses)
	fix := ""
	if e.plant(kNoRootCause, r) {
		root = ""
	} else if r.Float64() < 0.01 { // filled in after the investigation
		fix, root = root, ""
	}
	var q int64
	if ls != nil && sev >= sevHigh && r.IntN(2) == 0 {
		q = between(r, 10, 800)*pow10[ls.l.dec] + r.Int64N(pow10[ls.l.dec])
	}
	w = e.rec().s("ic.").s(id)
	w.head(e.tenant, s.srcOps, "incident.close", ct, s.zone(ct), closer)
	closeData(w, id, root, q, ls, r.IntN(2) == 0)
	e.put(ct)
	if fix != "" {
		t := e.due(r, ct+between(r, hour, 48*hour), ct)
		w := e.correction(t, s.srcOps, s.zone(t), closer)
		w.str("corrects", "ic."+id)
		w.str("type", "incident.close")
		w.str("reason", "root cause from the investigation")
		w.open("data")
		closeData(w, id, fix, q, ls, false)
		w.close()
		e.put(t)
	}
	if q == 0 {
		return
	}
	pt, pq := e.due(r, ct+between(r, 30*minute, 96*hour), ct), q
	if e.plant(kLossNotBooked, r) {
		switch r.IntN(3) {
		case 0:
			return
		case 1:
			pq = q + pow10[ls.l.dec]
		default:
			pt = ct + 5*day + between(r, hour, 3*day)
		}
	}
	e.post(pt, "scrap", ls.b.id, id, ls.b.p.name, pq, ls.l.dec, ls.l.unit, 0)
}

func closeData(w *writer, id, root string, q int64, ls *loss, emptyRoot bool) {
	w.str("incident_id", id)
	if root != "" || emptyRoot {
		w.str("root_cause", root)
	}
	if ls != nil {
		w.fixed("loss_quantity", q, ls.l.dec)
		w.str("unit", ls.l.unit)
	}
}

func (e *engine) escalate(s *site, id string, level int64, to string, t int64, actor string) {
	w := e.rec().s("ie.").s(id).c('.').pad(level, 1)
	w.head(e.tenant, s.srcOps, "incident.escalate", t, s.zone(t), actor)
	w.str("incident_id", id)
	w.int("level", level)
	w.str("to", to)
	e.put(t)
}

// followGap opens the incident that LM-05 expects within 4h of a gap.
func (e *engine) followGap(r *rand.Rand, s *site, id string, t int64) {
	open := e.due(r, t+between(r, 5*minute, 3*hour+50*minute), t)
	if e.plant(kGapNotFollowed, r) {
		if r.IntN(2) == 0 {
			return
		}
		open = t + between(r, 4*hour+minute, 10*hour)
	}
	e.incident(r, s, open, sevMedium, id, "data loss "+id, pick(r, s.engs).name, nil)
}

// due keeps a follow-up inside the history when its cause is: a
// follow-up planned at or after To is moved to a random instant in
// [earliest, To). A history cut off at To then has no exceptions but the
// planted ones, which a real plant, seen to To, would show where its
// postings and escalations were still pending.
func (e *engine) due(r *rand.Rand, t, earliest int64) int64 {
	if t < e.to || earliest >= e.to {
		return t
	}
	return earliest + r.Int64N(e.to-earliest)
}

// post writes an ERP posting and returns its document number.
func (e *engine) post(t int64, movement, batch, incident, material string, q int64, dec int, unit string, reverses int64) int64 {
	e.n.document++
	doc := 4900000000 + e.n.document
	w := e.rec().s("erp.").pad(doc, 10)
	w.head(e.tenant, "corp/erp", "erp.posting", t, e.zone(true, t), svcERP)
	w.key("document")
	w.b = append(appendPad(append(w.b, '"'), doc, 10), '"')
	w.str("movement", movement)
	if batch != "" {
		w.str("batch_id", batch)
	}
	if incident != "" {
		w.str("incident_id", incident)
	}
	w.str("material", material)
	if dec == 1 && e.r.IntN(10) == 0 { // the ERP keeps two decimals
		w.fixed("quantity", q*10, 2)
	} else {
		w.fixed("quantity", q, dec)
	}
	w.str("unit", unit)
	if reverses != 0 {
		w.key("reverses")
		w.b = append(appendPad(append(w.b, '"'), reverses, 10), '"')
	}
	e.put(t)
	return doc
}

// correction starts a correction record; the caller writes its data.
func (e *engine) correction(t int64, source string, off int64, actor string) *writer {
	e.n.correction++
	w := e.rec().s("co.").pad(e.n.correction, 6)
	w.head(e.tenant, source, "correction", t, off, actor)
	return w
}

// serial returns the next serial number, unique by construction: a
// bijective scramble of a counter on 50 bits, in Crockford base 32. The
// slice is valid until the next call.
func (e *engine) serial() []byte {
	const mask = 1<<50 - 1
	const digits = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	e.n.serial++
	x := (uint64(e.n.serial) ^ e.seed) & mask
	x = x * 0x5DEECE66D & mask
	x ^= x >> 23
	x = x * 0x2545F4914F6CDD1D & mask
	x ^= x >> 29
	b := e.sn[:0]
	b = append(b, 'S', 'N')
	for i := 45; i >= 0; i -= 5 {
		b = append(b, digits[x>>uint(i)&31])
	}
	return b
}
