package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/waarborg/waarborg/ledger"
	"github.com/waarborg/waarborg/witness"
)

// The witness's data directory: its cosigning key (made on first start),
// its verifier key and its state.
const (
	witnessKeyFile      = "witness.key"
	witnessVerifierFile = "witness.vkey"
	witnessDBFile       = "witness.db"
	witnessLockFile     = "witness.lock"
)

// repeatedFlag is a flag that may be given many times, each value whole.
type repeatedFlag []string

func (f *repeatedFlag) String() string     { return strings.Join(*f, ", ") }
func (f *repeatedFlag) Set(v string) error { *f = append(*f, v); return nil }

func cmdWitness(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("witness", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	dir := fs.String("data", "waarborg-witness", "the witness's data `directory`: its key and state")
	addr := fs.String("addr", "127.0.0.1:7380", "listen `address`; port 0 picks a free one")
	name := fs.String("name", "", "the witness's `name` in its key, on first start (default witness.<host name>)")
	var logKeys repeatedFlag
	fs.Var(&logKeys, "log-key", "the verifier `key` of a log to witness (as 'waarborg key' prints it), or a file of keys one a line; a key named N covers every tenant's log N/waarborg/…; repeat for more")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: waarborg witness [--data DIR] [--addr HOST:PORT] --log-key KEY ...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || len(logKeys) == 0 {
		if err == nil {
			fs.Usage()
		}
		return errUsage
	}
	var verifiers []note.Verifier
	for _, k := range logKeys {
		ks, err := readKeys(k, func(k string) error { _, err := note.NewVerifier(k); return err })
		if err != nil {
			return fmt.Errorf("--log-key: %w", err)
		}
		for _, k := range ks {
			v, _ := note.NewVerifier(k)
			verifiers = append(verifiers, v)
		}
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return fmt.Errorf("witness directory: %w", err)
	}
	unlock, err := lockDir(filepath.Join(*dir, witnessLockFile))
	if err != nil {
		return err
	}
	defer unlock()
	cosigner, err := witnessKey(*dir, *name)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(e.stderr, nil))
	srv, err := witness.Open(ctx, filepath.Join(*dir, witnessDBFile), cosigner, verifiers, logger)
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := new(net.ListenConfig).Listen(ctx, "tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	fmt.Fprintf(e.stdout, "witness verifier key: %s\n", cosigner.Verifier())
	fmt.Fprintf(e.stdout, "listening on http://%s\n", ln.Addr())
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	select {
	case err = <-served:
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		err = hs.Shutdown(sctx)
		cancel()
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// witnessKey reads the witness's cosigning key, making it on first start.
// The file holds the name and the base64 Ed25519 seed, one line.
func witnessKey(dir, name string) (*ledger.Cosigner, error) {
	path := filepath.Join(dir, witnessKeyFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if name == "" {
			name = "witness.waarborg.local"
			if h, err := os.Hostname(); err == nil && h != "" && !strings.ContainsAny(h, " +\n") {
				name = "witness." + h
			}
		}
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		cs, err := ledger.NewCosigner(name, priv, nil)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, witnessVerifierFile), []byte(cs.Verifier().String()+"\n"), 0o644); err != nil {
			return nil, fmt.Errorf("write witness verifier key: %w", err)
		}
		line := name + " " + base64.StdEncoding.EncodeToString(priv.Seed()) + "\n"
		if err := writeExclusive(path, line); err != nil {
			return nil, fmt.Errorf("write witness key: %w", err)
		}
		return cs, nil
	} else if err != nil {
		return nil, fmt.Errorf("read witness key: %w", err)
	}
	stored, seed64, ok := strings.Cut(strings.TrimSpace(string(b)), " ")
	seed, err := base64.StdEncoding.DecodeString(seed64)
	if !ok || err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("%s: want a name and a base64 Ed25519 seed", path)
	}
	if name != "" && name != stored {
		return nil, fmt.Errorf("--name %q: the witness's key is named %q", name, stored)
	}
	return ledger.NewCosigner(stored, ed25519.NewKeyFromSeed(seed), nil)
}

// writeExclusive writes a new file of mode 0600 and syncs it: a key file,
// which must never be overwritten.
func writeExclusive(path, content string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		return err
	}
	return errors.Join(f.Sync(), f.Close())
}

// readKeys reads keys given as a key, or as a file of keys one a line (#
// starts a comment), each of which parse accepts.
func readKeys(s string, parse func(string) error) ([]string, error) {
	if parse(strings.TrimSpace(s)) == nil {
		return []string{strings.TrimSpace(s)}, nil
	}
	b, err := os.ReadFile(s)
	if err != nil {
		return nil, fmt.Errorf("%q is neither a key nor a readable file", s)
	}
	var out []string
	for line := range strings.Lines(string(b)) {
		if line = strings.TrimSpace(line); line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := parse(line); err != nil {
			return nil, fmt.Errorf("%s: %w", s, err)
		}
		out = append(out, line)
	}
	return out, nil
}
