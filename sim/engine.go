package sim

import (
	"math/rand/v2"
)

// The engine runs the plant's producers (one per line, historian tag and
// site, and one for the corporate systems) forward in time. A producer only
// ever writes records at or after its own clock, so once every producer has
// run to lim, every queued record delivered before lim is final and can be
// emitted in delivery order. The queue is the reorder buffer: it holds what
// is planned ahead (postings, closes, late deliveries), hours to days of
// records at most, never the history.
type engine struct {
	tenant   string
	from, to int64
	rate     float64
	seed     uint64

	r   *rand.Rand // delivery delays and problem quotas
	cet cet
	sn  [12]byte
	w   writer
	q   queue
	seq uint64
	n   counters

	quota [numKinds]quota
	names map[string]bool

	corp  *corp
	sites []*site
	lines []*line
	tags  []*tag
}

type counters struct {
	incident, document, confirmation, grant, revoke, login, export, termination,
	gap, review, correction, change, serial int64
}

// The share of records a feed delivers late, and by how much at most.
const (
	lateShare = 0.003
	lateMax   = 3 * hour
)

func (e *engine) rng(stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(e.seed, stream))
}

// advance runs every producer up to lim (exclusive), always in the same
// order, so a run is deterministic for its Config and its chunking.
func (e *engine) advance(lim int64) {
	e.corp.run(lim)
	for _, s := range e.sites {
		s.run(lim)
	}
	for _, l := range e.lines {
		l.run(lim)
	}
	for _, t := range e.tags {
		t.run(lim)
	}
}

// drain pops every queued record delivered before lim and hands it to fn.
func (e *engine) drain(lim int64, fn func(*item) error) error {
	for len(e.q.h) > 0 && e.q.h[0].deliv < lim {
		it := e.q.pop()
		err := fn(it)
		e.q.free = append(e.q.free, it)
		if err != nil {
			return err
		}
	}
	return nil
}

// rec starts a record: the caller appends the id, then calls head.
func (e *engine) rec() *writer {
	e.w.b = append(e.w.b[:0], `{"id":"`...)
	return &e.w
}

// put finishes the record in the writer and queues it for delivery.
func (e *engine) put(t int64) {
	e.w.b = append(e.w.b, '}', '}')
	it := e.q.get()
	it.b = append(it.b[:0], e.w.b...)
	it.t, it.deliv = t, t
	if e.r.Float64() < lateShare {
		it.deliv += 30*second + e.r.Int64N(lateMax)
	}
	e.seq++
	it.seq = e.seq
	e.q.push(it)
}

type item struct {
	deliv int64
	seq   uint64
	t     int64
	b     []byte
}

// queue is a min-heap of items by delivery time, then creation order, with
// a free list so that steady state allocates nothing.
type queue struct {
	h    []*item
	free []*item
}

func (q *queue) get() *item {
	if n := len(q.free); n > 0 {
		it := q.free[n-1]
		q.free = q.free[:n-1]
		return it
	}
	return &item{b: make([]byte, 0, 256)}
}

func before(a, b *item) bool { return a.deliv < b.deliv || a.deliv == b.deliv && a.seq < b.seq }

func (q *queue) push(it *item) {
	q.h = append(q.h, it)
	i := len(q.h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !before(q.h[i], q.h[p]) {
			break
		}
		q.h[i], q.h[p] = q.h[p], q.h[i]
		i = p
	}
}

