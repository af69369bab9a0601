package sparkplug

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/waarborg/waarborg"
)

// A Mapping says which Sparkplug metrics become which records. Metrics of
// nodes or devices it does not name are read (their seq numbers still
// count) but turned into nothing. Example, as JSON:
//
//	{
//	  "tenant": "acme-foods",
//	  "nodes": [{
//	    "group": "ede", "node": "ede-l1", "source": "ede/line-1/scada",
//	    "metrics": [
//	      {"metric": "Line1/GoodCount", "record": "production.count",
//	       "line": "line-1", "product": "choco-200g", "unit": "pcs", "interval": "1m"},
//	      {"metric": "Line1/Alarm/Overtemp", "record": "alarm",
//	       "tag": "line-1/oven/temp", "priority": "high", "message": "oven over temperature"},
//	      {"device": "plc1", "metric": "Oven/Temp", "record": "historian.sample", "tag": "line-1/oven/temp"}
//	    ]
//	  }]
//	}
type Mapping struct {
	Tenant string        `json:"tenant"`
	Nodes  []NodeMapping `json:"nodes"`
}

// A NodeMapping maps one edge node's metrics, and its devices'.
type NodeMapping struct {
	Group string `json:"group"` // the Sparkplug group id; "" matches any group
	Node  string `json:"node"`  // the edge node id
	// Source is the records' source (site/line/system) for this node:
	// the source of its gaps, and of its metrics unless they say otherwise.
	Source  string          `json:"source"`
	Metrics []MetricMapping `json:"metrics"`
}

// The record types a metric can become.
const (
	RecordCount  = "production.count" // a counter: per-interval production from deltas
	RecordAlarm  = "alarm"            // a boolean (or active/acked/cleared string) alarm state
	RecordSample = "historian.sample" // each value as a historian sample
)

// A MetricMapping maps one metric of a node (Device "") or of one of its
// devices.
type MetricMapping struct {
	Device string `json:"device"`
	Metric string `json:"metric"` // the Sparkplug metric name, as in the births
	Record string `json:"record"` // production.count, alarm or historian.sample
	Source string `json:"source"` // default: the node's

	// production.count: the counter's increase in each interval of length
	// Interval (aligned to the Unix epoch, UTC) becomes one record.
	Line     string   `json:"line"`
	Product  string   `json:"product"`
	Unit     string   `json:"unit"`
	BatchID  string   `json:"batch_id"`
	Interval Duration `json:"interval"` // default 1m
	// WrapBits is the width at which the counter rolls over to 0; default:
	// from the metric's datatype (8, 16, 32 for UInt8/16/32). A decrease
	// that is no rollover is a reset, and a source.gap.
	WrapBits uint `json:"wrap_bits"`

	// alarm (Tag also names historian samples; default: the metric name).
	AlarmID  string `json:"alarm_id"` // default: the metric name
	Tag      string `json:"tag"`
	Priority string `json:"priority"` // low, medium, high or critical
	Message  string `json:"message"`
}

// Duration is a time.Duration written as a Go duration string ("1m").
type Duration time.Duration

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration must be a string such as \"1m\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes a duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// ParseMapping reads and checks a mapping given as JSON; unknown fields are
// errors, so that a typo does not silently map nothing.
func ParseMapping(b []byte) (*Mapping, error) {
	var m Mapping
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("mapping: %w", err)
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("mapping: %w", err)
	}
	return &m, nil
}

func (m *Mapping) check() error {
	if !waarborg.ValidTenant(m.Tenant) {
		return fmt.Errorf("tenant %q: must be 1-64 characters of a-z0-9-", m.Tenant)
	}
	var errs []error
	seen := map[string]bool{}
	for i := range m.Nodes {
		n := &m.Nodes[i]
		where := fmt.Sprintf("nodes[%d]", i)
		if n.Node == "" {
			errs = append(errs, fmt.Errorf("%s: node is required", where))
		}
		if key := n.Group + "/" + n.Node; seen[key] {
			errs = append(errs, fmt.Errorf("%s: node %q of group %q is mapped twice", where, n.Node, n.Group))
		} else {
			seen[key] = true
		}
		if !waarborg.ValidSource(n.Source) {
			errs = append(errs, fmt.Errorf("%s: source %q: must be a /-separated path such as site/line/system", where, n.Source))
		}
		metrics := map[string]bool{}
		for j := range n.Metrics {
			mm := &n.Metrics[j]
			where := fmt.Sprintf("%s.metrics[%d]", where, j)
			if mm.Metric == "" {
				errs = append(errs, fmt.Errorf("%s: metric is required", where))
			}
			if key := mm.Device + "\x00" + mm.Metric; metrics[key] {
				errs = append(errs, fmt.Errorf("%s: metric %q is mapped twice", where, mm.Metric))
			} else {
				metrics[key] = true
			}
			if mm.Source != "" && !waarborg.ValidSource(mm.Source) {
				errs = append(errs, fmt.Errorf("%s: source %q: must be a /-separated path", where, mm.Source))
			}
			if mm.Tag == "" {
				mm.Tag = mm.Metric
			}
			if mm.AlarmID == "" {
				mm.AlarmID = mm.Metric
			}
			switch mm.Record {
			case RecordCount:
				if mm.Line == "" || mm.Product == "" || mm.Unit == "" {
					errs = append(errs, fmt.Errorf("%s: production.count needs line, product and unit", where))
				}
				if mm.Interval == 0 {
					mm.Interval = Duration(time.Minute)
				}
				if time.Duration(mm.Interval) < time.Second || time.Duration(mm.Interval)%time.Second != 0 {
					errs = append(errs, fmt.Errorf("%s: interval must be a whole number of seconds, at least 1s", where))
				}
				if mm.WrapBits > 63 {
					errs = append(errs, fmt.Errorf("%s: wrap_bits must be at most 63", where))
				}
			case RecordAlarm:
				switch mm.Priority {
				case "low", "medium", "high", "critical":
				default:
					errs = append(errs, fmt.Errorf("%s: alarm priority %q: must be low, medium, high or critical", where, mm.Priority))
				}
			case RecordSample:
			default:
				errs = append(errs, fmt.Errorf("%s: record %q: must be production.count, alarm or historian.sample", where, mm.Record))
			}
		}
	}
	return errors.Join(errs...)
}

// node returns the mapping of an edge node, or nil.
func (m *Mapping) node(group, node string) *NodeMapping {
	var anyGroup *NodeMapping
	for i := range m.Nodes {
		n := &m.Nodes[i]
		if n.Node != node {
			continue
		}
		if n.Group == group {
			return n
		}
		if n.Group == "" {
			anyGroup = n
		}
	}
	return anyGroup
}

// metric returns the mapping of a metric of the node or one of its devices.
func (n *NodeMapping) metric(device, name string) *MetricMapping {
	for i := range n.Metrics {
		if m := &n.Metrics[i]; m.Device == device && m.Metric == name {
			return m
		}
	}
	return nil
}
