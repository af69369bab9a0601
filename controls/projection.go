package controls

import (
	"cmp"
	"time"

	"github.com/waarborg/waarborg/jcs"
)

// The projections: per record type, what the controls read of it.

// An instant is a time.Time without its location pointer, so that the
// projections of the high-volume records hold no pointers: appending them
// needs no write barrier and the collector never scans them.
type instant struct {
	sec  int64
	nsec int32
}

func (i instant) t() time.Time { return time.Unix(i.sec, int64(i.nsec)).UTC() }

func (i instant) compare(j instant) int {
	if i.sec != j.sec {
		return cmp.Compare(i.sec, j.sec)
	}
	return cmp.Compare(i.nsec, j.nsec)
}

// sample is a historian.sample. Its series is source + tag (LM-02). Its
// fields are laid out by hand to take 24 bytes: there are millions.
type sample struct {
	id     idRef
	sec    int64
	nsec   int32
	series uint32
}

// newSample returns a sample without data: its series is its source and
// no tag, which set completes.
func newSample(e *engine, id, source string, t time.Time) sample {
	return sample{id: e.ids.add(id), sec: t.Unix(), nsec: int32(t.Nanosecond()), series: e.names.pair(e.names.id(source), 0)}
}

func (s *sample) time() instant                     { return instant{s.sec, s.nsec} }
func (s *sample) key(e *engine) (string, time.Time) { return e.ids.get(s.id), s.time().t() }
func (s *sample) group() uint32                     { return s.series }

func (s *sample) set(e *engine, d *jcs.Value) {
	s.series = e.names.pair(e.names.first(s.series), e.names.id(str(d, "tag")))
}

// count is a production.count; its time is its end (records.md). Its series
// is source + line (LM-01).
type count struct {
	id                  idRef
	sec, startSec       int64
	nsec, startNsec     int32
	series, batch, unit uint32 // batch 0: no batch_id
	qty                 uint32 // the quantity's canonical text
}

// newCount returns a count without data: its series is its source and no
// line, which set completes.
func newCount(e *engine, id, source string, t time.Time) count {
	return count{id: e.ids.add(id), sec: t.Unix(), nsec: int32(t.Nanosecond()), series: e.names.pair(e.names.id(source), 0)}
}

func (c *count) time() instant                     { return instant{c.sec, c.nsec} }
func (c *count) start() instant                    { return instant{c.startSec, c.startNsec} }
func (c *count) key(e *engine) (string, time.Time) { return e.ids.get(c.id), c.time().t() }
func (c *count) group() uint32                     { return c.series }

func (c *count) set(e *engine, d *jcs.Value) {
	start, _ := timeOf(d, "start")
	c.startSec, c.startNsec = start.Unix(), int32(start.Nanosecond())
	c.series = e.names.pair(e.names.first(c.series), e.names.id(str(d, "line")))
	c.batch = e.names.id(str(d, "batch_id"))
	c.unit = e.names.id(str(d, "unit"))
	c.qty = e.names.id(num(d, "quantity"))
}

type serial struct {
	env
	serial, batch string
}

func (s *serial) set(_ *engine, d *jcs.Value) {
	s.serial, s.batch = str(d, "serial"), str(d, "batch_id")
}

type grant struct {
	env
	actor                         string
	user, role, scope, approvedBy string
}

func (g *grant) set(_ *engine, d *jcs.Value) {
	g.user, g.role, g.scope, g.approvedBy = str(d, "user"), str(d, "role"), str(d, "scope"), str(d, "approved_by")
}

type revoke struct {
	env
	user, role, scope string
}

func (r *revoke) set(_ *engine, d *jcs.Value) {
	r.user, r.role, r.scope = str(d, "user"), str(d, "role"), str(d, "scope")
}

// export is a data.export; no control reads its data.
type export struct {
	env
	actor, site string
}

type deploy struct {
	env
	actor, site              string
	changeID, target, sha256 string
}

func (c *deploy) set(_ *engine, d *jcs.Value) {
	c.changeID, c.target, c.sha256 = str(d, "change_id"), str(d, "target"), str(d, "content_sha256")
}

type request struct {
	env
	actor                    string
	changeID, target, sha256 string
	emergency                bool
}

func (c *request) set(_ *engine, d *jcs.Value) {
	c.changeID, c.target, c.sha256 = str(d, "change_id"), str(d, "target"), str(d, "content_sha256")
	v, ok := d.Get("emergency")
	c.emergency = ok && v.Kind == jcs.Bool && v.Bool
}