func (q *queue) pop() *item {
	h := q.h
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h[n] = nil
	h = h[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && before(h[r], h[l]) {
			m = r
		}
		if !before(h[m], h[i]) {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	q.h = h
	return top
}

// writer appends one record's JSON. Every string the simulator writes is
// ASCII without quotes or backslashes (validated names, generated ids), so
// plain quoting is JSON-safe.
type writer struct {
	b     []byte
	comma bool
}

func (w *writer) s(v string) *writer { w.b = append(w.b, v...); return w }
func (w *writer) c(v byte) *writer   { w.b = append(w.b, v); return w }
func (w *writer) pad(v int64, width int) *writer {
	w.b = appendPad(w.b, v, width)
	return w
}

// head closes the id and writes the envelope up to the opening of data.
// off is the source's UTC offset in minutes.
func (w *writer) head(tenant, source, typ string, t, off int64, actor string) {
	w.b = append(w.b, `","tenant":"`...)
	w.b = append(w.b, tenant...)
	w.b = append(w.b, `","source":"`...)
	w.b = append(w.b, source...)
	w.b = append(w.b, `","type":"`...)
	w.b = append(w.b, typ...)
	w.b = append(w.b, `","time":"`...)
	w.b = appendTime(w.b, t, off)
	w.b = append(w.b, '"')
	if actor != "" {
		w.b = append(w.b, `,"actor":"`...)
		w.b = append(w.b, actor...)
		w.b = append(w.b, '"')
	}
	w.b = append(w.b, `,"data":{`...)
	w.comma = false
}

func (w *writer) key(k string) {
	if w.comma {
		w.b = append(w.b, ',')
	}
	w.comma = true
	w.b = append(w.b, '"')
	w.b = append(w.b, k...)
	w.b = append(w.b, '"', ':')
}

func (w *writer) str(k, v string) {
	w.key(k)
	w.b = append(w.b, '"')
	w.b = append(w.b, v...)
	w.b = append(w.b, '"')
}

func (w *writer) fixed(k string, v int64, dec int) {
	w.key(k)
	w.b = appendFixed(w.b, v, dec)
}

func (w *writer) int(k string, v int64) { w.fixed(k, v, 0) }

func (w *writer) bool(k string, v bool) {
	w.key(k)
	if v {
		w.b = append(w.b, "true"...)
	} else {
		w.b = append(w.b, "false"...)
	}
}

func (w *writer) time(k string, t, off int64) {
	w.key(k)
	w.b = append(w.b, '"')
	w.b = appendTime(w.b, t, off)
	w.b = append(w.b, '"')
}

func (w *writer) strs(k string, vs ...string) {
	w.key(k)
	w.b = append(w.b, '[')
	for i, v := range vs {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.b = append(w.b, '"')
		w.b = append(w.b, v...)
		w.b = append(w.b, '"')
	}
	w.b = append(w.b, ']')
}

// open and close bracket a nested object (a correction's data).
func (w *writer) open(k string) {
	w.key(k)
	w.b = append(w.b, '{')
	w.comma = false
}

func (w *writer) close() {
	w.b = append(w.b, '}')
	w.comma = true
}

// hex appends n random lower-case hex digits, for content hashes.
func (w *writer) hex(k string, r *rand.Rand) {
	w.key(k)
	w.b = append(w.b, '"')
	w.b = appendHex(w.b, r)
	w.b = append(w.b, '"')
}

func appendHex(b []byte, r *rand.Rand) []byte {
	const digits = "0123456789abcdef"
	for range 4 {
		v := r.Uint64()
		for range 16 {
			b = append(b, digits[v&15])
			v >>= 4
		}
	}
	return b
}

func randHex(r *rand.Rand) string { return string(appendHex(nil, r)) }

// between returns a uniform value in [lo, hi].
func between(r *rand.Rand, lo, hi int64) int64 {
	if hi <= lo {
		return lo
	}
	return lo + r.Int64N(hi-lo+1)
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// A kind is one sort of control exception the simulator can plant.
type kind int

const (
	kUnsigned kind = iota
	kNoStart
	kCountMismatch
	kMissingPosting
	kQuantityMismatch
	kLatePosting
	kPostedBeforeEnd
	kNoBatch
	kSerialCount
	kDuplicateSerial
	kMissingConfirmation
	kHoursMismatch
	kCountGap
	kCountOverlap
	kHistorianGap
	kGapNotFollowed
	kWeekReview
	kQuarterReview
	kAlarmNoIncident
	kDowntimeNoIncident
	kNotEscalated
	kNoRootCause
	kLossNotBooked
	kNoChange
	kUnknownChange
	kNotApproved
	kApprovedLate
	kNotAsApproved
	kDrift
	kUnauthorisedDeploy
	kUnauthorisedExport
	kNoApproval
	kSelfApproval
	kLateRevocation
	kActivityAfterTermination
	numKinds
)

// firstWithin bounds the opportunity at which each kind is first planted,
// so that any ProblemRate > 0 shows every kind in a history long enough to
// offer it, however small the rate.
var firstWithin = [numKinds]int{
	kUnsigned: 40, kNoStart: 40, kCountMismatch: 40, kMissingPosting: 40,
	kQuantityMismatch: 40, kLatePosting: 40, kPostedBeforeEnd: 40, kNoBatch: 40,
	kSerialCount: 8, kDuplicateSerial: 8, kMissingConfirmation: 40, kHoursMismatch: 40,
	kCountGap: 8, kCountOverlap: 8, kHistorianGap: 20, kGapNotFollowed: 4,
	kWeekReview: 3, kQuarterReview: 1, kAlarmNoIncident: 20, kDowntimeNoIncident: 20,
	kNotEscalated: 20, kNoRootCause: 30, kLossNotBooked: 10, kNoChange: 6,
	kUnknownChange: 6, kNotApproved: 6, kApprovedLate: 6, kNotAsApproved: 6,
	kDrift: 60, kUnauthorisedDeploy: 6, kUnauthorisedExport: 10, kNoApproval: 20,
	kSelfApproval: 20, kLateRevocation: 3, kActivityAfterTermination: 3,
}

type quota struct{ seen, planted, first int }

// plant reports whether this opportunity for k gets a planted exception:
// with probability ProblemRate, and surely at the kind's first-due one.
func (e *engine) plant(k kind, r *rand.Rand) bool {
	if e.rate <= 0 {
		return false
	}
	q := &e.quota[k]
	q.seen++
	if (q.planted == 0 && q.seen >= q.first) || r.Float64() < e.rate {
		q.planted++
		return true
	}
	return false
}

// plantOne offers one opportunity to each kind in turn and returns the
// first that is planted, or -1: one subject carries at most one problem.
func (e *engine) plantOne(r *rand.Rand, ks ...kind) kind {
	for _, k := range ks {
		if e.plant(k, r) {
			return k
		}
	}
	return -1
}
