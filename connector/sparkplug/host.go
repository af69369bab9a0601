package sparkplug

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/connector"
)

// Namespace is the first topic level of Sparkplug B.
const Namespace = "spBv1.0"

// A Topic is a parsed Sparkplug topic: spBv1.0/GROUP/TYPE/NODE[/DEVICE], or
// spBv1.0/STATE/HOST (Type "STATE", Node the host application id).
type Topic struct {
	Group, Type, Node, Device string
}

// ParseTopic parses a Sparkplug B topic; ok is false for other topics.
func ParseTopic(s string) (t Topic, ok bool) {
	parts := strings.Split(s, "/")
	if len(parts) < 3 || parts[0] != Namespace {
		return t, false
	}
	if parts[1] == "STATE" {
		if len(parts) != 3 || parts[2] == "" {
			return t, false
		}
		return Topic{Type: "STATE", Node: parts[2]}, true
	}
	if len(parts) < 4 || len(parts) > 5 || parts[1] == "" || parts[3] == "" {
		return t, false
	}
	t = Topic{Group: parts[1], Type: parts[2], Node: parts[3]}
	switch t.Type {
	case "NBIRTH", "NDEATH", "NDATA", "NCMD":
		if len(parts) != 4 {
			return t, false
		}
	case "DBIRTH", "DDEATH", "DDATA", "DCMD":
		if len(parts) != 5 || parts[4] == "" {
			return t, false
		}
		t.Device = parts[4]
	default:
		return t, false
	}
	return t, true
}

// A Host is the state of a Sparkplug host application: which edge nodes and
// devices are online, their aliases, bdSeq and seq numbers, counters and
// alarm states. It turns messages into records and does no I/O. It is safe
// for concurrent use, though messages must be handled in the order the
// broker delivered them.
type Host struct {
	mapping *Mapping
	// Grace is how long after an interval's end a counter waits for
	// late messages before Flush writes the interval (default 5s).
	Grace time.Duration

	mu       sync.Mutex
	nodes    map[nodeKey]*nodeState
	counters map[metricKey]*counter
	alarms   map[metricKey]*alarmState
	health   map[string]*connector.Health // by source
}

type nodeKey struct{ group, node string }

type metricKey struct {
	group, node, device, metric string
}

type nodeState struct {
	mapping  *NodeMapping
	online   bool // an NBIRTH was seen and no NDEATH since
	bdSeq    uint64
	hasBdSeq bool
	seq      uint64
	hasSeq   bool
	lastTS   uint64    // the payload timestamp of the last message
	lastSeen time.Time // when the last message was sent (or received)
	aliases  map[aliasKey]string
	devices  map[string]bool // online devices
}

type aliasKey struct {
	device string
	alias  uint64
}

// NewHost returns a host application state for a checked mapping.
func NewHost(m *Mapping) *Host {
	return &Host{
		mapping:  m,
		Grace:    5 * time.Second,
		nodes:    map[nodeKey]*nodeState{},
		counters: map[metricKey]*counter{},
		alarms:   map[metricKey]*alarmState{},
		health:   map[string]*connector.Health{},
	}
}

// A Result is what one message gave.
type Result struct {
	Records []*waarborg.Record
	// Rebirth is set when the host does not know the node's aliases or
	// lost track of its session: a host may ask the node to rebirth (an
	// NCMD with "Node Control/Rebirth").
	Rebirth bool
	// Unmapped is set for a message of a node the mapping does not name.
	Unmapped bool
	// Duplicate is set for a redelivered message (same seq and
	// timestamp as the last one), which gives no records.
	Duplicate bool
}

