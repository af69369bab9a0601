// Package web serves waarborg over HTTP: the JSON API for machines and the
// server-rendered pages people use, behind sign-in (sessions for people,
// API tokens for machines). Every route is listed in routes.go.
//
// Handlers never hold the store or the ledger: each request gets the
// caller's access.View, which limits every query to the tenants the caller
// is granted and records each look at evidence by a person.
//
// It imports the domain, access and the engine packages and no store:
// cmd/waarborg wires it to one.
package web

import (
	"encoding/json"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/access"
	"github.com/waarborg/waarborg/assess"
	"github.com/waarborg/waarborg/ledger"

	"golang.org/x/mod/sumdb/note"

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
	// Users are the people who sign in and the machines' tokens. Without
	// it nobody can sign in and every route but /healthz refuses.
	Users waarborg.Users
	// Verifier and Deployment let the server re-check logs (controls' LM-03)
	// and proofs; VerifierKey is the verifier's key as text, which pages
	// show and browsers check proofs with.
	Verifier    note.Verifier
	VerifierKey string
	Deployment  string
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
	// SecureCookies marks session cookies Secure even on plain HTTP, for a
	// server behind a proxy that terminates TLS; over TLS they always are.
	SecureCookies bool
	// Reporter writes reports and bundles for the reports page; ReportDir
	// keeps them, one directory a tenant. Without them the page lists
	// nothing and offers nothing to generate.
	Reporter  Reporter
	ReportDir string
	Now       func() time.Time // nil: time.Now
}

type server struct {
	backend     *access.Backend // handlers reach it only through views
	users       waarborg.Users
	verifier    note.Verifier
	verifierKey string
	catalog     *controls.Catalog
	hasMonitor  bool
	log         *slog.Logger
	metrics     *metrics
	maxBody     int64
	secure      bool
	now         func() time.Time
	limiter     *limiter
	pages       map[string]*template.Template
	index       *indexes
	reports     *reports
	table       []route
	mux         *http.ServeMux
	handler     http.Handler // mux behind cross-origin protection
	connectors  *Connectors
}

// NewServer returns the HTTP handler of the API and the pages. It is safe
// for concurrent use; a POST of records answers only once the accepted ones
// are durable.
func NewServer(deps Deps) http.Handler {
	s := &server{
		backend: &access.Backend{
			Store: deps.Store, Ledger: deps.Ledger, Monitor: deps.Monitor, Now: deps.Now,
			Log: assess.Log{Store: deps.Store, Ledger: deps.Ledger, Verifier: deps.Verifier, Deployment: deps.Deployment},
		},
		users:       deps.Users,
		verifier:    deps.Verifier,
		verifierKey: deps.VerifierKey,
		catalog:     deps.Catalog,
		hasMonitor:  deps.Monitor != nil,
		log:         deps.Logger,
		maxBody:     deps.MaxBody,
		secure:      deps.SecureCookies,
		now:         deps.Now,
		index:       newIndexes(),
		mux:         http.NewServeMux(),
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
	if s.now == nil {
		s.now = time.Now
	}
	s.limiter = newLimiter(s.now)
	s.reports = newReports(deps.ReportDir, deps.Reporter, s.now, s.log)
	s.pages = parsePages()
	reg := deps.Metrics
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	s.metrics = newMetrics(reg, deps.Store)
	if deps.Monitor != nil {
		register(reg, &pendingCollector{monitor: deps.Monitor})
	}
	if len(deps.Connectors) > 0 {
		s.connectors = NewConnectors(deps.Connectors, nil)
		reg.MustRegister(ConnectorCollector(deps.Connectors))
	}
	s.routes()
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, isAPI(r), waarborg.Errorf(waarborg.EFORBIDDEN, "cross-origin request refused"))
	}))
	s.handler = cop.Handler(s.mux)
	return s
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	if _, pattern := s.mux.Handler(r); pattern == "" && isAPI(r) {
		// The mux answers unknown paths and methods in plain text; the API
		// promises JSON errors everywhere.
		sw.jsonErrors = true
	}
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	s.handler.ServeHTTP(sw, r)

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
	if route == routeHealth || route == routeMetrics || route == routeStatic {
		level = slog.LevelDebug // probes and scrapes every few seconds drown the rest
	}
	// Only the path is logged: never a query or a body, which may hold
	// what a person typed.
	s.log.LogAttrs(r.Context(), level, "request",
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.String("route", route),
		slog.Int("status", sw.status),
		slog.Int64("bytes", sw.written),
		slog.Duration("duration", elapsed),
		slog.String("remote", r.RemoteAddr),
		slog.String("principal", sw.principal),
	)
}

// statusWriter remembers the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status     int
	written    int64
	jsonErrors bool // rewrite the mux's own plain-text errors as JSON
	dropBody   bool
	principal  string // who the request was authenticated as, for the log
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
	codeTooMany     = "too_many_requests"
)

// statusOf maps every error code a response can carry to its HTTP status.
var statusOf = map[string]int{
	waarborg.EINVALID:      http.StatusBadRequest,
	waarborg.ENOTFOUND:     http.StatusNotFound,
	waarborg.ECONFLICT:     http.StatusConflict,
	waarborg.EUNAUTHORISED: http.StatusUnauthorized,
	waarborg.EFORBIDDEN:    http.StatusForbidden,
	codeTooMany:            http.StatusTooManyRequests,
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
