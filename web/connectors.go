package web

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/waarborg/waarborg/connector"
)

// ConnectorStatus is one connector's health as the API shows it.
type ConnectorStatus struct {
	Name    string         `json:"name"`
	Sources []SourceStatus `json:"sources"`
}

// SourceStatus is one source of a connector.
type SourceStatus struct {
	Source      string     `json:"source"`
	LastMessage *time.Time `json:"last_message,omitempty"`
	Messages    uint64     `json:"messages"`
	// MessagesPerSecond is the rate over about the last minute (over the
	// time since the previous look, when that is longer).
	MessagesPerSecond float64 `json:"messages_per_second"`
	Records           uint64  `json:"records"`
	Gaps              uint64  `json:"gaps"`
}

// Connectors reports the health of running connectors, with message rates
// from successive looks at their counters. It is safe for concurrent use.
type Connectors struct {
	list []connector.Connector
	now  func() time.Time

	mu      sync.Mutex
	samples map[string][]rateSample // by connector and source
}

type rateSample struct {
	at       time.Time
	messages uint64
}

// rateWindow is about how far back a message rate looks.
const rateWindow = time.Minute

// NewConnectors returns the health view of connectors; now may be nil.
func NewConnectors(list []connector.Connector, now func() time.Time) *Connectors {
	if now == nil {
		now = time.Now
	}
	return &Connectors{list: list, now: now, samples: map[string][]rateSample{}}
}

// Status returns every connector's sources, sorted by name and source.
func (c *Connectors) Status() []ConnectorStatus {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]ConnectorStatus, 0, len(c.list))
	for _, conn := range c.list {
		st := ConnectorStatus{Name: conn.Name(), Sources: []SourceStatus{}}
		for _, h := range conn.Health() {
			s := SourceStatus{Source: h.Source, Messages: h.Messages, Records: h.Records, Gaps: h.Gaps}
			if !h.LastMessage.IsZero() {
				t := h.LastMessage.UTC()
				s.LastMessage = &t
			}
			s.MessagesPerSecond = c.rate(conn.Name()+"\x00"+h.Source, now, h.Messages)
			st.Sources = append(st.Sources, s)
		}
		slices.SortFunc(st.Sources, func(a, b SourceStatus) int { return strings.Compare(a.Source, b.Source) })
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b ConnectorStatus) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// rate records a sample and returns messages/s since the oldest sample
// kept: the newest one at least rateWindow old, or the oldest younger.
func (c *Connectors) rate(key string, now time.Time, messages uint64) float64 {
	ss := append(c.samples[key], rateSample{now, messages})
	// Keep one sample older than the window as the base.
	for len(ss) > 2 && now.Sub(ss[1].at) >= rateWindow {
		ss = ss[1:]
	}
	c.samples[key] = ss
	base := ss[0]
	dt := now.Sub(base.at).Seconds()
	if dt <= 0 || messages < base.messages {
		return 0
	}
	return float64(messages-base.messages) / dt
}

func (s *server) getConnectors(w http.ResponseWriter, r *http.Request) {
	var list []ConnectorStatus
	if s.connectors != nil {
		list = s.connectors.Status()
	}
	if list == nil {
		list = []ConnectorStatus{}
	}
	s.writeJSON(w, r, http.StatusOK, map[string]any{"connectors": list})
}

// ServeConnectors serves GET /api/v1/connectors for a process without the
// rest of the API (the edge collector).
func ServeConnectors(c *Connectors) http.Handler {
	s := &server{connectors: c}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.getConnectors(w, r) })
}

var (
	connMessages = prometheus.NewDesc("waarborg_connector_messages_total",
		"Messages a connector read from a source.", []string{"connector", "source"}, nil)
	connRecords = prometheus.NewDesc("waarborg_connector_records_total",
		"Records a connector made from a source's messages.", []string{"connector", "source"}, nil)
	connGaps = prometheus.NewDesc("waarborg_connector_gaps_total",
		"source.gap records a connector raised for a source: data it knows were lost.", []string{"connector", "source"}, nil)
	connLast = prometheus.NewDesc("waarborg_connector_last_message_timestamp_seconds",
		"When a connector last read a message of a source (Unix time).", []string{"connector", "source"}, nil)
)

// ConnectorCollector returns the Prometheus collector of connectors'
// health; messages/s is rate(waarborg_connector_messages_total[1m]).
func ConnectorCollector(list []connector.Connector) prometheus.Collector {
	return connCollector(list)
}

type connCollector []connector.Connector

func (c connCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- connMessages
	ch <- connRecords
	ch <- connGaps
	ch <- connLast
}

func (c connCollector) Collect(ch chan<- prometheus.Metric) {
	for _, conn := range c {
		for _, h := range conn.Health() {
			ch <- prometheus.MustNewConstMetric(connMessages, prometheus.CounterValue, float64(h.Messages), conn.Name(), h.Source)
			ch <- prometheus.MustNewConstMetric(connRecords, prometheus.CounterValue, float64(h.Records), conn.Name(), h.Source)
			ch <- prometheus.MustNewConstMetric(connGaps, prometheus.CounterValue, float64(h.Gaps), conn.Name(), h.Source)
			if !h.LastMessage.IsZero() {
				ch <- prometheus.MustNewConstMetric(connLast, prometheus.GaugeValue, float64(h.LastMessage.UnixMilli())/1000, conn.Name(), h.Source)
			}
		}
	}
}
