package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/assess"
	"github.com/waarborg/waarborg/controls"
)

func cmdControls(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("controls", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	dir := dataFlag(fs, e)
	tenant := fs.String("tenant", "", "the tenant to evaluate (required)")
	from := fs.String("from", "", "first day of the period, YYYY-MM-DD (UTC midnight) or an RFC 3339 instant (required)")
	to := fs.String("to", "", "the day after the period, YYYY-MM-DD or RFC 3339: the period is [from, to) (required)")
	asJSON := fs.Bool("json", false, "print the result document of the controls spec")
	catalogFile := fs.String("catalog", "", "JSON `file` of parameter overrides, e.g. {\"AC-04\": {\"revocation_window\": \"48h\"}}")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: waarborg controls --tenant T --from YYYY-MM-DD --to YYYY-MM-DD [--json] [--catalog FILE]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || *tenant == "" || *from == "" || *to == "" {
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
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", " ")
		return enc.Encode(res)
	}
	return res.WriteTable(e.stdout)
}
