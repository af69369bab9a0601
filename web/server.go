// Package web serves waarborg's JSON API over HTTP: record ingestion,
// inclusion and consistency proofs, checkpoints, health and metrics.
//
// It imports the domain and the ledger and no store: cmd/waarborg wires it
// to one. Every route is listed in routes.go.
package web

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/ledger"

	"golang.org/x/mod/sumdb/note"

	"github.com/waarborg/waarborg/assess"
	"github.com/waarborg/waarborg/connector"
	"github.com/waarborg/waarborg/controls"
	"github.com/waarborg/waarborg/monitor"
)

// DefaultMaxBody is the largest request body accepted when Deps.MaxBody is 0.
const DefaultMaxBody = 32 << 20

// Deps is what the server works on.
type Deps struct {
	Ledger *ledger.Ledger
	Store  waarborg.Store
	// Verifier and Deployment let the server re-check logs (controls' LM-03).
	Verifier   note.Verifier
	Deployment string
	// Catalog is the control catalog in force (nil: controls.Default()).
	Catalog *controls.Catalog
	Logger  *slog.Logger // nil: no request logs
	// Metrics receives the server's collectors and is what /metrics
	// serves; nil gives the server a registry of its own.
	Metrics *prometheus.Registry
	// Monitor, if set, serves the current exceptions and their workflow
	// (GET and POST …/exceptions) and the open-exceptions gauge.
	Monitor *monitor.Service
	// Connectors, if set, are the OT connectors this process runs: their
	// health is served at GET /api/v1/connectors and on /metrics.
	Connectors []connector.Connector
	// MaxBody bounds a request body in bytes (0: DefaultMaxBody). A batch
	// over it is refused whole, so a client never has to guess which of
	// its lines were kept.
	MaxBody int64
}

type server struct {
	ledger     *ledger.Ledger
	store      waarborg.Store
	assessLog  assess.Log
	catalog    *controls.Catalog
	monitor    *monitor.Service
	log        *slog.Logger
	metrics    *metrics
	maxBody    int64
	connectors *Connectors
	mux        *http.ServeMux
}

// NewServer returns the HTTP handler of the API. It is safe for concurrent
// use; a POST of records answers only once the accepted ones are durable.
func NewServer(deps Deps) http.Handler {
	s := &server{
		ledger:    deps.Ledger,
		store:     deps.Store,
		assessLog: assess.Log{Store: deps.Store, Ledger: deps.Ledger, Verifier: deps.Verifier, Deployment: deps.Deployment},
		catalog:   deps.Catalog,
		monitor:   deps.Monitor,
		log:       deps.Logger,
		maxBody:   deps.MaxBody,
		mux:       http.NewServeMux(),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBody
	}
	if s.catalog == nil {
		s.catalog = controls.Default()
	}
	reg := deps.Metrics
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	s.metrics = newMetrics(reg, deps.Store)
	if s.monitor != nil {
		register(reg, &pendingCollector{monitor: s.monitor})
	}
	if len(deps.Connectors) > 0 {
		s.connectors = NewConnectors(deps.Connectors, nil)
		reg.MustRegister(ConnectorCollector(deps.Connectors))
	}
	s.routes()
	return s
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	if _, pattern := s.mux.Handler(r); pattern == "" {
		// The mux answers unknown paths and methods in plain text; the API
		// promises JSON errors everywhere.
		sw.jsonErrors = true
	}
	s.mux.ServeHTTP(sw, r)

	if sw.status == 0 {
		sw.status = http.StatusOK
	}
	elapsed := time.Since(start)
	route := r.Pattern
	if route == "" {
		route = "unmatched"
	}
	s.metrics.requests.WithLabelValues(r.Method, route, strconv.Itoa(sw.status)).Observe(elapsed.Seconds())
	level := slog.LevelInfo
	if route == routeHealth || route == routeMetrics {
		level = slog.LevelDebug // probes and scrapes every few seconds drown the rest
	}
	s.log.LogAttrs(r.Context(), level, "request",
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.String("route", route),
		slog.Int("status", sw.status),
		slog.Int64("bytes", sw.written),
		slog.Duration("duration", elapsed),
		slog.String("remote", r.RemoteAddr),
	)
}

// statusWriter remembers the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status     int
	written    int64
	jsonErrors bool // rewrite the mux's own plain-text errors as JSON
	dropBody   bool
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status != 0 {
		return
	}
	w.status = code
	if w.jsonErrors && code >= 400 {
		c := waarborg.ENOTFOUND
		if code == http.StatusMethodNotAllowed {
			c = codeMethod
		}
		h := w.Header()
		body := errorBody(c, http.StatusText(code))
		h.Set("Content-Type", "application/json")
		h.Del("Content-Length")
		w.ResponseWriter.WriteHeader(code)
		n, _ := w.ResponseWriter.Write(body)
		w.written += int64(n)
		w.dropBody = true
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.dropBody {
		return len(b), nil
	}
	n, err := w.ResponseWriter.Write(b)
	w.written += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Error codes the HTTP layer adds to the domain's kinds.
const (
	codeTooLarge    = "too_large"
	codeMethod      = "method_not_allowed"
	codeUnavailable = "unavailable"
)

// statusOf maps every error code a response can carry to its HTTP status.
var statusOf = map[string]int{
	waarborg.EINVALID:      http.StatusBadRequest,
	waarborg.ENOTFOUND:     http.StatusNotFound,
	waarborg.ECONFLICT:     http.StatusConflict,
	waarborg.EUNAUTHORISED: http.StatusUnauthorized,
	waarborg.EINTERNAL:     http.StatusInternalServerError,
	codeTooLarge:           http.StatusRequestEntityTooLarge,
	codeMethod:             http.StatusMethodNotAllowed,
	codeUnavailable:        http.StatusServiceUnavailable,
}

// errorCode classifies err: a domain kind, or one the HTTP layer knows.
func errorCode(err error) string {
	if errors.Is(err, ledger.ErrClosed) {
		return codeUnavailable
	}
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return codeTooLarge
	}
	return waarborg.ErrorCode(err)
}

// writeError answers with err as a JSON error. An internal cause is logged,
// never shown.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code, msg := errorCode(err), waarborg.ErrorMessage(err)
	status, ok := statusOf[code]
	if !ok {
		code, status = waarborg.EINTERNAL, http.StatusInternalServerError
	}
	switch code {
	case codeTooLarge:
		msg = "request body is larger than the server accepts"
		// The rest of the body is not worth reading; the client must not
		// send it on this connection.
		w.Header().Set("Connection", "close")
	case codeUnavailable:
		msg = "the ledger is shutting down; retry later"
	}
	if status >= 500 {
		level := slog.LevelError
		if r.Context().Err() != nil {
			level = slog.LevelInfo // the client went away: nothing failed here
		}
		s.log.LogAttrs(r.Context(), level, "request failed",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(errorBody(code, msg))
}

func errorBody(code, msg string) []byte {
	type body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	var b body
	b.Error.Code, b.Error.Message = code, msg
	out, _ := json.Marshal(b)
	return append(out, '\n')
}

// writeJSON answers with v as JSON.
func (s *server) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
