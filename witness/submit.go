package witness

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/ledger"
)

// A Target is one witness that a Submitter sends checkpoints to.
type Target struct {
	URL string // base URL: requests go to URL + "/add-checkpoint"
	Key *ledger.CosignatureVerifier
	// Tenants are the tenants whose logs it witnesses; none means all.
	Tenants []string
}

// SubmitterConfig configures a Submitter.
type SubmitterConfig struct {
	Store     waarborg.Store
	Ledger    *ledger.Ledger
	Witnesses []Target
	// Every is the longest a tenant's new checkpoints wait before they go
	// to the witnesses (default 10 minutes). At every period end (UTC
	// midnight: the bound of every period given as dates) each log is
	// checkpointed and submitted at once.
	Every time.Duration
	// MaxBackoff bounds the wait between retries to a failing witness
	// (default Every).
	MaxBackoff time.Duration
	Client     *http.Client // default: one with a 30 s timeout
	Now        func() time.Time
	Logger     *slog.Logger
	Metrics    prometheus.Registerer // nil: no metrics
}

// A Submitter sends each tenant's new checkpoints to the witnesses
// configured for it (C2SP tlog-witness add-checkpoint with the consistency
// proof from the size the witness knows) and keeps the cosignatures they
// return beside the checkpoints.
type Submitter struct {
	cfg   SubmitterConfig
	state map[pair]*pairState
	m     *submitMetrics
}

type pair struct {
	tenant  string
	witness int
}

type pairState struct {
	known     uint64 // the size the witness told us it holds
	cosigned  uint64 // the largest size it cosigned for us
	submitted time.Time
	force     bool // a period ended: submit even if nothing grew
	failures  int
	retryAt   time.Time
}

// NewSubmitter returns a Submitter; Run starts it.
func NewSubmitter(cfg SubmitterConfig) *Submitter {
	if cfg.Every <= 0 {
		cfg.Every = 10 * time.Minute
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = cfg.Every
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Submitter{cfg: cfg, state: map[pair]*pairState{}, m: newSubmitMetrics(cfg.Metrics, cfg.Witnesses)}
}

// NextPeriodEnd returns the first UTC midnight after t.
func NextPeriodEnd(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC)
}

// Run submits until ctx ends: every Every the checkpoints that grew, at
// every period end every log's checkpoint of that instant, and failed
// submissions again with exponential backoff.
func (s *Submitter) Run(ctx context.Context) {
	periodEnd := NextPeriodEnd(s.cfg.Now())
	for {
		now := s.cfg.Now()
		if !now.Before(periodEnd) {
			s.periodEnded(ctx)
			periodEnd = NextPeriodEnd(now)
		}
		wake := s.Round(ctx)
		wake = min(wake, periodEnd.Sub(now))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wake):
		}
	}
}

// periodEnded checkpoints every log and marks it to be submitted now.
func (s *Submitter) periodEnded(ctx context.Context) {
	tenants, err := s.cfg.Store.Tenants(ctx)
	if err != nil {
		s.cfg.Logger.Error("witness: list tenants", "err", err)
		return
	}
	for _, t := range tenants {
		if _, err := s.cfg.Ledger.Sync(ctx, t); err != nil {
			s.cfg.Logger.Error("witness: checkpoint at period end", "tenant", t, "err", err)
		}
		for i := range s.cfg.Witnesses {
			s.pairState(pair{t, i}).force = true
		}
	}
}

func (s *Submitter) pairState(p pair) *pairState {
	st := s.state[p]
	if st == nil {
		st = &pairState{}
		s.state[p] = st
	}
	return st
}

