//go:build unix

package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/waarborg/waarborg/postgres"
	"github.com/waarborg/waarborg/servicetest"
)

// TestCluster runs three serve processes on one PostgreSQL database and one
// data directory's keys. Clients post one tenant's records through all
// three at once; the process that holds the tenant's appender lock is
// killed with SIGKILL mid-stream, and its clients go on through the
// others, re-sending what was not acknowledged. In the end every
// acknowledged record is in the log exactly once, and `waarborg verify`
// passes: the checkpoints that all three signed verify as one log.
func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs three servers for seconds")
	}
	db := servicetest.PostgresSchema(t)
	bin := buildBinary(t)
	dir := filepath.Join(t.TempDir(), "data")
	// One process makes the keys and the schema before the three start.
	if out, err := exec.Command(bin, "key", "--data", dir, "--db", db).CombinedOutput(); err != nil {
		t.Fatalf("key: %v\n%s", err, out)
	}
	const nodes = 3
	srvs := make([]*child, nodes)
	for i := range srvs {
		srvs[i] = startChild(t, bin, dir, "--db", withParam(t, db, "application_name", fmt.Sprintf("waarborg-node-%d", i)))
	}

	const (
		clients = 6
		batch   = 40
		tenant  = "acme"
	)
	var (
		mu          sync.Mutex
		acked       = map[string]bool{}
		postsBefore int // acknowledged posts before the kill
		postsAfter  int
		killed      = -1
		failures    int // posts that got no answer or a 5xx
		wg          sync.WaitGroup
		stop        = make(chan struct{})
	)
	client := tokenClient(t, dir, &http.Transport{MaxIdleConnsPerHost: clients}, "--db", db)
	for c := range clients {
		wg.Go(func() {
			node := c % nodes
			var pending []string // sent but not acknowledged: sent again
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				lines := pending
				if lines == nil {
					lines = make([]string, batch)
					for i := range lines {
						lines[i] = sampleRecord(tenant, fmt.Sprintf("c%d-%d-%d", c, n, i), i)
					}
				}
				status, res, err := postBatch(client, srvs[node].url, lines)
				if err != nil || status >= 500 {
					// The node is gone or failed to commit: the records are
					// not acknowledged, and go to the next node when this
					// one was killed.
					pending = lines
					mu.Lock()
					failures++
					if node == killed {
						node = (node + 1) % nodes
					}
					mu.Unlock()
					time.Sleep(20 * time.Millisecond)
					continue
				}
				if status != http.StatusOK {
					t.Errorf("client %d: POST answered %d: %+v", c, status, res)
					return
				}
				pending = nil
				mu.Lock()
				if killed < 0 {
					postsBefore++
				} else {
					postsAfter++
				}
				for _, r := range res.Results {
					if r.Status != "accepted" && r.Status != "duplicate" {
						t.Errorf("client %d line %d (%s): %s", c, r.Line, r.ID, r.Status)
					}
					acked[r.ID] = true
				}
				mu.Unlock()
			}
		})
	}

	time.Sleep(2 * time.Second)
	holder := lockHolder(t, db, nodes)
	if err := srvs[holder].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	srvs[holder].cmd.Wait()
	mu.Lock()
	killed = holder
	mu.Unlock()
	t.Logf("killed node %d, the holder of the appender lock", holder)
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()
	t.Logf("%d records acknowledged, %d posts before the kill and %d after, %d failed and sent again", len(acked), postsBefore, postsAfter, failures)
	if postsBefore == 0 || postsAfter == 0 {
		t.Fatalf("want acknowledged posts before and after the kill; logs:\n%s", srvs[(holder+1)%nodes].logs())
	}
	for i, s := range srvs {
		if i == holder {
			continue
		}
		if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := s.cmd.Wait(); err != nil {
			t.Fatalf("node %d did not stop cleanly: %v\n%s", i, err, s.logs())
		}
	}

	// Every acknowledged record, exactly once.
	ctx := context.Background()
	store, err := postgres.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	seen := map[string]int{}
	for st, err := range store.Records(ctx, tenant, 0, 1<<40) {
		if err != nil {
			t.Fatal(err)
		}
		seen[st.ID]++
	}
	var missing, twice []string
	for id := range acked {
		if seen[id] == 0 {
			missing = append(missing, id)
		}
	}
	for id, n := range seen {
		if n > 1 {
			twice = append(twice, id)
		}
	}
	if len(missing) > 0 || len(twice) > 0 {
		t.Errorf("%d acknowledged records missing (e.g. %v), %d stored more than once (e.g. %v)",
			len(missing), missing[:min(3, len(missing))], len(twice), twice[:min(3, len(twice))])
	}
	out, err := exec.Command(bin, "verify", "--data", dir, "--db", db).CombinedOutput()
	if err != nil {
		t.Fatalf("verify: %v\n%s", err, out)
	}
	t.Logf("verify:\n%s", out)
	if want := fmt.Sprintf("%s: %d entries", tenant, len(seen)); !strings.Contains(string(out), want) {
		t.Errorf("verify printed %q, want %q", out, want)
	}
}

// lockHolder returns the node whose connection holds the tenant's row lock
// in an append transaction: the one whose backend has a transaction id
// (it has locked or written rows) and does not wait for a lock.
func lockHolder(t *testing.T, db string, nodes int) int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var name string
		err := conn.QueryRow(ctx, `SELECT application_name FROM pg_stat_activity
			WHERE application_name LIKE 'waarborg-node-%' AND backend_xid IS NOT NULL
			AND wait_event_type IS DISTINCT FROM 'Lock' LIMIT 1`).Scan(&name)
		if err == nil {
			var i int
			if _, err := fmt.Sscanf(name, "waarborg-node-%d", &i); err == nil && i < nodes {
				return i
			}
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("no node was seen holding the appender lock")
	return 0
}

// withParam returns a database URL with one more query parameter.
func withParam(t *testing.T, db, key, value string) string {
	t.Helper()
	u, err := url.Parse(db)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}
