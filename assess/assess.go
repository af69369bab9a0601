// Package assess runs the control catalog over a tenant's stored log: one
// pass re-checks the log (LM-03) and hands every record to the controls
// engine, and the result is tied to the signed checkpoint it read.
//
// It joins the ledger and controls packages; the CLI and the HTTP API use it.
package assess

import (
	"context"
	"iter"
	"strconv"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/controls"
	"github.com/waarborg/waarborg/ledger"
)

// Log is a tenant's ledger as an assessment reads it.
type Log struct {
	Store      waarborg.Store
	Ledger     *ledger.Ledger
	Verifier   note.Verifier
	Deployment string
}

// Run evaluates cat over tenant's records for the period [from, to). It
// first makes sure a checkpoint covers every entry, then reads exactly the
// entries of that checkpoint. It returns ENOTFOUND for a tenant with no log.
func Run(ctx context.Context, l Log, cat *controls.Catalog, tenant string, from, to time.Time) (*controls.Result, error) {
	return RunWith(ctx, l, cat, tenant, from, to, Options{})
}

// Options are what a report asks of an assessment beyond the result.
type Options struct {
	// Each, when not nil, gets every record read, in log order, so that
	// a report gathers its figures in the same pass.
	Each func(*waarborg.Record)
	// Populations names controls whose population items the result lists.
	Populations []string
}

// RunWith is Run with options.
func RunWith(ctx context.Context, l Log, cat *controls.Catalog, tenant string, from, to time.Time, opts Options) (*controls.Result, error) {
	each := opts.Each
	cp, err := l.Ledger.Sync(ctx, tenant)
	if err != nil {
		return nil, err
	}
	var (
		rep     *ledger.Report
		scanErr error
	)
	integrity := &controls.Integrity{}
	records := func(yield func(*waarborg.Record) bool) {
		stopped := false
		rep, scanErr = ledger.VerifyEach(ctx, l.Store, tenant, l.Verifier, l.Deployment, cp.Size, func(r *waarborg.Record) {
			if stopped {
				return
			}
			if each != nil {
				each(r)
			}
			if !yield(r) {
				stopped = true
			}
		})
		if rep != nil {
			*integrity = Integrity(rep)
		}
	}
	res, err := controls.Evaluate(cat, controls.Input{
		Tenant:      tenant,
		From:        from,
		To:          to,
		Records:     iter.Seq[*waarborg.Record](records),
		Integrity:   integrity,
		Populations: opts.Populations,
	})
	if err != nil {
		return nil, err
	}
	if scanErr != nil {
		return nil, scanErr
	}
	res.Checkpoint = string(cp.Note)
	return res, nil
}

// Integrity turns a ledger report into LM-03's input. An entry missing from
// the store is reported as tampered, under the subject "entry/<index>".
func Integrity(rep *ledger.Report) controls.Integrity {
	in := controls.Integrity{Entries: int(rep.Entries)}
	for _, p := range rep.Problems {
		switch {
		case p.Reason == ledger.Inconsistent:
			in.InconsistentCheckpoints = append(in.InconsistentCheckpoints, strconv.FormatUint(p.Size, 10))
		case p.ID != "":
			in.Tampered = append(in.Tampered, p.ID)
		default:
			in.Tampered = append(in.Tampered, "entry/"+strconv.FormatUint(p.Index, 10))
		}
	}
	return in
}
