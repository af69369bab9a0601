package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/waarborg/waarborg/controls"
)

//go:embed report.html.tmpl
var htmlSource string

var htmlTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"datetime": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"day":        day,
	"lastday":    func(t time.Time) string { return day(t.Add(-time.Nanosecond)) },
	"join":       strings.Join,
	"topTypes":   topTypes,
	"value":      compact,
	"conclusion": Conclusion,
	"mappings":   Mappings,
}).Parse(htmlSource))

// HTML writes the report as one self-contained, print-ready HTML page.
func HTML(w io.Writer, r *Report) error {
	if err := r.check(); err != nil {
		return err
	}
	return htmlTemplate.Execute(w, r)
}

func (r *Report) check() error {
	if r.Profile == nil || r.Catalog == nil || r.Result == nil || r.Stats == nil {
		return fmt.Errorf("report: profile, catalog, result and stats are all required")
	}
	return nil
}

// Sites returns the sites with records in the period.
func (r *Report) Sites() []Site { return r.Stats.Sites() }

// SourceList returns the sources of the period by name.
func (r *Report) SourceList() []*Source { return r.Stats.SourceList() }

// Areas returns the control areas: the control objectives.
func (r *Report) Areas() []controls.Objective { return controls.Objectives }

// Control returns the catalog's control id; a result always comes from
// the catalog, so an unknown id is a zero control.
func (r *Report) Control(id string) *controls.Control {
	if c, ok := r.Catalog.Control(id); ok {
		return c
	}
	return &controls.Control{ID: id}
}

// Method says how control id was tested in this report.
func (r *Report) Method(id string) string { return Method(r.Control(id), r.Kind) }

// Trace returns control id's traced instance, or nil.
func (r *Report) Trace(id string) *Trace { return r.Traces[id] }

// State returns the workflow state of an exception.
func (r *Report) State(control, subject string) controls.ExceptionState {
	return r.Stats.Workflow.State(control, subject)
}

// AllParameters lists every parameter in force as "AC-04 revocation_window = 24h; …".
func (r *Report) AllParameters() string {
	var out []string
	for _, id := range slices.Sorted(maps.Keys(r.Result.Catalog.Parameters)) {
		out = append(out, id+" "+r.Parameters(id))
	}
	return strings.Join(out, "; ")
}

// topTypes names the most frequent record types of a month.
func topTypes(byType map[string]int) string {
	types := slices.Collect(maps.Keys(byType))
	slices.SortFunc(types, func(a, b string) int {
		if byType[a] != byType[b] {
			return byType[b] - byType[a]
		}
		return strings.Compare(a, b)
	})
	var out []string
	for i, t := range types {
		if i == 4 {
			out = append(out, fmt.Sprintf("and %d more types", len(types)-4))
			break
		}
		out = append(out, fmt.Sprintf("%s %d", t, byType[t]))
	}
	return strings.Join(out, ", ")
}
