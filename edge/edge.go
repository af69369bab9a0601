// Package edge is the plant-side collector's store and forward: connectors
// put records into a durable local Queue (the Collector is their Sink),
// and a forwarder sends them in order to a central waarborg over HTTP(S)
// (POST /api/v1/records with a tenant ingest token), retrying with
// exponential backoff for as long as the central server is away. The
// queue is bounded in bytes: when it is full, the collector refuses
// records (connectors keep them and retry) and writes a source.gap, so that
// data are never dropped silently, and the oldest never at all.
// cmd/waarborg imports it.
package edge

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/connector"
)

// Config configures a Collector.
type Config struct {
	Dir      string // the queue's directory
	MaxBytes int64  // the queue's bound on disk
	// Central is the base URL of the central waarborg serve
	// (https://host:port); Token its tenant ingest token.
	Central string
	Token   string
	Client  *http.Client // default: one with a 2-minute timeout
	// Tenant and Source name the edge's own records: the source.gap it
	// writes when its queue is full.
	Tenant string
	Source string

	BatchRecords int   // records per POST (default 1000)
	BatchBytes   int64 // about the bytes per POST (default 4 MiB)
	MinBackoff   time.Duration
	MaxBackoff   time.Duration // default 1 minute
	Now          func() time.Time
	Logger       *slog.Logger
}

// A Collector is the Sink of the edge's connectors and the forwarder of
// what they put.
type Collector struct {
	cfg   Config
	queue *Queue
	log   *slog.Logger

	mu        sync.Mutex // serialises Put's full/accepting transitions
	full      bool
	fullSince time.Time
	refused   uint64 // records refused in the current full episode

	forwarded    atomic.Uint64
	rejected     atomic.Uint64
	refusedTotal atomic.Uint64
	gaps         atomic.Uint64
	lastForward  atomic.Int64 // unix ms of the last successful POST
	lastError    atomic.Value // string
}

var _ connector.Sink = (*Collector)(nil)

// Open opens the queue and returns a collector.
func Open(cfg Config) (*Collector, error) {
	if cfg.Central == "" {
		return nil, errors.New("edge: the central server's URL is required")
	}
	if !waarborg.ValidTenant(cfg.Tenant) || !waarborg.ValidSource(cfg.Source) {
		return nil, fmt.Errorf("edge: a valid tenant and source for the edge's own records are required, got %q and %q", cfg.Tenant, cfg.Source)
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 2 * time.Minute}
	}
	if cfg.BatchRecords <= 0 {
		cfg.BatchRecords = 1000
	}
	if cfg.BatchBytes <= 0 {
		cfg.BatchBytes = 4 << 20
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 500 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Central = strings.TrimRight(cfg.Central, "/")
	q, err := OpenQueue(cfg.Dir, cfg.MaxBytes)
	if err != nil {
		return nil, err
	}
	c := &Collector{cfg: cfg, queue: q, log: cfg.Logger.With("component", "edge")}
	c.lastError.Store("")
	return c, nil
}

// Close closes the queue.
func (c *Collector) Close() error { return c.queue.Close() }

