package counter

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/connector"
)

// A Feed is one counter of a connector: its Counter, its Mapping, the
// records the sink has not taken yet and the counter's health. A record
// stays pending until a Put returns nil, so a sink that fails loses
// nothing. Safe for concurrent use.
type Feed struct {
	mu      sync.Mutex
	counter *Counter
	mapping Mapping
	pending []*waarborg.Record
	health  connector.Health
}

// NewFeed returns a Feed; m must pass Check.
func NewFeed(cfg Config, m Mapping) *Feed {
	return &Feed{counter: New(cfg), mapping: m, health: connector.Health{Source: m.Source}}
}

// Observe takes a reading (see Counter.Observe).
func (f *Feed) Observe(t time.Time, v uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.health.LastMessage = t
	f.health.Messages++
	f.add(f.counter.Observe(t, v), t)
}

// Fail notes a failed read (see Counter.Fail).
func (f *Feed) Fail(t time.Time, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.add(f.counter.Fail(t, err), t)
}

// Flush closes the intervals that ended by now (see Counter.Flush).
func (f *Feed) Flush(now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.add(f.counter.Flush(now), now)
}

// Stop closes the interval in progress (see Counter.Stop).
func (f *Feed) Stop(now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.add(f.counter.Stop(), now)
}

// Shutdown stops each feed and offers what is pending to sink one last
// time, for at most a few seconds: a connector calls it when its context
// ends, so that what it read is not left in memory.
func Shutdown(ctx context.Context, feeds []*Feed, now time.Time, sink connector.Sink) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	var errs []error
	for _, f := range feeds {
		if f == nil {
			continue
		}
		f.Stop(now)
		if err := f.Deliver(ctx, sink); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (f *Feed) add(evs []Event, now time.Time) {
	if len(evs) == 0 {
		return
	}
	recs, err := f.mapping.Records(evs, now)
	if err != nil {
		// Check has passed, so only a bug gets here: keep going, loudly.
		panic("counter: mapping refused its own records: " + err.Error())
	}
	for _, ev := range evs {
		if ev.Kind == Gap {
			f.health.Gaps++
		}
	}
	f.pending = append(f.pending, recs...)
}

// Deliver hands the pending records to sink. On an error they stay
// pending for the next call.
func (f *Feed) Deliver(ctx context.Context, sink connector.Sink) error {
	f.mu.Lock()
	recs := f.pending
	f.mu.Unlock()
	if len(recs) == 0 {
		return nil
	}
	if err := sink.Put(ctx, recs); err != nil {
		return err
	}
	f.mu.Lock()
	f.pending = f.pending[len(recs):]
	f.health.Records += uint64(len(recs))
	f.mu.Unlock()
	return nil
}

// Pending returns how many records wait for the sink.
func (f *Feed) Pending() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.pending)
}

// Health returns the counter's health.
func (f *Feed) Health() connector.Health {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.health
}

// Health merges the health of feeds by source, in the order of first
// appearance.
func Health(feeds []*Feed) []connector.Health {
	var out []connector.Health
	at := map[string]int{}
	for _, f := range feeds {
		h := f.Health()
		i, ok := at[h.Source]
		if !ok {
			at[h.Source] = len(out)
			out = append(out, h)
			continue
		}
		o := &out[i]
		if h.LastMessage.After(o.LastMessage) {
			o.LastMessage = h.LastMessage
		}
		o.Messages += h.Messages
		o.Records += h.Records
		o.Gaps += h.Gaps
	}
	return out
}
