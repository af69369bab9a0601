// Package report renders what a service organisation hands its clients and
// their auditors at the end of a period: the ISAE 3402 / SOC 1 Type I or
// Type II report, or a bridge letter, as print-ready HTML and as PDF. Every
// figure in it comes from a controls result and from Stats gathered in the
// same pass over the ledger, and the report prints the facts an auditor
// needs to re-derive them from the evidence bundle (version, catalog hash,
// checkpoint, population sizes, control totals, the extract's hash).
//
// It does no I/O of its own: the caller reads the ledger and writes files.
package report

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/controls"
	"github.com/waarborg/waarborg/ledger"
	"github.com/waarborg/waarborg/sample"
)

// Kind is the kind of report.
type Kind string

// The kinds of report.
const (
	// TypeI covers the design of the controls as of a date, with one
	// traced instance of each.
	TypeI Kind = "1"
	// TypeII covers the operating effectiveness of the controls over a
	// period, tested over every record.
	TypeII Kind = "2"
	// Bridge is a letter covering the time since the last report's period
	// ended.
	Bridge Kind = "bridge"
)

// A Report is everything a rendering prints. The caller fills it from one
// evaluation; Resolve completes what needs record lookups.
type Report struct {
	Kind      Kind
	Tenant    string
	From, To  time.Time // the period [From, To); for Type I, To is the as-of date
	Generated time.Time
	Profile   *Profile
	Catalog   *controls.Catalog
	Result    *controls.Result
	Stats     *Stats
	Evidence  Evidence
	Samples   []Sample
	// Traces are Type I's traced instances by control id.
	Traces map[string]*Trace

	corrections   []Correction
	exceptionWhen map[[2]string]time.Time // (control, subject) → when
}

// Evidence is what makes the report itself auditable (information produced
// by the entity): what evaluated, under which catalog, over which extract.
type Evidence struct {
	Version       string // the waarborg version
	CatalogSHA256 string // of catalog.json in the bundle
	Checkpoint    string // the signed checkpoint evaluated, as text
	StartSize     uint64 // the start checkpoint's size in the bundle
	EndSize       uint64
	ExtractSHA256 string // of entries.jsonl in the bundle: the population extract
	BundleSHA256  string // of bundle.zip
	VerifierKey   string // the checkpoints' verifier key
	Bundle        string // the bundle's file name
	Reperformance string // the command that re-derives every figure
	// Witnessed lists the period's checkpoints with who cosigned each and
	// when: the trusted time of the evidence.
	Witnessed []Witnessed
	// Keys are the checkpoint signing keys in force in the period.
	Keys []Key
}

// Witnessed is one checkpoint of the period and its cosignatures.
type Witnessed struct {
	Role         string // "start", "period end" or "evaluated"
	Size         uint64
	SignedAt     time.Time
	Cosignatures []waarborg.Cosignature
}

// A Key is a checkpoint signing key and since when it signed.
type Key struct {
	Verifier string
	Since    time.Time // zero: since the log began
	Record   string    // the rotation record that introduced it
}

// A Sample is a drawn sample of a control with each item's outcome.
type Sample struct {
	Control string
	*sample.Sample
	Outcomes map[string]string // item → what testing it found
}

// A Correction is one correction record of the period and whether it took
// effect (records.md): who corrected what, when and why.
type Correction struct {
	ID, Actor, Reason string
	Time              time.Time
	Corrects, Type    string
	Applied           bool
	NotApplied        string // why not, when not applied
}

// A Trace is one instance of a control traced through the ledger.
type Trace struct {
	Record  *waarborg.Record
	Proof   *ledger.InclusionProof
	Outcome string
}

