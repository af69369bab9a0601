package main

import (
	"context"
	"flag"
	"fmt"
	"runtime/debug"

	"github.com/waarborg/waarborg/bundle"
)

func cmdBundle(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("bundle", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	dir := dataFlags(fs, e)
	ef := declareEvalFlags(fs)
	out := fs.String("out", "", "the bundle `file` to write, a zip (required)")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: waarborg bundle --tenant T --from YYYY-MM-DD --to YYYY-MM-DD --out FILE [--catalog FILE]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || !ef.complete() || *out == "" {
		if err == nil {
			fs.Usage()
		}
		return errUsage
	}
	ev, err := ef.evaluate(ctx, dir)
	if err != nil {
		return err
	}
	defer ev.d.Close()
	err = writeBundle(ctx, *out, bundle.Input{
		Store: ev.d.store, Ledger: ev.d.ledger, Tenant: ev.tenant, From: ev.start, To: ev.end,
		Version: version(), Catalog: ev.catalog, Result: ev.result,
	})
	if err != nil {
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