// Round submits every tenant's latest checkpoint to each of its witnesses
// that is due, and returns how long until the next one may be.
func (s *Submitter) Round(ctx context.Context) time.Duration {
	wake := s.cfg.Every
	tenants, err := s.cfg.Store.Tenants(ctx)
	if err != nil {
		s.cfg.Logger.Error("witness: list tenants", "err", err)
		return min(wake, time.Minute)
	}
	for _, t := range tenants {
		cp, err := s.cfg.Store.Checkpoint(ctx, t, 0)
		if err != nil {
			if waarborg.ErrorCode(err) != waarborg.ENOTFOUND {
				s.cfg.Logger.Error("witness: latest checkpoint", "tenant", t, "err", err)
			}
			continue
		}
		for i, w := range s.cfg.Witnesses {
			if len(w.Tenants) > 0 && !slices.Contains(w.Tenants, t) {
				continue
			}
			st := s.pairState(pair{t, i})
			now := s.cfg.Now()
			switch {
			case now.Before(st.retryAt):
				wake = min(wake, st.retryAt.Sub(now))
				continue
			case !st.force && cp.Size <= st.cosigned:
				continue
			case !st.force && now.Sub(st.submitted) < s.cfg.Every:
				wake = min(wake, st.submitted.Add(s.cfg.Every).Sub(now))
				continue
			}
			err := s.submit(ctx, cp, i, st)
			now = s.cfg.Now()
			if err != nil {
				st.failures++
				backoff := min(s.cfg.MaxBackoff, time.Second<<min(st.failures, 20))
				st.retryAt = now.Add(backoff)
				wake = min(wake, backoff)
				s.m.failures.WithLabelValues(w.Key.Name(), t).Set(float64(st.failures))
				s.m.up.WithLabelValues(w.Key.Name()).Set(0)
				s.cfg.Logger.Warn("witness: submission failed", "witness", w.Key.Name(), "tenant", t, "size", cp.Size, "failures", st.failures, "retry_in", backoff, "err", err)
				continue
			}
			st.failures, st.force, st.submitted = 0, false, now
			s.m.failures.WithLabelValues(w.Key.Name(), t).Set(0)
			s.m.up.WithLabelValues(w.Key.Name()).Set(1)
		}
	}
	return max(wake, time.Second)
}

// ErrFork is returned when a witness holds a tree that this log's history
// does not explain: a size beyond ours, or a root ours does not extend.
var ErrFork = errors.New("the witness holds a tree this log does not extend")

// submit sends cp to witness i, following one 409 to the size the witness
// holds, and stores the cosignature it returns.
func (s *Submitter) submit(ctx context.Context, cp *waarborg.Checkpoint, i int, st *pairState) error {
	w := s.cfg.Witnesses[i]
	for attempt := 0; ; attempt++ {
		if st.known > cp.Size {
			s.m.requests.WithLabelValues(w.Key.Name(), "fork").Inc()
			return fmt.Errorf("%w: it holds size %d, our latest checkpoint is %d", ErrFork, st.known, cp.Size)
		}
		proof, err := s.cfg.Ledger.ConsistencyPath(ctx, cp.Tenant, st.known, cp.Size)
		if err != nil {
			return err
		}
		status, body, err := s.post(ctx, w, st.known, proof, cp.Note)
		if err != nil {
			s.m.requests.WithLabelValues(w.Key.Name(), "error").Inc()
			return err
		}
		switch status {
		case http.StatusOK:
			return s.keep(ctx, cp, w, st, body)
		case http.StatusConflict:
			s.m.requests.WithLabelValues(w.Key.Name(), "conflict").Inc()
			known, err := strconv.ParseUint(strings.TrimSpace(string(body)), 10, 64)
			if err != nil {
				return fmt.Errorf("witness %s: 409 without a size: %q", w.Key.Name(), body)
			}
			st.known = known
			if attempt > 0 {
				return fmt.Errorf("witness %s: conflict again at size %d", w.Key.Name(), known)
			}
		case http.StatusUnprocessableEntity:
			s.m.requests.WithLabelValues(w.Key.Name(), "fork").Inc()
			return fmt.Errorf("%w: witness %s refused the proof from size %d: %s", ErrFork, w.Key.Name(), st.known, strings.TrimSpace(string(body)))
		default:
			s.m.requests.WithLabelValues(w.Key.Name(), "refused").Inc()
			return fmt.Errorf("witness %s: %d %s", w.Key.Name(), status, strings.TrimSpace(string(body)))
		}
	}
}

