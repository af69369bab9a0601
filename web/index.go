package web

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/waarborg/waarborg"
)

// indexes keep, per tenant, what pages show that no query answers fast:
// each source's volume, last record and gaps, read incrementally from the
// log, and the time of each exception's subject record, looked up once.
// Records never change, so nothing here goes stale; it only grows.
//
// A page asks for what it needs with a time budget: reading runs in the
// background and the page shows what is ready when the budget runs out,
// saying how far the reading got.
type indexes struct {
	mu      sync.Mutex
	tenants map[string]*tenantIndex
}

func newIndexes() *indexes { return &indexes{tenants: make(map[string]*tenantIndex)} }

type tenantIndex struct {
	mu      sync.Mutex // guards everything below
	next    uint64     // entries read
	size    uint64     // entries known to exist at the last look
	sources map[string]*sourceStats
	times   map[string]time.Time // record id → time, for subjects asked about
	want    map[string]bool      // subjects to look up
	running chan struct{}        // closed when the running update ends; nil when none runs
	err     error
}

// sourceStats is what the sources page shows of one source.
type sourceStats struct {
	Source  string
	Count   int
	Last    lastRecord
	First   time.Time     // earliest record time
	Latest  time.Time     // latest record time
	Days    map[int64]int // UTC day (Unix days) → records with their time that day
	Gaps    int           // source.gap records it wrote
	LastGap gapRecord
}

type lastRecord struct {
	ID, Type   string
	Time       time.Time
	ReceivedAt time.Time
	Index      uint64
}

type gapRecord struct {
	ID, Detail   string
	Since, Until string
}

// An indexView is a copy of a tenant's index that a page may read freely.
type indexView struct {
	Read, Size uint64 // entries read of the log's size
	Sources    []sourceStats
	Times      map[string]time.Time
	Err        error
}

// Complete reports whether the whole log has been read.
func (v *indexView) Complete() bool { return v.Read >= v.Size }

func (ix *indexes) tenant(name string) *tenantIndex {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	t := ix.tenants[name]
	if t == nil {
		t = &tenantIndex{sources: make(map[string]*sourceStats), times: make(map[string]time.Time), want: make(map[string]bool)}
		ix.tenants[name] = t
	}
	return t
}

