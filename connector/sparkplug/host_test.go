package sparkplug

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/waarborg/waarborg"
)

const testMapping = `{
  "tenant": "acme-foods",
  "nodes": [{
    "group": "ede", "node": "ede-l1", "source": "ede/line-1/scada",
    "metrics": [
      {"metric": "Line1/GoodCount", "record": "production.count", "line": "line-1", "product": "choco-200g", "unit": "pcs", "interval": "1m"},
      {"metric": "Line1/Alarm/Overtemp", "record": "alarm", "tag": "line-1/oven/temp", "priority": "high", "message": "oven over temperature"},
      {"device": "plc1", "metric": "Oven/Temp", "record": "historian.sample", "tag": "line-1/oven/temp", "source": "ede/line-1/historian"}
    ]
  }]
}`

// base is 2026-03-01T06:00:00Z.
var base = time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC)

func ms(d time.Duration) uint64 { return uint64(base.Add(d).UnixMilli()) }

type sim struct {
	t    *testing.T
	h    *Host
	recs []*waarborg.Record
	seq  uint64
}

func newSim(t *testing.T) *sim {
	m, err := ParseMapping([]byte(testMapping))
	if err != nil {
		t.Fatal(err)
	}
	return &sim{t: t, h: NewHost(m)}
}

func (s *sim) send(topic string, p *Payload) Result {
	s.t.Helper()
	tp, ok := ParseTopic(topic)
	if !ok {
		s.t.Fatalf("topic %q does not parse", topic)
	}
	res, err := s.h.Handle(tp, AppendPayload(nil, p), base.Add(time.Hour))
	if err != nil {
		s.t.Fatal(err)
	}
	s.recs = append(s.recs, res.Records...)
	return res
}

// msg builds a payload at offset d with the next seq.
func (s *sim) msg(d time.Duration, metrics ...Metric) *Payload {
	p := &Payload{Timestamp: ms(d), HasTimestamp: true, Seq: s.seq % 256, HasSeq: true, Metrics: metrics}
	s.seq++
	return p
}

func named(name string, typ uint32, v any) Metric {
	m := alias(0, typ, v)
	m.Name, m.HasName, m.HasAlias = name, true, false
	return m
}

func alias(a uint64, typ uint32, v any) Metric {
	m := Metric{Alias: a, HasAlias: true, Datatype: typ}
	switch v := v.(type) {
	case int:
		if typ == TypeUInt64 || typ == TypeInt64 {
			m.Value, m.Long = ValueLong, uint64(v)
		} else {
			m.Value, m.Int = ValueInt, uint32(v)
		}
	case float64:
		m.Value, m.Double = ValueDouble, v
	case bool:
		m.Value, m.Bool = ValueBool, v
	}
	return m
}

