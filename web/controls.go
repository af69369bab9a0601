package web

import (
	"net/http"
	"time"

	"github.com/waarborg/waarborg"
)

// getControls answers with the result document of the controls spec for
// the period [?from=, ?to=) (dates as UTC midnights, or RFC 3339 instants).
func (s *server) getControls(w http.ResponseWriter, r *http.Request, c *call) {
	var bounds [2]time.Time
	for i, name := range []string{"from", "to"} {
		t, err := waarborg.ParseBound(r.URL.Query().Get(name))
		if err != nil {
			s.writeError(w, r, waarborg.Errorf(waarborg.EINVALID, "?%s=: %s", name, waarborg.ErrorMessage(err)))
			return
		}
		bounds[i] = t
	}
	res, err := c.view.Assess(r.Context(), c.tenant, s.catalog, bounds[0], bounds[1])
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, res)
}