// get brings the tenant's index up to date — the log read to its current
// size, and the times of subjects looked up — waiting at most budget, and
// returns a copy of it. store must be the caller's view of the store: the
// first thing read through it is the tenant's size, which fails for a
// tenant the caller is not granted. withSources leaves the per-source
// statistics out of the copy when false.
func (ix *indexes) get(ctx context.Context, store waarborg.Store, tenant string, subjects []string, budget time.Duration, withSources bool) (*indexView, error) {
	size, err := store.Size(ctx, tenant)
	if err != nil {
		return nil, err
	}
	t := ix.tenant(tenant)
	t.mu.Lock()
	t.size = max(t.size, size)
	for _, s := range subjects {
		if _, ok := t.times[s]; !ok {
			t.want[s] = true
		}
	}
	done := t.running
	if done == nil && (t.next < t.size || len(t.want) > 0) {
		done = make(chan struct{})
		t.running = done
		// The update outlives the request: the next page finds it done.
		go t.update(context.WithoutCancel(ctx), store, tenant, done)
	}
	t.mu.Unlock()
	if done != nil {
		timer := time.NewTimer(budget)
		select {
		case <-done:
		case <-timer.C:
		case <-ctx.Done():
		}
		timer.Stop()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	v := &indexView{Read: t.next, Size: t.size, Err: t.err, Times: make(map[string]time.Time, len(subjects))}
	for _, s := range subjects {
		if tm, ok := t.times[s]; ok {
			v.Times[s] = tm
		}
	}
	if withSources {
		for _, k := range slices.Sorted(maps.Keys(t.sources)) {
			st := *t.sources[k]
			st.Days = maps.Clone(st.Days)
			v.Sources = append(v.Sources, st)
		}
	}
	return v, nil
}

// How much an update reads between taking the lock: entries, and
// subjects looked up.
const (
	indexChunk  = 4096
	lookUpChunk = 512
)

func (t *tenantIndex) update(ctx context.Context, store waarborg.Store, tenant string, done chan struct{}) {
	defer func() {
		t.mu.Lock()
		t.running = nil
		t.mu.Unlock()
		close(done)
	}()
	for {
		// Subjects first: a page waits for them; the sources page for the
		// whole log, which takes longer anyway.
		t.mu.Lock()
		from, to := t.next, min(t.size, t.next+indexChunk)
		var want []string
		for s := range t.want {
			if want = append(want, s); len(want) == lookUpChunk {
				break
			}
		}
		t.mu.Unlock()
		switch {
		case len(want) > 0:
			t.lookUp(ctx, store, tenant, want)
		case from < to:
			if err := t.read(ctx, store, tenant, from, to); err != nil {
				t.fail(err)
				return
			}
		default:
			return
		}
	}
}

func (t *tenantIndex) fail(err error) {
	t.mu.Lock()
	t.err = err
	t.mu.Unlock()
}

// envelope is what the index reads of a record.
type envelope struct {
	ID     string `json:"id"`
	Source string `json:"source"`
	Type   string `json:"type"`
	Time   string `json:"time"`
}

type gapData struct {
	Data struct {
		Detail string `json:"detail"`
		Since  string `json:"since"`
		Until  string `json:"until"`
	} `json:"data"`
}

// read adds the entries [from, to) to the source statistics.
func (t *tenantIndex) read(ctx context.Context, store waarborg.Store, tenant string, from, to uint64) error {
	type item struct {
		env   envelope
		time  time.Time
		st    *waarborg.Stored
		gap   *gapRecord
		index uint64
	}
	items := make([]item, 0, to-from)
	for st, err := range store.Records(ctx, tenant, from, to) {
		if err != nil {
			return err
		}
		var it item
		// The log holds canonical JSON that was valid when appended; an
		// entry that no longer parses still counts, under no source.
		json.Unmarshal(st.Canonical, &it.env)
		it.time, _ = waarborg.ParseTime(it.env.Time)
		it.st, it.index = st, st.Index
		if it.env.Type == "source.gap" {
			var g gapData
			json.Unmarshal(st.Canonical, &g)
			it.gap = &gapRecord{ID: it.env.ID, Detail: g.Data.Detail, Since: g.Data.Since, Until: g.Data.Until}
		}
		items = append(items, it)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, it := range items {
		s := t.sources[it.env.Source]
		if s == nil {
			s = &sourceStats{Source: it.env.Source, Days: make(map[int64]int)}
			t.sources[it.env.Source] = s
		}
		s.Count++
		s.Last = lastRecord{ID: it.env.ID, Type: it.env.Type, Time: it.time, ReceivedAt: it.st.ReceivedAt, Index: it.index}
		if !it.time.IsZero() {
			if s.First.IsZero() || it.time.Before(s.First) {
				s.First = it.time
			}
			if it.time.After(s.Latest) {
				s.Latest = it.time
			}
			s.Days[unixDay(it.time)]++
		}
		if it.gap != nil {
			s.Gaps++
			s.LastGap = *it.gap
		}
		t.next = it.index + 1
	}
	if len(items) == 0 {
		t.next = to // a store that yields less than its size: do not spin
	}
	return nil
}

// unixDay is the number of whole UTC days from 1970-01-01 to t.
func unixDay(t time.Time) int64 {
	d := t.Unix() / 86400
	if t.Unix()%86400 < 0 {
		d--
	}
	return d
}

// lookUp finds the times of subject records. A subject that is no record
// (a period label, "checkpoint/7") is placed at its period's start, or not
// at all.
func (t *tenantIndex) lookUp(ctx context.Context, store waarborg.Store, tenant string, subjects []string) {
	found := make(map[string]time.Time, len(subjects))
	for _, s := range subjects {
		if start, _, ok := waarborg.ParsePeriod(s); ok {
			found[s] = start
			continue
		}
		if !waarborg.ValidID(s) {
			found[s] = time.Time{}
			continue
		}
		st, err := store.Record(ctx, tenant, s)
		if err != nil {
			found[s] = time.Time{}
			continue
		}
		var env envelope
		json.Unmarshal(st.Canonical, &env)
		tm, _ := waarborg.ParseTime(env.Time)
		found[s] = tm
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for s, tm := range found {
		t.times[s] = tm
		delete(t.want, s)
	}
}
