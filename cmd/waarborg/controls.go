package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
)

func cmdControls(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("controls", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	dir := dataFlags(fs, e)
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
	ev, err := ef.evaluate(ctx, dir)
	if err != nil {
		return err
	}
	defer ev.d.Close()
	res := ev.result
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", " ")
		return enc.Encode(res)
	}
	return res.WriteTable(e.stdout)
}
