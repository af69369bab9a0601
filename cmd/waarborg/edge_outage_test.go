//go:build unix

package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/waarborg/waarborg/mqttbroker"
)

// TestEdgeThroughCentralOutage runs the edge in this process with steady
// Sparkplug input, and the central serve as a child process that is
// killed (SIGKILL) for a while and started again on the same data
// directory. Every record arrives exactly once, in the order the edge node
// published them.
func TestEdgeThroughCentralOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs it")
	}
	bin := buildBinary(t)
	broker, err := mqttbroker.Start(mqttbroker.Config{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	centralAddr, data := freeAddr(t), t.TempDir()
	central := "http://" + centralAddr
	startCentral := func() (stop func()) {
		c := startServe(t, bin, data, centralAddr)
		return func() {
			if err := c.cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			c.cmd.Wait()
		}
	}
	client := tokenClient(t, data, nil)
	out, errOut, err := runMain(t, "", "token", "add", "--data", data, "--scope", "ingest", "--tenant", "acme-foods", "--name", "ede edge")
	if err != nil {
		t.Fatalf("token add: %v\n%s", err, errOut)
	}
	edgeToken := strings.TrimSpace(out)
	stopCentral := startCentral()

	conns := writeConnectors(t, "tcp://"+broker.Addr().String())
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	edgeOut := &lineWriter{lines: make(chan string, 16)}
	edgeDone := make(chan error, 1)
	var edgeErr bytes.Buffer
	getenv := func(k string) string {
		return map[string]string{"WAARBORG_INGEST_TOKEN": edgeToken}[k]
	}
	go func() {
		edgeDone <- run(ctx, []string{"edge", "--connectors", conns, "--central", central, "--queue", t.TempDir(),
			"--tenant", "acme-foods", "--source", "ede/edge", "--addr", "127.0.0.1:0"}, getenv, nil, edgeOut, &edgeErr)
	}()
	edgeURL := listenURL(t, edgeOut.lines)
	node := newEdgeNode(t, "tcp://"+broker.Addr().String())
	waitState(t, node.client, "spBv1.0/STATE/waarborg-TestEdgeThroughCentralOutage")
	node.births()
	i := 0
	steady := func(n int) {
		for range n {
			i++
			node.temp(i)
			time.Sleep(20 * time.Millisecond)
		}
	}
	steady(30)
	stopCentral() // central is killed under steady input
	steady(60)
	metrics := func() string {
		resp, err := http.Get(edgeURL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	// The edge holds records while central is away.
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(metrics(), "waarborg_edge_queue_records ") || strings.Contains(metrics(), "waarborg_edge_queue_records 0\n") {
		if time.Now().After(deadline) {
			t.Fatalf("nothing queued at the edge:\n%s", metrics())
		}
		time.Sleep(20 * time.Millisecond)
	}
	stopCentral = startCentral()
	defer func() { stopCentral() }()
	steady(30)

	idx := leafIndexes(t, client, central, node.want, 90*time.Second)
	if len(idx) != 121 {
		t.Fatalf("%d records, want 121", len(idx))
	}
	for k := 1; k < len(idx); k++ {
		if idx[k] <= idx[k-1] {
			t.Fatalf("record %d is at leaf %d, after record %d at %d: out of order", k, idx[k], k-1, idx[k-1])
		}
	}
	// Exactly once: the log holds nothing else.
	var cp struct {
		TreeSize uint64 `json:"tree_size"`
	}
	deadline = time.Now().Add(10 * time.Second)
	for getJSON(t, client, central+"/api/v1/tenants/acme-foods/checkpoint", &cp); cp.TreeSize != 121; getJSON(t, client, central+"/api/v1/tenants/acme-foods/checkpoint", &cp) {
		if cp.TreeSize > 121 || time.Now().After(deadline) {
			t.Fatalf("the log holds %d entries, want 121", cp.TreeSize)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(metrics(), `waarborg_connector_messages_total{connector="plant-mqtt",source="ede/line-1/scada"} 122`) {
		t.Errorf("edge metrics:\n%s", metrics())
	}
	cancel()
	if err := <-edgeDone; err != nil {
		t.Fatalf("edge: %v\n%s", err, edgeErr.String())
	}
}
