// Package sim is a seeded generator of realistic plant evidence in the
// record format v1: SCADA counts, MES batches, serials, machine hours,
// historian samples, alarms, downtime, incidents, changes, access, ERP
// postings, connector gaps, reviews and corrections, with a chosen share of
// planted control exceptions. `waarborg demo` and the benchmarks use it.
// It imports only the standard library and may be imported by anyone.
package sim

import (
	"errors"
	"fmt"
	"time"
)

// Config describes the plant and the history to generate.
type Config struct {
	Tenant       string   // e.g. "acme-foods"
	Sites        []string // e.g. {"ede", "venlo", "gent"}; names of a-z, 0-9 and -
	LinesPerSite int      // each site has lines "line-1" … "line-N"
	From, To     time.Time
	Seed         int64
	// ProblemRate is the share of opportunities that carry a planted control
	// exception (an unsigned batch, a late posting, a drift, …). Any rate
	// above 0 also plants each kind within its first few opportunities, so
	// that a short history shows them all; 0 plants none, and the controls
	// then find no exception over [From, To).
	ProblemRate float64
}

// Year3Sites returns the config of a year (2026) of a plant of three sites
// with two lines each, about 3 million records, with ProblemRate 0.01: the
// benchmark data.
func Year3Sites(tenant string, seed int64) Config {
	return Config{
		Tenant:       tenant,
		Sites:        []string{"ede", "venlo", "gent"},
		LinesPerSite: 2,
		From:         time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		To:           time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
		Seed:         seed,
		ProblemRate:  0.01,
	}
}

func (c Config) validate() error {
	if !validName(c.Tenant, 64) {
		return fmt.Errorf("sim: tenant %q: want 1-64 of a-z, 0-9 and -", c.Tenant)
	}
	if len(c.Sites) == 0 {
		return errors.New("sim: no sites")
	}
	seen := map[string]bool{}
	for _, s := range c.Sites {
		if !validName(s, 32) || s == "corp" {
			return fmt.Errorf("sim: site %q: want 1-32 of a-z, 0-9 and -, not corp", s)
		}
		if seen[s] {
			return fmt.Errorf("sim: site %q twice", s)
		}
		seen[s] = true
	}
	if c.LinesPerSite < 1 || c.LinesPerSite > 99 {
		return fmt.Errorf("sim: lines per site %d: want 1-99", c.LinesPerSite)
	}
	if !c.From.Before(c.To) {
		return errors.New("sim: From must be before To")
	}
	if c.From.Year() < 1000 || c.To.Year() > 9998 {
		return errors.New("sim: From and To must lie in years 1000-9998")
	}
	if !(c.ProblemRate >= 0 && c.ProblemRate <= 1) {
		return fmt.Errorf("sim: problem rate %v: want 0-1", c.ProblemRate)
	}
	return nil
}

func validName(s string, max int) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func millis(t time.Time) int64 { return t.UnixMilli() }

// Generate writes the history [From, To) as JSON Lines, one record per call
// of emit, without a trailing newline; line is only valid during the call.
// Records come in the order a feed delivers them: by time, except a small
// share that arrives late. The output is the same for the same Config, and
// ids are unique within the tenant, also with what a Live of the same Config
// produces later. It stops at the first error of emit and returns it.
func Generate(cfg Config, emit func(line []byte) error) error {
	e, err := newEngine(cfg)
	if err != nil {
		return err
	}
	out := func(it *item) error { return emit(it.b) }
	for cur := e.from; cur < e.to; {
		next := min(e.to, (floorDiv(cur, hour)+1)*hour)
		e.advance(next)
		if err := e.drain(next, out); err != nil {
			return err
		}
		cur = next
	}
	// What is still queued is the future, and the late part of the history.
	return e.drain(maxTime, func(it *item) error {
		if it.t < e.to {
			return emit(it.b)
		}
		return nil
	})
}

const maxTime = int64(1<<63 - 1)

// Live continues the plant of a Config after its history, for a demo that
// ingests records as they happen. It is not safe for concurrent use.
type Live struct {
	e     *engine
	err   error
	start int64
	cur   int64
}

// NewLive returns the plant of cfg continued from cfg.To: the same plant,
// people and open batches that Generate(cfg) left, with ids that continue
// its own. Records before start are never emitted (the feed was down);
// start before cfg.To means cfg.To. NewLive simulates the history first,
// which takes about as long as generating it.
func NewLive(cfg Config, start time.Time) *Live {
	e, err := newEngine(cfg)
	if err != nil {
		return &Live{err: err}
	}
	l := &Live{e: e, start: max(e.to, millis(start)), cur: e.from}
	l.err = l.run(l.start, nil)
	return l
}

// Next emits every record delivered in (last, until] with a time at or after
// the start, where last is the until of the previous call. A record can be
// delivered late, after records later than itself. After an error of emit
// the Live is unusable and returns that error.
func (l *Live) Next(until time.Time, emit func(line []byte) error) error {
	if l.err != nil {
		return l.err
	}
	l.err = l.run(millis(until)+1, emit)
	return l.err
}

func (l *Live) run(lim int64, emit func([]byte) error) error {
	for l.cur < lim {
		next := min(lim, (floorDiv(l.cur, hour)+1)*hour)
		l.e.advance(next)
		err := l.e.drain(next, func(it *item) error {
			if emit == nil || it.t < l.start {
				return nil
			}
			return emit(it.b)
		})
		if err != nil {
			return err
		}
		l.cur = next
	}
	return nil
}
