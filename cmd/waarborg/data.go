package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/waarborg/waarborg/assess"
	"github.com/waarborg/waarborg/ledger"
	"github.com/waarborg/waarborg/sqlite"
)

// The data directory holds the database, the checkpoint signing key (made
// on first start, never leaves the directory), its public verifier key and
// the deployment's name, which prefixes every checkpoint origin.
const (
	dbFile       = "waarborg.db"
	signerFile   = "signing.key"
	verifierFile = "verifier.key"
	lockFile     = "waarborg.lock"
	reportsDir   = "reports" // what the reports page generated, one directory a tenant
)

func dataFlag(fs *flag.FlagSet, e *env) *string {
	def := e.getenv("WAARBORG_DATA")
	if def == "" {
		def = "waarborg-data"
	}
	return fs.String("data", def, "data `directory` (env WAARBORG_DATA)")
}

// data is an open data directory.
type data struct {
	dir        string
	store      *sqlite.DB
	ledger     *ledger.Ledger
	signer     note.Signer
	verifier   note.Verifier
	deployment string
	unlock     func()
}

func (d *data) Close() error {
	var err error
	if d.ledger != nil {
		err = d.ledger.Close()
	}
	err = errors.Join(err, d.store.Close())
	if d.unlock != nil {
		d.unlock()
	}
	return err
}

// openData opens a data directory, creating it and its key on first use.
// Only one process appends to a data directory at a time: it holds the lock.
func openData(ctx context.Context, dir string, logger *slog.Logger) (*data, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	unlock, err := lockDir(filepath.Join(dir, lockFile))
	if err != nil {
		return nil, err
	}
	d, err := openKeys(dir)
	if err != nil {
		unlock()
		return nil, err
	}
	d.unlock = unlock
	if d.store, err = sqlite.Open(ctx, filepath.Join(dir, dbFile)); err != nil {
		unlock()
		return nil, err
	}
	d.ledger = ledger.Open(ledger.Config{Store: d.store, Signer: d.signer, Deployment: d.deployment, Logger: logger})
	return d, nil
}

func openKeys(dir string) (*data, error) {
	skeyPath := filepath.Join(dir, signerFile)
	skey, err := os.ReadFile(skeyPath)
	if errors.Is(err, os.ErrNotExist) {
		name := "waarborg.local"
		if h, err := os.Hostname(); err == nil && h != "" && !strings.ContainsAny(h, " +\n") {
			name = h
		}
		s, v, err := note.GenerateKey(rand.Reader, name)
		if err != nil {
			return nil, fmt.Errorf("create signing key: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, verifierFile), []byte(v+"\n"), 0o644); err != nil {
			return nil, fmt.Errorf("write verifier key: %w", err)
		}
		// Written last and exclusively, so that a crash leaves no half key.
		f, err := os.OpenFile(skeyPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("write signing key: %w", err)
		}
		if _, err := f.WriteString(s + "\n"); err != nil {
			f.Close()
			return nil, fmt.Errorf("write signing key: %w", err)
		}
		if err := errors.Join(f.Sync(), f.Close()); err != nil {
			return nil, fmt.Errorf("write signing key: %w", err)
		}
		skey = []byte(s)
	} else if err != nil {
		return nil, fmt.Errorf("read signing key: %w", err)
	}
	signer, err := note.NewSigner(strings.TrimSpace(string(skey)))
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", skeyPath, err)
	}
	vkey, err := os.ReadFile(filepath.Join(dir, verifierFile))
	if err != nil {
		return nil, fmt.Errorf("read verifier key: %w", err)
	}
	verifier, err := note.NewVerifier(strings.TrimSpace(string(vkey)))
	if err != nil {
		return nil, fmt.Errorf("verifier key: %w", err)
	}
	if verifier.KeyHash() != signer.KeyHash() || verifier.Name() != signer.Name() {
		return nil, fmt.Errorf("%s does not belong to %s", verifierFile, signerFile)
	}
	return &data{dir: dir, signer: signer, verifier: verifier, deployment: signer.Name()}, nil
}

func verifierKeyText(d *data) (string, error) {
	b, err := os.ReadFile(filepath.Join(d.dir, verifierFile))
	return strings.TrimSpace(string(b)), err
}

// assessLog is the data directory's log as an assessment reads it.
func (d *data) assessLog() assess.Log {
	return assess.Log{Store: d.store, Ledger: d.ledger, Verifier: d.verifier, Deployment: d.deployment}
}
