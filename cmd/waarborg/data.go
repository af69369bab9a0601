package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/assess"
	"github.com/waarborg/waarborg/ledger"
	"github.com/waarborg/waarborg/postgres"
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

// A location is where a command finds its data: the data directory, which
// always holds the signing key, and the database, which is the SQLite file
// in the directory unless db names a PostgreSQL database.
type location struct {
	dir, db string
}

// dataFlags declares --data and --db.
func dataFlags(fs *flag.FlagSet, e *env) *location {
	loc := &location{}
	def := e.getenv("WAARBORG_DATA")
	if def == "" {
		def = "waarborg-data"
	}
	fs.StringVar(&loc.dir, "data", def, "data `directory` (env WAARBORG_DATA): the signing key, and the database unless --db names one")
	fs.StringVar(&loc.db, "db", e.getenv("WAARBORG_DB"), "PostgreSQL database `url` (postgres://…, env WAARBORG_DB) instead of the SQLite file of the data directory")
	return loc
}

// data is an open data directory.
type data struct {
	dir        string
	store      waarborg.Store
	users      waarborg.Users // the store's users, nil when it keeps none
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
// On SQLite only one process appends to a data directory at a time: it
// holds the directory's lock. On PostgreSQL any number of processes share
// the database (and a copy of the directory's keys): the database orders
// their appends.
func openData(ctx context.Context, loc *location, logger *slog.Logger) (*data, error) {
	if err := os.MkdirAll(loc.dir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	unlock := func() {}
	if loc.db == "" {
		var err error
		if unlock, err = lockDir(filepath.Join(loc.dir, lockFile)); err != nil {
			return nil, err
		}
	}
	store, err := openStore(ctx, loc)
	if err != nil {
		unlock()
		return nil, err
	}
	if err := checkSharedKey(ctx, loc, store); err != nil {
		store.Close()
		unlock()
		return nil, err
	}
	d, err := openKeys(loc.dir)
	if err != nil {
		store.Close()
		unlock()
		return nil, err
	}
	d.unlock, d.store = unlock, store
	d.users, _ = store.(waarborg.Users)
	if err := d.finishRotation(ctx); err != nil {
		d.store.Close()
		unlock()
		return nil, err
	}
	d.ledger = ledger.Open(ledger.Config{Store: d.store, Signer: d.signer, Deployment: d.deployment, Logger: logger})
	return d, nil
}

// openStore opens the location's database: the one switch between stores.
func openStore(ctx context.Context, loc *location) (waarborg.Store, error) {
	switch {
	case loc.db == "":
		return sqlite.Open(ctx, filepath.Join(loc.dir, dbFile))
	case isPostgresURL(loc.db):
		return postgres.Open(ctx, loc.db)
	default:
		return nil, fmt.Errorf("--db: want a postgres:// URL, got %q", redact(loc.db))
	}
}

// checkSharedKey refuses a new key for a shared database that holds logs
// already: a node started with an empty data directory would sign with a
// key of its own, which no auditor knows.
func checkSharedKey(ctx context.Context, loc *location, s waarborg.Store) error {
	if loc.db == "" {
		return nil
	}
	if _, err := os.Stat(filepath.Join(loc.dir, signerFile)); !errors.Is(err, os.ErrNotExist) {
		return nil
	}
	tenants, err := s.Tenants(ctx)
	if err != nil {
		return err
	}
	if len(tenants) > 0 {
		return fmt.Errorf("%s has no %s, and the database holds logs signed by another key: copy %s and %s from the data directory that signed them",
			loc.dir, signerFile, signerFile, verifierFile)
	}
	return nil
}

func isPostgresURL(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// redact hides a password in a database URL.
func redact(db string) string {
	if u, err := url.Parse(db); err == nil {
		return u.Redacted()
	}
	return "…"
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
		if err := writeExclusive(skeyPath, s+"\n"); err != nil {
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
	if err := mendVerifierKey(dir, signer); err != nil {
		return nil, err
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
