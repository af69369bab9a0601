package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/assess"
	"github.com/waarborg/waarborg/bundle"
	"github.com/waarborg/waarborg/controls"
	"github.com/waarborg/waarborg/ledger"
	"github.com/waarborg/waarborg/oscal"
	"github.com/waarborg/waarborg/report"
	"github.com/waarborg/waarborg/sample"
)

// The files a report writes into its directory.
const (
	reportHTML   = "report.html"
	reportPDF    = "report.pdf"
	reportResult = "results.json"
	reportOSCAL  = "assessment-results.json"
	reportBundle = "bundle.zip"
)

// typeIWindow is how far before the as-of date a Type I report looks for
// an instance of each control to trace.
const typeIWindow = 3 // months

func cmdReport(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	dir := dataFlags(fs, e)
	tenant := fs.String("tenant", "", "the tenant (user entity) reported on (required)")
	kind := fs.String("type", "2", "1 (design as of --as-of), 2 (operating effectiveness over [--from, --to)) or bridge (since --from)")
	from := fs.String("from", "", "first day of the period, YYYY-MM-DD (type 2, bridge)")
	to := fs.String("to", "", "the day after the period, YYYY-MM-DD (type 2; bridge: default now)")
	asOf := fs.String("as-of", "", "the date the design is reported as of, YYYY-MM-DD (type 1)")
	out := fs.String("out", "", "the `directory` to write the report into (required)")
	profile := fs.String("profile", "", "the tenant profile, JSON (required; docs/report.md)")
	catalog := fs.String("catalog", "", "JSON `file` of parameter overrides")
	sampled := fs.String("sample", "", "comma-separated `controls` to test by a reproducible sample beside the manual ones (type 2), e.g. AC-01,PC-02")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, `usage: waarborg report --tenant T --profile FILE --out DIR --type 2 --from D --to D
       waarborg report --tenant T --profile FILE --out DIR --type 1 --as-of D
       waarborg report --tenant T --profile FILE --out DIR --type bridge --from D [--to D]`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	var (
		k          = report.Kind(*kind)
		start, end time.Time
		err        error
	)
	now := time.Now().UTC().Truncate(time.Second)
	switch {
	case fs.NArg() > 0 || *tenant == "" || *out == "" || *profile == "":
	case k == report.TypeII && *from != "" && *to != "" && *asOf == "":
		start, err = waarborg.ParseBound(*from)
		if err == nil {
			end, err = waarborg.ParseBound(*to)
		}
	case k == report.TypeI && *asOf != "" && *from == "" && *to == "":
		end, err = waarborg.ParseBound(*asOf)
		start = end.AddDate(0, -typeIWindow, 0)
	case k == report.Bridge && *from != "" && *asOf == "":
		start, err = waarborg.ParseBound(*from)
		end = now
		if err == nil && *to != "" {
			end, err = waarborg.ParseBound(*to)
		}
	}
	if err != nil {
		return err
	}
	if end.IsZero() {
		fs.Usage()
		return errUsage
	}
	if !start.Before(end) {
		return fmt.Errorf("the period [%s, %s) is empty", start.Format(time.RFC3339), end.Format(time.RFC3339))
	}
	profileJSON, err := os.ReadFile(*profile)
	if err != nil {
		return err
	}
	if _, err := report.ParseProfile(profileJSON); err != nil {
		return fmt.Errorf("%s: %w", *profile, userError(err))
	}
	cat, err := loadCatalog(*catalog)
	if err != nil {
		return err
	}
	var toSample []string
	if *sampled != "" {
		if k != report.TypeII {
			return errors.New("--sample is for Type II reports")
		}
		for _, id := range strings.Split(*sampled, ",") {
			ctl, ok := cat.Control(strings.TrimSpace(id))
			if !ok || ctl.ID == "LM-03" {
				return fmt.Errorf("--sample: %q is not a control of the catalog that has population items", id)
			}
			toSample = append(toSample, ctl.ID)
		}
	}
	began := time.Now()
	d, err := openData(ctx, dir, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer d.Close()
	sum, err := writeReport(ctx, d, reportJob{kind: k, tenant: *tenant, start: start, end: end, now: now,
		profileJSON: profileJSON, catalog: cat, sample: toSample}, *out)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "wrote %s: %s, %s, %s, %s, %s (%d records in the period, %d controls, %d exceptions, %s)\n",
		*out, reportHTML, reportPDF, reportResult, reportOSCAL, reportBundle,
		sum.records, sum.controls, sum.exceptions, time.Since(began).Round(100*time.Millisecond))
	return nil
}

// A reportJob is one report to write.
type reportJob struct {
	kind        report.Kind
	tenant      string
	start, end  time.Time // the period; for Type I, end is the as-of date
	now         time.Time // when it is generated
	profileJSON []byte    // the tenant profile, as given
	catalog     *controls.Catalog
	sample      []string // controls to sample beside the manual ones (Type II)
}

// reportSummary is what a written report holds, for a person to read.
type reportSummary struct{ records, controls, exceptions int }

