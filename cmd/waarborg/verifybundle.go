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
)

func cmdVerifyBundle(_ context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("verify-bundle", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	key := fs.String("key", "", "the deployment's verifier `key` (as 'waarborg key' prints it), or a file holding it (required)")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: waarborg verify-bundle --key VERIFIER_KEY bundle.zip")
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
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	rep, err := bundle.Verify(f, st.Size(), vkey)
	if err != nil {
		return err
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
