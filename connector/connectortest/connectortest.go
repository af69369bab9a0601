// Package connectortest helps connector tests: a Sink that keeps what it
// is given, an independent server run with node from a testdata directory
// (installed by scripts/test.sh with npm ci), and waiting for a condition.
// Only tests import it.
package connectortest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/connector"
	"github.com/waarborg/waarborg/servicetest"
)

// Sink keeps the records it is given. Safe for concurrent use.
type Sink struct {
	mu   sync.Mutex
	recs []*waarborg.Record
}

// Put keeps recs.
func (s *Sink) Put(_ context.Context, recs []*waarborg.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recs = append(s.recs, recs...)
	return nil
}

// Records returns what was put so far.
func (s *Sink) Records() []*waarborg.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*waarborg.Record(nil), s.recs...)
}

// Totals sums the production.count quantities and counts the source.gap
// records whose id starts with prefix.
func (s *Sink) Totals(prefix string) (qty *big.Rat, gaps int) {
	qty = new(big.Rat)
	for _, r := range s.Records() {
		if !strings.HasPrefix(r.ID, prefix) {
			continue
		}
		switch r.Type {
		case "production.count":
			q, _ := r.Data.Get("quantity")
			qty.Add(qty, q.Rat())
		case "source.gap":
			gaps++
		}
	}
	return qty, gaps
}

// Run runs c with a new Sink until the test ends, and fails the test if
// Run returns an error.
func Run(t testing.TB, c connector.Connector) *Sink {
	t.Helper()
	sink := &Sink{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, sink) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%s: Run: %v", c.Name(), err)
		}
	})
	return sink
}

// WaitFor polls cond until it holds, failing the test after 20 s.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// FreePort returns a loopback TCP port that was free a moment ago, for
// programs that want a number.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// A Server is a node program that answers "ok" to each command line on
// its standard input and prints "listening PORT" when ready.
type Server struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	out   *bufio.Scanner
	Lines []string // what it printed on start, after "listening"
}

// StartServer runs node script in dir (a testdata directory with a
// package-lock.json) with args, and waits until it listens. A missing node
// or node_modules skips the test, or fails it under make test.
func StartServer(t testing.TB, dir, script string, args ...string) *Server {
	t.Helper()
	node := servicetest.Program(t, "node")
	if _, err := os.Stat(filepath.Join(dir, "node_modules")); err != nil {
		if servicetest.Required() {
			t.Fatalf("%s/node_modules is missing although scripts/test.sh should have run npm ci", dir)
		}
		t.Skipf("%s/node_modules is missing: run npm ci there (make test does)", dir)
	}
	cmd := exec.Command(node, append([]string{script}, args...)...)
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &Server{cmd: cmd, in: in, out: bufio.NewScanner(out)}
	t.Cleanup(s.Kill)
	ready := make(chan bool, 1)
	go func() {
		for s.out.Scan() {
			if strings.HasPrefix(s.out.Text(), "listening") {
				ready <- true
				return
			}
		}
		ready <- false
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatalf("%s did not start", script)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("%s did not start within a minute", script)
	}
	return s
}

// Do sends one command and waits for its "ok".
func (s *Server) Do(t testing.TB, cmd string) {
	t.Helper()
	fmt.Fprintln(s.in, cmd)
	for s.out.Scan() {
		if s.out.Text() == "ok" {
			return
		}
	}
	t.Fatalf("server: %s: no ok", cmd)
}

// Kill ends the server at once, as a power cut would.
func (s *Server) Kill() {
	if s.cmd.ProcessState == nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
	}
}
