// Package connector is what every OT connector shares: a connector reads a
// plant system (an MQTT Sparkplug B broker, an OPC UA server, Modbus
// registers, exported files) and turns what it reads into evidence records,
// which it hands to a Sink. Sub-packages implement one protocol each and
// import only this package and the domain; cmd/waarborg wires them to the
// ledger (serve) or to the local queue of the edge collector (edge).
package connector

import (
	"context"
	"time"

	"github.com/waarborg/waarborg"
)

// A Sink takes records in. Put returns nil only when every record is
// durably kept (appended to the ledger, or written to the edge's local
// queue); a connector that gets an error must not acknowledge or forget the
// data it read, so that nothing is lost.
type Sink interface {
	Put(ctx context.Context, recs []*waarborg.Record) error
}

// SinkFunc adapts a function to a Sink.
type SinkFunc func(ctx context.Context, recs []*waarborg.Record) error

// Put calls f.
func (f SinkFunc) Put(ctx context.Context, recs []*waarborg.Record) error { return f(ctx, recs) }

// A Connector runs until ctx ends or it fails for good, reconnecting by
// itself after transient errors.
type Connector interface {
	// Name identifies the connector in logs, metrics and the API.
	Name() string
	Run(ctx context.Context, sink Sink) error
	// Health reports per source what the connector has seen so far.
	Health() []Health
}

// Health is one source's state as a connector sees it.
type Health struct {
	Source      string    // the records' source path
	LastMessage time.Time // zero when nothing arrived yet
	Messages    uint64    // messages read since start
	Records     uint64    // records handed to the sink
	Gaps        uint64    // source.gap records raised
}
