// Package monitor evaluates the control catalog continuously while the
// server runs: per tenant it reads the log once, then only the entries
// appended since, and keeps the current exceptions of the monitored period
// with their workflow (docs/records-workflow.md).
//
// It does I/O only through waarborg.Store; web and cmd/waarborg use it.
package monitor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/controls"
)

// Interval is how often Run polls the store for new entries.
const Interval = time.Second

// Config configures a Service.
type Config struct {
	Store   waarborg.Store
	Catalog *controls.Catalog // nil: controls.Default()
	// From starts the monitored period. It ends at the start of tomorrow
	// (UTC) by Now, and moves forward as days pass: manual controls fail
	// for periods that have not ended yet, so the far future would not do.
	From time.Time
	Now  func() time.Time // nil: time.Now
}

// An Exception is one current exception of a control, with its workflow.
type Exception struct {
	Control string `json:"control"`
	controls.Exception
	controls.ExceptionState
}

// A Snapshot is what the last evaluation of a tenant found.
type Snapshot struct {
	Tenant     string      `json:"tenant"`
	From       time.Time   `json:"from"`
	To         time.Time   `json:"to"`
	Entries    uint64      `json:"entries"` // log entries read
	Evaluated  time.Time   `json:"evaluated"`
	Exceptions []Exception `json:"exceptions"` // by control, then subject; never nil
	// Controls is every control's outcome, by id: what the overview of a
	// tenant shows without evaluating anew.
	Controls []ControlSummary `json:"controls"`
}

// A ControlSummary is one control's outcome in a Snapshot: the figures of
// its controls.ControlResult without the exceptions, which the Snapshot
// lists with their workflow.
type ControlSummary struct {
	ID         string `json:"id"`
	Objective  string `json:"objective"`
	Title      string `json:"title"`
	Automated  bool   `json:"automated"`
	Population int    `json:"population"`
	Result     string `json:"result"`
	Exceptions int    `json:"exceptions"`
}

// Service keeps every tenant's current exceptions. Its methods are safe for
// concurrent use.
type Service struct {
	cfg Config

	tick    sync.Mutex // one Tick at a time: it alone writes tenants' state
	tenants map[string]*tenant

	mu        sync.RWMutex
	snapshots map[string]*Snapshot
}

type tenant struct {
	mon  *controls.Monitor
	wf   controls.Workflow
	next uint64 // index of the first entry not read yet
}

// New returns a Service; it reads nothing until Tick or Run.
func New(cfg Config) *Service {
	if cfg.Catalog == nil {
		cfg.Catalog = controls.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.From = cfg.From.UTC()
	return &Service{cfg: cfg, tenants: make(map[string]*tenant), snapshots: make(map[string]*Snapshot)}
}

// DefaultFrom returns the default start of the monitored period: the first
// day of now's UTC calendar year.
func DefaultFrom(now time.Time) time.Time {
	return time.Date(now.UTC().Year(), 1, 1, 0, 0, 0, 0, time.UTC)
}

// Run calls Tick every Interval until ctx ends, and passes each error Tick
// returns to report (which may be nil). It returns ctx's error.
func (s *Service) Run(ctx context.Context, report func(error)) error {
	t := time.NewTicker(Interval)
	defer t.Stop()
	for {
		if err := s.Tick(ctx); err != nil && report != nil && ctx.Err() == nil {
			report(err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Tick reads the entries appended to every tenant's log since the last
// Tick (the whole log the first time), and re-evaluates each tenant that
// has new entries or whose period has moved on. A tenant whose entries fail
// to read keeps its last snapshot and is read on from where it stopped.
func (s *Service) Tick(ctx context.Context) error {
	s.tick.Lock()
	defer s.tick.Unlock()
	names, err := s.cfg.Store.Tenants(ctx)
	if err != nil {
		return fmt.Errorf("monitor: list tenants: %w", err)
	}
	now := s.cfg.Now().UTC()
	to := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, time.UTC)
	var errs []error
	for _, name := range names {
		t := s.tenants[name]
		changed := false
		if t == nil {
			end := to
			if end.Before(s.cfg.From) {
				end = s.cfg.From // a period that starts in the future is empty until then
			}
			mon, err := controls.NewMonitor(s.cfg.Catalog, name, s.cfg.From, end)
			if err != nil {
				return fmt.Errorf("monitor: %w", err)
			}
			t = &tenant{mon: mon}
			s.tenants[name] = t
			changed = true
		}
		if _, cur := t.mon.Period(); to.After(cur) {
			t.mon.Extend(to)
			changed = true
		}
		n, err := s.read(ctx, name, t)
		if err != nil {
			errs = append(errs, err)
		}
		if changed || n > 0 {
			s.publish(name, t, now)
		}
	}
	return errors.Join(errs...)
}

// read feeds the tenant's new entries to its monitor and workflow and
// returns how many it read.
func (s *Service) read(ctx context.Context, name string, t *tenant) (int, error) {
	size, err := s.cfg.Store.Size(ctx, name)
	if err != nil {
		return 0, fmt.Errorf("monitor: size of %s: %w", name, err)
	}
	n := 0
	for st, err := range s.cfg.Store.Records(ctx, name, t.next, size) {
		if err != nil {
			return n, fmt.Errorf("monitor: read %s: %w", name, err)
		}
		t.next = st.Index + 1
		n++
		r, err := waarborg.ParseRecord(st.Canonical)
		if err != nil {
			// The ledger accepted it, so the store no longer holds what was
			// accepted: LM-03 of a full assessment says which one.
			return n, fmt.Errorf("monitor: %s entry %d: %w", name, st.Index, err)
		}
		t.mon.Add(r)
		t.wf.Apply(r)
	}
	return n, nil
}

func (s *Service) publish(name string, t *tenant, now time.Time) {
	res := t.mon.Evaluate()
	snap := &Snapshot{Tenant: name, From: res.From, To: res.To, Entries: t.next, Evaluated: now, Exceptions: []Exception{},
		Controls: make([]ControlSummary, 0, len(res.Controls))}
	for _, c := range res.Controls {
		snap.Controls = append(snap.Controls, ControlSummary{ID: c.ID, Objective: c.Objective, Title: c.Title, Automated: c.Automated,
			Population: c.Population, Result: c.Result, Exceptions: len(c.Exceptions)})
		for _, e := range c.Exceptions {
			snap.Exceptions = append(snap.Exceptions, Exception{Control: c.ID, Exception: e, ExceptionState: t.wf.State(c.ID, e.Subject)})
		}
	}
	s.mu.Lock()
	s.snapshots[name] = snap
	s.mu.Unlock()
}

// Snapshot returns the tenant's current exceptions, or nil when no Tick has
// read the tenant's log yet. The Snapshot must not be changed.
func (s *Service) Snapshot(tenant string) *Snapshot {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.snapshots[tenant]
}

// Pending returns, per tenant and control, how many current exceptions are
// pending (controls.Pending: open or explained). Controls without any are
// absent.
func (s *Service) Pending() map[string]map[string]int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make(map[string]map[string]int, len(s.snapshots))
	for name, snap := range s.snapshots {
		m := make(map[string]int)
		for _, e := range snap.Exceptions {
			if controls.Pending(e.Status) {
				m[e.Control]++
			}
		}
		out[name] = m
	}
	return out
}

// Controls returns the ids of the catalog's controls, sorted.
func (s *Service) Controls() []string {
	ids := make([]string, 0, len(s.cfg.Catalog.Controls))
	for _, c := range s.cfg.Catalog.Controls {
		ids = append(ids, c.ID)
	}
	slices.Sort(ids)
	return ids
}
