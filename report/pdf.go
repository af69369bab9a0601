package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"

	"github.com/waarborg/waarborg/controls"
)

// PDF writes the report as a PDF with the same sections and figures as the
// HTML. It uses the PDF core fonts (Windows-1252): characters outside that
// set print as "?", which record ids and figures never need.
func PDF(w io.Writer, r *Report) error {
	if err := r.check(); err != nil {
		return err
	}
	p := &pdfDoc{f: fpdf.New("P", "mm", "A4", "")}
	p.tr = p.f.UnicodeTranslatorFromDescriptor("")
	p.f.SetTitle(r.Title(), true)
	p.f.SetAuthor(r.Profile.ServiceOrganisation, true)
	p.f.SetCreator("waarborg "+r.Evidence.Version, true)
	p.f.SetCreationDate(r.Generated)
	p.f.SetModificationDate(r.Generated)
	p.f.SetMargins(16, 16, 16)
	p.f.SetAutoPageBreak(true, 16)
	p.f.AliasNbPages("")
	p.f.SetFooterFunc(func() {
		p.f.SetY(-12)
		p.font("", 8)
		p.f.CellFormat(0, 5, p.tr(fmt.Sprintf("%s — %s — page %d of {nb}", r.Profile.ServiceOrganisation, r.Tenant, p.f.PageNo())), "", 0, "C", false, 0, "")
	})
	r.writePDF(p)
	if err := p.f.Error(); err != nil {
		return fmt.Errorf("report: pdf: %w", err)
	}
	return p.f.Output(w)
}

type pdfDoc struct {
	f  *fpdf.Fpdf
	tr func(string) string
}

const pageW = 210 - 32 // printable width, mm

func (p *pdfDoc) font(style string, size float64) { p.f.SetFont("Helvetica", style, size) }

func (p *pdfDoc) h1(s string) {
	p.font("B", 16)
	p.f.MultiCell(0, 7, p.tr(s), "", "L", false)
	p.f.Ln(3)
}

func (p *pdfDoc) h2(s string) {
	if p.f.GetY() > 250 {
		p.f.AddPage()
	}
	p.f.Ln(4)
	p.font("B", 13)
	p.f.MultiCell(0, 6, p.tr(s), "B", "L", false)
	p.f.Ln(2)
}

func (p *pdfDoc) h3(s string) {
	if p.f.GetY() > 260 {
		p.f.AddPage()
	}
	p.f.Ln(2)
	p.font("B", 10.5)
	p.f.MultiCell(0, 5, p.tr(s), "", "L", false)
	p.f.Ln(1)
}

func (p *pdfDoc) para(s string) {
	p.font("", 9.5)
	p.f.MultiCell(0, 4.6, p.tr(s), "", "L", false)
	p.f.Ln(1.5)
}

func (p *pdfDoc) mono(s string) {
	p.f.SetFont("Courier", "", 7.5)
	p.f.MultiCell(0, 3.6, p.tr(s), "", "L", false)
	p.f.Ln(1)
}

// table draws rows with wrapped cells; widths are fractions of the page.
func (p *pdfDoc) table(widths []float64, head []string, rows [][]string) {
	const lh = 4.0
	row := func(cells []string, bold bool) {
		style := ""
		if bold {
			style = "B"
		}
		p.font(style, 8)
		lines := make([][]string, len(cells))
		n := 1
		for i, c := range cells {
			w := widths[i] * pageW
			lines[i] = append(lines[i], p.f.SplitText(p.tr(c), w-2)...)
			if len(lines[i]) == 0 {
				lines[i] = []string{""}
			}
			n = max(n, len(lines[i]))
		}
		h := float64(n)*lh + 1
		if p.f.GetY()+h > 297-18 {
			p.f.AddPage()
		}
		x, y := p.f.GetX(), p.f.GetY()
		for i := range cells {
			w := widths[i] * pageW
			if bold {
				p.f.SetFillColor(242, 245, 248)
				p.f.Rect(x, y, w, h, "FD")
			} else {
				p.f.Rect(x, y, w, h, "D")
			}
			for j, l := range lines[i] {
				p.f.SetXY(x+1, y+0.5+float64(j)*lh)
				p.f.CellFormat(w-2, lh, l, "", 0, "L", false, 0, "")
			}
			x += w
		}
		p.f.SetXY(16, y+h)
	}
	p.f.SetDrawColor(200, 200, 200)
	if head != nil {
		row(head, true)
	}
	for _, r := range rows {
		row(r, false)
	}
	p.f.Ln(2)
}