// Resolve completes r with what needs the tenant's records by id: whether
// each correction took effect, and when each exception happened (its
// subject record's time, or the start of a manual control's period).
func (r *Report) Resolve(ctx context.Context, lookup func(ctx context.Context, id string) (*waarborg.Record, error)) error {
	r.corrections = nil
	for _, c := range r.Stats.Corrections {
		corr := Correction{ID: c.ID, Actor: c.Actor, Reason: c.Str("reason"), Time: c.Time,
			Corrects: c.Str("corrects"), Type: c.Str("type")}
		target, err := lookup(ctx, corr.Corrects)
		switch {
		case waarborg.ErrorCode(err) == waarborg.ENOTFOUND:
			corr.NotApplied = "the corrected record is not in the ledger"
		case err != nil:
			return fmt.Errorf("resolve correction %s: %w", c.ID, err)
		case target.Type == "correction":
			corr.NotApplied = "it names another correction"
		case target.Type != corr.Type:
			corr.NotApplied = fmt.Sprintf("the corrected record is a %s, not a %s", target.Type, corr.Type)
		default:
			data, _ := c.Data.Get("data")
			if data != nil && waarborg.ConsistentWith(target.Type, data, target.Time) {
				corr.Applied = true
			} else {
				corr.NotApplied = "the replacement data break a rule that ties data to the record's envelope"
			}
		}
		r.corrections = append(r.corrections, corr)
	}
	r.exceptionWhen = map[[2]string]time.Time{}
	for _, c := range r.Result.Controls {
		for _, e := range c.Exceptions {
			if t, _, ok := waarborg.ParsePeriod(e.Subject); ok {
				r.exceptionWhen[[2]string{c.ID, e.Subject}] = t
				continue
			}
			rec, err := lookup(ctx, e.Subject)
			if err == nil {
				r.exceptionWhen[[2]string{c.ID, e.Subject}] = rec.Time
			} else if waarborg.ErrorCode(err) != waarborg.ENOTFOUND {
				return fmt.Errorf("resolve exception %s %s: %w", c.ID, e.Subject, err)
			}
		}
	}
	return nil
}

// Corrections returns the period's corrections, resolved.
func (r *Report) Corrections() []Correction { return r.corrections }

// ExceptionsPerMonth counts exceptions per month (rows as Stats.Months) and
// control area (columns as controls.Objectives). An exception whose time is unknown or
// outside the period counts in no month.
func (r *Report) ExceptionsPerMonth() [][]int {
	out := make([][]int, len(r.Stats.Months))
	for i := range out {
		out[i] = make([]int, len(controls.Objectives))
	}
	for _, c := range r.Result.Controls {
		ai := slices.IndexFunc(controls.Objectives, func(o controls.Objective) bool { return o.ID == c.Objective })
		if ai < 0 {
			continue
		}
		for _, e := range c.Exceptions {
			t, ok := r.exceptionWhen[[2]string{c.ID, e.Subject}]
			if !ok || t.Before(r.Stats.From) || !t.Before(r.Stats.To) {
				continue
			}
			label := t.UTC().Format("2006-01")
			if mi := slices.IndexFunc(r.Stats.Months, func(m Month) bool { return m.Label == label }); mi >= 0 {
				out[mi][ai]++
			}
		}
	}
	return out
}

// Title is the report's title.
func (r *Report) Title() string {
	org := r.Profile.ServiceOrganisation
	switch r.Kind {
	case TypeI:
		return fmt.Sprintf("Type I report on %s's description of its OT data services system and the suitability of the design of its controls as of %s", org, day(r.To))
	case Bridge:
		return fmt.Sprintf("Bridge letter of %s for the period from %s to %s", org, day(r.From), day(r.To.Add(-time.Nanosecond)))
	default:
		return fmt.Sprintf("Type II report on %s's description of its OT data services system and the suitability of the design and operating effectiveness of its controls for the period %s to %s",
			org, day(r.From), day(r.To.Add(-time.Nanosecond)))
	}
}

func day(t time.Time) string { return t.UTC().Format("2 January 2006") }

// Conclusion is the test conclusion of one control result.
func Conclusion(c controls.ControlResult) string {
	switch c.Result {
	case controls.Effective:
		return "No exceptions noted."
	case controls.NotOccurring:
		return "Not occurring: the control had nothing to operate on in the period, so its operating effectiveness could not be tested. This is not a conclusion that it operated effectively."
	default:
		return fmt.Sprintf("Exceptions noted: %d of %d.", len(c.Exceptions), c.Population)
	}
}

