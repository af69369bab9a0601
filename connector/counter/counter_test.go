package counter

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/waarborg/waarborg"
)

var t0 = time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC)

// op is one step: a reading (v ≥ 0), a failed read (fail), a flush or a stop.
type op struct {
	at    time.Duration // after t0
	v     uint64
	fail  bool
	flush bool
	stop  bool
}

func read(at time.Duration, v uint64) op { return op{at: at, v: v} }
func fail(at time.Duration) op           { return op{at: at, fail: true} }
func flush(at time.Duration) op          { return op{at: at, flush: true} }
func stop() op                           { return op{stop: true} }

// show writes events compactly: "count 06:00:00-06:01:00 5", "gap 06:00:10-06:00:20".
func show(evs []Event) []string {
	var out []string
	for _, e := range evs {
		span := e.Start.Format("15:04:05.000") + "-" + e.End.Format("15:04:05.000")
		if e.Kind == Count {
			out = append(out, fmt.Sprintf("count %s %d", span, e.Delta))
		} else {
			out = append(out, "gap "+span)
		}
	}
	return out
}

func TestCounter(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ops  []op
		want []string
	}{
		{"counts per interval", Config{Bits: 32, Interval: time.Minute}, []op{
			read(10*time.Second, 100), read(40*time.Second, 110), read(70*time.Second, 115), read(130*time.Second, 130), flush(180 * time.Second),
		}, []string{
			"count 06:00:10.000-06:01:00.000 10", // the first reading is the base
			"count 06:01:00.000-06:02:00.000 5",
			"count 06:02:00.000-06:03:00.000 15",
		}},
		{"a quiet counter still yields zero counts", Config{Interval: time.Minute}, []op{
			read(0, 7), flush(59 * time.Second), flush(61 * time.Second), flush(185 * time.Second), read(190*time.Second, 9), flush(240 * time.Second),
		}, []string{
			"count 06:00:00.000-06:01:00.000 0",
			"count 06:01:00.000-06:02:00.000 0",
			"count 06:02:00.000-06:03:00.000 0",
			"count 06:03:00.000-06:04:00.000 2",
		}},
		{"16-bit wrap", Config{Bits: 16, Interval: time.Minute}, []op{
			read(0, 65530), read(10*time.Second, 4), flush(60 * time.Second),
		}, []string{"count 06:00:00.000-06:01:00.000 10"}},
		{"32-bit wrap", Config{Bits: 32, Interval: time.Minute}, []op{
			read(0, 1<<32-3), read(10*time.Second, 2), flush(60 * time.Second),
		}, []string{"count 06:00:00.000-06:01:00.000 5"}},
		{"values above the width are masked", Config{Bits: 16, Interval: time.Minute}, []op{
			read(0, 1<<16+5), read(10*time.Second, 1<<16+8), flush(60 * time.Second),
		}, []string{"count 06:00:00.000-06:01:00.000 3"}},
		{"a reset is a gap and counting restarts from zero", Config{Bits: 32, Interval: time.Minute}, []op{
			read(0, 5000), read(10*time.Second, 5010), read(20*time.Second, 3), read(30*time.Second, 7), flush(60 * time.Second),
		}, []string{
			"gap 06:00:10.000-06:00:20.000",
			"count 06:00:00.000-06:01:00.000 17",
		}},
		{"MaxStep tells a 16-bit reset from a wrap", Config{Bits: 16, MaxStep: 1000, Interval: time.Minute}, []op{
			read(0, 40000), read(10*time.Second, 2), read(20*time.Second, 65000), read(30*time.Second, 100), flush(60 * time.Second),
		}, []string{
			// 40000 → 2 needs a wrap of 25538 > 1000: a reset; 2 counted since.
			// 2 → 65000 is an increase; 65000 → 100 a wrap of 636.
			"gap 06:00:00.000-06:00:10.000",
			"count 06:00:00.000-06:01:00.000 65636",
		}},
		{"an outage keeps the counts and is a gap", Config{Bits: 32, Interval: time.Minute}, []op{
			read(0, 10), read(20*time.Second, 20), fail(25 * time.Second), fail(30 * time.Second), flush(120 * time.Second),
			read(150*time.Second, 80), read(170*time.Second, 85), flush(180 * time.Second),
		}, []string{
			"count 06:00:00.000-06:00:20.000 10",
			"gap 06:00:20.000-06:02:30.000",
			"count 06:00:20.000-06:02:30.000 60",
			"count 06:02:30.000-06:03:00.000 5",
		}},
		{"a reset during an outage is one gap", Config{Bits: 32, Interval: time.Minute}, []op{
			read(0, 1000), fail(5 * time.Second), read(50*time.Second, 4), flush(60 * time.Second),
		}, []string{
			"gap 06:00:00.000-06:00:50.000",
			"count 06:00:00.000-06:00:50.000 4",
			"count 06:00:50.000-06:01:00.000 0",
		}},
		{"a stop counts what was read, and the next reading is a new base", Config{Interval: time.Minute}, []op{
			read(10*time.Second, 3), read(70*time.Second, 5), read(80*time.Second, 9), stop(),
			read(200*time.Second, 100), read(210*time.Second, 101), flush(240 * time.Second),
		}, []string{
			"count 06:00:10.000-06:01:00.000 0",
			"count 06:01:00.000-06:01:20.000 6",
			"gap 06:01:20.000-00:00:00.000", // open
			"count 06:03:20.000-06:04:00.000 1",
		}},
		{"failures before the first reading lose nothing known", Config{Interval: time.Minute}, []op{
			fail(0), read(10*time.Second, 3), read(20*time.Second, 4), flush(60 * time.Second),
		}, []string{"count 06:00:10.000-06:01:00.000 1"}},
		{"time going back is taken as the last reading's", Config{Interval: time.Minute}, []op{
			read(30*time.Second, 1), read(20*time.Second, 2), fail(40 * time.Second), read(50*time.Second, 3),
		}, []string{
			"gap 06:00:30.000-06:00:50.000",
			"count 06:00:30.000-06:00:50.000 2",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New(tt.cfg)
			var evs []Event
			for _, o := range tt.ops {
				at := t0.Add(o.at)
				switch {
				case o.fail:
					evs = append(evs, c.Fail(at, errors.New("i/o timeout"))...)
				case o.flush:
					evs = append(evs, c.Flush(at)...)
				case o.stop:
					evs = append(evs, c.Stop()...)
				default:
					evs = append(evs, c.Observe(at, o.v)...)
				}
			}
			if got := show(evs); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestMappingRecords(t *testing.T) {
	m := Mapping{Tenant: "vitafood", Source: "ede/line-1/plc", Line: "line-1", Product: "choco-200g", Unit: "kg", Factor: "0.001", Key: "modbus.press"}
	recs, err := m.Records([]Event{
		{Kind: Count, Start: t0, End: t0.Add(time.Minute), Delta: 1500},
		{Kind: Gap, Start: t0, End: t0.Add(time.Minute), Detail: "reset"},
	}, t0.Add(61*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`{"data":{"end":"2026-03-01T06:01:00.000Z","line":"line-1","product":"choco-200g","quantity":1.5,"start":"2026-03-01T06:00:00.000Z","unit":"kg"},"id":"modbus.press:20260301T060000.000Z-20260301T060100.000Z","source":"ede/line-1/plc","tenant":"vitafood","time":"2026-03-01T06:01:00.000Z","type":"production.count"}`,
		`{"data":{"detail":"reset","since":"2026-03-01T06:00:00.000Z","until":"2026-03-01T06:01:00.000Z"},"id":"modbus.press:gap:20260301T060000.000Z-20260301T060100.000Z","source":"ede/line-1/plc","tenant":"vitafood","time":"2026-03-01T06:01:01.000Z","type":"source.gap"}`,
	}
	for i, r := range recs {
		if string(r.Canonical) != want[i] {
			t.Errorf("record %d:\n%s\nwant\n%s", i, r.Canonical, want[i])
		}
	}
	bad := m
	bad.Factor = "-1"
	if bad.Check() == nil {
		t.Error("a negative factor passed Check")
	}
	bad = m
	bad.Unit = ""
	if bad.Check() == nil {
		t.Error("an empty unit passed Check")
	}
}

// FuzzCounter checks the counter against a simulated PLC: whatever the
// increments (each below MaxStep), wraps and failed reads, the counts add
// up to what was made after the first reading, no gap is raised but for
// an outage, and intervals neither overlap nor leave holes once started.
func FuzzCounter(f *testing.F) {
	f.Add([]byte{1, 200, 3, 0, 255, 9, 128}, uint16(65000))
	f.Fuzz(func(t *testing.T, steps []byte, start uint16) {
		c := New(Config{Bits: 16, MaxStep: 300, Interval: time.Second})
		plc := uint64(start)
		at := t0
		var made uint64
		var evs []Event
		evs = append(evs, c.Observe(at, plc)...)
		outage := false
		for _, s := range steps {
			at = at.Add(time.Duration(s%7) * 150 * time.Millisecond)
			if s%11 == 10 {
				evs = append(evs, c.Fail(at, errors.New("timeout"))...)
				outage = true
				continue
			}
			inc := uint64(s) // < MaxStep
			plc = (plc + inc) & 0xffff
			made += inc
			evs = append(evs, c.Observe(at, plc)...)
		}
		// A last reading ends any outage: until then its counts are held.
		evs = append(evs, c.Observe(at.Add(time.Millisecond), plc)...)
		evs = append(evs, c.Flush(at.Add(10*time.Second))...)
		var counted uint64
		var end time.Time
		for _, e := range evs {
			if e.Kind == Gap {
				if !outage {
					t.Fatalf("a gap without an outage: %s", e.Detail)
				}
				continue
			}
			if !e.Start.Before(e.End) {
				t.Fatalf("empty interval %v-%v", e.Start, e.End)
			}
			if !end.IsZero() && !e.Start.Equal(end) {
				t.Fatalf("interval %v-%v does not follow %v", e.Start, e.End, end)
			}
			end = e.End
			counted += e.Delta
		}
		if counted != made {
			t.Fatalf("counted %d, made %d", counted, made)
		}
	})
}

// refusing is a sink that fails until it is told not to.
type refusing struct {
	fail bool
	got  []*waarborg.Record
}

func (r *refusing) Put(_ context.Context, recs []*waarborg.Record) error {
	if r.fail {
		return errors.New("ledger unavailable")
	}
	r.got = append(r.got, recs...)
	return nil
}

func TestFeedKeepsWhatTheSinkRefuses(t *testing.T) {
	m := Mapping{Tenant: "t", Source: "s/plc", Line: "l", Product: "p", Unit: "pcs", Key: "k"}
	f := NewFeed(Config{Bits: 32, Interval: time.Minute}, m)
	f.Observe(t0, 10)
	f.Observe(t0.Add(30*time.Second), 15)
	f.Flush(t0.Add(time.Minute))
	sink := &refusing{fail: true}
	if err := f.Deliver(context.Background(), sink); err == nil || f.Pending() != 1 {
		t.Fatalf("a refused record: %v, %d pending", err, f.Pending())
	}
	f.Observe(t0.Add(70*time.Second), 18)
	sink.fail = false
	// Stopping counts the interval in progress up to the last reading.
	if err := Shutdown(context.Background(), []*Feed{f}, t0.Add(75*time.Second), sink); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range sink.got {
		q := ""
		if v, ok := r.Data.Get("quantity"); ok {
			q = v.Str
		}
		got = append(got, r.Str("start")+" "+r.Str("end")+" "+q)
	}
	want := []string{"2026-03-01T06:00:00.000Z 2026-03-01T06:01:00.000Z 5", "2026-03-01T06:01:00.000Z 2026-03-01T06:01:10.000Z 3",
		"  "} // the open gap: no start, end or quantity
	if last := sink.got[len(sink.got)-1]; last.Type != "source.gap" || last.Str("since") != "2026-03-01T06:01:10.000Z" || last.Str("until") != "" {
		t.Errorf("the last record is not an open gap at the last reading: %s", last.Canonical)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("delivered\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if h := f.Health(); h.Records != 3 || h.Gaps != 1 || h.Messages != 3 || h.Source != "s/plc" {
		t.Errorf("health %+v", h)
	}
}
