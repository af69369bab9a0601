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
func (s *server) getExceptions(w http.ResponseWriter, r *http.Request, c *call) {
	snap, err := c.view.Snapshot(c.tenant)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, snap)
}

// postAction appends a workflow record for a signed-in person's action on
// an exception and answers with the record once it is durable. The actor
// is the person; a body that names another is refused.
func (s *server) postAction(w http.ResponseWriter, r *http.Request, c *call) {
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
		s.writeError(w, r, waarborg.Errorf(waarborg.EINVALID, "body must be {\"action\":…,\"text\":…}: %v", err))
		return
	}
	if p := c.view.Principal(); a.Actor != "" && a.Actor != p.Name() {
		s.writeError(w, r, waarborg.Errorf(waarborg.EINVALID, "actor is the signed-in person, %s; leave it out", p.Name()))
		return
	}
	rec, err := c.view.Act(r.Context(), c.tenant, r.PathValue("control"), r.PathValue("subject"), a.Action, a.Text)
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
