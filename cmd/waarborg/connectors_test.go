package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/waarborg/waarborg/connector/sparkplug"
)

const edgeMapping = `{
  "tenant": "acme-foods",
  "nodes": [{
    "group": "ede", "node": "ede-l1", "source": "ede/line-1/scada",
    "metrics": [
      {"device": "plc1", "metric": "Oven/Temp", "record": "historian.sample", "tag": "line-1/oven/temp"}
    ]
  }]
}`

// writeConnectors writes a mapping and a connectors file naming broker.
func writeConnectors(t *testing.T, broker string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "mapping.json"), []byte(edgeMapping), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`{"connectors": [{"kind": "sparkplug", "name": "plant-mqtt", "broker": %q,
	  "host_id": "waarborg-%s", "mapping_file": "mapping.json", "request_rebirth": true}]}`, broker, strings.ReplaceAll(t.Name(), "/", "-"))
	path := filepath.Join(dir, "connectors.json")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// edgeNode publishes Sparkplug B as edge node ede/ede-l1 with device plc1,
// and keeps what it published so that a test can compute the records.
type edgeNode struct {
	t      *testing.T
	client paho.Client
	seq    uint64
	host   *sparkplug.Host // the records the messages make, as expected
	want   []string        // their ids, in order
}

func newEdgeNode(t *testing.T, broker string) *edgeNode {
	t.Helper()
	c := paho.NewClient(paho.NewClientOptions().AddBroker(broker).SetClientID("edge-node-" + t.Name()).SetAutoReconnect(false))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect to %s: %v", broker, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	m, err := sparkplug.ParseMapping([]byte(edgeMapping))
	if err != nil {
		t.Fatal(err)
	}
	return &edgeNode{t: t, client: c, host: sparkplug.NewHost(m)}
}

var edgeBase = time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC)

func (n *edgeNode) publish(typ, device string, at time.Duration, metrics ...sparkplug.Metric) {
	n.t.Helper()
	p := &sparkplug.Payload{Timestamp: uint64(edgeBase.Add(at).UnixMilli()), HasTimestamp: true, Seq: n.seq % 256, HasSeq: true, Metrics: metrics}
	n.seq++
	topic := "spBv1.0/ede/" + typ + "/ede-l1"
	if device != "" {
		topic += "/" + device
	}
	b := sparkplug.AppendPayload(nil, p)
	if tok := n.client.Publish(topic, 1, false, b); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		n.t.Fatalf("publish: %v", tok.Error())
	}
	tp, _ := sparkplug.ParseTopic(topic)
	res, err := n.host.Handle(tp, b, time.Now())
	if err != nil {
		n.t.Fatal(err)
	}
	for _, r := range res.Records {
		n.want = append(n.want, r.ID)
	}
}

func (n *edgeNode) births() {
	n.seq = 0
	n.publish("NBIRTH", "", 0, sparkplug.Metric{Name: "bdSeq", HasName: true, Datatype: sparkplug.TypeUInt64, Value: sparkplug.ValueLong, Long: 0})
	n.publish("DBIRTH", "plc1", 0, sparkplug.Metric{Name: "Oven/Temp", HasName: true, Alias: 1, HasAlias: true,
		Datatype: sparkplug.TypeDouble, Value: sparkplug.ValueDouble, Double: 180})
}

func (n *edgeNode) temp(i int) {
	n.publish("DDATA", "plc1", time.Duration(i)*time.Second, sparkplug.Metric{Alias: 1, HasAlias: true,
		Datatype: sparkplug.TypeDouble, Value: sparkplug.ValueDouble, Double: 180 + float64(i)/10})
}

func getJSON(t *testing.T, c *http.Client, url string, v any) int {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if v != nil && resp.StatusCode == 200 {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("GET %s: %v: %s", url, err, b)
		}
	}
	return resp.StatusCode
}