// Handle turns one message into records. received is when it arrived: the
// time of records whose payload carries no timestamp. A payload that does
// not decode is an error and changes nothing.
func (h *Host) Handle(topic Topic, payload []byte, received time.Time) (Result, error) {
	if topic.Type == "STATE" || topic.Type == "NCMD" || topic.Type == "DCMD" {
		return Result{}, nil
	}
	p, err := DecodePayload(payload)
	if err != nil {
		return Result{}, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	key := nodeKey{topic.Group, topic.Node}
	nm := h.mapping.node(topic.Group, topic.Node)
	st := h.nodes[key]
	if st == nil {
		st = &nodeState{mapping: nm, aliases: map[aliasKey]string{}, devices: map[string]bool{}}
		h.nodes[key] = st
	}
	var hs *connector.Health
	if nm != nil {
		hs = h.healthOf(nm.Source)
		hs.Messages++
		hs.LastMessage = received
	}
	at := received
	if t, ok := msTime(p.Timestamp); ok && p.HasTimestamp {
		at = t
	}
	e := emitter{h: h, topic: topic, node: st, at: at, received: received}

	switch topic.Type {
	case "NBIRTH":
		e.nbirth(p)
	case "NDEATH":
		e.ndeath(p)
	default: // DBIRTH, NDATA, DDATA, DDEATH
		if st.hasSeq && p.HasSeq && p.Seq == st.seq && p.Timestamp == st.lastTS {
			return Result{Duplicate: true, Unmapped: nm == nil}, nil
		}
		e.checkSeq(p)
		switch topic.Type {
		case "DBIRTH":
			for k := range st.aliases {
				if k.device == topic.Device {
					delete(st.aliases, k)
				}
			}
			st.devices[topic.Device] = true
			e.metrics(p, true)
		case "DDEATH":
			delete(st.devices, topic.Device)
			e.gap(fmt.Sprintf("sparkplug device death certificate (DDEATH) of %s/%s/%s: its data are missing until the next DBIRTH",
				topic.Group, topic.Node, topic.Device), st.lastSeen, time.Time{}, -1, -1)
		default:
			if !st.online {
				e.rebirth = true // data of a session whose birth we did not see
			}
			e.metrics(p, false)
		}
	}
	if topic.Type != "NDEATH" {
		if p.HasSeq {
			st.seq, st.hasSeq = p.Seq, true
		}
		st.lastTS = p.Timestamp
		st.lastSeen = at
	}
	if nm == nil {
		return Result{Unmapped: true, Rebirth: e.rebirth}, nil
	}
	hs.Records += uint64(len(e.out))
	return Result{Records: e.out, Rebirth: e.rebirth}, nil
}

// Flush writes the counter intervals that ended at least Grace before now
// and had no reading for Grace: Sparkplug reports by exception, so a
// counter that stops changing sends nothing that would close its interval.
// The second condition keeps a replay of old data (store and forward)
// from being cut into one record per message.
func (h *Host) Flush(now time.Time) []*waarborg.Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	var due []*counter
	for _, c := range h.counters {
		if c.open && !c.endTime().Add(h.Grace).After(now) && !c.touched.Add(h.Grace).After(now) {
			due = append(due, c)
		}
	}
	// In a fixed order, so that the same messages append the same log.
	slices.SortFunc(due, func(a, b *counter) int {
		return cmp.Or(a.start.Compare(b.start), cmp.Compare(a.key.group, b.key.group), cmp.Compare(a.key.node, b.key.node),
			cmp.Compare(a.key.device, b.key.device), cmp.Compare(a.key.metric, b.key.metric))
	})
	var out []*waarborg.Record
	for _, c := range due {
		if r := c.close(h.mapping.Tenant); r != nil {
			out = append(out, r)
			h.healthOf(c.source).Records++
		}
	}
	return out
}

// Health reports per source what the host has seen.
func (h *Host) Health() []connector.Health {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]connector.Health, 0, len(h.health))
	for _, hs := range h.health {
		out = append(out, *hs)
	}
	return out
}

// Online reports the edge nodes that are online, as group/node.
func (h *Host) Online() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for k, st := range h.nodes {
		if st.online {
			out = append(out, k.group+"/"+k.node)
		}
	}
	return out
}

func (h *Host) healthOf(source string) *connector.Health {
	hs := h.health[source]
	if hs == nil {
		hs = &connector.Health{Source: source}
		h.health[source] = hs
	}
	return hs
}

// emitter turns the metrics of one message into records.
type emitter struct {
	h        *Host
	topic    Topic
	node     *nodeState
	at       time.Time // the payload's time
	received time.Time
	out      []*waarborg.Record
	rebirth  bool
}

// bdSeqOf returns the bdSeq metric of a birth or death certificate.
func bdSeqOf(p *Payload) (uint64, bool) {
	for i := range p.Metrics {
		if m := &p.Metrics[i]; m.Name == "bdSeq" {
			if v, ok := m.Integer(); ok && v >= 0 {
				return uint64(v), true
			}
		}
	}
	return 0, false
}

