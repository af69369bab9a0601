package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"filippo.io/torchwood"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/mod/sumdb/note"
)

// deployment is a data directory with n records of tenant t, all received
// now, and its verifier key.
func deployment(t *testing.T, n, value int) (dir, vkey string) {
	t.Helper()
	dir = t.TempDir()
	ingestN(t, dir, 0, n, value)
	key, _, err := runMain(t, "", "key", "--data", dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, strings.TrimSpace(key)
}

func ingestN(t *testing.T, dir string, first, n, value int) {
	t.Helper()
	var in strings.Builder
	for i := first; i < first+n; i++ {
		fmt.Fprintf(&in, `{"id":"h%03d","tenant":"t","source":"ede/historian","type":"historian.sample","time":"2026-03-01T06:%02d:00Z","data":{"tag":"x","value":%d}}`+"\n", i, i%60, value+i)
	}
	if _, errOut, err := runMain(t, in.String(), "ingest", "--data", dir, "-"); err != nil {
		t.Fatalf("ingest: %v\n%s", err, errOut)
	}
}

// serveUntil runs serve on dir with args until /metrics shows want, then
// stops it.
func serveUntil(t *testing.T, dir string, want *regexp.Regexp, args ...string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout := &lineWriter{lines: make(chan string, 16)}
	var stderr bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--data", dir, "--addr", "127.0.0.1:0"}, args...), func(string) string { return "" }, nil, stdout, &stderr)
	}()
	url := listenURL(t, stdout.lines)
	client := tokenClient(t, dir, nil)
	deadline := time.Now().Add(60 * time.Second)
	var body []byte
	for time.Now().Before(deadline) {
		resp, err := client.Get(url + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if want.Match(body) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v\n%s", err, stderr.String())
	}
	if !want.Match(body) {
		t.Fatalf("/metrics never showed %s:\n%s\n%s", want, grep(body, "waarborg_witness"), stderr.String())
	}
}

func grep(b []byte, s string) string {
	var out []string
	for line := range strings.Lines(string(b)) {
		if strings.Contains(line, s) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "")
}

func cosignedMetric(witness string) *regexp.Regexp {
	return regexp.MustCompile(`waarborg_witness_requests_total\{result="cosigned",witness="` + regexp.QuoteMeta(witness) + `"\} [1-9]`)
}

// bundleToday bundles tenant t over today and tomorrow (UTC).
func bundleToday(t *testing.T, dir string) string {
	t.Helper()
	today := time.Now().UTC().Format(time.DateOnly)
	tomorrow := time.Now().UTC().AddDate(0, 0, 1).Format(time.DateOnly)
	file := filepath.Join(t.TempDir(), "bundle.zip")
	if out, errOut, err := runMain(t, "", "bundle", "--data", dir, "--tenant", "t", "--from", today, "--to", tomorrow, "--out", file); err != nil {
		t.Fatalf("bundle: %v\n%s%s", err, out, errOut)
	}
	return file
}

func zipFile(t *testing.T, file, name string) []byte {
	t.Helper()
	zr, err := zip.OpenReader(file)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	f, err := zr.Open(name)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	defer f.Close()
	b, _ := io.ReadAll(f)
	return b
}

// litewitness builds torchwood's witness and starts it with a fresh key
// in an in-process ssh-agent, witnessing tenant t's log of the deployment
// whose key is vkey. It returns its URL and verifier key.
func litewitness(t *testing.T, vkey string) (url, wkey string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds torchwood's litewitness")
	}
	tmp := t.TempDir()
	// Built in a module of its own: its dependencies are not waarborg's.
	if err := os.WriteFile(filepath.Join(tmp, "go.mod"), []byte("module litewitness\n\ngo 1.24\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"get", "filippo.io/torchwood/cmd/litewitness@v0.6.1"},
		{"build", "-o", tmp, "filippo.io/torchwood/cmd/litewitness"},
	} {
		cmd := exec.Command("go", args...)
		cmd.Dir = tmp
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}

	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: priv}); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(tmp, "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { agent.ServeAgent(keyring, c); c.Close() }()
		}
	}()
	pub, _ := ssh.NewPublicKey(priv.Public())

	// Register the log as witnessctl add-log and add-key would.
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	origin := v.Name() + "/waarborg/t"
	dbPath := filepath.Join(tmp, "litewitness.db")
	db, err := sql.Open("sqlite", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	empty := make([]byte, 32)
	copy(empty, must(base64.StdEncoding.DecodeString("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")))
	for _, q := range []string{
		`CREATE TABLE log (origin TEXT PRIMARY KEY, tree_size INTEGER NOT NULL, tree_hash TEXT NOT NULL)`,
		`CREATE TABLE key (origin TEXT NOT NULL, key TEXT NOT NULL, FOREIGN KEY(origin) REFERENCES log(origin))`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec("INSERT INTO log VALUES (?, 0, ?)", origin, base64.StdEncoding.EncodeToString(empty)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("INSERT INTO key VALUES (?, ?)", origin, vkey); err != nil {
		t.Fatal(err)
	}
	db.Close()

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	const name = "witness.test/torchwood"
	cmd := exec.Command(filepath.Join(tmp, "litewitness"), "-name", name, "-db", dbPath, "-ssh-agent", sock, "-listen", addr, "-key", ssh.FingerprintSHA256(pub))
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("litewitness:\n%s", logs.String())
		}
	})
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if i > 300 {
			t.Fatalf("litewitness does not listen: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	s, err := torchwood.NewCosignatureSigner(name, priv)
	if err != nil {
		t.Fatal(err)
	}
	return "http://" + addr, s.Verifier().String()
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// torchwood's witness cosigns waarborg's checkpoints, and its cosignatures
// verify in verify-bundle.
func TestTorchwoodWitnessCosigns(t *testing.T) {
	dir, vkey := deployment(t, 40, 0)
	url, wkey := litewitness(t, vkey)
	serveUntil(t, dir, cosignedMetric("witness.test/torchwood"), "--witness", url+" "+wkey)
	// The log grows; the next submission carries a consistency proof.
	ingestN(t, dir, 40, 25, 0)
	serveUntil(t, dir, cosignedMetric("witness.test/torchwood"), "--witness", url+" "+wkey)

	file := bundleToday(t, dir)
	out, errOut, err := runMain(t, "", "verify-bundle", "--key", vkey, "--witness-key", wkey, "--min-witnesses", "1", file)
	if err != nil || !strings.Contains(out, "cosigned by witness.test/torchwood") {
		t.Fatalf("verify-bundle: %v\n%s%s", err, out, errOut)
	}
	// Another witness's key does not count.
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	other, _ := torchwood.NewCosignatureSigner("witness.test/other", priv)
	if out, _, err := runMain(t, "", "verify-bundle", "--key", vkey, "--witness-key", other.Verifier().String(), "--min-witnesses", "1", file); err == nil {
		t.Errorf("verify-bundle counted an unknown witness:\n%s", out)
	}
}

// waarborg witness cosigns; torchwood's cosignature verifier accepts its
// cosignatures; and a history rewritten under the same key is refused by
// the witness and by verify-bundle --min-witnesses 1.
func TestWitnessCommand(t *testing.T) {
	dir, vkey := deployment(t, 30, 0)
	wdir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	stdout := &lineWriter{lines: make(chan string, 16)}
	var stderr bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"witness", "--data", wdir, "--addr", "127.0.0.1:0", "--name", "auditor.example/w", "--log-key", vkey}, func(string) string { return "" }, nil, stdout, &stderr)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("witness: %v\n%s", err, stderr.String())
		}
	}()
	var wkey string
	select {
	case l := <-stdout.lines:
		wkey = strings.TrimPrefix(l, "witness verifier key: ")
	case <-time.After(30 * time.Second):
		t.Fatal("the witness printed no key")
	}
	url := listenURL(t, stdout.lines)
	serveUntil(t, dir, cosignedMetric("auditor.example/w"), "--witness", url+" "+wkey)

	file := bundleToday(t, dir)
	if out, errOut, err := runMain(t, "", "verify-bundle", "--key", vkey, "--witness-key", wkey, "--min-witnesses", "1", file); err != nil {
		t.Fatalf("verify-bundle: %v\n%s%s", err, out, errOut)
	}

	t.Run("torchwood accepts the cosignatures", func(t *testing.T) {
		line := must(os.ReadFile(filepath.Join(wdir, witnessKeyFile)))
		name, seed64, _ := strings.Cut(strings.TrimSpace(string(line)), " ")
		seed := must(base64.StdEncoding.DecodeString(seed64))
		tw, err := torchwood.NewCosignatureSigner(name, ed25519.NewKeyFromSeed(seed))
		if err != nil {
			t.Fatal(err)
		}
		if tw.Verifier().String() != wkey {
			t.Fatalf("torchwood's verifier key %s, waarborg witness printed %s", tw.Verifier(), wkey)
		}
		cosigned := zipFile(t, file, "cosigned-end.txt")
		n, err := note.Open(cosigned, note.VerifierList(tw.Verifier()))
		if err != nil || len(n.Sigs) != 1 {
			t.Fatalf("torchwood's verifier: %v\n%s", err, cosigned)
		}
		ts, err := torchwood.CosignatureTimestamp(n.Sigs[0])
		if err != nil || time.Since(time.Unix(ts, 0)) > time.Hour || time.Until(time.Unix(ts, 0)) > time.Minute {
			t.Errorf("cosignature time %d, %v", ts, err)
		}
	})

	t.Run("rewritten history", func(t *testing.T) {
		// The same signing key, another tree of the same size.
		forged := t.TempDir()
		for _, f := range []string{signerFile, verifierFile} {
			if err := os.WriteFile(filepath.Join(forged, f), must(os.ReadFile(filepath.Join(dir, f))), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		ingestN(t, forged, 0, 30, 1000)
		serveUntil(t, forged, regexp.MustCompile(`waarborg_witness_requests_total\{result="fork",witness="auditor.example/w"\} [1-9]`), "--witness", url+" "+wkey)
		file := bundleToday(t, forged)
		// The forged bundle holds on the log's key alone ...
		if out, errOut, err := runMain(t, "", "verify-bundle", "--key", vkey, file); err != nil {
			t.Fatalf("verify-bundle without witnesses: %v\n%s%s", err, out, errOut)
		}
		// ... but no witness saw it.
		out, _, err := runMain(t, "", "verify-bundle", "--key", vkey, "--witness-key", wkey, "--min-witnesses", "1", file)
		if err == nil || !strings.Contains(out, "0 of the known witnesses cosigned the period-end checkpoint") {
			t.Errorf("verify-bundle --min-witnesses 1 of a rewritten history: %v\n%s", err, out)
		}
	})
}
