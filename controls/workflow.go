package controls

import (
	"slices"
	"time"

	"github.com/waarborg/waarborg"
)

// The statuses of an exception's workflow (docs/records-workflow.md).
const (
	StatusOpen       = "open"
	StatusExplained  = "explained"
	StatusRemediated = "remediated"
	StatusAccepted   = "accepted"
)

// statusOf maps each workflow record type to the status it sets.
var statusOf = map[string]string{
	"exception.explain":   StatusExplained,
	"exception.remediate": StatusRemediated,
	"exception.accept":    StatusAccepted,
}

// IsWorkflow reports whether records of type typ are exception workflow
// actions, which no control but LM-03 counts.
func IsWorkflow(typ string) bool {
	_, ok := statusOf[typ]
	return ok
}

// An Action is one workflow record: who did what to an exception, and when.
// Text is its explanation, remediation or management response.
type Action struct {
	ID     string    `json:"id"`
	Type   string    `json:"type"`
	Status string    `json:"status"` // the status it sets
	Actor  string    `json:"actor"`
	Time   time.Time `json:"time"`
	Text   string    `json:"text"`
}

// ExceptionState is where an exception stands: the status of its latest
// action by time then id, StatusOpen when it has none, and every action,
// sorted the same way.
type ExceptionState struct {
	Status  string   `json:"status"`
	History []Action `json:"history"` // never nil
}

// Workflow derives exceptions' states from workflow records. It depends only
// on the set of records applied, not on their order. The zero value is
// ready; it is not safe for concurrent use.
type Workflow struct {
	actions map[workflowKey][]Action
	seen    map[string]bool // record ids already applied
}

type workflowKey struct{ control, subject string }

// Apply takes in r if it is a workflow record and ignores it otherwise. A
// record applied twice (same id) counts once. Corrections do not apply to
// workflow records: a later action supersedes an earlier one instead.
func (w *Workflow) Apply(r *waarborg.Record) {
	status, ok := statusOf[r.Type]
	if !ok || w.seen[r.ID] {
		return
	}
	if w.actions == nil {
		w.actions = make(map[workflowKey][]Action)
		w.seen = make(map[string]bool)
	}
	w.seen[r.ID] = true
	text := ""
	for _, k := range []string{"explanation", "remediation", "response"} {
		text += r.Str(k)
	}
	k := workflowKey{r.Str("control"), r.Str("subject")}
	as := append(w.actions[k], Action{ID: r.ID, Type: r.Type, Status: status, Actor: r.Actor, Time: r.Time, Text: text})
	slices.SortFunc(as, func(a, b Action) int { return compareAt(a.Time, a.ID, b.Time, b.ID) })
	w.actions[k] = as
}

// State returns the state of control's exception about subject.
func (w *Workflow) State(control, subject string) ExceptionState {
	as := w.actions[workflowKey{control, subject}]
	if len(as) == 0 {
		return ExceptionState{Status: StatusOpen, History: []Action{}}
	}
	return ExceptionState{Status: as[len(as)-1].Status, History: slices.Clone(as)}
}

// Pending reports whether status still asks for work: open or explained.
// An explanation says why, but nothing is fixed or accepted yet.
func Pending(status string) bool {
	return status == StatusOpen || status == StatusExplained
}
