// Package counter turns readings of a production counter — a PLC register
// polled over Modbus, an OPC UA node monitored by subscription — into
// production counts per interval, the logic those connectors share.
//
// A Counter takes readings in time order and attributes each reading's
// increase to the interval the reading falls in (intervals are aligned to
// UTC: a 15-minute interval starts at :00, :15, :30, :45). A decrease that a
// wrap of the counter (at 2^16, 2^32 or 2^64) explains is counted as the
// wrap; a larger decrease is a reset, which loses what the counter counted
// between the last reading and the reset: a gap. A time when the counter
// could not be read is a gap too, but no counts are lost across it while
// the counter itself kept counting: the increase over the outage becomes
// one count spanning the outage.
//
// Counter is pure and not safe for concurrent use; Mapping writes its
// events as records. Connectors import it.
package counter

import (
	"fmt"
	"time"
)

// Config describes one counter.
type Config struct {
	// Bits is where the counter wraps: 16, 32 or 64 (0 means 64).
	Bits uint
	// MaxStep is the largest increase between two readings that a wrap may
	// explain; a decrease needing more is a reset. 0 means half the range,
	// the serial-number arithmetic of RFC 1982. Set it near the most a line
	// can produce between two readings to tell resets from wraps best.
	MaxStep uint64
	// Interval is the length of one production count (≥ 1 ms).
	Interval time.Duration
}

// Kind tells a count from a gap.
type Kind uint8

const (
	Count Kind = iota // Delta units were counted in [Start, End)
	Gap               // data between Start and End are lost or late: Detail says which
)

// An Event is a closed interval's count or a gap.
type Event struct {
	Kind       Kind
	Start, End time.Time // a gap's End is zero while it is open (Stop)
	Delta      uint64    // Count: the units counted
	Detail     string    // Gap: what happened, for a person
}

// A Counter follows one counter's readings.
type Counter struct {
	cfg  Config
	mask uint64

	have  bool
	last  uint64    // the last reading
	lastT time.Time // its time
	mark  time.Time // counts before mark are emitted
	sum   uint64    // counted since mark, through lastT
	down  *outage   // reads failed since lastT
}

type outage struct {
	failures int
	first    string // the first failure's error
}

// New returns a Counter that has seen no reading yet.
func New(cfg Config) *Counter {
	if cfg.Bits == 0 || cfg.Bits > 64 {
		cfg.Bits = 64
	}
	mask := ^uint64(0)
	if cfg.Bits < 64 {
		mask = 1<<cfg.Bits - 1
	}
	if cfg.MaxStep == 0 {
		cfg.MaxStep = mask/2 + 1
	}
	cfg.Interval = max(cfg.Interval, time.Millisecond)
	return &Counter{cfg: cfg, mask: mask}
}

// Observe takes a reading v at t. The first reading sets the base: what
// was counted before it is not known. Times are kept to the millisecond,
// as records keep them; a time before the last reading's is taken as that.
func (c *Counter) Observe(t time.Time, v uint64) []Event {
	t = t.Truncate(time.Millisecond)
	v &= c.mask
	if !c.have {
		c.have, c.last, c.lastT, c.mark, c.sum = true, v, t, t, 0
		return nil
	}
	if t.Before(c.lastT) {
		t = c.lastT
	}
	delta, reset := c.step(v)
	var evs []Event
	if c.down != nil {
		detail := fmt.Sprintf("no reading for %s: %s", t.Sub(c.lastT), c.down.first)
		if c.down.failures > 1 {
			detail += fmt.Sprintf(" (%d failed reads)", c.down.failures)
		}
		if reset {
			delta = v
			detail += fmt.Sprintf("; meanwhile the counter went from %d to %d, a reset: what it counted before the reset is lost, %d counted since", c.last, v, v)
		} else {
			detail += fmt.Sprintf("; the counter went on: its increase of %d is counted over the outage", delta)
		}
		evs = append(evs, Event{Kind: Gap, Start: c.lastT, End: t, Detail: detail})
		c.sum += delta
		if t.After(c.lastT) {
			evs = append(evs, Event{Kind: Count, Start: c.lastT, End: t, Delta: c.sum})
			c.mark, c.sum = t, 0
		}
		c.last, c.lastT, c.down = v, t, nil
		return evs
	}
	evs = c.closeUpTo(t)
	if reset {
		evs = append(evs, Event{Kind: Gap, Start: c.lastT, End: t, Detail: fmt.Sprintf(
			"the counter went from %d to %d, more than a wrap at 2^%d explains: a reset; what it counted between the last reading and the reset is lost, %d counted since",
			c.last, v, c.cfg.Bits, v)})
		delta = v
	}
	c.sum += delta
	c.last, c.lastT = v, t
	return evs
}

// step returns the increase from the last reading to v, or reset.
func (c *Counter) step(v uint64) (delta uint64, reset bool) {
	if v >= c.last {
		return v - c.last, false
	}
	wrapped := (v - c.last) & c.mask
	if wrapped <= c.cfg.MaxStep {
		return wrapped, false
	}
	return 0, true
}

// Fail notes that the counter could not be read at t. The interval in
// progress is closed at the last reading; the next reading ends the outage
// with a gap.
func (c *Counter) Fail(t time.Time, err error) []Event {
	if !c.have {
		return nil
	}
	if c.down != nil {
		c.down.failures++
		return nil
	}
	c.down = &outage{failures: 1, first: err.Error()}
	evs := c.closeUpTo(c.lastT)
	if c.lastT.After(c.mark) {
		evs = append(evs, Event{Kind: Count, Start: c.mark, End: c.lastT, Delta: c.sum})
		c.mark, c.sum = c.lastT, 0
	}
	return evs
}

// Stop closes the interval in progress at the last reading, so that what
// was read is counted when a connector stops, and opens a gap there with
// no end: what the counter counts until the next run reads it is not
// attributed. The base is forgotten: the next reading starts anew.
func (c *Counter) Stop() []Event {
	if !c.have {
		return nil
	}
	var evs []Event
	if c.down == nil {
		evs = c.closeUpTo(c.lastT)
	}
	if c.lastT.After(c.mark) {
		evs = append(evs, Event{Kind: Count, Start: c.mark, End: c.lastT, Delta: c.sum})
		c.sum = 0
	}
	detail := "the connector stopped: what the counter counts after its last reading is not attributed"
	if c.down != nil {
		detail += " (it could not be read since: " + c.down.first + ")"
	}
	if c.sum > 0 {
		detail += fmt.Sprintf("; %d counted at the last reading are not attributed either", c.sum)
	}
	evs = append(evs, Event{Kind: Gap, Start: c.lastT, Detail: detail})
	c.have, c.sum, c.down = false, 0, nil
	return evs
}

// Flush closes the intervals that ended by now, counting what the readings
// so far show. Call it periodically, a little after each interval's end, so
// that a quiet counter (an OPC UA subscription reports only changes) still
// yields its counts.
func (c *Counter) Flush(now time.Time) []Event {
	if !c.have || c.down != nil {
		return nil
	}
	return c.closeUpTo(now.Truncate(time.Millisecond))
}

// closeUpTo emits every interval that ends at or before t.
func (c *Counter) closeUpTo(t time.Time) []Event {
	var evs []Event
	for {
		b := c.mark.Truncate(c.cfg.Interval).Add(c.cfg.Interval)
		if b.After(t) {
			return evs
		}
		evs = append(evs, Event{Kind: Count, Start: c.mark, End: b, Delta: c.sum})
		c.mark, c.sum = b, 0
	}
}
