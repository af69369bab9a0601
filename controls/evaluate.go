package controls

import (
	"iter"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/jcs"
)

// Input is what one evaluation reads.
type Input struct {
	Tenant string
	// From and To bound the period [From, To), compared as instants.
	From, To time.Time
	// Records yields every record of the tenant, in any order, corrections
	// included, as waarborg.ParseRecord returns them; it is ranged over
	// once. When Tenant is set, records of another tenant are skipped.
	Records iter.Seq[*waarborg.Record]
	// Integrity is the outcome of re-checking the tenant's ledger (LM-03).
	// It is read once Records is exhausted, so that the pass over the log
	// that yields the records can fill it in; nil means nothing was checked.
	Integrity *Integrity
	// Populations names the controls whose population items the result
	// lists (ControlResult.Items), to draw samples from; the others only
	// count theirs.
	Populations []string
}

// Integrity is what a re-check of the tenant's whole ledger found; LM-03
// reports it as it is, whatever the period.
type Integrity struct {
	Entries  int      // ledger entries of the tenant: LM-03's population
	Tampered []string // ids of records that no longer hash to their leaf
	// InconsistentCheckpoints names each checkpoint that is not consistent
	// with the newest one by its tree size in decimal, as the ledger
	// identifies checkpoints. Its exception's subject is "checkpoint/<size>",
	// which no record id can be, since ids have no "/".
	InconsistentCheckpoints []string
}

// Evaluate tests every control of cat over in and returns the result
// document, one ControlResult a control, sorted by id; the caller fills in
// Result.Checkpoint. It returns an error of kind waarborg.EINVALID when the
// catalog's parameters do not parse or To is before From, and no other.
//
// Evaluate keeps compact projections of the records it needs, not the
// records, and uses up to three goroutines.
func Evaluate(cat *Catalog, in Input) (*Result, error) {
	if cat == nil {
		return nil, waarborg.Errorf(waarborg.EINVALID, "evaluate controls: no catalog")
	}
	p, err := cat.params()
	if err != nil {
		return nil, err
	}
	from, to := in.From.UTC(), in.To.UTC()
	if to.Before(from) {
		return nil, waarborg.Errorf(waarborg.EINVALID, "evaluate controls: period ends (%s) before it starts (%s)",
			to.Format(time.RFC3339), from.Format(time.RFC3339))
	}
	e := newEngine(from, to, p)
	if in.Records != nil {
		for r := range in.Records {
			if r != nil && (in.Tenant == "" || r.Tenant == in.Tenant) {
				e.add(r)
			}
		}
	}
	var integrity Integrity
	if in.Integrity != nil {
		integrity = *in.Integrity
	}
	return e.run(cat, in.Tenant, integrity, in.Populations), nil
}

func newEngine(from, to time.Time, p params) *engine {
	return &engine{from: from, to: to, p: p, names: newNames(), activity: make(map[string]activity)}
}

// run corrects and indexes the projections added and runs every check. It
// changes the projections: an engine runs once.
func (e *engine) run(cat *Catalog, tenant string, integrity Integrity, populations []string) *Result {
	e.ids.freeze()
	e.correct()
	e.index()

	res := &Result{Tenant: tenant, From: e.from, To: e.to, Catalog: cat.InForce()}
	checks := make([]check, len(cat.Controls))
	for i := range checks {
		checks[i].collect = slices.Contains(populations, cat.Controls[i].ID)
	}
	at := func(id string) *check {
		for i := range cat.Controls {
			if cat.Controls[i].ID == id {
				return &checks[i]
			}
		}
		return new(check) // a catalog without the control: nothing to report
	}
	var wg sync.WaitGroup
	// The two sorts over the largest populations run beside the rest.
	// LM-01 sorts the counts PC-01 reads, so the two run one after the other.
	wg.Go(func() { e.lm02(at("LM-02")) })
	wg.Go(func() { e.pc01(at("PC-01")); e.lm01(at("LM-01")) })
	for id, fn := range map[string]func(*engine, *check){
		"AC-01": (*engine).ac01, "AC-02": (*engine).ac02, "AC-03": (*engine).ac03,
		"AC-04": (*engine).ac04, "AC-05": (*engine).ac05,
		"LM-04": (*engine).lm04, "LM-05": (*engine).lm05,
		"PC-02": (*engine).pc02, "PC-03": (*engine).pc03, "PC-04": (*engine).pc04,
		"PC-05": (*engine).pc05, "PC-06": (*engine).pc06, "PC-07": (*engine).pc07,
		"CM-01": (*engine).cm01, "CM-02": (*engine).cm02, "CM-03": (*engine).cm03,
		"IM-01": (*engine).im01, "IM-02": (*engine).im02, "IM-03": (*engine).im03,
		"IM-04": (*engine).im04,
	} {
		fn(e, at(id))
	}
	lm03(at("LM-03"), integrity)
	wg.Wait()
	for i := range cat.Controls {
		res.Controls = append(res.Controls, checks[i].result(&cat.Controls[i]))
	}
	slices.SortFunc(res.Controls, func(a, b ControlResult) int { return strings.Compare(a.ID, b.ID) })
	return res
}

