package web

import (
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/waarborg/waarborg"
)

// getRecord answers with a record and the proof that it is in the log: the
// ledger.InclusionProof JSON, against the checkpoint of ?size= or the latest.
func (s *server) getRecord(w http.ResponseWriter, r *http.Request, c *call) {
	id := r.PathValue("id")
	if !waarborg.ValidID(id) {
		s.writeError(w, r, waarborg.Errorf(waarborg.EINVALID, "record id must be 1-128 characters of A-Za-z0-9._:-"))
		return
	}
	size, _, err := queryUint(r, "size")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := c.view.Inclusion(r.Context(), c.tenant, id, size)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, p)
}

type checkpointJSON struct {
	Tenant     string `json:"tenant"`
	TreeSize   uint64 `json:"tree_size"`
	RootHash   []byte `json:"root_hash"`
	SignedAt   string `json:"signed_at"`
	Checkpoint string `json:"checkpoint"` // the C2SP signed note
}

// getCheckpoint answers with a tenant's latest signed checkpoint: as JSON,
// or as the bare signed note for clients that ask for text/plain (the form
// tlog witnesses and monitors read).
func (s *server) getCheckpoint(w http.ResponseWriter, r *http.Request, c *call) {
	cp, err := c.view.Store().Checkpoint(r.Context(), c.tenant.Name(), 0)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Vary", "Accept")
	if wantsText(r.Header.Get("Accept")) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write(cp.Note)
		return
	}
	s.writeJSON(w, r, http.StatusOK, &checkpointJSON{
		Tenant:     cp.Tenant,
		TreeSize:   cp.Size,
		RootHash:   cp.Root,
		SignedAt:   waarborg.FormatReceived(cp.SignedAt),
		Checkpoint: string(cp.Note),
	})
}

// getConsistency answers with the proof that the checkpoint of size ?to=
// (default: the latest) extends the one of size ?from=.
func (s *server) getConsistency(w http.ResponseWriter, r *http.Request, c *call) {
	from, ok, err := queryUint(r, "from")
	if err == nil && !ok {
		err = waarborg.Errorf(waarborg.EINVALID, "from is required: the size of the older checkpoint")
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	to, ok, err := queryUint(r, "to")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !ok {
		cp, err := c.view.Store().Checkpoint(r.Context(), c.tenant.Name(), 0)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		to = cp.Size
	}
	p, err := c.view.Consistency(r.Context(), c.tenant, from, to)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, p)
}

func (s *server) health(w http.ResponseWriter, r *http.Request, _ *call) {
	s.writeJSON(w, r, http.StatusOK, map[string]string{"status": "ok"})
}

// queryUint reads an optional unsigned integer query parameter.
func queryUint(r *http.Request, name string) (n uint64, ok bool, err error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, false, nil
	}
	n, err = strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, false, waarborg.Errorf(waarborg.EINVALID, "%s must be an unsigned integer, not %q", name, v)
	}
	return n, true, nil
}

// wantsText reports whether an Accept header prefers text/plain to JSON.
// The first of the two that it names wins; q-values are not weighed, as no
// client of this API sends both with weights.
func wantsText(accept string) bool {
	for part := range strings.SplitSeq(accept, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "text/plain":
			return true
		case "application/json", "application/*", "*/*":
			return false
		}
	}
	return false
}
