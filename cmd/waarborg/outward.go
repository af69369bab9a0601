package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/waarborg/waarborg/ledger"
	"github.com/waarborg/waarborg/witness"
)

// outwardFlags are serve's flags for what leaves waarborg's hands: the
// witnesses that cosign each tenant's checkpoints and the daily export.
type outwardFlags struct {
	witnesses repeatedFlag
	file      *string
	every     *time.Duration
	exportDir *string
	exportURL *string
}

func declareOutwardFlags(fs *flag.FlagSet) *outwardFlags {
	f := &outwardFlags{}
	fs.Var(&f.witnesses, "witness", "a witness: 'URL VERIFIER_KEY [TENANT ...]' (C2SP tlog-witness; no tenants: all); repeat for more")
	f.file = fs.String("witnesses", "", "a `file` of witnesses, one a line as --witness takes them (# starts a comment)")
	f.every = fs.Duration("witness-every", 10*time.Minute, "the longest a tenant's new checkpoints wait before they go to the witnesses")
	f.exportDir = fs.String("export-dir", "", "a `directory` that receives each tenant's latest cosigned checkpoint daily")
	f.exportURL = fs.String("export-url", "", "a `URL` that receives each tenant's latest cosigned checkpoint daily in a POST")
	return f
}

// outward is what the flags configure.
type outward struct {
	witnesses []witness.Target
	every     time.Duration
	exportDir string
	exportURL string
}

func (f *outwardFlags) parse() (*outward, error) {
	o := &outward{every: *f.every, exportDir: *f.exportDir, exportURL: *f.exportURL}
	lines := append([]string(nil), f.witnesses...)
	if *f.file != "" {
		b, err := os.ReadFile(*f.file)
		if err != nil {
			return nil, fmt.Errorf("--witnesses: %w", err)
		}
		for line := range strings.Lines(string(b)) {
			if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
				lines = append(lines, line)
			}
		}
	}
	for _, line := range lines {
		fields := strings.Fields(line)
		if len(fields) < 2 || !strings.HasPrefix(fields[0], "http") {
			return nil, fmt.Errorf("witness %q: want 'URL VERIFIER_KEY [TENANT ...]'", line)
		}
		key, err := ledger.NewCosignatureVerifier(fields[1])
		if err != nil {
			return nil, err
		}
		o.witnesses = append(o.witnesses, witness.Target{URL: fields[0], Key: key, Tenants: fields[2:]})
	}
	return o, nil
}

// start runs the submitter and the exporter that o configures until ctx
// ends, in wg.
func (o *outward) start(ctx context.Context, wg *sync.WaitGroup, d *data, reg prometheus.Registerer, logger *slog.Logger) {
	if o == nil {
		return
	}
	if len(o.witnesses) > 0 {
		sub := witness.NewSubmitter(witness.SubmitterConfig{
			Store: d.store, Ledger: d.ledger, Witnesses: o.witnesses, Every: o.every,
			Logger: logger, Metrics: reg,
		})
		wg.Go(func() { sub.Run(ctx) })
	}
	if o.exportDir != "" || o.exportURL != "" {
		x := witness.NewExporter(witness.ExporterConfig{Store: d.store, Dir: o.exportDir, URL: o.exportURL, Logger: logger})
		wg.Go(func() { x.Run(ctx) })
	}
}
