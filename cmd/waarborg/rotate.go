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

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/ledger"
)

// While a rotation runs, the new key waits beside the current one: written
// before the ledger signs with it, renamed over it after.
const nextSuffix = ".next"

func cmdKeyRotate(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("key rotate", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	dir := dataFlags(fs, e)
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: waarborg key rotate [--data DIR]\n\nMakes a new signing key, records the rotation (announced by the old key) in every tenant's log and signs from then on with the new key.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return errUsage
	}
	d, err := openData(ctx, dir, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer d.Close()
	oldKey, err := verifierKeyText(d)
	if err != nil {
		return err
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, d.deployment)
	if err != nil {
		return err
	}
	next, err := note.NewSigner(skey)
	if err != nil {
		return err
	}
	// The new private key is on disk before any checkpoint is signed with it.
	sPath, vPath := filepath.Join(d.dir, signerFile), filepath.Join(d.dir, verifierFile)
	if err := os.WriteFile(vPath+nextSuffix, []byte(vkey+"\n"), 0o644); err != nil {
		return err
	}
	if err := writeExclusive(sPath+nextSuffix, skey+"\n"); err != nil {
		return fmt.Errorf("write the new signing key: %w (a rotation left unfinished? run any command on the data directory first)", err)
	}
	announcement, err := ledger.Announce(d.deployment, d.signer, oldKey, next, vkey)
	if err != nil {
		return err
	}
	if err := d.ledger.Rotate(ctx, next, announcement); err != nil {
		os.Remove(sPath + nextSuffix)
		os.Remove(vPath + nextSuffix)
		return fmt.Errorf("rotate: %w", err)
	}
	if err := promoteNextKey(d.dir); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "old key: %s\nnew key: %s\n", oldKey, vkey)
	return nil
}

// promoteNextKey makes the waiting new key the current one. A crash
// between the two renames leaves the new signing key beside the old
// verifier key: mendVerifierKey finishes that.
func promoteNextKey(dir string) error {
	sPath, vPath := filepath.Join(dir, signerFile), filepath.Join(dir, verifierFile)
	if err := os.Rename(sPath+nextSuffix, sPath); err != nil {
		return err
	}
	return os.Rename(vPath+nextSuffix, vPath)
}

// mendVerifierKey finishes a promotion that a crash cut between its two
// renames, and removes a waiting verifier key whose signing key was never
// written.
func mendVerifierKey(dir string, signer note.Signer) error {
	vNext := filepath.Join(dir, verifierFile) + nextSuffix
	if _, err := os.Stat(filepath.Join(dir, signerFile) + nextSuffix); err == nil {
		return nil // a rotation is waiting: finishRotation decides
	}
	b, err := os.ReadFile(vNext)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if v, err := note.NewVerifier(strings.TrimSpace(string(b))); err == nil && v.KeyHash() == signer.KeyHash() && v.Name() == signer.Name() {
		return os.Rename(vNext, filepath.Join(dir, verifierFile))
	}
	return os.Remove(vNext)
}

// finishRotation completes or undoes a rotation that a crash interrupted:
// the new key stays if any log has a checkpoint it signed, else it goes.
func (d *data) finishRotation(ctx context.Context) error {
	sPath := filepath.Join(d.dir, signerFile) + nextSuffix
	b, err := os.ReadFile(sPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	vb, err := os.ReadFile(filepath.Join(d.dir, verifierFile) + nextSuffix)
	if err != nil {
		return fmt.Errorf("a rotation was cut short and its verifier key is missing: %w", err)
	}
	next, err := note.NewVerifier(strings.TrimSpace(string(vb)))
	if err != nil {
		return err
	}
	if s, err := note.NewSigner(strings.TrimSpace(string(b))); err != nil || s.KeyHash() != next.KeyHash() {
		return fmt.Errorf("%s does not belong to its verifier key", sPath)
	}
	used := false
	tenants, err := d.store.Tenants(ctx)
	if err != nil {
		return err
	}
	for _, t := range tenants {
		cp, err := d.store.Checkpoint(ctx, t, 0)
		if err != nil && waarborg.ErrorCode(err) != waarborg.ENOTFOUND {
			return err
		}
		if cp != nil {
			if _, err := note.Open(cp.Note, note.VerifierList(next)); err == nil {
				used = true
				break
			}
		}
	}
	if !used {
		return errors.Join(os.Remove(sPath), os.Remove(filepath.Join(d.dir, verifierFile)+nextSuffix))
	}
	if err := promoteNextKey(d.dir); err != nil {
		return err
	}
	nd, err := openKeys(d.dir)
	if err != nil {
		return err
	}
	d.signer, d.verifier = nd.signer, nd.verifier
	return nil
}
