package edge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waarborg/waarborg"
)

// central is a stand-in for the central server's POST /api/v1/records:
// idempotent by tenant and id, down (503) while down is set, and able to
// lose one answer after keeping its batch, as a broken link does.
type central struct {
	down       atomic.Bool
	loseAnswer atomic.Bool
	mu         sync.Mutex
	ids        map[string]string // id → canonical JSON
	order      []string
	tokens     map[string]bool
	posts      int
}

func newCentral() *central {
	return &central{ids: map[string]string{}, tokens: map[string]bool{}}
}

func (c *central) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if c.down.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	body, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	c.posts++
	c.tokens[r.Header.Get("Authorization")] = true
	var a batchAnswer
	for line := range bytes.SplitSeq(bytes.TrimSpace(body), []byte{'\n'}) {
		rec, err := waarborg.ParseRecord(line)
		if err != nil {
			c.mu.Unlock()
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		switch old, ok := c.ids[rec.ID]; {
		case !ok:
			c.ids[rec.ID] = string(rec.Canonical)
			c.order = append(c.order, rec.ID)
			a.Accepted++
		case old == string(rec.Canonical):
			a.Duplicate++
		default:
			a.Rejected++
		}
	}
	c.mu.Unlock()
	if c.loseAnswer.CompareAndSwap(true, false) {
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
		return
	}
	json.NewEncoder(w).Encode(a)
}

func (c *central) received() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.order...)
}

func record(t *testing.T, i int) *waarborg.Record {
	t.Helper()
	r, err := waarborg.ParseRecord(fmt.Appendf(nil,
		`{"id":"r-%05d","tenant":"acme-foods","source":"ede/line-1/scada","type":"historian.sample","time":"2026-03-01T06:00:%02d.000Z","data":{"tag":"t","value":%d}}`,
		i, i%60, i))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestOutage runs the collector under steady input while the central
// server is down, until the queue's bound is hit, then brings the server
// back: every record arrives once, in order, with the gap records that
// tell of the refusals.
func TestOutage(t *testing.T) {
	cen := newCentral()
	cen.down.Store(true)
	srv := httptest.NewServer(cen)
	defer srv.Close()
	col, err := Open(Config{
		Dir: t.TempDir(), MaxBytes: 8 << 10, Central: srv.URL, Token: "tok-1",
		Tenant: "acme-foods", Source: "ede/edge", BatchRecords: 7,
		MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer col.Close()
	ctx, cancel := context.WithCancel(t.Context())
	forwarded := make(chan error, 1)
	go func() { forwarded <- col.Forward(ctx) }()

	// A connector puts one record at a time; a refused record is kept and
	// put again, as connectors do.
	next, refusals := 0, 0
	put := func() {
		t.Helper()
		err := col.Put(ctx, []*waarborg.Record{record(t, next)})
		switch {
		case err == nil:
			next++
		case errors.Is(err, ErrFull):
			refusals++
		default:
			t.Fatal(err)
		}
	}
	for refusals < 5 {
		put()
	}
	st := col.Stats()
	if !st.Full || st.Gaps != 1 || st.Refused != 5 || st.Forwarded != 0 || st.Queue.Bytes < 8<<10 {
		t.Fatalf("while full: %+v", st)
	}
	full := next

	cen.down.Store(false)
	cen.loseAnswer.Store(true) // the first batch is kept but its answer lost: it is sent again
	deadline := time.Now().Add(20 * time.Second)
	for next < full+40 {
		put()
		if time.Now().After(deadline) {
			t.Fatalf("the queue does not drain: %+v", col.Stats())
		}
		time.Sleep(time.Millisecond)
	}
	for col.Stats().Queue.Entries > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the queue does not drain: %+v", col.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-forwarded; err != nil {
		t.Fatal(err)
	}

	got := cen.received()
	var recs []string
	var gaps []string
	for _, id := range got {
		if len(id) > 2 && id[:2] == "r-" {
			recs = append(recs, id)
		} else {
			gaps = append(gaps, cen.ids[id])
		}
	}
	if len(recs) != next {
		t.Fatalf("central holds %d records, want %d", len(recs), next)
	}
	for i, id := range recs {
		if id != fmt.Sprintf("r-%05d", i) {
			t.Fatalf("record %d is %s: out of order", i, id)
		}
	}
	if len(gaps) != 2 || !bytes.Contains([]byte(gaps[0]), []byte("edge queue full")) ||
		!bytes.Contains([]byte(gaps[1]), fmt.Appendf(nil, "%d records were refused", refusals)) {
		t.Fatalf("gaps = %q", gaps)
	}
	if !cen.tokens["Bearer tok-1"] || len(cen.tokens) != 1 {
		t.Fatalf("authorization headers: %v", cen.tokens)
	}
	if st := col.Stats(); st.Full || st.Queue.Bytes != 0 || st.Forwarded < uint64(next+2) {
		t.Fatalf("after the drain: %+v", st)
	}
}

// A queue survives a restart of the edge: what was not forwarded is sent
// after it, once, over HTTPS.
func TestRestart(t *testing.T) {
	cen := newCentral()
	cen.down.Store(true)
	srv := httptest.NewTLSServer(cen)
	defer srv.Close()
	cfg := Config{Dir: t.TempDir(), MaxBytes: 1 << 20, Central: srv.URL, Tenant: "acme-foods", Source: "ede/edge",
		Client: srv.Client(), MinBackoff: 5 * time.Millisecond, MaxBackoff: 10 * time.Millisecond}
	col, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if err := col.Put(t.Context(), []*waarborg.Record{record(t, i)}); err != nil {
			t.Fatal(err)
		}
	}
	col.Close()
	cen.down.Store(false)
	col, err = Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer col.Close()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- col.Forward(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for len(cen.received()) < 10 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if got := cen.received(); len(got) != 10 || got[9] != "r-00009" {
		t.Fatalf("central holds %v", got)
	}
}

// A source that no record may carry is refused when the collector opens,
// not found out when the first gap record is built (it panicked then).
func TestOpenRefusesBadSource(t *testing.T) {
	for _, src := range []string{"a//b", "/ede", "ede/", "ede/\x01"} {
		col, err := Open(Config{Dir: t.TempDir(), MaxBytes: 8 << 10, Central: "http://127.0.0.1:1", Tenant: "acme-foods", Source: src})
		if err == nil {
			col.Close()
			t.Errorf("Open with source %q: no error", src)
		}
	}
}
