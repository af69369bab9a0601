package web

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/monitor"
)

// maxActionBody bounds an action's JSON: a few paragraphs of text.
const maxActionBody = 1 << 20

// getExceptions answers with the tenant's current exceptions of the
// monitored period and their workflow, as the last evaluation found them.
func (s *server) getExceptions(w http.ResponseWriter, r *http.Request) {
	tenant, err := tenantValue(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if s.monitor == nil {
		s.writeError(w, r, waarborg.Errorf(waarborg.ENOTFOUND, "continuous monitoring is off on this server"))
		return
	}
	snap := s.monitor.Snapshot(tenant)
	if snap == nil {
		s.writeError(w, r, waarborg.Errorf(waarborg.ENOTFOUND, "no monitored log for tenant %q (yet)", tenant))
		return
	}
	s.writeJSON(w, r, http.StatusOK, snap)
}

// postAction appends a workflow record for an action on an exception and
// answers with the record once it is durable. Authentication is not there
// yet: actor is what the client says.
func (s *server) postAction(w http.ResponseWriter, r *http.Request) {
	tenant, err := tenantValue(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if s.monitor == nil {
		s.writeError(w, r, waarborg.Errorf(waarborg.ENOTFOUND, "continuous monitoring is off on this server"))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxActionBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); !ok {
			err = waarborg.Errorf(waarborg.EINVALID, "read request body: %v", err)
		}
		s.writeError(w, r, err)
		return
	}
	var a monitor.Action
	if err := json.Unmarshal(body, &a); err != nil {
		s.writeError(w, r, waarborg.Errorf(waarborg.EINVALID, "body must be {\"action\":…,\"text\":…,\"actor\":…}: %v", err))
		return
	}
	rec, err := s.monitor.Act(r.Context(), s.ledger, tenant, r.PathValue("control"), r.PathValue("subject"), a)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	w.Write(append(rec.Canonical, '\n'))
}

var openDesc = prometheus.NewDesc("waarborg_open_exceptions",
	"Current exceptions of the monitored period that are open or explained (not remediated or accepted), by tenant and control.",
	[]string{"tenant", "control"}, nil)

// pendingCollector reads the monitor's counts at each scrape. Every control
// of the catalog has a series, zero included, so that an alert on it sees
// the count fall to zero rather than vanish.
type pendingCollector struct {
	monitor *monitor.Service
}

func (c *pendingCollector) Describe(ch chan<- *prometheus.Desc) { ch <- openDesc }

func (c *pendingCollector) Collect(ch chan<- prometheus.Metric) {
	ids := c.monitor.Controls()
	for tenant, counts := range c.monitor.Pending() {
		for _, id := range ids {
			ch <- prometheus.MustNewConstMetric(openDesc, prometheus.GaugeValue, float64(counts[id]), tenant, id)
		}
	}
}
