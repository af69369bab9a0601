package waarborg

import (
	"bufio"
	"errors"
	"os"
	"testing"
	"time"
)

func TestConformanceRecordsParse(t *testing.T) {
	f, err := os.Open("../shared/conformance/basic/records.jsonl")
	if err != nil {
		t.Skip("conformance data not beside the checkout:", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		if _, err := ParseRecord(sc.Bytes()); err != nil {
			t.Errorf("line %d: %v", n, err)
		}
	}
	if n != 33974 {
		t.Errorf("read %d lines, want 33974", n)
	}
}

func TestParseRecordRules(t *testing.T) {
	const pc = `"source":"ede/line-1/scada","type":"production.count","time":"2026-03-01T06:00:00Z"`
	tests := []struct {
		name, in    string
		field, rule string
	}{
		{"not json", `{"id":`, "", RuleJSON},
		{"array", `[]`, "", RuleJSON},
		{"missing id", `{"tenant":"t",` + pc + `,"data":{}}`, "id", RuleRequired},
		{"bad id", `{"id":"a b","tenant":"t",` + pc + `,"data":{}}`, "id", RuleFormat},
		{"long id", `{"id":"` + string(make129()) + `","tenant":"t",` + pc + `,"data":{}}`, "id", RuleFormat},
		{"bad tenant", `{"id":"a","tenant":"T",` + pc + `,"data":{}}`, "tenant", RuleFormat},
		{"unknown envelope", `{"id":"a","tenant":"t",` + pc + `,"data":{},"x":1}`, "x", RuleUnknown},
		{"unknown type", `{"id":"a","tenant":"t","source":"s","type":"nope","time":"2026-03-01T06:00:00Z","data":{}}`, "type", RuleEnum},
		{"no offset", `{"id":"a","tenant":"t","source":"s","type":"change.approve","time":"2026-03-01T06:00:00","data":{"change_id":"c"}}`, "time", RuleFormat},
		{"bad date", `{"id":"a","tenant":"t","source":"s","type":"change.approve","time":"2026-02-30T06:00:00Z","data":{"change_id":"c"}}`, "time", RuleFormat},
		{"empty segment", `{"id":"a","tenant":"t","source":"ede//scada","type":"change.approve","time":"2026-03-01T06:00:00Z","data":{"change_id":"c"}}`, "source", RuleFormat},
		{"missing field", `{"id":"a","tenant":"t",` + pc + `,"data":{"line":"l","product":"p","quantity":1,"unit":"kg","start":"2026-03-01T05:00:00Z"}}`, "data.end", RuleRequired},
		{"negative quantity", `{"id":"a","tenant":"t",` + pc + `,"data":{"line":"l","product":"p","quantity":-1,"unit":"kg","start":"2026-03-01T05:00:00Z","end":"2026-03-01T06:00:00Z"}}`, "data.quantity", RuleRange},
		{"quantity string", `{"id":"a","tenant":"t",` + pc + `,"data":{"line":"l","product":"p","quantity":"1","unit":"kg","start":"2026-03-01T05:00:00Z","end":"2026-03-01T06:00:00Z"}}`, "data.quantity", RuleType},
		{"start after end", `{"id":"a","tenant":"t",` + pc + `,"data":{"line":"l","product":"p","quantity":1,"unit":"kg","start":"2026-03-01T06:00:00Z","end":"2026-03-01T06:00:00Z"}}`, "data.start", RuleOrder},
		{"time not end", `{"id":"a","tenant":"t",` + pc + `,"data":{"line":"l","product":"p","quantity":1,"unit":"kg","start":"2026-03-01T05:00:00Z","end":"2026-03-01T05:30:00Z"}}`, "time", RuleOrder},
		{"bad enum", `{"id":"a","tenant":"t","source":"s","type":"alarm","time":"2026-03-01T06:00:00Z","data":{"alarm_id":"a","tag":"t","priority":"urgent","state":"active"}}`, "data.priority", RuleEnum},
		{"level zero", `{"id":"a","tenant":"t","source":"s","type":"incident.escalate","time":"2026-03-01T06:00:00Z","data":{"incident_id":"i","level":0,"to":"x"}}`, "data.level", RuleRange},
		{"level fraction", `{"id":"a","tenant":"t","source":"s","type":"incident.escalate","time":"2026-03-01T06:00:00Z","data":{"incident_id":"i","level":1.5,"to":"x"}}`, "data.level", RuleType},
		{"run too long", `{"id":"a","tenant":"t","source":"s","type":"machine.runtime","time":"2026-03-01T06:00:00Z","data":{"line":"l","start":"2026-03-01T05:00:00Z","end":"2026-03-01T06:00:00Z","run_seconds":3600.001}}`, "data.run_seconds", RuleRange},
		{"correction data", `{"id":"a","tenant":"t","source":"s","type":"correction","time":"2026-03-01T06:00:00Z","data":{"corrects":"b","type":"batch.end","reason":"r","data":{"batch_id":"b"}}}`, "data.data.line", RuleRequired},
		{"correction type", `{"id":"a","tenant":"t","source":"s","type":"correction","time":"2026-03-01T06:00:00Z","data":{"corrects":"b","type":"nope","reason":"r","data":{}}}`, "data.type", RuleEnum},
		{"gap until after time", `{"id":"a","tenant":"t","source":"s","type":"source.gap","time":"2026-03-01T06:00:00Z","data":{"detail":"d","since":"2026-03-01T05:00:00Z","until":"2026-03-01T06:00:01Z"}}`, "time", RuleOrder},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRecord([]byte(tt.in))
			re, ok := errors.AsType[*RecordError](err)
			if !ok {
				t.Fatalf("ParseRecord error = %v, want a *RecordError", err)
			}
			if re.Field != tt.field || re.Rule != tt.rule {
				t.Errorf("got field %q rule %q (%v), want field %q rule %q", re.Field, re.Rule, re, tt.field, tt.rule)
			}
		})
	}
}

