package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/waarborg/waarborg/bundle"
	"github.com/waarborg/waarborg/ledger"
)

func cmdVerifyBundle(_ context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("verify-bundle", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	key := fs.String("key", "", "the deployment's verifier `key` (as 'waarborg key' prints it), or a file holding it (required)")
	var witnessKeys repeatedFlag
	fs.Var(&witnessKeys, "witness-key", "the verifier `key` of a witness you know (as 'waarborg witness' prints it), or a file of keys one a line; repeat for more")
	minWitnesses := fs.Int("min-witnesses", 0, "fail unless at least `N` known witnesses cosigned the period-end checkpoint within the period's grace")
	grace := fs.Duration("grace", bundle.DefaultGrace, "how long after the period's end a cosignature of its period-end checkpoint may be dated")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: waarborg verify-bundle --key VERIFIER_KEY [--witness-key KEY ... --min-witnesses N] bundle.zip")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 || *key == "" {
		if err == nil {
			fs.Usage()
		}
		return errUsage
	}
	vkey := strings.TrimSpace(*key)
	if _, err := note.NewVerifier(vkey); err != nil {
		b, ferr := os.ReadFile(vkey)
		if ferr != nil {
			return fmt.Errorf("--key: neither a verifier key (%v) nor a readable file", err)
		}
		vkey = string(b)
	}
	var witnesses []string
	for _, k := range witnessKeys {
		ks, err := readKeys(k, func(k string) error { _, err := ledger.NewCosignatureVerifier(k); return err })
		if err != nil {
			return fmt.Errorf("--witness-key: %w", err)
		}
		witnesses = append(witnesses, ks...)
	}
	if *minWitnesses > len(witnesses) {
		fmt.Fprintf(e.stderr, "verify-bundle: --min-witnesses %d, but %d witness keys given\n", *minWitnesses, len(witnesses))
		return errUsage
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	rep, err := bundle.VerifyWith(f, st.Size(), bundle.Options{Key: vkey, Witnesses: witnesses, MinWitnesses: *minWitnesses, Grace: *grace})
	if err != nil {
		return err
	}
	for _, c := range rep.Cosignatures {
		fmt.Fprintf(e.stdout, "%s checkpoint (size %d) cosigned by %s at %s\n", c.Checkpoint, c.Size, c.Witness, c.Time.Format(time.RFC3339))
	}
	for _, p := range rep.Problems {
		fmt.Fprintln(e.stdout, p)
	}
	if !rep.OK() {
		fmt.Fprintf(e.stdout, "%s: %d problems: the bundle does not hold\n", fs.Arg(0), len(rep.Problems))
		return errReported
	}
	fmt.Fprintf(e.stdout, "%s: tenant %s, [%s, %s): checkpoints %d → %d, %d entries and %d context records verified, %d controls re-run: all match\n",
		fs.Arg(0), rep.Tenant, rep.From.Format(time.RFC3339), rep.To.Format(time.RFC3339),
		rep.StartSize, rep.EndSize, rep.Entries, rep.Context, rep.Controls)
	return nil
}