func (s *sim) byType(typ string) []*waarborg.Record {
	var out []*waarborg.Record
	for _, r := range s.recs {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	return out
}

func quantity(r *waarborg.Record) string {
	v, _ := r.Data.Get("quantity")
	return v.Str
}

func TestHost(t *testing.T) {
	s := newSim(t)
	const (
		nbirth = "spBv1.0/ede/NBIRTH/ede-l1"
		ndata  = "spBv1.0/ede/NDATA/ede-l1"
		dbirth = "spBv1.0/ede/DBIRTH/ede-l1/plc1"
		ddata  = "spBv1.0/ede/DDATA/ede-l1/plc1"
	)
	birth := func(d time.Duration, bdSeq, count int) {
		s.seq = 0
		good := named("Line1/GoodCount", TypeUInt32, count)
		good.Alias, good.HasAlias = 1, true
		al := named("Line1/Alarm/Overtemp", TypeBoolean, false)
		al.Alias, al.HasAlias = 2, true
		s.send(nbirth, s.msg(d, good, al, named("bdSeq", TypeUInt64, bdSeq)))
		temp := named("Oven/Temp", TypeDouble, 180.5)
		temp.Alias, temp.HasAlias = 1, true // the same alias as a node metric: aliases are per device
		s.send(dbirth, s.msg(d, temp))
	}
	birth(0, 0, 1000)
	s.send(ndata, s.msg(20*time.Second, alias(1, TypeUInt32, 1010)))
	s.send(ndata, s.msg(40*time.Second, alias(1, TypeUInt32, 1025)))
	s.send(ddata, s.msg(45*time.Second, alias(1, TypeDouble, 181.0)))
	s.send(ndata, s.msg(70*time.Second, alias(1, TypeUInt32, 1040))) // closes [06:00, 06:01)
	s.seq++                                                          // a message lost
	s.send(ndata, s.msg(80*time.Second, alias(1, TypeUInt32, 1060)))
	dup := s.msg(85*time.Second, alias(2, TypeBoolean, true))
	s.send(ndata, dup)
	if res := s.send(ndata, dup); !res.Duplicate || len(res.Records) != 0 {
		t.Errorf("redelivered message: %+v", res)
	}
	s.send(ndata, s.msg(95*time.Second, alias(2, TypeBoolean, false)))
	s.send(ndata, s.msg(130*time.Second, alias(1, TypeUInt32, 1100))) // closes [06:01, 06:02)
	s.send("spBv1.0/ede/DDEATH/ede-l1/plc1", s.msg(140*time.Second))
	s.send("spBv1.0/ede/NDEATH/ede-l1", &Payload{Timestamp: ms(0), HasTimestamp: true, Metrics: []Metric{named("bdSeq", TypeUInt64, 0)}})
	// A stale death of the same session again changes nothing.
	s.send("spBv1.0/ede/NDEATH/ede-l1", &Payload{Timestamp: ms(0), HasTimestamp: true, Metrics: []Metric{named("bdSeq", TypeUInt64, 0)}})
	birth(200*time.Second, 1, 1150) // the next session: 50 made while offline
	birth(210*time.Second, 3, 1160) // session 2 never seen: a bdSeq mismatch
	// A counter reset, then the end of the intervals by time.
	s.send(ndata, s.msg(250*time.Second, alias(1, TypeUInt32, 5)))
	s.recs = append(s.recs, s.h.Flush(base.Add(2*time.Hour))...)

	counts := s.byType("production.count")
	var got []string
	for _, r := range counts {
		start, _ := r.TimeField("start")
		got = append(got, fmt.Sprintf("%s+%s", start.Format("15:04"), quantity(r)))
	}
	want := []string{"06:00+25", "06:01+35", "06:02+40", "06:03+60", "06:04+5"}
	if !slices.Equal(got, want) {
		t.Errorf("counts = %v, want %v", got, want)
	}
	alarms := s.byType("alarm")
	if len(alarms) != 2 || alarms[0].Str("state") != "active" || alarms[1].Str("state") != "cleared" ||
		alarms[0].Str("alarm_id") != alarms[1].Str("alarm_id") || alarms[0].Str("alarm_id") != "Line1/Alarm/Overtemp@2026-03-01T06:01:25.000Z" {
		t.Errorf("alarms = %v", canon(alarms))
	}
	samples := s.byType("historian.sample")
	if len(samples) != 4 || samples[0].Source != "ede/line-1/historian" || samples[1].Str("tag") != "line-1/oven/temp" {
		t.Errorf("samples = %v", canon(samples))
	}
	var kinds []string
	for _, g := range s.byType("source.gap") {
		d := g.Str("detail")
		kind, _, _ := strings.Cut(d, ":")
		if e, ok := g.Data.Get("expected_seq"); ok {
			r, _ := g.Data.Get("received_seq")
			kind += fmt.Sprintf(" %s→%s", e.Str, r.Str)
		}
		kinds = append(kinds, kind)
	}
	wantGaps := []string{
		"sparkplug seq jump on edge node ede/ede-l1 6→7",
		"sparkplug device death certificate (DDEATH) of ede/ede-l1/plc1",
		"sparkplug death certificate (NDEATH) of edge node ede/ede-l1 (bdSeq 0)",
		"sparkplug bdSeq mismatch 1→3",
		"counter Line1/GoodCount of ede/ede-l1 went back from 1160 to 5",
	}
	if !slices.Equal(kinds, wantGaps) {
		t.Errorf("gaps:\n%s\nwant\n%s", strings.Join(kinds, "\n"), strings.Join(wantGaps, "\n"))
	}
	// Every record of the scenario is new: ids are unique.
	ids := map[string]bool{}
	for _, r := range s.recs {
		if ids[r.ID] {
			t.Errorf("id %s twice", r.ID)
		}
		ids[r.ID] = true
	}
	h := s.h.Health()
	if len(h) != 1 || h[0].Gaps != 5 || h[0].Messages != 19 {
		t.Fatalf("health = %+v", h)
	}
}

// The same messages give the same records, ids and all: a redelivery
// after a restart is a duplicate in the ledger, not new evidence.
func TestHostDeterministic(t *testing.T) {
	run := func() []string {
		s := newSim(t)
		s.send("spBv1.0/ede/NBIRTH/ede-l1", s.msg(0, named("Line1/GoodCount", TypeUInt32, 1), named("bdSeq", TypeUInt64, 4)))
		s.send("spBv1.0/ede/NDATA/ede-l1", s.msg(time.Second, named("Line1/GoodCount", TypeUInt32, 3)))
		s.seq += 3
		s.send("spBv1.0/ede/NDATA/ede-l1", s.msg(2*time.Minute, named("Line1/GoodCount", TypeUInt32, 9)))
		var out []string
		for _, r := range s.recs {
			out = append(out, string(r.Canonical))
		}
		return out
	}
	a, b := run(), run()
	if len(a) != 2 || !slices.Equal(a, b) {
		t.Fatalf("runs differ or too few records:\n%v\n%v", a, b)
	}
}

func TestCounterRollover(t *testing.T) {
	s := newSim(t)
	s.send("spBv1.0/ede/NBIRTH/ede-l1", s.msg(0, named("Line1/GoodCount", TypeUInt16, 65530), named("bdSeq", TypeUInt64, 0)))
	s.send("spBv1.0/ede/NDATA/ede-l1", s.msg(time.Second, named("Line1/GoodCount", TypeUInt16, 4)))
	s.recs = append(s.recs, s.h.Flush(base.Add(2*time.Hour))...)
	if c := s.byType("production.count"); len(c) != 1 || quantity(c[0]) != "10" || len(s.byType("source.gap")) != 0 {
		t.Fatalf("records = %v", canon(s.recs))
	}
}

func TestUnmappedAndUnknownAliases(t *testing.T) {
	s := newSim(t)
	if res := s.send("spBv1.0/other/NDATA/x", s.msg(0, alias(1, TypeUInt32, 1))); !res.Unmapped || len(res.Records) != 0 {
		t.Errorf("unmapped node: %+v", res)
	}
	// Data before any birth: the alias is unknown and a rebirth is due.
	if res := s.send("spBv1.0/ede/NDATA/ede-l1", s.msg(0, alias(1, TypeUInt32, 1))); !res.Rebirth || len(res.Records) != 0 {
		t.Errorf("unknown alias: %+v", res)
	}
	if _, err := s.h.Handle(Topic{Group: "ede", Type: "NDATA", Node: "ede-l1"}, []byte{0x08}, base); err == nil {
		t.Error("a malformed payload is no error")
	}
}

func TestParseTopic(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Topic
		ok   bool
	}{
		{"spBv1.0/g/NBIRTH/n", Topic{"g", "NBIRTH", "n", ""}, true},
		{"spBv1.0/g/DDATA/n/d", Topic{"g", "DDATA", "n", "d"}, true},
		{"spBv1.0/STATE/host", Topic{Type: "STATE", Node: "host"}, true},
		{"spBv1.0/g/DDATA/n", Topic{}, false},
		{"spBv1.0/g/NDATA/n/d", Topic{}, false},
		{"spBv1.0/g/BOGUS/n", Topic{}, false},
		{"spAv1.0/g/NDATA/n", Topic{}, false},
		{"STATE/host", Topic{}, false},
	} {
		got, ok := ParseTopic(tc.in)
		if ok != tc.ok || ok && got != tc.want {
			t.Errorf("ParseTopic(%q) = %+v, %t", tc.in, got, ok)
		}
	}
}

