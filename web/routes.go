package web

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Route patterns that the request log and metrics treat apart.
const (
	routeHealth  = "GET /healthz"
	routeMetrics = "GET /metrics"
)

// routes lists every route of the server.
func (s *server) routes() {
	s.mux.HandleFunc("POST /api/v1/records", s.postRecords)
	s.mux.HandleFunc("GET /api/v1/tenants/{tenant}/records/{id}", s.getRecord)
	s.mux.HandleFunc("GET /api/v1/tenants/{tenant}/checkpoint", s.getCheckpoint)
	s.mux.HandleFunc("GET /api/v1/tenants/{tenant}/consistency", s.getConsistency)
	s.mux.HandleFunc("GET /api/v1/tenants/{tenant}/controls", s.getControls)
	s.mux.HandleFunc("GET /api/v1/tenants/{tenant}/exceptions", s.getExceptions)
	// A subject may hold "/" (checkpoint/7): it takes the rest of the path.
	s.mux.HandleFunc("POST /api/v1/tenants/{tenant}/exceptions/{control}/{subject...}", s.postAction)
	s.mux.HandleFunc("GET /api/v1/connectors", s.getConnectors)
	s.mux.HandleFunc(routeHealth, s.health)
	s.mux.Handle(routeMetrics, promhttp.HandlerFor(s.metrics.gatherer, promhttp.HandlerOpts{
		// One failing collector (the store's sizes) must not hide the rest.
		ErrorHandling: promhttp.ContinueOnError,
		ErrorLog:      slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}))
}
