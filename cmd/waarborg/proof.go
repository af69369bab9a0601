package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"strconv"
)

func cmdProof(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("proof", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	dir := dataFlags(fs, e)
	tenant := fs.String("tenant", "", "the tenant whose log to prove (required)")
	id := fs.String("id", "", "prove that the record with this id is in the log")
	size := fs.Uint64("size", 0, "with --id: prove inclusion in the checkpoint of this size (default: the latest)")
	consistency := fs.Bool("consistency", false, "prove that the checkpoint of size NEW extends that of size OLD: --consistency OLD NEW")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: waarborg proof --tenant T --id ID [--size N]\n       waarborg proof --tenant T --consistency OLD NEW")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if *tenant == "" || (*id == "") == !*consistency {
		fs.Usage()
		return errUsage
	}
	var sizes [2]uint64
	if *consistency {
		if fs.NArg() != 2 {
			fs.Usage()
			return errUsage
		}
		for i := range sizes {
			n, err := strconv.ParseUint(fs.Arg(i), 10, 64)
			if err != nil {
				return fmt.Errorf("checkpoint size %q: %w", fs.Arg(i), errUsage)
			}
			sizes[i] = n
		}
	} else if fs.NArg() != 0 {
		fs.Usage()
		return errUsage
	}
	d, err := openData(ctx, dir, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer d.Close()
	var out any
	if *consistency {
		out, err = d.ledger.Consistency(ctx, *tenant, sizes[0], sizes[1])
	} else {
		out, err = d.ledger.Inclusion(ctx, *tenant, *id, *size)
	}
	if err != nil {
		return userError(err)
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func cmdKey(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 && args[0] == "rotate" {
		return cmdKeyRotate(ctx, e, args[1:])
	}
	fs := flag.NewFlagSet("key", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	dir := dataFlags(fs, e)
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return errUsage
	}
	d, err := openData(ctx, dir, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer d.Close()
	vkey, err := verifierKeyText(d)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, vkey)
	return nil
}
