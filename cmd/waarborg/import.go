package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	_ "time/tzdata" // --tz works where the system has no zone files

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/connector/files"
	"github.com/waarborg/waarborg/ledger"
)

func cmdImport(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	dir := dataFlags(fs, e)
	var opts files.Options
	fs.StringVar(&opts.Tenant, "tenant", "", "the `tenant` the records belong to (required)")
	format := fs.String("format", "", "the export's `format`: historian-csv, b2mml or erp-csv (required)")
	fs.StringVar(&opts.Source, "source", "", "the records' source `path`, site first, e.g. ede/line-1/historian (default import/FORMAT)")
	tz := fs.String("tz", "", "time `zone` of times written without an offset: an IANA name (Europe/Amsterdam), UTC or +01:00")
	fs.BoolVar(&opts.DecimalComma, "decimal-comma", false, "numbers in CSV files use a decimal comma (12,5)")
	fs.StringVar(&opts.Line, "line", "", "b2mml: the production `line` of responses that name no equipment")
	fs.Func("column", "CSV: `field=Header` takes the field from the column so headed (repeatable)", func(s string) error {
		field, col, ok := strings.Cut(s, "=")
		if !ok || field == "" || col == "" {
			return errors.New("want field=Header")
		}
		if opts.Columns == nil {
			opts.Columns = map[string]string{}
		}
		opts.Columns[field] = col
		return nil
	})
	quiet := fs.Bool("q", false, "no progress bar")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: waarborg import [--data DIR] --tenant T --format historian-csv|b2mml|erp-csv [--source S] FILE... (- for standard input)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() == 0 || opts.Tenant == "" || *format == "" {
		fs.Usage()
		return errUsage
	}
	f := files.Format(*format)
	known := false
	for _, k := range files.Formats() {
		known = known || k == f
	}
	if !known {
		fmt.Fprintf(e.stderr, "waarborg import: unknown format %q: use historian-csv, b2mml or erp-csv\n", *format)
		return errUsage
	}
	if !waarborg.ValidTenant(opts.Tenant) {
		return fmt.Errorf("tenant %q: must be 1-64 characters of a-z0-9-", opts.Tenant)
	}
	if opts.Source == "" {
		opts.Source = "import/" + string(f)
	}
	if *tz != "" {
		loc, err := loadZone(*tz)
		if err != nil {
			return err
		}
		opts.Location = loc
	}
	d, err := openData(ctx, dir, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer debug.SetGCPercent(debug.SetGCPercent(200))
	return appendFiles(e, d, fs.Args(), "entries", func(name string, sum *ingestSummary) error {
		return importFile(ctx, e, d.ledger, f, name, opts, !*quiet, sum)
	})
}

var offsetZone = regexp.MustCompile(`^([+-])(\d\d):(\d\d)$`)

// loadZone reads an IANA zone name or a fixed offset such as +01:00.
func loadZone(s string) (*time.Location, error) {
	if m := offsetZone.FindStringSubmatch(s); m != nil {
		h, _ := strconv.Atoi(m[2])
		mi, _ := strconv.Atoi(m[3])
		off := (h*60 + mi) * 60
		if m[1] == "-" {
			off = -off
		}
		return time.FixedZone(s, off), nil
	}
	loc, err := time.LoadLocation(s)
	if err != nil {
		return nil, fmt.Errorf("--tz %q: %w", s, err)
	}
	return loc, nil
}

// countingReader counts the bytes read, for the progress bar.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// importFile streams one export through its reader into the ledger, in
// chunks, with memory bounded by the chunks in flight.
func importFile(ctx context.Context, e *env, l *ledger.Ledger, f files.Format, name string, opts files.Options, progress bool, sum *ingestSummary) error {
	in, err := openInput(e, name, progress)
	if err != nil {
		return err
	}
	defer in.close()
	label := in.label
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ordered := make(chan *chunk, 4)
	var readErr error
	go func() {
		defer close(ordered)
		c := newChunk()
		send := func() error {
			close(c.parsed)
			select {
			case ordered <- c:
			case <-ctx.Done():
				return ctx.Err()
			}
			c = newChunk()
			return nil
		}
		readErr = files.Read(ctx, f, countingReader{in.r, &in.read}, opts, func(it files.Item) error {
			c.lineNos = append(c.lineNos, it.Line)
			c.recs = append(c.recs, it.Record)
			c.errs = append(c.errs, it.Err)
			if len(c.recs) >= chunkLines {
				return send()
			}
			return nil
		})
		if readErr == nil && len(c.recs) > 0 {
			readErr = send()
		}
	}()
	if err := appendChunks(ctx, cancel, e, l, label, ordered, sum); err != nil {
		return err
	}
	if readErr != nil && !errors.Is(readErr, context.Canceled) {
		return fmt.Errorf("read %s: %w", label, readErr)
	}
	return ctx.Err()
}

func newChunk() *chunk { return &chunk{parsed: make(chan struct{})} }