// engine holds the projections of one evaluation: per record type, only the
// envelope and data fields some control reads. A projection's data fields
// are filled by its set method, from the record's data or from the
// replacement data of the correction that takes effect on it.
type engine struct {
	from, to time.Time
	p        params

	ids   idArena // ids of the high-volume records
	names *names  // their repeated strings

	grants        []grant
	revokes       []revoke
	exports       []export
	deploys       []deploy
	requests      []request
	approvals     []approval
	snapshots     []snapshot
	terminations  []termination
	signoffs      []signoff
	counts        groups[count]  // by series
	samples       groups[sample] // by series
	gaps          []gap
	opens         []incidentOpen
	escalations   []escalation
	closes        []incidentClose
	postings      []posting
	confirmations []confirmation
	starts        []batchStart
	ends          []batchEnd
	serials       []serial
	runtimes      []runtime
	alarms        []alarm
	downtimes     []downtime
	corrections   []correction

	activity map[string]activity // latest record of each actor (AC-04)

	ix index
}

func (e *engine) inPeriod(t time.Time) bool { return !t.Before(e.from) && t.Before(e.to) }

// env is the part of the envelope every projection keeps.
type env struct {
	id   string
	time time.Time
}

func (v *env) key(*engine) (string, time.Time) { return v.id, v.time }
func (v *env) envelope() *env                  { return v }

// activity is an actor's latest record, by time then id.
type activity struct {
	time time.Time
	id   string
}

func (e *engine) add(r *waarborg.Record) {
	if r.Actor != "" {
		if a, ok := e.activity[r.Actor]; !ok || later(r.Time, r.ID, a.time, a.id) {
			e.activity[r.Actor] = activity{r.Time, r.ID}
		}
	}
	if IsWorkflow(r.Type) {
		// Acting on an exception is no control's population, but it is
		// activity: AC-04 counts "any record of any type", and a terminated
		// user who still works exceptions is what it is there to find.
		return
	}
	v := env{r.ID, r.Time}
	d := &r.Data
	switch r.Type {
	case "historian.sample":
		// A sample at or after the period's end is neither population nor
		// anyone's previous sample, and is the most frequent record type.
		if !r.Time.Before(e.to) {
			return
		}
		s := newSample(e, r.ID, r.Source, r.Time)
		s.set(e, d)
		e.samples.add(s.series, s)
	case "production.count":
		c := newCount(e, r.ID, r.Source, r.Time)
		c.set(e, d)
		e.counts.add(c.series, c)
	case "unit.serial":
		e.serials = appendSet(e, e.serials, serial{env: v}, d)
	case "access.grant":
		e.grants = appendSet(e, e.grants, grant{env: v, actor: r.Actor}, d)
	case "access.revoke":
		e.revokes = appendSet(e, e.revokes, revoke{env: v}, d)
	case "data.export":
		e.exports = append(e.exports, export{env: v, actor: r.Actor, site: r.Site()})
	case "change.deploy":
		e.deploys = appendSet(e, e.deploys, deploy{env: v, actor: r.Actor, site: r.Site()}, d)
	case "change.request":
		e.requests = appendSet(e, e.requests, request{env: v, actor: r.Actor}, d)
	case "change.approve":
		e.approvals = appendSet(e, e.approvals, approval{env: v, actor: r.Actor}, d)
	case "config.snapshot":
		e.snapshots = appendSet(e, e.snapshots, snapshot{env: v}, d)
	case "hr.termination":
		e.terminations = appendSet(e, e.terminations, termination{env: v}, d)
	case "review.signoff":
		e.signoffs = appendSet(e, e.signoffs, signoff{env: v, actor: r.Actor}, d)
	case "source.gap":
		e.gaps = append(e.gaps, gap{env: v})
	case "incident.open":
		e.opens = appendSet(e, e.opens, incidentOpen{env: v}, d)
	case "incident.escalate":
		e.escalations = appendSet(e, e.escalations, escalation{env: v}, d)
	case "incident.close":
		e.closes = appendSet(e, e.closes, incidentClose{env: v}, d)
	case "erp.posting":
		e.postings = appendSet(e, e.postings, posting{env: v}, d)
	case "erp.confirmation":
		e.confirmations = appendSet(e, e.confirmations, confirmation{env: v}, d)
	case "batch.start":
		e.starts = appendSet(e, e.starts, batchStart{env: v}, d)
	case "batch.end":
		e.ends = appendSet(e, e.ends, batchEnd{env: v}, d)
	case "machine.runtime":
		e.runtimes = appendSet(e, e.runtimes, runtime{env: v}, d)
	case "alarm":
		e.alarms = appendSet(e, e.alarms, alarm{env: v}, d)
	case "downtime":
		e.downtimes = appendSet(e, e.downtimes, downtime{env: v}, d)
	case "correction":
		c := correction{env: v, corrects: r.Str("corrects"), typ: r.Str("type")}
		if data, ok := r.Data.Get("data"); ok && data.Kind == jcs.Object {
			c.data = data
		}
		e.corrections = append(e.corrections, c)
	}
}