func (e *emitter) nbirth(p *Payload) {
	st := e.node
	bd, hasBd := bdSeqOf(p)
	where := e.topic.Group + "/" + e.topic.Node
	switch {
	case !hasBd:
		// A birth without bdSeq breaks the specification; its deaths
		// cannot be told apart, so nothing is compared.
	case st.online && st.hasBdSeq && bd != st.bdSeq:
		e.gap(fmt.Sprintf("sparkplug bdSeq mismatch: edge node %s began session %d while session %d was online, without a death certificate: data between them may be missing",
			where, bd, st.bdSeq), st.lastSeen, e.at, int64(st.bdSeq), int64(bd))
	case !st.online && st.hasBdSeq && bd != st.bdSeq && bd != (st.bdSeq+1)%256:
		// The same bdSeq again after its death is tolerated: some
		// clients never advance it, and no session was missed.
		e.gap(fmt.Sprintf("sparkplug bdSeq jump: edge node %s began session %d after session %d: sessions between them were missed",
			where, bd, st.bdSeq), st.lastSeen, e.at, int64((st.bdSeq+1)%256), int64(bd))
	}
	if hasBd {
		st.bdSeq, st.hasBdSeq = bd, true
	}
	st.online = true
	clear(st.aliases)
	clear(st.devices)
	e.metrics(p, true)
}

func (e *emitter) ndeath(p *Payload) {
	st := e.node
	bd, hasBd := bdSeqOf(p)
	if hasBd && st.hasBdSeq && bd != st.bdSeq {
		// The death of an earlier session, delivered late (the broker
		// sends a will only when it notices the old connection gone):
		// the current session is alive (Sparkplug 3.0, 7.1.2).
		return
	}
	if !st.online && st.hasBdSeq {
		return // a second death of a session already dead
	}
	st.online = false
	clear(st.devices)
	since := st.lastSeen
	if since.IsZero() {
		since = e.at
	}
	e.gap(fmt.Sprintf("sparkplug death certificate (NDEATH) of edge node %s/%s (bdSeq %d): its data are missing until the next NBIRTH",
		e.topic.Group, e.topic.Node, bd), since, time.Time{}, -1, -1)
}

// checkSeq compares a message's seq with the one expected after the last
// message of the node's session: every message of a node and its devices
// but NDEATH counts, modulo 256.
func (e *emitter) checkSeq(p *Payload) {
	st := e.node
	if !p.HasSeq || !st.hasSeq {
		return
	}
	want := (st.seq + 1) % 256
	if p.Seq == want {
		return
	}
	lost := (p.Seq + 256 - want) % 256
	where := e.topic.Group + "/" + e.topic.Node
	e.gap(fmt.Sprintf("sparkplug seq jump on edge node %s: expected %d, received %d (%s %s): at least %d message(s) lost",
		where, want, p.Seq, e.topic.Type, e.deviceOrNode(), lost), st.lastSeen, e.at, int64(want), int64(p.Seq))
	e.rebirth = true
}

func (e *emitter) add(r *waarborg.Record) {
	if r != nil {
		e.out = append(e.out, r)
	}
}

func (e *emitter) deviceOrNode() string {
	if e.topic.Device != "" {
		return "device " + e.topic.Device
	}
	return "node"
}

// metrics maps each metric of a birth or data message.
func (e *emitter) metrics(p *Payload, birth bool) {
	st := e.node
	for i := range p.Metrics {
		m := &p.Metrics[i]
		name := m.Name
		if birth && m.HasAlias && m.HasName {
			st.aliases[aliasKey{e.topic.Device, m.Alias}] = m.Name
		}
		if !m.HasName && m.HasAlias {
			n, ok := st.aliases[aliasKey{e.topic.Device, m.Alias}]
			if !ok {
				e.rebirth = true
				continue
			}
			name = n
		}
		if st.mapping == nil || name == "" || name == "bdSeq" {
			continue
		}
		mm := st.mapping.metric(e.topic.Device, name)
		if mm == nil {
			continue
		}
		at := e.at
		if t, ok := msTime(m.Timestamp); ok && m.HasTimestamp {
			at = t
		}
		key := metricKey{e.topic.Group, e.topic.Node, e.topic.Device, name}
		source := mm.Source
		if source == "" {
			source = st.mapping.Source
		}
		switch mm.Record {
		case RecordCount:
			e.count(key, mm, m, source, at)
		case RecordAlarm:
			e.alarm(key, mm, m, source, at)
		case RecordSample:
			e.sample(key, mm, m, source, at)
		}
	}
}

