package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/waarborg/waarborg/edge"
	"github.com/waarborg/waarborg/web"
)

// minQueueBytes is the least bound of an edge queue.
const minQueueBytes = 64 << 20

// cmdEdge runs the plant-side collector: connectors write to a durable
// local queue, which is forwarded in order to a central waarborg serve.
func cmdEdge(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("edge", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	envOr := func(name, def string) string {
		if v := e.getenv(name); v != "" {
			return v
		}
		return def
	}
	connectorsPath := fs.String("connectors", "", "JSON `file` of the OT connectors to run (required)")
	central := fs.String("central", envOr("WAARBORG_CENTRAL", ""), "base `URL` of the central waarborg serve, https://host:port (env WAARBORG_CENTRAL)")
	token := fs.String("token", "", "tenant ingest `token` sent as Authorization: Bearer (default: env WAARBORG_INGEST_TOKEN, which keeps it out of the process list)")
	caFile := fs.String("ca-file", "", "PEM `file` of the CA that signed the central server's certificate (default: the system's)")
	queueDir := fs.String("queue", envOr("WAARBORG_EDGE_QUEUE", "waarborg-edge"), "`directory` of the local queue (env WAARBORG_EDGE_QUEUE)")
	maxQueue := fs.Int64("max-queue-bytes", 1<<30, "bound of the local queue on disk, in `bytes`: past it the edge refuses records and writes a source.gap")
	tenant := fs.String("tenant", envOr("WAARBORG_TENANT", ""), "`tenant` of the edge's own records (its source.gap when the queue is full)")
	source := fs.String("source", "", "`source` of the edge's own records, such as ede/edge (required)")
	addr := fs.String("addr", "", "serve /metrics, /healthz and /api/v1/connectors on this `address` (default: none)")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: waarborg edge --connectors FILE --central URL --tenant T --source S [--queue DIR] [--max-queue-bytes N] [--addr HOST:PORT]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return errUsage
	}
	if *connectorsPath == "" || *central == "" || *tenant == "" || *source == "" {
		fmt.Fprintln(e.stderr, "edge: --connectors, --central, --tenant and --source are required")
		return errUsage
	}
	if *maxQueue < minQueueBytes {
		// A connector's put is taken whole or not at all: the queue must
		// hold the largest one, with room to spare.
		fmt.Fprintf(e.stderr, "edge: --max-queue-bytes must be at least %d (64 MiB)\n", minQueueBytes)
		return errUsage
	}
	if *token == "" {
		*token = e.getenv("WAARBORG_INGEST_TOKEN")
	}
	logger := slog.New(slog.NewJSONHandler(e.stderr, nil))

	client := &http.Client{Timeout: 2 * time.Minute}
	if *caFile != "" {
		pem, err := os.ReadFile(*caFile)
		if err != nil {
			return fmt.Errorf("--ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("--ca-file %s: no PEM certificate", *caFile)
		}
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	}
	conns, err := loadConnectors(*connectorsPath, "", e.getenv, logger)
	if err != nil {
		return err
	}
	col, err := edge.Open(edge.Config{
		Dir: *queueDir, MaxBytes: *maxQueue, Central: *central, Token: *token, Client: client,
		Tenant: *tenant, Source: *source, Logger: logger,
	})
	if err != nil {
		return err
	}
	defer col.Close()
	if *token == "" {
		logger.Warn("no ingest token (--token or WAARBORG_INGEST_TOKEN): the central server may refuse the records")
	}

	var wg sync.WaitGroup
	var srv *http.Server
	if *addr != "" {
		ln, err := new(net.ListenConfig).Listen(ctx, "tcp", *addr)
		if err != nil {
			return fmt.Errorf("listen: %w", err)
		}
		reg := prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
			web.ConnectorCollector(conns), edgeCollector{col})
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		mux.Handle("GET /api/v1/connectors", web.ServeConnectors(web.NewConnectors(conns, nil)))
		mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintln(w, `{"status":"ok"}`)
		})
		srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		fmt.Fprintf(e.stdout, "listening on http://%s\n", ln.Addr())
		wg.Go(func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				logger.Error("edge http", "err", err)
			}
		})
	}
	logger.Info("edge started", "central", *central, "queue", *queueDir, "max_queue_bytes", *maxQueue, "connectors", len(conns))
	forwarded := make(chan error, 1)
	go func() { forwarded <- col.Forward(ctx) }()
	wg.Go(func() { runConnectors(ctx, conns, col, logger) })

	var ferr error
	select {
	case ferr = <-forwarded:
	case <-ctx.Done():
		ferr = <-forwarded
	}
	if ferr != nil {
		logger.Error("edge: forwarding stopped", "err", ferr)
	}
	if srv != nil {
		srv.Close()
	}
	if ferr != nil {
		// Connectors stop too: without a forwarder the queue would only fill.
		return errors.Join(ferr, errors.New("edge stopped"))
	}
	wg.Wait()
	st := col.Stats()
	logger.Info("edge stopped", "queued", st.Queue.Entries, "forwarded", st.Forwarded)
	return nil
}

// edgeCollector exposes the queue and forwarding state on /metrics.
type edgeCollector struct{ col *edge.Collector }

var (
	edgeQueueBytes   = prometheus.NewDesc("waarborg_edge_queue_bytes", "Bytes of the edge's local queue on disk.", nil, nil)
	edgeQueueMax     = prometheus.NewDesc("waarborg_edge_queue_max_bytes", "The bound of the edge's local queue.", nil, nil)
	edgeQueueRecords = prometheus.NewDesc("waarborg_edge_queue_records", "Records queued and not yet forwarded.", nil, nil)
	edgeFull         = prometheus.NewDesc("waarborg_edge_queue_full", "1 while the queue is full and the edge refuses records.", nil, nil)
	edgeForwarded    = prometheus.NewDesc("waarborg_edge_forwarded_total", "Records the central server answered.", nil, nil)
	edgeRejected     = prometheus.NewDesc("waarborg_edge_rejected_total", "Forwarded records the central server refused for good.", nil, nil)
	edgeRefused      = prometheus.NewDesc("waarborg_edge_refused_total", "Records the edge refused while its queue was full.", nil, nil)
	edgeLast         = prometheus.NewDesc("waarborg_edge_last_forward_timestamp_seconds", "When a batch was last forwarded (Unix time).", nil, nil)
)

func (c edgeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{edgeQueueBytes, edgeQueueMax, edgeQueueRecords, edgeFull, edgeForwarded, edgeRejected, edgeRefused, edgeLast} {
		ch <- d
	}
}

func (c edgeCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.col.Stats()
	full := 0.0
	if s.Full {
		full = 1
	}
	gauge := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	counter := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	gauge(edgeQueueBytes, float64(s.Queue.Bytes))
	gauge(edgeQueueMax, float64(s.Queue.MaxBytes))
	gauge(edgeQueueRecords, float64(s.Queue.Entries))
	gauge(edgeFull, full)
	counter(edgeForwarded, s.Forwarded)
	counter(edgeRejected, s.Rejected)
	counter(edgeRefused, s.Refused)
	if !s.LastForward.IsZero() {
		gauge(edgeLast, float64(s.LastForward.UnixMilli())/1000)
	}
}
