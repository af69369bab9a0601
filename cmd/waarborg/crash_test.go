//go:build unix

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func sampleRecord(tenant, id string, value int) string {
	return fmt.Sprintf(`{"id":%q,"tenant":%q,"source":"ede/line-2/historian","type":"historian.sample","time":"2026-03-01T06:00:00.000Z","data":{"tag":"TT-101","value":%d}}`, id, tenant, value)
}

// postResult is the part of a POST /api/v1/records answer the tests read.
type postResult struct {
	Accepted, Duplicate, Rejected int
	Results                       []struct {
		Line   int
		ID     string
		Status string
	}
}

func postBatch(client *http.Client, url string, lines []string) (int, *postResult, error) {
	resp, err := client.Post(url+"/api/v1/records", "application/x-ndjson", strings.NewReader(strings.Join(lines, "\n")+"\n"))
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, err
	}
	var res postResult
	if err := json.Unmarshal(body, &res); err != nil {
		return resp.StatusCode, nil, fmt.Errorf("%w: %s", err, body)
	}
	return resp.StatusCode, &res, nil
}

// tokenClient returns a client that authenticates as the API's machines
// do, with tokens made in dir by `waarborg token add`: an ingest token for
// POST /api/v1/records, a metrics token for /metrics and connector health,
// a read token else.
// extra flags go to `token add`, such as --db URL.
func tokenClient(t *testing.T, dir string, base http.RoundTripper, extra ...string) *http.Client {
	t.Helper()
	tokens := map[string]string{}
	for scope, tenant := range map[string]string{"ingest": "*", "read": "*", "metrics": ""} {
		args := append([]string{"token", "add", "--data", dir, "--scope", scope, "--name", "test " + scope}, extra...)
		if tenant != "" {
			args = append(args, "--tenant", tenant)
		}
		out, errOut, err := runMain(t, "", args...)
		if err != nil {
			t.Fatalf("token add: %v\n%s", err, errOut)
		}
		tokens[scope] = strings.TrimSpace(out)
	}
	if base == nil {
		base = http.DefaultTransport
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
		scope := "read"
		switch {
		case r.URL.Path == "/metrics" || r.URL.Path == "/api/v1/connectors":
			scope = "metrics"
		case r.Method == "POST" && r.URL.Path == "/api/v1/records":
			scope = "ingest"
		}
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer "+tokens[scope])
		return base.RoundTrip(r)
	})}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// lineWriter hands the lines written to it to a channel, dropping any the
// reader has no room for.
type lineWriter struct {
	mu    sync.Mutex
	buf   []byte
	lines chan string
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		select {
		case w.lines <- string(w.buf[:i]):
		default:
		}
		w.buf = w.buf[i+1:]
	}
}

func listenURL(t *testing.T, lines <-chan string) string {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case l := <-lines:
			if url, ok := strings.CutPrefix(l, "listening on "); ok {
				return url
			}
		case <-timeout:
			t.Fatal("the server printed no address")
		}
	}
}

// TestServe runs the serve command in this process: it listens where the
// flag or the environment says, answers, and on cancellation stops cleanly,
// leaving a data directory that verifies.
func TestServe(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"addr flag", []string{"--addr", "127.0.0.1:0"}, nil},
		{"addr from environment", nil, map[string]string{"WAARBORG_ADDR": "127.0.0.1:0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			getenv := func(k string) string { return tt.env[k] }
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			stdout := &lineWriter{lines: make(chan string, 16)}
			var stderr bytes.Buffer
			done := make(chan error, 1)
			go func() {
				done <- run(ctx, append([]string{"serve", "--data", dir}, tt.args...), getenv, nil, stdout, &stderr)
			}()
			url := listenURL(t, stdout.lines)

			client := tokenClient(t, dir, nil)
			status, res, err := postBatch(client, url, []string{sampleRecord("acme", "s-1", 1), sampleRecord("acme", "s-2", 2)})
			if err != nil || status != 200 || res.Accepted != 2 {
				t.Fatalf("POST: %d %+v %v", status, res, err)
			}
			for path, want := range map[string]string{
				"/api/v1/tenants/acme/records/s-2": `"leaf_index":1`,
				"/healthz":                         `"ok"`,
				"/metrics":                         "go_goroutines",
			} {
				resp, err := client.Get(url + path)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || !bytes.Contains(body, []byte(want)) {
					t.Errorf("GET %s: %d %s", path, resp.StatusCode, body)
				}
			}

			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("serve: %v\n%s", err, stderr.String())
				}
			case <-time.After(time.Minute):
				t.Fatal("serve did not stop")
			}
			if !strings.Contains(stderr.String(), `"msg":"request"`) {
				t.Errorf("no request log in %s", stderr.String())
			}
			var out bytes.Buffer
			if err := run(context.Background(), []string{"verify", "--data", dir}, getenv, nil, &out, io.Discard); err != nil {
				t.Fatalf("verify: %v\n%s", err, out.String())
			}
			if want := "acme: 2 entries"; !strings.Contains(out.String(), want) {
				t.Errorf("verify printed %q, want %q", out.String(), want)
			}
		})
	}
}

