package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"

	"github.com/waarborg/waarborg/assess"
)

func cmdControls(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("controls", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	dir := dataFlag(fs, e)
	ef := declareEvalFlags(fs)
	asJSON := fs.Bool("json", false, "print the result document of the controls spec")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: waarborg controls --tenant T --from YYYY-MM-DD --to YYYY-MM-DD [--json] [--catalog FILE]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || !ef.complete() {
		if err == nil {
			fs.Usage()
		}
		return errUsage
	}
	start, end, cat, err := ef.period()
	if err != nil {
		return err
	}
	tenant := ef.tenant
	d, err := openData(ctx, *dir, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer d.Close()
	res, err := assess.Run(ctx, d.assessLog(), cat, *tenant, start, end)
	if err != nil {
		return userError(err)
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", " ")
		return enc.Encode(res)
	}
	return res.WriteTable(e.stdout)
}