// A projection is a record type's compact form that a correction can update.
type projection interface {
	key(e *engine) (id string, t time.Time)
	set(e *engine, data *jcs.Value)
}

func appendSet[T any, P interface {
	*T
	projection
}](e *engine, s []T, v T, d *jcs.Value) []T {
	P(&v).set(e, d)
	return push(s, v)
}

// correct applies to each record the latest correction that takes effect on
// it (records.md, Corrections; controls.md, Terms): one that names it, is
// not itself of type correction, states its type, and whose replacement data
// keep the rules tying data to its envelope. Which correction takes effect
// does not depend on the order records arrived in.
func (e *engine) correct() {
	byTarget := make(map[string][]*correction)
	types := make(map[string]bool)
	for i := range e.corrections {
		c := &e.corrections[i]
		if c.typ == "correction" || c.data == nil {
			continue // a correction of a correction never takes effect
		}
		byTarget[c.corrects] = append(byTarget[c.corrects], c)
		types[c.typ] = true
	}
	for _, cs := range byTarget {
		slices.SortFunc(cs, func(a, b *correction) int { return -compareAt(a.time, a.id, b.time, b.id) })
	}
	pick := func(id, typ string, t time.Time) *jcs.Value {
		for _, c := range byTarget[id] {
			if c.typ == typ && waarborg.ConsistentWith(typ, c.data, t) {
				return c.data
			}
		}
		return nil
	}
	for typ := range types {
		switch typ {
		case "historian.sample":
			correctGroups(e, &e.samples, typ, pick)
		case "production.count":
			correctGroups(e, &e.counts, typ, pick)
		case "unit.serial":
			correctAll(e, e.serials, typ, pick)
		case "access.grant":
			correctAll(e, e.grants, typ, pick)
		case "access.revoke":
			correctAll(e, e.revokes, typ, pick)
		case "change.deploy":
			correctAll(e, e.deploys, typ, pick)
		case "change.request":
			correctAll(e, e.requests, typ, pick)
		case "change.approve":
			correctAll(e, e.approvals, typ, pick)
		case "config.snapshot":
			correctAll(e, e.snapshots, typ, pick)
		case "hr.termination":
			correctAll(e, e.terminations, typ, pick)
		case "review.signoff":
			correctAll(e, e.signoffs, typ, pick)
		case "incident.open":
			correctAll(e, e.opens, typ, pick)
		case "incident.escalate":
			correctAll(e, e.escalations, typ, pick)
		case "incident.close":
			correctAll(e, e.closes, typ, pick)
		case "erp.posting":
			correctAll(e, e.postings, typ, pick)
		case "erp.confirmation":
			correctAll(e, e.confirmations, typ, pick)
		case "batch.start":
			correctAll(e, e.starts, typ, pick)
		case "batch.end":
			correctAll(e, e.ends, typ, pick)
		case "machine.runtime":
			correctAll(e, e.runtimes, typ, pick)
		case "alarm":
			correctAll(e, e.alarms, typ, pick)
		case "downtime":
			correctAll(e, e.downtimes, typ, pick)
			// No control reads the data of data.export, source.gap or
			// access.login, so correcting them changes no result.
		}
	}
}

func correctAll[T any, P interface {
	*T
	projection
}](e *engine, s []T, typ string, pick func(id, typ string, t time.Time) *jcs.Value) {
	for i := range s {
		p := P(&s[i])
		id, t := p.key(e)
		if d := pick(id, typ, t); d != nil {
			p.set(e, d)
		}
	}
}

// groups holds records by series, each series in arrival order, so that
// sorting a series needs neither a copy of all records nor a sort of all.
type groups[T any] [][]T

func (g *groups[T]) add(series uint32, v T) {
	for int(series) >= len(*g) {
		*g = append(*g, nil)
	}
	(*g)[series] = push((*g)[series], v)
}

// push appends v to s, doubling its capacity when full. For large slices
// append grows by a quarter, which allocates five times the final size along
// the way; doubling allocates twice.
func push[T any](s []T, v T) []T {
	if len(s) == cap(s) {
		s = slices.Grow(s, max(len(s), 8))
	}
	return append(s, v)
}