func make129() []byte {
	b := make([]byte, 129)
	for i := range b {
		b[i] = 'a'
	}
	return b
}

func TestParseRecordKeepsExtraDataAndCanonicalises(t *testing.T) {
	in := `{ "type":"historian.sample","id":"h1","tenant":"t","source":"ede/historian","time":"2026-03-01T07:00:00.120+01:00","data":{"value":11.50,"tag":"x","extra":{"b":1,"a":2}}}`
	r, err := ParseRecord([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"data":{"extra":{"a":2,"b":1},"tag":"x","value":11.5},"id":"h1","source":"ede/historian","tenant":"t","time":"2026-03-01T07:00:00.120+01:00","type":"historian.sample"}`
	if string(r.Canonical) != want {
		t.Errorf("canonical\n got %s\nwant %s", r.Canonical, want)
	}
	if !r.Time.Equal(time.Date(2026, 3, 1, 6, 0, 0, 120e6, time.UTC)) {
		t.Errorf("time = %v", r.Time)
	}
}

func TestParsePeriod(t *testing.T) {
	tests := []struct {
		in         string
		start, end string
	}{
		{"2026-Q1", "2026-01-01", "2026-04-01"},
		{"2026-Q4", "2026-10-01", "2027-01-01"},
		{"2026-W01", "2025-12-29", "2026-01-05"},
		{"2026-W53", "2026-12-28", "2027-01-04"},
		{"2027-W02", "2027-01-11", "2027-01-18"},
	}
	for _, tt := range tests {
		s, e, ok := ParsePeriod(tt.in)
		if !ok || s.Format(time.DateOnly) != tt.start || e.Format(time.DateOnly) != tt.end {
			t.Errorf("ParsePeriod(%s) = %v %v %v, want %s %s", tt.in, s, e, ok, tt.start, tt.end)
		}
		if tt.in[5] == 'W' && WeekLabel(s) != tt.in {
			t.Errorf("WeekLabel(%v) = %s", s, WeekLabel(s))
		}
	}
	for _, bad := range []string{"2026-Q0", "2026-W00", "2027-W53", "2026-W5", "2026-Q-1", "26-Q1"} {
		if _, _, ok := ParsePeriod(bad); ok {
			t.Errorf("ParsePeriod(%s) ok", bad)
		}
	}
}

func TestParseTime(t *testing.T) {
	want := time.Date(2026, 3, 1, 5, 0, 0, 123e6, time.UTC)
	for _, s := range []string{"2026-03-01T06:00:00.123+01:00", "2026-03-01t05:00:00.123z", "2026-03-01T05:00:00.123000Z", "2026-02-28T23:00:00.123-06:00"} {
		if got, ok := ParseTime(s); !ok || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", s, got, ok, want)
		}
	}
	for _, s := range []string{"2026-03-01T05:00:00", "2026-03-01 05:00:00Z", "2026-02-29T05:00:00Z", "2026-03-01T05:00:60Z", "2026-03-01T24:00:00Z", "2026-03-01T05:00:00.Z", "2026-03-01T05:00:00+0100"} {
		if _, ok := ParseTime(s); ok {
			t.Errorf("ParseTime(%q) accepted", s)
		}
	}
}
