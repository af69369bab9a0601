package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/waarborg/waarborg/assess"
	"github.com/waarborg/waarborg/bundle"
	"github.com/waarborg/waarborg/controls"
	"github.com/waarborg/waarborg/oscal"
	"github.com/waarborg/waarborg/web"
)

// reporter is what the reports page generates with: the controls result
// (results.json), its OSCAL assessment results and the evidence bundle of
// the period. The rendered report (report.html, report.pdf) comes from the
// report package once it is merged; until then a Type I report evaluates
// the one day that starts at its date.
func (d *data) reporter() web.Reporter {
	return func(ctx context.Context, req web.ReportRequest, dir string) error {
		from, to := req.From, req.To
		if req.Type == "1" {
			from, to = req.AsOf, req.AsOf.AddDate(0, 0, 1)
		}
		cat := controls.Default()
		res, err := assess.Run(ctx, d.assessLog(), cat, req.Tenant, from, to)
		if err != nil {
			return fmt.Errorf("evaluate: %w", err)
		}
		results, err := json.MarshalIndent(res, "", " ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "results.json"), append(results, '\n'), 0o600); err != nil {
			return err
		}
		ar, err := oscal.AssessmentResults(oscal.Input{Result: res, Catalog: cat, Tenant: req.Tenant, From: from, To: to,
			Checkpoint: res.Checkpoint, Generated: time.Now().UTC(), Version: version()})
		if err != nil {
			return fmt.Errorf("OSCAL: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, "assessment-results.json"), ar, 0o600); err != nil {
			return err
		}
		return writeBundle(ctx, filepath.Join(dir, "bundle.zip"), bundle.Input{
			Store: d.store, Ledger: d.ledger, Tenant: req.Tenant, From: from, To: to,
			Version: version(), Catalog: cat, Result: res,
		})
	}
}

// writeBundle writes a bundle beside path and renames it into place, so
// that a failed run never leaves a bundle that looks whole.
func writeBundle(ctx context.Context, path string, in bundle.Input) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".bundle-*.zip")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := bundle.Write(ctx, f, in); err != nil {
		f.Close()
		return userError(err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
