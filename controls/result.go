package controls

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// A Result is the outcome of evaluating a catalog for one tenant and period.
// It marshals to the result document of controls.md.
type Result struct {
	Tenant     string          `json:"tenant"`
	From       time.Time       `json:"from"`       // in UTC
	To         time.Time       `json:"to"`         // in UTC
	Checkpoint string          `json:"checkpoint"` // set by the caller: the signed checkpoint read, as text
	Controls   []ControlResult `json:"controls"`   // sorted by ID
	// Catalog is the catalog in force, beyond the fields of controls.md:
	// what the result was evaluated against.
	Catalog InForce `json:"catalog"`
}

// InForce is a catalog's version and the value of every parameter, in the
// form Catalog.Override reads: control id → parameter name → value. A
// control without parameters is absent.
type InForce struct {
	Version    int                          `json:"version"`
	Parameters map[string]map[string]string `json:"parameters"`
}

// InForce returns the parameter values evaluation uses.
func (c *Catalog) InForce() InForce {
	in := InForce{Version: c.Version, Parameters: make(map[string]map[string]string)}
	for _, ctl := range c.Controls {
		for _, p := range ctl.Parameters {
			if in.Parameters[ctl.ID] == nil {
				in.Parameters[ctl.ID] = make(map[string]string)
			}
			v := p.Value
			if v == "" {
				v = p.Default
			}
			in.Parameters[ctl.ID][p.Name] = v
		}
	}
	return in
}

// A ControlResult is the outcome of one control.
type ControlResult struct {
	ID         string      `json:"id"`
	Objective  string      `json:"objective"`
	Title      string      `json:"title"`
	Automated  bool        `json:"automated"`
	Population int         `json:"population"`
	Result     string      `json:"result"`     // Effective, Exceptions or NotOccurring
	Exceptions []Exception `json:"exceptions"` // sorted by Subject, never nil
	// Totals are the control totals of a reconciling control (PC-01, PC-02,
	// PC-07) over its population, sorted by name then unit; beyond the
	// fields of controls.md.
	Totals []Total `json:"totals,omitempty"`
	// Items are the population items, record ids or period labels, when
	// Input.Populations asked for them; they are not part of the document.
	Items []string `json:"-"`
}

// The values of ControlResult.Result. An empty population is NotOccurring,
// never Effective.
const (
	Effective    = "effective"
	Exceptions   = "exceptions"
	NotOccurring = "not-occurring"
)

// An Exception is one failing subject of a control: the id of the record it
// is about, or, for manual controls, the period label ("2026-Q1"). Reasons
// are sorted. Records lists the ids of the records that show it, the
// subject first when it is a record; it is empty for a manual control.
type Exception struct {
	Subject string   `json:"subject"`
	Reasons []string `json:"reasons"`
	Detail  string   `json:"detail"`
	Records []string `json:"records"`
}

// WriteTable writes the result as a table a person reads in a terminal:
// one row a control with its population, number of exceptions and result.
func (r *Result) WriteTable(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%-7s  %10s  %10s  %s\n", "control", "population", "exceptions", "result")
	for _, c := range r.Controls {
		fmt.Fprintf(&b, "%-7s  %10d  %10d  %s\n", c.ID, c.Population, len(c.Exceptions), c.Result)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// A check collects the population count and the exceptions of one control.
type check struct {
	pop     int
	ex      map[string]*Exception
	totals  totals
	collect bool     // keep the items
	items   []string // the population items, when collect
}

// add counts one population item.
func (c *check) add(id string) {
	c.pop++
	if c.collect {
		c.items = append(c.items, id)
	}
}

// addRef counts one population item known by its arena reference.
func (c *check) addRef(e *engine, id idRef) {
	c.pop++
	if c.collect {
		c.items = append(c.items, e.ids.get(id))
	}
}

// fail records that subject fails for reason; records are the ids that show
// it, the subject's first when it is a record. A subject that fails for
// several reasons is one exception with all of them.
func (c *check) fail(subject, reason, detail string, records ...string) {
	if c.ex == nil {
		c.ex = make(map[string]*Exception)
	}
	e := c.ex[subject]
	if e == nil {
		e = &Exception{Subject: subject, Records: []string{}}
		c.ex[subject] = e
	}
	if !slices.Contains(e.Reasons, reason) {
		e.Reasons = append(e.Reasons, reason)
	}
	if detail != "" {
		if e.Detail != "" {
			e.Detail += "; "
		}
		e.Detail += detail
	}
	for _, id := range records {
		if id != "" && !slices.Contains(e.Records, id) {
			e.Records = append(e.Records, id)
		}
	}
}

func (c *check) result(ctl *Control) ControlResult {
	r := ControlResult{
		ID:         ctl.ID,
		Objective:  ctl.Objective,
		Title:      ctl.Title,
		Automated:  ctl.Automated,
		Population: c.pop,
		Exceptions: []Exception{},
		Totals:     c.totals.list(),
		Items:      c.items,
	}
	for _, s := range slices.Sorted(maps.Keys(c.ex)) {
		e := c.ex[s]
		slices.Sort(e.Reasons)
		r.Exceptions = append(r.Exceptions, *e)
	}
	switch {
	case c.pop == 0 && len(r.Exceptions) == 0:
		r.Result = NotOccurring
	case len(r.Exceptions) == 0:
		r.Result = Effective
	default:
		r.Result = Exceptions
	}
	return r
}

// fmtDur prints a duration the way people write them: 26h0m0s as 26h.
func fmtDur(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
