package web

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/waarborg/waarborg/access"
)

// Route patterns that the request log and metrics treat apart.
const (
	routeHealth  = "GET /healthz"
	routeMetrics = "GET /metrics"
	routeStatic  = "GET /static/{file}"
)

// How a route authenticates its caller.
type gate int

const (
	public gate = iota // anyone
	api                // an API token or a session; errors as JSON, 401 without either
	page               // a session; errors as pages, to the sign-in page without one
)

// A route is one pattern of the server. Routes with {tenant} in their
// pattern get the tenant resolved through the caller's view before the
// handler runs: a tenant the caller is not granted is a 404 there, never
// in the handler.
type route struct {
	pattern string
	gate    gate
	need    access.Action // what the caller must be allowed (0: nothing beyond the gate)
	h       handler
}

// A handler serves one route. c.view is nil on public routes; c.tenant is
// set where the pattern names {tenant}.
type handler func(w http.ResponseWriter, r *http.Request, c *call)

type call struct {
	view   *access.View
	tenant access.Tenant
}

// routeTable lists every route of the server.
func (s *server) routeTable() []route {
	metricsHandler := promhttp.HandlerFor(s.metrics.gatherer, promhttp.HandlerOpts{
		// One failing collector (the store's sizes) must not hide the rest.
		ErrorHandling: promhttp.ContinueOnError,
		ErrorLog:      slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	})
	return []route{
		// The JSON API (v1).
		{"POST /api/v1/records", api, access.Ingest, s.postRecords},
		{"GET /api/v1/tenants/{tenant}/records/{id}", api, access.Read, s.getRecord},
		{"GET /api/v1/tenants/{tenant}/checkpoint", api, access.Read, s.getCheckpoint},
		{"GET /api/v1/tenants/{tenant}/consistency", api, access.Read, s.getConsistency},
		{"GET /api/v1/tenants/{tenant}/controls", api, access.Read, s.getControls},
		{"GET /api/v1/tenants/{tenant}/exceptions", api, access.Read, s.getExceptions},
		// A subject may hold "/" (checkpoint/7): it takes the rest of the path.
		{"POST /api/v1/tenants/{tenant}/exceptions/{control}/{subject...}", api, access.Explain, s.postAction},
		// Connector health names sources of every tenant: for metrics readers.
		{"GET /api/v1/connectors", api, access.Metrics, func(w http.ResponseWriter, r *http.Request, _ *call) { s.getConnectors(w, r) }},
		{routeHealth, public, 0, s.health},
		{routeMetrics, api, access.Metrics, func(w http.ResponseWriter, r *http.Request, _ *call) { metricsHandler.ServeHTTP(w, r) }},

		// Signing in and out.
		{"GET /login", public, 0, s.loginPage},
		{"POST /login", public, 0, s.login},
		{"POST /logout", public, 0, s.logout},
		{routeStatic, public, 0, s.static},

		// Pages.
		{"GET /{$}", page, access.Read, s.home},
		{"GET /t/{tenant}/{$}", page, access.Read, s.overviewPage},
		{"GET /t/{tenant}/controls/{control}", page, access.Read, s.controlPage},
		{"GET /t/{tenant}/exceptions/{control}/{subject...}", page, access.Read, s.exceptionPage},
		{"POST /t/{tenant}/exceptions/{control}/{subject...}", page, access.Explain, s.exceptionAction},
		{"GET /t/{tenant}/records/{id}", page, access.Read, s.recordPage},
		{"GET /t/{tenant}/verify/{id}", page, access.Read, s.verifyPage},
		{"GET /t/{tenant}/ledger", page, access.Read, s.ledgerPage},
		{"GET /t/{tenant}/sources", page, access.Read, s.sourcesPage},
		{"GET /t/{tenant}/reports", page, access.Read, s.reportsPage},
		{"POST /t/{tenant}/reports", page, access.Report, s.generateReport},
		{"GET /t/{tenant}/reports/{report}/{file}", page, access.Read, s.downloadReport},
		{"GET /admin/users", page, access.Administer, s.usersPage},
		{"POST /admin/users", page, access.Administer, s.addUser},
		{"GET /admin/users/{name}", page, access.Administer, s.userPage},
		{"POST /admin/users/{name}", page, access.Administer, s.updateUser},
		{"GET /admin/tokens", page, access.Administer, s.tokensPage},
		{"POST /admin/tokens", page, access.Administer, s.addToken},
		{"POST /admin/tokens/{id}/revoke", page, access.Administer, s.revokeToken},
	}
}

// routes registers every route of routeTable on the mux.
func (s *server) routes() {
	s.table = s.routeTable()
	for _, rt := range s.table {
		s.mux.Handle(rt.pattern, s.guard(rt))
	}
}

// isAPI reports whether a request is for the JSON API (or metrics and
// health), whose errors are JSON, rather than for a page.
func isAPI(r *http.Request) bool {
	p := r.URL.Path
	return strings.HasPrefix(p, "/api/") || p == "/metrics" || p == "/healthz"
}

// guard authenticates the caller of a route, checks what the route needs
// and resolves its tenant, then runs the handler.
func (s *server) guard(rt route) http.Handler {
	needsTenant := strings.Contains(rt.pattern, "{tenant}")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := &call{}
		if rt.gate == public {
			rt.h(w, r, c)
			return
		}
		asAPI := rt.gate == api
		p, err := s.authenticate(r, asAPI)
		if err != nil {
			s.fail(w, r, asAPI, err)
			return
		}
		if sw, ok := w.(*statusWriter); ok {
			sw.principal = p.Name()
		}
		c.view = s.backend.View(p)
		if needsTenant {
			if c.tenant, err = c.view.Tenant(r.PathValue("tenant")); err != nil {
				s.fail(w, r, asAPI, err)
				return
			}
		}
		if rt.need != 0 {
			if err := c.view.Require(rt.need); err != nil {
				s.fail(w, r, asAPI, err)
				return
			}
		}
		rt.h(w, r, c)
	})
}

// fail answers with err: as JSON for the API, as a page otherwise, where
// an unauthenticated GET goes to the sign-in page instead.
func (s *server) fail(w http.ResponseWriter, r *http.Request, asAPI bool, err error) {
	if asAPI {
		if errorCode(err) == "unauthorised" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="waarborg"`)
		}
		s.writeError(w, r, err)
		return
	}
	s.errorPage(w, r, err)
}