// Put appends records to the queue, durably, before it returns nil. When
// the queue is full it returns ErrFull and keeps nothing; the first
// refusal writes a source.gap (past the bound: it is small and says why
// the bound was reached), and the first Put accepted again writes a second
// one with the period and the count of refused records.
func (c *Collector) Put(_ context.Context, recs []*waarborg.Record) error {
	jsons := make([][]byte, len(recs))
	for i, r := range recs {
		jsons[i] = r.Canonical
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.cfg.Now()
	err := c.queue.Append(jsons)
	switch {
	case errors.Is(err, ErrFull):
		c.refusedTotal.Add(uint64(len(recs)))
		if !c.full {
			c.full, c.fullSince, c.refused = true, now, 0
			st := c.queue.Stats()
			gap := c.gap(fmt.Sprintf("edge queue full (%d of %d bytes, %d records not yet forwarded): the edge refuses records until the central server takes some",
				st.Bytes, st.MaxBytes, st.Entries), now, time.Time{})
			if gerr := c.queue.AppendOver([][]byte{gap.Canonical}); gerr != nil {
				return errors.Join(err, gerr)
			}
			c.gaps.Add(1)
			c.log.Error("edge queue full: refusing records", "bytes", st.Bytes, "max", st.MaxBytes)
		}
		c.refused += uint64(len(recs))
		return err
	case err != nil:
		return err
	}
	if c.full {
		gap := c.gap(fmt.Sprintf("edge queue was full: %d records were refused between since and until; connectors kept what they could and retried",
			c.refused), c.fullSince, now)
		if err := c.queue.AppendOver([][]byte{gap.Canonical}); err != nil {
			return err // the records are in: a retry of them is a duplicate
		}
		c.gaps.Add(1)
		c.full = false
		c.log.Warn("edge queue accepts records again", "refused", c.refused, "since", c.fullSince)
	}
	return nil
}

func (c *Collector) gap(detail string, since, until time.Time) *waarborg.Record {
	data := map[string]any{"detail": detail, "since": since.UTC().Format(timeFormat)}
	at := since
	if !until.IsZero() {
		data["until"] = until.UTC().Format(timeFormat)
		at = until
	}
	h := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%s\x00%s", c.cfg.Tenant, c.cfg.Source, data["since"], data["until"]))
	b, _ := json.Marshal(map[string]any{
		"id": "edge.gap." + hex.EncodeToString(h[:16]), "tenant": c.cfg.Tenant, "source": c.cfg.Source,
		"type": "source.gap", "time": at.UTC().Format(timeFormat), "data": data,
	})
	r, err := waarborg.ParseRecord(b)
	if err != nil {
		panic(fmt.Sprintf("edge: built an invalid gap record: %v", err)) // tenant and source were checked by Open
	}
	return r
}

// Forward sends queued records to the central server, oldest first, until
// ctx ends. A batch leaves the queue only once the server answered it; a
// network error or a 5xx, 429, 401 or 403 answer is retried with
// exponential backoff and jitter, for as long as it takes.
func (c *Collector) Forward(ctx context.Context) error {
	backoff := c.cfg.MinBackoff
	batch := c.cfg.BatchRecords
	idle := time.NewTicker(time.Second)
	defer idle.Stop()
	for ctx.Err() == nil {
		entries, err := c.queue.Peek(batch, c.cfg.BatchBytes)
		if err != nil {
			return err
		}
		if len(entries) == 0 {
			select {
			case <-c.queue.Notify():
			case <-idle.C:
			case <-ctx.Done():
			}
			continue
		}
		retry, err := c.post(ctx, entries)
		switch {
		case err == nil:
			if aerr := c.queue.Ack(entries[len(entries)-1]); aerr != nil {
				return aerr
			}
			c.forwarded.Add(uint64(len(entries)))
			c.lastForward.Store(c.cfg.Now().UnixMilli())
			c.lastError.Store("")
			backoff, batch = c.cfg.MinBackoff, c.cfg.BatchRecords
			continue
		case errors.Is(err, errTooLarge) && batch > 1:
			batch = max(1, len(entries)/2)
			continue
		case !retry:
			return err
		}
		if ctx.Err() != nil {
			break
		}
		c.lastError.Store(err.Error())
		c.log.Warn("edge: forward failed; retrying", "records", len(entries), "err", err, "in", backoff)
		t := time.NewTimer(backoff + rand.N(backoff/4+1))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
		backoff = min(2*backoff, c.cfg.MaxBackoff)
	}
	return nil
}

// timeFormat is RFC 3339 with the milliseconds records keep.
const timeFormat = "2006-01-02T15:04:05.000Z07:00"

var errTooLarge = errors.New("the central server refused the batch as too large")

// batchAnswer is the part of the central server's answer to a POST of
// records that the forwarder reads.
type batchAnswer struct {
	Accepted  int `json:"accepted"`
	Duplicate int `json:"duplicate"`
	Rejected  int `json:"rejected"`
	Results   []struct {
		Line   int    `json:"line"`
		ID     string `json:"id"`
		Status string `json:"status"`
		Error  *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	} `json:"results"`
}

// post sends one batch. A nil error means the server has answered every
// line for good (accepted, duplicate, or rejected for a reason no retry
// changes); retry says whether an error is worth retrying.
func (c *Collector) post(ctx context.Context, entries []Entry) (retry bool, err error) {
	var body bytes.Buffer
	for _, e := range entries {
		body.Write(e.JSON)
		body.WriteByte('\n')
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.Central+"/api/v1/records", &body)
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	if c.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	}
	resp, err := c.cfg.Client.Do(req)
	if err != nil {
		return true, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return true, err
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		return false, nil
	case resp.StatusCode == http.StatusUnprocessableEntity:
		// Lines the server refuses for good: records valid here can only
		// conflict with other content under the same id. Resending would
		// not change that; they are logged and counted, not retried.
		var a batchAnswer
		if json.Unmarshal(raw, &a) != nil {
			return true, fmt.Errorf("central server: %s: unreadable answer", resp.Status)
		}
		for _, r := range a.Results {
			if r.Status == "rejected" {
				msg := ""
				if r.Error != nil {
					msg = r.Error.Code + ": " + r.Error.Message
				}
				c.log.Error("edge: the central server rejected a record", "id", r.ID, "line", r.Line, "error", msg)
			}
		}
		c.rejected.Add(uint64(a.Rejected))
		return false, nil
	case resp.StatusCode == http.StatusRequestEntityTooLarge:
		return true, errTooLarge
	default:
		// 5xx and 429 are the server's trouble; 401, 403 and 404 a
		// configuration that an operator can fix without losing data.
		return true, fmt.Errorf("central server: %s: %s", resp.Status, bytes.TrimSpace(raw[:min(len(raw), 300)]))
	}
}

// Stats is the collector's state, for metrics and logs.
type Stats struct {
	Queue       QueueStats
	Full        bool      // refusing records
	FullSince   time.Time // when it became full
	Forwarded   uint64    // records the central server answered
	Rejected    uint64    // of those, refused for good
	Refused     uint64    // records the edge refused while full
	Gaps        uint64    // source.gap records the edge wrote
	LastForward time.Time // zero before the first
	LastError   string    // of the last failed forward, "" after a success
}

// Stats reports the collector's state.
func (c *Collector) Stats() Stats {
	c.mu.Lock()
	full, since := c.full, c.fullSince
	c.mu.Unlock()
	s := Stats{
		Queue: c.queue.Stats(), Full: full, FullSince: since,
		Forwarded: c.forwarded.Load(), Rejected: c.rejected.Load(), Refused: c.refusedTotal.Load(),
		Gaps: c.gaps.Load(), LastError: c.lastError.Load().(string),
	}
	if ms := c.lastForward.Load(); ms != 0 {
		s.LastForward = time.UnixMilli(ms)
	}
	return s
}
