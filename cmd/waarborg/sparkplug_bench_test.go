package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/connector"
	"github.com/waarborg/waarborg/connector/sparkplug"
	"github.com/waarborg/waarborg/mqttbroker"
)

// BenchmarkSparkplugIngest measures Sparkplug B ingest end to end: an edge
// node publishes DDATA of 100 metrics each to the embedded broker, the
// host application decodes and maps each metric to a historian.sample, and
// the ledger appends it durably (SQLite, synchronous=FULL). One iteration is
// 20,000 metrics; the figure is metrics/s, each one a durable record.
func BenchmarkSparkplugIngest(b *testing.B) {
	const perMsg, msgs = 100, 200
	broker, err := mqttbroker.Start(mqttbroker.Config{Listen: "127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	defer broker.Close()
	var mapping strings.Builder
	mapping.WriteString(`{"tenant": "acme-foods", "nodes": [{"group": "ede", "node": "ede-l1", "source": "ede/line-1/historian", "metrics": [`)
	for i := range perMsg {
		if i > 0 {
			mapping.WriteString(",")
		}
		fmt.Fprintf(&mapping, `{"device": "plc1", "metric": "T%03d", "record": "historian.sample"}`, i)
	}
	mapping.WriteString(`]}]}`)
	m, err := sparkplug.ParseMapping([]byte(mapping.String()))
	if err != nil {
		b.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	d, err := openData(b.Context(), &location{dir: b.TempDir()}, logger)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	conn, err := sparkplug.New(sparkplug.Config{Broker: "tcp://" + broker.Addr().String(), HostID: "bench", Mapping: m})
	if err != nil {
		b.Fatal(err)
	}
	var stored atomic.Int64
	ledgerPut := ledgerSink(d.ledger, logger)
	sink := connector.SinkFunc(func(ctx context.Context, recs []*waarborg.Record) error {
		err := ledgerPut.Put(ctx, recs)
		if err == nil {
			stored.Add(int64(len(recs)))
		}
		return err
	})
	ctx, cancel := context.WithCancel(b.Context())
	done := make(chan error, 1)
	go func() { done <- conn.Run(ctx, sink) }()
	defer func() {
		cancel()
		<-done
	}()

	pub := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + broker.Addr().String()).SetClientID("bench-node"))
	if tok := pub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		b.Fatal(tok.Error())
	}
	defer pub.Disconnect(100)
	for len(conn.Host().Online()) == 0 && stored.Load() == 0 {
		// The host subscribes once it runs: publish births until it saw one.
		birth := &sparkplug.Payload{Seq: 0, HasSeq: true, Metrics: []sparkplug.Metric{{Name: "bdSeq", HasName: true, Datatype: sparkplug.TypeUInt64, Value: sparkplug.ValueLong}}}
		pub.Publish("spBv1.0/ede/NBIRTH/ede-l1", 1, false, sparkplug.AppendPayload(nil, birth)).Wait()
		time.Sleep(10 * time.Millisecond)
	}
	seq, ts := uint64(1), uint64(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).UnixMilli())
	var want int64
	metrics := make([]sparkplug.Metric, perMsg)
	for b.Loop() {
		for range msgs {
			ts++
			for i := range metrics {
				metrics[i] = sparkplug.Metric{Name: fmt.Sprintf("T%03d", i), HasName: true, Datatype: sparkplug.TypeDouble,
					Value: sparkplug.ValueDouble, Double: float64(ts%1000) + float64(i)/100}
			}
			p := &sparkplug.Payload{Timestamp: ts, HasTimestamp: true, Seq: seq % 256, HasSeq: true, Metrics: metrics}
			seq++
			pub.Publish("spBv1.0/ede/DDATA/ede-l1/plc1", 1, false, sparkplug.AppendPayload(nil, p))
			want += perMsg
			// Flow control: a broker drops messages for a subscriber that
			// falls too far behind, which a benchmark must not measure.
			for want-stored.Load() > 500*perMsg {
				time.Sleep(100 * time.Microsecond)
			}
		}
		for stored.Load() < want {
			time.Sleep(100 * time.Microsecond)
		}
	}
	b.ReportMetric(float64(want)/b.Elapsed().Seconds(), "metrics/s")
	if h := conn.Health(); len(h) != 1 || h[0].Gaps != 0 {
		b.Fatalf("health = %+v", h)
	}
}
