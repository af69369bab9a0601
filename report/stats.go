package report

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/controls"
)

// Stats gathers, in one pass over a tenant's log, what the report says
// about the system beyond the control results: what the ledger holds per
// site, line and source, volumes over time, the OT and ERP quantities side
// by side, corrections and the exceptions' workflow. Add every record of
// the log, in any order; only records whose time lies in [From, To) count
// towards volumes, but every workflow record applies.
type Stats struct {
	From, To time.Time

	Records  int // in the period
	Sources  map[string]*Source
	Months   []Month // one per calendar month (UTC) the period touches
	Weeks    []Week  // one per 7 days from From
	Workflow controls.Workflow
	// Corrections are the correction records of the period, in log order.
	Corrections []*waarborg.Record
	// Latest holds per record type the latest record of the period, by
	// time then id: Type I traces one instance of each control from it.
	Latest map[string]*waarborg.Record
	// Signoffs holds the review.signoff records by review and period
	// label, for tracing the manual controls.
	Signoffs map[string]*waarborg.Record
}

// A Source is one source path's share of the period.
type Source struct {
	Name        string
	Site, Line  string
	Records     int
	First, Last time.Time
	Gaps        int   // source.gap records
	Weekly      []int // records per week, as Stats.Weeks
}

// A Month is one calendar month's record volume by control area.
type Month struct {
	Label   string         // 2026-01
	Records int            // all records
	ByType  map[string]int // per record type
}

// A Week holds the quantities per week that reconciling controls compare,
// for charts; exact figures are the control totals of the result.
type Week struct {
	Start time.Time
	// Produced and Received are OT counts and ERP goods receipts (net of
	// reversals posted in the same week) per unit.
	Produced, Received map[string]float64
	RunHours           float64 // machine.runtime run_seconds / 3600
	ConfirmedHours     float64 // erp.confirmation machine_hours
	Gaps               int
}

// NewStats returns empty Stats for [from, to).
func NewStats(from, to time.Time) *Stats {
	s := &Stats{From: from.UTC(), To: to.UTC(), Sources: map[string]*Source{},
		Latest: map[string]*waarborg.Record{}, Signoffs: map[string]*waarborg.Record{}}
	for m := time.Date(s.From.Year(), s.From.Month(), 1, 0, 0, 0, 0, time.UTC); m.Before(s.To); m = m.AddDate(0, 1, 0) {
		s.Months = append(s.Months, Month{Label: m.Format("2006-01"), ByType: map[string]int{}})
	}
	for w := s.From; w.Before(s.To); w = w.AddDate(0, 0, 7) {
		s.Weeks = append(s.Weeks, Week{Start: w, Produced: map[string]float64{}, Received: map[string]float64{}})
	}
	return s
}

// Add takes in one record of the tenant's log.
func (s *Stats) Add(r *waarborg.Record) {
	s.Workflow.Apply(r)
	if r.Type == "review.signoff" {
		k := r.Str("review") + "/" + r.Str("period")
		if old := s.Signoffs[k]; old == nil || r.Time.Before(old.Time) || r.Time.Equal(old.Time) && r.ID < old.ID {
			s.Signoffs[k] = r
		}
	}
	if r.Time.Before(s.From) || !r.Time.Before(s.To) {
		return
	}
	s.Records++
	if r.Type == "correction" {
		s.Corrections = append(s.Corrections, r)
	}
	if old := s.Latest[r.Type]; old == nil || r.Time.After(old.Time) || r.Time.Equal(old.Time) && r.ID > old.ID {
		s.Latest[r.Type] = r
	}
	mi := (r.Time.Year()-s.From.Year())*12 + int(r.Time.Month()-s.From.Month())
	m := &s.Months[mi]
	m.Records++
	m.ByType[r.Type]++
	wi := int(r.Time.Sub(s.From) / (7 * 24 * time.Hour))
	w := &s.Weeks[wi]

	src := s.Sources[r.Source]
	if src == nil {
		site, rest, _ := strings.Cut(r.Source, "/")
		line, _, _ := strings.Cut(rest, "/")
		src = &Source{Name: r.Source, Site: site, Line: line, First: r.Time, Weekly: make([]int, len(s.Weeks))}
		s.Sources[r.Source] = src
	}
	src.Records++
	src.Weekly[wi]++
	if r.Time.Before(src.First) {
		src.First = r.Time
	}
	if r.Time.After(src.Last) {
		src.Last = r.Time
	}

	switch r.Type {
	case "source.gap":
		src.Gaps++
		w.Gaps++
	case "production.count":
		w.Produced[r.Str("unit")] += number(r.Num("quantity"))
	case "erp.posting":
		switch r.Str("movement") {
		case "goods_receipt":
			w.Received[r.Str("unit")] += number(r.Num("quantity"))
		case "reversal":
			w.Received[r.Str("unit")] -= number(r.Num("quantity"))
		}
	case "machine.runtime":
		w.RunHours += number(r.Num("run_seconds")) / 3600
	case "erp.confirmation":
		if r.Str("activity") == "machine_hours" {
			w.ConfirmedHours += number(r.Num("quantity"))
		}
	}
}

// number reads a quantity for a chart, where float64 is precise enough;
// figures that are compared are summed exactly by the controls engine.
func number(text string) float64 {
	f, _ := strconv.ParseFloat(text, 64)
	return f
}

// Sites returns the sites with records in the period and, per site, its
// lines, sorted.
func (s *Stats) Sites() []Site {
	bySite := map[string]*Site{}
	for _, src := range s.Sources {
		st := bySite[src.Site]
		if st == nil {
			st = &Site{Name: src.Site}
			bySite[src.Site] = st
		}
		st.Records += src.Records
		st.Sources++
		if strings.HasPrefix(src.Line, "line") && !slices.Contains(st.Lines, src.Line) {
			st.Lines = append(st.Lines, src.Line)
		}
	}
	var out []Site
	for _, st := range bySite {
		slices.Sort(st.Lines)
		out = append(out, *st)
	}
	slices.SortFunc(out, func(a, b Site) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// A Site is one site's share of the period.
type Site struct {
	Name    string
	Lines   []string
	Sources int
	Records int
}

// SourceList returns the sources sorted by name.
func (s *Stats) SourceList() []*Source {
	out := make([]*Source, 0, len(s.Sources))
	for _, src := range s.Sources {
		out = append(out, src)
	}
	slices.SortFunc(out, func(a, b *Source) int { return strings.Compare(a.Name, b.Name) })
	return out
}