// child is a waarborg serve child process.
type child struct {
	cmd    *exec.Cmd
	url    string
	stderr *os.File
}

func startChild(t *testing.T, bin, dir string, extra ...string) *child {
	t.Helper()
	return startServe(t, bin, dir, "127.0.0.1:0", extra...)
}

// startServe runs `waarborg serve` as a child process on addr, with extra
// flags.
func startServe(t *testing.T, bin, dir, addr string, extra ...string) *child {
	t.Helper()
	stderr, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"serve", "--data", dir, "--addr", addr}, extra...)...)
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	return &child{cmd: cmd, url: listenURL(t, lines), stderr: stderr}
}

// buildBinary builds waarborg into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool to build the binary:", err)
	}
	bin := filepath.Join(t.TempDir(), "waarborg")
	if out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

func (s *child) logs() string {
	b, _ := os.ReadFile(s.stderr.Name())
	return string(b)
}

// TestCrash kills the server while eight clients post to it, and checks
// that every record it acknowledged survives: the answer to a POST comes
// only once the records are durable.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs it for seconds")
	}
	bin := buildBinary(t)
	dir := filepath.Join(t.TempDir(), "data")
	srv := startChild(t, bin, dir)

	const (
		clients = 8
		batch   = 50
	)
	var (
		mu    sync.Mutex
		acked = map[string]bool{} // "tenant/id"
		posts int
		wg    sync.WaitGroup
		stop  = make(chan struct{})
	)
	client := tokenClient(t, dir, &http.Transport{MaxIdleConnsPerHost: clients})
	for c := range clients {
		tenant := []string{"acme", "beta"}[c%2]
		wg.Go(func() {
			var prev []string
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				lines := prev
				// Every fourth post retries the last one, as a client that
				// lost an answer would: its records come back duplicate.
				if n%4 != 3 || prev == nil {
					lines = make([]string, batch)
					for i := range lines {
						lines[i] = sampleRecord(tenant, fmt.Sprintf("c%d-%d-%d", c, n, i), i)
					}
				}
				prev = lines
				status, res, err := postBatch(client, srv.url, lines)
				if err != nil {
					return // the server is gone
				}
				if status != 200 {
					t.Errorf("POST answered %d: %+v", status, res)
					return
				}
				mu.Lock()
				posts++
				for _, r := range res.Results {
					if r.Status != "accepted" && r.Status != "duplicate" {
						t.Errorf("line %d (%s): %s", r.Line, r.ID, r.Status)
					}
					acked[tenant+"/"+r.ID] = true
				}
				mu.Unlock()
			}
		})
	}
	<-time.After(2 * time.Second)
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	srv.cmd.Wait()
	close(stop)
	wg.Wait()
	t.Logf("%d records acknowledged in %d posts before SIGKILL", len(acked), posts)
	if len(acked) == 0 {
		t.Fatalf("no record was acknowledged; server log:\n%s", srv.logs())
	}

	// The log as the crash left it must verify: nothing half-written.
	verify := func(when string) {
		t.Helper()
		out, err := exec.Command(bin, "verify", "--data", dir).CombinedOutput()
		if err != nil {
			t.Fatalf("verify %s: %v\n%s", when, err, out)
		}
		t.Logf("verify %s:\n%s", when, out)
	}
	verify("after SIGKILL")

	srv = startChild(t, bin, dir)
	ids := make(chan string)
	var missing []string
	for range clients {
		wg.Go(func() {
			for key := range ids {
				tenant, id, _ := strings.Cut(key, "/")
				resp, err := client.Get(srv.url + "/api/v1/tenants/" + tenant + "/records/" + id)
				if err != nil {
					t.Error(err)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					mu.Lock()
					missing = append(missing, fmt.Sprintf("%s (%d)", key, resp.StatusCode))
					mu.Unlock()
				}
			}
		})
	}
	for key := range acked {
		ids <- key
	}
	close(ids)
	wg.Wait()
	if len(missing) > 0 {
		t.Errorf("%d of %d acknowledged records lost after the crash, e.g. %v", len(missing), len(acked), missing[:min(5, len(missing))])
	}

	// The restarted ledger appends where the crashed one stopped.
	status, res, err := postBatch(client, srv.url, []string{sampleRecord("acme", "after-crash", 1)})
	if err != nil || status != 200 || res.Accepted != 1 {
		t.Errorf("POST after restart: %d %+v %v", status, res, err)
	}

	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := srv.cmd.Wait(); err != nil {
		t.Fatalf("serve did not stop cleanly on SIGTERM: %v\n%s", err, srv.logs())
	}
	verify("after restart")
}
