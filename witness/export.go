package witness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/ledger"
)

// ExporterConfig configures an Exporter: Dir, URL or both.
type ExporterConfig struct {
	Store waarborg.Store
	// Dir receives one file a tenant a day,
	// <tenant>-<YYYY-MM-DD>.checkpoint: the cosigned checkpoint, a small
	// text file fit to mail.
	Dir string
	// URL receives the same text in a POST a tenant a day, with the tenant
	// in the X-Waarborg-Tenant header.
	URL string
	// Delay after each UTC midnight before the export, so that the period
	// end's cosignatures are in (default 15 minutes).
	Delay time.Duration
	// Retry is the wait before a failed export is tried again (default 10
	// minutes).
	Retry  time.Duration
	Client *http.Client
	Now    func() time.Time
	Logger *slog.Logger
}

// An Exporter pushes each tenant's latest checkpoint, with its
// cosignatures, out of waarborg's hands once a day: to a directory the
// client controls, or to its HTTP endpoint. A history could then be
// rewritten unseen only since the last export, at most a day.
type Exporter struct {
	cfg ExporterConfig
}

// NewExporter returns an Exporter; Run starts it.
func NewExporter(cfg ExporterConfig) *Exporter {
	if cfg.Delay <= 0 {
		cfg.Delay = 15 * time.Minute
	}
	if cfg.Retry <= 0 {
		cfg.Retry = 10 * time.Minute
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Exporter{cfg: cfg}
}

// Run exports once at start and then daily, Delay after UTC midnight,
// until ctx ends; a failed export is retried every Retry.
func (x *Exporter) Run(ctx context.Context) {
	next := x.cfg.Now()
	for {
		wait := next.Sub(x.cfg.Now())
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		if err := x.Export(ctx); err != nil {
			x.cfg.Logger.Error("export checkpoints", "err", err)
			next = x.cfg.Now().Add(x.cfg.Retry)
			continue
		}
		next = NextPeriodEnd(x.cfg.Now()).Add(x.cfg.Delay)
	}
}

// Export exports every tenant's latest checkpoint now.
func (x *Exporter) Export(ctx context.Context) error {
	tenants, err := x.cfg.Store.Tenants(ctx)
	if err != nil {
		return err
	}
	day := x.cfg.Now().UTC().Format(time.DateOnly)
	var errs []error
	for _, t := range tenants {
		cp, err := x.cfg.Store.Checkpoint(ctx, t, 0)
		if waarborg.ErrorCode(err) == waarborg.ENOTFOUND {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		cosigs, err := x.cfg.Store.Cosignatures(ctx, t, cp.Size)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		text := ledger.Cosigned(cp.Note, cosigs)
		if x.cfg.Dir != "" {
			errs = append(errs, writeFile(filepath.Join(x.cfg.Dir, t+"-"+day+".checkpoint"), text))
		}
		if x.cfg.URL != "" {
			errs = append(errs, x.post(ctx, t, text))
		}
		x.cfg.Logger.Info("exported checkpoint", "tenant", t, "size", cp.Size, "cosignatures", len(cosigs))
	}
	return errors.Join(errs...)
}

func (x *Exporter) post(ctx context.Context, tenant string, text []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, x.cfg.URL, bytes.NewReader(text))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	req.Header.Set("X-Waarborg-Tenant", tenant)
	resp, err := x.cfg.Client.Do(req)
	if err != nil {
		return fmt.Errorf("export %s: %w", tenant, err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("export %s: %s answered %s", tenant, x.cfg.URL, resp.Status)
	}
	return nil
}

// writeFile writes a file whole or not at all.
func writeFile(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".export-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := errors.Join(f.Sync(), f.Close()); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
