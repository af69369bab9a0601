package web

import (
	"fmt"
	"html"
	"html/template"
	"strings"
)

// Charts are SVG drawn on the server: no script, and a table of the same
// figures beside each for those who do not see it.

// A barChart is a stacked bar chart: one bar a bucket, one segment a
// series. Series are coloured by the CSS classes s0, s1, ….
type barChart struct {
	ID     string // unique on the page, for aria references
	Title  string
	Desc   string
	Labels []string // a label per bucket
	Series []string // a name per series
	Values [][]int  // [bucket][series]
}

// Total returns the sum of a bucket.
func (c *barChart) Total(bucket int) int {
	n := 0
	for _, v := range c.Values[bucket] {
		n += v
	}
	return n
}

// niceMax rounds n up to 1, 2 or 5 times a power of ten.
func niceMax(n int) int {
	if n <= 0 {
		return 1
	}
	for p := 1; ; p *= 10 {
		for _, m := range []int{1, 2, 5} {
			if m*p >= n {
				return m * p
			}
		}
	}
}

// SVG draws the chart.
func (c *barChart) SVG() template.HTML {
	const (
		w, h                  = 800.0, 240.0
		left, right, top, bot = 44.0, 8.0, 10.0, 34.0
	)
	peak := 0
	for i := range c.Values {
		peak = max(peak, c.Total(i))
	}
	ymax := niceMax(peak)
	var b strings.Builder
	esc := html.EscapeString
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %g %g" role="img" aria-labelledby="%s-t %s-d" focusable="false">`, w, h, c.ID, c.ID)
	fmt.Fprintf(&b, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, c.ID, esc(c.Title), c.ID, esc(c.Desc))
	plotW, plotH := w-left-right, h-top-bot
	y := func(v int) float64 { return top + plotH - plotH*float64(v)/float64(ymax) }
	for _, v := range []int{0, ymax / 2, ymax} {
		if v == 0 && ymax == 1 {
			continue
		}
		fmt.Fprintf(&b, `<line class="grid" x1="%g" x2="%g" y1="%.1f" y2="%.1f"/>`, left, w-right, y(v), y(v))
		fmt.Fprintf(&b, `<text class="tick" x="%g" y="%.1f" text-anchor="end">%d</text>`, left-6, y(v)+4, v)
	}
	n := len(c.Values)
	if n == 0 {
		b.WriteString(`</svg>`)
		return template.HTML(b.String())
	}
	slot := plotW / float64(n)
	barW := max(1, slot*0.8)
	every := max(1, (n+9)/10) // at most about ten labels
	for i := range c.Values {
		x := left + float64(i)*slot + (slot-barW)/2
		acc := 0
		var tip []string
		for k, v := range c.Values[i] {
			if v > 0 {
				tip = append(tip, fmt.Sprintf("%s %d", c.Series[k], v))
			}
		}
		b.WriteString(`<g>`)
		fmt.Fprintf(&b, `<title>%s: %d (%s)</title>`, esc(c.Labels[i]), c.Total(i), esc(strings.Join(tip, ", ")))
		for k, v := range c.Values[i] {
			if v == 0 {
				continue
			}
			y0, y1 := y(acc), y(acc+v)
			fmt.Fprintf(&b, `<rect class="s%d" x="%.1f" y="%.1f" width="%.1f" height="%.1f"/>`, k, x, y1, barW, y0-y1)
			acc += v
		}
		b.WriteString(`</g>`)
		if i%every == 0 {
			fmt.Fprintf(&b, `<text class="tick" x="%.1f" y="%g" text-anchor="middle">%s</text>`, x+barW/2, h-bot+16, esc(c.Labels[i]))
		}
	}
	fmt.Fprintf(&b, `<line class="axis" x1="%g" x2="%g" y1="%g" y2="%g"/>`, left, w-right, top+plotH, top+plotH)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// sparkline draws small daily bars; labels name each day for the tooltip.
func sparkline(title string, labels []string, values []int) template.HTML {
	const w, h = 150.0, 28.0
	peak := 0
	for _, v := range values {
		peak = max(peak, v)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="spark" viewBox="0 0 %g %g" role="img" aria-label="%s" focusable="false">`, w, h, html.EscapeString(title))
	if len(values) > 0 {
		slot := w / float64(len(values))
		for i, v := range values {
			bh := 0.0
			if peak > 0 {
				bh = (h - 2) * float64(v) / float64(peak)
			}
			cls := "bar"
			if v == 0 {
				cls, bh = "none", 2
			}
			fmt.Fprintf(&b, `<rect class="%s" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s: %d</title></rect>`,
				cls, float64(i)*slot+0.5, h-bh, max(1, slot-1), bh, html.EscapeString(labels[i]), v)
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
