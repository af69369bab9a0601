package report

import (
	"fmt"
	"html/template"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/waarborg/waarborg/controls"
)

// A Chart is a bar or line chart over labelled points, drawn the same way
// in HTML (SVG) and in the PDF.
type Chart struct {
	Title  string
	Unit   string // of the values, for the axis
	Labels []string
	Series []Series
	Lines  bool // lines instead of grouped bars
}

// A Series is one named row of values, one per label.
type Series struct {
	Name   string
	Values []float64
}

// palette is readable in print and by readers with common colour-vision
// deficiencies (Okabe-Ito).
var palette = []string{"#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9"}

func (c *Chart) max() float64 {
	m := 0.0
	for _, s := range c.Series {
		for _, v := range s.Values {
			m = math.Max(m, v)
		}
	}
	return niceCeil(m)
}

// niceCeil rounds up to 1, 2 or 5 times a power of ten, for axis ticks.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// Geometry of a chart, in SVG user units and PDF millimetres alike (the
// PDF scales it).
const (
	chartW, chartH = 640.0, 220.0
	padL, padR     = 56.0, 8.0
	padT, padB     = 12.0, 40.0
	plotW, plotH   = chartW - padL - padR, chartH - padT - padB
	maxXLabels     = 14
)

// shape is a chart laid out: what to draw, independent of the medium.
type shape struct {
	rects  []rect
	lines  []polyline
	texts  []text
	guides []guide
}

type rect struct {
	x, y, w, h float64
	color      string
	title      string
}
type polyline struct {
	points []([2]float64)
	color  string
}
type text struct {
	x, y   float64
	s      string
	anchor string // start, middle, end
}
type guide struct{ y float64 }

func (c *Chart) layout() shape {
	var sh shape
	top := c.max()
	n := len(c.Labels)
	if n == 0 {
		return sh
	}
	y := func(v float64) float64 { return padT + plotH - v/top*plotH }
	for i := 0; i <= 4; i++ {
		v := top * float64(i) / 4
		sh.guides = append(sh.guides, guide{y(v)})
		sh.texts = append(sh.texts, text{padL - 4, y(v) + 3, compact(v), "end"})
	}
	slot := plotW / float64(n)
	step := int(math.Ceil(float64(n) / maxXLabels))
	for i, l := range c.Labels {
		if i%step == 0 {
			sh.texts = append(sh.texts, text{padL + slot*(float64(i)+0.5), padT + plotH + 14, l, "middle"})
		}
	}
	if c.Lines {
		for si, s := range c.Series {
			pl := polyline{color: palette[si%len(palette)]}
			for i, v := range s.Values {
				pl.points = append(pl.points, [2]float64{padL + slot*(float64(i)+0.5), y(v)})
			}
			sh.lines = append(sh.lines, pl)
		}
	} else {
		bw := slot * 0.8 / float64(max(len(c.Series), 1))
		for si, s := range c.Series {
			for i, v := range s.Values {
				if v == 0 {
					continue
				}
				x := padL + slot*float64(i) + slot*0.1 + bw*float64(si)
				sh.rects = append(sh.rects, rect{x, y(v), bw, padT + plotH - y(v), palette[si%len(palette)],
					fmt.Sprintf("%s, %s: %s", c.Labels[i], s.Name, compact(v))})
			}
		}
	}
	// The legend, below the axis labels.
	x := padL
	for si, s := range c.Series {
		sh.rects = append(sh.rects, rect{x, chartH - 14, 8, 8, palette[si%len(palette)], ""})
		sh.texts = append(sh.texts, text{x + 11, chartH - 7, s.Name, "start"})
		x += 16 + 6*float64(len(s.Name))
	}
	return sh
}