// writeReport evaluates job over the open data directory d in one pass
// and writes every file of the report into out: the bundle first, whose
// hashes the report prints, then the result, OSCAL, HTML and PDF. The CLI
// and the reports page both write reports with it.
func writeReport(ctx context.Context, d *data, job reportJob, out string) (*reportSummary, error) {
	prof, err := report.ParseProfile(job.profileJSON)
	if err != nil {
		return nil, userError(err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	stats := report.NewStats(job.start, job.end)
	res, err := assess.RunWith(ctx, d.assessLog(), job.catalog, job.tenant, job.start, job.end,
		assess.Options{Each: stats.Add, Populations: job.sample})
	if err != nil {
		return nil, userError(err)
	}
	ev := &evaluation{d: d, tenant: job.tenant, start: job.start, end: job.end, catalog: job.catalog, result: res}
	vkey, err := verifierKeyText(d)
	if err != nil {
		return nil, err
	}
	r := &report.Report{
		Kind: job.kind, Tenant: job.tenant, From: job.start, To: job.end, Generated: job.now,
		Profile: prof, Catalog: job.catalog, Result: res, Stats: stats,
		Evidence: report.Evidence{
			Version: version(), Checkpoint: res.Checkpoint, VerifierKey: vkey, Bundle: reportBundle,
			Reperformance: "waarborg verify-bundle --key '" + vkey + "' " + reportBundle,
		},
	}
	lookup := func(ctx context.Context, id string) (*waarborg.Record, error) {
		st, err := d.store.Record(ctx, job.tenant, id)
		if err != nil {
			return nil, err
		}
		return waarborg.ParseRecord(st.Canonical)
	}
	if err := r.Resolve(ctx, lookup); err != nil {
		return nil, err
	}
	if r.Samples, err = samples(r, job.sample); err != nil {
		return nil, err
	}
	if job.kind == report.TypeI {
		if r.Traces, err = traces(ctx, ev, stats); err != nil {
			return nil, err
		}
	}

	m, sum, err := writeFile(filepath.Join(out, reportBundle), func(w io.Writer) (*bundle.Manifest, error) {
		return bundle.Write(ctx, w, bundle.Input{
			Store: d.store, Ledger: d.ledger, Tenant: job.tenant, From: job.start, To: job.end,
			Version: version(), Catalog: job.catalog, Result: res,
			Extra: map[string][]byte{"profile.json": job.profileJSON},
		})
	})
	if err != nil {
		return nil, userError(err)
	}
	r.Evidence.CatalogSHA256 = m.CatalogSHA256
	r.Evidence.ExtractSHA256 = m.Files[bundle.FileEntries]
	r.Evidence.StartSize, r.Evidence.EndSize = m.StartSize, m.EndSize
	r.Evidence.BundleSHA256 = sum
	if err := witnessed(ctx, ev, m, &r.Evidence); err != nil {
		return nil, err
	}

	results, err := json.MarshalIndent(res, "", " ")
	if err != nil {
		return nil, err
	}
	ar, err := oscal.AssessmentResults(oscal.Input{
		Result: res, Catalog: job.catalog, Tenant: job.tenant, From: job.start, To: job.end,
		Checkpoint: res.Checkpoint, Generated: job.now, Version: version(),
	})
	if err != nil {
		return nil, userError(err)
	}
	files := []struct {
		name  string
		write func(io.Writer) error
	}{
		{reportResult, func(w io.Writer) error { _, err := w.Write(append(results, '\n')); return err }},
		{reportOSCAL, func(w io.Writer) error { _, err := w.Write(ar); return err }},
		{reportHTML, func(w io.Writer) error { return report.HTML(w, r) }},
		{reportPDF, func(w io.Writer) error { return report.PDF(w, r) }},
	}
	for _, f := range files {
		if _, _, err := writeFile(filepath.Join(out, f.name), func(w io.Writer) (struct{}, error) {
			return struct{}{}, f.write(w)
		}); err != nil {
			return nil, err
		}
	}
	summary := &reportSummary{records: stats.Records, controls: len(res.Controls)}
	for _, c := range res.Controls {
		summary.exceptions += len(c.Exceptions)
	}
	return summary, nil
}

// writeFile writes path through a temporary file renamed into place, so
// that a failed run never leaves a file that looks whole, and returns what
// fill returned with the file's SHA-256.
func writeFile[T any](path string, fill func(io.Writer) (T, error)) (T, string, error) {
	var zero T
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return zero, "", err
	}
	defer os.Remove(f.Name())
	h := sha256.New()
	v, err := fill(io.MultiWriter(f, h))
	if err == nil {
		err = f.Chmod(0o644) // reports are for sharing; CreateTemp made it 0600
	}
	if err == nil {
		err = f.Sync()
	}
	if err = errors.Join(err, f.Close()); err != nil {
		return zero, "", err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return zero, "", err
	}
	return v, hex.EncodeToString(h.Sum(nil)), nil
}

// samples draws the sample of each manual control of the catalog and of
// each control in extra over the report's period, with each item's
// outcome.
func samples(r *report.Report, extra []string) ([]report.Sample, error) {
	if r.Kind != report.TypeII {
		return nil, nil
	}
	var out []report.Sample
	for _, ctl := range r.Catalog.Controls {
		res := r.Result.Controls[slices.IndexFunc(r.Result.Controls, func(c controls.ControlResult) bool { return c.ID == ctl.ID })]
		population := res.Items
		switch {
		case !ctl.Automated:
			labels, err := sample.Periods(ctl.ID, r.From, r.To)
			if err != nil {
				return nil, err
			}
			population = labels
		case !slices.Contains(extra, ctl.ID):
			continue
		}
		s, err := sample.Draw(sample.Input{Tenant: r.Tenant, Control: ctl.ID, Frequency: ctl.Frequency,
			From: r.From, To: r.To, Population: population})
		if err != nil {
			return nil, err
		}
		review := reviewOf(ctl.ID)
		outcomes := map[string]string{}
		for _, item := range s.Items {
			if i := slices.IndexFunc(res.Exceptions, func(e controls.Exception) bool { return e.Subject == item }); i >= 0 {
				outcomes[item] = "Exception: " + strings.Join(res.Exceptions[i].Reasons, ", ") + ". " + res.Exceptions[i].Detail
			} else if so := r.Stats.Signoffs[review+"/"+item]; so != nil && !ctl.Automated {
				outcomes[item] = fmt.Sprintf("Signed off by %s at %s (record %s).", so.Actor, so.Time.Format("2006-01-02 15:04 UTC"), so.ID)
			} else {
				outcomes[item] = "No exception: the control's rule holds for it (the record is in the bundle for inspection)."
			}
		}
		out = append(out, report.Sample{Control: ctl.ID, Sample: s, Outcomes: outcomes})
	}
	return out, nil
}

// reviewOf is the review.signoff kind a manual control reads.
func reviewOf(control string) string {
	if control == "AC-05" {
		return "access-review"
	}
	return "monitoring-review"
}

// traces picks, for each control, the latest instance of its population
// before the as-of date and proves its inclusion in the checkpoint read.
func traces(ctx context.Context, ev *evaluation, stats *report.Stats) (map[string]*report.Trace, error) {
	body, _, _ := strings.Cut(ev.result.Checkpoint, "\n\n")
	_, size, _, err := ledger.ParseCheckpointText(body + "\n")
	if err != nil {
		return nil, err
	}
	out := map[string]*report.Trace{}
	for _, c := range ev.result.Controls {
		ctl, _ := ev.catalog.Control(c.ID)
		var rec *waarborg.Record
		if ctl.Automated {
			typ, _, _ := strings.Cut(ctl.Population, " ")
			rec = stats.Latest[strings.Trim(typ, "`")]
		} else {
			for k, so := range stats.Signoffs {
				if strings.HasPrefix(k, reviewOf(c.ID)+"/") && so.Time.Before(ev.end) && (rec == nil || so.Time.After(rec.Time)) {
					rec = so
				}
			}
		}
		if rec == nil {
			continue
		}
		proof, err := ev.d.ledger.Inclusion(ctx, ev.tenant, rec.ID, size)
		if err != nil {
			return nil, fmt.Errorf("trace %s: %w", c.ID, err)
		}
		outcome := "It is in the population and shows no exception: the control operated on it as designed."
		if i := slices.IndexFunc(c.Exceptions, func(e controls.Exception) bool { return e.Subject == rec.ID }); i >= 0 {
			outcome = "It is an exception (" + strings.Join(c.Exceptions[i].Reasons, ", ") + "): " + c.Exceptions[i].Detail
		}
		out[c.ID] = &report.Trace{Record: rec, Proof: proof, Outcome: outcome}
	}
	return out, nil
}

// witnessed fills in the period's checkpoints with their cosignatures and
// the signing keys in force.
func witnessed(ctx context.Context, ev *evaluation, m *bundle.Manifest, e *report.Evidence) error {
	roles := []struct {
		role string
		size uint64
	}{{"start", m.StartSize}, {"period end", m.PeriodEndSize}, {"evaluated", m.EndSize}}
	for _, r := range roles {
		if r.size == 0 || r.role == "period end" && r.size == m.EndSize {
			continue
		}
		cp, err := ev.d.store.Checkpoint(ctx, ev.tenant, r.size)
		if err != nil {
			return fmt.Errorf("%s checkpoint: %w", r.role, err)
		}
		cosigs, err := ev.d.store.Cosignatures(ctx, ev.tenant, r.size)
		if err != nil {
			return fmt.Errorf("cosignatures of the %s checkpoint: %w", r.role, err)
		}
		e.Witnessed = append(e.Witnessed, report.Witnessed{Role: r.role, Size: r.size, SignedAt: cp.SignedAt, Cosignatures: cosigs})
	}
	keys, err := ledger.KeysInForce(ctx, ev.d.store, ev.tenant, ev.d.verifier, ev.start, ev.end)
	if err != nil {
		return fmt.Errorf("keys in force: %w", err)
	}
	for _, k := range keys {
		v := k.Key
		if v == "" {
			v = e.VerifierKey
		}
		e.Keys = append(e.Keys, report.Key{Verifier: v, Since: k.Since, Record: k.Record})
	}
	return nil
}
