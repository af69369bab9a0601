package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/connector"
)

// fakeConnector reports the health it is given.
type fakeConnector struct {
	mu     sync.Mutex
	health []connector.Health
}

func (f *fakeConnector) Name() string                                    { return "plant-mqtt" }
func (f *fakeConnector) Run(ctx context.Context, _ connector.Sink) error { <-ctx.Done(); return nil }
func (f *fakeConnector) Health() []connector.Health {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]connector.Health(nil), f.health...)
}

func TestConnectorHealth(t *testing.T) {
	last := time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC)
	fc := &fakeConnector{health: []connector.Health{
		{Source: "ede/line-2/scada", LastMessage: last, Messages: 10, Records: 4, Gaps: 1},
		{Source: "ede/line-1/scada"},
	}}
	f := newFixture(t, 0)
	deps := f.deps
	deps.Metrics, deps.Connectors = prometheus.NewRegistry(), []connector.Connector{fc}
	f.start(t, deps)
	// Connector health names every tenant's sources: it takes a metrics token.
	resp, err := f.raw.Get(f.url + "/api/v1/connectors")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /api/v1/connectors without a token: %s, want 401", resp.Status)
	}
	get := func(path string) string {
		req, _ := http.NewRequest("GET", f.url+path, nil)
		req.Header.Set("Authorization", "Bearer "+f.tokens[waarborg.ScopeMetrics])
		resp, err := f.raw.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
		}
		return string(b)
	}
	var body struct{ Connectors []ConnectorStatus }
	if err := json.Unmarshal([]byte(get("/api/v1/connectors")), &body); err != nil {
		t.Fatal(err)
	}
	if len(body.Connectors) != 1 || len(body.Connectors[0].Sources) != 2 {
		t.Fatalf("connectors = %+v", body)
	}
	s := body.Connectors[0].Sources[1]
	if s.Source != "ede/line-2/scada" || s.Gaps != 1 || s.Messages != 10 || s.LastMessage == nil || !s.LastMessage.Equal(last) ||
		body.Connectors[0].Sources[0].LastMessage != nil {
		t.Fatalf("sources = %+v", body.Connectors[0].Sources)
	}
	metrics := get("/metrics")
	for _, want := range []string{
		`waarborg_connector_gaps_total{connector="plant-mqtt",source="ede/line-2/scada"} 1`,
		`waarborg_connector_messages_total{connector="plant-mqtt",source="ede/line-2/scada"} 10`,
		`waarborg_connector_last_message_timestamp_seconds{connector="plant-mqtt",source="ede/line-2/scada"} 1.7723448e+09`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestConnectorRate(t *testing.T) {
	fc := &fakeConnector{health: []connector.Health{{Source: "s"}}}
	now := time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC)
	c := NewConnectors([]connector.Connector{fc}, func() time.Time { return now })
	for i, want := range []float64{0, 10, 10, 20} {
		fc.mu.Lock()
		fc.health[0].Messages = uint64([]int{0, 300, 600, 1800}[i])
		fc.mu.Unlock()
		if got := c.Status()[0].Sources[0].MessagesPerSecond; got != want {
			t.Errorf("look %d: %v messages/s, want %v", i, got, want)
		}
		now = now.Add(30 * time.Second)
		if i == 2 {
			now = now.Add(30 * time.Second) // 60 s later: the window moves
		}
	}
}