func TestParseMappingErrors(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"bad tenant", `{"tenant": "Acme"}`, "tenant"},
		{"unknown field", `{"tenant": "a", "nodez": []}`, "unknown field"},
		{"count without unit", `{"tenant": "a", "nodes": [{"node": "n", "source": "s/l", "metrics": [{"metric": "m", "record": "production.count", "line": "l", "product": "p"}]}]}`, "needs line, product and unit"},
		{"bad priority", `{"tenant": "a", "nodes": [{"node": "n", "source": "s/l", "metrics": [{"metric": "m", "record": "alarm", "priority": "urgent"}]}]}`, "priority"},
		{"bad source", `{"tenant": "a", "nodes": [{"node": "n", "source": "s//l"}]}`, "source"},
		{"bad record", `{"tenant": "a", "nodes": [{"node": "n", "source": "s", "metrics": [{"metric": "m", "record": "downtime"}]}]}`, "record"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseMapping([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one about %q", err, tc.want)
			}
		})
	}
}

func canon(recs []*waarborg.Record) string {
	var b strings.Builder
	for _, r := range recs {
		b.Write(r.Canonical)
		b.WriteByte('\n')
	}
	return b.String()
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", `q"uote\back`, "tab\tnl\n\x00\x1f", "héllo ✓", "bad \xff utf8", "<&>"} {
		b := appendJSONString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q: %s does not parse: %v", s, b, err)
		}
		want, _ := json.Marshal(s)
		var w string
		json.Unmarshal(want, &w)
		if got != w {
			t.Errorf("%q: got %q, want %q", s, got, w)
		}
	}
}