// leafIndexes waits until central holds every id and returns their leaf
// indexes.
func leafIndexes(t *testing.T, c *http.Client, central string, ids []string, within time.Duration) []uint64 {
	t.Helper()
	out := make([]uint64, len(ids))
	deadline := time.Now().Add(within)
	for i, id := range ids {
		for {
			var p struct {
				LeafIndex uint64 `json:"leaf_index"`
			}
			if getJSON(t, c, central+"/api/v1/tenants/acme-foods/records/"+id, &p) == 200 {
				out[i] = p.LeafIndex
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("central lacks record %d of %d (%s)", i+1, len(ids), id)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return out
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestServeEmbeddedBroker: serve starts the embedded MQTT broker, runs a
// Sparkplug connector on it, appends what an edge node publishes to the
// ledger, and shows the connector's health.
func TestServeEmbeddedBroker(t *testing.T) {
	mqttAddr := freeAddr(t)
	conns := writeConnectors(t, "embedded")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stdout := &lineWriter{lines: make(chan string, 16)}
	var stderr bytes.Buffer
	done := make(chan error, 1)
	data := t.TempDir()
	client := tokenClient(t, data, nil)
	go func() {
		done <- run(ctx, []string{"serve", "--data", data, "--addr", "127.0.0.1:0", "--mqtt-listen", mqttAddr,
			"--connectors", conns}, func(string) string { return "" }, nil, stdout, &stderr)
	}()
	url := listenURL(t, stdout.lines)
	node := newEdgeNode(t, "tcp://"+mqttAddr)
	// The host subscribes once it runs: wait for its STATE.
	waitState(t, node.client, "spBv1.0/STATE/waarborg-TestServeEmbeddedBroker")

	// Data whose aliases the host does not know: it asks for a rebirth.
	rebirth := make(chan *sparkplug.Payload, 1)
	node.client.Subscribe("spBv1.0/ede/NCMD/ede-l1", 1, func(_ paho.Client, m paho.Message) {
		if p, err := sparkplug.DecodePayload(m.Payload()); err == nil {
			rebirth <- p
		}
	}).WaitTimeout(5 * time.Second)
	node.temp(0)
	select {
	case p := <-rebirth:
		if len(p.Metrics) != 1 || p.Metrics[0].Name != "Node Control/Rebirth" || !p.Metrics[0].Bool {
			t.Errorf("NCMD = %+v", p)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no rebirth request")
	}
	node.births()
	for i := 1; i <= 5; i++ {
		node.temp(i)
	}
	node.seq++ // a lost message
	node.temp(6)
	leafIndexes(t, client, url, node.want, 20*time.Second)

	var health struct {
		Connectors []struct {
			Name    string
			Sources []struct {
				Source   string
				Messages uint64
				Gaps     uint64
			}
		}
	}
	getJSON(t, client, url+"/api/v1/connectors", &health)
	if len(health.Connectors) != 1 || health.Connectors[0].Name != "plant-mqtt" || len(health.Connectors[0].Sources) != 1 ||
		health.Connectors[0].Sources[0].Gaps != 1 || health.Connectors[0].Sources[0].Messages != 9 {
		t.Errorf("connectors = %+v", health)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v\n%s", err, stderr.String())
	}
}

// waitState waits for a host application's retained STATE online.
func waitState(t *testing.T, c paho.Client, topic string) {
	t.Helper()
	online := make(chan struct{}, 1)
	c.Subscribe(topic, 1, func(_ paho.Client, m paho.Message) {
		if bytes.Contains(m.Payload(), []byte(`"online":true`)) {
			select {
			case online <- struct{}{}:
			default:
			}
		}
	}).WaitTimeout(5 * time.Second)
	select {
	case <-online:
	case <-time.After(20 * time.Second):
		t.Fatalf("no STATE online on %s", topic)
	}
	c.Unsubscribe(topic).WaitTimeout(5 * time.Second)
}

func TestEdgeAndServeFlags(t *testing.T) {
	conns := writeConnectors(t, "tcp://127.0.0.1:1")
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"connectors": [{"kind": "carrier-pigeon"}]}`), 0o644)
	embedded := writeConnectors(t, "embedded")
	for _, tc := range []struct {
		name string
		args []string
		want string // in the error or stderr
	}{
		{"edge without central", []string{"edge", "--connectors", conns, "--tenant", "a", "--source", "s/e"}, "required"},
		{"edge with a tiny queue", []string{"edge", "--connectors", conns, "--central", "http://x", "--tenant", "a", "--source", "s/e", "--max-queue-bytes", "1000"}, "at least"},
		{"unknown kind", []string{"edge", "--connectors", bad, "--central", "http://x", "--tenant", "a", "--source", "s/e"}, `"carrier-pigeon" is not a connector kind`},
		{"embedded broker without --mqtt-listen", []string{"serve", "--data", t.TempDir(), "--connectors", embedded}, "needs serve --mqtt-listen"},
		{"mqtt users without --mqtt-listen", []string{"serve", "--data", t.TempDir(), "--mqtt-users", bad}, "need --mqtt-listen"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			err := run(t.Context(), tc.args, func(string) string { return "" }, nil, io.Discard, &stderr)
			if err == nil || !strings.Contains(err.Error()+stderr.String(), tc.want) {
				t.Fatalf("err = %v, stderr %s; want %q", err, stderr.String(), tc.want)
			}
		})
	}
}