func (s *Submitter) post(ctx context.Context, w Target, old uint64, proof [][]byte, signed []byte) (int, []byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "old %d\n", old)
	for _, h := range proof {
		b.WriteString(base64.StdEncoding.EncodeToString(h) + "\n")
	}
	b.WriteString("\n")
	b.Write(signed)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(w.URL, "/")+"/add-checkpoint", &b)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("witness %s: %w", w.Key.Name(), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxRequest))
	if err != nil {
		return 0, nil, fmt.Errorf("witness %s: %w", w.Key.Name(), err)
	}
	return resp.StatusCode, body, nil
}

// keep checks the witness's cosignature of cp and stores it.
func (s *Submitter) keep(ctx context.Context, cp *waarborg.Checkpoint, w Target, st *pairState, body []byte) error {
	text, err := ledger.NoteText(cp.Note)
	if err != nil {
		return err
	}
	var cosig *waarborg.Cosignature
	for _, line := range ledger.SignatureLines(string(body)) {
		if c, err := ledger.OpenCosignature(text, line, w.Key); err == nil {
			cosig = c
			break
		}
	}
	if cosig == nil {
		s.m.requests.WithLabelValues(w.Key.Name(), "error").Inc()
		return fmt.Errorf("witness %s answered without a valid cosignature of size %d", w.Key.Name(), cp.Size)
	}
	cosig.Tenant = cp.Tenant
	if err := s.cfg.Store.Update(ctx, func(tx waarborg.Tx) error { return tx.AddCosignature(cosig) }); err != nil {
		return fmt.Errorf("store cosignature: %w", err)
	}
	st.known, st.cosigned = cp.Size, cp.Size
	s.m.requests.WithLabelValues(w.Key.Name(), "cosigned").Inc()
	s.m.size.WithLabelValues(w.Key.Name(), cp.Tenant).Set(float64(cp.Size))
	s.m.last.WithLabelValues(w.Key.Name(), cp.Tenant).Set(float64(cosig.Time.Unix()))
	s.cfg.Logger.Info("witness: cosigned", "witness", w.Key.Name(), "tenant", cp.Tenant, "size", cp.Size, "time", cosig.Time)
	return nil
}

// submitMetrics is witness health on /metrics.
type submitMetrics struct {
	requests *prometheus.CounterVec // by witness, result
	up       *prometheus.GaugeVec   // by witness
	failures *prometheus.GaugeVec   // consecutive failures, by witness, tenant
	size     *prometheus.GaugeVec   // the latest size cosigned, by witness, tenant
	last     *prometheus.GaugeVec   // the witness's time of that cosignature
}

func newSubmitMetrics(reg prometheus.Registerer, ws []Target) *submitMetrics {
	m := &submitMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waarborg_witness_requests_total",
			Help: "add-checkpoint requests to witnesses, by witness and result: cosigned, conflict (409, retried from the witness's size), fork (the witness holds a tree this log does not extend), refused (another status) or error (no answer, or no valid cosignature).",
		}, []string{"witness", "result"}),
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "waarborg_witness_up",
			Help: "1 when the last request to the witness got a valid cosignature, 0 when it failed.",
		}, []string{"witness"}),
		failures: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "waarborg_witness_consecutive_failures",
			Help: "Failed submissions of a tenant's checkpoint to a witness since its last success.",
		}, []string{"witness", "tenant"}),
		size: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "waarborg_witness_cosigned_size",
			Help: "The tree size of the latest checkpoint of a tenant's log the witness cosigned.",
		}, []string{"witness", "tenant"}),
		last: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "waarborg_witness_last_cosignature_timestamp_seconds",
			Help: "The witness's time on its latest cosignature of a tenant's checkpoint (Unix seconds).",
		}, []string{"witness", "tenant"}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.up, m.failures, m.size, m.last)
	}
	for _, w := range ws {
		for _, r := range []string{"cosigned", "conflict", "fork", "refused", "error"} {
			m.requests.WithLabelValues(w.Key.Name(), r)
		}
	}
	return m
}