// A counter turns readings of a production counter into per-interval
// quantities: each increase between two readings counts in the interval of
// the later one.
type counter struct {
	mm     *MetricMapping
	key    metricKey
	source string

	last    float64
	hasLast bool

	open        bool // an interval has increases
	start       time.Time
	first, upto float64 // the counter at the interval's first and last reading
	qty         float64
	touched     time.Time // when the interval last took a reading
}

func (c *counter) interval() time.Duration { return time.Duration(c.mm.Interval) }

func (c *counter) endTime() time.Time { return c.start.Add(c.interval()) }

// close returns the open interval as a production.count record.
func (c *counter) close(tenant string) *waarborg.Record {
	c.open = false
	data := map[string]any{
		"line":     c.mm.Line,
		"product":  c.mm.Product,
		"quantity": json.Number(formatNumber(c.qty)),
		"unit":     c.mm.Unit,
		"start":    formatTime(c.start),
		"end":      formatTime(c.endTime()),
	}
	if c.mm.BatchID != "" {
		data["batch_id"] = c.mm.BatchID
	}
	id := recordID("spb.count", tenant, c.source, c.key.group, c.key.node, c.key.device, c.key.metric,
		formatTime(c.start), formatNumber(c.first), formatNumber(c.upto))
	return makeRecord(id, tenant, c.source, RecordCount, c.endTime(), data)
}

func (e *emitter) count(key metricKey, mm *MetricMapping, m *Metric, source string, at time.Time) {
	v, ok := m.Number()
	if !ok {
		return
	}
	c := e.h.counters[key]
	if c == nil {
		c = &counter{mm: mm, key: key, source: source}
		e.h.counters[key] = c
	}
	if !c.hasLast {
		c.last, c.hasLast = v, true
		return
	}
	delta := v - c.last
	if delta < 0 {
		bits := mm.WrapBits
		if bits == 0 {
			bits = m.Bits()
		}
		modulus := math.Ldexp(1, int(bits))
		if bits > 0 && c.last-v > modulus/2 {
			delta = v + modulus - c.last // rolled over
		} else {
			e.gap(fmt.Sprintf("counter %s of %s/%s%s went back from %s to %s: a reset; what was produced between the last reading and the reset is unknown",
				key.metric, key.group, key.node, deviceSuffix(key.device), formatNumber(c.last), formatNumber(v)),
				e.node.lastSeen, at, -1, -1)
			delta = v // counted again from zero
		}
	}
	start := at.Truncate(c.interval())
	if c.open && start.After(c.start) {
		e.add(c.close(e.h.mapping.Tenant))
	}
	if !c.open {
		c.open, c.start, c.first, c.qty = true, start, c.last, 0
	}
	c.qty += delta
	c.upto = v
	c.touched = e.received
	c.last = v
}

func deviceSuffix(d string) string {
	if d == "" {
		return ""
	}
	return "/" + d
}

type alarmState struct {
	state string
	since time.Time // when it became active
}

func (e *emitter) alarm(key metricKey, mm *MetricMapping, m *Metric, source string, at time.Time) {
	var state string
	switch {
	case m.IsNull:
		return
	case m.Value == ValueString:
		switch s := strings.ToLower(m.String); s {
		case "active", "acked", "cleared":
			state = s
		default:
			return
		}
	default:
		v, ok := m.Number()
		if !ok {
			return
		}
		state = "cleared"
		if v != 0 {
			state = "active"
		}
	}
	a := e.h.alarms[key]
	if a == nil {
		a = &alarmState{state: "cleared"}
		e.h.alarms[key] = a
	}
	if a.state == state {
		return // a birth repeating the state, or a redelivery
	}
	if a.state == "cleared" {
		a.since = at // a new occurrence
	}
	a.state = state
	// One alarm_id per occurrence: the configured id and when it began.
	alarmID := mm.AlarmID + "@" + formatTime(a.since)
	data := map[string]any{"alarm_id": alarmID, "tag": mm.Tag, "priority": mm.Priority, "state": state}
	if mm.Message != "" {
		data["message"] = mm.Message
	}
	id := recordID("spb.alarm", e.h.mapping.Tenant, alarmID, state, formatTime(at))
	e.add(makeRecord(id, e.h.mapping.Tenant, source, RecordAlarm, at, data))
}