func (p *pdfDoc) chart(c *Chart) {
	const scale = pageW / chartW
	if p.f.GetY()+chartH*scale+10 > 297-18 {
		p.f.AddPage()
	}
	p.h3(c.Title)
	x0, y0 := 16.0, p.f.GetY()
	sh := c.layout()
	p.f.SetLineWidth(0.1)
	p.f.SetDrawColor(221, 221, 221)
	for _, g := range sh.guides {
		p.f.Line(x0+padL*scale, y0+g.y*scale, x0+(padL+plotW)*scale, y0+g.y*scale)
	}
	for _, r := range sh.rects {
		red, green, blue := hexColor(r.color)
		p.f.SetFillColor(red, green, blue)
		p.f.Rect(x0+r.x*scale, y0+r.y*scale, r.w*scale, r.h*scale, "F")
	}
	p.f.SetLineWidth(0.5)
	for _, l := range sh.lines {
		red, green, blue := hexColor(l.color)
		p.f.SetDrawColor(red, green, blue)
		for i := 1; i < len(l.points); i++ {
			a, b := l.points[i-1], l.points[i]
			p.f.Line(x0+a[0]*scale, y0+a[1]*scale, x0+b[0]*scale, y0+b[1]*scale)
		}
	}
	p.f.SetLineWidth(0.2)
	p.f.SetDrawColor(51, 51, 51)
	p.f.Line(x0+padL*scale, y0+(padT+plotH)*scale, x0+(padL+plotW)*scale, y0+(padT+plotH)*scale)
	p.font("", 6.5)
	for _, t := range sh.texts {
		s := p.tr(t.s)
		x := x0 + t.x*scale
		switch t.anchor {
		case "middle":
			x -= p.f.GetStringWidth(s) / 2
		case "end":
			x -= p.f.GetStringWidth(s)
		}
		p.f.Text(x, y0+t.y*scale, s)
	}
	p.f.SetDrawColor(200, 200, 200)
	p.f.SetY(y0 + chartH*scale + 3)
}

func hexColor(s string) (int, int, int) {
	v, _ := strconv.ParseUint(strings.TrimPrefix(s, "#"), 16, 32)
	return int(v >> 16 & 0xff), int(v >> 8 & 0xff), int(v & 0xff)
}

func pdfTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func (r *Report) writePDF(p *pdfDoc) {
	p.f.AddPage()
	p.font("", 10)
	p.f.MultiCell(0, 5, p.tr(r.Profile.ServiceOrganisation+" "+r.Profile.Address), "", "L", false)
	p.f.Ln(20)
	p.h1(r.Title())
	p.para(fmt.Sprintf("Prepared for %s (tenant %s) and its auditors. Generated %s by waarborg %s.",
		r.Profile.UserEntity, r.Tenant, pdfTime(r.Generated), r.Evidence.Version))

	p.f.AddPage()
	p.h2("1. Management's statement")
	for _, s := range r.Statement() {
		p.para(s)
	}
	p.h3("Services in scope")
	p.para(strings.Join(r.Profile.Services, "; "))
	if len(r.Profile.Sites) > 0 {
		p.h3("Sites in scope")
		var rows [][]string
		for _, s := range r.Profile.Sites {
			rows = append(rows, []string{s.Name, s.Description})
		}
		p.table([]float64{.25, .75}, []string{"Site", "Description"}, rows)
	}
	if len(r.Profile.Systems) > 0 {
		p.h3("Systems in scope")
		var rows [][]string
		for _, s := range r.Profile.Systems {
			rows = append(rows, []string{s.Name, s.Description})
		}
		p.table([]float64{.25, .75}, []string{"System", "Description"}, rows)
	}
	p.h3("Complementary user entity controls")
	var rows [][]string
	for _, c := range r.Profile.ComplementaryUserEntityControls {
		rows = append(rows, []string{c.Objective, c.Control})
	}
	p.table([]float64{.15, .85}, []string{"Objective", "Control the user entity must have"}, rows)
	p.h3("Subservice organisations")
	rows = nil
	for _, s := range r.Profile.SubserviceOrganisations {
		rows = append(rows, []string{s.Name, s.Service, s.Method, strings.Join(s.Controls, "; ")})
	}
	p.table([]float64{.2, .25, .12, .43}, []string{"Organisation", "Service", "Method", "Complementary subservice organisation controls"}, rows)
	p.para(r.Profile.Signatory.Name + ", " + r.Profile.Signatory.Title)

	p.h2("2. Description of the system")
	p.para(fmt.Sprintf("Derived from the ledger: %d records with a time in the period, from %d sources at %d sites. Every record is appended to a per-tenant Merkle ledger (RFC 9162) with signed checkpoints.",
		r.Stats.Records, len(r.Stats.Sources), len(r.Sites())))
	rows = nil
	for _, s := range r.Sites() {
		rows = append(rows, []string{s.Name, strings.Join(s.Lines, ", "), strconv.Itoa(s.Sources), strconv.Itoa(s.Records)})
	}
	p.table([]float64{.25, .45, .15, .15}, []string{"Site", "Lines", "Sources", "Records"}, rows)
	rows = nil
	for _, m := range r.Stats.Months {
		rows = append(rows, []string{m.Label, strconv.Itoa(m.Records), topTypes(m.ByType)})
	}
	p.table([]float64{.15, .15, .7}, []string{"Month", "Records", "Largest types"}, rows)
	p.h3("Sources: volume and gaps")
	rows = nil
	for _, s := range r.SourceList() {
		rows = append(rows, []string{s.Name, strconv.Itoa(s.Records), pdfTime(s.First), pdfTime(s.Last), strconv.Itoa(s.Gaps)})
	}
	p.table([]float64{.34, .12, .21, .21, .12}, []string{"Source", "Records", "First", "Last", "Gaps"}, rows)
	for _, c := range r.Charts() {
		p.chart(c)
	}

	p.h2("3. Control objectives and controls")
	for _, a := range controls.Objectives {
		p.h3(a.ID + " " + a.Name)
		rows = nil
		for _, c := range r.Catalog.Controls {
			if c.Objective != a.ID {
				continue
			}
			desc := c.Description
			if ps := r.Parameters(c.ID); ps != "" {
				desc += " Parameters: " + ps + "."
			}
			mode := "automated"
			if !c.Automated {
				mode = "manual"
			}
			rows = append(rows, []string{c.ID + " " + c.Title, desc, c.Frequency + ", " + mode, Mappings(c)})
		}
		p.table([]float64{.18, .44, .13, .25}, []string{"Control", "Description", "Frequency", "Mappings"}, rows)
	}

	if r.Kind == TypeI {
		p.h2("4. Design and traced instances")
	} else {
		p.h2("4. Tests performed and results")
	}
	for _, c := range r.Result.Controls {
		ctl := r.Control(c.ID)
		p.h3(c.ID + " " + c.Title)
		p.para(fmt.Sprintf("Population: %s - %d items in the period. Method: %s", ctl.Population, c.Population, r.Method(c.ID)))
		if r.Kind == TypeI {
			p.para("Traced instance: " + r.TraceText(c.ID))
		}
		if len(c.Totals) > 0 {
			rows = nil
			for _, t := range c.Totals {
				rows = append(rows, []string{t.Name, t.Unit, t.Value})
			}
			p.table([]float64{.5, .2, .3}, []string{"Control total", "Unit", "Total"}, rows)
		}
		if r.Kind == TypeI {
			continue
		}
		if len(c.Exceptions) > 0 {
			rows = nil
			for _, e := range c.Exceptions {
				st := r.State(c.ID, e.Subject)
				resp := st.Status
				for _, a := range st.History {
					resp += fmt.Sprintf("\n%s %s (%s): %s", pdfTime(a.Time), a.Actor, a.Status, a.Text)
				}
				rows = append(rows, []string{e.Subject, strings.Join(e.Reasons, ", "), e.Detail, resp})
			}
			p.table([]float64{.2, .17, .33, .3}, []string{"Subject", "Reasons", "Detail", "Status and management response"}, rows)
		}
		p.para("Result: " + Conclusion(c))
	}

	p.h2("5. Corrections of evidence in the period")
	rows = nil
	for _, c := range r.Corrections() {
		applied := "yes"
		if !c.Applied {
			applied = "no: " + c.NotApplied
		}
		rows = append(rows, []string{c.ID, c.Actor, pdfTime(c.Time), c.Type + " " + c.Corrects, c.Reason, applied})
	}
	if len(rows) == 0 {
		p.para("No corrections in the period.")
	} else {
		p.table([]float64{.14, .12, .15, .2, .24, .15}, []string{"Correction", "Who", "When", "What", "Why", "Applied"}, rows)
	}

	n := 6
	if len(r.Samples) > 0 {
		p.h2("6. Sampling")
		p.para("Each sample is drawn from a seed derived from the population itself (docs/sampling.md), so that anyone can redraw it.")
		for _, s := range r.Samples {
			p.h3(s.Control)
			p.para(fmt.Sprintf("Population %d, sample size %d (%s).", s.Population, s.Size, s.Rule))
			p.mono("population hash " + s.PopulationHash + "\nseed " + s.Seed)
			rows = nil
			for _, it := range s.Items {
				rows = append(rows, []string{it, s.Outcomes[it]})
			}
			p.table([]float64{.25, .75}, []string{"Item", "Outcome"}, rows)
		}
		n = 7
	}

	p.h2(fmt.Sprintf("%d. The report as evidence", n))
	p.para("Every figure above can be re-derived from the evidence bundle alone: " + r.Evidence.Reperformance +
		" checks the signed checkpoints, recomputes the end root from every bundled record, re-runs every control and compares each population, result, exception and control total.")
	p.table([]float64{.3, .7}, nil, [][]string{
		{"waarborg version", r.Evidence.Version},
		{"Catalog (SHA-256 of catalog.json)", r.Evidence.CatalogSHA256},
		{"Catalog version and parameters", strconv.Itoa(r.Result.Catalog.Version) + "; " + r.AllParameters()},
		{"Verifier key", r.Evidence.VerifierKey},
		{"Ledger entries in the bundle", fmt.Sprintf("%d to %d", r.Evidence.StartSize, r.Evidence.EndSize)},
		{"Extract (entries.jsonl, SHA-256)", r.Evidence.ExtractSHA256},
		{"Bundle (" + r.Evidence.Bundle + ", SHA-256)", r.Evidence.BundleSHA256},
	})
	p.h3("Checkpoints, witnesses and keys")
	rows = nil
	for _, w := range r.Evidence.Witnessed {
		who := "no witness cosigned it"
		if len(w.Cosignatures) > 0 {
			var names []string
			for _, c := range w.Cosignatures {
				names = append(names, fmt.Sprintf("%s (%s)", c.Witness, pdfTime(c.Time)))
			}
			who = strings.Join(names, "\n")
		}
		rows = append(rows, []string{w.Role, strconv.FormatUint(w.Size, 10), pdfTime(w.SignedAt), who})
	}
	p.table([]float64{.18, .14, .22, .46}, []string{"Checkpoint", "Size", "Signed", "Cosigned by (witness time)"}, rows)
	rows = nil
	for _, k := range r.Evidence.Keys {
		since := "the log's start"
		if !k.Since.IsZero() {
			since = pdfTime(k.Since) + " (record " + k.Record + ")"
		}
		rows = append(rows, []string{k.Verifier, since})
	}
	p.table([]float64{.7, .3}, []string{"Signing key in force", "Since"}, rows)
	p.h3("Checkpoint evaluated")
	p.mono(r.Evidence.Checkpoint)
	rows = nil
	for _, c := range r.Result.Controls {
		rows = append(rows, []string{c.ID, strconv.Itoa(c.Population), strconv.Itoa(len(c.Exceptions)), c.Result})
	}
	p.table([]float64{.25, .25, .25, .25}, []string{"Control", "Population", "Exceptions", "Result"}, rows)
}