type approval struct {
	env
	actor, changeID string
}

func (a *approval) set(_ *engine, d *jcs.Value) { a.changeID = str(d, "change_id") }

type snapshot struct {
	env
	target, sha256 string
}

func (s *snapshot) set(_ *engine, d *jcs.Value) {
	s.target, s.sha256 = str(d, "target"), str(d, "content_sha256")
}

type termination struct {
	env
	user      string
	effective time.Time
	valid     bool // effective is a timestamp
}

func (t *termination) set(_ *engine, d *jcs.Value) {
	t.user = str(d, "user")
	t.effective, t.valid = timeOf(d, "effective")
}

type signoff struct {
	env
	actor, review, period string
}

func (s *signoff) set(_ *engine, d *jcs.Value) {
	s.review, s.period = str(d, "review"), str(d, "period")
}

// gap is a source.gap; no control reads its data.
type gap struct{ env }

type incidentOpen struct {
	env
	incident, severity string
	refs               []string
}

func (o *incidentOpen) set(_ *engine, d *jcs.Value) {
	o.incident, o.severity, o.refs = str(d, "incident_id"), str(d, "severity"), nil
	if v, ok := d.Get("refs"); ok && v.Kind == jcs.Array {
		for i := range v.Items {
			if v.Items[i].Kind == jcs.String {
				o.refs = append(o.refs, v.Items[i].Str)
			}
		}
	}
}

type escalation struct {
	env
	incident string
	level    int // capped at 2, the highest level a rule asks for
}

func (s *escalation) set(_ *engine, d *jcs.Value) {
	s.incident, s.level = str(d, "incident_id"), 0
	if text := num(d, "level"); text != "" {
		l := ratOf(text)
		for _, n := range []int64{2, 1} {
			if l.Cmp(ratInt(n)) >= 0 {
				s.level = int(n)
				break
			}
		}
	}
}

type incidentClose struct {
	env
	incident, rootCause, loss string // loss: canonical text, "" when absent
}

func (c *incidentClose) set(_ *engine, d *jcs.Value) {
	c.incident, c.rootCause, c.loss = str(d, "incident_id"), str(d, "root_cause"), num(d, "loss_quantity")
}

type posting struct {
	env
	document, movement, batch, incident string
	qty, unit, reverses                 string
}

func (p *posting) set(_ *engine, d *jcs.Value) {
	p.document, p.movement, p.batch, p.incident = str(d, "document"), str(d, "movement"), str(d, "batch_id"), str(d, "incident_id")
	p.qty, p.unit, p.reverses = num(d, "quantity"), str(d, "unit"), str(d, "reverses")
}

type confirmation struct {
	env
	batch, activity, qty string
}

func (c *confirmation) set(_ *engine, d *jcs.Value) {
	c.batch, c.activity, c.qty = str(d, "batch_id"), str(d, "activity"), num(d, "quantity")
}

type batchStart struct {
	env
	batch, line string
}

func (s *batchStart) set(_ *engine, d *jcs.Value) {
	s.batch, s.line = str(d, "batch_id"), str(d, "line")
}

type batchEnd struct {
	env
	batch, line, unit, signedBy string
	good, scrap                 string // canonical text
}

func (b *batchEnd) set(_ *engine, d *jcs.Value) {
	b.batch, b.line, b.unit, b.signedBy = str(d, "batch_id"), str(d, "line"), str(d, "unit"), str(d, "signed_by")
	b.good, b.scrap = num(d, "quantity_good"), num(d, "quantity_scrap")
}

type runtime struct {
	env
	batch, seconds string
}

func (r *runtime) set(_ *engine, d *jcs.Value) {
	r.batch, r.seconds = str(d, "batch_id"), num(d, "run_seconds")
}

type alarm struct {
	env
	alarmID, priority, state string
}

func (a *alarm) set(_ *engine, d *jcs.Value) {
	a.alarmID, a.priority, a.state = str(d, "alarm_id"), str(d, "priority"), str(d, "state")
}

type downtime struct {
	env
	downtimeID string
	start, end time.Time
	valid      bool // start and end are timestamps
}

func (t *downtime) set(_ *engine, d *jcs.Value) {
	t.downtimeID = str(d, "downtime_id")
	var ok1, ok2 bool
	t.start, ok1 = timeOf(d, "start")
	t.end, ok2 = timeOf(d, "end")
	t.valid = ok1 && ok2
}

type correction struct {
	env
	corrects, typ string
	data          *jcs.Value // the replacement data; nil when not an object
}
