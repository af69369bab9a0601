package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"

	"github.com/waarborg/waarborg/ledger"
)

func cmdVerify(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	dir := dataFlags(fs, e)
	tenant := fs.String("tenant", "", "verify only this tenant's log")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return errUsage
	}
	d, err := openData(ctx, dir, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer d.Close()
	tenants := []string{*tenant}
	if *tenant == "" {
		if tenants, err = d.store.Tenants(ctx); err != nil {
			return err
		}
	}
	failed := false
	for _, t := range tenants {
		rep, err := ledger.Verify(ctx, d.store, t, d.verifier, d.deployment)
		if err != nil {
			return fmt.Errorf("verify %s: %w", t, err)
		}
		status := "intact"
		if len(rep.Problems) > 0 {
			status = fmt.Sprintf("%d problems", len(rep.Problems))
			failed = true
		}
		fmt.Fprintf(e.stdout, "%s: %d entries, %d checkpoints: %s\n", t, rep.Entries, rep.Checkpoints, status)
		for _, p := range rep.Problems {
			switch {
			case p.ID != "":
				fmt.Fprintf(e.stdout, "  %s %s (entry %d)\n", p.Reason, p.ID, p.Index)
			case p.Reason == ledger.Missing:
				fmt.Fprintf(e.stdout, "  %s entry %d\n", p.Reason, p.Index)
			default:
				fmt.Fprintf(e.stdout, "  %s: checkpoint of size %d\n", p.Reason, p.Size)
			}
		}
	}
	if failed {
		return errReported
	}
	return nil
}