func (e *emitter) sample(key metricKey, mm *MetricMapping, m *Metric, source string, at time.Time) {
	v, ok := m.Number()
	if !ok {
		return
	}
	val := formatNumber(v)
	id := recordID("spb.sample", e.h.mapping.Tenant, source, key.group, key.node, key.device, key.metric, formatTime(at), val)
	data := append(appendJSONString(append(make([]byte, 0, 64), `{"tag":`...), mm.Tag), `,"value":`...)
	data = append(append(data, val...), '}')
	e.add(makeRecordJSON(id, e.h.mapping.Tenant, source, RecordSample, at, data))
}

// gap adds a source.gap for the node; seq numbers < 0 are left out.
func (e *emitter) gap(detail string, since, until time.Time, expected, received int64) {
	st := e.node
	if st.mapping == nil {
		return
	}
	if since.IsZero() || !until.IsZero() && since.After(until) {
		since = e.at
	}
	if !until.IsZero() && since.After(until) {
		until = since
	}
	data := map[string]any{"detail": detail, "since": formatTime(since)}
	if !until.IsZero() {
		data["until"] = formatTime(until)
	}
	if expected >= 0 {
		data["expected_seq"] = expected
	}
	if received >= 0 {
		data["received_seq"] = received
	}
	at := e.at
	if !until.IsZero() && at.Before(until) {
		at = until
	}
	if at.Before(since) {
		at = since
	}
	id := recordID("spb.gap", e.h.mapping.Tenant, st.mapping.Source, e.topic.Group, e.topic.Type, e.topic.Node, e.topic.Device,
		formatTime(e.at), detail)
	if r := makeRecord(id, e.h.mapping.Tenant, st.mapping.Source, "source.gap", at, data); r != nil {
		e.out = append(e.out, r)
		e.h.healthOf(st.mapping.Source).Gaps++
	}
}

// recordID derives a record id from what identifies the record's content,
// so that a redelivered message gives the same id (an idempotent
// duplicate in the ledger), never a second record.
func recordID(kind string, parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return kind + "." + hex.EncodeToString(h.Sum(nil)[:16])
}

// makeRecord builds and validates a record; nil if it breaks a rule of the
// format, which the checked mapping and clamped times leave no room for.
func makeRecord(id, tenant, source, typ string, at time.Time, data map[string]any) *waarborg.Record {
	d, err := json.Marshal(data)
	if err != nil {
		return nil
	}
	return makeRecordJSON(id, tenant, source, typ, at, d)
}

// makeRecordJSON is makeRecord with data as a JSON object already: the
// path of historian samples, the most frequent records, without reflection.
func makeRecordJSON(id, tenant, source, typ string, at time.Time, data []byte) *waarborg.Record {
	b := make([]byte, 0, 192+len(data))
	b = append(b, `{"id":`...)
	b = appendJSONString(b, id)
	b = append(b, `,"tenant":`...)
	b = appendJSONString(b, tenant)
	b = append(b, `,"source":`...)
	b = appendJSONString(b, source)
	b = append(b, `,"type":`...)
	b = appendJSONString(b, typ)
	b = append(b, `,"time":"`...)
	b = at.UTC().AppendFormat(b, timeLayout)
	b = append(b, `","data":`...)
	b = append(b, data...)
	b = append(b, '}')
	r, err := waarborg.ParseRecord(b)
	if err != nil {
		return nil
	}
	return r
}

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes
// U+FFFD, as encoding/json does.
func appendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r < 0x20:
			b = append(b, '\\', 'u', '0', '0', hexDigits[r>>4], hexDigits[r&0xf])
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	return append(b, '"')
}

// maxMS is the last millisecond of year 9999, beyond which RFC 3339 has
// no timestamps.
const maxMS = 253402300799999

// msTime reads a Sparkplug timestamp (ms since the Unix epoch); ok is false
// for one that RFC 3339 cannot write.
func msTime(ms uint64) (time.Time, bool) {
	if ms > maxMS {
		return time.Time{}, false
	}
	return time.UnixMilli(int64(ms)).UTC(), true
}

const timeLayout = "2006-01-02T15:04:05.000Z07:00"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func formatNumber(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