// compact writes an axis or tooltip value briefly: 1200 → 1.2k.
func compact(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e6:
		return strings.TrimSuffix(strings.TrimSuffix(fmt.Sprintf("%.1f", v/1e6), "0"), ".") + "M"
	case a >= 1e4:
		return fmt.Sprintf("%.0fk", v/1e3)
	case a >= 1e3:
		return strings.TrimSuffix(strings.TrimSuffix(fmt.Sprintf("%.1f", v/1e3), "0"), ".") + "k"
	case a == math.Trunc(a):
		return fmt.Sprintf("%.0f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// SVG renders the chart as inline SVG with a text alternative: the title,
// and a table of the values follows in the HTML for screen readers.
func (c *Chart) SVG() template.HTML {
	sh := c.layout()
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %.0f %.0f" role="img" aria-label="%s" class="chart">`, chartW, chartH, template.HTMLEscapeString(c.Title))
	for _, g := range sh.guides {
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#ddd"/>`, padL, padL+plotW, g.y, g.y)
	}
	for _, r := range sh.rects {
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s">`, r.x, r.y, r.w, r.h, r.color)
		if r.title != "" {
			fmt.Fprintf(&b, `<title>%s</title>`, template.HTMLEscapeString(r.title))
		}
		b.WriteString(`</rect>`)
	}
	for _, l := range sh.lines {
		var pts []string
		for _, p := range l.points {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", p[0], p[1]))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`, l.color, strings.Join(pts, " "))
	}
	for _, t := range sh.texts {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="%s" font-size="10">%s</text>`, t.x, t.y, t.anchor, template.HTMLEscapeString(t.s))
	}
	fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#333"/>`, padL, padL+plotW, padT+plotH, padT+plotH)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// Charts returns the report's charts: exceptions per month per control
// area, OT against ERP quantities per week (one chart per unit), measured
// against confirmed machine hours per week, and records and gaps per week.
func (r *Report) Charts() []*Chart {
	st := r.Stats
	var months, weeks []string
	for _, m := range st.Months {
		months = append(months, m.Label)
	}
	for _, w := range st.Weeks {
		weeks = append(weeks, w.Start.Format("02 Jan"))
	}
	ex := &Chart{Title: "Exceptions per month by control area", Unit: "exceptions", Labels: months}
	perMonth := r.ExceptionsPerMonth()
	for ai, a := range controls.Objectives {
		s := Series{Name: a.Name}
		for mi := range months {
			s.Values = append(s.Values, float64(perMonth[mi][ai]))
		}
		ex.Series = append(ex.Series, s)
	}
	out := []*Chart{ex}

	// One chart per unit that carries a real share of the volume; stray
	// units (a mis-keyed "KGM") show as PC-01/PC-02 exceptions instead.
	volume := map[string]float64{}
	top := 0.0
	for _, w := range st.Weeks {
		for u, v := range w.Produced {
			volume[u] += math.Abs(v)
			top = max(top, volume[u])
		}
		for u, v := range w.Received {
			volume[u] += math.Abs(v)
			top = max(top, volume[u])
		}
	}
	for _, u := range slices.Sorted(maps.Keys(volume)) {
		if volume[u] < top/100 {
			continue
		}
		c := &Chart{Title: "OT production counts against ERP goods receipts per week, in " + u, Unit: u, Labels: weeks, Lines: true}
		ot, erp := Series{Name: "OT counted"}, Series{Name: "ERP received (net)"}
		for _, w := range st.Weeks {
			ot.Values = append(ot.Values, w.Produced[u])
			erp.Values = append(erp.Values, w.Received[u])
		}
		c.Series = []Series{ot, erp}
		out = append(out, c)
	}
	hours := &Chart{Title: "Measured machine hours against hours confirmed to the ERP per week", Unit: "h", Labels: weeks, Lines: true}
	run, conf := Series{Name: "measured (machine.runtime)"}, Series{Name: "confirmed (erp.confirmation)"}
	vol := &Chart{Title: "Records per week, all sources", Unit: "records", Labels: weeks}
	gapChart := &Chart{Title: "Source gaps per week (source.gap records: data known to be lost)", Unit: "gaps", Labels: weeks}
	recs, gaps := Series{Name: "records"}, Series{Name: "source gaps"}
	for wi, w := range st.Weeks {
		run.Values = append(run.Values, w.RunHours)
		conf.Values = append(conf.Values, w.ConfirmedHours)
		n := 0
		for _, src := range st.Sources {
			n += src.Weekly[wi]
		}
		recs.Values = append(recs.Values, float64(n))
		gaps.Values = append(gaps.Values, float64(w.Gaps))
	}
	hours.Series = []Series{run, conf}
	vol.Series = []Series{recs}
	gapChart.Series = []Series{gaps}
	return append(out, hours, vol, gapChart)
}
