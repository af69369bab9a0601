package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/waarborg/waarborg/sim"
)

// cmdSimulate writes a simulated plant's history as JSON Lines: the data of
// the demo and of the benchmarks.
func cmdSimulate(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	out := fs.String("out", "-", "output `file` (- for standard output)")
	cfg := simFlags(fs)
	limit := fs.Int("records", 0, "stop after this many records (0: the whole history)")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return errUsage
	}
	c, err := cfg()
	if err != nil {
		return err
	}
	w := e.stdout
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	n := 0
	errStop := fmt.Errorf("enough")
	err = sim.Generate(c, func(line []byte) error {
		if *limit > 0 && n >= *limit {
			return errStop
		}
		if n%100000 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		n++
		bw.Write(line)
		return bw.WriteByte('\n')
	})
	if err != nil && err != errStop {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "wrote %d records\n", n)
	return nil
}

// simFlags declares the simulator's flags and returns a function that
// builds its Config from them.
func simFlags(fs *flag.FlagSet) func() (sim.Config, error) {
	tenant := fs.String("tenant", "acme-foods", "tenant of the simulated plant")
	sites := fs.String("sites", "ede,venlo,gent", "comma-separated site names")
	lines := fs.Int("lines", 2, "production lines per site")
	from := fs.String("from", "2026-01-01", "first day of the history (UTC)")
	days := fs.Int("days", 365, "days of history")
	seed := fs.Int64("seed", 1, "random seed: the same seed gives the same history")
	problems := fs.Float64("problems", 0.01, "share of planted control exceptions (0 to 1)")
	return func() (sim.Config, error) {
		start, err := time.Parse(time.DateOnly, *from)
		if err != nil {
			return sim.Config{}, fmt.Errorf("--from: want YYYY-MM-DD: %w", err)
		}
		if *days < 1 || *problems < 0 || *problems > 1 {
			return sim.Config{}, fmt.Errorf("--days must be ≥ 1 and --problems in [0, 1]")
		}
		return sim.Config{
			Tenant:       *tenant,
			Sites:        strings.Split(*sites, ","),
			LinesPerSite: *lines,
			From:         start,
			To:           start.AddDate(0, 0, *days),
			Seed:         *seed,
			ProblemRate:  *problems,
		}, nil
	}
}
