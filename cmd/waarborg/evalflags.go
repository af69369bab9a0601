package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/assess"
	"github.com/waarborg/waarborg/controls"
)

// evalFlags are the flags of every command that evaluates the controls of a
// tenant over a period: controls, bundle.
type evalFlags struct {
	tenant, from, to, catalog *string
}

func declareEvalFlags(fs *flag.FlagSet) *evalFlags {
	return &evalFlags{
		tenant:  fs.String("tenant", "", "the tenant to evaluate (required)"),
		from:    fs.String("from", "", "first day of the period, YYYY-MM-DD (UTC midnight) or an RFC 3339 instant (required)"),
		to:      fs.String("to", "", "the day after the period, YYYY-MM-DD or RFC 3339: the period is [from, to) (required)"),
		catalog: fs.String("catalog", "", "JSON `file` of parameter overrides, e.g. {\"AC-04\": {\"revocation_window\": \"48h\"}}"),
	}
}

func (f *evalFlags) complete() bool { return *f.tenant != "" && *f.from != "" && *f.to != "" }

// period returns the parsed period and the catalog in force.
func (f *evalFlags) period() (start, end time.Time, cat *controls.Catalog, err error) {
	if start, err = waarborg.ParseBound(*f.from); err != nil {
		return start, end, nil, fmt.Errorf("--from: %w", err)
	}
	if end, err = waarborg.ParseBound(*f.to); err != nil {
		return start, end, nil, fmt.Errorf("--to: %w", err)
	}
	cat, err = loadCatalog(*f.catalog)
	return start, end, cat, err
}

// loadCatalog returns the built-in catalog with the overrides of file, if
// one is named.
func loadCatalog(file string) (*controls.Catalog, error) {
	cat := controls.Default()
	if file == "" {
		return cat, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	if err := cat.Override(b); err != nil {
		return nil, userError(err)
	}
	return cat, nil
}

// An evaluation is the controls result of the flags' tenant and period,
// with the open data directory it read.
type evaluation struct {
	d          *data
	tenant     string
	start, end time.Time
	catalog    *controls.Catalog
	result     *controls.Result
}

// evaluate opens the data directory and evaluates the controls; the caller
// closes e.d.
func (f *evalFlags) evaluate(ctx context.Context, dir *location) (*evaluation, error) {
	start, end, cat, err := f.period()
	if err != nil {
		return nil, err
	}
	return evaluate(ctx, dir, cat, *f.tenant, start, end, assess.Options{})
}

// evaluate evaluates cat over tenant's period [start, end) with opts.
func evaluate(ctx context.Context, dir *location, cat *controls.Catalog, tenant string, start, end time.Time, opts assess.Options) (*evaluation, error) {
	d, err := openData(ctx, dir, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	res, err := assess.RunWith(ctx, d.assessLog(), cat, tenant, start, end, opts)
	if err != nil {
		d.Close()
		return nil, userError(err)
	}
	return &evaluation{d: d, tenant: tenant, start: start, end: end, catalog: cat, result: res}, nil
}
