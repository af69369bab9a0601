package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/assess"
	"github.com/waarborg/waarborg/bundle"
	"github.com/waarborg/waarborg/controls"
)

func cmdBundle(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("bundle", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	dir := dataFlag(fs, e)
	tenant := fs.String("tenant", "", "the tenant to evaluate (required)")
	from := fs.String("from", "", "first day of the period, YYYY-MM-DD (UTC midnight) or an RFC 3339 instant (required)")
	to := fs.String("to", "", "the day after the period, YYYY-MM-DD or RFC 3339: the period is [from, to) (required)")
	out := fs.String("out", "", "the bundle `file` to write, a zip (required)")
	catalogFile := fs.String("catalog", "", "JSON `file` of parameter overrides, as for waarborg controls")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: waarborg bundle --tenant T --from YYYY-MM-DD --to YYYY-MM-DD --out FILE [--catalog FILE]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || *tenant == "" || *from == "" || *to == "" || *out == "" {
		if err == nil {
			fs.Usage()
		}
		return errUsage
	}
	start, err := waarborg.ParseBound(*from)
	if err != nil {
		return fmt.Errorf("--from: %w", err)
	}
	end, err := waarborg.ParseBound(*to)
	if err != nil {
		return fmt.Errorf("--to: %w", err)
	}
	cat := controls.Default()
	if *catalogFile != "" {
		b, err := os.ReadFile(*catalogFile)
		if err != nil {
			return err
		}
		if err := cat.Override(b); err != nil {
			return userError(err)
		}
	}
	d, err := openData(ctx, *dir, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer d.Close()
	res, err := assess.Run(ctx, assess.Log{Store: d.store, Ledger: d.ledger, Verifier: d.verifier, Deployment: d.deployment}, cat, *tenant, start, end)
	if err != nil {
		return userError(err)
	}
	// Written beside the target and renamed, so that a failed run never
	// leaves a bundle that looks whole.
	f, err := os.CreateTemp(filepath.Dir(*out), ".bundle-*.zip")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	err = bundle.Write(ctx, f, bundle.Input{
		Store: d.store, Ledger: d.ledger, Tenant: *tenant, From: start, To: end,
		Version: version(), Catalog: cat, Result: res,
	})
	if err != nil {
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
	if err := os.Rename(f.Name(), *out); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "wrote %s\n", *out)
	return nil
}

// version is the module version the binary was built from, "(devel)" for
// a build from a checkout, with the VCS revision when Go recorded one.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			v += " " + s.Value
		}
	}
	return v
}
