package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/waarborg/waarborg/bundle"
	"github.com/waarborg/waarborg/controls"
	"github.com/waarborg/waarborg/report"
	"github.com/waarborg/waarborg/web"
)

// profilesDir holds, in the data directory, each tenant's profile as
// <tenant>.json: the input of the reports page's management statement.
const profilesDir = "profiles"

// reporter is what the reports page generates with: the same report as
// `waarborg report`, from the tenant's profile in the data directory.
func (d *data) reporter() web.Reporter {
	return func(ctx context.Context, req web.ReportRequest, dir string) error {
		path := filepath.Join(d.dir, profilesDir, req.Tenant+".json")
		profileJSON, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("no tenant profile: put the profile of %s at %s (docs/report.md)", req.Tenant, path)
		}
		if err != nil {
			return err
		}
		job := reportJob{kind: report.Kind(req.Type), tenant: req.Tenant, now: time.Now().UTC().Truncate(time.Second),
			profileJSON: profileJSON, catalog: controls.Default()}
		switch job.kind {
		case report.TypeI:
			job.end = req.AsOf
			job.start = job.end.AddDate(0, -typeIWindow, 0)
		case report.TypeII:
			job.start, job.end = req.From, req.To
		default:
			return fmt.Errorf("report type %q: 1 or 2", req.Type)
		}
		_, err = writeReport(ctx, d, job, dir)
		return err
	}
}

// writeBundle writes a bundle through writeFile, so that a failed run
// never leaves a bundle that looks whole.
func writeBundle(ctx context.Context, path string, in bundle.Input) error {
	_, _, err := writeFile(path, func(w io.Writer) (*bundle.Manifest, error) {
		m, err := bundle.Write(ctx, w, in)
		return m, userError(err)
	})
	return err
}
