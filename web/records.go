package web

import (
	"bytes"
	"errors"
	"net/http"
	"runtime"
	"sync"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/ledger"
)

// batchResult answers a POST of records: one result for each line that is
// not blank, in input order.
type batchResult struct {
	Accepted  int          `json:"accepted"`
	Duplicate int          `json:"duplicate"`
	Rejected  int          `json:"rejected"`
	Results   []lineResult `json:"results"`
}

type lineResult struct {
	Line   int        `json:"line"`
	ID     string     `json:"id,omitempty"`
	Status string     `json:"status"`          // accepted, duplicate or rejected
	Index  *uint64    `json:"index,omitempty"` // the leaf index, for accepted lines
	Error  *lineError `json:"error,omitempty"`
}

type lineError struct {
	Code    string `json:"code"`
	Field   string `json:"field,omitempty"`
	Rule    string `json:"rule"`
	Message string `json:"message"`
}

// The statuses of a line.
const (
	statusAccepted  = "accepted"
	statusDuplicate = "duplicate"
	statusRejected  = "rejected"
)

// postRecords appends a JSON Lines batch. Valid lines are appended in one
// ledger call, so the answer comes once all of them are durable; bad lines
// are reported beside them and do not hold them back (records.md). A batch
// with a record of a tenant the token is not granted is refused whole.
func (s *server) postRecords(w http.ResponseWriter, r *http.Request, c *call) {
	if r.ContentLength > s.maxBody {
		s.writeError(w, r, &http.MaxBytesError{Limit: s.maxBody})
		return
	}
	buf := bytes.NewBuffer(make([]byte, 0, min(max(r.ContentLength, 0), s.maxBody)+bytes.MinRead))
	// The whole body is read before anything is appended: a batch that is
	// too large is refused entirely rather than cut at an arbitrary line.
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, s.maxBody)); err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); !ok {
			err = waarborg.Errorf(waarborg.EINVALID, "read request body: %v", err)
		}
		s.writeError(w, r, err)
		return
	}
	lines := splitLines(buf.Bytes())
	recs, errs := parseLines(lines)

	valid := make([]*waarborg.Record, 0, len(recs))
	for _, rec := range recs {
		if rec != nil {
			valid = append(valid, rec)
		}
	}
	appended, err := c.view.Append(r.Context(), valid)
	if err != nil {
		s.writeError(w, r, err)
		return
	}

	out := batchResult{Results: make([]lineResult, len(lines))}
	k := 0
	for i, rec := range recs {
		res := &out.Results[i]
		res.Line = lines[i].no
		if rec == nil {
			out.Rejected++
			res.Status = statusRejected
			res.ID, res.Error = rejection(errs[i])
			continue
		}
		res.ID = rec.ID
		switch a := appended[k]; a.Outcome {
		case ledger.Accepted:
			out.Accepted++
			res.Status, res.Index = statusAccepted, &a.Index
		case ledger.Duplicate:
			out.Duplicate++
			res.Status = statusDuplicate
		default:
			out.Rejected++
			res.Status = statusRejected
			res.Error = &lineError{Code: waarborg.ECONFLICT, Field: "id", Rule: waarborg.RuleConflict,
				Message: "the tenant holds this id with other content; the first version stays"}
		}
		k++
	}
	s.metrics.records.WithLabelValues(statusAccepted).Add(float64(out.Accepted))
	s.metrics.records.WithLabelValues(statusDuplicate).Add(float64(out.Duplicate))
	s.metrics.records.WithLabelValues(statusRejected).Add(float64(out.Rejected))

	status := http.StatusOK
	if out.Rejected > 0 {
		status = http.StatusUnprocessableEntity
	}
	s.writeJSON(w, r, status, &out)
}

// rejection describes why a line was refused, and the id it names when it
// had a readable one.
func rejection(err error) (id string, e *lineError) {
	if re, ok := errors.AsType[*waarborg.RecordError](err); ok {
		return re.ID, &lineError{Code: waarborg.EINVALID, Field: re.Field, Rule: re.Rule, Message: re.Msg}
	}
	return "", &lineError{Code: waarborg.ErrorCode(err), Rule: waarborg.RuleJSON, Message: waarborg.ErrorMessage(err)}
}

// A line is one line of a request body that is not blank.
type line struct {
	no   int // 1-based, counting blank lines too
	text []byte
}

func splitLines(body []byte) []line {
	lines := make([]line, 0, bytes.Count(body, []byte{'\n'})+1)
	for no := 1; len(body) > 0; no++ {
		text, rest, _ := bytes.Cut(body, []byte{'\n'})
		body = rest
		if text = bytes.TrimSpace(text); len(text) > 0 {
			lines = append(lines, line{no: no, text: text})
		}
	}
	return lines
}

// parseSpread is the number of lines below which a batch is parsed on the
// request's own goroutine: spreading a small one costs more than it saves.
const parseSpread = 512

// parseLines parses every line; recs[i] is nil where errs[i] says why.
func parseLines(lines []line) (recs []*waarborg.Record, errs []error) {
	recs, errs = make([]*waarborg.Record, len(lines)), make([]error, len(lines))
	parse := func(from, to int) {
		for i := from; i < to; i++ {
			recs[i], errs[i] = waarborg.ParseRecord(lines[i].text)
		}
	}
	workers := min(runtime.GOMAXPROCS(0), len(lines)/parseSpread)
	if workers <= 1 {
		parse(0, len(lines))
		return recs, errs
	}
	var wg sync.WaitGroup
	per := (len(lines) + workers - 1) / workers
	for from := 0; from < len(lines); from += per {
		wg.Go(func() { parse(from, min(from+per, len(lines))) })
	}
	wg.Wait()
	return recs, errs
}