// Method says how a control was tested.
func Method(ctl *controls.Control, kind Kind) string {
	if kind == TypeI {
		return "Inquiry and inspection of the control's design; one instance traced through the ledger."
	}
	if !ctl.Automated {
		return "Inspection of the review sign-offs for every period of the population (a sample sized by the usual practice table is drawn reproducibly and listed under Sampling)."
	}
	return "Reperformance over the whole population: every record of the period was evaluated by waarborg against the control's rule; no sampling."
}

// Parameters returns a control's parameter values as "name = value" text.
func (r *Report) Parameters(id string) string {
	ps := r.Result.Catalog.Parameters[id]
	var out []string
	for _, k := range slices.Sorted(maps.Keys(ps)) {
		out = append(out, k+" = "+ps[k])
	}
	return strings.Join(out, ", ")
}

// Statement returns the paragraphs of the management's statement (or, for
// a bridge letter, of the letter).
func (r *Report) Statement() []string {
	p := r.Profile
	switch r.Kind {
	case Bridge:
		return []string{
			fmt.Sprintf("This letter covers the period from %s to %s, since the end of the period covered by our most recent report.", day(r.From), day(r.To.Add(-time.Nanosecond))),
			"We are not aware of any material changes to the system, the control objectives or the controls described in that report other than those stated in this letter.",
			"Throughout this period waarborg has continued to test every control over every record in the ledger; the results to date follow. This letter does not replace an auditor's report and is not an auditor's opinion.",
		}
	}
	when, operated := "throughout the period "+day(r.From)+" to "+day(r.To.Add(-time.Nanosecond)),
		"were suitably designed and operated effectively throughout the period, except for the exceptions described in section 4"
	if r.Kind == TypeI {
		when, operated = "as of "+day(r.To), "were suitably designed as of "+day(r.To)
	}
	return []string{
		fmt.Sprintf("We, the management of %s, have prepared the accompanying description of our OT data services system %s for %s and its auditors, who have sufficient understanding to consider it, along with other information, when assessing the risks of material misstatement of %s's financial statements. We confirm that:",
			p.ServiceOrganisation, when, p.UserEntity, p.UserEntity),
		fmt.Sprintf("(a) the description fairly presents the system that processed production and ERP data for %s %s, including the services, sites and systems listed below;", p.UserEntity, when),
		fmt.Sprintf("(b) the controls related to the control objectives stated in the description %s;", operated),
		"(c) the control objectives can be achieved only if the complementary user entity controls listed below are suitably designed and operating effectively; subservice organisations presented with the carve-out method are excluded from the description, and their complementary controls are listed below.",
	}
}

// Mappings returns a control's framework mappings as text.
func Mappings(c controls.Control) string {
	m := c.Mappings
	s := "SOC 1 " + m.SOC1
	for _, f := range []struct {
		name string
		ids  []string
	}{{"IEC 62443-2-4", m.IEC62443}, {"ISO/IEC 27001:2022", m.ISO27001}, {"21 CFR Part 11", m.Part11}, {"EU GMP Annex 11", m.Annex11}} {
		if len(f.ids) > 0 {
			s += "; " + f.name + " " + strings.Join(f.ids, ", ")
		}
	}
	return s
}

// TraceText describes control id's traced instance in a sentence.
func (r *Report) TraceText(id string) string {
	t := r.Traces[id]
	if t == nil {
		return "none: no instance of this control in the ledger up to the as-of date."
	}
	s := fmt.Sprintf("record %s (%s, %s, %s)", t.Record.ID, t.Record.Type, t.Record.Time.UTC().Format("2006-01-02 15:04 UTC"), t.Record.Source)
	if t.Proof != nil {
		s += fmt.Sprintf(", ledger entry %d of a tree of %d; its inclusion proof of %d hashes verifies against the signed checkpoint", t.Proof.LeafIndex, t.Proof.TreeSize, len(t.Proof.Proof))
	}
	return s + ". " + t.Outcome
}