// correctGroups is correctAll for records kept in groups: a correction that
// changes a record's series moves it to its new group.
func correctGroups[T any, P interface {
	*T
	projection
	group() uint32
}](e *engine, gs *groups[T], typ string, pick func(id, typ string, t time.Time) *jcs.Value) {
	g := *gs
	var moved []T
	for s := range g {
		kept := g[s][:0]
		for _, v := range g[s] {
			p := P(&v)
			id, t := p.key(e)
			if d := pick(id, typ, t); d != nil {
				p.set(e, d)
			}
			if p.group() == uint32(s) {
				kept = append(kept, v)
			} else {
				moved = append(moved, v)
			}
		}
		g[s] = kept
	}
	for _, v := range moved {
		gs.add(P(&v).group(), v)
	}
}

// compareAt orders records by time, then id (by code point, which byte
// order of UTF-8 is).
func compareAt(t1 time.Time, id1 string, t2 time.Time, id2 string) int {
	if c := t1.Compare(t2); c != 0 {
		return c
	}
	return strings.Compare(id1, id2)
}

// later reports whether (t1, id1) comes after (t2, id2) by time, then id.
func later(t1 time.Time, id1 string, t2 time.Time, id2 string) bool {
	return compareAt(t1, id1, t2, id2) > 0
}

// within reports whether t lies in [from, from+d], both ends included
// (controls.md: window bounds are inclusive).
func within(t, from time.Time, d time.Duration) bool {
	return !t.Before(from) && !t.After(from.Add(d))
}

// str returns the string member key of data, or "".
func str(d *jcs.Value, key string) string {
	if v, ok := d.Get(key); ok && v.Kind == jcs.String {
		return v.Str
	}
	return ""
}

// num returns the canonical text of the number member key of data, or "".
func num(d *jcs.Value, key string) string {
	if v, ok := d.Get(key); ok && v.Kind == jcs.Number {
		return v.Str
	}
	return ""
}

func timeOf(d *jcs.Value, key string) (time.Time, bool) {
	return waarborg.ParseTime(str(d, key))
}

// positive reports whether canonical number text is above zero.
func positive(text string) bool {
	return text != "" && text[0] != '-' && ratOf(text).Sign() > 0
}

// idArena keeps the ids of the high-volume record types in one string, so
// that millions of them cost the collector nothing to trace. Ids are at most
// 128 bytes (records.md).
type idArena struct {
	b strings.Builder
	s string
}

// An idRef is an id's offset in the arena << 16 | its length.
type idRef uint64

func (a *idArena) add(id string) idRef {
	off := a.b.Len()
	if a.b.Cap()-off < len(id) {
		a.b.Grow(max(off, 4096)) // doubling, as push does
	}
	a.b.WriteString(id)
	return idRef(uint64(off)<<16 | uint64(len(id)&0xffff))
}

// freeze ends adding; get works only after it.
func (a *idArena) freeze() { a.s = a.b.String() }

func (a *idArena) get(r idRef) string {
	off := int(r >> 16)
	return a.s[off : off+int(r&0xffff)]
}

// names interns the strings the high-volume records repeat (sources, tags,
// lines, batch ids, units), so that their projections hold no pointers.
// Number 0 is the empty string.
type names struct {
	ids   map[string]uint32
	s     []string
	pairs map[[2]uint32]uint32
	pair1 [][2]uint32
}

func newNames() *names {
	return &names{ids: map[string]uint32{"": 0}, s: []string{""}, pairs: make(map[[2]uint32]uint32)}
}

// pair numbers a pair of names, such as a series' source and tag.
func (n *names) pair(a, b uint32) uint32 {
	k := [2]uint32{a, b}
	if i, ok := n.pairs[k]; ok {
		return i
	}
	i := uint32(len(n.pair1))
	n.pairs[k] = i
	n.pair1 = append(n.pair1, k)
	return i
}

// first returns the first name of a pair.
func (n *names) first(i uint32) uint32 { return n.pair1[i][0] }

// series returns the two names of a pair, joined by a space.
func (n *names) series(i uint32) string {
	p := n.pair1[i]
	return n.s[p[0]] + " " + n.s[p[1]]
}

func (n *names) id(s string) uint32 {
	if i, ok := n.ids[s]; ok {
		return i
	}
	i := uint32(len(n.s))
	n.ids[s] = i
	n.s = append(n.s, s)
	return i
}

// lookup returns the number of s without adding it; it is safe for
// concurrent use once adding has ended.
func (n *names) lookup(s string) (uint32, bool) {
	i, ok := n.ids[s]
	return i, ok
}

func (n *names) str(i uint32) string { return n.s[i] }
